/*
 * gossip/swim_dissem.c - dissemination: the broadcast queues, packing
 * datagrams, sending them, gossip rounds and the graceful leave.
 *
 * Each member has one update slot and one advert slot in a broadcast queue
 * (so a newer update replaces an older one in place).  A queue is a set of
 * buckets by transmit count, newest first inside a bucket; every outgoing
 * datagram is filled least-sent/newest first up to the budget (MTU minus
 * envelope, minus a small slack), each update retransmitted
 * lambda*ceil(log10(N+1)) times (small, and what failure detection and
 * leaves hinge on: like memberlist), each advert ceil(lambda*log10(N+1))
 * times (large, and repaired by anti-entropy anyway).  Updates get at least
 * half of the room whenever adverts compete, so failure detection is never
 * starved by advert traffic.  An advert always travels with its member's
 * update.  Besides PING/ACK piggybacking there is a gossip round (every
 * gossip interval, to `fanout` random members) that only runs while
 * something is pending.
 *
 * Trade-off: an advert larger than the MTU (GSM_MAX_ADVERT allows 8 KiB)
 * goes out alone in an oversize GOSSIP datagram, left to IP fragmentation,
 * rather than not at all.
 *
 * Every datagram is encoded and sealed here (gsm__send) with a nonce of
 * env.wall_ms and env.random, and with a pair tag when the recipient is a
 * member we know (swim_auth.c: tb->to, a ping's target, or the sender of
 * the datagram being answered); the datagram is built in the instance's
 * scratch (swim.c).
 *
 * Revocations (authority mode, swim_authority.c) have a third queue,
 * retransmitted like adverts and packed first, within half the room.
 *
 * Leave: self turns LEFT with a leave intent signed by the identity, which
 * is gossiped and also told directly to up to LEAVE_DIRECT members, so that
 * no member depends on the epidemic tail to learn it.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "gossip/swim_int.h"

/* Membership updates (small, and what failure detection and leaves hinge
 * on): lambda * ceil(log10(N+1)) transmissions, like memberlist.  Adverts
 * (large, and repaired by anti-entropy anyway): ceil(lambda * log10(N+1)). */
uint32_t gsm__retransmit_limit(const struct gsm_swim *s, int advert)
{
	double n = (double)cluster_size(s);
	uint32_t l = advert ? (uint32_t)ceil(s->cfg.retransmit_mult * log10(n + 1.0))
			    : s->cfg.retransmit_mult * (uint32_t)ceil(log10(n + 1.0));

	if (l < 1)
		l = 1;
	if (l >= MAX_BUCKETS)
		l = MAX_BUCKETS - 1;
	return l;
}

void gsm__q_remove(struct bqueue *q, struct qitem *it)
{
	if (!it->queued)
		return;
	if (it->prev)
		it->prev->next = it->next;
	else
		q->head[it->bucket] = it->next;
	if (it->next)
		it->next->prev = it->prev;
	it->prev = it->next = NULL;
	it->queued = 0;
	q->count--;
}

static void q_push(struct bqueue *q, struct qitem *it, uint8_t bucket)
{
	it->bucket = bucket;
	it->prev = NULL;
	it->next = q->head[bucket];
	if (it->next)
		it->next->prev = it;
	q->head[bucket] = it;
	it->queued = 1;
	q->count++;
}

void gsm__enqueue(struct bqueue *q, struct qitem *it)
{
	gsm__q_remove(q, it);
	it->tx = 0;
	q_push(q, it, 0);
}

void gsm__q_sent(struct gsm_swim *s, struct bqueue *q, struct qitem *it)
{
	uint32_t lim = gsm__retransmit_limit(s, q != &s->uqueue); /* adverts, revocations */

	if (!it->queued)
		return;
	gsm__q_remove(q, it);
	it->tx++;
	if (it->tx < lim)
		q_push(q, it, it->tx);
}

void gsm__send(struct gsm_swim *s, const struct gsm_addr *to, struct txbuf *tb)
{
	struct gsm_msg *m = &tb->m;
	uint8_t nonce[GSM_NONCE_LEN];
	size_t blen = 0, olen = 0;
	struct member *rcpt;
	int r;

	if (!to || to->family == 0)
		return;
	memcpy(m->sender, s->self_id, GSM_ID_LEN);
	m->sender_gen = s->cfg.generation;
	/* piggybacking keeps datagrams within the MTU; only a single advert
	 * larger than the MTU (GSM_MAX_ADVERT allows 8 KiB) goes out in an
	 * oversize datagram, left to IP fragmentation */
	r = gsm_msg_encode(m, tb->body, GSM_MAX_DATAGRAM - GSM_ENVELOPE_OVERHEAD, &blen);
	if (r < 0) {
		gsm__log(s, GSM_LOG_ERR, "encode %s: %s", gsm_msg_type_name(m->type),
			 gsm_strerror(r));
		return;
	}
	gsm__nonce(s, nonce);
	/* a pair tag for a recipient we know: it attributes the datagram */
	rcpt = gsm__tx_recipient(s, to, tb);
	r = gsm_seal_pair(s->kr, nonce, rcpt ? gsm__pair_key(s, rcpt) : NULL, tb->body, blen,
			  tb->out, sizeof(tb->out), &olen);
	if (r < 0) {
		gsm__log(s, GSM_LOG_ERR, "seal: %s", gsm_strerror(r));
		return;
	}
	if (gsm__reply_take(s, olen) < 0)
		return; /* beyond the reply budget of the datagram it answers */
	s->st.dgrams_sent++;
	s->st.bytes_sent += olen;
	s->env.send(s->env.ctx, to, tb->out, olen);
}

/* One datagram being packed: the room for piggybacked items, what is used,
 * and the queue slots taken (counted as sent at the end). */
struct pack_ctx {
	struct gsm_msg *m;
	size_t room, used;
	struct qitem *usel[GSM_MAX_UPDATES], *asel[GSM_MAX_ADVERTS];
	size_t nu, na;
};

/* Queued updates, least-sent/newest first, until `limit` bytes are used. */
static void pack_updates(struct gsm_swim *s, struct pack_ctx *pc, size_t limit)
{
	struct gsm_msg *m = pc->m;
	struct gsm_update tmp;

	for (int b = 0; b < MAX_BUCKETS && m->n_updates < GSM_MAX_UPDATES; b++) {
		for (struct qitem *it = s->uqueue.head[b]; it; it = it->next) {
			struct member *x = qitem_member_u(it);
			size_t sz;

			if (x->mark == s->pack_epoch)
				continue;
			gsm__fill_update(s, x, &tmp);
			sz = gsm_update_encoded_size(&tmp);
			if (pc->used + sz > limit)
				return;
			if (m->n_updates >= GSM_MAX_UPDATES || pc->nu >= GSM_MAX_UPDATES)
				return;
			m->updates[m->n_updates++] = tmp;
			x->mark = s->pack_epoch;
			pc->usel[pc->nu++] = it;
			pc->used += sz;
		}
	}
}

/* Queued adverts, each with its member's update, least-sent/newest first,
 * within the room (a GOSSIP datagram takes one advert that never fits an
 * MTU-sized datagram: it goes out oversize); a bucket is left after more
 * than 4 adverts that do not fit. */
static void pack_adverts(struct gsm_swim *s, struct pack_ctx *pc)
{
	struct gsm_msg *m = pc->m;
	struct gsm_update tmp;

	for (int b = 0; b < MAX_BUCKETS && s->aqueue.count; b++) {
		int misses = 0;

		for (struct qitem *it = s->aqueue.head[b]; it; it = it->next) {
			struct member *x = qitem_member_a(it);
			size_t sz;
			int need_u;

			if (!x->advert || m->n_adverts >= GSM_MAX_ADVERTS)
				continue;
			need_u = x->mark != s->pack_epoch;
			sz = gsm_advert_ref_encoded_size(x->advert_len);
			if (need_u) {
				gsm__fill_update(s, x, &tmp);
				sz += gsm_update_encoded_size(&tmp);
			}
			if (sz > pc->room && pc->na == 0 && m->type == GSM_MSG_GOSSIP &&
			    !(need_u && m->n_updates >= GSM_MAX_UPDATES)) {
				/* never fits a datagram of MTU size: send it
				 * alone-ish in an oversize gossip datagram */
			} else if (pc->used + sz > pc->room ||
				   (need_u && m->n_updates >= GSM_MAX_UPDATES)) {
				if (++misses > 4)
					return;
				continue;
			}
			m->adverts[m->n_adverts].ptr = x->advert;
			m->adverts[m->n_adverts].len = x->advert_len;
			m->n_adverts++;
			if (need_u) {
				m->updates[m->n_updates++] = tmp;
				x->mark = s->pack_epoch;
			}
			pc->asel[pc->na++] = it;
			pc->used += sz;
			if (pc->na >= GSM_MAX_ADVERTS)
				return;
		}
	}
}

/*
 * Fill the rest of m with pending updates and adverts.  buddy: a member
 * whose current update goes first (Lifeguard buddy rule / direct telling).
 */
void gsm__pack(struct gsm_swim *s, struct gsm_msg *m, struct member *buddy)
{
	size_t cap = body_cap(s), base, ushare;
	struct pack_ctx pc;
	struct gsm_update tmp;

	if (!buddy && !s->uqueue.count && !s->aqueue.count && !s->rqueue.count)
		return;		       /* the common case in a quiet cluster */
	cap = gsm__reply_body(s, cap); /* an answer: within its reply budget */
	base = gsm_msg_encoded_size(m);
	if (base + PACK_SLACK >= cap)
		return;
	pc.m = m;
	pc.room = cap - base - PACK_SLACK;
	pc.used = pc.nu = pc.na = 0;
	if (++s->pack_epoch == 0)
		s->pack_epoch = 1;
	for (size_t i = 0; i < m->n_updates; i++) {
		struct member *x = gsm__find(s, m->updates[i].node);

		if (x)
			x->mark = s->pack_epoch;
	}
	if (buddy && buddy->mark != s->pack_epoch) {
		gsm__fill_update(s, buddy, &tmp);
		size_t sz = gsm_update_encoded_size(&tmp);

		if (sz <= pc.room && m->n_updates < GSM_MAX_UPDATES) {
			m->updates[m->n_updates++] = tmp;
			buddy->mark = s->pack_epoch;
			pc.used += sz;
		}
	}
	/* revocations first (small, rare, bad news), within half the room */
	if (s->rqueue.count && pc.used < pc.room / 2)
		pc.used += gsm__pack_revocations(s, m, pc.room / 2 - pc.used);
	ushare = s->aqueue.count ? pc.room / 2 : pc.room;
	/* updates up to their share, then adverts, then updates in the rest */
	pack_updates(s, &pc, ushare);
	pack_adverts(s, &pc);
	pack_updates(s, &pc, pc.room);
	for (size_t i = 0; i < pc.nu; i++)
		gsm__q_sent(s, &s->uqueue, pc.usel[i]);
	for (size_t i = 0; i < pc.na; i++)
		gsm__q_sent(s, &s->aqueue, pc.asel[i]);
}

/* GOSSIP datagram to addr (the member rcpt, if known), first carrying
 * `first`'s update. */
static void send_gossip_to(struct gsm_swim *s, const struct gsm_addr *to, struct member *rcpt,
			   struct member *first)
{
	struct txbuf *tb = gsm__msg_new(s, GSM_MSG_GOSSIP);

	if (!tb)
		return;
	tb->to = rcpt;
	gsm__pack(s, &tb->m, first);
	if (tb->m.n_updates || tb->m.n_adverts || tb->m.n_revocations)
		gsm__send(s, to, tb);
	gsm__msg_done(s, tb);
}

void gsm__send_gossip(struct gsm_swim *s, const struct gsm_addr *to, struct member *first)
{
	send_gossip_to(s, to, NULL, first);
}

int gsm_swim_leave(struct gsm_swim *s)
{
	uint8_t intent[GSM_LEAVE_INTENT_LEN];
	struct member *me, *t[3];
	size_t n;
	int r;

	if (!s)
		return -EINVAL;
	if (s->leaving)
		return 0;
	me = s->self;
	gsm_leave_intent(s->self_id, me->gen, me->inc, intent);
	if (!me->leave_sig) {
		me->leave_sig = gsm__mem_alloc(s, GSM_SIG_LEN);
		if (!me->leave_sig)
			return -ENOMEM;
	}
	r = gsm_sign(s->id, intent, sizeof(intent), me->leave_sig);
	if (r < 0)
		return r;
	s->leaving = 1;
	me->state = GSM_STATE_LEFT;
	me->changed_ms = now_ms(s);
	gsm__enqueue(&s->uqueue, &me->uq);
	/* A leave happens once: tell up to LEAVE_DIRECT members directly (all
	 * of them in clusters up to that size) besides gossiping it, so that
	 * no member depends on the epidemic tail to learn it. */
	{
		size_t live = s->n_alive + s->n_suspect,
		       start = rnd_below(s, s->n_plist ? s->n_plist : 1);
		size_t sent = 0;

		for (size_t k = 0; k < s->n_plist && sent < LEAVE_DIRECT; k++) {
			struct member *x = s->plist[(start + k) % s->n_plist];
			struct txbuf *tb;

			if (!eligible(x))
				continue;
			tb = gsm__msg_new(s, GSM_MSG_LEAVE);
			if (!tb)
				return -ENOMEM;
			gsm__fill_update(s, me, &tb->m.updates[0]);
			tb->m.n_updates = 1;
			tb->to = x;
			gsm__send(s, &x->addr, tb);
			gsm__msg_done(s, tb);
			sent++;
		}
		/* every receiver re-gossips it: telling them all is enough */
		s->leave_sends += (uint32_t)(sent >= live ? 6 : sent);
	}
	(void)t;
	(void)n;
	return 0;
}

/* The gossip round: fanout random members, while something is pending. */
void gsm__gossip_timer(struct gsm_swim *s, uint64_t now)
{
	if (now >= s->next_gossip) {
		if (s->uqueue.count || s->aqueue.count || s->rqueue.count) {
			struct member *t[16];
			size_t k = s->cfg.gossip_fanout > 16 ? 16 : s->cfg.gossip_fanout, n;

			n = gsm__pick_random(s, t, k, NULL, 0);
			for (size_t i = 0; i < n; i++) {
				send_gossip_to(s, &t[i]->addr, t[i], NULL);
				if (s->leaving)
					s->leave_sends++;
			}
		}
		s->next_gossip = now + (s->cfg.gossip_interval_ms ? s->cfg.gossip_interval_ms
								  : s->cfg.probe_interval_ms);
	}
}
