#!/usr/bin/env python3
"""tests/daemon/test_collision.py - IPv4 overlay collision, end to end.

Real daemons (backend none, loopback) in a /30 overlay, which has exactly
two host addresses.  We first create node identities (short solo runs) until
two of them derive the same first IPv4 candidate, then run those two
together: the lower node id must keep the address, the higher one must move
to the other address, say so in its log, and both daemons must agree.
"""
import os
import shutil
import signal
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_loopback as tl  # noqa: E402

PREFIX = "10.250.77.0/30"


def v4_of(node):
    st = tl.ctl(node.sock, {"cmd": "status"})["result"]
    v4 = [a for a in st["overlay_addresses"] if "." in a]
    return (v4[0] if v4 else None), st["id"]


def views(nodes):
    """{viewer: {name: ipv4}} from every node's members output"""
    out = {}
    for n in nodes:
        out[n.name] = {m["name"]: [a for a in m["overlay_addresses"] if "." in a][0]
                       for m in n.members()}
    return out


def main():
    top = tempfile.mkdtemp(prefix="gsd-collision-")
    nodes = []
    try:
        key = os.path.join(top, "cluster.key")
        tl.subprocess.run([tl.GOSSAMERD, "--generate-cluster-key", key], check=True,
                          capture_output=True)
        seen = {}
        pair = None
        for i in range(24):
            n = tl.Node(top, "c%02d" % i, key)
            n.start([], extra=["--overlay-ipv4", PREFIX])
            nodes.append(n)
            got = tl.poll(lambda: v4_of(n), 10)
            n.kill(signal.SIGTERM)
            if not got or not got[0]:
                tl.check(False, "solo daemon reports an IPv4 overlay address")
                return 1
            ip, nid = got
            if ip in seen:
                pair = (seen[ip], (n, nid))
                break
            seen[ip] = (n, nid)
        if not tl.check(pair is not None, "found two identities with the same derived IPv4"):
            return 1
        (a, aid), (b, bid) = pair
        lo, hi = (a, b) if aid < bid else (b, a)
        orig = [ip for ip, v in seen.items() if v[0] is a][0]
        print("both derive %s: %s (id %s...) and %s (id %s...)" %
              (orig, a.name, aid[:12], b.name, bid[:12]), flush=True)

        # run them together: the higher id joins second (it first takes the
        # address, then must give it up)
        lo.start([], extra=["--overlay-ipv4", PREFIX])
        tl.poll(lambda: os.path.exists(lo.sock), 10)
        hi.start(["127.0.0.1:%d" % lo.port], extra=["--overlay-ipv4", PREFIX])

        def settled():
            v = views([lo, hi])
            ok = all(len(x) == 2 for x in v.values()) and v[lo.name] == v[hi.name]
            return v if ok and v[lo.name][lo.name] != v[lo.name][hi.name] else None
        v = tl.poll(settled, 30)
        tl.check(v is not None, "both daemons agree on two distinct IPv4 addresses: %s" % v)
        if v:
            mine = v[lo.name]
            tl.check(mine[lo.name] == orig, "lower node id kept %s" % orig)
            tl.check(mine[hi.name] != orig and mine[hi.name].startswith("10.250.77."),
                     "higher node id moved to %s" % mine[hi.name])
        with open(hi.log) as f:
            log = f.read()
        tl.check("IPv4 collision: %s is claimed by lower node id" % orig.split("/")[0] in log,
                 "the mover logs the collision")
        with open(lo.log) as f:
            tl.check("IPv4 collision" not in f.read().split("starting")[-1],
                     "the keeper does not move")
        st = tl.ctl(hi.sock, {"cmd": "members"})["result"]
        me = [m for m in st if m["self"]][0]
        tl.check(me["version"] >= 2, "the mover bumped its advert version")
    finally:
        for n in nodes:
            try:
                n.kill(signal.SIGKILL)
            except Exception:
                pass
        if tl.failures:
            for n in nodes[-2:]:
                print("---- log of %s\n%s" % (n.name, n.tail()))
        shutil.rmtree(top, ignore_errors=True)
    print("%d failure(s)" % len(tl.failures))
    return 1 if tl.failures else 0


if __name__ == "__main__":
    sys.exit(main())
