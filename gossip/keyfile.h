/*
 * gossip/keyfile.h - the file side of key files (identity, cluster key
 * ring): reading and writing their text, nothing else.
 *
 * crypto.c turns key-file text into identities and key rings and back
 * (gsm_identity_from_text, gsm_keyring_parse, ...); this module only moves
 * that text between memory and disk, through common/fileio.h, so the rules
 * for secret files are the project-wide ones:
 *   - read: no symlink in the last component (-ELOOP), a regular file
 *     (-EINVAL), no group/other permission bits (-EACCES), at most
 *     GSM_KEYFILE_MAX bytes (-EMSGSIZE), into sodium_malloc'd memory;
 *   - write: atomic (temporary file in the same directory, rename) and
 *     durable (fsync of the file and the directory), mode 0600; a symlink
 *     at the path is replaced, never written through.
 * The load/save functions declared in gossip/crypto.h are implemented in
 * keyfile.c on top of these.
 */
#ifndef GOSSAMER_GOSSIP_KEYFILE_H
#define GOSSAMER_GOSSIP_KEYFILE_H

#include <stddef.h>

#define GSM_KEYFILE_MAX 4096 /* bytes of key-file text */

/* Read a key file: *text is NUL-terminated secret memory owned by the
 * caller until gsm_keyfile_free().  0 or a negative errno (see above,
 * -ENOENT for a missing file); *text is NULL on error. */
int gsm_keyfile_read(const char *path, char **text);

/* A zeroed secret buffer of GSM_KEYFILE_MAX + 1 bytes for building key-file
 * text, or NULL (out of memory).  Release with gsm_keyfile_free(). */
char *gsm_keyfile_alloc(void);

/* Wipe and release text from gsm_keyfile_read/alloc; NULL is fine. */
void gsm_keyfile_free(char *text);

/* Replace path atomically and durably with len bytes of text, mode 0600.
 * 0 or a negative errno (-ENOENT missing directory, -EACCES, -ENOSPC...). */
int gsm_keyfile_write(const char *path, const char *text, size_t len);

#endif
