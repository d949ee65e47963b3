/* tests/unit/test_cert.c - certificates, delegations, chains, revocations,
 * coverage and PEM blocks (gossip/cert.h), and the advert's chain (key 13). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>
#include <sodium.h>

#include "gossip/cert.h"
#include "gossip/crypto.h"
#include "gossip/wire.h"
#include "tests/unit/fixtures.h"

static struct gsm_identity *auth, *auth2, *node, *joinkey;

static int setup(void **state)
{
	(void)state;
	assert_int_equal(gsm_crypto_init(), 0);
	auth = fx_identity(9001);
	auth2 = fx_identity(9002);
	node = fx_identity(9003);
	joinkey = fx_identity(9004);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	gsm_identity_free(auth);
	gsm_identity_free(auth2);
	gsm_identity_free(node);
	gsm_identity_free(joinkey);
	return 0;
}

static const uint8_t *pk(const struct gsm_identity *id)
{
	return gsm_identity_public(id);
}

struct signed_cert {
	uint8_t b[GSM_CERT_MAX];
	size_t len;
};

/* Sign c with id (asserting success). */
static void sign(struct gsm_cert *c, const struct gsm_identity *id, struct signed_cert *out)
{
	assert_int_equal(gsm_cert_sign(c, id, out->b, sizeof(out->b), &out->len), 0);
}

/* A node certificate signed directly by the authority. */
static void direct_leaf(struct gsm_cert *c, struct signed_cert *out)
{
	fx_cert_node(c, pk(node), pk(auth));
	sign(c, auth, out);
}

/* A chain: node certificate by the join key + JOIN certificate by auth. */
static void join_chain(struct gsm_cert *leaf, struct gsm_cert *join, struct signed_cert *s)
{
	fx_cert_join(join, pk(joinkey), pk(auth));
	sign(join, auth, &s[1]);
	fx_cert_node(leaf, pk(node), pk(joinkey));
	sign(leaf, joinkey, &s[0]);
}

/* ------------------------------------------------------------------ */
/* codec                                                               */

static void test_cert_roundtrip(void **state)
{
	struct gsm_cert c, d;
	struct signed_cert s, t;

	(void)state;
	direct_leaf(&c, &s);
	assert_int_equal(gsm_cert_decode(s.b, s.len, &d), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	/* normalised: sorted prefixes (IPv4 first) and labels */
	assert_int_equal(d.prefixes[0].family, 4);
	assert_string_equal(d.labels[0].key, "env");
	assert_int_equal(gsm_cert_verify_sig(s.b, s.len), 0);
	/* deterministic: the same certificate gives the same bytes */
	sign(&d, auth, &t);
	assert_int_equal(t.len, s.len);
	assert_memory_equal(t.b, s.b, s.len);

	fx_cert_join(&c, pk(joinkey), pk(auth));
	c.flags = GSM_CERT_F_EPHEMERAL;
	sign(&c, auth, &s);
	assert_int_equal(gsm_cert_decode(s.b, s.len, &d), 0);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_int_equal(d.max_lifetime, 30 * FX_DAY);
	assert_int_equal(gsm_cert_verify_sig(s.b, s.len), 0);
}

static void test_cert_normalize(void **state)
{
	struct gsm_cert c;

	(void)state;
	fx_cert_node(&c, pk(node), pk(auth));
	assert_int_equal(gsm_prefix_parse("192.168.10.77/24", &c.prefixes[1]), 0);
	assert_int_equal(gsm_cert_normalize(&c), 0);
	assert_int_equal(c.prefixes[0].ip[3], 0); /* host bits cleared */
	assert_string_equal(c.labels[1].key, "site");

	fx_cert_node(&c, pk(node), pk(auth));
	c.prefixes[0] = c.prefixes[1];
	c.prefixes[0].ip[3] = 9; /* same network after masking */
	assert_int_equal(gsm_cert_normalize(&c), -EINVAL);
	fx_cert_node(&c, pk(node), pk(auth));
	strcpy(c.labels[1].key, "site");
	assert_int_equal(gsm_cert_normalize(&c), -EINVAL); /* duplicate label key */
	fx_cert_node(&c, pk(node), pk(auth));
	strcpy(c.labels[0].value, "a\x01");
	assert_int_equal(gsm_cert_normalize(&c), -EINVAL);
	fx_cert_node(&c, pk(node), pk(auth));
	c.not_after = c.not_before;
	assert_int_equal(gsm_cert_normalize(&c), -EINVAL);
	fx_cert_node(&c, pk(node), pk(auth));
	c.name[0] = 0;
	assert_int_equal(gsm_cert_normalize(&c), -EINVAL);
	fx_cert_node(&c, pk(node), pk(auth));
	c.overlay4.len = 24;
	assert_int_equal(gsm_cert_normalize(&c), -EINVAL);
	fx_cert_node(&c, pk(node), pk(auth));
	c.roles = 0x8;
	assert_int_equal(gsm_cert_normalize(&c), -EINVAL);
	fx_cert_node(&c, pk(node), pk(auth));
	c.max_lifetime = 1; /* JOIN only */
	assert_int_equal(gsm_cert_normalize(&c), -EINVAL);
	fx_cert_join(&c, pk(joinkey), pk(auth));
	c.roles |= GSM_ROLE_EXIT;
	assert_int_equal(gsm_cert_normalize(&c), -EINVAL);
	fx_cert_join(&c, pk(joinkey), pk(auth));
	strcpy(c.name, "x"); /* NODE only */
	assert_int_equal(gsm_cert_normalize(&c), -EINVAL);
	c.kind = 3;
	assert_int_equal(gsm_cert_normalize(&c), -EINVAL);
}

static void test_cert_sign_args(void **state)
{
	struct gsm_cert c;
	uint8_t out[GSM_CERT_MAX];
	size_t len;

	(void)state;
	fx_cert_node(&c, pk(node), pk(auth));
	assert_int_equal(gsm_cert_sign(&c, auth2, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(gsm_cert_sign(&c, auth, out, 100, &len), -EMSGSIZE);
	/* the largest labels do not fit one certificate */
	c.n_labels = GSM_CERT_MAX_LABELS;
	for (int i = 0; i < GSM_CERT_MAX_LABELS; i++) {
		memset(c.labels[i].key, 'a' + i, GSM_MAX_LABEL_KEY);
		c.labels[i].key[GSM_MAX_LABEL_KEY] = 0;
		memset(c.labels[i].value, 'v', GSM_MAX_LABEL_VALUE);
		c.labels[i].value[GSM_MAX_LABEL_VALUE] = 0;
	}
	assert_int_equal(gsm_cert_sign(&c, auth, out, sizeof(out), &len), -EMSGSIZE);
}

/* ---- hand-built bodies for the canonical-form checks ---- */

enum kv_type { KV_UINT, KV_WIDE, KV_BIN, KV_STR, KV_PREFIXES, KV_LABELS };

struct kv {
	int key;
	enum kv_type type;
	uint64_t u;
	const void *p; /* KV_BIN bytes, KV_STR text, KV_PREFIXES / KV_LABELS strings */
	size_t n;      /* KV_BIN length, KV_PREFIXES / KV_LABELS count */
};

static int sbuf_write(void *data, const char *p, size_t n)
{
	return msgpack_sbuffer_write(data, p, n);
}

static void pack_value(msgpack_packer *pk, const struct kv *e)
{
	const char *const *s = e->p;
	uint8_t b[17];
	struct gsm_prefix pf;

	switch (e->type) {
	case KV_UINT:
		msgpack_pack_uint64(pk, e->u);
		break;
	case KV_WIDE: /* not the shortest form */
		b[0] = 0xcf;
		for (int i = 0; i < 8; i++)
			b[1 + i] = (uint8_t)(e->u >> (56 - 8 * i));
		sbuf_write(pk->data, (const char *)b, 9);
		break;
	case KV_BIN:
		msgpack_pack_bin(pk, e->n);
		msgpack_pack_bin_body(pk, e->p, e->n);
		break;
	case KV_STR:
		msgpack_pack_str(pk, strlen(e->p));
		msgpack_pack_str_body(pk, e->p, strlen(e->p));
		break;
	case KV_PREFIXES:
		msgpack_pack_array(pk, e->n);
		for (size_t i = 0; i < e->n; i++) {
			assert_int_equal(gsm_prefix_parse(s[i], &pf), 0);
			size_t n = pf.family == 4 ? 4 : 16;
			memcpy(b, pf.ip, n);
			b[n] = pf.len;
			msgpack_pack_bin(pk, n + 1);
			msgpack_pack_bin_body(pk, b, n + 1);
		}
		break;
	case KV_LABELS:
		msgpack_pack_array(pk, e->n);
		for (size_t i = 0; i < e->n; i++) {
			msgpack_pack_array(pk, 2);
			msgpack_pack_str(pk, strlen(s[2 * i]));
			msgpack_pack_str_body(pk, s[2 * i], strlen(s[2 * i]));
			msgpack_pack_str(pk, strlen(s[2 * i + 1]));
			msgpack_pack_str_body(pk, s[2 * i + 1], strlen(s[2 * i + 1]));
		}
		break;
	}
}

/* [body, sig] with the body from kv[0..n) in the given order, signed by
 * `signer` over the certificate domain (or a zero signature if NULL). */
static size_t build(const struct kv *kv, size_t n, const struct gsm_identity *signer,
		    const char *domain, uint8_t *out, size_t cap)
{
	msgpack_sbuffer body, all;
	msgpack_packer pk;
	uint8_t sig[GSM_SIG_LEN] = {0};
	uint8_t msg[2048];
	size_t len, dl;

	msgpack_sbuffer_init(&body);
	msgpack_packer_init(&pk, &body, sbuf_write);
	msgpack_pack_map(&pk, n);
	for (size_t i = 0; i < n; i++) {
		msgpack_pack_uint64(&pk, (uint64_t)kv[i].key);
		pack_value(&pk, &kv[i]);
	}
	if (signer) {
		dl = strlen(domain) + 1;
		memcpy(msg, domain, dl);
		memcpy(msg + dl, body.data, body.size);
		assert_int_equal(gsm_sign(signer, msg, dl + body.size, sig), 0);
	}
	msgpack_sbuffer_init(&all);
	msgpack_packer_init(&pk, &all, sbuf_write);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_bin(&pk, body.size);
	msgpack_pack_bin_body(&pk, body.data, body.size);
	msgpack_pack_bin(&pk, GSM_SIG_LEN);
	msgpack_pack_bin_body(&pk, sig, GSM_SIG_LEN);
	assert_true(all.size <= cap);
	memcpy(out, all.data, all.size);
	len = all.size;
	msgpack_sbuffer_destroy(&body);
	msgpack_sbuffer_destroy(&all);
	return len;
}

static uint8_t kv_subject[GSM_ID_LEN], kv_issuer[GSM_ID_LEN];

/* The required fields of a NODE certificate, canonical. */
static size_t node_kv(struct kv *kv)
{
	memcpy(kv_subject, pk(node), GSM_ID_LEN);
	memcpy(kv_issuer, pk(auth), GSM_ID_LEN);
	kv[0] = (struct kv){GSM_WK_CERT_KIND, KV_UINT, GSM_CERT_NODE, NULL, 0};
	kv[1] = (struct kv){GSM_WK_CERT_SUBJECT, KV_BIN, 0, kv_subject, GSM_ID_LEN};
	kv[2] = (struct kv){GSM_WK_CERT_ISSUER, KV_BIN, 0, kv_issuer, GSM_ID_LEN};
	kv[3] = (struct kv){GSM_WK_CERT_SERIAL, KV_UINT, 7, NULL, 0};
	kv[4] = (struct kv){GSM_WK_CERT_NOT_BEFORE, KV_UINT, 100, NULL, 0};
	kv[5] = (struct kv){GSM_WK_CERT_NOT_AFTER, KV_UINT, 200, NULL, 0};
	kv[6] = (struct kv){GSM_WK_CERT_NAME, KV_STR, 0, "n", 0};
	return 7;
}

static int decode_kv(const struct kv *kv, size_t n)
{
	uint8_t b[4096];
	size_t len = build(kv, n, NULL, "", b, sizeof(b));
	struct gsm_cert c;

	return gsm_cert_decode(b, len, &c);
}

static void test_cert_canonical_refused(void **state)
{
	static const char *const sorted[] = {"10.0.0.0/8", "192.168.0.0/16"};
	static const char *const unsorted[] = {"192.168.0.0/16", "10.0.0.0/8"};
	static const char *const dup[] = {"10.0.0.0/8", "10.0.0.0/8"};
	static const char *const host[] = {"10.0.0.1/8"};
	static const char *const lab_ok[] = {"a", "1", "b", "2"};
	static const char *const lab_unsorted[] = {"b", "2", "a", "1"};
	static const char *const lab_dup[] = {"a", "1", "a", "2"};
	struct kv kv[16], t;
	size_t n;

	(void)state;
	n = node_kv(kv);
	assert_int_equal(decode_kv(kv, n), 0);
	kv[n] = (struct kv){GSM_WK_CERT_PREFIXES, KV_PREFIXES, 0, sorted, 2};
	kv[n + 1] = (struct kv){GSM_WK_CERT_LABELS, KV_LABELS, 0, lab_ok, 2};
	assert_int_equal(decode_kv(kv, n + 2), 0);
	kv[n].p = unsorted;
	assert_int_equal(decode_kv(kv, n + 2), -EBADMSG);
	kv[n].p = dup;
	assert_int_equal(decode_kv(kv, n + 2), -EBADMSG);
	kv[n].p = host;
	kv[n].n = 1;
	assert_int_equal(decode_kv(kv, n + 2), -EBADMSG);
	kv[n].n = 0; /* an empty array is omitted, never sent */
	assert_int_equal(decode_kv(kv, n + 2), -EBADMSG);
	kv[n] = (struct kv){GSM_WK_CERT_PREFIXES, KV_PREFIXES, 0, sorted, 2};
	kv[n + 1].p = lab_unsorted;
	assert_int_equal(decode_kv(kv, n + 2), -EBADMSG);
	kv[n + 1].p = lab_dup;
	assert_int_equal(decode_kv(kv, n + 2), -EBADMSG);

	n = node_kv(kv);
	t = kv[1]; /* keys out of order */
	kv[1] = kv[2];
	kv[2] = t;
	assert_int_equal(decode_kv(kv, n), -EBADMSG);
	n = node_kv(kv);
	kv[n] = kv[n - 1]; /* a key twice */
	assert_int_equal(decode_kv(kv, n + 1), -EBADMSG);
	kv[n] = (struct kv){GSM_WK_CERT_COUNT, KV_UINT, 1, NULL, 0}; /* unknown key */
	assert_int_equal(decode_kv(kv, n + 1), -EBADMSG);
	kv[n] = (struct kv){GSM_WK_CERT_ROLES, KV_UINT, 0, NULL, 0}; /* zero: omitted */
	assert_int_equal(decode_kv(kv, n + 1), -EBADMSG);
	kv[3].type = KV_WIDE; /* serial 7 as a uint64 */
	assert_int_equal(decode_kv(kv, n), -EBADMSG);
	n = node_kv(kv);
	assert_int_equal(decode_kv(kv, n - 2), -EBADMSG); /* no not_after, no name */
	kv[5].u = 100;					  /* not_after == not_before */
	assert_int_equal(decode_kv(kv, n), -EBADMSG);
	n = node_kv(kv);
	kv[0].u = 3; /* unknown kind */
	assert_int_equal(decode_kv(kv, n), -EBADMSG);
	kv[0].u = 0;
	assert_int_equal(decode_kv(kv, n), -EBADMSG);
	n = node_kv(kv);
	kv[6].p = "bad\x1b[31m";
	assert_int_equal(decode_kv(kv, n), -EBADMSG);
}

static void test_cert_wrapper_refused(void **state)
{
	struct gsm_cert c, d;
	struct signed_cert s;
	uint8_t b[GSM_CERT_MAX + 16];

	(void)state;
	direct_leaf(&c, &s);
	assert_int_equal(gsm_cert_decode(s.b, s.len - 1, &d), -EBADMSG);
	memcpy(b, s.b, s.len);
	b[s.len] = 0xc0; /* trailing byte */
	assert_int_equal(gsm_cert_decode(b, s.len + 1, &d), -EBADMSG);
	/* the same body behind a bin16 header (not the shortest) */
	assert_true(s.b[1] == 0xc4);
	b[0] = s.b[0];
	b[1] = 0xc5;
	b[2] = 0;
	b[3] = s.b[2];
	memcpy(b + 4, s.b + 3, s.len - 3);
	assert_int_equal(gsm_cert_decode(b, s.len + 1, &d), -EBADMSG);
	memset(b, 0x90, sizeof(b));
	assert_int_equal(gsm_cert_decode(b, GSM_CERT_MAX + 1, &d), -EMSGSIZE);
	assert_int_equal(gsm_cert_decode(NULL, 10, &d), -EINVAL);
}

static void test_cert_kind_fields(void **state)
{
	static const char *const pool[] = {"10.0.0.0/8"};
	uint8_t ov[5] = {10, 0, 0, 1, 32};
	struct kv kv[16];
	size_t n;

	(void)state;
	/* NODE: max_lifetime is JOIN-only */
	n = node_kv(kv);
	kv[n] = (struct kv){GSM_WK_CERT_MAX_LIFETIME, KV_UINT, 50, NULL, 0};
	assert_int_equal(decode_kv(kv, n + 1), -EINVAL);
	/* NODE: name is required */
	assert_int_equal(decode_kv(kv, n - 1), -EBADMSG);
	/* JOIN: name and overlay4 are NODE-only, max_lifetime required */
	n = node_kv(kv);
	kv[0].u = GSM_CERT_JOIN;
	kv[n] = (struct kv){GSM_WK_CERT_MAX_LIFETIME, KV_UINT, 50, NULL, 0};
	assert_int_equal(decode_kv(kv, n + 1), -EINVAL); /* with a name */
	kv[n - 1] = kv[n];
	assert_int_equal(decode_kv(kv, n), 0);
	assert_int_equal(decode_kv(kv, n - 1), -EBADMSG); /* no max_lifetime */
	kv[n - 1] = (struct kv){GSM_WK_CERT_OVERLAY4, KV_BIN, 0, ov, 5};
	kv[n] = (struct kv){GSM_WK_CERT_MAX_LIFETIME, KV_UINT, 50, NULL, 0};
	assert_int_equal(decode_kv(kv, n + 1), -EINVAL);
	/* JOIN: never the exit role */
	kv[n - 1] = (struct kv){GSM_WK_CERT_PREFIXES, KV_PREFIXES, 0, pool, 1};
	kv[n] = (struct kv){GSM_WK_CERT_ROLES, KV_UINT, GSM_ROLE_EXIT, NULL, 0};
	kv[n + 1] = (struct kv){GSM_WK_CERT_MAX_LIFETIME, KV_UINT, 50, NULL, 0};
	assert_int_equal(decode_kv(kv, n + 2), -EINVAL);
	kv[n].u = GSM_ROLE_RELAY;
	assert_int_equal(decode_kv(kv, n + 2), 0);
	/* unknown role and flag bits */
	kv[n].u = 0x10;
	assert_int_equal(decode_kv(kv, n + 2), -EBADMSG);
	kv[n].u = GSM_ROLE_RELAY;
	kv[n + 2] = (struct kv){GSM_WK_CERT_FLAGS, KV_UINT, 0x2, NULL, 0};
	assert_int_equal(decode_kv(kv, n + 3), -EBADMSG);
	kv[n + 2].u = GSM_CERT_F_EPHEMERAL;
	assert_int_equal(decode_kv(kv, n + 3), 0);
	/* NODE: overlay4 must be a /32 */
	n = node_kv(kv);
	ov[4] = 24;
	kv[n] = (struct kv){GSM_WK_CERT_OVERLAY4, KV_BIN, 0, ov, 5};
	assert_int_equal(decode_kv(kv, n + 1), -EBADMSG);
	ov[4] = 32;
	assert_int_equal(decode_kv(kv, n + 1), 0);
}

static void test_cert_signature(void **state)
{
	struct gsm_cert c;
	struct signed_cert s;
	uint8_t *name;
	struct kv kv[8];
	uint8_t b[512];
	size_t n, len;

	(void)state;
	direct_leaf(&c, &s);
	name = memmem(s.b, s.len, "node-a", 6);
	assert_non_null(name);
	name[5] = 'b'; /* still a valid body: "node-b" */
	assert_int_equal(gsm_cert_decode(s.b, s.len, &c), 0);
	assert_int_equal(gsm_cert_verify_sig(s.b, s.len), -EKEYREJECTED);
	name[5] = 'a';
	assert_int_equal(gsm_cert_verify_sig(s.b, s.len), 0);
	s.b[s.len - 1] ^= 1; /* the signature itself */
	assert_int_equal(gsm_cert_verify_sig(s.b, s.len), -EKEYREJECTED);
	assert_int_equal(gsm_cert_verify_sig(s.b, 3), -EBADMSG);

	/* domain separation: the right key over the wrong domain */
	n = node_kv(kv);
	len = build(kv, n, auth, "gossamer cert v1", b, sizeof(b));
	assert_int_equal(gsm_cert_verify_sig(b, len), 0);
	len = build(kv, n, auth, "gossamer revoke v1", b, sizeof(b));
	assert_int_equal(gsm_cert_verify_sig(b, len), -EKEYREJECTED);
	len = build(kv, n, auth, "gossamer cert v2", b, sizeof(b));
	assert_int_equal(gsm_cert_verify_sig(b, len), -EKEYREJECTED);
}

/* ------------------------------------------------------------------ */
/* chain                                                               */

struct revoked_set {
	struct gsm_revocation r[4];
	size_t n;
};

static bool is_revoked(void *ctx, const struct gsm_cert *c)
{
	const struct revoked_set *s = ctx;

	for (size_t i = 0; i < s->n; i++) {
		if (s->r[i].has_serial && s->r[i].serial == c->serial)
			return true;
		if (s->r[i].has_subject && memcmp(s->r[i].subject, c->subject, GSM_ID_LEN) == 0)
			return true;
	}
	return false;
}

static uint8_t authorities[2][GSM_ID_LEN];
static struct revoked_set revoked;

static struct gsm_cert_verifier verifier(uint64_t now)
{
	memcpy(authorities[0], pk(auth2), GSM_ID_LEN);
	memcpy(authorities[1], pk(auth), GSM_ID_LEN);
	return (struct gsm_cert_verifier){.authorities = (const uint8_t(*)[GSM_ID_LEN])authorities,
					  .n_authorities = 2,
					  .now_s = now,
					  .revoked = is_revoked,
					  .revoked_ctx = &revoked};
}

static enum gsm_cert_status check(const struct gsm_cert_verifier *v, const struct signed_cert *s,
				  size_t n, const char *name, struct gsm_cert_info *info, char *why,
				  size_t cap)
{
	struct gsm_bytes b[3];

	for (size_t i = 0; i < n; i++)
		b[i] = (struct gsm_bytes){s[i].b, s[i].len};
	gsm_cert_chain_check(v, pk(node), name, b, n, info, why, cap);
	return info->status;
}

static void test_chain_direct(void **state)
{
	struct gsm_cert c;
	struct signed_cert s[3];
	struct gsm_cert_verifier v = verifier(FX_CERT_NOW);
	struct gsm_cert_info info;
	char why[128];

	(void)state;
	revoked.n = 0;
	direct_leaf(&c, &s[0]);
	assert_int_equal(check(&v, s, 0, "node-a", &info, why, sizeof(why)), GSM_CERT_NONE);
	assert_int_equal(check(&v, s, 1, "node-a", &info, why, sizeof(why)), GSM_CERT_VALID);
	assert_string_equal(why, "");
	assert_memory_equal(&info.leaf, &c, sizeof(c));
	assert_int_equal(info.expires_s, c.not_after);
	assert_false(info.has_join);
	assert_int_equal(check(&v, s, 1, NULL, &info, why, sizeof(why)), GSM_CERT_VALID);
	/* name mismatch */
	assert_int_equal(check(&v, s, 1, "node-b", &info, why, sizeof(why)), GSM_CERT_INVALID);
	assert_non_null(strstr(why, "name"));
	/* wrong authority */
	v.n_authorities = 1;
	assert_int_equal(check(&v, s, 1, "node-a", &info, why, sizeof(why)), GSM_CERT_INVALID);
	assert_non_null(strstr(why, "authority"));
	v.n_authorities = 2;
	/* subject != node id */
	fx_cert_node(&c, pk(auth2), pk(auth));
	sign(&c, auth, &s[1]);
	assert_int_equal(check(&v, &s[1], 1, "node-a", &info, why, sizeof(why)), GSM_CERT_INVALID);
	assert_non_null(strstr(why, "subject"));
	/* chain too long (3), and a direct certificate followed by anything */
	s[2] = s[0];
	assert_int_equal(check(&v, s, 3, "node-a", &info, why, sizeof(why)), GSM_CERT_INVALID);
	assert_non_null(strstr(why, "too long"));
	s[1] = s[0];
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_INVALID);
	/* tampered signature */
	s[0].b[s[0].len - 1] ^= 1;
	assert_int_equal(check(&v, s, 1, "node-a", &info, why, sizeof(why)), GSM_CERT_INVALID);
	assert_non_null(strstr(why, "signature"));
	/* garbage */
	s[0].len = 5;
	assert_int_equal(check(&v, s, 1, "node-a", &info, why, sizeof(why)), GSM_CERT_INVALID);
	assert_int_equal(check(&v, s, 1, "node-a", &info, NULL, 0), GSM_CERT_INVALID);
}

static void test_chain_time(void **state)
{
	struct gsm_cert c, j;
	struct signed_cert s[2];
	struct gsm_cert_verifier v;
	struct gsm_cert_info info;
	char why[128];

	(void)state;
	revoked.n = 0;
	direct_leaf(&c, &s[0]);
	v = verifier(c.not_before);
	assert_int_equal(check(&v, s, 1, "node-a", &info, why, sizeof(why)), GSM_CERT_VALID);
	v.now_s = c.not_before - 1;
	assert_int_equal(check(&v, s, 1, "node-a", &info, why, sizeof(why)), GSM_CERT_NOT_YET);
	assert_memory_equal(&info.leaf, &c, sizeof(c));
	v.now_s = c.not_after - 1;
	assert_int_equal(check(&v, s, 1, "node-a", &info, why, sizeof(why)), GSM_CERT_VALID);
	v.now_s = c.not_after;
	assert_int_equal(check(&v, s, 1, "node-a", &info, why, sizeof(why)), GSM_CERT_EXPIRED);
	assert_non_null(strstr(why, "expired"));

	/* the join certificate expires first: it bounded the issuance only,
	 * the chain lives as long as the node certificate */
	join_chain(&c, &j, s);
	v.now_s = FX_CERT_NOW;
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_VALID);
	assert_true(info.has_join);
	assert_int_equal(info.join_serial, j.serial);
	assert_memory_equal(info.join_subject, pk(joinkey), GSM_ID_LEN);
	assert_int_equal(info.expires_s, c.not_after);
	assert_true(j.not_after < c.not_after);
	v.now_s = j.not_after;
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_VALID);
	v.now_s = c.not_after;
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_EXPIRED);
	assert_non_null(strstr(why, "node"));
}

static void test_chain_revoked(void **state)
{
	struct gsm_cert c, j;
	struct signed_cert s[2];
	struct gsm_cert_verifier v = verifier(FX_CERT_NOW);
	struct gsm_cert_info info;
	char why[128];

	(void)state;
	join_chain(&c, &j, s);
	memset(&revoked, 0, sizeof(revoked));
	revoked.n = 1;
	revoked.r[0] = (struct gsm_revocation){.has_serial = 1, .serial = c.serial};
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_REVOKED);
	revoked.r[0] = (struct gsm_revocation){.has_subject = 1};
	memcpy(revoked.r[0].subject, pk(node), GSM_ID_LEN);
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_REVOKED);
	revoked.r[0] = (struct gsm_revocation){.has_serial = 1, .serial = j.serial};
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_REVOKED);
	assert_non_null(strstr(why, "join"));
	revoked.r[0] = (struct gsm_revocation){.has_subject = 1};
	memcpy(revoked.r[0].subject, pk(joinkey), GSM_ID_LEN);
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_REVOKED);
	/* precedence: revoked over expired; invalid over revoked */
	v.now_s = c.not_after + 1;
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_REVOKED);
	assert_int_equal(check(&v, s, 2, "node-x", &info, why, sizeof(why)), GSM_CERT_INVALID);
	/* an unrelated revocation */
	revoked.r[0] = (struct gsm_revocation){.has_serial = 1, .serial = 99};
	v.now_s = FX_CERT_NOW;
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_VALID);
	v.revoked = NULL;
	revoked.r[0].serial = c.serial;
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_VALID);
	revoked.n = 0;
}

static void test_chain_join(void **state)
{
	struct gsm_cert c, j;
	struct signed_cert s[2], t;
	struct gsm_cert_verifier v = verifier(FX_CERT_NOW);
	struct gsm_cert_info info;
	char why[128];

	(void)state;
	revoked.n = 0;
	join_chain(&c, &j, s);
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_VALID);
	/* join certificate first */
	t = s[0];
	s[0] = s[1];
	s[1] = t;
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_INVALID);
	/* the node certificate alone: its issuer (the join key) is no authority */
	assert_int_equal(check(&v, &s[1], 1, "node-a", &info, why, sizeof(why)), GSM_CERT_INVALID);
	/* a join certificate by an unknown authority */
	join_chain(&c, &j, s);
	v.n_authorities = 1;
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_INVALID);
	v.n_authorities = 2;
	/* the join key signs outside its limits: every receiver refuses it */
	c.n_prefixes = 1;
	assert_int_equal(gsm_prefix_parse("172.16.0.0/12", &c.prefixes[0]), 0);
	sign(&c, joinkey, &s[0]);
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_INVALID);
	assert_non_null(strstr(why, "outside the pool"));
	/* a node certificate by the authority with an unrelated join cert */
	direct_leaf(&c, &s[0]);
	assert_int_equal(check(&v, s, 2, "node-a", &info, why, sizeof(why)), GSM_CERT_INVALID);
	assert_non_null(strstr(why, "not issued by the join key"));
}

/* ------------------------------------------------------------------ */
/* delegation                                                          */

static int within(const struct gsm_cert *j, const struct gsm_cert *c, const char *expect)
{
	char why[128] = "x";
	int rc = gsm_cert_within(j, c, why, sizeof(why));

	if (rc == 0)
		assert_string_equal(why, "");
	else if (expect && !strstr(why, expect))
		fail_msg("reason \"%s\" lacks \"%s\"", why, expect);
	return rc;
}

static void delegation_pair(struct gsm_cert *j, struct gsm_cert *c)
{
	fx_cert_join(j, pk(joinkey), pk(auth));
	fx_cert_node(c, pk(node), pk(joinkey));
	assert_int_equal(gsm_cert_normalize(j), 0);
	assert_int_equal(gsm_cert_normalize(c), 0);
}

static void test_within_prefixes(void **state)
{
	struct gsm_cert j, c;

	(void)state;
	delegation_pair(&j, &c);
	assert_int_equal(within(&j, &c, NULL), 0);
	c.n_prefixes = 1;
	assert_int_equal(gsm_prefix_parse("192.168.0.0/16", &c.prefixes[0]), 0);
	assert_int_equal(within(&j, &c, NULL), 0); /* the whole pool entry */
	assert_int_equal(gsm_prefix_parse("192.168.0.0/15", &c.prefixes[0]), 0);
	assert_int_equal(within(&j, &c, "prefix 192.168.0.0/15 outside the pool"), -EPERM);
	assert_int_equal(gsm_prefix_parse("192.169.0.0/24", &c.prefixes[0]), 0);
	assert_int_equal(within(&j, &c, "outside the pool"), -EPERM);
	/* an empty pool allows no prefix */
	delegation_pair(&j, &c);
	j.n_prefixes = 0;
	assert_int_equal(within(&j, &c, "outside the pool"), -EPERM);
	c.n_prefixes = 0;
	assert_int_equal(within(&j, &c, "overlay"), -EPERM);
	c.has_overlay4 = 0;
	assert_int_equal(within(&j, &c, NULL), 0);
	/* the pinned overlay */
	delegation_pair(&j, &c);
	assert_int_equal(gsm_prefix_parse("10.42.255.255/32", &c.overlay4), 0);
	assert_int_equal(within(&j, &c, NULL), 0);
	assert_int_equal(gsm_prefix_parse("10.43.0.0/32", &c.overlay4), 0);
	assert_int_equal(within(&j, &c, "overlay 10.43.0.0/32 outside the pool"), -EPERM);
}

static void test_within_time(void **state)
{
	struct gsm_cert j, c;

	(void)state;
	delegation_pair(&j, &c);
	c.not_after = c.not_before + j.max_lifetime;
	assert_int_equal(within(&j, &c, NULL), 0);
	c.not_after++;
	assert_int_equal(within(&j, &c, "lifetime"), -EPERM);
	c.not_before = j.not_before;
	c.not_after = c.not_before + 10;
	assert_int_equal(within(&j, &c, NULL), 0);
	c.not_before--;
	assert_int_equal(within(&j, &c, "validity"), -EPERM);
	c.not_before = j.not_after - 1;
	c.not_after = c.not_before + 10;
	assert_int_equal(within(&j, &c, NULL), 0);
	c.not_before++;
	c.not_after++;
	assert_int_equal(within(&j, &c, "validity"), -EPERM);
}

static void test_within_roles_labels(void **state)
{
	struct gsm_cert j, c;

	(void)state;
	delegation_pair(&j, &c);
	c.roles = GSM_ROLE_RELAY | GSM_ROLE_GATEWAY;
	assert_int_equal(within(&j, &c, NULL), 0);
	c.roles |= GSM_ROLE_EXIT;
	assert_int_equal(within(&j, &c, "exit"), -EPERM);
	j.roles = GSM_ROLE_RELAY;
	c.roles = GSM_ROLE_RELAY;
	assert_int_equal(within(&j, &c, NULL), 0);
	c.roles = GSM_ROLE_GATEWAY;
	assert_int_equal(within(&j, &c, "role gateway not granted"), -EPERM);

	/* join: env=*, site=fra1 */
	delegation_pair(&j, &c);
	strcpy(c.labels[0].value, "anything"); /* env */
	assert_int_equal(within(&j, &c, NULL), 0);
	strcpy(c.labels[0].value, "*");
	assert_int_equal(within(&j, &c, NULL), 0); /* "*" only under "*" */
	strcpy(c.labels[1].value, "*");		   /* site */
	assert_int_equal(within(&j, &c, "label site=* not allowed"), -EPERM);
	strcpy(c.labels[1].value, "fra2");
	assert_int_equal(within(&j, &c, "label site=fra2"), -EPERM);
	strcpy(c.labels[1].value, "fra1");
	assert_int_equal(within(&j, &c, NULL), 0);
	strcpy(c.labels[1].key, "zone");
	assert_int_equal(within(&j, &c, "label zone=fra1"), -EPERM);
}

static void test_within_other(void **state)
{
	struct gsm_cert j, c;

	(void)state;
	delegation_pair(&j, &c);
	j.flags = GSM_CERT_F_EPHEMERAL;
	assert_int_equal(within(&j, &c, "ephemeral"), -EPERM);
	c.flags = GSM_CERT_F_EPHEMERAL;
	assert_int_equal(within(&j, &c, NULL), 0);
	j.flags = 0;
	assert_int_equal(within(&j, &c, NULL), 0); /* ephemeral under a normal key */
	memcpy(c.issuer, pk(auth), GSM_ID_LEN);
	assert_int_equal(within(&j, &c, "not issued by the join key"), -EPERM);
	assert_int_equal(within(&c, &j, NULL), -EPERM); /* kinds swapped */
	assert_int_equal(gsm_cert_within(NULL, &c, NULL, 0), -EINVAL);
}

/* ------------------------------------------------------------------ */
/* revocations                                                         */

static size_t revocation(const struct gsm_identity *by, int by_serial, uint8_t *out)
{
	struct gsm_revocation r = {.issued_at = FX_CERT_NOW, .expires = FX_CERT_NOW + FX_DAY};
	size_t len;

	memcpy(r.issuer, pk(by), GSM_ID_LEN);
	if (by_serial) {
		r.has_serial = 1;
		r.serial = 0x1122334455667788ull;
	} else {
		r.has_subject = 1;
		memcpy(r.subject, pk(node), GSM_ID_LEN);
	}
	assert_int_equal(gsm_revocation_sign(&r, by, out, GSM_REVOCATION_MAX, &len), 0);
	return len;
}

static void test_revocation(void **state)
{
	uint8_t b[GSM_REVOCATION_MAX], b2[GSM_REVOCATION_MAX];
	struct gsm_revocation r;
	const uint8_t(*one)[GSM_ID_LEN] = (const uint8_t(*)[GSM_ID_LEN])pk(auth);
	size_t len, len2;

	(void)state;
	len = revocation(auth, 1, b);
	assert_int_equal(gsm_revocation_decode(b, len, &r), 0);
	assert_true(r.has_serial && !r.has_subject);
	assert_int_equal(r.serial, 0x1122334455667788ull);
	assert_int_equal(r.expires, FX_CERT_NOW + FX_DAY);
	assert_int_equal(gsm_revocation_verify(b, len, one, 1, &r), 0);
	assert_int_equal(gsm_revocation_verify(b, len, one, 0, &r), -EKEYREJECTED);
	len2 = revocation(auth2, 0, b2); /* unknown authority */
	assert_int_equal(gsm_revocation_verify(b2, len2, one, 1, &r), -EKEYREJECTED);
	assert_int_equal(gsm_revocation_decode(b2, len2, &r), 0);
	assert_true(r.has_subject && !r.has_serial);
	assert_memory_equal(r.subject, pk(node), GSM_ID_LEN);
	/* tamper with the body */
	b[len - GSM_SIG_LEN - 3] ^= 1;
	assert_int_equal(gsm_revocation_verify(b, len, one, 1, &r), -EKEYREJECTED);
	b[len - GSM_SIG_LEN - 3] ^= 1;
	assert_int_equal(gsm_revocation_verify(b, len, one, 1, NULL), 0);
	/* exactly one of serial / subject */
	r = (struct gsm_revocation){.has_serial = 1, .has_subject = 1, .expires = 1};
	memcpy(r.issuer, pk(auth), GSM_ID_LEN);
	assert_int_equal(gsm_revocation_sign(&r, auth, b2, sizeof(b2), &len2), -EINVAL);
	r.has_serial = r.has_subject = 0;
	assert_int_equal(gsm_revocation_sign(&r, auth, b2, sizeof(b2), &len2), -EINVAL);
	r.has_serial = 1;
	assert_int_equal(gsm_revocation_sign(&r, auth2, b2, sizeof(b2), &len2), -EINVAL);
	assert_int_equal(gsm_revocation_decode(b, len - 1, &r), -EBADMSG);
}

static void test_revocation_refused(void **state)
{
	const uint8_t(*one)[GSM_ID_LEN] = (const uint8_t(*)[GSM_ID_LEN])pk(auth);
	struct gsm_revocation r;
	struct kv kv[6];
	uint8_t b[512];
	size_t len;

	(void)state;
	memcpy(kv_issuer, pk(auth), GSM_ID_LEN);
	memcpy(kv_subject, pk(node), GSM_ID_LEN);
	kv[0] = (struct kv){GSM_WK_REV_ISSUER, KV_BIN, 0, kv_issuer, GSM_ID_LEN};
	kv[1] = (struct kv){GSM_WK_REV_SERIAL, KV_UINT, 5, NULL, 0};
	kv[2] = (struct kv){GSM_WK_REV_ISSUED_AT, KV_UINT, 10, NULL, 0};
	kv[3] = (struct kv){GSM_WK_REV_EXPIRES, KV_UINT, 20, NULL, 0};
	len = build(kv, 4, auth, "gossamer revoke v1", b, sizeof(b));
	assert_int_equal(gsm_revocation_verify(b, len, one, 1, &r), 0);
	/* a certificate-domain signature never passes as a revocation */
	len = build(kv, 4, auth, "gossamer cert v1", b, sizeof(b));
	assert_int_equal(gsm_revocation_decode(b, len, &r), 0);
	assert_int_equal(gsm_revocation_verify(b, len, one, 1, &r), -EKEYREJECTED);
	len = build(kv, 3, auth, "gossamer revoke v1", b, sizeof(b)); /* no expires */
	assert_int_equal(gsm_revocation_decode(b, len, &r), -EBADMSG);
	kv[1].type = KV_WIDE;
	len = build(kv, 4, auth, "gossamer revoke v1", b, sizeof(b));
	assert_int_equal(gsm_revocation_decode(b, len, &r), -EBADMSG);
	kv[1].type = KV_UINT;
	kv[4] = kv[3];
	kv[3] = kv[2];
	kv[2] = (struct kv){GSM_WK_REV_SUBJECT, KV_BIN, 0, kv_subject, GSM_ID_LEN};
	len = build(kv, 5, auth, "gossamer revoke v1", b, sizeof(b)); /* both */
	assert_int_equal(gsm_revocation_decode(b, len, &r), -EBADMSG);
	kv[1] = kv[0];
	len = build(kv + 1, 4, auth, "gossamer revoke v1", b, sizeof(b)); /* subject only */
	assert_int_equal(gsm_revocation_verify(b, len, one, 1, &r), 0);
	kv[5] = (struct kv){GSM_WK_REV_COUNT, KV_UINT, 1, NULL, 0}; /* unknown key */
	len = build(kv + 1, 5, auth, "gossamer revoke v1", b, sizeof(b));
	assert_int_equal(gsm_revocation_decode(b, len, &r), -EBADMSG);
}

static void test_revocation_id(void **state)
{
	uint8_t b[GSM_REVOCATION_MAX], b2[GSM_REVOCATION_MAX];
	uint8_t id[16], id2[16], want[16];
	size_t len, len2;

	(void)state;
	len = revocation(auth, 1, b);
	len2 = revocation(auth, 1, b2); /* deterministic signature: same bytes */
	assert_int_equal(len, len2);
	assert_memory_equal(b, b2, len);
	gsm_revocation_id(b, len, id);
	gsm_revocation_id(b2, len2, id2);
	assert_memory_equal(id, id2, 16);
	crypto_generichash(want, 16, b, len, NULL, 0); /* BLAKE2b-128 of the bytes */
	assert_memory_equal(id, want, 16);
	len2 = revocation(auth, 0, b2);
	gsm_revocation_id(b2, len2, id2);
	assert_memory_not_equal(id, id2, 16);
}

/* ------------------------------------------------------------------ */
/* coverage                                                            */

static bool allows(const struct gsm_cert *c, const char *prefix)
{
	struct gsm_prefix p;

	assert_int_equal(gsm_prefix_parse(prefix, &p), 0);
	return gsm_cert_allows_prefix(c, &p);
}

static bool allows_ov(const struct gsm_cert *c, const char *addr)
{
	struct gsm_prefix p;

	assert_int_equal(gsm_prefix_parse(addr, &p), 0);
	return gsm_cert_allows_overlay(c, &p);
}

static void test_coverage(void **state)
{
	struct gsm_cert c;

	(void)state;
	fx_cert_node(&c, pk(node), pk(auth));
	assert_int_equal(gsm_cert_normalize(&c), 0);
	assert_true(allows(&c, "192.168.10.0/24"));
	assert_true(allows(&c, "192.168.10.128/25"));
	assert_false(allows(&c, "192.168.0.0/16"));
	assert_false(allows(&c, "192.168.11.0/24"));
	assert_true(allows(&c, "fd00:1:0:2::/64"));
	assert_false(allows(&c, "fd00:2::/48"));
	assert_false(allows(&c, "0.0.0.0/0"));
	/* /0: an explicit /0 in the certificate and the exit role */
	c.n_prefixes = 1;
	assert_int_equal(gsm_prefix_parse("0.0.0.0/0", &c.prefixes[0]), 0);
	assert_false(allows(&c, "0.0.0.0/0"));
	c.roles |= GSM_ROLE_EXIT;
	assert_true(allows(&c, "0.0.0.0/0"));
	assert_false(allows(&c, "::/0"));
	assert_true(allows(&c, "10.0.0.0/8"));
	assert_int_equal(gsm_prefix_parse("10.0.0.0/8", &c.prefixes[0]), 0);
	assert_false(allows(&c, "0.0.0.0/0")); /* exit without an explicit /0 */

	/* overlay */
	fx_cert_node(&c, pk(node), pk(auth));
	assert_true(allows_ov(&c, "10.42.0.7/32"));
	assert_true(allows_ov(&c, "10.42.0.7/16")); /* an overlay address with its length */
	assert_false(allows_ov(&c, "10.42.0.8/16"));
	assert_true(allows_ov(&c, "fd00::7/64"));
	c.has_overlay4 = 0;
	assert_true(allows_ov(&c, "10.42.0.8/16"));

	/* labels: site=fra1, env=prod; then env=* */
	assert_true(gsm_cert_allows_label(&c, "site", "fra1"));
	assert_false(gsm_cert_allows_label(&c, "site", "fra2"));
	assert_false(gsm_cert_allows_label(&c, "zone", "fra1"));
	assert_false(gsm_cert_allows_label(&c, "env", "dev"));
	strcpy(c.labels[1].value, "*");
	assert_true(gsm_cert_allows_label(&c, "env", "dev"));

	/* flags: RELAY needs the relay role */
	assert_true(gsm_cert_allows_flags(&c, GSM_ADV_RELAY | GSM_ADV_PUBLIC));
	c.roles = GSM_ROLE_GATEWAY;
	assert_false(gsm_cert_allows_flags(&c, GSM_ADV_RELAY));
	assert_true(gsm_cert_allows_flags(&c, GSM_ADV_PUBLIC | GSM_ADV_BEHIND_NAT));
	/* GATEWAY needs the gateway role, EXIT the exit role */
	assert_true(gsm_cert_allows_flags(&c, GSM_ADV_GATEWAY));
	assert_false(gsm_cert_allows_flags(&c, GSM_ADV_EXIT));
	c.roles = GSM_ROLE_EXIT;
	assert_true(gsm_cert_allows_flags(&c, GSM_ADV_EXIT));
	assert_false(gsm_cert_allows_flags(&c, GSM_ADV_GATEWAY | GSM_ADV_EXIT));
}

/* ------------------------------------------------------------------ */
/* PEM                                                                 */

static void test_pem(void **state)
{
	struct gsm_cert c, j;
	struct signed_cert s[2];
	char text[8192], small[64];
	uint8_t out[GSM_CERT_MAX];
	size_t len = 0, n, slen = 0;
	const char *line;
	char *end;

	(void)state;
	join_chain(&c, &j, s);
	strcpy(text, "# a comment\r\n");
	len = strlen(text);
	assert_int_equal(gsm_pem_append(GSM_PEM_CERT, s[0].b, s[0].len, text, sizeof(text), &len),
			 0);
	assert_int_equal(gsm_pem_append(GSM_PEM_CERT, s[1].b, s[1].len, text, sizeof(text), &len),
			 0);
	assert_int_equal(strlen(text), len);
	assert_non_null(strstr(text, "-----BEGIN GOSSAMER CERTIFICATE-----\n"));
	for (line = text; (line = strchr(line, '\n')) != NULL; line++)
		assert_true(strcspn(line + 1, "\n") <= 64);
	assert_int_equal(gsm_pem_find(text, GSM_PEM_CERT, 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, s[0].len);
	assert_memory_equal(out, s[0].b, n);
	assert_int_equal(gsm_pem_find(text, GSM_PEM_CERT, 1, out, sizeof(out), &n), 0);
	assert_int_equal(n, s[1].len);
	assert_memory_equal(out, s[1].b, n);
	assert_int_equal(gsm_pem_find(text, GSM_PEM_CERT, 2, out, sizeof(out), &n), -ENOENT);
	assert_int_equal(gsm_pem_find(text, GSM_PEM_REVOCATION, 0, out, sizeof(out), &n), -ENOENT);
	assert_int_equal(gsm_pem_find(text, GSM_PEM_CERT, 0, out, 10, &n), -EMSGSIZE);
	/* does not fit: nothing written */
	assert_int_equal(
	    gsm_pem_append(GSM_PEM_CERT, s[0].b, s[0].len, small, sizeof(small), &slen), -EMSGSIZE);
	assert_int_equal(slen, 0);
	/* broken base64 */
	text[strlen("# a comment\r\n") + strlen("-----BEGIN GOSSAMER CERTIFICATE-----\n") + 3] =
	    '!';
	assert_int_equal(gsm_pem_find(text, GSM_PEM_CERT, 0, out, sizeof(out), &n), -EBADMSG);
	assert_int_equal(gsm_pem_find(text, GSM_PEM_CERT, 1, out, sizeof(out), &n), 0);
	/* the second block loses its END line */
	for (end = strstr(text, "-----END"); strstr(end + 1, "-----END");)
		end = strstr(end + 1, "-----END");
	*end = 0;
	assert_int_equal(gsm_pem_find(text, GSM_PEM_CERT, 1, out, sizeof(out), &n), -EBADMSG);
}

static void test_pem_edges(void **state)
{
	char text[512];
	uint8_t seed[32], out[64];
	size_t len = 0, n;

	(void)state;
	fx_bytes(seed, sizeof(seed), 77);
	text[0] = 0;
	assert_int_equal(
	    gsm_pem_append(GSM_PEM_JOIN_KEY, seed, sizeof(seed), text, sizeof(text), &len), 0);
	assert_int_equal(gsm_pem_find(text, GSM_PEM_JOIN_KEY, 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 32);
	assert_memory_equal(out, seed, 32);
	/* a label that only starts like ours, and a BEGIN inside a line */
	assert_int_equal(gsm_pem_find(text, "GOSSAMER JOIN", 0, out, sizeof(out), &n), -ENOENT);
	assert_int_equal(gsm_pem_find("x-----BEGIN GOSSAMER JOIN KEY-----\nAAAA\n"
				      "-----END GOSSAMER JOIN KEY-----\n",
				      GSM_PEM_JOIN_KEY, 0, out, sizeof(out), &n),
			 -ENOENT);
	/* CRLF line ends */
	assert_int_equal(gsm_pem_find("-----BEGIN GOSSAMER REVOCATION-----\r\nAAEC\r\n"
				      "-----END GOSSAMER REVOCATION-----\r\n",
				      GSM_PEM_REVOCATION, 0, out, sizeof(out), &n),
			 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[2], 2);
	/* padding in the middle, length not a multiple of 4 */
	assert_int_equal(gsm_pem_find("-----BEGIN GOSSAMER REVOCATION-----\nAA==AAAA\n"
				      "-----END GOSSAMER REVOCATION-----\n",
				      GSM_PEM_REVOCATION, 0, out, sizeof(out), &n),
			 -EBADMSG);
	assert_int_equal(gsm_pem_find("-----BEGIN GOSSAMER REVOCATION-----\nAAE\n"
				      "-----END GOSSAMER REVOCATION-----\n",
				      GSM_PEM_REVOCATION, 0, out, sizeof(out), &n),
			 -EBADMSG);
}

/* ------------------------------------------------------------------ */
/* the advert's chain (key 13)                                         */

static void test_advert_chain(void **state)
{
	static struct gsm_advert a, d;
	struct gsm_cert c, j;
	struct signed_cert s[2];
	uint8_t b[GSM_MAX_ADVERT], b0[GSM_MAX_ADVERT];
	size_t len, len0;
	struct gsm_cert_verifier v = verifier(FX_CERT_NOW);
	struct gsm_cert_info info;
	struct gsm_bytes refs[3];
	char why[128];

	(void)state;
	revoked.n = 0;
	fx_advert_typical(&a, pk(node));
	strcpy(a.name, "node-a");
	assert_int_equal(gsm_advert_sign(&a, node, b0, sizeof(b0), &len0), 0);
	/* n_certs 0: certificate slots are ignored, bytes as before */
	memset(a.certs, 0xab, sizeof(a.certs));
	a.cert_len[0] = 5;
	assert_int_equal(gsm_advert_sign(&a, node, b, sizeof(b), &len), 0);
	assert_int_equal(len, len0);
	assert_memory_equal(b, b0, len);

	join_chain(&c, &j, s);
	a.n_certs = 2;
	for (int i = 0; i < 2; i++) {
		memcpy(a.certs[i], s[i].b, s[i].len);
		a.cert_len[i] = (uint16_t)s[i].len;
	}
	assert_int_equal(gsm_advert_sign(&a, node, b, sizeof(b), &len), 0);
	assert_int_equal(gsm_advert_verify(b, len), 0);
	assert_int_equal(gsm_advert_decode(b, len, &d), 0);
	assert_int_equal(d.n_certs, 2);
	for (int i = 0; i < 3; i++)
		refs[i] = (struct gsm_bytes){d.certs[i], d.cert_len[i]};
	gsm_cert_chain_check(&v, d.node_id, d.name, refs, d.n_certs, &info, why, sizeof(why));
	assert_int_equal(info.status, GSM_CERT_VALID);

	/* three certificates decode, and the chain check refuses them */
	a.n_certs = 3;
	memcpy(a.certs[2], s[0].b, s[0].len);
	a.cert_len[2] = (uint16_t)s[0].len;
	assert_int_equal(gsm_advert_sign(&a, node, b, sizeof(b), &len), 0);
	assert_int_equal(gsm_advert_decode(b, len, &d), 0);
	assert_int_equal(d.n_certs, 3);
	for (int i = 0; i < 3; i++)
		refs[i] = (struct gsm_bytes){d.certs[i], d.cert_len[i]};
	gsm_cert_chain_check(&v, d.node_id, d.name, refs, d.n_certs, &info, why, sizeof(why));
	assert_int_equal(info.status, GSM_CERT_INVALID);
	assert_non_null(strstr(why, "too long"));

	/* bounds on encode */
	a.n_certs = 4;
	assert_int_equal(gsm_advert_encode_body(&a, b, sizeof(b), &len), -EMSGSIZE);
	a.n_certs = 1;
	a.cert_len[0] = GSM_CERT_MAX + 1;
	assert_int_equal(gsm_advert_encode_body(&a, b, sizeof(b), &len), -EMSGSIZE);
	a.cert_len[0] = 0;
	assert_int_equal(gsm_advert_encode_body(&a, b, sizeof(b), &len), -EINVAL);
}

/* An advert body with key 13 appended by hand: count bins of size each. */
static int advert_with_certs(size_t count, size_t size)
{
	static struct gsm_advert a, d;
	static uint8_t body[GSM_MAX_ADVERT], out[GSM_MAX_ADVERT + 64];
	uint8_t sig[GSM_SIG_LEN];
	size_t blen, len;

	fx_advert_typical(&a, pk(node));
	assert_int_equal(gsm_advert_encode_body(&a, body, sizeof(body), &blen), 0);
	assert_true((body[0] & 0xf0) == 0x80 && (body[0] & 0x0f) < 15);
	body[0]++; /* one more key in the fixmap */
	body[blen++] = GSM_WK_ADVERT_CERTS;
	body[blen++] = (uint8_t)(0x90 | count);
	for (size_t i = 0; i < count; i++) {
		body[blen++] = 0xc5;
		body[blen++] = (uint8_t)(size >> 8);
		body[blen++] = (uint8_t)size;
		memset(body + blen, 0x42, size);
		blen += size;
	}
	assert_int_equal(gsm_sign(node, body, blen, sig), 0);
	assert_int_equal(gsm_advert_wrap(body, blen, sig, out, sizeof(out), &len), 0);
	return gsm_advert_decode(out, len, &d);
}

static void test_advert_chain_bounds(void **state)
{
	(void)state;
	assert_int_equal(advert_with_certs(3, 300), 0);
	assert_int_equal(advert_with_certs(4, 300), -EMSGSIZE);
	assert_int_equal(advert_with_certs(1, GSM_CERT_MAX), 0);
	assert_int_equal(advert_with_certs(1, GSM_CERT_MAX + 1), -EMSGSIZE);
	assert_int_equal(advert_with_certs(0, 0), -EBADMSG); /* empty: omitted */
	assert_int_equal(advert_with_certs(1, 0), -EBADMSG);
}

/* The committed fuzz seeds (tests/fuzz/corpus/cert, written by
 * fuzz_gen_corpus) still decode and verify. */
static void test_cert_corpus(void **state)
{
	static const char *const bins[] = {"node.bin", "join.bin", "node-by-join.bin",
					   "revocation-serial.bin", "revocation-subject.bin"};
	static const char *const pems[] = {"chain.pem", "join-key.pem", "revocation.pem"};
	const char *root = getenv("GSM_SOURCE_ROOT");
	static char text[8192];
	uint8_t b[GSM_CERT_MAX];
	struct gsm_revocation r;
	char path[1024];
	size_t n;
	FILE *f;

	(void)state;
	assert_non_null(root);
	for (size_t i = 0; i < 8; i++) {
		const char *name = i < 5 ? bins[i] : pems[i - 5];
		snprintf(path, sizeof(path), "%s/tests/fuzz/corpus/cert/%s", root, name);
		f = fopen(path, "rb");
		assert_non_null(f);
		n = fread(i < 5 ? (void *)b : (void *)text, 1, i < 5 ? sizeof(b) : sizeof(text) - 1,
			  f);
		fclose(f);
		if (i < 3) {
			assert_int_equal(gsm_cert_verify_sig(b, n), 0);
		} else if (i < 5) {
			assert_int_equal(gsm_revocation_decode(b, n, &r), 0);
		} else {
			text[n] = 0;
			assert_true(gsm_pem_find(text, GSM_PEM_CERT, 0, b, sizeof(b), &n) == 0 ||
				    gsm_pem_find(text, GSM_PEM_REVOCATION, 0, b, sizeof(b), &n) ==
					0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cert_roundtrip),
	    cmocka_unit_test(test_cert_normalize),
	    cmocka_unit_test(test_cert_sign_args),
	    cmocka_unit_test(test_cert_canonical_refused),
	    cmocka_unit_test(test_cert_wrapper_refused),
	    cmocka_unit_test(test_cert_kind_fields),
	    cmocka_unit_test(test_cert_signature),
	    cmocka_unit_test(test_chain_direct),
	    cmocka_unit_test(test_chain_time),
	    cmocka_unit_test(test_chain_revoked),
	    cmocka_unit_test(test_chain_join),
	    cmocka_unit_test(test_within_prefixes),
	    cmocka_unit_test(test_within_time),
	    cmocka_unit_test(test_within_roles_labels),
	    cmocka_unit_test(test_within_other),
	    cmocka_unit_test(test_revocation),
	    cmocka_unit_test(test_revocation_refused),
	    cmocka_unit_test(test_revocation_id),
	    cmocka_unit_test(test_coverage),
	    cmocka_unit_test(test_pem),
	    cmocka_unit_test(test_pem_edges),
	    cmocka_unit_test(test_advert_chain),
	    cmocka_unit_test(test_advert_chain_bounds),
	    cmocka_unit_test(test_cert_corpus),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
