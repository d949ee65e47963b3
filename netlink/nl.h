/*
 * netlink/nl.h - internal: a libmnl socket with request/ack and dump
 * helpers that keep the kernel's extended ACK text.  Not installed, not
 * part of the public API (tests may use it).
 */
#ifndef GOSSAMER_NETLINK_NL_H
#define GOSSAMER_NETLINK_NL_H

#include <libmnl/libmnl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GNL_ERRMSG_LEN 256
#define GNL_RXBUF_LEN  (128 * 1024)

struct gnl_sock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char *rxbuf;
	char errmsg[GNL_ERRMSG_LEN];
	bool dump_intr; /* set when a dump reply carried NLM_F_DUMP_INTR */
};

int gnl_sock_open(struct gnl_sock *s, int bus);
void gnl_sock_close(struct gnl_sock *s);

/* Send nlh (seq/portid filled here; NLM_F_ACK added unless a dump) and run
 * cb on every reply until the ACK / NLMSG_DONE.  A dump the kernel marks
 * NLM_F_DUMP_INTR is read to its end and returns 0 with s->dump_intr set
 * (the caller discards what cb collected and asks again).  On a kernel error the
 * extended ACK text (if any) is stored in s->errmsg, else errmsg is
 * cleared.  Returns 0 or a negative errno. */
int gnl_sock_request(struct gnl_sock *s, struct nlmsghdr *nlh, mnl_cb_t cb, void *data);

/* printf into s->errmsg */
void gnl_sock_seterr(struct gnl_sock *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Extract the NLMSGERR_ATTR_MSG text of an NLMSG_ERROR/NLMSG_DONE message
 * into buf ("" when none).  Exposed for unit tests. */
void gnl_extack_msg(const struct nlmsghdr *nlh, char *buf, size_t len);

#endif
