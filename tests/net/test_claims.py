#!/usr/bin/env python3
"""tests/net/test_claims.py - a member with the cluster key advertises what
is not its own (docs/addressing.md); suite netns, userspace backend.

Four nodes: victim, site (advertises 172.31.9.0/24), honest, and, once the
three have converged and their claims are older than the incumbency margin
(twice the 10 s margin), the attacker.  The attacker advertises 0.0.0.0/0, ::/0, the
victim's overlay IPv4 /32 and IPv6 /128 and the site's prefix, and claims
the victim's IPv4 as its static overlay address.  On every honest node
`wg show gsm0 dump` never lists any of those for the attacker's peer, the
victim and the site keep theirs, the victim does not move, and `status`
lists the dropped claims with their reasons.  Honest overlapping prefixes:
honest advertises 172.31.9.128/25 inside site's /24; both are kept and a
ping from the victim reaches an address only honest holds and one only site
holds (longest match to its owner), and no honest claim is dropped.

The attacker's local configuration is refused by gossamerd's own config
check (advertising /0 and overlay prefixes), so the attacker runs
gossamerd-attacker: gossamerd built with GSD_TEST_ATTACKER, whose config
check lets it through (tests/net/meson.build; never installed).

    test_claims.py [--backend userspace|kernel]
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsmnet  # noqa: E402
from gsmnet import bound, expect, log  # noqa: E402

SITE_PREFIX = '172.31.9.0/24'
# honest advertises a more specific prefix inside site's: both are kept
# (different lengths), and traffic to it goes to its owner
SPECIFIC = '172.31.9.128/25'
SITE_HOST, SPECIFIC_HOST = '172.31.9.10', '172.31.9.130'
INCUMBENT_S = 10


def v4v6(status):
    a = status['overlay_addresses']
    return [x for x in a if '.' in x][0], [x for x in a if ':' in x][0]


def body(topo, t, backend):
    victim, site, honest, att = (topo.add_node(n) for n in ('victim', 'site', 'honest',
                                                             'mallory'))
    mesh = gsmnet.Mesh(topo, backend=backend)
    site.extra['flags'] = ['--advertise-prefix', SITE_PREFIX]
    # honest holds an address inside the site's /24 (its own /25): the /24
    # overlaps a local network there, so its operator accepts it explicitly
    honest.extra['flags'] = ['--advertise-prefix', SPECIFIC, '--accept-prefix', SITE_PREFIX]
    # an address behind each prefix, only on its owner
    site.run(['ip', 'addr', 'add', SITE_HOST + '/32', 'dev', 'lo'])
    honest.run(['ip', 'addr', 'add', SPECIFIC_HOST + '/32', 'dev', 'lo'])
    good = [victim, site, honest]
    t0 = time.monotonic()
    mesh.start_all(good, [victim])
    t.add('convergence', mesh.wait_converged(good, bound(30)))
    ids = mesh.identities(good)
    v4, v6 = v4v6(ids['victim'])
    log('victim holds %s %s' % (v4, v6))
    # the honest claims must be incumbents when the attacker shows up: a
    # node that joined an established cluster dates its own claims one
    # margin after its first contact, so two margins
    time.sleep(max(0, 2 * INCUMBENT_S + 3 - (time.monotonic() - t0)))

    bad = ['0.0.0.0/0', '::/0', v4.split('/')[0] + '/32', v6.split('/')[0] + '/128',
           SITE_PREFIX]
    flags = []
    for p in bad:
        flags += ['--advertise-prefix', p]
    flags += ['--address-ipv4', v4.split('/')[0]]
    att.extra['flags'] = flags
    attacker = gsmnet.find_program('gossamerd-attacker', 'tests/net')
    if not attacker:
        raise gsmnet.SkipTest('gossamerd-attacker not built (ninja tests/net/gossamerd-attacker)')
    orig = mesh.gossamerd
    mesh.gossamerd = attacker
    try:
        mesh.start(att, seeds=[victim])
    finally:
        mesh.gossamerd = orig
    everyone = good + [att]
    t.add('attacker-joined', mesh.wait_converged(everyone, bound(30)))
    att_st = mesh.self_info(att)
    att_key = att_st['wg_public_key']
    att_id = att_st['id']
    keys = {n: ids[n]['wg_public_key'] for n in ids}
    forbidden = set(bad)

    def check():
        problems = []
        for n in good:
            dump = n.wg_dump(gsmnet.WG_IF)
            if dump is None:
                problems.append('%s: no interface' % n.name)
                continue
            ap = dump['peers'].get(att_key)
            if ap is None:
                problems.append('%s: attacker not a peer yet' % n.name)
                continue
            leaked = forbidden & set(ap['allowed_ips'])
            if leaked:
                problems.append('%s: attacker has %s' % (n.name, sorted(leaked)))
            for other, want in (('victim', [v4, v6]), ('site', [SITE_PREFIX]),
                                ('honest', [SPECIFIC])):
                if other == n.name:
                    continue
                p = dump['peers'].get(keys[other])
                if p is None or not set(want) <= set(p['allowed_ips']):
                    problems.append('%s: %s lacks %s (has %s)' % (
                        n.name, other, want, p and p['allowed_ips']))
        return problems

    last = []

    def ok():
        last[:] = check()
        return not last
    try:
        t.add('policy-applied', gsmnet.wait_until(ok, bound(30), 0.5, 'allowed IPs')[1])
    except gsmnet.HarnessError:
        raise gsmnet.HarnessError('allowed IPs: %s' % '; '.join(last))
    # and it stays that way for a few reconciles
    time.sleep(4)
    expect(not check(), 'no honest node gives the attacker a forbidden prefix: %s' % check())
    expect(v4v6(mesh.self_info(victim)) == (v4, v6), 'the victim keeps %s and %s' % (v4, v6))
    with open(victim.log_path) as f:
        expect('moving to' not in f.read(), 'the victim never moved its IPv4 address')
    # overlapping honest prefixes: the longest match goes to its owner,
    # the rest of the /24 to the site (each address exists only on its owner)
    for host, owner in ((SPECIFIC_HOST, 'honest'), (SITE_HOST, 'site')):
        r = victim.run(['ping', '-c', '1', '-W', '3', host], check=False)
        expect(r.returncode == 0, 'victim reaches %s on %s through the mesh' % (host, owner))
    for n in good:
        st = mesh.self_info(n)
        own = [d for d in st.get('dropped_claims', []) if d['id'] != att_id]
        expect(not own, '%s drops no honest claim (%s)' % (n.name, own))

    reasons = {}
    for n in good:
        st = mesh.self_info(n)
        dropped = [d for d in st.get('dropped_claims', []) if d['id'] == att_id]
        reasons[n.name] = sorted(set((d['prefix'], d['reason']) for d in dropped))
        got = set(d['prefix'] for d in dropped)
        want = {'0.0.0.0/0', '::/0', SITE_PREFIX}
        if n is not victim:
            want |= {v4}
        expect(want <= got, '%s lists the dropped claims %s (has %s)'
               % (n.name, sorted(want), reasons[n.name]))
        expect(all(d['member'] == 'mallory' for d in dropped), 'named after the attacker')
    log('dropped claims: %s' % reasons)
    for n in good:
        with open(n.log_path) as f:
            text = f.read()
        expect('claim dropped: 0.0.0.0/0 from mallory' in text,
               '%s logs the dropped default route' % n.name)
        expect(text.count('claim dropped: 0.0.0.0/0 from mallory') == 1,
               '%s logs it once' % n.name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--backend', choices=['userspace', 'kernel'], default='userspace')
    args = ap.parse_args()
    return gsmnet.run_scenario('claims-%s' % args.backend,
                               lambda topo, t: body(topo, t, args.backend), args.backend)


if __name__ == '__main__':
    sys.exit(main())
