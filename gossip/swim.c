/*
 * gossip/swim.c - the membership core as a pure state machine: the API
 * and the dispatch.  See gossip/swim.h for the contract, docs/gossip.md for
 * the protocol.
 *
 * WHAT.  Every node keeps a table of members with the SWIM state
 * (generation, incarnation, ALIVE/SUSPECT/DEAD/LEFT), the gossip address
 * and the member's signed advert bytes.  SWIM with the Lifeguard
 * refinements finds failures, updates and adverts ride piggybacked on every
 * datagram, and paged anti-entropy repairs what gossip missed.  The core
 * has no I/O, no clock and no hidden randomness: everything comes through
 * struct gsm_swim_env.
 *
 * Files (one component each, behind the private gossip/swim_int.h, which
 * holds the structs and the internal contracts):
 *   swim.c          this file: new/free, recv dispatch, tick, the next
 *                   deadline, public getters, the instance utilities
 *                   (allocation accounting, the one array growth helper,
 *                   log) and the scratch datagrams
 *   swim_auth.c     envelope v3: the replay window (nonce time stamps
 *                   and the cache of nonces seen) and sender attribution
 *                   (pair keys and tags)
 *   swim_members.c  the member table: sorted arrays, views, counts, events,
 *                   random member choice, tombstones
 *   swim_dissem.c   dissemination: broadcast queues, retransmit limits,
 *                   packing datagrams, sending, gossip rounds, leave
 *   swim_detect.c   failure detection: probes, ping-req/ack/nack, Lifeguard
 *                   awareness, suspicion timers, refutation
 *   swim_apply.c    applying updates (one ordering rule, one function per
 *                   target state) and adverts
 *   swim_sync.c     anti-entropy: digest pages, the view hash, advert
 *                   requests, join retry and reconnect
 *   swim_authority.c authority mode: certificate statuses of members,
 *                   the revocation store, its gossip and sync
 *
 * Dispatch.  gsm_swim_recv opens a datagram, refuses it outside the
 * replay window, decodes it, attributes it to its sender or not and
 * refuses a nonce seen before (swim_auth.c: envelope v3), applies what it
 * carries (swim_apply.c), notes the sender, then hands the message to its
 * component - a ping-req, nack or stray ack only when attributed.
 * Everything sent meanwhile is an answer to that datagram and stays within
 * its reply budget (amplification: gsm__reply_begin/grant/end, swim_amp.c;
 * docs/protocol.md).  gsm_swim_tick runs the timers in a fixed order
 * (suspicions, relays, probe, sync and reconnect, gossip round,
 * certificate expiry, reaping):
 * the order is part of the behaviour, since timers draw from the one
 * random generator.
 *
 * Scratch.  A decoded message (struct gsm_msg with every array bound) and
 * a datagram being built are large (about 180 and 250 KiB), so each
 * instance owns one of each, allocated in gsm_swim_new and freed in
 * gsm_swim_free; nothing is static or thread-local.  They are reserved
 * address space more than memory: only the pages a datagram touches are
 * ever faulted in.  The receive buffer serves one gsm_swim_recv (the core
 * is not re-entered, see swim.h); a send while the transmit buffer is in
 * use (the core never does that today) gets a temporary one.  They are not
 * counted in memory_bytes, which stays the per-member cost.
 *
 * Trade-offs.  All randomness comes from a xoshiro256** generator
 * (gossip/rng.h, shared with the simulator) seeded through env.random, and
 * nonces from env.random itself, so runs are reproducible in the
 * simulator.  That makes the order of random draws part of the behaviour:
 * tests/sim's GSM_SIM_TRACE (scripts/sim-trace) pins it down.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "gossip/swim_int.h"

/* ------------------------------------------------------------------ */
/* instance utilities                                                  */

__attribute__((format(printf, 3, 4))) void
gsm__log(const struct gsm_swim *s, enum gsm_swim_log_level lvl, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (!s->env.log)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->env.log(s->env.ctx, lvl, buf);
}

void *gsm__mem_alloc(struct gsm_swim *s, size_t n)
{
	void *p = calloc(1, n);

	if (p)
		s->mem_bytes += n;
	return p;
}

void gsm__mem_free(struct gsm_swim *s, void *p, size_t n)
{
	if (!p)
		return;
	s->mem_bytes -= n;
	free(p);
}

int gsm__grow(struct gsm_swim *s, void *arrp, size_t *cap, size_t need, size_t elem)
{
	size_t before = *cap;
	int r = gsc_grow(arrp, cap, need, elem);

	if (r == 0)
		s->mem_bytes += (*cap - before) * elem; /* the core's memory accounting */
	return r;
}

/* ------------------------------------------------------------------ */
/* scratch datagrams                                                   */

struct txbuf *gsm__msg_new(struct gsm_swim *s, uint8_t type)
{
	struct txbuf *tb = s->tx;

	if (s->tx_busy)
		tb = malloc(sizeof(*tb));
	else
		s->tx_busy = 1;
	if (tb) {
		tb->to = NULL;
		gsm_msg_init(&tb->m, type);
	}
	return tb;
}

void gsm__msg_done(struct gsm_swim *s, struct txbuf *tb)
{
	if (tb == s->tx)
		s->tx_busy = 0;
	else
		free(tb);
}

/* ------------------------------------------------------------------ */
/* receive                                                             */

/* Hand a decoded message to its component.  Unattributed datagrams may
 * not ask us to probe for them (ping-req), report on probes (nack) or ack
 * anything but a probe we sent to their very address (docs/protocol.md,
 * Attribution). */
static void dispatch(struct gsm_swim *s, struct gsm_msg *m, const struct gsm_addr *from)
{
	switch (m->type) {
	case GSM_MSG_PING:
		gsm__handle_ping(s, m, from);
		break;
	case GSM_MSG_ACK:
		if (gsm__unattributed_ack_ok(s, m, from))
			gsm__handle_ack(s, m, from);
		break;
	case GSM_MSG_PING_REQ:
		if (gsm__rx_attributed(s))
			gsm__handle_ping_req(s, m, from);
		else
			s->st.unattributed_dropped++;
		break;
	case GSM_MSG_NACK:
		if (gsm__rx_attributed(s))
			gsm__handle_nack(s, m);
		else
			s->st.unattributed_dropped++;
		break;
	case GSM_MSG_SYNC_DIGEST:
		gsm__observed_addr(s, m);
		gsm__handle_digest_page(s, m, from);
		break;
	case GSM_MSG_SYNC_REQUEST:
		if (m->flags & GSM_MF_REPLY)
			gsm__handle_digest_request(s, m, from);
		else
			gsm__handle_advert_request(s, m, from);
		break;
	default:
		break; /* SYNC_RESPONSE, LEAVE, GOSSIP: piggyback only */
	}
}

/* Open, check the time stamp (replay window), decode, attribute, check
 * the nonce is new: 0, 1 (our own datagram, looped back) or the datagram's
 * refusal (counted where it is decided). */
static int rx_accept(struct gsm_swim *s, const struct gsm_addr *from, const uint8_t *buf,
		     size_t len)
{
	struct rxbuf *rb = s->rx;
	size_t blen = 0;
	int r;

	r = gsm_open(s->kr, buf, len, rb->body, sizeof(rb->body), &blen, NULL);
	if (r < 0)
		return r;
	r = gsm__rx_timely(s, from, buf, rb->body, blen);
	if (r < 0)
		return r;
	r = gsm_msg_decode(rb->body, blen, &rb->m);
	if (r < 0)
		return r;
	if (!memcmp(rb->m.sender, s->self_id, GSM_ID_LEN))
		return 1;
	r = gsm__rx_attribute(s, &rb->m, from, buf, len);
	if (r < 0)
		return r;
	r = gsm__rx_unseen(s, buf);
	if (r < 0)
		gsm__rx_end(s);
	return r;
}

int gsm_swim_recv(struct gsm_swim *s, const struct gsm_addr *from, const uint8_t *buf, size_t len)
{
	struct rxbuf *rb;
	int r;

	if (!s || !from || !buf)
		return -EINVAL;
	s->st.dgrams_recv++;
	s->st.bytes_recv += len;
	rb = s->rx;
	r = rx_accept(s, from, buf, len);
	if (r < 0) {
		s->st.dgrams_bad++;
		return r;
	}
	if (r == 1 || rb->m.type < GSM_MSG_PING || rb->m.type > GSM_MSG_TYPE_MAX)
		goto out;	  /* own datagram; newer minor version: unknown type, ignore */
	gsm__reply_begin(s, len); /* the reply budget (swim_amp.c) */
	gsm__process_piggyback(s, &rb->m, from,
			       rb->m.type == GSM_MSG_SYNC_RESPONSE ||
				   rb->m.type == GSM_MSG_SYNC_DIGEST);
	gsm__note_sender(s, &rb->m, from);
	if (rb->m.wg_observed.family)
		gsm__wg_observed_addr(s, &rb->m);
	gsm__reply_grant(s, &rb->m, from);
	dispatch(s, &rb->m, from);
	gsm__reply_end(s, &rb->m, from);
out:
	gsm__rx_end(s);
	return 0;
}

void gsm_swim_tick(struct gsm_swim *s)
{
	uint64_t now;

	if (!s)
		return;
	now = now_ms(s);
	gsm__suspicion_timers(s, now);
	gsm__relay_timers(s, now);
	if (!s->leaving) {
		gsm__probe_timers(s, now);
		gsm__verify_timer(s, now);
		gsm__sync_timers(s, now);
	}
	gsm__gossip_timer(s, now);
	if (now >= gsm__cert_deadline(s))
		gsm__cert_timer(s, now);
	if (now >= s->next_reap) {
		if (gsm__reap_pending(s))
			gsm__reap(s, now);
		s->next_reap = now + REAP_CHECK_MS;
	}
}
uint64_t gsm_swim_next_deadline(const struct gsm_swim *s)
{
	uint64_t d = s->next_gossip;

	if (!s->leaving) {
		if (s->next_probe < d)
			d = s->next_probe;
		if (s->probe.active && !s->probe.acked && !s->probe.indirect_sent &&
		    s->probe.timeout_at < d)
			d = s->probe.timeout_at;
		if (s->sync.active ? s->sync.deadline < d : s->next_sync < d)
			d = s->sync.active ? s->sync.deadline : s->next_sync;
		if (s->next_reconnect < d)
			d = s->next_reconnect;
		if (gsm__verify_deadline(s) < d)
			d = gsm__verify_deadline(s);
	}
	for (size_t i = 0; i < s->n_susp; i++)
		if (s->susp[i]->susp && s->susp[i]->susp->deadline < d)
			d = s->susp[i]->susp->deadline;
	for (int i = 0; i < MAX_RELAYS; i++)
		if (s->relays[i].used && s->relays[i].nack_at < d)
			d = s->relays[i].nack_at;
	if (gsm__reap_pending(s) && s->next_reap < d)
		d = s->next_reap;
	if (gsm__cert_deadline(s) < d)
		d = gsm__cert_deadline(s);
	return d;
}

void gsm_swim_config_default(struct gsm_swim_config *c)
{
	memset(c, 0, sizeof(*c));
	c->generation = 1;
	c->probe_interval_ms = 1000;
	c->probe_timeout_ms = 500;
	c->indirect_probes = 3;
	c->suspicion_min_mult = 4;
	c->suspicion_max_mult = 6;
	c->retransmit_mult = 4;
	c->gossip_interval_ms = 200;
	c->gossip_fanout = 3;
	c->sync_interval_ms = 30000;
	c->mtu = GSM_DEFAULT_MTU;
	c->tombstone_ms = 24u * 3600u * 1000u;
	c->reconnect_interval_ms = 10000;
	c->awareness_max = 8;
	c->max_members = GSM_SWIM_MAX_MEMBERS;
	c->lifeguard = true;
	c->verify_signatures = true;
	c->sync_summary = true;
	c->replay_window_ms = 60000;
}

int gsm_swim_new(const struct gsm_swim_config *cfg, const struct gsm_identity *id,
		 const struct gsm_keyring *kr, const struct gsm_addr *self_addr,
		 const struct gsm_swim_env *env, struct gsm_swim **out)
{
	struct gsm_swim *s;
	uint8_t seed[32];
	uint64_t now;

	if (!cfg || !id || !kr || !env || !out || !env->now || !env->send || !env->random)
		return -EINVAL;
	if (cfg->mtu < 256 || cfg->mtu > GSM_MAX_DATAGRAM || cfg->probe_interval_ms == 0 ||
	    cfg->probe_timeout_ms == 0 || cfg->probe_timeout_ms > cfg->probe_interval_ms ||
	    cfg->generation == 0 || cfg->generation > INT64_MAX)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->mem_bytes = sizeof(*s);
	s->rx = malloc(sizeof(*s->rx));
	s->tx = malloc(sizeof(*s->tx));
	if (!s->rx || !s->tx) {
		gsm_swim_free(s);
		return -ENOMEM;
	}
	s->cfg = *cfg;
	if (!s->cfg.max_members)
		s->cfg.max_members = GSM_SWIM_MAX_MEMBERS;
	if (s->cfg.suspicion_max_mult < 1)
		s->cfg.suspicion_max_mult = 1;
	if (s->cfg.retransmit_mult < 1)
		s->cfg.retransmit_mult = 1;
	if (!s->cfg.replay_window_ms)
		s->cfg.replay_window_ms = 60000;
	s->id = id;
	s->kr = kr;
	s->env = *env;
	memcpy(s->self_id, gsm_identity_public(id), GSM_ID_LEN);
	env->random(env->ctx, seed, sizeof(seed));
	gsm_rng_seed(&s->rng, seed);
	s->self = gsm__member_add(s, s->self_id);
	if (!s->self) {
		gsm_swim_free(s);
		return -ENOMEM;
	}
	gsm__count_state(s, s->self, -1);
	s->self->is_self = 1;
	s->self->gen = cfg->generation;
	if (self_addr)
		s->self->addr = *self_addr;
	now = now_ms(s);
	s->self->changed_ms = now;
	s->next_probe = now + rnd_below(s, s->cfg.probe_interval_ms);
	s->next_gossip = now + rnd_below(s, s->cfg.gossip_interval_ms ? s->cfg.gossip_interval_ms
								      : s->cfg.probe_interval_ms);
	s->next_sync = now + gsm__next_sync_delay(s);
	s->next_reconnect = now + jitter(s, s->cfg.reconnect_interval_ms);
	s->next_reap = now + REAP_CHECK_MS;
	s->join_retry_ms = s->cfg.probe_interval_ms;
	*out = s;
	return 0;
}

void gsm_swim_free(struct gsm_swim *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_mem; i++)
		gsm__member_free(s, s->mem[i]);
	free(s->mem);
	free(s->keys);
	free(s->plist);
	free(s->susp);
	free(s->seeds);
	free(s->reaped);
	free(s->wgobs);
	gsm__auth_free(s);
	gsm__replay_free(s);
	free(s->rx);
	free(s->tx);
	free(s);
}

uint64_t gsm_swim_advert_version(const struct gsm_swim *s)
{
	return s && s->self->advert ? s->self->adv_ver : 0;
}

int gsm_swim_set_addr(struct gsm_swim *s, const struct gsm_addr *addr)
{
	if (!s || !addr)
		return -EINVAL;
	if (gsm_addr_equal(&s->self->addr, addr))
		return 0;
	s->self->addr = *addr;
	/* others must learn the new address: it travels in our (signed) update */
	gsm__self_bump(s, s->self->inc + 1);
	return 0;
}

bool gsm_swim_leave_done(const struct gsm_swim *s)
{
	if (!s || !s->leaving)
		return false;
	if (s->n_alive + s->n_suspect == 0)
		return true;
	return s->leave_sends >= 6 || !s->self->uq.queued;
}

void gsm_swim_stats(const struct gsm_swim *s, struct gsm_swim_stats *st)
{
	*st = s->st;
	st->alive = s->n_alive + 1;
	st->suspect = s->n_suspect;
	st->dead = s->n_dead;
	st->left = s->n_left;
	if (s->leaving) {
		st->alive--;
		st->left++;
	}
	st->total = (uint32_t)s->n_mem;
	st->pending_updates = s->uqueue.count + s->aqueue.count + s->rqueue.count;
	st->revocations = (uint32_t)s->n_revs;
	st->last_sync_ms = s->last_sync;
	st->incarnation = s->self->inc;
	st->awareness = s->awareness;
	st->memory_bytes = s->mem_bytes;
}

bool gsm_swim_converged(const struct gsm_swim *s)
{
	uint64_t now = now_ms(s);

	if (s->uqueue.count || s->aqueue.count || s->rqueue.count)
		return false;
	if (s->n_alive + s->n_suspect == 0)
		return true;
	return s->last_sync && now - s->last_sync <= gsm_swim_sync_interval(s);
}
