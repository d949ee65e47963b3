/* common/prefix.c - see prefix.h. */
#include "common/prefix.h"

bool gsc_prefix_covers(const uint8_t *net, unsigned net_len, const uint8_t *addr, unsigned addr_len)
{
	unsigned whole = net_len / 8, rest = net_len % 8;

	if (addr_len < net_len)
		return false;
	for (unsigned i = 0; i < whole; i++)
		if (net[i] != addr[i])
			return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xff << (8 - rest));

		if ((net[whole] ^ addr[whole]) & mask)
			return false;
	}
	return true;
}

bool gsc_prefix_overlaps(const uint8_t *a, unsigned a_len, const uint8_t *b, unsigned b_len)
{
	return a_len <= b_len ? gsc_prefix_covers(a, a_len, b, b_len)
			      : gsc_prefix_covers(b, b_len, a, a_len);
}
