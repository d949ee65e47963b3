/*
 * tests/daemon/test_nft.c - daemon/nft.c against the real kernel: every
 * test runs in a network namespace of its own (unshare(CLONE_NEWNET)), so
 * the host's ruleset is never read or changed.  Needs root (CI runs as
 * root); skipped with a message otherwise.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/nft.h"

static char out[8192];

static int own_netns(void **state)
{
	(void)state;
	return unshare(CLONE_NEWNET);
}

static void test_table_name(void **state)
{
	char n[64];
	(void)state;
	assert_int_equal(gsd_nft_table_name("gateway", "gsm0", n, sizeof(n)), 0);
	assert_string_equal(n, "gossamer_gateway");
	assert_int_equal(gsd_nft_table_name("exit", "mesh-b.1", n, sizeof(n)), 0);
	assert_string_equal(n, "gossamer_exit_mesh_b_1");
	assert_int_equal(gsd_nft_table_name("clients", "gsm0", n, 8), -ENAMETOOLONG);
}

static void test_replace_list_delete(void **state)
{
	char err[512] = "";
	(void)state;
	assert_int_equal(gsd_nft_list("inet", "gossamer_t", out, sizeof(out)), -ENOENT);
	/* deleting what is not there is fine */
	assert_int_equal(gsd_nft_delete("inet", "gossamer_t", err, sizeof(err)), 0);
	assert_int_equal(gsd_nft_replace("inet", "gossamer_t",
					 "chain c { type filter hook forward priority 0; "
					 "ip daddr 10.1.0.0/24 accept; }",
					 err, sizeof(err)),
			 0);
	assert_int_equal(gsd_nft_list("inet", "gossamer_t", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "10.1.0.0/24"));
	/* replaced as a whole: the old rule is gone, the new one is there */
	assert_int_equal(gsd_nft_replace("inet", "gossamer_t",
					 "chain c { type filter hook forward priority 0; "
					 "ip daddr 10.2.0.0/24 accept; }",
					 err, sizeof(err)),
			 0);
	assert_int_equal(gsd_nft_list("inet", "gossamer_t", out, sizeof(out)), 0);
	assert_null(strstr(out, "10.1.0.0/24"));
	assert_non_null(strstr(out, "10.2.0.0/24"));
	assert_int_equal(gsd_nft_delete("inet", "gossamer_t", err, sizeof(err)), 0);
	assert_int_equal(gsd_nft_list("inet", "gossamer_t", out, sizeof(out)), -ENOENT);
}

static void test_refused_keeps_old(void **state)
{
	char err[512] = "";
	(void)state;
	assert_int_equal(gsd_nft_replace("inet", "gossamer_k",
					 "chain c { type filter hook forward priority 0; "
					 "ip daddr 10.3.0.0/24 accept; }",
					 err, sizeof(err)),
			 0);
	/* a body nftables refuses: -EIO with its message, the old table stays */
	assert_int_equal(
	    gsd_nft_replace("inet", "gossamer_k", "chain c { nonsense here; }", err, sizeof(err)),
	    -EIO);
	assert_true(strlen(err) > 0);
	assert_int_equal(gsd_nft_list("inet", "gossamer_k", out, sizeof(out)), 0);
	assert_non_null(strstr(out, "10.3.0.0/24"));
	/* an operator's table beside ours is never touched */
	assert_int_equal(gsd_nft_replace("inet", "operator_fw", "chain x { }", err, sizeof(err)),
			 0);
	assert_int_equal(gsd_nft_delete("inet", "gossamer_k", err, sizeof(err)), 0);
	assert_int_equal(gsd_nft_list("inet", "operator_fw", out, sizeof(out)), 0);
}

static void test_injection_refused(void **state)
{
	char err[64];
	(void)state;
	assert_int_equal(gsd_nft_replace("inet", "x; flush ruleset", "", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(gsd_nft_replace("bridge", "gossamer_t", "", err, sizeof(err)), -EINVAL);
	assert_int_equal(gsd_nft_delete("inet", "a b", err, sizeof(err)), -EINVAL);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("test_nft: needs root (network namespaces, nftables): skipped\n");
		return 77;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_name),
	    cmocka_unit_test_setup(test_replace_list_delete, own_netns),
	    cmocka_unit_test_setup(test_refused_keeps_old, own_netns),
	    cmocka_unit_test(test_injection_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
