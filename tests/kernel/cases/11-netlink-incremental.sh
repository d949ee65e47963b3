#!/bin/bash
# netlink/: 10 000 peers, three of them real (other WireGuard interfaces in
# the same namespace, reached over 127.0.0.1) with completed handshakes;
# then one endpoint change, one allowed-IP addition, one removal, one peer
# swapped: each sends only the peers concerned, and the real peers keep
# their handshake time and counters (no session reset).
set -eu
. "$GSM_SOURCE_ROOT/tests/kernel/cases/lib-netns.sh"
ns=gnl-incr-$$
gsm_netns "$ns"
ip netns exec "$ns" "$KTEST" incremental
# dumps of 10 000 peers while another socket adds/removes peers: every
# returned dump is consistent (NLM_F_DUMP_INTR replies are retried)
ip netns exec "$ns" "$KTEST" dumpintr
