#!/bin/bash
# tests/kernel/run-cases.sh - runs inside the VM (see run-suite.sh): every
# tests/kernel/cases/NN-name.sh in order, each with a time limit; prints
# each case's output and result and a summary.  Exit 1 if any case failed.
set -u
src=${GSM_SOURCE_ROOT:?}
bld=${GSM_BUILD_ROOT:?}
export GSM_SOURCE_ROOT=$src GSM_BUILD_ROOT=$bld
filter=${GSM_KERNEL_CASES:-}
per_case=${GSM_KERNEL_CASE_TIMEOUT:-400}
echo "kernel-vm: inside: $(uname -r), wireguard $(cat /sys/module/wireguard/version 2>/dev/null || echo '?'), $(nproc) cpu, $(awk '/MemTotal/ {print int($2/1024) " MiB"}' /proc/meminfo)"
pass=() fail=() skipped=()
for c in "$src"/tests/kernel/cases/[0-9]*.sh; do
	[ -e "$c" ] || continue
	name=$(basename "$c" .sh)
	if [ -n "$filter" ] && ! [[ $name =~ $filter ]]; then
		continue
	fi
	echo
	echo "=== $name"
	t0=$(date +%s.%N)
	cd "$bld" || exit 1
	if [ -x "$c" ]; then
		timeout -k 5 "$per_case" "$c"
	else
		timeout -k 5 "$per_case" bash "$c"
	fi
	rc=$?
	dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	case $rc in
		0) res=PASS; pass+=("$name") ;;
		77) res=SKIP; skipped+=("$name") ;;
		124) res="FAIL (timed out after ${per_case}s)"; fail+=("$name") ;;
		*) res="FAIL (exit $rc)"; fail+=("$name") ;;
	esac
	echo "--- $name: $res in ${dt}s"
done
echo
echo "kernel-vm: ${#pass[@]} passed, ${#fail[@]} failed, ${#skipped[@]} skipped"
for f in ${fail[@]+"${fail[@]}"}; do echo "kernel-vm: FAILED: $f"; done
[ ${#fail[@]} -eq 0 ]
