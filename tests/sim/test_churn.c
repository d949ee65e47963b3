/*
 * tests/sim/test_churn.c - everything at once, then quiet: must converge.
 *
 * N nodes (default 150) under 2% loss for 10 simulated minutes of churn:
 * every second a random action - crash, restart (new generation, joining
 * through 3 random live nodes), graceful leave, advert update, or a short
 * partition of a random third of the cluster.  Then churn and loss stop.
 * Asserted: within the suspicion bound plus one minute every running node
 * holds the full identical view (every running node ALIVE with its latest
 * advert) and no stopped node is ALIVE at its current generation anywhere.
 */
#include "tests/sim/simtest.h"

static size_t pick(struct sim *s, bool up, uint64_t r)
{
	size_t n = sim_size(s);

	for (size_t k = 0; k < n; k++) {
		size_t i = (size_t)((r + k) % n);

		if (sim_up(s, i) == up)
			return i;
	}
	return SIZE_MAX;
}

int main(void)
{
	struct sim_opts o;
	struct sim *s;
	size_t n = simtest_env_n(150);
	uint64_t x = 0x9e3779b97f4a7c15ull, t0, bound;
	unsigned counts[6] = {0};
	bool split = false;
	uint64_t split_until = 0;

	sim_opts_default(&o);
	o.name = "churn";
	s = sim_new(&o, n);
	if (!s)
		return 1;
	x ^= sim_seed(s);
	CHECK(simtest_bootstrap(s, n, 3000), "bootstrap");
	sim_set_loss(s, 0.02);
	for (size_t i = 0; i < n; i++)
		sim_set_group(s, i, 0);
	for (int step = 0; step < 600; step++) {
		uint64_t r;

		x = x * 6364136223846793005ull + 1442695040888963407ull;
		r = x >> 17;
		if (split && sim_now(s) >= split_until) {
			sim_block(s, 0, 1, false);
			sim_block(s, 1, 0, false);
			split = false;
		}
		switch (r % 6) {
		case 0: { /* crash */
			size_t i = pick(s, true, r >> 8);

			if (i != SIZE_MAX && simtest_up_count(s) > n / 2) {
				sim_crash(s, i);
				counts[0]++;
			}
			break;
		}
		case 1: { /* restart, joining through 3 random live nodes (its seeds) */
			size_t i = pick(s, false, r >> 8), seeds[3];

			seeds[0] = pick(s, true, r >> 20);
			seeds[1] = pick(s, true, r >> 30);
			seeds[2] = pick(s, true, r >> 40);
			if (i != SIZE_MAX && seeds[0] != SIZE_MAX && sim_start(s, i) == 0) {
				sim_join(s, i, seeds, 3);
				counts[1]++;
			}
			break;
		}
		case 2: { /* graceful leave (the daemon exits a few seconds later) */
			size_t i = pick(s, true, r >> 8);

			if (i != SIZE_MAX && simtest_up_count(s) > n / 2) {
				sim_leave(s, i);
				sim_run_until(s, sim_now(s) + 500);
				sim_crash(s, i);
				counts[2]++;
			}
			break;
		}
		case 3:
		case 4: { /* advert update */
			size_t i = pick(s, true, r >> 8);

			if (i != SIZE_MAX) {
				sim_update_advert(s, i);
				counts[3]++;
			}
			break;
		}
		case 5: /* a short partition of a random third */
			if (!split && (r >> 8) % 8 == 0) {
				for (size_t i = 0; i < n; i++)
					sim_set_group(s, i, (uint8_t)((i + (r >> 12)) % 3 == 0));
				sim_block(s, 0, 1, true);
				sim_block(s, 1, 0, true);
				split = true;
				split_until = sim_now(s) + 5000 + (r >> 16) % 60000;
				counts[4]++;
			}
			break;
		}
		sim_run_until(s, sim_now(s) + 1000);
	}
	sim_block(s, 0, 1, false);
	sim_block(s, 1, 0, false);
	sim_set_loss(s, 0);
	printf("churn N=%zu, 600 s under 2%% loss: %u crashes, %u restarts, %u leaves, %u advert "
	       "updates, %u partitions; %zu nodes up at the end\n",
	       n, counts[0], counts[1], counts[2], counts[3], counts[4], simtest_up_count(s));
	bound = (uint64_t)(o.swim.suspicion_min_mult * log10((double)n) * o.swim.probe_interval_ms *
			   o.swim.suspicion_max_mult) +
		60000;
	t0 = sim_now(s);
	CHECK(sim_run_until_pred(s, t0 + bound, 1000, simtest_all_complete_strict, NULL),
	      "converged after churn: %zu/%zu complete", sim_complete_views(s, true),
	      simtest_up_count(s));
	if (!simtest_all_complete_strict(s, NULL)) {
		simtest_explain(s, 20);
		for (size_t i = 0; i < n; i++) {
			struct gsm_swim_stats st;

			if (!sim_up(s, i))
				continue;
			gsm_swim_stats(sim_core(s, i), &st);
			if (st.alive < simtest_up_count(s) / 2)
				printf("  node %zu sees only %u alive of %u members\n", i, st.alive,
				       st.total);
		}
	}
	printf("  full identical view everywhere %.1f s after the churn stopped (bound %.0f s)\n",
	       (double)(sim_now(s) - t0) / 1000.0, bound / 1000.0);
	sim_free(s);
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
