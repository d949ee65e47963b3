/*
 * gossip/crypto.h - identities, advert signatures, the cluster key ring,
 * the datagram envelope (see gossip/wire.h for the byte layout) and the
 * pair keys and tags of envelope v3 that attribute a datagram to its
 * sender (docs/protocol.md, Attribution).
 *
 * All secrets live in sodium_malloc'd memory where practical and are wiped
 * with sodium_memzero when freed.  Key files are written 0600 and refused
 * when group- or world-readable or when the path is a symlink (gossip/
 * keyfile.h has the file side; the *_load/_save functions below are
 * implemented there, the text forms in crypto.c).
 */
#ifndef GOSSAMER_GOSSIP_CRYPTO_H
#define GOSSAMER_GOSSIP_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "gossip/wire.h"

#define GSM_CLUSTER_KEY_LEN  32
#define GSM_MAX_KEYS	     8
#define GSM_MAX_CLUSTER_NAME 64

/* Call once per process before anything else here (sodium_init). */
int gsm_crypto_init(void);

/* ---- node identity (Ed25519) ---- */
struct gsm_identity;
int gsm_identity_generate(struct gsm_identity **out);
int gsm_identity_from_seed(const uint8_t seed[32], struct gsm_identity **out);
/* Key file: the 32-byte seed, base64, one line.  Refused with -EACCES if
 * the file is group/world readable, -ELOOP if path is a symlink, -ENOENT if
 * missing, -EINVAL if malformed.  save writes atomically and durably with
 * mode 0600 (a symlink at path is replaced, not followed). */
int gsm_identity_load(const char *path, struct gsm_identity **out);
int gsm_identity_save(const struct gsm_identity *id, const char *path);
/* The same in memory: text is a key file's contents (surrounding
 * whitespace allowed; 0, -EINVAL malformed, -ENOMEM); to_text writes
 * "<base64 seed>\n" NUL-terminated into buf, *len without the NUL
 * (-EMSGSIZE if cap is too small).  The text is a secret: wipe it. */
int gsm_identity_from_text(const char *text, struct gsm_identity **out);
int gsm_identity_to_text(const struct gsm_identity *id, char *buf, size_t cap, size_t *len);
const uint8_t *gsm_identity_public(const struct gsm_identity *id); /* GSM_ID_LEN */
int gsm_sign(const struct gsm_identity *id, const uint8_t *msg, size_t len,
	     uint8_t sig[GSM_SIG_LEN]);
/* 0 or -EKEYREJECTED */
int gsm_verify(const uint8_t pk[GSM_ID_LEN], const uint8_t *msg, size_t len,
	       const uint8_t sig[GSM_SIG_LEN]);
void gsm_identity_free(struct gsm_identity *id);

/* Encode a's canonical body and sign it: out = [body, sig] (wire.h).
 * a->node_id must equal the identity's public key (-EINVAL otherwise). */
int gsm_advert_sign(const struct gsm_advert *a, const struct gsm_identity *id, uint8_t *out,
		    size_t cap, size_t *len);

/* ---- cluster key ring (XChaCha20-Poly1305-IETF) ---- */
struct gsm_keyring;
/* cluster_name is bound into every datagram as associated data. */
int gsm_keyring_new(const char *cluster_name, struct gsm_keyring **out);
void gsm_keyring_free(struct gsm_keyring *kr);
/* install a key; the first key installed becomes primary */
int gsm_keyring_add(struct gsm_keyring *kr, uint16_t key_id,
		    const uint8_t key[GSM_CLUSTER_KEY_LEN]);
int gsm_keyring_use(struct gsm_keyring *kr, uint16_t key_id);	 /* make primary */
int gsm_keyring_remove(struct gsm_keyring *kr, uint16_t key_id); /* -EBUSY if primary */
int gsm_keyring_primary(const struct gsm_keyring *kr);		 /* key id or -ENOENT */
size_t gsm_keyring_count(const struct gsm_keyring *kr);
/* 1 if key_id is installed, else 0 */
int gsm_keyring_has(const struct gsm_keyring *kr, uint16_t key_id);
/* Fill up to cap ids, primary first then installation order; returns the
 * number of keys installed (may exceed cap). */
size_t gsm_keyring_ids(const struct gsm_keyring *kr, uint16_t *ids, size_t cap);
const char *gsm_keyring_cluster_name(const struct gsm_keyring *kr);
/* gsm_keyring_add: adding an id that is present with the same key is a
 * no-op (0); with a different key -EEXIST; full ring -ENOSPC.  use/remove:
 * -ENOENT for an unknown id.  seal on an empty ring: -ENOKEY.  load:
 * -ENOKEY if the file holds no key, -EINVAL if a line is malformed or an
 * id repeats. */
/* Key ring file: one key a line, "<id> <base64 key>", the first line is
 * primary; '#' comments.  Same permission and symlink rules as identity
 * files.  A loaded ring holds the keys in file order and its primary is
 * the file's FIRST key (load installs the keys in order with
 * gsm_keyring_add, which makes the first key installed primary, and never
 * calls gsm_keyring_use), so gsm_keyring_ids() lists them in file order.
 * save writes the primary first, then the others in installation order
 * (plus a '#' header line), so save then load keeps the primary.  load
 * reads the file before it looks at cluster_name. */
int gsm_keyring_load(const char *path, const char *cluster_name, struct gsm_keyring **out);
int gsm_keyring_save(const struct gsm_keyring *kr, const char *path);
/* The same in memory: parse a key file's text (errors as load, plus
 * -ENOSPC over GSM_MAX_KEYS keys); format writes the file's text,
 * NUL-terminated, into buf, *len without the NUL (-ENOKEY empty ring,
 * -EMSGSIZE cap too small).  The text is a secret: wipe it. */
int gsm_keyring_parse(const char *text, const char *cluster_name, struct gsm_keyring **out);
int gsm_keyring_format(const struct gsm_keyring *kr, char *buf, size_t cap, size_t *len);

/* What gsm_keyring_merge did (all zero on error, except conflict_id). */
struct gsm_keyring_merge_result {
	size_t added;	      /* keys installed from `from` */
	size_t removed;	      /* keys dropped because `from` does not list them */
	int primary_changed;  /* 1 if the primary id differs from before */
	uint16_t primary;     /* the primary after the merge */
	uint16_t conflict_id; /* -EEXIST: the id whose key differs */
};
/* Make kr hold exactly the keys of `from` (typically just loaded from the
 * key file, cluster name ignored) with from's primary as primary, keeping
 * the order the rotation needs:
 *   1. refuse (-EEXIST, res->conflict_id) an id of `from` that kr holds
 *      with a different key - a new key needs a new id;
 *   2. remove kr's keys that `from` does not list, except the primary;
 *   3. add from's keys kr lacks, in from's installation (= file) order;
 *   4. make from's primary (= the file's first id) primary, then remove
 *      the old primary if `from` does not list it.
 * Atomic: on any error kr is unchanged.  Errors: -EINVAL (NULL), -ENOKEY
 * (`from` empty), -EEXIST (step 1), -ENOSPC (step 3: `from` holds
 * GSM_MAX_KEYS keys and kr's unlisted primary still occupies a slot),
 * -ENOMEM.  Keys kept keep their relative order; gsm_keyring_ids() after
 * a merge lists the primary, then kept keys, then added ones. */
int gsm_keyring_merge(struct gsm_keyring *kr, const struct gsm_keyring *from,
		      struct gsm_keyring_merge_result *res);

/* The v3 nonce: wall_ms (ms since the Unix epoch, big-endian) ||
 * GSM_NONCE_RANDOM_LEN random bytes from the caller. */
void gsm_nonce_make(uint64_t wall_ms, const uint8_t rnd[GSM_NONCE_RANDOM_LEN],
		    uint8_t nonce[GSM_NONCE_LEN]);
/* The sender's wall clock stamped in a nonce (or a datagram's nonce:
 * dgram + GSM_WK_ENV_NONCE). */
uint64_t gsm_nonce_time(const uint8_t nonce[GSM_NONCE_LEN]);

/* Seal body under the primary key with auth 0 (cluster key only).  nonce:
 * from gsm_nonce_make (the core gets time and randomness from its
 * environment).  out needs len + GSM_ENVELOPE_MIN bytes.  body may be
 * exactly out + GSM_ENVELOPE_HEADER (seal in place); no other overlap. */
int gsm_seal(const struct gsm_keyring *kr, const uint8_t nonce[GSM_NONCE_LEN], const uint8_t *body,
	     size_t len, uint8_t *out, size_t cap, size_t *outlen);
/* The same with auth 1 when pair_key is not NULL: the pair tag
 * (gsm_pair_tag over the sealed bytes) is appended, out then needs len +
 * GSM_ENVELOPE_OVERHEAD bytes.  pair_key NULL is gsm_seal. */
int gsm_seal_pair(const struct gsm_keyring *kr, const uint8_t nonce[GSM_NONCE_LEN],
		  const uint8_t *pair_key, const uint8_t *body, size_t len, uint8_t *out,
		  size_t cap, size_t *outlen);
/* Open a datagram; body receives the plaintext (cap >= len - overhead).
 * Errors: -EBADMSG (short, bad magic, an auth byte other than 0/1, auth
 * failure: wrong key, wrong cluster name, any modified bit of header or
 * ciphertext), -EPROTONOSUPPORT (other major), -ENOKEY (unknown key id),
 * -EMSGSIZE (len > GSM_MAX_DATAGRAM, refused before any work, or cap too
 * small).  The pair tag of an auth-1 datagram is NOT checked here (the
 * receiver needs the decoded sender to pick the pair key: see
 * gsm_pair_tag_verify).  body may be exactly dgram + GSM_ENVELOPE_HEADER
 * (open in place, dgram then must be writable); no other overlap.  key_id
 * (may be NULL) gets the id that opened it. */
int gsm_open(const struct gsm_keyring *kr, const uint8_t *dgram, size_t len, uint8_t *body,
	     size_t cap, size_t *bodylen, uint16_t *key_id);
/* The auth byte of a datagram gsm_open accepted (GSM_ENV_AUTH_*). */
int gsm_envelope_auth(const uint8_t *dgram, size_t len);

/* ---- pair keys: per-datagram sender attribution (docs/protocol.md) ----
 * The pair key of two nodes is BLAKE2b-256 over
 *   X25519(own Ed25519 secret as curve25519, peer's Ed25519 public key as
 *   curve25519) || "gossamer-pair-v3" || both node ids in ascending byte
 *   order || cluster name
 * so both ends derive the same key and nobody else (not even another
 * cluster key holder) can.  0, -EINVAL, -EKEYREJECTED (the peer id is not
 * a valid point, or a low-order one).  About 50 us: derive once per member
 * and cache it (wipe it with sodium_memzero). */
int gsm_pair_key(const struct gsm_identity *self, const uint8_t peer[GSM_ID_LEN],
		 const char *cluster_name, uint8_t key[GSM_PAIR_KEY_LEN]);
/* TEST ONLY (huge simulations with verify_signatures off): a pair key from
 * public data alone - BLAKE2b-256 of "gossamer-pair-test" || sorted ids ||
 * cluster name.  Anybody can compute it; it attributes nothing. */
void gsm_pair_key_public(const uint8_t a[GSM_ID_LEN], const uint8_t b[GSM_ID_LEN],
			 const char *cluster_name, uint8_t key[GSM_PAIR_KEY_LEN]);
/* tag = BLAKE2b-128 keyed with the pair key over buf[0..len). */
void gsm_pair_tag(const uint8_t key[GSM_PAIR_KEY_LEN], const uint8_t *buf, size_t len,
		  uint8_t tag[GSM_PAIR_TAG_LEN]);
/* Check the pair tag of an auth-1 datagram (as gsm_open accepted it): 0,
 * -EBADMSG (auth 0 or too short), -EKEYREJECTED (the tag does not match). */
int gsm_pair_tag_verify(const uint8_t key[GSM_PAIR_KEY_LEN], const uint8_t *dgram, size_t len);

/* Read the cleartext envelope header without opening it: 0, -EBADMSG
 * (short / bad magic), -EMSGSIZE (> GSM_MAX_DATAGRAM) or -EPROTONOSUPPORT
 * (other major; *major is still filled in).  Any pointer may be NULL. */
int gsm_envelope_peek(const uint8_t *dgram, size_t len, uint8_t *major, uint8_t *minor,
		      uint16_t *key_id);

/* A short, human message for an error code returned by this module or wire.h */
const char *gsm_strerror(int err);

/* base64 helpers (libsodium's original variant, padded) */
int gsm_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap);
int gsm_b64_decode(const char *in, uint8_t *out, size_t cap, size_t *len);

/* ---- claims (protocol major 3; bytes in wire.h, GSM_CLAIM_INTENT_LEN) ---- */
/* Sign u (state SUSPECT or DEAD, node, generation, incarnation set) as a
 * claim by the identity: sets from (the identity's public key), claim_sig
 * and both has_ flags.  0, -EINVAL (NULL or another state), or gsm_sign's
 * error (has_claim_sig is 0 then). */
int gsm_claim_sign(const struct gsm_identity *id, struct gsm_update *u);
/* Check u's claim_sig against u->from: 0, -EKEYREJECTED (missing from or
 * claim_sig, or a bad signature), -EINVAL (NULL, not SUSPECT/DEAD).  Does
 * not check that from is a member: the core does. */
int gsm_claim_verify(const struct gsm_update *u);

#endif
