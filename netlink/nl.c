/*
 * netlink/nl.c - the request/reply loop shared by the generic netlink
 * (WireGuard) and rtnetlink halves of netlink/.
 *
 * What: one blocking libmnl socket per handle; a request is sent, then
 * replies are read and walked with mnl_cb_run2 until the kernel's ACK (for
 * NLM_F_ACK requests) or NLMSG_DONE (dumps).  Why a private layer: libmnl's
 * default NLMSG_ERROR handling throws away the extended ACK (the kernel's
 * human explanation, NLMSGERR_ATTR_MSG), and operators deserve that text,
 * so errors are parsed here and kept in the handle.  NETLINK_CAP_ACK is
 * set so error replies do not echo our (possibly 32 KiB) request back.
 *
 * Trade-offs: strictly one request in flight per socket (simple, and the
 * per-message round trip is cheap next to the kernel's work for a large
 * SET_DEVICE); the receive buffer is 128 KiB so a dump reply is never
 * truncated (the kernel sizes dump skbs up to 32 KiB, more with big
 * receive buffers, and libmnl reports truncation as ENOSPC).
 */
#include "netlink/nl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>

struct run_ctx {
	struct gnl_sock *s;
	mnl_cb_t cb;
	void *data;
	int err;	  /* negative errno reported by a callback */
	bool data_failed; /* the caller's callback failed (dump must be drained) */
};

void gnl_sock_seterr(struct gnl_sock *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
}

int gnl_sock_open(struct gnl_sock *s, int bus)
{
	int one = 1, ret;

	memset(s, 0, sizeof(*s));
	s->rxbuf = malloc(GNL_RXBUF_LEN);
	if (!s->rxbuf)
		return -ENOMEM;
	s->nl = mnl_socket_open(bus);
	if (!s->nl) {
		ret = -errno;
		gnl_sock_seterr(s, "cannot open netlink socket: %s", strerror(errno));
		goto out;
	}
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		gnl_sock_seterr(s, "cannot bind netlink socket: %s", strerror(errno));
		goto out;
	}
	/* both are best effort: old kernels lack them */
	mnl_socket_setsockopt(s->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(s->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	s->portid = mnl_socket_get_portid(s->nl);
	s->seq = (uint32_t)random();
	return 0;
out:
	gnl_sock_close(s);
	return ret;
}

void gnl_sock_close(struct gnl_sock *s)
{
	if (!s)
		return;
	if (s->nl)
		mnl_socket_close(s->nl);
	s->nl = NULL;
	free(s->rxbuf);
	s->rxbuf = NULL;
}

void gnl_extack_msg(const struct nlmsghdr *nlh, char *buf, size_t len)
{
	const struct nlmsgerr *e;
	const struct nlattr *attr;
	size_t off;

	if (len)
		buf[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (nlh->nlmsg_type == NLMSG_DONE) {
		off = sizeof(int);
	} else {
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
			return;
		e = mnl_nlmsg_get_payload(nlh);
		off = sizeof(*e);
		/* without NLM_F_CAPPED the whole request is echoed */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
		    e->msg.nlmsg_len > sizeof(struct nlmsghdr))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
	}
	if (mnl_nlmsg_get_payload_len(nlh) < off)
		return;
	mnl_attr_for_each(attr, nlh, off)
	{
		if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0) {
			snprintf(buf, len, "%s", mnl_attr_get_str(attr));
			/* the kernel's messages have no trailing newline, but be safe */
			size_t l = strlen(buf);
			while (l && buf[l - 1] == '\n')
				buf[--l] = '\0';
			return;
		}
	}
}

static void note_intr(struct run_ctx *c, const struct nlmsghdr *nlh)
{
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
		c->s->dump_intr = true;
}

static int cb_error(const struct nlmsghdr *nlh, void *data)
{
	struct run_ctx *c = data;
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	note_intr(c, nlh);
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
		c->err = -EBADMSG;
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	gnl_extack_msg(nlh, c->s->errmsg, sizeof(c->s->errmsg));
	c->err = e->error < 0 ? e->error : -e->error;
	errno = -c->err;
	return MNL_CB_ERROR;
}

static int cb_done(const struct nlmsghdr *nlh, void *data)
{
	struct run_ctx *c = data;
	int err = 0;

	note_intr(c, nlh);
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int))
		memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(int));
	if (err < 0) {
		gnl_extack_msg(nlh, c->s->errmsg, sizeof(c->s->errmsg));
		c->err = err;
		errno = -err;
		return MNL_CB_ERROR;
	}
	return MNL_CB_STOP;
}

static int cb_noop(const struct nlmsghdr *nlh, void *data)
{
	note_intr(data, nlh);
	return MNL_CB_OK;
}

static int cb_data(const struct nlmsghdr *nlh, void *data)
{
	struct run_ctx *c = data;
	int r;

	note_intr(c, nlh);
	if (!c->cb)
		return MNL_CB_OK;
	r = c->cb(nlh, c->data);
	if (r == MNL_CB_ERROR) {
		if (!c->err)
			c->err = errno ? -errno : -EBADMSG;
		c->data_failed = true;
	}
	return r;
}

static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
    [NLMSG_NOOP] = cb_noop,
    [NLMSG_ERROR] = cb_error,
    [NLMSG_DONE] = cb_done,
    [NLMSG_OVERRUN] = cb_noop,
};

/* does this batch of replies contain the end of request seq? */
static bool batch_has_end(const char *buf, size_t n, uint32_t seq)
{
	const struct nlmsghdr *m = (const struct nlmsghdr *)buf;
	int len = (int)n;

	for (; mnl_nlmsg_ok(m, len); m = mnl_nlmsg_next(m, &len))
		if (m->nlmsg_seq == seq &&
		    (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR))
			return true;
	return false;
}

/* A dump the kernel marked NLM_F_DUMP_INTR: libmnl stops at the marked
 * message with EINTR.  Read and discard the rest of the dump (the kernel
 * keeps it open otherwise) and report it through s->dump_intr. */
static int drain_dump(struct gnl_sock *s, uint32_t seq, size_t n)
{
	s->dump_intr = true;
	while (!batch_has_end(s->rxbuf, n, seq)) {
		ssize_t r = mnl_socket_recvfrom(s->nl, s->rxbuf, GNL_RXBUF_LEN);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		n = (size_t)r;
	}
	return 0;
}

int gnl_sock_request(struct gnl_sock *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	struct run_ctx c = {.s = s, .cb = cb, .data = data};
	int saved = 0; /* first error of a dump that is being drained */
	ssize_t n;
	int r;

	s->errmsg[0] = '\0';
	s->dump_intr = false;
	nlh->nlmsg_seq = ++s->seq;
	nlh->nlmsg_pid = 0;
	/* NLM_F_DUMP is ROOT|MATCH = 0x300, and NLM_F_REPLACE (0x100) shares a
	 * bit with ROOT: test for both bits, or a NEW+REPLACE gets no ACK */
	if ((nlh->nlmsg_flags & NLM_F_DUMP) != NLM_F_DUMP)
		nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(s->nl, s->rxbuf, GNL_RXBUF_LEN);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		errno = 0;
		r = mnl_cb_run2(s->rxbuf, (size_t)n, nlh->nlmsg_seq, s->portid, cb_data, &c,
				ctl_cbs, NLMSG_MIN_TYPE);
		if (r == MNL_CB_ERROR && !c.err && errno == EINTR &&
		    (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP) {
			r = drain_dump(s, nlh->nlmsg_seq, (size_t)n);
			return saved ? saved : r;
		}
		if (r == MNL_CB_ERROR) {
			int err = c.err ? c.err : (errno ? -errno : -EPROTO);
			if (c.data_failed && (nlh->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP &&
			    !saved) {
				/* read the dump to its end, or the kernel keeps it
				 * open and the next dump on this socket gets EBUSY */
				saved = err;
				c.cb = NULL;
				c.err = 0;
				c.data_failed = false;
				continue;
			}
			return saved ? saved : err;
		}
		if (r == MNL_CB_STOP)
			return saved;
	}
}
