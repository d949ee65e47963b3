/*
 * tests/attack/envelope.c - the attacker's only contact with the sealed
 * envelope (gossip/crypto.h: gsm_seal, gsm_open) and its cleartext layout
 * (gossip/wire.h: GSM_WK_ENV_*).
 *
 * Keeping every call here means adapting the tool to a new envelope is a
 * change to this file alone.  A member seals as a daemon does (envelope v3):
 * a nonce stamped with the wall clock and 16 fresh random bytes, under the
 * primary key.  It sends with auth 0 (no pair tag): what an unattributed
 * datagram may still do is exactly what these attacks probe.
 */
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "tests/attack/attack.h"

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* a nonce as a daemon makes one: now || 16 random bytes */
static void atk_nonce(uint8_t nonce[GSM_NONCE_LEN])
{
	uint8_t rnd[GSM_NONCE_RANDOM_LEN];

	randombytes_buf(rnd, sizeof(rnd));
	gsm_nonce_make(wall_ms(), rnd, nonce);
}

int atk_seal(const struct gsm_keyring *kr, const uint8_t *body, size_t len, uint8_t *out,
	     size_t cap, size_t *outlen)
{
	uint8_t nonce[GSM_NONCE_LEN];

	atk_nonce(nonce);
	return gsm_seal(kr, nonce, body, len, out, cap, outlen);
}

int atk_open(const struct gsm_keyring *kr, const uint8_t *dgram, size_t len, uint8_t *body,
	     size_t cap, size_t *bodylen)
{
	return gsm_open(kr, dgram, len, body, cap, bodylen, NULL);
}

size_t atk_fake_header(uint8_t *out, uint16_t key_id)
{
	out[GSM_WK_ENV_MAGIC] = (uint8_t)(GSM_WIRE_MAGIC >> 24);
	out[GSM_WK_ENV_MAGIC + 1] = (uint8_t)(GSM_WIRE_MAGIC >> 16);
	out[GSM_WK_ENV_MAGIC + 2] = (uint8_t)(GSM_WIRE_MAGIC >> 8);
	out[GSM_WK_ENV_MAGIC + 3] = (uint8_t)GSM_WIRE_MAGIC;
	out[GSM_WK_ENV_MAJOR] = GSM_PROTO_MAJOR;
	out[GSM_WK_ENV_MINOR] = GSM_PROTO_MINOR;
	out[GSM_WK_ENV_KEY_ID] = (uint8_t)(key_id >> 8);
	out[GSM_WK_ENV_KEY_ID + 1] = (uint8_t)key_id;
	atk_nonce(out + GSM_WK_ENV_NONCE);
	out[GSM_WK_ENV_AUTH] = 0;
	return GSM_ENVELOPE_HEADER;
}

size_t atk_auth_region_start(void)
{
	return GSM_WK_ENV_NONCE;
}

size_t atk_aead_region_end(const uint8_t *dgram, size_t len)
{
	return gsm_envelope_auth(dgram, len) == GSM_ENV_AUTH_PAIR ? len - GSM_PAIR_TAG_LEN : len;
}
