#!/usr/bin/env python3
"""Summarise meson testlog.json files into one closing line:
   N passed, N failed, N skipped
Exit status 1 when anything failed (or a build failed), else 0."""
import json
import sys

PASS = {"OK", "EXPECTEDFAIL"}
SKIP = {"SKIP"}

def main(argv):
    build_failed = "--build-failed" in argv
    paths = [a for a in argv if not a.startswith("--")]
    passed = failed = skipped = 0
    failures = []
    for path in paths:
        try:
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if not line:
                        continue
                    t = json.loads(line)
                    r = t.get("result", "")
                    if r in PASS:
                        passed += 1
                    elif r in SKIP:
                        skipped += 1
                    else:
                        failed += 1
                        failures.append(f"{t.get('name')} ({r})")
        except FileNotFoundError:
            failed += 1
            failures.append(f"{path} missing")
    if build_failed:
        failed += 1
        failures.append("build")
    for name in failures:
        print(f"FAILED: {name}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
