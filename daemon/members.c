/*
 * daemon/members.c - the member cache (see members.h).
 *
 * What.  One record per member of the gossip core: the membership fields of
 * the core's view plus the decoded advert, with the advert's lists (labels,
 * endpoints, overlay addresses, prefixes and the label strings) packed into
 * one heap block sized to their actual counts.  Two indexes of record
 * pointers: by node id (the core's order, binary search) and by WireGuard
 * key then node id (members with an advert only, so that duplicate keys sit
 * next to each other and the lowest node id comes first).
 *
 * Why this way.  A decoded struct gsm_advert is ~8 KB whatever it holds;
 * a typical record here is a few hundred bytes.  Decoding is the expensive
 * part of refreshing a member, and the core tells us the advert's
 * (generation, version), which changes whenever the signed bytes do, so a
 * record re-decodes only when that pair changes; an advert that failed to
 * decode is not retried until it changes either.  Records are allocated one
 * by one, so the indexes move pointers, not records, when members come and
 * go.
 *
 * Trade-offs.  Keeping the key index sorted costs a memmove per insert or
 * removal; a resync (gsd_memcache_sync_begin/end) instead marks the index
 * stale and sorts it once at the end, so the first sync of N members is
 * O(N log N), and a resync that changes nothing touches no index at all.
 */
#include "common/array.h"
#include "daemon/members.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/policy.h"
#include "gossip/cert.h"

struct rec {
	struct gsd_member pub; /* first: a record pointer is a rec pointer */
	void *blk;	       /* the lists and label strings */
	size_t blk_len;
	uint64_t epoch; /* sync epoch of the last update */
	bool looked;	/* adv_generation/adv_version were looked at */
};

struct gsd_memcache {
	struct rec **by_id;  /* n, sorted by id */
	struct rec **by_key; /* n_key, sorted by (wg_pubkey, id), has_advert only */
	size_t n, n_key, cap;
	bool syncing;	/* between sync_begin and sync_end */
	size_t cursor;	/* syncing: where the next id is expected */
	bool key_stale; /* by_key must be rebuilt (sync_end) */
	uint64_t epoch;
	uint64_t decodes;
	size_t blk_bytes; /* sum of blk_len */
	struct gsm_advert *scratch;
	struct gsm_cert *cert; /* scratch for the leaf certificate */
	int authority_mode;    /* enum gsm_authority_mode */
};

/* ------------------------------------------------------- records */

static size_t labels_text_len(const struct gsm_advert *a)
{
	size_t len = 0;
	for (uint8_t i = 0; i < a->n_labels; i++)
		len += strlen(a->labels[i].key) + 1 + strlen(a->labels[i].value) + 1;
	return len;
}

static char *put_str(char *dst, const char *s)
{
	size_t l = strlen(s) + 1;
	memcpy(dst, s, l);
	return dst + l;
}

/* The lists of a into one new block: labels first (pointer alignment),
 * then endpoints, overlay, prefixes, then the label strings.  *blk NULL
 * when every list is empty.  0 or -ENOMEM. */
static int pack_lists(const struct gsm_advert *a, void **blk, size_t *blk_len)
{
	size_t lab = a->n_labels * sizeof(struct gsd_member_label);
	size_t ep = a->n_endpoints * sizeof(struct gsm_endpoint);
	size_t ov = a->n_overlay * sizeof(struct gsm_prefix);
	size_t pf = a->n_prefixes * sizeof(struct gsm_prefix);
	size_t len = lab + ep + ov + pf + labels_text_len(a);

	_Static_assert(sizeof(struct gsd_member_label) % alignof(struct gsm_endpoint) == 0,
		       "endpoints follow the labels aligned");
	*blk = NULL;
	*blk_len = 0;
	if (!len)
		return 0;
	uint8_t *b = malloc(len);
	if (!b)
		return -ENOMEM;
	struct gsd_member_label *labels = (struct gsd_member_label *)b;
	memcpy(b + lab, a->endpoints, ep);
	memcpy(b + lab + ep, a->overlay, ov);
	memcpy(b + lab + ep + ov, a->prefixes, pf);
	char *text = (char *)b + lab + ep + ov + pf;
	for (uint8_t i = 0; i < a->n_labels; i++) {
		labels[i].key = text;
		text = put_str(text, a->labels[i].key);
		labels[i].value = text;
		text = put_str(text, a->labels[i].value);
	}
	*blk = b;
	*blk_len = len;
	return 0;
}

/* What a's leaf certificate does not allow (members.h: the uncert_
 * masks, daemon/policy.h); c is scratch.  Nothing without a decodable
 * leaf. */
static void cover(struct gsd_member *m, const struct gsm_advert *a, struct gsm_cert *c)
{
	struct gsd_cert_coverage cv = {0};
	m->has_cert = a->n_certs && gsm_cert_decode(a->certs[0], a->cert_len[0], c) == 0;
	m->cert_via_join = m->has_cert && a->n_certs > 1;
	if (m->has_cert)
		gsd_policy_cert_coverage(c, a, &cv);
	m->uncert_overlay = cv.overlay;
	m->uncert_prefixes = cv.prefixes;
	m->uncert_labels = cv.labels;
	m->uncert_flags = cv.flags;
}

/* advert fields of r from a, lists from blk (as laid out by pack_lists) */
static void set_advert(struct rec *r, const struct gsm_advert *a, void *blk, size_t blk_len,
		       struct gsm_cert *cert, int mode)
{
	struct gsd_member *m = &r->pub;
	uint8_t *b = blk;
	size_t lab = a->n_labels * sizeof(struct gsd_member_label);
	size_t ep = a->n_endpoints * sizeof(struct gsm_endpoint);
	size_t ov = a->n_overlay * sizeof(struct gsm_prefix);

	m->has_advert = true;
	memcpy(m->name, a->name, sizeof(m->name));
	memcpy(m->wg_pubkey, a->wg_pubkey, GSM_WGKEY_LEN);
	m->wg_port = a->wg_port;
	m->gossip_port = a->gossip_port;
	m->flags = a->flags;
	m->has_relay_via = a->has_relay_via;
	memcpy(m->relay_via, a->relay_via, GSM_ID_LEN);
	m->n_endpoints = a->n_endpoints;
	m->n_overlay = a->n_overlay;
	m->n_prefixes = a->n_prefixes;
	m->n_labels = a->n_labels;
	m->labels = a->n_labels ? (const struct gsd_member_label *)b : NULL;
	m->endpoints = a->n_endpoints ? (const struct gsm_endpoint *)(b + lab) : NULL;
	m->overlay = a->n_overlay ? (const struct gsm_prefix *)(b + lab + ep) : NULL;
	m->prefixes = a->n_prefixes ? (const struct gsm_prefix *)(b + lab + ep + ov) : NULL;
	cover(m, a, cert);
	if (mode == GSM_AUTHORITY_REQUIRE)
		m->flags &= ~m->uncert_flags;
	r->blk = blk;
	r->blk_len = blk_len;
}

/* back to "no advert": advert fields zeroed, lists freed */
static void clear_advert(struct rec *r)
{
	struct gsd_member *m = &r->pub;
	free(r->blk);
	r->blk = NULL;
	r->blk_len = 0;
	m->has_advert = false;
	memset(m->name, 0, sizeof(m->name));
	memset(m->wg_pubkey, 0, sizeof(m->wg_pubkey));
	m->wg_port = m->gossip_port = 0;
	m->flags = 0;
	m->has_relay_via = false;
	memset(m->relay_via, 0, sizeof(m->relay_via));
	m->n_endpoints = m->n_overlay = m->n_prefixes = m->n_labels = 0;
	m->endpoints = NULL;
	m->overlay = m->prefixes = NULL;
	m->labels = NULL;
	m->has_cert = m->cert_via_join = false;
	m->uncert_overlay = 0;
	m->uncert_prefixes = 0;
	m->uncert_labels = 0;
	m->uncert_flags = 0;
}

struct gsd_member *gsd_member_from_advert(const struct gsm_advert *a)
{
	struct rec *r = calloc(1, sizeof(*r));
	struct gsm_cert *cert = malloc(sizeof(*cert));
	void *blk;
	size_t len;

	if (!r || !cert || pack_lists(a, &blk, &len) < 0) {
		free(r);
		free(cert);
		return NULL;
	}
	set_advert(r, a, blk, len, cert, GSM_AUTHORITY_OFF);
	free(cert);
	memcpy(r->pub.id, a->node_id, GSM_ID_LEN);
	r->pub.adv_generation = a->generation;
	r->pub.adv_version = a->version;
	r->looked = true;
	return &r->pub;
}

static void rec_free(struct rec *r)
{
	if (!r)
		return;
	free(r->blk);
	free(r);
}

void gsd_member_free(struct gsd_member *m)
{
	rec_free((struct rec *)m);
}

/* ------------------------------------------------------- indexes */

static int id_cmp(const uint8_t *id, const struct rec *r)
{
	return memcmp(id, r->pub.id, GSM_ID_LEN);
}

struct id_key {
	const struct gsd_memcache *mc;
	const uint8_t *id;
};

static int id_at(const void *ctx, size_t i)
{
	const struct id_key *k = ctx;
	return id_cmp(k->id, k->mc->by_id[i]);
}

/* position of id in by_id, or where it would go (*found false) */
static size_t id_pos(const struct gsd_memcache *mc, const uint8_t id[GSM_ID_LEN], bool *found)
{
	struct id_key k = {mc, id};
	return gsc_lower_bound(mc->n, id_at, &k, found);
}

static int key_cmp(const uint8_t *key, const uint8_t *id, const struct rec *r)
{
	int c = memcmp(key, r->pub.wg_pubkey, GSM_WGKEY_LEN);
	return c ? c : memcmp(id, r->pub.id, GSM_ID_LEN);
}

struct wgkey_key {
	const struct gsd_memcache *mc;
	const uint8_t *key, *id;
};

static int key_at(const void *ctx, size_t i)
{
	const struct wgkey_key *k = ctx;
	return key_cmp(k->key, k->id, k->mc->by_key[i]);
}

/* first position in by_key not below (key, id) */
static size_t key_lower(const struct gsd_memcache *mc, const uint8_t *key, const uint8_t *id)
{
	struct wgkey_key k = {mc, key, id};
	return gsc_lower_bound(mc->n_key, key_at, &k, NULL);
}

/* by_key has room: cap >= n >= n_key */
static void key_add(struct gsd_memcache *mc, struct rec *r)
{
	if (mc->syncing) {
		mc->key_stale = true;
		return;
	}
	size_t pos = key_lower(mc, r->pub.wg_pubkey, r->pub.id);
	memmove(&mc->by_key[pos + 1], &mc->by_key[pos], (mc->n_key - pos) * sizeof(*mc->by_key));
	mc->by_key[pos] = r;
	mc->n_key++;
}

/* r as it is indexed (its key and id at the time of key_add) */
static void key_del(struct gsd_memcache *mc, const struct rec *r, const uint8_t *key)
{
	if (mc->syncing) {
		mc->key_stale = true;
		return;
	}
	size_t pos = key_lower(mc, key, r->pub.id);
	if (pos >= mc->n_key || mc->by_key[pos] != r)
		return;
	memmove(&mc->by_key[pos], &mc->by_key[pos + 1],
		(mc->n_key - pos - 1) * sizeof(*mc->by_key));
	mc->n_key--;
}

static int key_sort_cmp(const void *x, const void *y)
{
	const struct rec *a = *(struct rec *const *)x, *b = *(struct rec *const *)y;
	return key_cmp(a->pub.wg_pubkey, a->pub.id, b);
}

static void key_rebuild(struct gsd_memcache *mc)
{
	mc->n_key = 0;
	for (size_t i = 0; i < mc->n; i++)
		if (mc->by_id[i]->pub.has_advert)
			mc->by_key[mc->n_key++] = mc->by_id[i];
	qsort(mc->by_key, mc->n_key, sizeof(*mc->by_key), key_sort_cmp);
	mc->key_stale = false;
}

static int grow(struct gsd_memcache *mc)
{
	/* two parallel indexes of one capacity: grow both, then record it
	 * (a failure of the second leaves the first merely larger) */
	size_t cap_id = mc->cap, cap_key = mc->cap;
	if (gsc_grow(&mc->by_id, &cap_id, mc->n + 1, sizeof(*mc->by_id)) < 0 ||
	    gsc_grow(&mc->by_key, &cap_key, mc->n + 1, sizeof(*mc->by_key)) < 0)
		return -ENOMEM;
	mc->cap = cap_id < cap_key ? cap_id : cap_key;
	return 0;
}

/* ------------------------------------------------------- the cache */

struct gsd_memcache *gsd_memcache_new(void)
{
	struct gsd_memcache *mc = calloc(1, sizeof(*mc));
	if (!mc)
		return NULL;
	mc->scratch = malloc(sizeof(*mc->scratch));
	mc->cert = malloc(sizeof(*mc->cert));
	if (!mc->scratch || !mc->cert) {
		free(mc->scratch);
		free(mc->cert);
		free(mc);
		return NULL;
	}
	return mc;
}

void gsd_memcache_free(struct gsd_memcache *mc)
{
	if (!mc)
		return;
	for (size_t i = 0; i < mc->n; i++)
		rec_free(mc->by_id[i]);
	free(mc->by_id);
	free(mc->by_key);
	free(mc->scratch);
	free(mc->cert);
	free(mc);
}

void gsd_memcache_set_authority(struct gsd_memcache *mc, int mode)
{
	if (mc->authority_mode == mode)
		return;
	mc->authority_mode = mode;
	for (size_t i = 0; i < mc->n; i++)
		mc->by_id[i]->looked = false; /* re-decode: flags depend on the mode */
}

static void copy_membership(struct gsd_member *d, const struct gsm_swim_member *m)
{
	memcpy(d->id, m->id, GSM_ID_LEN);
	d->state = m->state;
	d->is_self = m->is_self;
	d->generation = m->generation;
	d->incarnation = m->incarnation;
	d->state_since_ms = m->state_changed_ms;
	d->gossip_addr = m->addr;
	d->reachable = m->reachable;
	d->reachable_since_ms = m->reachable_since_ms;
	d->cert_status = m->cert_status;
	d->cert_expires_s = m->cert_expires_s;
	d->cert_roles = m->cert_roles;
	d->cert_serial = m->cert_serial;
	d->cert_ephemeral = m->cert_ephemeral;
}

/* Bring r's advert fields in line with the view: decode only when the
 * advert's (generation, version) changed.  0 or -ENOMEM (r unchanged). */
static int refresh_advert(struct gsd_memcache *mc, struct rec *r, const struct gsm_swim_member *m)
{
	if (!m->advert) {
		clear_advert(r);
		r->looked = false;
		r->pub.adv_generation = r->pub.adv_version = 0;
		return 0;
	}
	if (r->looked && r->pub.adv_generation == m->advert_generation &&
	    r->pub.adv_version == m->version)
		return 0;
	mc->decodes++;
	void *blk = NULL;
	size_t len = 0;
	bool ok = gsm_advert_decode(m->advert, m->advert_len, mc->scratch) == 0 &&
		  !memcmp(mc->scratch->node_id, m->id, GSM_ID_LEN);
	if (ok && pack_lists(mc->scratch, &blk, &len) < 0)
		return -ENOMEM;
	mc->blk_bytes -= r->blk_len;
	clear_advert(r);
	if (ok)
		set_advert(r, mc->scratch, blk, len, mc->cert, mc->authority_mode);
	mc->blk_bytes += r->blk_len;
	r->looked = true;
	r->pub.adv_generation = m->advert_generation;
	r->pub.adv_version = m->version;
	return 0;
}

static int insert_new(struct gsd_memcache *mc, size_t pos, const struct gsm_swim_member *m)
{
	struct rec *r = calloc(1, sizeof(*r));
	if (!r || grow(mc) < 0) {
		free(r);
		return -ENOMEM;
	}
	copy_membership(&r->pub, m);
	if (refresh_advert(mc, r, m) < 0) {
		free(r);
		return -ENOMEM;
	}
	r->epoch = mc->epoch;
	memmove(&mc->by_id[pos + 1], &mc->by_id[pos], (mc->n - pos) * sizeof(*mc->by_id));
	mc->by_id[pos] = r;
	mc->n++;
	if (r->pub.has_advert)
		key_add(mc, r);
	return 0;
}

/* a resync visits ids in ascending order (gsm_swim_foreach does): try
 * the record after the previous one before searching */
static size_t update_pos(struct gsd_memcache *mc, const uint8_t id[GSM_ID_LEN], bool *found)
{
	size_t pos;
	if (mc->syncing && mc->cursor < mc->n && !id_cmp(id, mc->by_id[mc->cursor])) {
		*found = true;
		pos = mc->cursor;
	} else {
		pos = id_pos(mc, id, found);
	}
	if (mc->syncing)
		mc->cursor = pos + 1;
	return pos;
}

int gsd_memcache_update(struct gsd_memcache *mc, const struct gsm_swim_member *m)
{
	bool found;
	size_t pos = update_pos(mc, m->id, &found);
	if (!found)
		return insert_new(mc, pos, m);

	struct rec *r = mc->by_id[pos];
	bool had = r->pub.has_advert;
	uint8_t old_key[GSM_WGKEY_LEN];
	memcpy(old_key, r->pub.wg_pubkey, GSM_WGKEY_LEN);
	/* the key index is looked up by the old key, so refresh first and
	 * fix the index after */
	int err = refresh_advert(mc, r, m);
	if (err < 0)
		return err;
	copy_membership(&r->pub, m);
	r->epoch = mc->epoch;
	bool has = r->pub.has_advert;
	if (had != has || (has && memcmp(old_key, r->pub.wg_pubkey, GSM_WGKEY_LEN))) {
		if (had)
			key_del(mc, r, old_key);
		if (has)
			key_add(mc, r);
	}
	return 0;
}

/* remove by_id[pos] from both indexes and free it */
static void drop_at(struct gsd_memcache *mc, size_t pos)
{
	struct rec *r = mc->by_id[pos];
	if (r->pub.has_advert)
		key_del(mc, r, r->pub.wg_pubkey);
	memmove(&mc->by_id[pos], &mc->by_id[pos + 1], (mc->n - pos - 1) * sizeof(*mc->by_id));
	mc->n--;
	mc->blk_bytes -= r->blk_len;
	rec_free(r);
}

void gsd_memcache_remove(struct gsd_memcache *mc, const uint8_t id[GSM_ID_LEN])
{
	bool found;
	size_t pos = id_pos(mc, id, &found);
	if (found)
		drop_at(mc, pos);
}

void gsd_memcache_sync_begin(struct gsd_memcache *mc)
{
	mc->epoch++;
	mc->syncing = true;
	mc->cursor = 0;
}

void gsd_memcache_sync_end(struct gsd_memcache *mc)
{
	size_t w = 0;
	for (size_t i = 0; i < mc->n; i++) {
		struct rec *r = mc->by_id[i];
		if (r->epoch == mc->epoch) {
			mc->by_id[w++] = r;
			continue;
		}
		if (r->pub.has_advert)
			mc->key_stale = true;
		mc->blk_bytes -= r->blk_len;
		rec_free(r);
	}
	mc->n = w;
	mc->syncing = false;
	if (mc->key_stale)
		key_rebuild(mc);
}

static int sync_one(void *arg, const struct gsm_swim_member *m)
{
	return gsd_memcache_update(arg, m);
}

int gsd_memcache_sync(struct gsd_memcache *mc, const struct gsm_swim *s)
{
	gsd_memcache_sync_begin(mc);
	int err = gsm_swim_foreach(s, sync_one, mc);
	if (err < 0) {
		/* keep what was not visited: mark everything current */
		for (size_t i = 0; i < mc->n; i++)
			mc->by_id[i]->epoch = mc->epoch;
	}
	gsd_memcache_sync_end(mc);
	return err < 0 ? err : 0;
}

/* ------------------------------------------------------- lookups */

const struct gsd_member *gsd_memcache_find(const struct gsd_memcache *mc,
					   const uint8_t id[GSM_ID_LEN])
{
	bool found;
	size_t pos = id_pos(mc, id, &found);
	return found ? &mc->by_id[pos]->pub : NULL;
}

const struct gsd_member *gsd_memcache_find_wgkey(const struct gsd_memcache *mc,
						 const uint8_t key[GSM_WGKEY_LEN], size_t *n_claims)
{
	static const uint8_t zero_id[GSM_ID_LEN];
	size_t pos = key_lower(mc, key, zero_id), end = pos;
	while (end < mc->n_key && !memcmp(mc->by_key[end]->pub.wg_pubkey, key, GSM_WGKEY_LEN))
		end++;
	if (n_claims)
		*n_claims = end - pos;
	return end > pos ? &mc->by_key[pos]->pub : NULL;
}

size_t gsd_memcache_count(const struct gsd_memcache *mc)
{
	return mc->n;
}

const struct gsd_member *gsd_memcache_at(const struct gsd_memcache *mc, size_t i)
{
	return i < mc->n ? &mc->by_id[i]->pub : NULL;
}

size_t gsd_memcache_bytes(const struct gsd_memcache *mc)
{
	return sizeof(*mc) + sizeof(*mc->scratch) + sizeof(*mc->cert) +
	       2 * mc->cap * sizeof(struct rec *) + mc->n * sizeof(struct rec) + mc->blk_bytes;
}

uint64_t gsd_memcache_decodes(const struct gsd_memcache *mc)
{
	return mc->decodes;
}
