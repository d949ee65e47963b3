/*
 * tests/sim/test_basic.c - a small cluster end to end through the real core:
 * join through one seed, full view, advert update, crash detection, graceful
 * leave, restart with a new generation.
 */
#include "tests/sim/simtest.h"

#define N 24

struct watch {
	size_t target;
	uint64_t dead_at[N];
	uint64_t left_at[N];
	uint64_t upd_at[N];
	uint64_t want_version;
};

static void hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct watch *w = arg;
	struct sim *s = NULL;

	(void)s;
	if (!ev->member || ev->member->is_self)
		return;
	if (ev->type == GSM_SWIM_EV_DEAD && !w->dead_at[node])
		w->dead_at[node] = 1;
	if (ev->type == GSM_SWIM_EV_LEFT && !w->left_at[node])
		w->left_at[node] = 1;
	if (ev->type == GSM_SWIM_EV_UPDATED && ev->member->version == w->want_version &&
	    !w->upd_at[node])
		w->upd_at[node] = 1;
}

static bool all_state(struct sim *s, void *arg)
{
	size_t *a = arg; /* a[0] target, a[1] state */

	for (size_t i = 0; i < sim_size(s); i++)
		if (sim_up(s, i) && i != a[0] && sim_state_of(s, i, a[0]) != (int)a[1])
			return false;
	return true;
}

int main(void)
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
		return 1;
	memset(&w, 0, sizeof(w));
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

	/* advert update */
	CHECK(sim_update_advert(s, 5) == 0, "update");
	w.want_version = sim_advert_version(s, 5);
	t0 = sim_now(s);
	CHECK(sim_run_until_pred(s, t0 + 10000, 100, simtest_all_complete, NULL),
	      "update spread");
	printf("advert update: everywhere after %.1f s\n", (double)(sim_now(s) - t0) / 1000.0);

	/* crash */
	{
		size_t a[2] = { 7, GSM_STATE_DEAD };

		sim_crash(s, 7);
		t0 = sim_now(s);
		CHECK(sim_run_until_pred(s, t0 + 120000, 250, all_state, a), "crash detected");
		printf("crash: dead everywhere after %.1f s\n", (double)(sim_now(s) - t0) / 1000.0);
	}
	/* leave */
	{
		size_t a[2] = { 9, GSM_STATE_LEFT };

		CHECK(sim_leave(s, 9) == 0, "leave");
		t0 = sim_now(s);
		CHECK(sim_run_until_pred(s, t0 + 10000, 100, all_state, a), "left everywhere");
		printf("leave: left everywhere after %.1f s\n", (double)(sim_now(s) - t0) / 1000.0);
		CHECK(gsm_swim_leave_done(sim_core(s, 9)), "leave done");
		sim_crash(s, 9);
	}
	/* restart of the crashed node: new generation supersedes the dead state */
	{
		size_t a[2] = { 7, GSM_STATE_ALIVE };

		CHECK(sim_start(s, 7) == 0, "restart");
		CHECK(sim_join(s, 7, &seed, 1) == 1, "rejoin");
		t0 = sim_now(s);
		CHECK(sim_run_until_pred(s, t0 + 30000, 250, all_state, a), "restart alive");
		CHECK(sim_run_until_pred(s, t0 + 60000, 250, simtest_all_complete_strict, NULL),
		      "view after restart");
		printf("restart: alive (gen %llu) everywhere after %.1f s\n",
		       (unsigned long long)sim_generation(s, 7), (double)(sim_now(s) - t0) / 1000.0);
	}
	sim_free(s);
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
