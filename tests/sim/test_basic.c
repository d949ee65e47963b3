/*
 * tests/sim/test_basic.c - a small cluster end to end through the real core:
 * join through one seed, full view, OBSERVED addresses, convergence flag,
 * advert update, bad datagrams, crash detection, graceful leave, restart
 * with a new generation, rejoin from imported (persisted) members while
 * every seed is down, and tombstone reaping.
 */
#include "tests/sim/simtest.h"

#define N 24

struct watch {
	struct sim *s;
	size_t observed[N];
	bool observed_ok[N];
	size_t removed[N];
	size_t joined_dead;
};

static void hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct watch *w = arg;

	if (ev->type == GSM_SWIM_EV_OBSERVED) {
		struct gsm_swim_member self;

		w->observed[node]++;
		/* the simulated network has no NAT: what a peer sees is our address */
		if (gsm_swim_get(sim_core(w->s, node), sim_node_id(w->s, node), &self) == 0)
			w->observed_ok[node] = gsm_addr_equal(&self.addr, &ev->observed);
	}
	if (ev->type == GSM_SWIM_EV_REMOVED)
		w->removed[node]++;
}

static bool all_state(struct sim *s, void *arg)
{
	size_t *a = arg; /* a[0] target, a[1] state */

	for (size_t i = 0; i < sim_size(s); i++)
		if (sim_up(s, i) && i != a[0] && sim_state_of(s, i, a[0]) != (int)a[1])
			return false;
	return true;
}

static bool all_converged(struct sim *s, void *arg)
{
	(void)arg;
	for (size_t i = 0; i < sim_size(s); i++)
		if (sim_up(s, i) && !gsm_swim_converged(sim_core(s, i)))
			return false;
	return true;
}

static void scenario_main(void)
{
	struct sim_opts o;
	struct sim *s;
	struct watch w;
	size_t seed = 0;
	uint64_t t0;

	sim_opts_default(&o);
	o.name = "basic";
	s = sim_new(&o, N);
	if (!s)
		exit(1);
	memset(&w, 0, sizeof(w));
	w.s = s;
	sim_set_event_hook(s, hook, &w);
	for (size_t i = 0; i < N; i++) {
		CHECK(sim_start(s, i) == 0, "start %zu", i);
		if (i)
			CHECK(sim_join(s, i, &seed, 1) == 1, "join %zu", i);
		sim_run_until(s, sim_now(s) + 100);
	}
	t0 = sim_now(s);
	CHECK(sim_run_until_pred(s, t0 + 30000, 250, simtest_all_complete, NULL),
	      "full view: %zu/%d complete", sim_complete_views(s, false), N);
	printf("bootstrap: all %d views complete %.1f s after the last join\n", N,
	       (double)(sim_now(s) - t0) / 1000.0);
	for (size_t i = 0; i < N; i++)
		CHECK(w.observed[i] > 0 && w.observed_ok[i], "node %zu got its observed address",
		      i);
	t0 = sim_now(s);
	CHECK(sim_run_until_pred(s, t0 + 120000, 1000, all_converged, NULL), "converged flag");
	printf("converged flag set at every node %.1f s later\n",
	       (double)(sim_now(s) - t0) / 1000.0);

	/* advert update */
	CHECK(sim_update_advert(s, 5) == 0, "update");
	CHECK(!gsm_swim_converged(sim_core(s, 5)), "not converged while an update is pending");
	t0 = sim_now(s);
	CHECK(sim_run_until_pred(s, t0 + 10000, 100, simtest_all_complete, NULL), "update spread");
	printf("advert update: everywhere after %.1f s\n", (double)(sim_now(s) - t0) / 1000.0);

	/* an advert larger than the MTU (many prefixes and labels) */
	{
		struct gsm_swim_member m;

		sim_set_big_advert(s, 13, true);
		CHECK(sim_update_advert(s, 13) == 0, "big update");
		CHECK(gsm_swim_get(sim_core(s, 13), sim_node_id(s, 13), &m) == 0 &&
			  m.advert_len > GSM_DEFAULT_MTU,
		      "advert is bigger than the MTU (%zu)", m.advert_len);
		t0 = sim_now(s);
		CHECK(sim_run_until_pred(s, t0 + 10000, 100, simtest_all_complete, NULL),
		      "big advert spread");
		printf("advert of %zu bytes (> MTU): everywhere after %.1f s\n", m.advert_len,
		       (double)(sim_now(s) - t0) / 1000.0);
		CHECK(sim_run_until_pred(s, sim_now(s) + 120000, 1000, all_converged, NULL),
		      "converged again after the big advert");
	}

	/* bad datagrams are reported and change nothing */
	{
		uint8_t junk[200];
		struct gsm_swim_stats st;

		memset(junk, 0x5a, sizeof(junk));
		CHECK(sim_inject(s, 3, 4, junk, sizeof(junk)) < 0, "garbage refused");
		CHECK(sim_inject(s, 3, 4, junk, 10) < 0, "short datagram refused");
		gsm_swim_stats(sim_core(s, 3), &st);
		CHECK(st.dgrams_bad == 2, "bad datagrams counted (%llu)",
		      (unsigned long long)st.dgrams_bad);
		CHECK(st.total == N, "membership unchanged");
	}

	/* crash */
	{
		size_t a[2] = {7, GSM_STATE_DEAD};

		sim_crash(s, 7);
		t0 = sim_now(s);
		CHECK(sim_run_until_pred(s, t0 + 120000, 250, all_state, a), "crash detected");
		printf("crash: dead everywhere after %.1f s\n", (double)(sim_now(s) - t0) / 1000.0);
	}
	/* leave */
	{
		size_t a[2] = {9, GSM_STATE_LEFT};

		CHECK(sim_leave(s, 9) == 0, "leave");
		t0 = sim_now(s);
		CHECK(sim_run_until_pred(s, t0 + 10000, 100, all_state, a), "left everywhere");
		printf("leave: left everywhere after %.1f s\n", (double)(sim_now(s) - t0) / 1000.0);
		CHECK(gsm_swim_leave_done(sim_core(s, 9)), "leave done");
		sim_crash(s, 9);
	}
	/* restart of the crashed node: new generation supersedes the dead state */
	{
		size_t a[2] = {7, GSM_STATE_ALIVE};

		sim_set_big_advert(s, 7, true); /* its join datagram is oversize */
		CHECK(sim_start(s, 7) == 0, "restart");
		CHECK(sim_join(s, 7, &seed, 1) == 1, "rejoin");
		t0 = sim_now(s);
		CHECK(sim_run_until_pred(s, t0 + 30000, 250, all_state, a), "restart alive");
		CHECK(sim_run_until_pred(s, t0 + 60000, 250, simtest_all_complete_strict, NULL),
		      "view after restart");
		printf("restart: alive (gen %llu) everywhere after %.1f s\n",
		       (unsigned long long)sim_generation(s, 7),
		       (double)(sim_now(s) - t0) / 1000.0);
	}
	/* restart while every seed is down: rejoin through imported members */
	{
		size_t a[2] = {11, GSM_STATE_ALIVE};
		int imported;

		sim_crash(s, 11);
		sim_run_until(s, sim_now(s) + 2000);
		sim_crash(s, 0); /* the only seed */
		CHECK(sim_start(s, 11) == 0, "restart 11");
		imported = sim_import_from(s, 11, 12); /* its "persisted" members */
		CHECK(imported >= N - 4, "imported %d members", imported);
		CHECK(sim_join(s, 11, &seed, 1) >= 2,
		      "join contacts the seed and imported members");
		t0 = sim_now(s);
		CHECK(sim_run_until_pred(s, t0 + 30000, 250, all_state, a),
		      "rejoined without seeds");
		printf("rejoin with all seeds down: alive (gen %llu) everywhere after %.1f s\n",
		       (unsigned long long)sim_generation(s, 11),
		       (double)(sim_now(s) - t0) / 1000.0);
		CHECK(sim_run_until_pred(s, t0 + 90000, 500, simtest_all_complete_strict, NULL),
		      "full view after rejoining without seeds");
		printf("  and the full view (the dead seed detected too) after %.1f s\n",
		       (double)(sim_now(s) - t0) / 1000.0);
	}
	sim_free(s);
}

/* tombstones are reaped after tombstone_ms, not before */
static void scenario_tombstone(void)
{
	struct sim_opts o;
	struct sim *s;
	struct watch w;
	size_t a[2] = {3, GSM_STATE_DEAD};
	uint64_t t0;

	sim_opts_default(&o);
	o.name = "tombstone";
	o.swim.tombstone_ms = 120000;
	s = sim_new(&o, 8);
	if (!s)
		exit(1);
	memset(&w, 0, sizeof(w));
	w.s = s;
	CHECK(simtest_bootstrap(s, 8, 1000), "bootstrap 8");
	sim_set_event_hook(s, hook, &w);
	sim_crash(s, 3);
	CHECK(sim_run_until_pred(s, sim_now(s) + 60000, 250, all_state, a), "dead");
	t0 = sim_now(s);
	sim_run_until(s, t0 + 60000);
	CHECK(all_state(s, a), "tombstone kept before tombstone_ms");
	sim_run_until(s, t0 + 140000);
	for (size_t i = 0; i < 8; i++) {
		if (i == 3)
			continue;
		CHECK(sim_state_of(s, i, 3) == -1, "node %zu reaped the tombstone", i);
		CHECK(w.removed[i] == 1, "node %zu REMOVED event", i);
	}
	printf("tombstone: kept 60 s, reaped by all after %.0f s (tombstone 120 s)\n",
	       (double)(sim_now(s) - t0) / 1000.0);
	sim_free(s);
}

/* a broken direct path (one link, both directions) is bridged by ping-req:
 * the two nodes never suspect each other; a slow link is tolerated */
static void scenario_links(void)
{
	struct sim_opts o;
	struct sim *s;
	struct gsm_swim_stats a, b;
	uint64_t sa, sb;

	sim_opts_default(&o);
	o.name = "links";
	s = sim_new(&o, 10);
	if (!s)
		exit(1);
	CHECK(simtest_bootstrap(s, 10, 1000), "bootstrap 10");
	sim_run_until(s, sim_now(s) + 5000);
	gsm_swim_stats(sim_core(s, 1), &a);
	gsm_swim_stats(sim_core(s, 2), &b);
	sa = a.probes_failed;
	sb = b.suspicions_raised + a.suspicions_raised;
	CHECK(sim_set_link(s, 1, 2, 1.0, 0, 0) == 0, "link");
	CHECK(sim_set_link(s, 2, 1, 1.0, 0, 0) == 0, "link");
	CHECK(sim_set_link(s, 3, 4, 0.0, 150, 100) == 0, "slow link");
	sim_run_until(s, sim_now(s) + 120000);
	gsm_swim_stats(sim_core(s, 1), &a);
	gsm_swim_stats(sim_core(s, 2), &b);
	CHECK(a.probes > 0 && a.probes_failed == sa, "probes bridged by ping-req (%llu failed)",
	      (unsigned long long)(a.probes_failed - sa));
	CHECK(a.suspicions_raised + b.suspicions_raised == sb, "no suspicion across the cut link");
	CHECK(simtest_all_complete_strict(s, NULL), "views intact");
	printf("links: 1<->2 cut for 120 s: %llu probes of node 1, none failed, no suspicion\n",
	       (unsigned long long)a.probes);
	sim_free(s);
}

int main(void)
{
	scenario_main();
	scenario_links();
	scenario_tombstone();
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
