/*
 * daemon/gateway.c - forwarding and masquerading for a subnet router.
 *
 * Design: each reconcile pass computes the whole wanted state from three
 * inputs (the configuration, the prefixes in our advert, the main routing
 * table) and diffs it against what this module last applied: a set of
 * interface names holding IPv4 forwarding, one bit for IPv6 forwarding,
 * and the text of the nft table.  Nothing is read back from the kernel to
 * decide (the forwarding module remembers previous values; the nft module
 * replaces a table whole), so a pass that changes nothing costs one route
 * dump and no writes.  The egress interfaces come from the main table, not
 * from a route lookup, because our own rule (table 51821) and an exit
 * node's rules sit before main: the question is "which local interface
 * reaches the site", which only main answers.  The table is named by
 * gsd_nft_table_name so a second mesh on the host has its own.
 *
 * SNAT matches iifname <mesh> and oifname != <mesh>: packets between two
 * members through us (or to a client of ours) keep their source; only
 * what leaves toward the site is masqueraded.
 */
#include "daemon/gateway.h"

#include <errno.h>
#include <stdarg.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/prefix.h"
#include "daemon/log.h"
#include "daemon/nft.h"
#include "daemon/reconcile.h"

#define BODY_MAX 8192

struct gsd_gateway {
	struct gsd_forward *fwd;
	struct gnl_rtnl *rtnl; /* opened on first need */
	char ifname[IFNAMSIZ];
	char table[64];
	bool synced; /* the first pass ran (stale table removed) */
	char *text;  /* body of the table in place; NULL = no table */
	bool enabled, snat;
	char fwd_if[GSD_FORWARD_MAX][IFNAMSIZ]; /* IPv4 forwarding held */
	size_t n_fwd;
	bool fwd6; /* IPv6 (all) forwarding held */
	struct gsm_prefix prefixes[GSM_MAX_PREFIXES];
	size_t n_prefixes;
	char last_err[256]; /* the last failure logged (logged once) */
};

/* interface names go into nft strings: keep to a safe alphabet */
static bool nft_safe_ifname(const char *s)
{
	if (!s[0] || strlen(s) >= IFNAMSIZ)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return false;
	return true;
}

int gsd_gateway_new(struct gsd_gateway **out, struct gsd_forward *fwd, const char *ifname)
{
	*out = NULL;
	if (!nft_safe_ifname(ifname))
		return -EINVAL;
	struct gsd_gateway *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->fwd = fwd;
	snprintf(g->ifname, sizeof(g->ifname), "%s", ifname);
	if (gsd_nft_table_name("gateway", ifname, g->table, sizeof(g->table)) < 0) {
		free(g);
		return -EINVAL;
	}
	*out = g;
	return 0;
}

void gsd_gateway_free(struct gsd_gateway *g)
{
	if (!g)
		return;
	gnl_rtnl_close(g->rtnl);
	free(g->text);
	free(g);
}

/* ------------------------------------------------------------ pure parts */

/* "a, b" of the prefixes of family fam (4/6); how many. */
static size_t prefix_set(const struct gsm_prefix *p, size_t n, int fam, char *out, size_t cap)
{
	size_t k = 0, off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char buf[64];
		if (p[i].family != fam)
			continue;
		gsd_format_prefix(&p[i], buf, sizeof(buf));
		int w = snprintf(out + off, cap - off, "%s%s", k ? ", " : "", buf);
		if (w < 0 || (size_t)w >= cap - off)
			return 0;
		off += (size_t)w;
		k++;
	}
	return k;
}

int gsd_gateway_render(const char *ifname, const struct gsm_prefix *p, size_t n, char *out,
		       size_t cap)
{
	char set[4096];
	size_t off = 0;
	int w;
	out[0] = '\0';
	if (!n)
		return 0;
	w = snprintf(out, cap,
		     "chain postrouting { type nat hook postrouting priority 100; policy "
		     "accept;\n");
	if (w < 0 || (size_t)w >= cap)
		return -EMSGSIZE;
	off = (size_t)w;
	static const struct {
		int fam;
		const char *kw;
	} fams[] = {{4, "ip"}, {6, "ip6"}};
	for (size_t f = 0; f < 2; f++) {
		if (!prefix_set(p, n, fams[f].fam, set, sizeof(set)))
			continue;
		w = snprintf(out + off, cap - off,
			     "  iifname \"%s\" oifname != \"%s\" %s daddr { %s } masquerade\n",
			     ifname, ifname, fams[f].kw, set);
		if (w < 0 || (size_t)w >= cap - off)
			return -EMSGSIZE;
		off += (size_t)w;
	}
	w = snprintf(out + off, cap - off, "}\n");
	return w < 0 || (size_t)w >= cap - off ? -EMSGSIZE : 0;
}

static bool route_in_family(const struct gnl_route *r, const struct gsm_prefix *p)
{
	return (p->family == 4 && r->dst.family == AF_INET) ||
	       (p->family == 6 && r->dst.family == AF_INET6);
}

static size_t add_unique(uint32_t *out, size_t k, size_t cap, uint32_t ifindex)
{
	for (size_t i = 0; i < k; i++)
		if (out[i] == ifindex)
			return k;
	if (k < cap)
		out[k++] = ifindex;
	return k;
}

/* the main-table route containing p with the longest prefix (then the
 * lowest metric); NULL if none */
static const struct gnl_route *covering(const struct gsm_prefix *p, const struct gnl_route *routes,
					size_t n_routes)
{
	const struct gnl_route *best = NULL;
	for (size_t i = 0; i < n_routes; i++) {
		const struct gnl_route *r = &routes[i];
		if (!r->ifindex || !route_in_family(r, p))
			continue;
		if (!gsc_prefix_covers(r->dst.addr.b, r->dst.cidr, p->ip, p->len))
			continue;
		if (!best || r->dst.cidr > best->dst.cidr ||
		    (r->dst.cidr == best->dst.cidr && r->metric < best->metric))
			best = r;
	}
	return best;
}

size_t gsd_gateway_egress(const struct gsm_prefix *p, size_t n, const struct gnl_route *routes,
			  size_t n_routes, uint32_t *out, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		const struct gnl_route *c = covering(&p[i], routes, n_routes);
		if (c)
			k = add_unique(out, k, cap, c->ifindex);
		for (size_t j = 0; j < n_routes; j++) {
			const struct gnl_route *r = &routes[j];
			if (!r->ifindex || !route_in_family(r, &p[i]) || r->dst.cidr <= p[i].len)
				continue;
			if (gsc_prefix_covers(p[i].ip, p[i].len, r->dst.addr.b, r->dst.cidr))
				k = add_unique(out, k, cap, r->ifindex);
		}
	}
	return k;
}

/* ------------------------------------------------------------ runtime */

static void note_err(struct gsd_gateway *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note_err(struct gsd_gateway *g, const char *fmt, ...)
{
	char msg[sizeof(g->last_err)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (strcmp(msg, g->last_err))
		gsd_warn("gateway: %s", msg);
	snprintf(g->last_err, sizeof(g->last_err), "%s", msg);
}

/* wanted IPv4 forwarding interfaces: the mesh interface and the egress
 * interfaces of the IPv4 prefixes (not lo).  How many, into want. */
static size_t wanted_v4(struct gsd_gateway *g, char want[][IFNAMSIZ], size_t cap)
{
	struct gsm_prefix v4[GSM_MAX_PREFIXES];
	size_t n4 = 0, k = 0;
	for (size_t i = 0; i < g->n_prefixes; i++)
		if (g->prefixes[i].family == 4)
			v4[n4++] = g->prefixes[i];
	if (!n4)
		return 0;
	snprintf(want[k++], IFNAMSIZ, "%s", g->ifname);
	struct gnl_route *routes = NULL;
	size_t nr = 0;
	int r = g->rtnl ? 0 : gnl_rtnl_open(&g->rtnl);
	if (r == 0)
		r = gnl_route_list(g->rtnl, 0, 0, &routes, &nr);
	if (r < 0) {
		note_err(g, "cannot read the main routing table: %s", strerror(-r));
		return k;
	}
	uint32_t idx[GSD_FORWARD_MAX];
	size_t ni = gsd_gateway_egress(v4, n4, routes, nr, idx, GSD_FORWARD_MAX);
	free(routes);
	for (size_t i = 0; i < ni && k < cap; i++) {
		char name[IF_NAMESIZE];
		if (!if_indextoname(idx[i], name) || !strcmp(name, "lo") ||
		    !strcmp(name, g->ifname))
			continue;
		snprintf(want[k++], IFNAMSIZ, "%s", name);
	}
	return k;
}

static bool in_list(char list[][IFNAMSIZ], size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

static void sync_forwarding(struct gsd_gateway *g)
{
	char want[GSD_FORWARD_MAX][IFNAMSIZ];
	size_t nw = g->enabled ? wanted_v4(g, want, GSD_FORWARD_MAX) : 0;
	for (size_t i = 0; i < g->n_fwd; i++)
		if (!in_list(want, nw, g->fwd_if[i]))
			gsd_forward_release(g->fwd, GSD_FWD_GATEWAY, g->fwd_if[i], AF_INET);
	g->n_fwd = 0;
	for (size_t i = 0; i < nw; i++) {
		int r = gsd_forward_enable(g->fwd, GSD_FWD_GATEWAY, want[i], AF_INET,
					   "gateway for advertise_prefixes");
		if (r < 0)
			note_err(g, "cannot enable IPv4 forwarding on %s: %s", want[i],
				 strerror(-r));
		else
			snprintf(g->fwd_if[g->n_fwd++], IFNAMSIZ, "%s", want[i]);
	}
	bool want6 = false;
	for (size_t i = 0; g->enabled && i < g->n_prefixes; i++)
		want6 = want6 || g->prefixes[i].family == 6;
	if (want6 && !g->fwd6) {
		int r = gsd_forward_enable(g->fwd, GSD_FWD_GATEWAY, NULL, AF_INET6,
					   "gateway for IPv6 advertise_prefixes");
		if (r < 0)
			note_err(g, "cannot enable IPv6 forwarding: %s", strerror(-r));
		g->fwd6 = r == 0;
	} else if (!want6 && g->fwd6) {
		gsd_forward_release(g->fwd, GSD_FWD_GATEWAY, NULL, AF_INET6);
		g->fwd6 = false;
	}
}

/* replace or delete the table when its wanted text changed */
static void sync_table(struct gsd_gateway *g)
{
	char *body = NULL, err[512] = "";
	int r = 0;
	if (g->snat && g->n_prefixes) {
		body = malloc(BODY_MAX);
		if (!body ||
		    gsd_gateway_render(g->ifname, g->prefixes, g->n_prefixes, body, BODY_MAX) < 0) {
			note_err(g, "cannot render table %s", g->table);
			free(body);
			return;
		}
	}
	bool same =
	    g->synced && ((!body && !g->text) || (body && g->text && !strcmp(body, g->text)));
	if (same) {
		free(body);
		return;
	}
	r = body ? gsd_nft_replace("inet", g->table, body, err, sizeof(err))
		 : gsd_nft_delete("inet", g->table, err, sizeof(err));
	if (r < 0) {
		note_err(g, "nftables refused table %s: %s", g->table, err);
		free(body);
		return;
	}
	if (body || g->text)
		gsd_info("gateway: table inet %s %s", g->table, body ? "in place" : "removed");
	free(g->text);
	g->text = body;
	g->synced = true;
}

void gsd_gateway_apply(struct gsd_gateway *g, const struct gsd_config *c,
		       const struct gsm_advert *adv)
{
	if (!g)
		return;
	if (c->gateway != g->enabled || (c->gateway && c->gateway_snat) != g->snat)
		gsd_info("gateway: %s%s", c->gateway ? "on" : "off",
			 c->gateway ? (c->gateway_snat ? ", SNAT into the advertised prefixes"
						       : ", no SNAT (the site routes back)")
				    : "");
	g->enabled = c->gateway;
	g->snat = c->gateway && c->gateway_snat;
	g->n_prefixes = 0;
	for (size_t i = 0; g->enabled && i < adv->n_prefixes && i < GSM_MAX_PREFIXES; i++)
		g->prefixes[g->n_prefixes++] = adv->prefixes[i];
	sync_forwarding(g);
	sync_table(g);
}

void gsd_gateway_stop(struct gsd_gateway *g)
{
	char err[512] = "";
	if (!g)
		return;
	if (g->text && gsd_nft_delete("inet", g->table, err, sizeof(err)) < 0)
		gsd_warn("gateway: cannot remove table inet %s: %s", g->table, err);
	else if (g->text)
		gsd_info("gateway: table inet %s removed", g->table);
	free(g->text);
	g->text = NULL;
	gsd_forward_release(g->fwd, GSD_FWD_GATEWAY, NULL, AF_UNSPEC);
	g->n_fwd = 0;
	g->fwd6 = false;
}

json_t *gsd_gateway_view(const struct gsd_gateway *g, const struct gsd_config *c)
{
	json_t *o = json_object(), *fw = json_array(), *pf = json_array();
	json_object_set_new(o, "enabled", json_boolean(c->gateway));
	json_object_set_new(o, "snat", json_boolean(c->gateway && c->gateway_snat));
	for (size_t i = 0; g && i < g->n_fwd; i++)
		json_array_append_new(fw, json_string(g->fwd_if[i]));
	if (g && g->fwd6)
		json_array_append_new(fw, json_string("all (IPv6)"));
	for (size_t i = 0; g && i < g->n_prefixes; i++) {
		char buf[64];
		gsd_format_prefix(&g->prefixes[i], buf, sizeof(buf));
		json_array_append_new(pf, json_string(buf));
	}
	json_object_set_new(o, "forwarding", fw);
	json_object_set_new(o, "prefixes", pf);
	json_object_set_new(o, "table", json_string(g && g->text ? g->table : ""));
	return o;
}
