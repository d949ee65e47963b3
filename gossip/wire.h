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
 * ENVELOPE (all integers big-endian)
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------------------------------------------------------+
 *  |               magic 'G' 'S' 'M' 'R' (0x47534d52)              |
 *  +---------------+---------------+-------------------------------+
 *  | major (1)     | minor (0)     |         key id                |
 *  +---------------+---------------+-------------------------------+
 *  |                                                               |
 *  +                     nonce (24 bytes, random)                  +
 *  |                                                               |
 *  +---------------------------------------------------------------+
 *  |                                                               |
 *  +        ciphertext: XChaCha20-Poly1305-IETF(body), then         +
 *  |        the 16-byte tag (length = body length + 16)            |
 *  +---------------------------------------------------------------+
 *
 *  associated data = the 32 header bytes (magic .. nonce) || cluster name
 *  The key id names the cluster key (see gossip/crypto.h: key ring).
 *  Overhead: GSM_ENVELOPE_OVERHEAD = 32 + 16 = 48 bytes.
 *
 * BODY: map { key: value }            (msg = struct gsm_msg)
 *
 *   0  type            uint            GSM_MSG_*
 *   1  sender          bin 32          sender's node id (Ed25519 public key)
 *   2  seq             uint32          probe / sync sequence number
 *   3  target          bin 32          node the message is about (ping: who
 *                                      is probed; ping-req: whom to probe)
 *   4  target_addr     addr            gossip address of target
 *   5  origin          bin 32          ping-req originator (for forwarded acks)
 *   6  origin_addr     addr
 *   7  observed        addr            the source address the sender saw
 *                                      for the receiver (NAT detection)
 *   8  updates         array[update]   piggybacked membership updates
 *   9  adverts         array[bin]      piggybacked SIGNED adverts (below)
 *  10  digest          array[digest]   anti-entropy digest entries
 *  11  flags           uint            GSM_MF_*
 *  12  cursor          bin 32          sync paging: continue after this id
 *  13  sender_gen      uint64          sender's generation
 *  14  wg_observed     addr            the WireGuard endpoint the sender's
 *                                      WireGuard sees for the receiver
 *  15  state_hash      bin 16..32      sync summary: a hash of the sender's
 *                                      whole view as the digest compares it
 *                                      (see docs/protocol.md, Anti-entropy;
 *                                      any other value is ignored)
 *
 *   update: map { 0 node bin32, 1 state uint, 2 generation uint64,
 *                 3 incarnation uint64, 4 addr addr, 5 from bin32,
 *                 6 sig bin64 }
 *     from: who asserts a suspect/dead (Lifeguard counts independent
 *           suspicions); sig: Ed25519 by `node` over the leave intent
 *           (only with state LEFT, see gsm_leave_intent()).
 *   digest: array [ node bin32, generation uint64, version uint64 ]
 *   addr:   bin 6  = IPv4 (4) + port (2)
 *           bin 18 = IPv6 (16) + port (2)
 *   prefix: bin 5  = IPv4 (4) + prefix length (1)
 *           bin 17 = IPv6 (16) + prefix length (1)
 *
 * SIGNED ADVERT (what travels in body key 9 and in persistence):
 *
 *   array [ body bin, signature bin 64 ]
 *
 *   The signature is Ed25519 by the advert's node id over the exact body
 *   bytes, so unknown keys added by newer versions stay covered.  The body
 *   is encoded canonically: keys ascending, integers in their shortest
 *   form, labels sorted by key; the same advert always gives the same
 *   bytes and (Ed25519 being deterministic) the same signature.
 *
 *   advert body: map {
 *      0 node_id   bin 32      Ed25519 public key (the node's identity)
 *      1 name      str  <= GSM_MAX_NAME
 *      2 wg_pubkey bin 32      WireGuard (Curve25519) public key
 *      3 generation uint64     bumped on every start of the daemon
 *      4 version   uint64      bumped on every change within a generation
 *      5 wg_port   uint16      WireGuard listen port
 *      6 gossip_port uint16
 *      7 flags     uint        GSM_ADV_*
 *      8 endpoints array[ map { 0 addr, 1 flags GSM_EP_*, 2 observer bin32 } ]
 *      9 overlay   array[prefix]   overlay addresses (host address + len)
 *     10 prefixes  array[prefix]   advertised routed prefixes
 *     11 labels    array[ [key str, value str] ], sorted by key
 *     12 relay_via bin 32      node currently relaying for this node, if any
 *   }
 *
 *   Ordering: an advert supersedes another of the same node when its
 *   (generation, version) is greater, compared lexicographically.
 */
#ifndef GOSSAMER_GOSSIP_WIRE_H
#define GOSSAMER_GOSSIP_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h> /* struct sockaddr, socklen_t (address helpers) */

#define GSM_WIRE_MAGIC        0x47534d52u /* "GSMR" */
#define GSM_PROTO_MAJOR       1
#define GSM_PROTO_MINOR       0
#define GSM_ENVELOPE_HEADER   32          /* magic..nonce */
#define GSM_AEAD_TAG          16
#define GSM_ENVELOPE_OVERHEAD (GSM_ENVELOPE_HEADER + GSM_AEAD_TAG)
#define GSM_NONCE_LEN         24
#define GSM_ID_LEN            32 /* node id = Ed25519 public key */
#define GSM_WGKEY_LEN         32
#define GSM_SIG_LEN           64
#define GSM_DEFAULT_MTU       1400  /* default datagram budget, envelope included */
#define GSM_MAX_DATAGRAM      65000 /* hard bound on any datagram */

/* Bounds (documented in docs/protocol.md). */
#define GSM_MAX_NAME          63
#define GSM_MAX_ENDPOINTS     16
#define GSM_MAX_OVERLAY       4
#define GSM_MAX_PREFIXES      64
#define GSM_MAX_LABELS        32
#define GSM_MAX_LABEL_KEY     63
#define GSM_MAX_LABEL_VALUE   127
#define GSM_MAX_ADVERT        4096 /* encoded signed advert */
#define GSM_MAX_UPDATES       128  /* per message */
#define GSM_MAX_ADVERTS       64   /* per message */
#define GSM_MAX_DIGEST        2048 /* per message */
#define GSM_STATE_HASH_MIN    16   /* state_hash length bounds (key 15) */
#define GSM_STATE_HASH_MAX    32

enum gsm_msg_type {
	GSM_MSG_PING = 1,
	GSM_MSG_ACK = 2,
	GSM_MSG_PING_REQ = 3,
	GSM_MSG_NACK = 4,
	GSM_MSG_SYNC_DIGEST = 5,   /* "here is (a page of) what I hold" */
	GSM_MSG_SYNC_REQUEST = 6,  /* "send me these / page after cursor" */
	GSM_MSG_SYNC_RESPONSE = 7, /* adverts + updates answering a request */
	GSM_MSG_LEAVE = 8,         /* carries the signed LEFT update */
	GSM_MSG_GOSSIP = 9,        /* piggyback-only datagram */
	GSM_MSG_TYPE_MAX = 9,
};

enum gsm_state {
	GSM_STATE_ALIVE = 0,
	GSM_STATE_SUSPECT = 1,
	GSM_STATE_DEAD = 2,
	GSM_STATE_LEFT = 3,
};

/* msg flags */
#define GSM_MF_MORE        0x1u /* sync: more pages follow */
#define GSM_MF_REPLY       0x2u /* sync: please answer with your digest */
#define GSM_MF_FORWARDED   0x4u /* ack/nack relayed on behalf of a ping-req */

/* advert flags */
#define GSM_ADV_PUBLIC     0x1u /* reachable from the internet without NAT */
#define GSM_ADV_RELAY      0x2u /* willing to relay for NATed members */
#define GSM_ADV_BEHIND_NAT 0x4u /* the node found it is behind NAT */

/* endpoint flags */
#define GSM_EP_CONFIGURED  0x1u
#define GSM_EP_OBSERVED    0x2u

struct gsm_addr {
	uint8_t family; /* 0 = none, 4 or 6 */
	uint8_t ip[16]; /* IPv4 in the first 4 bytes */
	uint16_t port;  /* host byte order */
};

struct gsm_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t ip[16];
	uint8_t len;
};

struct gsm_endpoint {
	struct gsm_addr addr;
	uint8_t flags;                 /* GSM_EP_* */
	uint8_t has_observer;
	uint8_t observer[GSM_ID_LEN];  /* who observed it (GSM_EP_OBSERVED) */
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
	uint8_t sig[GSM_SIG_LEN]; /* LEFT only: signed leave intent */
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
