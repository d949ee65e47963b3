/*
 * tests/unit/test_swim_parts.c - the parts of the membership core
 * (gossip/swim_*.c) through its internal interface gossip/swim_int.h:
 * suspicion timeouts, retransmit limits, the pack budget, the sync
 * summary (view hash) and authenticated membership (signed bounds).
 * Whole-protocol behaviour is the simulator's job (tests/sim).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gossip/swim_int.h"
#include "tests/unit/fixtures.h"

/* ------------------------------------------------------------------ */
/* a core instance with a scripted env                                 */

struct fx {
	struct gsm_identity *id;
	struct gsm_keyring *kr;
	struct gsm_swim *s;
	uint64_t now;
	uint32_t rnd;
	size_t n_sent, max_sent;
};

static uint64_t env_now(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static void env_send(void *ctx, const struct gsm_addr *to, const uint8_t *buf, size_t len)
{
	struct fx *f = ctx;

	(void)to;
	(void)buf;
	f->n_sent++;
	if (len > f->max_sent)
		f->max_sent = len;
}

static void env_random(void *ctx, uint8_t *buf, size_t len)
{
	struct fx *f = ctx;

	fx_bytes(buf, len, 7000 + f->rnd++);
}

static void fx_start(struct fx *f, const struct gsm_swim_config *cfg_in)
{
	struct gsm_swim_config cfg;
	struct gsm_swim_env env = {.now = env_now, .send = env_send, .random = env_random};
	struct gsm_addr self = {.family = 4, .ip = {10, 0, 0, 1}, .port = 7946};

	memset(f, 0, sizeof(*f));
	f->now = 1000000;
	f->id = fx_identity(1);
	f->kr = fx_keyring();
	if (cfg_in)
		cfg = *cfg_in;
	else
		gsm_swim_config_default(&cfg);
	env.ctx = f;
	assert_int_equal(gsm_swim_new(&cfg, f->id, f->kr, &self, &env, &f->s), 0);
}

static void fx_stop(struct fx *f)
{
	gsm_swim_free(f->s);
	gsm_keyring_free(f->kr);
	gsm_identity_free(f->id);
}

static void member_id(uint8_t id[GSM_ID_LEN], uint32_t tag)
{
	fx_bytes(id, GSM_ID_LEN, 100000 + tag);
}

/* Add member `tag` (ALIVE, with an address). */
static struct member *add(struct gsm_swim *s, uint32_t tag)
{
	uint8_t id[GSM_ID_LEN];
	struct member *m;

	member_id(id, tag);
	m = gsm__member_add(s, id);
	assert_non_null(m);
	m->gen = 1;
	m->addr.family = 4;
	m->addr.ip[0] = 10;
	m->addr.ip[1] = (uint8_t)(tag >> 16);
	m->addr.ip[2] = (uint8_t)(tag >> 8);
	m->addr.ip[3] = (uint8_t)tag;
	m->addr.port = 7946;
	return m;
}

static void add_n(struct gsm_swim *s, uint32_t first, size_t n)
{
	for (size_t i = 0; i < n; i++)
		add(s, first + (uint32_t)i);
}

/* Give m fake advert bytes of len (pack and the view hash do not parse
 * them; the member owns them like a real advert). */
static void give_advert(struct gsm_swim *s, struct member *m, size_t len, uint64_t gen,
			uint64_t ver)
{
	gsm__mem_free(s, m->advert, m->advert_len);
	m->advert = gsm__mem_alloc(s, len);
	assert_non_null(m->advert);
	fx_bytes(m->advert, len, (uint32_t)ver);
	m->advert_len = (uint16_t)len;
	m->adv_gen = gen;
	m->adv_ver = ver;
}

/* ------------------------------------------------------------------ */
/* suspicion timeouts                                                  */

static void test_suspicion_scaling_with_n(void **state)
{
	struct fx f;

	(void)state;
	fx_start(&f, NULL); /* min mult 4, max mult 6, 1000 ms, k = 3 */
	/* alone: nobody can confirm, min = 4 * max(1, log10 1) s */
	assert_int_equal(gsm__expected_confirmations(f.s), 0);
	assert_int_equal(gsm__suspicion_timeout(f.s, 0), 4000);
	/* N = 3: one confirmation possible (N - 2) */
	add_n(f.s, 1, 2);
	assert_int_equal(gsm__expected_confirmations(f.s), 1);
	assert_int_equal(gsm__suspicion_timeout(f.s, 0), 24000);
	assert_int_equal(gsm__suspicion_timeout(f.s, 1), 4000);
	/* N = 10: log10 N = 1, min 4 s, max 24 s */
	add_n(f.s, 3, 7);
	assert_int_equal(cluster_size(f.s), 10);
	assert_int_equal(gsm__expected_confirmations(f.s), 3);
	assert_int_equal(gsm__suspicion_timeout(f.s, 0), 24000);
	assert_int_equal(gsm__suspicion_timeout(f.s, 3), 4000);
	/* N = 100: min 8 s, max 48 s */
	add_n(f.s, 10, 90);
	assert_int_equal(gsm__suspicion_timeout(f.s, 0), 48000);
	assert_int_equal(gsm__suspicion_timeout(f.s, 3), 8000);
	/* N = 1000: min 12 s, max 72 s */
	add_n(f.s, 100, 900);
	assert_int_equal(cluster_size(f.s), 1000);
	assert_int_equal(gsm__suspicion_timeout(f.s, 0), 72000);
	assert_int_equal(gsm__suspicion_timeout(f.s, 3), 12000);
	/* DEAD members do not count: back to N = 10 */
	for (size_t i = 0, dead = 0; i < f.s->n_mem && dead < 990; i++) {
		if (!f.s->mem[i]->is_self) {
			gsm__set_state(f.s, f.s->mem[i], GSM_STATE_DEAD);
			dead++;
		}
	}
	assert_int_equal(cluster_size(f.s), 10);
	assert_int_equal(gsm__suspicion_timeout(f.s, 0), 24000);
	fx_stop(&f);
}

static void test_suspicion_shrinks_with_confirmations(void **state)
{
	struct fx f;
	uint64_t prev;

	(void)state;
	fx_start(&f, NULL);
	add_n(f.s, 1, 9); /* N = 10, k = 3 */
	prev = gsm__suspicion_timeout(f.s, 0);
	for (uint32_t c = 1; c <= 3; c++) {
		uint64_t t = gsm__suspicion_timeout(f.s, c);

		assert_true(t < prev);
		prev = t;
	}
	/* log(c + 1) / log(k + 1) of the way from max to min */
	assert_int_equal(gsm__suspicion_timeout(f.s, 1), 14000);
	assert_int_equal(gsm__suspicion_timeout(f.s, 2),
			 (uint64_t)(24000.0 - log(3.0) / log(4.0) * 20000.0));
	/* never below the min */
	assert_int_equal(gsm__suspicion_timeout(f.s, 7), 4000);
	fx_stop(&f);
}

static void test_suspicion_without_lifeguard_is_min(void **state)
{
	struct gsm_swim_config cfg;
	struct fx f;

	(void)state;
	gsm_swim_config_default(&cfg);
	cfg.lifeguard = false;
	fx_start(&f, &cfg);
	add_n(f.s, 1, 99);
	assert_int_equal(gsm__suspicion_timeout(f.s, 0), 8000);
	assert_int_equal(gsm__suspicion_timeout(f.s, 3), 8000);
	fx_stop(&f);
}

/* The timer itself: confirmations by distinct members shorten it, the
 * suspecter and repeated confirmers do not, and it reaches the min at the
 * expected number of confirmations. */
static void test_suspicion_timer_confirmations(void **state)
{
	struct fx f;
	struct member *m;
	uint8_t from[5][GSM_ID_LEN];
	uint64_t start;

	(void)state;
	fx_start(&f, NULL);
	add_n(f.s, 1, 8);
	m = add(f.s, 50); /* N = 10, k = 3 */
	for (int i = 0; i < 5; i++)
		member_id(from[i], 200 + (uint32_t)i);
	start = f.now;
	gsm__set_state(f.s, m, GSM_STATE_SUSPECT);
	gsm__suspicion_start(f.s, m, from[0]);
	assert_non_null(m->susp);
	assert_int_equal(m->susp->deadline, start + 24000);
	f.now += 500; /* confirmations count from the start of the suspicion */
	assert_int_equal(gsm__suspicion_confirm(f.s, m, from[0]), 0); /* the suspecter */
	assert_int_equal(gsm__suspicion_confirm(f.s, m, from[1]), 1);
	assert_int_equal(m->susp->deadline, start + 14000);
	assert_int_equal(gsm__suspicion_confirm(f.s, m, from[1]), 0); /* again */
	assert_int_equal(m->susp->deadline, start + 14000);
	assert_int_equal(gsm__suspicion_confirm(f.s, m, from[2]), 1);
	assert_int_equal(gsm__suspicion_confirm(f.s, m, from[3]), 1);
	assert_int_equal(m->susp->n_confirm, 3);
	assert_int_equal(m->susp->deadline, start + 4000);
	assert_int_equal(gsm__suspicion_confirm(f.s, m, from[4]), 0); /* k reached */
	assert_int_equal(m->susp->deadline, start + 4000);
	/* leaving SUSPECT drops the timer */
	gsm__set_state(f.s, m, GSM_STATE_ALIVE);
	assert_null(m->susp);
	assert_int_equal(f.s->n_susp, 0);
	fx_stop(&f);
}

/* ------------------------------------------------------------------ */
/* retransmit limits                                                   */

static void test_retransmit_limits(void **state)
{
	struct gsm_swim_config cfg;
	struct fx f;

	(void)state;
	fx_start(&f, NULL); /* lambda = 4 */
	/* N = 1: log10(2) = 0.30 -> updates 4 * 1, adverts ceil(1.2) */
	assert_int_equal(gsm__retransmit_limit(f.s, 0), 4);
	assert_int_equal(gsm__retransmit_limit(f.s, 1), 2);
	/* N = 9: log10(10) = 1 exactly: both 4 */
	add_n(f.s, 1, 8);
	assert_int_equal(gsm__retransmit_limit(f.s, 0), 4);
	assert_int_equal(gsm__retransmit_limit(f.s, 1), 4);
	/* N = 10: log10(11) = 1.04 -> updates 4 * 2, adverts ceil(4.17) */
	add(f.s, 9);
	assert_int_equal(gsm__retransmit_limit(f.s, 0), 8);
	assert_int_equal(gsm__retransmit_limit(f.s, 1), 5);
	/* N = 100: log10(101) = 2.004 -> 4 * 3 and ceil(8.02) */
	add_n(f.s, 10, 90);
	assert_int_equal(gsm__retransmit_limit(f.s, 0), 12);
	assert_int_equal(gsm__retransmit_limit(f.s, 1), 9);
	fx_stop(&f);

	/* clamped below the bucket count */
	gsm_swim_config_default(&cfg);
	cfg.retransmit_mult = 1000;
	fx_start(&f, &cfg);
	assert_int_equal(gsm__retransmit_limit(f.s, 0), MAX_BUCKETS - 1);
	assert_int_equal(gsm__retransmit_limit(f.s, 1), MAX_BUCKETS - 1);
	fx_stop(&f);
}

/* An update leaves its queue after exactly the limit of transmissions,
 * an advert after its own (lower) limit. */
static void test_retransmit_queue_honours_limits(void **state)
{
	struct fx f;
	struct member *m;
	struct gsm_msg *msg = malloc(sizeof(*msg));
	uint32_t lu, la, sent_u = 0, sent_a = 0;

	(void)state;
	assert_non_null(msg);
	fx_start(&f, NULL);
	add_n(f.s, 1, 9); /* N = 10: updates 8, adverts 5 */
	lu = gsm__retransmit_limit(f.s, 0);
	la = gsm__retransmit_limit(f.s, 1);
	assert_true(la < lu);
	m = add(f.s, 77); /* N = 11: same limits */
	assert_int_equal(gsm__retransmit_limit(f.s, 0), lu);
	give_advert(f.s, m, 200, 1, 1);
	gsm__enqueue(&f.s->uqueue, &m->uq);
	gsm__enqueue(&f.s->aqueue, &m->aq);
	for (int round = 0; round < 100 && (f.s->uqueue.count || f.s->aqueue.count); round++) {
		gsm_msg_init(msg, GSM_MSG_GOSSIP);
		gsm__pack(f.s, msg, NULL);
		sent_u += msg->n_updates > 0;
		sent_a += msg->n_adverts > 0;
	}
	assert_int_equal(sent_u, lu);
	assert_int_equal(sent_a, la);
	assert_false(m->uq.queued);
	assert_false(m->aq.queued);
	free(msg);
	fx_stop(&f);
}

/* ------------------------------------------------------------------ */
/* pack budget                                                         */

static size_t updates_size(const struct gsm_msg *m, const uint8_t (*ids)[GSM_ID_LEN], size_t n_ids)
{
	size_t sz = 0;

	for (size_t i = 0; i < m->n_updates; i++)
		for (size_t j = 0; j < n_ids; j++)
			if (!memcmp(m->updates[i].node, ids[j], GSM_ID_LEN))
				sz += gsm_update_encoded_size(&m->updates[i]);
	return sz;
}

/* 150 members with updates only, 150 with adverts only: every datagram
 * stays within the budget, and the update-only members get at least half
 * of the room (less one update) while adverts compete. */
static void test_pack_budget_and_update_share(void **state)
{
	struct fx f;
	struct gsm_msg *msg = malloc(sizeof(*msg));
	uint8_t(*uids)[GSM_ID_LEN] = calloc(150, GSM_ID_LEN);
	uint8_t *body = malloc(GSM_MAX_DATAGRAM);
	size_t cap, room, max_u = 0, rounds_with_adverts = 0;

	(void)state;
	assert_non_null(msg);
	assert_non_null(uids);
	assert_non_null(body);
	fx_start(&f, NULL);
	cap = body_cap(f.s);
	for (uint32_t i = 0; i < 150; i++) {
		struct member *u = add(f.s, 1000 + i), *a = add(f.s, 5000 + i);

		memcpy(uids[i], u->id, GSM_ID_LEN);
		gsm__enqueue(&f.s->uqueue, &u->uq);
		give_advert(f.s, a, 180 + (i % 5) * 40, 1, i + 1);
		gsm__enqueue(&f.s->aqueue, &a->aq);
	}
	for (int round = 0; round < 3000 && (f.s->uqueue.count || f.s->aqueue.count); round++) {
		size_t len = 0, usz;
		int competing = f.s->aqueue.count > 0 && f.s->uqueue.count > 20;

		gsm_msg_init(msg, GSM_MSG_GOSSIP);
		memcpy(msg->sender, f.s->self_id, GSM_ID_LEN);
		msg->sender_gen = 1;
		room = cap - gsm_msg_encoded_size(msg) - PACK_SLACK;
		gsm__pack(f.s, msg, NULL);
		assert_true(gsm_msg_encoded_size(msg) <= cap);
		assert_int_equal(gsm_msg_encode(msg, body, cap, &len), 0);
		assert_true(len <= cap);
		for (size_t i = 0; i < msg->n_updates; i++) {
			size_t one = gsm_update_encoded_size(&msg->updates[i]);

			max_u = one > max_u ? one : max_u;
		}
		usz = updates_size(msg, (const uint8_t(*)[GSM_ID_LEN])uids, 150);
		if (competing) {
			assert_true(msg->n_adverts > 0);
			assert_true(usz + max_u >= room / 2);
			rounds_with_adverts++;
		}
	}
	assert_true(rounds_with_adverts > 0);
	assert_int_equal(f.s->uqueue.count, 0);
	assert_int_equal(f.s->aqueue.count, 0);
	free(body);
	free(uids);
	free(msg);
	fx_stop(&f);
}

/* Without adverts the updates take the whole room; a buddy goes first. */
static void test_pack_updates_fill_room_and_buddy_first(void **state)
{
	struct fx f;
	struct gsm_msg *msg = malloc(sizeof(*msg));
	struct member *buddy;
	size_t cap, room, one = 0, sum = 0;

	(void)state;
	assert_non_null(msg);
	fx_start(&f, NULL);
	cap = body_cap(f.s);
	for (uint32_t i = 0; i < 150; i++)
		gsm__enqueue(&f.s->uqueue, &add(f.s, 1000 + i)->uq);
	buddy = add(f.s, 9999);
	gsm__set_state(f.s, buddy, GSM_STATE_SUSPECT);
	gsm_msg_init(msg, GSM_MSG_PING);
	memcpy(msg->sender, f.s->self_id, GSM_ID_LEN);
	room = cap - gsm_msg_encoded_size(msg) - PACK_SLACK;
	gsm__pack(f.s, msg, buddy);
	assert_true(msg->n_updates > 1);
	assert_memory_equal(msg->updates[0].node, buddy->id, GSM_ID_LEN);
	assert_int_equal(msg->updates[0].state, GSM_STATE_SUSPECT);
	for (size_t i = 0; i < msg->n_updates; i++) {
		size_t sz = gsm_update_encoded_size(&msg->updates[i]);

		sum += sz;
		one = sz > one ? sz : one;
	}
	assert_true(gsm_msg_encoded_size(msg) <= cap);
	assert_true(sum <= room);
	/* full: not even one more update would have fitted */
	assert_true(msg->n_updates == GSM_MAX_UPDATES || sum + one > room);
	free(msg);
	fx_stop(&f);
}

/* What goes out on the wire (gossip rounds: sealed, envelope included)
 * never exceeds the MTU. */
static void test_pack_sent_datagrams_within_mtu(void **state)
{
	struct gsm_swim_config cfg;
	struct fx f;

	(void)state;
	gsm_swim_config_default(&cfg);
	cfg.mtu = 600;
	fx_start(&f, &cfg);
	for (uint32_t i = 0; i < 60; i++) {
		struct member *m = add(f.s, 1000 + i);

		gsm__enqueue(&f.s->uqueue, &m->uq);
		if (i % 2) {
			give_advert(f.s, m, 150 + i, 1, i + 1);
			gsm__enqueue(&f.s->aqueue, &m->aq);
		}
	}
	for (int round = 0; round < 200 && (f.s->uqueue.count || f.s->aqueue.count); round++) {
		f.now += cfg.gossip_interval_ms;
		gsm__gossip_timer(f.s, f.now);
	}
	assert_true(f.n_sent > 0);
	assert_true(f.max_sent <= cfg.mtu);
	assert_int_equal(f.s->uqueue.count + f.s->aqueue.count, 0);
	fx_stop(&f);
}

/* ------------------------------------------------------------------ */
/* view hash                                                           */

static void hash_of(const struct gsm_swim *s, uint8_t h[SYNC_HASH_LEN])
{
	gsm__view_hash(s, h);
}

static void test_view_hash_equal_views(void **state)
{
	struct fx a, b;
	uint8_t ha[SYNC_HASH_LEN], hb[SYNC_HASH_LEN];

	(void)state;
	fx_start(&a, NULL);
	fx_start(&b, NULL);
	hash_of(a.s, ha);
	hash_of(b.s, hb);
	assert_memory_equal(ha, hb, SYNC_HASH_LEN);
	/* the same members, added in the opposite order */
	for (uint32_t i = 0; i < 20; i++) {
		give_advert(a.s, add(a.s, i), 100, 1, 10 + i);
		give_advert(b.s, add(b.s, 19 - i), 100, 1, 10 + 19 - i);
	}
	hash_of(a.s, ha);
	hash_of(b.s, hb);
	assert_memory_equal(ha, hb, SYNC_HASH_LEN);
	fx_stop(&a);
	fx_stop(&b);
}

static void test_view_hash_digest_changes(void **state)
{
	struct fx f;
	uint8_t h0[SYNC_HASH_LEN], h[SYNC_HASH_LEN], hd[SYNC_HASH_LEN];
	struct member *m, *x;

	(void)state;
	fx_start(&f, NULL);
	for (uint32_t i = 0; i < 10; i++)
		give_advert(f.s, add(f.s, i), 100, 1, 10 + i);
	m = add(f.s, 42);
	give_advert(f.s, m, 100, 1, 5);
	hash_of(f.s, h0);

	/* advert version */
	m->adv_ver = 6;
	hash_of(f.s, h);
	assert_memory_not_equal(h, h0, SYNC_HASH_LEN);
	m->adv_ver = 5;
	hash_of(f.s, h);
	assert_memory_equal(h, h0, SYNC_HASH_LEN);
	/* advert generation */
	m->adv_gen = 2;
	hash_of(f.s, h);
	assert_memory_not_equal(h, h0, SYNC_HASH_LEN);
	m->adv_gen = 1;
	/* a state other than ALIVE, and its incarnation and generation */
	gsm__set_state(f.s, m, GSM_STATE_DEAD);
	hash_of(f.s, hd);
	assert_memory_not_equal(hd, h0, SYNC_HASH_LEN);
	m->inc = 3;
	hash_of(f.s, h);
	assert_memory_not_equal(h, hd, SYNC_HASH_LEN);
	assert_memory_not_equal(h, h0, SYNC_HASH_LEN);
	m->inc = 0;
	m->gen = 2;
	hash_of(f.s, h);
	assert_memory_not_equal(h, hd, SYNC_HASH_LEN);
	m->gen = 1;
	gsm__set_state(f.s, m, GSM_STATE_LEFT);
	hash_of(f.s, h);
	assert_memory_not_equal(h, hd, SYNC_HASH_LEN);
	gsm__set_state(f.s, m, GSM_STATE_ALIVE);
	hash_of(f.s, h);
	assert_memory_equal(h, h0, SYNC_HASH_LEN);
	/* a new member with an advert */
	x = add(f.s, 43);
	give_advert(f.s, x, 100, 1, 1);
	hash_of(f.s, h);
	assert_memory_not_equal(h, h0, SYNC_HASH_LEN);
	fx_stop(&f);
}

/* What the digest does not compare does not change the hash: ALIVE
 * incarnations and members without adverts. */
static void test_view_hash_ignores_non_digest(void **state)
{
	struct fx f;
	uint8_t h0[SYNC_HASH_LEN], h[SYNC_HASH_LEN];
	struct member *m;

	(void)state;
	fx_start(&f, NULL);
	for (uint32_t i = 0; i < 10; i++)
		give_advert(f.s, add(f.s, i), 100, 1, 10 + i);
	m = f.s->mem[3]->is_self ? f.s->mem[4] : f.s->mem[3];
	hash_of(f.s, h0);
	m->inc += 5;
	m->addr.port++;
	hash_of(f.s, h);
	assert_memory_equal(h, h0, SYNC_HASH_LEN);
	add(f.s, 500); /* no advert */
	hash_of(f.s, h);
	assert_memory_equal(h, h0, SYNC_HASH_LEN);
	fx_stop(&f);
}

/* ------------------------------------------------------------------ */
/* authenticated membership (swim_apply.c)                             */

static void upd(struct gsm_update *u, const uint8_t *node, uint8_t st, uint64_t g, uint64_t i)
{
	memset(u, 0, sizeof(*u));
	memcpy(u->node, node, GSM_ID_LEN);
	u->state = st;
	u->generation = g;
	u->incarnation = i;
}

/* Sign u as a SUSPECT/DEAD claim (protocol major 3) by a member of s with
 * an advert (identity 99, added on first use). */
static void sign_claim(struct gsm_swim *s, struct gsm_update *u)
{
	struct gsm_identity *c = fx_identity(99);
	struct member *cm = gsm__find(s, gsm_identity_public(c));

	if (!cm) {
		cm = gsm__member_add(s, gsm_identity_public(c));
		assert_non_null(cm);
		give_advert(s, cm, 100, 1, 1);
	}
	assert_int_equal(gsm_claim_sign(c, u), 0);
	gsm_identity_free(c);
}

/* A member signed (generation 1, incarnation 0) by its advert: claims above
 * are ignored and counted; claims at it apply. */
static void test_claims_bounded_by_signed(void **state)
{
	struct fx f;
	struct member *m;
	struct gsm_update u;
	struct gsm_swim_stats st;

	(void)state;
	fx_start(&f, NULL);
	m = add(f.s, 1);
	m->sgen = 1;
	upd(&u, m->id, GSM_STATE_DEAD, 1, 3);
	sign_claim(f.s, &u);
	assert_int_equal(gsm__apply_update(f.s, &u, 0, NULL, NULL), 0);
	upd(&u, m->id, GSM_STATE_DEAD, UINT64_MAX, 0);
	sign_claim(f.s, &u);
	assert_int_equal(gsm__apply_update(f.s, &u, 0, NULL, NULL), 0);
	upd(&u, m->id, GSM_STATE_ALIVE, 1, 1); /* unsigned refutation */
	assert_int_equal(gsm__apply_update(f.s, &u, 0, NULL, NULL), 0);
	u.has_sig = 1; /* a signature that does not verify */
	assert_int_equal(gsm__apply_update(f.s, &u, 0, NULL, NULL), 0);
	gsm_swim_stats(f.s, &st);
	assert_int_equal(st.claims_rejected, 4);
	assert_int_equal(m->state, GSM_STATE_ALIVE);
	upd(&u, m->id, GSM_STATE_SUSPECT, 1, 0); /* claimer unknown, unsigned */
	assert_int_equal(gsm__apply_update(f.s, &u, 0, NULL, NULL), 0);
	gsm_swim_stats(f.s, &st);
	assert_int_equal(st.claims_unsigned, 1);
	sign_claim(f.s, &u);
	assert_int_equal(gsm__apply_update(f.s, &u, 0, NULL, NULL), 1);
	assert_int_equal(m->state, GSM_STATE_SUSPECT);
	fx_stop(&f);
}

/* A refutation signed by the member raises the bound, and the signature
 * travels on with its state. */
static void test_signed_alive_raises_bound(void **state)
{
	struct fx f;
	struct gsm_identity *x = fx_identity(77);
	uint8_t intent[GSM_ALIVE_INTENT_LEN];
	struct member *m;
	struct gsm_update u, out;

	(void)state;
	fx_start(&f, NULL);
	m = gsm__member_add(f.s, gsm_identity_public(x));
	assert_non_null(m);
	m->gen = m->sgen = 1;
	upd(&u, m->id, GSM_STATE_SUSPECT, 1, 0);
	sign_claim(f.s, &u);
	assert_int_equal(gsm__apply_update(f.s, &u, 0, NULL, NULL), 1);
	upd(&u, m->id, GSM_STATE_ALIVE, 1, 1);
	gsm_alive_intent(m->id, 1, 1, intent);
	assert_int_equal(gsm_sign(x, intent, sizeof(intent), u.sig), 0);
	u.has_sig = 1;
	assert_int_equal(gsm__apply_update(f.s, &u, 0, NULL, NULL), 1);
	assert_int_equal(m->state, GSM_STATE_ALIVE);
	assert_int_equal(m->inc, 1);
	assert_int_equal(m->sinc, 1);
	gsm__fill_update(f.s, m, &out);
	assert_true(out.has_sig);
	assert_memory_equal(out.sig, u.sig, GSM_SIG_LEN);
	/* a claim at the signed incarnation applies now */
	upd(&u, m->id, GSM_STATE_DEAD, 1, 1);
	sign_claim(f.s, &u);
	assert_int_equal(gsm__apply_update(f.s, &u, 0, NULL, NULL), 1);
	fx_stop(&f);
	gsm_identity_free(x);
}

/* Updates about unknown ids never create members; values above INT64_MAX
 * are refused. */
static void test_unknown_and_range(void **state)
{
	struct fx f;
	struct gsm_update u;
	struct gsm_swim_stats st;
	uint8_t id[GSM_ID_LEN];
	int need = 0;

	(void)state;
	fx_start(&f, NULL);
	member_id(id, 9);
	upd(&u, id, GSM_STATE_ALIVE, 1, 0);
	assert_int_equal(gsm__apply_update(f.s, &u, 0, NULL, &need), 0);
	assert_int_equal(need, NEED_UNKNOWN);
	assert_null(gsm__find(f.s, id));
	upd(&u, id, GSM_STATE_DEAD, (uint64_t)INT64_MAX + 1, 0);
	assert_int_equal(gsm__apply_update(f.s, &u, 0, NULL, NULL), 0);
	gsm_swim_stats(f.s, &st);
	assert_int_equal(st.updates_unknown, 1);
	assert_int_equal(st.claims_rejected, 1);
	assert_int_equal(gsm_swim_member_count(f.s), 1);
	fx_stop(&f);
}

/* Claims about ourselves: above our own ignored; at it refuted with a
 * signed incarnation + 1 that saturates at INT64_MAX. */
static void test_self_claims_and_saturation(void **state)
{
	struct fx f;
	struct gsm_update u;
	struct gsm_swim_stats st;
	uint8_t intent[GSM_ALIVE_INTENT_LEN];
	const uint8_t *me;

	(void)state;
	fx_start(&f, NULL);
	me = f.s->self_id;
	upd(&u, me, GSM_STATE_DEAD, 2, 0); /* newer generation: never signed */
	gsm__apply_update(f.s, &u, 0, NULL, NULL);
	upd(&u, me, GSM_STATE_DEAD, 1, 5); /* newer incarnation: never signed */
	gsm__apply_update(f.s, &u, 0, NULL, NULL);
	gsm_swim_stats(f.s, &st);
	assert_int_equal(st.claims_rejected, 2);
	assert_int_equal(st.refutations, 0);
	assert_int_equal(st.incarnation, 0);
	upd(&u, me, GSM_STATE_SUSPECT, 1, 0);
	gsm__apply_update(f.s, &u, 0, NULL, NULL);
	gsm_swim_stats(f.s, &st);
	assert_int_equal(st.refutations, 1);
	assert_int_equal(st.incarnation, 1);
	gsm_alive_intent(me, 1, 1, intent);
	assert_non_null(f.s->self->alive_sig);
	assert_int_equal(gsm_verify(me, intent, sizeof(intent), f.s->self->alive_sig), 0);
	f.s->self->inc = INT64_MAX;
	upd(&u, me, GSM_STATE_DEAD, 1, INT64_MAX);
	gsm__apply_update(f.s, &u, 0, NULL, NULL);
	gsm_swim_stats(f.s, &st);
	assert_int_equal(st.incarnation, INT64_MAX);
	fx_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_suspicion_scaling_with_n),
	    cmocka_unit_test(test_suspicion_shrinks_with_confirmations),
	    cmocka_unit_test(test_suspicion_without_lifeguard_is_min),
	    cmocka_unit_test(test_suspicion_timer_confirmations),
	    cmocka_unit_test(test_retransmit_limits),
	    cmocka_unit_test(test_retransmit_queue_honours_limits),
	    cmocka_unit_test(test_pack_budget_and_update_share),
	    cmocka_unit_test(test_pack_updates_fill_room_and_buddy_first),
	    cmocka_unit_test(test_pack_sent_datagrams_within_mtu),
	    cmocka_unit_test(test_view_hash_equal_views),
	    cmocka_unit_test(test_view_hash_digest_changes),
	    cmocka_unit_test(test_view_hash_ignores_non_digest),
	    cmocka_unit_test(test_claims_bounded_by_signed),
	    cmocka_unit_test(test_signed_alive_raises_bound),
	    cmocka_unit_test(test_unknown_and_range),
	    cmocka_unit_test(test_self_claims_and_saturation),
	};

	if (gsm_crypto_init())
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
