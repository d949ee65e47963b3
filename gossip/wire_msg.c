/*
 * gossip/wire_msg.c - encode and decode gossip bodies (struct gsm_msg).
 *
 * Encoding: one put_msg() walks the struct in ascending key order
 * (enum gsm_wk_msg), omitting zero/absent fields, through the packer of
 * wire_internal.h.  The same function writes the bytes (gsm_msg_encode)
 * and counts them (gsm_msg_encoded_size and the per-item bounds the core
 * uses to fill a datagram up to its MTU), so the size is exact by
 * construction and never drifts from the encoder.
 *
 * Decoding: gsm__rd_map() with one field callback per map kind writes
 * straight into the caller's fixed-size struct; signed adverts are
 * referenced in place (struct gsm_bytes), never copied.  Every array count
 * is bounded by its GSM_MAX_* before a single element is read; trailing
 * bytes and out-of-range integers are malformed; a well-formed body of an
 * unknown type is -ENOMSG so a newer peer's message is dropped quietly.
 */
#include "gossip/wire_internal.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

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
	n += u->has_claim_sig != 0;
	msgpack_pack_map(pk, n);
	put_uint(pk, GSM_WK_UPDATE_NODE);
	put_bin(pk, u->node, GSM_ID_LEN);
	if (u->state) {
		put_uint(pk, GSM_WK_UPDATE_STATE);
		put_uint(pk, u->state);
	}
	if (u->generation) {
		put_uint(pk, GSM_WK_UPDATE_GENERATION);
		put_uint(pk, u->generation);
	}
	if (u->incarnation) {
		put_uint(pk, GSM_WK_UPDATE_INCARNATION);
		put_uint(pk, u->incarnation);
	}
	if (u->addr.family) {
		put_uint(pk, GSM_WK_UPDATE_ADDR);
		put_addr(pk, &u->addr);
	}
	if (u->has_from) {
		put_uint(pk, GSM_WK_UPDATE_FROM);
		put_bin(pk, u->from, GSM_ID_LEN);
	}
	if (u->has_sig) {
		put_uint(pk, GSM_WK_UPDATE_SIG);
		put_bin(pk, u->sig, GSM_SIG_LEN);
	}
	if (u->has_claim_sig) {
		put_uint(pk, GSM_WK_UPDATE_CLAIM_SIG);
		put_bin(pk, u->claim_sig, GSM_SIG_LEN);
	}
}

static void put_digest(msgpack_packer *pk, const struct gsm_digest_entry *d)
{
	msgpack_pack_array(pk, GSM_WK_DIGEST_COUNT);
	put_bin(pk, d->node, GSM_ID_LEN);
	put_uint(pk, d->generation);
	put_uint(pk, d->version);
}

static int msg_check(const struct gsm_msg *m)
{
	if (m->type == 0)
		return -EINVAL;
	if (m->n_updates > GSM_MAX_UPDATES || m->n_adverts > GSM_MAX_ADVERTS ||
	    m->n_digest > GSM_MAX_DIGEST || m->n_revocations > GSM_MAX_REVOCATIONS_MSG)
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
	for (size_t i = 0; i < m->n_revocations; i++) {
		if (m->revocations[i].len > GSM_WIRE_REVOCATION_MAX)
			return -EMSGSIZE;
		if (!m->revocations[i].ptr && m->revocations[i].len)
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
	n += m->n_revocations != 0;
	n += m->has_rev_hash != 0;
	msgpack_pack_map(pk, n);

	put_uint(pk, GSM_WK_MSG_TYPE);
	put_uint(pk, m->type);
	put_uint(pk, GSM_WK_MSG_SENDER);
	put_bin(pk, m->sender, GSM_ID_LEN);
	if (m->seq) {
		put_uint(pk, GSM_WK_MSG_SEQ);
		put_uint(pk, m->seq);
	}
	if (m->has_target) {
		put_uint(pk, GSM_WK_MSG_TARGET);
		put_bin(pk, m->target, GSM_ID_LEN);
	}
	if (m->target_addr.family) {
		put_uint(pk, GSM_WK_MSG_TARGET_ADDR);
		put_addr(pk, &m->target_addr);
	}
	if (m->has_origin) {
		put_uint(pk, GSM_WK_MSG_ORIGIN);
		put_bin(pk, m->origin, GSM_ID_LEN);
	}
	if (m->origin_addr.family) {
		put_uint(pk, GSM_WK_MSG_ORIGIN_ADDR);
		put_addr(pk, &m->origin_addr);
	}
	if (m->observed.family) {
		put_uint(pk, GSM_WK_MSG_OBSERVED);
		put_addr(pk, &m->observed);
	}
	if (m->n_updates) {
		put_uint(pk, GSM_WK_MSG_UPDATES);
		msgpack_pack_array(pk, m->n_updates);
		for (size_t i = 0; i < m->n_updates; i++)
			put_update(pk, &m->updates[i]);
	}
	if (m->n_adverts) {
		put_uint(pk, GSM_WK_MSG_ADVERTS);
		msgpack_pack_array(pk, m->n_adverts);
		for (size_t i = 0; i < m->n_adverts; i++)
			put_bin(pk, m->adverts[i].ptr, m->adverts[i].len);
	}
	if (m->n_digest) {
		put_uint(pk, GSM_WK_MSG_DIGEST);
		msgpack_pack_array(pk, m->n_digest);
		for (size_t i = 0; i < m->n_digest; i++)
			put_digest(pk, &m->digest[i]);
	}
	if (m->flags) {
		put_uint(pk, GSM_WK_MSG_FLAGS);
		put_uint(pk, m->flags);
	}
	if (m->has_cursor) {
		put_uint(pk, GSM_WK_MSG_CURSOR);
		put_bin(pk, m->cursor, GSM_ID_LEN);
	}
	if (m->sender_gen) {
		put_uint(pk, GSM_WK_MSG_SENDER_GEN);
		put_uint(pk, m->sender_gen);
	}
	if (m->wg_observed.family) {
		put_uint(pk, GSM_WK_MSG_WG_OBSERVED);
		put_addr(pk, &m->wg_observed);
	}
	if (m->state_hash_len) {
		put_uint(pk, GSM_WK_MSG_STATE_HASH);
		put_bin(pk, m->state_hash, m->state_hash_len);
	}
	if (m->n_revocations) {
		put_uint(pk, GSM_WK_MSG_REVOCATIONS);
		msgpack_pack_array(pk, m->n_revocations);
		for (size_t i = 0; i < m->n_revocations; i++)
			put_bin(pk, m->revocations[i].ptr, m->revocations[i].len);
	}
	if (m->has_rev_hash) {
		put_uint(pk, GSM_WK_MSG_REV_HASH);
		put_bin(pk, m->rev_hash, GSM_REV_HASH_LEN);
	}
}

int gsm_msg_encode(const struct gsm_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	struct wbuf w = {.buf = buf, .cap = cap};
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
	struct wbuf w = {0};
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
	struct wbuf w = {0};
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

size_t gsm_revocation_ref_encoded_size(size_t signed_len)
{
	return gsm_advert_ref_encoded_size(signed_len); /* a bin in an array, alike */
}

size_t gsm_digest_entry_encoded_size(const struct gsm_digest_entry *d)
{
	struct wbuf w = {0};
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
	m->type = type; /* (the revocations and rev_hash precede updates) */
}

/* ------------------------------------------------------------------ */
/* message decoding                                                    */

static int update_field(struct rd *r, unsigned key, void *ctx)
{
	struct gsm_update *u = ctx;
	uint64_t v = 0;
	int rc;

	switch (key) {
	case GSM_WK_UPDATE_NODE:
		return gsm__rd_bin_fixed(r, u->node, GSM_ID_LEN);
	case GSM_WK_UPDATE_STATE:
		rc = gsm__rd_uint(r, GSM_STATE_LEFT, &v);
		u->state = (uint8_t)v;
		return rc;
	case GSM_WK_UPDATE_GENERATION:
		return gsm__rd_uint(r, UINT64_MAX, &u->generation);
	case GSM_WK_UPDATE_INCARNATION:
		return gsm__rd_uint(r, UINT64_MAX, &u->incarnation);
	case GSM_WK_UPDATE_ADDR:
		return gsm__rd_addr(r, &u->addr);
	case GSM_WK_UPDATE_FROM:
		u->has_from = 1;
		return gsm__rd_bin_fixed(r, u->from, GSM_ID_LEN);
	case GSM_WK_UPDATE_SIG:
		u->has_sig = 1;
		return gsm__rd_bin_fixed(r, u->sig, GSM_SIG_LEN);
	case GSM_WK_UPDATE_CLAIM_SIG:
		u->has_claim_sig = 1;
		return gsm__rd_bin_fixed(r, u->claim_sig, GSM_SIG_LEN);
	}
	return gsm__rd_skip(r, 1);
}

static int rd_update(struct rd *r, struct gsm_update *u)
{
	uint32_t seen;
	int rc;

	memset(u, 0, sizeof(*u));
	rc = gsm__rd_map(r, GSM_WK_UPDATE_COUNT, update_field, u, &seen);
	if (rc)
		return rc;
	return (seen & GSM__KEY_BIT(GSM_WK_UPDATE_NODE)) ? 0 : -EBADMSG; /* node is required */
}

static int rd_digest(struct rd *r, struct gsm_digest_entry *d)
{
	uint32_t n;
	int rc = gsm__rd_container(r, T_ARRAY, GSM_WK_DIGEST_COUNT, &n);

	if (rc)
		return rc == -EMSGSIZE ? -EBADMSG : rc;
	if (n != GSM_WK_DIGEST_COUNT)
		return -EBADMSG;
	rc = gsm__rd_bin_fixed(r, d->node, GSM_ID_LEN);
	if (!rc)
		rc = gsm__rd_uint(r, UINT64_MAX, &d->generation);
	if (!rc)
		rc = gsm__rd_uint(r, UINT64_MAX, &d->version);
	return rc;
}

/* Key 16: at most GSM_MAX_REVOCATIONS_MSG bins, each bounded; referenced
 * in place. */
static int rd_revocations(struct rd *r, struct gsm_msg *m)
{
	struct tok t;
	uint32_t n;
	int rc = gsm__rd_container(r, T_ARRAY, GSM_MAX_REVOCATIONS_MSG, &n);

	for (uint32_t i = 0; !rc && i < n; i++) {
		rc = gsm__rd_bin(r, &t);
		if (!rc && t.len > GSM_WIRE_REVOCATION_MAX)
			rc = -EMSGSIZE;
		if (!rc) {
			m->revocations[i].ptr = t.ptr;
			m->revocations[i].len = t.len;
			m->n_revocations = (uint16_t)(i + 1);
		}
	}
	return rc;
}

/* Key 17: bin 16; anything else is ignored (a plain full exchange then). */
static int rd_rev_hash(struct rd *r, struct gsm_msg *m)
{
	struct tok t;
	int rc = gsm__rd_next(r, &t);

	if (rc)
		return rc;
	if (t.kind != T_BIN)
		return gsm__rd_skip_tok(r, &t, 1);
	if (t.len == GSM_REV_HASH_LEN) {
		memcpy(m->rev_hash, t.ptr, GSM_REV_HASH_LEN);
		m->has_rev_hash = 1;
	}
	return 0;
}

static int msg_field(struct rd *r, unsigned key, void *ctx)
{
	struct gsm_msg *m = ctx;
	struct tok t;
	uint64_t v = 0;
	uint32_t n;
	int rc;

	switch (key) {
	case GSM_WK_MSG_TYPE:
		rc = gsm__rd_uint(r, UINT8_MAX, &v);
		m->type = (uint8_t)v;
		return rc;
	case GSM_WK_MSG_SENDER:
		return gsm__rd_bin_fixed(r, m->sender, GSM_ID_LEN);
	case GSM_WK_MSG_SEQ:
		rc = gsm__rd_uint(r, UINT32_MAX, &v);
		m->seq = (uint32_t)v;
		return rc;
	case GSM_WK_MSG_TARGET:
		m->has_target = 1;
		return gsm__rd_bin_fixed(r, m->target, GSM_ID_LEN);
	case GSM_WK_MSG_TARGET_ADDR:
		return gsm__rd_addr(r, &m->target_addr);
	case GSM_WK_MSG_ORIGIN:
		m->has_origin = 1;
		return gsm__rd_bin_fixed(r, m->origin, GSM_ID_LEN);
	case GSM_WK_MSG_ORIGIN_ADDR:
		return gsm__rd_addr(r, &m->origin_addr);
	case GSM_WK_MSG_OBSERVED:
		return gsm__rd_addr(r, &m->observed);
	case GSM_WK_MSG_UPDATES:
		rc = gsm__rd_container(r, T_ARRAY, GSM_MAX_UPDATES, &n);
		for (uint32_t i = 0; !rc && i < n; i++) {
			rc = rd_update(r, &m->updates[i]);
			m->n_updates = (uint16_t)(i + 1);
		}
		return rc;
	case GSM_WK_MSG_ADVERTS:
		rc = gsm__rd_container(r, T_ARRAY, GSM_MAX_ADVERTS, &n);
		for (uint32_t i = 0; !rc && i < n; i++) {
			rc = gsm__rd_bin(r, &t);
			if (!rc && t.len > GSM_MAX_ADVERT)
				rc = -EMSGSIZE;
			if (!rc) {
				m->adverts[i].ptr = t.ptr;
				m->adverts[i].len = t.len;
				m->n_adverts = (uint16_t)(i + 1);
			}
		}
		return rc;
	case GSM_WK_MSG_DIGEST:
		rc = gsm__rd_container(r, T_ARRAY, GSM_MAX_DIGEST, &n);
		for (uint32_t i = 0; !rc && i < n; i++) {
			rc = rd_digest(r, &m->digest[i]);
			m->n_digest = (uint16_t)(i + 1);
		}
		return rc;
	case GSM_WK_MSG_FLAGS:
		rc = gsm__rd_uint(r, UINT32_MAX, &v);
		m->flags = (uint32_t)v;
		return rc;
	case GSM_WK_MSG_CURSOR:
		m->has_cursor = 1;
		return gsm__rd_bin_fixed(r, m->cursor, GSM_ID_LEN);
	case GSM_WK_MSG_SENDER_GEN:
		return gsm__rd_uint(r, UINT64_MAX, &m->sender_gen);
	case GSM_WK_MSG_WG_OBSERVED:
		return gsm__rd_addr(r, &m->wg_observed);
	case GSM_WK_MSG_STATE_HASH:
		/* a state_hash that is not bin 16..32 is ignored, not an
		 * error: the receiver then just runs the full paged sync */
		rc = gsm__rd_next(r, &t);
		if (rc)
			return rc;
		if (t.kind != T_BIN)
			return gsm__rd_skip_tok(r, &t, 1);
		if (t.len >= GSM_STATE_HASH_MIN && t.len <= GSM_STATE_HASH_MAX) {
			memcpy(m->state_hash, t.ptr, t.len);
			m->state_hash_len = (uint8_t)t.len;
		}
		return 0;
	case GSM_WK_MSG_REVOCATIONS:
		return rd_revocations(r, m);
	case GSM_WK_MSG_REV_HASH:
		return rd_rev_hash(r, m);
	}
	return gsm__rd_skip(r, 1);
}

int gsm_msg_decode(const uint8_t *buf, size_t len, struct gsm_msg *m)
{
	const uint32_t required = GSM__KEY_BIT(GSM_WK_MSG_TYPE) | GSM__KEY_BIT(GSM_WK_MSG_SENDER);
	struct rd r = {buf, buf + len};
	uint32_t seen;
	int rc;

	if (!m || (!buf && len))
		return -EINVAL;
	gsm_msg_init(m, 0);
	if (len > GSM_MAX_DATAGRAM)
		return -EMSGSIZE;
	if (!buf)
		return -EBADMSG;
	rc = gsm__rd_map(&r, GSM_WK_MSG_COUNT, msg_field, m, &seen);
	if (!rc && r.p != r.end)
		rc = -EBADMSG; /* trailing bytes */
	if (!rc && (seen & required) != required)
		rc = -EBADMSG; /* type and sender are required */
	if (!rc && m->type == 0)
		rc = -EBADMSG;
	if (!rc && m->type > GSM_MSG_TYPE_MAX)
		rc = -ENOMSG; /* well-formed, but a type from a newer version */
	if (rc)
		gsm_msg_init(m, 0);
	return rc;
}
