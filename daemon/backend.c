/*
 * daemon/backend.c - the WireGuard backends.
 *
 * Both real backends speak the same model (netlink/wg.h): the reconciler
 * reads the device, computes the desired one, diffs, and hands the op list
 * to gnl_wg_apply (kernel) or to the UAPI serializer (wireguard-go).  The
 * interface itself is created by rtnetlink (kernel) or by wireguard-go
 * (userspace, a tun device); in both cases overlay addresses and routes are
 * set with rtnetlink.
 *
 * Adoption, not recreation: an existing WireGuard link (kernel) or a
 * wireguard-go already serving <dir>/<ifname>.sock (userspace) is adopted as
 * is, so a daemon restart leaves every tunnel and session intact; the first
 * reconcile then changes only what differs.  For the same reason a
 * wireguard-go started by the daemon runs in its own session and is left
 * running when the daemon exits (unless stop_wireguard_go is set): the
 * next daemon adopts it.
 *
 * Routing (docs/routing.md): members' prefix routes go into a table of
 * our own (route_table, default 51821) with protocol GSD_RTPROT, reached
 * through one rule per family, `from all lookup TABLE
 * suppress_prefixlength 0` at priority route_priority (default 5210,
 * before main at 32766).  Our more specific prefixes win over main;
 * suppress_prefixlength 0 means a /0 in our table is never used, so the
 * host's default route cannot be overridden; and because routes are
 * added with NLM_F_EXCL into our table only, the main table is never
 * modified or replaced, whatever a member advertises (the acceptance
 * policy refuses /0, connected networks and endpoints first; this is the
 * second line).  A shadow guard (shadows_host_route) does not route a
 * prefix overlapping an on-link network of main or overriding one of its
 * routes (daemon/wgsync.c also skips prefixes holding a peer's
 * endpoint).  Withdrawal removes only routes in our table with our
 * protocol.  The rules stay at shutdown and restart (like the interface
 * and its routes, so a restart does not flap routing); they are removed
 * only when install_routes is off and our table holds none of our
 * routes.
 *
 * MTU: the `mtu` key, or underlay MTU - 80 (the route toward the first
 * seed, else toward the default route), clamped to [1280, 1420]; 1420
 * when the underlay is unknown.  Applied at open and repair, also to an
 * adopted interface.
 *
 * Probing (gsd_backend_probe) only looks: it resolves `auto` and checks that
 * the chosen backend can work, before anything is created, so a missing
 * backend is a clean exit 2 with nothing half-configured.
 */
#include "common/prefix.h"
#include "daemon/backend.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"
#include "daemon/reconcile.h"
#include "daemon/uapi.h"

extern char **environ;

struct gsd_backend {
	enum gsd_backend_kind kind; /* resolved: KERNEL, USERSPACE or NONE */
	char ifname[GSD_IFNAMSIZ];
	char sockdir[PATH_MAX];
	bool install_routes;
	bool main_cleaned; /* pre-table protocol-77 routes in main removed */
	uint32_t route_table, route_priority;
	uint32_t mtu; /* applied to the interface */
	/* prefixes refused by the shadow guard, to log each once */
	struct gnl_prefix refused[16];
	size_t n_refused, next_refused;
	struct gnl_wg *wg;
	struct gnl_rtnl *rtnl;
	uint32_t ifindex;
	bool created; /* the interface was created by this start */
	/* wireguard-go child */
	uv_process_t proc;
	bool spawned, proc_running, proc_closed, stop_child_on_exit;
	int child_pid;
	/* addresses and routes we manage (to remove stale ones) */
	struct gsm_prefix *addrs;
	size_t n_addrs;
};

int gsd_backend_new(struct gsd_backend **out)
{
	struct gsd_backend *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->kind = GSD_BACKEND_NONE;
	*out = b;
	return 0;
}

void gsd_backend_free(struct gsd_backend *b)
{
	if (!b)
		return;
	gsd_backend_close(b);
	free(b);
}

void gsd_backend_set_options(struct gsd_backend *b, bool install_routes, bool stop_child_on_exit)
{
	b->install_routes = install_routes;
	b->stop_child_on_exit = stop_child_on_exit;
}

static void sleep_poll(void)
{
	struct timespec ts = {0, GSD_BACKEND_POLL_MS * 1000 * 1000};
	nanosleep(&ts, NULL);
}

/* wireguard-go creates its tun link shortly after its UAPI socket: poll
 * for it, blocking at most GSD_TUN_LINK_WAIT_MS (documented in
 * daemon_int.h, "Calls that may block the loop"). */
static int wait_tun_link(struct gsd_backend *b, struct gnl_link_info *li)
{
	int r = -ENODEV;
	for (int i = 0; i < GSD_TUN_LINK_WAIT_MS / GSD_BACKEND_POLL_MS && r == -ENODEV; i++) {
		r = gnl_link_get(b->rtnl, b->ifname, li);
		if (r == -ENODEV)
			sleep_poll();
	}
	return r;
}

bool gsd_find_program(const char *prog, char *path, size_t cap)
{
	if (strchr(prog, '/')) {
		snprintf(path, cap, "%s", prog);
		return access(prog, X_OK) == 0;
	}
	const char *env = getenv("PATH");
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s",
		 env ? env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	char *save = NULL;
	for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(path, cap, "%s/%s", *d ? d : ".", prog);
		if (access(path, X_OK) == 0)
			return true;
	}
	return false;
}

static bool uapi_alive(const char *dir, const char *ifname)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (gsd_uapi_sock_path(dir, ifname, sun.sun_path, sizeof(sun.sun_path)) < 0)
		return false;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

int gsd_backend_probe(const struct gsd_config *cfg, enum gsd_backend_kind *resolved, char *msg,
		      size_t msglen)
{
	char prog[PATH_MAX];
	struct gnl_wg *wg = NULL;
	int r;
	switch (cfg->backend) {
	case GSD_BACKEND_NONE:
		*resolved = GSD_BACKEND_NONE;
		return 0;
	case GSD_BACKEND_KERNEL:
		r = gnl_wg_open(&wg);
		if (r < 0) {
			snprintf(
			    msg, msglen, "backend kernel: %s",
			    r == -ENOENT
				? "the kernel has no WireGuard (generic netlink family `wireguard` "
				  "not found; load the wireguard module or use backend userspace)"
			    : r == -EPERM || r == -EACCES
				? "permission denied (needs CAP_NET_ADMIN)"
				: gnl_strerror(r));
			return -ENODEV;
		}
		gnl_wg_close(wg);
		*resolved = GSD_BACKEND_KERNEL;
		return 0;
	case GSD_BACKEND_USERSPACE:
		if (uapi_alive(cfg->wg_socket_dir, cfg->interface)) {
			*resolved = GSD_BACKEND_USERSPACE;
			return 0;
		}
		if (!cfg->spawn_wireguard_go) {
			snprintf(msg, msglen,
				 "backend userspace: no wireguard-go serves %s/%s.sock (start "
				 "`wireguard-go %s` or set spawn_wireguard_go = yes)",
				 cfg->wg_socket_dir, cfg->interface, cfg->interface);
			return -ENODEV;
		}
		if (!gsd_find_program(cfg->wireguard_go, prog, sizeof(prog))) {
			snprintf(msg, msglen,
				 "backend userspace: %s not found (install wireguard-go or set "
				 "wireguard_go)",
				 cfg->wireguard_go);
			return -ENODEV;
		}
		*resolved = GSD_BACKEND_USERSPACE;
		return 0;
	case GSD_BACKEND_AUTO:
		r = gnl_wg_open(&wg);
		if (r == 0) {
			gnl_wg_close(wg);
			*resolved = GSD_BACKEND_KERNEL;
			return 0;
		}
		if (uapi_alive(cfg->wg_socket_dir, cfg->interface) ||
		    gsd_find_program(cfg->wireguard_go, prog, sizeof(prog))) {
			*resolved = GSD_BACKEND_USERSPACE;
			return 0;
		}
		snprintf(msg, msglen,
			 "backend auto: neither kernel WireGuard (%s) nor %s is available; use "
			 "backend none for gossip only",
			 gnl_strerror(r), cfg->wireguard_go);
		return -ENODEV;
	}
	snprintf(msg, msglen, "bad backend");
	return -EINVAL;
}

static void on_child_closed(uv_handle_t *h)
{
	struct gsd_backend *b = h->data;
	b->proc_closed = true;
}

static void on_child_exit(uv_process_t *p, int64_t status, int sig)
{
	struct gsd_backend *b = p->data;
	b->proc_running = false;
	gsd_warn("wireguard-go (pid %d) exited (status %lld, signal %d)", b->child_pid,
		 (long long)status, sig);
	uv_close((uv_handle_t *)p, on_child_closed);
}

static int spawn_wggo(struct gsd_backend *b, const struct gsd_config *cfg, uv_loop_t *loop,
		      char *msg, size_t msglen)
{
	char prog[PATH_MAX];
	if (!gsd_find_program(cfg->wireguard_go, prog, sizeof(prog))) {
		snprintf(msg, msglen, "%s not found", cfg->wireguard_go);
		return -ENOENT;
	}
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 2, sizeof(char *));
	if (!env)
		return -ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "WG_PROCESS_FOREGROUND=", 22))
			env[k++] = environ[i];
	env[k++] = "WG_PROCESS_FOREGROUND=1";
	env[k] = NULL;
	char *args[] = {prog, b->ifname, NULL};
	uv_stdio_container_t stdio[3] = {
	    {.flags = UV_IGNORE},
	    {.flags = UV_INHERIT_FD, .data.fd = 2},
	    {.flags = UV_INHERIT_FD, .data.fd = 2},
	};
	uv_process_options_t o = {
	    .exit_cb = on_child_exit,
	    .file = prog,
	    .args = args,
	    .env = env,
	    .flags = UV_PROCESS_DETACHED,
	    .stdio_count = 3,
	    .stdio = stdio,
	};
	b->proc.data = b;
	int r = uv_spawn(loop, &b->proc, &o);
	free(env);
	if (r < 0) {
		snprintf(msg, msglen, "cannot start %s: %s", prog, uv_strerror(r));
		return r;
	}
	b->spawned = true;
	b->proc_running = true;
	b->proc_closed = false;
	b->child_pid = b->proc.pid;
	uv_unref((uv_handle_t *)&b->proc);
	gsd_info("started %s %s (pid %d)", prog, b->ifname, b->child_pid);
	/* wait for its UAPI socket, blocking at most GSD_WGGO_SOCKET_WAIT_MS */
	for (int i = 0; i < GSD_WGGO_SOCKET_WAIT_MS / GSD_BACKEND_POLL_MS; i++) {
		if (uapi_alive(b->sockdir, b->ifname))
			return 0;
		uv_run(loop, UV_RUN_NOWAIT); /* reap an early exit */
		if (!b->proc_running)
			break;
		sleep_poll();
	}
	snprintf(msg, msglen, "wireguard-go did not open %s/%s.sock within %d s%s", b->sockdir,
		 b->ifname, GSD_WGGO_SOCKET_WAIT_MS / 1000,
		 b->proc_running
		     ? " (is socket_dir right? wireguard-go always uses /var/run/wireguard)"
		     : " (it exited; see its messages above)");
	if (b->proc_running)
		kill(b->child_pid, SIGTERM);
	return -ETIMEDOUT;
}

/* the underlay MTU toward the first numeric seed, else toward the
 * default route (a TEST-NET / documentation address, never contacted);
 * 0 if unknown */
static uint32_t underlay_mtu(struct gsd_backend *b, const struct gsd_config *cfg)
{
	static const char *const probes[] = {"192.0.2.1", "2001:db8::1"};
	struct gnl_route_lookup lk;
	union gnl_sockaddr sa;
	char buf[GSD_SEED_LEN + 8];
	for (int i = -1; i < 2; i++) {
		char host[GSD_SEED_LEN];
		uint16_t port;
		if (i < 0 && (!cfg->n_seeds ||
			      gsd_split_hostport(cfg->seeds[0], host, sizeof(host), &port, 1) < 0))
			continue;
		if (i < 0)
			snprintf(buf, sizeof(buf), strchr(host, ':') ? "[%s]:1" : "%s:1", host);
		else
			snprintf(buf, sizeof(buf), i ? "[%s]:1" : "%s:1", probes[i]);
		if (gnl_sockaddr_parse(buf, &sa) < 0 || gnl_route_lookup(b->rtnl, &sa, &lk) < 0)
			continue;
		if (lk.mtu && lk.ifindex != b->ifindex)
			return lk.mtu;
	}
	return 0;
}

uint32_t gsd_backend_mtu_from_underlay(uint32_t underlay)
{
	if (!underlay)
		return GSD_MTU_DEFAULT;
	uint32_t m = underlay > GSD_MTU_OVERHEAD ? underlay - GSD_MTU_OVERHEAD : 0;
	return m < GSD_MTU_MIN ? GSD_MTU_MIN : m > GSD_MTU_DEFAULT ? GSD_MTU_DEFAULT : m;
}

/* the configured MTU, or the one derived from the underlay; set it on
 * the interface if it differs */
static void apply_mtu(struct gsd_backend *b, const struct gsd_config *cfg)
{
	struct gnl_link_info li;
	if (!b->mtu) {
		uint32_t u = cfg->mtu ? 0 : underlay_mtu(b, cfg);
		b->mtu = cfg->mtu ? cfg->mtu : gsd_backend_mtu_from_underlay(u);
		gsd_info("%s MTU %u (%s)", b->ifname, b->mtu,
			 cfg->mtu ? "configured"
			 : u	  ? "underlay MTU - 80"
				  : "underlay unknown");
	}
	if (gnl_link_get(b->rtnl, b->ifname, &li) == 0 && li.mtu == b->mtu)
		return;
	int r = gnl_link_set_mtu(b->rtnl, b->ifindex, b->mtu);
	if (r < 0)
		gsd_warn("cannot set MTU %u on %s: %s", b->mtu, b->ifname, gnl_strerror(r));
}

int gsd_backend_open(struct gsd_backend *b, const struct gsd_config *cfg,
		     enum gsd_backend_kind kind, uv_loop_t *loop, char *msg, size_t msglen)
{
	int r;
	struct gnl_link_info li;
	memset(b, 0, sizeof(*b)); /* fresh from gsd_backend_new */
	b->kind = kind;
	snprintf(b->ifname, sizeof(b->ifname), "%s", cfg->interface);
	snprintf(b->sockdir, sizeof(b->sockdir), "%s", cfg->wg_socket_dir);
	b->install_routes = cfg->install_routes;
	b->route_table = cfg->route_table;
	b->route_priority = cfg->route_priority;
	b->stop_child_on_exit = cfg->stop_wireguard_go;
	if (kind == GSD_BACKEND_NONE)
		return 0;

	r = gnl_rtnl_open(&b->rtnl);
	if (r < 0) {
		snprintf(msg, msglen, "rtnetlink: %s", gnl_strerror(r));
		return r;
	}
	if (kind == GSD_BACKEND_KERNEL) {
		r = gnl_wg_open(&b->wg);
		if (r < 0) {
			snprintf(msg, msglen, "kernel WireGuard: %s", gnl_strerror(r));
			return r;
		}
		r = gnl_link_ensure_wireguard(b->rtnl, b->ifname, &li, &b->created);
		if (r < 0) {
			snprintf(msg, msglen, "interface %s: %s", b->ifname,
				 *gnl_rtnl_errmsg(b->rtnl) ? gnl_rtnl_errmsg(b->rtnl)
							   : gnl_strerror(r));
			return r;
		}
		b->ifindex = li.ifindex;
		gsd_info("%s WireGuard interface %s (ifindex %u, kernel)",
			 b->created ? "created" : "adopted", b->ifname, b->ifindex);
	} else {
		if (uapi_alive(b->sockdir, b->ifname)) {
			gsd_info("adopted running wireguard-go for %s (%s/%s.sock)", b->ifname,
				 b->sockdir, b->ifname);
		} else {
			r = spawn_wggo(b, cfg, loop, msg, msglen);
			if (r < 0)
				return r;
			b->created = true;
		}
		r = wait_tun_link(b, &li);
		if (r < 0) {
			snprintf(msg, msglen, "tun interface %s: %s", b->ifname, gnl_strerror(r));
			return r;
		}
		b->ifindex = li.ifindex;
	}
	apply_mtu(b, cfg);
	r = gnl_link_set_up(b->rtnl, b->ifindex, true);
	if (r < 0) {
		snprintf(msg, msglen, "interface %s: cannot bring up: %s", b->ifname,
			 gnl_strerror(r));
		return r;
	}
	return 0;
}

int gsd_backend_repair(struct gsd_backend *b, const struct gsd_config *cfg, uv_loop_t *loop)
{
	struct gnl_link_info li;
	char msg[512];
	int r;
	if (b->kind == GSD_BACKEND_KERNEL) {
		bool created = false;
		r = gnl_link_ensure_wireguard(b->rtnl, b->ifname, &li, &created);
		if (r < 0)
			return r;
		if (!created && li.ifindex == b->ifindex)
			return 0;
		gsd_warn("interface %s was gone: re-created (ifindex %u)", b->ifname, li.ifindex);
		b->ifindex = li.ifindex;
		apply_mtu(b, cfg);
		gnl_link_set_up(b->rtnl, b->ifindex, true);
		return 1;
	}
	if (b->kind != GSD_BACKEND_USERSPACE || uapi_alive(b->sockdir, b->ifname))
		return 0;
	if (!cfg->spawn_wireguard_go && cfg->backend != GSD_BACKEND_AUTO)
		return -ENODEV; /* someone else runs wireguard-go; wait for it */
	if (b->spawned && !b->proc_closed)
		return -EAGAIN; /* the old child is still being reaped */
	gsd_warn("no wireguard-go serves %s: starting a new one", b->ifname);
	r = spawn_wggo(b, cfg, loop, msg, sizeof(msg));
	if (r < 0) {
		gsd_err("%s", msg);
		return r;
	}
	r = wait_tun_link(b, &li);
	if (r < 0)
		return r;
	b->ifindex = li.ifindex;
	apply_mtu(b, cfg);
	gnl_link_set_up(b->rtnl, b->ifindex, true);
	return 1;
}

void gsd_backend_close(struct gsd_backend *b)
{
	if (!b)
		return;
	if (b->spawned && b->proc_running && b->stop_child_on_exit) {
		gsd_info("stopping wireguard-go (pid %d)", b->child_pid);
		kill(b->child_pid, SIGTERM);
		b->stop_child_on_exit = false; /* once: close is idempotent */
	}
	gnl_wg_close(b->wg);
	b->wg = NULL;
	gnl_rtnl_close(b->rtnl);
	b->rtnl = NULL;
	free(b->addrs);
	b->addrs = NULL;
}

int gsd_backend_get(struct gsd_backend *b, struct gnl_wg_device **out)
{
	int r = -EOPNOTSUPP;

	if (b->kind == GSD_BACKEND_KERNEL)
		r = gnl_wg_get_device(b->wg, b->ifname, out);
	else if (b->kind == GSD_BACKEND_USERSPACE)
		r = gsd_uapi_get(b->sockdir, b->ifname, out);
	/* sorted by key: the reconciler and the NAT planner look every member's
	 * peer up (O(log n) each instead of a linear scan) and the diff merges */
	if (r >= 0)
		gnl_wg_device_sort(*out);
	return r;
}

int gsd_backend_apply(struct gsd_backend *b, const struct gnl_wg_ops *ops)
{
	if (b->kind == GSD_BACKEND_KERNEL)
		return gnl_wg_apply(b->wg, b->ifname, ops, NULL);
	if (b->kind == GSD_BACKEND_USERSPACE)
		return gsd_uapi_apply(b->sockdir, b->ifname, ops);
	return -EOPNOTSUPP;
}

const char *gsd_backend_errmsg(struct gsd_backend *b)
{
	if (b->kind == GSD_BACKEND_KERNEL && b->wg && *gnl_wg_errmsg(b->wg))
		return gnl_wg_errmsg(b->wg);
	if (b->rtnl && *gnl_rtnl_errmsg(b->rtnl))
		return gnl_rtnl_errmsg(b->rtnl);
	return "";
}

/* is the interface address a (whatever its prefix length) inside net? */
static bool prefix_contains(const struct gsm_prefix *net, const struct gnl_prefix *a)
{
	if ((net->family == 4) != (a->family == AF_INET))
		return false;
	return gsc_prefix_covers(net->ip, net->len, a->addr.b, a->family == AF_INET ? 32 : 128);
}

int gsd_backend_sync_addrs(struct gsd_backend *b, const struct gsm_prefix *want, size_t n,
			   const struct gsm_prefix *managed, size_t n_managed)
{
	if (b->kind == GSD_BACKEND_NONE || !b->rtnl)
		return 0;
	struct gnl_prefix *have = NULL;
	size_t n_have = 0;
	int r = gnl_addr_list(b->rtnl, b->ifindex, AF_UNSPEC, &have, &n_have);
	if (r < 0)
		return r;
	/* remove managed-range addresses we no longer want */
	for (size_t i = 0; i < n_have; i++) {
		bool in_managed = false, wanted = false;
		for (size_t k = 0; k < n_managed; k++)
			in_managed |= prefix_contains(&managed[k], &have[i]);
		for (size_t k = 0; k < n; k++) {
			struct gnl_prefix g;
			gsd_prefix_to_gnl(&want[k], &g);
			wanted |= g.family == have[i].family && g.cidr == have[i].cidr &&
				  !memcmp(g.addr.b, have[i].addr.b, g.family == AF_INET ? 4 : 16);
		}
		if (in_managed && !wanted) {
			char buf[GNL_PREFIX_STRLEN];
			gsd_info("removing overlay address %s from %s",
				 gnl_prefix_format(&have[i], buf, sizeof(buf)), b->ifname);
			gnl_addr_del(b->rtnl, b->ifindex, &have[i]);
		}
	}
	for (size_t k = 0; k < n; k++) {
		struct gnl_prefix g;
		gsd_prefix_to_gnl(&want[k], &g);
		bool present = false;
		for (size_t i = 0; i < n_have; i++)
			present |= g.family == have[i].family && g.cidr == have[i].cidr &&
				   !memcmp(g.addr.b, have[i].addr.b, g.family == AF_INET ? 4 : 16);
		if (present)
			continue;
		char buf[GNL_PREFIX_STRLEN];
		int e = gnl_addr_add(b->rtnl, b->ifindex, &g);
		if (e < 0) {
			gsd_warn("cannot add address %s to %s: %s",
				 gnl_prefix_format(&g, buf, sizeof(buf)), b->ifname,
				 gnl_strerror(e));
			r = e;
		} else {
			gsd_info("added overlay address %s to %s",
				 gnl_prefix_format(&g, buf, sizeof(buf)), b->ifname);
		}
	}
	free(have);
	return r < 0 ? r : 0;
}

/* Routes an older gossamerd installed in the main table (protocol
 * GSD_RTPROT via our interface): ours, removed once so that only the
 * table design remains. */
static void clean_legacy_main(struct gsd_backend *b)
{
	struct gnl_route *have = NULL;
	size_t n_have = 0;
	if (b->main_cleaned || gnl_route_list(b->rtnl, b->ifindex, 0, &have, &n_have) < 0)
		return;
	b->main_cleaned = true;
	for (size_t i = 0; i < n_have; i++)
		if (have[i].protocol == GSD_RTPROT)
			gnl_route_del(b->rtnl, &have[i]);
	free(have);
}

static bool route_wanted(const struct gnl_route *have, const struct gsm_prefix *want, size_t n,
			 uint32_t ifindex)
{
	if (have->ifindex != ifindex)
		return false;
	for (size_t k = 0; k < n; k++) {
		struct gnl_prefix g;
		gsd_prefix_to_gnl(&want[k], &g);
		gnl_prefix_normalize(&g);
		if (!gnl_prefix_cmp(&g, &have->dst))
			return true;
	}
	return false;
}

/* The shadow guard, the data plane's own line of defence: a route in our
 * table is looked up before main, so it would capture traffic the host
 * routes elsewhere.  Refused: a prefix overlapping an on-link network of
 * another interface (the LAN, the underlay), and a prefix as wide as or
 * wider than a route of main via another interface (it would override
 * it).  A prefix more specific than a gatewayed route of main (a site
 * subnet inside a corporate /8) is fine: that is the point.  Default
 * routes of main are ignored (suppress_prefixlength 0 covers /0). */
static bool shadows_host_route(const struct gsd_backend *b, const struct gnl_prefix *p,
			       const struct gnl_route *main_rt, size_t n_main, char *why,
			       size_t cap)
{
	for (size_t i = 0; i < n_main; i++) {
		const struct gnl_route *r = &main_rt[i];
		if (r->ifindex == b->ifindex || r->dst.cidr == 0 || r->protocol == GSD_RTPROT ||
		    r->dst.family != p->family)
			continue;
		uint8_t len = p->cidr < r->dst.cidr ? p->cidr : r->dst.cidr;
		struct gnl_prefix a = *p, c = r->dst;
		a.cidr = c.cidr = len;
		gnl_prefix_normalize(&a);
		gnl_prefix_normalize(&c);
		if (gnl_prefix_cmp(&a, &c))
			continue; /* disjoint */
		if (!r->gateway || p->cidr <= r->dst.cidr) {
			char buf[GNL_PREFIX_STRLEN];
			snprintf(why, cap, "%s host route %s",
				 r->gateway ? "would override the"
					    : "overlaps the on-link network of the",
				 gnl_prefix_format(&r->dst, buf, sizeof(buf)));
			return true;
		}
	}
	return false;
}

static void log_refused(struct gsd_backend *b, const struct gnl_prefix *p, const char *why)
{
	for (size_t i = 0; i < b->n_refused; i++)
		if (!gnl_prefix_cmp(&b->refused[i], p))
			return;
	char buf[GNL_PREFIX_STRLEN];
	gsd_warn("not routing %s into %s: it %s", gnl_prefix_format(p, buf, sizeof(buf)), b->ifname,
		 why);
	b->refused[b->next_refused] = *p;
	b->next_refused = (b->next_refused + 1) % (sizeof(b->refused) / sizeof(b->refused[0]));
	if (b->n_refused < sizeof(b->refused) / sizeof(b->refused[0]))
		b->n_refused++;
}

/* want minus what the shadow guard refuses; *out malloc'd */
static int guard_routes(struct gsd_backend *b, const struct gsm_prefix *want, size_t n,
			struct gsm_prefix **out, size_t *n_out)
{
	struct gnl_route *main_rt = NULL;
	size_t n_main = 0;
	*n_out = 0;
	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	int r = n ? gnl_route_list(b->rtnl, 0, 0, &main_rt, &n_main) : 0;
	if (r < 0) {
		free(*out);
		*out = NULL;
		return r;
	}
	for (size_t k = 0; k < n; k++) {
		struct gnl_prefix g;
		char why[128];
		gsd_prefix_to_gnl(&want[k], &g);
		gnl_prefix_normalize(&g);
		if (shadows_host_route(b, &g, main_rt, n_main, why, sizeof(why)))
			log_refused(b, &g, why);
		else
			(*out)[(*n_out)++] = want[k];
	}
	free(main_rt);
	return 0;
}

/* one `from all lookup TABLE suppress_prefixlength 0` rule per family:
 * present while we install routes; removed when we do not and our table
 * holds none of our routes */
static int sync_rules(struct gsd_backend *b, bool want_rules)
{
	static const int fams[2] = {AF_INET, AF_INET6};
	int ret = 0;
	for (int i = 0; i < 2; i++) {
		struct gnl_rule rule = {.family = fams[i],
					.priority = b->route_priority,
					.table = b->route_table,
					.suppress_prefixlen = 0,
					.protocol = GSD_RTPROT};
		int e = want_rules ? gnl_rule_add(b->rtnl, &rule) : gnl_rule_del(b->rtnl, &rule);
		if (e < 0) {
			gsd_warn("cannot %s rule lookup %u priority %u (%s): %s",
				 want_rules ? "add" : "remove", b->route_table, b->route_priority,
				 fams[i] == AF_INET ? "IPv4" : "IPv6", gsd_backend_errmsg(b));
			ret = e;
		}
	}
	return ret;
}

int gsd_backend_sync_routes(struct gsd_backend *b, const struct gsm_prefix *want_all, size_t n_all)
{
	if (b->kind == GSD_BACKEND_NONE || !b->rtnl)
		return 0;
	if (!b->install_routes)
		n_all = 0;
	clean_legacy_main(b);
	struct gsm_prefix *want = NULL;
	size_t n = 0;
	int r = guard_routes(b, want_all, n_all, &want, &n), ret = 0;
	if (r < 0)
		return r;
	struct gnl_route *have = NULL;
	size_t n_have = 0;
	r = gnl_route_list_proto(b->rtnl, b->route_table, GSD_RTPROT, &have, &n_have);
	if (r < 0) {
		free(want);
		return r;
	}
	size_t kept = 0;
	for (size_t i = 0; i < n_have; i++) {
		if (route_wanted(&have[i], want, n, b->ifindex)) {
			kept++;
			continue;
		}
		have[i].protocol = GSD_RTPROT; /* delete only a route of ours */
		gnl_route_del(b->rtnl, &have[i]);
	}
	for (size_t k = 0; k < n; k++) {
		struct gnl_route rt = {
		    .ifindex = b->ifindex, .table = b->route_table, .protocol = GSD_RTPROT};
		gsd_prefix_to_gnl(&want[k], &rt.dst);
		gnl_prefix_normalize(&rt.dst);
		bool present = false;
		for (size_t i = 0; i < n_have && !present; i++)
			present =
			    have[i].ifindex == b->ifindex && !gnl_prefix_cmp(&rt.dst, &have[i].dst);
		if (present)
			continue;
		int e = gnl_route_add(b->rtnl, &rt);
		if (e < 0) {
			char buf[GNL_PREFIX_STRLEN];
			gsd_warn("cannot add route %s dev %s table %u: %s",
				 gnl_prefix_format(&rt.dst, buf, sizeof(buf)), b->ifname,
				 b->route_table, gnl_strerror(e));
			ret = e;
		} else {
			kept++;
		}
	}
	free(have);
	free(want);
	if (b->install_routes || kept == 0) {
		r = sync_rules(b, b->install_routes);
		if (r < 0 && !ret)
			ret = r;
	}
	return ret;
}
