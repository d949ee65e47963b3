/*
 * gossip/wire_internal.h - codec internals shared by the wire_*.c files
 * and crypto.c.  Not part of the public interface.
 *
 * Two halves.  The WRITER is msgpack-c's packer with a callback that
 * appends to a caller-supplied fixed buffer or, with buf NULL, only counts
 * bytes, so one code path yields both the encoding and its exact size; its
 * helpers are tiny and live here as static inline functions.  The READER
 * (wire_reader.c) is a bounded, allocation-free MessagePack tokenizer plus
 * typed readers that check every value against its wire type and bound.
 */
#ifndef GOSSAMER_GOSSIP_WIRE_INTERNAL_H
#define GOSSAMER_GOSSIP_WIRE_INTERNAL_H

#include <errno.h>
#include <string.h>

#include <msgpack.h>

#include "gossip/wire.h"

/* ---- writer ---- */

struct wbuf {
	uint8_t *buf; /* NULL: count only */
	size_t cap;
	size_t len;
	int err;
};

/* msgpack_packer write callback: append to w->buf, or only count. */
static inline int wbuf_write(void *data, const char *p, size_t n)
{
	struct wbuf *w = data;

	if (w->buf) {
		if (w->err || n > w->cap - w->len) {
			w->err = -EMSGSIZE;
			return -1;
		}
		memcpy(w->buf + w->len, p, n);
	}
	w->len += n;
	return 0;
}

static inline void put_uint(msgpack_packer *pk, uint64_t v)
{
	msgpack_pack_uint64(pk, v);
}

static inline void put_bin(msgpack_packer *pk, const uint8_t *p, size_t n)
{
	msgpack_pack_bin(pk, n);
	if (n)
		msgpack_pack_bin_body(pk, p, n);
}

static inline void put_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	if (n)
		msgpack_pack_str_body(pk, s, n);
}

static inline int addr_valid(const struct gsm_addr *a)
{
	return a->family == 0 || a->family == 4 || a->family == 6;
}

/* addr: bin 6 (IPv4 + port) or bin 18 (IPv6 + port), see wire.h */
static inline void put_addr(msgpack_packer *pk, const struct gsm_addr *a)
{
	uint8_t b[18];
	size_t n = a->family == 4 ? 4 : 16;

	memcpy(b, a->ip, n);
	b[n] = (uint8_t)(a->port >> 8);
	b[n + 1] = (uint8_t)a->port;
	put_bin(pk, b, n + 2);
}

static inline int prefix_valid(const struct gsm_prefix *p)
{
	return (p->family == 4 && p->len <= 32) || (p->family == 6 && p->len <= 128);
}

/* prefix: bin 5 (IPv4 + length) or bin 17 (IPv6 + length) */
static inline void put_prefix(msgpack_packer *pk, const struct gsm_prefix *p)
{
	uint8_t b[17];
	size_t n = p->family == 4 ? 4 : 16;

	memcpy(b, p->ip, n);
	b[n] = p->len;
	put_bin(pk, b, n + 1);
}

/* array[prefix] / array[label] (labels already in canonical order) */
static inline void put_prefix_list(msgpack_packer *pk, const struct gsm_prefix *p, size_t n)
{
	msgpack_pack_array(pk, n);
	for (size_t i = 0; i < n; i++)
		put_prefix(pk, &p[i]);
}

static inline void put_label(msgpack_packer *pk, const struct gsm_label *l)
{
	msgpack_pack_array(pk, GSM_WK_LABEL_COUNT);
	put_str(pk, l->key);
	put_str(pk, l->value);
}

/* Text in adverts (wire.c): 1 when p[0..n) is valid UTF-8 without control
 * characters; gsm__text_valid also bounds a NUL-terminated string's length
 * (and refuses it empty unless allow_empty). */
int gsm__text_ok(const uint8_t *p, size_t n);
int gsm__text_valid(const char *s, size_t maxlen, int allow_empty);

/* ---- reader (wire_reader.c) ---- */

enum tkind { T_UINT, T_NINT, T_NIL, T_BOOL, T_FLOAT, T_STR, T_BIN, T_ARRAY, T_MAP, T_EXT };

struct tok {
	enum tkind kind;
	uint64_t u;	    /* T_UINT value, T_BOOL */
	const uint8_t *ptr; /* T_STR / T_BIN / T_EXT payload */
	uint32_t len;	    /* payload length or element count */
};

/* The unread bytes [p, end) of one input. */
struct rd {
	const uint8_t *p;
	const uint8_t *end;
};

/* All return 0 or a negative errno (-EBADMSG malformed or wrong type,
 * -EMSGSIZE over the given bound) and advance r past what they read. */

/* One object header (with the payload of scalars, str, bin and ext); for
 * arrays and maps only the header, with the count checked against the
 * bytes that remain. */
int gsm__rd_next(struct rd *r, struct tok *t);
/* Skip one whole value / the children of a token already read; depth is
 * the current nesting (bounded). */
int gsm__rd_skip(struct rd *r, int depth);
int gsm__rd_skip_tok(struct rd *r, const struct tok *t, int depth);
/* Typed values: uint <= max, any bin (in place), bin of exactly n bytes
 * (copied), text (gsm__text_ok, <= maxlen, copied and NUL-terminated),
 * array or map header with count <= max, addr, prefix. */
int gsm__rd_uint(struct rd *r, uint64_t max, uint64_t *v);
int gsm__rd_bin(struct rd *r, struct tok *t);
int gsm__rd_bin_fixed(struct rd *r, uint8_t *out, size_t n);
int gsm__rd_text(struct rd *r, char *out, size_t maxlen, int allow_empty);
int gsm__rd_container(struct rd *r, enum tkind kind, uint32_t max, uint32_t *n);
int gsm__rd_addr(struct rd *r, struct gsm_addr *a);
int gsm__rd_prefix(struct rd *r, struct gsm_prefix *pf);
/* array[prefix] of at most max (adverts, certificates); *count is the
 * number read so far, also on error. */
int gsm__rd_prefix_list(struct rd *r, struct gsm_prefix *out, uint32_t max, uint8_t *count);
/* array[label] of at most max, keys strictly ascending (the canonical
 * order: no duplicates); *count as above. */
int gsm__rd_label_list(struct rd *r, struct gsm_label *out, uint32_t max, uint8_t *count);
/* A signed object [body bin, sig bin 64] (adverts, certificates,
 * revocations): at most max bytes, nothing after it; body points into p. */
int gsm__rd_signed(const uint8_t *p, size_t len, size_t max, struct tok *body, const uint8_t **sig);

/* Iterate a map with small integer keys.  For every known key (< nkeys,
 * nkeys <= 32) fn decodes the value; unknown keys (any type) and their
 * values are skipped.  A known key seen twice is malformed.  *seen gets
 * the bit set of the known keys met. */
typedef int (*gsm__field_fn)(struct rd *r, unsigned key, void *ctx);
int gsm__rd_map(struct rd *r, unsigned nkeys, gsm__field_fn fn, void *ctx, uint32_t *seen);

/* The bit for wire key k in a *seen set. */
#define GSM__KEY_BIT(k) (1u << (k))

/* ---- signed adverts (wire_advert.c), for crypto.c ---- */

/* Split a signed advert into its body bytes and signature and read the node
 * id from the body (structure checked, fields not validated). */
int gsm__advert_parts(const uint8_t *signed_adv, size_t len, const uint8_t **body, size_t *body_len,
		      const uint8_t **sig, uint8_t node_id[GSM_ID_LEN]);

#endif
