/*
 * gossip/swim_sync.c - anti-entropy, joining and reconnecting.
 *
 * Push-pull over UDP with a cursor: the initiator asks for a page of the
 * peer's digest (node id, advert generation, version) after a cursor,
 * compares it with its own members in the same id range, requests what is
 * missing/older and pushes what the peer lacks, then asks for the next
 * page.  Non-ALIVE states ride along both ways (a missed death heals at the
 * next sync).  Only the initiator keeps state, so loss just ends the
 * session.
 *
 * Summary.  The first request carries a summary (state_hash, wire key 15:
 * a hash of exactly what the digest compares, recomputed per sync in O(N));
 * a peer with an equal view answers "in sync" and a quiet sync costs one
 * round trip instead of every digest page (older peers skip the key and
 * page as before).
 *
 * Revocations (authority mode, swim_authority.c).  The first request and
 * the first answer also carry a hash of the revocations held (wire key
 * 17, only from nodes with authority keys); a side that sees a different
 * one sends all it holds.
 *
 * Pace.  The interval is scaled with log2(N) and shortened while syncs keep
 * finding differences (joins, churn): a sync that found differences brings
 * the next one 4x closer (down to 2 probe intervals), one that found
 * nothing doubles the wait up to the full interval.
 *
 * Joining: the first contact drives a sync session that introduces us (our
 * advert and update) and pages through the cluster; an unanswered join is
 * retried with a seed after 1, 2, 4 ... probe intervals (+-25%) up to the
 * reconnect interval (reset by any answer).  Partition healing: every node
 * periodically contacts a seed that is not a live member, or a random dead
 * member; a node that hears from a member it holds SUSPECT/DEAD tells it so
 * directly (swim_apply.c), and the member refutes straight back, so both
 * sides revive each other and gossip it.
 *
 * The reply budget that bounds every answer (amplification) is
 * swim_amp.c's; a sync's seq is its unpredictable cookie, so our own
 * sync's digest page proves the peer's address.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/bytes.h"
#include "gossip/swim_int.h"

uint64_t gsm_swim_sync_interval(const struct gsm_swim *s)
{
	size_t n = cluster_size(s);
	uint64_t base = s->cfg.sync_interval_ms;
	double mult = 1.0;

	if (n > 32)
		mult = ceil(log2((double)n) - log2(32.0)) + 1.0;
	return (uint64_t)((double)base * mult);
}

/* adaptive: shorter while syncs keep finding differences */
uint64_t gsm__next_sync_delay(struct gsm_swim *s)
{
	uint64_t full = gsm_swim_sync_interval(s);
	uint64_t d = (uint64_t)s->cfg.probe_interval_ms * 2;

	for (uint32_t i = 0; i < s->sync_backoff && d < full; i++)
		d *= 2;
	if (d > full)
		d = full;
	return jitter(s, d);
}

void gsm__sync_soon(struct gsm_swim *s)
{
	uint64_t soon = now_ms(s) + jitter(s, 2ull * s->cfg.probe_interval_ms);

	s->sync_backoff = 0;
	if (!s->sync.active && s->next_sync > soon)
		s->next_sync = soon;
}

void gsm__request_adverts(struct gsm_swim *s, const struct gsm_addr *to,
			  struct gsm_digest_entry *want, size_t n)
{
	size_t i = 0;

	while (i < n) {
		struct txbuf *tb = gsm__msg_new(s, GSM_MSG_SYNC_REQUEST);
		size_t cap = body_cap(s) - PACK_SLACK;

		if (!tb)
			return;
		tb->m.seq = ++s->seq;
		while (i < n && tb->m.n_digest < GSM_MAX_DIGEST) {
			size_t base = gsm_msg_encoded_size(&tb->m);

			if (base + gsm_digest_entry_encoded_size(&want[i]) > cap && tb->m.n_digest)
				break;
			tb->m.digest[tb->m.n_digest++] = want[i++];
		}
		gsm__send(s, to, tb);
		gsm__msg_done(s, tb);
	}
}

/* Send the adverts (and updates) of the given members to `to`, paged. */
static void send_adverts(struct gsm_swim *s, const struct gsm_addr *to, struct member **list,
			 size_t n)
{
	size_t i = 0;

	while (i < n) {
		/* within the reply budget: what does not fit is left out
		 * (the requester asks again) */
		size_t limit = gsm__reply_body(s, GSM_MAX_DATAGRAM - GSM_ENVELOPE_OVERHEAD);
		size_t cap = body_cap(s) - PACK_SLACK, used, na;
		struct txbuf *tb;
		struct gsm_update u;

		if (limit < PACK_SLACK) {
			gsm__reply_take(s, SIZE_MAX); /* counted as capped */
			return;
		}
		limit -= PACK_SLACK;
		if (limit < cap)
			cap = limit;
		tb = gsm__msg_new(s, GSM_MSG_SYNC_RESPONSE);
		if (!tb)
			return;
		used = gsm_msg_encoded_size(&tb->m);
		while (i < n) {
			struct member *x = list[i];
			size_t sz = gsm_advert_ref_encoded_size(x->advert_len);

			gsm__fill_update(s, x, &u);
			sz += gsm_update_encoded_size(&u);
			if ((used + sz > cap && (tb->m.n_adverts > 0 || used + sz > limit)) ||
			    tb->m.n_adverts >= GSM_MAX_ADVERTS ||
			    tb->m.n_updates >= GSM_MAX_UPDATES)
				break; /* (a lone advert larger than the MTU goes out oversize) */
			tb->m.adverts[tb->m.n_adverts].ptr = x->advert;
			tb->m.adverts[tb->m.n_adverts].len = x->advert_len;
			tb->m.n_adverts++;
			tb->m.updates[tb->m.n_updates++] = u;
			used += sz;
			i++;
		}
		na = tb->m.n_adverts;
		if (na)
			gsm__send(s, to, tb);
		gsm__msg_done(s, tb);
		if (!na) {
			gsm__reply_take(s, SIZE_MAX); /* not even one fits */
			return;
		}
	}
}

/* The sync summary (wire key 15): an order-independent hash of exactly
 * what the digest pages compare.  Per member with an advert: id, advert
 * (generation, version) and, for others in a state other than ALIVE, the
 * (state, generation, incarnation) that travels with the digest.  Each
 * entry is hashed with two fixed SipHash keys (128 bits) and the entries
 * are summed lane-wise mod 2^64 (unique ids: no cancellation as with XOR),
 * then the sums and the entry count are hashed once more.  Two views that a
 * paged sync would leave untouched hash equal; any difference it would
 * transfer changes an entry and so (but for a 2^-128 accident) the hash.
 * Differences the sync does not look at (ALIVE incarnations, members
 * without adverts) are left out on purpose, so they cannot force full
 * syncs.  O(N) per sync, no state to keep up to date. */
void gsm__view_hash(const struct gsm_swim *s, uint8_t out[SYNC_HASH_LEN])
{
	static const uint8_t k0[crypto_shorthash_KEYBYTES] = "gossamer-sync-a";
	static const uint8_t k1[crypto_shorthash_KEYBYTES] = "gossamer-sync-b";
	static const uint8_t kf[crypto_generichash_KEYBYTES] = "gossamer-sync-summary-v1";
	uint64_t acc[3] = {0, 0, 0};
	uint8_t fin[24];

	for (size_t i = 0; i < s->n_mem; i++) {
		const struct member *x = s->mem[i];
		uint8_t e[GSM_ID_LEN + 8 * 4 + 1], h[8];
		uint64_t v[4] = {x->adv_gen, x->adv_ver, 0, 0};
		uint64_t a, b;

		if (!x->advert)
			continue;
		memcpy(e, x->id, GSM_ID_LEN);
		e[GSM_ID_LEN] = GSM_STATE_ALIVE;
		if (x->state != GSM_STATE_ALIVE && !x->is_self) {
			e[GSM_ID_LEN] = x->state;
			v[2] = x->gen;
			v[3] = x->inc;
		}
		for (int k = 0; k < 4; k++)
			gsc_put_be64(e + GSM_ID_LEN + 1 + 8 * k, v[k]);
		crypto_shorthash(h, e, sizeof(e), k0);
		a = gsc_get_le64(h);
		crypto_shorthash(h, e, sizeof(e), k1);
		b = gsc_get_le64(h);
		acc[0] += a;
		acc[1] += b;
		acc[2]++;
	}
	for (int k = 0; k < 3; k++)
		gsc_put_be64(fin + 8 * k, acc[k]);
	crypto_generichash(out, SYNC_HASH_LEN, fin, sizeof(fin), kf, sizeof(kf));
}

static void sync_request_page(struct gsm_swim *s)
{
	struct txbuf *tb = gsm__msg_new(s, GSM_MSG_SYNC_REQUEST);

	if (!tb)
		return;
	/* unpredictable: the page that echoes it proves the peer's address */
	s->sync.seq = gsm__amp_cookie(s, s->self_id, &s->sync.addr, ++s->seq);
	tb->m.seq = s->sync.seq;
	tb->m.flags = GSM_MF_REPLY;
	if (s->sync.has_cursor) {
		tb->m.has_cursor = 1;
		memcpy(tb->m.cursor, s->sync.cursor, GSM_ID_LEN);
	}
	if (s->sync.pages == 0 && !s->joined) {
		/* join: introduce ourselves (advert + alive update) */
		struct member *me = s->self;

		if (me->advert) {
			tb->m.adverts[0].ptr = me->advert;
			tb->m.adverts[0].len = me->advert_len;
			tb->m.n_adverts = 1;
		}
		gsm__fill_update(s, me, &tb->m.updates[0]);
		tb->m.n_updates = 1;
	} else if (s->sync.pages == 0 && !s->sync.has_cursor && s->cfg.sync_summary) {
		/* summary first: a peer holding the same view answers "in
		 * sync" and the session is one round trip (older peers skip
		 * key 15 and page through the digest as before) */
		gsm__view_hash(s, s->sync.hash);
		s->sync.has_hash = 1;
		tb->m.state_hash_len = SYNC_HASH_LEN;
		memcpy(tb->m.state_hash, s->sync.hash, SYNC_HASH_LEN);
	}
	if (s->sync.pages == 0 && !s->sync.has_cursor)
		gsm__put_rev_hash(s, &tb->m); /* authority mode: revocations differ? */
	s->sync.deadline =
	    now_ms(s) + 3 * (uint64_t)s->cfg.probe_timeout_ms + s->cfg.probe_interval_ms;
	if (s->sync.pages == 0 && !s->joined)
		/* a join attempt: unanswered after the join backoff, the
		 * next one goes out (sync_finish) */
		s->sync.deadline = now_ms(s) + jitter(s, s->join_retry_ms);
	tb->to = s->sync.has_peer ? gsm__find(s, s->sync.peer) : NULL; /* pair tag */
	gsm__send(s, &s->sync.addr, tb);
	gsm__msg_done(s, tb);
}

static void sync_start(struct gsm_swim *s, const struct gsm_addr *addr, const uint8_t *peer)
{
	memset(&s->sync, 0, sizeof(s->sync));
	s->sync.active = 1;
	s->sync.addr = *addr;
	if (peer) {
		s->sync.has_peer = 1;
		memcpy(s->sync.peer, peer, GSM_ID_LEN);
	}
	sync_request_page(s);
}

static void sync_finish(struct gsm_swim *s, int ok)
{
	uint64_t now = now_ms(s);

	if (ok) {
		/* a join that transferred something: a second pass with the
		 * same peer right away, which by then has verified our
		 * address (swim_sync.c, reply budget) and answers in full
		 * what it had to cut before (at most one round trip later) */
		s->sync_again = !s->joined && s->sync.changed;
		s->last_sync = now ? now : 1;
		s->joined = 1;
		s->join_retry_ms = s->cfg.probe_interval_ms;
		s->st.syncs++;
		/* a sync that found differences brings the next one 4x
		 * closer (joins and churn: down to 2 probe intervals); one
		 * that found nothing doubles the wait up to the full interval */
		if (s->sync.changed)
			s->sync_backoff = s->sync_backoff >= 2 ? s->sync_backoff - 2 : 0;
		else if (s->sync_backoff < 16)
			s->sync_backoff++;
	}
	s->sync.active = 0;
	s->next_sync = s->sync_again ? now : now + gsm__next_sync_delay(s);
	if (!ok && !s->joined) {
		/* joining and that contact did not answer within the join
		 * backoff (1, 2, 4 ... probe intervals, up to the reconnect
		 * interval; reset by any answer).  Alone: try a seed again
		 * now.  Knowing live (e.g. imported) members: sync with one
		 * of them next (the sync timer runs before the reconnect
		 * timer), a seed after that */
		s->next_sync = now + s->cfg.probe_interval_ms;
		s->next_reconnect =
		    s->n_alive + s->n_suspect ? now + s->cfg.probe_interval_ms : now;
		s->join_retry_ms = s->join_retry_ms * 2 > s->cfg.reconnect_interval_ms
				       ? s->cfg.reconnect_interval_ms
				       : s->join_retry_ms * 2;
		if (s->join_retry_ms < s->cfg.probe_interval_ms)
			s->join_retry_ms = s->cfg.probe_interval_ms;
	}
}

/* Responder: a page of our digest after the cursor. */
void gsm__handle_digest_request(struct gsm_swim *s, const struct gsm_msg *rq,
				const struct gsm_addr *from)
{
	size_t pos = 0, cap = gsm__reply_body(s, body_cap(s)), used;
	struct txbuf *tb;
	int found;

	if (cap < PACK_SLACK) {
		gsm__reply_take(s, SIZE_MAX); /* no room for any answer */
		return;
	}
	cap -= PACK_SLACK; /* a shorter page within the reply budget */
	tb = gsm__msg_new(s, GSM_MSG_SYNC_DIGEST);
	if (!tb)
		return;
	tb->m.seq = rq->seq;
	tb->m.observed = *from;
	if (!rq->has_cursor)
		gsm__put_rev_hash(s, &tb->m); /* authority mode: ours, for the initiator */
	if (rq->state_hash_len == SYNC_HASH_LEN && !rq->has_cursor && s->cfg.sync_summary) {
		uint8_t h[SYNC_HASH_LEN];

		gsm__view_hash(s, h);
		if (!memcmp(h, rq->state_hash, SYNC_HASH_LEN)) {
			/* in sync: an empty last page echoing the summary */
			tb->m.state_hash_len = SYNC_HASH_LEN;
			memcpy(tb->m.state_hash, h, SYNC_HASH_LEN);
			gsm__send(s, from, tb);
			gsm__msg_done(s, tb);
			gsm__sync_revocations(s, rq, from);
			return;
		}
	}
	if (rq->has_cursor) {
		pos = gsm__find_pos(s, rq->cursor, &found);
		if (found)
			pos++;
	}
	tb->m.has_cursor = 1;
	memset(tb->m.cursor, 0, GSM_ID_LEN);
	used = gsm_msg_encoded_size(&tb->m);
	for (; pos < s->n_mem; pos++) {
		struct member *x = s->mem[pos];
		struct gsm_digest_entry d;
		struct gsm_update u;
		size_t sz, usz = 0;
		int bad = 0;

		if (!x->advert)
			continue;
		memcpy(d.node, x->id, GSM_ID_LEN);
		d.generation = x->adv_gen;
		d.version = x->adv_ver;
		sz = gsm_digest_entry_encoded_size(&d);
		/* states other than ALIVE travel with the digest, so a node that
		 * missed a death (or a leave) learns it by anti-entropy too */
		if (x->state != GSM_STATE_ALIVE && !x->is_self) {
			bad = 1;
			gsm__fill_update(s, x, &u);
			usz = gsm_update_encoded_size(&u);
		}
		if (used + sz + usz > cap || tb->m.n_digest >= GSM_MAX_DIGEST ||
		    (bad && tb->m.n_updates >= GSM_MAX_UPDATES)) {
			tb->m.flags |= GSM_MF_MORE;
			break;
		}
		tb->m.digest[tb->m.n_digest++] = d;
		if (bad)
			tb->m.updates[tb->m.n_updates++] = u;
		memcpy(tb->m.cursor, x->id, GSM_ID_LEN);
		used += sz + usz;
	}
	if (!tb->m.n_digest && (tb->m.flags & GSM_MF_MORE)) {
		gsm__reply_take(s, SIZE_MAX); /* not one entry fits: no page */
		gsm__msg_done(s, tb);
		return;
	}
	s->st.digest_pages_sent++;
	gsm__send(s, from, tb);
	gsm__msg_done(s, tb);
	if (!rq->has_cursor)
		gsm__sync_revocations(s, rq, from); /* what we hold, if it differs */
}

/* Responder: send adverts that are newer than the requester's. */
void gsm__handle_advert_request(struct gsm_swim *s, const struct gsm_msg *rq,
				const struct gsm_addr *from)
{
	struct member *list[GSM_MAX_DIGEST];
	size_t n = 0;

	if (++s->pack_epoch == 0) /* marks what is listed: each id answered once */
		s->pack_epoch = 1;
	for (uint16_t i = 0; i < rq->n_digest; i++) {
		const struct gsm_digest_entry *d = &rq->digest[i];
		struct member *x = gsm__find(s, d->node);

		if (!x || !x->advert || x->mark == s->pack_epoch)
			continue; /* unknown, or listed already */
		x->mark = s->pack_epoch;
		if (cmp_order(x->adv_gen, x->adv_ver, d->generation, d->version) > 0)
			list[n++] = x;
	}
	send_adverts(s, from, list, n);
}

/* Initiator: send the peer our non-ALIVE states in [pos, end) that its page
 * did not carry identically (it may have missed a death or a leave). */
static void push_states(struct gsm_swim *s, const struct gsm_addr *to, const struct gsm_msg *page,
			size_t pos, size_t end)
{
	struct txbuf *tb = NULL;
	size_t cap = body_cap(s) - PACK_SLACK, used = 0;

	for (size_t p = pos; p < end && p < s->n_mem; p++) {
		struct member *x = s->mem[p];
		struct gsm_update u;
		int same = 0;
		size_t usz;

		if (!x->advert || x->is_self || x->state == GSM_STATE_ALIVE)
			continue;
		for (uint16_t k = 0; k < page->n_updates && !same; k++) {
			const struct gsm_update *pu = &page->updates[k];

			same = !memcmp(pu->node, x->id, GSM_ID_LEN) && pu->generation == x->gen &&
			       pu->incarnation == x->inc && pu->state == x->state;
		}
		if (same)
			continue;
		gsm__fill_update(s, x, &u);
		usz = gsm_update_encoded_size(&u);
		if (tb && (used + usz > cap || tb->m.n_updates >= GSM_MAX_UPDATES)) {
			gsm__send(s, to, tb);
			gsm__msg_done(s, tb);
			tb = NULL;
		}
		if (!tb) {
			tb = gsm__msg_new(s, GSM_MSG_SYNC_RESPONSE);
			if (!tb)
				return;
			used = gsm_msg_encoded_size(&tb->m);
		}
		tb->m.updates[tb->m.n_updates++] = u;
		used += usz;
	}
	if (tb) {
		gsm__send(s, to, tb);
		gsm__msg_done(s, tb);
	}
}

/* Initiator: a digest page against our members with adverts in [pos, end)
 * (merged in id order): what the peer has and we lack or hold older goes to
 * want, what it lacks or holds older to push. */
static void digest_compare(struct gsm_swim *s, const struct gsm_msg *m, size_t pos, size_t end,
			   struct gsm_digest_entry *want, size_t *nw, struct member **push,
			   size_t *np)
{
	size_t i = 0, p = pos;

	while (i < m->n_digest || p < end) {
		const struct gsm_digest_entry *d = i < m->n_digest ? &m->digest[i] : NULL;
		struct member *x = p < end ? s->mem[p] : NULL;
		int c;

		if (x && !x->advert) {
			p++;
			continue;
		}
		if (!d)
			c = -1;
		else if (!x)
			c = 1;
		else
			c = memcmp(x->id, d->node, GSM_ID_LEN);
		if (c < 0) {
			/* we have it, peer does not */
			if (!x->is_self || s->self->advert)
				push[(*np)++] = x;
			p++;
		} else if (c > 0) {
			/* peer has it, we do not (and did not just reap it) */
			if (memcmp(d->node, s->self_id, GSM_ID_LEN) &&
			    !(s->n_reaped && gsm__is_reaped(s, d->node, d->generation))) {
				memcpy(want[*nw].node, d->node, GSM_ID_LEN);
				want[*nw].generation = 0;
				want[*nw].version = 0;
				(*nw)++;
			}
			i++;
		} else {
			int o = cmp_order(x->adv_gen, x->adv_ver, d->generation, d->version);

			if (o > 0)
				push[(*np)++] = x;
			else if (o < 0 && !x->is_self) {
				memcpy(want[*nw].node, d->node, GSM_ID_LEN);
				want[*nw].generation = x->adv_gen;
				want[*nw].version = x->adv_ver;
				(*nw)++;
			}
			i++;
			p++;
		}
	}
}

/* Initiator: a digest page arrived. */
void gsm__handle_digest_page(struct gsm_swim *s, const struct gsm_msg *m,
			     const struct gsm_addr *from)
{
	struct sync_sess *ss = &s->sync;
	struct gsm_digest_entry *want;
	struct member **push;
	size_t nw = 0, np = 0, pos = 0, end;
	int found, more = !!(m->flags & GSM_MF_MORE);

	if (!ss->active || m->seq != ss->seq)
		return;
	if (ss->has_peer && memcmp(ss->peer, m->sender, GSM_ID_LEN))
		return;
	if (!ss->has_peer) {
		ss->has_peer = 1;
		memcpy(ss->peer, m->sender, GSM_ID_LEN);
	}
	if (!s->joined)
		s->join_retry_ms = s->cfg.probe_interval_ms; /* a contact answers */
	if (ss->pages == 0)
		gsm__sync_revocations(s, m, from); /* the peer's revocations differ */
	if (ss->pages == 0 && ss->has_hash && m->state_hash_len == SYNC_HASH_LEN &&
	    !memcmp(m->state_hash, ss->hash, SYNC_HASH_LEN) && !m->n_digest &&
	    !(m->flags & GSM_MF_MORE)) {
		/* the peer holds exactly our view: nothing to page through */
		ss->pages++;
		s->st.syncs_summary++;
		sync_finish(s, 1);
		return;
	}
	s->st.digest_pages_recv++;
	want = calloc(m->n_digest + 1, sizeof(*want));
	push = calloc(s->n_mem + 1, sizeof(*push));
	if (!want || !push)
		goto out;
	/* our members in (previous cursor, page cursor] (or to the end) */
	if (ss->has_cursor) {
		pos = gsm__find_pos(s, ss->cursor, &found);
		if (found)
			pos++;
	}
	if (more) {
		end = gsm__find_pos(s, m->cursor, &found);
		if (found)
			end++;
	} else {
		end = s->n_mem;
	}
	digest_compare(s, m, pos, end, want, &nw, push, &np);
	if (nw || np)
		ss->changed = 1;
	ss->pages++;
	/* the pulls first, then the pushes: what exceeds this page's reply
	 * budget is left out, never the next request */
	if (nw)
		gsm__request_adverts(s, from, want, nw);
	if (more) {
		ss->has_cursor = 1;
		memcpy(ss->cursor, m->cursor, GSM_ID_LEN);
		sync_request_page(s);
	}
	if (np)
		send_adverts(s, from, push, np);
	push_states(s, from, m, pos, end);
	if (!more)
		sync_finish(s, 1);
out:
	free(want);
	free(push);
}

static int have_reconnect_candidates(const struct gsm_swim *s)
{
	return s->n_dead > 0 || s->n_seeds > 0;
}

static int seed_is_member(const struct gsm_swim *s, const struct gsm_addr *a)
{
	for (size_t i = 0; i < s->n_mem; i++) {
		struct member *x = s->mem[i];

		if (eligible(x) && gsm_addr_equal(&x->addr, a))
			return 1;
	}
	return 0;
}

/* Contact one seed that is not a live member, or one dead member. */
static void reconnect(struct gsm_swim *s, uint64_t now)
{
	size_t nd = 0, ns = 0, cand;
	uint64_t pick;
	uint8_t live_seed[64] = {0};

	for (size_t i = 0; i < s->n_mem; i++)
		if (s->mem[i]->state == GSM_STATE_DEAD && s->mem[i]->addr.family)
			nd++;
	for (size_t i = 0; i < s->n_seeds && i < 64; i++) {
		live_seed[i] = (uint8_t)seed_is_member(s, &s->seeds[i]);
		ns += !live_seed[i];
	}
	cand = nd + ns;
	if (!cand)
		return;
	/* while alone, always a seed */
	if (s->n_alive + s->n_suspect == 0 && ns)
		pick = nd + rnd_below(s, ns);
	else
		pick = rnd_below(s, cand);
	if (pick >= nd) {
		pick -= nd;
		for (size_t i = 0; i < s->n_seeds && i < 64; i++) {
			if (live_seed[i] || pick--)
				continue;
			if (!s->sync.active)
				sync_start(s, &s->seeds[i], NULL);
			return;
		}
		return;
	}
	for (size_t i = 0; i < s->n_mem; i++) {
		struct member *x = s->mem[i];

		if (x->state != GSM_STATE_DEAD || !x->addr.family)
			continue;
		if (pick-- == 0) {
			gsm__send_ping(s, x, ++s->seq, 0);
			return;
		}
	}
	(void)now;
}

/* Join: our advert and update to a contact beside the sync session, as
 * GOSSIP, not SYNC_RESPONSE: the receiver must spread us.  0 or -ENOMEM. */
static int introduce(struct gsm_swim *s, const struct gsm_addr *to)
{
	struct txbuf *tb = gsm__msg_new(s, GSM_MSG_GOSSIP);

	if (!tb)
		return -ENOMEM;
	tb->m.adverts[0].ptr = s->self->advert;
	tb->m.adverts[0].len = s->self->advert_len;
	tb->m.n_adverts = 1;
	gsm__fill_update(s, s->self, &tb->m.updates[0]);
	tb->m.n_updates = 1;
	gsm__send(s, to, tb);
	gsm__msg_done(s, tb);
	return 0;
}

int gsm_swim_join(struct gsm_swim *s, const struct gsm_addr *seeds, size_t n)
{
	int contacted = 0;
	struct member *imp[3];
	size_t ni = 0;

	if (!s || (n && !seeds))
		return -EINVAL;
	if (!s->self->advert)
		return -EAGAIN;
	if (n) {
		if (gsm__grow(s, &s->seeds, &s->cap_seeds, s->n_seeds + n, sizeof(*s->seeds)))
			return -ENOMEM;
		for (size_t i = 0; i < n; i++) {
			int dup = 0;

			for (size_t j = 0; j < s->n_seeds; j++)
				dup |= gsm_addr_equal(&s->seeds[j], &seeds[i]);
			if (!dup && seeds[i].family)
				s->seeds[s->n_seeds++] = seeds[i];
		}
	}
	/* the first seed drives a sync session; every other gets our advert */
	for (size_t i = 0; i < n; i++) {
		if (!seeds[i].family || gsm_addr_equal(&seeds[i], &s->self->addr))
			continue;
		if (!s->sync.active)
			sync_start(s, &seeds[i], NULL);
		else if (introduce(s, &seeds[i]))
			return -ENOMEM;
		contacted++;
	}
	/* a few imported members, for when every seed is down */
	for (size_t i = 0; i < s->n_mem && ni < 3; i++) {
		struct member *x = s->mem[(i + rnd_below(s, s->n_mem)) % s->n_mem];
		int dup = 0;

		for (size_t j = 0; j < ni; j++)
			dup |= imp[j] == x;
		if (!dup && x->imported && eligible(x))
			imp[ni++] = x;
	}
	for (size_t i = 0; i < ni; i++) {
		if (!s->sync.active)
			sync_start(s, &imp[i]->addr, imp[i]->id);
		else if (introduce(s, &imp[i]->addr))
			return -ENOMEM;
		contacted++;
	}
	s->next_reconnect = now_ms(s) + jitter(s, s->cfg.reconnect_interval_ms);
	return contacted;
}

/* The sync session's deadline and the next sync, then the reconnect timer
 * (seeds and dead members). */
void gsm__sync_timers(struct gsm_swim *s, uint64_t now)
{
	/* anti-entropy */
	if (s->sync.active && now >= s->sync.deadline)
		sync_finish(s, 0);
	if (!s->sync.active && now >= s->next_sync && s->sync_again) {
		struct sync_sess prev = s->sync;

		s->sync_again = 0;
		sync_start(s, &prev.addr, prev.has_peer ? prev.peer : NULL);
	} else if (!s->sync.active && now >= s->next_sync) {
		struct member *p;

		if (gsm__pick_random(s, &p, 1, NULL, 1) == 1)
			sync_start(s, &p->addr, p->id);
		else
			s->next_sync = now + gsm__next_sync_delay(s);
	}
	/* reconnect to seeds and dead members */
	if (now >= s->next_reconnect) {
		if (have_reconnect_candidates(s) && s->self->advert)
			reconnect(s, now);
		s->next_reconnect = now + jitter(s, s->cfg.reconnect_interval_ms);
	}
}
