/*
 * tests/sim/test_attack.c - a cluster-key holder (one member) attacking the
 * membership: forged deaths, incarnation wrap, bare updates.
 *
 * N = 32 converged nodes; the attacker is node 1, whose forged datagrams
 * (sim_send_forged) carry its own sender id and come from its address.
 *   1. DEAD about victim V with generation UINT64_MAX, sent to every node:
 *      V must be ALIVE everywhere within one (maximal) suspicion timeout
 *      and stay so; after V restarts it is alive everywhere.
 *   2. DEAD at V's real generation with incarnation UINT64_MAX, then
 *      INT64_MAX + 5: the same.
 *   3. 50000 bare updates (random ids, ALIVE/SUSPECT/DEAD, no adverts)
 *      spread over every node: no member count grows, and the datagrams
 *      the nodes send meanwhile stay below twice the normal traffic of
 *      such a period plus a fixed number of advert requests per node.
 *   4. Claim flood (protocol major 3): 100 SUSPECT/DEAD claims a second for
 *      3 simulated minutes about random honest members at their current
 *      generation and incarnation, naming random ids, other members
 *      (without their signature) or the attacker itself (correctly signed)
 *      as the claimer: no honest node is ever declared DEAD anywhere, and
 *      the views are complete afterwards.
 * Then the core's counters of what it refused are non-zero.
 */
#include "gossip/swim_int.h" /* the attacker's identity, to sign its own claims */
#include "tests/sim/simtest.h"

#define N	 32
#define ATTACKER 1

static void counters(struct sim *s, uint64_t *rejected, uint64_t *refused);

static bool victim_alive_everywhere(struct sim *s, void *arg)
{
	size_t v = *(size_t *)arg;

	for (size_t i = 0; i < sim_size(s); i++)
		if (sim_up(s, i) && i != v && sim_state_of(s, i, v) != GSM_STATE_ALIVE)
			return false;
	return true;
}

static size_t not_alive_count(struct sim *s, size_t v)
{
	size_t k = 0;

	for (size_t i = 0; i < sim_size(s); i++)
		if (sim_up(s, i) && i != v && sim_state_of(s, i, v) != GSM_STATE_ALIVE)
			k++;
	return k;
}

static uint64_t own_inc(struct sim *s, size_t v)
{
	struct gsm_swim_stats st;

	gsm_swim_stats(sim_core(s, v), &st);
	return st.incarnation;
}

/* A forged update about v (state, gen, inc; sig: 0 none, 1 garbage) sent
 * to every node but the attacker. */
static void forge(struct sim *s, size_t v, uint8_t state, uint64_t gen, uint64_t inc, int sig)
{
	static struct gsm_msg m;

	memset(&m, 0, sizeof(m));
	m.type = GSM_MSG_GOSSIP;
	memcpy(m.sender, sim_node_id(s, ATTACKER), GSM_ID_LEN);
	m.sender_gen = sim_generation(s, ATTACKER);
	m.n_updates = 1;
	memcpy(m.updates[0].node, sim_node_id(s, v), GSM_ID_LEN);
	m.updates[0].state = state;
	m.updates[0].generation = gen;
	m.updates[0].incarnation = inc;
	m.updates[0].has_from = state == GSM_STATE_SUSPECT || state == GSM_STATE_DEAD;
	memcpy(m.updates[0].from, sim_node_id(s, ATTACKER), GSM_ID_LEN);
	if (sig) {
		m.updates[0].has_sig = 1;
		memset(m.updates[0].sig, 0x5a, GSM_SIG_LEN);
	}
	for (size_t i = 0; i < sim_size(s); i++)
		if (i != ATTACKER && sim_up(s, i))
			sim_send_forged(s, ATTACKER, i, &m);
}

static void forge_dead(struct sim *s, size_t v, uint64_t gen, uint64_t inc)
{
	forge(s, v, GSM_STATE_DEAD, gen, inc, 0);
}

/* Forged ALIVE updates above v's own incarnation (unsigned, and with a
 * bad signature) are taken by nobody. */
static void check_unsigned_alive(struct sim *s, size_t v)
{
	uint64_t inc = own_inc(s, v), r0, r1, a0;
	size_t took = 0;

	counters(s, &r0, &a0);
	forge(s, v, GSM_STATE_ALIVE, sim_generation(s, v), inc + 5, 0);
	forge(s, v, GSM_STATE_ALIVE, sim_generation(s, v), inc + 6, 1);
	sim_run_until(s, sim_now(s) + 5000);
	counters(s, &r1, &a0);
	for (size_t i = 0; i < sim_size(s); i++) {
		struct gsm_swim_member m;

		if (i != v && sim_up(s, i) &&
		    gsm_swim_get(sim_core(s, i), sim_node_id(s, v), &m) == 0 && m.incarnation > inc)
			took++;
	}
	printf("unsigned / badly signed ALIVE above the victim's incarnation: taken by %zu nodes, "
	       "%llu claims rejected\n",
	       took, (unsigned long long)(r1 - r0));
	CHECK(took == 0, "no node takes an ALIVE the victim did not sign (%zu did)", took);
	CHECK(r1 - r0 >= 2 * (N - 2), "each node counted both (%llu)",
	      (unsigned long long)(r1 - r0));
}

/* A small cluster with a member cap of 4: nobody holds more than 4. */
static void check_cap(void)
{
	struct sim_opts o;
	struct sim *s;
	uint64_t rejected, refused;
	size_t seed = 0, over = 0;

	sim_opts_default(&o);
	o.name = "attack-cap";
	o.swim.max_members = 4;
	s = sim_new(&o, 8);
	if (!s)
		return;
	sim_start(s, 0);
	for (size_t i = 1; i < 8; i++) {
		sim_start(s, i);
		sim_join(s, i, &seed, 1);
	}
	sim_run_until(s, sim_now(s) + 20000);
	for (size_t i = 0; i < 8; i++)
		over += gsm_swim_member_count(sim_core(s, i)) > 4;
	counters(s, &rejected, &refused);
	printf("member cap 4 with 8 nodes: %zu nodes over the cap, admission_refused %llu\n", over,
	       (unsigned long long)refused);
	CHECK(over == 0, "no node over the member cap");
	CHECK(refused > 0, "admission_refused counted");
	sim_free(s);
}

/* V alive everywhere within smax after the forgery, still a minute later,
 * and after a restart. */
static void check_survives(struct sim *s, size_t v, uint64_t smax, const char *what)
{
	uint64_t t0 = sim_now(s);
	size_t seed = 0;

	CHECK(sim_run_until_pred(s, t0 + smax, 100, victim_alive_everywhere, &v),
	      "%s: victim alive everywhere within %.1f s (%zu nodes do not hold it alive)", what,
	      smax / 1000.0, not_alive_count(s, v));
	printf("%s: victim alive everywhere after %.1f s\n", what, (sim_now(s) - t0) / 1000.0);
	sim_run_until(s, sim_now(s) + 60000);
	CHECK(victim_alive_everywhere(s, &v), "%s: victim still alive a minute later (%zu not)",
	      what, not_alive_count(s, v));
	sim_crash(s, v);
	sim_run_until(s, sim_now(s) + 2000);
	CHECK(sim_start(s, v) == 0 && sim_join(s, v, &seed, 1) == 1, "restart");
	t0 = sim_now(s);
	CHECK(sim_run_until_pred(s, t0 + 30000, 100, victim_alive_everywhere, &v),
	      "%s: restarted victim alive everywhere (%zu not)", what, not_alive_count(s, v));
	printf("%s: restarted victim alive everywhere after %.1f s\n", what,
	       (sim_now(s) - t0) / 1000.0);
	CHECK(sim_run_until_pred(s, sim_now(s) + 60000, 500, simtest_all_complete, NULL),
	      "%s: views complete again", what);
}

static uint64_t rnd64(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* 50000 bare updates in 500 datagrams over `dur` ms, round robin over the
 * nodes. */
static void bare_flood(struct sim *s, uint64_t dur)
{
	static struct gsm_msg m;
	uint64_t x = 0x9e3779b97f4a7c15ull, t0 = sim_now(s);
	size_t to = 0;

	for (int k = 0; k < 500; k++) {
		memset(&m, 0, sizeof(m));
		m.type = GSM_MSG_GOSSIP;
		memcpy(m.sender, sim_node_id(s, ATTACKER), GSM_ID_LEN);
		m.sender_gen = sim_generation(s, ATTACKER);
		m.n_updates = 100;
		for (int j = 0; j < 100; j++) {
			struct gsm_update *u = &m.updates[j];

			for (int b = 0; b < GSM_ID_LEN; b += 8) {
				uint64_t r = rnd64(&x);

				memcpy(u->node + b, &r, 8);
			}
			u->state = (uint8_t)(rnd64(&x) % 3);
			u->generation = 1 + rnd64(&x) % 1000;
			u->incarnation = rnd64(&x) % 10;
		}
		do
			to = (to + 1) % sim_size(s);
		while (to == ATTACKER);
		sim_send_forged(s, ATTACKER, to, &m);
		sim_run_until(s, t0 + (uint64_t)(k + 1) * dur / 500);
	}
}

static void dead_hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	uint64_t *dead = arg;

	(void)node;
	if (ev->type == GSM_SWIM_EV_DEAD && ev->member)
		(*dead)++; /* no node is down during the flood: every death is false */
}

/* One forged claim about a random honest member v: its current (gen, inc)
 * as the attacker sees it, SUSPECT or DEAD, by a random id, by another
 * member (the attacker's signature under that name) or by the attacker
 * itself (signed). */
static void claim_one(struct sim *s, struct gsm_update *u, uint64_t *x)
{
	size_t v;
	struct gsm_swim_member sv;

	do
		v = (size_t)(rnd64(x) % N);
	while (v == ATTACKER);
	memset(u, 0, sizeof(*u));
	memcpy(u->node, sim_node_id(s, v), GSM_ID_LEN);
	u->state = rnd64(x) % 2 ? GSM_STATE_DEAD : GSM_STATE_SUSPECT;
	if (gsm_swim_get(sim_core(s, ATTACKER), u->node, &sv) == 0) {
		u->generation = sv.generation;
		u->incarnation = sv.incarnation;
	}
	gsm_claim_sign(sim_core(s, ATTACKER)->id, u);
	switch (rnd64(x) % 3) {
	case 0: /* a random id */
		for (int b = 0; b < GSM_ID_LEN; b += 8) {
			uint64_t r = rnd64(x);

			memcpy(u->from + b, &r, 8);
		}
		break;
	case 1: /* another member, maybe v itself */
		memcpy(u->from, sim_node_id(s, (size_t)(rnd64(x) % N)), GSM_ID_LEN);
		break;
	default: /* the attacker: a valid claim */
		break;
	}
}

/* 100 claims/s for dur ms: 10 datagrams of 10 a second, round robin over
 * the honest nodes.  Returns the DEAD events seen meanwhile (and a minute
 * after). */
static uint64_t claim_flood(struct sim *s, uint64_t dur)
{
	static struct gsm_msg m;
	uint64_t x = 0x853c49e6748fea9bull, t0 = sim_now(s), dead = 0;
	size_t to = 0;

	sim_set_event_hook(s, dead_hook, &dead);
	for (uint64_t k = 0; k < dur / 100; k++) {
		memset(&m, 0, sizeof(m));
		m.type = GSM_MSG_GOSSIP;
		memcpy(m.sender, sim_node_id(s, ATTACKER), GSM_ID_LEN);
		m.sender_gen = sim_generation(s, ATTACKER);
		m.n_updates = 10;
		for (int j = 0; j < 10; j++)
			claim_one(s, &m.updates[j], &x);
		do
			to = (to + 1) % N;
		while (to == ATTACKER);
		sim_send_forged(s, ATTACKER, to, &m);
		sim_run_until(s, t0 + (k + 1) * 100);
	}
	sim_run_until(s, sim_now(s) + 60000);
	sim_set_event_hook(s, NULL, NULL);
	return dead;
}

static void counters(struct sim *s, uint64_t *rejected, uint64_t *refused)
{
	struct gsm_swim_stats st;

	*rejected = *refused = 0;
	for (size_t i = 0; i < sim_size(s); i++) {
		if (!sim_up(s, i))
			continue;
		gsm_swim_stats(sim_core(s, i), &st);
		*rejected += st.claims_rejected;
		*refused += st.admission_refused;
	}
}

int main(void)
{
	struct sim_opts o;
	struct sim *s;
	struct sim_totals ta, tb, tc;
	size_t before[N];
	uint64_t smax, flood_ms = 10000, base, flood, bound, rejected, refused;
	double smin;
	size_t grew = 0;

	sim_opts_default(&o);
	o.name = "attack";
	s = sim_new(&o, N);
	if (!s)
		return 1;
	CHECK(simtest_bootstrap(s, N, 5000), "bootstrap");
	sim_run_until(s, sim_now(s) + 10000);
	smin = o.swim.suspicion_min_mult * (log10((double)N) < 1 ? 1 : log10((double)N)) *
	       o.swim.probe_interval_ms;
	smax = (uint64_t)(smin * o.swim.suspicion_max_mult);

	forge_dead(s, 3, sim_generation(s, 3), own_inc(s, 3));
	check_survives(s, 3, smax, "DEAD at the real generation/incarnation (refuted, signed)");
	check_unsigned_alive(s, 3);
	forge_dead(s, 5, UINT64_MAX, 0);
	check_survives(s, 5, smax, "DEAD at generation 2^64-1");
	forge_dead(s, 7, sim_generation(s, 7), UINT64_MAX);
	check_survives(s, 7, smax, "DEAD at incarnation 2^64-1");
	forge_dead(s, 9, sim_generation(s, 9), (uint64_t)INT64_MAX + 5);
	check_survives(s, 9, smax, "DEAD at incarnation 2^63+4");

	sim_run_until(s, sim_now(s) + 30000);
	for (size_t i = 0; i < N; i++)
		before[i] = gsm_swim_member_count(sim_core(s, i));
	sim_totals(s, &ta);
	sim_run_until(s, sim_now(s) + flood_ms);
	sim_totals(s, &tb);
	bare_flood(s, flood_ms);
	sim_totals(s, &tc);
	for (size_t i = 0; i < N; i++)
		if (gsm_swim_member_count(sim_core(s, i)) > before[i])
			grew++;
	base = tb.dgrams - ta.dgrams;
	flood = tc.dgrams - tb.dgrams;
	/* at most one advert request per forged datagram, and per node at most
	 * one table of unknown ids per two probe intervals */
	bound = 2 * base + N * (flood_ms / (2 * o.swim.probe_interval_ms) + 2);
	printf("bare flood: %zu nodes grew; datagrams sent in %.0f s: %llu before, %llu during "
	       "(bound %llu)\n",
	       grew, flood_ms / 1000.0, (unsigned long long)base, (unsigned long long)flood,
	       (unsigned long long)bound);
	CHECK(grew == 0, "no member count grows (%zu grew)", grew);
	CHECK(flood <= bound, "datagrams during the flood bounded");
	sim_run_until(s, sim_now(s) + 30000);
	CHECK(sim_run_until_pred(s, sim_now(s) + 60000, 500, simtest_all_complete, NULL),
	      "views complete after the flood");

	{
		uint64_t dead = claim_flood(s, 180000), unsigned_claims = 0;

		for (size_t i = 0; i < N; i++) {
			struct gsm_swim_stats st;

			gsm_swim_stats(sim_core(s, i), &st);
			unsigned_claims += st.claims_unsigned;
		}
		printf("claim flood (100/s, 180 s): %llu DEAD declarations of honest nodes, "
		       "claims_unsigned %llu\n",
		       (unsigned long long)dead, (unsigned long long)unsigned_claims);
		CHECK(dead == 0, "no honest node declared DEAD anywhere (%llu)",
		      (unsigned long long)dead);
		CHECK(unsigned_claims > 0, "claims_unsigned counted");
		CHECK(sim_run_until_pred(s, sim_now(s) + 60000, 500, simtest_all_complete, NULL),
		      "views complete after the claim flood");
	}
	counters(s, &rejected, &refused);
	printf("counters: claims_rejected %llu, admission_refused %llu\n",
	       (unsigned long long)rejected, (unsigned long long)refused);
	CHECK(rejected > 0, "claims_rejected counted");
	sim_free(s);
	check_cap();
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
