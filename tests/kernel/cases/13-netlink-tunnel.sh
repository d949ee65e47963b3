#!/bin/bash
# netlink/: two namespaces joined by veth; in each, a WireGuard interface
# configured ONLY through netlink/ (link, private key, peer, endpoint,
# allowed IP, address, up, route: gnl-ktest setup); ping crosses the tunnel.
set -eu
. "$GSM_SOURCE_ROOT/tests/kernel/cases/lib-netns.sh"
a=gnl-tA-$$ b=gnl-tB-$$
gsm_netns "$a"
gsm_netns "$b"
# underlay (not WireGuard configuration): veth between the namespaces
ip link add gnlv-a netns "$a" type veth peer name gnlv-b netns "$b"
ip -n "$a" addr add 10.250.255.1/30 dev gnlv-a
ip -n "$b" addr add 10.250.255.2/30 dev gnlv-b
ip -n "$a" link set gnlv-a up
ip -n "$b" link set gnlv-b up
# (no process substitution: the VM has no /dev/fd)
keys=$("$KTEST" genkey); ka=${keys% *} pa=${keys#* }
keys=$("$KTEST" genkey); kb=${keys% *} pb=${keys#* }
ip netns exec "$a" "$KTEST" setup gnlw0 "$ka" 10.250.40.1/32 51820 "$pb" 10.250.255.2:51820 10.250.40.2/32 10.250.40.2/32
ip netns exec "$b" "$KTEST" setup gnlw0 "$kb" 10.250.40.2/32 51820 "$pa" 10.250.255.1:51820 10.250.40.1/32 10.250.40.1/32
ip netns exec "$a" ping -c 2 -i 0.3 -W 5 10.250.40.2
ip netns exec "$b" ping -c 1 -W 5 10.250.40.1
echo "tunnel state seen by wg(8) in $a:"
ip netns exec "$a" wg show gnlw0 | sed 's/^/  /'
