/*
 * daemon/state.c - the state directory.
 *
 * What survives a restart lives here: the Ed25519 identity (the node id),
 * the WireGuard private key, the generation counter and the last known
 * members.  Keys are generated on first start and reused afterwards; a key
 * file that is group/world accessible or unreadable is refused (exit 2)
 * rather than silently replaced, because replacing a key changes the node's
 * identity and breaks every tunnel to it.
 *
 * The generation is max(previous + 1, unix time): it strictly increases on
 * every start even when the file was lost or restored from an old backup, so
 * adverts of a restarted node always supersede those of its previous life.
 *
 * Every write goes through gsc_write_atomic (common/fileio.h): a temp file
 * in the same directory renamed over the target, fsync'ed for keys and the
 * generation, so a crash leaves either the old or the new file.  Key files
 * are checked and read by the common secret rules (no symlinks, regular
 * file, no group/world bits).
 * The members file is text: one member a line, "<base64 signed advert>
 * <gossip address> <state>", with a header line; lines that fail to parse
 * are skipped, and adverts are verified again when loaded into the core.
 */
#include "daemon/state.h"

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/array.h"
#include "common/fileio.h"
#include "daemon/config.h"

static int mkdir_p(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof(buf), "%s", dir) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int gsd_state_dir_prepare(const char *dir, char *msg, size_t msglen)
{
	struct stat st;
	int r = mkdir_p(dir, 0700);
	if (r < 0) {
		snprintf(msg, msglen, "state directory %s: cannot create: %s", dir, strerror(-r));
		return r;
	}
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		snprintf(msg, msglen, "state directory %s: not a directory", dir);
		return -ENOTDIR;
	}
	if (access(dir, R_OK | W_OK | X_OK) < 0) {
		snprintf(msg, msglen, "state directory %s: not writable: %s", dir, strerror(errno));
		return -EACCES;
	}
	return 0;
}

/* A key file of the state directory: gsc_check_secret(), except that every
 * refusal of a file that exists is -EACCES (the file is there but is not
 * usable as a key, and is never replaced). */
static int check_key_file(const char *path, char *msg, size_t msglen)
{
	int r = gsc_check_secret(path, msg, msglen);

	return r < 0 && r != -ENOENT ? -EACCES : r;
}

void gsd_wgkey_generate(uint8_t priv[32])
{
	randombytes_buf(priv, 32);
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
}

void gsd_wgkey_public(const uint8_t priv[32], uint8_t pub[32])
{
	crypto_scalarmult_curve25519_base(pub, priv);
}

#define WGKEY_FILE_MAX 4096

int gsd_wgkey_load(const char *path, uint8_t priv[32], char *msg, size_t msglen)
{
	char *text = NULL;
	size_t bl = 0;
	int r = check_key_file(path, msg, msglen);

	if (r < 0)
		return r;
	r = gsc_read_secret(path, WGKEY_FILE_MAX, &text, NULL);
	if (r < 0 && r != -EMSGSIZE) {
		snprintf(msg, msglen, "%s: cannot read: %s", path, strerror(-r));
		return -EACCES;
	}
	if (r == 0) {
		text[strcspn(text, "\r\n \t")] = 0; /* the first word of the first line */
		if (sodium_base642bin(priv, 32, text, strlen(text), NULL, &bl, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0)
			bl = 0;
	}
	gsc_secret_free(text, WGKEY_FILE_MAX);
	if (bl != 32) {
		snprintf(msg, msglen, "%s: not a base64 WireGuard private key", path);
		return -EINVAL;
	}
	return 0;
}

int gsd_wgkey_save(const char *path, const uint8_t priv[32])
{
	char b64[64];
	sodium_bin2base64(b64, sizeof(b64), priv, 32, sodium_base64_VARIANT_ORIGINAL);
	size_t l = strlen(b64);
	b64[l++] = '\n';
	int r = gsc_write_atomic(path, b64, l, 0600, GSC_WRITE_DURABLE);
	sodium_memzero(b64, sizeof(b64));
	return r;
}

int gsd_keys_load(const char *dir, struct gsd_keys *k, char *msg, size_t msglen)
{
	char path[PATH_MAX];
	int r;
	memset(k, 0, sizeof(*k));

	snprintf(path, sizeof(path), "%s/%s", dir, GSD_IDENTITY_FILE);
	r = check_key_file(path, msg, msglen);
	if (r == -ENOENT) {
		r = gsm_identity_generate(&k->identity);
		if (r == 0)
			r = gsm_identity_save(k->identity, path);
		if (r < 0) {
			snprintf(msg, msglen, "%s: cannot create identity: %s", path,
				 gsm_strerror(r));
			goto out;
		}
		k->identity_created = true;
	} else if (r < 0) {
		goto out;
	} else {
		r = gsm_identity_load(path, &k->identity);
		if (r < 0) {
			snprintf(msg, msglen, "%s: cannot load identity: %s", path,
				 gsm_strerror(r));
			goto out;
		}
	}

	snprintf(path, sizeof(path), "%s/%s", dir, GSD_WGKEY_FILE);
	r = check_key_file(path, msg, msglen);
	if (r == -ENOENT) {
		gsd_wgkey_generate(k->wg_private);
		r = gsd_wgkey_save(path, k->wg_private);
		if (r < 0) {
			snprintf(msg, msglen, "%s: cannot write: %s", path, strerror(-r));
			goto out;
		}
		k->wg_created = true;
	} else if (r < 0) {
		goto out;
	} else {
		r = gsd_wgkey_load(path, k->wg_private, msg, msglen);
		if (r < 0)
			goto out;
	}
	gsd_wgkey_public(k->wg_private, k->wg_public);
	return 0;
out:
	gsd_keys_clear(k);
	return r;
}

void gsd_keys_clear(struct gsd_keys *k)
{
	gsm_identity_free(k->identity);
	k->identity = NULL;
	sodium_memzero(k->wg_private, sizeof(k->wg_private));
}

int gsd_generation_bump(const char *dir, uint64_t now_unix, uint64_t *gen, char *msg, size_t msglen)
{
	char path[PATH_MAX], buf[64];
	uint64_t prev = 0;
	snprintf(path, sizeof(path), "%s/%s", dir, GSD_GENERATION_FILE);
	FILE *f = fopen(path, "re");
	if (f) {
		if (fgets(buf, sizeof(buf), f)) {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(buf, &end, 10);
			if (errno || end == buf || (*end && *end != '\n')) {
				fclose(f);
				snprintf(msg, msglen, "%s: corrupt (not a number)", path);
				return -EINVAL;
			}
			prev = v;
		}
		fclose(f);
	} else if (errno != ENOENT) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	uint64_t g = prev + 1;
	if (now_unix > g)
		g = now_unix;
	int n = snprintf(buf, sizeof(buf), "%llu\n", (unsigned long long)g);
	int r = gsc_write_atomic(path, buf, (size_t)n, 0600, GSC_WRITE_DURABLE);
	if (r < 0) {
		snprintf(msg, msglen, "%s: cannot write: %s", path, strerror(-r));
		return r;
	}
	*gen = g;
	return 0;
}

/* ---- members ---- */

int gsd_members_save(const char *path, const struct gsd_saved_member *m, size_t n)
{
	size_t cap = 64;
	for (size_t i = 0; i < n; i++)
		cap +=
		    sodium_base64_ENCODED_LEN(m[i].advert_len, sodium_base64_VARIANT_ORIGINAL) + 80;
	char *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	size_t off = (size_t)snprintf(buf, cap, "# gossamer members v1\n");
	for (size_t i = 0; i < n; i++) {
		sodium_bin2base64(buf + off, cap - off, m[i].advert, m[i].advert_len,
				  sodium_base64_VARIANT_ORIGINAL);
		off += strlen(buf + off);
		char a[64] = "-";
		if (m[i].gossip_addr.family)
			gsd_format_addr(&m[i].gossip_addr, a, sizeof(a));
		off += (size_t)snprintf(buf + off, cap - off, " %s %u\n", a, m[i].state);
	}
	/* a cache, rewritten often in a large cluster: atomic (rename) but
	 * without fsync; losing the last update on power loss is harmless */
	int r = gsc_write_atomic(path, buf, off, 0600, 0);
	free(buf);
	return r;
}

int gsd_members_load(const char *path, struct gsd_saved_member **out, size_t *n, size_t *skipped)
{
	FILE *f = fopen(path, "re");
	*out = NULL;
	*n = 0;
	if (skipped)
		*skipped = 0;
	if (!f)
		return -errno;
	char *line = NULL;
	size_t lcap = 0, cap = 0;
	ssize_t ll;
	int r = 0;
	struct gsd_saved_member *v = NULL;
	while ((ll = getline(&line, &lcap, f)) >= 0) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		char *save = NULL;
		char *b64 = strtok_r(line, " \n", &save);
		char *addr = strtok_r(NULL, " \n", &save);
		char *st = strtok_r(NULL, " \n", &save);
		struct gsd_saved_member sm = {0};
		if (!b64 || !addr || !st)
			goto bad;
		size_t blen = strlen(b64);
		if (blen > 4 * GSM_MAX_ADVERT)
			goto bad;
		sm.advert = malloc(blen);
		if (!sm.advert) {
			r = -ENOMEM;
			goto out;
		}
		if (sodium_base642bin(sm.advert, blen, b64, blen, NULL, &sm.advert_len, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    sm.advert_len == 0 || sm.advert_len > GSM_MAX_ADVERT) {
			free(sm.advert);
			goto bad;
		}
		if (strcmp(addr, "-") && gsd_parse_hostport(addr, &sm.gossip_addr, 0) < 0) {
			free(sm.advert);
			goto bad;
		}
		char *end;
		unsigned long s = strtoul(st, &end, 10);
		if (*end || s > GSM_STATE_LEFT) {
			free(sm.advert);
			goto bad;
		}
		sm.state = (uint8_t)s;
		r = gsc_grow(&v, &cap, *n + 1, sizeof(*v));
		if (r < 0) {
			free(sm.advert);
			goto out;
		}
		v[(*n)++] = sm;
		continue;
	bad:
		if (skipped)
			(*skipped)++;
	}
out:
	free(line);
	fclose(f);
	if (r < 0) {
		gsd_members_free(v, *n);
		*n = 0;
		return r;
	}
	*out = v;
	return 0;
}

void gsd_members_free(struct gsd_saved_member *m, size_t n)
{
	if (!m)
		return;
	for (size_t i = 0; i < n; i++)
		free(m[i].advert);
	free(m);
}
