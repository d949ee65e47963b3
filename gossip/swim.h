/*
 * gossip/swim.h - the membership core: SWIM failure detection with the
 * Lifeguard refinements, piggybacked dissemination of membership updates
 * and signed adverts, and paged anti-entropy sync.  See docs/gossip.md.
 *
 * The core is a pure state machine.  It does no I/O and has no clock and no
 * hidden randomness: time, sending, randomness and event delivery come in
 * through struct gsm_swim_env.  Given the same env it behaves identically,
 * which is what lets the simulator (tests/sim) run thousands of instances in
 * one process.  It is single-threaded: call it from one thread only.  The
 * env callbacks must not call back into the same instance, except the
 * event callback, which may call the read-only functions (stats, members),
 * gsm_swim_set_advert() and gsm_swim_set_addr().
 *
 * Datagrams are sealed and opened by the core itself with the key ring
 * (gsm_seal_pair/gsm_open); the env's send() receives finished envelopes of
 * at most config.mtu bytes.  Envelope v3 (docs/protocol.md): every nonce
 * carries env.wall_ms, datagrams outside config.replay_window_ms of our
 * clock or with a nonce seen before are refused, and a datagram to a
 * member carries a pair tag that proves its sender; datagrams that do not
 * (unknown sender, no tag) are handled but may not send ping-reqs or
 * nacks, ack probes not sent to their address, or confirm suspicions.
 *
 * Time is milliseconds of a monotonic clock (env.now).  Timers: after every
 * call into the core, gsm_swim_next_deadline() gives the absolute time at
 * which gsm_swim_tick() must be called next (the daemon arms one timer).
 * Calling tick early or late is harmless.
 *
 * Ordering: a member's state is ordered by (generation, incarnation), then
 * LEFT > DEAD > SUSPECT > ALIVE.  The generation is bumped by every start of
 * the daemon (persisted by the daemon, passed in the config), so a restarted
 * node supersedes everything said about its previous life.  The incarnation
 * is bumped (within a generation) to refute suspicion.
 */
#ifndef GOSSAMER_GOSSIP_SWIM_H
#define GOSSAMER_GOSSIP_SWIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/crypto.h"
#include "gossip/wire.h"

struct gsm_swim;

#define GSM_SWIM_MAX_MEMBERS 10000 /* default member-table cap */

struct gsm_swim_config {
	/* own generation: MUST be greater than in every previous start of
	 * this identity (the daemon persists it).  Adverts given to
	 * gsm_swim_set_advert() must carry this generation.  At most
	 * INT64_MAX (-EINVAL): peers refuse larger values. */
	uint64_t generation;

	uint32_t probe_interval_ms;  /* 1000: one probe per period */
	uint32_t probe_timeout_ms;   /* 500: direct ack wait, then ping-req */
	uint32_t indirect_probes;    /* 3: k ping-req helpers */
	uint32_t suspicion_min_mult; /* 4: min timeout = mult * log10(max(N,10)) * interval */
	uint32_t suspicion_max_mult; /* 6: max timeout = mult * min timeout (Lifeguard) */
	uint32_t retransmit_mult;    /* 4: lambda: updates are sent lambda*ceil(log10(N+1)) times,
				      * adverts ceil(lambda*log10(N+1)) times */
	uint32_t gossip_interval_ms; /* 200: piggyback-only gossip round (0 = off) */
	uint32_t gossip_fanout;	     /* 3: members per gossip round */
	uint32_t sync_interval_ms;   /* 30000: anti-entropy base interval, scaled by log2(N);
				      * adaptive: much shorter while syncs find differences */
	uint32_t mtu;		     /* GSM_DEFAULT_MTU: datagram budget incl. envelope */
	uint32_t tombstone_ms;	     /* 24 h: dead/left members kept, then reaped */
	uint32_t reconnect_interval_ms; /* 10000: contact one seed or dead member this often */
	uint32_t awareness_max;		/* 8: Lifeguard local health multiplier saturates here */
	uint32_t max_members;		/* 10000 (0 = the default): adverts of new members
					 * beyond this many members (self included) are
					 * refused (stats.admission_refused) */
	/* admission (docs/protocol.md "Admission"; 0 = the default each):
	 * new members one source address may bring per window outside our
	 * own sync sessions (16; UINT32_MAX: unlimited), the window (10000
	 * ms), and how long a member that never answered a probe is kept
	 * (600000 ms; members once reachable are never reaped for it) */
	uint32_t admission_per_source;
	uint32_t admission_window_ms;
	uint32_t unreachable_reap_ms;
	bool lifeguard;		   /* true: LHM, nacks, dynamic suspicion, buddy rule */
	bool verify_signatures;	   /* true (false only for huge simulations) */
	bool sync_summary;	   /* true: open each sync with a state_hash summary
				    * (wire key 15) and answer one; false behaves
				    * like a node from before key 15 (tests) */
	uint32_t replay_window_ms; /* 60000 (0 = the default): datagrams whose
				    * nonce time stamp is further than this from
				    * env.wall_ms are refused (stats.stale); within
				    * it a nonce is accepted once (stats.replayed) */
};

/* Fill the defaults listed above (generation = 1). */
void gsm_swim_config_default(struct gsm_swim_config *cfg);

enum gsm_swim_event_type {
	GSM_SWIM_EV_JOINED = 1,	 /* first advert of a member accepted */
	GSM_SWIM_EV_UPDATED,	 /* newer advert of a known member accepted */
	GSM_SWIM_EV_SUSPECT,	 /* member became suspect */
	GSM_SWIM_EV_ALIVE,	 /* suspect/dead member refuted or came back */
	GSM_SWIM_EV_DEAD,	 /* member declared dead */
	GSM_SWIM_EV_LEFT,	 /* member left gracefully (signed intent) */
	GSM_SWIM_EV_REMOVED,	 /* tombstone reaped: forget the member */
	GSM_SWIM_EV_OBSERVED,	 /* a peer reports the address it sees us at */
	GSM_SWIM_EV_REFUTED,	 /* we refuted a suspicion/death of ourselves */
	GSM_SWIM_EV_WG_OBSERVED, /* a peer reports the WireGuard endpoint its
				  * WireGuard sees for us (wire key 14) */
	GSM_SWIM_EV_REACHABLE,	 /* a member answered a probe for the first
				  * time (member.reachable turned true) */
	GSM_SWIM_EV_CERT,	 /* a member's cert_status changed (self
				  * included; authority mode) */
	GSM_SWIM_EV_REVOCATION,	 /* a new revocation was accepted (gossip,
				  * sync or gsm_swim_add_revocation):
				  * ev.revocation, ev.revocation_len */
};

/* Authority mode (docs/gossip.md, Authority mode; gossip/cert.h).
 *   OFF      certificates are not enforced (statuses are computed for
 *            display when keys are set; without keys revocations are
 *            neither accepted nor relayed);
 *   WARN     statuses computed, nothing refused except REVOKED members;
 *   REQUIRE  an advert whose chain is not VALID is refused (a new member
 *            is not admitted; a known one keeps its previous advert).
 * In WARN and REQUIRE a member covered by a revocation is REVOKED: it is
 * DEAD here, refutations cannot revive it, only a new advert with a VALID
 * chain can.  Certificate times are env.wall_ms / 1000. */
enum gsm_authority_mode {
	GSM_AUTHORITY_OFF = 0,
	GSM_AUTHORITY_WARN = 1,
	GSM_AUTHORITY_REQUIRE = 2,
};

/* A member as seen by this node.  Pointers are valid only until the next
 * call into the core that can change membership (recv, tick, join, ...). */
struct gsm_swim_member {
	uint8_t id[GSM_ID_LEN];
	uint8_t state; /* enum gsm_state */
	bool is_self;
	uint64_t generation; /* membership generation */
	uint64_t incarnation;
	uint64_t version;	    /* advert version (0 if no advert yet) */
	uint64_t advert_generation; /* advert generation (0 if no advert yet) */
	struct gsm_addr addr;	    /* gossip address (family 0: unknown) */
	const uint8_t *advert;	    /* signed advert bytes, NULL if not known yet */
	size_t advert_len;
	uint64_t state_changed_ms; /* env time of the last local state change */
	/* admission: the member has shown a round trip (answered one of our
	 * probes, directly or through a ping-req helper; or vouched for by
	 * gsm_swim_vouch) at some point, in any of its lives, and since when
	 * (env time; 0 when not reachable).  Self is reachable.  Only
	 * reachable members should become WireGuard peers or be persisted. */
	bool reachable;
	uint64_t reachable_since_ms;
	/* authority mode: the status of the member's certificate chain
	 * (enum gsm_cert_status; NONE without authority keys), the earliest
	 * not_after of the chain (s since the epoch), the leaf's roles
	 * (GSM_ROLE_*), serial and ephemeral flag (0 when not decoded) */
	uint8_t cert_status;
	uint64_t cert_expires_s;
	uint32_t cert_roles;
	uint64_t cert_serial;
	bool cert_ephemeral;
};

struct gsm_swim_event {
	enum gsm_swim_event_type type;
	/* JOINED..REMOVED: the member (REFUTED: self) */
	const struct gsm_swim_member *member;
	/* OBSERVED, WG_OBSERVED: who observed us, and where */
	const uint8_t *observer; /* GSM_ID_LEN */
	struct gsm_addr observed;
	/* REVOCATION: the signed revocation (valid during the callback) */
	const uint8_t *revocation;
	size_t revocation_len;
};

enum gsm_swim_log_level { GSM_LOG_ERR = 0, GSM_LOG_WARN, GSM_LOG_INFO, GSM_LOG_DEBUG };

struct gsm_swim_env {
	void *ctx;
	/* monotonic milliseconds */
	uint64_t (*now)(void *ctx);
	/* send one sealed datagram; failures are the env's business */
	void (*send)(void *ctx, const struct gsm_addr *to, const uint8_t *buf, size_t len);
	/* fill buf with random bytes (nonces, probe order, member choice) */
	void (*random)(void *ctx, uint8_t *buf, size_t len);
	/* membership events (may be NULL) */
	void (*event)(void *ctx, const struct gsm_swim_event *ev);
	/* optional log (may be NULL) */
	void (*log)(void *ctx, enum gsm_swim_log_level level, const char *msg);
	/* optional wall clock: ms since the Unix epoch (CLOCK_REALTIME).  It
	 * stamps every nonce and bounds the replay window; NULL: nonces are
	 * stamped with 0 and only the replay cache applies (a replay older
	 * than 2 windows is then accepted: tests and tools only). */
	uint64_t (*wall_ms)(void *ctx);
};

/* Create an instance.  id and keyring are borrowed and must outlive it.
 * self_addr: own gossip address as configured (the address others should
 * use; may be refined by the daemon from observed addresses later with
 * gsm_swim_set_addr()).  Nothing is sent until gsm_swim_join() or a
 * datagram arrives. */
int gsm_swim_new(const struct gsm_swim_config *cfg, const struct gsm_identity *id,
		 const struct gsm_keyring *kr, const struct gsm_addr *self_addr,
		 const struct gsm_swim_env *env, struct gsm_swim **out);
void gsm_swim_free(struct gsm_swim *s);

/* Own signed advert (built and signed by the caller with gsm_advert_sign).
 * Must be for our identity, carry config.generation, and have a version
 * greater than the previous one: -EINVAL (wrong node/generation/bad
 * advert), -ESTALE (version not newer), -EKEYREJECTED (bad signature).
 * Disseminated to everyone. */
int gsm_swim_set_advert(struct gsm_swim *s, const uint8_t *signed_adv, size_t len);
/* The current own advert version (0 = none yet). */
uint64_t gsm_swim_advert_version(const struct gsm_swim *s);
/* Change own gossip address (e.g. after NAT detection). */
int gsm_swim_set_addr(struct gsm_swim *s, const struct gsm_addr *addr);

/* NAT traversal (docs/nat.md): the WireGuard endpoint our WireGuard sees
 * for member `id` (learned from its authenticated packets).  It rides as
 * `wg_observed` (wire key 14) in our pings to that member and our acks to
 * it, until replaced; family 0 forgets it.  The member gets a
 * GSM_SWIM_EV_WG_OBSERVED event.  0, -EINVAL, -ENOMEM. */
int gsm_swim_set_wg_observed(struct gsm_swim *s, const uint8_t id[GSM_ID_LEN],
			     const struct gsm_addr *addr);

/* Import a persisted member (its signed advert and last known gossip
 * address) after a restart.  It is entered ALIVE at incarnation 0 of the
 * advert's generation without gossiping it; if it is gone, probing finds
 * out.  Anything newer learned from the cluster supersedes it.  Import
 * before gsm_swim_join(): join also contacts a few imported members, so a
 * node whose seeds are all down still rejoins. */
int gsm_swim_import(struct gsm_swim *s, const uint8_t *signed_adv, size_t len,
		    const struct gsm_addr *addr);
/* Mark a member reachable without a probe: for members the daemon persisted
 * because they were reachable before a restart (import, then vouch), so
 * their WireGuard peers survive the restart.  No event.  0, -ENOENT,
 * -EINVAL (self, NULL, or a member without a gossip address: it could
 * never have answered a probe). */
int gsm_swim_vouch(struct gsm_swim *s, const uint8_t id[GSM_ID_LEN]);

/* Join through seeds (any of them; several addresses).  Requires an own
 * advert (-EAGAIN otherwise).  Contacts every seed and up to 3 imported
 * members.  A join attempt that gets no answer is retried with a seed after
 * 1, 2, 4 ... probe intervals (+-25%), up to the reconnect interval; any
 * answer resets that backoff.  Once joined, seeds that are not live members
 * are contacted at the reconnect interval (partition healing).
 * Returns the number of addresses contacted (>= 0) or a negative errno. */
int gsm_swim_join(struct gsm_swim *s, const struct gsm_addr *seeds, size_t n);

/* Graceful leave: marks self LEFT with a leave intent signed by the
 * identity and gossips it (also directly to up to 512 members).  The instance
 * stops probing but keeps gossiping; gsm_swim_leave_done() turns true once
 * the intent was sent enough times, then the daemon may free it and exit. */
int gsm_swim_leave(struct gsm_swim *s);
bool gsm_swim_leave_done(const struct gsm_swim *s);

/* One received datagram.  Returns 0, or a negative errno describing a bad
 * datagram (-EBADMSG, -ENOKEY, -EPROTONOSUPPORT, -EKEYREJECTED, ...; see
 * gsm_strerror) which the caller may log.  The state is unchanged then.
 * Envelope v3 refusals: -ETIME (time stamp outside the replay window:
 * clock skew), -EALREADY (a replayed nonce), -EPERM (bad pair tag: the
 * datagram claims a sender id it cannot prove). */
int gsm_swim_recv(struct gsm_swim *s, const struct gsm_addr *from, const uint8_t *buf, size_t len);

/* Absolute env time at which gsm_swim_tick() must run next. */
uint64_t gsm_swim_next_deadline(const struct gsm_swim *s);
/* Run every timer that is due at env.now(). */
void gsm_swim_tick(struct gsm_swim *s);

/* ---- authority mode ---- */

/* Replace the authority keys (at most GSM_MAX_AUTHORITIES, gossip/cert.h;
 * copied) and the mode; re-evaluates every member (CERT events) and
 * applies held revocations.  0 or -EINVAL (NULL keys with n > 0, too many
 * keys, unknown mode, or a mode other than OFF without keys). */
int gsm_swim_set_authority(struct gsm_swim *s, enum gsm_authority_mode mode,
			   const uint8_t (*keys)[GSM_ID_LEN], size_t n);
/* Add a signed revocation (e.g. from the daemon's store or the control
 * socket): 0 new (disseminated; covered members become REVOKED),
 * -EEXIST held already, -EKEYREJECTED bad signature or not by a
 * configured authority (also: no authority configured), -EBADMSG
 * malformed, -ESTALE expired, -ENOSPC full (GSM_MAX_REVOCATIONS),
 * -ENOMEM.  Held until its `expires`. */
int gsm_swim_add_revocation(struct gsm_swim *s, const uint8_t *rev, size_t len);
/* Calls fn for every held revocation (signed bytes), in id order. */
void gsm_swim_foreach_revocation(const struct gsm_swim *s,
				 void (*fn)(void *ctx, const uint8_t *rev, size_t len), void *ctx);
size_t gsm_swim_revocation_count(const struct gsm_swim *s);

/* ---- views ---- */

/* Number of members known, self included (tombstones included). */
size_t gsm_swim_member_count(const struct gsm_swim *s);
/* Calls cb for every member (self included) in node id order until cb
 * returns non-zero (which is returned). */
int gsm_swim_foreach(const struct gsm_swim *s,
		     int (*cb)(void *arg, const struct gsm_swim_member *m), void *arg);
/* One member by id: 0 or -ENOENT. */
int gsm_swim_get(const struct gsm_swim *s, const uint8_t id[GSM_ID_LEN], struct gsm_swim_member *m);

struct gsm_swim_stats {
	uint32_t alive, suspect, dead, left, total; /* self counted (alive) */
	uint32_t pending_updates;		    /* updates/adverts still being retransmitted */
	uint64_t last_sync_ms;			    /* env time of last completed sync, 0 = never */
	uint64_t incarnation;			    /* own */
	uint32_t awareness; /* Lifeguard local health multiplier (0 = healthy) */
	uint64_t dgrams_sent, bytes_sent, dgrams_recv, bytes_recv, dgrams_bad;
	uint64_t probes, probes_failed, suspicions_raised, refutations;
	/* anti-entropy: sessions we initiated that completed, those of them
	 * ended by the state_hash summary (views equal, one round trip),
	 * digest pages we received as initiator and sent as responder */
	uint64_t syncs, syncs_summary, digest_pages_recv, digest_pages_sent;
	/* authenticated membership: updates ignored because they claim a
	 * (generation, incarnation) above what the subject signed (advert or
	 * signed refutation; about us: above our own), carry a bad alive or
	 * leave signature, or a value above INT64_MAX; adverts of new members
	 * refused at the max_members cap; updates about unknown node ids
	 * (which never create members) */
	uint64_t claims_rejected, admission_refused, updates_unknown;
	/* amplification: answers not sent (or cut short) because they would
	 * exceed the reply budget of the datagram they answer
	 * (docs/protocol.md, Amplification) */
	uint64_t replies_capped;
	/* admission: adverts of new members refused because their source
	 * address brought admission_per_source new members within the
	 * window; members reaped because they never became reachable within
	 * unreachable_reap_ms; members not (yet) reachable now */
	uint64_t admission_ratelimited, unreachable_reaped;
	uint32_t unreachable;
	/* SUSPECT/DEAD updates about another member ignored because their
	 * claimer is not a live member with an advert, is the subject itself,
	 * or did not sign them (claim_sig missing or bad; protocol major 3) */
	uint64_t claims_unsigned;
	/* envelope v3 (docs/protocol.md, Replay window / Attribution):
	 * datagrams refused for a time stamp outside the replay window
	 * (clock skew), for a nonce seen before, for a bad pair tag (they
	 * claim a member's id the pair key does not confirm); requests of
	 * unattributed datagrams ignored (ping-req, acks not matching a probe
	 * to that address, nacks); replay cache entries evicted at the cap
	 * before they expired */
	uint64_t stale, replayed, bad_sender, unattributed_dropped, replay_evicted;
	/* authority mode: adverts refused because their chain is not VALID
	 * (REQUIRE) or REVOKED (WARN); members whose certificate expired
	 * while held; revocations held now; revocations received that were
	 * malformed, badly signed, not by a configured authority or expired */
	uint64_t certs_refused, certs_expired;
	uint32_t revocations;
	uint64_t revocations_refused;
	size_t memory_bytes; /* heap used by this instance (approximate): members,
			      * adverts, queues; not its fixed ~430 KiB of
			      * scratch datagrams (swim.c) */
};
void gsm_swim_stats(const struct gsm_swim *s, struct gsm_swim_stats *st);

/* The local view has converged: nothing pending to retransmit and a sync
 * completed within the current (scaled) sync interval, or we are alone. */
bool gsm_swim_converged(const struct gsm_swim *s);

/* The current scaled anti-entropy interval (ms), for status/tests. */
uint64_t gsm_swim_sync_interval(const struct gsm_swim *s);

#endif
