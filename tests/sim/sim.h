/*
 * tests/sim/sim.h - deterministic discrete-event simulator running many
 * real gossip cores (gossip/swim.h) in one process.
 *
 * Fake clock: a heap of events ordered by (time, sequence).  Fake network:
 * datagrams are delivered after a base delay plus jitter, lost with a
 * global / per-node / per-link probability, and blocked by (one-way or
 * two-way) partitions between node groups.  Nodes can crash, restart (new
 * generation, same identity and address), leave, update their advert and be
 * slowed down (every event they process is delayed: a starved process, for
 * Lifeguard).  All randomness comes from one seeded generator; the seed is
 * printed by sim_new() and can be replayed with env GSM_SIM_SEED.
 */
#ifndef GOSSAMER_TESTS_SIM_H
#define GOSSAMER_TESTS_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/cert.h"
#include "gossip/swim.h"

struct sim;

struct sim_opts {
	uint64_t seed;		     /* 0: from GSM_SIM_SEED or time */
	uint32_t delay_ms;	     /* base one-way delay (default 5) */
	uint32_t jitter_ms;	     /* + uniform [0, jitter] (default 5) */
	double loss;		     /* global loss probability */
	struct gsm_swim_config swim; /* config of every node (generation ignored) */
	const char *name;	     /* printed with the seed */
	bool quiet;
};

void sim_opts_default(struct sim_opts *o);

/* Creates a simulator with capacity for max_nodes nodes (not started). */
struct sim *sim_new(const struct sim_opts *o, size_t max_nodes);
void sim_free(struct sim *s);
uint64_t sim_seed(const struct sim *s);
uint64_t sim_now(const struct sim *s);
size_t sim_size(const struct sim *s);

/* Event hook: called for every gossip event of every node. */
typedef void (*sim_event_fn)(void *arg, size_t node, const struct gsm_swim_event *ev);
void sim_set_event_hook(struct sim *s, sim_event_fn fn, void *arg);

/* Start node i (first time or after a crash: new generation, same id). */
int sim_start(struct sim *s, size_t i);
/* Join node i through the given seed nodes. */
int sim_join(struct sim *s, size_t i, const size_t *seeds, size_t n);
/* Crash (no goodbye), leave (graceful; the node keeps running until
 * sim_leave_done, then is stopped by sim_reap_left()), restart. */
void sim_crash(struct sim *s, size_t i);
int sim_leave(struct sim *s, size_t i);
bool sim_up(const struct sim *s, size_t i);
/* Bump node i's advert version (re-signed) and hand it to its core. */
int sim_update_advert(struct sim *s, size_t i);
uint64_t sim_advert_version(const struct sim *s, size_t i);
/* make node i's adverts (from its next start/update on) larger than the MTU */
void sim_set_big_advert(struct sim *s, size_t i, bool big);
uint64_t sim_generation(const struct sim *s, size_t i);
const uint8_t *sim_node_id(const struct sim *s, size_t i);
struct gsm_swim *sim_core(struct sim *s, size_t i);
/* index of a node id, or -1 */
long sim_find(const struct sim *s, const uint8_t *id);

/* Import every member known to node `donor` (signed advert + address)
 * into node i, as a restarted daemon imports its persisted members. */
int sim_import_from(struct sim *s, size_t i, size_t donor);
/* Deliver raw bytes to node i as if sent by node `from`; returns what
 * gsm_swim_recv returned. */
int sim_inject(struct sim *s, size_t i, size_t from, const uint8_t *buf, size_t len);

/* A key holder's forgery: encode m (its sender field as given: any id),
 * seal it with the cluster key and deliver it to node `to` as if it came
 * from node `from`'s address.  Returns what gsm_swim_recv returned, or a
 * negative errno from encoding/sealing.  For attack tests. */
int sim_send_forged(struct sim *s, size_t from, size_t to, const struct gsm_msg *m);

/* The same, pair-tagged with the pair key of node `from` (its own
 * identity) and node `to`: the tag is good only if m's sender is `from`. */
int sim_send_forged_tagged(struct sim *s, size_t from, size_t to, const struct gsm_msg *m);

/* Wall clocks (env.wall_ms): a fixed epoch + sim time + a per-node offset
 * (ms, default 0), for the replay window. */
void sim_set_clock_offset(struct sim *s, size_t i, int64_t ms);
/* Log hook: every env.log line of every node (level: enum gsm_swim_log_level). */
typedef void (*sim_log_fn)(void *arg, size_t node, int level, const char *msg);
void sim_set_log_hook(struct sim *s, sim_log_fn fn, void *arg);

/* Capture: copy the next datagram node `from` sends to node `to` (it is
 * still delivered as usual).  sim_captured copies it into buf and returns
 * its length (0: none captured yet, or cap too small); sim_replay
 * re-delivers it verbatim to node `to` as if sent from node `from`'s
 * address (what gsm_swim_recv returned; -ENOENT: nothing captured). */
void sim_capture_next(struct sim *s, size_t from, size_t to);
size_t sim_captured(const struct sim *s, uint8_t *buf, size_t cap);
int sim_replay(struct sim *s, size_t to, size_t from);

/* Network */
void sim_set_loss(struct sim *s, double p);
void sim_set_node_loss(struct sim *s, size_t i, double p); /* in and out */
/* per-link (one direction, a -> b): loss and extra delay + jitter */
int sim_set_link(struct sim *s, size_t a, size_t b, double loss, uint32_t delay_ms,
		 uint32_t jitter_ms);
void sim_set_group(struct sim *s, size_t i, uint8_t group); /* 0..7 */
/* block traffic from group a to group b (one way) */
void sim_block(struct sim *s, uint8_t a, uint8_t b, bool blocked);
/* slow node: every event it processes is delayed by up to ms */
void sim_set_slow(struct sim *s, size_t i, uint32_t ms);
/* Node i runs without the sync summary (config.sync_summary = false), like
 * a node from before wire key 15; applies from its next sim_start. */
void sim_set_no_summary(struct sim *s, size_t i, bool off);

/* Authority mode (issue 14).  Node i's certificate chain (signed
 * certificates, node certificate first, at most GSM_CERT_CHAIN_MAX + 1;
 * copied; k = 0: none), carried by its adverts from its next start or
 * advert update on.  0, -EMSGSIZE, -ENOMEM. */
int sim_set_certs(struct sim *s, size_t i, const struct gsm_bytes *certs, size_t k);
/* Node i's authority keys and mode: at every start (before its advert is
 * set) and at once when it is up (what gsm_swim_set_authority returned). */
int sim_set_authority(struct sim *s, size_t i, enum gsm_authority_mode mode,
		      const uint8_t (*keys)[GSM_ID_LEN], size_t k);
/* Node i's wall clock now (ms since the epoch; certificates use it / 1000). */
uint64_t sim_wall_ms(const struct sim *s, size_t i);

/* Datagram hook: every sealed datagram any node sends (before loss), for
 * measurements; sim_keyring opens them (gsm_open). */
typedef void (*sim_dgram_fn)(void *arg, size_t from, const uint8_t *buf, size_t len);
void sim_set_dgram_hook(struct sim *s, sim_dgram_fn fn, void *arg);
const struct gsm_keyring *sim_keyring(const struct sim *s);

/* Run until the given simulated time (ms). */
void sim_run_until(struct sim *s, uint64_t t);
/* Run until pred returns true (checked every step_ms) or time limit. */
bool sim_run_until_pred(struct sim *s, uint64_t limit, uint64_t step_ms,
			bool (*pred)(struct sim *s, void *arg), void *arg);

/* Views */
/* Number of up nodes whose view is complete: every other up node ALIVE
 * with its current advert (generation, version); every down node that is
 * known is not ALIVE (only checked when strict). */
size_t sim_complete_views(struct sim *s, bool strict);
/* Whether node i holds node j in the given state. */
int sim_state_of(struct sim *s, size_t i, size_t j);

struct sim_totals {
	uint64_t dgrams, bytes, delivered, dropped;
	uint64_t events;
	size_t memory;	  /* sum of core memory of up nodes */
	uint64_t members; /* sum of member counts of up nodes */
	/* sums of gsm_swim_stats over up nodes (since their last start) */
	uint64_t syncs, syncs_summary, digest_pages_recv, digest_pages_sent;
};
void sim_totals(struct sim *s, struct sim_totals *t);
/* Bytes of the datagrams to node i sent but not delivered yet (in flight:
 * what was just sent to it, for attack tests). */
uint64_t sim_pending_bytes_to(const struct sim *s, size_t i);

#endif
