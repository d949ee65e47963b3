/*
 * cli/commands.c - running `gossamer` commands.
 *
 * What: gcli_main() parses argv, decides how output looks (colour, width,
 * ellipsis) from the environment, and runs one command against the
 * control socket or, for keys, offline.
 *
 * Why the rules: the CLI is used by people and by scripts, often the same
 * command in both roles, so the contract is strict and simple:
 *   - data on stdout, diagnostics on stderr, never mixed;
 *   - exit 0 success, 1 operational error (daemon unreachable, request
 *     refused, malformed answer, wait timed out), 2 usage error;
 *   - an unreachable daemon is ONE line on stderr naming the socket path;
 *   - --json output is the daemon's objects, checked against the schema in
 *     docs/cli.md first (schema.c), printed with a trailing newline;
 *   - colour only when stdout is a terminal, never with --json, never when
 *     NO_COLOR is set, never for TERM=dumb.
 * `wait` is built for cloud-init: it polls the status every 150 ms over
 * one connection, reconnects when the daemon is not up yet (or restarts),
 * returns the moment the condition holds and fails after --timeout.
 *
 * Trade-offs: every command is one request (no client-side joins across
 * requests) except `version`, which asks the daemon best-effort and never
 * fails because of it.
 */
#include "cli/cli.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/fmt.h"

#define WAIT_POLL_MS 150

static int print_json(const json_t *v, const struct gcli_ctx *ctx)
{
	if (json_dumpf(v, ctx->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
		return GCLI_EXIT_FAIL;
	fputc('\n', ctx->out);
	return GCLI_EXIT_OK;
}

/* One request; on failure print the one-line diagnostic. */
static int request(const struct gcli_opts *o, struct gcli_ctx *ctx, const char *cmd, json_t *args,
		   json_t **result)
{
	char err[512];
	int rc = gcli_call_once(o->socket, cmd, args, result, err, sizeof(err));
	if (rc) {
		fprintf(ctx->err, "gossamer: %s\n", err);
		return GCLI_EXIT_FAIL;
	}
	return GCLI_EXIT_OK;
}

static int schema_fail(struct gcli_ctx *ctx, const char *cmd, const char *why)
{
	fprintf(ctx->err, "gossamer: %s: unexpected answer from gossamerd: %s\n", cmd, why);
	return GCLI_EXIT_FAIL;
}

static int cmd_status(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	json_t *res = NULL;
	char why[256];
	int rc = request(o, ctx, "status", NULL, &res);
	if (rc)
		return rc;
	if (gcli_check_status(res, why, sizeof(why)))
		rc = schema_fail(ctx, "status", why);
	else if (o->json)
		rc = print_json(res, ctx);
	else
		rc = gcli_show_status(res, ctx) ? GCLI_EXIT_FAIL : GCLI_EXIT_OK;
	json_decref(res);
	return rc;
}

static int cmd_members(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	json_t *res = NULL, *sel = NULL;
	char why[256];
	int rc = request(o, ctx, "members", NULL, &res);
	if (rc)
		return rc;
	if (gcli_check_array(res, gcli_check_member, why, sizeof(why))) {
		rc = schema_fail(ctx, "members", why);
		goto out;
	}
	sel = gcli_members_select(res, o);
	if (!sel) {
		fprintf(ctx->err, "gossamer: out of memory\n");
		rc = GCLI_EXIT_FAIL;
		goto out;
	}
	if (o->json)
		rc = print_json(sel, ctx);
	else {
		ctx->lookup = res; /* relays may be filtered out of sel */
		rc = gcli_show_members(sel, ctx) ? GCLI_EXIT_FAIL : GCLI_EXIT_OK;
		ctx->lookup = NULL;
	}
out:
	json_decref(sel);
	json_decref(res);
	return rc;
}

static int cmd_peers(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	json_t *res = NULL;
	char why[256];
	int rc = request(o, ctx, "peers", NULL, &res);
	if (rc)
		return rc;
	if (gcli_check_array(res, gcli_check_peer, why, sizeof(why)))
		rc = schema_fail(ctx, "peers", why);
	else if (o->json)
		rc = print_json(res, ctx);
	else
		rc = gcli_show_peers(res, ctx) ? GCLI_EXIT_FAIL : GCLI_EXIT_OK;
	json_decref(res);
	return rc;
}

static int cmd_join(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	json_t *args = json_object(), *addrs = json_array(), *res = NULL;
	struct gcli_client *c = NULL;
	char err[512];
	int rc = GCLI_EXIT_FAIL;
	if (!args || !addrs)
		goto out;
	for (size_t i = 0; i < o->n_addrs; i++)
		json_array_append_new(addrs, json_string(o->addrs[i]));
	json_object_set(args, "addrs", addrs);
	long long wait_ms = (long long)(o->timeout * 1000.0);
	if (wait_ms > 0)
		json_object_set_new(args, "wait_ms", json_integer(wait_ms));
	/* the daemon may hold the answer for wait_ms: allow for it */
	int e = gcli_client_connect(o->socket, &c);
	if (!e)
		e = gcli_client_call(c, "join", args, (int)wait_ms + GCLI_CALL_TIMEOUT_MS, &res);
	if (e) {
		gcli_client_describe(c, o->socket, "join", e, err, sizeof(err));
		fprintf(ctx->err, "gossamer: %s\n", err);
		goto out;
	}
	json_t *n = json_object_get(res, "contacted");
	if (!json_is_integer(n)) {
		rc = schema_fail(ctx, "join", "result lacks integer field 'contacted'");
		goto out;
	}
	long long contacted = json_integer_value(n);
	/* "answered" (docs/control.md, join with wait_ms) when the daemon has it */
	json_t *ans = json_object_get(res, "answered");
	bool have_ans = wait_ms > 0 && json_is_integer(ans);
	long long answered = have_ans ? json_integer_value(ans) : -1;
	rc = GCLI_EXIT_OK;
	if (o->json)
		rc = print_json(res, ctx);
	else if (have_ans)
		fprintf(ctx->out, "contacted %lld of %zu seed%s, %lld answered\n", contacted,
			o->n_addrs, o->n_addrs == 1 ? "" : "s", answered);
	else
		fprintf(ctx->out, "contacted %lld of %zu seed%s\n", contacted, o->n_addrs,
			o->n_addrs == 1 ? "" : "s");
	if (contacted <= 0) {
		fprintf(ctx->err, "gossamer: join: none of the seeds could be contacted\n");
		rc = GCLI_EXIT_FAIL;
	} else if (have_ans && answered <= 0) {
		fprintf(ctx->err, "gossamer: join: no seed answered within %.3gs\n", o->timeout);
		rc = GCLI_EXIT_FAIL;
	}
out:
	gcli_client_free(c);
	json_decref(res);
	json_decref(addrs);
	json_decref(args);
	return rc;
}

static int cmd_simple(const struct gcli_opts *o, struct gcli_ctx *ctx, const char *cmd,
		      const char *done)
{
	json_t *res = NULL;
	int rc = request(o, ctx, cmd, NULL, &res);
	if (rc)
		return rc;
	if (o->json)
		rc = print_json(res, ctx);
	else
		fprintf(ctx->out, "%s\n", done);
	json_decref(res);
	return rc;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool transient(int err)
{
	return err == -ENOENT || err == -ECONNREFUSED || err == -ECONNRESET || err == -ETIMEDOUT ||
	       err == -EPIPE || err == -EAGAIN;
}

static int cmd_wait(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	long long start = mono_ms();
	long long deadline = o->timeout > 0 ? start + (long long)(o->timeout * 1000.0) : -1;
	struct gcli_client *c = NULL;
	char why[512] = "", schema[256];
	int rc = GCLI_EXIT_FAIL;
	for (;;) {
		int err = 0;
		json_t *st = NULL;
		long long now = mono_ms();
		int call_ms = 5000;
		if (deadline >= 0 && deadline - now < call_ms)
			call_ms = deadline - now > 50 ? (int)(deadline - now) : 50;
		if (!c)
			err = gcli_client_connect(o->socket, &c);
		if (!err)
			err = gcli_client_call(c, "status", NULL, call_ms, &st);
		if (err) {
			gcli_client_describe(c, o->socket, "wait", err, why, sizeof(why));
			gcli_client_free(c);
			c = NULL;
			if (!transient(err)) {
				fprintf(ctx->err, "gossamer: %s\n", why);
				goto out;
			}
		} else if (gcli_check_status(st, schema, sizeof(schema))) {
			json_decref(st);
			rc = schema_fail(ctx, "wait", schema);
			goto out;
		} else {
			const json_t *counts = json_object_get(st, "members");
			long long alive = json_integer_value(json_object_get(counts, "alive"));
			bool conv = json_is_true(json_object_get(st, "converged"));
			bool ok = true;
			size_t off = 0;
			why[0] = '\0';
			if (o->wait_members_set && alive < (long long)o->wait_members) {
				ok = false;
				off +=
				    (size_t)snprintf(why, sizeof(why), "%lld of %llu members alive",
						     alive, (unsigned long long)o->wait_members);
			}
			if (o->wait_converged && !conv) {
				ok = false;
				snprintf(why + off, sizeof(why) - off, "%snot converged",
					 off ? ", " : "");
			}
			if (ok) {
				rc = o->json ? print_json(st, ctx) : GCLI_EXIT_OK;
				json_decref(st);
				goto out;
			}
			json_decref(st);
		}
		now = mono_ms();
		if (deadline >= 0 && now >= deadline) {
			fprintf(ctx->err, "gossamer: wait: timed out after %.3gs: %s\n", o->timeout,
				why);
			rc = GCLI_EXIT_FAIL;
			goto out;
		}
		long long sleep_ms = WAIT_POLL_MS;
		if (deadline >= 0 && deadline - now < sleep_ms)
			sleep_ms = deadline - now;
		struct timespec ts = {.tv_sec = sleep_ms / 1000,
				      .tv_nsec = (sleep_ms % 1000) * 1000000};
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
	}
out:
	gcli_client_free(c);
	return rc;
}

static int cmd_version(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	json_t *st = NULL;
	struct gcli_client *c = NULL;
	const char *dv = NULL;
	if (!gcli_client_connect(o->socket, &c) && !gcli_client_call(c, "status", NULL, 2000, &st))
		dv = json_string_value(json_object_get(st, "version_string"));
	int rc = GCLI_EXIT_OK;
	if (o->json) {
		json_t *v = json_pack("{s:s, s:s?}", "client", GSM_VERSION, "daemon", dv);
		rc = v ? print_json(v, ctx) : GCLI_EXIT_FAIL;
		json_decref(v);
	} else {
		fprintf(ctx->out, "gossamer %s\n", GSM_VERSION);
		if (dv) {
			char *clean = gcli_sanitize(dv);
			fprintf(ctx->out, "gossamerd %s\n", clean ? clean : "?");
			free(clean);
		}
	}
	json_decref(st);
	gcli_client_free(c);
	return rc;
}

int gcli_run(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	switch (o->cmd) {
	case GCLI_CMD_HELP:
		fputs(gcli_usage(o->help_topic), ctx->out);
		return GCLI_EXIT_OK;
	case GCLI_CMD_VERSION:
		return cmd_version(o, ctx);
	case GCLI_CMD_STATUS:
		return cmd_status(o, ctx);
	case GCLI_CMD_MEMBERS:
		return cmd_members(o, ctx);
	case GCLI_CMD_PEERS:
		return cmd_peers(o, ctx);
	case GCLI_CMD_JOIN:
		return cmd_join(o, ctx);
	case GCLI_CMD_LEAVE:
		return cmd_simple(o, ctx, "leave", "left the mesh; gossamerd is shutting down");
	case GCLI_CMD_RELOAD:
		return cmd_simple(o, ctx, "reload", "configuration reloaded");
	case GCLI_CMD_WAIT:
		return cmd_wait(o, ctx);
	case GCLI_CMD_KEYGEN:
		return gcli_keygen(o, ctx);
	case GCLI_CMD_PUBKEY:
		return gcli_pubkey(o, ctx);
	case GCLI_CMD_AUTHORITY:
		return gcli_authority(o, ctx);
	case GCLI_CMD_CERT:
		return gcli_cert(o, ctx);
	case GCLI_CMD_REVOKE:
		return gcli_revoke(o, ctx);
	case GCLI_CMD_CLIENT:
		return gcli_client(o, ctx);
	case GCLI_CMD_EXIT_NODE:
		return gcli_exit_node(o, ctx);
	default:
		fputs(gcli_usage(GCLI_CMD_NONE), ctx->err);
		return GCLI_EXIT_USAGE;
	}
}

static size_t term_width(bool tty)
{
	const char *cols = getenv("COLUMNS");
	uint64_t v;
	if (cols && gcli_parse_uint(cols, 20, 10000, &v))
		return (size_t)v;
	if (tty) {
		struct winsize ws;
		if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
			return ws.ws_col;
	}
	return 80;
}

int gcli_main(int argc, char **argv)
{
	struct gcli_opts o;
	char err[512];
	setlocale(LC_CTYPE, "");
	int rc = gcli_args_parse(argc, argv, getenv("GOSSAMER_SOCKET"), &o, err, sizeof(err));
	if (rc) {
		if (argc <= 1) {
			fputs(gcli_usage(GCLI_CMD_NONE), stderr);
		} else {
			fprintf(stderr, "gossamer: %s\n", err);
			fprintf(stderr, "Try 'gossamer help'.\n");
		}
		gcli_opts_release(&o);
		return GCLI_EXIT_USAGE;
	}
	bool tty = isatty(STDOUT_FILENO);
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	bool color = false;
	if (!o.json && !(nc && *nc)) {
		if (o.color == GCLI_COLOR_ALWAYS)
			color = true;
		else if (o.color == GCLI_COLOR_AUTO)
			color = tty && !(term && !strcmp(term, "dumb"));
	}
	const char *cs = nl_langinfo(CODESET);
	struct gcli_ctx ctx = {
	    .out = stdout,
	    .err = stderr,
	    .color = color,
	    .width = o.wide ? 0 : term_width(tty),
	    .ellipsis = (cs && !strcmp(cs, "UTF-8")) ? "\xe2\x80\xa6" : "~",
	    .now = time(NULL),
	};
	rc = gcli_run(&o, &ctx);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "gossamer: error writing output: %s\n", strerror(errno));
		rc = GCLI_EXIT_FAIL;
	}
	gcli_opts_release(&o);
	return rc;
}
