/* tests/sim/simtest.h - small helpers shared by the simulation tests. */
#ifndef GOSSAMER_TESTS_SIMTEST_H
#define GOSSAMER_TESTS_SIMTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#include "tests/sim/sim.h"

static int simtest_failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                     \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
			simtest_failures++;                                                        \
		}                                                                                  \
	} while (0)

static inline size_t simtest_up_count(struct sim *s)
{
	size_t n = 0;

	for (size_t i = 0; i < sim_size(s); i++)
		n += sim_up(s, i);
	return n;
}

static inline bool simtest_all_complete(struct sim *s, void *arg)
{
	(void)arg;
	return sim_complete_views(s, false) == simtest_up_count(s);
}

static inline bool simtest_all_complete_strict(struct sim *s, void *arg)
{
	(void)arg;
	return sim_complete_views(s, true) == simtest_up_count(s);
}

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* percentile of n sorted values */
static inline uint64_t pct(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

#endif

/* Start n nodes joining through node 0 over spread_ms, then run until every
 * view is complete (limit 60 s).  Returns true on success. */
static inline bool simtest_bootstrap(struct sim *s, size_t n, uint64_t spread_ms)
{
	size_t seed = 0;

	if (sim_start(s, 0) < 0)
		return false;
	for (size_t i = 1; i < n; i++) {
		sim_run_until(s, sim_now(s) + spread_ms / n);
		if (sim_start(s, i) < 0 || sim_join(s, i, &seed, 1) != 1)
			return false;
	}
	return sim_run_until_pred(s, sim_now(s) + 60000, 500, simtest_all_complete, NULL);
}

static inline size_t simtest_env_n(size_t dflt)
{
	const char *e = getenv("GSM_SIM_N");

	if (e && atoi(e) > 2)
		return (size_t)atoi(e);
	return dflt;
}

/* Print up to `max` reasons why views are not complete (for failures). */
static inline void simtest_explain(struct sim *s, size_t max)
{
	size_t shown = 0;

	for (size_t i = 0; i < sim_size(s) && shown < max; i++) {
		if (!sim_up(s, i))
			continue;
		for (size_t j = 0; j < sim_size(s) && shown < max; j++) {
			struct gsm_swim_member m;
			int r;

			if (i == j)
				continue;
			r = gsm_swim_get(sim_core(s, i), sim_node_id(s, j), &m);
			if (sim_up(s, j)) {
				if (r < 0) {
					printf("  node %zu does not know running node %zu\n", i, j);
					shown++;
				} else if (m.state != GSM_STATE_ALIVE ||
					   m.advert_generation != sim_generation(s, j) ||
					   m.version != sim_advert_version(s, j) || !m.advert) {
					printf("  node %zu holds running node %zu (gen %llu v "
					       "%llu) as %s "
					       "gen %llu inc %llu advert gen %llu v %llu\n",
					       i, j, (unsigned long long)sim_generation(s, j),
					       (unsigned long long)sim_advert_version(s, j),
					       gsm_state_name(m.state),
					       (unsigned long long)m.generation,
					       (unsigned long long)m.incarnation,
					       (unsigned long long)m.advert_generation,
					       (unsigned long long)m.version);
					shown++;
				}
			} else if (r == 0 && m.state == GSM_STATE_ALIVE &&
				   m.generation == sim_generation(s, j)) {
				printf(
				    "  node %zu holds stopped node %zu ALIVE (gen %llu inc %llu)\n",
				    i, j, (unsigned long long)m.generation,
				    (unsigned long long)m.incarnation);
				shown++;
			}
		}
	}
}
