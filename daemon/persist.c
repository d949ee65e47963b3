/*
 * daemon/persist.c - the members file: who we knew, for the next start.
 *
 * Alive and suspect members that have been reachable (answered a probe:
 * admission, docs/protocol.md) -- their signed adverts and gossip
 * addresses -- are written to <state_dir>/members after membership changes, debounced:
 * rewriting every member costs O(N), so a large cluster in a join storm
 * writes less often (20 ms per member, clamped to 5..60 s).  The file is a
 * cache: atomic (rename) but not fsync'd (state.c).  At startup the saved
 * members are imported into the core before the first reconcile, so a
 * restarted daemon re-applies its WireGuard peers without waiting for
 * gossip: they are vouched for as reachable (gsm_swim_vouch), which is what
 * they were when saved.  A member that never answered a probe is never
 * saved, so a flood of minted identities does not survive a restart (a
 * file from an older version may hold such members: those without a
 * gossip address are imported unvouched and reaped by the core).  Adverts
 * carry their signatures, so a tampered file can only drop members, not
 * invent them.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "daemon/daemon_int.h"
#include "daemon/log.h"
#include "gossip/crypto.h"

#define PERSIST_DEBOUNCE_MS 5000

struct persist_ctx {
	struct gsd_saved_member *v;
	size_t n, cap;
};

static int collect_persist(void *arg, const struct gsm_swim_member *m)
{
	struct persist_ctx *p = arg;
	/* alive and suspect only: importing a dead member as alive after a
	 * restart would briefly re-add its WireGuard peer; reachable only:
	 * admission */
	if (m->is_self || !m->advert || !m->reachable ||
	    (m->state != GSM_STATE_ALIVE && m->state != GSM_STATE_SUSPECT))
		return 0;
	if (gsc_grow(&p->v, &p->cap, p->n + 1, sizeof(*p->v)) < 0)
		return -ENOMEM;
	struct gsd_saved_member *s = &p->v[p->n];
	s->advert = malloc(m->advert_len);
	if (!s->advert)
		return -ENOMEM;
	memcpy(s->advert, m->advert, m->advert_len);
	s->advert_len = m->advert_len;
	s->gossip_addr = m->addr;
	s->state = m->state;
	p->n++;
	return 0;
}

void gsd_persist_now(struct gsd_daemon *d)
{
	if (!d->swim)
		return;
	gsd_authority_persist(d); /* the revocations file, when behind */
	struct persist_ctx p = {0};
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", d->cfg.state_dir, GSD_MEMBERS_FILE);
	if (gsm_swim_foreach(d->swim, collect_persist, &p) == 0) {
		int r = gsd_members_save(path, p.v, p.n);
		if (r < 0)
			gsd_warn("cannot save members to %s: %s", path, strerror(-r));
		else
			gsd_debug("saved %zu members", p.n);
	}
	gsd_members_free(p.v, p.n);
}

static void on_persist(uv_timer_t *t)
{
	gsd_persist_now(t->data);
}

void gsd_schedule_persist(struct gsd_daemon *d)
{
	if (d->stopping || uv_is_active((uv_handle_t *)&d->persist_timer))
		return;
	/* rewriting every member costs O(N): in a big cluster during a join
	 * storm, write less often (20 ms per member, 5..60 s) */
	uint64_t ms = (uint64_t)gsm_swim_member_count(d->swim) * 20;
	if (ms < PERSIST_DEBOUNCE_MS)
		ms = PERSIST_DEBOUNCE_MS;
	if (ms > 60000)
		ms = 60000;
	uv_timer_start(&d->persist_timer, on_persist, ms, 0);
}

void gsd_import_members(struct gsd_daemon *d)
{
	char path[PATH_MAX + 32];
	struct gsd_saved_member *v = NULL;
	size_t n = 0, skipped = 0, ok = 0;
	snprintf(path, sizeof(path), "%s/%s", d->cfg.state_dir, GSD_MEMBERS_FILE);
	int r = gsd_members_load(path, &v, &n, &skipped);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		gsd_warn("cannot read %s: %s", path, strerror(-r));
		return;
	}
	const uint8_t *self = gsm_identity_public(d->keys.identity);
	for (size_t i = 0; i < n; i++) {
		uint8_t id[GSM_ID_LEN];
		uint64_t g, ver;
		if (gsm_advert_peek(v[i].advert, v[i].advert_len, id, &g, &ver) < 0 ||
		    !memcmp(id, self, GSM_ID_LEN)) {
			skipped++;
			continue;
		}
		if (gsm_swim_import(d->swim, v[i].advert, v[i].advert_len,
				    v[i].gossip_addr.family ? &v[i].gossip_addr : NULL) < 0) {
			skipped++;
			continue;
		}
		if (v[i].gossip_addr.family)
			(void)gsm_swim_vouch(d->swim, id); /* reachable when saved */
		ok++;
	}
	gsd_members_free(v, n);
	gsd_info("restored %zu members from %s%s", ok, path,
		 skipped ? " (some entries skipped)" : "");
}
