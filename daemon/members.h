/*
 * daemon/members.h - the member cache: what the daemon's consumers need of
 * every member of the gossip core, decoded once per advert version.
 *
 * The core keeps each member's signed advert as bytes; decoding one gives a
 * fixed-size struct gsm_advert of ~8 KB, which is fine for one member at a
 * time but not for all of them on every reconcile.  The cache holds one
 * compact record per member (struct gsd_member): the small fields inline,
 * the variable lists sized to their actual count.  It is fed from the
 * core's member views (events, or a full resync) and re-decodes an advert
 * only when the core reports a different (generation, version) for it.
 *
 * Not thread-safe; single owner (the runtime).  Prefixes: gsd_member_ for
 * a record, gsd_memcache_ for the cache (gsd_members_ is the persisted
 * member list of daemon/state.h).
 */
#ifndef GOSSAMER_DAEMON_MEMBERS_H
#define GOSSAMER_DAEMON_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/swim.h"
#include "gossip/wire.h"

struct gsd_member_label {
	const char *key;   /* NUL-terminated, <= GSM_MAX_LABEL_KEY bytes */
	const char *value; /* NUL-terminated, <= GSM_MAX_LABEL_VALUE bytes */
};

/* One member.  Membership fields come from the core's view; the advert
 * fields are valid only when has_advert (otherwise they are zero and the
 * lists empty). */
struct gsd_member {
	/* membership (struct gsm_swim_member) */
	uint8_t id[GSM_ID_LEN];
	uint8_t state; /* enum gsm_state */
	bool is_self;
	bool has_advert;     /* an advert was known and decoded */
	uint64_t generation; /* membership generation */
	uint64_t incarnation;
	uint64_t adv_generation;     /* the core's advert (generation, version) */
	uint64_t adv_version;	     /* last looked at; 0, 0 without advert */
	uint64_t state_since_ms;     /* core's env time of the last state change */
	struct gsm_addr gossip_addr; /* family 0 = unknown */
	bool reachable;		     /* answered a probe at some point (admission):
				      * only such members become WireGuard peers */
	uint64_t reachable_since_ms; /* core's env time; 0 when not reachable */
	/* authority mode (the core's view of the member's chain) */
	uint8_t cert_status; /* enum gsm_cert_status */
	uint64_t cert_expires_s;
	uint32_t cert_roles; /* GSM_ROLE_* */
	uint64_t cert_serial;
	bool cert_ephemeral;

	/* advert (decoded) */
	char name[GSM_MAX_NAME + 1];
	uint8_t wg_pubkey[GSM_WGKEY_LEN];
	uint16_t wg_port;
	uint16_t gossip_port;
	uint32_t flags; /* GSM_ADV_* */
	bool has_relay_via;
	uint8_t relay_via[GSM_ID_LEN];
	uint8_t n_endpoints, n_overlay, n_prefixes, n_labels;
	const struct gsm_endpoint *endpoints;  /* n_endpoints entries */
	const struct gsm_prefix *overlay;      /* n_overlay entries */
	const struct gsm_prefix *prefixes;     /* n_prefixes entries */
	const struct gsd_member_label *labels; /* n_labels, sorted by key as signed */
	/* Certificate coverage, from the advert's leaf certificate (decoded,
	 * not verified: the core's cert_status says whether it is valid):
	 * has_cert when the advert carries a chain whose leaf decodes;
	 * cert_via_join when the chain has a JOIN certificate.  The uncert_
	 * masks have bit i set for the i-th overlay address, prefix or label
	 * that the leaf does not allow (gsm_cert_allows_*), and the GSM_ADV_*
	 * flags it does not allow; all zero without a certificate.  With the
	 * cache in require mode (gsd_memcache_set_authority), `flags` lacks
	 * the uncovered flags. */
	bool has_cert, cert_via_join;
	uint8_t uncert_overlay;
	uint64_t uncert_prefixes;
	uint32_t uncert_labels;
	uint32_t uncert_flags;
};

/* ------------------------------------------------- standalone records */

/* A record from a decoded advert (id, name, keys, ports, flags, lists,
 * relay_via; has_advert = true, adv_generation/adv_version from the
 * advert; membership fields zero: state ALIVE, no gossip address, not
 * reachable).  For
 * tests and tools that start from a struct gsm_advert.  The record and its
 * lists are one heap block owned by the caller: gsd_member_free().
 * NULL on allocation failure. */
struct gsd_member *gsd_member_from_advert(const struct gsm_advert *a);
/* Accepts NULL.  Only for records from gsd_member_from_advert(), never for
 * records returned by the cache. */
void gsd_member_free(struct gsd_member *m);

/* ----------------------------------------------------------- the cache */

struct gsd_memcache;

/* NULL on allocation failure. */
struct gsd_memcache *gsd_memcache_new(void);
/* Accepts NULL. */
void gsd_memcache_free(struct gsd_memcache *mc);

/* Insert or refresh one member from a core view (on JOINED, UPDATED,
 * SUSPECT, ALIVE, DEAD, LEFT).  The membership fields are always copied;
 * the advert is decoded only when the view's (advert_generation, version)
 * differs from what the record last looked at.  A member without advert,
 * or whose advert does not decode (or names another node), is kept with
 * has_advert = false.  0, or -ENOMEM (the cache is unchanged then). */
int gsd_memcache_update(struct gsd_memcache *mc, const struct gsm_swim_member *m);

/* The authority mode (enum gsm_authority_mode) the records are made for:
 * in require mode a record's flags lack those its certificate does not
 * allow.  A change re-decodes every advert at the next update or sync. */
void gsd_memcache_set_authority(struct gsd_memcache *mc, int mode);

/* Forget a member (REMOVED).  Unknown ids are ignored. */
void gsd_memcache_remove(struct gsd_memcache *mc, const uint8_t id[GSM_ID_LEN]);

/* Full resync with the core (gsm_swim_foreach): every member is inserted
 * or refreshed as by gsd_memcache_update(), and records of members the core
 * no longer has are dropped.  Used at start and as a safety net; with
 * nothing changed it decodes nothing and allocates nothing.  0 or -ENOMEM
 * (then the cache holds every old record plus what was refreshed so far). */
int gsd_memcache_sync(struct gsd_memcache *mc, const struct gsm_swim *s);

/* The same resync from another source of views: begin, then
 * gsd_memcache_update() for every member, then end, which drops the records
 * not updated since begin.  (gsd_memcache_sync() is exactly this over
 * gsm_swim_foreach.)  Without end, nothing is dropped; between begin and
 * end, gsd_memcache_find_wgkey() does not see the changes yet. */
void gsd_memcache_sync_begin(struct gsd_memcache *mc);
void gsd_memcache_sync_end(struct gsd_memcache *mc);

/* ------------------------------------------------------------- lookups
 *
 * Returned pointers (records, their lists and labels) are valid until the
 * next gsd_memcache_update/remove/sync/sync_end or gsd_memcache_free. */

/* By node id; NULL when unknown. */
const struct gsd_member *gsd_memcache_find(const struct gsd_memcache *mc,
					   const uint8_t id[GSM_ID_LEN]);
/* By WireGuard public key, among members with has_advert (self
 * included).  Several members may claim one key (a cloned machine): this
 * returns the one with the lowest node id, and *n_claims (may be NULL)
 * receives how many members claim the key (0 with NULL). */
const struct gsd_member *gsd_memcache_find_wgkey(const struct gsd_memcache *mc,
						 const uint8_t key[GSM_WGKEY_LEN],
						 size_t *n_claims);
/* Members (self and those without advert included), in node id order. */
size_t gsd_memcache_count(const struct gsd_memcache *mc);
/* i < count; NULL otherwise. */
const struct gsd_member *gsd_memcache_at(const struct gsd_memcache *mc, size_t i);

/* Bytes the cache holds on the heap (records, lists, indexes, the decode
 * buffer), not counting the allocator's own overhead. */
size_t gsd_memcache_bytes(const struct gsd_memcache *mc);
/* Adverts decoded since gsd_memcache_new() (tests, bench). */
uint64_t gsd_memcache_decodes(const struct gsd_memcache *mc);

#endif
