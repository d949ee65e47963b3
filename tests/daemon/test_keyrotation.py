#!/usr/bin/env python3
"""tests/daemon/test_keyrotation.py - cluster key rotation and revocation
without restarts, on real daemons (backend none, loopback).

Two daemons start with key 1.  Through `reload`: key 2 is added everywhere,
made primary on one node and then the other (the cluster keeps talking at
every step), and key 1 is removed.  A third daemon that only has key 1 can
then no longer join.  Changing the key under an existing id is refused.
"""
import base64
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_loopback as tl  # noqa: E402


def write_ring(path, entries):
    with open(path, "w") as f:
        f.write("# test ring\n")
        for kid, key in entries:
            f.write("%d %s\n" % (kid, key))
    os.chmod(path, 0o600)


def still_together(a, b, secs):
    """both see each other alive for `secs` seconds"""
    end = time.time() + secs * tl.MULT
    while time.time() < end:
        if a.states().get(b.name) != "alive" or b.states().get(a.name) != "alive":
            return False
        time.sleep(0.2)
    return True


GOSSAMER = os.environ.get("GOSSAMER_BIN") or os.path.join(
    os.path.dirname(os.path.dirname(tl.GOSSAMERD)), "cli", "gossamer")


def read_log(n):
    with open(n.log, errors="replace") as f:
        return f.read()


def check_rejections(a, c):
    """a (key 2 only) refused c's datagrams (key 1): counted by reason,
    logged once per source and reason, shown by `gossamer status`"""
    tl.poll(lambda: tl.ctl(a.sock, {"cmd": "status"})["result"]["gossip"]["rejected"]
            ["unknown_key_id"] >= 3, 10)
    st = tl.ctl(a.sock, {"cmd": "status"})["result"]
    rej = st["gossip"]["rejected"]
    tl.check(rej["unknown_key_id"] >= 3, "refusals counted by reason: %s" % rej)
    tl.check(sum(rej.values()) == st["gossip"]["datagrams_bad"],
             "reasons add up to datagrams_bad (%s, %d)" % (rej, st["gossip"]["datagrams_bad"]))
    tl.check(st["cluster_keys"] == {"ids": [2], "primary": 2},
             "cluster_keys lists the ring: %s" % st.get("cluster_keys"))
    src = "127.0.0.1:%d" % c.port
    with open(a.log, errors="replace") as f:
        lines = [l for l in f if "refused datagram from " + src in l]
    unknown = [l for l in lines if "unknown cluster key id 1 (this node has 2;" in l]
    tl.check(len(unknown) == 1 and len(lines) == 1,
             "one log line for %d refusals from %s: %s" % (rej["unknown_key_id"], src, lines))
    p = tl.subprocess.run([GOSSAMER, "--socket", a.sock, "--no-color", "status"],
                          capture_output=True, text=True)
    out = p.stdout
    rline = [l for l in out.splitlines() if l.lstrip().startswith("Rejected:")]
    tl.check(p.returncode == 0 and len(rline) == 1 and "unknown key id " in rline[0],
             "gossamer status shows the Rejected line:\n%s" % out)
    tl.check("Keys:       2 (primary)" in out,
             "gossamer status shows the cluster keys")


def main():
    top = tempfile.mkdtemp(prefix="gsd-keyrot-")
    nodes = []
    try:
        gen = os.path.join(top, "gen.key")
        keys = []
        for _ in range(3):
            if os.path.exists(gen):
                os.unlink(gen)
            tl.subprocess.run([tl.GOSSAMERD, "--generate-cluster-key", gen], check=True,
                              capture_output=True)
            with open(gen) as f:
                line = [l for l in f if l.strip() and not l.startswith("#")][0]
            keys.append(line.split()[1])
            base64.b64decode(keys[-1])
        k1, k2, k3 = keys

        a = tl.Node(top, "a", os.path.join(top, "a.key"))
        b = tl.Node(top, "b", os.path.join(top, "b.key"))
        nodes = [a, b]
        for n in nodes:
            write_ring(n.key, [(1, k1)])
        a.start([])
        tl.poll(lambda: os.path.exists(a.sock), 10)
        b.start(["127.0.0.1:%d" % a.port])
        tl.check(tl.poll(lambda: a.states().get("b") == "alive" and b.states().get("a") == "alive", 20),
                 "a and b joined with key 1")

        def reload(n):
            return tl.ctl(n.sock, {"cmd": "reload"})

        # add key 2 (secondary) everywhere
        for n in nodes:
            write_ring(n.key, [(1, k1), (2, k2)])
            tl.check(reload(n) == {"ok": True, "result": {}}, "%s: reload adds key 2" % n.name)
        # key 2 primary on a only: b can still open (it has key 2)
        write_ring(a.key, [(2, k2), (1, k1)])
        tl.check(reload(a) == {"ok": True, "result": {}}, "a: key 2 primary")
        tl.check(still_together(a, b, 3), "cluster keeps talking with mixed primaries")
        write_ring(b.key, [(2, k2), (1, k1)])
        tl.check(reload(b) == {"ok": True, "result": {}}, "b: key 2 primary")
        # revoke key 1
        for n in nodes:
            write_ring(n.key, [(2, k2)])
            tl.check(reload(n) == {"ok": True, "result": {}}, "%s: key 1 removed" % n.name)
        tl.check(still_together(a, b, 3), "cluster keeps talking on key 2 alone")
        with open(a.log) as f:
            tl.check("cluster keys: 0 added, 1 removed, primary id 2" in f.read(),
                     "a logs the removal")

        # a node that only has the revoked key cannot join
        c = tl.Node(top, "c", os.path.join(top, "c.key"))
        nodes.append(c)
        write_ring(c.key, [(1, k1)])
        bad0 = tl.ctl(a.sock, {"cmd": "status"})["result"]["gossip"]["datagrams_bad"]
        c.start(["127.0.0.1:%d" % a.port])
        time.sleep(3 * tl.MULT)
        tl.check("c" not in a.states() and "c" not in b.states(),
                 "holder of the revoked key is not admitted")
        tl.check(set(c.states()) == {"c"}, "and it sees nobody")
        bad1 = tl.ctl(a.sock, {"cmd": "status"})["result"]["gossip"]["datagrams_bad"]
        tl.check(bad1 > bad0, "its datagrams are counted as bad (%d -> %d)" % (bad0, bad1))
        check_rejections(a, c)
        # a node with a different key under id 2: authentication fails
        d = tl.Node(top, "d", os.path.join(top, "d.key"))
        nodes.append(d)
        write_ring(d.key, [(2, k3)])
        d.start(["127.0.0.1:%d" % a.port])
        tl.check(tl.poll(lambda: tl.ctl(a.sock, {"cmd": "status"})["result"]["gossip"]
                         ["rejected"]["bad_key"] > 0, 10),
                 "a different key under the same id counts as bad_key")
        src = "refused datagram from 127.0.0.1:%d: authentication failed with key id 2" % d.port
        tl.check(tl.poll(lambda: src in read_log(a), 5),
                 "and is logged naming the source and key id")
        d.kill(signal.SIGKILL)

        # a different key under an existing id is refused, nothing changes
        write_ring(a.key, [(2, k3)])
        r = reload(a)
        tl.check(r.get("ok") is False and r.get("code") == "EINVAL"
                 and "key id 2 now has a different key" in r.get("error", ""),
                 "changed key under the same id refused: %s" % r)
        tl.check(still_together(a, b, 2), "refused reload left the ring alone")
        # a ring file with open permissions is refused as well
        write_ring(a.key, [(2, k2)])
        os.chmod(a.key, 0o644)
        r = reload(a)
        tl.check(r.get("ok") is False and "too open" in r.get("error", ""),
                 "reload refuses a world-readable key file")
    finally:
        for n in nodes:
            try:
                n.kill(signal.SIGKILL)
            except Exception:
                pass
        if tl.failures:
            for n in nodes:
                print("---- log of %s\n%s" % (n.name, n.tail()))
        shutil.rmtree(top, ignore_errors=True)
    print("%d failure(s)" % len(tl.failures))
    return 1 if tl.failures else 0


if __name__ == "__main__":
    sys.exit(main())
