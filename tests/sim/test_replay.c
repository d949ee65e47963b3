/*
 * tests/sim/test_replay.c - envelope v3 attacks (docs/protocol.md, Replay
 * window and Attribution):
 *
 *   (a) a datagram captured between two honest nodes and re-sent by a
 *       third address - at once, and after two replay windows - is refused
 *       (replayed, then stale), counted, and changes nothing;
 *   (b) a node whose clock is 5 minutes off cannot talk (stale counted on
 *       both sides, the WARN line with "check the clocks (NTP)" logged) and
 *       joins once its clock is fixed;
 *   (c) a member (a cluster key holder) claiming another member's id:
 *       untagged it is unattributed - its ping-req is dropped, its ack of
 *       a probe to the other member does not count - and tagged with its
 *       own pair key it is refused as bad_sender; the other member's
 *       address and state never change;
 *   (d) an honest datagram with one bit of its pair tag flipped is refused
 *       as bad_sender, and the genuine copy still gets through;
 *   (e) a flood past the replay cache's cap loses no fresh datagram and
 *       still catches replays.
 *
 * It includes the core's private header to read the probe and relay
 * state, the one place the forged acks and ping-reqs would show.
 */
#include <errno.h>

#include "gossip/swim_int.h"
#include "tests/sim/simtest.h"

#define N 5

static void stats(struct sim *s, size_t i, struct gsm_swim_stats *st)
{
	gsm_swim_stats(sim_core(s, i), st);
}

/* A node's view of the others: state, generation, incarnation, address. */
struct view {
	struct gsm_swim_member m[N];
};

static void view_of(struct sim *s, size_t i, struct view *v)
{
	memset(v, 0, sizeof(*v));
	for (size_t j = 0; j < N; j++) {
		if (gsm_swim_get(sim_core(s, i), sim_node_id(s, j), &v->m[j]) == 0) {
			v->m[j].advert = NULL; /* pointers differ, contents compared below */
			v->m[j].state_changed_ms = 0;
		}
	}
}

static bool view_equal(const struct view *a, const struct view *b)
{
	for (size_t j = 0; j < N; j++) {
		const struct gsm_swim_member *x = &a->m[j], *y = &b->m[j];

		if (x->state != y->state || x->generation != y->generation ||
		    x->incarnation != y->incarnation || x->version != y->version ||
		    !gsm_addr_equal(&x->addr, &y->addr))
			return false;
	}
	return true;
}

/* Run until node `from` sends node `to` a datagram, captured (and
 * delivered as usual); its length. */
static size_t capture(struct sim *s, size_t from, size_t to, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	uint64_t t0 = sim_now(s);

	sim_capture_next(s, from, to);
	while (!(n = sim_captured(s, buf, cap)) && sim_now(s) < t0 + 10000)
		sim_run_until(s, sim_now(s) + 10);
	return n;
}

static void test_replay(struct sim *s)
{
	static uint8_t buf[GSM_MAX_DATAGRAM];
	struct gsm_swim_stats st0, st1;
	struct view v0, v1;
	size_t n;
	int r;

	n = capture(s, 1, 2, buf, sizeof(buf));
	CHECK(n > 0, "a datagram 1 -> 2 captured");
	CHECK(n && gsm_envelope_auth(buf, n) == GSM_ENV_AUTH_PAIR, "members tag their datagrams");
	sim_run_until(s, sim_now(s) + 100); /* the original is delivered */
	stats(s, 2, &st0);
	view_of(s, 2, &v0);
	r = sim_replay(s, 2, 3); /* re-sent from node 3's address */
	stats(s, 2, &st1);
	view_of(s, 2, &v1);
	CHECK(r == -EALREADY, "immediate replay refused as replayed (%d)", r);
	CHECK(st1.replayed == st0.replayed + 1, "replayed counted");
	CHECK(view_equal(&v0, &v1), "the replay changed nothing");
	r = sim_replay(s, 2, 1); /* and from the genuine sender's address */
	CHECK(r == -EALREADY, "replay from the sender's address refused (%d)", r);

	/* two windows later the cache has forgotten it: the clock refuses it */
	sim_run_until(s, sim_now(s) + 2 * 60000 + 1000);
	stats(s, 2, &st0);
	view_of(s, 2, &v0);
	r = sim_replay(s, 2, 3);
	stats(s, 2, &st1);
	view_of(s, 2, &v1);
	CHECK(r == -ETIME, "replay after 2 windows refused as stale (%d)", r);
	CHECK(st1.stale == st0.stale + 1, "stale counted");
	CHECK(view_equal(&v0, &v1), "the late replay changed nothing");
	printf("(a) replay: refused at once (replayed) and after 2 windows (stale)\n");
}

static int ntp_lines;

static void log_hook(void *arg, size_t node, int level, const char *msg)
{
	(void)arg;
	(void)node;
	if (level == GSM_LOG_WARN && strstr(msg, "check the clocks (NTP)"))
		ntp_lines++;
}

static void test_clock_skew(struct sim *s)
{
	const size_t x = 4, seed = 0;
	struct gsm_swim_stats st;
	uint64_t t0;

	sim_crash(s, x);
	sim_run_until(s, sim_now(s) + 30000); /* the others find it dead */
	sim_set_clock_offset(s, x, 5 * 60 * 1000);
	ntp_lines = 0;
	sim_set_log_hook(s, log_hook, NULL);
	CHECK(sim_start(s, x) == 0, "restart %zu", x);
	CHECK(sim_join(s, x, &seed, 1) == 1, "join");
	sim_run_until(s, sim_now(s) + 30000);
	stats(s, seed, &st);
	CHECK(st.stale > 0, "the seed counts stale datagrams (%llu)", (unsigned long long)st.stale);
	CHECK(ntp_lines > 0, "the clock skew is logged with the NTP hint");
	CHECK(ntp_lines <= N, "logging is rate limited: one line a minute a node (%d lines)",
	      ntp_lines);
	CHECK(sim_state_of(s, seed, x) != GSM_STATE_ALIVE, "the skewed node is not alive");
	stats(s, x, &st);
	CHECK(st.alive == 1, "the skewed node knows nobody alive (%u)", st.alive);
	printf("(b) 5 min skew: stale at the seed, %d NTP lines\n", ntp_lines);

	sim_set_clock_offset(s, x, 0);
	t0 = sim_now(s);
	CHECK(sim_run_until_pred(s, t0 + 60000, 500, simtest_all_complete, NULL),
	      "joins once the clock is fixed");
	printf("(b) clock fixed: joined after %.1f s\n", (double)(sim_now(s) - t0) / 1000.0);
	sim_set_log_hook(s, NULL, NULL);
}

/* Node a forges datagrams to node r claiming node b's id. */
static void test_claimed_id(struct sim *s)
{
	const size_t a = 1, b = 3, r = 2, t = 0;
	static struct gsm_msg m;
	struct gsm_swim *core = sim_core(s, r);
	struct gsm_swim_stats st0, st1;
	struct view v0, v1;
	uint64_t t0 = sim_now(s);
	int rc, relayed = 0, acked = 0, tries = 0;

	for (int i = 0; i < MAX_RELAYS; i++)
		relayed -= core->relays[i].used;

	/* a ping-req "from b": r must not probe for it */
	stats(s, r, &st0);
	view_of(s, r, &v0);
	memset(&m, 0, sizeof(m));
	gsm_msg_init(&m, GSM_MSG_PING_REQ);
	memcpy(m.sender, sim_node_id(s, b), GSM_ID_LEN);
	m.sender_gen = sim_generation(s, b);
	m.seq = 77;
	m.has_target = 1;
	memcpy(m.target, sim_node_id(s, t), GSM_ID_LEN);
	gsm_swim_get(core, sim_node_id(s, t), &v1.m[0]);
	m.target_addr = v1.m[0].addr;
	rc = sim_send_forged(s, a, r, &m);
	for (int i = 0; i < MAX_RELAYS; i++)
		relayed += core->relays[i].used;
	stats(s, r, &st1);
	CHECK(rc == 0 && relayed == 0, "an untagged ping-req claiming b is dropped (rc %d)", rc);
	CHECK(st1.unattributed_dropped > st0.unattributed_dropped, "and counted");

	/* tagged with a's own pair key, but claiming b: bad_sender */
	rc = sim_send_forged_tagged(s, a, r, &m);
	stats(s, r, &st0);
	CHECK(rc == -EPERM, "a tagged datagram claiming b is refused (%d)", rc);
	CHECK(st0.bad_sender > st1.bad_sender, "bad_sender counted");

	/* acks "from b" for r's probes of b, from a's address: never count */
	while (sim_now(s) < t0 + 60000 && tries < 5) {
		sim_run_until(s, sim_now(s) + 5);
		if (!core->probe.active || core->probe.acked ||
		    memcmp(core->probe.target, sim_node_id(s, b), GSM_ID_LEN))
			continue;
		gsm_msg_init(&m, GSM_MSG_ACK);
		memcpy(m.sender, sim_node_id(s, b), GSM_ID_LEN);
		m.sender_gen = sim_generation(s, b);
		m.seq = core->probe.seq;
		sim_send_forged(s, a, r, &m);
		acked += core->probe.acked;
		tries++;
		while (core->probe.active && !memcmp(core->probe.target, sim_node_id(s, b), 32) &&
		       sim_now(s) < t0 + 60000)
			sim_run_until(s, sim_now(s) + 5);
	}
	CHECK(tries > 0, "r probed b while watched");
	CHECK(acked == 0, "%d of %d forged acks counted as b's", acked, tries);
	view_of(s, r, &v1);
	CHECK(gsm_addr_equal(&v0.m[b].addr, &v1.m[b].addr), "b's address unchanged at r");
	CHECK(v1.m[b].state == GSM_STATE_ALIVE && v1.m[b].incarnation == v0.m[b].incarnation,
	      "b's state unchanged at r");
	printf("(c) claimed id: ping-req dropped, tagged forgery bad_sender, %d forged acks "
	       "ignored\n",
	       tries);
}

static void test_bad_tag(struct sim *s)
{
	static uint8_t buf[GSM_MAX_DATAGRAM];
	struct gsm_swim_stats st0, st1;
	size_t n;
	int rc;

	/* capture 1 -> 2 and deliver a copy with a flipped tag bit first */
	sim_capture_next(s, 1, 2);
	while (!(n = sim_captured(s, buf, sizeof(buf))))
		sim_run_until(s, sim_now(s) + 1);
	CHECK(gsm_envelope_auth(buf, n) == GSM_ENV_AUTH_PAIR, "tagged");
	stats(s, 2, &st0);
	buf[n - 3] ^= 0x10;
	rc = sim_inject(s, 2, 1, buf, n);
	stats(s, 2, &st1);
	CHECK(rc == -EPERM, "a flipped tag bit is refused (%d)", rc);
	CHECK(st1.bad_sender == st0.bad_sender + 1, "bad_sender counted");
	sim_run_until(s, sim_now(s) + 100); /* the genuine datagram arrives */
	stats(s, 2, &st0);
	CHECK(st0.replayed == st1.replayed, "the genuine copy is not taken for a replay");
	printf("(d) flipped tag bit: bad_sender\n");
}

/* (e) a flood past the cache's cap: every fresh datagram is still taken
 * (the eviction and the index deletions lose nothing), the oldest entries
 * are evicted and counted, and a replay is still caught afterwards. */
static void test_flood(struct sim *s)
{
	static uint8_t buf[GSM_MAX_DATAGRAM];
	static struct gsm_msg m;
	struct gsm_swim_stats st0, st1;
	const int n = REPLAY_MAX + 5000;
	int refused = 0, rc;
	size_t len;

	stats(s, 2, &st0);
	gsm_msg_init(&m, GSM_MSG_GOSSIP);
	memcpy(m.sender, sim_node_id(s, 1), GSM_ID_LEN);
	m.sender_gen = sim_generation(s, 1);
	for (int i = 0; i < n; i++)
		refused += sim_send_forged(s, 1, 2, &m) != 0;
	stats(s, 2, &st1);
	CHECK(refused == 0, "%d of %d fresh datagrams refused", refused, n);
	CHECK(st1.replay_evicted - st0.replay_evicted >= (uint64_t)(n - REPLAY_MAX),
	      "evictions counted (%llu)",
	      (unsigned long long)(st1.replay_evicted - st0.replay_evicted));
	len = capture(s, 1, 2, buf, sizeof(buf));
	sim_run_until(s, sim_now(s) + 100);
	rc = sim_inject(s, 2, 3, buf, len);
	CHECK(len && rc == -EALREADY, "a replay after the flood is refused (%d)", rc);
	/* the index after all those evictions: the newest REPLAY_MAX - 1000
	 * nonces of a synthetic run are all found, none is lost */
	{
		uint8_t d[GSM_ENVELOPE_MIN] = {0};
		int fresh = 0, found = 0, total = REPLAY_MAX + 3000;

		for (int i = 0; i < total; i++) {
			memcpy(d + GSM_WK_ENV_NONCE + GSM_NONCE_TIME_LEN, &i, sizeof(i));
			fresh += gsm__rx_unseen(sim_core(s, 2), d) == 0;
		}
		for (int i = total - (REPLAY_MAX - 1000); i < total; i++) {
			memcpy(d + GSM_WK_ENV_NONCE + GSM_NONCE_TIME_LEN, &i, sizeof(i));
			found += gsm__rx_unseen(sim_core(s, 2), d) == -EALREADY;
		}
		CHECK(fresh == total, "%d of %d synthetic nonces fresh", fresh, total);
		CHECK(found == REPLAY_MAX - 1000, "%d of %d recent nonces remembered", found,
		      REPLAY_MAX - 1000);
	}
	printf("(e) flood of %d: all taken, %llu evicted, replays still refused\n", n,
	       (unsigned long long)(st1.replay_evicted - st0.replay_evicted));
}

int main(void)
{
	struct sim_opts o;
	struct sim *s;

	sim_opts_default(&o);
	o.name = "replay";
	s = sim_new(&o, N);
	if (!s)
		return 1;
	CHECK(simtest_bootstrap(s, N, 2000), "bootstrap");
	sim_run_until(s, sim_now(s) + 5000);
	test_replay(s);
	test_claimed_id(s);
	test_bad_tag(s);
	test_flood(s);
	test_clock_skew(s);
	sim_free(s);
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
