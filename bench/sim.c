/*
 * bench/sim.c - the gossip core at scale in the deterministic simulator.
 *
 *   build/bench/bench_sim [--verify|--no-verify] [--no-summary] [--loss-seconds S] [N ...]
 *
 * Default: N=1000 with signature verification, N=1000 without, then
 * N=10000 without (bounded: skipped with a message when the full N x N
 * member tables would not fit in half of the available memory).  For each
 * run it prints: bootstrap time (N nodes joining through one seed over 10 s,
 * until every node holds the full identical view), dissemination rounds of
 * an advert update (p50/p99), crash detection time, false DEAD declarations
 * under 5% loss, steady-state datagrams and bytes per node per second
 * (over two sync intervals, with the syncs and how many of them the
 * state_hash summary ended; --no-summary runs every node without it),
 * memory per member, and simulator speed (simulated s per wall s).
 * Seed: GSM_SIM_SEED replays a run.
 *
 *   build/bench/bench_sim --revocation [N]
 *
 * Authority mode (issue 14): N (default 1000) nodes in WARN mode, one of
 * them certified; a revocation of its certificate is injected at node 0
 * and the rounds (probe intervals) until each node holds it are printed
 * (p50/p99/max), with how often it was sent (copies, datagrams and the
 * bytes it took in them, counted by opening every datagram) in the 30 s
 * after the injection.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/sim/sim.h"

static double wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t up_count(struct sim *s)
{
	size_t n = 0;

	for (size_t i = 0; i < sim_size(s); i++)
		n += sim_up(s, i);
	return n;
}

static bool complete(struct sim *s, void *arg)
{
	(void)arg;
	return sim_complete_views(s, false) == up_count(s);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

struct watch {
	const uint8_t *id;
	uint64_t version;
	uint64_t *at; /* per node */
	struct sim *s;
	uint64_t dead_events, suspect_events;
	int mode; /* 1 update, 2 dead */
};

static void hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct watch *w = arg;

	if (!ev->member || ev->member->is_self)
		return;
	if (ev->type == GSM_SWIM_EV_DEAD) {
		long j = sim_find(w->s, ev->member->id);

		/* false positive: declared dead while running */
		if (j >= 0 && sim_up(w->s, (size_t)j)) {
			w->dead_events++;
			if (getenv("GSM_BENCH_DEBUG"))
				printf("  false DEAD: node %zu declared node %ld dead (gen %llu "
				       "inc %llu) "
				       "at %.1f s\n",
				       node, j, (unsigned long long)ev->member->generation,
				       (unsigned long long)ev->member->incarnation,
				       sim_now(w->s) / 1000.0);
		}
	}
	w->suspect_events += ev->type == GSM_SWIM_EV_SUSPECT;
	if (!w->id || memcmp(ev->member->id, w->id, GSM_ID_LEN) || w->at[node])
		return;
	if (w->mode == 1 && ev->type == GSM_SWIM_EV_UPDATED && ev->member->version == w->version)
		w->at[node] = sim_now(w->s);
	if (w->mode == 2 && ev->type == GSM_SWIM_EV_DEAD)
		w->at[node] = sim_now(w->s);
}

static size_t count_at(struct sim *s, struct watch *w, size_t skip)
{
	size_t k = 0;

	for (size_t i = 0; i < sim_size(s); i++)
		k += sim_up(s, i) && i != skip && w->at[i];
	return k;
}

static bool no_summary; /* --no-summary: nodes behave as before wire key 15 */

static int bench(size_t n, bool verify, uint64_t loss_secs)
{
	struct sim_opts o;
	struct sim *s;
	struct watch w = {0};
	struct sim_totals a, b;
	double w0, w1, wtot0, boot_s = -1;
	uint64_t t_last, *v, iv, simtot0;
	size_t seed = 0, nv;

	sim_opts_default(&o);
	o.name = "bench";
	o.swim.verify_signatures = verify;
	o.swim.sync_summary = !no_summary;
	iv = o.swim.probe_interval_ms;
	s = sim_new(&o, n);
	if (!s)
		return 1;
	printf("== N=%zu, signature verification %s, seed %" PRIu64 "\n", n, verify ? "on" : "off",
	       sim_seed(s));
	fflush(stdout);
	w.at = calloc(n, sizeof(uint64_t));
	v = calloc(n * 5, sizeof(uint64_t));
	w.s = s;
	wtot0 = w0 = wall();
	simtot0 = 0;
	sim_start(s, 0);
	for (size_t i = 1; i < n; i++) {
		sim_run_until(s, (uint64_t)i * 10000 / n);
		sim_start(s, i);
		sim_join(s, i, &seed, 1);
	}
	t_last = sim_now(s);
	if (sim_run_until_pred(s, t_last + 120000, 1000, complete, NULL))
		boot_s = (double)(sim_now(s) - t_last) / 1000.0;
	w1 = wall();
	sim_totals(s, &a);
	printf("bootstrap: %zu nodes joined through one seed over 10 s; full identical view at "
	       "all nodes %.1f s after the last join%s\n",
	       n, boot_s, boot_s < 0 ? " (NOT within 120 s)" : "");
	printf("  during bootstrap: %.1f datagrams, %.0f bytes per node per second; "
	       "sim speed %.1fx real time (%.1f s wall)\n",
	       (double)a.dgrams / n / (sim_now(s) / 1000.0),
	       (double)a.bytes / n / (sim_now(s) / 1000.0), (sim_now(s) / 1000.0) / (w1 - w0),
	       w1 - w0);
	printf("  memory: %.0f bytes per member (%.1f MB per node at N=%zu)\n",
	       (double)a.memory / (double)a.members, (double)a.memory / (double)up_count(s) / 1e6,
	       n);
	fflush(stdout);

	/* steady state, once the adaptive sync interval has backed off; the
	 * window spans two full sync intervals so that every node's periodic
	 * anti-entropy is in it (a shorter window can miss them all) */
	sim_run_until(s, sim_now(s) + 300000);
	sim_totals(s, &a);
	w0 = wall();
	{
		uint64_t t0 = sim_now(s), win = 2 * gsm_swim_sync_interval(sim_core(s, 0));
		double secs = (double)win / 1000.0, ns;

		sim_run_until(s, t0 + win);
		w1 = wall();
		sim_totals(s, &b);
		ns = (double)(b.syncs - a.syncs);
		printf("steady state (%.0f s = 2 sync intervals, 5 min after bootstrap): %.2f "
		       "datagrams, "
		       "%.0f bytes per node per second; sim speed %.1fx real time\n",
		       secs, (double)(b.dgrams - a.dgrams) / n / secs,
		       (double)(b.bytes - a.bytes) / n / secs, secs / (w1 - w0));
		printf("  syncs: %.2f per node, %.0f%% ended by the state_hash summary, "
		       "%.2f digest pages per sync%s\n",
		       ns / (double)n,
		       ns > 0 ? 100.0 * (double)(b.syncs_summary - a.syncs_summary) / ns : 0.0,
		       ns > 0 ? (double)(b.digest_pages_recv - a.digest_pages_recv) / ns : 0.0,
		       o.swim.sync_summary ? "" : " (summary off)");
	}
	fflush(stdout);

	/* dissemination */
	sim_set_event_hook(s, hook, &w);
	nv = 0;
	for (int k = 0; k < 5; k++) {
		size_t who = (size_t)(k * 7919 + 13) % n;
		uint64_t t0;

		memset(w.at, 0, n * sizeof(uint64_t));
		w.mode = 1;
		sim_update_advert(s, who);
		w.id = sim_node_id(s, who);
		w.version = sim_advert_version(s, who);
		t0 = sim_now(s);
		while (count_at(s, &w, who) < up_count(s) - 1 && sim_now(s) < t0 + 60000)
			sim_run_until(s, sim_now(s) + 100);
		for (size_t i = 0; i < n; i++)
			if (w.at[i])
				v[nv++] = (w.at[i] - t0 + iv - 1) / iv;
		w.id = NULL;
		sim_run_until(s, sim_now(s) + 5000);
	}
	qsort(v, nv, sizeof(*v), cmp_u64);
	printf("dissemination (5 advert updates): rounds p50 %" PRIu64 ", p99 %" PRIu64
	       ", max %" PRIu64 " (round = %" PRIu64 " ms; reached %zu of %zu)\n",
	       pct(v, nv, 0.5), pct(v, nv, 0.99), pct(v, nv, 1.0), iv, nv, 5 * (n - 1));
	fflush(stdout);

	/* detection */
	nv = 0;
	for (int k = 0; k < 3; k++) {
		size_t who = (size_t)(k * 104729 + 101) % (n - 1) + 1;
		uint64_t t0;

		memset(w.at, 0, n * sizeof(uint64_t));
		w.mode = 2;
		w.id = sim_node_id(s, who);
		sim_crash(s, who);
		t0 = sim_now(s);
		while (count_at(s, &w, who) < up_count(s) && sim_now(s) < t0 + 180000)
			sim_run_until(s, sim_now(s) + 500);
		for (size_t i = 0; i < n; i++)
			if (sim_up(s, i) && w.at[i])
				v[nv++] = w.at[i] - t0;
		w.id = NULL;
	}
	qsort(v, nv, sizeof(*v), cmp_u64);
	printf("detection (3 crashes): declared dead by all others: median %.1f s, p99 %.1f s, "
	       "max %.1f s (%zu of %zu declarations)\n",
	       pct(v, nv, 0.5) / 1000.0, pct(v, nv, 0.99) / 1000.0, pct(v, nv, 1.0) / 1000.0, nv,
	       3 * n - 6);
	fflush(stdout);

	/* loss */
	if (loss_secs) {
		sim_run_until(s, sim_now(s) + 20000);
		w.dead_events = w.suspect_events = 0;
		sim_totals(s, &a);
		sim_set_loss(s, 0.05);
		w0 = wall();
		sim_run_until(s, sim_now(s) + loss_secs * 1000);
		w1 = wall();
		sim_totals(s, &b);
		printf("5%% loss for %" PRIu64
		       " s: false DEAD declarations (about running nodes) %" PRIu64
		       ", SUSPECT events %" PRIu64
		       "; %.2f datagrams, %.0f bytes per node per second; sim speed %.1fx\n",
		       loss_secs, w.dead_events, w.suspect_events,
		       (double)(b.dgrams - a.dgrams) / n / (double)loss_secs,
		       (double)(b.bytes - a.bytes) / n / (double)loss_secs,
		       (double)loss_secs / (w1 - w0));
	}
	simtot0 = sim_now(s);
	printf("total: %.0f simulated s in %.1f s wall (%.1fx real time)\n\n", simtot0 / 1000.0,
	       wall() - wtot0, (simtot0 / 1000.0) / (wall() - wtot0));
	fflush(stdout);
	sim_free(s);
	free(w.at);
	free(v);
	return 0;
}

/* --revocation: one revocation's spread through N nodes. */
struct revwatch {
	struct sim *s;
	uint64_t *at; /* per node: sim time + 1 of the REVOCATION event */
	size_t got;
	const struct gsm_keyring *kr;
	struct gsm_msg *msg;
	uint8_t *body;
	uint64_t copies, dgrams, bytes; /* revocations sent, datagrams with one, their bytes */
};

/* open every datagram and count the revocations it carries (key 16) */
static void rev_dgram(void *arg, size_t from, const uint8_t *buf, size_t len)
{
	struct revwatch *w = arg;
	size_t blen = 0;

	if (gsm_open(w->kr, buf, len, w->body, GSM_MAX_DATAGRAM, &blen, NULL) < 0 ||
	    gsm_msg_decode(w->body, blen, w->msg) < 0 || !w->msg->n_revocations)
		return;
	w->dgrams++;
	w->copies += w->msg->n_revocations;
	for (size_t i = 0; i < w->msg->n_revocations; i++)
		w->bytes += gsm_revocation_ref_encoded_size(w->msg->revocations[i].len);
	(void)from;
}

static void rev_hook(void *arg, size_t node, const struct gsm_swim_event *ev)
{
	struct revwatch *w = arg;

	if (ev->type == GSM_SWIM_EV_REVOCATION && !w->at[node]) {
		w->at[node] = sim_now(w->s) + 1;
		w->got++;
	}
}

static size_t revocation_setup(struct sim *s, size_t n, struct gsm_identity **auth, uint8_t *rev)
{
	uint8_t seed[32], k[1][GSM_ID_LEN], cert[GSM_CERT_MAX];
	uint64_t now = sim_wall_ms(s, 0) / 1000;
	struct gsm_revocation r = {0};
	struct gsm_cert c = {0};
	struct gsm_bytes b = {cert, 0};
	size_t len = 0, root = 0;

	memset(seed, 0xa1, sizeof(seed));
	if (gsm_identity_from_seed(seed, auth) < 0)
		return 0;
	memcpy(k[0], gsm_identity_public(*auth), GSM_ID_LEN);
	c.kind = GSM_CERT_NODE;
	memcpy(c.subject, sim_node_id(s, 1), GSM_ID_LEN);
	memcpy(c.issuer, k[0], GSM_ID_LEN);
	c.serial = 77;
	c.not_before = now - 60;
	c.not_after = now + 86400;
	snprintf(c.name, sizeof(c.name), "node-1");
	if (gsm_cert_sign(&c, *auth, cert, sizeof(cert), &b.len) < 0 || sim_set_certs(s, 1, &b, 1))
		return 0;
	for (size_t i = 0; i < n; i++)
		sim_set_authority(s, i, GSM_AUTHORITY_WARN, (const uint8_t(*)[GSM_ID_LEN])k, 1);
	sim_start(s, 0);
	for (size_t i = 1; i < n; i++) {
		sim_run_until(s, sim_now(s) + 10000 / n);
		sim_start(s, i);
		sim_join(s, i, &root, 1);
	}
	memcpy(r.issuer, k[0], GSM_ID_LEN);
	r.has_serial = 1;
	r.serial = 77;
	r.issued_at = now;
	r.expires = now + 86400;
	if (gsm_revocation_sign(&r, *auth, rev, GSM_REVOCATION_MAX, &len) < 0)
		return 0;
	return len;
}

static int bench_revocation(size_t n)
{
	struct sim_opts o;
	struct sim *s;
	struct gsm_identity *auth = NULL;
	struct revwatch w = {0};
	uint8_t rev[GSM_REVOCATION_MAX];
	uint64_t t0, iv, *rounds;
	size_t len, nr = 0;
	double w0 = wall();

	sim_opts_default(&o);
	o.name = "bench revocation";
	o.swim.verify_signatures = false; /* adverts; the chain and revocation are verified */
	iv = o.swim.probe_interval_ms;
	s = sim_new(&o, n);
	if (!s)
		return 1;
	printf("== revocation N=%zu, seed %" PRIu64 "\n", n, sim_seed(s));
	len = revocation_setup(s, n, &auth, rev);
	if (!len || !sim_run_until_pred(s, sim_now(s) + 120000, 500, complete, NULL)) {
		printf("  setup failed\n");
		return 1;
	}
	sim_run_until(s, sim_now(s) + 20000);
	w.s = s;
	w.kr = sim_keyring(s);
	w.at = calloc(n, sizeof(*w.at));
	w.msg = malloc(sizeof(*w.msg));
	w.body = malloc(GSM_MAX_DATAGRAM);
	rounds = calloc(n, sizeof(*rounds));
	sim_set_event_hook(s, rev_hook, &w);
	sim_set_dgram_hook(s, rev_dgram, &w);
	t0 = sim_now(s);
	if (!w.msg || !w.body || gsm_swim_add_revocation(sim_core(s, 0), rev, len) < 0)
		return 1;
	sim_run_until(s, t0 + 30000);
	for (size_t i = 0; i < n; i++)
		if (w.at[i])
			rounds[nr++] = (w.at[i] - 1 - t0 + iv - 1) / iv;
	qsort(rounds, nr, sizeof(*rounds), cmp_u64);
	printf("  held by %zu of %zu nodes; rounds p50 %" PRIu64 " p99 %" PRIu64 " max %" PRIu64
	       " (round = %" PRIu64 " ms)\n",
	       w.got, n, pct(rounds, nr, 0.5), pct(rounds, nr, 0.99), pct(rounds, nr, 1.0), iv);
	printf("  revocation %zu B: sent %" PRIu64 " times in %" PRIu64
	       " datagrams over 30 s, %" PRIu64 " B of key-16 payload (%.0f B per node)\n",
	       len, w.copies, w.dgrams, w.bytes, (double)w.bytes / (double)n);
	sim_set_dgram_hook(s, NULL, NULL);
	free(w.msg);
	free(w.body);
	printf("  wall %.1f s\n\n", wall() - w0);
	sim_set_event_hook(s, NULL, NULL);
	free(w.at);
	free(rounds);
	gsm_identity_free(auth);
	sim_free(s);
	return 0;
}

static double mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	double kb = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024.0;
}

int main(int argc, char **argv)
{
	size_t ns[16];
	int nn = 0, verify = -1;
	uint64_t loss = 300;

	if (argc > 1 && !strcmp(argv[1], "--revocation"))
		return bench_revocation(argc > 2 && atoi(argv[2]) > 2 ? (size_t)atoi(argv[2])
								      : 1000);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--verify"))
			verify = 1;
		else if (!strcmp(argv[i], "--no-verify"))
			verify = 0;
		else if (!strcmp(argv[i], "--no-summary"))
			no_summary = true;
		else if (!strcmp(argv[i], "--loss-seconds") && i + 1 < argc)
			loss = strtoull(argv[++i], NULL, 10);
		else if (nn < 16 && atoi(argv[i]) > 2)
			ns[nn++] = (size_t)atoi(argv[i]);
	}
	if (nn == 0) {
		bench(1000, true, loss);
		bench(1000, false, loss);
		ns[nn++] = 10000;
		verify = 0;
	}
	for (int i = 0; i < nn; i++) {
		double need = (double)ns[i] * (double)ns[i] * 480.0;

		if (need > mem_available() / 2) {
			printf("== N=%zu skipped: the full member tables need ~%.0f GB (%.0f B per "
			       "member x N^2), more than half of the available %.0f GB\n\n",
			       ns[i], need / 1e9, 480.0, mem_available() / 1e9);
			continue;
		}
		bench(ns[i], verify != 0, loss);
	}
	return 0;
}
