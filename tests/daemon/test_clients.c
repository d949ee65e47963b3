/*
 * tests/daemon/test_clients.c - the client record set of daemon/clients.c
 * (no daemon): loading and saving clients.json, refusing a file that does
 * not parse, and the address allocation from client_pool.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "daemon/clients.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/gsm-clients-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/clients.json", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void pfx(const char *s, struct gsm_prefix *p)
{
	assert_int_equal(gsm_prefix_parse(s, p), 0);
}

#define KEY_A "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define KEY_B "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="

static void test_missing_file_is_empty(void **state)
{
	char msg[256];
	(void)state;
	struct gsd_clients *cs = gsd_clients_new(path);
	assert_non_null(cs);
	assert_int_equal(gsd_clients_load(cs, msg, sizeof(msg)), 0);
	assert_int_equal(gsd_clients_count(cs), 0);
	gsd_clients_free(cs);
	gsd_clients_free(NULL);
}

static void test_load_save_next_addr(void **state)
{
	char msg[256];
	struct gsm_prefix pool, a;
	(void)state;
	write_file("{\"version\": 1, \"clients\": ["
		   "{\"name\": \"laptop\", \"public_key\": \"" KEY_A "\", \"address\": "
		   "\"10.99.0.1/32\", \"allowed_ips\": [\"10.40.0.0/24\"], \"created\": 1},"
		   "{\"name\": \"cp\", \"public_key\": \"" KEY_B "\", \"address\": "
		   "\"10.99.0.2/32\", \"allowed_ips\": [], \"created\": 2}]}");
	struct gsd_clients *cs = gsd_clients_new(path);
	assert_int_equal(gsd_clients_load(cs, msg, sizeof(msg)), 0);
	assert_int_equal(gsd_clients_count(cs), 2);
	/* sorted by name */
	assert_string_equal(gsd_clients_at(cs, 0)->name, "cp");
	assert_string_equal(gsd_clients_at(cs, 1)->name, "laptop");
	assert_int_equal(gsd_clients_at(cs, 1)->n_allowed, 1);
	assert_null(gsd_clients_at(cs, 2));
	/* the next free address skips the network address and both taken */
	pfx("10.99.0.0/24", &pool);
	assert_int_equal(gsd_clients_next_addr(cs, &pool, &a), 0);
	assert_int_equal(a.len, 32);
	assert_memory_equal(a.ip, ((uint8_t[]){10, 99, 0, 3}), 4);
	/* a /30 holds two hosts, both taken */
	pfx("10.99.0.0/30", &pool);
	assert_int_equal(gsd_clients_next_addr(cs, &pool, &a), -ENOSPC);
	/* save, then load again: the same records, file 0600 */
	assert_int_equal(gsd_clients_save(cs), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	struct gsd_clients *back = gsd_clients_new(path);
	assert_int_equal(gsd_clients_load(back, msg, sizeof(msg)), 0);
	assert_int_equal(gsd_clients_count(back), 2);
	for (size_t i = 0; i < 2; i++)
		assert_memory_equal(gsd_clients_at(back, i), gsd_clients_at(cs, i),
				    sizeof(struct gsd_client_rec));
	gsd_clients_free(back);
	gsd_clients_free(cs);
}

static void test_bad_file_refused(void **state)
{
	char msg[256] = "";
	(void)state;
	static const char *bad[] = {
	    "not json",
	    "{\"version\": 1, \"clients\": [{\"name\": \"x\"}]}",
	    "{\"version\": 1, \"clients\": [{\"name\": \"x\", \"public_key\": \"short\", "
	    "\"address\": \"10.99.0.1/32\", \"allowed_ips\": [], \"created\": 1}]}",
	    "{\"version\": 1, \"clients\": [{\"name\": \"x\", \"public_key\": \"" KEY_A "\", "
	    "\"address\": \"nonsense\", \"allowed_ips\": [], \"created\": 1}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(bad[i]);
		struct gsd_clients *cs = gsd_clients_new(path);
		msg[0] = '\0';
		assert_int_equal(gsd_clients_load(cs, msg, sizeof(msg)), -EINVAL);
		assert_true(strlen(msg) > 0);
		gsd_clients_free(cs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_missing_file_is_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_load_save_next_addr, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_file_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
