/*
 * netlink/wg.h - a backend-neutral WireGuard device/peer model, a pure diff
 * between a desired and a current device, and the kernel backend that
 * applies such a diff (and reads the device back) over generic netlink.
 *
 * The model (struct gnl_wg_device / gnl_wg_peer / gnl_prefix) is plain data:
 * the daemon fills a desired device, reads the current one from the kernel
 * (gnl_wg_get_device) or from wireguard-go (its own UAPI parser), computes
 * gnl_wg_diff(desired, current) and hands the resulting op list either to
 * gnl_wg_apply() (kernel) or to its UAPI serializer.  Unchanged peers yield
 * no op at all, so their handshakes, sessions and counters survive.
 *
 * Conventions: negative errno returns; every *_free accepts NULL; secret
 * keys are wiped when freed.  Nothing here is thread-safe per handle.
 * See docs/netlink.md.
 */
#ifndef GOSSAMER_NETLINK_WG_H
#define GOSSAMER_NETLINK_WG_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#define GNL_WG_KEY_LEN 32

/* ---------------------------------------------------------------- model */

/* An IP prefix: WireGuard allowed IP, interface address or route.
 * family is AF_INET or AF_INET6; bits beyond cidr are ignored by the diff
 * (gnl_prefix_normalize clears them, as the kernel does). */
struct gnl_prefix {
	uint16_t family;
	uint8_t cidr;
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t b[16];
	} addr;
};

/* An endpoint: sa.sa_family AF_UNSPEC (all zero) means "none". */
union gnl_sockaddr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct gnl_wg_peer {
	uint8_t public_key[GNL_WG_KEY_LEN];
	/* has_preshared_key false == no PSK (all zero), also in desired state:
	 * the diff then clears a PSK the kernel has. */
	bool has_preshared_key;
	uint8_t preshared_key[GNL_WG_KEY_LEN];
	/* In a DESIRED device, AF_UNSPEC means "no opinion": the diff never
	 * touches the endpoint (keeps what the kernel learned by roaming). */
	union gnl_sockaddr endpoint;
	uint16_t persistent_keepalive; /* seconds, 0 = off */
	struct gnl_prefix *allowedips; /* owned; gnl_wg_peer_add_allowedip */
	size_t n_allowedips, cap_allowedips;
	/* read back only (ignored by the diff and by apply) */
	struct timespec last_handshake; /* CLOCK_REALTIME, 0 = never */
	uint64_t rx_bytes, tx_bytes;
	uint32_t protocol_version;
};

/* which device-level fields a DESIRED device manages (a device read back
 * has all of them set) */
#define GNL_WG_DEV_PRIVATE_KEY (1u << 0)
#define GNL_WG_DEV_LISTEN_PORT (1u << 1)
#define GNL_WG_DEV_FWMARK      (1u << 2)

struct gnl_wg_device {
	char ifname[IFNAMSIZ];
	uint32_t ifindex; /* read back */
	uint32_t flags;	  /* GNL_WG_DEV_* */
	uint8_t private_key[GNL_WG_KEY_LEN];
	uint8_t public_key[GNL_WG_KEY_LEN]; /* read back (kernel derives it) */
	bool has_public_key;
	uint16_t listen_port;
	uint32_t fwmark;
	struct gnl_wg_peer *peers; /* owned; gnl_wg_device_add_peer */
	size_t n_peers, cap_peers;
};

/* Allocate an empty device (ifname may be NULL).  -ENOMEM, -EINVAL (name
 * too long). */
int gnl_wg_device_new(const char *ifname, struct gnl_wg_device **out);
/* Wipes keys, frees peers and their allowed IPs.  NULL ok. */
void gnl_wg_device_free(struct gnl_wg_device *dev);
/* Append a zeroed peer with this public key; *out stays valid until the
 * next add (the array may move).  -ENOMEM. */
int gnl_wg_device_add_peer(struct gnl_wg_device *dev, const uint8_t pub[GNL_WG_KEY_LEN],
			   struct gnl_wg_peer **out);
/* Sort peers by public key.  gnl_wg_diff sorts (an index of) unsorted
 * inputs itself; keeping desired and cached devices sorted makes a diff
 * of 10 000 peers one linear pass.  Devices read back from the kernel
 * are in the kernel's order (not sorted). */
void gnl_wg_device_sort(struct gnl_wg_device *dev);
/* Find a peer by public key: O(log n) when dev is sorted (hits), linear
 * otherwise and for misses.  Correct on any order. */
struct gnl_wg_peer *gnl_wg_device_find_peer(const struct gnl_wg_device *dev,
					    const uint8_t pub[GNL_WG_KEY_LEN]);
int gnl_wg_peer_add_allowedip(struct gnl_wg_peer *peer, const struct gnl_prefix *p);
/* Deep copy (-ENOMEM). */
int gnl_wg_device_dup(const struct gnl_wg_device *src, struct gnl_wg_device **out);

/* Parse "10.1.2.3/24", "fd00::1/64", "10.1.2.3" (host prefix).  -EINVAL. */
int gnl_prefix_parse(const char *s, struct gnl_prefix *out);
/* Print as "addr/cidr"; buf of GNL_PREFIX_STRLEN is always enough. */
#define GNL_PREFIX_STRLEN (INET6_ADDRSTRLEN + 5)
const char *gnl_prefix_format(const struct gnl_prefix *p, char *buf, size_t len);
/* Clear the bits beyond cidr; -EINVAL on a bad family or cidr. */
int gnl_prefix_normalize(struct gnl_prefix *p);
/* total order (family, address, cidr) after normalization; 0 == equal */
int gnl_prefix_cmp(const struct gnl_prefix *a, const struct gnl_prefix *b);
/* Parse "1.2.3.4:51820" / "[fd00::1]:51820" (numeric only).  -EINVAL. */
int gnl_sockaddr_parse(const char *s, union gnl_sockaddr *out);
#define GNL_SOCKADDR_STRLEN (INET6_ADDRSTRLEN + 8)
const char *gnl_sockaddr_format(const union gnl_sockaddr *sa, char *buf, size_t len);
/* 1 if same family, address and port (and scope id for v6) */
bool gnl_sockaddr_equal(const union gnl_sockaddr *a, const union gnl_sockaddr *b);

/* ----------------------------------------------------------------- diff */

enum gnl_wg_op_kind {
	GNL_WG_OP_REMOVE = 1, /* remove the peer */
	GNL_WG_OP_UPDATE,     /* change the fields in `changed` of an existing peer */
	GNL_WG_OP_ADD,	      /* create the peer with every field */
};

/* bits of gnl_wg_peer_op.changed (ADD sets all that apply) */
#define GNL_WG_CH_ENDPOINT	(1u << 0)
#define GNL_WG_CH_KEEPALIVE	(1u << 1)
#define GNL_WG_CH_PRESHARED_KEY (1u << 2)
#define GNL_WG_CH_ALLOWEDIPS	(1u << 3)

struct gnl_wg_peer_op {
	enum gnl_wg_op_kind kind;
	uint32_t changed; /* GNL_WG_CH_* */
	uint8_t public_key[GNL_WG_KEY_LEN];
	uint8_t preshared_key[GNL_WG_KEY_LEN]; /* valid with CH_PRESHARED_KEY; zero = none */
	union gnl_sockaddr endpoint;	       /* valid with CH_ENDPOINT */
	uint16_t persistent_keepalive;	       /* valid with CH_KEEPALIVE */
	/* valid with CH_ALLOWEDIPS.  ADD: aip_add is the whole set, no aip_del.
	 * UPDATE: the prefixes to add and to remove (incremental), and aip_all,
	 * the complete desired set, for backends that can only replace the
	 * set (kernels without WGALLOWEDIP_F_REMOVE_ME, UAPI
	 * replace_allowed_ips=true).  All three sorted by gnl_prefix_cmp. */
	struct gnl_prefix *aip_add, *aip_del, *aip_all;
	size_t n_aip_add, n_aip_del, n_aip_all;
};

/* An ordered op list: device fields first, then REMOVE ops, UPDATE ops,
 * ADD ops, each group in public-key order.  Apply in this order. */
struct gnl_wg_ops {
	/* true: the kernel drops ALL existing peers (and their sessions)
	 * before the ops run (`wg setconf` semantics; set by
	 * gnl_wg_set_device, never by gnl_wg_diff) */
	bool replace_peers;
	uint32_t dev_changed; /* GNL_WG_DEV_* to set */
	uint8_t private_key[GNL_WG_KEY_LEN];
	uint16_t listen_port;
	uint32_t fwmark;
	struct gnl_wg_peer_op *ops;
	size_t n_ops, cap_ops;
};

/* Pure: what must change to turn `current` into `desired`.  current may be
 * NULL (empty device).  Peers of current absent from desired are removed;
 * desired peers absent from current are added; peers in both get an UPDATE
 * with only the differing fields, or nothing at all if nothing differs.
 * Desired allowed IPs are compared as normalized sets (duplicates ignored).
 * Duplicate public keys in desired: -EINVAL.  -ENOMEM. */
int gnl_wg_diff(const struct gnl_wg_device *desired, const struct gnl_wg_device *current,
		struct gnl_wg_ops **out);
/* true if the list changes nothing */
bool gnl_wg_ops_empty(const struct gnl_wg_ops *ops);
/* Apply an op list to an in-memory device (the same semantics the kernel
 * gives it), e.g. to keep a cached "current" device after a successful
 * gnl_wg_apply instead of re-reading 10 000 peers: then
 * diff(desired, cache) costs microseconds per peer and nothing is dumped.
 * Read-back fields of surviving peers are kept; added peers start at 0.
 * -ENOMEM: dev may be partly updated; re-read it from the kernel. */
int gnl_wg_device_apply_ops(struct gnl_wg_device *dev, const struct gnl_wg_ops *ops);
void gnl_wg_ops_free(struct gnl_wg_ops *ops); /* wipes keys; NULL ok */

/* --------------------------------------------------- kernel backend */

struct gnl_wg; /* a generic netlink socket bound to the `wireguard` family */

/* Open the socket and resolve the family.  Errors: -ENOENT when the
 * kernel has no `wireguard` family (module missing: see gnl_wg_errmsg),
 * -EPERM/-EACCES, -ENOMEM, socket errors. */
int gnl_wg_open(struct gnl_wg **out);
void gnl_wg_close(struct gnl_wg *h); /* NULL ok */

/* Human text for the last failure on h: the kernel's extended ACK message
 * when it sent one, else a message from this module ("WireGuard kernel
 * module missing...", "permission denied (needs CAP_NET_ADMIN)"), else "". */
const char *gnl_wg_errmsg(const struct gnl_wg *h);
/* strerror for this module's negative errno values (never NULL) */
const char *gnl_strerror(int err);

/* Largest SET_DEVICE message (bytes) apply may send; default 32 KiB,
 * clamped to [1024, 65535] (attribute lengths are 16-bit: a bigger
 * peers nest would wrap).  Larger updates are split over messages. */
void gnl_wg_set_msg_limit(struct gnl_wg *h, size_t bytes);

/* Read the device (dump; peers split across messages are coalesced;
 * interrupted dumps (NLM_F_DUMP_INTR) are retried).  -ENODEV: no such
 * interface; -EOPNOTSUPP: it is not a WireGuard interface. */
int gnl_wg_get_device(struct gnl_wg *h, const char *ifname, struct gnl_wg_device **out);

/* How many dumps on h were thrown away and repeated because the kernel
 * marked them NLM_F_DUMP_INTR (the device changed during the dump). */
unsigned long gnl_wg_dump_retries(const struct gnl_wg *h);

struct gnl_wg_apply_stats {
	size_t messages;   /* SET_DEVICE messages sent (incl. a support probe) */
	size_t bytes;	   /* their total size */
	size_t peers;	   /* peer entries sent (a peer split over messages counts per message) */
	size_t allowedips; /* allowed-IP entries sent */
	bool aip_replace_fallback; /* some UPDATE used REPLACE_ALLOWEDIPS */
};

/* Apply an op list to interface ifname.  Allowed-IP removals use
 * WGALLOWEDIP_F_REMOVE_ME where the kernel supports it (probed once per
 * handle); otherwise the peer's set is replaced (aip_all).  stats may be
 * NULL; it is filled even on failure (what was sent). */
int gnl_wg_apply(struct gnl_wg *h, const char *ifname, const struct gnl_wg_ops *ops,
		 struct gnl_wg_apply_stats *stats);
/* Make the kernel device equal to dev, replacing all peers (like
 * `wg setconf`).  Resets every peer's session; prefer gnl_wg_sync. */
int gnl_wg_set_device(struct gnl_wg *h, const struct gnl_wg_device *dev,
		      struct gnl_wg_apply_stats *stats);
/* get + diff + apply for dev->ifname (like `wg syncconf`, but per field). */
int gnl_wg_sync(struct gnl_wg *h, const struct gnl_wg_device *dev,
		struct gnl_wg_apply_stats *stats);

/* Kernel allowed-IP removal support: 1 yes, 0 no, -1 not probed yet.
 * gnl_wg_force_aip_replace(h, true) disables it (tests, old kernels). */
int gnl_wg_aip_remove_supported(const struct gnl_wg *h);
void gnl_wg_force_aip_replace(struct gnl_wg *h, bool on);

#endif
