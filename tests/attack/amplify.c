/*
 * tests/attack/amplify.c - how many bytes one request makes a node send,
 * to us (the request's source, never verified as a member's address) and,
 * for a ping-req, to a third address we name.
 *
 * Request types, each the variant that maximises the answer:
 *   advert-req  a sync request (no REPLY) listing the known members over and
 *               over, gen/version 0, up to GSM_MAX_DATAGRAM: without
 *               de-duplication every entry is answered with an advert;
 *   sync        the same listing each known member once (what a joiner
 *               asks): answered with every advert;
 *   digest      a bare digest request (REPLY, no cursor, no summary): one
 *               digest page back;
 *   ping        a bare ping: an ack back, with whatever it piggybacks;
 *   ping-req    probe a random id at the third address: the node pings it.
 * The known members are learnt first by paging through the target's digest
 * with padded requests (not counted).  The answer is measured for --window ms.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "tests/attack/attack.h"

#define MAX_KNOWN 4096
#define LEARN_PAD 24 /* digest entries padding a learning request */

struct learnt {
	struct gsm_digest_entry e[MAX_KNOWN];
	size_t n;
	uint32_t seq;
	int more, got;
	uint8_t cursor[GSM_ID_LEN];
};

static void request_init(struct atk *a, struct gsm_msg *m, uint8_t type)
{
	gsm_msg_init(m, type);
	memcpy(m->sender, gsm_identity_public(a->id), GSM_ID_LEN);
	m->sender_gen = 1;
	m->seq = randombytes_uniform(1u << 30) + 1;
}

static void on_digest(void *ctx, const struct gsm_msg *m)
{
	struct learnt *l = ctx;

	if (m->type != GSM_MSG_SYNC_DIGEST || m->seq != l->seq || l->got)
		return;
	for (uint16_t i = 0; i < m->n_digest && l->n < MAX_KNOWN; i++)
		l->e[l->n++] = m->digest[i];
	l->got = 1;
	l->more = !!(m->flags & GSM_MF_MORE);
	memcpy(l->cursor, m->cursor, GSM_ID_LEN);
}

/* Answers to an unverified address may be at most 3x the request
 * (docs/protocol.md, Amplification): a learning request is padded with
 * digest entries of random ids so that one digest page fits its budget. */
static void pad_digest(struct gsm_msg *m)
{
	m->n_digest = LEARN_PAD;
	for (uint16_t i = 0; i < LEARN_PAD; i++) {
		randombytes_buf(m->digest[i].node, GSM_ID_LEN);
		m->digest[i].generation = 1;
		m->digest[i].version = 1;
	}
}

/* page through the target's digest; the counters are reset afterwards */
static int learn_members(struct atk *a, struct learnt *l)
{
	int has_cursor = 0;

	for (int page = 0; page < 64; page++) {
		struct gsm_msg *m = a->msg;
		int r;

		request_init(a, m, GSM_MSG_SYNC_REQUEST);
		m->flags = GSM_MF_REPLY;
		pad_digest(m);
		if (has_cursor) {
			m->has_cursor = 1;
			memcpy(m->cursor, l->cursor, GSM_ID_LEN);
		}
		l->seq = m->seq;
		l->got = 0;
		r = atk_send_msg(a, &a->o.to[0], m);
		if (r < 0)
			return r;
		atk_listen(a, 1000, on_digest, l);
		if (!l->got || !l->more)
			break;
		has_cursor = 1;
	}
	atk_listen(a, 300, NULL, NULL); /* drain what the learning caused */
	memset(&a->c, 0, sizeof(a->c));
	return l->n ? 0 : -ENOENT;
}

/* a sync request listing the known entries, cycling through them until
 * the datagram is full when repeat is set, else each once */
static void build_advert_req(struct atk *a, struct gsm_msg *m, const struct learnt *l, int repeat)
{
	size_t used, limit = GSM_MAX_DATAGRAM - GSM_ENVELOPE_OVERHEAD - 64;

	request_init(a, m, GSM_MSG_SYNC_REQUEST);
	used = gsm_msg_encoded_size(m);
	for (size_t i = 0; m->n_digest < GSM_MAX_DIGEST; i++) {
		struct gsm_digest_entry d = l->e[i % l->n];

		if (!repeat && i >= l->n)
			break;
		d.generation = 0;
		d.version = 0;
		if (used + gsm_digest_entry_encoded_size(&d) > limit)
			break;
		used += gsm_digest_entry_encoded_size(&d);
		m->digest[m->n_digest++] = d;
	}
}

static int build_request(struct atk *a, struct gsm_msg *m, const struct learnt *l)
{
	const char *t = a->o.type;

	if (!strcmp(t, "advert-req") || !strcmp(t, "sync")) {
		build_advert_req(a, m, l, !strcmp(t, "advert-req"));
	} else if (!strcmp(t, "digest")) {
		request_init(a, m, GSM_MSG_SYNC_REQUEST);
		m->flags = GSM_MF_REPLY;
	} else if (!strcmp(t, "ping")) {
		request_init(a, m, GSM_MSG_PING);
	} else if (!strcmp(t, "ping-req")) {
		if (!a->o.has_third)
			return -EINVAL;
		request_init(a, m, GSM_MSG_PING_REQ);
		m->has_target = 1;
		randombytes_buf(m->target, GSM_ID_LEN);
		m->target_addr = a->o.third;
	} else {
		return -EINVAL;
	}
	return 0;
}

int atk_amplify(struct atk *a)
{
	struct learnt *l = calloc(1, sizeof(*l));
	int r = -ENOMEM;

	if (!l)
		goto out;
	r = learn_members(a, l);
	if (r < 0)
		goto out;
	r = build_request(a, a->msg, l);
	if (r < 0)
		goto out;
	r = atk_send_msg(a, &a->o.to[0], a->msg);
	if (r < 0)
		goto out;
	atk_listen(a, a->o.window_ms, NULL, NULL);
	atk_extra(a, ",\"type\":\"%s\",\"known\":%zu,\"entries\":%u", a->o.type, l->n,
		  a->msg->n_digest);
	atk_extra(a, ",\"ratio\":%.3f,\"third_ratio\":%.3f",
		  (double)a->c.recv_bytes / (double)a->c.sent_bytes,
		  (double)a->c.third_bytes / (double)a->c.sent_bytes);
out:
	free(l);
	return r;
}
