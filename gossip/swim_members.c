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
 *
 * Random choice.  gsm__pick_random draws members from the probe order,
 * first by rejection sampling (a bounded number of tries), then by a scan
 * from a random start, so it finishes even when few members are eligible.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/swim_int.h"

static uint64_t id_prefix(const uint8_t *id)
{
	return (uint64_t)id[0] << 56 | (uint64_t)id[1] << 48 | (uint64_t)id[2] << 40 |
	       (uint64_t)id[3] << 32 | (uint64_t)id[4] << 24 | (uint64_t)id[5] << 16 |
	       (uint64_t)id[6] << 8 | id[7];
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

		if (!x->is_self && (x->state == GSM_STATE_DEAD || x->state == GSM_STATE_LEFT) &&
		    now - x->changed_ms >= s->cfg.tombstone_ms) {
			if (!gsm__grow(s, &s->reaped, &s->cap_reaped, s->n_reaped + 1,
				       sizeof(*s->reaped))) {
				struct reaped *r = &s->reaped[s->n_reaped++];

				memcpy(r->id, x->id, GSM_ID_LEN);
				r->gen = x->gen > x->adv_gen ? x->gen : x->adv_gen;
				r->until = now + s->cfg.tombstone_ms;
			}
			gsm__emit(s, GSM_SWIM_EV_REMOVED, x);
			member_remove(s, x);
			continue;
		}
		i++;
	}
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
