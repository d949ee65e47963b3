/*
 * common/duration.c - "500ms", "30s", "1.5m", "2h", "10" (seconds).
 *
 * Parsed by hand with integer arithmetic rather than strtod, which accepts
 * "nan", "inf", hex floats, exponents and leading spaces, and whose result
 * would then be cast to an integer (undefined for nan and out-of-range).
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/duration.h"

#define MAX_DIGITS 15 /* 10^15 ms is ~31700 years: no overflow below */

static bool unit_ms(const char *u, uint64_t *mult)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {{"", 1000}, {"s", 1000}, {"ms", 1}, {"m", 60000}, {"h", 3600000}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(u, units[i].name)) {
			*mult = units[i].ms;
			return true;
		}
	return false;
}

int gsc_parse_duration_ms(const char *s, uint64_t max_ms, uint64_t *ms)
{
	uint64_t ipart = 0, frac = 0, scale = 1, mult;
	size_t nint = 0, nfrac = 0;
	const char *p = s;

	if (!s)
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++, nint++) {
		if (nint == MAX_DIGITS)
			return -ERANGE;
		ipart = ipart * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, nfrac++) {
			if (nfrac < 9) { /* finer digits cannot reach a millisecond */
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
		}
		if (!nfrac)
			return -EINVAL;
	}
	if (!nint && !nfrac)
		return -EINVAL;
	if (!unit_ms(p, &mult))
		return -EINVAL;
	if (ipart > max_ms / mult)
		return -ERANGE;
	uint64_t v = ipart * mult + frac * mult / scale;
	if (v > max_ms)
		return -ERANGE;
	*ms = v;
	return 0;
}
