/*
 * cli/client_cmd.c - `gossamer client add|list|remove`: plain WireGuard
 * clients of a gateway (docs/clients.md).
 *
 * What: the arguments of the three subcommands (parsed here, so the main
 * parser only hands over the words after `client`), one control request
 * each (client_add, client_list, client_remove), and the output: `add`
 * prints the wg-quick configuration the gateway built, and a QR code of it
 * when stdout is a terminal or with --qr, so a phone's WireGuard app can
 * scan it; `list` is a table or, with --json, the daemon's array.
 *
 * Why the config goes to stdout alone: `gossamer client add laptop >
 * laptop.conf` must give a file wg-quick reads; the QR code is only drawn
 * for a terminal (or on request).  It contains the private key when the
 * gateway generated the pair: nothing else keeps it.
 *
 * QR rendering: UTF-8 half blocks, two module rows per text line, light
 * modules and the quiet zone drawn as blocks (the usual form for
 * dark-background terminals; scanners read the code either way round).
 */
#include <errno.h>
#include <qrencode.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "cli/fmt.h"
#include "cli/table.h"

#define QR_QUIET 2 /* modules of light border around the code */

enum { SUB_NONE = 0, SUB_ADD, SUB_LIST, SUB_REMOVE };

const char gcli_usage_client[] =
    "usage: gossamer client add NAME [--allowed-ips P[,P...]] [--public-key KEY]\n"
    "                          [--endpoint HOST:PORT] [--qr] [--json]\n"
    "       gossamer client list [--json]\n"
    "       gossamer client remove NAME [--json]\n"
    "\n"
    "Plain WireGuard clients (laptops, phones, a managed control plane) attached to\n"
    "this gateway (client_pool must be configured).  `add` assigns the next free\n"
    "address of client_pool, generates a key pair unless --public-key is given, and\n"
    "prints the client's wg-quick configuration (and a QR code of it on a terminal).\n"
    "The private key is printed once and never stored.\n"
    "\n"
    "Options:\n"
    "  --allowed-ips P[,P...]  (add) IPv4 prefixes the client may reach besides the\n"
    "                          overlay (default: the overlay only)\n"
    "  --public-key KEY        (add) the client's own WireGuard public key (base64)\n"
    "  --endpoint HOST:PORT    (add) where the client reaches this gateway (default:\n"
    "                          its advertised endpoint)\n"
    "  --qr                    (add) draw the QR code even when stdout is not a terminal\n"
    "  --json                  the daemon's answer as JSON\n";

static int bad(char *err, size_t errlen, const char *what, const char *arg)
{
	snprintf(err, errlen, "client: %s%s%s", what, arg ? " " : "", arg ? arg : "");
	return -EINVAL;
}

/* an option of `client`: 1 consumed with its value, 0 consumed alone,
 * -EINVAL unknown */
static int client_opt(struct gcli_opts *o, const char *name, const char *val, bool *needs)
{
	static const char *const with_val[] = {"socket",   "s",	    "allowed-ips", "public-key",
					       "endpoint", "color", "colour"};
	*needs = false;
	for (size_t i = 0; i < sizeof(with_val) / sizeof(with_val[0]); i++)
		if (!strcmp(name, with_val[i]))
			*needs = true;
	if (*needs && !val)
		return 1;
	if (!strcmp(name, "socket") || !strcmp(name, "s"))
		o->socket = val;
	else if (!strcmp(name, "allowed-ips"))
		o->client.allowed_ips = val;
	else if (!strcmp(name, "public-key"))
		o->client.public_key = val;
	else if (!strcmp(name, "endpoint"))
		o->client.endpoint = val;
	else if (!strcmp(name, "qr"))
		o->client.qr = true;
	else if (!strcmp(name, "json") || !strcmp(name, "j"))
		o->json = true;
	else if (!strcmp(name, "help") || !strcmp(name, "h"))
		o->cmd = GCLI_CMD_HELP;
	else if (strcmp(name, "color") && strcmp(name, "colour") && strcmp(name, "no-color"))
		return -EINVAL;
	return *needs ? 1 : 0;
}

static int client_operand(struct gcli_opts *o, const char *a, char *err, size_t errlen)
{
	if (!o->client.sub) {
		o->client.sub = !strcmp(a, "add")      ? SUB_ADD
				: !strcmp(a, "list")   ? SUB_LIST
				: !strcmp(a, "remove") ? SUB_REMOVE
						       : SUB_NONE;
		return o->client.sub ? 0 : bad(err, errlen, "unknown subcommand", a);
	}
	if (o->client.sub != SUB_LIST && !o->client.name) {
		o->client.name = a;
		return 0;
	}
	return bad(err, errlen, "unexpected argument", a);
}

/* everything after `client` once it is known: subcommand, NAME, options */
static int client_check(struct gcli_opts *o, char *err, size_t errlen)
{
	if (o->cmd == GCLI_CMD_HELP) {
		o->help_topic = GCLI_CMD_CLIENT;
		return 0;
	}
	if (!o->client.sub)
		return bad(err, errlen, "give add, list or remove", NULL);
	if (o->client.sub != SUB_LIST && !o->client.name)
		return bad(err, errlen,
			   o->client.sub == SUB_ADD ? "add: which NAME?" : "remove: which NAME?",
			   NULL);
	if (o->client.sub != SUB_ADD &&
	    (o->client.allowed_ips || o->client.public_key || o->client.endpoint || o->client.qr))
		return bad(err, errlen,
			   "--allowed-ips, --public-key, --endpoint and --qr apply to add only",
			   NULL);
	return 0;
}

int gcli_client_args(int argc, char **argv, int cmd_at, const char *env_socket, struct gcli_opts *o,
		     char *err, size_t errlen)
{
	bool only = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i == cmd_at)
			continue;
		if (!only && !strcmp(a, "--")) {
			only = true;
			continue;
		}
		if (only || a[0] != '-' || !a[1]) {
			int r = client_operand(o, a, err, errlen);
			if (r)
				return r;
			continue;
		}
		char name[64];
		const char *val = NULL, *n = a + (a[1] == '-' ? 2 : 1), *eq = strchr(n, '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq ? eq - n : (long)strlen(n)), n);
		if (eq)
			val = eq + 1;
		bool needs;
		int r = client_opt(o, name, val, &needs);
		if (r < 0)
			return bad(err, errlen, "unknown option", a);
		if (needs && !val) {
			if (i + 1 >= argc)
				return bad(err, errlen, "option needs a value:", a);
			client_opt(o, name, argv[++i], &needs);
		}
	}
	if (!o->socket)
		o->socket = (env_socket && *env_socket) ? env_socket : GCLI_DEFAULT_SOCKET;
	return client_check(o, err, errlen);
}

/* ------------------------------------------------------------ output */

static void qr_print(FILE *f, const char *text)
{
	QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1);
	if (!q) {
		fprintf(stderr, "gossamer: cannot draw a QR code: %s\n", strerror(errno));
		return;
	}
	int w = q->width, full = w + 2 * QR_QUIET;
	/* light = true: drawn (blocks on a dark terminal) */
#define LIGHT(x, y)                                                                                \
	((x) < QR_QUIET || (y) < QR_QUIET || (x) >= QR_QUIET + w || (y) >= QR_QUIET + w ||         \
	 !(q->data[((y)-QR_QUIET) * w + ((x)-QR_QUIET)] & 1))
	for (int y = 0; y < full; y += 2) {
		for (int x = 0; x < full; x++) {
			bool top = LIGHT(x, y), bot = y + 1 < full ? LIGHT(x, y + 1) : false;
			fputs(top && bot ? "\xe2\x96\x88"
			      : top	 ? "\xe2\x96\x80"
			      : bot	 ? "\xe2\x96\x84"
					 : " ",
			      f);
		}
		fputc('\n', f);
	}
#undef LIGHT
	QRcode_free(q);
}

/* "a,b , c" -> ["a","b","c"] */
static json_t *split_list(const char *s)
{
	json_t *arr = json_array();
	char *dup = strdup(s), *save = NULL;
	for (char *t = dup ? strtok_r(dup, ", ", &save) : NULL; t && arr;
	     t = strtok_r(NULL, ", ", &save))
		json_array_append_new(arr, json_string(t));
	free(dup);
	return arr;
}

static int request(const struct gcli_opts *o, struct gcli_ctx *ctx, const char *cmd, json_t *args,
		   json_t **res)
{
	char err[512];
	if (gcli_call_once(o->socket, cmd, args, res, err, sizeof(err))) {
		fprintf(ctx->err, "gossamer: %s\n", err);
		return GCLI_EXIT_FAIL;
	}
	return GCLI_EXIT_OK;
}

static int print_json(const json_t *v, const struct gcli_ctx *ctx)
{
	if (json_dumpf(v, ctx->out, JSON_INDENT(2) | JSON_PRESERVE_ORDER))
		return GCLI_EXIT_FAIL;
	fputc('\n', ctx->out);
	return GCLI_EXIT_OK;
}

static int client_add(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	json_t *res = NULL, *args = json_pack("{s:s}", "name", o->client.name);
	int rc = GCLI_EXIT_FAIL;
	if (!args)
		return rc;
	if (o->client.allowed_ips)
		json_object_set_new(args, "allowed_ips", split_list(o->client.allowed_ips));
	if (o->client.public_key)
		json_object_set_new(args, "public_key", json_string(o->client.public_key));
	if (o->client.endpoint)
		json_object_set_new(args, "endpoint", json_string(o->client.endpoint));
	rc = request(o, ctx, "client_add", args, &res);
	if (rc)
		goto out;
	const char *conf = json_string_value(json_object_get(res, "config"));
	if (!conf) {
		fprintf(ctx->err, "gossamer: client add: answer lacks 'config'\n");
		rc = GCLI_EXIT_FAIL;
	} else if (o->json) {
		rc = print_json(res, ctx);
	} else {
		fputs(conf, ctx->out);
		if (o->client.qr || isatty(fileno(ctx->out))) {
			fputc('\n', ctx->out);
			qr_print(ctx->out, conf);
		}
	}
out:
	json_decref(res);
	json_decref(args);
	return rc;
}

static void list_row(struct gcli_table *t, const json_t *c)
{
	char allowed[512] = "", when[40];
	size_t off = 0, i;
	json_t *p;
	json_array_foreach(json_object_get(c, "allowed_ips"), i, p)
	{
		int w = snprintf(allowed + off, sizeof(allowed) - off, "%s%s", i ? "," : "",
				 json_string_value(p) ? json_string_value(p) : "?");
		if (w > 0 && (size_t)w < sizeof(allowed) - off)
			off += (size_t)w;
	}
	json_int_t created = json_integer_value(json_object_get(c, "created"));
	gcli_fmt_time((uint64_t)created, when, sizeof(when));
	int r = gcli_table_add_row(t);
	if (r < 0)
		return;
	gcli_table_set(t, (size_t)r, 0, json_string_value(json_object_get(c, "name")), NULL);
	gcli_table_set(t, (size_t)r, 1, json_string_value(json_object_get(c, "address")), NULL);
	gcli_table_set(t, (size_t)r, 2, json_string_value(json_object_get(c, "public_key")), NULL);
	gcli_table_set(t, (size_t)r, 3, off ? allowed : "(overlay only)", NULL);
	gcli_table_set(t, (size_t)r, 4, when, NULL);
}

static int client_list(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	json_t *res = NULL, *c;
	size_t i;
	int rc = request(o, ctx, "client_list", NULL, &res);
	if (rc)
		return rc;
	if (!json_is_array(res)) {
		fprintf(ctx->err, "gossamer: client list: unexpected answer (not an array)\n");
		rc = GCLI_EXIT_FAIL;
	} else if (o->json) {
		rc = print_json(res, ctx);
	} else {
		static const char *const h[] = {"NAME", "ADDRESS", "PUBLIC KEY", "ALLOWED",
						"CREATED"};
		struct gcli_table *t = gcli_table_new(5);
		for (size_t k = 0; t && k < 5; k++)
			gcli_table_column(t, k, h[k], k == 3 ? GCLI_COL_SHRINK : 0, 8,
					  k == 2 ? 1 : 0);
		json_array_foreach(res, i, c) if (t) list_row(t, c);
		struct gcli_render_opts ro = {
		    .width = ctx->width, .color = ctx->color, .ellipsis = ctx->ellipsis};
		char *s = t ? gcli_table_render(t, &ro) : NULL;
		if (s)
			fputs(s, ctx->out);
		else
			rc = GCLI_EXIT_FAIL;
		free(s);
		gcli_table_free(t);
	}
	json_decref(res);
	return rc;
}

static int client_remove(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	json_t *res = NULL, *args = json_pack("{s:s}", "name", o->client.name);
	int rc = args ? request(o, ctx, "client_remove", args, &res) : GCLI_EXIT_FAIL;
	if (!rc) {
		if (o->json)
			rc = print_json(res, ctx);
		else
			fprintf(ctx->out, "removed client %s\n", o->client.name);
	}
	json_decref(res);
	json_decref(args);
	return rc;
}

int gcli_client(const struct gcli_opts *o, struct gcli_ctx *ctx)
{
	switch (o->client.sub) {
	case SUB_ADD:
		return client_add(o, ctx);
	case SUB_LIST:
		return client_list(o, ctx);
	case SUB_REMOVE:
		return client_remove(o, ctx);
	default:
		fputs(gcli_usage_client, ctx->err);
		return GCLI_EXIT_USAGE;
	}
}
