/* daemon/overlay.h - overlay address derivation and IPv4 collision
 * resolution (pure functions). */
#ifndef GOSSAMER_DAEMON_OVERLAY_H
#define GOSSAMER_DAEMON_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/wire.h"

/* fdXX:XXXX:XXXX::/48 from the cluster name (RFC 4193 style, hash based). */
void gsd_overlay_ula48(const char *cluster_name, struct gsm_prefix *out);
/* host address inside prefix6 (len <= 64) with the interface id derived
 * from node_id; out is the address with len 128. */
void gsd_overlay_v6(const struct gsm_prefix *prefix6, const uint8_t node_id[GSM_ID_LEN],
		    struct gsm_prefix *out);
/* the attempt-th derived IPv4 host address inside prefix4 (never the
 * network or broadcast address); out has len 32. */
void gsd_overlay_v4_candidate(const struct gsm_prefix *prefix4, const uint8_t node_id[GSM_ID_LEN],
			      uint32_t attempt, struct gsm_prefix *out);

/* Another member's claim on an IPv4 overlay address. */
struct gsd_v4_claim {
	uint8_t node_id[GSM_ID_LEN];
	uint8_t ip[4];
};

/* Pick our IPv4 address given the other members' claims: the first derived
 * candidate that no member with a lower node id claims, and that no member
 * with a higher node id claims either unless it is the address we hold now
 * (`current`, may be NULL): they must move, we stay.  Lower node id
 * (memcmp order) always keeps a contested address.  Returns the attempt
 * index used; out receives the address (/32).  -ENOSPC if the prefix is
 * exhausted after a bounded search. */
int gsd_overlay_v4_pick(const struct gsm_prefix *prefix4, const uint8_t self_id[GSM_ID_LEN],
			const struct gsd_v4_claim *claims, size_t n_claims,
			const struct gsm_prefix *current, struct gsm_prefix *out);

/* true if a node with id `other` claiming `ip` beats us for it */
bool gsd_overlay_v4_loses(const uint8_t self_id[GSM_ID_LEN], const uint8_t other[GSM_ID_LEN]);

#endif
