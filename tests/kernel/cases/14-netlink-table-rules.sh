#!/bin/bash
# netlink/ routing design (docs/routing.md): routes added into our own
# table with NLM_F_EXCL never replace anything (a main-table route of the
# same prefix stays untouched; an add into main of an existing prefix is a
# no-op); a /0 in our table behind our `suppress_prefixlength 0` rule does
# not change the namespace's default route; rule add/del are idempotent
# (exactly one rule per family after two adds, none after two deletes);
# deletion only removes routes of our protocol; route listing by table and
# protocol.  GSM_KTEST_LINK_KIND=tun runs it without WireGuard (a tun device, as
# the userspace backend has).
set -eu
. "$GSM_SOURCE_ROOT/tests/kernel/cases/lib-netns.sh"
ns=gnl-table-$$
kind=${GSM_KTEST_LINK_KIND:-wireguard}
T=51821 P=5210
gsm_netns "$ns"
x() { ip netns exec "$ns" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }

# underlay: a veth pair inside the namespace, default routes via the peer
x ip link add u0 type veth peer name u1
x ip addr add 10.98.0.1/24 dev u0
x ip addr add fd98::1/64 dev u0 nodad
x ip link set u0 up
x ip link set u1 up
x ip route add default via 10.98.0.2 dev u0
x ip -6 route add default via fd98::2 dev u0
x ip route add 10.99.0.0/24 via 10.98.0.2 dev u0
if [ "$kind" = tun ]; then
	x ip tuntap add dev gsmt0 mode tun
else
	x ip link add gsmt0 type "$kind"
fi
x ip addr add 10.77.0.1/16 dev gsmt0
x ip link set gsmt0 up
x ip link set gsmt0 mtu 1380
[ "$(x cat /sys/class/net/gsmt0/mtu)" = 1380 ] || fail "MTU not applied"

main4=$(x ip route show table main)
main6=$(x ip -6 route show table main)
get4=$(x ip route get 192.0.2.55)
get6=$(x ip -6 route get 2001:db8::55)
echo "$get4" | grep -q "dev u0" || fail "setup: $get4"

# our table: the prefix main already has, a /0 for each family, a subnet
x "$KTEST" route add gsmt0 $T 77 10.99.0.0/24 0.0.0.0/0 ::/0 10.50.0.0/16 fd50::/64
x "$KTEST" route add gsmt0 $T 77 10.99.0.0/24 0.0.0.0/0   # again: idempotent
# into main, a prefix main has: EXCL, so nothing is replaced
x "$KTEST" route add gsmt0 0 77 10.99.0.0/24
x "$KTEST" rule add $T $P
x "$KTEST" rule add $T $P
[ "$(x "$KTEST" rule count $T $P)" = 2 ] || fail "want 1 rule per family: $(x ip rule; x ip -6 rule)"
x ip rule | grep -q "^$P:.*lookup $T suppress_prefixlength 0" || fail "v4 rule: $(x ip rule)"
x ip -6 rule | grep -q "^$P:.*lookup $T suppress_prefixlength 0" || fail "v6 rule: $(x ip -6 rule)"
echo "table $T:"; x ip route show table $T; x ip -6 route show table $T
n=$(x "$KTEST" route list $T 77 | wc -l)
[ "$n" = 5 ] || fail "route list table $T proto 77: $n routes"

[ "$(x ip route show table main)" = "$main4" ] || fail "main (v4) changed: $(x ip route show table main)"
[ "$(x ip -6 route show table main)" = "$main6" ] || fail "main (v6) changed"
[ "$(x ip route get 192.0.2.55)" = "$get4" ] || fail "default v4 overridden: $(x ip route get 192.0.2.55)"
[ "$(x ip -6 route get 2001:db8::55)" = "$get6" ] || fail "default v6 overridden: $(x ip -6 route get 2001:db8::55)"
# a more specific prefix of ours is used
x ip route get 10.50.1.1 | grep -q "dev gsmt0" || fail "our /16 not used: $(x ip route get 10.50.1.1)"
x ip -6 route get fd50::9 | grep -q "dev gsmt0" || fail "our /64 not used"

# a route of another protocol in our table is never deleted by us
x ip route add 10.51.0.0/24 dev gsmt0 table $T proto static
x "$KTEST" route del gsmt0 $T 77 10.51.0.0/24
x ip route show table $T | grep -q "^10.51.0.0/24" || fail "foreign route in our table deleted"

# withdrawal: only ours, only our table
x "$KTEST" route del gsmt0 $T 77 10.99.0.0/24 0.0.0.0/0 ::/0 10.50.0.0/16 fd50::/64
x "$KTEST" route del gsmt0 $T 77 10.99.0.0/24   # absent: fine
[ "$(x "$KTEST" route list $T 77 | wc -l)" = 0 ] || fail "routes left in table $T"
[ "$(x ip route show table main)" = "$main4" ] || fail "main (v4) changed by withdrawal"
[ "$(x ip -6 route show table main)" = "$main6" ] || fail "main (v6) changed by withdrawal"
x "$KTEST" rule del $T $P
x "$KTEST" rule del $T $P
[ "$(x "$KTEST" rule count $T $P)" = 0 ] || fail "rules left: $(x ip rule)"
echo "ok: main untouched, default route kept, rules idempotent"
