/*
 * gossip/cert_pem.c - the text form of certificates, chains, join keys and
 * revocations: PEM-style blocks of base64 (gossip/cert.h, gsm_pem_*).
 *
 * Operators copy these files between machines, paste them into chat and
 * concatenate them (a chain is two CERTIFICATE blocks, a join key file a
 * JOIN KEY block and its CERTIFICATE), so the format is the familiar one:
 * "-----BEGIN label-----", base64 at 64 characters a line, "-----END
 * label-----".  Finding a block is by label and index, so one file can
 * hold several kinds and anything outside the blocks (comments, blank
 * lines) is ignored; inside a block only base64 and whitespace are
 * allowed, and a block without its END line is broken, never truncated.
 *
 * No allocation: blocks are encoded 48 bytes (64 characters) at a time
 * straight into the caller's buffer, and decoded straight into theirs
 * after the exact decoded size was computed.  The JOIN KEY block holds a
 * secret seed, so the per-line scratch is wiped.
 */
#include "gossip/cert.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>

#define PEM_DASHES     "-----"
#define PEM_LINE_BYTES 48 /* = PEM_LINE_CHARS base64 characters */
#define PEM_LINE_CHARS 64

static size_t b64_len(size_t n)
{
	return (n + 2) / 3 * 4;
}

/* Bytes of one block's text (without the final NUL). */
static size_t block_len(size_t label_len, size_t data_len)
{
	size_t b = b64_len(data_len);
	size_t lines = (data_len + PEM_LINE_BYTES - 1) / PEM_LINE_BYTES;

	/* "-----BEGIN " label "-----\n", lines, "-----END " label "-----\n" */
	return 11 + label_len + 6 + b + lines + 9 + label_len + 6;
}

static void put_text(char *buf, size_t *at, const char *s)
{
	size_t n = strlen(s);

	memcpy(buf + *at, s, n);
	*at += n;
}

int gsm_pem_append(const char *label, const uint8_t *data, size_t data_len, char *buf, size_t cap,
		   size_t *len)
{
	char line[PEM_LINE_CHARS + 1];
	size_t at, need;

	if (!label || (!data && data_len) || !buf || !len || *len >= cap)
		return -EINVAL;
	at = *len;
	need = block_len(strlen(label), data_len);
	if (need + 1 > cap - at)
		return -EMSGSIZE;
	put_text(buf, &at, PEM_DASHES "BEGIN ");
	put_text(buf, &at, label);
	put_text(buf, &at, PEM_DASHES "\n");
	for (size_t off = 0; off < data_len; off += PEM_LINE_BYTES) {
		size_t n = data_len - off < PEM_LINE_BYTES ? data_len - off : PEM_LINE_BYTES;
		sodium_bin2base64(line, sizeof(line), data + off, n,
				  sodium_base64_VARIANT_ORIGINAL);
		put_text(buf, &at, line);
		put_text(buf, &at, "\n");
	}
	sodium_memzero(line, sizeof(line));
	put_text(buf, &at, PEM_DASHES "END ");
	put_text(buf, &at, label);
	put_text(buf, &at, PEM_DASHES "\n");
	buf[at] = 0;
	*len = at;
	return 0;
}

/* The line "-----<what> label-----" at the start of a line of text,
 * from p on; the pointer after it, or NULL. */
static const char *find_line(const char *text, const char *p, const char *what, const char *label,
			     const char **start)
{
	size_t wl = strlen(what), ll = strlen(label);

	for (; (p = strstr(p, PEM_DASHES)) != NULL; p++) {
		const char *q = p + 5;
		if (p != text && p[-1] != '\n')
			continue;
		if (strncmp(q, what, wl) != 0 || strncmp(q + wl, label, ll) != 0 ||
		    strncmp(q + wl + ll, PEM_DASHES, 5) != 0)
			continue;
		q += wl + ll + 5;
		if (*q != '\n' && *q != '\r' && *q != 0)
			continue;
		if (start)
			*start = p;
		return q;
	}
	return NULL;
}

/* The exact decoded size of base64 text b[0..n) with whitespace, or -1
 * when it cannot be valid. */
static long b64_decoded_size(const char *b, size_t n)
{
	size_t chars = 0, pad = 0;

	for (size_t i = 0; i < n; i++) {
		if (strchr(" \t\r\n", b[i]))
			continue;
		if (pad && b[i] != '=')
			return -1; /* data after padding */
		pad += b[i] == '=';
		chars++;
	}
	if (chars % 4 || pad > 2)
		return -1;
	return (long)(chars / 4 * 3 - pad);
}

int gsm_pem_find(const char *text, const char *label, size_t index, uint8_t *out, size_t cap,
		 size_t *len)
{
	const char *p, *body, *end;
	const char *b64_end;
	size_t n;
	long size;

	if (!text || !label || !out || !len)
		return -EINVAL;
	p = text;
	for (size_t i = 0;; i++) {
		p = find_line(text, p, "BEGIN ", label, NULL);
		if (!p)
			return -ENOENT;
		if (i == index)
			break;
	}
	body = p;
	if (!find_line(text, body, "END ", label, &end))
		return -EBADMSG;
	size = b64_decoded_size(body, (size_t)(end - body));
	if (size < 0)
		return -EBADMSG;
	if ((size_t)size > cap)
		return -EMSGSIZE;
	if (sodium_base642bin(out, cap, body, (size_t)(end - body), " \t\r\n", &n, &b64_end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    n != (size_t)size)
		return -EBADMSG;
	for (; b64_end < end; b64_end++)
		if (!strchr(" \t\r\n", *b64_end))
			return -EBADMSG; /* stopped at a character that is not base64 */
	*len = n;
	return 0;
}
