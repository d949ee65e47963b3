/*
 * cli/cert_cmd.c - `gossamer cert issue|show` and `gossamer revoke FILE`.
 *
 * What: `cert issue` is what a node (or its operator) does with a join
 * key: sign a node certificate for an identity, within the limits the
 * authority delegated, and write it with the join key's certificate as
 * the chain file gossamerd reads.  `cert show` decodes any of the
 * authority-mode files (certificate, chain, revocation, join key) and
 * checks their signatures and, for a chain, the delegation.  `revoke
 * FILE` hands revocations to the local daemon (control command `revoke`),
 * which checks them against its authorities and gossips them.
 *
 * Why issue refuses what receivers would refuse: gsm_cert_within() is the
 * one rule both sides apply (gossip/cert.h); running it before signing
 * turns "the node silently gets no peers" into an error with a reason at
 * issue time.
 *
 * Safety: the join key file is a secret (read with the secret-file rules,
 * the seed kept in sodium memory); `cert show` never prints a seed, and
 * wipes the text it read, since a join key file holds one.  Text from a
 * certificate (names, labels) is sanitised before it reaches a terminal.
 */
#include "cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"
#include "cli/fmt.h"
#include "common/fileio.h"
#include "gossip/cert.h"
#include "gossip/crypto.h"
#include "gossip/keyfile.h"

#define PEM_MAX	 8192
#define SHOW_MAX 8 /* blocks of one kind shown */
#define REV_B64	 sodium_base64_ENCODED_LEN(GSM_REVOCATION_MAX, sodium_base64_VARIANT_ORIGINAL)

/* ---- cert issue ---- */

/* A join key file: its key and its JOIN certificate. */
struct join_key {
	struct gsm_identity *id;
	struct gsm_cert cert;
	uint8_t der[GSM_CERT_MAX];
	size_t der_len;
};

/* Read and check a join key file; prints the reason and returns an exit
 * status. */
static int join_key_load(const char *path, struct gcli_ctx *ctx, struct join_key *jk)
{
	char *text = NULL, msg[512] = "";
	uint8_t *seed = sodium_malloc(32);
	size_t len = 0;
	const char *why = NULL;
	int rc = seed ? gsm_keyfile_read(path, &text) : -ENOMEM;
	if (rc) {
		if ((rc == -EACCES || rc == -ELOOP) && gsc_check_secret(path, msg, sizeof(msg)) &&
		    *msg)
			why = msg;
		else
			why = strerror(-rc);
		goto out;
	}
	rc = gsm_pem_find(text, GSM_PEM_JOIN_KEY, 0, seed, 32, &len);
	if (rc || len != 32) {
		why = "no join key in it (-----BEGIN GOSSAMER JOIN KEY----- block)";
		goto out;
	}
	rc = gsm_pem_find(text, GSM_PEM_CERT, 0, jk->der, sizeof(jk->der), &jk->der_len);
	if (!rc)
		rc = gsm_cert_decode(jk->der, jk->der_len, &jk->cert);
	if (rc || jk->cert.kind != GSM_CERT_JOIN) {
		why = "no valid join certificate in it";
		goto out;
	}
	if (gsm_identity_from_seed(seed, &jk->id) ||
	    memcmp(gsm_identity_public(jk->id), jk->cert.subject, GSM_ID_LEN)) {
		why = "the key does not match its certificate";
		goto out;
	}
out:
	gsm_keyfile_free(text);
	sodium_free(seed);
	if (!why)
		return GCLI_EXIT_OK;
	fprintf(ctx->err, "gossamer: cert issue: --join-key %s: %s\n", path, why);
	return GCLI_EXIT_FAIL;
}

/* The node certificate o asks for, under join key jk. */
static int leaf_from_opts(const struct gcli_opts *o, struct gcli_ctx *ctx,
			  const struct join_key *jk, struct gsm_cert *leaf)
{
	char why[256] = "", when[40];
	uint64_t now = (uint64_t)time(NULL);
	memset(leaf, 0, sizeof(*leaf));
	leaf->kind = GSM_CERT_NODE;
	if (gcli_resolve_pubkey(o->identity, leaf->subject, why, sizeof(why))) {
		fprintf(ctx->err, "gossamer: cert issue: --identity: %s\n", why);
		return GCLI_EXIT_FAIL;
	}
	if (gcli_cert_claims(o, leaf, why, sizeof(why))) {
		fprintf(ctx->err, "gossamer: cert issue: %s\n", why);
		return GCLI_EXIT_FAIL;
	}
	if (now >= jk->cert.not_after) {
		fprintf(ctx->err, "gossamer: cert issue: the join key expired on %s\n",
			gcli_fmt_time(jk->cert.not_after, when, sizeof(when)));
		return GCLI_EXIT_FAIL;
	}
	memcpy(leaf->issuer, jk->cert.subject, GSM_ID_LEN);
	if (jk->cert.flags & GSM_CERT_F_EPHEMERAL)
		leaf->flags |= GSM_CERT_F_EPHEMERAL;
	randombytes_buf(&leaf->serial, sizeof(leaf->serial));
	/* until --valid (default: the join key's maximum) from now, from a
	 * little before now (clocks behind ours) as far as the maximum
	 * lifetime and the join key's own start allow; a --valid over the
	 * maximum is left over it for gsm_cert_within to refuse */
	uint64_t valid = o->has_valid ? o->valid_s : jk->cert.max_lifetime;
	leaf->not_after = now + valid;
	leaf->not_before = now - GCLI_CERT_BACKDATE_S;
	if (valid <= jk->cert.max_lifetime &&
	    leaf->not_after - leaf->not_before > jk->cert.max_lifetime)
		leaf->not_before = leaf->not_after - jk->cert.max_lifetime;
	if (leaf->not_before < jk->cert.not_before)
		leaf->not_before = jk->cert.not_before;
	if (gsm_cert_normalize(leaf) || gsm_cert_within(&jk->cert, leaf, why, sizeof(why))) {
		fprintf(ctx->err, "gossamer: cert issue: %s\n",
			*why ? why : "outside the join key's limits");
		return GCLI_EXIT_FAIL;
	}
	return GCLI_EXIT_OK;
}

static int cert_issue(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	struct join_key jk;
	struct gsm_cert leaf;
	uint8_t der[GSM_CERT_MAX];
	char text[PEM_MAX] = "", when[40];
	size_t der_len, len = 0;
	memset(&jk, 0, sizeof(jk));
	int ret = join_key_load(o->join_key, ctx, &jk);
	if (ret)
		goto out;
	ret = leaf_from_opts(o, ctx, &jk, &leaf);
	if (ret)
		goto out;
	ret = GCLI_EXIT_FAIL;
	int rc = gsm_cert_sign(&leaf, jk.id, der, sizeof(der), &der_len);
	if (!rc)
		rc = gsm_pem_append(GSM_PEM_CERT, der, der_len, text, sizeof(text), &len);
	if (!rc)
		rc = gsm_pem_append(GSM_PEM_CERT, jk.der, jk.der_len, text, sizeof(text), &len);
	if (rc) {
		fprintf(ctx->err, "gossamer: cert issue: cannot sign the certificate: %s\n",
			strerror(-rc));
		goto out;
	}
	rc = gsc_write_atomic(o->output, text, len, 0644, GSC_WRITE_DURABLE);
	if (rc) {
		fprintf(ctx->err, "gossamer: cert issue: cannot write %s: %s\n", o->output,
			strerror(-rc));
		goto out;
	}
	/* the chain lives as long as the node certificate (gsm_cert_chain_check) */
	fprintf(ctx->out,
		"certificate %016" PRIx64 " for %s (join key %016" PRIx64
		"), valid until %s, written to %s\n",
		leaf.serial, leaf.name, jk.cert.serial,
		gcli_fmt_time(leaf.not_after, when, sizeof(when)), o->output);
	ret = GCLI_EXIT_OK;
out:
	gsm_identity_free(jk.id);
	return ret;
}

/* ---- cert show ---- */

/* Everything found in one file. */
struct shown {
	size_t n_certs, n_revs;
	struct gsm_cert certs[SHOW_MAX];
	bool cert_sig_ok[SHOW_MAX];
	struct gsm_revocation revs[SHOW_MAX];
	bool rev_sig_ok[SHOW_MAX];
	bool has_join_key;
	uint8_t join_pub[GSM_ID_LEN];
	int delegation; /* certs[0] within certs[1]: 0, -EPERM, or 1 = not a chain */
	char delegation_why[160];
};

/* Decode every block of the file; an exit status (message printed). */
static int show_collect(const char *path, const char *text, struct gcli_ctx *ctx, struct shown *s)
{
	uint8_t der[GSM_CERT_MAX];
	size_t len;
	int rc = 0;
	const char *what = "certificate";
	for (size_t i = 0; i < SHOW_MAX; i++) {
		rc = gsm_pem_find(text, GSM_PEM_CERT, i, der, sizeof(der), &len);
		if (rc == -ENOENT)
			break;
		if (!rc)
			rc = gsm_cert_decode(der, len, &s->certs[i]);
		if (rc)
			goto bad;
		s->cert_sig_ok[i] = gsm_cert_verify_sig(der, len) == 0;
		s->n_certs++;
	}
	what = "revocation";
	for (size_t i = 0; i < SHOW_MAX; i++) {
		rc = gsm_pem_find(text, GSM_PEM_REVOCATION, i, der, sizeof(der), &len);
		if (rc == -ENOENT)
			break;
		if (!rc)
			rc = gsm_revocation_decode(der, len, &s->revs[i]);
		if (rc)
			goto bad;
		/* checked against its own issuer: is the signature intact */
		s->rev_sig_ok[i] =
		    gsm_revocation_verify(der, len, &s->revs[i].issuer, 1, &s->revs[i]) == 0;
		s->n_revs++;
	}
	what = "join key";
	rc = gsm_pem_find(text, GSM_PEM_JOIN_KEY, 0, der, sizeof(der), &len);
	if (!rc && len == 32) {
		struct gsm_identity *id = NULL;
		if (!gsm_identity_from_seed(der, &id))
			memcpy(s->join_pub, gsm_identity_public(id), GSM_ID_LEN);
		s->has_join_key = id != NULL;
		gsm_identity_free(id);
	}
	sodium_memzero(der, sizeof(der));
	if (rc && rc != -ENOENT)
		goto bad;
	if (!s->n_certs && !s->n_revs && !s->has_join_key) {
		fprintf(ctx->err,
			"gossamer: cert show: %s holds no certificate, revocation or join key\n",
			path);
		return GCLI_EXIT_FAIL;
	}
	s->delegation = 1;
	if (s->n_certs == 2 && s->certs[0].kind == GSM_CERT_NODE &&
	    s->certs[1].kind == GSM_CERT_JOIN)
		s->delegation = gsm_cert_within(&s->certs[1], &s->certs[0], s->delegation_why,
						sizeof(s->delegation_why));
	return GCLI_EXIT_OK;
bad:
	sodium_memzero(der, sizeof(der));
	fprintf(ctx->err, "gossamer: cert show: %s: a %s block is %s\n", path, what,
		rc == -EMSGSIZE ? "too large" : "malformed");
	return GCLI_EXIT_FAIL;
}

static json_t *roles_json(uint32_t roles)
{
	json_t *a = json_array();
	if (roles & GSM_ROLE_RELAY)
		json_array_append_new(a, json_string("relay"));
	if (roles & GSM_ROLE_EXIT)
		json_array_append_new(a, json_string("exit"));
	if (roles & GSM_ROLE_GATEWAY)
		json_array_append_new(a, json_string("gateway"));
	return a;
}

/* "relay gateway", "" for none. */
static void roles_text(uint32_t roles, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s%s", (roles & GSM_ROLE_RELAY) ? "relay " : "",
		 (roles & GSM_ROLE_EXIT) ? "exit " : "",
		 (roles & GSM_ROLE_GATEWAY) ? "gateway " : "");
	size_t n = strlen(buf);
	if (n)
		buf[n - 1] = '\0';
}

static json_t *cert_json(const struct gsm_cert *c, bool sig_ok)
{
	char b64[45], hex[2 * GSM_ID_LEN + 1], serial[17], p[64];
	json_t *o = json_object(), *prefixes = json_array(), *labels = json_object();
	snprintf(serial, sizeof(serial), "%016" PRIx64, c->serial);
	json_object_set_new(o, "kind", json_string(c->kind == GSM_CERT_JOIN ? "join" : "node"));
	json_object_set_new(o, "serial", json_string(serial));
	gcli_b64_key(c->subject, b64);
	json_object_set_new(o, "subject", json_string(b64));
	if (c->kind == GSM_CERT_NODE) {
		sodium_bin2hex(hex, sizeof(hex), c->subject, GSM_ID_LEN);
		json_object_set_new(o, "node_id", json_string(hex));
		json_object_set_new(o, "name", json_string(c->name));
	}
	gcli_b64_key(c->issuer, b64);
	json_object_set_new(o, "issuer", json_string(b64));
	json_object_set_new(o, "not_before", json_integer((json_int_t)c->not_before));
	json_object_set_new(o, "not_after", json_integer((json_int_t)c->not_after));
	if (c->has_overlay4 && gsm_prefix_format(&c->overlay4, p, sizeof(p)) > 0)
		json_object_set_new(o, "overlay4", json_string(p));
	for (size_t i = 0; i < c->n_prefixes; i++)
		if (gsm_prefix_format(&c->prefixes[i], p, sizeof(p)) > 0)
			json_array_append_new(prefixes, json_string(p));
	json_object_set_new(o, "prefixes", prefixes);
	json_object_set_new(o, "roles", roles_json(c->roles));
	for (size_t i = 0; i < c->n_labels; i++)
		json_object_set_new(labels, c->labels[i].key, json_string(c->labels[i].value));
	json_object_set_new(o, "labels", labels);
	if (c->kind == GSM_CERT_JOIN)
		json_object_set_new(o, "max_lifetime", json_integer((json_int_t)c->max_lifetime));
	json_object_set_new(o, "ephemeral", json_boolean(c->flags & GSM_CERT_F_EPHEMERAL));
	json_object_set_new(o, "signature_ok", json_boolean(sig_ok));
	return o;
}

static json_t *rev_json(const struct gsm_revocation *r, bool sig_ok)
{
	char b64[45], serial[17];
	json_t *o = json_object();
	if (r->has_serial) {
		snprintf(serial, sizeof(serial), "%016" PRIx64, r->serial);
		json_object_set_new(o, "serial", json_string(serial));
	}
	if (r->has_subject) {
		gcli_b64_key(r->subject, b64);
		json_object_set_new(o, "subject", json_string(b64));
	}
	gcli_b64_key(r->issuer, b64);
	json_object_set_new(o, "issuer", json_string(b64));
	json_object_set_new(o, "issued_at", json_integer((json_int_t)r->issued_at));
	json_object_set_new(o, "expires", json_integer((json_int_t)r->expires));
	json_object_set_new(o, "signature_ok", json_boolean(sig_ok));
	return o;
}

static int show_json(const struct shown *s, struct gcli_ctx *ctx)
{
	json_t *o = json_object(), *certs = json_array(), *revs = json_array();
	char b64[45];
	for (size_t i = 0; i < s->n_certs; i++)
		json_array_append_new(certs, cert_json(&s->certs[i], s->cert_sig_ok[i]));
	for (size_t i = 0; i < s->n_revs; i++)
		json_array_append_new(revs, rev_json(&s->revs[i], s->rev_sig_ok[i]));
	json_object_set_new(o, "certificates", certs);
	json_object_set_new(o, "revocations", revs);
	if (s->delegation != 1)
		json_object_set_new(o, "chain",
				    json_pack("{s:b, s:s?}", "within_join_key", s->delegation == 0,
					      "reason", s->delegation ? s->delegation_why : NULL));
	if (s->has_join_key) {
		gcli_b64_key(s->join_pub, b64);
		json_object_set_new(o, "join_key", json_pack("{s:s}", "public_key", b64));
	}
	int rc = json_dumpf(o, ctx->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', ctx->out);
	json_decref(o);
	return rc ? GCLI_EXIT_FAIL : GCLI_EXIT_OK;
}

static void show_line(struct gcli_ctx *ctx, const char *key, const char *value)
{
	char *clean = gcli_sanitize(value);
	fprintf(ctx->out, "  %-11s %s\n", key, clean ? clean : "?");
	free(clean);
}

static void show_validity(struct gcli_ctx *ctx, uint64_t nb, uint64_t na)
{
	char a[40], b[40], left[24], line[128];
	uint64_t now = (uint64_t)ctx->now;
	const char *state = now < nb ? "not yet valid" : now >= na ? "expired" : NULL;
	if (!state)
		gcli_fmt_age((int64_t)(na - now), left, sizeof(left));
	snprintf(line, sizeof(line), "%s to %s (%s%s)", gcli_fmt_time(nb, a, sizeof(a)),
		 gcli_fmt_time(na, b, sizeof(b)), state ? state : left, state ? "" : " left");
	show_line(ctx, "valid", line);
}

static void show_cert(struct gcli_ctx *ctx, const struct shown *s, size_t i)
{
	const struct gsm_cert *c = &s->certs[i];
	char key[45], buf[1024], hex[2 * GSM_ID_LEN + 1];
	size_t off = 0;
	fprintf(ctx->out, "certificate %zu: %s, serial %016" PRIx64 "\n", i + 1,
		c->kind == GSM_CERT_JOIN ? "join key" : "node", c->serial);
	if (c->kind == GSM_CERT_NODE) {
		show_line(ctx, "name", c->name);
		sodium_bin2hex(hex, sizeof(hex), c->subject, GSM_ID_LEN);
		show_line(ctx, "node id", hex);
	}
	gcli_b64_key(c->subject, key);
	show_line(ctx, "subject", key);
	gcli_b64_key(c->issuer, key);
	show_line(ctx, "issuer", key);
	show_validity(ctx, c->not_before, c->not_after);
	if (c->kind == GSM_CERT_JOIN)
		show_line(ctx, "max life",
			  gcli_fmt_age((int64_t)c->max_lifetime, buf, sizeof(buf)));
	if (c->has_overlay4 && gsm_prefix_format(&c->overlay4, buf, sizeof(buf)) > 0)
		show_line(ctx, "overlay4", buf);
	buf[0] = '\0';
	for (size_t k = 0; k < c->n_prefixes; k++) {
		char p[64];
		gsm_prefix_format(&c->prefixes[k], p, sizeof(p));
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", k ? " " : "", p);
	}
	show_line(ctx, "prefixes", c->n_prefixes ? buf : "-");
	roles_text(c->roles, buf, sizeof(buf));
	show_line(ctx, "roles", c->roles ? buf : "-");
	off = 0;
	buf[0] = '\0';
	for (size_t k = 0; k < c->n_labels && off < sizeof(buf); k++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s=%s", k ? " " : "",
					c->labels[k].key, c->labels[k].value);
	show_line(ctx, "labels", c->n_labels ? buf : "-");
	show_line(ctx, "ephemeral", (c->flags & GSM_CERT_F_EPHEMERAL) ? "yes" : "no");
	show_line(ctx, "signature", s->cert_sig_ok[i] ? "ok" : "BAD");
}

static void show_rev(struct gcli_ctx *ctx, const struct shown *s, size_t i)
{
	const struct gsm_revocation *r = &s->revs[i];
	char buf[64];
	fprintf(ctx->out, "revocation %zu\n", i + 1);
	if (r->has_serial) {
		snprintf(buf, sizeof(buf), "%016" PRIx64, r->serial);
		show_line(ctx, "serial", buf);
	}
	if (r->has_subject) {
		gcli_b64_key(r->subject, buf);
		show_line(ctx, "subject", buf);
	}
	gcli_b64_key(r->issuer, buf);
	show_line(ctx, "issuer", buf);
	show_line(ctx, "issued", gcli_fmt_time(r->issued_at, buf, sizeof(buf)));
	show_line(ctx, "expires", gcli_fmt_time(r->expires, buf, sizeof(buf)));
	show_line(ctx, "signature", s->rev_sig_ok[i] ? "ok" : "BAD");
}

static void show_human(const struct shown *s, struct gcli_ctx *ctx)
{
	char key[45];
	for (size_t i = 0; i < s->n_certs; i++)
		show_cert(ctx, s, i);
	if (s->delegation == 0)
		fprintf(ctx->out, "chain: certificate 1 lies within the join key's limits\n");
	else if (s->delegation != 1)
		fprintf(ctx->out, "chain: certificate 1 is outside the join key's limits: %s\n",
			s->delegation_why);
	for (size_t i = 0; i < s->n_revs; i++)
		show_rev(ctx, s, i);
	if (s->has_join_key) {
		gcli_b64_key(s->join_pub, key);
		fprintf(ctx->out, "join key: public key %s (the secret is not shown)\n", key);
	}
}

static int cert_show(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	char *text = NULL;
	struct shown *s = calloc(1, sizeof(*s));
	int ret = GCLI_EXIT_FAIL;
	int rc = s ? gcli_read_text(o->operand, &text) : -ENOMEM;
	if (rc) {
		fprintf(ctx->err, "gossamer: cert show: cannot read %s: %s\n", o->operand,
			rc == -EFBIG ? "too large" : strerror(-rc));
		goto out;
	}
	ret = show_collect(o->operand, text, ctx, s);
	if (ret)
		goto out;
	if (o->json)
		ret = show_json(s, ctx);
	else
		show_human(s, ctx);
	for (size_t i = 0; i < s->n_certs; i++)
		if (!s->cert_sig_ok[i])
			ret = GCLI_EXIT_FAIL;
	for (size_t i = 0; i < s->n_revs; i++)
		if (!s->rev_sig_ok[i])
			ret = GCLI_EXIT_FAIL;
	if (ret)
		fprintf(ctx->err, "gossamer: cert show: %s: a signature does not verify\n",
			o->operand);
out:
	if (text) {
		sodium_memzero(text, strlen(text)); /* a join key file holds a seed */
		free(text);
	}
	free(s);
	return ret;
}

int gcli_cert(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	if (gsm_crypto_init() < 0) {
		fprintf(ctx->err, "gossamer: cert: cannot initialise libsodium\n");
		return GCLI_EXIT_FAIL;
	}
	if (o->sub == GCLI_SUB_ISSUE)
		return cert_issue(o, ctx);
	if (o->sub == GCLI_SUB_SHOW)
		return cert_show(o, ctx);
	fputs(gcli_usage(GCLI_CMD_CERT), ctx->err);
	return GCLI_EXIT_USAGE;
}

/* ---- revoke FILE ---- */

/* The revocations of the file as base64 strings (a JSON array), checked
 * to decode; NULL with the message printed. */
static json_t *revocations_of(const char *path, struct gcli_ctx *ctx)
{
	char *text = NULL, b64[REV_B64];
	uint8_t der[GSM_REVOCATION_MAX];
	size_t len;
	struct gsm_revocation r;
	json_t *all = json_array();
	int rc = all ? gcli_read_text(path, &text) : -ENOMEM;
	if (rc) {
		fprintf(ctx->err, "gossamer: revoke: cannot read %s: %s\n", path,
			rc == -EFBIG ? "too large" : strerror(-rc));
		goto fail;
	}
	for (size_t i = 0;; i++) {
		rc = gsm_pem_find(text, GSM_PEM_REVOCATION, i, der, sizeof(der), &len);
		if (rc == -ENOENT && i > 0)
			break;
		if (rc == -ENOENT) {
			fprintf(ctx->err,
				"gossamer: revoke: %s holds no revocation (no GOSSAMER "
				"REVOCATION block)\n",
				path);
			goto fail;
		}
		if (!rc)
			rc = gsm_revocation_decode(der, len, &r);
		if (rc) {
			fprintf(ctx->err, "gossamer: revoke: %s: revocation %zu is malformed\n",
				path, i + 1);
			goto fail;
		}
		sodium_bin2base64(b64, sizeof(b64), der, len, sodium_base64_VARIANT_ORIGINAL);
		json_array_append_new(all, json_string(b64));
	}
	free(text);
	return all;
fail:
	free(text);
	json_decref(all);
	return NULL;
}

int gcli_revoke(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	struct gcli_client *c = NULL;
	json_t *all, *results = json_array(), *v;
	char err[512];
	size_t i;
	int ret = GCLI_EXIT_FAIL;
	if (gsm_crypto_init() < 0 || !results) {
		fprintf(ctx->err, "gossamer: revoke: cannot initialise\n");
		json_decref(results);
		return GCLI_EXIT_FAIL;
	}
	all = revocations_of(o->operand, ctx);
	if (!all)
		goto out;
	int e = gcli_client_connect(o->socket, &c);
	json_array_foreach(all, i, v)
	{
		json_t *args = json_pack("{s:O}", "revocation", v), *res = NULL;
		if (!e)
			e = gcli_client_call(c, "revoke", args, GCLI_CALL_TIMEOUT_MS, &res);
		json_decref(args);
		if (e)
			break;
		json_t *isnew = json_object_get(res, "new");
		if (!json_is_boolean(isnew)) {
			fprintf(ctx->err,
				"gossamer: revoke: unexpected answer from gossamerd: result lacks "
				"boolean field 'new'\n");
			json_decref(res);
			goto out;
		}
		if (!o->json)
			fprintf(ctx->out, "%s\n",
				json_is_true(isnew) ? "revocation accepted (new)"
						    : "already known");
		json_array_append_new(results, res);
	}
	if (e) {
		gcli_client_describe(c, o->socket, "revoke", e, err, sizeof(err));
		fprintf(ctx->err, "gossamer: %s\n", err);
		goto out;
	}
	ret = GCLI_EXIT_OK;
	if (o->json) {
		if (json_dumpf(results, ctx->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER))
			ret = GCLI_EXIT_FAIL;
		fputc('\n', ctx->out);
	}
out:
	gcli_client_free(c);
	json_decref(all);
	json_decref(results);
	return ret;
}
