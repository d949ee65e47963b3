/* daemon/reconcile.h - desired WireGuard state from membership (pure). */
#ifndef GOSSAMER_DAEMON_RECONCILE_H
#define GOSSAMER_DAEMON_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/members.h"
#include "daemon/policy.h"
#include "gossip/wire.h"
#include "netlink/wg.h"

/* A handshake younger than this is "fresh" (WireGuard's REJECT_AFTER_TIME). */
#define GSD_FRESH_HANDSHAKE_S 180
#define GSD_NAT_KEEPALIVE_S   25
/* without a fresh handshake, rotate through candidate endpoints this often */
#define GSD_ENDPOINT_ROTATE_S 20

/* One member as the reconciler sees it: the cached record (read for its
 * id, WireGuard key and port, flags, endpoints, overlay addresses and
 * prefixes; it must have has_advert) and the SWIM state the caller decides
 * on (normally copied from the record).  Borrowed for the call only. */
struct gsd_rc_member {
	const struct gsd_member *mem;
	uint8_t state;		     /* enum gsm_state */
	uint64_t state_since_ms;     /* monotonic ms of the last state change */
	struct gsm_addr gossip_addr; /* family 0 = unknown */
	uint64_t last_rx_ms;	     /* monotonic ms when the peer's rx bytes last
				      * grew (0 = never seen growing) */
};

struct gsd_rc_input {
	uint8_t self_id[GSM_ID_LEN];
	uint8_t self_wg_pubkey[GSM_WGKEY_LEN];
	bool self_behind_nat;
	int keepalive; /* -1 auto, 0 off, N seconds */
	uint32_t dead_grace_ms;
	uint32_t left_grace_ms;
	uint64_t now_ms;		     /* monotonic, same clock as state_since_ms */
	int64_t now_unix;		     /* realtime seconds (handshake ages) */
	const struct gnl_wg_device *current; /* may be NULL */
	const struct gsd_rc_member *members;
	size_t n_members;
	/* Acceptance policy (daemon/policy.h).  NULL: every claim is accepted
	 * and contested ones go to the lower node id (tools, old tests).  With
	 * a policy, this node's own overlay addresses (the SELF member)
	 * compete too, refused and lost claims are dropped, and when
	 * claims_seen is set it supplies incumbency and receives the drops
	 * (one table pass per call). */
	const struct gsd_policy *policy;
	struct gsd_policy_table *claims_seen; /* may be NULL */
	/* This node's own record (may be NULL; with a policy, its overlay
	 * addresses and prefixes compete with the others' claims, e.g. when
	 * the members list leaves self out). */
	const struct gsd_member *self_mem;
	/* Authority mode (enum gsm_authority_mode; 0 = off): in require mode
	 * only members whose certificate is VALID are peers, in warn mode all
	 * but REVOKED ones; with a policy, claims the member's certificate
	 * does not cover are refused (require) or accepted and reported
	 * (warn) with reason GSD_POL_UNCERTIFIED. */
	int authority_mode;
};

/* Why a member is (not) a peer; for logs and tests. */
enum gsd_rc_verdict {
	GSD_RC_PEER = 0,
	GSD_RC_SELF,
	GSD_RC_EXPIRED, /* dead/left past its grace period */
	GSD_RC_DUP_KEY, /* another member has the same WireGuard key */
	GSD_RC_CERT,	/* authority mode: its certificate is not acceptable
			 * (gsd_reconcile_cert_reason) */
};

/* Why a member with this cert_status (enum gsm_cert_status) is not a peer
 * under GSD_RC_CERT: "certificate expired", "certificate revoked",
 * "certificate invalid", "certificate none" ("certificate not-yet-valid"),
 * NULL when the mode admits it. */
const char *gsd_reconcile_cert_reason(int mode, uint8_t cert_status);

/* Build the desired device (peers only; the caller sets device fields).
 * verdicts (may be NULL) gets one entry per input member.  0 or -ENOMEM. */
int gsd_reconcile_desired(const struct gsd_rc_input *in, struct gnl_wg_device *desired,
			  enum gsd_rc_verdict *verdicts);

/* Endpoint choice for one member (exposed for tests): fills ep, or leaves
 * it AF_UNSPEC for "no opinion / keep the current one". */
void gsd_reconcile_endpoint(const struct gsd_rc_input *in, const struct gsd_rc_member *m,
			    const struct gnl_wg_peer *cur, union gnl_sockaddr *ep);

void gsd_addr_to_sockaddr(const struct gsm_addr *a, union gnl_sockaddr *sa);
void gsd_sockaddr_to_addr(const union gnl_sockaddr *sa, struct gsm_addr *a);
void gsd_prefix_to_gnl(const struct gsm_prefix *p, struct gnl_prefix *g);
void gsd_gnl_to_prefix(const struct gnl_prefix *g, struct gsm_prefix *p);

#endif
