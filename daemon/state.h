/* daemon/state.h - the state directory: keys, generation, persisted members. */
#ifndef GOSSAMER_DAEMON_STATE_H
#define GOSSAMER_DAEMON_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/crypto.h"
#include "gossip/wire.h"

#define GSD_IDENTITY_FILE   "identity.key"
#define GSD_WGKEY_FILE	    "wireguard.key"
#define GSD_GENERATION_FILE "generation"
#define GSD_MEMBERS_FILE    "members"

/* Create dir (and parents) with mode 0700 if missing; refuse a non-dir. */
int gsd_state_dir_prepare(const char *dir, char *msg, size_t msglen);

/* Load or create the node's keys in dir.  created tells which were made.
 * A key file that exists but is refused (symlink, not a regular file,
 * group/world accessible, unreadable) is -EACCES with msg, never replaced;
 * -EINVAL with msg for a malformed key. */
struct gsd_keys {
	struct gsm_identity *identity;
	uint8_t wg_private[32];
	uint8_t wg_public[32];
	bool identity_created, wg_created;
};
int gsd_keys_load(const char *dir, struct gsd_keys *k, char *msg, size_t msglen);
void gsd_keys_clear(struct gsd_keys *k);

/* WireGuard key file: base64 private key, one line (like `wg genkey`),
 * mode 0600.  load: 0, -EACCES or -EINVAL with msg (as gsd_keys_load);
 * save: atomic and durable (gsc_write_atomic), 0 or a negative errno. */
int gsd_wgkey_load(const char *path, uint8_t priv[32], char *msg, size_t msglen);
int gsd_wgkey_save(const char *path, const uint8_t priv[32]);
void gsd_wgkey_public(const uint8_t priv[32], uint8_t pub[32]);
void gsd_wgkey_generate(uint8_t priv[32]);

/* Generation: read the previous one from dir, return max(prev + 1, now)
 * and persist it before anything is advertised (never goes backwards). */
int gsd_generation_bump(const char *dir, uint64_t now_unix, uint64_t *gen, char *msg,
			size_t msglen);

/* Persisted members: signed advert + last gossip address + last state. */
struct gsd_saved_member {
	uint8_t *advert; /* signed advert bytes (malloc'd) */
	size_t advert_len;
	struct gsm_addr gossip_addr;
	uint8_t state;
};
int gsd_members_save(const char *path, const struct gsd_saved_member *m, size_t n);
/* Loads what parses; skips (and counts in *skipped) malformed lines.
 * *out malloc'd; free with gsd_members_free. -ENOENT if no file. */
int gsd_members_load(const char *path, struct gsd_saved_member **out, size_t *n, size_t *skipped);
void gsd_members_free(struct gsd_saved_member *m, size_t n);

#endif
