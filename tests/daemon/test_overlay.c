/* tests/daemon/test_overlay.c - overlay address derivation and IPv4
 * collision resolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/overlay.h"

static void id_of(uint8_t id[32], uint8_t first, uint8_t seed)
{
	for (int i = 0; i < 32; i++)
		id[i] = (uint8_t)(seed * 7 + i * 13);
	id[0] = first;
}

static void test_ula(void **state)
{
	struct gsm_prefix a, b, c;
	gsd_overlay_ula48("prod", &a);
	gsd_overlay_ula48("prod", &b);
	gsd_overlay_ula48("staging", &c);
	assert_int_equal(a.family, 6);
	assert_int_equal(a.len, 48);
	assert_int_equal(a.ip[0], 0xfd);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_memory_not_equal(a.ip, c.ip, 6);
	for (int i = 6; i < 16; i++)
		assert_int_equal(a.ip[i], 0);
}

static void test_v6_host(void **state)
{
	struct gsm_prefix pre, x, y, z;
	uint8_t id1[32], id2[32];
	id_of(id1, 1, 1);
	id_of(id2, 2, 2);
	gsd_overlay_ula48("prod", &pre);
	gsd_overlay_v6(&pre, id1, &x);
	gsd_overlay_v6(&pre, id1, &y);
	gsd_overlay_v6(&pre, id2, &z);
	assert_int_equal(x.len, 128);
	assert_memory_equal(x.ip, pre.ip, 6); /* inside the /48 */
	assert_int_equal(x.ip[6], 0);	      /* subnet 0 */
	assert_int_equal(x.ip[7], 0);
	assert_memory_equal(&x, &y, sizeof(x)); /* stable */
	assert_memory_not_equal(x.ip + 8, z.ip + 8, 8);
}

static void test_v4_candidates_inside_prefix(void **state)
{
	struct gsm_prefix pre, c;
	assert_int_equal(gsd_parse_prefix("10.77.0.0/16", &pre), 0);
	uint8_t id[32];
	for (uint8_t s = 0; s < 50; s++) {
		id_of(id, s, s);
		for (uint32_t at = 0; at < 20; at++) {
			gsd_overlay_v4_candidate(&pre, id, at, &c);
			assert_int_equal(c.len, 32);
			assert_int_equal(c.ip[0], 10);
			assert_int_equal(c.ip[1], 77);
			assert_false(c.ip[2] == 0 && c.ip[3] == 0);
			assert_false(c.ip[2] == 255 && c.ip[3] == 255);
		}
	}
	/* a /30 has exactly two host addresses */
	assert_int_equal(gsd_parse_prefix("192.168.5.4/30", &pre), 0);
	int seen[4] = {0};
	for (uint32_t at = 0; at < 64; at++) {
		gsd_overlay_v4_candidate(&pre, id, at, &c);
		assert_int_equal(c.ip[2], 5);
		assert_true(c.ip[3] >= 4 && c.ip[3] <= 7);
		seen[c.ip[3] - 4]++;
	}
	assert_int_equal(seen[0], 0); /* network */
	assert_int_equal(seen[3], 0); /* broadcast */
	assert_true(seen[1] > 0 && seen[2] > 0);
	/* different attempts give different addresses (mostly) */
	assert_int_equal(gsd_parse_prefix("10.77.0.0/16", &pre), 0);
	struct gsm_prefix c0, c1;
	gsd_overlay_v4_candidate(&pre, id, 0, &c0);
	gsd_overlay_v4_candidate(&pre, id, 1, &c1);
	assert_memory_not_equal(c0.ip, c1.ip, 4);
}

/* Two nodes whose first candidates collide (a /30 forces collisions). */
static void test_collision_lower_id_keeps(void **state)
{
	struct gsm_prefix pre, a0, b0;
	assert_int_equal(gsd_parse_prefix("10.9.0.0/24", &pre), 0);
	uint8_t lo[32], hi[32];
	/* find two ids with the same first candidate */
	uint8_t s = 0;
	id_of(lo, 0x10, 0);
	gsd_overlay_v4_candidate(&pre, lo, 0, &a0);
	for (s = 1; s < 255; s++) {
		id_of(hi, 0x20, s);
		gsd_overlay_v4_candidate(&pre, hi, 0, &b0);
		if (!memcmp(a0.ip, b0.ip, 4))
			break;
	}
	assert_true(s < 255);
	assert_true(memcmp(lo, hi, 32) < 0);

	/* each sees the other's claim on the shared address */
	struct gsd_v4_claim lo_claim = {0}, hi_claim = {0};
	memcpy(lo_claim.node_id, lo, 32);
	memcpy(lo_claim.ip, a0.ip, 4);
	memcpy(hi_claim.node_id, hi, 32);
	memcpy(hi_claim.ip, b0.ip, 4);

	struct gsm_prefix lo_pick, hi_pick;
	/* lower id keeps its address */
	assert_int_equal(gsd_overlay_v4_pick(&pre, lo, &hi_claim, 1, &a0, 0, &lo_pick, NULL), 0);
	assert_memory_equal(lo_pick.ip, a0.ip, 4);
	/* higher id moves to its next free derived address */
	int at = gsd_overlay_v4_pick(&pre, hi, &lo_claim, 1, &b0, 0, &hi_pick, NULL);
	assert_true(at >= 1);
	assert_memory_not_equal(hi_pick.ip, a0.ip, 4);
	struct gsm_prefix expect;
	gsd_overlay_v4_candidate(&pre, hi, (uint32_t)at, &expect);
	assert_memory_equal(hi_pick.ip, expect.ip, 4);

	/* after the move, both views are stable: nobody moves again */
	memcpy(hi_claim.ip, hi_pick.ip, 4);
	struct gsm_prefix again;
	assert_int_equal(gsd_overlay_v4_pick(&pre, lo, &hi_claim, 1, &a0, 0, &again, NULL), 0);
	assert_memory_equal(again.ip, a0.ip, 4);
	assert_int_equal(gsd_overlay_v4_pick(&pre, hi, &lo_claim, 1, &hi_pick, 0, &again, NULL),
			 at);
	assert_memory_equal(again.ip, hi_pick.ip, 4);
}

static void test_move_never_grabs_taken_address(void **state)
{
	struct gsm_prefix pre;
	assert_int_equal(gsd_parse_prefix("10.9.0.0/24", &pre), 0);
	uint8_t me[32], lower[32], higher[32];
	id_of(me, 0x50, 1);
	id_of(lower, 0x01, 2);
	id_of(higher, 0x90, 3);
	struct gsm_prefix c0, c1, c2;
	gsd_overlay_v4_candidate(&pre, me, 0, &c0);
	gsd_overlay_v4_candidate(&pre, me, 1, &c1);
	gsd_overlay_v4_candidate(&pre, me, 2, &c2);
	if (!memcmp(c1.ip, c2.ip, 4) || !memcmp(c0.ip, c1.ip, 4))
		skip();
	/* a lower id whose own first candidate is our candidate 0 holds it
	 * (equal rank, no incumbency: the lower id wins; a lower id holding it
	 * as a non-derived "static" address would not, see test_policy.c), a
	 * higher id holds candidate 1 */
	struct gsm_prefix l0;
	unsigned s;
	for (s = 0; s < 65536; s++) {
		lower[1] = (uint8_t)s;
		lower[2] = (uint8_t)(s >> 8);
		gsd_overlay_v4_candidate(&pre, lower, 0, &l0);
		if (!memcmp(l0.ip, c0.ip, 4))
			break;
	}
	assert_true(s < 65536);
	struct gsd_v4_claim cl[2];
	memset(cl, 0, sizeof(cl));
	memcpy(cl[0].node_id, lower, 32);
	memcpy(cl[0].ip, c0.ip, 4);
	memcpy(cl[1].node_id, higher, 32);
	memcpy(cl[1].ip, c1.ip, 4);
	struct gsm_prefix out;
	int at = gsd_overlay_v4_pick(&pre, me, cl, 2, &c0, 0, &out, NULL);
	assert_true(at >= 2);
	assert_memory_not_equal(out.ip, c1.ip, 4);
	/* but if we already hold candidate 1, the higher id (whose claim on it
	 * is not among its own first candidates) has to move */
	assert_int_equal(gsd_overlay_v4_pick(&pre, me, cl, 2, &c1, 0, &out, NULL), 1);
}

static void test_exhausted(void **state)
{
	struct gsm_prefix pre, out, h1, h2;
	assert_int_equal(gsd_parse_prefix("10.9.0.4/30", &pre), 0);
	uint8_t me[32], a[32];
	id_of(me, 0x80, 1);
	id_of(a, 0x01, 2);
	struct gsd_v4_claim cl[2];
	memset(cl, 0, sizeof(cl));
	gsd_parse_prefix("10.9.0.5/32", &h1);
	gsd_parse_prefix("10.9.0.6/32", &h2);
	memcpy(cl[0].node_id, a, 32);
	memcpy(cl[0].ip, h1.ip, 4);
	memcpy(cl[1].node_id, a, 32);
	memcpy(cl[1].ip, h2.ip, 4);
	assert_int_equal(gsd_overlay_v4_pick(&pre, me, cl, 2, NULL, 0, &out, NULL), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ula),
	    cmocka_unit_test(test_v6_host),
	    cmocka_unit_test(test_v4_candidates_inside_prefix),
	    cmocka_unit_test(test_collision_lower_id_keeps),
	    cmocka_unit_test(test_move_never_grabs_taken_address),
	    cmocka_unit_test(test_exhausted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
