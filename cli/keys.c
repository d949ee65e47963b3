/*
 * cli/keys.c - `gossamer keygen` and `gossamer pubkey`: preparing nodes
 * offline.
 *
 * What: three kinds of secret, each in exactly the format gossamerd reads:
 *   identity   the node's Ed25519 identity: its 32-byte seed, base64, one
 *              line (gossip/crypto.h gsm_identity_save/load); the public
 *              key is the node id shown by `gossamer members`;
 *   wireguard  a Curve25519 private key, base64, like `wg genkey`;
 *   cluster    a cluster key ring ("<key id> <base64 key>" lines,
 *              gsm_keyring_save/load) with one fresh 32-byte key.
 *
 * Why: operators pre-seed machines (cloud-init, config management) and want
 * to know a node's id before it first boots, e.g. to pin it or to write
 * it into an inventory.  `keygen ... -o FILE` therefore prints the public
 * half (node id / WireGuard public key) on stdout; without -o the secret
 * itself is the output, so it composes with pipes like `wg genkey`.
 *
 * Safety: files are written through the gossip library (atomic, mode 0600)
 * or, for WireGuard keys, by the common atomic writer (common/fileio.h:
 * temp file in the target directory, fsync, rename); an existing file is
 * never replaced without --force, because overwriting an identity silently
 * turns a node into a different node.  Secrets live in sodium_malloc'd memory and are wiped.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "gossip/crypto.h"

#define KEY_LEN	    32
#define B64_LEN	    sodium_base64_ENCODED_LEN(KEY_LEN, sodium_base64_VARIANT_ORIGINAL)
#define MAX_KEYFILE 4096

static void b64(const uint8_t *k, char out[B64_LEN])
{
	sodium_bin2base64(out, B64_LEN, k, KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

static void hex(const uint8_t *k, char out[2 * KEY_LEN + 1])
{
	sodium_bin2hex(out, 2 * KEY_LEN + 1, k, KEY_LEN);
}

static int refuse_existing(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	struct stat st;
	if (!o->force && lstat(o->output, &st) == 0) {
		fprintf(ctx->err, "gossamer: keygen: %s exists (use --force to replace it)\n",
			o->output);
		return -EEXIST;
	}
	return 0;
}

/* Durable atomic write of one line, mode 0600 (common/fileio.h). */
static int write_secret_file(const char *path, const char *line)
{
	char buf[B64_LEN + 1];
	size_t len = strlen(line);
	int rc;

	if (len + 1 > sizeof(buf))
		return -EINVAL;
	memcpy(buf, line, len);
	buf[len] = '\n';
	rc = gsc_write_atomic(path, buf, len + 1, 0600, GSC_WRITE_DURABLE);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

static int keygen_identity(const struct gcli_opts *o, struct gcli_ctx *ctx, uint8_t *seed)
{
	struct gsm_identity *id = NULL;
	char text[B64_LEN], idhex[2 * KEY_LEN + 1];
	int rc = gsm_identity_from_seed(seed, &id);
	if (rc) {
		fprintf(ctx->err, "gossamer: keygen: %s\n", gsm_strerror(rc));
		goto out;
	}
	if (!o->output) {
		b64(seed, text);
		fprintf(ctx->out, "%s\n", text);
		sodium_memzero(text, sizeof(text));
		goto out;
	}
	rc = gsm_identity_save(id, o->output);
	if (rc) {
		fprintf(ctx->err, "gossamer: keygen: cannot write %s: %s\n", o->output,
			gsm_strerror(rc));
		goto out;
	}
	hex(gsm_identity_public(id), idhex);
	fprintf(ctx->out, "%s\n", idhex);
out:
	gsm_identity_free(id);
	return rc;
}

static int keygen_wireguard(const struct gcli_opts *o, struct gcli_ctx *ctx, uint8_t *k)
{
	char text[B64_LEN];
	uint8_t pub[KEY_LEN];
	int rc = 0;
	/* Curve25519 clamping, as `wg genkey` does */
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
	b64(k, text);
	if (!o->output) {
		fprintf(ctx->out, "%s\n", text);
		goto out;
	}
	rc = write_secret_file(o->output, text);
	if (rc) {
		fprintf(ctx->err, "gossamer: keygen: cannot write %s: %s\n", o->output,
			strerror(-rc));
		goto out;
	}
	crypto_scalarmult_base(pub, k);
	b64(pub, text);
	fprintf(ctx->out, "%s\n", text);
out:
	sodium_memzero(text, sizeof(text));
	return rc;
}

static int keygen_cluster(const struct gcli_opts *o, struct gcli_ctx *ctx, uint8_t *k)
{
	struct gsm_keyring *kr = NULL;
	char text[B64_LEN];
	int rc = 0;
	if (!o->output) {
		b64(k, text);
		fprintf(ctx->out, "%u %s\n", (unsigned)o->key_id, text);
		sodium_memzero(text, sizeof(text));
		return 0;
	}
	rc = gsm_keyring_new("gossamer", &kr);
	if (!rc)
		rc = gsm_keyring_add(kr, o->key_id, k);
	if (rc) {
		fprintf(ctx->err, "gossamer: keygen: %s\n", gsm_strerror(rc));
		goto out;
	}
	rc = gsm_keyring_save(kr, o->output);
	if (rc)
		fprintf(ctx->err, "gossamer: keygen: cannot write %s: %s\n", o->output,
			gsm_strerror(rc));
out:
	gsm_keyring_free(kr);
	return rc;
}

int gcli_keygen(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	int rc;
	uint8_t *k = NULL;
	if (gsm_crypto_init() < 0) {
		fprintf(ctx->err, "gossamer: keygen: cannot initialise libsodium\n");
		return GCLI_EXIT_FAIL;
	}
	if (o->output && refuse_existing(o, ctx))
		return GCLI_EXIT_FAIL;
	k = sodium_malloc(KEY_LEN);
	if (!k) {
		fprintf(ctx->err, "gossamer: keygen: out of memory\n");
		return GCLI_EXIT_FAIL;
	}
	randombytes_buf(k, KEY_LEN);
	switch (o->key_kind) {
	case GCLI_KEY_IDENTITY:
		rc = keygen_identity(o, ctx, k);
		break;
	case GCLI_KEY_WIREGUARD:
		rc = keygen_wireguard(o, ctx, k);
		break;
	case GCLI_KEY_CLUSTER:
		rc = keygen_cluster(o, ctx, k);
		break;
	default:
		rc = -EINVAL;
		break;
	}
	sodium_free(k);
	return rc ? GCLI_EXIT_FAIL : GCLI_EXIT_OK;
}

/* Read a whole small key file (or stdin) into sodium memory; trims
 * surrounding whitespace.  Returns the length or a negative errno. */
static ssize_t read_key_text(const char *path, char *buf, size_t cap)
{
	int fd = (!path || !strcmp(path, "-")) ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	ssize_t rc = 0;
	for (;;) {
		if (len == cap) {
			rc = -EFBIG;
			break;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (rc)
		return rc;
	size_t s = 0;
	while (s < len && (buf[s] == ' ' || buf[s] == '\t' || buf[s] == '\n' || buf[s] == '\r'))
		s++;
	while (len > s && (buf[len - 1] == ' ' || buf[len - 1] == '\t' || buf[len - 1] == '\n' ||
			   buf[len - 1] == '\r'))
		len--;
	memmove(buf, buf + s, len - s);
	len -= s;
	buf[len] = '\0';
	return (ssize_t)len;
}

int gcli_pubkey(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	int ret = GCLI_EXIT_FAIL;
	char *text = NULL;
	uint8_t *k = NULL;
	struct gsm_identity *id = NULL;
	const char *src = (!o->input || !strcmp(o->input, "-")) ? "stdin" : o->input;
	if (gsm_crypto_init() < 0) {
		fprintf(ctx->err, "gossamer: pubkey: cannot initialise libsodium\n");
		return GCLI_EXIT_FAIL;
	}
	text = sodium_malloc(MAX_KEYFILE + 1);
	k = sodium_malloc(KEY_LEN);
	if (!text || !k) {
		fprintf(ctx->err, "gossamer: pubkey: out of memory\n");
		goto out;
	}
	ssize_t len = read_key_text(o->input, text, MAX_KEYFILE);
	if (len < 0) {
		fprintf(ctx->err, "gossamer: pubkey: cannot read %s: %s\n", src,
			len == -EFBIG ? "too large for a key" : strerror((int)-len));
		goto out;
	}
	size_t klen = 0;
	const char *end = NULL;
	if (sodium_base642bin(k, KEY_LEN, text, (size_t)len, NULL, &klen, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    klen != KEY_LEN || (end && *end)) {
		fprintf(ctx->err, "gossamer: pubkey: %s is not a %s key (base64 of 32 bytes)\n",
			src, o->key_kind == GCLI_KEY_IDENTITY ? "identity" : "WireGuard");
		goto out;
	}
	if (o->key_kind == GCLI_KEY_IDENTITY) {
		char idhex[2 * KEY_LEN + 1];
		int rc = gsm_identity_from_seed(k, &id);
		if (rc) {
			fprintf(ctx->err, "gossamer: pubkey: %s\n", gsm_strerror(rc));
			goto out;
		}
		hex(gsm_identity_public(id), idhex);
		fprintf(ctx->out, "%s\n", idhex);
	} else {
		uint8_t pub[KEY_LEN];
		char out[B64_LEN];
		crypto_scalarmult_base(pub, k);
		b64(pub, out);
		fprintf(ctx->out, "%s\n", out);
	}
	ret = GCLI_EXIT_OK;
out:
	gsm_identity_free(id);
	sodium_free(text);
	sodium_free(k);
	return ret;
}
