/* bench/codec.c - throughput of the gossip codec and crypto, the size of
 * adverts, and what envelope v3 adds per datagram (bytes; ns for the pair
 * tag and the replay check).  Prints numbers; asserts nothing about speed.
 *
 *   build/bench/bench_codec [seconds-per-case, default 1]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "gossip/crypto.h"
#include "gossip/swim_int.h" /* gsm__rx_unseen: the replay check alone */
#include "gossip/wire.h"
#include "tests/unit/fixtures.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct gsm_msg msg, out;
static uint8_t body[GSM_MAX_DATAGRAM], dgram[GSM_MAX_DATAGRAM], opened[GSM_MAX_DATAGRAM];
static double secs = 1.0;

#define RUN(label, per_iter)                                                                       \
	for (double t0 = now(), t1 = t0, n = 0;; n++) {                                            \
		if (((long)n & 63) == 0 && (t1 = now()) - t0 >= secs) {                            \
			printf("  %-44s %12.0f msg/s  (%.2f us each)\n", label, n / (t1 - t0),     \
			       (t1 - t0) / n * 1e6);                                               \
			break;                                                                     \
		}                                                                                  \
		per_iter;                                                                          \
	}

#define RUN_NS(label, per_iter)                                                                    \
	for (double t0 = now(), t1 = t0, n = 0;; n++) {                                            \
		if (((long)n & 1023) == 0 && (t1 = now()) - t0 >= secs) {                          \
			printf("  %-44s %12.0f ns each\n", label, (t1 - t0) / n * 1e9);            \
			break;                                                                     \
		}                                                                                  \
		per_iter;                                                                          \
	}

static void die(const char *what, int rc)
{
	fprintf(stderr, "%s: %s\n", what, gsm_strerror(rc));
	exit(1);
}

/* a core instance with a frozen clock, for the replay check alone */
static uint64_t env_zero(void *ctx)
{
	(void)ctx;
	return 0;
}

static void env_drop(void *ctx, const struct gsm_addr *to, const uint8_t *b, size_t len)
{
	(void)ctx, (void)to, (void)b, (void)len;
}

static void env_rand(void *ctx, uint8_t *b, size_t len)
{
	(void)ctx;
	randombytes_buf(b, len);
}

/* Envelope v3: bytes added, the pair tag and the replay check per
 * datagram (a bare ping), and the pair key (once per member). */
static void envelope_v3(const struct gsm_keyring *kr, const struct gsm_identity *id)
{
	struct gsm_identity *peer = fx_identity(2);
	struct gsm_swim_env env = {.now = env_zero, .send = env_drop, .random = env_rand};
	struct gsm_swim_config cfg;
	struct gsm_swim *s;
	uint8_t key[GSM_PAIR_KEY_LEN], nonce[GSM_NONCE_LEN] = {0}, tag[GSM_PAIR_TAG_LEN];
	uint8_t nd[GSM_ENVELOPE_MIN] = {0};
	size_t blen, dlen, plen;
	uint64_t k = 0;
	int rc;

	gsm_msg_init(&msg, GSM_MSG_PING);
	memcpy(msg.sender, gsm_identity_public(id), GSM_ID_LEN);
	msg.seq = 12345;
	gsm_msg_encode(&msg, body, sizeof(body), &blen);
	if ((rc = gsm_pair_key(id, gsm_identity_public(peer), "bench", key)))
		die("pair key", rc);
	gsm_seal(kr, nonce, body, blen, dgram, sizeof(dgram), &dlen);
	gsm_seal_pair(kr, nonce, key, body, blen, opened, sizeof(opened), &plen);
	printf("envelope v3: bare ping %zu bytes on the wire with auth 0, %zu with a pair tag "
	       "(major 2: %zu): +1 byte (auth), +%d (pair tag), +%zu in all\n",
	       dlen, plen, dlen - 1, GSM_PAIR_TAG_LEN, plen - (dlen - 1));
	RUN_NS("pair tag (bare ping, BLAKE2b-128)", {
		gsm_pair_tag(key, dgram, dlen, tag);
		dgram[0] ^= tag[0] & 1;
	});
	RUN_NS("pair tag verify (bare ping)", gsm_pair_tag_verify(key, opened, plen));
	RUN("pair key (X25519 + BLAKE2b, once per member)",
	    gsm_pair_key(id, gsm_identity_public(peer), "bench", key));
	gsm_swim_config_default(&cfg);
	if ((rc = gsm_swim_new(&cfg, id, kr, NULL, &env, &s)))
		die("swim", rc);
	/* the clock never moves: the cache fills to its cap and then evicts,
	 * the worst case */
	RUN_NS("replay check (cache full: 65536, evicting)", {
		k++;
		memcpy(nd + GSM_WK_ENV_NONCE, &k, sizeof(k));
		memcpy(nd + GSM_WK_ENV_NONCE + GSM_NONCE_TIME_LEN, &k, sizeof(k));
		gsm__rx_unseen(s, nd);
	});
	RUN_NS("replay check (a replay, cache full)", gsm__rx_unseen(s, nd));
	gsm_swim_free(s);
	gsm_identity_free(peer);
}

int main(int argc, char **argv)
{
	struct gsm_identity *id;
	struct gsm_keyring *kr;
	struct gsm_advert a, dec;
	uint8_t adv[GSM_MAX_ADVERT], advmax[GSM_MAX_ADVERT], nonce[GSM_NONCE_LEN] = {0};
	struct gsm_bytes ref;
	size_t advlen, advmaxlen, blen, dlen, olen;
	int rc;

	if (argc > 1)
		secs = atof(argv[1]);
	if (gsm_crypto_init())
		return 1;
	id = fx_identity(1);
	kr = fx_keyring();

	fx_advert_typical(&a, gsm_identity_public(id));
	if ((rc = gsm_advert_sign(&a, id, adv, sizeof(adv), &advlen)))
		die("sign", rc);
	fx_advert_max(&a, gsm_identity_public(id));
	if ((rc = gsm_advert_sign(&a, id, advmax, sizeof(advmax), &advmaxlen)))
		die("sign max", rc);

	printf("advert size (signed, bytes)\n");
	printf("  typical (2 endpoints, 2 overlay, 2 prefixes, 3 labels): %zu\n", advlen);
	printf(
	    "  max-size (16 v6 endpoints w/ observer, 4 overlay, 64 v6 prefixes, %u full labels, "
	    "63-char name): %zu (bound %d)\n",
	    (unsigned)a.n_labels, advmaxlen, GSM_MAX_ADVERT);

	/* typical ping with piggyback: 4 updates + 1 advert */
	ref.ptr = adv;
	ref.len = advlen;
	fx_msg(&msg, GSM_MSG_PING, 4, &ref, 1, 0);
	blen = gsm_msg_encoded_size(&msg);
	printf("ping + 4 updates + 1 advert: body %zu bytes, datagram %zu bytes\n", blen,
	       blen + GSM_ENVELOPE_OVERHEAD);
	printf("throughput (1 core)\n");

	RUN("ping+piggyback encode+seal", {
		nonce[0]++;
		gsm_msg_encode(&msg, body, sizeof(body), &blen);
		gsm_seal(kr, nonce, body, blen, dgram, sizeof(dgram), &dlen);
	});
	RUN("ping+piggyback open+decode", {
		gsm_open(kr, dgram, dlen, opened, sizeof(opened), &olen, NULL);
		gsm_msg_decode(opened, olen, &out);
	});
	RUN("ping+piggyback open+decode+verify advert", {
		gsm_open(kr, dgram, dlen, opened, sizeof(opened), &olen, NULL);
		gsm_msg_decode(opened, olen, &out);
		for (size_t i = 0; i < out.n_adverts; i++)
			gsm_advert_verify(out.adverts[i].ptr, out.adverts[i].len);
	});
	if ((rc = gsm_msg_decode(opened, olen, &out)) || out.n_adverts != 1)
		die("decode", rc);

	gsm_msg_init(&msg, GSM_MSG_PING);
	memcpy(msg.sender, gsm_identity_public(id), GSM_ID_LEN);
	msg.seq = 12345;
	RUN("bare ping encode+seal", {
		nonce[0]++;
		gsm_msg_encode(&msg, body, sizeof(body), &blen);
		gsm_seal(kr, nonce, body, blen, dgram, sizeof(dgram), &dlen);
	});
	RUN("bare ping open+decode", {
		gsm_open(kr, dgram, dlen, opened, sizeof(opened), &olen, NULL);
		gsm_msg_decode(opened, olen, &out);
	});

	fx_advert_typical(&a, gsm_identity_public(id));
	RUN("advert (typical) encode+sign", gsm_advert_sign(&a, id, adv, sizeof(adv), &advlen));
	RUN("advert (typical) decode+verify", {
		gsm_advert_decode(adv, advlen, &dec);
		gsm_advert_verify(adv, advlen);
	});
	RUN("advert (typical) decode only", gsm_advert_decode(adv, advlen, &dec));
	RUN("advert (typical) peek", gsm_advert_peek(adv, advlen, NULL, NULL, NULL));
	fx_advert_max(&a, gsm_identity_public(id));
	RUN("advert (max) encode+sign",
	    gsm_advert_sign(&a, id, advmax, sizeof(advmax), &advmaxlen));
	RUN("advert (max) decode+verify", {
		gsm_advert_decode(advmax, advmaxlen, &dec);
		gsm_advert_verify(advmax, advmaxlen);
	});

	/* a full sync page: as many digest entries as fit the default MTU */
	fx_msg(&msg, GSM_MSG_SYNC_DIGEST, 0, NULL, 0, 0);
	while (1) {
		struct gsm_digest_entry *e = &msg.digest[msg.n_digest];
		fx_bytes(e->node, GSM_ID_LEN, msg.n_digest);
		e->generation = 1764160000;
		e->version = 17;
		if (gsm_msg_encoded_size(&msg) + gsm_digest_entry_encoded_size(e) +
			GSM_ENVELOPE_OVERHEAD >
		    GSM_DEFAULT_MTU)
			break;
		msg.n_digest++;
	}
	printf("sync digest page at MTU %d: %u entries, body %zu bytes\n", GSM_DEFAULT_MTU,
	       (unsigned)msg.n_digest, gsm_msg_encoded_size(&msg));
	RUN("sync digest page encode+seal", {
		nonce[0]++;
		gsm_msg_encode(&msg, body, sizeof(body), &blen);
		gsm_seal(kr, nonce, body, blen, dgram, sizeof(dgram), &dlen);
	});
	RUN("sync digest page open+decode", {
		gsm_open(kr, dgram, dlen, opened, sizeof(opened), &olen, NULL);
		gsm_msg_decode(opened, olen, &out);
	});

	envelope_v3(kr, id);
	gsm_keyring_free(kr);
	gsm_identity_free(id);
	return 0;
}
