/*
 * daemon/gateway.h - subnet router / egress gateway (`gateway = yes`).
 *
 * A gateway advertises site prefixes (advertise_prefixes) and forwards
 * traffic between the mesh interface and the interfaces that reach those
 * prefixes.  This module owns what that needs on the host:
 *  - forwarding (daemon/forward.h, owner GSD_FWD_GATEWAY): IPv4 on the
 *    mesh interface and on every egress interface of the advertised IPv4
 *    prefixes (found in the main routing table), IPv6 for all interfaces
 *    when an IPv6 prefix is advertised;
 *  - with `gateway_snat = yes`, the nftables table `gossamer_gateway`
 *    (daemon/nft.h; family inet, one nat chain at postrouting) that
 *    masquerades packets coming in on the mesh interface and going out of
 *    another one toward the advertised prefixes, so the site needs no
 *    route back to the mesh.
 * The advert flag GSM_ADV_GATEWAY is set by advert.c from the
 * configuration.
 *
 * The wanted state is computed by every reconcile pass (the egress
 * interfaces follow the main table) and applied only where it changed:
 * the table is replaced when its text changed, forwarding is switched on
 * for new interfaces and released for those no longer needed.  Switching
 * the gateway off (reload) or stopping removes the table and releases the
 * forwarding; the first pass removes a table left by a crashed run.
 * Failures are logged (once per distinct message) and retried by the next
 * pass; they never stop the reconcile.
 */
#ifndef GOSSAMER_DAEMON_GATEWAY_H
#define GOSSAMER_DAEMON_GATEWAY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/config.h"
#include "daemon/forward.h"
#include "gossip/wire.h"
#include "netlink/rtnl.h"

struct gsd_gateway;

/* A gateway for the mesh interface ifname using the daemon's shared
 * forwarding state fwd (borrowed: must outlive it).  Nothing is changed
 * on the host until gsd_gateway_apply.  0, -EINVAL (ifname unusable in an
 * nft rule), -ENOMEM. */
int gsd_gateway_new(struct gsd_gateway **out, struct gsd_forward *fwd, const char *ifname);
/* Free (NULL ok).  Does not undo: call gsd_gateway_stop first. */
void gsd_gateway_free(struct gsd_gateway *g);

/* The reconcile pass: bring forwarding and the table in line with c
 * (gateway, gateway_snat) and the prefixes of our advert adv.  NULL g:
 * no-op. */
void gsd_gateway_apply(struct gsd_gateway *g, const struct gsd_config *c,
		       const struct gsm_advert *adv);

/* Remove the table and release the gateway's forwarding (shutdown).
 * Idempotent; NULL ok. */
void gsd_gateway_stop(struct gsd_gateway *g);

/* status --json "gateway": {"enabled", "snat", "forwarding": [ifnames,
 * "all (IPv6)" when IPv6 forwarding is held], "prefixes": [...]} (new
 * reference).  g may be NULL (backend none: nothing applied). */
json_t *gsd_gateway_view(const struct gsd_gateway *g, const struct gsd_config *c);

/* ---- pure parts (tested without root) ---- */

/* The body of the gossamer_gateway table masquerading packets from ifname
 * to the n prefixes p (both families) into out; "" when n is 0.  0 or
 * -EMSGSIZE. */
int gsd_gateway_render(const char *ifname, const struct gsm_prefix *p, size_t n, char *out,
		       size_t cap);

/* The egress interfaces of the prefixes p of one family, from the main
 * table's routes: for each prefix, the device of every route inside it and
 * of the longest route containing it (lowest metric first; a default route
 * counts).  Routes without a device (multipath) are skipped.  Distinct
 * ifindexes into out (at most cap); returns how many. */
size_t gsd_gateway_egress(const struct gsm_prefix *p, size_t n, const struct gnl_route *routes,
			  size_t n_routes, uint32_t *out, size_t cap);

#endif
