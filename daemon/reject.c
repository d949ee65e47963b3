/*
 * daemon/reject.c - datagrams the gossip core refused: counted, explained,
 * logged without flooding.
 *
 * What: every datagram gsm_swim_recv refuses is counted by reason
 * (gossip.rejected in `status --json`: bad_key, unknown_key_id,
 * other_version, oversize, malformed, unknown_type, bad_signature, replay,
 * clock_skew, bad_sender, other) and logged at info with its source
 * address and, where the envelope names one, its key id, with a sentence
 * saying what the operator can do about it ("key id 7 is not in our ring
 * (we hold 1, 2)", "check the clocks (NTP)").
 *
 * Why rate-limited per (source, reason): a flood of garbage must not turn
 * into a flood of log lines, yet one misconfigured peer among many must
 * still be seen.  The limiter (ratelimit.c) lets one line per source and
 * reason through per minute and says how many it held back.  Nothing here
 * changes state: a refused datagram changes nothing but counters.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/daemon_int.h"
#include "daemon/log.h"

#define REJECT_LOG_WINDOW_MS 60000

static const char *const reject_names[GSD_REJECT_N] = {
    [GSD_REJECT_BAD_KEY] = "bad_key",
    [GSD_REJECT_UNKNOWN_KEY_ID] = "unknown_key_id",
    [GSD_REJECT_OTHER_VERSION] = "other_version",
    [GSD_REJECT_OVERSIZE] = "oversize",
    [GSD_REJECT_MALFORMED] = "malformed",
    [GSD_REJECT_UNKNOWN_TYPE] = "unknown_type",
    [GSD_REJECT_BAD_SIGNATURE] = "bad_signature",
    [GSD_REJECT_REPLAY] = "replay",
    [GSD_REJECT_CLOCK_SKEW] = "clock_skew",
    [GSD_REJECT_BAD_SENDER] = "bad_sender",
    [GSD_REJECT_OTHER] = "other",
};

const char *gsd_reject_reason_name(int reason)
{
	return reason >= 0 && reason < GSD_REJECT_N ? reject_names[reason] : "other";
}

static int reject_reason(int err, int peeked)
{
	switch (err) {
	case -EBADMSG:
		return peeked == 0 ? GSD_REJECT_BAD_KEY : GSD_REJECT_MALFORMED;
	case -ENOKEY:
		return GSD_REJECT_UNKNOWN_KEY_ID;
	case -EPROTONOSUPPORT:
		return GSD_REJECT_OTHER_VERSION;
	case -EMSGSIZE:
		return GSD_REJECT_OVERSIZE;
	case -ENOMSG:
		return GSD_REJECT_UNKNOWN_TYPE;
	case -EKEYREJECTED:
		return GSD_REJECT_BAD_SIGNATURE;
	case -EALREADY:
		return GSD_REJECT_REPLAY;
	case -ETIME:
		return GSD_REJECT_CLOCK_SKEW;
	case -EPERM:
		return GSD_REJECT_BAD_SENDER;
	default:
		return GSD_REJECT_OTHER;
	}
}

/* "1, 2" (primary first) into buf */
static void format_key_ids(const struct gsm_keyring *kr, char *buf, size_t cap)
{
	uint16_t ids[GSM_MAX_KEYS];
	size_t n = kr ? gsm_keyring_ids(kr, ids, GSM_MAX_KEYS) : 0;
	size_t off = 0;
	buf[0] = '\0';
	if (n == 0)
		snprintf(buf, cap, "none");
	for (size_t i = 0; i < n && i < GSM_MAX_KEYS && off < cap; i++)
		off += (size_t)snprintf(buf + off, cap - off, "%s%u", i ? ", " : "", ids[i]);
}

/* The explanation after "refused datagram from ADDR: " */
static void explain_reject(const struct gsd_daemon *d, int reason, int err, uint8_t major,
			   uint16_t key_id, char *buf, size_t cap)
{
	char ids[64];
	switch (reason) {
	case GSD_REJECT_UNKNOWN_KEY_ID:
		format_key_ids(d->kr, ids, sizeof(ids));
		snprintf(buf, cap,
			 "unknown cluster key id %u (this node has %s; the sender's key ring is "
			 "newer or stale: check cluster_key_file)",
			 key_id, ids);
		break;
	case GSD_REJECT_BAD_KEY:
		snprintf(buf, cap,
			 "authentication failed with key id %u (different key under the same id, "
			 "or a different cluster_name)",
			 key_id);
		break;
	case GSD_REJECT_OTHER_VERSION:
		snprintf(buf, cap, "protocol major %u, this node speaks %u (upgrade every node)",
			 major, GSM_PROTO_MAJOR);
		break;
	case GSD_REJECT_UNKNOWN_TYPE:
		snprintf(buf, cap,
			 "unknown message type (key id %u; the sender runs a newer minor)", key_id);
		break;
	case GSD_REJECT_CLOCK_SKEW:
		snprintf(
		    buf, cap,
		    "time stamp outside the replay window (clock skew: check the clocks, NTP)");
		break;
	case GSD_REJECT_REPLAY:
		snprintf(buf, cap, "a replayed datagram (its nonce was seen before)");
		break;
	case GSD_REJECT_BAD_SENDER:
		snprintf(buf, cap,
			 "bad pair tag: it claims a member's id it cannot prove (a key holder "
			 "forging a sender, or a datagram for a node that used this address)");
		break;
	default:
		snprintf(buf, cap, "%s (%s)", gsm_strerror(err), gsd_reject_reason_name(reason));
		break;
	}
}

/* Count a datagram gsm_swim_recv refused (err) by reason and log it, at
 * most once per (source, reason) per REJECT_LOG_WINDOW_MS. */
void gsd_note_rejected(struct gsd_daemon *d, const struct gsm_addr *from, const uint8_t *dgram,
		       size_t len, int err)
{
	uint8_t major = 0, minor = 0;
	uint16_t key_id = 0;
	int peeked = gsm_envelope_peek(dgram, len, &major, &minor, &key_id);
	int reason = reject_reason(err, peeked);
	d->rejected[reason]++;
	if (d->reject_rl.window_ms == 0)
		gsd_ratelimit_init(&d->reject_rl, REJECT_LOG_WINDOW_MS);
	uint64_t suppressed = 0;
	if (!gsd_ratelimit_allow(&d->reject_rl, from, reason, gsd_now_ms(), &suppressed))
		return;
	char s[64], why[256], more[64] = "";
	gsd_format_addr(from, s, sizeof(s));
	explain_reject(d, reason, err, major, key_id, why, sizeof(why));
	if (suppressed)
		snprintf(more, sizeof(more), " (%llu more since the last report)",
			 (unsigned long long)suppressed);
	gsd_info("refused datagram from %s: %s%s", s, why, more);
}
