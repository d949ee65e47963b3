/*
 * daemon/uapi.c - the userspace WireGuard backend's wire: the text protocol
 * of https://www.wireguard.com/xplatform/ spoken over <dir>/<ifname>.sock.
 *
 * The daemon reuses the netlink/ model and its pure diff for wireguard-go
 * too: gsd_uapi_get() reads the device into a struct gnl_wg_device, the
 * reconciler diffs it against the desired device, and gsd_uapi_serialize()
 * turns the op list into one `set=1` transaction.  UPDATE ops carry
 * `update_only=true` so a peer that vanished meanwhile is not re-created
 * half-configured; allowed IPs are replaced as a whole (the UAPI has no
 * single-prefix removal), which wireguard-go does atomically per peer
 * without touching the session.  Unchanged peers are not mentioned at all.
 *
 * The client is blocking with a 2 s timeout: the socket is local and
 * wireguard-go answers in microseconds; a hung wireguard-go must not hang the
 * daemon forever, but an async state machine for this is not worth it.
 */
#include "daemon/uapi.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

struct sbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	if (b->err)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		size_t nc = (b->cap ? b->cap * 2 : 1024) + (size_t)n;
		char *np = realloc(b->p, nc);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
}

static void hex32(const uint8_t k[32], char out[65])
{
	static const char hx[] = "0123456789abcdef";
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[k[i] >> 4];
		out[2 * i + 1] = hx[k[i] & 15];
	}
	out[64] = 0;
}

static int unhex32(const char *s, uint8_t k[32])
{
	if (strlen(s) != 64)
		return -EBADMSG;
	for (int i = 0; i < 64; i++) {
		char c = s[i];
		int v;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v = c - 'A' + 10;
		else
			return -EBADMSG;
		if (i % 2 == 0)
			k[i / 2] = (uint8_t)(v << 4);
		else
			k[i / 2] |= (uint8_t)v;
	}
	return 0;
}

static void fmt_endpoint(const union gnl_sockaddr *sa, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "";
	if (sa->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &sa->in.sin_addr, ip, sizeof(ip));
		snprintf(buf, cap, "%s:%u", ip, ntohs(sa->in.sin_port));
	} else {
		inet_ntop(AF_INET6, &sa->in6.sin6_addr, ip, sizeof(ip));
		snprintf(buf, cap, "[%s]:%u", ip, ntohs(sa->in6.sin6_port));
	}
}

static void put_aips(struct sbuf *b, const struct gnl_prefix *p, size_t n)
{
	char buf[GNL_PREFIX_STRLEN];
	for (size_t i = 0; i < n; i++) {
		char ip[INET6_ADDRSTRLEN] = "";
		inet_ntop(p[i].family, p[i].addr.b, ip, sizeof(ip));
		snprintf(buf, sizeof(buf), "%s/%u", ip, p[i].cidr);
		sb_printf(b, "allowed_ip=%s\n", buf);
	}
}

int gsd_uapi_serialize(const struct gnl_wg_ops *ops, char **out, size_t *len)
{
	struct sbuf b = {0};
	char hx[65];
	sb_printf(&b, "set=1\n");
	if (ops->dev_changed & GNL_WG_DEV_PRIVATE_KEY) {
		hex32(ops->private_key, hx);
		sb_printf(&b, "private_key=%s\n", hx);
		memset(hx, 0, sizeof(hx));
	}
	if (ops->dev_changed & GNL_WG_DEV_LISTEN_PORT)
		sb_printf(&b, "listen_port=%u\n", ops->listen_port);
	if (ops->dev_changed & GNL_WG_DEV_FWMARK)
		sb_printf(&b, "fwmark=%u\n", ops->fwmark);
	if (ops->replace_peers)
		sb_printf(&b, "replace_peers=true\n");
	for (size_t i = 0; i < ops->n_ops; i++) {
		const struct gnl_wg_peer_op *op = &ops->ops[i];
		hex32(op->public_key, hx);
		sb_printf(&b, "public_key=%s\n", hx);
		if (op->kind == GNL_WG_OP_REMOVE) {
			sb_printf(&b, "remove=true\n");
			continue;
		}
		if (op->kind == GNL_WG_OP_UPDATE)
			sb_printf(&b, "update_only=true\n");
		if (op->changed & GNL_WG_CH_PRESHARED_KEY) {
			hex32(op->preshared_key, hx);
			sb_printf(&b, "preshared_key=%s\n", hx);
			memset(hx, 0, sizeof(hx));
		}
		if ((op->changed & GNL_WG_CH_ENDPOINT) && op->endpoint.sa.sa_family != AF_UNSPEC) {
			char ep[INET6_ADDRSTRLEN + 16];
			fmt_endpoint(&op->endpoint, ep, sizeof(ep));
			sb_printf(&b, "endpoint=%s\n", ep);
		}
		if (op->changed & GNL_WG_CH_KEEPALIVE)
			sb_printf(&b, "persistent_keepalive_interval=%u\n",
				  op->persistent_keepalive);
		if (op->changed & GNL_WG_CH_ALLOWEDIPS) {
			sb_printf(&b, "replace_allowed_ips=true\n");
			if (op->kind == GNL_WG_OP_ADD)
				put_aips(&b, op->aip_add, op->n_aip_add);
			else
				put_aips(&b, op->aip_all, op->n_aip_all);
		}
	}
	sb_printf(&b, "\n");
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

int gsd_uapi_parse_errno(const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			break;
		if (nl - p > 6 && !strncmp(p, "errno=", 6)) {
			long v = strtol(p + 6, NULL, 10);
			return v ? -(int)(v < 0 ? -v : v) : 0;
		}
		p = nl + 1;
	}
	return -EBADMSG;
}

int gsd_uapi_parse_get(const char *text, size_t len, const char *ifname, struct gnl_wg_device **out)
{
	struct gnl_wg_device *dev = NULL;
	struct gnl_wg_peer *peer = NULL;
	int r = gnl_wg_device_new(ifname, &dev), err = -EBADMSG;
	bool seen_errno = false;
	if (r < 0)
		return r;
	dev->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT | GNL_WG_DEV_FWMARK;
	const char *p = text, *end = text + len;
	char line[512];
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl) {
			r = -EBADMSG;
			goto out;
		}
		size_t ll = (size_t)(nl - p);
		p = nl + 1;
		if (ll == 0)
			break; /* end of response */
		if (ll >= sizeof(line)) {
			r = -EBADMSG;
			goto out;
		}
		memcpy(line, p - ll - 1, ll);
		line[ll] = 0;
		char *eq = strchr(line, '=');
		if (!eq) {
			r = -EBADMSG;
			goto out;
		}
		*eq = 0;
		const char *k = line, *v = eq + 1;
		char *e;
		if (!strcmp(k, "errno")) {
			long x = strtol(v, &e, 10);
			if (*e) {
				r = -EBADMSG;
				goto out;
			}
			err = x ? -(int)(x < 0 ? -x : x) : 0;
			seen_errno = true;
		} else if (!strcmp(k, "private_key")) {
			if (unhex32(v, dev->private_key) < 0) {
				r = -EBADMSG;
				goto out;
			}
		} else if (!strcmp(k, "listen_port")) {
			dev->listen_port = (uint16_t)strtoul(v, NULL, 10);
		} else if (!strcmp(k, "fwmark")) {
			dev->fwmark = (uint32_t)strtoul(v, NULL, 10);
		} else if (!strcmp(k, "public_key")) {
			uint8_t pk[32];
			if (unhex32(v, pk) < 0) {
				r = -EBADMSG;
				goto out;
			}
			r = gnl_wg_device_add_peer(dev, pk, &peer);
			if (r < 0)
				goto out;
		} else if (!peer) {
			/* unknown device-level key: ignore (newer wireguard-go) */
		} else if (!strcmp(k, "preshared_key")) {
			if (unhex32(v, peer->preshared_key) < 0) {
				r = -EBADMSG;
				goto out;
			}
			static const uint8_t zero[32];
			peer->has_preshared_key = memcmp(peer->preshared_key, zero, 32) != 0;
		} else if (!strcmp(k, "endpoint")) {
			if (gnl_sockaddr_parse(v, &peer->endpoint) < 0) {
				r = -EBADMSG;
				goto out;
			}
		} else if (!strcmp(k, "last_handshake_time_sec")) {
			peer->last_handshake.tv_sec = (time_t)strtoll(v, NULL, 10);
		} else if (!strcmp(k, "last_handshake_time_nsec")) {
			peer->last_handshake.tv_nsec = strtol(v, NULL, 10);
		} else if (!strcmp(k, "rx_bytes")) {
			peer->rx_bytes = strtoull(v, NULL, 10);
		} else if (!strcmp(k, "tx_bytes")) {
			peer->tx_bytes = strtoull(v, NULL, 10);
		} else if (!strcmp(k, "persistent_keepalive_interval")) {
			peer->persistent_keepalive = (uint16_t)strtoul(v, NULL, 10);
		} else if (!strcmp(k, "protocol_version")) {
			peer->protocol_version = (uint32_t)strtoul(v, NULL, 10);
		} else if (!strcmp(k, "allowed_ip")) {
			struct gnl_prefix pf;
			if (gnl_prefix_parse(v, &pf) < 0) {
				r = -EBADMSG;
				goto out;
			}
			r = gnl_wg_peer_add_allowedip(peer, &pf);
			if (r < 0)
				goto out;
			/* the array may have moved only on add_peer, not here */
		}
		/* gnl_wg_device_add_peer may move the array: re-find the last peer */
		if (dev->n_peers)
			peer = &dev->peers[dev->n_peers - 1];
	}
	if (!seen_errno) {
		r = -EBADMSG;
		goto out;
	}
	if (err) {
		r = err;
		goto out;
	}
	*out = dev;
	return 0;
out:
	gnl_wg_device_free(dev);
	return r;
}

int gsd_uapi_sock_path(const char *dir, const char *ifname, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "%s/%s.sock", dir, ifname);
	if (n < 0 || (size_t)n >= cap || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

static int transact(const char *dir, const char *ifname, const char *req, size_t reqlen,
		    char **resp, size_t *resplen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int r = gsd_uapi_sock_path(dir, ifname, sun.sun_path, sizeof(sun.sun_path));
	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	struct timeval tv = {.tv_sec = 2};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		goto out;
	}
	size_t off = 0;
	while (off < reqlen) {
		ssize_t w = send(fd, req + off, reqlen - off, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		off += (size_t)w;
	}
	for (;;) {
		if (cap - len < 4096) {
			size_t nc = cap ? cap * 2 : 8192;
			if (nc > (64u << 20)) {
				r = -EMSGSIZE;
				goto out;
			}
			char *nb = realloc(buf, nc);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap = nc;
		}
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = errno == EAGAIN ? -ETIMEDOUT : -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		buf[len] = 0;
		/* a response ends with an empty line */
		if (len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n')
			break;
		if (len == 1 && buf[0] == '\n')
			break;
	}
	if (!buf) {
		r = -EBADMSG;
		goto out;
	}
	*resp = buf;
	*resplen = len;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

int gsd_uapi_get(const char *dir, const char *ifname, struct gnl_wg_device **out)
{
	char *resp = NULL;
	size_t len = 0;
	int r = transact(dir, ifname, "get=1\n\n", 7, &resp, &len);
	if (r < 0)
		return r;
	r = gsd_uapi_parse_get(resp, len, ifname, out);
	/* the response contains the private key */
	explicit_bzero(resp, len);
	free(resp);
	return r;
}

int gsd_uapi_apply(const char *dir, const char *ifname, const struct gnl_wg_ops *ops)
{
	char *req = NULL, *resp = NULL;
	size_t reqlen = 0, resplen = 0;
	int r = gsd_uapi_serialize(ops, &req, &reqlen);
	if (r < 0)
		return r;
	r = transact(dir, ifname, req, reqlen, &resp, &resplen);
	explicit_bzero(req, reqlen);
	free(req);
	if (r < 0)
		return r;
	r = gsd_uapi_parse_errno(resp, resplen);
	free(resp);
	return r;
}
