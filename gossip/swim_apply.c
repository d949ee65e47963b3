/*
 * gossip/swim_apply.c - applying membership updates and signed adverts.
 *
 * Ordering.  A member's state is ordered by (generation, incarnation), then
 * LEFT > DEAD > SUSPECT > ALIVE.  The generation is bumped by every start
 * of a daemon, so a newer generation supersedes whatever we hold; an older
 * one is stale, and LEFT is final within its generation.  Within one
 * generation the incarnation decides, and each target state has its own
 * rule for a tie (update_order and the accept_* functions below):
 *   ALIVE    only a higher incarnation (refutation);
 *   SUSPECT  a higher incarnation, or the same one over ALIVE; the same
 *            one over SUSPECT is an independent confirmation (Lifeguard)
 *            that shortens the timer but changes nothing else;
 *   DEAD     about a member we hold DEAD: a higher incarnation; about one
 *            we hold ALIVE or SUSPECT it is taken as SUSPECT (the same
 *            incarnation over SUSPECT: a confirmation), so the member
 *            always gets a suspicion timeout to refute: only the expiry of
 *            our own timer declares a member DEAD here (gsm__declare);
 *   LEFT     the same or a higher incarnation, and only with a valid leave
 *            signature.
 * Authentication (protocol major 2).  A claim is bounded by what its
 * subject signed: every member keeps the highest (generation, incarnation)
 * it signed (sgen, sinc): its advert's (generation, 0), or an ALIVE update
 * carrying its signature over the alive intent (a refutation; wire update
 * key 6).  Any update (other than a LEFT, which carries its own leave
 * signature) naming more than that is ignored and counted
 * (claims_rejected), unless it carries the subject's valid alive
 * signature, which raises the bound (claim_signed).  So a key holder can
 * only claim a member suspect or dead at a life and incarnation the member
 * reached itself, and the member can always refute it by signing a higher
 * incarnation.  Values above INT64_MAX are never taken (nobody signs them;
 * JSON prints signed 64-bit integers).  Only a signed advert admits a
 * member (apply_advert, up to cfg.max_members): an update about an unknown
 * id is ignored (updates_unknown) and at most asks the sender for the
 * advert, through a small fixed table of ids asked for recently
 * (recently_requested), so a flood of bare ids costs a bounded number of
 * requests.  Adverts of a message are applied before its updates.
 * Claims (protocol major 3).  A SUSPECT or DEAD update names its claimer
 * (`from`) and carries the claimer's Ed25519 signature over the claim
 * intent (wire update key 7).  One about another member counts only when
 * its claimer is a live member (not DEAD or LEFT) with an advert, is not
 * the subject, and signed it; otherwise it is ignored and counted
 * (claims_unsigned).  Lifeguard counts a confirmation per distinct
 * verified claimer, so one member cannot fake k confirmations by naming
 * others or random ids.  The signature is checked only when the claim
 * would change something (taken, or a confirmation not counted yet), so
 * relayed duplicates cost a lookup; cfg.verify_signatures false skips the
 * check (huge simulations) but not the claimer's membership.  We relay a
 * claim exactly as signed (gsm__claim_keep / gsm__claim_fill), and sign
 * our own suspicions and deaths with our identity.
 * Updates about ourselves are never applied: a claim at our current
 * incarnation is refuted (swim_detect.c: incarnation + 1, signed,
 * saturating at INT64_MAX), a stale one answered with our state, one above
 * our own (generation, incarnation) ignored and counted: we never signed
 * it.
 *
 * What sync teaches is not re-gossiped (anti-entropy is pairwise), except
 * bad news: otherwise every joiner would re-broadcast the whole cluster.
 * Stale bad news brought by a sync is answered with the newer ALIVE state.
 * A member's advert that is missing, or older than its membership
 * generation, is requested from whoever told us about it (rate limited per
 * member).
 *
 * Adverts are accepted when newer (generation, version) and correctly
 * signed; the core stores the signed bytes, not decoded adverts.  With
 * authority keys the advert's certificate chain is checked as well before
 * it costs an admission (swim_authority.c: REQUIRE refuses a chain that
 * is not VALID, WARN a REVOKED one), and updates about a REVOKED member
 * are ignored.  A newer
 * advert generation is a new life of the member: ALIVE at incarnation 0.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/swim_int.h"

/* An update about ourselves is never applied: refute a current suspicion
 * or death claim, answer a stale one with our state, warn about a newer
 * generation of us. */
static void update_about_self(struct gsm_swim *s, const struct gsm_update *u,
			      const struct gsm_addr *from_addr)
{
	uint8_t st = u->state;
	int bad_news = st == GSM_STATE_SUSPECT || st == GSM_STATE_DEAD;

	if (cmp_order(u->generation, u->incarnation, s->cfg.generation, s->self->inc) > 0) {
		/* we never signed it: a forgery (or this identity runs twice) */
		s->st.claims_rejected++;
		gsm__log(s, GSM_LOG_WARN,
			 "ignored a claim about us above our own generation/incarnation "
			 "(%llu/%llu > %llu/%llu): forged, or is this identity running twice?",
			 (unsigned long long)u->generation, (unsigned long long)u->incarnation,
			 (unsigned long long)s->cfg.generation, (unsigned long long)s->self->inc);
	} else if (u->generation == s->cfg.generation && !s->leaving && bad_news &&
		   u->incarnation == s->self->inc) {
		gsm__refute(s, u->incarnation, from_addr);
	} else if (u->generation == s->cfg.generation && !s->leaving && bad_news && from_addr) {
		gsm__send_gossip(s, from_addr, s->self); /* stale claim: tell our current state */
	}
}

/* Whether u's (generation, incarnation) is within what its subject m
 * signed.  A higher one is taken only with the subject's valid signature
 * over the alive intent, which raises the bound (and is kept, to pass it
 * on). */
static int claim_signed(struct gsm_swim *s, struct member *m, const struct gsm_update *u)
{
	uint8_t intent[GSM_ALIVE_INTENT_LEN];

	if (cmp_order(u->generation, u->incarnation, m->sgen, m->sinc) <= 0)
		return 1;
	if (!u->has_sig)
		return 0;
	gsm_alive_intent(u->node, u->generation, u->incarnation, intent);
	if (s->cfg.verify_signatures && gsm_verify(u->node, intent, sizeof(intent), u->sig))
		return 0;
	if (!m->alive_sig)
		m->alive_sig = gsm__mem_alloc(s, GSM_SIG_LEN);
	if (m->alive_sig) {
		memcpy(m->alive_sig, u->sig, GSM_SIG_LEN);
		m->sgen = u->generation;
		m->sinc = u->incarnation;
	}
	return m->alive_sig != NULL;
}

/* A LEFT update must carry the member's signature over its leave intent. */
static int leave_signed(const struct gsm_swim *s, const struct gsm_update *u)
{
	uint8_t intent[GSM_LEAVE_INTENT_LEN];

	if (!u->has_sig)
		return 0;
	gsm_leave_intent(u->node, u->generation, u->incarnation, intent);
	if (s->cfg.verify_signatures && gsm_verify(u->node, intent, sizeof(intent), u->sig))
		return 0;
	return 1;
}

/* update_order() results besides the incarnation comparison -1, 0, 1 */
#define UPD_STALE    (-2) /* older generation, or LEFT within this one */
#define UPD_NEW_LIFE 2	  /* newer generation: wins whatever the states */

/* The ordering rule: how u relates to what we hold for m.  A generation
 * decides first; LEFT is final within a generation; within one the
 * incarnations compare (-1, 0, 1) and the target state's rule decides. */
static int update_order(const struct member *m, const struct gsm_update *u)
{
	if (u->generation > m->gen)
		return UPD_NEW_LIFE;
	if (u->generation < m->gen)
		return UPD_STALE;
	if (m->state == GSM_STATE_LEFT)
		return UPD_STALE;
	return cmp_order(u->generation, u->incarnation, m->gen, m->inc);
}

/* Target ALIVE: only a higher incarnation (a refutation). */
static int accept_alive(int c)
{
	return c > 0;
}

/* Target LEFT (signature already checked): the same or a higher
 * incarnation. */
static int accept_left(int c)
{
	return c >= 0;
}

/* Whether the ALIVE or LEFT update u supersedes what we hold for the
 * known member m (claims: claim_effect). */
static int update_accepted(const struct member *m, const struct gsm_update *u)
{
	int c = update_order(m, u);

	if (c == UPD_NEW_LIFE)
		return 1;
	if (c == UPD_STALE)
		return 0;
	return u->state == GSM_STATE_ALIVE ? accept_alive(c) : accept_left(c);
}

/* claim_effect() results */
#define CLAIM_NONE    0 /* changes nothing: ignored without verifying it */
#define CLAIM_TAKE    1 /* taken, in the state it returned */
#define CLAIM_CONFIRM 2 /* its claimer is a new confirmation (Lifeguard) */

/* What the SUSPECT/DEAD claim u would do to the known member m.  A DEAD
 * claim about a member we hold ALIVE or SUSPECT is taken as SUSPECT (*st
 * lowered), the same incarnation over SUSPECT as a confirmation. */
static int claim_effect(struct gsm_swim *s, const struct member *m, const struct gsm_update *u,
			uint8_t *st)
{
	int c = update_order(m, u);

	if (c == UPD_STALE || c < 0)
		return CLAIM_NONE;
	if (c > 0 || m->state == GSM_STATE_ALIVE) {
		if (*st == GSM_STATE_DEAD && m->state != GSM_STATE_DEAD)
			*st = GSM_STATE_SUSPECT;
		return CLAIM_TAKE;
	}
	if (m->state == GSM_STATE_SUSPECT && gsm__confirm_counts(s, m, u->from))
		return CLAIM_CONFIRM;
	return CLAIM_NONE;
}

/* Whose claims count: a live member (not DEAD or LEFT) with an advert,
 * other than the claim's subject, and the claim must name it. */
static int claimer_known(const struct gsm_swim *s, const struct gsm_update *u)
{
	const struct member *c;

	if (!u->has_from || !u->has_claim_sig || !memcmp(u->from, u->node, GSM_ID_LEN))
		return 0;
	c = gsm__find(s, u->from);
	return c && c->advert && (c->state == GSM_STATE_ALIVE || c->state == GSM_STATE_SUSPECT);
}

/* Take an accepted update into m in state st: order, address, state and
 * counters, the suspicion timer, the leave signature.  Returns the old
 * state (0xff for a member that was new). */
static uint8_t commit_update(struct gsm_swim *s, struct member *m, const struct gsm_update *u,
			     uint8_t st)
{
	uint8_t old = m->state;

	m->gen = u->generation;
	m->inc = u->incarnation;
	m->imported = 0;
	if (u->addr.family)
		m->addr = u->addr;
	gsm__set_state(s, m, st);
	if (st == GSM_STATE_SUSPECT) {
		if (old != GSM_STATE_SUSPECT || !m->susp)
			gsm__suspicion_start(s, m, u->has_from ? u->from : NULL);
	} else {
		gsm__susp_remove(s, m);
	}
	if (st == GSM_STATE_LEFT) {
		if (!m->leave_sig)
			m->leave_sig = gsm__mem_alloc(s, GSM_SIG_LEN);
		if (m->leave_sig)
			memcpy(m->leave_sig, u->sig, GSM_SIG_LEN);
	}
	return old;
}

/* What follows an accepted update: an advert request when ours is missing
 * or stale, gossiping it on, a sync after a healed partition, the event. */
static void announce_update(struct gsm_swim *s, struct member *m, uint8_t st, uint8_t old,
			    int via_sync, int *need_advert)
{
	/* an advert older than the membership generation is stale */
	if (m->advert && m->adv_gen < m->gen && need_advert)
		*need_advert = 1;
	if (!m->advert && need_advert)
		*need_advert = 1;
	/* anti-entropy is pairwise: only bad news learned by sync is gossiped */
	if (!via_sync || st != GSM_STATE_ALIVE)
		gsm__enqueue(&s->uqueue, &m->uq);
	if (old == GSM_STATE_DEAD && st == GSM_STATE_ALIVE)
		gsm__sync_soon(s); /* a healed partition: its adverts may have moved on */
	if (m->advert && old != st) {
		switch (st) {
		case GSM_STATE_ALIVE:
			gsm__emit(s, GSM_SWIM_EV_ALIVE, m);
			break;
		case GSM_STATE_SUSPECT:
			gsm__emit(s, GSM_SWIM_EV_SUSPECT, m);
			break;
		case GSM_STATE_DEAD:
			gsm__emit(s, GSM_SWIM_EV_DEAD, m);
			break;
		case GSM_STATE_LEFT:
			gsm__emit(s, GSM_SWIM_EV_LEFT, m);
			break;
		}
	}
}

/* A claim u about the known member m that its subject did not sign: ignored
 * and counted; one naming a newer generation than its advert's asks for
 * that advert (an honest restart whose advert has not reached us yet). */
static void claim_rejected(struct gsm_swim *s, const struct member *m, const struct gsm_update *u,
			   int *need_advert)
{
	s->st.claims_rejected++;
	if (need_advert && u->generation > m->adv_gen && u->generation <= INT64_MAX)
		*need_advert = 1;
}

/* A SUSPECT/DEAD claim u about the known member m (its bound checked):
 * its claimer, its effect, then (only if it has one) its signature. */
static int apply_claim(struct gsm_swim *s, struct member *m, const struct gsm_update *u,
		       int via_sync, int *need_advert)
{
	uint8_t st = u->state, old;
	int e = claim_effect(s, m, u, &st);

	if (e == CLAIM_NONE)
		return 0;
	if (s->cfg.verify_signatures && gsm_claim_verify(u)) {
		s->st.claims_unsigned++;
		return 0;
	}
	if (e == CLAIM_CONFIRM) {
		if (gsm__suspicion_confirm(s, m, u->from)) {
			gsm__claim_keep(s, m, u); /* relay the newest confirmation */
			gsm__enqueue(&s->uqueue, &m->uq);
		}
		return 0;
	}
	if (!m->addr.family && u->addr.family)
		m->addr = u->addr;
	old = commit_update(s, m, u, st);
	gsm__claim_keep(s, m, u);
	announce_update(s, m, st, old, via_sync, need_advert);
	return 1;
}

void gsm__declare(struct gsm_swim *s, struct member *m, uint8_t state)
{
	struct gsm_update u;
	uint8_t old;

	gsm__fill_update(s, m, &u);
	u.state = state;
	if (gsm_claim_sign(s->id, &u) < 0)
		gsm__log(s, GSM_LOG_ERR, "could not sign a %s claim", gsm_state_name(state));
	old = commit_update(s, m, &u, state);
	gsm__claim_keep(s, m, &u);
	announce_update(s, m, state, old, 0, NULL);
}

int gsm__apply_update(struct gsm_swim *s, const struct gsm_update *u, int via_sync,
		      const struct gsm_addr *from_addr, int *need_advert)
{
	int claim = u->state == GSM_STATE_SUSPECT || u->state == GSM_STATE_DEAD;

	struct member *m;
	uint8_t st = u->state, old;

	if (st > GSM_STATE_LEFT)
		return 0;
	if (u->generation > INT64_MAX || u->incarnation > INT64_MAX) {
		s->st.claims_rejected++; /* never signed by anyone (JSON: signed 64 bits) */
		return 0;
	}
	if (u->node[0] == s->self_id[0] && !memcmp(u->node, s->self_id, GSM_ID_LEN)) {
		update_about_self(s, u, from_addr);
		return 0;
	}
	m = gsm__find(s, u->node);
	if (m && gsm__cert_blocks_update(s, m))
		return 0; /* REVOKED: only a new advert with a good chain revives it */
	if (!m) {
		/* only a signed advert admits a member */
		s->st.updates_unknown++;
		if (need_advert)
			*need_advert = NEED_UNKNOWN;
		return 0;
	}
	if (claim && !claimer_known(s, u)) {
		s->st.claims_unsigned++; /* nobody we know signed it */
		return 0;
	}
	if (st == GSM_STATE_LEFT ? !leave_signed(s, u) : !claim_signed(s, m, u)) {
		claim_rejected(s, m, u, need_advert);
		return 0;
	}
	if (claim)
		return apply_claim(s, m, u, via_sync, need_advert);
	if (!m->addr.family && u->addr.family)
		m->addr = u->addr; /* admitted by an advert that came without one */
	if (!update_accepted(m, u))
		return 0;
	old = commit_update(s, m, u, st);
	announce_update(s, m, st, old, via_sync, need_advert);
	return 1;
}

/* Accept a signed advert if it is newer and correctly signed.  Returns 1 if
 * accepted, 0 if not newer, <0 on error. */
/* A copy of a signed advert the core may store (accounted), after its
 * signature is checked when verify is set.  NULL with *err set. */
static uint8_t *advert_copy(struct gsm_swim *s, const uint8_t *adv, size_t len, bool verify,
			    int *err)
{
	uint8_t *copy;

	if (verify && (*err = gsm_advert_verify(adv, len)) < 0)
		return NULL;
	copy = gsm__mem_alloc(s, len);
	if (!copy) {
		*err = -ENOMEM;
		return NULL;
	}
	memcpy(copy, adv, len);
	return copy;
}

/* May the advert of id (generation g, version v) replace what we hold
 * (m, NULL for an unknown id)?  1 yes, 0 not newer or reaped. */
static int advert_newer(const struct gsm_swim *s, const struct member *m, const uint8_t *id,
			uint64_t g, uint64_t v)
{
	if (m && m->advert && cmp_order(g, v, m->adv_gen, m->adv_ver) <= 0)
		return 0;
	if (m && !m->advert && g < m->gen)
		return 0; /* older life than the state we hold */
	if (!m && s->n_reaped && gsm__is_reaped(s, id, g))
		return 0;
	return 1;
}

/* Authority mode: the advert's signature, then its certificate chain
 * (swim_authority.c), before it costs an admission.  0, or the refusal. */
static int advert_certified(struct gsm_swim *s, const uint8_t *adv, size_t len, int *verified,
			    struct member *cert)
{
	int r;

	memset(cert, 0, sizeof(*cert));
	*verified = 0;
	if (!gsm__auth_on(s))
		return 0;
	if (s->cfg.verify_signatures && (r = gsm_advert_verify(adv, len)) < 0)
		return r;
	*verified = 1;
	return gsm__cert_admit(s, adv, len, cert);
}

/* A new member for an accepted advert of generation g. */
static struct member *advert_member_new(struct gsm_swim *s, const uint8_t *id, uint64_t g,
					int imported, const struct gsm_addr *addr)
{
	struct member *m = gsm__member_add(s, id);

	if (!m)
		return NULL;
	m->gen = g;
	m->inc = 0;
	m->changed_ms = now_ms(s);
	m->imported = (uint8_t)imported;
	if (addr)
		m->addr = *addr;
	return m;
}

int gsm__apply_advert(struct gsm_swim *s, const uint8_t *adv, size_t len, int imported,
		      int via_sync, const struct gsm_addr *addr, const struct gsm_addr *src)
{
	uint8_t id[GSM_ID_LEN];
	struct member *m, cert;
	int r, first, verified;
	uint64_t g, v;
	uint8_t *copy;

	if (len == 0 || len > GSM_MAX_ADVERT)
		return -EMSGSIZE;
	r = gsm_advert_peek(adv, len, id, &g, &v);
	if (r < 0)
		return r;
	if (!memcmp(id, s->self_id, GSM_ID_LEN))
		return 0;
	if (g > INT64_MAX || v > INT64_MAX) {
		s->st.claims_rejected++;
		return -ERANGE;
	}
	m = gsm__find(s, id);
	if (!advert_newer(s, m, id, g, v))
		return 0;
	if ((r = advert_certified(s, adv, len, &verified, &cert)) < 0)
		return r; /* authority mode: a bad signature or a refused chain */
	if (!m && (r = gsm__admit(s, src, via_sync)) < 0)
		return r; /* the cap, or src's admission rate */
	copy = advert_copy(s, adv, len, s->cfg.verify_signatures && !verified, &r);
	if (!copy)
		return r;
	if (!m && !(m = advert_member_new(s, id, g, imported, addr))) {
		gsm__mem_free(s, copy, len);
		return -ENOMEM;
	}
	first = m->advert == NULL;
	gsm__mem_free(s, m->advert, m->advert_len);
	m->advert = copy;
	m->advert_len = (uint16_t)len;
	m->adv_gen = g;
	m->adv_ver = v;
	if (cmp_order(g, 0, m->sgen, m->sinc) > 0) {
		/* the advert is the highest thing it signed now */
		m->sgen = g;
		m->sinc = 0;
		gsm__mem_free(s, m->alive_sig, GSM_SIG_LEN);
		m->alive_sig = NULL;
	}
	if (g > m->gen) {
		/* a new life of the member: alive at incarnation 0 */
		m->gen = g;
		m->inc = 0;
		gsm__set_state(s, m, GSM_STATE_ALIVE);
		if (!first && !via_sync)
			gsm__enqueue(&s->uqueue, &m->uq);
	}
	if (!imported && !via_sync) {
		gsm__enqueue(&s->aqueue, &m->aq);
		if (first)
			gsm__enqueue(&s->uqueue, &m->uq);
	}
	gsm__cert_commit(s, m, &cert, first);
	gsm__emit(s, first ? GSM_SWIM_EV_JOINED : GSM_SWIM_EV_UPDATED, m);
	return 1;
}

/* Advert requests for unknown node ids: a fixed table of RECENT_REQ ids
 * requested within the last two probe intervals.  1 (do not ask) if id is
 * in it or the table is full, else id takes a free slot.  So a flood of
 * bare ids costs at most RECENT_REQ requested ids per two intervals. */
static int recently_requested(struct gsm_swim *s, const uint8_t *id, uint64_t now)
{
	int free_slot = -1;

	for (int i = 0; i < RECENT_REQ; i++) {
		if (!s->recent_req_ms[i] ||
		    now - s->recent_req_ms[i] >= s->cfg.probe_interval_ms * 2u) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (!memcmp(s->recent_req[i], id, GSM_ID_LEN))
			return 1;
	}
	if (free_slot < 0)
		return 1;
	memcpy(s->recent_req[free_slot], id, GSM_ID_LEN);
	s->recent_req_ms[free_slot] = now ? now : 1;
	return 0;
}

/* Process the piggybacked updates and adverts of a received message. */
void gsm__process_piggyback(struct gsm_swim *s, const struct gsm_msg *m,
			    const struct gsm_addr *from, int via_sync)
{
	struct gsm_digest_entry want[32];
	struct member *fix[32];
	size_t nw = 0, nf = 0;
	uint64_t now = now_ms(s);

	/* revocations first (they may refuse the adverts), then adverts:
	 * they admit members the updates may be about */
	gsm__process_revocations(s, m);
	for (uint16_t i = 0; i < m->n_adverts; i++) {
		int r = gsm__apply_advert(s, m->adverts[i].ptr, m->adverts[i].len, 0, via_sync,
					  NULL, from);

		if (r < 0)
			gsm__log(s, GSM_LOG_DEBUG, "advert rejected: %s", gsm_strerror(r));
	}
	for (uint16_t i = 0; i < m->n_updates; i++) {
		const struct gsm_update *u = &m->updates[i];
		int need = 0;

		if (!gsm__apply_update(s, u, via_sync, from, &need) && via_sync && nf < 32 &&
		    u->state != GSM_STATE_ALIVE) {
			/* anti-entropy brought stale bad news (the peer missed a
			 * refutation or a restart): answer with what we know */
			struct member *x = gsm__find(s, u->node);

			if (x && !x->is_self && x->state == GSM_STATE_ALIVE &&
			    cmp_order(x->gen, x->inc, u->generation, u->incarnation) > 0)
				fix[nf++] = x;
		}
		if (need == NEED_UNKNOWN && nw < 32 && !recently_requested(s, u->node, now)) {
			memset(&want[nw], 0, sizeof(want[nw]));
			memcpy(want[nw].node, u->node, GSM_ID_LEN);
			nw++;
		} else if (need == 1 && nw < 32) {
			struct member *x = gsm__find(s, m->updates[i].node);

			if (x && since32(now, x->advreq_ms) >= s->cfg.probe_interval_ms * 2u) {
				x->advreq_ms = stamp32(now);
				memcpy(want[nw].node, x->id, GSM_ID_LEN);
				want[nw].generation = x->adv_gen;
				want[nw].version = x->adv_ver;
				nw++;
			}
		}
	}
	if (nw)
		gsm__request_adverts(s, from, want, nw);
	for (size_t i = 0; i < nf;) {
		struct txbuf *tb = gsm__msg_new(s, GSM_MSG_SYNC_RESPONSE);
		size_t used, cap = body_cap(s) - PACK_SLACK;

		if (!tb)
			return;
		used = gsm_msg_encoded_size(&tb->m);
		while (i < nf) {
			struct gsm_update u;
			size_t sz;

			gsm__fill_update(s, fix[i], &u);
			sz = gsm_update_encoded_size(&u);
			if (used + sz > cap && tb->m.n_updates)
				break;
			tb->m.updates[tb->m.n_updates++] = u;
			used += sz;
			i++;
		}
		gsm__send(s, from, tb);
		gsm__msg_done(s, tb);
	}
}

/* Sender liveness bookkeeping, and direct telling (partition healing). */
void gsm__note_sender(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from)
{
	struct member *x;
	uint64_t now = now_ms(s);

	if (m->sender_gen > INT64_MAX) {
		s->st.claims_rejected++; /* nobody signs such a generation */
		return;
	}
	x = gsm__find(s, m->sender);
	if (!x) {
		if (m->type != GSM_MSG_SYNC_RESPONSE && m->type != GSM_MSG_LEAVE &&
		    !recently_requested(s, m->sender, now)) {
			struct gsm_digest_entry d;

			memcpy(d.node, m->sender, GSM_ID_LEN);
			d.generation = 0;
			d.version = 0;
			gsm__request_adverts(s, from, &d, 1);
		}
		return;
	}
	if (x->is_self)
		return;
	if (m->sender_gen > x->gen || (x->advert && m->sender_gen > x->adv_gen)) {
		if (since32(now, x->advreq_ms) >= s->cfg.probe_interval_ms * 2u) {
			struct gsm_digest_entry d;

			x->advreq_ms = stamp32(now);
			memcpy(d.node, x->id, GSM_ID_LEN);
			d.generation = x->adv_gen;
			d.version = x->adv_ver;
			gsm__request_adverts(s, from, &d, 1);
		}
		return;
	}
	if (m->sender_gen == x->gen &&
	    (x->state == GSM_STATE_SUSPECT || x->state == GSM_STATE_DEAD) &&
	    m->type != GSM_MSG_LEAVE && !s->leaving && !gsm__cert_blocks_update(s, x)) {
		if (since32(now, x->told_ms) >= s->cfg.probe_interval_ms) {
			x->told_ms = stamp32(now);
			gsm__send_gossip(s, from, x);
		}
	}
}

int gsm_swim_set_advert(struct gsm_swim *s, const uint8_t *adv, size_t len)
{
	uint8_t id[GSM_ID_LEN];
	uint64_t g, v;
	struct member *me, cert;
	uint8_t *copy;
	int r, first;

	if (!s || !adv || !len || len > GSM_MAX_ADVERT)
		return -EINVAL;
	r = gsm_advert_peek(adv, len, id, &g, &v);
	if (r < 0)
		return r;
	me = s->self;
	if (memcmp(id, s->self_id, GSM_ID_LEN) || g != s->cfg.generation)
		return -EINVAL;
	if (me->advert && v <= me->adv_ver)
		return -ESTALE;
	copy = advert_copy(s, adv, len, true, &r); /* our own: always checked */
	if (!copy)
		return r;
	if ((r = gsm__cert_admit(s, adv, len, &cert)) < 0) {
		gsm__mem_free(s, copy, len);
		return r; /* (out of memory: our own chain is never refused) */
	}
	first = me->advert == NULL;
	gsm__mem_free(s, me->advert, me->advert_len);
	me->advert = copy;
	me->advert_len = (uint16_t)len;
	me->adv_gen = g;
	me->adv_ver = v;
	me->changed_ms = now_ms(s);
	gsm__enqueue(&s->aqueue, &me->aq);
	if (first)
		gsm__enqueue(&s->uqueue, &me->uq);
	gsm__cert_commit(s, me, &cert, 0);
	return 0;
}

int gsm_swim_import(struct gsm_swim *s, const uint8_t *adv, size_t len, const struct gsm_addr *addr)
{
	int r;

	if (!s || !adv)
		return -EINVAL;
	r = gsm__apply_advert(s, adv, len, 1, 0, addr, NULL);
	return r < 0 ? r : 0;
}
