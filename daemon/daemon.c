/*
 * daemon/daemon.c - the gossamerd runtime.
 *
 * One libuv loop drives everything: UDP gossip sockets (one per bind
 * address, IPv4 and IPv6), ONE timer feeding the SWIM core (re-armed after
 * every call into it from gsm_swim_next_deadline), a debounced "refresh"
 * timer that turns membership changes into WireGuard changes, a debounced
 * persistence timer, the control socket and the signals.  The gossip core is
 * a pure state machine (gossip/swim.h); this file is the environment it
 * runs in: clock, sockets, randomness, events.
 *
 * Startup order is chosen so that a bad configuration changes nothing:
 * flags + file -> validation -> cluster key ring -> backend probe -> state
 * directory and keys -> generation bump -> sockets -> control socket ->
 * WireGuard interface (created or adopted) -> persisted members imported ->
 * first reconcile (re-applies the last WireGuard state without touching
 * unchanged peers) -> join.  Everything before the sockets exits with code 2
 * and a one-line message.
 *
 * Robustness choices: tunnels outlive the control plane.  Peers of dead
 * members stay for dead_grace and while their handshake is fresh; peers
 * present on the interface but unknown to a freshly restarted daemon are
 * kept until the first anti-entropy sync completes (or dead_grace passes),
 * so a restart never flushes working tunnels.  SIGTERM/SIGINT gossip a
 * signed leave (bounded to 2 s) and exit 0; the interface is left in place
 * (a restart adopts it).  SIGHUP and the `reload` command re-read the file
 * and re-apply the same flags; what cannot change live is reported.
 *
 * IPv4 overlay collisions are checked on every refresh against the other
 * members' adverts; the loser (higher node id) moves to its next derived
 * address and re-advertises (see overlay.c).
 */
#include "daemon/daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <jansson.h>
#include <netdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "daemon/backend.h"
#include "daemon/config.h"
#include "daemon/control.h"
#include "daemon/log.h"
#include "daemon/nat.h"
#include "daemon/overlay.h"
#include "daemon/reconcile.h"
#include "daemon/state.h"
#include "gossip/crypto.h"
#include "gossip/swim.h"

#define LEAVE_BOUND_MS      2000
#define PERSIST_DEBOUNCE_MS 5000
#define PERIODIC_MS         10000
#define MAX_OBSERVED        4

struct gsd_udp {
	uv_udp_t h;
	int family; /* 4 or 6 */
	struct gsd_daemon *d;
};

struct pending_leave {
	struct gsd_ctl_client *c;
	struct pending_leave *next;
};

/* a `join` with wait_ms: answered when a contacted seed answers */
struct pending_join {
	uv_timer_t timer;
	struct gsd_daemon *d;
	struct gsd_ctl_client *c;
	struct gsm_addr *addrs;
	bool *answered;
	size_t n;
	int contacted;
	struct pending_join *next;
	bool done;
};

struct gsd_daemon {
	uv_loop_t *loop;
	struct gsd_cli cli;
	struct gsd_config cfg;
	struct gsd_keys keys;
	struct gsm_keyring *kr;
	uint64_t generation;
	struct gsm_swim *swim;
	struct gsd_backend *be;
	enum gsd_backend_kind backend_kind;
	struct gsd_control *ctl;
	struct gsd_nat *nat;   /* NAT traversal planner (real backends only) */
	uv_timer_t nat_timer;  /* plan again at the planner's deadline */
	uv_timer_t grace_timer; /* reconcile when a dead/left grace expires */
	struct rxmark *rx;     /* per WireGuard key: rx bytes, when they grew */
	size_t n_rx;

	struct gsd_udp udp[GSD_MAX_BINDS];
	int n_udp;
	uv_timer_t tick_timer, refresh_timer, persist_timer, periodic_timer, leave_timer,
		exit_timer;
	uv_signal_t sig_term, sig_int, sig_hup;

	/* own advert */
	struct gsm_advert adv;
	uint64_t adv_version;
	bool have_v4;
	struct gsm_prefix v4;          /* our IPv4 overlay address (/32) */
	struct gsm_prefix v6;          /* our IPv6 overlay address (/128) */
	struct gsm_prefix v6_prefix;   /* the IPv6 overlay prefix in use */
	struct gsm_endpoint observed[MAX_OBSERVED];
	int n_observed;
	bool behind_nat;
	bool static_conflict_logged;
	bool v4_conflict; /* a member with a lower id claims our IPv4 */
	bool relay_via_set;
	uint8_t relay_via[GSM_ID_LEN];
	/* gossip address learned through NAT (note_gossip_observed) */
	struct gsm_addr nat_gaddr;
	bool nat_gaddr_set, nat_port_varies;

	/* startup hold-off: keep unknown peers until a sync completed */
	uint64_t start_ms;
	int64_t start_unix;
	bool holdoff;

	bool leaving, stopping;
	uint64_t leave_deadline;
	struct pending_leave *leave_waiters;
	struct pending_join *joins;
	int exit_code;

	uint8_t rbuf[GSM_MAX_DATAGRAM + 64];
	uint64_t reconciles, wg_changes;
};

static uint64_t now_ms(void)
{
	return uv_hrtime() / 1000000u;
}

static int64_t now_unix(void)
{
	return (int64_t)time(NULL);
}

static int64_t ms_to_unix(const struct gsd_daemon *d, uint64_t ms)
{
	if (!ms)
		return 0;
	uint64_t n = now_ms();
	return now_unix() - (int64_t)((n > ms ? n - ms : 0) / 1000);
}

static void hex_id(const uint8_t id[GSM_ID_LEN], char out[2 * GSM_ID_LEN + 1])
{
	sodium_bin2hex(out, 2 * GSM_ID_LEN + 1, id, GSM_ID_LEN);
}

static void short_id(const uint8_t id[GSM_ID_LEN], char out[17])
{
	sodium_bin2hex(out, 17, id, 8);
}

static void b64_key(const uint8_t k[32], char out[45])
{
	sodium_bin2base64(out, 45, k, 32, sodium_base64_VARIANT_ORIGINAL);
}

/* ------------------------------------------------------------ core env */

static void kick(struct gsd_daemon *d);
static void join_finish(struct pending_join *pj, bool shutting_down);
static void joins_note_answer(struct gsd_daemon *d, const struct gsm_addr *from);
static void schedule_refresh(struct gsd_daemon *d);
static void schedule_persist(struct gsd_daemon *d);

static uint64_t env_now(void *ctx)
{
	(void)ctx;
	return now_ms();
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
	int l = level == GSM_LOG_ERR ? GSD_LOG_ERROR
		: level == GSM_LOG_WARN ? GSD_LOG_WARN
		: level == GSM_LOG_INFO ? GSD_LOG_INFO : GSD_LOG_DEBUG;
	if (l <= gsd_log_get_level())
		gsd_log(l, "gossip: %s", msg);
}

static const char *member_name(const struct gsm_swim_member *m, char *buf, size_t cap)
{
	struct gsm_advert *a = NULL;
	char sid[17];
	short_id(m->id, sid);
	if (m->advert) {
		a = malloc(sizeof(*a));
		if (a && gsm_advert_decode(m->advert, m->advert_len, a) == 0) {
			snprintf(buf, cap, "%s (%s)", a->name, sid);
			free(a);
			return buf;
		}
		free(a);
	}
	snprintf(buf, cap, "%s", sid);
	return buf;
}

static void advert_refresh(struct gsd_daemon *d, const char *why);

static bool ip_is_local(const struct gsm_addr *a)
{
	struct ifaddrs *ifa = NULL, *i;
	bool found = false;
	if (getifaddrs(&ifa) < 0)
		return true; /* cannot tell: assume no NAT */
	for (i = ifa; i && !found; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		struct gsm_addr x;
		if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)
			continue;
		gsm_addr_from_sockaddr(i->ifa_addr, &x);
		found = x.family == a->family && !memcmp(x.ip, a->ip, a->family == 4 ? 4 : 16);
	}
	freeifaddrs(ifa);
	return found;
}

/* Our gossip address behind NAT.  The configured/LAN address is useless to
 * the others, so the first address a peer observes for our gossip socket
 * becomes our SWIM address: with a port-preserving (endpoint-independent)
 * NAT it reaches us from every member we have sent to lately (the home
 * router lets the replies of those flows in), so probes stop failing.  A
 * later observation with another IP means we moved (new NAT, new public
 * IP): follow it.  The same IP with another port means the NAT picks a
 * port per destination (symmetric): no address fits everyone, keep the one
 * we have rather than churning our incarnation. */
static void note_gossip_observed(struct gsd_daemon *d, const struct gsm_addr *obs, bool local)
{
	if (local || d->cfg.public_node || !d->swim || (obs->family != 4 && obs->family != 6))
		return;
	char a[64];
	gsd_format_addr(obs, a, sizeof(a));
	if (d->nat_gaddr_set && gsm_addr_equal(&d->nat_gaddr, obs))
		return;
	if (d->nat_gaddr_set && d->nat_gaddr.family == obs->family &&
	    !memcmp(d->nat_gaddr.ip, obs->ip, obs->family == 4 ? 4 : 16)) {
		if (!d->nat_port_varies)
			gsd_info("NAT maps our gossip port per destination (seen as %s too): "
				 "keeping gossip address", a);
		d->nat_port_varies = true;
		return;
	}
	if (gsm_swim_set_addr(d->swim, obs) == 0) {
		gsd_info("gossip address is now %s (as observed through NAT)", a);
		d->nat_gaddr = *obs;
		d->nat_gaddr_set = true;
		d->nat_port_varies = false;
	}
}

static void on_observed(struct gsd_daemon *d, const uint8_t *observer, const struct gsm_addr *obs)
{
	struct gsm_addr ep = *obs;
	static const uint8_t v6_lo[16] = { [15] = 1 };
	if (!((obs->family == 4 && obs->ip[0] == 127) ||
	      (obs->family == 6 && (!memcmp(obs->ip, v6_lo, 16) ||
				    (obs->ip[0] == 0xfe && (obs->ip[1] & 0xc0) == 0x80)))))
		note_gossip_observed(d, obs, ip_is_local(obs));
	ep.port = d->cfg.wg_port;
	for (int i = 0; i < d->n_observed; i++)
		if (gsm_addr_equal(&d->observed[i].addr, &ep))
			return;
	for (int i = 0; i < d->cfg.n_endpoints; i++)
		if (d->cfg.endpoints[i].family == ep.family &&
		    !memcmp(d->cfg.endpoints[i].ip, ep.ip, 16))
			return;
	static const uint8_t v6_loopback[16] = { [15] = 1 };
	if ((obs->family == 4 && obs->ip[0] == 127) ||
	    (obs->family == 6 && (!memcmp(obs->ip, v6_loopback, 16) ||
				  (obs->ip[0] == 0xfe && (obs->ip[1] & 0xc0) == 0x80))))
		return; /* loopback / link-local tell nothing useful */
	bool local = ip_is_local(obs);
	if (d->n_observed == MAX_OBSERVED) {
		memmove(&d->observed[0], &d->observed[1], sizeof(d->observed[0]) * (MAX_OBSERVED - 1));
		d->n_observed--;
	}
	struct gsm_endpoint *e = &d->observed[d->n_observed++];
	memset(e, 0, sizeof(*e));
	e->addr = ep;
	e->flags = GSM_EP_OBSERVED;
	if (observer) {
		e->has_observer = 1;
		memcpy(e->observer, observer, GSM_ID_LEN);
	}
	char a[64];
	gsd_format_addr(obs, a, sizeof(a));
	if (!local && !d->cfg.public_node && !d->behind_nat) {
		d->behind_nat = true;
		gsd_info("observed as %s, which is not a local address: behind NAT", a);
	} else {
		gsd_info("observed as %s", a);
	}
	advert_refresh(d, "observed endpoint");
}

/* A public peer's WireGuard sees ours at this endpoint (wire key 14): exact,
 * where our gossip-observed IP with our WireGuard port was a guess (a NAT
 * that maps ports).  It replaces that observer's entry in our advert. */
static void on_wg_observed(struct gsd_daemon *d, const uint8_t *observer, const struct gsm_addr *obs)
{
	if (d->cfg.public_node || !observer || !obs->port)
		return;
	static const uint8_t v6_lo[16] = { [15] = 1 };
	if ((obs->family == 4 && obs->ip[0] == 127) ||
	    (obs->family == 6 && !memcmp(obs->ip, v6_lo, 16)))
		return;
	bool changed;
	d->n_observed = gsd_nat_merge_observed(d->observed, d->n_observed, MAX_OBSERVED, observer,
					       obs, &changed);
	if (!changed)
		return;
	char a[64], o[20];
	gsd_format_addr(obs, a, sizeof(a));
	short_id(observer, o);
	gsd_info("WireGuard of %s sees ours at %s", o, a);
	advert_refresh(d, "WireGuard-observed endpoint");
}

/* Does this (new or revived) member claim our IPv4 overlay address with a
 * lower node id?  One decode per event, instead of scanning every member
 * on every change (which is quadratic in a large cluster). */
static void note_claim(struct gsd_daemon *d, const struct gsm_swim_member *m)
{
	if (!d->have_v4 || !m->advert || m->is_self)
		return;
	struct gsm_advert *a = malloc(sizeof(*a));
	if (!a)
		return;
	if (gsm_advert_decode(m->advert, m->advert_len, a) == 0) {
		for (int i = 0; i < a->n_overlay; i++)
			if (a->overlay[i].family == 4 && !memcmp(a->overlay[i].ip, d->v4.ip, 4) &&
			    (d->cfg.has_ipv4_address ||
			     gsd_overlay_v4_loses(gsm_identity_public(d->keys.identity), m->id)))
				d->v4_conflict = true;
	}
	free(a);
}

#define NAME(m) (gsd_log_get_level() >= GSD_LOG_INFO ? member_name(m, name, sizeof(name)) : "")

static void env_event(void *ctx, const struct gsm_swim_event *ev)
{
	struct gsd_daemon *d = ctx;
	char name[GSM_MAX_NAME + 24];
	const struct gsm_swim_member *m = ev->member;
	if (ev->type == GSM_SWIM_EV_JOINED || ev->type == GSM_SWIM_EV_UPDATED ||
	    ev->type == GSM_SWIM_EV_ALIVE)
		note_claim(d, m);
	switch (ev->type) {
	case GSM_SWIM_EV_JOINED:
		gsd_info("member %s joined", NAME(m));
		break;
	case GSM_SWIM_EV_UPDATED:
		gsd_debug("member %s updated its advert (version %llu)",
			  gsd_log_get_level() >= GSD_LOG_DEBUG ? member_name(m, name, sizeof(name)) : "",
			  (unsigned long long)m->version);
		break;
	case GSM_SWIM_EV_SUSPECT:
		gsd_info("member %s is suspect", NAME(m));
		break;
	case GSM_SWIM_EV_ALIVE:
		gsd_info("member %s is alive", NAME(m));
		break;
	case GSM_SWIM_EV_DEAD:
		gsd_warn("member %s is dead", gsd_log_get_level() >= GSD_LOG_WARN ? member_name(m, name, sizeof(name)) : "");
		break;
	case GSM_SWIM_EV_LEFT:
		gsd_info("member %s left", NAME(m));
		break;
	case GSM_SWIM_EV_REMOVED:
		gsd_debug("member %s forgotten", gsd_log_get_level() >= GSD_LOG_DEBUG ? member_name(m, name, sizeof(name)) : "");
		break;
	case GSM_SWIM_EV_REFUTED:
		gsd_info("refuted a suspicion about ourselves");
		return;
	case GSM_SWIM_EV_OBSERVED:
		on_observed(d, ev->observer, &ev->observed);
		return;
	case GSM_SWIM_EV_WG_OBSERVED:
		on_wg_observed(d, ev->observer, &ev->observed);
		return;
	}
	schedule_refresh(d);
	schedule_persist(d);
}

/* ------------------------------------------------------------ timers */

static void on_tick(uv_timer_t *t)
{
	struct gsd_daemon *d = t->data;
	gsm_swim_tick(d->swim);
	kick(d);
}

static void kick(struct gsd_daemon *d)
{
	if (!d->swim || d->stopping)
		return;
	uint64_t dl = gsm_swim_next_deadline(d->swim);
	uint64_t n = now_ms();
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
	if (r < 0 && gsd_log_get_level() >= GSD_LOG_DEBUG) {
		char s[64];
		gsd_format_addr(&a, s, sizeof(s));
		gsd_debug("bad datagram from %s: %s", s, gsm_strerror(r));
	}
	kick(d);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct gsd_udp *u = h->data;
	*buf = uv_buf_init((char *)u->d->rbuf, sizeof(u->d->rbuf));
}

/* ------------------------------------------------------------ advert */

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct gsm_label *)a)->key, ((const struct gsm_label *)b)->key);
}

static void build_advert(struct gsd_daemon *d, struct gsm_advert *a)
{
	const struct gsd_config *c = &d->cfg;
	memset(a, 0, sizeof(*a));
	memcpy(a->node_id, gsm_identity_public(d->keys.identity), GSM_ID_LEN);
	snprintf(a->name, sizeof(a->name), "%s", c->name);
	memcpy(a->wg_pubkey, d->keys.wg_public, 32);
	a->generation = d->generation;
	a->wg_port = c->wg_port;
	a->gossip_port = c->gossip_port;
	a->flags = (c->public_node ? GSM_ADV_PUBLIC : 0) | (c->relay ? GSM_ADV_RELAY : 0) |
		   (d->behind_nat && !c->public_node ? GSM_ADV_BEHIND_NAT : 0);
	for (int i = 0; i < c->n_endpoints && a->n_endpoints < GSM_MAX_ENDPOINTS; i++) {
		struct gsm_endpoint *e = &a->endpoints[a->n_endpoints++];
		e->addr = c->endpoints[i];
		if (!e->addr.port)
			e->addr.port = c->wg_port;
		e->flags = GSM_EP_CONFIGURED;
	}
	for (int i = 0; i < d->n_observed && a->n_endpoints < GSM_MAX_ENDPOINTS; i++)
		a->endpoints[a->n_endpoints++] = d->observed[i];
	if (d->have_v4)
		a->overlay[a->n_overlay++] = d->v4;
	a->overlay[a->n_overlay++] = d->v6;
	for (int i = 0; i < c->n_prefixes && a->n_prefixes < GSM_MAX_PREFIXES; i++)
		a->prefixes[a->n_prefixes++] = c->prefixes[i];
	a->n_labels = c->n_labels;
	memcpy(a->labels, c->labels, sizeof(c->labels[0]) * c->n_labels);
	if (d->relay_via_set) {
		a->has_relay_via = 1;
		memcpy(a->relay_via, d->relay_via, GSM_ID_LEN);
	}
	qsort(a->labels, a->n_labels, sizeof(a->labels[0]), label_cmp);
}

static void advert_refresh(struct gsd_daemon *d, const char *why)
{
	struct gsm_advert *a = malloc(sizeof(*a));
	uint8_t *buf = malloc(GSM_MAX_ADVERT);
	if (!a || !buf)
		goto out;
	build_advert(d, a);
	a->version = d->adv_version;
	if (d->adv_version && !memcmp(a, &d->adv, sizeof(*a)))
		goto out; /* nothing changed */
	a->version = d->adv_version + 1;
	size_t len;
	int r = gsm_advert_sign(a, d->keys.identity, buf, GSM_MAX_ADVERT, &len);
	if (r < 0) {
		gsd_err("cannot sign advert: %s", gsm_strerror(r));
		goto out;
	}
	if (d->swim) {
		r = gsm_swim_set_advert(d->swim, buf, len);
		if (r < 0) {
			gsd_err("core refused own advert: %s", gsm_strerror(r));
			goto out;
		}
	}
	d->adv = *a;
	d->adv_version = a->version;
	if (d->adv_version > 1)
		gsd_info("advert version %llu (%s)", (unsigned long long)d->adv_version, why);
	kick(d);
out:
	free(a);
	free(buf);
}

/* ------------------------------------------------------------ overlay */

struct claims_ctx {
	struct gsd_daemon *d;
	struct gsd_v4_claim *v;
	size_t n, cap;
	struct gsm_advert *tmp;
};

static int collect_claims(void *arg, const struct gsm_swim_member *m)
{
	struct claims_ctx *cc = arg;
	if (m->is_self || !m->advert)
		return 0;
	if (m->state != GSM_STATE_ALIVE && m->state != GSM_STATE_SUSPECT)
		return 0;
	if (gsm_advert_decode(m->advert, m->advert_len, cc->tmp) < 0)
		return 0;
	for (int i = 0; i < cc->tmp->n_overlay; i++) {
		if (cc->tmp->overlay[i].family != 4)
			continue;
		if (cc->n == cc->cap) {
			size_t nc = cc->cap ? cc->cap * 2 : 64;
			struct gsd_v4_claim *nv = realloc(cc->v, nc * sizeof(*nv));
			if (!nv)
				return -ENOMEM;
			cc->v = nv;
			cc->cap = nc;
		}
		memcpy(cc->v[cc->n].node_id, m->id, GSM_ID_LEN);
		memcpy(cc->v[cc->n].ip, cc->tmp->overlay[i].ip, 4);
		cc->n++;
	}
	return 0;
}

static void check_v4(struct gsd_daemon *d)
{
	if (!d->cfg.has_ipv4_prefix || !d->swim)
		return;
	struct claims_ctx cc = { .d = d };
	cc.tmp = malloc(sizeof(*cc.tmp));
	if (!cc.tmp)
		return;
	if (gsm_swim_foreach(d->swim, collect_claims, &cc) < 0)
		goto out;
	const uint8_t *self = gsm_identity_public(d->keys.identity);
	if (d->cfg.has_ipv4_address) {
		for (size_t i = 0; i < cc.n; i++) {
			if (memcmp(cc.v[i].ip, d->v4.ip, 4))
				continue;
			if (!d->static_conflict_logged) {
				char sid[17], ip[32];
				short_id(cc.v[i].node_id, sid);
				inet_ntop(AF_INET, d->v4.ip, ip, sizeof(ip));
				gsd_err("IPv4 collision: static address %s is also claimed by node %s; fix the configuration",
					ip, sid);
				d->static_conflict_logged = true;
			}
		}
		goto out;
	}
	struct gsm_prefix pick;
	int attempt = gsd_overlay_v4_pick(&d->cfg.ipv4_prefix, self, cc.v, cc.n,
					  d->have_v4 ? &d->v4 : NULL, &pick);
	if (attempt < 0) {
		gsd_err("IPv4 overlay prefix exhausted");
		goto out;
	}
	if (!d->have_v4 || memcmp(pick.ip, d->v4.ip, 4)) {
		char from[32] = "", to[32];
		if (d->have_v4)
			inet_ntop(AF_INET, d->v4.ip, from, sizeof(from));
		inet_ntop(AF_INET, pick.ip, to, sizeof(to));
		if (d->have_v4) {
			char holder[17] = "?";
			for (size_t i = 0; i < cc.n; i++)
				if (!memcmp(cc.v[i].ip, d->v4.ip, 4) &&
				    gsd_overlay_v4_loses(self, cc.v[i].node_id))
					short_id(cc.v[i].node_id, holder);
			gsd_warn("IPv4 collision: %s is claimed by lower node id %s; moving to %s (attempt %d)",
				 from, holder, to, attempt);
		}
		d->v4 = pick;
		d->have_v4 = true;
		advert_refresh(d, "IPv4 address moved");
	}
out:
	free(cc.v);
	free(cc.tmp);
}

/* ------------------------------------------------------------ reconcile */

/* Receive progress per WireGuard peer.  A dead member's tunnel outlives its
 * grace period only while bytes still arrive from it (gsd_reconcile_desired),
 * so the daemon remembers, per key, the last rx counter and when it grew. */
struct rxmark {
	uint8_t key[32]; /* first: bsearch/qsort compare it directly */
	uint64_t rx;
	uint64_t grew_ms;
};

static int rxmark_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static void rx_track(struct gsd_daemon *d, const struct gnl_wg_device *cur, uint64_t now)
{
	struct rxmark *nx = calloc(cur->n_peers ? cur->n_peers : 1, sizeof(*nx));
	if (!nx)
		return; /* keep the old marks */
	for (size_t i = 0; i < cur->n_peers; i++) {
		const struct gnl_wg_peer *p = &cur->peers[i];
		const struct rxmark *o =
			d->n_rx ? bsearch(p->public_key, d->rx, d->n_rx, sizeof(*d->rx), rxmark_cmp)
				: NULL;
		memcpy(nx[i].key, p->public_key, 32);
		nx[i].rx = p->rx_bytes;
		if (o)
			nx[i].grew_ms = p->rx_bytes > o->rx ? now : o->grew_ms;
		else
			nx[i].grew_ms = p->rx_bytes ? now : 0;
	}
	qsort(nx, cur->n_peers, sizeof(*nx), rxmark_cmp);
	free(d->rx);
	d->rx = nx;
	d->n_rx = cur->n_peers;
}

static uint64_t rx_grew_ms(const struct gsd_daemon *d, const uint8_t key[32])
{
	const struct rxmark *o =
		d->n_rx ? bsearch(key, d->rx, d->n_rx, sizeof(*d->rx), rxmark_cmp) : NULL;
	return o ? o->grew_ms : 0;
}

struct snap_ctx {
	struct gsm_advert *adv;
	struct gsd_rc_member *m;
	size_t n, cap;
};

static int snap_member(void *arg, const struct gsm_swim_member *m)
{
	struct snap_ctx *s = arg;
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
		.adv = NULL,
		.state = m->state,
		.state_since_ms = m->state_changed_ms,
		.gossip_addr = m->addr,
	};
	s->n++;
	return 0;
}

static void managed_prefixes(struct gsd_daemon *d, struct gsm_prefix *out, size_t *n)
{
	*n = 0;
	if (d->cfg.has_ipv4_prefix)
		out[(*n)++] = d->cfg.ipv4_prefix;
	out[(*n)++] = d->v6_prefix;
}

static void on_refresh(uv_timer_t *t);

static void on_nat_timer(uv_timer_t *t)
{
	struct gsd_daemon *d = t->data;
	/* a poke to finish or a punch slot: reconcile now, no debounce */
	uv_timer_stop(&d->refresh_timer);
	d->refresh_timer.data = d;
	on_refresh(&d->refresh_timer);
}

static void reconcile_wg(struct gsd_daemon *d)
{
	struct snap_ctx s = { 0 };
	struct gnl_wg_device *cur = NULL, *want = NULL;
	struct gnl_wg_ops *ops = NULL;
	struct gsm_prefix *routes = NULL;
	size_t n_routes = 0;
	int r;

	if (d->backend_kind == GSD_BACKEND_NONE || !d->swim)
		return;
	d->reconciles++;
	r = gsd_backend_get(d->be, &cur);
	if (r < 0 && gsd_backend_repair(d->be, &d->cfg, d->loop) > 0)
		r = gsd_backend_get(d->be, &cur);
	if (r < 0) {
		gsd_warn("cannot read WireGuard device %s: %s %s", d->cfg.interface, gnl_strerror(r),
			 gsd_backend_errmsg(d->be));
		goto out;
	}
	if (gsm_swim_foreach(d->swim, snap_member, &s) < 0)
		goto out;
	rx_track(d, cur, now_ms());
	for (size_t i = 0; i < s.n; i++) {
		s.m[i].adv = &s.adv[i];
		s.m[i].last_rx_ms = rx_grew_ms(d, s.adv[i].wg_pubkey);
	}
	struct gsd_rc_input in = {
		.self_behind_nat = d->behind_nat,
		.keepalive = d->cfg.persistent_keepalive,
		.dead_grace_ms = d->cfg.dead_grace_ms,
		.left_grace_ms = d->cfg.left_grace_ms,
		.now_ms = now_ms(),
		.now_unix = now_unix(),
		.current = cur,
		.members = s.m,
		.n_members = s.n,
	};
	memcpy(in.self_id, gsm_identity_public(d->keys.identity), GSM_ID_LEN);
	memcpy(in.self_wg_pubkey, d->keys.wg_public, 32);
	r = gnl_wg_device_new(d->cfg.interface, &want);
	if (r < 0)
		goto out;
	want->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT;
	memcpy(want->private_key, d->keys.wg_private, 32);
	want->listen_port = d->cfg.wg_port;
	r = gsd_reconcile_desired(&in, want, NULL);
	if (r < 0)
		goto out;
	/* wake up when the next dead/left grace period runs out, rather than
	 * waiting for the periodic refresh */
	{
		uint64_t first = UINT64_MAX;
		for (size_t i = 0; i < s.n; i++) {
			uint64_t g = s.m[i].state == GSM_STATE_DEAD   ? d->cfg.dead_grace_ms
				     : s.m[i].state == GSM_STATE_LEFT ? d->cfg.left_grace_ms
								      : 0;
			uint64_t exp = s.m[i].state_since_ms + g;
			if (g && exp > in.now_ms && exp < first)
				first = exp;
		}
		uv_timer_stop(&d->grace_timer);
		if (first != UINT64_MAX && !d->stopping)
			uv_timer_start(&d->grace_timer, on_nat_timer, first - in.now_ms + 20, 0);
	}
	if (d->nat) {
		struct gsd_nat_input nin = {
			.self_behind_nat = d->behind_nat,
			.self_relay = d->cfg.relay,
			.keepalive = d->cfg.persistent_keepalive,
			.now_ms = in.now_ms,
			.now_unix_ms = (int64_t)now_unix() * 1000,
			.current = cur,
			.members = s.m,
			.n_members = s.n,
		};
		struct timespec ts;
		if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
			nin.now_unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		memcpy(nin.self_id, in.self_id, GSM_ID_LEN);
		randombytes_buf(&nin.jitter_rand, sizeof(nin.jitter_rand));
		uint64_t next = UINT64_MAX;
		r = gsd_nat_plan(d->nat, &nin, want, &next);
		if (r < 0)
			goto out;
		/* public side: tell NATed members where our WireGuard sees them */
		for (size_t i = 0; i < s.n && cur; i++) {
			const struct gnl_wg_peer *cp = gnl_wg_device_find_peer(cur, s.m[i].adv->wg_pubkey);
			struct gsm_addr ep;
			if (!gsd_nat_wg_report(s.m[i].adv, cp, d->behind_nat, in.now_unix, &ep))
				memset(&ep, 0, sizeof(ep));
			gsm_swim_set_wg_observed(d->swim, s.m[i].adv->node_id, &ep);
		}
		uv_timer_stop(&d->nat_timer);
		if (next != UINT64_MAX && !d->stopping) {
			uint64_t n = now_ms();
			uv_timer_start(&d->nat_timer, on_nat_timer, next > n ? next - n : 0, 0);
		}
		uint8_t relay[GSM_ID_LEN];
		bool has = gsd_nat_relay_in_use(d->nat, relay);
		if (has != d->relay_via_set || (has && memcmp(relay, d->relay_via, GSM_ID_LEN))) {
			d->relay_via_set = has;
			memcpy(d->relay_via, relay, GSM_ID_LEN);
			advert_refresh(d, has ? "relaying through a public node" : "direct again");
		}
	}
	/* startup hold-off: keep peers we do not know (yet) */
	if (d->holdoff) {
		struct gsm_swim_stats st;
		gsm_swim_stats(d->swim, &st);
		if (st.last_sync_ms > d->start_ms ||
		    now_ms() - d->start_ms > d->cfg.dead_grace_ms) {
			d->holdoff = false;
		} else {
			for (size_t i = 0; i < cur->n_peers; i++) {
				const struct gnl_wg_peer *cp = &cur->peers[i];
				if (gnl_wg_device_find_peer(want, cp->public_key))
					continue;
				struct gnl_wg_peer *np;
				if (gnl_wg_device_add_peer(want, cp->public_key, &np) < 0)
					goto out;
				np->persistent_keepalive = cp->persistent_keepalive;
				np->has_preshared_key = cp->has_preshared_key;
				memcpy(np->preshared_key, cp->preshared_key, 32);
				for (size_t k = 0; k < cp->n_allowedips; k++)
					gnl_wg_peer_add_allowedip(np, &cp->allowedips[k]);
			}
		}
	}
	r = gnl_wg_diff(want, cur, &ops);
	if (r < 0) {
		gsd_warn("WireGuard diff failed: %s", gnl_strerror(r));
		goto out;
	}
	if (!gnl_wg_ops_empty(ops)) {
		size_t add = 0, upd = 0, rem = 0;
		for (size_t i = 0; i < ops->n_ops; i++) {
			if (ops->ops[i].kind == GNL_WG_OP_ADD)
				add++;
			else if (ops->ops[i].kind == GNL_WG_OP_UPDATE)
				upd++;
			else
				rem++;
		}
		r = gsd_backend_apply(d->be, ops);
		if (r < 0)
			gsd_warn("applying WireGuard changes to %s failed: %s %s", d->cfg.interface,
				 gnl_strerror(r), gsd_backend_errmsg(d->be));
		else
			gsd_info("WireGuard %s: %zu added, %zu updated, %zu removed%s", d->cfg.interface,
				 add, upd, rem, ops->dev_changed ? ", device settings" : "");
		d->wg_changes++;
	}
	/* overlay addresses on the interface */
	struct gsm_prefix addrs[2], managed[2];
	size_t n_addrs = 0, n_managed;
	if (d->have_v4) {
		addrs[n_addrs] = d->v4;
		addrs[n_addrs++].len = d->cfg.ipv4_prefix.len;
	}
	addrs[n_addrs] = d->v6;
	addrs[n_addrs++].len = d->v6_prefix.len;
	managed_prefixes(d, managed, &n_managed);
	gsd_backend_sync_addrs(d->be, addrs, n_addrs, managed, n_managed);
	/* routes for advertised prefixes of the peers we configured */
	for (size_t i = 0; i < want->n_peers; i++)
		n_routes += want->peers[i].n_allowedips;
	routes = calloc(n_routes ? n_routes : 1, sizeof(*routes));
	if (!routes)
		goto out;
	n_routes = 0;
	for (size_t i = 0; i < want->n_peers; i++)
		for (size_t k = 0; k < want->peers[i].n_allowedips; k++) {
			struct gsm_prefix p;
			gsd_gnl_to_prefix(&want->peers[i].allowedips[k], &p);
			bool overlay = false;
			/* overlay host routes come with the interface's own
			 * address; only prefixes outside the managed ones need
			 * a route */
			for (size_t j = 0; j < n_managed && !overlay; j++) {
				if (p.family != managed[j].family || p.len < managed[j].len)
					continue;
				bool inside = true;
				for (unsigned bit = 0; bit < managed[j].len && inside; bit++) {
					uint8_t mk = (uint8_t)(0x80 >> (bit % 8));
					inside = (p.ip[bit / 8] & mk) == (managed[j].ip[bit / 8] & mk);
				}
				overlay = inside;
			}
			if (!overlay)
				routes[n_routes++] = p;
		}
	gsd_backend_sync_routes(d->be, routes, n_routes);
out:
	free(routes);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
	gnl_wg_device_free(cur);
	free(s.adv);
	free(s.m);
}

static void on_refresh(uv_timer_t *t)
{
	struct gsd_daemon *d = t->data;
	if (d->stopping)
		return;
	if (d->v4_conflict) {
		d->v4_conflict = false;
		check_v4(d);
	}
	reconcile_wg(d);
	kick(d);
}

static void schedule_refresh(struct gsd_daemon *d)
{
	if (d->stopping || uv_is_active((uv_handle_t *)&d->refresh_timer))
		return;
	uv_timer_start(&d->refresh_timer, on_refresh, d->cfg.reconcile_debounce_ms, 0);
}

static void on_periodic(uv_timer_t *t)
{
	struct gsd_daemon *d = t->data;
	if (d->backend_kind != GSD_BACKEND_NONE)
		schedule_refresh(d);
}

/* ------------------------------------------------------------ persistence */

struct persist_ctx {
	struct gsd_saved_member *v;
	size_t n, cap;
};

static int collect_persist(void *arg, const struct gsm_swim_member *m)
{
	struct persist_ctx *p = arg;
	/* alive and suspect only: importing a dead member as alive after a
	 * restart would briefly re-add its WireGuard peer */
	if (m->is_self || !m->advert ||
	    (m->state != GSM_STATE_ALIVE && m->state != GSM_STATE_SUSPECT))
		return 0;
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 32;
		struct gsd_saved_member *nv = realloc(p->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		p->v = nv;
		p->cap = nc;
	}
	struct gsd_saved_member *s = &p->v[p->n];
	s->advert = malloc(m->advert_len);
	if (!s->advert)
		return -ENOMEM;
	memcpy(s->advert, m->advert, m->advert_len);
	s->advert_len = m->advert_len;
	s->gossip_addr = m->addr;
	s->state = m->state;
	p->n++;
	return 0;
}

static void persist_now(struct gsd_daemon *d)
{
	if (!d->swim)
		return;
	struct persist_ctx p = { 0 };
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", d->cfg.state_dir, GSD_MEMBERS_FILE);
	if (gsm_swim_foreach(d->swim, collect_persist, &p) == 0) {
		int r = gsd_members_save(path, p.v, p.n);
		if (r < 0)
			gsd_warn("cannot save members to %s: %s", path, strerror(-r));
		else
			gsd_debug("saved %zu members", p.n);
	}
	gsd_members_free(p.v, p.n);
}

static void on_persist(uv_timer_t *t)
{
	persist_now(t->data);
}

static void schedule_persist(struct gsd_daemon *d)
{
	if (d->stopping || uv_is_active((uv_handle_t *)&d->persist_timer))
		return;
	/* rewriting every member costs O(N): in a big cluster during a join
	 * storm, write less often (20 ms per member, 5..60 s) */
	uint64_t ms = (uint64_t)gsm_swim_member_count(d->swim) * 20;
	if (ms < PERSIST_DEBOUNCE_MS)
		ms = PERSIST_DEBOUNCE_MS;
	if (ms > 60000)
		ms = 60000;
	uv_timer_start(&d->persist_timer, on_persist, ms, 0);
}

/* ------------------------------------------------------------ seeds */

/* Resolve "host:port" strings; numeric first, then getaddrinfo. */
static size_t resolve_addrs(const char (*strs)[GSD_SEED_LEN], size_t n, uint16_t defport,
			    struct gsm_addr *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < cap; i++) {
		char host[GSD_SEED_LEN];
		uint16_t port;
		if (gsd_split_hostport(strs[i], host, sizeof(host), &port, defport) < 0) {
			gsd_warn("seed %s: not HOST[:PORT]", strs[i]);
			continue;
		}
		struct gsm_addr a;
		if (gsd_parse_ip(host, &a) == 0) {
			a.port = port;
			out[k++] = a;
			continue;
		}
		struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
		int e = getaddrinfo(host, NULL, &hints, &res);
		if (e) {
			gsd_warn("seed %s: cannot resolve: %s", strs[i], gai_strerror(e));
			continue;
		}
		for (struct addrinfo *ai = res; ai && k < cap; ai = ai->ai_next) {
			gsm_addr_from_sockaddr(ai->ai_addr, &a);
			a.port = port;
			out[k++] = a;
		}
		freeaddrinfo(res);
	}
	return k;
}

static int do_join(struct gsd_daemon *d)
{
	struct gsm_addr seeds[GSD_MAX_SEEDS * 2];
	size_t n = resolve_addrs((const char(*)[GSD_SEED_LEN])d->cfg.seeds, d->cfg.n_seeds,
				 d->cfg.gossip_port, seeds, GSD_MAX_SEEDS * 2);
	/* do not contact ourselves */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool self = false;
		for (int j = 0; j < d->cfg.n_binds; j++)
			self |= seeds[i].port == d->cfg.gossip_port &&
				!memcmp(seeds[i].ip, d->cfg.binds[j].ip, 16) &&
				seeds[i].family == d->cfg.binds[j].family;
		if (!self)
			seeds[k++] = seeds[i];
	}
	int r = gsm_swim_join(d->swim, seeds, k);
	kick(d);
	return r;
}

/* ------------------------------------------------------------ shutdown */

static void close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static void stop_everything(struct gsd_daemon *d)
{
	if (d->stopping)
		return;
	d->stopping = true;
	persist_now(d);
	while (d->joins)
		join_finish(d->joins, true);
	gsd_control_close(d->ctl);
	d->ctl = NULL;
	uv_stop(d->loop);
}

static void on_exit_timer(uv_timer_t *t)
{
	stop_everything(t->data);
}

static void finish_leave(struct gsd_daemon *d, bool done)
{
	uv_timer_stop(&d->leave_timer);
	if (done)
		gsd_info("left the cluster");
	else
		gsd_warn("leave not confirmed within %d ms; exiting anyway", LEAVE_BOUND_MS);
	while (d->leave_waiters) {
		struct pending_leave *p = d->leave_waiters;
		d->leave_waiters = p->next;
		gsd_ctl_reply_ok(p->c, NULL);
		free(p);
	}
	/* let the replies flush */
	uv_timer_start(&d->exit_timer, on_exit_timer, 100, 0);
}

static void on_leave_poll(uv_timer_t *t)
{
	struct gsd_daemon *d = t->data;
	if (gsm_swim_leave_done(d->swim))
		finish_leave(d, true);
	else if (now_ms() >= d->leave_deadline)
		finish_leave(d, false);
}

static void start_leave(struct gsd_daemon *d)
{
	if (d->leaving)
		return;
	d->leaving = true;
	gsd_info("leaving the cluster");
	int r = d->swim ? gsm_swim_leave(d->swim) : -EINVAL;
	if (r < 0) {
		gsd_warn("leave: %s", gsm_strerror(r));
		finish_leave(d, false);
		return;
	}
	kick(d);
	d->leave_deadline = now_ms() + LEAVE_BOUND_MS;
	uv_timer_start(&d->leave_timer, on_leave_poll, 20, 20);
}

/* ------------------------------------------------------------ reload */

/* Key rotation without a restart: bring the running key ring (which the
 * core borrows) in line with the file.  Rollout: add the new key on every
 * node (reload), then make it primary (first line) everywhere, then
 * remove the old one; every step keeps the cluster talking, and the last
 * one revokes the old key.  A key id whose key changed is refused: a new
 * key needs a new id. */
static int reload_keyring(struct gsd_daemon *d, const char *path, char *msg, size_t msglen)
{
	struct gsm_keyring *nkr = NULL;
	uint16_t ids[GSM_MAX_KEYS];
	uint8_t *keys = NULL;
	size_t n = 0;
	int r = gsd_check_secret_file(path, msg, msglen);
	if (r == -ENOENT) {
		snprintf(msg, msglen, "cluster key file %s does not exist", path);
		return -EINVAL;
	}
	if (r < 0)
		return -EINVAL;
	r = gsm_keyring_load(path, d->cfg.cluster_name, &nkr);
	if (r < 0) {
		snprintf(msg, msglen, "cluster key file %s: %s", path, gsm_strerror(r));
		return -EINVAL;
	}
	gsm_keyring_free(nkr); /* validated; now read the ids and keys */
	keys = sodium_malloc(GSM_MAX_KEYS * GSM_CLUSTER_KEY_LEN);
	FILE *f = fopen(path, "re");
	if (!keys || !f) {
		snprintf(msg, msglen, "cluster key file %s: cannot read", path);
		r = -EINVAL;
		goto out;
	}
	char line[256];
	while (fgets(line, sizeof(line), f) && n < GSM_MAX_KEYS) {
		char *p = line + strspn(line, " \t");
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		char *end;
		unsigned long id = strtoul(p, &end, 10);
		char *b64 = end + strspn(end, " \t");
		b64[strcspn(b64, " \t\r\n")] = 0;
		size_t kl = 0;
		if (id > 65535 || sodium_base642bin(keys + n * GSM_CLUSTER_KEY_LEN, GSM_CLUSTER_KEY_LEN,
						    b64, strlen(b64), NULL, &kl, NULL,
						    sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    kl != GSM_CLUSTER_KEY_LEN) {
			snprintf(msg, msglen, "cluster key file %s: malformed line", path);
			r = -EINVAL;
			goto out;
		}
		ids[n++] = (uint16_t)id;
	}
	sodium_memzero(line, sizeof(line));
	/* 1. refuse changed keys under an existing id before touching anything
	 *    (adding an id that is present is a no-op or -EEXIST) */
	for (size_t i = 0; i < n; i++) {
		if (!gsm_keyring_has(d->kr, ids[i]))
			continue;
		if (gsm_keyring_add(d->kr, ids[i], keys + i * GSM_CLUSTER_KEY_LEN) == -EEXIST) {
			snprintf(msg, msglen, "cluster key file %s: key id %u now has a different key (give a new key a new id)",
				 path, ids[i]);
			r = -EINVAL;
			goto out;
		}
	}
	/* 2. drop unlisted keys (not the primary yet) to make room */
	uint16_t have[GSM_MAX_KEYS];
	size_t nh = gsm_keyring_ids(d->kr, have, GSM_MAX_KEYS), removed = 0, added = 0;
	for (size_t i = 0; i < nh && i < GSM_MAX_KEYS; i++) {
		bool listed = false;
		for (size_t k = 0; k < n; k++)
			listed |= ids[k] == have[i];
		if (!listed && gsm_keyring_remove(d->kr, have[i]) == 0)
			removed++;
	}
	/* 3. add the new ones */
	for (size_t i = 0; i < n; i++) {
		if (gsm_keyring_has(d->kr, ids[i]))
			continue;
		r = gsm_keyring_add(d->kr, ids[i], keys + i * GSM_CLUSTER_KEY_LEN);
		if (r < 0) {
			snprintf(msg, msglen, "cluster key file %s: %s", path, gsm_strerror(r));
			r = -EINVAL;
			goto out;
		}
		added++;
	}
	/* 4. switch the primary, then drop the old primary if unlisted */
	int old_primary = gsm_keyring_primary(d->kr);
	gsm_keyring_use(d->kr, ids[0]);
	if (old_primary >= 0 && old_primary != ids[0]) {
		bool listed = false;
		for (size_t k = 0; k < n; k++)
			listed |= ids[k] == old_primary;
		if (!listed && gsm_keyring_remove(d->kr, (uint16_t)old_primary) == 0)
			removed++;
	}
	if (added || removed || old_primary != ids[0])
		gsd_info("cluster keys: %zu added, %zu removed, primary id %u (%zu keys)", added, removed,
			 ids[0], gsm_keyring_count(d->kr));
	r = 0;
out:
	if (f)
		fclose(f);
	if (keys)
		sodium_free(keys);
	return r;
}

static int do_reload(struct gsd_daemon *d, char *msg, size_t msglen)
{
	struct gsd_config *nc = malloc(sizeof(*nc));
	if (!nc)
		return -ENOMEM;
	int r = gsd_config_build(nc, &d->cli, msg, msglen);
	if (r < 0) {
		free(nc);
		return r;
	}
	r = reload_keyring(d, nc->cluster_key_file, msg, msglen);
	if (r < 0) {
		free(nc);
		return r;
	}
	struct gsd_config *oc = &d->cfg;
#define RESTART_ONLY(field, key)                                                    \
	do {                                                                        \
		if (memcmp(&oc->field, &nc->field, sizeof(oc->field)))               \
			gsd_warn("reload: %s changed; takes effect after a restart", key); \
		memcpy(&nc->field, &oc->field, sizeof(oc->field));                   \
	} while (0)
	RESTART_ONLY(interface, "interface");
	RESTART_ONLY(wg_port, "listen_port");
	RESTART_ONLY(gossip_port, "port");
	RESTART_ONLY(binds, "bind");
	RESTART_ONLY(n_binds, "bind");
	RESTART_ONLY(backend, "backend");
	RESTART_ONLY(state_dir, "state_dir");
	RESTART_ONLY(control_socket, "control_socket");
	RESTART_ONLY(cluster_name, "cluster_name");
	RESTART_ONLY(wg_socket_dir, "socket_dir");
	RESTART_ONLY(ipv4_prefix, "ipv4_prefix");
	RESTART_ONLY(has_ipv4_prefix, "ipv4_prefix");
	RESTART_ONLY(ipv6_prefix, "ipv6_prefix");
	RESTART_ONLY(has_ipv6_prefix, "ipv6_prefix");
	RESTART_ONLY(probe_interval_ms, "probe_interval");
	RESTART_ONLY(sync_interval_ms, "sync_interval");
#undef RESTART_ONLY
	bool addr_changed = nc->has_ipv4_address != oc->has_ipv4_address ||
			    memcmp(&nc->ipv4_address, &oc->ipv4_address, sizeof(nc->ipv4_address));
	bool seeds_changed = nc->n_seeds != oc->n_seeds ||
			     memcmp(nc->seeds, oc->seeds, sizeof(nc->seeds[0]) * nc->n_seeds);
	*oc = *nc;
	free(nc);
	gsd_log_set_level(oc->log_level);
	gsd_log_set_name(oc->name);
	gsd_log_set_syslog(oc->syslog);
	gsd_backend_set_options(d->be, oc->install_routes, oc->stop_wireguard_go);
	if (oc->public_node)
		d->behind_nat = false;
	if (addr_changed) {
		if (oc->has_ipv4_address) {
			d->v4.family = 4;
			memcpy(d->v4.ip, oc->ipv4_address.ip, 4);
			d->v4.len = 32;
			d->have_v4 = true;
		} else {
			d->have_v4 = false;
			check_v4(d);
		}
		d->static_conflict_logged = false;
	}
	advert_refresh(d, "reload");
	if (seeds_changed && oc->n_seeds)
		do_join(d);
	schedule_refresh(d);
	gsd_info("configuration reloaded");
	return 0;
}

/* ------------------------------------------------------------ control */

static json_t *prefixes_json(const struct gsm_prefix *p, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		char buf[64];
		gsd_format_prefix(&p[i], buf, sizeof(buf));
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

static json_t *endpoints_json(const struct gsm_endpoint *e, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++) {
		char buf[64], id[2 * GSM_ID_LEN + 1];
		gsd_format_addr(&e[i].addr, buf, sizeof(buf));
		json_t *o = json_object();
		json_object_set_new(o, "address", json_string(buf));
		json_object_set_new(o, "observed", json_boolean(e[i].flags & GSM_EP_OBSERVED));
		if (e[i].has_observer) {
			hex_id(e[i].observer, id);
			json_object_set_new(o, "observer", json_string(id));
		} else {
			json_object_set_new(o, "observer", json_null());
		}
		json_array_append_new(a, o);
	}
	return a;
}

struct members_ctx {
	struct gsd_daemon *d;
	json_t *arr;
	struct gsm_advert *tmp;
};

static int member_to_json(void *arg, const struct gsm_swim_member *m)
{
	struct members_ctx *mc = arg;
	struct gsd_daemon *d = mc->d;
	json_t *o = json_object();
	char id[2 * GSM_ID_LEN + 1], key[45], buf[64];
	const struct gsm_advert *a = NULL;
	if (m->is_self)
		a = &d->adv;
	else if (m->advert && gsm_advert_decode(m->advert, m->advert_len, mc->tmp) == 0)
		a = mc->tmp;
	hex_id(m->id, id);
	json_object_set_new(o, "name", json_string(a ? a->name : ""));
	json_object_set_new(o, "id", json_string(id));
	if (a) {
		b64_key(a->wg_pubkey, key);
		json_object_set_new(o, "wg_public_key", json_string(key));
	} else {
		json_object_set_new(o, "wg_public_key", json_string(""));
	}
	json_object_set_new(o, "state", json_string(gsm_state_name(m->is_self && !d->leaving ? GSM_STATE_ALIVE : m->state)));
	json_object_set_new(o, "self", json_boolean(m->is_self));
	json_object_set_new(o, "overlay_addresses",
			    a ? prefixes_json(a->overlay, a->n_overlay) : json_array());
	json_object_set_new(o, "endpoints",
			    a ? endpoints_json(a->endpoints, a->n_endpoints) : json_array());
	if (m->addr.family) {
		gsd_format_addr(&m->addr, buf, sizeof(buf));
		json_object_set_new(o, "gossip_address", json_string(buf));
	} else {
		json_object_set_new(o, "gossip_address", json_null());
	}
	json_object_set_new(o, "prefixes", a ? prefixes_json(a->prefixes, a->n_prefixes) : json_array());
	json_t *labels = json_object();
	for (int i = 0; a && i < a->n_labels; i++)
		json_object_set_new(labels, a->labels[i].key, json_string(a->labels[i].value));
	json_object_set_new(o, "labels", labels);
	json_object_set_new(o, "generation", json_integer((json_int_t)(a ? a->generation : m->generation)));
	json_object_set_new(o, "version", json_integer((json_int_t)(a ? a->version : 0)));
	json_object_set_new(o, "incarnation", json_integer((json_int_t)m->incarnation));
	json_object_set_new(o, "public", json_boolean(a && (a->flags & GSM_ADV_PUBLIC)));
	json_object_set_new(o, "relay", json_boolean(a && (a->flags & GSM_ADV_RELAY)));
	json_object_set_new(o, "behind_nat", json_boolean(a && (a->flags & GSM_ADV_BEHIND_NAT)));
	uint8_t rid[GSM_ID_LEN];
	if (!m->is_self && d->nat && gsd_nat_peer_path(d->nat, m->id, rid) == GSD_NAT_RELAYED) {
		char rhex[2 * GSM_ID_LEN + 1];
		hex_id(rid, rhex);
		json_object_set_new(o, "relayed_via", json_string(rhex));
	} else {
		json_object_set_new(o, "relayed_via", json_null());
	}
	json_object_set_new(o, "state_changed",
			    json_integer(m->is_self ? d->start_unix : ms_to_unix(d, m->state_changed_ms)));
	json_array_append_new(mc->arr, o);
	return 0;
}

static json_t *members_json(struct gsd_daemon *d)
{
	struct members_ctx mc = { .d = d, .arr = json_array() };
	mc.tmp = malloc(sizeof(*mc.tmp));
	if (mc.tmp)
		gsm_swim_foreach(d->swim, member_to_json, &mc);
	free(mc.tmp);
	return mc.arr;
}

/* Converged: nothing left to disseminate and an anti-entropy sync finished
 * within the last sync interval.  The core schedules syncs with +-25 %
 * jitter and a sync takes a round trip, so "within the interval" allows
 * for that; otherwise `converged` would flicker to false between two
 * perfectly normal syncs (seen with 1 s sync intervals under load). */
static bool is_converged(struct gsd_daemon *d, const struct gsm_swim_stats *st)
{
	if (st->pending_updates)
		return false;
	if (st->alive + st->suspect <= 1)
		return gsm_swim_converged(d->swim); /* alone */
	if (!st->last_sync_ms)
		return false;
	uint64_t iv = gsm_swim_sync_interval(d->swim);
	uint64_t slack = iv / 4 + 2ull * d->cfg.probe_interval_ms;
	uint64_t n = now_ms();
	return n < st->last_sync_ms || n - st->last_sync_ms <= iv + slack;
}

static json_t *status_json(struct gsd_daemon *d)
{
	struct gsm_swim_stats st;
	char id[2 * GSM_ID_LEN + 1], key[45];
	gsm_swim_stats(d->swim, &st);
	json_t *o = json_object();
	hex_id(gsm_identity_public(d->keys.identity), id);
	b64_key(d->keys.wg_public, key);
	json_object_set_new(o, "name", json_string(d->cfg.name));
	json_object_set_new(o, "id", json_string(id));
	json_object_set_new(o, "wg_public_key", json_string(key));
	json_object_set_new(o, "version_string", json_string(GSM_VERSION));
	json_object_set_new(o, "backend", json_string(gsd_backend_name(d->backend_kind)));
	json_object_set_new(o, "interface", json_string(d->cfg.interface));
	json_object_set_new(o, "wg_port", json_integer(d->cfg.wg_port));
	json_object_set_new(o, "gossip_port", json_integer(d->cfg.gossip_port));
	json_object_set_new(o, "overlay_addresses", prefixes_json(d->adv.overlay, d->adv.n_overlay));
	json_object_set_new(o, "endpoints", endpoints_json(d->adv.endpoints, d->adv.n_endpoints));
	json_object_set_new(o, "prefixes", prefixes_json(d->adv.prefixes, d->adv.n_prefixes));
	json_t *mm = json_object();
	json_object_set_new(mm, "alive", json_integer(st.alive));
	json_object_set_new(mm, "suspect", json_integer(st.suspect));
	json_object_set_new(mm, "dead", json_integer(st.dead));
	json_object_set_new(mm, "left", json_integer(st.left));
	json_object_set_new(mm, "total", json_integer(st.total));
	json_object_set_new(o, "members", mm);
	json_object_set_new(o, "converged", json_boolean(is_converged(d, &st)));
	json_object_set_new(o, "pending_updates", json_integer(st.pending_updates));
	json_object_set_new(o, "last_sync", json_integer(ms_to_unix(d, st.last_sync_ms)));
	json_object_set_new(o, "generation", json_integer((json_int_t)d->generation));
	json_object_set_new(o, "uptime", json_integer((json_int_t)((now_ms() - d->start_ms) / 1000)));
	json_object_set_new(o, "behind_nat", json_boolean(d->behind_nat));
	/* additive (docs/control.md): gossip traffic counters and memory */
	json_t *g = json_object();
	json_object_set_new(g, "datagrams_sent", json_integer((json_int_t)st.dgrams_sent));
	json_object_set_new(g, "bytes_sent", json_integer((json_int_t)st.bytes_sent));
	json_object_set_new(g, "datagrams_received", json_integer((json_int_t)st.dgrams_recv));
	json_object_set_new(g, "bytes_received", json_integer((json_int_t)st.bytes_recv));
	json_object_set_new(g, "datagrams_bad", json_integer((json_int_t)st.dgrams_bad));
	json_object_set_new(g, "incarnation", json_integer((json_int_t)st.incarnation));
	json_object_set_new(g, "core_memory_bytes", json_integer((json_int_t)st.memory_bytes));
	json_object_set_new(o, "gossip", g);
	if (d->nat) {
		struct gsd_nat_stats ns;
		gsd_nat_stats(d->nat, &ns);
		json_t *nj = json_object();
		json_object_set_new(nj, "direct", json_integer(ns.direct));
		json_object_set_new(nj, "trying", json_integer(ns.trying));
		json_object_set_new(nj, "relayed", json_integer(ns.relayed));
		json_object_set_new(nj, "pokes", json_integer((json_int_t)ns.pokes));
		json_object_set_new(nj, "relay_switches", json_integer((json_int_t)ns.relay_switches));
		json_object_set_new(o, "nat", nj);
	}
	return o;
}

/* wg key -> member, built once per `peers` request (sorted, bsearch) */
struct keymap_entry {
	uint8_t key[32];
	uint8_t id[GSM_ID_LEN];
	char name[GSM_MAX_NAME + 1];
};

struct keymap_ctx {
	struct keymap_entry *v;
	size_t n, cap;
	struct gsm_advert *tmp;
};

static int keymap_add(void *arg, const struct gsm_swim_member *m)
{
	struct keymap_ctx *k = arg;
	if (!m->advert || gsm_advert_decode(m->advert, m->advert_len, k->tmp) < 0)
		return 0;
	if (k->n == k->cap) {
		size_t nc = k->cap ? k->cap * 2 : 64;
		struct keymap_entry *nv = realloc(k->v, nc * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		k->v = nv;
		k->cap = nc;
	}
	memcpy(k->v[k->n].key, k->tmp->wg_pubkey, 32);
	memcpy(k->v[k->n].id, m->id, GSM_ID_LEN);
	snprintf(k->v[k->n].name, sizeof(k->v[k->n].name), "%s", k->tmp->name);
	k->n++;
	return 0;
}

static int keymap_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32); /* key is the first member */
}

static void cmd_peers(struct gsd_daemon *d, struct gsd_ctl_client *c)
{
	json_t *arr = json_array();
	if (d->backend_kind == GSD_BACKEND_NONE) {
		gsd_ctl_reply_ok(c, arr);
		return;
	}
	struct gnl_wg_device *dev = NULL;
	int r = gsd_backend_get(d->be, &dev);
	if (r < 0) {
		json_decref(arr);
		gsd_ctl_reply_err(c, gsd_errno_name(r), "cannot read %s: %s", d->cfg.interface,
				  gnl_strerror(r));
		return;
	}
	struct keymap_ctx km = { 0 };
	km.tmp = malloc(sizeof(*km.tmp));
	if (km.tmp && gsm_swim_foreach(d->swim, keymap_add, &km) == 0 && km.n)
		qsort(km.v, km.n, sizeof(km.v[0]), keymap_cmp);
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct gnl_wg_peer *p = &dev->peers[i];
		char key[45], ep[GNL_SOCKADDR_STRLEN], id[2 * GSM_ID_LEN + 1];
		json_t *o = json_object();
		b64_key(p->public_key, key);
		json_object_set_new(o, "wg_public_key", json_string(key));
		const struct keymap_entry *e =
			km.n ? bsearch(p->public_key, km.v, km.n, sizeof(km.v[0]), keymap_cmp) : NULL;
		if (e) {
			hex_id(e->id, id);
			json_object_set_new(o, "name", json_string(e->name));
			json_object_set_new(o, "id", json_string(id));
		} else {
			json_object_set_new(o, "name", json_null());
			json_object_set_new(o, "id", json_null());
		}
		if (p->endpoint.sa.sa_family != AF_UNSPEC) {
			struct gsm_addr a;
			gsd_sockaddr_to_addr(&p->endpoint, &a);
			gsd_format_addr(&a, ep, sizeof(ep));
			json_object_set_new(o, "endpoint", json_string(ep));
		} else {
			json_object_set_new(o, "endpoint", json_null());
		}
		json_t *aips = json_array();
		for (size_t k = 0; k < p->n_allowedips; k++) {
			char b[GNL_PREFIX_STRLEN];
			json_array_append_new(aips, json_string(gnl_prefix_format(&p->allowedips[k], b, sizeof(b))));
		}
		json_object_set_new(o, "allowed_ips", aips);
		json_object_set_new(o, "latest_handshake", json_integer((json_int_t)p->last_handshake.tv_sec));
		json_object_set_new(o, "rx_bytes", json_integer((json_int_t)p->rx_bytes));
		json_object_set_new(o, "tx_bytes", json_integer((json_int_t)p->tx_bytes));
		json_object_set_new(o, "persistent_keepalive", json_integer(p->persistent_keepalive));
		uint8_t rid[GSM_ID_LEN];
		const char *relay_name = NULL;
		if (e && d->nat && gsd_nat_peer_path(d->nat, e->id, rid) == GSD_NAT_RELAYED) {
			relay_name = "";
			for (size_t k = 0; k < km.n; k++)
				if (!memcmp(km.v[k].id, rid, GSM_ID_LEN))
					relay_name = km.v[k].name;
		}
		json_object_set_new(o, "relayed", json_boolean(relay_name != NULL));
		json_object_set_new(o, "relay", relay_name ? json_string(relay_name) : json_null());
		json_array_append_new(arr, o);
	}
	free(km.tmp);
	free(km.v);
	gnl_wg_device_free(dev);
	gsd_ctl_reply_ok(c, arr);
}

static void on_join_closed(uv_handle_t *h)
{
	struct pending_join *pj = h->data;
	free(pj->addrs);
	free(pj->answered);
	free(pj);
}

static void join_finish(struct pending_join *pj, bool shutting_down)
{
	struct gsd_daemon *d = pj->d;
	if (pj->done)
		return;
	pj->done = true;
	for (struct pending_join **pp = &d->joins; *pp; pp = &(*pp)->next)
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
	struct pending_join *pj = d->joins, *next;
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

static void cmd_join(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	json_t *addrs = json_object_get(req, "addrs");
	if (!json_is_array(addrs) || json_array_size(addrs) == 0) {
		gsd_ctl_reply_err(c, "EINVAL", "join needs \"addrs\": a non-empty array of \"host:port\"");
		return;
	}
	size_t n = json_array_size(addrs);
	if (n > GSD_MAX_SEEDS)
		n = GSD_MAX_SEEDS;
	char (*strs)[GSD_SEED_LEN] = calloc(n, GSD_SEED_LEN);
	struct gsm_addr *res = calloc(n * 4, sizeof(*res));
	if (!strs || !res) {
		free(strs);
		free(res);
		gsd_ctl_reply_err(c, "ENOMEM", "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(addrs, i));
		char host[GSD_SEED_LEN];
		uint16_t port;
		if (!s || strlen(s) >= GSD_SEED_LEN ||
		    gsd_split_hostport(s, host, sizeof(host), &port, d->cfg.gossip_port) < 0) {
			gsd_ctl_reply_err(c, "EINVAL", "join: %s is not \"host:port\"", s ? s : "(not a string)");
			free(strs);
			free(res);
			return;
		}
		snprintf(strs[i], GSD_SEED_LEN, "%s", s);
	}
	size_t k = resolve_addrs((const char(*)[GSD_SEED_LEN])strs, n, d->cfg.gossip_port, res, n * 4);
	free(strs);
	if (k == 0) {
		free(res);
		gsd_ctl_reply_err(c, "EHOSTUNREACH", "join: no address could be resolved");
		return;
	}
	int r = gsm_swim_join(d->swim, res, k);
	kick(d);
	if (r < 0) {
		free(res);
		gsd_ctl_reply_err(c, gsd_errno_name(r), "join: %s", gsm_strerror(r));
		return;
	}
	json_t *wait = json_object_get(req, "wait_ms");
	if (wait && json_is_integer(wait) && json_integer_value(wait) > 0) {
		json_int_t ms = json_integer_value(wait);
		if (ms > 60000)
			ms = 60000;
		struct pending_join *pj = calloc(1, sizeof(*pj));
		bool *ans = calloc(k, sizeof(bool));
		if (!pj || !ans) {
			free(pj);
			free(ans);
			free(res);
			gsd_ctl_reply_err(c, "ENOMEM", "out of memory");
			return;
		}
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
		uv_timer_start(&pj->timer, on_join_timeout, (uint64_t)ms, 0);
		return;
	}
	free(res);
	json_t *o = json_object();
	json_object_set_new(o, "contacted", json_integer(r));
	gsd_ctl_reply_ok(c, o);
}

static void on_control(void *ctx, struct gsd_ctl_client *c, const char *cmd, json_t *req)
{
	struct gsd_daemon *d = ctx;
	if (!strcmp(cmd, "status")) {
		gsd_ctl_reply_ok(c, status_json(d));
	} else if (!strcmp(cmd, "members")) {
		gsd_ctl_reply_ok(c, members_json(d));
	} else if (!strcmp(cmd, "peers")) {
		cmd_peers(d, c);
	} else if (!strcmp(cmd, "join")) {
		cmd_join(d, c, req);
	} else if (!strcmp(cmd, "leave")) {
		struct pending_leave *p = calloc(1, sizeof(*p));
		if (!p) {
			gsd_ctl_reply_err(c, "ENOMEM", "out of memory");
			return;
		}
		p->c = c;
		p->next = d->leave_waiters;
		d->leave_waiters = p;
		start_leave(d);
	} else if (!strcmp(cmd, "reload")) {
		char msg[1024];
		int r = do_reload(d, msg, sizeof(msg));
		if (r < 0)
			gsd_ctl_reply_err(c, "EINVAL", "%s", msg);
		else
			gsd_ctl_reply_ok(c, NULL);
	} else {
		gsd_ctl_reply_err(c, "EOPNOTSUPP", "unknown command \"%s\"", cmd);
	}
}

/* ------------------------------------------------------------ signals */

static void on_signal(uv_signal_t *s, int signum)
{
	struct gsd_daemon *d = s->data;
	if (signum == SIGHUP) {
		char msg[1024];
		gsd_info("SIGHUP: reloading configuration");
		if (do_reload(d, msg, sizeof(msg)) < 0)
			gsd_err("reload failed, keeping the running configuration: %s", msg);
		return;
	}
	if (d->leaving) {
		gsd_warn("second signal: exiting now");
		stop_everything(d);
		return;
	}
	gsd_info("%s: leaving", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	start_leave(d);
}

/* ------------------------------------------------------------ startup */

static int open_udp(struct gsd_daemon *d, char *msg, size_t msglen)
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
			if (defaults && binds[i].family == 6 && (r == UV_EAFNOSUPPORT || r == UV_EADDRNOTAVAIL)) {
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

/* The gossip address others should use: a specific bind address, else the
 * source address the kernel picks toward the first seed, else the first
 * configured endpoint, else any global address of this host. */
static void pick_self_addr(struct gsd_daemon *d, struct gsm_addr *out)
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
	size_t n = resolve_addrs((const char(*)[GSD_SEED_LEN])d->cfg.seeds,
				 d->cfg.n_seeds < 4 ? d->cfg.n_seeds : 4, d->cfg.gossip_port, seeds, 4);
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

static void import_members(struct gsd_daemon *d)
{
	char path[PATH_MAX + 32];
	struct gsd_saved_member *v = NULL;
	size_t n = 0, skipped = 0, ok = 0;
	snprintf(path, sizeof(path), "%s/%s", d->cfg.state_dir, GSD_MEMBERS_FILE);
	int r = gsd_members_load(path, &v, &n, &skipped);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		gsd_warn("cannot read %s: %s", path, strerror(-r));
		return;
	}
	const uint8_t *self = gsm_identity_public(d->keys.identity);
	for (size_t i = 0; i < n; i++) {
		uint8_t id[GSM_ID_LEN];
		uint64_t g, ver;
		if (gsm_advert_peek(v[i].advert, v[i].advert_len, id, &g, &ver) < 0 ||
		    !memcmp(id, self, GSM_ID_LEN)) {
			skipped++;
			continue;
		}
		if (gsm_swim_import(d->swim, v[i].advert, v[i].advert_len,
				    v[i].gossip_addr.family ? &v[i].gossip_addr : NULL) < 0) {
			skipped++;
			continue;
		}
		ok++;
	}
	gsd_members_free(v, n);
	gsd_info("restored %zu members from %s%s", ok, path, skipped ? " (some entries skipped)" : "");
}

static int setup_overlay(struct gsd_daemon *d)
{
	const uint8_t *self = gsm_identity_public(d->keys.identity);
	if (d->cfg.has_ipv6_prefix)
		d->v6_prefix = d->cfg.ipv6_prefix;
	else
		gsd_overlay_ula48(d->cfg.cluster_name, &d->v6_prefix);
	gsd_overlay_v6(&d->v6_prefix, self, &d->v6);
	if (d->cfg.has_ipv4_prefix) {
		if (d->cfg.has_ipv4_address) {
			d->v4.family = 4;
			memcpy(d->v4.ip, d->cfg.ipv4_address.ip, 4);
			d->v4.len = 32;
		} else {
			gsd_overlay_v4_candidate(&d->cfg.ipv4_prefix, self, 0, &d->v4);
		}
		d->have_v4 = true;
	}
	return 0;
}

static int generate_cluster_key(const char *path)
{
	struct gsm_keyring *kr = NULL;
	uint8_t key[GSM_CLUSTER_KEY_LEN];
	int r = gsm_keyring_new("gossamer", &kr);
	if (r < 0)
		goto out;
	randombytes_buf(key, sizeof(key));
	r = gsm_keyring_add(kr, 1, key);
	sodium_memzero(key, sizeof(key));
	if (r < 0)
		goto out;
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "gossamerd: %s exists; refusing to overwrite\n", path);
		gsm_keyring_free(kr);
		return GSD_EXIT_CONFIG;
	}
	r = gsm_keyring_save(kr, path);
out:
	gsm_keyring_free(kr);
	if (r < 0) {
		fprintf(stderr, "gossamerd: %s: %s\n", path, gsm_strerror(r));
		return GSD_EXIT_RUNTIME;
	}
	fprintf(stderr, "gossamerd: wrote a new cluster key ring to %s\n", path);
	return GSD_EXIT_OK;
}

int gsd_main(int argc, char **argv)
{
	char msg[2048];
	struct gsd_daemon *d = calloc(1, sizeof(*d));
	int rc = GSD_EXIT_CONFIG, r;
	bool loop_inited = false;
	uv_loop_t loop;
	if (!d) {
		fprintf(stderr, "gossamerd: out of memory\n");
		return GSD_EXIT_RUNTIME;
	}
	if (gsm_crypto_init() < 0) {
		fprintf(stderr, "gossamerd: libsodium initialisation failed\n");
		free(d);
		return GSD_EXIT_RUNTIME;
	}
	signal(SIGPIPE, SIG_IGN);

	/* 1. flags + file; nothing is touched before this succeeds */
	if (gsd_cli_parse(&d->cli, argc, argv, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "gossamerd: %s\n", msg);
		goto out;
	}
	if (d->cli.help) {
		gsd_cli_usage(stdout);
		rc = GSD_EXIT_OK;
		goto out;
	}
	if (d->cli.version) {
		printf("gossamerd %s\n", GSM_VERSION);
		rc = GSD_EXIT_OK;
		goto out;
	}
	if (d->cli.gen_cluster_key) {
		rc = generate_cluster_key(d->cli.gen_cluster_key);
		goto out;
	}
	if (gsd_config_build(&d->cfg, &d->cli, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "gossamerd: %s\n", msg);
		goto out;
	}
	gsd_log_set_name(d->cfg.name);
	gsd_log_set_level(d->cfg.log_level);
	gsd_log_set_syslog(d->cfg.syslog);

	/* 2. cluster key ring */
	r = gsd_check_secret_file(d->cfg.cluster_key_file, msg, sizeof(msg));
	if (r == -ENOENT) {
		gsd_err("cluster key file %s does not exist (create one with `gossamerd --generate-cluster-key %s` and copy it to every node)",
			d->cfg.cluster_key_file, d->cfg.cluster_key_file);
		goto out;
	}
	if (r < 0) {
		gsd_err("cluster key: %s", msg);
		goto out;
	}
	r = gsm_keyring_load(d->cfg.cluster_key_file, d->cfg.cluster_name, &d->kr);
	if (r < 0) {
		gsd_err("cluster key file %s: %s", d->cfg.cluster_key_file, gsm_strerror(r));
		goto out;
	}

	/* 3. backend availability (no changes yet) */
	r = gsd_backend_probe(&d->cfg, &d->backend_kind, msg, sizeof(msg));
	if (r < 0) {
		gsd_err("%s", msg);
		goto out;
	}
	if (d->cli.check_config) {
		printf("configuration ok (backend %s)\n", gsd_backend_name(d->backend_kind));
		rc = GSD_EXIT_OK;
		goto out;
	}

	/* 4. state directory, keys, generation */
	if (gsd_state_dir_prepare(d->cfg.state_dir, msg, sizeof(msg)) < 0) {
		gsd_err("%s", msg);
		goto out;
	}
	if (gsd_keys_load(d->cfg.state_dir, &d->keys, msg, sizeof(msg)) < 0) {
		gsd_err("keys: %s", msg);
		goto out;
	}
	if (gsd_generation_bump(d->cfg.state_dir, (uint64_t)now_unix(), &d->generation, msg,
				sizeof(msg)) < 0) {
		gsd_err("%s", msg);
		goto out;
	}
	{
		char id[2 * GSM_ID_LEN + 1], key[45];
		hex_id(gsm_identity_public(d->keys.identity), id);
		b64_key(d->keys.wg_public, key);
		gsd_info("gossamerd %s starting: id %s%s, WireGuard key %s%s, generation %llu, backend %s",
			 GSM_VERSION, id, d->keys.identity_created ? " (new)" : "", key,
			 d->keys.wg_created ? " (new)" : "", (unsigned long long)d->generation,
			 gsd_backend_name(d->backend_kind));
	}

	/* 5. runtime */
	rc = GSD_EXIT_RUNTIME;
	uv_loop_init(&loop);
	loop_inited = true;
	d->loop = &loop;
	d->start_ms = now_ms();
	d->start_unix = now_unix();
	d->holdoff = true;
	uv_timer_init(&loop, &d->tick_timer);
	uv_timer_init(&loop, &d->refresh_timer);
	uv_timer_init(&loop, &d->persist_timer);
	uv_timer_init(&loop, &d->periodic_timer);
	uv_timer_init(&loop, &d->leave_timer);
	uv_timer_init(&loop, &d->exit_timer);
	uv_timer_init(&loop, &d->nat_timer);
	uv_timer_init(&loop, &d->grace_timer);
	d->nat_timer.data = d->grace_timer.data = d;
	d->tick_timer.data = d->refresh_timer.data = d->persist_timer.data = d;
	d->periodic_timer.data = d->leave_timer.data = d->exit_timer.data = d;

	if (open_udp(d, msg, sizeof(msg)) < 0) {
		gsd_err("%s", msg);
		goto out;
	}
	r = gsd_control_open(&loop, d->cfg.control_socket, on_control, d, &d->ctl);
	if (r < 0) {
		gsd_err("control socket %s: %s", d->cfg.control_socket,
			r == -EADDRINUSE ? "another gossamerd is answering on it" : strerror(-r));
		d->ctl = NULL;
		goto out;
	}
	r = gsd_backend_new(&d->be);
	if (r < 0) {
		gsd_err("out of memory");
		goto out;
	}
	r = gsd_backend_open(d->be, &d->cfg, d->backend_kind, &loop, msg, sizeof(msg));
	if (r < 0) {
		gsd_err("%s", msg);
		rc = GSD_EXIT_CONFIG;
		goto out;
	}

	setup_overlay(d);
	if (d->backend_kind != GSD_BACKEND_NONE) {
		if (gsd_nat_new(&d->nat) < 0) {
			gsd_err("out of memory");
			goto out;
		}
		if (d->cfg.relay) {
			r = gsd_nat_enable_forwarding();
			if (r < 0)
				gsd_warn("relay: cannot enable IP forwarding: %s", strerror(-r));
			else
				gsd_info("relay: IP forwarding enabled");
		}
	}
	struct gsm_swim_config sc;
	gsm_swim_config_default(&sc);
	sc.generation = d->generation;
	sc.probe_interval_ms = d->cfg.probe_interval_ms;
	if (sc.probe_timeout_ms > sc.probe_interval_ms / 2)
		sc.probe_timeout_ms = sc.probe_interval_ms / 2;
	sc.sync_interval_ms = d->cfg.sync_interval_ms;
	struct gsm_swim_env env = {
		.ctx = d, .now = env_now, .send = env_send, .random = env_random,
		.event = env_event, .log = env_log,
	};
	struct gsm_addr self_addr;
	pick_self_addr(d, &self_addr);
	r = gsm_swim_new(&sc, d->keys.identity, d->kr, &self_addr, &env, &d->swim);
	if (r < 0) {
		gsd_err("gossip core: %s", gsm_strerror(r));
		goto out;
	}
	advert_refresh(d, "start");
	if (!d->adv_version) {
		gsd_err("cannot publish own advert");
		goto out;
	}
	import_members(d);
	check_v4(d);
	/* re-apply the last known WireGuard state right away (adopting) */
	reconcile_wg(d);

	uv_signal_init(&loop, &d->sig_term);
	uv_signal_init(&loop, &d->sig_int);
	uv_signal_init(&loop, &d->sig_hup);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	uv_signal_start(&d->sig_term, on_signal, SIGTERM);
	uv_signal_start(&d->sig_int, on_signal, SIGINT);
	uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
	uv_timer_start(&d->periodic_timer, on_periodic, PERIODIC_MS, PERIODIC_MS);

	{
		char a[64], v4[32] = "none", v6[64];
		gsd_format_addr(&self_addr, a, sizeof(a));
		if (d->have_v4)
			inet_ntop(AF_INET, d->v4.ip, v4, sizeof(v4));
		inet_ntop(AF_INET6, d->v6.ip, v6, sizeof(v6));
		gsd_info("gossip at %s, overlay %s %s, control %s", a, v4, v6, d->cfg.control_socket);
	}
	r = do_join(d);
	if (r < 0)
		gsd_warn("join: %s", gsm_strerror(r));
	else if (d->cfg.n_seeds)
		gsd_info("joining: contacted %d address(es)", r);
	kick(d);

	d->exit_code = GSD_EXIT_OK;
	uv_run(&loop, UV_RUN_DEFAULT);
	rc = d->exit_code;
	gsd_info("stopped");

out:
	if (loop_inited) {
		if (!d->stopping && d->swim)
			persist_now(d);
		while (d->joins)
			join_finish(d->joins, true);
		gsd_control_close(d->ctl);
		d->ctl = NULL;
		gsd_backend_close(d->be);
		uv_walk(&loop, close_walk, NULL);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
	}
	gsd_backend_free(d->be);
	gsm_swim_free(d->swim);
	gsd_nat_free(d->nat);
	free(d->rx);
	while (d->leave_waiters) {
		struct pending_leave *p = d->leave_waiters;
		d->leave_waiters = p->next;
		free(p);
	}
	gsm_keyring_free(d->kr);
	gsd_keys_clear(&d->keys);
	sodium_memzero(d, sizeof(*d));
	free(d);
	return rc;
}
