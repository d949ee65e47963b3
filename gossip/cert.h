/*
 * gossip/cert.h - authority mode: node certificates, join-key delegations
 * and revocations (docs/protocol.md, Certificates; docs/authority.md for
 * operators).
 *
 * An AUTHORITY is an Ed25519 key pair kept offline; nodes are configured
 * with one or more authority public keys.  The authority signs:
 *   - NODE certificates: "identity key K may be member NAME, with this
 *     overlay IPv4, these prefixes, roles and labels, from not_before to
 *     not_after";
 *   - JOIN certificates (delegations): "signing key J may issue node
 *     certificates within these constraints (expiry, maximum lifetime,
 *     prefix pool, labels, roles, ephemeral)";
 *   - REVOCATIONS: "the certificate with serial S" or "every certificate
 *     whose subject is key K (a node identity or a join key) is void
 *     until time T".
 * A chain is the node certificate, optionally followed by the JOIN
 * certificate of the key that issued it (GSM_CERT_CHAIN_MAX = 2; nothing
 * longer is accepted).  A node's advert carries its chain (advert key 13).
 *
 * Encodings are canonical MessagePack like the advert (keys ascending,
 * shortest integers, prefixes sorted and unique, labels sorted by key):
 *   signed certificate = array [ body bin, sig bin 64 ]
 *     sig = Ed25519 by body.issuer over "gossamer cert v1\0" || body
 *   signed revocation  = array [ body bin, sig bin 64 ]
 *     sig = Ed25519 by body.issuer over "gossamer revoke v1\0" || body
 * The domain-separation prefixes keep a certificate signature from ever
 * verifying as an advert, a revocation or any other gossamer signature.
 * Times are seconds since the Unix epoch (the receiver's wall clock).
 *
 * Text files (certificate, chain, join key, revocation) hold PEM-style
 * blocks, base64 of the signed bytes (gsm_pem_*):
 *   -----BEGIN GOSSAMER CERTIFICATE-----   (a chain: two such blocks,
 *   -----BEGIN GOSSAMER REVOCATION-----     node certificate first)
 *   -----BEGIN GOSSAMER JOIN KEY-----      (32-byte Ed25519 seed; the file
 *                                           also holds the JOIN certificate)
 *
 * Errors: negative errno.  -EBADMSG malformed or not canonical,
 * -EMSGSIZE over a bound, -EINVAL bad argument (or a field that is not
 * allowed for the kind), -EKEYREJECTED bad signature, -EPERM outside
 * the issuer's constraints.
 */
#ifndef GOSSAMER_GOSSIP_CERT_H
#define GOSSAMER_GOSSIP_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/crypto.h"
#include "gossip/wire.h"

/* GSM_CERT_MAX (1024, one encoded signed certificate) and
 * GSM_CERT_CHAIN_MAX (2: node certificate + one JOIN certificate) are in
 * gossip/wire.h: the advert carries the chain. */
#define GSM_CERT_MAX_PREFIXES 16
#define GSM_CERT_MAX_LABELS   8
#define GSM_REVOCATION_MAX    256 /* encoded signed revocation */
#define GSM_MAX_AUTHORITIES   8
#define GSM_MAX_REVOCATIONS   4096 /* held by one node */

enum gsm_cert_kind {
	GSM_CERT_NODE = 1,
	GSM_CERT_JOIN = 2,
};

/* roles (certificate field; the advert's GSM_ADV_RELAY needs RELAY) */
#define GSM_ROLE_RELAY	 0x1u
#define GSM_ROLE_EXIT	 0x2u /* may advertise 0/0 and ::/0 */
#define GSM_ROLE_GATEWAY 0x4u /* may route site prefixes for others */
#define GSM_ROLE_ALL	 0x7u

/* certificate flags */
#define GSM_CERT_F_EPHEMERAL 0x1u /* forget the node soon after it dies */

/* Certificate body map keys (struct gsm_cert).  kind, subject, issuer,
 * serial, not_before, not_after are required; name is required for NODE
 * (and absent for JOIN); max_lifetime only for JOIN (required there). */
enum gsm_wk_cert {
	GSM_WK_CERT_KIND = 0,	       /* uint: enum gsm_cert_kind */
	GSM_WK_CERT_SUBJECT = 1,       /* bin 32: node identity (NODE) or join key (JOIN) */
	GSM_WK_CERT_ISSUER = 2,	       /* bin 32: authority key, or the JOIN subject */
	GSM_WK_CERT_SERIAL = 3,	       /* uint64, chosen at random by the issuer */
	GSM_WK_CERT_NOT_BEFORE = 4,    /* uint64 s */
	GSM_WK_CERT_NOT_AFTER = 5,     /* uint64 s, > not_before */
	GSM_WK_CERT_NAME = 6,	       /* str <= GSM_MAX_NAME (NODE) */
	GSM_WK_CERT_OVERLAY4 = 7,      /* prefix: pinned IPv4 overlay address /32 (NODE) */
	GSM_WK_CERT_PREFIXES = 8,      /* array[prefix]: allowed prefixes (NODE) or the
					* pool issued prefixes must lie in (JOIN) */
	GSM_WK_CERT_ROLES = 9,	       /* uint: GSM_ROLE_* (JOIN: roles it may grant;
					* never EXIT) */
	GSM_WK_CERT_LABELS = 10,       /* array[label] sorted by key (JOIN: value "*"
					* allows any value for that key) */
	GSM_WK_CERT_MAX_LIFETIME = 11, /* uint64 s (JOIN) */
	GSM_WK_CERT_FLAGS = 12,	       /* uint: GSM_CERT_F_* */
	GSM_WK_CERT_COUNT = 13,
};

/* Revocation body map keys.  issuer, issued_at, expires and exactly one
 * of serial / subject are required. */
enum gsm_wk_revocation {
	GSM_WK_REV_ISSUER = 0,	  /* bin 32: an authority key */
	GSM_WK_REV_SERIAL = 1,	  /* uint64: the certificate serial revoked */
	GSM_WK_REV_SUBJECT = 2,	  /* bin 32: every certificate for this subject */
	GSM_WK_REV_ISSUED_AT = 3, /* uint64 s */
	GSM_WK_REV_EXPIRES = 4,	  /* uint64 s: may be forgotten after this (the
				   * revoked certificate's not_after) */
	GSM_WK_REV_COUNT = 5,
};

struct gsm_cert {
	uint8_t kind; /* enum gsm_cert_kind */
	uint8_t subject[GSM_ID_LEN];
	uint8_t issuer[GSM_ID_LEN];
	uint64_t serial;
	uint64_t not_before, not_after;
	char name[GSM_MAX_NAME + 1];
	uint8_t has_overlay4;
	struct gsm_prefix overlay4; /* family 4, len 32 */
	uint8_t n_prefixes;
	struct gsm_prefix prefixes[GSM_CERT_MAX_PREFIXES];
	uint32_t roles;
	uint8_t n_labels;
	struct gsm_label labels[GSM_CERT_MAX_LABELS];
	uint64_t max_lifetime;
	uint32_t flags;
};

struct gsm_revocation {
	uint8_t issuer[GSM_ID_LEN];
	uint8_t has_serial, has_subject;
	uint64_t serial;
	uint8_t subject[GSM_ID_LEN];
	uint64_t issued_at, expires;
};

/* ---- codec ---- */

/* Canonicalise c in place (sort prefixes and labels, clear host bits of
 * prefixes) and check it: 0 or -EINVAL (what is wrong goes nowhere; use
 * gsm_cert_check_fields for a message). */
int gsm_cert_normalize(struct gsm_cert *c);
/* Encode + sign: out = [body, sig], signed by `issuer`, whose public key
 * must equal c->issuer (-EINVAL otherwise).  c is normalised first. */
int gsm_cert_sign(struct gsm_cert *c, const struct gsm_identity *issuer, uint8_t *out, size_t cap,
		  size_t *len);
/* Parse a signed certificate (structure, bounds, canonical form, fields
 * allowed for its kind); does NOT check the signature.  Stricter than the
 * advert: unknown keys are -EBADMSG, and the input must be byte for byte
 * what gsm_cert_sign would produce for the decoded struct (-EBADMSG
 * otherwise); a field forbidden for the kind (or EXIT in a JOIN
 * certificate) is -EINVAL, over GSM_CERT_MAX -EMSGSIZE.  c is zeroed on
 * error. */
int gsm_cert_decode(const uint8_t *signed_cert, size_t len, struct gsm_cert *c);
/* Check the signature against body.issuer: 0, -EBADMSG (anything
 * gsm_cert_decode refuses), -EKEYREJECTED. */
int gsm_cert_verify_sig(const uint8_t *signed_cert, size_t len);

/* Sign r (exactly one of has_serial / has_subject, issuer = the identity's
 * public key; -EINVAL otherwise): out = [body, sig], at most
 * GSM_REVOCATION_MAX bytes.  Decoding is canonical like certificates
 * (-EBADMSG, -EMSGSIZE). */
int gsm_revocation_sign(const struct gsm_revocation *r, const struct gsm_identity *issuer,
			uint8_t *out, size_t cap, size_t *len);
int gsm_revocation_decode(const uint8_t *signed_rev, size_t len, struct gsm_revocation *r);
/* Decode and check the signature, and that the issuer is one of the
 * authorities (-EKEYREJECTED otherwise). */
int gsm_revocation_verify(const uint8_t *signed_rev, size_t len,
			  const uint8_t (*authorities)[GSM_ID_LEN], size_t n_authorities,
			  struct gsm_revocation *r);
/* A stable 16-byte id of a revocation (BLAKE2b of the signed bytes). */
void gsm_revocation_id(const uint8_t *signed_rev, size_t len, uint8_t id[16]);

/* ---- delegation: the one rule both the issuer and every receiver apply ---- */

/* 0 when node certificate `leaf` lies within JOIN certificate `join`:
 * leaf.issuer == join.subject; join.not_before <= leaf.not_before <
 * join.not_after (issued while the join key was valid); leaf lifetime
 * (not_after - not_before) <= join.max_lifetime; every leaf prefix and
 * the pinned overlay4 inside one of join's prefixes (no prefixes in the
 * pool: none allowed); leaf roles within join roles and never EXIT;
 * every leaf label matched by a join label (same key, same value or
 * "*"); ephemeral if join is.  -EPERM otherwise, with a short reason in
 * why (may be NULL) such as "prefix 10.9.0.0/24 outside the pool". */
int gsm_cert_within(const struct gsm_cert *join, const struct gsm_cert *leaf, char *why,
		    size_t why_cap);

/* ---- chain verification ---- */

enum gsm_cert_status {
	GSM_CERT_NONE = 0, /* no certificate */
	GSM_CERT_VALID,
	GSM_CERT_EXPIRED, /* some certificate of the chain is past not_after */
	GSM_CERT_NOT_YET, /* some certificate of the chain is before not_before */
	GSM_CERT_REVOKED, /* a revocation covers a certificate of the chain */
	GSM_CERT_INVALID, /* malformed, bad signature, unknown authority,
			   * wrong subject or name, chain too long, outside
			   * the delegation */
};
/* "none", "valid", "expired", "not-yet-valid", "revoked", "invalid".
 * A certificate is valid for not_before <= now_s < not_after. */
const char *gsm_cert_status_name(enum gsm_cert_status s);

/* Asks whether a revocation covers a certificate (serial or subject). */
typedef bool (*gsm_cert_revoked_fn)(void *ctx, const struct gsm_cert *c);

struct gsm_cert_verifier {
	const uint8_t (*authorities)[GSM_ID_LEN];
	size_t n_authorities;
	uint64_t now_s;
	gsm_cert_revoked_fn revoked; /* may be NULL */
	void *revoked_ctx;
};

/* What a verified chain grants, for the receivers' checks. */
struct gsm_cert_info {
	enum gsm_cert_status status;
	struct gsm_cert leaf; /* decoded when status != NONE/INVALID */
	uint8_t has_join;     /* the chain has a JOIN certificate */
	uint64_t join_serial; /* its serial */
	uint8_t join_subject[GSM_ID_LEN];
	uint64_t expires_s; /* the node certificate's not_after (a JOIN
			     * certificate's window bounds issuance only) */
};

/* Verify the chain certs[0..n) (node certificate first) for the member
 * with identity node_id and advert name `name` (may be NULL: not
 * checked).  Always returns a status in info (n == 0: NONE); the order of
 * precedence is INVALID, REVOKED, NOT_YET, EXPIRED.  why (may be NULL)
 * receives a short reason for anything but VALID/NONE. */
void gsm_cert_chain_check(const struct gsm_cert_verifier *v, const uint8_t node_id[GSM_ID_LEN],
			  const char *name, const struct gsm_bytes *certs, size_t n,
			  struct gsm_cert_info *info, char *why, size_t why_cap);

/* ---- coverage: does a (valid) node certificate permit a claim ---- */

/* A routed prefix: inside one of c's prefixes; a /0 only with
 * GSM_ROLE_EXIT and an explicit /0 in c. */
bool gsm_cert_allows_prefix(const struct gsm_cert *c, const struct gsm_prefix *p);
/* An IPv4 overlay address: equal to overlay4 when pinned; true when c
 * pins none (the receiver's usual rules apply). IPv6: always true (it is
 * derived from the identity). */
bool gsm_cert_allows_overlay(const struct gsm_cert *c, const struct gsm_prefix *addr);
/* A label key=value: some label of c with that key and that value (or
 * "*"). */
bool gsm_cert_allows_label(const struct gsm_cert *c, const char *key, const char *value);
/* Advert flags GSM_ADV_*: RELAY needs GSM_ROLE_RELAY, GATEWAY needs
 * GSM_ROLE_GATEWAY, EXIT needs GSM_ROLE_EXIT. */
bool gsm_cert_allows_flags(const struct gsm_cert *c, uint32_t adv_flags);

/* ---- text files ---- */

#define GSM_PEM_CERT	   "GOSSAMER CERTIFICATE"
#define GSM_PEM_REVOCATION "GOSSAMER REVOCATION"
#define GSM_PEM_JOIN_KEY   "GOSSAMER JOIN KEY"

/* Append one block "-----BEGIN label-----\n<base64, 64 per line>\n
 * -----END label-----\n" to buf (NUL-terminated); *len is the text length
 * after appending (in: the current length). -EMSGSIZE if it does not fit. */
int gsm_pem_append(const char *label, const uint8_t *data, size_t data_len, char *buf, size_t cap,
		   size_t *len);
/* Find the index-th block (0-based) with this label in text and decode
 * it into out: 0, -ENOENT no such block, -EBADMSG broken block,
 * -EMSGSIZE too large for cap. */
int gsm_pem_find(const char *text, const char *label, size_t index, uint8_t *out, size_t cap,
		 size_t *len);

#endif
