/*
 * gossip/swim_members.c - the member table of the membership core.
 *
 * Every node keeps a table of members sorted by node id, self included,
 * each with its SWIM state (generation, incarnation, ALIVE/SUSPECT/DEAD/
 * LEFT), gossip address, signed advert bytes (192 B record + advert per
 * member) and its two broadcast queue slots.  Beside the table: a parallel
 * array of 64-bit id prefixes (the binary search compares those and only
 * falls back to memcmp on a tie, which keeps it cache-friendly), the probe
 * order (a permutation of the table: a new member lands at a random place,
 * which consumes one random number), and counters per state of the others
 * (cluster size = self + ALIVE + SUSPECT drives every log N scaling).
 *
 * Sorted arrays instead of hash tables keep the code small and paging the
 * digest trivial; insertion is O(N) but rare.
 *
 * Views.  The public struct gsm_swim_member is filled from a member on
 * demand (foreach, get, events); its pointers stay valid until the next
 * call that can change membership.
 *
 * Tombstones.  DEAD and LEFT members are kept tombstone_ms, then reaped
 * (REMOVED event) and remembered one more period by (id, generation), so
 * that peers still holding them, or stale gossip, cannot re-create them.
 * Members whose certificate is ephemeral (authority mode) are kept and
 * remembered EPHEMERAL_REAP_MS (120 s) instead.
 *
 * Admission (docs/protocol.md "Admission").  A new member costs a slot
 * in a table of ADMIT_SOURCES source IP addresses: each may bring
 * admission_per_source new members per window; "source" is the
 * datagram's source address even for relayed adverts (an honest relay
 * passes only members it admitted itself, so a minting key holder gets
 * at most nodes x limit identities in per window), except the partner of
 * our own sync session when it is a seed or a reachable member (a joiner
 * learns everything from it).  A member is reachable once it acks one of
 * our pings (the probe, directly or forwarded by a helper, or a
 * verification ping: a few per probe interval go to members not yet
 * reachable); only reachable members should become WireGuard peers or be
 * persisted (the daemon's business), and a member never reachable within
 * unreachable_reap_ms is reaped like a tombstone.
 *
 * Random choice.  gsm__pick_random draws members from the probe order,
 * first by rejection sampling (a bounded number of tries), then by a scan
 * from a random start, so it finishes even when few members are eligible.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "gossip/swim_int.h"

static uint64_t id_prefix(const uint8_t *id)
{
	return gsc_get_be64(id);
}

/* memcmp order, cheap in the common case (ids differ in the first bytes) */
static int id_cmp(const uint8_t *a, const uint8_t *b)
{
	uint64_t x = id_prefix(a), y = id_prefix(b);

	if (x != y)
		return x < y ? -1 : 1;
	return memcmp(a + 8, b + 8, GSM_ID_LEN - 8);
}

size_t gsm__find_pos(const struct gsm_swim *s, const uint8_t *id, int *found)
{
	size_t lo = 0, hi = s->n_mem;

	uint64_t key = id_prefix(id);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = s->keys[mid] < key   ? -1
			: s->keys[mid] > key ? 1
					     : id_cmp(s->mem[mid]->id, id);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

struct member *gsm__find(const struct gsm_swim *s, const uint8_t *id)
{
	int found;
	size_t p = gsm__find_pos(s, id, &found);

	return found ? s->mem[p] : NULL;
}

void gsm__count_state(struct gsm_swim *s, const struct member *m, int d)
{
	if (m->is_self)
		return;
	switch (m->state) {
	case GSM_STATE_ALIVE:
		s->n_alive += d;
		break;
	case GSM_STATE_SUSPECT:
		s->n_suspect += d;
		break;
	case GSM_STATE_DEAD:
		s->n_dead += d;
		break;
	default:
		s->n_left += d;
		break;
	}
}

struct member *gsm__member_add(struct gsm_swim *s, const uint8_t *id)
{
	int found;
	size_t pos = gsm__find_pos(s, id, &found);
	struct member *m;

	if (found)
		return s->mem[pos];
	if (gsm__grow(s, &s->mem, &s->cap_mem, s->n_mem + 1, sizeof(*s->mem)) ||
	    gsm__grow(s, &s->keys, &s->cap_keys, s->n_mem + 1, sizeof(*s->keys)) ||
	    gsm__grow(s, &s->plist, &s->cap_plist, s->n_plist + 1, sizeof(*s->plist)))
		return NULL;
	m = gsm__mem_alloc(s, sizeof(*m));
	if (!m)
		return NULL;
	memcpy(m->id, id, GSM_ID_LEN);
	m->state = GSM_STATE_ALIVE;
	m->admit_ms = now_ms(s);
	if (!memcmp(id, s->self_id, GSM_ID_LEN)) {
		m->reachable = 1; /* ourselves */
		m->reach_ms = m->admit_ms;
	} else {
		s->st.unreachable++;
	}
	memmove(&s->mem[pos + 1], &s->mem[pos], (s->n_mem - pos) * sizeof(*s->mem));
	memmove(&s->keys[pos + 1], &s->keys[pos], (s->n_mem - pos) * sizeof(*s->keys));
	s->mem[pos] = m;
	s->keys[pos] = id_prefix(id);
	s->n_mem++;
	/* random position in the probe order */
	{
		size_t at = rnd_below(s, s->n_plist + 1);

		if (at == s->n_plist) {
			s->plist[s->n_plist++] = m;
		} else {
			s->plist[s->n_plist++] = s->plist[at];
			s->plist[at] = m;
		}
	}
	gsm__count_state(s, m, +1);
	return m;
}

void gsm__member_free(struct gsm_swim *s, struct member *m)
{
	gsm__q_remove(&s->uqueue, &m->uq);
	gsm__q_remove(&s->aqueue, &m->aq);
	gsm__susp_remove(s, m);
	gsm__mem_free(s, m->advert, m->advert_len);
	gsm__mem_free(s, m->leave_sig, GSM_SIG_LEN);
	gsm__mem_free(s, m->alive_sig, GSM_SIG_LEN);
	gsm__pair_forget(s, m);
	gsm__mem_free(s, m, sizeof(*m));
}

static void member_remove(struct gsm_swim *s, struct member *m)
{
	int found;
	size_t pos = gsm__find_pos(s, m->id, &found);

	if (!found)
		return;
	memmove(&s->mem[pos], &s->mem[pos + 1], (s->n_mem - pos - 1) * sizeof(*s->mem));
	memmove(&s->keys[pos], &s->keys[pos + 1], (s->n_mem - pos - 1) * sizeof(*s->keys));
	s->n_mem--;
	for (size_t i = 0; i < s->n_plist; i++) {
		if (s->plist[i] == m) {
			memmove(&s->plist[i], &s->plist[i + 1],
				(s->n_plist - i - 1) * sizeof(*s->plist));
			s->n_plist--;
			if (s->pidx > i)
				s->pidx--;
			break;
		}
	}
	gsm__count_state(s, m, -1);
	if (!m->reachable)
		s->st.unreachable--;
	gsm__member_free(s, m);
}

static void fill_view(const struct member *m, struct gsm_swim_member *v)
{
	memcpy(v->id, m->id, GSM_ID_LEN);
	v->state = m->state;
	v->is_self = m->is_self;
	v->generation = m->gen;
	v->incarnation = m->inc;
	v->version = m->adv_ver;
	v->advert_generation = m->adv_gen;
	v->addr = m->addr;
	v->advert = m->advert;
	v->advert_len = m->advert_len;
	v->state_changed_ms = m->changed_ms;
	v->reachable = m->reachable;
	v->reachable_since_ms = m->reachable ? m->reach_ms : 0;
	v->cert_status = m->cert_status;
	v->cert_expires_s = m->cert_expires_s;
	v->cert_roles = m->cert_roles;
	v->cert_serial = m->cert_serial;
	v->cert_ephemeral = m->cert_ephemeral;
}

void gsm__emit(struct gsm_swim *s, enum gsm_swim_event_type t, const struct member *m)
{
	struct gsm_swim_event ev;
	struct gsm_swim_member v;

	if (!s->env.event)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = t;
	if (m) {
		fill_view(m, &v);
		ev.member = &v;
	}
	s->env.event(s->env.ctx, &ev);
}

void gsm__set_state(struct gsm_swim *s, struct member *m, uint8_t state)
{
	if (m->state == state)
		return;
	gsm__count_state(s, m, -1);
	m->state = state;
	gsm__count_state(s, m, +1);
	m->changed_ms = now_ms(s);
	if (state != GSM_STATE_SUSPECT)
		gsm__susp_remove(s, m);
}

void gsm__fill_update(const struct gsm_swim *s, const struct member *m, struct gsm_update *u)
{
	memset(u, 0, sizeof(*u));
	memcpy(u->node, m->id, GSM_ID_LEN);
	u->state = m->state;
	u->generation = m->gen;
	u->incarnation = m->inc;
	u->addr = m->addr;
	if (m->state == GSM_STATE_SUSPECT && m->susp && m->susp->has_from) {
		u->has_from = 1;
		memcpy(u->from, m->susp->from, GSM_ID_LEN);
	}
	if (m->state == GSM_STATE_LEFT && m->leave_sig) {
		u->has_sig = 1;
		memcpy(u->sig, m->leave_sig, GSM_SIG_LEN);
	} else if (m->state != GSM_STATE_LEFT && m->alive_sig && m->gen == m->sgen &&
		   m->inc == m->sinc) {
		/* the member's own signature for this (gen, inc): lets a
		 * receiver that missed its refutation accept the claim */
		u->has_sig = 1;
		memcpy(u->sig, m->alive_sig, GSM_SIG_LEN);
	}
	gsm__claim_fill(m, u); /* SUSPECT/DEAD: the signed claim, as made */
	(void)s;
}

/* add m to out[0..*got) when it qualifies and is not there yet */
static void pick_take(struct member *m, struct member **out, size_t *got, const uint8_t *ex,
		      int alive_only)
{
	if (!eligible(m) || (alive_only && m->state != GSM_STATE_ALIVE) ||
	    (ex && !memcmp(m->id, ex, GSM_ID_LEN)))
		return;
	for (size_t i = 0; i < *got; i++)
		if (out[i] == m)
			return;
	out[(*got)++] = m;
}

/* up to n distinct random eligible members, excluding `ex` (may be NULL);
 * alive_only: not suspects either (ping-req helpers, sync partners).
 * Random draws first, then a scan from a random start fills what is left. */
size_t gsm__pick_random(struct gsm_swim *s, struct member **out, size_t n, const uint8_t *ex,
			int alive_only)
{
	size_t got = 0, np = s->n_plist;

	if (!np || !n)
		return 0;
	for (int tries = 0; tries < 8 * (int)n + 16 && got < n; tries++)
		pick_take(s->plist[rnd_below(s, np)], out, &got, ex, alive_only);
	if (got < n) {
		size_t start = rnd_below(s, np);

		for (size_t k = 0; k < np && got < n; k++)
			pick_take(s->plist[(start + k) % np], out, &got, ex, alive_only);
	}
	return got;
}

int gsm__is_reaped(const struct gsm_swim *s, const uint8_t *id, uint64_t gen)
{
	for (size_t i = 0; i < s->n_reaped; i++)
		if (gen <= s->reaped[i].gen && !memcmp(s->reaped[i].id, id, GSM_ID_LEN))
			return 1;
	return 0;
}

static uint32_t unreachable_reap_ms(const struct gsm_swim *s)
{
	return s->cfg.unreachable_reap_ms ? s->cfg.unreachable_reap_ms : 600000u;
}

/* How long x is kept DEAD or LEFT: an ephemeral member (its certificate
 * says so: CI runners, short-lived jobs) EPHEMERAL_REAP_MS at most, so
 * that a cluster with many of them does not carry their tombstones for
 * a day. */
static uint64_t tombstone_ms(const struct gsm_swim *s, const struct member *x)
{
	if (x->cert_ephemeral && x->cert_decoded && s->cfg.tombstone_ms > EPHEMERAL_REAP_MS)
		return EPHEMERAL_REAP_MS;
	return s->cfg.tombstone_ms;
}

/* DEAD/LEFT past the tombstone period, or ALIVE/SUSPECT and never
 * reachable past the unreachable reap time */
static int reap_due(struct gsm_swim *s, const struct member *x, uint64_t now)
{
	if (x->is_self)
		return 0;
	if ((x->state == GSM_STATE_DEAD || x->state == GSM_STATE_LEFT) &&
	    now - x->changed_ms >= tombstone_ms(s, x))
		return 1;
	/* never reachable and live for the whole reap time since its
	 * admission or its last state change (one back from the dead after a
	 * partition gets a fresh period to be verified): nobody ever probes
	 * it out (no address); a DEAD one is a tombstone */
	if (!x->reachable && (x->state == GSM_STATE_ALIVE || x->state == GSM_STATE_SUSPECT) &&
	    now - (x->changed_ms > x->admit_ms ? x->changed_ms : x->admit_ms) >=
		unreachable_reap_ms(s)) {
		s->st.unreachable_reaped++;
		return 1;
	}
	return 0;
}

int gsm__reap_pending(const struct gsm_swim *s)
{
	return s->n_dead || s->n_left || s->n_reaped || s->st.unreachable;
}

void gsm__reap(struct gsm_swim *s, uint64_t now)
{
	for (size_t i = 0; i < s->n_reaped;) {
		if (s->reaped[i].until <= now)
			s->reaped[i] = s->reaped[--s->n_reaped];
		else
			i++;
	}
	for (size_t i = 0; i < s->n_mem;) {
		struct member *x = s->mem[i];

		if (reap_due(s, x, now)) {
			if (!gsm__grow(s, &s->reaped, &s->cap_reaped, s->n_reaped + 1,
				       sizeof(*s->reaped))) {
				struct reaped *r = &s->reaped[s->n_reaped++];

				memcpy(r->id, x->id, GSM_ID_LEN);
				r->gen = x->gen > x->adv_gen ? x->gen : x->adv_gen;
				r->until = now + (x->reachable ? tombstone_ms(s, x)
							       : unreachable_reap_ms(s));
			}
			gsm__emit(s, GSM_SWIM_EV_REMOVED, x);
			member_remove(s, x);
			continue;
		}
		i++;
	}
}

/* ------------------------------------------------------------------ */
/* admission                                                           */

static int is_seed(const struct gsm_swim *s, const struct gsm_addr *a)
{
	for (size_t i = 0; i < s->n_seeds; i++)
		if (gsm_addr_equal(&s->seeds[i], a))
			return 1;
	return 0;
}

/* Adverts brought by anti-entropy from the partner of our own sync
 * session: we chose it (a seed, or a member), and a joiner learns the
 * whole cluster from it.  Only a seed or a reachable member is trusted
 * that far. */
static int own_sync_partner(const struct gsm_swim *s, const struct gsm_addr *src)
{
	const struct member *p;

	if (!s->sync.active || !gsm_addr_equal(src, &s->sync.addr))
		return 0;
	if (is_seed(s, src))
		return 1;
	p = s->sync.has_peer ? gsm__find(s, s->sync.peer) : NULL;
	return p && p->reachable;
}

/* The rate-limit slot of src's IP address (any port): its own, else a
 * free or expired one, else the one whose window started first. */
static struct admit_src *admit_slot(struct gsm_swim *s, const struct gsm_addr *src)
{
	struct admit_src *best = NULL;

	for (size_t i = 0; i < ADMIT_SOURCES; i++) {
		struct admit_src *a = &s->admit[i];

		if (a->family == src->family && !memcmp(a->ip, src->ip, sizeof(a->ip)))
			return a;
		if (!best || !a->family || (best->family && a->start < best->start))
			best = a;
	}
	best->family = src->family;
	memcpy(best->ip, src->ip, sizeof(best->ip));
	best->n = 0;
	best->start = 0;
	return best;
}

static int rate_ok(struct gsm_swim *s, const struct gsm_addr *src, uint64_t now)
{
	uint32_t limit = s->cfg.admission_per_source ? s->cfg.admission_per_source : 16;
	uint64_t window = s->cfg.admission_window_ms ? s->cfg.admission_window_ms : 10000;
	struct admit_src *a;

	if (limit == UINT32_MAX)
		return 1;
	a = admit_slot(s, src);
	if (!a->start || now - a->start >= window) {
		a->start = now ? now : 1;
		a->n = 0;
	}
	if (a->n >= limit)
		return 0;
	a->n++;
	return 1;
}

int gsm__admit(struct gsm_swim *s, const struct gsm_addr *src, int via_sync)
{
	if (s->n_mem >= s->cfg.max_members) {
		s->st.admission_refused++;
		return -ENOSPC;
	}
	if (!src || !src->family || (via_sync && own_sync_partner(s, src)))
		return 0;
	if (!rate_ok(s, src, now_ms(s))) {
		s->st.admission_ratelimited++;
		return -EBUSY;
	}
	return 0;
}

void gsm__set_reachable(struct gsm_swim *s, struct member *m)
{
	if (!m || m->reachable)
		return;
	m->reachable = 1;
	m->reach_ms = now_ms(s);
	s->st.unreachable--;
	gsm__emit(s, GSM_SWIM_EV_REACHABLE, m);
}

void gsm__note_ack(struct gsm_swim *s, const struct gsm_msg *m)
{
	const struct probe *p = &s->probe;
	struct member *x;

	if (p->active && m->seq == p->seq) {
		/* our probe: answered by the target, or forwarded by a helper
		 * that reached it */
		if (m->flags & GSM_MF_FORWARDED) {
			if (m->has_target && !memcmp(m->target, p->target, GSM_ID_LEN))
				gsm__set_reachable(s, gsm__find(s, p->target));
		} else if (!memcmp(m->sender, p->target, GSM_ID_LEN)) {
			gsm__set_reachable(s, gsm__find(s, p->target));
		}
		return;
	}
	if (m->flags & GSM_MF_FORWARDED)
		return;
	x = gsm__find(s, m->sender);
	if (x && !x->reachable && x->verify_seq && x->verify_seq == m->seq)
		gsm__set_reachable(s, x);
}

/* ping one member not yet reachable: 1 if sent */
static int verify_one(struct gsm_swim *s, struct member *x, uint64_t now)
{
	uint64_t retry = (uint64_t)s->cfg.probe_interval_ms * VERIFY_RETRY;

	if (x->reachable || !eligible(x) || since32(now, x->verify_ms) < retry)
		return 0;
	x->verify_ms = stamp32(now);
	x->verify_seq = ++s->seq;
	gsm__send_ping(s, x, x->verify_seq, 0);
	return 1;
}

void gsm__verify_timer(struct gsm_swim *s, uint64_t now)
{
	size_t sent = 0, n = s->n_plist;

	if (now < s->next_verify)
		return;
	s->next_verify = now + s->cfg.probe_interval_ms;
	if (!s->st.unreachable || !n)
		return;
	/* from a random place of the probe order: no member starves */
	for (size_t k = 0, start = rnd_below(s, n); k < n && sent < VERIFY_PER_ROUND; k++)
		sent += verify_one(s, s->plist[(start + k) % n], now);
}

uint64_t gsm__verify_deadline(const struct gsm_swim *s)
{
	return s->st.unreachable ? s->next_verify : UINT64_MAX;
}

int gsm_swim_vouch(struct gsm_swim *s, const uint8_t id[GSM_ID_LEN])
{
	struct member *x;

	if (!s || !id)
		return -EINVAL;
	x = gsm__find(s, id);
	if (!x)
		return -ENOENT;
	if (x->is_self || !x->addr.family)
		return -EINVAL;
	if (!x->reachable) {
		x->reachable = 1;
		x->reach_ms = now_ms(s);
		s->st.unreachable--;
	}
	return 0;
}

size_t gsm_swim_member_count(const struct gsm_swim *s)
{
	return s ? s->n_mem : 0;
}

int gsm_swim_foreach(const struct gsm_swim *s,
		     int (*cb)(void *arg, const struct gsm_swim_member *m), void *arg)
{
	struct gsm_swim_member v;

	for (size_t i = 0; i < s->n_mem; i++) {
		int r;

		fill_view(s->mem[i], &v);
		r = cb(arg, &v);
		if (r)
			return r;
	}
	return 0;
}

int gsm_swim_get(const struct gsm_swim *s, const uint8_t id[GSM_ID_LEN], struct gsm_swim_member *m)
{
	struct member *x = gsm__find(s, id);

	if (!x)
		return -ENOENT;
	fill_view(x, m);
	return 0;
}
