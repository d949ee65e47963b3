/*
 * tests/sim/test_liar.c - Lifeguard with one lying member: confirmations
 * count per authenticated claimer (protocol major 3 claims).
 *
 * N = 24 converged nodes; the liar is node 1 (a cluster-key holder with
 * its own identity), the victim V node 5, healthy throughout.  Every
 * 2 s for 3 simulated minutes the liar sends every honest node but V one
 * datagram of SUSPECT claims about V at V's current generation and
 * incarnation:
 *   - one by itself, correctly signed (a member may suspect anyone);
 *   - K with random `from` ids (not members), garbage signatures;
 *   - K naming other members as `from`, signed by the liar (so the
 *     signature does not verify under the named claimer);
 *   - one naming V itself as its own claimer;
 *   - a DEAD claim by itself, correctly signed.
 * Asserted, right after each delivery, at every honest node that holds V
 * SUSPECT: the suspicion timeout is the one-claimer timeout of the core's
 * formula, gsm__suspicion_timeout(core, 0) (the liar's own claims, SUSPECT
 * and DEAD, are one claimer; fakes confirm nothing).  And throughout: no
 * node ever declares V (or any honest node) DEAD.
 *
 * On the code before signed claims the k fake `from`s were k confirmations
 * (timeout shrunk to the minimum) and the DEAD claim killed V at once.
 */
#include "gossip/swim_int.h"
#include "tests/sim/simtest.h"

#define N      24
#define LIAR   1
#define VICTIM 5
#define K      3

struct deaths {
	struct sim *s;
	uint64_t honest_dead;
};

static void hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct deaths *d = arg;
	long j;

	(void)node;
	if (ev->type != GSM_SWIM_EV_DEAD || !ev->member)
		return;
	j = sim_find(d->s, ev->member->id);
	if (j >= 0 && j != LIAR)
		d->honest_dead++;
}

static uint64_t rnd64(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* u: a claim (state) about V at V's current (generation, incarnation) as
 * the liar's own view has it, by the liar, correctly signed. */
static void liar_claim(struct sim *s, struct gsm_update *u, uint8_t state)
{
	struct gsm_swim_member v;

	memset(u, 0, sizeof(*u));
	memcpy(u->node, sim_node_id(s, VICTIM), GSM_ID_LEN);
	u->state = state;
	if (gsm_swim_get(sim_core(s, LIAR), sim_node_id(s, VICTIM), &v) == 0) {
		u->generation = v.generation;
		u->incarnation = v.incarnation;
	}
	gsm_claim_sign(sim_core(s, LIAR)->id, u);
}

/* The liar's datagram of claims about V. */
static void build(struct sim *s, struct gsm_msg *m, uint64_t *x)
{
	struct gsm_update *u;

	memset(m, 0, sizeof(*m));
	m->type = GSM_MSG_GOSSIP;
	memcpy(m->sender, sim_node_id(s, LIAR), GSM_ID_LEN);
	m->sender_gen = sim_generation(s, LIAR);
	liar_claim(s, &m->updates[m->n_updates++], GSM_STATE_SUSPECT);
	for (int k = 0; k < K; k++) { /* random ids */
		u = &m->updates[m->n_updates++];
		*u = m->updates[0];
		for (int b = 0; b < GSM_ID_LEN; b += 8) {
			uint64_t r = rnd64(x);

			memcpy(u->from + b, &r, 8);
		}
		memset(u->claim_sig, 0x5a, GSM_SIG_LEN);
	}
	for (int k = 0; k < K; k++) { /* other members, without their signature */
		u = &m->updates[m->n_updates++];
		*u = m->updates[0];
		memcpy(u->from, sim_node_id(s, 10 + (size_t)k), GSM_ID_LEN);
	}
	u = &m->updates[m->n_updates++]; /* V about itself */
	*u = m->updates[0];
	memcpy(u->from, sim_node_id(s, VICTIM), GSM_ID_LEN);
	liar_claim(s, &m->updates[m->n_updates++], GSM_STATE_DEAD);
}

static void report(size_t i, struct gsm_swim *c, const struct member *m)
{
	printf("node %zu: suspicion timeout %llu ms < one claimer's %llu ms (%u confirmations)\n",
	       i, (unsigned long long)(m->susp->deadline - m->susp->start),
	       (unsigned long long)gsm__suspicion_timeout(c, 0), m->susp->n_confirm);
}

/* Right after a delivery: the suspicion timeout at every honest node
 * holding V SUSPECT, against the one-claimer timeout. */
static void check_timeouts(struct sim *s, size_t *holding, size_t *shortened)
{
	for (size_t i = 0; i < N; i++) {
		struct gsm_swim *c = sim_core(s, i);
		struct member *m;

		if (i == LIAR || i == VICTIM)
			continue;
		m = gsm__find(c, sim_node_id(s, VICTIM));
		if (!m || m->state != GSM_STATE_SUSPECT || !m->susp || !m->susp->timer)
			continue;
		(*holding)++;
		if (m->susp->deadline - m->susp->start < gsm__suspicion_timeout(c, 0)) {
			if (!*shortened)
				report(i, c, m);
			(*shortened)++;
		}
	}
}

int main(void)
{
	static struct gsm_msg m;
	struct sim_opts o;
	struct sim *s;
	struct deaths d = {0};
	uint64_t x = 0x2545f4914f6cdd1dull, t_end, unsigned_claims = 0;
	size_t holding = 0, shortened = 0, rounds = 0;

	sim_opts_default(&o);
	o.name = "liar";
	s = sim_new(&o, N);
	if (!s)
		return 1;
	CHECK(simtest_bootstrap(s, N, 5000), "bootstrap");
	sim_run_until(s, sim_now(s) + 10000);
	d.s = s;
	sim_set_event_hook(s, hook, &d);
	t_end = sim_now(s) + 180000;
	while (sim_now(s) < t_end) {
		build(s, &m, &x);
		for (size_t i = 0; i < N; i++)
			if (i != LIAR && i != VICTIM)
				sim_send_forged(s, LIAR, i, &m);
		check_timeouts(s, &holding, &shortened);
		rounds++;
		sim_run_until(s, sim_now(s) + 2000);
	}
	sim_run_until(s, sim_now(s) + 60000);
	for (size_t i = 0; i < N; i++) {
		struct gsm_swim_stats st;

		gsm_swim_stats(sim_core(s, i), &st);
		unsigned_claims += st.claims_unsigned;
	}
	printf("%zu rounds: V held SUSPECT %zu times right after a round, %zu with a timeout "
	       "shorter than one claimer's (%llu ms at N=%d); honest nodes declared DEAD: %llu; "
	       "claims_unsigned %llu\n",
	       rounds, holding, shortened,
	       (unsigned long long)gsm__suspicion_timeout(sim_core(s, 0), 0), N,
	       (unsigned long long)d.honest_dead, (unsigned long long)unsigned_claims);
	CHECK(holding > 0, "the liar's own signed claim is taken (the test measures something)");
	CHECK(shortened == 0, "no suspicion timeout below one claimer's (%zu were)", shortened);
	CHECK(d.honest_dead == 0, "no honest node declared DEAD (%llu)",
	      (unsigned long long)d.honest_dead);
	CHECK(unsigned_claims >= rounds * (N - 2) * (2 * K + 1) / 2,
	      "the fake claims are counted (%llu)", (unsigned long long)unsigned_claims);
	CHECK(sim_run_until_pred(s, sim_now(s) + 60000, 500, simtest_all_complete, NULL),
	      "views complete");
	sim_free(s);
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
