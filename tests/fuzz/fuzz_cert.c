/* tests/fuzz/fuzz_cert.c - libFuzzer target: certificates, revocations and
 * their PEM text (gossip/cert.h).
 *
 * The input is tried as a signed certificate, as a signed revocation, as
 * a chain (split in two at its first byte's position) and as PEM text.
 * Oracles besides the sanitizers: only documented error codes; a decoded
 * certificate is already normal (gsm_cert_normalize changes nothing) and,
 * re-signed by a fixed key, gives an encoding of exactly the input's
 * length that decodes to the same certificate (so the accepted encoding
 * was the canonical one); the chain check always yields a status, and
 * VALID never without a signature by a configured authority; a decoded
 * revocation's own issuer as the only authority yields 0 or -EKEYREJECTED.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/cert.h"
#include "gossip/crypto.h"
#include "tests/unit/fixtures.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gsm_identity *signer;
static char text[8192];
static uint8_t out[GSM_CERT_MAX];

static void cert_oracles(const uint8_t *data, size_t size, const struct gsm_cert *c)
{
	struct gsm_cert n = *c, d;
	size_t len;
	char why[128];

	if (gsm_cert_normalize(&n) != 0 || memcmp(&n, c, sizeof(n)) != 0)
		abort();
	memcpy(n.issuer, gsm_identity_public(signer), GSM_ID_LEN);
	if (gsm_cert_sign(&n, signer, out, sizeof(out), &len) != 0 || len != size)
		abort();
	if (gsm_cert_decode(out, len, &d) != 0 || memcmp(&d, &n, sizeof(d)) != 0)
		abort();
	if (gsm_cert_verify_sig(out, len) != 0)
		abort();
	/* the delegation rule and coverage on whatever came in */
	(void)gsm_cert_within(c, c, why, sizeof(why));
	for (size_t i = 0; i < c->n_prefixes; i++)
		(void)gsm_cert_allows_prefix(c, &c->prefixes[i]);
	(void)gsm_cert_allows_overlay(c, &c->overlay4);
	if (c->n_labels && !gsm_cert_allows_label(c, c->labels[0].key, c->labels[0].value))
		abort();
	(void)data;
}

static void chain_oracles(const uint8_t *data, size_t size)
{
	static const uint8_t no_key[1][GSM_ID_LEN];
	struct gsm_cert_verifier v = {.authorities = no_key, .n_authorities = 1, .now_s = 1};
	struct gsm_cert_info info;
	struct gsm_bytes b[3];
	size_t cut = size ? data[0] % (size + 1) : 0;
	char why[128];

	b[0] = (struct gsm_bytes){data, cut};
	b[1] = (struct gsm_bytes){data + cut, size - cut};
	b[2] = b[0];
	for (size_t n = 1; n <= 3; n++) {
		gsm_cert_chain_check(&v, data, NULL, b, n, &info, why, sizeof(why));
		/* nobody holds the all-zero authority key */
		if (info.status != GSM_CERT_INVALID)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gsm_cert c;
	struct gsm_revocation r;
	uint8_t id[16];
	size_t len;
	int rc;

	if (!signer) {
		if (gsm_crypto_init())
			abort();
		signer = fx_identity(4242);
	}
	rc = gsm_cert_decode(data, size, &c);
	if (rc != 0 && rc != -EBADMSG && rc != -EMSGSIZE && rc != -EINVAL)
		abort();
	if (rc == 0)
		cert_oracles(data, size, &c);
	rc = gsm_cert_verify_sig(data, size);
	if (rc != 0 && rc != -EBADMSG && rc != -EKEYREJECTED)
		abort();
	if (size >= GSM_ID_LEN)
		chain_oracles(data, size);

	rc = gsm_revocation_decode(data, size, &r);
	if (rc != 0 && rc != -EBADMSG && rc != -EMSGSIZE)
		abort();
	if (rc == 0) {
		const uint8_t(*auth)[GSM_ID_LEN] = (const uint8_t(*)[GSM_ID_LEN])r.issuer;
		struct gsm_revocation r2;
		rc = gsm_revocation_verify(data, size, auth, 1, &r2);
		if (rc != 0 && rc != -EKEYREJECTED)
			abort();
		gsm_revocation_id(data, size, id);
	}

	if (size >= sizeof(text))
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	for (size_t i = 0; i < 3; i++) {
		rc = gsm_pem_find(text, GSM_PEM_CERT, i, out, sizeof(out), &len);
		if (rc != 0 && rc != -ENOENT && rc != -EBADMSG && rc != -EMSGSIZE)
			abort();
		if (rc == 0 && (len > sizeof(out) || gsm_cert_decode(out, len, &c) == 1))
			abort();
	}
	rc = gsm_pem_find(text, GSM_PEM_REVOCATION, 0, out, GSM_REVOCATION_MAX, &len);
	if (rc == 0)
		(void)gsm_revocation_decode(out, len, &r);
	return 0;
}
