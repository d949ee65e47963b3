/* tests/daemon/test_reconcile.c - members -> desired WireGuard peers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/reconcile.h"

#define NOW_MS	 1000000u
#define NOW_UNIX 1700000000

static struct gsm_advert advs[8];
static struct gsd_member *recs[8];
static struct gsd_rc_member mem[8];
static bool unverified[8]; /* members that never answered a probe */

/* the reconciler reads cache records: rebuild member i's from advs[i]
 * (tests edit advs[] after mk()) */
static void rec_of(int i)
{
	gsd_member_free(recs[i]);
	recs[i] = gsd_member_from_advert(&advs[i]);
	assert_non_null(recs[i]);
	recs[i]->reachable = !unverified[i]; /* answered a probe (admission) */
	mem[i].mem = recs[i];
}

static int free_recs(void **state)
{
	for (int i = 0; i < 8; i++) {
		gsd_member_free(recs[i]);
		recs[i] = NULL;
		unverified[i] = false;
	}
	return 0;
}

static void mk(int i, uint8_t idbyte, uint8_t keybyte, uint8_t state, const char *v4,
	       const char *ep)
{
	struct gsm_advert *a = &advs[i];
	memset(a, 0, sizeof(*a));
	memset(a->node_id, idbyte, 32);
	memset(a->wg_pubkey, keybyte, 32);
	snprintf(a->name, sizeof(a->name), "n%d", i);
	a->wg_port = 51820;
	if (v4)
		gsd_parse_prefix(v4, &a->overlay[a->n_overlay++]);
	gsd_parse_prefix("fd00::1:0/128", &a->overlay[a->n_overlay]);
	a->overlay[a->n_overlay].ip[15] = idbyte;
	a->n_overlay++;
	if (ep) {
		gsd_parse_hostport(ep, &a->endpoints[0].addr, 0);
		a->endpoints[0].flags = GSM_EP_CONFIGURED;
		a->n_endpoints = 1;
	}
	memset(&mem[i], 0, sizeof(mem[i]));
	rec_of(i);
	mem[i].state = state;
	mem[i].state_since_ms = NOW_MS - 1000;
}

static void base_input(struct gsd_rc_input *in, size_t n)
{
	memset(in, 0, sizeof(*in));
	memset(in->self_id, 0x01, 32);
	memset(in->self_wg_pubkey, 0xa1, 32);
	in->keepalive = -1;
	in->dead_grace_ms = 30000;
	in->left_grace_ms = 5000;
	in->now_ms = NOW_MS;
	in->now_unix = NOW_UNIX;
	in->members = mem;
	in->n_members = n;
}

static struct gnl_wg_device *desired(const struct gsd_rc_input *in, enum gsd_rc_verdict *v)
{
	struct gnl_wg_device *d;
	assert_int_equal(gnl_wg_device_new("gsm0", &d), 0);
	for (size_t i = 0; i < in->n_members; i++)
		rec_of((int)i);
	assert_int_equal(gsd_reconcile_desired(in, d, v), 0);
	return d;
}

static bool has_aip(const struct gnl_wg_peer *p, const char *cidr)
{
	struct gnl_prefix x;
	assert_int_equal(gnl_prefix_parse(cidr, &x), 0);
	for (size_t i = 0; i < p->n_allowedips; i++)
		if (!gnl_prefix_cmp(&p->allowedips[i], &x))
			return true;
	return false;
}

static void test_states_and_self(void **state)
{
	mk(0, 0x01, 0xa1, GSM_STATE_ALIVE, "10.77.0.1/32", NULL); /* self */
	mk(1, 0x02, 0xa2, GSM_STATE_ALIVE, "10.77.0.2/32", "192.0.2.2:51820");
	mk(2, 0x03, 0xa3, GSM_STATE_SUSPECT, "10.77.0.3/32", "192.0.2.3:51820");
	mk(3, 0x04, 0xa4, GSM_STATE_DEAD, "10.77.0.4/32", "192.0.2.4:51820"); /* in grace */
	mk(4, 0x05, 0xa5, GSM_STATE_DEAD, "10.77.0.5/32", "192.0.2.5:51820");
	mem[4].state_since_ms = NOW_MS - 31000; /* past grace */
	mk(5, 0x06, 0xa6, GSM_STATE_LEFT, "10.77.0.6/32", NULL);
	mem[5].state_since_ms = NOW_MS - 6000; /* past left grace */
	mk(6, 0x07, 0xa7, GSM_STATE_LEFT, "10.77.0.7/32", NULL);
	mem[6].state_since_ms = NOW_MS - 1000; /* within left grace */
	struct gsd_rc_input in;
	base_input(&in, 7);
	enum gsd_rc_verdict v[7];
	struct gnl_wg_device *d = desired(&in, v);
	assert_int_equal(v[0], GSD_RC_SELF);
	assert_int_equal(v[1], GSD_RC_PEER);
	assert_int_equal(v[2], GSD_RC_PEER);
	assert_int_equal(v[3], GSD_RC_PEER);
	assert_int_equal(v[4], GSD_RC_EXPIRED);
	assert_int_equal(v[5], GSD_RC_EXPIRED);
	assert_int_equal(v[6], GSD_RC_PEER);
	assert_int_equal(d->n_peers, 4);
	const struct gnl_wg_peer *p = gnl_wg_device_find_peer(d, advs[1].wg_pubkey);
	assert_non_null(p);
	assert_true(has_aip(p, "10.77.0.2/32"));
	assert_true(has_aip(p, "fd00::1:2/128"));
	assert_int_equal(p->n_allowedips, 2);
	assert_int_equal(p->persistent_keepalive, 0);
	char buf[64];
	gnl_sockaddr_format(&p->endpoint, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.2:51820");
	gnl_wg_device_free(d);
}

static void test_dead_with_fresh_handshake_kept(void **state)
{
	mk(0, 0x02, 0xa2, GSM_STATE_DEAD, "10.77.0.2/32", "192.0.2.2:51820");
	mem[0].state_since_ms = NOW_MS - 600000; /* long dead */
	struct gnl_wg_device *cur;
	assert_int_equal(gnl_wg_device_new("gsm0", &cur), 0);
	struct gnl_wg_peer *cp;
	assert_int_equal(gnl_wg_device_add_peer(cur, advs[0].wg_pubkey, &cp), 0);
	gnl_sockaddr_parse("203.0.113.9:40000", &cp->endpoint);
	cp->last_handshake.tv_sec = NOW_UNIX - 30;
	mem[0].last_rx_ms = NOW_MS - 5000; /* still receiving from it */
	struct gsd_rc_input in;
	base_input(&in, 1);
	in.current = cur;
	enum gsd_rc_verdict v[1];
	struct gnl_wg_device *d = desired(&in, v);
	assert_int_equal(v[0], GSD_RC_PEER);
	/* working tunnel: no opinion on the endpoint (keeps 203.0.113.9) */
	assert_int_equal(d->peers[0].endpoint.sa.sa_family, AF_UNSPEC);
	gnl_wg_device_free(d);
	/* fresh handshake but nothing received since long before the death
	 * (a machine that crashed mid-traffic): removed after the grace */
	mem[0].last_rx_ms = NOW_MS - 120000;
	d = desired(&in, v);
	assert_int_equal(v[0], GSD_RC_EXPIRED);
	assert_int_equal(d->n_peers, 0);
	gnl_wg_device_free(d);
	/* never seen receiving: removed too */
	mem[0].last_rx_ms = 0;
	d = desired(&in, v);
	assert_int_equal(v[0], GSD_RC_EXPIRED);
	gnl_wg_device_free(d);
	/* stale handshake: removed even while bytes arrive */
	mem[0].last_rx_ms = NOW_MS - 1000;
	cur->peers[0].last_handshake.tv_sec = NOW_UNIX - 600;
	d = desired(&in, v);
	assert_int_equal(v[0], GSD_RC_EXPIRED);
	assert_int_equal(d->n_peers, 0);
	gnl_wg_device_free(d);
	gnl_wg_device_free(cur);
}

static void test_endpoint_choice(void **state)
{
	mk(0, 0x02, 0xa2, GSM_STATE_ALIVE, NULL, NULL);
	struct gsm_advert *a = &advs[0];
	/* observed first in the list, configured second: configured wins */
	gsd_parse_hostport("198.51.100.1:1111", &a->endpoints[0].addr, 0);
	a->endpoints[0].flags = GSM_EP_OBSERVED;
	gsd_parse_hostport("198.51.100.2", &a->endpoints[1].addr, 0); /* port 0 -> wg_port */
	a->endpoints[1].flags = GSM_EP_CONFIGURED;
	a->n_endpoints = 2;
	struct gsd_rc_input in;
	base_input(&in, 1);
	in.now_unix = 0; /* rotation slot 0 */
	union gnl_sockaddr ep;
	char buf[64];
	rec_of(0);
	gsd_reconcile_endpoint(&in, &mem[0], NULL, &ep);
	gnl_sockaddr_format(&ep, buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.2:51820");
	/* next slot: the observed one is tried */
	in.now_unix = GSD_ENDPOINT_ROTATE_S;
	rec_of(0);
	gsd_reconcile_endpoint(&in, &mem[0], NULL, &ep);
	gnl_sockaddr_format(&ep, buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.1:1111");
	/* no endpoints at all: gossip source IP with the WireGuard port */
	a->n_endpoints = 0;
	gsd_parse_hostport("192.0.2.77:51821", &mem[0].gossip_addr, 0);
	rec_of(0);
	gsd_reconcile_endpoint(&in, &mem[0], NULL, &ep);
	gnl_sockaddr_format(&ep, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.77:51820");
	/* nothing known: no opinion */
	memset(&mem[0].gossip_addr, 0, sizeof(mem[0].gossip_addr));
	rec_of(0);
	gsd_reconcile_endpoint(&in, &mem[0], NULL, &ep);
	assert_int_equal(ep.sa.sa_family, AF_UNSPEC);
}

static void test_keepalive(void **state)
{
	mk(0, 0x02, 0xa2, GSM_STATE_ALIVE, NULL, "192.0.2.2:1");
	mk(1, 0x03, 0xa3, GSM_STATE_ALIVE, NULL, "192.0.2.3:1");
	advs[1].flags |= GSM_ADV_BEHIND_NAT;
	struct gsd_rc_input in;
	base_input(&in, 2);
	struct gnl_wg_device *d = desired(&in, NULL);
	assert_int_equal(gnl_wg_device_find_peer(d, advs[0].wg_pubkey)->persistent_keepalive, 0);
	assert_int_equal(gnl_wg_device_find_peer(d, advs[1].wg_pubkey)->persistent_keepalive, 25);
	gnl_wg_device_free(d);
	in.self_behind_nat = true;
	d = desired(&in, NULL);
	assert_int_equal(gnl_wg_device_find_peer(d, advs[0].wg_pubkey)->persistent_keepalive, 25);
	gnl_wg_device_free(d);
	in.keepalive = 0;
	d = desired(&in, NULL);
	assert_int_equal(gnl_wg_device_find_peer(d, advs[1].wg_pubkey)->persistent_keepalive, 0);
	gnl_wg_device_free(d);
	in.keepalive = 7;
	d = desired(&in, NULL);
	assert_int_equal(gnl_wg_device_find_peer(d, advs[0].wg_pubkey)->persistent_keepalive, 7);
	gnl_wg_device_free(d);
}

static void test_contested_prefixes_and_dup_keys(void **state)
{
	/* same IPv4 claimed by 0x05 and 0x03: 0x03 (lower) gets it */
	mk(0, 0x05, 0xa5, GSM_STATE_ALIVE, "10.77.0.9/32", NULL);
	mk(1, 0x03, 0xa3, GSM_STATE_ALIVE, "10.77.0.9/32", NULL);
	/* both route 192.168.0.0/24, plus 0x05 routes another */
	gsd_parse_prefix("192.168.0.0/24", &advs[0].prefixes[0]);
	gsd_parse_prefix("172.16.0.0/12", &advs[0].prefixes[1]);
	advs[0].n_prefixes = 2;
	gsd_parse_prefix("192.168.0.0/24", &advs[1].prefixes[0]);
	advs[1].n_prefixes = 1;
	/* a clone of 0x05's WireGuard key under a higher node id */
	mk(2, 0x09, 0xa5, GSM_STATE_ALIVE, "10.77.0.20/32", NULL);
	struct gsd_rc_input in;
	base_input(&in, 3);
	enum gsd_rc_verdict v[3];
	struct gnl_wg_device *d = desired(&in, v);
	assert_int_equal(v[2], GSD_RC_DUP_KEY);
	assert_int_equal(d->n_peers, 2);
	const struct gnl_wg_peer *hi = gnl_wg_device_find_peer(d, advs[0].wg_pubkey);
	const struct gnl_wg_peer *lo = gnl_wg_device_find_peer(d, advs[1].wg_pubkey);
	assert_true(has_aip(lo, "10.77.0.9/32"));
	assert_false(has_aip(hi, "10.77.0.9/32"));
	assert_true(has_aip(lo, "192.168.0.0/24"));
	assert_false(has_aip(hi, "192.168.0.0/24"));
	assert_true(has_aip(hi, "172.16.0.0/12"));
	assert_false(has_aip(hi, "10.77.0.20/32")); /* the clone's address is not merged in */
	gnl_wg_device_free(d);
}

/* Admission: a member that never answered a probe is no peer, whatever
 * its state, and its claims do not compete (a minted identity claiming
 * a lower node id cannot take an address away). */
static void test_unreachable_not_peer(void **state)
{
	mk(0, 0x05, 0xa5, GSM_STATE_ALIVE, "10.77.0.9/32", "192.0.2.5:51820");
	mk(1, 0x03, 0xa3, GSM_STATE_ALIVE, "10.77.0.9/32", "192.0.2.3:51820");
	mk(2, 0x04, 0xa4, GSM_STATE_SUSPECT, "10.77.0.4/32", "192.0.2.4:51820");
	unverified[1] = unverified[2] = true;
	struct gsd_rc_input in;
	base_input(&in, 3);
	enum gsd_rc_verdict v[3];
	struct gnl_wg_device *d = desired(&in, v);
	assert_int_equal(v[0], GSD_RC_PEER);
	assert_int_equal(v[1], GSD_RC_EXPIRED);
	assert_int_equal(v[2], GSD_RC_EXPIRED);
	assert_int_equal(d->n_peers, 1);
	const struct gnl_wg_peer *p = gnl_wg_device_find_peer(d, advs[0].wg_pubkey);
	assert_non_null(p);
	assert_true(has_aip(p, "10.77.0.9/32"));
	assert_null(gnl_wg_device_find_peer(d, advs[1].wg_pubkey));
	gnl_wg_device_free(d);
	/* once it answers, it is a peer (and wins the contested address) */
	unverified[1] = false;
	d = desired(&in, v);
	assert_int_equal(v[1], GSD_RC_PEER);
	assert_int_equal(d->n_peers, 2);
	assert_true(has_aip(gnl_wg_device_find_peer(d, advs[1].wg_pubkey), "10.77.0.9/32"));
	gnl_wg_device_free(d);
}

/* The desired state diffed against itself is empty: a restart that
 * recomputes the same membership changes nothing on the device. */
static void test_idempotent_diff(void **state)
{
	mk(0, 0x02, 0xa2, GSM_STATE_ALIVE, "10.77.0.2/32", "192.0.2.2:51820");
	mk(1, 0x03, 0xa3, GSM_STATE_ALIVE, "10.77.0.3/32", "192.0.2.3:51820");
	struct gsd_rc_input in;
	base_input(&in, 2);
	struct gnl_wg_device *d1 = desired(&in, NULL);
	struct gnl_wg_ops *ops;
	assert_int_equal(gnl_wg_diff(d1, NULL, &ops), 0);
	assert_int_equal(ops->n_ops, 2);
	gnl_wg_ops_free(ops);
	/* the device now has these peers, with handshakes */
	for (size_t i = 0; i < d1->n_peers; i++)
		d1->peers[i].last_handshake.tv_sec = NOW_UNIX - 10;
	in.current = d1;
	struct gnl_wg_device *d2 = desired(&in, NULL);
	assert_int_equal(gnl_wg_diff(d2, d1, &ops), 0);
	assert_true(gnl_wg_ops_empty(ops));
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(d2);
	gnl_wg_device_free(d1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_states_and_self),
	    cmocka_unit_test(test_dead_with_fresh_handshake_kept),
	    cmocka_unit_test(test_endpoint_choice),
	    cmocka_unit_test(test_keepalive),
	    cmocka_unit_test(test_contested_prefixes_and_dup_keys),
	    cmocka_unit_test_teardown(test_unreachable_not_peer, free_recs),
	    cmocka_unit_test(test_idempotent_diff),
	};
	return cmocka_run_group_tests(tests, NULL, free_recs);
}
