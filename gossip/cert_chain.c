/*
 * gossip/cert_chain.c - what a certificate chain proves and what it
 * grants: the delegation rule (gsm_cert_within), chain verification
 * (gsm_cert_chain_check) and coverage of advert claims (gsm_cert_allows_*).
 *
 * gsm_cert_within is the single definition of "a join key may issue this
 * node certificate": the CLI and the daemon apply it before signing so an
 * over-broad request fails with a reason at the issuer, and every
 * receiver applies it again to every chain, so a join-key holder that
 * signs outside its limits with its own tool gains nothing.  A chain is
 * at most a node certificate and one JOIN certificate signed by a
 * configured authority; anything longer is refused rather than walked,
 * which keeps the trust graph one hop deep and the check bounded.
 *
 * The status has a fixed precedence (INVALID, REVOKED, NOT_YET, EXPIRED):
 * structure and signatures first, because a revocation or a time window
 * of a certificate nobody signed means nothing; revocation before time,
 * because a revoked certificate must never look merely "expired" to an
 * operator deciding whether to renew it.  Times are the receiver's wall
 * clock; a certificate is valid for not_before <= now < not_after.
 */
#include "gossip/cert.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void say(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void say(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (!why || !cap)
		return;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
}

static const char *role_name(uint32_t role)
{
	switch (role) {
	case GSM_ROLE_RELAY:
		return "relay";
	case GSM_ROLE_EXIT:
		return "exit";
	case GSM_ROLE_GATEWAY:
		return "gateway";
	}
	return "unknown";
}

/* ------------------------------------------------------------------ */
/* delegation                                                          */

static bool in_pool(const struct gsm_cert *join, const struct gsm_prefix *p)
{
	for (size_t i = 0; i < join->n_prefixes; i++)
		if (gsm_prefix_contains(&join->prefixes[i], p))
			return true;
	return false;
}

static int within_prefixes(const struct gsm_cert *join, const struct gsm_cert *leaf, char *why,
			   size_t cap)
{
	char s[64];

	for (size_t i = 0; i < leaf->n_prefixes; i++) {
		if (in_pool(join, &leaf->prefixes[i]))
			continue;
		gsm_prefix_format(&leaf->prefixes[i], s, sizeof(s));
		say(why, cap, "prefix %s outside the pool", s);
		return -EPERM;
	}
	if (leaf->has_overlay4 && !in_pool(join, &leaf->overlay4)) {
		gsm_prefix_format(&leaf->overlay4, s, sizeof(s));
		say(why, cap, "overlay %s outside the pool", s);
		return -EPERM;
	}
	return 0;
}

static int within_roles_labels(const struct gsm_cert *join, const struct gsm_cert *leaf, char *why,
			       size_t cap)
{
	uint32_t extra = leaf->roles & ~join->roles;

	if (leaf->roles & GSM_ROLE_EXIT) {
		say(why, cap, "role exit cannot be delegated");
		return -EPERM;
	}
	if (extra) {
		say(why, cap, "role %s not granted by the join key", role_name(extra & -extra));
		return -EPERM;
	}
	for (size_t i = 0; i < leaf->n_labels; i++) {
		const struct gsm_label *l = &leaf->labels[i];
		bool ok = false;
		for (size_t j = 0; j < join->n_labels && !ok; j++)
			ok = strcmp(join->labels[j].key, l->key) == 0 &&
			     (strcmp(join->labels[j].value, "*") == 0 ||
			      strcmp(join->labels[j].value, l->value) == 0);
		if (!ok) {
			say(why, cap, "label %s=%s not allowed by the join key", l->key, l->value);
			return -EPERM;
		}
	}
	return 0;
}

int gsm_cert_within(const struct gsm_cert *join, const struct gsm_cert *leaf, char *why,
		    size_t why_cap)
{
	int rc;

	say(why, why_cap, "%s", "");
	if (!join || !leaf)
		return -EINVAL;
	if (join->kind != GSM_CERT_JOIN || leaf->kind != GSM_CERT_NODE) {
		say(why, why_cap, "not a join certificate and a node certificate");
		return -EPERM;
	}
	if (memcmp(leaf->issuer, join->subject, GSM_ID_LEN) != 0) {
		say(why, why_cap, "node certificate not issued by the join key");
		return -EPERM;
	}
	if (leaf->not_before < join->not_before || leaf->not_before >= join->not_after) {
		say(why, why_cap, "issued outside the join key's validity");
		return -EPERM;
	}
	if (leaf->not_after < leaf->not_before ||
	    leaf->not_after - leaf->not_before > join->max_lifetime) {
		say(why, why_cap,
		    "lifetime %" PRIu64 " s over the join key's maximum %" PRIu64 " s",
		    leaf->not_after - leaf->not_before, join->max_lifetime);
		return -EPERM;
	}
	rc = within_prefixes(join, leaf, why, why_cap);
	if (!rc)
		rc = within_roles_labels(join, leaf, why, why_cap);
	if (!rc && join->flags & GSM_CERT_F_EPHEMERAL && !(leaf->flags & GSM_CERT_F_EPHEMERAL)) {
		say(why, why_cap, "must be ephemeral like its join key");
		rc = -EPERM;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* chain verification                                                  */

const char *gsm_cert_status_name(enum gsm_cert_status s)
{
	switch (s) {
	case GSM_CERT_NONE:
		return "none";
	case GSM_CERT_VALID:
		return "valid";
	case GSM_CERT_EXPIRED:
		return "expired";
	case GSM_CERT_NOT_YET:
		return "not-yet-valid";
	case GSM_CERT_REVOKED:
		return "revoked";
	case GSM_CERT_INVALID:
		return "invalid";
	}
	return "invalid";
}

static bool is_authority(const struct gsm_cert_verifier *v, const uint8_t key[GSM_ID_LEN])
{
	for (size_t i = 0; i < v->n_authorities; i++)
		if (memcmp(v->authorities[i], key, GSM_ID_LEN) == 0)
			return true;
	return false;
}

/* Decode and verify the certificate i of the chain as kind `kind`. */
static int chain_cert(const struct gsm_bytes *b, enum gsm_cert_kind kind, struct gsm_cert *c,
		      const char *what, char *why, size_t cap)
{
	int rc = gsm_cert_decode(b->ptr, b->len, c);

	if (rc) {
		say(why, cap, "%s certificate malformed", what);
		return rc;
	}
	if (c->kind != kind) {
		say(why, cap, "%s certificate of the wrong kind", what);
		return -EINVAL;
	}
	return 0;
}

static int chain_sig(const struct gsm_bytes *b, const char *what, char *why, size_t cap)
{
	int rc = gsm_cert_verify_sig(b->ptr, b->len);

	if (rc)
		say(why, cap, "bad %s certificate signature", what);
	return rc;
}

/* Structure, signatures, subject, name and delegation: 0 or INVALID. */
static int chain_structure(const struct gsm_cert_verifier *v, const uint8_t node_id[GSM_ID_LEN],
			   const char *name, const struct gsm_bytes *certs, size_t n,
			   struct gsm_cert *leaf, struct gsm_cert *join, char *why, size_t cap)
{
	const struct gsm_cert *root;
	int rc;

	if (n > GSM_CERT_CHAIN_MAX) {
		say(why, cap, "chain too long (%zu certificates)", n);
		return -EINVAL;
	}
	rc = chain_cert(&certs[0], GSM_CERT_NODE, leaf, "node", why, cap);
	if (!rc && n == 2)
		rc = chain_cert(&certs[1], GSM_CERT_JOIN, join, "join", why, cap);
	if (rc)
		return rc;
	if (memcmp(leaf->subject, node_id, GSM_ID_LEN) != 0) {
		say(why, cap, "certificate subject is not the node id");
		return -EINVAL;
	}
	if (name && strcmp(name, leaf->name) != 0) {
		say(why, cap, "certificate name %s differs from the advert name %s", leaf->name,
		    name);
		return -EINVAL;
	}
	root = n == 2 ? join : leaf;
	if (!is_authority(v, root->issuer)) {
		say(why, cap, "issuer is not a configured authority");
		return -EKEYREJECTED;
	}
	if (n == 2) {
		rc = chain_sig(&certs[1], "join", why, cap);
		if (!rc)
			rc = gsm_cert_within(join, leaf, why, cap);
	}
	if (!rc)
		rc = chain_sig(&certs[0], "node", why, cap);
	return rc;
}

/* Only the node certificate's window makes a chain valid or expired: a
 * join certificate's window bounds when it may issue (gsm_cert_within:
 * the leaf's not_before lies inside it), not how long what it issued
 * lives.  A join key that expires after a day therefore does not take
 * the fleet it enrolled down with it; the exposure of a stolen join key
 * is bounded by its not_after plus its max_lifetime. */
static enum gsm_cert_status chain_time(const struct gsm_cert_verifier *v, const struct gsm_cert *c,
				       char *why, size_t cap)
{
	if (v->now_s < c->not_before) {
		say(why, cap, "node certificate not valid before %" PRIu64, c->not_before);
		return GSM_CERT_NOT_YET;
	}
	if (v->now_s >= c->not_after) {
		say(why, cap, "node certificate expired at %" PRIu64, c->not_after);
		return GSM_CERT_EXPIRED;
	}
	return GSM_CERT_VALID;
}

void gsm_cert_chain_check(const struct gsm_cert_verifier *v, const uint8_t node_id[GSM_ID_LEN],
			  const char *name, const struct gsm_bytes *certs, size_t n,
			  struct gsm_cert_info *info, char *why, size_t why_cap)
{
	struct gsm_cert c[2]; /* leaf, join */

	if (!info)
		return;
	memset(info, 0, sizeof(*info));
	say(why, why_cap, "%s", "");
	if (n == 0 || !certs)
		return; /* GSM_CERT_NONE */
	if (!v || !node_id) {
		info->status = GSM_CERT_INVALID;
		say(why, why_cap, "no verifier");
		return;
	}
	memset(c, 0, sizeof(c));
	if (chain_structure(v, node_id, name, certs, n, &c[0], &c[1], why, why_cap)) {
		info->status = GSM_CERT_INVALID;
		return;
	}
	info->leaf = c[0];
	info->has_join = n == 2;
	info->expires_s = c[0].not_after;
	if (n == 2) {
		info->join_serial = c[1].serial;
		memcpy(info->join_subject, c[1].subject, GSM_ID_LEN);
	}
	if (v->revoked && v->revoked(v->revoked_ctx, &c[0])) {
		info->status = GSM_CERT_REVOKED;
		say(why, why_cap, "node certificate revoked");
	} else if (v->revoked && n == 2 && v->revoked(v->revoked_ctx, &c[1])) {
		info->status = GSM_CERT_REVOKED;
		say(why, why_cap, "join certificate revoked");
	} else {
		info->status = chain_time(v, &c[0], why, why_cap);
	}
}

/* ------------------------------------------------------------------ */
/* coverage                                                            */

bool gsm_cert_allows_prefix(const struct gsm_cert *c, const struct gsm_prefix *p)
{
	if (!c || !p)
		return false;
	for (size_t i = 0; i < c->n_prefixes; i++) {
		const struct gsm_prefix *q = &c->prefixes[i];
		if (p->len == 0 && !(q->len == 0 && c->roles & GSM_ROLE_EXIT))
			continue;
		if (gsm_prefix_contains(q, p))
			return true;
	}
	return false;
}

bool gsm_cert_allows_overlay(const struct gsm_cert *c, const struct gsm_prefix *addr)
{
	if (!c || !addr)
		return false;
	if (addr->family != 4 || !c->has_overlay4)
		return true;
	return memcmp(addr->ip, c->overlay4.ip, 4) == 0;
}

bool gsm_cert_allows_label(const struct gsm_cert *c, const char *key, const char *value)
{
	if (!c || !key || !value)
		return false;
	for (size_t i = 0; i < c->n_labels; i++)
		if (strcmp(c->labels[i].key, key) == 0 && (strcmp(c->labels[i].value, "*") == 0 ||
							   strcmp(c->labels[i].value, value) == 0))
			return true;
	return false;
}

bool gsm_cert_allows_flags(const struct gsm_cert *c, uint32_t adv_flags)
{
	if (!c)
		return false;
	if ((adv_flags & GSM_ADV_RELAY) && !(c->roles & GSM_ROLE_RELAY))
		return false;
	if ((adv_flags & GSM_ADV_GATEWAY) && !(c->roles & GSM_ROLE_GATEWAY))
		return false;
	return !(adv_flags & GSM_ADV_EXIT) || (c->roles & GSM_ROLE_EXIT);
}
