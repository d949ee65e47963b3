/*
 * daemon/config.c - configuration: INI file + command-line flags.
 *
 * One table describes every key: its INI section and name, its long flag,
 * its type and its help text.  The file parser (inih) and the flag parser
 * (getopt_long) both funnel into gsd_config_set(), so a key behaves the same
 * wherever it comes from, `--help` and docs/config.md list the same names,
 * and a reload re-reads the file and re-applies the very same flags on top.
 *
 * Errors name where they come from: "file:line: key: problem" for the file
 * (inih does not tell the handler the line, so we feed it through a reader
 * that counts lines), "--flag: problem" for flags.  Parsing never has side
 * effects: the daemon creates nothing until the whole configuration has
 * been read and validated, so a bad config exits 2 with nothing changed.
 *
 * Lists (seeds, labels, prefixes, endpoints, binds) accept comma or space
 * separated values and repeated keys; a flag for a list replaces the file's
 * list (flags override, they do not merge).  A scalar key given twice in
 * one file is an error: it is nearly always a mistake.
 */
#include "daemon/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/log.h"
#include "gossip/crypto.h"

enum ktype {
	K_NAME, K_LABELS, K_BOOL, K_PORT, K_WGPORT, K_BINDS, K_SEEDS, K_CLUSTER, K_PATH,
	K_DURATION, K_IFNAME, K_BACKEND, K_KEEPALIVE, K_ENDPOINTS, K_PREFIX4, K_ADDR4,
	K_PREFIX6, K_PREFIXES, K_LOGLEVEL,
};

enum kid {
	KI_NAME, KI_LABELS, KI_PUBLIC, KI_RELAY,
	KI_BIND, KI_GPORT, KI_SEEDS, KI_CLUSTER, KI_CKEY, KI_PROBE, KI_SYNC,
	KI_IFNAME, KI_WGPORT, KI_BACKEND, KI_SOCKDIR, KI_SPAWN, KI_WGGO, KI_WGSTOP, KI_KEEPALIVE,
	KI_ENDPOINTS, KI_DEADGRACE, KI_LEFTGRACE, KI_DEBOUNCE,
	KI_PREFIX4, KI_ADDR4, KI_PREFIX6, KI_PREFIXES, KI_ROUTES,
	KI_STATEDIR, KI_CTLSOCK, KI_LOGLEVEL, KI_SYSLOG,
	KI_COUNT
};

struct keydef {
	enum kid id;
	const char *section;
	const char *key;
	const char *flag;
	char shortopt;
	enum ktype type;
	const char *arg;
	const char *help;
};

static const struct keydef keys[] = {
	{ KI_NAME, "node", "name", "name", 'n', K_NAME, "NAME", "node name (default: hostname)" },
	{ KI_LABELS, "node", "labels", "label", 0, K_LABELS, "KEY=VALUE", "label(s) to advertise" },
	{ KI_PUBLIC, "node", "public", "public", 0, K_BOOL, NULL, "advertise as publicly reachable (no NAT)" },
	{ KI_RELAY, "node", "relay", "relay", 0, K_BOOL, NULL, "offer to relay for NATed members" },
	{ KI_BIND, "gossip", "bind", "gossip-bind", 0, K_BINDS, "ADDR", "gossip bind address(es) (default 0.0.0.0 and ::)" },
	{ KI_GPORT, "gossip", "port", "gossip-port", 'p', K_PORT, "PORT", "gossip UDP port (default 51821)" },
	{ KI_SEEDS, "gossip", "seeds", "seed", 's', K_SEEDS, "HOST[:PORT]", "seed node(s) to join through" },
	{ KI_CLUSTER, "gossip", "cluster_name", "cluster-name", 0, K_CLUSTER, "NAME", "cluster name (default gossamer)" },
	{ KI_CKEY, "gossip", "cluster_key_file", "cluster-key", 'k', K_PATH, "FILE", "cluster key ring file (default /etc/gossamer/cluster.key)" },
	{ KI_PROBE, "gossip", "probe_interval", "probe-interval", 0, K_DURATION, "DURATION", "SWIM probe interval (default 1s)" },
	{ KI_SYNC, "gossip", "sync_interval", "sync-interval", 0, K_DURATION, "DURATION", "anti-entropy sync interval (default 30s)" },
	{ KI_IFNAME, "wireguard", "interface", "interface", 'i', K_IFNAME, "IFNAME", "WireGuard interface (default gsm0)" },
	{ KI_WGPORT, "wireguard", "listen_port", "wg-port", 0, K_WGPORT, "PORT", "WireGuard listen port (default 51820)" },
	{ KI_BACKEND, "wireguard", "backend", "backend", 'b', K_BACKEND, "auto|kernel|userspace|none", "WireGuard backend (default auto)" },
	{ KI_SOCKDIR, "wireguard", "socket_dir", "wg-socket-dir", 0, K_PATH, "DIR", "userspace UAPI socket directory (default /var/run/wireguard)" },
	{ KI_SPAWN, "wireguard", "spawn_wireguard_go", "spawn-wireguard-go", 0, K_BOOL, NULL, "start wireguard-go for the userspace backend" },
	{ KI_WGGO, "wireguard", "wireguard_go", "wireguard-go", 0, K_PATH, "PATH", "wireguard-go program (default wireguard-go)" },
	{ KI_WGSTOP, "wireguard", "stop_wireguard_go", "stop-wireguard-go", 0, K_BOOL, NULL, "stop the wireguard-go we started when exiting (default no: tunnels survive restarts)" },
	{ KI_KEEPALIVE, "wireguard", "persistent_keepalive", "persistent-keepalive", 0, K_KEEPALIVE, "auto|off|SECONDS", "persistent keepalive (default auto: 25 s when NAT is involved)" },
	{ KI_ENDPOINTS, "wireguard", "endpoints", "endpoint", 'e', K_ENDPOINTS, "IP[:PORT]", "WireGuard endpoint(s) to advertise" },
	{ KI_DEADGRACE, "wireguard", "dead_grace", "dead-grace", 0, K_DURATION, "DURATION", "keep a dead member's peer this long (default 30s)" },
	{ KI_LEFTGRACE, "wireguard", "left_grace", "left-grace", 0, K_DURATION, "DURATION", "keep a member that left this long (default 5s)" },
	{ KI_DEBOUNCE, "wireguard", "reconcile_debounce", "reconcile-debounce", 0, K_DURATION, "DURATION", "batch membership changes this long (default 200ms)" },
	{ KI_PREFIX4, "overlay", "ipv4_prefix", "overlay-ipv4", 0, K_PREFIX4, "CIDR|none", "IPv4 overlay prefix (default 10.77.0.0/16)" },
	{ KI_ADDR4, "overlay", "ipv4_address", "address-ipv4", 0, K_ADDR4, "IP", "static IPv4 overlay address (default: derived from the key)" },
	{ KI_PREFIX6, "overlay", "ipv6_prefix", "overlay-ipv6", 0, K_PREFIX6, "CIDR", "IPv6 overlay prefix (default: ULA /48 from the cluster name)" },
	{ KI_PREFIXES, "overlay", "advertise_prefixes", "advertise-prefix", 'a', K_PREFIXES, "CIDR", "routed prefix(es) to advertise" },
	{ KI_ROUTES, "overlay", "install_routes", "routes", 0, K_BOOL, NULL, "install routes for advertised prefixes (default yes)" },
	{ KI_STATEDIR, "daemon", "state_dir", "state-dir", 'd', K_PATH, "DIR", "state directory (default /var/lib/gossamer)" },
	{ KI_CTLSOCK, "daemon", "control_socket", "control-socket", 'S', K_PATH, "PATH", "control socket (default /run/gossamer/gossamerd.sock)" },
	{ KI_LOGLEVEL, "daemon", "log_level", "log-level", 'l', K_LOGLEVEL, "error|warn|info|debug", "log level (default info)" },
	{ KI_SYSLOG, "daemon", "syslog", "syslog", 0, K_BOOL, NULL, "also log to syslog" },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

_Static_assert(KI_COUNT <= 64, "origin[] too small");

const char *gsd_backend_name(enum gsd_backend_kind b)
{
	switch (b) {
	case GSD_BACKEND_AUTO: return "auto";
	case GSD_BACKEND_KERNEL: return "kernel";
	case GSD_BACKEND_USERSPACE: return "userspace";
	case GSD_BACKEND_NONE: return "none";
	}
	return "?";
}

void gsd_config_defaults(struct gsd_config *c)
{
	memset(c, 0, sizeof(*c));
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) != 0 || !*host)
		snprintf(host, sizeof(host), "node");
	char *dot = strchr(host, '.');
	if (dot)
		*dot = 0;
	snprintf(c->name, sizeof(c->name), "%.*s", GSM_MAX_NAME, host);
	c->gossip_port = 51821;
	snprintf(c->cluster_name, sizeof(c->cluster_name), "gossamer");
	snprintf(c->cluster_key_file, sizeof(c->cluster_key_file), "/etc/gossamer/cluster.key");
	c->probe_interval_ms = 1000;
	c->sync_interval_ms = 30000;
	snprintf(c->interface, sizeof(c->interface), "gsm0");
	c->wg_port = 51820;
	c->backend = GSD_BACKEND_AUTO;
	snprintf(c->wg_socket_dir, sizeof(c->wg_socket_dir), "/var/run/wireguard");
	snprintf(c->wireguard_go, sizeof(c->wireguard_go), "wireguard-go");
	c->persistent_keepalive = -1;
	c->dead_grace_ms = 30000;
	c->left_grace_ms = 5000;
	c->reconcile_debounce_ms = 200;
	c->has_ipv4_prefix = true;
	gsd_parse_prefix("10.77.0.0/16", &c->ipv4_prefix);
	c->install_routes = true;
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/gossamer");
	snprintf(c->control_socket, sizeof(c->control_socket), "/run/gossamer/gossamerd.sock");
	c->log_level = GSD_LOG_INFO;
}

/* ---- parsing helpers ---- */

int gsd_parse_ip(const char *s, struct gsm_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, a->ip) == 1) {
		a->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, a->ip) == 1) {
		a->family = 6;
		return 0;
	}
	return -EINVAL;
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
	char host[INET6_ADDRSTRLEN + 8];
	uint16_t port;
	if (gsd_split_hostport(s, host, sizeof(host), &port, defport) < 0)
		return -EINVAL;
	if (gsd_parse_ip(host, a) < 0)
		return -EINVAL;
	a->port = port;
	return 0;
}

int gsd_parse_prefix(const char *s, struct gsm_prefix *p)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(s, '/');
	struct gsm_addr a;
	memset(p, 0, sizeof(*p));
	size_t l = slash ? (size_t)(slash - s) : strlen(s);
	if (l >= sizeof(buf) || l == 0)
		return -EINVAL;
	memcpy(buf, s, l);
	buf[l] = 0;
	if (gsd_parse_ip(buf, &a) < 0)
		return -EINVAL;
	unsigned max = a.family == 4 ? 32 : 128;
	unsigned long len = max;
	if (slash) {
		char *end;
		errno = 0;
		len = strtoul(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || len > max)
			return -EINVAL;
	}
	p->family = a.family;
	memcpy(p->ip, a.ip, 16);
	p->len = (uint8_t)len;
	/* host bits must be zero: a prefix with host bits set is a typo */
	for (unsigned bit = (unsigned)len; bit < max; bit++)
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
	char ip[INET6_ADDRSTRLEN];
	if (gsd_format_ip(a, ip, sizeof(ip)) < 0)
		return -EINVAL;
	if (a->family == 6)
		return snprintf(buf, cap, "[%s]:%u", ip, a->port);
	return snprintf(buf, cap, "%s:%u", ip, a->port);
}

int gsd_format_prefix(const struct gsm_prefix *p, char *buf, size_t cap)
{
	struct gsm_addr a = { .family = p->family };
	char ip[INET6_ADDRSTRLEN];
	memcpy(a.ip, p->ip, 16);
	if (gsd_format_ip(&a, ip, sizeof(ip)) < 0)
		return -EINVAL;
	return snprintf(buf, cap, "%s/%u", ip, p->len);
}

static int parse_bool(const char *v, bool *out)
{
	static const char *const t[] = { "1", "yes", "true", "on", NULL };
	static const char *const f[] = { "0", "no", "false", "off", NULL };
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

/* "30s", "200ms", "2m", "1h", bare number = seconds */
static int parse_duration(const char *v, uint32_t *ms)
{
	char *end;
	errno = 0;
	double d = strtod(v, &end);
	if (end == v || errno || d < 0)
		return -EINVAL;
	double mult;
	if (!*end || !strcmp(end, "s"))
		mult = 1000;
	else if (!strcmp(end, "ms"))
		mult = 1;
	else if (!strcmp(end, "m"))
		mult = 60000;
	else if (!strcmp(end, "h"))
		mult = 3600000;
	else
		return -EINVAL;
	double r = d * mult;
	if (r > 86400000.0 * 7)
		return -ERANGE;
	*ms = (uint32_t)r;
	return 0;
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

/* split a list value on commas/whitespace; calls fn for each item */
typedef int (*item_fn)(struct gsd_config *c, const char *item, char *err, size_t errlen);

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
	if (strlen(it) >= GSD_SEED_LEN || gsd_split_hostport(it, host, sizeof(host), &port, 1) < 0) {
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

static const struct keydef *find_key(const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].key, key))
			continue;
		if (section && *section && strcmp(keys[i].section, section))
			continue;
		return &keys[i];
	}
	return NULL;
}

static int set_path(char *dst, size_t cap, const char *v, char *err, size_t errlen)
{
	if (!*v) {
		snprintf(err, errlen, "empty path");
		return -EINVAL;
	}
	if (strlen(v) >= cap) {
		snprintf(err, errlen, "path too long");
		return -EINVAL;
	}
	snprintf(dst, cap, "%s", v);
	return 0;
}

static int set_key(struct gsd_config *c, const struct keydef *k, const char *v, char *err,
		   size_t errlen)
{
	bool b;
	uint32_t ms;
	int r;
	switch (k->id) {
	case KI_NAME:
		if (!valid_name(v)) {
			snprintf(err, errlen, "'%s' is not a valid name (1-%d of A-Z a-z 0-9 . _ -)", v,
				 GSM_MAX_NAME);
			return -EINVAL;
		}
		snprintf(c->name, sizeof(c->name), "%s", v);
		return 0;
	case KI_LABELS:
		return for_items(c, v, item_label, err, errlen);
	case KI_PUBLIC:
	case KI_RELAY:
	case KI_SPAWN:
	case KI_WGSTOP:
	case KI_ROUTES:
	case KI_SYSLOG:
		if (parse_bool(v, &b) < 0) {
			snprintf(err, errlen, "'%s' is not a boolean (yes/no, true/false, on/off, 1/0)", v);
			return -EINVAL;
		}
		if (k->id == KI_PUBLIC)
			c->public_node = b;
		else if (k->id == KI_RELAY)
			c->relay = b;
		else if (k->id == KI_SPAWN)
			c->spawn_wireguard_go = b;
		else if (k->id == KI_WGSTOP)
			c->stop_wireguard_go = b;
		else if (k->id == KI_ROUTES)
			c->install_routes = b;
		else
			c->syslog = b;
		return 0;
	case KI_BIND:
		return for_items(c, v, item_bind, err, errlen);
	case KI_GPORT:
	case KI_WGPORT:
		if (parse_port(v, k->id == KI_GPORT ? &c->gossip_port : &c->wg_port) < 0) {
			snprintf(err, errlen, "'%s' is not a port (1-65535)", v);
			return -EINVAL;
		}
		return 0;
	case KI_SEEDS:
		return for_items(c, v, item_seed, err, errlen);
	case KI_CLUSTER:
		if (!valid_name(v) || strlen(v) > GSM_MAX_CLUSTER_NAME) {
			snprintf(err, errlen, "'%s' is not a valid cluster name (1-%d of A-Z a-z 0-9 . _ -)",
				 v, GSM_MAX_CLUSTER_NAME);
			return -EINVAL;
		}
		snprintf(c->cluster_name, sizeof(c->cluster_name), "%s", v);
		return 0;
	case KI_CKEY:
		return set_path(c->cluster_key_file, sizeof(c->cluster_key_file), v, err, errlen);
	case KI_SOCKDIR:
		return set_path(c->wg_socket_dir, sizeof(c->wg_socket_dir), v, err, errlen);
	case KI_WGGO:
		return set_path(c->wireguard_go, sizeof(c->wireguard_go), v, err, errlen);
	case KI_STATEDIR:
		return set_path(c->state_dir, sizeof(c->state_dir), v, err, errlen);
	case KI_CTLSOCK:
		r = set_path(c->control_socket, sizeof(c->control_socket), v, err, errlen);
		if (r == 0 && strlen(v) >= 108) {
			snprintf(err, errlen, "unix socket path longer than 107 bytes");
			return -EINVAL;
		}
		return r;
	case KI_PROBE:
	case KI_SYNC:
	case KI_DEADGRACE:
	case KI_LEFTGRACE:
	case KI_DEBOUNCE:
		r = parse_duration(v, &ms);
		if (r < 0) {
			snprintf(err, errlen, "'%s' is not a duration (e.g. 500ms, 30s, 2m)", v);
			return -EINVAL;
		}
		if ((k->id == KI_PROBE && (ms < 50 || ms > 60000)) ||
		    (k->id == KI_SYNC && (ms < 1000 || ms > 3600000))) {
			snprintf(err, errlen, "'%s' out of range (%s)", v,
				 k->id == KI_PROBE ? "50ms..60s" : "1s..1h");
			return -EINVAL;
		}
		if (k->id == KI_PROBE)
			c->probe_interval_ms = ms;
		else if (k->id == KI_SYNC)
			c->sync_interval_ms = ms;
		else if (k->id == KI_DEADGRACE)
			c->dead_grace_ms = ms;
		else if (k->id == KI_LEFTGRACE)
			c->left_grace_ms = ms;
		else
			c->reconcile_debounce_ms = ms;
		return 0;
	case KI_IFNAME:
		if (!*v || strlen(v) >= GSD_IFNAMSIZ || strpbrk(v, "/ \t:") || !strcmp(v, ".") ||
		    !strcmp(v, "..")) {
			snprintf(err, errlen, "'%s' is not a valid interface name (1-15 chars, no '/', ':' or spaces)", v);
			return -EINVAL;
		}
		snprintf(c->interface, sizeof(c->interface), "%s", v);
		return 0;
	case KI_BACKEND:
		if (!strcmp(v, "auto"))
			c->backend = GSD_BACKEND_AUTO;
		else if (!strcmp(v, "kernel"))
			c->backend = GSD_BACKEND_KERNEL;
		else if (!strcmp(v, "userspace"))
			c->backend = GSD_BACKEND_USERSPACE;
		else if (!strcmp(v, "none"))
			c->backend = GSD_BACKEND_NONE;
		else {
			snprintf(err, errlen, "'%s' is not one of auto, kernel, userspace, none", v);
			return -EINVAL;
		}
		return 0;
	case KI_KEEPALIVE:
		if (!strcmp(v, "auto")) {
			c->persistent_keepalive = -1;
			return 0;
		}
		if (!strcmp(v, "off")) {
			c->persistent_keepalive = 0;
			return 0;
		}
		{
			char *end;
			errno = 0;
			long s = strtol(v, &end, 10);
			if (!*v || *end || errno || s < 0 || s > 65535) {
				snprintf(err, errlen, "'%s' is not auto, off or seconds (0-65535)", v);
				return -EINVAL;
			}
			c->persistent_keepalive = (int)s;
		}
		return 0;
	case KI_ENDPOINTS:
		return for_items(c, v, item_endpoint, err, errlen);
	case KI_PREFIX4:
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
			snprintf(err, errlen, "prefix length /%u out of range (/8../30)", c->ipv4_prefix.len);
			return -EINVAL;
		}
		c->has_ipv4_prefix = true;
		return 0;
	case KI_ADDR4:
		if (gsd_parse_ip(v, &c->ipv4_address) < 0 || c->ipv4_address.family != 4) {
			snprintf(err, errlen, "'%s' is not an IPv4 address", v);
			return -EINVAL;
		}
		c->has_ipv4_address = true;
		return 0;
	case KI_PREFIX6:
		r = gsd_parse_prefix(v, &c->ipv6_prefix);
		if (r < 0 || c->ipv6_prefix.family != 6) {
			snprintf(err, errlen, "'%s' is not an IPv6 CIDR prefix%s", v,
				 r == -EDOM ? " (host bits set)" : "");
			return -EINVAL;
		}
		if (c->ipv6_prefix.len > 64) {
			snprintf(err, errlen, "prefix length /%u too long (at most /64)", c->ipv6_prefix.len);
			return -EINVAL;
		}
		c->has_ipv6_prefix = true;
		return 0;
	case KI_PREFIXES:
		return for_items(c, v, item_prefix, err, errlen);
	case KI_LOGLEVEL:
		r = gsd_log_parse_level(v);
		if (r < 0) {
			snprintf(err, errlen, "'%s' is not one of error, warn, info, debug", v);
			return -EINVAL;
		}
		c->log_level = r;
		return 0;
	case KI_COUNT:
		break;
	}
	snprintf(err, errlen, "internal error");
	return -EINVAL;
}

static bool is_list(const struct keydef *k)
{
	return k->type == K_LABELS || k->type == K_BINDS || k->type == K_SEEDS ||
	       k->type == K_ENDPOINTS || k->type == K_PREFIXES;
}

static void clear_list(struct gsd_config *c, const struct keydef *k)
{
	switch (k->id) {
	case KI_LABELS: c->n_labels = 0; break;
	case KI_BIND: c->n_binds = 0; break;
	case KI_SEEDS: c->n_seeds = 0; break;
	case KI_ENDPOINTS: c->n_endpoints = 0; break;
	case KI_PREFIXES: c->n_prefixes = 0; break;
	default: break;
	}
}

int gsd_config_set(struct gsd_config *c, const char *section, const char *key, const char *value,
		   char *err, size_t errlen)
{
	const struct keydef *k = find_key(section, key);
	if (!k) {
		snprintf(err, errlen, "unknown key");
		return -EINVAL;
	}
	return set_key(c, k, value, err, errlen);
}

/* ---- file ---- */

struct file_ctx {
	FILE *f;
	int line;
	struct gsd_config *c;
	const char *path;
	char *msg;
	size_t msglen;
	int failed;
};

static char *counting_reader(char *str, int num, void *stream)
{
	struct file_ctx *fc = stream;
	char *r = fgets(str, num, fc->f);
	if (r)
		fc->line++;
	return r;
}

static int file_handler(void *user, const char *section, const char *name, const char *value)
{
	struct file_ctx *fc = user;
	char err[512];
	if (fc->failed)
		return 0;
	if (!name) /* section header only (INI_CALL_HANDLER_ON_NEW_SECTION) */
		return 1;
	const struct keydef *k = NULL;
	bool section_known = false;
	for (size_t i = 0; i < NKEYS; i++)
		if (!strcmp(keys[i].section, section))
			section_known = true;
	if (!section_known) {
		snprintf(fc->msg, fc->msglen, "%s:%d: %s: unknown section [%s] (known: node, gossip, wireguard, overlay, daemon)",
			 fc->path, fc->line, name, section);
		fc->failed = 1;
		return 0;
	}
	k = find_key(section, name);
	if (!k) {
		const struct keydef *other = find_key(NULL, name);
		if (other)
			snprintf(fc->msg, fc->msglen, "%s:%d: %s: belongs in section [%s], not [%s]",
				 fc->path, fc->line, name, other->section, section);
		else
			snprintf(fc->msg, fc->msglen, "%s:%d: %s: unknown key in section [%s]", fc->path,
				 fc->line, name, section);
		fc->failed = 1;
		return 0;
	}
	int prev = fc->c->origin[k->id];
	if (!is_list(k) && prev > 0) {
		snprintf(fc->msg, fc->msglen, "%s:%d: %s: set twice (first on line %d)", fc->path,
			 fc->line, name, prev);
		fc->failed = 1;
		return 0;
	}
	if (set_key(fc->c, k, value, err, sizeof(err)) < 0) {
		snprintf(fc->msg, fc->msglen, "%s:%d: %s: %s", fc->path, fc->line, name, err);
		fc->failed = 1;
		return 0;
	}
	fc->c->origin[k->id] = fc->line;
	return 1;
}

int gsd_config_load_file(struct gsd_config *c, const char *path, char *msg, size_t msglen)
{
	struct file_ctx fc = { .c = c, .path = path, .msg = msg, .msglen = msglen };
	fc.f = fopen(path, "re");
	if (!fc.f) {
		int e = errno;
		snprintf(msg, msglen, "%s: cannot read: %s", path, strerror(e));
		return -e;
	}
	int r = ini_parse_stream(counting_reader, &fc, file_handler, &fc);
	fclose(fc.f);
	if (fc.failed)
		return -EINVAL;
	if (r != 0) {
		snprintf(msg, msglen, "%s:%d: syntax error (expected [section] or key = value)", path,
			 r > 0 ? r : fc.line);
		return -EINVAL;
	}
	snprintf(c->config_file, sizeof(c->config_file), "%s", path);
	return 0;
}

static void where(const struct gsd_config *c, enum kid id, char *buf, size_t cap)
{
	const struct keydef *k = NULL;
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].id == id)
			k = &keys[i];
	if (c->origin[id] > 0)
		snprintf(buf, cap, "%s:%d: %s", c->config_file, c->origin[id], k->key);
	else if (c->origin[id] < 0)
		snprintf(buf, cap, "--%s", k->flag);
	else
		snprintf(buf, cap, "%s", k->key);
}

int gsd_config_validate(struct gsd_config *c, char *msg, size_t msglen)
{
	char w[PATH_MAX + 64];
	if (c->has_ipv4_address) {
		if (!c->has_ipv4_prefix) {
			where(c, KI_ADDR4, w, sizeof(w));
			snprintf(msg, msglen, "%s: a static IPv4 address needs ipv4_prefix", w);
			return -EINVAL;
		}
		const struct gsm_prefix *p = &c->ipv4_prefix;
		uint32_t net, ip;
		memcpy(&net, p->ip, 4);
		net = ntohl(net);
		memcpy(&ip, c->ipv4_address.ip, 4);
		ip = ntohl(ip);
		uint32_t mask = p->len ? 0xffffffffu << (32 - p->len) : 0;
		if ((ip & mask) != net || ip == net || ip == (net | ~mask)) {
			char pb[64];
			where(c, KI_ADDR4, w, sizeof(w));
			gsd_format_prefix(p, pb, sizeof(pb));
			snprintf(msg, msglen, "%s: not a host address inside ipv4_prefix %s", w, pb);
			return -EINVAL;
		}
	}
	if (c->public_node && c->n_endpoints == 0) {
		/* fine: endpoints are learned from observation; warn only */
	}
	if (c->backend != GSD_BACKEND_NONE && c->backend != GSD_BACKEND_KERNEL &&
	    c->spawn_wireguard_go && strchr(c->wireguard_go, '/') &&
	    access(c->wireguard_go, X_OK) != 0) {
		where(c, KI_WGGO, w, sizeof(w));
		snprintf(msg, msglen, "%s: %s is not executable", w, c->wireguard_go);
		return -EINVAL;
	}
	return 0;
}

/* ---- command line ---- */

enum {
	OPT_BASE = 1000, /* + key index */
	OPT_CONFIG = 2000,
	OPT_HELP,
	OPT_VERSION,
	OPT_CHECK,
	OPT_GENKEY,
	OPT_NOROUTES,
};

void gsd_cli_usage(FILE *f)
{
	fprintf(f,
		"usage: gossamerd [OPTIONS]\n"
		"\n"
		"The gossamer mesh daemon.  Every option can also be set in the config\n"
		"file (docs/config.md); flags override the file.\n"
		"\n"
		"  -c, --config FILE              INI config file (default: none)\n"
		"      --check-config             validate the configuration and exit\n"
		"      --generate-cluster-key FILE  write a new cluster key ring (0600) and exit\n"
		"  -h, --help                     this text\n"
		"  -V, --version                  print the version\n");
	const char *section = "";
	for (size_t i = 0; i < NKEYS; i++) {
		const struct keydef *k = &keys[i];
		if (strcmp(section, k->section)) {
			section = k->section;
			fprintf(f, "\n [%s]\n", section);
		}
		char lhs[80];
		if (k->type == K_BOOL)
			snprintf(lhs, sizeof(lhs), "%c%c%s--%s[=yes|no]", k->shortopt ? '-' : ' ',
				 k->shortopt ? k->shortopt : ' ', k->shortopt ? ", " : "  ", k->flag);
		else
			snprintf(lhs, sizeof(lhs), "%c%c%s--%s %s", k->shortopt ? '-' : ' ',
				 k->shortopt ? k->shortopt : ' ', k->shortopt ? ", " : "  ", k->flag,
				 k->arg);
		fprintf(f, "  %-44s %s%s  [%s]\n", lhs, k->help, is_list(k) ? " (repeatable)" : "",
			k->key);
	}
	fprintf(f, "      --no-routes                                  same as --routes=no\n"
		   "\nExit codes: 0 ok, 1 runtime failure, 2 bad configuration / keys / backend.\n");
}

int gsd_cli_parse(struct gsd_cli *cli, int argc, char **argv, char *msg, size_t msglen)
{
	static struct option opts[NKEYS + 8];
	char shorts[128] = "+c:hV";
	size_t n = 0;
	memset(cli, 0, sizeof(*cli));
	for (size_t i = 0; i < NKEYS; i++) {
		opts[n].name = keys[i].flag;
		opts[n].has_arg = keys[i].type == K_BOOL ? optional_argument : required_argument;
		opts[n].flag = NULL;
		opts[n].val = OPT_BASE + (int)i;
		n++;
		if (keys[i].shortopt) {
			size_t l = strlen(shorts);
			shorts[l] = keys[i].shortopt;
			shorts[l + 1] = ':';
			shorts[l + 2] = 0;
		}
	}
	opts[n++] = (struct option){ "config", required_argument, NULL, 'c' };
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n++] = (struct option){ "version", no_argument, NULL, 'V' };
	opts[n++] = (struct option){ "check-config", no_argument, NULL, OPT_CHECK };
	opts[n++] = (struct option){ "generate-cluster-key", required_argument, NULL, OPT_GENKEY };
	opts[n++] = (struct option){ "no-routes", no_argument, NULL, OPT_NOROUTES };
	opts[n] = (struct option){ 0 };

	optind = 0; /* full reset (GNU) so parsing is repeatable in tests */
	opterr = 0;
	for (;;) {
		int idx = -1;
		int o = getopt_long(argc, argv, shorts, opts, &idx);
		if (o == -1)
			break;
		switch (o) {
		case 'c':
			cli->config_file = optarg;
			continue;
		case 'h':
			cli->help = true;
			continue;
		case 'V':
			cli->version = true;
			continue;
		case OPT_CHECK:
			cli->check_config = true;
			continue;
		case OPT_GENKEY:
			cli->gen_cluster_key = optarg;
			continue;
		case OPT_NOROUTES:
			if (cli->n >= GSD_MAX_FLAGS)
				goto toomany;
			cli->ov[cli->n++] = (typeof(cli->ov[0])){ "install_routes", "no", "no-routes" };
			continue;
		case '?':
		case ':': {
			const char *a = (optind > 0 && optind <= argc) ? argv[optind - 1] : "?";
			if (optopt && optopt < 256 && isprint(optopt))
				snprintf(msg, msglen, "-%c: unknown option or missing argument (see --help)", optopt);
			else
				snprintf(msg, msglen, "%s: unknown option or missing argument (see --help)", a);
			return -EINVAL;
		}
		default:
			break;
		}
		size_t ki;
		if (o >= OPT_BASE && o < OPT_BASE + (int)NKEYS) {
			ki = (size_t)(o - OPT_BASE);
		} else {
			ki = NKEYS;
			for (size_t i = 0; i < NKEYS; i++)
				if (keys[i].shortopt == o)
					ki = i;
			if (ki == NKEYS) {
				snprintf(msg, msglen, "unknown option (see --help)");
				return -EINVAL;
			}
		}
		if (cli->n >= GSD_MAX_FLAGS)
			goto toomany;
		const char *v = optarg;
		if (keys[ki].type == K_BOOL && !v)
			v = "yes";
		cli->ov[cli->n++] = (typeof(cli->ov[0])){ keys[ki].key, v, keys[ki].flag };
	}
	if (optind < argc) {
		snprintf(msg, msglen, "%s: unexpected argument (see --help)", argv[optind]);
		return -EINVAL;
	}
	return 0;
toomany:
	snprintf(msg, msglen, "too many options");
	return -EINVAL;
}

int gsd_config_build(struct gsd_config *c, const struct gsd_cli *cli, char *msg, size_t msglen)
{
	gsd_config_defaults(c);
	if (cli->config_file) {
		int r = gsd_config_load_file(c, cli->config_file, msg, msglen);
		if (r < 0)
			return -EINVAL;
	}
	bool cleared[KI_COUNT] = { 0 };
	for (int i = 0; i < cli->n; i++) {
		const struct keydef *k = find_key(NULL, cli->ov[i].key);
		char err[512];
		if (!k) {
			snprintf(msg, msglen, "--%s: unknown option", cli->ov[i].flag);
			return -EINVAL;
		}
		if (is_list(k) && !cleared[k->id]) {
			clear_list(c, k);
			cleared[k->id] = true;
		}
		if (set_key(c, k, cli->ov[i].value, err, sizeof(err)) < 0) {
			snprintf(msg, msglen, "--%s: %s", cli->ov[i].flag, err);
			return -EINVAL;
		}
		c->origin[k->id] = -1;
	}
	return gsd_config_validate(c, msg, msglen);
}
