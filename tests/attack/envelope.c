/*
 * tests/attack/envelope.c - the attacker's only contact with the sealed
 * envelope (gossip/crypto.h: gsm_seal, gsm_open) and its cleartext layout
 * (gossip/wire.h: GSM_WK_ENV_*).
 *
 * The envelope is about to change (a timestamp in the nonce, an auth byte,
 * an optional pair tag); keeping every call here means adapting the tool to
 * a new envelope is a change to this file alone.  A member seals exactly as
 * a daemon does: a fresh random nonce per datagram under the primary key.
 */
#include <string.h>

#include <sodium.h>

#include "tests/attack/attack.h"

int atk_seal(const struct gsm_keyring *kr, const uint8_t *body, size_t len, uint8_t *out,
	     size_t cap, size_t *outlen)
{
	uint8_t nonce[GSM_NONCE_LEN];

	randombytes_buf(nonce, sizeof(nonce));
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
	randombytes_buf(out + GSM_WK_ENV_NONCE, GSM_ENVELOPE_HEADER - GSM_WK_ENV_NONCE);
	return GSM_ENVELOPE_HEADER;
}

size_t atk_auth_region_start(void)
{
	return GSM_WK_ENV_NONCE;
}
