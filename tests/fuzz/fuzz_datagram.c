/* tests/fuzz/fuzz_datagram.c - libFuzzer target: datagram open + body decode.
 *
 * The first input byte selects the path so the decoder is reached with and
 * without authentication:
 *   even  -> the rest is a BODY, fed straight to gsm_msg_decode()
 *   odd   -> the rest is a DATAGRAM, opened with a fixed key ring (ids 1,2,
 *            cluster "fuzz", see tests/unit/fixtures.c), then decoded
 * Oracles besides the sanitizers: only documented error codes; a decoded
 * message re-encodes to exactly gsm_msg_encoded_size() bytes and decodes
 * again to an equal message; adverts inside are decoded/verified/peeked
 * consistently.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/crypto.h"
#include "gossip/wire.h"
#include "tests/unit/fixtures.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gsm_keyring *kr;
static struct gsm_msg m1, m2;
static uint8_t body[GSM_MAX_DATAGRAM];
static uint8_t reenc[GSM_MAX_DATAGRAM];

static void check_advert(const uint8_t *p, size_t len)
{
	static struct gsm_advert a;
	uint8_t node[GSM_ID_LEN];
	uint64_t g, v;
	int rc_dec = gsm_advert_decode(p, len, &a);
	int rc_peek = gsm_advert_peek(p, len, node, &g, &v);
	int rc_ver = gsm_advert_verify(p, len);

	if (rc_dec != 0 && rc_dec != -EBADMSG && rc_dec != -EMSGSIZE)
		abort();
	if (rc_ver != 0 && rc_ver != -EBADMSG && rc_ver != -EKEYREJECTED)
		abort();
	if (rc_dec == 0) {
		/* a fully valid advert is also structurally fine for peek */
		if (rc_peek != 0 || memcmp(node, a.node_id, GSM_ID_LEN) || g != a.generation ||
		    v != a.version)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *b;
	size_t blen, len2;
	int rc;

	if (!kr) {
		if (gsm_crypto_init())
			abort();
		kr = fx_keyring();
	}
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		rc = gsm_open(kr, data + 1, size - 1, body, sizeof(body), &blen, NULL);
		if (rc != 0 && rc != -EBADMSG && rc != -EPROTONOSUPPORT && rc != -ENOKEY &&
		    rc != -EMSGSIZE)
			abort();
		if (rc)
			return 0;
		/* the pair tag of an auth-1 datagram: a verdict, never a crash */
		{
			static const uint8_t pk[GSM_PAIR_KEY_LEN];

			rc = gsm_pair_tag_verify(pk, data + 1, size - 1);
			if (rc != 0 && rc != -EBADMSG && rc != -EKEYREJECTED)
				abort();
		}
		b = body;
	} else {
		b = data + 1;
		blen = size - 1;
	}
	rc = gsm_msg_decode(b, blen, &m1);
	if (rc != 0 && rc != -EBADMSG && rc != -EMSGSIZE && rc != -ENOMSG)
		abort();
	if (rc)
		return 0;
	for (size_t i = 0; i < m1.n_adverts; i++)
		check_advert(m1.adverts[i].ptr, m1.adverts[i].len);
	/* round trip: what decodes, re-encodes (canonically) and decodes equal */
	if (gsm_msg_encode(&m1, reenc, sizeof(reenc), &len2) != 0)
		abort();
	if (len2 != gsm_msg_encoded_size(&m1) || len2 > blen + 0)
		abort(); /* canonical form is never longer than the input */
	if (gsm_msg_decode(reenc, len2, &m2) != 0 || !fx_msg_equal(&m1, &m2))
		abort();
	return 0;
}
