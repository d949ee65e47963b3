#!/usr/bin/env python3
"""tests/cli/test_docs.py - the man pages and docs/cli.md stay true.

* every long option `gossamerd --help` prints is documented in gossamerd(8),
  and every option gossamerd(8) documents exists;
* every command and long option of `gossamer` (from its own help texts) is
  documented in gossamer(8) and docs/cli.md, and gossamer(8) documents no
  option the CLI lacks;
* both pages render with scdoc (when installed).
"""
import os
import re
import shutil
import subprocess
import sys

SRC = os.environ.get("GSM_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
GOSSAMER = os.environ.get("GOSSAMER_BIN", "build/cli/gossamer")
GOSSAMERD = os.environ.get("GOSSAMERD_BIN", "build/daemon/gossamerd")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)


def read(rel):
    with open(os.path.join(SRC, rel)) as f:
        return f.read()


def long_opts(text):
    return set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", text))


def man_opts(scd):
    # options documented as *--name* (possibly *--name*[=yes|no])
    return set(re.findall(r"\*--([a-z][a-z0-9-]*)\*", scd))


def main():
    env = dict(os.environ, LC_ALL="C")
    dhelp = subprocess.run([GOSSAMERD, "--help"], capture_output=True, text=True, env=env)
    check(dhelp.returncode == 0, "gossamerd --help exits 0")
    dopts = long_opts(dhelp.stdout)
    check(len(dopts) >= 10, "gossamerd --help lists options (%d)" % len(dopts))
    dman = read("docs/man/gossamerd.8.scd")
    mopts = man_opts(dman)
    for o in sorted(dopts - mopts):
        check(False, "gossamerd --%s is not documented in gossamerd.8" % o)
    for o in sorted(mopts - dopts):
        check(False, "gossamerd.8 documents --%s, which gossamerd does not have" % o)

    overview = subprocess.run([GOSSAMER, "help"], capture_output=True, text=True, env=env)
    check(overview.returncode == 0, "gossamer help exits 0")
    commands = re.findall(r"^  ([a-z][a-z-]*)\b", overview.stdout, re.M)
    check(len(commands) >= 10, "gossamer help lists the commands: %r" % commands)
    copts = long_opts(overview.stdout)
    for c in commands:
        h = subprocess.run([GOSSAMER, "help", c], capture_output=True, text=True, env=env)
        check(h.returncode == 0 and h.stdout.startswith("usage: gossamer " + c),
              "gossamer help %s" % c)
        copts |= long_opts(h.stdout)
    gman = read("docs/man/gossamer.8.scd")
    cli_md = read("docs/cli.md")
    gmopts = man_opts(gman)
    for c in commands:
        check(re.search(r"^\*%s\*" % c, gman, re.M) is not None,
              "command %s documented in gossamer.8" % c)
        check("`%s" % c in cli_md, "command %s documented in docs/cli.md" % c)
    for o in sorted(copts):
        check(o in gmopts, "gossamer --%s documented in gossamer.8" % o)
        check("--" + o in cli_md, "gossamer --%s documented in docs/cli.md" % o)
    for o in sorted(gmopts - copts):
        check(False, "gossamer.8 documents --%s, which gossamer does not have" % o)

    scdoc = shutil.which("scdoc")
    if scdoc:
        for page in ("gossamer.8", "gossamerd.8"):
            with open(os.path.join(SRC, "docs/man", page + ".scd")) as f:
                r = subprocess.run([scdoc], stdin=f, capture_output=True, text=True)
            check(r.returncode == 0 and ".TH" in r.stdout, "scdoc renders %s: %s" % (page, r.stderr))

    print("%d failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
