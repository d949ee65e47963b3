/*
 * tests/daemon/mkcert.c - certificates for the daemon's authority-mode
 * integration test (test_authority.py), made with the gossip library
 * (gsm_cert_sign, gsm_revocation_sign, gsm_pem_append) so the test does
 * not depend on the CLI's `gossamer authority` commands.  Not installed.
 *
 *   mkcert key FILE
 *       new Ed25519 identity key file (0600, the daemon's identity.key
 *       format); prints "<base64 public key> <hex public key>"
 *   mkcert node AUTHKEY SUBJECT_HEX NAME VALID_S [prefix=P] [role=relay]
 *          [label=K=V] [overlay=IP] [serial=N] > FILE
 *       node certificate (PEM) valid from now - 60 s for VALID_S seconds
 *   mkcert join AUTHKEY JOINKEY VALID_S MAXLIFE_S [prefix=P] [label=K=V]
 *          [role=relay] [ephemeral] > FILE
 *       join key file: JOIN KEY block (seed of JOINKEY) + JOIN certificate
 *   mkcert revoke AUTHKEY SERIAL EXPIRES_S
 *       prints the base64 of a signed revocation of SERIAL (decimal)
 *   mkcert joinsign JOINKEYFILE SUBJECT_HEX NAME VALID_S [options] > FILE
 *       node certificate signed with the JOIN key of JOINKEYFILE (a file of
 *       `gossamer authority join-key` or `mkcert join`), followed by the
 *       join certificate: the chain a join-key holder would install.  It
 *       deliberately does NOT call gsm_cert_within, so it can make a
 *       certificate outside the join key's limits (what a holder who
 *       bypasses `gossamer cert issue` could do); the receivers must refuse
 *       it.  VALID_S counts from now - 60 s like `node`.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gossip/cert.h"
#include "gossip/crypto.h"

static int die(const char *what)
{
	fprintf(stderr, "mkcert: %s\n", what);
	return 1;
}

static struct gsm_identity *load(const char *path)
{
	struct gsm_identity *id = NULL;
	if (gsm_identity_load(path, &id) < 0) {
		fprintf(stderr, "mkcert: cannot load %s\n", path);
		exit(1);
	}
	return id;
}

/* optional arguments key=value into c */
static int options(struct gsm_cert *c, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strncmp(a, "prefix=", 7)) {
			if (gsm_prefix_parse(a + 7, &c->prefixes[c->n_prefixes++]) < 0)
				return -EINVAL;
		} else if (!strcmp(a, "role=relay")) {
			c->roles |= GSM_ROLE_RELAY;
		} else if (!strncmp(a, "label=", 6)) {
			const char *eq = strchr(a + 6, '=');
			if (!eq)
				return -EINVAL;
			struct gsm_label *l = &c->labels[c->n_labels++];
			snprintf(l->key, sizeof(l->key), "%.*s", (int)(eq - a - 6), a + 6);
			snprintf(l->value, sizeof(l->value), "%s", eq + 1);
		} else if (!strncmp(a, "overlay=", 8)) {
			char p[64];
			snprintf(p, sizeof(p), "%s/32", a + 8);
			if (gsm_prefix_parse(p, &c->overlay4) < 0)
				return -EINVAL;
			c->has_overlay4 = 1;
		} else if (!strncmp(a, "serial=", 7)) {
			c->serial = strtoull(a + 7, NULL, 10);
		} else if (!strcmp(a, "ephemeral")) {
			c->flags |= GSM_CERT_F_EPHEMERAL;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

static int print_pem(const char *label, const uint8_t *b, size_t len)
{
	char text[4096];
	size_t tl = 0;
	text[0] = 0;
	if (gsm_pem_append(label, b, len, text, sizeof(text), &tl) < 0)
		return die("pem");
	fputs(text, stdout);
	return 0;
}

static int cmd_key(const char *path)
{
	struct gsm_identity *id = NULL;
	char b64[64], hex[65];
	if (gsm_identity_generate(&id) < 0 || gsm_identity_save(id, path) < 0)
		return die("cannot write the key");
	chmod(path, 0600);
	gsm_b64_encode(gsm_identity_public(id), 32, b64, sizeof(b64));
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", gsm_identity_public(id)[i]);
	printf("%s %s\n", b64, hex);
	gsm_identity_free(id);
	return 0;
}

static int cmd_node(int argc, char **argv)
{
	struct gsm_cert c = {0};
	uint8_t out[GSM_CERT_MAX];
	size_t len;
	if (argc < 4)
		return die("node AUTHKEY SUBJECT_HEX NAME VALID_S [options]");
	struct gsm_identity *auth = load(argv[0]);
	c.kind = GSM_CERT_NODE;
	for (int i = 0; i < 32; i++)
		sscanf(argv[1] + 2 * i, "%2hhx", &c.subject[i]);
	memcpy(c.issuer, gsm_identity_public(auth), 32);
	randombytes_buf(&c.serial, sizeof(c.serial));
	c.not_before = (uint64_t)time(NULL) - 60;
	c.not_after = c.not_before + strtoull(argv[3], NULL, 10);
	snprintf(c.name, sizeof(c.name), "%s", argv[2]);
	if (options(&c, argc - 4, argv + 4) < 0)
		return die("bad option");
	if (gsm_cert_sign(&c, auth, out, sizeof(out), &len) < 0)
		return die("cannot sign");
	fprintf(stderr, "serial %llu\n", (unsigned long long)c.serial);
	gsm_identity_free(auth);
	return print_pem(GSM_PEM_CERT, out, len);
}

static int cmd_join(int argc, char **argv)
{
	struct gsm_cert c = {0};
	uint8_t out[GSM_CERT_MAX], seed[32];
	size_t len, sl = 0;
	char text[256];
	if (argc < 4)
		return die("join AUTHKEY JOINKEY VALID_S MAXLIFE_S [options]");
	struct gsm_identity *auth = load(argv[0]), *jk = load(argv[1]);
	c.kind = GSM_CERT_JOIN;
	memcpy(c.subject, gsm_identity_public(jk), 32);
	memcpy(c.issuer, gsm_identity_public(auth), 32);
	randombytes_buf(&c.serial, sizeof(c.serial));
	c.not_before = (uint64_t)time(NULL) - 60;
	c.not_after = c.not_before + strtoull(argv[2], NULL, 10);
	c.max_lifetime = strtoull(argv[3], NULL, 10);
	if (options(&c, argc - 4, argv + 4) < 0)
		return die("bad option");
	if (gsm_cert_sign(&c, auth, out, sizeof(out), &len) < 0)
		return die("cannot sign");
	if (gsm_identity_to_text(jk, text, sizeof(text), &sl) < 0)
		return die("key text");
	text[strcspn(text, "\n")] = 0;
	if (gsm_b64_decode(text, seed, sizeof(seed), &sl) < 0 || sl != 32)
		return die("seed");
	int r = print_pem(GSM_PEM_JOIN_KEY, seed, 32) || print_pem(GSM_PEM_CERT, out, len);
	sodium_memzero(seed, sizeof(seed));
	gsm_identity_free(auth);
	gsm_identity_free(jk);
	return r;
}

static int cmd_revoke(int argc, char **argv)
{
	struct gsm_revocation r = {0};
	uint8_t out[GSM_REVOCATION_MAX];
	char b64[512];
	size_t len;
	if (argc < 3)
		return die("revoke AUTHKEY SERIAL EXPIRES_S");
	struct gsm_identity *auth = load(argv[0]);
	memcpy(r.issuer, gsm_identity_public(auth), 32);
	r.has_serial = 1;
	r.serial = strtoull(argv[1], NULL, 10);
	r.issued_at = (uint64_t)time(NULL) - 1;
	r.expires = (uint64_t)time(NULL) + strtoull(argv[2], NULL, 10);
	if (gsm_revocation_sign(&r, auth, out, sizeof(out), &len) < 0)
		return die("cannot sign");
	gsm_b64_encode(out, len, b64, sizeof(b64));
	printf("%s\n", b64);
	gsm_identity_free(auth);
	return 0;
}

/* the JOIN KEY seed and the JOIN certificate of a join key file */
static int load_join_file(const char *path, struct gsm_identity **key, uint8_t *jc, size_t *jc_len)
{
	static char text[16384];
	uint8_t seed[32];
	size_t sl = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	int r = gsm_pem_find(text, GSM_PEM_JOIN_KEY, 0, seed, sizeof(seed), &sl);
	if (r == 0 && sl != 32)
		r = -EBADMSG;
	if (r == 0)
		r = gsm_identity_from_seed(seed, key);
	if (r == 0)
		r = gsm_pem_find(text, GSM_PEM_CERT, 0, jc, GSM_CERT_MAX, jc_len);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(text, sizeof(text));
	return r;
}

static int cmd_joinsign(int argc, char **argv)
{
	struct gsm_cert c = {0};
	struct gsm_identity *jk = NULL;
	uint8_t out[GSM_CERT_MAX], jc[GSM_CERT_MAX];
	size_t len, jc_len = 0;
	if (argc < 4)
		return die("joinsign JOINKEYFILE SUBJECT_HEX NAME VALID_S [options]");
	if (load_join_file(argv[0], &jk, jc, &jc_len) < 0)
		return die("cannot read the join key file");
	c.kind = GSM_CERT_NODE;
	for (int i = 0; i < 32; i++)
		sscanf(argv[1] + 2 * i, "%2hhx", &c.subject[i]);
	memcpy(c.issuer, gsm_identity_public(jk), 32);
	randombytes_buf(&c.serial, sizeof(c.serial));
	c.not_before = (uint64_t)time(NULL) - 60;
	c.not_after = c.not_before + strtoull(argv[3], NULL, 10);
	snprintf(c.name, sizeof(c.name), "%s", argv[2]);
	if (options(&c, argc - 4, argv + 4) < 0)
		return die("bad option");
	int r = gsm_cert_sign(&c, jk, out, sizeof(out), &len);
	gsm_identity_free(jk);
	if (r < 0)
		return die("cannot sign");
	fprintf(stderr, "serial %llu\n", (unsigned long long)c.serial);
	return print_pem(GSM_PEM_CERT, out, len) || print_pem(GSM_PEM_CERT, jc, jc_len);
}

int main(int argc, char **argv)
{
	if (gsm_crypto_init() < 0)
		return die("crypto");
	if (argc >= 3 && !strcmp(argv[1], "key"))
		return cmd_key(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "node"))
		return cmd_node(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "join"))
		return cmd_join(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "revoke"))
		return cmd_revoke(argc - 2, argv + 2);
	if (argc >= 2 && !strcmp(argv[1], "joinsign"))
		return cmd_joinsign(argc - 2, argv + 2);
	return die("usage: mkcert key|node|join|revoke|joinsign ...");
}
