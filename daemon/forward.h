/*
 * daemon/forward.h - IP forwarding switched on for exactly what a feature
 * needs, and put back as it was.
 *
 * A gateway, an exit node and a client gateway forward packets between the
 * mesh interface and some egress interfaces.  Instead of flipping the
 * host-wide ip_forward, IPv4 forwarding is enabled per interface
 * (net.ipv4.conf.<if>.forwarding: the kernel checks the flag of the
 * interface a packet arrives on, so the mesh interface and each egress
 * interface are enough).  IPv6 has no per-interface forwarding switch in
 * Linux, so IPv6 means net.ipv6.conf.all.forwarding, logged once with the
 * reason ("IPv6 forwarding enabled for all interfaces: <why>").
 *
 * One struct gsd_forward per daemon is shared by all features; each entry
 * (one sysctl) remembers the value it had before we first wrote it and the
 * set of owners (GSD_FWD_* bits) holding it.  Releasing an entry that no
 * owner holds any more writes the previous value back; gsd_forward_restore
 * does that for every entry (shutdown).  So features can switch on and off
 * in any order (a reload turning the gateway off leaves the exit node's
 * forwarding alone) and the host ends as it started.
 *
 * The /proc/sys root is injectable (gsd_forward_init) so tests run against
 * a directory tree; a zeroed struct uses "/proc/sys".  Not thread-safe;
 * called from the loop thread.  Each call writes at most one small /proc
 * file (blocking, bounded).
 */
#ifndef GOSSAMER_DAEMON_FORWARD_H
#define GOSSAMER_DAEMON_FORWARD_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

/* Owners of forwarding entries (bits; one per feature). */
enum gsd_forward_owner {
	GSD_FWD_GATEWAY = 1u << 0,
	GSD_FWD_EXIT = 1u << 1,
	GSD_FWD_CLIENTS = 1u << 2,
};

#define GSD_FORWARD_MAX 32

struct gsd_forward_entry {
	char ifname[IFNAMSIZ]; /* IPv4: the interface; IPv6: "all" */
	int family;	       /* AF_INET or AF_INET6 */
	int prev;	       /* value before our first write (0 or 1, or as read) */
	unsigned owners;       /* GSD_FWD_* bits holding it; 0 = slot unused */
};

struct gsd_forward {
	char root[128]; /* "" = "/proc/sys" */
	struct gsd_forward_entry ent[GSD_FORWARD_MAX];
};

/* Start empty with sysctl root `root` (NULL = "/proc/sys"). */
void gsd_forward_init(struct gsd_forward *f, const char *root);

/* Hold forwarding for `owner` (one GSD_FWD_* bit): family AF_INET
 * enables net.ipv4.conf.<ifname>.forwarding, AF_INET6 enables
 * net.ipv6.conf.all.forwarding (ifname ignored; `why` is logged when the
 * value is switched on, e.g. "gateway for fd00:5::/64").  Idempotent per
 * (owner, interface, family).  0, or -EINVAL (bad family or interface
 * name), -ENODEV (no such interface), -ENOSPC (table full), -EACCES/-EPERM
 * or another -errno from /proc (nothing remembered then). */
int gsd_forward_enable(struct gsd_forward *f, unsigned owner, const char *ifname, int family,
		       const char *why);

/* Drop owner's hold on (ifname, family); ifname NULL = every interface,
 * family AF_UNSPEC = both.  An entry held by nobody any more gets its
 * previous value back (an interface that vanished meanwhile is skipped). */
void gsd_forward_release(struct gsd_forward *f, unsigned owner, const char *ifname, int family);

/* Whether owner holds (ifname, family) (IPv6: ifname ignored). */
bool gsd_forward_held(const struct gsd_forward *f, unsigned owner, const char *ifname, int family);

/* Put every remembered value back and forget all entries (shutdown).
 * NULL ok. */
void gsd_forward_restore(struct gsd_forward *f);

#endif
