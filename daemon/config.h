/* daemon/config.h - gossamerd configuration: INI file (inih) plus
 * command-line flags that override it.  See docs/config.md.
 * Implemented by config.c (defaults, file, validation, build),
 * config_parse.c (the key table, every value parser, the address helpers)
 * and config_cli.c (argv and --help). */
#ifndef GOSSAMER_DAEMON_CONFIG_H
#define GOSSAMER_DAEMON_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gossip/wire.h"

#define GSD_MAX_SEEDS  32
#define GSD_MAX_BINDS  4
#define GSD_SEED_LEN   270
#define GSD_IFNAMSIZ   16
#define GSD_MAX_ACCEPT 16

#define GSD_MAX_AUTHORITIES 8 /* = GSM_MAX_AUTHORITIES (gossip/cert.h) */
/* authority_mode: the values of enum gsm_authority_mode, plus "not set" */
#define GSD_AUTH_MODE_DEFAULT (-1)
#define GSD_AUTH_MODE_OFF     0
#define GSD_AUTH_MODE_WARN    1
#define GSD_AUTH_MODE_REQUIRE 2

#define GSD_MAX_EXIT_NODES     8 /* exit_node names */
#define GSD_MAX_STATIC_PEERS   16
#define GSD_MAX_STATIC_ALLOWED 8

/* A WireGuard peer configured by the operator (static_peers): kept on the
 * interface by every reconcile, never removed. */
struct gsd_static_peer {
	uint8_t key[32];
	uint8_t n_allowed;
	struct gsm_prefix allowed[GSD_MAX_STATIC_ALLOWED];
	bool has_endpoint;
	struct gsm_addr endpoint; /* port never 0 */
};

#define GSD_ROUTE_TABLE_DEFAULT	   51821
#define GSD_ROUTE_PRIORITY_DEFAULT 5210
#define GSD_EXIT_TABLE_DEFAULT	   51822
#define GSD_EXIT_PRIORITY_DEFAULT  5220
#define GSD_FWMARK_DEFAULT	   0x5151

enum gsd_backend_kind {
	GSD_BACKEND_AUTO = 0,
	GSD_BACKEND_KERNEL,
	GSD_BACKEND_USERSPACE,
	GSD_BACKEND_NONE,
};

struct gsd_config {
	/* [node] */
	char name[GSM_MAX_NAME + 1];
	uint8_t n_labels;
	struct gsm_label labels[GSM_MAX_LABELS];
	bool public_node;
	bool relay;
	/* subnet router (daemon/gateway.h): forwarding for the mesh and the
	 * egress interfaces of advertise_prefixes, optional masquerading */
	bool gateway;
	bool gateway_snat;
	/* [gossip] */
	uint8_t n_binds;
	struct gsm_addr binds[GSD_MAX_BINDS]; /* port ignored; gossip_port used */
	uint16_t gossip_port;
	uint8_t n_seeds;
	char seeds[GSD_MAX_SEEDS][GSD_SEED_LEN]; /* "host:port" / "host" */
	char cluster_name[65];
	char cluster_key_file[PATH_MAX];
	uint32_t probe_interval_ms;
	uint32_t sync_interval_ms;
	uint32_t replay_window_ms; /* envelope v3 replay window (docs/protocol.md) */
	uint32_t max_members;	   /* member-table cap (admission, docs/protocol.md) */
	/* [wireguard] */
	char interface[GSD_IFNAMSIZ];
	uint16_t wg_port;
	enum gsd_backend_kind backend;
	char wg_socket_dir[PATH_MAX];
	bool spawn_wireguard_go;
	char wireguard_go[PATH_MAX];
	bool stop_wireguard_go;
	int persistent_keepalive; /* -1 auto (25 s when NAT involved), 0 off, N s */
	uint8_t n_endpoints;
	struct gsm_addr endpoints[GSM_MAX_ENDPOINTS]; /* port 0 = wg_port */
	uint32_t dead_grace_ms;
	uint32_t left_grace_ms;
	uint32_t reconcile_debounce_ms;
	uint32_t mtu; /* 0 = auto (from the underlay) */
	uint8_t n_static_peers;
	struct gsd_static_peer static_peers[GSD_MAX_STATIC_PEERS];
	/* [overlay] */
	bool has_ipv4_prefix;
	struct gsm_prefix ipv4_prefix;
	bool has_ipv4_address;
	struct gsm_addr ipv4_address;
	bool has_ipv6_prefix;
	struct gsm_prefix ipv6_prefix; /* default: ULA /48 derived from cluster name */
	uint8_t n_prefixes;
	struct gsm_prefix prefixes[GSM_MAX_PREFIXES];
	/* accept_prefixes: other members' prefixes inside one of these are
	 * accepted despite overlapping local networks or endpoints (never /0,
	 * daemon/policy.h) */
	uint8_t n_accept;
	struct gsm_prefix accept[GSD_MAX_ACCEPT];
	bool install_routes;
	uint32_t route_table;	 /* our routing table (docs/routing.md) */
	uint32_t route_priority; /* priority of our lookup rule */
	/* client_pool: addresses of plain WireGuard clients (daemon/clients.h);
	 * IPv4, outside the overlay prefixes */
	bool has_client_pool;
	struct gsm_prefix client_pool;
	/* exit nodes (daemon/exit.h, docs/routing.md "Exit nodes") */
	bool exit;	      /* offer this node as an exit */
	uint8_t n_exit_nodes; /* exit_node: wanted exits, in order */
	char exit_nodes[GSD_MAX_EXIT_NODES][GSM_MAX_NAME + 1];
	uint32_t exit_table;	/* table of the default routes (51822) */
	uint32_t exit_priority; /* priority of its rules (5220, 5221) */
	uint32_t fwmark;	/* mark of the tunnel's and gossip's packets */
	/* [daemon] */
	char state_dir[PATH_MAX];
	char control_socket[PATH_MAX];
	int log_level;
	bool syslog;
	/* [authority] (docs/config.md; daemon/authority.h) */
	uint8_t n_authorities;
	uint8_t authorities[GSD_MAX_AUTHORITIES][32]; /* Ed25519 public keys */
	int authority_mode;	    /* GSD_AUTH_MODE_* ; DEFAULT: require with keys, else off */
	char certificate[PATH_MAX]; /* "" = <state_dir>/node.cert */
	char join_key[PATH_MAX];    /* "" = none */

	/* not from the file */
	char config_file[PATH_MAX]; /* "" = none */
	/* where each key was set: 0 default, >0 file line, -1 flag */
	int origin[64];
};

/* Fill defaults (name = hostname). */
void gsd_config_defaults(struct gsd_config *c);

/* Set one key.  section may be NULL/"" for flags (key names are unique
 * across sections).  On error returns -EINVAL and writes a short problem
 * description into err (without the key name).  Durations use the syntax
 * of common/duration.h, each key with its own bounds (probe_interval
 * 50ms..60s, sync_interval 1s..1h, the others at most 168h). */
int gsd_config_set(struct gsd_config *c, const char *section, const char *key, const char *value,
		   char *err, size_t errlen);

/* Parse an INI file into c (on top of what is there).  On error returns
 * -EINVAL (or -errno if the file cannot be read) with msg set to
 * "file:line: key: problem". */
int gsd_config_load_file(struct gsd_config *c, const char *path, char *msg, size_t msglen);

/* Final cross-key validation (e.g. the static IPv4 address inside the
 * prefix).  msg gets "key: problem". */
int gsd_config_validate(struct gsd_config *c, char *msg, size_t msglen);

/* Command line.  gsd_cli holds the parsed flags so that a reload can re-read
 * the file and re-apply the same flags on top. */
#define GSD_MAX_FLAGS 128
struct gsd_cli {
	int n;
	struct {
		const char *key;
		const char *value;
		const char *flag;
	} ov[GSD_MAX_FLAGS];
	const char *config_file;
	bool help, version, check_config;
	const char *gen_cluster_key; /* --generate-cluster-key FILE */
	bool foreground;
};

/* Parse argv (getopt_long).  0 ok; -EINVAL with msg on a bad flag. */
int gsd_cli_parse(struct gsd_cli *cli, int argc, char **argv, char *msg, size_t msglen);
void gsd_cli_usage(FILE *f);

/* defaults + file (if any) + flags + validate.  0 or -EINVAL with msg. */
int gsd_config_build(struct gsd_config *c, const struct gsd_cli *cli, char *msg, size_t msglen);

const char *gsd_backend_name(enum gsd_backend_kind b);

/* The authority mode in effect: authority_mode, or when not set, require
 * with any authority key and off without. */
int gsd_config_authority_mode(const struct gsd_config *c);
/* "off", "warn", "require". */
const char *gsd_authority_mode_name(int mode);
/* The certificate (chain) file: certificate, or <state_dir>/node.cert.
 * Returns like snprintf. */
int gsd_config_certificate_path(const struct gsd_config *c, char *buf, size_t cap);

/* Parsing helpers (shared with the runtime), numeric literals only (the
 * gossip library's gsm_addr_parse/gsm_prefix_parse underneath):
 *   gsd_parse_ip       "1.2.3.4" / "fd00::1", no port, no length.
 *   gsd_parse_hostport "IP", "IP:PORT", "[V6]:PORT" or a bare V6; a missing
 *                      port is defport, an explicit port is 1..65535.
 *   gsd_parse_prefix   "CIDR" (a bare address is /32 or /128); -EDOM when
 *                      host bits are set (p is filled anyway).
 * All return 0 or -EINVAL.  Formatting returns like snprintf; family 0
 * formats as "none" ("none:PORT", "none/LEN"). */
int gsd_parse_ip(const char *s, struct gsm_addr *a);
int gsd_parse_hostport(const char *s, struct gsm_addr *a, uint16_t defport);
int gsd_parse_prefix(const char *s, struct gsm_prefix *p);
int gsd_format_addr(const struct gsm_addr *a, char *buf, size_t cap); /* "ip:port" */
int gsd_format_ip(const struct gsm_addr *a, char *buf, size_t cap);   /* "ip" */
int gsd_format_prefix(const struct gsm_prefix *p, char *buf, size_t cap);
/* split "host:port" into host and port; host may be a name or [v6] */
int gsd_split_hostport(const char *s, char *host, size_t hostcap, uint16_t *port, uint16_t defport);

#endif
