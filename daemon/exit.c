/*
 * daemon/exit.c - exit nodes: the consumer's policy routing and the exit's
 * forwarding and NAT (daemon/exit.h; docs/routing.md "Exit nodes").
 *
 * Design.  An exit node does not advertise 0.0.0.0/0: the GSM_ADV_EXIT
 * flag is its offer, so the route-safety policy (/0 is never accepted as
 * a prefix) stays as it is, and a member only ever sends the whole
 * internet to a node it chose by name.  The consumer's side copies
 * wg-quick's well-tried recipe instead of inventing one: the chosen
 * exit's peer gets /0 in its allowed IPs, a table of its own holds the
 * default routes via the mesh interface, `not fwmark M` sends every
 * unmarked packet there while `lookup main suppress_prefixlength 0` first
 * gives the LAN and every specific route of main precedence, and the
 * packets that must stay on the underlay (WireGuard's own UDP, gossip)
 * carry the mark M.
 *
 * Everything runs inside the reconcile pass, so a choice always matches
 * the peers of that same pass: failover is the pass that sees the chosen
 * exit dead (or not a peer any more) and picks the next; coming back is
 * the pass that sees a preferred exit alive again.  The order of changes
 * is what keeps the tunnel out of its own way: on, the fwmark goes onto
 * the device first and the rules only once the device shows it (the next
 * pass, scheduled at once); off, the rules go first and the fwmark is
 * put back afterwards.  What was there before (the device's fwmark) is
 * remembered and restored; rules and routes are ours alone (our table,
 * our priorities, protocol GSD_RTPROT) and are removed exactly.
 *
 * The exit's side is small: forwarding for the mesh interface and the
 * default-route interfaces (daemon/forward.h), and one nftables table
 * (daemon/nft.h) masquerading the overlay's traffic that leaves through
 * another interface, re-rendered on every pass and replaced only when
 * its text changed.
 */
#include "daemon/exit.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include "daemon/backend.h"
#include "daemon/daemon_int.h"
#include "daemon/forward.h"
#include "daemon/log.h"
#include "daemon/nft.h"
#include "daemon/reconcile.h"
#include "netlink/rtnl.h"

#define NFT_TEXT_MAX 1024

struct gsd_exit {
	struct gnl_rtnl *rtnl; /* opened on first use */
	/* offering */
	bool offering;
	char nft_name[64];
	char nft_text[NFT_TEXT_MAX]; /* "" = no table installed */
	/* run-time choice (`exit_node`), over the configuration until reload */
	bool override;
	int n_override;
	char override_names[GSD_MAX_EXIT_NODES][GSM_MAX_NAME + 1];
	/* consumer: what is installed */
	bool routed; /* rules and routes installed */
	uint32_t r_table, r_priority, r_fwmark, r_ifindex;
	bool swept;	    /* stale rules of an earlier run removed once */
	bool mark_set;	    /* the device's fwmark is ours */
	uint32_t mark_prev; /* the device's fwmark before ours */
	uint32_t sock_mark; /* SO_MARK on the gossip sockets */
	/* the exit in use */
	bool using;
	char using_name[GSM_MAX_NAME + 1];
	uint8_t using_id[GSM_ID_LEN];
};

int gsd_exit_new(struct gsd_exit **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	return 0;
}

void gsd_exit_free(struct gsd_exit *x)
{
	if (!x)
		return;
	gnl_rtnl_close(x->rtnl);
	free(x);
}

static struct gnl_rtnl *rtnl_of(struct gsd_exit *x)
{
	if (!x->rtnl && gnl_rtnl_open(&x->rtnl) < 0)
		x->rtnl = NULL;
	return x->rtnl;
}

/* ------------------------------------------------------------ offering */

/* the interfaces of main's default routes, other than the mesh's */
static size_t default_ifaces(struct gsd_exit *x, uint32_t mesh_if, char out[][IFNAMSIZ], size_t cap)
{
	struct gnl_route *v = NULL;
	size_t n = 0, k = 0;
	if (!rtnl_of(x) || gnl_route_list(x->rtnl, 0, 0, &v, &n) < 0)
		return 0;
	for (size_t i = 0; i < n && k < cap; i++) {
		char name[IFNAMSIZ];
		bool dup = false;
		if (v[i].dst.cidr || v[i].ifindex == mesh_if || !if_indextoname(v[i].ifindex, name))
			continue;
		for (size_t j = 0; j < k && !dup; j++)
			dup = !strcmp(out[j], name);
		if (!dup)
			snprintf(out[k++], IFNAMSIZ, "%s", name);
	}
	free(v);
	return k;
}

/* the masquerade of the overlay prefixes leaving through another
 * interface; 0 or -ENOSPC */
static int render_nft(const struct gsd_daemon *d, char *buf, size_t cap)
{
	char p4[64], p6[64], l4[160] = "";
	gsd_format_prefix(&d->v6_prefix, p6, sizeof(p6));
	if (d->cfg.has_ipv4_prefix) {
		gsd_format_prefix(&d->cfg.ipv4_prefix, p4, sizeof(p4));
		snprintf(l4, sizeof(l4), "  ip saddr %s oifname != \"%s\" masquerade\n", p4,
			 d->cfg.interface);
	}
	int n = snprintf(buf, cap,
			 "chain postrouting {\n"
			 "  type nat hook postrouting priority 100; policy accept;\n"
			 "%s"
			 "  ip6 saddr %s oifname != \"%s\" masquerade\n"
			 "}\n",
			 l4, p6, d->cfg.interface);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

static void offer_on(struct gsd_daemon *d, uint32_t mesh_if)
{
	struct gsd_exit *x = d->exitn;
	char ifs[8][IFNAMSIZ], text[NFT_TEXT_MAX], err[256] = "";
	size_t n = default_ifaces(x, mesh_if, ifs, 8);
	gsd_forward_enable(&d->fwd, GSD_FWD_EXIT, d->cfg.interface, AF_INET, "exit node");
	for (size_t i = 0; i < n; i++)
		gsd_forward_enable(&d->fwd, GSD_FWD_EXIT, ifs[i], AF_INET, "exit node");
	gsd_forward_enable(&d->fwd, GSD_FWD_EXIT, NULL, AF_INET6, "exit node");
	if (!x->offering)
		gsd_info("exit node: offering %s's default route to the mesh",
			 n ? ifs[0] : "(no default route yet)");
	x->offering = true;
	if (render_nft(d, text, sizeof(text)) < 0 || !strcmp(text, x->nft_text))
		return;
	if (!*x->nft_name)
		gsd_nft_table_name("exit", d->cfg.interface, x->nft_name, sizeof(x->nft_name));
	if (gsd_nft_replace("inet", x->nft_name, text, err, sizeof(err)) < 0) {
		gsd_warn("exit node: cannot install nftables table %s: %s", x->nft_name, err);
		return;
	}
	snprintf(x->nft_text, sizeof(x->nft_text), "%s", text);
}

static void offer_off(struct gsd_daemon *d)
{
	struct gsd_exit *x = d->exitn;
	char err[256] = "";
	if (*x->nft_text && gsd_nft_delete("inet", x->nft_name, err, sizeof(err)) < 0)
		gsd_warn("exit node: cannot delete nftables table %s: %s", x->nft_name, err);
	x->nft_text[0] = 0;
	gsd_forward_release(&d->fwd, GSD_FWD_EXIT, NULL, AF_UNSPEC);
	if (x->offering)
		gsd_info("exit node: no longer offered");
	x->offering = false;
}

/* ------------------------------------------------------------ choosing */

static void wanted_names(const struct gsd_daemon *d, const char (**names)[GSM_MAX_NAME + 1], int *n)
{
	const struct gsd_exit *x = d->exitn;
	if (x && x->override) {
		*names = x->override_names;
		*n = x->n_override;
	} else {
		*names = d->cfg.exit_nodes;
		*n = d->cfg.n_exit_nodes;
	}
}

/* the first wanted member that is alive, a peer in want and an exit */
static const struct gsd_member *choose(const struct gsd_daemon *d, struct gnl_wg_device *want)
{
	const char(*names)[GSM_MAX_NAME + 1];
	int n;
	wanted_names(d, &names, &n);
	size_t count = gsd_memcache_count(d->members);
	for (int k = 0; k < n; k++)
		for (size_t i = 0; i < count; i++) {
			const struct gsd_member *m = gsd_memcache_at(d->members, i);
			if (m->is_self || !m->has_advert || strcmp(m->name, names[k]))
				continue;
			if (m->state != GSM_STATE_ALIVE && m->state != GSM_STATE_SUSPECT)
				continue;
			if (!(m->flags & GSM_ADV_EXIT) ||
			    !gnl_wg_device_find_peer(want, m->wg_pubkey))
				continue;
			return m;
		}
	return NULL;
}

static int wanted_count(const struct gsd_daemon *d)
{
	const char(*names)[GSM_MAX_NAME + 1];
	int n;
	wanted_names(d, &names, &n);
	return n;
}

static void note_choice(struct gsd_daemon *d, const struct gsd_member *m)
{
	struct gsd_exit *x = d->exitn;
	if (m && x->using && !memcmp(m->id, x->using_id, GSM_ID_LEN))
		return;
	if (!m && !x->using)
		return;
	if (m)
		gsd_info("exit node: using %s%s%s", m->name, x->using ? " instead of " : "",
			 x->using ? x->using_name : "");
	else
		gsd_info("exit node: not using %s any more%s", x->using_name,
			 wanted_count(d) ? " (no wanted exit is alive, a peer and offering)" : "");
	x->using = m != NULL;
	if (m) {
		snprintf(x->using_name, sizeof(x->using_name), "%s", m->name);
		memcpy(x->using_id, m->id, GSM_ID_LEN);
	}
}

/* ------------------------------------------------------------ routing */

/* the four rules (two per family) and two routes of one installation */
static void rules_of(uint32_t table, uint32_t priority, uint32_t mark, struct gnl_rule out[4])
{
	static const int fams[2] = {AF_INET, AF_INET6};
	for (int i = 0; i < 2; i++) {
		out[2 * i] = (struct gnl_rule){.family = fams[i],
					       .priority = priority,
					       .table = RT_TABLE_MAIN,
					       .suppress_prefixlen = 0,
					       .protocol = GSD_RTPROT};
		out[2 * i + 1] = (struct gnl_rule){.family = fams[i],
						   .priority = priority + 1,
						   .table = table,
						   .suppress_prefixlen = -1,
						   .protocol = GSD_RTPROT,
						   .fwmark = mark,
						   .invert = true};
	}
}

static void routes_of(uint32_t table, uint32_t ifindex, struct gnl_route out[2])
{
	out[0] = (struct gnl_route){
	    .dst = {.family = AF_INET}, .ifindex = ifindex, .table = table, .protocol = GSD_RTPROT};
	out[1] = out[0];
	out[1].dst.family = AF_INET6;
}

/* remove what one installation put in (absent parts are fine) */
static int unroute(struct gsd_exit *x, uint32_t table, uint32_t priority, uint32_t mark,
		   uint32_t ifindex)
{
	struct gnl_rule rules[4];
	struct gnl_route routes[2];
	int r = 0;
	rules_of(table, priority, mark, rules);
	routes_of(table, ifindex, routes);
	for (int i = 3; i >= 0; i--) {
		int e = gnl_rule_del(x->rtnl, &rules[i]);
		r = r ? r : e;
	}
	for (int i = 0; i < 2; i++) {
		int e = gnl_route_del(x->rtnl, &routes[i]);
		r = r ? r : e;
	}
	return r;
}

/* routes first, then the rules that use them */
static int route(struct gsd_exit *x, uint32_t table, uint32_t priority, uint32_t mark,
		 uint32_t ifindex)
{
	struct gnl_rule rules[4];
	struct gnl_route routes[2];
	int r = 0;
	rules_of(table, priority, mark, rules);
	routes_of(table, ifindex, routes);
	for (int i = 0; i < 2 && !r; i++)
		r = gnl_route_add(x->rtnl, &routes[i]);
	for (int i = 0; i < 4 && !r; i++)
		r = gnl_rule_add(x->rtnl, &rules[i]);
	return r;
}

static void set_sock_marks(struct gsd_daemon *d, uint32_t mark)
{
	struct gsd_exit *x = d->exitn;
	if (x->sock_mark == mark)
		return;
	for (int i = 0; i < d->n_udp; i++) {
		uv_os_fd_t fd;
		if (uv_fileno((uv_handle_t *)&d->udp[i].h, &fd) < 0)
			continue;
		if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
			gsd_warn("exit node: cannot mark the gossip socket: %s", strerror(errno));
	}
	x->sock_mark = mark;
}

/* the device fwmark in want: ours while wanted, the previous one until
 * the device shows it again */
static void want_fwmark(struct gsd_daemon *d, const struct gnl_wg_device *cur,
			struct gnl_wg_device *want, bool on)
{
	struct gsd_exit *x = d->exitn;
	uint32_t have = cur && (cur->flags & GNL_WG_DEV_FWMARK) ? cur->fwmark : 0;
	if (on) {
		if (!x->mark_set)
			/* a mark equal to ours is an earlier run's: 0 before it */
			x->mark_prev = have == d->cfg.fwmark ? 0 : have;
		x->mark_set = true;
		want->flags |= GNL_WG_DEV_FWMARK;
		want->fwmark = d->cfg.fwmark;
		return;
	}
	if (!x->mark_set)
		return;
	if (have == x->mark_prev) {
		x->mark_set = false;
		return;
	}
	want->flags |= GNL_WG_DEV_FWMARK;
	want->fwmark = x->mark_prev;
}

/* rules and routes: off (and stale ones of an earlier run once), or on
 * once the device shows our fwmark */
static void sync_routing(struct gsd_daemon *d, const struct gnl_wg_device *cur, bool on,
			 uint32_t ifindex)
{
	struct gsd_exit *x = d->exitn;
	const struct gsd_config *c = &d->cfg;
	bool same = x->routed && x->r_table == c->exit_table && x->r_priority == c->exit_priority &&
		    x->r_fwmark == c->fwmark && x->r_ifindex == ifindex;
	if (!rtnl_of(x))
		return;
	if ((x->routed && (!on || !same)) || !x->swept) {
		int r = x->routed ? unroute(x, x->r_table, x->r_priority, x->r_fwmark, x->r_ifindex)
				  : unroute(x, c->exit_table, c->exit_priority, c->fwmark, ifindex);
		if (r < 0 && x->routed)
			gsd_warn("exit node: cannot remove the rules or routes of table %u: %s",
				 x->r_table, gnl_rtnl_errmsg(x->rtnl));
		x->routed = false;
		x->swept = true;
	}
	if (!on || x->routed)
		return;
	uint32_t have = cur && (cur->flags & GNL_WG_DEV_FWMARK) ? cur->fwmark : 0;
	if (have != c->fwmark) {
		gsd_schedule_refresh(d); /* the device gets the fwmark first */
		return;
	}
	int r = route(x, c->exit_table, c->exit_priority, c->fwmark, ifindex);
	if (r < 0) {
		gsd_warn("exit node: cannot install the routes or rules of table %u: %s",
			 c->exit_table, gnl_rtnl_errmsg(x->rtnl));
		unroute(x, c->exit_table, c->exit_priority, c->fwmark, ifindex);
		return;
	}
	x->routed = true;
	x->r_table = c->exit_table;
	x->r_priority = c->exit_priority;
	x->r_fwmark = c->fwmark;
	x->r_ifindex = ifindex;
}

static int add_default(struct gnl_wg_peer *p)
{
	struct gnl_prefix all4 = {.family = AF_INET}, all6 = {.family = AF_INET6};
	int r = gnl_wg_peer_add_allowedip(p, &all4);
	return r < 0 ? r : gnl_wg_peer_add_allowedip(p, &all6);
}

int gsd_exit_sync(struct gsd_daemon *d, const struct gnl_wg_device *cur, struct gnl_wg_device *want)
{
	struct gsd_exit *x = d->exitn;
	struct gnl_link_info li = {0};
	if (!x || d->stopping)
		return 0;
	if (rtnl_of(x))
		gnl_link_get(x->rtnl, d->cfg.interface, &li);
	if (d->cfg.exit)
		offer_on(d, li.ifindex);
	else if (x->offering || *x->nft_text)
		offer_off(d);
	const struct gsd_member *m = li.ifindex ? choose(d, want) : NULL;
	note_choice(d, m);
	if (m && add_default(gnl_wg_device_find_peer(want, m->wg_pubkey)) < 0)
		m = NULL;
	if (!m)
		sync_routing(d, cur, false, li.ifindex); /* rules first, */
	want_fwmark(d, cur, want, m != NULL);		 /* then the fwmark */
	set_sock_marks(d, m ? d->cfg.fwmark : 0);
	if (m)
		sync_routing(d, cur, true, li.ifindex);
	return 0;
}

void gsd_exit_stop(struct gsd_daemon *d)
{
	struct gsd_exit *x = d->exitn;
	if (!x)
		return;
	if (x->routed && rtnl_of(x))
		unroute(x, x->r_table, x->r_priority, x->r_fwmark, x->r_ifindex);
	x->routed = false;
	set_sock_marks(d, 0);
	offer_off(d); /* releases the exit's forwarding (restored at teardown) */
}

void gsd_exit_reloaded(struct gsd_daemon *d)
{
	if (d->exitn)
		d->exitn->override = false;
}

/* ------------------------------------------------------------ control */

json_t *gsd_exit_view(const struct gsd_daemon *d)
{
	const struct gsd_exit *x = d->exitn;
	const char(*names)[GSM_MAX_NAME + 1];
	int n;
	json_t *o = json_object(), *w = json_array();
	if (!o || !w) {
		json_decref(o);
		json_decref(w);
		return NULL;
	}
	wanted_names(d, &names, &n);
	for (int i = 0; i < n; i++)
		json_array_append_new(w, json_string(names[i]));
	json_object_set_new(o, "offering", json_boolean(x && x->offering));
	json_object_set_new(o, "wanted", w);
	json_object_set_new(o, "using", x && x->using ? json_string(x->using_name) : json_null());
	json_object_set_new(o, "table", json_integer(d->cfg.exit_table));
	return o;
}

/* the names of {"exit_node": [...]}; 0 or -EINVAL with why */
static int parse_names(struct gsd_exit *x, json_t *arr, const char **why)
{
	size_t i;
	json_t *v;
	if (!json_is_array(arr)) {
		*why = "exit_node: an array of member names expected";
		return -EINVAL;
	}
	if (json_array_size(arr) > GSD_MAX_EXIT_NODES) {
		*why = "exit_node: too many names";
		return -EINVAL;
	}
	json_array_foreach(arr, i, v)
	{
		const char *s = json_string_value(v);
		if (!s || !*s || strlen(s) > GSM_MAX_NAME) {
			*why = "exit_node: names must be non-empty strings";
			return -EINVAL;
		}
	}
	json_array_foreach(arr, i, v) snprintf(x->override_names[i], sizeof(x->override_names[i]),
					       "%s", json_string_value(v));
	x->n_override = (int)json_array_size(arr);
	x->override = true;
	return 0;
}

void gsd_cmd_exit_node(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	const char *why = NULL;
	if (!d->exitn || parse_names(d->exitn, json_object_get(req, "exit_node"), &why) < 0) {
		gsd_ctl_reply_err(c, "EINVAL", "%s", why ? why : "exit nodes not available");
		return;
	}
	gsd_reconcile_wg(d);
	json_t *o = gsd_exit_view(d);
	if (!o) {
		gsd_ctl_reply_err(c, "ENOMEM", "out of memory");
		return;
	}
	gsd_ctl_reply_ok(c, o);
}
