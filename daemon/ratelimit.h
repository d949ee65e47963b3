/* daemon/ratelimit.h - a bounded "one report per key per window" limiter.
 *
 * Pure: no clock, no allocation after creation; the caller passes the time
 * in milliseconds.  A key is (source address, reason).  The table has a
 * fixed number of slots; a key not in the table takes a free slot or, when
 * the table is full, the slot whose last report is oldest (its suppressed
 * count is lost).  So a flood from many sources cannot grow memory. */
#ifndef GSD_RATELIMIT_H
#define GSD_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "gossip/wire.h"

#define GSD_RATELIMIT_SLOTS 256

struct gsd_ratelimit_slot {
	struct gsm_addr addr;
	int reason;
	bool used;
	uint64_t last_ms;    /* when the key was last reported */
	uint64_t suppressed; /* events refused since then */
};

struct gsd_ratelimit {
	uint64_t window_ms;
	struct gsd_ratelimit_slot slots[GSD_RATELIMIT_SLOTS];
};

/* Reset with an empty table; window_ms: minimum time between two reports
 * of one key. */
void gsd_ratelimit_init(struct gsd_ratelimit *rl, uint64_t window_ms);

/* One event for (addr, reason) at now_ms.  Returns true when the caller
 * should report it; then *suppressed (may be NULL) gets the number of
 * events of that key not reported since its previous report (0 for a new
 * key) and the count restarts.  Returns false (and counts it) otherwise. */
bool gsd_ratelimit_allow(struct gsd_ratelimit *rl, const struct gsm_addr *addr, int reason,
			 uint64_t now_ms, uint64_t *suppressed);

#endif
