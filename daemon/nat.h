/*
 * daemon/nat.h - NAT traversal logic (pure: no I/O, no clock, no randomness
 * of its own).  See docs/nat.md.
 *
 *  - detection: is an address a peer observed for us one of our own?
 *  - endpoint choice for a peer, with the no-flap rule;
 *  - punch scheduling: when both sides of a NATed pair poke their tunnel
 *    (shared slots, lower node id first, jitter, backoff);
 *  - relay choice (deterministic: both ends of a pair pick the same relay);
 *  - the per-peer path state machine (trying -> direct | relayed) and the
 *    rewrite of a desired WireGuard device that routes relayed peers'
 *    addresses through the relay peer.
 *
 * The runtime owns one struct gsd_nat, calls gsd_nat_plan() right after
 * gsd_reconcile_desired() on every reconcile, and reconciles again at the
 * returned deadline.
 */
#ifndef GOSSAMER_DAEMON_NAT_H
#define GOSSAMER_DAEMON_NAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/members.h"
#include "daemon/reconcile.h"
#include "gossip/wire.h"
#include "netlink/wg.h"

/* A direct path counts as working while its last handshake is younger than
 * this (WireGuard re-handshakes every 120 s on a live tunnel with
 * keepalives, so a working path never gets older). */
#define GSD_NAT_DIRECT_FRESH_S 150
/* NATed pair: give the direct path this long before relaying. */
#define GSD_NAT_DIRECT_TIMEOUT_MS 15000
/* path state of a member that is no longer a peer is kept this long */
#define GSD_NAT_FORGET_MS 120000
/* punch slots: the first period, doubled per failed attempt up to the max */
#define GSD_NAT_PUNCH_BASE_S 20
#define GSD_NAT_PUNCH_MAX_S  300
/* the higher node id of a pair punches this much later (plus jitter) */
#define GSD_NAT_STAGGER_MS 1000
#define GSD_NAT_JITTER_MS  1000
/* a poke sets keepalive 0 for one apply, then back: the 0 -> N change makes
 * WireGuard (kernel and wireguard-go) send a keepalive at once, which starts
 * a handshake (re-armed for 90 s of retries) */
#define GSD_NAT_POKE_HOLD_MS 700

/* ---------------------------------------------------------- detection */

/* true when `observed` (what a peer saw as our source address) is not one
 * of our own addresses `local` (IP compared, port ignored): a NAT (or a
 * proxy) sits between us and that peer.  Loopback and family 0 say
 * nothing (false). */
bool gsd_nat_detect(const struct gsm_addr *observed, const struct gsm_addr *local, size_t n_local);

/* ---------------------------------------------------- endpoint choice */

/* Candidate endpoints of a member, best first, deduplicated (port 0 means
 * the member's WireGuard port):
 *   1. observed endpoints attributed to an observer (reflexive addresses a
 *      peer saw, e.g. WireGuard-observed by a public node),
 *   2. configured endpoints,
 *   3. other observed endpoints,
 *   4. the gossip address with the WireGuard port (only when nothing else).
 * Returns the count (<= cap). */
size_t gsd_nat_candidates(const struct gsd_member *a, const struct gsm_addr *gossip_addr,
			  struct gsm_addr *out, size_t cap);

/* The endpoint to configure for a peer.  No-flap rule: when the current
 * endpoint has a fresh handshake (`cur_fresh`), the answer is "no opinion"
 * (family 0: keep what WireGuard uses, it roams by itself).  Otherwise the
 * current endpoint is kept while it is a candidate and `rotate` is false;
 * with rotate (a punch attempt found no handshake) candidate number
 * `attempt % n` is returned.  No candidates: family 0. */
void gsd_nat_choose_endpoint(const struct gsm_addr *cands, size_t n, const struct gsm_addr *cur,
			     bool cur_fresh, bool rotate, unsigned attempt, struct gsm_addr *out);

/* --------------------------------------------------- punch scheduling */

/* Deterministic 64-bit value both ends of the pair compute alike
 * (BLAKE2b of the two ids in ascending order, and salt). */
uint64_t gsd_nat_pair_hash(const uint8_t a[GSM_ID_LEN], const uint8_t b[GSM_ID_LEN], uint32_t salt);

/* Punch period (ms) for attempt k: BASE * 2^k capped at MAX. */
uint64_t gsd_nat_punch_period_ms(unsigned attempt);

/* The first punch time strictly after `after_unix_ms` (wall clock, ms) for
 * this pair at attempt k.  Slots are aligned to wall-clock multiples of the
 * period shifted by a pair-specific phase, so both ends (clocks roughly in
 * sync) land in the same slot; the lower node id punches at the slot start,
 * the higher one GSD_NAT_STAGGER_MS plus a pair-specific jitter below
 * GSD_NAT_JITTER_MS later (crossing handshakes and keepalive lockstep are
 * avoided).  `jitter_rand` adds local randomness below GSD_NAT_JITTER_MS/2
 * (0 in tests). */
int64_t gsd_nat_punch_at(const uint8_t self[GSM_ID_LEN], const uint8_t peer[GSM_ID_LEN],
			 unsigned attempt, int64_t after_unix_ms, uint32_t jitter_rand);

/* Persistent keepalive for a NATed pair: 25 s on the lower node id's side,
 * 24 s on the other, so the two never run in lockstep. */
uint16_t gsd_nat_keepalive(const uint8_t self[GSM_ID_LEN], const uint8_t peer[GSM_ID_LEN]);

/* -------------------------------------------------------- relay choice */

struct gsd_nat_relay {
	const uint8_t *id; /* node id (GSM_ID_LEN) */
	bool usable;	   /* alive, GSM_ADV_PUBLIC|GSM_ADV_RELAY, a peer of ours */
};

/* Index of the relay for the pair (a, b): among usable candidates other
 * than a and b, the one with the smallest BLAKE2b(pair || relay id)
 * (rendezvous hashing: both ends agree, and when a relay dies only the
 * pairs it served move).  -ENOENT when none. */
int gsd_nat_pick_relay(const uint8_t a[GSM_ID_LEN], const uint8_t b[GSM_ID_LEN],
		       const struct gsd_nat_relay *c, size_t n);

/* ------------------------------------------------------- path state */

enum gsd_nat_path {
	GSD_NAT_DIRECT = 0, /* plain peer (fresh handshake, or no NAT pair) */
	GSD_NAT_TRYING,	    /* NATed pair, no handshake yet, not relayed yet */
	GSD_NAT_RELAYED,    /* traffic goes through relay_id */
};

const char *gsd_nat_path_name(enum gsd_nat_path p);

struct gsd_nat_input {
	uint8_t self_id[GSM_ID_LEN];
	bool self_behind_nat;
	bool self_relay;		     /* we relay for others (not used by the plan) */
	int keepalive;			     /* config: -1 auto, 0 off, N s */
	uint64_t now_ms;		     /* monotonic */
	int64_t now_unix_ms;		     /* wall clock, ms (punch slots) */
	uint32_t jitter_rand;		     /* fresh random value per call */
	uint32_t direct_timeout_ms;	     /* 0 = GSD_NAT_DIRECT_TIMEOUT_MS */
	const struct gnl_wg_device *current; /* may be NULL */
	const struct gsd_rc_member *members;
	size_t n_members;
};

struct gsd_nat;

int gsd_nat_new(struct gsd_nat **out);
void gsd_nat_free(struct gsd_nat *nat);

/* Update the per-peer paths and rewrite `desired` (as built by
 * gsd_reconcile_desired from the same members and current device):
 *  - NATed pairs (we and the member both behind NAT): keepalive per
 *    gsd_nat_keepalive() (unless configured), endpoint per
 *    gsd_nat_choose_endpoint(), pokes at the punch slots;
 *  - relayed members: their allowed IPs move to the relay's peer; their own
 *    peer stays (endpoint + keepalive) so the direct path keeps being
 *    tried, and replaces the relay as soon as it has a fresh handshake.
 * *next_ms receives the monotonic time at which to plan again (a poke to
 * finish, a punch slot, a timeout), or UINT64_MAX.  0 or -ENOMEM. */
int gsd_nat_plan(struct gsd_nat *nat, const struct gsd_nat_input *in, struct gnl_wg_device *desired,
		 uint64_t *next_ms);

/* What the last plan decided for a member: its path, and the relay's node
 * id when relayed.  Unknown members: GSD_NAT_DIRECT.  (A member that is
 * not a peer any more keeps its last path for GSD_NAT_FORGET_MS.) */
enum gsd_nat_path gsd_nat_peer_path(const struct gsd_nat *nat, const uint8_t id[GSM_ID_LEN],
				    uint8_t relay_out[GSM_ID_LEN]);

/* A relay we currently use (the one serving the most peers, lowest id on a
 * tie), for the advert's relay_via: true and *relay_out, or false. */
bool gsd_nat_relay_in_use(const struct gsd_nat *nat, uint8_t relay_out[GSM_ID_LEN]);

/* Counters for status/tests. */
struct gsd_nat_stats {
	uint32_t direct, trying, relayed; /* peers per path after the last plan */
	uint64_t pokes;			  /* punch pokes issued */
	uint64_t relay_switches;	  /* relay chosen or changed */
};
void gsd_nat_stats(const struct gsd_nat *nat, struct gsd_nat_stats *st);

/* ------------------------------------------- WireGuard-observed endpoints */

/* Public side: the endpoint to report to member `a` as `wg_observed` (wire
 * key 14): what our WireGuard learned for it from authenticated packets.
 * True (and *out) when we are not behind NAT, the member is, the peer has a
 * fresh handshake and an endpoint, and that endpoint (IP and port) is not
 * already among the member's advertised endpoints. */
bool gsd_nat_wg_report(const struct gsd_member *a, const struct gnl_wg_peer *cur,
		       bool self_behind_nat, int64_t now_unix, struct gsm_addr *out);

/* NATed side: merge an endpoint `observer` reported into our observed
 * endpoint list (n entries of cap).  An entry from the same observer is
 * replaced (a WireGuard-observed address is exact where the gossip-observed
 * IP plus our WireGuard port was a guess); an identical address only gains
 * the attribution; otherwise it is appended, the oldest entry making room.
 * Returns the new count; *changed tells whether the list changed. */
int gsd_nat_merge_observed(struct gsm_endpoint *list, int n, int cap,
			   const uint8_t observer[GSM_ID_LEN], const struct gsm_addr *a,
			   bool *changed);

/* Turn on IPv4 and IPv6 forwarding (a relay forwards between its peers):
 * writes /proc/sys/net/ipv{4,6}/...  The only function here with I/O.
 * 0 or a negative errno (e.g. -EACCES / -EROFS without privileges). */
int gsd_nat_enable_forwarding(void);

#endif
