/*
 * netlink/wgmsg.h - internal: WireGuard generic netlink message building
 * (SET_DEVICE, split to a size limit) and parsing (GET_DEVICE dump replies,
 * coalescing split peers).  Pure: no sockets, so host unit tests drive it.
 */
#ifndef GOSSAMER_NETLINK_WGMSG_H
#define GOSSAMER_NETLINK_WGMSG_H

#include <linux/netlink.h>
#include <linux/wireguard.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink/wg.h"

/* Allowed-IP flags (Linux 6.16+ uapi); absent from older headers. */
#ifndef WGALLOWEDIP_A_FLAGS
#define WGALLOWEDIP_A_FLAGS 4
#endif
#ifndef WGALLOWEDIP_F_REMOVE_ME
#define WGALLOWEDIP_F_REMOVE_ME (1U << 0)
#endif

#define GNL_WG_MSG_MIN 1024
#define GNL_WG_MSG_MAX (1024 * 1024)
#define GNL_WG_MSG_DEFAULT (32 * 1024)

struct gnl_wgmsg_cfg {
	uint16_t family_id;
	const char *ifname;
	size_t limit;     /* max bytes per message (clamped to MIN..MAX) */
	bool aip_remove;  /* kernel honours WGALLOWEDIP_F_REMOVE_ME */
};

/* Called once per finished message; nlh is valid only during the call.
 * Return 0 to continue, a negative errno to stop. */
typedef int (*gnl_wgmsg_emit_fn)(void *ctx, struct nlmsghdr *nlh);

/* Serialize ops as SET_DEVICE messages no larger than cfg->limit, in op
 * order; device fields (and WGDEVICE_F_REPLACE_PEERS) go in the first
 * message; a peer whose allowed IPs do not fit continues in the next
 * message(s).  Nothing is emitted for an empty op list.  stats (may be
 * NULL) accumulates what was emitted.  -EMSGSIZE if the limit cannot hold
 * even one peer header. */
int gnl_wgmsg_build_set(const struct gnl_wgmsg_cfg *cfg, const struct gnl_wg_ops *ops,
			gnl_wgmsg_emit_fn emit, void *ctx, struct gnl_wg_apply_stats *stats);

/* Build a GET_DEVICE dump request for ifname into buf (>= 64 + IFNAMSIZ). */
struct nlmsghdr *gnl_wgmsg_build_get(void *buf, uint16_t family_id, const char *ifname);

/* Fold one GET_DEVICE dump reply message into dev (created by caller):
 * device attributes overwrite, peers append, and a message whose first
 * peer has the same public key as dev's last peer continues that peer
 * (the kernel splits a peer's allowed IPs across messages).  -EBADMSG on
 * malformed input, -ENOMEM. */
int gnl_wgmsg_parse_dump(const struct nlmsghdr *nlh, struct gnl_wg_device *dev);

#endif
