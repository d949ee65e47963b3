/*
 * tests/daemon/test_forward.c - daemon/forward.c against a directory tree
 * shaped like /proc/sys (gsd_forward_init's injectable root): values
 * switched on, previous values restored, owners sharing an entry, names
 * that could escape the tree refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/forward.h"

static char root[256];

static void put(const char *rel, const char *val)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(val, fp);
	fclose(fp);
}

static int get(const char *rel)
{
	char p[512], buf[16] = "";
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	FILE *fp = fopen(p, "r");
	assert_non_null(fp);
	assert_non_null(fgets(buf, sizeof(buf), fp));
	fclose(fp);
	return atoi(buf);
}

static void mkdirs(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	for (char *s = p + strlen(root) + 1; *s; s++)
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

#define V4(ifn) "net/ipv4/conf/" ifn "/forwarding"
#define V6ALL	"net/ipv6/conf/all/forwarding"

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/gsm-fwd-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	mkdirs("net/ipv4/conf/gsm0");
	mkdirs("net/ipv4/conf/eth1");
	mkdirs("net/ipv4/conf/eth2");
	mkdirs("net/ipv6/conf/all");
	put(V4("gsm0"), "0\n");
	put(V4("eth1"), "0\n");
	put(V4("eth2"), "1\n"); /* the operator already forwards here */
	put(V6ALL, "0\n");
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_enable_restore(void **state)
{
	struct gsd_forward f;
	(void)state;
	gsd_forward_init(&f, root);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "gsm0", AF_INET, "t"), 0);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "eth2", AF_INET, "t"), 0);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "x", AF_INET6, "t"), 0);
	assert_int_equal(get(V4("gsm0")), 1);
	assert_int_equal(get(V4("eth2")), 1);
	assert_int_equal(get(V6ALL), 1);
	/* not asked for: untouched */
	assert_int_equal(get(V4("eth1")), 0);
	assert_true(gsd_forward_held(&f, GSD_FWD_GATEWAY, "gsm0", AF_INET));
	assert_false(gsd_forward_held(&f, GSD_FWD_GATEWAY, "eth1", AF_INET));
	assert_true(gsd_forward_held(&f, GSD_FWD_GATEWAY, NULL, AF_INET6));
	gsd_forward_restore(&f);
	assert_int_equal(get(V4("gsm0")), 0);
	assert_int_equal(get(V4("eth2")), 1); /* was on before: stays on */
	assert_int_equal(get(V6ALL), 0);
	assert_false(gsd_forward_held(&f, GSD_FWD_GATEWAY, "gsm0", AF_INET));
	gsd_forward_restore(NULL);
}

static void test_owners_share(void **state)
{
	struct gsd_forward f;
	(void)state;
	gsd_forward_init(&f, root);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "gsm0", AF_INET, "g"), 0);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_EXIT, "gsm0", AF_INET, "x"), 0);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "eth1", AF_INET, "g"), 0);
	/* the gateway switched off: the exit node still needs gsm0 */
	gsd_forward_release(&f, GSD_FWD_GATEWAY, NULL, AF_UNSPEC);
	assert_int_equal(get(V4("gsm0")), 1);
	assert_int_equal(get(V4("eth1")), 0);
	assert_true(gsd_forward_held(&f, GSD_FWD_EXIT, "gsm0", AF_INET));
	gsd_forward_release(&f, GSD_FWD_EXIT, "gsm0", AF_INET);
	assert_int_equal(get(V4("gsm0")), 0);
	/* re-enabling reads the current value again */
	put(V4("gsm0"), "1\n");
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_EXIT, "gsm0", AF_INET, "x"), 0);
	gsd_forward_restore(&f);
	assert_int_equal(get(V4("gsm0")), 1);
}

static void test_release_one(void **state)
{
	struct gsd_forward f;
	(void)state;
	gsd_forward_init(&f, root);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "gsm0", AF_INET, "g"), 0);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "eth1", AF_INET, "g"), 0);
	/* the egress interface changed: only eth1 goes back */
	gsd_forward_release(&f, GSD_FWD_GATEWAY, "eth1", AF_INET);
	assert_int_equal(get(V4("eth1")), 0);
	assert_int_equal(get(V4("gsm0")), 1);
	gsd_forward_restore(&f);
	assert_int_equal(get(V4("gsm0")), 0);
}

static void test_refused(void **state)
{
	struct gsd_forward f;
	(void)state;
	gsd_forward_init(&f, root);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "nope0", AF_INET, "g"), -ENODEV);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "..", AF_INET, "g"), -EINVAL);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "a/b", AF_INET, "g"), -EINVAL);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "", AF_INET, "g"), -EINVAL);
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "gsm0", AF_UNSPEC, "g"), -EINVAL);
	assert_int_equal(gsd_forward_enable(&f, 0, "gsm0", AF_INET, "g"), -EINVAL);
	/* nothing remembered after a failure */
	assert_false(gsd_forward_held(&f, GSD_FWD_GATEWAY, "nope0", AF_INET));
	/* a vanished interface: restore skips it quietly */
	assert_int_equal(gsd_forward_enable(&f, GSD_FWD_GATEWAY, "eth1", AF_INET, "g"), 0);
	char p[512];
	snprintf(p, sizeof(p), "%s/" V4("eth1"), root);
	assert_int_equal(unlink(p), 0);
	gsd_forward_restore(&f);
	put(V4("eth1"), "0\n");
}

static void test_table_full(void **state)
{
	struct gsd_forward f;
	(void)state;
	gsd_forward_init(&f, root);
	/* the same entry asked for by several owners takes one slot */
	for (int i = 0; i < 100; i++)
		assert_int_equal(gsd_forward_enable(&f, 1u << (i % 3), "gsm0", AF_INET, "g"), 0);
	int used = 0;
	for (size_t i = 0; i < GSD_FORWARD_MAX; i++)
		used += f.ent[i].owners != 0;
	assert_int_equal(used, 1);
	gsd_forward_restore(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_enable_restore, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_owners_share, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_release_one, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
