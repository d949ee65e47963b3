/*
 * daemon/reconcile.c - membership -> desired WireGuard peers.
 *
 * A pure function: given the members the gossip core knows (member cache
 * records, daemon/members.h, with their SWIM state and when it last
 * changed), the device as the backend reports it, and the clock, compute
 * the peer set the device should have.  The runtime then diffs it against
 * the device (gnl_wg_diff) and applies only the ops, so unchanged peers keep
 * their sessions.
 *
 * Rules, chosen to keep working tunnels alive when the control plane blinks:
 *  - admission: only members that have shown they are reachable (answered
 *    a probe of our core, directly or through a helper, or were persisted
 *    as such) are peers at all; a member that never answered may be an
 *    identity minted by a key holder (docs/protocol.md "Admission").
 *  - alive and suspect members are peers; dead ones stay for dead_grace, and
 *    beyond it for as long as their tunnel is demonstrably working: a fresh
 *    handshake AND bytes received from the peer within the last dead_grace
 *    (a gossip flap must not tear down a working tunnel, but a crashed
 *    machine whose last handshake is merely recent must not linger for
 *    WireGuard's 180 s either); members that left stay left_grace.
 *  - endpoint: while the current tunnel has a fresh handshake the desired
 *    endpoint is "no opinion" (AF_UNSPEC), so WireGuard's own roaming wins
 *    and a working endpoint is never replaced by an untested one.  Without
 *    a handshake, the candidates (configured endpoints, then observed ones,
 *    then the member's gossip IP with its WireGuard port) are tried in turn,
 *    one every GSD_ENDPOINT_ROTATE_S seconds.
 *  - allowed IPs: the overlay addresses as host routes plus the advertised
 *    prefixes, filtered by this node's acceptance policy (daemon/policy.h:
 *    no /0, nothing over the overlay, connected networks or endpoints,
 *    overlay addresses must be derived).  When two members claim the same
 *    prefix (an IPv4 collision not yet resolved, or two routers announcing
 *    one subnet) one wins by gsd_policy_claim_cmp (rank, incumbency, lower
 *    node id), instead of WireGuard's "last one configured wins"; different
 *    lengths are all kept (longest match routes, in WireGuard too).
 *  - persistent keepalive: configured value, or in auto mode 25 s when this
 *    node or the member is behind NAT.
 *  - two members with one WireGuard key (a cloned VM): only the lower node id
 *    becomes a peer.
 *  - authority mode (gossip/cert.h): in require mode only members whose
 *    certificate chain is VALID are peers (an expired or revoked member's
 *    peer and routes go at the next pass), in warn mode every member but
 *    a REVOKED one; claims the certificate does not allow are refused in
 *    require mode and reported in warn mode (reason "uncertified").
 */
#include "daemon/reconcile.h"

#include "common/array.h"
#include "gossip/cert.h"
#include "gossip/swim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* gsm_addr <-> the netlink model's sockaddr union: the gossip library's
 * conversions (IPv4-mapped IPv6 becomes IPv4), written into the union. */
void gsd_addr_to_sockaddr(const struct gsm_addr *a, union gnl_sockaddr *sa)
{
	struct sockaddr_storage ss;
	socklen_t len;

	memset(sa, 0, sizeof(*sa));
	if (gsm_addr_to_sockaddr(a, &ss, &len) == 0)
		memcpy(sa, &ss, len);
}

void gsd_sockaddr_to_addr(const union gnl_sockaddr *sa, struct gsm_addr *a)
{
	memset(a, 0, sizeof(*a));
	(void)gsm_addr_from_sockaddr(&sa->sa, a); /* other families: left zero */
}

void gsd_prefix_to_gnl(const struct gsm_prefix *p, struct gnl_prefix *g)
{
	memset(g, 0, sizeof(*g));
	g->family = p->family == 4 ? AF_INET : AF_INET6;
	memcpy(g->addr.b, p->ip, p->family == 4 ? 4 : 16);
	g->cidr = p->len;
}

void gsd_gnl_to_prefix(const struct gnl_prefix *g, struct gsm_prefix *p)
{
	memset(p, 0, sizeof(*p));
	p->family = g->family == AF_INET ? 4 : 6;
	memcpy(p->ip, g->addr.b, p->family == 4 ? 4 : 16);
	p->len = g->cidr;
}

static bool addr_eq(const struct gsm_addr *a, const struct gsm_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       !memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16);
}

static bool handshake_fresh(const struct gsd_rc_input *in, const struct gnl_wg_peer *cur)
{
	if (!cur || cur->last_handshake.tv_sec == 0)
		return false;
	int64_t age = in->now_unix - (int64_t)cur->last_handshake.tv_sec;
	return age >= -5 && age < GSD_FRESH_HANDSHAKE_S;
}

void gsd_reconcile_endpoint(const struct gsd_rc_input *in, const struct gsd_rc_member *m,
			    const struct gnl_wg_peer *cur, union gnl_sockaddr *ep)
{
	memset(ep, 0, sizeof(*ep));
	if (cur && cur->endpoint.sa.sa_family != AF_UNSPEC && handshake_fresh(in, cur))
		return; /* working tunnel: keep what WireGuard uses */

	struct gsm_addr cand[GSM_MAX_ENDPOINTS + 1];
	size_t n = 0;
	const struct gsd_member *a = m->mem;
	for (int pass = 0; pass < 2; pass++)
		for (uint8_t i = 0; i < a->n_endpoints; i++) {
			const struct gsm_endpoint *e = &a->endpoints[i];
			bool configured = e->flags & GSM_EP_CONFIGURED;
			if ((pass == 0) != configured || !e->addr.family)
				continue;
			struct gsm_addr x = e->addr;
			if (!x.port)
				x.port = a->wg_port;
			bool dup = false;
			for (size_t j = 0; j < n; j++)
				dup |= addr_eq(&cand[j], &x);
			if (!dup && n < GSM_MAX_ENDPOINTS + 1)
				cand[n++] = x;
		}
	if (n == 0 && m->gossip_addr.family && a->wg_port) {
		cand[n] = m->gossip_addr;
		cand[n].port = a->wg_port;
		n++;
	}
	if (n == 0)
		return;
	/* keep a current endpoint that is one of the candidates until its
	 * rotation slot passes; otherwise pick the slot's candidate */
	size_t slot = (size_t)((in->now_unix > 0 ? in->now_unix : 0) / GSD_ENDPOINT_ROTATE_S) % n;
	gsd_addr_to_sockaddr(&cand[slot], ep);
}

struct claim {
	struct gnl_prefix p;
	size_t member;
	struct gsd_policy_claim pc; /* id, rank, first seen */
};

static int claim_cmp(const void *x, const void *y, void *ctx)
{
	const struct claim *a = x, *b = y;
	(void)ctx;
	int c = gnl_prefix_cmp(&a->p, &b->p);
	if (c)
		return c;
	c = gsd_policy_claim_cmp(&a->pc, &b->pc);
	if (c)
		return c;
	return a->member < b->member ? -1 : a->member > b->member;
}

const char *gsd_reconcile_cert_reason(int mode, uint8_t cert_status)
{
	if (mode == GSM_AUTHORITY_OFF || cert_status == GSM_CERT_VALID)
		return NULL;
	if (mode != GSM_AUTHORITY_REQUIRE && cert_status != GSM_CERT_REVOKED)
		return NULL;
	switch (cert_status) {
	case GSM_CERT_NONE:
		return "certificate none";
	case GSM_CERT_EXPIRED:
		return "certificate expired";
	case GSM_CERT_NOT_YET:
		return "certificate not-yet-valid";
	case GSM_CERT_REVOKED:
		return "certificate revoked";
	default:
		return "certificate invalid";
	}
}

static bool member_wanted(const struct gsd_rc_input *in, const struct gsd_rc_member *m,
			  const struct gnl_wg_peer *cur)
{
	uint64_t age = in->now_ms > m->state_since_ms ? in->now_ms - m->state_since_ms : 0;
	if (!m->mem->reachable)
		return false; /* admission: never answered a probe (may be a forged identity) */
	switch (m->state) {
	case GSM_STATE_ALIVE:
	case GSM_STATE_SUSPECT:
		return true;
	case GSM_STATE_DEAD:
		if (age < in->dead_grace_ms)
			return true;
		/* past the grace: only a tunnel still receiving keeps it */
		return handshake_fresh(in, cur) && m->last_rx_ms && in->now_ms >= m->last_rx_ms &&
		       in->now_ms - m->last_rx_ms < in->dead_grace_ms;
	case GSM_STATE_LEFT:
		return age < in->left_grace_ms;
	default:
		return false;
	}
}

static int key_order_cmp(const void *x, const void *y, void *ctx)
{
	const struct gsd_rc_member *ms = ctx;
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	int c = memcmp(ms[a].mem->wg_pubkey, ms[b].mem->wg_pubkey, GSM_WGKEY_LEN);
	return c ? c : (a < b ? -1 : a > b);
}

/* Does another wanted member (not self) with m's WireGuard key have a lower
 * node id (or the same one at a lower index)?  grp: the indexes of the
 * members sharing that key. */
static bool dup_key_loses(const struct gsd_rc_input *in, size_t i, const size_t *grp, size_t n_grp,
			  const struct gnl_wg_peer *cur)
{
	const struct gsd_rc_member *m = &in->members[i];
	for (size_t g = 0; g < n_grp; g++) {
		size_t j = grp[g];
		const struct gsd_rc_member *o = &in->members[j];
		if (j == i || !memcmp(o->mem->id, in->self_id, GSM_ID_LEN))
			continue;
		/* same key, so the same current peer */
		if (!member_wanted(in, o, cur))
			continue;
		int c = memcmp(o->mem->id, m->mem->id, GSM_ID_LEN);
		if (c < 0 || (c == 0 && j < i))
			return true;
	}
	return false;
}

/* 1. who is a peer: v[i] for every member.  Members sharing a WireGuard
 * key are found through an index sorted by key (O(n log n)).  0 or
 * -ENOMEM. */
static int peer_verdicts(const struct gsd_rc_input *in, enum gsd_rc_verdict *v)
{
	size_t n = in->n_members;
	size_t *order = malloc((n ? n : 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct gsd_rc_member *m = &in->members[i];
		const struct gnl_wg_peer *cur =
		    in->current ? gnl_wg_device_find_peer(in->current, m->mem->wg_pubkey) : NULL;
		v[i] = GSD_RC_PEER;
		if (!memcmp(m->mem->id, in->self_id, GSM_ID_LEN) ||
		    !memcmp(m->mem->wg_pubkey, in->self_wg_pubkey, GSM_WGKEY_LEN))
			v[i] = GSD_RC_SELF;
		else if (gsd_reconcile_cert_reason(in->authority_mode, m->mem->cert_status))
			v[i] = GSD_RC_CERT;
		else if (!member_wanted(in, m, cur))
			v[i] = GSD_RC_EXPIRED;
		order[i] = i;
	}
	if (n)
		qsort_r(order, n, sizeof(*order), key_order_cmp, (void *)in->members);
	/* duplicate WireGuard key: lower node id wins */
	for (size_t s = 0, e; s < n; s = e) {
		const uint8_t *key = in->members[order[s]].mem->wg_pubkey;
		for (e = s + 1;
		     e < n && !memcmp(in->members[order[e]].mem->wg_pubkey, key, GSM_WGKEY_LEN);
		     e++)
			;
		if (e - s < 2)
			continue;
		const struct gnl_wg_peer *cur =
		    in->current ? gnl_wg_device_find_peer(in->current, key) : NULL;
		for (size_t g = s; g < e; g++)
			if (v[order[g]] == GSD_RC_PEER &&
			    dup_key_loses(in, order[g], &order[s], e - s, cur))
				v[order[g]] = GSD_RC_DUP_KEY;
	}
	free(order);
	return 0;
}

/* The winning claims (first of each prefix in sorted order) grouped by
 * member, sorted order kept within a member: member i's are
 * win[start[i] .. start[i + 1]).  0 or -ENOMEM. */
static int claim_winners(const struct claim *claims, size_t n_claims, size_t n, size_t **win_out,
			 size_t **start_out)
{
	size_t *start = calloc(n + 1, sizeof(*start));
	size_t *win = malloc((n_claims ? n_claims : 1) * sizeof(*win));
	if (!start || !win) {
		free(start);
		free(win);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n_claims; k++)
		if (k == 0 || gnl_prefix_cmp(&claims[k - 1].p, &claims[k].p))
			start[claims[k].member + 1]++;
	for (size_t i = 0; i < n; i++)
		start[i + 1] += start[i];
	size_t *fill = calloc(n ? n : 1, sizeof(*fill));
	if (!fill) {
		free(start);
		free(win);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n_claims; k++)
		if (k == 0 || gnl_prefix_cmp(&claims[k - 1].p, &claims[k].p)) {
			size_t i = claims[k].member;
			win[start[i] + fill[i]++] = k;
		}
	free(fill);
	*win_out = win;
	*start_out = start;
	return 0;
}

/* Every member's gossip address and WireGuard endpoints (IPs only): no
 * accepted prefix may cover one.  *out is the caller's (free). */
static int member_endpoints(const struct gsd_rc_input *in, struct gsm_addr **out, size_t *n_out)
{
	size_t n = 0, cap = 0;
	struct gsm_addr *v = NULL;
	for (size_t i = 0; i < in->n_members; i++) {
		const struct gsd_rc_member *m = &in->members[i];
		size_t want = n + m->mem->n_endpoints + 2;
		if (gsc_grow(&v, &cap, want, sizeof(*v)) < 0) {
			free(v);
			return -ENOMEM;
		}
		if (m->gossip_addr.family)
			v[n++] = m->gossip_addr;
		if (m->mem->gossip_addr.family)
			v[n++] = m->mem->gossip_addr;
		for (uint8_t k = 0; k < m->mem->n_endpoints; k++)
			if (m->mem->endpoints[k].addr.family)
				v[n++] = m->mem->endpoints[k].addr;
	}
	*out = v;
	*n_out = n;
	return 0;
}

static void note_drop(const struct gsd_rc_input *in, const struct gsd_member *a,
		      const struct gsm_prefix *p, enum gsd_policy_reason why,
		      const struct gsd_member *winner, bool accepted)
{
	if (!in->claims_seen)
		return;
	struct gsd_policy_drop d = {.reason = why, .prefix = *p, .accepted = accepted};
	memcpy(d.id, a->id, GSM_ID_LEN);
	snprintf(d.name, sizeof(d.name), "%s", a->name);
	if (winner) {
		d.has_winner = true;
		memcpy(d.winner, winner->id, GSM_ID_LEN);
		snprintf(d.winner_name, sizeof(d.winner_name), "%s", winner->name);
	}
	gsd_policy_table_drop(in->claims_seen, &d);
}

/* The first-seen time of a claim: this node's own claims date from its
 * first contact with the cluster. */
static uint64_t first_seen(const struct gsd_rc_input *in, const struct gsd_member *a,
			   const struct gsm_prefix *p, bool self)
{
	if (!in->claims_seen)
		return 0;
	if (self) {
		uint64_t s = gsd_policy_table_self_since(in->claims_seen);
		(void)gsd_policy_table_seen(in->claims_seen, p, a->id, in->now_ms);
		return s ? s : in->now_ms;
	}
	return gsd_policy_table_seen(in->claims_seen, p, a->id, in->now_ms);
}

/* Member idx of the claims: in->members[idx], or this node's own record
 * for idx == n_members. */
static const struct gsd_member *claimant(const struct gsd_rc_input *in, size_t idx)
{
	return idx < in->n_members ? in->members[idx].mem : in->self_mem;
}

/* One member's claim: appended to *claims unless the policy refuses it.
 * covered: its certificate allows it (authority mode). */
static void add_claim(const struct gsd_rc_input *in, size_t i, bool self, bool overlay,
		      bool covered, const struct gsm_prefix *p0, const struct gsm_addr *eps,
		      size_t n_eps, struct claim *c, size_t *n_claims)
{
	const struct gsd_member *a = claimant(in, i);
	struct gsm_prefix p = *p0;
	uint32_t rank = 0;
	if (overlay)
		p.len = p.family == 4 ? 32 : 128; /* host route */
	else
		gsd_policy_normalize(&p);
	if (in->policy && !self) { /* our own claims are our configuration */
		enum gsd_policy_reason why =
		    overlay ? gsd_policy_check_overlay(in->policy, a->id, &p, &rank)
			    : gsd_policy_check_prefix(in->policy, &p, eps, n_eps);
		if (why != GSD_POL_OK) {
			note_drop(in, a, &p, why, NULL, false);
			return;
		}
		bool accepted;
		why = gsd_policy_cert_verdict(in->authority_mode, covered, &accepted);
		if (why != GSD_POL_OK)
			note_drop(in, a, &p, why, NULL, accepted);
		if (!accepted)
			return;
	} else if (self && overlay && p.family == 4 && in->policy && in->policy->has_v4_prefix) {
		rank = gsd_policy_v4_rank(&in->policy->v4_prefix, a->id, p.ip);
	}
	struct claim *x = &c[(*n_claims)++];
	gsd_prefix_to_gnl(&p, &x->p);
	gnl_prefix_normalize(&x->p);
	x->member = i;
	memcpy(x->pc.id, a->id, GSM_ID_LEN);
	x->pc.rank = rank;
	x->pc.first_seen_ms = first_seen(in, a, &p, self);
}

/* The claims of the peers (and, with a policy, this node's own overlay
 * addresses), refused ones dropped.  *out is the caller's (free). */
static int collect_claims(const struct gsd_rc_input *in, const enum gsd_rc_verdict *v,
			  struct claim **out, size_t *n_out)
{
	size_t n = in->n_members, n_claims = 0, cap = 0, n_eps = 0, others = 0;
	struct claim *claims = NULL;
	struct gsm_addr *eps = NULL;
	int r = 0;
	if (in->policy) {
		r = member_endpoints(in, &eps, &n_eps);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < n; i++)
		others += v[i] == GSD_RC_PEER;
	if (in->claims_seen)
		gsd_policy_table_contact(in->claims_seen, others, in->now_ms);
	bool self_rec = in->policy && in->self_mem && in->self_mem->has_advert;
	for (size_t i = 0; i <= n; i++) {
		if (i == n && !self_rec)
			break;
		bool self = i == n || (v[i] == GSD_RC_SELF && in->policy && !self_rec &&
				       !memcmp(in->members[i].mem->id, in->self_id, GSM_ID_LEN));
		if (i < n && v[i] != GSD_RC_PEER && !self)
			continue;
		const struct gsd_member *a = claimant(in, i);
		if (gsc_grow(&claims, &cap, n_claims + a->n_overlay + a->n_prefixes + 1,
			     sizeof(*claims)) < 0) {
			r = -ENOMEM;
			goto out;
		}
		for (uint8_t k = 0; k < a->n_overlay; k++)
			add_claim(in, i, self, true, !(a->uncert_overlay & (1u << k)),
				  &a->overlay[k], eps, n_eps, claims, &n_claims);
		for (uint8_t k = 0; k < a->n_prefixes; k++)
			add_claim(in, i, self, false, !(a->uncert_prefixes & (1ull << k)),
				  &a->prefixes[k], eps, n_eps, claims, &n_claims);
	}
out:
	free(eps);
	if (r < 0) {
		free(claims);
		return r;
	}
	*out = claims;
	*n_out = n_claims;
	return 0;
}

/* Sorted claims: the first of each prefix wins; the others are dropped
 * (reported when they were a peer's). */
static void drop_losers(const struct gsd_rc_input *in, const enum gsd_rc_verdict *v,
			const struct claim *claims, size_t n_claims)
{
	for (size_t k = 1, w = 0; k < n_claims; k++) {
		if (gnl_prefix_cmp(&claims[w].p, &claims[k].p)) {
			w = k;
			continue;
		}
		size_t m = claims[k].member;
		if (m >= in->n_members || v[m] != GSD_RC_PEER || !in->policy ||
		    m == claims[w].member) /* one member saying it twice */
			continue;
		struct gsm_prefix p;
		gsd_gnl_to_prefix(&claims[k].p, &p);
		note_drop(in, in->members[m].mem, &p, GSD_POL_CONFLICT,
			  claimant(in, claims[w].member), false);
	}
}

int gsd_reconcile_desired(const struct gsd_rc_input *in, struct gnl_wg_device *desired,
			  enum gsd_rc_verdict *verdicts)
{
	int r = 0;
	size_t n = in->n_members;
	enum gsd_rc_verdict *v = malloc((n ? n : 1) * sizeof(*v));
	bool *take = calloc(n ? n : 1, sizeof(bool));
	struct claim *claims = NULL;
	size_t n_claims = 0, *win = NULL, *win_start = NULL;
	if (!take || !v) {
		r = -ENOMEM;
		goto out;
	}

	/* 1. who is a peer */
	r = peer_verdicts(in, v);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		take[i] = v[i] == GSD_RC_PEER;
		if (verdicts)
			verdicts[i] = v[i];
	}

	/* 2. allowed-IP claims, refused ones dropped, contested ones decided */
	if (in->claims_seen)
		gsd_policy_table_begin(in->claims_seen);
	r = collect_claims(in, v, &claims, &n_claims);
	if (r < 0)
		goto out;
	if (n_claims)
		qsort_r(claims, n_claims, sizeof(*claims), claim_cmp, NULL);
	drop_losers(in, v, claims, n_claims);
	if (in->claims_seen)
		gsd_policy_table_end(in->claims_seen);
	r = claim_winners(claims, n_claims, n + 1, &win, &win_start); /* n: self_mem */
	if (r < 0)
		goto out;

	/* 3. peers, in member order */
	for (size_t i = 0; i < n; i++) {
		if (!take[i])
			continue;
		const struct gsd_rc_member *m = &in->members[i];
		const struct gnl_wg_peer *cur =
		    in->current ? gnl_wg_device_find_peer(in->current, m->mem->wg_pubkey) : NULL;
		struct gnl_wg_peer *p;
		r = gnl_wg_device_add_peer(desired, m->mem->wg_pubkey, &p);
		if (r < 0)
			goto out;
		gsd_reconcile_endpoint(in, m, cur, &p->endpoint);
		if (in->keepalive >= 0)
			p->persistent_keepalive = (uint16_t)in->keepalive;
		else if (in->self_behind_nat || (m->mem->flags & GSM_ADV_BEHIND_NAT))
			p->persistent_keepalive = GSD_NAT_KEEPALIVE_S;
		else
			p->persistent_keepalive = 0;
		/* first in sorted order for a prefix wins */
		for (size_t w = win_start[i]; w < win_start[i + 1]; w++) {
			r = gnl_wg_peer_add_allowedip(p, &claims[win[w]].p);
			if (r < 0)
				goto out;
		}
	}
out:
	free(v);
	free(take);
	free(claims);
	free(win);
	free(win_start);
	return r;
}
