/*
 * common/bytes.h - fixed-width integers to and from byte strings.
 *
 * The wire format is big-endian (wire.h); hash outputs are read as
 * little-endian words.  These are the one definition of each, inline
 * because they sit on per-datagram paths.  p must hold 8 bytes.
 */
#ifndef GOSSAMER_COMMON_BYTES_H
#define GOSSAMER_COMMON_BYTES_H

#include <stdint.h>

static inline void gsc_put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static inline uint64_t gsc_get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t gsc_get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

#endif
