/* tests/daemon/test_ratelimit.c - the log rate limiter (daemon/ratelimit.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "daemon/ratelimit.h"

static struct gsm_addr addr(uint32_t n, uint16_t port)
{
	struct gsm_addr a;
	memset(&a, 0, sizeof(a));
	a.family = 4;
	a.ip[0] = 10;
	a.ip[1] = (uint8_t)(n >> 16);
	a.ip[2] = (uint8_t)(n >> 8);
	a.ip[3] = (uint8_t)n;
	a.port = port;
	return a;
}

static void test_one_per_window(void **state)
{
	(void)state;
	struct gsd_ratelimit *rl = malloc(sizeof(*rl));
	gsd_ratelimit_init(rl, 60000);
	struct gsm_addr a = addr(1, 51821);
	uint64_t sup = 99;
	assert_true(gsd_ratelimit_allow(rl, &a, 1, 1000, &sup));
	assert_int_equal(sup, 0);
	for (int i = 0; i < 12; i++)
		assert_false(gsd_ratelimit_allow(rl, &a, 1, 1000 + (uint64_t)i * 1000, &sup));
	/* another reason, another port: separate keys */
	assert_true(gsd_ratelimit_allow(rl, &a, 2, 2000, &sup));
	struct gsm_addr b = addr(1, 51822);
	assert_true(gsd_ratelimit_allow(rl, &b, 1, 2000, &sup));
	assert_false(gsd_ratelimit_allow(rl, &a, 1, 60999, &sup));
	assert_true(gsd_ratelimit_allow(rl, &a, 1, 61000, &sup));
	assert_int_equal(sup, 13);
	assert_false(gsd_ratelimit_allow(rl, &a, 1, 61001, NULL));
	assert_true(gsd_ratelimit_allow(rl, &a, 1, 200000, &sup));
	assert_int_equal(sup, 1);
	free(rl);
}

static void test_bounded_eviction(void **state)
{
	(void)state;
	struct gsd_ratelimit *rl = malloc(sizeof(*rl));
	gsd_ratelimit_init(rl, 60000);
	/* fill the table; key 0 is the oldest */
	for (uint32_t i = 0; i < GSD_RATELIMIT_SLOTS; i++) {
		struct gsm_addr a = addr(i, 1);
		assert_true(gsd_ratelimit_allow(rl, &a, 1, 1000 + i, NULL));
	}
	struct gsm_addr a0 = addr(0, 1), a1 = addr(1, 1);
	assert_false(gsd_ratelimit_allow(rl, &a1, 1, 5000, NULL));
	/* a new key evicts the oldest (key 0); key 1 stays limited */
	struct gsm_addr n = addr(100000, 1);
	assert_true(gsd_ratelimit_allow(rl, &n, 1, 5000, NULL));
	assert_false(gsd_ratelimit_allow(rl, &a1, 1, 5001, NULL));
	/* key 0 was forgotten: reported again at once (evicting key 1) */
	uint64_t sup = 7;
	assert_true(gsd_ratelimit_allow(rl, &a0, 1, 5002, &sup));
	assert_int_equal(sup, 0);
	/* a flood from many sources never needs more than the table */
	for (uint32_t i = 0; i < 10000; i++) {
		struct gsm_addr a = addr(200000 + i, 1);
		assert_true(gsd_ratelimit_allow(rl, &a, 1, 6000 + i, NULL));
	}
	free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_per_window),
	    cmocka_unit_test(test_bounded_eviction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
