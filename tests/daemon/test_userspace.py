#!/usr/bin/env python3
"""tests/daemon/test_userspace.py - gossamerd with real wireguard-go.

Two network namespaces joined by a veth pair (10.250.91.1/24, .2/24), one
daemon in each with backend userspace and spawn_wireguard_go.  Checks:

  1. the daemons configure each other as peers and the overlay pings (v4, v6)
  2. a daemon restart (SIGTERM, start again) adopts the running wireguard-go,
     changes no peer and loses no ping
  3. wireguard-go killed under a running daemon: a new one is started and the
     tunnel comes back
  4. `peers` over the control socket shows the other member with a handshake

Needs root, `ip`, and wireguard-go; exits 77 (skip) otherwise.  Everything it
creates (namespaces, processes, sockets, temp dir) is named after this
process's PID and removed at the end.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_loopback as tl  # noqa: E402

SKIP = 77
TAG = "%05d" % (os.getpid() % 100000)


def sh(*args, check=True):
    p = subprocess.run(list(args), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), p.stderr.strip()))
    return p


def ping(ns, addr, count=1, interval=None, wait=2):
    a = ["ip", "netns", "exec", ns, "ping", "-n", "-q", "-c", str(count), "-W", str(wait)]
    if interval:
        a += ["-i", str(interval)]
    if ":" in addr:
        a.insert(5, "-6")
    return subprocess.run(a + [addr], capture_output=True, text=True)


class NsNode:
    def __init__(self, top, name, ns, ip, key):
        self.name, self.ns, self.ip = name, ns, ip
        self.dir = os.path.join(top, name)
        os.makedirs(self.dir)
        self.sock = os.path.join(self.dir, "ctl.sock")
        self.log = os.path.join(self.dir, "log")
        self.ifname = "gt%s%s" % (TAG, name)
        self.key = key
        self.proc = None

    def start(self, seeds, extra=()):
        a = ["ip", "netns", "exec", self.ns, tl.GOSSAMERD, "--name", self.name,
             "--backend", "userspace", "--spawn-wireguard-go", "--interface", self.ifname,
             "--gossip-bind", self.ip, "--cluster-key", self.key,
             "--state-dir", os.path.join(self.dir, "state"), "--control-socket", self.sock,
             "--probe-interval", "200ms", "--log-level", "debug", "--overlay-ipv4", "10.251.0.0/16"]
        for s in seeds:
            a += ["--seed", s]
        a += list(extra)
        with open(self.log, "ab") as lf:
            self.proc = subprocess.Popen(a, stdout=lf, stderr=lf, stdin=subprocess.DEVNULL)

    def status(self):
        return tl.ctl(self.sock, {"cmd": "status"})["result"]

    def v4(self):
        return [x.split("/")[0] for x in self.status()["overlay_addresses"] if "." in x][0]

    def v6(self):
        return [x.split("/")[0] for x in self.status()["overlay_addresses"] if ":" in x][0]

    def wggo_pids(self):
        out = []
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if len(argv) >= 2 and argv[0].endswith(b"wireguard-go") and \
                    argv[1] == self.ifname.encode():
                out.append(int(pid))
        return out

    def log_text(self):
        with open(self.log, errors="replace") as f:
            return f.read()


def main():
    if os.geteuid() != 0 or not shutil.which("wireguard-go") or not shutil.which("ip"):
        print("skip: needs root, ip and wireguard-go")
        return SKIP
    if not os.path.exists("/dev/net/tun"):
        print("skip: no /dev/net/tun")
        return SKIP
    top = tempfile.mkdtemp(prefix="gsd-userspace-")
    nsa, nsb = "gsdus%sa" % TAG, "gsdus%sb" % TAG
    nodes = []
    try:
        for ns in (nsa, nsb):
            sh("ip", "netns", "add", ns)
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "link", "add", "gv%sa" % TAG, "type", "veth", "peer", "name", "gv%sb" % TAG)
        sh("ip", "link", "set", "gv%sa" % TAG, "netns", nsa)
        sh("ip", "link", "set", "gv%sb" % TAG, "netns", nsb)
        sh("ip", "-n", nsa, "addr", "add", "10.250.91.1/24", "dev", "gv%sa" % TAG)
        sh("ip", "-n", nsb, "addr", "add", "10.250.91.2/24", "dev", "gv%sb" % TAG)
        sh("ip", "-n", nsa, "link", "set", "gv%sa" % TAG, "up")
        sh("ip", "-n", nsb, "link", "set", "gv%sb" % TAG, "up")

        key = os.path.join(top, "cluster.key")
        sh(tl.GOSSAMERD, "--generate-cluster-key", key)
        a = NsNode(top, "a", nsa, "10.250.91.1", key)
        b = NsNode(top, "b", nsb, "10.250.91.2", key)
        nodes = [a, b]
        a.start([])
        tl.poll(lambda: os.path.exists(a.sock), 10)
        b.start(["10.250.91.1"], extra=["--advertise-prefix", "10.252.9.0/24"])
        both = tl.poll(lambda: a.status()["members"]["alive"] == 2 and
                       b.status()["members"]["alive"] == 2, 20)
        tl.check(both, "two daemons with wireguard-go see each other")
        bv4, bv6 = b.v4(), b.v6()
        tl.check(tl.poll(lambda: ping(nsa, bv4).returncode == 0, 15) is not None
                 and ping(nsa, bv4).returncode == 0, "overlay IPv4 ping a -> b (%s)" % bv4)
        tl.check(ping(nsa, bv6).returncode == 0, "overlay IPv6 ping a -> b (%s)" % bv6)
        peers = tl.ctl(a.sock, {"cmd": "peers"})["result"]
        tl.check(len(peers) == 1 and peers[0]["name"] == "b" and peers[0]["latest_handshake"] > 0
                 and bv4 + "/32" in peers[0]["allowed_ips"],
                 "peers: b with a handshake and its overlay address")

        # routes for advertised prefixes (protocol 77) and the allowed IPs
        tl.check("10.252.9.0/24" in peers[0]["allowed_ips"], "advertised prefix in allowed IPs")
        rt = sh("ip", "-n", nsa, "route", "show", "table", "51821", "10.252.9.0/24").stdout
        tl.check("dev %s" % a.ifname in rt and "proto 77" in rt,
                 "route for b's advertised prefix installed on a in table 51821: %r"
                 % rt.strip())
        rules = sh("ip", "-n", nsa, "rule").stdout
        tl.check("5210:\tfrom all lookup 51821 suppress_prefixlength 0" in rules,
                 "rule to table 51821 installed: %r" % rules)

        # 2. restart a while b pings it continuously
        av4 = a.v4()
        changes_before = a.log_text().count("WireGuard %s:" % a.ifname)
        pinger = subprocess.Popen(["ip", "netns", "exec", nsb, "ping", "-n", "-q", "-i", "0.1",
                                   "-c", "40", "-W", "1", av4],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(0.5)
        a.proc.send_signal(signal.SIGTERM)
        tl.check(a.proc.wait(timeout=10) == 0, "a exits 0 on SIGTERM")
        wg_before = a.wggo_pids()
        tl.check(len(wg_before) == 1, "wireguard-go keeps running after the daemon exits")
        a.start([], extra=["--no-routes"])  # CNI mode from now on
        out = pinger.communicate(timeout=30)[0]
        tl.check(" 0% packet loss" in out, "no ping lost across the daemon restart (%s)"
                 % [l for l in out.splitlines() if "loss" in l])
        tl.check(tl.poll(lambda: a.status()["members"]["alive"] == 2, 15),
                 "restarted a sees b alive")
        time.sleep(1)
        log = a.log_text()
        tl.check("adopted running wireguard-go" in log.split("starting")[-1],
                 "restart adopts the running wireguard-go")
        tl.check(log.count("WireGuard %s:" % a.ifname) == changes_before,
                 "restart changed no WireGuard peer")
        tl.check(a.wggo_pids() == wg_before, "same wireguard-go process")
        rt = sh("ip", "-n", nsa, "route", "show", "table", "all", "10.252.9.0/24").stdout
        tl.check(rt.strip() == "", "--no-routes: the advertised prefix route was removed")
        rules = sh("ip", "-n", nsa, "rule").stdout
        tl.check("lookup 51821" not in rules, "--no-routes: our rule was removed: %r" % rules)
        peers = tl.ctl(a.sock, {"cmd": "peers"})["result"]
        tl.check("10.252.9.0/24" in peers[0]["allowed_ips"], "--no-routes keeps allowed IPs")

        # 3. wireguard-go dies under the daemon: it is replaced
        for pid in a.wggo_pids():
            os.kill(pid, signal.SIGKILL)
        tl.check(tl.poll(lambda: a.wggo_pids() and ping(nsb, av4).returncode == 0, 40),
                 "wireguard-go restarted by the daemon and the tunnel is back")
    finally:
        for n in nodes:
            if n.proc and n.proc.poll() is None:
                n.proc.kill()
                n.proc.wait()
        for n in nodes:
            for pid in n.wggo_pids():
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
        time.sleep(0.3)
        for n in nodes:
            for pid in n.wggo_pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                os.unlink("/var/run/wireguard/%s.sock" % n.ifname)
            except OSError:
                pass
        for ns in (nsa, nsb):
            sh("ip", "netns", "del", ns, check=False)
        if tl.failures:
            for n in nodes:
                print("---- log of %s\n%s" % (n.name, "".join(n.log_text().splitlines(True)[-30:])))
        shutil.rmtree(top, ignore_errors=True)
    print("%d failure(s)" % len(tl.failures))
    return 1 if tl.failures else 0


if __name__ == "__main__":
    sys.exit(main())
