/*
 * tests/sim/test_bootstrap.c - cold bootstrap and dissemination at scale.
 *
 * Run twice: N nodes (default 1000, env GSM_SIM_N) with signature
 * verification off, and N/3 nodes with every advert signature verified.
 * N nodes join through ONE seed, evenly spread
 * over 10 simulated seconds.  Asserted: within 30 simulated seconds after
 * the last join every node holds the full identical view (every other node
 * ALIVE with its latest advert).  Then one advert update is made and the
 * time until each node has it is measured in protocol rounds (probe
 * intervals); asserted: it reaches every node, median <= 11 rounds.  One
 * node crashes in the middle of the join storm: it must be known dead (not
 * ALIVE) everywhere within the same 30 s (updates are not starved by the
 * advert traffic).
 */
#include "tests/sim/simtest.h"

#include <time.h>

struct upd {
	const uint8_t *id;
	uint64_t version;
	uint64_t *got; /* per node: time + 1, 0 = not yet */
};

static void hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct upd *u = arg;

	if (!u->id || ev->type != GSM_SWIM_EV_UPDATED || !ev->member)
		return;
	if (!memcmp(ev->member->id, u->id, GSM_ID_LEN) && ev->member->version == u->version &&
	    !u->got[node])
		u->got[node] = 1;
}

static bool all_got(struct sim *s, void *arg)
{
	struct upd *u = arg;

	for (size_t i = 0; i < sim_size(s); i++)
		if (sim_up(s, i) && !u->got[i] && sim_node_id(s, i) != u->id)
			return false;
	return true;
}

/* record the arrival time of the update at every node */
static void stamp(struct sim *s, struct upd *u, uint64_t *at)
{
	for (size_t i = 0; i < sim_size(s); i++)
		if (u->got[i] == 1) {
			u->got[i] = 2;
			at[i] = sim_now(s);
		}
}

static void run(size_t n, bool verify)
{
	struct sim_opts o;
	struct sim *s;
	size_t seed = 0;
	uint64_t t_last, t_done;
	struct timespec w0, w1;
	struct sim_totals tot;

	sim_opts_default(&o);
	o.name =
	    verify ? "bootstrap (signatures verified)" : "bootstrap (signature verification off)";
	o.swim.verify_signatures = verify;
	s = sim_new(&o, n);
	if (!s)
		exit(1);
	clock_gettime(CLOCK_MONOTONIC, &w0);
	CHECK(sim_start(s, 0) == 0, "seed start");
	for (size_t i = 1; i < n; i++) {
		sim_run_until(s, (uint64_t)i * 10000 / n);
		CHECK(sim_start(s, i) == 0, "start %zu", i);
		CHECK(sim_join(s, i, &seed, 1) == 1, "join %zu", i);
		/* a crash in the middle of the join storm: failure detection
		 * must not be starved by all the advert traffic */
		if (i == n / 2)
			sim_crash(s, 1);
	}
	t_last = sim_now(s);
	CHECK(sim_run_until_pred(s, t_last + 30000, 1000, simtest_all_complete, NULL),
	      "full view within 30 s after the last join: %zu/%zu complete",
	      sim_complete_views(s, false), n);
	t_done = sim_now(s);
	CHECK(sim_run_until_pred(s, t_last + 30000, 1000, simtest_all_complete_strict, NULL),
	      "the node crashed during the join storm is not ALIVE anywhere within 30 s after the "
	      "last join");
	printf("  node crashed at %.1f s during the join storm: not alive anywhere at %.1f s\n",
	       5.0, (double)sim_now(s) / 1000.0);
	clock_gettime(CLOCK_MONOTONIC, &w1);
	sim_totals(s, &tot);
	printf("bootstrap N=%zu: full identical view %.1f s after the last join "
	       "(sim %.1f s in %.1f s wall)\n",
	       n, (double)(t_done - t_last) / 1000.0, (double)t_done / 1000.0,
	       (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9);
	printf("  datagrams %llu, bytes %llu (%.0f B/node/s), memory/member %.0f B\n",
	       (unsigned long long)tot.dgrams, (unsigned long long)tot.bytes,
	       (double)tot.bytes / (double)n / ((double)t_done / 1000.0),
	       (double)tot.memory / (double)tot.members);

	/* dissemination of advert updates, in probe rounds */
	{
		struct upd u = {0};
		uint64_t *at = calloc(n, sizeof(*at)), *rounds = calloc(n * 5, sizeof(*rounds));
		size_t nr = 0;
		uint64_t iv = o.swim.probe_interval_ms;

		u.got = calloc(n, sizeof(*u.got));
		sim_set_event_hook(s, hook, &u);
		for (int k = 0; k < 5; k++) {
			size_t who = (size_t)(k * 7919 + 13) % n;
			uint64_t t0;

			memset(u.got, 0, n * sizeof(*u.got));
			memset(at, 0, n * sizeof(*at));
			CHECK(sim_update_advert(s, who) == 0, "update");
			u.id = sim_node_id(s, who);
			u.version = sim_advert_version(s, who);
			t0 = sim_now(s);
			while (!all_got(s, &u) && sim_now(s) < t0 + 60000) {
				sim_run_until(s, sim_now(s) + 20);
				stamp(s, &u, at);
			}
			CHECK(all_got(s, &u), "update %d reached every node", k);
			for (size_t i = 0; i < n; i++)
				if (at[i])
					rounds[nr++] = (at[i] - t0 + iv - 1) / iv;
			sim_run_until(s, sim_now(s) + 5000);
		}
		qsort(rounds, nr, sizeof(*rounds), cmp_u64);
		printf("dissemination N=%zu: advert update reached all nodes; rounds median %llu "
		       "p99 %llu max %llu (round = %llu ms probe interval)\n",
		       n, (unsigned long long)pct(rounds, nr, 0.5),
		       (unsigned long long)pct(rounds, nr, 0.99),
		       (unsigned long long)pct(rounds, nr, 1.0), (unsigned long long)iv);
		CHECK(pct(rounds, nr, 0.5) <= 11, "median rounds <= 11");
		sim_set_event_hook(s, NULL, NULL);
		free(u.got);
		free(at);
		free(rounds);
	}
	sim_free(s);
}

int main(void)
{
	/* 1000 nodes without signature verification (1000 x 1000 Ed25519
	 * verifications would cost ~50 s of CPU in one process), then a
	 * smaller cluster with every advert verified; bench/sim measures
	 * 1000 both ways. */
	run(simtest_env_n(1000), false);
	run(simtest_env_n(1000) / 3, true);
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
