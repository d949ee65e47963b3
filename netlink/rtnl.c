/*
 * netlink/rtnl.c - rtnetlink for the WireGuard interface: link, addresses,
 * routes, route lookup.
 *
 * What: thin, synchronous wrappers over RTM_{NEW,DEL,GET}{LINK,ADDR,ROUTE}
 * with libmnl, sharing the request loop of nl.c (so kernel rejections come
 * with their extended ACK text).
 *
 * Why these semantics: the daemon restarts, crashes and gets upgraded
 * while tunnels must keep running, so nothing here destroys state it could
 * adopt.  gnl_link_ensure_wireguard looks the name up first and adopts a
 * WireGuard link (same ifindex, sessions intact); it refuses any other kind
 * rather than deleting an operator's interface.  Address additions use
 * NLM_F_CREATE|NLM_F_REPLACE; route additions use NLM_F_CREATE|NLM_F_EXCL
 * and NEVER replace: a route that already exists for that destination in
 * that table (whoever owns it) is left exactly as it is and the add
 * reports success.  Removals treat "not there" as success.  So the
 * reconciler can replay its whole desired state at any time and converge,
 * without ever being able to overwrite a route it does not own.
 *
 * Policy rules (RTM_*RULE) are the other half of the routing design
 * (docs/routing.md): the daemon's routes live in a table of their own,
 * reached through one `from all lookup TABLE suppress_prefixlength 0`
 * rule per family.  Rule add looks first and adds only when no equal rule
 * exists (older kernels accept duplicate rules even with NLM_F_EXCL).
 *
 * Trade-offs: one request at a time (these calls are rare next to peer
 * updates); listing filters in userspace rather than with strict dump
 * filters, which older kernels do not honour for every family.
 */
#include "common/array.h"
#include "netlink/rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/fib_rules.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netlink/nl.h"

struct gnl_rtnl {
	struct gnl_sock s;
};

#define REQ_BUF 1024

int gnl_rtnl_open(struct gnl_rtnl **out)
{
	struct gnl_rtnl *h;
	int ret;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	ret = gnl_sock_open(&h->s, NETLINK_ROUTE);
	if (ret) {
		free(h);
		return ret;
	}
	*out = h;
	return 0;
}

void gnl_rtnl_close(struct gnl_rtnl *h)
{
	if (!h)
		return;
	gnl_sock_close(&h->s);
	free(h);
}

const char *gnl_rtnl_errmsg(const struct gnl_rtnl *h)
{
	return h ? h->s.errmsg : "";
}

static int explain(struct gnl_rtnl *h, int err, const char *what)
{
	char k[GNL_ERRMSG_LEN];

	if (!err)
		return 0;
	snprintf(k, sizeof(k), "%s", h->s.errmsg);
	if (err == -EPERM || err == -EACCES)
		gnl_sock_seterr(&h->s, "%s: permission denied (needs CAP_NET_ADMIN)%s%s", what,
				k[0] ? ": " : "", k);
	else
		gnl_sock_seterr(&h->s, "%s: %s%s%s", what, strerror(-err), k[0] ? ": " : "", k);
	return err;
}

/* -------------------------------------------------------------- links */

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
	struct gnl_link_info *li = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return MNL_CB_OK;
	memset(li, 0, sizeof(*li));
	li->ifindex = (uint32_t)ifi->ifi_index;
	li->up = ifi->ifi_flags & IFF_UP;
	li->running = ifi->ifi_flags & IFF_RUNNING;
	mnl_attr_for_each(a, nlh, sizeof(*ifi))
	{
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
				snprintf(li->ifname, sizeof(li->ifname), "%s", mnl_attr_get_str(a));
			break;
		case IFLA_MTU:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				li->mtu = mnl_attr_get_u32(a);
			break;
		case IFLA_LINKINFO: {
			const struct nlattr *b;
			mnl_attr_for_each_nested(b, a)
			{
				if (mnl_attr_get_type(b) == IFLA_INFO_KIND &&
				    mnl_attr_validate(b, MNL_TYPE_STRING) == 0)
					snprintf(li->kind, sizeof(li->kind), "%.*s",
						 (int)mnl_attr_get_payload_len(b),
						 mnl_attr_get_str(b));
			}
			break;
		}
		}
	}
	return MNL_CB_OK;
}

static int link_get(struct gnl_rtnl *h, const char *ifname, uint32_t ifindex,
		    struct gnl_link_info *out)
{
	char buf[REQ_BUF] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	if (ifname)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	memset(out, 0, sizeof(*out));
	return gnl_sock_request(&h->s, nlh, link_cb, out);
}

int gnl_link_get(struct gnl_rtnl *h, const char *ifname, struct gnl_link_info *out)
{
	int ret;

	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	ret = link_get(h, ifname, 0, out);
	if (ret == -ENODEV) {
		gnl_sock_seterr(&h->s, "no interface named '%s'", ifname);
		return ret;
	}
	return explain(h, ret, "get link");
}

int gnl_link_ensure_wireguard(struct gnl_rtnl *h, const char *ifname, struct gnl_link_info *out,
			      bool *created)
{
	struct gnl_link_info li;
	char buf[REQ_BUF] = {0};
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct nlattr *info;
	int ret;

	if (created)
		*created = false;
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	for (int attempt = 0; attempt < 2; attempt++) {
		ret = link_get(h, ifname, 0, &li);
		if (ret == 0) {
			if (strcmp(li.kind, "wireguard") != 0) {
				gnl_sock_seterr(
				    &h->s,
				    "interface '%s' exists and is not WireGuard (kind '%s'); "
				    "refusing to touch it",
				    ifname, li.kind[0] ? li.kind : "none");
				return -EEXIST;
			}
			if (out)
				*out = li;
			return 0; /* adopt */
		}
		if (ret != -ENODEV)
			return explain(h, ret, "look up link");
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_NEWLINK;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL;
		ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
		ifi->ifi_family = AF_UNSPEC;
		mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
		info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
		mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "wireguard");
		mnl_attr_nest_end(nlh, info);
		ret = gnl_sock_request(&h->s, nlh, NULL, NULL);
		if (ret == -EEXIST)
			continue; /* someone created it meanwhile: look again */
		if (ret == -EOPNOTSUPP) {
			gnl_sock_seterr(
			    &h->s,
			    "cannot create '%s': the kernel does not know link kind 'wireguard' "
			    "(WireGuard kernel module missing; try 'modprobe wireguard', or use "
			    "the userspace backend)",
			    ifname);
			return ret;
		}
		if (ret)
			return explain(h, ret, "create WireGuard link");
		ret = link_get(h, ifname, 0, &li);
		if (ret)
			return explain(h, ret, "look up new link");
		if (created)
			*created = true;
		if (out)
			*out = li;
		return 0;
	}
	return explain(h, -EEXIST, "create WireGuard link");
}

int gnl_link_delete(struct gnl_rtnl *h, const char *ifname)
{
	struct gnl_link_info li;
	char buf[REQ_BUF] = {0};
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	int ret;

	/* by index: deleting by IFLA_IFNAME needs Linux 5.x+ */
	ret = gnl_link_get(h, ifname, &li);
	if (ret)
		return ret;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_DELLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)li.ifindex;
	return explain(h, gnl_sock_request(&h->s, nlh, NULL, NULL), "delete link");
}

static int link_change(struct gnl_rtnl *h, uint32_t ifindex, unsigned int flags,
		       unsigned int change, uint32_t mtu, const char *what)
{
	char buf[REQ_BUF] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	ifi->ifi_flags = flags;
	ifi->ifi_change = change;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return explain(h, gnl_sock_request(&h->s, nlh, NULL, NULL), what);
}

int gnl_link_set_mtu(struct gnl_rtnl *h, uint32_t ifindex, uint32_t mtu)
{
	if (!mtu)
		return -EINVAL;
	return link_change(h, ifindex, 0, 0, mtu, "set MTU");
}

int gnl_link_set_up(struct gnl_rtnl *h, uint32_t ifindex, bool up)
{
	return link_change(h, ifindex, up ? IFF_UP : 0, IFF_UP, 0,
			   up ? "set link up" : "set link down");
}

/* ---------------------------------------------------------- addresses */

static int addr_req(struct gnl_rtnl *h, int type, uint32_t ifindex, const struct gnl_prefix *p)
{
	char buf[REQ_BUF] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg *ifa;
	size_t alen;

	if (p->family == AF_INET && p->cidr <= 32)
		alen = 4;
	else if (p->family == AF_INET6 && p->cidr <= 128)
		alen = 16;
	else
		return -EINVAL;
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (type == RTM_NEWADDR)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_REPLACE;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)p->family;
	ifa->ifa_prefixlen = p->cidr;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, alen, p->addr.b);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, p->addr.b);
	if (type == RTM_NEWADDR && p->family == AF_INET6)
		mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
	return gnl_sock_request(&h->s, nlh, NULL, NULL);
}

int gnl_addr_add(struct gnl_rtnl *h, uint32_t ifindex, const struct gnl_prefix *p)
{
	return explain(h, addr_req(h, RTM_NEWADDR, ifindex, p), "add address");
}

int gnl_addr_del(struct gnl_rtnl *h, uint32_t ifindex, const struct gnl_prefix *p)
{
	int ret = addr_req(h, RTM_DELADDR, ifindex, p);

	if (ret == -EADDRNOTAVAIL) {
		h->s.errmsg[0] = '\0';
		return 0;
	}
	return explain(h, ret, "remove address");
}

struct plist {
	struct gnl_prefix *v;
	size_t n, cap;
	uint32_t ifindex;
	int err;
};

static int plist_push(struct plist *l, const struct gnl_prefix *p)
{
	if (gsc_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
		return -ENOMEM;
	l->v[l->n++] = *p;
	return 0;
}

static int addr_cb(const struct nlmsghdr *nlh, void *data)
{
	struct plist *l = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a, *local = NULL, *addr = NULL;
	struct gnl_prefix p;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWADDR || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return MNL_CB_OK;
	if (ifa->ifa_index != l->ifindex)
		return MNL_CB_OK;
	if (ifa->ifa_family == AF_INET)
		alen = 4;
	else if (ifa->ifa_family == AF_INET6)
		alen = 16;
	else
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa))
	{
		if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_get_payload_len(a) == alen)
			local = a;
		else if (mnl_attr_get_type(a) == IFA_ADDRESS && mnl_attr_get_payload_len(a) == alen)
			addr = a;
	}
	if (local)
		addr = local;
	if (!addr)
		return MNL_CB_OK;
	memset(&p, 0, sizeof(p));
	p.family = ifa->ifa_family;
	p.cidr = ifa->ifa_prefixlen;
	memcpy(p.addr.b, mnl_attr_get_payload(addr), alen);
	if (plist_push(l, &p) < 0) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int gnl_addr_list(struct gnl_rtnl *h, uint32_t ifindex, int family, struct gnl_prefix **out,
		  size_t *n)
{
	struct plist l = {.ifindex = ifindex};
	int fams[2] = {AF_INET, AF_INET6};
	int ret = 0;

	*out = NULL;
	*n = 0;
	for (int i = 0; i < 2 && !ret; i++) {
		char buf[REQ_BUF] = {0};
		struct nlmsghdr *nlh;
		struct ifaddrmsg *ifa;
		if (family != AF_UNSPEC && family != fams[i])
			continue;
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_GETADDR;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = (uint8_t)fams[i];
		ifa->ifa_index = ifindex;
		ret = gnl_sock_request(&h->s, nlh, addr_cb, &l);
	}
	if (ret) {
		free(l.v);
		return explain(h, ret, "list addresses");
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

/* ------------------------------------------------------------- routes */

static void put_table(struct nlmsghdr *nlh, struct rtmsg *rtm, uint32_t table)
{
	if (!table)
		table = RT_TABLE_MAIN;
	rtm->rtm_table = table < 256 ? (uint8_t)table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, RTA_TABLE, table);
}

static int route_req(struct gnl_rtnl *h, int type, const struct gnl_route *r)
{
	char buf[REQ_BUF] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtmsg *rtm;
	size_t alen;

	if (r->dst.family == AF_INET && r->dst.cidr <= 32)
		alen = 4;
	else if (r->dst.family == AF_INET6 && r->dst.cidr <= 128)
		alen = 16;
	else
		return -EINVAL;
	struct gnl_prefix dst = r->dst;
	gnl_prefix_normalize(&dst);
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (type == RTM_NEWROUTE)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL; /* never NLM_F_REPLACE */
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)dst.family;
	rtm->rtm_dst_len = dst.cidr;
	rtm->rtm_scope = type == RTM_NEWROUTE ? RT_SCOPE_LINK : RT_SCOPE_NOWHERE;
	rtm->rtm_type = RTN_UNICAST;
	rtm->rtm_protocol =
	    type == RTM_NEWROUTE ? (r->protocol ? r->protocol : RTPROT_STATIC) : r->protocol;
	put_table(nlh, rtm, r->table);
	mnl_attr_put(nlh, RTA_DST, alen, dst.addr.b);
	if (r->ifindex)
		mnl_attr_put_u32(nlh, RTA_OIF, r->ifindex);
	if (r->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
	if (type == RTM_NEWROUTE && r->mtu) {
		struct nlattr *m = mnl_attr_nest_start(nlh, RTA_METRICS);
		mnl_attr_put_u32(nlh, RTAX_MTU, r->mtu);
		mnl_attr_nest_end(nlh, m);
	}
	return gnl_sock_request(&h->s, nlh, NULL, NULL);
}

int gnl_route_add(struct gnl_rtnl *h, const struct gnl_route *r)
{
	int ret = route_req(h, RTM_NEWROUTE, r);

	if (ret == -EEXIST) { /* something is there already: leave it alone */
		h->s.errmsg[0] = '\0';
		return 0;
	}
	return explain(h, ret, "add route");
}

int gnl_route_del(struct gnl_rtnl *h, const struct gnl_route *r)
{
	int ret = route_req(h, RTM_DELROUTE, r);

	if (ret == -ESRCH) {
		h->s.errmsg[0] = '\0';
		return 0;
	}
	return explain(h, ret, "remove route");
}

struct rlist {
	struct gnl_route *v;
	size_t n, cap;
	uint32_t ifindex, table; /* ifindex 0 = any device */
	int protocol;		 /* -1 = any */
};

/* fields of one RTM_NEWROUTE; returns false if it is not a plain route */
static bool parse_route(const struct nlmsghdr *nlh, struct gnl_route *r, union gnl_sockaddr *gw,
			union gnl_sockaddr *prefsrc)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	size_t alen;

	if (nlh->nlmsg_type != RTM_NEWROUTE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*rtm))
		return false;
	if (rtm->rtm_family == AF_INET)
		alen = 4;
	else if (rtm->rtm_family == AF_INET6)
		alen = 16;
	else
		return false;
	memset(r, 0, sizeof(*r));
	if (gw)
		memset(gw, 0, sizeof(*gw));
	if (prefsrc)
		memset(prefsrc, 0, sizeof(*prefsrc));
	r->dst.family = rtm->rtm_family;
	r->dst.cidr = rtm->rtm_dst_len;
	r->table = rtm->rtm_table;
	r->protocol = rtm->rtm_protocol;
	mnl_attr_for_each(a, nlh, sizeof(*rtm))
	{
		uint16_t len = mnl_attr_get_payload_len(a);
		const void *v = mnl_attr_get_payload(a);
		union gnl_sockaddr *sa = NULL;
		switch (mnl_attr_get_type(a)) {
		case RTA_DST:
			if (len == alen)
				memcpy(r->dst.addr.b, v, alen);
			break;
		case RTA_OIF:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				r->ifindex = mnl_attr_get_u32(a);
			break;
		case RTA_TABLE:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				r->table = mnl_attr_get_u32(a);
			break;
		case RTA_PRIORITY:
			if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
				r->metric = mnl_attr_get_u32(a);
			break;
		case RTA_METRICS: {
			const struct nlattr *m;
			mnl_attr_for_each_nested(m, a)
			{
				if (mnl_attr_get_type(m) == RTAX_MTU &&
				    mnl_attr_validate(m, MNL_TYPE_U32) == 0)
					r->mtu = mnl_attr_get_u32(m);
			}
			break;
		}
		case RTA_GATEWAY:
			sa = gw;
			break;
		case RTA_PREFSRC:
			sa = prefsrc;
			break;
		}
		if (sa && len == alen) {
			if (alen == 4) {
				sa->in.sin_family = AF_INET;
				memcpy(&sa->in.sin_addr, v, 4);
			} else {
				sa->in6.sin6_family = AF_INET6;
				memcpy(&sa->in6.sin6_addr, v, 16);
			}
		}
	}
	return true;
}

static int route_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rlist *l = data;
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	struct gnl_route r;
	union gnl_sockaddr gw;

	if (!parse_route(nlh, &r, &gw, NULL))
		return MNL_CB_OK;
	r.gateway = gw.sa.sa_family != AF_UNSPEC;
	if (rtm->rtm_type != RTN_UNICAST || (rtm->rtm_flags & RTM_F_CLONED))
		return MNL_CB_OK;
	if ((l->ifindex && r.ifindex != l->ifindex) || r.table != l->table)
		return MNL_CB_OK;
	if (l->protocol >= 0 && r.protocol != l->protocol)
		return MNL_CB_OK;
	if (gsc_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	l->v[l->n++] = r;
	return MNL_CB_OK;
}

static int route_dump(struct gnl_rtnl *h, struct rlist *lp, struct gnl_route **out, size_t *n)
{
	struct rlist l = *lp;
	int fams[2] = {AF_INET, AF_INET6};
	int ret = 0;

	*out = NULL;
	*n = 0;
	for (int i = 0; i < 2 && !ret; i++) {
		char buf[REQ_BUF] = {0};
		struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
		struct rtmsg *rtm;
		nlh->nlmsg_type = RTM_GETROUTE;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
		rtm->rtm_family = (uint8_t)fams[i];
		ret = gnl_sock_request(&h->s, nlh, route_cb, &l);
	}
	if (ret) {
		free(l.v);
		return explain(h, ret, "list routes");
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

int gnl_route_list(struct gnl_rtnl *h, uint32_t ifindex, uint32_t table, struct gnl_route **out,
		   size_t *n)
{
	struct rlist l = {
	    .ifindex = ifindex, .table = table ? table : RT_TABLE_MAIN, .protocol = -1};

	return route_dump(h, &l, out, n);
}

int gnl_route_list_proto(struct gnl_rtnl *h, uint32_t table, uint8_t protocol,
			 struct gnl_route **out, size_t *n)
{
	struct rlist l = {.table = table ? table : RT_TABLE_MAIN, .protocol = protocol};

	return route_dump(h, &l, out, n);
}

struct lookup_ctx {
	struct gnl_route_lookup *out;
	bool found;
};

static int lookup_cb(const struct nlmsghdr *nlh, void *data)
{
	struct lookup_ctx *c = data;
	struct gnl_route r;

	if (!parse_route(nlh, &r, &c->out->gateway, &c->out->prefsrc))
		return MNL_CB_OK;
	c->out->ifindex = r.ifindex;
	c->out->mtu = r.mtu;
	c->out->table = r.table;
	c->found = true;
	return MNL_CB_OK;
}

int gnl_route_lookup(struct gnl_rtnl *h, const union gnl_sockaddr *dst,
		     struct gnl_route_lookup *out)
{
	char buf[REQ_BUF] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct lookup_ctx c = {.out = out};
	struct rtmsg *rtm;
	int ret;

	memset(out, 0, sizeof(*out));
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	if (dst->sa.sa_family == AF_INET) {
		rtm->rtm_family = AF_INET;
		rtm->rtm_dst_len = 32;
		mnl_attr_put(nlh, RTA_DST, 4, &dst->in.sin_addr);
	} else if (dst->sa.sa_family == AF_INET6) {
		rtm->rtm_family = AF_INET6;
		rtm->rtm_dst_len = 128;
		mnl_attr_put(nlh, RTA_DST, 16, &dst->in6.sin6_addr);
	} else {
		return -EINVAL;
	}
	ret = gnl_sock_request(&h->s, nlh, lookup_cb, &c);
	if (ret)
		return explain(h, ret, "route lookup");
	if (!c.found)
		return explain(h, -ENETUNREACH, "route lookup");
	if (!out->mtu && out->ifindex) {
		struct gnl_link_info li;
		ret = link_get(h, NULL, out->ifindex, &li);
		if (ret)
			return explain(h, ret, "route lookup: output link");
		out->mtu = li.mtu;
	}
	return 0;
}

/* -------------------------------------------------------------- rules */

static int rule_req(struct gnl_rtnl *h, int type, const struct gnl_rule *r)
{
	char buf[REQ_BUF] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct fib_rule_hdr *frh;

	if ((r->family != AF_INET && r->family != AF_INET6) || !r->table)
		return -EINVAL;
	nlh->nlmsg_type = (uint16_t)type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	if (type == RTM_NEWRULE)
		nlh->nlmsg_flags |= NLM_F_CREATE | NLM_F_EXCL;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)r->family;
	frh->action = FR_ACT_TO_TBL;
	frh->table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
	mnl_attr_put_u32(nlh, FRA_PRIORITY, r->priority);
	if (r->suppress_prefixlen >= 0)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, (uint32_t)r->suppress_prefixlen);
	if (r->fwmark) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, r->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, r->fwmask ? r->fwmask : 0xffffffffu);
	}
	if (r->invert)
		frh->flags |= FIB_RULE_INVERT;
	if (type == RTM_NEWRULE && r->protocol)
		mnl_attr_put_u8(nlh, FRA_PROTOCOL, r->protocol);
	return gnl_sock_request(&h->s, nlh, NULL, NULL);
}

struct rulelist {
	struct gnl_rule *v;
	size_t n, cap;
};

/* true for the attributes that narrow a rule beyond "from all" */
static bool rule_selector(uint16_t type)
{
	switch (type) {
	case FRA_DST:
	case FRA_SRC:
	case FRA_IIFNAME:
	case FRA_OIFNAME:
	case FRA_FLOW:
	case FRA_TUN_ID:
	case FRA_L3MDEV:
	case FRA_UID_RANGE:
	case FRA_IP_PROTO:
	case FRA_SPORT_RANGE:
	case FRA_DPORT_RANGE:
	case FRA_SUPPRESS_IFGROUP:
		return true;
	}
	return false;
}

static void rule_parse_attr(const struct nlattr *a, struct gnl_rule *r)
{
	uint16_t t = mnl_attr_get_type(a);

	if (rule_selector(t))
		r->selectors = true;
	else if (t == FRA_TABLE && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		r->table = mnl_attr_get_u32(a);
	else if (t == FRA_PRIORITY && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		r->priority = mnl_attr_get_u32(a);
	else if (t == FRA_SUPPRESS_PREFIXLEN && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		r->suppress_prefixlen = (int32_t)mnl_attr_get_u32(a);
	else if (t == FRA_PROTOCOL && mnl_attr_validate(a, MNL_TYPE_U8) == 0)
		r->protocol = mnl_attr_get_u8(a);
	else if (t == FRA_FWMARK && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		r->fwmark = mnl_attr_get_u32(a);
	else if (t == FRA_FWMASK && mnl_attr_validate(a, MNL_TYPE_U32) == 0)
		r->fwmask = mnl_attr_get_u32(a);
}

static int rule_cb(const struct nlmsghdr *nlh, void *data)
{
	struct rulelist *l = data;
	const struct fib_rule_hdr *frh = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	struct gnl_rule r;

	if (nlh->nlmsg_type != RTM_NEWRULE || mnl_nlmsg_get_payload_len(nlh) < sizeof(*frh))
		return MNL_CB_OK;
	if (frh->action != FR_ACT_TO_TBL)
		return MNL_CB_OK;
	memset(&r, 0, sizeof(r));
	r.family = frh->family;
	r.table = frh->table;
	r.suppress_prefixlen = -1;
	r.selectors = frh->src_len || frh->dst_len || frh->tos;
	r.invert = (frh->flags & FIB_RULE_INVERT) != 0;
	mnl_attr_for_each(a, nlh, sizeof(*frh)) rule_parse_attr(a, &r);
	if (r.fwmark && !r.fwmask)
		r.fwmask = 0xffffffffu;
	if (r.suppress_prefixlen == (int32_t)0xffffffff)
		r.suppress_prefixlen = -1;
	if (gsc_grow(&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0) {
		errno = ENOMEM;
		return MNL_CB_ERROR;
	}
	l->v[l->n++] = r;
	return MNL_CB_OK;
}

int gnl_rule_list(struct gnl_rtnl *h, int family, struct gnl_rule **out, size_t *n)
{
	struct rulelist l = {0};
	int fams[2] = {AF_INET, AF_INET6};
	int ret = 0;

	*out = NULL;
	*n = 0;
	for (int i = 0; i < 2 && !ret; i++) {
		char buf[REQ_BUF] = {0};
		struct nlmsghdr *nlh;
		struct fib_rule_hdr *frh;
		if (family != AF_UNSPEC && family != fams[i])
			continue;
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_GETRULE;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
		frh->family = (uint8_t)fams[i];
		ret = gnl_sock_request(&h->s, nlh, rule_cb, &l);
	}
	if (ret) {
		free(l.v);
		return explain(h, ret, "list rules");
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

bool gnl_rule_equal(const struct gnl_rule *a, const struct gnl_rule *b)
{
	return a->family == b->family && a->priority == b->priority && a->table == b->table &&
	       a->suppress_prefixlen == b->suppress_prefixlen && a->invert == b->invert &&
	       a->fwmark == b->fwmark &&
	       (a->fwmark
		    ? (a->fwmask ? a->fwmask : 0xffffffffu) == (b->fwmask ? b->fwmask : 0xffffffffu)
		    : true) &&
	       !a->selectors && !b->selectors;
}

int gnl_rule_find(struct gnl_rtnl *h, const struct gnl_rule *r, bool *found)
{
	struct gnl_rule *v = NULL;
	size_t n = 0;
	int ret = gnl_rule_list(h, r->family, &v, &n);

	*found = false;
	if (ret)
		return ret;
	for (size_t i = 0; i < n && !*found; i++)
		*found = gnl_rule_equal(&v[i], r);
	free(v);
	return 0;
}

int gnl_rule_add(struct gnl_rtnl *h, const struct gnl_rule *r)
{
	bool found;
	int ret = gnl_rule_find(h, r, &found);

	if (ret || found)
		return ret;
	ret = rule_req(h, RTM_NEWRULE, r);
	if (ret == -EEXIST) {
		h->s.errmsg[0] = '\0';
		return 0;
	}
	return explain(h, ret, "add rule");
}

int gnl_rule_del(struct gnl_rtnl *h, const struct gnl_rule *r)
{
	int ret = rule_req(h, RTM_DELRULE, r);

	if (ret == -ENOENT) {
		h->s.errmsg[0] = '\0';
		return 0;
	}
	return explain(h, ret, "remove rule");
}
