/*
 * tests/attack/net.c - the attacker's sockets: send, listen for a window,
 * and count every datagram and byte in both directions (and at the third
 * address of an amplification through ping-req).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/attack/attack.h"

int atk_socket_for(const struct gsm_addr *to, const struct gsm_addr *bind_to)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fam = (bind_to ? bind_to->family : to->family) == 6 ? AF_INET6 : AF_INET;
	int fd = socket(fam, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int big = 4 << 20;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	if (bind_to) {
		if (gsm_addr_to_sockaddr(bind_to, &ss, &sl) < 0 ||
		    bind(fd, (struct sockaddr *)&ss, sl) < 0) {
			int e = -errno;
			close(fd);
			return e ? e : -EINVAL;
		}
	}
	return fd;
}

int atk_send_raw(struct atk *a, const struct gsm_addr *to, const uint8_t *dgram, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	if (gsm_addr_to_sockaddr(to, &ss, &sl) < 0)
		return -EINVAL;
	if (sendto(a->fd, dgram, len, 0, (struct sockaddr *)&ss, sl) < 0)
		return -errno;
	a->c.sent_dgrams++;
	a->c.sent_bytes += len;
	return 0;
}

int atk_send_msg(struct atk *a, const struct gsm_addr *to, const struct gsm_msg *m)
{
	size_t blen = 0, dlen = 0;
	int r = gsm_msg_encode(m, a->body, sizeof(a->body), &blen);

	if (r < 0)
		return r;
	r = atk_seal(a->kr, a->body, blen, a->buf, sizeof(a->buf), &dlen);
	if (r < 0)
		return r;
	return atk_send_raw(a, to, a->buf, dlen);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* one datagram waiting on fd: count it (third: at the third address) */
static void take_one(struct atk *a, int fd, int third, atk_msg_fn fn, void *ctx)
{
	static uint8_t in[ATK_BUF_CAP];
	size_t blen = 0;
	ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);

	if (n < 0)
		return;
	if (third) {
		a->c.third_dgrams++;
		a->c.third_bytes += (uint64_t)n;
		return;
	}
	a->c.recv_dgrams++;
	a->c.recv_bytes += (uint64_t)n;
	if (!fn || !a->kr)
		return;
	if (atk_open(a->kr, in, (size_t)n, a->body, sizeof(a->body), &blen) < 0)
		return;
	if (gsm_msg_decode(a->body, blen, a->rx) == 0)
		fn(ctx, a->rx);
}

void atk_listen(struct atk *a, unsigned window_ms, atk_msg_fn fn, void *ctx)
{
	uint64_t end = mono_ms() + window_ms;

	for (;;) {
		struct pollfd p[2] = {{.fd = a->fd, .events = POLLIN},
				      {.fd = a->third_fd, .events = POLLIN}};
		uint64_t now = mono_ms();
		int n;

		if (now >= end)
			break;
		n = poll(p, a->third_fd >= 0 ? 2 : 1, (int)(end - now));
		if (n <= 0)
			continue;
		if (p[0].revents & POLLIN)
			take_one(a, a->fd, 0, fn, ctx);
		if (a->third_fd >= 0 && (p[1].revents & POLLIN))
			take_one(a, a->third_fd, 1, NULL, NULL);
	}
}

void atk_pause(const struct atk *a)
{
	if (a->o.gap_us)
		usleep(a->o.gap_us);
}

void atk_extra(struct atk *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->extra_len >= sizeof(a->extra))
		return;
	va_start(ap, fmt);
	n = vsnprintf(a->extra + a->extra_len, sizeof(a->extra) - a->extra_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		a->extra_len += (size_t)n;
}
