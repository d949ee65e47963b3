#!/bin/bash
# The exit-node scenario (tests/net/test_exit.py, docs/routing.md "Exit
# nodes") with kernel WireGuard: the consumer's device fwmark set through
# WGDEVICE_A_FWMARK, /0 in the exit's allowed IPs, table 51822 and the
# `not fwmark` rules; traffic to an internet host leaves through E1, fails
# over to E2 and back; `exit-node off` restores ip rule / ip route show
# table all byte-for-byte.  See 50-netns-converge.sh for logs.
# The VM does not autoload modules: the exits' `inet` nat chain needs
# nft_chain_nat (kernel-case.sh loads the rest).
for m in nft_chain_nat nft_masq nf_nat; do
	modprobe -q "$m" 2>/dev/null || true
done
exec bash "$GSM_SOURCE_ROOT/tests/net/kernel-case.sh" test_exit.py exit
