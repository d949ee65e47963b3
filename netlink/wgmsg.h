/*
 * netlink/wgmsg.h - internal: WireGuard generic netlink message building
 * (SET_DEVICE, split to a size limit) and parsing (GET_DEVICE dump replies,
 * coalescing split peers).  Pure: no sockets, so host unit tests drive it.
 */
#ifndef GOSSAMER_NETLINK_WGMSG_H
#define GOSSAMER_NETLINK_WGMSG_H

#include <linux/netlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netlink/wg.h"

/* The uapi header (linux-libc-dev) when present, else the same ABI
 * constants, which are stable (Linux 5.6+). */
#if defined(__has_include)
#if __has_include(<linux/wireguard.h>)
#include <linux/wireguard.h>
#define GNL_HAVE_WIREGUARD_H 1
#endif
#endif
#ifndef GNL_HAVE_WIREGUARD_H
#define WG_GENL_NAME	"wireguard"
#define WG_GENL_VERSION 1
enum wg_cmd { WG_CMD_GET_DEVICE, WG_CMD_SET_DEVICE };
enum wgdevice_flag { WGDEVICE_F_REPLACE_PEERS = 1U << 0 };
enum wgdevice_attribute {
	WGDEVICE_A_UNSPEC,
	WGDEVICE_A_IFINDEX,
	WGDEVICE_A_IFNAME,
	WGDEVICE_A_PRIVATE_KEY,
	WGDEVICE_A_PUBLIC_KEY,
	WGDEVICE_A_FLAGS,
	WGDEVICE_A_LISTEN_PORT,
	WGDEVICE_A_FWMARK,
	WGDEVICE_A_PEERS,
};
enum wgpeer_flag {
	WGPEER_F_REMOVE_ME = 1U << 0,
	WGPEER_F_REPLACE_ALLOWEDIPS = 1U << 1,
	WGPEER_F_UPDATE_ONLY = 1U << 2,
};
enum wgpeer_attribute {
	WGPEER_A_UNSPEC,
	WGPEER_A_PUBLIC_KEY,
	WGPEER_A_PRESHARED_KEY,
	WGPEER_A_FLAGS,
	WGPEER_A_ENDPOINT,
	WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
	WGPEER_A_LAST_HANDSHAKE_TIME,
	WGPEER_A_RX_BYTES,
	WGPEER_A_TX_BYTES,
	WGPEER_A_ALLOWEDIPS,
	WGPEER_A_PROTOCOL_VERSION,
};
enum wgallowedip_attribute {
	WGALLOWEDIP_A_UNSPEC,
	WGALLOWEDIP_A_FAMILY,
	WGALLOWEDIP_A_IPADDR,
	WGALLOWEDIP_A_CIDR_MASK,
};
#endif

/* Allowed-IP flags (Linux 6.16+ uapi); absent from older headers. */
#ifndef WGALLOWEDIP_A_FLAGS
#define WGALLOWEDIP_A_FLAGS 4
#endif
#ifndef WGALLOWEDIP_F_REMOVE_ME
#define WGALLOWEDIP_F_REMOVE_ME (1U << 0)
#endif

#define GNL_WG_MSG_MIN 1024
/* nla_len is 16 bits: the WGDEVICE_A_PEERS nest, and so the message, must
 * stay under 64 KiB or the length wraps and the kernel rejects the
 * message ("Unknown attribute type") */
#define GNL_WG_MSG_MAX	   65535
#define GNL_WG_MSG_DEFAULT (32 * 1024)

struct gnl_wgmsg_cfg {
	uint16_t family_id;
	const char *ifname;
	size_t limit;	 /* max bytes per message (clamped to MIN..MAX) */
	bool aip_remove; /* kernel honours WGALLOWEDIP_F_REMOVE_ME */
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
