/*
 * gossip/swim_auth.c - envelope v3 in the membership core: the replay
 * window and per-datagram sender attribution.  See docs/protocol.md
 * (Replay window, Attribution) for the rules, gossip/crypto.h for the
 * primitives.
 *
 * WHAT.  Every datagram's nonce opens with the sender's wall clock.  A
 * datagram that opens is refused when that time stamp is further than
 * config.replay_window_ms from our own wall clock (env.wall_ms): "stale",
 * most likely a clock that is off, so it is logged (rate limited) with the
 * skew and a hint to check NTP.  Within the window every nonce is accepted
 * once: a cache remembers (time stamp, random part) of what arrived in the
 * last two windows, so a captured datagram re-sent by anyone - within the
 * window from the cache, later from the clock - changes nothing.
 *
 * Attribution: the cluster key proves that a key holder sealed a datagram,
 * not which one; the body's sender id is a claim.  A datagram to a member
 * we know carries a pair tag keyed with the pair key of sender and
 * recipient (X25519 of their identities: only those two can compute it).
 * On receipt, a sender that is a member and a tag that verifies make the
 * datagram ATTRIBUTED; a bad tag rejects it (bad_sender); no tag or a
 * sender we do not know leaves it unattributed, and what an unattributed
 * datagram may do is limited (swim.c's dispatch, docs/protocol.md): it can
 * introduce its sender (self-signed adverts and updates), ask to join or
 * sync, ping and answer probes we sent to its very address, but not send
 * ping-reqs or nacks.  (Lifeguard confirmations need no attribution: they
 * are SUSPECT/DEAD claims signed by their claimer, swim_apply.c.)
 *
 * Pair keys are derived lazily, once per member, and only for members:
 * a datagram naming a random id costs a table lookup, never an X25519
 * (no CPU denial of service).  They are wiped when the member goes.
 *
 * The cache: a ring of entries in arrival order (expiry and eviction are
 * both "drop the oldest") and an open-addressing index of ring positions,
 * hashed with SipHash under a per-instance random key (a key holder
 * cannot aim nonces at one bucket).  It grows by doubling up to
 * REPLAY_MAX entries; at the cap the oldest entry goes early (counted:
 * replay_evicted), which only matters under a flood of > 500 datagrams a
 * second, and then the clock check still refuses anything older than the
 * window.  Trade-off: without env.wall_ms there is no clock check and a
 * replay older than two windows gets through (tests and tools only).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <sodium.h>

#include "gossip/swim_int.h"

#define REPLAY_FIRST	256
#define STALE_LOG_EVERY 60000u

static uint64_t window_ms(const struct gsm_swim *s)
{
	return s->cfg.replay_window_ms ? s->cfg.replay_window_ms : 60000u;
}

void gsm__nonce(struct gsm_swim *s, uint8_t nonce[GSM_NONCE_LEN])
{
	uint8_t rnd[GSM_NONCE_RANDOM_LEN];
	uint64_t wall = s->env.wall_ms ? s->env.wall_ms(s->env.ctx) : 0;

	s->env.random(s->env.ctx, rnd, sizeof(rnd));
	gsm_nonce_make(wall, rnd, nonce);
}

/* ------------------------------------------------------------------ */
/* the replay cache                                                    */

static size_t ent_hash(const struct replay *r, uint64_t ts, const uint8_t *rnd)
{
	uint8_t in[8 + GSM_NONCE_RANDOM_LEN], out[crypto_shorthash_BYTES];
	uint64_t h;

	memcpy(in, &ts, 8);
	memcpy(in + 8, rnd, GSM_NONCE_RANDOM_LEN);
	crypto_shorthash(out, in, sizeof(in), r->hkey);
	memcpy(&h, out, sizeof(h));
	return (size_t)h;
}

/* The index slot holding (ts, rnd) (*found = 1) or the empty slot where it
 * would go (*found = 0). */
static size_t idx_slot(const struct replay *r, uint64_t ts, const uint8_t *rnd, int *found)
{
	size_t mask = 2 * r->cap - 1, i = ent_hash(r, ts, rnd) & mask;

	for (;;) {
		uint32_t v = r->idx[i];
		const struct replay_ent *e;

		if (!v) {
			*found = 0;
			return i;
		}
		e = &r->ring[v - 1];
		if (e->ts == ts && !memcmp(e->rnd, rnd, GSM_NONCE_RANDOM_LEN)) {
			*found = 1;
			return i;
		}
		i = (i + 1) & mask;
	}
}

/* Empty slot i, shifting later entries of its cluster back (linear
 * probing without tombstones). */
static void idx_delete(struct replay *r, size_t i)
{
	size_t mask = 2 * r->cap - 1, j = i;

	r->idx[i] = 0;
	for (;;) {
		const struct replay_ent *e;
		size_t k;

		j = (j + 1) & mask;
		if (!r->idx[j])
			return;
		e = &r->ring[r->idx[j] - 1];
		k = ent_hash(r, e->ts, e->rnd) & mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue; /* j's home is between i and j: stays */
		r->idx[i] = r->idx[j];
		r->idx[j] = 0;
		i = j;
	}
}

static void replay_pop(struct replay *r)
{
	const struct replay_ent *e = &r->ring[r->head];
	int found;
	size_t i = idx_slot(r, e->ts, e->rnd, &found);

	if (found)
		idx_delete(r, i);
	r->head = (r->head + 1) & (r->cap - 1);
	r->n--;
}

/* Double the cache (REPLAY_FIRST the first time): 0 or -ENOMEM. */
static int replay_grow(struct gsm_swim *s)
{
	struct replay *r = &s->replay, t;
	int found;

	memset(&t, 0, sizeof(t));
	memcpy(t.hkey, r->hkey, sizeof(t.hkey));
	t.cap = r->cap ? 2 * r->cap : REPLAY_FIRST;
	t.ring = gsm__mem_alloc(s, t.cap * sizeof(*t.ring));
	t.idx = gsm__mem_alloc(s, 2 * t.cap * sizeof(*t.idx));
	if (!t.ring || !t.idx) {
		gsm__mem_free(s, t.ring, t.cap * sizeof(*t.ring));
		gsm__mem_free(s, t.idx, 2 * t.cap * sizeof(*t.idx));
		return -ENOMEM;
	}
	for (size_t k = 0; k < r->n; k++) {
		const struct replay_ent *e = &r->ring[(r->head + k) & (r->cap - 1)];

		t.ring[k] = *e;
		t.idx[idx_slot(&t, e->ts, e->rnd, &found)] = (uint32_t)k + 1;
	}
	t.n = r->n;
	gsm__replay_free(s);
	*r = t;
	return 0;
}

/* Remember (ts, rnd) seen at now: 0, or -ENOMEM (not remembered). */
static int replay_insert(struct gsm_swim *s, uint64_t now, uint64_t ts, const uint8_t *rnd)
{
	struct replay *r = &s->replay;
	struct replay_ent *e;
	size_t pos;
	int found;

	if (r->n == r->cap) {
		if (r->cap < REPLAY_MAX) {
			if (replay_grow(s) < 0)
				return -ENOMEM;
		} else {
			replay_pop(r);
			s->st.replay_evicted++;
		}
	}
	pos = (r->head + r->n) & (r->cap - 1);
	e = &r->ring[pos];
	e->seen = now;
	e->ts = ts;
	memcpy(e->rnd, rnd, GSM_NONCE_RANDOM_LEN);
	r->idx[idx_slot(r, ts, rnd, &found)] = (uint32_t)pos + 1;
	r->n++;
	return 0;
}

/* 1 if (ts, rnd) was seen within the last two windows; forgets older. */
static int replay_seen(struct gsm_swim *s, uint64_t now, uint64_t ts, const uint8_t *rnd)
{
	struct replay *r = &s->replay;
	uint64_t keep = 2 * window_ms(s);
	int found = 0;

	while (r->n && now - r->ring[r->head].seen > keep)
		replay_pop(r);
	if (r->n)
		idx_slot(r, ts, rnd, &found);
	return found;
}

void gsm__replay_free(struct gsm_swim *s)
{
	struct replay *r = &s->replay;

	gsm__mem_free(s, r->ring, r->cap * sizeof(*r->ring));
	gsm__mem_free(s, r->idx, 2 * r->cap * sizeof(*r->idx));
	r->ring = NULL;
	r->idx = NULL;
	r->cap = r->n = r->head = 0;
}

/* ------------------------------------------------------------------ */
/* the replay window                                                   */

/* One WARN line per STALE_LOG_EVERY: who, and how far off its clock is. */
static void stale_log(struct gsm_swim *s, const struct gsm_addr *from, uint64_t ts, uint64_t wall,
		      const uint8_t *body, size_t blen)
{
	uint64_t now = now_ms(s);
	char a[64] = "?", who[16] = "unknown";
	int64_t skew;

	if (s->stale_log_ms && now + 1 - s->stale_log_ms < STALE_LOG_EVERY)
		return;
	s->stale_log_ms = now + 1;
	if (gsm_addr_format(from, a, sizeof(a)) < 0)
		strcpy(a, "?");
	if (gsm_msg_decode(body, blen, &s->rx->m) == 0)
		snprintf(who, sizeof(who), "%02x%02x%02x%02x", s->rx->m.sender[0],
			 s->rx->m.sender[1], s->rx->m.sender[2], s->rx->m.sender[3]);
	skew = ts >= wall ? (int64_t)((ts - wall) / 1000) : -(int64_t)((wall - ts) / 1000);
	gsm__log(s, GSM_LOG_WARN,
		 "stale datagram from %s (sender %s): its clock is %+" PRId64
		 " s off ours, outside the %" PRIu64 " s replay window; check the clocks (NTP)",
		 a, who, skew, window_ms(s) / 1000);
}

int gsm__rx_timely(struct gsm_swim *s, const struct gsm_addr *from, const uint8_t *dgram,
		   const uint8_t *body, size_t blen)
{
	uint64_t ts = gsm_nonce_time(dgram + GSM_WK_ENV_NONCE), wall;

	if (!s->env.wall_ms)
		return 0;
	wall = s->env.wall_ms(s->env.ctx);
	if ((ts > wall ? ts - wall : wall - ts) <= window_ms(s))
		return 0;
	s->st.stale++;
	stale_log(s, from, ts, wall, body, blen);
	return -ETIME;
}

int gsm__rx_unseen(struct gsm_swim *s, const uint8_t *dgram)
{
	const uint8_t *nonce = dgram + GSM_WK_ENV_NONCE;
	uint64_t ts = gsm_nonce_time(nonce), now = now_ms(s);

	if (!s->replay.cap)
		s->env.random(s->env.ctx, s->replay.hkey, sizeof(s->replay.hkey));
	if (replay_seen(s, now, ts, nonce + GSM_NONCE_TIME_LEN)) {
		s->st.replayed++;
		return -EALREADY;
	}
	if (replay_insert(s, now, ts, nonce + GSM_NONCE_TIME_LEN) < 0)
		gsm__log(s, GSM_LOG_ERR, "replay cache: out of memory");
	return 0;
}

/* ------------------------------------------------------------------ */
/* attribution                                                         */

const uint8_t *gsm__pair_key(struct gsm_swim *s, struct member *m)
{
	const char *name = gsm_keyring_cluster_name(s->kr);

	if (m->pair_state == PAIR_NONE) {
		if (s->cfg.verify_signatures) {
			m->pair_state = gsm_pair_key(s->id, m->id, name, m->pair_key) == 0
					    ? PAIR_OK
					    : PAIR_REFUSED;
		} else {
			/* huge simulations only: see gsm_pair_key_public */
			gsm_pair_key_public(s->self_id, m->id, name, m->pair_key);
			m->pair_state = PAIR_OK;
		}
	}
	return m->pair_state == PAIR_OK ? m->pair_key : NULL;
}

void gsm__pair_forget(struct gsm_swim *s, struct member *m)
{
	if (s->rx_member == m) {
		s->rx_member = NULL;
		s->rx_attributed = 0;
	}
	sodium_memzero(m->pair_key, sizeof(m->pair_key));
	m->pair_state = PAIR_NONE;
}

int gsm__rx_attribute(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from,
		      const uint8_t *dgram, size_t len)
{
	struct member *x = gsm__find(s, m->sender);
	const uint8_t *key;

	s->rx_active = 1;
	s->rx_attributed = 0;
	s->rx_from = *from;
	s->rx_member = x && !x->is_self ? x : NULL;
	if (!s->rx_member || gsm_envelope_auth(dgram, len) != GSM_ENV_AUTH_PAIR)
		return 0;
	key = gsm__pair_key(s, x);
	if (!key)
		return 0;
	if (gsm_pair_tag_verify(key, dgram, len) != 0) {
		s->st.bad_sender++;
		gsm__rx_end(s);
		return -EPERM;
	}
	s->rx_attributed = 1;
	return 0;
}

void gsm__rx_end(struct gsm_swim *s)
{
	s->rx_active = 0;
	s->rx_attributed = 0;
	s->rx_member = NULL;
}

struct member *gsm__tx_recipient(struct gsm_swim *s, const struct gsm_addr *to,
				 const struct txbuf *tb)
{
	struct member *x = tb->to;

	if (!x && tb->m.type == GSM_MSG_PING && tb->m.has_target)
		x = gsm__find(s, tb->m.target);
	if (!x && s->rx_active && s->rx_member && gsm_addr_equal(to, &s->rx_from))
		x = s->rx_member;
	return x && !x->is_self ? x : NULL;
}

/* the member probed (directly or relayed) under seq, if its id is sender */
static const struct member *probed_as(const struct gsm_swim *s, const struct gsm_msg *m)
{
	const struct probe *p = &s->probe;

	if (p->active && m->seq == p->seq && !memcmp(m->sender, p->target, GSM_ID_LEN))
		return gsm__find(s, p->target);
	for (int i = 0; i < MAX_RELAYS; i++) {
		const struct relay *r = &s->relays[i];

		if (r->used && r->seq == m->seq && !memcmp(m->sender, r->target, GSM_ID_LEN))
			return gsm__find(s, r->target);
	}
	return NULL;
}

int gsm__unattributed_ack_ok(struct gsm_swim *s, const struct gsm_msg *m,
			     const struct gsm_addr *from)
{
	const struct member *t;

	if (gsm__rx_attributed(s))
		return 1;
	if (m->type == GSM_MSG_ACK && !(m->flags & GSM_MF_FORWARDED)) {
		t = probed_as(s, m);
		if (t && gsm_addr_equal(&t->addr, from))
			return 1;
	}
	s->st.unattributed_dropped++;
	return 0;
}
