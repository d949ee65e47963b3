/*
 * tests/attack/replay.c - an on-path observer without the key: capture
 * the sealed datagrams a node receives on its gossip port (an AF_PACKET
 * socket in the node's namespace, inbound only, unfragmented UDP over IPv4
 * or IPv6 without extension headers), store their payloads, and send them
 * again later, verbatim, from a socket of our own.
 *
 * Capture file: for each datagram a 4-byte big-endian length, then the
 * UDP payload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tests/attack/attack.h"

/* the UDP payload of an inbound IP packet to port, or NULL */
static const uint8_t *udp_payload(const uint8_t *p, size_t n, uint16_t proto, uint16_t port,
				  size_t *len)
{
	size_t off;
	uint16_t ulen;

	if (proto == ETH_P_IP) {
		if (n < 20 || (p[0] >> 4) != 4 || p[9] != IPPROTO_UDP)
			return NULL;
		if (((p[6] << 8) | p[7]) & 0x3fff)
			return NULL; /* a fragment */
		off = (size_t)(p[0] & 0xf) * 4;
	} else if (proto == ETH_P_IPV6) {
		if (n < 40 || p[6] != IPPROTO_UDP)
			return NULL;
		off = 40;
	} else {
		return NULL;
	}
	if (n < off + 8 || ((p[off + 2] << 8) | p[off + 3]) != port)
		return NULL;
	ulen = (uint16_t)((p[off + 4] << 8) | p[off + 5]);
	if (ulen < 8 || off + ulen > n)
		return NULL;
	*len = ulen - 8u;
	return p + off + 8;
}

static int packet_socket(const char *iface)
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (fd < 0)
		return -errno;
	sll.sll_ifindex = (int)if_nametoindex(iface);
	if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		int e = errno ? -errno : -ENODEV;
		close(fd);
		return e;
	}
	return fd;
}

static int write_one(FILE *f, const uint8_t *p, size_t len)
{
	uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
			  (uint8_t)len};

	if (fwrite(hdr, 1, 4, f) != 4 || fwrite(p, 1, len, f) != len)
		return -EIO;
	return 0;
}

int atk_capture(struct atk *a)
{
	static uint8_t pkt[ATK_BUF_CAP];
	struct timespec t0, t;
	unsigned long got = 0;
	uint64_t bytes = 0;
	FILE *f = NULL;
	int fd = packet_socket(a->o.iface), r = 0;

	if (fd < 0)
		return fd;
	f = fopen(a->o.out, "wb");
	if (!f) {
		r = -errno;
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (got < a->o.count && r == 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		const uint8_t *pl;
		size_t plen = 0;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >
		    (long)a->o.timeout_ms)
			break;
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&from, &fl);
		if (n <= 0 || from.sll_pkttype != PACKET_HOST)
			continue;
		pl = udp_payload(pkt, (size_t)n, ntohs(from.sll_protocol), a->o.port, &plen);
		if (!pl)
			continue;
		r = write_one(f, pl, plen);
		got++;
		bytes += plen;
	}
	if (fclose(f) != 0 && r == 0)
		r = -EIO;
	atk_extra(a, ",\"captured\":%lu,\"captured_bytes\":%llu", got, (unsigned long long)bytes);
out:
	close(fd);
	return r;
}

int atk_read_capture(const char *path, uint8_t ***out, size_t **lens, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t hdr[4];
	size_t cap = 0;
	int r = 0;

	*out = NULL;
	*lens = NULL;
	*n = 0;
	if (!f)
		return -errno;
	while (r == 0 && fread(hdr, 1, 4, f) == 4) {
		size_t len =
		    (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 | (size_t)hdr[2] << 8 | hdr[3];
		uint8_t *p = len <= ATK_BUF_CAP ? malloc(len ? len : 1) : NULL;

		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 64;
			uint8_t **nd = realloc(*out, nc * sizeof(*nd));
			size_t *nl = nd ? realloc(*lens, nc * sizeof(*nl)) : NULL;

			if (nd)
				*out = nd;
			if (nl)
				*lens = nl;
			if (!nd || !nl) {
				free(p);
				r = -ENOMEM;
				break;
			}
			cap = nc;
		}
		if (!p || fread(p, 1, len, f) != len) {
			free(p);
			r = -EBADMSG;
			break;
		}
		(*out)[*n] = p;
		(*lens)[(*n)++] = len;
	}
	fclose(f);
	return r;
}

void atk_free_capture(uint8_t **d, size_t *lens, size_t n)
{
	for (size_t i = 0; d && i < n; i++)
		free(d[i]);
	free(d);
	free(lens);
}

int atk_replay(struct atk *a)
{
	uint8_t **d = NULL;
	size_t *lens = NULL, n = 0;
	int r = atk_read_capture(a->o.in, &d, &lens, &n);

	for (size_t i = 0; i < n && r == 0; i++) {
		r = atk_send_raw(a, &a->o.to[i % a->o.n_to], d[i], lens[i]);
		atk_pause(a);
	}
	atk_free_capture(d, lens, n);
	if (r == 0)
		atk_listen(a, a->o.window_ms, NULL, NULL);
	atk_extra(a, ",\"replayed\":%llu", (unsigned long long)a->c.sent_dgrams);
	return r;
}
