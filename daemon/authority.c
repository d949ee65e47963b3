/*
 * daemon/authority.c - certificate files, self-issue, the revocations
 * file.
 *
 * A node in authority mode carries a certificate chain in its advert
 * (gossip/cert.h): its node certificate, signed by an authority, or by a
 * join key whose JOIN certificate follows it.  The chain is a text file
 * of PEM blocks that the operator installs (`gossamer authority sign`) and
 * replaces to renew; `reload` re-reads it and re-signs the advert without
 * touching WireGuard.
 *
 * Join keys (cloud burst, edge fleets): a fresh machine gets a join key
 * file in its user-data and issues itself a certificate within the join
 * key's limits.  What it asks for is exactly what its configuration will
 * advertise (name, advertise_prefixes, labels, relay role, a static IPv4
 * overlay address), so the issued certificate covers the advert; asking
 * for more than the join key allows is refused here with the very rule
 * every receiver applies (gsm_cert_within), so the operator learns it at
 * boot, not from refused claims on the other nodes.  The lifetime is the
 * join key's maximum and the certificate is re-issued when less than a
 * third of it is left (reload, or the periodic check of the runtime).
 *
 * Revocations are gossiped by the core and held until they expire; the
 * daemon keeps a copy in <state_dir>/revocations (PEM REVOCATION blocks)
 * and feeds it to the core before joining, so a restarted node never
 * re-admits a revoked member while it waits for a sync.  A file that does
 * not parse is refused with the block it broke at: silently dropping
 * revocations would be the wrong failure.
 */
#include "daemon/authority.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/array.h"
#include "common/fileio.h"

#define CHAIN_FILE_MAX (64 * 1024)
#define REV_FILE_MAX   (4u * 1024 * 1024) /* GSM_MAX_REVOCATIONS PEM blocks fit */
#define JOIN_FILE_MAX  (16 * 1024)

/* ------------------------------------------------------------ text files */

/* the whole file, NUL-terminated; *out is the caller's (free) */
static int read_text(const char *path, size_t max, char **out)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0;
	int r = 0;
	if (!f)
		return -errno;
	buf = malloc(max + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	len = fread(buf, 1, max + 1, f);
	if (ferror(f)) {
		r = -EIO;
		goto out;
	}
	if (len > max) {
		r = -EMSGSIZE;
		goto out;
	}
	buf[len] = 0;
	*out = buf;
	buf = NULL;
out:
	free(buf);
	fclose(f);
	return r;
}

/* how many "-----BEGIN " lines the text has */
static size_t count_blocks(const char *text)
{
	size_t n = 0;
	for (const char *p = text; (p = strstr(p, "-----BEGIN ")); p += 11)
		n++;
	return n;
}

/* ------------------------------------------------------------ chain */

int gsd_chain_load(const char *path, struct gsd_chain *out, char *msg, size_t msglen)
{
	char *text = NULL;
	memset(out, 0, sizeof(*out));
	int r = read_text(path, CHAIN_FILE_MAX, &text);
	if (r == -ENOENT)
		return r;
	if (r < 0) {
		snprintf(msg, msglen, "certificate file %s: %s", path, strerror(-r));
		return r;
	}
	for (size_t i = 0;; i++) {
		uint8_t buf[GSM_CERT_MAX];
		size_t len;
		r = gsm_pem_find(text, GSM_PEM_CERT, i, buf, sizeof(buf), &len);
		if (r == -ENOENT) {
			r = 0;
			break;
		}
		if (r < 0 || i >= GSM_CERT_CHAIN_MAX) {
			snprintf(msg, msglen, "certificate file %s: %s", path,
				 r < 0 ? "a certificate block is broken or too large"
				       : "more certificates than a chain holds (2)");
			r = r < 0 ? r : -EMSGSIZE;
			goto out;
		}
		struct gsm_cert c;
		if (gsm_cert_decode(buf, len, &c) < 0) {
			snprintf(msg, msglen, "certificate file %s: block %zu is not a certificate",
				 path, i + 1);
			r = -EBADMSG;
			goto out;
		}
		memcpy(out->cert[i], buf, len);
		out->len[i] = (uint16_t)len;
		out->n++;
	}
	if (!out->n || count_blocks(text) != out->n) {
		snprintf(msg, msglen, "certificate file %s: %s", path,
			 out->n ? "holds blocks that are not certificates" : "no certificate");
		r = -EBADMSG;
	}
out:
	free(text);
	if (r < 0)
		memset(out, 0, sizeof(*out));
	return r;
}

int gsd_chain_save(const char *path, const struct gsd_chain *c)
{
	size_t cap = 64 + (size_t)GSM_CERT_CHAIN_MAX * (GSM_CERT_MAX * 2 + 128), len = 0;
	char *buf = malloc(cap);
	int r = 0;
	if (!buf)
		return -ENOMEM;
	buf[0] = 0;
	for (uint8_t i = 0; i < c->n && r == 0; i++)
		r = gsm_pem_append(GSM_PEM_CERT, c->cert[i], c->len[i], buf, cap, &len);
	if (r == 0)
		r = gsc_write_atomic(path, buf, len, 0644, GSC_WRITE_DURABLE);
	free(buf);
	return r;
}

size_t gsd_chain_bytes(const struct gsd_chain *c, struct gsm_bytes out[GSM_CERT_CHAIN_MAX])
{
	for (uint8_t i = 0; i < c->n; i++)
		out[i] = (struct gsm_bytes){c->cert[i], c->len[i]};
	return c->n;
}

/* ------------------------------------------------------------ join key */

void gsd_join_key_clear(struct gsd_join_key *jk)
{
	gsm_identity_free(jk->key);
	sodium_memzero(jk, sizeof(*jk));
}

static int join_key_parse(const char *path, const char *text, struct gsd_join_key *jk, char *msg,
			  size_t msglen)
{
	uint8_t seed[64];
	size_t len = 0;
	int r = gsm_pem_find(text, GSM_PEM_JOIN_KEY, 0, seed, sizeof(seed), &len);
	if (r < 0 || len != 32) {
		snprintf(msg, msglen, "join key %s: no valid JOIN KEY block", path);
		r = -EBADMSG;
		goto out;
	}
	r = gsm_identity_from_seed(seed, &jk->key);
	if (r < 0) {
		snprintf(msg, msglen, "join key %s: %s", path, gsm_strerror(r));
		goto out;
	}
	r = gsm_pem_find(text, GSM_PEM_CERT, 0, jk->signed_cert, sizeof(jk->signed_cert), &len);
	if (r < 0 || gsm_cert_decode(jk->signed_cert, len, &jk->cert) < 0) {
		snprintf(msg, msglen, "join key %s: no valid JOIN certificate block", path);
		r = -EBADMSG;
		goto out;
	}
	jk->cert_len = (uint16_t)len;
	if (jk->cert.kind != GSM_CERT_JOIN ||
	    memcmp(jk->cert.subject, gsm_identity_public(jk->key), GSM_ID_LEN)) {
		snprintf(msg, msglen,
			 "join key %s: the certificate is not a JOIN certificate for "
			 "this key",
			 path);
		r = -EINVAL;
	}
out:
	sodium_memzero(seed, sizeof(seed));
	return r;
}

int gsd_join_key_load(const char *path, struct gsd_join_key *jk, char *msg, size_t msglen)
{
	char *text = NULL;
	size_t len = 0;
	memset(jk, 0, sizeof(*jk));
	int r = gsc_check_secret(path, msg, msglen);
	if (r == -ENOENT)
		snprintf(msg, msglen, "join key %s does not exist", path);
	if (r < 0)
		return r;
	r = gsc_read_secret(path, JOIN_FILE_MAX, &text, &len);
	if (r < 0) {
		snprintf(msg, msglen, "join key %s: %s", path, strerror(-r));
		return r;
	}
	r = join_key_parse(path, text, jk, msg, msglen);
	gsc_secret_free(text, JOIN_FILE_MAX);
	if (r < 0)
		gsd_join_key_clear(jk);
	return r;
}

/* ------------------------------------------------------------ self-issue */

/* the leaf asked for: fields from req, times and flags from the join key */
static int leaf_from_request(const struct gsd_join_key *jk, const struct gsd_issue_request *req,
			     struct gsm_cert *c, char *why, size_t whylen)
{
	if (req->n_prefixes > GSM_CERT_MAX_PREFIXES || req->n_labels > GSM_CERT_MAX_LABELS) {
		snprintf(why, whylen,
			 "%zu prefixes and %zu labels; a certificate holds at most %d "
			 "and %d",
			 req->n_prefixes, req->n_labels, GSM_CERT_MAX_PREFIXES,
			 GSM_CERT_MAX_LABELS);
		return -EMSGSIZE;
	}
	memset(c, 0, sizeof(*c));
	c->kind = GSM_CERT_NODE;
	memcpy(c->subject, req->node_id, GSM_ID_LEN);
	memcpy(c->issuer, gsm_identity_public(jk->key), GSM_ID_LEN);
	randombytes_buf(&c->serial, sizeof(c->serial));
	/* a minute back for the receivers' clocks, never before the join key */
	c->not_before = req->now_s > 60 ? req->now_s - 60 : 0;
	if (c->not_before < jk->cert.not_before)
		c->not_before = jk->cert.not_before;
	c->not_after = c->not_before + jk->cert.max_lifetime;
	snprintf(c->name, sizeof(c->name), "%s", req->name);
	c->has_overlay4 = req->has_overlay4;
	c->overlay4 = req->overlay4;
	c->n_prefixes = (uint8_t)req->n_prefixes;
	memcpy(c->prefixes, req->prefixes, req->n_prefixes * sizeof(c->prefixes[0]));
	c->n_labels = (uint8_t)req->n_labels;
	memcpy(c->labels, req->labels, req->n_labels * sizeof(c->labels[0]));
	c->roles = req->roles;
	c->flags = jk->cert.flags & GSM_CERT_F_EPHEMERAL;
	return 0;
}

int gsd_self_issue(const struct gsd_join_key *jk, const struct gsd_issue_request *req,
		   struct gsd_chain *out, char *why, size_t whylen)
{
	struct gsm_cert c;
	size_t len = 0;
	if (req->now_s >= jk->cert.not_after) {
		snprintf(why, whylen, "the join key expired");
		return -EKEYEXPIRED;
	}
	int r = leaf_from_request(jk, req, &c, why, whylen);
	if (r < 0)
		return r;
	if (gsm_cert_normalize(&c) < 0) {
		snprintf(why, whylen, "the certificate asked for is not valid");
		return -EINVAL;
	}
	r = gsm_cert_within(&jk->cert, &c, why, whylen);
	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	r = gsm_cert_sign(&c, jk->key, out->cert[0], sizeof(out->cert[0]), &len);
	if (r < 0) {
		snprintf(why, whylen, "cannot sign: %s", gsm_strerror(r));
		return r;
	}
	out->len[0] = (uint16_t)len;
	memcpy(out->cert[1], jk->signed_cert, jk->cert_len);
	out->len[1] = jk->cert_len;
	out->n = 2;
	return 0;
}

bool gsd_chain_needs_issue(const struct gsm_cert_info *info, uint64_t now_s)
{
	if (info->status != GSM_CERT_VALID)
		return true;
	/* the chain lives as long as its node certificate (a join
	 * certificate's window bounds issuance only: gossip/cert.h) */
	uint64_t end = info->leaf.not_after;
	uint64_t life = end > info->leaf.not_before ? end - info->leaf.not_before : 0;
	uint64_t left = end > now_s ? end - now_s : 0;
	return left < life / 3;
}

/* ------------------------------------------------------------ revocations */

int gsd_revlist_add(struct gsd_revlist *l, const uint8_t *rev, size_t len)
{
	size_t cap = l->cap;
	if (len > GSM_REVOCATION_MAX)
		return -EMSGSIZE;
	if (gsc_grow(&l->rev, &cap, l->n + 1, sizeof(*l->rev)) < 0)
		return -ENOMEM;
	size_t cap2 = l->cap;
	if (gsc_grow(&l->len, &cap2, l->n + 1, sizeof(*l->len)) < 0)
		return -ENOMEM;
	l->cap = cap < cap2 ? cap : cap2;
	memcpy(l->rev[l->n], rev, len);
	l->len[l->n++] = (uint16_t)len;
	return 0;
}

void gsd_revlist_clear(struct gsd_revlist *l)
{
	free(l->rev);
	free(l->len);
	memset(l, 0, sizeof(*l));
}

int gsd_revlist_save(const char *path, const struct gsd_revlist *l)
{
	size_t cap = 64 + l->n * (GSM_REVOCATION_MAX * 2 + 128), len = 0;
	char *buf = malloc(cap);
	int r = 0;
	if (!buf)
		return -ENOMEM;
	buf[0] = 0;
	for (size_t i = 0; i < l->n && r == 0; i++)
		r = gsm_pem_append(GSM_PEM_REVOCATION, l->rev[i], l->len[i], buf, cap, &len);
	if (r == 0)
		r = gsc_write_atomic(path, buf, len, 0644, GSC_WRITE_DURABLE);
	free(buf);
	return r;
}

int gsd_revlist_load(const char *path, struct gsd_revlist *l, char *msg, size_t msglen)
{
	char *text = NULL;
	size_t i = 0;
	int r = read_text(path, REV_FILE_MAX, &text);
	if (r == -ENOENT)
		return r;
	if (r < 0) {
		snprintf(msg, msglen, "revocations file %s: %s", path, strerror(-r));
		return r;
	}
	for (;; i++) {
		uint8_t buf[GSM_REVOCATION_MAX];
		struct gsm_revocation rv;
		size_t len;
		r = gsm_pem_find(text, GSM_PEM_REVOCATION, i, buf, sizeof(buf), &len);
		if (r == -ENOENT) {
			r = 0;
			break;
		}
		if (r < 0 || gsm_revocation_decode(buf, len, &rv) < 0) {
			snprintf(msg, msglen,
				 "revocations file %s: block %zu is not a valid "
				 "revocation",
				 path, i + 1);
			r = -EBADMSG;
			goto out;
		}
		r = gsd_revlist_add(l, buf, len);
		if (r < 0) {
			snprintf(msg, msglen, "revocations file %s: %s", path, strerror(-r));
			goto out;
		}
	}
	if (count_blocks(text) != i) {
		snprintf(msg, msglen,
			 "revocations file %s: holds %zu blocks of which %zu are "
			 "revocations",
			 path, count_blocks(text), i);
		r = -EBADMSG;
	}
out:
	free(text);
	return r;
}

/* ------------------------------------------------------------ display */

void gsd_roles_foreach(uint32_t roles, void (*fn)(void *ctx, const char *role), void *ctx)
{
	if (roles & GSM_ROLE_RELAY)
		fn(ctx, "relay");
	if (roles & GSM_ROLE_EXIT)
		fn(ctx, "exit");
	if (roles & GSM_ROLE_GATEWAY)
		fn(ctx, "gateway");
}
