/* common/fileio.h - durable atomic file writes and secret-file reads.
 *
 * Shared by gossip/ (key files), daemon/ (state) and cli/ (keygen): one
 * writer and one secret reader, so the permission and symlink rules are the
 * same everywhere.
 */
#ifndef GOSSAMER_COMMON_FILEIO_H
#define GOSSAMER_COMMON_FILEIO_H

#include <stddef.h>
#include <stdint.h>

enum gsc_write_flags {
	/* fsync the file before the rename and the directory after it, so a
	 * crash or power loss leaves either the old or the new content.
	 * Without it the write is still atomic (rename) but may be lost. */
	GSC_WRITE_DURABLE = 1u << 0,
};

/* Replace `path` atomically with `len` bytes of `data`, file mode `mode`
 * (applied with fchmod, so the umask does not widen or narrow it).  The
 * temporary file is created with O_EXCL in the same directory as
 * ".NAME.XXXXXX" and removed on any failure.  A symlink at `path` is
 * replaced by the new file, never written through.
 * 0, or a negative errno (-ENAMETOOLONG, -EACCES, -ENOSPC, ...). */
int gsc_write_atomic(const char *path, const void *data, size_t len, unsigned mode, unsigned flags);

/* Read a whole secret file (at most `max` bytes) into sodium_malloc'd
 * memory, NUL-terminated; *out owns it until gsc_secret_free(*out, max).
 * The file is opened without following a symlink in its last component,
 * must be a regular file and must not be accessible by group or others.
 * Errors (nothing allocated):
 *   -ENOENT   no such file
 *   -ELOOP    path is a symlink (secrets are never read through links)
 *   -EINVAL   not a regular file
 *   -EACCES   group/other permission bits set, or open refused
 *   -EMSGSIZE larger than max
 *   -ENOMEM, or another negative errno from open/read. */
int gsc_read_secret(const char *path, size_t max, char **out, size_t *len);

/* Wipe and release a buffer from gsc_read_secret (NULL is fine). */
void gsc_secret_free(char *buf, size_t max);

/* Check that `path` is acceptable as a secret file without reading it:
 * the same rules as gsc_read_secret.  On a problem other than -ENOENT,
 * writes one sentence naming the path and the fix into msg (e.g.
 * "KEY: permissions 0644 are too open (group/world accessible); run:
 * chmod 600 KEY").  Returns 0 or the negative errno above. */
int gsc_check_secret(const char *path, char *msg, size_t msglen);

#endif
