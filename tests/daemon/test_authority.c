/* tests/daemon/test_authority.c - authority mode in the daemon: the
 * [authority] keys (good and bad), self-issue with a join key within and
 * outside its limits, the join key and chain files, the revocations file
 * round trip (and a corrupted file refused), the certificate coverage of
 * each kind of claim, and the reconcile's verdicts in warn and require
 * mode.  Real certificates throughout (gossip/cert.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/authority.h"
#include "daemon/config.h"
#include "daemon/members.h"
#include "daemon/policy.h"
#include "daemon/reconcile.h"
#include "gossip/swim.h"

#define NOW   1700000000u
#define DAY   86400u
#define KEY_A "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
#define KEY_B "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI="

static char tmpdir[256];

static const char *path_of(const char *name)
{
	static char p[512];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static const char *write_file(const char *name, const char *text, mode_t mode)
{
	const char *p = path_of(name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
	return p;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gsm-test-authority-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	assert_int_equal(gsm_crypto_init(), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ config */

static int build(struct gsd_config *c, char *msg, size_t msglen, int argc, const char **argv)
{
	struct gsd_cli cli;
	int r = gsd_cli_parse(&cli, argc, (char **)argv, msg, msglen);
	if (r < 0)
		return r;
	return gsd_config_build(c, &cli, msg, msglen);
}

static void test_config_keys(void **state)
{
	struct gsd_config c;
	char msg[512], text[512];
	(void)state;
	const char *argv0[] = {"gossamerd"};
	assert_int_equal(build(&c, msg, sizeof(msg), 1, argv0), 0);
	assert_int_equal(c.n_authorities, 0);
	assert_int_equal(gsd_config_authority_mode(&c), GSD_AUTH_MODE_OFF);

	snprintf(text, sizeof(text),
		 "[authority]\nauthority = %s, %s\ncertificate = /etc/g/node.cert\n"
		 "join_key = /etc/g/join.key\n",
		 KEY_A, KEY_B);
	const char *f = write_file("a.conf", text, 0644);
	const char *argv1[] = {"gossamerd", "-c", f};
	assert_int_equal(build(&c, msg, sizeof(msg), 3, argv1), 0);
	assert_int_equal(c.n_authorities, 2);
	assert_int_equal(c.authorities[1][0], 0x22);
	/* with keys the default is require */
	assert_int_equal(gsd_config_authority_mode(&c), GSD_AUTH_MODE_REQUIRE);
	assert_string_equal(c.certificate, "/etc/g/node.cert");
	assert_string_equal(c.join_key, "/etc/g/join.key");

	/* flags: the list replaces the file's, the mode is set */
	const char *argv2[] = {"gossamerd",	   "-c",  f, "--authority", KEY_B,
			       "--authority-mode", "warn"};
	assert_int_equal(build(&c, msg, sizeof(msg), 7, argv2), 0);
	assert_int_equal(c.n_authorities, 1);
	assert_int_equal(c.authorities[0][0], 0x22);
	assert_int_equal(gsd_config_authority_mode(&c), GSD_AUTH_MODE_WARN);

	/* the certificate path defaults into the state directory */
	const char *argv3[] = {"gossamerd", "-d", "/var/lib/x"};
	assert_int_equal(build(&c, msg, sizeof(msg), 3, argv3), 0);
	char p[256];
	gsd_config_certificate_path(&c, p, sizeof(p));
	assert_string_equal(p, "/var/lib/x/node.cert");
}

static void expect_bad(const char *text, const char *want)
{
	struct gsd_config c;
	char msg[1024];
	const char *f = write_file("bad.conf", text, 0644);
	const char *argv[] = {"gossamerd", "-c", f};
	assert_int_equal(build(&c, msg, sizeof(msg), 3, argv), -EINVAL);
	if (!strstr(msg, want))
		fail_msg("message '%s' lacks '%s'", msg, want);
}

static void test_config_bad(void **state)
{
	char text[1024];
	(void)state;
	expect_bad("[authority]\nauthority = c2hvcnQ=\n",
		   "authority: 'c2hvcnQ=' is not a base64 Ed25519 public key");
	expect_bad("[authority]\nauthority = !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!=\n",
		   "is not a base64 Ed25519 public key");
	snprintf(text, sizeof(text), "[authority]\nauthority = %s %s\n", KEY_A, KEY_A);
	expect_bad(text, "listed twice");
	/* nine keys, on two lines (a list key appends) */
	size_t off = (size_t)snprintf(text, sizeof(text), "[authority]\nauthority =");
	for (int i = 0; i < 9; i++) {
		uint8_t k[32];
		char b[45];
		memset(k, 0x30 + i, sizeof(k));
		gsm_b64_encode(k, 32, b, sizeof(b));
		off += (size_t)snprintf(text + off, sizeof(text) - off, "%s %s",
					i && i % 3 == 0 ? "\nauthority =" : "", b);
	}
	snprintf(text + off, sizeof(text) - off, "\n");
	expect_bad(text, "too many authority keys (max 8)");
	expect_bad("[authority]\nauthority_mode = strict\n",
		   ":2: authority_mode: 'strict' is not one of off, warn, require");
	expect_bad("[authority]\nauthority_mode = require\n", "needs at least one authority key");
	expect_bad("[authority]\njoin_key = /x\n", "a join key needs at least one authority key");
	snprintf(text, sizeof(text), "[node]\nauthority = %s\n", KEY_A);
	expect_bad(text, "belongs in section [authority]");
}

/* ------------------------------------------------------------ certificates */

struct pki {
	struct gsm_identity *auth, *join, *node;
	struct gsm_cert jc; /* the JOIN certificate */
	uint8_t jsigned[GSM_CERT_MAX];
	size_t jlen;
};

static void pki_make(struct pki *p, uint32_t join_flags)
{
	memset(p, 0, sizeof(*p));
	assert_int_equal(gsm_identity_generate(&p->auth), 0);
	assert_int_equal(gsm_identity_generate(&p->join), 0);
	assert_int_equal(gsm_identity_generate(&p->node), 0);
	struct gsm_cert *c = &p->jc;
	c->kind = GSM_CERT_JOIN;
	memcpy(c->subject, gsm_identity_public(p->join), GSM_ID_LEN);
	memcpy(c->issuer, gsm_identity_public(p->auth), GSM_ID_LEN);
	c->serial = 77;
	c->not_before = NOW - DAY;
	c->not_after = NOW + 7 * DAY;
	c->max_lifetime = 30 * DAY;
	gsm_prefix_parse("10.9.0.0/16", &c->prefixes[c->n_prefixes++]);
	snprintf(c->labels[0].key, sizeof(c->labels[0].key), "env");
	snprintf(c->labels[0].value, sizeof(c->labels[0].value), "*");
	c->n_labels = 1;
	c->roles = GSM_ROLE_RELAY;
	c->flags = join_flags;
	assert_int_equal(gsm_cert_sign(c, p->auth, p->jsigned, sizeof(p->jsigned), &p->jlen), 0);
}

static void pki_free(struct pki *p)
{
	gsm_identity_free(p->auth);
	gsm_identity_free(p->join);
	gsm_identity_free(p->node);
}

/* the join key as a gsd_join_key, through its file */
static void join_key_of(const struct pki *p, struct gsd_join_key *jk)
{
	char text[4096], msg[256];
	size_t len = 0;
	uint8_t seed[32];
	/* the seed is what gsm_identity_to_text writes; the JOIN KEY block
	 * holds the raw 32 bytes: take them from the identity's text form */
	char idtext[256];
	size_t idlen;
	assert_int_equal(gsm_identity_to_text(p->join, idtext, sizeof(idtext), &idlen), 0);
	size_t sl = 0;
	char *nl = strchr(idtext, '\n');
	if (nl)
		*nl = 0;
	assert_int_equal(gsm_b64_decode(idtext, seed, sizeof(seed), &sl), 0);
	assert_int_equal(sl, 32);
	text[0] = 0;
	assert_int_equal(gsm_pem_append(GSM_PEM_JOIN_KEY, seed, 32, text, sizeof(text), &len), 0);
	assert_int_equal(
	    gsm_pem_append(GSM_PEM_CERT, p->jsigned, p->jlen, text, sizeof(text), &len), 0);
	const char *f = write_file("join.key", text, 0600);
	assert_int_equal(gsd_join_key_load(f, jk, msg, sizeof(msg)), 0);
	assert_memory_equal(gsm_identity_public(jk->key), gsm_identity_public(p->join), 32);
}

static void request(const struct pki *p, struct gsd_issue_request *rq, struct gsm_prefix *pf,
		    const char *prefix, struct gsm_label *lb, const char *label_value)
{
	memset(rq, 0, sizeof(*rq));
	memcpy(rq->node_id, gsm_identity_public(p->node), GSM_ID_LEN);
	rq->name = "db-1";
	gsm_prefix_parse(prefix, pf);
	rq->prefixes = pf;
	rq->n_prefixes = 1;
	snprintf(lb->key, sizeof(lb->key), "env");
	snprintf(lb->value, sizeof(lb->value), "%s", label_value);
	rq->labels = lb;
	rq->n_labels = 1;
	rq->roles = GSM_ROLE_RELAY;
	rq->now_s = NOW;
}

static void verify(const struct pki *p, const struct gsd_chain *ch, struct gsm_cert_info *info)
{
	struct gsm_bytes b[GSM_CERT_CHAIN_MAX];
	uint8_t keys[1][GSM_ID_LEN];
	memcpy(keys[0], gsm_identity_public(p->auth), GSM_ID_LEN);
	struct gsm_cert_verifier v = {
	    .authorities = (const uint8_t(*)[GSM_ID_LEN])keys, .n_authorities = 1, .now_s = NOW};
	gsm_cert_chain_check(&v, gsm_identity_public(p->node), "db-1", b, gsd_chain_bytes(ch, b),
			     info, NULL, 0);
}

static void test_self_issue_within(void **state)
{
	struct pki p;
	struct gsd_join_key jk;
	struct gsd_issue_request rq;
	struct gsm_prefix pf;
	struct gsm_label lb;
	struct gsd_chain ch;
	struct gsm_cert_info info;
	char why[160] = "";
	(void)state;
	pki_make(&p, GSM_CERT_F_EPHEMERAL);
	join_key_of(&p, &jk);
	request(&p, &rq, &pf, "10.9.1.0/24", &lb, "prod");
	assert_int_equal(gsd_self_issue(&jk, &rq, &ch, why, sizeof(why)), 0);
	assert_int_equal(ch.n, 2);
	assert_memory_equal(ch.cert[1], p.jsigned, p.jlen);
	verify(&p, &ch, &info);
	assert_int_equal(info.status, GSM_CERT_VALID);
	assert_true(info.has_join);
	assert_int_equal(info.leaf.not_after - info.leaf.not_before, 30 * DAY);
	assert_true(info.leaf.flags & GSM_CERT_F_EPHEMERAL); /* like the join key */
	assert_int_equal(info.leaf.roles, GSM_ROLE_RELAY);
	/* the chain lives as long as the node certificate, past the join
	 * certificate's end (NOW + 7 days): that bounds issuance only */
	assert_int_equal(info.expires_s, info.leaf.not_after);
	assert_true(info.expires_s > NOW + 7 * DAY);
	/* a fresh certificate needs no renewal; less than a third of its life
	 * (30 days) left does */
	assert_false(gsd_chain_needs_issue(&info, NOW));
	assert_false(gsd_chain_needs_issue(&info, info.leaf.not_after - 11 * DAY));
	assert_true(gsd_chain_needs_issue(&info, info.leaf.not_after - 9 * DAY));
	info.status = GSM_CERT_EXPIRED;
	assert_true(gsd_chain_needs_issue(&info, NOW));
	/* the chain file round trip */
	const char *cp = path_of("node.cert");
	struct gsd_chain back;
	char msg[256];
	assert_int_equal(gsd_chain_save(cp, &ch), 0);
	assert_int_equal(gsd_chain_load(cp, &back, msg, sizeof(msg)), 0);
	assert_int_equal(back.n, 2);
	assert_int_equal(back.len[0], ch.len[0]);
	assert_memory_equal(back.cert[0], ch.cert[0], ch.len[0]);
	gsd_join_key_clear(&jk);
	pki_free(&p);
}

static void test_self_issue_outside(void **state)
{
	struct pki p;
	struct gsd_join_key jk;
	struct gsd_issue_request rq;
	struct gsm_prefix pf;
	struct gsm_label lb;
	struct gsd_chain ch;
	char why[160] = "";
	(void)state;
	pki_make(&p, 0);
	join_key_of(&p, &jk);
	/* a prefix outside the pool: refused with the receivers' reason */
	request(&p, &rq, &pf, "10.10.0.0/24", &lb, "prod");
	assert_int_equal(gsd_self_issue(&jk, &rq, &ch, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "10.10.0.0/24"));
	/* a label key the join key does not allow */
	request(&p, &rq, &pf, "10.9.1.0/24", &lb, "prod");
	snprintf(lb.key, sizeof(lb.key), "team");
	why[0] = 0;
	assert_int_equal(gsd_self_issue(&jk, &rq, &ch, why, sizeof(why)), -EPERM);
	assert_true(why[0] != 0);
	/* a role the join key does not grant */
	request(&p, &rq, &pf, "10.9.1.0/24", &lb, "prod");
	rq.roles = GSM_ROLE_GATEWAY;
	assert_int_equal(gsd_self_issue(&jk, &rq, &ch, why, sizeof(why)), -EPERM);
	/* an expired join key */
	request(&p, &rq, &pf, "10.9.1.0/24", &lb, "prod");
	rq.now_s = NOW + 8 * DAY;
	assert_int_equal(gsd_self_issue(&jk, &rq, &ch, why, sizeof(why)), -EKEYEXPIRED);
	assert_non_null(strstr(why, "expired"));
	gsd_join_key_clear(&jk);
	pki_free(&p);
}

static void test_files_refused(void **state)
{
	struct pki p;
	struct gsd_join_key jk;
	struct gsd_chain ch;
	char msg[256];
	(void)state;
	pki_make(&p, 0);
	join_key_of(&p, &jk);
	gsd_join_key_clear(&jk);
	/* group/world readable join key */
	chmod(path_of("join.key"), 0644);
	assert_int_equal(gsd_join_key_load(path_of("join.key"), &jk, msg, sizeof(msg)), -EACCES);
	/* no file */
	assert_int_equal(gsd_chain_load(path_of("nope.cert"), &ch, msg, sizeof(msg)), -ENOENT);
	/* three certificates: longer than a chain */
	char text[8192];
	size_t len = 0;
	text[0] = 0;
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    gsm_pem_append(GSM_PEM_CERT, p.jsigned, p.jlen, text, sizeof(text), &len), 0);
	const char *f = write_file("long.cert", text, 0644);
	assert_int_equal(gsd_chain_load(f, &ch, msg, sizeof(msg)), -EMSGSIZE);
	assert_non_null(strstr(msg, "more certificates than a chain holds"));
	f = write_file("empty.cert", "hello\n", 0644);
	assert_int_equal(gsd_chain_load(f, &ch, msg, sizeof(msg)), -EBADMSG);
	assert_non_null(strstr(msg, "no certificate"));
	pki_free(&p);
}

/* ------------------------------------------------------------ revocations */

static void make_rev(const struct pki *p, uint64_t serial, uint8_t *out, size_t *len)
{
	struct gsm_revocation r = {0};
	memcpy(r.issuer, gsm_identity_public(p->auth), GSM_ID_LEN);
	r.has_serial = 1;
	r.serial = serial;
	r.issued_at = NOW;
	r.expires = NOW + 30 * DAY;
	assert_int_equal(gsm_revocation_sign(&r, p->auth, out, GSM_REVOCATION_MAX, len), 0);
}

static void test_revocations_roundtrip(void **state)
{
	struct pki p;
	struct gsd_revlist l = {0}, back = {0};
	char msg[512];
	(void)state;
	pki_make(&p, 0);
	for (uint64_t s = 1; s <= 3; s++) {
		uint8_t r[GSM_REVOCATION_MAX];
		size_t len;
		make_rev(&p, s * 1000, r, &len);
		assert_int_equal(gsd_revlist_add(&l, r, len), 0);
	}
	const char *f = path_of("revocations");
	assert_int_equal(gsd_revlist_save(f, &l), 0);
	assert_int_equal(gsd_revlist_load(f, &back, msg, sizeof(msg)), 0);
	assert_int_equal(back.n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(back.len[i], l.len[i]);
		assert_memory_equal(back.rev[i], l.rev[i], l.len[i]);
		struct gsm_revocation r;
		assert_int_equal(gsm_revocation_decode(back.rev[i], back.len[i], &r), 0);
		assert_int_equal(r.serial, (i + 1) * 1000);
	}
	gsd_revlist_clear(&back);

	/* corrupted: the second block's body cut short */
	FILE *fp = fopen(f, "r");
	char text[8192];
	size_t n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = 0;
	char *second = strstr(strstr(text, "-----END") + 1, "-----BEGIN");
	char *body = strchr(second, '\n') + 1;
	memmove(body, body + 8, strlen(body + 8) + 1);
	write_file("revocations", text, 0644);
	assert_int_equal(gsd_revlist_load(f, &back, msg, sizeof(msg)), -EBADMSG);
	assert_non_null(strstr(msg, "block 2 is not a valid revocation"));
	gsd_revlist_clear(&back);

	/* a foreign block among the revocations */
	char mixed[8192];
	size_t len = 0;
	mixed[0] = 0;
	assert_int_equal(
	    gsm_pem_append(GSM_PEM_REVOCATION, l.rev[0], l.len[0], mixed, sizeof(mixed), &len), 0);
	assert_int_equal(
	    gsm_pem_append(GSM_PEM_CERT, p.jsigned, p.jlen, mixed, sizeof(mixed), &len), 0);
	write_file("revocations", mixed, 0644);
	assert_int_equal(gsd_revlist_load(f, &back, msg, sizeof(msg)), -EBADMSG);
	assert_non_null(strstr(msg, "holds 2 blocks of which 1 are revocations"));
	gsd_revlist_clear(&back);
	gsd_revlist_clear(&l);
	pki_free(&p);
}

/* ------------------------------------------------------------ coverage */

/* node certificate (issued by the authority): 10.9.0.0/16, overlay
 * 10.77.0.5, env=prod, roles */
static void node_cert(const struct pki *p, uint32_t roles, uint8_t *out, size_t *len,
		      struct gsm_cert *c)
{
	memset(c, 0, sizeof(*c));
	c->kind = GSM_CERT_NODE;
	memcpy(c->subject, gsm_identity_public(p->node), GSM_ID_LEN);
	memcpy(c->issuer, gsm_identity_public(p->auth), GSM_ID_LEN);
	c->serial = 0x1122334455667788ull;
	c->not_before = NOW - DAY;
	c->not_after = NOW + 29 * DAY;
	snprintf(c->name, sizeof(c->name), "db-1");
	c->has_overlay4 = 1;
	gsm_prefix_parse("10.77.0.5/32", &c->overlay4);
	gsm_prefix_parse("10.9.0.0/16", &c->prefixes[c->n_prefixes++]);
	snprintf(c->labels[0].key, sizeof(c->labels[0].key), "env");
	snprintf(c->labels[0].value, sizeof(c->labels[0].value), "prod");
	c->n_labels = 1;
	c->roles = roles;
	assert_int_equal(gsm_cert_sign(c, p->auth, out, GSM_CERT_MAX, len), 0);
}

static void advert_with(const struct pki *p, struct gsm_advert *a, const char *v4,
			const char *prefix, const char *label_key, uint32_t flags, uint32_t roles)
{
	struct gsm_cert c;
	size_t len;
	memset(a, 0, sizeof(*a));
	memcpy(a->node_id, gsm_identity_public(p->node), GSM_ID_LEN);
	snprintf(a->name, sizeof(a->name), "db-1");
	memset(a->wg_pubkey, 0xb2, 32);
	a->wg_port = 51820;
	a->flags = flags;
	gsm_prefix_parse(v4, &a->overlay[a->n_overlay++]);
	gsm_prefix_parse(prefix, &a->prefixes[a->n_prefixes++]);
	snprintf(a->labels[0].key, sizeof(a->labels[0].key), "%s", label_key);
	snprintf(a->labels[0].value, sizeof(a->labels[0].value), "prod");
	a->n_labels = 1;
	node_cert(p, roles, a->certs[0], &len, &c);
	a->cert_len[0] = (uint16_t)len;
	a->n_certs = 1;
}

static void test_policy_coverage(void **state)
{
	struct pki p;
	struct gsm_advert *a = calloc(1, sizeof(*a));
	struct gsm_cert c;
	struct gsd_cert_coverage cv;
	uint8_t buf[GSM_CERT_MAX];
	size_t len;
	bool acc;
	(void)state;
	pki_make(&p, 0);
	/* everything covered */
	advert_with(&p, a, "10.77.0.5/32", "10.9.3.0/24", "env", GSM_ADV_RELAY, GSM_ROLE_RELAY);
	node_cert(&p, GSM_ROLE_RELAY, buf, &len, &c);
	gsd_policy_cert_coverage(&c, a, &cv);
	assert_int_equal(cv.overlay | cv.prefixes | cv.labels | cv.flags, 0);
	/* each kind not covered: overlay, prefix, label, relay flag */
	advert_with(&p, a, "10.77.0.6/32", "10.10.0.0/24", "team", GSM_ADV_RELAY, 0);
	node_cert(&p, 0, buf, &len, &c);
	gsd_policy_cert_coverage(&c, a, &cv);
	assert_int_equal(cv.overlay, 1);
	assert_int_equal(cv.prefixes, 1);
	assert_int_equal(cv.labels, 1);
	assert_int_equal(cv.flags, GSM_ADV_RELAY);
	/* the member cache keeps the same bits; require mode drops the flag */
	struct gsd_member *m = gsd_member_from_advert(a);
	assert_non_null(m);
	assert_true(m->has_cert);
	assert_false(m->cert_via_join);
	assert_int_equal(m->uncert_prefixes, 1);
	assert_int_equal(m->uncert_overlay, 1);
	assert_int_equal(m->uncert_labels, 1);
	assert_int_equal(m->uncert_flags, GSM_ADV_RELAY);
	gsd_member_free(m);
	/* the verdicts */
	assert_int_equal(gsd_policy_cert_verdict(GSM_AUTHORITY_REQUIRE, false, &acc),
			 GSD_POL_UNCERTIFIED);
	assert_false(acc);
	assert_int_equal(gsd_policy_cert_verdict(GSM_AUTHORITY_WARN, false, &acc),
			 GSD_POL_UNCERTIFIED);
	assert_true(acc);
	assert_int_equal(gsd_policy_cert_verdict(GSM_AUTHORITY_OFF, false, &acc), GSD_POL_OK);
	assert_true(acc);
	assert_int_equal(gsd_policy_cert_verdict(GSM_AUTHORITY_REQUIRE, true, &acc), GSD_POL_OK);
	assert_true(acc);
	assert_string_equal(gsd_policy_reason_name(GSD_POL_UNCERTIFIED), "uncertified");
	free(a);
	pki_free(&p);
}

/* ------------------------------------------------------------ reconcile */

static bool has_aip(const struct gnl_wg_peer *pe, const char *cidr)
{
	struct gnl_prefix x;
	assert_int_equal(gnl_prefix_parse(cidr, &x), 0);
	for (size_t i = 0; i < pe->n_allowedips; i++)
		if (!gnl_prefix_cmp(&pe->allowedips[i], &x))
			return true;
	return false;
}

static void test_reconcile_modes(void **state)
{
	struct pki p;
	struct gsm_advert *a = calloc(1, sizeof(*a));
	struct gsd_member *rec[4];
	struct gsd_rc_member mem[4];
	static const uint8_t status[4] = {GSM_CERT_VALID, GSM_CERT_EXPIRED, GSM_CERT_REVOKED,
					  GSM_CERT_NONE};
	(void)state;
	pki_make(&p, 0);
	for (int i = 0; i < 4; i++) {
		/* member 0 claims an uncovered prefix besides covered ones */
		advert_with(&p, a, "10.77.0.5/32", i == 0 ? "10.10.0.0/24" : "10.9.0.0/24", "env",
			    0, 0);
		a->node_id[0] = (uint8_t)(0x10 + i);
		a->wg_pubkey[0] = (uint8_t)(0x10 + i);
		a->overlay[0].ip[3] = (uint8_t)(5 + i);
		rec[i] = gsd_member_from_advert(a);
		rec[i]->reachable = true;
		rec[i]->cert_status = status[i];
		mem[i] = (struct gsd_rc_member){.mem = rec[i], .state = GSM_STATE_ALIVE};
	}
	struct gsd_policy pol = {.has_v4_prefix = true};
	gsm_prefix_parse("10.77.0.0/16", &pol.v4_prefix);
	gsm_prefix_parse("fd00::/48", &pol.v6_prefix);
	struct gsd_policy_table *t = gsd_policy_table_new(NULL, NULL);
	static const int modes[3] = {GSM_AUTHORITY_OFF, GSM_AUTHORITY_WARN, GSM_AUTHORITY_REQUIRE};
	static const enum gsd_rc_verdict want[3][4] = {
	    {GSD_RC_PEER, GSD_RC_PEER, GSD_RC_PEER, GSD_RC_PEER},
	    {GSD_RC_PEER, GSD_RC_PEER, GSD_RC_CERT, GSD_RC_PEER},
	    {GSD_RC_PEER, GSD_RC_CERT, GSD_RC_CERT, GSD_RC_CERT},
	};
	for (int k = 0; k < 3; k++) {
		struct gsd_rc_input in = {.keepalive = -1,
					  .dead_grace_ms = 30000,
					  .left_grace_ms = 5000,
					  .now_ms = 1000000,
					  .now_unix = NOW,
					  .members = mem,
					  .n_members = 4,
					  .policy = &pol,
					  .claims_seen = t,
					  .authority_mode = modes[k]};
		memset(in.self_id, 0x01, 32);
		enum gsd_rc_verdict v[4];
		struct gnl_wg_device *d;
		assert_int_equal(gnl_wg_device_new("gsm0", &d), 0);
		assert_int_equal(gsd_reconcile_desired(&in, d, v), 0);
		for (int i = 0; i < 4; i++)
			assert_int_equal(v[i], want[k][i]);
		const struct gnl_wg_peer *pe = gnl_wg_device_find_peer(d, rec[0]->wg_pubkey);
		assert_non_null(pe);
		/* the uncovered prefix: routed but listed in warn, refused in require */
		assert_int_equal(has_aip(pe, "10.10.0.0/24"), k != 2);
		bool listed = false, accepted = false;
		for (size_t i = 0; i < gsd_policy_table_n_drops(t); i++) {
			const struct gsd_policy_drop *x = gsd_policy_table_drop_at(t, i);
			if (x->reason == GSD_POL_UNCERTIFIED) {
				listed = true;
				accepted = x->accepted;
			}
		}
		assert_int_equal(listed, k != 0);
		assert_int_equal(accepted, k == 1);
		gnl_wg_device_free(d);
	}
	assert_null(gsd_reconcile_cert_reason(GSM_AUTHORITY_REQUIRE, GSM_CERT_VALID));
	assert_string_equal(gsd_reconcile_cert_reason(GSM_AUTHORITY_REQUIRE, GSM_CERT_EXPIRED),
			    "certificate expired");
	assert_string_equal(gsd_reconcile_cert_reason(GSM_AUTHORITY_WARN, GSM_CERT_REVOKED),
			    "certificate revoked");
	assert_null(gsd_reconcile_cert_reason(GSM_AUTHORITY_WARN, GSM_CERT_INVALID));
	assert_string_equal(gsd_reconcile_cert_reason(GSM_AUTHORITY_REQUIRE, GSM_CERT_NONE),
			    "certificate none");
	gsd_policy_table_free(t);
	for (int i = 0; i < 4; i++)
		gsd_member_free(rec[i]);
	free(a);
	pki_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_keys),	      cmocka_unit_test(test_config_bad),
	    cmocka_unit_test(test_self_issue_within), cmocka_unit_test(test_self_issue_outside),
	    cmocka_unit_test(test_files_refused),     cmocka_unit_test(test_revocations_roundtrip),
	    cmocka_unit_test(test_policy_coverage),   cmocka_unit_test(test_reconcile_modes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
