#!/bin/bash
# netlink/ rtnetlink: create, adopt without recreating (ifindex unchanged),
# refuse a non-WireGuard link of the same name, MTU/up, IPv4+IPv6 addresses
# and routes (main table and table 1234) added and removed idempotently,
# route lookup with route MTU, kernel rejection text (extended ACK);
# without CAP_NET_ADMIN: permission errors that say so.
set -eu
. "$GSM_SOURCE_ROOT/tests/kernel/cases/lib-netns.sh"
ns=gnl-rtnl-$$
gsm_netns "$ns"
ip -n "$ns" link add gnlr-veth0 type veth peer name gnlr-veth1
ip netns exec "$ns" "$KTEST" rtnl gnlr-veth0
if command -v setpriv >/dev/null; then
	ip netns exec "$ns" setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$KTEST" eperm
else
	echo "setpriv missing: unprivileged checks not run"
fi
