/*
 * daemon/clients.h - plain WireGuard clients attached to this gateway
 * (docs/clients.md).
 *
 * A client is a WireGuard peer that does not run gossamerd (a laptop, a
 * phone, a managed control plane's VPC endpoint).  The gateway keeps one
 * record per client: a name, its WireGuard public key, an address (/32)
 * from `client_pool`, the prefixes it may reach besides the overlay, and
 * when it was added.  The records are persisted in
 * <state_dir>/clients.json (atomic, durable) and loaded at start.  Each
 * record becomes a WireGuard peer (allowed IPs = its /32), its /32 goes
 * into our advert (every member routes it to us), and the table
 * `gossamer_clients` drops what a client sends outside its allowed
 * prefixes (a client can widen its own AllowedIPs; it reaches nothing
 * more).  The private key of a generated pair is only in the reply of
 * `client_add`, never stored.
 *
 * Every function runs on the loop thread.
 */
#ifndef GOSSAMER_DAEMON_CLIENTS_H
#define GOSSAMER_DAEMON_CLIENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/wire.h"
#include "netlink/wg.h"

#define GSD_CLIENTS_MAX	       GSM_MAX_PREFIXES /* every /32 is a prefix of our advert */
#define GSD_CLIENT_MAX_ALLOWED 16		/* chosen prefixes per client */
#define GSD_CLIENTS_FILE       "clients.json"

struct gsd_daemon;
struct gsd_ctl_client;
struct gsd_clients;

/* One client record (as persisted). */
struct gsd_client_rec {
	char name[GSM_MAX_NAME + 1];
	uint8_t pubkey[32];
	struct gsm_prefix addr; /* IPv4 /32 inside client_pool */
	uint8_t n_allowed;
	struct gsm_prefix allowed[GSD_CLIENT_MAX_ALLOWED]; /* besides the overlay */
	int64_t created;				   /* Unix seconds */
};

/* ---- the record set (no daemon state: unit-testable) ---- */

/* An empty set persisted at path (copied).  NULL on -ENOMEM. */
struct gsd_clients *gsd_clients_new(const char *path);
/* Frees the set (NULL is fine); nothing on disk or in the kernel changes. */
void gsd_clients_free(struct gsd_clients *cs);
/* Read the file: 0 (also when there is none), -EINVAL with msg (a record
 * that does not parse: the daemon refuses to start rather than drop a
 * client silently), or -errno. */
int gsd_clients_load(struct gsd_clients *cs, char *msg, size_t msglen);
/* Write the file atomically and durably (0600).  0 or -errno. */
int gsd_clients_save(const struct gsd_clients *cs);
size_t gsd_clients_count(const struct gsd_clients *cs);
/* The i-th record (sorted by name); NULL past the end. */
const struct gsd_client_rec *gsd_clients_at(const struct gsd_clients *cs, size_t i);
/* The first free host address of pool (IPv4; network and broadcast
 * addresses skipped for pools up to /30).  0 or -ENOSPC. */
int gsd_clients_next_addr(const struct gsd_clients *cs, const struct gsm_prefix *pool,
			  struct gsm_prefix *out);

/* ---- the runtime: called from daemon.c, wgsync.c, advert.c, api.c ---- */

/* Load the records (d->clients).  0, or -errno after logging why (the
 * daemon exits).  Call before the first advert. */
int gsd_clients_start(struct gsd_daemon *d);
/* Shutdown: the table `gossamer_clients` is deleted when there are no
 * clients and kept otherwise (their peers stay on the interface while the
 * daemon is down: the restriction must stay too); forwarding is restored;
 * the set freed.  Idempotent. */
void gsd_clients_stop(struct gsd_daemon *d);
/* The reconcile pass: bring the table `gossamer_clients` in line (replaced
 * only when its text changed), then add one peer per client to want
 * (allowed IPs = its /32; a PSK and keepalive set by hand on cur are
 * kept; a member or static peer with the same key wins).  When the table
 * cannot be written no client peer is added (fail closed).  0 or -ENOMEM. */
int gsd_clients_reconcile(struct gsd_daemon *d, const struct gnl_wg_device *cur,
			  struct gnl_wg_device *want);
/* Our advert: append the clients' /32s to out (at most cap).  Returns how
 * many were written. */
size_t gsd_clients_advertise(const struct gsd_daemon *d, struct gsm_prefix *out, size_t cap);

/* ---- control commands (docs/control.md) ---- */
void gsd_cmd_client_add(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req);
void gsd_cmd_client_list(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req);
void gsd_cmd_client_remove(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req);

#endif
