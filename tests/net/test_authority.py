#!/usr/bin/env python3
"""tests/net/test_authority.py - authority mode (issue 14, docs/authority.md)
with real daemons and the real CLI; suite netns, userspace backend.

One authority (`gossamer authority init`), 16 namespaces, every daemon in
`require` mode with `--authority KEY --certificate FILE`.  Each node's
identity is made before its first start (`gossamer keygen identity -o`) so
that `gossamer authority sign` can certify it.  Nodes:

  n1..n11   ordinary certified members (n1 the seed; n2 renews under ping;
            n3 restarts after a revocation; n11 is partitioned during one)
  liar      certified for 172.31.5.0/24, IPv4 overlay 10.77.200.2 and label
            team=blue, no role; advertises also 172.31.6.0/24, the IPv4
            overlay 10.77.200.1, label env=prod and the relay flag
  victim    revoked by name with `gossamer revoke FILE` on n1
  expiring  a certificate valid for EXPIRING_S seconds, later renewed
  mallory   a certificate from another authority   } then reused for the
  trudy     a certificate whose name was edited    } join-key nodes and
                                                     greedy

Cases, in order (each one's checks are `ok:` lines in the log):

  claims    the liar is a peer everywhere, but none of its uncertified
            claims is: not in any `wg show` allowed IPs, listed as
            `uncertified` in every node's `status` dropped claims, logged;
            its certified prefix is routed
  forged    mallory and trudy are nobody's member nor WireGuard peer;
            certs_refused counts them
  renew     n2 gets a new certificate + `gossamer reload` under a 20 pings/s
            ping from n3: no ping lost, everyone sees the new serial
  expiry    `expiring` is removed from every WireGuard peer set within one
            sync interval of its not_after, shown `expired` (members JSON
            and table); a new certificate + reload brings it back
  join      a join key (pool 172.31.64.0/20, label pool=burst): requests
            outside it (prefix, lifetime) are refused by `gossamer cert
            issue`; a fresh node issues itself a certificate and joins
  overbroad a join-key holder bypasses `cert issue` and signs with the
            join key itself (tests/daemon/mkcert.c joinsign, no
            gsm_cert_within): `greedy` runs with a prefix outside the pool,
            then (new file + reload) a lifetime over the maximum; it is
            nobody's member nor WireGuard peer, certs_refused counts it,
            the receivers log the delegation's reason (pool, lifetime)
  revoke    revocation of `victim` injected on n1: the time until its peer
            is gone from every other node is printed (`timing
            revocation-propagation`); every node holds it; victim and n3
            restart: victim never becomes a peer again, n3 loaded it from
            its state directory
  partition n11 and the liar are cut off; the liar's certificate is revoked
            (by serial) on n1; on heal n11 learns it and drops the liar
            (`timing revocation-heal`)
  join-revoked  the join key is revoked; a fresh node started with
            `--join-key` is never admitted, and the node it certified
            before is removed (a revocation covers every certificate of a
            chain)

    test_authority.py [--nodes N]
"""
import argparse
import base64
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gsmnet  # noqa: E402
from gsmnet import bound, expect, log  # noqa: E402

SYNC_S = 3                  # gsmnet.Mesh's --sync-interval
EXPIRING_S = 60             # the short certificate's lifetime
LIAR_OK_PREFIX = '172.31.5.0/24'
LIAR_BAD_PREFIX = '172.31.6.0/24'
LIAR_PIN = '10.77.200.2'     # in its certificate
LIAR_CLAIM = '10.77.200.1'   # what it advertises
POOL = '172.31.64.0/20'
JOINER_PREFIX = '172.31.65.0/24'


class Cli:
    """The `gossamer` CLI, on the host (authority side) or in a node."""

    def __init__(self):
        self.path = gsmnet.find_program('gossamer', 'cli')
        if not self.path:
            raise gsmnet.SkipTest('gossamer not built (set GSM_BUILD_ROOT)')

    def host(self, args, check=True):
        r = gsmnet.sh([self.path] + [str(a) for a in args], check=False)
        if check and r.returncode != 0:
            raise gsmnet.HarnessError('gossamer %s: exit %d: %s%s' % (
                ' '.join(str(a) for a in args), r.returncode, r.stdout, r.stderr))
        return r

    def node(self, node, args, check=True):
        r = node.run([self.path] + [str(a) for a in args], check=False)
        if check and r.returncode != 0:
            raise gsmnet.HarnessError('%s: gossamer %s: exit %d: %s%s' % (
                node.name, ' '.join(str(a) for a in args), r.returncode, r.stdout, r.stderr))
        return r


class Authority:
    def __init__(self, cli, d):
        self.cli, self.dir = cli, d
        out = cli.host(['authority', 'init', d]).stdout
        with open(os.path.join(d, 'authority.pub')) as f:
            self.pub = f.read().strip()
        expect(self.pub in out, 'authority init prints the public key %s' % self.pub)
        expect(os.stat(os.path.join(d, 'authority.key')).st_mode & 0o077 == 0,
               'the authority key is 0600')

    def sign(self, node, out, name=None, valid=None, prefixes=(), overlay=None, roles=(),
             labels=()):
        a = ['authority', 'sign', '--authority', self.dir, '--node-key', identity_path(node),
             '--name', name or node.name, '-o', out]
        if valid:
            a += ['--valid', valid]
        if overlay:
            a += ['--overlay', overlay]
        for p in prefixes:
            a += ['--prefix', p]
        for r in roles:
            a += ['--role', r]
        for lb in labels:
            a += ['--label', lb]
        self.cli.host(a)
        return out

    def revoke(self, target, out):
        self.cli.host(['authority', 'revoke', '--authority', self.dir] + list(target) +
                      ['-o', out])
        return out

    def issued(self):
        """[(serial, kind, subject, name, not_after)] from DIR/issued"""
        with open(os.path.join(self.dir, 'issued')) as f:
            return [tuple(ln.split()[:5]) for ln in f if ln.strip() and not ln.startswith('#')]


def identity_path(node):
    return os.path.join(node.state_dir, 'identity.key')


def cert_path(node):
    return os.path.join(node.dir, '%s.cert' % node.name)


class Ctx:
    def __init__(self, topo, mesh, cli, auth, nodes):
        self.topo, self.mesh, self.cli, self.auth = topo, mesh, cli, auth
        self.n = nodes                      # name -> Node
        self.regular = [v for k, v in sorted(nodes.items(), key=lambda kv: kv[1].index)
                        if re.match(r'n\d+$', k)]
        self.keys = {}                      # name -> WireGuard public key
        self.results = {}

    def started(self, names):
        return [self.n[x] for x in names]

    def members_view(self, observer):
        return {m['name']: m for m in self.mesh.members(observer)}

    def cert_of(self, observer, name):
        m = self.members_view(observer).get(name)
        return m and m.get('cert')

    def peers(self, node):
        d = node.wg_dump(gsmnet.WG_IF)
        return d['peers'] if d else {}


def start_certified(ctx, node, seeds, extra=(), wait=True):
    flags = ['--authority', ctx.auth.pub, '--certificate', cert_path(node)] + list(extra)
    return ctx.mesh.start(node, seeds=seeds, extra=flags, wait=wait)


def wg_key(node):
    return gsmnet.sh(['wg', 'pubkey'], input=wg_private(node) + '\n').stdout.strip()


def wg_private(node):
    with open(os.path.join(node.state_dir, 'wireguard.key')) as f:
        return f.read().strip()


def not_peer_anywhere(ctx, observers, key):
    return [o.name for o in observers if key in ctx.peers(o)]


# -- setup ----------------------------------------------------------------------

def setup(topo, n_nodes):
    cli = Cli()
    names = ['n%d' % i for i in range(1, n_nodes - 4)] + ['liar', 'victim', 'expiring',
                                                          'mallory', 'trudy']
    nodes = {x: topo.add_node(x) for x in names}
    mesh = gsmnet.Mesh(topo, backend='userspace', sync_interval='%ds' % SYNC_S)
    auth = Authority(cli, os.path.join(topo.workdir, 'authority'))
    ctx = Ctx(topo, mesh, cli, auth, nodes)
    for n in nodes.values():
        cli.host(['keygen', 'identity', '-o', identity_path(n)])
        # the WireGuard key too, so that peers can be named before the start
        priv, _ = gsmnet.wg_genkey()
        with os.fdopen(os.open(os.path.join(n.state_dir, 'wireguard.key'),
                               os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as f:
            f.write(priv + '\n')
        ctx.keys[n.name] = wg_key(n)
    for n in ctx.regular:
        auth.sign(n, cert_path(n), valid='10m' if n.name == 'n2' else None)
    auth.sign(nodes['victim'], cert_path(nodes['victim']))
    auth.sign(nodes['liar'], cert_path(nodes['liar']), prefixes=[LIAR_OK_PREFIX],
              overlay=LIAR_PIN, labels=['team=blue'])
    # the forgers: another authority's certificate, and ours with an edited name
    other = Authority(cli, os.path.join(topo.workdir, 'other-authority'))
    other.sign(nodes['mallory'], cert_path(nodes['mallory']))
    tampered = os.path.join(topo.workdir, 'trudx.cert')
    auth.sign(nodes['trudy'], tampered, name='trudx')
    tamper_name(tampered, cert_path(nodes['trudy']), b'trudx', b'trudy')
    return ctx


def tamper_name(src, dst, old, new):
    """Edit the certificate body inside the PEM block (the signature stays)."""
    with open(src) as f:
        text = f.read()
    m = re.search(r'(-----BEGIN GOSSAMER CERTIFICATE-----\n)(.*?)(\n-----END)', text, re.S)
    raw = base64.b64decode(''.join(m.group(2).split()))
    expect(raw.count(old) == 1, 'the certificate body holds the name once')
    b64 = base64.b64encode(raw.replace(old, new)).decode()
    body = '\n'.join(b64[i:i + 64] for i in range(0, len(b64), 64))
    with open(dst, 'w') as f:
        f.write(text[:m.start(2)] + body + text[m.end(2):])


def not_after(ctx, path):
    out = ctx.cli.host(['cert', 'show', '--json', path]).stdout
    return json.loads(out)['certificates'][0]['not_after']


def sign_expiring_in(ctx, node, seconds):
    """A certificate that expires `seconds` from now (`--valid` counts from
    the signing)."""
    path = cert_path(node)
    ctx.auth.sign(node, path, valid='%ds' % seconds)
    left = not_after(ctx, path) - time.time()
    expect(abs(left - seconds) <= 2, 'authority sign --valid %ds: not_after %.0fs from now'
           % (seconds, left))
    log('%s: certificate expires in %.0fs' % (node.name, left))
    return left


def start_mesh(ctx, t):
    n = ctx.n
    seed = n['n1']
    liar_flags = ['--advertise-prefix', LIAR_OK_PREFIX, '--advertise-prefix', LIAR_BAD_PREFIX,
                  '--overlay-ipv4', gsmnet.OVERLAY_V4, '--address-ipv4', LIAR_CLAIM,
                  '--relay', '--public', '--label', 'team=blue', '--label', 'env=prod']
    sign_expiring_in(ctx, n['expiring'], EXPIRING_S)
    good = ctx.regular + [n['liar'], n['victim'], n['expiring']]
    for node in good:
        extra = liar_flags if node is n['liar'] else []
        start_certified(ctx, node, [seed], extra, wait=False)
    # the forgers run in warn mode themselves, so that their own daemon
    # starts whatever it thinks of its certificate and sends it
    for node in (n['mallory'], n['trudy']):
        start_certified(ctx, node, [seed], ['--authority-mode', 'warn'], wait=False)
    for node in good:
        ctx.mesh.wait_ready(node)
    for node in (n['mallory'], n['trudy']):
        try:
            ctx.mesh.wait_ready(node)
        except gsmnet.HarnessError as e:     # refusing to run is fine too
            log('%s: %s' % (node.name, e))
    ctx.good = good
    t.add('convergence', ctx.mesh.wait_converged(good, bound(40), what='certified members'))
    gsmnet.wait_until(lambda: not wg_missing(ctx, good), bound(20), 0.5,
                      'WireGuard peers among the certified members')


def wg_missing(ctx, nodes):
    out = []
    for o in nodes:
        peers = ctx.peers(o)
        out += ['%s lacks %s' % (o.name, x.name) for x in nodes
                if x is not o and ctx.keys[x.name] not in peers]
    return out


# -- cases ----------------------------------------------------------------------

def case_claims(ctx):
    liar = ctx.n['liar']
    observers = [o for o in ctx.good if o is not liar]
    key = ctx.keys['liar']
    forbidden = {LIAR_BAD_PREFIX, LIAR_CLAIM + '/32'}

    def problems():
        out = []
        for o in observers:
            p = ctx.peers(o).get(key)
            if p is None:
                out.append('%s: the liar is no peer' % o.name)
                continue
            if forbidden & set(p['allowed_ips']):
                out.append('%s: liar has %s' % (o.name, sorted(forbidden & set(p['allowed_ips']))))
            if LIAR_OK_PREFIX not in p['allowed_ips']:
                out.append('%s: liar lacks its certified %s (%s)' % (o.name, LIAR_OK_PREFIX,
                                                                    p['allowed_ips']))
        return out
    last = []

    def ok():
        last[:] = problems()
        return not last
    try:
        gsmnet.wait_until(ok, bound(15), 0.5, 'the liar peered without its uncertified claims')
    except gsmnet.HarnessError:
        raise gsmnet.HarnessError('liar allowed IPs: %s' % '; '.join(last))
    expect(True, 'the liar is a peer of every node with %s and without %s' % (
        LIAR_OK_PREFIX, sorted(forbidden)))
    liar_id = ctx.mesh.self_info(liar)['id']
    for o in observers:
        m = ctx.members_view(o)['liar']
        expect(m['cert']['status'] == 'valid', '%s: the liar\'s certificate is valid' % o.name)
        unc = m['cert'].get('uncertified', [])
        for claim in (LIAR_BAD_PREFIX, LIAR_CLAIM + '/32', 'label env=prod', 'relay'):
            expect(claim in unc, '%s: members lists %s of the liar as uncertified (%s)' % (
                o.name, claim, unc))
        expect(LIAR_OK_PREFIX not in unc and 'label team=blue' not in unc,
               '%s: the certified claims are not (%s)' % (o.name, unc))
        dropped = [d['prefix'] for d in ctx.mesh.self_info(o).get('dropped_claims', [])
                   if d['id'] == liar_id and d['reason'] == 'uncertified']
        for claim in (LIAR_BAD_PREFIX, LIAR_CLAIM):
            expect(any(d.split('/')[0] == claim.split('/')[0] for d in dropped),
                   '%s: status dropped_claims has %s (uncertified): %s' % (o.name, claim, dropped))
        v6 = [a for a in ctx.mesh.self_info(liar)['overlay_addresses'] if ':' in a][0]
        expect(v6 in ctx.peers(o)[key]['allowed_ips'],
               '%s: the rest of the liar\'s advert is accepted (IPv6 overlay %s)' % (o.name, v6))
        expect(not m.get('relay'), '%s: the liar is not offered as a relay' % o.name)
        with open(o.log_path, errors='replace') as f:
            text = f.read()
        # one line per member and kind within 60 s (rate limit): the routed
        # claims (address, prefixes) share one, labels and relay have theirs
        for claim in ('(%s|%s)' % (re.escape(LIAR_BAD_PREFIX), re.escape(LIAR_CLAIM)),
                      'label env=prod', 'relay'):
            expect(re.search(r'%s\S* from liar\S*:? .*uncertified' % claim, text) is not None,
                   '%s logs the uncertified %s' % (o.name, claim))
    st = ctx.mesh.self_info(ctx.n['n1'])
    expect(st['authority']['claims_uncertified'] >= 4,
           'n1 counts the uncertified claims (%d)' % st['authority']['claims_uncertified'])


def case_forged(ctx):
    forgers = [ctx.n['mallory'], ctx.n['trudy']]
    time.sleep(bound(2 * SYNC_S))       # they had their chance to sync and gossip
    for f in forgers:
        alive = f.daemon.poll() is None
        log('%s: daemon %s' % (f.name, 'running' if alive else 'exited %s' % f.daemon.returncode))
        for o in ctx.good:
            ms = ctx.members_view(o)
            m = ms.get(f.name)
            expect(m is None or (m.get('cert') or {}).get('status') not in ('valid', None),
                   '%s: %s is not admitted (%s)' % (o.name, f.name, m and m.get('cert')))
        bad = not_peer_anywhere(ctx, ctx.good, ctx.keys[f.name])
        expect(not bad, '%s is nobody\'s WireGuard peer (%s)' % (f.name, bad))
    refused = sum(ctx.mesh.self_info(o)['authority']['certs_refused'] for o in ctx.good)
    ctx.results['certs_refused'] = refused
    expect(refused > 0, 'the forged adverts are counted as refused (certs_refused %d)' % refused)
    texts = []
    for o in ctx.good:
        with open(o.log_path, errors='replace') as f:
            texts.append(f.read())
    for f_ in forgers:
        pat = r'advert of %s \S+ refused: certificate invalid' % f_.name
        expect(any(re.search(pat, x) for x in texts),
               'the refused certificate of %s is logged' % f_.name)
    for f_ in forgers:
        ctx.mesh.crash(f_)      # gossamerd and its wireguard-go: the slot is reused


def ping_stream(src, dst_addr, count, interval):
    """Start `ping -c count -i interval` in src; returns the Popen."""
    return subprocess.Popen(src.argv(['ping', '-n', '-q', '-c', str(count), '-i', str(interval),
                                      '-W', '1', dst_addr]),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def ping_loss(p, timeout):
    out, _ = p.communicate(timeout=timeout)
    m = re.search(r'(\d+) packets transmitted, (\d+) (packets )?received', out)
    if not m:
        raise gsmnet.HarnessError('ping: %s' % out)
    return int(m.group(1)), int(m.group(2))


def v4_of(ctx, node):
    return [a for a in ctx.mesh.self_info(node)['overlay_addresses'] if '.' in a][0].split('/')[0]


def case_renew(ctx):
    n2, n3 = ctx.n['n2'], ctx.n['n3']
    old = ctx.mesh.self_info(n2)['authority']['self']
    addr = v4_of(ctx, n2)
    n3.run(['ping', '-c', '1', '-W', '5', addr])          # the tunnel is up
    p = ping_stream(n3, addr, 120, 0.05)                  # 6 s
    time.sleep(1.5)
    tmp = cert_path(n2) + '.new'
    ctx.auth.sign(n2, tmp, valid='365d')
    os.replace(tmp, cert_path(n2))
    ctx.cli.node(n2, ['reload'])
    sent, got = ping_loss(p, 30)
    ctx.results['renew_ping'] = (sent, got)
    expect(sent == 120 and got == sent, 'renewal under ping: %d of %d answered' % (got, sent))
    new = ctx.mesh.self_info(n2)['authority']['self']
    expect(new['serial'] != old['serial'] and new['expires'] > old['expires'],
           'n2 runs the new certificate (%s -> %s)' % (old['serial'], new['serial']))

    def everyone_sees():
        return all((ctx.cert_of(o, 'n2') or {}).get('serial') == new['serial']
                   for o in ctx.good if o is not n2)
    gsmnet.wait_until(everyone_sees, bound(10), 0.5, 'the new serial everywhere')
    expect(True, 'every node sees n2\'s new serial')
    expect(not wg_missing(ctx, ctx.good), 'no tunnel lost by the renewal')


def case_expiry(ctx, t):
    ex = ctx.n['expiring']
    observers = [o for o in ctx.good if o is not ex]
    c = ctx.cert_of(ctx.n['n1'], 'expiring')
    not_after = c['expires']
    left = not_after - time.time()
    log('expiring: certificate expires in %.1fs' % left)
    if left < 1:
        raise gsmnet.HarnessError('the short certificate expired before the check began '
                                  '(raise EXPIRING_S on this host)')
    expect(not not_missing_peer(ctx, observers, ex),
           'expiring is a peer everywhere before its expiry')
    time.sleep(max(0, not_after - time.time() - 1.5))   # then poll, not before
    gone = watch_peer_gone(ctx, observers, ctx.keys['expiring'], not_after - time.time()
                           + bound(SYNC_S + 10))
    worst = max(gone.values()) - not_after
    t.add('expiry-removal', worst)
    ctx.results['expiry_removal_s'] = worst
    shown = {o.name: ctx.cert_of(o, 'expiring')['status'] for o in observers[:3]}
    table = members_row(ctx, ctx.n['n1'], 'expiring')
    # renewal after the fact: a new certificate and a reload bring it back
    # (before any verdict, so that the later cases find a whole mesh)
    tmp = cert_path(ex) + '.new'
    ctx.auth.sign(ex, tmp)
    os.replace(tmp, cert_path(ex))
    ctx.cli.node(ex, ['reload'])
    took = wait_wg(ctx, ctx.good, bound(15), 'expiring back as a peer everywhere')
    t.add('renewed-back', took)
    expect(all(v == 'expired' for v in shown.values()), 'expiring shown expired (%s)' % shown)
    expect('expired' in table.split(), '`gossamer members` on n1 shows it: %s' % table)
    expect(worst <= bound(SYNC_S + 1), 'expired peer removed everywhere %.2fs after not_after '
           '(<= one sync interval + 1 s of clock granularity)' % worst)


def wait_wg(ctx, nodes, timeout, what):
    """Wait until every node of `nodes` has every other as a WireGuard
    peer; seconds taken, or raise with what is missing."""
    last = []

    def ok():
        last[:] = wg_missing(ctx, nodes)
        return not last
    try:
        return gsmnet.wait_until(ok, timeout, 0.5, what)[1]
    except gsmnet.HarnessError:
        raise gsmnet.HarnessError('%s: %s' % (what, '; '.join(last[:8])))


def members_row(ctx, observer, name):
    """The line of member `name` in `gossamer members --wide` on observer."""
    out = ctx.cli.node(observer, ['members', '--wide', '--color', 'never']).stdout
    rows = [ln for ln in out.splitlines() if name in ln.split()[:2]]
    return rows[0] if rows else '(no row for %s in: %s)' % (name, out)


def not_missing_peer(ctx, observers, node):
    return [o.name for o in observers if ctx.keys[node.name] not in ctx.peers(o)]


def watch_peer_gone(ctx, observers, key, timeout):
    """Poll every observer's WireGuard peers in parallel; {name: wall time
    the peer was first seen absent}.  Raises when one still has it."""
    out = {}
    deadline = time.monotonic() + timeout

    def one(o):
        while time.monotonic() < deadline:
            r = o.run(['wg', 'show', gsmnet.WG_IF, 'peers'], check=False)
            if r.returncode == 0 and key not in r.stdout.split():
                out[o.name] = time.time()
                return
            time.sleep(0.1)
    with concurrent.futures.ThreadPoolExecutor(len(observers)) as ex:
        list(ex.map(one, observers))
    late = [o.name for o in observers if o.name not in out]
    if late:
        raise gsmnet.HarnessError('peer still present after %.1fs on %s' % (timeout, late))
    return out


def case_join(ctx, t):
    jk = os.path.join(ctx.topo.workdir, 'burst.joinkey')
    ctx.cli.host(['authority', 'join-key', '--authority', ctx.auth.dir, '--valid', '1h',
                  '--max-lifetime', '2h', '--prefix', POOL, '--label', 'pool=*', '-o', jk])
    expect(os.stat(jk).st_mode & 0o077 == 0, 'the join key file is 0600')
    ctx.joinkey = jk
    node = fresh_node(ctx, 'mallory', 'joiner')
    base = ['cert', 'issue', '--join-key', jk, '--identity', identity_path(node),
            '--name', 'joiner', '--label', 'pool=burst', '-o', cert_path(node)]
    r = ctx.cli.host(base + ['--prefix', '10.9.0.0/24'], check=False)
    expect(r.returncode == 1 and 'pool' in (r.stderr + r.stdout),
           'a prefix outside the pool is refused at issue time: %s' % r.stderr.strip())
    r = ctx.cli.host(base + ['--prefix', JOINER_PREFIX, '--valid', '3h'], check=False)
    expect(r.returncode == 1 and 'lifetime' in (r.stderr + r.stdout),
           'a lifetime over the join key\'s maximum is refused: %s' % r.stderr.strip())
    expect(not os.path.exists(cert_path(node)), 'nothing was written for refused requests')
    ctx.cli.host(base + ['--prefix', JOINER_PREFIX, '--valid', '1h'])
    t0 = time.monotonic()
    start_certified(ctx, node, [ctx.n['n1']], ['--advertise-prefix', JOINER_PREFIX,
                                               '--label', 'pool=burst'])
    everyone = ctx.good + [node]
    t.add('join-key-node-joined', ctx.mesh.wait_converged(everyone, bound(30)))
    wait_wg(ctx, everyone, bound(20), 'the joiner is everyone\'s peer')
    log('joiner admitted %.1fs after its start' % (time.monotonic() - t0))
    for o in ctx.good:
        c = ctx.cert_of(o, 'joiner')
        expect(c['status'] == 'valid' and c['via_join_key'],
               '%s: the joiner\'s certificate is valid, via a join key' % o.name)
        p = ctx.peers(o)[ctx.keys['joiner']]
        expect(JOINER_PREFIX in p['allowed_ips'], '%s routes the joiner\'s %s' % (
            o.name, JOINER_PREFIX))
    ctx.good.append(node)


def mkcert_path():
    p = gsmnet.find_program('gsm-mkcert', 'tests/daemon') or os.environ.get('GSM_MKCERT')
    if not p:
        raise gsmnet.HarnessError('tests/daemon/gsm-mkcert not built (ninja tests/daemon/gsm-mkcert)')
    return p


def identity_hex(ctx, node):
    out = ctx.cli.host(['pubkey', 'identity', identity_path(node)]).stdout.split()[0]
    expect(re.fullmatch(r'[0-9a-f]{64}', out) is not None, 'the node id is 64 hex digits: %s'
           % out)
    return out


def join_sign(ctx, node, out, valid_s, options):
    """A chain signed with the join key by a holder who bypasses `gossamer
    cert issue` (tests/daemon/mkcert.c joinsign: no gsm_cert_within)."""
    r = gsmnet.sh([mkcert_path(), 'joinsign', ctx.joinkey, identity_hex(ctx, node), node.name,
                   str(valid_s)] + list(options), check=False)
    if r.returncode != 0:
        raise gsmnet.HarnessError('mkcert joinsign: %s' % r.stderr)
    with open(out + '.new', 'w') as f:
        f.write(r.stdout)
    os.replace(out + '.new', out)
    shown = ctx.cli.host(['cert', 'show', out], check=False)
    return shown.stdout + shown.stderr


def greedy_refused(ctx, node, mark, before, reason_re, what):
    """node is nobody's member (or not valid) nor WireGuard peer while the
    receivers log its refusal with reason_re and count it."""
    key = ctx.keys[node.name]
    seen = {}

    def logged():
        for o in ctx.good:
            if o.name not in seen:
                m = re.search(r'advert of %s \S+ refused: certificate invalid: ([^\n]*)' % node.name,
                              ctx.mesh.log_since(o, mark))
                if m and re.search(reason_re, m.group(1)):
                    seen[o.name] = m.group(1)
        return len(seen) >= 1
    end = time.monotonic() + bound(3 * SYNC_S + 2)
    while time.monotonic() < end:
        bad = not_peer_anywhere(ctx, ctx.good, key)
        if bad:
            raise gsmnet.HarnessError('%s (%s) became a peer of %s' % (node.name, what, bad))
        logged()
        time.sleep(0.5)
    expect(True, '%s (%s) stayed nobody\'s WireGuard peer for %.0fs' % (
        node.name, what, bound(3 * SYNC_S + 2)))
    for o in ctx.good:
        c = ctx.cert_of(o, node.name)
        expect(c is None or c['status'] != 'valid', '%s does not admit %s (%s)' % (
            o.name, node.name, c))
    expect(seen, 'the refusal of %s (%s) is logged with the reason: %s' % (
        node.name, what, sorted(seen.items())[:3]))
    after = {o.name: ctx.mesh.self_info(o)['authority']['certs_refused'] for o in ctx.good}
    more = [x for x in after if after[x] > before[x]]
    expect(more, '%s counted in certs_refused on %d nodes (%s)' % (node.name, len(more),
                                                                 more[:6]))
    return after


def case_overbroad(ctx, t):
    """A join-key holder signs, with the join key itself, certificates
    outside the key's limits (tests/daemon/mkcert.c joinsign, which skips
    gsm_cert_within): first a prefix outside the pool, then (file replaced
    + reload) a lifetime over max_lifetime.  The receivers apply the same
    rule and refuse it: never a member, never a peer."""
    if not getattr(ctx, 'joinkey', None):
        raise gsmnet.HarnessError('the join case failed: no join key')
    node = fresh_node(ctx, 'trudy', 'greedy')
    try:
        shown = join_sign(ctx, node, cert_path(node), 3600,
                          ['prefix=10.9.0.0/24', 'label=pool=burst'])
        expect('outside' in shown, '`gossamer cert show` flags the chain: %s' % (
            [ln for ln in shown.splitlines() if 'outside' in ln] or shown[-200:]))
        before = {o.name: ctx.mesh.self_info(o)['authority']['certs_refused'] for o in ctx.good}
        mark = ctx.mesh.log_mark(ctx.good)
        start_certified(ctx, node, [ctx.n['n1']], ['--label', 'pool=burst'])
        own = ctx.mesh.self_info(node)['authority']['self']
        log('greedy runs with its own certificate %s' % own.get('status'))
        before = greedy_refused(ctx, node, mark, before, r'outside the pool',
                                'prefix outside the pool')
        # a lifetime of 3 h under a join key whose maximum is 2 h
        mark = ctx.mesh.log_mark(ctx.good)
        shown = join_sign(ctx, node, cert_path(node), 3 * 3600,
                          ['prefix=172.31.66.0/24', 'label=pool=burst'])
        expect('lifetime' in shown, '`gossamer cert show` flags the lifetime')
        ctx.cli.node(node, ['reload'])
        greedy_refused(ctx, node, mark, before, r'lifetime', 'lifetime over the maximum')
    finally:
        ctx.mesh.crash(node)


def fresh_node(ctx, slot, name):
    """Reuse the namespace of a stopped node as a new machine: new name,
    state directory, identity and WireGuard key."""
    node = ctx.n.pop(slot)
    node.name = name
    node.state_dir = os.path.join(node.dir, 'state-' + name)
    os.makedirs(node.state_dir, mode=0o700)
    ctx.cli.host(['keygen', 'identity', '-o', identity_path(node)])
    priv, pub = gsmnet.wg_genkey()
    with os.fdopen(os.open(os.path.join(node.state_dir, 'wireguard.key'),
                           os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), 'w') as f:
        f.write(priv + '\n')
    ctx.keys[name] = pub
    ctx.n[name] = node
    node.daemon = None
    return node


def case_revoke(ctx, t):
    victim, n1, n3 = ctx.n['victim'], ctx.n['n1'], ctx.n['n3']
    observers = [o for o in ctx.good if o is not victim]
    expect(not not_missing_peer(ctx, observers, victim), 'victim is a peer everywhere')
    rev = ctx.auth.revoke(['victim'], os.path.join(ctx.topo.workdir, 'victim.rev'))
    mark = ctx.mesh.log_mark(observers)
    t0 = time.time()
    r = ctx.cli.node(n1, ['revoke', rev])
    expect('new' in r.stdout, 'n1 accepts the revocation: %s' % r.stdout.strip())
    gone = watch_peer_gone(ctx, observers, ctx.keys['victim'], bound(15))
    worst = max(gone.values()) - t0
    t.add('revocation-propagation', worst)
    ctx.results['revocation_propagation_s'] = worst
    ctx.results['revocation_per_node_s'] = {k: round(v - t0, 2) for k, v in gone.items()}
    log('revocation: peer gone per node (s): %s' % ctx.results['revocation_per_node_s'])
    expect(worst <= bound(3 * SYNC_S), 'the revoked peer is gone from all %d nodes in %.2fs' % (
        len(observers), worst))
    again = ctx.cli.node(ctx.n['n5'], ['revoke', rev]).stdout
    expect('already' in again, 'a second injection is known already: %s' % again.strip())
    for o in observers:
        gsmnet.wait_until(lambda: ctx.mesh.self_info(o)['authority']['revocations'] == 1,
                          bound(10), 0.3, '%s holds the revocation' % o.name)
    expect(True, 'every node holds the revocation')
    for o in observers[:4]:
        expect((ctx.cert_of(o, 'victim') or {'status': 'revoked'})['status'] == 'revoked',
               '%s shows victim as revoked' % o.name)
        expect(re.search(r'revo', ctx.mesh.log_since(o, mark), re.I) is not None,
               '%s logs the revocation' % o.name)
    row = members_row(ctx, n1, 'victim')
    expect('revoked' in row.split(), '`gossamer members` on n1 shows it: %s' % row)
    ctx.good.remove(victim)
    # restarts: the victim (same certificate) and n3 (which must reload the
    # revocation from its state directory before it joins)
    gsmnet.wait_until(lambda: os.path.exists(os.path.join(n3.state_dir, 'revocations')),
                      bound(5), 0.2, 'n3 persists the revocation')
    expect(True, 'n3 persisted the revocation in its state directory')
    ctx.mesh.kill(victim)
    ctx.mesh.kill(n3)
    start_certified(ctx, n3, [n1])
    expect(ctx.mesh.self_info(n3)['authority']['revocations'] == 1,
           'n3 holds the revocation right after its restart')
    start_certified(ctx, victim, [n1], wait=False)
    end = time.monotonic() + bound(3 * SYNC_S + 2)
    while time.monotonic() < end:
        bad = not_peer_anywhere(ctx, ctx.good, ctx.keys['victim'])
        if bad:
            raise gsmnet.HarnessError('the restarted victim became a peer of %s' % bad)
        time.sleep(0.5)
    expect(not not_peer_anywhere(ctx, ctx.good, ctx.keys['victim']),
           'the restarted victim stayed out for %.0fs' % bound(3 * SYNC_S + 2))
    wait_wg(ctx, ctx.good, bound(20), 'n3 back as everyone\'s peer')


def case_partition(ctx, t):
    liar, n11, n1 = ctx.n['liar'], ctx.n[ctx.regular[-1].name], ctx.n['n1']
    side_a = [n11, liar]
    # everything else that runs, the revoked victim included (it must not
    # carry the news to the other side)
    side_b = [o for o in ctx.n.values() if o.daemon and o.daemon.poll() is None
              and o not in side_a]
    observers_b = [o for o in ctx.good if o not in side_a]
    serial = [x[0] for x in ctx.auth.issued() if x[1] == 'node' and x[3] == 'liar'][0]
    rev = ctx.auth.revoke([serial], os.path.join(ctx.topo.workdir, 'liar.rev'))
    ctx.topo.partition(side_a, side_b, tag='revocation')
    time.sleep(0.5)
    ctx.cli.node(n1, ['revoke', rev])
    gsmnet.wait_until(lambda: all(ctx.mesh.self_info(o)['authority']['revocations'] == 2
                                  for o in observers_b), bound(15), 0.3, 'side B holds it')
    expect(ctx.mesh.self_info(n11)['authority']['revocations'] == 1,
           '%s (partitioned) has not heard of it' % n11.name)
    expect(ctx.keys['liar'] in ctx.peers(n11), '%s still has the liar as a peer' % n11.name)
    ctx.topo.heal('revocation')
    t0 = time.monotonic()
    took = gsmnet.wait_until(
        lambda: (ctx.mesh.self_info(n11)['authority']['revocations'] == 2
                 and ctx.keys['liar'] not in ctx.peers(n11)),
        bound(20), 0.2, '%s learns the revocation on heal' % n11.name)[1]
    t.add('revocation-heal', took)
    ctx.results['revocation_heal_s'] = took
    expect(True, '%s learned the revocation %.2fs after the heal and dropped the liar'
           % (n11.name, time.monotonic() - t0))
    ctx.good.remove(liar)
    gsmnet.wait_until(lambda: not not_peer_anywhere(ctx, ctx.good, ctx.keys['liar']),
                      bound(10), 0.5, 'the liar is nobody\'s peer')


def case_join_revoked(ctx, t):
    joiner = ctx.n['joiner']
    if joiner not in ctx.good:
        raise gsmnet.HarnessError('the join case failed: no node certified by the join key')
    serial = [x[0] for x in ctx.auth.issued() if x[1] == 'join'][0]
    rev = ctx.auth.revoke([serial], os.path.join(ctx.topo.workdir, 'joinkey.rev'))
    ctx.cli.node(ctx.n['n1'], ['revoke', rev])
    ctx.good.remove(joiner)
    watch_peer_gone(ctx, ctx.good, ctx.keys['joiner'], bound(15))
    expect(True, 'the node certified through the revoked join key is removed everywhere')
    node = fresh_node(ctx, 'trudy' if 'trudy' in ctx.n else 'greedy', 'joiner2')
    start_certified(ctx, node, [ctx.n['n1']], ['--join-key', ctx.joinkey, '--label',
                                               'pool=burst'])
    own = ctx.mesh.self_info(node)['authority']['self']
    log('joiner2 issued itself serial %s' % own.get('serial'))
    end = time.monotonic() + bound(3 * SYNC_S + 2)
    while time.monotonic() < end:
        bad = not_peer_anywhere(ctx, ctx.good, ctx.keys['joiner2'])
        if bad:
            raise gsmnet.HarnessError('joiner2 became a peer of %s' % bad)
        time.sleep(0.5)
    for o in ctx.good[:4]:
        c = ctx.cert_of(o, 'joiner2')
        expect(c is None or c['status'] != 'valid', '%s does not admit joiner2 (%s)' % (
            o.name, c))
    expect(True, 'a node with the revoked join key stays out for %.0fs' % bound(3 * SYNC_S + 2))


def body(topo, t, n_nodes):
    ctx = setup(topo, n_nodes)
    start_mesh(ctx, t)
    cases = [('claims', case_claims), ('forged', case_forged), ('renew', case_renew),
             ('expiry', lambda c: case_expiry(c, t)), ('join', lambda c: case_join(c, t)),
             ('overbroad', lambda c: case_overbroad(c, t)),
             ('revoke', lambda c: case_revoke(c, t)),
             ('partition', lambda c: case_partition(c, t)),
             ('join-revoked', lambda c: case_join_revoked(c, t))]
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
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--nodes', type=int, default=16)
    args = ap.parse_args()
    if args.nodes < 8:
        ap.error('--nodes must be >= 8')
    return gsmnet.run_scenario('authority', lambda topo, t: body(topo, t, args.nodes))


if __name__ == '__main__':
    sys.exit(main())
