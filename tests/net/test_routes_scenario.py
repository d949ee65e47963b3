#!/usr/bin/env python3
"""Safe routes (docs/routing.md), with real daemons (userspace backend).

    test_routes_scenario.py [--backend userspace|kernel]

Three nodes A, B, C on the harness's underlay (10.250.0.0/16, fd00:250::/64),
each with a default route via a (non-existent) gateway on it.  C is an
attacker: it runs gossamerd-attacker (gossamerd built with
GSD_TEST_ATTACKER, whose config check lets default routes through) and
advertises 0.0.0.0/0, ::/0, the underlay 10.250.0.0/16 and, as a control,
a harmless 10.60.0.0/24.

Checked:
  * on the honest nodes A and B, `ip route show table main` and
    `ip -6 route show table main` are byte-for-byte identical before C
    joins, while it advertises (sampled for several seconds), and after C
    withdraws (restarts with the plain gossamerd, without the prefixes);
  * the default route and the underlay stay where they were (`ip route get`),
    while C's harmless prefix is routed through our table (and gone after
    the withdrawal);
  * the overlay ping matrix (IPv4 + IPv6) is complete throughout;
  * a static peer of A (a key with no endpoint) is on A's interface with
    its allowed IPs and a route in our table, and survives reconciles and a
    restart of A's daemon;
  * a peer added by hand with `wg set` on B is removed, and B's log names
    its key;
  * MTU: C's underlay has MTU 1400, so C's interface gets 1320 (1400 - 80);
    A's gets 1420.
Exit 0 pass, 1 fail, 77 skip.
"""
import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsmnet  # noqa: E402
from gsmnet import bound, expect, log  # noqa: E402

TABLE = '51821'
BAD = ['0.0.0.0/0', '::/0', '10.250.0.0/16', '10.60.0.0/24']


def main_tables(n):
    return (n.run(['ip', 'route', 'show', 'table', 'main']).stdout,
            n.run(['ip', '-6', 'route', 'show', 'table', 'main']).stdout)


def our_table(n):
    # an empty table does not exist for the kernel: `ip` fails, that is ''
    return ''.join(r.stdout if r.returncode == 0 else ''
                   for r in (n.run(['ip', 'route', 'show', 'table', TABLE], check=False),
                             n.run(['ip', '-6', 'route', 'show', 'table', TABLE], check=False)))


def route_get(n, dst):
    return n.run(['ip', 'route', 'get', dst]).stdout


def mtu(n):
    return int(n.run(['cat', '/sys/class/net/%s/mtu' % gsmnet.WG_IF]).stdout)


class Check:
    def __init__(self, topo, t, mesh, honest, nodes):
        self.topo, self.t, self.mesh = topo, t, mesh
        self.honest, self.nodes = honest, nodes
        self.base = {n.name: main_tables(n) for n in honest}
        self.gets = {n.name: (route_get(n, '192.0.2.1'), route_get(n, '10.250.1.2'))
                     for n in honest}

    def mains(self, when):
        for n in self.honest:
            now = main_tables(n)
            for fam, i in (('IPv4', 0), ('IPv6', 1)):
                same = now[i] == self.base[n.name][i]
                expect(same, '%s: %s: %s main table byte-for-byte unchanged%s' % (
                    when, n.name, fam,
                    '' if same else ':\n%s\nnow:\n%s' % (self.base[n.name][i], now[i])))
            g = (route_get(n, '192.0.2.1'), route_get(n, '10.250.1.2'))
            expect(g == self.gets[n.name], '%s: %s: default route and underlay route used%s'
                   % (when, n.name, '' if g == self.gets[n.name] else ': %s' % (g,)))

    def matrix(self, name):
        ids = self.mesh.identities(self.nodes)
        targets = self.mesh.overlay_targets(self.nodes, ids)
        t0 = time.monotonic()
        ok, fails = self.topo.ping_matrix(targets)
        self.t.add(name, time.monotonic() - t0)
        expect(not fails, '%s: %d pings ok, failures: %s' % (name, ok, fails[:20]))
        log('%s: %d pings ok' % (name, ok))


def static_ok(a, pub):
    d = a.wg_dump(gsmnet.WG_IF)
    p = d and d['peers'].get(pub)
    return p is not None and p['allowed_ips'] == ['10.9.0.2/32', 'fd09::/64'] \
        and '10.9.0.2 dev %s' % gsmnet.WG_IF in our_table(a)


def body(topo, t, args):
    attacker = gsmnet.find_program('gossamerd-attacker', 'tests/net')
    if not attacker:
        raise gsmnet.SkipTest('gossamerd-attacker not built (ninja tests/net/gossamerd-attacker)')
    a, b, c = topo.add_node('a'), topo.add_node('b'), topo.add_node('c')
    for n in (a, b, c):
        n.run(['ip', 'route', 'add', 'default', 'via', '10.250.0.254', 'dev', 'eth0'])
        n.run(['ip', '-6', 'route', 'add', 'default', 'via', 'fd00:250::fe', 'dev', 'eth0'])
    c.run(['ip', 'link', 'set', 'eth0', 'mtu', '1400'])
    _, static_pub = gsmnet.wg_genkey()
    a.extra['flags'] = ['--static-peer', '%s:10.9.0.2/32+fd09::/64' % static_pub]
    mesh = gsmnet.Mesh(topo, backend=args.backend)
    mesh.start_all([a, b], [a])
    mesh.wait_converged([a, b], bound(30))
    # addresses and the first reconcile done before the snapshot
    try:
        gsmnet.wait_until(lambda: static_ok(a, static_pub), bound(20), 0.3, 'static peer on a')
    except gsmnet.HarnessError:
        log('a: table %s: %r; peers %s; rules %s' % (TABLE, our_table(a),
                                                  a.wg_dump(gsmnet.WG_IF)['peers'],
                                                  a.run(['ip', 'rule']).stdout))
        raise
    honest = [a, b]
    chk = Check(topo, t, mesh, honest, [a, b, c])
    log('a main table before:\n' + chk.base['a'][0] + chk.base['a'][1])
    expect(mtu(a) == 1420, 'a: MTU 1420 (underlay 1500), got %d' % mtu(a))

    # C joins and advertises everything
    orig = mesh.gossamerd
    mesh.gossamerd = attacker
    extra = [x for p in BAD for x in ('--advertise-prefix', p)]
    t0 = time.monotonic()
    mesh.start(c, extra=extra)
    mesh.gossamerd = orig
    mesh.wait_converged([a, b, c], bound(30))
    gsmnet.wait_until(lambda: all('10.60.0.0/24 dev %s' % gsmnet.WG_IF in our_table(n)
                                  for n in honest), bound(20), 0.3,
                      "C's 10.60.0.0/24 routed in table %s" % TABLE)
    t.add('attack-routes-in', time.monotonic() - t0)
    log('a table %s during the attack:\n%s' % (TABLE, our_table(a)))
    expect(mtu(c) == 1320, 'c: MTU 1320 (underlay 1400), got %d' % mtu(c))
    for i in range(6):
        chk.mains('during the attack (%d)' % i)
        time.sleep(1)
    for n in honest:
        tab = our_table(n)
        expect('10.250.0.0/16' not in tab, '%s: the underlay /16 is not routed: %s' % (n.name, tab))
        logged = mesh.log_since(n, {})
        # refused by the acceptance policy (docs/addressing.md) before it
        # reaches the routes, or by the data plane's own guard: logged
        for p in ('0.0.0.0/0', '::/0', '10.250.0.0/16'):
            expect('claim dropped: %s from' % p in logged or
                   'not routing %s into %s' % (p, gsmnet.WG_IF) in logged,
                   '%s: %s refused (logged)' % (n.name, p))
    chk.matrix('ping-matrix-attack')
    chk.mains('after the ping matrix')

    # a peer added by hand on B goes, named in the log
    _, foreign = gsmnet.wg_genkey()
    mark = mesh.log_mark([b])
    b.run(['wg', 'set', gsmnet.WG_IF, 'peer', foreign, 'allowed-ips', '10.8.0.1/32'])
    gsmnet.wait_until(lambda: foreign not in b.wg_dump(gsmnet.WG_IF)['peers'], bound(25), 0.5,
                      'hand-added peer removed from b')
    want = 'removing WireGuard peer %s from %s: not a member and not in static_peers' \
        % (foreign, gsmnet.WG_IF)
    expect(want in mesh.log_since(b, mark), 'b logs "%s"' % want)
    expect(static_ok(a, static_pub), 'static peer still on a after reconciles')

    # C withdraws: restarts with the plain gossamerd, no prefixes
    t0 = time.monotonic()
    mesh.kill(c, signal.SIGTERM)
    mesh.start(c)
    mesh.wait_converged([a, b, c], bound(30))
    gsmnet.wait_until(lambda: all('10.60.0.0/24' not in our_table(n) and
                                  'default' not in our_table(n) for n in honest),
                      bound(20), 0.3, "C's prefixes withdrawn from table %s" % TABLE)
    t.add('withdrawal', time.monotonic() - t0)
    chk.mains('after the withdrawal')
    chk.matrix('ping-matrix-after')

    # A restarts: the static peer survives
    mesh.kill(a, signal.SIGTERM)
    expect(static_ok(a, static_pub), 'static peer kept while a is down')
    mesh.start(a)
    mesh.wait_converged([a, b, c], bound(30))
    time.sleep(3)
    expect(static_ok(a, static_pub), 'static peer on a after its restart')
    chk.mains('after the restart of a')
    chk.matrix('ping-matrix-final')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--backend', choices=['userspace', 'kernel'], default='userspace')
    args = ap.parse_args()
    if args.backend == 'kernel' and gsmnet.requirements('kernel') is None \
            and not gsmnet.kernel_wireguard_available():
        print('SKIP: no kernel WireGuard here')
        return gsmnet.SKIP
    return gsmnet.run_scenario('routes-%s' % args.backend,
                               lambda topo, t: body(topo, t, args), args.backend)


if __name__ == '__main__':
    sys.exit(main())
