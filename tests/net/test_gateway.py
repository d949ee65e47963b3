#!/usr/bin/env python3
"""Subnet router (docs/routing.md "Gateways (subnet routers)"), real daemons.

    test_gateway.py

Topology: nodes A and G on the harness underlay; behind G a "site router"
namespace (veth site0 172.30.9.1/30 on G, eth0 172.30.9.2/30 on the
router) with the "database" subnet 172.30.5.0/24 behind it (a namespace
with 172.30.5.10, default route via the router).  G routes 172.30.5.0/24
via the router in its main table and runs with `gateway = yes` and
advertise_prefixes = 172.30.5.0/24 from a configuration file (so reload
can switch SNAT and the gateway off and on).  A advertises 10.60.1.0/24
and has a "pod" address 10.60.1.5 on lo.

Checked, in order:
  * SNAT on: the pod pings the database; the database sees G's site
    address (172.30.9.1) as the source, never the pod's (nft counters in
    the database namespace); the table `inet gossamer_gateway` exists;
    `status --json` gateway lists forwarding [gsm0, site0] and the prefix;
    A's `members --json` shows G with "gateway": true;
  * forwarding: only net.ipv4.conf.{gsm0,site0}.forwarding are switched
    on in G's namespace; eth0, all (ip_forward) and IPv6 stay off;
  * reload with SNAT off: the table is gone; without a return route at the
    site the pod's pings fail (no NAT any more); with the documented return
    path (router: 10.60.1.0/24 and the overlay via 172.30.9.1) they work
    and the database sees the pod's own address;
  * reload with the gateway off: forwarding back to 0 and no table; the
    gateway flag leaves A's view;
  * reload with gateway and SNAT on again, then SIGTERM: the table is
    removed and every forwarding sysctl is back to its value before start.
Exit 0 pass, 1 fail, 77 skip.
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsmnet  # noqa: E402
from gsmnet import bound, expect, log, sh  # noqa: E402

DB_NET = '172.30.5.0/24'
DB = '172.30.5.10'
G_SITE = '172.30.9.1'
POD_NET = '10.60.1.0/24'
POD = '10.60.1.5'
OVERLAY4 = '10.77.0.0/16'
SYSCTLS = ['net/ipv4/conf/gsm0/forwarding', 'net/ipv4/conf/site0/forwarding',
           'net/ipv4/conf/eth0/forwarding', 'net/ipv4/conf/all/forwarding',
           'net/ipv6/conf/all/forwarding']


def sysctls(g, names=SYSCTLS):
    out = {}
    for s in names:
        r = g.run(['cat', '/proc/sys/' + s], check=False)
        out[s] = r.stdout.strip() if r.returncode == 0 else None
    return out


def has_table(g):
    return g.run(['nft', 'list', 'table', 'inet', 'gossamer_gateway'],
                 check=False).returncode == 0


def gw_status(g):
    return g.control('status')['gateway']


def write_conf(g, gateway, snat):
    with open(g.extra['conf'], 'w') as f:
        f.write('[node]\ngateway = %s\ngateway_snat = %s\n[overlay]\nadvertise_prefixes = %s\n'
                % ('yes' if gateway else 'no', 'yes' if snat else 'no', DB_NET))


def reload(g, gateway, snat):
    write_conf(g, gateway, snat)
    g.control('reload')


def build_site(topo, g):
    """site router and database namespaces behind G."""
    rt, db = topo.prefix + 'site', topo.prefix + 'db'
    topo._add_ns(rt)
    topo._add_ns(db)
    sh(['ip', 'link', 'add', 'site0', 'netns', g.ns, 'type', 'veth', 'peer', 'name', 'eth0',
        'netns', rt])
    sh(['ip', '-n', rt, 'link', 'add', 'db0', 'type', 'veth', 'peer', 'name', 'eth0',
        'netns', db])
    for ns, dev, addr in ((g.ns, 'site0', G_SITE + '/30'), (rt, 'eth0', '172.30.9.2/30'),
                          (rt, 'db0', '172.30.5.1/24'), (db, 'eth0', DB + '/24')):
        sh(['ip', '-n', ns, 'addr', 'add', addr, 'dev', dev])
        sh(['ip', '-n', ns, 'link', 'set', dev, 'up'])
    sh(['ip', '-n', db, 'route', 'add', 'default', 'via', '172.30.5.1'])
    sh(['ip', 'netns', 'exec', rt, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    sh(['ip', '-n', g.ns, 'route', 'add', DB_NET, 'via', '172.30.9.2', 'dev', 'site0'])
    # who does the database see?  counters per source address
    sh(['ip', 'netns', 'exec', db, 'nft', '-f', '-'], input=(
        'table inet seen {\n'
        '  chain in { type filter hook input priority 0; policy accept;\n'
        '    ip saddr %s icmp type echo-request counter\n'
        '    ip saddr %s icmp type echo-request counter\n'
        '  }\n}\n') % (G_SITE, POD))
    return rt, db


def seen(db):
    """{source: packets} from the database's counters."""
    out = sh(['ip', 'netns', 'exec', db, 'nft', '-j', 'list', 'table', 'inet', 'seen']).stdout
    res = {}
    for item in json.loads(out)['nftables']:
        rule = item.get('rule')
        if not rule:
            continue
        src = cnt = None
        for e in rule['expr']:
            m = e.get('match')
            if m and m['left'].get('payload', {}).get('field') == 'saddr':
                src = m['right']
            if 'counter' in e:
                cnt = e['counter']['packets']
        res[src] = cnt
    return res


def pod_ping(a, count=3):
    r = a.run(['ping', '-n', '-c', str(count), '-i', '0.2', '-W', '1', '-I', POD, DB],
              check=False, timeout=30)
    return r.returncode == 0


def body(topo, t):
    a, g = topo.add_node('a'), topo.add_node('g')
    rt, db = build_site(topo, g)
    g.extra['conf'] = os.path.join(g.dir, 'gossamerd.conf')
    write_conf(g, True, True)
    g.extra['flags'] = ['-c', g.extra['conf']]
    a.extra['flags'] = ['--advertise-prefix', POD_NET]
    mesh = gsmnet.Mesh(topo)
    # the values before gossamerd touches anything (gsm0 does not exist yet)
    before = sysctls(g)
    log('g sysctls before: %s' % before)
    t0 = time.monotonic()
    mesh.start_all([a, g], [a])
    mesh.wait_converged([a, g], bound(30))
    # the pod address after the start: with no seed to route toward, a
    # daemon takes its first address as its gossip address
    a.run(['ip', 'addr', 'add', POD + '/32', 'dev', 'lo'])
    gsmnet.wait_until(lambda: pod_ping(a, 1), bound(30), 0.5, 'pod -> database through g')
    t.add('pod-to-database', time.monotonic() - t0)

    # --- SNAT on
    s0 = seen(db)
    expect(pod_ping(a), 'SNAT: pod pings the database')
    s1 = seen(db)
    expect(s1[G_SITE] > s0[G_SITE] and s1[POD] == 0,
           "SNAT: the database sees g's address, not the pod's: %s" % s1)
    expect(has_table(g), 'SNAT: table inet gossamer_gateway exists on g')
    tab = g.run(['nft', 'list', 'table', 'inet', 'gossamer_gateway']).stdout
    log('g table:\n' + tab)
    expect('masquerade' in tab and DB_NET in tab, 'SNAT: the table masquerades into %s' % DB_NET)
    st = gw_status(g)
    log('g status gateway: %s' % st)
    expect(st['enabled'] and st['snat'] and st['prefixes'] == [DB_NET]
           and sorted(st['forwarding']) == ['gsm0', 'site0'],
           'status --json gateway: %s' % st)
    mg = [m for m in mesh.members(a) if m['name'] == 'g'][0]
    expect(mg.get('gateway') is True, "a's members --json: g has gateway true")
    ma = [m for m in mesh.members(a) if m['name'] == 'a'][0]
    expect(ma.get('gateway') is False, "a's members --json: a has gateway false")
    on = sysctls(g)
    log('g sysctls while gateway: %s' % on)
    want = dict(before)
    want['net/ipv4/conf/gsm0/forwarding'] = '1'
    want['net/ipv4/conf/site0/forwarding'] = '1'
    expect(on == want, 'forwarding only on gsm0 and site0: %s' % on)
    expect(before['net/ipv4/conf/site0/forwarding'] == '0'
           and before['net/ipv4/conf/all/forwarding'] == '0',
           'the namespace started with forwarding off: %s' % before)

    # --- SNAT off: the site needs the return path
    reload(g, True, False)
    gsmnet.wait_until(lambda: not has_table(g), bound(10), 0.2, 'table removed after reload')
    expect(not gw_status(g)['snat'], 'status: snat false after reload')
    expect(sysctls(g) == want, 'no SNAT: forwarding unchanged')
    expect(not pod_ping(a, 2), 'no SNAT, no return route at the site: the pod gets no reply')
    sh(['ip', '-n', rt, 'route', 'add', POD_NET, 'via', G_SITE])
    sh(['ip', '-n', rt, 'route', 'add', OVERLAY4, 'via', G_SITE])
    s0 = seen(db)
    gsmnet.wait_until(lambda: pod_ping(a, 1), bound(10), 0.3, 'pod -> database, return route')
    expect(pod_ping(a), 'no SNAT: pod pings the database with the site return route')
    s1 = seen(db)
    expect(s1[POD] > s0[POD] and s1[G_SITE] == s0[G_SITE],
           "no SNAT: the database sees the pod's own address: %s -> %s" % (s0, s1))

    # --- gateway off: forwarding restored, flag gone
    reload(g, False, False)
    gsmnet.wait_until(lambda: sysctls(g)['net/ipv4/conf/site0/forwarding'] == '0',
                      bound(10), 0.2, 'forwarding released after gateway off')
    off = sysctls(g)
    expect(off['net/ipv4/conf/gsm0/forwarding'] == '0' and off == dict(before, **{
        'net/ipv4/conf/gsm0/forwarding': '0'}), 'gateway off: sysctls as before: %s' % off)
    gsmnet.wait_until(lambda: not [m for m in mesh.members(a)
                                   if m['name'] == 'g' and m.get('gateway')],
                      bound(15), 0.3, "g's gateway flag gone from a's view")
    expect(not has_table(g) and gw_status(g)['forwarding'] == [],
           'gateway off: no table, no forwarding in status')

    # --- on again with SNAT, then stop: everything removed and restored
    reload(g, True, True)
    gsmnet.wait_until(lambda: has_table(g), bound(10), 0.2, 'table back after reload')
    expect(sysctls(g) == want, 'gateway on again: forwarding on gsm0 and site0')
    mesh.kill(g, signal.SIGTERM)
    expect(not has_table(g), 'after SIGTERM: table inet gossamer_gateway removed')
    after = sysctls(g)
    log('g sysctls after stop: %s' % after)
    # gsm0 outlives the daemon (wireguard-go keeps running): back to 0
    expect(after == dict(before, **{'net/ipv4/conf/gsm0/forwarding': '0'}),
           'after SIGTERM: forwarding sysctls restored: %s' % after)


def main():
    return gsmnet.run_scenario('gateway', body)


if __name__ == '__main__':
    sys.exit(main())
