#!/usr/bin/env python3
"""tests/net/test_connected.py - connected clusters (docs/connected-clusters.md):
two meshes joined by one gateway host running two gossamerd side by side;
suite netns, userspace backend.

Mesh A (cluster key A, overlay 10.77.0.0/16): a1 advertises its pods'
10.244.1.0/24, a2 10.244.7.0/24 (cluster A's pod CIDR is 10.244.0.0/16).
Mesh B (cluster key B, overlay 10.78.0.0/16): b1 advertises 10.245.1.0/24,
b2 10.245.2.0/24 (cluster B: 10.245.0.0/16).  Host g runs, in its one
namespace, gossamerd-A (gsm0, ports 51821/51820, table 51821, priority 5210)
advertising 10.245.0.0/16 into mesh A and gossamerd-B (gsm1, ports
51823/51822, table 51831, priority 5211) advertising 10.244.0.0/16 into
mesh B, both with `gateway = yes`, from the pair of configuration files of
the docs.  A "pod" address on a1 pings one on b1 and back, without SNAT:
the return path is the route the other daemon on g advertises.

Then the overlap rule:
 1. b2 also advertises 10.244.7.0/24, which is cluster A's (a2's pods):
    gossamerd-B stops advertising 10.244.0.0/16 with "not advertising
    10.244.0.0/16: overlaps 10.244.7.0/24 of member b2 ...", lists it in
    `status` not_advertised, logs it once, and b1 no longer routes any
    10.244.x address to g.
 2. g's operator imports b2's new CIDR into mesh A (10.244.7.0/24 added to
    gossamerd-A's advertise_prefixes, `reload`): gossamerd-A refuses it
    (it overlaps a2's), and a1's WireGuard peer and routes for g never hold
    a 10.244.x prefix; a1 still reaches a2's pod.
 3. b2 drops 10.244.7.0/24: gossamerd-B advertises 10.244.0.0/16 again
    ("advertising 10.244.0.0/16 again") and the pods ping across again.

    test_connected.py
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsmnet  # noqa: E402
from gsmnet import bound, expect, log  # noqa: E402

POD_A = {'a1': '10.244.1.0/24', 'a2': '10.244.7.0/24'}
POD_B = {'b1': '10.245.1.0/24', 'b2': '10.245.2.0/24'}
CIDR_A, CIDR_B = '10.244.0.0/16', '10.245.0.0/16'
SHARED = '10.244.7.0/24'  # cluster A's, later also claimed in mesh B


def pod_ip(cidr):
    return cidr.split('/')[0][:-1] + '10'


CONF = """# gossamerd-{tag}: the gateway's daemon in mesh {TAG}
[node]
name = g{tag}
gateway = yes

[gossip]
port = {gport}
seeds = {seed}
cluster_name = mesh-{tag}
cluster_key_file = {key}

[wireguard]
interface = {ifname}
listen_port = {wport}
backend = userspace
spawn_wireguard_go = yes

[overlay]
ipv4_prefix = {overlay}
advertise_prefixes = {prefixes}
route_table = {table}
route_priority = {prio}

[daemon]
state_dir = {state}
control_socket = /run/gossamer/mesh-{tag}.sock
"""


class GatewayDaemon:
    """One of the two gossamerd on the gateway host: enough of gsmnet.Node
    (name, holder, control socket, log) for the harness's views."""
    control = gsmnet.Node.control
    try_control = gsmnet.Node.try_control

    def __init__(self, g, tag, **kw):
        self.g, self.tag = g, tag
        self.name = 'g' + tag
        self.holder = g.holder
        self.ifname = kw['ifname']
        self.inner_socket = '/run/gossamer/mesh-%s.sock' % tag
        self.socket_path = os.path.join(g.gsmrun, 'mesh-%s.sock' % tag)
        self.log_path = os.path.join(g.dir, 'gossamerd-%s.log' % tag)
        self.config_path = os.path.join(g.dir, 'gossamerd-%s.conf' % tag)
        self.kw = dict(kw, tag=tag, TAG=tag.upper(), state=os.path.join(g.dir, 'state-' + tag))
        os.makedirs(self.kw['state'], exist_ok=True)
        self.daemon = None

    def write_config(self, prefixes):
        with open(self.config_path, 'w') as f:
            f.write(CONF.format(prefixes=', '.join(prefixes), **self.kw))

    def start(self, flags):
        argv = [flags[0], '--config', self.config_path] + flags[1:]
        with open(self.log_path, 'a') as f:
            f.write('==== start: %s\n' % ' '.join(argv))
        self.daemon = self.g.popen(argv, logfile=self.log_path)
        gsmnet.wait_until(lambda: self.try_control('status'), bound(20), 0.05,
                          '%s control socket' % self.name)

    def log_text(self):
        with open(self.log_path, errors='replace') as f:
            return f.read()


def peer_allowed(node, ifname, key):
    dump = node.wg_dump(ifname)
    p = dump and dump['peers'].get(key)
    return set(p['allowed_ips']) if p else None


def ping(node, src, dst):
    r = node.run(['ping', '-c', '1', '-W', '2', '-I', src, dst], check=False)
    return r.returncode == 0


def wait_ping(node, src, dst, what):
    return gsmnet.wait_until(lambda: ping(node, src, dst), bound(30), 0.5, what)[1]


def routes_to_g(node, key):
    """The 10.244.x prefixes node gives g's WireGuard peer (what it routes
    to g: every route into gsm0 reaches the peer whose allowed IPs hold
    the destination)."""
    return set(p for p in (peer_allowed(node, gsmnet.WG_IF, key) or ())
               if p.startswith('10.244.'))


def body(topo, t):
    a1, a2, b1, b2, g = (topo.add_node(n) for n in ('a1', 'a2', 'b1', 'b2', 'g'))
    mesh_a = gsmnet.Mesh(topo, extra_flags=['--cluster-name', 'mesh-a',
                                            '--overlay-ipv4', '10.77.0.0/16'])
    mesh_b = gsmnet.Mesh(topo, extra_flags=['--cluster-name', 'mesh-b',
                                            '--overlay-ipv4', '10.78.0.0/16'])
    mesh_b.key = os.path.join(topo.workdir, 'cluster-b.key')
    gsmnet.sh([mesh_b.gossamerd, '--generate-cluster-key', mesh_b.key])
    for n, cidr in list(POD_A.items()) + list(POD_B.items()):
        node = topo.node(n)
        # the pod address is on lo: pin the gossip address to the underlay
        # (a node without seeds would otherwise pick the first address)
        node.extra['flags'] = ['--gossip-bind', node.addr4, '--advertise-prefix', cidr]
        node.run(['ip', 'addr', 'add', pod_ip(cidr) + '/32', 'dev', 'lo'])

    ga = GatewayDaemon(g, 'a', ifname='gsm0', gport=51821, wport=51820, table=51821, prio=5210,
                       overlay='10.77.0.0/16', key=mesh_a.key, seed='%s:51821' % a1.addr4)
    gb = GatewayDaemon(g, 'b', ifname='gsm1', gport=51823, wport=51822, table=51831, prio=5211,
                       overlay='10.78.0.0/16', key=mesh_b.key, seed='%s:51821' % b1.addr4)
    ga.write_config([CIDR_B])
    gb.write_config([CIDR_A])
    mesh_a.start_all([a1, a2], [a1])
    mesh_b.start_all([b1, b2], [b1])
    ga.start([mesh_a.gossamerd] + mesh_a.flags)
    gb.start([mesh_b.gossamerd] + mesh_b.flags)
    t.add('convergence-a', mesh_a.wait_converged([a1, a2, ga], bound(30)))
    t.add('convergence-b', mesh_b.wait_converged([b1, b2, gb], bound(30)))
    sa, sb = ga.control('status'), gb.control('status')
    expect((sa['interface'], sa['gossip_port'], sa['wg_port']) == ('gsm0', 51821, 51820) and
           (sb['interface'], sb['gossip_port'], sb['wg_port']) == ('gsm1', 51823, 51822),
           'the two daemons on g run side by side (gsm0 51821/51820, gsm1 51823/51822)')
    expect(sa['id'] != sb['id'], 'with their own identities (state dirs)')
    members_a = set(m['name'] for m in mesh_a.members(a1))
    expect(members_a == {'a1', 'a2', 'ga'}, 'mesh A is a1, a2, ga (%s): the meshes stay apart'
           % sorted(members_a))

    # pods ping across through g, both ways, without SNAT
    t.add('pod-a-to-b', wait_ping(a1, pod_ip(POD_A['a1']), pod_ip(POD_B['b1']), 'a1 pod -> b1 pod'))
    t.add('pod-b-to-a', wait_ping(b1, pod_ip(POD_B['b1']), pod_ip(POD_A['a1']), 'b1 pod -> a1 pod'))
    expect(ping(a2, pod_ip(POD_A['a2']), pod_ip(POD_B['b2'])), 'a2 pod reaches b2 pod')
    rules = g.run(['ip', 'rule']).stdout
    expect('lookup 51821' in rules and 'lookup 51831' in rules,
           'g has both rules (tables 51821 and 51831)')
    r = g.run(['ip', 'route', 'show', 'table', '51831']).stdout
    expect(POD_B['b1'] in r and 'gsm1' in r, 'mesh B routes are in table 51831 via gsm1')
    ga_key, gb_key = sa['wg_public_key'], sb['wg_public_key']
    expect(not routes_to_g(a1, ga_key), 'a1 routes no 10.244.x address to g')

    # 1. b2 claims cluster A's 10.244.7.0/24 in mesh B: gossamerd-B stops
    # advertising 10.244.0.0/16
    mesh_b.kill(b2, signal.SIGTERM)
    b2.extra['flags'] = ['--gossip-bind', b2.addr4, '--advertise-prefix', POD_B['b2'],
                         '--advertise-prefix', SHARED]
    mesh_b.start(b2, seeds=[b1])
    msg = ('not advertising %s: overlaps %s of member b2 (connected clusters must not share '
           'CIDRs)' % (CIDR_A, SHARED))

    def b_withdrawn():
        st = gb.control('status')
        return (msg in gb.log_text() and CIDR_A not in st['prefixes'] and
                CIDR_A not in (peer_allowed(b1, gsmnet.WG_IF, gb_key) or {CIDR_A}))
    t.add('overlap-b-withdrawn', gsmnet.wait_until(b_withdrawn, bound(30), 0.5,
                                                   'gossamerd-B withdraws %s' % CIDR_A)[1])
    na = gb.control('status')['not_advertised']
    expect(na == [{'prefix': CIDR_A, 'reason': 'overlap', 'member': 'b2',
                   'member_prefix': SHARED}], 'status not_advertised says why: %s' % na)
    time.sleep(3)
    expect(gb.log_text().count(msg) == 1, 'logged once: %s' % msg)
    expect(not routes_to_g(b1, gb_key), 'b1 routes no 10.244.x address to g')
    expect(not ping(b1, pod_ip(POD_B['b1']), pod_ip(POD_A['a1'])),
           'b1 pod no longer reaches cluster A: the clusters are not joined silently')

    # 2. g's operator imports b2's new CIDR into mesh A: gossamerd-A
    # refuses it, it overlaps a2's
    ga.write_config([CIDR_B, SHARED])
    ga.control('reload')
    msg_a = ('not advertising %s: overlaps %s of member a2 (connected clusters must not share '
             'CIDRs)' % (SHARED, SHARED))
    gsmnet.wait_until(lambda: msg_a in ga.log_text(), bound(15), 0.3, 'gossamerd-A refuses')
    for _ in range(6):
        expect(not routes_to_g(a1, ga_key), 'a1 routes no 10.244.x address to g')
        time.sleep(0.5)
    st = ga.control('status')
    expect(st['prefixes'] == [CIDR_B] and [x['prefix'] for x in st['not_advertised']] == [SHARED],
           'gossamerd-A advertises only %s (not_advertised %s)' % (CIDR_B, st['not_advertised']))
    expect(ping(a1, pod_ip(POD_A['a1']), pod_ip(SHARED)), 'a1 pod still reaches a2 pod')

    # 3. the overlap goes away: gossamerd-B advertises 10.244.0.0/16 again
    mesh_b.kill(b2, signal.SIGTERM)
    b2.extra['flags'] = ['--gossip-bind', b2.addr4, '--advertise-prefix', POD_B['b2']]
    mesh_b.start(b2, seeds=[b1])
    again = 'advertising %s again' % CIDR_A
    gsmnet.wait_until(lambda: again in gb.log_text() and
                      not gb.control('status')['not_advertised'], bound(30), 0.5,
                      'gossamerd-B advertises %s again' % CIDR_A)
    t.add('pod-b-to-a-again', wait_ping(b1, pod_ip(POD_B['b1']), pod_ip(POD_A['a1']),
                                        'b1 pod -> a1 pod again'))
    expect(not routes_to_g(a1, ga_key), 'a1 still routes no 10.244.x address to g')


def main():
    return gsmnet.run_scenario('connected', body)


if __name__ == '__main__':
    sys.exit(main())
