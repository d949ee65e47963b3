/*
 * cli/args.h - the `gossamer` command line, parsed into a plain struct.
 */
#ifndef GOSSAMER_CLI_ARGS_H
#define GOSSAMER_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/wire.h"

#define GCLI_DEFAULT_SOCKET	  "/run/gossamer/gossamerd.sock"
#define GCLI_DEFAULT_WAIT_TIMEOUT 60.0 /* seconds; --timeout 0 waits forever */
#define GCLI_DEFAULT_JOIN_TIMEOUT 5.0  /* seconds for a seed to answer a join */

/* exit codes */
#define GCLI_EXIT_OK	0
#define GCLI_EXIT_FAIL	1 /* operational: daemon unreachable, request refused, timeout */
#define GCLI_EXIT_USAGE 2

enum gcli_cmd {
	GCLI_CMD_NONE = 0,
	GCLI_CMD_HELP,
	GCLI_CMD_VERSION,
	GCLI_CMD_STATUS,
	GCLI_CMD_MEMBERS,
	GCLI_CMD_PEERS,
	GCLI_CMD_JOIN,
	GCLI_CMD_LEAVE,
	GCLI_CMD_RELOAD,
	GCLI_CMD_WAIT,
	GCLI_CMD_KEYGEN,
	GCLI_CMD_PUBKEY,
	GCLI_CMD_AUTHORITY,
	GCLI_CMD_CERT,
	GCLI_CMD_REVOKE,
	GCLI_CMD_CLIENT,
	GCLI_CMD_EXIT_NODE,
	GCLI_CMD_COUNT,
};

/* the second word of `authority` and `cert` */
enum gcli_sub {
	GCLI_SUB_NONE = 0,
	GCLI_SUB_INIT,	   /* authority init DIR */
	GCLI_SUB_SIGN,	   /* authority sign */
	GCLI_SUB_JOIN_KEY, /* authority join-key */
	GCLI_SUB_REVOKE,   /* authority revoke TARGET */
	GCLI_SUB_ISSUE,	   /* cert issue */
	GCLI_SUB_SHOW,	   /* cert show FILE */
	GCLI_SUB_COUNT,
};

/* certificate roles as the CLI spells them (GSM_ROLE_* in gossip/cert.h) */
#define GCLI_ROLE_RELAY	  0x1u
#define GCLI_ROLE_EXIT	  0x2u
#define GCLI_ROLE_GATEWAY 0x4u

enum gcli_color { GCLI_COLOR_AUTO = 0, GCLI_COLOR_ALWAYS, GCLI_COLOR_NEVER };

enum gcli_key_kind { GCLI_KEY_NONE = 0, GCLI_KEY_IDENTITY, GCLI_KEY_WIREGUARD, GCLI_KEY_CLUSTER };

/* member state bits for --state */
#define GCLI_STATE_ALIVE   0x1u
#define GCLI_STATE_SUSPECT 0x2u
#define GCLI_STATE_DEAD	   0x4u
#define GCLI_STATE_LEFT	   0x8u

struct gcli_label_filter {
	const char *key;   /* points into argv (or owned copy) */
	const char *value; /* NULL: only require the key to exist */
};

struct gcli_opts {
	enum gcli_cmd cmd;
	const char *socket; /* --socket, else $GOSSAMER_SOCKET, else default */
	bool json;
	bool wide; /* tables: no width limit */
	enum gcli_color color;
	enum gcli_cmd help_topic; /* `help CMD`, `CMD --help` */

	/* members */
	unsigned state_mask; /* 0 = all */
	size_t n_labels, cap_labels;
	struct gcli_label_filter *labels;

	/* join */
	size_t n_addrs, cap_addrs;
	const char **addrs;

	/* wait */
	bool wait_members_set;
	uint64_t wait_members;
	bool wait_converged;
	double timeout; /* wait: seconds, 0 = forever; join: seconds for an answer, 0 = none */

	/* keygen / pubkey */
	enum gcli_key_kind key_kind;
	const char *output; /* keygen -o */
	const char *input;  /* pubkey FILE (NULL or "-" = stdin) */
	bool force;
	uint16_t key_id;

	/* authority / cert / revoke (labels: the list above, KEY=VALUE each) */
	enum gcli_sub sub;
	const char *operand;	   /* init DIR, revoke TARGET, show FILE, revoke FILE,
				    * exit-node NAME[,NAME...]|off */
	const char *authority_dir; /* --authority */
	const char *node_key;	   /* --node-key: public key or identity key file */
	const char *name;	   /* --name */
	bool has_overlay4;
	struct gsm_prefix overlay4; /* --overlay: IPv4 address (/32) */
	size_t n_prefixes, cap_prefixes;
	struct gsm_prefix *prefixes; /* --prefix, as given */
	uint32_t roles;		     /* --role: GCLI_ROLE_* */
	bool has_valid;
	uint64_t valid_s; /* --valid */
	bool has_max_lifetime;
	uint64_t max_lifetime_s; /* --max-lifetime */
	bool ephemeral;
	const char *cert_file; /* authority revoke --cert */
	bool has_until;
	bool until_relative;  /* --until +DUR: until_s is seconds from now */
	uint64_t until_s;     /* --until: Unix seconds (or relative, above) */
	const char *join_key; /* cert issue --join-key */
	const char *identity; /* cert issue --identity */

	/* client add|list|remove: parsed by cli/client_cmd.c */
	struct {
		int sub;		 /* 1 add, 2 list, 3 remove */
		const char *name;	 /* NAME */
		const char *allowed_ips; /* --allowed-ips P[,P...] */
		const char *public_key;	 /* --public-key */
		const char *endpoint;	 /* --endpoint */
		bool qr;		 /* --qr */
	} client;
};

/* `client ...` (cli/client_cmd.c): every word but argv[cmd_at] ("client")
 * into o (already cleared, cmd set), as gcli_args_parse. */
int gcli_client_args(int argc, char **argv, int cmd_at, const char *env_socket, struct gcli_opts *o,
		     char *err, size_t errlen);
extern const char gcli_usage_client[];

/* Parse argv.  env_socket: the value of $GOSSAMER_SOCKET (or NULL).
 * Returns 0, or -EINVAL with a one-line message in err (a usage error:
 * exit code 2).  o must be released with gcli_opts_release() either way. */
int gcli_args_parse(int argc, char **argv, const char *env_socket, struct gcli_opts *o, char *err,
		    size_t errlen);
void gcli_opts_release(struct gcli_opts *o);

const char *gcli_cmd_name(enum gcli_cmd c);
/* "init", "sign", "join-key", "revoke", "issue", "show"; "" for NONE. */
const char *gcli_sub_name(enum gcli_sub s);
/* A lifetime: DIGITS followed by d (days), or the common/duration.h
 * syntax (ms, s, m, h; bare = seconds), whole seconds, 1 s .. 100 years.
 * 0 or -EINVAL. */
int gcli_parse_lifetime(const char *s, uint64_t *seconds);
/* A point in time for --until: "+DUR" (from now, lifetime syntax),
 * "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC), or Unix seconds.  Sets
 * *relative for "+DUR".  0 or -EINVAL. */
int gcli_parse_until(const char *s, uint64_t *value, bool *relative);
/* Usage text: the overview (GCLI_CMD_NONE) or one command's help. */
const char *gcli_usage(enum gcli_cmd c);

/* "alive" -> GCLI_STATE_ALIVE etc.; 0 if unknown. */
unsigned gcli_state_bit(const char *name);

#endif
