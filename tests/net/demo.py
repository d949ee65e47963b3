#!/usr/bin/env python3
"""The local mesh demo behind `./scripts/demo` (see scripts/demo).

    demo.py up   [--nodes 5] [--backend auto|kernel|userspace]
    demo.py down
    demo.py exec NODE COMMAND...

`up` replaces a running demo: it builds NODES namespaces on one internet
bridge (prefix gsmdemo-, state and logs in /run/gossamer-demo), starts
gossamerd in each (kernel WireGuard when the host has it, wireguard-go
otherwise), waits for convergence and prints the member table and the
overlay ping matrix.  The topology stays up until `down`, which removes
exactly what `up` recorded in /run/gossamer-demo/topology.json.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsmnet  # noqa: E402

WORKDIR = os.environ.get('GSM_DEMO_DIR', '/run/gossamer-demo')
PREFIX = 'gsmdemo-'


def say(msg=''):
    print(msg, flush=True)


def down(quiet=False):
    path = os.path.join(WORKDIR, 'topology.json')
    if os.path.exists(path):
        gsmnet.main(['down', WORKDIR])
    elif not quiet:
        say('demo: nothing running')
    # Namespaces of a demo whose topology.json was lost (same prefix: ours).
    r = gsmnet.sh(['ip', 'netns', 'list'], check=False)
    for line in (r.stdout or '').splitlines():
        name = line.split()[0] if line.split() else ''
        if name.startswith(PREFIX):
            gsmnet._kill_ns_pids(name)
            gsmnet.sh(['ip', 'netns', 'del', name], check=False)
    shutil.rmtree(WORKDIR, ignore_errors=True)


def matrix_table(topo, targets):
    """Ping every overlay address from every node; print a table."""
    ok, fails = topo.ping_matrix(targets)
    failed = set((s, d) for s, d, _ in fails)
    names = [n.name for n in targets]
    w = max(len(x) for x in names) + 2
    say('ping matrix over the overlay (row pings column; ok = its IPv4 and IPv6 addresses answer):')
    say(' ' * w + ''.join(x.ljust(w + 3) for x in names))
    for s in names:
        cells = []
        for d in names:
            cells.append(('-' if s == d else ('FAIL' if (s, d) in failed else 'ok'))
                         .ljust(w + 3))
        say(s.ljust(w) + ''.join(cells))
    say('%d of %d pings answered' % (ok, ok + len(fails)))
    return not fails


def up(args):
    gsmnet.sh(['true'])
    down(quiet=True)
    why = gsmnet.requirements('kernel' if args.backend == 'kernel' else 'userspace')
    backend = args.backend
    if backend == 'auto':
        backend = 'kernel' if gsmnet.kernel_wireguard_available() else 'userspace'
        why = gsmnet.requirements(backend)
    if why:
        say('demo: cannot run here: %s' % why)
        return 1
    gossamer = gsmnet.find_program('gossamer', 'cli')
    t0 = time.monotonic()
    topo = gsmnet.Topology(WORKDIR, prefix=PREFIX, detached=True)
    try:
        with topo:
            nodes = [topo.add_node() for _ in range(args.nodes)]
            mesh = gsmnet.Mesh(topo, backend=backend, probe_interval='500ms',
                               sync_interval='10s', dead_grace='10s', left_grace='5s')
            mesh.start_all(nodes, nodes[:1])
            say('demo: %d nodes started (%s WireGuard), joining through %s (%s)'
                % (len(nodes), 'kernel' if backend == 'kernel' else 'wireguard-go',
                   nodes[0].name, nodes[0].addr4))
            conv = mesh.wait_converged(nodes, 60)
            ids = mesh.identities(nodes)
            last = []

            def wg_ok():
                last[:] = mesh.wg_problems(nodes, ids)
                return not last
            try:
                gsmnet.wait_until(wg_ok, 30, 0.3, 'WireGuard peers')
            except gsmnet.HarnessError:
                say('demo: WireGuard peers not all configured yet: %s' % '; '.join(last[:5]))
            say('demo: converged in %.1fs (%.1fs since start)' % (conv, time.monotonic() - t0))
            say()
            n1 = nodes[0]
            say('$ gossamer members      # on %s' % n1.name)
            if gossamer:
                subprocess.run(n1.argv([gossamer, '--color', 'never', 'members']))
            else:
                for m in mesh.members(n1):
                    say('  %-6s %-6s %s' % (m['name'], m['state'],
                                           ' '.join(m['overlay_addresses'])))
            say()
            ok = matrix_table(topo, mesh.overlay_targets(nodes, ids))
            topo.save()
    except BaseException:
        topo.teardown()
        shutil.rmtree(WORKDIR, ignore_errors=True)
        raise
    me = os.path.relpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                      '..', '..', 'scripts', 'demo'))
    if not me.startswith('.') and not me.startswith('/'):
        me = './' + me
    g = gossamer or 'gossamer'
    say()
    say('Look around (nodes n1..n%d, namespaces %sn1.., logs and state in %s/<node>/):'
        % (args.nodes, PREFIX, WORKDIR))
    say('  %s exec n2 gossamer status          # any command inside a node' % me)
    say('  %s exec n2 gossamer peers           # its WireGuard peers' % me)
    say('  %s exec n3 wg show                  # the raw WireGuard view' % me)
    say('  %s exec n4 ping -c1 %s' % (me, gsmnet.addr_only(ids['n1']['overlay_addresses'][0])))
    say('  ip netns exec %sn2 %s --socket %s members'
        % (PREFIX, g, nodes[1].socket_path))
    say('  %s exec n5 gossamer leave           # n5 leaves; `members` shows it `left`' % me)
    say('  tail -f %s/n1/gossamerd.log' % WORKDIR)
    say('Tear down (removes exactly what the demo made):')
    say('  %s down' % me)
    return 0 if ok else 1


def do_exec(args):
    path = os.path.join(WORKDIR, 'topology.json')
    if not os.path.exists(path):
        say('demo: nothing running (./scripts/demo starts it)')
        return 1
    # Make the build's programs (gossamer, gossamerd) reachable by name.
    extra = [os.path.dirname(p) for p in (gsmnet.find_program('gossamer', 'cli'),
                                          gsmnet.find_program('gossamerd', 'daemon')) if p]
    os.environ['PATH'] = ':'.join(extra + [os.environ.get('PATH', '/usr/bin:/bin')])
    return gsmnet.main(['exec', WORKDIR, args.node] + args.command)


def main():
    ap = argparse.ArgumentParser(description='gossamer local mesh demo')
    sub = ap.add_subparsers(dest='cmd')
    p = sub.add_parser('up')
    p.add_argument('--nodes', type=int, default=5)
    p.add_argument('--backend', choices=['auto', 'kernel', 'userspace'], default='auto')
    sub.add_parser('down')
    p = sub.add_parser('exec')
    p.add_argument('node')
    p.add_argument('command', nargs=argparse.REMAINDER)
    args = ap.parse_args()
    if os.geteuid() != 0:
        say('demo: must run as root (network namespaces)')
        return 1
    if args.cmd in (None, 'up'):
        if args.cmd is None:
            args.nodes, args.backend = 5, 'auto'
        return up(args)
    if args.cmd == 'down':
        running = os.path.exists(os.path.join(WORKDIR, 'topology.json'))
        down()
        if running:
            say('demo: removed')
        return 0
    return do_exec(args)


if __name__ == '__main__':
    sys.exit(main())
