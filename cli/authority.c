/*
 * cli/authority.c - `gossamer authority init|sign|join-key|revoke`: the
 * offline certificate authority of authority mode (gossip/cert.h,
 * docs/authority.md).
 *
 * What: an authority is a directory made by `authority init`:
 *   authority.key  the Ed25519 seed, in the identity key-file format
 *                  (base64, one line, 0600; gsm_identity_load/save rules);
 *   authority.pub  its public key, base64, for the nodes' `authority =`;
 *   issued         the issuance log, one line per certificate signed:
 *                  "<serial 16 hex> <node|join> <subject b64> <name|-> <not_after>".
 * `sign` makes node certificates, `join-key` makes a join key (a fresh
 * Ed25519 key plus the JOIN certificate that delegates to it, one 0600
 * file), `revoke` makes a signed revocation for a serial or a subject.
 *
 * Why a log: a revocation must say until when it is needed (its expiry is
 * the revoked certificate's not_after, after which nodes may forget it),
 * and operators revoke by the name they know.  The log answers both: the
 * latest not_after for a name's or key's certificates, or for a serial.
 * It is appended (and synced) BEFORE the certificate file is written, so a
 * certificate that exists is always in the log; an entry for a certificate
 * whose file was never written costs nothing.  Without a log entry the
 * operator must say --until.
 *
 * Safety: the authority key is created by writing a 0600 temporary file
 * atomically (common/fileio.h) and link()ing it to its name, which fails
 * rather than replace an existing key; reading it uses the project-wide
 * secret-file rules (no symlink, not group/world accessible).  Join-key
 * files are secrets too and are built in sodium memory.  Policy that the
 * receivers enforce anyway is refused here first with the reason (0/0
 * without --role exit, --role exit on a join key), so an operator never
 * ships a certificate nodes will reject.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "gossip/cert.h"
#include "gossip/crypto.h"
#include "gossip/keyfile.h"

#define KEY_FILE "authority.key"
#define PUB_FILE "authority.pub"
#define LOG_FILE "issued"

#define SIGN_VALID_S	    (365ull * 86400)
#define JOIN_VALID_S	    (7ull * 86400)
#define JOIN_MAX_LIFETIME_S (30ull * 86400)
#define PEM_MAX		    8192
#define TEXT_MAX	    (1u << 20)

/* ---- small shared helpers (declared in cli/cli.h) ---- */

void gcli_b64_key(const uint8_t key[32], char out[45])
{
	sodium_bin2base64(out, 45, key, 32, sodium_base64_VARIANT_ORIGINAL);
}

char *gcli_fmt_time(uint64_t unix_s, char *buf, size_t cap)
{
	time_t t = (time_t)unix_s;
	struct tm tm;
	if (unix_s > (uint64_t)INT64_MAX || !gmtime_r(&t, &tm) ||
	    !strftime(buf, cap, "%Y-%m-%d %H:%M:%SZ", &tm))
		snprintf(buf, cap, "%" PRIu64, unix_s);
	return buf;
}

int gcli_parse_pubkey(const char *s, uint8_t out[32])
{
	size_t n = strlen(s), bin = 0;
	const char *end = NULL;
	int rc = -1;
	if (n == 64)
		rc = sodium_hex2bin(out, 32, s, n, NULL, &bin, &end);
	else if (n == 44)
		rc = sodium_base642bin(out, 32, s, n, NULL, &bin, &end,
				       sodium_base64_VARIANT_ORIGINAL);
	return (rc == 0 && bin == 32 && (!end || !*end)) ? 0 : -EINVAL;
}

int gcli_resolve_pubkey(const char *arg, uint8_t out[32], char *why, size_t cap)
{
	struct gsm_identity *id = NULL;
	if (!gcli_parse_pubkey(arg, out))
		return 0;
	int rc = gsm_identity_load(arg, &id);
	if (!rc) {
		memcpy(out, gsm_identity_public(id), 32);
		gsm_identity_free(id);
		return 0;
	}
	if (rc == -ENOENT)
		snprintf(why, cap,
			 "'%s' is neither a public key (base64 or 64 hex digits) nor an "
			 "identity key file",
			 arg);
	else if (rc == -EACCES || rc == -ELOOP) {
		if (gsc_check_secret(arg, why, cap) == 0 || !*why)
			snprintf(why, cap, "cannot read %s: %s", arg, strerror(-rc));
	} else if (rc == -EINVAL)
		snprintf(why, cap, "%s is not an identity key file", arg);
	else
		snprintf(why, cap, "cannot read %s: %s", arg, strerror(-rc));
	return rc;
}

int gcli_read_text(const char *path, char **text)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int rc = 0, fd = open(path, O_RDONLY | O_CLOEXEC);
	*text = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if (st.st_size > TEXT_MAX) {
		rc = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*text = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rc;
}

static uint32_t roles_from_opts(uint32_t r)
{
	return ((r & GCLI_ROLE_RELAY) ? GSM_ROLE_RELAY : 0) |
	       ((r & GCLI_ROLE_EXIT) ? GSM_ROLE_EXIT : 0) |
	       ((r & GCLI_ROLE_GATEWAY) ? GSM_ROLE_GATEWAY : 0);
}

int gcli_cert_claims(const struct gcli_opts *o, struct gsm_cert *c, char *why, size_t cap)
{
	char p[64];
	if (o->name)
		snprintf(c->name, sizeof(c->name), "%s", o->name);
	if (o->has_overlay4) {
		c->has_overlay4 = 1;
		c->overlay4 = o->overlay4;
	}
	c->roles = roles_from_opts(o->roles);
	if (o->n_prefixes > GSM_CERT_MAX_PREFIXES) {
		snprintf(why, cap, "at most %d prefixes", GSM_CERT_MAX_PREFIXES);
		return -EINVAL;
	}
	for (size_t i = 0; i < o->n_prefixes; i++) {
		c->prefixes[i] = o->prefixes[i];
		if (c->kind == GSM_CERT_NODE && o->prefixes[i].len == 0 &&
		    !(c->roles & GSM_ROLE_EXIT)) {
			gsm_prefix_format(&o->prefixes[i], p, sizeof(p));
			snprintf(why, cap, "prefix %s needs --role exit", p);
			return -EINVAL;
		}
	}
	c->n_prefixes = (uint8_t)o->n_prefixes;
	if (o->n_labels > GSM_CERT_MAX_LABELS) {
		snprintf(why, cap, "at most %d labels", GSM_CERT_MAX_LABELS);
		return -EINVAL;
	}
	for (size_t i = 0; i < o->n_labels; i++) {
		const struct gcli_label_filter *l = &o->labels[i];
		if (c->kind != GSM_CERT_JOIN && !strcmp(l->value, "*")) {
			snprintf(why, cap, "label %s=*: '*' is only for join keys", l->key);
			return -EINVAL;
		}
		snprintf(c->labels[i].key, sizeof(c->labels[i].key), "%s", l->key);
		snprintf(c->labels[i].value, sizeof(c->labels[i].value), "%s", l->value);
	}
	c->n_labels = (uint8_t)o->n_labels;
	if (o->ephemeral)
		c->flags |= GSM_CERT_F_EPHEMERAL;
	struct gsm_cert probe = *c; /* the claims alone: times and keys come later */
	probe.not_before = 0;
	probe.not_after = 1;
	probe.max_lifetime = c->kind == GSM_CERT_JOIN;
	if (gsm_cert_normalize(&probe)) {
		snprintf(why, cap,
			 "the certificate would be invalid (a repeated prefix or label "
			 "key, or a label with control characters)");
		return -EINVAL;
	}
	return 0;
}

/* ---- the authority directory ---- */

__attribute__((format(printf, 3, 4))) static int say(struct gcli_ctx *ctx, const char *what,
						     const char *fmt, ...)
{
	va_list ap;
	fprintf(ctx->err, "gossamer: authority %s: ", what);
	va_start(ap, fmt);
	vfprintf(ctx->err, fmt, ap);
	va_end(ap);
	fputc('\n', ctx->err);
	return GCLI_EXIT_FAIL;
}

static int dir_path(const char *dir, const char *file, char out[PATH_MAX])
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, file);
	return (n < 0 || n >= PATH_MAX) ? -ENAMETOOLONG : 0;
}

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

static uint64_t new_serial(void)
{
	uint64_t s = 0;
	while (s == 0)
		randombytes_buf(&s, sizeof(s));
	return s;
}

/* The authority key of dir, or an exit status (message printed). */
static int authority_load(const char *dir, const char *what, struct gcli_ctx *ctx,
			  struct gsm_identity **id)
{
	char path[PATH_MAX], msg[512] = "";
	if (dir_path(dir, KEY_FILE, path))
		return say(ctx, what, "path too long: %s", dir);
	int rc = gsm_identity_load(path, id);
	if (!rc)
		return GCLI_EXIT_OK;
	if (rc == -ENOENT)
		return say(ctx, what, "no authority key %s (run `gossamer authority init %s`)",
			   path, dir);
	if ((rc == -EACCES || rc == -ELOOP) && gsc_check_secret(path, msg, sizeof(msg)) && *msg)
		return say(ctx, what, "%s", msg);
	return say(ctx, what, "cannot read %s: %s", path,
		   rc == -EINVAL ? "not an authority key file" : strerror(-rc));
}

/* Append one line to dir/issued and sync it. */
static int log_append(const char *dir, const struct gsm_cert *c)
{
	char path[PATH_MAX], subj[45], line[256];
	int rc = dir_path(dir, LOG_FILE, path);
	if (rc)
		return rc;
	gcli_b64_key(c->subject, subj);
	int n = snprintf(line, sizeof(line), "%016" PRIx64 " %s %s %s %" PRIu64 "\n", c->serial,
			 c->kind == GSM_CERT_JOIN ? "join" : "node", subj,
			 c->name[0] ? c->name : "-", c->not_after);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ssize_t w = write(fd, line, (size_t)n);
	if (w != n)
		rc = w < 0 ? -errno : -EIO;
	else if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

struct log_entry {
	uint64_t serial;
	bool join;
	uint8_t subject[32];
	char name[GSM_MAX_NAME + 1];
	uint64_t not_after;
};

static int log_parse_line(const char *line, struct log_entry *e)
{
	char kind[8], subj[64], name[GSM_MAX_NAME + 2];
	if (sscanf(line, "%16" SCNx64 " %7s %63s %64s %" SCNu64, &e->serial, kind, subj, name,
		   &e->not_after) != 5)
		return -EINVAL;
	if (strcmp(kind, "node") && strcmp(kind, "join"))
		return -EINVAL;
	if (gcli_parse_pubkey(subj, e->subject) || strlen(name) > GSM_MAX_NAME)
		return -EINVAL;
	e->join = !strcmp(kind, "join");
	snprintf(e->name, sizeof(e->name), "%s", strcmp(name, "-") ? name : "");
	return 0;
}

/* What the log says about a revocation target. */
struct log_query {
	bool by_serial, by_subject, by_name;
	uint64_t serial;
	uint8_t subject[32];
	const char *name;
	/* results */
	size_t hits;
	uint64_t not_after; /* latest */
	size_t n_subjects;  /* by_name: distinct subjects seen (1 or more) */
};

static void log_match(struct log_query *q, const struct log_entry *e)
{
	bool hit = (q->by_serial && e->serial == q->serial) ||
		   (q->by_subject && !memcmp(e->subject, q->subject, 32)) ||
		   (q->by_name && !e->join && !strcmp(e->name, q->name));
	if (!hit)
		return;
	if (q->by_name && q->hits == 0) {
		memcpy(q->subject, e->subject, 32);
		q->n_subjects = 1;
	} else if (q->by_name && memcmp(q->subject, e->subject, 32)) {
		q->n_subjects = 2;
	}
	q->hits++;
	if (e->not_after > q->not_after)
		q->not_after = e->not_after;
}

/* Scan dir/issued; malformed lines are reported and skipped. */
static int log_scan(const char *dir, struct log_query *q, struct gcli_ctx *ctx)
{
	char path[PATH_MAX], *text = NULL, *save = NULL;
	int rc = dir_path(dir, LOG_FILE, path);
	if (!rc)
		rc = gcli_read_text(path, &text);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	size_t lineno = 0;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		struct log_entry e;
		lineno++;
		if (log_parse_line(l, &e)) {
			fprintf(ctx->err, "gossamer: warning: %s:%zu: not a log line, ignored\n",
				path, lineno);
			continue;
		}
		log_match(q, &e);
	}
	free(text);
	return 0;
}

/* ---- init ---- */

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

/* Write the key to a temporary 0600 file, then link it to its name:
 * link() never replaces an existing key (-EEXIST). */
static int key_create(const char *dir, const struct gsm_identity *id)
{
	char path[PATH_MAX], tmp[PATH_MAX], *text = gsm_keyfile_alloc();
	size_t len;
	int rc = dir_path(dir, KEY_FILE, path);
	if (!rc)
		rc = dir_path(dir, "." KEY_FILE ".new", tmp);
	if (!text)
		rc = -ENOMEM;
	if (!rc)
		rc = gsm_identity_to_text(id, text, GSM_KEYFILE_MAX + 1, &len);
	if (!rc)
		rc = gsm_keyfile_write(tmp, text, len);
	gsm_keyfile_free(text);
	if (rc)
		return rc;
	if (link(tmp, path))
		rc = -errno;
	unlink(tmp);
	if (!rc)
		rc = fsync_dir(dir);
	return rc;
}

static int authority_init(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	const char *dir = o->operand;
	char path[PATH_MAX], pub[45], line[46];
	struct gsm_identity *id = NULL;
	struct stat st;
	int ret = GCLI_EXIT_FAIL, rc;
	if (mkdir(dir, 0700) && errno != EEXIST)
		return say(ctx, "init", "cannot create %s: %s", dir, strerror(errno));
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return say(ctx, "init", "%s is not a directory", dir);
	if (dir_path(dir, KEY_FILE, path))
		return say(ctx, "init", "path too long: %s", dir);
	if (lstat(path, &st) == 0)
		return say(ctx, "init", "%s exists: refusing to replace an authority key", path);
	rc = gsm_identity_generate(&id);
	if (!rc)
		rc = key_create(dir, id);
	if (rc == -EEXIST) {
		say(ctx, "init", "%s exists: refusing to replace an authority key", path);
		goto out;
	}
	if (rc) {
		say(ctx, "init", "cannot write %s: %s", path, strerror(-rc));
		goto out;
	}
	gcli_b64_key(gsm_identity_public(id), pub);
	snprintf(line, sizeof(line), "%s\n", pub);
	rc = dir_path(dir, PUB_FILE, path);
	if (!rc)
		rc = gsc_write_atomic(path, line, strlen(line), 0644, GSC_WRITE_DURABLE);
	if (rc) {
		say(ctx, "init", "cannot write %s: %s", path, strerror(-rc));
		goto out;
	}
	int fd = dir_path(dir, LOG_FILE, path)
		     ? -1
		     : open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		say(ctx, "init", "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	close(fd);
	fprintf(ctx->out, "%s\n", pub);
	ret = GCLI_EXIT_OK;
out:
	gsm_identity_free(id);
	return ret;
}

/* ---- sign / join-key ---- */

static void validity(const struct gcli_opts *o, uint64_t def_s, struct gsm_cert *c)
{
	uint64_t now = now_s();

	/* valid from a little before now (clocks behind ours), until --valid
	 * from now: what the operator asked for is what the receivers see */
	c->not_before = now - GCLI_CERT_BACKDATE_S;
	c->not_after = now + (o->has_valid ? o->valid_s : def_s);
}

/* Log, sign and append the PEM block to text (of cap bytes). */
static int sign_logged(const struct gcli_opts *o, const char *what, struct gcli_ctx *ctx,
		       const struct gsm_identity *auth, struct gsm_cert *c, char *text, size_t cap,
		       size_t *len)
{
	uint8_t der[GSM_CERT_MAX];
	size_t der_len;
	int rc = gsm_cert_sign(c, auth, der, sizeof(der), &der_len);
	if (rc)
		return say(ctx, what, "cannot sign the certificate: %s", strerror(-rc));
	rc = log_append(o->authority_dir, c);
	if (rc)
		return say(ctx, what, "cannot append to %s/%s: %s", o->authority_dir, LOG_FILE,
			   strerror(-rc));
	rc = gsm_pem_append(GSM_PEM_CERT, der, der_len, text, cap, len);
	if (rc)
		return say(ctx, what, "cannot encode the certificate: %s", strerror(-rc));
	return GCLI_EXIT_OK;
}

static int authority_sign(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	struct gsm_identity *auth = NULL;
	struct gsm_cert c;
	char why[256] = "", text[PEM_MAX] = "", until[40];
	size_t len = 0;
	memset(&c, 0, sizeof(c));
	c.kind = GSM_CERT_NODE;
	if (gcli_resolve_pubkey(o->node_key, c.subject, why, sizeof(why)))
		return say(ctx, "sign", "--node-key: %s", why);
	if (gcli_cert_claims(o, &c, why, sizeof(why)))
		return say(ctx, "sign", "%s", why);
	int ret = authority_load(o->authority_dir, "sign", ctx, &auth);
	if (ret)
		return ret;
	memcpy(c.issuer, gsm_identity_public(auth), GSM_ID_LEN);
	c.serial = new_serial();
	validity(o, SIGN_VALID_S, &c);
	ret = sign_logged(o, "sign", ctx, auth, &c, text, sizeof(text), &len);
	if (ret)
		goto out;
	int rc = gsc_write_atomic(o->output, text, len, 0644, GSC_WRITE_DURABLE);
	if (rc) {
		ret = say(ctx, "sign", "cannot write %s: %s", o->output, strerror(-rc));
		goto out;
	}
	fprintf(ctx->out, "certificate %016" PRIx64 " for %s, valid until %s, written to %s\n",
		c.serial, c.name, gcli_fmt_time(c.not_after, until, sizeof(until)), o->output);
out:
	gsm_identity_free(auth);
	return ret;
}

static int authority_join_key(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	struct gsm_identity *auth = NULL, *jk = NULL;
	struct gsm_cert c;
	char why[256] = "", until[40], pub[45];
	char *text = gsm_keyfile_alloc(); /* holds the join key's seed */
	uint8_t *seed = sodium_malloc(32);
	size_t len = 0;
	int ret = GCLI_EXIT_FAIL, rc;
	memset(&c, 0, sizeof(c));
	c.kind = GSM_CERT_JOIN;
	if (!text || !seed) {
		say(ctx, "join-key", "out of memory");
		goto out;
	}
	if (o->roles & GCLI_ROLE_EXIT) {
		say(ctx, "join-key",
		    "a join key cannot grant --role exit (sign exit nodes with `authority sign`)");
		goto out;
	}
	if (gcli_cert_claims(o, &c, why, sizeof(why))) {
		say(ctx, "join-key", "%s", why);
		goto out;
	}
	ret = authority_load(o->authority_dir, "join-key", ctx, &auth);
	if (ret)
		goto out;
	ret = GCLI_EXIT_FAIL;
	randombytes_buf(seed, 32);
	if (gsm_identity_from_seed(seed, &jk)) {
		say(ctx, "join-key", "cannot derive the join key");
		goto out;
	}
	memcpy(c.subject, gsm_identity_public(jk), GSM_ID_LEN);
	memcpy(c.issuer, gsm_identity_public(auth), GSM_ID_LEN);
	c.serial = new_serial();
	c.max_lifetime = o->has_max_lifetime ? o->max_lifetime_s : JOIN_MAX_LIFETIME_S;
	validity(o, JOIN_VALID_S, &c);
	rc = gsm_pem_append(GSM_PEM_JOIN_KEY, seed, 32, text, GSM_KEYFILE_MAX + 1, &len);
	if (rc) {
		say(ctx, "join-key", "cannot encode the join key: %s", strerror(-rc));
		goto out;
	}
	ret = sign_logged(o, "join-key", ctx, auth, &c, text, GSM_KEYFILE_MAX + 1, &len);
	if (ret)
		goto out;
	rc = gsm_keyfile_write(o->output, text, len);
	if (rc) {
		ret = say(ctx, "join-key", "cannot write %s: %s", o->output, strerror(-rc));
		goto out;
	}
	gcli_b64_key(c.subject, pub);
	fprintf(ctx->out, "join key %s (serial %016" PRIx64 "), valid until %s, written to %s\n",
		pub, c.serial, gcli_fmt_time(c.not_after, until, sizeof(until)), o->output);
out:
	gsm_identity_free(jk);
	gsm_identity_free(auth);
	gsm_keyfile_free(text);
	sodium_free(seed);
	return ret;
}

/* ---- revoke ---- */

/* Fill the target of r (serial or subject) and the log query for it. */
static int revoke_target(const struct gcli_opts *o, struct gcli_ctx *ctx, struct gsm_revocation *r,
			 struct log_query *q, uint64_t *cert_not_after)
{
	const char *t = o->operand;
	uint64_t v;
	if (o->cert_file) {
		char *text = NULL;
		uint8_t der[GSM_CERT_MAX];
		size_t len;
		struct gsm_cert c;
		int rc = gcli_read_text(o->cert_file, &text);
		if (!rc)
			rc = gsm_pem_find(text, GSM_PEM_CERT, 0, der, sizeof(der), &len);
		if (!rc)
			rc = gsm_cert_decode(der, len, &c);
		free(text);
		if (rc)
			return say(ctx, "revoke", "--cert %s: %s", o->cert_file,
				   rc == -ENOENT    ? "no certificate in it"
				   : rc == -EBADMSG ? "not a valid certificate"
						    : strerror(-rc));
		q->by_serial = true;
		r->has_serial = 1;
		q->serial = r->serial = c.serial;
		*cert_not_after = c.not_after;
		return GCLI_EXIT_OK;
	}
	if (strlen(t) == 16 && strspn(t, "0123456789abcdefABCDEF") == 16) {
		char *end;
		v = strtoull(t, &end, 16);
		q->by_serial = true;
		r->has_serial = 1;
		q->serial = r->serial = v;
		return GCLI_EXIT_OK;
	}
	if (!gcli_parse_pubkey(t, r->subject)) {
		q->by_subject = true;
		r->has_subject = 1;
		memcpy(q->subject, r->subject, 32);
		return GCLI_EXIT_OK;
	}
	q->by_name = true;
	q->name = t;
	r->has_subject = 1; /* the subject comes from the log */
	return GCLI_EXIT_OK;
}

/* The revocation's expiry: --until, else the log's (or the --cert's)
 * latest not_after.  An exit status. */
static int revoke_expiry(const struct gcli_opts *o, struct gcli_ctx *ctx, const struct log_query *q,
			 uint64_t cert_not_after, uint64_t *expires)
{
	char when[40];
	uint64_t now = now_s(),
		 known = q->not_after > cert_not_after ? q->not_after : cert_not_after;
	if (q->by_name && q->hits == 0)
		return say(ctx, "revoke",
			   "no certificate named %s in %s/%s (revoke by NODE-ID or SERIAL, with "
			   "--until)",
			   q->name, o->authority_dir, LOG_FILE);
	if (q->by_name && q->n_subjects > 1)
		return say(ctx, "revoke",
			   "%s was issued to several node keys; revoke each by its NODE-ID",
			   q->name);
	if (o->has_until) {
		*expires = o->until_relative ? now + o->until_s : o->until_s;
		if (*expires <= now)
			return say(ctx, "revoke", "--until %s is in the past",
				   gcli_fmt_time(*expires, when, sizeof(when)));
		return GCLI_EXIT_OK;
	}
	if (known == 0)
		return say(ctx, "revoke",
			   "%s is not in %s/%s: give --until TIME (when its certificates "
			   "expire)",
			   o->operand, o->authority_dir, LOG_FILE);
	if (known <= now)
		return say(ctx, "revoke",
			   "its certificates expired on %s: nothing to revoke (--until forces "
			   "it)",
			   gcli_fmt_time(known, when, sizeof(when)));
	*expires = known;
	return GCLI_EXIT_OK;
}

static void describe_revocation(const struct gsm_revocation *r, const char *name, char *buf,
				size_t cap)
{
	char key[45];
	if (r->has_serial) {
		snprintf(buf, cap, "certificate %016" PRIx64, r->serial);
		return;
	}
	gcli_b64_key(r->subject, key);
	snprintf(buf, cap, "every certificate of %s%s%s%s", key, name ? " (" : "", name ? name : "",
		 name ? ")" : "");
}

static int authority_revoke(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	struct gsm_identity *auth = NULL;
	struct gsm_revocation r;
	struct log_query q;
	uint8_t der[GSM_REVOCATION_MAX];
	char text[PEM_MAX] = "", desc[160], until[40];
	size_t der_len, len = 0;
	uint64_t cert_not_after = 0;
	memset(&r, 0, sizeof(r));
	memset(&q, 0, sizeof(q));
	int ret = revoke_target(o, ctx, &r, &q, &cert_not_after);
	if (ret)
		return ret;
	int rc = log_scan(o->authority_dir, &q, ctx);
	if (rc)
		return say(ctx, "revoke", "cannot read %s/%s: %s", o->authority_dir, LOG_FILE,
			   strerror(-rc));
	if (q.by_name)
		memcpy(r.subject, q.subject, 32);
	ret = revoke_expiry(o, ctx, &q, cert_not_after, &r.expires);
	if (ret)
		return ret;
	ret = authority_load(o->authority_dir, "revoke", ctx, &auth);
	if (ret)
		return ret;
	memcpy(r.issuer, gsm_identity_public(auth), GSM_ID_LEN);
	r.issued_at = now_s();
	rc = gsm_revocation_sign(&r, auth, der, sizeof(der), &der_len);
	if (!rc)
		rc = gsm_pem_append(GSM_PEM_REVOCATION, der, der_len, text, sizeof(text), &len);
	if (rc) {
		ret = say(ctx, "revoke", "cannot sign the revocation: %s", strerror(-rc));
		goto out;
	}
	rc = gsc_write_atomic(o->output, text, len, 0644, GSC_WRITE_DURABLE);
	if (rc) {
		ret = say(ctx, "revoke", "cannot write %s: %s", o->output, strerror(-rc));
		goto out;
	}
	describe_revocation(&r, q.by_name ? q.name : NULL, desc, sizeof(desc));
	fprintf(ctx->out, "revocation of %s, held until %s, written to %s\n", desc,
		gcli_fmt_time(r.expires, until, sizeof(until)), o->output);
out:
	gsm_identity_free(auth);
	return ret;
}

int gcli_authority(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	if (gsm_crypto_init() < 0) {
		fprintf(ctx->err, "gossamer: authority: cannot initialise libsodium\n");
		return GCLI_EXIT_FAIL;
	}
	switch (o->sub) {
	case GCLI_SUB_INIT:
		return authority_init(o, ctx);
	case GCLI_SUB_SIGN:
		return authority_sign(o, ctx);
	case GCLI_SUB_JOIN_KEY:
		return authority_join_key(o, ctx);
	case GCLI_SUB_REVOKE:
		return authority_revoke(o, ctx);
	default:
		fputs(gcli_usage(GCLI_CMD_AUTHORITY), ctx->err);
		return GCLI_EXIT_USAGE;
	}
}
