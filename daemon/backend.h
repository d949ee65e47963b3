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

/* One WireGuard interface and how we drive it.  Opaque: created empty by
 * gsd_backend_new, configured by gsd_backend_open. */
struct gsd_backend;

#define GSD_RTPROT 77 /* routes installed by gossamerd carry this protocol */

/* MTU (docs/config.md `mtu`): underlay MTU - GSD_MTU_OVERHEAD (IPv6 outer
 * header 40 + UDP 8 + WireGuard 32), clamped to [GSD_MTU_MIN,
 * GSD_MTU_DEFAULT]; GSD_MTU_DEFAULT when the underlay is unknown (0). */
#define GSD_MTU_DEFAULT	 1420
#define GSD_MTU_MIN	 1280
#define GSD_MTU_OVERHEAD 80
uint32_t gsd_backend_mtu_from_underlay(uint32_t underlay_mtu);

/* Bounds of the blocking waits in gsd_backend_open/repair (polled every
 * GSD_BACKEND_POLL_MS). */
#define GSD_WGGO_SOCKET_WAIT_MS 5000 /* wireguard-go's UAPI socket appears */
#define GSD_TUN_LINK_WAIT_MS	2000 /* wireguard-go's tun link appears */
#define GSD_BACKEND_POLL_MS	50

/* An empty backend (kind none, nothing open).  0 or -ENOMEM. */
int gsd_backend_new(struct gsd_backend **out);
/* gsd_backend_close, then release the memory.  NULL ok.  Call only after
 * the loop that ran the wireguard-go child handle is closed. */
void gsd_backend_free(struct gsd_backend *b);

/* Decide the backend without changing anything (auto resolved here):
 * 0 or -ENODEV with msg explaining what is missing. */
int gsd_backend_probe(const struct gsd_config *cfg, enum gsd_backend_kind *resolved, char *msg,
		      size_t msglen);
/* Create or adopt the interface (kernel: rtnetlink link; userspace: an
 * already running wireguard-go or one we start).  Never recreates.  Sets
 * the MTU (cfg->mtu, or derived from the underlay: see GSD_MTU_*).
 * Blocks the caller: up to GSD_WGGO_SOCKET_WAIT_MS for the UAPI socket of
 * a wireguard-go it started, then up to GSD_TUN_LINK_WAIT_MS for its tun
 * link.  On failure msg is set; b must still be closed/freed. */
int gsd_backend_open(struct gsd_backend *b, const struct gsd_config *cfg,
		     enum gsd_backend_kind kind, uv_loop_t *loop, char *msg, size_t msglen);
/* The interface vanished (deleted, wireguard-go died): re-create it
 * (kernel) or start wireguard-go again (userspace, when we may spawn).
 * 1 repaired, 0 nothing to do, <0 could not.  May block like
 * gsd_backend_open when it starts wireguard-go. */
int gsd_backend_repair(struct gsd_backend *b, const struct gsd_config *cfg, uv_loop_t *loop);
/* Stop the child if configured to; close netlink sockets.  Leaves the
 * interface, and the child's process handle to the loop's close walk.
 * NULL ok; idempotent. */
void gsd_backend_close(struct gsd_backend *b);
/* Live-reloadable options (reload.c). */
void gsd_backend_set_options(struct gsd_backend *b, bool install_routes, bool stop_child_on_exit);

/* Read the device (sorted by peer key).  Netlink or UAPI (2 s timeouts). */
int gsd_backend_get(struct gsd_backend *b, struct gnl_wg_device **out);
/* Apply a diff (netlink, or one UAPI set transaction). */
int gsd_backend_apply(struct gsd_backend *b, const struct gnl_wg_ops *ops);
/* Make the interface carry exactly these overlay addresses (address with
 * the overlay prefix length) among the ones in `managed` prefixes; other
 * addresses are left alone.  Brings the link up. */
int gsd_backend_sync_addrs(struct gsd_backend *b, const struct gsm_prefix *want, size_t n,
			   const struct gsm_prefix *managed, size_t n_managed);
/* Routes via the interface for these prefixes, in table cfg->route_table
 * with protocol GSD_RTPROT, added with NLM_F_EXCL (never replacing);
 * routes of ours no longer wanted are removed (only our table, only our
 * protocol: nothing else is ever touched).  Keeps one rule per family
 * `from all lookup route_table suppress_prefixlength 0` at
 * route_priority while install_routes is on; with it off, removes our
 * routes and then the rules.  Routes that an older gossamerd put in the
 * main table (protocol GSD_RTPROT via our interface) are removed once.
 * See docs/routing.md. */
int gsd_backend_sync_routes(struct gsd_backend *b, const struct gsm_prefix *want, size_t n);
/* The last netlink error text, or "". */
const char *gsd_backend_errmsg(struct gsd_backend *b);

/* is `prog` (name or path) executable / in PATH */
bool gsd_find_program(const char *prog, char *path, size_t cap);

#endif
