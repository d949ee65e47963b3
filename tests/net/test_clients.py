#!/usr/bin/env python3
"""Plain WireGuard clients of a gateway (docs/clients.md), real daemons.

    test_clients.py

A mesh of three gossamerd nodes (userspace backend) on the harness's
underlay:
  * G, the gateway: client_pool 10.99.0.0/24, a configured endpoint;
  * K, a "kubelet" behind a NAT router at an edge site: 10.40.0.1 (on
    lo), advertises 10.40.0.0/24;
  * M, a member whose "database" 10.50.0.1 (advertised 10.50.0.0/24) is NOT
    in the client's allowed prefixes.
A "control plane" namespace CP runs no gossamerd: only wireguard-go and a
WireGuard interface configured from the text `gossamer client add cp
--allowed-ips 10.40.0.0/24` printed on G (`wg setconf` with the wg-quick
file minus Address, plus the address and one route per AllowedIPs entry,
as wg-quick does).

Checked:
  * the printed config: PrivateKey (generated), Address in the pool,
    G's WireGuard key, G's endpoint, AllowedIPs = overlay + 10.40.0.0/24;
  * CP reaches K's 10.40.0.1 through G (K routes the client's /32 to G
    because G advertises it);
  * CP does not reach M's 10.50.0.1, even after it widens its own
    AllowedIPs to 0.0.0.0/0 and adds a route: G's table gossamer_clients
    drops it and its counter grows (while K reaches 10.50.0.1, so the path
    exists);
  * errors: a duplicate name, a node without client_pool;
  * `client list --json` shows the record; it survives a restart of G's
    daemon (and CP reaches K again);
  * `client remove cp` takes the peer off G and CP reaches nothing.
Exit 0 pass, 1 fail, 77 skip.
"""
import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsmnet  # noqa: E402
from gsmnet import bound, expect, log  # noqa: E402

POOL = '10.99.0.0/24'
KUBE = '10.40.0.1'
DB = '10.50.0.1'
CIF = 'wgc0'


def gossamer(node, args, check=True):
    cli = gsmnet.find_program('gossamer', 'cli')
    return node.run([cli, '--socket', node.inner_socket] + args, check=check)


def dummy(node, addr, prefix):
    # no dummy interfaces here: a host address on lo stands for the site
    node.run(['ip', 'addr', 'add', addr + '/32', 'dev', 'lo'])
    node.extra['flags'] = ['--advertise-prefix', prefix]


def parse_conf(text):
    conf = {}
    for line in text.splitlines():
        m = re.match(r'^\s*(\w+)\s*=\s*(.*?)\s*$', line)
        if m:
            conf[m.group(1)] = m.group(2)
    return conf


def ping(node, dst, count=1, wait=2):
    r = node.run(['ping', '-c', str(count), '-W', str(wait), dst], check=False)
    return r.returncode == 0


def start_client(cp, text, conf):
    sock = os.path.join(cp.wgrun, CIF + '.sock')
    env = dict(os.environ, WG_PROCESS_FOREGROUND='1', LOG_LEVEL='error')
    proc = cp.popen(['wireguard-go', '-f', CIF],
                    logfile=os.path.join(cp.dir, 'wireguard-go.log'), env=env)
    cp.extra['wireguard_go_pid'] = proc.pid  # extra is saved as JSON
    gsmnet.wait_until(lambda: os.path.exists(sock), 10, 0.05, 'cp UAPI socket')
    # wg-quick: everything but its own keys goes to `wg setconf`
    path = os.path.join(cp.dir, 'wg.conf')
    with open(path, 'w') as f:
        os.chmod(path, 0o600)
        f.write(''.join(line + '\n' for line in text.splitlines()
                        if not re.match(r'^\s*(Address|DNS|MTU)\s*=', line)))
    cp.run(['wg', 'setconf', CIF, path])
    cp.run(['ip', 'addr', 'add', conf['Address'], 'dev', CIF])
    cp.run(['ip', 'link', 'set', CIF, 'up'])
    for p in conf['AllowedIPs'].split(','):
        cp.run(['ip', 'route', 'add', p.strip(), 'dev', CIF])


def drop_counter(g):
    r = g.run(['nft', 'list', 'table', 'inet', 'gossamer_clients'], check=False)
    if r.returncode != 0:
        return -1
    return sum(int(x) for x in re.findall(r'counter packets (\d+) bytes \d+ drop', r.stdout))


def body(topo, t):
    # the "kubelet" sits at an edge site behind a NAT router (cone NAT)
    edge = topo.add_site('edge', nat='cone')
    g, k, m = topo.add_node('g'), topo.add_node('k', site=edge), topo.add_node('m')
    cp = topo.add_node('cp')
    dummy(k, KUBE, '10.40.0.0/24')
    dummy(m, DB, '10.50.0.0/24')
    g.extra['flags'] = ['--gateway', '--client-pool', POOL, '--endpoint', g.addr4]
    mesh = gsmnet.Mesh(topo)
    mesh.start_all([g, k, m], [g])
    mesh.wait_converged([g, k, m], bound(30))
    gsmnet.wait_until(lambda: ping(k, DB), bound(20), 0.3, 'k reaches the database (path exists)')

    # errors first: no pool on K; then the client on G
    r = gossamer(k, ['client', 'add', 'cp'], check=False)
    expect(r.returncode == 1 and 'no client_pool configured' in r.stderr,
           'client add on a node without client_pool refused: %r' % r.stderr.strip())
    t0 = time.monotonic()
    r = gossamer(g, ['client', 'add', 'cp', '--allowed-ips', '10.40.0.0/24'])
    text = r.stdout
    log('client config:\n' + text)
    conf = parse_conf(text)
    gpub = g.wg_dump(gsmnet.WG_IF)['public']
    expect(len(conf.get('PrivateKey', '')) == 44, 'a generated private key is printed')
    expect(conf.get('Address', '').startswith('10.99.0.') and conf['Address'].endswith('/32'),
           'address from the pool: %s' % conf.get('Address'))
    expect(conf.get('PublicKey') == gpub, "the peer is G's WireGuard key")
    expect(conf.get('Endpoint') == '%s:%d' % (g.addr4, gsmnet.WG_PORT),
           "the endpoint is G's configured one: %s" % conf.get('Endpoint'))
    expect(conf.get('AllowedIPs') == '%s, 10.40.0.0/24' % gsmnet.OVERLAY_V4,
           'AllowedIPs overlay + chosen: %s' % conf.get('AllowedIPs'))
    expect(conf.get('PersistentKeepalive') == '25', 'keepalive 25')
    addr = conf['Address'].split('/')[0]
    r = gossamer(g, ['client', 'add', 'cp'], check=False)
    expect(r.returncode == 1 and 'exists already' in r.stderr,
           'duplicate name refused: %r' % r.stderr.strip())

    # K routes the client's /32 to G (G advertises it)
    gsmnet.wait_until(lambda: '%s dev %s' % (addr, gsmnet.WG_IF) in
                      k.run(['ip', 'route', 'show', 'table', '51821']).stdout,
                      bound(20), 0.3, "k routes the client's address")
    start_client(cp, text, conf)
    _, secs = gsmnet.wait_until(lambda: ping(cp, KUBE), bound(30), 0.3, 'cp reaches the kubelet')
    t.add('client-reaches-kubelet', time.monotonic() - t0)
    log('timing client-first-ping %.2fs after the tunnel came up' % secs)

    # M is not in the client's allowed prefixes: no route, and widening
    # its own AllowedIPs does not help (G drops and counts)
    expect(not ping(cp, DB), 'cp does not reach the database (no route)')
    before = drop_counter(g)
    expect(before >= 0, "G has the table gossamer_clients (counter %d)" % before)
    cp.run(['wg', 'set', CIF, 'peer', gpub, 'allowed-ips', '0.0.0.0/0'])
    cp.run(['ip', 'route', 'add', '10.50.0.0/24', 'dev', CIF])
    expect(not ping(cp, DB, count=3), 'cp does not reach the database with AllowedIPs 0/0')
    after = drop_counter(g)
    expect(after >= before + 3, "G's drop counter grew by the 3 pings (%d -> %d)" %
           (before, after))
    expect(ping(cp, KUBE), 'cp still reaches the kubelet')
    expect(ping(k, DB), 'k still reaches the database')

    # list --json
    lst = json.loads(gossamer(g, ['client', 'list', '--json']).stdout)
    expect(len(lst) == 1 and lst[0]['name'] == 'cp' and lst[0]['address'] == addr and
           lst[0]['allowed_ips'] == ['10.40.0.0/24'] and
           lst[0]['public_key'] == cp.wg_dump(CIF)['public'],
           'client list --json: %s' % lst)
    human = gossamer(g, ['client', 'list']).stdout
    expect('cp' in human and addr in human, 'client list table:\n' + human)

    # the record survives a restart of G's daemon
    mesh.kill(g, signal.SIGTERM)
    mesh.start(g)
    mesh.wait_converged([g, k, m], bound(30))
    lst = json.loads(gossamer(g, ['client', 'list', '--json']).stdout)
    expect([c['name'] for c in lst] == ['cp'], 'the record survives a restart: %s' % lst)
    gsmnet.wait_until(lambda: ping(cp, KUBE), bound(30), 0.3, 'cp reaches the kubelet again')
    expect(not ping(cp, DB), 'the restriction is back after the restart')

    # remove cuts it
    r = gossamer(g, ['client', 'remove', 'cp'])
    expect('removed client cp' in r.stdout, 'client remove: %r' % r.stdout)
    cpub = cp.wg_dump(CIF)['public']
    gsmnet.wait_until(lambda: cpub not in g.wg_dump(gsmnet.WG_IF)['peers'], bound(10), 0.2,
                      "cp's peer gone from G")
    expect(not ping(cp, KUBE, count=2), 'cp reaches nothing after the removal')
    r = gossamer(g, ['client', 'remove', 'cp'], check=False)
    expect(r.returncode == 1 and 'no client named cp' in r.stderr,
           'removing an unknown client refused: %r' % r.stderr.strip())
    expect(json.loads(gossamer(g, ['client', 'list', '--json']).stdout) == [],
           'client list empty')


def main():
    return gsmnet.run_scenario('clients', body)


if __name__ == '__main__':
    sys.exit(main())
