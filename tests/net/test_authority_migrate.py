#!/usr/bin/env python3
"""tests/net/test_authority_migrate.py - migrating a running mesh to
authority mode without downtime (docs/authority.md, "Migrating a running
mesh"), followed step by step as an operator would; suite netns, userspace
backend, real daemons and the real CLI.

Four nodes n1..n4 start WITHOUT authority mode: a plain cluster key, each
daemon reading its own config file (`--config`; the test timers are
flags).  Two ping streams run through the whole migration (n1 -> n4 and
n3 -> n2, 20 pings/s each).  Then:

  step 1  `gossamer authority init`
  step 2  a certificate per node (`gossamer authority sign`, its name),
          installed as the file `certificate` will name
  step 3  per node: the config file gets `[authority]` with `authority =
          KEY`, `authority_mode = warn` and `certificate = FILE`, then
          `gossamer reload`; after each node, the reloaded ones show every
          already-certified member `valid`, and one sync interval passes
          (the tunnels watched all along)
  step 4  check on every node: every member's CERT is `valid` (members
          JSON and the table), claims_uncertified 0, no `uncertified`
          entry in dropped_claims
  step 5  per node: `authority_mode = require` + `gossamer reload`, one
          sync interval each
  end     every status shows mode require; the pings are stopped and
          counted (`measured migration-ping-loss`): none may be lost; no
          WireGuard peer was removed at any step; a fifth node with the
          cluster key but no certificate is not admitted (nobody's peer nor
          valid member, counted in certs_refused, its refusal logged)

Cases (each runs even if an earlier one failed; `ok:` lines in the log):
  migrate    steps 1-5 under ping
  intruder   the uncertified fifth node

    test_authority_migrate.py
"""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsmnet  # noqa: E402
from gsmnet import bound, expect, log  # noqa: E402
from test_authority import Authority, Cli, identity_path, ping_loss, ping_stream  # noqa: E402

SYNC_S = 3
PING_INTERVAL = 0.05        # 20 pings/s
NAMES = ['n1', 'n2', 'n3', 'n4']
PAIRS = [('n1', 'n4'), ('n3', 'n2')]


class Ctx:
    def __init__(self, topo, mesh, cli, nodes):
        self.topo, self.mesh, self.cli = topo, mesh, cli
        self.n = nodes
        self.nodes = [nodes[x] for x in NAMES]
        self.auth = None
        self.keys = {}            # name -> WireGuard public key
        self.results = {}
        self.pings = []           # (label, Popen)
        self.peer_losses = []     # "observer lost name at step"


def cert_file(node):
    return os.path.join(node.dir, 'node.cert')


def write_config(node, authority=None, mode=None, certificate=None):
    """The node's gossamerd.conf, as an operator edits it.  The plain
    config has only the node's name; authority mode adds [authority]."""
    lines = ['# %s, written by test_authority_migrate.py' % node.name,
             '[node]', 'name = %s' % node.name]
    if authority:
        lines += ['', '[authority]', 'authority = %s' % authority]
        if mode:
            lines.append('authority_mode = %s' % mode)
        if certificate:
            lines.append('certificate = %s' % certificate)
    tmp = node.config_path + '.new'
    with open(tmp, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    os.replace(tmp, node.config_path)


def peers(node):
    d = node.wg_dump(gsmnet.WG_IF)
    return d['peers'] if d else {}


def wg_missing(ctx, nodes):
    out = []
    for o in nodes:
        ps = peers(o)
        out += ['%s lacks %s' % (o.name, x.name) for x in nodes
                if x is not o and ctx.keys[x.name] not in ps]
    return out


def check_tunnels(ctx, step):
    """Every node still has every other as a WireGuard peer."""
    miss = wg_missing(ctx, ctx.nodes)
    if miss:
        ctx.peer_losses.append('%s: %s' % (step, '; '.join(miss)))
    return miss


def settle(ctx, step):
    """One sync interval under ping after a step (the next anti-entropy
    round and the core's ticks run in the new mode), watching the tunnels
    all along: a peer removed a little later is caught too."""
    end = time.monotonic() + SYNC_S
    while time.monotonic() < end:
        check_tunnels(ctx, step)
        time.sleep(0.3)
    return not [x for x in ctx.peer_losses if x.startswith(step + ':')]


def members_view(ctx, observer):
    return {m['name']: m for m in ctx.mesh.members(observer)}


def cert_status(ctx, observer, name):
    m = members_view(ctx, observer).get(name)
    return ((m or {}).get('cert') or {}).get('status')


def mode_of(ctx, node):
    return ctx.mesh.self_info(node)['authority']['mode']


def v4_of(ctx, node):
    return [a for a in ctx.mesh.self_info(node)['overlay_addresses']
            if '.' in a][0].split('/')[0]


# -- setup ----------------------------------------------------------------------

def setup(topo):
    cli = Cli()
    nodes = {x: topo.add_node(x) for x in NAMES + ['n5']}
    mesh = gsmnet.Mesh(topo, backend='userspace', sync_interval='%ds' % SYNC_S)
    ctx = Ctx(topo, mesh, cli, nodes)
    for n in ctx.nodes:
        write_config(n)
        mesh.start(n, seeds=[ctx.n['n1']], extra=['--config', n.config_path], wait=False)
    for n in ctx.nodes:
        mesh.wait_ready(n)
    mesh.wait_converged(ctx.nodes, bound(30), what='the plain mesh')
    for n in ctx.nodes:
        ctx.keys[n.name] = ctx.mesh.self_info(n)['wg_public_key']
    took = gsmnet.wait_until(lambda: not wg_missing(ctx, ctx.nodes), bound(20), 0.5,
                             'WireGuard peers of the plain mesh')[1]
    log('plain mesh (no authority) up; WireGuard peers complete after %.1fs' % took)
    st = ctx.mesh.self_info(ctx.n['n1']).get('authority', {})
    expect(st.get('mode') in (None, 'off'), 'the mesh starts with authority mode off (%s)'
           % st.get('mode'))
    return ctx


def start_pings(ctx):
    for src, dst in PAIRS:
        s, d = ctx.n[src], ctx.n[dst]
        addr = v4_of(ctx, d)
        s.run(['ping', '-c', '1', '-W', '5', addr])       # the tunnel is up
        # a count larger than the migration needs; stopped with SIGINT
        ctx.pings.append(('%s->%s' % (src, dst), ping_stream(s, addr, 100000, PING_INTERVAL)))
    time.sleep(1)


def stop_pings(ctx):
    out = {}
    for label, p in ctx.pings:
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
        out[label] = ping_loss(p, 15)
    ctx.pings = []
    return out


# -- cases ----------------------------------------------------------------------

def step_certificates(ctx):
    """Steps 1 and 2: the authority, and a certificate per node with its
    current name (no prefixes, labels, relay or static IPv4 here), put
    where the node's `certificate` key will point."""
    ctx.auth = Authority(ctx.cli, os.path.join(ctx.topo.workdir, 'authority'))
    for n in ctx.nodes:
        adv = members_view(ctx, n)[n.name]      # what `members --wide` shows
        expect(not adv.get('prefixes') and not adv.get('labels') and not adv.get('relay'),
               '%s advertises no prefix nor label: its certificate needs none' % n.name)
        ctx.auth.sign(n, cert_file(n))
    time.sleep(1)
    expect(not check_tunnels(ctx, 'certificates installed'),
           'certificates alone change nothing: every tunnel is up')


def step_warn(ctx):
    """Step 3, node by node, with the check after each reload."""
    done = []
    for n in ctx.nodes:
        write_config(n, ctx.auth.pub, 'warn', cert_file(n))
        r = ctx.cli.node(n, ['reload'])
        log('%s: reload: %s' % (n.name, (r.stdout + r.stderr).strip()))
        done.append(n)
        expect(mode_of(ctx, n) == 'warn', '%s runs authority_mode warn after reload' % n.name)
        own = ctx.mesh.self_info(n)['authority']['self']
        expect(own.get('status') == 'valid', '%s: own certificate valid (%s)' % (n.name, own))

        def all_valid():
            return all(cert_status(ctx, o, x.name) == 'valid' for o in done for x in done)
        took = gsmnet.wait_until(all_valid, bound(10), 0.3,
                                 'the warn nodes see every certified member valid')[1]
        log('after %s: the %d warn nodes see each other valid after %.1fs' % (
            n.name, len(done), took))
        expect(settle(ctx, 'warn %s' % n.name),
               'every tunnel up for %ds after %s switched to warn' % (SYNC_S, n.name))


def step_check(ctx):
    """Step 4 on every node."""
    for o in ctx.nodes:
        ms = members_view(ctx, o)
        shown = {x.name: ((ms.get(x.name) or {}).get('cert') or {}).get('status')
                 for x in ctx.nodes if x is not o}
        expect(all(v == 'valid' for v in shown.values()),
               '%s: members shows every member valid %s' % (o.name, shown))
        out = ctx.cli.node(o, ['members', '--wide', '--color', 'never']).stdout
        head = out.splitlines()[0].split() if out else []
        expect('CERT' in head, '%s: `gossamer members` has a CERT column' % o.name)
        # the own row is marked with '*'
        rows = [ln for ln in out.splitlines()[1:]
                if set(w.strip('*') for w in ln.split()[:2]) & set(NAMES)]
        expect(len(rows) == 4 and all('valid' in ln.split() for ln in rows),
               '%s: the table shows valid for the 4 members:\n%s' % (o.name, out))
        st = ctx.mesh.self_info(o)
        expect(st['authority']['claims_uncertified'] == 0,
               '%s: claims_uncertified = 0' % o.name)
        unc = [d for d in st.get('dropped_claims', []) if d.get('reason') == 'uncertified']
        expect(not unc, '%s: no uncertified dropped claim (%s)' % (o.name, unc))


def step_require(ctx):
    """Step 5, node by node."""
    for n in ctx.nodes:
        write_config(n, ctx.auth.pub, 'require', cert_file(n))
        ctx.cli.node(n, ['reload'])
        expect(mode_of(ctx, n) == 'require', '%s runs authority_mode require' % n.name)
        expect(settle(ctx, 'require %s' % n.name),
               'every tunnel up for %ds after %s switched to require' % (SYNC_S, n.name))
    # another sync interval in require mode everywhere, still under ping
    settle(ctx, 'require everywhere')
    expect(gsmnet.wait_until(lambda: ctx.mesh.converged(ctx.nodes), bound(5), 0.3,
                             'the migrated mesh converged')[0], 'the 4 nodes are alive members')


def case_migrate(ctx, t):
    t0 = time.monotonic()
    start_pings(ctx)
    try:
        step_certificates(ctx)
        step_warn(ctx)
        step_check(ctx)
        step_require(ctx)
    finally:
        counts = stop_pings(ctx)
        t.add('migration', time.monotonic() - t0)
        lost = {k: s - g for k, (s, g) in counts.items()}
        ctx.results['migration_pings'] = counts
        ctx.results['migration_ping_loss'] = lost
        log('measured migration-ping-loss: %s (sent, received: %s)' % (lost, counts))
    for k, (s, g) in counts.items():
        expect(s > 100 and g == s, 'ping %s through the whole migration: %d of %d answered'
               % (k, g, s))
    expect(not ctx.peer_losses, 'no WireGuard peer was missing at any step (%s)'
           % ctx.peer_losses[:4])
    for n in ctx.nodes:
        expect(mode_of(ctx, n) == 'require', '%s: status shows mode require' % n.name)


def case_intruder(ctx, t):
    """A fifth node with the cluster key and no certificate (an old node,
    plain mode) is not admitted by the migrated mesh."""
    if not all(mode_of(ctx, n) == 'require' for n in ctx.nodes):
        raise gsmnet.HarnessError('the migration did not reach require everywhere')
    n5 = ctx.n['n5']
    before = {o.name: ctx.mesh.self_info(o)['authority']['certs_refused'] for o in ctx.nodes}
    mark = ctx.mesh.log_mark(ctx.nodes)
    write_config(n5)
    ctx.mesh.start(n5, seeds=[ctx.n['n1']], extra=['--config', n5.config_path])
    key = ctx.mesh.self_info(n5)['wg_public_key']
    end = time.monotonic() + bound(3 * SYNC_S + 2)
    while time.monotonic() < end:
        bad = [o.name for o in ctx.nodes if key in peers(o)]
        if bad:
            raise gsmnet.HarnessError('n5 became a WireGuard peer of %s' % bad)
        time.sleep(0.5)
    expect(True, 'n5 stayed nobody\'s WireGuard peer for %.0fs' % bound(3 * SYNC_S + 2))
    for o in ctx.nodes:
        m = members_view(ctx, o).get('n5')
        expect(m is None or (m.get('cert') or {}).get('status') != 'valid',
               '%s does not admit n5 (%s)' % (o.name, m and m.get('cert')))
    after = {o.name: ctx.mesh.self_info(o)['authority']['certs_refused'] for o in ctx.nodes}
    more = [x for x in after if after[x] > before[x]]
    expect(more, 'n5 counted in certs_refused on %s' % more)
    logged = [o.name for o in ctx.nodes
              if re.search(r'advert of n5 \S+ refused: certificate none',
                           ctx.mesh.log_since(o, mark))]
    expect(logged, 'the refusal of n5 (no certificate) is logged on %s' % logged)
    expect(not wg_missing(ctx, ctx.nodes), 'the 4 members keep every tunnel')


def body(topo, t):
    ctx = setup(topo)
    cases = [('migrate', lambda c: case_migrate(c, t)),
             ('intruder', lambda c: case_intruder(c, t))]
    failed = []
    for name, fn in cases:
        log('---- case %s' % name)
        try:
            fn(ctx)
        except gsmnet.HarnessError as e:
            log('FAIL %s: %s' % (name, e))
            failed.append(name)
            continue
        log('PASS %s' % name)
    log('measured: %s' % ctx.results)
    if failed:
        raise gsmnet.HarnessError('failed: %s' % failed)


def main():
    return gsmnet.run_scenario('authority-migrate', body)


if __name__ == '__main__':
    sys.exit(main())
