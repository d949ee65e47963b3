/*
 * tests/sim/test_loss.c - 5% random datagram loss for one simulated hour at
 * 200 nodes (env GSM_SIM_N, GSM_SIM_SECONDS): no node may ever be declared
 * DEAD (every node is up the whole time).  Suspicions do happen and must be
 * refuted; they are counted and printed, with the steady-state traffic.
 */
#include "tests/sim/simtest.h"

#include <time.h>

struct count {
	uint64_t suspect, dead, alive;
};

static void hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct count *c = arg;

	(void)node;
	if (!ev->member || ev->member->is_self)
		return;
	c->suspect += ev->type == GSM_SWIM_EV_SUSPECT;
	c->dead += ev->type == GSM_SWIM_EV_DEAD;
	c->alive += ev->type == GSM_SWIM_EV_ALIVE;
}

int main(void)
{
	struct sim_opts o;
	struct sim *s;
	size_t n = simtest_env_n(200);
	uint64_t secs = 3600, t0;
	const char *e = getenv("GSM_SIM_SECONDS");
	struct count c = {0};
	struct sim_totals a, b;
	struct timespec w0, w1;
	double wall;

	if (e && atoi(e) > 0)
		secs = (uint64_t)atoi(e);
	sim_opts_default(&o);
	o.name = "loss";
	s = sim_new(&o, n);
	if (!s)
		return 1;
	CHECK(simtest_bootstrap(s, n, 5000), "bootstrap");
	sim_run_until(s, sim_now(s) + 30000);
	sim_set_event_hook(s, hook, &c);
	sim_set_loss(s, 0.05);
	sim_totals(s, &a);
	t0 = sim_now(s);
	clock_gettime(CLOCK_MONOTONIC, &w0);
	for (uint64_t t = 0; t < secs; t += 60) {
		sim_run_until(s, t0 + (t + 60) * 1000);
		if (c.dead)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &w1);
	wall = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
	sim_totals(s, &b);
	printf("loss 5%% N=%zu for %.0f simulated s (%.1f s wall, %.0fx real time): "
	       "false DEAD %llu, suspicions %llu (refuted: %llu alive events)\n",
	       n, (double)(sim_now(s) - t0) / 1000.0, wall,
	       (double)(sim_now(s) - t0) / 1000.0 / wall, (unsigned long long)c.dead,
	       (unsigned long long)c.suspect, (unsigned long long)c.alive);
	printf("  traffic per node: %.2f datagrams/s, %.0f bytes/s\n",
	       (double)(b.dgrams - a.dgrams) / n / ((double)(sim_now(s) - t0) / 1000.0),
	       (double)(b.bytes - a.bytes) / n / ((double)(sim_now(s) - t0) / 1000.0));
	CHECK(c.dead == 0, "no false DEAD under 5%% loss");
	sim_set_loss(s, 0);
	CHECK(sim_run_until_pred(s, sim_now(s) + 60000, 1000, simtest_all_complete, NULL),
	      "full view after the loss ends");
	sim_free(s);
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
