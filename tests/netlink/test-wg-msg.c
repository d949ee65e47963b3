/* tests/netlink/test-wg-msg.c - SET_DEVICE building/splitting, GET_DEVICE
 * dump parsing (coalescing split peers), extended ACK parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netlink/nl.h"
#include "netlink/wg.h"
#include "netlink/wgmsg.h"

#define FAMILY 0x1d

/* ---------------------------------------------------------- capture */

struct cap {
	char **msg;
	size_t n;
	size_t max_len;
	int fail_at; /* emit returns -EIO at this message index (or -1) */
};

static int cap_emit(void *ctx, struct nlmsghdr *nlh)
{
	struct cap *c = ctx;
	if ((int)c->n == c->fail_at)
		return -EIO;
	c->msg = realloc(c->msg, (c->n + 1) * sizeof(*c->msg));
	c->msg[c->n] = malloc(nlh->nlmsg_len);
	memcpy(c->msg[c->n], nlh, nlh->nlmsg_len);
	if (nlh->nlmsg_len > c->max_len)
		c->max_len = nlh->nlmsg_len;
	c->n++;
	return 0;
}

static void cap_free(struct cap *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->msg[i]);
	free(c->msg);
	memset(c, 0, sizeof(*c));
}

/* decoded SET_DEVICE content (independent of the library's parser) */
struct dpeer {
	uint8_t pub[32];
	uint32_t flags;
	bool has_psk, has_ep, has_ka;
	uint8_t psk[32];
	union gnl_sockaddr ep;
	uint16_t ka;
	size_t naip;
	struct gnl_prefix aip[64];
	uint32_t aip_flags[64];
};

struct dmsg {
	char ifname[IFNAMSIZ];
	uint32_t dflags;
	bool has_priv, has_port, has_fwmark;
	uint16_t port;
	size_t npeers;
	struct dpeer *peers;
};

static void decode(const char *buf, struct dmsg *m)
{
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	memset(m, 0, sizeof(*m));
	assert_int_equal(nlh->nlmsg_type, FAMILY);
	assert_true(nlh->nlmsg_flags & NLM_F_REQUEST);
	assert_true(nlh->nlmsg_flags & NLM_F_ACK);
	assert_int_equal(g->cmd, WG_CMD_SET_DEVICE);
	assert_int_equal(g->version, WG_GENL_VERSION);
	assert_true(mnl_attr_ok(mnl_nlmsg_get_payload_offset(nlh, sizeof(*g)),
				(int)(nlh->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(sizeof(*g)))));
	mnl_attr_for_each(a, nlh, sizeof(*g))
	{
		switch (mnl_attr_get_type(a)) {
		case WGDEVICE_A_IFNAME:
			snprintf(m->ifname, sizeof(m->ifname), "%s", mnl_attr_get_str(a));
			break;
		case WGDEVICE_A_FLAGS:
			m->dflags = mnl_attr_get_u32(a);
			break;
		case WGDEVICE_A_PRIVATE_KEY:
			m->has_priv = true;
			break;
		case WGDEVICE_A_LISTEN_PORT:
			m->has_port = true;
			m->port = mnl_attr_get_u16(a);
			break;
		case WGDEVICE_A_FWMARK:
			m->has_fwmark = true;
			break;
		case WGDEVICE_A_PEERS: {
			const struct nlattr *pa;
			/* libmnl must have marked nests (the kernel's strict
			 * parser requires NLA_F_NESTED) */
			assert_true(a->nla_type & NLA_F_NESTED);
			mnl_attr_for_each_nested(pa, a)
			{
				struct dpeer *p;
				const struct nlattr *b;
				assert_true(pa->nla_type & NLA_F_NESTED);
				m->peers = realloc(m->peers, (m->npeers + 1) * sizeof(*m->peers));
				p = &m->peers[m->npeers++];
				memset(p, 0, sizeof(*p));
				mnl_attr_for_each_nested(b, pa)
				{
					switch (mnl_attr_get_type(b)) {
					case WGPEER_A_PUBLIC_KEY:
						assert_int_equal(mnl_attr_get_payload_len(b), 32);
						memcpy(p->pub, mnl_attr_get_payload(b), 32);
						break;
					case WGPEER_A_FLAGS:
						p->flags = mnl_attr_get_u32(b);
						break;
					case WGPEER_A_PRESHARED_KEY:
						p->has_psk = true;
						memcpy(p->psk, mnl_attr_get_payload(b), 32);
						break;
					case WGPEER_A_ENDPOINT:
						p->has_ep = true;
						memcpy(&p->ep, mnl_attr_get_payload(b),
						       mnl_attr_get_payload_len(b));
						break;
					case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
						p->has_ka = true;
						p->ka = mnl_attr_get_u16(b);
						break;
					case WGPEER_A_ALLOWEDIPS: {
						const struct nlattr *e, *f;
						mnl_attr_for_each_nested(e, b)
						{
							struct gnl_prefix *x = &p->aip[p->naip];
							assert_true(p->naip < 64);
							memset(x, 0, sizeof(*x));
							p->aip_flags[p->naip] = 0;
							mnl_attr_for_each_nested(f, e)
							{
								switch (mnl_attr_get_type(f)) {
								case WGALLOWEDIP_A_FAMILY:
									x->family =
									    mnl_attr_get_u16(f);
									break;
								case WGALLOWEDIP_A_IPADDR:
									memcpy(
									    x->addr.b,
									    mnl_attr_get_payload(f),
									    mnl_attr_get_payload_len(
										f));
									break;
								case WGALLOWEDIP_A_CIDR_MASK:
									x->cidr =
									    mnl_attr_get_u8(f);
									break;
								case WGALLOWEDIP_A_FLAGS:
									p->aip_flags[p->naip] =
									    mnl_attr_get_u32(f);
									break;
								}
							}
							p->naip++;
						}
						break;
					}
					}
				}
			}
			break;
		}
		}
	}
}

static void dmsg_free(struct dmsg *m)
{
	free(m->peers);
}

static void mkkey(uint8_t k[32], uint32_t i)
{
	memset(k, 0xab, 32);
	k[0] = (uint8_t)(i >> 24);
	k[1] = (uint8_t)(i >> 16);
	k[2] = (uint8_t)(i >> 8);
	k[3] = (uint8_t)i;
}

static struct gnl_prefix P(const char *s) {
	struct gnl_prefix p;
	assert_int_equal(gnl_prefix_parse(s, &p), 0);
	return p;
}

static const char *
pfx(const struct gnl_prefix *p)
{
	static char b[4][GNL_PREFIX_STRLEN];
	static int i;
	i = (i + 1) % 4;
	return gnl_prefix_format(p, b[i], sizeof(b[i]));
}

/* ------------------------------------------------------------ build */

static void test_build_add_roundtrip(void **state)
{
	struct gnl_wg_device *d;
	struct gnl_wg_peer *p;
	struct gnl_wg_ops *ops;
	struct gnl_wgmsg_cfg cfg = {.family_id = FAMILY, .ifname = "wgt0", .limit = 32768};
	struct gnl_wg_apply_stats st = {0};
	struct cap c = {.fail_at = -1};
	struct dmsg m;
	uint8_t k[32];

	assert_int_equal(gnl_wg_device_new("wgt0", &d), 0);
	d->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT;
	memset(d->private_key, 0x11, 32);
	d->listen_port = 51820;
	mkkey(k, 1);
	assert_int_equal(gnl_wg_device_add_peer(d, k, &p), 0);
	p->has_preshared_key = true;
	memset(p->preshared_key, 0x22, 32);
	assert_int_equal(gnl_sockaddr_parse("10.250.0.2:4242", &p->endpoint), 0);
	p->persistent_keepalive = 25;
	struct gnl_prefix a1 = P("10.250.1.0/24"), a2 = P("fd00:250::/64");
	gnl_wg_peer_add_allowedip(p, &a2);
	gnl_wg_peer_add_allowedip(p, &a1);
	assert_int_equal(gnl_wg_diff(d, NULL, &ops), 0);
	ops->replace_peers = true;
	assert_int_equal(gnl_wgmsg_build_set(&cfg, ops, cap_emit, &c, &st), 0);
	assert_int_equal(c.n, 1);
	assert_int_equal(st.messages, 1);
	assert_int_equal(st.peers, 1);
	assert_int_equal(st.allowedips, 2);
	assert_int_equal(st.bytes, ((struct nlmsghdr *)c.msg[0])->nlmsg_len);
	decode(c.msg[0], &m);
	assert_string_equal(m.ifname, "wgt0");
	assert_int_equal(m.dflags, WGDEVICE_F_REPLACE_PEERS);
	assert_true(m.has_priv);
	assert_true(m.has_port);
	assert_int_equal(m.port, 51820);
	assert_false(m.has_fwmark);
	assert_int_equal(m.npeers, 1);
	assert_memory_equal(m.peers[0].pub, k, 32);
	assert_int_equal(m.peers[0].flags, WGPEER_F_REPLACE_ALLOWEDIPS);
	assert_true(m.peers[0].has_psk);
	assert_int_equal(m.peers[0].psk[31], 0x22);
	assert_true(m.peers[0].has_ep);
	assert_true(gnl_sockaddr_equal(&m.peers[0].ep, &p->endpoint));
	assert_true(m.peers[0].has_ka);
	assert_int_equal(m.peers[0].ka, 25);
	assert_int_equal(m.peers[0].naip, 2);
	assert_string_equal(pfx(&m.peers[0].aip[0]), "10.250.1.0/24");
	assert_string_equal(pfx(&m.peers[0].aip[1]), "fd00:250::/64");
	assert_int_equal(m.peers[0].aip_flags[0], 0);
	dmsg_free(&m);
	cap_free(&c);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(d);
}

/* an UPDATE that adds one prefix and removes another */
static struct gnl_wg_ops *mk_update_ops(void)
{
	struct gnl_wg_device *want, *cur;
	struct gnl_wg_peer *p;
	struct gnl_wg_ops *ops;
	uint8_t k[32];

	mkkey(k, 7);
	gnl_wg_device_new("wgt0", &want);
	gnl_wg_device_new("wgt0", &cur);
	gnl_wg_device_add_peer(want, k, &p);
	struct gnl_prefix a = P("10.250.1.0/24"), b = P("10.250.3.0/24"), x = P("10.250.2.0/24");
	gnl_wg_peer_add_allowedip(p, &a);
	gnl_wg_peer_add_allowedip(p, &b);
	gnl_wg_device_add_peer(cur, k, &p);
	gnl_wg_peer_add_allowedip(p, &a);
	gnl_wg_peer_add_allowedip(p, &x);
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	gnl_wg_device_free(want);
	gnl_wg_device_free(cur);
	return ops;
}

static void test_build_update_remove_flag(void **state)
{
	struct gnl_wg_ops *ops = mk_update_ops();
	struct gnl_wgmsg_cfg cfg = {
	    .family_id = FAMILY, .ifname = "wgt0", .limit = 4096, .aip_remove = true};
	struct gnl_wg_apply_stats st = {0};
	struct cap c = {.fail_at = -1};
	struct dmsg m;

	assert_int_equal(gnl_wgmsg_build_set(&cfg, ops, cap_emit, &c, &st), 0);
	assert_int_equal(c.n, 1);
	decode(c.msg[0], &m);
	assert_int_equal(m.dflags, 0);
	assert_false(m.has_priv || m.has_port || m.has_fwmark);
	assert_int_equal(m.npeers, 1);
	assert_int_equal(m.peers[0].flags, WGPEER_F_UPDATE_ONLY);
	assert_false(m.peers[0].has_ep || m.peers[0].has_ka || m.peers[0].has_psk);
	assert_int_equal(m.peers[0].naip, 2);
	assert_string_equal(pfx(&m.peers[0].aip[0]), "10.250.2.0/24");
	assert_int_equal(m.peers[0].aip_flags[0], WGALLOWEDIP_F_REMOVE_ME);
	assert_string_equal(pfx(&m.peers[0].aip[1]), "10.250.3.0/24");
	assert_int_equal(m.peers[0].aip_flags[1], 0);
	assert_false(st.aip_replace_fallback);
	dmsg_free(&m);
	cap_free(&c);
	gnl_wg_ops_free(ops);
}

static void test_build_update_replace_fallback(void **state)
{
	struct gnl_wg_ops *ops = mk_update_ops();
	struct gnl_wgmsg_cfg cfg = {
	    .family_id = FAMILY, .ifname = "wgt0", .limit = 4096, .aip_remove = false};
	struct gnl_wg_apply_stats st = {0};
	struct cap c = {.fail_at = -1};
	struct dmsg m;

	assert_int_equal(gnl_wgmsg_build_set(&cfg, ops, cap_emit, &c, &st), 0);
	assert_int_equal(c.n, 1);
	decode(c.msg[0], &m);
	assert_int_equal(m.peers[0].flags, WGPEER_F_UPDATE_ONLY | WGPEER_F_REPLACE_ALLOWEDIPS);
	assert_int_equal(m.peers[0].naip, 2);
	assert_string_equal(pfx(&m.peers[0].aip[0]), "10.250.1.0/24");
	assert_string_equal(pfx(&m.peers[0].aip[1]), "10.250.3.0/24");
	assert_int_equal(m.peers[0].aip_flags[0] | m.peers[0].aip_flags[1], 0);
	assert_true(st.aip_replace_fallback);
	dmsg_free(&m);
	cap_free(&c);
	gnl_wg_ops_free(ops);
}

static void test_build_additions_stay_incremental(void **state)
{
	struct gnl_wg_device *want, *cur;
	struct gnl_wg_peer *p;
	struct gnl_wg_ops *ops;
	struct gnl_wgmsg_cfg cfg = {.family_id = FAMILY, .ifname = "wgt0", .limit = 4096};
	struct cap c = {.fail_at = -1};
	struct dmsg m;
	uint8_t k[32];

	mkkey(k, 9);
	gnl_wg_device_new("wgt0", &want);
	gnl_wg_device_new("wgt0", &cur);
	gnl_wg_device_add_peer(want, k, &p);
	struct gnl_prefix a = P("10.250.1.0/24"), b = P("10.250.3.0/24");
	gnl_wg_peer_add_allowedip(p, &a);
	gnl_wg_peer_add_allowedip(p, &b);
	gnl_wg_device_add_peer(cur, k, &p);
	gnl_wg_peer_add_allowedip(p, &a);
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	assert_int_equal(gnl_wgmsg_build_set(&cfg, ops, cap_emit, &c, NULL), 0);
	decode(c.msg[0], &m);
	/* no removal needed: no REPLACE even without kernel support */
	assert_int_equal(m.peers[0].flags, WGPEER_F_UPDATE_ONLY);
	assert_int_equal(m.peers[0].naip, 1);
	assert_string_equal(pfx(&m.peers[0].aip[0]), "10.250.3.0/24");
	dmsg_free(&m);
	cap_free(&c);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
	gnl_wg_device_free(cur);
}

static void test_build_empty_sends_nothing(void **state)
{
	struct gnl_wg_ops ops = {0};
	struct gnl_wgmsg_cfg cfg = {.family_id = FAMILY, .ifname = "wgt0", .limit = 4096};
	struct cap c = {.fail_at = -1};

	assert_int_equal(gnl_wgmsg_build_set(&cfg, &ops, cap_emit, &c, NULL), 0);
	assert_int_equal(c.n, 0);
	/* device-only change: one message, no PEERS nest needed */
	ops.dev_changed = GNL_WG_DEV_FWMARK;
	ops.fwmark = 3;
	assert_int_equal(gnl_wgmsg_build_set(&cfg, &ops, cap_emit, &c, NULL), 0);
	assert_int_equal(c.n, 1);
	struct dmsg m;
	decode(c.msg[0], &m);
	assert_true(m.has_fwmark);
	assert_int_equal(m.npeers, 0);
	dmsg_free(&m);
	cap_free(&c);
}

static void test_split_many_peers(void **state)
{
	struct gnl_wg_device *d;
	struct gnl_wg_ops *ops;
	struct gnl_wgmsg_cfg cfg = {.family_id = FAMILY, .ifname = "wgt0", .limit = 4096};
	struct gnl_wg_apply_stats st = {0};
	struct cap c = {.fail_at = -1};
	const size_t N = 2000;
	size_t seen = 0, bytes = 0;

	gnl_wg_device_new("wgt0", &d);
	d->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT | GNL_WG_DEV_FWMARK;
	for (size_t i = 0; i < N; i++) {
		struct gnl_wg_peer *p;
		uint8_t k[32];
		char s[64];
		mkkey(k, (uint32_t)i);
		gnl_wg_device_add_peer(d, k, &p);
		snprintf(s, sizeof(s), "10.%zu.%zu.1:51820", 100 + i / 256, i % 256);
		gnl_sockaddr_parse(s, &p->endpoint);
		for (int j = 0; j < 3; j++) {
			snprintf(s, sizeof(s), "10.%d.%zu.%zu/32", 200 + j, i / 256, i % 256);
			struct gnl_prefix x = P(s);
			gnl_wg_peer_add_allowedip(p, &x);
		}
	}
	assert_int_equal(gnl_wg_diff(d, NULL, &ops), 0);
	ops->replace_peers = true;
	assert_int_equal(gnl_wgmsg_build_set(&cfg, ops, cap_emit, &c, &st), 0);
	assert_true(c.n > 1);
	assert_true(c.max_len <= 4096);
	assert_int_equal(st.messages, c.n);
	assert_int_equal(st.peers, N);
	assert_int_equal(st.allowedips, 3 * N);
	for (size_t i = 0; i < c.n; i++) {
		struct dmsg m;
		decode(c.msg[i], &m);
		bytes += ((struct nlmsghdr *)c.msg[i])->nlmsg_len;
		/* device-level attributes only in the first message */
		assert_int_equal(m.dflags, i == 0 ? WGDEVICE_F_REPLACE_PEERS : 0);
		assert_int_equal(m.has_priv, i == 0);
		assert_int_equal(m.has_fwmark, i == 0);
		assert_string_equal(m.ifname, "wgt0");
		assert_true(m.npeers > 0);
		for (size_t j = 0; j < m.npeers; j++) {
			uint8_t k[32];
			mkkey(k, (uint32_t)seen);
			/* ops are in key order == creation order here */
			assert_memory_equal(m.peers[j].pub, k, 32);
			assert_int_equal(m.peers[j].naip, 3); /* never cut inside a small peer */
			assert_int_equal(m.peers[j].flags, WGPEER_F_REPLACE_ALLOWEDIPS);
			seen++;
		}
		/* a message is only closed because the next peer did not fit */
		if (i + 1 < c.n)
			assert_true(((struct nlmsghdr *)c.msg[i])->nlmsg_len > 4096 - 200);
		dmsg_free(&m);
	}
	assert_int_equal(seen, N);
	assert_int_equal(bytes, st.bytes);
	cap_free(&c);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(d);
}

/* a huge limit is clamped so no 16-bit attribute length can wrap */
static void test_limit_clamped_below_64k(void **state)
{
	struct gnl_wg_device *d;
	struct gnl_wg_ops *ops;
	struct gnl_wgmsg_cfg cfg = {.family_id = FAMILY, .ifname = "wgt0", .limit = 1 << 20};
	struct cap c = {.fail_at = -1};
	size_t total = 0;

	gnl_wg_device_new("wgt0", &d);
	for (uint32_t i = 0; i < 3000; i++) {
		struct gnl_wg_peer *p;
		uint8_t k[32];
		mkkey(k, i);
		gnl_wg_device_add_peer(d, k, &p);
		struct gnl_prefix x = P("fd00:250::/64");
		x.addr.b[8] = (uint8_t)(i >> 8);
		x.addr.b[9] = (uint8_t)i;
		gnl_wg_peer_add_allowedip(p, &x);
	}
	assert_int_equal(gnl_wg_diff(d, NULL, &ops), 0);
	assert_int_equal(gnl_wgmsg_build_set(&cfg, ops, cap_emit, &c, NULL), 0);
	assert_true(c.n >= 2);
	assert_true(c.max_len <= 65535);
	for (size_t i = 0; i < c.n; i++) {
		const struct nlmsghdr *nlh = (const void *)c.msg[i];
		const struct nlattr *a;
		struct dmsg m;
		/* every top-level attribute's length matches the message */
		size_t sum = MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct genlmsghdr));
		mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) sum += MNL_ALIGN(a->nla_len);
		assert_int_equal(sum, nlh->nlmsg_len);
		decode(c.msg[i], &m);
		total += m.npeers;
		dmsg_free(&m);
	}
	assert_int_equal(total, 3000);
	cap_free(&c);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(d);
}

static void test_split_one_big_peer(void **state)
{
	struct gnl_wg_device *d;
	struct gnl_wg_peer *p;
	struct gnl_wg_ops *ops;
	struct gnl_wgmsg_cfg cfg = {.family_id = FAMILY, .ifname = "wgt0", .limit = 1024};
	struct cap c = {.fail_at = -1};
	uint8_t k[32];
	size_t total = 0, N = 150;

	gnl_wg_device_new("wgt0", &d);
	mkkey(k, 42);
	gnl_wg_device_add_peer(d, k, &p);
	p->persistent_keepalive = 5;
	for (size_t i = 0; i < N; i++) {
		char s[64];
		snprintf(s, sizeof(s), "fd00:250::%zx/128", i + 1);
		struct gnl_prefix x = P(s);
		gnl_wg_peer_add_allowedip(p, &x);
	}
	assert_int_equal(gnl_wg_diff(d, NULL, &ops), 0);
	assert_int_equal(gnl_wgmsg_build_set(&cfg, ops, cap_emit, &c, NULL), 0);
	assert_true(c.n >= 4); /* 150 * ~44 bytes in 1 KiB messages */
	assert_true(c.max_len <= 1024);
	for (size_t i = 0; i < c.n; i++) {
		struct dmsg m;
		decode(c.msg[i], &m);
		assert_int_equal(m.npeers, 1);
		assert_memory_equal(m.peers[0].pub, k, 32);
		if (i == 0) {
			assert_int_equal(m.peers[0].flags, WGPEER_F_REPLACE_ALLOWEDIPS);
			assert_true(m.peers[0].has_ka);
		} else {
			/* continuation: never REPLACE again, nothing but the key */
			assert_int_equal(m.peers[0].flags, WGPEER_F_UPDATE_ONLY);
			assert_false(m.peers[0].has_ka || m.peers[0].has_ep || m.peers[0].has_psk);
		}
		for (size_t j = 0; j < m.peers[0].naip; j++) {
			char s[64];
			snprintf(s, sizeof(s), "fd00:250::%zx/128", total + j + 1);
			assert_string_equal(pfx(&m.peers[0].aip[j]), s);
		}
		total += m.peers[0].naip;
		dmsg_free(&m);
	}
	assert_int_equal(total, N);
	cap_free(&c);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(d);
}

static void test_emit_error_stops(void **state)
{
	struct gnl_wg_device *d;
	struct gnl_wg_ops *ops;
	struct gnl_wgmsg_cfg cfg = {.family_id = FAMILY, .ifname = "wgt0", .limit = 1024};
	struct cap c = {.fail_at = 1};

	gnl_wg_device_new("wgt0", &d);
	for (uint32_t i = 0; i < 100; i++) {
		uint8_t k[32];
		mkkey(k, i);
		gnl_wg_device_add_peer(d, k, NULL);
	}
	assert_int_equal(gnl_wg_diff(d, NULL, &ops), 0);
	assert_int_equal(gnl_wgmsg_build_set(&cfg, ops, cap_emit, &c, NULL), -EIO);
	assert_int_equal(c.n, 1);
	cfg.ifname = "this-name-is-too-long";
	assert_int_equal(gnl_wgmsg_build_set(&cfg, ops, cap_emit, &c, NULL), -EINVAL);
	cap_free(&c);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(d);
}

/* ------------------------------------------------------------- parse */

/* Canned dump reply, framed like the kernel's: device attributes, then
 * a PEERS nest; `cont` peers carry only the key and more allowed IPs. */
static struct nlmsghdr *dump_msg(char *buf, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;
	uint8_t priv[32], pub[32];

	memset(priv, 0x31, 32);
	memset(pub, 0x32, 32);
	nlh->nlmsg_type = FAMILY;
	nlh->nlmsg_flags = NLM_F_MULTI | flags;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_GET_DEVICE;
	g->version = 1;
	mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 7);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wgt0");
	mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, 32, priv);
	mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, 32, pub);
	mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
	mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0);
	return nlh;
}

static void put_dump_peer(struct nlmsghdr *nlh, uint32_t key, bool full, int aip_from, int aip_to)
{
	struct nlattr *p = mnl_attr_nest_start(nlh, 0), *l, *e;
	uint8_t k[32], psk[32] = {0};
	mkkey(k, key);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 32, k);
	if (full) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(1000 + key)};
		int64_t ts[2] = {1700000000 + key, 123};
		inet_pton(AF_INET, "10.250.0.9", &sin.sin_addr);
		if (key == 2)
			memset(psk, 0x44, 32);
		mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, 32, psk);
		mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
		mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, (uint16_t)key);
		mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), ts);
		mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 1000u * key);
		mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, 2000u * key);
		mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
	}
	l = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	for (int i = aip_from; i < aip_to; i++) {
		uint8_t a[4] = {10, 250, (uint8_t)key, (uint8_t)i};
		e = mnl_attr_nest_start(nlh, 0);
		mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
		mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, 4, a);
		mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 32);
		mnl_attr_nest_end(nlh, e);
	}
	mnl_attr_nest_end(nlh, l);
	mnl_attr_nest_end(nlh, p);
}

static void test_parse_split_dump(void **state)
{
	char b1[4096], b2[4096];
	struct nlmsghdr *m1 = dump_msg(b1, 0), *m2 = dump_msg(b2, 0);
	struct nlattr *peers;
	struct gnl_wg_device *d;
	char s[64];

	/* message 1: peer 1 whole, peer 2 with allowed IPs 0..4 */
	peers = mnl_attr_nest_start(m1, WGDEVICE_A_PEERS);
	put_dump_peer(m1, 1, true, 0, 2);
	put_dump_peer(m1, 2, true, 0, 5);
	mnl_attr_nest_end(m1, peers);
	/* message 2: peer 2 continued (key + allowed IPs 5..9), then peer 3 */
	peers = mnl_attr_nest_start(m2, WGDEVICE_A_PEERS);
	put_dump_peer(m2, 2, false, 5, 10);
	put_dump_peer(m2, 3, true, 0, 1);
	mnl_attr_nest_end(m2, peers);

	assert_int_equal(gnl_wg_device_new(NULL, &d), 0);
	assert_int_equal(gnl_wgmsg_parse_dump(m1, d), 0);
	assert_int_equal(gnl_wgmsg_parse_dump(m2, d), 0);
	assert_string_equal(d->ifname, "wgt0");
	assert_int_equal(d->ifindex, 7);
	assert_int_equal(d->listen_port, 51820);
	assert_true(d->has_public_key);
	assert_int_equal(d->flags,
			 GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT | GNL_WG_DEV_FWMARK);
	assert_int_equal(d->n_peers, 3);
	assert_int_equal(d->peers[0].n_allowedips, 2);
	assert_int_equal(d->peers[1].n_allowedips, 10);
	for (int i = 0; i < 10; i++) {
		snprintf(s, sizeof(s), "10.250.2.%d/32", i);
		assert_string_equal(pfx(&d->peers[1].allowedips[i]), s);
	}
	assert_int_equal(d->peers[2].n_allowedips, 1);
	/* per-peer state read back */
	assert_false(d->peers[0].has_preshared_key);
	assert_true(d->peers[1].has_preshared_key);
	assert_int_equal(d->peers[1].preshared_key[0], 0x44);
	assert_int_equal(d->peers[1].persistent_keepalive, 2);
	assert_int_equal(d->peers[1].last_handshake.tv_sec, 1700000002);
	assert_int_equal(d->peers[1].last_handshake.tv_nsec, 123);
	assert_int_equal(d->peers[1].rx_bytes, 2000);
	assert_int_equal(d->peers[1].tx_bytes, 4000);
	assert_int_equal(d->peers[1].protocol_version, 1);
	assert_string_equal(gnl_sockaddr_format(&d->peers[2].endpoint, s, sizeof(s)),
			    "10.250.0.9:1003");
	gnl_wg_device_free(d);
}

static void test_parse_rejects_malformed(void **state)
{
	char b[4096];
	struct nlmsghdr *m = dump_msg(b, 0);
	struct nlattr *peers, *p;
	struct gnl_wg_device *d;
	uint8_t shortkey[16] = {0};

	peers = mnl_attr_nest_start(m, WGDEVICE_A_PEERS);
	p = mnl_attr_nest_start(m, 0);
	mnl_attr_put(m, WGPEER_A_PUBLIC_KEY, sizeof(shortkey), shortkey);
	mnl_attr_nest_end(m, p);
	mnl_attr_nest_end(m, peers);
	gnl_wg_device_new(NULL, &d);
	assert_int_equal(gnl_wgmsg_parse_dump(m, d), -EBADMSG);
	gnl_wg_device_free(d);

	/* bad endpoint length */
	m = dump_msg(b, 0);
	peers = mnl_attr_nest_start(m, WGDEVICE_A_PEERS);
	p = mnl_attr_nest_start(m, 0);
	uint8_t k[32];
	mkkey(k, 1);
	mnl_attr_put(m, WGPEER_A_PUBLIC_KEY, 32, k);
	mnl_attr_put(m, WGPEER_A_ENDPOINT, 3, k);
	mnl_attr_nest_end(m, p);
	mnl_attr_nest_end(m, peers);
	gnl_wg_device_new(NULL, &d);
	assert_int_equal(gnl_wgmsg_parse_dump(m, d), -EBADMSG);
	gnl_wg_device_free(d);
}

/* a SET built by us, read as if the kernel dumped it: the parser and the
 * builder agree on every field */
static void test_build_parse_agree(void **state)
{
	char buf[256];
	struct nlmsghdr *g = gnl_wgmsg_build_get(buf, FAMILY, "wgt0");
	const struct genlmsghdr *gh = mnl_nlmsg_get_payload(g);
	const struct nlattr *a;
	bool name = false;

	assert_true(g->nlmsg_flags & NLM_F_DUMP);
	assert_int_equal(gh->cmd, WG_CMD_GET_DEVICE);
	mnl_attr_for_each(a, g, sizeof(*gh))
	{
		if (mnl_attr_get_type(a) == WGDEVICE_A_IFNAME) {
			assert_string_equal(mnl_attr_get_str(a), "wgt0");
			name = true;
		}
	}
	assert_true(name);
}

static void test_extack(void **state)
{
	char buf[512];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;
	char msg[GNL_ERRMSG_LEN];

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_flags = NLM_F_ACK_TLVS | NLM_F_CAPPED;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -EINVAL;
	e->msg.nlmsg_len = 1000; /* capped: the echoed request is not there */
	mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, 20);
	mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, "Unknown attribute type");
	gnl_extack_msg(nlh, msg, sizeof(msg));
	assert_string_equal(msg, "Unknown attribute type");

	/* uncapped: TLVs follow the echoed request */
	char buf2[512];
	struct nlmsghdr *n2 = mnl_nlmsg_put_header(buf2);
	n2->nlmsg_type = NLMSG_ERROR;
	n2->nlmsg_flags = NLM_F_ACK_TLVS;
	e = mnl_nlmsg_put_extra_header(n2, sizeof(*e) + 8);
	e->error = -EPERM;
	e->msg.nlmsg_len = sizeof(struct nlmsghdr) + 8;
	mnl_attr_put_strz(n2, NLMSGERR_ATTR_MSG, "nope");
	gnl_extack_msg(n2, msg, sizeof(msg));
	assert_string_equal(msg, "nope");

	/* no TLVs flag: nothing */
	n2->nlmsg_flags = 0;
	gnl_extack_msg(n2, msg, sizeof(msg));
	assert_string_equal(msg, "");
}

/* On a host without the module, opening must say so (skipped where the
 * host kernel does have WireGuard). */
static void test_open_reports_missing_module(void **state)
{
	struct gnl_wg *h = NULL;
	int r = gnl_wg_open(&h);

	if (r == 0) {
		gnl_wg_close(h);
		skip();
	}
	if (r == -EPERM || r == -EACCES) {
		assert_non_null(strstr(gnl_wg_errmsg(NULL), "permission"));
		skip();
	}
	assert_int_equal(r, -ENOENT);
	assert_null(h);
	assert_non_null(strstr(gnl_wg_errmsg(NULL), "module missing"));
	assert_non_null(strstr(gnl_strerror(r), "module missing"));
	gnl_wg_close(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build_add_roundtrip),
	    cmocka_unit_test(test_build_update_remove_flag),
	    cmocka_unit_test(test_build_update_replace_fallback),
	    cmocka_unit_test(test_build_additions_stay_incremental),
	    cmocka_unit_test(test_build_empty_sends_nothing),
	    cmocka_unit_test(test_split_many_peers),
	    cmocka_unit_test(test_limit_clamped_below_64k),
	    cmocka_unit_test(test_split_one_big_peer),
	    cmocka_unit_test(test_emit_error_stops),
	    cmocka_unit_test(test_parse_split_dump),
	    cmocka_unit_test(test_parse_rejects_malformed),
	    cmocka_unit_test(test_build_parse_agree),
	    cmocka_unit_test(test_extack),
	    cmocka_unit_test(test_open_reports_missing_module),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
