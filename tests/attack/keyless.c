/*
 * tests/attack/keyless.c - what anyone who can reach the gossip port can
 * send without a key: random bytes, envelopes with a plausible header
 * (our major, the cluster's key id) and a random "ciphertext", other major
 * versions, captured datagrams with one bit flipped, and datagrams sealed
 * under a key id the cluster does not hold.  Each kind is counted so the
 * test can match the daemons' rejection counters reason by reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tests/attack/attack.h"

enum garbage_kind { G_RANDOM, G_BAD_AUTH, G_OTHER_MAJOR, G_KINDS };

/* one garbage datagram of the given kind into a->buf; returns its length */
static size_t garbage_one(struct atk *a, enum garbage_kind kind)
{
	size_t hdr, len = 1 + randombytes_uniform(1400);

	if (kind == G_RANDOM) {
		randombytes_buf(a->buf, len);
		if (len >= 4 && a->buf[0] == 0x47)
			a->buf[0] = 0; /* never the magic by accident */
		return len;
	}
	hdr = atk_fake_header(a->buf, a->o.key_id);
	len += hdr + GSM_AEAD_TAG;
	randombytes_buf(a->buf + hdr, len - hdr);
	if (kind == G_OTHER_MAJOR)
		a->buf[GSM_WK_ENV_MAJOR] =
		    (uint8_t)(GSM_PROTO_MAJOR + 1 + randombytes_uniform(200));
	return len;
}

int atk_garbage(struct atk *a)
{
	unsigned long sent[G_KINDS] = {0};
	int r = 0;

	for (unsigned long k = 0; k < a->o.count && r == 0; k++) {
		enum garbage_kind kind = (enum garbage_kind)(k % G_KINDS);
		size_t len = garbage_one(a, kind);

		r = atk_send_raw(a, &a->o.to[k / G_KINDS % a->o.n_to], a->buf, len);
		sent[kind]++;
		atk_pause(a);
	}
	atk_listen(a, a->o.window_ms, NULL, NULL);
	atk_extra(a, ",\"malformed\":%lu,\"bad_key\":%lu,\"other_version\":%lu", sent[G_RANDOM],
		  sent[G_BAD_AUTH], sent[G_OTHER_MAJOR]);
	return r;
}

int atk_bitflip(struct atk *a)
{
	uint8_t **d = NULL;
	size_t *lens = NULL, n = 0, from = atk_auth_region_start();
	unsigned long k;
	int r = atk_read_capture(a->o.in, &d, &lens, &n);

	if (r < 0)
		return r;
	for (k = 0; k < a->o.count && r == 0 && n; k++) {
		size_t len = lens[k % n], end, bit;

		if (len <= from || len > sizeof(a->buf))
			continue;
		memcpy(a->buf, d[k % n], len);
		end = atk_aead_region_end(a->buf, len);
		if (end <= from)
			continue;
		bit = from * 8 + randombytes_uniform((uint32_t)((end - from) * 8));
		a->buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = atk_send_raw(a, &a->o.to[k % a->o.n_to], a->buf, len);
		atk_pause(a);
	}
	atk_free_capture(d, lens, n);
	atk_listen(a, a->o.window_ms, NULL, NULL);
	atk_extra(a, ",\"flipped\":%llu,\"captured\":%zu", (unsigned long long)a->c.sent_dgrams, n);
	return r;
}

/* a well-formed ping sealed under a random key with an id nobody holds */
int atk_unknown_key_id(struct atk *a)
{
	struct gsm_keyring *kr = NULL;
	struct gsm_msg *m = a->msg;
	uint8_t key[GSM_CLUSTER_KEY_LEN], id[GSM_ID_LEN];
	size_t blen = 0, dlen = 0;
	int r;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(id, sizeof(id));
	r = gsm_keyring_new(a->o.cluster, &kr);
	if (r == 0)
		r = gsm_keyring_add(kr, a->o.key_id, key);
	sodium_memzero(key, sizeof(key));
	for (unsigned long k = 0; k < a->o.count && r == 0; k++) {
		gsm_msg_init(m, GSM_MSG_PING);
		memcpy(m->sender, id, GSM_ID_LEN);
		m->seq = (uint32_t)k + 1;
		r = gsm_msg_encode(m, a->body, sizeof(a->body), &blen);
		if (r == 0)
			r = atk_seal(kr, a->body, blen, a->buf, sizeof(a->buf), &dlen);
		if (r == 0)
			r = atk_send_raw(a, &a->o.to[k % a->o.n_to], a->buf, dlen);
		atk_pause(a);
	}
	gsm_keyring_free(kr);
	atk_listen(a, a->o.window_ms, NULL, NULL);
	atk_extra(a, ",\"key_id\":%u", a->o.key_id);
	return r;
}
