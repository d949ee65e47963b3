/*
 * cli/exit_cmd.c - `gossamer exit-node NAME[,NAME...]|off`.
 *
 * The names become the `exit_node` control command's array (`off` the
 * empty array); the daemon answers with its exit object after the
 * reconcile that applied the choice, and the command prints the exit in
 * use (or why there is none) so the operator sees at once whether the
 * choice took.  Names are checked here (the member name syntax), so a typo
 * is a usage error that never reaches the daemon.
 */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/fmt.h"
#include "gossip/wire.h"

#define MAX_NAMES 8 /* the daemon's GSD_MAX_EXIT_NODES */

static bool valid_name(const char *s, size_t n)
{
	if (!n || n > GSM_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') && !strchr("._-", s[i]))
			return false;
	return true;
}

/* "a,b" -> ["a","b"], "off" -> []; NULL with a message on a bad list */
static json_t *names_of(const char *arg, struct gcli_ctx *ctx)
{
	json_t *arr = json_array();
	if (!arr || !strcmp(arg, "off"))
		return arr;
	for (const char *p = arg;;) {
		size_t n = strcspn(p, ",");
		if (!valid_name(p, n) || json_array_size(arr) >= MAX_NAMES) {
			fprintf(ctx->err,
				"gossamer: exit-node: '%.*s' is not a member name (or more than %d "
				"names)\n",
				(int)n, p, MAX_NAMES);
			json_decref(arr);
			return NULL;
		}
		json_array_append_new(arr, json_stringn(p, n));
		if (!p[n])
			break;
		p += n + 1;
	}
	return arr;
}

static void print_choice(const json_t *res, struct gcli_ctx *ctx)
{
	const char *using = json_string_value(json_object_get(res, "using"));
	size_t n = json_array_size(json_object_get(res, "wanted"));
	char *clean = using ? gcli_sanitize(using) : NULL;
	if (!n)
		fprintf(ctx->out, "exit node off\n");
	else if (clean)
		fprintf(ctx->out, "using exit node %s\n", clean);
	else
		fprintf(ctx->out, "no exit node usable yet (none of the listed members is alive, "
				  "a WireGuard peer and an exit node)\n");
	free(clean);
}

int gcli_exit_node(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	struct gcli_client *c = NULL;
	json_t *args = NULL, *res = NULL, *names = names_of(o->operand, ctx);
	char err[512];
	int ret = GCLI_EXIT_USAGE;
	if (!names)
		goto out;
	ret = GCLI_EXIT_FAIL;
	args = json_pack("{s:O}", "exit_node", names);
	int e = args ? gcli_client_connect(o->socket, &c) : -1;
	if (!e)
		e = gcli_client_call(c, "exit_node", args, GCLI_CALL_TIMEOUT_MS, &res);
	if (e) {
		gcli_client_describe(c, o->socket, "exit_node", e, err, sizeof(err));
		fprintf(ctx->err, "gossamer: %s\n", err);
		goto out;
	}
	ret = GCLI_EXIT_OK;
	if (o->json) {
		if (json_dumpf(res, ctx->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER))
			ret = GCLI_EXIT_FAIL;
		fputc('\n', ctx->out);
	} else {
		print_choice(res, ctx);
	}
out:
	gcli_client_free(c);
	json_decref(names);
	json_decref(args);
	json_decref(res);
	return ret;
}
