#!/usr/bin/env python3
"""bench/scale.py - N real gossamerd daemons on loopback (backend none).

Starts N daemons, each with its own gossip port on 127.0.0.1, all joining
through the first one, and prints:

  - time from the last start until every daemon reports N alive members
    (polled through the control sockets)
  - idle cost per daemon over --idle seconds (after --settle seconds): RSS (VmRSS, which counts the
    shared library pages every process maps), PSS and private memory, CPU %
    and gossip bytes/s sent (from the daemon's status counters)
  - time from SIGKILL of one daemon until every other daemon reports it dead

Usage: bench/scale.py [-n 100] [--idle 60] [--binary build/daemon/gossamerd]
Everything runs under a temp dir that is removed at the end; every daemon is
killed by PID at the end, also on failure or Ctrl-C.  Loopback only.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def ctl(sock, req, timeout=5.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock)
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
        return json.loads(buf)
    finally:
        s.close()


def status(sock):
    try:
        r = ctl(sock, {"cmd": "status"})
        return r["result"] if r.get("ok") else None
    except (OSError, ValueError):
        return None


def proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def proc_mem(pid):
    rss = pss = priv = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith(("Private_Clean:", "Private_Dirty:")):
                    priv += int(line.split()[1])
    except OSError:
        pass
    return rss, pss, priv


def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pct(values, p):
    v = sorted(values)
    if not v:
        return 0
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=100, help="number of daemons (default 100)")
    ap.add_argument("--idle", type=float, default=60, help="idle measurement seconds (default 60)")
    ap.add_argument("--binary", default=None, help="gossamerd to run")
    ap.add_argument("--settle", type=float, default=120,
                    help="wait this long after convergence before measuring idle cost: the "
                         "anti-entropy interval backs off from 2 s to its full length over "
                         "about two minutes (default 120)")
    ap.add_argument("--base-port", type=int, default=40000, help="first gossip port")
    ap.add_argument("--probe-interval", default="1s")
    ap.add_argument("--timeout", type=float, default=300, help="give up converging after (s)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs)")
    a = ap.parse_args()

    binary = a.binary or os.environ.get("GOSSAMERD_BIN")
    if not binary:
        for cand in ("build/daemon/gossamerd", os.path.join(HERE, "..", "build", "daemon", "gossamerd")):
            if os.path.exists(cand):
                binary = cand
                break
    if not binary or not os.access(binary, os.X_OK):
        sys.exit("scale: no gossamerd binary (use --binary)")

    n = a.n
    ports = []
    p = a.base_port
    while len(ports) < n:
        if port_free(p):
            ports.append(p)
        p += 1
        if p > 65000:
            sys.exit("scale: not enough free ports")

    top = tempfile.mkdtemp(prefix="gsm-scale-")
    key = os.path.join(top, "cluster.key")
    subprocess.run([binary, "--generate-cluster-key", key], check=True,
                   stderr=subprocess.DEVNULL)
    procs = []
    socks = []

    def cleanup():
        for pr in procs:
            if pr.poll() is None:
                pr.kill()
        for pr in procs:
            try:
                pr.wait(timeout=5)
            except Exception:
                pass
        if a.keep:
            print("kept %s" % top)
        else:
            shutil.rmtree(top, ignore_errors=True)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        seed = "127.0.0.1:%d" % ports[0]
        t_first = time.time()
        for i in range(n):
            d = os.path.join(top, "n%04d" % i)
            os.makedirs(d)
            sock = os.path.join(d, "ctl.sock")
            args = [binary, "--name", "n%04d" % i, "--gossip-bind", "127.0.0.1",
                    "--gossip-port", str(ports[i]), "--cluster-key", key, "--backend", "none",
                    "--state-dir", os.path.join(d, "state"), "--control-socket", sock,
                    "--probe-interval", a.probe_interval, "--log-level", "warn"]
            if i:
                args += ["--seed", seed]
            with open(os.path.join(d, "log"), "wb") as lf:
                procs.append(subprocess.Popen(args, stdout=lf, stderr=lf,
                                              stdin=subprocess.DEVNULL, start_new_session=True))
            socks.append(sock)
            if i == 0:
                # the seed must be listening before the others start
                end = time.time() + 10
                while time.time() < end and status(sock) is None:
                    time.sleep(0.02)
        t_last = time.time()
        print("started %d daemons in %.2f s" % (n, t_last - t_first), flush=True)

        # convergence: every daemon reports n alive
        pending = set(range(n))
        conv_at = {}
        while pending and time.time() - t_last < a.timeout:
            for i in list(pending):
                if procs[i].poll() is not None:
                    sys.exit("scale: daemon %d exited (rc %s), see its log" % (i, procs[i].returncode))
                st = status(socks[i])
                if st and st["members"]["alive"] == n:
                    pending.discard(i)
                    conv_at[i] = time.time() - t_last
            if pending:
                time.sleep(0.05)
        if pending:
            print("NOT converged after %.0f s: %d daemons short (e.g. n%04d sees %s)"
                  % (a.timeout, len(pending), min(pending),
                     (status(socks[min(pending)]) or {}).get("members")), flush=True)
            return 1
        t_conv = max(conv_at.values())
        print("converged: all %d daemons see %d alive %.2f s after the last start "
              "(median daemon %.2f s)" % (n, n, t_conv, pct(conv_at.values(), 50)), flush=True)

        # idle cost
        # settle: dissemination ends in seconds, but the adaptive anti-entropy
        # sync reaches its steady interval only after a few quiet rounds
        time.sleep(a.settle)
        hz = os.sysconf("SC_CLK_TCK")
        st0 = [status(s) for s in socks]
        c0 = [proc_cpu_ticks(pr.pid) for pr in procs]
        t0 = time.time()
        time.sleep(a.idle)
        st1 = [status(s) for s in socks]
        c1 = [proc_cpu_ticks(pr.pid) for pr in procs]
        t1 = time.time()
        dt = t1 - t0
        mems = [proc_mem(pr.pid) for pr in procs]
        cpu = [100.0 * (c1[i] - c0[i]) / hz / dt for i in range(n)]
        bps = [(st1[i]["gossip"]["bytes_sent"] - st0[i]["gossip"]["bytes_sent"]) / dt
               for i in range(n) if st0[i] and st1[i]]
        rbps = [(st1[i]["gossip"]["bytes_received"] - st0[i]["gossip"]["bytes_received"]) / dt
                for i in range(n) if st0[i] and st1[i]]
        pps = [(st1[i]["gossip"]["datagrams_sent"] - st0[i]["gossip"]["datagrams_sent"]) / dt
               for i in range(n) if st0[i] and st1[i]]
        rss = [m[0] for m in mems]
        pss = [m[1] for m in mems]
        priv = [m[2] for m in mems]
        alive_ok = sum(1 for s in st1 if s and s["members"]["alive"] == n)
        print("idle over %.0f s, %.0f s after convergence (%d/%d still see %d alive):"
              % (dt, a.settle, alive_ok, n, n))
        print("  RSS     mean %.0f KiB  p50 %d  max %d KiB   (VmRSS, includes shared library pages)"
              % (sum(rss) / n, pct(rss, 50), max(rss)))
        print("  PSS     mean %.0f KiB  max %d KiB   private mean %.0f KiB  max %d KiB"
              % (sum(pss) / n, max(pss), sum(priv) / n, max(priv)))
        print("  CPU     mean %.3f %%  p50 %.3f  max %.3f %%   (of one core)"
              % (sum(cpu) / n, pct(cpu, 50), max(cpu)))
        print("  gossip  sent mean %.0f B/s  p50 %.0f  max %.0f B/s   (%.2f datagrams/s); received mean %.0f B/s"
              % (sum(bps) / len(bps), pct(bps, 50), max(bps), sum(pps) / len(pps),
                 sum(rbps) / len(rbps)), flush=True)

        # failure detection
        victim = n // 2 if n > 1 else 0
        vname = "n%04d" % victim
        procs[victim].kill()
        procs[victim].wait()
        t_kill = time.time()
        others = [i for i in range(n) if i != victim]
        pending = set(others)
        seen_at = {}
        while pending and time.time() - t_kill < a.timeout:
            for i in list(pending):
                st = status(socks[i])
                if st and st["members"]["alive"] == n - 1 and \
                        st["members"]["dead"] + st["members"]["left"] >= 1:
                    pending.discard(i)
                    seen_at[i] = time.time() - t_kill
            if pending:
                time.sleep(0.05)
        if pending:
            print("dead NOT detected by %d daemons within %.0f s" % (len(pending), a.timeout))
            return 1
        print("failure: all %d others see %s dead %.2f s after SIGKILL (median %.2f s)"
              % (len(others), vname, max(seen_at.values()), pct(seen_at.values(), 50)), flush=True)
        return 0
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
