#!/usr/bin/env python3
"""tests/daemon/test_authority.py - authority mode with real gossamerd
processes on loopback (backend none: no root, no interfaces).

Certificates are made with tests/daemon/mkcert.c (GSM_MKCERT), which signs
with the gossip library, so this test does not depend on the CLI.

  1. a, b, c start in require mode with certificates: each sees the others
     alive with cert status valid, serial and roles; status --json has the
     authority object; c advertises a prefix its certificate does not
     allow: listed in its cert.uncertified
  2. d (no certificate) is not admitted by a (certs_refused counts it)
  3. `revoke` on c: {"new": true}, again {"new": false}, garbage refused
     ("malformed"); a sees the revoked member b as revoked; the
     revocation is persisted and loaded again by a restarted a (before it
     joins: the count is there at once)
  4. renewal: c gets a new certificate file + reload: a new advert version
     and the new serial seen by a
  5. a join key: e issues its own certificate at start (via_join_key) and
     is admitted; f asks for a prefix outside the pool: exit 1 naming it
  6. a corrupted revocations file: exit 1 naming the broken block

Env: GOSSAMERD_BIN, GSM_MKCERT, GSM_TEST_TIMEOUT_MULTIPLIER.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_loopback import ctl, free_udp_port  # noqa: E402  (one copy of the helpers)

GOSSAMERD = os.environ.get("GOSSAMERD_BIN") or os.path.join(
    os.environ.get("GSM_BUILD_ROOT", "build"), "daemon", "gossamerd")
MKCERT = os.environ.get("GSM_MKCERT") or os.path.join(
    os.environ.get("GSM_BUILD_ROOT", "build"), "tests", "daemon", "gsm-mkcert")
GOSSAMER = os.path.join(os.environ.get("GSM_BUILD_ROOT", "build"), "cli", "gossamer")
MULT = float(os.environ.get("GSM_TEST_TIMEOUT_MULTIPLIER", "1") or 1)
DAY = 86400

failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def poll(fn, timeout):
    end = time.time() + timeout * MULT
    last = None
    while time.time() < end:
        try:
            last = fn()
            if last:
                return last
        except (OSError, ValueError, KeyError, TypeError):
            pass
        time.sleep(0.1)
    return last


def mkcert(*args, stdout=None):
    p = subprocess.run([MKCERT] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=30)
    if p.returncode != 0:
        raise RuntimeError("mkcert %s: %s" % (args, p.stderr))
    if stdout:
        with open(stdout, "w") as f:
            f.write(p.stdout)
    return p.stdout.strip(), p.stderr.strip()


class Node:
    def __init__(self, top, name, key, auth_pub):
        self.name = name
        self.dir = os.path.join(top, name)
        os.makedirs(self.dir)
        self.state = os.path.join(self.dir, "state")
        os.makedirs(self.state, mode=0o700)
        self.sock = os.path.join(self.dir, "ctl.sock")
        self.log = os.path.join(self.dir, "log")
        self.port = free_udp_port()
        self.key = key
        self.auth_pub = auth_pub
        self.proc = None
        # the identity exists before the first start: certificates name it
        out, _ = mkcert("key", os.path.join(self.state, "identity.key"))
        self.pub_b64, self.id_hex = out.split()
        self.cert = os.path.join(self.state, "node.cert")

    def args(self, seeds, extra):
        a = [GOSSAMERD, "--name", self.name, "--gossip-bind", "127.0.0.1",
             "--gossip-port", str(self.port), "--cluster-key", self.key,
             "--backend", "none", "--state-dir", self.state,
             "--control-socket", self.sock, "--probe-interval", "200ms",
             "--sync-interval", "2s", "--log-level", "debug",
             "--authority", self.auth_pub]
        for s in seeds:
            a += ["--seed", s]
        return a + list(extra)

    def start(self, seeds, extra=()):
        with open(self.log, "ab") as lf:
            self.proc = subprocess.Popen(self.args(seeds, extra), stdout=lf, stderr=lf,
                                         stdin=subprocess.DEVNULL)

    def run(self, seeds, extra=()):
        return subprocess.run(self.args(seeds, extra), capture_output=True, text=True,
                              timeout=30)

    def members(self):
        r = ctl(self.sock, {"cmd": "members"})
        return {m["name"]: m for m in r["result"]} if r.get("ok") else None

    def status(self):
        r = ctl(self.sock, {"cmd": "status"})
        return r["result"] if r.get("ok") else None

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)

    def tail(self, n=30):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def cert_of(node, name, want_status="valid"):
    ms = node.members() or {}
    m = ms.get(name)
    if m and m["cert"]["status"] == want_status and m["state"] == "alive":
        return m
    return None


def main():
    if not os.path.exists(MKCERT):
        print("SKIP: gsm-mkcert not built (%s)" % MKCERT)
        return 77
    top = tempfile.mkdtemp(prefix="gsm-authority-")
    nodes = []
    try:
        return scenario(top, nodes)
    finally:
        for n in nodes:
            n.kill()
        if failures:
            for n in nodes:
                print("---- %s log tail\n%s" % (n.name, n.tail()))
        shutil.rmtree(top, ignore_errors=True)


def scenario(top, nodes):
    key = os.path.join(top, "cluster.key")
    subprocess.run([GOSSAMERD, "--generate-cluster-key", key], check=True,
                   capture_output=True)
    auth_key = os.path.join(top, "authority.key")
    auth_pub, _ = mkcert("key", auth_key)
    auth_pub = auth_pub.split()[0]

    a, b, c, d = (Node(top, n, key, auth_pub) for n in ("a", "b", "c", "d"))
    nodes += [a, b, c, d]
    mkcert("node", auth_key, a.id_hex, "a", 30 * DAY, stdout=a.cert)
    _, err = mkcert("node", auth_key, b.id_hex, "b", 30 * DAY, "role=relay", stdout=b.cert)
    b_serial = int(err.split()[1])
    mkcert("node", auth_key, c.id_hex, "c", 30 * DAY, "prefix=10.9.0.0/16", stdout=c.cert)
    seed = "127.0.0.1:%d" % a.port

    # 1. three certified daemons in require mode (the default with a key)
    a.start([])
    b.start([seed], ["--relay"])
    c.start([seed], ["--advertise-prefix", "10.9.1.0/24",
                     "--advertise-prefix", "10.10.0.0/24"])
    ok = all(poll(lambda n=n, x=x: cert_of(n, x), 15) for n in (a, b, c) for x in "abc")
    check(ok, "a, b, c see each other alive with valid certificates")
    mb = cert_of(a, "b")
    if mb:
        check(mb["cert"]["roles"] == ["relay"] and mb["relay"],
              "b's relay role and flag shown: %s" % mb["cert"])
        check(mb["cert"]["serial"] == "%016x" % b_serial and not mb["cert"]["via_join_key"],
              "b's serial shown as 16 hex digits")
        check(mb["cert"]["expires"] > time.time() + 29 * DAY, "b's expiry shown")
    mc = cert_of(a, "c")
    if mc:
        check(mc["cert"]["uncertified"] == ["10.10.0.0/24"],
              "c's uncovered prefix listed as uncertified: %s" % mc["cert"]["uncertified"])
    if os.path.exists(GOSSAMER):
        p = subprocess.run([GOSSAMER, "--socket", a.sock, "members", "--wide"],
                           capture_output=True, text=True, timeout=30)
        lines = p.stdout.splitlines()
        row = [l for l in lines if l.split()[:1] == ["b"]]
        check(p.returncode == 0 and "CERT" in lines[0] and "ROLES" in lines[0]
              and row and "valid 29d" in row[0] and "relay" in row[0],
              "gossamer members --wide: CERT 'valid 29d' and ROLES 'relay' for b:\n" + p.stdout)
    st = a.status()
    au = st and st.get("authority")
    check(au and au["mode"] == "require" and au["keys"] == [auth_pub]
          and au["self"]["status"] == "valid", "status --json authority object: %s" % au)
    check(poll(lambda: "refused claim 10.10.0.0/24 from c: uncertified" in a.tail(400), 5),
          "a logs c's uncertified claim")
    check(a.status()["authority"]["claims_uncertified"] >= 1, "a counts it (claims_uncertified)")

    # 2. no certificate: not admitted
    d.start([seed])
    time.sleep(3 * MULT)
    check("d" not in (a.members() or {}), "d (no certificate) is not admitted by a")
    check(poll(lambda: a.status()["authority"]["certs_refused"] > 0, 5),
          "a counts refused adverts (certs_refused)")
    d.kill()

    # 3. revoke b on c
    rev, _ = mkcert("revoke", auth_key, b_serial, 30 * DAY)
    r = ctl(c.sock, {"cmd": "revoke", "revocation": rev})
    check(r.get("ok") and r["result"] == {"new": True}, "revoke on c: new (%s)" % r)
    r = ctl(c.sock, {"cmd": "revoke", "revocation": rev})
    check(r.get("ok") and r["result"] == {"new": False}, "the same again: not new (%s)" % r)
    r = ctl(c.sock, {"cmd": "revoke", "revocation": "bm90IGEgcmV2b2NhdGlvbg=="})
    check(not r.get("ok") and r.get("error") == "malformed" and r.get("code") == "EBADMSG",
          "garbage refused: %s" % r)
    check(poll(lambda: (a.members() or {}).get("b", {}).get("cert", {}).get("status")
               == "revoked" or "b" not in (a.members() or {}), 10),
          "a sees b revoked")
    revfile = os.path.join(a.state, "revocations")
    check(poll(lambda: os.path.exists(revfile), 5), "a persisted the revocation")
    a.kill(signal.SIGTERM)
    a.start([])
    got = poll(lambda: a.status()["authority"]["revocations"] == 1, 5)
    check(got, "restarted a holds the revocation at once (loaded from its file)")
    check("b" not in {k for k, v in (a.members() or {}).items()
                      if v["cert"]["status"] == "valid"},
          "restarted a does not take b back as valid")

    # 4. renewal by reload: new serial, new advert version, same process
    poll(lambda: cert_of(a, "c"), 15)
    before = cert_of(a, "c")
    _, err = mkcert("node", auth_key, c.id_hex, "c", 60 * DAY, "prefix=10.9.0.0/16",
                    "prefix=10.10.0.0/16", stdout=c.cert)
    new_serial = "%016x" % int(err.split()[1])
    r = ctl(c.sock, {"cmd": "reload"})
    check(r.get("ok"), "reload with a new certificate file: %s" % r)
    after = poll(lambda: (cert_of(a, "c") or {}).get("cert", {}).get("serial") == new_serial
                 and cert_of(a, "c"), 10)
    check(bool(after), "a sees c's new serial after the reload")
    if before and after:
        check(after["version"] > before["version"] and after["generation"] == before["generation"],
              "a new advert version of the same generation (no restart)")
        check(after["cert"]["uncertified"] == [], "the new certificate covers 10.10.0.0/24")

    # 5. join keys
    join_id = os.path.join(top, "join.id")
    mkcert("key", join_id)
    join_file = os.path.join(top, "join.key")
    mkcert("join", auth_key, join_id, 7 * DAY, 3 * DAY, "prefix=10.20.0.0/16",
           "label=env=*", stdout=join_file)
    os.chmod(join_file, 0o600)
    e = Node(top, "e", key, auth_pub)
    nodes.append(e)
    e.start([seed], ["--join-key", join_file, "--advertise-prefix", "10.20.5.0/24",
                     "--label", "env=ci"])
    me = poll(lambda: cert_of(a, "e"), 15)
    check(bool(me) and me["cert"]["via_join_key"], "e issued its own certificate and joined")
    check(os.path.exists(e.cert), "e wrote its certificate file")
    f = Node(top, "f", key, auth_pub)
    nodes.append(f)
    p = f.run([seed], ["--join-key", join_file, "--advertise-prefix", "10.30.0.0/24"])
    check(p.returncode == 1 and "10.30.0.0/24" in p.stderr,
          "f asking for a prefix outside the pool: exit 1 naming it (rc %d: %s)"
          % (p.returncode, p.stderr.strip()[-300:]))

    # 7. the join key expires while g's certificate it issued lives on: g
    #    reaches its renewal window, cannot renew, and keeps the certificate
    #    it has (reload accepted, a restart starts) instead of failing
    short_id = os.path.join(top, "short.id")
    mkcert("key", short_id)
    short_file = os.path.join(top, "short.key")
    # join key valid from 60 s ago for 66 s (6 s left); leaves live 90 s
    # from a minute back, so g's has 30 s left: renewal due (a third) at once
    mkcert("join", auth_key, short_id, 66, 90, stdout=short_file)
    os.chmod(short_file, 0o600)
    g = Node(top, "g", key, auth_pub)
    nodes.append(g)
    g.start([seed], ["--join-key", short_file])
    mg = poll(lambda: cert_of(a, "g"), 15)
    check(bool(mg), "g issued its own certificate with the short join key and joined")
    time.sleep(7)  # the join key has expired; g's certificate has not
    r = ctl(g.sock, {"cmd": "reload"})
    check(r.get("ok") is True, "g: reload after the join key expired is accepted: %r" % r)
    check("cannot renew the own certificate" in g.tail(200),
          "g logs that it cannot renew and keeps its certificate")
    g.kill(signal.SIGTERM)
    g.start([seed], ["--join-key", short_file])
    again = poll(lambda: cert_of(a, "g"), 15)
    check(bool(again) and mg and again["cert"]["serial"] == mg["cert"]["serial"],
          "g restarts with the certificate it had (same serial) and is admitted")
    g.kill(signal.SIGTERM)

    # 6. a corrupted revocations file is refused at start, naming the block
    with open(os.path.join(f.state, "revocations"), "w") as fh:
        fh.write("-----BEGIN GOSSAMER REVOCATION-----\nAAAA\n"
                 "-----END GOSSAMER REVOCATION-----\n")
    p = f.run([seed])
    check(p.returncode == 1 and "block 1 is not a valid revocation" in p.stderr,
          "corrupted revocations file: exit 1 naming the block (rc %d: %s)"
          % (p.returncode, p.stderr.strip()[-300:]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
