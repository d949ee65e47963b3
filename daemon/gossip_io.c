/*
 * daemon/gossip_io.c - the environment the gossip core runs in.
 *
 * The SWIM core (gossip/swim.h) is a pure state machine; this file gives it
 * a clock (uv_hrtime; CLOCK_REALTIME as the wall clock that stamps nonces
 * for the replay window), sockets (one UDP socket per bind address, sends with
 * uv_udp_try_send: a full socket buffer drops a datagram, which SWIM
 * tolerates), randomness (libsodium), a log and an event sink.  ONE timer
 * drives the core: after every call into it, gsd_kick() re-arms the timer
 * at gsm_swim_next_deadline().
 *
 * Events fan out to the other components: membership changes schedule a
 * WireGuard refresh (wgsync.c) and a members-file write (persist.c);
 * observations go to the NAT detection (advert.c); new claims on our IPv4
 * overlay address are noted for the collision check (advert.c).
 *
 * Refused datagrams go to reject.c (counted by reason, logged rate-limited).
 *
 * Seeds and `join`: "host[:port]" strings are resolved without blocking
 * the loop.  Literal addresses are used at once; host names go to
 * uv_getaddrinfo (libuv thread pool) and the join runs when every name of
 * the batch answered, with the addresses in the order given (the first
 * seed drives the initial sync).  A resolution still running at shutdown
 * is cancelled and its requester answered ESHUTDOWN.  Only the gossip
 * address pick at startup (gsd_pick_self_addr, before the loop runs)
 * resolves synchronously.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/daemon_int.h"
#include "daemon/log.h"
#include "gossip/crypto.h"

static void joins_note_answer(struct gsd_daemon *d, const struct gsm_addr *from);

/* ------------------------------------------------------------ core env */

static uint64_t env_now(void *ctx)
{
	(void)ctx;
	return gsd_now_ms();
}

/* the wall clock stamped into every nonce (the replay window) */
static uint64_t env_wall_ms(void *ctx)
{
	struct timespec ts;
	(void)ctx;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void env_send(void *ctx, const struct gsm_addr *to, const uint8_t *buf, size_t len)
{
	struct gsd_daemon *d = ctx;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct gsd_udp *u = NULL;
	for (int i = 0; i < d->n_udp; i++)
		if (d->udp[i].family == to->family) {
			u = &d->udp[i];
			break;
		}
	if (!u)
		return; /* no socket of that family */
	gsm_addr_to_sockaddr(to, &ss, &sl);
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	int r = uv_udp_try_send(&u->h, &b, 1, (const struct sockaddr *)&ss);
	if (r < 0 && r != UV_EAGAIN) {
		char a[64];
		gsd_format_addr(to, a, sizeof(a));
		gsd_debug("send to %s: %s", a, uv_strerror(r));
	}
}

static void env_random(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

static void env_log(void *ctx, enum gsm_swim_log_level level, const char *msg)
{
	(void)ctx;
	int l = level == GSM_LOG_ERR	? GSD_LOG_ERROR
		: level == GSM_LOG_WARN ? GSD_LOG_WARN
		: level == GSM_LOG_INFO ? GSD_LOG_INFO
					: GSD_LOG_DEBUG;
	if (l <= gsd_log_get_level())
		gsd_log(l, "gossip: %s", msg);
}

/* "name (short id)" from the member cache, or the short id alone */
static const char *member_name(struct gsd_daemon *d, const struct gsm_swim_member *m, char *buf,
			       size_t cap)
{
	const struct gsd_member *r = gsd_memcache_find(d->members, m->id);
	char sid[17];
	gsd_short_id(m->id, sid);
	if (r && r->has_advert)
		snprintf(buf, cap, "%s (%s)", r->name, sid);
	else
		snprintf(buf, cap, "%s", sid);
	return buf;
}

#define NAME(m) (gsd_log_get_level() >= GSD_LOG_INFO ? member_name(d, m, name, sizeof(name)) : "")

/* Keep the member cache in step with the core: every state or advert
 * event refreshes the member's record (decoding only a new advert
 * version); REMOVED forgets it once the event has been logged.  An
 * allocation failure leaves the old record; the next reconcile's resync
 * repairs it. */
static const struct gsd_member *cache_event(struct gsd_daemon *d, const struct gsm_swim_event *ev)
{
	switch (ev->type) {
	case GSM_SWIM_EV_JOINED:
	case GSM_SWIM_EV_UPDATED:
	case GSM_SWIM_EV_SUSPECT:
	case GSM_SWIM_EV_ALIVE:
	case GSM_SWIM_EV_DEAD:
	case GSM_SWIM_EV_LEFT:
	case GSM_SWIM_EV_REACHABLE:
	case GSM_SWIM_EV_CERT:
		if (gsd_memcache_update(d->members, ev->member) < 0)
			gsd_warn("member cache: %s", strerror(ENOMEM));
		return gsd_memcache_find(d->members, ev->member->id);
	default:
		return NULL;
	}
}

static void env_event(void *ctx, const struct gsm_swim_event *ev)
{
	struct gsd_daemon *d = ctx;
	char name[GSM_MAX_NAME + 24];
	const struct gsm_swim_member *m = ev->member;
	const struct gsd_member *rec = cache_event(d, ev);
	if (rec && (ev->type == GSM_SWIM_EV_JOINED || ev->type == GSM_SWIM_EV_UPDATED ||
		    ev->type == GSM_SWIM_EV_ALIVE))
		gsd_note_claim(d, rec);
	if (rec && (ev->type == GSM_SWIM_EV_JOINED || ev->type == GSM_SWIM_EV_UPDATED))
		gsd_authority_note_member(d, rec);
	switch (ev->type) {
	case GSM_SWIM_EV_JOINED:
		gsd_info("member %s joined", NAME(m));
		break;
	case GSM_SWIM_EV_UPDATED:
		gsd_debug("member %s updated its advert (version %llu)",
			  gsd_log_get_level() >= GSD_LOG_DEBUG
			      ? member_name(d, m, name, sizeof(name))
			      : "",
			  (unsigned long long)m->version);
		break;
	case GSM_SWIM_EV_SUSPECT:
		gsd_info("member %s is suspect", NAME(m));
		break;
	case GSM_SWIM_EV_ALIVE:
		gsd_info("member %s is alive", NAME(m));
		break;
	case GSM_SWIM_EV_DEAD:
		gsd_warn("member %s is dead", gsd_log_get_level() >= GSD_LOG_WARN
						  ? member_name(d, m, name, sizeof(name))
						  : "");
		break;
	case GSM_SWIM_EV_LEFT:
		gsd_info("member %s left", NAME(m));
		break;
	case GSM_SWIM_EV_REACHABLE: /* admission: may become a WireGuard peer now */
		gsd_debug("member %s answered a probe: reachable", NAME(m));
		break;
	case GSM_SWIM_EV_REMOVED:
		gsd_debug("member %s forgotten", gsd_log_get_level() >= GSD_LOG_DEBUG
						     ? member_name(d, m, name, sizeof(name))
						     : "");
		gsd_memcache_remove(d->members, m->id);
		break;
	case GSM_SWIM_EV_REFUTED:
		gsd_info("refuted a suspicion about ourselves");
		return;
	case GSM_SWIM_EV_OBSERVED:
		gsd_on_observed(d, ev->observer, &ev->observed);
		return;
	case GSM_SWIM_EV_WG_OBSERVED:
		gsd_on_wg_observed(d, ev->observer, &ev->observed);
		return;
	case GSM_SWIM_EV_CERT: /* status change: peers may come or go */
		gsd_authority_on_event(d, ev);
		break;
	case GSM_SWIM_EV_REVOCATION:
		gsd_authority_on_event(d, ev);
		return;
	}
	gsd_schedule_refresh(d);
	gsd_schedule_persist(d);
}

void gsd_io_env(struct gsd_daemon *d, struct gsm_swim_env *env)
{
	*env = (struct gsm_swim_env){
	    .ctx = d,
	    .now = env_now,
	    .send = env_send,
	    .random = env_random,
	    .event = env_event,
	    .log = env_log,
	    .wall_ms = env_wall_ms,
	};
}

/* ------------------------------------------------------------ tick and sockets */

static void on_tick(uv_timer_t *t)
{
	struct gsd_daemon *d = t->data;
	gsm_swim_tick(d->swim);
	gsd_kick(d);
}

void gsd_kick(struct gsd_daemon *d)
{
	if (!d->swim || d->stopping)
		return;
	uint64_t dl = gsm_swim_next_deadline(d->swim);
	uint64_t n = gsd_now_ms();
	uint64_t delay = dl > n ? dl - n : 0;
	if (delay > 60000)
		delay = 60000;
	uv_timer_start(&d->tick_timer, on_tick, delay, 0);
}

static void on_udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from,
			unsigned flags)
{
	struct gsd_udp *u = h->data;
	struct gsd_daemon *d = u->d;
	if (n <= 0 || !from || !d->swim)
		return;
	if (flags & UV_UDP_PARTIAL)
		return;
	struct gsm_addr a;
	gsm_addr_from_sockaddr(from, &a);
	int r = gsm_swim_recv(d->swim, &a, (const uint8_t *)buf->base, (size_t)n);
	if (r == 0 && d->joins)
		joins_note_answer(d, &a);
	if (r < 0)
		gsd_note_rejected(d, &a, (const uint8_t *)buf->base, (size_t)n, r);
	gsd_kick(d);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct gsd_udp *u = h->data;
	*buf = uv_buf_init((char *)u->d->rbuf, sizeof(u->d->rbuf));
}

int gsd_open_udp(struct gsd_daemon *d, char *msg, size_t msglen)
{
	struct gsm_addr binds[GSD_MAX_BINDS];
	int n = d->cfg.n_binds;
	bool defaults = n == 0;
	if (defaults) {
		gsd_parse_ip("0.0.0.0", &binds[0]);
		gsd_parse_ip("::", &binds[1]);
		n = 2;
	} else {
		memcpy(binds, d->cfg.binds, sizeof(binds[0]) * (size_t)n);
	}
	for (int i = 0; i < n; i++) {
		struct gsd_udp *u = &d->udp[d->n_udp];
		struct sockaddr_storage ss;
		socklen_t sl;
		binds[i].port = d->cfg.gossip_port;
		gsm_addr_to_sockaddr(&binds[i], &ss, &sl);
		uv_udp_init(d->loop, &u->h);
		u->h.data = u;
		u->d = d;
		u->family = binds[i].family;
		int r = uv_udp_bind(&u->h, (struct sockaddr *)&ss,
				    binds[i].family == 6 ? UV_UDP_IPV6ONLY : 0);
		if (r == 0)
			r = uv_udp_recv_start(&u->h, on_alloc, on_udp_recv);
		char a[64];
		gsd_format_addr(&binds[i], a, sizeof(a));
		if (r < 0) {
			uv_close((uv_handle_t *)&u->h, NULL);
			if (defaults && binds[i].family == 6 &&
			    (r == UV_EAFNOSUPPORT || r == UV_EADDRNOTAVAIL)) {
				gsd_warn("no IPv6 gossip socket: %s", uv_strerror(r));
				continue;
			}
			snprintf(msg, msglen, "gossip socket %s: %s", a, uv_strerror(r));
			return r;
		}
		/* generous buffers: bursts of sync pages at startup */
		int sz = 1 << 20;
		uv_send_buffer_size((uv_handle_t *)&u->h, &sz);
		sz = 1 << 20;
		uv_recv_buffer_size((uv_handle_t *)&u->h, &sz);
		gsd_debug("gossip on %s", a);
		d->n_udp++;
	}
	return 0;
}

/* ------------------------------------------------------------ pending joins */

static void on_join_closed(uv_handle_t *h)
{
	struct gsd_pending_join *pj = h->data;
	free(pj->addrs);
	free(pj->answered);
	free(pj);
}

static void join_finish(struct gsd_pending_join *pj, bool shutting_down)
{
	struct gsd_daemon *d = pj->d;
	if (pj->done)
		return;
	pj->done = true;
	for (struct gsd_pending_join **pp = &d->joins; *pp; pp = &(*pp)->next)
		if (*pp == pj) {
			*pp = pj->next;
			break;
		}
	if (shutting_down) {
		gsd_ctl_reply_err(pj->c, "ESHUTDOWN", "the daemon is stopping");
	} else {
		size_t answered = 0;
		for (size_t i = 0; i < pj->n; i++)
			answered += pj->answered[i];
		json_t *o = json_object();
		json_object_set_new(o, "contacted", json_integer(pj->contacted));
		json_object_set_new(o, "answered", json_integer((json_int_t)answered));
		gsd_ctl_reply_ok(pj->c, o);
	}
	uv_timer_stop(&pj->timer);
	uv_close((uv_handle_t *)&pj->timer, on_join_closed);
}

static void on_join_timeout(uv_timer_t *t)
{
	join_finish(t->data, false);
}

/* a valid datagram arrived from `from`: answers pending joins from it */
static void joins_note_answer(struct gsd_daemon *d, const struct gsm_addr *from)
{
	struct gsd_pending_join *pj = d->joins, *next;
	for (; pj; pj = next) {
		next = pj->next;
		bool hit = false;
		for (size_t i = 0; i < pj->n; i++)
			if (gsm_addr_equal(&pj->addrs[i], from)) {
				pj->answered[i] = true;
				hit = true;
			}
		if (hit)
			join_finish(pj, false);
	}
}

/* ------------------------------------------------------------ name resolution */

/* one "host[:port]" string of a batch and what it resolved to */
struct resolve_slot {
	uv_getaddrinfo_t req;
	struct gsd_resolve *rs;
	const char *str; /* for messages; points into the batch */
	struct gsm_addr *addrs;
	size_t n;
	uint16_t port;
	bool pending;
};

typedef void (*resolve_done_fn)(struct gsd_resolve *rs, const struct gsm_addr *addrs, size_t n);

/* A batch of strings resolved together; done() runs once, when every name
 * answered, with the addresses in the order of the strings (at most cap). */
struct gsd_resolve {
	struct gsd_daemon *d;
	struct resolve_slot *slots;
	char (*strs)[GSD_SEED_LEN];
	size_t n_slots, pending, cap;
	resolve_done_fn done;
	struct gsd_ctl_client *c; /* `join` command; NULL for the seeds */
	json_int_t wait_ms;	  /* `join` wait_ms */
	bool startup;		  /* seeds: log the first join */
	bool cancelled;		  /* shutting down: done() is not called */
	struct gsd_resolve *next;
};

static const struct addrinfo resolve_hints = {.ai_socktype = SOCK_DGRAM};

/* Literal: fills the slot, 1.  Name: host set, 0.  Malformed: warned, -1. */
static int slot_prepare(struct resolve_slot *sl, uint16_t defport, char *host, size_t hostcap)
{
	struct gsm_addr a;
	if (gsd_split_hostport(sl->str, host, hostcap, &sl->port, defport) < 0) {
		gsd_warn("seed %s: not HOST[:PORT]", sl->str);
		return -1;
	}
	if (gsd_parse_ip(host, &a) < 0)
		return 0;
	a.port = sl->port;
	sl->addrs[sl->n++] = a;
	return 1;
}

/* Take the resolver's answer (or report its failure) into the slot. */
static void slot_take(struct resolve_slot *sl, int status, const struct addrinfo *res, size_t cap)
{
	if (status < 0) {
		gsd_warn("seed %s: cannot resolve: %s", sl->str, uv_strerror(status));
		return;
	}
	for (const struct addrinfo *ai = res; ai && sl->n < cap; ai = ai->ai_next) {
		struct gsm_addr a;
		gsm_addr_from_sockaddr(ai->ai_addr, &a);
		a.port = sl->port;
		sl->addrs[sl->n++] = a;
	}
}

/* The slots' addresses in order, at most cap; *out malloc'd (may be
 * empty, never NULL on success).  -ENOMEM. */
static int slots_collect(const struct resolve_slot *slots, size_t n, size_t cap,
			 struct gsm_addr **out, size_t *k)
{
	*out = calloc(cap ? cap : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	*k = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < slots[i].n && *k < cap; j++)
			(*out)[(*k)++] = slots[i].addrs[j];
	return 0;
}

static void resolve_free(struct gsd_resolve *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; rs->slots && i < rs->n_slots; i++)
		free(rs->slots[i].addrs);
	free(rs->slots);
	free(rs->strs);
	free(rs);
}

static void resolve_finish(struct gsd_resolve *rs)
{
	struct gsd_daemon *d = rs->d;
	struct gsm_addr *addrs = NULL;
	size_t k = 0;
	for (struct gsd_resolve **pp = &d->resolving; *pp; pp = &(*pp)->next)
		if (*pp == rs) {
			*pp = rs->next;
			break;
		}
	if (!rs->cancelled) {
		if (slots_collect(rs->slots, rs->n_slots, rs->cap, &addrs, &k) == 0)
			rs->done(rs, addrs, k);
		else if (rs->c)
			gsd_ctl_reply_err(rs->c, "ENOMEM", "out of memory");
	}
	free(addrs);
	resolve_free(rs);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct resolve_slot *sl = req->data;
	struct gsd_resolve *rs = sl->rs;
	sl->pending = false;
	if (!rs->cancelled)
		slot_take(sl, status, res, rs->cap);
	uv_freeaddrinfo(res);
	if (--rs->pending == 0)
		resolve_finish(rs);
}

/* Start resolving rs->strs[0..n_slots).  Literals are taken at once; when
 * there is no name to wait for, done() runs before this returns.  On 0 rs
 * belongs to the resolver (freed after done()); on -ENOMEM nothing was
 * started and the caller frees rs. */
static int resolve_start(struct gsd_resolve *rs, uint16_t defport)
{
	struct gsd_daemon *d = rs->d;
	rs->slots = calloc(rs->n_slots ? rs->n_slots : 1, sizeof(*rs->slots));
	if (!rs->slots)
		return -ENOMEM;
	for (size_t i = 0; i < rs->n_slots; i++) {
		rs->slots[i].addrs = calloc(rs->cap ? rs->cap : 1, sizeof(*rs->slots[i].addrs));
		if (!rs->slots[i].addrs)
			return -ENOMEM; /* nothing started yet */
	}
	rs->pending = 1; /* held until every request is started */
	for (size_t i = 0; i < rs->n_slots; i++) {
		struct resolve_slot *sl = &rs->slots[i];
		char host[GSD_SEED_LEN];
		sl->rs = rs;
		sl->str = rs->strs[i];
		sl->req.data = sl;
		if (slot_prepare(sl, defport, host, sizeof(host)) != 0)
			continue;
		int r = uv_getaddrinfo(d->loop, &sl->req, on_resolved, host, NULL, &resolve_hints);
		if (r < 0) {
			slot_take(sl, r, NULL, 0);
			continue;
		}
		sl->pending = true;
		rs->pending++;
	}
	rs->next = d->resolving;
	d->resolving = rs;
	if (--rs->pending == 0)
		resolve_finish(rs);
	return 0;
}

/* A new batch for n strings (copied by the caller into rs->strs). */
static struct gsd_resolve *resolve_new(struct gsd_daemon *d, size_t n, size_t cap,
				       resolve_done_fn done)
{
	struct gsd_resolve *rs = calloc(1, sizeof(*rs));
	if (!rs)
		return NULL;
	rs->strs = calloc(n ? n : 1, GSD_SEED_LEN);
	if (!rs->strs) {
		free(rs);
		return NULL;
	}
	rs->d = d;
	rs->n_slots = n;
	rs->cap = cap;
	rs->done = done;
	return rs;
}

void gsd_io_stop(struct gsd_daemon *d)
{
	while (d->joins)
		join_finish(d->joins, true);
	for (struct gsd_resolve *rs = d->resolving; rs; rs = rs->next) {
		if (rs->cancelled)
			continue;
		rs->cancelled = true;
		if (rs->c)
			gsd_ctl_reply_err(rs->c, "ESHUTDOWN", "the daemon is stopping");
		rs->c = NULL;
		for (size_t i = 0; i < rs->n_slots; i++)
			if (rs->slots[i].pending)
				uv_cancel((uv_req_t *)&rs->slots[i].req);
	}
}

/* ------------------------------------------------------------ seeds */

static void seeds_resolved(struct gsd_resolve *rs, const struct gsm_addr *addrs, size_t n)
{
	struct gsd_daemon *d = rs->d;
	struct gsm_addr seeds[GSD_MAX_SEEDS * 2];
	/* do not contact ourselves */
	size_t k = 0;
	for (size_t i = 0; i < n && k < GSD_MAX_SEEDS * 2; i++) {
		bool self = false;
		for (int j = 0; j < d->cfg.n_binds; j++)
			self |= addrs[i].port == d->cfg.gossip_port &&
				!memcmp(addrs[i].ip, d->cfg.binds[j].ip, 16) &&
				addrs[i].family == d->cfg.binds[j].family;
		if (!self)
			seeds[k++] = addrs[i];
	}
	int r = gsm_swim_join(d->swim, seeds, k);
	gsd_kick(d);
	if (!rs->startup)
		return;
	if (r < 0)
		gsd_warn("join: %s", gsm_strerror(r));
	else if (d->cfg.n_seeds)
		gsd_info("joining: contacted %d address(es)", r);
}

int gsd_join_seeds(struct gsd_daemon *d, bool startup)
{
	size_t n = (size_t)d->cfg.n_seeds;
	struct gsd_resolve *rs = resolve_new(d, n, GSD_MAX_SEEDS * 2, seeds_resolved);
	if (!rs) {
		gsd_warn("join: %s", gsm_strerror(-ENOMEM));
		return -ENOMEM;
	}
	memcpy(rs->strs, d->cfg.seeds, n * GSD_SEED_LEN);
	rs->startup = startup;
	int r = resolve_start(rs, d->cfg.gossip_port);
	if (r < 0) {
		gsd_warn("join: %s", gsm_strerror(r));
		resolve_free(rs);
	}
	return r;
}

/* ------------------------------------------------------------ `join` */

/* the `join` command once its addresses are known */
static void join_cmd_resolved(struct gsd_resolve *rs, const struct gsm_addr *addrs, size_t k)
{
	struct gsd_daemon *d = rs->d;
	struct gsd_ctl_client *c = rs->c;
	if (k == 0) {
		gsd_ctl_reply_err(c, "EHOSTUNREACH", "join: no address could be resolved");
		return;
	}
	int r = gsm_swim_join(d->swim, addrs, k);
	gsd_kick(d);
	if (r < 0) {
		gsd_ctl_reply_err(c, gsd_errno_name(r), "join: %s", gsm_strerror(r));
		return;
	}
	if (rs->wait_ms <= 0) {
		json_t *o = json_object();
		json_object_set_new(o, "contacted", json_integer(r));
		gsd_ctl_reply_ok(c, o);
		return;
	}
	struct gsd_pending_join *pj = calloc(1, sizeof(*pj));
	struct gsm_addr *res = calloc(k, sizeof(*res));
	bool *ans = calloc(k, sizeof(bool));
	if (!pj || !ans || !res) {
		free(pj);
		free(ans);
		free(res);
		gsd_ctl_reply_err(c, "ENOMEM", "out of memory");
		return;
	}
	memcpy(res, addrs, k * sizeof(*res));
	pj->d = d;
	pj->c = c;
	pj->addrs = res;
	pj->answered = ans;
	pj->n = k;
	pj->contacted = r;
	pj->next = d->joins;
	d->joins = pj;
	uv_timer_init(d->loop, &pj->timer);
	pj->timer.data = pj;
	uv_timer_start(&pj->timer, on_join_timeout, (uint64_t)rs->wait_ms, 0);
}

void gsd_cmd_join(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	json_t *addrs = json_object_get(req, "addrs");
	if (!json_is_array(addrs) || json_array_size(addrs) == 0) {
		gsd_ctl_reply_err(c, "EINVAL",
				  "join needs \"addrs\": a non-empty array of \"host:port\"");
		return;
	}
	size_t n = json_array_size(addrs);
	if (n > GSD_MAX_SEEDS)
		n = GSD_MAX_SEEDS;
	struct gsd_resolve *rs = resolve_new(d, n, n * 4, join_cmd_resolved);
	if (!rs) {
		gsd_ctl_reply_err(c, "ENOMEM", "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(addrs, i));
		char host[GSD_SEED_LEN];
		uint16_t port;
		if (!s || strlen(s) >= GSD_SEED_LEN ||
		    gsd_split_hostport(s, host, sizeof(host), &port, d->cfg.gossip_port) < 0) {
			gsd_ctl_reply_err(c, "EINVAL", "join: %s is not \"host:port\"",
					  s ? s : "(not a string)");
			resolve_free(rs);
			return;
		}
		snprintf(rs->strs[i], GSD_SEED_LEN, "%s", s);
	}
	json_t *wait = json_object_get(req, "wait_ms");
	if (wait && json_is_integer(wait) && json_integer_value(wait) > 0)
		rs->wait_ms = json_integer_value(wait) > 60000 ? 60000 : json_integer_value(wait);
	rs->c = c;
	if (resolve_start(rs, d->cfg.gossip_port) < 0) {
		resolve_free(rs);
		gsd_ctl_reply_err(c, "ENOMEM", "out of memory");
	}
}

/* ------------------------------------------------------------ own address */

/* Resolve the first seeds synchronously (startup only, before uv_run). */
static size_t resolve_seeds_now(struct gsd_daemon *d, size_t n, struct gsm_addr *out, size_t cap)
{
	struct resolve_slot sl;
	struct gsm_addr buf[4];
	size_t k = 0;
	for (size_t i = 0; i < n && k < cap; i++) {
		char host[GSD_SEED_LEN];
		memset(&sl, 0, sizeof(sl));
		sl.str = d->cfg.seeds[i];
		sl.addrs = buf;
		int r = slot_prepare(&sl, d->cfg.gossip_port, host, sizeof(host));
		if (r == 0) {
			r = uv_getaddrinfo(d->loop, &sl.req, NULL, host, NULL, &resolve_hints);
			slot_take(&sl, r, r < 0 ? NULL : sl.req.addrinfo,
				  cap - k < 4 ? cap - k : 4);
			if (r == 0)
				uv_freeaddrinfo(sl.req.addrinfo);
		}
		for (size_t j = 0; j < sl.n && k < cap; j++)
			out[k++] = sl.addrs[j];
	}
	return k;
}

/* The gossip address others should use: a specific bind address, else the
 * source address the kernel picks toward the first seed, else the first
 * configured endpoint, else any global address of this host. */
void gsd_pick_self_addr(struct gsd_daemon *d, struct gsm_addr *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < d->cfg.n_binds; i++) {
		static const uint8_t zero[16];
		if (memcmp(d->cfg.binds[i].ip, zero, 16)) {
			*out = d->cfg.binds[i];
			goto done;
		}
	}
	struct gsm_addr seeds[4];
	size_t n = resolve_seeds_now(d, d->cfg.n_seeds < 4 ? (size_t)d->cfg.n_seeds : 4, seeds, 4);
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss, local;
		socklen_t sl, ll = sizeof(local);
		gsm_addr_to_sockaddr(&seeds[i], &ss, &sl);
		int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)&ss, sl) == 0 &&
		    getsockname(fd, (struct sockaddr *)&local, &ll) == 0) {
			close(fd);
			gsm_addr_from_sockaddr((struct sockaddr *)&local, out);
			goto done;
		}
		close(fd);
	}
	if (d->cfg.n_endpoints) {
		*out = d->cfg.endpoints[0];
		goto done;
	}
	struct ifaddrs *ifa = NULL;
	if (getifaddrs(&ifa) == 0) {
		for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
				continue;
			/* an underlay address: not loopback (a pod or service
			 * address on lo is not reachable from other hosts), not
			 * a down interface, not the mesh interface itself */
			if ((i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP) ||
			    !strcmp(i->ifa_name, d->cfg.interface))
				continue;
			struct gsm_addr x;
			gsm_addr_from_sockaddr(i->ifa_addr, &x);
			if (x.ip[0] == 127)
				continue;
			*out = x;
			break;
		}
		freeifaddrs(ifa);
	}
	if (!out->family)
		gsd_parse_ip("127.0.0.1", out);
done:
	out->port = d->cfg.gossip_port;
}
