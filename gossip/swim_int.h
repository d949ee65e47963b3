/*
 * gossip/swim_int.h - internals of the membership core, shared by its
 * files.  Not part of the public interface (that is gossip/swim.h); only the
 * core and its unit tests (tests/unit/test_swim_parts.c) include it.
 *
 *   swim.c          API and dispatch: new/free, recv, tick, deadlines, stats,
 *                   scratch datagrams, allocation accounting, log
 *   swim_members.c  the member table: find/add/remove, views, counts, events,
 *                   random member choice, tombstones
 *   swim_dissem.c   broadcast queues, retransmit limits, packing, sending,
 *                   gossip rounds, graceful leave
 *   swim_detect.c   probing (ping, ping-req, ack, nack), Lifeguard awareness,
 *                   suspicion timers, refutation, observed addresses
 *   swim_apply.c    applying updates (the ordering rule, one function per
 *                   target state) and adverts; piggyback processing
 *   swim_sync.c     anti-entropy: digest pages, view hash, advert requests,
 *                   join and reconnect
 *   swim_authority.c authority mode: keys and mode, certificate statuses,
 *                   the revocation store, its dissemination and sync
 *
 * Conventions: every function here takes the instance first and is only
 * called from the thread that owns it (see swim.h).  "Member pointers" are
 * valid until the next call that can add or remove members.  Functions that
 * send build their datagram in the instance's scratch (gsm__msg_new).
 */
#ifndef GOSSAMER_GOSSIP_SWIM_INT_H
#define GOSSAMER_GOSSIP_SWIM_INT_H

#include <stddef.h>
#include <stdint.h>

#include "gossip/cert.h"
#include "gossip/rng.h"
#include "gossip/swim.h"

#define MAX_BUCKETS	  64
#define MAX_CONFIRM	  8
#define MAX_RELAYS	  32
#define RECENT_REQ	  32 /* advert requests for unknown ids in flight */
#define PACK_SLACK	  12
#define REAP_CHECK_MS	  10000u
#define OBS_REFRESH_MS	  30000u
#define LEAVE_DIRECT	  512
#define SYNC_HASH_LEN	  16	  /* state_hash we send (wire allows 16..32) */
#define ADMIT_SOURCES	  256	  /* source addresses the admission rate limit tracks */
#define VERIFY_PER_ROUND  4	  /* verification pings per probe interval */
#define VERIFY_RETRY	  4	  /* probe intervals between two to one member */
#define EPHEMERAL_REAP_MS 120000u /* DEAD/LEFT ephemeral members are reaped after */

struct qitem {
	struct qitem *prev, *next;
	uint8_t tx;
	uint8_t queued;
	uint8_t bucket;
};

struct bqueue {
	struct qitem *head[MAX_BUCKETS];
	uint32_t count;
};

struct suspicion {
	uint64_t start;
	uint64_t deadline;
	uint8_t n_confirm;
	uint8_t confirm[MAX_CONFIRM][GSM_ID_LEN];
	uint8_t has_from;
	uint8_t last_chance;	  /* final direct ping sent */
	uint8_t from[GSM_ID_LEN]; /* suspecter relayed with the update */
	/* claims (protocol major 3, swim_apply.c): the record also holds the
	 * signed claim we relay about the member, (claim_state, claim_gen,
	 * claim_inc) by `from` with claim_sig; a DEAD member keeps its record
	 * for that, without a timer (timer 0: not in s->susp).  origin: the
	 * claimer that started the suspicion, which is no confirmation;
	 * origin and confirm[] are the verified claimers, so a relayed claim
	 * by one of them is neither verified nor counted again. */
	uint8_t timer;
	uint8_t has_origin;
	uint8_t has_claim_sig;
	uint8_t claim_state;
	uint64_t claim_gen, claim_inc;
	uint8_t origin[GSM_ID_LEN];
	uint8_t claim_sig[GSM_SIG_LEN];
};

struct member {
	uint8_t id[GSM_ID_LEN];
	uint8_t state;
	uint8_t is_self;
	uint8_t imported;
	uint16_t advert_len;
	uint64_t gen, inc;
	uint64_t adv_gen, adv_ver;
	struct gsm_addr addr;
	uint8_t *advert;
	uint64_t changed_ms;
	uint32_t mark;	    /* pack epoch */
	uint32_t told_ms;   /* last "you are suspect/dead" sent to it (low 32 bits) */
	uint32_t advreq_ms; /* last advert request for it (low 32 bits) */
	struct suspicion *susp;
	uint8_t *leave_sig; /* LEFT: signature over the leave intent */
	/* the highest (generation, incarnation) the member signed: its advert
	 * (adv_gen, 0) or a signed ALIVE (alive_sig, NULL when the bound came
	 * from the advert).  Claims by others about it are bounded by this. */
	uint64_t sgen, sinc;
	uint8_t *alive_sig;
	/* amplification (swim_amp.c): the last address the member proved
	 * it receives at (a round trip echoing our unpredictable seq) and
	 * when; its reply token bucket (bytes beyond the unverified budget,
	 * last refill); the last address challenge sent to it (32-bit stamps) */
	struct gsm_addr vaddr;
	uint32_t vaddr_ms, amp_tokens, amp_ms, chal_ms;
	/* admission (swim_members.c): reachable once it answered a probe of
	 * ours (since reach_ms); admitted at admit_ms; the seq and time (low
	 * 32 bits) of the last verification ping to it while unreachable */
	uint8_t reachable;
	uint32_t verify_seq, verify_ms;
	uint64_t reach_ms, admit_ms;
	struct qitem uq, aq;
	/* envelope v3 attribution (swim_auth.c): the pair key with this
	 * member, derived on first use; wiped when the member is freed */
	uint8_t pair_state; /* PAIR_NONE, PAIR_OK, PAIR_REFUSED */
	uint8_t pair_key[GSM_PAIR_KEY_LEN];
	/* authority mode (swim_authority.c): the status of the advert's chain
	 * and what a revocation is matched against without verifying it
	 * again: the leaf's serial (its subject is the member id) and the
	 * JOIN certificate's serial and subject; the chain's earliest
	 * not_after and the leaf's not_before (s), roles, ephemeral flag */
	uint8_t cert_status; /* enum gsm_cert_status */
	uint8_t cert_decoded, cert_ephemeral, cert_has_join;
	uint32_t cert_roles;
	uint64_t cert_serial, cert_expires_s, cert_not_before_s, join_serial;
	uint8_t join_subject[GSM_ID_LEN];
};

enum { PAIR_NONE = 0, PAIR_OK, PAIR_REFUSED };

/* a reaped tombstone, remembered for one more tombstone period so that
 * peers still holding it (or stale gossip) cannot re-create it */
struct reaped {
	uint8_t id[GSM_ID_LEN];
	uint64_t gen;
	uint64_t until;
};

/* A held revocation (swim_authority.c): its signed bytes, id (sort key
 * of the store and of the sync hash), what it covers, when it may be
 * dropped, and its broadcast queue slot. */
struct rev {
	uint8_t id[16];
	uint8_t *bytes;
	uint16_t len;
	uint8_t has_serial, has_subject;
	uint64_t serial;
	uint8_t subject[GSM_ID_LEN];
	uint8_t issuer[GSM_ID_LEN];
	uint64_t expires_s;
	struct qitem q;
};

struct relay {
	uint8_t used;
	uint8_t acked;
	uint32_t seq; /* our ping to the target */
	uint32_t origin_seq;
	uint8_t origin[GSM_ID_LEN];
	uint8_t target[GSM_ID_LEN];
	struct gsm_addr origin_addr;
	uint64_t nack_at;
};

struct probe {
	uint8_t active;
	uint8_t acked;
	uint8_t direct_ok;
	uint8_t indirect_sent;
	uint32_t seq;
	uint8_t target[GSM_ID_LEN];
	uint64_t gen, inc;
	uint64_t timeout_at;
	uint32_t expected_nacks, nacks;
};

struct sync_sess {
	uint8_t active;
	uint8_t has_peer;
	uint8_t has_cursor;
	uint8_t changed;
	uint8_t peer[GSM_ID_LEN];
	uint8_t cursor[GSM_ID_LEN];
	struct gsm_addr addr;
	uint32_t seq;
	uint64_t deadline;
	uint32_t pages;
	uint8_t has_hash;
	uint8_t hash[SYNC_HASH_LEN]; /* summary sent with the first request */
};

/* A received datagram: the decoded message and the opened body its
 * gsm_bytes point into. */
struct rxbuf {
	struct gsm_msg m;
	uint8_t body[GSM_MAX_DATAGRAM];
};

/* A datagram being built: the message, its encoded body and the sealed
 * envelope. */
struct txbuf {
	struct member *to; /* the recipient, when known (pair tag); NULL */
	struct gsm_msg m;
	uint8_t body[GSM_MAX_DATAGRAM];
	uint8_t out[GSM_MAX_DATAGRAM + GSM_ENVELOPE_OVERHEAD];
};

/* The replay cache (swim_auth.c): nonces (time stamp, random part) seen
 * within the last 2 replay windows, in arrival order in a ring, found
 * through an open-addressing index of ring positions. */
#define REPLAY_MAX 65536
struct replay_ent {
	uint64_t seen; /* env.now when it arrived */
	uint64_t ts;   /* the nonce's time stamp */
	uint8_t rnd[GSM_NONCE_RANDOM_LEN];
};
struct replay {
	struct replay_ent *ring;
	size_t cap, head, n;
	uint32_t *idx; /* ring position + 1; 0 = empty; 2 * cap slots */
	uint8_t hkey[16];
};

struct gsm_swim {
	struct gsm_swim_config cfg;
	const struct gsm_identity *id;
	const struct gsm_keyring *kr;
	struct gsm_swim_env env;
	uint8_t self_id[GSM_ID_LEN];
	struct member *self;

	struct member **mem; /* sorted by id */
	size_t n_mem, cap_mem;
	uint64_t *keys; /* id prefixes parallel to mem[]: cache-friendly search */
	size_t cap_keys;
	struct member **plist; /* probe order */
	size_t n_plist, cap_plist, pidx;
	struct member **susp; /* suspects with timers */
	size_t n_susp, cap_susp;

	uint32_t n_alive, n_suspect, n_dead, n_left; /* others only */

	struct bqueue uqueue, aqueue;
	uint32_t pack_epoch;

	struct gsm_rng rng;
	uint32_t seq;

	struct probe probe;
	struct relay relays[MAX_RELAYS];
	struct sync_sess sync;

	uint64_t next_probe, next_gossip, next_sync, next_reconnect, next_reap;
	uint64_t last_sync;
	uint32_t sync_backoff;	/* multiplier step for adaptive sync */
	uint32_t join_retry_ms; /* wait for an unanswered join: 1 probe interval,
				 * doubling up to the reconnect interval */
	uint32_t awareness;

	struct gsm_addr *seeds;
	size_t n_seeds, cap_seeds;
	struct reaped *reaped;
	size_t n_reaped, cap_reaped;
	uint8_t joined;
	uint8_t leaving;
	uint32_t leave_sends;

	uint8_t recent_req[RECENT_REQ][GSM_ID_LEN];
	uint64_t recent_req_ms[RECENT_REQ];

	struct gsm_addr last_observed;
	uint64_t last_observed_ms;

	/* wg_observed (issue 8): endpoints we report, sorted by id (only
	 * NATed members that are our WireGuard peers: few) */
	struct wgobs {
		uint8_t id[GSM_ID_LEN];
		struct gsm_addr addr;
	} * wgobs;
	size_t n_wgobs, cap_wgobs;
	struct gsm_addr last_wg_observed;
	uint64_t last_wg_observed_ms;

	/* the reply budget (amplification, swim_amp.c): while a received
	 * datagram is handled (reply_active), the bytes its answers may still
	 * take, the verified sender's share of it, whether an answer was cut;
	 * the key of our unpredictable seqs (drawn at first use); a join's
	 * second sync pass with the same peer is due (sync_again) */
	uint8_t reply_active, reply_cut, amp_keyed, sync_again;
	size_t reply_room, reply_granted;
	uint8_t amp_key[16];
	/* admission (swim_members.c): new members admitted per source
	 * address (IP, any port) in the current window of each */
	struct admit_src {
		uint8_t family;
		uint8_t ip[16];
		uint32_t n;
		uint64_t start;
	} admit[ADMIT_SOURCES];
	uint64_t next_verify;
	/* envelope v3 (swim_auth.c): the replay cache, the stale-log rate
	 * limit, and the datagram being handled: rx_member is its sender if
	 * that is a member (attributed or not), valid during gsm_swim_recv */
	struct replay replay;
	uint64_t stale_log_ms;
	uint8_t rx_active, rx_attributed;
	struct gsm_addr rx_from;
	struct member *rx_member;

	/* authority mode (swim_authority.c): mode and keys; the revocation
	 * store sorted by id, with two indexes (by serial, by subject) for
	 * the chain check's lookups; its broadcast queue; the cached sync
	 * hash; when the expiry sweep must run (env time); the refusal log
	 * rate limit; a scratch advert for decoding chains */
	uint8_t auth_mode, n_auth, rev_hash_ok;
	uint8_t auth_keys[GSM_MAX_AUTHORITIES][GSM_ID_LEN];
	struct rev **revs, **rev_serial, **rev_subject;
	size_t n_revs, n_rev_serial, n_rev_subject, cap_revs, cap_rev_serial, cap_rev_subject;
	struct bqueue rqueue;
	uint8_t rev_hash[GSM_REV_HASH_LEN];
	uint64_t next_cert_check, cert_log_ms;
	uint32_t cert_log_dropped;
	struct gsm_advert *adv_scratch;

	struct gsm_swim_stats st;
	size_t mem_bytes; /* what gsm__mem_alloc/gsm__grow hold (not the scratch) */

	/* scratch datagrams (see gsm__msg_new): owned by the instance,
	 * allocated in gsm_swim_new, freed in gsm_swim_free */
	struct rxbuf *rx;
	struct txbuf *tx;
	uint8_t tx_busy;
};

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static inline uint64_t now_ms(const struct gsm_swim *s)
{
	return s->env.now(s->env.ctx);
}

static inline uint64_t rnd_below(struct gsm_swim *s, uint64_t n)
{
	return gsm_rng_below(&s->rng, n);
}

/* +-25% jitter around v */
static inline uint64_t jitter(struct gsm_swim *s, uint64_t v)
{
	if (v < 4)
		return v;
	return v - v / 4 + rnd_below(s, v / 2 + 1);
}

/* 32-bit time stamps (rate limits only): 0 = never */
static inline uint32_t stamp32(uint64_t now)
{
	uint32_t t = (uint32_t)now;

	return t ? t : 1;
}

static inline uint32_t since32(uint64_t now, uint32_t stamp)
{
	return stamp ? (uint32_t)now - stamp : UINT32_MAX;
}

static inline int cmp_order(uint64_t g1, uint64_t i1, uint64_t g2, uint64_t i2)
{
	if (g1 != g2)
		return g1 < g2 ? -1 : 1;
	if (i1 != i2)
		return i1 < i2 ? -1 : 1;
	return 0;
}

static inline size_t cluster_size(const struct gsm_swim *s)
{
	return 1 + s->n_alive + s->n_suspect;
}

static inline struct member *qitem_member_u(struct qitem *q)
{
	return (struct member *)((char *)q - offsetof(struct member, uq));
}

static inline struct rev *qitem_rev(struct qitem *q)
{
	return (struct rev *)((char *)q - offsetof(struct rev, q));
}

static inline struct member *qitem_member_a(struct qitem *q)
{
	return (struct member *)((char *)q - offsetof(struct member, aq));
}

static inline size_t body_cap(const struct gsm_swim *s)
{
	return s->cfg.mtu - GSM_ENVELOPE_OVERHEAD;
}

static inline int eligible(const struct member *m)
{
	return !m->is_self && (m->state == GSM_STATE_ALIVE || m->state == GSM_STATE_SUSPECT) &&
	       m->addr.family != 0;
}

/* ------------------------------------------------------------------ */
/* swim.c: instance utilities                                          */

/* Log through env.log (a no-op without one). */
__attribute__((format(printf, 3, 4))) void
gsm__log(const struct gsm_swim *s, enum gsm_swim_log_level lvl, const char *fmt, ...);
/* calloc/free counted in the instance's memory_bytes; n is the size. */
void *gsm__mem_alloc(struct gsm_swim *s, size_t n);
void gsm__mem_free(struct gsm_swim *s, void *p, size_t n);
/* THE array growth of the core: make *arrp (an array of elem-sized items,
 * capacity *cap) hold at least need items, doubling from 16; the growth is
 * counted in memory_bytes.  0 or -ENOMEM (the array is unchanged then). */
int gsm__grow(struct gsm_swim *s, void *arrp, size_t *cap, size_t need, size_t elem);
/* A datagram of the given type to fill and send (gsm__send), then give back
 * with gsm__msg_done.  The instance's scratch serves one datagram at a time;
 * one requested while it is in use is allocated and freed by gsm__msg_done.
 * NULL: out of memory. */
struct txbuf *gsm__msg_new(struct gsm_swim *s, uint8_t type);
void gsm__msg_done(struct gsm_swim *s, struct txbuf *tb);

/* ------------------------------------------------------------------ */
/* swim_auth.c: envelope v3 - replay window and sender attribution     */

/* The datagram being handled proves its sender (a good pair tag from a
 * member).  What an unattributed one may do: docs/protocol.md. */
static inline int gsm__rx_attributed(const struct gsm_swim *s)
{
	return s->rx_active && s->rx_attributed;
}
/* A fresh nonce: env.wall_ms (0 without one) || 16 bytes of env.random. */
void gsm__nonce(struct gsm_swim *s, uint8_t nonce[GSM_NONCE_LEN]);
/* An opened datagram's time stamp is within the replay window of
 * env.wall_ms: 0, or -ETIME (counted, rate-limit logged naming the source
 * and, if body decodes, the sender).  The body is only read for that log
 * line. */
int gsm__rx_timely(struct gsm_swim *s, const struct gsm_addr *from, const uint8_t *dgram,
		   const uint8_t *body, size_t blen);
/* The datagram's nonce was not seen within two replay windows: 0 (it is
 * remembered now), or -EALREADY (counted).  Checked after attribution, so
 * a copy with a forged tag cannot shadow the genuine datagram. */
int gsm__rx_unseen(struct gsm_swim *s, const uint8_t *dgram);
/* After decoding: look the sender up among the members and check a pair
 * tag: sets the rx_* fields (attributed or not) or returns -EPERM (a bad
 * tag, counted as bad_sender).  gsm__rx_end clears them. */
int gsm__rx_attribute(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from,
		      const uint8_t *dgram, size_t len);
void gsm__rx_end(struct gsm_swim *s);
/* The pair key with m (derived once, cached), or NULL if m's id is refused. */
const uint8_t *gsm__pair_key(struct gsm_swim *s, struct member *m);
/* The member a datagram to `to` goes to, if known: tb->to, a ping's
 * target at that address, or the sender of the datagram being handled
 * when `to` is where it came from.  NULL: no pair tag. */
struct member *gsm__tx_recipient(struct gsm_swim *s, const struct gsm_addr *to,
				 const struct txbuf *tb);
/* An ack/nack of an unattributed datagram may only answer a probe we sent
 * to that very address (direct ack from the probe target, or a relayed
 * ping's target): 1 if m passes, else 0 (counted in unattributed_dropped). */
int gsm__unattributed_ack_ok(struct gsm_swim *s, const struct gsm_msg *m,
			     const struct gsm_addr *from);
/* Wipe m's pair key and forget m as the datagram's sender (gsm__member_free:
 * a member freed while a datagram is handled leaves it unattributed). */
void gsm__pair_forget(struct gsm_swim *s, struct member *m);
void gsm__replay_free(struct gsm_swim *s);

/* ------------------------------------------------------------------ */
/* swim_members.c: the member table                                   */

/* Binary search by id: the position of id (*found = 1) or where it would
 * be inserted (*found = 0). */
size_t gsm__find_pos(const struct gsm_swim *s, const uint8_t *id, int *found);
/* The member with this id or NULL. */
struct member *gsm__find(const struct gsm_swim *s, const uint8_t *id);
/* Add d (+1/-1) to the per-state counter of m (others only). */
void gsm__count_state(struct gsm_swim *s, const struct member *m, int d);
/* The member with this id, added ALIVE (counted, at a random place of the
 * probe order: consumes one random number) if new.  NULL: out of memory. */
struct member *gsm__member_add(struct gsm_swim *s, const uint8_t *id);
/* Free m and everything it owns (queue slots, suspicion); does not touch
 * the table. */
void gsm__member_free(struct gsm_swim *s, struct member *m);
/* Deliver an event about m (may be NULL) to env.event, if any. */
void gsm__emit(struct gsm_swim *s, enum gsm_swim_event_type t, const struct member *m);
/* Change m's state: counters, changed_ms, and the suspicion goes unless
 * the new state is SUSPECT.  No-op for the same state. */
void gsm__set_state(struct gsm_swim *s, struct member *m, uint8_t state);
/* The update that describes m now (with the suspecter / leave signature). */
void gsm__fill_update(const struct gsm_swim *s, const struct member *m, struct gsm_update *u);
/* Up to n distinct random eligible members, excluding id ex (may be NULL);
 * alive_only: not suspects either (ping-req helpers, sync partners). */
size_t gsm__pick_random(struct gsm_swim *s, struct member **out, size_t n, const uint8_t *ex,
			int alive_only);
/* A reaped tombstone still remembered for id at generation >= gen. */
int gsm__is_reaped(const struct gsm_swim *s, const uint8_t *id, uint64_t gen);
/* Forget expired tombstone memories; reap (REMOVED event) DEAD/LEFT
 * members older than the tombstone period, and ALIVE/SUSPECT members never
 * reachable older than unreachable_reap_ms, remembering them. */
void gsm__reap(struct gsm_swim *s, uint64_t now);
/* gsm__reap has something to do (tombstones, their memories, members not
 * reachable). */
int gsm__reap_pending(const struct gsm_swim *s);
/* Admission of a new member whose advert came from src (NULL: imported):
 * 0, or -ENOSPC at the max_members cap (admission_refused), -EBUSY when
 * src brought admission_per_source new members this window
 * (admission_ratelimited).  Adverts from the partner of our own sync
 * session, when it is a seed or a reachable member, are not rate limited
 * (via_sync).  Counts the admission when it returns 0. */
int gsm__admit(struct gsm_swim *s, const struct gsm_addr *src, int via_sync);
/* m showed a round trip: reachable from now on (REACHABLE event once). */
void gsm__set_reachable(struct gsm_swim *s, struct member *m);
/* An ACK arrived (called first thing by gsm__handle_ack): the target of
 * our current probe (direct or forwarded ack) or of a verification ping
 * becomes reachable. */
void gsm__note_ack(struct gsm_swim *s, const struct gsm_msg *m);
/* Timer: ping up to VERIFY_PER_ROUND members not yet reachable per probe
 * interval (each at most every VERIFY_RETRY intervals), so that new
 * members are verified without waiting for their turn in the probe
 * order.  gsm__verify_deadline: when it must run next (UINT64_MAX while
 * every member with a gossip address is reachable). */
void gsm__verify_timer(struct gsm_swim *s, uint64_t now);
uint64_t gsm__verify_deadline(const struct gsm_swim *s);

/* ------------------------------------------------------------------ */
/* swim_dissem.c: dissemination                                       */

/* Transmissions of one update (advert 0) or advert (advert 1) at the
 * current cluster size: lambda*ceil(log10(N+1)) resp. ceil(lambda*log10(N+1)),
 * clamped to [1, MAX_BUCKETS-1]. */
uint32_t gsm__retransmit_limit(const struct gsm_swim *s, int advert);
/* (Re)queue a slot as new (transmit count 0, first in its bucket). */
void gsm__enqueue(struct bqueue *q, struct qitem *it);
/* A queued slot was sent once more: next bucket, or out of the queue at
 * its retransmit limit (updates: uqueue; adverts and revocations: the
 * advert limit). */
void gsm__q_sent(struct gsm_swim *s, struct bqueue *q, struct qitem *it);
/* Take a slot out of its queue (no-op if not queued). */
void gsm__q_remove(struct bqueue *q, struct qitem *it);
/* Fill the rest of m with pending updates and adverts within the body
 * budget (mtu - envelope); buddy (may be NULL): a member whose update goes
 * first.  Updates get at least half of the room when adverts compete.  What
 * is packed counts as sent once (and leaves its queue at its limit). */
void gsm__pack(struct gsm_swim *s, struct gsm_msg *m, struct member *buddy);
/* Encode, seal (nonce from env.random) and send tb to `to` (no-op for a
 * NULL or family-0 address); counts the datagram. */
void gsm__send(struct gsm_swim *s, const struct gsm_addr *to, struct txbuf *tb);
/* A GOSSIP datagram to `to`, carrying first's update first (may be NULL),
 * then whatever is pending; nothing is sent if it would be empty. */
void gsm__send_gossip(struct gsm_swim *s, const struct gsm_addr *to, struct member *first);
/* Timer: the gossip round (fanout random members) if due and something is
 * pending. */
void gsm__gossip_timer(struct gsm_swim *s, uint64_t now);

/* ------------------------------------------------------------------ */
/* swim_detect.c: failure detection                                    */

/* How many independent confirmations a suspicion can expect (k helpers,
 * at most N-2; 0 below N=3). */
uint32_t gsm__expected_confirmations(const struct gsm_swim *s);
/* Suspicion timeout after `confirmations` confirmations: Lifeguard starts
 * at max = suspicion_max_mult * min and shrinks logarithmically to min
 * (suspicion_min_mult * max(1, log10 N) * probe interval) at the expected
 * confirmations; min without Lifeguard. */
uint64_t gsm__suspicion_timeout(const struct gsm_swim *s, uint32_t confirmations);
/* (Re)start m's suspicion timer; from: the suspecter (may be NULL).  Out
 * of memory leaves m without a timer. */
void gsm__suspicion_start(struct gsm_swim *s, struct member *m, const uint8_t *from);
/* An independent confirmation by `from`: 1 if it counted (timer shortened). */
int gsm__suspicion_confirm(struct gsm_swim *s, struct member *m, const uint8_t *from);
/* Drop m's suspicion record and timer (no-op without one). */
void gsm__susp_remove(struct gsm_swim *s, struct member *m);
/* Claims (protocol major 3).  gsm__claim_keep: remember u's signed claim
 * (from, claim_sig for u's state, generation, incarnation) in m's record
 * to relay it (a DEAD member gets a record without a timer); no-op for an
 * unsigned u.  gsm__claim_fill: put the kept claim into u (filled by
 * gsm__fill_update for m) when it is about m's current (generation,
 * incarnation), else clear u's from: an unsigned claim is not relayed.
 * gsm__declare (swim_apply.c): our own claim that m is SUSPECT or DEAD,
 * signed with our identity, taken and gossiped (the expiry of our own
 * suspicion timer is the only way a member becomes DEAD here). */
void gsm__claim_keep(struct gsm_swim *s, struct member *m, const struct gsm_update *u);
void gsm__claim_fill(const struct member *m, struct gsm_update *u);
void gsm__declare(struct gsm_swim *s, struct member *m, uint8_t state);
/* Whether a confirmation by `from` would count now (gsm__suspicion_confirm
 * would return 1): m has a timer, from is not its origin nor counted yet,
 * and fewer than the expected confirmations were counted. */
int gsm__confirm_counts(const struct gsm_swim *s, const struct member *m, const uint8_t *from);
/* Refute a suspicion/death of ourselves claimed at claimed_inc: bump our
 * incarnation past it and gossip it (also straight to tell, if not NULL). */
void gsm__refute(struct gsm_swim *s, uint64_t claimed_inc, const struct gsm_addr *tell);
/* Raise our incarnation to inc (saturating at INT64_MAX, never lowering),
 * sign the alive intent for it (carried by our ALIVE update) and queue the
 * update. */
void gsm__self_bump(struct gsm_swim *s, uint64_t inc);
/* PING target with seq; buddy 1: carry its suspicion (Lifeguard), 2: always. */
void gsm__send_ping(struct gsm_swim *s, struct member *target, uint32_t seq, int buddy);
void gsm__handle_ping(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from);
void gsm__handle_ping_req(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from);
void gsm__handle_ack(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from);
void gsm__handle_nack(struct gsm_swim *s, const struct gsm_msg *m);
/* Keys 13 and 14 of a received message: the address (WireGuard endpoint)
 * the sender sees us at, as OBSERVED (WG_OBSERVED) events, rate limited. */
void gsm__observed_addr(struct gsm_swim *s, const struct gsm_msg *m);
void gsm__wg_observed_addr(struct gsm_swim *s, const struct gsm_msg *m);
/* Timers, in this order in gsm_swim_tick: expiring suspicions (last-chance
 * ping, then DEAD), ping-req relays (nack), the probe (ping-reqs after the
 * probe timeout; the period's verdict and the next probe). */
void gsm__suspicion_timers(struct gsm_swim *s, uint64_t now);
void gsm__relay_timers(struct gsm_swim *s, uint64_t now);
void gsm__probe_timers(struct gsm_swim *s, uint64_t now);

/* ------------------------------------------------------------------ */
/* swim_apply.c: applying updates and adverts                          */

/* Apply one membership update.  via_sync: learned by anti-entropy (a DEAD
 * claim about a member we hold ALIVE is only taken as SUSPECT; what is not
 * bad news is not re-gossiped).  from_addr: where it came from (may be
 * NULL), for refutations.  *need_advert (may be NULL) is set to 1 when the
 * member's advert is missing or older than the generation claimed, to
 * NEED_UNKNOWN when the node id is unknown (the update is ignored: only an
 * advert admits a member).  1 if accepted.  A claim above what the member
 * signed, or with a value above INT64_MAX, is ignored and counted. */
#define NEED_UNKNOWN 2
int gsm__apply_update(struct gsm_swim *s, const struct gsm_update *u, int via_sync,
		      const struct gsm_addr *from_addr, int *need_advert);
/* Accept a signed advert if it is newer and correctly signed.  imported:
 * from gsm_swim_import (not gossiped); addr: for a new member (may be
 * NULL); src: the datagram's source (NULL when imported), charged by the
 * admission rate limit (gsm__admit).  1 if accepted, 0 if not newer, <0 on error. */
int gsm__apply_advert(struct gsm_swim *s, const uint8_t *adv, size_t len, int imported,
		      int via_sync, const struct gsm_addr *addr, const struct gsm_addr *src);
/* The piggybacked updates and adverts of a received message, with the
 * advert requests and stale-bad-news answers they call for. */
void gsm__process_piggyback(struct gsm_swim *s, const struct gsm_msg *m,
			    const struct gsm_addr *from, int via_sync);
/* Sender bookkeeping: ask an unknown or newer sender for its advert, tell
 * a member we hold SUSPECT/DEAD so (partition healing). */
void gsm__note_sender(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from);

/* ------------------------------------------------------------------ */
/* swim_sync.c: anti-entropy                                           */

/* The delay until the next sync: adaptive (2 probe intervals doubling per
 * backoff step up to the scaled interval), jittered. */
uint64_t gsm__next_sync_delay(struct gsm_swim *s);
/* Bring the next sync forward (within ~2 probe intervals) and reset the
 * backoff. */
void gsm__sync_soon(struct gsm_swim *s);
/* Ask `to` for the adverts of want[0..n) (paged, non-reply SYNC_REQUEST). */
void gsm__request_adverts(struct gsm_swim *s, const struct gsm_addr *to,
			  struct gsm_digest_entry *want, size_t n);
/* The sync summary (wire key 15) of our view: equal for views a paged sync
 * would leave untouched, different (but for 2^-128) otherwise. */
void gsm__view_hash(const struct gsm_swim *s, uint8_t out[SYNC_HASH_LEN]);
void gsm__handle_digest_request(struct gsm_swim *s, const struct gsm_msg *rq,
				const struct gsm_addr *from);
void gsm__handle_advert_request(struct gsm_swim *s, const struct gsm_msg *rq,
				const struct gsm_addr *from);
void gsm__handle_digest_page(struct gsm_swim *s, const struct gsm_msg *m,
			     const struct gsm_addr *from);
/* Timers (not while leaving): the sync session's deadline and the next
 * sync, then the reconnect timer. */
void gsm__sync_timers(struct gsm_swim *s, uint64_t now);
/* ------------------------------------------------------------------ */
/* swim_authority.c: authority mode                                    */

/* Authority keys are configured (statuses are computed, revocations
 * accepted and relayed). */
static inline int gsm__auth_on(const struct gsm_swim *s)
{
	return s->n_auth > 0;
}
/* Certificate check of a signed advert before it is accepted (its
 * signature already verified): the chain's status into m's authority
 * fields (m may be NULL: a new member, fields go to *tmp).  0 accept,
 * -EKEYEXPIRED refused (REQUIRE: not VALID; WARN: REVOKED), counted
 * (certs_refused) and logged (rate limited) naming the member and why.
 * Without authority keys: 0, nothing computed. */
int gsm__cert_admit(struct gsm_swim *s, const uint8_t *adv, size_t len, struct member *tmp);
/* Take the fields gsm__cert_admit computed (tmp) into m after its advert
 * was accepted: CERT event when the status of a held member changed, a
 * REVOKED member goes DEAD (WARN/REQUIRE). */
void gsm__cert_commit(struct gsm_swim *s, struct member *m, const struct member *tmp, int first);
/* An update about m must be ignored: m is REVOKED (WARN/REQUIRE), so no
 * refutation or new life revives it; only a new VALID advert can. */
int gsm__cert_blocks_update(const struct gsm_swim *s, const struct member *m);
/* Timer: certificates that expired or became valid, revocations past
 * their expiry.  gsm__cert_deadline: when (UINT64_MAX without keys). */
void gsm__cert_timer(struct gsm_swim *s, uint64_t now);
uint64_t gsm__cert_deadline(const struct gsm_swim *s);
/* The revocations of a received message (before its adverts): each new
 * one verified, held, applied, queued for gossip; bad ones counted. */
void gsm__process_revocations(struct gsm_swim *s, const struct gsm_msg *m);
/* Piggyback queued revocations into m within room bytes (at most
 * GSM_MAX_REVOCATIONS_MSG); returns the bytes used.  Each counts as sent. */
size_t gsm__pack_revocations(struct gsm_swim *s, struct gsm_msg *m, size_t room);
/* Sync: put our revocation hash into m (only with authority keys). */
void gsm__put_rev_hash(struct gsm_swim *s, struct gsm_msg *m);
/* Sync: m carries a revocation hash different from ours: send `to` what
 * we hold, paged within the MTU (and the reply budget). */
void gsm__sync_revocations(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *to);
/* Free the store (gsm_swim_free). */
void gsm__auth_free(struct gsm_swim *s);

/* ------------------------------------------------------------------ */
/* swim_amp.c: the reply budget                                       */

/* The reply budget (amplification, docs/protocol.md): whatever the core
 * sends while it handles a received datagram of len sealed bytes is an
 * answer to it.  gsm_swim_recv calls gsm__reply_begin before applying the
 * datagram (budget 3 x len), gsm__reply_grant once the sender is noted
 * (a round trip that proves the sender's address is recorded; a member at
 * its verified address gets more, from its token bucket; a member at an
 * unverified one that asks for a sync is challenged), gsm__reply_end after
 * the handler (the budget ends).  gsm__reply_take: 0 and the budget is
 * charged olen bytes, or -ENOSPC (counted in replies_capped: the datagram
 * is not sent); no budget outside gsm_swim_recv.  gsm__reply_body: want,
 * or less so that a body of that size still fits the budget. */
void gsm__reply_begin(struct gsm_swim *s, size_t len);
void gsm__reply_grant(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from);
void gsm__reply_end(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *from);
int gsm__reply_take(struct gsm_swim *s, size_t olen);
size_t gsm__reply_body(const struct gsm_swim *s, size_t want);
/* An unpredictable 32-bit value bound to (id, address a, n): a sync's seq
 * and an address challenge's; keyed per node from env.random. */
uint32_t gsm__amp_cookie(struct gsm_swim *s, const uint8_t *id, const struct gsm_addr *a,
			 uint64_t n);

#endif
