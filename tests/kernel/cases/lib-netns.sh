# tests/kernel/cases/lib-netns.sh - sourced by case scripts (not a case:
# cases match [0-9]*.sh).  gsm_netns NAME: create a namespace with lo up,
# deleted again when the script exits, whatever happens.
GSM_NETNS_LIST=()
gsm_netns_cleanup() {
	local n
	for n in ${GSM_NETNS_LIST[@]+"${GSM_NETNS_LIST[@]}"}; do
		ip netns del "$n" 2>/dev/null || true
	done
}
trap gsm_netns_cleanup EXIT
gsm_netns() {
	ip netns add "$1" || return 1
	GSM_NETNS_LIST+=("$1")
	ip -n "$1" link set lo up
}
KTEST="$GSM_BUILD_ROOT/tests/netlink/gnl-ktest"
[ -x "$KTEST" ] || { echo "missing $KTEST (build it first)"; exit 1; }
