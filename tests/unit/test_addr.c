/* tests/unit/test_addr.c - address and prefix helpers (gossip/addr.c). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "gossip/wire.h"

static void test_addr_parse_format(void **state)
{
	const char *good[] = {"1.2.3.4:5",  "0.0.0.0:0",	   "255.255.255.255:65535",
			      "[::1]:7946", "[fd00:250::1]:51820", "[2001:db8::ffff:0:1]:1"};
	struct gsm_addr a;
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(gsm_addr_parse(good[i], &a), 0);
		int n = gsm_addr_format(&a, out, sizeof(out));
		assert_int_equal(n, (int)strlen(good[i]));
		assert_string_equal(out, good[i]);
	}
	assert_int_equal(gsm_addr_parse("10.0.0.1:51820", &a), 0);
	assert_int_equal(a.family, 4);
	assert_int_equal(a.port, 51820);
	assert_int_equal(a.ip[0], 10);
	assert_int_equal(a.ip[3], 1);

	const char *bad[] = {"",	   "1.2.3.4",	 "1.2.3.4:",  "1.2.3.4:65536",
			     "1.2.3.4:-1", "1.2.3.4:5x", "1.2.3:5",   "::1:5",
			     "[::1]",	   "[::1]5",	 "[::1]:",    "[1.2.3.4]:5",
			     "host:5",	   "[::1:5",	 "1.2.3.4: 5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gsm_addr_parse(bad[i], &a), -EINVAL);

	/* truncating output like snprintf */
	assert_int_equal(gsm_addr_parse("[fd00::1]:1", &a), 0);
	assert_int_equal(gsm_addr_format(&a, out, 4), (int)strlen("[fd00::1]:1"));
	assert_string_equal(out, "[fd");
	memset(&a, 0, sizeof(a));
	assert_int_equal(gsm_addr_format(&a, out, sizeof(out)), 1);
	assert_string_equal(out, "-");
	a.family = 5;
	assert_int_equal(gsm_addr_format(&a, out, sizeof(out)), -EINVAL);
}

static void test_prefix_contains(void **state)
{
	struct gsm_prefix net, a, b, v6;
	(void)state;
	assert_int_equal(gsm_prefix_parse("10.77.0.0/16", &net), 0);
	assert_int_equal(gsm_prefix_parse("10.77.3.4", &a), 0);
	assert_int_equal(gsm_prefix_parse("10.78.0.0/24", &b), 0);
	assert_int_equal(gsm_prefix_parse("fd00::/8", &v6), 0);
	assert_true(gsm_prefix_contains(&net, &a));
	assert_false(gsm_prefix_contains(&a, &net));
	assert_false(gsm_prefix_contains(&net, &b));
	assert_false(gsm_prefix_contains(&v6, &a)); /* families differ */
	assert_true(gsm_prefix_overlaps(&a, &net));
	assert_false(gsm_prefix_overlaps(&b, &net));
	assert_int_equal(gsm_prefix_parse("0.0.0.0/0", &b), 0);
	assert_true(gsm_prefix_contains(&b, &net));
	assert_false(gsm_prefix_overlaps(&b, &v6));
}

static void test_addr_equal(void **state)
{
	struct gsm_addr a, b;

	(void)state;
	assert_int_equal(gsm_addr_parse("1.2.3.4:5", &a), 0);
	assert_int_equal(gsm_addr_parse("1.2.3.4:5", &b), 0);
	assert_true(gsm_addr_equal(&a, &b));
	b.ip[10] = 9; /* bytes past an IPv4 address do not matter */
	assert_true(gsm_addr_equal(&a, &b));
	b.port = 6;
	assert_false(gsm_addr_equal(&a, &b));
	assert_int_equal(gsm_addr_parse("[::ffff:1.2.3.4]:5", &b), 0);
	assert_false(gsm_addr_equal(&a, &b)); /* different families */
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	b.port = 3;
	assert_true(gsm_addr_equal(&a, &b)); /* both "none" */
}

static void test_prefix(void **state)
{
	struct gsm_prefix p, q;
	char out[64];

	(void)state;
	assert_int_equal(gsm_prefix_parse("10.42.0.7/16", &p), 0);
	assert_int_equal(p.family, 4);
	assert_int_equal(p.len, 16);
	assert_int_equal(p.ip[3], 7); /* host bits kept */
	assert_int_equal(gsm_prefix_format(&p, out, sizeof(out)), 12);
	assert_string_equal(out, "10.42.0.7/16");
	assert_int_equal(gsm_prefix_parse("fd00::1", &p), 0);
	assert_int_equal(p.len, 128);
	assert_int_equal(gsm_prefix_parse("192.168.1.1", &p), 0);
	assert_int_equal(p.len, 32);
	assert_int_equal(gsm_prefix_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(p.len, 0);
	assert_int_equal(gsm_prefix_parse("fd00:99::/48", &q), 0);
	assert_int_equal(gsm_prefix_format(&q, out, sizeof(out)), (int)strlen("fd00:99::/48"));
	assert_string_equal(out, "fd00:99::/48");
	assert_false(gsm_prefix_equal(&p, &q));
	assert_int_equal(gsm_prefix_parse("fd00:99::/48", &p), 0);
	assert_true(gsm_prefix_equal(&p, &q));
	const char *bad[] = {"",	   "/24",	  "10.0.0.0/33", "fd00::/129",	"10.0.0.0/",
			     "10.0.0.0/x", "10.0.0.0/-1", "10.0.0/8",	 "10.0.0.0/8/8"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gsm_prefix_parse(bad[i], &p), -EINVAL);
}

static void test_sockaddr(void **state)
{
	struct sockaddr_in6 in6 = {0};
	struct sockaddr_in in4 = {0};
	struct sockaddr_storage ss;
	struct gsm_addr a, b;
	socklen_t sl;
	char out[64];

	(void)state;
	in6.sin6_family = AF_INET6;
	in6.sin6_port = htons(7946);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:10.1.2.3", &in6.sin6_addr), 1);
	assert_int_equal(gsm_addr_from_sockaddr((struct sockaddr *)&in6, &a), 0);
	assert_int_equal(a.family, 4); /* v4-mapped normalised */
	gsm_addr_format(&a, out, sizeof(out));
	assert_string_equal(out, "10.1.2.3:7946");

	in4.sin_family = AF_INET;
	in4.sin_port = htons(7946);
	assert_int_equal(inet_pton(AF_INET, "10.1.2.3", &in4.sin_addr), 1);
	assert_int_equal(gsm_addr_from_sockaddr((struct sockaddr *)&in4, &b), 0);
	assert_true(gsm_addr_equal(&a, &b));

	assert_int_equal(inet_pton(AF_INET6, "fd00:250::9", &in6.sin6_addr), 1);
	assert_int_equal(gsm_addr_from_sockaddr((struct sockaddr *)&in6, &a), 0);
	assert_int_equal(a.family, 6);
	assert_int_equal(gsm_addr_to_sockaddr(&a, &ss, &sl), 0);
	assert_int_equal(sl, sizeof(struct sockaddr_in6));
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_memory_equal(&((struct sockaddr_in6 *)&ss)->sin6_addr, &in6.sin6_addr, 16);
	assert_int_equal(((struct sockaddr_in6 *)&ss)->sin6_port, htons(7946));

	assert_int_equal(gsm_addr_to_sockaddr(&b, &ss, &sl), 0);
	assert_int_equal(sl, sizeof(struct sockaddr_in));
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, in4.sin_addr.s_addr);

	memset(&a, 0, sizeof(a));
	assert_int_equal(gsm_addr_to_sockaddr(&a, &ss, &sl), -EAFNOSUPPORT);
	ss.ss_family = AF_UNIX;
	assert_int_equal(gsm_addr_from_sockaddr((struct sockaddr *)&ss, &a), -EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_addr_parse_format),
	    cmocka_unit_test(test_addr_equal),
	    cmocka_unit_test(test_prefix),
	    cmocka_unit_test(test_prefix_contains),
	    cmocka_unit_test(test_sockaddr),
	};
	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
