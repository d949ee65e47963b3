#!/usr/bin/env python3
"""gsmnet: multi-node integration harness for gossamer (Python 3 stdlib only).

What
    Builds throw-away network topologies out of Linux network namespaces and
    runs one gossamerd (or, for the harness self-test, a bare WireGuard
    interface) in each node:

      * an "internet": a bridge ``br0`` in its own namespace; every public host
        and every NAT router hangs off it with a veth pair (port ``p-<node>``),
        10.250.0.0/16 and fd00:250::/64;
      * sites: a router namespace with a WAN leg on the internet bridge and a
        LAN bridge (10.251.<site>.0/24); nodes behind it reach the internet
        through nftables masquerade (``masquerade random`` for a symmetric
        NAT) and the router drops unsolicited new inbound UDP on its WAN side,
        like a home router does;
      * per node: a network namespace, a private mount namespace in which
        /run/wireguard and /run/gossamer are bind mounts of the node's own
        directories (wireguard-go's UAPI socket /var/run/wireguard/<if>.sock
        is therefore per node, and ``wg`` run inside the node finds it), a
        state directory and a log file.

    A long-lived "holder" process (``sleep``) pins each node's namespaces;
    everything inside a node runs through ``nsenter -t <holder> -m -n``.

Why this shape
    The kernel has no netem here, so faults are nftables rules: partitions and
    cut links are drop rules between bridge ports in the internet namespace
    (``table bridge gsmfault``), random loss is ``numgen random mod 100 < N``
    on the same forward chain, so every link sees it once per traversal.
    Isolation of a node is its bridge port going down.  All traffic stays in
    namespaces this harness created.

Cleanup
    Every name starts with a per-run prefix (``gsmt-<pid>-`` by default).
    Teardown kills the processes this run started and every process that
    lives in one of its namespaces (``ip netns pids``), then deletes exactly
    its namespaces.  ``gc_stale()`` removes namespaces of earlier runs whose
    harness pid no longer exists (only names of the ``gsmt-<pid>-`` form).
    A detached topology (the demo) writes ``topology.json`` into its work
    directory; ``gsmnet.py down <workdir>`` removes exactly what it lists.

The module is also a small command line tool; see ``gsmnet.py --help``.
"""

import argparse
import base64
import concurrent.futures
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

SKIP = 77

INET_V4 = '10.250.0.0/16'
INET_V6 = 'fd00:250::/64'
OVERLAY_V4 = '10.77.0.0/16'
OVERLAY_V6 = 'fd00:77::/64'


def log(*a):
    print('[%7.2f]' % (time.monotonic() - _T0), *a, flush=True)


_T0 = time.monotonic()


class HarnessError(Exception):
    pass


def sh(argv, check=True, timeout=30, capture=True, input=None):
    """Run a host command; returns CompletedProcess (text)."""
    try:
        r = subprocess.run(argv, check=False, timeout=timeout, text=True,
                           input=input,
                           stdout=subprocess.PIPE if capture else None,
                           stderr=subprocess.PIPE if capture else None)
    except subprocess.TimeoutExpired as e:
        raise HarnessError('timeout after %ss: %s' % (timeout, ' '.join(argv))) from e
    if check and r.returncode != 0:
        raise HarnessError('%s: exit %d: %s' % (' '.join(argv), r.returncode,
                                                (r.stderr or '').strip()))
    return r


def requirements(backend='userspace'):
    """Returns None when this host can run the harness, else a reason."""
    if os.geteuid() != 0:
        return 'needs root'
    for tool in ('ip', 'nft', 'nsenter', 'unshare', 'ping', 'wg'):
        if not shutil.which(tool):
            return 'missing tool %s' % tool
    if backend == 'userspace':
        if not shutil.which('wireguard-go'):
            return 'missing wireguard-go'
        if not os.path.exists('/dev/net/tun'):
            return 'no /dev/net/tun'
    try:
        sh(['ip', 'netns', 'add', 'gsmt-%d-probe' % os.getpid()])
        sh(['ip', 'netns', 'del', 'gsmt-%d-probe' % os.getpid()])
    except HarnessError as e:
        return 'cannot create network namespaces: %s' % e
    try:
        sh(['unshare', '-m', '--propagation', 'private', 'true'])
    except HarnessError as e:
        return 'cannot create mount namespaces: %s' % e
    return None


def kernel_wireguard_available():
    """True when `ip link add type wireguard` works on this kernel."""
    ns = 'gsmt-%d-kprobe' % os.getpid()
    try:
        sh(['ip', 'netns', 'add', ns])
    except HarnessError:
        return False
    try:
        r = sh(['ip', '-n', ns, 'link', 'add', 'wgprobe', 'type', 'wireguard'], check=False)
        return r.returncode == 0
    finally:
        sh(['ip', 'netns', 'del', ns], check=False)


def gc_stale(prefix_re=r'^gsmt-(\d+)-'):
    """Delete namespaces of dead earlier runs (name prefix gsmt-<pid>-)."""
    r = sh(['ip', 'netns', 'list'], check=False)
    for line in (r.stdout or '').splitlines():
        name = line.split()[0] if line.split() else ''
        m = re.match(prefix_re, name)
        if not m or os.path.exists('/proc/%s' % m.group(1)):
            continue
        _kill_ns_pids(name)
        sh(['ip', 'netns', 'del', name], check=False)


def _ns_pids(ns):
    r = sh(['ip', 'netns', 'pids', ns], check=False)
    return [int(p) for p in (r.stdout or '').split() if p.isdigit()]


def _kill_ns_pids(ns):
    pids = [p for p in _ns_pids(ns) if p != os.getpid()]
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return pids


def _gone(pid):
    """True when pid no longer runs (exited, or a zombie nobody reaped yet:
    pid 1 of some containers never reaps)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] in ('Z', 'X')
    except (OSError, IndexError):
        return True


def _wait_pids_gone(pids, timeout=5.0):
    end = time.monotonic() + timeout
    for p in pids:
        while time.monotonic() < end:
            try:
                os.waitpid(p, os.WNOHANG)
            except ChildProcessError:
                pass
            if _gone(p):
                break
            time.sleep(0.02)
    _reap_orphans()


def _become_subreaper():
    """Orphans of our processes (wireguard-go after its gossamerd was
    killed) become our children, so we reap them instead of leaving
    zombies under a pid 1 that may not reap."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)   # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def _reap_orphans():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def wg_genkey():
    """(private, public) base64 WireGuard keys, via `wg`."""
    priv = sh(['wg', 'genkey']).stdout.strip()
    pub = sh(['wg', 'pubkey'], input=priv + '\n').stdout.strip()
    return priv, pub


class Site:
    """A NAT router namespace with a LAN bridge."""

    def __init__(self, topo, name, index, nat):
        self.topo = topo
        self.name = name
        self.index = index
        self.nat = nat            # 'cone' or 'symmetric'
        self.ns = topo.prefix + name
        self.wan4 = '10.250.2.%d' % index
        self.wan6 = 'fd00:250::2:%x' % index
        self.lan_net = '10.251.%d' % index
        self.lan4 = '10.251.%d.1' % index
        self.port = 'p-' + name
        self.nodes = []

    def to_json(self):
        return {'name': self.name, 'index': self.index, 'nat': self.nat, 'ns': self.ns,
                'wan4': self.wan4}


class Node:
    """One machine: a network namespace + private mount namespace."""

    def __init__(self, topo, name, index, site=None):
        self.topo = topo
        self.name = name
        self.index = index
        self.site = site
        self.ns = topo.prefix + name
        self.dir = os.path.join(topo.workdir, name)
        self.wgrun = os.path.join(self.dir, 'run-wireguard')
        self.gsmrun = os.path.join(self.dir, 'run-gossamer')
        self.state_dir = os.path.join(self.dir, 'state')
        self.log_path = os.path.join(self.dir, 'gossamerd.log')
        self.config_path = os.path.join(self.dir, 'gossamerd.conf')
        # The daemon's control socket is /run/gossamer/gossamerd.sock inside
        # the node (its default); from the host it is socket_path, and the
        # harness connects through /proc/<holder>/root (short, whatever the
        # work directory's length: sun_path has 108 bytes).
        self.socket_path = os.path.join(self.gsmrun, 'gossamerd.sock')
        self.inner_socket = '/run/gossamer/gossamerd.sock'
        if site is None:
            self.addr4 = '10.250.1.%d' % index
            self.addr6 = 'fd00:250::1:%x' % index
            self.port = 'p-' + name
        else:
            self.addr4 = '%s.%d' % (site.lan_net, 10 + index)
            self.addr6 = None
            self.port = None          # behind the site's LAN bridge
        self.holder = None            # pid of the namespace holder
        self.daemon = None            # subprocess.Popen of gossamerd
        self.extra = {}               # free-form per-scenario data

    # -- running things inside the node ------------------------------------
    def argv(self, argv):
        # -r -w: keep the holder's root and cwd.  setns() into a mount
        # namespace resets both to the namespace's root, which is not `/`
        # when the harness itself runs chrooted (the kernel VM does that).
        return ['nsenter', '-t', str(self.holder), '-m', '-n', '-r', '-w', '--'] + list(argv)

    def run(self, argv, check=True, timeout=30, input=None):
        return sh(self.argv(argv), check=check, timeout=timeout, input=input)

    def popen(self, argv, logfile=None, env=None):
        out = open(logfile, 'ab') if logfile else subprocess.DEVNULL
        try:
            p = subprocess.Popen(self.argv(argv), stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=subprocess.STDOUT,
                                 env=env, start_new_session=True)
        finally:
            if logfile:
                out.close()
        self.topo._procs.append(p.pid)
        return p

    # -- control socket ------------------------------------------------------
    def control(self, cmd, timeout=5.0, **args):
        """One request on the daemon's control socket; returns `result`,
        raises HarnessError on failure (with the daemon's error)."""
        req = dict(args)
        req['cmd'] = cmd
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            path = self.socket_path
            if len(path) > 100:
                path = '/proc/%d/root%s' % (self.holder, self.inner_socket)
            s.connect(path)
            s.sendall((json.dumps(req) + '\n').encode())
            buf = b''
            while not buf.endswith(b'\n'):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        except OSError as e:
            raise HarnessError('%s: control %s: %s' % (self.name, cmd, e)) from e
        finally:
            s.close()
        try:
            resp = json.loads(buf.decode())
        except ValueError as e:
            raise HarnessError('%s: control %s: bad reply %r' % (self.name, cmd, buf[:200])) from e
        if not resp.get('ok'):
            raise HarnessError('%s: control %s: %s (%s)' % (self.name, cmd, resp.get('error'),
                                                          resp.get('code')))
        return resp.get('result')

    def try_control(self, cmd, **args):
        try:
            return self.control(cmd, **args)
        except HarnessError:
            return None

    # -- WireGuard view ------------------------------------------------------
    def wg_dump(self, ifname):
        """`wg show <if> dump` parsed: {'private','public','port', 'peers':
        {pubkey: {'endpoint', 'allowed_ips': [..], 'latest_handshake', ...}}}
        or None when the interface does not exist."""
        r = self.run(['wg', 'show', ifname, 'dump'], check=False)
        if r.returncode != 0:
            return None
        lines = r.stdout.strip().splitlines()
        if not lines:
            return None
        f = lines[0].split('\t')
        out = {'private': f[0], 'public': f[1], 'port': int(f[2]), 'peers': {}}
        for line in lines[1:]:
            f = line.split('\t')
            out['peers'][f[0]] = {
                'endpoint': None if f[2] == '(none)' else f[2],
                'allowed_ips': [] if f[3] == '(none)' else sorted(f[3].split(',')),
                'latest_handshake': int(f[4]),
                'rx': int(f[5]), 'tx': int(f[6]),
                'keepalive': 0 if f[7] == 'off' else int(f[7]),
            }
        return out

    def to_json(self):
        return {'name': self.name, 'index': self.index, 'ns': self.ns,
                'site': self.site.name if self.site else None,
                'addr4': self.addr4, 'addr6': self.addr6, 'holder': self.holder,
                'dir': self.dir, 'socket': self.socket_path, 'log': self.log_path,
                'daemon_pid': self.daemon.pid if self.daemon else None,
                'extra': self.extra}

    def __repr__(self):
        return 'Node(%s)' % self.name


class Topology:
    """A set of namespaces; use as a context manager (tears down on exit)."""

    def __init__(self, workdir, prefix=None, detached=False):
        self.prefix = prefix or 'gsmt-%d-' % os.getpid()
        if len(self.prefix) > 40:
            raise HarnessError('prefix too long')
        self.workdir = os.path.abspath(workdir)
        self.detached = detached
        self.inet_ns = self.prefix + 'inet'
        self.nodes = []
        self.sites = []
        self._namespaces = []
        self._procs = []
        self._holders = []
        self._torn = False
        self._fault_table = False
        os.makedirs(self.workdir, exist_ok=True)

    # -- lifecycle -----------------------------------------------------------
    def __enter__(self):
        if not self.detached:
            _become_subreaper()
        self._prev_term = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, self._on_term)
        try:
            self._create_inet()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc):
        if not self.detached:
            self.teardown()
        signal.signal(signal.SIGTERM, self._prev_term or signal.SIG_DFL)
        return False

    def _on_term(self, signum, frame):
        log('harness: SIGTERM, tearing down')
        self.teardown()
        sys.exit(1)

    def _add_ns(self, ns):
        sh(['ip', 'netns', 'add', ns])
        self._namespaces.append(ns)
        sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
        self._save()

    def _create_inet(self):
        self._add_ns(self.inet_ns)
        sh(['ip', '-n', self.inet_ns, 'link', 'add', 'br0', 'type', 'bridge'])
        # No STP, no forwarding delay: ports forward as soon as they are up.
        sh(['ip', '-n', self.inet_ns, 'link', 'set', 'br0', 'type', 'bridge',
            'stp_state', '0', 'forward_delay', '0'], check=False)
        sh(['ip', '-n', self.inet_ns, 'link', 'set', 'br0', 'up'])

    def _ensure_fault_table(self):
        # Created on first use: scenarios without faults need no nftables.
        if not self._fault_table:
            self._nft(self.inet_ns, 'add table bridge gsmfault\n'
                      'add chain bridge gsmfault gsmfwd { type filter hook forward priority 0; '
                      'policy accept; }\n')
            self._fault_table = True

    def _nft(self, ns, script):
        sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], input=script)

    def _start_holder(self, node_or_ns, node_dir=None):
        """Holder process: pins a private mount namespace in which the node's
        own directories are mounted over /run/wireguard and /run/gossamer."""
        ns = node_or_ns
        binds = ''
        if node_dir:
            binds = ('mkdir -p /run/wireguard /run/gossamer && '
                     'mount --bind %s/run-wireguard /run/wireguard && '
                     'mount --bind %s/run-gossamer /run/gossamer && ' % (node_dir, node_dir))
        script = binds + 'echo ready && exec sleep infinity'
        p = subprocess.Popen(['ip', 'netns', 'exec', ns, 'unshare', '-m', '--propagation',
                              'private', '--', 'sh', '-c', script],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
        line = p.stdout.readline()
        if line.strip() != b'ready':
            err = p.stderr.read() if p.poll() is not None else b''
            p.kill()
            raise HarnessError('holder for %s failed: %s' % (ns, err.decode(errors='replace')))
        p.stdout.close()
        p.stderr.close()
        self._holders.append(p.pid)
        return p.pid

    def add_site(self, name=None, nat='cone'):
        """A NAT router on the internet bridge with a LAN bridge behind it.
        nat: 'cone' (masquerade, port preserving when it can) or 'symmetric'
        (masquerade random: a new random port per destination)."""
        index = len(self.sites) + 1
        site = Site(self, name or 'r%d' % index, index, nat)
        ns = site.ns
        self._add_ns(ns)
        self._veth_to_bridge(ns, 'eth0', site.port)
        sh(['ip', '-n', ns, 'addr', 'add', site.wan4 + '/16', 'dev', 'eth0'])
        sh(['ip', '-n', ns, 'addr', 'add', site.wan6 + '/64', 'dev', 'eth0', 'nodad'])
        sh(['ip', '-n', ns, 'link', 'set', 'eth0', 'up'])
        sh(['ip', '-n', ns, 'link', 'add', 'lan0', 'type', 'bridge'])
        sh(['ip', '-n', ns, 'link', 'set', 'lan0', 'type', 'bridge', 'stp_state', '0',
            'forward_delay', '0'], check=False)
        sh(['ip', '-n', ns, 'addr', 'add', site.lan4 + '/24', 'dev', 'lan0'])
        sh(['ip', '-n', ns, 'link', 'set', 'lan0', 'up'])
        sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
        masq = 'masquerade random' if nat == 'symmetric' else 'masquerade'
        self._nft(ns, (
            'table inet gsmnat {\n'
            '  chain gsmpost { type nat hook postrouting priority 100; oifname "eth0" %s; }\n'
            '  chain gsmfwd { type filter hook forward priority 0; policy accept;\n'
            '    iifname "eth0" ct state established,related accept\n'
            '    iifname "eth0" drop\n'
            '  }\n'
            '  chain gsmin { type filter hook input priority 0; policy accept;\n'
            '    iifname "eth0" meta l4proto udp ct state new counter drop\n'
            '  }\n'
            '}\n') % masq)
        self.sites.append(site)
        self._save()
        return site

    def _veth_to_bridge(self, ns, inner, port, bridge_ns=None, bridge='br0'):
        bns = bridge_ns or self.inet_ns
        sh(['ip', '-n', bns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', inner,
            'netns', ns])
        sh(['ip', '-n', bns, 'link', 'set', port, 'master', bridge])
        sh(['ip', '-n', bns, 'link', 'set', port, 'up'])

    def add_node(self, name=None, site=None):
        index = len(self.nodes) + 1
        node = Node(self, name or 'n%d' % index, index, site)
        for d in (node.dir, node.wgrun, node.gsmrun, node.state_dir):
            os.makedirs(d, exist_ok=True)
        os.chmod(node.gsmrun, 0o755)
        self._add_ns(node.ns)
        if site is None:
            self._veth_to_bridge(node.ns, 'eth0', node.port)
            sh(['ip', '-n', node.ns, 'addr', 'add', node.addr4 + '/16', 'dev', 'eth0'])
            sh(['ip', '-n', node.ns, 'addr', 'add', node.addr6 + '/64', 'dev', 'eth0', 'nodad'])
        else:
            self._veth_to_bridge(node.ns, 'eth0', 'l-' + node.name, bridge_ns=site.ns,
                                 bridge='lan0')
            sh(['ip', '-n', node.ns, 'addr', 'add', node.addr4 + '/24', 'dev', 'eth0'])
            site.nodes.append(node)
        sh(['ip', '-n', node.ns, 'link', 'set', 'eth0', 'up'])
        if site is not None:
            sh(['ip', '-n', node.ns, 'route', 'add', 'default', 'via', site.lan4])
        node.holder = self._start_holder(node.ns, node.dir)
        self.nodes.append(node)
        self._save()
        return node

    def node(self, name):
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(name)

    def _save(self):
        state = {'prefix': self.prefix, 'workdir': self.workdir,
                 'namespaces': self._namespaces, 'holders': self._holders,
                 'procs': self._procs,
                 'nodes': [n.to_json() for n in self.nodes],
                 'sites': [s.to_json() for s in self.sites]}
        tmp = os.path.join(self.workdir, 'topology.json.tmp')
        with open(tmp, 'w') as f:
            json.dump(state, f, indent=1)
        os.replace(tmp, os.path.join(self.workdir, 'topology.json'))

    def save(self):
        self._save()

    def teardown(self):
        if self._torn:
            return
        self._torn = True
        teardown_state({'namespaces': self._namespaces, 'holders': self._holders,
                        'procs': self._procs})

    # -- faults --------------------------------------------------------------
    def _ports(self, members):
        ports = []
        for m in members:
            if isinstance(m, Site):
                ports.append(m.port)
            elif m.site is not None:
                ports.append(m.site.port)
            else:
                ports.append(m.port)
        return ports

    def _fault_rule(self, rule, comment):
        self._ensure_fault_table()
        self._nft(self.inet_ns, 'add rule bridge gsmfault gsmfwd %s counter drop comment "%s"\n' % (rule, comment))

    def partition(self, a, b, tag='partition'):
        """Drop everything between the bridge ports of groups a and b (nodes
        behind a site are represented by their router's port)."""
        pa = ' , '.join('"%s"' % p for p in sorted(set(self._ports(a))))
        pb = ' , '.join('"%s"' % p for p in sorted(set(self._ports(b))))
        self._fault_rule('iifname { %s } oifname { %s }' % (pa, pb), tag)
        self._fault_rule('iifname { %s } oifname { %s }' % (pb, pa), tag)

    def cut(self, x, y, tag='cut'):
        """Cut the link between two nodes (both directions)."""
        self.partition([x], [y], tag)

    def set_loss(self, percent, tag='loss'):
        """Random loss of `percent`% of the frames crossing the internet
        bridge (each link, each direction)."""
        self._fault_rule('numgen random mod 100 < %d' % int(percent), tag)

    def heal(self, tag=None):
        """Remove fault rules (all, or those with comment `tag`)."""
        if not self._fault_table:
            return
        if tag is None:
            self._nft(self.inet_ns, 'flush chain bridge gsmfault gsmfwd\n')
            return
        r = sh(['ip', 'netns', 'exec', self.inet_ns, 'nft', '-a', 'list', 'chain', 'bridge',
                'gsmfault', 'gsmfwd'])
        for line in r.stdout.splitlines():
            m = re.search(r'comment "([^"]*)" # handle (\d+)', line)
            if m and m.group(1) == tag:
                sh(['ip', 'netns', 'exec', self.inet_ns, 'nft', 'delete', 'rule', 'bridge',
                    'gsmfault', 'gsmfwd', 'handle', m.group(2)])

    def isolate(self, node, down=True):
        """Take a node's (or site's) bridge port down / up."""
        port = self._ports([node])[0]
        sh(['ip', '-n', self.inet_ns, 'link', 'set', port, 'down' if down else 'up'])

    # -- checks --------------------------------------------------------------
    def ping_matrix(self, targets, sources=None, deadline=3, retry_deadline=11, workers=None):
        """Ping every target address of every other node from every source.

        targets: {node: [addr, ...]} (e.g. overlay v4 and v6 addresses).
        Each ping is `ping -c 1 -w deadline -i 0.2`: it succeeds as soon as
        one reply comes back (the first packets may trigger a handshake).
        Pairs that failed are tried once more with `retry_deadline` (longer
        than two of WireGuard's 5 s handshake retries: a lost or crossed
        initiation is normal).  Returns (ok_count, failures): failures is a
        list of (src, dst, addr) names."""
        sources = sources or list(targets.keys())
        todo = {s: [(d, a) for d, addrs in targets.items() if d is not s for a in addrs]
                for s in sources}
        ok = 0
        failures = []
        for dl in (deadline, retry_deadline):
            ok_round, failures = self._ping_round(todo, dl, workers)
            ok += ok_round
            if not failures or not retry_deadline:
                break
            todo = {}
            for sname, dname, addr in failures:
                todo.setdefault(self.node(sname), []).append((self.node(dname), addr))
        return ok, failures

    def _ping_round(self, todo, deadline, workers, stagger=0.1):
        # Source k starts k*stagger seconds after the first: when two idle
        # peers ping each other at the same instant their WireGuard handshake
        # initiations cross, both are dropped in favour of the responder
        # state, and the tunnel only comes up at the 5 s retry.
        jobs = []
        for k, (s, pairs) in enumerate(sorted(todo.items(), key=lambda kv: kv[0].index)):
            lines = ['sleep %.2f' % (k * stagger)] if k else []
            for d, a in pairs:
                lines.append('(ping -n -q -c 1 -i 0.2 -w %d %s >/dev/null 2>&1 '
                             '&& echo "ok %s %s" || echo "fail %s %s") &'
                             % (deadline, addr_only(a), d.name, a, d.name, a))
            lines.append('wait')
            jobs.append((s, '\n'.join(lines)))
        ok = 0
        failures = []
        workers = workers or min(len(jobs), 32) or 1

        def one(job):
            s, script = job
            r = sh(['nsenter', '-t', str(s.holder), '-n', '--', 'sh', '-c', script],
                   check=False, timeout=deadline * 4 + stagger * len(jobs) + 60)
            return s, r.stdout

        with concurrent.futures.ThreadPoolExecutor(workers) as ex:
            for s, out in ex.map(one, jobs):
                for line in out.splitlines():
                    f = line.split()
                    if len(f) != 3:
                        continue
                    if f[0] == 'ok':
                        ok += 1
                    else:
                        failures.append((s.name, f[1], f[2]))
        return ok, failures


def teardown_state(state, own_children=True):
    """Kill what a topology started and delete its namespaces.

    Everything the harness starts lives in one of its namespaces, so the
    namespaces' pids are what gets killed.  The recorded pids are signalled
    too only when they are our own unreaped children (they cannot have been
    reused then); a detached topology torn down later from topology.json
    (own_children=False) never signals a pid from the file: it may belong to
    someone else by now."""
    pids = []
    for ns in state.get('namespaces', []):
        pids += _kill_ns_pids(ns)
    for p in (list(state.get('procs', [])) + list(state.get('holders', []))
              if own_children else []):
        try:
            if os.waitpid(p, os.WNOHANG) != (0, 0):
                continue          # already exited and now reaped
        except ChildProcessError:
            continue              # not our child
        try:
            os.kill(p, signal.SIGKILL)
            pids.append(p)
        except ProcessLookupError:
            pass
    _wait_pids_gone(pids)
    for ns in reversed(state.get('namespaces', [])):
        sh(['ip', 'netns', 'del', ns], check=False)


# Bounds in scenarios are seconds before scaling by GSM_NET_SLOWDOWN (slow
# hosts such as the TCG-emulated VM).
SLOWDOWN = float(os.environ.get('GSM_NET_SLOWDOWN', '1'))


def bound(s):
    return s * SLOWDOWN


def expect(cond, msg):
    """A scenario check: raise HarnessError when it fails, log it when it holds."""
    if not cond:
        raise HarnessError('check failed: ' + msg)
    log('ok: ' + msg)


def wait_until(pred, timeout, interval=0.2, what='condition'):
    """Poll pred() until it returns a truthy value; returns (value, seconds).
    Raises HarnessError on timeout (with the last value)."""
    t0 = time.monotonic()
    last = None
    while True:
        last = pred()
        if last:
            return last, time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise HarnessError('timed out after %.1fs waiting for %s' % (timeout, what))
        time.sleep(interval)


def b64key_to_hex(k):
    return base64.b64decode(k).hex()


def addr_only(cidr):
    return cidr.split('/')[0]


def is_v6(a):
    return ipaddress.ip_address(addr_only(a)).version == 6


# -- gossamerd on top of a topology -------------------------------------------

GOSSIP_PORT = 51821
WG_PORT = 51820
WG_IF = 'gsm0'


def find_program(name, build_subdir):
    """A program from the build tree ($GSM_BUILD_ROOT/<subdir>/<name>), or
    from GSM_<NAME> in the environment, or from PATH."""
    env = os.environ.get('GSM_' + name.upper())
    if env:
        return env
    br = os.environ.get('GSM_BUILD_ROOT')
    if br:
        p = os.path.join(br, build_subdir, name)
        if os.access(p, os.X_OK):
            return p
    return shutil.which(name)


class Mesh:
    """Runs gossamerd in nodes of a Topology with test-friendly timers.

    backend: 'userspace' (gossamerd spawns wireguard-go in the node) or
    'kernel'.  Timers: probe_interval 200 ms makes SWIM detect a dead node in
    a few seconds instead of tens; sync 3 s; dead/left grace short so peer
    sets follow membership quickly."""

    def __init__(self, topo, backend='userspace', probe_interval='200ms', sync_interval='3s',
                 dead_grace='2s', left_grace='1s', log_level='info', extra_flags=None,
                 gossamerd=None, underlay6=False):
        self.topo = topo
        self.backend = backend
        self.underlay6 = underlay6     # seeds by their IPv6 underlay address
        self.gossamerd = gossamerd or find_program('gossamerd', 'daemon')
        if not self.gossamerd:
            raise SkipTest('gossamerd not built (set GSM_BUILD_ROOT or GSM_GOSSAMERD)')
        self.flags = ['--probe-interval', probe_interval, '--sync-interval', sync_interval,
                      '--dead-grace', dead_grace, '--left-grace', left_grace,
                      '--log-level', log_level] + list(extra_flags or [])
        self.key = os.path.join(topo.workdir, 'cluster.key')
        if not os.path.exists(self.key):
            sh([self.gossamerd, '--generate-cluster-key', self.key])
        self.seeds = []

    def argv(self, node, seeds=None, extra=None):
        seeds = self.seeds if seeds is None else seeds
        a = [self.gossamerd, '--name', node.name, '--cluster-key', self.key,
             '--state-dir', node.state_dir, '--control-socket', node.inner_socket,
             '--interface', WG_IF, '--wg-port', str(WG_PORT),
             '--gossip-port', str(GOSSIP_PORT), '--backend', self.backend]
        if self.backend == 'userspace':
            a += ['--spawn-wireguard-go']
        for sd in seeds:
            if sd is node:
                continue
            if not isinstance(sd, Node):
                a += ['--seed', sd]
            elif self.underlay6 and sd.addr6:
                a += ['--seed', '[%s]:%d' % (sd.addr6, GOSSIP_PORT)]
            else:
                a += ['--seed', '%s:%d' % (sd.addr4, GOSSIP_PORT)]
        return a + self.flags + list(node.extra.get('flags', [])) + list(extra or [])

    def start(self, node, seeds=None, extra=None, wait=True):
        """Start gossamerd in node (log appended to node.log_path); waits
        until its control socket answers `status`."""
        if node.daemon and node.daemon.poll() is None:
            raise HarnessError('%s: gossamerd already running' % node.name)
        with open(node.log_path, 'a') as f:
            f.write('==== %s start: %s\n' % (time.strftime('%H:%M:%S'),
                                             ' '.join(self.argv(node, seeds, extra))))
        node.daemon = node.popen(self.argv(node, seeds, extra), logfile=node.log_path)
        self.topo.save()
        if wait:
            self.wait_ready(node)
        return node.daemon

    def wait_ready(self, node, timeout=20):
        def ready():
            if node.daemon.poll() is not None:
                raise HarnessError('%s: gossamerd exited with %s' % (node.name,
                                                                    node.daemon.returncode))
            return node.try_control('status')
        return wait_until(ready, timeout, 0.05, '%s control socket' % node.name)[0]

    def start_all(self, nodes, seeds):
        self.seeds = list(seeds)
        for n in nodes:
            self.start(n, wait=False)
        for n in nodes:
            self.wait_ready(n)

    def kill(self, node, sig=signal.SIGKILL, wait=True):
        """Signal the node's gossamerd (only it: wireguard-go lives on)."""
        p = node.daemon
        if p is None or p.poll() is not None:
            return None
        p.send_signal(sig)
        if wait:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                raise HarnessError('%s: gossamerd ignored signal %d' % (node.name, sig))
        return p.returncode

    def crash(self, node):
        """The whole machine dies: every process in the node's namespace is
        SIGKILLed (gossamerd, wireguard-go) and the interface goes away."""
        pids = [p for p in _ns_pids(node.ns) if p != node.holder]
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if node.daemon:
            node.daemon.wait()
        _wait_pids_gone(pids)
        if self.backend == 'kernel':
            node.run(['ip', 'link', 'del', WG_IF], check=False)
        # wireguard-go's stale UAPI socket stays behind, as after a crash.

    # -- logs ----------------------------------------------------------------
    def log_mark(self, nodes):
        """Current size of every node's log (for log_since)."""
        return {n: os.path.getsize(n.log_path) if os.path.exists(n.log_path) else 0
                for n in nodes}

    def log_since(self, node, mark):
        with open(node.log_path, errors='replace') as f:
            f.seek(mark.get(node, 0))
            return f.read()

    def logged_deaths(self, mark):
        """'observer: line' for every `member X ... is dead` logged since
        mark (catches a dead state too short for polling to see)."""
        out = []
        for n in mark:
            for line in self.log_since(n, mark).splitlines():
                if re.search(r'member \S+ .*is dead', line):
                    out.append('%s: %s' % (n.name, line.strip()))
        return out

    # -- views ---------------------------------------------------------------
    def members(self, node):
        return node.control('members')

    def member_states(self, node):
        """{name: state} as node sees it (None if it does not answer)."""
        ms = node.try_control('members')
        if ms is None:
            return None
        return {m['name']: m['state'] for m in ms}

    def self_info(self, node):
        return node.control('status')

    def converged(self, nodes, expect=None):
        """True when every node in `nodes` sees exactly the names in `expect`
        (default: nodes) as alive."""
        want = set(n.name for n in (expect or nodes))
        for n in nodes:
            st = self.member_states(n)
            if st is None:
                return False
            alive = set(k for k, v in st.items() if v == 'alive')
            if alive != want:
                return False
        return True

    def wait_converged(self, nodes, timeout, expect=None, what='convergence'):
        return wait_until(lambda: self.converged(nodes, expect), timeout, 0.25, what)[1]

    def wait_state(self, observers, name, states, timeout, what=None):
        """Wait until every observer sees member `name` in one of `states`
        (a state of None means: absent from the member list)."""
        states = set(states)

        def ok():
            for o in observers:
                st = self.member_states(o)
                if st is None or st.get(name) not in states:
                    return False
            return True
        return wait_until(ok, timeout, 0.2, what or '%s %s everywhere' % (name, states))[1]

    def identities(self, nodes):
        """{name: status} of every node (key, overlay addresses, ...)."""
        return {n.name: self.self_info(n) for n in nodes}

    def overlay_targets(self, nodes, ids=None):
        ids = ids or self.identities(nodes)
        return {n: [addr_only(a) for a in ids[n.name]['overlay_addresses']] for n in nodes}

    def wg_problems(self, nodes, ids=None, expect=None):
        """Check every node's WireGuard peer set against the others' identity:
        exactly the expected peers, each with its key, its overlay addresses
        in allowed IPs and an endpoint on its underlay address.  Returns a
        list of problems (empty = fine)."""
        ids = ids or self.identities(expect or nodes)
        expect = expect or nodes
        problems = []
        for n in nodes:
            dump = n.wg_dump(WG_IF)
            if dump is None:
                problems.append('%s: no interface %s' % (n.name, WG_IF))
                continue
            if dump['public'] != ids[n.name]['wg_public_key']:
                problems.append('%s: interface key %s is not its advertised key' % (n.name,
                                                                                   dump['public']))
            want = {ids[o.name]['wg_public_key']: o for o in expect if o is not n}
            extra = set(dump['peers']) - set(want)
            if extra:
                problems.append('%s: unexpected peers %s' % (n.name, sorted(extra)))
            for key, o in want.items():
                p = dump['peers'].get(key)
                if p is None:
                    problems.append('%s: missing peer %s' % (n.name, o.name))
                    continue
                ov = ids[o.name]['overlay_addresses']
                for a in ov:
                    if a not in p['allowed_ips']:
                        problems.append('%s: peer %s allowed-ips %s lack %s' % (
                            n.name, o.name, p['allowed_ips'], a))
                ep = p['endpoint']
                host = o.site.wan4 if o.site else o.addr4
                ok_eps = ['%s:' % host, '[%s]:' % o.addr6 if o.addr6 else None]
                if not ep or not any(x and ep.startswith(x) for x in ok_eps):
                    problems.append('%s: peer %s endpoint %s is not on %s' % (n.name, o.name,
                                                                              ep, host))
        return problems


# -- scenario runner ---------------------------------------------------------

class Timings:
    """Collects named durations and prints them as one line per timing and
    a final `timings:` summary (scenarios print convergence/detection/heal)."""

    def __init__(self):
        self.items = []

    def add(self, name, seconds):
        self.items.append((name, seconds))
        log('timing %s: %.2fs' % (name, seconds))

    def summary(self):
        return ' '.join('%s=%.2fs' % (n, s) for n, s in self.items)


def scenario_workdir(name):
    """Logs and state of a scenario run: $GSM_BUILD_ROOT/tests/net/logs/<name>
    (wiped at the start of the run, kept afterwards), or a temp dir."""
    base = os.environ.get('GSM_NET_LOGDIR')
    if not base:
        br = os.environ.get('GSM_BUILD_ROOT')
        base = os.path.join(br, 'tests', 'net', 'logs') if br else os.path.join(
            os.environ.get('TMPDIR', '/tmp'), 'gsmnet-logs')
    d = os.path.join(base, name)
    shutil.rmtree(d, ignore_errors=True)
    try:
        os.makedirs(d)
    except OSError:      # read-only build tree (e.g. inside the kernel VM)
        d = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'gsmnet-logs', name)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    return d


def dump_logs(topo, tail=40):
    for n in topo.nodes:
        for fn in sorted(os.listdir(n.dir)):
            if not fn.endswith('.log'):
                continue
            path = os.path.join(n.dir, fn)
            try:
                with open(path, errors='replace') as f:
                    lines = f.readlines()
            except OSError:
                continue
            print('----- %s/%s (last %d of %d lines) -----' % (n.name, fn, min(tail, len(lines)),
                                                               len(lines)))
            sys.stdout.writelines(lines[-tail:])


def hold(topo):
    """GSM_NET_HOLD=1: keep a failed scenario's topology up for inspection
    until Ctrl-C / SIGTERM."""
    if not os.environ.get('GSM_NET_HOLD'):
        return
    me = os.path.abspath(__file__)
    print('GSM_NET_HOLD: topology kept; inside a node:')
    for n in topo.nodes:
        print('  python3 %s exec %s %s gossamer members' % (me, topo.workdir, n.name))
    print('  (or nsenter -t <holder> -m -n -r -w CMD; holders in %s/topology.json)'
          % topo.workdir)
    print('Ctrl-C (or SIGTERM) tears it down.', flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def run_scenario(name, body, backend='userspace'):
    """Run body(topo, timings) in a fresh Topology; exit 0 / 1 / 77 (skip)."""
    why = requirements(backend)
    if why:
        print('SKIP %s: %s' % (name, why))
        return SKIP
    gc_stale()
    workdir = scenario_workdir(name)
    log('%s: work dir %s' % (name, workdir))
    timings = Timings()
    rc = 1
    topo = None
    try:
        with Topology(workdir) as topo:
            try:
                r = body(topo, timings)
                rc = SKIP if r == SKIP else 0
            except SkipTest as e:
                print('SKIP %s: %s' % (name, e))
                rc = SKIP
            except Exception:
                import traceback
                traceback.print_exc()
                dump_logs(topo)
                rc = 1
                hold(topo)
    except HarnessError:
        import traceback
        traceback.print_exc()
        rc = 1
    log('%s: %s %s' % (name, {0: 'PASS', 77: 'SKIP'}.get(rc, 'FAIL'), 'timings: ' +
                       timings.summary()))
    log('%s: logs kept in %s' % (name, workdir))
    return rc


class SkipTest(Exception):
    pass


# -- command line ------------------------------------------------------------

def _cmd_down(args):
    path = os.path.join(args.workdir, 'topology.json')
    if not os.path.exists(path):
        print('nothing to tear down (%s missing)' % path)
        return 0
    with open(path) as f:
        state = json.load(f)
    teardown_state(state, own_children=False)
    os.unlink(path)
    print('removed %d namespaces' % len(state.get('namespaces', [])))
    return 0


def _cmd_exec(args):
    path = os.path.join(args.workdir, 'topology.json')
    with open(path) as f:
        state = json.load(f)
    extra = [os.path.dirname(p) for p in (find_program('gossamer', 'cli'),
                                          find_program('gossamerd', 'daemon')) if p]
    os.environ['PATH'] = ':'.join(extra + [os.environ.get('PATH', '/usr/bin:/bin')])
    for n in state['nodes']:
        if n['name'] == args.node:
            os.execvp('nsenter', ['nsenter', '-t', str(n['holder']), '-m', '-n', '-r', '-w', '--']
                      + args.command)
    print('no node %s' % args.node, file=sys.stderr)
    return 2


def _cmd_gc(args):
    gc_stale()
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description='gossamer namespace harness tool')
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('down', help='tear down a detached topology')
    p.add_argument('workdir')
    p.set_defaults(fn=_cmd_down)
    p = sub.add_parser('exec', help='run a command inside a node of a detached topology')
    p.add_argument('workdir')
    p.add_argument('node')
    p.add_argument('command', nargs=argparse.REMAINDER)
    p.set_defaults(fn=_cmd_exec)
    p = sub.add_parser('gc', help='remove namespaces left by dead gsmt-<pid>- runs')
    p.set_defaults(fn=_cmd_gc)
    args = ap.parse_args(argv)
    return args.fn(args)


if __name__ == '__main__':
    sys.exit(main())


# -- the attacker tool (tests/attack/gsm-attack) -------------------------------

def attack_tool():
    """Path of gsm-attack (tests/attack), or None when it is not built."""
    return find_program('gsm-attack', 'tests/attack')


def run_attack(node, args, timeout=120):
    """Run gsm-attack inside node; returns its JSON summary (a dict).
    Raises HarnessError when it is missing, fails or prints no summary."""
    tool = attack_tool()
    if not tool:
        raise HarnessError('gsm-attack not built (ninja tests/attack/gsm-attack)')
    r = node.run([tool] + [str(a) for a in args], check=False, timeout=timeout)
    line = (r.stdout or '').strip().splitlines()[-1:] or ['']
    try:
        out = json.loads(line[0])
    except ValueError:
        raise HarnessError('gsm-attack %s: no summary (exit %d): %s' % (
            args[0], r.returncode, (r.stderr or '').strip()))
    if r.returncode != 0 or not out.get('ok'):
        raise HarnessError('gsm-attack %s failed: %s' % (args[0], out.get('error')))
    log('gsm-attack %s: %s' % (args[0], line[0]))
    return out


def daemon_pid(node):
    """Pid of the node's gossamerd process itself (nsenter may sit in
    between when it forks)."""
    pid = node.daemon.pid
    for _ in range(3):
        try:
            with open('/proc/%d/comm' % pid) as f:
                comm = f.read().strip()
        except OSError:
            return None
        if comm != 'nsenter':
            return pid
        try:
            with open('/proc/%d/task/%d/children' % (pid, pid)) as f:
                kids = f.read().split()
        except OSError:
            return None
        if not kids:
            return None
        pid = int(kids[0])
    return None


def vm_rss_kib(pid):
    """VmRSS of pid in KiB (from /proc/PID/status), or None."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def gossip_counters(node):
    """status --json's gossip object of node (rejected counters inside)."""
    return node.control('status')['gossip']
