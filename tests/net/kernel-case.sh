#!/bin/bash
# tests/net/kernel-case.sh [SCRIPT.py LOGNAME | SCENARIO] ARGS... - used by the
# kernel-VM cases tests/kernel/cases/5x-netns-*.sh: runs tests/net/SCRIPT.py
# (default scenarios.py) with the kernel backend inside the VM, bounds
# scaled for the emulated CPU, logs copied to the build dir.
set -u
gsmd="$GSM_BUILD_ROOT/daemon/gossamerd"
[ -x "$gsmd" ] || { echo "SKIP: $gsmd not built"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
# with SCRIPT.py, the next word names its log directories (not passed on)
script=scenarios.py
case ${1:-} in *.py) script=$1; name=$2; shift 2 ;; *) name=$1 ;; esac
# The VM loads wireguard and veth only; the harness needs a bridge (and
# nftables for fault scenarios).  No module autoloading in there.
for m in bridge nf_tables nft_numgen nft_ct nft_nat nft_masq nf_nat; do
	modprobe -q "$m" 2>/dev/null || true
done
logs=/tmp/gsmnet-logs
export GSM_NET_LOGDIR=$logs
# TCG emulation is ~10x slower than the host: scale the scenario bounds.
export GSM_NET_SLOWDOWN=${GSM_NET_SLOWDOWN:-6}
python3 "$GSM_SOURCE_ROOT/tests/net/$script" "$@" --backend kernel
rc=$?
out="$GSM_BUILD_ROOT/tests/net/logs-kernel"
mkdir -p "$out" 2>/dev/null && for d in "$logs"/"$name"-*; do
	[ -d "$d" ] || continue
	rm -rf "$out/$(basename "$d")"
	(cd "$logs" && find "$(basename "$d")" -type f \( -name '*.log' -o -name '*.json' \) \
		-exec cp --parents {} "$out"/ \;) 2>/dev/null
done
exit $rc
