/*
 * tests/sim/test_joinretry.c - retrying an unanswered join.
 *
 * A node whose only seed is down at start retries quickly at first and
 * backs off: about 1 s, 2 s, 4 s, 8 s between attempts, then the reconnect
 * interval (10 s), every wait jittered by +-25%.  Once the seed is up the
 * node joins at its next attempt.  Once joined, losing the seed again does
 * not bring the short retries back: a joined node reconnects at the
 * reconnect interval.  While it is alone, every datagram the node sends is
 * a join attempt, so its send counter timestamps the attempts.
 */
#include "tests/sim/simtest.h"

#define MAX_AT 64

/* times (ms) at which node i sent datagrams, sampled every 10 ms */
static size_t attempts(struct sim *s, size_t i, uint64_t until, uint64_t *at, size_t max)
{
	struct gsm_swim_stats st;
	uint64_t last;
	size_t n = 0;

	gsm_swim_stats(sim_core(s, i), &st);
	last = st.dgrams_sent;
	while (sim_now(s) < until) {
		sim_run_until(s, sim_now(s) + 10);
		gsm_swim_stats(sim_core(s, i), &st);
		if (st.dgrams_sent != last && n < max)
			at[n++] = sim_now(s);
		last = st.dgrams_sent;
	}
	return n;
}

int main(void)
{
	struct sim_opts o;
	struct sim *s;
	uint64_t at[MAX_AT], t0, rc;
	size_t seed = 0, n;
	/* expected waits between attempts: 1, 2, 4, 8 s, then 10 s */
	static const double want[] = {1.0, 2.0, 4.0, 8.0, 10.0, 10.0};

	sim_opts_default(&o);
	o.name = "joinretry";
	s = sim_new(&o, 2);
	if (!s)
		return 1;
	rc = o.swim.reconnect_interval_ms;
	CHECK(rc == 10000, "default reconnect interval %llu", (unsigned long long)rc);

	/* the seed (node 0) is down: node 1 joins into the void */
	CHECK(sim_start(s, 1) == 0, "start 1");
	t0 = sim_now(s);
	CHECK(sim_join(s, 1, &seed, 1) == 1, "join 1");
	n = attempts(s, 1, t0 + 40000, at, MAX_AT);
	printf("join attempts while the seed is down (s after join):");
	for (size_t i = 0; i < n; i++)
		printf(" %.2f", (double)(at[i] - t0) / 1000.0);
	printf("\n");
	CHECK(n >= 6 && n <= 8, "%zu attempts in 40 s (expected about 7)", n);
	for (size_t i = 0; i < n && i < sizeof(want) / sizeof(want[0]); i++) {
		/* the join itself went out at t0; at[i] is retry i + 1 */
		double d = (double)(at[i] - (i ? at[i - 1] : t0)) / 1000.0;

		CHECK(d >= want[i] * 0.75 - 0.05 && d <= want[i] * 1.25 + 0.05,
		      "wait before retry %zu: %.2f s, expected %.1f s +-25%%", i + 1, d, want[i]);
	}

	/* the seed comes up: node 1 joins at its next attempt (<= 12.5 s) */
	CHECK(sim_start(s, 0) == 0, "start 0");
	t0 = sim_now(s);
	CHECK(sim_run_until_pred(s, t0 + 15000, 50, simtest_all_complete, NULL),
	      "joined within one reconnect interval after the seed came up");
	printf("joined %.2f s after the seed came up\n", (double)(sim_now(s) - t0) / 1000.0);

	/* joined: the seed crashes; the short retries do not come back */
	sim_run_until(s, sim_now(s) + 30000);
	sim_crash(s, 0);
	t0 = sim_now(s);
	/* wait until node 1 holds node 0 dead (no more probes to it) */
	while (sim_now(s) < t0 + 60000 && sim_state_of(s, 1, 0) != GSM_STATE_DEAD)
		sim_run_until(s, sim_now(s) + 100);
	CHECK(sim_state_of(s, 1, 0) == GSM_STATE_DEAD, "crashed seed declared dead");
	sim_run_until(s, sim_now(s) + 2000);
	t0 = sim_now(s);
	n = attempts(s, 1, t0 + 45000, at, MAX_AT);
	printf("reconnect attempts of the joined node in 45 s (s):");
	for (size_t i = 0; i < n; i++)
		printf(" %.2f", (double)(at[i] - t0) / 1000.0);
	printf("\n");
	CHECK(n >= 3 && n <= 6, "%zu reconnect attempts in 45 s (expected about 4)", n);
	for (size_t i = 0; i + 1 < n; i++)
		CHECK(at[i + 1] - at[i] >= rc * 3 / 4 - 50, "reconnect wait %.2f s < 7.5 s",
		      (double)(at[i + 1] - at[i]) / 1000.0);

	sim_free(s);
	if (simtest_failures) {
		printf("%d failure(s)\n", simtest_failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
