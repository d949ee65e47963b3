/* tests/netlink/test-wg-diff.c - the pure diff and the model helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netlink/wg.h"

static void mkkey(uint8_t k[GNL_WG_KEY_LEN], uint32_t i)
{
	memset(k, 0, GNL_WG_KEY_LEN);
	k[0] = (uint8_t)(i >> 24);
	k[1] = (uint8_t)(i >> 16);
	k[2] = (uint8_t)(i >> 8);
	k[3] = (uint8_t)i;
	k[31] = 0x5a;
}

static struct gnl_prefix P(const char *s) {
	struct gnl_prefix p;
	assert_int_equal(gnl_prefix_parse(s, &p), 0);
	return p;
}

static union gnl_sockaddr
EP(const char *s) {
	union gnl_sockaddr a;
	assert_int_equal(gnl_sockaddr_parse(s, &a), 0);
	return a;
}

static struct gnl_wg_peer *
addpeer(struct gnl_wg_device *d, uint32_t i, const char *ep, uint16_t ka, const char *aip1,
	const char *aip2)
{
	uint8_t k[GNL_WG_KEY_LEN];
	struct gnl_wg_peer *p;
	mkkey(k, i);
	assert_int_equal(gnl_wg_device_add_peer(d, k, &p), 0);
	if (ep)
		p->endpoint = EP(ep);
	p->persistent_keepalive = ka;
	if (aip1) {
		struct gnl_prefix x = P(aip1);
		assert_int_equal(gnl_wg_peer_add_allowedip(p, &x), 0);
	}
	if (aip2) {
		struct gnl_prefix x = P(aip2);
		assert_int_equal(gnl_wg_peer_add_allowedip(p, &x), 0);
	}
	return p;
}

/* a "current" device as read back from a kernel: every device field set */
static struct gnl_wg_device *mkdev(void)
{
	struct gnl_wg_device *d;
	assert_int_equal(gnl_wg_device_new("wgt0", &d), 0);
	return d;
}

static void test_unchanged_no_op(void **state)
{
	struct gnl_wg_device *want = mkdev(), *cur = mkdev();
	struct gnl_wg_ops *ops;

	for (uint32_t i = 0; i < 50; i++) {
		addpeer(want, i, "10.250.0.1:51820", 25, "10.250.1.0/24", "fd00:250::/64");
		/* current lists them in another order, allowed IPs reversed */
		addpeer(cur, 49 - i, "10.250.0.1:51820", 25, "fd00:250::/64", "10.250.1.0/24");
	}
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	assert_true(gnl_wg_ops_empty(ops));
	assert_int_equal(ops->n_ops, 0);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
	gnl_wg_device_free(cur);
}

static void test_endpoint_only(void **state)
{
	struct gnl_wg_device *want = mkdev(), *cur = mkdev();
	struct gnl_wg_ops *ops;

	addpeer(want, 1, "10.250.0.1:51820", 0, "10.250.1.1/32", NULL);
	addpeer(want, 2, "[fd00:250::2]:51821", 0, "10.250.1.2/32", NULL);
	addpeer(cur, 1, "10.250.0.1:51820", 0, "10.250.1.1/32", NULL);
	addpeer(cur, 2, "[fd00:250::2]:51820", 0, "10.250.1.2/32", NULL);
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	assert_int_equal(ops->n_ops, 1);
	assert_int_equal(ops->ops[0].kind, GNL_WG_OP_UPDATE);
	assert_int_equal(ops->ops[0].changed, GNL_WG_CH_ENDPOINT);
	assert_int_equal(ops->ops[0].public_key[3], 2);
	union gnl_sockaddr e = EP("[fd00:250::2]:51821");
	assert_true(gnl_sockaddr_equal(&ops->ops[0].endpoint, &e));
	assert_int_equal(ops->ops[0].n_aip_add + ops->ops[0].n_aip_del + ops->ops[0].n_aip_all, 0);
	assert_int_equal(ops->dev_changed, 0);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
	gnl_wg_device_free(cur);
}

static void test_endpoint_unspecified_keeps_roamed(void **state)
{
	struct gnl_wg_device *want = mkdev(), *cur = mkdev();
	struct gnl_wg_ops *ops;

	addpeer(want, 1, NULL, 0, "10.250.1.1/32", NULL);
	addpeer(cur, 1, "10.250.9.9:4000", 0, "10.250.1.1/32", NULL);
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	assert_true(gnl_wg_ops_empty(ops));
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
	gnl_wg_device_free(cur);
}

static void test_keepalive_and_psk(void **state)
{
	struct gnl_wg_device *want = mkdev(), *cur = mkdev();
	struct gnl_wg_ops *ops;
	struct gnl_wg_peer *w1, *c2;

	w1 = addpeer(want, 1, NULL, 15, NULL, NULL);
	w1->has_preshared_key = true;
	memset(w1->preshared_key, 7, GNL_WG_KEY_LEN);
	addpeer(want, 2, NULL, 0, NULL, NULL);
	addpeer(cur, 1, NULL, 0, NULL, NULL);
	c2 = addpeer(cur, 2, NULL, 0, NULL, NULL);
	c2->has_preshared_key = true;
	memset(c2->preshared_key, 9, GNL_WG_KEY_LEN);
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	assert_int_equal(ops->n_ops, 2);
	assert_int_equal(ops->ops[0].changed, GNL_WG_CH_KEEPALIVE | GNL_WG_CH_PRESHARED_KEY);
	assert_int_equal(ops->ops[0].persistent_keepalive, 15);
	assert_int_equal(ops->ops[0].preshared_key[5], 7);
	/* peer 2: desired has no PSK, kernel has one: clear it (all zero) */
	assert_int_equal(ops->ops[1].changed, GNL_WG_CH_PRESHARED_KEY);
	for (int i = 0; i < GNL_WG_KEY_LEN; i++)
		assert_int_equal(ops->ops[1].preshared_key[i], 0);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
	gnl_wg_device_free(cur);
}

static void test_allowedips_incremental(void **state)
{
	struct gnl_wg_device *want = mkdev(), *cur = mkdev();
	struct gnl_wg_ops *ops;
	struct gnl_wg_peer *w, *c;
	char b[GNL_PREFIX_STRLEN];

	w = addpeer(want, 1, NULL, 0, "10.250.0.0/24", "10.250.3.0/24");
	struct gnl_prefix x = P("fd00:250::/64");
	gnl_wg_peer_add_allowedip(w, &x);
	/* host bits and duplicates in desired are not differences */
	x = P("10.250.0.77/24");
	gnl_wg_peer_add_allowedip(w, &x);
	c = addpeer(cur, 1, NULL, 0, "10.250.0.0/24", "10.250.2.0/24");
	x = P("fd00:250::/64");
	gnl_wg_peer_add_allowedip(c, &x);
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	assert_int_equal(ops->n_ops, 1);
	const struct gnl_wg_peer_op *op = &ops->ops[0];
	assert_int_equal(op->kind, GNL_WG_OP_UPDATE);
	assert_int_equal(op->changed, GNL_WG_CH_ALLOWEDIPS);
	assert_int_equal(op->n_aip_add, 1);
	assert_string_equal(gnl_prefix_format(&op->aip_add[0], b, sizeof(b)), "10.250.3.0/24");
	assert_int_equal(op->n_aip_del, 1);
	assert_string_equal(gnl_prefix_format(&op->aip_del[0], b, sizeof(b)), "10.250.2.0/24");
	assert_int_equal(op->n_aip_all, 3);
	assert_string_equal(gnl_prefix_format(&op->aip_all[0], b, sizeof(b)), "10.250.0.0/24");
	assert_string_equal(gnl_prefix_format(&op->aip_all[1], b, sizeof(b)), "10.250.3.0/24");
	assert_string_equal(gnl_prefix_format(&op->aip_all[2], b, sizeof(b)), "fd00:250::/64");
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
	gnl_wg_device_free(cur);
}

static void test_remove_add_order(void **state)
{
	struct gnl_wg_device *want = mkdev(), *cur = mkdev();
	struct gnl_wg_ops *ops;

	/* want: 5, 3 (changed), 9 (new), 1 (same); cur: 1, 3, 7 (gone), 4 (gone) */
	addpeer(want, 5, NULL, 0, NULL, NULL);
	addpeer(want, 3, NULL, 10, NULL, NULL);
	addpeer(want, 9, NULL, 0, NULL, NULL);
	addpeer(want, 1, NULL, 0, NULL, NULL);
	addpeer(cur, 1, NULL, 0, NULL, NULL);
	addpeer(cur, 3, NULL, 0, NULL, NULL);
	addpeer(cur, 7, NULL, 0, NULL, NULL);
	addpeer(cur, 4, NULL, 0, NULL, NULL);
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	assert_int_equal(ops->n_ops, 5);
	enum gnl_wg_op_kind kinds[] = {GNL_WG_OP_REMOVE, GNL_WG_OP_REMOVE, GNL_WG_OP_UPDATE,
				       GNL_WG_OP_ADD, GNL_WG_OP_ADD};
	uint8_t keys[] = {4, 7, 3, 5, 9};
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(ops->ops[i].kind, kinds[i]);
		assert_int_equal(ops->ops[i].public_key[3], keys[i]);
	}
	/* ADD carries everything */
	assert_true(ops->ops[3].changed & GNL_WG_CH_KEEPALIVE);
	assert_true(ops->ops[3].changed & GNL_WG_CH_ALLOWEDIPS);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
	gnl_wg_device_free(cur);
}

static void test_add_all_from_null(void **state)
{
	struct gnl_wg_device *want = mkdev();
	struct gnl_wg_ops *ops;

	want->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT;
	memset(want->private_key, 3, GNL_WG_KEY_LEN);
	want->listen_port = 51820;
	want->fwmark = 77; /* not managed: not in flags */
	addpeer(want, 2, "10.250.0.2:1", 0, "10.250.2.0/24", NULL);
	addpeer(want, 1, "10.250.0.1:1", 0, "10.250.1.0/24", NULL);
	assert_int_equal(gnl_wg_diff(want, NULL, &ops), 0);
	assert_int_equal(ops->dev_changed, GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT);
	assert_int_equal(ops->listen_port, 51820);
	assert_int_equal(ops->private_key[0], 3);
	assert_int_equal(ops->n_ops, 2);
	assert_int_equal(ops->ops[0].public_key[3], 1);
	assert_int_equal(ops->ops[0].kind, GNL_WG_OP_ADD);
	assert_int_equal(ops->ops[0].n_aip_add, 1);
	assert_true(ops->ops[0].changed & GNL_WG_CH_ENDPOINT);
	assert_false(ops->ops[0].changed & GNL_WG_CH_PRESHARED_KEY);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
}

static void test_device_fields(void **state)
{
	struct gnl_wg_device *want = mkdev(), *cur = mkdev();
	struct gnl_wg_ops *ops;

	cur->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT | GNL_WG_DEV_FWMARK;
	memset(cur->private_key, 1, GNL_WG_KEY_LEN);
	cur->listen_port = 1000;
	cur->fwmark = 5;
	want->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT;
	memset(want->private_key, 1, GNL_WG_KEY_LEN);
	want->listen_port = 1001;
	want->fwmark = 99; /* unmanaged: ignored */
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	assert_int_equal(ops->dev_changed, GNL_WG_DEV_LISTEN_PORT);
	assert_int_equal(ops->listen_port, 1001);
	assert_false(gnl_wg_ops_empty(ops));
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
	gnl_wg_device_free(cur);
}

static void test_duplicate_keys_rejected(void **state)
{
	struct gnl_wg_device *want = mkdev();
	struct gnl_wg_ops *ops = (void *)1;

	addpeer(want, 4, NULL, 0, NULL, NULL);
	addpeer(want, 4, NULL, 0, NULL, NULL);
	assert_int_equal(gnl_wg_diff(want, NULL, &ops), -EINVAL);
	assert_null(ops);
	gnl_wg_device_free(want);
}

static void test_one_change_in_10000(void **state)
{
	struct gnl_wg_device *want = mkdev(), *cur;
	struct gnl_wg_ops *ops;
	char ep[64], a[64];

	for (uint32_t i = 0; i < 10000; i++) {
		snprintf(ep, sizeof(ep), "10.%u.%u.1:51820", 100 + i / 256, i % 256);
		snprintf(a, sizeof(a), "10.250.%u.%u/32", i / 256, i % 256);
		addpeer(want, i * 7919u, ep, i % 3 ? 25 : 0, a, NULL);
	}
	assert_int_equal(gnl_wg_device_dup(want, &cur), 0);
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	assert_true(gnl_wg_ops_empty(ops));
	gnl_wg_ops_free(ops);
	want->peers[4321].endpoint = EP("10.99.0.1:1");
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	assert_int_equal(ops->n_ops, 1);
	assert_memory_equal(ops->ops[0].public_key, want->peers[4321].public_key, GNL_WG_KEY_LEN);
	assert_int_equal(ops->ops[0].changed, GNL_WG_CH_ENDPOINT);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
	gnl_wg_device_free(cur);
}

/* a cached current device kept up to date with apply_ops converges */
static void test_apply_ops_to_model(void **state)
{
	struct gnl_wg_device *want = mkdev(), *cur = mkdev();
	struct gnl_wg_ops *ops;
	struct gnl_wg_peer *p;

	for (uint32_t i = 0; i < 40; i++)
		addpeer(cur, i * 3, "10.250.0.1:1", 0, "10.250.1.0/24", NULL);
	cur->peers[5].rx_bytes = 777; /* read-back state of a survivor */
	gnl_wg_device_sort(cur);
	for (uint32_t i = 0; i < 40; i++) {
		if (i % 4 == 0)
			continue; /* removed */
		p = addpeer(want, i * 3, "10.250.0.1:1", i % 5 ? 0 : 9, "10.250.1.0/24",
			    i % 6 ? NULL : "fd00:250::/64");
		if (i % 7 == 0)
			p->endpoint = EP("10.250.0.2:2");
	}
	for (uint32_t i = 0; i < 10; i++)
		addpeer(want, 1000 + i, NULL, 0, "10.250.9.0/24", NULL);
	want->flags = GNL_WG_DEV_LISTEN_PORT;
	want->listen_port = 7;
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	assert_false(gnl_wg_ops_empty(ops));
	assert_int_equal(gnl_wg_device_apply_ops(cur, ops), 0);
	gnl_wg_ops_free(ops);
	assert_int_equal(cur->n_peers, 30 + 10);
	assert_int_equal(cur->listen_port, 7);
	for (size_t i = 1; i < cur->n_peers; i++) /* still sorted */
		assert_true(memcmp(cur->peers[i - 1].public_key, cur->peers[i].public_key, 32) < 0);
	uint8_t k[32];
	mkkey(k, 15);
	assert_int_equal(gnl_wg_device_find_peer(cur, k)->rx_bytes, 777);
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	assert_true(gnl_wg_ops_empty(ops));
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
	gnl_wg_device_free(cur);
}

static void test_find_peer_any_order(void **state)
{
	struct gnl_wg_device *d = mkdev();
	uint8_t k[GNL_WG_KEY_LEN];

	for (uint32_t i = 0; i < 300; i++)
		addpeer(d, (i * 7919u) % 1000, NULL, (uint16_t)i, NULL, NULL);
	for (int pass = 0; pass < 2; pass++) { /* unsorted, then sorted */
		for (uint32_t i = 0; i < 300; i++) {
			mkkey(k, (i * 7919u) % 1000);
			struct gnl_wg_peer *p = gnl_wg_device_find_peer(d, k);
			assert_non_null(p);
			assert_int_equal(p->persistent_keepalive, i);
		}
		mkkey(k, 5000);
		assert_null(gnl_wg_device_find_peer(d, k));
		gnl_wg_device_sort(d);
	}
	gnl_wg_device_free(d);
}

static void test_prefix_and_sockaddr(void **state)
{
	struct gnl_prefix p;
	union gnl_sockaddr a;
	char b[GNL_SOCKADDR_STRLEN];

	assert_int_equal(gnl_prefix_parse("10.1.2.3", &p), 0);
	assert_int_equal(p.cidr, 32);
	assert_int_equal(gnl_prefix_parse("10.1.2.3/33", &p), -EINVAL);
	assert_int_equal(gnl_prefix_parse("fd00::1/129", &p), -EINVAL);
	assert_int_equal(gnl_prefix_parse("nonsense/8", &p), -EINVAL);
	assert_int_equal(gnl_prefix_parse("10.1.2.3/", &p), -EINVAL);
	assert_int_equal(gnl_prefix_parse("fd00:250::abcd/61", &p), 0);
	assert_int_equal(gnl_prefix_normalize(&p), 0);
	assert_string_equal(gnl_prefix_format(&p, b, sizeof(b)), "fd00:250::/61");
	assert_int_equal(gnl_prefix_parse("10.1.255.3/17", &p), 0);
	gnl_prefix_normalize(&p);
	assert_string_equal(gnl_prefix_format(&p, b, sizeof(b)), "10.1.128.0/17");
	struct gnl_prefix q = P("10.1.200.9/17");
	assert_int_equal(gnl_prefix_cmp(&p, &q), 0);
	q = P("10.1.200.9/18");
	assert_int_not_equal(gnl_prefix_cmp(&p, &q), 0);

	assert_int_equal(gnl_sockaddr_parse("10.250.0.1:51820", &a), 0);
	assert_int_equal(a.sa.sa_family, AF_INET);
	assert_string_equal(gnl_sockaddr_format(&a, b, sizeof(b)), "10.250.0.1:51820");
	assert_int_equal(gnl_sockaddr_parse("[fd00::1]:9", &a), 0);
	assert_string_equal(gnl_sockaddr_format(&a, b, sizeof(b)), "[fd00::1]:9");
	assert_int_equal(gnl_sockaddr_parse("fd00::1:9", &a), -EINVAL);
	assert_int_equal(gnl_sockaddr_parse("10.0.0.1:70000", &a), -EINVAL);
	assert_int_equal(gnl_sockaddr_parse("10.0.0.1", &a), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unchanged_no_op),
	    cmocka_unit_test(test_endpoint_only),
	    cmocka_unit_test(test_endpoint_unspecified_keeps_roamed),
	    cmocka_unit_test(test_keepalive_and_psk),
	    cmocka_unit_test(test_allowedips_incremental),
	    cmocka_unit_test(test_remove_add_order),
	    cmocka_unit_test(test_add_all_from_null),
	    cmocka_unit_test(test_device_fields),
	    cmocka_unit_test(test_duplicate_keys_rejected),
	    cmocka_unit_test(test_one_change_in_10000),
	    cmocka_unit_test(test_apply_ops_to_model),
	    cmocka_unit_test(test_find_peer_any_order),
	    cmocka_unit_test(test_prefix_and_sockaddr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
