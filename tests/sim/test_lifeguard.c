/*
 * tests/sim/test_lifeguard.c - Lifeguard against slow (starved) members.
 *
 * Four of N nodes (default 100) are starved: every event they process (a
 * datagram, a timer) is delayed by up to GSM_SIM_SLOW_MS (default 1500 ms),
 * like a process that gets no CPU.  The same scenario (same seed) runs with
 * Lifeguard on and off.  Counted: suspicions raised against HEALTHY nodes
 * (false positives: every healthy node is fine, only the accuser is slow)
 * and false DEAD declarations of healthy nodes.  Asserted: Lifeguard raises
 * fewer false suspicions than plain SWIM, and declares no healthy node dead.
 */
#include "tests/sim/simtest.h"

#define STARVED 4

struct count {
	size_t n;
	uint64_t susp_healthy, dead_healthy, susp_starved;
	struct sim *s;
};

static bool starved(size_t i)
{
	return i >= 1 && i <= STARVED;
}

static void hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct count *c = arg;
	long j;

	(void)node;
	if (!ev->member || ev->member->is_self)
		return;
	if (ev->type != GSM_SWIM_EV_SUSPECT && ev->type != GSM_SWIM_EV_DEAD)
		return;
	j = sim_find(c->s, ev->member->id);
	if (j < 0)
		return;
	if (starved((size_t)j)) {
		c->susp_starved += ev->type == GSM_SWIM_EV_SUSPECT;
		return;
	}
	if (ev->type == GSM_SWIM_EV_SUSPECT)
		c->susp_healthy++;
	else
		c->dead_healthy++;
}

static int run(uint64_t seed, size_t n, bool lifeguard, uint32_t slow, uint64_t secs,
	       struct count *c, uint64_t *raised_by_starved, uint64_t *raised_by_healthy)
{
	struct sim_opts o;
	struct sim *s;

	sim_opts_default(&o);
	o.seed = seed;
	o.name = lifeguard ? "lifeguard-on" : "lifeguard-off";
	o.swim.lifeguard = lifeguard;
	s = sim_new(&o, n);
	if (!s)
		return -1;
	memset(c, 0, sizeof(*c));
	c->s = s;
	c->n = n;
	CHECK(simtest_bootstrap(s, n, 3000), "bootstrap");
	sim_run_until(s, sim_now(s) + 10000);
	sim_set_event_hook(s, hook, c);
	for (size_t i = 1; i <= STARVED; i++)
		sim_set_slow(s, i, slow);
	sim_run_until(s, sim_now(s) + secs * 1000);
	*raised_by_starved = *raised_by_healthy = 0;
	for (size_t i = 0; i < n; i++) {
		struct gsm_swim_stats st;

		gsm_swim_stats(sim_core(s, i), &st);
		if (starved(i))
			*raised_by_starved += st.suspicions_raised;
		else
			*raised_by_healthy += st.suspicions_raised;
	}
	sim_free(s);
	return 0;
}

int main(void)
{
	size_t n = simtest_env_n(100);
	const char *e = getenv("GSM_SIM_SLOW_MS");
	uint32_t slow = e && atoi(e) > 0 ? (uint32_t)atoi(e) : 1500;
	uint64_t secs = 600, seed;
	struct count on, off;
	uint64_t rs_on, rh_on, rs_off, rh_off;
	struct sim_opts o;
	struct sim *probe;

	/* one seed for both runs */
	sim_opts_default(&o);
	o.name = "lifeguard";
	probe = sim_new(&o, 1);
	if (!probe)
		return 1;
	seed = sim_seed(probe);
	sim_free(probe);

	if (run(seed, n, true, slow, secs, &on, &rs_on, &rh_on) < 0 ||
	    run(seed, n, false, slow, secs, &off, &rs_off, &rh_off) < 0)
		return 1;
	printf("lifeguard N=%zu, %d starved nodes (events delayed up to %u ms), %llu s:\n", n,
	       STARVED, slow, (unsigned long long)secs);
	printf("  on : suspicions raised by starved nodes %llu, by healthy %llu; SUSPECT events "
	       "about healthy nodes %llu, false DEAD %llu\n",
	       (unsigned long long)rs_on, (unsigned long long)rh_on,
	       (unsigned long long)on.susp_healthy, (unsigned long long)on.dead_healthy);
	printf("  off: suspicions raised by starved nodes %llu, by healthy %llu; SUSPECT events "
	       "about healthy nodes %llu, false DEAD %llu\n",
	       (unsigned long long)rs_off, (unsigned long long)rh_off,
	       (unsigned long long)off.susp_healthy, (unsigned long long)off.dead_healthy);
	printf("  off/on ratio: SUSPECT events about healthy nodes %.1f, suspicions raised by "
	       "starved nodes %.1f\n",
	       on.susp_healthy ? (double)off.susp_healthy / (double)on.susp_healthy : 0.0,
	       rs_on ? (double)rs_off / (double)rs_on : 0.0);
	CHECK(rs_on < rs_off, "Lifeguard raises fewer false suspicions (%llu vs %llu)",
	      (unsigned long long)rs_on, (unsigned long long)rs_off);
	CHECK(on.susp_healthy < off.susp_healthy, "fewer SUSPECT events about healthy nodes");
	CHECK(on.dead_healthy == 0, "no healthy node declared dead with Lifeguard (%llu)",
	      (unsigned long long)on.dead_healthy);
	printf("%s\n", simtest_failures ? "FAILED" : "ok");
	return simtest_failures ? 1 : 0;
}
