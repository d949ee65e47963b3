/*
 * netlink/rtnl.h - the rtnetlink half of netlink/: the WireGuard link
 * itself (create or adopt, MTU, up/down, delete), its addresses and routes,
 * policy routing rules, and route lookups toward an underlay address (for
 * MTU choice).
 *
 * Interfaces are never recreated: gnl_link_ensure_wireguard adopts an
 * existing WireGuard link of that name (ifindex unchanged) and refuses a
 * non-WireGuard one.  Address, route and rule add/remove are idempotent
 * (adding what exists or removing what is absent succeeds), so a
 * reconciler can replay its desired state; a route add never replaces an
 * existing route.  Errors are negative errno; gnl_rtnl_errmsg
 * gives the kernel's extended ACK text or this module's explanation.
 */
#ifndef GOSSAMER_NETLINK_RTNL_H
#define GOSSAMER_NETLINK_RTNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink/wg.h" /* struct gnl_prefix, union gnl_sockaddr */

struct gnl_rtnl; /* an rtnetlink socket in the caller's network namespace */

int gnl_rtnl_open(struct gnl_rtnl **out);
void gnl_rtnl_close(struct gnl_rtnl *h); /* NULL ok */
const char *gnl_rtnl_errmsg(const struct gnl_rtnl *h);

struct gnl_link_info {
	uint32_t ifindex;
	char ifname[IFNAMSIZ];
	char kind[32]; /* IFLA_INFO_KIND, "" if none (e.g. lo, physical) */
	uint32_t mtu;
	bool up;      /* IFF_UP (administratively up) */
	bool running; /* IFF_RUNNING / carrier */
};

/* -ENODEV if there is no such link. */
int gnl_link_get(struct gnl_rtnl *h, const char *ifname, struct gnl_link_info *out);

/* Create a link of kind `wireguard` named ifname, or adopt the existing
 * WireGuard link of that name.  created (may be NULL): whether it was
 * created now.  -EEXIST if a link of that name exists with another kind
 * (errmsg names the kind); -EOPNOTSUPP if the kernel has no WireGuard
 * (module missing); -EPERM without CAP_NET_ADMIN. */
int gnl_link_ensure_wireguard(struct gnl_rtnl *h, const char *ifname, struct gnl_link_info *out,
			      bool *created);
/* Delete by name; -ENODEV if absent. */
int gnl_link_delete(struct gnl_rtnl *h, const char *ifname);
int gnl_link_set_mtu(struct gnl_rtnl *h, uint32_t ifindex, uint32_t mtu);
int gnl_link_set_up(struct gnl_rtnl *h, uint32_t ifindex, bool up);

/* Interface addresses (prefix = address/prefix length).  add replaces an
 * existing equal address; del of an absent address returns 0. */
int gnl_addr_add(struct gnl_rtnl *h, uint32_t ifindex, const struct gnl_prefix *p);
int gnl_addr_del(struct gnl_rtnl *h, uint32_t ifindex, const struct gnl_prefix *p);
/* Every address on ifindex (family AF_UNSPEC = both); *out malloc'd. */
int gnl_addr_list(struct gnl_rtnl *h, uint32_t ifindex, int family, struct gnl_prefix **out,
		  size_t *n);

/* Routes to dst via the device ifindex (scope link), in `table`
 * (0 = main; values >= 256 work: RTA_TABLE).  metric 0 = none. */
struct gnl_route {
	struct gnl_prefix dst;
	uint32_t ifindex;
	uint32_t table; /* 0 = RT_TABLE_MAIN */
	uint32_t metric;
	uint32_t mtu;	  /* RTAX_MTU, 0 = none */
	uint8_t protocol; /* RTPROT_*; 0 = RTPROT_STATIC when adding */
	bool gateway;	  /* listed route has a gateway (false: on-link) */
};
/* Add with NLM_F_CREATE|NLM_F_EXCL, never NLM_F_REPLACE: if a route for
 * the same destination (and metric) already exists in that table, whoever
 * installed it, it is left untouched and 0 is returned. */
int gnl_route_add(struct gnl_rtnl *h, const struct gnl_route *r);
/* Delete; matches the protocol too when r->protocol is set (the kernel
 * then refuses to delete a route of another protocol: -ESRCH -> 0).
 * Absent: 0. */
int gnl_route_del(struct gnl_rtnl *h, const struct gnl_route *r);
/* Unicast routes whose output device is ifindex (0 = any device) in
 * table (0 = main); *out malloc'd. */
int gnl_route_list(struct gnl_rtnl *h, uint32_t ifindex, uint32_t table, struct gnl_route **out,
		   size_t *n);
/* Unicast routes of any device in table (0 = main) with this protocol,
 * both families; *out malloc'd. */
int gnl_route_list_proto(struct gnl_rtnl *h, uint32_t table, uint8_t protocol,
			 struct gnl_route **out, size_t *n);

/* Policy routing rules of the form `from all lookup TABLE` at a priority
 * (FR_ACT_TO_TBL), optionally with suppress_prefixlength, and optionally
 * `[not] fwmark MARK/MASK` (wg-quick's `not fwmark M lookup T`). */
struct gnl_rule {
	int family;		    /* AF_INET or AF_INET6 */
	uint32_t priority;	    /* FRA_PRIORITY */
	uint32_t table;		    /* FRA_TABLE, non-zero */
	int32_t suppress_prefixlen; /* -1 = none */
	uint8_t protocol;	    /* FRA_PROTOCOL when adding (0 = none); as listed */
	uint32_t fwmark, fwmask;    /* FRA_FWMARK/FRA_FWMASK; 0 = no fwmark match;
				     * a zero fwmask with a fwmark adds 0xffffffff */
	bool invert;		    /* FIB_RULE_INVERT (`not`) */
	bool selectors;		    /* listed rule has from/to/iif/... selectors
				     * (other than fwmark) */
};
/* Every lookup rule (family AF_UNSPEC = both); *out malloc'd. */
int gnl_rule_list(struct gnl_rtnl *h, int family, struct gnl_rule **out, size_t *n);
/* Same family, priority, table, suppress_prefixlen, fwmark, fwmask and
 * invert, and no selectors. */
bool gnl_rule_equal(const struct gnl_rule *a, const struct gnl_rule *b);
/* Whether an equal rule exists. */
int gnl_rule_find(struct gnl_rtnl *h, const struct gnl_rule *r, bool *found);
/* Idempotent: adds only if no equal rule exists (0 then too). */
int gnl_rule_add(struct gnl_rtnl *h, const struct gnl_rule *r);
/* Removes one equal rule; absent: 0. */
int gnl_rule_del(struct gnl_rtnl *h, const struct gnl_rule *r);

/* The kernel's route to dst (RTM_GETROUTE), for underlay MTU choice. */
struct gnl_route_lookup {
	uint32_t ifindex;	    /* output device */
	uint32_t mtu;		    /* route MTU (RTAX_MTU) if set, else the device MTU */
	union gnl_sockaddr gateway; /* AF_UNSPEC if directly connected */
	union gnl_sockaddr prefsrc; /* source address the kernel would use */
	uint32_t table;
};
/* -ENETUNREACH / -EHOSTUNREACH when there is no route. */
int gnl_route_lookup(struct gnl_rtnl *h, const union gnl_sockaddr *dst,
		     struct gnl_route_lookup *out);

#endif
