#!/usr/bin/env python3
"""tests/cli/test_cli.py - the gossamer CLI against real gossamerd daemons.

Starts several `gossamerd --backend none` processes on 127.0.0.1 (distinct
ports, own state dirs and control sockets in a temp dir), then drives every
`gossamer` command through them and checks:

  * every --json output parsed and checked field by field (types, values,
    ids equal across nodes, self true exactly once, counts add up, keys
    made by `gossamer keygen` are the ones the daemon advertises);
  * human output: aligned columns, <= 80 columns, no colour off a tty,
    colour on a pty, none with NO_COLOR or --json;
  * exit codes: no daemon -> 1 with ONE stderr line naming the socket,
    usage errors -> 2, refused request (bad reload) -> 1;
  * `wait --members N` started before the daemons returns only once they
    joined (and long before its timeout); a condition that cannot hold
    times out with exit 1;
  * join / leave / reload effects visible in `members`.

With --authority-only (test `cli_authority`, no daemon): the offline
authority commands end to end - `authority init` (0600 key, refuses to
overwrite), `sign` (fields read back with `cert show --json`, the Ed25519
signature checked independently when python3-cryptography is installed,
0/0 refused without --role exit), `join-key` + `cert issue` (a two
certificate chain whose node certificate is issued by the join key;
over-broad requests refused with the reason), `authority revoke` by name,
serial, --cert and key (expiry from the issuance log; unknown targets need
--until) and the client-side errors of `revoke FILE`.

Only loopback traffic.  Every process started here is killed at the end,
by PID, even on failure.  Exit 77 (meson: skipped) only if gossamerd is
not built with the options this test needs.
"""
import json
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

GOSSAMER = os.environ.get("GOSSAMER_BIN", "build/cli/gossamer")
GOSSAMERD = os.environ.get("GOSSAMERD_BIN", "build/daemon/gossamerd")
MULT = float(os.environ.get("GSM_TEST_TIMEOUT_MULTIPLIER", "1") or 1)
if MULT <= 0:
    MULT = 1.0

HEX64 = re.compile(r"^[0-9a-f]{64}$")
B64KEY = re.compile(r"^[A-Za-z0-9+/]{43}=$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

failures = []
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL: " + what, flush=True)
    return cond


def fatal(what):
    print("FATAL: " + what, flush=True)
    raise SystemExit(1)


# ---------------------------------------------------------------- helpers

def base_env():
    env = dict(os.environ)
    for k in ("GOSSAMER_SOCKET", "NO_COLOR", "COLUMNS"):
        env.pop(k, None)
    env["LC_ALL"] = "C.UTF-8"
    return env


def run(args, sock=None, env=None, timeout=30, stdin=None):
    """Run gossamer; returns (rc, stdout, stderr)."""
    e = base_env()
    if env:
        e.update(env)
    cmd = [GOSSAMER] + (["--socket", sock] if sock else []) + list(args)
    p = subprocess.run(cmd, env=e, capture_output=True, text=True,
                       timeout=timeout * MULT, input=stdin)
    return p.returncode, p.stdout, p.stderr


def run_json(args, sock, what):
    rc, out, err = run(list(args) + ["--json"], sock)
    if not check(rc == 0, "%s: exit %d, stderr %r" % (what, rc, err)):
        return None
    check(err == "", "%s: --json wrote to stderr: %r" % (what, err))
    check(out.endswith("\n"), "%s: output ends with a newline" % what)
    check("\x1b" not in out, "%s: no escape sequences in --json" % what)
    try:
        return json.loads(out)
    except ValueError as ex:
        check(False, "%s: not JSON (%s): %r" % (what, ex, out[:200]))
        return None


def run_pty(args, env=None, timeout=20):
    """Run gossamer with stdout on a pseudo terminal; returns (rc, output)."""
    e = base_env()
    if env:
        e.update(env)
    e["TERM"] = "xterm"
    master, slave = pty.openpty()
    p = subprocess.Popen([GOSSAMER] + list(args), stdout=slave, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, env=e)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + timeout * MULT
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif p.poll() is not None:
            # drain
            r, _, _ = select.select([master], [], [], 0.1)
            if not r:
                break
    os.close(master)
    rc = p.wait(timeout=5)
    return rc, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")


def _die_with_parent():
    """preexec_fn: SIGTERM this child if the test process dies (even by SIGKILL)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def poll_until(fn, timeout, interval=0.2):
    """Call fn until it returns a truthy value or timeout (scaled) passes."""
    deadline = time.monotonic() + timeout * MULT
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(interval)
    return last


def display_width(line):
    return len(ANSI.sub("", line))


# ---------------------------------------------------------------- daemons

class Node:
    def __init__(self, root, name, labels, seeds=(), key_file=None, long_name=None,
                 config=False):
        self.key = name
        self.name = long_name or name
        self.dir = os.path.join(root, name)
        self.state = os.path.join(self.dir, "state")
        os.makedirs(self.state, mode=0o700, exist_ok=True)
        os.chmod(self.dir, 0o700)
        os.chmod(self.state, 0o700)
        self.sock = os.path.join(self.dir, "ctl.sock")
        self.gport = free_udp_port()
        self.wport = free_udp_port()
        self.labels = dict(labels)
        self.seeds = list(seeds)
        self.key_file = key_file
        self.log = os.path.join(self.dir, "gossamerd.log")
        self.config = os.path.join(self.dir, "gossamerd.conf") if config else None
        self.proc = None

    def settings(self):
        return [
            ("node", "name", self.name),
            ("node", "labels", ",".join("%s=%s" % kv for kv in sorted(self.labels.items()))),
            ("gossip", "bind", "127.0.0.1"),
            ("gossip", "port", str(self.gport)),
            ("gossip", "cluster_key_file", self.key_file),
            ("gossip", "probe_interval", "500ms"),
            ("gossip", "sync_interval", "1s"),
            ("wireguard", "backend", "none"),
            ("wireguard", "interface", "gsmt" + self.key[:8]),
            ("wireguard", "listen_port", str(self.wport)),
            ("wireguard", "endpoints", "127.0.0.1:%d" % self.wport),
            ("daemon", "state_dir", self.state),
            ("daemon", "control_socket", self.sock),
            ("daemon", "log_level", "debug"),
        ] + ([("gossip", "seeds", ",".join(self.seeds))] if self.seeds else [])

    def write_config(self, overrides=None, garbage=False):
        sections = {}
        for sec, k, v in self.settings():
            if overrides and k in overrides:
                v = overrides[k]
            if v == "":
                continue
            sections.setdefault(sec, []).append("%s = %s" % (k, v))
        with open(self.config, "w") as f:
            for sec, lines in sections.items():
                f.write("[%s]\n%s\n\n" % (sec, "\n".join(lines)))
            if garbage:
                f.write("[gossip]\nprobe_interval = not-a-duration\n")

    def flags(self):
        if self.config:
            self.write_config()
            return ["--config", self.config]
        flag = {"name": "--name", "bind": "--gossip-bind", "port": "--gossip-port",
                "cluster_key_file": "--cluster-key", "probe_interval": "--probe-interval",
                "sync_interval": "--sync-interval", "backend": "--backend",
                "interface": "--interface", "listen_port": "--wg-port",
                "endpoints": "--endpoint", "state_dir": "--state-dir",
                "control_socket": "--control-socket", "log_level": "--log-level",
                "seeds": "--seed"}
        out = []
        for _sec, k, v in self.settings():
            if k == "labels":
                for lk, lv in sorted(self.labels.items()):
                    out += ["--label", "%s=%s" % (lk, lv)]
            elif k == "seeds":
                for s in self.seeds:
                    out += ["--seed", s]
            else:
                out += [flag[k], v]
        return out

    def start(self):
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen([GOSSAMERD] + self.flags(), stdout=logf, stderr=logf,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        logf.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def tail_log(self, n=30):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


# ---------------------------------------------------------------- checks

def check_member_obj(m, what):
    ok = isinstance(m, dict)
    if not check(ok, "%s: member is an object" % what):
        return False
    types = {"name": str, "id": str, "wg_public_key": str, "state": str,
             "overlay_addresses": list, "endpoints": list, "prefixes": list,
             "labels": dict, "generation": int, "version": int, "self": bool}
    for k, t in types.items():
        if not check(k in m, "%s: member has field %r" % (what, k)):
            ok = False
            continue
        v = m[k]
        if not check(isinstance(v, t) and not (t is int and isinstance(v, bool)),
                     "%s: member.%s is %s (got %r)" % (what, k, t.__name__, v)):
            ok = False
    if not ok:
        return False
    check(HEX64.match(m["id"]) is not None, "%s: id is 64 lowercase hex: %r" % (what, m["id"]))
    check(B64KEY.match(m["wg_public_key"]) is not None,
          "%s: wg_public_key is base64 of 32 bytes: %r" % (what, m["wg_public_key"]))
    check(m["state"] in ("alive", "suspect", "dead", "left"), "%s: state %r" % (what, m["state"]))
    check(all(isinstance(a, str) and "/" in a for a in m["overlay_addresses"]),
          "%s: overlay_addresses are CIDR strings: %r" % (what, m["overlay_addresses"]))
    for ep in m["endpoints"]:
        check(isinstance(ep, dict) and isinstance(ep.get("address"), str),
              "%s: endpoint has address string: %r" % (what, ep))
    check(all(isinstance(v, str) for v in m["labels"].values()), "%s: label values are strings" % what)
    check(m["generation"] > 0, "%s: generation > 0" % what)
    check(m["version"] >= 0, "%s: version >= 0" % what)
    if "state_changed" in m:
        check(isinstance(m["state_changed"], int), "%s: state_changed is an integer" % what)
    return True


def members_by_name(members):
    return {m["name"]: m for m in members}


def check_table(out, what, header_words, max_width=80, min_rows=1):
    lines = out.rstrip("\n").split("\n")
    check(len(lines) >= 1 + min_rows, "%s: header and rows (%r)" % (what, out))
    for ln in lines:
        check(display_width(ln) <= max_width,
              "%s: line fits %d columns (%d): %r" % (what, max_width, display_width(ln), ln))
        check(ln == ln.rstrip(), "%s: no trailing blanks: %r" % (what, ln))
    header = lines[0]
    for w in header_words:
        check(w in header, "%s: header has %s: %r" % (what, w, header))
    return lines


# ---------------------------------------------------------------- authority mode (offline)

DAY = 86400


def pem_blocks(text, label):
    """The base64-decoded bodies of the PEM blocks with this label."""
    import base64
    pat = re.compile(r"-----BEGIN %s-----\n(.*?)-----END %s-----" % (label, label), re.S)
    return [base64.b64decode("".join(m.group(1).split())) for m in pat.finditer(text)]


def split_signed(blob):
    """[body bin, sig bin 64] (MessagePack, gossip/cert.h) -> (body, sig)."""
    if len(blob) < 2 or blob[0] != 0x92:
        return None, None
    i, t = 1, blob[1]
    if t == 0xc4:
        n, i = blob[2], 3
    elif t == 0xc5:
        n, i = int.from_bytes(blob[2:4], "big"), 4
    else:
        return None, None
    body = blob[i:i + n]
    rest = blob[i + n:]
    if rest[:2] != b"\xc4\x40" or len(rest) != 66:
        return None, None
    return body, rest[2:]


def ed25519_ok(pub_b64, domain, blob):
    """Independent check of a certificate/revocation signature; None when
    the cryptography module is not installed."""
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.exceptions import InvalidSignature
    except ImportError:
        return None
    import base64
    body, sig = split_signed(blob)
    if body is None:
        return False
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(pub_b64))
    try:
        key.verify(sig, domain + body)
        return True
    except InvalidSignature:
        return False


def show_json(path, what):
    rc, out, err = run(["cert", "show", path, "--json"])
    if not check(rc == 0, "%s: cert show exit 0 (got %d: %r)" % (what, rc, err)):
        return None
    try:
        return json.loads(out)
    except ValueError:
        check(False, "%s: cert show --json is JSON: %r" % (what, out[:200]))
        return None


def refused(args, code, words, what, output=None):
    """A command that must fail with exit `code`, one stderr line holding
    every word, nothing on stdout and no output file."""
    rc, out, err = run(args)
    check(rc == code, "%s: exit %d (got %d: %r)" % (what, code, rc, err))
    check(out == "", "%s: nothing on stdout (%r)" % (what, out))
    check(len(err.splitlines()) >= 1 and all(w in err for w in words),
          "%s: stderr names the reason %r: %r" % (what, words, err))
    if code == 1:
        check(len(err.splitlines()) == 1, "%s: one stderr line: %r" % (what, err))
    if output:
        check(not os.path.exists(output), "%s: %s not written" % (what, output))


def authority_scenario(root):
    auth = os.path.join(root, "authority")
    p = lambda name: os.path.join(root, name)
    rc, pub, err = run(["authority", "init", auth])
    pub = pub.strip()
    check(rc == 0 and B64KEY.match(pub), "authority init prints the public key: %r %r" % (pub, err))
    for f, mode in (("authority.key", 0o600), ("authority.pub", 0o644), ("issued", 0o644)):
        st = os.stat(os.path.join(auth, f)) if os.path.exists(os.path.join(auth, f)) else None
        check(st is not None and (st.st_mode & 0o777) == mode,
              "init: %s exists with mode %o" % (f, mode))
    with open(os.path.join(auth, "authority.pub")) as f:
        check(f.read() == pub + "\n", "init: authority.pub is the printed key")
    with open(os.path.join(auth, "authority.key")) as f:
        key_before = f.read()
    refused(["authority", "init", auth], 1, ["exists"], "init over an existing authority")
    with open(os.path.join(auth, "authority.key")) as f:
        check(f.read() == key_before, "init: the existing key is unchanged")

    # ---- sign
    rc, node_id, _ = run(["keygen", "identity", "-o", p("web.key")])
    node_id = node_id.strip()
    args = ["authority", "sign", "--authority", auth, "--node-key", node_id, "--name", "web-1",
            "--overlay", "10.77.0.5", "--prefix", "10.1.0.0/24", "--prefix", "fd00:1::/64",
            "--role", "relay", "--role", "gateway", "--label", "env=prod", "--label", "tier=web",
            "--valid", "90d", "-o", p("web.cert")]
    rc, out, err = run(args)
    check(rc == 0 and "web-1" in out and err == "", "authority sign: %d %r %r" % (rc, out, err))
    doc = show_json(p("web.cert"), "signed certificate")
    certs = doc["certificates"] if doc else []
    check(len(certs) == 1, "sign: one certificate in the file")
    web = certs[0] if certs else {}
    check(web.get("kind") == "node" and web.get("name") == "web-1", "sign: kind and name")
    check(web.get("node_id") == node_id, "sign: subject is the node's identity")
    check(web.get("issuer") == pub, "sign: issuer is the authority")
    check(web.get("overlay4") == "10.77.0.5/32", "sign: overlay4 %r" % web.get("overlay4"))
    check(web.get("prefixes") == ["10.1.0.0/24", "fd00:1::/64"], "sign: prefixes %r" % web.get("prefixes"))
    check(web.get("roles") == ["relay", "gateway"], "sign: roles %r" % web.get("roles"))
    check(web.get("labels") == {"env": "prod", "tier": "web"}, "sign: labels")
    check(web.get("not_after", 0) - web.get("not_before", 0) == 90 * DAY + 300,
          "sign: valid from 300 s before the signing (clock skew)")
    check(abs(web.get("not_after", 0) - (time.time() + 90 * DAY)) < 120,
          "sign: --valid 90d counts from the signing")
    check(abs(web.get("not_before", 0) - (time.time() - 300)) < 120, "sign: starts about now")
    check(web.get("signature_ok") is True and web.get("ephemeral") is False, "sign: signature ok")
    with open(p("web.cert")) as f:
        text = f.read()
    blob = pem_blocks(text, "GOSSAMER CERTIFICATE")[0]
    ok = ed25519_ok(pub, b"gossamer cert v1\0", blob)
    check(ok in (True, None), "sign: the signature verifies independently (Ed25519 by the authority)")
    # the same key from a key file, the same name from the log
    rc, out, err = run(["authority", "sign", "--authority", auth, "--node-key", p("web.key"),
                        "--name", "web-1", "--valid", "200d", "--ephemeral", "-o", p("web2.cert")])
    check(rc == 0, "sign with --node-key FILE: %r" % err)
    web2 = (show_json(p("web2.cert"), "second certificate") or {}).get("certificates", [{}])[0]
    check(web2.get("node_id") == node_id and web2.get("ephemeral") is True, "sign: key file, --ephemeral")
    with open(os.path.join(auth, "issued")) as f:
        log = f.read().splitlines()
    check(len(log) == 2 and log[0].split()[0] == web.get("serial") and
          log[0].split()[1:4] == ["node", web.get("subject"), "web-1"] and
          log[0].split()[4] == str(web.get("not_after")), "issued log line: %r" % log)
    # a tampered certificate does not verify
    bad = bytearray(blob)
    bad[-1] ^= 1
    import base64
    with open(p("bad.cert"), "w") as f:
        f.write("-----BEGIN GOSSAMER CERTIFICATE-----\n%s\n-----END GOSSAMER CERTIFICATE-----\n"
                % base64.b64encode(bytes(bad)).decode())
    rc, out, err = run(["cert", "show", p("bad.cert"), "--json"])
    check(rc == 1 and '"signature_ok": false' in out and "signature" in err,
          "cert show: a tampered signature is reported, exit 1 (%d %r)" % (rc, err))

    # ---- policy refusals of sign / join-key; usage errors
    refused(["authority", "sign", "--authority", auth, "--node-key", node_id, "--name", "gw",
             "--prefix", "0.0.0.0/0", "-o", p("gw.cert")], 1,
            ["authority sign", "0.0.0.0/0", "--role exit"], "sign 0/0 without exit", p("gw.cert"))
    rc, out, err = run(["authority", "sign", "--authority", auth, "--node-key", node_id, "--name",
                        "gw", "--prefix", "0.0.0.0/0", "--role", "exit", "-o", p("gw.cert")])
    check(rc == 0, "sign 0/0 with --role exit: %r" % err)
    refused(["authority", "join-key", "--authority", auth, "--role", "exit", "-o", p("x.join")], 1,
            ["exit"], "join-key --role exit", p("x.join"))
    refused(["authority", "sign", "--authority", auth, "--node-key", "nonsense", "--name", "x",
             "-o", p("x.cert")], 1, ["nonsense"], "sign with a bad --node-key", p("x.cert"))
    for args in (["authority", "sign", "--authority", auth, "--node-key", node_id, "-o", p("x")],
                 ["authority", "init", auth, "--node-key", node_id],
                 ["authority", "sign", "--authority", auth, "--node-key", node_id, "--name", "a b",
                  "-o", p("x")],
                 ["authority", "sign", "--authority", auth, "--node-key", node_id, "--name", "x",
                  "--role", "king", "-o", p("x")],
                 ["authority", "join-key", "--authority", auth, "--valid", "7 days", "-o", p("x")],
                 ["authority", "frob"], ["authority"], ["cert", "show", p("web.cert"), "--prefix",
                                                         "10.0.0.0/8"],
                 ["cert", "issue", "--join-key", p("x"), "--name", "x", "-o", p("x")],
                 ["revoke"], ["authority", "revoke", "--authority", auth, "-o", p("x")]):
        refused(args, 2, ["gossamer: "], "usage error %s" % args[:3])

    # ---- join key and cert issue
    rc, out, err = run(["authority", "join-key", "--authority", auth, "--prefix", "10.9.0.0/16",
                        "--label", "env=*", "--role", "relay", "--max-lifetime", "30d",
                        "-o", p("site.join")])
    check(rc == 0, "authority join-key: %r" % err)
    check(os.path.exists(p("site.join")) and (os.stat(p("site.join")).st_mode & 0o777) == 0o600,
          "join key file has mode 0600")
    jdoc = show_json(p("site.join"), "join key file") or {}
    jcert = (jdoc.get("certificates") or [{}])[0]
    jpub = (jdoc.get("join_key") or {}).get("public_key")
    check(jcert.get("kind") == "join" and jcert.get("issuer") == pub and
          jcert.get("subject") == jpub and jcert.get("max_lifetime") == 30 * DAY and
          jcert.get("not_after", 0) - jcert.get("not_before", 0) == 7 * DAY + 300,
          "join-key: JOIN certificate for its key, by the authority: %r" % jcert)
    with open(p("site.join")) as f:
        jtext = f.read()
    rc, out, _ = run(["cert", "show", p("site.join")])
    seed_b64 = base64.b64encode(pem_blocks(jtext, "GOSSAMER JOIN KEY")[0]).decode()
    check(rc == 0 and seed_b64 not in out and seed_b64[:20] not in out, "cert show never prints the join key's secret")
    rc, n2_id, _ = run(["keygen", "identity", "-o", p("n2.key")])
    n2_id = n2_id.strip()
    issue = ["cert", "issue", "--join-key", p("site.join"), "--identity", p("n2.key"),
             "--name", "n2"]
    rc, out, err = run(issue + ["--prefix", "10.9.3.0/24", "--label", "env=dev", "--role", "relay",
                                "-o", p("n2.chain")])
    check(rc == 0 and "n2" in out, "cert issue within the limits: %d %r" % (rc, err))
    cdoc = show_json(p("n2.chain"), "issued chain") or {}
    chain = cdoc.get("certificates") or [{}, {}]
    check(len(chain) == 2, "cert issue: a 2-certificate chain")
    if len(chain) == 2:
        leaf, join = chain
        check(leaf.get("kind") == "node" and join.get("kind") == "join", "chain: node then join")
        check(leaf.get("node_id") == n2_id and leaf.get("name") == "n2", "chain: the node's identity")
        check(leaf.get("issuer") == jpub == join.get("subject"), "chain: issuer = the join key")
        check(join.get("serial") == jcert.get("serial"), "chain: the join certificate itself")
        check(leaf.get("not_after", 0) - leaf.get("not_before", 0) == 30 * DAY,
              "cert issue: default lifetime = the join key's maximum")
        check(leaf.get("signature_ok") and join.get("signature_ok"), "chain: both signatures ok")
        check((cdoc.get("chain") or {}).get("within_join_key") is True, "chain: within the join key")
        with open(p("n2.chain")) as f:
            blobs = pem_blocks(f.read(), "GOSSAMER CERTIFICATE")
        ok = ed25519_ok(jpub, b"gossamer cert v1\0", blobs[0])
        check(ok in (True, None), "chain: the node certificate verifies under the join key")
    for extra, words, what in ((["--prefix", "10.8.0.0/24"], ["10.8.0.0/24", "pool"], "prefix outside the pool"),
                               (["--valid", "31d"], ["lifetime"], "--valid over max lifetime"),
                               (["--role", "exit"], ["exit"], "--role exit"),
                               (["--role", "gateway"], ["gateway"], "a role the join key lacks"),
                               (["--label", "team=x"], ["team"], "a label the join key lacks")):
        refused(issue + extra + ["-o", p("over.chain")], 1, ["cert issue"] + words,
                "cert issue, " + what, p("over.chain"))

    # ---- revoke
    rc, out, err = run(["authority", "revoke", "--authority", auth, "web-1", "-o", p("web.rev")])
    check(rc == 0, "authority revoke NAME: %r" % err)
    rdoc = show_json(p("web.rev"), "revocation by name") or {}
    rev = (rdoc.get("revocations") or [{}])[0]
    check(rev.get("subject") == web.get("subject") and "serial" not in rev,
          "revoke NAME: by the node's subject: %r" % rev)
    check(rev.get("expires") == max(web.get("not_after", 0), web2.get("not_after", -1)),
          "revoke NAME: expires = the latest not_after in the log")
    check(rev.get("issuer") == pub and rev.get("signature_ok") is True, "revoke: signed by the authority")
    check(abs(rev.get("issued_at", 0) - time.time()) < 120, "revoke: issued now")
    with open(p("web.rev")) as f:
        ok = ed25519_ok(pub, b"gossamer revoke v1\0", pem_blocks(f.read(), "GOSSAMER REVOCATION")[0])
    check(ok in (True, None), "revocation verifies independently")
    rc, out, err = run(["authority", "revoke", "--authority", auth, web.get("serial", "x"),
                        "-o", p("serial.rev")])
    rev = ((show_json(p("serial.rev"), "revocation by serial") or {}).get("revocations") or [{}])[0]
    check(rc == 0 and rev.get("serial") == web.get("serial") and "subject" not in rev and
          rev.get("expires") == web.get("not_after"), "revoke SERIAL: that serial, its not_after: %r" % rev)
    rc, out, err = run(["authority", "revoke", "--authority", auth, "--cert", p("n2.chain"),
                        "-o", p("n2.rev")])
    rev = ((show_json(p("n2.rev"), "revocation by --cert") or {}).get("revocations") or [{}])[0]
    check(rc == 0 and rev.get("serial") == chain[0].get("serial"), "revoke --cert: its serial")
    rc, out, err = run(["authority", "revoke", "--authority", auth, jpub or "x", "-o", p("j.rev")])
    rev = ((show_json(p("j.rev"), "revocation of the join key") or {}).get("revocations") or [{}])[0]
    check(rc == 0 and rev.get("subject") == jpub and rev.get("expires") == jcert.get("not_after"),
          "revoke a join key by its public key: %r" % rev)
    refused(["authority", "revoke", "--authority", auth, "nobody", "-o", p("nobody.rev")], 1,
            ["nobody"], "revoke an unknown name", p("nobody.rev"))
    refused(["authority", "revoke", "--authority", auth, n2_id, "-o", p("n2id.rev")], 1,
            ["--until"], "revoke an unlogged node id without --until", p("n2id.rev"))
    rc, out, err = run(["authority", "revoke", "--authority", auth, n2_id, "--until", "+10d",
                        "-o", p("n2id.rev")])
    rev = ((show_json(p("n2id.rev"), "revocation with --until") or {}).get("revocations") or [{}])[0]
    check(rc == 0 and abs(rev.get("expires", 0) - (time.time() + 10 * DAY)) < 120,
          "revoke with --until +10d: %r %r" % (err, rev))
    refused(["authority", "revoke", "--authority", auth, n2_id, "--until", "2001-01-01",
             "-o", p("old.rev")], 1, ["past"], "revoke --until in the past", p("old.rev"))

    # ---- revoke FILE: client-side errors (the daemon side is tested elsewhere)
    sock = p("no.sock")
    refused(["--socket", sock, "revoke", p("missing.rev")], 1, ["missing.rev"], "revoke a missing file")
    refused(["--socket", sock, "revoke", p("web.cert")], 1, ["no revocation"], "revoke a certificate file")
    refused(["--socket", sock, "revoke", p("web.rev")], 1, [sock], "revoke without a daemon")


# ---------------------------------------------------------------- the test

def main():
    if "--authority-only" in sys.argv[1:]:
        root = tempfile.mkdtemp(prefix="gcli-auth-", dir="/tmp")
        try:
            authority_scenario(root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        print("%d checks, %d failed" % (checks, len(failures)))
        return 1 if failures else 0
    if not (os.access(GOSSAMER, os.X_OK) and os.access(GOSSAMERD, os.X_OK)):
        fatal("binaries missing: %s %s" % (GOSSAMER, GOSSAMERD))
    helptext = subprocess.run([GOSSAMERD, "--help"], capture_output=True, text=True).stdout
    needed = ("--control-socket", "--state-dir", "--backend", "--gossip-port", "--seed")
    if not all(n in helptext for n in needed):
        print("SKIP: gossamerd does not offer %s yet" % ", ".join(needed))
        return 77

    # a meson timeout sends SIGTERM: turn it into an exception so the
    # cleanup below still stops every daemon this test started
    def on_term(signum, frame):
        raise SystemExit("terminated by signal %d" % signum)
    signal.signal(signal.SIGTERM, on_term)

    root = tempfile.mkdtemp(prefix="gcli-", dir="/tmp")
    nodes = []
    waiters = []
    try:
        return scenario(root, nodes, waiters)
    finally:
        for p in waiters:
            if p.poll() is None:
                p.kill()
                p.wait()
        for n in nodes:
            n.stop()
        if failures:
            for n in nodes:
                print("---- log of %s (last lines)\n%s" % (n.key, n.tail_log()))
        shutil.rmtree(root, ignore_errors=True)


def scenario(root, nodes, waiters):
    # ---------------- offline keys, in the daemon's formats
    key = os.path.join(root, "cluster.key")
    rc, out, err = run(["keygen", "cluster", "-o", key])
    check(rc == 0 and out == "", "keygen cluster -o: rc %d out %r err %r" % (rc, out, err))
    check(os.stat(key).st_mode & 0o777 == 0o600, "cluster key file is 0600")
    lines = [l for l in open(key).read().splitlines() if l and not l.startswith("#")]
    check(len(lines) == 1 and re.match(r"^1 [A-Za-z0-9+/]{43}=$", lines[0]) is not None,
          "cluster key ring has one line 'ID BASE64': %r" % lines)
    rc, out, err = run(["keygen", "cluster", "-o", key])
    check(rc == 1 and "exists" in err and out == "", "keygen refuses to overwrite (rc %d)" % rc)

    a = Node(root, "alpha", {"role": "db", "zone": "eu"}, key_file=key)
    # node a's identity and WireGuard key are made by the CLI, not the daemon
    rc, a_id, err = run(["keygen", "identity", "-o", os.path.join(a.state, "identity.key")])
    a_id = a_id.strip()
    check(rc == 0 and HEX64.match(a_id), "keygen identity prints the node id: %r %r" % (a_id, err))
    rc, a_wg, err = run(["keygen", "wireguard", "-o", os.path.join(a.state, "wireguard.key")])
    a_wg = a_wg.strip()
    check(rc == 0 and B64KEY.match(a_wg), "keygen wireguard prints the public key: %r" % a_wg)
    rc, out, _ = run(["pubkey", "identity", os.path.join(a.state, "identity.key")])
    check(rc == 0 and out.strip() == a_id, "pubkey identity FILE = keygen's id")
    with open(os.path.join(a.state, "wireguard.key")) as f:
        rc, out, _ = run(["pubkey", "wireguard"], stdin=f.read())
    check(rc == 0 and out.strip() == a_wg, "pubkey wireguard (stdin) = keygen's public key")
    if shutil.which("wg"):
        wg = subprocess.run(["wg", "pubkey"], input=open(os.path.join(a.state, "wireguard.key")).read(),
                            capture_output=True, text=True)
        check(wg.stdout.strip() == a_wg, "wg pubkey agrees with gossamer pubkey")
    rc, out, err = run(["pubkey", "wireguard"], stdin="not a key\n")
    check(rc == 1 and out == "" and len(err.splitlines()) == 1, "pubkey of garbage: rc 1, one line")

    b = Node(root, "bravo", {"role": "web"}, seeds=["127.0.0.1:%d" % a.gport], key_file=key,
             config=True)
    long_name = "charlie-" + "x" * 50  # 58 characters: the table must elide it
    c = Node(root, "charlie", {"role": "web", "zone": "us-east-1b", "team": "platform-infra"},
             seeds=["127.0.0.1:%d" % a.gport], key_file=key, long_name=long_name)
    d = Node(root, "delta", {"role": "batch"}, key_file=key)  # joins later by `gossamer join`
    nodes += [a, b, c, d]

    # ---------------- no daemon yet: exit 1, one line naming the socket
    for args in (["status"], ["members"], ["peers"], ["members", "--json"], ["leave"],
                 ["reload"], ["join", "127.0.0.1:1"]):
        rc, out, err = run(args, a.sock)
        check(rc == 1, "%s without daemon: exit 1 (got %d)" % (args, rc))
        check(out == "", "%s without daemon: nothing on stdout" % args)
        check(len(err.splitlines()) == 1 and a.sock in err,
              "%s without daemon: one stderr line naming the socket: %r" % (args, err))
    rc, out, err = run(["status"], env={"GOSSAMER_SOCKET": a.sock})
    check(rc == 1 and a.sock in err, "GOSSAMER_SOCKET is used: %r" % err)

    # ---------------- usage errors: exit 2, nothing on stdout
    for args in (["frobnicate"], ["members", "--bogus"], ["wait"], ["wait", "--members", "x"],
                 ["join"], ["join", "127.0.0.1:99999"], ["status", "extra"],
                 ["peers", "--state", "alive"], ["members", "--state", "zombie"],
                 ["keygen"], ["keygen", "identity", "--json"], []):
        rc, out, err = run(args, a.sock)
        check(rc == 2, "usage error %s: exit 2 (got %d)" % (args, rc))
        check(out == "", "usage error %s: nothing on stdout (%r)" % (args, out))
        check(err.strip() != "", "usage error %s: says why on stderr" % args)
    rc, out, err = run(["help"])
    check(rc == 0 and "members" in out and err == "", "help: usage on stdout, exit 0")
    rc, out, err = run(["members", "--help"])
    check(rc == 0 and "--label" in out, "members --help")
    rc, out, err = run(["version"])
    check(rc == 0 and re.match(r"^gossamer \d+\.\d+\.\d+\n$", out) is not None,
          "version without daemon: client only: %r" % out)

    # ---------------- wait, started before any daemon: must ride out the
    # missing socket and return once three members are alive
    wait_timeout = 120 * MULT
    t0 = time.monotonic()
    waiter = subprocess.Popen([GOSSAMER, "--socket", a.sock, "wait", "--members", "3",
                               "--timeout", str(wait_timeout)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=base_env(), preexec_fn=_die_with_parent)
    waiters.append(waiter)
    time.sleep(0.5)
    check(waiter.poll() is None, "wait --members 3 keeps waiting while no daemon runs")

    a.start()
    ok = poll_until(lambda: run(["status", "--json"], a.sock)[0] == 0, 20)
    if not check(ok, "alpha answers on its control socket"):
        fatal("alpha did not come up:\n" + a.tail_log())
    b.start()
    # two daemons: the waiter must still be waiting
    poll_until(lambda: (lambda s: s and s["members"]["alive"] >= 2)(
        run_json(["status"], a.sock, "status alpha (2 nodes)")), 20)
    check(waiter.poll() is None, "wait --members 3 still waiting with 2 members alive")
    c.start()
    try:
        wout, werr = waiter.communicate(timeout=wait_timeout + 10)
    except subprocess.TimeoutExpired:
        waiter.kill()
        wout, werr = waiter.communicate()
    elapsed = time.monotonic() - t0
    check(waiter.returncode == 0, "wait --members 3 exits 0 (got %s, %r)" % (waiter.returncode, werr))
    check(wout == "" and werr == "", "wait prints nothing on success (%r %r)" % (wout, werr))
    check(elapsed < wait_timeout / 2,
          "wait returned long before its timeout (%.1fs of %.0fs)" % (elapsed, wait_timeout))
    st = run_json(["status"], a.sock, "status after wait")
    check(st is not None and st["members"]["alive"] >= 3, "3 members alive when wait returned")
    print("wait --members 3 returned after %.2fs (timeout %.0fs)" % (elapsed, wait_timeout))

    # ---------------- wait that cannot hold: times out, exit 1, one line
    t1 = time.monotonic()
    rc, out, err = run(["wait", "--members", "50", "--timeout", "1"], a.sock)
    check(rc == 1, "wait --members 50 --timeout 1: exit 1 (got %d)" % rc)
    check(out == "" and len(err.splitlines()) == 1 and "timed out" in err,
          "wait timeout: one stderr line: %r" % err)
    check(time.monotonic() - t1 >= 1.0, "wait timeout honoured (not earlier than 1s)")
    rc, out, err = run(["wait", "--members", "1", "--timeout", "1"],
                       os.path.join(root, "nobody.sock"))
    check(rc == 1 and "nobody.sock" in err and len(err.splitlines()) == 1,
          "wait on a missing daemon times out naming the socket: %r" % err)

    # ---------------- convergence
    rc, out, err = run(["wait", "--converged", "--members", "3", "--timeout", str(60 * MULT)],
                       a.sock)
    check(rc == 0, "wait --converged: exit 0 (%r)" % err)
    for n in (b, c):
        rc, _, err = run(["wait", "--converged", "--members", "3", "--timeout", str(60 * MULT)],
                         n.sock)
        check(rc == 0, "wait --converged on %s (%r)" % (n.key, err))
    rc, out, err = run(["wait", "--converged", "--timeout", "5", "--json"], a.sock)
    check(rc == 0 and json.loads(out)["converged"] is True, "wait --json prints the status")

    # ---------------- members --json on every node, field by field
    views = {}
    for n in (a, b, c):
        ms = run_json(["members"], n.sock, "members %s" % n.key)
        if not check(isinstance(ms, list), "members --json on %s is an array" % n.key):
            continue
        for m in ms:
            check_member_obj(m, "members@%s" % n.key)
        views[n.key] = ms
        names = [m.get("name") for m in ms]
        check(sorted(names) == sorted([a.name, b.name, c.name]),
              "members@%s lists the three nodes: %r" % (n.key, names))
        check(names == sorted(names), "members@%s sorted by name" % n.key)
        selfs = [m for m in ms if m.get("self") is True]
        check(len(selfs) == 1 and selfs[0]["name"] == n.name,
              "members@%s: self true exactly once, on itself" % n.key)
        check(all(m.get("state") == "alive" for m in ms), "members@%s: all alive" % n.key)
    if len(views) == 3:
        ids = {}
        for key, ms in views.items():
            for m in ms:
                ids.setdefault(m["name"], set()).add((m["id"], m["wg_public_key"]))
        for name, s in ids.items():
            check(len(s) == 1, "node %s has the same id and key in every view: %r" % (name, s))
        all_ids = [next(iter(s))[0] for s in ids.values()]
        check(len(set(all_ids)) == 3, "ids are distinct")
        am = members_by_name(views["bravo"])[a.name]
        check(am["id"] == a_id, "alpha's id (seen from bravo) is the one keygen made")
        check(am["wg_public_key"] == a_wg, "alpha's WireGuard key is the one keygen made")
        check(am["labels"] == a.labels, "alpha's labels: %r" % am["labels"])
        cm = members_by_name(views["alpha"])[c.name]
        check(cm["labels"] == c.labels, "charlie's labels: %r" % cm["labels"])
        check(any(ep["address"] == "127.0.0.1:%d" % c.wport for ep in cm["endpoints"]),
              "charlie's configured endpoint advertised: %r" % cm["endpoints"])
        addrs = [x for ms in views["alpha"] for x in ms["overlay_addresses"]]
        check(len(addrs) == len(set(addrs)) and len(addrs) >= 3,
              "overlay addresses present and distinct: %r" % addrs)

    # ---------------- filters
    ms = run_json(["members", "--label", "role=web"], a.sock, "members --label role=web")
    check(ms is not None and sorted(m["name"] for m in ms) == sorted([b.name, c.name]),
          "--label role=web selects bravo and charlie")
    ms = run_json(["members", "--label", "role=web", "--label", "zone"], a.sock, "two labels")
    check(ms is not None and [m["name"] for m in ms] == [c.name], "--label role=web --label zone")
    ms = run_json(["members", "--state", "dead,left"], a.sock, "members --state dead,left")
    check(ms == [], "--state dead,left: none yet (%r)" % ms)
    ms = run_json(["members", "--state", "alive"], a.sock, "members --state alive")
    check(ms is not None and len(ms) == 3, "--state alive: 3")

    # ---------------- status --json
    for n in (a, b, c):
        st = run_json(["status"], n.sock, "status %s" % n.key)
        if not check(isinstance(st, dict), "status --json on %s is an object" % n.key):
            continue
        for k, t in (("name", str), ("id", str), ("backend", str), ("interface", str),
                     ("members", dict), ("converged", bool)):
            check(isinstance(st.get(k), t), "status@%s.%s is %s: %r" % (n.key, k, t.__name__, st.get(k)))
        check(st.get("name") == n.name, "status@%s name" % n.key)
        check(st.get("backend") == "none", "status@%s backend none" % n.key)
        check(st.get("interface") == "gsmt" + n.key[:8], "status@%s interface" % n.key)
        if n.key in views:
            selfm = [m for m in views[n.key] if m["self"]]
            check(selfm and st.get("id") == selfm[0]["id"], "status@%s id = its self member id" % n.key)
            check(st.get("wg_public_key") in (None, selfm[0]["wg_public_key"]),
                  "status@%s wg key = self member's" % n.key)
        cnt = st.get("members", {})
        parts = [cnt.get(k) for k in ("alive", "suspect", "dead", "left")]
        check(all(isinstance(x, int) for x in parts) and isinstance(cnt.get("total"), int),
              "status@%s counts are integers: %r" % (n.key, cnt))
        if all(isinstance(x, int) for x in parts):
            check(sum(parts) == cnt.get("total"), "status@%s counts add up: %r" % (n.key, cnt))
            check(cnt["alive"] == 3 and cnt["total"] == 3, "status@%s: 3 alive of 3" % n.key)
        # (convergence itself is checked through `wait --converged` above; a
        # live view may briefly report false between anti-entropy rounds)
        for k in ("wg_port", "gossip_port"):
            if k in st:
                check(st[k] == (n.wport if k == "wg_port" else n.gport), "status@%s %s" % (n.key, k))

    # ---------------- peers --json
    for n in (a, b, c):
        ps = run_json(["peers"], n.sock, "peers %s" % n.key)
        if not check(isinstance(ps, list), "peers --json on %s is an array" % n.key):
            continue
        if not ps:
            # backend none has no WireGuard device: nothing to report
            st = run_json(["status"], n.sock, "status %s" % n.key)
            check(st and st.get("backend") == "none", "peers@%s empty only with backend none" % n.key)
        for p in ps:
            for k, t in (("wg_public_key", str), ("allowed_ips", list), ("latest_handshake", int),
                         ("rx_bytes", int), ("tx_bytes", int), ("relayed", bool)):
                check(isinstance(p.get(k), t), "peer@%s.%s is %s: %r" % (n.key, k, t.__name__, p.get(k)))
            for k in ("name", "endpoint"):
                check(k in p and (p[k] is None or isinstance(p[k], str)),
                      "peer@%s.%s string or null" % (n.key, k))
        if n.key in views and ps:
            # a backend that reports peers must report exactly the other members
            others = {m["wg_public_key"]: m for m in views[n.key] if not m["self"]}
            keys = {p.get("wg_public_key") for p in ps}
            check(keys == set(others), "peers@%s = the other members' keys (%d peers)" % (n.key, len(ps)))
            for p in ps:
                m = others.get(p.get("wg_public_key"))
                if m:
                    check(p.get("name") == m["name"], "peer name matches member")
                    check(set(a.split("/")[0] for a in m["overlay_addresses"]) <=
                          set(x.split("/")[0] for x in p.get("allowed_ips", [])),
                          "peer allowed_ips cover the member's overlay addresses")
                    check(p.get("relayed") is False, "loopback peers are direct")

    # ---------------- human output
    rc, out, err = run(["members"], a.sock)
    check(rc == 0 and err == "", "members (human): exit 0, quiet stderr")
    lines = check_table(out, "members", ["NAME", "ID", "STATE"])
    check("\x1b" not in out, "members: no colour when stdout is not a terminal")
    check(len(lines) == 4, "members: header + 3 rows")
    stars = [l for l in lines[1:] if l.startswith("*")]
    check(len(stars) == 1 and a.name in stars[0], "members: exactly one row marked self, alpha's")
    col = lines[0].index("STATE")
    for l in lines[1:]:
        check(l[col:col + 5] == "alive", "members: STATE column aligned: %r" % l)
    check(any(a_id[:8] in l for l in lines), "members: short id shown")
    check(long_name not in out and "charlie-xx" in out, "members: long name elided to fit: %r" % out)
    rc, out, err = run(["members", "--wide"], a.sock)
    check(rc == 0 and long_name in out, "members --wide: nothing elided")
    check("team=platform-infra" in out, "members --wide: labels in full")
    rc, out, err = run(["members"], a.sock, env={"COLUMNS": "60"})
    check_table(out, "members COLUMNS=60", ["NAME"], max_width=60)

    rc, out, err = run(["status"], a.sock)
    check(rc == 0, "status (human) exit 0")
    for l in out.splitlines():
        check(display_width(l) <= 80, "status line fits 80: %r" % l)
    check(re.search(r"^Name:\s+alpha$", out, re.M) is not None, "status shows the name")
    check(a_id in out, "status shows the full node id")
    check(re.search(r"^Members:\s+3 alive, 0 suspect, 0 dead, 0 left \(3 total\)$", out, re.M)
          is not None, "status member counts: %r" % out)
    check(re.search(r"^Converged:\s+yes", out, re.M) is not None, "status converged yes")
    rc, out, err = run(["peers"], a.sock)
    check(rc == 0, "peers (human) exit 0")
    plines = check_table(out, "peers", ["PEER", "ENDPOINT", "HANDSHAKE", "RX", "TX"], min_rows=0)
    ps = run_json(["peers"], a.sock, "peers alpha")
    check(ps is not None and len(plines) == 1 + len(ps), "peers table: one row per peer")

    # colour: on a terminal yes, with NO_COLOR or --json never
    rc, out = run_pty(["--socket", a.sock, "members"])
    check(rc == 0 and "\x1b[" in out, "members on a tty is coloured")
    check(all(display_width(l) <= 80 for l in out.splitlines()),
          "members on a tty (no size set) fits 80 columns")
    rc, out = run_pty(["--socket", a.sock, "members"], env={"NO_COLOR": "1"})
    check(rc == 0 and "\x1b" not in out and "alpha" in out, "NO_COLOR: no colour on a tty")
    rc, out = run_pty(["--socket", a.sock, "members", "--json", "--color=always"])
    check(rc == 0 and "\x1b" not in out and json.loads(out), "--json on a tty: no colour")

    # ---------------- version with a daemon
    v = run_json(["version"], a.sock, "version --json")
    check(v is not None and isinstance(v.get("client"), str) and isinstance(v.get("daemon"), str),
          "version --json: client and daemon versions: %r" % v)

    # ---------------- join: delta starts alone, then joins through bravo
    d.start()
    ok = poll_until(lambda: run(["status", "--json"], d.sock)[0] == 0, 20)
    check(ok, "delta answers")
    st = run_json(["status"], d.sock, "status delta alone")
    check(st is not None and st["members"]["total"] == 1, "delta alone: 1 member")
    # nobody listens on this port: a daemon that reports answers says 0 and
    # the CLI fails; one that does not (no "answered") can only say "sent"
    dead_port = free_udp_port()
    rc, out, err = run(["join", "--json", "--timeout", "1", "127.0.0.1:%d" % dead_port], d.sock)
    r = json.loads(out) if out.strip() else None
    check(isinstance(r, dict) and isinstance(r.get("contacted"), int),
          "join to a dead port: result printed (%r %r)" % (out, err))
    if isinstance(r, dict) and "answered" in r:
        check(r["answered"] == 0 and rc == 1 and len(err.splitlines()) == 1,
              "join to a dead port: answered 0, exit 1 (%d %r)" % (rc, err))
    else:
        check(rc == 0, "join to a dead port without 'answered' support: exit 0 (%d)" % rc)
    rc, out, err = run(["join", "127.0.0.1:%d" % b.gport], d.sock)
    check(rc == 0 and re.match(r"^contacted 1 of 1 seed(, 1 answered)?\n$", out) is not None,
          "join: exit 0, 'contacted 1 of 1 seed' (%d %r %r)" % (rc, out, err))
    rc, out, err = run(["wait", "--members", "4", "--timeout", str(60 * MULT)], d.sock)
    check(rc == 0, "delta sees 4 alive after join (%r)" % err)
    rc, out, err = run(["wait", "--members", "4", "--timeout", str(60 * MULT)], a.sock)
    check(rc == 0, "alpha sees delta after join (%r)" % err)
    ms = run_json(["members"], a.sock, "members after join")
    check(ms is not None and d.name in [m["name"] for m in ms], "delta in alpha's members")
    r = run_json(["join", "127.0.0.1:%d" % c.gport], d.sock, "join --json")
    check(isinstance(r, dict) and isinstance(r.get("contacted"), int), "join --json: {contacted: N}")

    # ---------------- reload: change bravo's labels in its config file
    b.labels = {"role": "cache", "tier": "gold"}
    b.write_config()
    rc, out, err = run(["reload"], b.sock)
    check(rc == 0 and out.strip() == "configuration reloaded", "reload: exit 0 (%r %r)" % (out, err))

    def bravo_relabelled():
        ms = run_json(["members"], a.sock, "members (reload)")
        return ms and members_by_name(ms).get(b.name, {}).get("labels") == b.labels
    check(poll_until(bravo_relabelled, 30), "reloaded labels reach alpha")
    check(poll_until(lambda: [m["name"] for m in (run_json(["members", "--label", "tier=gold"],
                                                           c.sock, "filter") or [])] == [b.name], 30),
          "--label tier=gold finds bravo after reload")
    # a broken config is refused: exit 1, one line, daemon keeps running
    b.write_config(garbage=True)
    rc, out, err = run(["reload"], b.sock)
    check(rc == 1 and out == "" and len(err.splitlines()) == 1 and "reload" in err,
          "bad reload refused: exit 1, one line (%d %r)" % (rc, err))
    check(b.alive(), "bravo survives a bad reload")
    b.write_config()
    # a second cluster key made by the CLI is accepted by a live reload
    key2 = os.path.join(root, "cluster-2.key")
    rc, out, err = run(["keygen", "cluster", "--key-id", "2", "-o", key2])
    check(rc == 0, "keygen cluster --key-id 2 (%r)" % err)
    line2 = [l for l in open(key2).read().splitlines() if l and not l.startswith("#")]
    check(len(line2) == 1 and line2[0].startswith("2 "), "key id 2 line: %r" % line2)
    with open(key, "a") as f:
        f.write(line2[0] + "\n")
    rc, out, err = run(["reload"], b.sock)
    check(rc == 0, "reload with a CLI-made second cluster key (%d %r)" % (rc, err))

    # ---------------- leave: delta leaves, others see 'left'
    rc, out, err = run(["leave"], d.sock)
    check(rc == 0 and out.strip() != "", "leave: exit 0 (%r %r)" % (out, err))
    try:
        d.proc.wait(timeout=30 * MULT)
    except subprocess.TimeoutExpired:
        pass
    check(not d.alive(), "delta exited after leave")

    def delta_left():
        ms = run_json(["members", "--state", "left"], a.sock, "members --state left")
        return ms is not None and [m["name"] for m in ms] == [d.name]
    check(poll_until(delta_left, 30), "alpha shows delta as left")
    ms = run_json(["members", "--state", "alive"], a.sock, "alive after leave")
    check(ms is not None and d.name not in [m["name"] for m in ms], "delta not alive")
    st = run_json(["status"], a.sock, "status after leave")
    if st:
        cnt = st["members"]
        check(cnt["alive"] + cnt["suspect"] + cnt["dead"] + cnt["left"] == cnt["total"],
              "counts still add up: %r" % cnt)
    rc, out, err = run(["members"], a.sock)
    left_rows = [l for l in out.splitlines() if "left" in l.split()]
    check(len(left_rows) == 1 and d.name in left_rows[0], "members table shows delta left")
    rc, out, err = run(["status"], d.sock)
    check(rc == 1 and len(err.splitlines()) == 1 and d.sock in err,
          "after leave: delta's socket is gone: one line naming it")

    # ---------------- a crashed node: suspected, then dead; counts add up
    c.proc.kill()
    c.proc.wait()

    def charlie_down():
        ms = run_json(["members", "--state", "suspect,dead"], a.sock, "members --state suspect,dead")
        return ms is not None and [m["name"] for m in ms] == [c.name] and ms[0]["state"]
    state = poll_until(charlie_down, 60, interval=0.1)
    check(state in ("suspect", "dead"), "killed charlie becomes suspect/dead at alpha (%r)" % state)

    def charlie_dead():
        ms = run_json(["members", "--state", "dead"], a.sock, "members --state dead")
        return ms is not None and [m["name"] for m in ms] == [c.name]
    check(poll_until(charlie_dead, 60, interval=0.1), "charlie ends up dead")
    st = run_json(["status"], a.sock, "status with a dead member")
    if st:
        cnt = st["members"]
        check(cnt["dead"] >= 1 and cnt["alive"] + cnt["suspect"] + cnt["dead"] + cnt["left"] == cnt["total"],
              "status counts with a dead member add up: %r" % cnt)
    rc, out, err = run(["members"], a.sock)
    rows = [l for l in out.splitlines()[1:] if "dead" in l.split()]
    check(len(rows) == 1 and "charlie" in rows[0], "members table shows charlie dead: %r" % out)
    check(all(display_width(l) <= 80 for l in out.splitlines()), "members with dead/left fits 80")

    print("%d checks, %d failed" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
