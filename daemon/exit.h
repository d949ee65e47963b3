/*
 * daemon/exit.h - exit nodes: offering one (`exit = yes`) and using one
 * (`exit_node = NAME[,NAME...]` or the `exit_node` control command).
 * docs/routing.md, "Exit nodes", is the user's description.
 *
 * Offering: the advert carries GSM_ADV_EXIT (advert.c), IP forwarding is
 * enabled for the mesh interface and the interfaces of the main table's
 * default routes (daemon/forward.h), and the nftables table
 * `gossamer_exit` masquerades traffic from the overlay prefixes that
 * leaves through any interface other than the mesh's.
 *
 * Using: the first wanted member (in the order given) that is alive
 * (alive or suspect), a WireGuard peer of this pass and carries
 * GSM_ADV_EXIT gets 0.0.0.0/0 and ::/0 in its allowed IPs; table
 * exit_table holds one default route per family via the mesh interface,
 * reached by two rules per family: `lookup main suppress_prefixlength 0`
 * at exit_priority and `not fwmark FWMARK lookup exit_table` at
 * exit_priority + 1.  The WireGuard device and the gossip sockets carry
 * FWMARK, so the tunnel's own packets and gossip stay on the underlay.
 * Turning it off (or no usable exit) removes the rules and routes and
 * puts back the device's previous fwmark and the sockets' mark 0; the
 * allowed IPs follow from the next reconcile without /0.
 *
 * Every function runs on the loop thread.  Errors of the kernel calls are
 * logged (once per change) and retried by the next reconcile pass.
 */
#ifndef GOSSAMER_DAEMON_EXIT_H
#define GOSSAMER_DAEMON_EXIT_H

#include <jansson.h>

#include "netlink/wg.h"

struct gsd_daemon;
struct gsd_ctl_client;
struct gsd_exit;

/* The exit state of a daemon (nothing installed yet).  0 or -ENOMEM. */
int gsd_exit_new(struct gsd_exit **out);
/* Free the state only (gsd_exit_stop undoes the kernel state).  NULL ok. */
void gsd_exit_free(struct gsd_exit *x);

/* One reconcile pass, after the wanted device is complete and before it
 * is applied: offer (forwarding, nftables) or stop offering per the
 * configuration; choose the exit among the members, put /0 into its peer
 * in want and manage the device fwmark in want; install or remove the
 * rules and routes.  The rules go in only once cur shows our fwmark (the
 * first pass sets it, the next one, scheduled here, routes), so the
 * tunnel's own packets never enter it.  Never fails the pass: 0. */
int gsd_exit_sync(struct gsd_daemon *d, const struct gnl_wg_device *cur,
		  struct gnl_wg_device *want);

/* Shutdown: remove the consumer's rules and routes, the socket marks,
 * the nftables table, and restore forwarding.  The device keeps its peers
 * (tunnels survive restarts); without the rules /0 in a peer's allowed IPs
 * routes nothing.  Idempotent. */
void gsd_exit_stop(struct gsd_daemon *d);

/* A reload replaced the configuration: a run-time `exit_node` choice
 * gives way to the file's exit_node again. */
void gsd_exit_reloaded(struct gsd_daemon *d);

/* The `exit_node` control command: {"exit_node": ["a", "b"]} or [] (off).
 * Replies with the exit object of gsd_exit_view after a reconcile. */
void gsd_cmd_exit_node(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req);

/* {"offering": bool, "wanted": [names], "using": name|null, "table": N}
 * (new reference; NULL on ENOMEM). */
json_t *gsd_exit_view(const struct gsd_daemon *d);

#endif
