/* tests/unit/test_crypto.c - identities, advert signatures, key ring,
 * envelope (gossip/crypto.h). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "gossip/crypto.h"
#include "gossip/wire.h"
#include "tests/unit/fixtures.h"

static char tmpdir[64];

static int setup(void **state)
{
	(void)state;
	if (gsm_crypto_init())
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gsm-crypto-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	/* only the directory this test created */
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_in_tmp(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", tmpdir, name);
}

static struct gsm_keyring *ring(const char *name, const uint16_t *ids, size_t n, uint16_t primary)
{
	struct gsm_keyring *kr;
	uint8_t k[GSM_CLUSTER_KEY_LEN];

	assert_int_equal(gsm_keyring_new(name, &kr), 0);
	for (size_t i = 0; i < n; i++) {
		fx_bytes(k, sizeof(k), 1000u + ids[i]); /* key id i always has the same key */
		assert_int_equal(gsm_keyring_add(kr, ids[i], k), 0);
	}
	assert_int_equal(gsm_keyring_use(kr, primary), 0);
	return kr;
}

static const uint8_t pbody[] = "\x82\x00\x01\x01\xc4\x20"
			       "0123456789abcdef0123456789abcdef";
static uint8_t nonce[GSM_NONCE_LEN];

static void seal(const struct gsm_keyring *kr, uint8_t *out, size_t *len)
{
	nonce[0]++;
	assert_int_equal(gsm_seal(kr, nonce, pbody, sizeof(pbody), out, 256, len), 0);
	assert_int_equal(*len, sizeof(pbody) + GSM_ENVELOPE_MIN);
}

static void test_seal_open_roundtrip(void **state)
{
	uint16_t ids[] = {7};
	struct gsm_keyring *kr = ring("prod", ids, 1, 7);
	uint8_t d[256], out[256];
	size_t dl, ol;
	uint16_t kid = 0;

	(void)state;
	seal(kr, d, &dl);
	/* header layout: magic, major, minor, key id, nonce */
	assert_memory_equal(d, "GSMR", 4);
	assert_int_equal(d[4], GSM_PROTO_MAJOR);
	assert_int_equal(d[5], GSM_PROTO_MINOR);
	assert_int_equal(d[6] << 8 | d[7], 7);
	assert_memory_equal(d + 8, nonce, GSM_NONCE_LEN);
	assert_int_equal(d[GSM_WK_ENV_AUTH], GSM_ENV_AUTH_NONE);
	assert_int_equal(gsm_envelope_auth(d, dl), GSM_ENV_AUTH_NONE);
	/* ciphertext is not the body */
	assert_memory_not_equal(d + GSM_ENVELOPE_HEADER, pbody, sizeof(pbody));
	assert_int_equal(gsm_open(kr, d, dl, out, sizeof(out), &ol, &kid), 0);
	assert_int_equal(ol, sizeof(pbody));
	assert_memory_equal(out, pbody, sizeof(pbody));
	assert_int_equal(kid, 7);
	/* too small an output buffer */
	assert_int_equal(gsm_open(kr, d, dl, out, sizeof(pbody) - 1, &ol, NULL), -EMSGSIZE);
	assert_int_equal(gsm_seal(kr, nonce, pbody, sizeof(pbody), out,
				  sizeof(pbody) + GSM_ENVELOPE_MIN - 1, &ol),
			 -EMSGSIZE);
	gsm_keyring_free(kr);
}

/* Sealing and opening in place (body at out + GSM_ENVELOPE_HEADER) works:
 * the core encodes straight into the datagram buffer. */
static void test_seal_open_in_place(void **state)
{
	uint16_t ids[] = {3};
	struct gsm_keyring *kr = ring("prod", ids, 1, 3);
	uint8_t d[256], ref[256];
	size_t dl, rl, bl;

	(void)state;
	memcpy(d + GSM_ENVELOPE_HEADER, pbody, sizeof(pbody));
	assert_int_equal(
	    gsm_seal(kr, nonce, d + GSM_ENVELOPE_HEADER, sizeof(pbody), d, sizeof(d), &dl), 0);
	assert_int_equal(gsm_seal(kr, nonce, pbody, sizeof(pbody), ref, sizeof(ref), &rl), 0);
	assert_int_equal(dl, rl);
	assert_memory_equal(d, ref, dl);
	assert_int_equal(gsm_open(kr, d, dl, d + GSM_ENVELOPE_HEADER,
				  sizeof(d) - GSM_ENVELOPE_HEADER, &bl, NULL),
			 0);
	assert_int_equal(bl, sizeof(pbody));
	assert_memory_equal(d + GSM_ENVELOPE_HEADER, pbody, sizeof(pbody));
	gsm_keyring_free(kr);
}

/* Flipping any single bit of a sealed datagram is rejected. */
static void test_every_bit_flip_rejected(void **state)
{
	uint16_t ids[] = {1, 2};
	struct gsm_keyring *kr = ring("prod", ids, 2, 1);
	uint8_t d[256], out[256];
	size_t dl, ol;
	size_t n_auth = 0, n_ver = 0, n_key = 0;

	(void)state;
	seal(kr, d, &dl);
	for (size_t bit = 0; bit < dl * 8; bit++) {
		d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = gsm_open(kr, d, dl, out, sizeof(out), &ol, NULL);
		d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_true(rc < 0);
		assert_true(rc == -EBADMSG || rc == -EPROTONOSUPPORT || rc == -ENOKEY);
		n_auth += rc == -EBADMSG;
		n_ver += rc == -EPROTONOSUPPORT;
		n_key += rc == -ENOKEY;
	}
	/* every major-version bit gives -EPROTONOSUPPORT; every key id bit
	 * turns id 1 into an id that is not installed (never 2: that would
	 * take two flips) -> -ENOKEY; everything else fails authentication */
	assert_int_equal(n_ver, 8);
	assert_int_equal(n_key, 16);
	assert_int_equal(n_auth, dl * 8 - 24);
	/* and the unmodified datagram still opens */
	assert_int_equal(gsm_open(kr, d, dl, out, sizeof(out), &ol, NULL), 0);
	gsm_keyring_free(kr);
}

/* The v3 nonce: 8 bytes big-endian wall clock, then the random part. */
static void test_nonce_time(void **state)
{
	uint8_t rnd[GSM_NONCE_RANDOM_LEN], n[GSM_NONCE_LEN];

	(void)state;
	memset(rnd, 0xab, sizeof(rnd));
	gsm_nonce_make(0x0102030405060708ull, rnd, n);
	assert_int_equal(n[0], 1);
	assert_int_equal(n[7], 8);
	assert_memory_equal(n + GSM_NONCE_TIME_LEN, rnd, sizeof(rnd));
	assert_true(gsm_nonce_time(n) == 0x0102030405060708ull);
}

/* Pair keys: both ends derive the same key, a third party (another key
 * holder) a different one, another cluster another one; a low-order or
 * invalid peer id is refused. */
static void test_pair_key(void **state)
{
	struct gsm_identity *a = fx_identity(11), *b = fx_identity(12), *c = fx_identity(13);
	uint8_t ab[GSM_PAIR_KEY_LEN], ba[GSM_PAIR_KEY_LEN], ac[GSM_PAIR_KEY_LEN],
	    cb[GSM_PAIR_KEY_LEN], ab2[GSM_PAIR_KEY_LEN], k[GSM_PAIR_KEY_LEN];
	/* the Ed25519 identity point (order 1) and a point of order 4 */
	uint8_t low1[GSM_ID_LEN] = {1}, low4[GSM_ID_LEN] = {0}, bad[GSM_ID_LEN];

	(void)state;
	assert_int_equal(gsm_pair_key(a, gsm_identity_public(b), "prod", ab), 0);
	assert_int_equal(gsm_pair_key(b, gsm_identity_public(a), "prod", ba), 0);
	assert_memory_equal(ab, ba, sizeof(ab));
	assert_int_equal(gsm_pair_key(a, gsm_identity_public(c), "prod", ac), 0);
	assert_int_equal(gsm_pair_key(c, gsm_identity_public(b), "prod", cb), 0);
	assert_memory_not_equal(ab, ac, sizeof(ab));
	assert_memory_not_equal(ab, cb, sizeof(ab));
	assert_int_equal(gsm_pair_key(a, gsm_identity_public(b), "staging", ab2), 0);
	assert_memory_not_equal(ab, ab2, sizeof(ab));
	assert_int_equal(gsm_pair_key(a, low1, "prod", k), -EKEYREJECTED);
	assert_int_equal(gsm_pair_key(a, low4, "prod", k), -EKEYREJECTED);
	memset(bad, 0xff, sizeof(bad)); /* not a point encoding */
	assert_int_equal(gsm_pair_key(a, bad, "prod", k), -EKEYREJECTED);
	assert_int_equal(gsm_pair_key(NULL, low1, "prod", k), -EINVAL);
	/* the test-only derivation is symmetric too, and differs */
	gsm_pair_key_public(gsm_identity_public(a), gsm_identity_public(b), "prod", k);
	gsm_pair_key_public(gsm_identity_public(b), gsm_identity_public(a), "prod", ab2);
	assert_memory_equal(k, ab2, sizeof(k));
	assert_memory_not_equal(k, ab, sizeof(k));
	gsm_identity_free(a);
	gsm_identity_free(b);
	gsm_identity_free(c);
}

/* A pair-tagged datagram: auth 1, 16 more bytes, opens with the cluster
 * key alone, and its tag verifies with the pair key only; any bit of the
 * tag flipped is -EKEYREJECTED, the auth byte cannot be stripped. */
static void test_pair_tag(void **state)
{
	uint16_t ids[] = {7};
	struct gsm_keyring *kr = ring("prod", ids, 1, 7);
	struct gsm_identity *a = fx_identity(21), *b = fx_identity(22), *c = fx_identity(23);
	uint8_t ab[GSM_PAIR_KEY_LEN], cb[GSM_PAIR_KEY_LEN], d[256], out[256], plain[256];
	size_t dl, ol, pl;

	(void)state;
	assert_int_equal(gsm_pair_key(a, gsm_identity_public(b), "prod", ab), 0);
	assert_int_equal(gsm_pair_key(c, gsm_identity_public(b), "prod", cb), 0);
	nonce[0]++;
	assert_int_equal(gsm_seal_pair(kr, nonce, ab, pbody, sizeof(pbody), d, sizeof(d), &dl), 0);
	assert_int_equal(dl, sizeof(pbody) + GSM_ENVELOPE_OVERHEAD);
	assert_int_equal(gsm_envelope_auth(d, dl), GSM_ENV_AUTH_PAIR);
	assert_int_equal(gsm_open(kr, d, dl, out, sizeof(out), &ol, NULL), 0);
	assert_int_equal(ol, sizeof(pbody));
	assert_memory_equal(out, pbody, sizeof(pbody));
	assert_int_equal(gsm_pair_tag_verify(ab, d, dl), 0);
	assert_int_equal(gsm_pair_tag_verify(cb, d, dl), -EKEYREJECTED);
	for (size_t bit = 0; bit < GSM_PAIR_TAG_LEN * 8; bit++) {
		uint8_t *p = d + dl - GSM_PAIR_TAG_LEN + bit / 8;

		*p ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(gsm_open(kr, d, dl, out, sizeof(out), &ol, NULL), 0);
		assert_int_equal(gsm_pair_tag_verify(ab, d, dl), -EKEYREJECTED);
		*p ^= (uint8_t)(1u << (bit % 8));
	}
	/* without the pair key it is auth 0 and 16 bytes shorter; a tag
	 * cannot be stripped (auth 1 is authenticated) or claimed */
	assert_int_equal(gsm_seal(kr, nonce, pbody, sizeof(pbody), plain, sizeof(plain), &pl), 0);
	assert_int_equal(pl + GSM_PAIR_TAG_LEN, dl);
	assert_int_equal(gsm_pair_tag_verify(ab, plain, pl), -EBADMSG);
	assert_int_equal(gsm_open(kr, d, dl - GSM_PAIR_TAG_LEN, out, sizeof(out), &ol, NULL),
			 -EBADMSG);
	d[GSM_WK_ENV_AUTH] = 2;
	assert_int_equal(gsm_open(kr, d, dl, out, sizeof(out), &ol, NULL), -EBADMSG);
	gsm_identity_free(a);
	gsm_identity_free(b);
	gsm_identity_free(c);
	gsm_keyring_free(kr);
}

static void test_wrong_key_name_id_version(void **state)
{
	uint16_t ids1[] = {1}, ids9[] = {9};
	struct gsm_keyring *a = ring("prod", ids1, 1, 1);
	struct gsm_keyring *other_name = ring("staging", ids1, 1, 1);
	struct gsm_keyring *unknown_id = ring("prod", ids9, 1, 9);
	struct gsm_keyring *wrong_key;
	uint8_t d[256], out[256], k[GSM_CLUSTER_KEY_LEN];
	size_t dl, ol;

	(void)state;
	assert_int_equal(gsm_keyring_new("prod", &wrong_key), 0);
	fx_bytes(k, sizeof(k), 4242);
	assert_int_equal(gsm_keyring_add(wrong_key, 1, k), 0);

	seal(a, d, &dl);
	assert_int_equal(gsm_open(wrong_key, d, dl, out, sizeof(out), &ol, NULL), -EBADMSG);
	assert_int_equal(gsm_open(other_name, d, dl, out, sizeof(out), &ol, NULL), -EBADMSG);
	assert_int_equal(gsm_open(unknown_id, d, dl, out, sizeof(out), &ol, NULL), -ENOKEY);
	assert_int_equal(gsm_open(a, d, dl, out, sizeof(out), &ol, NULL), 0);
	/* other major version, refused before authentication */
	d[4] = GSM_PROTO_MAJOR + 1;
	assert_int_equal(gsm_open(a, d, dl, out, sizeof(out), &ol, NULL), -EPROTONOSUPPORT);
	uint8_t major = 0;
	assert_int_equal(gsm_envelope_peek(d, dl, &major, NULL, NULL), -EPROTONOSUPPORT);
	assert_int_equal(major, GSM_PROTO_MAJOR + 1);
	d[4] = GSM_PROTO_MAJOR;
	/* a different minor is fine on its own, but it is authenticated */
	d[5] = 1;
	assert_int_equal(gsm_envelope_peek(d, dl, NULL, NULL, NULL), 0);
	assert_int_equal(gsm_open(a, d, dl, out, sizeof(out), &ol, NULL), -EBADMSG);
	d[5] = GSM_PROTO_MINOR;
	/* truncated: every prefix */
	for (size_t n = 0; n < dl; n++)
		assert_true(gsm_open(a, d, n, out, sizeof(out), &ol, NULL) == -EBADMSG);
	/* oversized: refused up front */
	static uint8_t big[GSM_MAX_DATAGRAM + 1];
	memcpy(big, d, dl);
	assert_int_equal(gsm_open(a, big, sizeof(big), out, sizeof(out), &ol, NULL), -EMSGSIZE);
	/* garbage */
	uint8_t g[200];
	for (int i = 0; i < 1000; i++) {
		fx_bytes(g, sizeof(g), (uint32_t)i);
		if (i % 2)
			memcpy(g, d, 8); /* valid header, garbage rest */
		int rc = gsm_open(a, g, (size_t)(i % 200), out, sizeof(out), &ol, NULL);
		assert_true(rc == -EBADMSG || rc == -EPROTONOSUPPORT || rc == -ENOKEY);
	}
	/* empty ring cannot seal */
	struct gsm_keyring *empty;
	assert_int_equal(gsm_keyring_new("prod", &empty), 0);
	assert_int_equal(gsm_seal(empty, nonce, pbody, sizeof(pbody), out, sizeof(out), &ol),
			 -ENOKEY);
	assert_int_equal(gsm_open(empty, d, dl, out, sizeof(out), &ol, NULL), -ENOKEY);
	gsm_keyring_free(empty);
	gsm_keyring_free(a);
	gsm_keyring_free(other_name);
	gsm_keyring_free(unknown_id);
	gsm_keyring_free(wrong_key);
}

/* Rolling rotation without a flag day. */
static void test_key_rotation(void **state)
{
	uint16_t old_only[] = {1}, both[] = {1, 2};
	struct gsm_keyring *a = ring("prod", old_only, 1, 1);
	struct gsm_keyring *b = ring("prod", both, 2, 2);
	uint8_t da[256], db[256], old_dgram[256], out[256], k2[GSM_CLUSTER_KEY_LEN];
	size_t la, lb, lold, ol;
	uint16_t kid;

	(void)state;
	/* step 0: A only has key 1; B already installed 2 but... B's primary is
	 * 2 too early: A cannot read B (this is why step 1 must complete
	 * everywhere before step 2) */
	seal(b, db, &lb);
	assert_int_equal(gsm_open(a, db, lb, out, sizeof(out), &ol, NULL), -ENOKEY);
	seal(a, old_dgram, &lold);

	/* step 1: install 2 on A (primary stays 1) */
	fx_bytes(k2, sizeof(k2), 1002);
	assert_int_equal(gsm_keyring_add(a, 2, k2), 0);
	assert_int_equal(gsm_keyring_primary(a), 1);
	/* A {1,2} primary 1, B {1,2} primary 2: both read each other */
	seal(a, da, &la);
	seal(b, db, &lb);
	assert_int_equal(gsm_open(b, da, la, out, sizeof(out), &ol, &kid), 0);
	assert_int_equal(kid, 1);
	assert_int_equal(gsm_open(a, db, lb, out, sizeof(out), &ol, &kid), 0);
	assert_int_equal(kid, 2);

	/* step 2: A uses 2 */
	assert_int_equal(gsm_keyring_use(a, 2), 0);
	seal(a, da, &la);
	assert_int_equal(gsm_open(b, da, la, out, sizeof(out), &ol, &kid), 0);
	assert_int_equal(kid, 2);

	/* step 3: remove 1 everywhere; old-key datagrams are now rejected */
	assert_int_equal(gsm_keyring_remove(a, 1), 0);
	assert_int_equal(gsm_keyring_remove(b, 1), 0);
	assert_int_equal(gsm_open(a, old_dgram, lold, out, sizeof(out), &ol, NULL), -ENOKEY);
	assert_int_equal(gsm_open(b, old_dgram, lold, out, sizeof(out), &ol, NULL), -ENOKEY);
	seal(a, da, &la);
	assert_int_equal(gsm_open(b, da, la, out, sizeof(out), &ol, NULL), 0);
	assert_int_equal(gsm_keyring_count(a), 1);
	gsm_keyring_free(a);
	gsm_keyring_free(b);
}

static void test_keyring_ops(void **state)
{
	struct gsm_keyring *kr;
	uint8_t k[GSM_CLUSTER_KEY_LEN], k2[GSM_CLUSTER_KEY_LEN];
	uint16_t ids[GSM_MAX_KEYS];
	char longname[GSM_MAX_CLUSTER_NAME + 2];

	(void)state;
	assert_int_equal(gsm_keyring_new("", &kr), -EINVAL);
	memset(longname, 'c', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(gsm_keyring_new(longname, &kr), -EINVAL);
	longname[GSM_MAX_CLUSTER_NAME] = 0;
	assert_int_equal(gsm_keyring_new(longname, &kr), 0);
	assert_string_equal(gsm_keyring_cluster_name(kr), longname);
	assert_int_equal(gsm_keyring_primary(kr), -ENOENT);
	fx_bytes(k, sizeof(k), 1);
	fx_bytes(k2, sizeof(k2), 2);
	assert_int_equal(gsm_keyring_add(kr, 5, k), 0);
	assert_int_equal(gsm_keyring_primary(kr), 5);	/* first key is primary */
	assert_int_equal(gsm_keyring_add(kr, 5, k), 0); /* idempotent */
	assert_int_equal(gsm_keyring_add(kr, 5, k2), -EEXIST);
	assert_int_equal(gsm_keyring_remove(kr, 5), -EBUSY);
	assert_int_equal(gsm_keyring_remove(kr, 6), -ENOENT);
	assert_int_equal(gsm_keyring_use(kr, 6), -ENOENT);
	for (uint16_t i = 1; i < GSM_MAX_KEYS; i++)
		assert_int_equal(gsm_keyring_add(kr, (uint16_t)(100 + i), k2), 0);
	assert_int_equal(gsm_keyring_add(kr, 999, k2), -ENOSPC);
	assert_int_equal(gsm_keyring_count(kr), GSM_MAX_KEYS);
	assert_int_equal(gsm_keyring_use(kr, 103), 0);
	assert_int_equal(gsm_keyring_ids(kr, ids, GSM_MAX_KEYS), GSM_MAX_KEYS);
	assert_int_equal(ids[0], 103);
	assert_int_equal(ids[1], 5);
	assert_int_equal(gsm_keyring_remove(kr, 5), 0);
	assert_int_equal(gsm_keyring_primary(kr), 103);
	assert_false(gsm_keyring_has(kr, 5));
	assert_true(gsm_keyring_has(kr, 101));
	gsm_keyring_free(kr);
	gsm_keyring_free(NULL);
	gsm_identity_free(NULL);
}

static void test_identity_files(void **state)
{
	struct gsm_identity *id, *back;
	char p[128];
	struct stat st;
	uint8_t sig1[64], sig2[64];

	(void)state;
	path_in_tmp(p, sizeof(p), "node.key");
	assert_int_equal(gsm_identity_generate(&id), 0);
	assert_int_equal(gsm_identity_save(id, p), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(gsm_identity_load(p, &back), 0);
	assert_memory_equal(gsm_identity_public(id), gsm_identity_public(back), GSM_ID_LEN);
	assert_int_equal(gsm_sign(id, (const uint8_t *)"x", 1, sig1), 0);
	assert_int_equal(gsm_sign(back, (const uint8_t *)"x", 1, sig2), 0);
	assert_memory_equal(sig1, sig2, 64);
	gsm_identity_free(back);

	/* file format: one base64 line of 32 bytes */
	FILE *f = fopen(p, "r");
	char line[128];
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(strlen(line), 45); /* 44 base64 chars + newline */
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);

	/* group/world readable -> -EACCES */
	mode_t bad[] = {0640, 0604, 0644, 0660, 0610};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(p, bad[i]), 0);
		back = (struct gsm_identity *)1;
		assert_int_equal(gsm_identity_load(p, &back), -EACCES);
		assert_null(back);
	}
	assert_int_equal(chmod(p, 0400), 0);
	assert_int_equal(gsm_identity_load(p, &back), 0);
	gsm_identity_free(back);

	/* saving over an existing file replaces it atomically, mode 0600 */
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(gsm_identity_save(id, p), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	/* malformed contents */
	const char *badtext[] = {"", "not base64!!\n", "AAAA\n",
				 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"};
	for (size_t i = 0; i < sizeof(badtext) / sizeof(badtext[0]); i++) {
		int fd = open(p, O_WRONLY | O_TRUNC);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, badtext[i], strlen(badtext[i])),
				 (ssize_t)strlen(badtext[i]));
		close(fd);
		assert_int_equal(gsm_identity_load(p, &back), -EINVAL);
	}
	path_in_tmp(p, sizeof(p), "missing.key");
	assert_int_equal(gsm_identity_load(p, &back), -ENOENT);
	path_in_tmp(p, sizeof(p), "nodir/x.key");
	assert_int_equal(gsm_identity_save(id, p), -ENOENT);
	gsm_identity_free(id);
}

static void test_keyring_files(void **state)
{
	uint16_t ids[] = {3, 1, 2};
	struct gsm_keyring *kr = ring("prod", ids, 3, 2), *back;
	uint8_t d[256], out[256];
	size_t dl, ol;
	uint16_t got[GSM_MAX_KEYS];
	char p[128];
	struct stat st;

	(void)state;
	path_in_tmp(p, sizeof(p), "cluster.keys");
	assert_int_equal(gsm_keyring_save(kr, p), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(gsm_keyring_load(p, "prod", &back), 0);
	assert_int_equal(gsm_keyring_primary(back), 2);
	assert_int_equal(gsm_keyring_ids(back, got, GSM_MAX_KEYS), 3);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[1], 3);
	assert_int_equal(got[2], 1);
	seal(kr, d, &dl);
	assert_int_equal(gsm_open(back, d, dl, out, sizeof(out), &ol, NULL), 0);
	gsm_keyring_free(back);

	/* the cluster name comes from the caller, not the file */
	assert_int_equal(gsm_keyring_load(p, "other", &back), 0);
	assert_int_equal(gsm_open(back, d, dl, out, sizeof(out), &ol, NULL), -EBADMSG);
	gsm_keyring_free(back);

	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(gsm_keyring_load(p, "prod", &back), -EACCES);

	/* hand-written file with comments and blank lines */
	char k64[64];
	uint8_t k[GSM_CLUSTER_KEY_LEN];
	fx_bytes(k, sizeof(k), 1000u + 7);
	assert_int_equal(gsm_b64_encode(k, sizeof(k), k64, sizeof(k64)), 44);
	FILE *f = fopen(p, "w");
	fprintf(f, "# keys\n\n  7 %s  \r\n# old\n", k64);
	fclose(f);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(gsm_keyring_load(p, "prod", &back), 0);
	assert_int_equal(gsm_keyring_primary(back), 7);
	assert_int_equal(gsm_keyring_count(back), 1);
	gsm_keyring_free(back);

	char bad[6][160];
	snprintf(bad[0], sizeof(bad[0]), "# nothing\n");
	snprintf(bad[1], sizeof(bad[1]), "x AAAA\n");
	snprintf(bad[2], sizeof(bad[2]), "70000 %s\n", k64);
	snprintf(bad[3], sizeof(bad[3]), "1 AAAA\n");
	snprintf(bad[4], sizeof(bad[4]), "1 %s\n1 %s\n", k64, k64);
	snprintf(bad[5], sizeof(bad[5]), "1%s\n", k64);
	int want[] = {-ENOKEY, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL};
	for (size_t i = 0; i < 6; i++) {
		f = fopen(p, "w");
		fputs(bad[i], f);
		fclose(f);
		back = NULL;
		assert_int_equal(gsm_keyring_load(p, "prod", &back), want[i]);
		assert_null(back);
	}
	gsm_keyring_free(kr);
}

/* Signature covers every advert field. */
static void test_advert_signature_covers_every_field(void **state)
{
	struct gsm_identity *id = fx_identity(50);
	struct gsm_advert a, m;
	uint8_t s[GSM_MAX_ADVERT], t[GSM_MAX_ADVERT], body[GSM_MAX_ADVERT];
	uint8_t sig[GSM_SIG_LEN];
	size_t sl, tl, bl;

	(void)state;
	fx_advert_typical(&a, gsm_identity_public(id));
	assert_int_equal(gsm_advert_sign(&a, id, s, sizeof(s), &sl), 0);
	assert_int_equal(gsm_advert_verify(s, sl), 0);
	/* the signature is the last 64 bytes */
	memcpy(sig, s + sl - GSM_SIG_LEN, GSM_SIG_LEN);

	for (int field = 0; field < 21; field++) {
		m = a;
		switch (field) {
		case 0:
			m.name[0] ^= 1;
			break;
		case 1:
			m.wg_pubkey[5] ^= 1;
			break;
		case 2:
			m.generation++;
			break;
		case 3:
			m.version++;
			break;
		case 4:
			m.wg_port++;
			break;
		case 5:
			m.gossip_port++;
			break;
		case 6:
			m.flags ^= GSM_ADV_BEHIND_NAT;
			break;
		case 7:
			m.endpoints[0].addr.ip[3] ^= 1;
			break;
		case 8:
			m.endpoints[1].addr.port++;
			break;
		case 9:
			m.endpoints[0].flags ^= GSM_EP_OBSERVED;
			break;
		case 10:
			m.endpoints[1].observer[0] ^= 1;
			break;
		case 11:
			m.n_endpoints = 1;
			break;
		case 12:
			m.overlay[1].ip[15] ^= 1;
			break;
		case 13:
			m.overlay[0].len--;
			break;
		case 14:
			m.prefixes[0].ip[2] ^= 1;
			break;
		case 15:
			m.n_prefixes = 1;
			break;
		case 16:
			m.labels[0].value[0] ^= 1;
			break;
		case 17:
			m.labels[1].key[0] ^= 1;
			break;
		case 18:
			m.n_labels = 2;
			break;
		case 19:
			m.relay_via[31] ^= 1;
			break;
		case 20:
			m.has_relay_via = 0;
			break;
		}
		assert_int_equal(gsm_advert_encode_body(&m, body, sizeof(body), &bl), 0);
		assert_int_equal(gsm_advert_wrap(body, bl, sig, t, sizeof(t), &tl), 0);
		assert_int_equal(gsm_advert_decode(t, tl, &m), 0); /* well-formed */
		assert_int_equal(gsm_advert_verify(t, tl), -EKEYREJECTED);
	}
	/* node id: someone else claims the advert */
	struct gsm_identity *other = fx_identity(51);
	m = a;
	memcpy(m.node_id, gsm_identity_public(other), GSM_ID_LEN);
	assert_int_equal(gsm_advert_encode_body(&m, body, sizeof(body), &bl), 0);
	assert_int_equal(gsm_advert_wrap(body, bl, sig, t, sizeof(t), &tl), 0);
	assert_int_equal(gsm_advert_verify(t, tl), -EKEYREJECTED);
	/* ... and signing it with their own key works for them */
	assert_int_equal(gsm_advert_sign(&m, other, t, sizeof(t), &tl), 0);
	assert_int_equal(gsm_advert_verify(t, tl), 0);
	gsm_identity_free(other);

	/* any bit flip anywhere in the signed advert is rejected */
	for (size_t bit = 0; bit < sl * 8; bit++) {
		s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = gsm_advert_verify(s, sl);
		s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_true(rc == -EKEYREJECTED || rc == -EBADMSG);
	}
	assert_int_equal(gsm_advert_verify(s, sl), 0);

	/* deterministic: same advert, same signature */
	assert_int_equal(gsm_advert_sign(&a, id, t, sizeof(t), &tl), 0);
	assert_int_equal(tl, sl);
	assert_memory_equal(s, t, sl);
	gsm_identity_free(id);
}

static void test_sign_verify_leave(void **state)
{
	struct gsm_identity *id = fx_identity(60);
	uint8_t intent[GSM_LEAVE_INTENT_LEN], sig[GSM_SIG_LEN];

	(void)state;
	gsm_leave_intent(gsm_identity_public(id), 5, 9, intent);
	assert_int_equal(gsm_sign(id, intent, sizeof(intent), sig), 0);
	assert_int_equal(gsm_verify(gsm_identity_public(id), intent, sizeof(intent), sig), 0);
	gsm_leave_intent(gsm_identity_public(id), 5, 10, intent);
	assert_int_equal(gsm_verify(gsm_identity_public(id), intent, sizeof(intent), sig),
			 -EKEYREJECTED);
	gsm_identity_free(id);
}

static void test_b64(void **state)
{
	uint8_t in[5] = {0, 1, 2, 0xfe, 0xff}, out[8];
	char s[16];
	size_t n;

	(void)state;
	assert_int_equal(gsm_b64_encode(in, sizeof(in), s, sizeof(s)), 8);
	assert_string_equal(s, "AAEC/v8=");
	assert_int_equal(gsm_b64_encode(in, sizeof(in), s, 8), -EMSGSIZE);
	assert_int_equal(gsm_b64_decode("AAEC/v8=\n", out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, in, 5);
	assert_int_equal(gsm_b64_decode("AAEC/v8", out, sizeof(out), &n), -EINVAL);
	assert_int_equal(gsm_b64_decode("AAEC/v8=junk", out, sizeof(out), &n), -EINVAL);
	assert_int_equal(gsm_b64_decode("AAEC/v8=", out, 4, &n), -EINVAL);
}

static void test_strerror(void **state)
{
	int codes[] = {EBADMSG, EMSGSIZE, EPROTONOSUPPORT, EINVAL, EKEYREJECTED, ENOKEY, ENOMSG,
		       EACCES,	ENOENT,	  EEXIST,	   EBUSY,  ENOSPC,	 ENOMEM};
	size_t n = sizeof(codes) / sizeof(codes[0]);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		const char *m = gsm_strerror(-codes[i]);
		assert_non_null(m);
		assert_string_not_equal(m, "unknown error");
		assert_string_equal(m, gsm_strerror(codes[i]));
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(m, gsm_strerror(-codes[j]));
	}
	assert_string_equal(gsm_strerror(0), "success");
	assert_string_equal(gsm_strerror(-123456), "unknown error");
}

/* Secrets are never read through a symlink, even to a good 0600 file. */
static void test_key_files_refuse_symlinks(void **state)
{
	uint16_t ids[] = {4};
	struct gsm_keyring *kr = ring("prod", ids, 1, 4), *back = NULL;
	struct gsm_identity *id, *idback = NULL;
	char real[128], link[128];

	(void)state;
	assert_int_equal(gsm_identity_generate(&id), 0);
	path_in_tmp(real, sizeof(real), "real.key");
	path_in_tmp(link, sizeof(link), "link.key");
	assert_int_equal(gsm_identity_save(id, real), 0);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(gsm_identity_load(link, &idback), -ELOOP);
	assert_null(idback);
	assert_int_equal(gsm_identity_load(real, &idback), 0);
	gsm_identity_free(idback);

	path_in_tmp(real, sizeof(real), "real.keys");
	path_in_tmp(link, sizeof(link), "link.keys");
	assert_int_equal(gsm_keyring_save(kr, real), 0);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(gsm_keyring_load(link, "prod", &back), -ELOOP);
	assert_null(back);
	assert_int_equal(gsm_keyring_load(real, "prod", &back), 0);
	gsm_keyring_free(back);

	assert_string_not_equal(gsm_strerror(-ELOOP), "unknown error");
	assert_non_null(strstr(gsm_strerror(-ELOOP), "symbolic link"));
	gsm_identity_free(id);
	gsm_keyring_free(kr);
}

/* The text forms round-trip and agree with the files. */
static void test_key_text_forms(void **state)
{
	uint16_t ids[] = {3, 1, 2}, got[GSM_MAX_KEYS];
	struct gsm_keyring *kr = ring("prod", ids, 3, 1), *back;
	struct gsm_identity *id, *idback;
	char text[512];
	size_t len;

	(void)state;
	assert_int_equal(gsm_identity_generate(&id), 0);
	assert_int_equal(gsm_identity_to_text(id, text, sizeof(text), &len), 0);
	assert_int_equal(len, 45);
	assert_int_equal(text[44], '\n');
	assert_int_equal(gsm_identity_from_text(text, &idback), 0);
	assert_memory_equal(gsm_identity_public(id), gsm_identity_public(idback), GSM_ID_LEN);
	gsm_identity_free(idback);
	assert_int_equal(gsm_identity_to_text(id, text, 45, &len), -EMSGSIZE);
	assert_int_equal(gsm_identity_from_text("AAAA", &idback), -EINVAL);
	assert_null(idback);

	assert_int_equal(gsm_keyring_format(kr, text, sizeof(text), &len), 0);
	assert_int_equal(strlen(text), len);
	assert_int_equal(gsm_keyring_parse(text, "prod", &back), 0);
	assert_int_equal(gsm_keyring_ids(back, got, GSM_MAX_KEYS), 3);
	assert_int_equal(got[0], 1); /* primary written first, then install order */
	assert_int_equal(got[1], 3);
	assert_int_equal(got[2], 2);
	gsm_keyring_free(back);
	assert_int_equal(gsm_keyring_format(kr, text, 80, &len), -EMSGSIZE);
	assert_int_equal(gsm_keyring_parse("# none\n", "prod", &back), -ENOKEY);
	gsm_identity_free(id);
	gsm_keyring_free(kr);
}

/* A loaded ring's primary is the file's first key; ids come in file order. */
static void test_keyring_load_primary_is_first_line(void **state)
{
	uint8_t k[GSM_CLUSTER_KEY_LEN];
	char k5[64], k4[64], p[128];
	uint16_t got[GSM_MAX_KEYS];
	struct gsm_keyring *back;
	FILE *f;

	(void)state;
	fx_bytes(k, sizeof(k), 1005);
	assert_int_equal(gsm_b64_encode(k, sizeof(k), k5, sizeof(k5)), 44);
	fx_bytes(k, sizeof(k), 1004);
	assert_int_equal(gsm_b64_encode(k, sizeof(k), k4, sizeof(k4)), 44);
	path_in_tmp(p, sizeof(p), "order.keys");
	f = fopen(p, "w");
	fprintf(f, "# c\n9 %s\n5 %s\n4 %s\n", k4, k5, k4);
	fclose(f);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(gsm_keyring_load(p, "prod", &back), 0);
	assert_int_equal(gsm_keyring_primary(back), 9);
	assert_int_equal(gsm_keyring_ids(back, got, GSM_MAX_KEYS), 3);
	assert_int_equal(got[0], 9);
	assert_int_equal(got[1], 5);
	assert_int_equal(got[2], 4);
	gsm_keyring_free(back);
}

static void assert_ids(const struct gsm_keyring *kr, const uint16_t *want, size_t n)
{
	uint16_t got[GSM_MAX_KEYS];

	assert_int_equal(gsm_keyring_ids(kr, got, GSM_MAX_KEYS), n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(got[i], want[i]);
}

static void test_keyring_merge(void **state)
{
	struct gsm_keyring_merge_result res;
	struct gsm_keyring *kr, *from;
	uint8_t d[256], out[256];
	size_t dl, ol;

	(void)state;
	/* add: {1} + file {1, 2} */
	kr = ring("prod", (uint16_t[]){1}, 1, 1);
	from = ring("prod", (uint16_t[]){1, 2}, 2, 1);
	assert_int_equal(gsm_keyring_merge(kr, from, &res), 0);
	assert_int_equal(res.added, 1);
	assert_int_equal(res.removed, 0);
	assert_int_equal(res.primary_changed, 0);
	assert_int_equal(res.primary, 1);
	assert_ids(kr, (uint16_t[]){1, 2}, 2);
	/* the same file again is a no-op */
	assert_int_equal(gsm_keyring_merge(kr, from, &res), 0);
	assert_int_equal(res.added + res.removed + (size_t)res.primary_changed, 0);
	gsm_keyring_free(from);
	gsm_keyring_free(kr);

	/* remove: {1, 2, 3} + file {1, 3} */
	kr = ring("prod", (uint16_t[]){1, 2, 3}, 3, 1);
	from = ring("prod", (uint16_t[]){1, 3}, 2, 1);
	assert_int_equal(gsm_keyring_merge(kr, from, &res), 0);
	assert_int_equal(res.added, 0);
	assert_int_equal(res.removed, 1);
	assert_int_equal(res.primary_changed, 0);
	assert_ids(kr, (uint16_t[]){1, 3}, 2);
	gsm_keyring_free(from);
	gsm_keyring_free(kr);

	/* switch primary: {1, 2} primary 1 + file {2, 1}; keys keep their order */
	kr = ring("prod", (uint16_t[]){1, 2}, 2, 1);
	from = ring("prod", (uint16_t[]){2, 1}, 2, 2);
	assert_int_equal(gsm_keyring_merge(kr, from, &res), 0);
	assert_int_equal(res.added, 0);
	assert_int_equal(res.removed, 0);
	assert_int_equal(res.primary_changed, 1);
	assert_int_equal(res.primary, 2);
	assert_ids(kr, (uint16_t[]){2, 1}, 2);
	gsm_keyring_free(from);
	gsm_keyring_free(kr);

	/* drop the old primary: {1, 2} primary 1 + file {3, 2}: 3 added, 1 gone */
	kr = ring("prod", (uint16_t[]){1, 2}, 2, 1);
	from = ring("prod", (uint16_t[]){3, 2}, 2, 3);
	assert_int_equal(gsm_keyring_merge(kr, from, &res), 0);
	assert_int_equal(res.added, 1);
	assert_int_equal(res.removed, 1);
	assert_int_equal(res.primary_changed, 1);
	assert_int_equal(res.primary, 3);
	assert_ids(kr, (uint16_t[]){3, 2}, 2);
	assert_int_equal(gsm_keyring_has(kr, 1), 0);
	gsm_keyring_free(from);
	gsm_keyring_free(kr);

	/* a changed key under an existing id: refused, nothing changed (not
	 * even the unlisted key 3, the new key 4 or the primary) */
	kr = ring("prod", (uint16_t[]){1, 2, 3}, 3, 1);
	from = ring("prod", (uint16_t[]){4}, 1, 4);
	uint8_t other[GSM_CLUSTER_KEY_LEN];
	fx_bytes(other, sizeof(other), 77);
	assert_int_equal(gsm_keyring_add(from, 2, other), 0);
	seal(kr, d, &dl);
	assert_int_equal(gsm_keyring_merge(kr, from, &res), -EEXIST);
	assert_int_equal(res.conflict_id, 2);
	assert_int_equal(res.added + res.removed, 0);
	assert_int_equal(gsm_keyring_primary(kr), 1);
	assert_ids(kr, (uint16_t[]){1, 2, 3}, 3);
	assert_int_equal(gsm_open(kr, d, dl, out, sizeof(out), &ol, NULL), 0);
	assert_int_equal(gsm_keyring_use(kr, 2), 0);
	seal(kr, d, &dl); /* key 2 is still the original key */
	struct gsm_keyring *orig = ring("prod", (uint16_t[]){2}, 1, 2);
	assert_int_equal(gsm_open(orig, d, dl, out, sizeof(out), &ol, NULL), 0);
	gsm_keyring_free(orig);
	gsm_keyring_free(from);
	gsm_keyring_free(kr);

	/* a full file while the old, unlisted primary still holds a slot:
	 * -ENOSPC (as the step order implies), and nothing changed */
	kr = ring("prod", (uint16_t[]){1, 2}, 2, 1);
	from = ring("prod", (uint16_t[]){2, 3, 4, 5, 6, 7, 8, 9}, GSM_MAX_KEYS, 2);
	assert_int_equal(gsm_keyring_merge(kr, from, &res), -ENOSPC);
	assert_int_equal(res.added + res.removed, 0);
	assert_int_equal(gsm_keyring_primary(kr), 1);
	assert_ids(kr, (uint16_t[]){1, 2}, 2);
	gsm_keyring_free(from);

	/* bad arguments */
	assert_int_equal(gsm_keyring_merge(NULL, kr, &res), -EINVAL);
	assert_int_equal(gsm_keyring_merge(kr, NULL, &res), -EINVAL);
	assert_int_equal(gsm_keyring_merge(kr, kr, NULL), -EINVAL);
	assert_int_equal(gsm_keyring_new("prod", &from), 0);
	assert_int_equal(gsm_keyring_merge(kr, from, &res), -ENOKEY);
	gsm_keyring_free(from);
	gsm_keyring_free(kr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seal_open_roundtrip),
	    cmocka_unit_test(test_seal_open_in_place),
	    cmocka_unit_test(test_every_bit_flip_rejected),
	    cmocka_unit_test(test_nonce_time),
	    cmocka_unit_test(test_pair_key),
	    cmocka_unit_test(test_pair_tag),
	    cmocka_unit_test(test_wrong_key_name_id_version),
	    cmocka_unit_test(test_key_rotation),
	    cmocka_unit_test(test_keyring_ops),
	    cmocka_unit_test(test_identity_files),
	    cmocka_unit_test(test_keyring_files),
	    cmocka_unit_test(test_advert_signature_covers_every_field),
	    cmocka_unit_test(test_sign_verify_leave),
	    cmocka_unit_test(test_b64),
	    cmocka_unit_test(test_strerror),
	    cmocka_unit_test(test_key_files_refuse_symlinks),
	    cmocka_unit_test(test_key_text_forms),
	    cmocka_unit_test(test_keyring_load_primary_is_first_line),
	    cmocka_unit_test(test_keyring_merge),
	};
	return cmocka_run_group_tests_name("crypto", tests, setup, teardown);
}
