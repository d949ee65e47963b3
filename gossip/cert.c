/*
 * gossip/cert.c - the certificate and revocation codec: canonical bodies,
 * signing and signature checks (gossip/cert.h; docs/protocol.md,
 * Certificates).
 *
 * A certificate is a security statement, so it must mean exactly one
 * thing to every reader.  Three rules get us there.  First, one
 * certificate has one encoding: the encoder normalises (prefixes masked,
 * sorted and unique; labels sorted by unique key; empty and zero optional
 * fields omitted; integers shortest) and the decoder refuses anything
 * else - after parsing it re-encodes the decoded struct and demands the
 * same bytes, which checks every canonical rule at once and keeps the two
 * sides from drifting apart.  Second, unlike the advert, a certificate
 * has no unknown keys: an old node that skipped a constraint it does not
 * understand would grant more than the issuer signed, so an unknown key
 * is malformed (a new field needs a new kind or a new signature domain).
 * Third, each kind has its own set of allowed fields; a NODE
 * certificate with a max_lifetime or a JOIN certificate with a name is
 * -EINVAL, never silently ignored.
 *
 * Signatures are Ed25519 over a domain prefix and the body bytes
 * ("gossamer cert v1\0" || body, "gossamer revoke v1\0" || body) so no
 * certificate signature can pass for an advert, a claim or a revocation.
 * The chain rule, delegation and coverage live in cert_chain.c, the text
 * form in cert_pem.c.
 *
 * Trade-off: re-encoding on decode costs a second pass over at most a
 * kilobyte; in return the canonical-form check cannot miss a case.
 */
#include "gossip/cert.h"
#include "gossip/wire_internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char cert_domain[] = "gossamer cert v1";  /* signed with its NUL */
static const char rev_domain[] = "gossamer revoke v1"; /* signed with its NUL */

/* Every required key of a certificate. */
#define CERT_REQUIRED                                                                              \
	(GSM__KEY_BIT(GSM_WK_CERT_KIND) | GSM__KEY_BIT(GSM_WK_CERT_SUBJECT) |                      \
	 GSM__KEY_BIT(GSM_WK_CERT_ISSUER) | GSM__KEY_BIT(GSM_WK_CERT_SERIAL) |                     \
	 GSM__KEY_BIT(GSM_WK_CERT_NOT_BEFORE) | GSM__KEY_BIT(GSM_WK_CERT_NOT_AFTER))
#define CERT_NODE_ONLY (GSM__KEY_BIT(GSM_WK_CERT_NAME) | GSM__KEY_BIT(GSM_WK_CERT_OVERLAY4))
#define CERT_JOIN_ONLY GSM__KEY_BIT(GSM_WK_CERT_MAX_LIFETIME)
#define REV_REQUIRED                                                                               \
	(GSM__KEY_BIT(GSM_WK_REV_ISSUER) | GSM__KEY_BIT(GSM_WK_REV_ISSUED_AT) |                    \
	 GSM__KEY_BIT(GSM_WK_REV_EXPIRES))

/* ------------------------------------------------------------------ */
/* normalisation                                                       */

static size_t ip_len(const struct gsm_prefix *p)
{
	return p->family == 4 ? 4 : 16;
}

/* Clear the host bits (and the unused bytes of an IPv4 prefix). */
static void prefix_mask(struct gsm_prefix *p)
{
	size_t n = ip_len(p);

	for (size_t i = 0; i < sizeof(p->ip); i++) {
		unsigned bit = (unsigned)i * 8;
		if (i >= n || bit >= p->len)
			p->ip[i] = 0;
		else if (p->len - bit < 8)
			p->ip[i] &= (uint8_t)(0xff << (8 - (p->len - bit)));
	}
}

/* Canonical order: family, then address bytes, then length. */
static int prefix_cmp(const void *a, const void *b)
{
	const struct gsm_prefix *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	c = memcmp(x->ip, y->ip, ip_len(x));
	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct gsm_label *)a)->key, ((const struct gsm_label *)b)->key);
}

/* The fields a kind allows and requires. */
static int cert_check_kind(const struct gsm_cert *c)
{
	if (c->roles & ~GSM_ROLE_ALL || c->flags & ~GSM_CERT_F_EPHEMERAL)
		return -EINVAL;
	if (c->kind == GSM_CERT_NODE) {
		if (!gsm__text_valid(c->name, GSM_MAX_NAME, 0) || c->max_lifetime)
			return -EINVAL;
		if (c->has_overlay4 && (c->overlay4.family != 4 || c->overlay4.len != 32))
			return -EINVAL;
		return 0;
	}
	if (c->kind == GSM_CERT_JOIN) {
		if (c->name[0] || c->has_overlay4 || !c->max_lifetime)
			return -EINVAL;
		return c->roles & GSM_ROLE_EXIT ? -EINVAL : 0;
	}
	return -EINVAL;
}

int gsm_cert_normalize(struct gsm_cert *c)
{
	int rc;

	if (!c)
		return -EINVAL;
	c->has_overlay4 = c->has_overlay4 != 0;
	if (c->kind == GSM_CERT_JOIN)
		c->name[sizeof(c->name) - 1] = 0;
	rc = cert_check_kind(c);
	if (rc)
		return rc;
	if (c->not_after <= c->not_before || c->n_prefixes > GSM_CERT_MAX_PREFIXES ||
	    c->n_labels > GSM_CERT_MAX_LABELS)
		return -EINVAL;
	if (c->has_overlay4)
		prefix_mask(&c->overlay4); /* a /32: only the unused bytes */
	for (size_t i = 0; i < c->n_prefixes; i++) {
		if (!prefix_valid(&c->prefixes[i]))
			return -EINVAL;
		prefix_mask(&c->prefixes[i]);
	}
	qsort(c->prefixes, c->n_prefixes, sizeof(c->prefixes[0]), prefix_cmp);
	for (size_t i = 1; i < c->n_prefixes; i++)
		if (prefix_cmp(&c->prefixes[i - 1], &c->prefixes[i]) == 0)
			return -EINVAL;
	for (size_t i = 0; i < c->n_labels; i++)
		if (!gsm__text_valid(c->labels[i].key, GSM_MAX_LABEL_KEY, 0) ||
		    !gsm__text_valid(c->labels[i].value, GSM_MAX_LABEL_VALUE, 1))
			return -EINVAL;
	qsort(c->labels, c->n_labels, sizeof(c->labels[0]), label_cmp);
	for (size_t i = 1; i < c->n_labels; i++)
		if (label_cmp(&c->labels[i - 1], &c->labels[i]) == 0)
			return -EINVAL;
	return 0;
}

/* ------------------------------------------------------------------ */
/* encoding                                                            */

/* c must be normalised. */
static void put_cert(msgpack_packer *pk, const struct gsm_cert *c)
{
	int node = c->kind == GSM_CERT_NODE;
	size_t n = 6 + (size_t)node + (size_t)!node;

	n += c->has_overlay4 + (c->n_prefixes != 0) + (c->roles != 0) + (c->n_labels != 0);
	n += c->flags != 0;
	msgpack_pack_map(pk, n);
	put_uint(pk, GSM_WK_CERT_KIND);
	put_uint(pk, c->kind);
	put_uint(pk, GSM_WK_CERT_SUBJECT);
	put_bin(pk, c->subject, GSM_ID_LEN);
	put_uint(pk, GSM_WK_CERT_ISSUER);
	put_bin(pk, c->issuer, GSM_ID_LEN);
	put_uint(pk, GSM_WK_CERT_SERIAL);
	put_uint(pk, c->serial);
	put_uint(pk, GSM_WK_CERT_NOT_BEFORE);
	put_uint(pk, c->not_before);
	put_uint(pk, GSM_WK_CERT_NOT_AFTER);
	put_uint(pk, c->not_after);
	if (node) {
		put_uint(pk, GSM_WK_CERT_NAME);
		put_str(pk, c->name);
	}
	if (c->has_overlay4) {
		put_uint(pk, GSM_WK_CERT_OVERLAY4);
		put_prefix(pk, &c->overlay4);
	}
	if (c->n_prefixes) {
		put_uint(pk, GSM_WK_CERT_PREFIXES);
		put_prefix_list(pk, c->prefixes, c->n_prefixes);
	}
	if (c->roles) {
		put_uint(pk, GSM_WK_CERT_ROLES);
		put_uint(pk, c->roles);
	}
	if (c->n_labels) {
		put_uint(pk, GSM_WK_CERT_LABELS);
		msgpack_pack_array(pk, c->n_labels);
		for (size_t i = 0; i < c->n_labels; i++)
			put_label(pk, &c->labels[i]);
	}
	if (!node) {
		put_uint(pk, GSM_WK_CERT_MAX_LIFETIME);
		put_uint(pk, c->max_lifetime);
	}
	if (c->flags) {
		put_uint(pk, GSM_WK_CERT_FLAGS);
		put_uint(pk, c->flags);
	}
}

static void put_revocation(msgpack_packer *pk, const struct gsm_revocation *r)
{
	msgpack_pack_map(pk, 4);
	put_uint(pk, GSM_WK_REV_ISSUER);
	put_bin(pk, r->issuer, GSM_ID_LEN);
	if (r->has_serial) {
		put_uint(pk, GSM_WK_REV_SERIAL);
		put_uint(pk, r->serial);
	} else {
		put_uint(pk, GSM_WK_REV_SUBJECT);
		put_bin(pk, r->subject, GSM_ID_LEN);
	}
	put_uint(pk, GSM_WK_REV_ISSUED_AT);
	put_uint(pk, r->issued_at);
	put_uint(pk, GSM_WK_REV_EXPIRES);
	put_uint(pk, r->expires);
}

static int cert_body(const struct gsm_cert *c, uint8_t *buf, size_t cap, size_t *len)
{
	struct wbuf w = {.buf = buf, .cap = cap};
	msgpack_packer pk;

	msgpack_packer_init(&pk, &w, wbuf_write);
	put_cert(&pk, c);
	*len = w.len;
	return w.err;
}

static int rev_body(const struct gsm_revocation *r, uint8_t *buf, size_t cap, size_t *len)
{
	struct wbuf w = {.buf = buf, .cap = cap};
	msgpack_packer pk;

	msgpack_packer_init(&pk, &w, wbuf_write);
	put_revocation(&pk, r);
	*len = w.len;
	return w.err;
}

/* Size of [bin body, bin sig] for a body of n bytes (shortest headers). */
static size_t wrap_size(size_t n)
{
	return 1 + (n < 256 ? 2 : 3) + n + 2 + GSM_SIG_LEN;
}

/* Sign domain||body with id and write [body, sig] to out (max bytes). */
static int sign_wrap(const char *domain, const uint8_t *body, size_t blen,
		     const struct gsm_identity *id, size_t max, uint8_t *out, size_t cap,
		     size_t *len)
{
	uint8_t msg[sizeof(rev_domain) + GSM_CERT_MAX];
	size_t dlen = strlen(domain) + 1;
	uint8_t sig[GSM_SIG_LEN];
	struct wbuf w = {.buf = out, .cap = cap};
	msgpack_packer pk;
	int rc;

	if (wrap_size(blen) > max)
		return -EMSGSIZE;
	memcpy(msg, domain, dlen);
	memcpy(msg + dlen, body, blen);
	rc = gsm_sign(id, msg, dlen + blen, sig);
	if (rc)
		return rc;
	msgpack_packer_init(&pk, &w, wbuf_write);
	msgpack_pack_array(&pk, GSM_WK_SIGNED_COUNT);
	put_bin(&pk, body, blen);
	put_bin(&pk, sig, GSM_SIG_LEN);
	if (w.err)
		return w.err;
	*len = w.len;
	return 0;
}

int gsm_cert_sign(struct gsm_cert *c, const struct gsm_identity *issuer, uint8_t *out, size_t cap,
		  size_t *len)
{
	uint8_t body[GSM_CERT_MAX];
	size_t blen;
	int rc;

	if (!c || !issuer || !out || !len)
		return -EINVAL;
	if (sodium_memcmp(c->issuer, gsm_identity_public(issuer), GSM_ID_LEN) != 0)
		return -EINVAL;
	rc = gsm_cert_normalize(c);
	if (rc)
		return rc;
	rc = cert_body(c, body, sizeof(body), &blen);
	if (rc)
		return rc;
	return sign_wrap(cert_domain, body, blen, issuer, GSM_CERT_MAX, out, cap, len);
}

static int rev_check(const struct gsm_revocation *r)
{
	return (r->has_serial != 0) == (r->has_subject != 0) ? -EINVAL : 0;
}

int gsm_revocation_sign(const struct gsm_revocation *r, const struct gsm_identity *issuer,
			uint8_t *out, size_t cap, size_t *len)
{
	uint8_t body[GSM_REVOCATION_MAX];
	size_t blen;
	int rc;

	if (!r || !issuer || !out || !len)
		return -EINVAL;
	if (sodium_memcmp(r->issuer, gsm_identity_public(issuer), GSM_ID_LEN) != 0)
		return -EINVAL;
	rc = rev_check(r);
	if (!rc)
		rc = rev_body(r, body, sizeof(body), &blen);
	if (rc)
		return rc;
	return sign_wrap(rev_domain, body, blen, issuer, GSM_REVOCATION_MAX, out, cap, len);
}

/* ------------------------------------------------------------------ */
/* decoding                                                            */

/* Split [body, sig] (canonical headers, nothing after it). */
static int split_signed(const uint8_t *p, size_t len, size_t max, struct tok *body,
			const uint8_t **sig)
{
	int rc = gsm__rd_signed(p, len, max, body, sig);

	if (!rc && len != wrap_size(body->len))
		rc = -EBADMSG;
	return rc;
}

/* A map with keys < nkeys in strictly ascending order, nothing unknown. */
static int rd_strict_map(struct rd *r, unsigned nkeys, gsm__field_fn fn, void *ctx, uint32_t *seen)
{
	struct tok t;
	uint32_t n;
	int last = -1;
	int rc = gsm__rd_container(r, T_MAP, nkeys, &n);

	*seen = 0;
	if (rc)
		return -EBADMSG;
	for (uint32_t i = 0; i < n; i++) {
		rc = gsm__rd_next(r, &t);
		if (rc)
			return rc;
		if (t.kind != T_UINT || t.u >= nkeys || (int)t.u <= last)
			return -EBADMSG;
		last = (int)t.u;
		*seen |= GSM__KEY_BIT(last);
		rc = fn(r, (unsigned)last, ctx);
		if (rc)
			return rc;
	}
	return 0;
}

static int cert_field(struct rd *r, unsigned key, void *ctx)
{
	struct gsm_cert *c = ctx;
	uint64_t v = 0;
	int rc;

	switch (key) {
	case GSM_WK_CERT_KIND:
		rc = gsm__rd_uint(r, GSM_CERT_JOIN, &v);
		c->kind = (uint8_t)v;
		return rc ? rc : (v == 0 ? -EBADMSG : 0);
	case GSM_WK_CERT_SUBJECT:
		return gsm__rd_bin_fixed(r, c->subject, GSM_ID_LEN);
	case GSM_WK_CERT_ISSUER:
		return gsm__rd_bin_fixed(r, c->issuer, GSM_ID_LEN);
	case GSM_WK_CERT_SERIAL:
		return gsm__rd_uint(r, UINT64_MAX, &c->serial);
	case GSM_WK_CERT_NOT_BEFORE:
		return gsm__rd_uint(r, UINT64_MAX, &c->not_before);
	case GSM_WK_CERT_NOT_AFTER:
		return gsm__rd_uint(r, UINT64_MAX, &c->not_after);
	case GSM_WK_CERT_NAME:
		return gsm__rd_text(r, c->name, GSM_MAX_NAME, 0);
	case GSM_WK_CERT_OVERLAY4:
		c->has_overlay4 = 1;
		return gsm__rd_prefix(r, &c->overlay4);
	case GSM_WK_CERT_PREFIXES:
		return gsm__rd_prefix_list(r, c->prefixes, GSM_CERT_MAX_PREFIXES, &c->n_prefixes);
	case GSM_WK_CERT_ROLES:
		rc = gsm__rd_uint(r, UINT32_MAX, &v);
		c->roles = (uint32_t)v;
		return rc;
	case GSM_WK_CERT_LABELS:
		return gsm__rd_label_list(r, c->labels, GSM_CERT_MAX_LABELS, &c->n_labels);
	case GSM_WK_CERT_MAX_LIFETIME:
		return gsm__rd_uint(r, UINT64_MAX, &c->max_lifetime);
	case GSM_WK_CERT_FLAGS:
		rc = gsm__rd_uint(r, UINT32_MAX, &v);
		c->flags = (uint32_t)v;
		return rc;
	}
	return -EBADMSG;
}

/* The decoded struct must re-encode to exactly the body it came from. */
static int cert_canonical(const struct gsm_cert *c, const uint8_t *body, size_t blen)
{
	struct gsm_cert n = *c;
	uint8_t buf[GSM_CERT_MAX];
	size_t len;

	if (gsm_cert_normalize(&n))
		return -EBADMSG;
	if (cert_body(&n, buf, sizeof(buf), &len) || len != blen || memcmp(buf, body, len))
		return -EBADMSG;
	return 0;
}

static int cert_body_decode(const uint8_t *p, size_t len, struct gsm_cert *c)
{
	struct rd r = {p, p + len};
	uint32_t seen, forbidden;
	int rc;

	rc = rd_strict_map(&r, GSM_WK_CERT_COUNT, cert_field, c, &seen);
	if (!rc && r.p != r.end)
		rc = -EBADMSG;
	if (!rc && (seen & CERT_REQUIRED) != CERT_REQUIRED)
		rc = -EBADMSG;
	if (rc)
		return rc;
	forbidden = c->kind == GSM_CERT_NODE ? CERT_JOIN_ONLY : CERT_NODE_ONLY;
	if (seen & forbidden)
		return -EINVAL;
	if (c->kind == GSM_CERT_NODE && !(seen & GSM__KEY_BIT(GSM_WK_CERT_NAME)))
		return -EBADMSG;
	if (c->kind == GSM_CERT_JOIN && !(seen & GSM__KEY_BIT(GSM_WK_CERT_MAX_LIFETIME)))
		return -EBADMSG;
	if (c->kind == GSM_CERT_JOIN && c->roles & GSM_ROLE_EXIT)
		return -EINVAL;
	return cert_canonical(c, p, len);
}

int gsm_cert_decode(const uint8_t *signed_cert, size_t len, struct gsm_cert *c)
{
	struct tok body;
	const uint8_t *sig;
	int rc;

	if (!c)
		return -EINVAL;
	memset(c, 0, sizeof(*c));
	rc = split_signed(signed_cert, len, GSM_CERT_MAX, &body, &sig);
	if (!rc)
		rc = cert_body_decode(body.ptr, body.len, c);
	if (rc)
		memset(c, 0, sizeof(*c));
	return rc;
}

static int verify_domain(const char *domain, const uint8_t *body, size_t blen, const uint8_t *sig,
			 const uint8_t issuer[GSM_ID_LEN])
{
	uint8_t msg[sizeof(rev_domain) + GSM_CERT_MAX];
	size_t dlen = strlen(domain) + 1;

	if (blen > GSM_CERT_MAX)
		return -EBADMSG;
	memcpy(msg, domain, dlen);
	memcpy(msg + dlen, body, blen);
	return gsm_verify(issuer, msg, dlen + blen, sig);
}

int gsm_cert_verify_sig(const uint8_t *signed_cert, size_t len)
{
	struct gsm_cert c;
	struct tok body;
	const uint8_t *sig;
	int rc;

	rc = gsm_cert_decode(signed_cert, len, &c);
	if (!rc)
		rc = split_signed(signed_cert, len, GSM_CERT_MAX, &body, &sig);
	if (rc)
		return rc == -EINVAL && !signed_cert ? -EINVAL : -EBADMSG;
	return verify_domain(cert_domain, body.ptr, body.len, sig, c.issuer);
}

/* ------------------------------------------------------------------ */
/* revocations                                                         */

static int rev_field(struct rd *r, unsigned key, void *ctx)
{
	struct gsm_revocation *v = ctx;

	switch (key) {
	case GSM_WK_REV_ISSUER:
		return gsm__rd_bin_fixed(r, v->issuer, GSM_ID_LEN);
	case GSM_WK_REV_SERIAL:
		v->has_serial = 1;
		return gsm__rd_uint(r, UINT64_MAX, &v->serial);
	case GSM_WK_REV_SUBJECT:
		v->has_subject = 1;
		return gsm__rd_bin_fixed(r, v->subject, GSM_ID_LEN);
	case GSM_WK_REV_ISSUED_AT:
		return gsm__rd_uint(r, UINT64_MAX, &v->issued_at);
	case GSM_WK_REV_EXPIRES:
		return gsm__rd_uint(r, UINT64_MAX, &v->expires);
	}
	return -EBADMSG;
}

static int rev_body_decode(const uint8_t *p, size_t len, struct gsm_revocation *v)
{
	struct rd r = {p, p + len};
	uint8_t buf[GSM_REVOCATION_MAX];
	size_t blen;
	uint32_t seen;
	int rc;

	rc = rd_strict_map(&r, GSM_WK_REV_COUNT, rev_field, v, &seen);
	if (!rc && (r.p != r.end || (seen & REV_REQUIRED) != REV_REQUIRED || rev_check(v)))
		rc = -EBADMSG;
	if (rc)
		return rc;
	if (rev_body(v, buf, sizeof(buf), &blen) || blen != len || memcmp(buf, p, len))
		return -EBADMSG; /* integers not in their shortest form */
	return 0;
}

int gsm_revocation_decode(const uint8_t *signed_rev, size_t len, struct gsm_revocation *r)
{
	struct tok body;
	const uint8_t *sig;
	int rc;

	if (!r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	rc = split_signed(signed_rev, len, GSM_REVOCATION_MAX, &body, &sig);
	if (!rc)
		rc = rev_body_decode(body.ptr, body.len, r);
	if (rc)
		memset(r, 0, sizeof(*r));
	return rc;
}

int gsm_revocation_verify(const uint8_t *signed_rev, size_t len,
			  const uint8_t (*authorities)[GSM_ID_LEN], size_t n_authorities,
			  struct gsm_revocation *r)
{
	struct gsm_revocation tmp;
	struct gsm_revocation *v = r ? r : &tmp;
	struct tok body;
	const uint8_t *sig;
	size_t i;
	int rc;

	rc = gsm_revocation_decode(signed_rev, len, v);
	if (!rc)
		rc = split_signed(signed_rev, len, GSM_REVOCATION_MAX, &body, &sig);
	if (rc)
		return rc;
	for (i = 0; i < n_authorities; i++)
		if (memcmp(authorities[i], v->issuer, GSM_ID_LEN) == 0)
			break;
	if (i == n_authorities)
		rc = -EKEYREJECTED;
	else
		rc = verify_domain(rev_domain, body.ptr, body.len, sig, v->issuer);
	if (rc)
		memset(v, 0, sizeof(*v));
	return rc;
}

void gsm_revocation_id(const uint8_t *signed_rev, size_t len, uint8_t id[16])
{
	crypto_generichash(id, 16, signed_rev, len, NULL, 0);
}
