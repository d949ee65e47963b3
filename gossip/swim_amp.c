/*
 * gossip/swim_amp.c - the reply budget: no amplification.
 *
 * What: everything a node sends while it handles a received datagram is an
 * answer to that datagram, and all of it together stays within 3 x the
 * datagram's sealed size (AMP_ANY).  Only a member at an address it has
 * PROVEN it receives at may draw more, from a token bucket of its own
 * (AMP_RATE a second, AMP_BURST at most).  gsm__send asks gsm__reply_take
 * before it sends; what does not fit is dropped and counted
 * (replies_capped), and the builders of digest pages and advert answers
 * ask gsm__reply_body for how big to make them.
 *
 * Why "proven", not "held": a member behind NAT sends from its NAT
 * mapping, not from the gossip address it advertises, and an attacker can
 * put anyone's address as a datagram's source.  An address is verified for
 * a member once a datagram of ours carrying an unpredictable seq (a
 * SipHash cookie over the member's id, the address and a time epoch, under
 * a per-node key drawn from env.random, never from the core's generator
 * whose outputs others see) came back from that address: the ACK to an
 * address challenge (a PING we send to where a sync request came from, at
 * most one a second per member), or the digest page of our own sync
 * session (its seq is such a cookie).  The record is one address and a
 * time per member, valid VERIFY_MS and refreshed before it lapses.
 *
 * Trade-off: a joiner's first sync answer is cut to 3 x its request; the
 * challenge's ACK arrives before its next request, and swim_sync.c runs a
 * second pass after a join that transferred anything, so a join costs at
 * most one extra round trip.  The worst-case ratios per request type are
 * in docs/protocol.md, Amplification, and asserted by sim_amplification.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "common/bytes.h"
#include "gossip/swim_int.h"

#define AMP_ANY		3u	 /* x the request, to any source */
#define AMP_RATE	262144u	 /* bytes a second a member's bucket refills */
#define AMP_BURST	1048576u /* and holds at most */
#define VERIFY_MS	600000u	 /* a verified address counts this long */
#define CHAL_MS		1000u	 /* one address challenge a second per member */
#define COOKIE_EPOCH_MS 8192u	 /* a challenge is answerable for 8 to 16 s */

/* An unpredictable seq bound to (id, address, n): SipHash under a key from
 * env.random (not the core's generator, whose outputs others see). */
uint32_t gsm__amp_cookie(struct gsm_swim *s, const uint8_t *id, const struct gsm_addr *a,
			 uint64_t n)
{
	uint8_t in[GSM_ID_LEN + 1 + 16 + 2 + 8], h[crypto_shorthash_BYTES];

	if (!s->amp_keyed) {
		s->env.random(s->env.ctx, s->amp_key, sizeof(s->amp_key));
		s->amp_keyed = 1;
	}
	memcpy(in, id, GSM_ID_LEN);
	in[GSM_ID_LEN] = a->family;
	memcpy(in + GSM_ID_LEN + 1, a->ip, 16);
	in[GSM_ID_LEN + 17] = (uint8_t)(a->port >> 8); /* port, n: big-endian */
	in[GSM_ID_LEN + 18] = (uint8_t)a->port;
	gsc_put_be64(in + GSM_ID_LEN + 19, n);
	crypto_shorthash(h, in, sizeof(in), s->amp_key);
	return (uint32_t)gsc_get_le64(h);
}

static int addr_verified(const struct member *x, const struct gsm_addr *from, uint64_t now)
{
	return x->vaddr_ms && since32(now, x->vaddr_ms) < VERIFY_MS &&
	       gsm_addr_equal(&x->vaddr, from);
}

/* m answers a datagram of ours that carried an unpredictable seq bound to
 * `from`: an ACK to an address challenge, or a digest page of our sync
 * session from the address we asked.  Whoever sent it receives there. */
static int proves_addr(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from,
		       uint64_t now)
{
	uint64_t e = now / COOKIE_EPOCH_MS;

	if (m->type == GSM_MSG_ACK && !(m->flags & GSM_MF_FORWARDED))
		return m->seq == gsm__amp_cookie(s, m->sender, from, e) ||
		       (e && m->seq == gsm__amp_cookie(s, m->sender, from, e - 1));
	if (m->type == GSM_MSG_SYNC_DIGEST)
		return s->sync.active && m->seq == s->sync.seq &&
		       gsm_addr_equal(from, &s->sync.addr);
	return 0;
}

/* A PING to member x at `from` carrying a cookie as its seq: x's ACK from
 * there proves the address (at most one a CHAL_MS per member). */
static void challenge(struct gsm_swim *s, struct member *x, const struct gsm_addr *from,
		      uint64_t now)
{
	struct txbuf *tb;

	if (since32(now, x->chal_ms) < CHAL_MS)
		return;
	tb = gsm__msg_new(s, GSM_MSG_PING);
	if (!tb)
		return;
	x->chal_ms = stamp32(now);
	tb->m.seq = gsm__amp_cookie(s, x->id, from, now / COOKIE_EPOCH_MS);
	tb->m.has_target = 1;
	memcpy(tb->m.target, x->id, GSM_ID_LEN);
	gsm__send(s, from, tb);
	gsm__msg_done(s, tb);
}

/* The share a verified member may draw now: its bucket, refilled. */
static size_t amp_grant(struct member *x, uint64_t now)
{
	uint64_t tokens = x->amp_ms
			      ? x->amp_tokens + (uint64_t)since32(now, x->amp_ms) * AMP_RATE / 1000u
			      : AMP_BURST;

	x->amp_tokens = (uint32_t)(tokens < AMP_BURST ? tokens : AMP_BURST);
	x->amp_ms = stamp32(now);
	return x->amp_tokens;
}

void gsm__reply_begin(struct gsm_swim *s, size_t len)
{
	s->reply_active = 1;
	s->reply_cut = 0;
	s->reply_granted = 0;
	s->reply_room = AMP_ANY * len;
}

void gsm__reply_grant(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from)
{
	struct member *x = gsm__find(s, m->sender);
	uint64_t now = now_ms(s);

	if (!x || x->is_self || !x->advert)
		return; /* only a member can be verified */
	if (proves_addr(s, m, from, now)) {
		x->vaddr = *from;
		x->vaddr_ms = stamp32(now);
	}
	if (!addr_verified(x, from, now)) {
		/* a sync or advert request wants more than 3 x: prove the
		 * address now (the ACK comes back before the requester's next
		 * request), the first answer stays within 3 x */
		if (m->type == GSM_MSG_SYNC_REQUEST)
			challenge(s, x, from, now);
		return;
	}
	if (m->type == GSM_MSG_SYNC_REQUEST && since32(now, x->vaddr_ms) > VERIFY_MS / 2)
		challenge(s, x, from, now); /* refresh before it lapses */
	s->reply_granted = amp_grant(x, now);
	s->reply_room += s->reply_granted;
}

void gsm__reply_end(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from)
{
	struct member *x = s->reply_granted || s->reply_cut ? gsm__find(s, m->sender) : NULL;

	if (x && s->reply_granted) /* the unused room is the grant's first */
		x->amp_tokens -= (uint32_t)(s->reply_granted - (s->reply_room < s->reply_granted
								    ? s->reply_room
								    : s->reply_granted));
	if (x && s->reply_cut && !x->is_self && x->advert && !addr_verified(x, from, now_ms(s)))
		challenge(s, x, from, now_ms(s)); /* an answer was cut: next time more */
	s->reply_active = 0;
}

int gsm__reply_take(struct gsm_swim *s, size_t olen)
{
	if (!s->reply_active)
		return 0;
	if (olen > s->reply_room) {
		s->st.replies_capped++;
		s->reply_cut = 1;
		return -ENOSPC;
	}
	s->reply_room -= olen;
	return 0;
}

size_t gsm__reply_body(const struct gsm_swim *s, size_t want)
{
	size_t room =
	    s->reply_room > GSM_ENVELOPE_OVERHEAD ? s->reply_room - GSM_ENVELOPE_OVERHEAD : 0;

	return !s->reply_active || room >= want ? want : room;
}
