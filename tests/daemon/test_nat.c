/* tests/daemon/test_nat.c - NAT traversal logic (daemon/nat.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/nat.h"
#include "daemon/reconcile.h"

#define NOW_MS	 1000000u
#define NOW_UNIX 1700000000

static struct gsm_advert advs[8];
static struct gsd_member *recs[8];
static struct gsd_rc_member mem[8];
static struct gsd_member *tmp_rec;

/* the planner reads cache records: rebuild member i's from advs[i] (tests
 * edit advs[] after mk()) */
static void rec_of(int i)
{
	gsd_member_free(recs[i]);
	recs[i] = gsd_member_from_advert(&advs[i]);
	assert_non_null(recs[i]);
	recs[i]->reachable = true; /* admission: answered a probe */
	mem[i].mem = recs[i];
}

/* a record of a, valid until the next call */
static const struct gsd_member *R(const struct gsm_advert *a)
{
	gsd_member_free(tmp_rec);
	tmp_rec = gsd_member_from_advert(a);
	assert_non_null(tmp_rec);
	tmp_rec->reachable = true;
	return tmp_rec;
}

static int free_recs(void **state)
{
	(void)state;
	for (int i = 0; i < 8; i++) {
		gsd_member_free(recs[i]);
		recs[i] = NULL;
	}
	gsd_member_free(tmp_rec);
	tmp_rec = NULL;
	return 0;
}

static struct gsm_addr A(const char *s) {
	/* "ip:0" means port 0 (which the config parser refuses) */
	struct gsm_addr a;
	char b[64];
	snprintf(b, sizeof(b), "%s", s);
	size_t l = strlen(b);
	bool zero = l > 2 && !strcmp(b + l - 2, ":0");
	if (zero)
		b[l - 1] = '1';
	assert_int_equal(gsd_parse_hostport(b, &a, 0), 0);
	if (zero)
		a.port = 0;
	return a;
}

static void
id_of(uint8_t idbyte, uint8_t out[GSM_ID_LEN])
{
	memset(out, idbyte, GSM_ID_LEN);
}

/* member i: id idbyte, key keybyte, overlay 10.77.0.<idbyte>, flags */
static void mk(int i, uint8_t idbyte, uint8_t keybyte, uint32_t flags, const char *obs_ep)
{
	struct gsm_advert *a = &advs[i];
	memset(a, 0, sizeof(*a));
	id_of(idbyte, a->node_id);
	memset(a->wg_pubkey, keybyte, 32);
	snprintf(a->name, sizeof(a->name), "n%d", i);
	a->wg_port = 51820;
	a->flags = flags;
	char ov[32];
	snprintf(ov, sizeof(ov), "10.77.0.%u/16", idbyte);
	gsd_parse_prefix(ov, &a->overlay[a->n_overlay++]);
	if (obs_ep) {
		a->endpoints[0].addr = A(obs_ep);
		a->endpoints[0].flags = GSM_EP_OBSERVED;
		a->endpoints[0].has_observer = 1;
		memset(a->endpoints[0].observer, 0xee, 32);
		a->n_endpoints = 1;
	}
	memset(&mem[i], 0, sizeof(mem[i]));
	rec_of(i);
	mem[i].state = GSM_STATE_ALIVE;
	mem[i].state_since_ms = NOW_MS - 1000;
}

/* ---------------------------------------------------------- detection */

static void test_detect(void **st)
{
	(void)st;
	struct gsm_addr local[2] = {A("10.251.1.2:0"), A("[fd00:250::5]:0")};
	struct gsm_addr same = A("10.251.1.2:7946"), other = A("10.250.1.1:40000");
	struct gsm_addr lo = A("127.0.0.1:7946"), v6 = A("[fd00:250::5]:9");
	assert_false(gsd_nat_detect(&same, local, 2)); /* port differs, IP ours */
	assert_true(gsd_nat_detect(&other, local, 2)); /* router's WAN address */
	assert_false(gsd_nat_detect(&lo, local, 2));   /* loopback says nothing */
	assert_false(gsd_nat_detect(&v6, local, 2));
	struct gsm_addr none = {0};
	assert_false(gsd_nat_detect(&none, local, 2));
	assert_true(gsd_nat_detect(&same, NULL, 0));
}

/* ---------------------------------------------------- endpoint choice */

static void test_candidates_order(void **st)
{
	(void)st;
	struct gsm_advert a;
	memset(&a, 0, sizeof(a));
	a.wg_port = 51820;
	a.endpoints[0].addr = A("10.0.0.1:0"); /* observed, no observer */
	a.endpoints[0].flags = GSM_EP_OBSERVED;
	a.endpoints[1].addr = A("10.0.0.2:5000"); /* configured */
	a.endpoints[1].flags = GSM_EP_CONFIGURED;
	a.endpoints[2].addr = A("10.0.0.3:6000"); /* observed by someone */
	a.endpoints[2].flags = GSM_EP_OBSERVED;
	a.endpoints[2].has_observer = 1;
	a.endpoints[3].addr = A("10.0.0.2:5000"); /* duplicate */
	a.endpoints[3].flags = GSM_EP_CONFIGURED;
	a.n_endpoints = 4;
	struct gsm_addr g = A("10.9.9.9:7946"), c[8];
	size_t n = gsd_nat_candidates(R(&a), &g, c, 8);
	assert_int_equal(n, 3);
	struct gsm_addr e0 = A("10.0.0.3:6000"), e1 = A("10.0.0.2:5000"), e2 = A("10.0.0.1:51820");
	assert_true(gsm_addr_equal(&c[0], &e0));
	assert_true(gsm_addr_equal(&c[1], &e1));
	assert_true(gsm_addr_equal(&c[2], &e2)); /* port 0 -> wg port */
	/* nothing advertised: the gossip address with the WireGuard port */
	a.n_endpoints = 0;
	n = gsd_nat_candidates(R(&a), &g, c, 8);
	assert_int_equal(n, 1);
	struct gsm_addr gw = A("10.9.9.9:51820");
	assert_true(gsm_addr_equal(&c[0], &gw));
	assert_int_equal(gsd_nat_candidates(R(&a), NULL, c, 8), 0);
}

static void test_choose_endpoint_no_flap(void **st)
{
	(void)st;
	struct gsm_addr c[2] = {A("10.0.0.1:1"), A("10.0.0.2:2")}, out;
	struct gsm_addr cur = A("10.5.5.5:9"); /* roamed, not a candidate */
	/* fresh handshake: never replaced, even on a rotate */
	gsd_nat_choose_endpoint(c, 2, &cur, true, true, 1, &out);
	assert_int_equal(out.family, 0);
	/* stale, current is a candidate and no rotation: keep it */
	gsd_nat_choose_endpoint(c, 2, &c[1], false, false, 0, &out);
	assert_true(gsm_addr_equal(&out, &c[1]));
	/* stale, rotate: the attempt's candidate */
	gsd_nat_choose_endpoint(c, 2, &c[1], false, true, 2, &out);
	assert_true(gsm_addr_equal(&out, &c[0]));
	gsd_nat_choose_endpoint(c, 2, &c[1], false, true, 3, &out);
	assert_true(gsm_addr_equal(&out, &c[1]));
	/* stale and current unknown: first candidate */
	gsd_nat_choose_endpoint(c, 2, &cur, false, false, 0, &out);
	assert_true(gsm_addr_equal(&out, &c[0]));
	gsd_nat_choose_endpoint(c, 2, NULL, false, false, 0, &out);
	assert_true(gsm_addr_equal(&out, &c[0]));
	/* no candidates: no opinion */
	gsd_nat_choose_endpoint(c, 0, NULL, false, true, 0, &out);
	assert_int_equal(out.family, 0);
}

/* --------------------------------------------------- punch scheduling */

static void test_punch_schedule(void **st)
{
	(void)st;
	uint8_t lo[32], hi[32];
	id_of(0x10, lo);
	id_of(0x90, hi);
	assert_int_equal(gsd_nat_pair_hash(lo, hi, 1), gsd_nat_pair_hash(hi, lo, 1));
	assert_int_not_equal(gsd_nat_pair_hash(lo, hi, 1), gsd_nat_pair_hash(lo, hi, 2));

	/* backoff: doubling, capped */
	assert_int_equal(gsd_nat_punch_period_ms(0), GSD_NAT_PUNCH_BASE_S * 1000);
	assert_int_equal(gsd_nat_punch_period_ms(1), GSD_NAT_PUNCH_BASE_S * 2000);
	assert_int_equal(gsd_nat_punch_period_ms(2), GSD_NAT_PUNCH_BASE_S * 4000);
	assert_int_equal(gsd_nat_punch_period_ms(30), GSD_NAT_PUNCH_MAX_S * 1000);

	int64_t t0 = (int64_t)NOW_UNIX * 1000 + 123;
	for (unsigned k = 0; k < 6; k++) {
		int64_t p = (int64_t)gsd_nat_punch_period_ms(k);
		/* both sides, starting from slightly different times, land in
		 * the same slot: lower id first, higher id stagger..+jitter later */
		int64_t a = gsd_nat_punch_at(lo, hi, k, t0, 0);
		int64_t b = gsd_nat_punch_at(hi, lo, k, t0 + 50, 0);
		assert_true(a > t0 && a <= t0 + p);
		assert_true(b > t0 + 50);
		int64_t d = b - a;
		if (d < 0) /* b's slot started before t0+50 only if a's is the next */
			d += p;
		assert_true(d >= GSD_NAT_STAGGER_MS && d < GSD_NAT_STAGGER_MS + GSD_NAT_JITTER_MS);
		/* strictly after, and periodic */
		assert_int_equal(gsd_nat_punch_at(lo, hi, k, a, 0), a + p);
		assert_int_equal(gsd_nat_punch_at(lo, hi, k, a - 1, 0), a);
		/* local jitter stays within its bound */
		int64_t aj = gsd_nat_punch_at(lo, hi, k, t0, 0xffffffffu);
		int64_t bj = gsd_nat_punch_at(hi, lo, k, t0, 0xffffffffu);
		int64_t b0 = gsd_nat_punch_at(hi, lo, k, t0, 0);
		assert_true(aj >= a && aj - a < GSD_NAT_STAGGER_MS / 4);
		assert_true((bj - b0 + p) % p < GSD_NAT_JITTER_MS / 2);
	}
	/* different pairs get different phases (spreads load) */
	uint8_t other[32];
	id_of(0x55, other);
	assert_int_not_equal(gsd_nat_punch_at(lo, hi, 3, t0, 0),
			     gsd_nat_punch_at(lo, other, 3, t0, 0));

	/* keepalive periods differ: no lockstep */
	assert_int_equal(gsd_nat_keepalive(lo, hi), GSD_NAT_KEEPALIVE_S);
	assert_int_equal(gsd_nat_keepalive(hi, lo), GSD_NAT_KEEPALIVE_S - 1);
}

/* -------------------------------------------------------- relay choice */

static void test_pick_relay(void **st)
{
	(void)st;
	uint8_t a[32], b[32], r[6][32];
	id_of(0x01, a);
	id_of(0x02, b);
	struct gsd_nat_relay c[6];
	for (int i = 0; i < 6; i++) {
		id_of((uint8_t)(0x40 + i), r[i]);
		c[i].id = r[i];
		c[i].usable = true;
	}
	int k = gsd_nat_pick_relay(a, b, c, 6);
	assert_true(k >= 0 && k < 6);
	assert_int_equal(gsd_nat_pick_relay(b, a, c, 6), k); /* both ends agree */
	/* order of the candidate list does not matter */
	struct gsd_nat_relay rev[6];
	for (int i = 0; i < 6; i++)
		rev[i] = c[5 - i];
	assert_int_equal(gsd_nat_pick_relay(a, b, rev, 6), 5 - k);
	/* the chosen relay dies: another one, same on both ends */
	c[k].usable = false;
	int k2 = gsd_nat_pick_relay(a, b, c, 6);
	assert_true(k2 >= 0 && k2 != k);
	assert_int_equal(gsd_nat_pick_relay(b, a, c, 6), k2);
	/* a relay that is one of the pair is never chosen */
	c[k2].id = a;
	int k3 = gsd_nat_pick_relay(a, b, c, 6);
	assert_true(k3 != k2 && k3 != k);
	/* rendezvous: a dead relay only moves pairs it served */
	c[k2].id = r[k2];
	c[k].usable = true;
	int moved = 0, pairs = 0;
	for (int x = 0; x < 40; x++) {
		uint8_t p1[32], p2[32];
		id_of((uint8_t)(0x80 + x), p1);
		id_of((uint8_t)(0xc0 + x % 30), p2);
		int before = gsd_nat_pick_relay(p1, p2, c, 6);
		c[0].usable = false;
		int after = gsd_nat_pick_relay(p1, p2, c, 6);
		c[0].usable = true;
		pairs++;
		if (before != 0)
			assert_int_equal(after, before);
		else
			moved++;
	}
	assert_true(moved < pairs);
	/* none usable */
	for (int i = 0; i < 6; i++)
		c[i].usable = false;
	assert_int_equal(gsd_nat_pick_relay(a, b, c, 6), -ENOENT);
}

/* ----------------------------------------------------------- planning */

struct world {
	struct gsd_nat *nat;
	struct gsd_nat_input in;
	struct gsd_rc_input rc;
	struct gnl_wg_device *cur;
	uint64_t now_ms;
	int64_t now_unix_ms;
};

static void world_init(struct world *w, size_t n, uint8_t self)
{
	memset(w, 0, sizeof(*w));
	assert_int_equal(gsd_nat_new(&w->nat), 0);
	w->now_ms = NOW_MS;
	w->now_unix_ms = (int64_t)NOW_UNIX * 1000;
	memset(w->rc.self_id, self, 32);
	memset(w->rc.self_wg_pubkey, 0xa0 + self, 32);
	w->rc.self_behind_nat = true;
	w->rc.keepalive = -1;
	w->rc.dead_grace_ms = 30000;
	w->rc.left_grace_ms = 5000;
	w->rc.members = mem;
	w->rc.n_members = n;
	memcpy(w->in.self_id, w->rc.self_id, 32);
	w->in.self_behind_nat = true;
	w->in.keepalive = -1;
	w->in.members = mem;
	w->in.n_members = n;
	assert_int_equal(gnl_wg_device_new("gsm0", &w->cur), 0);
}

static void world_free(struct world *w)
{
	gsd_nat_free(w->nat);
	gnl_wg_device_free(w->cur);
}

/* one reconcile + NAT plan; the result becomes the "current" device (as if
 * applied), keeping read-back handshakes; returns the desired device */
static struct gnl_wg_device *step(struct world *w, uint64_t *next)
{
	struct gnl_wg_device *want;
	assert_int_equal(gnl_wg_device_new("gsm0", &want), 0);
	w->rc.now_ms = w->now_ms;
	w->rc.now_unix = w->now_unix_ms / 1000;
	w->rc.current = w->cur;
	for (size_t i = 0; i < w->rc.n_members; i++)
		rec_of((int)i);
	assert_int_equal(gsd_reconcile_desired(&w->rc, want, NULL), 0);
	w->in.now_ms = w->now_ms;
	w->in.now_unix_ms = w->now_unix_ms;
	w->in.current = w->cur;
	uint64_t nx;
	assert_int_equal(gsd_nat_plan(w->nat, &w->in, want, &nx), 0);
	if (next)
		*next = nx;
	struct gnl_wg_ops *ops;
	assert_int_equal(gnl_wg_diff(want, w->cur, &ops), 0);
	assert_int_equal(gnl_wg_device_apply_ops(w->cur, ops), 0);
	gnl_wg_ops_free(ops);
	return want;
}

static void advance(struct world *w, uint64_t ms)
{
	w->now_ms += ms;
	w->now_unix_ms += (int64_t)ms;
}

static struct gnl_wg_peer *peer_of(struct gnl_wg_device *d, uint8_t keybyte)
{
	uint8_t k[32];
	memset(k, keybyte, 32);
	return gnl_wg_device_find_peer(d, k);
}

static bool has_aip(const struct gnl_wg_peer *p, const char *s)
{
	struct gnl_prefix x;
	assert_int_equal(gnl_prefix_parse(s, &x), 0);
	for (size_t i = 0; i < p->n_allowedips; i++)
		if (!gnl_prefix_cmp(&p->allowedips[i], &x))
			return true;
	return false;
}

static void handshake(struct world *w, uint8_t keybyte)
{
	struct gnl_wg_peer *p = peer_of(w->cur, keybyte);
	assert_non_null(p);
	p->last_handshake.tv_sec = w->now_unix_ms / 1000;
}

/* self 0x01 behind NAT; member 1: NATed peer 0x02; members 2,3: public
 * relays 0x30/0x31; member 4: a public non-relay 0x40 */
static void setup_members(void)
{
	const uint32_t pr = GSM_ADV_PUBLIC | GSM_ADV_RELAY;
	mk(0, 0x01, 0xa1, GSM_ADV_BEHIND_NAT, "10.250.1.1:51820"); /* self */
	mk(1, 0x02, 0xb2, GSM_ADV_BEHIND_NAT, "10.250.2.1:51820");
	mk(2, 0x30, 0xc3, pr, NULL);
	mk(3, 0x31, 0xc4, pr, NULL);
	mk(4, 0x40, 0xd5, GSM_ADV_PUBLIC, NULL);
	for (int i = 2; i < 5; i++) {
		advs[i].endpoints[0].addr = A(i == 2   ? "10.250.0.30:51820"
					      : i == 3 ? "10.250.0.31:51820"
						       : "10.250.0.40:51820");
		advs[i].endpoints[0].flags = GSM_EP_CONFIGURED;
		advs[i].n_endpoints = 1;
	}
}

static void test_plan_relay_then_direct(void **st)
{
	(void)st;
	setup_members();
	struct world w;
	world_init(&w, 5, 0x01);
	uint64_t next;
	struct gnl_wg_device *d = step(&w, &next);
	struct gnl_wg_peer *nated = peer_of(d, 0xb2);
	assert_non_null(nated);
	/* trying: own allowed IPs, observed endpoint, NAT keepalive */
	assert_true(has_aip(nated, "10.77.0.2/32"));
	assert_int_equal(nated->persistent_keepalive, GSD_NAT_KEEPALIVE_S);
	char buf[64];
	assert_string_equal(gnl_sockaddr_format(&nated->endpoint, buf, sizeof(buf)),
			    "10.250.2.1:51820");
	assert_int_equal(gsd_nat_peer_path(w.nat, advs[1].node_id, NULL), GSD_NAT_TRYING);
	/* public non-NAT members are not touched */
	assert_int_equal(gsd_nat_peer_path(w.nat, advs[4].node_id, NULL), GSD_NAT_DIRECT);
	assert_true(next <= w.now_ms + GSD_NAT_DIRECT_TIMEOUT_MS);
	gnl_wg_device_free(d);

	/* no handshake within the timeout: relayed through the chosen relay */
	advance(&w, GSD_NAT_DIRECT_TIMEOUT_MS);
	d = step(&w, &next);
	uint8_t relay[32];
	assert_int_equal(gsd_nat_peer_path(w.nat, advs[1].node_id, relay), GSD_NAT_RELAYED);
	struct gsd_nat_relay rc[2] = {{advs[2].node_id, true}, {advs[3].node_id, true}};
	int k = gsd_nat_pick_relay(advs[0].node_id, advs[1].node_id, rc, 2);
	assert_memory_equal(relay, rc[k].id, 32);
	uint8_t rkey = k == 0 ? 0xc3 : 0xc4, other = k == 0 ? 0xc4 : 0xc3;
	nated = peer_of(d, 0xb2);
	assert_non_null(nated); /* the direct peer stays for punching */
	assert_int_equal(nated->n_allowedips, 0);
	assert_true(has_aip(peer_of(d, rkey), "10.77.0.2/32"));
	assert_true(has_aip(peer_of(d, rkey), "10.77.0.48/32") ||
		    has_aip(peer_of(d, rkey), "10.77.0.49/32"));
	assert_false(has_aip(peer_of(d, other), "10.77.0.2/32"));
	uint8_t inuse[32];
	assert_true(gsd_nat_relay_in_use(w.nat, inuse));
	assert_memory_equal(inuse, relay, 32);
	struct gsd_nat_stats s;
	gsd_nat_stats(w.nat, &s);
	assert_int_equal(s.relayed, 1);
	assert_int_equal(s.relay_switches, 1);
	gnl_wg_device_free(d);

	/* the relay dies: moves to the other relay without anything else */
	mem[2 + k].state = GSM_STATE_DEAD;
	mem[2 + k].state_since_ms = w.now_ms;
	advance(&w, 1000);
	d = step(&w, &next);
	assert_int_equal(gsd_nat_peer_path(w.nat, advs[1].node_id, relay), GSD_NAT_RELAYED);
	assert_memory_equal(relay, rc[1 - k].id, 32);
	assert_true(has_aip(peer_of(d, other), "10.77.0.2/32"));
	/* the dead relay keeps only its own addresses while in grace */
	struct gnl_wg_peer *deadp = peer_of(d, rkey);
	if (deadp)
		assert_false(has_aip(deadp, "10.77.0.2/32"));
	gnl_wg_device_free(d);

	/* the direct path handshakes (a punch worked): direct again */
	handshake(&w, 0xb2);
	advance(&w, 1000);
	d = step(&w, &next);
	assert_int_equal(gsd_nat_peer_path(w.nat, advs[1].node_id, NULL), GSD_NAT_DIRECT);
	nated = peer_of(d, 0xb2);
	assert_true(has_aip(nated, "10.77.0.2/32"));
	assert_false(has_aip(peer_of(d, other), "10.77.0.2/32"));
	assert_int_equal(nated->endpoint.sa.sa_family, AF_UNSPEC); /* keep what works */
	assert_false(gsd_nat_relay_in_use(w.nat, inuse));
	gnl_wg_device_free(d);

	/* no relay at all: stays trying, routes stay direct */
	mem[3 - k].state = GSM_STATE_DEAD;
	advance(&w, 1000 * (GSD_NAT_DIRECT_FRESH_S + 1));
	d = step(&w, &next);
	gnl_wg_device_free(d);
	advance(&w, GSD_NAT_DIRECT_TIMEOUT_MS + 1000);
	d = step(&w, &next);
	assert_int_equal(gsd_nat_peer_path(w.nat, advs[1].node_id, NULL), GSD_NAT_TRYING);
	assert_true(has_aip(peer_of(d, 0xb2), "10.77.0.2/32"));
	gnl_wg_device_free(d);
	world_free(&w);
}

/* a relayed member that flaps dead and is dropped for a moment comes back
 * relayed at once; one gone for long is forgotten */
static void test_plan_flap_keeps_path(void **st)
{
	(void)st;
	setup_members();
	struct world w;
	world_init(&w, 5, 0x01);
	uint64_t next;
	gnl_wg_device_free(step(&w, &next));
	advance(&w, GSD_NAT_DIRECT_TIMEOUT_MS);
	gnl_wg_device_free(step(&w, &next));
	assert_int_equal(gsd_nat_peer_path(w.nat, advs[1].node_id, NULL), GSD_NAT_RELAYED);
	/* b dead past its grace: no peer */
	mem[1].state = GSM_STATE_DEAD;
	mem[1].state_since_ms = w.now_ms;
	advance(&w, 31000);
	struct gnl_wg_device *d = step(&w, &next);
	assert_null(peer_of(d, 0xb2));
	gnl_wg_device_free(d);
	struct gsd_nat_stats s;
	gsd_nat_stats(w.nat, &s);
	assert_int_equal(s.relayed, 0);
	/* back: relayed again in the very first plan */
	mem[1].state = GSM_STATE_ALIVE;
	mem[1].state_since_ms = w.now_ms;
	advance(&w, 1000);
	d = step(&w, &next);
	assert_int_equal(gsd_nat_peer_path(w.nat, advs[1].node_id, NULL), GSD_NAT_RELAYED);
	assert_int_equal(peer_of(d, 0xb2)->n_allowedips, 0);
	gnl_wg_device_free(d);
	/* gone for longer than GSD_NAT_FORGET_MS: forgotten, starts over */
	mem[1].state = GSM_STATE_DEAD;
	mem[1].state_since_ms = w.now_ms;
	advance(&w, 31000);
	gnl_wg_device_free(step(&w, &next));
	advance(&w, GSD_NAT_FORGET_MS);
	gnl_wg_device_free(step(&w, &next));
	assert_int_equal(gsd_nat_peer_path(w.nat, advs[1].node_id, NULL), GSD_NAT_DIRECT);
	mem[1].state = GSM_STATE_ALIVE;
	mem[1].state_since_ms = w.now_ms;
	d = step(&w, &next);
	assert_int_equal(gsd_nat_peer_path(w.nat, advs[1].node_id, NULL), GSD_NAT_TRYING);
	assert_true(has_aip(peer_of(d, 0xb2), "10.77.0.2/32"));
	gnl_wg_device_free(d);
	world_free(&w);
}

static void test_plan_pokes(void **st)
{
	(void)st;
	setup_members();
	struct world w;
	world_init(&w, 5, 0x01);
	uint64_t next;
	gnl_wg_device_free(step(&w, &next));
	struct gsd_nat_stats s;
	gsd_nat_stats(w.nat, &s);
	assert_int_equal(s.pokes, 0);
	/* walk to the punch slot: keepalive goes to 0, then back to N */
	int64_t slot = gsd_nat_punch_at(advs[0].node_id, advs[1].node_id, 0, w.now_unix_ms, 0);
	int guard = 0;
	bool saw_zero = false, saw_back = false;
	while (guard++ < 200 && !saw_back) {
		assert_true(next != UINT64_MAX);
		uint64_t dt = next > w.now_ms ? next - w.now_ms : 1;
		advance(&w, dt);
		struct gnl_wg_device *d = step(&w, &next);
		uint16_t ka = peer_of(d, 0xb2)->persistent_keepalive;
		if (ka == 0) {
			saw_zero = true;
			assert_true(w.now_unix_ms >= slot);
		} else if (saw_zero) {
			saw_back = true;
			assert_int_equal(ka, GSD_NAT_KEEPALIVE_S);
		}
		gnl_wg_device_free(d);
	}
	assert_true(saw_zero && saw_back);
	gsd_nat_stats(w.nat, &s);
	assert_true(s.pokes >= 1);
	/* the next slot is later by the backed-off period */
	assert_true(next > w.now_ms);

	/* configured keepalive is kept (no poke can change it) */
	w.in.keepalive = 7;
	w.rc.keepalive = 7;
	struct gnl_wg_device *d = step(&w, &next);
	assert_int_equal(peer_of(d, 0xb2)->persistent_keepalive, 7);
	gnl_wg_device_free(d);
	world_free(&w);
}

static void test_plan_not_behind_nat(void **st)
{
	(void)st;
	setup_members();
	struct world w;
	world_init(&w, 5, 0x01);
	w.in.self_behind_nat = false;
	w.rc.self_behind_nat = false;
	uint64_t next;
	gnl_wg_device_free(step(&w, &next));
	advance(&w, GSD_NAT_DIRECT_TIMEOUT_MS * 3);
	struct gnl_wg_device *d = step(&w, &next);
	/* a public node never relays its peers: direct, own allowed IPs */
	assert_int_equal(gsd_nat_peer_path(w.nat, advs[1].node_id, NULL), GSD_NAT_DIRECT);
	assert_true(has_aip(peer_of(d, 0xb2), "10.77.0.2/32"));
	assert_int_equal(next, UINT64_MAX);
	gnl_wg_device_free(d);
	/* the member vanishes: forgotten */
	w.in.n_members = w.rc.n_members = 1;
	gnl_wg_device_free(step(&w, &next));
	struct gsd_nat_stats s;
	gsd_nat_stats(w.nat, &s);
	assert_int_equal(s.direct + s.trying + s.relayed, 0);
	world_free(&w);
}

static void test_wg_observed(void **st)
{
	(void)st;
	/* public side: report what WireGuard learned, once it differs */
	struct gsm_advert a;
	memset(&a, 0, sizeof(a));
	a.wg_port = 51820;
	a.flags = GSM_ADV_BEHIND_NAT;
	a.endpoints[0].addr = A("10.250.2.1:0"); /* the guess: observed IP + wg port */
	a.endpoints[0].flags = GSM_EP_OBSERVED;
	a.n_endpoints = 1;
	struct gnl_wg_peer cur;
	memset(&cur, 0, sizeof(cur));
	assert_int_equal(gnl_sockaddr_parse("10.250.2.1:40123", &cur.endpoint), 0);
	cur.last_handshake.tv_sec = NOW_UNIX - 10;
	struct gsm_addr out, want = A("10.250.2.1:40123");
	assert_true(gsd_nat_wg_report(R(&a), &cur, false, NOW_UNIX, &out));
	assert_true(gsm_addr_equal(&out, &want));
	assert_false(gsd_nat_wg_report(R(&a), &cur, true, NOW_UNIX, &out)); /* we are NATed */
	cur.last_handshake.tv_sec = NOW_UNIX - 1000;			    /* stale */
	assert_false(gsd_nat_wg_report(R(&a), &cur, false, NOW_UNIX, &out));
	cur.last_handshake.tv_sec = NOW_UNIX - 10;
	a.flags = 0; /* not NATed */
	assert_false(gsd_nat_wg_report(R(&a), &cur, false, NOW_UNIX, &out));
	a.flags = GSM_ADV_BEHIND_NAT;
	assert_int_equal(gnl_sockaddr_parse("10.250.2.1:51820", &cur.endpoint), 0);
	assert_false(
	    gsd_nat_wg_report(R(&a), &cur, false, NOW_UNIX, &out)); /* already advertised */

	/* NATed side: merge */
	struct gsm_endpoint list[3];
	memset(list, 0, sizeof(list));
	uint8_t o1[32], o2[32];
	id_of(0x31, o1);
	id_of(0x32, o2);
	bool ch;
	struct gsm_addr g1 = A("10.250.2.1:51820"), w1 = A("10.250.2.1:40123");
	int n = gsd_nat_merge_observed(list, 0, 3, o1, &g1, &ch);
	assert_int_equal(n, 1);
	assert_true(ch);
	n = gsd_nat_merge_observed(list, n, 3, o1, &g1, &ch);
	assert_int_equal(n, 1);
	assert_false(ch);
	/* exact WireGuard-observed port from the same observer replaces the guess */
	n = gsd_nat_merge_observed(list, n, 3, o1, &w1, &ch);
	assert_int_equal(n, 1);
	assert_true(ch);
	assert_true(gsm_addr_equal(&list[0].addr, &w1));
	assert_true(list[0].flags & GSM_EP_OBSERVED);
	assert_memory_equal(list[0].observer, o1, 32);
	/* another observer, same address: no duplicate */
	n = gsd_nat_merge_observed(list, n, 3, o2, &w1, &ch);
	assert_int_equal(n, 1);
	assert_false(ch);
	/* full list: the oldest makes room */
	struct gsm_addr x2 = A("10.0.0.2:2"), x3 = A("10.0.0.3:3"), x4 = A("10.0.0.4:4");
	uint8_t o3[32], o4[32];
	id_of(0x33, o3);
	id_of(0x34, o4);
	n = gsd_nat_merge_observed(list, n, 3, o2, &x2, &ch);
	n = gsd_nat_merge_observed(list, n, 3, o3, &x3, &ch);
	assert_int_equal(n, 3);
	n = gsd_nat_merge_observed(list, n, 3, o4, &x4, &ch);
	assert_int_equal(n, 3);
	assert_true(ch);
	assert_true(gsm_addr_equal(&list[0].addr, &x2));
	assert_true(gsm_addr_equal(&list[2].addr, &x4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_detect),
	    cmocka_unit_test(test_candidates_order),
	    cmocka_unit_test(test_choose_endpoint_no_flap),
	    cmocka_unit_test(test_punch_schedule),
	    cmocka_unit_test(test_pick_relay),
	    cmocka_unit_test(test_plan_relay_then_direct),
	    cmocka_unit_test(test_plan_flap_keeps_path),
	    cmocka_unit_test(test_plan_pokes),
	    cmocka_unit_test(test_plan_not_behind_nat),
	    cmocka_unit_test(test_wg_observed),
	};
	return cmocka_run_group_tests(tests, NULL, free_recs);
}
