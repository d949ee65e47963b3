/*
 * gossip/crypto.c - node identities, advert signatures, the cluster key
 * ring and the datagram envelope, on libsodium.
 *
 * What: a node is an Ed25519 key pair; its public key is its node id, and
 * it signs its own advert (so nobody else can speak for it, even another
 * cluster member) and its leave intent.  The cluster shares symmetric keys:
 * every datagram is sealed with XChaCha20-Poly1305-IETF under one of them,
 * with the 32-byte envelope header and the cluster name as associated data
 * (wire.h).  The header names the key by a 16-bit id.
 *
 * Why a key RING: rotating a shared key must not need a flag day.  Every
 * node can hold several keys; it seals with its primary and opens with
 * whichever key the datagram names.  Rotation is therefore three rolling
 * steps (install the new key everywhere, make it primary everywhere,
 * remove the old one everywhere) and at every moment every pair of nodes
 * shares the key the other seals with.  XChaCha's 192-bit nonce is chosen
 * at random by the caller (the core gets randomness through its
 * environment interface), so random nonces never collide in practice and
 * no nonce state has to be kept or persisted.  Binding the cluster name as
 * associated data keeps two clusters that accidentally share a key apart;
 * binding the header (version, key id, nonce) means no bit of a datagram
 * can be changed without the open failing.
 *
 * Envelope v3 (protocol major 3) adds two things.  The nonce opens with
 * the sender's wall clock (8 bytes, ms since the epoch) before 16 random
 * bytes: the receiver refuses datagrams outside a replay window around its
 * own clock and remembers the nonces it saw inside it (the core does that,
 * gossip/swim_auth.c).  And a datagram can carry a PAIR TAG: the cluster
 * key only proves "some key holder sealed this", so a key holder could
 * claim any sender id; the pair key of two nodes comes from X25519 of
 * their identities (Ed25519 keys converted to curve25519), so only the two
 * of them can compute it, and a good tag attributes the datagram to the
 * sender it names.  The tag is a keyed BLAKE2b over the sealed bytes,
 * outside the AEAD (it needs the decoded sender to pick the key); the auth
 * byte saying it is there is inside the associated data, so it can be
 * neither stripped nor added.  Trade-off: one X25519 per member (~50 us,
 * cached by the core) and 17 bytes per datagram, for attribution without
 * a signature per datagram (Ed25519 would cost ~50 us per datagram and 64
 * bytes).
 *
 * Reloading a key file merges the new ring into the running one
 * (gsm_keyring_merge) in an order that keeps every moment of a rotation
 * able to open what peers seal: a changed key under a known id is refused
 * up front, unlisted keys go before new ones arrive (room in the ring), the
 * primary switches only once the new keys are in, and the old primary
 * leaves last.  The merge works on a copy and commits at the end, so a
 * refused reload leaves the ring exactly as it was.
 *
 * Secrets (seeds, secret keys, cluster keys, key-file text) live in
 * sodium_malloc'd memory - guard pages, not swapped where the OS allows -
 * and are wiped with sodium_memzero before being freed.  This file works on
 * key-file TEXT only (gsm_identity_from_text, gsm_keyring_parse, ...); the
 * files themselves - atomic 0600 writes, refusing symlinks and files group
 * or others can access, the way ssh treats private keys - are keyfile.c's.
 * Trade-off: sodium_malloc costs a few pages and syscalls per object;
 * identities and key rings are long-lived, so that is irrelevant, and
 * per-datagram paths use only the stack.
 */
#include "common/bytes.h"
#include "gossip/crypto.h"
#include "gossip/wire_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define SEED_B64_ROOM 64 /* decode room for a 32-byte seed in base64 */

int gsm_crypto_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

/* ------------------------------------------------------------------ */
/* base64                                                              */

int gsm_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t need;

	if ((!in && len) || !out)
		return -EINVAL;
	need = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	if (cap < need || need - 1 > INT_MAX)
		return -EMSGSIZE;
	sodium_bin2base64(out, cap, in, len, sodium_base64_VARIANT_ORIGINAL);
	return (int)(need - 1);
}

int gsm_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *len)
{
	const char *end;
	size_t n;

	if (!in || !out || !len)
		return -EINVAL;
	if (sodium_base642bin(out, cap, in, strlen(in), " \t\r\n", &n, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		return -EINVAL;
	if (*end)
		return -EINVAL;
	*len = n;
	return 0;
}

/* ------------------------------------------------------------------ */
/* identity                                                            */

struct gsm_identity {
	uint8_t seed[32];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
};

int gsm_identity_from_seed(const uint8_t seed[32], struct gsm_identity **out)
{
	struct gsm_identity *id;

	if (!seed || !out)
		return -EINVAL;
	*out = NULL;
	id = sodium_malloc(sizeof(*id));
	if (!id)
		return -ENOMEM;
	memcpy(id->seed, seed, 32);
	if (crypto_sign_seed_keypair(id->pk, id->sk, id->seed) != 0) {
		gsm_identity_free(id);
		return -EINVAL;
	}
	*out = id;
	return 0;
}

int gsm_identity_generate(struct gsm_identity **out)
{
	uint8_t seed[32];
	int rc;

	randombytes_buf(seed, sizeof(seed));
	rc = gsm_identity_from_seed(seed, out);
	sodium_memzero(seed, sizeof(seed));
	return rc;
}

void gsm_identity_free(struct gsm_identity *id)
{
	if (!id)
		return;
	sodium_memzero(id, sizeof(*id));
	sodium_free(id);
}

const uint8_t *gsm_identity_public(const struct gsm_identity *id)
{
	return id ? id->pk : NULL;
}

int gsm_identity_from_text(const char *text, struct gsm_identity **out)
{
	uint8_t *seed;
	size_t n;
	int rc;

	if (!text || !out)
		return -EINVAL;
	*out = NULL;
	seed = sodium_malloc(SEED_B64_ROOM);
	if (!seed)
		return -ENOMEM;
	if (gsm_b64_decode(text, seed, SEED_B64_ROOM, &n) || n != 32)
		rc = -EINVAL;
	else
		rc = gsm_identity_from_seed(seed, out);
	sodium_memzero(seed, SEED_B64_ROOM);
	sodium_free(seed);
	return rc;
}

int gsm_identity_to_text(const struct gsm_identity *id, char *buf, size_t cap, size_t *len)
{
	int n;

	if (!id || !buf || !len)
		return -EINVAL;
	n = gsm_b64_encode(id->seed, 32, buf, cap);
	if (n < 0)
		return n;
	if ((size_t)n + 2 > cap)
		return -EMSGSIZE;
	buf[n++] = '\n';
	buf[n] = 0;
	*len = (size_t)n;
	return 0;
}

int gsm_sign(const struct gsm_identity *id, const uint8_t *msg, size_t len,
	     uint8_t sig[GSM_SIG_LEN])
{
	if (!id || (!msg && len) || !sig)
		return -EINVAL;
	crypto_sign_detached(sig, NULL, msg, len, id->sk);
	return 0;
}

int gsm_verify(const uint8_t pk[GSM_ID_LEN], const uint8_t *msg, size_t len,
	       const uint8_t sig[GSM_SIG_LEN])
{
	if (!pk || (!msg && len) || !sig)
		return -EINVAL;
	return crypto_sign_verify_detached(sig, msg, len, pk) == 0 ? 0 : -EKEYREJECTED;
}

int gsm_advert_sign(const struct gsm_advert *a, const struct gsm_identity *id, uint8_t *out,
		    size_t cap, size_t *len)
{
	uint8_t body[GSM_MAX_ADVERT];
	uint8_t sig[GSM_SIG_LEN];
	size_t blen;
	int rc;

	if (!a || !id || !out || !len)
		return -EINVAL;
	if (sodium_memcmp(a->node_id, id->pk, GSM_ID_LEN) != 0)
		return -EINVAL;
	rc = gsm_advert_encode_body(a, body, sizeof(body), &blen);
	if (rc)
		return rc;
	crypto_sign_detached(sig, NULL, body, blen, id->sk);
	return gsm_advert_wrap(body, blen, sig, out, cap, len);
}

int gsm_advert_verify(const uint8_t *signed_adv, size_t len)
{
	const uint8_t *body, *sig;
	uint8_t node[GSM_ID_LEN];
	size_t blen;
	int rc;

	rc = gsm__advert_parts(signed_adv, len, &body, &blen, &sig, node);
	if (rc)
		return rc == -EINVAL ? -EINVAL : -EBADMSG;
	return crypto_sign_verify_detached(sig, body, blen, node) == 0 ? 0 : -EKEYREJECTED;
}

/* ------------------------------------------------------------------ */
/* key ring                                                            */

struct ring_key {
	uint16_t id;
	uint8_t key[GSM_CLUSTER_KEY_LEN];
};

struct gsm_keyring {
	char name[GSM_MAX_CLUSTER_NAME + 1];
	size_t name_len;
	size_t n;
	size_t primary; /* index into keys, valid when n > 0 */
	struct ring_key keys[GSM_MAX_KEYS];
};

int gsm_keyring_new(const char *cluster_name, struct gsm_keyring **out)
{
	struct gsm_keyring *kr;
	size_t n;

	if (!cluster_name || !out)
		return -EINVAL;
	*out = NULL;
	n = strnlen(cluster_name, GSM_MAX_CLUSTER_NAME + 1);
	if (n == 0 || n > GSM_MAX_CLUSTER_NAME)
		return -EINVAL;
	kr = sodium_malloc(sizeof(*kr));
	if (!kr)
		return -ENOMEM;
	memset(kr, 0, sizeof(*kr));
	memcpy(kr->name, cluster_name, n);
	kr->name_len = n;
	*out = kr;
	return 0;
}

void gsm_keyring_free(struct gsm_keyring *kr)
{
	if (!kr)
		return;
	sodium_memzero(kr, sizeof(*kr));
	sodium_free(kr);
}

static struct ring_key *ring_find(const struct gsm_keyring *kr, uint16_t id, size_t *idx)
{
	for (size_t i = 0; i < kr->n; i++) {
		if (kr->keys[i].id == id) {
			if (idx)
				*idx = i;
			return (struct ring_key *)&kr->keys[i];
		}
	}
	return NULL;
}

int gsm_keyring_add(struct gsm_keyring *kr, uint16_t key_id, const uint8_t key[GSM_CLUSTER_KEY_LEN])
{
	struct ring_key *k;

	if (!kr || !key)
		return -EINVAL;
	k = ring_find(kr, key_id, NULL);
	if (k) /* idempotent for the same key; a different key must be removed first */
		return sodium_memcmp(k->key, key, GSM_CLUSTER_KEY_LEN) == 0 ? 0 : -EEXIST;
	if (kr->n == GSM_MAX_KEYS)
		return -ENOSPC;
	k = &kr->keys[kr->n];
	k->id = key_id;
	memcpy(k->key, key, GSM_CLUSTER_KEY_LEN);
	if (kr->n == 0)
		kr->primary = 0;
	kr->n++;
	return 0;
}

int gsm_keyring_use(struct gsm_keyring *kr, uint16_t key_id)
{
	size_t i;

	if (!kr)
		return -EINVAL;
	if (!ring_find(kr, key_id, &i))
		return -ENOENT;
	kr->primary = i;
	return 0;
}

int gsm_keyring_remove(struct gsm_keyring *kr, uint16_t key_id)
{
	size_t i;

	if (!kr)
		return -EINVAL;
	if (!ring_find(kr, key_id, &i))
		return -ENOENT;
	if (i == kr->primary)
		return -EBUSY;
	/* keep insertion order (and the primary's identity) */
	memmove(&kr->keys[i], &kr->keys[i + 1], (kr->n - i - 1) * sizeof(kr->keys[0]));
	kr->n--;
	sodium_memzero(&kr->keys[kr->n], sizeof(kr->keys[0]));
	if (kr->primary > i)
		kr->primary--;
	return 0;
}

int gsm_keyring_primary(const struct gsm_keyring *kr)
{
	if (!kr || kr->n == 0)
		return -ENOENT;
	return kr->keys[kr->primary].id;
}

size_t gsm_keyring_count(const struct gsm_keyring *kr)
{
	return kr ? kr->n : 0;
}

int gsm_keyring_has(const struct gsm_keyring *kr, uint16_t key_id)
{
	return kr && ring_find(kr, key_id, NULL) != NULL;
}

size_t gsm_keyring_ids(const struct gsm_keyring *kr, uint16_t *ids, size_t cap)
{
	size_t n = 0;

	if (!kr)
		return 0;
	/* primary first, then the others in installation order */
	if (kr->n && cap)
		ids[n++] = kr->keys[kr->primary].id;
	for (size_t i = 0; i < kr->n && n < cap; i++)
		if (i != kr->primary)
			ids[n++] = kr->keys[i].id;
	return kr->n;
}

const char *gsm_keyring_cluster_name(const struct gsm_keyring *kr)
{
	return kr ? kr->name : NULL;
}

/* The merge's steps 2-4 on a scratch ring t (step 1 already passed). */
static int keyring_merge_steps(struct gsm_keyring *t, const struct gsm_keyring *from,
			       struct gsm_keyring_merge_result *res)
{
	uint16_t have[GSM_MAX_KEYS], first = from->keys[from->primary].id;
	int old_primary = gsm_keyring_primary(t);
	size_t nh;
	int rc;

	/* 2. drop unlisted keys, not the primary yet (remove: -EBUSY) */
	nh = gsm_keyring_ids(t, have, GSM_MAX_KEYS);
	for (size_t i = 0; i < nh; i++)
		if (!ring_find(from, have[i], NULL) && gsm_keyring_remove(t, have[i]) == 0)
			res->removed++;
	/* 3. add the new ones, in from's order */
	for (size_t i = 0; i < from->n; i++) {
		if (ring_find(t, from->keys[i].id, NULL))
			continue;
		rc = gsm_keyring_add(t, from->keys[i].id, from->keys[i].key);
		if (rc)
			return rc;
		res->added++;
	}
	/* 4. switch the primary, then drop the old one if unlisted */
	gsm_keyring_use(t, first);
	if (old_primary >= 0 && old_primary != first &&
	    !ring_find(from, (uint16_t)old_primary, NULL) &&
	    gsm_keyring_remove(t, (uint16_t)old_primary) == 0)
		res->removed++;
	res->primary = first;
	res->primary_changed = old_primary != first;
	return 0;
}

int gsm_keyring_merge(struct gsm_keyring *kr, const struct gsm_keyring *from,
		      struct gsm_keyring_merge_result *res)
{
	struct gsm_keyring *t;
	int rc = 0;

	if (!kr || !from || !res)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	if (from->n == 0)
		return -ENOKEY;
	/* 1. refuse a changed key under an existing id before touching anything */
	for (size_t i = 0; i < from->n; i++) {
		const struct ring_key *k = ring_find(kr, from->keys[i].id, NULL);
		if (k && sodium_memcmp(k->key, from->keys[i].key, GSM_CLUSTER_KEY_LEN) != 0) {
			res->conflict_id = k->id;
			return -EEXIST;
		}
	}
	/* 2-4 on a copy, committed only when every step succeeded */
	t = sodium_malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	memcpy(t, kr, sizeof(*t));
	rc = keyring_merge_steps(t, from, res);
	if (rc)
		memset(res, 0, sizeof(*res));
	else
		memcpy(kr, t, sizeof(*t));
	gsm_keyring_free(t);
	return rc;
}

/* Parse one "<id> <base64>" line in place.  0, or -EINVAL. */
static int parse_key_line(char *line, uint16_t *id, uint8_t key[GSM_CLUSTER_KEY_LEN])
{
	uint8_t tmp[GSM_CLUSTER_KEY_LEN + 8];
	char *end, *p = line;
	unsigned long v;
	size_t n;
	int rc = -EINVAL;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno || v > UINT16_MAX || (*end != ' ' && *end != '\t'))
		return -EINVAL;
	while (*end == ' ' || *end == '\t')
		end++;
	if (gsm_b64_decode(end, tmp, sizeof(tmp), &n) == 0 && n == GSM_CLUSTER_KEY_LEN) {
		memcpy(key, tmp, GSM_CLUSTER_KEY_LEN);
		*id = (uint16_t)v;
		rc = 0;
	}
	sodium_memzero(tmp, sizeof(tmp));
	return rc;
}

/* Parse key-ring text in place (strtok_r) into an empty ring. */
static int keyring_parse_lines(struct gsm_keyring *kr, char *text)
{
	char *line, *save = NULL;
	uint8_t *key;
	uint16_t id;
	int rc = 0;

	key = sodium_malloc(GSM_CLUSTER_KEY_LEN);
	if (!key)
		return -ENOMEM;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t len = strlen(line);
		while (len &&
		       (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = 0;
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == 0 || *line == '#')
			continue;
		rc = parse_key_line(line, &id, key);
		if (rc)
			break;
		if (gsm_keyring_has(kr, id)) {
			rc = -EINVAL; /* the same id twice in one file */
			break;
		}
		rc = gsm_keyring_add(kr, id, key);
		if (rc)
			break;
	}
	sodium_memzero(key, GSM_CLUSTER_KEY_LEN);
	sodium_free(key);
	if (!rc && kr->n == 0)
		rc = -ENOKEY;
	return rc;
}

int gsm_keyring_parse(const char *text, const char *cluster_name, struct gsm_keyring **out)
{
	struct gsm_keyring *kr = NULL;
	char *copy = NULL;
	size_t len;
	int rc;

	if (!text || !cluster_name || !out)
		return -EINVAL;
	*out = NULL;
	rc = gsm_keyring_new(cluster_name, &kr);
	if (rc)
		goto out;
	len = strlen(text);
	copy = sodium_malloc(len + 1); /* the parser writes; the text is secret */
	if (!copy) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(copy, text, len + 1);
	rc = keyring_parse_lines(kr, copy);
	if (rc)
		goto out;
	*out = kr;
	kr = NULL;
out:
	if (copy) {
		sodium_memzero(copy, len + 1);
		sodium_free(copy);
	}
	gsm_keyring_free(kr);
	return rc;
}

int gsm_keyring_format(const struct gsm_keyring *kr, char *buf, size_t cap, size_t *len)
{
	static const char head[] =
	    "# gossamer cluster keys: <id> <base64 key>; the first is primary\n";
	uint16_t ids[GSM_MAX_KEYS];
	size_t off, n;
	int w;

	if (!kr || !buf || !len)
		return -EINVAL;
	if (kr->n == 0)
		return -ENOKEY;
	if (cap < sizeof(head))
		return -EMSGSIZE;
	memcpy(buf, head, sizeof(head));
	off = sizeof(head) - 1;
	n = gsm_keyring_ids(kr, ids, GSM_MAX_KEYS);
	for (size_t i = 0; i < n; i++) {
		const struct ring_key *k = ring_find(kr, ids[i], NULL);
		w = snprintf(buf + off, cap - off, "%u ", k->id);
		if (w < 0 || (size_t)w >= cap - off)
			return -EMSGSIZE;
		off += (size_t)w;
		w = gsm_b64_encode(k->key, GSM_CLUSTER_KEY_LEN, buf + off, cap - off);
		if (w < 0)
			return w;
		off += (size_t)w;
		if (cap - off < 2)
			return -EMSGSIZE;
		buf[off++] = '\n';
		buf[off] = 0;
	}
	*len = off;
	return 0;
}

/* ------------------------------------------------------------------ */
/* envelope                                                            */

void gsm_nonce_make(uint64_t wall_ms, const uint8_t rnd[GSM_NONCE_RANDOM_LEN],
		    uint8_t nonce[GSM_NONCE_LEN])
{
	gsc_put_be64(nonce, wall_ms); /* GSM_NONCE_TIME_LEN = 8 */
	memcpy(nonce + GSM_NONCE_TIME_LEN, rnd, GSM_NONCE_RANDOM_LEN);
}

uint64_t gsm_nonce_time(const uint8_t nonce[GSM_NONCE_LEN])
{
	return gsc_get_be64(nonce);
}

static void build_header(uint8_t h[GSM_ENVELOPE_HEADER], uint16_t key_id,
			 const uint8_t nonce[GSM_NONCE_LEN], uint8_t auth)
{
	uint8_t *m = h + GSM_WK_ENV_MAGIC, *k = h + GSM_WK_ENV_KEY_ID;

	m[0] = (uint8_t)(GSM_WIRE_MAGIC >> 24);
	m[1] = (uint8_t)(GSM_WIRE_MAGIC >> 16);
	m[2] = (uint8_t)(GSM_WIRE_MAGIC >> 8);
	m[3] = (uint8_t)GSM_WIRE_MAGIC;
	h[GSM_WK_ENV_MAJOR] = GSM_PROTO_MAJOR;
	h[GSM_WK_ENV_MINOR] = GSM_PROTO_MINOR;
	k[0] = (uint8_t)(key_id >> 8);
	k[1] = (uint8_t)key_id;
	memmove(h + GSM_WK_ENV_NONCE, nonce, GSM_NONCE_LEN);
	h[GSM_WK_ENV_AUTH] = auth;
}

static size_t build_ad(const struct gsm_keyring *kr, const uint8_t *hdr, uint8_t *ad)
{
	memcpy(ad, hdr, GSM_ENVELOPE_HEADER);
	memcpy(ad + GSM_ENVELOPE_HEADER, kr->name, kr->name_len);
	return GSM_ENVELOPE_HEADER + kr->name_len;
}

int gsm_seal_pair(const struct gsm_keyring *kr, const uint8_t nonce[GSM_NONCE_LEN],
		  const uint8_t *pair_key, const uint8_t *body, size_t len, uint8_t *out,
		  size_t cap, size_t *outlen)
{
	uint8_t ad[GSM_ENVELOPE_HEADER + GSM_MAX_CLUSTER_NAME], n[GSM_NONCE_LEN];
	size_t need = len + (pair_key ? GSM_ENVELOPE_OVERHEAD : GSM_ENVELOPE_MIN);
	const struct ring_key *k;
	unsigned long long clen;
	size_t adlen;

	if (!kr || !nonce || (!body && len) || !out || !outlen)
		return -EINVAL;
	if (kr->n == 0)
		return -ENOKEY;
	if (len > GSM_MAX_DATAGRAM - GSM_ENVELOPE_OVERHEAD || cap < need)
		return -EMSGSIZE;
	k = &kr->keys[kr->primary];
	memcpy(n, nonce, GSM_NONCE_LEN); /* the caller's nonce may live in out */
	build_header(out, k->id, n, pair_key ? GSM_ENV_AUTH_PAIR : GSM_ENV_AUTH_NONE);
	adlen = build_ad(kr, out, ad);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + GSM_ENVELOPE_HEADER, &clen, body, len, ad,
						   adlen, NULL, n, k->key);
	*outlen = GSM_ENVELOPE_HEADER + (size_t)clen;
	if (pair_key) {
		gsm_pair_tag(pair_key, out, *outlen, out + *outlen);
		*outlen += GSM_PAIR_TAG_LEN;
	}
	return 0;
}

int gsm_seal(const struct gsm_keyring *kr, const uint8_t nonce[GSM_NONCE_LEN], const uint8_t *body,
	     size_t len, uint8_t *out, size_t cap, size_t *outlen)
{
	return gsm_seal_pair(kr, nonce, NULL, body, len, out, cap, outlen);
}

int gsm_envelope_peek(const uint8_t *dgram, size_t len, uint8_t *major, uint8_t *minor,
		      uint16_t *key_id)
{
	const uint8_t *m, *k;

	if (!dgram)
		return -EINVAL;
	if (len > GSM_MAX_DATAGRAM)
		return -EMSGSIZE;
	/* the fixed prefix (magic, major, minor, key id) is the same in every
	 * major, so an old node's datagram is still recognised as such */
	if (len < GSM_WK_ENV_NONCE)
		return -EBADMSG;
	m = dgram + GSM_WK_ENV_MAGIC;
	k = dgram + GSM_WK_ENV_KEY_ID;
	if (((uint32_t)m[0] << 24 | (uint32_t)m[1] << 16 | (uint32_t)m[2] << 8 | m[3]) !=
	    GSM_WIRE_MAGIC)
		return -EBADMSG;
	if (major)
		*major = dgram[GSM_WK_ENV_MAJOR];
	if (minor)
		*minor = dgram[GSM_WK_ENV_MINOR];
	if (key_id)
		*key_id = (uint16_t)(k[0] << 8 | k[1]);
	if (dgram[GSM_WK_ENV_MAJOR] != GSM_PROTO_MAJOR)
		return -EPROTONOSUPPORT;
	return len < GSM_ENVELOPE_MIN ? -EBADMSG : 0;
}

int gsm_envelope_auth(const uint8_t *dgram, size_t len)
{
	if (!dgram || len < GSM_ENVELOPE_MIN)
		return -EBADMSG;
	return dgram[GSM_WK_ENV_AUTH];
}

int gsm_open(const struct gsm_keyring *kr, const uint8_t *dgram, size_t len, uint8_t *body,
	     size_t cap, size_t *bodylen, uint16_t *key_id)
{
	uint8_t ad[GSM_ENVELOPE_HEADER + GSM_MAX_CLUSTER_NAME];
	const struct ring_key *k;
	unsigned long long mlen;
	size_t adlen, clen;
	uint16_t id;
	int rc;

	if (!kr || !dgram || !body || !bodylen)
		return -EINVAL;
	rc = gsm_envelope_peek(dgram, len, NULL, NULL, &id);
	if (rc)
		return rc;
	clen = len - GSM_ENVELOPE_HEADER;
	if (dgram[GSM_WK_ENV_AUTH] == GSM_ENV_AUTH_PAIR) {
		if (len < GSM_ENVELOPE_OVERHEAD)
			return -EBADMSG;
		clen -= GSM_PAIR_TAG_LEN;
	} else if (dgram[GSM_WK_ENV_AUTH] != GSM_ENV_AUTH_NONE) {
		return -EBADMSG;
	}
	k = ring_find(kr, id, NULL);
	if (!k)
		return -ENOKEY;
	if (cap < clen - GSM_AEAD_TAG)
		return -EMSGSIZE;
	adlen = build_ad(kr, dgram, ad);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(body, &mlen, NULL,
						       dgram + GSM_ENVELOPE_HEADER, clen, ad, adlen,
						       dgram + GSM_WK_ENV_NONCE, k->key) != 0)
		return -EBADMSG;
	*bodylen = (size_t)mlen;
	if (key_id)
		*key_id = id;
	return 0;
}

/* ------------------------------------------------------------------ */
/* pair keys                                                           */

static const char pair_label[] = "gossamer-pair-v3";
static const char pair_test_label[] = "gossamer-pair-test";

/* label || both ids in ascending order || cluster name, into h */
static void pair_hash_tail(crypto_generichash_state *h, const char *label,
			   const uint8_t a[GSM_ID_LEN], const uint8_t b[GSM_ID_LEN],
			   const char *cluster_name)
{
	int a_first = memcmp(a, b, GSM_ID_LEN) < 0;

	crypto_generichash_update(h, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(h, a_first ? a : b, GSM_ID_LEN);
	crypto_generichash_update(h, a_first ? b : a, GSM_ID_LEN);
	crypto_generichash_update(h, (const uint8_t *)cluster_name,
				  strnlen(cluster_name, GSM_MAX_CLUSTER_NAME));
}

int gsm_pair_key(const struct gsm_identity *self, const uint8_t peer[GSM_ID_LEN],
		 const char *cluster_name, uint8_t key[GSM_PAIR_KEY_LEN])
{
	uint8_t xsk[crypto_scalarmult_curve25519_BYTES], xpk[crypto_scalarmult_curve25519_BYTES];
	uint8_t shared[crypto_scalarmult_BYTES];
	crypto_generichash_state h;
	int rc = -EKEYREJECTED;

	if (!self || !peer || !cluster_name || !key)
		return -EINVAL;
	/* libsodium refuses invalid and small-order points (-1) in both */
	if (crypto_sign_ed25519_pk_to_curve25519(xpk, peer) != 0)
		goto out;
	if (crypto_sign_ed25519_sk_to_curve25519(xsk, self->sk) != 0)
		goto out;
	if (crypto_scalarmult(shared, xsk, xpk) != 0)
		goto out;
	crypto_generichash_init(&h, NULL, 0, GSM_PAIR_KEY_LEN);
	crypto_generichash_update(&h, shared, sizeof(shared));
	pair_hash_tail(&h, pair_label, self->pk, peer, cluster_name);
	crypto_generichash_final(&h, key, GSM_PAIR_KEY_LEN);
	rc = 0;
out:
	sodium_memzero(xsk, sizeof(xsk));
	sodium_memzero(shared, sizeof(shared));
	sodium_memzero(&h, sizeof(h));
	return rc;
}

void gsm_pair_key_public(const uint8_t a[GSM_ID_LEN], const uint8_t b[GSM_ID_LEN],
			 const char *cluster_name, uint8_t key[GSM_PAIR_KEY_LEN])
{
	crypto_generichash_state h;

	crypto_generichash_init(&h, NULL, 0, GSM_PAIR_KEY_LEN);
	pair_hash_tail(&h, pair_test_label, a, b, cluster_name);
	crypto_generichash_final(&h, key, GSM_PAIR_KEY_LEN);
}

void gsm_pair_tag(const uint8_t key[GSM_PAIR_KEY_LEN], const uint8_t *buf, size_t len,
		  uint8_t tag[GSM_PAIR_TAG_LEN])
{
	crypto_generichash(tag, GSM_PAIR_TAG_LEN, buf, len, key, GSM_PAIR_KEY_LEN);
}

int gsm_pair_tag_verify(const uint8_t key[GSM_PAIR_KEY_LEN], const uint8_t *dgram, size_t len)
{
	uint8_t tag[GSM_PAIR_TAG_LEN];

	if (!key || !dgram)
		return -EINVAL;
	if (len < GSM_ENVELOPE_OVERHEAD || dgram[GSM_WK_ENV_AUTH] != GSM_ENV_AUTH_PAIR)
		return -EBADMSG;
	gsm_pair_tag(key, dgram, len - GSM_PAIR_TAG_LEN, tag);
	return crypto_verify_16(tag, dgram + len - GSM_PAIR_TAG_LEN) == 0 ? 0 : -EKEYREJECTED;
}

/* ---- claims: signed SUSPECT/DEAD (protocol major 3) ----
 *
 * A SUSPECT or DEAD update names its claimer (`from`) and carries the
 * claimer's signature over the claim intent (wire.h), so a receiver knows
 * which member said it and Lifeguard counts confirmations per claimer a
 * forger cannot multiply.  The intent binds the state, so a SUSPECT claim
 * cannot be replayed as a DEAD one, and the subject's (generation,
 * incarnation), so it says nothing about a later life or refutation. */

int gsm_claim_sign(const struct gsm_identity *id, struct gsm_update *u)
{
	uint8_t intent[GSM_CLAIM_INTENT_LEN];
	int r;

	if (!id || !u || (u->state != GSM_STATE_SUSPECT && u->state != GSM_STATE_DEAD))
		return -EINVAL;
	memcpy(u->from, gsm_identity_public(id), GSM_ID_LEN);
	u->has_from = 1;
	gsm_claim_intent(u->state, u->node, u->generation, u->incarnation, u->from, intent);
	r = gsm_sign(id, intent, sizeof(intent), u->claim_sig);
	u->has_claim_sig = r == 0;
	return r;
}

int gsm_claim_verify(const struct gsm_update *u)
{
	uint8_t intent[GSM_CLAIM_INTENT_LEN];

	if (!u || (u->state != GSM_STATE_SUSPECT && u->state != GSM_STATE_DEAD))
		return -EINVAL;
	if (!u->has_from || !u->has_claim_sig)
		return -EKEYREJECTED;
	gsm_claim_intent(u->state, u->node, u->generation, u->incarnation, u->from, intent);
	return gsm_verify(u->from, intent, sizeof(intent), u->claim_sig);
}
