/*
 * gossip/swim.c - the membership core as a pure state machine.
 *
 * WHAT.  Every node keeps a table of members (sorted by node id) with the
 * SWIM state (generation, incarnation, ALIVE/SUSPECT/DEAD/LEFT), the gossip
 * address and the member's signed advert bytes.  Failure detection is SWIM:
 * each probe period one member (randomized round robin) gets a PING; without
 * an ACK within the probe timeout, k helpers are asked to PING_REQ it; still
 * nothing by the end of the period and the member becomes SUSPECT, then
 * DEAD when the suspicion timer expires unless the member refutes by
 * bumping its incarnation.  Lifeguard on top: a local health multiplier
 * (LHM) that grows with missed acks/nacks and stretches our own interval and
 * timeouts (a slow node stops accusing healthy ones), NACKs from ping-req
 * helpers, suspicion timeouts that start long and shrink with every
 * independent confirmation (min/max scaled by log N), and the buddy rule
 * (a suspect hears about its suspicion in the very ping that probes it).
 *
 * Dissemination.  Each member has one update slot and one advert slot in a
 * broadcast queue (so a newer update replaces an older one in place).  The
 * queue is a set of buckets by transmit count, newest first inside a bucket;
 * every outgoing datagram is filled least-sent/newest first up to the budget
 * (MTU minus envelope), each update retransmitted lambda*ceil(log10(N+1))
 * times, each advert ceil(lambda*log10(N+1)) times.  Updates get at least half of the room whenever adverts compete,
 * so failure detection is never starved by advert traffic.  Besides
 * PING/ACK piggybacking there is a gossip round (every gossip interval, to
 * `fanout` random members) that only runs while something is pending.
 *
 * Anti-entropy.  Push-pull over UDP with a cursor: the initiator asks for a
 * page of the peer's digest (node id, generation, version) after a cursor,
 * compares it with its own members in the same id range, requests what is
 * missing/older and pushes what the peer lacks, then asks for the next
 * page.  Non-ALIVE states ride along both ways (a missed death heals at the
 * next sync); stale bad news is answered with the newer ALIVE state.  The
 * first request carries a summary (state_hash, wire key 15: a hash of what
 * the digest compares, recomputed per sync in O(N)); a peer with an equal
 * view answers "in sync" and a quiet sync costs one round trip instead of
 * every digest page (older peers skip the key and page as before).  Only
 * the initiator keeps state, so loss just ends the session.  The interval
 * is scaled with log2(N) and shortened while syncs keep finding
 * differences (joins, churn).  What sync teaches is not re-gossiped (except
 * bad news): otherwise every joiner would re-broadcast the whole cluster.
 * Joining: an unanswered join is retried with a seed after 1, 2, 4 ...
 * probe intervals up to the reconnect interval (reset by any answer).
 * Partition healing: every node periodically contacts a seed or a random
 * dead member; a node that hears from a member it holds SUSPECT/DEAD tells
 * it so directly, and the member refutes straight back, so both sides
 * revive each other and gossip it.
 *
 * False positives.  Besides Lifeguard: a second direct ping goes out with
 * the ping-reqs, and an expiring suspicion gets a last-chance direct ping
 * carrying the suspicion (a live member answers with its newer state), so
 * a node that missed a refutation does not declare a healthy member dead.
 * Tombstones (DEAD/LEFT) are kept tombstone_ms, then reaped and remembered
 * for one more period so peers that still hold them cannot hand them back.
 *
 * Trade-offs.  The core stores signed advert bytes, not decoded adverts
 * (192 B record + advert per member); an advert larger than the MTU goes out
 * alone in an oversize datagram rather than not at all.  Sorted arrays instead of hash tables keep
 * the code small and paging trivial; insertion is O(N) but rare.  All
 * randomness comes from a xoshiro256** generator (gossip/rng.h, shared with
 * the simulator) seeded through env.random, and
 * nonces from env.random itself, so runs are reproducible in the simulator.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "gossip/rng.h"
#include "gossip/swim.h"

#define MAX_BUCKETS   64
#define MAX_CONFIRM   8
#define MAX_RELAYS    32
#define RECENT_REQ    16
#define PACK_SLACK    12
#define REAP_CHECK_MS 10000u
#define OBS_REFRESH_MS 30000u
#define LEAVE_DIRECT  512
#define SYNC_HASH_LEN 16 /* state_hash we send (wire allows 16..32) */

/* ------------------------------------------------------------------ */
/* data                                                                */

struct qitem {
	struct qitem *prev, *next;
	uint8_t tx;
	uint8_t queued;
	uint8_t bucket;
};

struct bqueue {
	struct qitem *head[MAX_BUCKETS];
	uint32_t count;
};

struct suspicion {
	uint64_t start;
	uint64_t deadline;
	uint8_t n_confirm;
	uint8_t confirm[MAX_CONFIRM][GSM_ID_LEN];
	uint8_t has_from;
	uint8_t last_chance; /* final direct ping sent */
	uint8_t from[GSM_ID_LEN]; /* suspecter relayed with the update */
};

struct member {
	uint8_t id[GSM_ID_LEN];
	uint8_t state;
	uint8_t is_self;
	uint8_t imported;
	uint16_t advert_len;
	uint64_t gen, inc;
	uint64_t adv_gen, adv_ver;
	struct gsm_addr addr;
	uint8_t *advert;
	uint64_t changed_ms;
	uint32_t mark;      /* pack epoch */
	uint32_t told_ms;   /* last "you are suspect/dead" sent to it (low 32 bits) */
	uint32_t advreq_ms; /* last advert request for it (low 32 bits) */
	struct suspicion *susp;
	uint8_t *leave_sig; /* LEFT: signature over the leave intent */
	struct qitem uq, aq;
};

/* a reaped tombstone, remembered for one more tombstone period so that
 * peers still holding it (or stale gossip) cannot re-create it */
struct reaped {
	uint8_t id[GSM_ID_LEN];
	uint64_t gen;
	uint64_t until;
};

struct relay {
	uint8_t used;
	uint8_t acked;
	uint32_t seq;        /* our ping to the target */
	uint32_t origin_seq;
	uint8_t origin[GSM_ID_LEN];
	uint8_t target[GSM_ID_LEN];
	struct gsm_addr origin_addr;
	uint64_t nack_at;
};

struct probe {
	uint8_t active;
	uint8_t acked;
	uint8_t direct_ok;
	uint8_t indirect_sent;
	uint32_t seq;
	uint8_t target[GSM_ID_LEN];
	uint64_t gen, inc;
	uint64_t timeout_at;
	uint32_t expected_nacks, nacks;
};

struct sync_sess {
	uint8_t active;
	uint8_t has_peer;
	uint8_t has_cursor;
	uint8_t changed;
	uint8_t peer[GSM_ID_LEN];
	uint8_t cursor[GSM_ID_LEN];
	struct gsm_addr addr;
	uint32_t seq;
	uint64_t deadline;
	uint32_t pages;
	uint8_t has_hash;
	uint8_t hash[SYNC_HASH_LEN]; /* summary sent with the first request */
};

struct gsm_swim {
	struct gsm_swim_config cfg;
	const struct gsm_identity *id;
	const struct gsm_keyring *kr;
	struct gsm_swim_env env;
	uint8_t self_id[GSM_ID_LEN];
	struct member *self;

	struct member **mem; /* sorted by id */
	size_t n_mem, cap_mem;
	uint64_t *keys; /* id prefixes parallel to mem[]: cache-friendly search */
	size_t cap_keys;
	struct member **plist; /* probe order */
	size_t n_plist, cap_plist, pidx;
	struct member **susp; /* suspects with timers */
	size_t n_susp, cap_susp;

	uint32_t n_alive, n_suspect, n_dead, n_left; /* others only */

	struct bqueue uqueue, aqueue;
	uint32_t pack_epoch;

	struct gsm_rng rng;
	uint32_t seq;

	struct probe probe;
	struct relay relays[MAX_RELAYS];
	struct sync_sess sync;

	uint64_t next_probe, next_gossip, next_sync, next_reconnect, next_reap;
	uint64_t last_sync;
	uint32_t sync_backoff; /* multiplier step for adaptive sync */
	uint32_t join_retry_ms; /* wait for an unanswered join: 1 probe interval,
				 * doubling up to the reconnect interval */
	uint32_t awareness;

	struct gsm_addr *seeds;
	size_t n_seeds;
	struct reaped *reaped;
	size_t n_reaped, cap_reaped;
	uint8_t joined;
	uint8_t leaving;
	uint32_t leave_sends;

	uint8_t recent_req[RECENT_REQ][GSM_ID_LEN];
	uint64_t recent_req_ms[RECENT_REQ];
	uint32_t recent_req_i;

	struct gsm_addr last_observed;
	uint64_t last_observed_ms;

	/* wg_observed (issue 8): endpoints we report, sorted by id (only
	 * NATed members that are our WireGuard peers: few) */
	struct wgobs {
		uint8_t id[GSM_ID_LEN];
		struct gsm_addr addr;
	} *wgobs;
	size_t n_wgobs, cap_wgobs;
	struct gsm_addr last_wg_observed;
	uint64_t last_wg_observed_ms;

	struct gsm_swim_stats st;
	size_t mem_bytes;
};

/* ------------------------------------------------------------------ */
/* scratch buffers (shared by all instances of a thread)               */

struct rxbuf {
	struct gsm_msg m;
	uint8_t body[GSM_MAX_DATAGRAM];
};
struct txbuf {
	struct gsm_msg m;
	uint8_t body[GSM_MAX_DATAGRAM];
	uint8_t out[GSM_MAX_DATAGRAM + GSM_ENVELOPE_OVERHEAD];
};

static __thread struct rxbuf *rx_static;
static __thread int rx_busy;
static __thread struct txbuf *tx_static;
static __thread int tx_busy;

static struct rxbuf *rx_get(void)
{
	if (!rx_busy) {
		if (!rx_static)
			rx_static = malloc(sizeof(*rx_static));
		if (rx_static) {
			rx_busy = 1;
			return rx_static;
		}
	}
	return malloc(sizeof(struct rxbuf));
}

static void rx_put(struct rxbuf *b)
{
	if (b == rx_static)
		rx_busy = 0;
	else
		free(b);
}

static struct txbuf *tx_get(void)
{
	if (!tx_busy) {
		if (!tx_static)
			tx_static = malloc(sizeof(*tx_static));
		if (tx_static) {
			tx_busy = 1;
			return tx_static;
		}
	}
	return malloc(sizeof(struct txbuf));
}

static void tx_put(struct txbuf *b)
{
	if (b == tx_static)
		tx_busy = 0;
	else
		free(b);
}

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static uint64_t now_ms(const struct gsm_swim *s)
{
	return s->env.now(s->env.ctx);
}

__attribute__((format(printf, 3, 4))) static void slog(const struct gsm_swim *s,
						      enum gsm_swim_log_level lvl,
						      const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (!s->env.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->env.log(s->env.ctx, lvl, buf);
}

static uint64_t rnd_below(struct gsm_swim *s, uint64_t n)
{
	return gsm_rng_below(&s->rng, n);
}

/* +-25% jitter around v */
static uint64_t jitter(struct gsm_swim *s, uint64_t v)
{
	if (v < 4)
		return v;
	return v - v / 4 + rnd_below(s, v / 2 + 1);
}

/* 32-bit time stamps (rate limits only): 0 = never */
static uint32_t stamp32(uint64_t now)
{
	uint32_t t = (uint32_t)now;

	return t ? t : 1;
}

static uint32_t since32(uint64_t now, uint32_t stamp)
{
	return stamp ? (uint32_t)now - stamp : UINT32_MAX;
}

static void *xcalloc(struct gsm_swim *s, size_t n)
{
	void *p = calloc(1, n);

	if (p)
		s->mem_bytes += n;
	return p;
}

static void xfree(struct gsm_swim *s, void *p, size_t n)
{
	if (!p)
		return;
	s->mem_bytes -= n;
	free(p);
}

static int grow(struct gsm_swim *s, void *arrp, size_t *cap, size_t need, size_t elem)
{
	void **arr = arrp;
	size_t nc;
	void *p;

	if (need <= *cap)
		return 0;
	nc = *cap ? *cap * 2 : 16;
	while (nc < need)
		nc *= 2;
	p = realloc(*arr, nc * elem);
	if (!p)
		return -ENOMEM;
	s->mem_bytes += (nc - *cap) * elem;
	*arr = p;
	*cap = nc;
	return 0;
}

static int cmp_order(uint64_t g1, uint64_t i1, uint64_t g2, uint64_t i2)
{
	if (g1 != g2)
		return g1 < g2 ? -1 : 1;
	if (i1 != i2)
		return i1 < i2 ? -1 : 1;
	return 0;
}

static size_t cluster_size(const struct gsm_swim *s)
{
	return 1 + s->n_alive + s->n_suspect;
}

/* Membership updates (small, and what failure detection and leaves hinge
 * on): lambda * ceil(log10(N+1)) transmissions, like memberlist.  Adverts
 * (large, and repaired by anti-entropy anyway): ceil(lambda * log10(N+1)). */
static uint32_t retransmit_limit(const struct gsm_swim *s, int advert)
{
	double n = (double)cluster_size(s);
	uint32_t l = advert ? (uint32_t)ceil(s->cfg.retransmit_mult * log10(n + 1.0))
			    : s->cfg.retransmit_mult * (uint32_t)ceil(log10(n + 1.0));

	if (l < 1)
		l = 1;
	if (l >= MAX_BUCKETS)
		l = MAX_BUCKETS - 1;
	return l;
}

static uint32_t lhm(const struct gsm_swim *s)
{
	return s->cfg.lifeguard ? s->awareness : 0;
}

static void awareness_delta(struct gsm_swim *s, int d)
{
	int64_t a = (int64_t)s->awareness + d;

	if (!s->cfg.lifeguard)
		return;
	if (a < 0)
		a = 0;
	if (s->cfg.awareness_max && a > (int64_t)s->cfg.awareness_max - 1)
		a = s->cfg.awareness_max - 1;
	s->awareness = (uint32_t)a;
}

static uint64_t probe_interval(const struct gsm_swim *s)
{
	return (uint64_t)s->cfg.probe_interval_ms * (lhm(s) + 1);
}

static uint64_t probe_timeout(const struct gsm_swim *s)
{
	return (uint64_t)s->cfg.probe_timeout_ms * (lhm(s) + 1);
}

static double node_scale(const struct gsm_swim *s)
{
	double n = (double)cluster_size(s);
	double sc = log10(n < 1 ? 1 : n);

	return sc < 1.0 ? 1.0 : sc;
}

static uint64_t suspicion_min(const struct gsm_swim *s)
{
	return (uint64_t)(s->cfg.suspicion_min_mult * node_scale(s) * s->cfg.probe_interval_ms);
}

static uint64_t suspicion_max(const struct gsm_swim *s)
{
	return suspicion_min(s) * s->cfg.suspicion_max_mult;
}

static uint32_t expected_confirmations(const struct gsm_swim *s)
{
	size_t n = cluster_size(s);
	uint32_t k = s->cfg.indirect_probes;

	if (n < 3)
		return 0;
	if (k > n - 2)
		k = (uint32_t)(n - 2);
	return k;
}

static uint64_t suspicion_timeout(const struct gsm_swim *s, uint32_t confirmations)
{
	uint64_t mn = suspicion_min(s), mx = suspicion_max(s);
	uint32_t k = expected_confirmations(s);
	double frac, t;

	if (!s->cfg.lifeguard)
		return mn;
	if (k == 0 || mx <= mn)
		return mn;
	frac = log((double)confirmations + 1.0) / log((double)k + 1.0);
	t = (double)mx - frac * (double)(mx - mn);
	if (t < (double)mn)
		t = (double)mn;
	return (uint64_t)t;
}

uint64_t gsm_swim_sync_interval(const struct gsm_swim *s)
{
	size_t n = cluster_size(s);
	uint64_t base = s->cfg.sync_interval_ms;
	double mult = 1.0;

	if (n > 32)
		mult = ceil(log2((double)n) - log2(32.0)) + 1.0;
	return (uint64_t)((double)base * mult);
}

/* adaptive: shorter while syncs keep finding differences */
static uint64_t next_sync_delay(struct gsm_swim *s)
{
	uint64_t full = gsm_swim_sync_interval(s);
	uint64_t d = (uint64_t)s->cfg.probe_interval_ms * 2;

	for (uint32_t i = 0; i < s->sync_backoff && d < full; i++)
		d *= 2;
	if (d > full)
		d = full;
	return jitter(s, d);
}

/* ------------------------------------------------------------------ */
/* member table                                                        */

static struct member *qitem_member_u(struct qitem *q)
{
	return (struct member *)((char *)q - offsetof(struct member, uq));
}

static struct member *qitem_member_a(struct qitem *q)
{
	return (struct member *)((char *)q - offsetof(struct member, aq));
}

static uint64_t id_prefix(const uint8_t *id)
{
	return (uint64_t)id[0] << 56 | (uint64_t)id[1] << 48 | (uint64_t)id[2] << 40 |
	       (uint64_t)id[3] << 32 | (uint64_t)id[4] << 24 | (uint64_t)id[5] << 16 |
	       (uint64_t)id[6] << 8 | id[7];
}

/* memcmp order, cheap in the common case (ids differ in the first bytes) */
static int id_cmp(const uint8_t *a, const uint8_t *b)
{
	uint64_t x = id_prefix(a), y = id_prefix(b);

	if (x != y)
		return x < y ? -1 : 1;
	return memcmp(a + 8, b + 8, GSM_ID_LEN - 8);
}

static size_t find_pos(const struct gsm_swim *s, const uint8_t *id, int *found)
{
	size_t lo = 0, hi = s->n_mem;

	uint64_t key = id_prefix(id);

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = s->keys[mid] < key ? -1 : s->keys[mid] > key ? 1 : id_cmp(s->mem[mid]->id, id);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

static struct member *find(const struct gsm_swim *s, const uint8_t *id)
{
	int found;
	size_t p = find_pos(s, id, &found);

	return found ? s->mem[p] : NULL;
}

static void count_state(struct gsm_swim *s, const struct member *m, int d)
{
	if (m->is_self)
		return;
	switch (m->state) {
	case GSM_STATE_ALIVE:
		s->n_alive += d;
		break;
	case GSM_STATE_SUSPECT:
		s->n_suspect += d;
		break;
	case GSM_STATE_DEAD:
		s->n_dead += d;
		break;
	default:
		s->n_left += d;
		break;
	}
}

static struct member *member_add(struct gsm_swim *s, const uint8_t *id)
{
	int found;
	size_t pos = find_pos(s, id, &found);
	struct member *m;

	if (found)
		return s->mem[pos];
	if (grow(s, &s->mem, &s->cap_mem, s->n_mem + 1, sizeof(*s->mem)) ||
	    grow(s, &s->keys, &s->cap_keys, s->n_mem + 1, sizeof(*s->keys)) ||
	    grow(s, &s->plist, &s->cap_plist, s->n_plist + 1, sizeof(*s->plist)))
		return NULL;
	m = xcalloc(s, sizeof(*m));
	if (!m)
		return NULL;
	memcpy(m->id, id, GSM_ID_LEN);
	m->state = GSM_STATE_ALIVE;
	memmove(&s->mem[pos + 1], &s->mem[pos], (s->n_mem - pos) * sizeof(*s->mem));
	memmove(&s->keys[pos + 1], &s->keys[pos], (s->n_mem - pos) * sizeof(*s->keys));
	s->mem[pos] = m;
	s->keys[pos] = id_prefix(id);
	s->n_mem++;
	/* random position in the probe order */
	{
		size_t at = rnd_below(s, s->n_plist + 1);

		if (at == s->n_plist) {
			s->plist[s->n_plist++] = m;
		} else {
			s->plist[s->n_plist++] = s->plist[at];
			s->plist[at] = m;
		}
	}
	count_state(s, m, +1);
	return m;
}

static void q_remove(struct bqueue *q, struct qitem *it)
{
	if (!it->queued)
		return;
	if (it->prev)
		it->prev->next = it->next;
	else
		q->head[it->bucket] = it->next;
	if (it->next)
		it->next->prev = it->prev;
	it->prev = it->next = NULL;
	it->queued = 0;
	q->count--;
}

static void q_push(struct bqueue *q, struct qitem *it, uint8_t bucket)
{
	it->bucket = bucket;
	it->prev = NULL;
	it->next = q->head[bucket];
	if (it->next)
		it->next->prev = it;
	q->head[bucket] = it;
	it->queued = 1;
	q->count++;
}

static void enqueue(struct bqueue *q, struct qitem *it)
{
	q_remove(q, it);
	it->tx = 0;
	q_push(q, it, 0);
}

static void q_sent(struct gsm_swim *s, struct bqueue *q, struct qitem *it)
{
	uint32_t lim = retransmit_limit(s, q == &s->aqueue);

	if (!it->queued)
		return;
	q_remove(q, it);
	it->tx++;
	if (it->tx < lim)
		q_push(q, it, it->tx);
}

static void susp_remove(struct gsm_swim *s, struct member *m)
{
	if (!m->susp)
		return;
	for (size_t i = 0; i < s->n_susp; i++) {
		if (s->susp[i] == m) {
			s->susp[i] = s->susp[--s->n_susp];
			break;
		}
	}
	xfree(s, m->susp, sizeof(*m->susp));
	m->susp = NULL;
}

static void member_free(struct gsm_swim *s, struct member *m)
{
	q_remove(&s->uqueue, &m->uq);
	q_remove(&s->aqueue, &m->aq);
	susp_remove(s, m);
	xfree(s, m->advert, m->advert_len);
	xfree(s, m->leave_sig, GSM_SIG_LEN);
	xfree(s, m, sizeof(*m));
}

static void member_remove(struct gsm_swim *s, struct member *m)
{
	int found;
	size_t pos = find_pos(s, m->id, &found);

	if (!found)
		return;
	memmove(&s->mem[pos], &s->mem[pos + 1], (s->n_mem - pos - 1) * sizeof(*s->mem));
	memmove(&s->keys[pos], &s->keys[pos + 1], (s->n_mem - pos - 1) * sizeof(*s->keys));
	s->n_mem--;
	for (size_t i = 0; i < s->n_plist; i++) {
		if (s->plist[i] == m) {
			memmove(&s->plist[i], &s->plist[i + 1],
				(s->n_plist - i - 1) * sizeof(*s->plist));
			s->n_plist--;
			if (s->pidx > i)
				s->pidx--;
			break;
		}
	}
	count_state(s, m, -1);
	member_free(s, m);
}

static void fill_view(const struct member *m, struct gsm_swim_member *v)
{
	memcpy(v->id, m->id, GSM_ID_LEN);
	v->state = m->state;
	v->is_self = m->is_self;
	v->generation = m->gen;
	v->incarnation = m->inc;
	v->version = m->adv_ver;
	v->advert_generation = m->adv_gen;
	v->addr = m->addr;
	v->advert = m->advert;
	v->advert_len = m->advert_len;
	v->state_changed_ms = m->changed_ms;
}

static void emit(struct gsm_swim *s, enum gsm_swim_event_type t, const struct member *m)
{
	struct gsm_swim_event ev;
	struct gsm_swim_member v;

	if (!s->env.event)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = t;
	if (m) {
		fill_view(m, &v);
		ev.member = &v;
	}
	s->env.event(s->env.ctx, &ev);
}

static void set_state(struct gsm_swim *s, struct member *m, uint8_t state)
{
	if (m->state == state)
		return;
	count_state(s, m, -1);
	m->state = state;
	count_state(s, m, +1);
	m->changed_ms = now_ms(s);
	if (state != GSM_STATE_SUSPECT)
		susp_remove(s, m);
}

static void fill_update(const struct gsm_swim *s, const struct member *m, struct gsm_update *u)
{
	memset(u, 0, sizeof(*u));
	memcpy(u->node, m->id, GSM_ID_LEN);
	u->state = m->state;
	u->generation = m->gen;
	u->incarnation = m->inc;
	u->addr = m->addr;
	if (m->state == GSM_STATE_SUSPECT && m->susp && m->susp->has_from) {
		u->has_from = 1;
		memcpy(u->from, m->susp->from, GSM_ID_LEN);
	}
	if (m->state == GSM_STATE_LEFT && m->leave_sig) {
		u->has_sig = 1;
		memcpy(u->sig, m->leave_sig, GSM_SIG_LEN);
	}
	(void)s;
}

/* ------------------------------------------------------------------ */
/* sending                                                             */

static void send_msg(struct gsm_swim *s, const struct gsm_addr *to, struct txbuf *tb)
{
	struct gsm_msg *m = &tb->m;
	uint8_t nonce[GSM_NONCE_LEN];
	size_t blen = 0, olen = 0;
	int r;

	if (!to || to->family == 0)
		return;
	memcpy(m->sender, s->self_id, GSM_ID_LEN);
	m->sender_gen = s->cfg.generation;
	/* piggybacking keeps datagrams within the MTU; only a single advert
	 * larger than the MTU (GSM_MAX_ADVERT allows 4 KiB) goes out in an
	 * oversize datagram, left to IP fragmentation */
	r = gsm_msg_encode(m, tb->body, GSM_MAX_DATAGRAM - GSM_ENVELOPE_OVERHEAD, &blen);
	if (r < 0) {
		slog(s, GSM_LOG_ERR, "encode %s: %s", gsm_msg_type_name(m->type), gsm_strerror(r));
		return;
	}
	s->env.random(s->env.ctx, nonce, sizeof(nonce));
	r = gsm_seal(s->kr, nonce, tb->body, blen, tb->out, sizeof(tb->out), &olen);
	if (r < 0) {
		slog(s, GSM_LOG_ERR, "seal: %s", gsm_strerror(r));
		return;
	}
	s->st.dgrams_sent++;
	s->st.bytes_sent += olen;
	s->env.send(s->env.ctx, to, tb->out, olen);
}

static size_t body_cap(const struct gsm_swim *s)
{
	return s->cfg.mtu - GSM_ENVELOPE_OVERHEAD;
}

/*
 * Fill the rest of m with pending updates and adverts.  buddy: a member
 * whose current update goes first (Lifeguard buddy rule / direct telling).
 */
static void pack(struct gsm_swim *s, struct gsm_msg *m, struct member *buddy)
{
	size_t cap = body_cap(s), base, room, used = 0, ushare;
	struct qitem *usel[GSM_MAX_UPDATES], *asel[GSM_MAX_ADVERTS];
	size_t nu = 0, na = 0;
	struct gsm_update tmp;

	if (!buddy && !s->uqueue.count && !s->aqueue.count)
		return; /* the common case in a quiet cluster */
	base = gsm_msg_encoded_size(m);
	if (base + PACK_SLACK >= cap)
		return;
	room = cap - base - PACK_SLACK;
	if (++s->pack_epoch == 0)
		s->pack_epoch = 1;
	for (size_t i = 0; i < m->n_updates; i++) {
		struct member *x = find(s, m->updates[i].node);

		if (x)
			x->mark = s->pack_epoch;
	}
	if (buddy && buddy->mark != s->pack_epoch) {
		fill_update(s, buddy, &tmp);
		size_t sz = gsm_update_encoded_size(&tmp);

		if (sz <= room && m->n_updates < GSM_MAX_UPDATES) {
			m->updates[m->n_updates++] = tmp;
			buddy->mark = s->pack_epoch;
			used += sz;
		}
	}
	ushare = s->aqueue.count ? room / 2 : room;
	/* phase 1: updates up to their share */
	for (int pass = 0; pass < 2; pass++) {
		size_t limit = pass == 0 ? ushare : room;

		for (int b = 0; b < MAX_BUCKETS && m->n_updates < GSM_MAX_UPDATES; b++) {
			for (struct qitem *it = s->uqueue.head[b]; it; it = it->next) {
				struct member *x = qitem_member_u(it);
				size_t sz;

				if (x->mark == s->pack_epoch)
					continue;
				fill_update(s, x, &tmp);
				sz = gsm_update_encoded_size(&tmp);
				if (used + sz > limit)
					goto next_phase;
				if (m->n_updates >= GSM_MAX_UPDATES || nu >= GSM_MAX_UPDATES)
					goto next_phase;
				m->updates[m->n_updates++] = tmp;
				x->mark = s->pack_epoch;
				usel[nu++] = it;
				used += sz;
			}
		}
next_phase:
		if (pass == 1)
			break;
		/* phase 2: adverts (each with its member's update) */
		for (int b = 0; b < MAX_BUCKETS && s->aqueue.count; b++) {
			int misses = 0;

			for (struct qitem *it = s->aqueue.head[b]; it; it = it->next) {
				struct member *x = qitem_member_a(it);
				size_t sz;
				int need_u;

				if (!x->advert || m->n_adverts >= GSM_MAX_ADVERTS)
					continue;
				need_u = x->mark != s->pack_epoch;
				sz = gsm_advert_ref_encoded_size(x->advert_len);
				if (need_u) {
					fill_update(s, x, &tmp);
					sz += gsm_update_encoded_size(&tmp);
				}
				if (sz > room && na == 0 && m->type == GSM_MSG_GOSSIP &&
				    !(need_u && m->n_updates >= GSM_MAX_UPDATES)) {
					/* never fits a datagram of MTU size: send it
					 * alone-ish in an oversize gossip datagram */
				} else if (used + sz > room ||
					   (need_u && m->n_updates >= GSM_MAX_UPDATES)) {
					if (++misses > 4)
						goto adverts_done;
					continue;
				}
				m->adverts[m->n_adverts].ptr = x->advert;
				m->adverts[m->n_adverts].len = x->advert_len;
				m->n_adverts++;
				if (need_u) {
					m->updates[m->n_updates++] = tmp;
					x->mark = s->pack_epoch;
				}
				asel[na++] = it;
				used += sz;
				if (na >= GSM_MAX_ADVERTS)
					goto adverts_done;
			}
		}
adverts_done:;
	}
	for (size_t i = 0; i < nu; i++)
		q_sent(s, &s->uqueue, usel[i]);
	for (size_t i = 0; i < na; i++)
		q_sent(s, &s->aqueue, asel[i]);
}

static struct txbuf *new_msg(uint8_t type)
{
	struct txbuf *tb = tx_get();

	if (tb)
		gsm_msg_init(&tb->m, type);
	return tb;
}

static const struct gsm_addr *wgobs_find(const struct gsm_swim *s, const uint8_t id[GSM_ID_LEN])
{
	for (size_t i = 0; i < s->n_wgobs; i++)
		if (!memcmp(s->wgobs[i].id, id, GSM_ID_LEN))
			return &s->wgobs[i].addr;
	return NULL;
}

static void send_ping(struct gsm_swim *s, struct member *target, uint32_t seq, int buddy)
{
	struct txbuf *tb = new_msg(GSM_MSG_PING);

	if (!tb)
		return;
	tb->m.seq = seq;
	tb->m.has_target = 1;
	memcpy(tb->m.target, target->id, GSM_ID_LEN);
	tb->m.target_addr = target->addr;
	if (s->n_wgobs) {
		const struct gsm_addr *w = wgobs_find(s, target->id);
		if (w)
			tb->m.wg_observed = *w;
	}
	pack(s, &tb->m, (buddy > 1 || (buddy && s->cfg.lifeguard)) &&
			       target->state == GSM_STATE_SUSPECT ? target : NULL);
	send_msg(s, &target->addr, tb);
	tx_put(tb);
}

/* GOSSIP datagram to addr, first carrying `first`'s update. */
static void send_gossip(struct gsm_swim *s, const struct gsm_addr *to, struct member *first)
{
	struct txbuf *tb = new_msg(GSM_MSG_GOSSIP);

	if (!tb)
		return;
	pack(s, &tb->m, first);
	if (tb->m.n_updates || tb->m.n_adverts)
		send_msg(s, to, tb);
	tx_put(tb);
}

/* ------------------------------------------------------------------ */
/* random member choice                                                */

static int eligible(const struct member *m)
{
	return !m->is_self && (m->state == GSM_STATE_ALIVE || m->state == GSM_STATE_SUSPECT) &&
	       m->addr.family != 0;
}

/* up to n distinct random eligible members, excluding `ex` (may be NULL);
 * alive_only: not suspects either (ping-req helpers, sync partners) */
static size_t pick_random_x(struct gsm_swim *s, struct member **out, size_t n, const uint8_t *ex,
			    int alive_only)
{
	size_t got = 0, np = s->n_plist;

	if (!np || !n)
		return 0;
	for (int tries = 0; tries < 8 * (int)n + 16 && got < n; tries++) {
		struct member *m = s->plist[rnd_below(s, np)];
		int dup = 0;

		if (!eligible(m) || (alive_only && m->state != GSM_STATE_ALIVE) ||
		    (ex && !memcmp(m->id, ex, GSM_ID_LEN)))
			continue;
		for (size_t i = 0; i < got; i++)
			dup |= out[i] == m;
		if (!dup)
			out[got++] = m;
	}
	if (got < n) {
		size_t start = rnd_below(s, np);

		for (size_t k = 0; k < np && got < n; k++) {
			struct member *m = s->plist[(start + k) % np];
			int dup = 0;

			if (!eligible(m) || (alive_only && m->state != GSM_STATE_ALIVE) ||
			    (ex && !memcmp(m->id, ex, GSM_ID_LEN)))
				continue;
			for (size_t i = 0; i < got; i++)
				dup |= out[i] == m;
			if (!dup)
				out[got++] = m;
		}
	}
	return got;
}

static size_t pick_random(struct gsm_swim *s, struct member **out, size_t n, const uint8_t *ex)
{
	return pick_random_x(s, out, n, ex, 0);
}

/* ------------------------------------------------------------------ */
/* applying updates and adverts                                        */

static void sync_soon(struct gsm_swim *s)
{
	uint64_t soon = now_ms(s) + jitter(s, 2ull * s->cfg.probe_interval_ms);

	s->sync_backoff = 0;
	if (!s->sync.active && s->next_sync > soon)
		s->next_sync = soon;
}

static int state_rank(uint8_t st)
{
	return st; /* ALIVE < SUSPECT < DEAD < LEFT */
}

static void start_suspicion(struct gsm_swim *s, struct member *m, const uint8_t *from)
{
	uint64_t now = now_ms(s);

	if (!m->susp) {
		m->susp = xcalloc(s, sizeof(*m->susp));
		if (!m->susp)
			return;
		if (grow(s, &s->susp, &s->cap_susp, s->n_susp + 1, sizeof(*s->susp))) {
			xfree(s, m->susp, sizeof(*m->susp));
			m->susp = NULL;
			return;
		}
		s->susp[s->n_susp++] = m;
	}
	memset(m->susp, 0, sizeof(*m->susp));
	m->susp->start = now;
	m->susp->deadline = now + suspicion_timeout(s, 0);
	if (from) {
		m->susp->has_from = 1;
		memcpy(m->susp->from, from, GSM_ID_LEN);
	}
}

/* Lifeguard: an independent confirmation shortens the timer. */
static int confirm_suspicion(struct gsm_swim *s, struct member *m, const uint8_t *from)
{
	struct suspicion *sp = m->susp;

	if (!sp || !from)
		return 0;
	if (sp->has_from && !memcmp(sp->from, from, GSM_ID_LEN) && sp->n_confirm == 0)
		return 0;
	for (int i = 0; i < sp->n_confirm; i++)
		if (!memcmp(sp->confirm[i], from, GSM_ID_LEN))
			return 0;
	if (sp->n_confirm >= MAX_CONFIRM || sp->n_confirm >= expected_confirmations(s))
		return 0;
	memcpy(sp->confirm[sp->n_confirm++], from, GSM_ID_LEN);
	sp->deadline = sp->start + suspicion_timeout(s, sp->n_confirm);
	sp->has_from = 1;
	memcpy(sp->from, from, GSM_ID_LEN);
	return 1;
}

static void refute(struct gsm_swim *s, uint64_t claimed_inc, const struct gsm_addr *tell)
{
	struct member *me = s->self;

	if (s->leaving)
		return;
	if (me->inc <= claimed_inc)
		me->inc = claimed_inc + 1;
	me->changed_ms = now_ms(s);
	enqueue(&s->uqueue, &me->uq);
	s->st.refutations++;
	awareness_delta(s, 1);
	emit(s, GSM_SWIM_EV_REFUTED, me);
	if (tell)
		send_gossip(s, tell, me);
}

static void request_adverts_from(struct gsm_swim *s, const struct gsm_addr *to,
				 struct gsm_digest_entry *want, size_t n);

static int is_reaped(const struct gsm_swim *s, const uint8_t *id, uint64_t gen)
{
	for (size_t i = 0; i < s->n_reaped; i++)
		if (gen <= s->reaped[i].gen && !memcmp(s->reaped[i].id, id, GSM_ID_LEN))
			return 1;
	return 0;
}

/* Apply one membership update.  via_sync: learned by anti-entropy, where a
 * DEAD claim about a member we hold ALIVE is only taken as SUSPECT (it must
 * get the chance to refute).  Returns 1 if accepted. */
static int apply_update(struct gsm_swim *s, const struct gsm_update *u, int via_sync,
			const struct gsm_addr *from_addr, int *need_advert)
{
	struct member *m;
	int accept = 0, was_new = 0;
	uint8_t st = u->state;
	uint8_t old;

	if (st > GSM_STATE_LEFT)
		return 0;
	if (u->node[0] == s->self_id[0] && !memcmp(u->node, s->self_id, GSM_ID_LEN)) {
		if (u->generation == s->cfg.generation && !s->leaving &&
		    (st == GSM_STATE_SUSPECT || st == GSM_STATE_DEAD) && u->incarnation >= s->self->inc)
			refute(s, u->incarnation, from_addr);
		else if (u->generation == s->cfg.generation && !s->leaving &&
			 (st == GSM_STATE_SUSPECT || st == GSM_STATE_DEAD) && from_addr)
			send_gossip(s, from_addr, s->self); /* stale claim: tell our current state */
		else if (u->generation > s->cfg.generation)
			slog(s, GSM_LOG_WARN, "peer claims a newer generation of us (%llu > %llu): "
			     "is this identity running twice?", (unsigned long long)u->generation,
			     (unsigned long long)s->cfg.generation);
		return 0;
	}
	if (st == GSM_STATE_LEFT) {
		uint8_t intent[GSM_LEAVE_INTENT_LEN];

		if (!u->has_sig)
			return 0;
		gsm_leave_intent(u->node, u->generation, u->incarnation, intent);
		if (s->cfg.verify_signatures && gsm_verify(u->node, intent, sizeof(intent), u->sig))
			return 0;
	}
	m = find(s, u->node);
	if (!m) {
		if (s->n_reaped && is_reaped(s, u->node, u->generation))
			return 0;
		/* never resurrect: unknown members enter in whatever state */
		m = member_add(s, u->node);
		if (!m)
			return 0;
		was_new = 1;
		m->gen = u->generation;
		m->inc = u->incarnation;
		accept = 1;
	} else {
		int c = cmp_order(u->generation, u->incarnation, m->gen, m->inc);

		if (u->generation > m->gen) {
			accept = 1;
		} else if (u->generation < m->gen) {
			accept = 0;
		} else if (m->state == GSM_STATE_LEFT) {
			accept = 0; /* LEFT is final within a generation */
		} else {
			switch (st) {
			case GSM_STATE_ALIVE:
				accept = c > 0;
				break;
			case GSM_STATE_SUSPECT:
				if (c > 0 || (c == 0 && m->state == GSM_STATE_ALIVE))
					accept = 1;
				else if (c == 0 && m->state == GSM_STATE_SUSPECT && u->has_from &&
					 confirm_suspicion(s, m, u->from)) {
					enqueue(&s->uqueue, &m->uq);
					return 0;
				}
				break;
			case GSM_STATE_DEAD:
				accept = c > 0 || (c == 0 && state_rank(m->state) < GSM_STATE_DEAD);
				if (accept && via_sync && m->state == GSM_STATE_ALIVE)
					st = GSM_STATE_SUSPECT;
				break;
			case GSM_STATE_LEFT:
				accept = c >= 0;
				break;
			}
		}
	}
	if (!accept)
		return 0;
	old = was_new ? 0xff : m->state;
	m->gen = u->generation;
	m->inc = u->incarnation;
	m->imported = 0;
	if (u->addr.family)
		m->addr = u->addr;
	if (was_new) {
		count_state(s, m, -1);
		m->state = st;
		count_state(s, m, +1);
		m->changed_ms = now_ms(s);
	} else {
		set_state(s, m, st);
	}
	if (st == GSM_STATE_SUSPECT) {
		if (old != GSM_STATE_SUSPECT || !m->susp)
			start_suspicion(s, m, u->has_from ? u->from : NULL);
	} else {
		susp_remove(s, m);
	}
	if (st == GSM_STATE_LEFT) {
		if (!m->leave_sig)
			m->leave_sig = xcalloc(s, GSM_SIG_LEN);
		if (m->leave_sig)
			memcpy(m->leave_sig, u->sig, GSM_SIG_LEN);
	}
	/* an advert older than the membership generation is stale */
	if (m->advert && m->adv_gen < m->gen && need_advert)
		*need_advert = 1;
	if (!m->advert && need_advert)
		*need_advert = 1;
	/* anti-entropy is pairwise: only bad news learned by sync is gossiped */
	if (!via_sync || st != GSM_STATE_ALIVE)
		enqueue(&s->uqueue, &m->uq);
	if (old == GSM_STATE_DEAD && st == GSM_STATE_ALIVE)
		sync_soon(s); /* a healed partition: its adverts may have moved on */
	if (m->advert && old != st) {
		switch (st) {
		case GSM_STATE_ALIVE:
			emit(s, GSM_SWIM_EV_ALIVE, m);
			break;
		case GSM_STATE_SUSPECT:
			emit(s, GSM_SWIM_EV_SUSPECT, m);
			break;
		case GSM_STATE_DEAD:
			emit(s, GSM_SWIM_EV_DEAD, m);
			break;
		case GSM_STATE_LEFT:
			emit(s, GSM_SWIM_EV_LEFT, m);
			break;
		}
	}
	return 1;
}

/* Accept a signed advert if it is newer and correctly signed.  Returns 1 if
 * accepted, 0 if not newer, <0 on error. */
static int apply_advert(struct gsm_swim *s, const uint8_t *adv, size_t len, int imported,
			int via_sync, const struct gsm_addr *addr)
{
	uint8_t id[GSM_ID_LEN];
	uint64_t g, v;
	struct member *m;
	int r, first;
	uint8_t *copy;

	if (len == 0 || len > GSM_MAX_ADVERT)
		return -EMSGSIZE;
	r = gsm_advert_peek(adv, len, id, &g, &v);
	if (r < 0)
		return r;
	if (!memcmp(id, s->self_id, GSM_ID_LEN))
		return 0;
	m = find(s, id);
	if (m && m->advert && cmp_order(g, v, m->adv_gen, m->adv_ver) <= 0)
		return 0;
	if (m && !m->advert && g < m->gen)
		return 0; /* older life than the state we hold */
	if (!m && s->n_reaped && is_reaped(s, id, g))
		return 0;
	if (s->cfg.verify_signatures) {
		r = gsm_advert_verify(adv, len);
		if (r < 0)
			return r;
	}
	copy = xcalloc(s, len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, adv, len);
	if (!m) {
		m = member_add(s, id);
		if (!m) {
			xfree(s, copy, len);
			return -ENOMEM;
		}
		m->gen = g;
		m->inc = 0;
		m->changed_ms = now_ms(s);
		m->imported = (uint8_t)imported;
		if (addr)
			m->addr = *addr;
	}
	first = m->advert == NULL;
	xfree(s, m->advert, m->advert_len);
	m->advert = copy;
	m->advert_len = (uint16_t)len;
	m->adv_gen = g;
	m->adv_ver = v;
	if (g > m->gen) {
		/* a new life of the member: alive at incarnation 0 */
		m->gen = g;
		m->inc = 0;
		set_state(s, m, GSM_STATE_ALIVE);
		if (!first && !via_sync)
			enqueue(&s->uqueue, &m->uq);
	}
	if (!imported && !via_sync) {
		enqueue(&s->aqueue, &m->aq);
		if (first)
			enqueue(&s->uqueue, &m->uq);
	}
	emit(s, first ? GSM_SWIM_EV_JOINED : GSM_SWIM_EV_UPDATED, m);
	return 1;
}

static int recently_requested(struct gsm_swim *s, const uint8_t *id, uint64_t now)
{
	for (int i = 0; i < RECENT_REQ; i++)
		if (s->recent_req_ms[i] && now - s->recent_req_ms[i] < s->cfg.probe_interval_ms * 2u &&
		    !memcmp(s->recent_req[i], id, GSM_ID_LEN))
			return 1;
	memcpy(s->recent_req[s->recent_req_i], id, GSM_ID_LEN);
	s->recent_req_ms[s->recent_req_i] = now;
	s->recent_req_i = (s->recent_req_i + 1) % RECENT_REQ;
	return 0;
}

/* Process the piggybacked updates and adverts of a received message. */
static void process_piggyback(struct gsm_swim *s, const struct gsm_msg *m,
			      const struct gsm_addr *from, int via_sync)
{
	struct gsm_digest_entry want[32];
	struct member *fix[32];
	size_t nw = 0, nf = 0;
	uint64_t now = now_ms(s);

	for (uint16_t i = 0; i < m->n_updates; i++) {
		const struct gsm_update *u = &m->updates[i];
		int need = 0;

		if (!apply_update(s, u, via_sync, from, &need) && via_sync && nf < 32 &&
		    u->state != GSM_STATE_ALIVE) {
			/* anti-entropy brought stale bad news (the peer missed a
			 * refutation or a restart): answer with what we know */
			struct member *x = find(s, u->node);

			if (x && !x->is_self && x->state == GSM_STATE_ALIVE &&
			    cmp_order(x->gen, x->inc, u->generation, u->incarnation) > 0)
				fix[nf++] = x;
		}
		if (need && nw < 32) {
			struct member *x = find(s, m->updates[i].node);

			if (x && since32(now, x->advreq_ms) >= s->cfg.probe_interval_ms * 2u) {
				x->advreq_ms = stamp32(now);
				memcpy(want[nw].node, x->id, GSM_ID_LEN);
				want[nw].generation = x->adv_gen;
				want[nw].version = x->adv_ver;
				nw++;
			}
		}
	}
	for (uint16_t i = 0; i < m->n_adverts; i++) {
		int r = apply_advert(s, m->adverts[i].ptr, m->adverts[i].len, 0, via_sync, NULL);

		if (r < 0)
			slog(s, GSM_LOG_DEBUG, "advert rejected: %s", gsm_strerror(r));
	}
	if (nw) {
		/* drop the ones that arrived with this very message */
		size_t k = 0;

		for (size_t i = 0; i < nw; i++) {
			struct member *x = find(s, want[i].node);

			if (x && (!x->advert || x->adv_gen < x->gen))
				want[k++] = want[i];
		}
		if (k)
			request_adverts_from(s, from, want, k);
	}
	for (size_t i = 0; i < nf;) {
		struct txbuf *tb = new_msg(GSM_MSG_SYNC_RESPONSE);
		size_t used, cap = body_cap(s) - PACK_SLACK;

		if (!tb)
			return;
		used = gsm_msg_encoded_size(&tb->m);
		while (i < nf) {
			struct gsm_update u;
			size_t sz;

			fill_update(s, fix[i], &u);
			sz = gsm_update_encoded_size(&u);
			if (used + sz > cap && tb->m.n_updates)
				break;
			tb->m.updates[tb->m.n_updates++] = u;
			used += sz;
			i++;
		}
		send_msg(s, from, tb);
		tx_put(tb);
	}
}

/* ------------------------------------------------------------------ */
/* anti-entropy                                                        */

static void request_adverts_from(struct gsm_swim *s, const struct gsm_addr *to,
				 struct gsm_digest_entry *want, size_t n)
{
	size_t i = 0;

	while (i < n) {
		struct txbuf *tb = new_msg(GSM_MSG_SYNC_REQUEST);
		size_t cap = body_cap(s) - PACK_SLACK;

		if (!tb)
			return;
		tb->m.seq = ++s->seq;
		while (i < n && tb->m.n_digest < GSM_MAX_DIGEST) {
			size_t base = gsm_msg_encoded_size(&tb->m);

			if (base + gsm_digest_entry_encoded_size(&want[i]) > cap && tb->m.n_digest)
				break;
			tb->m.digest[tb->m.n_digest++] = want[i++];
		}
		send_msg(s, to, tb);
		tx_put(tb);
	}
}

/* Send the adverts (and updates) of the given members to `to`, paged. */
static void send_adverts(struct gsm_swim *s, const struct gsm_addr *to, struct member **list,
			 size_t n)
{
	size_t i = 0;

	while (i < n) {
		struct txbuf *tb = new_msg(GSM_MSG_SYNC_RESPONSE);
		size_t cap = body_cap(s) - PACK_SLACK, used;
		struct gsm_update u;

		if (!tb)
			return;
		used = gsm_msg_encoded_size(&tb->m);
		while (i < n) {
			struct member *x = list[i];
			size_t sz = gsm_advert_ref_encoded_size(x->advert_len);

			fill_update(s, x, &u);
			sz += gsm_update_encoded_size(&u);
			if ((used + sz > cap && tb->m.n_adverts > 0) ||
			    tb->m.n_adverts >= GSM_MAX_ADVERTS || tb->m.n_updates >= GSM_MAX_UPDATES)
				break; /* (a lone advert larger than the MTU goes out oversize) */
			tb->m.adverts[tb->m.n_adverts].ptr = x->advert;
			tb->m.adverts[tb->m.n_adverts].len = x->advert_len;
			tb->m.n_adverts++;
			tb->m.updates[tb->m.n_updates++] = u;
			used += sz;
			i++;
		}
		if (tb->m.n_adverts)
			send_msg(s, to, tb);
		tx_put(tb);
	}
}

/* The sync summary (wire key 15): an order-independent hash of exactly
 * what the digest pages compare.  Per member with an advert: id, advert
 * (generation, version) and, for others in a state other than ALIVE, the
 * (state, generation, incarnation) that travels with the digest.  Each
 * entry is hashed with two fixed SipHash keys (128 bits) and the entries
 * are summed lane-wise mod 2^64 (unique ids: no cancellation as with XOR),
 * then the sums and the entry count are hashed once more.  Two views that a
 * paged sync would leave untouched hash equal; any difference it would
 * transfer changes an entry and so (but for a 2^-128 accident) the hash.
 * Differences the sync does not look at (ALIVE incarnations, members
 * without adverts) are left out on purpose, so they cannot force full
 * syncs.  O(N) per sync, no state to keep up to date. */
static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void view_hash(const struct gsm_swim *s, uint8_t out[SYNC_HASH_LEN])
{
	static const uint8_t k0[crypto_shorthash_KEYBYTES] = "gossamer-sync-a";
	static const uint8_t k1[crypto_shorthash_KEYBYTES] = "gossamer-sync-b";
	static const uint8_t kf[crypto_generichash_KEYBYTES] = "gossamer-sync-summary-v1";
	uint64_t acc[3] = { 0, 0, 0 };
	uint8_t fin[24];

	for (size_t i = 0; i < s->n_mem; i++) {
		const struct member *x = s->mem[i];
		uint8_t e[GSM_ID_LEN + 8 * 4 + 1], h[8];
		uint64_t v[4] = { x->adv_gen, x->adv_ver, 0, 0 };
		uint64_t a, b;

		if (!x->advert)
			continue;
		memcpy(e, x->id, GSM_ID_LEN);
		e[GSM_ID_LEN] = GSM_STATE_ALIVE;
		if (x->state != GSM_STATE_ALIVE && !x->is_self) {
			e[GSM_ID_LEN] = x->state;
			v[2] = x->gen;
			v[3] = x->inc;
		}
		for (int k = 0; k < 4; k++)
			for (int j = 0; j < 8; j++)
				e[GSM_ID_LEN + 1 + 8 * k + j] = (uint8_t)(v[k] >> (56 - 8 * j));
		crypto_shorthash(h, e, sizeof(e), k0);
		a = le64(h);
		crypto_shorthash(h, e, sizeof(e), k1);
		b = le64(h);
		acc[0] += a;
		acc[1] += b;
		acc[2]++;
	}
	for (int k = 0; k < 3; k++)
		for (int j = 0; j < 8; j++)
			fin[8 * k + j] = (uint8_t)(acc[k] >> (56 - 8 * j));
	crypto_generichash(out, SYNC_HASH_LEN, fin, sizeof(fin), kf, sizeof(kf));
}

static void sync_request_page(struct gsm_swim *s)
{
	struct txbuf *tb = new_msg(GSM_MSG_SYNC_REQUEST);

	if (!tb)
		return;
	s->sync.seq = ++s->seq;
	tb->m.seq = s->sync.seq;
	tb->m.flags = GSM_MF_REPLY;
	if (s->sync.has_cursor) {
		tb->m.has_cursor = 1;
		memcpy(tb->m.cursor, s->sync.cursor, GSM_ID_LEN);
	}
	if (s->sync.pages == 0 && !s->joined) {
		/* join: introduce ourselves (advert + alive update) */
		struct member *me = s->self;

		if (me->advert) {
			tb->m.adverts[0].ptr = me->advert;
			tb->m.adverts[0].len = me->advert_len;
			tb->m.n_adverts = 1;
		}
		fill_update(s, me, &tb->m.updates[0]);
		tb->m.n_updates = 1;
	} else if (s->sync.pages == 0 && !s->sync.has_cursor && s->cfg.sync_summary) {
		/* summary first: a peer holding the same view answers "in
		 * sync" and the session is one round trip (older peers skip
		 * key 15 and page through the digest as before) */
		view_hash(s, s->sync.hash);
		s->sync.has_hash = 1;
		tb->m.state_hash_len = SYNC_HASH_LEN;
		memcpy(tb->m.state_hash, s->sync.hash, SYNC_HASH_LEN);
	}
	s->sync.deadline = now_ms(s) + 3 * (uint64_t)s->cfg.probe_timeout_ms + s->cfg.probe_interval_ms;
	if (s->sync.pages == 0 && !s->joined)
		/* a join attempt: unanswered after the join backoff, the
		 * next one goes out (sync_finish) */
		s->sync.deadline = now_ms(s) + jitter(s, s->join_retry_ms);
	send_msg(s, &s->sync.addr, tb);
	tx_put(tb);
}

static void sync_start(struct gsm_swim *s, const struct gsm_addr *addr, const uint8_t *peer)
{
	memset(&s->sync, 0, sizeof(s->sync));
	s->sync.active = 1;
	s->sync.addr = *addr;
	if (peer) {
		s->sync.has_peer = 1;
		memcpy(s->sync.peer, peer, GSM_ID_LEN);
	}
	sync_request_page(s);
}

static void sync_finish(struct gsm_swim *s, int ok)
{
	uint64_t now = now_ms(s);

	if (ok) {
		s->last_sync = now ? now : 1;
		s->joined = 1;
		s->join_retry_ms = s->cfg.probe_interval_ms;
		s->st.syncs++;
		/* a sync that found differences brings the next one 4x
		 * closer (joins and churn: down to 2 probe intervals); one
		 * that found nothing doubles the wait up to the full interval */
		if (s->sync.changed)
			s->sync_backoff = s->sync_backoff >= 2 ? s->sync_backoff - 2 : 0;
		else if (s->sync_backoff < 16)
			s->sync_backoff++;
	}
	s->sync.active = 0;
	s->next_sync = now + next_sync_delay(s);
	if (!ok && !s->joined) {
		/* joining and that contact did not answer within the join
		 * backoff (1, 2, 4 ... probe intervals, up to the reconnect
		 * interval; reset by any answer).  Alone: try a seed again
		 * now.  Knowing live (e.g. imported) members: sync with one
		 * of them next (the sync timer runs before the reconnect
		 * timer), a seed after that */
		s->next_sync = now + s->cfg.probe_interval_ms;
		s->next_reconnect = s->n_alive + s->n_suspect ? now + s->cfg.probe_interval_ms : now;
		s->join_retry_ms = s->join_retry_ms * 2 > s->cfg.reconnect_interval_ms
					   ? s->cfg.reconnect_interval_ms
					   : s->join_retry_ms * 2;
		if (s->join_retry_ms < s->cfg.probe_interval_ms)
			s->join_retry_ms = s->cfg.probe_interval_ms;
	}
}

/* Responder: a page of our digest after the cursor. */
static void handle_digest_request(struct gsm_swim *s, const struct gsm_msg *rq,
				  const struct gsm_addr *from)
{
	struct txbuf *tb = new_msg(GSM_MSG_SYNC_DIGEST);
	size_t pos = 0, cap = body_cap(s) - PACK_SLACK, used;
	int found;

	if (!tb)
		return;
	tb->m.seq = rq->seq;
	tb->m.observed = *from;
	if (rq->state_hash_len == SYNC_HASH_LEN && !rq->has_cursor && s->cfg.sync_summary) {
		uint8_t h[SYNC_HASH_LEN];

		view_hash(s, h);
		if (!memcmp(h, rq->state_hash, SYNC_HASH_LEN)) {
			/* in sync: an empty last page echoing the summary */
			tb->m.state_hash_len = SYNC_HASH_LEN;
			memcpy(tb->m.state_hash, h, SYNC_HASH_LEN);
			send_msg(s, from, tb);
			tx_put(tb);
			return;
		}
	}
	if (rq->has_cursor) {
		pos = find_pos(s, rq->cursor, &found);
		if (found)
			pos++;
	}
	tb->m.has_cursor = 1;
	memset(tb->m.cursor, 0, GSM_ID_LEN);
	used = gsm_msg_encoded_size(&tb->m);
	for (; pos < s->n_mem; pos++) {
		struct member *x = s->mem[pos];
		struct gsm_digest_entry d;
		struct gsm_update u;
		size_t sz, usz = 0;
		int bad = 0;

		if (!x->advert)
			continue;
		memcpy(d.node, x->id, GSM_ID_LEN);
		d.generation = x->adv_gen;
		d.version = x->adv_ver;
		sz = gsm_digest_entry_encoded_size(&d);
		/* states other than ALIVE travel with the digest, so a node that
		 * missed a death (or a leave) learns it by anti-entropy too */
		if (x->state != GSM_STATE_ALIVE && !x->is_self) {
			bad = 1;
			fill_update(s, x, &u);
			usz = gsm_update_encoded_size(&u);
		}
		if (used + sz + usz > cap || tb->m.n_digest >= GSM_MAX_DIGEST ||
		    (bad && tb->m.n_updates >= GSM_MAX_UPDATES)) {
			tb->m.flags |= GSM_MF_MORE;
			break;
		}
		tb->m.digest[tb->m.n_digest++] = d;
		if (bad)
			tb->m.updates[tb->m.n_updates++] = u;
		memcpy(tb->m.cursor, x->id, GSM_ID_LEN);
		used += sz + usz;
	}
	s->st.digest_pages_sent++;
	send_msg(s, from, tb);
	tx_put(tb);
}

/* Responder: send adverts that are newer than the requester's. */
static void handle_advert_request(struct gsm_swim *s, const struct gsm_msg *rq,
				  const struct gsm_addr *from)
{
	struct member *list[GSM_MAX_DIGEST];
	size_t n = 0;

	for (uint16_t i = 0; i < rq->n_digest; i++) {
		const struct gsm_digest_entry *d = &rq->digest[i];
		struct member *x = find(s, d->node);

		if (!x || !x->advert)
			continue;
		if (cmp_order(x->adv_gen, x->adv_ver, d->generation, d->version) > 0)
			list[n++] = x;
	}
	send_adverts(s, from, list, n);
}

/* Initiator: send the peer our non-ALIVE states in [pos, end) that its page
 * did not carry identically (it may have missed a death or a leave). */
static void push_states(struct gsm_swim *s, const struct gsm_addr *to, const struct gsm_msg *page,
			size_t pos, size_t end)
{
	struct txbuf *tb = NULL;
	size_t cap = body_cap(s) - PACK_SLACK, used = 0;

	for (size_t p = pos; p < end && p < s->n_mem; p++) {
		struct member *x = s->mem[p];
		struct gsm_update u;
		int same = 0;
		size_t usz;

		if (!x->advert || x->is_self || x->state == GSM_STATE_ALIVE)
			continue;
		for (uint16_t k = 0; k < page->n_updates && !same; k++) {
			const struct gsm_update *pu = &page->updates[k];

			same = !memcmp(pu->node, x->id, GSM_ID_LEN) && pu->generation == x->gen &&
			       pu->incarnation == x->inc && pu->state == x->state;
		}
		if (same)
			continue;
		fill_update(s, x, &u);
		usz = gsm_update_encoded_size(&u);
		if (tb && (used + usz > cap || tb->m.n_updates >= GSM_MAX_UPDATES)) {
			send_msg(s, to, tb);
			tx_put(tb);
			tb = NULL;
		}
		if (!tb) {
			tb = new_msg(GSM_MSG_SYNC_RESPONSE);
			if (!tb)
				return;
			used = gsm_msg_encoded_size(&tb->m);
		}
		tb->m.updates[tb->m.n_updates++] = u;
		used += usz;
	}
	if (tb) {
		send_msg(s, to, tb);
		tx_put(tb);
	}
}

/* Initiator: a digest page arrived. */
static void handle_digest_page(struct gsm_swim *s, const struct gsm_msg *m,
			       const struct gsm_addr *from)
{
	struct sync_sess *ss = &s->sync;
	struct gsm_digest_entry *want;
	struct member **push;
	size_t nw = 0, np = 0, pos = 0, end;
	int found, more = !!(m->flags & GSM_MF_MORE);

	if (!ss->active || m->seq != ss->seq)
		return;
	if (ss->has_peer && memcmp(ss->peer, m->sender, GSM_ID_LEN))
		return;
	if (!ss->has_peer) {
		ss->has_peer = 1;
		memcpy(ss->peer, m->sender, GSM_ID_LEN);
	}
	if (!s->joined)
		s->join_retry_ms = s->cfg.probe_interval_ms; /* a contact answers */
	if (ss->pages == 0 && ss->has_hash && m->state_hash_len == SYNC_HASH_LEN &&
	    !memcmp(m->state_hash, ss->hash, SYNC_HASH_LEN) && !m->n_digest && !(m->flags & GSM_MF_MORE)) {
		/* the peer holds exactly our view: nothing to page through */
		ss->pages++;
		s->st.syncs_summary++;
		sync_finish(s, 1);
		return;
	}
	s->st.digest_pages_recv++;
	want = calloc(m->n_digest + 1, sizeof(*want));
	push = calloc(s->n_mem + 1, sizeof(*push));
	if (!want || !push)
		goto out;
	/* our members in (previous cursor, page cursor] (or to the end) */
	if (ss->has_cursor) {
		pos = find_pos(s, ss->cursor, &found);
		if (found)
			pos++;
	}
	if (more) {
		end = find_pos(s, m->cursor, &found);
		if (found)
			end++;
	} else {
		end = s->n_mem;
	}
	{
		size_t i = 0, p = pos;

		while (i < m->n_digest || p < end) {
			const struct gsm_digest_entry *d = i < m->n_digest ? &m->digest[i] : NULL;
			struct member *x = p < end ? s->mem[p] : NULL;
			int c;

			if (x && !x->advert) {
				p++;
				continue;
			}
			if (!d)
				c = -1;
			else if (!x)
				c = 1;
			else
				c = memcmp(x->id, d->node, GSM_ID_LEN);
			if (c < 0) {
				/* we have it, peer does not */
				if (!x->is_self || s->self->advert)
					push[np++] = x;
				p++;
			} else if (c > 0) {
				/* peer has it, we do not (and did not just reap it) */
				if (memcmp(d->node, s->self_id, GSM_ID_LEN) &&
				    !(s->n_reaped && is_reaped(s, d->node, d->generation))) {
					memcpy(want[nw].node, d->node, GSM_ID_LEN);
					want[nw].generation = 0;
					want[nw].version = 0;
					nw++;
				}
				i++;
			} else {
				int o = cmp_order(x->adv_gen, x->adv_ver, d->generation, d->version);

				if (o > 0)
					push[np++] = x;
				else if (o < 0 && !x->is_self) {
					memcpy(want[nw].node, d->node, GSM_ID_LEN);
					want[nw].generation = x->adv_gen;
					want[nw].version = x->adv_ver;
					nw++;
				}
				i++;
				p++;
			}
		}
	}
	if (nw)
		request_adverts_from(s, from, want, nw);
	if (np)
		send_adverts(s, from, push, np);
	push_states(s, from, m, pos, end);
	if (nw || np)
		ss->changed = 1;
	ss->pages++;
	if (more) {
		ss->has_cursor = 1;
		memcpy(ss->cursor, m->cursor, GSM_ID_LEN);
		sync_request_page(s);
	} else {
		sync_finish(s, 1);
	}
out:
	free(want);
	free(push);
}

/* ------------------------------------------------------------------ */
/* probing                                                             */

static void probe_finish(struct gsm_swim *s)
{
	struct probe *p = &s->probe;
	struct member *m;

	if (!p->active)
		return;
	p->active = 0;
	if (p->acked) {
		awareness_delta(s, p->direct_ok ? -1 : 0);
		return;
	}
	s->st.probes_failed++;
	if (p->expected_nacks > 0) {
		if (p->nacks < p->expected_nacks)
			awareness_delta(s, (int)(p->expected_nacks - p->nacks));
	} else {
		awareness_delta(s, 1);
	}
	m = find(s, p->target);
	if (!m || m->gen != p->gen || m->inc != p->inc)
		return;
	if (m->state == GSM_STATE_ALIVE) {
		struct gsm_update u;

		s->st.suspicions_raised++;
		fill_update(s, m, &u);
		u.state = GSM_STATE_SUSPECT;
		u.has_from = 1;
		memcpy(u.from, s->self_id, GSM_ID_LEN);
		apply_update(s, &u, 0, NULL, NULL);
	} else if (m->state == GSM_STATE_SUSPECT) {
		if (confirm_suspicion(s, m, s->self_id))
			enqueue(&s->uqueue, &m->uq);
	}
}

static struct member *next_probe_target(struct gsm_swim *s)
{
	for (size_t tries = 0; tries < s->n_plist; tries++) {
		struct member *m;

		if (s->pidx >= s->n_plist) {
			/* reshuffle (Fisher-Yates) */
			for (size_t i = s->n_plist; i > 1; i--) {
				size_t j = rnd_below(s, i);
				struct member *t = s->plist[i - 1];

				s->plist[i - 1] = s->plist[j];
				s->plist[j] = t;
			}
			s->pidx = 0;
		}
		m = s->plist[s->pidx++];
		if (eligible(m))
			return m;
	}
	return NULL;
}

static void probe_start(struct gsm_swim *s, uint64_t now)
{
	struct member *t = next_probe_target(s);
	struct probe *p = &s->probe;

	if (!t)
		return;
	memset(p, 0, sizeof(*p));
	p->active = 1;
	p->seq = ++s->seq;
	memcpy(p->target, t->id, GSM_ID_LEN);
	p->gen = t->gen;
	p->inc = t->inc;
	p->timeout_at = now + probe_timeout(s);
	s->st.probes++;
	send_ping(s, t, p->seq, 1);
}

static void probe_indirect(struct gsm_swim *s)
{
	struct probe *p = &s->probe;
	struct member *helpers[16], *t = find(s, p->target);
	size_t k = s->cfg.indirect_probes, n;

	p->indirect_sent = 1;
	if (!t)
		return;
	if (k > 16)
		k = 16;
	/* a second direct ping along with the ping-reqs: under random loss
	 * this alone cuts false suspicions about tenfold */
	send_ping(s, t, p->seq, 1);
	n = pick_random_x(s, helpers, k, p->target, 1);
	for (size_t i = 0; i < n; i++) {
		struct txbuf *tb = new_msg(GSM_MSG_PING_REQ);

		if (!tb)
			return;
		tb->m.seq = p->seq;
		tb->m.has_target = 1;
		memcpy(tb->m.target, t->id, GSM_ID_LEN);
		tb->m.target_addr = t->addr;
		pack(s, &tb->m, s->cfg.lifeguard && t->state == GSM_STATE_SUSPECT ? t : NULL);
		send_msg(s, &helpers[i]->addr, tb);
		tx_put(tb);
	}
	p->expected_nacks = s->cfg.lifeguard ? (uint32_t)n : 0;
}

/* ------------------------------------------------------------------ */
/* receive                                                             */

static void handle_ping(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from)
{
	struct txbuf *tb;

	if (s->leaving)
		return;
	if (m->has_target && memcmp(m->target, s->self_id, GSM_ID_LEN))
		return; /* probing someone who used to be at this address */
	tb = new_msg(GSM_MSG_ACK);
	if (!tb)
		return;
	tb->m.seq = m->seq;
	tb->m.observed = *from;
	if (s->n_wgobs && !m->has_origin) {
		const struct gsm_addr *w = wgobs_find(s, m->sender);
		if (w)
			tb->m.wg_observed = *w;
	}
	if (m->has_origin) {
		tb->m.has_origin = 1;
		memcpy(tb->m.origin, m->origin, GSM_ID_LEN);
	}
	pack(s, &tb->m, NULL);
	send_msg(s, from, tb);
	tx_put(tb);
}

static void handle_ping_req(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from)
{
	struct relay *r = NULL;
	struct txbuf *tb;
	uint64_t now = now_ms(s);

	if (!m->has_target || m->target_addr.family == 0)
		return;
	for (int i = 0; i < MAX_RELAYS; i++) {
		if (!s->relays[i].used) {
			r = &s->relays[i];
			break;
		}
	}
	if (!r) {
		r = &s->relays[0];
		for (int i = 1; i < MAX_RELAYS; i++)
			if (s->relays[i].nack_at < r->nack_at)
				r = &s->relays[i];
	}
	memset(r, 0, sizeof(*r));
	r->used = 1;
	r->seq = ++s->seq;
	r->origin_seq = m->seq;
	memcpy(r->origin, m->sender, GSM_ID_LEN);
	memcpy(r->target, m->target, GSM_ID_LEN);
	r->origin_addr = *from;
	r->nack_at = now + s->cfg.probe_timeout_ms * 8u / 10u;
	tb = new_msg(GSM_MSG_PING);
	if (!tb)
		return;
	tb->m.seq = r->seq;
	tb->m.has_target = 1;
	memcpy(tb->m.target, m->target, GSM_ID_LEN);
	tb->m.has_origin = 1;
	memcpy(tb->m.origin, m->sender, GSM_ID_LEN);
	{
		struct member *t = find(s, m->target);

		pack(s, &tb->m, t && s->cfg.lifeguard && t->state == GSM_STATE_SUSPECT ? t : NULL);
	}
	send_msg(s, &m->target_addr, tb);
	tx_put(tb);
}

/* key 14: the sender's WireGuard sees our WireGuard at this endpoint */
static void wg_observed_addr(struct gsm_swim *s, const struct gsm_msg *m)
{
	struct gsm_swim_event ev;
	uint64_t now = now_ms(s);

	if (m->wg_observed.family == 0 || (m->flags & GSM_MF_FORWARDED))
		return;
	if (gsm_addr_equal(&m->wg_observed, &s->last_wg_observed) &&
	    now - s->last_wg_observed_ms < OBS_REFRESH_MS)
		return;
	s->last_wg_observed = m->wg_observed;
	s->last_wg_observed_ms = now;
	if (!s->env.event)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = GSM_SWIM_EV_WG_OBSERVED;
	ev.observer = m->sender;
	ev.observed = m->wg_observed;
	s->env.event(s->env.ctx, &ev);
}

static void observed_addr(struct gsm_swim *s, const struct gsm_msg *m)
{
	struct gsm_swim_event ev;
	uint64_t now = now_ms(s);

	if (m->observed.family == 0)
		return;
	if (gsm_addr_equal(&m->observed, &s->last_observed) &&
	    now - s->last_observed_ms < OBS_REFRESH_MS)
		return;
	s->last_observed = m->observed;
	s->last_observed_ms = now;
	if (!s->env.event)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = GSM_SWIM_EV_OBSERVED;
	ev.observer = m->sender;
	ev.observed = m->observed;
	s->env.event(s->env.ctx, &ev);
}

static void handle_ack(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from)
{
	struct probe *p = &s->probe;

	if (!(m->flags & GSM_MF_FORWARDED))
		observed_addr(s, m);
	if (p->active && m->seq == p->seq) {
		if (m->flags & GSM_MF_FORWARDED) {
			if (m->has_target && !memcmp(m->target, p->target, GSM_ID_LEN))
				p->acked = 1;
		} else if (!memcmp(m->sender, p->target, GSM_ID_LEN)) {
			p->acked = 1;
			if (!p->indirect_sent)
				p->direct_ok = 1;
		}
		return;
	}
	for (int i = 0; i < MAX_RELAYS; i++) {
		struct relay *r = &s->relays[i];
		struct txbuf *tb;

		if (!r->used || r->seq != m->seq || memcmp(m->sender, r->target, GSM_ID_LEN))
			continue;
		r->used = 0;
		tb = new_msg(GSM_MSG_ACK);
		if (!tb)
			return;
		tb->m.seq = r->origin_seq;
		tb->m.flags = GSM_MF_FORWARDED;
		tb->m.has_target = 1;
		memcpy(tb->m.target, r->target, GSM_ID_LEN);
		pack(s, &tb->m, NULL);
		send_msg(s, &r->origin_addr, tb);
		tx_put(tb);
		return;
	}
	(void)from;
}

static void handle_nack(struct gsm_swim *s, const struct gsm_msg *m)
{
	struct probe *p = &s->probe;

	if (p->active && m->seq == p->seq)
		p->nacks++;
}

/* Sender liveness bookkeeping, and direct telling (partition healing). */
static void note_sender(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from)
{
	struct member *x = find(s, m->sender);
	uint64_t now = now_ms(s);

	if (!x) {
		if (m->type != GSM_MSG_SYNC_RESPONSE && m->type != GSM_MSG_LEAVE &&
		    !recently_requested(s, m->sender, now)) {
			struct gsm_digest_entry d;

			memcpy(d.node, m->sender, GSM_ID_LEN);
			d.generation = 0;
			d.version = 0;
			request_adverts_from(s, from, &d, 1);
		}
		return;
	}
	if (x->is_self)
		return;
	if (m->sender_gen > x->gen ||
	    (x->advert && m->sender_gen > x->adv_gen)) {
		if (since32(now, x->advreq_ms) >= s->cfg.probe_interval_ms * 2u) {
			struct gsm_digest_entry d;

			x->advreq_ms = stamp32(now);
			memcpy(d.node, x->id, GSM_ID_LEN);
			d.generation = x->adv_gen;
			d.version = x->adv_ver;
			request_adverts_from(s, from, &d, 1);
		}
		return;
	}
	if (m->sender_gen == x->gen &&
	    (x->state == GSM_STATE_SUSPECT || x->state == GSM_STATE_DEAD) &&
	    m->type != GSM_MSG_LEAVE && !s->leaving) {
		if (since32(now, x->told_ms) >= s->cfg.probe_interval_ms) {
			x->told_ms = stamp32(now);
			send_gossip(s, from, x);
		}
	}
}

int gsm_swim_recv(struct gsm_swim *s, const struct gsm_addr *from, const uint8_t *buf, size_t len)
{
	struct rxbuf *rb;
	size_t blen = 0;
	int r;

	if (!s || !from || !buf)
		return -EINVAL;
	s->st.dgrams_recv++;
	s->st.bytes_recv += len;
	rb = rx_get();
	if (!rb)
		return -ENOMEM;
	r = gsm_open(s->kr, buf, len, rb->body, sizeof(rb->body), &blen, NULL);
	if (r < 0)
		goto bad;
	r = gsm_msg_decode(rb->body, blen, &rb->m);
	if (r < 0)
		goto bad;
	if (!memcmp(rb->m.sender, s->self_id, GSM_ID_LEN)) {
		r = 0;
		goto out;
	}
	if (rb->m.type < GSM_MSG_PING || rb->m.type > GSM_MSG_TYPE_MAX) {
		r = 0; /* newer minor version: unknown type, ignore */
		goto out;
	}
	process_piggyback(s, &rb->m, from,
			  rb->m.type == GSM_MSG_SYNC_RESPONSE || rb->m.type == GSM_MSG_SYNC_DIGEST);
	note_sender(s, &rb->m, from);
	if (rb->m.wg_observed.family)
		wg_observed_addr(s, &rb->m);
	switch (rb->m.type) {
	case GSM_MSG_PING:
		handle_ping(s, &rb->m, from);
		break;
	case GSM_MSG_ACK:
		handle_ack(s, &rb->m, from);
		break;
	case GSM_MSG_PING_REQ:
		handle_ping_req(s, &rb->m, from);
		break;
	case GSM_MSG_NACK:
		handle_nack(s, &rb->m);
		break;
	case GSM_MSG_SYNC_DIGEST:
		observed_addr(s, &rb->m);
		handle_digest_page(s, &rb->m, from);
		break;
	case GSM_MSG_SYNC_REQUEST:
		if (rb->m.flags & GSM_MF_REPLY)
			handle_digest_request(s, &rb->m, from);
		else
			handle_advert_request(s, &rb->m, from);
		break;
	default:
		break; /* SYNC_RESPONSE, LEAVE, GOSSIP: piggyback only */
	}
	r = 0;
	goto out;
bad:
	s->st.dgrams_bad++;
out:
	rx_put(rb);
	return r;
}

/* ------------------------------------------------------------------ */
/* timers                                                              */

static int have_reconnect_candidates(const struct gsm_swim *s)
{
	return s->n_dead > 0 || s->n_seeds > 0;
}

static int seed_is_member(const struct gsm_swim *s, const struct gsm_addr *a)
{
	for (size_t i = 0; i < s->n_mem; i++) {
		struct member *x = s->mem[i];

		if (eligible(x) && gsm_addr_equal(&x->addr, a))
			return 1;
	}
	return 0;
}

/* Contact one seed that is not a live member, or one dead member. */
static void reconnect(struct gsm_swim *s, uint64_t now)
{
	size_t nd = 0, ns = 0, cand;
	uint64_t pick;
	uint8_t live_seed[64] = { 0 };

	for (size_t i = 0; i < s->n_mem; i++)
		if (s->mem[i]->state == GSM_STATE_DEAD && s->mem[i]->addr.family)
			nd++;
	for (size_t i = 0; i < s->n_seeds && i < 64; i++) {
		live_seed[i] = (uint8_t)seed_is_member(s, &s->seeds[i]);
		ns += !live_seed[i];
	}
	cand = nd + ns;
	if (!cand)
		return;
	/* while alone, always a seed */
	if (s->n_alive + s->n_suspect == 0 && ns)
		pick = nd + rnd_below(s, ns);
	else
		pick = rnd_below(s, cand);
	if (pick >= nd) {
		pick -= nd;
		for (size_t i = 0; i < s->n_seeds && i < 64; i++) {
			if (live_seed[i] || pick--)
				continue;
			if (!s->sync.active)
				sync_start(s, &s->seeds[i], NULL);
			return;
		}
		return;
	}
	for (size_t i = 0; i < s->n_mem; i++) {
		struct member *x = s->mem[i];

		if (x->state != GSM_STATE_DEAD || !x->addr.family)
			continue;
		if (pick-- == 0) {
			send_ping(s, x, ++s->seq, 0);
			return;
		}
	}
	(void)now;
}

static void reap(struct gsm_swim *s, uint64_t now)
{
	for (size_t i = 0; i < s->n_reaped;) {
		if (s->reaped[i].until <= now)
			s->reaped[i] = s->reaped[--s->n_reaped];
		else
			i++;
	}
	for (size_t i = 0; i < s->n_mem;) {
		struct member *x = s->mem[i];

		if (!x->is_self && (x->state == GSM_STATE_DEAD || x->state == GSM_STATE_LEFT) &&
		    now - x->changed_ms >= s->cfg.tombstone_ms) {
			if (!grow(s, &s->reaped, &s->cap_reaped, s->n_reaped + 1, sizeof(*s->reaped))) {
				struct reaped *r = &s->reaped[s->n_reaped++];

				memcpy(r->id, x->id, GSM_ID_LEN);
				r->gen = x->gen > x->adv_gen ? x->gen : x->adv_gen;
				r->until = now + s->cfg.tombstone_ms;
			}
			emit(s, GSM_SWIM_EV_REMOVED, x);
			member_remove(s, x);
			continue;
		}
		i++;
	}
}

void gsm_swim_tick(struct gsm_swim *s)
{
	uint64_t now;

	if (!s)
		return;
	now = now_ms(s);
	/* suspicion timers */
	for (size_t i = 0; i < s->n_susp;) {
		struct member *m = s->susp[i];

		if (m->susp && m->susp->deadline <= now && !m->susp->last_chance &&
		    m->addr.family) {
			/* Last chance before declaring it dead: ping it with its
			 * suspicion first.  If it is alive it answers (and tells us
			 * its newer incarnation if we missed its refutation); a
			 * dead member costs one more probe timeout. */
			m->susp->last_chance = 1;
			m->susp->deadline = now + 2ull * s->cfg.probe_timeout_ms;
			send_ping(s, m, ++s->seq, 2);
			send_ping(s, m, ++s->seq, 2);
			i++;
			continue;
		}
		if (m->susp && m->susp->deadline <= now) {
			struct gsm_update u;

			fill_update(s, m, &u);
			u.state = GSM_STATE_DEAD;
			u.has_from = 1;
			memcpy(u.from, s->self_id, GSM_ID_LEN);
			apply_update(s, &u, 0, NULL, NULL); /* removes from s->susp */
			if (i < s->n_susp && s->susp[i] == m)
				i++;
			continue;
		}
		i++;
	}
	/* ping-req relays: nack on timeout */
	for (int i = 0; i < MAX_RELAYS; i++) {
		struct relay *r = &s->relays[i];

		if (!r->used || r->nack_at > now)
			continue;
		r->used = 0;
		if (s->cfg.lifeguard) {
			struct txbuf *tb = new_msg(GSM_MSG_NACK);

			if (tb) {
				tb->m.seq = r->origin_seq;
				tb->m.has_target = 1;
				memcpy(tb->m.target, r->target, GSM_ID_LEN);
				send_msg(s, &r->origin_addr, tb);
				tx_put(tb);
			}
		}
	}
	if (!s->leaving) {
		/* probe */
		if (s->probe.active && !s->probe.acked && !s->probe.indirect_sent &&
		    now >= s->probe.timeout_at)
			probe_indirect(s);
		if (now >= s->next_probe) {
			probe_finish(s);
			probe_start(s, now);
			s->next_probe = now + probe_interval(s);
		}
		/* anti-entropy */
		if (s->sync.active && now >= s->sync.deadline)
			sync_finish(s, 0);
		if (!s->sync.active && now >= s->next_sync) {
			struct member *p;

			if (pick_random_x(s, &p, 1, NULL, 1) == 1)
				sync_start(s, &p->addr, p->id);
			else
				s->next_sync = now + next_sync_delay(s);
		}
		/* reconnect to seeds and dead members */
		if (now >= s->next_reconnect) {
			if (have_reconnect_candidates(s) && s->self->advert)
				reconnect(s, now);
			s->next_reconnect = now + jitter(s, s->cfg.reconnect_interval_ms);
		}
	}
	/* gossip round */
	if (now >= s->next_gossip) {
		if (s->uqueue.count || s->aqueue.count) {
			struct member *t[16];
			size_t k = s->cfg.gossip_fanout > 16 ? 16 : s->cfg.gossip_fanout, n;

			n = pick_random(s, t, k, NULL);
			for (size_t i = 0; i < n; i++) {
				send_gossip(s, &t[i]->addr, NULL);
				if (s->leaving)
					s->leave_sends++;
			}
		}
		s->next_gossip = now + (s->cfg.gossip_interval_ms ? s->cfg.gossip_interval_ms
								  : s->cfg.probe_interval_ms);
	}
	if (now >= s->next_reap) {
		if (s->n_dead || s->n_left || s->n_reaped)
			reap(s, now);
		s->next_reap = now + REAP_CHECK_MS;
	}
}

uint64_t gsm_swim_next_deadline(const struct gsm_swim *s)
{
	uint64_t d = s->next_gossip;

	if (!s->leaving) {
		if (s->next_probe < d)
			d = s->next_probe;
		if (s->probe.active && !s->probe.acked && !s->probe.indirect_sent &&
		    s->probe.timeout_at < d)
			d = s->probe.timeout_at;
		if (s->sync.active ? s->sync.deadline < d : s->next_sync < d)
			d = s->sync.active ? s->sync.deadline : s->next_sync;
		if (s->next_reconnect < d)
			d = s->next_reconnect;
	}
	for (size_t i = 0; i < s->n_susp; i++)
		if (s->susp[i]->susp && s->susp[i]->susp->deadline < d)
			d = s->susp[i]->susp->deadline;
	for (int i = 0; i < MAX_RELAYS; i++)
		if (s->relays[i].used && s->relays[i].nack_at < d)
			d = s->relays[i].nack_at;
	if ((s->n_dead || s->n_left || s->n_reaped) && s->next_reap < d)
		d = s->next_reap;
	return d;
}

/* ------------------------------------------------------------------ */
/* public API                                                          */

void gsm_swim_config_default(struct gsm_swim_config *c)
{
	memset(c, 0, sizeof(*c));
	c->generation = 1;
	c->probe_interval_ms = 1000;
	c->probe_timeout_ms = 500;
	c->indirect_probes = 3;
	c->suspicion_min_mult = 4;
	c->suspicion_max_mult = 6;
	c->retransmit_mult = 4;
	c->gossip_interval_ms = 200;
	c->gossip_fanout = 3;
	c->sync_interval_ms = 30000;
	c->mtu = GSM_DEFAULT_MTU;
	c->tombstone_ms = 24u * 3600u * 1000u;
	c->reconnect_interval_ms = 10000;
	c->awareness_max = 8;
	c->lifeguard = true;
	c->verify_signatures = true;
	c->sync_summary = true;
}

int gsm_swim_new(const struct gsm_swim_config *cfg, const struct gsm_identity *id,
		 const struct gsm_keyring *kr, const struct gsm_addr *self_addr,
		 const struct gsm_swim_env *env, struct gsm_swim **out)
{
	struct gsm_swim *s;
	uint8_t seed[32];
	uint64_t now;

	if (!cfg || !id || !kr || !env || !out || !env->now || !env->send || !env->random)
		return -EINVAL;
	if (cfg->mtu < 256 || cfg->mtu > GSM_MAX_DATAGRAM || cfg->probe_interval_ms == 0 ||
	    cfg->probe_timeout_ms == 0 || cfg->probe_timeout_ms > cfg->probe_interval_ms ||
	    cfg->generation == 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->mem_bytes = sizeof(*s);
	s->cfg = *cfg;
	if (s->cfg.suspicion_max_mult < 1)
		s->cfg.suspicion_max_mult = 1;
	if (s->cfg.retransmit_mult < 1)
		s->cfg.retransmit_mult = 1;
	s->id = id;
	s->kr = kr;
	s->env = *env;
	memcpy(s->self_id, gsm_identity_public(id), GSM_ID_LEN);
	env->random(env->ctx, seed, sizeof(seed));
	gsm_rng_seed(&s->rng, seed);
	s->self = member_add(s, s->self_id);
	if (!s->self) {
		gsm_swim_free(s);
		return -ENOMEM;
	}
	count_state(s, s->self, -1);
	s->self->is_self = 1;
	s->self->gen = cfg->generation;
	if (self_addr)
		s->self->addr = *self_addr;
	now = now_ms(s);
	s->self->changed_ms = now;
	s->next_probe = now + rnd_below(s, s->cfg.probe_interval_ms);
	s->next_gossip = now + rnd_below(s, s->cfg.gossip_interval_ms ? s->cfg.gossip_interval_ms
								      : s->cfg.probe_interval_ms);
	s->next_sync = now + next_sync_delay(s);
	s->next_reconnect = now + jitter(s, s->cfg.reconnect_interval_ms);
	s->next_reap = now + REAP_CHECK_MS;
	s->join_retry_ms = s->cfg.probe_interval_ms;
	*out = s;
	return 0;
}

void gsm_swim_free(struct gsm_swim *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_mem; i++)
		member_free(s, s->mem[i]);
	free(s->mem);
	free(s->keys);
	free(s->plist);
	free(s->susp);
	free(s->seeds);
	free(s->reaped);
	free(s->wgobs);
	free(s);
}

int gsm_swim_set_wg_observed(struct gsm_swim *s, const uint8_t id[GSM_ID_LEN],
			     const struct gsm_addr *addr)
{
	size_t i;

	if (!s || !id || !addr)
		return -EINVAL;
	for (i = 0; i < s->n_wgobs; i++)
		if (!memcmp(s->wgobs[i].id, id, GSM_ID_LEN))
			break;
	if (addr->family != 4 && addr->family != 6) {
		if (i < s->n_wgobs) {
			s->wgobs[i] = s->wgobs[s->n_wgobs - 1];
			s->n_wgobs--;
		}
		return 0;
	}
	if (i == s->n_wgobs) {
		if (s->n_wgobs == s->cap_wgobs) {
			size_t nc = s->cap_wgobs ? s->cap_wgobs * 2 : 8;
			struct wgobs *nw = realloc(s->wgobs, nc * sizeof(*nw));

			if (!nw)
				return -ENOMEM;
			s->wgobs = nw;
			s->cap_wgobs = nc;
		}
		memcpy(s->wgobs[i].id, id, GSM_ID_LEN);
		s->n_wgobs++;
	}
	s->wgobs[i].addr = *addr;
	return 0;
}

int gsm_swim_set_advert(struct gsm_swim *s, const uint8_t *adv, size_t len)
{
	uint8_t id[GSM_ID_LEN];
	uint64_t g, v;
	struct member *me;
	uint8_t *copy;
	int r, first;

	if (!s || !adv || !len || len > GSM_MAX_ADVERT)
		return -EINVAL;
	r = gsm_advert_peek(adv, len, id, &g, &v);
	if (r < 0)
		return r;
	me = s->self;
	if (memcmp(id, s->self_id, GSM_ID_LEN) || g != s->cfg.generation)
		return -EINVAL;
	if (me->advert && v <= me->adv_ver)
		return -ESTALE;
	r = gsm_advert_verify(adv, len);
	if (r < 0)
		return r;
	copy = xcalloc(s, len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, adv, len);
	first = me->advert == NULL;
	xfree(s, me->advert, me->advert_len);
	me->advert = copy;
	me->advert_len = (uint16_t)len;
	me->adv_gen = g;
	me->adv_ver = v;
	me->changed_ms = now_ms(s);
	enqueue(&s->aqueue, &me->aq);
	if (first)
		enqueue(&s->uqueue, &me->uq);
	return 0;
}

uint64_t gsm_swim_advert_version(const struct gsm_swim *s)
{
	return s && s->self->advert ? s->self->adv_ver : 0;
}

int gsm_swim_set_addr(struct gsm_swim *s, const struct gsm_addr *addr)
{
	if (!s || !addr)
		return -EINVAL;
	if (gsm_addr_equal(&s->self->addr, addr))
		return 0;
	s->self->addr = *addr;
	/* others must learn the new address: it travels in our update */
	s->self->inc++;
	enqueue(&s->uqueue, &s->self->uq);
	return 0;
}

int gsm_swim_import(struct gsm_swim *s, const uint8_t *adv, size_t len, const struct gsm_addr *addr)
{
	int r;

	if (!s || !adv)
		return -EINVAL;
	r = apply_advert(s, adv, len, 1, 0, addr);
	return r < 0 ? r : 0;
}

int gsm_swim_join(struct gsm_swim *s, const struct gsm_addr *seeds, size_t n)
{
	int contacted = 0;
	struct member *imp[3];
	size_t ni = 0;

	if (!s || (n && !seeds))
		return -EINVAL;
	if (!s->self->advert)
		return -EAGAIN;
	if (n) {
		struct gsm_addr *ns = realloc(s->seeds, (s->n_seeds + n) * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		s->seeds = ns;
		for (size_t i = 0; i < n; i++) {
			int dup = 0;

			for (size_t j = 0; j < s->n_seeds; j++)
				dup |= gsm_addr_equal(&s->seeds[j], &seeds[i]);
			if (!dup && seeds[i].family)
				s->seeds[s->n_seeds++] = seeds[i];
		}
	}
	/* the first seed drives a sync session; every other gets our advert */
	for (size_t i = 0; i < n; i++) {
		if (!seeds[i].family || gsm_addr_equal(&seeds[i], &s->self->addr))
			continue;
		if (!s->sync.active) {
			sync_start(s, &seeds[i], NULL);
		} else {
			/* GOSSIP, not SYNC_RESPONSE: the receiver must spread us */
			struct txbuf *tb = new_msg(GSM_MSG_GOSSIP);

			if (!tb)
				return -ENOMEM;
			tb->m.adverts[0].ptr = s->self->advert;
			tb->m.adverts[0].len = s->self->advert_len;
			tb->m.n_adverts = 1;
			fill_update(s, s->self, &tb->m.updates[0]);
			tb->m.n_updates = 1;
			send_msg(s, &seeds[i], tb);
			tx_put(tb);
		}
		contacted++;
	}
	/* a few imported members, for when every seed is down */
	for (size_t i = 0; i < s->n_mem && ni < 3; i++) {
		struct member *x = s->mem[(i + rnd_below(s, s->n_mem)) % s->n_mem];
		int dup = 0;

		for (size_t j = 0; j < ni; j++)
			dup |= imp[j] == x;
		if (!dup && x->imported && eligible(x))
			imp[ni++] = x;
	}
	for (size_t i = 0; i < ni; i++) {
		if (!s->sync.active) {
			sync_start(s, &imp[i]->addr, imp[i]->id);
		} else {
			/* GOSSIP, not SYNC_RESPONSE: the receiver must spread us */
			struct txbuf *tb = new_msg(GSM_MSG_GOSSIP);

			if (!tb)
				return -ENOMEM;
			tb->m.adverts[0].ptr = s->self->advert;
			tb->m.adverts[0].len = s->self->advert_len;
			tb->m.n_adverts = 1;
			fill_update(s, s->self, &tb->m.updates[0]);
			tb->m.n_updates = 1;
			send_msg(s, &imp[i]->addr, tb);
			tx_put(tb);
		}
		contacted++;
	}
	s->next_reconnect = now_ms(s) + jitter(s, s->cfg.reconnect_interval_ms);
	return contacted;
}

int gsm_swim_leave(struct gsm_swim *s)
{
	uint8_t intent[GSM_LEAVE_INTENT_LEN];
	struct member *me, *t[3];
	size_t n;
	int r;

	if (!s)
		return -EINVAL;
	if (s->leaving)
		return 0;
	me = s->self;
	gsm_leave_intent(s->self_id, me->gen, me->inc, intent);
	if (!me->leave_sig) {
		me->leave_sig = xcalloc(s, GSM_SIG_LEN);
		if (!me->leave_sig)
			return -ENOMEM;
	}
	r = gsm_sign(s->id, intent, sizeof(intent), me->leave_sig);
	if (r < 0)
		return r;
	s->leaving = 1;
	me->state = GSM_STATE_LEFT;
	me->changed_ms = now_ms(s);
	enqueue(&s->uqueue, &me->uq);
	/* A leave happens once: tell up to LEAVE_DIRECT members directly (all
	 * of them in clusters up to that size) besides gossiping it, so that
	 * no member depends on the epidemic tail to learn it. */
	{
		size_t live = s->n_alive + s->n_suspect, start = rnd_below(s, s->n_plist ? s->n_plist : 1);
		size_t sent = 0;

		for (size_t k = 0; k < s->n_plist && sent < LEAVE_DIRECT; k++) {
			struct member *x = s->plist[(start + k) % s->n_plist];
			struct txbuf *tb;

			if (!eligible(x))
				continue;
			tb = new_msg(GSM_MSG_LEAVE);
			if (!tb)
				return -ENOMEM;
			fill_update(s, me, &tb->m.updates[0]);
			tb->m.n_updates = 1;
			send_msg(s, &x->addr, tb);
			tx_put(tb);
			sent++;
		}
		/* every receiver re-gossips it: telling them all is enough */
		s->leave_sends += (uint32_t)(sent >= live ? 6 : sent);
	}
	(void)t;
	(void)n;
	return 0;
}

bool gsm_swim_leave_done(const struct gsm_swim *s)
{
	if (!s || !s->leaving)
		return false;
	if (s->n_alive + s->n_suspect == 0)
		return true;
	return s->leave_sends >= 6 || !s->self->uq.queued;
}

size_t gsm_swim_member_count(const struct gsm_swim *s)
{
	return s ? s->n_mem : 0;
}

int gsm_swim_foreach(const struct gsm_swim *s, int (*cb)(void *arg, const struct gsm_swim_member *m),
		     void *arg)
{
	struct gsm_swim_member v;

	for (size_t i = 0; i < s->n_mem; i++) {
		int r;

		fill_view(s->mem[i], &v);
		r = cb(arg, &v);
		if (r)
			return r;
	}
	return 0;
}

int gsm_swim_get(const struct gsm_swim *s, const uint8_t id[GSM_ID_LEN], struct gsm_swim_member *m)
{
	struct member *x = find(s, id);

	if (!x)
		return -ENOENT;
	fill_view(x, m);
	return 0;
}

void gsm_swim_stats(const struct gsm_swim *s, struct gsm_swim_stats *st)
{
	*st = s->st;
	st->alive = s->n_alive + 1;
	st->suspect = s->n_suspect;
	st->dead = s->n_dead;
	st->left = s->n_left;
	if (s->leaving) {
		st->alive--;
		st->left++;
	}
	st->total = (uint32_t)s->n_mem;
	st->pending_updates = s->uqueue.count + s->aqueue.count;
	st->last_sync_ms = s->last_sync;
	st->incarnation = s->self->inc;
	st->awareness = s->awareness;
	st->memory_bytes = s->mem_bytes;
}

bool gsm_swim_converged(const struct gsm_swim *s)
{
	uint64_t now = now_ms(s);

	if (s->uqueue.count || s->aqueue.count)
		return false;
	if (s->n_alive + s->n_suspect == 0)
		return true;
	return s->last_sync && now - s->last_sync <= gsm_swim_sync_interval(s);
}
