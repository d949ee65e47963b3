/*
 * cli/fmt.c - formatting helpers for human output.
 *
 * What: units (bytes, ages), display width, elision and sanitising of text
 * for the tables and key/value blocks `gossamer` prints for people.
 *
 * Why: everything a person reads from `gossamer members` partly comes from
 * other machines (names, labels, endpoints).  A hostile or broken node must
 * not be able to move the cursor, recolour the terminal or break alignment
 * of an operator's screen, so every string is sanitised (controls and bad
 * UTF-8 become '?') before it is measured and printed.  Widths are counted
 * in code points: the names and labels gossamer carries are overwhelmingly
 * ASCII, and pulling in wcwidth() and locale state for the rare
 * double-width character is not worth the non-determinism in tests.
 *
 * Trade-offs: ages are coarse on purpose ("3m12s", "2h5m"): they answer
 * "is this recent?" in a table cell of at most six columns; scripts get the
 * exact unix times from --json.
 */
#include "cli/fmt.h"

#include "common/duration.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GCLI_DURATION_MAX_MS 1000000000000ull /* 10^9 s, about 31 years */

char *gcli_fmt_bytes(uint64_t n, char *buf, size_t cap)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	if (n < 1024) {
		snprintf(buf, cap, "%llu B", (unsigned long long)n);
		return buf;
	}
	double v = (double)n;
	size_t u = 0;
	v /= 1024.0;
	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	/* three significant digits; rounding may carry 1023.9 up to 1024 */
	if (v < 9.995)
		snprintf(buf, cap, "%.2f %s", v, units[u]);
	else if (v < 99.95)
		snprintf(buf, cap, "%.1f %s", v, units[u]);
	else
		snprintf(buf, cap, "%.0f %s", v, units[u]);
	return buf;
}

char *gcli_fmt_age(int64_t s, char *buf, size_t cap)
{
	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, cap, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, cap, "%lldm%llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(buf, cap, "%lldh%lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s < 86400LL * 10)
		snprintf(buf, cap, "%lldd%lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	else
		snprintf(buf, cap, "%lldd", (long long)(s / 86400));
	return buf;
}

size_t gcli_text_width(const char *s)
{
	size_t w = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80)
			w++;
	return w;
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if invalid. */
static size_t utf8_seq(const unsigned char *p, uint32_t *cp)
{
	size_t n;
	uint32_t c;
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		c = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		c = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	/* overlong, surrogate, out of range */
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return n;
}

char *gcli_sanitize(const char *s)
{
	if (!s)
		s = "";
	size_t len = strlen(s);
	char *out = malloc(len + 1);
	if (!out)
		return NULL;
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0;
	while (*p) {
		uint32_t cp;
		size_t n = utf8_seq(p, &cp);
		if (n == 0) {
			out[o++] = '?';
			p++;
			continue;
		}
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
			out[o++] = '?';
		} else {
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	out[o] = '\0';
	return out;
}

char *gcli_elide(const char *s, size_t cols, const char *ellipsis)
{
	if (!s)
		s = "";
	size_t w = gcli_text_width(s);
	if (w <= cols)
		return strdup(s);
	if (cols == 0)
		return strdup("");
	size_t ew = gcli_text_width(ellipsis);
	if (cols <= ew) /* no room for text: the ellipsis alone still says "cut" */
		return strdup(cols == ew ? ellipsis : "");
	size_t keep = cols - ew;
	const char *e = ellipsis;
	/* byte offset after `keep` code points */
	const unsigned char *p = (const unsigned char *)s;
	size_t cp = 0, off = 0;
	while (p[off]) {
		if ((p[off] & 0xc0) != 0x80) {
			if (cp == keep)
				break;
			cp++;
		}
		off++;
	}
	size_t el = strlen(e);
	char *out = malloc(off + el + 1);
	if (!out)
		return NULL;
	memcpy(out, s, off);
	memcpy(out + off, e, el);
	out[off + el] = '\0';
	return out;
}

char *gcli_fmt_host_prefix(const char *cidr, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s", cidr ? cidr : "");
	char *slash = strrchr(buf, '/');
	if (!slash)
		return buf;
	bool v6 = strchr(buf, ':') != NULL;
	if ((!v6 && !strcmp(slash, "/32")) || (v6 && !strcmp(slash, "/128")))
		*slash = '\0';
	return buf;
}

bool gcli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool gcli_parse_duration(const char *s, double *seconds)
{
	uint64_t ms;

	if (gsc_parse_duration_ms(s, GCLI_DURATION_MAX_MS, &ms) < 0)
		return false;
	*seconds = (double)ms / 1000.0;
	return true;
}
