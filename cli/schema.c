/*
 * cli/schema.c - checking daemon results against the documented schema.
 *
 * What: before `gossamer` prints anything from the daemon, the fields that
 * docs/cli.md promises are checked for presence and type.  --json output is
 * the daemon's objects passed through (so fields the daemon adds later reach
 * scripts without a CLI upgrade), but only once they satisfy the contract.
 *
 * Why: a script doing `gossamer members --json | jq '.[].id'` must never
 * get a half-formed object: a daemon that is too old, or broken, makes the
 * CLI fail loudly (exit 1, one line naming the missing field) instead of
 * emitting data the script would misread.  The same checks guard the human
 * views, so the formatting code can rely on types without re-checking.
 *
 * Trade-offs: only required fields are enforced; optional ones (e.g.
 * state_changed, relay) are type-checked where the views use them and
 * shown as "-" when absent.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

__attribute__((format(printf, 3, 4))) static int bad(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

enum ft {
	T_STR,
	T_STR_NULL,
	T_INT,
	T_INT_NULL,
	T_BOOL,
	T_OBJ,
	T_STR_ARRAY,
	T_OBJ_ARRAY,
	T_STR_MAP
};

struct field {
	const char *name;
	enum ft type;
};

static const char *type_name(enum ft t)
{
	switch (t) {
	case T_STR:
		return "a string";
	case T_STR_NULL:
		return "a string or null";
	case T_INT:
		return "an integer";
	case T_INT_NULL:
		return "an integer or null";
	case T_BOOL:
		return "a boolean";
	case T_OBJ:
		return "an object";
	case T_STR_ARRAY:
		return "an array of strings";
	case T_OBJ_ARRAY:
		return "an array of objects";
	case T_STR_MAP:
		return "an object of strings";
	}
	return "?";
}

static bool type_ok(const json_t *v, enum ft t)
{
	size_t i;
	const char *k;
	json_t *e;
	switch (t) {
	case T_STR:
		return json_is_string(v);
	case T_STR_NULL:
		return json_is_string(v) || json_is_null(v);
	case T_INT:
		return json_is_integer(v);
	case T_INT_NULL:
		return json_is_integer(v) || json_is_null(v);
	case T_BOOL:
		return json_is_boolean(v);
	case T_OBJ:
		return json_is_object(v);
	case T_STR_ARRAY:
		if (!json_is_array(v))
			return false;
		json_array_foreach(v, i, e) if (!json_is_string(e)) return false;
		return true;
	case T_OBJ_ARRAY:
		if (!json_is_array(v))
			return false;
		json_array_foreach(v, i, e) if (!json_is_object(e)) return false;
		return true;
	case T_STR_MAP:
		if (!json_is_object(v))
			return false;
		json_object_foreach((json_t *)v, k, e) if (!json_is_string(e)) return false;
		return true;
	}
	return false;
}

static int check_fields(const char *what, const json_t *o, const struct field *f, size_t n,
			char *why, size_t cap)
{
	if (!json_is_object(o))
		return bad(why, cap, "%s is not an object", what);
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_object_get(o, f[i].name);
		if (!v)
			return bad(why, cap, "%s lacks field '%s'", what, f[i].name);
		if (!type_ok(v, f[i].type))
			return bad(why, cap, "%s field '%s' is not %s", what, f[i].name,
				   type_name(f[i].type));
	}
	return 0;
}

/* optional field: absent is fine, present must have the type */
static int check_optional(const char *what, const json_t *o, const char *name, enum ft t, char *why,
			  size_t cap)
{
	const json_t *v = json_object_get(o, name);
	if (v && !type_ok(v, t))
		return bad(why, cap, "%s field '%s' is not %s", what, name, type_name(t));
	return 0;
}

static bool is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

static bool is_state(const char *s)
{
	return gcli_state_bit(s) != 0;
}

/* A certificate object (authority mode): member.cert, status.authority.self. */
static int check_cert(const char *what, const json_t *c, bool member, char *why, size_t cap)
{
	static const struct field f[] = {
	    {"status", T_STR},	    {"serial", T_STR_NULL},   {"expires", T_INT_NULL},
	    {"roles", T_STR_ARRAY}, {"via_join_key", T_BOOL},
	};
	return check_fields(what, c, f, sizeof(f) / sizeof(f[0]) - (member ? 0 : 1), why, cap);
}

int gcli_check_member(const json_t *m, char *why, size_t cap)
{
	static const struct field f[] = {
	    {"name", T_STR},
	    {"id", T_STR},
	    {"wg_public_key", T_STR},
	    {"state", T_STR},
	    {"self", T_BOOL},
	    {"overlay_addresses", T_STR_ARRAY},
	    {"endpoints", T_OBJ_ARRAY},
	    {"prefixes", T_STR_ARRAY},
	    {"labels", T_STR_MAP},
	    {"generation", T_INT},
	    {"version", T_INT},
	};
	int rc = check_fields("member", m, f, sizeof(f) / sizeof(f[0]), why, cap);
	if (rc)
		return rc;
	if (!is_hex64(json_string_value(json_object_get(m, "id"))))
		return bad(why, cap, "member field 'id' is not 64 hex digits");
	if (!is_state(json_string_value(json_object_get(m, "state"))))
		return bad(why, cap, "member field 'state' is not alive, suspect, dead or left");
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(m, "endpoints"), i, e)
	{
		if (!json_is_string(json_object_get(e, "address")))
			return bad(why, cap, "member endpoint lacks string field 'address'");
	}
	if ((rc = check_optional("member", m, "state_changed", T_INT, why, cap)) ||
	    (rc = check_optional("member", m, "relayed_via", T_STR_NULL, why, cap)) ||
	    (rc = check_optional("member", m, "reachable", T_BOOL, why, cap)))
		return rc;
	if (json_object_get(m, "cert"))
		return check_cert("member.cert", json_object_get(m, "cert"), true, why, cap);
	return 0;
}

/* Optional status.gossip.rejected (object of integer counts by reason,
 * reasons open-ended) and status.cluster_keys ({"ids": [int], "primary":
 * int or null}). */
static int check_status_keys(const json_t *s, char *why, size_t cap)
{
	const json_t *rej = json_object_get(json_object_get(s, "gossip"), "rejected");
	const char *k;
	const json_t *v;
	if (rej && !json_is_object(rej))
		return bad(why, cap, "status field 'gossip.rejected' is not an object");
	json_object_foreach((json_t *)rej, k, v)
	{
		if (!json_is_integer(v))
			return bad(why, cap, "status field 'gossip.rejected' holds a non-integer");
	}
	const json_t *au = json_object_get(s, "authority");
	if (au) {
		static const struct field f[] = {
		    {"mode", T_STR},	      {"keys", T_STR_ARRAY},	     {"revocations", T_INT},
		    {"certs_refused", T_INT}, {"claims_uncertified", T_INT}, {"self", T_OBJ},
		};
		int rc =
		    check_fields("status.authority", au, f, sizeof(f) / sizeof(f[0]), why, cap);
		if (rc || (rc = check_cert("status.authority.self", json_object_get(au, "self"),
					   false, why, cap)))
			return rc;
	}
	const json_t *ck = json_object_get(s, "cluster_keys");
	if (!ck)
		return 0;
	const json_t *ids = json_object_get(ck, "ids");
	const json_t *p = json_object_get(ck, "primary");
	if (!json_is_array(ids) || !(json_is_integer(p) || json_is_null(p)))
		return bad(why, cap, "status field 'cluster_keys' lacks 'ids' or 'primary'");
	size_t i;
	json_array_foreach(ids, i, v)
	{
		if (!json_is_integer(v))
			return bad(why, cap, "status field 'cluster_keys.ids' holds a non-integer");
	}
	return 0;
}

int gcli_check_status(const json_t *s, char *why, size_t cap)
{
	static const struct field f[] = {
	    {"name", T_STR},	  {"id", T_STR},      {"backend", T_STR},
	    {"interface", T_STR}, {"members", T_OBJ}, {"converged", T_BOOL},
	};
	static const struct field counts[] = {
	    {"alive", T_INT}, {"suspect", T_INT}, {"dead", T_INT},
	    {"left", T_INT},  {"total", T_INT},
	};
	int rc = check_fields("status", s, f, sizeof(f) / sizeof(f[0]), why, cap);
	if (rc)
		return rc;
	rc = check_fields("status.members", json_object_get(s, "members"), counts,
			  sizeof(counts) / sizeof(counts[0]), why, cap);
	if (rc)
		return rc;
	static const struct {
		const char *n;
		enum ft t;
	} opt[] = {
	    {"wg_public_key", T_STR},
	    {"version_string", T_STR},
	    {"wg_port", T_INT},
	    {"gossip_port", T_INT},
	    {"overlay_addresses", T_STR_ARRAY},
	    {"endpoints", T_OBJ_ARRAY},
	    {"prefixes", T_STR_ARRAY},
	    {"pending_updates", T_INT},
	    {"last_sync", T_INT},
	    {"generation", T_INT},
	    {"uptime", T_INT},
	    {"behind_nat", T_BOOL},
	    {"dropped_claims", T_OBJ_ARRAY},
	    {"gossip", T_OBJ},
	    {"cluster_keys", T_OBJ},
	    {"authority", T_OBJ},
	    {"exit", T_OBJ},
	};
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i++)
		if ((rc = check_optional("status", s, opt[i].n, opt[i].t, why, cap)))
			return rc;
	static const struct field drop[] = {
	    {"member", T_STR}, {"id", T_STR},	       {"prefix", T_STR},
	    {"reason", T_STR}, {"winner", T_STR_NULL},
	};
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(s, "dropped_claims"), i, e)
	{
		rc = check_fields("status.dropped_claims", e, drop, sizeof(drop) / sizeof(drop[0]),
				  why, cap);
		if (rc)
			return rc;
	}
	return check_status_keys(s, why, cap);
}

int gcli_check_peer(const json_t *p, char *why, size_t cap)
{
	static const struct field f[] = {
	    {"wg_public_key", T_STR},	  {"name", T_STR_NULL},	       {"endpoint", T_STR_NULL},
	    {"allowed_ips", T_STR_ARRAY}, {"latest_handshake", T_INT}, {"rx_bytes", T_INT},
	    {"tx_bytes", T_INT},	  {"relayed", T_BOOL},
	};
	int rc = check_fields("peer", p, f, sizeof(f) / sizeof(f[0]), why, cap);
	if (rc)
		return rc;
	if ((rc = check_optional("peer", p, "relay", T_STR_NULL, why, cap)) ||
	    (rc = check_optional("peer", p, "id", T_STR_NULL, why, cap)))
		return rc;
	return 0;
}

int gcli_check_array(const json_t *a, int (*check)(const json_t *, char *, size_t), char *why,
		     size_t cap)
{
	if (!json_is_array(a))
		return bad(why, cap, "result is not an array");
	size_t i;
	json_t *e;
	json_array_foreach(a, i, e)
	{
		int rc = check(e, why, cap);
		if (rc) {
			size_t l = strlen(why);
			snprintf(why + l, cap > l ? cap - l : 0, " (element %zu)", i);
			return rc;
		}
	}
	return 0;
}
