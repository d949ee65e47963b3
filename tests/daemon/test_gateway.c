/*
 * tests/daemon/test_gateway.c - daemon/gateway.c: the masquerading table
 * text (and that nftables accepts it, in a private network namespace),
 * the egress interfaces chosen from a main table, the two configuration
 * keys.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/config.h"
#include "daemon/gateway.h"
#include "daemon/nft.h"

static struct gsm_prefix P(const char *s) {
	struct gsm_prefix p;
	assert_int_equal(gsd_parse_prefix(s, &p), 0);
	return p;
}

static struct gnl_route
R(const char *dst, uint32_t ifindex, uint32_t metric) {
	struct gsm_prefix p = P(dst);
	struct gnl_route r;
	memset(&r, 0, sizeof(r));
	r.dst.family = p.family == 4 ? AF_INET : AF_INET6;
	r.dst.cidr = p.len;
	memcpy(r.dst.addr.b, p.ip, p.family == 4 ? 4 : 16);
	r.ifindex = ifindex;
	r.metric = metric;
	return r;
}

static void
test_render(void **state)
{
	char out[4096];
	(void)state;
	assert_int_equal(gsd_gateway_render("gsm0", NULL, 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	struct gsm_prefix p[3] = {P("172.30.5.0/24"), P("fd00:5::/64"), P("10.9.0.0/16")};
	assert_int_equal(gsd_gateway_render("gsm0", p, 3, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "type nat hook postrouting"));
	assert_non_null(strstr(out, "iifname \"gsm0\" oifname != \"gsm0\" ip daddr { "
				    "172.30.5.0/24, 10.9.0.0/16 } masquerade"));
	assert_non_null(strstr(out, "ip6 daddr { fd00:5::/64 } masquerade"));
	/* one family only: no rule for the other */
	assert_int_equal(gsd_gateway_render("gsm1", p, 1, out, sizeof(out)), 0);
	assert_null(strstr(out, "ip6"));
	assert_int_equal(gsd_gateway_render("gsm0", p, 3, out, 40), -EMSGSIZE);
}

static void test_egress(void **state)
{
	(void)state;
	struct gnl_route rt[] = {
	    R("0.0.0.0/0", 2, 0),	/* default via eth0 */
	    R("172.30.5.0/24", 3, 0),	/* site via veth (3) */
	    R("172.30.0.0/16", 4, 0),	/* wider, elsewhere */
	    R("10.9.1.0/24", 5, 0),	/* inside 10.9/16 */
	    R("10.9.2.0/24", 6, 0),	/* inside 10.9/16 */
	    R("192.168.0.0/24", 7, 10), /* two routes, metrics */
	    R("192.168.0.0/24", 8, 5),	R("fd00:5::/64", 9, 0),
	    R("198.51.100.0/24", 0, 0), /* multipath: no device */
	};
	size_t nr = sizeof(rt) / sizeof(rt[0]);
	uint32_t out[8];
	struct gsm_prefix site = P("172.30.5.0/24");
	assert_int_equal(gsd_gateway_egress(&site, 1, rt, nr, out, 8), 1);
	assert_int_equal(out[0], 3); /* longest match, not the /16 or default */
	struct gsm_prefix wide = P("10.9.0.0/16");
	size_t n = gsd_gateway_egress(&wide, 1, rt, nr, out, 8);
	assert_int_equal(n, 3); /* default (covers) + both /24 inside */
	assert_int_equal(out[0], 2);
	assert_int_equal(out[1], 5);
	assert_int_equal(out[2], 6);
	struct gsm_prefix lan = P("192.168.0.0/24");
	assert_int_equal(gsd_gateway_egress(&lan, 1, rt, nr, out, 8), 1);
	assert_int_equal(out[0], 8); /* the lower metric */
	/* IPv4 prefixes never pick IPv6 routes and vice versa */
	struct gsm_prefix v6 = P("fd00:5::/64");
	assert_int_equal(gsd_gateway_egress(&v6, 1, rt, nr, out, 8), 1);
	assert_int_equal(out[0], 9);
	struct gsm_prefix mp = P("198.51.100.0/24");
	assert_int_equal(gsd_gateway_egress(&mp, 1, rt, nr, out, 8), 1);
	assert_int_equal(out[0], 2); /* falls back to the default's device */
	/* duplicates collapse; cap respected */
	struct gsm_prefix two[2] = {site, site};
	assert_int_equal(gsd_gateway_egress(two, 2, rt, nr, out, 8), 1);
	assert_int_equal(gsd_gateway_egress(&wide, 1, rt, nr, out, 2), 2);
	/* nothing routes it: no egress */
	assert_int_equal(gsd_gateway_egress(&site, 1, rt + 3, 2, out, 8), 0);
}

static void test_config_keys(void **state)
{
	struct gsd_config c;
	char err[256];
	(void)state;
	gsd_config_defaults(&c);
	assert_false(c.gateway);
	assert_false(c.gateway_snat);
	assert_int_equal(gsd_config_set(&c, "node", "gateway", "yes", err, sizeof(err)), 0);
	assert_int_equal(gsd_config_set(&c, NULL, "gateway_snat", "true", err, sizeof(err)), 0);
	assert_true(c.gateway);
	assert_true(c.gateway_snat);
	assert_int_equal(gsd_config_set(&c, "node", "gateway", "maybe", err, sizeof(err)), -EINVAL);
}

static void test_view_without_runtime(void **state)
{
	struct gsd_config c;
	(void)state;
	gsd_config_defaults(&c);
	c.gateway = true;
	json_t *v = gsd_gateway_view(NULL, &c);
	assert_true(json_is_true(json_object_get(v, "enabled")));
	assert_true(json_is_false(json_object_get(v, "snat")));
	assert_int_equal(json_array_size(json_object_get(v, "forwarding")), 0);
	assert_int_equal(json_array_size(json_object_get(v, "prefixes")), 0);
	json_decref(v);
}

/* nftables accepts the rendered table (needs root: own network namespace) */
static void test_nft_accepts(void **state)
{
	char out[4096], err[512] = "", list[8192];
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		print_message("skipped: needs root for a private network namespace\n");
		return;
	}
	struct gsm_prefix p[2] = {P("172.30.5.0/24"), P("fd00:5::/64")};
	assert_int_equal(gsd_gateway_render("gsm0", p, 2, out, sizeof(out)), 0);
	assert_int_equal(gsd_nft_replace("inet", "gossamer_gateway", out, err, sizeof(err)), 0);
	assert_int_equal(gsd_nft_list("inet", "gossamer_gateway", list, sizeof(list)), 0);
	assert_non_null(strstr(list, "masquerade"));
	assert_non_null(strstr(list, "172.30.5.0/24"));
	assert_int_equal(gsd_nft_delete("inet", "gossamer_gateway", err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render),	cmocka_unit_test(test_egress),
	    cmocka_unit_test(test_config_keys), cmocka_unit_test(test_view_without_runtime),
	    cmocka_unit_test(test_nft_accepts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
