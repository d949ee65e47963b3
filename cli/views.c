/*
 * cli/views.c - what a person sees: the members and peers tables and the
 * status summary.
 *
 * What: turns validated daemon results (see schema.c) into tables
 * (table.c) and aligned key/value blocks.
 *
 * Why these columns: an operator looking at a mesh asks "who is there, are
 * they healthy, since when, how do I reach them", so `members` shows name,
 * short id (8 hex digits, like a git short hash, enough to tell nodes apart
 * and to grep the full id from --json), overlay addresses, the first
 * endpoint (or "via RELAY" when our traffic to it is relayed), state and
 * its age, and labels; `peers` answers "is WireGuard
 * actually talking": last handshake, traffic in IEC units like `wg show`,
 * and how the peer is reached: its endpoint, or "via RELAY".  Host prefixes
 * (/32, /128) are shown as plain addresses; lists show their first element
 * and "+N" so one member stays on one line.  Rows are sorted by name then
 * id, so output is stable between runs and diffable.
 *
 * Trade-offs: when 80 columns are not enough, cells are elided (visible
 * ellipsis) and optional columns (labels, key) are left out; --wide turns
 * all of that off, --json gives everything.
 */
#include "cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/fmt.h"
#include "cli/table.h"

static const char *str(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static long long integer(const json_t *o, const char *k, long long dflt)
{
	const json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static const char *state_sgr(const char *state)
{
	if (!state)
		return NULL;
	if (!strcmp(state, "alive"))
		return "32";
	if (!strcmp(state, "suspect"))
		return "33";
	if (!strcmp(state, "dead"))
		return "31";
	if (!strcmp(state, "left"))
		return "2";
	return NULL;
}

bool gcli_member_matches(const json_t *m, const struct gcli_opts *o)
{
	if (o->state_mask) {
		const char *st = str(m, "state");
		if (!st || !(gcli_state_bit(st) & o->state_mask))
			return false;
	}
	const json_t *labels = json_object_get(m, "labels");
	for (size_t i = 0; i < o->n_labels; i++) {
		const json_t *v = json_object_get(labels, o->labels[i].key);
		if (!json_is_string(v))
			return false;
		if (o->labels[i].value && strcmp(json_string_value(v), o->labels[i].value))
			return false;
	}
	return true;
}

static int member_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *nx = str(x, "name"), *ny = str(y, "name");
	int c = strcmp(nx ? nx : "", ny ? ny : "");
	if (c)
		return c;
	const char *ix = str(x, "id"), *iy = str(y, "id");
	return strcmp(ix ? ix : "", iy ? iy : "");
}

json_t *gcli_members_select(const json_t *members, const struct gcli_opts *o)
{
	size_t n = json_array_size(members), k = 0;
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	json_t *out = json_array();
	if (!v || !out)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_array_get(members, i);
		if (gcli_member_matches(m, o))
			v[k++] = m;
	}
	qsort(v, k, sizeof(*v), member_cmp);
	for (size_t i = 0; i < k; i++)
		if (json_array_append(out, v[i]))
			goto fail;
	free(v);
	return out;
fail:
	free(v);
	json_decref(out);
	return NULL;
}

/* "first +N" of a string array, host prefixes shortened; "-" if empty. */
static void list_cell(const json_t *arr, bool host, char *buf, size_t cap)
{
	size_t n = json_array_size(arr);
	if (n == 0) {
		snprintf(buf, cap, "-");
		return;
	}
	const json_t *e = json_array_get(arr, 0);
	const char *first = json_is_string(e) ? json_string_value(e) : str(e, "address");
	char tmp[256];
	if (host)
		first = gcli_fmt_host_prefix(first, tmp, sizeof(tmp));
	if (n == 1)
		snprintf(buf, cap, "%s", first ? first : "?");
	else
		snprintf(buf, cap, "%s +%zu", first ? first : "?", n - 1);
}

/* Overlay addresses: all of them (comma separated) when the table is not
 * width-limited, else the first and "+N" (typically IPv4 +1 for IPv6). */
static void addr_cell(const json_t *arr, bool all, char *buf, size_t cap)
{
	size_t n = json_array_size(arr), off = 0;
	buf[0] = '\0';
	if (!all || n <= 1) {
		list_cell(arr, true, buf, cap);
		return;
	}
	for (size_t i = 0; i < n && off < cap; i++) {
		char tmp[256];
		const char *a = gcli_fmt_host_prefix(json_string_value(json_array_get(arr, i)), tmp,
						     sizeof(tmp));
		int w = snprintf(buf + off, cap - off, "%s%s", i ? "," : "", a);
		if (w < 0)
			break;
		off += (size_t)w;
	}
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static char *labels_cell(const json_t *labels)
{
	size_t n = json_object_size(labels), k = 0, len = 1;
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	if (!keys)
		return NULL;
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)labels, key, v)
	{
		keys[k++] = key;
		len += strlen(key) + 1 + strlen(json_string_value(v)) + 1;
	}
	qsort(keys, k, sizeof(*keys), key_cmp);
	char *out = malloc(len + 1);
	if (!out) {
		free(keys);
		return NULL;
	}
	size_t off = 0;
	out[0] = '\0';
	for (size_t i = 0; i < k; i++) {
		const char *val = json_string_value(json_object_get(labels, keys[i]));
		off += (size_t)snprintf(out + off, len + 1 - off, "%s%s=%s", i ? "," : "", keys[i],
					val);
	}
	if (k == 0)
		snprintf(out, len + 1, "-");
	free(keys);
	return out;
}

static int emit_table(struct gcli_table *t, const struct gcli_ctx *ctx)
{
	struct gcli_render_opts ro = {
	    .width = ctx->width, .color = ctx->color, .ellipsis = ctx->ellipsis};
	char *s = gcli_table_render(t, &ro);
	if (!s)
		return -ENOMEM;
	fputs(s, ctx->out);
	free(s);
	return 0;
}

/* name of the member with this id in list, or NULL */
static const char *name_of(const json_t *list, const char *id)
{
	size_t i;
	json_t *m;
	if (!id)
		return NULL;
	json_array_foreach(list, i, m)
	{
		const char *mid = str(m, "id");
		if (mid && !strcmp(mid, id))
			return str(m, "name");
	}
	return NULL;
}

/* Member table columns.  MC_PFX and MC_ROLES only in --wide tables,
 * MC_CERT only when some member has a certificate status other than
 * "none" (authority mode off: nothing to show).  at[] maps a column to
 * its index in the table, -1 when left out. */
enum {
	MC_SELF,
	MC_NAME,
	MC_ID,
	MC_ADDR,
	MC_EP,
	MC_STATE,
	MC_SINCE,
	MC_CERT,
	MC_LABELS,
	MC_PFX,
	MC_ROLES,
	MC_N
};

static void cell(struct gcli_table *t, const int *at, size_t row, int c, const char *text,
		 const char *sgr)
{
	if (at[c] >= 0)
		gcli_table_set(t, row, (size_t)at[c], text, sgr);
}

static bool any_cert(const json_t *members)
{
	size_t i;
	const json_t *m;
	json_array_foreach(members, i, m)
	{
		const char *st = str(json_object_get(m, "cert"), "status");
		if (st && strcmp(st, "none"))
			return true;
	}
	return false;
}

/* "valid 29d", "valid 5h", "expired", "revoked", "invalid", "none" */
static const char *cert_cell(const json_t *cert, time_t now, char *buf, size_t cap)
{
	const char *st = str(cert, "status");
	if (!st)
		return "-";
	long long exp = integer(cert, "expires", 0);
	if (strcmp(st, "valid") || exp <= 0)
		return st;
	long long left = exp - (long long)now;
	if (left >= 86400)
		snprintf(buf, cap, "valid %lldd", left / 86400);
	else if (left >= 3600)
		snprintf(buf, cap, "valid %lldh", left / 3600);
	else
		snprintf(buf, cap, "valid %lldm", left > 0 ? left / 60 : 0);
	return buf;
}

static const char *cert_sgr(const json_t *cert)
{
	const char *st = str(cert, "status");
	if (!st || !strcmp(st, "none"))
		return NULL;
	return strcmp(st, "valid") ? "31" : "32";
}

static void roles_cell(const json_t *cert, char *buf, size_t cap)
{
	const json_t *roles = json_object_get(cert, "roles");
	size_t i, off = 0;
	const json_t *r;
	buf[0] = 0;
	json_array_foreach(roles, i, r)
	{
		if (json_is_string(r) && off < cap)
			off += (size_t)snprintf(buf + off, cap - off, "%s%s", i ? "," : "",
						json_string_value(r));
	}
	if (!off)
		snprintf(buf, cap, "-");
}

static int member_row(struct gcli_table *t, const int *at, const json_t *m, const json_t *members,
		      const struct gcli_ctx *ctx)
{
	int r = gcli_table_add_row(t);
	if (r < 0)
		return r;
	size_t row = (size_t)r;
	char buf[1024], id[9];
	bool self = json_is_true(json_object_get(m, "self"));
	const char *state = str(m, "state");
	cell(t, at, row, MC_SELF, self ? "*" : "", self ? "1" : NULL);
	/* a subnet router (advert flag gateway): "NAME gw" */
	if (json_is_true(json_object_get(m, "gateway"))) {
		snprintf(buf, sizeof(buf), "%.63s gw", str(m, "name") ? str(m, "name") : "?");
		cell(t, at, row, MC_NAME, buf, self ? "1" : NULL);
	} else {
		cell(t, at, row, MC_NAME, str(m, "name"), self ? "1" : NULL);
	}
	snprintf(id, sizeof(id), "%.8s", str(m, "id"));
	cell(t, at, row, MC_ID, id, NULL);
	addr_cell(json_object_get(m, "overlay_addresses"), ctx->width == 0, buf, sizeof(buf));
	cell(t, at, row, MC_ADDR, buf, NULL);
	const char *via = str(m, "relayed_via");
	if (via) {
		/* our traffic to it goes through a relay: that is its path */
		const char *rn = name_of(ctx->lookup ? ctx->lookup : members, via);
		snprintf(buf, sizeof(buf), "via %.*s", rn ? 64 : 8, rn ? rn : via);
		cell(t, at, row, MC_EP, buf, "33");
	} else {
		list_cell(json_object_get(m, "endpoints"), false, buf, sizeof(buf));
		cell(t, at, row, MC_EP, buf, NULL);
	}
	/* admission: a member that never answered a probe is no
	 * WireGuard peer; say so instead of "alive" */
	if (json_is_false(json_object_get(m, "reachable")) && state &&
	    (!strcmp(state, "alive") || !strcmp(state, "suspect")))
		cell(t, at, row, MC_STATE, "unverified", "2");
	else
		cell(t, at, row, MC_STATE, state, state_sgr(state));
	long long changed = integer(m, "state_changed", 0);
	if (changed > 0)
		gcli_fmt_age((int64_t)ctx->now - changed, buf, sizeof(buf));
	else
		snprintf(buf, sizeof(buf), "-");
	cell(t, at, row, MC_SINCE, buf, NULL);
	const json_t *cert = json_object_get(m, "cert");
	cell(t, at, row, MC_CERT, cert_cell(cert, ctx->now, buf, sizeof(buf)), cert_sgr(cert));
	char *lab = labels_cell(json_object_get(m, "labels"));
	if (!lab)
		return -ENOMEM;
	cell(t, at, row, MC_LABELS, lab, NULL);
	free(lab);
	addr_cell(json_object_get(m, "prefixes"), true, buf, sizeof(buf));
	cell(t, at, row, MC_PFX, buf, NULL);
	roles_cell(cert, buf, sizeof(buf));
	cell(t, at, row, MC_ROLES, buf, NULL);
	return 0;
}

int gcli_show_members(const json_t *members, const struct gcli_ctx *ctx)
{
	bool wide = ctx->width == 0, certs = any_cert(members);
	int at[MC_N];
	size_t n = 0;
	for (int c = 0; c < MC_N; c++) {
		bool on = (c != MC_PFX && c != MC_ROLES) || wide;
		if (c == MC_CERT || c == MC_ROLES)
			on = on && certs;
		at[c] = on ? (int)n++ : -1;
	}
	struct gcli_table *t = gcli_table_new(n);
	int rc = -ENOMEM;
	if (!t)
		return -ENOMEM;
	/* minimums: fixed columns take 28 of 80, leaving 52 for name,
	 * addresses, endpoint and labels (and their 6 blanks); CERT may
	 * shrink and is dropped before LABELS */
	static const struct {
		const char *h;
		unsigned flags;
		size_t min;
		int drop;
	} cols[MC_N] = {
	    [MC_SELF] = {"", GCLI_COL_TIGHT, 1, 0},
	    [MC_NAME] = {"NAME", GCLI_COL_SHRINK, 10, 0},
	    [MC_ID] = {"ID", 0, 8, 0},
	    [MC_ADDR] = {"ADDRESSES", GCLI_COL_SHRINK, 11, 0},
	    [MC_EP] = {"ENDPOINT", GCLI_COL_SHRINK, 17, 0},
	    [MC_STATE] = {"STATE", 0, 7, 0},
	    [MC_SINCE] = {"SINCE", GCLI_COL_RIGHT, 5, 0},
	    [MC_CERT] = {"CERT", GCLI_COL_SHRINK, 5, 2},
	    [MC_LABELS] = {"LABELS", GCLI_COL_SHRINK, 8, 1},
	    [MC_PFX] = {"PREFIXES", GCLI_COL_SHRINK, 8, 0},
	    [MC_ROLES] = {"ROLES", 0, 5, 0},
	};
	for (int c = 0; c < MC_N; c++)
		if (at[c] >= 0)
			gcli_table_column(t, (size_t)at[c], cols[c].h, cols[c].flags, cols[c].min,
					  cols[c].drop);
	size_t i;
	json_t *m;
	json_array_foreach(members, i, m)
	{
		if (member_row(t, at, m, members, ctx) < 0)
			goto out;
	}
	rc = emit_table(t, ctx);
out:
	gcli_table_free(t);
	return rc;
}

enum { PC_PEER, PC_KEY, PC_IPS, PC_EP, PC_HS, PC_RX, PC_TX, PC_N };

static int peer_cmp(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *nx = str(x, "name"), *ny = str(y, "name");
	/* named peers first, by name; then unknown keys */
	if (nx && !ny)
		return -1;
	if (!nx && ny)
		return 1;
	int c = (nx && ny) ? strcmp(nx, ny) : 0;
	return c ? c : strcmp(str(x, "wg_public_key"), str(y, "wg_public_key"));
}

int gcli_show_peers(const json_t *peers, const struct gcli_ctx *ctx)
{
	size_t n = json_array_size(peers);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	struct gcli_table *t = gcli_table_new(PC_N);
	int rc = -ENOMEM;
	if (!t || !v)
		goto out;
	for (size_t i = 0; i < n; i++)
		v[i] = json_array_get(peers, i);
	qsort(v, n, sizeof(*v), peer_cmp);
	/* the endpoint column says how the peer is reached: its address when
	 * direct, "via RELAY" when relayed (the WireGuard endpoint is then the
	 * relay's, not the peer's) */
	gcli_table_column(t, PC_PEER, "PEER", GCLI_COL_SHRINK, 8, 0);
	gcli_table_column(t, PC_KEY, "KEY", 0, 8, 2);
	gcli_table_column(t, PC_IPS, "ALLOWED IPS", GCLI_COL_SHRINK, 11, 1);
	gcli_table_column(t, PC_EP, "ENDPOINT", GCLI_COL_SHRINK, 15, 0);
	gcli_table_column(t, PC_HS, "HANDSHAKE", GCLI_COL_RIGHT, 9, 0);
	gcli_table_column(t, PC_RX, "RX", GCLI_COL_RIGHT, 8, 0);
	gcli_table_column(t, PC_TX, "TX", GCLI_COL_RIGHT, 8, 0);
	for (size_t i = 0; i < n; i++) {
		const json_t *p = v[i];
		int r = gcli_table_add_row(t);
		if (r < 0)
			goto out;
		size_t row = (size_t)r;
		char buf[512];
		const char *key = str(p, "wg_public_key");
		const char *name = str(p, "name");
		snprintf(buf, sizeof(buf), "%.8s", key);
		gcli_table_set(t, row, PC_PEER, name ? name : buf, name ? NULL : "2");
		gcli_table_set(t, row, PC_KEY, buf, NULL);
		list_cell(json_object_get(p, "allowed_ips"), true, buf, sizeof(buf));
		gcli_table_set(t, row, PC_IPS, buf, NULL);
		if (json_is_true(json_object_get(p, "relayed"))) {
			const char *via = str(p, "relay");
			snprintf(buf, sizeof(buf), "via %s", via ? via : "relay");
			gcli_table_set(t, row, PC_EP, buf, "33");
		} else {
			const char *ep = str(p, "endpoint");
			gcli_table_set(t, row, PC_EP, ep ? ep : "-", NULL);
		}
		long long hs = integer(p, "latest_handshake", 0);
		if (hs > 0) {
			char age[32];
			gcli_fmt_age((int64_t)ctx->now - hs, age, sizeof(age));
			snprintf(buf, sizeof(buf), "%s ago", age);
			/* older than WireGuard's 180 s session lifetime: stale */
			gcli_table_set(t, row, PC_HS, buf, ctx->now - hs > 180 ? "33" : NULL);
		} else {
			gcli_table_set(t, row, PC_HS, "never", "2");
		}
		gcli_table_set(
		    t, row, PC_RX,
		    gcli_fmt_bytes((uint64_t)integer(p, "rx_bytes", 0), buf, sizeof(buf)), NULL);
		gcli_table_set(
		    t, row, PC_TX,
		    gcli_fmt_bytes((uint64_t)integer(p, "tx_bytes", 0), buf, sizeof(buf)), NULL);
	}
	rc = emit_table(t, ctx);
out:
	free(v);
	gcli_table_free(t);
	return rc;
}

/* ---- status: "Key:   value" lines, values elided to the width ---- */

#define KEYW 12 /* "Endpoints:  " */

static void kv_line(const struct gcli_ctx *ctx, const char *key, const char *value, const char *sgr)
{
	char *clean = gcli_sanitize(value);
	if (!clean)
		return;
	char *shown =
	    ctx->width > KEYW ? gcli_elide(clean, ctx->width - KEYW, ctx->ellipsis) : strdup(clean);
	if (shown) {
		if (ctx->color && sgr)
			fprintf(ctx->out, "%-*s\033[%sm%s\033[0m\n", KEYW, key ? key : "", sgr,
				shown);
		else
			fprintf(ctx->out, "%-*s%s\n", KEYW, key ? key : "", shown);
	}
	free(shown);
	free(clean);
}

static void kv_list(const struct gcli_ctx *ctx, const char *key, const json_t *arr, bool host,
		    const json_t *members)
{
	size_t n = json_array_size(arr);
	if (n == 0) {
		kv_line(ctx, key, "-", NULL);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(arr, i);
		char buf[512], tmp[256];
		if (json_is_string(e)) {
			const char *s = json_string_value(e);
			snprintf(buf, sizeof(buf), "%s",
				 host ? gcli_fmt_host_prefix(s, tmp, sizeof(tmp)) : s);
		} else {
			/* endpoint object */
			const char *a = str(e, "address");
			bool observed = json_is_true(json_object_get(e, "observed"));
			const char *obs = str(e, "observer");
			const char *by = NULL;
			size_t j;
			json_t *m;
			if (obs)
				json_array_foreach(members, j, m) if (str(m, "id") &&
								      !strcmp(str(m, "id"), obs))
				    by = str(m, "name");
			if (observed && (by || obs))
				snprintf(buf, sizeof(buf), "%s (observed by %.*s)", a ? a : "?",
					 by ? 64 : 8, by ? by : obs);
			else if (observed)
				snprintf(buf, sizeof(buf), "%s (observed)", a ? a : "?");
			else
				snprintf(buf, sizeof(buf), "%s", a ? a : "?");
		}
		kv_line(ctx, i == 0 ? key : "", buf, NULL);
	}
}

/* "Rejected: 7 (unknown key id 5, bad key 2)" when any datagram was
 * refused (optional object gossip.rejected, reasons as the daemon names
 * them, '_' shown as ' ') */
static void rejected_line(const struct gcli_ctx *ctx, const json_t *rej)
{
	char buf[512], parts[400] = "";
	size_t off = 0;
	long long total = 0;
	const char *k;
	const json_t *v;
	json_object_foreach((json_t *)rej, k, v)
	{
		long long n = json_integer_value(v);
		if (n <= 0)
			continue;
		total += n;
		char name[64];
		snprintf(name, sizeof(name), "%s", k);
		for (char *c = name; *c; c++)
			if (*c == '_')
				*c = ' ';
		if (off < sizeof(parts))
			off += (size_t)snprintf(parts + off, sizeof(parts) - off, "%s%s %lld",
						off ? ", " : "", name, n);
	}
	if (total <= 0)
		return;
	snprintf(buf, sizeof(buf), "%lld (%s)", total, parts);
	kv_line(ctx, "Rejected:", buf, "33");
}

/* "Keys: 2 (primary), 1": the cluster key ids (optional object cluster_keys) */
static void cluster_keys_line(const struct gcli_ctx *ctx, const json_t *ck)
{
	const json_t *ids = json_object_get(ck, "ids");
	if (!json_is_array(ids))
		return;
	const json_t *p = json_object_get(ck, "primary");
	char buf[256] = "";
	size_t off = 0, i;
	const json_t *v;
	json_array_foreach(ids, i, v)
	{
		long long id = json_integer_value(v);
		bool prim = json_is_integer(p) && json_integer_value(p) == id;
		if (off < sizeof(buf))
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%lld%s",
						i ? ", " : "", id, prim ? " (primary)" : "");
	}
	kv_line(ctx, "Keys:", off ? buf : "none", NULL);
}

/* "require, 2 keys, 3 revocations; this node valid 29d" (optional object
 * authority, not shown in mode off) */
static void authority_line(const struct gcli_ctx *ctx, const json_t *au)
{
	const char *mode = str(au, "mode");
	if (!mode || !strcmp(mode, "off"))
		return;
	char buf[256], c[32];
	const json_t *self = json_object_get(au, "self");
	const char *st = cert_cell(self, ctx->now, c, sizeof(c));
	snprintf(buf, sizeof(buf), "%s, %zu key%s, %lld revocation%s; this node %s", mode,
		 json_array_size(json_object_get(au, "keys")),
		 json_array_size(json_object_get(au, "keys")) == 1 ? "" : "s",
		 integer(au, "revocations", 0), integer(au, "revocations", 0) == 1 ? "" : "s", st);
	kv_line(ctx, "Authority:", buf,
		cert_sgr(self) && strcmp(cert_sgr(self), "32") ? "33" : NULL);
}

/* "Exit node:" offering, and the exit in use among the wanted ones */
static void exit_line(const struct gcli_ctx *ctx, const json_t *x)
{
	const json_t *w = json_object_get(x, "wanted");
	bool offering = json_is_true(json_object_get(x, "offering"));
	if (!offering && !json_array_size(w))
		return;
	char buf[256];
	const char *u = str(x, "using");
	int n = snprintf(buf, sizeof(buf), "%s", offering ? "offered to the mesh" : "");
	if (json_array_size(w))
		snprintf(buf + n, sizeof(buf) - (size_t)n, "%susing %s (table %lld)",
			 offering ? "; " : "", u ? u : "none", integer(x, "table", 0));
	kv_line(ctx, "Exit node:", buf, json_array_size(w) && !u ? "33" : NULL);
}

int gcli_show_status(const json_t *s, const struct gcli_ctx *ctx)
{
	char buf[512], a[32];
	kv_line(ctx, "Name:", str(s, "name"), ctx->color ? "1" : NULL);
	kv_line(ctx, "Node ID:", str(s, "id"), NULL);
	if (str(s, "wg_public_key"))
		kv_line(ctx, "WG key:", str(s, "wg_public_key"), NULL);
	kv_list(ctx, "Addresses:", json_object_get(s, "overlay_addresses"), false, NULL);
	if (json_object_get(s, "endpoints"))
		kv_list(ctx, "Endpoints:", json_object_get(s, "endpoints"), false, NULL);
	if (json_array_size(json_object_get(s, "prefixes")))
		kv_list(ctx, "Routes:", json_object_get(s, "prefixes"), false, NULL);
	snprintf(buf, sizeof(buf), "%s, interface %s", str(s, "backend"), str(s, "interface"));
	kv_line(ctx, "Backend:", buf, NULL);
	long long wg = integer(s, "wg_port", -1), gp = integer(s, "gossip_port", -1);
	if (wg >= 0 || gp >= 0) {
		char w[24] = "-", g[24] = "-";
		if (wg >= 0)
			snprintf(w, sizeof(w), "%lld", wg);
		if (gp >= 0)
			snprintf(g, sizeof(g), "%lld", gp);
		snprintf(buf, sizeof(buf), "wireguard %s/udp, gossip %s/udp", w, g);
		kv_line(ctx, "Ports:", buf, NULL);
	}
	if (json_is_boolean(json_object_get(s, "behind_nat")))
		kv_line(ctx, "NAT:",
			json_is_true(json_object_get(s, "behind_nat")) ? "behind NAT" : "no", NULL);
	if (json_is_array(json_object_get(s, "dropped_claims"))) {
		size_t nd = json_array_size(json_object_get(s, "dropped_claims"));
		/* reads "Dropped: N claims" within the 12-column key */
		snprintf(buf, sizeof(buf), "%zu claim%s%s", nd, nd == 1 ? "" : "s",
			 nd ? " (status --json: dropped_claims)" : "");
		kv_line(ctx, "Dropped:", buf, nd ? "33" : NULL);
	}
	const json_t *c = json_object_get(s, "members");
	snprintf(buf, sizeof(buf), "%lld alive, %lld suspect, %lld dead, %lld left (%lld total)",
		 integer(c, "alive", 0), integer(c, "suspect", 0), integer(c, "dead", 0),
		 integer(c, "left", 0), integer(c, "total", 0));
	kv_line(ctx, "Members:", buf,
		(integer(c, "suspect", 0) || integer(c, "dead", 0)) ? "33" : NULL);
	bool conv = json_is_true(json_object_get(s, "converged"));
	long long last = integer(s, "last_sync", -1), pend = integer(s, "pending_updates", -1);
	size_t off = (size_t)snprintf(buf, sizeof(buf), "%s", conv ? "yes" : "no");
	if (last > 0) {
		gcli_fmt_age((int64_t)ctx->now - last, a, sizeof(a));
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, " (last sync %s ago", a);
	} else if (last == 0) {
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, " (no sync yet");
	}
	if (pend >= 0)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%lld pending update%s",
					last >= 0 ? ", " : " (", pend, pend == 1 ? "" : "s");
	if (last >= 0 || pend >= 0)
		snprintf(buf + off, sizeof(buf) - off, ")");
	kv_line(ctx, "Converged:", buf, conv ? "32" : "33");
	if (integer(s, "uptime", -1) >= 0) {
		gcli_fmt_age(integer(s, "uptime", 0), a, sizeof(a));
		long long gen = integer(s, "generation", -1);
		if (gen >= 0)
			snprintf(buf, sizeof(buf), "%s (generation %lld)", a, gen);
		else
			snprintf(buf, sizeof(buf), "%s", a);
		kv_line(ctx, "Uptime:", buf, NULL);
	}
	/* WireGuard paths (optional object "nat", only with a backend) */
	const json_t *nat = json_object_get(s, "nat");
	if (json_is_object(nat) && json_is_integer(json_object_get(nat, "direct"))) {
		snprintf(buf, sizeof(buf), "%lld direct, %lld trying, %lld relayed",
			 integer(nat, "direct", 0), integer(nat, "trying", 0),
			 integer(nat, "relayed", 0));
		kv_line(ctx, "Paths:", buf, NULL);
	}
	/* gossip traffic counters (optional object "gossip") */
	const json_t *g = json_object_get(s, "gossip");
	if (json_is_object(g) && json_is_integer(json_object_get(g, "datagrams_sent")) &&
	    json_is_integer(json_object_get(g, "datagrams_received"))) {
		char sent[32], recv[32];
		gcli_fmt_bytes((uint64_t)integer(g, "bytes_sent", 0), sent, sizeof(sent));
		gcli_fmt_bytes((uint64_t)integer(g, "bytes_received", 0), recv, sizeof(recv));
		snprintf(buf, sizeof(buf), "sent %lld (%s), received %lld (%s), %lld rejected",
			 integer(g, "datagrams_sent", 0), sent, integer(g, "datagrams_received", 0),
			 recv, integer(g, "datagrams_bad", 0));
		kv_line(ctx, "Datagrams:", buf, integer(g, "datagrams_bad", 0) ? "33" : NULL);
	}
	if (json_is_object(g))
		rejected_line(ctx, json_object_get(g, "rejected"));
	cluster_keys_line(ctx, json_object_get(s, "cluster_keys"));
	authority_line(ctx, json_object_get(s, "authority"));
	exit_line(ctx, json_object_get(s, "exit"));
	if (str(s, "version_string"))
		kv_line(ctx, "Version:", str(s, "version_string"), NULL);
	return 0;
}
