#!/usr/bin/env python3
"""Exit nodes (docs/routing.md "Exit nodes"), with real daemons.

    test_exit.py [--backend userspace|kernel]

Topology: four members on the harness underlay (10.250.0.0/16): two exit
nodes E1 and E2 (`--exit`), a consumer C and C's LAN neighbour L.  An
"internet" namespace holds the host 198.51.100.10 behind a bridge of its
own (192.0.2.0/24) that only E1 and E2 are plugged into (their default
route points at it); C has no route to it at all (no default route).  The
internet host runs a tiny UDP echo server that answers with the source
address it saw, so the test sees which exit a packet left through without
capturing packets.

Checked:
  * `gossamer exit-node e1,e2` on C: C's UDP to the internet host is
    answered and the host saw E1's internet-side address (masqueraded by
    E1's gossamer_exit table); `status --json` says using e1; C's
    WireGuard interface has the fwmark, E1's peer has 0.0.0.0/0 and ::/0,
    table 51822 has both default routes and the four rules are in place;
  * gossip and WireGuard keep working: every member alive on C, the overlay
    ping matrix is complete (handshakes fresh), and L's underlay address is
    still reached directly through eth0 (`ip route get`, ping);
  * E1 goes down (its underlay port): C's traffic moves to E2 within a
    measured bound (printed as `timing exit-failover`), and back to E1
    when it returns (`timing exit-failback`);
  * `gossamer exit-node off`: `ip rule`, `ip -6 rule` and
    `ip [-6] route show table all` are byte-for-byte as before, the
    fwmark is off and no peer keeps /0.
Exit 0 pass, 1 fail, 77 skip.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsmnet  # noqa: E402
from gsmnet import bound, expect, log, sh  # noqa: E402

HOST = '198.51.100.10'
PORT = 7777
WAN = {'e1': '192.0.2.1', 'e2': '192.0.2.2'}

ECHO = r'''
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("%s", %d))
while True:
    data, src = s.recvfrom(512)
    s.sendto(src[0].encode(), src)
''' % (HOST, PORT)

ASK = r'''
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1.0)
try:
    s.sendto(b"?", ("%s", %d))
    print(s.recvfrom(512)[0].decode())
except OSError as e:
    print("error: %%s" %% e)
''' % (HOST, PORT)


def internet(topo, exits):
    """The internet namespace: bridge wan0 with the host 192.0.2.10 (and
    198.51.100.10 on lo), each exit plugged in as eth1 with a default
    route via the host."""
    ns = topo.prefix + 'wan'
    topo._add_ns(ns)
    sh(['ip', '-n', ns, 'link', 'add', 'wan0', 'type', 'bridge'])
    sh(['ip', '-n', ns, 'addr', 'add', '192.0.2.10/24', 'dev', 'wan0'])
    sh(['ip', '-n', ns, 'addr', 'add', HOST + '/32', 'dev', 'lo'])
    sh(['ip', '-n', ns, 'link', 'set', 'wan0', 'up'])
    for e in exits:
        sh(['ip', '-n', ns, 'link', 'add', 'w-' + e.name, 'type', 'veth', 'peer', 'name',
            'eth1', 'netns', e.ns])
        sh(['ip', '-n', ns, 'link', 'set', 'w-' + e.name, 'master', 'wan0'])
        sh(['ip', '-n', ns, 'link', 'set', 'w-' + e.name, 'up'])
        e.run(['ip', 'addr', 'add', WAN[e.name] + '/24', 'dev', 'eth1'])
        e.run(['ip', 'link', 'set', 'eth1', 'up'])
        e.run(['ip', 'route', 'add', 'default', 'via', '192.0.2.10', 'dev', 'eth1'])
    srv = subprocess.Popen(['ip', 'netns', 'exec', ns, 'python3', '-c', ECHO],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    topo._procs.append(srv.pid)
    return ns


def ask(c):
    """The source address the internet host saw for C's datagram, or an
    'error: ...' string."""
    return c.run(['python3', '-c', ASK], check=False, timeout=10).stdout.strip()


def snapshot(n):
    return '\n'.join(n.run(a, check=False).stdout for a in (
        ['ip', 'rule'], ['ip', '-6', 'rule'], ['ip', 'route', 'show', 'table', 'all'],
        ['ip', '-6', 'route', 'show', 'table', 'all']))


def exit_status(c):
    return c.control('status').get('exit')


def fwmark(n):
    return n.run(['wg', 'show', gsmnet.WG_IF, 'fwmark']).stdout.strip()


def peers_with_default(n):
    d = n.wg_dump(gsmnet.WG_IF) or {'peers': {}}
    return [k for k, p in d['peers'].items() if '0.0.0.0/0' in p['allowed_ips']]


def exit_node(c, arg):
    r = c.run([gsmnet.find_program('gossamer', 'cli'), '--socket', c.inner_socket, '--json',
               'exit-node', arg])
    return json.loads(r.stdout)


def diagnose(c, exits):
    log('C: %s' % '\n'.join(c.run(a, check=False).stdout + c.run(a, check=False).stderr for a in (
        ['ip', 'rule'], ['ip', 'route', 'show', 'table', '51822'], ['wg', 'show', gsmnet.WG_IF],
        ['ip', 'route', 'get', HOST])))
    for e in exits:
        log('%s: %s' % (e.name, '\n'.join(e.run(a, check=False).stdout for a in (
            ['nft', 'list', 'ruleset'], ['sysctl', '-a', '--pattern', 'forwarding'],
            ['ip', 'route']))))


def wait_exit(c, name, t0, what, exits=()):
    try:
        gsmnet.wait_until(lambda: ask(c) == WAN[name], bound(30), 0.2,
                          "C's traffic leaves through %s (%s)" % (name, what))
    except gsmnet.HarnessError:
        log('last answer: %s' % ask(c))
        diagnose(c, exits)
        raise
    return time.monotonic() - t0


def check_on(c, e1, mesh, nodes, topo, t):
    st = exit_status(c)
    expect(st['using'] == 'e1' and st['wanted'] == ['e1', 'e2'] and st['table'] == 51822,
           'status exit: %s' % st)
    expect(fwmark(c) == '0x5151', 'C fwmark 0x5151: %s' % fwmark(c))
    key = e1.control('status')['wg_public_key']
    d = c.wg_dump(gsmnet.WG_IF)
    expect('0.0.0.0/0' in d['peers'][key]['allowed_ips'] and
           '::/0' in d['peers'][key]['allowed_ips'], "E1's peer on C has 0.0.0.0/0 and ::/0")
    rules = c.run(['ip', 'rule']).stdout + c.run(['ip', '-6', 'rule']).stdout
    for want in ('5220:\tfrom all lookup main suppress_prefixlength 0',
                 '5221:\tnot from all fwmark 0x5151 lookup 51822'):
        expect(rules.count(want) == 2, 'C rule "%s" for both families:\n%s' % (want, rules))
    tab = c.run(['ip', 'route', 'show', 'table', '51822']).stdout + \
        c.run(['ip', '-6', 'route', 'show', 'table', '51822']).stdout
    expect(tab.count('default dev %s' % gsmnet.WG_IF) == 2, 'table 51822: %s' % tab)
    expect(e1.control('status')['exit']['offering'], 'E1 offers')
    nft = e1.run(['nft', 'list', 'table', 'inet', 'gossamer_exit']).stdout
    expect('masquerade' in nft, 'E1 gossamer_exit masquerades:\n%s' % nft)
    # gossip and WireGuard still work, and the LAN stays direct
    states = mesh.member_states(c)
    expect(all(s == 'alive' for s in states.values()), 'C sees everyone alive: %s' % states)
    ids = mesh.identities(nodes)
    t0 = time.monotonic()
    ok, fails = topo.ping_matrix(mesh.overlay_targets(nodes, ids))
    t.add('ping-matrix-with-exit', time.monotonic() - t0)
    expect(not fails, 'overlay ping matrix with the exit: %d ok, failures %s' % (ok, fails[:10]))
    l_addr = [n for n in nodes if n.name == 'l'][0].addr4
    get = c.run(['ip', 'route', 'get', l_addr]).stdout
    expect('dev eth0' in get and gsmnet.WG_IF not in get, 'L reached directly: %s' % get)
    c.run(['ping', '-c', '1', '-W', '2', l_addr])
    now = int(time.time())
    for k, p in c.wg_dump(gsmnet.WG_IF)['peers'].items():
        expect(now - p['latest_handshake'] < 180, 'handshake with %s fresh (%d s)' % (
            k[:8], now - p['latest_handshake']))


def body(topo, t, args):
    e1, e2, c, lan = (topo.add_node(n) for n in ('e1', 'e2', 'c', 'l'))
    internet(topo, [e1, e2])
    expect(ask(c).startswith('error'), 'C cannot reach the internet host before: %s' % ask(c))
    e1.extra['flags'] = e2.extra['flags'] = ['--exit']
    mesh = gsmnet.Mesh(topo, backend=args.backend)
    nodes = [e1, e2, c, lan]
    mesh.start_all(nodes, [e1])
    mesh.wait_converged(nodes, bound(30))
    time.sleep(1.5)  # a reconcile after convergence: peers, addresses
    before = snapshot(c)
    mark_before = fwmark(c)

    for e in (e1, e2):
        nft = e.run(['nft', 'list', 'table', 'inet', 'gossamer_exit'], check=False)
        expect(nft.returncode == 0 and 'masquerade' in nft.stdout,
               '%s: table inet gossamer_exit installed: %s' % (e.name, nft.stderr.strip()))
    t0 = time.monotonic()
    r = exit_node(c, 'e1,e2')
    expect(r['using'] == 'e1', 'exit-node e1,e2 answers using e1: %s' % r)
    t.add('exit-on', wait_exit(c, 'e1', t0, 'on', [e1, e2]))
    check_on(c, e1, mesh, nodes, topo, t)

    # E1 goes down: C moves to E2
    t0 = time.monotonic()
    topo.isolate(e1)
    fail = wait_exit(c, 'e2', t0, 'E1 down')
    t.add('exit-failover', fail)
    expect(exit_status(c)['using'] == 'e2', 'status: using e2')
    expect(mesh.member_states(c).get('e1') in ('dead', 'suspect'), 'C: e1 is down')
    # and back when it returns
    t0 = time.monotonic()
    topo.isolate(e1, down=False)
    back = wait_exit(c, 'e1', t0, 'E1 back')
    t.add('exit-failback', back)

    # off restores everything exactly
    r = exit_node(c, 'off')
    expect(r['using'] is None and r['wanted'] == [], 'exit-node off: %s' % r)
    gsmnet.wait_until(lambda: snapshot(c) == before, bound(10), 0.2,
                      'rules and routes as before')
    gsmnet.wait_until(lambda: fwmark(c) == mark_before, bound(10), 0.2, 'fwmark as before')
    expect(not peers_with_default(c), 'no peer keeps 0.0.0.0/0 on C')
    expect(ask(c).startswith('error'), 'C cannot reach the internet host after off')
    states = mesh.member_states(c)
    expect(all(s == 'alive' for s in states.values()), 'C sees everyone alive: %s' % states)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--backend', choices=['userspace', 'kernel'], default='userspace')
    args = ap.parse_args()
    if args.backend == 'kernel' and not gsmnet.kernel_wireguard_available():
        print('SKIP: no kernel WireGuard here')
        return gsmnet.SKIP
    return gsmnet.run_scenario('exit-%s' % args.backend,
                               lambda topo, t: body(topo, t, args), args.backend)


if __name__ == '__main__':
    sys.exit(main())
