/* tests/fuzz/gen_corpus.c - writes the seed corpus for the fuzz targets:
 *   fuzz_gen_corpus OUTDIR   -> OUTDIR/datagram/..., OUTDIR/advert/...,
 *                               OUTDIR/cert/...
 * Seeds are real encodings made by the codec itself (see fuzz_*.c for the
 * datagram target's leading mode byte).  Deterministic: the same build
 * writes the same bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gossip/cert.h"
#include "gossip/crypto.h"
#include "gossip/wire.h"
#include "tests/unit/fixtures.h"

static const char *outdir;

static void put(const char *sub, const char *name, uint8_t mode, const uint8_t *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, sub, name);
	f = fopen(path, "wb");
	if (!f) {
		perror(path);
		exit(1);
	}
	if (mode != 0xff)
		fputc(mode, f);
	fwrite(p, 1, n, f);
	fclose(f);
}

/* Certificates (fuzz_cert): a node certificate by the authority, a JOIN
 * certificate, a node certificate by the join key, a revocation by serial
 * and one by subject, and the PEM text of a chain, a join key file and a
 * revocation. */
static int cert_seeds(void)
{
	struct gsm_identity *auth = fx_identity(800), *node = fx_identity(801);
	struct gsm_identity *join = fx_identity(802);
	uint8_t b[4][GSM_CERT_MAX], seed[32];
	size_t len[4], tl = 0;
	static char text[8192];
	struct gsm_cert c;
	struct gsm_revocation r = {.issued_at = FX_CERT_NOW, .expires = FX_CERT_NOW + FX_DAY};
	int rc;

	fx_cert_node(&c, gsm_identity_public(node), gsm_identity_public(auth));
	rc = gsm_cert_sign(&c, auth, b[0], sizeof(b[0]), &len[0]);
	fx_cert_join(&c, gsm_identity_public(join), gsm_identity_public(auth));
	c.flags = GSM_CERT_F_EPHEMERAL;
	rc = rc ? rc : gsm_cert_sign(&c, auth, b[1], sizeof(b[1]), &len[1]);
	fx_cert_node(&c, gsm_identity_public(node), gsm_identity_public(join));
	c.flags = GSM_CERT_F_EPHEMERAL;
	rc = rc ? rc : gsm_cert_sign(&c, join, b[2], sizeof(b[2]), &len[2]);
	memcpy(r.issuer, gsm_identity_public(auth), GSM_ID_LEN);
	r.has_serial = 1;
	r.serial = c.serial;
	rc = rc ? rc : gsm_revocation_sign(&r, auth, b[3], sizeof(b[3]), &len[3]);
	if (rc)
		goto out;
	put("cert", "node.bin", 0xff, b[0], len[0]);
	put("cert", "join.bin", 0xff, b[1], len[1]);
	put("cert", "node-by-join.bin", 0xff, b[2], len[2]);
	put("cert", "revocation-serial.bin", 0xff, b[3], len[3]);
	rc = gsm_pem_append(GSM_PEM_REVOCATION, b[3], len[3], text, sizeof(text), &tl);
	put("cert", "revocation.pem", 0xff, (const uint8_t *)text, tl);
	r.has_serial = 0;
	r.has_subject = 1;
	memcpy(r.subject, gsm_identity_public(join), GSM_ID_LEN);
	rc = rc ? rc : gsm_revocation_sign(&r, auth, b[3], sizeof(b[3]), &len[3]);
	put("cert", "revocation-subject.bin", 0xff, b[3], len[3]);
	tl = 0;
	rc = rc ? rc : gsm_pem_append(GSM_PEM_CERT, b[2], len[2], text, sizeof(text), &tl);
	rc = rc ? rc : gsm_pem_append(GSM_PEM_CERT, b[1], len[1], text, sizeof(text), &tl);
	put("cert", "chain.pem", 0xff, (const uint8_t *)text, tl);
	tl = 0;
	fx_bytes(seed, sizeof(seed), 802); /* not the key above: seeds are public */
	rc =
	    rc ? rc : gsm_pem_append(GSM_PEM_JOIN_KEY, seed, sizeof(seed), text, sizeof(text), &tl);
	rc = rc ? rc : gsm_pem_append(GSM_PEM_CERT, b[1], len[1], text, sizeof(text), &tl);
	put("cert", "join-key.pem", 0xff, (const uint8_t *)text, tl);
out:
	gsm_identity_free(auth);
	gsm_identity_free(node);
	gsm_identity_free(join);
	return rc;
}

static struct gsm_msg msg;
static uint8_t body[GSM_MAX_DATAGRAM], dgram[GSM_MAX_DATAGRAM];

int main(int argc, char **argv)
{
	uint8_t adv[4][GSM_MAX_ADVERT];
	struct gsm_bytes refs[4];
	struct gsm_advert a;
	struct gsm_identity *id;
	struct gsm_keyring *kr;
	uint8_t nonce[GSM_NONCE_LEN] = {0}, rnd[GSM_NONCE_RANDOM_LEN] = {0};
	uint8_t pair[GSM_PAIR_KEY_LEN];
	size_t len, dlen;
	char name[64];

	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	mkdir(outdir, 0755);
	if (gsm_crypto_init())
		return 1;
	kr = fx_keyring();

	/* adverts: typical, maximal, minimal, older version */
	for (int i = 0; i < 4; i++) {
		id = fx_identity(700u + (uint32_t)i);
		if (i == 1) {
			fx_advert_max(&a, gsm_identity_public(id));
		} else if (i == 2) {
			memset(&a, 0, sizeof(a));
			memcpy(a.node_id, gsm_identity_public(id), GSM_ID_LEN);
		} else {
			fx_advert_typical(&a, gsm_identity_public(id));
			a.version = (uint64_t)i;
		}
		if (gsm_advert_sign(&a, id, adv[i], sizeof(adv[i]), &len))
			return 1;
		refs[i].ptr = adv[i];
		refs[i].len = len;
		snprintf(name, sizeof(name), "advert-%d.bin", i);
		put("advert", name, 0xff, adv[i], len);
		gsm_identity_free(id);
	}

	/* bodies (mode 0) for every type, and sealed datagrams (mode 1) */
	for (uint8_t t = 1; t <= GSM_MSG_TYPE_MAX; t++) {
		size_t nu = t == GSM_MSG_PING || t == GSM_MSG_ACK || t == GSM_MSG_GOSSIP ? 4 : 0;
		size_t na = t == GSM_MSG_SYNC_RESPONSE || t == GSM_MSG_GOSSIP ? 3 : 0;
		size_t nd = t == GSM_MSG_SYNC_DIGEST || t == GSM_MSG_SYNC_REQUEST ? 12 : 0;
		if (t == GSM_MSG_LEAVE)
			nu = 1;
		fx_msg(&msg, t, nu, refs, na, nd);
		if (gsm_msg_encode(&msg, body, sizeof(body), &len))
			return 1;
		snprintf(name, sizeof(name), "body-%s.bin", gsm_msg_type_name(t));
		put("datagram", name, 0, body, len);
		if (t == GSM_MSG_PING || t == GSM_MSG_ACK || t == GSM_MSG_SYNC_RESPONSE) {
			/* v3 nonce: a fixed time stamp (2026-01-01) || random */
			rnd[0] = t;
			gsm_nonce_make(1767225600000ull + t, rnd, nonce);
			if (t == GSM_MSG_ACK)
				gsm_keyring_use(kr, 2);
			else
				gsm_keyring_use(kr, 1);
			if (gsm_seal(kr, nonce, body, len, dgram, sizeof(dgram), &dlen))
				return 1;
			snprintf(name, sizeof(name), "sealed-%s.bin", gsm_msg_type_name(t));
			put("datagram", name, 1, dgram, dlen);
			/* and with a pair tag (auth 1) */
			gsm_pair_key_public(msg.sender, refs[0].ptr, "corpus", pair);
			if (gsm_seal_pair(kr, nonce, pair, body, len, dgram, sizeof(dgram), &dlen))
				return 1;
			snprintf(name, sizeof(name), "sealed-pair-%s.bin", gsm_msg_type_name(t));
			put("datagram", name, 1, dgram, dlen);
		}
	}
	/* a body with keys from a "future" minor version */
	static const uint8_t future[] = {
	    0x84, 0x00, 0x09, 0x01, 0xc4, 0x20, 1,    2,    3,	  4,	5,   6,	   7,	 8,  9,	 10,
	    11,	  12,	13,   14,   15,	  16,	17,   18,   19,	  20,	21,  22,   23,	 24, 25, 26,
	    27,	  28,	29,   30,   31,	  32,	0x0f, 0x92, 0x81, 0xa1, 'k', 0xc0, 0xcb, 0,  0,	 0,
	    0,	  0,	0,    0,    0,	  0xa3, 'n',  'e',  'w',  0xd6, 1,   1,	   2,	 3,  4};
	put("datagram", "body-future-keys.bin", 0, future, sizeof(future));
	gsm_keyring_free(kr);
	return cert_seeds() ? 1 : 0;
}
