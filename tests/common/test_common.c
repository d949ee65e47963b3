/* tests/common: unit tests of common/ (file I/O, durations, arrays, prefixes). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/array.h"
#include "common/duration.h"
#include "common/fileio.h"
#include "common/prefix.h"

/* ---- durations ---- */

static void test_duration_good(void **st)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} ok[] = {
	    {"0", 0},
	    {"30", 30000},
	    {"30s", 30000},
	    {"200ms", 200},
	    {"2m", 120000},
	    {"1h", 3600000},
	    {"1.5s", 1500},
	    {".5s", 500},
	    {"0.25m", 15000},
	    {"1.0005s", 1000},
	    {"0.1ms", 0},
	    {"7", 7000},
	    {"604800s", 604800000},
	};
	(void)st;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		uint64_t ms = 12345;

		assert_int_equal(gsc_parse_duration_ms(ok[i].s, 604800000, &ms), 0);
		assert_int_equal(ms, ok[i].ms);
	}
}

static void test_duration_bad(void **st)
{
	static const char *const syntax[] = {
	    "",	     "nan",  "NaN",  "inf",  "-1",   "+1",  " 1s",  "1s ", "0x10",
	    "0x1p3", "1e-9", "1e3",  "1.",   ".",    "s",   "10 s", "1d",  "1S",
	    "1.5.5", "1,5",  "nans", "infs", "1msx", "--1", "1\n",
	};
	uint64_t ms = 99;

	(void)st;
	for (size_t i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++) {
		assert_int_equal(gsc_parse_duration_ms(syntax[i], UINT64_MAX, &ms), -EINVAL);
		assert_int_equal(ms, 99); /* untouched */
	}
	assert_int_equal(gsc_parse_duration_ms(NULL, 1000, &ms), -EINVAL);
	assert_int_equal(gsc_parse_duration_ms("8d", 1000, &ms), -EINVAL);
	assert_int_equal(gsc_parse_duration_ms("2s", 1999, &ms), -ERANGE);
	assert_int_equal(gsc_parse_duration_ms("2000ms", 1999, &ms), -ERANGE);
	assert_int_equal(gsc_parse_duration_ms("1.9995s", 1999, &ms), 0);
	assert_int_equal(ms, 1999);
	assert_int_equal(gsc_parse_duration_ms("99999999999999999999", UINT64_MAX, &ms), -ERANGE);
	assert_int_equal(gsc_parse_duration_ms("18446744073709551615h", UINT64_MAX, &ms), -ERANGE);
	assert_int_equal(gsc_parse_duration_ms("999999999999999h", UINT64_MAX, &ms), -ERANGE);
}

/* ---- arrays ---- */

static void test_grow(void **st)
{
	int *a = NULL;
	size_t cap = 0;

	(void)st;
	assert_int_equal(gsc_grow(&a, &cap, 0, sizeof(*a)), 0);
	assert_null(a);
	assert_int_equal(gsc_grow(&a, &cap, 1, sizeof(*a)), 0);
	assert_non_null(a);
	assert_int_equal(cap, 16);
	for (int i = 0; i < 16; i++)
		a[i] = i;
	assert_int_equal(gsc_grow(&a, &cap, 17, sizeof(*a)), 0);
	assert_int_equal(cap, 32);
	for (int i = 0; i < 16; i++)
		assert_int_equal(a[i], i);
	assert_int_equal(gsc_grow(&a, &cap, 1000, sizeof(*a)), 0);
	assert_int_equal(cap, 1024);
	int *before = a;
	assert_int_equal(gsc_grow(&a, &cap, SIZE_MAX / 2, sizeof(*a)), -EOVERFLOW);
	assert_ptr_equal(a, before);
	assert_int_equal(cap, 1024);
	free(a);
}

static const int sorted[] = {2, 4, 4, 8, 16};

static int int_at(const void *ctx, size_t i)
{
	int key = *(const int *)ctx;
	return key < sorted[i] ? -1 : key > sorted[i];
}

static void test_lower_bound(void **st)
{
	static const struct {
		int key;
		size_t pos;
		bool found;
	} c[] = {{1, 0, false}, {2, 0, true},  {3, 1, false}, {4, 1, true},
		 {5, 3, false}, {16, 4, true}, {17, 5, false}};
	bool found;

	(void)st;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_int_equal(gsc_lower_bound(5, int_at, &c[i].key, &found), c[i].pos);
		assert_int_equal(found, c[i].found);
	}
	assert_int_equal(gsc_lower_bound(0, int_at, &c[0].key, &found), 0);
	assert_false(found);
	assert_int_equal(gsc_lower_bound(5, int_at, &c[3].key, NULL), 1);
}

/* ---- prefixes ---- */

static void test_prefix(void **st)
{
	const uint8_t net[4] = {10, 77, 0, 0}, in[4] = {10, 77, 200, 9}, out[4] = {10, 78, 0, 1},
		      odd[4] = {10, 77, 128, 0};
	const uint8_t v6net[16] = {0xfd, 0x12, 0x34}, v6in[16] = {0xfd, 0x12, 0x34, 0x56, 1};

	(void)st;
	assert_true(gsc_prefix_covers(net, 16, in, 32));
	assert_false(gsc_prefix_covers(net, 16, out, 32));
	assert_true(gsc_prefix_covers(net, 0, out, 32));  /* /0 covers all */
	assert_true(gsc_prefix_covers(net, 16, net, 16)); /* itself */
	assert_false(gsc_prefix_covers(net, 16, net, 8)); /* wider is not inside */
	assert_true(gsc_prefix_covers(net, 16, odd, 17));
	assert_false(gsc_prefix_covers(net, 17, odd, 17)); /* bit 17 differs */
	assert_true(gsc_prefix_covers(odd, 17, in, 32));
	assert_true(gsc_prefix_covers(v6net, 24, v6in, 128));
	assert_false(gsc_prefix_covers(v6net, 32, v6in, 128));
	assert_true(gsc_prefix_overlaps(net, 16, in, 24));
	assert_true(gsc_prefix_overlaps(in, 24, net, 16));
	assert_false(gsc_prefix_overlaps(net, 16, out, 16));
}

/* ---- files ---- */

static char dir[64];

static int setup_dir(void **st)
{
	(void)st;
	snprintf(dir, sizeof(dir), "/tmp/gsc-test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **st)
{
	char cmd[128];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

static void test_write_atomic(void **st)
{
	char p[128], *buf = NULL;
	struct stat sb;
	size_t len;

	(void)st;
	path_of(p, sizeof(p), "a");
	umask(022);
	assert_int_equal(gsc_write_atomic(p, "one", 3, 0600, GSC_WRITE_DURABLE), 0);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(gsc_write_atomic(p, "second", 6, 0600, 0), 0);
	assert_int_equal(gsc_read_secret(p, 64, &buf, &len), 0);
	assert_int_equal(len, 6);
	assert_string_equal(buf, "second");
	gsc_secret_free(buf, 64);
	/* mode is what we ask, not what umask leaves */
	umask(0077);
	assert_int_equal(gsc_write_atomic(p, "x", 1, 0644, 0), 0);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0644);
	umask(022);
	/* no temporary left behind */
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "test $(ls -A %s | wc -l) -eq 1", dir);
	assert_int_equal(system(cmd), 0);
	/* a missing directory is an error, nothing created */
	path_of(p, sizeof(p), "nodir/a");
	assert_int_equal(gsc_write_atomic(p, "x", 1, 0600, 0), -ENOENT);
}

static void test_write_replaces_symlink(void **st)
{
	char target[128], link[128];
	struct stat sb;

	(void)st;
	path_of(target, sizeof(target), "target");
	path_of(link, sizeof(link), "link");
	assert_int_equal(gsc_write_atomic(target, "keep", 4, 0600, 0), 0);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(gsc_write_atomic(link, "new", 3, 0600, 0), 0);
	assert_int_equal(lstat(link, &sb), 0);
	assert_true(S_ISREG(sb.st_mode)); /* the link was replaced, */
	assert_int_equal(stat(target, &sb), 0);
	assert_int_equal(sb.st_size, 4); /* the target untouched */
}

static void test_read_secret_refusals(void **st)
{
	char p[128], l[128], msg[256];
	char *buf = (char *)1;
	size_t len;

	(void)st;
	path_of(p, sizeof(p), "secret");
	assert_int_equal(gsc_write_atomic(p, "k", 1, 0600, 0), 0);
	assert_int_equal(gsc_check_secret(p, msg, sizeof(msg)), 0);
	/* a symlink to a perfectly good 0600 file is refused */
	path_of(l, sizeof(l), "secret-link");
	assert_int_equal(symlink(p, l), 0);
	assert_int_equal(gsc_read_secret(l, 64, &buf, &len), -ELOOP);
	assert_null(buf);
	assert_int_equal(gsc_check_secret(l, msg, sizeof(msg)), -ELOOP);
	assert_non_null(strstr(msg, "symbolic link"));
	/* group/world bits */
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(gsc_read_secret(p, 64, &buf, &len), -EACCES);
	assert_int_equal(gsc_check_secret(p, msg, sizeof(msg)), -EACCES);
	assert_non_null(strstr(msg, "chmod 600"));
	assert_int_equal(chmod(p, 0600), 0);
	/* too big */
	assert_int_equal(gsc_write_atomic(p, "0123456789", 10, 0600, 0), 0);
	assert_int_equal(gsc_read_secret(p, 9, &buf, &len), -EMSGSIZE);
	assert_int_equal(gsc_read_secret(p, 10, &buf, &len), 0);
	assert_int_equal(len, 10);
	gsc_secret_free(buf, 10);
	/* not a regular file, missing file */
	assert_int_equal(gsc_read_secret(dir, 64, &buf, &len), -EINVAL);
	path_of(p, sizeof(p), "missing");
	assert_int_equal(gsc_read_secret(p, 64, &buf, &len), -ENOENT);
	assert_int_equal(gsc_check_secret(p, msg, sizeof(msg)), -ENOENT);
	gsc_secret_free(NULL, 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_good),
	    cmocka_unit_test(test_duration_bad),
	    cmocka_unit_test(test_grow),
	    cmocka_unit_test(test_lower_bound),
	    cmocka_unit_test(test_prefix),
	    cmocka_unit_test_setup_teardown(test_write_atomic, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_write_replaces_symlink, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_read_secret_refusals, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
