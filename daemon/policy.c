/*
 * daemon/policy.c - the claims a node accepts from the other members.
 *
 * Any holder of the cluster key can sign an advert saying anything: that
 * it routes 0.0.0.0/0, that another node's overlay address is its own, that
 * it owns the LAN this node sits on.  WireGuard then sends the traffic
 * wherever the allowed IPs say, so every node decides locally, from its own
 * configuration and its own host, which claims it accepts:
 *
 *  - advertised prefixes: never /0 (default routes are for a future opt-in
 *    exit-node feature); nothing overlapping the overlay prefixes (overlay
 *    addresses are host claims with their own rule), this host's connected
 *    networks, or any member's gossip address or WireGuard endpoint (that
 *    would route the tunnel into itself).  The operator's accept_prefixes
 *    lets through a prefix inside one of its entries, except /0 and the
 *    overlay.
 *  - overlay addresses: the IPv6 one must be derived from the claimant's
 *    node id, so it cannot be stolen.  IPv4 addresses are scarce and not
 *    provable: a claim inside the prefix is accepted with a rank, the
 *    attempt index at which the claimant's own derivation reaches it (0..K-1)
 *    or K for anything else (a static address).
 *  - contested prefixes: one rule (gsd_policy_claim_cmp) for everything:
 *    lower rank, then incumbency (first seen here clearly earlier), then the
 *    lower node id.  Grinding a key to get a lower id or an attempt-0
 *    candidate does not beat an incumbent at the same rank.
 *
 *  - authority mode: a claim the member's certificate does not allow
 *    (gsm_cert_allows_*) is "uncertified": refused in require mode,
 *    accepted but reported in warn mode.  The coverage of an advert is
 *    computed once per advert version (the member cache keeps the bits).
 *
 *  - connected clusters: a gateway does not advertise a configured prefix
 *    that overlaps another member's accepted prefix (gsd_policy_withhold;
 *    the tie-break between two gateways is the contest rule above, see
 *    policy.h), so two clusters sharing a CIDR are refused, not joined.
 *
 * The table remembers when each claim was first seen and which claims the
 * last pass dropped, and reports a drop once, not on every pass.
 */
#include "daemon/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "daemon/overlay.h"
#include "gossip/cert.h"
#include "gossip/swim.h"

const char *gsd_policy_reason_name(enum gsd_policy_reason r)
{
	switch (r) {
	case GSD_POL_OK:
		return "ok";
	case GSD_POL_DEFAULT_ROUTE:
		return "default-route";
	case GSD_POL_OVERLAY:
		return "overlay";
	case GSD_POL_CONNECTED:
		return "connected";
	case GSD_POL_ENDPOINT:
		return "endpoint";
	case GSD_POL_NOT_DERIVED:
		return "not-derived";
	case GSD_POL_CONFLICT:
		return "conflict";
	case GSD_POL_UNCERTIFIED:
		return "uncertified";
	}
	return "?";
}

void gsd_policy_normalize(struct gsm_prefix *p)
{
	unsigned bytes = p->family == 4 ? 4 : 16;
	for (unsigned i = 0; i < bytes; i++) {
		unsigned lo = i * 8;
		if (p->len <= lo)
			p->ip[i] = 0;
		else if (p->len < lo + 8)
			p->ip[i] &= (uint8_t)(0xff00u >> (p->len - lo));
	}
	if (bytes == 4)
		memset(p->ip + 4, 0, 12);
}

static bool overlaps_any(const struct gsm_prefix *p, const struct gsm_prefix *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i].family == p->family && gsm_prefix_overlaps(&set[i], p))
			return true;
	return false;
}

static bool covers_endpoint(const struct gsm_prefix *p, const struct gsm_addr *eps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (eps[i].family != p->family)
			continue;
		struct gsm_prefix h = {.family = eps[i].family, .len = p->family == 4 ? 32 : 128};
		memcpy(h.ip, eps[i].ip, p->family == 4 ? 4 : 16);
		if (gsm_prefix_contains(p, &h))
			return true;
	}
	return false;
}

static bool allowed_by_operator(const struct gsd_policy *pol, const struct gsm_prefix *p)
{
	for (size_t i = 0; i < pol->n_accept; i++)
		if (pol->accept[i].family == p->family && pol->accept[i].len > 0 &&
		    gsm_prefix_contains(&pol->accept[i], p))
			return true;
	return false;
}

enum gsd_policy_reason gsd_policy_check_prefix(const struct gsd_policy *pol,
					       const struct gsm_prefix *p,
					       const struct gsm_addr *endpoints, size_t n_endpoints)
{
	if (p->len == 0)
		return GSD_POL_DEFAULT_ROUTE;
	if ((pol->has_v4_prefix && p->family == 4 && gsm_prefix_overlaps(&pol->v4_prefix, p)) ||
	    (p->family == 6 && gsm_prefix_overlaps(&pol->v6_prefix, p)))
		return GSD_POL_OVERLAY;
	if (allowed_by_operator(pol, p))
		return GSD_POL_OK;
	if (overlaps_any(p, pol->connected, pol->n_connected))
		return GSD_POL_CONNECTED;
	if (covers_endpoint(p, endpoints, n_endpoints))
		return GSD_POL_ENDPOINT;
	return GSD_POL_OK;
}

uint32_t gsd_policy_v4_rank(const struct gsm_prefix *prefix4, const uint8_t id[GSM_ID_LEN],
			    const uint8_t ip[4])
{
	for (uint32_t a = 0; a < GSD_POLICY_V4_K; a++) {
		struct gsm_prefix c;
		gsd_overlay_v4_candidate(prefix4, id, a, &c);
		if (!memcmp(c.ip, ip, 4))
			return a;
	}
	return GSD_POLICY_V4_K;
}

enum gsd_policy_reason gsd_policy_check_overlay(const struct gsd_policy *pol,
						const uint8_t id[GSM_ID_LEN],
						const struct gsm_prefix *addr, uint32_t *rank)
{
	struct gsm_prefix h = *addr;
	h.len = addr->family == 4 ? 32 : 128;
	if (rank)
		*rank = 0;
	if (addr->family == 6) {
		struct gsm_prefix want;
		gsd_overlay_v6(&pol->v6_prefix, id, &want);
		return memcmp(want.ip, h.ip, 16) ? GSD_POL_NOT_DERIVED : GSD_POL_OK;
	}
	if (!pol->has_v4_prefix)
		return GSD_POL_NOT_DERIVED;
	if (!gsm_prefix_contains(&pol->v4_prefix, &h))
		return GSD_POL_OVERLAY;
	if (rank)
		*rank = gsd_policy_v4_rank(&pol->v4_prefix, id, h.ip);
	return GSD_POL_OK;
}

void gsd_policy_cert_coverage(const struct gsm_cert *c, const struct gsm_advert *a,
			      struct gsd_cert_coverage *out)
{
	memset(out, 0, sizeof(*out));
	for (uint8_t i = 0; i < a->n_overlay && i < 8; i++)
		if (!gsm_cert_allows_overlay(c, &a->overlay[i]))
			out->overlay |= (uint8_t)(1u << i);
	for (uint8_t i = 0; i < a->n_prefixes && i < 64; i++)
		if (!gsm_cert_allows_prefix(c, &a->prefixes[i]))
			out->prefixes |= 1ull << i;
	for (uint8_t i = 0; i < a->n_labels && i < 32; i++)
		if (!gsm_cert_allows_label(c, a->labels[i].key, a->labels[i].value))
			out->labels |= 1u << i;
	static const uint32_t roles[] = {GSM_ADV_RELAY, GSM_ADV_GATEWAY, GSM_ADV_EXIT};
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if ((a->flags & roles[i]) && !gsm_cert_allows_flags(c, roles[i]))
			out->flags |= roles[i];
}

enum gsd_policy_reason gsd_policy_cert_verdict(int mode, bool covered, bool *accepted)
{
	bool uncertified = !covered && mode != GSM_AUTHORITY_OFF;
	if (accepted)
		*accepted = !uncertified || mode != GSM_AUTHORITY_REQUIRE;
	return uncertified ? GSD_POL_UNCERTIFIED : GSD_POL_OK;
}

int gsd_policy_claim_cmp(const struct gsd_policy_claim *a, const struct gsd_policy_claim *b)
{
	if (a->rank != b->rank)
		return a->rank < b->rank ? -1 : 1;
	if (a->first_seen_ms + GSD_POLICY_INCUMBENT_MS <= b->first_seen_ms)
		return -1;
	if (b->first_seen_ms + GSD_POLICY_INCUMBENT_MS <= a->first_seen_ms)
		return 1;
	int c = memcmp(a->id, b->id, GSM_ID_LEN);
	return c < 0 ? -1 : c > 0;
}

/* ------------------------------------------------------------ the table */

struct seen {
	struct gsm_prefix p; /* normalized */
	uint8_t id[GSM_ID_LEN];
	uint64_t first_ms;
	bool mark;
};

struct gsd_policy_table {
	struct seen *seen; /* sorted by seen_cmp (binary search) */
	size_t n_seen, cap_seen;
	struct gsd_policy_drop *cur, *last;
	size_t n_cur, cap_cur, n_last, cap_last;
	uint64_t contact_ms; /* first pass with another member; 0 = not yet */
	uint64_t self_since;
	gsd_policy_log_fn log;
	void *ctx;
};

struct gsd_policy_table *gsd_policy_table_new(gsd_policy_log_fn log, void *ctx)
{
	struct gsd_policy_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->log = log;
	t->ctx = ctx;
	return t;
}

void gsd_policy_table_free(struct gsd_policy_table *t)
{
	if (!t)
		return;
	free(t->seen);
	free(t->cur);
	free(t->last);
	free(t);
}

static int seen_cmp(const struct gsm_prefix *p, const uint8_t *id, const struct seen *s)
{
	if (p->family != s->p.family)
		return p->family < s->p.family ? -1 : 1;
	if (p->len != s->p.len)
		return p->len < s->p.len ? -1 : 1;
	int c = memcmp(p->ip, s->p.ip, 16);
	return c ? c : memcmp(id, s->id, GSM_ID_LEN);
}

struct seen_key {
	const struct gsd_policy_table *t;
	const struct gsm_prefix *p; /* normalized */
	const uint8_t *id;
};

static int seen_at(const void *ctx, size_t i)
{
	const struct seen_key *k = ctx;
	return seen_cmp(k->p, k->id, &k->t->seen[i]);
}

/* index of (p, id) in t->seen, or where it would go (*found false) */
static size_t seen_pos(const struct gsd_policy_table *t, const struct gsm_prefix *p,
		       const uint8_t id[GSM_ID_LEN], bool *found)
{
	struct gsm_prefix n = *p;
	gsd_policy_normalize(&n);
	struct seen_key k = {t, &n, id};
	return gsc_lower_bound(t->n_seen, seen_at, &k, found);
}

void gsd_policy_table_begin(struct gsd_policy_table *t)
{
	for (size_t i = 0; i < t->n_seen; i++)
		t->seen[i].mark = false;
	t->n_cur = 0;
}

uint64_t gsd_policy_table_seen(struct gsd_policy_table *t, const struct gsm_prefix *p,
			       const uint8_t id[GSM_ID_LEN], uint64_t now_ms)
{
	bool found;
	size_t at = seen_pos(t, p, id, &found);
	struct seen *s;
	if (found) {
		s = &t->seen[at];
	} else {
		if (gsc_grow(&t->seen, &t->cap_seen, t->n_seen + 1, sizeof(*t->seen)) < 0)
			return now_ms;
		s = &t->seen[at];
		memmove(s + 1, s, (t->n_seen - at) * sizeof(*s));
		t->n_seen++;
		memset(s, 0, sizeof(*s));
		s->p = *p;
		gsd_policy_normalize(&s->p);
		memcpy(s->id, id, GSM_ID_LEN);
		s->first_ms = now_ms;
	}
	s->mark = true;
	return s->first_ms;
}

uint64_t gsd_policy_table_first_seen(const struct gsd_policy_table *t, const struct gsm_prefix *p,
				     const uint8_t id[GSM_ID_LEN])
{
	bool found;
	size_t at = seen_pos(t, p, id, &found);
	return found ? t->seen[at].first_ms : 0;
}

static bool drop_same(const struct gsd_policy_drop *a, const struct gsd_policy_drop *b)
{
	return !memcmp(a->id, b->id, GSM_ID_LEN) && a->prefix.family == b->prefix.family &&
	       a->prefix.len == b->prefix.len && !memcmp(a->prefix.ip, b->prefix.ip, 16) &&
	       a->reason == b->reason && a->has_winner == b->has_winner &&
	       a->accepted == b->accepted &&
	       (!a->has_winner || !memcmp(a->winner, b->winner, GSM_ID_LEN));
}

void gsd_policy_table_drop(struct gsd_policy_table *t, const struct gsd_policy_drop *drop)
{
	for (size_t i = 0; i < t->n_cur; i++)
		if (drop_same(&t->cur[i], drop))
			return;
	if (gsc_grow(&t->cur, &t->cap_cur, t->n_cur + 1, sizeof(*t->cur)) < 0)
		return;
	t->cur[t->n_cur++] = *drop;
	bool known = false;
	for (size_t i = 0; i < t->n_last && !known; i++)
		known = drop_same(&t->last[i], drop);
	if (!known && t->log)
		t->log(t->ctx, drop);
}

void gsd_policy_table_end(struct gsd_policy_table *t)
{
	size_t k = 0;
	for (size_t i = 0; i < t->n_seen; i++)
		if (t->seen[i].mark)
			t->seen[k++] = t->seen[i];
	t->n_seen = k;
	struct gsd_policy_drop *x = t->last;
	size_t cx = t->cap_last;
	t->last = t->cur;
	t->cap_last = t->cap_cur;
	t->n_last = t->n_cur;
	t->cur = x;
	t->cap_cur = cx;
	t->n_cur = 0;
}

void gsd_policy_table_contact(struct gsd_policy_table *t, size_t n_others, uint64_t now_ms)
{
	if (n_others == 0)
		return;
	if (!t->contact_ms) {
		t->contact_ms = now_ms ? now_ms : 1;
		t->self_since = t->contact_ms;
	}
	/* two or more others at first contact, or soon after it (a join
	 * through one seed learns the rest a moment later): a newcomer */
	if (n_others >= 2 && t->self_since == t->contact_ms &&
	    now_ms < t->contact_ms + GSD_POLICY_INCUMBENT_MS)
		t->self_since = t->contact_ms + GSD_POLICY_INCUMBENT_MS;
}

uint64_t gsd_policy_table_self_since(const struct gsd_policy_table *t)
{
	return t->self_since;
}

size_t gsd_policy_table_n_drops(const struct gsd_policy_table *t)
{
	return t->n_last;
}

const struct gsd_policy_drop *gsd_policy_table_drop_at(const struct gsd_policy_table *t, size_t i)
{
	return i < t->n_last ? &t->last[i] : NULL;
}

/* ------------------------------------------------ connected clusters */

static bool prefix_same(const struct gsm_prefix *a, const struct gsm_prefix *b)
{
	struct gsm_prefix x = *a, y = *b;
	gsd_policy_normalize(&x);
	gsd_policy_normalize(&y);
	return x.family == y.family && x.len == y.len && !memcmp(x.ip, y.ip, 16);
}

bool gsd_policy_overlap_yields(const struct gsm_prefix *p, const uint8_t self[GSM_ID_LEN],
			       uint64_t own_since_ms, const struct gsd_policy_rival *r)
{
	if (!memcmp(r->id, self, GSM_ID_LEN) || r->prefix.family != p->family ||
	    !gsm_prefix_overlaps(p, &r->prefix))
		return false;
	if (!r->gateway)
		return true; /* the mesh's own prefixes come first */
	struct gsd_policy_claim ours = {.first_seen_ms = own_since_ms};
	struct gsd_policy_claim theirs = {.first_seen_ms = r->first_seen_ms};
	memcpy(ours.id, self, GSM_ID_LEN);
	memcpy(theirs.id, r->id, GSM_ID_LEN);
	return gsd_policy_claim_cmp(&ours, &theirs) > 0;
}

int gsd_policy_withhold(const struct gsm_prefix *own, size_t n_own, const uint64_t *own_since_ms,
			const uint8_t self[GSM_ID_LEN], const struct gsd_policy_rival *rivals,
			size_t n_rivals, struct gsd_policy_withheld **out, size_t *n_out)
{
	struct gsd_policy_withheld *v = NULL;
	size_t n = 0, cap = 0;
	*out = NULL;
	*n_out = 0;
	for (size_t i = 0; i < n_own; i++) {
		for (size_t k = 0; k < n_rivals; k++) {
			const struct gsd_policy_rival *r = &rivals[k];
			if (!gsd_policy_overlap_yields(&own[i], self, own_since_ms[i], r))
				continue;
			if (gsc_grow(&v, &cap, n + 1, sizeof(*v)) < 0) {
				free(v);
				return -ENOMEM;
			}
			struct gsd_policy_withheld *w = &v[n++];
			memset(w, 0, sizeof(*w));
			w->prefix = own[i];
			w->member_prefix = r->prefix;
			memcpy(w->id, r->id, GSM_ID_LEN);
			snprintf(w->name, sizeof(w->name), "%s", r->name);
		}
	}
	*out = v;
	*n_out = n;
	return 0;
}

bool gsd_policy_is_withheld(const struct gsd_policy_withheld *v, size_t n,
			    const struct gsm_prefix *p)
{
	for (size_t i = 0; i < n; i++)
		if (prefix_same(&v[i].prefix, p))
			return true;
	return false;
}

bool gsd_policy_withheld_has(const struct gsd_policy_withheld *v, size_t n,
			     const struct gsd_policy_withheld *x)
{
	for (size_t i = 0; i < n; i++)
		if (prefix_same(&v[i].prefix, &x->prefix) &&
		    prefix_same(&v[i].member_prefix, &x->member_prefix) &&
		    !memcmp(v[i].id, x->id, GSM_ID_LEN))
			return true;
	return false;
}
