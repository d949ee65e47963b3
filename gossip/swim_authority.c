/*
 * gossip/swim_authority.c - authority mode in the membership core: the
 * authority keys and the mode, the certificate status of every member,
 * the revocation store, and how revocations travel (gossip/cert.h for the
 * certificates, docs/gossip.md "Authority mode" for the behaviour).
 *
 * Statuses.  A member's status is what gsm_cert_chain_check says about
 * the chain in its advert (advert key 13), computed when an advert is
 * accepted and when the keys change, never on a timer: that is the only
 * place signatures of certificates are verified.  What a later event
 * needs is kept per member: the earliest not_after of the chain (expiry),
 * the leaf's not_before (a NOT_YET chain is checked again then), and the
 * leaf serial and the JOIN certificate's serial and subject (the leaf's
 * subject is the member id), so a new revocation is matched against every
 * member with integer and id comparisons and nothing is verified again.
 *
 * Enforcement.  OFF computes statuses (when keys are set) and enforces
 * nothing.  REQUIRE refuses an advert whose chain is not VALID: a new
 * member is not admitted, a known one keeps its previous advert.  WARN
 * accepts everything but REVOKED.  In both, a member that becomes
 * REVOKED is DEAD here at once (nothing is gossiped: every node learns
 * the revocation and decides for itself), and updates about it are
 * ignored, so neither a refutation nor a new life announced by an update
 * revives it; only an advert whose chain is not REVOKED (REQUIRE: VALID)
 * does.  Refusals are counted and logged, at most one line a second.
 *
 * Time.  Certificates are judged by env.wall_ms / 1000.  One deadline
 * (next_cert_check, env time) covers every chain that expires or becomes
 * valid and every revocation that may be dropped; the sweep is O(N + R)
 * and runs at that deadline, at the latest every CERT_RECHECK_MS (a wall
 * clock may jump).
 *
 * Store.  Revocations are kept as signed bytes, at most GSM_MAX_REVOCATIONS,
 * sorted by id (gsm_revocation_id) with two more sorted arrays by serial
 * and by subject: the chain check's "is this certificate revoked"
 * callback is two binary searches.  A received revocation is looked up by
 * id first, so a duplicate costs a hash and no signature check; a new one
 * is verified against the configured authorities before it is held or
 * relayed, and one that fails is counted and dropped.  Without keys
 * nothing is accepted or relayed.
 *
 * Dissemination.  A new revocation (from gossip, sync or the API) takes a
 * slot in its own broadcast queue and is piggybacked like an advert,
 * ceil(lambda * log10(N+1)) times, ahead of updates and adverts (it is
 * small and rare and it is bad news).  Anti-entropy compares a hash over
 * the sorted ids (wire key 17, sent only by nodes with keys, so a cluster
 * without authority sends no extra byte); on a difference each side sends
 * all it holds, in pages of at most GSM_MAX_REVOCATIONS_MSG within the
 * MTU and the reply budget, starting at a random place so that a cut tail
 * is not always the same.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/array.h"
#include "gossip/swim_int.h"

_Static_assert(GSM_WIRE_REVOCATION_MAX == GSM_REVOCATION_MAX, "one revocation bound");

#define CERT_RECHECK_MS 60000u /* the sweep runs at least this often */
#define CERT_LOG_MS	1000u  /* one refusal line a second */

static uint64_t wall_s(const struct gsm_swim *s)
{
	return s->env.wall_ms ? s->env.wall_ms(s->env.ctx) / 1000u : 0;
}

/* ------------------------------------------------------------------ */
/* the store                                                           */

struct id_key {
	const struct gsm_swim *s;
	const uint8_t *id;
};

static int id_at(const void *ctx, size_t i)
{
	const struct id_key *k = ctx;

	return memcmp(k->id, k->s->revs[i]->id, 16);
}

/* Position of id in s->revs (*found) or where it goes. */
static size_t rev_pos(const struct gsm_swim *s, const uint8_t id[16], int *found)
{
	struct id_key k = {s, id};
	bool f;
	size_t p = gsc_lower_bound(s->n_revs, id_at, &k, &f);

	*found = f;
	return p;
}

static int key_cmp(const struct rev *r, int by_subject, uint64_t serial, const uint8_t *subject)
{
	if (by_subject)
		return memcmp(r->subject, subject, GSM_ID_LEN);
	return r->serial < serial ? -1 : r->serial > serial;
}

struct index_key {
	struct rev **ix;
	int by_subject;
	uint64_t serial;
	const uint8_t *subject;
};

static int index_at(const void *ctx, size_t i)
{
	const struct index_key *k = ctx;

	return -key_cmp(k->ix[i], k->by_subject, k->serial, k->subject);
}

/* First position in an index whose key is >= the given one. */
static size_t index_lower(struct rev **ix, size_t n, int by_subject, uint64_t serial,
			  const uint8_t *subject)
{
	struct index_key k = {ix, by_subject, serial, subject};

	return gsc_lower_bound(n, index_at, &k, NULL);
}

static int index_has(struct rev **ix, size_t n, int by_subject, uint64_t serial,
		     const uint8_t *subject)
{
	size_t p = index_lower(ix, n, by_subject, serial, subject);

	return p < n && key_cmp(ix[p], by_subject, serial, subject) == 0;
}

static void index_insert(struct rev **ix, size_t *n, struct rev *r, int by_subject)
{
	size_t p = index_lower(ix, *n, by_subject, r->serial, r->subject);

	memmove(&ix[p + 1], &ix[p], (*n - p) * sizeof(*ix));
	ix[p] = r;
	(*n)++;
}

static void index_remove(struct rev **ix, size_t *n, const struct rev *r)
{
	for (size_t i = 0; i < *n; i++) {
		if (ix[i] == r) {
			memmove(&ix[i], &ix[i + 1], (*n - i - 1) * sizeof(*ix));
			(*n)--;
			return;
		}
	}
}

/* The chain check's callback: a certificate covered by a held revocation. */
static bool cert_revoked(void *ctx, const struct gsm_cert *c)
{
	const struct gsm_swim *s = ctx;

	return index_has(s->rev_serial, s->n_rev_serial, 0, c->serial, NULL) ||
	       index_has(s->rev_subject, s->n_rev_subject, 1, 0, c->subject);
}

static void rev_free(struct gsm_swim *s, struct rev *r)
{
	gsm__q_remove(&s->rqueue, &r->q);
	gsm__mem_free(s, r->bytes, r->len);
	gsm__mem_free(s, r, sizeof(*r));
}

static void rev_remove_at(struct gsm_swim *s, size_t pos)
{
	struct rev *r = s->revs[pos];

	memmove(&s->revs[pos], &s->revs[pos + 1], (s->n_revs - pos - 1) * sizeof(*s->revs));
	s->n_revs--;
	if (r->has_serial)
		index_remove(s->rev_serial, &s->n_rev_serial, r);
	if (r->has_subject)
		index_remove(s->rev_subject, &s->n_rev_subject, r);
	rev_free(s, r);
	s->rev_hash_ok = 0;
}

/* Hold a verified revocation at pos: 0, -ENOSPC, -ENOMEM. */
static int rev_insert(struct gsm_swim *s, size_t pos, const uint8_t id[16], const uint8_t *bytes,
		      size_t len, const struct gsm_revocation *rv, struct rev **out)
{
	size_t need = s->n_revs + 1;
	struct rev *r;

	if (s->n_revs >= GSM_MAX_REVOCATIONS)
		return -ENOSPC;
	if (gsm__grow(s, &s->revs, &s->cap_revs, need, sizeof(*s->revs)) ||
	    gsm__grow(s, &s->rev_serial, &s->cap_rev_serial, need, sizeof(*s->rev_serial)) ||
	    gsm__grow(s, &s->rev_subject, &s->cap_rev_subject, need, sizeof(*s->rev_subject)))
		return -ENOMEM;
	r = gsm__mem_alloc(s, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->bytes = gsm__mem_alloc(s, len);
	if (!r->bytes) {
		gsm__mem_free(s, r, sizeof(*r));
		return -ENOMEM;
	}
	memcpy(r->bytes, bytes, len);
	r->len = (uint16_t)len;
	memcpy(r->id, id, 16);
	r->has_serial = rv->has_serial;
	r->has_subject = rv->has_subject;
	r->serial = rv->serial;
	memcpy(r->subject, rv->subject, GSM_ID_LEN);
	memcpy(r->issuer, rv->issuer, GSM_ID_LEN);
	r->expires_s = rv->expires;
	memmove(&s->revs[pos + 1], &s->revs[pos], (s->n_revs - pos) * sizeof(*s->revs));
	s->revs[pos] = r;
	s->n_revs++;
	if (r->has_serial)
		index_insert(s->rev_serial, &s->n_rev_serial, r, 0);
	if (r->has_subject)
		index_insert(s->rev_subject, &s->n_rev_subject, r, 1);
	s->rev_hash_ok = 0;
	*out = r;
	return 0;
}

void gsm__auth_free(struct gsm_swim *s)
{
	for (size_t i = 0; i < s->n_revs; i++)
		rev_free(s, s->revs[i]);
	free(s->revs);
	free(s->rev_serial);
	free(s->rev_subject);
	free(s->adv_scratch);
	s->revs = s->rev_serial = s->rev_subject = NULL;
	s->n_revs = s->n_rev_serial = s->n_rev_subject = 0;
	s->adv_scratch = NULL;
}

/* ------------------------------------------------------------------ */
/* certificate statuses                                                */

/* The sweep must run by wall time t_s (s since the epoch). */
static void cert_due(struct gsm_swim *s, uint64_t t_s)
{
	uint64_t now = now_ms(s), wall = s->env.wall_ms ? s->env.wall_ms(s->env.ctx) : 0;
	uint64_t at = t_s * 1000u > wall ? now + (t_s * 1000u - wall) : now;

	if (at < s->next_cert_check)
		s->next_cert_check = at;
}

/* A wall time the member's status changes at without a new advert. */
static int cert_next_change(const struct member *m, uint64_t *t_s)
{
	if (!m->cert_decoded)
		return 0;
	if (m->cert_status == GSM_CERT_VALID)
		*t_s = m->cert_expires_s; /* valid while now < not_after */
	else if (m->cert_status == GSM_CERT_NOT_YET)
		*t_s = m->cert_not_before_s;
	else
		return 0;
	return 1;
}

/* Check the chain of a decoded advert: the fields into out. */
static void chain_eval(struct gsm_swim *s, const struct gsm_advert *a, struct member *out,
		       char *why, size_t why_cap)
{
	struct gsm_cert_verifier v = {
	    .authorities = (const uint8_t(*)[GSM_ID_LEN])s->auth_keys,
	    .n_authorities = s->n_auth,
	    .now_s = wall_s(s),
	    .revoked = cert_revoked,
	    .revoked_ctx = s,
	};
	struct gsm_bytes certs[GSM_CERT_CHAIN_MAX + 1];
	struct gsm_cert_info *info = calloc(1, sizeof(*info));
	size_t n = a->n_certs;

	out->cert_status = GSM_CERT_INVALID;
	out->cert_decoded = 0;
	if (!info) {
		snprintf(why, why_cap, "out of memory");
		return;
	}
	if (n > GSM_CERT_CHAIN_MAX + 1)
		n = GSM_CERT_CHAIN_MAX + 1;
	for (size_t i = 0; i < n; i++) {
		certs[i].ptr = a->certs[i];
		certs[i].len = a->cert_len[i];
	}
	gsm_cert_chain_check(&v, a->node_id, a->name, certs, n, info, why, why_cap);
	out->cert_status = (uint8_t)info->status;
	if (info->status != GSM_CERT_NONE && info->status != GSM_CERT_INVALID) {
		out->cert_decoded = 1;
		out->cert_serial = info->leaf.serial;
		out->cert_roles = info->leaf.roles;
		out->cert_ephemeral = !!(info->leaf.flags & GSM_CERT_F_EPHEMERAL);
		out->cert_expires_s = info->expires_s;
		out->cert_not_before_s = info->leaf.not_before;
		out->cert_has_join = info->has_join;
		out->join_serial = info->join_serial;
		memcpy(out->join_subject, info->join_subject, GSM_ID_LEN);
	}
	free(info);
}

/* Decode a signed advert into the scratch and check its chain. */
static int advert_eval(struct gsm_swim *s, const uint8_t *adv, size_t len, struct member *out,
		       char *why, size_t why_cap)
{
	int r;

	if (!s->adv_scratch && !(s->adv_scratch = malloc(sizeof(*s->adv_scratch))))
		return -ENOMEM;
	r = gsm_advert_decode(adv, len, s->adv_scratch);
	if (r < 0)
		return r;
	chain_eval(s, s->adv_scratch, out, why, why_cap);
	return 0;
}

static void cert_fields_copy(struct member *m, const struct member *f)
{
	m->cert_status = f->cert_status;
	m->cert_decoded = f->cert_decoded;
	m->cert_ephemeral = f->cert_decoded ? f->cert_ephemeral : 0;
	m->cert_has_join = f->cert_decoded ? f->cert_has_join : 0;
	m->cert_roles = f->cert_decoded ? f->cert_roles : 0;
	m->cert_serial = f->cert_decoded ? f->cert_serial : 0;
	m->cert_expires_s = f->cert_decoded ? f->cert_expires_s : 0;
	m->cert_not_before_s = f->cert_decoded ? f->cert_not_before_s : 0;
	m->join_serial = f->cert_decoded ? f->join_serial : 0;
	memcpy(m->join_subject, f->join_subject, GSM_ID_LEN);
}

/* Whether the mode refuses an advert whose chain has status st. */
static int mode_refuses(const struct gsm_swim *s, uint8_t st)
{
	if (s->auth_mode == GSM_AUTHORITY_REQUIRE)
		return st != GSM_CERT_VALID;
	if (s->auth_mode == GSM_AUTHORITY_WARN)
		return st == GSM_CERT_REVOKED;
	return 0;
}

/* One refusal line a second (the others counted in the next line). */
static void refusal_log(struct gsm_swim *s, const uint8_t *id, const char *name, uint8_t st,
			const char *why)
{
	uint64_t now = now_ms(s);
	char hex[17];

	if (s->cert_log_ms && now - s->cert_log_ms < CERT_LOG_MS) {
		s->cert_log_dropped++;
		return;
	}
	s->cert_log_ms = now ? now : 1;
	sodium_bin2hex(hex, sizeof(hex), id, 8);
	gsm__log(s, GSM_LOG_WARN, "advert of %s (%s) refused: certificate %s%s%s (%u more refused)",
		 name && *name ? name : "-", hex, gsm_cert_status_name((enum gsm_cert_status)st),
		 why && *why ? ": " : "", why ? why : "", s->cert_log_dropped);
	s->cert_log_dropped = 0;
}

int gsm__cert_admit(struct gsm_swim *s, const uint8_t *adv, size_t len, struct member *tmp)
{
	char why[128] = "";
	int r;

	memset(tmp, 0, sizeof(*tmp));
	if (!gsm__auth_on(s))
		return 0;
	r = advert_eval(s, adv, len, tmp, why, sizeof(why));
	if (r < 0)
		return r;
	if (!memcmp(s->adv_scratch->node_id, s->self_id, GSM_ID_LEN))
		return 0; /* our own: never refused */
	if (!mode_refuses(s, tmp->cert_status))
		return 0;
	s->st.certs_refused++;
	refusal_log(s, s->adv_scratch->node_id, s->adv_scratch->name, tmp->cert_status, why);
	return -EKEYEXPIRED;
}

/* m is covered by a revocation (WARN/REQUIRE): DEAD here, nothing gossiped. */
static void revoke_member(struct gsm_swim *s, struct member *m)
{
	uint8_t old = m->state;

	if (m->is_self || s->auth_mode == GSM_AUTHORITY_OFF)
		return;
	if (old == GSM_STATE_DEAD || old == GSM_STATE_LEFT)
		return;
	gsm__set_state(s, m, GSM_STATE_DEAD);
	gsm__q_remove(&s->uqueue, &m->uq);
	gsm__q_remove(&s->aqueue, &m->aq);
	if (m->advert)
		gsm__emit(s, GSM_SWIM_EV_DEAD, m);
}

/* m's status changed from old: the event, the consequences. */
static void status_changed(struct gsm_swim *s, struct member *m, uint8_t old)
{
	if (m->cert_status == old)
		return;
	if (old == GSM_CERT_VALID && m->cert_status == GSM_CERT_EXPIRED)
		s->st.certs_expired++;
	gsm__emit(s, GSM_SWIM_EV_CERT, m);
	if (m->cert_status == GSM_CERT_REVOKED)
		revoke_member(s, m);
}

void gsm__cert_commit(struct gsm_swim *s, struct member *m, const struct member *tmp, int first)
{
	uint8_t old = m->cert_status;
	uint64_t t;

	if (!gsm__auth_on(s))
		return;
	cert_fields_copy(m, tmp);
	if (cert_next_change(m, &t))
		cert_due(s, t);
	if (old == GSM_CERT_REVOKED && m->cert_status != GSM_CERT_REVOKED &&
	    m->state == GSM_STATE_DEAD && !m->is_self) {
		/* a new advert that is not revoked revives it */
		gsm__set_state(s, m, GSM_STATE_ALIVE);
		gsm__enqueue(&s->uqueue, &m->uq);
		if (!first)
			gsm__emit(s, GSM_SWIM_EV_ALIVE, m);
	}
	if (!first)
		status_changed(s, m, old);
	else if (m->cert_status == GSM_CERT_REVOKED)
		revoke_member(s, m); /* OFF accepts it; revoke_member ignores it then */
}

int gsm__cert_blocks_update(const struct gsm_swim *s, const struct member *m)
{
	return m->cert_status == GSM_CERT_REVOKED && s->auth_mode != GSM_AUTHORITY_OFF &&
	       gsm__auth_on(s);
}

/* Re-check m's chain from its advert (keys changed, or NOT_YET due). */
static void member_recheck(struct gsm_swim *s, struct member *m)
{
	struct member tmp;
	uint8_t old = m->cert_status;
	char why[8];

	memset(&tmp, 0, sizeof(tmp));
	if (!gsm__auth_on(s) || !m->advert) {
		tmp.cert_status = GSM_CERT_NONE;
	} else if (advert_eval(s, m->advert, m->advert_len, &tmp, why, sizeof(why)) < 0) {
		tmp.cert_status = GSM_CERT_INVALID;
	}
	cert_fields_copy(m, &tmp);
	status_changed(s, m, old);
}

/* Whether the held revocation r covers m's chain (no signature check). */
static int rev_covers(const struct rev *r, const struct member *m)
{
	if (!m->cert_decoded)
		return 0;
	if (r->has_serial &&
	    (r->serial == m->cert_serial || (m->cert_has_join && r->serial == m->join_serial)))
		return 1;
	if (r->has_subject &&
	    (!memcmp(r->subject, m->id, GSM_ID_LEN) ||
	     (m->cert_has_join && !memcmp(r->subject, m->join_subject, GSM_ID_LEN))))
		return 1;
	return 0;
}

/* A new revocation: every member it covers becomes REVOKED. */
static void rev_apply(struct gsm_swim *s, const struct rev *r)
{
	for (size_t i = 0; i < s->n_mem; i++) {
		struct member *m = s->mem[i];
		uint8_t old = m->cert_status;

		if (old == GSM_CERT_REVOKED || !rev_covers(r, m))
			continue;
		m->cert_status = GSM_CERT_REVOKED;
		status_changed(s, m, old);
	}
}

void gsm__cert_timer(struct gsm_swim *s, uint64_t now)
{
	uint64_t ws = wall_s(s), t;

	s->next_cert_check = now + CERT_RECHECK_MS;
	for (size_t i = 0; i < s->n_revs;) {
		if (s->revs[i]->expires_s < ws)
			rev_remove_at(s, i);
		else
			i++;
	}
	for (size_t i = 0; i < s->n_revs; i++)
		cert_due(s, s->revs[i]->expires_s + 1);
	for (size_t i = 0; i < s->n_mem; i++) {
		struct member *m = s->mem[i];
		uint8_t old = m->cert_status;

		if (!cert_next_change(m, &t))
			continue;
		if (t > ws) {
			cert_due(s, t);
			continue;
		}
		if (old == GSM_CERT_VALID) {
			m->cert_status = GSM_CERT_EXPIRED;
			status_changed(s, m, old);
		} else {
			member_recheck(s, m); /* NOT_YET: may be valid now */
			if (cert_next_change(m, &t) && t > ws)
				cert_due(s, t);
		}
	}
}

uint64_t gsm__cert_deadline(const struct gsm_swim *s)
{
	return gsm__auth_on(s) ? s->next_cert_check : UINT64_MAX;
}

/* ------------------------------------------------------------------ */
/* API                                                                 */

/* Keys changed: drop the revocations of authorities no longer configured
 * (none are kept without keys). */
static void rev_prune(struct gsm_swim *s)
{
	for (size_t i = 0; i < s->n_revs;) {
		int known = 0;

		for (size_t k = 0; k < s->n_auth && !known; k++)
			known = !memcmp(s->revs[i]->issuer, s->auth_keys[k], GSM_ID_LEN);
		if (known)
			i++;
		else
			rev_remove_at(s, i);
	}
}

int gsm_swim_set_authority(struct gsm_swim *s, enum gsm_authority_mode mode,
			   const uint8_t (*keys)[GSM_ID_LEN], size_t n)
{
	if (!s || (n && !keys) || n > GSM_MAX_AUTHORITIES)
		return -EINVAL;
	if (mode != GSM_AUTHORITY_OFF && mode != GSM_AUTHORITY_WARN &&
	    mode != GSM_AUTHORITY_REQUIRE)
		return -EINVAL;
	if (mode != GSM_AUTHORITY_OFF && n == 0)
		return -EINVAL;
	s->auth_mode = (uint8_t)mode;
	s->n_auth = (uint8_t)n;
	if (n)
		memcpy(s->auth_keys, keys, n * GSM_ID_LEN);
	rev_prune(s);
	s->next_cert_check = now_ms(s) + CERT_RECHECK_MS;
	for (size_t i = 0; i < s->n_mem; i++)
		member_recheck(s, s->mem[i]);
	for (size_t i = 0; i < s->n_mem; i++) {
		uint64_t t;

		if (cert_next_change(s->mem[i], &t))
			cert_due(s, t);
	}
	return 0;
}

/* Verify and hold a signed revocation: 0 new (*out), -EEXIST held, or
 * the refusal (not counted here). */
static int rev_accept(struct gsm_swim *s, const uint8_t *bytes, size_t len, struct rev **out)
{
	struct gsm_revocation rv;
	uint8_t id[16];
	size_t pos;
	int found, r;

	if (!gsm__auth_on(s))
		return -EKEYREJECTED;
	if (!bytes || len == 0 || len > GSM_REVOCATION_MAX)
		return -EBADMSG;
	gsm_revocation_id(bytes, len, id);
	pos = rev_pos(s, id, &found);
	if (found)
		return -EEXIST;
	r = gsm_revocation_verify(bytes, len, (const uint8_t(*)[GSM_ID_LEN])s->auth_keys, s->n_auth,
				  &rv);
	if (r < 0)
		return r == -EKEYREJECTED ? r : -EBADMSG;
	if (rv.expires < wall_s(s))
		return -ESTALE;
	return rev_insert(s, pos, id, bytes, len, &rv, out);
}

/* A revocation was taken: cover members, gossip it, tell the daemon. */
static void rev_taken(struct gsm_swim *s, struct rev *r)
{
	struct gsm_swim_event ev;

	rev_apply(s, r);
	gsm__enqueue(&s->rqueue, &r->q);
	cert_due(s, r->expires_s + 1);
	if (s->env.event) {
		memset(&ev, 0, sizeof(ev));
		ev.type = GSM_SWIM_EV_REVOCATION;
		ev.revocation = r->bytes;
		ev.revocation_len = r->len;
		s->env.event(s->env.ctx, &ev);
	}
}

int gsm_swim_add_revocation(struct gsm_swim *s, const uint8_t *rev, size_t len)
{
	struct rev *r;
	int rc;

	if (!s)
		return -EINVAL;
	rc = rev_accept(s, rev, len, &r);
	if (rc < 0)
		return rc;
	rev_taken(s, r);
	return 0;
}

void gsm_swim_foreach_revocation(const struct gsm_swim *s,
				 void (*fn)(void *ctx, const uint8_t *rev, size_t len), void *ctx)
{
	if (!s || !fn)
		return;
	for (size_t i = 0; i < s->n_revs; i++)
		fn(ctx, s->revs[i]->bytes, s->revs[i]->len);
}

size_t gsm_swim_revocation_count(const struct gsm_swim *s)
{
	return s ? s->n_revs : 0;
}

/* ------------------------------------------------------------------ */
/* dissemination and sync                                              */

void gsm__process_revocations(struct gsm_swim *s, const struct gsm_msg *m)
{
	if (!gsm__auth_on(s))
		return; /* neither accepted nor relayed */
	for (uint16_t i = 0; i < m->n_revocations; i++) {
		struct rev *r;
		int rc = rev_accept(s, m->revocations[i].ptr, m->revocations[i].len, &r);

		if (rc == 0) {
			rev_taken(s, r);
		} else if (rc == -EKEYREJECTED || rc == -EBADMSG || rc == -ESTALE) {
			s->st.revocations_refused++;
			gsm__log(s, GSM_LOG_DEBUG, "revocation refused: %s", gsm_strerror(rc));
		}
	}
}

size_t gsm__pack_revocations(struct gsm_swim *s, struct gsm_msg *m, size_t room)
{
	struct qitem *sel[GSM_MAX_REVOCATIONS_MSG];
	size_t used = 0, n = 0;

	for (int b = 0; b < MAX_BUCKETS && s->rqueue.count; b++) {
		for (struct qitem *it = s->rqueue.head[b]; it; it = it->next) {
			struct rev *r = qitem_rev(it);
			size_t sz = gsm_revocation_ref_encoded_size(r->len);

			if (m->n_revocations >= GSM_MAX_REVOCATIONS_MSG)
				goto done;
			if (used + sz > room)
				continue;
			m->revocations[m->n_revocations].ptr = r->bytes;
			m->revocations[m->n_revocations].len = r->len;
			m->n_revocations++;
			sel[n++] = it;
			used += sz;
		}
	}
done:
	for (size_t i = 0; i < n; i++)
		gsm__q_sent(s, &s->rqueue, sel[i]);
	return used;
}

static void rev_hash(struct gsm_swim *s)
{
	crypto_generichash_state st;

	if (s->rev_hash_ok)
		return;
	crypto_generichash_init(&st, (const uint8_t *)"gossamer-rev-hash-v1", 20, GSM_REV_HASH_LEN);
	for (size_t i = 0; i < s->n_revs; i++)
		crypto_generichash_update(&st, s->revs[i]->id, 16);
	crypto_generichash_final(&st, s->rev_hash, GSM_REV_HASH_LEN);
	s->rev_hash_ok = 1;
}

void gsm__put_rev_hash(struct gsm_swim *s, struct gsm_msg *m)
{
	if (!gsm__auth_on(s))
		return; /* no extra byte without authority */
	rev_hash(s);
	memcpy(m->rev_hash, s->rev_hash, GSM_REV_HASH_LEN);
	m->has_rev_hash = 1;
}

void gsm__sync_revocations(struct gsm_swim *s, const struct gsm_msg *m, const struct gsm_addr *to)
{
	size_t start, k = 0;

	if (!gsm__auth_on(s) || !m->has_rev_hash || !s->n_revs)
		return;
	rev_hash(s);
	if (!memcmp(m->rev_hash, s->rev_hash, GSM_REV_HASH_LEN))
		return;
	start = rnd_below(s, s->n_revs);
	while (k < s->n_revs) {
		struct txbuf *tb = gsm__msg_new(s, GSM_MSG_SYNC_RESPONSE);
		size_t cap = gsm__reply_body(s, body_cap(s)), used;

		if (!tb)
			return;
		if (cap < PACK_SLACK) {
			gsm__reply_take(s, SIZE_MAX); /* counted as capped */
			gsm__msg_done(s, tb);
			return;
		}
		cap -= PACK_SLACK;
		used = gsm_msg_encoded_size(&tb->m);
		while (k < s->n_revs && tb->m.n_revocations < GSM_MAX_REVOCATIONS_MSG) {
			const struct rev *r = s->revs[(start + k) % s->n_revs];
			size_t sz = gsm_revocation_ref_encoded_size(r->len);

			if (used + sz > cap)
				break;
			tb->m.revocations[tb->m.n_revocations].ptr = r->bytes;
			tb->m.revocations[tb->m.n_revocations].len = r->len;
			tb->m.n_revocations++;
			used += sz;
			k++;
		}
		if (!tb->m.n_revocations) {
			gsm__msg_done(s, tb);
			return;
		}
		gsm__send(s, to, tb);
		gsm__msg_done(s, tb);
	}
}
