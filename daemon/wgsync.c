/*
 * daemon/wgsync.c - membership -> WireGuard.
 *
 * Membership changes schedule a debounced refresh; the refresh runs one
 * reconcile pass that reads the device, computes the device we want from
 * the members (daemon/reconcile.c, pure), lets the NAT planner adjust it
 * (daemon/nat.c, pure), keeps unknown peers during the startup hold-off,
 * and applies only the difference, then syncs the overlay addresses and
 * the routes of advertised prefixes.  The pass is a list of phases over
 * one struct wg_pass, called in order by gsd_reconcile_wg; each phase
 * returns <0 to abandon the pass (nothing half-applied: apply is one
 * backend call, addresses and routes are idempotent syncs).
 *
 * Timers: refresh (debounce), grace (the next dead/left grace expiry),
 * nat (the planner's next deadline: poke, punch slot) and periodic (10 s,
 * catches handshake/rx changes nothing else reports).  Grace and nat
 * reconcile at once, without the debounce.
 *
 * Members come from the member cache (daemon/members.c): adverts are
 * decoded once per version, not once per pass.
 *
 * Static peers (static_peers) are added to the desired device after the
 * members, so every pass keeps them (a member with the same key wins);
 * they are never removed, survive restarts (they are configuration) and
 * their routes go into our table like members' prefixes.  Any other peer
 * on the interface (a foreign peer: not a member, not static) is removed
 * once the startup hold-off is over, and the removal is logged once per
 * key, naming it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/clients.h"
#include "daemon/daemon_int.h"
#include "daemon/log.h"
#include "daemon/nat.h"
#include "daemon/reconcile.h"
#include "gossip/crypto.h"

#define PERIODIC_MS    10000
#define FOREIGN_LOGGED 32 /* foreign keys whose removal was logged (a ring) */

/* one reconcile pass: what the phases share */
struct wg_pass {
	struct gsd_daemon *d;
	struct gnl_wg_device *cur;  /* the device as read */
	struct gnl_wg_device *want; /* the device we want */
	struct snap_ctx {
		struct gsd_rc_member *m;
		size_t n;
	} s; /* reconcile input over the member cache */
	struct gsd_rc_input in;
	struct gsm_prefix managed[2]; /* the overlay prefixes we manage */
	size_t n_managed;
};

static void on_refresh(uv_timer_t *t);

/* ------------------------------------------------------------ rx tracking */

static int rxmark_cmp(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static void rx_track(struct gsd_daemon *d, const struct gnl_wg_device *cur, uint64_t now)
{
	struct gsd_rxmark *nx = calloc(cur->n_peers ? cur->n_peers : 1, sizeof(*nx));
	if (!nx)
		return; /* keep the old marks */
	for (size_t i = 0; i < cur->n_peers; i++) {
		const struct gnl_wg_peer *p = &cur->peers[i];
		const struct gsd_rxmark *o =
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
	const struct gsd_rxmark *o =
	    d->n_rx ? bsearch(key, d->rx, d->n_rx, sizeof(*d->rx), rxmark_cmp) : NULL;
	return o ? o->grew_ms : 0;
}

/* ------------------------------------------------------------ snapshot */

/* The reconcile input: one entry per member of the member cache that has
 * an advert (self excluded), pointing at the cached record.  The cache is
 * resynced first as a safety net for anything an event did not carry
 * (decoding nothing when nothing changed), so a pass allocates one small
 * entry per member, never a decoded advert.  0 or -ENOMEM. */
static int snapshot_members(struct gsd_daemon *d, struct snap_ctx *s)
{
	int r = gsd_memcache_sync(d->members, d->swim);
	if (r < 0)
		return r;
	size_t n = gsd_memcache_count(d->members);
	s->m = calloc(n ? n : 1, sizeof(*s->m));
	if (!s->m)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct gsd_member *x = gsd_memcache_at(d->members, i);
		if (x->is_self || !x->has_advert)
			continue;
		s->m[s->n++] = (struct gsd_rc_member){
		    .mem = x,
		    .state = x->state,
		    .state_since_ms = x->state_since_ms,
		    .gossip_addr = x->gossip_addr,
		    .last_rx_ms = rx_grew_ms(d, x->wg_pubkey),
		};
	}
	return 0;
}

static void managed_prefixes(struct gsd_daemon *d, struct gsm_prefix *out, size_t *n)
{
	*n = 0;
	if (d->cfg.has_ipv4_prefix)
		out[(*n)++] = d->cfg.ipv4_prefix;
	out[(*n)++] = d->v6_prefix;
}

static void on_nat_timer(uv_timer_t *t)
{
	struct gsd_daemon *d = t->data;
	/* a poke to finish or a punch slot: reconcile now, no debounce */
	uv_timer_stop(&d->refresh_timer);
	d->refresh_timer.data = d;
	on_refresh(&d->refresh_timer);
}

/* ------------------------------------------------------------ reconcile phases */

/* read: the device as it is (repairing a vanished interface once), and
 * the rx progress of its peers */
static int phase_read(struct wg_pass *p)
{
	struct gsd_daemon *d = p->d;
	int r = gsd_backend_get(d->be, &p->cur);
	if (r < 0 && gsd_backend_repair(d->be, &d->cfg, d->loop) > 0)
		r = gsd_backend_get(d->be, &p->cur);
	if (r < 0) {
		gsd_warn("cannot read WireGuard device %s: %s %s", d->cfg.interface,
			 gnl_strerror(r), gsd_backend_errmsg(d->be));
		return r;
	}
	rx_track(d, p->cur, gsd_now_ms());
	return 0;
}

/* wake up when the next dead/left grace period runs out, rather than
 * waiting for the periodic refresh */
static void arm_grace_timer(struct wg_pass *p)
{
	struct gsd_daemon *d = p->d;
	uint64_t first = UINT64_MAX;
	for (size_t i = 0; i < p->s.n; i++) {
		uint64_t g = p->s.m[i].state == GSM_STATE_DEAD	 ? d->cfg.dead_grace_ms
			     : p->s.m[i].state == GSM_STATE_LEFT ? d->cfg.left_grace_ms
								 : 0;
		uint64_t exp = p->s.m[i].state_since_ms + g;
		if (g && exp > p->in.now_ms && exp < first)
			first = exp;
	}
	uv_timer_stop(&d->grace_timer);
	if (first != UINT64_MAX && !d->stopping)
		uv_timer_start(&d->grace_timer, on_nat_timer, first - p->in.now_ms + 20, 0);
}

/* static peers: the configured key, allowed IPs and endpoint; a PSK or
 * keepalive set by hand on the interface is kept */
static int add_static_peers(struct wg_pass *p)
{
	const struct gsd_config *cfg = &p->d->cfg;
	for (int i = 0; i < cfg->n_static_peers; i++) {
		const struct gsd_static_peer *sp = &cfg->static_peers[i];
		if (gnl_wg_device_find_peer(p->want, sp->key))
			continue; /* also a member: the member's peer wins */
		struct gnl_wg_peer *np;
		int r = gnl_wg_device_add_peer(p->want, sp->key, &np);
		if (r < 0)
			return r;
		const struct gnl_wg_peer *cp =
		    p->cur ? gnl_wg_device_find_peer(p->cur, sp->key) : NULL;
		if (cp) {
			np->persistent_keepalive = cp->persistent_keepalive;
			np->has_preshared_key = cp->has_preshared_key;
			memcpy(np->preshared_key, cp->preshared_key, 32);
		}
		if (sp->has_endpoint)
			gsd_addr_to_sockaddr(&sp->endpoint, &np->endpoint);
		for (int k = 0; k < sp->n_allowed; k++) {
			struct gnl_prefix g;
			gsd_prefix_to_gnl(&sp->allowed[k], &g);
			r = gnl_wg_peer_add_allowedip(np, &g);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* authority mode: say why a member's peer goes (its certificate), once:
 * when the peer is still on the device */
static void log_cert_removals(const struct wg_pass *p, const enum gsd_rc_verdict *v)
{
	for (size_t i = 0; i < p->s.n && p->cur; i++) {
		const struct gsd_member *m = p->s.m[i].mem;
		if (v[i] != GSD_RC_CERT || !gnl_wg_device_find_peer(p->cur, m->wg_pubkey))
			continue;
		gsd_info("removing the WireGuard peer of %s: %s", m->name,
			 gsd_reconcile_cert_reason(p->in.authority_mode, m->cert_status));
	}
}

/* desired: snapshot the members and compute the device we want */
static int phase_desired(struct wg_pass *p)
{
	struct gsd_daemon *d = p->d;
	int r = snapshot_members(d, &p->s);
	if (r < 0)
		return r;
	p->in = (struct gsd_rc_input){
	    .self_behind_nat = d->behind_nat,
	    .keepalive = d->cfg.persistent_keepalive,
	    .dead_grace_ms = d->cfg.dead_grace_ms,
	    .left_grace_ms = d->cfg.left_grace_ms,
	    .now_ms = gsd_now_ms(),
	    .now_unix = gsd_now_unix(),
	    .current = p->cur,
	    .members = p->s.m,
	    .n_members = p->s.n,
	    .policy = gsd_policy_of(d),
	    .claims_seen = gsd_policy_table_of(d),
	    .self_mem = gsd_memcache_find(d->members, gsm_identity_public(d->keys.identity)),
	    .authority_mode = gsd_config_authority_mode(&d->cfg),
	};
	memcpy(p->in.self_id, gsm_identity_public(d->keys.identity), GSM_ID_LEN);
	memcpy(p->in.self_wg_pubkey, d->keys.wg_public, 32);
	r = gnl_wg_device_new(d->cfg.interface, &p->want);
	if (r < 0)
		return r;
	p->want->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT;
	memcpy(p->want->private_key, d->keys.wg_private, 32);
	p->want->listen_port = d->cfg.wg_port;
	enum gsd_rc_verdict *v = malloc((p->s.n ? p->s.n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r = gsd_reconcile_desired(&p->in, p->want, v);
	if (r == 0)
		log_cert_removals(p, v);
	free(v);
	if (r < 0)
		return r;
	r = add_static_peers(p);
	if (r < 0)
		return r;
	r = gsd_clients_reconcile(d, p->cur, p->want);
	if (r < 0)
		return r;
	arm_grace_timer(p);
	return 0;
}

/* public side: tell NATed members where our WireGuard sees them */
static void report_wg_observed(struct wg_pass *p)
{
	struct gsd_daemon *d = p->d;
	for (size_t i = 0; i < p->s.n && p->cur; i++) {
		const struct gnl_wg_peer *cp =
		    gnl_wg_device_find_peer(p->cur, p->s.m[i].mem->wg_pubkey);
		struct gsm_addr ep;
		if (!gsd_nat_wg_report(p->s.m[i].mem, cp, d->behind_nat, p->in.now_unix, &ep))
			memset(&ep, 0, sizeof(ep));
		gsm_swim_set_wg_observed(d->swim, p->s.m[i].mem->id, &ep);
	}
}

/* NAT plan: endpoints, punching and relays adjust the wanted device */
static int phase_nat(struct wg_pass *p)
{
	struct gsd_daemon *d = p->d;
	if (!d->nat)
		return 0;
	struct gsd_nat_input nin = {
	    .self_behind_nat = d->behind_nat,
	    .self_relay = d->cfg.relay,
	    .keepalive = d->cfg.persistent_keepalive,
	    .now_ms = p->in.now_ms,
	    .now_unix_ms = (int64_t)gsd_now_unix() * 1000,
	    .current = p->cur,
	    .members = p->s.m,
	    .n_members = p->s.n,
	};
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
		nin.now_unix_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	memcpy(nin.self_id, p->in.self_id, GSM_ID_LEN);
	randombytes_buf(&nin.jitter_rand, sizeof(nin.jitter_rand));
	uint64_t next = UINT64_MAX;
	int r = gsd_nat_plan(d->nat, &nin, p->want, &next);
	if (r < 0)
		return r;
	report_wg_observed(p);
	uv_timer_stop(&d->nat_timer);
	if (next != UINT64_MAX && !d->stopping) {
		uint64_t n = gsd_now_ms();
		uv_timer_start(&d->nat_timer, on_nat_timer, next > n ? next - n : 0, 0);
	}
	uint8_t relay[GSM_ID_LEN];
	bool has = gsd_nat_relay_in_use(d->nat, relay);
	if (has != d->relay_via_set || (has && memcmp(relay, d->relay_via, GSM_ID_LEN))) {
		d->relay_via_set = has;
		memcpy(d->relay_via, relay, GSM_ID_LEN);
		gsd_advert_refresh(d, has ? "relaying through a public node" : "direct again");
	}
	return 0;
}

/* startup hold-off: keep peers we do not know (yet), until the first
 * anti-entropy sync completed or dead_grace passed */
static int phase_holdoff(struct wg_pass *p)
{
	struct gsd_daemon *d = p->d;
	if (!d->holdoff)
		return 0;
	struct gsm_swim_stats st;
	gsm_swim_stats(d->swim, &st);
	if (st.last_sync_ms > d->start_ms || gsd_now_ms() - d->start_ms > d->cfg.dead_grace_ms) {
		d->holdoff = false;
		return 0;
	}
	for (size_t i = 0; i < p->cur->n_peers; i++) {
		const struct gnl_wg_peer *cp = &p->cur->peers[i];
		if (gnl_wg_device_find_peer(p->want, cp->public_key))
			continue;
		struct gnl_wg_peer *np;
		int r = gnl_wg_device_add_peer(p->want, cp->public_key, &np);
		if (r < 0)
			return r;
		np->persistent_keepalive = cp->persistent_keepalive;
		np->has_preshared_key = cp->has_preshared_key;
		memcpy(np->preshared_key, cp->preshared_key, 32);
		for (size_t k = 0; k < cp->n_allowedips; k++)
			gnl_wg_peer_add_allowedip(np, &cp->allowedips[k]);
	}
	return 0;
}

/* foreign peers removed by this pass: not members (with or without a
 * peer wanted now) and not static; logged once per key */
static void log_foreign_removals(struct wg_pass *p, const struct gnl_wg_ops *ops)
{
	static uint8_t logged[FOREIGN_LOGGED][32];
	static size_t next;
	for (size_t i = 0; i < ops->n_ops; i++) {
		const uint8_t *key = ops->ops[i].public_key;
		bool member = false, seen = false;
		if (ops->ops[i].kind != GNL_WG_OP_REMOVE)
			continue;
		for (size_t k = 0; k < p->s.n && !member; k++)
			member = !memcmp(p->s.m[k].mem->wg_pubkey, key, 32);
		for (size_t k = 0; k < FOREIGN_LOGGED && !seen; k++)
			seen = !memcmp(logged[k], key, 32);
		if (member || seen)
			continue;
		char b64[45];
		gsd_b64_key(key, b64);
		gsd_warn("removing WireGuard peer %s from %s: not a member and not in static_peers",
			 b64, p->d->cfg.interface);
		memcpy(logged[next], key, 32);
		next = (next + 1) % FOREIGN_LOGGED;
	}
}

/* exit node: /0 for the chosen exit, the fwmark, rules (daemon/exit.h) */
static int phase_exit(struct wg_pass *p)
{
	return gsd_exit_sync(p->d, p->cur, p->want);
}

/* apply: diff wanted against current, hand the ops to the backend, log */
static int phase_apply(struct wg_pass *p)
{
	struct gsd_daemon *d = p->d;
	struct gnl_wg_ops *ops = NULL;
	int r = gnl_wg_diff(p->want, p->cur, &ops);
	if (r < 0) {
		gsd_warn("WireGuard diff failed: %s", gnl_strerror(r));
		return r;
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
		log_foreign_removals(p, ops);
		r = gsd_backend_apply(d->be, ops);
		if (r < 0)
			gsd_warn("applying WireGuard changes to %s failed: %s %s", d->cfg.interface,
				 gnl_strerror(r), gsd_backend_errmsg(d->be));
		else
			gsd_info("WireGuard %s: %zu added, %zu updated, %zu removed%s",
				 d->cfg.interface, add, upd, rem,
				 ops->dev_changed ? ", device settings" : "");
		d->wg_changes++;
	}
	gnl_wg_ops_free(ops);
	return 0;
}

/* addresses: our overlay addresses on the interface */
static int phase_addresses(struct wg_pass *p)
{
	struct gsd_daemon *d = p->d;
	struct gsm_prefix addrs[2];
	size_t n_addrs = 0;
	if (d->have_v4) {
		addrs[n_addrs] = d->v4;
		addrs[n_addrs++].len = d->cfg.ipv4_prefix.len;
	}
	addrs[n_addrs] = d->v6;
	addrs[n_addrs++].len = d->v6_prefix.len;
	managed_prefixes(d, p->managed, &p->n_managed);
	gsd_backend_sync_addrs(d->be, addrs, n_addrs, p->managed, p->n_managed);
	return 0;
}

/* overlay host routes come with the interface's own address; only
 * prefixes outside the managed ones need a route */
static bool in_managed(const struct wg_pass *p, const struct gsm_prefix *pf)
{
	for (size_t j = 0; j < p->n_managed; j++)
		if (gsm_prefix_contains(&p->managed[j], pf))
			return true;
	return false;
}

static bool prefix_has_sockaddr(const struct gsm_prefix *pf, const union gnl_sockaddr *sa)
{
	struct gsm_prefix host = {0};
	if (sa->sa.sa_family == AF_INET) {
		host.family = 4;
		memcpy(host.ip, &sa->in.sin_addr, 4);
	} else if (sa->sa.sa_family == AF_INET6) {
		host.family = 6;
		memcpy(host.ip, &sa->in6.sin6_addr, 16);
	} else {
		return false;
	}
	host.len = host.family == 4 ? 32 : 128;
	return pf->len <= host.len && gsm_prefix_contains(pf, &host);
}

/* A prefix containing the endpoint of a peer (or a member's gossip
 * address) would route the tunnel's own packets into the tunnel: never
 * routed, whatever the acceptance policy let through. */
static bool captures_endpoint(const struct wg_pass *p, const struct gsm_prefix *pf)
{
	const struct gnl_wg_device *devs[2] = {p->want, p->cur};
	for (int d = 0; d < 2; d++)
		for (size_t i = 0; devs[d] && i < devs[d]->n_peers; i++)
			if (prefix_has_sockaddr(pf, &devs[d]->peers[i].endpoint))
				return true;
	for (size_t i = 0; i < p->s.n; i++) {
		union gnl_sockaddr sa;
		if (!p->s.m[i].gossip_addr.family)
			continue;
		gsd_addr_to_sockaddr(&p->s.m[i].gossip_addr, &sa);
		if (prefix_has_sockaddr(pf, &sa))
			return true;
	}
	return false;
}

/* log a prefix refused by captures_endpoint once (a small ring) */
static void log_endpoint_capture(struct gsd_daemon *d, const struct gsm_prefix *pf)
{
	static struct gsm_prefix logged[16];
	static size_t n, next;
	for (size_t i = 0; i < n; i++)
		if (gsm_prefix_equal(&logged[i], pf))
			return;
	char buf[64];
	gsd_format_prefix(pf, buf, sizeof(buf));
	gsd_warn("not routing %s into %s: it contains a peer's endpoint or a member's gossip "
		 "address",
		 buf, d->cfg.interface);
	logged[next] = *pf;
	next = (next + 1) % 16;
	if (n < 16)
		n++;
}

/* routes: for the advertised prefixes of the peers we configured */
static int phase_routes(struct wg_pass *p)
{
	struct gsd_daemon *d = p->d;
	const struct gnl_wg_device *want = p->want;
	size_t n_routes = 0;
	for (size_t i = 0; i < want->n_peers; i++)
		n_routes += want->peers[i].n_allowedips;
	struct gsm_prefix *routes = calloc(n_routes ? n_routes : 1, sizeof(*routes));
	if (!routes)
		return -ENOMEM;
	n_routes = 0;
	for (size_t i = 0; i < want->n_peers; i++)
		for (size_t k = 0; k < want->peers[i].n_allowedips; k++) {
			struct gsm_prefix pf;
			gsd_gnl_to_prefix(&want->peers[i].allowedips[k], &pf);
			if (in_managed(p, &pf) || pf.len == 0) /* /0: exit.c routes it */
				continue;
			if (captures_endpoint(p, &pf))
				log_endpoint_capture(d, &pf);
			else
				routes[n_routes++] = pf;
		}
	gsd_backend_sync_routes(d->be, routes, n_routes);
	free(routes);
	return 0;
}

void gsd_reconcile_wg(struct gsd_daemon *d)
{
	static int (*const phases[])(struct wg_pass *) = {
	    phase_read, phase_desired, phase_nat,	phase_holdoff,
	    phase_exit, phase_apply,   phase_addresses, phase_routes,
	};
	struct wg_pass p = {.d = d};
	if (d->backend_kind == GSD_BACKEND_NONE || !d->swim)
		return;
	d->reconciles++;
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++)
		if (phases[i](&p) < 0)
			break;
	gsd_overlap_update(d); /* connected clusters: the overlap rule (advert.c) */
	gsd_gateway_apply(d->gw, &d->cfg, &d->adv);
	gnl_wg_device_free(p.want);
	gnl_wg_device_free(p.cur);
	free(p.s.m);
}

/* ------------------------------------------------------------ timers */

static void on_refresh(uv_timer_t *t)
{
	struct gsd_daemon *d = t->data;
	if (d->stopping)
		return;
	if (d->v4_conflict) {
		d->v4_conflict = false;
		gsd_check_v4(d);
	}
	gsd_reconcile_wg(d);
	gsd_kick(d);
}

void gsd_schedule_refresh(struct gsd_daemon *d)
{
	if (d->stopping || uv_is_active((uv_handle_t *)&d->refresh_timer))
		return;
	uv_timer_start(&d->refresh_timer, on_refresh, d->cfg.reconcile_debounce_ms, 0);
}

static void on_periodic(uv_timer_t *t)
{
	struct gsd_daemon *d = t->data;
	if (d->backend_kind != GSD_BACKEND_NONE)
		gsd_schedule_refresh(d);
}

void gsd_wgsync_start(struct gsd_daemon *d)
{
	uv_timer_start(&d->periodic_timer, on_periodic, PERIODIC_MS, PERIODIC_MS);
}
