#!/usr/bin/env python3
"""tests/daemon/test_loopback.py - real gossamerd processes on loopback.

Backend none, so no root and no interfaces: proves the runtime (sockets,
timers, core, control socket, persistence, signals) end to end.

  1. 3 daemons, one seed: each sees 3 alive members through its control socket
  2. SIGKILL one: the others see it dead
  3. restart it with its seed pointing nowhere: it rejoins from its persisted
     members, same id, newer generation; everyone sees 3 alive again
  4. SIGTERM: graceful leave, exit 0, the others see it `left`
  5. bad config / key with open permissions / missing backend: exit 2, one
     clear message, nothing created
  6. reload with a bad file fails with EINVAL and keeps running; a good one
     applies (new label visible to the other members)

Env: GOSSAMERD_BIN (path of gossamerd), GSM_TEST_TIMEOUT_MULTIPLIER.
Traffic only to 127.0.0.1.  Everything lives in a temp dir removed at the
end; every daemon started is killed by PID even on failure.
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

GOSSAMERD = os.environ.get("GOSSAMERD_BIN") or os.path.join(
    os.environ.get("GSM_BUILD_ROOT", "build"), "daemon", "gossamerd")
MULT = float(os.environ.get("GSM_TEST_TIMEOUT_MULTIPLIER", "1") or 1)

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def ctl(sock, req, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        return json.loads(buf)
    finally:
        s.close()


def poll(fn, timeout):
    end = time.time() + timeout * MULT
    last = None
    while time.time() < end:
        try:
            last = fn()
            if last:
                return last
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    return last


class Node:
    def __init__(self, top, name, key):
        self.name = name
        self.dir = os.path.join(top, name)
        os.makedirs(self.dir)
        self.state = os.path.join(self.dir, "state")
        self.sock = os.path.join(self.dir, "ctl.sock")
        self.log = os.path.join(self.dir, "log")
        self.port = free_udp_port()
        self.key = key
        self.proc = None
        self.labels = {}

    def args(self, seeds):
        a = [GOSSAMERD, "--name", self.name, "--gossip-bind", "127.0.0.1",
             "--gossip-port", str(self.port), "--cluster-key", self.key,
             "--backend", "none", "--state-dir", self.state,
             "--control-socket", self.sock, "--probe-interval", "200ms",
             "--sync-interval", "2s", "--log-level", "debug"]
        for s in seeds:
            a += ["--seed", s]
        for k, v in self.labels.items():
            a += ["--label", "%s=%s" % (k, v)]
        return a

    def start(self, seeds, extra=()):
        with open(self.log, "ab") as lf:
            self.proc = subprocess.Popen(self.args(seeds) + list(extra), stdout=lf, stderr=lf,
                                         stdin=subprocess.DEVNULL)

    def members(self):
        r = ctl(self.sock, {"cmd": "members"})
        return r["result"] if r.get("ok") else None

    def states(self):
        ms = self.members() or []
        return {m["name"]: m["state"] for m in ms}

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)

    def tail(self, n=25):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def run_bad(args, expect_in):
    p = subprocess.run([GOSSAMERD] + args, capture_output=True, text=True, timeout=30)
    err = p.stderr.strip()
    lines = [l for l in err.splitlines() if l.strip()]
    ok = p.returncode == 2 and len(lines) == 1 and expect_in in err
    check(ok, "exit 2 with one clear message (%s): rc=%d %r" % (expect_in, p.returncode, err))


def main():
    top = tempfile.mkdtemp(prefix="gsd-loopback-")
    nodes = []
    try:
        key = os.path.join(top, "cluster.key")
        p = subprocess.run([GOSSAMERD, "--generate-cluster-key", key], capture_output=True)
        check(p.returncode == 0 and (os.stat(key).st_mode & 0o777) == 0o600,
              "cluster key generated 0600")

        a, b, c = (Node(top, n, key) for n in ("alpha", "bravo", "charlie"))
        nodes = [a, b, c]
        seed = "127.0.0.1:%d" % a.port
        a.start([])
        poll(lambda: os.path.exists(a.sock), 10)
        b.start([seed])
        c.start([seed])

        # 1. everyone sees 3 alive
        def all3():
            return all(sorted(n.states().items()) ==
                       [("alpha", "alive"), ("bravo", "alive"), ("charlie", "alive")]
                       for n in nodes)
        check(poll(all3, 20), "3 daemons see 3 alive members")
        ids = {m["name"]: m["id"] for m in a.members()}
        st = ctl(a.sock, {"cmd": "status"})["result"]
        check(st["members"]["alive"] == 3 and st["backend"] == "none"
              and st["gossip_port"] == a.port and len(st["id"]) == 64,
              "status: counts, backend, port, id")
        check(poll(lambda: ctl(a.sock, {"cmd": "status"})["result"]["converged"], 20),
              "status reports converged")
        self_entry = [m for m in a.members() if m["self"]]
        check(len(self_entry) == 1 and self_entry[0]["name"] == "alpha"
              and any(x.startswith("10.77.") for x in self_entry[0]["overlay_addresses"]),
              "members: self entry with overlay addresses")
        check(ctl(a.sock, {"cmd": "peers"}) == {"ok": True, "result": []},
              "peers: empty with backend none")
        # framing: several requests on one connection, bad JSON, oversize line
        cs = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        cs.settimeout(5)
        cs.connect(a.sock)
        cs.sendall(b'{"cmd":"status"}\n{"cmd":"members"}\nnot json\n{"nocmd":1}\n')
        f = cs.makefile("rb")
        r1, r2, r3, r4 = (json.loads(f.readline()) for _ in range(4))
        check(r1["ok"] and "members" in r1["result"] and r2["ok"] and isinstance(r2["result"], list),
              "two pipelined requests answered in order")
        check(not r3["ok"] and r3["code"] == "EINVAL" and not r4["ok"] and r4["code"] == "EINVAL",
              "bad JSON / missing cmd: EINVAL, connection stays usable")
        cs.sendall(b'{"cmd":"status","pad":"' + b"x" * 70000 + b'"}\n')
        r5 = json.loads(f.readline())
        check(not r5["ok"] and r5["code"] == "EMSGSIZE" and f.readline() == b"",
              "request over 64 KiB: EMSGSIZE and the connection is closed")
        cs.close()
        r = ctl(a.sock, {"cmd": "frobnicate"})
        check(r.get("ok") is False and r.get("code") == "EOPNOTSUPP", "unknown command: EOPNOTSUPP")
        r = ctl(a.sock, {"cmd": "join", "addrs": ["127.0.0.1:%d" % c.port]})
        check(r.get("ok") and r["result"]["contacted"] >= 1, "join: contacted")
        t0 = time.time()
        r = ctl(a.sock, {"cmd": "join", "addrs": ["127.0.0.1:%d" % c.port], "wait_ms": 5000})
        check(r.get("ok") and r["result"].get("answered") == 1 and time.time() - t0 < 4,
              "join with wait_ms: the live seed answered (%s)" % r)
        t0 = time.time()
        r = ctl(a.sock, {"cmd": "join", "addrs": ["127.0.0.1:%d" % free_udp_port()],
                         "wait_ms": 700})
        check(r.get("ok") and r["result"].get("answered") == 0 and time.time() - t0 >= 0.6,
              "join with wait_ms: nobody there -> answered 0 after the wait (%s)" % r)
        gen_before = [m for m in a.members() if m["name"] == "bravo"][0]["generation"]

        # 2. SIGKILL bravo: seen dead
        b.kill(signal.SIGKILL)
        check(poll(lambda: a.states().get("bravo") == "dead" and c.states().get("bravo") == "dead",
                   30), "SIGKILLed daemon seen dead by both others")
        time.sleep(0.5)

        # 3. restart bravo; its only seed points nowhere: rejoins from persisted members
        b.start(["127.0.0.1:%d" % free_udp_port()])
        check(poll(all3, 30), "restarted daemon alive again everywhere (seed down, persisted members)")
        m = [m for m in a.members() if m["name"] == "bravo"][0]
        check(m["id"] == ids["bravo"], "restarted daemon kept its id")
        check(m["generation"] > gen_before, "generation bumped by the restart")

        # 6. reload: bad file refused, good change applied
        conf = os.path.join(top, "bravo.conf")
        b.kill(signal.SIGTERM)
        with open(conf, "w") as f:
            f.write("[node]\nlabels = role=web\n")
        b.start(["127.0.0.1:%d" % a.port], extra=["--config", conf])
        check(poll(all3, 30), "bravo back with a config file")
        with open(conf, "w") as f:
            f.write("[node]\nlabels = role=db\nlabels = bogus\n")
        r = ctl(b.sock, {"cmd": "reload"})
        check(r.get("ok") is False and r.get("code") == "EINVAL" and conf + ":3: labels:" in r.get("error", ""),
              "reload of a bad file: EINVAL with file:line: key")
        with open(conf, "w") as f:
            f.write("[node]\nlabels = role=db\n")
        r = ctl(b.sock, {"cmd": "reload"})
        check(r == {"ok": True, "result": {}}, "reload of a good file")

        def label_seen():
            ms = {m["name"]: m for m in c.members()}
            return ms["bravo"]["labels"].get("role") == "db"
        check(poll(label_seen, 20), "reloaded label visible on another member")
        b.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        check(b.proc.poll() is None, "SIGHUP reloads without exiting")

        # 4. SIGTERM charlie: leave, exit 0, seen left
        t0 = time.time()
        c.proc.send_signal(signal.SIGTERM)
        rc = c.proc.wait(timeout=10)
        check(rc == 0 and time.time() - t0 < 3.5, "SIGTERM: exit 0 within the leave bound (%.2fs)" % (time.time() - t0))
        check(poll(lambda: a.states().get("charlie") == "left", 10), "others see the leaver as left")
        check(not os.path.exists(c.sock), "control socket removed on exit")

        # leave through the control socket
        r = ctl(b.sock, {"cmd": "leave"}, timeout=10)
        check(r == {"ok": True, "result": {}}, "leave command answered")
        check(b.proc.wait(timeout=10) == 0, "leave command: daemon exits 0")

        # 5. bad config / keys / backend: exit 2, nothing created
        bad = os.path.join(top, "bad")
        os.makedirs(bad)
        nostate = os.path.join(bad, "state")
        nosock = os.path.join(bad, "ctl.sock")
        base = ["--cluster-key", key, "--state-dir", nostate, "--control-socket", nosock,
                "--gossip-bind", "127.0.0.1", "--gossip-port", str(free_udp_port())]
        badconf = os.path.join(bad, "g.conf")
        with open(badconf, "w") as f:
            f.write("[gossip]\nport = 1\n[wireguard]\nbackend = turbo\n")
        run_bad(base + ["--backend", "none", "-c", badconf], badconf + ":4: backend: 'turbo' is not one of")
        run_bad(base + ["--backend", "none", "--gossip-port", "99999"], "--gossip-port: '99999' is not a port")
        openkey = os.path.join(bad, "open.key")
        shutil.copy(key, openkey)
        os.chmod(openkey, 0o644)
        run_bad(base + ["--backend", "none", "--cluster-key", openkey], "too open")
        run_bad(base + ["--backend", "none", "--cluster-key", os.path.join(bad, "missing.key")],
                "does not exist")
        run_bad(base + ["--backend", "userspace", "--wg-socket-dir", bad, "--interface", "gsmnone0"],
                "no wireguard-go serves")
        run_bad(base + ["--backend", "userspace", "--spawn-wireguard-go", "--wg-socket-dir", bad,
                        "--wireguard-go", "no-such-wireguard-go-binary", "--interface", "gsmnone0"],
                "no-such-wireguard-go-binary not found")
        # an identity key with open permissions in an existing state dir
        st2 = os.path.join(bad, "st2")
        os.makedirs(st2, mode=0o700)
        with open(os.path.join(st2, "identity.key"), "w") as f:
            f.write("x\n")
        os.chmod(os.path.join(st2, "identity.key"), 0o640)
        run_bad(["--cluster-key", key, "--state-dir", st2, "--control-socket", nosock,
                 "--backend", "none", "--gossip-bind", "127.0.0.1",
                 "--gossip-port", str(free_udp_port())], "permissions 0640 are too open")
        check(not os.path.exists(nostate) and not os.path.exists(nosock)
              and sorted(os.listdir(st2)) == ["identity.key"],
              "nothing created by the refused starts")
    finally:
        for n in nodes:
            try:
                n.kill(signal.SIGKILL)
            except Exception:
                pass
        if failures:
            for n in nodes:
                print("---- log of %s\n%s" % (n.name, n.tail()))
        shutil.rmtree(top, ignore_errors=True)
    print("%d failure(s)" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
