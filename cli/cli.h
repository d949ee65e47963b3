/*
 * cli/cli.h - the `gossamer` command: entry point, command runner, the
 * JSON schema checks and the human views (exposed for unit tests).
 */
#ifndef GOSSAMER_CLI_CLI_H
#define GOSSAMER_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "cli/args.h"

/* Where and how output goes. */
struct gcli_ctx {
	FILE *out;	      /* data */
	FILE *err;	      /* diagnostics */
	bool color;	      /* SGR sequences in human output */
	size_t width;	      /* table width limit, 0 = unlimited */
	const char *ellipsis; /* "…" on UTF-8 terminals, else "~" */
	time_t now;	      /* for ages */
	const json_t *lookup; /* members to resolve ids to names (NULL: the shown ones) */
};

/* The whole program: parse, run, return the exit status. */
int gcli_main(int argc, char **argv);

/* Run parsed options; returns an exit status (GCLI_EXIT_*). */
int gcli_run(const struct gcli_opts *o, struct gcli_ctx *ctx);

/* ---- schema checks: the fields docs/cli.md promises.  0, or -EPROTO
 * with "field 'x' ..." in why. ---- */
int gcli_check_member(const json_t *m, char *why, size_t cap);
int gcli_check_status(const json_t *s, char *why, size_t cap);
int gcli_check_peer(const json_t *p, char *why, size_t cap);
/* Check every element of an array result (and that it is an array). */
int gcli_check_array(const json_t *a, int (*check)(const json_t *, char *, size_t), char *why,
		     size_t cap);

/* ---- members filtering and ordering ---- */
bool gcli_member_matches(const json_t *m, const struct gcli_opts *o);
/* New array: the members matching o, sorted by name then id. */
json_t *gcli_members_select(const json_t *members, const struct gcli_opts *o);

/* ---- human views (validated input); return 0 or -ENOMEM ---- */
int gcli_show_members(const json_t *members, const struct gcli_ctx *ctx);
int gcli_show_status(const json_t *status, const struct gcli_ctx *ctx);
int gcli_show_peers(const json_t *peers, const struct gcli_ctx *ctx);

/* ---- offline keys (cli/keys.c); return an exit status ---- */
int gcli_keygen(const struct gcli_opts *o, struct gcli_ctx *ctx);
int gcli_pubkey(const struct gcli_opts *o, struct gcli_ctx *ctx);

/* ---- authority mode; return an exit status ----
 * `authority init|sign|join-key|revoke` (cli/authority.c), `cert
 * issue|show` and `revoke FILE` (cli/cert_cmd.c).  docs/cli.md. */
int gcli_authority(const struct gcli_opts *o, struct gcli_ctx *ctx);
int gcli_cert(const struct gcli_opts *o, struct gcli_ctx *ctx);
int gcli_revoke(const struct gcli_opts *o, struct gcli_ctx *ctx);
/* `client add|list|remove` (cli/client_cmd.c). */
int gcli_client(const struct gcli_opts *o, struct gcli_ctx *ctx);

/* `exit-node NAME[,NAME...]|off` (cli/exit_cmd.c): the control command
 * exit_node; prints the exit in use.  Returns an exit status. */
int gcli_exit_node(const struct gcli_opts *o, struct gcli_ctx *ctx);

/* Shared by both files (cli/authority.c). */
struct gsm_cert;
/* Certificates start this long before "now", for clocks a little behind. */
#define GCLI_CERT_BACKDATE_S 300
/* The claims of o (name, overlay, prefixes, roles, labels, ephemeral) into
 * c; 0, or -EINVAL with a one-line reason in why. */
int gcli_cert_claims(const struct gcli_opts *o, struct gsm_cert *c, char *why, size_t cap);
/* A public key given as base64 (44 characters) or 64 hex digits: 0 or
 * -EINVAL. */
int gcli_parse_pubkey(const char *s, uint8_t out[32]);
/* A public key, or the public key of an identity key file: 0, or a
 * negative errno with the reason in why. */
int gcli_resolve_pubkey(const char *arg, uint8_t out[32], char *why, size_t cap);
/* Read a whole (non-secret) text file, at most 1 MiB, NUL-terminated,
 * malloc'd: 0 or a negative errno (-EFBIG too large). */
int gcli_read_text(const char *path, char **text);
/* "2026-05-01 12:00:00Z".  Returns buf. */
char *gcli_fmt_time(uint64_t unix_s, char *buf, size_t cap);
/* Base64 (standard, padded) of 32 bytes into out[45]. */
void gcli_b64_key(const uint8_t key[32], char out[45]);

#endif
