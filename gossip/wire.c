/*
 * gossip/wire.c - the MessagePack codec for gossip bodies and signed adverts.
 *
 * What: encoders and decoders for the structures in gossip/wire.h.  A body
 * is one MessagePack map with small integer keys; a signed advert is the
 * array [canonical body bin, Ed25519 signature bin64].
 *
 * Encoding goes through msgpack-c's packer with a write callback that
 * appends to a caller-supplied fixed buffer (or only counts bytes).  The
 * very same code path therefore produces the bytes and computes
 * gsm_msg_encoded_size(), which is exact by construction.  msgpack-c always
 * packs integers and lengths in their shortest form; keys are written in
 * ascending order and zero/absent fields are omitted, so an encoding is a
 * pure function of the struct: that is what makes adverts canonical (same
 * advert -> same bytes -> same deterministic Ed25519 signature).
 *
 * Decoding uses a small bounded reader of our own instead of
 * msgpack_unpack(): a datagram is attacker-controlled (before authentication
 * for the fuzz/raw paths, and from any key holder after it), and
 * msgpack_unpack() builds an object tree in a zone whose size grows with the
 * number of objects in the input.  The reader here never allocates: it
 * walks the bytes once, checks every length and count against both the
 * GSM_MAX_* bounds and the bytes that remain before using it, limits
 * nesting depth when skipping unknown values, and writes straight into the
 * fixed-size caller structs (strings are copied, signed adverts are
 * referenced in place).  Unknown map keys - of any type, with values of any
 * type and nesting - are skipped, which is the forward-compatibility rule
 * for minor versions.  Duplicate known keys, trailing bytes and
 * out-of-range integers are rejected, so two implementations can never
 * disagree about what a signed advert says.
 *
 * Trade-off: owning the reader means owning its correctness, hence the
 * fuzz targets in tests/fuzz and the exhaustive truncation tests in
 * tests/unit; in return decode cost is a single pass with no allocation.
 */
#include "gossip/wire.h"
#include "gossip/wire_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <msgpack.h>

/* ------------------------------------------------------------------ */
/* writer                                                              */

struct wbuf {
	uint8_t *buf; /* NULL: count only */
	size_t cap;
	size_t len;
	int err;
};

static int wbuf_write(void *data, const char *p, size_t n)
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

static void put_uint(msgpack_packer *pk, uint64_t v)
{
	msgpack_pack_uint64(pk, v);
}

static void put_bin(msgpack_packer *pk, const uint8_t *p, size_t n)
{
	msgpack_pack_bin(pk, n);
	if (n)
		msgpack_pack_bin_body(pk, p, n);
}

static void put_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);

	msgpack_pack_str(pk, n);
	if (n)
		msgpack_pack_str_body(pk, s, n);
}

static int addr_valid(const struct gsm_addr *a)
{
	return a->family == 0 || a->family == 4 || a->family == 6;
}

static void put_addr(msgpack_packer *pk, const struct gsm_addr *a)
{
	uint8_t b[18];
	size_t n = a->family == 4 ? 4 : 16;

	memcpy(b, a->ip, n);
	b[n] = (uint8_t)(a->port >> 8);
	b[n + 1] = (uint8_t)a->port;
	put_bin(pk, b, n + 2);
}

static int prefix_valid(const struct gsm_prefix *p)
{
	return (p->family == 4 && p->len <= 32) || (p->family == 6 && p->len <= 128);
}

static void put_prefix(msgpack_packer *pk, const struct gsm_prefix *p)
{
	uint8_t b[17];
	size_t n = p->family == 4 ? 4 : 16;

	memcpy(b, p->ip, n);
	b[n] = p->len;
	put_bin(pk, b, n + 1);
}

/* Text in adverts (names, labels) ends up in operators' terminals and in
 * the control socket's JSON: it must be valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF) without control characters (C0, DEL,
 * C1 - U+0080..U+009F includes the 8-bit CSI). */
static int text_ok(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t c = p[i];
		size_t len;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			c &= 0x07;
		} else {
			return 0; /* continuation byte, overlong lead (c0/c1) or > f4 */
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff) || (c >= 0x80 && c <= 0x9f))
			return 0;
		i += len;
	}
	return 1;
}

static int text_valid(const char *s, size_t maxlen, int allow_empty)
{
	size_t n = strnlen(s, maxlen + 1);

	if (n > maxlen || (!allow_empty && n == 0))
		return 0;
	return text_ok((const uint8_t *)s, n);
}

/* ------------------------------------------------------------------ */
/* update / digest / message encoding                                  */

static int update_check(const struct gsm_update *u)
{
	if (u->state > GSM_STATE_LEFT || !addr_valid(&u->addr))
		return -EINVAL;
	return 0;
}

static void put_update(msgpack_packer *pk, const struct gsm_update *u)
{
	size_t n = 1;

	n += u->state != 0;
	n += u->generation != 0;
	n += u->incarnation != 0;
	n += u->addr.family != 0;
	n += u->has_from != 0;
	n += u->has_sig != 0;
	msgpack_pack_map(pk, n);
	put_uint(pk, 0);
	put_bin(pk, u->node, GSM_ID_LEN);
	if (u->state) {
		put_uint(pk, 1);
		put_uint(pk, u->state);
	}
	if (u->generation) {
		put_uint(pk, 2);
		put_uint(pk, u->generation);
	}
	if (u->incarnation) {
		put_uint(pk, 3);
		put_uint(pk, u->incarnation);
	}
	if (u->addr.family) {
		put_uint(pk, 4);
		put_addr(pk, &u->addr);
	}
	if (u->has_from) {
		put_uint(pk, 5);
		put_bin(pk, u->from, GSM_ID_LEN);
	}
	if (u->has_sig) {
		put_uint(pk, 6);
		put_bin(pk, u->sig, GSM_SIG_LEN);
	}
}

static void put_digest(msgpack_packer *pk, const struct gsm_digest_entry *d)
{
	msgpack_pack_array(pk, 3);
	put_bin(pk, d->node, GSM_ID_LEN);
	put_uint(pk, d->generation);
	put_uint(pk, d->version);
}

static int msg_check(const struct gsm_msg *m)
{
	if (m->type == 0)
		return -EINVAL;
	if (m->n_updates > GSM_MAX_UPDATES || m->n_adverts > GSM_MAX_ADVERTS ||
	    m->n_digest > GSM_MAX_DIGEST)
		return -EMSGSIZE;
	if (!addr_valid(&m->target_addr) || !addr_valid(&m->origin_addr) ||
	    !addr_valid(&m->observed) || !addr_valid(&m->wg_observed))
		return -EINVAL;
	if (m->state_hash_len &&
	    (m->state_hash_len < GSM_STATE_HASH_MIN || m->state_hash_len > GSM_STATE_HASH_MAX))
		return -EINVAL;
	for (size_t i = 0; i < m->n_updates; i++)
		if (update_check(&m->updates[i]))
			return -EINVAL;
	for (size_t i = 0; i < m->n_adverts; i++) {
		if (m->adverts[i].len > GSM_MAX_ADVERT)
			return -EMSGSIZE;
		if (!m->adverts[i].ptr && m->adverts[i].len)
			return -EINVAL;
	}
	return 0;
}

static void put_msg(msgpack_packer *pk, const struct gsm_msg *m)
{
	size_t n = 2;

	n += m->seq != 0;
	n += m->has_target != 0;
	n += m->target_addr.family != 0;
	n += m->has_origin != 0;
	n += m->origin_addr.family != 0;
	n += m->observed.family != 0;
	n += m->n_updates != 0;
	n += m->n_adverts != 0;
	n += m->n_digest != 0;
	n += m->flags != 0;
	n += m->has_cursor != 0;
	n += m->sender_gen != 0;
	n += m->wg_observed.family != 0;
	n += m->state_hash_len != 0;
	msgpack_pack_map(pk, n);

	put_uint(pk, 0);
	put_uint(pk, m->type);
	put_uint(pk, 1);
	put_bin(pk, m->sender, GSM_ID_LEN);
	if (m->seq) {
		put_uint(pk, 2);
		put_uint(pk, m->seq);
	}
	if (m->has_target) {
		put_uint(pk, 3);
		put_bin(pk, m->target, GSM_ID_LEN);
	}
	if (m->target_addr.family) {
		put_uint(pk, 4);
		put_addr(pk, &m->target_addr);
	}
	if (m->has_origin) {
		put_uint(pk, 5);
		put_bin(pk, m->origin, GSM_ID_LEN);
	}
	if (m->origin_addr.family) {
		put_uint(pk, 6);
		put_addr(pk, &m->origin_addr);
	}
	if (m->observed.family) {
		put_uint(pk, 7);
		put_addr(pk, &m->observed);
	}
	if (m->n_updates) {
		put_uint(pk, 8);
		msgpack_pack_array(pk, m->n_updates);
		for (size_t i = 0; i < m->n_updates; i++)
			put_update(pk, &m->updates[i]);
	}
	if (m->n_adverts) {
		put_uint(pk, 9);
		msgpack_pack_array(pk, m->n_adverts);
		for (size_t i = 0; i < m->n_adverts; i++)
			put_bin(pk, m->adverts[i].ptr, m->adverts[i].len);
	}
	if (m->n_digest) {
		put_uint(pk, 10);
		msgpack_pack_array(pk, m->n_digest);
		for (size_t i = 0; i < m->n_digest; i++)
			put_digest(pk, &m->digest[i]);
	}
	if (m->flags) {
		put_uint(pk, 11);
		put_uint(pk, m->flags);
	}
	if (m->has_cursor) {
		put_uint(pk, 12);
		put_bin(pk, m->cursor, GSM_ID_LEN);
	}
	if (m->sender_gen) {
		put_uint(pk, 13);
		put_uint(pk, m->sender_gen);
	}
	if (m->wg_observed.family) {
		put_uint(pk, 14);
		put_addr(pk, &m->wg_observed);
	}
	if (m->state_hash_len) {
		put_uint(pk, 15);
		put_bin(pk, m->state_hash, m->state_hash_len);
	}
}

int gsm_msg_encode(const struct gsm_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	struct wbuf w = { .buf = buf, .cap = cap };
	msgpack_packer pk;
	int rc;

	if (!m || !buf || !len)
		return -EINVAL;
	rc = msg_check(m);
	if (rc)
		return rc;
	msgpack_packer_init(&pk, &w, wbuf_write);
	put_msg(&pk, m);
	if (w.err)
		return w.err;
	if (w.len > GSM_MAX_DATAGRAM - GSM_ENVELOPE_OVERHEAD)
		return -EMSGSIZE;
	*len = w.len;
	return 0;
}

size_t gsm_msg_encoded_size(const struct gsm_msg *m)
{
	struct wbuf w = { 0 };
	msgpack_packer pk;

	if (!m || msg_check(m))
		return 0;
	msgpack_packer_init(&pk, &w, wbuf_write);
	put_msg(&pk, m);
	return w.len;
}

/* Growth of an array header: a fixarray (<= 15 items) takes 1 byte, an
 * array16 3 bytes; the first item of an array also costs its map key (1
 * byte) and the header (1 byte).  So "item size + 2" bounds what any one
 * item adds to a body. */
#define ARRAY_SLACK 2

size_t gsm_update_encoded_size(const struct gsm_update *u)
{
	struct wbuf w = { 0 };
	msgpack_packer pk;

	if (!u)
		return 0;
	msgpack_packer_init(&pk, &w, wbuf_write);
	put_update(&pk, u);
	return w.len + ARRAY_SLACK;
}

size_t gsm_advert_ref_encoded_size(size_t signed_len)
{
	size_t hdr = signed_len < 256 ? 2 : signed_len < 65536 ? 3 : 5;

	return signed_len + hdr + ARRAY_SLACK;
}

size_t gsm_digest_entry_encoded_size(const struct gsm_digest_entry *d)
{
	struct wbuf w = { 0 };
	msgpack_packer pk;

	if (!d)
		return 0;
	msgpack_packer_init(&pk, &w, wbuf_write);
	put_digest(&pk, d);
	return w.len + ARRAY_SLACK;
}

void gsm_msg_init(struct gsm_msg *m, uint8_t type)
{
	if (!m)
		return;
	/* Everything before the big arrays, then the counts; the array
	 * entries are only meaningful below their counts. */
	memset(m, 0, offsetof(struct gsm_msg, updates));
	m->n_updates = 0;
	m->n_adverts = 0;
	m->n_digest = 0;
	m->type = type;
}

/* ------------------------------------------------------------------ */
/* advert encoding                                                     */

/* Largest canonical body that still fits a signed advert of
 * GSM_MAX_ADVERT bytes: array hdr (1) + bin16 hdr (3) + sig (2 + 64). */
#define MAX_ADVERT_BODY (GSM_MAX_ADVERT - 1 - 3 - 2 - GSM_SIG_LEN)

static int label_cmp(const void *a, const void *b)
{
	const struct gsm_label *x = *(const struct gsm_label *const *)a;
	const struct gsm_label *y = *(const struct gsm_label *const *)b;

	return strcmp(x->key, y->key);
}

static int advert_check(const struct gsm_advert *a)
{
	if (!text_valid(a->name, GSM_MAX_NAME, 1))
		return -EINVAL;
	if (a->n_endpoints > GSM_MAX_ENDPOINTS || a->n_overlay > GSM_MAX_OVERLAY ||
	    a->n_prefixes > GSM_MAX_PREFIXES || a->n_labels > GSM_MAX_LABELS)
		return -EMSGSIZE;
	for (size_t i = 0; i < a->n_endpoints; i++)
		if (a->endpoints[i].addr.family != 4 && a->endpoints[i].addr.family != 6)
			return -EINVAL;
	for (size_t i = 0; i < a->n_overlay; i++)
		if (!prefix_valid(&a->overlay[i]))
			return -EINVAL;
	for (size_t i = 0; i < a->n_prefixes; i++)
		if (!prefix_valid(&a->prefixes[i]))
			return -EINVAL;
	for (size_t i = 0; i < a->n_labels; i++)
		if (!text_valid(a->labels[i].key, GSM_MAX_LABEL_KEY, 0) ||
		    !text_valid(a->labels[i].value, GSM_MAX_LABEL_VALUE, 1))
			return -EINVAL;
	return 0;
}

static void put_advert(msgpack_packer *pk, const struct gsm_advert *a,
		       const struct gsm_label *const *labels)
{
	size_t n = 3;

	n += a->generation != 0;
	n += a->version != 0;
	n += a->wg_port != 0;
	n += a->gossip_port != 0;
	n += a->flags != 0;
	n += a->n_endpoints != 0;
	n += a->n_overlay != 0;
	n += a->n_prefixes != 0;
	n += a->n_labels != 0;
	n += a->has_relay_via != 0;
	msgpack_pack_map(pk, n);

	put_uint(pk, 0);
	put_bin(pk, a->node_id, GSM_ID_LEN);
	put_uint(pk, 1);
	put_str(pk, a->name);
	put_uint(pk, 2);
	put_bin(pk, a->wg_pubkey, GSM_WGKEY_LEN);
	if (a->generation) {
		put_uint(pk, 3);
		put_uint(pk, a->generation);
	}
	if (a->version) {
		put_uint(pk, 4);
		put_uint(pk, a->version);
	}
	if (a->wg_port) {
		put_uint(pk, 5);
		put_uint(pk, a->wg_port);
	}
	if (a->gossip_port) {
		put_uint(pk, 6);
		put_uint(pk, a->gossip_port);
	}
	if (a->flags) {
		put_uint(pk, 7);
		put_uint(pk, a->flags);
	}
	if (a->n_endpoints) {
		put_uint(pk, 8);
		msgpack_pack_array(pk, a->n_endpoints);
		for (size_t i = 0; i < a->n_endpoints; i++) {
			const struct gsm_endpoint *e = &a->endpoints[i];
			msgpack_pack_map(pk, 1 + (e->flags != 0) + (e->has_observer != 0));
			put_uint(pk, 0);
			put_addr(pk, &e->addr);
			if (e->flags) {
				put_uint(pk, 1);
				put_uint(pk, e->flags);
			}
			if (e->has_observer) {
				put_uint(pk, 2);
				put_bin(pk, e->observer, GSM_ID_LEN);
			}
		}
	}
	if (a->n_overlay) {
		put_uint(pk, 9);
		msgpack_pack_array(pk, a->n_overlay);
		for (size_t i = 0; i < a->n_overlay; i++)
			put_prefix(pk, &a->overlay[i]);
	}
	if (a->n_prefixes) {
		put_uint(pk, 10);
		msgpack_pack_array(pk, a->n_prefixes);
		for (size_t i = 0; i < a->n_prefixes; i++)
			put_prefix(pk, &a->prefixes[i]);
	}
	if (a->n_labels) {
		put_uint(pk, 11);
		msgpack_pack_array(pk, a->n_labels);
		for (size_t i = 0; i < a->n_labels; i++) {
			msgpack_pack_array(pk, 2);
			put_str(pk, labels[i]->key);
			put_str(pk, labels[i]->value);
		}
	}
	if (a->has_relay_via) {
		put_uint(pk, 12);
		put_bin(pk, a->relay_via, GSM_ID_LEN);
	}
}

int gsm_advert_encode_body(const struct gsm_advert *a, uint8_t *buf, size_t cap, size_t *len)
{
	const struct gsm_label *labels[GSM_MAX_LABELS];
	struct wbuf w = { .buf = buf, .cap = cap };
	msgpack_packer pk;
	int rc;

	if (!a || !buf || !len)
		return -EINVAL;
	rc = advert_check(a);
	if (rc)
		return rc;
	for (size_t i = 0; i < a->n_labels; i++)
		labels[i] = &a->labels[i];
	qsort(labels, a->n_labels, sizeof(labels[0]), label_cmp);
	for (size_t i = 1; i < a->n_labels; i++)
		if (strcmp(labels[i - 1]->key, labels[i]->key) == 0)
			return -EINVAL; /* duplicate label key */

	msgpack_packer_init(&pk, &w, wbuf_write);
	put_advert(&pk, a, labels);
	if (w.err)
		return w.err;
	if (w.len > MAX_ADVERT_BODY)
		return -EMSGSIZE;
	*len = w.len;
	return 0;
}

int gsm_advert_wrap(const uint8_t *body, size_t body_len, const uint8_t sig[GSM_SIG_LEN],
		    uint8_t *out, size_t cap, size_t *len)
{
	struct wbuf w = { .buf = out, .cap = cap };
	msgpack_packer pk;

	if (!body || !sig || !out || !len)
		return -EINVAL;
	if (body_len > MAX_ADVERT_BODY)
		return -EMSGSIZE;
	msgpack_packer_init(&pk, &w, wbuf_write);
	msgpack_pack_array(&pk, 2);
	put_bin(&pk, body, body_len);
	put_bin(&pk, sig, GSM_SIG_LEN);
	if (w.err)
		return w.err;
	*len = w.len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* bounded reader                                                      */

enum tkind { T_UINT, T_NINT, T_NIL, T_BOOL, T_FLOAT, T_STR, T_BIN, T_ARRAY, T_MAP, T_EXT };

struct tok {
	enum tkind kind;
	uint64_t u;         /* T_UINT value, T_BOOL */
	const uint8_t *ptr; /* T_STR / T_BIN / T_EXT payload */
	uint32_t len;       /* payload length or element count */
};

struct rd {
	const uint8_t *p;
	const uint8_t *end;
};

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
static int rd_next(struct rd *r, struct tok *t)
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
	case 0xc4: case 0xc5: case 0xc6:
		t->kind = T_BIN;
		n = (size_t)1 << (c - 0xc4);
		goto lenpayload;
	case 0xc7: case 0xc8: case 0xc9:
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
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		n = (size_t)1 << (c - 0xcc);
		p = rd_take(r, n);
		if (!p)
			return -EBADMSG;
		t->kind = T_UINT;
		t->u = be(p, n);
		return 0;
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
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
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		t->kind = T_EXT;
		plen = ((size_t)1 << (c - 0xd4)) + 1;
		goto payload;
	case 0xd9: case 0xda: case 0xdb:
		t->kind = T_STR;
		n = (size_t)1 << (c - 0xd9);
		goto lenpayload;
	case 0xdc: case 0xdd:
		t->kind = T_ARRAY;
		n = c == 0xdc ? 2 : 4;
		p = rd_take(r, n);
		if (!p)
			return -EBADMSG;
		t->len = (uint32_t)be(p, n);
		goto container;
	case 0xde: case 0xdf:
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

static int rd_skip(struct rd *r, int depth);

/* Skip the children of a token already read. */
static int rd_skip_tok(struct rd *r, const struct tok *t, int depth)
{
	uint64_t n;
	int rc;

	if (t->kind != T_ARRAY && t->kind != T_MAP)
		return 0;
	if (depth >= MAX_SKIP_DEPTH)
		return -EBADMSG;
	n = (uint64_t)t->len * (t->kind == T_MAP ? 2 : 1);
	for (uint64_t i = 0; i < n; i++) {
		rc = rd_skip(r, depth + 1);
		if (rc)
			return rc;
	}
	return 0;
}

static int rd_skip(struct rd *r, int depth)
{
	struct tok t;
	int rc = rd_next(r, &t);

	if (rc)
		return rc;
	return rd_skip_tok(r, &t, depth);
}

static int rd_uint(struct rd *r, uint64_t max, uint64_t *v)
{
	struct tok t;
	int rc = rd_next(r, &t);

	if (rc)
		return rc;
	if (t.kind != T_UINT || t.u > max)
		return -EBADMSG;
	*v = t.u;
	return 0;
}

static int rd_bin(struct rd *r, struct tok *t)
{
	int rc = rd_next(r, t);

	if (rc)
		return rc;
	return t->kind == T_BIN ? 0 : -EBADMSG;
}

static int rd_bin_fixed(struct rd *r, uint8_t *out, size_t n)
{
	struct tok t;
	int rc = rd_bin(r, &t);

	if (rc)
		return rc;
	if (t.len != n)
		return -EBADMSG;
	memcpy(out, t.ptr, n);
	return 0;
}

static int rd_text(struct rd *r, char *out, size_t maxlen, int allow_empty)
{
	struct tok t;
	int rc = rd_next(r, &t);

	if (rc)
		return rc;
	if (t.kind != T_STR)
		return -EBADMSG;
	if (t.len > maxlen)
		return -EMSGSIZE;
	if (!allow_empty && t.len == 0)
		return -EBADMSG;
	if (!text_ok(t.ptr, t.len))
		return -EBADMSG;
	memcpy(out, t.ptr, t.len);
	out[t.len] = 0;
	return 0;
}

static int rd_container(struct rd *r, enum tkind kind, uint32_t max, uint32_t *n)
{
	struct tok t;
	int rc = rd_next(r, &t);

	if (rc)
		return rc;
	if (t.kind != kind)
		return -EBADMSG;
	if (t.len > max)
		return -EMSGSIZE;
	*n = t.len;
	return 0;
}

static int rd_addr(struct rd *r, struct gsm_addr *a)
{
	struct tok t;
	int rc = rd_bin(r, &t);
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

static int rd_prefix(struct rd *r, struct gsm_prefix *pf)
{
	struct tok t;
	int rc = rd_bin(r, &t);
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

/* Iterate a map with small integer keys.  For every known key (< nkeys)
 * the callback decodes the value; unknown keys (any type) and their values
 * are skipped.  A known key seen twice is malformed. */
typedef int (*field_fn)(struct rd *r, unsigned key, void *ctx);

static int rd_map(struct rd *r, unsigned nkeys, field_fn fn, void *ctx, uint32_t *seen)
{
	struct tok t;
	uint32_t n;
	int rc;

	*seen = 0;
	rc = rd_next(r, &t);
	if (rc)
		return rc;
	if (t.kind != T_MAP)
		return -EBADMSG;
	n = t.len;
	for (uint32_t i = 0; i < n; i++) {
		rc = rd_next(r, &t);
		if (rc)
			return rc;
		if (t.kind == T_UINT && t.u < nkeys) {
			unsigned k = (unsigned)t.u;
			if (*seen & (1u << k))
				return -EBADMSG;
			*seen |= 1u << k;
			rc = fn(r, k, ctx);
		} else {
			rc = rd_skip_tok(r, &t, 1);
			if (!rc)
				rc = rd_skip(r, 1);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* message decoding                                                    */

static int update_field(struct rd *r, unsigned key, void *ctx)
{
	struct gsm_update *u = ctx;
	uint64_t v = 0;
	int rc;

	switch (key) {
	case 0:
		return rd_bin_fixed(r, u->node, GSM_ID_LEN);
	case 1:
		rc = rd_uint(r, GSM_STATE_LEFT, &v);
		u->state = (uint8_t)v;
		return rc;
	case 2:
		return rd_uint(r, UINT64_MAX, &u->generation);
	case 3:
		return rd_uint(r, UINT64_MAX, &u->incarnation);
	case 4:
		return rd_addr(r, &u->addr);
	case 5:
		u->has_from = 1;
		return rd_bin_fixed(r, u->from, GSM_ID_LEN);
	case 6:
		u->has_sig = 1;
		return rd_bin_fixed(r, u->sig, GSM_SIG_LEN);
	}
	return rd_skip(r, 1);
}

static int rd_update(struct rd *r, struct gsm_update *u)
{
	uint32_t seen;
	int rc;

	memset(u, 0, sizeof(*u));
	rc = rd_map(r, 7, update_field, u, &seen);
	if (rc)
		return rc;
	return (seen & 1) ? 0 : -EBADMSG; /* node is required */
}

static int rd_digest(struct rd *r, struct gsm_digest_entry *d)
{
	uint32_t n;
	int rc = rd_container(r, T_ARRAY, 3, &n);

	if (rc)
		return rc == -EMSGSIZE ? -EBADMSG : rc;
	if (n != 3)
		return -EBADMSG;
	rc = rd_bin_fixed(r, d->node, GSM_ID_LEN);
	if (!rc)
		rc = rd_uint(r, UINT64_MAX, &d->generation);
	if (!rc)
		rc = rd_uint(r, UINT64_MAX, &d->version);
	return rc;
}

static int msg_field(struct rd *r, unsigned key, void *ctx)
{
	struct gsm_msg *m = ctx;
	struct tok t;
	uint64_t v = 0;
	uint32_t n;
	int rc;

	switch (key) {
	case 0:
		rc = rd_uint(r, UINT8_MAX, &v);
		m->type = (uint8_t)v;
		return rc;
	case 1:
		return rd_bin_fixed(r, m->sender, GSM_ID_LEN);
	case 2:
		rc = rd_uint(r, UINT32_MAX, &v);
		m->seq = (uint32_t)v;
		return rc;
	case 3:
		m->has_target = 1;
		return rd_bin_fixed(r, m->target, GSM_ID_LEN);
	case 4:
		return rd_addr(r, &m->target_addr);
	case 5:
		m->has_origin = 1;
		return rd_bin_fixed(r, m->origin, GSM_ID_LEN);
	case 6:
		return rd_addr(r, &m->origin_addr);
	case 7:
		return rd_addr(r, &m->observed);
	case 8:
		rc = rd_container(r, T_ARRAY, GSM_MAX_UPDATES, &n);
		for (uint32_t i = 0; !rc && i < n; i++) {
			rc = rd_update(r, &m->updates[i]);
			m->n_updates = (uint16_t)(i + 1);
		}
		return rc;
	case 9:
		rc = rd_container(r, T_ARRAY, GSM_MAX_ADVERTS, &n);
		for (uint32_t i = 0; !rc && i < n; i++) {
			rc = rd_bin(r, &t);
			if (!rc && t.len > GSM_MAX_ADVERT)
				rc = -EMSGSIZE;
			if (!rc) {
				m->adverts[i].ptr = t.ptr;
				m->adverts[i].len = t.len;
				m->n_adverts = (uint16_t)(i + 1);
			}
		}
		return rc;
	case 10:
		rc = rd_container(r, T_ARRAY, GSM_MAX_DIGEST, &n);
		for (uint32_t i = 0; !rc && i < n; i++) {
			rc = rd_digest(r, &m->digest[i]);
			m->n_digest = (uint16_t)(i + 1);
		}
		return rc;
	case 11:
		rc = rd_uint(r, UINT32_MAX, &v);
		m->flags = (uint32_t)v;
		return rc;
	case 12:
		m->has_cursor = 1;
		return rd_bin_fixed(r, m->cursor, GSM_ID_LEN);
	case 13:
		return rd_uint(r, UINT64_MAX, &m->sender_gen);
	case 14:
		return rd_addr(r, &m->wg_observed);
	case 15:
		/* a state_hash that is not bin 16..32 is ignored, not an
		 * error: the receiver then just runs the full paged sync */
		rc = rd_next(r, &t);
		if (rc)
			return rc;
		if (t.kind != T_BIN)
			return rd_skip_tok(r, &t, 1);
		if (t.len >= GSM_STATE_HASH_MIN && t.len <= GSM_STATE_HASH_MAX) {
			memcpy(m->state_hash, t.ptr, t.len);
			m->state_hash_len = (uint8_t)t.len;
		}
		return 0;
	}
	return rd_skip(r, 1);
}

int gsm_msg_decode(const uint8_t *buf, size_t len, struct gsm_msg *m)
{
	struct rd r = { buf, buf + len };
	uint32_t seen;
	int rc;

	if (!m || (!buf && len))
		return -EINVAL;
	gsm_msg_init(m, 0);
	if (len > GSM_MAX_DATAGRAM)
		return -EMSGSIZE;
	if (!buf)
		return -EBADMSG;
	rc = rd_map(&r, 16, msg_field, m, &seen);
	if (!rc && r.p != r.end)
		rc = -EBADMSG; /* trailing bytes */
	if (!rc && (seen & 3) != 3)
		rc = -EBADMSG; /* type and sender are required */
	if (!rc && m->type == 0)
		rc = -EBADMSG;
	if (!rc && m->type > GSM_MSG_TYPE_MAX)
		rc = -ENOMSG; /* well-formed, but a type from a newer version */
	if (rc)
		gsm_msg_init(m, 0);
	return rc;
}

/* ------------------------------------------------------------------ */
/* advert decoding                                                     */

/* Split a signed advert into body and signature. */
static int advert_split(const uint8_t *sa, size_t len, struct tok *body, const uint8_t **sig)
{
	struct rd r = { sa, sa + len };
	struct tok t;
	uint32_t n;
	int rc;

	if (!sa)
		return -EINVAL;
	if (len > GSM_MAX_ADVERT)
		return -EMSGSIZE;
	rc = rd_container(&r, T_ARRAY, 2, &n);
	if (rc)
		return -EBADMSG;
	if (n != 2)
		return -EBADMSG;
	rc = rd_bin(&r, body);
	if (!rc)
		rc = rd_bin(&r, &t);
	if (rc)
		return rc;
	if (t.len != GSM_SIG_LEN || r.p != r.end)
		return -EBADMSG;
	*sig = t.ptr;
	return 0;
}

static int endpoint_field(struct rd *r, unsigned key, void *ctx)
{
	struct gsm_endpoint *e = ctx;
	uint64_t v = 0;
	int rc;

	switch (key) {
	case 0:
		return rd_addr(r, &e->addr);
	case 1:
		rc = rd_uint(r, UINT8_MAX, &v);
		e->flags = (uint8_t)v;
		return rc;
	case 2:
		e->has_observer = 1;
		return rd_bin_fixed(r, e->observer, GSM_ID_LEN);
	}
	return rd_skip(r, 1);
}

static int rd_prefixes(struct rd *r, struct gsm_prefix *out, uint32_t max, uint8_t *count)
{
	uint32_t n;
	int rc = rd_container(r, T_ARRAY, max, &n);

	for (uint32_t i = 0; !rc && i < n; i++) {
		rc = rd_prefix(r, &out[i]);
		*count = (uint8_t)(i + 1);
	}
	return rc;
}

static int advert_field(struct rd *r, unsigned key, void *ctx)
{
	struct gsm_advert *a = ctx;
	uint64_t v = 0;
	uint32_t n, m;
	uint32_t seen;
	int rc;

	switch (key) {
	case 0:
		return rd_bin_fixed(r, a->node_id, GSM_ID_LEN);
	case 1:
		return rd_text(r, a->name, GSM_MAX_NAME, 1);
	case 2:
		return rd_bin_fixed(r, a->wg_pubkey, GSM_WGKEY_LEN);
	case 3:
		return rd_uint(r, UINT64_MAX, &a->generation);
	case 4:
		return rd_uint(r, UINT64_MAX, &a->version);
	case 5:
		rc = rd_uint(r, UINT16_MAX, &v);
		a->wg_port = (uint16_t)v;
		return rc;
	case 6:
		rc = rd_uint(r, UINT16_MAX, &v);
		a->gossip_port = (uint16_t)v;
		return rc;
	case 7:
		rc = rd_uint(r, UINT32_MAX, &v);
		a->flags = (uint32_t)v;
		return rc;
	case 8:
		rc = rd_container(r, T_ARRAY, GSM_MAX_ENDPOINTS, &n);
		for (uint32_t i = 0; !rc && i < n; i++) {
			struct gsm_endpoint *e = &a->endpoints[i];
			memset(e, 0, sizeof(*e));
			rc = rd_map(r, 3, endpoint_field, e, &seen);
			if (!rc && !(seen & 1))
				rc = -EBADMSG; /* addr is required */
			a->n_endpoints = (uint8_t)(i + 1);
		}
		return rc;
	case 9:
		return rd_prefixes(r, a->overlay, GSM_MAX_OVERLAY, &a->n_overlay);
	case 10:
		return rd_prefixes(r, a->prefixes, GSM_MAX_PREFIXES, &a->n_prefixes);
	case 11:
		rc = rd_container(r, T_ARRAY, GSM_MAX_LABELS, &n);
		for (uint32_t i = 0; !rc && i < n; i++) {
			struct gsm_label *l = &a->labels[i];
			rc = rd_container(r, T_ARRAY, 2, &m);
			if (rc == -EMSGSIZE || (!rc && m != 2))
				rc = -EBADMSG;
			if (!rc)
				rc = rd_text(r, l->key, GSM_MAX_LABEL_KEY, 0);
			if (!rc)
				rc = rd_text(r, l->value, GSM_MAX_LABEL_VALUE, 1);
			/* canonical order: strictly ascending, no duplicates */
			if (!rc && i > 0 && strcmp(a->labels[i - 1].key, l->key) >= 0)
				rc = -EBADMSG;
			a->n_labels = (uint8_t)(i + 1);
		}
		return rc;
	case 12:
		a->has_relay_via = 1;
		return rd_bin_fixed(r, a->relay_via, GSM_ID_LEN);
	}
	return rd_skip(r, 1);
}

static int advert_body_decode(const uint8_t *p, size_t len, struct gsm_advert *a)
{
	struct rd r = { p, p + len };
	uint32_t seen;
	int rc;

	memset(a, 0, sizeof(*a));
	rc = rd_map(&r, 13, advert_field, a, &seen);
	if (!rc && r.p != r.end)
		rc = -EBADMSG;
	if (!rc && !(seen & 1))
		rc = -EBADMSG; /* node id is required */
	return rc;
}

int gsm_advert_decode(const uint8_t *signed_adv, size_t len, struct gsm_advert *a)
{
	struct tok body;
	const uint8_t *sig;
	int rc;

	if (!a)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	rc = advert_split(signed_adv, len, &body, &sig);
	if (!rc)
		rc = advert_body_decode(body.ptr, body.len, a);
	if (rc)
		memset(a, 0, sizeof(*a));
	return rc;
}

struct peek_ctx {
	uint8_t *node_id;
	uint64_t *generation;
	uint64_t *version;
};

static int peek_field(struct rd *r, unsigned key, void *ctx)
{
	struct peek_ctx *c = ctx;

	switch (key) {
	case 0:
		return rd_bin_fixed(r, c->node_id, GSM_ID_LEN);
	case 3:
		return rd_uint(r, UINT64_MAX, c->generation);
	case 4:
		return rd_uint(r, UINT64_MAX, c->version);
	}
	return rd_skip(r, 1);
}

/* Reads node id, generation and version from a body, skipping the rest
 * structurally (no field validation). */
static int advert_body_peek(const uint8_t *p, size_t len, uint8_t node_id[GSM_ID_LEN],
			    uint64_t *generation, uint64_t *version)
{
	struct rd r = { p, p + len };
	struct peek_ctx c = { node_id, generation, version };
	uint32_t seen;
	int rc;

	*generation = 0;
	*version = 0;
	rc = rd_map(&r, 5, peek_field, &c, &seen);
	if (!rc && r.p != r.end)
		rc = -EBADMSG;
	if (!rc && !(seen & 1))
		rc = -EBADMSG;
	return rc;
}

int gsm_advert_peek(const uint8_t *signed_adv, size_t len, uint8_t node_id[GSM_ID_LEN],
		    uint64_t *generation, uint64_t *version)
{
	uint8_t id[GSM_ID_LEN];
	uint64_t g, v;
	struct tok body;
	const uint8_t *sig;
	int rc;

	rc = advert_split(signed_adv, len, &body, &sig);
	if (!rc)
		rc = advert_body_peek(body.ptr, body.len, id, &g, &v);
	if (rc)
		return rc;
	if (node_id)
		memcpy(node_id, id, GSM_ID_LEN);
	if (generation)
		*generation = g;
	if (version)
		*version = v;
	return 0;
}

int gsm__advert_parts(const uint8_t *signed_adv, size_t len, const uint8_t **body,
		      size_t *body_len, const uint8_t **sig, uint8_t node_id[GSM_ID_LEN])
{
	struct tok b;
	uint64_t g, v;
	int rc;

	rc = advert_split(signed_adv, len, &b, sig);
	if (!rc)
		rc = advert_body_peek(b.ptr, b.len, node_id, &g, &v);
	if (rc)
		return rc;
	*body = b.ptr;
	*body_len = b.len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* leave intent, names                                                 */

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

void gsm_leave_intent(const uint8_t node[GSM_ID_LEN], uint64_t generation, uint64_t incarnation,
		      uint8_t out[GSM_LEAVE_INTENT_LEN])
{
	memcpy(out, "gossamer-leave", 14);
	memcpy(out + 14, node, GSM_ID_LEN);
	put_be64(out + 14 + GSM_ID_LEN, generation);
	put_be64(out + 14 + GSM_ID_LEN + 8, incarnation);
}

const char *gsm_state_name(uint8_t state)
{
	switch (state) {
	case GSM_STATE_ALIVE:
		return "alive";
	case GSM_STATE_SUSPECT:
		return "suspect";
	case GSM_STATE_DEAD:
		return "dead";
	case GSM_STATE_LEFT:
		return "left";
	}
	return "unknown";
}

const char *gsm_msg_type_name(uint8_t type)
{
	switch (type) {
	case GSM_MSG_PING:
		return "ping";
	case GSM_MSG_ACK:
		return "ack";
	case GSM_MSG_PING_REQ:
		return "ping-req";
	case GSM_MSG_NACK:
		return "nack";
	case GSM_MSG_SYNC_DIGEST:
		return "sync-digest";
	case GSM_MSG_SYNC_REQUEST:
		return "sync-request";
	case GSM_MSG_SYNC_RESPONSE:
		return "sync-response";
	case GSM_MSG_LEAVE:
		return "leave";
	case GSM_MSG_GOSSIP:
		return "gossip";
	}
	return "unknown";
}
