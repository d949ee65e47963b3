/*
 * gossip/wire_reader.c - the bounded MessagePack reader behind every decoder.
 *
 * Why our own reader instead of msgpack_unpack(): a datagram is
 * attacker-controlled (before authentication for the fuzz/raw paths, and
 * from any key holder after it), and msgpack_unpack() builds an object tree
 * in a zone whose size grows with the number of objects in the input.
 * This reader never allocates: it walks the bytes once, checks every length
 * and count against the bytes that remain before using it (and the typed
 * readers against the GSM_MAX_* bound the caller names), limits nesting
 * depth when skipping unknown values, and hands back pointers into the
 * input.  gsm__rd_map() is the forward-compatibility rule in one place:
 * unknown keys - of any type, with values of any type and nesting - are
 * skipped; a known key twice is malformed.
 *
 * Trade-off: owning the reader means owning its correctness, hence the
 * fuzz targets in tests/fuzz and the exhaustive truncation tests in
 * tests/unit; in return decode cost is a single pass with no allocation.
 */
#include "gossip/wire_internal.h"

#include <errno.h>
#include <string.h>

#define MAX_SKIP_DEPTH 32

static size_t rd_left(const struct rd *r)
{
	return (size_t)(r->end - r->p);
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Consume n fixed bytes; NULL if they are not there. */
static const uint8_t *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (n > rd_left(r))
		return NULL;
	r->p += n;
	return p;
}

/* Read one object header (and the payload of str/bin/ext/scalars).  For
 * arrays and maps only the header is consumed; their element counts are
 * checked against the bytes that remain (every element takes at least one
 * byte), so a count can never make a caller loop past the input. */
int gsm__rd_next(struct rd *r, struct tok *t)
{
	const uint8_t *p;
	uint8_t c;
	size_t n = 0, plen = 0;

	p = rd_take(r, 1);
	if (!p)
		return -EBADMSG;
	c = *p;
	memset(t, 0, sizeof(*t));

	if (c <= 0x7f) {
		t->kind = T_UINT;
		t->u = c;
		return 0;
	}
	if (c >= 0xe0) {
		t->kind = T_NINT;
		return 0;
	}
	if ((c & 0xf0) == 0x80) {
		t->kind = T_MAP;
		t->len = c & 0x0f;
		goto container;
	}
	if ((c & 0xf0) == 0x90) {
		t->kind = T_ARRAY;
		t->len = c & 0x0f;
		goto container;
	}
	if ((c & 0xe0) == 0xa0) {
		t->kind = T_STR;
		plen = c & 0x1f;
		goto payload;
	}
	switch (c) {
	case 0xc0:
		t->kind = T_NIL;
		return 0;
	case 0xc2:
	case 0xc3:
		t->kind = T_BOOL;
		t->u = c == 0xc3;
		return 0;
	case 0xc4:
	case 0xc5:
	case 0xc6:
		t->kind = T_BIN;
		n = (size_t)1 << (c - 0xc4);
		goto lenpayload;
	case 0xc7:
	case 0xc8:
	case 0xc9:
		t->kind = T_EXT;
		n = (size_t)1 << (c - 0xc7);
		p = rd_take(r, n);
		if (!p)
			return -EBADMSG;
		plen = (size_t)be(p, n) + 1; /* + type byte */
		goto payload;
	case 0xca:
		t->kind = T_FLOAT;
		return rd_take(r, 4) ? 0 : -EBADMSG;
	case 0xcb:
		t->kind = T_FLOAT;
		return rd_take(r, 8) ? 0 : -EBADMSG;
	case 0xcc:
	case 0xcd:
	case 0xce:
	case 0xcf:
		n = (size_t)1 << (c - 0xcc);
		p = rd_take(r, n);
		if (!p)
			return -EBADMSG;
		t->kind = T_UINT;
		t->u = be(p, n);
		return 0;
	case 0xd0:
	case 0xd1:
	case 0xd2:
	case 0xd3:
		n = (size_t)1 << (c - 0xd0);
		p = rd_take(r, n);
		if (!p)
			return -EBADMSG;
		if (p[0] & 0x80) {
			t->kind = T_NINT;
		} else { /* non-negative value in a signed encoding */
			t->kind = T_UINT;
			t->u = be(p, n);
		}
		return 0;
	case 0xd4:
	case 0xd5:
	case 0xd6:
	case 0xd7:
	case 0xd8:
		t->kind = T_EXT;
		plen = ((size_t)1 << (c - 0xd4)) + 1;
		goto payload;
	case 0xd9:
	case 0xda:
	case 0xdb:
		t->kind = T_STR;
		n = (size_t)1 << (c - 0xd9);
		goto lenpayload;
	case 0xdc:
	case 0xdd:
		t->kind = T_ARRAY;
		n = c == 0xdc ? 2 : 4;
		p = rd_take(r, n);
		if (!p)
			return -EBADMSG;
		t->len = (uint32_t)be(p, n);
		goto container;
	case 0xde:
	case 0xdf:
		t->kind = T_MAP;
		n = c == 0xde ? 2 : 4;
		p = rd_take(r, n);
		if (!p)
			return -EBADMSG;
		t->len = (uint32_t)be(p, n);
		goto container;
	default: /* 0xc1: never used */
		return -EBADMSG;
	}

lenpayload:
	p = rd_take(r, n);
	if (!p)
		return -EBADMSG;
	plen = (size_t)be(p, n);
payload:
	if (plen > rd_left(r))
		return -EBADMSG;
	t->ptr = r->p;
	t->len = (uint32_t)plen;
	r->p += plen;
	return 0;
container:
	if ((uint64_t)t->len * (t->kind == T_MAP ? 2 : 1) > rd_left(r))
		return -EBADMSG;
	return 0;
}

/* Skip the children of a token already read. */
int gsm__rd_skip_tok(struct rd *r, const struct tok *t, int depth)
{
	uint64_t n;
	int rc;

	if (t->kind != T_ARRAY && t->kind != T_MAP)
		return 0;
	if (depth >= MAX_SKIP_DEPTH)
		return -EBADMSG;
	n = (uint64_t)t->len * (t->kind == T_MAP ? 2 : 1);
	for (uint64_t i = 0; i < n; i++) {
		rc = gsm__rd_skip(r, depth + 1);
		if (rc)
			return rc;
	}
	return 0;
}

int gsm__rd_skip(struct rd *r, int depth)
{
	struct tok t;
	int rc = gsm__rd_next(r, &t);

	if (rc)
		return rc;
	return gsm__rd_skip_tok(r, &t, depth);
}

int gsm__rd_uint(struct rd *r, uint64_t max, uint64_t *v)
{
	struct tok t;
	int rc = gsm__rd_next(r, &t);

	if (rc)
		return rc;
	if (t.kind != T_UINT || t.u > max)
		return -EBADMSG;
	*v = t.u;
	return 0;
}

int gsm__rd_bin(struct rd *r, struct tok *t)
{
	int rc = gsm__rd_next(r, t);

	if (rc)
		return rc;
	return t->kind == T_BIN ? 0 : -EBADMSG;
}

int gsm__rd_bin_fixed(struct rd *r, uint8_t *out, size_t n)
{
	struct tok t;
	int rc = gsm__rd_bin(r, &t);

	if (rc)
		return rc;
	if (t.len != n)
		return -EBADMSG;
	memcpy(out, t.ptr, n);
	return 0;
}

int gsm__rd_text(struct rd *r, char *out, size_t maxlen, int allow_empty)
{
	struct tok t;
	int rc = gsm__rd_next(r, &t);

	if (rc)
		return rc;
	if (t.kind != T_STR)
		return -EBADMSG;
	if (t.len > maxlen)
		return -EMSGSIZE;
	if (!allow_empty && t.len == 0)
		return -EBADMSG;
	if (!gsm__text_ok(t.ptr, t.len))
		return -EBADMSG;
	memcpy(out, t.ptr, t.len);
	out[t.len] = 0;
	return 0;
}

int gsm__rd_container(struct rd *r, enum tkind kind, uint32_t max, uint32_t *n)
{
	struct tok t;
	int rc = gsm__rd_next(r, &t);

	if (rc)
		return rc;
	if (t.kind != kind)
		return -EBADMSG;
	if (t.len > max)
		return -EMSGSIZE;
	*n = t.len;
	return 0;
}

int gsm__rd_addr(struct rd *r, struct gsm_addr *a)
{
	struct tok t;
	int rc = gsm__rd_bin(r, &t);
	size_t n;

	if (rc)
		return rc;
	if (t.len == 6)
		n = 4;
	else if (t.len == 18)
		n = 16;
	else
		return -EBADMSG;
	memset(a, 0, sizeof(*a));
	a->family = n == 4 ? 4 : 6;
	memcpy(a->ip, t.ptr, n);
	a->port = (uint16_t)(t.ptr[n] << 8 | t.ptr[n + 1]);
	return 0;
}

int gsm__rd_prefix(struct rd *r, struct gsm_prefix *pf)
{
	struct tok t;
	int rc = gsm__rd_bin(r, &t);
	size_t n;

	if (rc)
		return rc;
	if (t.len == 5)
		n = 4;
	else if (t.len == 17)
		n = 16;
	else
		return -EBADMSG;
	memset(pf, 0, sizeof(*pf));
	pf->family = n == 4 ? 4 : 6;
	memcpy(pf->ip, t.ptr, n);
	pf->len = t.ptr[n];
	return prefix_valid(pf) ? 0 : -EBADMSG;
}

int gsm__rd_prefix_list(struct rd *r, struct gsm_prefix *out, uint32_t max, uint8_t *count)
{
	uint32_t n;
	int rc = gsm__rd_container(r, T_ARRAY, max, &n);

	for (uint32_t i = 0; !rc && i < n; i++) {
		rc = gsm__rd_prefix(r, &out[i]);
		*count = (uint8_t)(i + 1);
	}
	return rc;
}

int gsm__rd_label_list(struct rd *r, struct gsm_label *out, uint32_t max, uint8_t *count)
{
	uint32_t n, m;
	int rc = gsm__rd_container(r, T_ARRAY, max, &n);

	for (uint32_t i = 0; !rc && i < n; i++) {
		struct gsm_label *l = &out[i];
		rc = gsm__rd_container(r, T_ARRAY, GSM_WK_LABEL_COUNT, &m);
		if (rc == -EMSGSIZE || (!rc && m != GSM_WK_LABEL_COUNT))
			rc = -EBADMSG;
		if (!rc)
			rc = gsm__rd_text(r, l->key, GSM_MAX_LABEL_KEY, 0);
		if (!rc)
			rc = gsm__rd_text(r, l->value, GSM_MAX_LABEL_VALUE, 1);
		/* canonical order: strictly ascending, no duplicates */
		if (!rc && i > 0 && strcmp(out[i - 1].key, l->key) >= 0)
			rc = -EBADMSG;
		*count = (uint8_t)(i + 1);
	}
	return rc;
}

int gsm__rd_signed(const uint8_t *p, size_t len, size_t max, struct tok *body, const uint8_t **sig)
{
	struct rd r = {p, p + len};
	struct tok t;
	uint32_t n;
	int rc;

	if (!p)
		return -EINVAL;
	if (len > max)
		return -EMSGSIZE;
	rc = gsm__rd_container(&r, T_ARRAY, GSM_WK_SIGNED_COUNT, &n);
	if (rc || n != GSM_WK_SIGNED_COUNT)
		return -EBADMSG;
	rc = gsm__rd_bin(&r, body);
	if (!rc)
		rc = gsm__rd_bin(&r, &t);
	if (rc)
		return rc;
	if (t.len != GSM_SIG_LEN || r.p != r.end)
		return -EBADMSG;
	*sig = t.ptr;
	return 0;
}

int gsm__rd_map(struct rd *r, unsigned nkeys, gsm__field_fn fn, void *ctx, uint32_t *seen)
{
	struct tok t;
	uint32_t n;
	int rc;

	*seen = 0;
	rc = gsm__rd_next(r, &t);
	if (rc)
		return rc;
	if (t.kind != T_MAP)
		return -EBADMSG;
	n = t.len;
	for (uint32_t i = 0; i < n; i++) {
		rc = gsm__rd_next(r, &t);
		if (rc)
			return rc;
		if (t.kind == T_UINT && t.u < nkeys) {
			unsigned k = (unsigned)t.u;
			if (*seen & (1u << k))
				return -EBADMSG;
			*seen |= 1u << k;
			rc = fn(r, k, ctx);
		} else {
			rc = gsm__rd_skip_tok(r, &t, 1);
			if (!rc)
				rc = gsm__rd_skip(r, 1);
		}
		if (rc)
			return rc;
	}
	return 0;
}
