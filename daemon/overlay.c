/*
 * daemon/overlay.c - overlay addressing.
 *
 * Every member gets an IPv6 address in a ULA /48 derived from the cluster
 * name (so every node computes the same prefix without coordination) with
 * a 64-bit interface id hashed from its node id: collisions are negligible
 * and the address is stable across restarts and reinstalls that keep the
 * identity.  IPv4 is scarcer: the address is either configured or derived
 * by hashing (node id, attempt) into the configured prefix.  In a /16 with
 * hundreds of nodes birthday collisions do happen, so collisions are
 * detected from the gossiped adverts and resolved without any coordinator
 * by the rule of daemon/policy.h (gsd_policy_claim_cmp): the claim at the
 * lower attempt index of its own derivation keeps the address, then the
 * incumbent, then the lower node id (so grinding keys for a low id or a
 * colliding first candidate does not take an address away); the loser
 * takes its next attempt that nobody claims, and re-advertises.  Every
 * node applies the same rule to the others' claims (daemon/reconcile.c),
 * and a node never grabs an address held by anyone when it moves.
 * docs/addressing.md has the whole rule.
 */
#include "daemon/overlay.h"
#include "daemon/policy.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

void gsd_overlay_ula48(const char *cluster_name, struct gsm_prefix *out)
{
	uint8_t h[32];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)"gossamer-ula", 12);
	crypto_generichash_update(&st, (const uint8_t *)cluster_name, strlen(cluster_name));
	crypto_generichash_final(&st, h, sizeof(h));
	memset(out, 0, sizeof(*out));
	out->family = 6;
	out->ip[0] = 0xfd;
	memcpy(out->ip + 1, h, 5);
	out->len = 48;
}

void gsd_overlay_v6(const struct gsm_prefix *prefix6, const uint8_t node_id[GSM_ID_LEN],
		    struct gsm_prefix *out)
{
	uint8_t h[16];
	crypto_generichash(h, sizeof(h), node_id, GSM_ID_LEN, (const uint8_t *)"gossamer-ip6", 12);
	*out = *prefix6;
	memcpy(out->ip + 8, h, 8);
	/* never the all-zero (subnet-router anycast) interface id */
	if (!memcmp(out->ip + 8, "\0\0\0\0\0\0\0\0", 8))
		out->ip[15] = 1;
	out->len = 128;
}

void gsd_overlay_v4_candidate(const struct gsm_prefix *prefix4, const uint8_t node_id[GSM_ID_LEN],
			      uint32_t attempt, struct gsm_prefix *out)
{
	uint8_t in[GSM_ID_LEN + 4], h[8];
	memcpy(in, node_id, GSM_ID_LEN);
	in[GSM_ID_LEN] = (uint8_t)attempt;
	in[GSM_ID_LEN + 1] = (uint8_t)(attempt >> 8);
	in[GSM_ID_LEN + 2] = (uint8_t)(attempt >> 16);
	in[GSM_ID_LEN + 3] = (uint8_t)(attempt >> 24);
	crypto_generichash(h, sizeof(h), in, sizeof(in), (const uint8_t *)"gossamer-ip4", 12);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | h[i];
	unsigned hb = 32u - prefix4->len;
	uint64_t size = (uint64_t)1 << hb;
	uint64_t usable = size > 2 ? size - 2 : 1;
	uint32_t host = (uint32_t)(1 + v % usable);
	uint32_t net = ((uint32_t)prefix4->ip[0] << 24) | ((uint32_t)prefix4->ip[1] << 16) |
		       ((uint32_t)prefix4->ip[2] << 8) | prefix4->ip[3];
	uint32_t mask = prefix4->len ? 0xffffffffu << hb : 0;
	uint32_t ip = (net & mask) | (host & ~mask);
	memset(out, 0, sizeof(*out));
	out->family = 4;
	out->ip[0] = (uint8_t)(ip >> 24);
	out->ip[1] = (uint8_t)(ip >> 16);
	out->ip[2] = (uint8_t)(ip >> 8);
	out->ip[3] = (uint8_t)ip;
	out->len = 32;
}

bool gsd_overlay_v4_loses(const struct gsm_prefix *prefix4, const uint8_t self_id[GSM_ID_LEN],
			  uint32_t our_attempt, uint64_t self_since_ms,
			  const struct gsd_v4_claim *c)
{
	if (!memcmp(c->node_id, self_id, GSM_ID_LEN))
		return false;
	struct gsd_policy_claim ours = {
	    .rank = our_attempt < GSD_POLICY_V4_K ? our_attempt : GSD_POLICY_V4_K,
	    .first_seen_ms = self_since_ms,
	};
	struct gsd_policy_claim theirs = {
	    .rank = gsd_policy_v4_rank(prefix4, c->node_id, c->ip),
	    .first_seen_ms = c->first_seen_ms,
	};
	memcpy(ours.id, self_id, GSM_ID_LEN);
	memcpy(theirs.id, c->node_id, GSM_ID_LEN);
	return gsd_policy_claim_cmp(&theirs, &ours) < 0;
}

int gsd_overlay_v4_pick(const struct gsm_prefix *prefix4, const uint8_t self_id[GSM_ID_LEN],
			const struct gsd_v4_claim *claims, size_t n_claims,
			const struct gsm_prefix *current, uint64_t self_since_ms,
			struct gsm_prefix *out, int *winner)
{
	uint64_t space = ((uint64_t)1 << (32u - prefix4->len));
	uint64_t limit = space * 4 + 64;
	if (winner)
		*winner = -1;
	for (uint32_t attempt = 0; attempt < limit; attempt++) {
		struct gsm_prefix c;
		gsd_overlay_v4_candidate(prefix4, self_id, attempt, &c);
		bool held = current && current->family == 4 && !memcmp(current->ip, c.ip, 4);
		bool ok = true;
		for (size_t i = 0; i < n_claims && ok; i++) {
			if (memcmp(claims[i].ip, c.ip, 4))
				continue;
			if (!memcmp(claims[i].node_id, self_id, GSM_ID_LEN))
				continue;
			if (!held) {
				ok = false; /* taken: do not grab it when moving */
			} else if (gsd_overlay_v4_loses(prefix4, self_id, attempt, self_since_ms,
							&claims[i])) {
				ok = false;
				if (winner)
					*winner = (int)i;
			}
		}
		if (ok) {
			*out = c;
			return (int)attempt;
		}
	}
	return -ENOSPC;
}
