/* tests/daemon/test_policy.c - which claims a node accepts (daemon/policy.c)
 * and how reconcile applies it: refusal reasons, accept_prefixes, provable
 * overlay addresses, the contest rule against key grinding, equal
 * prefixes, log-once, and the victim's own decision agreeing; the overlap
 * rule of connected clusters (a gateway's prefixes vs the members'). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "daemon/overlay.h"
#include "daemon/policy.h"
#include "daemon/reconcile.h"

#define NOW_MS	 1000000u
#define NOW_UNIX 1700000000

static struct gsm_prefix P4, P6, CONN[2];

static struct gsm_prefix pfx(const char *s)
{
	struct gsm_prefix p;
	assert_int_equal(gsd_parse_prefix(s, &p), 0);
	return p;
}

static void base_policy(struct gsd_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
	P4 = pfx("10.77.0.0/16");
	P6 = pfx("fd00:1:2::/48");
	CONN[0] = pfx("192.168.1.0/24");
	CONN[1] = pfx("2001:db8:1::/64");
	pol->has_v4_prefix = true;
	pol->v4_prefix = P4;
	pol->v6_prefix = P6;
	pol->connected = CONN;
	pol->n_connected = 2;
}

static enum gsd_policy_reason chk(const struct gsd_policy *pol, const char *s)
{
	struct gsm_addr eps[2];
	memset(eps, 0, sizeof(eps));
	assert_int_equal(gsd_parse_ip("198.51.100.7", &eps[0]), 0);
	assert_int_equal(gsd_parse_ip("2001:db8:9::7", &eps[1]), 0);
	struct gsm_prefix p = pfx(s);
	return gsd_policy_check_prefix(pol, &p, eps, 2);
}

static void test_prefix_reasons(void **state)
{
	struct gsd_policy pol;
	base_policy(&pol);
	assert_int_equal(chk(&pol, "0.0.0.0/0"), GSD_POL_DEFAULT_ROUTE);
	assert_int_equal(chk(&pol, "::/0"), GSD_POL_DEFAULT_ROUTE);
	assert_int_equal(chk(&pol, "10.77.3.0/24"), GSD_POL_OVERLAY);
	assert_int_equal(chk(&pol, "10.0.0.0/8"), GSD_POL_OVERLAY); /* covers it */
	assert_int_equal(chk(&pol, "10.77.3.4/32"), GSD_POL_OVERLAY);
	assert_int_equal(chk(&pol, "fd00:1:2:3::/64"), GSD_POL_OVERLAY);
	assert_int_equal(chk(&pol, "fd00:1:2:3::9/128"), GSD_POL_OVERLAY);
	assert_int_equal(chk(&pol, "192.168.1.0/24"), GSD_POL_CONNECTED);
	assert_int_equal(chk(&pol, "192.168.0.0/16"), GSD_POL_CONNECTED);
	assert_int_equal(chk(&pol, "192.168.1.128/25"), GSD_POL_CONNECTED);
	assert_int_equal(chk(&pol, "2001:db8:1::/48"), GSD_POL_CONNECTED);
	assert_int_equal(chk(&pol, "198.51.100.0/24"), GSD_POL_ENDPOINT);
	assert_int_equal(chk(&pol, "2001:db8:9::/64"), GSD_POL_ENDPOINT);
	assert_int_equal(chk(&pol, "172.16.5.0/24"), GSD_POL_OK);
	assert_int_equal(chk(&pol, "2001:db8:5::/64"), GSD_POL_OK);
	assert_string_equal(gsd_policy_reason_name(GSD_POL_DEFAULT_ROUTE), "default-route");
	assert_string_equal(gsd_policy_reason_name(GSD_POL_NOT_DERIVED), "not-derived");
}

static void test_accept_prefixes(void **state)
{
	struct gsd_policy pol;
	base_policy(&pol);
	struct gsm_prefix acc[3] = {pfx("192.168.0.0/16"), pfx("0.0.0.0/0"), pfx("10.0.0.0/8")};
	pol.accept = acc;
	pol.n_accept = 3;
	/* inside an accepted CIDR: the connected/endpoint overlap is intended */
	assert_int_equal(chk(&pol, "192.168.1.0/24"), GSD_POL_OK);
	/* not inside one: still refused */
	assert_int_equal(chk(&pol, "198.51.100.0/24"), GSD_POL_ENDPOINT);
	/* /0 never, even when listed; the overlay never */
	assert_int_equal(chk(&pol, "0.0.0.0/0"), GSD_POL_DEFAULT_ROUTE);
	assert_int_equal(chk(&pol, "10.77.3.0/24"), GSD_POL_OVERLAY);
}

static void id_of(uint8_t id[32], uint8_t first, unsigned seed)
{
	for (int i = 0; i < 32; i++)
		id[i] = (uint8_t)(seed * 7 + i * 13);
	id[0] = first;
	id[1] = (uint8_t)seed;
	id[2] = (uint8_t)(seed >> 8);
}

static void test_overlay_claims(void **state)
{
	struct gsd_policy pol;
	base_policy(&pol);
	uint8_t a[32], b[32];
	id_of(a, 0x40, 1);
	id_of(b, 0x41, 2);
	struct gsm_prefix v6a, v6b, c;
	gsd_overlay_v6(&P6, a, &v6a);
	gsd_overlay_v6(&P6, b, &v6b);
	uint32_t rank = 99;
	assert_int_equal(gsd_policy_check_overlay(&pol, a, &v6a, &rank), GSD_POL_OK);
	assert_int_equal(rank, 0);
	/* b's address claimed by a: not derived */
	assert_int_equal(gsd_policy_check_overlay(&pol, a, &v6b, NULL), GSD_POL_NOT_DERIVED);
	/* IPv4: derived candidates rank by attempt, others are static (K) */
	gsd_overlay_v4_candidate(&P4, a, 3, &c);
	assert_int_equal(gsd_policy_check_overlay(&pol, a, &c, &rank), GSD_POL_OK);
	assert_true(rank <= 3);
	struct gsm_prefix st = pfx("10.77.200.200/32");
	assert_int_equal(gsd_policy_check_overlay(&pol, a, &st, &rank), GSD_POL_OK);
	assert_int_equal(rank, GSD_POLICY_V4_K);
	struct gsm_prefix out = pfx("10.78.0.1/32");
	assert_int_equal(gsd_policy_check_overlay(&pol, a, &out, &rank), GSD_POL_OVERLAY);
	pol.has_v4_prefix = false;
	assert_int_equal(gsd_policy_check_overlay(&pol, a, &c, &rank), GSD_POL_NOT_DERIVED);
}

static void test_claim_rule(void **state)
{
	struct gsd_policy_claim lo = {.rank = 0, .first_seen_ms = 20000};
	struct gsd_policy_claim hi = {.rank = 0, .first_seen_ms = 20000};
	memset(lo.id, 0x01, 32);
	memset(hi.id, 0x02, 32);
	assert_true(gsd_policy_claim_cmp(&lo, &hi) < 0); /* same time: lower id */
	hi.first_seen_ms = 20000 - GSD_POLICY_INCUMBENT_MS;
	assert_true(gsd_policy_claim_cmp(&lo, &hi) > 0); /* incumbent */
	assert_true(gsd_policy_claim_cmp(&hi, &lo) < 0);
	lo.first_seen_ms = 0;
	lo.rank = 1;
	assert_true(gsd_policy_claim_cmp(&lo, &hi) > 0); /* rank first */
	hi.rank = 2;
	assert_true(gsd_policy_claim_cmp(&lo, &hi) < 0);
	assert_int_equal(gsd_policy_claim_cmp(&lo, &lo), 0);
}

/* An attacker grinds keys until one has a LOWER node id whose own attempt-0
 * candidate is the victim's address (cheap in a /24).  Against an
 * incumbent holding it at attempt 0 it wins nothing: not on the victim's
 * side, not on anybody else's. */
static void test_grinding_does_not_win(void **state)
{
	struct gsm_prefix p24 = pfx("10.9.0.0/24");
	uint8_t victim[32], att[32];
	id_of(victim, 0x80, 7);
	struct gsm_prefix va, aa;
	gsd_overlay_v4_candidate(&p24, victim, 0, &va);
	unsigned s;
	for (s = 0; s < 20000; s++) {
		id_of(att, 0x00, s);
		gsd_overlay_v4_candidate(&p24, att, 0, &aa);
		if (!memcmp(aa.ip, va.ip, 4))
			break;
	}
	assert_true(s < 20000);
	assert_true(memcmp(att, victim, 32) < 0);
	assert_int_equal(gsd_policy_v4_rank(&p24, att, va.ip), 0);

	uint64_t t0 = 5000000, later = t0 + 60000;
	/* the others' view: the victim was first seen at t0, the attacker later */
	struct gsd_policy_claim vc = {.rank = 0, .first_seen_ms = t0};
	struct gsd_policy_claim ac = {.rank = 0, .first_seen_ms = later};
	memcpy(vc.id, victim, 32);
	memcpy(ac.id, att, 32);
	assert_true(gsd_policy_claim_cmp(&vc, &ac) < 0);

	/* the victim's own decision with the same rule: it stays */
	struct gsd_v4_claim c = {.first_seen_ms = later};
	memcpy(c.node_id, att, 32);
	memcpy(c.ip, va.ip, 4);
	struct gsm_prefix out;
	int winner = 7;
	assert_int_equal(gsd_overlay_v4_pick(&p24, victim, &c, 1, &va, t0, &out, &winner), 0);
	assert_memory_equal(out.ip, va.ip, 4);
	assert_int_equal(winner, -1);
	assert_false(gsd_overlay_v4_loses(&p24, victim, 0, t0, &c));

	/* claiming it as a static address (not among its derivations) is rank
	 * K: loses even when seen first */
	uint8_t st[32];
	id_of(st, 0x00, 60001);
	if (gsd_policy_v4_rank(&p24, st, va.ip) == GSD_POLICY_V4_K) {
		struct gsd_v4_claim sc = {.first_seen_ms = 0};
		memcpy(sc.node_id, st, 32);
		memcpy(sc.ip, va.ip, 4);
		assert_false(gsd_overlay_v4_loses(&p24, victim, 0, t0, &sc));
	}

	/* without incumbency (both seen together, e.g. two nodes bootstrapping)
	 * the lower id wins, on both sides alike */
	c.first_seen_ms = t0;
	assert_true(gsd_overlay_v4_loses(&p24, victim, 0, t0, &c));
	assert_int_equal(gsd_overlay_v4_pick(&p24, victim, &c, 1, &va, t0, &out, &winner), 1);
	assert_int_equal(winner, 0);
	ac.first_seen_ms = t0;
	assert_true(gsd_policy_claim_cmp(&ac, &vc) < 0);
}

/* A node's own claims date from its first contact; joining an established
 * cluster (two or more others then or soon after) makes it a newcomer. */
static void test_self_since(void **state)
{
	struct gsd_policy_table *t = gsd_policy_table_new(NULL, NULL);
	gsd_policy_table_contact(t, 0, 1000);
	assert_int_equal(gsd_policy_table_self_since(t), 0);
	gsd_policy_table_contact(t, 1, 2000); /* two nodes bootstrapping */
	assert_int_equal(gsd_policy_table_self_since(t), 2000);
	gsd_policy_table_contact(t, 1, 3000);
	assert_int_equal(gsd_policy_table_self_since(t), 2000);
	gsd_policy_table_contact(t, 3, 2500); /* the seed's peers arrive */
	assert_int_equal(gsd_policy_table_self_since(t), 2000 + GSD_POLICY_INCUMBENT_MS);
	gsd_policy_table_free(t);
	t = gsd_policy_table_new(NULL, NULL);
	gsd_policy_table_contact(t, 1, 2000);
	gsd_policy_table_contact(t, 2, 2000 + GSD_POLICY_INCUMBENT_MS + 1); /* grew later */
	assert_int_equal(gsd_policy_table_self_since(t), 2000);
	gsd_policy_table_free(t);
}

/* ------------------------------------------------------------ through reconcile */

static struct gsm_advert advs[6];
static struct gsd_member *recs[6];
static struct gsd_rc_member mem[6];
static int n_logged;

static int free_recs(void **state)
{
	for (int i = 0; i < 6; i++) {
		gsd_member_free(recs[i]);
		recs[i] = NULL;
	}
	return 0;
}

static void mkm(int i, const uint8_t id[32], uint8_t keybyte, const char *name, const char *ep)
{
	struct gsm_advert *a = &advs[i];
	memset(a, 0, sizeof(*a));
	memcpy(a->node_id, id, 32);
	memset(a->wg_pubkey, keybyte, 32);
	snprintf(a->name, sizeof(a->name), "%s", name);
	a->wg_port = 51820;
	gsd_overlay_v4_candidate(&P4, id, 0, &a->overlay[a->n_overlay++]);
	gsd_overlay_v6(&P6, id, &a->overlay[a->n_overlay++]);
	if (ep) {
		gsd_parse_hostport(ep, &a->endpoints[0].addr, 0);
		a->endpoints[0].flags = GSM_EP_CONFIGURED;
		a->n_endpoints = 1;
	}
}

static void build(int n)
{
	for (int i = 0; i < n; i++) {
		gsd_member_free(recs[i]);
		recs[i] = gsd_member_from_advert(&advs[i]);
		assert_non_null(recs[i]);
		recs[i]->reachable = true; /* admission: answered a probe */
		memset(&mem[i], 0, sizeof(mem[i]));
		mem[i].mem = recs[i];
		mem[i].state = GSM_STATE_ALIVE;
		mem[i].state_since_ms = NOW_MS - 1000;
	}
}

static bool has_aip(const struct gnl_wg_device *d, const uint8_t key[32], const char *cidr)
{
	const struct gnl_wg_peer *p = gnl_wg_device_find_peer(d, key);
	assert_non_null(p);
	struct gnl_prefix x;
	assert_int_equal(gnl_prefix_parse(cidr, &x), 0);
	for (size_t i = 0; i < p->n_allowedips; i++)
		if (!gnl_prefix_cmp(&p->allowedips[i], &x))
			return true;
	return false;
}

static bool has_pfx(const struct gnl_wg_device *d, const uint8_t key[32],
		    const struct gsm_prefix *p)
{
	char buf[64];
	gsd_format_prefix(p, buf, sizeof(buf));
	return has_aip(d, key, buf);
}

static void count_log(void *ctx, const struct gsd_policy_drop *d)
{
	n_logged++;
}

static const struct gsd_policy_drop *find_drop(const struct gsd_policy_table *t,
					       const uint8_t id[32], const char *cidr)
{
	struct gsm_prefix p = pfx(cidr);
	for (size_t i = 0; i < gsd_policy_table_n_drops(t); i++) {
		const struct gsd_policy_drop *d = gsd_policy_table_drop_at(t, i);
		if (!memcmp(d->id, id, 32) && gsm_prefix_equal(&d->prefix, &p))
			return d;
	}
	return NULL;
}

static struct gnl_wg_device *run(struct gsd_rc_input *in)
{
	struct gnl_wg_device *d;
	assert_int_equal(gnl_wg_device_new("gsm0", &d), 0);
	assert_int_equal(gsd_reconcile_desired(in, d, NULL), 0);
	return d;
}

static void test_reconcile_attacker(void **state)
{
	struct gsd_policy pol;
	base_policy(&pol);
	uint8_t self[32], victim[32], site[32], att[32];
	id_of(self, 0x30, 1);
	id_of(victim, 0x80, 2);
	id_of(site, 0x90, 3);
	id_of(att, 0x00, 4); /* lowest id of all */
	mkm(0, self, 0xa0, "self", NULL);
	mkm(1, victim, 0xa1, "victim", "198.51.100.1:51820");
	mkm(2, site, 0xa2, "site", "198.51.100.2:51820");
	advs[2].prefixes[advs[2].n_prefixes++] = pfx("172.20.0.0/24");
	advs[2].prefixes[advs[2].n_prefixes++] = pfx("172.21.0.0/16");
	struct gsd_policy_table *t = gsd_policy_table_new(count_log, NULL);
	assert_non_null(t);
	struct gsd_rc_input in;
	memset(&in, 0, sizeof(in));
	memcpy(in.self_id, self, 32);
	memset(in.self_wg_pubkey, 0xa0, 32);
	in.keepalive = -1;
	in.dead_grace_ms = 30000;
	in.left_grace_ms = 5000;
	in.now_ms = NOW_MS;
	in.now_unix = NOW_UNIX;
	in.members = mem;
	in.policy = &pol;
	in.claims_seen = t;
	/* the honest cluster first */
	build(3);
	in.n_members = 3;
	struct gnl_wg_device *d = run(&in);
	assert_int_equal(gsd_policy_table_n_drops(t), 0);
	gnl_wg_device_free(d);

	/* then the attacker, a minute later */
	mkm(3, att, 0xa3, "mallory", "198.51.100.3:51820");
	struct gsm_advert *a = &advs[3];
	a->overlay[a->n_overlay++] = advs[1].overlay[0]; /* victim's IPv4 */
	a->overlay[a->n_overlay++] = advs[1].overlay[1]; /* victim's IPv6 */
	a->prefixes[a->n_prefixes++] = pfx("0.0.0.0/0");
	a->prefixes[a->n_prefixes++] = pfx("::/0");
	a->prefixes[a->n_prefixes++] = advs[1].overlay[0];
	a->prefixes[a->n_prefixes - 1].len = 32;
	a->prefixes[a->n_prefixes++] = advs[1].overlay[1];
	a->prefixes[a->n_prefixes++] = pfx("172.20.0.0/24");   /* site's, equal */
	a->prefixes[a->n_prefixes++] = pfx("172.21.5.0/24");   /* inside site's: kept */
	a->prefixes[a->n_prefixes++] = pfx("192.168.1.0/24");  /* our LAN */
	a->prefixes[a->n_prefixes++] = pfx("198.51.100.0/24"); /* endpoints */
	build(4);
	in.n_members = 4;
	in.now_ms = NOW_MS + 60000;
	n_logged = 0;
	d = run(&in);
	/* the victim keeps its addresses, the site its prefix */
	assert_true(has_pfx(d, advs[1].wg_pubkey, &advs[1].overlay[0]));
	assert_true(has_pfx(d, advs[1].wg_pubkey, &advs[1].overlay[1]));
	assert_true(has_aip(d, advs[2].wg_pubkey, "172.20.0.0/24"));
	assert_true(has_aip(d, advs[2].wg_pubkey, "172.21.0.0/16"));
	/* the attacker gets its own addresses and the longer prefix only */
	const struct gnl_wg_peer *ap = gnl_wg_device_find_peer(d, advs[3].wg_pubkey);
	assert_non_null(ap);
	assert_true(has_pfx(d, advs[3].wg_pubkey, &advs[3].overlay[0]));
	assert_true(has_pfx(d, advs[3].wg_pubkey, &advs[3].overlay[1]));
	assert_true(has_aip(d, advs[3].wg_pubkey, "172.21.5.0/24"));
	assert_int_equal(ap->n_allowedips, 3);
	/* every drop recorded with its reason, once */
	const struct gsd_policy_drop *x;
	assert_non_null(x = find_drop(t, att, "0.0.0.0/0"));
	assert_int_equal(x->reason, GSD_POL_DEFAULT_ROUTE);
	assert_non_null(x = find_drop(t, att, "::/0"));
	assert_int_equal(x->reason, GSD_POL_DEFAULT_ROUTE);
	char v4[64], v6[64];
	gsd_format_prefix(&advs[1].overlay[0], v4, sizeof(v4));
	gsd_format_prefix(&advs[1].overlay[1], v6, sizeof(v6));
	assert_non_null(x = find_drop(t, att, v4));
	/* as an overlay claim: conflict won by the victim; as a prefix:
	 * overlay (both are recorded, find_drop returns the first) */
	assert_true(x->reason == GSD_POL_CONFLICT || x->reason == GSD_POL_OVERLAY);
	assert_non_null(x = find_drop(t, att, v6));
	assert_true(x->reason == GSD_POL_NOT_DERIVED || x->reason == GSD_POL_OVERLAY);
	assert_non_null(x = find_drop(t, att, "172.20.0.0/24"));
	assert_int_equal(x->reason, GSD_POL_CONFLICT);
	assert_true(x->has_winner);
	assert_memory_equal(x->winner, site, 32);
	assert_string_equal(x->winner_name, "site");
	assert_non_null(x = find_drop(t, att, "192.168.1.0/24"));
	assert_int_equal(x->reason, GSD_POL_CONNECTED);
	assert_non_null(x = find_drop(t, att, "198.51.100.0/24"));
	assert_int_equal(x->reason, GSD_POL_ENDPOINT);
	size_t n_drops = gsd_policy_table_n_drops(t);
	assert_int_equal(n_drops, 9);
	assert_int_equal(n_logged, 9);
	gnl_wg_device_free(d);
	/* the next pass logs nothing new */
	in.now_ms += 1000;
	d = run(&in);
	assert_int_equal(n_logged, 9);
	assert_int_equal(gsd_policy_table_n_drops(t), n_drops);
	gnl_wg_device_free(d);

	/* the victim's own view agrees: our address stays ours */
	memcpy(in.self_id, victim, 32);
	memset(in.self_wg_pubkey, 0xa1, 32);
	struct gsd_policy_table *tv = gsd_policy_table_new(NULL, NULL);
	in.claims_seen = tv;
	in.n_members = 3;
	in.now_ms = NOW_MS;
	d = run(&in);
	gnl_wg_device_free(d);
	in.n_members = 4;
	in.now_ms = NOW_MS + 60000;
	d = run(&in);
	assert_false(has_pfx(d, advs[3].wg_pubkey, &advs[1].overlay[0]));
	struct gsd_v4_claim c = {.first_seen_ms =
				     gsd_policy_table_first_seen(tv, &advs[1].overlay[0], att)};
	memcpy(c.node_id, att, 32);
	memcpy(c.ip, advs[1].overlay[0].ip, 4);
	struct gsm_prefix out;
	assert_int_equal(gsd_overlay_v4_pick(&P4, victim, &c, 1, &advs[1].overlay[0],
					     gsd_policy_table_self_since(tv), &out, NULL),
			 0);
	gnl_wg_device_free(d);
	gsd_policy_table_free(tv);
	gsd_policy_table_free(t);
}

/* Two honest routers announce one subnet at the same time: the lower id
 * wins; different lengths are both kept. */
static void test_equal_prefixes(void **state)
{
	struct gsd_policy pol;
	base_policy(&pol);
	uint8_t self[32], r1[32], r2[32];
	id_of(self, 0x30, 1);
	id_of(r1, 0x70, 2);
	id_of(r2, 0x60, 3);
	mkm(0, self, 0xa0, "self", NULL);
	mkm(1, r1, 0xa1, "r1", NULL);
	mkm(2, r2, 0xa2, "r2", NULL);
	advs[1].prefixes[advs[1].n_prefixes++] = pfx("172.30.0.0/24");
	advs[2].prefixes[advs[2].n_prefixes++] = pfx("172.30.0.0/24");
	advs[2].prefixes[advs[2].n_prefixes++] = pfx("172.30.0.0/25");
	build(3);
	struct gsd_policy_table *t = gsd_policy_table_new(NULL, NULL);
	struct gsd_rc_input in;
	memset(&in, 0, sizeof(in));
	memcpy(in.self_id, self, 32);
	memset(in.self_wg_pubkey, 0xa0, 32);
	in.keepalive = -1;
	in.now_ms = NOW_MS;
	in.now_unix = NOW_UNIX;
	in.members = mem;
	in.n_members = 3;
	in.policy = &pol;
	in.claims_seen = t;
	struct gnl_wg_device *d = run(&in);
	assert_true(has_aip(d, advs[2].wg_pubkey, "172.30.0.0/24")); /* lower id */
	assert_false(has_aip(d, advs[1].wg_pubkey, "172.30.0.0/24"));
	assert_true(has_aip(d, advs[2].wg_pubkey, "172.30.0.0/25"));
	const struct gsd_policy_drop *x = find_drop(t, r1, "172.30.0.0/24");
	assert_non_null(x);
	assert_int_equal(x->reason, GSD_POL_CONFLICT);
	assert_memory_equal(x->winner, r2, 32);
	gnl_wg_device_free(d);
	gsd_policy_table_free(t);
}

/* ------------------------------------------------ connected clusters: the overlap rule */

static struct gsd_policy_rival rival(const char *cidr, uint8_t idbyte, bool gw, uint64_t first)
{
	struct gsd_policy_rival r;
	memset(&r, 0, sizeof(r));
	r.prefix = pfx(cidr);
	memset(r.id, idbyte, 32);
	snprintf(r.name, sizeof(r.name), "m%02x", idbyte);
	r.gateway = gw;
	r.first_seen_ms = first;
	return r;
}

/* A gateway yields to an ordinary member's overlapping prefix, whatever
 * the times; never to a disjoint one, another family or itself. */
static void test_overlap_yields(void **state)
{
	uint8_t self[32];
	memset(self, 0x50, 32);
	struct gsm_prefix own = pfx("10.244.0.0/16");
	struct gsd_policy_rival r = rival("10.244.3.0/24", 0x60, false, NOW_MS + 60000);
	assert_true(gsd_policy_overlap_yields(&own, self, NOW_MS, &r)); /* inside */
	r.prefix = pfx("10.0.0.0/8");
	assert_true(gsd_policy_overlap_yields(&own, self, NOW_MS, &r)); /* covers */
	r.prefix = pfx("10.244.0.0/16");
	assert_true(gsd_policy_overlap_yields(&own, self, NOW_MS, &r)); /* identical */
	r.prefix = pfx("10.245.0.0/16");
	assert_false(gsd_policy_overlap_yields(&own, self, NOW_MS, &r)); /* disjoint */
	r.prefix = pfx("fd10::/64");
	assert_false(gsd_policy_overlap_yields(&own, self, NOW_MS, &r));
	r.prefix = pfx("10.244.3.0/24");
	memcpy(r.id, self, 32);
	assert_false(gsd_policy_overlap_yields(&own, self, NOW_MS, &r)); /* our own */
}

/* Two gateways: the incumbent keeps its prefix, the newcomer yields;
 * within GSD_POLICY_INCUMBENT_MS the lower id keeps it.  With consistent
 * views exactly one of the two yields, so they never both withdraw. */
static void test_overlap_gateways(void **state)
{
	uint8_t lo[32], hi[32];
	memset(lo, 0x10, 32);
	memset(hi, 0x20, 32);
	struct gsm_prefix plo = pfx("10.244.0.0/16"), phi = pfx("10.244.7.0/24");
	struct gsd_policy_rival rhi = rival("10.244.7.0/24", 0x20, true, 0);
	struct gsd_policy_rival rlo = rival("10.244.0.0/16", 0x10, true, 0);
	/* the higher id is the incumbent: the lower id yields */
	rhi.first_seen_ms = NOW_MS;
	assert_true(gsd_policy_overlap_yields(&plo, lo, NOW_MS + GSD_POLICY_INCUMBENT_MS, &rhi));
	/* at the same time: the lower id keeps it */
	assert_false(gsd_policy_overlap_yields(&plo, lo, NOW_MS + 500, &rhi));
	static const uint64_t offs[] = {0, 1, 9999, 10000, 10001, 30000};
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		for (size_t j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
			uint64_t t_lo = NOW_MS + offs[i], t_hi = NOW_MS + offs[j];
			rhi.first_seen_ms = t_hi;
			rlo.first_seen_ms = t_lo;
			bool lo_yields = gsd_policy_overlap_yields(&plo, lo, t_lo, &rhi);
			bool hi_yields = gsd_policy_overlap_yields(&phi, hi, t_hi, &rlo);
			assert_true(lo_yields != hi_yields);
		}
	}
	/* an ordinary member does not compete: the gateway always yields */
	rhi.gateway = false;
	rhi.first_seen_ms = NOW_MS + 60000;
	assert_true(gsd_policy_overlap_yields(&plo, lo, NOW_MS, &rhi));
}

/* Every (own prefix, member) pair is listed; a prefix is withheld when it
 * yields to any of them. */
static void test_overlap_withhold(void **state)
{
	uint8_t self[32];
	memset(self, 0x50, 32);
	struct gsm_prefix own[3] = {pfx("10.244.0.0/16"), pfx("10.96.0.0/12"), pfx("fd44::/64")};
	uint64_t since[3] = {NOW_MS, NOW_MS, NOW_MS};
	struct gsd_policy_rival rv[3] = {
	    rival("10.244.3.0/24", 0x60, false, NOW_MS),
	    rival("10.244.7.0/24", 0x61, false, NOW_MS),
	    rival("10.245.0.0/16", 0x62, false, NOW_MS),
	};
	struct gsd_policy_withheld *w;
	size_t n;
	assert_int_equal(gsd_policy_withhold(own, 3, since, self, rv, 3, &w, &n), 0);
	assert_int_equal(n, 2);
	char a[64], b[64];
	gsd_format_prefix(&w[0].prefix, a, sizeof(a));
	gsd_format_prefix(&w[0].member_prefix, b, sizeof(b));
	assert_string_equal(a, "10.244.0.0/16");
	assert_string_equal(b, "10.244.3.0/24");
	assert_string_equal(w[0].name, "m60");
	assert_string_equal(w[1].name, "m61");
	assert_true(gsd_policy_is_withheld(w, n, &own[0]));
	assert_false(gsd_policy_is_withheld(w, n, &own[1]));
	assert_false(gsd_policy_is_withheld(w, n, &own[2]));
	struct gsm_prefix hostbits = own[0]; /* same network, host bits set */
	hostbits.ip[2] = 9;
	hostbits.ip[3] = 9;
	assert_true(gsd_policy_is_withheld(w, n, &hostbits));
	assert_true(gsd_policy_withheld_has(w, n, &w[1]));
	struct gsd_policy_withheld x = w[1];
	x.member_prefix = pfx("10.244.8.0/24");
	assert_false(gsd_policy_withheld_has(w, n, &x));
	free(w);
	/* nothing overlaps: nothing withheld, nothing allocated */
	assert_int_equal(gsd_policy_withhold(own + 1, 2, since, self, rv, 3, &w, &n), 0);
	assert_int_equal(n, 0);
	assert_null(w);
}

/* "Accepted" is what the last reconcile pass let through: the claims
 * table knows a member's prefix only when the policy accepted it and the
 * member is a peer (daemon/advert.c builds the rivals from that).  A
 * refused claim (here: over this host's LAN) never makes a gateway
 * withdraw; an accepted one does. */
static void test_overlap_accepted_only(void **state)
{
	struct gsd_policy pol;
	base_policy(&pol);
	uint8_t self[32], b1[32], b2[32];
	id_of(self, 0x30, 1);
	id_of(b1, 0x70, 2);
	id_of(b2, 0x60, 3);
	mkm(0, self, 0xa0, "gw", NULL);
	mkm(1, b1, 0xa1, "b1", NULL);
	mkm(2, b2, 0xa2, "b2", NULL);
	advs[1].prefixes[advs[1].n_prefixes++] = pfx("172.31.3.0/24");
	advs[2].prefixes[advs[2].n_prefixes++] = pfx("192.168.1.0/24"); /* connected: refused */
	build(3);
	struct gsd_policy_table *t = gsd_policy_table_new(NULL, NULL);
	struct gsd_rc_input in;
	memset(&in, 0, sizeof(in));
	memcpy(in.self_id, self, 32);
	memset(in.self_wg_pubkey, 0xa0, 32);
	in.keepalive = -1;
	in.now_ms = NOW_MS;
	in.now_unix = NOW_UNIX;
	in.members = mem;
	in.n_members = 3;
	in.policy = &pol;
	in.claims_seen = t;
	gnl_wg_device_free(run(&in));
	struct gsd_policy_rival rv[4];
	size_t n_rv = 0;
	for (int i = 1; i < 3; i++)
		for (uint8_t k = 0; k < recs[i]->n_prefixes; k++) {
			uint64_t first =
			    gsd_policy_table_first_seen(t, &recs[i]->prefixes[k], recs[i]->id);
			if (!first)
				continue;
			memset(&rv[n_rv], 0, sizeof(rv[n_rv]));
			rv[n_rv].prefix = recs[i]->prefixes[k];
			memcpy(rv[n_rv].id, recs[i]->id, 32);
			rv[n_rv].first_seen_ms = first;
			n_rv++;
		}
	assert_int_equal(n_rv, 1); /* b1's; b2's was refused */
	struct gsm_prefix own[2] = {pfx("172.31.0.0/16"), pfx("192.168.0.0/16")};
	uint64_t since[2] = {NOW_MS, NOW_MS};
	struct gsd_policy_withheld *w;
	size_t n;
	assert_int_equal(gsd_policy_withhold(own, 2, since, self, rv, n_rv, &w, &n), 0);
	assert_int_equal(n, 1);
	assert_true(gsd_policy_is_withheld(w, n, &own[0]));
	assert_false(gsd_policy_is_withheld(w, n, &own[1]));
	free(w);
	/* b1 expires (left long ago): its claim is gone after the next pass */
	mem[1].state = GSM_STATE_LEFT;
	mem[1].state_since_ms = NOW_MS - 3600000;
	in.now_ms = NOW_MS + 1000;
	gnl_wg_device_free(run(&in));
	assert_int_equal(gsd_policy_table_first_seen(t, &recs[1]->prefixes[0], b1), 0);
	gsd_policy_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefix_reasons),
	    cmocka_unit_test(test_accept_prefixes),
	    cmocka_unit_test(test_overlay_claims),
	    cmocka_unit_test(test_claim_rule),
	    cmocka_unit_test(test_grinding_does_not_win),
	    cmocka_unit_test(test_self_since),
	    cmocka_unit_test_teardown(test_reconcile_attacker, free_recs),
	    cmocka_unit_test_teardown(test_equal_prefixes, free_recs),
	    cmocka_unit_test(test_overlap_yields),
	    cmocka_unit_test(test_overlap_gateways),
	    cmocka_unit_test(test_overlap_withhold),
	    cmocka_unit_test_teardown(test_overlap_accepted_only, free_recs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
