/*
 * gossip/swim_detect.c - failure detection: SWIM probing with the
 * Lifeguard refinements, suspicion timers and refutation.
 *
 * SWIM.  Each probe period one member (randomized round robin: the probe
 * order is reshuffled, Fisher-Yates, whenever it is exhausted) gets a PING;
 * without an ACK within the probe timeout, k helpers are asked to PING_REQ
 * it; still nothing by the end of the period and the member becomes
 * SUSPECT, then DEAD when the suspicion timer expires unless the member
 * refutes by bumping its incarnation.  A helper relays the target's ACK
 * (FORWARDED) or, with Lifeguard, sends a NACK when the target stays silent.
 *
 * Lifeguard on top: a local health multiplier (LHM, "awareness") that grows
 * with missed acks/nacks and refutations and stretches our own probe
 * interval and timeouts (a slow node stops accusing healthy ones); NACKs
 * from ping-req helpers; suspicion timeouts that start long and shrink with
 * every independent confirmation (min = suspicion_min_mult * max(1, log10 N)
 * probe intervals, max = suspicion_max_mult * min, shrinking
 * logarithmically to min at the expected number of confirmations); and the
 * buddy rule (a suspect hears about its suspicion in the very ping that
 * probes it).
 *
 * False positives.  Besides Lifeguard: a second direct ping goes out with
 * the ping-reqs (under random loss this alone cuts false suspicions about
 * tenfold), and an expiring suspicion gets a last-chance direct ping
 * carrying the suspicion (a live member answers with its newer state), so
 * a node that missed a refutation does not declare a healthy member dead.
 *
 * Observed addresses.  ACKs and digest pages carry the address the sender
 * sees us at (key 13), pings and acks the WireGuard endpoint its WireGuard
 * sees for us (key 14, from gsm_swim_set_wg_observed); both become events,
 * rate limited to changes and one refresh per OBS_REFRESH_MS.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/swim_int.h"

static uint32_t lhm(const struct gsm_swim *s)
{
	return s->cfg.lifeguard ? s->awareness : 0;
}

static void awareness_delta(struct gsm_swim *s, int d)
{
	int64_t a = (int64_t)s->awareness + d;

	if (!s->cfg.lifeguard)
		return;
	if (a < 0)
		a = 0;
	if (s->cfg.awareness_max && a > (int64_t)s->cfg.awareness_max - 1)
		a = s->cfg.awareness_max - 1;
	s->awareness = (uint32_t)a;
}

static uint64_t probe_interval(const struct gsm_swim *s)
{
	return (uint64_t)s->cfg.probe_interval_ms * (lhm(s) + 1);
}

static uint64_t probe_timeout(const struct gsm_swim *s)
{
	return (uint64_t)s->cfg.probe_timeout_ms * (lhm(s) + 1);
}

static double node_scale(const struct gsm_swim *s)
{
	double n = (double)cluster_size(s);
	double sc = log10(n < 1 ? 1 : n);

	return sc < 1.0 ? 1.0 : sc;
}

static uint64_t suspicion_min(const struct gsm_swim *s)
{
	return (uint64_t)(s->cfg.suspicion_min_mult * node_scale(s) * s->cfg.probe_interval_ms);
}

static uint64_t suspicion_max(const struct gsm_swim *s)
{
	return suspicion_min(s) * s->cfg.suspicion_max_mult;
}

uint32_t gsm__expected_confirmations(const struct gsm_swim *s)
{
	size_t n = cluster_size(s);
	uint32_t k = s->cfg.indirect_probes;

	if (n < 3)
		return 0;
	if (k > n - 2)
		k = (uint32_t)(n - 2);
	return k;
}

uint64_t gsm__suspicion_timeout(const struct gsm_swim *s, uint32_t confirmations)
{
	uint64_t mn = suspicion_min(s), mx = suspicion_max(s);
	uint32_t k = gsm__expected_confirmations(s);
	double frac, t;

	if (!s->cfg.lifeguard)
		return mn;
	if (k == 0 || mx <= mn)
		return mn;
	frac = log((double)confirmations + 1.0) / log((double)k + 1.0);
	t = (double)mx - frac * (double)(mx - mn);
	if (t < (double)mn)
		t = (double)mn;
	return (uint64_t)t;
}

void gsm__susp_remove(struct gsm_swim *s, struct member *m)
{
	if (!m->susp)
		return;
	for (size_t i = 0; m->susp->timer && i < s->n_susp; i++) {
		if (s->susp[i] == m) {
			s->susp[i] = s->susp[--s->n_susp];
			break;
		}
	}
	gsm__mem_free(s, m->susp, sizeof(*m->susp));
	m->susp = NULL;
}

static const struct gsm_addr *wgobs_find(const struct gsm_swim *s, const uint8_t id[GSM_ID_LEN])
{
	for (size_t i = 0; i < s->n_wgobs; i++)
		if (!memcmp(s->wgobs[i].id, id, GSM_ID_LEN))
			return &s->wgobs[i].addr;
	return NULL;
}

void gsm__send_ping(struct gsm_swim *s, struct member *target, uint32_t seq, int buddy)
{
	struct txbuf *tb = gsm__msg_new(s, GSM_MSG_PING);

	if (!tb)
		return;
	tb->m.seq = seq;
	tb->m.has_target = 1;
	memcpy(tb->m.target, target->id, GSM_ID_LEN);
	tb->m.target_addr = target->addr;
	if (s->n_wgobs) {
		const struct gsm_addr *w = wgobs_find(s, target->id);
		if (w)
			tb->m.wg_observed = *w;
	}
	gsm__pack(s, &tb->m,
		  (buddy > 1 || (buddy && s->cfg.lifeguard)) && target->state == GSM_STATE_SUSPECT
		      ? target
		      : NULL);
	gsm__send(s, &target->addr, tb);
	gsm__msg_done(s, tb);
}

void gsm__suspicion_start(struct gsm_swim *s, struct member *m, const uint8_t *from)
{
	uint64_t now = now_ms(s);

	if (!m->susp) {
		m->susp = gsm__mem_alloc(s, sizeof(*m->susp));
		if (!m->susp)
			return;
	}
	if (!m->susp->timer) {
		/* new, or the timer-less record of a DEAD member */
		if (gsm__grow(s, &s->susp, &s->cap_susp, s->n_susp + 1, sizeof(*s->susp))) {
			gsm__mem_free(s, m->susp, sizeof(*m->susp));
			m->susp = NULL;
			return;
		}
		s->susp[s->n_susp++] = m;
	}
	memset(m->susp, 0, sizeof(*m->susp));
	m->susp->timer = 1;
	m->susp->start = now;
	m->susp->deadline = now + gsm__suspicion_timeout(s, 0);
	if (from) {
		m->susp->has_from = 1;
		memcpy(m->susp->from, from, GSM_ID_LEN);
		m->susp->has_origin = 1;
		memcpy(m->susp->origin, from, GSM_ID_LEN);
	}
}

/* Lifeguard: an independent confirmation shortens the timer.  Only the
 * claimers counted here and the origin are remembered, so a confirmation
 * is counted once per distinct claimer; the claim to relay is kept by
 * gsm__claim_keep (the caller's, after it verified the claim). */
int gsm__confirm_counts(const struct gsm_swim *s, const struct member *m, const uint8_t *from)
{
	const struct suspicion *sp = m->susp;

	if (!sp || !sp->timer || !from)
		return 0;
	if (sp->has_origin && !memcmp(sp->origin, from, GSM_ID_LEN))
		return 0;
	for (int i = 0; i < sp->n_confirm; i++)
		if (!memcmp(sp->confirm[i], from, GSM_ID_LEN))
			return 0;
	return sp->n_confirm < MAX_CONFIRM && sp->n_confirm < gsm__expected_confirmations(s);
}

int gsm__suspicion_confirm(struct gsm_swim *s, struct member *m, const uint8_t *from)
{
	struct suspicion *sp = m->susp;

	if (!gsm__confirm_counts(s, m, from))
		return 0;
	memcpy(sp->confirm[sp->n_confirm++], from, GSM_ID_LEN);
	sp->deadline = sp->start + gsm__suspicion_timeout(s, sp->n_confirm);
	return 1;
}

void gsm__claim_keep(struct gsm_swim *s, struct member *m, const struct gsm_update *u)
{
	struct suspicion *sp;

	if (!u->has_from || !u->has_claim_sig)
		return;
	if (!m->susp)
		m->susp = gsm__mem_alloc(s, sizeof(*m->susp)); /* DEAD: no timer */
	sp = m->susp;
	if (!sp)
		return;
	sp->has_from = 1;
	memcpy(sp->from, u->from, GSM_ID_LEN);
	sp->has_claim_sig = 1;
	memcpy(sp->claim_sig, u->claim_sig, GSM_SIG_LEN);
	sp->claim_state = u->state;
	sp->claim_gen = u->generation;
	sp->claim_inc = u->incarnation;
}

void gsm__claim_fill(const struct member *m, struct gsm_update *u)
{
	const struct suspicion *sp = m->susp;

	if (m->state != GSM_STATE_SUSPECT && m->state != GSM_STATE_DEAD)
		return;
	u->has_from = 0;
	u->has_claim_sig = 0;
	if (!sp || !sp->has_claim_sig || sp->claim_gen != m->gen || sp->claim_inc != m->inc)
		return;
	u->state = sp->claim_state; /* a DEAD claim we hold as a suspicion: as said */
	u->has_from = 1;
	memcpy(u->from, sp->from, GSM_ID_LEN);
	u->has_claim_sig = 1;
	memcpy(u->claim_sig, sp->claim_sig, GSM_SIG_LEN);
}

void gsm__self_bump(struct gsm_swim *s, uint64_t inc)
{
	struct member *me = s->self;
	uint8_t intent[GSM_ALIVE_INTENT_LEN];

	if (inc > INT64_MAX)
		inc = INT64_MAX; /* saturate: a wrapped incarnation would never win */
	if (inc > me->inc)
		me->inc = inc;
	if (!me->alive_sig)
		me->alive_sig = gsm__mem_alloc(s, GSM_SIG_LEN);
	if (me->alive_sig) {
		gsm_alive_intent(s->self_id, me->gen, me->inc, intent);
		if (gsm_sign(s->id, intent, sizeof(intent), me->alive_sig) == 0) {
			me->sgen = me->gen;
			me->sinc = me->inc;
		}
	}
	me->changed_ms = now_ms(s);
	gsm__enqueue(&s->uqueue, &me->uq);
}

void gsm__refute(struct gsm_swim *s, uint64_t claimed_inc, const struct gsm_addr *tell)
{
	if (s->leaving)
		return;
	gsm__self_bump(s, claimed_inc < INT64_MAX ? claimed_inc + 1 : INT64_MAX);
	s->st.refutations++;
	awareness_delta(s, 1);
	gsm__emit(s, GSM_SWIM_EV_REFUTED, s->self);
	if (tell)
		gsm__send_gossip(s, tell, s->self);
}

static void probe_finish(struct gsm_swim *s)
{
	struct probe *p = &s->probe;
	struct member *m;

	if (!p->active)
		return;
	p->active = 0;
	if (p->acked) {
		awareness_delta(s, p->direct_ok ? -1 : 0);
		return;
	}
	s->st.probes_failed++;
	if (p->expected_nacks > 0) {
		if (p->nacks < p->expected_nacks)
			awareness_delta(s, (int)(p->expected_nacks - p->nacks));
	} else {
		awareness_delta(s, 1);
	}
	m = gsm__find(s, p->target);
	if (!m || m->gen != p->gen || m->inc != p->inc)
		return;
	if (m->state == GSM_STATE_ALIVE) {
		s->st.suspicions_raised++;
		gsm__declare(s, m, GSM_STATE_SUSPECT);
	} else if (m->state == GSM_STATE_SUSPECT && gsm__suspicion_confirm(s, m, s->self_id)) {
		struct gsm_update u;

		/* our confirmation, signed, is what we relay now */
		gsm__fill_update(s, m, &u);
		u.state = GSM_STATE_SUSPECT;
		if (gsm_claim_sign(s->id, &u) == 0)
			gsm__claim_keep(s, m, &u);
		gsm__enqueue(&s->uqueue, &m->uq);
	}
}

static struct member *next_probe_target(struct gsm_swim *s)
{
	for (size_t tries = 0; tries < s->n_plist; tries++) {
		struct member *m;

		if (s->pidx >= s->n_plist) {
			/* reshuffle (Fisher-Yates) */
			for (size_t i = s->n_plist; i > 1; i--) {
				size_t j = rnd_below(s, i);
				struct member *t = s->plist[i - 1];

				s->plist[i - 1] = s->plist[j];
				s->plist[j] = t;
			}
			s->pidx = 0;
		}
		m = s->plist[s->pidx++];
		if (eligible(m))
			return m;
	}
	return NULL;
}

static void probe_start(struct gsm_swim *s, uint64_t now)
{
	struct member *t = next_probe_target(s);
	struct probe *p = &s->probe;

	if (!t)
		return;
	memset(p, 0, sizeof(*p));
	p->active = 1;
	p->seq = ++s->seq;
	memcpy(p->target, t->id, GSM_ID_LEN);
	p->gen = t->gen;
	p->inc = t->inc;
	p->timeout_at = now + probe_timeout(s);
	s->st.probes++;
	gsm__send_ping(s, t, p->seq, 1);
}

static void probe_indirect(struct gsm_swim *s)
{
	struct probe *p = &s->probe;
	struct member *helpers[16], *t = gsm__find(s, p->target);
	size_t k = s->cfg.indirect_probes, n;

	p->indirect_sent = 1;
	if (!t)
		return;
	if (k > 16)
		k = 16;
	/* a second direct ping along with the ping-reqs: under random loss
	 * this alone cuts false suspicions about tenfold */
	gsm__send_ping(s, t, p->seq, 1);
	n = gsm__pick_random(s, helpers, k, p->target, 1);
	for (size_t i = 0; i < n; i++) {
		struct txbuf *tb = gsm__msg_new(s, GSM_MSG_PING_REQ);

		if (!tb)
			return;
		tb->m.seq = p->seq;
		tb->m.has_target = 1;
		memcpy(tb->m.target, t->id, GSM_ID_LEN);
		tb->m.target_addr = t->addr;
		gsm__pack(s, &tb->m, s->cfg.lifeguard && t->state == GSM_STATE_SUSPECT ? t : NULL);
		tb->to = helpers[i]; /* attributed: helpers drop unattributed ping-reqs */
		gsm__send(s, &helpers[i]->addr, tb);
		gsm__msg_done(s, tb);
	}
	p->expected_nacks = s->cfg.lifeguard ? (uint32_t)n : 0;
}

void gsm__handle_ping(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from)
{
	struct txbuf *tb;

	if (s->leaving)
		return;
	if (m->has_target && memcmp(m->target, s->self_id, GSM_ID_LEN))
		return; /* probing someone who used to be at this address */
	tb = gsm__msg_new(s, GSM_MSG_ACK);
	if (!tb)
		return;
	tb->m.seq = m->seq;
	tb->m.observed = *from;
	if (s->n_wgobs && !m->has_origin) {
		const struct gsm_addr *w = wgobs_find(s, m->sender);
		if (w)
			tb->m.wg_observed = *w;
	}
	if (m->has_origin) {
		tb->m.has_origin = 1;
		memcpy(tb->m.origin, m->origin, GSM_ID_LEN);
	}
	gsm__pack(s, &tb->m, NULL);
	gsm__send(s, from, tb);
	gsm__msg_done(s, tb);
}

void gsm__handle_ping_req(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from)
{
	struct relay *r = NULL;
	struct txbuf *tb;
	struct member *t;
	uint64_t now = now_ms(s);

	if (!m->has_target)
		return;
	/* only a live member, only at the address we hold for it: target_addr
	 * is not trusted (amplification, docs/protocol.md) */
	t = gsm__find(s, m->target);
	if (!t || !eligible(t))
		return;
	for (int i = 0; i < MAX_RELAYS; i++) {
		if (!s->relays[i].used) {
			r = &s->relays[i];
			break;
		}
	}
	if (!r) {
		r = &s->relays[0];
		for (int i = 1; i < MAX_RELAYS; i++)
			if (s->relays[i].nack_at < r->nack_at)
				r = &s->relays[i];
	}
	memset(r, 0, sizeof(*r));
	r->used = 1;
	r->seq = ++s->seq;
	r->origin_seq = m->seq;
	memcpy(r->origin, m->sender, GSM_ID_LEN);
	memcpy(r->target, m->target, GSM_ID_LEN);
	r->origin_addr = *from;
	r->nack_at = now + s->cfg.probe_timeout_ms * 8u / 10u;
	tb = gsm__msg_new(s, GSM_MSG_PING);
	if (!tb)
		return;
	tb->m.seq = r->seq;
	tb->m.has_target = 1;
	memcpy(tb->m.target, m->target, GSM_ID_LEN);
	tb->m.has_origin = 1;
	memcpy(tb->m.origin, m->sender, GSM_ID_LEN);
	gsm__pack(s, &tb->m, s->cfg.lifeguard && t->state == GSM_STATE_SUSPECT ? t : NULL);
	gsm__send(s, &t->addr, tb);
	gsm__msg_done(s, tb);
}

/* key 14: the sender's WireGuard sees our WireGuard at this endpoint */
void gsm__wg_observed_addr(struct gsm_swim *s, const struct gsm_msg *m)
{
	struct gsm_swim_event ev;
	uint64_t now = now_ms(s);

	if (m->wg_observed.family == 0 || (m->flags & GSM_MF_FORWARDED))
		return;
	if (gsm_addr_equal(&m->wg_observed, &s->last_wg_observed) &&
	    now - s->last_wg_observed_ms < OBS_REFRESH_MS)
		return;
	s->last_wg_observed = m->wg_observed;
	s->last_wg_observed_ms = now;
	if (!s->env.event)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = GSM_SWIM_EV_WG_OBSERVED;
	ev.observer = m->sender;
	ev.observed = m->wg_observed;
	s->env.event(s->env.ctx, &ev);
}

void gsm__observed_addr(struct gsm_swim *s, const struct gsm_msg *m)
{
	struct gsm_swim_event ev;
	uint64_t now = now_ms(s);

	if (m->observed.family == 0)
		return;
	if (gsm_addr_equal(&m->observed, &s->last_observed) &&
	    now - s->last_observed_ms < OBS_REFRESH_MS)
		return;
	s->last_observed = m->observed;
	s->last_observed_ms = now;
	if (!s->env.event)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = GSM_SWIM_EV_OBSERVED;
	ev.observer = m->sender;
	ev.observed = m->observed;
	s->env.event(s->env.ctx, &ev);
}

void gsm__handle_ack(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from)
{
	struct probe *p = &s->probe;

	gsm__note_ack(s, m); /* admission: who answered is reachable */
	if (!(m->flags & GSM_MF_FORWARDED))
		gsm__observed_addr(s, m);
	if (p->active && m->seq == p->seq) {
		if (m->flags & GSM_MF_FORWARDED) {
			if (m->has_target && !memcmp(m->target, p->target, GSM_ID_LEN))
				p->acked = 1;
		} else if (!memcmp(m->sender, p->target, GSM_ID_LEN)) {
			p->acked = 1;
			if (!p->indirect_sent)
				p->direct_ok = 1;
		}
		return;
	}
	for (int i = 0; i < MAX_RELAYS; i++) {
		struct relay *r = &s->relays[i];
		struct txbuf *tb;

		if (!r->used || r->seq != m->seq || memcmp(m->sender, r->target, GSM_ID_LEN))
			continue;
		r->used = 0;
		tb = gsm__msg_new(s, GSM_MSG_ACK);
		if (!tb)
			return;
		tb->m.seq = r->origin_seq;
		tb->m.flags = GSM_MF_FORWARDED;
		tb->m.has_target = 1;
		memcpy(tb->m.target, r->target, GSM_ID_LEN);
		gsm__pack(s, &tb->m, NULL);
		tb->to = gsm__find(s, r->origin); /* attributed (pair tag) */
		gsm__send(s, &r->origin_addr, tb);
		gsm__msg_done(s, tb);
		return;
	}
	(void)from;
}

void gsm__handle_nack(struct gsm_swim *s, const struct gsm_msg *m)
{
	struct probe *p = &s->probe;

	if (p->active && m->seq == p->seq)
		p->nacks++;
}

int gsm_swim_set_wg_observed(struct gsm_swim *s, const uint8_t id[GSM_ID_LEN],
			     const struct gsm_addr *addr)
{
	size_t i;

	if (!s || !id || !addr)
		return -EINVAL;
	for (i = 0; i < s->n_wgobs; i++)
		if (!memcmp(s->wgobs[i].id, id, GSM_ID_LEN))
			break;
	if (addr->family != 4 && addr->family != 6) {
		if (i < s->n_wgobs) {
			s->wgobs[i] = s->wgobs[s->n_wgobs - 1];
			s->n_wgobs--;
		}
		return 0;
	}
	if (i == s->n_wgobs) {
		if (gsm__grow(s, &s->wgobs, &s->cap_wgobs, s->n_wgobs + 1, sizeof(*s->wgobs)))
			return -ENOMEM;
		memcpy(s->wgobs[i].id, id, GSM_ID_LEN);
		s->n_wgobs++;
	}
	s->wgobs[i].addr = *addr;
	return 0;
}

/* Expiring suspicions: a last-chance ping first, DEAD after that. */
void gsm__suspicion_timers(struct gsm_swim *s, uint64_t now)
{
	for (size_t i = 0; i < s->n_susp;) {
		struct member *m = s->susp[i];

		if (m->susp && m->susp->deadline <= now && !m->susp->last_chance &&
		    m->addr.family) {
			/* Last chance before declaring it dead: ping it with its
			 * suspicion first.  If it is alive it answers (and tells us
			 * its newer incarnation if we missed its refutation); a
			 * dead member costs one more probe timeout. */
			m->susp->last_chance = 1;
			m->susp->deadline = now + 2ull * s->cfg.probe_timeout_ms;
			gsm__send_ping(s, m, ++s->seq, 2);
			gsm__send_ping(s, m, ++s->seq, 2);
			i++;
			continue;
		}
		if (m->susp && m->susp->deadline <= now) {
			gsm__declare(s, m, GSM_STATE_DEAD); /* removes from s->susp */
			if (i < s->n_susp && s->susp[i] == m)
				i++;
			continue;
		}
		i++;
	}
}

/* Ping-req relays: nack on timeout. */
void gsm__relay_timers(struct gsm_swim *s, uint64_t now)
{
	for (int i = 0; i < MAX_RELAYS; i++) {
		struct relay *r = &s->relays[i];

		if (!r->used || r->nack_at > now)
			continue;
		r->used = 0;
		if (s->cfg.lifeguard) {
			struct txbuf *tb = gsm__msg_new(s, GSM_MSG_NACK);

			if (tb) {
				tb->m.seq = r->origin_seq;
				tb->m.has_target = 1;
				memcpy(tb->m.target, r->target, GSM_ID_LEN);
				tb->to = gsm__find(s, r->origin); /* attributed */
				gsm__send(s, &r->origin_addr, tb);
				gsm__msg_done(s, tb);
			}
		}
	}
}

/* The probe: ping-reqs after the probe timeout; at the end of the period
 * the verdict on this probe and the next one. */
void gsm__probe_timers(struct gsm_swim *s, uint64_t now)
{
	if (s->probe.active && !s->probe.acked && !s->probe.indirect_sent &&
	    now >= s->probe.timeout_at)
		probe_indirect(s);
	if (now >= s->next_probe) {
		probe_finish(s);
		probe_start(s, now);
		s->next_probe = now + probe_interval(s);
	}
}
