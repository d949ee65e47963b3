/* tests/daemon/test_state.c - keys (generate, reuse, refuse bad
 * permissions), generation, atomic writes and the members file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "daemon/config.h"
#include "daemon/state.h"
#include "gossip/crypto.h"

static char dir[256];

static void path_of(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

static mode_t mode_of(const char *name)
{
	char p[512];
	struct stat st;
	path_of(p, sizeof(p), name);
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

static void test_keys_generate_and_reuse(void **state)
{
	struct gsd_keys k1, k2;
	char msg[512];
	assert_int_equal(gsd_keys_load(dir, &k1, msg, sizeof(msg)), 0);
	assert_true(k1.identity_created);
	assert_true(k1.wg_created);
	assert_int_equal(mode_of(GSD_IDENTITY_FILE), 0600);
	assert_int_equal(mode_of(GSD_WGKEY_FILE), 0600);
	assert_int_equal(gsd_keys_load(dir, &k2, msg, sizeof(msg)), 0);
	assert_false(k2.identity_created);
	assert_false(k2.wg_created);
	assert_memory_equal(gsm_identity_public(k1.identity), gsm_identity_public(k2.identity), 32);
	assert_memory_equal(k1.wg_public, k2.wg_public, 32);
	assert_memory_equal(k1.wg_private, k2.wg_private, 32);
	/* the public key is the Curve25519 base-point multiple of a clamped key */
	assert_int_equal(k1.wg_private[0] & 7, 0);
	assert_int_equal(k1.wg_private[31] & 0x80, 0);
	assert_int_equal(k1.wg_private[31] & 0x40, 0x40);
	uint8_t pub[32];
	gsd_wgkey_public(k1.wg_private, pub);
	assert_memory_equal(pub, k1.wg_public, 32);
	gsd_keys_clear(&k1);
	gsd_keys_clear(&k2);
}

static void test_keys_refuse_open_permissions(void **state)
{
	struct gsd_keys k;
	char msg[512], p[512];
	assert_int_equal(gsd_keys_load(dir, &k, msg, sizeof(msg)), 0);
	uint8_t before[32];
	memcpy(before, k.wg_public, 32);
	gsd_keys_clear(&k);

	path_of(p, sizeof(p), GSD_WGKEY_FILE);
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(gsd_keys_load(dir, &k, msg, sizeof(msg)), -EACCES);
	assert_non_null(strstr(msg, "too open"));
	assert_non_null(strstr(msg, p));
	assert_null(k.identity);
	/* refused, not replaced */
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(gsd_keys_load(dir, &k, msg, sizeof(msg)), 0);
	assert_memory_equal(before, k.wg_public, 32);
	gsd_keys_clear(&k);

	path_of(p, sizeof(p), GSD_IDENTITY_FILE);
	assert_int_equal(chmod(p, 0604), 0);
	assert_int_equal(gsd_keys_load(dir, &k, msg, sizeof(msg)), -EACCES);
	assert_non_null(strstr(msg, GSD_IDENTITY_FILE));
	assert_int_equal(chmod(p, 0600), 0);
}

static void test_keys_refuse_garbage_and_unreadable(void **state)
{
	struct gsd_keys k;
	char msg[512], p[512];
	path_of(p, sizeof(p), GSD_WGKEY_FILE);
	assert_int_equal(gsc_write_atomic(p, "not base64 at all\n", 18, 0600, GSC_WRITE_DURABLE),
			 0);
	assert_int_equal(gsd_keys_load(dir, &k, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "not a base64 WireGuard private key"));
	/* a directory where the key should be: unreadable as a key file */
	unlink(p);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(gsd_keys_load(dir, &k, msg, sizeof(msg)), -EACCES);
	assert_non_null(strstr(msg, "not a regular file"));
	rmdir(p);
}

static void test_generation(void **state)
{
	uint64_t g1, g2, g3;
	char msg[256], p[512];
	assert_int_equal(gsd_generation_bump(dir, 1000, &g1, msg, sizeof(msg)), 0);
	assert_int_equal(g1, 1000);
	/* clock going backwards never lowers the generation */
	assert_int_equal(gsd_generation_bump(dir, 10, &g2, msg, sizeof(msg)), 0);
	assert_int_equal(g2, 1001);
	assert_int_equal(gsd_generation_bump(dir, 5000, &g3, msg, sizeof(msg)), 0);
	assert_int_equal(g3, 5000);
	assert_int_equal(mode_of(GSD_GENERATION_FILE), 0600);
	path_of(p, sizeof(p), GSD_GENERATION_FILE);
	assert_int_equal(gsc_write_atomic(p, "garbage\n", 8, 0600, GSC_WRITE_DURABLE), 0);
	assert_int_equal(gsd_generation_bump(dir, 1, &g3, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "corrupt"));
	unlink(p);
}

static void test_members_round_trip(void **state)
{
	char p[512];
	path_of(p, sizeof(p), GSD_MEMBERS_FILE);
	struct gsd_saved_member in[3];
	uint8_t bufs[3][200];
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 200; k++)
			bufs[i][k] = (uint8_t)(i * 31 + k);
		in[i].advert = bufs[i];
		in[i].advert_len = 100 + (size_t)i * 50;
		in[i].state = (uint8_t)i;
	}
	gsd_parse_hostport("127.0.0.1:7001", &in[0].gossip_addr, 0);
	gsd_parse_hostport("[fd00::5]:7002", &in[1].gossip_addr, 0);
	memset(&in[2].gossip_addr, 0, sizeof(in[2].gossip_addr));
	assert_int_equal(gsd_members_save(p, in, 3), 0);
	assert_int_equal(mode_of(GSD_MEMBERS_FILE), 0600);

	/* append a corrupt line: skipped, the rest still loads */
	FILE *f = fopen(p, "a");
	fputs("!!!notbase64 1.2.3.4:5 0\nAAAA\n", f);
	fclose(f);

	struct gsd_saved_member *out = NULL;
	size_t n = 0, skipped = 0;
	assert_int_equal(gsd_members_load(p, &out, &n, &skipped), 0);
	assert_int_equal(n, 3);
	assert_int_equal(skipped, 2);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(out[i].advert_len, in[i].advert_len);
		assert_memory_equal(out[i].advert, in[i].advert, in[i].advert_len);
		assert_int_equal(out[i].state, in[i].state);
		assert_int_equal(out[i].gossip_addr.family, in[i].gossip_addr.family);
		assert_int_equal(out[i].gossip_addr.port, in[i].gossip_addr.port);
		assert_memory_equal(out[i].gossip_addr.ip, in[i].gossip_addr.ip, 16);
	}
	gsd_members_free(out, n);
	unlink(p);
	assert_int_equal(gsd_members_load(p, &out, &n, &skipped), -ENOENT);
}

static void test_atomic_write_leaves_no_temp(void **state)
{
	char p[512];
	path_of(p, sizeof(p), "atomic");
	assert_int_equal(gsc_write_atomic(p, "one", 3, 0644, GSC_WRITE_DURABLE), 0);
	assert_int_equal(gsc_write_atomic(p, "two!", 4, 0600, GSC_WRITE_DURABLE), 0);
	FILE *f = fopen(p, "r");
	char buf[16] = "";
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "two!");
	assert_int_equal(mode_of("atomic"), 0600);
	char cmd[600];
	/* the writer's temporary files are hidden (".atomic.XXXXXX"): list them too */
	snprintf(cmd, sizeof(cmd), "ls -A '%s' | grep -q -e tmp -e '^\\.atomic\\.'", dir);
	assert_int_not_equal(system(cmd), 0);
	unlink(p);
}

/* secrets are never read through a symlink: the cluster key file (checked
 * by the daemon with gsc_check_secret) and the
 * state directory's key files alike; the message names the link */
static void test_secret_symlink_refused(void **state)
{
	char real[512], link[512], msg[512] = "";
	path_of(real, sizeof(real), "real-cluster.key");
	path_of(link, sizeof(link), "cluster.key");
	assert_int_equal(gsc_write_atomic(real, "1 AAAA\n", 7, 0600, GSC_WRITE_DURABLE), 0);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(gsc_check_secret(real, msg, sizeof(msg)), 0);
	assert_int_equal(gsc_check_secret(link, msg, sizeof(msg)), -ELOOP);
	assert_non_null(strstr(msg, link));
	assert_non_null(strstr(msg, "symbolic link"));
	unlink(link);
	unlink(real);

	/* an identity reached through a link is refused, not replaced */
	struct gsd_keys k;
	assert_int_equal(gsd_keys_load(dir, &k, msg, sizeof(msg)), 0);
	gsd_keys_clear(&k);
	path_of(real, sizeof(real), "identity.real");
	path_of(link, sizeof(link), GSD_IDENTITY_FILE);
	assert_int_equal(rename(link, real), 0);
	assert_int_equal(symlink(real, link), 0);
	assert_int_equal(gsd_keys_load(dir, &k, msg, sizeof(msg)), -EACCES);
	assert_non_null(strstr(msg, link));
	assert_non_null(strstr(msg, "symbolic link"));
	assert_null(k.identity);
	unlink(link);
	assert_int_equal(rename(real, link), 0);
}

static void test_state_dir_prepare(void **state)
{
	char p[512], msg[512];
	path_of(p, sizeof(p), "sub/dir");
	assert_int_equal(gsd_state_dir_prepare(p, msg, sizeof(msg)), 0);
	assert_int_equal(mode_of("sub/dir"), 0700);
	path_of(p, sizeof(p), "afile");
	assert_int_equal(gsc_write_atomic(p, "x", 1, 0600, GSC_WRITE_DURABLE), 0);
	assert_true(gsd_state_dir_prepare(p, msg, sizeof(msg)) < 0);
}

static int setup(void **state)
{
	assert_int_equal(gsm_crypto_init(), 0);
	snprintf(dir, sizeof(dir), "/tmp/gsd-state-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_generate_and_reuse),
	    cmocka_unit_test(test_keys_refuse_open_permissions),
	    cmocka_unit_test(test_keys_refuse_garbage_and_unreadable),
	    cmocka_unit_test(test_generation),
	    cmocka_unit_test(test_members_round_trip),
	    cmocka_unit_test(test_atomic_write_leaves_no_temp),
	    cmocka_unit_test(test_secret_symlink_refused),
	    cmocka_unit_test(test_state_dir_prepare),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
