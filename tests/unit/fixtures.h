/* tests/unit/fixtures.h - realistic codec inputs shared by the unit tests,
 * the fuzz seed generator and bench/codec.c. */
#ifndef GOSSAMER_TESTS_UNIT_FIXTURES_H
#define GOSSAMER_TESTS_UNIT_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "gossip/cert.h"
#include "gossip/crypto.h"
#include "gossip/wire.h"

/* Deterministic filler: 32 bytes derived from tag. */
void fx_bytes(uint8_t *out, size_t n, uint32_t tag);
/* Identity from a seed derived from tag. */
struct gsm_identity *fx_identity(uint32_t tag);
/* A typical advert: 2 endpoints (v4 configured, v6 observed), 2 overlay
 * addresses, 2 prefixes, 3 labels (given unsorted), relay_via set. */
void fx_advert_typical(struct gsm_advert *a, const uint8_t node_id[GSM_ID_LEN]);
/* The largest advert that still fits GSM_MAX_ADVERT: every list at its
 * bound with IPv6 everywhere, long name, as many full labels as fit. */
void fx_advert_max(struct gsm_advert *a, const uint8_t node_id[GSM_ID_LEN]);
/* A fully populated update (every optional field present). */
void fx_update(struct gsm_update *u, uint32_t tag);
/* A message of the given type with the fields that type uses, n_updates
 * piggybacked updates, the given signed adverts and n_digest digest
 * entries. */
void fx_msg(struct gsm_msg *m, uint8_t type, size_t n_updates, const struct gsm_bytes *adverts,
	    size_t n_adverts, size_t n_digest);
/* Field-by-field equality of two messages (1 = equal). */
int fx_msg_equal(const struct gsm_msg *a, const struct gsm_msg *b);
/* Certificates: times around FX_CERT_NOW (2023-11-14). */
#define FX_CERT_NOW 1700000000ull
#define FX_DAY	    86400ull
/* A typical node certificate (not normalised): name "node-a", pinned
 * overlay 10.42.0.7, prefixes fd00:1::/48 and 192.168.10.0/24 and labels
 * site=fra1, env=prod (both given unsorted), role relay, serial 0x1122..88,
 * valid from FX_CERT_NOW - 1 day for 30 days. */
void fx_cert_node(struct gsm_cert *c, const uint8_t subject[GSM_ID_LEN],
		  const uint8_t issuer[GSM_ID_LEN]);
/* A JOIN certificate fx_cert_node's certificate (with the join key as
 * issuer) lies within: pool 10.42.0.0/16, 192.168.0.0/16, fd00::/16;
 * labels env=*, site=fra1; roles relay|gateway; max lifetime 30 days;
 * valid from FX_CERT_NOW - 2 days for 7 days. */
void fx_cert_join(struct gsm_cert *c, const uint8_t subject[GSM_ID_LEN],
		  const uint8_t issuer[GSM_ID_LEN]);

/* A fixed two-key ring (ids 1 and 2, primary 1) for cluster "fuzz". */
struct gsm_keyring *fx_keyring(void);

#endif
