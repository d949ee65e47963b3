/*
 * daemon/config.c - configuration: defaults, the INI file, flags on top,
 * cross-key validation.
 *
 * One table describes every key (config_parse.h): its INI section and
 * name, its long flag, its type and its help text.  The file parser (inih,
 * here) and the flag parser (getopt_long, config_cli.c) both funnel into
 * gsd_config_key_set() (config_parse.c), so a key behaves the same
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
#include <errno.h>
#include <ini.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config_parse.h"
#include "daemon/log.h"
#include "daemon/overlay.h"

const char *gsd_backend_name(enum gsd_backend_kind b)
{
	switch (b) {
	case GSD_BACKEND_AUTO:
		return "auto";
	case GSD_BACKEND_KERNEL:
		return "kernel";
	case GSD_BACKEND_USERSPACE:
		return "userspace";
	case GSD_BACKEND_NONE:
		return "none";
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
	c->replay_window_ms = 60000;
	c->max_members = 10000;
	c->left_grace_ms = 5000;
	c->reconcile_debounce_ms = 200;
	c->has_ipv4_prefix = true;
	gsd_parse_prefix("10.77.0.0/16", &c->ipv4_prefix);
	c->install_routes = true;
	c->route_table = GSD_ROUTE_TABLE_DEFAULT;
	c->route_priority = GSD_ROUTE_PRIORITY_DEFAULT;
	c->exit_table = GSD_EXIT_TABLE_DEFAULT;
	c->exit_priority = GSD_EXIT_PRIORITY_DEFAULT;
	c->fwmark = GSD_FWMARK_DEFAULT;
	snprintf(c->state_dir, sizeof(c->state_dir), "/var/lib/gossamer");
	snprintf(c->control_socket, sizeof(c->control_socket), "/run/gossamer/gossamerd.sock");
	c->log_level = GSD_LOG_INFO;
	c->authority_mode = GSD_AUTH_MODE_DEFAULT;
}

static void clear_list(struct gsd_config *c, const struct gsd_keydef *k)
{
	switch (k->id) {
	case KI_LABELS:
		c->n_labels = 0;
		break;
	case KI_BIND:
		c->n_binds = 0;
		break;
	case KI_SEEDS:
		c->n_seeds = 0;
		break;
	case KI_EXITNODE:
		c->n_exit_nodes = 0;
		break;
	case KI_ENDPOINTS:
		c->n_endpoints = 0;
		break;
	case KI_PREFIXES:
		c->n_prefixes = 0;
		break;
	case KI_STATIC:
		c->n_static_peers = 0;
		break;
	case KI_ACCEPT:
		c->n_accept = 0;
		break;
	case KI_AUTHORITY:
		c->n_authorities = 0;
		break;
	default:
		break;
	}
}

int gsd_config_set(struct gsd_config *c, const char *section, const char *key, const char *value,
		   char *err, size_t errlen)
{
	const struct gsd_keydef *k = gsd_config_key_find(section, key);
	if (!k) {
		snprintf(err, errlen, "unknown key");
		return -EINVAL;
	}
	return gsd_config_key_set(c, k, value, err, errlen);
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
	const struct gsd_keydef *k = NULL;
	bool section_known = false;
	for (size_t i = 0; i < KI_COUNT; i++)
		if (!strcmp(gsd_config_keys[i].section, section))
			section_known = true;
	if (!section_known) {
		snprintf(fc->msg, fc->msglen,
			 "%s:%d: %s: unknown section [%s] (known: node, gossip, wireguard, "
			 "overlay, daemon, authority)",
			 fc->path, fc->line, name, section);
		fc->failed = 1;
		return 0;
	}
	k = gsd_config_key_find(section, name);
	if (!k) {
		const struct gsd_keydef *other = gsd_config_key_find(NULL, name);
		if (other)
			snprintf(fc->msg, fc->msglen,
				 "%s:%d: %s: belongs in section [%s], not [%s]", fc->path, fc->line,
				 name, other->section, section);
		else
			snprintf(fc->msg, fc->msglen, "%s:%d: %s: unknown key in section [%s]",
				 fc->path, fc->line, name, section);
		fc->failed = 1;
		return 0;
	}
	int prev = fc->c->origin[k->id];
	if (!gsd_config_key_is_list(k) && prev > 0) {
		snprintf(fc->msg, fc->msglen, "%s:%d: %s: set twice (first on line %d)", fc->path,
			 fc->line, name, prev);
		fc->failed = 1;
		return 0;
	}
	if (gsd_config_key_set(fc->c, k, value, err, sizeof(err)) < 0) {
		snprintf(fc->msg, fc->msglen, "%s:%d: %s: %s", fc->path, fc->line, name, err);
		fc->failed = 1;
		return 0;
	}
	fc->c->origin[k->id] = fc->line;
	return 1;
}

int gsd_config_load_file(struct gsd_config *c, const char *path, char *msg, size_t msglen)
{
	struct file_ctx fc = {.c = c, .path = path, .msg = msg, .msglen = msglen};
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
		snprintf(msg, msglen, "%s:%d: syntax error (expected [section] or key = value)",
			 path, r > 0 ? r : fc.line);
		return -EINVAL;
	}
	snprintf(c->config_file, sizeof(c->config_file), "%s", path);
	return 0;
}

static void where(const struct gsd_config *c, enum gsd_kid id, char *buf, size_t cap)
{
	const struct gsd_keydef *k = &gsd_config_keys[id];
	if (c->origin[id] > 0)
		snprintf(buf, cap, "%s:%d: %s", c->config_file, c->origin[id], k->key);
	else if (c->origin[id] < 0)
		snprintf(buf, cap, "--%s", k->flag);
	else
		snprintf(buf, cap, "%s", k->key);
}

/* the overlay prefixes, defaults included (the IPv6 one derived from the
 * cluster name when not set) */
static size_t overlay_prefixes(const struct gsd_config *c, struct gsm_prefix out[2])
{
	size_t n = 0;
	if (c->has_ipv4_prefix)
		out[n++] = c->ipv4_prefix;
	if (c->has_ipv6_prefix)
		out[n++] = c->ipv6_prefix;
	else
		gsd_overlay_ula48(c->cluster_name, &out[n++]);
	return n;
}

/* a routed prefix must not be a default route nor overlap the overlay */
static int check_routed(const struct gsd_config *c, enum gsd_kid id, const struct gsm_prefix *p,
			const char *what, char *msg, size_t msglen)
{
	struct gsm_prefix ov[2];
	size_t n_ov = overlay_prefixes(c, ov);
	char w[PATH_MAX + 64], pb[64], ob[64];
	gsd_format_prefix(p, pb, sizeof(pb));
	where(c, id, w, sizeof(w));
	if (p->len == 0) {
		snprintf(msg, msglen,
			 "%s: %s %s is a default route: members never route all traffic "
			 "through one member",
			 w, what, pb);
		return -EINVAL;
	}
	for (size_t i = 0; i < n_ov; i++)
		if (gsm_prefix_overlaps(p, &ov[i])) {
			gsd_format_prefix(&ov[i], ob, sizeof(ob));
			snprintf(msg, msglen, "%s: %s %s overlaps the overlay prefix %s%s", w, what,
				 pb, ob,
				 ov[i].family == 6 && !c->has_ipv6_prefix ? " (ipv6_prefix default)"
									  : "");
			return -EINVAL;
		}
	return 0;
}

static int validate_routed(const struct gsd_config *c, char *msg, size_t msglen)
{
#ifndef GSD_TEST_ATTACKER /* tests/net's gossamerd-attacker advertises anything */
	for (int i = 0; i < c->n_prefixes; i++) {
		int r = check_routed(c, KI_PREFIXES, &c->prefixes[i], "prefix", msg, msglen);
		if (r < 0)
			return r;
	}
#endif
	if (c->has_client_pool) {
		int r = check_routed(c, KI_CLIENTPOOL, &c->client_pool, "client_pool", msg, msglen);
		if (r < 0)
			return r;
	}
	for (int i = 0; i < c->n_static_peers; i++)
		for (int k = 0; k < c->static_peers[i].n_allowed; k++) {
			int r = check_routed(c, KI_STATIC, &c->static_peers[i].allowed[k],
					     "static peer allowed IP", msg, msglen);
			if (r < 0)
				return r;
		}
	return 0;
}

/* our two tables and three rules must not collide: the route reconciler
 * owns every proto-77 route of route_table (it would delete the exit's
 * default routes there), and rules at one priority have no defined order */
static int validate_tables(const struct gsd_config *c, char *msg, size_t msglen)
{
	char w[PATH_MAX + 64];
	if (c->exit_table == c->route_table) {
		where(c, KI_EXITTABLE, w, sizeof(w));
		snprintf(msg, msglen, "%s: exit_table %u is route_table: they must differ", w,
			 c->exit_table);
		return -EINVAL;
	}
	if (c->exit_priority == c->route_priority || c->exit_priority + 1 == c->route_priority) {
		where(c, KI_EXITPRIO, w, sizeof(w));
		snprintf(msg, msglen,
			 "%s: exit_priority %u and %u must both differ from route_priority %u", w,
			 c->exit_priority, c->exit_priority + 1, c->route_priority);
		return -EINVAL;
	}
	return 0;
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
			snprintf(msg, msglen, "%s: not a host address inside ipv4_prefix %s", w,
				 pb);
			return -EINVAL;
		}
	}
	if (validate_routed(c, msg, msglen) < 0)
		return -EINVAL;
	if (validate_tables(c, msg, msglen) < 0)
		return -EINVAL;
	if (gsd_config_authority_mode(c) != GSD_AUTH_MODE_OFF && !c->n_authorities) {
		where(c, KI_AUTHMODE, w, sizeof(w));
		snprintf(msg, msglen, "%s: %s needs at least one authority key", w,
			 gsd_authority_mode_name(gsd_config_authority_mode(c)));
		return -EINVAL;
	}
	if (c->join_key[0] && !c->n_authorities) {
		where(c, KI_JOINKEY, w, sizeof(w));
		snprintf(msg, msglen, "%s: a join key needs at least one authority key", w);
		return -EINVAL;
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

int gsd_config_build(struct gsd_config *c, const struct gsd_cli *cli, char *msg, size_t msglen)
{
	gsd_config_defaults(c);
	if (cli->config_file) {
		int r = gsd_config_load_file(c, cli->config_file, msg, msglen);
		if (r < 0)
			return -EINVAL;
	}
	bool cleared[KI_COUNT] = {0};
	for (int i = 0; i < cli->n; i++) {
		const struct gsd_keydef *k = gsd_config_key_find(NULL, cli->ov[i].key);
		char err[512];
		if (!k) {
			snprintf(msg, msglen, "--%s: unknown option", cli->ov[i].flag);
			return -EINVAL;
		}
		if (gsd_config_key_is_list(k) && !cleared[k->id]) {
			clear_list(c, k);
			cleared[k->id] = true;
		}
		if (gsd_config_key_set(c, k, cli->ov[i].value, err, sizeof(err)) < 0) {
			snprintf(msg, msglen, "--%s: %s", cli->ov[i].flag, err);
			return -EINVAL;
		}
		c->origin[k->id] = -1;
	}
	return gsd_config_validate(c, msg, msglen);
}
