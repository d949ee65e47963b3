/*
 * daemon/config_parse.c - the key table and the parser of every value.
 *
 * gsd_config_key_set() is the single place where a textual value becomes
 * configuration; the file reader and the flag parser (config.c,
 * config_cli.c) both end here, so a key accepts exactly the same values
 * wherever it comes from.  It dispatches on the key's type; scalar keys
 * that are plain fields carry the field's offset in the table, so one
 * setter per type serves every key of that type.
 *
 * Values are validated strictly and described in the error (without the
 * key name, which the caller adds with the location): durations use the
 * one duration syntax of common/duration.h, each key with its own bounds;
 * addresses and prefixes are numeric literals parsed by the gossip
 * library (gossip/wire.h), with two daemon rules on top: a port may be
 * omitted (a default applies) but is never 0, and a prefix must not have
 * host bits set (a typo, not a network).
 *
 * Lists (seeds, labels, prefixes, endpoints, binds, static peers) accept
 * comma or space separated items and append; a repeated label key
 * replaces the earlier value.  A static peer is one item without spaces:
 * KEY:ALLOWED[+ALLOWED...][@ENDPOINT], the key being exactly 44 base64
 * characters (base64 has '+' and '/', so the key is cut by length).
 */
#include "daemon/config_parse.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "gossip/crypto.h"
#include "daemon/log.h"

#define FIELD(m) offsetof(struct gsd_config, m), sizeof(((struct gsd_config *)0)->m)
#define NOFIELD	 0, 0

/* clang-format off */
const struct gsd_keydef gsd_config_keys[] = {
	{ KI_NAME, "node", "name", "name", 'n', K_NAME, "NAME", "node name (default: hostname)", NOFIELD },
	{ KI_LABELS, "node", "labels", "label", 0, K_LABELS, "KEY=VALUE", "label(s) to advertise", NOFIELD },
	{ KI_PUBLIC, "node", "public", "public", 0, K_BOOL, NULL, "advertise as publicly reachable (no NAT)", FIELD(public_node) },
	{ KI_RELAY, "node", "relay", "relay", 0, K_BOOL, NULL, "offer to relay for NATed members", FIELD(relay) },
	{ KI_BIND, "gossip", "bind", "gossip-bind", 0, K_BINDS, "ADDR", "gossip bind address(es) (default 0.0.0.0 and ::)", NOFIELD },
	{ KI_GPORT, "gossip", "port", "gossip-port", 'p', K_PORT, "PORT", "gossip UDP port (default 51821)", FIELD(gossip_port) },
	{ KI_SEEDS, "gossip", "seeds", "seed", 's', K_SEEDS, "HOST[:PORT]", "seed node(s) to join through", NOFIELD },
	{ KI_CLUSTER, "gossip", "cluster_name", "cluster-name", 0, K_CLUSTER, "NAME", "cluster name (default gossamer)", NOFIELD },
	{ KI_CKEY, "gossip", "cluster_key_file", "cluster-key", 'k', K_PATH, "FILE", "cluster key ring file (default /etc/gossamer/cluster.key)", FIELD(cluster_key_file) },
	{ KI_PROBE, "gossip", "probe_interval", "probe-interval", 0, K_DURATION, "DURATION", "SWIM probe interval (default 1s)", FIELD(probe_interval_ms) },
	{ KI_SYNC, "gossip", "sync_interval", "sync-interval", 0, K_DURATION, "DURATION", "anti-entropy sync interval (default 30s)", FIELD(sync_interval_ms) },
	{ KI_MAXMEM, "gossip", "max_members", "max-members", 0, K_U32, "N", "refuse new members beyond this many (default 10000)", FIELD(max_members) },
	{ KI_REPLAY, "gossip", "replay_window", "replay-window", 0, K_DURATION, "DURATION", "accept datagrams stamped this close to our clock (default 60s)", FIELD(replay_window_ms) },
	{ KI_IFNAME, "wireguard", "interface", "interface", 'i', K_IFNAME, "IFNAME", "WireGuard interface (default gsm0)", NOFIELD },
	{ KI_WGPORT, "wireguard", "listen_port", "wg-port", 0, K_PORT, "PORT", "WireGuard listen port (default 51820)", FIELD(wg_port) },
	{ KI_BACKEND, "wireguard", "backend", "backend", 'b', K_BACKEND, "auto|kernel|userspace|none", "WireGuard backend (default auto)", NOFIELD },
	{ KI_SOCKDIR, "wireguard", "socket_dir", "wg-socket-dir", 0, K_PATH, "DIR", "userspace UAPI socket directory (default /var/run/wireguard)", FIELD(wg_socket_dir) },
	{ KI_SPAWN, "wireguard", "spawn_wireguard_go", "spawn-wireguard-go", 0, K_BOOL, NULL, "start wireguard-go for the userspace backend", FIELD(spawn_wireguard_go) },
	{ KI_WGGO, "wireguard", "wireguard_go", "wireguard-go", 0, K_PATH, "PATH", "wireguard-go program (default wireguard-go)", FIELD(wireguard_go) },
	{ KI_WGSTOP, "wireguard", "stop_wireguard_go", "stop-wireguard-go", 0, K_BOOL, NULL, "stop the wireguard-go we started when exiting (default no: tunnels survive restarts)", FIELD(stop_wireguard_go) },
	{ KI_KEEPALIVE, "wireguard", "persistent_keepalive", "persistent-keepalive", 0, K_KEEPALIVE, "auto|off|SECONDS", "persistent keepalive (default auto: 25 s when NAT is involved)", NOFIELD },
	{ KI_ENDPOINTS, "wireguard", "endpoints", "endpoint", 'e', K_ENDPOINTS, "IP[:PORT]", "WireGuard endpoint(s) to advertise", NOFIELD },
	{ KI_DEADGRACE, "wireguard", "dead_grace", "dead-grace", 0, K_DURATION, "DURATION", "keep a dead member's peer this long (default 30s)", FIELD(dead_grace_ms) },
	{ KI_LEFTGRACE, "wireguard", "left_grace", "left-grace", 0, K_DURATION, "DURATION", "keep a member that left this long (default 5s)", FIELD(left_grace_ms) },
	{ KI_DEBOUNCE, "wireguard", "reconcile_debounce", "reconcile-debounce", 0, K_DURATION, "DURATION", "batch membership changes this long (default 200ms)", FIELD(reconcile_debounce_ms) },
	{ KI_MTU, "wireguard", "mtu", "mtu", 0, K_MTU, "auto|BYTES", "interface MTU (default auto: underlay MTU - 80, within 1280..1420)", NOFIELD },
	{ KI_STATIC, "wireguard", "static_peers", "static-peer", 0, K_STATIC_PEERS, "KEY:IP/LEN[+IP/LEN...][@IP:PORT]", "WireGuard peer(s) kept on the interface, never removed", NOFIELD },
	{ KI_PREFIX4, "overlay", "ipv4_prefix", "overlay-ipv4", 0, K_PREFIX4, "CIDR|none", "IPv4 overlay prefix (default 10.77.0.0/16)", NOFIELD },
	{ KI_ADDR4, "overlay", "ipv4_address", "address-ipv4", 0, K_ADDR4, "IP", "static IPv4 overlay address (default: derived from the key)", NOFIELD },
	{ KI_PREFIX6, "overlay", "ipv6_prefix", "overlay-ipv6", 0, K_PREFIX6, "CIDR", "IPv6 overlay prefix (default: ULA /48 from the cluster name)", NOFIELD },
	{ KI_PREFIXES, "overlay", "advertise_prefixes", "advertise-prefix", 'a', K_PREFIXES, "CIDR", "routed prefix(es) to advertise", NOFIELD },
	{ KI_ACCEPT, "overlay", "accept_prefixes", "accept-prefix", 0, K_PREFIXES, "CIDR", "accept other members' prefixes inside these even if they overlap local networks or endpoints", NOFIELD },
	{ KI_ROUTES, "overlay", "install_routes", "routes", 0, K_BOOL, NULL, "install routes for advertised prefixes (default yes)", FIELD(install_routes) },
	{ KI_RTABLE, "overlay", "route_table", "route-table", 0, K_U32, "TABLE", "routing table for members' prefixes (default 51821)", FIELD(route_table) },
	{ KI_RPRIO, "overlay", "route_priority", "route-priority", 0, K_U32, "PRIORITY", "priority of the rule looking up route_table (default 5210)", FIELD(route_priority) },
	{ KI_EXIT, "overlay", "exit", "exit", 0, K_BOOL, NULL, "offer this node as an exit node (internet access for the mesh)", FIELD(exit) },
	{ KI_EXITNODE, "overlay", "exit_node", "exit-node", 0, K_NAMES, "NAME", "send internet traffic through the first of these exit nodes that is up", NOFIELD },
	{ KI_EXITTABLE, "overlay", "exit_table", "exit-table", 0, K_U32, "TABLE", "routing table for the exit node's default routes (default 51822)", FIELD(exit_table) },
	{ KI_EXITPRIO, "overlay", "exit_priority", "exit-priority", 0, K_U32, "PRIORITY", "priority of the exit node rules (default 5220 and 5221)", FIELD(exit_priority) },
	{ KI_FWMARK, "overlay", "fwmark", "fwmark", 0, K_U32, "MARK", "fwmark of WireGuard's and gossip's packets while using an exit node (default 0x5151)", FIELD(fwmark) },
	{ KI_STATEDIR, "daemon", "state_dir", "state-dir", 'd', K_PATH, "DIR", "state directory (default /var/lib/gossamer)", FIELD(state_dir) },
	{ KI_CTLSOCK, "daemon", "control_socket", "control-socket", 'S', K_SOCKET, "PATH", "control socket (default /run/gossamer/gossamerd.sock)", FIELD(control_socket) },
	{ KI_LOGLEVEL, "daemon", "log_level", "log-level", 'l', K_LOGLEVEL, "error|warn|info|debug", "log level (default info)", NOFIELD },
	{ KI_SYSLOG, "daemon", "syslog", "syslog", 0, K_BOOL, NULL, "also log to syslog", FIELD(syslog) },
	{ KI_AUTHORITY, "authority", "authority", "authority", 0, K_AUTHORITIES, "KEY", "authority public key(s) (base64; at most 8)", NOFIELD },
	{ KI_AUTHMODE, "authority", "authority_mode", "authority-mode", 0, K_AUTHMODE, "off|warn|require", "certificates: ignore, warn, or require (default require with an authority key, else off)", NOFIELD },
	{ KI_CERT, "authority", "certificate", "certificate", 0, K_PATH, "FILE", "this node's certificate chain (default STATE_DIR/node.cert)", FIELD(certificate) },
	{ KI_JOINKEY, "authority", "join_key", "join-key", 0, K_PATH, "FILE", "join key: issue this node's own certificate with it", FIELD(join_key) },
	{ KI_GATEWAY, "node", "gateway", "gateway", 0, K_BOOL, NULL, "subnet router: forward between the mesh and the interfaces reaching advertise_prefixes", FIELD(gateway) },
	{ KI_GWSNAT, "node", "gateway_snat", "gateway-snat", 0, K_BOOL, NULL, "gateway: masquerade mesh traffic into advertise_prefixes (else the site routes back)", FIELD(gateway_snat) },
	{ KI_CLIENTPOOL, "overlay", "client_pool", "client-pool", 0, K_CLIENT_POOL, "CIDR", "IPv4 addresses for plain WireGuard clients of this gateway (outside the overlay)", NOFIELD },
};
/* clang-format on */

_Static_assert(KI_COUNT <= sizeof(((struct gsd_config *)0)->origin) / sizeof(int),
	       "origin[] too small");

#define WEEK_MS (7u * 24 * 3600 * 1000)

/* The bounds of each K_U32 key: route_table excludes 0 and the kernel's
 * reserved tables (253 default, 254 main, 255 local); route_priority
 * stays before main's rule (32766) and after local's (0). */
static const struct u32_bounds {
	enum gsd_kid id;
	uint32_t min, max;
	const char *what;
} u32s[] = {
    {KI_RTABLE, 1, 0xfffffffeu, "a table number 1..4294967294, not 253, 254 or 255"},
    {KI_MAXMEM, 2, 1000000, "2..1000000"},
    {KI_RPRIO, 1, 32765, "a rule priority 1..32765 (before main at 32766)"},
    {KI_EXITTABLE, 1, 0xfffffffeu, "a table number 1..4294967294, not 253, 254 or 255"},
    {KI_EXITPRIO, 1, 32764, "a rule priority 1..32764 (it uses two: P and P + 1)"},
    {KI_FWMARK, 1, 0xffffffffu, "a non-zero 32-bit mark (decimal or 0x hex)"},
};

/* The bounds of each duration key; the upper one is also the parser's
 * limit, so an absurd value is "out of range", never truncated. */
static const struct duration_bounds {
	enum gsd_kid id;
	uint32_t min_ms, max_ms;
	const char *range;
} durations[] = {
    {KI_PROBE, 50, 60000, "50ms..60s"},	    {KI_SYNC, 1000, 3600000, "1s..1h"},
    {KI_DEADGRACE, 0, WEEK_MS, "0s..168h"}, {KI_LEFTGRACE, 0, WEEK_MS, "0s..168h"},
    {KI_DEBOUNCE, 0, WEEK_MS, "0s..168h"},  {KI_REPLAY, 5000, 3600000, "5s..1h"},
};

const struct gsd_keydef *gsd_config_key_find(const char *section, const char *key)
{
	for (size_t i = 0; i < KI_COUNT; i++) {
		if (strcmp(gsd_config_keys[i].key, key))
			continue;
		if (section && *section && strcmp(gsd_config_keys[i].section, section))
			continue;
		return &gsd_config_keys[i];
	}
	return NULL;
}

bool gsd_config_key_is_list(const struct gsd_keydef *k)
{
	return k->type == K_LABELS || k->type == K_BINDS || k->type == K_SEEDS ||
	       k->type == K_ENDPOINTS || k->type == K_PREFIXES || k->type == K_STATIC_PEERS ||
	       k->type == K_AUTHORITIES || k->type == K_NAMES;
}

/* ---- addresses (public helpers of config.h) ---- */

int gsd_parse_ip(const char *s, struct gsm_addr *a)
{
	struct gsm_prefix p;

	memset(a, 0, sizeof(*a));
	/* an address is a prefix without a length */
	if (strchr(s, '/') || gsm_prefix_parse(s, &p) < 0)
		return -EINVAL;
	a->family = p.family;
	memcpy(a->ip, p.ip, sizeof(a->ip));
	return 0;
}

int gsd_split_hostport(const char *s, char *host, size_t hostcap, uint16_t *port, uint16_t defport)
{
	const char *p = NULL;
	size_t hl;
	if (!*s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *e = strchr(s, ']');
		if (!e)
			return -EINVAL;
		hl = (size_t)(e - s - 1);
		if (hl >= hostcap)
			return -EINVAL;
		memcpy(host, s + 1, hl);
		host[hl] = 0;
		if (e[1] == ':')
			p = e + 2;
		else if (e[1])
			return -EINVAL;
	} else {
		const char *c = strchr(s, ':');
		if (c && strchr(c + 1, ':')) {
			/* bare IPv6 literal without port */
			c = NULL;
		}
		hl = c ? (size_t)(c - s) : strlen(s);
		if (hl >= hostcap || hl == 0)
			return -EINVAL;
		memcpy(host, s, hl);
		host[hl] = 0;
		if (c)
			p = c + 1;
	}
	if (p) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(p, &end, 10);
		if (!*p || *end || errno || v == 0 || v > 65535)
			return -EINVAL;
		*port = (uint16_t)v;
	} else {
		*port = defport;
	}
	return 0;
}

int gsd_parse_hostport(const char *s, struct gsm_addr *a, uint16_t defport)
{
	char host[INET6_ADDRSTRLEN + 8], canon[INET6_ADDRSTRLEN + 16];
	uint16_t port;

	/* the daemon's syntax (port optional, bare IPv6, never port 0) ... */
	if (gsd_split_hostport(s, host, sizeof(host), &port, defport) < 0)
		return -EINVAL;
	/* ... rewritten into the gossip library's canonical one */
	if (strchr(host, ':'))
		snprintf(canon, sizeof(canon), "[%s]:%u", host, port);
	else
		snprintf(canon, sizeof(canon), "%s:%u", host, port);
	return gsm_addr_parse(canon, a) < 0 ? -EINVAL : 0;
}

int gsd_parse_prefix(const char *s, struct gsm_prefix *p)
{
	memset(p, 0, sizeof(*p));
	if (gsm_prefix_parse(s, p) < 0)
		return -EINVAL;
	/* host bits must be zero: a prefix with host bits set is a typo */
	unsigned max = p->family == 4 ? 32 : 128;
	for (unsigned bit = p->len; bit < max; bit++)
		if (p->ip[bit / 8] & (0x80 >> (bit % 8)))
			return -EDOM;
	return 0;
}

int gsd_format_ip(const struct gsm_addr *a, char *buf, size_t cap)
{
	if (a->family == 4)
		return inet_ntop(AF_INET, a->ip, buf, (socklen_t)cap) ? (int)strlen(buf) : -EINVAL;
	if (a->family == 6)
		return inet_ntop(AF_INET6, a->ip, buf, (socklen_t)cap) ? (int)strlen(buf) : -EINVAL;
	return snprintf(buf, cap, "none");
}

int gsd_format_addr(const struct gsm_addr *a, char *buf, size_t cap)
{
	if (a->family == 4 || a->family == 6)
		return gsm_addr_format(a, buf, cap);
	return snprintf(buf, cap, "none:%u", a->port);
}

int gsd_format_prefix(const struct gsm_prefix *p, char *buf, size_t cap)
{
	if (p->family == 4 || p->family == 6)
		return gsm_prefix_format(p, buf, cap);
	return snprintf(buf, cap, "none/%u", p->len);
}

/* ---- scalar values ---- */

static int parse_bool(const char *v, bool *out)
{
	static const char *const t[] = {"1", "yes", "true", "on", NULL};
	static const char *const f[] = {"0", "no", "false", "off", NULL};
	for (int i = 0; t[i]; i++)
		if (!strcasecmp(v, t[i])) {
			*out = true;
			return 0;
		}
	for (int i = 0; f[i]; i++)
		if (!strcasecmp(v, f[i])) {
			*out = false;
			return 0;
		}
	return -EINVAL;
}

static int parse_port(const char *v, uint16_t *port)
{
	char *end;
	errno = 0;
	unsigned long p = strtoul(v, &end, 10);
	if (!*v || *end || errno || p == 0 || p > 65535)
		return -EINVAL;
	*port = (uint16_t)p;
	return 0;
}

static bool valid_name(const char *s)
{
	size_t l = strlen(s);
	if (l == 0 || l > GSM_MAX_NAME)
		return false;
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return false;
	return true;
}

/* ---- list items ---- */

typedef int (*item_fn)(struct gsd_config *c, const char *item, char *err, size_t errlen);

/* split a list value on commas/whitespace; calls fn for each item */
static int for_items(struct gsd_config *c, const char *value, item_fn fn, char *err, size_t errlen)
{
	char buf[4096];
	if (strlen(value) >= sizeof(buf)) {
		snprintf(err, errlen, "value too long");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", value);
	int n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		int r = fn(c, tok, err, errlen);
		if (r < 0)
			return r;
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "empty list");
		return -EINVAL;
	}
	return 0;
}

static int item_label(struct gsd_config *c, const char *it, char *err, size_t errlen)
{
	const char *eq = strchr(it, '=');
	if (!eq || eq == it) {
		snprintf(err, errlen, "'%s' is not KEY=VALUE", it);
		return -EINVAL;
	}
	size_t kl = (size_t)(eq - it);
	if (kl > GSM_MAX_LABEL_KEY || strlen(eq + 1) > GSM_MAX_LABEL_VALUE) {
		snprintf(err, errlen, "label '%s' too long (key <= %d, value <= %d)", it,
			 GSM_MAX_LABEL_KEY, GSM_MAX_LABEL_VALUE);
		return -EINVAL;
	}
	struct gsm_label *l = NULL;
	for (int i = 0; i < c->n_labels; i++)
		if (strlen(c->labels[i].key) == kl && !memcmp(c->labels[i].key, it, kl))
			l = &c->labels[i];
	if (!l) {
		if (c->n_labels >= GSM_MAX_LABELS) {
			snprintf(err, errlen, "too many labels (max %d)", GSM_MAX_LABELS);
			return -EINVAL;
		}
		l = &c->labels[c->n_labels++];
	}
	memcpy(l->key, it, kl);
	l->key[kl] = 0;
	snprintf(l->value, sizeof(l->value), "%s", eq + 1);
	return 0;
}

static int item_bind(struct gsd_config *c, const char *it, char *err, size_t errlen)
{
	struct gsm_addr a;
	if (gsd_parse_ip(it, &a) < 0) {
		snprintf(err, errlen, "'%s' is not an IP address", it);
		return -EINVAL;
	}
	if (c->n_binds >= GSD_MAX_BINDS) {
		snprintf(err, errlen, "too many bind addresses (max %d)", GSD_MAX_BINDS);
		return -EINVAL;
	}
	c->binds[c->n_binds++] = a;
	return 0;
}

static int item_seed(struct gsd_config *c, const char *it, char *err, size_t errlen)
{
	char host[GSD_SEED_LEN];
	uint16_t port;
	if (strlen(it) >= GSD_SEED_LEN ||
	    gsd_split_hostport(it, host, sizeof(host), &port, 1) < 0) {
		snprintf(err, errlen, "'%s' is not HOST[:PORT]", it);
		return -EINVAL;
	}
	if (c->n_seeds >= GSD_MAX_SEEDS) {
		snprintf(err, errlen, "too many seeds (max %d)", GSD_MAX_SEEDS);
		return -EINVAL;
	}
	snprintf(c->seeds[c->n_seeds++], GSD_SEED_LEN, "%s", it);
	return 0;
}

static int item_endpoint(struct gsd_config *c, const char *it, char *err, size_t errlen)
{
	struct gsm_addr a;
	if (gsd_parse_hostport(it, &a, 0) < 0) {
		snprintf(err, errlen, "'%s' is not IP[:PORT] (an address literal)", it);
		return -EINVAL;
	}
	if (c->n_endpoints >= GSM_MAX_ENDPOINTS) {
		snprintf(err, errlen, "too many endpoints (max %d)", GSM_MAX_ENDPOINTS);
		return -EINVAL;
	}
	c->endpoints[c->n_endpoints++] = a;
	return 0;
}

static int item_prefix(struct gsd_config *c, const char *it, char *err, size_t errlen)
{
	struct gsm_prefix p;
	int r = gsd_parse_prefix(it, &p);
	if (r == -EDOM) {
		snprintf(err, errlen, "'%s' has host bits set", it);
		return -EINVAL;
	}
	if (r < 0) {
		snprintf(err, errlen, "'%s' is not a CIDR prefix", it);
		return -EINVAL;
	}
	if (c->n_prefixes >= GSM_MAX_PREFIXES) {
		snprintf(err, errlen, "too many prefixes (max %d)", GSM_MAX_PREFIXES);
		return -EINVAL;
	}
	c->prefixes[c->n_prefixes++] = p;
	return 0;
}

/* the allowed IPs of a static peer: IP/LEN[+IP/LEN...] */
static int static_allowed(struct gsd_static_peer *sp, char *s, char *err, size_t errlen)
{
	char *save = NULL;
	for (char *tok = strtok_r(s, "+", &save); tok; tok = strtok_r(NULL, "+", &save)) {
		struct gsm_prefix p;
		int r = gsd_parse_prefix(tok, &p);
		if (r < 0) {
			snprintf(err, errlen, "static peer allowed IP '%s' %s", tok,
				 r == -EDOM ? "has host bits set" : "is not a CIDR prefix");
			return -EINVAL;
		}
		if (p.len == 0) {
			snprintf(err, errlen, "static peer allowed IP '%s' is a default route",
				 tok);
			return -EINVAL;
		}
		if (sp->n_allowed >= GSD_MAX_STATIC_ALLOWED) {
			snprintf(err, errlen, "too many allowed IPs for one static peer (max %d)",
				 GSD_MAX_STATIC_ALLOWED);
			return -EINVAL;
		}
		sp->allowed[sp->n_allowed++] = p;
	}
	if (!sp->n_allowed) {
		snprintf(err, errlen, "static peer without allowed IPs");
		return -EINVAL;
	}
	return 0;
}

static int item_static_peer(struct gsd_config *c, const char *it, char *err, size_t errlen)
{
	struct gsd_static_peer sp = {0};
	char key[45], rest[512];
	if (strlen(it) < 46 || it[44] != ':' || strlen(it) >= sizeof(rest) + 45) {
		snprintf(err, errlen, "'%s' is not KEY:IP/LEN[+IP/LEN...][@IP:PORT]", it);
		return -EINVAL;
	}
	memcpy(key, it, 44);
	key[44] = 0;
	size_t klen = 0;
	if (gsm_b64_decode(key, sp.key, sizeof(sp.key), &klen) < 0 || klen != 32) {
		snprintf(err, errlen, "'%s' is not a base64 WireGuard public key", key);
		return -EINVAL;
	}
	snprintf(rest, sizeof(rest), "%s", it + 45);
	char *at = strchr(rest, '@');
	if (at) {
		*at = 0;
		if (gsd_parse_hostport(at + 1, &sp.endpoint, 0) < 0 || !sp.endpoint.port) {
			snprintf(err, errlen, "static peer endpoint '%s' is not IP:PORT", at + 1);
			return -EINVAL;
		}
		sp.has_endpoint = true;
	}
	int r = static_allowed(&sp, rest, err, errlen);
	if (r < 0)
		return r;
	for (int i = 0; i < c->n_static_peers; i++)
		if (!memcmp(c->static_peers[i].key, sp.key, 32)) {
			snprintf(err, errlen, "static peer %s listed twice", key);
			return -EINVAL;
		}
	if (c->n_static_peers >= GSD_MAX_STATIC_PEERS) {
		snprintf(err, errlen, "too many static peers (max %d)", GSD_MAX_STATIC_PEERS);
		return -EINVAL;
	}
	c->static_peers[c->n_static_peers++] = sp;
	return 0;
}

/* accept_prefixes: the same CIDR syntax into the operator's allow-list */
static int item_accept(struct gsd_config *c, const char *it, char *err, size_t errlen)
{
	struct gsm_prefix p;
	int r = gsd_parse_prefix(it, &p);
	if (r < 0) {
		snprintf(err, errlen, "'%s' is not a CIDR prefix%s", it,
			 r == -EDOM ? " (host bits set)" : "");
		return -EINVAL;
	}
	if (c->n_accept >= GSD_MAX_ACCEPT) {
		snprintf(err, errlen, "too many prefixes (max %d)", GSD_MAX_ACCEPT);
		return -EINVAL;
	}
	c->accept[c->n_accept++] = p;
	return 0;
}

static int item_exit_node(struct gsd_config *c, const char *it, char *err, size_t errlen)
{
	if (!valid_name(it)) {
		snprintf(err, errlen, "'%s' is not a valid name (1-%d of A-Z a-z 0-9 . _ -)", it,
			 GSM_MAX_NAME);
		return -EINVAL;
	}
	if (c->n_exit_nodes >= GSD_MAX_EXIT_NODES) {
		snprintf(err, errlen, "too many exit nodes (max %d)", GSD_MAX_EXIT_NODES);
		return -EINVAL;
	}
	snprintf(c->exit_nodes[c->n_exit_nodes++], sizeof(c->exit_nodes[0]), "%s", it);
	return 0;
}

static int set_list(struct gsd_config *c, const struct gsd_keydef *k, const char *v, char *err,
		    size_t errlen)
{
	switch (k->type) {
	case K_LABELS:
		return for_items(c, v, item_label, err, errlen);
	case K_BINDS:
		return for_items(c, v, item_bind, err, errlen);
	case K_SEEDS:
		return for_items(c, v, item_seed, err, errlen);
	case K_ENDPOINTS:
		return for_items(c, v, item_endpoint, err, errlen);
	case K_PREFIXES:
		return for_items(c, v, k->id == KI_ACCEPT ? item_accept : item_prefix, err, errlen);
	case K_STATIC_PEERS:
		return for_items(c, v, item_static_peer, err, errlen);
	case K_NAMES:
		return for_items(c, v, item_exit_node, err, errlen);
	default:
		snprintf(err, errlen, "internal error");
		return -EINVAL;
	}
}

/* ---- setters of plain fields (the table names the field) ---- */

static void *field(struct gsd_config *c, const struct gsd_keydef *k)
{
	return (char *)c + k->off;
}

static int set_bool(struct gsd_config *c, const struct gsd_keydef *k, const char *v, char *err,
		    size_t errlen)
{
	if (parse_bool(v, (bool *)field(c, k)) < 0) {
		snprintf(err, errlen, "'%s' is not a boolean (yes/no, true/false, on/off, 1/0)", v);
		return -EINVAL;
	}
	return 0;
}

static int set_port(struct gsd_config *c, const struct gsd_keydef *k, const char *v, char *err,
		    size_t errlen)
{
	if (parse_port(v, (uint16_t *)field(c, k)) < 0) {
		snprintf(err, errlen, "'%s' is not a port (1-65535)", v);
		return -EINVAL;
	}
	return 0;
}

static int set_path(struct gsd_config *c, const struct gsd_keydef *k, const char *v, char *err,
		    size_t errlen)
{
	if (!*v) {
		snprintf(err, errlen, "empty path");
		return -EINVAL;
	}
	if (strlen(v) >= k->size) {
		snprintf(err, errlen, "path too long");
		return -EINVAL;
	}
	if (k->type == K_SOCKET && strlen(v) >= 108) { /* sizeof(sun_path) */
		snprintf(err, errlen, "unix socket path longer than 107 bytes");
		return -EINVAL;
	}
	snprintf((char *)field(c, k), k->size, "%s", v);
	return 0;
}

static int set_duration(struct gsd_config *c, const struct gsd_keydef *k, const char *v, char *err,
			size_t errlen)
{
	const struct duration_bounds *b = NULL;
	uint64_t ms;
	int r;

	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++)
		if (durations[i].id == k->id)
			b = &durations[i];
	if (!b) {
		snprintf(err, errlen, "internal error");
		return -EINVAL;
	}
	r = gsc_parse_duration_ms(v, b->max_ms, &ms);
	if (r == -EINVAL) {
		snprintf(err, errlen, "'%s' is not a duration (e.g. 500ms, 30s, 2m)", v);
		return -EINVAL;
	}
	if (r < 0 || ms < b->min_ms) {
		snprintf(err, errlen, "'%s' out of range (%s)", v, b->range);
		return -EINVAL;
	}
	*(uint32_t *)field(c, k) = (uint32_t)ms;
	return 0;
}

static int set_u32(struct gsd_config *c, const struct gsd_keydef *k, const char *v, char *err,
		   size_t errlen)
{
	const struct u32_bounds *b = NULL;
	for (size_t i = 0; i < sizeof(u32s) / sizeof(u32s[0]); i++)
		if (u32s[i].id == k->id)
			b = &u32s[i];
	if (!b) {
		snprintf(err, errlen, "internal error");
		return -EINVAL;
	}
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, k->id == KI_FWMARK ? 0 : 10);
	if (!*v || *end || errno || *v == '-' || x < b->min || x > b->max ||
	    ((k->id == KI_RTABLE || k->id == KI_EXITTABLE) && x >= 253 && x <= 255)) {
		snprintf(err, errlen, "'%s' is not %s", v, b->what);
		return -EINVAL;
	}
	*(uint32_t *)field(c, k) = (uint32_t)x;
	return 0;
}

/* ---- setters of the other keys ---- */

static int set_mtu(struct gsd_config *c, const char *v, char *err, size_t errlen)
{
	char *end;
	unsigned long m;
	if (!strcmp(v, "auto")) {
		c->mtu = 0;
		return 0;
	}
	errno = 0;
	m = strtoul(v, &end, 10);
	if (!*v || *end || errno || *v == '-' || m < 1280 || m > 65535) {
		snprintf(err, errlen, "'%s' is not auto or an MTU (1280..65535)", v);
		return -EINVAL;
	}
	c->mtu = (uint32_t)m;
	return 0;
}

static int set_name(struct gsd_config *c, const struct gsd_keydef *k, const char *v, char *err,
		    size_t errlen)
{
	if (k->type == K_NAME) {
		if (!valid_name(v)) {
			snprintf(err, errlen,
				 "'%s' is not a valid name (1-%d of A-Z a-z 0-9 . _ -)", v,
				 GSM_MAX_NAME);
			return -EINVAL;
		}
		snprintf(c->name, sizeof(c->name), "%s", v);
		return 0;
	}
	if (!valid_name(v) || strlen(v) > GSM_MAX_CLUSTER_NAME) {
		snprintf(err, errlen,
			 "'%s' is not a valid cluster name (1-%d of A-Z a-z 0-9 . _ -)", v,
			 GSM_MAX_CLUSTER_NAME);
		return -EINVAL;
	}
	snprintf(c->cluster_name, sizeof(c->cluster_name), "%s", v);
	return 0;
}

static int set_ifname(struct gsd_config *c, const char *v, char *err, size_t errlen)
{
	if (!*v || strlen(v) >= GSD_IFNAMSIZ || strpbrk(v, "/ \t:") || !strcmp(v, ".") ||
	    !strcmp(v, "..")) {
		snprintf(err, errlen,
			 "'%s' is not a valid interface name (1-15 chars, no '/', ':' or spaces)",
			 v);
		return -EINVAL;
	}
	snprintf(c->interface, sizeof(c->interface), "%s", v);
	return 0;
}

static int set_backend(struct gsd_config *c, const char *v, char *err, size_t errlen)
{
	static const enum gsd_backend_kind kinds[] = {GSD_BACKEND_AUTO, GSD_BACKEND_KERNEL,
						      GSD_BACKEND_USERSPACE, GSD_BACKEND_NONE};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(v, gsd_backend_name(kinds[i]))) {
			c->backend = kinds[i];
			return 0;
		}
	snprintf(err, errlen, "'%s' is not one of auto, kernel, userspace, none", v);
	return -EINVAL;
}

static int set_keepalive(struct gsd_config *c, const char *v, char *err, size_t errlen)
{
	char *end;
	long s;

	if (!strcmp(v, "auto")) {
		c->persistent_keepalive = -1;
		return 0;
	}
	if (!strcmp(v, "off")) {
		c->persistent_keepalive = 0;
		return 0;
	}
	errno = 0;
	s = strtol(v, &end, 10);
	if (!*v || *end || errno || s < 0 || s > 65535) {
		snprintf(err, errlen, "'%s' is not auto, off or seconds (0-65535)", v);
		return -EINVAL;
	}
	c->persistent_keepalive = (int)s;
	return 0;
}

static int set_prefix4(struct gsd_config *c, const char *v, char *err, size_t errlen)
{
	int r;

	if (!strcmp(v, "none")) {
		c->has_ipv4_prefix = false;
		return 0;
	}
	r = gsd_parse_prefix(v, &c->ipv4_prefix);
	if (r < 0 || c->ipv4_prefix.family != 4) {
		snprintf(err, errlen, "'%s' is not an IPv4 CIDR prefix%s", v,
			 r == -EDOM ? " (host bits set)" : "");
		return -EINVAL;
	}
	if (c->ipv4_prefix.len < 8 || c->ipv4_prefix.len > 30) {
		snprintf(err, errlen, "prefix length /%u out of range (/8../30)",
			 c->ipv4_prefix.len);
		return -EINVAL;
	}
	c->has_ipv4_prefix = true;
	return 0;
}

static int set_addr4(struct gsd_config *c, const char *v, char *err, size_t errlen)
{
	if (gsd_parse_ip(v, &c->ipv4_address) < 0 || c->ipv4_address.family != 4) {
		snprintf(err, errlen, "'%s' is not an IPv4 address", v);
		return -EINVAL;
	}
	c->has_ipv4_address = true;
	return 0;
}

static int set_prefix6(struct gsd_config *c, const char *v, char *err, size_t errlen)
{
	int r = gsd_parse_prefix(v, &c->ipv6_prefix);

	if (r < 0 || c->ipv6_prefix.family != 6) {
		snprintf(err, errlen, "'%s' is not an IPv6 CIDR prefix%s", v,
			 r == -EDOM ? " (host bits set)" : "");
		return -EINVAL;
	}
	if (c->ipv6_prefix.len > 64) {
		snprintf(err, errlen, "prefix length /%u too long (at most /64)",
			 c->ipv6_prefix.len);
		return -EINVAL;
	}
	c->has_ipv6_prefix = true;
	return 0;
}

static int set_loglevel(struct gsd_config *c, const char *v, char *err, size_t errlen)
{
	int r = gsd_log_parse_level(v);

	if (r < 0) {
		snprintf(err, errlen, "'%s' is not one of error, warn, info, debug", v);
		return -EINVAL;
	}
	c->log_level = r;
	return 0;
}

/* client_pool: an IPv4 prefix /8../30 (overlap with the overlay: validate) */
static int set_client_pool(struct gsd_config *c, const char *v, char *err, size_t errlen)
{
	int r = gsd_parse_prefix(v, &c->client_pool);
	if (r < 0 || c->client_pool.family != 4 || c->client_pool.len < 8 ||
	    c->client_pool.len > 30) {
		snprintf(err, errlen, "'%s' is not an IPv4 CIDR prefix /8../30%s", v,
			 r == -EDOM ? " (host bits set)" : "");
		return -EINVAL;
	}
	c->has_client_pool = true;
	return 0;
}

int gsd_config_key_set(struct gsd_config *c, const struct gsd_keydef *k, const char *v, char *err,
		       size_t errlen)
{
	switch (k->type) {
	case K_NAME:
	case K_CLUSTER:
		return set_name(c, k, v, err, errlen);
	case K_LABELS:
	case K_BINDS:
	case K_SEEDS:
	case K_ENDPOINTS:
	case K_PREFIXES:
	case K_STATIC_PEERS:
	case K_NAMES:
		return set_list(c, k, v, err, errlen);
	case K_U32:
		return set_u32(c, k, v, err, errlen);
	case K_MTU:
		return set_mtu(c, v, err, errlen);
	case K_BOOL:
		return set_bool(c, k, v, err, errlen);
	case K_PORT:
		return set_port(c, k, v, err, errlen);
	case K_PATH:
	case K_SOCKET:
		return set_path(c, k, v, err, errlen);
	case K_DURATION:
		return set_duration(c, k, v, err, errlen);
	case K_IFNAME:
		return set_ifname(c, v, err, errlen);
	case K_BACKEND:
		return set_backend(c, v, err, errlen);
	case K_KEEPALIVE:
		return set_keepalive(c, v, err, errlen);
	case K_PREFIX4:
		return set_prefix4(c, v, err, errlen);
	case K_ADDR4:
		return set_addr4(c, v, err, errlen);
	case K_PREFIX6:
		return set_prefix6(c, v, err, errlen);
	case K_LOGLEVEL:
		return set_loglevel(c, v, err, errlen);
	case K_AUTHORITIES:
	case K_AUTHMODE:
		return gsd_config_set_authority(c, k, v, err, errlen);
	case K_CLIENT_POOL:
		return set_client_pool(c, v, err, errlen);
	}
	snprintf(err, errlen, "internal error");
	return -EINVAL;
}
