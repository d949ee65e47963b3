/* common/duration.h - the one duration syntax of config files and the CLI.
 *
 * Syntax: DIGITS[.DIGITS][UNIT], UNIT one of ms, s, m, h; a bare number is
 * seconds.  Nothing else: no sign, no spaces, no exponent, no hex, no
 * nan/inf.  Arithmetic is exact integer arithmetic (fractions below one
 * millisecond are truncated).
 */
#ifndef GOSSAMER_COMMON_DURATION_H
#define GOSSAMER_COMMON_DURATION_H

#include <stdint.h>

/* Parse `s` into milliseconds.  0, -EINVAL (syntax), or -ERANGE (above
 * max_ms).  *ms is written only on success. */
int gsc_parse_duration_ms(const char *s, uint64_t max_ms, uint64_t *ms);

#endif
