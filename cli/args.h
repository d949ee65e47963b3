/*
 * cli/args.h - the `gossamer` command line, parsed into a plain struct.
 */
#ifndef GOSSAMER_CLI_ARGS_H
#define GOSSAMER_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	GCLI_CMD_COUNT,
};

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
};

/* Parse argv.  env_socket: the value of $GOSSAMER_SOCKET (or NULL).
 * Returns 0, or -EINVAL with a one-line message in err (a usage error:
 * exit code 2).  o must be released with gcli_opts_release() either way. */
int gcli_args_parse(int argc, char **argv, const char *env_socket, struct gcli_opts *o, char *err,
		    size_t errlen);
void gcli_opts_release(struct gcli_opts *o);

const char *gcli_cmd_name(enum gcli_cmd c);
/* Usage text: the overview (GCLI_CMD_NONE) or one command's help. */
const char *gcli_usage(enum gcli_cmd c);

/* "alive" -> GCLI_STATE_ALIVE etc.; 0 if unknown. */
unsigned gcli_state_bit(const char *name);

#endif
