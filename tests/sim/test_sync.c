/*
 * tests/sim/test_sync.c - the anti-entropy summary (wire key 15 state_hash).
 *
 * A converged, quiet cluster: every periodic sync must end after the
 * summary exchange (one round trip, no digest page).  A real difference (a
 * node that missed an advert update while cut off, after the update's
 * retransmissions ran out) must still be found by the summary mismatch,
 * paged through and repaired.  The same in a mixed cluster where half of the
 * nodes run without the summary (as nodes from before key 15 do): their
 * syncs page through the digest as before, the others' syncs with each
 * other still end at the summary, and the difference is repaired too.
 */
#include "tests/sim/simtest.h"

#define N 100

static bool views_strict(struct sim *s, void *arg)
{
	(void)arg;
	return sim_complete_views(s, true) == simtest_up_count(s);
}

static void node_stats(struct sim *s, size_t i, struct gsm_swim_stats *st)
{
	gsm_swim_stats(sim_core(s, i), st);
}

static void scenario(bool mixed)
{
	struct sim_opts o;
	struct sim *s;
	struct sim_totals a, b;
	uint64_t t0, win, syncs, summ, pages;
	size_t x = 17, y = 42; /* y is cut off while x updates its advert */

	sim_opts_default(&o);
	o.name = mixed ? "sync-mixed" : "sync-summary";
	s = sim_new(&o, N);
	if (!s)
		exit(1);
	if (mixed)
		for (size_t i = 0; i < N; i += 2)
			sim_set_no_summary(s, i, true);
	CHECK(simtest_bootstrap(s, N, 5000), "bootstrap: %zu/%d complete",
	      sim_complete_views(s, false), N);

	/* quiet: let the adaptive sync interval back off, then watch two
	 * full intervals */
	sim_run_until(s, sim_now(s) + 300000);
	CHECK(sim_complete_views(s, true) == N, "views complete before the quiet window");
	win = 2 * gsm_swim_sync_interval(sim_core(s, 0));
	sim_totals(s, &a);
	sim_run_until(s, sim_now(s) + win);
	sim_totals(s, &b);
	syncs = b.syncs - a.syncs;
	summ = b.syncs_summary - a.syncs_summary;
	pages = b.digest_pages_recv - a.digest_pages_recv;
	printf("%s quiet %.0f s: %llu syncs, %llu ended by the summary, %llu digest pages, "
	       "%.0f bytes per node per second\n",
	       o.name, (double)win / 1000.0, (unsigned long long)syncs, (unsigned long long)summ,
	       (unsigned long long)pages, (double)(b.bytes - a.bytes) / N / ((double)win / 1000.0));
	CHECK(syncs >= N, "every node syncs in two intervals: %llu syncs",
	      (unsigned long long)syncs);
	if (!mixed) {
		CHECK(summ == syncs, "every quiet sync ends at the summary: %llu of %llu",
		      (unsigned long long)summ, (unsigned long long)syncs);
		CHECK(pages == 0, "no digest page in a quiet cluster: %llu",
		      (unsigned long long)pages);
	} else {
		uint64_t old_summ = 0, old_syncs = 0, new_summ = 0, new_syncs = 0;

		for (size_t i = 0; i < N; i++) {
			struct gsm_swim_stats st;

			node_stats(s, i, &st);
			if (i % 2 == 0) {
				old_summ += st.syncs_summary;
				old_syncs += st.syncs;
			} else {
				new_summ += st.syncs_summary;
				new_syncs += st.syncs;
			}
		}
		printf("  old nodes: %llu of %llu syncs by summary; new nodes: %llu of %llu\n",
		       (unsigned long long)old_summ, (unsigned long long)old_syncs,
		       (unsigned long long)new_summ, (unsigned long long)new_syncs);
		CHECK(old_syncs > 0 && old_summ == 0,
		      "nodes without summary page through the digest");
		CHECK(new_summ > 0, "new nodes still end syncs with new peers at the summary");
		/* a sync from an old node (or to an old responder) is paged */
		CHECK(pages > 0, "mixed cluster pages through digests: %llu",
		      (unsigned long long)pages);
	}

	/* a real difference: y misses x's advert update */
	sim_set_node_loss(s, y, 1.0);
	sim_run_until(s, sim_now(s) + 1000);
	CHECK(sim_update_advert(s, x) == 0, "update advert of %zu", x);
	sim_run_until(s, sim_now(s) + 6000);
	sim_set_node_loss(s, y, 0.0);
	{
		struct gsm_swim_member m;

		CHECK(gsm_swim_get(sim_core(s, y), sim_node_id(s, x), &m) == 0 &&
			  m.version < sim_advert_version(s, x),
		      "node %zu missed the update while cut off", y);
	}
	sim_totals(s, &a);
	t0 = sim_now(s);
	CHECK(sim_run_until_pred(s, t0 + 600000, 1000, views_strict, NULL),
	      "the difference is repaired: %zu/%d views complete", sim_complete_views(s, true), N);
	sim_totals(s, &b);
	printf("%s repair: identical views %.1f s after the node came back; %llu syncs, "
	       "%llu digest pages meanwhile\n",
	       o.name, (double)(sim_now(s) - t0) / 1000.0, (unsigned long long)(b.syncs - a.syncs),
	       (unsigned long long)(b.digest_pages_recv - a.digest_pages_recv));
	CHECK(b.digest_pages_recv > a.digest_pages_recv, "the summary mismatch led to paging");
	sim_free(s);
}

int main(void)
{
	scenario(false);
	scenario(true);
	if (simtest_failures) {
		printf("%d failure(s)\n", simtest_failures);
		return 1;
	}
	printf("ok\n");
	return 0;
}
