/* daemon/config_parse.h - the key table and the value parsers behind
 * daemon/config.h.  Private to daemon/config*.c: the rest of the daemon
 * uses config.h only.
 *
 * One entry of gsd_config_keys[] per configuration key, in enum gsd_kid
 * order (gsd_config_keys[i].id == i): its INI section and name, its long
 * flag and optional short option, its value type, and the help text that
 * `gossamerd --help` prints.  Scalar keys that are plain fields of struct
 * gsd_config also name that field (offset and size), so one setter per
 * type serves them all.
 */
#ifndef GOSSAMER_DAEMON_CONFIG_PARSE_H
#define GOSSAMER_DAEMON_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/config.h"

enum gsd_ktype {
	K_NAME,
	K_LABELS,
	K_BOOL,
	K_PORT,
	K_BINDS,
	K_SEEDS,
	K_CLUSTER,
	K_PATH,
	K_SOCKET, /* a path that must fit a unix socket address */
	K_DURATION,
	K_IFNAME,
	K_BACKEND,
	K_KEEPALIVE,
	K_ENDPOINTS,
	K_PREFIX4,
	K_ADDR4,
	K_PREFIX6,
	K_PREFIXES,
	K_LOGLEVEL,
	K_MTU,
	K_U32,		/* a bounded integer (the bounds table in config_parse.c) */
	K_STATIC_PEERS, /* list of KEY:ALLOWED[+ALLOWED...][@ENDPOINT] */
	K_AUTHORITIES,	/* list of base64 Ed25519 public keys (config_auth.c) */
	K_AUTHMODE,	/* off|warn|require (config_auth.c) */
	K_CLIENT_POOL,	/* an IPv4 prefix for clients (daemon/clients.h) */
	K_NAMES,	/* list of member names (exit_node) */
};

enum gsd_kid {
	KI_NAME,
	KI_LABELS,
	KI_PUBLIC,
	KI_RELAY,
	KI_BIND,
	KI_GPORT,
	KI_SEEDS,
	KI_CLUSTER,
	KI_CKEY,
	KI_PROBE,
	KI_SYNC,
	KI_MAXMEM,
	KI_REPLAY,
	KI_IFNAME,
	KI_WGPORT,
	KI_BACKEND,
	KI_SOCKDIR,
	KI_SPAWN,
	KI_WGGO,
	KI_WGSTOP,
	KI_KEEPALIVE,
	KI_ENDPOINTS,
	KI_DEADGRACE,
	KI_LEFTGRACE,
	KI_DEBOUNCE,
	KI_MTU,
	KI_STATIC,
	KI_PREFIX4,
	KI_ADDR4,
	KI_PREFIX6,
	KI_PREFIXES,
	KI_ACCEPT,
	KI_ROUTES,
	KI_RTABLE,
	KI_RPRIO,
	KI_EXIT,
	KI_EXITNODE,
	KI_EXITTABLE,
	KI_EXITPRIO,
	KI_FWMARK,
	KI_STATEDIR,
	KI_CTLSOCK,
	KI_LOGLEVEL,
	KI_SYSLOG,
	KI_AUTHORITY,
	KI_AUTHMODE,
	KI_CERT,
	KI_JOINKEY,
	KI_GATEWAY,
	KI_GWSNAT,
	KI_CLIENTPOOL,
	KI_COUNT
};

struct gsd_keydef {
	enum gsd_kid id;
	const char *section;
	const char *key;
	const char *flag;
	char shortopt;
	enum gsd_ktype type;
	const char *arg;
	const char *help;
	size_t off;  /* the field of struct gsd_config (K_BOOL, K_PORT, K_PATH, */
	size_t size; /* K_SOCKET, K_DURATION, K_U32); 0, 0 for the other types */
};

/* Every key, in enum gsd_kid order. */
extern const struct gsd_keydef gsd_config_keys[KI_COUNT];

/* The key named `key`, in `section` unless section is NULL or "" (key
 * names are unique across sections); NULL if there is none. */
const struct gsd_keydef *gsd_config_key_find(const char *section, const char *key);

/* True for list keys (repeatable; a flag replaces the file's list). */
bool gsd_config_key_is_list(const struct gsd_keydef *k);

/* Parse `v` as the value of key k into c.  0, or -EINVAL with a short
 * problem description (without the key name) in err. */
int gsd_config_key_set(struct gsd_config *c, const struct gsd_keydef *k, const char *v, char *err,
		       size_t errlen);

/* The [authority] keys authority (K_AUTHORITIES) and authority_mode
 * (K_AUTHMODE), as gsd_config_key_set (config_auth.c). */
int gsd_config_set_authority(struct gsd_config *c, const struct gsd_keydef *k, const char *v,
			     char *err, size_t errlen);

#endif
