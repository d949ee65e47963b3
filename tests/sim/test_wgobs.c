/*
 * tests/sim/test_wgobs.c - wg_observed (wire key 14, issue 8 NAT
 * traversal) through the real core: a node reports the WireGuard endpoint
 * it sees for one member with gsm_swim_set_wg_observed(); that member, and
 * only it, gets GSM_SWIM_EV_WG_OBSERVED with the reporter as observer; a
 * changed report arrives again; a cleared one stops.
 */
#include <errno.h>

#include "tests/sim/simtest.h"

#define N 6

struct watch {
	struct sim *s;
	size_t n[N];
	size_t last_observer[N];
	struct gsm_addr last[N];
};

static void hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct watch *w = arg;

	if (ev->type != GSM_SWIM_EV_WG_OBSERVED)
		return;
	w->n[node]++;
	w->last[node] = ev->observed;
	long o = sim_find(w->s, ev->observer);
	w->last_observer[node] = o < 0 ? (size_t)-1 : (size_t)o;
}

static bool got(struct sim *s, void *arg)
{
	struct watch *w = arg;

	(void)s;
	return w->n[2] > 0;
}

int main(void)
{
	struct sim_opts o;
	struct sim *s;
	struct watch w;
	struct gsm_addr x, y, none;

	sim_opts_default(&o);
	o.name = "wgobs";
	s = sim_new(&o, N);
	if (!s)
		return 1;
	memset(&w, 0, sizeof(w));
	w.s = s;
	sim_set_event_hook(s, hook, &w);
	CHECK(simtest_bootstrap(s, N, 500), "bootstrap %d", N);

	CHECK(gsm_addr_parse("198.51.100.7:40123", &x) == 0, "parse");
	CHECK(gsm_addr_parse("198.51.100.7:40999", &y) == 0, "parse");
	memset(&none, 0, sizeof(none));
	CHECK(gsm_swim_set_wg_observed(sim_core(s, 0), sim_node_id(s, 2), &x) == 0, "set");
	uint64_t t0 = sim_now(s);
	CHECK(sim_run_until_pred(s, t0 + 30000, 100, got, &w), "node 2 told within 30 s");
	printf("wg_observed: delivered after %.1f s\n", (double)(sim_now(s) - t0) / 1000);
	CHECK(w.n[2] >= 1 && gsm_addr_equal(&w.last[2], &x), "node 2 got the endpoint");
	CHECK(w.last_observer[2] == 0, "attributed to node 0 (got %zu)", w.last_observer[2]);
	for (size_t i = 0; i < N; i++)
		if (i != 2)
			CHECK(w.n[i] == 0, "node %zu not told (%zu events)", i, w.n[i]);

	/* repeated reports of the same endpoint are not new events (rate limit) */
	size_t before = w.n[2];
	sim_run_until(s, sim_now(s) + 10000);
	CHECK(w.n[2] == before, "same endpoint: no new event within 10 s (%zu)", w.n[2] - before);

	/* a changed endpoint is delivered */
	CHECK(gsm_swim_set_wg_observed(sim_core(s, 0), sim_node_id(s, 2), &y) == 0, "set y");
	sim_run_until(s, sim_now(s) + 30000);
	CHECK(gsm_addr_equal(&w.last[2], &y), "node 2 got the new endpoint");

	/* cleared: nothing more arrives, even after the refresh interval */
	CHECK(gsm_swim_set_wg_observed(sim_core(s, 0), sim_node_id(s, 2), &none) == 0, "clear");
	sim_run_until(s, sim_now(s) + 2000);
	before = w.n[2];
	sim_run_until(s, sim_now(s) + 60000);
	CHECK(w.n[2] == before, "cleared: no event (%zu)", w.n[2] - before);
	CHECK(gsm_swim_set_wg_observed(NULL, sim_node_id(s, 2), &x) == -EINVAL, "NULL core");
	CHECK(simtest_all_complete_strict(s, NULL), "views intact");
	sim_free(s);
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
