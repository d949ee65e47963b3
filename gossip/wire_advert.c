/*
 * gossip/wire_advert.c - canonical advert bodies and signed adverts.
 *
 * An advert travels signed: [canonical body bin, Ed25519 signature bin64]
 * (enum gsm_wk_signed); crypto.c signs and verifies, this file owns the
 * bytes.  The body is canonical so that an advert is a pure function of the
 * struct: keys ascending (enum gsm_wk_advert), zero/absent fields omitted,
 * integers in their shortest form (msgpack-c always packs them so), labels
 * sorted by key with duplicates refused, the certificate chain (key 13)
 * omitted when empty.  Same advert -> same bytes -> same
 * deterministic signature, which is what lets the core compare adverts by
 * their bytes.
 *
 * The decoder is stricter than the encoder needs: a duplicate known key,
 * labels out of order, bad UTF-8 or trailing bytes are malformed, so two
 * implementations can never disagree about what a signed advert says.
 * gsm_advert_peek() reads only (node id, generation, version), the cheap
 * path the core takes for every advert before deciding it wants it.
 */
#include "gossip/wire_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	if (!gsm__text_valid(a->name, GSM_MAX_NAME, 1))
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
		if (!gsm__text_valid(a->labels[i].key, GSM_MAX_LABEL_KEY, 0) ||
		    !gsm__text_valid(a->labels[i].value, GSM_MAX_LABEL_VALUE, 1))
			return -EINVAL;
	if (a->n_certs > GSM_CERT_CHAIN_MAX + 1)
		return -EMSGSIZE;
	for (size_t i = 0; i < a->n_certs; i++) {
		if (a->cert_len[i] > GSM_CERT_MAX)
			return -EMSGSIZE;
		if (a->cert_len[i] == 0)
			return -EINVAL;
	}
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
	n += a->n_certs != 0;
	msgpack_pack_map(pk, n);

	put_uint(pk, GSM_WK_ADVERT_NODE_ID);
	put_bin(pk, a->node_id, GSM_ID_LEN);
	put_uint(pk, GSM_WK_ADVERT_NAME);
	put_str(pk, a->name);
	put_uint(pk, GSM_WK_ADVERT_WG_PUBKEY);
	put_bin(pk, a->wg_pubkey, GSM_WGKEY_LEN);
	if (a->generation) {
		put_uint(pk, GSM_WK_ADVERT_GENERATION);
		put_uint(pk, a->generation);
	}
	if (a->version) {
		put_uint(pk, GSM_WK_ADVERT_VERSION);
		put_uint(pk, a->version);
	}
	if (a->wg_port) {
		put_uint(pk, GSM_WK_ADVERT_WG_PORT);
		put_uint(pk, a->wg_port);
	}
	if (a->gossip_port) {
		put_uint(pk, GSM_WK_ADVERT_GOSSIP_PORT);
		put_uint(pk, a->gossip_port);
	}
	if (a->flags) {
		put_uint(pk, GSM_WK_ADVERT_FLAGS);
		put_uint(pk, a->flags);
	}
	if (a->n_endpoints) {
		put_uint(pk, GSM_WK_ADVERT_ENDPOINTS);
		msgpack_pack_array(pk, a->n_endpoints);
		for (size_t i = 0; i < a->n_endpoints; i++) {
			const struct gsm_endpoint *e = &a->endpoints[i];
			msgpack_pack_map(pk, 1 + (e->flags != 0) + (e->has_observer != 0));
			put_uint(pk, GSM_WK_EP_ADDR);
			put_addr(pk, &e->addr);
			if (e->flags) {
				put_uint(pk, GSM_WK_EP_FLAGS);
				put_uint(pk, e->flags);
			}
			if (e->has_observer) {
				put_uint(pk, GSM_WK_EP_OBSERVER);
				put_bin(pk, e->observer, GSM_ID_LEN);
			}
		}
	}
	if (a->n_overlay) {
		put_uint(pk, GSM_WK_ADVERT_OVERLAY);
		put_prefix_list(pk, a->overlay, a->n_overlay);
	}
	if (a->n_prefixes) {
		put_uint(pk, GSM_WK_ADVERT_PREFIXES);
		put_prefix_list(pk, a->prefixes, a->n_prefixes);
	}
	if (a->n_labels) {
		put_uint(pk, GSM_WK_ADVERT_LABELS);
		msgpack_pack_array(pk, a->n_labels);
		for (size_t i = 0; i < a->n_labels; i++)
			put_label(pk, labels[i]);
	}
	if (a->has_relay_via) {
		put_uint(pk, GSM_WK_ADVERT_RELAY_VIA);
		put_bin(pk, a->relay_via, GSM_ID_LEN);
	}
	if (a->n_certs) {
		put_uint(pk, GSM_WK_ADVERT_CERTS);
		msgpack_pack_array(pk, a->n_certs);
		for (size_t i = 0; i < a->n_certs; i++)
			put_bin(pk, a->certs[i], a->cert_len[i]);
	}
}

int gsm_advert_encode_body(const struct gsm_advert *a, uint8_t *buf, size_t cap, size_t *len)
{
	const struct gsm_label *labels[GSM_MAX_LABELS];
	struct wbuf w = {.buf = buf, .cap = cap};
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
	struct wbuf w = {.buf = out, .cap = cap};
	msgpack_packer pk;

	if (!body || !sig || !out || !len)
		return -EINVAL;
	if (body_len > MAX_ADVERT_BODY)
		return -EMSGSIZE;
	msgpack_packer_init(&pk, &w, wbuf_write);
	msgpack_pack_array(&pk, GSM_WK_SIGNED_COUNT);
	put_bin(&pk, body, body_len);
	put_bin(&pk, sig, GSM_SIG_LEN);
	if (w.err)
		return w.err;
	*len = w.len;
	return 0;
}

/* ------------------------------------------------------------------ */
/* advert decoding                                                     */

/* Split a signed advert into body and signature. */
static int advert_split(const uint8_t *sa, size_t len, struct tok *body, const uint8_t **sig)
{
	return gsm__rd_signed(sa, len, GSM_MAX_ADVERT, body, sig);
}

static int endpoint_field(struct rd *r, unsigned key, void *ctx)
{
	struct gsm_endpoint *e = ctx;
	uint64_t v = 0;
	int rc;

	switch (key) {
	case GSM_WK_EP_ADDR:
		return gsm__rd_addr(r, &e->addr);
	case GSM_WK_EP_FLAGS:
		rc = gsm__rd_uint(r, UINT8_MAX, &v);
		e->flags = (uint8_t)v;
		return rc;
	case GSM_WK_EP_OBSERVER:
		e->has_observer = 1;
		return gsm__rd_bin_fixed(r, e->observer, GSM_ID_LEN);
	}
	return gsm__rd_skip(r, 1);
}

/* The chain: opaque bins, bounded here, verified by gossip/cert.c. */
static int rd_certs(struct rd *r, struct gsm_advert *a)
{
	struct tok t;
	uint32_t n;
	int rc = gsm__rd_container(r, T_ARRAY, GSM_CERT_CHAIN_MAX + 1, &n);

	if (!rc && n == 0)
		rc = -EBADMSG; /* canonical: omitted when empty */
	for (uint32_t i = 0; !rc && i < n; i++) {
		rc = gsm__rd_bin(r, &t);
		if (!rc && t.len > GSM_CERT_MAX)
			rc = -EMSGSIZE;
		if (!rc && t.len == 0)
			rc = -EBADMSG;
		if (rc)
			break;
		memcpy(a->certs[i], t.ptr, t.len);
		a->cert_len[i] = (uint16_t)t.len;
		a->n_certs = (uint8_t)(i + 1);
	}
	return rc;
}

static int advert_field(struct rd *r, unsigned key, void *ctx)
{
	struct gsm_advert *a = ctx;
	uint64_t v = 0;
	uint32_t n;
	uint32_t seen;
	int rc;

	switch (key) {
	case GSM_WK_ADVERT_NODE_ID:
		return gsm__rd_bin_fixed(r, a->node_id, GSM_ID_LEN);
	case GSM_WK_ADVERT_NAME:
		return gsm__rd_text(r, a->name, GSM_MAX_NAME, 1);
	case GSM_WK_ADVERT_WG_PUBKEY:
		return gsm__rd_bin_fixed(r, a->wg_pubkey, GSM_WGKEY_LEN);
	case GSM_WK_ADVERT_GENERATION:
		return gsm__rd_uint(r, UINT64_MAX, &a->generation);
	case GSM_WK_ADVERT_VERSION:
		return gsm__rd_uint(r, UINT64_MAX, &a->version);
	case GSM_WK_ADVERT_WG_PORT:
		rc = gsm__rd_uint(r, UINT16_MAX, &v);
		a->wg_port = (uint16_t)v;
		return rc;
	case GSM_WK_ADVERT_GOSSIP_PORT:
		rc = gsm__rd_uint(r, UINT16_MAX, &v);
		a->gossip_port = (uint16_t)v;
		return rc;
	case GSM_WK_ADVERT_FLAGS:
		rc = gsm__rd_uint(r, UINT32_MAX, &v);
		a->flags = (uint32_t)v;
		return rc;
	case GSM_WK_ADVERT_ENDPOINTS:
		rc = gsm__rd_container(r, T_ARRAY, GSM_MAX_ENDPOINTS, &n);
		for (uint32_t i = 0; !rc && i < n; i++) {
			struct gsm_endpoint *e = &a->endpoints[i];
			memset(e, 0, sizeof(*e));
			rc = gsm__rd_map(r, GSM_WK_EP_COUNT, endpoint_field, e, &seen);
			if (!rc && !(seen & GSM__KEY_BIT(GSM_WK_EP_ADDR)))
				rc = -EBADMSG; /* addr is required */
			a->n_endpoints = (uint8_t)(i + 1);
		}
		return rc;
	case GSM_WK_ADVERT_OVERLAY:
		return gsm__rd_prefix_list(r, a->overlay, GSM_MAX_OVERLAY, &a->n_overlay);
	case GSM_WK_ADVERT_PREFIXES:
		return gsm__rd_prefix_list(r, a->prefixes, GSM_MAX_PREFIXES, &a->n_prefixes);
	case GSM_WK_ADVERT_LABELS:
		return gsm__rd_label_list(r, a->labels, GSM_MAX_LABELS, &a->n_labels);
	case GSM_WK_ADVERT_RELAY_VIA:
		a->has_relay_via = 1;
		return gsm__rd_bin_fixed(r, a->relay_via, GSM_ID_LEN);
	case GSM_WK_ADVERT_CERTS:
		return rd_certs(r, a);
	}
	return gsm__rd_skip(r, 1);
}

static int advert_body_decode(const uint8_t *p, size_t len, struct gsm_advert *a)
{
	struct rd r = {p, p + len};
	uint32_t seen;
	int rc;

	memset(a, 0, sizeof(*a));
	rc = gsm__rd_map(&r, GSM_WK_ADVERT_COUNT, advert_field, a, &seen);
	if (!rc && r.p != r.end)
		rc = -EBADMSG;
	if (!rc && !(seen & GSM__KEY_BIT(GSM_WK_ADVERT_NODE_ID)))
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
	case GSM_WK_ADVERT_NODE_ID:
		return gsm__rd_bin_fixed(r, c->node_id, GSM_ID_LEN);
	case GSM_WK_ADVERT_GENERATION:
		return gsm__rd_uint(r, UINT64_MAX, c->generation);
	case GSM_WK_ADVERT_VERSION:
		return gsm__rd_uint(r, UINT64_MAX, c->version);
	}
	return gsm__rd_skip(r, 1);
}

/* Reads node id, generation and version from a body, skipping the rest
 * structurally (no field validation). */
static int advert_body_peek(const uint8_t *p, size_t len, uint8_t node_id[GSM_ID_LEN],
			    uint64_t *generation, uint64_t *version)
{
	struct rd r = {p, p + len};
	struct peek_ctx c = {node_id, generation, version};
	uint32_t seen;
	int rc;

	*generation = 0;
	*version = 0;
	rc = gsm__rd_map(&r, GSM_WK_ADVERT_VERSION + 1, peek_field, &c, &seen);
	if (!rc && r.p != r.end)
		rc = -EBADMSG;
	if (!rc && !(seen & GSM__KEY_BIT(GSM_WK_ADVERT_NODE_ID)))
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

int gsm__advert_parts(const uint8_t *signed_adv, size_t len, const uint8_t **body, size_t *body_len,
		      const uint8_t **sig, uint8_t node_id[GSM_ID_LEN])
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
