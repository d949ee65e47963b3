/*
 * tests/attack/attack.h - gsm-attack, an attacker of our own against real
 * gossamerd daemons (issue 12).  One process, one mode per run; every mode
 * prints one JSON line saying what it sent and what came back (datagrams
 * and bytes both ways), so tests/net/test_attacks.py can assert on it.
 *
 * The tool is built on the gossip library exactly as a member is: it may
 * hold the cluster key and an identity of its own ("malicious member"), or
 * nothing at all (keyless: garbage, bit flips, unknown key ids, replays of
 * captured datagrams).  Every call into the sealed envelope goes through
 * envelope.c, so a change of the envelope touches one file.
 */
#ifndef GOSSAMER_TESTS_ATTACK_H
#define GOSSAMER_TESTS_ATTACK_H

#include <stddef.h>
#include <stdint.h>

#include "gossip/crypto.h"
#include "gossip/wire.h"

#define ATK_MAX_TO  16
#define ATK_BUF_CAP 65536

struct atk_opts {
	const char *mode;
	const char *key_file;	   /* cluster key ring (member modes) */
	const char *identity_file; /* our identity (generated when absent) */
	const char *cluster;	   /* cluster name, "gossamer" */
	struct gsm_addr to[ATK_MAX_TO];
	size_t n_to;
	struct gsm_addr third; /* amplify ping-req: the victim address */
	int has_third;
	uint8_t victim[GSM_ID_LEN];
	int has_victim;
	uint64_t gen, inc;
	unsigned long count;
	const char *type; /* amplify request type */
	const char *iface;
	uint16_t port;
	const char *in, *out;
	unsigned window_ms; /* how long to listen for answers */
	unsigned gap_us;    /* pause between datagrams sent */
	unsigned timeout_ms;
	uint16_t key_id; /* keyless modes: the key id written */
};

/* What went over the wire, counted by net.c. */
struct atk_counts {
	uint64_t sent_dgrams, sent_bytes;
	uint64_t recv_dgrams, recv_bytes;
	uint64_t third_dgrams, third_bytes;
};

/* Called for every datagram received on the main socket that opens and
 * decodes with our key ring (learning phases). */
typedef void (*atk_msg_fn)(void *ctx, const struct gsm_msg *m);

struct atk {
	struct atk_opts o;
	int fd, third_fd;
	struct gsm_keyring *kr;	 /* NULL in keyless modes */
	struct gsm_identity *id; /* NULL in keyless modes */
	struct atk_counts c;
	struct gsm_msg *msg;	  /* scratch (large) */
	struct gsm_msg *rx;	  /* decoded answers (large) */
	uint8_t buf[ATK_BUF_CAP]; /* scratch datagram */
	uint8_t body[ATK_BUF_CAP];
	char extra[4096]; /* mode-specific JSON fields, ",\"k\":v..." */
	size_t extra_len;
};

/* envelope.c: the only calls into the envelope API */
int atk_seal(const struct gsm_keyring *kr, const uint8_t *body, size_t len, uint8_t *out,
	     size_t cap, size_t *outlen);
int atk_open(const struct gsm_keyring *kr, const uint8_t *dgram, size_t len, uint8_t *body,
	     size_t cap, size_t *bodylen);
/* A cleartext header that names key_id (and this major), random nonce;
 * returns its length (the first byte after it is the ciphertext). */
size_t atk_fake_header(uint8_t *out, uint16_t key_id);
/* The first byte after the key id: flipping a bit at or after it breaks
 * authentication without changing what the header names. */
size_t atk_auth_region_start(void);
/* Where the bytes the cluster key's AEAD covers end in a sealed datagram:
 * before the pair tag if it has one (a flipped tag bit is not a keyless
 * forgery the AEAD catches: the recipient refuses it as bad_sender, the
 * sealing node ignores it as its own; sim_replay covers that). */
size_t atk_aead_region_end(const uint8_t *dgram, size_t len);

/* net.c */
int atk_socket_for(const struct gsm_addr *to, const struct gsm_addr *bind_to);
int atk_send_raw(struct atk *a, const struct gsm_addr *to, const uint8_t *dgram, size_t len);
/* encode a->msg-style message m, seal with a->kr, send */
int atk_send_msg(struct atk *a, const struct gsm_addr *to, const struct gsm_msg *m);
/* receive for window_ms on the main (and third) socket, counting; fn (may
 * be NULL) sees every answer that opens with a->kr */
void atk_listen(struct atk *a, unsigned window_ms, atk_msg_fn fn, void *ctx);
void atk_pause(const struct atk *a);
void atk_extra(struct atk *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* member.c */
int atk_forge_dead(struct atk *a);
int atk_identities(struct atk *a);
int atk_bare_ids(struct atk *a);
/* amplify.c */
int atk_amplify(struct atk *a);
/* keyless.c */
int atk_garbage(struct atk *a);
int atk_bitflip(struct atk *a);
int atk_unknown_key_id(struct atk *a);
/* replay.c */
int atk_capture(struct atk *a);
int atk_replay(struct atk *a);
/* one captured datagram file: [u32 BE length][bytes]...; *out is malloc'd
 * payloads, lens/n filled; 0 or negative errno */
int atk_read_capture(const char *path, uint8_t ***out, size_t **lens, size_t *n);
void atk_free_capture(uint8_t **d, size_t *lens, size_t n);

#endif
