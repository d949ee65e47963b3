/*
 * cli/args.c - parsing the `gossamer` command line.
 *
 * What: turns argv into struct gcli_opts, or into one line saying what is
 * wrong (the caller prints it and exits 2).
 *
 * Why a hand-written parser instead of getopt_long: options may come before
 * or after the command (`gossamer --json members` and `gossamer members
 * --json` both work, as operators type both), and which options are valid
 * depends on the command.  getopt's global state and permutation rules make
 * both awkward to express and to unit-test.  Here a single table says, per
 * option, whether it takes a value and which commands accept it; parsing is
 * two passes over argv: the first finds the command word (skipping option
 * values, so `--socket members` is not mistaken for a command), the second
 * parses everything knowing the command.
 *
 * Trade-offs: no clustering of short flags (`-jw`); every short option has
 * a long form and scripts should use the long ones.  Everything that can be
 * checked without the daemon (addresses look like host:port, states and
 * label filters are well formed, numbers are numbers) is checked here, so a
 * typo gives exit code 2 and never reaches the daemon.
 */
#include "common/array.h"
#include "cli/args.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/fmt.h"
#include "common/duration.h"

static const char *const cmd_names[GCLI_CMD_COUNT] = {
    [GCLI_CMD_NONE] = "",
    [GCLI_CMD_HELP] = "help",
    [GCLI_CMD_VERSION] = "version",
    [GCLI_CMD_STATUS] = "status",
    [GCLI_CMD_MEMBERS] = "members",
    [GCLI_CMD_PEERS] = "peers",
    [GCLI_CMD_JOIN] = "join",
    [GCLI_CMD_LEAVE] = "leave",
    [GCLI_CMD_RELOAD] = "reload",
    [GCLI_CMD_WAIT] = "wait",
    [GCLI_CMD_KEYGEN] = "keygen",
    [GCLI_CMD_PUBKEY] = "pubkey",
    [GCLI_CMD_AUTHORITY] = "authority",
    [GCLI_CMD_CERT] = "cert",
    [GCLI_CMD_REVOKE] = "revoke",
    [GCLI_CMD_CLIENT] = "client",
    [GCLI_CMD_EXIT_NODE] = "exit-node",
};

static const char *const sub_names[GCLI_SUB_COUNT] = {
    [GCLI_SUB_NONE] = "",	  [GCLI_SUB_INIT] = "init",
    [GCLI_SUB_SIGN] = "sign",	  [GCLI_SUB_JOIN_KEY] = "join-key",
    [GCLI_SUB_REVOKE] = "revoke", [GCLI_SUB_ISSUE] = "issue",
    [GCLI_SUB_SHOW] = "show",
};

const char *gcli_sub_name(enum gcli_sub s)
{
	return (s >= 0 && s < GCLI_SUB_COUNT) ? sub_names[s] : "";
}

/* The subcommands of cmd (0 when it has none). */
static unsigned subs_of(enum gcli_cmd cmd)
{
	if (cmd == GCLI_CMD_AUTHORITY)
		return 1u << GCLI_SUB_INIT | 1u << GCLI_SUB_SIGN | 1u << GCLI_SUB_JOIN_KEY |
		       1u << GCLI_SUB_REVOKE;
	if (cmd == GCLI_CMD_CERT)
		return 1u << GCLI_SUB_ISSUE | 1u << GCLI_SUB_SHOW;
	return 0;
}

static enum gcli_sub sub_lookup(enum gcli_cmd cmd, const char *s)
{
	for (int i = GCLI_SUB_INIT; i < GCLI_SUB_COUNT; i++)
		if ((subs_of(cmd) & (1u << i)) && !strcmp(s, sub_names[i]))
			return (enum gcli_sub)i;
	return GCLI_SUB_NONE;
}

const char *gcli_cmd_name(enum gcli_cmd c)
{
	return (c >= 0 && c < GCLI_CMD_COUNT) ? cmd_names[c] : "";
}

static enum gcli_cmd cmd_lookup(const char *s)
{
	for (int c = GCLI_CMD_HELP; c < GCLI_CMD_COUNT; c++)
		if (!strcmp(s, cmd_names[c]))
			return (enum gcli_cmd)c;
	return GCLI_CMD_NONE;
}

#define B(c) (1u << (c))
#define ALL  0xffffffffu
#define DAEMON                                                                                     \
	(B(GCLI_CMD_STATUS) | B(GCLI_CMD_MEMBERS) | B(GCLI_CMD_PEERS) | B(GCLI_CMD_JOIN) |         \
	 B(GCLI_CMD_LEAVE) | B(GCLI_CMD_RELOAD) | B(GCLI_CMD_WAIT) | B(GCLI_CMD_VERSION) |         \
	 B(GCLI_CMD_REVOKE) | B(GCLI_CMD_EXIT_NODE))
#define AUTH	  B(GCLI_CMD_AUTHORITY)
#define CERT	  B(GCLI_CMD_CERT)
#define S(x)	  (1u << GCLI_SUB_##x)
#define CERT_SUBS (S(SIGN) | S(JOIN_KEY) | S(ISSUE)) /* commands that make a certificate */

enum opt_id {
	O_SOCKET,
	O_JSON,
	O_COLOR,
	O_NO_COLOR,
	O_HELP,
	O_VERSION,
	O_WIDE,
	O_STATE,
	O_LABEL,
	O_MEMBERS,
	O_CONVERGED,
	O_TIMEOUT,
	O_OUTPUT,
	O_FORCE,
	O_KEY_ID,
	O_AUTHORITY,
	O_NODE_KEY,
	O_NAME,
	O_OVERLAY,
	O_PREFIX,
	O_ROLE,
	O_VALID,
	O_MAX_LIFETIME,
	O_EPHEMERAL,
	O_CERT,
	O_UNTIL,
	O_JOIN_KEY,
	O_IDENTITY,
};

struct optdef {
	const char *lng;
	char shrt;
	bool arg;
	unsigned cmds; /* commands accepting it (NONE = before any command) */
	enum opt_id id;
	unsigned subs; /* with a subcommand: the ones accepting it (0 = all) */
};

static const struct optdef optdefs[] = {
    {"socket", 's', true, ALL, O_SOCKET, 0},
    {"json", 'j', false, DAEMON | B(GCLI_CMD_NONE) | CERT, O_JSON, S(SHOW)},
    {"color", 0, true, ALL, O_COLOR, 0},
    {"colour", 0, true, ALL, O_COLOR, 0},
    {"no-color", 0, false, ALL, O_NO_COLOR, 0},
    {"help", 'h', false, ALL, O_HELP, 0},
    {"version", 'V', false, ALL, O_VERSION, 0},
    {"wide", 'w', false, B(GCLI_CMD_MEMBERS) | B(GCLI_CMD_PEERS), O_WIDE, 0},
    {"state", 0, true, B(GCLI_CMD_MEMBERS), O_STATE, 0},
    {"label", 'l', true, B(GCLI_CMD_MEMBERS) | AUTH | CERT, O_LABEL, CERT_SUBS},
    {"members", 'n', true, B(GCLI_CMD_WAIT), O_MEMBERS, 0},
    {"converged", 'c', false, B(GCLI_CMD_WAIT), O_CONVERGED, 0},
    {"timeout", 't', true, B(GCLI_CMD_WAIT) | B(GCLI_CMD_JOIN), O_TIMEOUT, 0},
    {"output", 'o', true, B(GCLI_CMD_KEYGEN) | AUTH | CERT, O_OUTPUT, CERT_SUBS | S(REVOKE)},
    {"force", 'f', false, B(GCLI_CMD_KEYGEN), O_FORCE, 0},
    {"key-id", 0, true, B(GCLI_CMD_KEYGEN), O_KEY_ID, 0},
    {"authority", 0, true, AUTH, O_AUTHORITY, S(SIGN) | S(JOIN_KEY) | S(REVOKE)},
    {"node-key", 0, true, AUTH, O_NODE_KEY, S(SIGN)},
    {"name", 0, true, AUTH | CERT, O_NAME, S(SIGN) | S(ISSUE)},
    {"overlay", 0, true, AUTH | CERT, O_OVERLAY, S(SIGN) | S(ISSUE)},
    {"prefix", 0, true, AUTH | CERT, O_PREFIX, CERT_SUBS},
    {"role", 0, true, AUTH | CERT, O_ROLE, CERT_SUBS},
    {"valid", 0, true, AUTH | CERT, O_VALID, CERT_SUBS},
    {"max-lifetime", 0, true, AUTH, O_MAX_LIFETIME, S(JOIN_KEY)},
    {"ephemeral", 0, false, AUTH, O_EPHEMERAL, S(SIGN) | S(JOIN_KEY)},
    {"cert", 0, true, AUTH, O_CERT, S(REVOKE)},
    {"until", 0, true, AUTH, O_UNTIL, S(REVOKE)},
    {"join-key", 0, true, CERT, O_JOIN_KEY, S(ISSUE)},
    {"identity", 0, true, CERT, O_IDENTITY, S(ISSUE)},
};

#define NOPTS (sizeof(optdefs) / sizeof(optdefs[0]))

static const struct optdef *find_long(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (strlen(optdefs[i].lng) == len && !strncmp(optdefs[i].lng, name, len))
			return &optdefs[i];
	return NULL;
}

static const struct optdef *find_short(char c)
{
	for (size_t i = 0; i < NOPTS; i++)
		if (optdefs[i].shrt && optdefs[i].shrt == c)
			return &optdefs[i];
	return NULL;
}

unsigned gcli_state_bit(const char *name)
{
	if (!strcmp(name, "alive"))
		return GCLI_STATE_ALIVE;
	if (!strcmp(name, "suspect"))
		return GCLI_STATE_SUSPECT;
	if (!strcmp(name, "dead"))
		return GCLI_STATE_DEAD;
	if (!strcmp(name, "left"))
		return GCLI_STATE_LEFT;
	return 0;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "host", "host:port", "[v6]", "[v6]:port" (the daemon's default gossip
 * port applies without one); no blanks or controls; port 1..65535. */
static bool addr_ok(const char *a)
{
	size_t n = strlen(a);
	uint64_t port;
	if (n == 0 || n > 255)
		return false;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	if (a[0] == '[') {
		const char *close = strchr(a, ']');
		if (!close || close == a + 1)
			return false;
		if (close[1] == '\0')
			return true;
		return close[1] == ':' && gcli_parse_uint(close + 2, 1, 65535, &port);
	}
	const char *colon = strchr(a, ':');
	if (!colon)
		return true;
	if (colon == a || strchr(colon + 1, ':'))
		return false; /* empty host, or bare IPv6 (needs brackets) */
	return gcli_parse_uint(colon + 1, 1, 65535, &port);
}

/* A comma-separated list of names into a bit mask: bit(name) gives a
 * name's bit (0: unknown).  opt and expected make the messages, e.g.
 * "unknown state 'x' (expected alive, suspect, dead or left)". */
static int parse_name_mask(const char *v, unsigned (*bit)(const char *), const char *what,
			   const char *opt, const char *expected, unsigned *mask, char *err,
			   size_t errlen)
{
	char *dup = strdup(v), *save = NULL;
	if (!dup)
		return -ENOMEM;
	int rc = 0;
	bool any = false;
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned b = bit(tok);
		if (!b) {
			rc =
			    fail(err, errlen, "unknown %s '%s' (expected %s)", what, tok, expected);
			goto out;
		}
		*mask |= b;
		any = true;
	}
	if (!any)
		rc = fail(err, errlen, "%s needs a %s (%s)", opt, what, expected);
out:
	free(dup);
	return rc;
}

static int parse_states(const char *v, unsigned *mask, char *err, size_t errlen)
{
	return parse_name_mask(v, gcli_state_bit, "state", "--state",
			       "alive, suspect, dead or left", mask, err, errlen);
}

static int add_label(struct gcli_opts *o, const char *v, char *err, size_t errlen)
{
	const char *eq = strchr(v, '=');
	size_t klen = eq ? (size_t)(eq - v) : strlen(v);
	if (klen == 0)
		return fail(err, errlen, "--label needs KEY=VALUE or KEY, got '%s'", v);
	if (gsc_grow(&o->labels, &o->cap_labels, o->n_labels + 1, sizeof(*o->labels)) < 0)
		return -ENOMEM;
	struct gcli_label_filter *n = o->labels;
	char *key = strndup(v, klen);
	char *val = eq ? strdup(eq + 1) : NULL;
	if (!key || (eq && !val)) {
		free(key);
		free(val);
		return -ENOMEM;
	}
	n[o->n_labels].key = key;
	n[o->n_labels].value = val;
	o->n_labels++;
	return 0;
}

#define LIFETIME_MAX_S (100ull * 365 * 86400)

int gcli_parse_lifetime(const char *s, uint64_t *seconds)
{
	uint64_t v, ms;
	size_t n = s ? strlen(s) : 0;
	if (n >= 2 && s[n - 1] == 'd') {
		char digits[16];
		if (n - 1 >= sizeof(digits))
			return -EINVAL;
		memcpy(digits, s, n - 1);
		digits[n - 1] = '\0';
		if (!gcli_parse_uint(digits, 1, LIFETIME_MAX_S / 86400, &v))
			return -EINVAL;
		*seconds = v * 86400;
		return 0;
	}
	if (!s || gsc_parse_duration_ms(s, LIFETIME_MAX_S * 1000, &ms) || ms < 1000)
		return -EINVAL;
	*seconds = ms / 1000;
	return 0;
}

int gcli_parse_until(const char *s, uint64_t *value, bool *relative)
{
	struct tm tm;
	const char *end;
	if (!s || !*s)
		return -EINVAL;
	*relative = s[0] == '+';
	if (*relative)
		return gcli_parse_lifetime(s + 1, value);
	if (gcli_parse_uint(s, 1, UINT32_MAX * 16ull, value))
		return 0;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end && *end == 'T')
		end = strptime(end, "T%H:%M:%SZ", &tm);
	if (!end || *end || tm.tm_year < 70)
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t <= 0)
		return -EINVAL;
	*value = (uint64_t)t;
	return 0;
}

static int add_prefix(struct gcli_opts *o, const char *v, char *err, size_t errlen)
{
	struct gsm_prefix p;
	if (gsm_prefix_parse(v, &p))
		return fail(err, errlen,
			    "--prefix needs ADDRESS/LENGTH (e.g. 10.1.0.0/24), got '%s'", v);
	if (gsc_grow(&o->prefixes, &o->cap_prefixes, o->n_prefixes + 1, sizeof(*o->prefixes)) < 0)
		return -ENOMEM;
	o->prefixes[o->n_prefixes++] = p;
	return 0;
}

static unsigned role_bit(const char *name)
{
	if (!strcmp(name, "relay"))
		return GCLI_ROLE_RELAY;
	if (!strcmp(name, "exit"))
		return GCLI_ROLE_EXIT;
	if (!strcmp(name, "gateway"))
		return GCLI_ROLE_GATEWAY;
	return 0;
}

static int parse_roles(const char *v, uint32_t *roles, char *err, size_t errlen)
{
	unsigned m = *roles;
	int rc = parse_name_mask(v, role_bit, "role", "--role", "relay, exit or gateway", &m, err,
				 errlen);
	*roles = m;
	return rc;
}

static int parse_overlay(struct gcli_opts *o, const char *v, char *err, size_t errlen)
{
	if (gsm_prefix_parse(v, &o->overlay4) || o->overlay4.family != 4 || o->overlay4.len != 32)
		return fail(err, errlen, "--overlay needs an IPv4 address, got '%s'", v);
	o->has_overlay4 = true;
	return 0;
}

/* A member name as gossamerd accepts it (daemon/config_parse.c). */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > GSM_MAX_NAME)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

/* The options of authority / cert (values checked, not yet the policy). */
static int apply_cert_opt(struct gcli_opts *o, const struct optdef *d, const char *val, char *err,
			  size_t errlen)
{
	switch (d->id) {
	case O_AUTHORITY:
		o->authority_dir = val;
		return *val ? 0 : fail(err, errlen, "--authority needs a directory");
	case O_NODE_KEY:
		o->node_key = val;
		return *val ? 0 : fail(err, errlen, "--node-key needs a key or a key file");
	case O_NAME:
		if (!name_ok(val))
			return fail(
			    err, errlen,
			    "--name '%s' is not a valid member name (1-%d of A-Z a-z 0-9 . _ -)",
			    val, GSM_MAX_NAME);
		o->name = val;
		return 0;
	case O_OVERLAY:
		return parse_overlay(o, val, err, errlen);
	case O_PREFIX:
		return add_prefix(o, val, err, errlen);
	case O_ROLE:
		return parse_roles(val, &o->roles, err, errlen);
	case O_VALID:
	case O_MAX_LIFETIME: {
		uint64_t *dst = d->id == O_VALID ? &o->valid_s : &o->max_lifetime_s;
		if (gcli_parse_lifetime(val, dst))
			return fail(err, errlen,
				    "--%s needs a duration (e.g. 365d, 12h, 90m), got '%s'", d->lng,
				    val);
		*(d->id == O_VALID ? &o->has_valid : &o->has_max_lifetime) = true;
		return 0;
	}
	case O_EPHEMERAL:
		o->ephemeral = true;
		return 0;
	case O_CERT:
		o->cert_file = val;
		return *val ? 0 : fail(err, errlen, "--cert needs a file");
	case O_UNTIL:
		if (gcli_parse_until(val, &o->until_s, &o->until_relative))
			return fail(err, errlen,
				    "--until needs +DURATION, YYYY-MM-DD[THH:MM:SSZ] or Unix "
				    "seconds, got '%s'",
				    val);
		o->has_until = true;
		return 0;
	case O_JOIN_KEY:
		o->join_key = val;
		return *val ? 0 : fail(err, errlen, "--join-key needs a file");
	case O_IDENTITY:
		o->identity = val;
		return *val ? 0 : fail(err, errlen, "--identity needs a key file");
	default:
		return -EINVAL;
	}
}

static int apply(struct gcli_opts *o, const struct optdef *d, const char *val, char *err,
		 size_t errlen)
{
	uint64_t u;
	switch (d->id) {
	case O_SOCKET:
		if (!*val)
			return fail(err, errlen, "--socket needs a path");
		o->socket = val;
		return 0;
	case O_JSON:
		o->json = true;
		return 0;
	case O_COLOR:
		if (!strcmp(val, "auto"))
			o->color = GCLI_COLOR_AUTO;
		else if (!strcmp(val, "always"))
			o->color = GCLI_COLOR_ALWAYS;
		else if (!strcmp(val, "never"))
			o->color = GCLI_COLOR_NEVER;
		else
			return fail(err, errlen, "--color must be auto, always or never");
		return 0;
	case O_NO_COLOR:
		o->color = GCLI_COLOR_NEVER;
		return 0;
	case O_HELP: /* handled by the caller */
	case O_VERSION:
		return 0; /* handled while finding the command */
	case O_WIDE:
		o->wide = true;
		return 0;
	case O_STATE:
		return parse_states(val, &o->state_mask, err, errlen);
	case O_LABEL:
		return add_label(o, val, err, errlen);
	case O_MEMBERS:
		if (!gcli_parse_uint(val, 1, 1000000, &u))
			return fail(err, errlen,
				    "--members needs a count from 1 to 1000000, got '%s'", val);
		o->wait_members_set = true;
		o->wait_members = u;
		return 0;
	case O_CONVERGED:
		o->wait_converged = true;
		return 0;
	case O_TIMEOUT:
		if (!gcli_parse_duration(val, &o->timeout))
			return fail(err, errlen,
				    "--timeout needs seconds (e.g. 30, 2.5, 500ms, 2m), got '%s'",
				    val);
		return 0;
	case O_OUTPUT:
		if (!*val)
			return fail(err, errlen, "--output needs a file name");
		o->output = val;
		return 0;
	case O_FORCE:
		o->force = true;
		return 0;
	case O_KEY_ID:
		if (!gcli_parse_uint(val, 0, 65535, &u))
			return fail(err, errlen,
				    "--key-id needs a number from 0 to 65535, got '%s'", val);
		o->key_id = (uint16_t)u;
		return 0;
	default:
		return apply_cert_opt(o, d, val, err, errlen);
	}
}

static enum gcli_key_kind key_kind(const char *s)
{
	if (!strcmp(s, "identity"))
		return GCLI_KEY_IDENTITY;
	if (!strcmp(s, "wireguard") || !strcmp(s, "wg"))
		return GCLI_KEY_WIREGUARD;
	if (!strcmp(s, "cluster"))
		return GCLI_KEY_CLUSTER;
	return GCLI_KEY_NONE;
}

/* Positional arguments after the command word. */
static int positional(struct gcli_opts *o, const char *arg, size_t *npos, char *err, size_t errlen)
{
	size_t i = (*npos)++;
	switch (o->cmd) {
	case GCLI_CMD_HELP:
		if (i == 0) {
			enum gcli_cmd t = cmd_lookup(arg);
			if (t == GCLI_CMD_NONE)
				return fail(err, errlen, "no such command '%s'", arg);
			o->help_topic = t;
			return 0;
		}
		break;
	case GCLI_CMD_JOIN: {
		if (!addr_ok(arg))
			return fail(err, errlen,
				    "join: '%s' is not HOST[:PORT] (IPv6 as [ADDR]:PORT)", arg);
		if (gsc_grow(&o->addrs, &o->cap_addrs, o->n_addrs + 1, sizeof(*o->addrs)) < 0)
			return -ENOMEM;
		o->addrs[o->n_addrs++] = arg;
		return 0;
	}
	case GCLI_CMD_KEYGEN:
	case GCLI_CMD_PUBKEY:
		if (i == 0) {
			o->key_kind = key_kind(arg);
			if (o->key_kind == GCLI_KEY_NONE ||
			    (o->cmd == GCLI_CMD_PUBKEY && o->key_kind == GCLI_KEY_CLUSTER))
				return fail(err, errlen, "%s: unknown key kind '%s' (expected %s)",
					    gcli_cmd_name(o->cmd), arg,
					    o->cmd == GCLI_CMD_KEYGEN
						? "identity, wireguard or cluster"
						: "identity or wireguard");
			return 0;
		}
		if (i == 1 && o->cmd == GCLI_CMD_PUBKEY) {
			o->input = arg;
			return 0;
		}
		break;
	case GCLI_CMD_AUTHORITY:
	case GCLI_CMD_CERT:
		if (i == 0 && (o->sub == GCLI_SUB_INIT || o->sub == GCLI_SUB_REVOKE ||
			       o->sub == GCLI_SUB_SHOW)) {
			o->operand = arg;
			return 0;
		}
		return fail(err, errlen, "%s %s: unexpected argument '%s'", gcli_cmd_name(o->cmd),
			    gcli_sub_name(o->sub), arg);
	case GCLI_CMD_REVOKE:
	case GCLI_CMD_EXIT_NODE:
		if (i == 0) {
			o->operand = arg;
			return 0;
		}
		break;
	default:
		break;
	}
	return fail(err, errlen, "%s: unexpected argument '%s'", gcli_cmd_name(o->cmd), arg);
}

/* The index of the first operand at or after `from` (skipping options
 * and their values), or -1. */
/* The option an argument "-x..." / "--name[=value]" names (NULL if
 * unknown); *inline_val tells whether its value is in the same argument. */
static const struct optdef *option_of(const char *a, bool *inline_val)
{
	if (a[1] == '-') {
		const char *eq = strchr(a + 2, '=');
		*inline_val = eq != NULL;
		return find_long(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
	}
	*inline_val = a[2] != '\0';
	return find_short(a[1]);
}

static int next_operand(int argc, char **argv, int from)
{
	for (int i = from; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--"))
			return i + 1 < argc ? i + 1 : -1;
		if (a[0] != '-' || !a[1])
			return i;
		bool inline_val;
		const struct optdef *d = option_of(a, &inline_val);
		if (d && d->arg && !inline_val)
			i++;
	}
	return -1;
}

/* What authority / cert / revoke need, once everything is parsed. */
static int check_cert_cmd(struct gcli_opts *o, char *err, size_t errlen)
{
	const char *c = gcli_cmd_name(o->cmd), *sc = gcli_sub_name(o->sub);
	if (o->cmd == GCLI_CMD_REVOKE)
		return o->operand ? 0 : fail(err, errlen, "revoke: which revocation FILE?");
	if (o->sub == GCLI_SUB_NONE)
		return fail(err, errlen, "%s: give a subcommand (%s)", c,
			    o->cmd == GCLI_CMD_AUTHORITY ? "init, sign, join-key or revoke"
							 : "issue or show");
	for (size_t i = 0; i < o->n_labels; i++) {
		const struct gcli_label_filter *l = &o->labels[i];
		if (!l->value)
			return fail(err, errlen, "%s %s: --label needs KEY=VALUE, got '%s'", c, sc,
				    l->key);
		if (strlen(l->key) > GSM_MAX_LABEL_KEY || strlen(l->value) > GSM_MAX_LABEL_VALUE)
			return fail(
			    err, errlen,
			    "%s %s: label '%s' too long (key %d, value %d characters at most)", c,
			    sc, l->key, GSM_MAX_LABEL_KEY, GSM_MAX_LABEL_VALUE);
	}
	const char *missing = NULL;
	switch (o->sub) {
	case GCLI_SUB_INIT:
	case GCLI_SUB_SHOW:
		if (!o->operand)
			missing = o->sub == GCLI_SUB_INIT ? "DIR" : "FILE";
		break;
	case GCLI_SUB_SIGN:
		missing = !o->authority_dir ? "--authority DIR"
			  : !o->node_key    ? "--node-key PUB"
			  : !o->name	    ? "--name NAME"
					    : NULL;
		break;
	case GCLI_SUB_JOIN_KEY:
		missing = !o->authority_dir ? "--authority DIR" : NULL;
		break;
	case GCLI_SUB_REVOKE:
		missing = !o->authority_dir ? "--authority DIR" : NULL;
		if (!missing && !o->operand == !o->cert_file)
			return fail(err, errlen,
				    "authority revoke: give one of NAME, NODE-ID, SERIAL or --cert "
				    "FILE");
		break;
	case GCLI_SUB_ISSUE:
		missing = !o->join_key	 ? "--join-key FILE"
			  : !o->identity ? "--identity PATH"
			  : !o->name	 ? "--name NAME"
					 : NULL;
		break;
	default:
		break;
	}
	if (!missing && o->sub != GCLI_SUB_INIT && o->sub != GCLI_SUB_SHOW && !o->output)
		missing = "-o FILE";
	if (missing)
		return fail(err, errlen, "%s %s: missing %s", c, sc, missing);
	return 0;
}

int gcli_args_parse(int argc, char **argv, const char *env_socket, struct gcli_opts *o, char *err,
		    size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->timeout = -1; /* per-command default, below */
	o->key_id = 1;
	if (errlen)
		err[0] = '\0';

	/* pass 1: the command word (the first operand) */
	int cmd_at = -1;
	bool want_version = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			if (i + 1 < argc)
				cmd_at = i + 1;
			break;
		}
		if (a[0] == '-' && a[1]) {
			bool inline_val;
			const struct optdef *d = option_of(a, &inline_val);
			if (d && d->id == O_VERSION)
				want_version = true;
			if (d && d->arg && !inline_val)
				i++;
			continue;
		}
		cmd_at = i;
		break;
	}
	if (cmd_at >= 0) {
		o->cmd = cmd_lookup(argv[cmd_at]);
		if (o->cmd == GCLI_CMD_NONE)
			return fail(err, errlen, "unknown command '%s'", argv[cmd_at]);
	} else if (want_version) {
		o->cmd = GCLI_CMD_VERSION;
	}
	if (o->cmd == GCLI_CMD_CLIENT) /* its words are cli/client_cmd.c's */
		return gcli_client_args(argc, argv, cmd_at, env_socket, o, err, errlen);
	enum gcli_cmd cmd = o->cmd;
	int sub_at = subs_of(cmd) ? next_operand(argc, argv, cmd_at + 1) : -1;
	if (sub_at >= 0) {
		o->sub = sub_lookup(cmd, argv[sub_at]);
		if (o->sub == GCLI_SUB_NONE)
			return fail(err, errlen, "%s: unknown subcommand '%s'", gcli_cmd_name(cmd),
				    argv[sub_at]);
	}

	/* pass 2: everything, knowing the command */
	size_t npos = 0;
	bool only_operands = false, want_help = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc;
		if (i == cmd_at || i == sub_at)
			continue;
		if (!only_operands && !strcmp(a, "--")) {
			only_operands = true;
			continue;
		}
		if (only_operands || a[0] != '-' || !a[1]) {
			if (cmd == GCLI_CMD_NONE)
				return fail(err, errlen, "unexpected argument '%s'", a);
			if (want_help)
				continue;
			rc = positional(o, a, &npos, err, errlen);
			if (rc)
				return rc;
			continue;
		}
		const struct optdef *d;
		const char *val = NULL;
		char shown[64];
		if (a[1] == '-') {
			const char *name = a + 2;
			const char *eq = strchr(name, '=');
			size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
			d = find_long(name, nlen);
			snprintf(shown, sizeof(shown), "--%.*s", (int)(nlen > 40 ? 40 : nlen),
				 name);
			if (!d)
				return fail(err, errlen, "unknown option '%s'", shown);
			if (eq) {
				if (!d->arg)
					return fail(err, errlen, "option '%s' takes no value",
						    shown);
				val = eq + 1;
			}
		} else {
			d = find_short(a[1]);
			snprintf(shown, sizeof(shown), "-%c", a[1]);
			if (!d)
				return fail(err, errlen, "unknown option '%s'", shown);
			if (a[2]) {
				if (!d->arg)
					return fail(err, errlen,
						    "option '%s' takes no value (got '%s')", shown,
						    a);
				val = a + 2;
			}
		}
		if (d->arg && !val) {
			if (i + 1 >= argc)
				return fail(err, errlen, "option '%s' needs a value", shown);
			val = argv[++i];
		}
		if (!(d->cmds & B(cmd)) && d->id != O_HELP && cmd != GCLI_CMD_HELP) {
			if (cmd == GCLI_CMD_NONE)
				return fail(err, errlen, "option '%s' needs a command", shown);
			return fail(err, errlen, "option '%s' does not apply to '%s'", shown,
				    gcli_cmd_name(cmd));
		}
		if (o->sub != GCLI_SUB_NONE && d->subs && !(d->subs & (1u << o->sub)))
			return fail(err, errlen, "option '%s' does not apply to '%s %s'", shown,
				    gcli_cmd_name(cmd), gcli_sub_name(o->sub));
		if (d->id == O_HELP) {
			want_help = true;
			continue;
		}
		rc = apply(o, d, val, err, errlen);
		if (rc)
			return rc;
	}
	if (want_help) {
		if (o->cmd != GCLI_CMD_HELP)
			o->help_topic = o->cmd;
		o->cmd = GCLI_CMD_HELP;
	}

	if (o->socket == NULL)
		o->socket = (env_socket && *env_socket) ? env_socket : GCLI_DEFAULT_SOCKET;
	if (o->timeout < 0)
		o->timeout =
		    o->cmd == GCLI_CMD_JOIN ? GCLI_DEFAULT_JOIN_TIMEOUT : GCLI_DEFAULT_WAIT_TIMEOUT;
	if (o->cmd == GCLI_CMD_JOIN && o->timeout > 60)
		return fail(err, errlen, "join: --timeout is at most 60 seconds");

	switch (o->cmd) {
	case GCLI_CMD_NONE:
		return fail(err, errlen, "no command given");
	case GCLI_CMD_JOIN:
		if (o->n_addrs == 0)
			return fail(err, errlen, "join: give at least one HOST[:PORT]");
		break;
	case GCLI_CMD_WAIT:
		if (!o->wait_members_set && !o->wait_converged)
			return fail(err, errlen, "wait: give --members N and/or --converged");
		break;
	case GCLI_CMD_AUTHORITY:
	case GCLI_CMD_CERT:
	case GCLI_CMD_REVOKE:
		return check_cert_cmd(o, err, errlen);
	case GCLI_CMD_EXIT_NODE:
		if (!o->operand)
			return fail(err, errlen, "exit-node: give NAME[,NAME...] or off");
		break;
	case GCLI_CMD_KEYGEN:
	case GCLI_CMD_PUBKEY:
		if (o->key_kind == GCLI_KEY_NONE)
			return fail(err, errlen, "%s: which key? (%s)", gcli_cmd_name(o->cmd),
				    o->cmd == GCLI_CMD_KEYGEN ? "identity, wireguard or cluster"
							      : "identity or wireguard");
		break;
	default:
		break;
	}
	return 0;
}

void gcli_opts_release(struct gcli_opts *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n_labels; i++) {
		free((char *)o->labels[i].key);
		free((char *)o->labels[i].value);
	}
	free(o->labels);
	free(o->addrs);
	free(o->prefixes);
	o->labels = NULL;
	o->addrs = NULL;
	o->prefixes = NULL;
	o->n_labels = o->n_addrs = o->cap_labels = o->cap_addrs = 0;
	o->n_prefixes = o->cap_prefixes = 0;
}

static const char usage_main[] =
    "usage: gossamer [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Inspect and control the local gossamerd (WireGuard mesh daemon).\n"
    "\n"
    "Queries (add --json for machine-readable output):\n"
    "  status                 this node, member counts, convergence\n"
    "  members                the membership table (--state, --label filters)\n"
    "  peers                  the WireGuard peers: handshakes, traffic, relays\n"
    "  version                client (and daemon) version\n"
    "Actions:\n"
    "  join HOST[:PORT]...    contact seeds and merge with their cluster\n"
    "  leave                  leave the mesh gracefully; the daemon exits\n"
    "  reload                 re-read the daemon's configuration file\n"
    "  wait                   block until --members N are alive / --converged\n"
    "  revoke FILE            hand a revocation (from `authority revoke`) to the daemon\n"
    "  client add|list|remove plain WireGuard clients of this gateway (wg-quick config)\n"
    "  exit-node NAMES|off    send internet traffic through an exit node (or stop)\n"
    "Offline:\n"
    "  keygen KIND [-o FILE]  new key: identity, wireguard or cluster\n"
    "  pubkey KIND [FILE]     public half of an identity or wireguard key\n"
    "  authority SUBCOMMAND   the offline authority: init, sign, join-key, revoke\n"
    "  cert issue|show        issue a certificate with a join key; decode a file\n"
    "  help [COMMAND]         this text, or a command's options\n"
    "\n"
    "Options (before or after the command):\n"
    "  -s, --socket PATH      control socket (env GOSSAMER_SOCKET,\n"
    "                         default " GCLI_DEFAULT_SOCKET ")\n"
    "  -j, --json             JSON on stdout (stable schema, see gossamer(8))\n"
    "      --color WHEN       auto (default), always or never; NO_COLOR disables\n"
    "      --no-color         same as --color=never\n"
    "  -h, --help             help\n"
    "  -V, --version          same as `gossamer version`\n"
    "\n"
    "Exit status: 0 success, 1 operational error (daemon unreachable, request\n"
    "refused, timeout), 2 usage error.\n";

static const char usage_status[] =
    "usage: gossamer status [--json]\n"
    "\n"
    "Show this node (name, id, keys, addresses, endpoints, backend, interface,\n"
    "ports), member counts by state and whether the local view has converged.\n";

static const char usage_members[] =
    "usage: gossamer members [--state STATE[,STATE]] [--label KEY[=VALUE]]... [--wide] [--json]\n"
    "\n"
    "List the members this node knows, itself marked with '*'.\n"
    "  --state LIST       only these states: alive, suspect, dead, left\n"
    "  -l, --label K=V    only members with label K equal to V (K alone: label set);\n"
    "                     repeat to require several\n"
    "  -w, --wide         do not truncate the table to the terminal width\n"
    "  -j, --json         JSON array of member objects\n";

static const char usage_peers[] =
    "usage: gossamer peers [--wide] [--json]\n"
    "\n"
    "The WireGuard view: one line per peer with endpoint, allowed IPs, latest\n"
    "handshake, traffic, and whether it is reached directly or through a relay.\n";

static const char usage_join[] =
    "usage: gossamer join [--timeout SECONDS] [--json] HOST[:PORT]...\n"
    "\n"
    "Ask the daemon to contact these gossip addresses and merge with their\n"
    "cluster.  IPv6 as [ADDR]:PORT; without a port the daemon's gossip port\n"
    "applies.  Waits until a seed answers and fails (exit 1) if none does.\n"
    "  -t, --timeout S    how long to wait for an answer (default 5, at most 60;\n"
    "                     0 = only send the join, do not wait)\n";

static const char usage_leave[] =
    "usage: gossamer leave [--json]\n"
    "\n"
    "Gossip a signed leave intent, so the other members drop this node at once\n"
    "instead of suspecting it; the daemon then exits.\n";

static const char usage_reload[] =
    "usage: gossamer reload [--json]\n"
    "\n"
    "Make the daemon re-read and apply its configuration file.  A bad file is\n"
    "refused (exit 1, the error on stderr) and the running configuration kept.\n";

static const char usage_wait[] =
    "usage: gossamer wait [--members N] [--converged] [--timeout SECONDS] [--json]\n"
    "\n"
    "Block until the condition holds, polling the daemon every 150 ms (and\n"
    "waiting for it to come up).  Exit 0 as soon as it holds, 1 on timeout.\n"
    "  -n, --members N    at least N members alive (this node included)\n"
    "  -c, --converged    the local view has converged\n"
    "  -t, --timeout S    give up after S seconds (default 60; 0 = never);\n"
    "                     also 500ms, 2m, 1h\n"
    "  -j, --json         print the final status object\n";

static const char usage_keygen[] =
    "usage: gossamer keygen identity|wireguard|cluster [-o FILE] [--force] [--key-id N]\n"
    "\n"
    "Generate a key offline, in the daemon's file format.  Without -o the secret\n"
    "goes to stdout.  With -o it is written atomically with mode 0600 (never\n"
    "over an existing file unless --force) and the public half is printed.\n"
    "  identity    node identity: Ed25519 seed, base64 (prints the node id)\n"
    "  wireguard   WireGuard private key, base64 (like `wg genkey`)\n"
    "  cluster     cluster key ring with one key \"ID BASE64\" (--key-id, default 1)\n";

static const char usage_pubkey[] =
    "usage: gossamer pubkey identity|wireguard [FILE]\n"
    "\n"
    "Read a private key (FILE, or stdin if omitted or '-') and print its public\n"
    "half: the node id (64 hex digits) of an identity, or the base64 WireGuard\n"
    "public key (like `wg pubkey`).\n";

static const char usage_version[] =
    "usage: gossamer version [--json]\n"
    "\n"
    "Print the client's version and, if the daemon answers, the daemon's.\n";

static const char usage_help[] = "usage: gossamer help [COMMAND]\n";

static const char usage_authority[] =
    "usage: gossamer authority init DIR\n"
    "       gossamer authority sign --authority DIR --node-key PUB --name NAME [--overlay IPV4]\n"
    "                [--prefix P]... [--role ROLE]... [--label K=V]... [--valid DUR]\n"
    "                [--ephemeral] -o FILE\n"
    "       gossamer authority join-key --authority DIR [--valid DUR] [--max-lifetime DUR]\n"
    "                [--prefix POOL]... [--label K=V|K=*]... [--role ROLE]... [--ephemeral]\n"
    "                -o FILE\n"
    "       gossamer authority revoke --authority DIR (NAME|NODE-ID|SERIAL | --cert FILE)\n"
    "                [--until TIME] -o FILE\n"
    "\n"
    "The certificate authority of authority mode, kept offline (see docs/authority.md).\n"
    "  init DIR           new authority key pair in DIR: authority.key (secret, 0600),\n"
    "                     authority.pub and the issuance log `issued`; prints the\n"
    "                     public key for the nodes' `authority =`\n"
    "  sign               node certificate for a node's identity (PUB: its public key,\n"
    "                     base64 or 64 hex digits, or its identity key file)\n"
    "  join-key           a join key (0600): lets nodes issue their own certificates\n"
    "                     within its limits (`cert issue`, gossamerd --join-key)\n"
    "  revoke             revocation of every certificate of a NAME or NODE-ID (or a\n"
    "                     join key's public key), or of one SERIAL (16 hex digits) or\n"
    "                     --cert FILE; hand it to any node with `gossamer revoke FILE`\n"
    "  --authority DIR    the authority directory made by `authority init`\n"
    "  --node-key PUB     (sign) the node's identity public key or key file\n"
    "  --name NAME        (sign) the member name the certificate is for\n"
    "  --overlay IPV4     (sign) pin the node's IPv4 overlay address\n"
    "  --prefix P         a prefix the node may route (join-key: the pool that issued\n"
    "                     prefixes must lie in); 0.0.0.0/0 and ::/0 need --role exit\n"
    "  --role ROLE        relay, exit or gateway (join-key: relay or gateway)\n"
    "  -l, --label K=V    a label the node may carry (join-key: K=* allows any value)\n"
    "  --valid DUR        lifetime: 365d for sign, 7d for join-key (also 12h, 90m)\n"
    "  --max-lifetime DUR (join-key) longest certificate it may issue (default 30d)\n"
    "  --ephemeral        forget the node soon after it dies (join-key: required of\n"
    "                     every certificate it issues)\n"
    "  --cert FILE        (revoke) the certificate to revoke, by its serial\n"
    "  --until TIME       (revoke) keep the revocation until TIME: +DUR, YYYY-MM-DD,\n"
    "                     YYYY-MM-DDTHH:MM:SSZ or Unix seconds (default: the latest\n"
    "                     expiry in the issuance log; required without a log entry)\n"
    "  -o, --output FILE  where to write the certificate, join key or revocation\n";

static const char usage_cert[] =
    "usage: gossamer cert issue --join-key FILE --identity PATH --name NAME [--overlay IPV4]\n"
    "                [--prefix P]... [--label K=V]... [--role ROLE]... [--valid DUR] -o FILE\n"
    "       gossamer cert show FILE [--json]\n"
    "\n"
    "  issue              a node certificate signed with a join key, written with the\n"
    "                     join key's certificate as a chain (the node's `certificate`\n"
    "                     file); refused (exit 1, with the reason) outside the join\n"
    "                     key's limits\n"
    "  show               decode the certificates, revocations or join key in FILE and\n"
    "                     check their signatures (never prints a secret)\n"
    "  --join-key FILE    the join key file (`authority join-key`)\n"
    "  --identity PATH    the node's identity key file (or its public key)\n"
    "  --name NAME        the node's member name\n"
    "  --overlay IPV4     pin the node's IPv4 overlay address\n"
    "  --prefix P         a prefix the node may route (inside the join key's pool)\n"
    "  --role ROLE        relay or gateway, if the join key grants it\n"
    "  -l, --label K=V    a label the node may carry\n"
    "  --valid DUR        lifetime (default: the join key's maximum)\n"
    "  -o, --output FILE  where to write the chain\n"
    "  -j, --json         (show) one JSON object: certificates, revocations, join_key\n";

static const char usage_revoke[] =
    "usage: gossamer revoke FILE [--json]\n"
    "\n"
    "Hand the revocations in FILE (made by `gossamer authority revoke`) to the daemon,\n"
    "which checks them against its authorities and gossips them to every member.\n"
    "Prints `revocation accepted (new)` or `already known` for each; a revocation\n"
    "the daemon refuses (bad signature or unknown authority, expired) exits 1.\n";

static const char usage_exit_node[] =
    "usage: gossamer exit-node NAME[,NAME...]|off [--json]\n"
    "\n"
    "Send this node's internet traffic through the first listed member that is\n"
    "alive, a WireGuard peer and an exit node (`exit = yes`); the next one when it\n"
    "fails, and back when it returns.  `off` stops it and restores the rules,\n"
    "routes, fwmark and allowed IPs as they were.  Overrides the exit_node key\n"
    "until the next reload or restart.  Prints the exit node in use.\n";

const char *gcli_usage(enum gcli_cmd c)
{
	switch (c) {
	case GCLI_CMD_STATUS:
		return usage_status;
	case GCLI_CMD_MEMBERS:
		return usage_members;
	case GCLI_CMD_PEERS:
		return usage_peers;
	case GCLI_CMD_JOIN:
		return usage_join;
	case GCLI_CMD_LEAVE:
		return usage_leave;
	case GCLI_CMD_RELOAD:
		return usage_reload;
	case GCLI_CMD_WAIT:
		return usage_wait;
	case GCLI_CMD_KEYGEN:
		return usage_keygen;
	case GCLI_CMD_PUBKEY:
		return usage_pubkey;
	case GCLI_CMD_VERSION:
		return usage_version;
	case GCLI_CMD_HELP:
		return usage_help;
	case GCLI_CMD_AUTHORITY:
		return usage_authority;
	case GCLI_CMD_CERT:
		return usage_cert;
	case GCLI_CMD_REVOKE:
		return usage_revoke;
	case GCLI_CMD_CLIENT:
		return gcli_usage_client;
	case GCLI_CMD_EXIT_NODE:
		return usage_exit_node;
	default:
		return usage_main;
	}
}
