/*
 * daemon/advert.c - what we tell the cluster about ourselves.
 *
 * Our advert is rebuilt from the configuration plus what we learned at
 * run time (observed endpoints, NAT, IPv4 overlay address, the relay we
 * use); gsd_advert_refresh() signs and publishes a new version only when
 * that changed, so calling it liberally is cheap and harmless.
 *
 * NAT detection: peers tell us the address they see our gossip socket at
 * (GSM_SWIM_EV_OBSERVED).  An address that is not one of ours means NAT;
 * it becomes an observed WireGuard endpoint (with our WireGuard port, a
 * guess that a public peer's WireGuard corrects later, EV_WG_OBSERVED)
 * and, behind NAT, our gossip address (note_gossip_observed).
 *
 * "One of ours" needs the host's addresses.  getifaddrs is a netlink dump:
 * cheap once, wasteful per observation in a large cluster.  The addresses
 * are cached and re-read when older than GSD_IFADDR_REFRESH_MS (10 s), or
 * on a miss when older than GSD_IFADDR_MISS_MS (1 s) so a freshly added
 * address is recognised quickly; a failed read treats every address as
 * local (no NAT claimed), as before.
 *
 * IPv4 overlay collisions: every new/updated member is checked against our
 * address as its event arrives (gsd_note_claim, from the cached record); the full
 * check (gsd_check_v4) runs on the next refresh only when a claim was seen.
 * Who keeps the address is decided by the rule every node applies to the
 * others' claims (daemon/policy.h: rank, incumbency, node id), so a
 * claimant that loses by it (a ground key, a late static claim) never makes
 * us move; the loser moves to its next derived address (overlay.c); a
 * static address is never moved, only reported.
 *
 * The acceptance policy's inputs live here too: this host's connected
 * networks (gsd_local_prefixes) and the claims-seen table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "daemon/clients.h"
#include "daemon/daemon_int.h"
#include "daemon/log.h"
#include "daemon/nat.h"
#include "daemon/overlay.h"
#include "daemon/policy.h"
#include "gossip/crypto.h"

/* ------------------------------------------------------------ local addresses */

void gsd_local_addrs_free(struct gsd_daemon *d)
{
	free(d->local_addrs);
	d->local_addrs = NULL;
	d->n_local_addrs = 0;
	d->local_addrs_ok = false;
}

static void local_addrs_read(struct gsd_daemon *d, uint64_t now)
{
	struct ifaddrs *ifa = NULL, *i;
	size_t n = 0;
	d->local_addrs_ms = now ? now : 1;
	gsd_local_addrs_free(d);
	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i; i = i->ifa_next)
		n++;
	d->local_addrs = calloc(n ? n : 1, sizeof(*d->local_addrs));
	if (!d->local_addrs) {
		freeifaddrs(ifa);
		return;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family != AF_INET && i->ifa_addr->sa_family != AF_INET6)
			continue;
		gsm_addr_from_sockaddr(i->ifa_addr, &d->local_addrs[d->n_local_addrs++]);
	}
	d->local_addrs_ok = true;
	freeifaddrs(ifa);
}

static bool local_addrs_has(const struct gsd_daemon *d, const struct gsm_addr *a)
{
	for (size_t i = 0; i < d->n_local_addrs; i++) {
		const struct gsm_addr *x = &d->local_addrs[i];
		if (x->family == a->family && !memcmp(x->ip, a->ip, a->family == 4 ? 4 : 16))
			return true;
	}
	return false;
}

/* Is a one of this host's addresses?  From the cache (see the top). */
static bool ip_is_local(struct gsd_daemon *d, const struct gsm_addr *a)
{
	uint64_t now = gsd_now_ms();
	uint64_t age = d->local_addrs_ms ? now - d->local_addrs_ms : UINT64_MAX;
	if (age >= GSD_IFADDR_REFRESH_MS)
		local_addrs_read(d, now);
	if (!d->local_addrs_ok)
		return true; /* cannot tell: assume no NAT */
	if (local_addrs_has(d, a))
		return true;
	if (age < GSD_IFADDR_REFRESH_MS && age >= GSD_IFADDR_MISS_MS) {
		local_addrs_read(d, now);
		return !d->local_addrs_ok || local_addrs_has(d, a);
	}
	return false;
}

/* loopback and IPv6 link-local observations tell nothing useful */
static bool uninformative(const struct gsm_addr *obs)
{
	static const uint8_t v6_lo[16] = {[15] = 1};
	return (obs->family == 4 && obs->ip[0] == 127) ||
	       (obs->family == 6 && (!memcmp(obs->ip, v6_lo, 16) ||
				     (obs->ip[0] == 0xfe && (obs->ip[1] & 0xc0) == 0x80)));
}

/* ------------------------------------------------------------ observed endpoints */

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
				 "keeping gossip address",
				 a);
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

void gsd_on_observed(struct gsd_daemon *d, const uint8_t *observer, const struct gsm_addr *obs)
{
	struct gsm_addr ep = *obs;
	if (!uninformative(obs))
		note_gossip_observed(d, obs, ip_is_local(d, obs));
	ep.port = d->cfg.wg_port;
	for (int i = 0; i < d->n_observed; i++)
		if (gsm_addr_equal(&d->observed[i].addr, &ep))
			return;
	for (int i = 0; i < d->cfg.n_endpoints; i++)
		if (d->cfg.endpoints[i].family == ep.family &&
		    !memcmp(d->cfg.endpoints[i].ip, ep.ip, 16))
			return;
	if (uninformative(obs))
		return;
	bool local = ip_is_local(d, obs);
	if (d->n_observed == GSD_MAX_OBSERVED) {
		memmove(&d->observed[0], &d->observed[1],
			sizeof(d->observed[0]) * (GSD_MAX_OBSERVED - 1));
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
	gsd_advert_refresh(d, "observed endpoint");
}

/* A public peer's WireGuard sees ours at this endpoint (wire key 14): exact,
 * where our gossip-observed IP with our WireGuard port was a guess (a NAT
 * that maps ports).  It replaces that observer's entry in our advert. */
void gsd_on_wg_observed(struct gsd_daemon *d, const uint8_t *observer, const struct gsm_addr *obs)
{
	if (d->cfg.public_node || !observer || !obs->port)
		return;
	static const uint8_t v6_lo[16] = {[15] = 1};
	if ((obs->family == 4 && obs->ip[0] == 127) ||
	    (obs->family == 6 && !memcmp(obs->ip, v6_lo, 16)))
		return;
	bool changed;
	d->n_observed = gsd_nat_merge_observed(d->observed, d->n_observed, GSD_MAX_OBSERVED,
					       observer, obs, &changed);
	if (!changed)
		return;
	char a[64], o[20];
	gsd_format_addr(obs, a, sizeof(a));
	gsd_short_id(observer, o);
	gsd_info("WireGuard of %s sees ours at %s", o, a);
	gsd_advert_refresh(d, "WireGuard-observed endpoint");
}

/* ------------------------------------------------------------ connected clusters */

/* A gateway (gateway = yes) does not advertise a configured prefix that
 * overlaps another member's accepted prefix (daemon/policy.h, the overlap
 * rule).  "Accepted" is what the last reconcile pass let through: the
 * claims table knows when it first saw each accepted claim and forgets the
 * others.  The withheld pairs are recomputed before every build of our
 * advert and after every reconcile pass (gsd_overlap_update); each new
 * (prefix, member) pair is logged once, and a prefix advertised again is
 * said so.  Until the startup hold-off ends (the first anti-entropy sync:
 * the mesh's adverts are known) a gateway advertises none of its
 * configured prefixes, so a restarted gateway never briefly joins two
 * clusters that share a CIDR. */

static bool is_gateway(const struct gsd_daemon *d)
{
	return d->cfg.gateway;
}

static bool overlap_waiting(const struct gsd_daemon *d)
{
	return is_gateway(d) && d->holdoff && d->backend_kind != GSD_BACKEND_NONE;
}

static bool gateway_holds(const struct gsd_daemon *d, const struct gsm_prefix *p)
{
	if (!is_gateway(d))
		return false;
	return overlap_waiting(d) || gsd_policy_is_withheld(d->pol.withheld, d->pol.n_withheld, p);
}

/* the routed prefixes of the other members that the last pass accepted */
static int collect_rivals(struct gsd_daemon *d, const struct gsd_policy_table *t,
			  struct gsd_policy_rival **out, size_t *n_out)
{
	struct gsd_policy_rival *v = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < gsd_memcache_count(d->members); i++) {
		const struct gsd_member *m = gsd_memcache_at(d->members, i);
		if (m->is_self || !m->has_advert)
			continue;
		for (uint8_t k = 0; k < m->n_prefixes; k++) {
			uint64_t first = gsd_policy_table_first_seen(t, &m->prefixes[k], m->id);
			if (!first)
				continue; /* refused, or its member is not a peer */
			if (gsc_grow(&v, &cap, n + 1, sizeof(*v)) < 0) {
				free(v);
				return -ENOMEM;
			}
			struct gsd_policy_rival *r = &v[n++];
			memset(r, 0, sizeof(*r));
			r->prefix = m->prefixes[k];
			memcpy(r->id, m->id, GSM_ID_LEN);
			snprintf(r->name, sizeof(r->name), "%s", m->name);
			r->gateway = (m->flags & GSM_ADV_GATEWAY) != 0;
			r->first_seen_ms = first;
		}
	}
	*out = v;
	*n_out = n;
	return 0;
}

/* the withheld pairs of our configured prefixes now (*out: caller's) */
static int overlap_pairs(struct gsd_daemon *d, struct gsd_policy_withheld **out, size_t *n_out)
{
	const struct gsd_config *c = &d->cfg;
	struct gsd_policy_table *t = gsd_policy_table_of(d);
	struct gsd_policy_rival *rv = NULL;
	size_t n_rv = 0;
	uint64_t since[GSM_MAX_PREFIXES];
	*out = NULL;
	*n_out = 0;
	if (!t)
		return -ENOMEM;
	int r = collect_rivals(d, t, &rv, &n_rv);
	if (r < 0 || !n_rv)
		goto out;
	const uint8_t *self = gsm_identity_public(d->keys.identity);
	uint64_t now = gsd_now_ms(), contact = gsd_policy_table_self_since(t);
	for (int i = 0; i < c->n_prefixes; i++) {
		/* ours since our advert first carried it, and not before our
		 * first contact with the mesh */
		uint64_t s = gsd_policy_table_first_seen(t, &c->prefixes[i], self);
		since[i] = s ? s : now;
		if (contact > since[i])
			since[i] = contact;
	}
	r = gsd_policy_withhold(c->prefixes, (size_t)c->n_prefixes, since, self, rv, n_rv, out,
				n_out);
out:
	free(rv);
	return r;
}

static void log_overlap_changes(const struct gsd_daemon *d, const struct gsd_policy_withheld *v,
				size_t n)
{
	char own[64], theirs[64];
	for (size_t i = 0; i < n; i++) {
		if (gsd_policy_withheld_has(d->pol.withheld, d->pol.n_withheld, &v[i]))
			continue;
		gsd_format_prefix(&v[i].prefix, own, sizeof(own));
		gsd_format_prefix(&v[i].member_prefix, theirs, sizeof(theirs));
		gsd_warn(
		    "not advertising %s: overlaps %s of member %s (connected clusters must not "
		    "share CIDRs)",
		    own, theirs, v[i].name);
	}
	for (size_t i = 0; i < d->pol.n_withheld; i++) {
		const struct gsm_prefix *p = &d->pol.withheld[i].prefix;
		if (gsd_policy_is_withheld(v, n, p) ||
		    gsd_policy_is_withheld(d->pol.withheld, i, p)) /* said once */
			continue;
		gsd_format_prefix(p, own, sizeof(own));
		gsd_info("advertising %s again: it no longer overlaps another member's prefix",
			 own);
	}
}

/* Recompute the withheld pairs (kept on failure to allocate). */
static void overlap_recompute(struct gsd_daemon *d)
{
	struct gsd_policy_withheld *v = NULL;
	size_t n = 0;
	if (is_gateway(d) && d->cfg.n_prefixes > 0 && overlap_pairs(d, &v, &n) < 0)
		return;
	log_overlap_changes(d, v, n);
	free(d->pol.withheld);
	d->pol.withheld = v;
	d->pol.n_withheld = n;
}

void gsd_overlap_update(struct gsd_daemon *d)
{
	gsd_advert_refresh(d, "connected clusters: overlap rule");
}

json_t *gsd_view_not_advertised(const struct gsd_daemon *d)
{
	json_t *a = json_array();
	char own[64], theirs[64];
	for (size_t i = 0; a && i < d->pol.n_withheld; i++) {
		const struct gsd_policy_withheld *w = &d->pol.withheld[i];
		json_t *o = json_object();
		if (!o)
			break;
		gsd_format_prefix(&w->prefix, own, sizeof(own));
		gsd_format_prefix(&w->member_prefix, theirs, sizeof(theirs));
		json_object_set_new(o, "prefix", json_string(own));
		json_object_set_new(o, "reason", json_string("overlap"));
		json_object_set_new(o, "member", json_string(w->name));
		json_object_set_new(o, "member_prefix", json_string(theirs));
		json_array_append_new(a, o);
	}
	return a;
}

/* ------------------------------------------------------------ own advert */

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
		   (c->gateway ? GSM_ADV_GATEWAY : 0) | (c->exit ? GSM_ADV_EXIT : 0) |
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
		if (!gateway_holds(d, &c->prefixes[i])) /* connected clusters */
			a->prefixes[a->n_prefixes++] = c->prefixes[i];
	a->n_prefixes +=
	    gsd_clients_advertise(d, a->prefixes + a->n_prefixes, GSM_MAX_PREFIXES - a->n_prefixes);
	a->n_labels = c->n_labels;
	memcpy(a->labels, c->labels, sizeof(c->labels[0]) * c->n_labels);
	if (d->relay_via_set) {
		a->has_relay_via = 1;
		memcpy(a->relay_via, d->relay_via, GSM_ID_LEN);
	}
	qsort(a->labels, a->n_labels, sizeof(a->labels[0]), label_cmp);
	/* authority mode: our certificate chain (authority_run.c) */
	a->n_certs = d->auth.chain.n;
	for (uint8_t i = 0; i < d->auth.chain.n; i++) {
		a->cert_len[i] = d->auth.chain.len[i];
		memcpy(a->certs[i], d->auth.chain.cert[i], d->auth.chain.len[i]);
	}
}

void gsd_advert_refresh(struct gsd_daemon *d, const char *why)
{
	struct gsm_advert *a = malloc(sizeof(*a));
	uint8_t *buf = malloc(GSM_MAX_ADVERT);
	if (!a || !buf)
		goto out;
	overlap_recompute(d);
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
	gsd_kick(d);
out:
	free(a);
	free(buf);
}

void gsd_setup_overlay(struct gsd_daemon *d)
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
}

/* ------------------------------------------------------------ acceptance policy */

int gsd_local_prefixes(const char *exclude_ifname, struct gsm_prefix **out, size_t *n_out)
{
	struct ifaddrs *ifa = NULL;
	size_t n = 0, cap = 0;
	struct gsm_prefix *v = NULL;
	if (getifaddrs(&ifa) < 0)
		return -errno;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr || !i->ifa_netmask)
			continue;
		int fam = i->ifa_addr->sa_family;
		if (fam != AF_INET && fam != AF_INET6)
			continue;
		if (exclude_ifname && i->ifa_name && !strcmp(i->ifa_name, exclude_ifname))
			continue;
		struct gsm_addr a, m;
		if (gsm_addr_from_sockaddr(i->ifa_addr, &a) < 0 ||
		    gsm_addr_from_sockaddr(i->ifa_netmask, &m) < 0)
			continue;
		if (gsc_grow(&v, &cap, n + 1, sizeof(*v)) < 0) {
			free(v);
			freeifaddrs(ifa);
			return -ENOMEM;
		}
		struct gsm_prefix *p = &v[n++];
		memset(p, 0, sizeof(*p));
		p->family = a.family;
		memcpy(p->ip, a.ip, 16);
		for (unsigned b = 0; b < (a.family == 4 ? 4u : 16u); b++)
			p->len += (uint8_t)__builtin_popcount(m.ip[b]);
		gsd_policy_normalize(p);
	}
	freeifaddrs(ifa);
	*out = v;
	*n_out = n;
	return 0;
}

static void log_drop(void *ctx, const struct gsd_policy_drop *x)
{
	char pfx[64], id[17], wid[17];
	gsd_format_prefix(&x->prefix, pfx, sizeof(pfx));
	(void)ctx;
	if (x->reason == GSD_POL_UNCERTIFIED)
		return; /* logged when the advert arrived (authority_run.c) */
	gsd_short_id(x->id, id);
	if (x->has_winner) {
		gsd_short_id(x->winner, wid);
		gsd_warn("claim dropped: %s from %s (%s): %s, kept by %s (%s)", pfx, x->name, id,
			 gsd_policy_reason_name(x->reason), x->winner_name, wid);
	} else {
		gsd_warn("claim dropped: %s from %s (%s): %s", pfx, x->name, id,
			 gsd_policy_reason_name(x->reason));
	}
}

/* the claims table is made on first use (NULL if that allocation fails:
 * callers then decide without incumbency) */
struct gsd_policy_table *gsd_policy_table_of(struct gsd_daemon *d)
{
	if (!d->pol.table)
		d->pol.table = gsd_policy_table_new(log_drop, NULL);
	return d->pol.table;
}

void gsd_policy_state_free(struct gsd_daemon *d)
{
	gsd_policy_table_free(d->pol.table);
	free(d->pol.connected);
	free(d->pol.withheld);
	memset(&d->pol, 0, sizeof(d->pol));
}

const struct gsd_policy *gsd_policy_of(struct gsd_daemon *d)
{
	uint64_t now = gsd_now_ms();
	if (!d->pol.connected_ms || now - d->pol.connected_ms >= GSD_IFADDR_REFRESH_MS) {
		struct gsm_prefix *v;
		size_t n;
		d->pol.connected_ms = now ? now : 1;
		if (gsd_local_prefixes(d->cfg.interface, &v, &n) == 0) {
			free(d->pol.connected);
			d->pol.connected = v;
			d->pol.n_connected = n;
		}
	}
	struct gsd_policy *p = &d->pol.pol;
	p->has_v4_prefix = d->cfg.has_ipv4_prefix;
	p->v4_prefix = d->cfg.ipv4_prefix;
	p->v6_prefix = d->v6_prefix;
	p->connected = d->pol.connected;
	p->n_connected = d->pol.n_connected;
	p->accept = d->cfg.accept;
	p->n_accept = d->cfg.n_accept;
	return p;
}

/* ------------------------------------------------------------ IPv4 collisions */

/* Does this (new or revived) member claim our IPv4 overlay address with a
 * lower node id?  Checked per event from the member's cached record,
 * instead of scanning every member on every change (which is quadratic in
 * a large cluster). */
void gsd_note_claim(struct gsd_daemon *d, const struct gsd_member *m)
{
	if (!d->have_v4 || !m->has_advert || m->is_self)
		return;
	struct gsd_policy_table *t = gsd_policy_table_of(d);
	uint64_t now = gsd_now_ms();
	size_t others = gsd_memcache_count(d->members);
	if (t)
		gsd_policy_table_contact(t, others > 0 ? others - 1 : 0, now);
	for (int i = 0; i < m->n_overlay; i++) {
		if (m->overlay[i].family != 4)
			continue;
		if (t) /* incumbency counts from the first sighting */
			(void)gsd_policy_table_seen(t, &m->overlay[i], m->id, now);
		if (!memcmp(m->overlay[i].ip, d->v4.ip, 4))
			d->v4_conflict = true; /* gsd_check_v4 decides by the rule */
	}
}

struct claims_ctx {
	struct gsd_v4_claim *v;
	size_t n, cap;
};

/* the IPv4 overlay addresses that alive/suspect members claim, with when
 * we first saw each claim */
static int collect_claims(struct gsd_daemon *d, struct claims_ctx *cc)
{
	struct gsd_policy_table *t = gsd_policy_table_of(d);
	uint64_t now = gsd_now_ms();
	for (size_t k = 0; k < gsd_memcache_count(d->members); k++) {
		const struct gsd_member *m = gsd_memcache_at(d->members, k);
		if (m->is_self || !m->has_advert)
			continue;
		if (m->state != GSM_STATE_ALIVE && m->state != GSM_STATE_SUSPECT)
			continue;
		for (int i = 0; i < m->n_overlay; i++) {
			if (m->overlay[i].family != 4)
				continue;
			if (gsc_grow(&cc->v, &cc->cap, cc->n + 1, sizeof(*cc->v)) < 0)
				return -ENOMEM;
			memcpy(cc->v[cc->n].node_id, m->id, GSM_ID_LEN);
			memcpy(cc->v[cc->n].ip, m->overlay[i].ip, 4);
			cc->v[cc->n].first_seen_ms =
			    t ? gsd_policy_table_seen(t, &m->overlay[i], m->id, now) : now;
			cc->n++;
		}
	}
	return 0;
}

void gsd_check_v4(struct gsd_daemon *d)
{
	if (!d->cfg.has_ipv4_prefix || !d->swim)
		return;
	struct claims_ctx cc = {0};
	if (collect_claims(d, &cc) < 0)
		goto out;
	const uint8_t *self = gsm_identity_public(d->keys.identity);
	if (d->cfg.has_ipv4_address) {
		for (size_t i = 0; i < cc.n; i++) {
			if (memcmp(cc.v[i].ip, d->v4.ip, 4))
				continue;
			if (!d->static_conflict_logged) {
				char sid[17], ip[32];
				gsd_short_id(cc.v[i].node_id, sid);
				inet_ntop(AF_INET, d->v4.ip, ip, sizeof(ip));
				gsd_err("IPv4 collision: static address %s is also claimed by node "
					"%s; fix the configuration",
					ip, sid);
				d->static_conflict_logged = true;
			}
		}
		goto out;
	}
	struct gsm_prefix pick;
	struct gsd_policy_table *t = gsd_policy_table_of(d);
	uint64_t since = t ? gsd_policy_table_self_since(t) : 0;
	int winner;
	int attempt =
	    gsd_overlay_v4_pick(&d->cfg.ipv4_prefix, self, cc.v, cc.n, d->have_v4 ? &d->v4 : NULL,
				since ? since : gsd_now_ms(), &pick, &winner);
	if (attempt < 0) {
		gsd_err("IPv4 overlay prefix exhausted");
		goto out;
	}
	if (!d->have_v4 || memcmp(pick.ip, d->v4.ip, 4)) {
		char from[32] = "", to[32];
		if (d->have_v4)
			inet_ntop(AF_INET, d->v4.ip, from, sizeof(from));
		inet_ntop(AF_INET, pick.ip, to, sizeof(to));
		if (d->have_v4 && winner >= 0) {
			char holder[17];
			const struct gsd_v4_claim *w = &cc.v[winner];
			gsd_short_id(w->node_id, holder);
			uint32_t rank = gsd_policy_v4_rank(&d->cfg.ipv4_prefix, w->node_id, w->ip);
			uint32_t ours = gsd_policy_v4_rank(&d->cfg.ipv4_prefix, self, d->v4.ip);
			const char *why = rank < ours ? "better-ranked" : "lower";
			if (rank == ours && w->first_seen_ms + GSD_POLICY_INCUMBENT_MS <=
						(since ? since : gsd_now_ms()))
				why = "incumbent";
			gsd_warn("IPv4 collision: %s is claimed by %s node id %s (its attempt %u, "
				 "ours %u); moving to %s (attempt %d)",
				 from, why, holder, rank, ours, to, attempt);
		}
		d->v4 = pick;
		d->have_v4 = true;
		gsd_advert_refresh(d, "IPv4 address moved");
	}
out:
	free(cc.v);
}
