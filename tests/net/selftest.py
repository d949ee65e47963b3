#!/usr/bin/env python3
"""Harness self-test (suite netns): proves the topology without gossamerd.

Builds 3 public hosts on the internet bridge, one host behind a cone NAT and
one behind a symmetric NAT, gives each a WireGuard interface (wireguard-go,
or kernel WireGuard with --backend kernel) configured with `wg`, and checks:

  * per-node UAPI sockets (each node's /run/wireguard is its own);
  * the full overlay ping matrix over IPv4 and IPv6 between public hosts;
  * NAT: NATed hosts reach the public hosts, the public side sees the
    router's WAN address as their endpoint, the cone NAT keeps the source
    port, the symmetric one does not, and unsolicited inbound UDP to a
    router's WAN address is dropped;
  * faults: partition drops traffic and heal restores it, random loss drops
    some but not all frames, a killed WireGuard process takes the tunnel
    down and a restarted one brings it back.
"""
import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsmnet  # noqa: E402
from gsmnet import expect, log  # noqa: E402

WG_PORT = 51820


def start_wg(node, backend, ifname='wg0'):
    if backend == 'kernel':
        node.run(['ip', 'link', 'add', ifname, 'type', 'wireguard'])
    else:
        sock = os.path.join(node.wgrun, ifname + '.sock')
        if os.path.exists(sock):          # left by a SIGKILLed wireguard-go
            os.unlink(sock)
        env = dict(os.environ, WG_PROCESS_FOREGROUND='1', LOG_LEVEL='error')
        node.extra['wgproc'] = node.popen(['wireguard-go', '-f', ifname],
                                          logfile=os.path.join(node.dir, 'wireguard-go.log'),
                                          env=env)
        gsmnet.wait_until(lambda: os.path.exists(sock), 10, 0.05, '%s UAPI socket' % node.name)
    keyfile = os.path.join(node.dir, 'wg.key')
    with open(keyfile, 'w') as f:
        os.chmod(keyfile, 0o600)
        f.write(node.extra['priv'] + '\n')
    node.run(['wg', 'set', ifname, 'private-key', keyfile, 'listen-port', str(WG_PORT)])
    node.run(['ip', 'addr', 'add', node.extra['ov4'] + '/16', 'dev', ifname])
    node.run(['ip', 'addr', 'add', node.extra['ov6'] + '/64', 'dev', ifname, 'nodad'])
    node.run(['ip', 'link', 'set', ifname, 'up'])


def add_peer(node, peer, endpoint=True, keepalive=0):
    argv = ['wg', 'set', 'wg0', 'peer', peer.extra['pub'], 'allowed-ips',
            '%s/32,%s/128' % (peer.extra['ov4'], peer.extra['ov6'])]
    if endpoint:
        argv += ['endpoint', '%s:%d' % (peer.addr4, WG_PORT)]
    if keepalive:
        argv += ['persistent-keepalive', str(keepalive)]
    node.run(argv)


def ping(src, addr, count=1, deadline=3, interval=0.2):
    """count == 1: success as soon as one reply arrives within `deadline`
    seconds (sending every `interval`); count > 1: exactly `count` echo
    requests, each waiting at most `deadline` seconds for its reply."""
    if count == 1:
        timing = ['-c', '1', '-w', str(deadline)]
    else:
        timing = ['-c', str(count), '-W', str(deadline)]
    r = src.run(['ping', '-n', '-q', '-i', str(interval)] + timing + [addr], check=False,
                timeout=deadline + count * interval + 10)
    return r.returncode == 0, r.stdout


def body(topo, t, backend):
    t0 = time.monotonic()
    public = [topo.add_node() for _ in range(3)]
    cone = topo.add_site(nat='cone')
    sym = topo.add_site(nat='symmetric')
    nc = topo.add_node(site=cone)
    ns = topo.add_node(site=sym)
    nodes = public + [nc, ns]
    t.add('topology', time.monotonic() - t0)

    t0 = time.monotonic()
    for n in nodes:
        n.extra['priv'], n.extra['pub'] = gsmnet.wg_genkey()
        n.extra['ov4'] = '10.77.0.%d' % n.index
        n.extra['ov6'] = 'fd00:77::%x' % n.index
        start_wg(n, backend)
    t.add('wireguard-up', time.monotonic() - t0)
    if backend == 'userspace':
        for n in nodes:
            expect(os.listdir(n.wgrun) == ['wg0.sock'],
                   '%s has its own UAPI socket %s/wg0.sock' % (n.name, n.wgrun))
        expect(not os.path.exists('/run/wireguard/wg0.sock') or all(
            os.stat('/run/wireguard/wg0.sock').st_ino != os.stat(os.path.join(n.wgrun, 'wg0.sock')).st_ino
            for n in nodes), 'host /run/wireguard is not any node\'s')

    # Full mesh among public hosts; NATed hosts know the public ones and keep
    # their NAT mappings open; the public hosts know the NATed ones without
    # an endpoint (learned from the first authenticated packet).
    for a in public:
        for b in public:
            if a is not b:
                add_peer(a, b)
        add_peer(a, nc, endpoint=False)
        add_peer(a, ns, endpoint=False)
    for a in (nc, ns):
        for b in public:
            add_peer(a, b, keepalive=1)

    t0 = time.monotonic()
    targets = {n: [n.extra['ov4'], n.extra['ov6']] for n in public}
    ok, fails = topo.ping_matrix(targets)
    t.add('ping-matrix-public', time.monotonic() - t0)
    expect(not fails and ok == 3 * 2 * 2, 'public ping matrix v4+v6: %d ok, failures %s'
           % (ok, fails))

    t0 = time.monotonic()
    for a in (nc, ns):
        for b in public:
            good, out = ping(a, b.extra['ov4'], deadline=5)
            expect(good, '%s (behind %s NAT) -> %s over the overlay' % (a.name, a.site.nat, b.name))
            good, out = ping(b, a.extra['ov4'], deadline=5)
            expect(good, '%s -> %s (behind %s NAT) over the overlay' % (b.name, a.name, a.site.nat))
    t.add('nat-pings', time.monotonic() - t0)

    dump = public[0].wg_dump('wg0')
    ep_c = dump['peers'][nc.extra['pub']]['endpoint']
    ep_s = dump['peers'][ns.extra['pub']]['endpoint']
    expect(ep_c == '%s:%d' % (cone.wan4, WG_PORT),
           'cone NAT maps %s:%d to %s (port preserved)' % (nc.addr4, WG_PORT, ep_c))
    expect(ep_s.startswith(sym.wan4 + ':') and ep_s != '%s:%d' % (sym.wan4, WG_PORT),
           'symmetric NAT maps %s:%d to %s (random port)' % (ns.addr4, WG_PORT, ep_s))
    # Symmetric NAT: a different destination gets a different mapping.
    ep_s2 = public[1].wg_dump('wg0')['peers'][ns.extra['pub']]['endpoint']
    expect(ep_s2 != ep_s, 'symmetric NAT uses a new port per destination (%s vs %s)'
           % (ep_s, ep_s2))

    # Unsolicited inbound UDP to the router's WAN side (a port no mapping
    # opened) hits the home-router drop rule.
    p0 = public[0]
    before = topo_nft_counter(cone)
    p0.run(['bash', '-c', 'echo probe > /dev/udp/%s/40000' % cone.wan4], check=False)
    after = topo_nft_counter(cone)
    expect(before >= 0 and after == before + 1,
           'cone router dropped an unsolicited inbound UDP datagram (counter %d -> %d)'
           % (before, after))

    # Faults: partition / heal on the internet bridge.
    a, b = public[0], public[1]
    topo.partition([a], [b])
    good, _ = ping(a, b.extra['ov4'], deadline=2)
    expect(not good, 'partition %s | %s drops overlay traffic' % (a.name, b.name))
    good, _ = ping(a, public[2].extra['ov4'], deadline=3)
    expect(good, 'partition leaves %s <-> %s alone' % (a.name, public[2].name))
    topo.heal('partition')
    t0 = time.monotonic()
    good, _ = ping(a, b.extra['ov4'], deadline=10)
    t.add('heal', time.monotonic() - t0)
    expect(good, 'heal restores %s -> %s' % (a.name, b.name))

    # Random loss.
    topo.set_loss(50)
    good, out = ping(a, b.extra['ov4'], count=40, deadline=1, interval=0.05)
    topo.heal('loss')
    rx = parse_received(out)
    expect(0 < rx < 40, '50%% loss on the bridge: %d/40 echo replies' % rx)

    # Isolation: port down / up.
    topo.isolate(b)
    good, _ = ping(a, b.extra['ov4'], deadline=2)
    expect(not good, 'isolated %s unreachable' % b.name)
    topo.isolate(b, down=False)
    good, _ = ping(a, b.extra['ov4'], deadline=10)
    expect(good, 'reconnected %s reachable' % b.name)

    if backend == 'userspace':
        # Kill and restart a WireGuard process (the kill/restart plumbing the
        # daemon scenarios use).
        p = b.extra['wgproc']
        p.kill()
        p.wait()
        good, _ = ping(a, b.extra['ov4'], deadline=2)
        expect(not good, 'killed wireguard-go on %s: tunnel gone' % b.name)
        start_wg(b, backend)
        for peer in public:
            if peer is not b:
                add_peer(b, peer)
        # The restarted side has no session: it initiates the handshake
        # (the other side would only notice after ~15 s of silence).
        good, _ = ping(b, a.extra['ov4'], deadline=10)
        expect(good, 'restarted wireguard-go on %s: tunnel back' % b.name)


def topo_nft_counter(site):
    """Packets the router's 'unsolicited inbound UDP' rule dropped."""
    r = gsmnet.sh(['ip', 'netns', 'exec', site.ns, 'nft', 'list', 'chain', 'inet', 'gsmnat', 'gsmin'])
    m = re.search(r'counter packets (\d+)', r.stdout)
    return int(m.group(1)) if m else -1


def parse_received(out):
    m = re.search(r'(\d+) received', out or '')
    return int(m.group(1)) if m else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--backend', choices=['userspace', 'kernel'], default='userspace')
    args = ap.parse_args()
    if args.backend == 'kernel' and not gsmnet.kernel_wireguard_available():
        print('SKIP: no kernel WireGuard here')
        return gsmnet.SKIP
    return gsmnet.run_scenario('selftest-' + args.backend,
                               lambda topo, t: body(topo, t, args.backend), args.backend)


if __name__ == '__main__':
    sys.exit(main())
