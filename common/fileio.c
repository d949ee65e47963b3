/*
 * common/fileio.c - atomic durable writes and secret reads.
 *
 * Writes go to a fresh temporary file in the target's directory (mkostemp,
 * so O_EXCL: a pre-planted name or symlink is never written through),
 * get their mode with fchmod, are fsync'ed, renamed over the target and the
 * directory is fsync'ed.  Secret reads open with O_NOFOLLOW and check the
 * opened file (fstat on the descriptor, not the name), so there is no
 * window between the check and the read.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/fileio.h"

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	int dfd;

	snprintf(dir, sizeof(dir), "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
}

static int temp_name(const char *path, char *tmp, size_t cap)
{
	char d[PATH_MAX], b[PATH_MAX];

	if (snprintf(d, sizeof(d), "%s", path) >= (int)sizeof(d) ||
	    snprintf(b, sizeof(b), "%s", path) >= (int)sizeof(b))
		return -ENAMETOOLONG;
	if (snprintf(tmp, cap, "%s/.%s.XXXXXX", dirname(d), basename(b)) >= (int)cap)
		return -ENAMETOOLONG;
	return 0;
}

int gsc_write_atomic(const char *path, const void *data, size_t len, unsigned mode, unsigned flags)
{
	char tmp[PATH_MAX];
	bool durable = flags & GSC_WRITE_DURABLE;
	int fd = -1, rc;

	rc = temp_name(path, tmp, sizeof(tmp));
	if (rc < 0)
		return rc;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = write_all(fd, data, len);
	if (rc < 0)
		goto fail;
	if (durable && fsync(fd) < 0) {
		rc = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		rc = -errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		rc = -errno;
		goto fail;
	}
	if (durable)
		fsync_parent(path);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

/* Open a secret and check what was opened: -ELOOP, -EINVAL, -EACCES. */
static int open_secret(const char *path, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return errno == ELOOP || errno == EMLINK ? -ELOOP : -errno;
	if (fstat(fd, st) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (st->st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return -EACCES;
	}
	return fd;
}

int gsc_read_secret(const char *path, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd, rc;

	*out = NULL;
	if (sodium_init() < 0)
		return -EIO;
	fd = open_secret(path, &st);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > max) {
		rc = -EMSGSIZE;
		goto out;
	}
	buf = sodium_malloc(max + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, max - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == max) {
			char extra;

			if (read(fd, &extra, 1) > 0) {
				rc = -EMSGSIZE;
				goto out;
			}
			break;
		}
	}
	buf[n] = 0;
	*out = buf;
	if (len)
		*len = n;
	buf = NULL;
	rc = 0;
out:
	gsc_secret_free(buf, max);
	close(fd);
	return rc;
}

void gsc_secret_free(char *buf, size_t max)
{
	if (!buf)
		return;
	sodium_memzero(buf, max + 1);
	sodium_free(buf);
}

int gsc_check_secret(const char *path, char *msg, size_t msglen)
{
	struct stat st;
	int fd = open_secret(path, &st);

	if (fd >= 0) {
		close(fd);
		return 0;
	}
	switch (fd) {
	case -ENOENT:
		break;
	case -ELOOP:
		snprintf(msg, msglen,
			 "%s: is a symbolic link; secrets are not read through links (point the "
			 "configuration at the file itself)",
			 path);
		break;
	case -EINVAL:
		snprintf(msg, msglen, "%s: not a regular file", path);
		break;
	case -EACCES:
		if (lstat(path, &st) == 0 && (st.st_mode & (S_IRWXG | S_IRWXO)))
			snprintf(msg, msglen,
				 "%s: permissions %04o are too open (group/world accessible); run: "
				 "chmod 600 %s",
				 path, (unsigned)(st.st_mode & 07777), path);
		else
			snprintf(msg, msglen, "%s: cannot read: %s", path, strerror(EACCES));
		break;
	default:
		snprintf(msg, msglen, "%s: cannot read: %s", path, strerror(-fd));
		break;
	}
	return fd;
}
