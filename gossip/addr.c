/*
 * gossip/addr.c - textual and sockaddr forms of struct gsm_addr / gsm_prefix.
 *
 * The wire carries addresses as raw bytes (wire.h); people and config files
 * use "1.2.3.4:51820", "[fd00::1]:51820", "10.1.0.0/16".  IPv4-mapped IPv6
 * socket addresses (what a dual-stack socket reports for IPv4 peers) are
 * normalised to plain IPv4 so the same peer always compares equal.  Pure
 * functions, no allocation, no I/O.
 */
#include "gossip/wire.h"
#include "common/prefix.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int gsm_addr_equal(const struct gsm_addr *a, const struct gsm_addr *b)
{
	if (a->family != b->family)
		return 0;
	if (a->family == 0)
		return 1;
	return a->port == b->port && memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

int gsm_addr_format(const struct gsm_addr *a, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if (a->family == 4) {
		if (!inet_ntop(AF_INET, a->ip, ip, sizeof(ip)))
			return -EINVAL;
		return snprintf(buf, cap, "%s:%u", ip, a->port);
	}
	if (a->family == 6) {
		if (!inet_ntop(AF_INET6, a->ip, ip, sizeof(ip)))
			return -EINVAL;
		return snprintf(buf, cap, "[%s]:%u", ip, a->port);
	}
	if (a->family == 0)
		return snprintf(buf, cap, "-");
	return -EINVAL;
}

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int gsm_addr_parse(const char *s, struct gsm_addr *a)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *colon, *port;
	struct gsm_addr t = {0};
	size_t n;

	if (!s || !a)
		return -EINVAL;
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		n = (size_t)(close - s - 1);
		if (n >= sizeof(ip))
			return -EINVAL;
		memcpy(ip, s + 1, n);
		ip[n] = 0;
		if (inet_pton(AF_INET6, ip, t.ip) != 1)
			return -EINVAL;
		t.family = 6;
		port = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - s);
		if (n >= sizeof(ip))
			return -EINVAL;
		memcpy(ip, s, n);
		ip[n] = 0;
		if (inet_pton(AF_INET, ip, t.ip) != 1)
			return -EINVAL;
		t.family = 4;
		port = colon + 1;
	}
	if (parse_port(port, &t.port))
		return -EINVAL;
	*a = t;
	return 0;
}

int gsm_prefix_format(const struct gsm_prefix *p, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if (p->family != 4 && p->family != 6)
		return -EINVAL;
	if (!inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->ip, ip, sizeof(ip)))
		return -EINVAL;
	return snprintf(buf, cap, "%s/%u", ip, p->len);
}

int gsm_prefix_parse(const char *s, struct gsm_prefix *p)
{
	char ip[INET6_ADDRSTRLEN + 1];
	struct gsm_prefix t = {0};
	const char *slash;
	size_t n;
	unsigned max;

	if (!s || !p)
		return -EINVAL;
	slash = strchr(s, '/');
	n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, n);
	ip[n] = 0;
	if (inet_pton(AF_INET, ip, t.ip) == 1)
		t.family = 4;
	else if (inet_pton(AF_INET6, ip, t.ip) == 1)
		t.family = 6;
	else
		return -EINVAL;
	max = t.family == 4 ? 32 : 128;
	if (slash) {
		char *end;
		unsigned long v;
		if (slash[1] < '0' || slash[1] > '9')
			return -EINVAL;
		errno = 0;
		v = strtoul(slash + 1, &end, 10);
		if (errno || *end || v > max)
			return -EINVAL;
		t.len = (uint8_t)v;
	} else {
		t.len = (uint8_t)max; /* a bare address is a host prefix */
	}
	*p = t;
	return 0;
}

int gsm_prefix_equal(const struct gsm_prefix *a, const struct gsm_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

int gsm_prefix_contains(const struct gsm_prefix *net, const struct gsm_prefix *p)
{
	return net->family == p->family && gsc_prefix_covers(net->ip, net->len, p->ip, p->len);
}

int gsm_prefix_overlaps(const struct gsm_prefix *a, const struct gsm_prefix *b)
{
	return a->family == b->family && gsc_prefix_overlaps(a->ip, a->len, b->ip, b->len);
}

int gsm_addr_from_sockaddr(const struct sockaddr *sa, struct gsm_addr *a)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (!sa || !a)
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		a->family = 4;
		memcpy(a->ip, &in->sin_addr, 4);
		a->port = ntohs(in->sin_port);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		const uint8_t *b = (const uint8_t *)&in6->sin6_addr;
		if (memcmp(b, v4mapped, 12) == 0) {
			a->family = 4;
			memcpy(a->ip, b + 12, 4);
		} else {
			a->family = 6;
			memcpy(a->ip, b, 16);
		}
		a->port = ntohs(in6->sin6_port);
		return 0;
	}
	return -EAFNOSUPPORT;
}

int gsm_addr_to_sockaddr(const struct gsm_addr *a, struct sockaddr_storage *ss, socklen_t *len)
{
	if (!a || !ss || !len)
		return -EINVAL;
	memset(ss, 0, sizeof(*ss));
	if (a->family == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a->ip, 4);
		in->sin_port = htons(a->port);
		*len = sizeof(*in);
		return 0;
	}
	if (a->family == 6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a->ip, 16);
		in6->sin6_port = htons(a->port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EAFNOSUPPORT;
}
