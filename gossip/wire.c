/*
 * gossip/wire.c - the codec's common ground: text rules, the leave intent
 * and names.
 *
 * The codec is split along its seams: wire_reader.c is the bounded
 * MessagePack reader every decoder uses, wire_msg.c encodes and decodes
 * gossip bodies, wire_advert.c canonical and signed adverts, and
 * wire_internal.h holds the packer helpers and reader interface they share.
 * The format itself is specified once, in wire.h, with every wire key named
 * by a GSM_WK_* enum; no file here writes a key as a bare number.
 *
 * What is left here is what both directions share: the one definition of
 * acceptable advert text (gsm__text_ok: the encoder refuses what the
 * decoder would reject, so a node can never sign an advert its peers
 * drop), the bytes of the leave, alive and claim intents, and the names of
 * states, message types and errors for logs.
 */
#include "common/bytes.h"
#include "gossip/crypto.h" /* gsm_strerror */
#include "gossip/wire_internal.h"

#include <string.h>

/* Text in adverts (names, labels) ends up in operators' terminals and in
 * the control socket's JSON: it must be valid UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF) without control characters (C0, DEL,
 * C1 - U+0080..U+009F includes the 8-bit CSI). */
int gsm__text_ok(const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint32_t c = p[i];
		size_t len;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			c &= 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			c &= 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			c &= 0x07;
		} else {
			return 0; /* continuation byte, overlong lead (c0/c1) or > f4 */
		}
		if (n - i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i + k] & 0x3f);
		}
		if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff) || (c >= 0x80 && c <= 0x9f))
			return 0;
		i += len;
	}
	return 1;
}

int gsm__text_valid(const char *s, size_t maxlen, int allow_empty)
{
	size_t n = strnlen(s, maxlen + 1);

	if (n > maxlen || (!allow_empty && n == 0))
		return 0;
	return gsm__text_ok((const uint8_t *)s, n);
}

/* ------------------------------------------------------------------ */
/* intents (leave, alive, claim), names                               */

void gsm_leave_intent(const uint8_t node[GSM_ID_LEN], uint64_t generation, uint64_t incarnation,
		      uint8_t out[GSM_LEAVE_INTENT_LEN])
{
	memcpy(out, "gossamer-leave", 14);
	memcpy(out + 14, node, GSM_ID_LEN);
	gsc_put_be64(out + 14 + GSM_ID_LEN, generation);
	gsc_put_be64(out + 14 + GSM_ID_LEN + 8, incarnation);
}

void gsm_alive_intent(const uint8_t node[GSM_ID_LEN], uint64_t generation, uint64_t incarnation,
		      uint8_t out[GSM_ALIVE_INTENT_LEN])
{
	memcpy(out, "gossamer alive v1", 17);
	memcpy(out + 17, node, GSM_ID_LEN);
	gsc_put_be64(out + 17 + GSM_ID_LEN, generation);
	gsc_put_be64(out + 17 + GSM_ID_LEN + 8, incarnation);
}

void gsm_claim_intent(uint8_t state, const uint8_t node[GSM_ID_LEN], uint64_t generation,
		      uint64_t incarnation, const uint8_t from[GSM_ID_LEN],
		      uint8_t out[GSM_CLAIM_INTENT_LEN])
{
	memcpy(out, "gossamer-claim", 14);
	out[14] = state;
	memcpy(out + 15, node, GSM_ID_LEN);
	gsc_put_be64(out + 15 + GSM_ID_LEN, generation);
	gsc_put_be64(out + 15 + GSM_ID_LEN + 8, incarnation);
	memcpy(out + 15 + GSM_ID_LEN + 16, from, GSM_ID_LEN);
}

const char *gsm_state_name(uint8_t state)
{
	switch (state) {
	case GSM_STATE_ALIVE:
		return "alive";
	case GSM_STATE_SUSPECT:
		return "suspect";
	case GSM_STATE_DEAD:
		return "dead";
	case GSM_STATE_LEFT:
		return "left";
	}
	return "unknown";
}

const char *gsm_msg_type_name(uint8_t type)
{
	switch (type) {
	case GSM_MSG_PING:
		return "ping";
	case GSM_MSG_ACK:
		return "ack";
	case GSM_MSG_PING_REQ:
		return "ping-req";
	case GSM_MSG_NACK:
		return "nack";
	case GSM_MSG_SYNC_DIGEST:
		return "sync-digest";
	case GSM_MSG_SYNC_REQUEST:
		return "sync-request";
	case GSM_MSG_SYNC_RESPONSE:
		return "sync-response";
	case GSM_MSG_LEAVE:
		return "leave";
	case GSM_MSG_GOSSIP:
		return "gossip";
	}
	return "unknown";
}

/* ------------------------------------------------------------------ */
/* error texts (codec and crypto)                                      */

const char *gsm_strerror(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case EBADMSG:
		return "malformed or unauthenticated message";
	case EMSGSIZE:
		return "message too large or over a protocol bound";
	case EPROTONOSUPPORT:
		return "unsupported protocol major version";
	case EINVAL:
		return "invalid argument or malformed key file";
	case EKEYREJECTED:
		return "signature or pair tag verification failed";
	case ETIME:
		return "time stamp outside the replay window (clock skew: check the clocks, NTP)";
	case EALREADY:
		return "replayed datagram (nonce seen before)";
	case EPERM:
		return "bad pair tag: the datagram claims a sender it cannot prove";
	case ENOKEY:
		return "no cluster key with that key id (or key ring empty)";
	case ENOMSG:
		return "unknown message type (from a newer protocol version)";
	case EKEYEXPIRED:
		return "no valid certificate (authority mode: missing, expired, revoked or forged)";
	case EACCES:
		return "key file is accessible by group or others (chmod 600) or permission denied";
	case ENOENT:
		return "no such key or file";
	case EEXIST:
		return "a different key with that id is already installed";
	case EBUSY:
		return "cannot remove the primary key (make another key primary first)";
	case ENOSPC:
		return "key ring is full";
	case ENOMEM:
		return "out of memory";
	case EIO:
		return "libsodium initialisation failed";
	case EAFNOSUPPORT:
		return "unsupported address family";
	case ENAMETOOLONG:
		return "path too long";
	case ELOOP:
		return "key file is a symbolic link (secrets are not read through links; use the "
		       "file itself)";
	}
	return "unknown error";
}
