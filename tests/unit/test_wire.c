/* tests/unit/test_wire.c - the body and advert codec (gossip/wire.h). */
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

#include "gossip/crypto.h"
#include "gossip/wire.h"
#include "tests/unit/fixtures.h"

static uint8_t buf[GSM_MAX_DATAGRAM + 64];

static struct gsm_msg *new_msg(void)
{
	struct gsm_msg *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	return m;
}

/* A few real signed adverts for piggybacking. */
static uint8_t adv_store[3][GSM_MAX_ADVERT];
static struct gsm_bytes adv_refs[3];

static void make_adverts(void)
{
	for (int i = 0; i < 3; i++) {
		struct gsm_identity *id = fx_identity(200u + (uint32_t)i);
		struct gsm_advert a;
		size_t len;
		fx_advert_typical(&a, gsm_identity_public(id));
		a.version = (uint64_t)i;
		assert_int_equal(gsm_advert_sign(&a, id, adv_store[i], sizeof(adv_store[i]), &len),
				 0);
		adv_refs[i].ptr = adv_store[i];
		adv_refs[i].len = len;
		gsm_identity_free(id);
	}
}

static int setup(void **state)
{
	(void)state;
	if (gsm_crypto_init())
		return -1;
	make_adverts();
	return 0;
}

/* Every message type round-trips with everything it can carry, and the
 * encoded size is exactly gsm_msg_encoded_size(). */
static void test_roundtrip_all_types(void **state)
{
	struct gsm_msg *m = new_msg(), *d = new_msg();
	size_t len;

	(void)state;
	for (uint8_t t = 1; t <= GSM_MSG_TYPE_MAX; t++) {
		size_t shapes[][3] = {{0, 0, 0}, {3, 2, 0}, {20, 3, 40}};
		for (size_t s = 0; s < 3; s++) {
			fx_msg(m, t, shapes[s][0], adv_refs, shapes[s][1], shapes[s][2]);
			assert_int_equal(gsm_msg_encode(m, buf, sizeof(buf), &len), 0);
			assert_int_equal(len, gsm_msg_encoded_size(m));
			assert_int_equal(gsm_msg_decode(buf, len, d), 0);
			assert_true(fx_msg_equal(m, d));
			assert_int_equal(d->type, t);
			/* adverts are referenced inside buf */
			for (size_t i = 0; i < d->n_adverts; i++) {
				assert_true(d->adverts[i].ptr >= buf &&
					    d->adverts[i].ptr < buf + len);
				assert_int_equal(
				    gsm_advert_verify(d->adverts[i].ptr, d->adverts[i].len), 0);
			}
		}
	}
	free(m);
	free(d);
}

/* A minimal ping is small, and the encoding is deterministic. */
static void test_minimal_and_deterministic(void **state)
{
	struct gsm_msg *m = new_msg(), *d = new_msg();
	uint8_t b2[256];
	size_t len, len2;

	(void)state;
	gsm_msg_init(m, GSM_MSG_PING);
	fx_bytes(m->sender, GSM_ID_LEN, 1);
	assert_int_equal(gsm_msg_encode(m, buf, sizeof(buf), &len), 0);
	/* fixmap(2) 0 1 1 bin8(32) */
	assert_int_equal(len, 1 + 2 + 1 + 2 + 32);
	assert_int_equal(buf[0], 0x82);
	assert_int_equal(gsm_msg_encode(m, b2, sizeof(b2), &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, b2, len);
	assert_int_equal(gsm_msg_decode(buf, len, d), 0);
	assert_true(fx_msg_equal(m, d));
	free(m);
	free(d);
}

/* The per-item sizes are upper bounds that the core can budget with: base
 * size + sum(item sizes) >= real size, at every count up to the bound, and
 * never more than 2 bytes per item too pessimistic. */
static void test_item_size_bounds(void **state)
{
	struct gsm_msg *m = new_msg();
	size_t base, sum, real;

	(void)state;
	fx_msg(m, GSM_MSG_GOSSIP, 0, NULL, 0, 0);
	base = gsm_msg_encoded_size(m);
	sum = 0;
	for (size_t i = 0; i < GSM_MAX_UPDATES; i++) {
		size_t before = gsm_msg_encoded_size(m), item;
		fx_update(&m->updates[m->n_updates++], (uint32_t)i);
		item = gsm_update_encoded_size(&m->updates[i]);
		real = gsm_msg_encoded_size(m);
		assert_true(real - before <= item);
		assert_true(item - (real - before) <= 2);
		sum += item;
		assert_true(base + sum >= real);
	}
	for (size_t i = 0; i < GSM_MAX_ADVERTS; i++) {
		size_t before = gsm_msg_encoded_size(m), item;
		m->adverts[m->n_adverts++] = adv_refs[i % 3];
		item = gsm_advert_ref_encoded_size(adv_refs[i % 3].len);
		real = gsm_msg_encoded_size(m);
		assert_true(real - before <= item);
		assert_true(item - (real - before) <= 2);
	}
	/* digests, in a fresh message */
	fx_msg(m, GSM_MSG_SYNC_DIGEST, 0, NULL, 0, 0);
	base = gsm_msg_encoded_size(m);
	sum = 0;
	for (size_t i = 0; i < 1200; i++) {
		size_t before = gsm_msg_encoded_size(m), item;
		struct gsm_digest_entry *e = &m->digest[m->n_digest++];
		fx_bytes(e->node, GSM_ID_LEN, (uint32_t)i);
		e->generation = (uint64_t)1 << (i % 64);
		e->version = i;
		item = gsm_digest_entry_encoded_size(e);
		real = gsm_msg_encoded_size(m);
		assert_true(real - before <= item);
		sum += item;
		assert_true(base + sum >= real);
	}
	/* advert ref sizes across the bin8/bin16 boundary */
	uint8_t big[300] = {0};
	for (size_t n = 250; n < 260; n++) {
		fx_msg(m, GSM_MSG_GOSSIP, 0, NULL, 0, 0);
		size_t before = gsm_msg_encoded_size(m);
		m->adverts[0].ptr = big;
		m->adverts[0].len = n;
		m->n_adverts = 1;
		real = gsm_msg_encoded_size(m);
		assert_true(real - before <= gsm_advert_ref_encoded_size(n));
	}
	free(m);
}

/* Encoding refuses counts over the bounds and tiny buffers. */
static void test_encode_bounds(void **state)
{
	struct gsm_msg *m = new_msg();
	size_t len;

	(void)state;
	fx_msg(m, GSM_MSG_GOSSIP, 0, NULL, 0, 0);
	m->n_updates = GSM_MAX_UPDATES + 1;
	assert_int_equal(gsm_msg_encode(m, buf, sizeof(buf), &len), -EMSGSIZE);
	assert_int_equal(gsm_msg_encoded_size(m), 0);
	fx_msg(m, GSM_MSG_GOSSIP, 0, NULL, 0, 0);
	m->n_digest = GSM_MAX_DIGEST + 1;
	assert_int_equal(gsm_msg_encode(m, buf, sizeof(buf), &len), -EMSGSIZE);
	fx_msg(m, GSM_MSG_GOSSIP, 0, NULL, 0, 0);
	m->n_adverts = GSM_MAX_ADVERTS + 1;
	assert_int_equal(gsm_msg_encode(m, buf, sizeof(buf), &len), -EMSGSIZE);
	/* an advert over GSM_MAX_ADVERT */
	fx_msg(m, GSM_MSG_GOSSIP, 0, NULL, 0, 0);
	m->n_adverts = 1;
	m->adverts[0].ptr = buf;
	m->adverts[0].len = GSM_MAX_ADVERT + 1;
	assert_int_equal(gsm_msg_encode(m, buf + GSM_MAX_ADVERT + 8, 100, &len), -EMSGSIZE);
	/* type 0 is not a message */
	gsm_msg_init(m, 0);
	assert_int_equal(gsm_msg_encode(m, buf, sizeof(buf), &len), -EINVAL);
	/* every buffer shorter than the encoding is refused */
	fx_msg(m, GSM_MSG_ACK, 5, adv_refs, 2, 5);
	size_t full = gsm_msg_encoded_size(m);
	for (size_t cap = 0; cap < full; cap++)
		assert_int_equal(gsm_msg_encode(m, buf, cap, &len), -EMSGSIZE);
	assert_int_equal(gsm_msg_encode(m, buf, full, &len), 0);
	assert_int_equal(len, full);
	/* all bounds at once exceed a datagram: refused even with room */
	uint8_t *huge = malloc(4 * GSM_MAX_DATAGRAM);
	fx_msg(m, GSM_MSG_SYNC_RESPONSE, GSM_MAX_UPDATES, NULL, 0, GSM_MAX_DIGEST);
	assert_true(gsm_msg_encoded_size(m) > GSM_MAX_DATAGRAM - GSM_ENVELOPE_OVERHEAD);
	assert_int_equal(gsm_msg_encode(m, huge, 4 * GSM_MAX_DATAGRAM, &len), -EMSGSIZE);
	/* the largest body that fits a datagram is accepted */
	while (gsm_msg_encoded_size(m) > GSM_MAX_DATAGRAM - GSM_ENVELOPE_OVERHEAD)
		m->n_digest--;
	assert_int_equal(gsm_msg_encode(m, huge, 4 * GSM_MAX_DATAGRAM, &len), 0);
	assert_true(len <= GSM_MAX_DATAGRAM - GSM_ENVELOPE_OVERHEAD);
	free(huge);
	free(m);
}

/* Every strict prefix of a valid body is rejected, never crashes. */
static void test_truncation(void **state)
{
	struct gsm_msg *m = new_msg(), *d = new_msg();
	uint8_t *copy;
	size_t len;

	(void)state;
	fx_msg(m, GSM_MSG_ACK, 6, adv_refs, 3, 10);
	assert_int_equal(gsm_msg_encode(m, buf, sizeof(buf), &len), 0);
	for (size_t n = 0; n < len; n++) {
		/* exact-size heap copy so ASan/valgrind see any overread */
		copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		int rc = gsm_msg_decode(copy, n, d);
		assert_true(rc == -EBADMSG);
		assert_int_equal(d->n_updates + d->n_adverts + d->n_digest, 0);
		free(copy);
	}
	assert_int_equal(gsm_msg_decode(buf, len, d), 0);
	/* trailing garbage is refused too */
	buf[len] = 0xc0;
	assert_int_equal(gsm_msg_decode(buf, len + 1, d), -EBADMSG);
	free(m);
	free(d);
}

static void test_oversize_and_garbage(void **state)
{
	struct gsm_msg *d = new_msg();
	uint32_t x = 12345;
	size_t ok = 0;

	(void)state;
	assert_int_equal(gsm_msg_decode(buf, GSM_MAX_DATAGRAM + 1, d), -EMSGSIZE);
	assert_int_equal(gsm_msg_decode(NULL, 0, d), -EBADMSG);
	assert_int_equal(gsm_msg_decode(NULL, 5, d), -EINVAL);
	/* random garbage: only defined error codes, no crash */
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)(iter % 300);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (uint8_t)x;
		}
		if (iter % 2)
			buf[0] = 0x8f; /* a map, to get further in */
		int rc = gsm_msg_decode(buf, n, d);
		assert_true(rc == 0 || rc == -EBADMSG || rc == -EMSGSIZE || rc == -ENOMSG);
		ok += rc == 0;
	}
	assert_true(ok < 100);
	free(d);
}

/* A hostile body: huge declared counts, deep nesting, wrong types. */
static void test_hostile_structure(void **state)
{
	struct gsm_msg *d = new_msg();
	static const uint8_t sender_hdr[] = {0x01, 0xc4, 0x20};
	uint8_t *p;

	(void)state;
	/* map32 claiming 4 billion entries */
	static const uint8_t huge_map[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01};
	assert_int_equal(gsm_msg_decode(huge_map, sizeof(huge_map), d), -EBADMSG);
	/* {0:1, 1:sender, 8: array32(0xffffffff)} */
	p = buf;
	*p++ = 0x83;
	*p++ = 0x00;
	*p++ = 0x01;
	memcpy(p, sender_hdr, 3);
	p += 3;
	memset(p, 7, 32);
	p += 32;
	uint8_t *tail = p;
	*p++ = 0x08;
	*p++ = 0xdd;
	memset(p, 0xff, 4);
	p += 4;
	assert_int_equal(gsm_msg_decode(buf, (size_t)(p - buf), d), -EBADMSG);
	/* a count over the bound, with enough bytes present: -EMSGSIZE */
	p = tail;
	*p++ = 0x08;
	*p++ = 0xdc;
	*p++ = 0;
	*p++ = GSM_MAX_UPDATES + 1;
	for (int i = 0; i <= GSM_MAX_UPDATES; i++)
		*p++ = 0x80;
	assert_int_equal(gsm_msg_decode(buf, (size_t)(p - buf), d), -EMSGSIZE);
	/* an update without its required node */
	p = tail;
	*p++ = 0x08;
	*p++ = 0x91;
	*p++ = 0x80;
	assert_int_equal(gsm_msg_decode(buf, (size_t)(p - buf), d), -EBADMSG);
	/* deeply nested unknown value: refused by depth, no stack overflow */
	p = tail;
	*p++ = 0x63; /* unknown key 99 */
	for (int i = 0; i < 10000; i++)
		*p++ = 0x91;
	*p++ = 0xc0;
	assert_int_equal(gsm_msg_decode(buf, (size_t)(p - buf), d), -EBADMSG);
	/* nesting within the limit is skipped fine */
	p = tail;
	*p++ = 0x63;
	for (int i = 0; i < 20; i++)
		*p++ = 0x91;
	*p++ = 0xc0;
	assert_int_equal(gsm_msg_decode(buf, (size_t)(p - buf), d), 0);
	/* wrong type for a known key */
	p = tail;
	*p++ = 0x02;
	*p++ = 0xa1;
	*p++ = 'x';
	assert_int_equal(gsm_msg_decode(buf, (size_t)(p - buf), d), -EBADMSG);
	/* seq out of uint32 range */
	p = tail;
	*p++ = 0x02;
	*p++ = 0xcf;
	memset(p, 0x01, 8);
	p += 8;
	assert_int_equal(gsm_msg_decode(buf, (size_t)(p - buf), d), -EBADMSG);
	/* duplicate known key */
	p = tail;
	*p++ = 0x00;
	*p++ = 0x02;
	assert_int_equal(gsm_msg_decode(buf, (size_t)(p - buf), d), -EBADMSG);
	/* addr with a bad length */
	p = tail;
	*p++ = 0x07;
	*p++ = 0xc4;
	*p++ = 5;
	memset(p, 1, 5);
	p += 5;
	assert_int_equal(gsm_msg_decode(buf, (size_t)(p - buf), d), -EBADMSG);
	/* reserved byte 0xc1 */
	p = tail;
	*p++ = 0x63;
	*p++ = 0xc1;
	assert_int_equal(gsm_msg_decode(buf, (size_t)(p - buf), d), -EBADMSG);
	/* unknown message type from a newer version: well-formed, -ENOMSG */
	p = tail;
	*p++ = 0x0b;
	*p++ = 0x01;
	buf[2] = 0x7f;
	assert_int_equal(gsm_msg_decode(buf, (size_t)(p - buf), d), -ENOMSG);
	buf[2] = 0x00;
	assert_int_equal(gsm_msg_decode(buf, (size_t)(p - buf), d), -EBADMSG);
	free(d);
}

/* Bodies written by msgpack-c's own packer, with keys this version does
 * not know (including nested maps/arrays, string keys, floats, ext, nil),
 * decode; known fields come out right. */
static void pack_junk(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 2);
	msgpack_pack_str(pk, 3);
	msgpack_pack_str_body(pk, "new", 3);
	msgpack_pack_array(pk, 3);
	msgpack_pack_int64(pk, -5);
	msgpack_pack_double(pk, 1.5);
	msgpack_pack_map(pk, 1);
	msgpack_pack_nil(pk);
	msgpack_pack_true(pk);
	msgpack_pack_uint32(pk, 7);
	msgpack_pack_ext(pk, 3, 9);
	msgpack_pack_ext_body(pk, "abc", 3);
}

static void test_unknown_keys_skipped(void **state)
{
	struct gsm_msg *d = new_msg();
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint8_t id[GSM_ID_LEN], node[GSM_ID_LEN];

	(void)state;
	fx_bytes(id, sizeof(id), 1);
	fx_bytes(node, sizeof(node), 2);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 8);
	msgpack_pack_uint8(&pk, 0);
	msgpack_pack_uint8(&pk, GSM_MSG_GOSSIP);
	msgpack_pack_uint8(&pk, 200); /* unknown integer key, nested map */
	pack_junk(&pk);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_bin(&pk, GSM_ID_LEN);
	msgpack_pack_bin_body(&pk, id, GSM_ID_LEN);
	msgpack_pack_str(&pk, 4); /* string key */
	msgpack_pack_str_body(&pk, "what", 4);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_array(&pk, 0);
	msgpack_pack_map(&pk, 0);
	msgpack_pack_int8(&pk, -1); /* negative key */
	msgpack_pack_float(&pk, 2.0f);
	msgpack_pack_uint8(&pk, 8); /* updates: one with an unknown key */
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_uint8(&pk, 0);
	msgpack_pack_bin(&pk, GSM_ID_LEN);
	msgpack_pack_bin_body(&pk, node, GSM_ID_LEN);
	msgpack_pack_uint8(&pk, 77);
	pack_junk(&pk);
	msgpack_pack_uint8(&pk, 3);
	msgpack_pack_int32(&pk, 9);   /* non-negative int in a signed encoding */
	msgpack_pack_uint16(&pk, 15); /* key 15: the next minor's first key */
	msgpack_pack_bin(&pk, 3);
	msgpack_pack_bin_body(&pk, "xyz", 3);
	msgpack_pack_uint8(&pk, 2);
	msgpack_pack_uint64(&pk, 42); /* seq, uint64 encoding of a small value */

	assert_int_equal(gsm_msg_decode((const uint8_t *)sb.data, sb.size, d), 0);
	assert_int_equal(d->type, GSM_MSG_GOSSIP);
	assert_memory_equal(d->sender, id, GSM_ID_LEN);
	assert_int_equal(d->seq, 42);
	assert_int_equal(d->n_updates, 1);
	assert_memory_equal(d->updates[0].node, node, GSM_ID_LEN);
	assert_int_equal(d->updates[0].incarnation, 9);
	msgpack_sbuffer_destroy(&sb);
	free(d);
}

/* Our bytes are standard MessagePack: msgpack-c's unpacker reads them. */
static void test_interop_with_msgpack_unpack(void **state)
{
	struct gsm_msg *m = new_msg();
	msgpack_unpacked u;
	size_t len, off = 0;

	(void)state;
	fx_msg(m, GSM_MSG_ACK, 3, adv_refs, 2, 4);
	assert_int_equal(gsm_msg_encode(m, buf, sizeof(buf), &len), 0);
	msgpack_unpacked_init(&u);
	assert_int_equal(msgpack_unpack_next(&u, (const char *)buf, len, &off),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, len);
	assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
	/* keys ascending */
	for (uint32_t i = 1; i < u.data.via.map.size; i++)
		assert_true(u.data.via.map.ptr[i - 1].key.via.u64 <
			    u.data.via.map.ptr[i].key.via.u64);
	msgpack_unpacked_destroy(&u);
	free(m);
}

/* ---- adverts ---- */

static void test_advert_roundtrip_canonical(void **state)
{
	struct gsm_identity *id = fx_identity(300);
	struct gsm_advert a, b, c;
	uint8_t s1[GSM_MAX_ADVERT], s2[GSM_MAX_ADVERT], body1[GSM_MAX_ADVERT],
	    body2[GSM_MAX_ADVERT];
	size_t l1, l2, b1, b2;
	uint8_t node[GSM_ID_LEN];
	uint64_t g, v;

	(void)state;
	fx_advert_typical(&a, gsm_identity_public(id));
	assert_int_equal(gsm_advert_sign(&a, id, s1, sizeof(s1), &l1), 0);
	assert_int_equal(gsm_advert_verify(s1, l1), 0);
	assert_int_equal(gsm_advert_decode(s1, l1, &b), 0);
	/* decoded labels come back sorted: build the expected struct */
	c = a;
	struct gsm_label t = c.labels[0];
	c.labels[0] = c.labels[2]; /* env */
	c.labels[2] = t;	   /* zone */
	assert_string_equal(c.labels[0].key, "env");
	assert_string_equal(c.labels[1].key, "role");
	assert_memory_equal(&b, &c, sizeof(b));

	/* same advert in another label order -> identical bytes and signature */
	assert_int_equal(gsm_advert_sign(&c, id, s2, sizeof(s2), &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(s1, s2, l1);
	assert_int_equal(gsm_advert_encode_body(&a, body1, sizeof(body1), &b1), 0);
	assert_int_equal(gsm_advert_encode_body(&b, body2, sizeof(body2), &b2), 0);
	assert_int_equal(b1, b2);
	assert_memory_equal(body1, body2, b1);
	/* signed = [bin body, bin64 sig]; the body is the canonical one */
	assert_int_equal(s1[0], 0x92);
	assert_memory_equal(s1 + (b1 < 256 ? 2 : 3) + 1, body1, b1);

	assert_int_equal(gsm_advert_peek(s1, l1, node, &g, &v), 0);
	assert_memory_equal(node, a.node_id, GSM_ID_LEN);
	assert_int_equal(g, a.generation);
	assert_int_equal(v, a.version);
	gsm_identity_free(id);
}

static void test_advert_limits(void **state)
{
	struct gsm_identity *id = fx_identity(301);
	struct gsm_advert a, b;
	uint8_t s[GSM_MAX_ADVERT], body[GSM_MAX_ADVERT];
	size_t l, bl;

	(void)state;
	fx_advert_max(&a, gsm_identity_public(id));
	assert_true(a.n_labels > 0 && a.n_labels < GSM_MAX_LABELS);
	assert_int_equal(gsm_advert_sign(&a, id, s, sizeof(s), &l), 0);
	assert_true(l <= GSM_MAX_ADVERT);
	assert_int_equal(gsm_advert_decode(s, l, &b), 0);
	assert_int_equal(b.n_prefixes, GSM_MAX_PREFIXES);
	assert_int_equal(b.n_endpoints, GSM_MAX_ENDPOINTS);
	assert_int_equal(gsm_advert_verify(s, l), 0);
	/* one more label does not fit */
	struct gsm_label *x = &a.labels[a.n_labels];
	memset(x->key, 'z', GSM_MAX_LABEL_KEY);
	memset(x->value, 'v', GSM_MAX_LABEL_VALUE);
	a.n_labels++;
	assert_int_equal(gsm_advert_encode_body(&a, body, sizeof(body), &bl), -EMSGSIZE);

	/* invalid fields */
	fx_advert_typical(&a, gsm_identity_public(id));
	a.name[3] = '\n';
	assert_int_equal(gsm_advert_encode_body(&a, body, sizeof(body), &bl), -EINVAL);
	fx_advert_typical(&a, gsm_identity_public(id));
	memset(a.name, 'x', sizeof(a.name)); /* not terminated */
	assert_int_equal(gsm_advert_encode_body(&a, body, sizeof(body), &bl), -EINVAL);
	fx_advert_typical(&a, gsm_identity_public(id));
	strcpy(a.labels[1].key, a.labels[0].key); /* duplicate key */
	assert_int_equal(gsm_advert_encode_body(&a, body, sizeof(body), &bl), -EINVAL);
	fx_advert_typical(&a, gsm_identity_public(id));
	a.labels[1].key[0] = 0;
	assert_int_equal(gsm_advert_encode_body(&a, body, sizeof(body), &bl), -EINVAL);
	fx_advert_typical(&a, gsm_identity_public(id));
	a.overlay[0].len = 33;
	assert_int_equal(gsm_advert_encode_body(&a, body, sizeof(body), &bl), -EINVAL);
	fx_advert_typical(&a, gsm_identity_public(id));
	a.endpoints[0].addr.family = 0;
	assert_int_equal(gsm_advert_encode_body(&a, body, sizeof(body), &bl), -EINVAL);
	fx_advert_typical(&a, gsm_identity_public(id));
	a.n_prefixes = GSM_MAX_PREFIXES + 1;
	assert_int_equal(gsm_advert_encode_body(&a, body, sizeof(body), &bl), -EMSGSIZE);
	/* too small a buffer */
	fx_advert_typical(&a, gsm_identity_public(id));
	assert_int_equal(gsm_advert_encode_body(&a, body, 10, &bl), -EMSGSIZE);
	/* signing with someone else's node id */
	a.node_id[0] ^= 1;
	assert_int_equal(gsm_advert_sign(&a, id, s, sizeof(s), &l), -EINVAL);
	/* oversize input */
	assert_int_equal(gsm_advert_decode(s, GSM_MAX_ADVERT + 1, &b), -EMSGSIZE);
	assert_int_equal(gsm_advert_verify(s, GSM_MAX_ADVERT + 1), -EBADMSG);
	gsm_identity_free(id);
}

static void test_advert_truncation_and_garbage(void **state)
{
	struct gsm_identity *id = fx_identity(302);
	struct gsm_advert a, b;
	uint8_t s[GSM_MAX_ADVERT], node[GSM_ID_LEN];
	uint64_t g, v;
	size_t l;
	uint32_t x = 99;

	(void)state;
	fx_advert_typical(&a, gsm_identity_public(id));
	assert_int_equal(gsm_advert_sign(&a, id, s, sizeof(s), &l), 0);
	for (size_t n = 0; n < l; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, s, n);
		assert_int_equal(gsm_advert_decode(copy, n, &b), -EBADMSG);
		assert_int_equal(gsm_advert_verify(copy, n), -EBADMSG);
		assert_int_equal(gsm_advert_peek(copy, n, node, &g, &v), -EBADMSG);
		free(copy);
	}
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = (size_t)(iter % 400);
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (uint8_t)x;
		}
		int rc = gsm_advert_decode(buf, n, &b);
		assert_true(rc == -EBADMSG || rc == -EMSGSIZE || rc == 0);
		rc = gsm_advert_verify(buf, n);
		assert_true(rc == -EBADMSG || rc == -EKEYREJECTED);
	}
	gsm_identity_free(id);
}

/* Unknown keys in an advert body (a newer minor's fields) are skipped by
 * decode and still covered by the signature. */
static void test_advert_unknown_keys(void **state)
{
	struct gsm_identity *id = fx_identity(303);
	struct gsm_advert b;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	uint8_t sig[GSM_SIG_LEN], s[GSM_MAX_ADVERT];
	size_t l;

	(void)state;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 5);
	msgpack_pack_uint8(&pk, 0);
	msgpack_pack_bin(&pk, GSM_ID_LEN);
	msgpack_pack_bin_body(&pk, gsm_identity_public(id), GSM_ID_LEN);
	msgpack_pack_uint8(&pk, 1);
	msgpack_pack_str(&pk, 2);
	msgpack_pack_str_body(&pk, "n1", 2);
	msgpack_pack_uint8(&pk, 8); /* endpoint with an unknown key */
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_uint8(&pk, 0);
	msgpack_pack_bin(&pk, 6);
	msgpack_pack_bin_body(&pk, "\x01\x02\x03\x04\x00\x05", 6);
	msgpack_pack_uint8(&pk, 9);
	pack_junk(&pk);
	msgpack_pack_uint8(&pk, 40);
	pack_junk(&pk);
	msgpack_pack_uint8(&pk, 4);
	msgpack_pack_uint8(&pk, 3);
	assert_int_equal(gsm_sign(id, (const uint8_t *)sb.data, sb.size, sig), 0);
	assert_int_equal(gsm_advert_wrap((const uint8_t *)sb.data, sb.size, sig, s, sizeof(s), &l),
			 0);
	assert_int_equal(gsm_advert_decode(s, l, &b), 0);
	assert_string_equal(b.name, "n1");
	assert_int_equal(b.version, 3);
	assert_int_equal(b.n_endpoints, 1);
	assert_int_equal(b.endpoints[0].addr.port, 5);
	assert_int_equal(gsm_advert_verify(s, l), 0);
	msgpack_sbuffer_destroy(&sb);
	gsm_identity_free(id);
}

/* Decoder refuses non-canonical label order / duplicates and bad text. */
static void test_advert_decode_rejects(void **state)
{
	struct gsm_identity *id = fx_identity(304);
	struct gsm_advert b;
	uint8_t sig[64] = {0}, s[GSM_MAX_ADVERT];
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t l;
	const char *keys[][2] = {{"b", "a"}, {"a", "a"}};

	(void)state;
	for (int k = 0; k < 2; k++) {
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 2);
		msgpack_pack_uint8(&pk, 0);
		msgpack_pack_bin(&pk, GSM_ID_LEN);
		msgpack_pack_bin_body(&pk, gsm_identity_public(id), GSM_ID_LEN);
		msgpack_pack_uint8(&pk, 11);
		msgpack_pack_array(&pk, 2);
		for (int i = 0; i < 2; i++) {
			msgpack_pack_array(&pk, 2);
			msgpack_pack_str(&pk, 1);
			msgpack_pack_str_body(&pk, keys[k][i], 1);
			msgpack_pack_str(&pk, 1);
			msgpack_pack_str_body(&pk, "v", 1);
		}
		assert_int_equal(
		    gsm_advert_wrap((const uint8_t *)sb.data, sb.size, sig, s, sizeof(s), &l), 0);
		assert_int_equal(gsm_advert_decode(s, l, &b), -EBADMSG);
		msgpack_sbuffer_destroy(&sb);
	}
	/* name with an escape character; name too long; missing node id */
	for (int k = 0; k < 3; k++) {
		char name[80];
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, k == 2 ? 1 : 2);
		if (k != 2) {
			msgpack_pack_uint8(&pk, 0);
			msgpack_pack_bin(&pk, GSM_ID_LEN);
			msgpack_pack_bin_body(&pk, gsm_identity_public(id), GSM_ID_LEN);
		}
		memset(name, 'a', sizeof(name));
		if (k == 0)
			name[1] = 0x1b;
		size_t nl = k == 1 ? GSM_MAX_NAME + 1 : 5;
		msgpack_pack_uint8(&pk, 1);
		msgpack_pack_str(&pk, nl);
		msgpack_pack_str_body(&pk, name, nl);
		assert_int_equal(
		    gsm_advert_wrap((const uint8_t *)sb.data, sb.size, sig, s, sizeof(s), &l), 0);
		assert_int_equal(gsm_advert_decode(s, l, &b), k == 1 ? -EMSGSIZE : -EBADMSG);
		msgpack_sbuffer_destroy(&sb);
	}
	gsm_identity_free(id);
}

/* Names and labels are valid UTF-8 without control characters, on both
 * sides of the codec. */
static void test_advert_text_rules(void **state)
{
	struct gsm_identity *id = fx_identity(305);
	struct gsm_advert a, b;
	uint8_t s[GSM_MAX_ADVERT], body[GSM_MAX_ADVERT], sig[GSM_SIG_LEN] = {0};
	size_t l, bl;
	const char *good[] = {"caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x90\x9d", "a b~",
			      "\xf4\x8f\xbf\xbf"};
	const char *bad[] = {"\xc3",
			     "\xc0\xaf",
			     "\xe0\x80\xaf",
			     "\xed\xa0\x80",
			     "\xc2\x9b",
			     "\xf4\x90\x80\x80",
			     "\xf8\x88\x80\x80\x80",
			     "\x80",
			     "a\x7f",
			     "\x1b[2J",
			     "\xe2\x82",
			     "\xf0\x80\x80\x80"};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		fx_advert_typical(&a, gsm_identity_public(id));
		strcpy(a.name, good[i]);
		strcpy(a.labels[0].value, good[i]);
		assert_int_equal(gsm_advert_sign(&a, id, s, sizeof(s), &l), 0);
		assert_int_equal(gsm_advert_decode(s, l, &b), 0);
		assert_string_equal(b.name, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (int where = 0; where < 3; where++) {
			fx_advert_typical(&a, gsm_identity_public(id));
			char *dst = where == 0	 ? a.name
				    : where == 1 ? a.labels[1].key
						 : a.labels[2].value;
			/* keep the label keys' relative order: prefix with their first letter */
			dst[1] = 0;
			strcat(dst, bad[i]);
			assert_int_equal(gsm_advert_encode_body(&a, body, sizeof(body), &bl),
					 -EINVAL);
		}
		/* the same bytes on the wire are refused by the decoder */
		msgpack_sbuffer sb;
		msgpack_packer pk;
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 2);
		msgpack_pack_uint8(&pk, 0);
		msgpack_pack_bin(&pk, GSM_ID_LEN);
		msgpack_pack_bin_body(&pk, gsm_identity_public(id), GSM_ID_LEN);
		msgpack_pack_uint8(&pk, 1);
		msgpack_pack_str(&pk, strlen(bad[i]));
		msgpack_pack_str_body(&pk, bad[i], strlen(bad[i]));
		assert_int_equal(
		    gsm_advert_wrap((const uint8_t *)sb.data, sb.size, sig, s, sizeof(s), &l), 0);
		assert_int_equal(gsm_advert_decode(s, l, &b), -EBADMSG);
		msgpack_sbuffer_destroy(&sb);
	}
	gsm_identity_free(id);
}

static void test_leave_intent(void **state)
{
	uint8_t node[GSM_ID_LEN], out[GSM_LEAVE_INTENT_LEN];

	(void)state;
	fx_bytes(node, sizeof(node), 5);
	gsm_leave_intent(node, 0x0102030405060708ull, 0x1112131415161718ull, out);
	assert_memory_equal(out, "gossamer-leave", 14);
	assert_memory_equal(out + 14, node, GSM_ID_LEN);
	assert_int_equal(out[14 + 32], 0x01);
	assert_int_equal(out[14 + 32 + 7], 0x08);
	assert_int_equal(out[14 + 32 + 8], 0x11);
	assert_int_equal(out[GSM_LEAVE_INTENT_LEN - 1], 0x18);
}

static void test_alive_intent(void **state)
{
	uint8_t node[GSM_ID_LEN], out[GSM_ALIVE_INTENT_LEN], leave[GSM_LEAVE_INTENT_LEN];

	(void)state;
	fx_bytes(node, sizeof(node), 5);
	gsm_alive_intent(node, 0x0102030405060708ull, 0x1112131415161718ull, out);
	assert_int_equal(GSM_ALIVE_INTENT_LEN, 17 + 32 + 16);
	assert_memory_equal(out, "gossamer alive v1", 17);
	assert_memory_equal(out + 17, node, GSM_ID_LEN);
	assert_int_equal(out[17 + 32], 0x01);
	assert_int_equal(out[17 + 32 + 7], 0x08);
	assert_int_equal(out[17 + 32 + 8], 0x11);
	assert_int_equal(out[GSM_ALIVE_INTENT_LEN - 1], 0x18);
	/* domain-separated from the leave intent of the same values */
	gsm_leave_intent(node, 0x0102030405060708ull, 0x1112131415161718ull, leave);
	assert_memory_not_equal(out, leave, 14);
}

/* The claim intent's exact bytes (wire.h), and a signed SUSPECT claim
 * that survives an encode/decode round trip with from and claim_sig, and
 * verifies there; any changed field of it does not verify. */
static void test_claim_intent_and_roundtrip(void **state)
{
	uint8_t node[GSM_ID_LEN], from[GSM_ID_LEN], out[GSM_CLAIM_INTENT_LEN];
	static struct gsm_msg m, d;
	struct gsm_identity *id = fx_identity(7);
	struct gsm_update *u = &m.updates[0], x;
	uint8_t enc[512];
	size_t len;

	(void)state;
	fx_bytes(node, sizeof(node), 5);
	fx_bytes(from, sizeof(from), 6);
	gsm_claim_intent(GSM_STATE_DEAD, node, 0x0102030405060708ull, 0x1112131415161718ull, from,
			 out);
	assert_int_equal(GSM_CLAIM_INTENT_LEN, 95);
	assert_memory_equal(out, "gossamer-claim", 14);
	assert_int_equal(out[14], GSM_STATE_DEAD);
	assert_memory_equal(out + 15, node, GSM_ID_LEN);
	assert_int_equal(out[15 + 32], 0x01);
	assert_int_equal(out[15 + 32 + 7], 0x08);
	assert_int_equal(out[15 + 32 + 8], 0x11);
	assert_int_equal(out[15 + 32 + 15], 0x18);
	assert_memory_equal(out + 15 + 48, from, GSM_ID_LEN);

	gsm_msg_init(&m, GSM_MSG_GOSSIP);
	fx_bytes(m.sender, GSM_ID_LEN, 9);
	m.n_updates = 1;
	memcpy(u->node, node, GSM_ID_LEN);
	u->state = GSM_STATE_SUSPECT;
	u->generation = 3;
	u->incarnation = 4;
	assert_int_equal(gsm_claim_sign(id, u), 0);
	assert_true(u->has_from && u->has_claim_sig);
	assert_memory_equal(u->from, gsm_identity_public(id), GSM_ID_LEN);
	assert_int_equal(gsm_update_encoded_size(u) >= 2 + 1 + 34 + 2 + 2 + 2 + 34 + 66, 1);
	assert_int_equal(gsm_msg_encode(&m, enc, sizeof(enc), &len), 0);
	assert_true(len <= gsm_msg_encoded_size(&m));
	assert_int_equal(gsm_msg_decode(enc, len, &d), 0);
	assert_int_equal(d.n_updates, 1);
	assert_true(d.updates[0].has_claim_sig && d.updates[0].has_from);
	assert_memory_equal(d.updates[0].claim_sig, u->claim_sig, GSM_SIG_LEN);
	assert_memory_equal(d.updates[0].from, u->from, GSM_ID_LEN);
	assert_int_equal(gsm_claim_verify(&d.updates[0]), 0);
	/* the state, the incarnation or the claimer changed: no longer valid */
	x = d.updates[0];
	x.state = GSM_STATE_DEAD;
	assert_int_equal(gsm_claim_verify(&x), -EKEYREJECTED);
	x = d.updates[0];
	x.incarnation++;
	assert_int_equal(gsm_claim_verify(&x), -EKEYREJECTED);
	x = d.updates[0];
	memcpy(x.from, from, GSM_ID_LEN);
	assert_int_equal(gsm_claim_verify(&x), -EKEYREJECTED);
	x.has_claim_sig = 0;
	assert_int_equal(gsm_claim_verify(&x), -EKEYREJECTED);
	x.state = GSM_STATE_ALIVE;
	assert_int_equal(gsm_claim_verify(&x), -EINVAL);
	assert_int_equal(gsm_claim_sign(id, &x), -EINVAL);
	gsm_identity_free(id);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(gsm_msg_type_name(GSM_MSG_PING_REQ), "ping-req");
	assert_string_equal(gsm_msg_type_name(GSM_MSG_SYNC_RESPONSE), "sync-response");
	assert_string_equal(gsm_msg_type_name(0), "unknown");
	assert_string_equal(gsm_state_name(GSM_STATE_SUSPECT), "suspect");
	assert_string_equal(gsm_state_name(9), "unknown");
}

/* The wire key numbers are the format: pin every one of them, so renaming
 * or reordering an enum can never renumber a key. */
static void test_wire_key_numbers(void **state)
{
	static const int msg[] = {
	    GSM_WK_MSG_TYPE,	    GSM_WK_MSG_SENDER,	    GSM_WK_MSG_SEQ,
	    GSM_WK_MSG_TARGET,	    GSM_WK_MSG_TARGET_ADDR, GSM_WK_MSG_ORIGIN,
	    GSM_WK_MSG_ORIGIN_ADDR, GSM_WK_MSG_OBSERVED,    GSM_WK_MSG_UPDATES,
	    GSM_WK_MSG_ADVERTS,	    GSM_WK_MSG_DIGEST,	    GSM_WK_MSG_FLAGS,
	    GSM_WK_MSG_CURSOR,	    GSM_WK_MSG_SENDER_GEN,  GSM_WK_MSG_WG_OBSERVED,
	    GSM_WK_MSG_STATE_HASH,  GSM_WK_MSG_REVOCATIONS, GSM_WK_MSG_REV_HASH};
	static const int upd[] = {GSM_WK_UPDATE_NODE,	    GSM_WK_UPDATE_STATE,
				  GSM_WK_UPDATE_GENERATION, GSM_WK_UPDATE_INCARNATION,
				  GSM_WK_UPDATE_ADDR,	    GSM_WK_UPDATE_FROM,
				  GSM_WK_UPDATE_SIG,	    GSM_WK_UPDATE_CLAIM_SIG};
	static const int adv[] = {
	    GSM_WK_ADVERT_NODE_ID,     GSM_WK_ADVERT_NAME,     GSM_WK_ADVERT_WG_PUBKEY,
	    GSM_WK_ADVERT_GENERATION,  GSM_WK_ADVERT_VERSION,  GSM_WK_ADVERT_WG_PORT,
	    GSM_WK_ADVERT_GOSSIP_PORT, GSM_WK_ADVERT_FLAGS,    GSM_WK_ADVERT_ENDPOINTS,
	    GSM_WK_ADVERT_OVERLAY,     GSM_WK_ADVERT_PREFIXES, GSM_WK_ADVERT_LABELS,
	    GSM_WK_ADVERT_RELAY_VIA,   GSM_WK_ADVERT_CERTS};

	(void)state;
	for (int i = 0; i < (int)(sizeof(msg) / sizeof(msg[0])); i++)
		assert_int_equal(msg[i], i);
	assert_int_equal(GSM_WK_MSG_COUNT, 18);
	for (int i = 0; i < (int)(sizeof(upd) / sizeof(upd[0])); i++)
		assert_int_equal(upd[i], i);
	assert_int_equal(GSM_WK_UPDATE_COUNT, 8);
	for (int i = 0; i < (int)(sizeof(adv) / sizeof(adv[0])); i++)
		assert_int_equal(adv[i], i);
	assert_int_equal(GSM_WK_ADVERT_COUNT, 14);
	assert_int_equal(GSM_WK_EP_ADDR, 0);
	assert_int_equal(GSM_WK_EP_FLAGS, 1);
	assert_int_equal(GSM_WK_EP_OBSERVER, 2);
	assert_int_equal(GSM_WK_EP_COUNT, 3);
	assert_int_equal(GSM_WK_DIGEST_COUNT, 3);
	assert_int_equal(GSM_WK_SIGNED_COUNT, 2);
	assert_int_equal(GSM_WK_LABEL_COUNT, 2);
	assert_int_equal(GSM_WK_ENV_MAJOR, 4);
	assert_int_equal(GSM_WK_ENV_MINOR, 5);
	assert_int_equal(GSM_WK_ENV_KEY_ID, 6);
	assert_int_equal(GSM_WK_ENV_NONCE, 8);
	assert_int_equal(GSM_WK_ENV_NONCE + GSM_NONCE_LEN, GSM_WK_ENV_AUTH);
	assert_int_equal(GSM_WK_ENV_AUTH + 1, GSM_ENVELOPE_HEADER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_all_types),
	    cmocka_unit_test(test_minimal_and_deterministic),
	    cmocka_unit_test(test_item_size_bounds),
	    cmocka_unit_test(test_encode_bounds),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_oversize_and_garbage),
	    cmocka_unit_test(test_hostile_structure),
	    cmocka_unit_test(test_unknown_keys_skipped),
	    cmocka_unit_test(test_interop_with_msgpack_unpack),
	    cmocka_unit_test(test_advert_roundtrip_canonical),
	    cmocka_unit_test(test_advert_limits),
	    cmocka_unit_test(test_advert_truncation_and_garbage),
	    cmocka_unit_test(test_advert_unknown_keys),
	    cmocka_unit_test(test_advert_decode_rejects),
	    cmocka_unit_test(test_advert_text_rules),
	    cmocka_unit_test(test_leave_intent),
	    cmocka_unit_test(test_alive_intent),
	    cmocka_unit_test(test_claim_intent_and_roundtrip),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_wire_key_numbers),
	};
	return cmocka_run_group_tests_name("wire", tests, setup, NULL);
}
