/*
 * cli/fmt.h - small formatting helpers for the human output of `gossamer`:
 * byte counts, ages, display widths, and sanitising text that came from
 * other machines before it reaches a terminal.
 */
#ifndef GOSSAMER_CLI_FMT_H
#define GOSSAMER_CLI_FMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "0 B", "512 B", "1.50 KiB", "12.3 MiB", "1.00 GiB" ... (IEC units,
 * three significant digits, like `wg show`).  Returns buf. */
char *gcli_fmt_bytes(uint64_t n, char *buf, size_t cap);

/* A compact age/duration: "0s", "45s", "3m12s", "2h5m", "4d2h", "31d".
 * Negative input (clock skew) formats as "0s".  Returns buf. */
char *gcli_fmt_age(int64_t seconds, char *buf, size_t cap);

/* Number of terminal columns s occupies: UTF-8 code points (continuation
 * bytes do not count).  Input is expected to be sanitised. */
size_t gcli_text_width(const char *s);

/* Copy of s fit for a terminal: control characters (C0, DEL, C1) and
 * invalid UTF-8 become '?', so a label value from a remote node cannot
 * inject escape sequences.  NULL on allocation failure; NULL s gives "". */
char *gcli_sanitize(const char *s);

/* Copy at most `cols` display columns of s into a new string, ending in
 * the ellipsis when anything was cut (the ellipsis counts as one column).
 * cols == 0 gives "". */
char *gcli_elide(const char *s, size_t cols, const char *ellipsis);

/* "10.77.0.3/32" -> "10.77.0.3", "fd00::3/128" -> "fd00::3"; other
 * prefixes unchanged.  Writes into buf; returns buf. */
char *gcli_fmt_host_prefix(const char *cidr, char *buf, size_t cap);

/* True if s is an ASCII decimal in [min, max]; *out gets the value. */
bool gcli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Seconds as "30", "2.5", "500ms", "2m", "1h" (common/duration.h syntax:
 * no sign, exponent, hex, nan or inf; millisecond resolution), at most
 * 10^9 s; true on success. */
bool gcli_parse_duration(const char *s, double *seconds);

#endif
