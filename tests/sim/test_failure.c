/*
 * tests/sim/test_failure.c - failure detection and graceful leave.
 *
 * A crashed node must be declared DEAD by every other node within the
 * suspicion bound (max suspicion timeout, scaled by log N, plus a few probe
 * periods for detection and dissemination); a node that leaves must be LEFT
 * everywhere within a few rounds (<= 5 probe periods), never DEAD.
 */
#include "tests/sim/simtest.h"

struct watch {
	const uint8_t *id;
	uint64_t *dead_at, *left_at, *suspect_at;
	uint64_t now;
	struct sim *s;
};

static void hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct watch *w = arg;

	if (!w->id || !ev->member || memcmp(ev->member->id, w->id, GSM_ID_LEN))
		return;
	if (ev->type == GSM_SWIM_EV_DEAD && !w->dead_at[node])
		w->dead_at[node] = sim_now(w->s);
	if (ev->type == GSM_SWIM_EV_LEFT && !w->left_at[node])
		w->left_at[node] = sim_now(w->s);
	if (ev->type == GSM_SWIM_EV_SUSPECT && !w->suspect_at[node])
		w->suspect_at[node] = sim_now(w->s);
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
	size_t n = simtest_env_n(300);
	struct watch w = {0};
	uint64_t *v;
	double smin, smax, bound;

	sim_opts_default(&o);
	o.name = "failure";
	s = sim_new(&o, n);
	if (!s)
		return 1;
	w.s = s;
	w.dead_at = calloc(n, sizeof(uint64_t));
	w.left_at = calloc(n, sizeof(uint64_t));
	w.suspect_at = calloc(n, sizeof(uint64_t));
	v = calloc(n, sizeof(uint64_t));
	CHECK(simtest_bootstrap(s, n, 5000), "bootstrap");
	sim_run_until(s, sim_now(s) + 10000);
	sim_set_event_hook(s, hook, &w);

	/* suspicion bound for this N (as the core computes it) */
	smin = o.swim.suspicion_min_mult * (log10((double)n) < 1 ? 1 : log10((double)n)) *
	       o.swim.probe_interval_ms;
	smax = smin * o.swim.suspicion_max_mult;
	bound = smax + 5.0 * o.swim.probe_interval_ms;

	for (int round = 0; round < 3; round++) {
		size_t victim = (size_t)(round * 97 + 11) % n;
		size_t a[2] = {victim, GSM_STATE_DEAD};
		uint64_t t0;
		size_t k = 0;
		uint64_t first_susp = UINT64_MAX;

		if (victim == 0)
			victim = 1;
		a[0] = victim;
		memset(w.dead_at, 0, n * sizeof(uint64_t));
		memset(w.suspect_at, 0, n * sizeof(uint64_t));
		w.id = sim_node_id(s, victim);
		sim_crash(s, victim);
		t0 = sim_now(s);
		CHECK(sim_run_until_pred(s, t0 + (uint64_t)bound + 60000, 250, all_state, a),
		      "crashed node dead everywhere");
		for (size_t i = 0; i < n; i++)
			if (sim_up(s, i) && w.dead_at[i])
				v[k++] = w.dead_at[i] - t0;
		for (size_t i = 0; i < n; i++)
			if (w.suspect_at[i] && w.suspect_at[i] - t0 < first_susp)
				first_susp = w.suspect_at[i] - t0;
		qsort(v, k, sizeof(*v), cmp_u64);
		printf(
		    "crash %d (N=%zu): first suspect after %.1f s; dead at all %zu nodes: first "
		    "%.1f s, median %.1f s, last %.1f s (bound %.1f s = max suspicion %.1f s + 5 "
		    "rounds)\n",
		    round, n, first_susp / 1000.0, k, pct(v, k, 0) / 1000.0,
		    pct(v, k, 0.5) / 1000.0, pct(v, k, 1.0) / 1000.0, bound / 1000.0,
		    smax / 1000.0);
		CHECK(k == simtest_up_count(s), "every node saw the DEAD event (%zu)", k);
		CHECK(pct(v, k, 1.0) <= (uint64_t)bound, "within the suspicion bound");
		sim_run_until(s, sim_now(s) + 5000);
	}
	for (int round = 0; round < 3; round++) {
		size_t leaver = (size_t)(round * 131 + 29) % n;
		size_t a[2] = {leaver, GSM_STATE_LEFT};
		uint64_t t0;
		size_t k = 0, deads = 0;

		if (!sim_up(s, leaver) || leaver == 0)
			leaver = 2 + round;
		a[0] = leaver;
		memset(w.dead_at, 0, n * sizeof(uint64_t));
		memset(w.left_at, 0, n * sizeof(uint64_t));
		w.id = sim_node_id(s, leaver);
		CHECK(sim_leave(s, leaver) == 0, "leave");
		t0 = sim_now(s);
		CHECK(sim_run_until_pred(s, t0 + 5 * o.swim.probe_interval_ms, 50, all_state, a),
		      "left everywhere within 5 rounds");
		CHECK(gsm_swim_leave_done(sim_core(s, leaver)), "leave done");
		sim_crash(s, leaver); /* the daemon exits */
		for (size_t i = 0; i < n; i++) {
			if (sim_up(s, i) && w.left_at[i])
				v[k++] = w.left_at[i] - t0;
		}
		qsort(v, k, sizeof(*v), cmp_u64);
		printf("leave %d: LEFT at %zu nodes, median %.2f s, last %.2f s\n", round, k,
		       pct(v, k, 0.5) / 1000.0, pct(v, k, 1.0) / 1000.0);
		sim_run_until(s, sim_now(s) + 60000);
		for (size_t i = 0; i < n; i++)
			deads += w.dead_at[i] != 0;
		CHECK(deads == 0, "a left node is never declared dead (%zu)", deads);
		CHECK(all_state(s, a), "still LEFT (not DEAD) everywhere a minute later");
	}
	sim_free(s);
	free(w.dead_at);
	free(w.left_at);
	free(w.suspect_at);
	free(v);
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
