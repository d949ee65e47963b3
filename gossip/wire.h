/*
 * gossip/wire.h - the gossamer wire format, specified in one place.
 *
 * Every gossip datagram is an ENVELOPE (fixed binary header, then an AEAD
 * ciphertext) whose plaintext is a BODY: one MessagePack map with small
 * integer keys.  Readers skip keys they do not know, so a newer minor
 * version can add keys and still talk to older nodes; a different major
 * version is refused.  Every count and length is checked against the
 * bounds below (and against the bytes that remain) before anything is
 * allocated, and a body never exceeds GSM_MAX_DATAGRAM.
 *
 * ENVELOPE (all integers big-endian; major 3)
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |               magic 'G' 'S' 'M' 'R' (0x47534d52)              |
 *  +---------------+---------------+-------------------------------+
 *  | major (3)     | minor (0)     |         key id                |
 *  +---------------+---------------+-------------------------------+
 *  |   nonce: sender wall clock, ms since the Unix epoch (8 bytes)  |
 *  +                                                               +
 *  |          || 16 random bytes (24 bytes in all)                 |
 *  +---------------+-----------------------------------------------+
 *  | auth (1)      |  ciphertext: XChaCha20-Poly1305-IETF(body),   |
 *  +---------------+  then the 16-byte AEAD tag                    +
 *  |                (length = body length + 16)                    |
 *  +---------------------------------------------------------------+
 *  |  pair tag (16 bytes, only when auth = 1)                      |
 *  +---------------------------------------------------------------+
 *
 *  associated data = the 33 header bytes (magic .. auth) || cluster name
 *  The key id names the cluster key (see gossip/crypto.h: key ring).
 *  auth 0: the cluster key only; auth 1: a pair tag follows the
 *  ciphertext: BLAKE2b-128 keyed with the sender/recipient pair key over
 *  every preceding datagram byte (gsm_pair_key, gsm_pair_tag).  Other
 *  values are refused.  The nonce's time stamp feeds the replay window
 *  (docs/protocol.md, Replay window); the nonce stays unique because of
 *  its 128 random bits.
 *  Overhead: 33 + 16 = 49 bytes (GSM_ENVELOPE_MIN), 65 with a pair tag
 *  (GSM_ENVELOPE_OVERHEAD, the budget every body is sized for).
 *
 * BODY: map { key: value }            (msg = struct gsm_msg)
 *
 *   The keys and their value types are specified, with their numbers, by
 *   the GSM_WK_* enums below (one enum per map or positional array); the
 *   encoder and the decoder use those names, never bare numbers:
 *
 *   body      enum gsm_wk_msg        map
 *   update    enum gsm_wk_update     map      (in GSM_WK_MSG_UPDATES)
 *   digest    enum gsm_wk_digest     array    (in GSM_WK_MSG_DIGEST)
 *
 *   addr:   bin 6  = IPv4 (4) + port (2)
 *           bin 18 = IPv6 (16) + port (2)
 *   prefix: bin 5  = IPv4 (4) + prefix length (1)
 *           bin 17 = IPv6 (16) + prefix length (1)
 *
 * SIGNED ADVERT (what travels in GSM_WK_MSG_ADVERTS and in persistence):
 *
 *   array [ body bin, signature bin 64 ]      (enum gsm_wk_signed)
 *
 *   The signature is Ed25519 by the advert's node id over the exact body
 *   bytes, so unknown keys added by newer versions stay covered.  The body
 *   is encoded canonically: keys ascending, integers in their shortest
 *   form, labels sorted by key; the same advert always gives the same
 *   bytes and (Ed25519 being deterministic) the same signature.
 *
 *   advert body  enum gsm_wk_advert     map
 *   endpoint     enum gsm_wk_endpoint   map      (in GSM_WK_ADVERT_ENDPOINTS)
 *   label        enum gsm_wk_label      array    (in GSM_WK_ADVERT_LABELS)
 *   certs        array[bin]                      (in GSM_WK_ADVERT_CERTS)
 *
 *   Certificates (authority mode, gossip/cert.h): key 13 carries the
 *   node's chain as signed certificates, node certificate first, each an
 *   opaque bin here (the advert codec checks only the bounds; the chain is
 *   verified by gsm_cert_chain_check).  Omitted when the node has none, so
 *   an advert without certificates encodes exactly as before.
 *
 *   Ordering: an advert supersedes another of the same node when its
 *   (generation, version) is greater, compared lexicographically.
 */
#ifndef GOSSAMER_GOSSIP_WIRE_H
#define GOSSAMER_GOSSIP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h> /* struct sockaddr, socklen_t (address helpers) */

#define GSM_WIRE_MAGIC	      0x47534d52u /* "GSMR" */
#define GSM_PROTO_MAJOR	      3
#define GSM_PROTO_MINOR	      0
#define GSM_ENVELOPE_HEADER   33 /* magic..auth */
#define GSM_AEAD_TAG	      16
#define GSM_PAIR_TAG_LEN      16
#define GSM_PAIR_KEY_LEN      32
#define GSM_ENVELOPE_MIN      (GSM_ENVELOPE_HEADER + GSM_AEAD_TAG)  /* auth 0 */
#define GSM_ENVELOPE_OVERHEAD (GSM_ENVELOPE_MIN + GSM_PAIR_TAG_LEN) /* at most */
#define GSM_NONCE_LEN	      24
#define GSM_NONCE_TIME_LEN    8	 /* big-endian ms since the epoch, first */
#define GSM_NONCE_RANDOM_LEN  16 /* then random bytes */
#define GSM_ENV_AUTH_NONE     0	 /* auth byte: cluster key only */
#define GSM_ENV_AUTH_PAIR     1	 /* auth byte: a pair tag follows */
#define GSM_ID_LEN	      32 /* node id = Ed25519 public key */
#define GSM_WGKEY_LEN	      32
#define GSM_SIG_LEN	      64
#define GSM_DEFAULT_MTU	      1400  /* default datagram budget, envelope included */
#define GSM_MAX_DATAGRAM      65000 /* hard bound on any datagram */

/* Bounds (documented in docs/protocol.md). */
#define GSM_MAX_NAME	    63
#define GSM_MAX_ENDPOINTS   16
#define GSM_MAX_OVERLAY	    4
#define GSM_MAX_PREFIXES    64
#define GSM_MAX_LABELS	    32
#define GSM_MAX_LABEL_KEY   63
#define GSM_MAX_LABEL_VALUE 127
#define GSM_MAX_ADVERT	    8192 /* encoded signed advert */
#define GSM_CERT_MAX	    1024 /* one encoded signed certificate (gossip/cert.h) */
#define GSM_CERT_CHAIN_MAX  2	 /* node certificate + one JOIN certificate */
#define GSM_MAX_UPDATES	    128	 /* per message */
#define GSM_MAX_ADVERTS	    64	 /* per message */
#define GSM_MAX_DIGEST	    2048 /* per message */
#define GSM_STATE_HASH_MIN  16	 /* GSM_WK_MSG_STATE_HASH length bounds */
#define GSM_STATE_HASH_MAX  32

/* Revocations (authority mode, gossip/cert.h): per message, one signed
 * revocation (= GSM_REVOCATION_MAX of gossip/cert.h), the sync hash. */
#define GSM_MAX_REVOCATIONS_MSG 8
#define GSM_WIRE_REVOCATION_MAX 256
#define GSM_REV_HASH_LEN	16

/* ---- wire keys: the numbers are the format, never renumber ---- */

/* Envelope header: byte offsets (fixed binary layout above). */
enum gsm_wk_envelope {
	GSM_WK_ENV_MAGIC = 0,  /* 4 bytes, GSM_WIRE_MAGIC */
	GSM_WK_ENV_MAJOR = 4,  /* 1 byte */
	GSM_WK_ENV_MINOR = 5,  /* 1 byte */
	GSM_WK_ENV_KEY_ID = 6, /* 2 bytes */
	GSM_WK_ENV_NONCE = 8,  /* GSM_NONCE_LEN bytes: time (8) || random (16) */
	GSM_WK_ENV_AUTH = 32,  /* 1 byte: GSM_ENV_AUTH_* */
};

/* Body map keys (struct gsm_msg).  type and sender are required. */
enum gsm_wk_msg {
	GSM_WK_MSG_TYPE = 0,	     /* uint: GSM_MSG_* */
	GSM_WK_MSG_SENDER = 1,	     /* bin 32: sender's node id (Ed25519 public key) */
	GSM_WK_MSG_SEQ = 2,	     /* uint32: probe / sync sequence number */
	GSM_WK_MSG_TARGET = 3,	     /* bin 32: node the message is about (ping: who
				      * is probed; ping-req: whom to probe) */
	GSM_WK_MSG_TARGET_ADDR = 4,  /* addr: gossip address of target */
	GSM_WK_MSG_ORIGIN = 5,	     /* bin 32: ping-req originator (forwarded acks) */
	GSM_WK_MSG_ORIGIN_ADDR = 6,  /* addr */
	GSM_WK_MSG_OBSERVED = 7,     /* addr: the source address the sender saw for
				      * the receiver (NAT detection) */
	GSM_WK_MSG_UPDATES = 8,	     /* array[update]: piggybacked membership updates */
	GSM_WK_MSG_ADVERTS = 9,	     /* array[bin]: piggybacked SIGNED adverts */
	GSM_WK_MSG_DIGEST = 10,	     /* array[digest]: anti-entropy digest entries */
	GSM_WK_MSG_FLAGS = 11,	     /* uint: GSM_MF_* */
	GSM_WK_MSG_CURSOR = 12,	     /* bin 32: sync paging: continue after this id */
	GSM_WK_MSG_SENDER_GEN = 13,  /* uint64: sender's generation */
	GSM_WK_MSG_WG_OBSERVED = 14, /* addr: the WireGuard endpoint the sender's
				      * WireGuard sees for the receiver */
	GSM_WK_MSG_STATE_HASH = 15,  /* bin 16..32: sync summary, a hash of the
				      * sender's whole view as the digest compares
				      * it (docs/protocol.md, Anti-entropy; any
				      * other value is ignored) */
	GSM_WK_MSG_REVOCATIONS = 16, /* array[bin] (at most GSM_MAX_REVOCATIONS_MSG,
				      * each <= GSM_WIRE_REVOCATION_MAX): signed
				      * revocations (gossip/cert.h), piggybacked */
	GSM_WK_MSG_REV_HASH = 17,    /* bin 16: sync: a hash over the sorted ids of
				      * the revocations the sender holds (only
				      * from nodes with authority keys; any other
				      * length is ignored) */
	GSM_WK_MSG_COUNT = 18,	     /* keys >= this are unknown (skipped) */
};

/* Update map keys (struct gsm_update).  node is required.
 *   from: who asserts a suspect/dead (Lifeguard counts independent
 *         suspicions); sig: Ed25519 by `node` over the leave intent with
 *         state LEFT (gsm_leave_intent()), over the alive intent with any
 *         other state (gsm_alive_intent(), major 2: a refutation carries
 *         it, and so may a later claim at that generation/incarnation);
 *   claim_sig: (major 3) Ed25519 by `from` over the claim intent
 *         (gsm_claim_intent(): state, node, generation, incarnation,
 *         from) on SUSPECT and DEAD updates.  Relayers pass from and
 *         claim_sig on unchanged; a SUSPECT/DEAD update about another
 *         member without a valid one, or whose `from` is not a live
 *         member with an advert, is ignored. */
enum gsm_wk_update {
	GSM_WK_UPDATE_NODE = 0,	       /* bin 32 */
	GSM_WK_UPDATE_STATE = 1,       /* uint: enum gsm_state */
	GSM_WK_UPDATE_GENERATION = 2,  /* uint64 */
	GSM_WK_UPDATE_INCARNATION = 3, /* uint64 */
	GSM_WK_UPDATE_ADDR = 4,	       /* addr */
	GSM_WK_UPDATE_FROM = 5,	       /* bin 32 */
	GSM_WK_UPDATE_SIG = 6,	       /* bin 64 */
	GSM_WK_UPDATE_CLAIM_SIG = 7,   /* bin 64: by `from` (major 3) */
	GSM_WK_UPDATE_COUNT = 8,
};

/* Digest entry: positions in a fixed array of exactly COUNT items. */
enum gsm_wk_digest {
	GSM_WK_DIGEST_NODE = 0,	      /* bin 32 */
	GSM_WK_DIGEST_GENERATION = 1, /* uint64 */
	GSM_WK_DIGEST_VERSION = 2,    /* uint64 */
	GSM_WK_DIGEST_COUNT = 3,
};

/* Signed advert: positions in an array of exactly COUNT items. */
enum gsm_wk_signed {
	GSM_WK_SIGNED_BODY = 0, /* bin: the canonical advert body */
	GSM_WK_SIGNED_SIG = 1,	/* bin 64: Ed25519 over the body bytes */
	GSM_WK_SIGNED_COUNT = 2,
};

/* Advert body map keys (struct gsm_advert).  node_id is required. */
enum gsm_wk_advert {
	GSM_WK_ADVERT_NODE_ID = 0,     /* bin 32: Ed25519 public key (identity) */
	GSM_WK_ADVERT_NAME = 1,	       /* str <= GSM_MAX_NAME */
	GSM_WK_ADVERT_WG_PUBKEY = 2,   /* bin 32: WireGuard (Curve25519) public key */
	GSM_WK_ADVERT_GENERATION = 3,  /* uint64: bumped on every start of the daemon */
	GSM_WK_ADVERT_VERSION = 4,     /* uint64: bumped on every change in a generation */
	GSM_WK_ADVERT_WG_PORT = 5,     /* uint16: WireGuard listen port */
	GSM_WK_ADVERT_GOSSIP_PORT = 6, /* uint16 */
	GSM_WK_ADVERT_FLAGS = 7,       /* uint: GSM_ADV_* */
	GSM_WK_ADVERT_ENDPOINTS = 8,   /* array[endpoint] */
	GSM_WK_ADVERT_OVERLAY = 9,     /* array[prefix]: overlay addresses (host + len) */
	GSM_WK_ADVERT_PREFIXES = 10,   /* array[prefix]: advertised routed prefixes */
	GSM_WK_ADVERT_LABELS = 11,     /* array[label], sorted by key */
	GSM_WK_ADVERT_RELAY_VIA = 12,  /* bin 32: node currently relaying for this one */
	GSM_WK_ADVERT_CERTS = 13,      /* array[bin]: the certificate chain (gossip/cert.h),
					* node certificate first; each bin <=
					* GSM_CERT_MAX, at most GSM_CERT_CHAIN_MAX + 1
					* entries (a longer one is -EMSGSIZE) */
	GSM_WK_ADVERT_COUNT = 14,
};

/* Endpoint map keys (struct gsm_endpoint).  addr is required. */
enum gsm_wk_endpoint {
	GSM_WK_EP_ADDR = 0,	/* addr */
	GSM_WK_EP_FLAGS = 1,	/* uint: GSM_EP_* */
	GSM_WK_EP_OBSERVER = 2, /* bin 32 */
	GSM_WK_EP_COUNT = 3,
};

/* Label: positions in an array of exactly COUNT items. */
enum gsm_wk_label {
	GSM_WK_LABEL_KEY = 0,	/* str, non-empty, <= GSM_MAX_LABEL_KEY */
	GSM_WK_LABEL_VALUE = 1, /* str <= GSM_MAX_LABEL_VALUE */
	GSM_WK_LABEL_COUNT = 2,
};

enum gsm_msg_type {
	GSM_MSG_PING = 1,
	GSM_MSG_ACK = 2,
	GSM_MSG_PING_REQ = 3,
	GSM_MSG_NACK = 4,
	GSM_MSG_SYNC_DIGEST = 5,   /* "here is (a page of) what I hold" */
	GSM_MSG_SYNC_REQUEST = 6,  /* "send me these / page after cursor" */
	GSM_MSG_SYNC_RESPONSE = 7, /* adverts + updates answering a request */
	GSM_MSG_LEAVE = 8,	   /* carries the signed LEFT update */
	GSM_MSG_GOSSIP = 9,	   /* piggyback-only datagram */
	GSM_MSG_TYPE_MAX = 9,
};

enum gsm_state {
	GSM_STATE_ALIVE = 0,
	GSM_STATE_SUSPECT = 1,
	GSM_STATE_DEAD = 2,
	GSM_STATE_LEFT = 3,
};

/* msg flags */
#define GSM_MF_MORE	 0x1u /* sync: more pages follow */
#define GSM_MF_REPLY	 0x2u /* sync: please answer with your digest */
#define GSM_MF_FORWARDED 0x4u /* ack/nack relayed on behalf of a ping-req */

/* advert flags */
#define GSM_ADV_PUBLIC	   0x1u /* reachable from the internet without NAT */
#define GSM_ADV_RELAY	   0x2u /* willing to relay for NATed members */
#define GSM_ADV_BEHIND_NAT 0x4u /* the node found it is behind NAT */
#define GSM_ADV_GATEWAY                                                                            \
	0x8u /* routes its prefixes for the mesh (subnet router,                                   \
	      * egress gateway, external clients) */
#define GSM_ADV_EXIT                                                                               \
	0x10u /* offers itself as an exit node: 0.0.0.0/0 and                                      \
	       * ::/0 through it, for members that choose it */

/* endpoint flags */
#define GSM_EP_CONFIGURED 0x1u
#define GSM_EP_OBSERVED	  0x2u

struct gsm_addr {
	uint8_t family; /* 0 = none, 4 or 6 */
	uint8_t ip[16]; /* IPv4 in the first 4 bytes */
	uint16_t port;	/* host byte order */
};

struct gsm_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t ip[16];
	uint8_t len;
};

struct gsm_endpoint {
	struct gsm_addr addr;
	uint8_t flags; /* GSM_EP_* */
	uint8_t has_observer;
	uint8_t observer[GSM_ID_LEN]; /* who observed it (GSM_EP_OBSERVED) */
};

struct gsm_label {
	char key[GSM_MAX_LABEL_KEY + 1];
	char value[GSM_MAX_LABEL_VALUE + 1];
};

/* A node advertisement, decoded.  Fixed size; not meant to be stored per
 * member in bulk (the core keeps the signed bytes). */
struct gsm_advert {
	uint8_t node_id[GSM_ID_LEN];
	char name[GSM_MAX_NAME + 1];
	uint8_t wg_pubkey[GSM_WGKEY_LEN];
	uint64_t generation;
	uint64_t version;
	uint16_t wg_port;
	uint16_t gossip_port;
	uint32_t flags; /* GSM_ADV_* */
	uint8_t n_endpoints;
	struct gsm_endpoint endpoints[GSM_MAX_ENDPOINTS];
	uint8_t n_overlay;
	struct gsm_prefix overlay[GSM_MAX_OVERLAY];
	uint8_t n_prefixes;
	struct gsm_prefix prefixes[GSM_MAX_PREFIXES];
	uint8_t n_labels;
	struct gsm_label labels[GSM_MAX_LABELS];
	uint8_t has_relay_via;
	uint8_t relay_via[GSM_ID_LEN];
	/* Signed certificates (gossip/cert.h), node certificate first.  One
	 * slot more than a valid chain holds, so that a too-long chain still
	 * decodes and gsm_cert_chain_check() can refuse it visibly. */
	uint8_t n_certs;
	uint16_t cert_len[GSM_CERT_CHAIN_MAX + 1];
	uint8_t certs[GSM_CERT_CHAIN_MAX + 1][GSM_CERT_MAX];
};

struct gsm_update {
	uint8_t node[GSM_ID_LEN];
	uint8_t state; /* enum gsm_state */
	uint64_t generation;
	uint64_t incarnation;
	struct gsm_addr addr; /* gossip address of node (family 0: unknown) */
	uint8_t has_from;
	uint8_t from[GSM_ID_LEN];
	uint8_t has_sig;
	uint8_t sig[GSM_SIG_LEN]; /* LEFT: signed leave intent; other states: the
				   * node's signed alive intent for (generation,
				   * incarnation) (major 2) */
	uint8_t has_claim_sig;
	uint8_t claim_sig[GSM_SIG_LEN]; /* SUSPECT/DEAD: `from`'s signed claim
					 * intent (major 3) */
};

struct gsm_digest_entry {
	uint8_t node[GSM_ID_LEN];
	uint64_t generation;
	uint64_t version;
};

/* A reference to bytes inside the decoded datagram (no copy). */
struct gsm_bytes {
	const uint8_t *ptr;
	size_t len;
};

/* A decoded body.  Arrays of adverts point into the buffer given to
 * gsm_msg_decode(), which must outlive the struct.  Large; allocate it
 * once and reuse it. */
struct gsm_msg {
	uint8_t type;
	uint8_t sender[GSM_ID_LEN];
	uint64_t sender_gen;
	uint32_t seq;
	uint32_t flags;
	uint8_t has_target, has_origin, has_cursor;
	uint8_t target[GSM_ID_LEN];
	struct gsm_addr target_addr;
	uint8_t origin[GSM_ID_LEN];
	struct gsm_addr origin_addr;
	struct gsm_addr observed;
	struct gsm_addr wg_observed;
	uint8_t cursor[GSM_ID_LEN];
	uint8_t state_hash_len; /* 0 = absent, else GSM_STATE_HASH_MIN..MAX */
	uint8_t state_hash[GSM_STATE_HASH_MAX];
	uint8_t has_rev_hash;
	uint8_t rev_hash[GSM_REV_HASH_LEN];
	uint16_t n_revocations;
	struct gsm_bytes revocations[GSM_MAX_REVOCATIONS_MSG]; /* signed revocations */
	uint16_t n_updates;
	struct gsm_update updates[GSM_MAX_UPDATES];
	uint16_t n_adverts;
	struct gsm_bytes adverts[GSM_MAX_ADVERTS]; /* signed advert encodings */
	uint16_t n_digest;
	struct gsm_digest_entry digest[GSM_MAX_DIGEST];
};

/* Errors: negative errno.  -EBADMSG malformed, -EMSGSIZE does not fit /
 * over a bound, -EPROTONOSUPPORT other major version, -EINVAL bad
 * argument, -EKEYREJECTED bad signature, -ENOMSG (gsm_msg_decode only) a
 * well-formed body whose message type is unknown (from a newer version):
 * drop it quietly. */

/* Encode a body into buf (capacity cap); *len receives the size. */
int gsm_msg_encode(const struct gsm_msg *m, uint8_t *buf, size_t cap, size_t *len);
/* Exact encoded size of m (same as gsm_msg_encode would produce). */
size_t gsm_msg_encoded_size(const struct gsm_msg *m);
/* Upper bound on what one update / one signed advert / one digest entry
 * adds to a body: for any valid message m, gsm_msg_encoded_size(m) plus
 * the sum of these for items appended to m's arrays is >= the encoded size
 * of the result (array headers and the first item's map key included).
 * gsm_msg_encoded_size() returns 0 for an invalid message. */
size_t gsm_update_encoded_size(const struct gsm_update *u);
size_t gsm_advert_ref_encoded_size(size_t signed_len);
/* The same bound for one signed revocation of signed_len bytes (key 16). */
size_t gsm_revocation_ref_encoded_size(size_t signed_len);
size_t gsm_digest_entry_encoded_size(const struct gsm_digest_entry *d);
/* Decode; m's gsm_bytes point into buf. */
int gsm_msg_decode(const uint8_t *buf, size_t len, struct gsm_msg *m);
/* Reset m to an empty message of the given type. */
void gsm_msg_init(struct gsm_msg *m, uint8_t type);

/* Canonical advert body (unsigned).  -EMSGSIZE if the signed advert would
 * exceed GSM_MAX_ADVERT or a count exceeds its bound, -EINVAL for invalid
 * fields (bad family/prefix length, name or labels not valid UTF-8 or
 * with control characters, empty or duplicate label keys). */
int gsm_advert_encode_body(const struct gsm_advert *a, uint8_t *buf, size_t cap, size_t *len);
/* Assemble a signed advert [body, sig] (gsm_advert_sign() in crypto.h
 * does encode + sign + wrap in one call). */
int gsm_advert_wrap(const uint8_t *body, size_t body_len, const uint8_t sig[GSM_SIG_LEN],
		    uint8_t *out, size_t cap, size_t *len);
/* Parse a signed advert: checks structure and bounds, NOT the signature
 * (gsm_advert_verify() does that). */
int gsm_advert_decode(const uint8_t *signed_adv, size_t len, struct gsm_advert *a);
/* Cheap peek of (node id, generation, version) from a signed advert. */
int gsm_advert_peek(const uint8_t *signed_adv, size_t len, uint8_t node_id[GSM_ID_LEN],
		    uint64_t *generation, uint64_t *version);
/* Verify the signature of a signed advert against the node id in its body.
 * Returns 0, -EBADMSG or -EKEYREJECTED. */
int gsm_advert_verify(const uint8_t *signed_adv, size_t len);

/* The bytes a node signs to leave: "gossamer-leave" || node || gen || inc. */
#define GSM_LEAVE_INTENT_LEN (14 + GSM_ID_LEN + 8 + 8)
void gsm_leave_intent(const uint8_t node[GSM_ID_LEN], uint64_t generation, uint64_t incarnation,
		      uint8_t out[GSM_LEAVE_INTENT_LEN]);

/* The bytes a node signs to refute (an ALIVE update at this generation and
 * incarnation, protocol major 2): "gossamer alive v1" (17 bytes) || node ||
 * gen || inc (uint64 BE).  Claims by others about the node are bounded by
 * the highest (gen, inc) it signed this way or in an advert (gen, 0). */
#define GSM_ALIVE_INTENT_LEN (17 + GSM_ID_LEN + 8 + 8)
void gsm_alive_intent(const uint8_t node[GSM_ID_LEN], uint64_t generation, uint64_t incarnation,
		      uint8_t out[GSM_ALIVE_INTENT_LEN]);

/* The bytes a claimer signs to say `node` is SUSPECT or DEAD (protocol
 * major 3, update key 7; signed and checked by gsm_claim_sign/verify in
 * crypto.h):
 *   "gossamer-claim" (14 bytes) || state (1 byte: 1 SUSPECT, 2 DEAD) ||
 *   node (32) || generation (uint64 BE) || incarnation (uint64 BE) ||
 *   from (32)                                             = 95 bytes */
#define GSM_CLAIM_INTENT_LEN (14 + 1 + GSM_ID_LEN + 8 + 8 + GSM_ID_LEN)
void gsm_claim_intent(uint8_t state, const uint8_t node[GSM_ID_LEN], uint64_t generation,
		      uint64_t incarnation, const uint8_t from[GSM_ID_LEN],
		      uint8_t out[GSM_CLAIM_INTENT_LEN]);

/* Address helpers. */
int gsm_addr_equal(const struct gsm_addr *a, const struct gsm_addr *b);
/* "1.2.3.4:5" / "[::1]:5"; returns chars written like snprintf. */
int gsm_addr_format(const struct gsm_addr *a, char *buf, size_t cap);
/* Numeric addresses only (no DNS), port required: 0 or -EINVAL.
 * Formatting family 0 gives "-". */
int gsm_addr_parse(const char *s, struct gsm_addr *a);
int gsm_prefix_format(const struct gsm_prefix *p, char *buf, size_t cap);
/* "10.1.0.7/16", "fd00::/48"; a bare address is a host prefix (/32, /128);
 * host bits are kept.  0 or -EINVAL. */
int gsm_prefix_parse(const char *s, struct gsm_prefix *p);

int gsm_prefix_equal(const struct gsm_prefix *a, const struct gsm_prefix *b);
/* 1 when net contains p (same family, p at least as long, net's bits equal;
 * a host prefix /32 or /128 is an address), else 0.  common/prefix.h. */
int gsm_prefix_contains(const struct gsm_prefix *net, const struct gsm_prefix *p);
/* 1 when a and b share an address (one contains the other), else 0. */
int gsm_prefix_overlaps(const struct gsm_prefix *a, const struct gsm_prefix *b);
/* sockaddr conversions; IPv4-mapped IPv6 becomes plain IPv4.
 * -EAFNOSUPPORT for other families. */
struct sockaddr_storage;
int gsm_addr_from_sockaddr(const struct sockaddr *sa, struct gsm_addr *a);
int gsm_addr_to_sockaddr(const struct gsm_addr *a, struct sockaddr_storage *ss, socklen_t *len);

const char *gsm_state_name(uint8_t state);
const char *gsm_msg_type_name(uint8_t type);

#endif
