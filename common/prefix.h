/* common/prefix.h - bit-prefix containment, the one definition.
 *
 * Addresses are network-order byte strings; lengths are in bits.  The
 * caller checks that both sides are of one address family.
 */
#ifndef GOSSAMER_COMMON_PREFIX_H
#define GOSSAMER_COMMON_PREFIX_H

#include <stdbool.h>
#include <stdint.h>

/* True when the network net/net_len contains the prefix addr/addr_len:
 * addr_len >= net_len and the first net_len bits are equal.  An address is
 * the prefix of full length (32 or 128), so this is also "address in
 * network".  net_len 0 contains everything. */
bool gsc_prefix_covers(const uint8_t *net, unsigned net_len, const uint8_t *addr,
		       unsigned addr_len);

/* True when the two prefixes share at least one address (one covers the
 * other). */
bool gsc_prefix_overlaps(const uint8_t *a, unsigned a_len, const uint8_t *b, unsigned b_len);

#endif
