/*
 * daemon/forward.c - per-interface forwarding sysctls with remembered
 * previous values.
 *
 * Design: an entry is created the first time any owner asks for a sysctl;
 * at that moment the current value is read and kept as `prev`, then "1"
 * is written.  Later owners only add their bit.  When the last bit goes
 * the previous value is written back, so a feature that never found
 * forwarding off never switches it off, and one that did puts it back.
 * Reading before writing (rather than assuming 0) is what makes a restart
 * of the daemon on a host where the operator enabled forwarding harmless.
 * Values are written as the kernel prints them ("0\n"/"1\n"); anything
 * unparsable read back is treated as 0 (off), the conservative restore.
 */
#include "daemon/forward.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/log.h"

static const char *root_of(const struct gsd_forward *f)
{
	return f->root[0] ? f->root : "/proc/sys";
}

void gsd_forward_init(struct gsd_forward *f, const char *root)
{
	memset(f, 0, sizeof(*f));
	if (root)
		snprintf(f->root, sizeof(f->root), "%s", root);
}

/* A name usable as one path component of /proc/sys/net/ipv4/conf. */
static bool valid_ifname(const char *n)
{
	size_t len = n ? strlen(n) : 0;
	if (!len || len >= IFNAMSIZ || !strcmp(n, ".") || !strcmp(n, ".."))
		return false;
	return !strchr(n, '/');
}

static int path_of(const struct gsd_forward *f, const struct gsd_forward_entry *e, char *out,
		   size_t cap)
{
	int n;
	if (e->family == AF_INET)
		n = snprintf(out, cap, "%s/net/ipv4/conf/%s/forwarding", root_of(f), e->ifname);
	else
		n = snprintf(out, cap, "%s/net/ipv6/conf/all/forwarding", root_of(f));
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int read_value(const char *path, int *val)
{
	char buf[16] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int r = n < 0 ? -errno : 0;
	close(fd);
	if (r == 0)
		*val = atoi(buf);
	return r;
}

static int write_value(const char *path, int val)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d\n", val);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, buf, (size_t)len);
	int r = n < 0 ? -errno : 0;
	close(fd);
	return r;
}

static bool entry_is(const struct gsd_forward_entry *e, const char *ifname, int family)
{
	if (!e->owners || e->family != family)
		return false;
	return family == AF_INET6 || !strcmp(e->ifname, ifname);
}

static struct gsd_forward_entry *find(struct gsd_forward *f, const char *ifname, int family)
{
	for (size_t i = 0; i < GSD_FORWARD_MAX; i++)
		if (entry_is(&f->ent[i], ifname, family))
			return &f->ent[i];
	return NULL;
}

static struct gsd_forward_entry *free_slot(struct gsd_forward *f)
{
	for (size_t i = 0; i < GSD_FORWARD_MAX; i++)
		if (!f->ent[i].owners)
			return &f->ent[i];
	return NULL;
}

/* Read the previous value of a new entry and switch it on. */
static int switch_on(struct gsd_forward *f, struct gsd_forward_entry *e, const char *why)
{
	char path[256];
	int r = path_of(f, e, path, sizeof(path));
	if (r < 0)
		return r;
	r = read_value(path, &e->prev);
	if (r == -ENOENT)
		return e->family == AF_INET ? -ENODEV : -EAFNOSUPPORT;
	if (r < 0 || e->prev == 1)
		return r;
	r = write_value(path, 1);
	if (r < 0)
		return r;
	if (e->family == AF_INET6)
		gsd_info("IPv6 forwarding enabled for all interfaces: %s", why ? why : "");
	else
		gsd_info("IPv4 forwarding enabled on %s: %s", e->ifname, why ? why : "");
	return 0;
}

int gsd_forward_enable(struct gsd_forward *f, unsigned owner, const char *ifname, int family,
		       const char *why)
{
	if (!owner || (family != AF_INET && family != AF_INET6))
		return -EINVAL;
	if (family == AF_INET6)
		ifname = "all";
	else if (!valid_ifname(ifname))
		return -EINVAL;
	struct gsd_forward_entry *e = find(f, ifname, family);
	if (e) {
		e->owners |= owner;
		return 0;
	}
	e = free_slot(f);
	if (!e)
		return -ENOSPC;
	struct gsd_forward_entry n = {.family = family};
	snprintf(n.ifname, sizeof(n.ifname), "%s", ifname);
	int r = switch_on(f, &n, why);
	if (r < 0)
		return r;
	n.owners = owner;
	*e = n;
	return 0;
}

/* Write the previous value back (if it was not already on) and free. */
static void put_back(struct gsd_forward *f, struct gsd_forward_entry *e)
{
	char path[256];
	if (e->prev != 1 && path_of(f, e, path, sizeof(path)) == 0) {
		int r = write_value(path, e->prev);
		if (r < 0 && r != -ENOENT)
			gsd_warn("cannot restore %s to %d: %s", path, e->prev, strerror(-r));
		else if (r == 0)
			gsd_info("%s forwarding restored to %d%s%s",
				 e->family == AF_INET ? "IPv4" : "IPv6", e->prev,
				 e->family == AF_INET ? " on " : " for all interfaces",
				 e->family == AF_INET ? e->ifname : "");
	}
	memset(e, 0, sizeof(*e));
}

void gsd_forward_release(struct gsd_forward *f, unsigned owner, const char *ifname, int family)
{
	for (size_t i = 0; i < GSD_FORWARD_MAX; i++) {
		struct gsd_forward_entry *e = &f->ent[i];
		if (!(e->owners & owner))
			continue;
		if (family != AF_UNSPEC && e->family != family)
			continue;
		if (ifname && e->family == AF_INET && strcmp(e->ifname, ifname))
			continue;
		e->owners &= ~owner;
		if (!e->owners)
			put_back(f, e);
	}
}

bool gsd_forward_held(const struct gsd_forward *f, unsigned owner, const char *ifname, int family)
{
	for (size_t i = 0; i < GSD_FORWARD_MAX; i++) {
		const struct gsd_forward_entry *e = &f->ent[i];
		if ((e->owners & owner) && entry_is(e, ifname, family))
			return true;
	}
	return false;
}

void gsd_forward_restore(struct gsd_forward *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < GSD_FORWARD_MAX; i++)
		if (f->ent[i].owners)
			put_back(f, &f->ent[i]);
}
