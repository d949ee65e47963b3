/*
 * daemon/ratelimit.c - one log line per (source, reason) per window.
 *
 * Refused datagrams can arrive by the thousand (a node with a stale key
 * ring gossips to everyone several times a second), and each deserves a
 * log line only once in a while.  The limiter keeps a small fixed table of
 * recently reported keys; a lookup is a linear scan (256 slots, only on the
 * error path).  When the table is full the least recently reported key is
 * evicted: an attacker spraying from many addresses then costs at most one
 * line per datagram for keys that keep being evicted, never memory.  Time
 * comes from the caller so the limiter is pure and unit-testable.
 */
#include <string.h>

#include "daemon/ratelimit.h"

void gsd_ratelimit_init(struct gsd_ratelimit *rl, uint64_t window_ms)
{
	memset(rl, 0, sizeof(*rl));
	rl->window_ms = window_ms;
}

static bool slot_matches(const struct gsd_ratelimit_slot *s, const struct gsm_addr *addr,
			 int reason)
{
	return s->used && s->reason == reason && s->addr.family == addr->family &&
	       s->addr.port == addr->port && memcmp(s->addr.ip, addr->ip, sizeof(addr->ip)) == 0;
}

/* The slot of the key, else a free slot, else the oldest one. */
static struct gsd_ratelimit_slot *find_slot(struct gsd_ratelimit *rl, const struct gsm_addr *addr,
					    int reason, bool *found)
{
	struct gsd_ratelimit_slot *free_slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < GSD_RATELIMIT_SLOTS; i++) {
		struct gsd_ratelimit_slot *s = &rl->slots[i];
		if (slot_matches(s, addr, reason)) {
			*found = true;
			return s;
		}
		if (!s->used) {
			if (!free_slot)
				free_slot = s;
		} else if (!oldest || s->last_ms < oldest->last_ms) {
			oldest = s;
		}
	}
	*found = false;
	return free_slot ? free_slot : oldest;
}

bool gsd_ratelimit_allow(struct gsd_ratelimit *rl, const struct gsm_addr *addr, int reason,
			 uint64_t now_ms, uint64_t *suppressed)
{
	bool found;
	struct gsd_ratelimit_slot *s = find_slot(rl, addr, reason, &found);
	if (found && now_ms - s->last_ms < rl->window_ms) {
		s->suppressed++;
		return false;
	}
	if (suppressed)
		*suppressed = found ? s->suppressed : 0;
	s->used = true;
	s->addr = *addr;
	s->reason = reason;
	s->last_ms = now_ms;
	s->suppressed = 0;
	return true;
}
