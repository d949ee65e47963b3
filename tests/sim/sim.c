/*
 * tests/sim/sim.c - the discrete-event simulator (see sim.h).
 *
 * Design: one binary heap of events (deliver a datagram, run a node's timer)
 * ordered by (time, insertion sequence), so equal times resolve in a fixed
 * order and a run is a pure function of the seed.  Each node has at most one
 * live timer event: after every call into a core we ask for its next
 * deadline and push a new timer event only when it is earlier than the one
 * already queued (stale timer events are recognised by an epoch and
 * skipped).  Nodes have fake IPv4 addresses 10.a.b.c:7946 derived from their
 * index; nothing ever touches a real socket.  One cluster key ring is shared
 * by all nodes, identities are derived from the seed, so two runs with the
 * same seed produce identical traffic.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gossip/rng.h"
#include "tests/sim/sim.h"

enum { EV_DELIVER = 1, EV_TICK = 2 };

struct ev {
	uint64_t t, seq;
	uint32_t node;
	uint32_t from;
	uint8_t kind;
	uint32_t epoch;
	uint16_t len;
	uint8_t *buf;
};

struct node {
	struct sim *sim;
	uint32_t idx;
	struct gsm_identity *id;
	struct gsm_swim *core;
	bool up;
	bool leaving;
	uint64_t generation;
	uint64_t version;
	uint8_t wg[32];
	struct gsm_addr addr;
	uint64_t tick_at; /* time of the live timer event (UINT64_MAX: none) */
	uint32_t epoch;
	uint8_t group;
	double loss;
	uint32_t slow_ms;
	int64_t clock_off; /* wall clock offset (ms) */
	bool big;	   /* advert larger than the MTU */
	bool no_summary;   /* config.sync_summary = false */
	/* authority mode (sim_set_certs, sim_set_authority) */
	uint8_t n_certs;
	uint16_t cert_len[GSM_CERT_CHAIN_MAX + 1];
	uint8_t (*certs)[GSM_CERT_MAX]; /* GSM_CERT_CHAIN_MAX + 1 slots, or NULL */
	uint8_t auth_mode, n_auth;
	uint8_t auth_keys[GSM_MAX_AUTHORITIES][GSM_ID_LEN];
};

struct link {
	uint32_t a, b;
	double loss;
	uint32_t delay_ms, jitter_ms;
};

struct sim {
	struct sim_opts o;
	struct link *links;
	size_t n_links;
	uint64_t seed;
	struct gsm_rng rng;
	uint64_t now;
	uint64_t seq;
	struct ev *heap;
	size_t n_heap, cap_heap;
	struct node *nodes;
	size_t n_nodes;
	struct gsm_keyring *kr;
	bool block[8][8];
	sim_event_fn hook;
	void *hook_arg;
	struct sim_totals tot;
	uint32_t current; /* node being run, for the env */
	sim_log_fn log_hook;
	void *log_arg;
	/* sim_capture_next: the next datagram cap_from -> cap_to is copied */
	bool cap_armed;
	uint32_t cap_from, cap_to;
	uint8_t *cap_buf;
	size_t cap_len;
	FILE *trace; /* GSM_SIM_TRACE: every event and datagram, one line each */
	sim_dgram_fn dgram_hook;
	void *dgram_arg;
};

/* ---- randomness ---- */

/* xoshiro256** from gossip/rng.h, the same generator as the core's */
static uint64_t rnd(struct sim *s)
{
	return gsm_rng_next(&s->rng);
}

static double rnd01(struct sim *s)
{
	return gsm_rng_unit(&s->rng);
}

/* ---- heap ---- */

static bool ev_less(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void heap_push(struct sim *s, struct ev e)
{
	size_t i;

	if (s->n_heap == s->cap_heap) {
		size_t nc = s->cap_heap ? s->cap_heap * 2 : 1024;
		struct ev *h = realloc(s->heap, nc * sizeof(*h));

		if (!h) {
			free(e.buf);
			return;
		}
		s->heap = h;
		s->cap_heap = nc;
	}
	e.seq = s->seq++;
	i = s->n_heap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!ev_less(&e, &s->heap[p]))
			break;
		s->heap[i] = s->heap[p];
		i = p;
	}
	s->heap[i] = e;
}

static struct ev heap_pop(struct sim *s)
{
	struct ev top = s->heap[0], last = s->heap[--s->n_heap];
	size_t i = 0, n = s->n_heap;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && ev_less(&s->heap[c + 1], &s->heap[c]))
			c++;
		if (!ev_less(&s->heap[c], &last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (n)
		s->heap[i] = last;
	return top;
}

/* ---- env of the cores ---- */

static uint64_t env_now(void *ctx)
{
	return ((struct node *)ctx)->sim->now;
}

/* Wall clock: a fixed epoch (2026-01-01) + sim time + the node's offset */
#define SIM_EPOCH_MS 1767225600000ull

static uint64_t node_wall(const struct node *n)
{
	return (uint64_t)((int64_t)(SIM_EPOCH_MS + n->sim->now) + n->clock_off);
}

static uint64_t env_wall(void *ctx)
{
	return node_wall(ctx);
}

static void env_log(void *ctx, enum gsm_swim_log_level lvl, const char *msg)
{
	struct node *n = ctx;

	if (n->sim->log_hook)
		n->sim->log_hook(n->sim->log_arg, n->idx, (int)lvl, msg);
}

static void capture(struct sim *s, uint32_t from, long to, const uint8_t *buf, size_t len)
{
	if (!s->cap_armed || from != s->cap_from || to != (long)s->cap_to)
		return;
	free(s->cap_buf);
	s->cap_buf = malloc(len);
	if (!s->cap_buf)
		return;
	memcpy(s->cap_buf, buf, len);
	s->cap_len = len;
	s->cap_armed = false;
}

static long addr_index(const struct sim *s, const struct gsm_addr *a)
{
	long i;

	if (a->family != 4 || a->ip[0] != 10)
		return -1;
	i = ((long)a->ip[1] << 16 | (long)a->ip[2] << 8 | a->ip[3]) - 1;
	if (i < 0 || (size_t)i >= s->n_nodes)
		return -1;
	return i;
}

/* GSM_SIM_TRACE=FILE writes one line per datagram (time, from, to, length,
 * FNV-1a of the sealed bytes) and per event (time, node, type, member id
 * prefix, state, generation, incarnation, advert version): two runs of one
 * seed are the same protocol run exactly when their traces are equal, which
 * is how refactors of the core are checked (scripts/sim-trace). */
static void trace_datagram(struct sim *s, uint32_t from, long to, const uint8_t *buf, size_t len)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ buf[i]) * 1099511628211ull;
	fprintf(s->trace, "%llu D %u %ld %zu %016llx\n", (unsigned long long)s->now, from, to, len,
		(unsigned long long)h);
}

static void trace_event(struct sim *s, uint32_t node, const struct gsm_swim_event *ev)
{
	const struct gsm_swim_member *m = ev->member;

	fprintf(s->trace, "%llu E %u %d", (unsigned long long)s->now, node, (int)ev->type);
	if (m)
		fprintf(s->trace, " %02x%02x%02x%02x %u %llu %llu %llu", m->id[0], m->id[1],
			m->id[2], m->id[3], m->state, (unsigned long long)m->generation,
			(unsigned long long)m->incarnation, (unsigned long long)m->version);
	if (ev->observer)
		fprintf(s->trace, " obs %02x%02x%02x%02x %u:%u", ev->observer[0], ev->observer[1],
			ev->observer[2], ev->observer[3], ev->observed.family, ev->observed.port);
	fputc('\n', s->trace);
}

static void env_send(void *ctx, const struct gsm_addr *to, const uint8_t *buf, size_t len)
{
	struct node *src = ctx;
	struct sim *s = src->sim;
	long d = addr_index(s, to);
	struct node *dst;
	struct ev e;
	uint64_t extra = 0;

	s->tot.dgrams++;
	s->tot.bytes += len;
	if (s->trace)
		trace_datagram(s, src->idx, d, buf, len);
	if (s->dgram_hook)
		s->dgram_hook(s->dgram_arg, src->idx, buf, len);
	capture(s, src->idx, d, buf, len);
	if (d < 0) {
		s->tot.dropped++;
		return;
	}
	dst = &s->nodes[d];
	if (s->n_links) {
		for (size_t k = 0; k < s->n_links; k++) {
			struct link *l = &s->links[k];

			if (l->a != src->idx || l->b != (uint32_t)d)
				continue;
			if (l->loss > 0 && rnd01(s) < l->loss) {
				s->tot.dropped++;
				return;
			}
			extra = l->delay_ms + (l->jitter_ms ? rnd(s) % (l->jitter_ms + 1) : 0);
		}
	}
	if (s->block[src->group][dst->group] || (s->o.loss > 0 && rnd01(s) < s->o.loss) ||
	    (src->loss > 0 && rnd01(s) < src->loss) || (dst->loss > 0 && rnd01(s) < dst->loss)) {
		s->tot.dropped++;
		return;
	}
	memset(&e, 0, sizeof(e));
	e.kind = EV_DELIVER;
	e.node = (uint32_t)d;
	e.from = src->idx;
	e.t = s->now + s->o.delay_ms + (s->o.jitter_ms ? rnd(s) % (s->o.jitter_ms + 1) : 0) + extra;
	if (dst->slow_ms)
		e.t += rnd(s) % (dst->slow_ms + 1);
	e.len = (uint16_t)len;
	e.buf = malloc(len);
	if (!e.buf)
		return;
	memcpy(e.buf, buf, len);
	heap_push(s, e);
}

static void env_random(void *ctx, uint8_t *buf, size_t len)
{
	struct sim *s = ((struct node *)ctx)->sim;

	while (len) {
		uint64_t r = rnd(s);
		size_t k = len < 8 ? len : 8;

		memcpy(buf, &r, k);
		buf += k;
		len -= k;
	}
}

static void env_event(void *ctx, const struct gsm_swim_event *ev)
{
	struct node *n = ctx;

	n->sim->tot.events++;
	if (n->sim->trace)
		trace_event(n->sim, n->idx, ev);
	if (n->sim->hook)
		n->sim->hook(n->sim->hook_arg, n->idx, ev);
}

/* ---- timers ---- */

static void schedule(struct sim *s, struct node *n)
{
	uint64_t d;
	struct ev e;

	if (!n->up || !n->core)
		return;
	d = gsm_swim_next_deadline(n->core);
	if (d <= s->now)
		d = s->now + 1;
	if (d >= n->tick_at)
		return;
	n->tick_at = d;
	n->epoch++;
	memset(&e, 0, sizeof(e));
	e.kind = EV_TICK;
	e.node = n->idx;
	e.epoch = n->epoch;
	e.t = d;
	if (n->slow_ms)
		e.t += rnd(s) % (n->slow_ms + 1);
	heap_push(s, e);
}

/* ---- nodes ---- */

static void node_addr(size_t i, struct gsm_addr *a)
{
	uint32_t v = (uint32_t)i + 1;

	memset(a, 0, sizeof(*a));
	a->family = 4;
	a->ip[0] = 10;
	a->ip[1] = (uint8_t)(v >> 16);
	a->ip[2] = (uint8_t)(v >> 8);
	a->ip[3] = (uint8_t)v;
	a->port = 7946;
}

static int sign_advert(struct sim *s, struct node *n, uint8_t *out, size_t cap, size_t *len)
{
	struct gsm_advert *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	memcpy(a->node_id, gsm_identity_public(n->id), GSM_ID_LEN);
	snprintf(a->name, sizeof(a->name), "node-%u", n->idx);
	memcpy(a->wg_pubkey, n->wg, 32);
	a->generation = n->generation;
	a->version = n->version;
	a->wg_port = 51820;
	a->gossip_port = 7946;
	a->flags = GSM_ADV_RELAY;
	a->n_endpoints = 2;
	a->endpoints[0].addr = n->addr;
	a->endpoints[0].addr.port = 51820;
	a->endpoints[0].flags = GSM_EP_CONFIGURED;
	a->endpoints[1].addr.family = 4;
	a->endpoints[1].addr.ip[0] = 198;
	a->endpoints[1].addr.ip[1] = 51;
	a->endpoints[1].addr.ip[2] = (uint8_t)(n->idx >> 8);
	a->endpoints[1].addr.ip[3] = (uint8_t)n->idx;
	a->endpoints[1].addr.port = 51820;
	a->endpoints[1].flags = GSM_EP_OBSERVED;
	a->n_overlay = 2;
	a->overlay[0].family = 4;
	a->overlay[0].ip[0] = 10;
	a->overlay[0].ip[1] = 77;
	a->overlay[0].ip[2] = (uint8_t)(n->idx >> 8);
	a->overlay[0].ip[3] = (uint8_t)n->idx;
	a->overlay[0].len = 32;
	a->overlay[1].family = 6;
	a->overlay[1].ip[0] = 0xfd;
	a->overlay[1].ip[1] = 0x8a;
	a->overlay[1].ip[14] = (uint8_t)(n->idx >> 8);
	a->overlay[1].ip[15] = (uint8_t)n->idx;
	a->overlay[1].len = 128;
	a->n_labels = 2;
	snprintf(a->labels[0].key, sizeof(a->labels[0].key), "role");
	snprintf(a->labels[0].value, sizeof(a->labels[0].value), "%s",
		 n->idx % 3 ? "worker" : "edge");
	snprintf(a->labels[1].key, sizeof(a->labels[1].key), "zone");
	snprintf(a->labels[1].value, sizeof(a->labels[1].value), "z%u", n->idx % 4);
	if (n->big) {
		/* many routed prefixes and labels: ~3 KB, more than one datagram */
		a->n_prefixes = 48;
		for (int k = 0; k < 48; k++) {
			a->prefixes[k].family = 6;
			a->prefixes[k].ip[0] = 0x20;
			a->prefixes[k].ip[1] = 0x01;
			a->prefixes[k].ip[2] = 0x0d;
			a->prefixes[k].ip[3] = 0xb8;
			a->prefixes[k].ip[4] = (uint8_t)k;
			a->prefixes[k].len = 48;
		}
		a->n_labels = 30;
		for (int k = 2; k < 30; k++) {
			snprintf(a->labels[k].key, sizeof(a->labels[k].key), "label-%02d", k);
			snprintf(a->labels[k].value, sizeof(a->labels[k].value),
				 "some-longer-value-to-make-the-advert-big-%02d", k);
		}
	}
	a->n_certs = n->n_certs;
	for (size_t k = 0; k < n->n_certs; k++) {
		a->cert_len[k] = n->cert_len[k];
		memcpy(a->certs[k], n->certs[k], n->cert_len[k]);
	}
	r = gsm_advert_sign(a, n->id, out, cap, len);
	free(a);
	(void)s;
	return r;
}

void sim_opts_default(struct sim_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->delay_ms = 5;
	o->jitter_ms = 5;
	gsm_swim_config_default(&o->swim);
}

struct sim *sim_new(const struct sim_opts *o, size_t max_nodes)
{
	struct sim *s = calloc(1, sizeof(*s));
	uint8_t key[GSM_CLUSTER_KEY_LEN];
	uint64_t x;
	const char *env = getenv("GSM_SIM_SEED");

	if (!s)
		return NULL;
	if (gsm_crypto_init() < 0)
		goto fail;
	s->o = *o;
	s->seed = o->seed;
	if (env && *env)
		s->seed = strtoull(env, NULL, 0);
	env = getenv("GSM_SIM_TRACE");
	if (env && *env && !(s->trace = fopen(env, "a")))
		goto fail;
	if (!s->seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
		s->seed = gsm_rng_splitmix(&x) | 1;
	}
	if (!o->quiet)
		printf("sim %s: seed %" PRIu64 " (replay with GSM_SIM_SEED=%" PRIu64 ")\n",
		       o->name ? o->name : "", s->seed, s->seed);
	fflush(stdout);
	x = s->seed;
	for (int i = 0; i < 4; i++)
		s->rng.s[i] = gsm_rng_splitmix(&x);
	s->nodes = calloc(max_nodes, sizeof(*s->nodes));
	if (!s->nodes)
		goto fail;
	s->n_nodes = max_nodes;
	if (gsm_keyring_new("sim", &s->kr) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)rnd(s);
	if (gsm_keyring_add(s->kr, 1, key) < 0)
		goto fail;
	for (size_t i = 0; i < max_nodes; i++) {
		struct node *n = &s->nodes[i];
		uint8_t seed[32];

		n->sim = s;
		n->idx = (uint32_t)i;
		n->tick_at = UINT64_MAX;
		for (size_t k = 0; k < 32; k++)
			seed[k] = (uint8_t)rnd(s);
		for (size_t k = 0; k < 32; k++)
			n->wg[k] = (uint8_t)rnd(s);
		if (gsm_identity_from_seed(seed, &n->id) < 0)
			goto fail;
		node_addr(i, &n->addr);
	}
	return s;
fail:
	sim_free(s);
	return NULL;
}

void sim_free(struct sim *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_nodes; i++) {
		gsm_swim_free(s->nodes[i].core);
		gsm_identity_free(s->nodes[i].id);
		free(s->nodes[i].certs);
	}
	while (s->n_heap) {
		struct ev e = heap_pop(s);

		free(e.buf);
	}
	free(s->heap);
	free(s->links);
	free(s->cap_buf);
	free(s->nodes);
	gsm_keyring_free(s->kr);
	if (s->trace)
		fclose(s->trace);
	free(s);
}

uint64_t sim_seed(const struct sim *s)
{
	return s->seed;
}

uint64_t sim_now(const struct sim *s)
{
	return s->now;
}

size_t sim_size(const struct sim *s)
{
	return s->n_nodes;
}

void sim_set_event_hook(struct sim *s, sim_event_fn fn, void *arg)
{
	s->hook = fn;
	s->hook_arg = arg;
}

int sim_start(struct sim *s, size_t i)
{
	struct node *n = &s->nodes[i];
	struct gsm_swim_config cfg = s->o.swim;
	struct gsm_swim_env env = {
	    .ctx = n,
	    .now = env_now,
	    .send = env_send,
	    .random = env_random,
	    .event = env_event,
	    .log = env_log,
	    .wall_ms = env_wall,
	};
	uint8_t adv[GSM_MAX_ADVERT];
	size_t len;
	int r;

	if (n->up)
		return -EALREADY;
	gsm_swim_free(n->core);
	n->core = NULL;
	n->generation++;
	n->version = 1;
	n->leaving = false;
	cfg.generation = n->generation;
	if (n->no_summary)
		cfg.sync_summary = false;
	r = gsm_swim_new(&cfg, n->id, s->kr, &n->addr, &env, &n->core);
	if (r < 0)
		return r;
	if (n->n_auth) {
		r = gsm_swim_set_authority(n->core, (enum gsm_authority_mode)n->auth_mode,
					   (const uint8_t(*)[GSM_ID_LEN])n->auth_keys, n->n_auth);
		if (r < 0)
			return r;
	}
	r = sign_advert(s, n, adv, sizeof(adv), &len);
	if (r < 0)
		return r;
	r = gsm_swim_set_advert(n->core, adv, len);
	if (r < 0)
		return r;
	n->up = true;
	n->tick_at = UINT64_MAX;
	schedule(s, n);
	return 0;
}

int sim_join(struct sim *s, size_t i, const size_t *seeds, size_t k)
{
	struct node *n = &s->nodes[i];
	struct gsm_addr a[16];
	int r;

	if (!n->up)
		return -ENOTCONN;
	if (k > 16)
		k = 16;
	for (size_t j = 0; j < k; j++)
		a[j] = s->nodes[seeds[j]].addr;
	r = gsm_swim_join(n->core, a, k);
	schedule(s, n);
	return r;
}

void sim_crash(struct sim *s, size_t i)
{
	struct node *n = &s->nodes[i];

	n->up = false;
	n->epoch++;
	n->tick_at = UINT64_MAX;
	gsm_swim_free(n->core);
	n->core = NULL;
}

int sim_leave(struct sim *s, size_t i)
{
	struct node *n = &s->nodes[i];
	int r;

	if (!n->up)
		return -ENOTCONN;
	r = gsm_swim_leave(n->core);
	n->leaving = true;
	schedule(s, n);
	return r;
}

bool sim_up(const struct sim *s, size_t i)
{
	return s->nodes[i].up;
}

int sim_update_advert(struct sim *s, size_t i)
{
	struct node *n = &s->nodes[i];
	uint8_t adv[GSM_MAX_ADVERT];
	size_t len;
	int r;

	if (!n->up)
		return -ENOTCONN;
	n->version++;
	r = sign_advert(s, n, adv, sizeof(adv), &len);
	if (r < 0)
		return r;
	r = gsm_swim_set_advert(n->core, adv, len);
	schedule(s, n);
	return r;
}

uint64_t sim_advert_version(const struct sim *s, size_t i)
{
	return s->nodes[i].version;
}

uint64_t sim_generation(const struct sim *s, size_t i)
{
	return s->nodes[i].generation;
}

const uint8_t *sim_node_id(const struct sim *s, size_t i)
{
	return gsm_identity_public(s->nodes[i].id);
}

struct gsm_swim *sim_core(struct sim *s, size_t i)
{
	return s->nodes[i].core;
}

long sim_find(const struct sim *s, const uint8_t *id)
{
	for (size_t i = 0; i < s->n_nodes; i++)
		if (!memcmp(gsm_identity_public(s->nodes[i].id), id, GSM_ID_LEN))
			return (long)i;
	return -1;
}

struct import_ctx {
	struct sim *s;
	struct node *n;
	int count;
};

static int import_one(void *arg, const struct gsm_swim_member *m)
{
	struct import_ctx *c = arg;

	if (m->is_self || !m->advert || !memcmp(m->id, gsm_identity_public(c->n->id), GSM_ID_LEN))
		return 0;
	if (gsm_swim_import(c->n->core, m->advert, m->advert_len, &m->addr) == 0)
		c->count++;
	return 0;
}

int sim_import_from(struct sim *s, size_t i, size_t donor)
{
	struct import_ctx c = {s, &s->nodes[i], 0};

	if (!s->nodes[i].up || !s->nodes[donor].up)
		return -ENOTCONN;
	gsm_swim_foreach(s->nodes[donor].core, import_one, &c);
	schedule(s, &s->nodes[i]);
	return c.count;
}

int sim_inject(struct sim *s, size_t i, size_t from, const uint8_t *buf, size_t len)
{
	int r;

	if (!s->nodes[i].up)
		return -ENOTCONN;
	r = gsm_swim_recv(s->nodes[i].core, &s->nodes[from].addr, buf, len);
	schedule(s, &s->nodes[i]);
	return r;
}

/* Encode m, seal it (nonce stamped with node from's wall clock; pair
 * tagged with pair_key if not NULL) and deliver it to node `to`. */
static int forge(struct sim *s, size_t from, size_t to, const struct gsm_msg *m,
		 const uint8_t *pair_key)
{
	static uint8_t body[GSM_MAX_DATAGRAM], dgram[GSM_MAX_DATAGRAM];
	uint8_t nonce[GSM_NONCE_LEN], rb[GSM_NONCE_RANDOM_LEN];
	size_t blen, dlen;
	int r;

	r = gsm_msg_encode(m, body, sizeof(body) - GSM_ENVELOPE_OVERHEAD, &blen);
	if (r < 0)
		return r;
	for (size_t k = 0; k < sizeof(rb); k += 8) {
		uint64_t x = rnd(s);

		memcpy(rb + k, &x, 8);
	}
	gsm_nonce_make(node_wall(&s->nodes[from]), rb, nonce);
	r = gsm_seal_pair(s->kr, nonce, pair_key, body, blen, dgram, sizeof(dgram), &dlen);
	if (r < 0)
		return r;
	return sim_inject(s, to, from, dgram, dlen);
}

int sim_send_forged(struct sim *s, size_t from, size_t to, const struct gsm_msg *m)
{
	return forge(s, from, to, m, NULL);
}

int sim_send_forged_tagged(struct sim *s, size_t from, size_t to, const struct gsm_msg *m)
{
	uint8_t key[GSM_PAIR_KEY_LEN];
	int r;

	r = gsm_pair_key(s->nodes[from].id, sim_node_id(s, to), gsm_keyring_cluster_name(s->kr),
			 key);
	if (r < 0)
		return r;
	return forge(s, from, to, m, key);
}

void sim_set_clock_offset(struct sim *s, size_t i, int64_t ms)
{
	s->nodes[i].clock_off = ms;
}

void sim_set_log_hook(struct sim *s, sim_log_fn fn, void *arg)
{
	s->log_hook = fn;
	s->log_arg = arg;
}

void sim_capture_next(struct sim *s, size_t from, size_t to)
{
	free(s->cap_buf);
	s->cap_buf = NULL;
	s->cap_len = 0;
	s->cap_armed = true;
	s->cap_from = (uint32_t)from;
	s->cap_to = (uint32_t)to;
}

size_t sim_captured(const struct sim *s, uint8_t *buf, size_t cap)
{
	if (!s->cap_buf || s->cap_len > cap)
		return 0;
	memcpy(buf, s->cap_buf, s->cap_len);
	return s->cap_len;
}

int sim_replay(struct sim *s, size_t to, size_t from)
{
	if (!s->cap_buf)
		return -ENOENT;
	return sim_inject(s, to, from, s->cap_buf, s->cap_len);
}

int sim_set_link(struct sim *s, size_t a, size_t b, double loss, uint32_t delay_ms,
		 uint32_t jitter_ms)
{
	struct link *l = NULL;

	for (size_t k = 0; k < s->n_links; k++)
		if (s->links[k].a == a && s->links[k].b == b)
			l = &s->links[k];
	if (!l) {
		struct link *nl = realloc(s->links, (s->n_links + 1) * sizeof(*nl));

		if (!nl)
			return -ENOMEM;
		s->links = nl;
		l = &s->links[s->n_links++];
	}
	l->a = (uint32_t)a;
	l->b = (uint32_t)b;
	l->loss = loss;
	l->delay_ms = delay_ms;
	l->jitter_ms = jitter_ms;
	return 0;
}

void sim_set_loss(struct sim *s, double p)
{
	s->o.loss = p;
}

void sim_set_node_loss(struct sim *s, size_t i, double p)
{
	s->nodes[i].loss = p;
}

void sim_set_group(struct sim *s, size_t i, uint8_t group)
{
	s->nodes[i].group = group & 7;
}

void sim_block(struct sim *s, uint8_t a, uint8_t b, bool blocked)
{
	s->block[a & 7][b & 7] = blocked;
}

void sim_set_big_advert(struct sim *s, size_t i, bool big)
{
	s->nodes[i].big = big;
}

void sim_set_slow(struct sim *s, size_t i, uint32_t ms)
{
	s->nodes[i].slow_ms = ms;
}

int sim_set_certs(struct sim *s, size_t i, const struct gsm_bytes *certs, size_t k)
{
	struct node *n = &s->nodes[i];

	if (k > GSM_CERT_CHAIN_MAX + 1)
		return -EMSGSIZE;
	if (k && !n->certs && !(n->certs = calloc(GSM_CERT_CHAIN_MAX + 1, GSM_CERT_MAX)))
		return -ENOMEM;
	for (size_t j = 0; j < k; j++) {
		if (certs[j].len > GSM_CERT_MAX)
			return -EMSGSIZE;
		memcpy(n->certs[j], certs[j].ptr, certs[j].len);
		n->cert_len[j] = (uint16_t)certs[j].len;
	}
	n->n_certs = (uint8_t)k;
	return 0;
}

int sim_set_authority(struct sim *s, size_t i, enum gsm_authority_mode mode,
		      const uint8_t (*keys)[GSM_ID_LEN], size_t k)
{
	struct node *n = &s->nodes[i];
	int r = 0;

	if (k > GSM_MAX_AUTHORITIES)
		return -EINVAL;
	n->auth_mode = (uint8_t)mode;
	n->n_auth = (uint8_t)k;
	if (k)
		memcpy(n->auth_keys, keys, k * GSM_ID_LEN);
	if (n->up) {
		r = gsm_swim_set_authority(n->core, mode, keys, k);
		schedule(s, n);
	}
	return r;
}

void sim_set_dgram_hook(struct sim *s, sim_dgram_fn fn, void *arg)
{
	s->dgram_hook = fn;
	s->dgram_arg = arg;
}

const struct gsm_keyring *sim_keyring(const struct sim *s)
{
	return s->kr;
}

uint64_t sim_wall_ms(const struct sim *s, size_t i)
{
	return node_wall(&s->nodes[i]);
}

void sim_set_no_summary(struct sim *s, size_t i, bool off)
{
	s->nodes[i].no_summary = off;
}

/* ---- running ---- */

static void step(struct sim *s, struct ev *e)
{
	struct node *n = &s->nodes[e->node];

	s->now = e->t;
	if (e->kind == EV_TICK) {
		if (!n->up || e->epoch != n->epoch)
			return;
		n->tick_at = UINT64_MAX;
		gsm_swim_tick(n->core);
		schedule(s, n);
		return;
	}
	if (!n->up) {
		s->tot.dropped++;
		free(e->buf);
		return;
	}
	s->tot.delivered++;
	gsm_swim_recv(n->core, &s->nodes[e->from].addr, e->buf, e->len);
	free(e->buf);
	schedule(s, n);
}

void sim_run_until(struct sim *s, uint64_t t)
{
	while (s->n_heap && s->heap[0].t <= t) {
		struct ev e = heap_pop(s);

		step(s, &e);
	}
	if (s->now < t)
		s->now = t;
}

bool sim_run_until_pred(struct sim *s, uint64_t limit, uint64_t step_ms,
			bool (*pred)(struct sim *s, void *arg), void *arg)
{
	while (s->now < limit) {
		uint64_t t = s->now + step_ms;

		if (t > limit)
			t = limit;
		sim_run_until(s, t);
		if (pred(s, arg))
			return true;
	}
	return pred(s, arg);
}

/* ---- views ---- */

static bool view_complete(struct sim *s, size_t i, bool strict)
{
	struct gsm_swim_member m;

	for (size_t j = 0; j < s->n_nodes; j++) {
		struct node *o = &s->nodes[j];

		if (j == i)
			continue;
		if (o->up && !o->leaving) {
			if (gsm_swim_get(s->nodes[i].core, gsm_identity_public(o->id), &m) < 0)
				return false;
			if (m.state != GSM_STATE_ALIVE || m.advert_generation != o->generation ||
			    m.version != o->version || !m.advert)
				return false;
		} else if (strict) {
			if (gsm_swim_get(s->nodes[i].core, gsm_identity_public(o->id), &m) == 0 &&
			    m.state == GSM_STATE_ALIVE && m.generation == o->generation)
				return false;
		}
	}
	return true;
}

size_t sim_complete_views(struct sim *s, bool strict)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_nodes; i++)
		if (s->nodes[i].up && !s->nodes[i].leaving && view_complete(s, i, strict))
			n++;
	return n;
}

int sim_state_of(struct sim *s, size_t i, size_t j)
{
	struct gsm_swim_member m;

	if (!s->nodes[i].up)
		return -1;
	if (gsm_swim_get(s->nodes[i].core, gsm_identity_public(s->nodes[j].id), &m) < 0)
		return -1;
	return m.state;
}

void sim_totals(struct sim *s, struct sim_totals *t)
{
	*t = s->tot;
	t->memory = 0;
	t->members = 0;
	for (size_t i = 0; i < s->n_nodes; i++) {
		struct gsm_swim_stats st;

		if (!s->nodes[i].up)
			continue;
		gsm_swim_stats(s->nodes[i].core, &st);
		t->memory += st.memory_bytes;
		t->members += st.total;
		t->syncs += st.syncs;
		t->syncs_summary += st.syncs_summary;
		t->digest_pages_recv += st.digest_pages_recv;
		t->digest_pages_sent += st.digest_pages_sent;
	}
}

uint64_t sim_pending_bytes_to(const struct sim *s, size_t i)
{
	uint64_t n = 0;

	for (size_t k = 0; k < s->n_heap; k++)
		if (s->heap[k].kind == EV_DELIVER && s->heap[k].node == i)
			n += s->heap[k].len;
	return n;
}
