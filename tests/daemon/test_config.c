/* tests/daemon/test_config.c - config file + flags: good files, every kind
 * of bad file with its "file:line: key: problem" message, flag overrides. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/backend.h"
#include "daemon/config.h"
#include "daemon/log.h"

static char tmpdir[256];

/* WireGuard public keys for static_peers (44 base64 characters) */
#define SPKEY  "ERERERERERERERERERERERERERERERERERERERERERE="
#define SPKEY2 "IiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiIiI="
#define BADKEY "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!="

static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static int build(struct gsd_config *c, char *msg, size_t msglen, int argc, const char **argv)
{
	struct gsd_cli cli;
	int r = gsd_cli_parse(&cli, argc, (char **)argv, msg, msglen);
	if (r < 0)
		return r;
	return gsd_config_build(c, &cli, msg, msglen);
}

static void test_defaults(void **state)
{
	struct gsd_config c;
	char msg[512];
	const char *argv[] = {"gossamerd"};
	assert_int_equal(build(&c, msg, sizeof(msg), 1, argv), 0);
	assert_int_equal(c.gossip_port, 51821);
	assert_int_equal(c.wg_port, 51820);
	assert_string_equal(c.interface, "gsm0");
	assert_int_equal(c.backend, GSD_BACKEND_AUTO);
	assert_string_equal(c.wg_socket_dir, "/var/run/wireguard");
	assert_true(c.has_ipv4_prefix);
	char p[64];
	gsd_format_prefix(&c.ipv4_prefix, p, sizeof(p));
	assert_string_equal(p, "10.77.0.0/16");
	assert_int_equal(c.persistent_keepalive, -1);
	assert_true(c.install_routes);
	assert_int_equal(c.dead_grace_ms, 30000);
	assert_true(strlen(c.name) > 0);
	assert_int_equal(c.route_table, 51821);
	assert_int_equal(c.route_priority, 5210);
	assert_int_equal(c.max_members, 10000);
	assert_int_equal(c.replay_window_ms, 60000);
	assert_int_equal(c.mtu, 0); /* auto */
	assert_int_equal(c.n_static_peers, 0);
}

static void test_good_file(void **state)
{
	const char *path =
	    write_file("good.conf", "# comment\n"
				    "[node]\n"
				    "name = alpha-1\n"
				    "labels = role=web, zone=eu\n"
				    "labels = tier=1\n"
				    "public = yes\n"
				    "relay = off\n"
				    "\n"
				    "[gossip]\n"
				    "bind = 127.0.0.1\n"
				    "port = 7946\n"
				    "seeds = 10.0.0.1:7946, [fd00::1]:7000 seed.example.org\n"
				    "cluster_name = prod\n"
				    "cluster_key_file = /etc/k\n"
				    "probe_interval = 500ms\n"
				    "sync_interval = 1m\n"
				    "[wireguard]\n"
				    "interface = wg-mesh\n"
				    "listen_port = 51000\n"
				    "backend = userspace\n"
				    "socket_dir = /tmp/wgsock\n"
				    "spawn_wireguard_go = true\n"
				    "persistent_keepalive = 15\n"
				    "endpoints = 198.51.100.7, [2001:db8::1]:51000\n"
				    "dead_grace = 45s\n"
				    "left_grace = 2s\n"
				    "reconcile_debounce = 100ms\n"
				    "[overlay]\n"
				    "ipv4_prefix = 10.99.0.0/16\n"
				    "ipv4_address = 10.99.3.4\n"
				    "ipv6_prefix = fd12:3456:789a::/48\n"
				    "advertise_prefixes = 192.168.10.0/24\n"
				    "install_routes = no\n"
				    "[daemon]\n"
				    "state_dir = /tmp/st\n"
				    "control_socket = /tmp/ctl.sock\n"
				    "log_level = debug\n"
				    "syslog = no\n");
	struct gsd_config c;
	char msg[512] = "";
	const char *argv[] = {"gossamerd", "-c", path};
	int r = build(&c, msg, sizeof(msg), 3, argv);
	if (r)
		fprintf(stderr, "%s\n", msg);
	assert_int_equal(r, 0);
	assert_string_equal(c.name, "alpha-1");
	assert_int_equal(c.n_labels, 3);
	assert_string_equal(c.labels[0].key, "role");
	assert_string_equal(c.labels[0].value, "web");
	assert_string_equal(c.labels[2].key, "tier");
	assert_true(c.public_node);
	assert_false(c.relay);
	assert_int_equal(c.n_binds, 1);
	assert_int_equal(c.gossip_port, 7946);
	assert_int_equal(c.n_seeds, 3);
	assert_string_equal(c.seeds[1], "[fd00::1]:7000");
	assert_string_equal(c.seeds[2], "seed.example.org");
	assert_string_equal(c.cluster_name, "prod");
	assert_int_equal(c.probe_interval_ms, 500);
	assert_int_equal(c.sync_interval_ms, 60000);
	assert_string_equal(c.interface, "wg-mesh");
	assert_int_equal(c.wg_port, 51000);
	assert_int_equal(c.backend, GSD_BACKEND_USERSPACE);
	assert_true(c.spawn_wireguard_go);
	assert_int_equal(c.persistent_keepalive, 15);
	assert_int_equal(c.n_endpoints, 2);
	assert_int_equal(c.endpoints[0].port, 0);
	assert_int_equal(c.endpoints[1].family, 6);
	assert_int_equal(c.endpoints[1].port, 51000);
	assert_int_equal(c.dead_grace_ms, 45000);
	assert_int_equal(c.left_grace_ms, 2000);
	assert_int_equal(c.reconcile_debounce_ms, 100);
	assert_true(c.has_ipv4_address);
	assert_true(c.has_ipv6_prefix);
	assert_int_equal(c.n_prefixes, 1);
	assert_false(c.install_routes);
	assert_string_equal(c.state_dir, "/tmp/st");
	assert_int_equal(c.log_level, GSD_LOG_DEBUG);
}

struct bad_case {
	const char *text;
	const char *expect; /* expected message after the "path:" prefix */
};

static void test_bad_files(void **state)
{
	static const struct bad_case cases[] = {
	    {"[node]\nname = a\nfrobnicate = 1\n", "3: frobnicate: unknown key in section [node]"},
	    {"[nodes]\nname = a\n", "2: name: unknown section [nodes]"},
	    {"[gossip]\nname = a\n", "2: name: belongs in section [node], not [gossip]"},
	    {"[gossip]\n\nport = 70000\n", "3: port: '70000' is not a port (1-65535)"},
	    {"[gossip]\nport = 1\nport = 2\n", "3: port: set twice (first on line 2)"},
	    {"[node]\npublic = maybe\n", "2: public: 'maybe' is not a boolean"},
	    {"[wireguard]\nbackend = magic\n",
	     "2: backend: 'magic' is not one of auto, kernel, userspace, none"},
	    {"[overlay]\nipv4_prefix = 10.77.1.0/16\n",
	     "2: ipv4_prefix: '10.77.1.0/16' is not an IPv4 CIDR prefix (host bits set)"},
	    {"[overlay]\nadvertise_prefixes = 10.1.0.0/16, banana\n",
	     "2: advertise_prefixes: 'banana' is not a CIDR prefix"},
	    {"[gossip]\nprobe_interval = soon\n", "2: probe_interval: 'soon' is not a duration"},
	    {"[node]\nname = has space\n", "2: name: 'has space' is not a valid name"},
	    {"[node]\nlabels = novalue\n", "2: labels: 'novalue' is not KEY=VALUE"},
	    {"[wireguard]\ninterface = much-too-long-ifname\n",
	     "2: interface: 'much-too-long-ifname' is not a valid interface name"},
	    {"[gossip]\nseeds = [::1\n", "2: seeds: '[::1' is not HOST[:PORT]"},
	    {"[node]\nthis line is garbage\n", "2: syntax error"},
	    {"[daemon]\nlog_level = loud\n",
	     "2: log_level: 'loud' is not one of error, warn, info, debug"},
	    {"[overlay]\nipv4_prefix = 10.77.0.0/16\nipv4_address = 10.78.0.1\n",
	     "3: ipv4_address: not a host address inside ipv4_prefix 10.77.0.0/16"},
	    {"[overlay]\nipv4_address = 10.77.0.0\n",
	     "2: ipv4_address: not a host address inside ipv4_prefix 10.77.0.0/16"},
	    /* routed prefixes: never a default route, never inside the overlay */
	    {"[overlay]\nadvertise_prefixes = 10.1.0.0/16\nadvertise_prefixes = 0.0.0.0/0\n",
	     "3: advertise_prefixes: prefix 0.0.0.0/0 is a default route"},
	    /* exit nodes: our tables and rule priorities never collide */
	    {"[overlay]\nexit_table = 51821\n",
	     "2: exit_table: exit_table 51821 is route_table: they must differ"},
	    {"[overlay]\nroute_priority = 6001\nexit_priority = 6000\n",
	     "3: exit_priority: exit_priority 6000 and 6001 must both differ from route_priority "
	     "6001"},
	    {"[overlay]\nexit_priority = 0\n", "2: exit_priority: '0' is not a rule priority"},
	    {"[overlay]\nexit_priority = 32765\n",
	     "2: exit_priority: '32765' is not a rule priority"},
	    {"[overlay]\nfwmark = 0\n", "2: fwmark: '0' is not"},
	    {"[overlay]\nadvertise_prefixes = ::/0\n",
	     "2: advertise_prefixes: prefix ::/0 is a default route"},
	    {"[overlay]\nadvertise_prefixes = 10.77.3.0/24\n",
	     "2: advertise_prefixes: prefix 10.77.3.0/24 overlaps the overlay prefix 10.77.0.0/16"},
	    {"[overlay]\nadvertise_prefixes = 10.0.0.0/8\n",
	     "2: advertise_prefixes: prefix 10.0.0.0/8 overlaps the overlay prefix 10.77.0.0/16"},
	    {"[overlay]\nipv4_prefix = 10.5.0.0/16\nadvertise_prefixes = 10.5.1.0/24\n",
	     "3: advertise_prefixes: prefix 10.5.1.0/24 overlaps the overlay prefix 10.5.0.0/16"},
	    {"[overlay]\nipv6_prefix = fd10::/48\nadvertise_prefixes = fd10:0:0:1::/64\n",
	     "3: advertise_prefixes: prefix fd10:0:0:1::/64 overlaps the overlay prefix fd10::/48"},
	    {"[overlay]\nadvertise_prefixes = fc00::/7\n",
	     "2: advertise_prefixes: prefix fc00::/7 overlaps the overlay prefix fd"},
	    /* static peers */
	    {"[wireguard]\nstatic_peers = nokey\n",
	     "2: static_peers: 'nokey' is not KEY:IP/LEN[+IP/LEN...][@IP:PORT]"},
	    {"[wireguard]\nstatic_peers = " SPKEY "\n", "2: static_peers: '" SPKEY "' is not KEY"},
	    {"[wireguard]\nstatic_peers = " BADKEY ":10.9.0.2/32\n",
	     "2: static_peers: '" BADKEY "' is not a base64 WireGuard public key"},
	    {"[wireguard]\nstatic_peers = " SPKEY ":10.9.0.2/24\n",
	     "2: static_peers: static peer allowed IP '10.9.0.2/24' has host bits set"},
	    {"[wireguard]\nstatic_peers = " SPKEY ":0.0.0.0/0\n",
	     "2: static_peers: static peer allowed IP '0.0.0.0/0' is a default route"},
	    {"[wireguard]\nstatic_peers = " SPKEY ":10.9.0.2/32@1.2.3.4\n",
	     "2: static_peers: static peer endpoint '1.2.3.4' is not IP:PORT"},
	    {"[wireguard]\nstatic_peers = " SPKEY ":10.9.0.2/32 " SPKEY ":10.9.0.3/32\n",
	     "2: static_peers: static peer " SPKEY " listed twice"},
	    {"[wireguard]\nstatic_peers = " SPKEY ":10.9.0.2/32+10.77.9.0/24\n",
	     "2: static_peers: static peer allowed IP 10.77.9.0/24 overlaps the overlay prefix "
	     "10.77.0.0/16"},
	    {"[wireguard]\nmtu = 9999999\n",
	     "2: mtu: '9999999' is not auto or an MTU (1280..65535)"},
	    {"[wireguard]\nmtu = 1000\n", "2: mtu: '1000' is not auto or an MTU"},
	    {"[overlay]\nroute_table = 254\n", "2: route_table: '254' is not a table number"},
	    {"[overlay]\nroute_table = 0\n", "2: route_table: '0' is not a table number"},
	    {"[overlay]\nroute_priority = 32766\n",
	     "2: route_priority: '32766' is not a rule priority 1..32765"},
	    {"[gossip]\nmax_members = 1\n", "2: max_members: '1' is not 2..1000000"},
	    {"[gossip]\nmax_members = -5\n", "2: max_members: '-5' is not 2..1000000"},
	    {"[gossip]\nreplay_window = 1s\n", "2: replay_window: '1s' out of range (5s..1h)"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *path = write_file("bad.conf", cases[i].text);
		struct gsd_config c;
		char msg[1024] = "", expect[1024];
		const char *argv[] = {"gossamerd", "--config", path};
		int r = build(&c, msg, sizeof(msg), 3, argv);
		snprintf(expect, sizeof(expect), "%s:%s", path, cases[i].expect);
		if (r != -EINVAL || strncmp(msg, expect, strlen(expect)))
			fail_msg("case %zu: got r=%d msg \"%s\", want prefix \"%s\"", i, r, msg,
				 expect);
	}
}

static void test_static_peers_and_routing(void **state)
{
	const char *path =
	    write_file("sp.conf", "[wireguard]\nmtu = 1380\n"
				  "static_peers = " SPKEY ":10.9.0.2/32+10.9.1.0/24@1.2.3.4:51820\n"
				  "static_peers = " SPKEY2 ":fd99::/64\n"
				  "[overlay]\nroute_table = 100\nroute_priority = 77\n"
				  "advertise_prefixes = 10.1.0.0/16, fd01::/64\n"
				  "[gossip]\nmax_members = 500\nreplay_window = 2m\n");
	struct gsd_config c;
	char msg[512] = "", p[64];
	const char *argv[] = {"gossamerd", "-c", path};
	int r = build(&c, msg, sizeof(msg), 3, argv);
	if (r)
		fail_msg("%s", msg);
	assert_int_equal(c.mtu, 1380);
	assert_int_equal(c.route_table, 100);
	assert_int_equal(c.route_priority, 77);
	assert_int_equal(c.max_members, 500);
	assert_int_equal(c.replay_window_ms, 120000);
	assert_int_equal(c.n_static_peers, 2);
	const struct gsd_static_peer *sp = &c.static_peers[0];
	assert_int_equal(sp->key[0], 0x11);
	assert_int_equal(sp->key[31], 0x11);
	assert_int_equal(sp->n_allowed, 2);
	gsd_format_prefix(&sp->allowed[1], p, sizeof(p));
	assert_string_equal(p, "10.9.1.0/24");
	assert_true(sp->has_endpoint);
	gsd_format_addr(&sp->endpoint, p, sizeof(p));
	assert_string_equal(p, "1.2.3.4:51820");
	assert_false(c.static_peers[1].has_endpoint);
	gsd_format_prefix(&c.static_peers[1].allowed[0], p, sizeof(p));
	assert_string_equal(p, "fd99::/64");

	/* a flag replaces the file's list; mtu auto */
	const char *argv2[] = {"gossamerd",	      "-c",    path,   "--static-peer",
			       SPKEY2 ":10.9.9.9/32", "--mtu", "auto", "--route-table",
			       "4000000000"};
	r = build(&c, msg, sizeof(msg), 9, argv2);
	if (r)
		fail_msg("%s", msg);
	assert_int_equal(c.n_static_peers, 1);
	assert_int_equal(c.mtu, 0);
	assert_int_equal(c.route_table, 4000000000u);

	const char *argv3[] = {"gossamerd", "--advertise-prefix", "0.0.0.0/0"};
	assert_int_equal(build(&c, msg, sizeof(msg), 3, argv3), -EINVAL);
	assert_non_null(strstr(msg, "--advertise-prefix: prefix 0.0.0.0/0 is a default route"));
}

/* mtu = auto: underlay - 80 within [1280, 1420]; 1420 when unknown */
static void test_mtu_from_underlay(void **state)
{
	assert_int_equal(gsd_backend_mtu_from_underlay(0), 1420);
	assert_int_equal(gsd_backend_mtu_from_underlay(1500), 1420);
	assert_int_equal(gsd_backend_mtu_from_underlay(9000), 1420);
	assert_int_equal(gsd_backend_mtu_from_underlay(1400), 1320);
	assert_int_equal(gsd_backend_mtu_from_underlay(1360), 1280);
	assert_int_equal(gsd_backend_mtu_from_underlay(1280), 1280);
	assert_int_equal(gsd_backend_mtu_from_underlay(68), 1280);
}

static void test_missing_file(void **state)
{
	struct gsd_config c;
	char msg[512] = "";
	const char *argv[] = {"gossamerd", "-c", "/nonexistent/gossamerd.conf"};
	assert_int_equal(build(&c, msg, sizeof(msg), 3, argv), -EINVAL);
	assert_non_null(strstr(msg, "/nonexistent/gossamerd.conf: cannot read"));
}

static void test_flags_override(void **state)
{
	const char *path =
	    write_file("ov.conf", "[node]\nname = fromfile\nlabels = a=1\n[gossip]\nseeds = "
				  "10.0.0.1, 10.0.0.2\nport = 1000\n");
	struct gsd_config c;
	char msg[512] = "";
	const char *argv[] = {"gossamerd", "-c",	  path,		 "--name",
			      "fromflag",  "--seed",	  "127.0.0.1:9", "--gossip-port=2000",
			      "--public",  "--no-routes", "--relay=no",	 "--backend",
			      "none",	   "--label",	  "b=2",	 "--label",
			      "c=3"};
	assert_int_equal(build(&c, msg, sizeof(msg), (int)(sizeof(argv) / sizeof(argv[0])), argv),
			 0);
	assert_string_equal(c.name, "fromflag");
	assert_int_equal(c.n_seeds, 1); /* flag list replaces the file's */
	assert_string_equal(c.seeds[0], "127.0.0.1:9");
	assert_int_equal(c.gossip_port, 2000);
	assert_true(c.public_node);
	assert_false(c.relay);
	assert_false(c.install_routes);
	assert_int_equal(c.backend, GSD_BACKEND_NONE);
	assert_int_equal(c.n_labels, 2);
	assert_string_equal(c.labels[0].key, "b");
}

static void test_bad_flags(void **state)
{
	struct gsd_config c;
	char msg[512] = "";
	const char *a1[] = {"gossamerd", "--gossip-port", "0"};
	assert_int_equal(build(&c, msg, sizeof(msg), 3, a1), -EINVAL);
	assert_string_equal(msg, "--gossip-port: '0' is not a port (1-65535)");
	const char *a2[] = {"gossamerd", "--no-such-flag"};
	assert_int_equal(build(&c, msg, sizeof(msg), 2, a2), -EINVAL);
	assert_non_null(strstr(msg, "--no-such-flag"));
	const char *a3[] = {"gossamerd", "stray"};
	assert_int_equal(build(&c, msg, sizeof(msg), 2, a3), -EINVAL);
	assert_non_null(strstr(msg, "stray: unexpected argument"));
	const char *a4[] = {"gossamerd", "--address-ipv4", "192.168.1.1"};
	assert_int_equal(build(&c, msg, sizeof(msg), 3, a4), -EINVAL);
	assert_string_equal(msg,
			    "--address-ipv4: not a host address inside ipv4_prefix 10.77.0.0/16");
}

static void test_help_lists_every_flag(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	gsd_cli_usage(f);
	fclose(f);
	static const char *const flags[] = {
	    "--name",	       "--interface",
	    "--wg-port",       "--gossip-bind",
	    "--gossip-port",   "--seed",
	    "--state-dir",     "--control-socket",
	    "--cluster-key",   "--cluster-name",
	    "--overlay-ipv4",  "--address-ipv4",
	    "--overlay-ipv6",  "--advertise-prefix",
	    "--label",	       "--backend",
	    "--wg-socket-dir", "--spawn-wireguard-go",
	    "--public",	       "--relay",
	    "--log-level",     "--persistent-keepalive",
	    "--routes",	       "--no-routes",
	    "--endpoint",      "--syslog",
	    "--config",	       "--help",
	    "--version",       "--dead-grace",
	    "--left-grace",
	};
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (!strstr(buf, flags[i]))
			fail_msg("--help lacks %s", flags[i]);
	free(buf);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

/* the shipped example parses, and docs/config.md documents every flag and
 * key that --help lists */
static void test_docs_match_code(void **state)
{
	const char *root = getenv("GSM_SOURCE_ROOT");
	if (!root)
		skip();
	char path[512], msg[512] = "";
	snprintf(path, sizeof(path), "%s/docs/gossamerd.conf.example", root);
	struct gsd_config c;
	const char *argv[] = {"gossamerd", "-c", path};
	int r = build(&c, msg, sizeof(msg), 3, argv);
	if (r)
		fail_msg("example config: %s", msg);
	assert_int_equal(c.n_seeds, 2);

	snprintf(path, sizeof(path), "%s/docs/config.md", root);
	char *doc = slurp(path);
	assert_non_null(doc);
	char *help = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&help, &len);
	gsd_cli_usage(f);
	fclose(f);
	/* every "--flag" and every "[key]" of --help appears in the doc */
	for (char *p = help; (p = strstr(p, "--")); p += 2) {
		char flag[64];
		size_t k = 0;
		while (k < sizeof(flag) - 1 && (p[k] == '-' || (p[k] >= 'a' && p[k] <= 'z')))
			flag[k] = p[k], k++;
		flag[k] = 0;
		if (k > 2 && !strstr(doc, flag))
			fail_msg("docs/config.md does not mention %s", flag);
	}
	for (char *p = help; (p = strstr(p, "  [")); p += 3) {
		char key[64], q[80];
		size_t k = 0;
		while (k < sizeof(key) - 1 && p[3 + k] && p[3 + k] != ']')
			key[k] = p[3 + k], k++;
		key[k] = 0;
		snprintf(q, sizeof(q), "`%s`", key);
		if (!strstr(doc, q))
			fail_msg("docs/config.md does not document key %s", key);
	}
	free(help);
	free(doc);
}

static void test_parse_helpers(void **state)
{
	struct gsm_addr a;
	char buf[64];
	assert_int_equal(gsd_parse_hostport("[fd00::1]:99", &a, 1), 0);
	assert_int_equal(a.family, 6);
	assert_int_equal(a.port, 99);
	gsd_format_addr(&a, buf, sizeof(buf));
	assert_string_equal(buf, "[fd00::1]:99");
	assert_int_equal(gsd_parse_hostport("fd00::2", &a, 7), 0);
	assert_int_equal(a.port, 7);
	assert_int_equal(gsd_parse_hostport("1.2.3.4:0", &a, 7), -EINVAL);
	assert_int_equal(gsd_parse_hostport("host:12", &a, 7), -EINVAL); /* not a literal */
	struct gsm_prefix p;
	assert_int_equal(gsd_parse_prefix("10.0.0.0/8", &p), 0);
	assert_int_equal(gsd_parse_prefix("10.0.0.1/8", &p), -EDOM);
	assert_int_equal(gsd_parse_prefix("10.0.0.0/33", &p), -EINVAL);
	assert_int_equal(gsd_parse_prefix("10.0.0.1", &p), 0);
	assert_int_equal(p.len, 32);
}

/* durations use the one common syntax: no nan/inf/hex/exponent/sign, and
 * every key has its own bounds; in a file and as a flag alike */
static const char *const bad_durations[] = {"nan", "inf", "0x10", "1e-9", "-1", "1.5.5"};

static void test_bad_durations_in_file(void **state)
{
	for (size_t i = 0; i < sizeof(bad_durations) / sizeof(bad_durations[0]); i++) {
		char text[128], expect[1024], msg[1024] = "";
		snprintf(text, sizeof(text), "[wireguard]\n\ndead_grace = %s\n", bad_durations[i]);
		const char *path = write_file("dur.conf", text);
		snprintf(expect, sizeof(expect), "%s:3: dead_grace: '%s' is not a duration", path,
			 bad_durations[i]);
		struct gsd_config c;
		const char *argv[] = {"gossamerd", "--config", path};
		int r = build(&c, msg, sizeof(msg), 3, argv);
		if (r != -EINVAL || strncmp(msg, expect, strlen(expect)))
			fail_msg("%s: got r=%d msg \"%s\", want prefix \"%s\"", bad_durations[i], r,
				 msg, expect);
	}
}

static void test_bad_durations_as_flags(void **state)
{
	for (size_t i = 0; i < sizeof(bad_durations) / sizeof(bad_durations[0]); i++) {
		char expect[256], msg[512] = "";
		struct gsd_config c;
		const char *argv[] = {"gossamerd", "--dead-grace", bad_durations[i]};
		snprintf(expect, sizeof(expect),
			 "--dead-grace: '%s' is not a duration (e.g. 500ms, 30s, 2m)",
			 bad_durations[i]);
		assert_int_equal(build(&c, msg, sizeof(msg), 3, argv), -EINVAL);
		assert_string_equal(msg, expect);
	}
}

static void test_duration_values_and_bounds(void **state)
{
	static const struct {
		const char *flag, *value;
		uint32_t ms;
	} good[] = {
	    {"--dead-grace", "45", 45000},	  {"--dead-grace", "1.5", 1500},
	    {"--dead-grace", "1.5s", 1500},	  {"--dead-grace", "2m", 120000},
	    {"--dead-grace", "1h", 3600000},	  {"--dead-grace", "0", 0},
	    {"--dead-grace", "168h", 604800000},  {"--left-grace", "250ms", 250},
	    {"--reconcile-debounce", "0.1", 100}, {"--probe-interval", "50ms", 50},
	    {"--probe-interval", "60s", 60000},	  {"--sync-interval", "1h", 3600000},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct gsd_config c;
		char msg[512] = "";
		const char *argv[] = {"gossamerd", good[i].flag, good[i].value};
		if (build(&c, msg, sizeof(msg), 3, argv) != 0)
			fail_msg("%s %s: %s", good[i].flag, good[i].value, msg);
		uint32_t got = !strcmp(good[i].flag, "--dead-grace")   ? c.dead_grace_ms
			       : !strcmp(good[i].flag, "--left-grace") ? c.left_grace_ms
			       : !strcmp(good[i].flag, "--reconcile-debounce")
				   ? c.reconcile_debounce_ms
			       : !strcmp(good[i].flag, "--probe-interval") ? c.probe_interval_ms
									   : c.sync_interval_ms;
		assert_int_equal(got, good[i].ms);
	}
	static const struct {
		const char *flag, *value, *expect;
	} bad[] = {
	    {"--dead-grace", "169h", "--dead-grace: '169h' out of range (0s..168h)"},
	    {"--probe-interval", "49ms", "--probe-interval: '49ms' out of range (50ms..60s)"},
	    {"--probe-interval", "61s", "--probe-interval: '61s' out of range (50ms..60s)"},
	    {"--sync-interval", "999ms", "--sync-interval: '999ms' out of range (1s..1h)"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gsd_config c;
		char msg[512] = "";
		const char *argv[] = {"gossamerd", bad[i].flag, bad[i].value};
		assert_int_equal(build(&c, msg, sizeof(msg), 3, argv), -EINVAL);
		assert_string_equal(msg, bad[i].expect);
	}
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gsd-config-test.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_good_file),
	    cmocka_unit_test(test_bad_files),
	    cmocka_unit_test(test_static_peers_and_routing),
	    cmocka_unit_test(test_mtu_from_underlay),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_flags_override),
	    cmocka_unit_test(test_bad_flags),
	    cmocka_unit_test(test_help_lists_every_flag),
	    cmocka_unit_test(test_parse_helpers),
	    cmocka_unit_test(test_bad_durations_in_file),
	    cmocka_unit_test(test_bad_durations_as_flags),
	    cmocka_unit_test(test_duration_values_and_bounds),
	    cmocka_unit_test(test_docs_match_code),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
