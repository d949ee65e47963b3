/*
 * tests/sim/test_partition.c - split brain must heal.
 *
 * N nodes (default 200) are split into two halves for 10 simulated minutes.
 * Asserted: each half declares every node of the other half DEAD; adverts
 * changed during the partition on both sides; after the partition heals the
 * full identical view (everyone ALIVE with its latest advert) is restored
 * everywhere within one (scaled) sync interval plus a few rounds.  A second
 * phase checks a one-way partition (A cannot reach B, B can reach A) heals
 * the same way.
 */
#include "tests/sim/simtest.h"

static bool halves_dead(struct sim *s, void *arg)
{
	size_t n = sim_size(s), h = n / 2;

	(void)arg;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < n; j++)
			if ((i < h) != (j < h) && sim_state_of(s, i, j) != GSM_STATE_DEAD)
				return false;
	return true;
}

static uint64_t heal(struct sim *s, uint64_t limit)
{
	uint64_t t0 = sim_now(s);

	if (!sim_run_until_pred(s, t0 + limit, 250, simtest_all_complete_strict, NULL))
		return UINT64_MAX;
	return sim_now(s) - t0;
}

int main(void)
{
	struct sim_opts o;
	struct sim *s;
	size_t n = simtest_env_n(200), h;
	uint64_t sync_iv, limit, took;
	double rounds;

	sim_opts_default(&o);
	o.name = "partition";
	s = sim_new(&o, n);
	if (!s)
		return 1;
	h = n / 2;
	CHECK(simtest_bootstrap(s, n, 5000), "bootstrap");
	sim_run_until(s, sim_now(s) + 10000);
	sync_iv = gsm_swim_sync_interval(sim_core(s, 0));
	rounds = 10;
	limit = sync_iv + (uint64_t)(rounds * o.swim.probe_interval_ms);

	/* two-way partition for 10 minutes */
	for (size_t i = h; i < n; i++)
		sim_set_group(s, i, 1);
	sim_block(s, 0, 1, true);
	sim_block(s, 1, 0, true);
	sim_run_until(s, sim_now(s) + 300000);
	/* adverts change on both sides while split */
	for (size_t i = 0; i < n; i += 17)
		CHECK(sim_update_advert(s, i) == 0, "update %zu", i);
	sim_run_until(s, sim_now(s) + 300000);
	CHECK(halves_dead(s, NULL), "each half holds the other DEAD after 10 min");
	printf("partition N=%zu: after 10 min each half holds the other DEAD: %s\n", n,
	       halves_dead(s, NULL) ? "yes" : "no");
	sim_block(s, 0, 1, false);
	sim_block(s, 1, 0, false);
	took = heal(s, limit + 120000);
	CHECK(took <= limit, "healed within one sync interval (%.0f s) + %.0f rounds: took %.1f s",
	      sync_iv / 1000.0, rounds, took / 1000.0);
	printf("  healed: full identical view everywhere %.1f s after the partition ended "
	       "(bound %.0f s = sync interval %.0f s + %.0f rounds)\n",
	       took == UINT64_MAX ? -1.0 : took / 1000.0, limit / 1000.0, sync_iv / 1000.0, rounds);

	/* one-way partition: half A cannot send to half B */
	sim_block(s, 0, 1, true);
	sim_run_until(s, sim_now(s) + 300000);
	for (size_t i = 1; i < n; i += 23)
		CHECK(sim_update_advert(s, i) == 0, "update %zu", i);
	sim_run_until(s, sim_now(s) + 60000);
	sim_block(s, 0, 1, false);
	took = heal(s, limit + 120000);
	CHECK(took <= limit, "one-way partition healed within bound: took %.1f s", took / 1000.0);
	printf("  one-way partition (5 min): healed %.1f s after it ended\n",
	       took == UINT64_MAX ? -1.0 : took / 1000.0);
	sim_free(s);
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
