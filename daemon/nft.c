/*
 * daemon/nft.c - replace, delete and list one nftables table of ours.
 *
 * Design: the daemon never edits rules one by one.  Each feature renders
 * the whole text of its table and hands it here; one libnftables command
 * buffer then does "add table (so that the delete cannot fail), delete
 * table, define table" as a single transaction.  Either the new table is
 * in place or the old one still is; no window with half the rules, no
 * handles to track, and a daemon restart converges by rendering again.
 * Names and families are checked here so that a caller can never inject
 * a second command through them; bodies come from our own renderers.
 */
#include "daemon/nft.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nftables/libnftables.h>

int gsd_nft_table_name(const char *feature, const char *ifname, char *out, size_t cap)
{
	int n;
	if (!strcmp(ifname, "gsm0"))
		n = snprintf(out, cap, "gossamer_%s", feature);
	else
		n = snprintf(out, cap, "gossamer_%s_%s", feature, ifname);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	for (char *p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			*p = '_';
	return 0;
}

static int valid_family(const char *f)
{
	return !strcmp(f, "inet") || !strcmp(f, "ip") || !strcmp(f, "ip6");
}

static int valid_name(const char *n)
{
	if (!n[0] || strlen(n) > 64)
		return 0;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return 0;
	return 1;
}

static void copy_msg(char *dst, size_t cap, const char *src)
{
	if (!dst || !cap)
		return;
	snprintf(dst, cap, "%s", src ? src : "");
	size_t n = strlen(dst);
	while (n && (dst[n - 1] == '\n' || dst[n - 1] == ' '))
		dst[--n] = '\0';
}

/* Run cmd; out (may be NULL) receives the output.  0, -ENOMEM, -EIO. */
static int run(const char *cmd, char *out, size_t outcap, char *err, size_t errcap)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);
	int r = 0;
	if (!ctx)
		return -ENOMEM;
	if (nft_ctx_buffer_output(ctx) || nft_ctx_buffer_error(ctx)) {
		r = -ENOMEM;
		goto out;
	}
	if (nft_run_cmd_from_buffer(ctx, cmd) != 0) {
		copy_msg(err, errcap, nft_ctx_get_error_buffer(ctx));
		r = -EIO;
		goto out;
	}
	if (out) {
		const char *o = nft_ctx_get_output_buffer(ctx);
		if (strlen(o ? o : "") >= outcap)
			r = -EMSGSIZE;
		else
			snprintf(out, outcap, "%s", o ? o : "");
	}
out:
	nft_ctx_free(ctx);
	return r;
}

int gsd_nft_replace(const char *family, const char *name, const char *body, char *err,
		    size_t errcap)
{
	if (!family || !name || !body || !valid_family(family) || !valid_name(name))
		return -EINVAL;
	size_t cap = strlen(body) + 3 * strlen(name) + 128;
	char *cmd = malloc(cap);
	if (!cmd)
		return -ENOMEM;
	snprintf(cmd, cap, "add table %s %s\ndelete table %s %s\ntable %s %s {\n%s\n}\n", family,
		 name, family, name, family, name, body);
	int r = run(cmd, NULL, 0, err, errcap);
	free(cmd);
	return r;
}

int gsd_nft_delete(const char *family, const char *name, char *err, size_t errcap)
{
	char cmd[256];
	if (!family || !name || !valid_family(family) || !valid_name(name))
		return -EINVAL;
	snprintf(cmd, sizeof(cmd), "add table %s %s\ndelete table %s %s\n", family, name, family,
		 name);
	return run(cmd, NULL, 0, err, errcap);
}

int gsd_nft_list(const char *family, const char *name, char *out, size_t cap)
{
	char cmd[256], err[256] = "";
	if (!family || !name || !valid_family(family) || !valid_name(name))
		return -EINVAL;
	snprintf(cmd, sizeof(cmd), "list table %s %s\n", family, name);
	int r = run(cmd, out, cap, err, sizeof(err));
	if (r == -EIO && strstr(err, "No such file"))
		return -ENOENT;
	return r;
}
