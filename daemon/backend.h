/* daemon/backend.h - the WireGuard backends behind one interface:
 * kernel (netlink/), userspace (wireguard-go over the UAPI socket), none. */
#ifndef GOSSAMER_DAEMON_BACKEND_H
#define GOSSAMER_DAEMON_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "daemon/config.h"
#include "netlink/rtnl.h"
#include "netlink/wg.h"

struct gsd_backend {
	enum gsd_backend_kind kind; /* resolved: KERNEL, USERSPACE or NONE */
	char ifname[GSD_IFNAMSIZ];
	char sockdir[PATH_MAX];
	bool install_routes;
	struct gnl_wg *wg;
	struct gnl_rtnl *rtnl;
	uint32_t ifindex;
	bool created;          /* the interface was created by this start */
	/* wireguard-go child */
	uv_process_t proc;
	bool spawned, proc_running, proc_closed, stop_child_on_exit;
	int child_pid;
	/* addresses and routes we manage (to remove stale ones) */
	struct gsm_prefix *addrs;
	size_t n_addrs;
};

#define GSD_RTPROT 77 /* routes installed by gossamerd carry this protocol */

/* Decide the backend without changing anything (auto resolved here):
 * 0 or -ENODEV with msg explaining what is missing. */
int gsd_backend_probe(const struct gsd_config *cfg, enum gsd_backend_kind *resolved, char *msg,
		      size_t msglen);
/* Create or adopt the interface (kernel: rtnetlink link; userspace: an
 * already running wireguard-go or one we start).  Never recreates. */
int gsd_backend_open(struct gsd_backend *b, const struct gsd_config *cfg, enum gsd_backend_kind kind,
		     uv_loop_t *loop, char *msg, size_t msglen);
/* The interface vanished (deleted, wireguard-go died): re-create it
 * (kernel) or start wireguard-go again (userspace, when we may spawn).
 * 1 repaired, 0 nothing to do, <0 could not. */
int gsd_backend_repair(struct gsd_backend *b, const struct gsd_config *cfg, uv_loop_t *loop);
/* Stop the child if configured to; close handles.  Leaves the interface. */
void gsd_backend_close(struct gsd_backend *b);

int gsd_backend_get(struct gsd_backend *b, struct gnl_wg_device **out);
int gsd_backend_apply(struct gsd_backend *b, const struct gnl_wg_ops *ops);
/* Make the interface carry exactly these overlay addresses (address with
 * the overlay prefix length) among the ones in `managed` prefixes; other
 * addresses are left alone.  Brings the link up. */
int gsd_backend_sync_addrs(struct gsd_backend *b, const struct gsm_prefix *want, size_t n,
			   const struct gsm_prefix *managed, size_t n_managed);
/* Routes via the interface for these prefixes; stale gossamerd routes
 * (protocol GSD_RTPROT) removed. */
int gsd_backend_sync_routes(struct gsd_backend *b, const struct gsm_prefix *want, size_t n);
const char *gsd_backend_errmsg(struct gsd_backend *b);

/* is `prog` (name or path) executable / in PATH */
bool gsd_find_program(const char *prog, char *path, size_t cap);

#endif
