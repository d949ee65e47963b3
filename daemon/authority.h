/* daemon/authority.h - the node side of authority mode: its certificate
 * chain file, the join key it may issue its own certificate with, and the
 * revocations file of the state directory (docs/authority.md, gossip/cert.h).
 *
 * Pure file and certificate work, no runtime: the runtime glue (the core,
 * events, reload, the `revoke` command) is daemon/authority_run.c.
 * Errors are negative errno with one sentence in msg/why naming the file
 * and the problem. */
#ifndef GOSSAMER_DAEMON_AUTHORITY_H
#define GOSSAMER_DAEMON_AUTHORITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/cert.h"
#include "gossip/crypto.h"
#include "gossip/wire.h"

#define GSD_REVOCATIONS_FILE "revocations"
#define GSD_CERT_FILE	     "node.cert"
/* warn about our own certificate when it expires within this */
#define GSD_CERT_WARN_S (7u * 24 * 3600)

/* A certificate chain: node certificate first, then its JOIN certificate
 * when it was issued with a join key. */
struct gsd_chain {
	uint8_t n;
	uint16_t len[GSM_CERT_CHAIN_MAX];
	uint8_t cert[GSM_CERT_CHAIN_MAX][GSM_CERT_MAX];
};

/* Read a chain file (PEM CERTIFICATE blocks).  0; -ENOENT no file;
 * -EBADMSG (msg) no certificate, a broken block, or a block that is not a
 * certificate; -EMSGSIZE (msg) more than GSM_CERT_CHAIN_MAX blocks or a
 * block too large; other negative errno (msg) when unreadable.  Only the
 * encoding is checked: the chain check is gsm_cert_chain_check. */
int gsd_chain_load(const char *path, struct gsd_chain *out, char *msg, size_t msglen);
/* Write a chain file atomically and durably (mode 0644). 0 or -errno. */
int gsd_chain_save(const char *path, const struct gsd_chain *c);
/* Decode the chain for gsm_cert_chain_check: out[i] borrows c. */
size_t gsd_chain_bytes(const struct gsd_chain *c, struct gsm_bytes out[GSM_CERT_CHAIN_MAX]);

/* A join key file: the JOIN KEY block (32-byte seed) and the JOIN
 * certificate delegating to it. */
struct gsd_join_key {
	struct gsm_identity *key;
	struct gsm_cert cert; /* decoded JOIN certificate */
	uint16_t cert_len;
	uint8_t signed_cert[GSM_CERT_MAX];
};
/* Load (secret file rules of common/fileio.h: 0600, no symlink).  0, or
 * -ENOENT / -EACCES / -EBADMSG / -EINVAL with msg (the certificate is not
 * a JOIN certificate for that key). */
int gsd_join_key_load(const char *path, struct gsd_join_key *jk, char *msg, size_t msglen);
/* Accepts a zeroed struct; wipes the key. */
void gsd_join_key_clear(struct gsd_join_key *jk);

/* What a node asks of its own certificate (from its configuration). */
struct gsd_issue_request {
	uint8_t node_id[GSM_ID_LEN];
	const char *name;
	const struct gsm_prefix *prefixes;
	size_t n_prefixes;
	const struct gsm_label *labels;
	size_t n_labels;
	uint32_t roles; /* GSM_ROLE_* */
	bool has_overlay4;
	struct gsm_prefix overlay4; /* /32 */
	uint64_t now_s;
};

/* Issue a node certificate for req with the join key: lifetime the join
 * key's max_lifetime (from now, or from the join certificate's not_before
 * if later), ephemeral if the join certificate is, a random serial; out =
 * [node certificate, join certificate].  -EPERM when it lies outside the
 * join key's limits, why = gsm_cert_within's reason; -EMSGSIZE (why) more
 * prefixes or labels than a certificate holds; -EKEYEXPIRED (why) the
 * join certificate has expired. */
int gsd_self_issue(const struct gsd_join_key *jk, const struct gsd_issue_request *req,
		   struct gsd_chain *out, char *why, size_t whylen);

/* Whether a node must issue itself a new certificate: the chain is not
 * VALID, or less than a third of its lifetime (from the leaf's not_before
 * to the chain's expiry) is left at now_s. */
bool gsd_chain_needs_issue(const struct gsm_cert_info *info, uint64_t now_s);

/* ---- the revocations file: PEM REVOCATION blocks ---- */

struct gsd_revlist {
	size_t n, cap;
	uint8_t (*rev)[GSM_REVOCATION_MAX];
	uint16_t *len;
};
/* Append one (copied).  0, -EMSGSIZE, -ENOMEM. */
int gsd_revlist_add(struct gsd_revlist *l, const uint8_t *rev, size_t len);
/* Frees the entries; l is then empty and reusable. */
void gsd_revlist_clear(struct gsd_revlist *l);
/* Atomic and durable, mode 0644.  0 or -errno. */
int gsd_revlist_save(const char *path, const struct gsd_revlist *l);
/* Append every revocation of the file to l.  0; -ENOENT no file;
 * -EBADMSG (msg names the block) a broken block, a block that does not
 * decode as a revocation, or text that is not a revocation block; other
 * -errno (msg).  Signatures are checked by whoever takes them
 * (gsm_swim_add_revocation). */
int gsd_revlist_load(const char *path, struct gsd_revlist *l, char *msg, size_t msglen);

/* ---- display ---- */

/* "relay", "exit", "gateway" into a JSON-free list: calls fn per role set. */
void gsd_roles_foreach(uint32_t roles, void (*fn)(void *ctx, const char *role), void *ctx);

#endif
