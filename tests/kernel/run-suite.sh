#!/bin/bash
# tests/kernel/run-suite.sh - the `kernel-vm` meson test (suite 'kernel').
#
# Boots ONE throw-away qemu VM with a real Linux kernel that has WireGuard
# (../shared/kernel-vm/wg-vm.sh beside the repository) and runs every case
# tests/kernel/cases/NN-name.sh in it, in order (tests/kernel/run-cases.sh).
#
# Contract for cases (other modules add theirs): an executable script
# tests/kernel/cases/NN-name.sh, run as root inside the VM with GSM_BUILD_ROOT
# and GSM_SOURCE_ROOT set, cwd = GSM_BUILD_ROOT; exit 0 pass, 77 skip,
# anything else fail.  Make your own network namespaces and remove them.
#
# Exit: 77 (meson SKIP) only when the VM cannot be had here (no qemu, no
# kernel with wireguard.ko, no wg-vm.sh, not root), with the reason printed;
# otherwise 0 if every case passed or skipped, 1 if any failed or the VM
# broke.
#
# Environment: GSM_KERNEL_CASES       only cases whose file name matches this
#                                      extended regex (e.g. 'netlink|daemon')
#              GSM_KERNEL_VM_MEM      guest MiB (default 1024: 10 000 peers)
#              GSM_KERNEL_VM_TIMEOUT  seconds for the whole VM (default 840)
#              GSM_KERNEL_CASE_TIMEOUT seconds per case (default 400)
set -uo pipefail

src=${GSM_SOURCE_ROOT:?GSM_SOURCE_ROOT not set}
bld=${GSM_BUILD_ROOT:?GSM_BUILD_ROOT not set}
src=$(cd "$src" && pwd -P)
bld=$(cd "$bld" && pwd -P)

skip() { echo "kernel-vm: SKIP: $*"; exit 77; }

vm=${GSM_WG_VM:-$src/../shared/kernel-vm/wg-vm.sh}
[ -r "$vm" ] || skip "no $vm (the shared kernel-vm kit beside the repository)"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (scripts/setup installs qemu-system-x86)"
[ "$(id -u)" = 0 ] || skip "must run as root (wg-vm.sh needs it)"
[ -x /bin/busybox ] || skip "busybox-static not installed"
haswg=
for k in /boot/vmlinuz-*; do
	[ -e "$k" ] || continue
	v=${k#/boot/vmlinuz-}
	ls /lib/modules/"$v"/kernel/drivers/net/wireguard/wireguard.ko* >/dev/null 2>&1 && haswg=$k
done
[ -n "$haswg" ] || skip "no /boot/vmlinuz-* with a wireguard module (scripts/setup installs linux-image-amd64)"

ncases=$(ls "$src"/tests/kernel/cases/[0-9]*.sh 2>/dev/null | wc -l)
echo "kernel-vm: booting $haswg for $ncases case(s) (one VM)"
cd "$bld" || exit 1
start=$(date +%s)
# no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer
# check can fail spuriously and panic the boot
export WGVM_APPEND="${WGVM_APPEND:-} no_timer_check"
log=$(mktemp "${TMPDIR:-/tmp}/gsm-kernel-vm.XXXXXX")
trap 'rm -f "$log"' EXIT
for attempt in 1 2; do
	# the build dir is shared read-write; the rest of the host is visible
	# read-only (so the source tree and installed tools are there too)
	bash "$vm" -m "${GSM_KERNEL_VM_MEM:-1024}" -t "${GSM_KERNEL_VM_TIMEOUT:-840}" -s "$bld" \
		-e "GSM_SOURCE_ROOT=$src" -e "GSM_BUILD_ROOT=$bld" \
		-e "GSM_KERNEL_CASES=${GSM_KERNEL_CASES:-}" \
		-e "GSM_KERNEL_CASE_TIMEOUT=${GSM_KERNEL_CASE_TIMEOUT:-400}" \
		-- bash "$src/tests/kernel/run-cases.sh" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	# a VM that died before running anything (boot panic) gets one retry
	if [ "$rc" = 125 ] && ! grep -q '^kernel-vm: inside:' "$log" && [ $attempt = 1 ]; then
		echo "kernel-vm: the VM failed to boot; retrying once"
		continue
	fi
	break
done
echo "kernel-vm: VM finished with status $rc after $(( $(date +%s) - start )) s"
case $rc in
	0) exit 0 ;;
	124) echo "kernel-vm: FAIL: the VM timed out"; exit 1 ;;
	125) echo "kernel-vm: FAIL: the VM itself failed (see the console tail above)"; exit 1 ;;
	*) exit 1 ;;
esac
