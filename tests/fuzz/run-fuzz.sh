#!/bin/sh
# tests/fuzz/run-fuzz.sh FUZZER CORPUS_DIR MAX_LEN
# Runs a libFuzzer target for $GSM_FUZZ_SECONDS (default 60) on a COPY of
# the committed seed corpus in a temporary directory (the repo is never
# written), with memory and input-size bounds.  Exit status is libFuzzer's:
# non-zero on any crash, leak, sanitizer report, timeout or OOM.
set -eu
fuzzer=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
corpus=$2
max_len=$3
secs=${GSM_FUZZ_SECONDS:-60}
work=$(mktemp -d "${TMPDIR:-/tmp}/gsm-fuzz.XXXXXX")
trap 'rm -rf -- "$work"' EXIT INT TERM
mkdir "$work/corpus" "$work/artifacts"
cp -R "$corpus"/. "$work/corpus/"
cd "$work"
set +e
"$fuzzer" -max_total_time="$secs" -rss_limit_mb=1024 -malloc_limit_mb=512 \
	-max_len="$max_len" -timeout=20 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" "$work/corpus" 2>"$work/log"
rc=$?
set -e
tail -n 40 "$work/log"
if [ $rc -ne 0 ]; then
	keep=${GSM_BUILD_ROOT:-${TMPDIR:-/tmp}}/fuzz-artifacts
	mkdir -p "$keep"
	echo "fuzzer failed (exit $rc); reproducers kept in $keep:" >&2
	for f in "$work"/artifacts/*; do
		[ -f "$f" ] || continue
		cp "$f" "$keep/"
		echo "== $keep/$(basename "$f")  (replay: $fuzzer FILE)" >&2
		od -A d -t x1 "$f" | head -n 40 >&2
	done
fi
exit $rc
