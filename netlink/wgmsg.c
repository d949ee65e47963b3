/*
 * netlink/wgmsg.c - building and parsing WireGuard generic netlink
 * messages, with no sockets involved.
 *
 * What: gnl_wgmsg_build_set turns an op list (wg.h) into a sequence of
 * WG_CMD_SET_DEVICE messages; gnl_wgmsg_parse_dump folds WG_CMD_GET_DEVICE
 * dump replies into a struct gnl_wg_device.
 *
 * Splitting.  The kernel reads one request per netlink message, and a
 * message must fit the socket's send buffer, so a 10 000-peer update is
 * cut into messages of at most `limit` bytes (32 KiB by default: big enough
 * that a bulk apply costs a few dozen round trips, small enough that the
 * kernel never holds the device lock for long per message).  A peer that
 * does not fit beside the peers already in a message moves whole to the
 * next one; only a peer too big for an empty message is cut: it is closed
 * and re-opened in the next message carrying only its public key,
 * WGPEER_F_UPDATE_ONLY and the remaining prefixes - the same framing
 * the kernel uses for dumps.  WGPEER_F_REPLACE_ALLOWEDIPS (and the
 * device's REPLACE_PEERS) appear only in the first chunk, otherwise the
 * second chunk would wipe the first.
 *
 * Allowed-IP removal.  Kernels with WGALLOWEDIP_F_REMOVE_ME remove single
 * prefixes; older ones (Debian 12's 6.1) reject the unknown attribute, so
 * for them an UPDATE that removes prefixes replaces the peer's whole set
 * (only that peer; additions alone stay incremental on every kernel).
 *
 * Parsing walks attributes with libmnl and validates every length before
 * reading; a dump reply that starts with the peer the previous reply ended
 * with continues it (the kernel splits large allowed-IP lists that way).
 */
#include "netlink/wgmsg.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <stdlib.h>
#include <string.h>

struct bld {
	const struct gnl_wgmsg_cfg *cfg;
	const struct gnl_wg_ops *ops;
	size_t lim;
	char *buf;
	struct nlmsghdr *nlh; /* NULL: no message open */
	struct nlattr *peers; /* WGDEVICE_A_PEERS nest of the open message */
	bool first;	      /* next message opened is the first */
	size_t msg_peers, msg_aips;
	gnl_wgmsg_emit_fn emit;
	void *ctx;
	struct gnl_wg_apply_stats *st;
};

static int msg_open(struct bld *b)
{
	struct genlmsghdr *g;
	struct nlmsghdr *nlh;
	size_t lim = b->lim;

	nlh = mnl_nlmsg_put_header(b->buf);
	nlh->nlmsg_type = b->cfg->family_id;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_SET_DEVICE;
	g->version = WG_GENL_VERSION;
	if (!mnl_attr_put_strz_check(nlh, lim, WGDEVICE_A_IFNAME, b->cfg->ifname))
		return -EMSGSIZE;
	if (b->first) {
		const struct gnl_wg_ops *o = b->ops;
		bool ok = true;
		if (o->replace_peers)
			ok = ok && mnl_attr_put_u32_check(nlh, lim, WGDEVICE_A_FLAGS,
							  WGDEVICE_F_REPLACE_PEERS);
		if (o->dev_changed & GNL_WG_DEV_PRIVATE_KEY)
			ok = ok && mnl_attr_put_check(nlh, lim, WGDEVICE_A_PRIVATE_KEY,
						      GNL_WG_KEY_LEN, o->private_key);
		if (o->dev_changed & GNL_WG_DEV_LISTEN_PORT)
			ok = ok && mnl_attr_put_u16_check(nlh, lim, WGDEVICE_A_LISTEN_PORT,
							  o->listen_port);
		if (o->dev_changed & GNL_WG_DEV_FWMARK)
			ok = ok && mnl_attr_put_u32_check(nlh, lim, WGDEVICE_A_FWMARK, o->fwmark);
		if (!ok)
			return -EMSGSIZE;
	}
	b->peers = mnl_attr_nest_start_check(nlh, lim, WGDEVICE_A_PEERS);
	if (!b->peers)
		return -EMSGSIZE;
	b->nlh = nlh;
	b->msg_peers = b->msg_aips = 0;
	return 0;
}

static int msg_flush(struct bld *b)
{
	int ret;

	if (!b->nlh)
		return 0;
	if (b->msg_peers)
		mnl_attr_nest_end(b->nlh, b->peers);
	else
		mnl_attr_nest_cancel(b->nlh, b->peers);
	ret = b->emit(b->ctx, b->nlh);
	if (b->st) {
		b->st->messages++;
		b->st->bytes += b->nlh->nlmsg_len;
		b->st->peers += b->msg_peers;
		b->st->allowedips += b->msg_aips;
	}
	b->nlh = NULL;
	b->first = false;
	return ret;
}

static bool put_endpoint(struct nlmsghdr *nlh, size_t lim, const union gnl_sockaddr *ep)
{
	if (ep->sa.sa_family == AF_INET)
		return mnl_attr_put_check(nlh, lim, WGPEER_A_ENDPOINT, sizeof(ep->in), &ep->in);
	if (ep->sa.sa_family == AF_INET6)
		return mnl_attr_put_check(nlh, lim, WGPEER_A_ENDPOINT, sizeof(ep->in6), &ep->in6);
	return true; /* nothing to say */
}

/* the peer attributes before the allowed IPs */
static bool put_peer_head(struct bld *b, const struct gnl_wg_peer_op *op, bool cont, uint32_t flags)
{
	struct nlmsghdr *nlh = b->nlh;
	size_t lim = b->lim;

	if (!mnl_attr_put_check(nlh, lim, WGPEER_A_PUBLIC_KEY, GNL_WG_KEY_LEN, op->public_key))
		return false;
	if (cont)
		return mnl_attr_put_u32_check(nlh, lim, WGPEER_A_FLAGS, WGPEER_F_UPDATE_ONLY);
	if (flags && !mnl_attr_put_u32_check(nlh, lim, WGPEER_A_FLAGS, flags))
		return false;
	if (op->kind == GNL_WG_OP_REMOVE)
		return true;
	if ((op->changed & GNL_WG_CH_PRESHARED_KEY) &&
	    !mnl_attr_put_check(nlh, lim, WGPEER_A_PRESHARED_KEY, GNL_WG_KEY_LEN,
				op->preshared_key))
		return false;
	if ((op->changed & GNL_WG_CH_ENDPOINT) && !put_endpoint(nlh, lim, &op->endpoint))
		return false;
	if ((op->changed & GNL_WG_CH_KEEPALIVE) &&
	    !mnl_attr_put_u16_check(nlh, lim, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
				    op->persistent_keepalive))
		return false;
	return true;
}

static bool put_aip(struct nlmsghdr *nlh, size_t lim, const struct gnl_prefix *p, bool remove)
{
	struct nlattr *n = mnl_attr_nest_start_check(nlh, lim, 0);

	if (!n)
		return false;
	if (!mnl_attr_put_u16_check(nlh, lim, WGALLOWEDIP_A_FAMILY, p->family) ||
	    !mnl_attr_put_check(nlh, lim, WGALLOWEDIP_A_IPADDR, p->family == AF_INET ? 4 : 16,
				p->addr.b) ||
	    !mnl_attr_put_u8_check(nlh, lim, WGALLOWEDIP_A_CIDR_MASK, p->cidr) ||
	    (remove &&
	     !mnl_attr_put_u32_check(nlh, lim, WGALLOWEDIP_A_FLAGS, WGALLOWEDIP_F_REMOVE_ME))) {
		mnl_attr_nest_cancel(nlh, n);
		return false;
	}
	mnl_attr_nest_end(nlh, n);
	return true;
}

static int put_op(struct bld *b, const struct gnl_wg_peer_op *op)
{
	const struct gnl_prefix *l1 = NULL, *l2 = NULL;
	size_t n1 = 0, n2 = 0, next = 0, total;
	bool l1_remove = false, head_sent = false;
	uint32_t flags = 0;
	int ret;

	switch (op->kind) {
	case GNL_WG_OP_REMOVE:
		flags = WGPEER_F_REMOVE_ME;
		break;
	case GNL_WG_OP_ADD:
		/* exact even if the peer exists after all */
		flags = WGPEER_F_REPLACE_ALLOWEDIPS;
		if (op->changed & GNL_WG_CH_ALLOWEDIPS) {
			l2 = op->aip_add;
			n2 = op->n_aip_add;
		}
		break;
	case GNL_WG_OP_UPDATE:
		flags = WGPEER_F_UPDATE_ONLY;
		if (!(op->changed & GNL_WG_CH_ALLOWEDIPS))
			break;
		if (op->n_aip_del == 0) { /* additions only: incremental everywhere */
			l2 = op->aip_add;
			n2 = op->n_aip_add;
		} else if (b->cfg->aip_remove) {
			l1 = op->aip_del;
			n1 = op->n_aip_del;
			l1_remove = true;
			l2 = op->aip_add;
			n2 = op->n_aip_add;
		} else {
			flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
			l2 = op->aip_all;
			n2 = op->n_aip_all;
			if (b->st)
				b->st->aip_replace_fallback = true;
		}
		break;
	default:
		return -EINVAL;
	}
	total = n1 + n2;

	for (;;) {
		struct nlattr *pn, *an = NULL;
		size_t chunk = 0;

		if (!b->nlh && (ret = msg_open(b)) < 0)
			return ret;
		pn = mnl_attr_nest_start_check(b->nlh, b->lim, 0);
		if (!pn || !put_peer_head(b, op, head_sent, flags) ||
		    (next < total &&
		     !(an = mnl_attr_nest_start_check(b->nlh, b->lim, WGPEER_A_ALLOWEDIPS)))) {
			if (pn)
				mnl_attr_nest_cancel(b->nlh, pn);
			if (b->msg_peers == 0)
				return -EMSGSIZE; /* an empty message cannot hold it */
			if ((ret = msg_flush(b)) < 0)
				return ret;
			continue;
		}
		while (next < total) {
			bool rm = next < n1 && l1_remove;
			const struct gnl_prefix *p = next < n1 ? &l1[next] : &l2[next - n1];
			if (!put_aip(b->nlh, b->lim, p, rm))
				break;
			next++;
			chunk++;
		}
		if (next < total && !head_sent && b->msg_peers) {
			/* does not fit beside the peers already here: start it
			 * in a fresh message rather than cutting it */
			mnl_attr_nest_cancel(b->nlh, pn);
			next -= chunk;
			if ((ret = msg_flush(b)) < 0)
				return ret;
			continue;
		}
		if (an) {
			if (chunk == 0) {
				/* not even one prefix fit beside the head */
				mnl_attr_nest_cancel(b->nlh, pn);
				if (b->msg_peers == 0)
					return -EMSGSIZE;
				if ((ret = msg_flush(b)) < 0)
					return ret;
				continue;
			}
			mnl_attr_nest_end(b->nlh, an);
		}
		mnl_attr_nest_end(b->nlh, pn);
		b->msg_peers++;
		b->msg_aips += chunk;
		head_sent = true;
		if (next >= total)
			return 0;
		if ((ret = msg_flush(b)) < 0)
			return ret;
	}
}

int gnl_wgmsg_build_set(const struct gnl_wgmsg_cfg *cfg, const struct gnl_wg_ops *ops,
			gnl_wgmsg_emit_fn emit, void *ctx, struct gnl_wg_apply_stats *stats)
{
	struct bld b = {
	    .cfg = cfg,
	    .ops = ops,
	    .first = true,
	    .emit = emit,
	    .ctx = ctx,
	    .st = stats,
	};
	int ret = 0;

	if (gnl_wg_ops_empty(ops))
		return 0;
	if (!cfg->ifname || strlen(cfg->ifname) >= IFNAMSIZ)
		return -EINVAL;
	b.lim = cfg->limit;
	if (b.lim < GNL_WG_MSG_MIN)
		b.lim = GNL_WG_MSG_MIN;
	if (b.lim > GNL_WG_MSG_MAX)
		b.lim = GNL_WG_MSG_MAX;
	b.buf = calloc(1, b.lim);
	if (!b.buf)
		return -ENOMEM;
	/* the device part always goes out, even with no peer ops */
	ret = msg_open(&b);
	for (size_t i = 0; ret == 0 && i < ops->n_ops; i++)
		ret = put_op(&b, &ops->ops[i]);
	if (ret == 0)
		ret = msg_flush(&b);
	explicit_bzero(b.buf, b.lim); /* private and preshared keys */
	free(b.buf);
	return ret;
}

struct nlmsghdr *gnl_wgmsg_build_get(void *buf, uint16_t family_id, const char *ifname)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = family_id;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = WG_CMD_GET_DEVICE;
	g->version = WG_GENL_VERSION;
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	return nlh;
}

/* ---------------------------------------------------------------- parse */

static int parse_aip(const struct nlattr *nest, struct gnl_prefix *out)
{
	const struct nlattr *a;
	bool fam = false, addr = false, cidr = false;
	const void *ip = NULL;
	uint16_t iplen = 0;

	memset(out, 0, sizeof(*out));
	mnl_attr_for_each_nested(a, nest)
	{
		switch (mnl_attr_get_type(a)) {
		case WGALLOWEDIP_A_FAMILY:
			if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
				return -EBADMSG;
			out->family = mnl_attr_get_u16(a);
			fam = true;
			break;
		case WGALLOWEDIP_A_IPADDR:
			iplen = mnl_attr_get_payload_len(a);
			ip = mnl_attr_get_payload(a);
			addr = true;
			break;
		case WGALLOWEDIP_A_CIDR_MASK:
			if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
				return -EBADMSG;
			out->cidr = mnl_attr_get_u8(a);
			cidr = true;
			break;
		}
	}
	if (!fam || !addr || !cidr)
		return -EBADMSG;
	if ((out->family == AF_INET && (iplen != 4 || out->cidr > 32)) ||
	    (out->family == AF_INET6 && (iplen != 16 || out->cidr > 128)) ||
	    (out->family != AF_INET && out->family != AF_INET6))
		return -EBADMSG;
	memcpy(out->addr.b, ip, iplen);
	return 0;
}

static int parse_peer(const struct nlattr *nest, struct gnl_wg_device *dev, bool first_in_msg)
{
	const struct nlattr *a, *pub = NULL;
	struct gnl_wg_peer *p;
	int ret;

	mnl_attr_for_each_nested(a, nest)
	{
		if (mnl_attr_get_type(a) == WGPEER_A_PUBLIC_KEY) {
			if (mnl_attr_get_payload_len(a) != GNL_WG_KEY_LEN)
				return -EBADMSG;
			pub = a;
		}
	}
	if (!pub)
		return -EBADMSG;
	if (first_in_msg && dev->n_peers &&
	    !memcmp(dev->peers[dev->n_peers - 1].public_key, mnl_attr_get_payload(pub),
		    GNL_WG_KEY_LEN)) {
		p = &dev->peers[dev->n_peers - 1]; /* continuation of a split peer */
	} else {
		ret = gnl_wg_device_add_peer(dev, mnl_attr_get_payload(pub), &p);
		if (ret)
			return ret;
	}
	mnl_attr_for_each_nested(a, nest)
	{
		uint16_t len = mnl_attr_get_payload_len(a);
		const void *v = mnl_attr_get_payload(a);
		switch (mnl_attr_get_type(a)) {
		case WGPEER_A_PRESHARED_KEY:
			if (len != GNL_WG_KEY_LEN)
				return -EBADMSG;
			memcpy(p->preshared_key, v, GNL_WG_KEY_LEN);
			p->has_preshared_key = false;
			for (size_t i = 0; i < GNL_WG_KEY_LEN; i++)
				if (p->preshared_key[i])
					p->has_preshared_key = true;
			break;
		case WGPEER_A_ENDPOINT:
			memset(&p->endpoint, 0, sizeof(p->endpoint));
			if (len == sizeof(struct sockaddr_in)) {
				memcpy(&p->endpoint.in, v, len);
				if (p->endpoint.sa.sa_family != AF_INET)
					return -EBADMSG;
			} else if (len == sizeof(struct sockaddr_in6)) {
				memcpy(&p->endpoint.in6, v, len);
				if (p->endpoint.sa.sa_family != AF_INET6)
					return -EBADMSG;
			} else {
				return -EBADMSG;
			}
			break;
		case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
			if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
				return -EBADMSG;
			p->persistent_keepalive = mnl_attr_get_u16(a);
			break;
		case WGPEER_A_LAST_HANDSHAKE_TIME: {
			int64_t ts[2]; /* struct __kernel_timespec */
			if (len != sizeof(ts))
				return -EBADMSG;
			memcpy(ts, v, sizeof(ts));
			p->last_handshake.tv_sec = (time_t)ts[0];
			p->last_handshake.tv_nsec = (long)ts[1];
			break;
		}
		case WGPEER_A_RX_BYTES:
			if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
				return -EBADMSG;
			p->rx_bytes = mnl_attr_get_u64(a);
			break;
		case WGPEER_A_TX_BYTES:
			if (mnl_attr_validate(a, MNL_TYPE_U64) < 0)
				return -EBADMSG;
			p->tx_bytes = mnl_attr_get_u64(a);
			break;
		case WGPEER_A_PROTOCOL_VERSION:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -EBADMSG;
			p->protocol_version = mnl_attr_get_u32(a);
			break;
		case WGPEER_A_ALLOWEDIPS: {
			const struct nlattr *e;
			mnl_attr_for_each_nested(e, a)
			{
				struct gnl_prefix pfx;
				if ((ret = parse_aip(e, &pfx)) < 0)
					return ret;
				if ((ret = gnl_wg_peer_add_allowedip(p, &pfx)) < 0)
					return ret;
			}
			break;
		}
		}
	}
	return 0;
}

int gnl_wgmsg_parse_dump(const struct nlmsghdr *nlh, struct gnl_wg_device *dev)
{
	const struct nlattr *a;
	bool first = true;
	int ret;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct genlmsghdr))
		return -EBADMSG;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr))
	{
		uint16_t len = mnl_attr_get_payload_len(a);
		switch (mnl_attr_get_type(a)) {
		case WGDEVICE_A_IFINDEX:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -EBADMSG;
			dev->ifindex = mnl_attr_get_u32(a);
			break;
		case WGDEVICE_A_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0 || len > IFNAMSIZ)
				return -EBADMSG;
			memcpy(dev->ifname, mnl_attr_get_str(a), len);
			break;
		case WGDEVICE_A_PRIVATE_KEY:
			if (len != GNL_WG_KEY_LEN)
				return -EBADMSG;
			memcpy(dev->private_key, mnl_attr_get_payload(a), GNL_WG_KEY_LEN);
			dev->flags |= GNL_WG_DEV_PRIVATE_KEY;
			break;
		case WGDEVICE_A_PUBLIC_KEY:
			if (len != GNL_WG_KEY_LEN)
				return -EBADMSG;
			memcpy(dev->public_key, mnl_attr_get_payload(a), GNL_WG_KEY_LEN);
			dev->has_public_key = true;
			break;
		case WGDEVICE_A_LISTEN_PORT:
			if (mnl_attr_validate(a, MNL_TYPE_U16) < 0)
				return -EBADMSG;
			dev->listen_port = mnl_attr_get_u16(a);
			dev->flags |= GNL_WG_DEV_LISTEN_PORT;
			break;
		case WGDEVICE_A_FWMARK:
			if (mnl_attr_validate(a, MNL_TYPE_U32) < 0)
				return -EBADMSG;
			dev->fwmark = mnl_attr_get_u32(a);
			dev->flags |= GNL_WG_DEV_FWMARK;
			break;
		case WGDEVICE_A_PEERS: {
			const struct nlattr *pa;
			mnl_attr_for_each_nested(pa, a)
			{
				if ((ret = parse_peer(pa, dev, first)) < 0)
					return ret;
				first = false;
			}
			break;
		}
		}
	}
	return 0;
}
