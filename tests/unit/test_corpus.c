/* tests/unit/test_corpus.c - the committed fuzz seed corpus still decodes
 * with the current codec (so the fuzzers start from valid, deep inputs and
 * a format change that breaks old encodings is noticed). */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gossip/crypto.h"
#include "gossip/wire.h"
#include "tests/unit/fixtures.h"

static uint8_t data[GSM_MAX_DATAGRAM + 2], body[GSM_MAX_DATAGRAM];
static struct gsm_msg msg;

static size_t slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(data, 1, sizeof(data), f);
	fclose(f);
	return n;
}

typedef void (*seed_fn)(const char *name, size_t n);

static size_t each_seed(const char *target, seed_fn fn)
{
	const char *root = getenv("GSM_SOURCE_ROOT");
	char dir[1024], path[2048];
	struct dirent *e;
	size_t count = 0;
	DIR *d;

	assert_non_null(root);
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", root, target);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fn(e->d_name, slurp(path));
		count++;
	}
	closedir(d);
	return count;
}

static struct gsm_keyring *kr;

static void datagram_seed(const char *name, size_t n)
{
	const uint8_t *b = data + 1;
	size_t blen = n - 1;

	assert_true(n > 1);
	if (data[0] & 1) {
		assert_int_equal(gsm_open(kr, data + 1, n - 1, body, sizeof(body), &blen, NULL), 0);
		b = body;
	}
	if (gsm_msg_decode(b, blen, &msg) != 0)
		fail_msg("seed %s does not decode", name);
	for (size_t i = 0; i < msg.n_adverts; i++)
		assert_int_equal(gsm_advert_verify(msg.adverts[i].ptr, msg.adverts[i].len), 0);
}

static void advert_seed(const char *name, size_t n)
{
	struct gsm_advert a;

	if (gsm_advert_decode(data, n, &a) != 0 || gsm_advert_verify(data, n) != 0)
		fail_msg("seed %s does not decode/verify", name);
}

static void test_datagram_corpus(void **state)
{
	(void)state;
	kr = fx_keyring();
	assert_true(each_seed("datagram", datagram_seed) >= 10);
	gsm_keyring_free(kr);
}

static void test_advert_corpus(void **state)
{
	(void)state;
	assert_true(each_seed("advert", advert_seed) >= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_datagram_corpus),
	    cmocka_unit_test(test_advert_corpus),
	};
	if (gsm_crypto_init())
		return 1;
	return cmocka_run_group_tests_name("corpus", tests, NULL, NULL);
}
