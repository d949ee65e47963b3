/*
 * daemon/nat.c - NAT traversal: detection, endpoint choice, hole punching
 * and relay fallback, as a pure layer over the reconciler's desired device.
 *
 * What.  Nodes learn the address peers see them at (SWIM `observed`, and
 * WireGuard-observed endpoints from public nodes); an observed IP that is
 * not ours means we are behind NAT, and the node advertises
 * GSM_ADV_BEHIND_NAT and its observed endpoints.  For every pair of members
 * that are both behind NAT this module keeps a small path state: TRYING
 * (configure each other's observed endpoint, keep keepalives going, poke the
 * tunnel at shared punch slots), DIRECT (the direct peer has a fresh
 * handshake) or RELAYED (no handshake within GSD_NAT_DIRECT_TIMEOUT_MS: the
 * member's addresses are moved into the allowed IPs of a public relay
 * member's peer, which forwards).  Pairs where at least one side is not
 * behind NAT are left to the reconciler: the NATed side's keepalive opens
 * its NAT and the public side's WireGuard roams to the reflexive address.
 *
 * Why this way.  WireGuard does the actual punching: a peer configured with
 * the other side's reflexive endpoint and a persistent keepalive sends
 * handshake initiations (retried every 5 s for 90 s); once both NATs have
 * an outbound mapping toward each other the next initiation gets through.
 * We do not need our own STUN-like packets, only to (1) configure the right
 * endpoint on both sides, (2) make both sides send within the same window:
 * punch slots are aligned on the wall clock with a pair-specific phase, so
 * both ends compute the same slot without a message exchange, and a poke
 * (keepalive 0 for one apply, then back to N: WireGuard sends a keepalive
 * at once on a 0 -> N change) starts a fresh 90 s handshake retry window
 * on each side; the lower node id goes first and the higher one a stagger
 * plus jitter later, and the keepalive periods differ by a second, so the
 * two never stay in lockstep.  Failed attempts back off (20 s doubling to
 * 5 min).  Relaying needs no new protocol either: WireGuard's allowed IPs
 * are a routing table, so putting B's overlay /32 on the relay's peer at A
 * (and A's on the relay's peer at B) sends the traffic through the relay,
 * whose kernel forwards it between its two peers.  The direct peer stays
 * configured without allowed IPs, so punching goes on in the background
 * and a fresh direct handshake moves the addresses back.
 *
 * Trade-offs.  The relay is chosen by rendezvous hashing over the usable
 * relays (alive, public, relay flag, a peer of ours): both ends agree
 * without talking, load spreads over relays, and a relay's death moves only
 * the pairs it served.  Both sides decide TRYING -> RELAYED on their own
 * timers, so for a few seconds one side may already send via the relay
 * while the other still expects the direct peer; the packets are dropped
 * then, as they would be without the relay.  Relayed traffic is
 * end-to-end encrypted only hop by hop (WireGuard to the relay and from
 * it): a relay member can read the overlay packets it forwards, which is
 * why relaying is an explicit opt-in flag (docs/nat.md).
 */
#include "common/array.h"
#include "daemon/nat.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------- detection */

static bool is_loopback(const struct gsm_addr *a)
{
	static const uint8_t v6lo[16] = {[15] = 1};
	if (a->family == 4)
		return a->ip[0] == 127;
	return a->family == 6 && !memcmp(a->ip, v6lo, 16);
}

static bool ip_eq(const struct gsm_addr *a, const struct gsm_addr *b)
{
	return a->family == b->family && !memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16);
}

static bool addr_eq(const struct gsm_addr *a, const struct gsm_addr *b)
{
	return ip_eq(a, b) && a->port == b->port;
}

bool gsd_nat_detect(const struct gsm_addr *observed, const struct gsm_addr *local, size_t n_local)
{
	if (!observed || (observed->family != 4 && observed->family != 6) || is_loopback(observed))
		return false;
	for (size_t i = 0; i < n_local; i++)
		if (ip_eq(observed, &local[i]))
			return false;
	return true;
}

/* ---------------------------------------------------- endpoint choice */

static void add_cand(struct gsm_addr *out, size_t *n, size_t cap, const struct gsm_addr *a,
		     uint16_t wg_port)
{
	if (a->family != 4 && a->family != 6)
		return;
	struct gsm_addr x = *a;
	if (!x.port)
		x.port = wg_port;
	if (!x.port)
		return;
	for (size_t i = 0; i < *n; i++)
		if (addr_eq(&out[i], &x))
			return;
	if (*n < cap)
		out[(*n)++] = x;
}

size_t gsd_nat_candidates(const struct gsd_member *a, const struct gsm_addr *gossip_addr,
			  struct gsm_addr *out, size_t cap)
{
	size_t n = 0;
	for (int pass = 0; pass < 3; pass++)
		for (uint8_t i = 0; i < a->n_endpoints; i++) {
			const struct gsm_endpoint *e = &a->endpoints[i];
			bool obs = e->flags & GSM_EP_OBSERVED, conf = e->flags & GSM_EP_CONFIGURED;
			bool take = pass == 0	? obs && e->has_observer
				    : pass == 1 ? conf && !(obs && e->has_observer)
						: !conf && !(obs && e->has_observer);
			if (take)
				add_cand(out, &n, cap, &e->addr, a->wg_port);
		}
	if (n == 0 && gossip_addr && gossip_addr->family) {
		struct gsm_addr g = *gossip_addr;
		g.port = a->wg_port;
		add_cand(out, &n, cap, &g, a->wg_port);
	}
	return n;
}

void gsd_nat_choose_endpoint(const struct gsm_addr *cands, size_t n, const struct gsm_addr *cur,
			     bool cur_fresh, bool rotate, unsigned attempt, struct gsm_addr *out)
{
	memset(out, 0, sizeof(*out));
	bool have_cur = cur && (cur->family == 4 || cur->family == 6);
	if (have_cur && cur_fresh)
		return; /* a working endpoint is never replaced by an untested one */
	if (n == 0)
		return;
	if (have_cur && !rotate)
		for (size_t i = 0; i < n; i++)
			if (addr_eq(&cands[i], cur)) {
				*out = cands[i];
				return;
			}
	*out = cands[attempt % n];
}

/* --------------------------------------------------- punch scheduling */

uint64_t gsd_nat_pair_hash(const uint8_t a[GSM_ID_LEN], const uint8_t b[GSM_ID_LEN], uint32_t salt)
{
	const uint8_t *lo = a, *hi = b;
	if (memcmp(a, b, GSM_ID_LEN) > 0) {
		lo = b;
		hi = a;
	}
	uint8_t in[2 * GSM_ID_LEN + 4], out[8];
	memcpy(in, lo, GSM_ID_LEN);
	memcpy(in + GSM_ID_LEN, hi, GSM_ID_LEN);
	in[64] = (uint8_t)(salt >> 24);
	in[65] = (uint8_t)(salt >> 16);
	in[66] = (uint8_t)(salt >> 8);
	in[67] = (uint8_t)salt;
	crypto_generichash(out, sizeof(out), in, sizeof(in), NULL, 0);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | out[i];
	return v;
}

uint64_t gsd_nat_punch_period_ms(unsigned attempt)
{
	uint64_t p = (uint64_t)GSD_NAT_PUNCH_BASE_S * 1000;
	for (unsigned i = 0; i < attempt && p < (uint64_t)GSD_NAT_PUNCH_MAX_S * 1000; i++)
		p *= 2;
	if (p > (uint64_t)GSD_NAT_PUNCH_MAX_S * 1000)
		p = (uint64_t)GSD_NAT_PUNCH_MAX_S * 1000;
	return p;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

int64_t gsd_nat_punch_at(const uint8_t self[GSM_ID_LEN], const uint8_t peer[GSM_ID_LEN],
			 unsigned attempt, int64_t after_unix_ms, uint32_t jitter_rand)
{
	int64_t period = (int64_t)gsd_nat_punch_period_ms(attempt);
	int64_t phase = (int64_t)(gsd_nat_pair_hash(self, peer, 1) % (uint64_t)period);
	int64_t offset = 0;
	if (memcmp(self, peer, GSM_ID_LEN) > 0)
		offset = GSD_NAT_STAGGER_MS +
			 (int64_t)(gsd_nat_pair_hash(self, peer, 2) % GSD_NAT_JITTER_MS) +
			 (int64_t)(jitter_rand % (GSD_NAT_JITTER_MS / 2));
	else
		offset = (int64_t)(jitter_rand % (GSD_NAT_STAGGER_MS / 4));
	int64_t t = floor_div(after_unix_ms - phase - offset, period) * period + phase + offset;
	while (t <= after_unix_ms)
		t += period;
	return t;
}

uint16_t gsd_nat_keepalive(const uint8_t self[GSM_ID_LEN], const uint8_t peer[GSM_ID_LEN])
{
	return memcmp(self, peer, GSM_ID_LEN) < 0 ? GSD_NAT_KEEPALIVE_S : GSD_NAT_KEEPALIVE_S - 1;
}

/* -------------------------------------------------------- relay choice */

static void relay_distance(const uint8_t a[GSM_ID_LEN], const uint8_t b[GSM_ID_LEN],
			   const uint8_t r[GSM_ID_LEN], uint8_t out[16])
{
	const uint8_t *lo = a, *hi = b;
	if (memcmp(a, b, GSM_ID_LEN) > 0) {
		lo = b;
		hi = a;
	}
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 16);
	crypto_generichash_update(&st, lo, GSM_ID_LEN);
	crypto_generichash_update(&st, hi, GSM_ID_LEN);
	crypto_generichash_update(&st, r, GSM_ID_LEN);
	crypto_generichash_final(&st, out, 16);
}

int gsd_nat_pick_relay(const uint8_t a[GSM_ID_LEN], const uint8_t b[GSM_ID_LEN],
		       const struct gsd_nat_relay *c, size_t n)
{
	int best = -ENOENT;
	uint8_t best_d[16], d[16];
	for (size_t i = 0; i < n; i++) {
		if (!c[i].usable || !c[i].id || !memcmp(c[i].id, a, GSM_ID_LEN) ||
		    !memcmp(c[i].id, b, GSM_ID_LEN))
			continue;
		relay_distance(a, b, c[i].id, d);
		int cmp = best < 0 ? -1 : memcmp(d, best_d, 16);
		if (cmp < 0 || (cmp == 0 && memcmp(c[i].id, c[best].id, GSM_ID_LEN) < 0)) {
			best = (int)i;
			memcpy(best_d, d, 16);
		}
	}
	return best;
}

/* ------------------------------------------------------- path state */

const char *gsd_nat_path_name(enum gsd_nat_path p)
{
	switch (p) {
	case GSD_NAT_DIRECT:
		return "direct";
	case GSD_NAT_TRYING:
		return "trying";
	case GSD_NAT_RELAYED:
		return "relayed";
	}
	return "?";
}

struct nat_ent {
	uint8_t id[GSM_ID_LEN];
	uint8_t path; /* enum gsd_nat_path */
	bool seen;    /* a peer in the last plan */
	bool has_relay;
	bool poking;	   /* keepalive held at 0 until poke_until_ms */
	unsigned attempt;  /* punch attempts since the last handshake */
	uint64_t since_ms; /* TRYING since */
	uint64_t poke_until_ms;
	uint64_t last_seen_ms;	    /* forgotten GSD_NAT_FORGET_MS after this */
	int64_t next_punch_unix_ms; /* 0 = not scheduled */
	uint8_t relay[GSM_ID_LEN];
};

struct gsd_nat {
	struct nat_ent *e;
	size_t n, cap;
	struct gsd_nat_stats st;
};

int gsd_nat_new(struct gsd_nat **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void gsd_nat_free(struct gsd_nat *nat)
{
	if (!nat)
		return;
	free(nat->e);
	free(nat);
}

static int ent_cmp(const void *k, const void *e)
{
	return memcmp(k, ((const struct nat_ent *)e)->id, GSM_ID_LEN);
}

static struct nat_ent *ent_find(const struct gsd_nat *nat, const uint8_t id[GSM_ID_LEN])
{
	return nat->n ? bsearch(id, nat->e, nat->n, sizeof(*nat->e), ent_cmp) : NULL;
}

/* insert keeping the array sorted; pointers into it are invalidated */
static struct nat_ent *ent_get(struct gsd_nat *nat, const uint8_t id[GSM_ID_LEN], bool *created)
{
	struct nat_ent *x = ent_find(nat, id);
	*created = false;
	if (x)
		return x;
	if (gsc_grow(&nat->e, &nat->cap, nat->n + 1, sizeof(*nat->e)) < 0)
		return NULL;
	size_t pos = 0;
	while (pos < nat->n && memcmp(nat->e[pos].id, id, GSM_ID_LEN) < 0)
		pos++;
	memmove(&nat->e[pos + 1], &nat->e[pos], (nat->n - pos) * sizeof(*nat->e));
	nat->n++;
	x = &nat->e[pos];
	memset(x, 0, sizeof(*x));
	memcpy(x->id, id, GSM_ID_LEN);
	*created = true;
	return x;
}

static bool hs_fresh(const struct gnl_wg_peer *cur, int64_t now_unix)
{
	if (!cur || cur->last_handshake.tv_sec == 0)
		return false;
	int64_t age = now_unix - (int64_t)cur->last_handshake.tv_sec;
	return age >= -5 && age < GSD_NAT_DIRECT_FRESH_S;
}

static void min_deadline(uint64_t *next, uint64_t t)
{
	if (t < *next)
		*next = t;
}

static const struct gsd_rc_member *member_by_id(const struct gsd_nat_input *in,
						const uint8_t id[GSM_ID_LEN])
{
	for (size_t i = 0; i < in->n_members; i++)
		if (!memcmp(in->members[i].mem->id, id, GSM_ID_LEN))
			return &in->members[i];
	return NULL;
}

static int move_allowedips(struct gnl_wg_peer *from, struct gnl_wg_peer *to)
{
	for (size_t k = 0; k < from->n_allowedips; k++) {
		int r = gnl_wg_peer_add_allowedip(to, &from->allowedips[k]);
		if (r < 0)
			return r;
	}
	from->n_allowedips = 0;
	return 0;
}

/* usable relays: alive (or merely suspect), public + relay, our peer */
static size_t collect_relays(const struct gsd_nat_input *in, const struct gnl_wg_device *desired,
			     struct gsd_nat_relay *relays)
{
	size_t n_relays = 0;
	for (size_t i = 0; i < in->n_members; i++) {
		const struct gsd_rc_member *m = &in->members[i];
		const uint32_t want = GSM_ADV_PUBLIC | GSM_ADV_RELAY;
		if ((m->mem->flags & want) != want || !memcmp(m->mem->id, in->self_id, GSM_ID_LEN))
			continue;
		if (m->state != GSM_STATE_ALIVE && m->state != GSM_STATE_SUSPECT)
			continue;
		if (!gnl_wg_device_find_peer(desired, m->mem->wg_pubkey))
			continue;
		relays[n_relays].id = m->mem->id;
		relays[n_relays].usable = true;
		n_relays++;
	}
	return n_relays;
}

/* a working direct path: no punching, no relay */
static void ent_direct(struct nat_ent *e)
{
	e->path = GSD_NAT_DIRECT;
	e->has_relay = false;
	e->poking = false;
	e->attempt = 0;
	e->next_punch_unix_ms = 0;
}

/* what one planning pass shares across members */
struct plan_ctx {
	struct gsd_nat *nat;
	const struct gsd_nat_input *in;
	struct gnl_wg_device *desired;
	const struct gsd_nat_relay *relays;
	size_t n_relays;
	uint32_t timeout;
	int64_t now_unix;
	uint64_t next;
};

/* Punch slots: a slot that came due rotates the endpoint and, with a
 * keepalive, pokes (keepalive 0 for GSD_NAT_POKE_HOLD_MS).  Returns whether
 * to rotate. */
static bool plan_punch(struct plan_ctx *c, struct nat_ent *e, const struct gsd_member *a,
		       struct gnl_wg_peer *p, uint16_t ka)
{
	const struct gsd_nat_input *in = c->in;
	bool rotate = false;
	if (e->poking && in->now_ms >= e->poke_until_ms)
		e->poking = false;
	if (!e->next_punch_unix_ms)
		e->next_punch_unix_ms = gsd_nat_punch_at(in->self_id, a->id, e->attempt,
							 in->now_unix_ms, in->jitter_rand);
	if (in->now_unix_ms >= e->next_punch_unix_ms && !e->poking) {
		e->attempt++;
		rotate = true;
		if (ka) {
			e->poking = true;
			e->poke_until_ms = in->now_ms + GSD_NAT_POKE_HOLD_MS;
			c->nat->st.pokes++;
		}
		e->next_punch_unix_ms = gsd_nat_punch_at(in->self_id, a->id, e->attempt,
							 in->now_unix_ms, in->jitter_rand);
	}
	if (e->poking) {
		p->persistent_keepalive = 0;
		min_deadline(&c->next, e->poke_until_ms);
	}
	int64_t until = e->next_punch_unix_ms - in->now_unix_ms;
	min_deadline(&c->next, in->now_ms + (uint64_t)(until > 0 ? until : 0));
	return rotate;
}

/* after the direct timeout: the pair's relay (rendezvous hashing), or none */
static void plan_relay(struct plan_ctx *c, struct nat_ent *e, const struct gsd_member *a)
{
	int k = gsd_nat_pick_relay(c->in->self_id, a->id, c->relays, c->n_relays);
	if (k < 0) {
		e->path = GSD_NAT_TRYING;
		e->has_relay = false;
		return;
	}
	if (!e->has_relay || memcmp(e->relay, c->relays[k].id, GSM_ID_LEN))
		c->nat->st.relay_switches++;
	e->path = GSD_NAT_RELAYED;
	e->has_relay = true;
	memcpy(e->relay, c->relays[k].id, GSM_ID_LEN);
}

/* One member: direct when either side is public or the tunnel works;
 * otherwise punch, and relay after the direct timeout.  0 or -ENOMEM. */
static int plan_member(struct plan_ctx *c, const struct gsd_rc_member *m)
{
	const struct gsd_nat_input *in = c->in;
	const struct gsd_member *a = m->mem;
	if (!memcmp(a->id, in->self_id, GSM_ID_LEN))
		return 0;
	struct gnl_wg_peer *p = gnl_wg_device_find_peer(c->desired, a->wg_pubkey);
	if (!p)
		return 0;
	const struct gnl_wg_peer *cur =
	    in->current ? gnl_wg_device_find_peer(in->current, a->wg_pubkey) : NULL;
	bool pair =
	    in->self_behind_nat && (a->flags & GSM_ADV_BEHIND_NAT) && !(a->flags & GSM_ADV_PUBLIC);
	bool created;
	struct nat_ent *e = ent_get(c->nat, a->id, &created);
	if (!e)
		return -ENOMEM;
	e->seen = true;
	e->last_seen_ms = in->now_ms;
	if (created) {
		e->path = pair ? GSD_NAT_TRYING : GSD_NAT_DIRECT;
		e->since_ms = in->now_ms;
	}
	if (!pair) {
		ent_direct(e);
		return 0;
	}
	uint16_t ka =
	    in->keepalive >= 0 ? (uint16_t)in->keepalive : gsd_nat_keepalive(in->self_id, a->id);
	p->persistent_keepalive = ka;

	struct gsm_addr cur_ep = {0};
	if (cur)
		gsd_sockaddr_to_addr(&cur->endpoint, &cur_ep);
	if (hs_fresh(cur, c->now_unix)) {
		ent_direct(e);
		memset(&p->endpoint, 0, sizeof(p->endpoint)); /* keep what works */
		return 0;
	}
	if (e->path == GSD_NAT_DIRECT) { /* lost its handshake */
		e->path = GSD_NAT_TRYING;
		e->since_ms = in->now_ms;
	}
	bool rotate = plan_punch(c, e, a, p, ka);

	struct gsm_addr cands[GSM_MAX_ENDPOINTS + 1], ep;
	size_t nc = gsd_nat_candidates(a, &m->gossip_addr, cands, GSM_MAX_ENDPOINTS + 1);
	gsd_nat_choose_endpoint(cands, nc, &cur_ep, false, rotate, e->attempt, &ep);
	if (ep.family)
		gsd_addr_to_sockaddr(&ep, &p->endpoint);

	if (e->path == GSD_NAT_TRYING && in->now_ms - e->since_ms < c->timeout) {
		min_deadline(&c->next, e->since_ms + c->timeout);
		return 0;
	}
	plan_relay(c, e, a);
	return 0;
}

/* forget members that are gone for long (compact, order kept); a member
 * that flaps dead and back resumes its path (a relayed pair does not wait
 * for the direct timeout again) */
static void forget_gone(struct gsd_nat *nat, uint64_t now_ms)
{
	size_t w = 0;
	for (size_t i = 0; i < nat->n; i++)
		if (nat->e[i].seen || now_ms - nat->e[i].last_seen_ms < GSD_NAT_FORGET_MS)
			nat->e[w++] = nat->e[i];
	nat->n = w;
}

/* count paths, and route relayed members through their relay's peer */
static int route_relayed(struct gsd_nat *nat, const struct gsd_nat_input *in,
			 struct gnl_wg_device *desired)
{
	memset(&nat->st, 0, offsetof(struct gsd_nat_stats, pokes));
	for (size_t i = 0; i < nat->n; i++) {
		struct nat_ent *e = &nat->e[i];
		if (!e->seen)
			continue;
		if (e->path == GSD_NAT_DIRECT)
			nat->st.direct++;
		else if (e->path == GSD_NAT_TRYING)
			nat->st.trying++;
		if (e->path != GSD_NAT_RELAYED)
			continue;
		nat->st.relayed++;
		const struct gsd_rc_member *m = member_by_id(in, e->id);
		const struct gsd_rc_member *rm = member_by_id(in, e->relay);
		if (!m || !rm)
			continue;
		struct gnl_wg_peer *p = gnl_wg_device_find_peer(desired, m->mem->wg_pubkey);
		struct gnl_wg_peer *rp = gnl_wg_device_find_peer(desired, rm->mem->wg_pubkey);
		if (!p || !rp || p == rp)
			continue;
		int r = move_allowedips(p, rp);
		if (r < 0)
			return r;
	}
	return 0;
}

int gsd_nat_plan(struct gsd_nat *nat, const struct gsd_nat_input *in, struct gnl_wg_device *desired,
		 uint64_t *next_ms)
{
	int r = 0;
	struct gsd_nat_relay *relays = calloc(in->n_members ? in->n_members : 1, sizeof(*relays));
	if (!relays)
		return -ENOMEM;
	struct plan_ctx c = {
	    .nat = nat,
	    .in = in,
	    .desired = desired,
	    .relays = relays,
	    .n_relays = collect_relays(in, desired, relays),
	    .timeout = in->direct_timeout_ms ? in->direct_timeout_ms : GSD_NAT_DIRECT_TIMEOUT_MS,
	    .now_unix = in->now_unix_ms / 1000,
	    .next = UINT64_MAX,
	};
	for (size_t i = 0; i < nat->n; i++)
		nat->e[i].seen = false;
	for (size_t i = 0; i < in->n_members && r == 0; i++)
		r = plan_member(&c, &in->members[i]);
	if (r == 0) {
		forget_gone(nat, in->now_ms);
		r = route_relayed(nat, in, desired);
	}
	free(relays);
	*next_ms = c.next;
	return r;
}

enum gsd_nat_path gsd_nat_peer_path(const struct gsd_nat *nat, const uint8_t id[GSM_ID_LEN],
				    uint8_t relay_out[GSM_ID_LEN])
{
	const struct nat_ent *e = nat ? ent_find(nat, id) : NULL;
	if (!e)
		return GSD_NAT_DIRECT;
	if (e->path == GSD_NAT_RELAYED && relay_out)
		memcpy(relay_out, e->relay, GSM_ID_LEN);
	return (enum gsd_nat_path)e->path;
}

bool gsd_nat_relay_in_use(const struct gsd_nat *nat, uint8_t relay_out[GSM_ID_LEN])
{
	const uint8_t *best = NULL;
	size_t best_n = 0;
	if (!nat)
		return false;
	for (size_t i = 0; i < nat->n; i++) {
		const struct nat_ent *e = &nat->e[i];
		if (e->path != GSD_NAT_RELAYED || !e->seen)
			continue;
		size_t cnt = 0;
		for (size_t j = 0; j < nat->n; j++)
			cnt += nat->e[j].path == GSD_NAT_RELAYED && nat->e[j].seen &&
			       !memcmp(nat->e[j].relay, e->relay, GSM_ID_LEN);
		if (cnt > best_n || (cnt == best_n && memcmp(e->relay, best, GSM_ID_LEN) < 0)) {
			best = e->relay;
			best_n = cnt;
		}
	}
	if (!best)
		return false;
	memcpy(relay_out, best, GSM_ID_LEN);
	return true;
}

void gsd_nat_stats(const struct gsd_nat *nat, struct gsd_nat_stats *st)
{
	if (nat)
		*st = nat->st;
	else
		memset(st, 0, sizeof(*st));
}

bool gsd_nat_wg_report(const struct gsd_member *a, const struct gnl_wg_peer *cur,
		       bool self_behind_nat, int64_t now_unix, struct gsm_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (self_behind_nat || !(a->flags & GSM_ADV_BEHIND_NAT) || !cur ||
	    cur->endpoint.sa.sa_family == AF_UNSPEC || !hs_fresh(cur, now_unix))
		return false;
	struct gsm_addr ep;
	gsd_sockaddr_to_addr(&cur->endpoint, &ep);
	if (!ep.family || !ep.port || is_loopback(&ep))
		return false;
	for (uint8_t i = 0; i < a->n_endpoints; i++) {
		struct gsm_addr x = a->endpoints[i].addr;
		if (!x.port)
			x.port = a->wg_port;
		if (addr_eq(&x, &ep))
			return false;
	}
	*out = ep;
	return true;
}

int gsd_nat_merge_observed(struct gsm_endpoint *list, int n, int cap,
			   const uint8_t observer[GSM_ID_LEN], const struct gsm_addr *a,
			   bool *changed)
{
	*changed = false;
	if (cap <= 0 || (a->family != 4 && a->family != 6))
		return n;
	for (int i = 0; i < n; i++) {
		struct gsm_endpoint *e = &list[i];
		if (e->has_observer && !memcmp(e->observer, observer, GSM_ID_LEN)) {
			if (!addr_eq(&e->addr, a)) {
				e->addr = *a;
				*changed = true;
			}
			/* drop another entry with the same address */
			for (int j = 0; j < n; j++)
				if (j != i && addr_eq(&list[j].addr, a)) {
					memmove(&list[j], &list[j + 1],
						sizeof(*list) * (size_t)(n - j - 1));
					n--;
					*changed = true;
					break;
				}
			return n;
		}
	}
	for (int i = 0; i < n; i++)
		if (addr_eq(&list[i].addr, a)) {
			if (!list[i].has_observer) {
				list[i].has_observer = 1;
				memcpy(list[i].observer, observer, GSM_ID_LEN);
				*changed = true;
			}
			return n;
		}
	if (n >= cap) {
		memmove(&list[0], &list[1], sizeof(*list) * (size_t)(cap - 1));
		n = cap - 1;
	}
	memset(&list[n], 0, sizeof(list[n]));
	list[n].addr = *a;
	list[n].flags = GSM_EP_OBSERVED;
	list[n].has_observer = 1;
	memcpy(list[n].observer, observer, GSM_ID_LEN);
	*changed = true;
	return n + 1;
}

static int write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, val, strlen(val));
	int r = n < 0 ? -errno : 0;
	close(fd);
	return r;
}

int gsd_nat_enable_forwarding(void)
{
	int r = write_sysctl("/proc/sys/net/ipv4/ip_forward", "1\n");
	int r6 = write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1\n");
	return r < 0 ? r : (r6 == -ENOENT ? 0 : r6);
}
