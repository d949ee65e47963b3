/*
 * netlink/wg.c - the kernel WireGuard backend: a generic netlink socket
 * bound to the `wireguard` family, device read-back and op-list apply.
 *
 * What: gnl_wg_open resolves the family by name (CTRL_CMD_GETFAMILY; the
 * kernel autoloads the module on that lookup when it can), gnl_wg_get_device
 * dumps one device, gnl_wg_apply sends an op list (netlink/wgmsg.c builds
 * the messages), gnl_wg_sync = get + diff + apply.
 *
 * Why this shape: the daemon reconciles continuously, so the hot path is
 * "read the device, compare, send the few peers that changed".  A dump of
 * 10 000 peers is ~30 replies of 32 KiB; apply sends one message per
 * `limit` bytes and waits for its ACK before the next, so a failure is
 * reported for the message that caused it and nothing after it is sent.
 * A dump the kernel marks NLM_F_DUMP_INTR (the device changed while it was
 * being dumped) is thrown away and repeated, up to GET_RETRIES times.
 *
 * Allowed-IP removal support is detected once per handle with a harmless
 * probe on a peer that is being updated anyway: an UPDATE_ONLY request that
 * removes an address nobody uses (in 100::/64, the IPv6 discard prefix)
 * with WGALLOWEDIP_F_REMOVE_ME.  Kernels that know the flag accept it,
 * older ones fail strict attribute parsing with -EINVAL.  If a real apply
 * still fails with -EINVAL while using the flag, the handle falls back and
 * the whole op list is re-sent once (every op is idempotent).
 *
 * Errors: negative errno, plus a sentence in gnl_wg_errmsg(h) - the
 * kernel's extended ACK when it sent one, otherwise our own explanation
 * (module missing, permission, not a WireGuard device).
 */
#include "netlink/wg.h"

#include <errno.h>
#include <linux/genetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netlink/nl.h"
#include "netlink/wgmsg.h"

#define GET_RETRIES 16

struct gnl_wg {
	struct gnl_sock s;
	uint16_t family;
	size_t limit;
	int aip_remove; /* -1 unknown, 0 no, 1 yes */
	bool force_replace;
	unsigned long dump_retries;
};

static __thread char open_errmsg[GNL_ERRMSG_LEN];

const char *gnl_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -ENOENT:
		return "WireGuard kernel module missing (no 'wireguard' generic netlink family)";
	case -EPERM:
	case -EACCES:
		return "permission denied (needs CAP_NET_ADMIN)";
	case -ENODEV:
		return "no such interface";
	case -EOPNOTSUPP:
		return "not a WireGuard interface, or not supported by this kernel";
	case -EEXIST:
		return "an interface of that name exists and is not WireGuard";
	case -EMSGSIZE:
		return "message size limit too small";
	case -EBADMSG:
		return "malformed netlink message from the kernel";
	case -EAGAIN:
		return "device kept changing during the dump; try again";
	default:
		return strerror(err < 0 ? -err : err);
	}
}

const char *gnl_wg_errmsg(const struct gnl_wg *h)
{
	return h ? h->s.errmsg : open_errmsg;
}

static void explain(struct gnl_wg *h, int err, const char *ifname)
{
	if (h->s.errmsg[0])
		return; /* the kernel said something: keep it */
	switch (err) {
	case -EPERM:
	case -EACCES:
		gnl_sock_seterr(&h->s,
				"permission denied: configuring WireGuard needs CAP_NET_ADMIN");
		break;
	case -ENODEV:
		gnl_sock_seterr(&h->s, "no interface named '%s'", ifname ? ifname : "");
		break;
	case -EOPNOTSUPP:
		gnl_sock_seterr(&h->s, "'%s' is not a WireGuard interface", ifname ? ifname : "");
		break;
	default:
		gnl_sock_seterr(&h->s, "%s", gnl_strerror(err));
	}
}

/* ------------------------------------------------------------ open */

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	uint16_t *id = data;
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
	{
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
		    mnl_attr_validate(a, MNL_TYPE_U16) == 0)
			*id = mnl_attr_get_u16(a);
	}
	return MNL_CB_OK;
}

int gnl_wg_open(struct gnl_wg **out)
{
	char buf[256] = {0};
	struct gnl_wg *h;
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	int ret;

	*out = NULL;
	open_errmsg[0] = '\0';
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->limit = GNL_WG_MSG_DEFAULT;
	h->aip_remove = -1;
	ret = gnl_sock_open(&h->s, NETLINK_GENERIC);
	if (ret) {
		snprintf(open_errmsg, sizeof(open_errmsg), "%s", h->s.errmsg);
		free(h);
		return ret;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = GENL_ID_CTRL;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = CTRL_CMD_GETFAMILY;
	g->version = 1;
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	ret = gnl_sock_request(&h->s, nlh, family_cb, &h->family);
	if (ret == 0 && h->family == 0)
		ret = -EBADMSG;
	if (ret == -ENOENT)
		snprintf(open_errmsg, sizeof(open_errmsg),
			 "the kernel has no WireGuard: generic netlink family '%s' not found "
			 "(WireGuard kernel module missing; try 'modprobe wireguard', or use the "
			 "userspace backend)",
			 WG_GENL_NAME);
	else if (ret == -EPERM || ret == -EACCES)
		snprintf(open_errmsg, sizeof(open_errmsg),
			 "permission denied resolving the WireGuard netlink family (needs "
			 "CAP_NET_ADMIN)");
	else if (ret)
		snprintf(open_errmsg, sizeof(open_errmsg),
			 "resolving the WireGuard netlink family: %s%s%.180s", strerror(-ret),
			 h->s.errmsg[0] ? ": " : "", h->s.errmsg);
	if (ret) {
		gnl_wg_close(h);
		return ret;
	}
	*out = h;
	return 0;
}

void gnl_wg_close(struct gnl_wg *h)
{
	if (!h)
		return;
	gnl_sock_close(&h->s);
	free(h);
}

void gnl_wg_set_msg_limit(struct gnl_wg *h, size_t bytes)
{
	if (bytes < GNL_WG_MSG_MIN)
		bytes = GNL_WG_MSG_MIN;
	if (bytes > GNL_WG_MSG_MAX)
		bytes = GNL_WG_MSG_MAX;
	h->limit = bytes;
}

int gnl_wg_aip_remove_supported(const struct gnl_wg *h)
{
	return h->force_replace ? 0 : h->aip_remove;
}

unsigned long gnl_wg_dump_retries(const struct gnl_wg *h)
{
	return h->dump_retries;
}

void gnl_wg_force_aip_replace(struct gnl_wg *h, bool on)
{
	h->force_replace = on;
}

/* ------------------------------------------------------------- get */

struct dump_ctx {
	struct gnl_wg_device *dev;
	int err;
};

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	int r = gnl_wgmsg_parse_dump(nlh, c->dev);

	if (r < 0) {
		c->err = r;
		errno = -r;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

int gnl_wg_get_device(struct gnl_wg *h, const char *ifname, struct gnl_wg_device **out)
{
	char buf[128] = {0};
	struct gnl_wg_device *dev = NULL;
	int ret = -EAGAIN;

	*out = NULL;
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	for (int attempt = 0; attempt < GET_RETRIES; attempt++) {
		struct dump_ctx c = {0};
		ret = gnl_wg_device_new(ifname, &dev);
		if (ret)
			return ret;
		c.dev = dev;
		ret = gnl_sock_request(&h->s, gnl_wgmsg_build_get(buf, h->family, ifname), dump_cb,
				       &c);
		if (ret == 0 && !h->s.dump_intr) {
			*out = dev;
			return 0;
		}
		gnl_wg_device_free(dev);
		dev = NULL;
		if (ret)
			break;
		ret = -EAGAIN; /* interrupted: the device changed under the dump */
		h->dump_retries++;
	}
	explain(h, ret, ifname);
	return ret;
}

/* ----------------------------------------------------------- apply */

struct send_ctx {
	struct gnl_wg *h;
};

static int emit_send(void *ctx, struct nlmsghdr *nlh)
{
	struct send_ctx *c = ctx;

	return gnl_sock_request(&c->h->s, nlh, NULL, NULL);
}

static const struct gnl_wg_peer_op *first_removal(const struct gnl_wg_ops *ops)
{
	for (size_t i = 0; i < ops->n_ops; i++)
		if (ops->ops[i].kind == GNL_WG_OP_UPDATE &&
		    (ops->ops[i].changed & GNL_WG_CH_ALLOWEDIPS) && ops->ops[i].n_aip_del)
			return &ops->ops[i];
	return NULL;
}

static int probe_aip_remove(struct gnl_wg *h, const char *ifname, const uint8_t pub[GNL_WG_KEY_LEN],
			    struct gnl_wg_apply_stats *st)
{
	char buf[512] = {0};
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;
	struct nlattr *peers, *peer, *aips, *aip;
	/* 100::/64 is the IPv6 discard-only prefix: never a real allowed IP */
	uint8_t addr[16] = {0x01, 0x00, 0,    0,    0,	  0,	0,    0,
			    0x67, 0x6e, 0x6c, 0x2d, 0x70, 0x72, 0x62, 0x65};
	int ret;

	nlh->nlmsg_type = h->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_SET_DEVICE;
	g->version = WG_GENL_VERSION;
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, GNL_WG_KEY_LEN, pub);
	mnl_attr_put_u32(nlh, WGPEER_A_FLAGS, WGPEER_F_UPDATE_ONLY);
	aips = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	aip = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET6);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, sizeof(addr), addr);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, 128);
	mnl_attr_put_u32(nlh, WGALLOWEDIP_A_FLAGS, WGALLOWEDIP_F_REMOVE_ME);
	mnl_attr_nest_end(nlh, aip);
	mnl_attr_nest_end(nlh, aips);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	st->messages++; /* what was sent is counted, probes included */
	st->bytes += nlh->nlmsg_len;
	ret = gnl_sock_request(&h->s, nlh, NULL, NULL);
	if (ret == 0)
		h->aip_remove = 1;
	else if (ret == -EINVAL)
		h->aip_remove = 0;
	else
		return ret;
	h->s.errmsg[0] = '\0';
	return 0;
}

int gnl_wg_apply(struct gnl_wg *h, const char *ifname, const struct gnl_wg_ops *ops,
		 struct gnl_wg_apply_stats *stats)
{
	struct gnl_wg_apply_stats local;
	struct gnl_wgmsg_cfg cfg = {.family_id = h->family, .ifname = ifname, .limit = h->limit};
	struct send_ctx c = {.h = h};
	const struct gnl_wg_peer_op *rm;
	int ret;

	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof(*stats));
	h->s.errmsg[0] = '\0';
	if (!ifname || !*ifname || strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	if (gnl_wg_ops_empty(ops))
		return 0;
	rm = first_removal(ops);
	if (rm && !h->force_replace && h->aip_remove < 0) {
		ret = probe_aip_remove(h, ifname, rm->public_key, stats);
		if (ret)
			goto out;
	}
	cfg.aip_remove = !h->force_replace && h->aip_remove == 1;
	ret = gnl_wgmsg_build_set(&cfg, ops, emit_send, &c, stats);
	if (ret == -EINVAL && cfg.aip_remove && rm) {
		/* misdetected: fall back and replay (idempotent) */
		h->aip_remove = 0;
		cfg.aip_remove = false;
		ret = gnl_wgmsg_build_set(&cfg, ops, emit_send, &c, stats);
	}
out:
	if (ret)
		explain(h, ret, ifname);
	return ret;
}

int gnl_wg_set_device(struct gnl_wg *h, const struct gnl_wg_device *dev,
		      struct gnl_wg_apply_stats *stats)
{
	struct gnl_wg_ops *ops = NULL;
	int ret;

	ret = gnl_wg_diff(dev, NULL, &ops);
	if (ret)
		return ret;
	ops->replace_peers = true;
	ret = gnl_wg_apply(h, dev->ifname, ops, stats);
	gnl_wg_ops_free(ops);
	return ret;
}

int gnl_wg_sync(struct gnl_wg *h, const struct gnl_wg_device *dev, struct gnl_wg_apply_stats *stats)
{
	struct gnl_wg_device *cur = NULL;
	struct gnl_wg_ops *ops = NULL;
	int ret;

	if (stats)
		memset(stats, 0, sizeof(*stats));
	ret = gnl_wg_get_device(h, dev->ifname, &cur);
	if (ret)
		goto out;
	ret = gnl_wg_diff(dev, cur, &ops);
	if (ret)
		goto out;
	ret = gnl_wg_apply(h, dev->ifname, ops, stats);
out:
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(cur);
	return ret;
}
