#!/usr/bin/env python3
"""NAT traversal scenarios (suite netns).  See docs/nat.md.

    test_nat_scenarios.py NAME [--backend userspace|kernel]

The NAT routers are gsmnet sites: router namespaces that masquerade the
LAN behind their WAN leg and drop unsolicited new inbound traffic on the
WAN side (only conntrack-established replies get in), like home routers.
'cone' sites use plain `masquerade` (port preserving), 'symmetric' sites
`masquerade random` (a fresh random source port per destination).

    public   a node behind a port-preserving NAT joins through a public
             seed, pings every public node and is pinged back.
    direct   two sites behind port-preserving NATs: their nodes end up with
             a DIRECT tunnel (the WireGuard endpoint is the other NAT's
             public address, not a relay) and ping each other.
    relay    two sites behind NATs that randomise ports: the nodes reach
             each other through a relay (public + relay member), ping works
             both ways, `peers` says relayed and through whom.
    failover as `relay`, then the relay in use dies: the pair moves to the
             other relay without operator action and pings again.
    upgrade  port-preserving NATs, but the path between the sites is blocked
             at first: relayed; once unblocked, punching finds the direct
             path and it replaces the relay.

Every scenario prints `timing nat-connectivity: S` = time from the NATed
node(s) start to full connectivity.  Exit 0 pass, 1 fail, 77 skip.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsmnet  # noqa: E402
from gsmnet import HarnessError, bound, expect, log  # noqa: E402

class NatCtx:
    def __init__(self, topo, t, args):
        self.topo = topo
        self.t = t
        self.args = args
        # production dead grace (30 s) rather than the harness's 2 s: a
        # NATed member's gossip can blink (docs/nat.md, Limits) and the
        # tunnel must not follow it
        self.mesh = gsmnet.Mesh(topo, backend=args.backend, dead_grace='30s')
        self.public = []
        self.nated = []

    def add_public(self, name, relay=False):
        n = self.topo.add_node(name)
        flags = ['--public', '--endpoint', '%s:%d' % (n.addr4, gsmnet.WG_PORT)]
        if relay:
            flags.append('--relay')
        n.extra['flags'] = flags
        self.public.append(n)
        return n

    def add_nated(self, name, site):
        n = self.topo.add_node(name, site=site)
        n.extra['flags'] = []
        self.nated.append(n)
        return n

    def start(self, nodes, seed):
        for n in nodes:
            self.mesh.start(n, seeds=[] if n is seed else [seed], extra=n.extra['flags'],
                            wait=False)
        for n in nodes:
            self.mesh.wait_ready(n)

    def wait_joined(self, nodes, timeout, what):
        """Every node lists every other one (alive, suspect or dead: the
        gossip path between two NATed members may blink, docs/nat.md), and
        sees the public ones alive."""
        want = set(n.name for n in nodes)
        pub = set(n.name for n in self.public)

        def ok():
            for n in nodes:
                st = self.mesh.member_states(n)
                if st is None or set(k for k, v in st.items() if v != 'left') != want:
                    return False
                if any(st.get(p) != 'alive' for p in pub if p in want):
                    return False
            return True
        return gsmnet.wait_until(ok, bound(timeout), 0.25, what)[1]

    def ids(self, nodes):
        return self.mesh.identities(nodes)

    def wait_pings(self, pairs, timeout, what):
        """Until every (src, dst) pings dst's IPv4 and IPv6 overlay address."""
        ids = self.ids(sorted(set(sum(([a, b] for a, b in pairs), [])), key=lambda n: n.index))
        t0 = time.monotonic()
        last = []
        while True:
            todo = {}
            for s, d in pairs:
                todo.setdefault(s, []).extend(
                    (d, a) for a in ids[d.name]['overlay_addresses'])
            want = sum(len(v) for v in todo.values())
            ok, fails = self.topo._ping_round(todo, 2, None)
            if not fails and ok == want:
                log('ok: %d pings (%s)' % (ok, what))
                return time.monotonic() - t0
            last = fails or ['only %d of %d pings answered' % (ok, want)]
            if time.monotonic() - t0 > bound(timeout):
                raise HarnessError('%s: pings still failing after %.0fs: %s'
                                   % (what, timeout, last[:12]))
            time.sleep(0.5)

    def peer(self, node, other):
        """node's `peers` entry for other (by name)."""
        for p in node.control('peers'):
            if p.get('name') == other.name:
                return p
        return None

    def member(self, node, other):
        for m in node.control('members'):
            if m.get('name') == other.name:
                return m
        return None

    def never_dead(self, victims):
        """No daemon ever declared one of `victims` dead (logs): the gossip
        path to NATed members holds (they probe-able at the address their
        NAT gives them, or indirectly through public members)."""
        names = set(v.name for v in victims)
        bad = []
        for n in self.topo.nodes:
            try:
                with open(n.log_path, errors='replace') as f:
                    for line in f:
                        w = line.split()
                        if 'member' in w and line.rstrip().endswith('is dead'):
                            i = w.index('member')
                            if i + 1 < len(w) and w[i + 1] in names:
                                bad.append('%s: %s' % (n.name, line.strip()))
            except OSError:
                pass
        expect(not bad, 'no NATed member was ever declared dead (%s)' % bad[:4])

    def full(self, nodes):
        return [(a, b) for a in nodes for b in nodes if a is not b]


def sc_public(c):
    seed = c.add_public('pub1')
    p2 = c.add_public('pub2')
    site = c.topo.add_site('home', nat='cone')
    a = c.add_nated('edge', site)
    c.start([seed, p2], seed)
    c.mesh.wait_converged([seed, p2], bound(20))
    t0 = time.monotonic()
    c.start([a], seed)
    c.wait_joined([seed, p2, a], 30, 'NATed node joins')
    c.t.add('nat-join', time.monotonic() - t0)
    c.wait_pings(c.full([a, seed, p2]), 60, 'NATed node <-> public nodes')
    c.t.add('nat-connectivity', time.monotonic() - t0)
    st = a.control('status')
    expect(st['behind_nat'], 'edge node detected it is behind NAT')
    m = c.member(seed, a)
    expect(m['behind_nat'], 'seed sees edge advertised as behind NAT')
    expect(any(e['observed'] and e['address'].startswith(site.wan4 + ':') for e in m['endpoints']),
           'edge advertises an observed endpoint on its NAT address %s: %s'
           % (site.wan4, m['endpoints']))
    for p in (seed, p2):
        pe = c.peer(p, a)
        expect(pe and pe['endpoint'] and pe['endpoint'].startswith(site.wan4 + ':'),
               '%s reaches edge at its NAT address: %s' % (p.name, pe and pe['endpoint']))
        expect(not pe['relayed'], '%s reaches edge directly' % p.name)


def two_sites(c, nat, relays):
    seed = c.add_public('seed', relay=False)
    rs = [c.add_public('relay%d' % (i + 1), relay=True) for i in range(relays)]
    s1 = c.topo.add_site('siteA', nat=nat)
    s2 = c.topo.add_site('siteB', nat=nat)
    a = c.add_nated('a', s1)
    b = c.add_nated('b', s2)
    pub = [seed] + rs
    c.start(pub, seed)
    c.mesh.wait_converged(pub, bound(20))
    t0 = time.monotonic()
    c.start([a, b], seed)
    c.wait_joined(pub + [a, b], 30, 'NATed nodes join')
    c.t.add('nat-join', time.monotonic() - t0)
    return seed, rs, a, b, t0


def sc_direct(c):
    seed, rs, a, b, t0 = two_sites(c, 'cone', 1)
    c.wait_pings([(a, b), (b, a)], 90, 'a <-> b')
    c.t.add('nat-connectivity', time.monotonic() - t0)
    # the tunnel must be direct: a's peer for b points at b's NAT, carries
    # b's overlay addresses, and has a handshake; nothing goes via the relay

    def direct():
        pa, pb = c.peer(a, b), c.peer(b, a)
        return (pa and pb and not pa['relayed'] and not pb['relayed'] and
                pa['endpoint'] and pa['endpoint'].startswith(b.site.wan4 + ':') and
                pb['endpoint'] and pb['endpoint'].startswith(a.site.wan4 + ':') and
                pa['latest_handshake'] > 0 and pb['latest_handshake'] > 0 and (pa, pb))
    (pa, pb), dt = gsmnet.wait_until(direct, bound(60), 0.5, 'direct a <-> b tunnel')
    c.t.add('nat-direct', time.monotonic() - t0)
    ids = c.ids([a, b])
    for x, y, p in ((a, b, pa), (b, a, pb)):
        for addr in ids[y.name]['overlay_addresses']:
            expect(addr in p['allowed_ips'], '%s: peer %s carries %s directly (%s)'
                   % (x.name, y.name, addr, p['allowed_ips']))
        expect(p['relay'] is None, '%s: no relay for %s' % (x.name, y.name))
    log('a -> b endpoint %s, b -> a endpoint %s' % (pa['endpoint'], pb['endpoint']))
    c.wait_pings([(a, b), (b, a)], 20, 'a <-> b (direct)')
    c.never_dead([a, b])


def relayed_via(c, x, y):
    p = c.peer(x, y)
    if not p or not p['relayed'] or not p['relay']:
        return None
    return p['relay']


def wait_relayed(c, a, b, timeout, exclude=None):
    def ok():
        ra, rb = relayed_via(c, a, b), relayed_via(c, b, a)
        return ra and ra == rb and ra != exclude and ra
    return gsmnet.wait_until(ok, bound(timeout), 0.5,
                             'a and b relayed through the same relay')[0]


def sc_relay(c, relays=1):
    seed, rs, a, b, t0 = two_sites(c, 'symmetric', relays)
    c.wait_pings([(a, b), (b, a)], 90, 'a <-> b through a relay')
    c.t.add('nat-connectivity', time.monotonic() - t0)
    r = wait_relayed(c, a, b, 20)
    expect(r in [x.name for x in rs], 'a and b relayed via %s, a relay member' % r)
    ma = c.member(a, b)
    expect(ma['relayed_via'] is not None, 'members shows relayed_via for b at a: %s'
           % ma['relayed_via'])
    # the relay peer carries the other side's overlay addresses
    ids = c.ids([a, b])
    rp = c.peer(a, [x for x in rs if x.name == r][0])
    for addr in ids[b.name]['overlay_addresses']:
        expect(addr in rp['allowed_ips'], 'a: relay peer %s carries %s' % (r, addr))
    # what an operator sees: `gossamer peers` / `members` say "via <relay>"
    cli = gsmnet.find_program('gossamer', 'cli')
    if cli:
        for cmd in ('peers', 'members'):
            out = a.run([cli, cmd], check=False).stdout
            line = [x for x in out.splitlines() if x.split() and x.split()[0] == b.name]
            log('gossamer %s at a:\n%s' % (cmd, out.rstrip()))
            expect(line and ('via %s' % r) in line[0], '`gossamer %s` at a shows b via %s'
                   % (cmd, r))
    # WireGuard-observed endpoints (wire key 14): behind a port-randomising
    # NAT the public nodes' WireGuard sees a's real (random) source port and
    # tells a, which advertises it, attributed to that observer
    ida = c.ids([a])[a.name].get('id')

    def wg_seen():
        m = c.member(seed, a)
        eps = [e for e in (m or {}).get('endpoints', [])
               if e['observed'] and e['observer'] and e['observer'] != ida and
               e['address'].startswith(a.site.wan4 + ':') and
               not e['address'].endswith(':%d' % gsmnet.WG_PORT)]
        return eps
    eps = gsmnet.wait_until(wg_seen, bound(30), 0.5, 'a advertises a WireGuard-observed endpoint')[0]
    expect(eps, 'a advertises WireGuard-observed endpoint(s) %s' % [e['address'] for e in eps])
    c.never_dead([a, b])
    return seed, rs, a, b, r


def sc_failover(c):
    seed, rs, a, b, r = sc_relay(c, relays=2)
    victim = [x for x in rs if x.name == r][0]
    other = [x for x in rs if x is not victim][0]
    t0 = time.monotonic()
    c.mesh.crash(victim)
    log('crashed relay %s' % victim.name)
    r2 = wait_relayed(c, a, b, 60, exclude=victim.name)
    expect(r2 == other.name, 'pair moved to %s' % r2)
    c.wait_pings([(a, b), (b, a)], 60, 'a <-> b after the relay died')
    c.t.add('relay-failover', time.monotonic() - t0)
    c.never_dead([a, b])


def sc_upgrade(c):
    """Port-preserving NATs, but the path between the two sites is blocked
    when the nodes start: relayed.  Unblocked: punching finds the direct
    path and it replaces the relay, without operator action."""
    seed = c.add_public('seed')
    relay = c.add_public('relay1', relay=True)
    s1 = c.topo.add_site('siteA', nat='cone')
    s2 = c.topo.add_site('siteB', nat='cone')
    a = c.add_nated('a', s1)
    b = c.add_nated('b', s2)
    c.topo.cut(s1, s2, tag='block')
    c.start([seed, relay], seed)
    c.mesh.wait_converged([seed, relay], bound(20))
    t0 = time.monotonic()
    c.start([a, b], seed)
    c.wait_joined([seed, relay, a, b], 30, 'NATed nodes join')
    c.wait_pings([(a, b), (b, a)], 90, 'a <-> b through the relay while blocked')
    c.t.add('nat-connectivity', time.monotonic() - t0)
    expect(wait_relayed(c, a, b, 20) == relay.name, 'relayed via %s while blocked' % relay.name)
    t1 = time.monotonic()
    c.topo.heal('block')
    log('unblocked siteA <-> siteB')

    def direct():
        pa, pb = c.peer(a, b), c.peer(b, a)
        return (pa and pb and not pa['relayed'] and not pb['relayed'] and
                pa['endpoint'] and pa['endpoint'].startswith(b.site.wan4 + ':') and
                pb['endpoint'] and pb['endpoint'].startswith(a.site.wan4 + ':') and
                (pa, pb))
    gsmnet.wait_until(direct, bound(150), 0.5, 'the direct path replaces the relay')
    c.t.add('relay-to-direct', time.monotonic() - t1)
    c.wait_pings([(a, b), (b, a)], 30, 'a <-> b directly')
    st = a.control('status')
    log('a nat counters: %s' % st.get('nat'))
    c.never_dead([a, b])


SCENARIOS = {
    'public': sc_public,
    'direct': sc_direct,
    'relay': sc_relay,
    'failover': sc_failover,
    'upgrade': sc_upgrade,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('name', choices=sorted(SCENARIOS))
    ap.add_argument('--backend', choices=['userspace', 'kernel'], default='userspace')
    args = ap.parse_args()
    if args.backend == 'kernel' and gsmnet.requirements('kernel') is None \
            and not gsmnet.kernel_wireguard_available():
        print('SKIP: no kernel WireGuard here')
        return gsmnet.SKIP
    fn = SCENARIOS[args.name]
    label = 'nat-%s-%s' % (args.name, args.backend)
    return gsmnet.run_scenario(label, lambda topo, t: fn(NatCtx(topo, t, args)), args.backend)


if __name__ == '__main__':
    sys.exit(main())
