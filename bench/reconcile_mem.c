/* bench/reconcile_mem.c - memory and time of the WireGuard reconcile's
 * member snapshot: the old way (every reconcile decodes every member's
 * advert into a realloc'ed array of 8 KB struct gsm_advert) against the
 * member cache (daemon/members.h: compact records, decoded once per advert
 * version, resynced with the core on every reconcile).  Prints numbers;
 * asserts nothing about speed.
 *
 *   build/bench/bench_reconcile_mem [N ...]      (default 1000 10000)
 *
 * The members live in a real gossip core (gsm_swim_import of N signed
 * adverts: 3 endpoints, overlay v4 + v6, 2 prefixes, 3 labels each), and
 * both snapshots walk it with gsm_swim_foreach, as reconcile_wg does.
 * Bytes "allocated per reconcile" are the growth of malloc's in-use bytes
 * (mallinfo2() uordblks + hblkhd: heap and mmap'ed blocks) while the snapshot is alive, so they
 * include malloc's per-block overhead; the cache's own count (gsd_memcache_bytes) is printed next
 * to it.
 */
#include <errno.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/members.h"
#include "daemon/reconcile.h"
#include "gossip/crypto.h"
#include "gossip/swim.h"

#define RUNS 7

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd; /* heap + mmap'ed blocks */
}

static int dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), dbl_cmp);
	return v[n / 2];
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "%s: %s\n", what, gsm_strerror(rc));
	exit(1);
}

/* ------------------------------------------------------ the members */

static void fill(uint8_t *b, size_t n, uint32_t tag)
{
	uint32_t x = tag * 2654435761u + 0x9e3779b9u;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b[i] = (uint8_t)x;
	}
}

static void addr4(struct gsm_addr *a, uint32_t ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = 4;
	a->ip[0] = (uint8_t)(ip >> 24);
	a->ip[1] = (uint8_t)(ip >> 16);
	a->ip[2] = (uint8_t)(ip >> 8);
	a->ip[3] = (uint8_t)ip;
	a->port = port;
}

/* member i's advert: realistic and distinct per member */
static void advert_of(uint32_t i, const uint8_t id[GSM_ID_LEN], uint64_t gen, struct gsm_advert *a)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->node_id, id, GSM_ID_LEN);
	snprintf(a->name, sizeof(a->name), "node-%05u.eu-west", i);
	fill(a->wg_pubkey, GSM_WGKEY_LEN, 100000 + i);
	a->generation = gen;
	a->version = 1;
	a->wg_port = 51820;
	a->gossip_port = 7946;
	a->flags = i % 10 == 0 ? GSM_ADV_PUBLIC | GSM_ADV_RELAY : GSM_ADV_BEHIND_NAT;
	a->n_endpoints = 3;
	addr4(&a->endpoints[0].addr, 0xc6330000u + i, 51820); /* 198.51.x.y */
	a->endpoints[0].flags = GSM_EP_CONFIGURED;
	a->endpoints[1].addr.family = 6;
	a->endpoints[1].addr.ip[0] = 0x20;
	a->endpoints[1].addr.ip[1] = 0x01;
	a->endpoints[1].addr.ip[14] = (uint8_t)(i >> 8);
	a->endpoints[1].addr.ip[15] = (uint8_t)i;
	a->endpoints[1].addr.port = 51820;
	a->endpoints[1].flags = GSM_EP_CONFIGURED;
	addr4(&a->endpoints[2].addr, 0xcb007100u + (i & 0xff), (uint16_t)(40000 + i % 20000));
	a->endpoints[2].flags = GSM_EP_OBSERVED;
	a->endpoints[2].has_observer = 1;
	fill(a->endpoints[2].observer, GSM_ID_LEN, 200000 + i);
	a->n_overlay = 2;
	a->overlay[0].family = 4;
	a->overlay[0].ip[0] = 10;
	a->overlay[0].ip[1] = 77;
	a->overlay[0].ip[2] = (uint8_t)(i >> 8);
	a->overlay[0].ip[3] = (uint8_t)i;
	a->overlay[0].len = 16;
	a->overlay[1].family = 6;
	a->overlay[1].ip[0] = 0xfd;
	a->overlay[1].ip[14] = (uint8_t)(i >> 8);
	a->overlay[1].ip[15] = (uint8_t)i;
	a->overlay[1].len = 64;
	a->n_prefixes = 2;
	a->prefixes[0].family = 4;
	a->prefixes[0].ip[0] = 172;
	a->prefixes[0].ip[1] = (uint8_t)(16 + (i >> 16));
	a->prefixes[0].ip[2] = (uint8_t)(i >> 8);
	a->prefixes[0].ip[3] = (uint8_t)i;
	a->prefixes[0].len = 32;
	a->prefixes[1].family = 6;
	a->prefixes[1].ip[0] = 0xfd;
	a->prefixes[1].ip[1] = 0x99;
	a->prefixes[1].ip[2] = (uint8_t)(i >> 8);
	a->prefixes[1].ip[3] = (uint8_t)i;
	a->prefixes[1].len = 48;
	a->n_labels = 3;
	snprintf(a->labels[0].key, sizeof(a->labels[0].key), "env");
	snprintf(a->labels[0].value, sizeof(a->labels[0].value), "prod");
	snprintf(a->labels[1].key, sizeof(a->labels[1].key), "role");
	snprintf(a->labels[1].value, sizeof(a->labels[1].value), i % 10 ? "edge" : "relay");
	snprintf(a->labels[2].key, sizeof(a->labels[2].key), "zone");
	snprintf(a->labels[2].value, sizeof(a->labels[2].value), "eu-west-%u", i % 3);
}

static uint64_t env_now(void *ctx)
{
	(void)ctx;
	return 1000;
}

static void env_send(void *ctx, const struct gsm_addr *to, const uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)to;
	(void)buf;
	(void)len;
}

static void env_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

/* a core holding self and n imported members */
static struct gsm_swim *core_new(size_t n, struct gsm_identity **self_id, struct gsm_keyring **kr,
				 size_t *advert_bytes)
{
	static const struct gsm_swim_env env = {
	    .now = env_now, .send = env_send, .random = env_random};
	struct gsm_swim_config cfg;
	struct gsm_swim *s;
	struct gsm_advert *a = malloc(sizeof(*a));
	uint8_t buf[GSM_MAX_ADVERT], seed[32], key[GSM_CLUSTER_KEY_LEN] = {1};
	size_t len;
	int r;

	gsm_swim_config_default(&cfg);
	cfg.verify_signatures = false; /* import speed; the adverts are signed anyway */
	fill(seed, sizeof(seed), 1);
	if ((r = gsm_identity_from_seed(seed, self_id)) || (r = gsm_keyring_new("bench", kr)) ||
	    (r = gsm_keyring_add(*kr, 1, key)))
		die("setup", r);
	struct gsm_addr self = {.family = 4, .ip = {127, 0, 0, 1}, .port = 7946};
	if ((r = gsm_swim_new(&cfg, *self_id, *kr, &self, &env, &s)))
		die("gsm_swim_new", r);
	advert_of(0, gsm_identity_public(*self_id), cfg.generation, a);
	if ((r = gsm_advert_sign(a, *self_id, buf, sizeof(buf), &len)) ||
	    (r = gsm_swim_set_advert(s, buf, len)))
		die("self advert", r);
	*advert_bytes = 0;
	for (uint32_t i = 1; i <= n; i++) {
		struct gsm_identity *id;
		fill(seed, sizeof(seed), 10 + i);
		if ((r = gsm_identity_from_seed(seed, &id)))
			die("identity", r);
		advert_of(i, gsm_identity_public(id), 1, a);
		if ((r = gsm_advert_sign(a, id, buf, sizeof(buf), &len)))
			die("sign", r);
		*advert_bytes += len;
		struct gsm_addr ga;
		addr4(&ga, 0x0a000000u + i, 7946);
		if ((r = gsm_swim_import(s, buf, len, &ga)))
			die("import", r);
		gsm_identity_free(id);
	}
	free(a);
	return s;
}

/* ------------------------------------- the old snapshot (as it was) */

struct old_snap {
	struct gsm_advert *adv;
	struct gsd_rc_member *m;
	size_t n, cap;
};

static int old_snap_member(void *arg, const struct gsm_swim_member *m)
{
	struct old_snap *s = arg;
	if (m->is_self || !m->advert)
		return 0;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 16;
		struct gsm_advert *na = realloc(s->adv, nc * sizeof(*na));
		if (!na)
			return -ENOMEM;
		s->adv = na;
		struct gsd_rc_member *nm = realloc(s->m, nc * sizeof(*nm));
		if (!nm)
			return -ENOMEM;
		s->m = nm;
		s->cap = nc;
	}
	if (gsm_advert_decode(m->advert, m->advert_len, &s->adv[s->n]) < 0)
		return 0;
	s->m[s->n] = (struct gsd_rc_member){
	    .state = m->state,
	    .state_since_ms = m->state_changed_ms,
	    .gossip_addr = m->addr,
	};
	s->n++;
	return 0;
}

struct old_result {
	double ms;
	size_t bytes; /* in-use growth while the snapshot is alive */
	size_t cap;
};

static void bench_old(const struct gsm_swim *s, struct old_result *res)
{
	double t[RUNS];
	for (int k = 0; k < RUNS; k++) {
		struct old_snap o = {0};
		size_t before = in_use();
		double t0 = now_ms();
		int r = gsm_swim_foreach(s, old_snap_member, &o);
		t[k] = now_ms() - t0;
		if (r < 0)
			die("old snapshot", r);
		res->bytes = in_use() - before;
		res->cap = o.cap;
		free(o.adv);
		free(o.m);
	}
	res->ms = median(t, RUNS);
}

/* ------------------------------------------------ the member cache */

/* what reconcile_wg does per reconcile: resync, then the member array */
static int new_snapshot(struct gsd_memcache *mc, const struct gsm_swim *s,
			struct gsd_rc_member **out, size_t *n_out)
{
	int r = gsd_memcache_sync(mc, s);
	if (r < 0)
		return r;
	size_t n = gsd_memcache_count(mc), k = 0;
	struct gsd_rc_member *m = calloc(n ? n : 1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct gsd_member *x = gsd_memcache_at(mc, i);
		if (x->is_self || !x->has_advert)
			continue;
		m[k++] = (struct gsd_rc_member){.mem = x,
						.state = x->state,
						.state_since_ms = x->state_since_ms,
						.gossip_addr = x->gossip_addr};
	}
	*out = m;
	*n_out = k;
	return 0;
}

struct new_result {
	double first_ms, sync_ms, snap_ms, rc_ms;
	size_t resident, resident_malloc, per_reconcile;
	uint64_t decodes_first, decodes_nochange;
	size_t peers;
};

static void input_of(struct gsd_rc_input *in, const struct gsd_rc_member *m, size_t n)
{
	memset(in, 0, sizeof(*in));
	memset(in->self_id, 0xff, GSM_ID_LEN);
	in->keepalive = -1;
	in->dead_grace_ms = 30000;
	in->left_grace_ms = 5000;
	in->now_ms = 2000;
	in->now_unix = 1700000000;
	in->members = m;
	in->n_members = n;
}

static void bench_reconcile(const struct gsd_rc_member *m, size_t n, struct new_result *res)
{
	struct gsd_rc_input in;
	struct gnl_wg_device *cur, *d;
	double t[RUNS];
	int r;

	/* steady state: the device already holds the desired peers, sorted */
	input_of(&in, m, n);
	if ((r = gnl_wg_device_new("gsm0", &cur)) || (r = gsd_reconcile_desired(&in, cur, NULL)))
		die("reconcile", r);
	gnl_wg_device_sort(cur);
	in.current = cur;
	for (int k = 0; k < RUNS; k++) {
		if ((r = gnl_wg_device_new("gsm0", &d)))
			die("device", r);
		double t0 = now_ms();
		r = gsd_reconcile_desired(&in, d, NULL);
		t[k] = now_ms() - t0;
		if (r)
			die("reconcile", r);
		res->peers = d->n_peers;
		gnl_wg_device_free(d);
	}
	gnl_wg_device_free(cur);
	res->rc_ms = median(t, RUNS);
}

static void bench_new(const struct gsm_swim *s, struct new_result *res)
{
	struct gsd_rc_member *m;
	size_t n;
	double ts[RUNS], tn[RUNS];
	int r;

	size_t before = in_use();
	double t0 = now_ms();
	struct gsd_memcache *mc = gsd_memcache_new();
	if (!mc || (r = gsd_memcache_sync(mc, s)))
		die("first sync", mc ? r : -ENOMEM);
	res->first_ms = now_ms() - t0;
	res->resident_malloc = in_use() - before;
	res->resident = gsd_memcache_bytes(mc);
	res->decodes_first = gsd_memcache_decodes(mc);

	for (int k = 0; k < RUNS; k++) {
		t0 = now_ms();
		if ((r = gsd_memcache_sync(mc, s)))
			die("sync", r);
		ts[k] = now_ms() - t0;
	}
	res->sync_ms = median(ts, RUNS);
	uint64_t d0 = gsd_memcache_decodes(mc);
	for (int k = 0; k < RUNS; k++) {
		before = in_use();
		t0 = now_ms();
		if ((r = new_snapshot(mc, s, &m, &n)))
			die("snapshot", r);
		tn[k] = now_ms() - t0;
		res->per_reconcile = in_use() - before;
		if (k == RUNS - 1)
			bench_reconcile(m, n, res);
		free(m);
	}
	res->snap_ms = median(tn, RUNS);
	res->decodes_nochange = gsd_memcache_decodes(mc) - d0;
	gsd_memcache_free(mc);
}

static void run(size_t n)
{
	struct gsm_identity *id;
	struct gsm_keyring *kr;
	size_t advert_bytes;
	struct old_result o = {0};
	struct new_result w = {0};

	struct gsm_swim *s = core_new(n, &id, &kr, &advert_bytes);
	bench_old(s, &o);
	bench_new(s, &w);
	printf("\nN = %zu members (signed adverts %zu bytes each on average)\n", n,
	       advert_bytes / n);
	printf("  old: per reconcile, decode every advert into a realloc'ed gsm_advert array\n");
	printf("    array capacity %zu x %zu B = %.2f MB; malloc in-use growth %.2f MB; %.2f ms\n",
	       o.cap, sizeof(struct gsm_advert), (double)(o.cap * sizeof(struct gsm_advert)) / 1e6,
	       (double)o.bytes / 1e6, o.ms);
	printf("  new: member cache\n");
	printf("    resident: %.2f MB counted (%zu B/member), %.2f MB malloc in-use; first sync "
	       "%.2f ms, %llu decodes\n",
	       (double)w.resident / 1e6, w.resident / n, (double)w.resident_malloc / 1e6,
	       w.first_ms, (unsigned long long)w.decodes_first);
	printf("    no-change reconcile snapshot (sync + member array): %.3f ms, %zu B allocated "
	       "(%zu B/member), %llu decodes; sync alone %.3f ms\n",
	       w.snap_ms, w.per_reconcile, w.per_reconcile / n,
	       (unsigned long long)w.decodes_nochange, w.sync_ms);
	printf("    gsd_reconcile_desired over the cache: %.2f ms (%zu peers)\n", w.rc_ms, w.peers);
	printf("| %zu | %.2f MB | %.2f ms | %.2f MB (%zu B/member) | %zu B | %.3f ms | %.3f ms | "
	       "%.2f ms |\n",
	       n, (double)o.bytes / 1e6, o.ms, (double)w.resident / 1e6, w.resident / n,
	       w.per_reconcile, w.sync_ms, w.snap_ms, w.rc_ms);
	gsm_swim_free(s);
	gsm_keyring_free(kr);
	gsm_identity_free(id);
}

int main(int argc, char **argv)
{
	if (gsm_crypto_init())
		return 1;
	printf("sizeof(struct gsm_advert) = %zu, sizeof(struct gsd_member) = %zu, "
	       "sizeof(struct gsd_rc_member) = %zu\n",
	       sizeof(struct gsm_advert), sizeof(struct gsd_member), sizeof(struct gsd_rc_member));
	printf(
	    "table row: | N | old B/reconcile | old snapshot | cache resident | new B/reconcile | "
	    "sync (no change) | sync + member array | gsd_reconcile_desired |\n");
	if (argc > 1)
		for (int i = 1; i < argc; i++)
			run((size_t)strtoul(argv[i], NULL, 10));
	else {
		run(1000);
		run(10000);
	}
	return 0;
}
