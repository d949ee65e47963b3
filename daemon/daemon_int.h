/*
 * daemon/daemon_int.h - private to daemon/: the runtime's one state struct
 * and the calls its component files make into each other.
 *
 * gossamerd is one libuv loop and one `struct gsd_daemon`.  The code that
 * works on that struct is cut along its components, one file each:
 *
 *   daemon.c     gsd_main: setup phases, run, leave, shutdown, signals
 *   gossip_io.c  UDP sockets, the gsm_swim env (clock, send, random, log,
 *                events), the core's tick timer, seeds, join, async names
 *   advert.c     our own advert, observed endpoints / NAT detection, IPv4
 *                overlay collisions, the local interface address cache
 *   wgsync.c     membership -> WireGuard: the reconcile in phases, the
 *                refresh/grace/NAT/periodic timers
 *   persist.c    members file: debounced save, import at startup
 *   reload.c     SIGHUP / `reload`: configuration and cluster key ring
 *   authority_run.c  authority mode: keys and mode to the core, our
 *                certificate chain (file or join key), revocations file,
 *                `revoke`, certificate logs and views (files and
 *                self-issue: authority.c)
 *   api.c        control commands as a {name, handler} table
 *   views.c      JSON views for the control API (status, members, peers)
 *
 * Nothing here is a public contract: the header of the program is
 * daemon/daemon.h.  Every function below runs on the loop thread.
 *
 * ---------------------------------------------------------------------
 * Calls that may block the loop
 * ---------------------------------------------------------------------
 * The loop is single threaded; these calls run on it synchronously.  Each
 * is listed with what bounds it (or why nothing does).  None waits on a
 * remote host: the slow ones talk to the kernel, to wireguard-go on this
 * host, or to the local disk.
 *
 *  - UAPI socket I/O to wireguard-go (uapi.c transact(), via
 *    gsd_backend_get/apply from the reconcile and `peers`): connect, send
 *    and recv on a local unix socket with SO_SNDTIMEO/SO_RCVTIMEO of 2 s.
 *    The timeout is per send()/recv() call, so a wireguard-go that answers
 *    but trickles could stretch one transaction; a hung one costs 2 s per
 *    call (one get + one set per reconcile, at most one reconcile in
 *    flight).  Responses are capped at 64 MiB.
 *  - Netlink requests (netlink/: gnl_wg_get_device, gnl_wg_apply,
 *    gnl_link_*, gnl_addr_*, gnl_route_*): a blocking request/ack on a
 *    NETLINK socket.  The kernel answers synchronously; the bound is the
 *    kernel's own work (rtnl lock), in practice milliseconds.  No timeout.
 *  - Waiting for wireguard-go's UAPI socket after spawning it
 *    (backend.c spawn_wggo): polls every 50 ms, at most 5 s
 *    (GSD_WGGO_SOCKET_WAIT_MS), stops early if the child exits.  Runs at
 *    startup and from gsd_backend_repair() inside a reconcile when
 *    wireguard-go died.
 *  - Waiting for the tun link of wireguard-go (backend.c wait_tun_link):
 *    gnl_link_get every 50 ms, at most 2 s (GSD_TUN_LINK_WAIT_MS).  Same
 *    two call sites as above, so a repair blocks at most 5 s + 2 s.
 *  - getifaddrs (advert.c local address cache): a netlink dump of the
 *    host's addresses, milliseconds.  Cached: re-read at most once per
 *    GSD_IFADDR_REFRESH_MS (10 s), or on a miss at most once per
 *    GSD_IFADDR_MISS_MS (1 s); never per observation.  Also once at
 *    startup in gsd_pick_self_addr.
 *  - Name resolution: seeds (startup, reload) and the `join` command
 *    resolve host names with uv_getaddrinfo on the libuv thread pool, not
 *    on the loop.  Only gsd_pick_self_addr() resolves synchronously, once,
 *    before uv_run (the gossip address must be known to create the core);
 *    bounded by the resolver (resolv.conf timeout x attempts) and only for
 *    seeds given as names.  Shutdown waits for resolutions already
 *    running in the thread pool (same bound).
 *  - File writes (state.c, authority.c): the revocations file (atomic and
 *    fsync'ed, debounced 500 ms after new revocations, at once after a
 *    `revoke`; at most GSM_MAX_REVOCATIONS blocks, about 1.5 MB) and an
 *    issued certificate (start and reload only).
 *  - File writes (state.c): the members file (persist.c, debounced 5-60 s)
 *    is written atomically without fsync; O(members) bytes to the page
 *    cache.  Keys and the generation (startup only) are written with
 *    fsync of the file and the directory: bounded by the disk.
 *    Reading the members file (import) and the key ring (reload) are
 *    plain local reads.
 *  - Probing wireguard-go's UAPI socket (backend.c uapi_alive: connect on
 *    a local unix socket, then close): returns at once unless the
 *    listener's backlog is full.  Probe, open and repair only.
 *  - Startup only, before uv_run: the control socket's stale check
 *    (connect, control.c), enabling IP forwarding for a relay (a /proc
 *    write, nat.c), the backend probe (netlink family lookup).
 *  - Logging (log.c): synchronous writes to stderr or syslog, one line per
 *    call; a reader that stops reading a stderr pipe stalls the daemon,
 *    as with any daemon that logs to stderr.
 *  - The leave at shutdown is not a blocking call: a 20 ms poll timer
 *    bounded by LEAVE_BOUND_MS (2 s), and the loop keeps running.
 */
#ifndef GOSSAMER_DAEMON_DAEMON_INT_H
#define GOSSAMER_DAEMON_DAEMON_INT_H

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "daemon/authority.h"
#include "daemon/backend.h"
#include "daemon/config.h"
#include "daemon/control.h"
#include "daemon/forward.h"
#include "daemon/gateway.h"
#include "daemon/exit.h"
#include "daemon/members.h"
#include "daemon/policy.h"
#include "daemon/ratelimit.h"
#include "daemon/state.h"
#include "gossip/swim.h"

#define GSD_MAX_OBSERVED      4	    /* observed endpoints kept in our advert */
#define GSD_IFADDR_REFRESH_MS 10000 /* local address cache: max age */
#define GSD_IFADDR_MISS_MS    1000  /* local address cache: re-read on a miss */

struct gsd_daemon;
struct gsd_nat;
struct gsd_resolve;

/* one gossip socket (one per bind address) */
struct gsd_udp {
	uv_udp_t h;
	int family; /* 4 or 6 */
	struct gsd_daemon *d;
};

/* a control client waiting for the end of a `leave` */
struct gsd_pending_leave {
	struct gsd_ctl_client *c;
	struct gsd_pending_leave *next;
};

/* a `join` with wait_ms: answered when a contacted seed answers */
struct gsd_pending_join {
	uv_timer_t timer;
	struct gsd_daemon *d;
	struct gsd_ctl_client *c;
	struct gsm_addr *addrs;
	bool *answered;
	size_t n;
	int contacted;
	struct gsd_pending_join *next;
	bool done;
};

/* Receive progress per WireGuard peer.  A dead member's tunnel outlives its
 * grace period only while bytes still arrive from it (gsd_reconcile_desired),
 * so the daemon remembers, per key, the last rx counter and when it grew. */
struct gsd_rxmark {
	uint8_t key[32]; /* first: bsearch/qsort compare it directly */
	uint64_t rx;
	uint64_t grew_ms;
};

/* Why a received datagram was refused (reject.c); names in
 * gsd_reject_reason_name(), documented in docs/control.md. */
enum gsd_reject_reason {
	GSD_REJECT_BAD_KEY,	   /* -EBADMSG on a well-formed envelope */
	GSD_REJECT_UNKNOWN_KEY_ID, /* -ENOKEY */
	GSD_REJECT_OTHER_VERSION,  /* -EPROTONOSUPPORT */
	GSD_REJECT_OVERSIZE,	   /* -EMSGSIZE */
	GSD_REJECT_MALFORMED,	   /* -EBADMSG: no envelope (short, bad magic) */
	GSD_REJECT_UNKNOWN_TYPE,   /* -ENOMSG: message type from a newer minor */
	GSD_REJECT_BAD_SIGNATURE,  /* -EKEYREJECTED */
	GSD_REJECT_REPLAY,	   /* -EALREADY: nonce seen before (envelope v3) */
	GSD_REJECT_CLOCK_SKEW,	   /* -ETIME: time stamp outside the replay window */
	GSD_REJECT_BAD_SENDER,	   /* -EPERM: bad pair tag */
	GSD_REJECT_OTHER,	   /* any other error */
	GSD_REJECT_N
};
const char *gsd_reject_reason_name(int reason);

struct gsd_daemon {
	/* --- core: configuration, identity, the gossip state machine */
	uv_loop_t *loop;
	struct gsd_cli cli;
	struct gsd_config cfg;
	struct gsd_keys keys;
	struct gsm_keyring *kr; /* borrowed by swim: lives as long as it */
	uint64_t generation;
	struct gsm_swim *swim;

	/* --- gossip I/O (gossip_io.c) */
	struct gsd_udp udp[GSD_MAX_BINDS];
	int n_udp;
	uv_timer_t tick_timer; /* the core's next deadline */
	uint8_t rbuf[GSM_MAX_DATAGRAM + 64];
	struct gsd_pending_join *joins; /* `join` requests waiting for answers */
	struct gsd_resolve *resolving;	/* name resolutions in flight */
	/* refused datagrams by reason (status --json gossip.rejected) and
	 * the limiter of their log lines (zeroed table: set up on first use) */
	uint64_t rejected[GSD_REJECT_N];
	struct gsd_ratelimit reject_rl;

	/* --- member cache (members.c): every member's advert decoded once
	 * per version; fed by the core's events (gossip_io.c), resynced at
	 * start and by every reconcile as a safety net (no decode when
	 * nothing changed).  Consumers read it instead of decoding adverts. */
	struct gsd_memcache *members;

	/* --- claim acceptance (policy.c, state in advert.c): the policy
	 * inputs (connected networks, re-read at most every
	 * GSD_IFADDR_REFRESH_MS) and the table of claims seen (first-seen
	 * times for incumbency, drops logged once) */
	struct {
		struct gsd_policy_table *table;
		struct gsd_policy pol;
		struct gsm_prefix *connected;
		size_t n_connected;
		uint64_t connected_ms;
		/* connected clusters: our configured prefixes a gateway does
		 * not advertise, with the member prefix each overlaps */
		struct gsd_policy_withheld *withheld;
		size_t n_withheld;
	} pol;

	/* --- WireGuard sync (wgsync.c) */
	struct gsd_backend *be;
	enum gsd_backend_kind backend_kind;
	struct gsd_nat *nat;	/* NAT traversal planner (real backends only) */
	uv_timer_t nat_timer;	/* plan again at the planner's deadline */
	uv_timer_t grace_timer; /* reconcile when a dead/left grace expires */
	uv_timer_t refresh_timer, periodic_timer;
	struct gsd_rxmark *rx; /* per WireGuard key: rx bytes, when they grew */
	size_t n_rx;
	/* startup hold-off: keep unknown peers until a sync completed */
	uint64_t start_ms;
	int64_t start_unix;
	bool holdoff;
	uint64_t reconciles, wg_changes;

	/* --- own advert, NAT detection, overlay addresses (advert.c) */
	struct gsm_advert adv;
	uint64_t adv_version;
	bool have_v4;
	struct gsm_prefix v4;	     /* our IPv4 overlay address (/32) */
	struct gsm_prefix v6;	     /* our IPv6 overlay address (/128) */
	struct gsm_prefix v6_prefix; /* the IPv6 overlay prefix in use */
	struct gsm_endpoint observed[GSD_MAX_OBSERVED];
	int n_observed;
	bool behind_nat;
	bool static_conflict_logged;
	bool v4_conflict; /* a member with a lower id claims our IPv4 */
	bool relay_via_set;
	uint8_t relay_via[GSM_ID_LEN];
	/* gossip address learned through NAT (note_gossip_observed) */
	struct gsm_addr nat_gaddr;
	bool nat_gaddr_set, nat_port_varies;
	/* local interface addresses (getifaddrs), cached */
	struct gsm_addr *local_addrs;
	size_t n_local_addrs;
	uint64_t local_addrs_ms; /* when read; 0 = never */
	bool local_addrs_ok;	 /* false: could not read (treat all as local) */

	/* --- persistence (persist.c) */
	uv_timer_t persist_timer;

	/* --- authority mode (authority_run.c): our certificate chain as put
	 * in our advert and its check at the last load, the revocations file
	 * written after new revocations (debounced), and the limiter of the
	 * per-member certificate log lines */
	struct {
		struct gsd_chain chain;
		struct gsm_cert_info self;
		char self_why[160];
		uv_timer_t rev_timer;
		bool revs_dirty;
		uint64_t claims_uncertified; /* uncertified claims reported */
		struct gsd_ratelimit rl;
	} auth;

	/* --- forwarding sysctls held by features, restored at shutdown
	 * (forward.h; zeroed = /proc/sys), and the subnet router (gateway.c,
	 * real backends only) */
	struct gsd_forward fwd;
	struct gsd_gateway *gw;

	/* --- plain WireGuard clients of this gateway (clients.c) */
	struct gsd_clients *clients;

	/* --- exit nodes (exit.c): offering one, using one */
	struct gsd_exit *exitn;

	/* --- control API (api.c) */
	struct gsd_control *ctl;

	/* --- lifecycle (daemon.c) */
	uv_timer_t leave_timer, exit_timer;
	uv_signal_t sig_term, sig_int, sig_hup;
	bool leaving, stopping;
	uint64_t leave_deadline;
	struct gsd_pending_leave *leave_waiters;
	int exit_code;
};

/* ------------------------------------------------------------ utilities */

/* monotonic milliseconds (the core's clock) */
static inline uint64_t gsd_now_ms(void)
{
	return uv_hrtime() / 1000000u;
}

static inline int64_t gsd_now_unix(void)
{
	return (int64_t)time(NULL);
}

/* a monotonic ms timestamp as unix seconds; 0 stays 0 */
static inline int64_t gsd_ms_to_unix(uint64_t ms)
{
	if (!ms)
		return 0;
	uint64_t n = gsd_now_ms();
	return gsd_now_unix() - (int64_t)((n > ms ? n - ms : 0) / 1000);
}

static inline void gsd_hex_id(const uint8_t id[GSM_ID_LEN], char out[2 * GSM_ID_LEN + 1])
{
	sodium_bin2hex(out, 2 * GSM_ID_LEN + 1, id, GSM_ID_LEN);
}

/* first 8 bytes of a node id in hex, for logs */
static inline void gsd_short_id(const uint8_t id[GSM_ID_LEN], char out[17])
{
	sodium_bin2hex(out, 17, id, 8);
}

static inline void gsd_b64_key(const uint8_t k[32], char out[45])
{
	sodium_bin2base64(out, 45, k, 32, sodium_base64_VARIANT_ORIGINAL);
}

/* ------------------------------------------------------------ reject.c */

/* Count a datagram gsm_swim_recv refused with err by reason (d->rejected)
 * and log it at info, at most once per (source, reason) a minute. */
void gsd_note_rejected(struct gsd_daemon *d, const struct gsm_addr *from, const uint8_t *dgram,
		       size_t len, int err);

/* ------------------------------------------------------------ gossip_io.c */

/* Fill the gsm_swim environment (callbacks with d as ctx). */
void gsd_io_env(struct gsd_daemon *d, struct gsm_swim_env *env);
/* Re-arm the tick timer at the core's next deadline (capped at 60 s).
 * Call after every call into the core.  No-op when stopping. */
void gsd_kick(struct gsd_daemon *d);
/* Bind the gossip sockets (configured binds, else 0.0.0.0 and ::).
 * 0 or a UV error with msg set. */
int gsd_open_udp(struct gsd_daemon *d, char *msg, size_t msglen);
/* The gossip address others should use (startup only: may resolve the
 * first seeds synchronously, before the loop runs). */
void gsd_pick_self_addr(struct gsd_daemon *d, struct gsm_addr *out);
/* Join through the configured seeds.  Literal addresses join at once;
 * host names are resolved asynchronously and joined when all answered.
 * `startup` logs the outcome as the first join.  0 or negative errno of
 * the synchronous part. */
int gsd_join_seeds(struct gsd_daemon *d, bool startup);
/* The `join` control command (answers now, after resolution, or after
 * wait_ms). */
void gsd_cmd_join(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req);
/* Shutting down: answer pending joins with ESHUTDOWN and cancel name
 * resolutions (their callbacks then only free).  Idempotent. */
void gsd_io_stop(struct gsd_daemon *d);

/* ------------------------------------------------------------ advert.c */

/* Rebuild, sign and publish our advert if anything changed (new version). */
void gsd_advert_refresh(struct gsd_daemon *d, const char *why);
/* Derive our overlay addresses from the configuration and our id. */
void gsd_setup_overlay(struct gsd_daemon *d);
/* A peer observed our gossip socket at obs: NAT detection, observed
 * endpoints, gossip address through NAT. */
void gsd_on_observed(struct gsd_daemon *d, const uint8_t *observer, const struct gsm_addr *obs);
/* A public peer's WireGuard sees ours at obs: replaces that observer's
 * endpoint in our advert. */
void gsd_on_wg_observed(struct gsd_daemon *d, const uint8_t *observer, const struct gsm_addr *obs);
/* Flag v4_conflict when member m claims our IPv4 and wins it. */
void gsd_note_claim(struct gsd_daemon *d, const struct gsd_member *m);
/* Check every member's IPv4 claims against ours; move on a lost collision. */
void gsd_check_v4(struct gsd_daemon *d);
/* Free the local address cache.  Idempotent. */
void gsd_local_addrs_free(struct gsd_daemon *d);

/* ------------------------------------------------------------ wgsync.c */

/* Membership -> WireGuard device, addresses and routes, now.  No-op with
 * backend none or before the core exists. */
void gsd_reconcile_wg(struct gsd_daemon *d);
/* Debounced refresh (collisions + reconcile). */
void gsd_schedule_refresh(struct gsd_daemon *d);
/* Start the periodic refresh timer (real backends only refresh). */
void gsd_wgsync_start(struct gsd_daemon *d);

/* ------------------------------------------------------------ persist.c */

/* Write the alive/suspect members to the state directory now. */
void gsd_persist_now(struct gsd_daemon *d);
/* Debounced gsd_persist_now (5..60 s, longer in larger clusters). */
void gsd_schedule_persist(struct gsd_daemon *d);
/* Import the members saved by the last run into the core. */
void gsd_import_members(struct gsd_daemon *d);

/* ------------------------------------------------------------ reload.c */

/* Re-read flags + file and apply what can change live; the key ring is
 * brought in line with the key file.  0 or negative errno with msg. */
int gsd_reload(struct gsd_daemon *d, char *msg, size_t msglen);

/* ------------------------------------------------------------ authority_run.c */

/* Start: hand the configured authorities and mode to the core, load the
 * revocations file into it (before joining), load our certificate chain
 * or issue it with the join key.  0, or a negative errno with msg (a
 * corrupted revocations file, a join key refused or asked for more than
 * it allows): the daemon exits 1. */
int gsd_authority_start(struct gsd_daemon *d, char *msg, size_t msglen);
/* Reload, step 1, for the new configuration nc (nothing applied): the
 * chain to use (loaded, or issued with nc's join key).  0 or -errno with
 * msg: the reload is refused. */
int gsd_authority_prepare(struct gsd_daemon *d, const struct gsd_config *nc,
			  struct gsd_chain *chain, char *msg, size_t msglen);
/* Reload, step 2, with d->cfg the new configuration: mode, keys, chain
 * (the caller re-signs the advert). */
void gsd_authority_apply(struct gsd_daemon *d, const struct gsd_chain *chain);
/* The core's GSM_SWIM_EV_CERT and GSM_SWIM_EV_REVOCATION. */
void gsd_authority_on_event(struct gsd_daemon *d, const struct gsm_swim_event *ev);
/* A new or changed advert: log its uncertified claims (overlay address,
 * prefixes, labels, relay flag), rate-limited. */
void gsd_authority_note_member(struct gsd_daemon *d, const struct gsd_member *m);
/* Write the revocations file now if it is behind the core. */
void gsd_authority_persist(struct gsd_daemon *d);
/* The `revoke` control command. */
void gsd_cmd_revoke(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req);
/* status --json "authority" and members --json "cert" (new references). */
json_t *gsd_view_authority(struct gsd_daemon *d);
/* sm: the core's view (status, serial, expiry, roles); m: the record of
 * its advert (JOIN in the chain, uncertified claims), may be NULL. */
json_t *gsd_view_cert(const struct gsm_swim_member *sm, const struct gsd_member *m);

/* ------------------------------------------------------------ api.c */

/* The control socket's request handler (ctx is the daemon). */
void gsd_on_control(void *ctx, struct gsd_ctl_client *c, const char *cmd, json_t *req);

/* ------------------------------------------------------------ views.c */

/* `status` result (new reference). */
json_t *gsd_view_status(struct gsd_daemon *d);
/* `members` result (new reference). */
json_t *gsd_view_members(struct gsd_daemon *d);
/* `peers` result in *out (new reference), or the backend's negative errno. */
int gsd_view_peers(struct gsd_daemon *d, json_t **out);

/* ------------------------------------------------------------ daemon.c */

/* Gossip a signed leave, then stop (bounded); idempotent. */
void gsd_start_leave(struct gsd_daemon *d);
/* Answer c when the leave finishes.  0 or -ENOMEM. */
int gsd_leave_add_waiter(struct gsd_daemon *d, struct gsd_ctl_client *c);
/* Persist, answer pending requests, close the control socket, stop the
 * loop.  Idempotent. */
void gsd_stop_everything(struct gsd_daemon *d);

/* ------------------------------------------- claim acceptance (advert.c) */

/* This host's interface networks (address and netmask, host bits
 * cleared), except those of exclude_ifname (may be NULL).  *out is the
 * caller's (free).  0 or -errno. */
int gsd_local_prefixes(const char *exclude_ifname, struct gsm_prefix **out, size_t *n_out);
/* The daemon's policy (configuration, overlay prefixes, connected networks
 * re-read every GSD_IFADDR_REFRESH_MS); valid until the next call. */
const struct gsd_policy *gsd_policy_of(struct gsd_daemon *d);
/* The daemon's claims-seen table, made on first use; NULL when it could
 * not be allocated. */
struct gsd_policy_table *gsd_policy_table_of(struct gsd_daemon *d);
/* Release the policy state (teardown). */
void gsd_policy_state_free(struct gsd_daemon *d);

/* ------------------------------------ connected clusters (advert.c) */

/* After a reconcile pass: apply the overlap rule to a gateway's configured
 * prefixes (daemon/policy.h) and re-sign our advert if that changed what
 * it carries. */
void gsd_overlap_update(struct gsd_daemon *d);
/* status --json "not_advertised": [{prefix, reason, member,
 * member_prefix}] (new reference). */
json_t *gsd_view_not_advertised(const struct gsd_daemon *d);

#endif
