/* tests/fuzz/fuzz_advert.c - libFuzzer target: signed advert decode + verify.
 *
 * Oracles besides the sanitizers: only documented error codes; a decoded
 * advert agrees with gsm_advert_peek(); its body re-encodes canonically and
 * the canonical form decodes to the same advert; a canonical body is a
 * fixed point (re-encoding gives the same bytes).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/crypto.h"
#include "gossip/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct gsm_advert a, b;
static uint8_t body1[GSM_MAX_ADVERT], body2[GSM_MAX_ADVERT], wrapped[GSM_MAX_ADVERT];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t zero_sig[GSM_SIG_LEN];
	uint8_t node[GSM_ID_LEN];
	uint64_t g, v;
	size_t l1, l2, lw;
	int rc;

	rc = gsm_advert_verify(data, size);
	if (rc != 0 && rc != -EBADMSG && rc != -EKEYREJECTED)
		abort();
	rc = gsm_advert_peek(data, size, node, &g, &v);
	if (rc != 0 && rc != -EBADMSG && rc != -EMSGSIZE)
		abort();
	rc = gsm_advert_decode(data, size, &a);
	if (rc != 0 && rc != -EBADMSG && rc != -EMSGSIZE)
		abort();
	if (rc)
		return 0;
	if (gsm_advert_peek(data, size, node, &g, &v) != 0 || memcmp(node, a.node_id, GSM_ID_LEN) ||
	    g != a.generation || v != a.version)
		abort();
	/* canonical re-encoding: whatever decodes is valid for the encoder,
	 * and the canonical form is never longer than the input, so it fits */
	if (gsm_advert_encode_body(&a, body1, sizeof(body1), &l1) != 0)
		abort();
	if (gsm_advert_wrap(body1, l1, zero_sig, wrapped, sizeof(wrapped), &lw) != 0)
		abort();
	if (gsm_advert_decode(wrapped, lw, &b) != 0 || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	if (gsm_advert_encode_body(&b, body2, sizeof(body2), &l2) != 0 || l1 != l2 ||
	    memcmp(body1, body2, l1) != 0)
		abort();
	return 0;
}
