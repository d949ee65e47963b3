#!/bin/bash
# netlink/: apply 1, 100, 1000 and 10 000 peers to a kernel WireGuard
# interface created through rtnetlink; the state read back must equal what
# was asked (keys, endpoints, keepalive, PSKs, allowed IPs); a peer with
# 2000 allowed IPs split across messages both ways; setconf-style replace.
set -eu
. "$GSM_SOURCE_ROOT/tests/kernel/cases/lib-netns.sh"
ns=gnl-peers-$$
gsm_netns "$ns"
ip netns exec "$ns" "$KTEST" peers
