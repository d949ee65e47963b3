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
	uint64_t first_seen_ms; /* when this node first saw the claim (0: at start) */
};

/* Pick our IPv4 address given the other members' claims: the first derived
 * candidate that nobody claims, except the address we hold now (`current`,
 * may be NULL), which we keep unless a claimant beats us for it by
 * gsd_policy_claim_cmp (daemon/policy.h: lower rank = the attempt index of
 * the claimant's own derivation, then incumbency, then lower node id; our
 * own claim dates from self_since_ms).  Every node applies the same rule to
 * the others' claims, so the mover and the rest agree.  Returns the attempt
 * index used; out receives the address (/32).  -ENOSPC if the prefix is
 * exhausted after a bounded search.  *winner (may be NULL) receives the
 * index of the claim that took `current` from us, or -1. */
int gsd_overlay_v4_pick(const struct gsm_prefix *prefix4, const uint8_t self_id[GSM_ID_LEN],
			const struct gsd_v4_claim *claims, size_t n_claims,
			const struct gsm_prefix *current, uint64_t self_since_ms,
			struct gsm_prefix *out, int *winner);

/* Does the claim c beat our claim on the same address (we hold it at
 * attempt our_attempt, since self_since_ms)? */
bool gsd_overlay_v4_loses(const struct gsm_prefix *prefix4, const uint8_t self_id[GSM_ID_LEN],
			  uint32_t our_attempt, uint64_t self_since_ms,
			  const struct gsd_v4_claim *c);

#endif
