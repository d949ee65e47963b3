/*
 * netlink/model.c - the backend-neutral WireGuard model and the pure diff.
 *
 * What: plain structs for a device and its peers (wg.h), helpers to build
 * them, and gnl_wg_diff(desired, current), which says which peers to
 * remove, add or update - field by field, allowed IPs prefix by prefix.
 *
 * Why a pure diff: the property that matters operationally is that a peer
 * whose configuration did not change is not touched at all.  Re-sending a
 * peer is harmless to the kernel's data (it is idempotent) but re-adding
 * one (REPLACE_PEERS, `wg setconf`) drops its session, so a naive
 * reconciler makes every tunnel in a 10 000-node mesh re-handshake on every
 * membership change.  Keeping the diff free of I/O lets one function serve
 * the kernel backend and the userspace (UAPI) backend, and lets unit tests
 * pin its semantics exactly.
 *
 * How: both peer sets are sorted by public key (index arrays; the inputs
 * are const) and merged in one pass, O(n log n).  Allowed IPs are
 * normalized (host bits cleared, as the kernel stores them), sorted and
 * de-duplicated, then merged the same way, so an update carries exactly
 * the prefixes to add and to remove plus the complete set for backends
 * that can only replace.  The op list is ordered: device fields, removals,
 * updates, additions - removing first frees allowed IPs that another peer
 * is about to claim, and the output is deterministic for tests.
 */
#include "netlink/wg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void wipe(void *p, size_t n)
{
	/* explicit_bzero survives dead-store elimination; netlink/ does not
	 * depend on libsodium, glibc has had this since 2.25 */
	explicit_bzero(p, n);
}

/* ------------------------------------------------------------ prefixes */

int gnl_prefix_normalize(struct gnl_prefix *p)
{
	unsigned int bytes, maxbits;

	if (p->family == AF_INET)
		maxbits = 32;
	else if (p->family == AF_INET6)
		maxbits = 128;
	else
		return -EINVAL;
	if (p->cidr > maxbits)
		return -EINVAL;
	bytes = maxbits / 8;
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int lo = i * 8;
		if (i >= bytes)
			p->addr.b[i] = 0;
		else if (lo >= p->cidr)
			p->addr.b[i] = 0;
		else if (lo + 8 > p->cidr)
			p->addr.b[i] &= (uint8_t)(0xff00u >> (p->cidr - lo));
	}
	return 0;
}

int gnl_prefix_cmp(const struct gnl_prefix *a, const struct gnl_prefix *b)
{
	struct gnl_prefix x = *a, y = *b;
	int r;

	if (x.family != y.family)
		return x.family < y.family ? -1 : 1;
	gnl_prefix_normalize(&x);
	gnl_prefix_normalize(&y);
	r = memcmp(x.addr.b, y.addr.b, 16);
	if (r)
		return r < 0 ? -1 : 1;
	if (x.cidr != y.cidr)
		return x.cidr < y.cidr ? -1 : 1;
	return 0;
}

int gnl_prefix_parse(const char *s, struct gnl_prefix *out)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash;
	size_t alen;
	long cidr = -1;

	memset(out, 0, sizeof(*out));
	slash = strchr(s, '/');
	alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (slash) {
		char *end;
		if (!slash[1])
			return -EINVAL;
		errno = 0;
		cidr = strtol(slash + 1, &end, 10);
		if (*end || errno || cidr < 0)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, &out->addr.v4) == 1) {
		out->family = AF_INET;
		if (cidr > 32)
			return -EINVAL;
		out->cidr = cidr < 0 ? 32 : (uint8_t)cidr;
	} else if (inet_pton(AF_INET6, buf, &out->addr.v6) == 1) {
		out->family = AF_INET6;
		if (cidr > 128)
			return -EINVAL;
		out->cidr = cidr < 0 ? 128 : (uint8_t)cidr;
	} else {
		return -EINVAL;
	}
	return 0;
}

const char *gnl_prefix_format(const struct gnl_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if ((p->family != AF_INET && p->family != AF_INET6) ||
	    !inet_ntop(p->family, p->addr.b, a, sizeof(a)))
		snprintf(buf, len, "(invalid)");
	else
		snprintf(buf, len, "%s/%u", a, p->cidr);
	return buf;
}

int gnl_sockaddr_parse(const char *s, union gnl_sockaddr *out)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *colon, *h = s;
	size_t hlen;
	char *end;
	long port;

	memset(out, 0, sizeof(*out));
	if (*s == '[') {
		const char *rb = strchr(s, ']');
		if (!rb || rb[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port < 0 || port > 65535)
		return -EINVAL;
	if (*s != '[' && inet_pton(AF_INET, host, &out->in.sin_addr) == 1) {
		out->in.sin_family = AF_INET;
		out->in.sin_port = htons((uint16_t)port);
		return 0;
	}
	if (*s == '[') {
		char *pct = strchr(host, '%');
		if (pct) {
			*pct = '\0';
			out->in6.sin6_scope_id = (uint32_t)strtoul(pct + 1, NULL, 10);
		}
		if (inet_pton(AF_INET6, host, &out->in6.sin6_addr) == 1) {
			out->in6.sin6_family = AF_INET6;
			out->in6.sin6_port = htons((uint16_t)port);
			return 0;
		}
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

const char *gnl_sockaddr_format(const union gnl_sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (sa->sa.sa_family == AF_INET && inet_ntop(AF_INET, &sa->in.sin_addr, a, sizeof(a)))
		snprintf(buf, len, "%s:%u", a, ntohs(sa->in.sin_port));
	else if (sa->sa.sa_family == AF_INET6 &&
		 inet_ntop(AF_INET6, &sa->in6.sin6_addr, a, sizeof(a)))
		snprintf(buf, len, "[%s]:%u", a, ntohs(sa->in6.sin6_port));
	else
		snprintf(buf, len, "(none)");
	return buf;
}

bool gnl_sockaddr_equal(const union gnl_sockaddr *a, const union gnl_sockaddr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	switch (a->sa.sa_family) {
	case AF_INET:
		return a->in.sin_port == b->in.sin_port &&
		       a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	case AF_INET6:
		return a->in6.sin6_port == b->in6.sin6_port &&
		       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
		       !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16);
	default:
		return true;
	}
}

/* ------------------------------------------------------ device / peers */

int gnl_wg_device_new(const char *ifname, struct gnl_wg_device **out)
{
	struct gnl_wg_device *d;

	*out = NULL;
	if (ifname && strlen(ifname) >= IFNAMSIZ)
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if (ifname)
		snprintf(d->ifname, sizeof(d->ifname), "%s", ifname);
	*out = d;
	return 0;
}

static void peer_clear(struct gnl_wg_peer *p)
{
	free(p->allowedips);
	wipe(p->preshared_key, sizeof(p->preshared_key));
	memset(p, 0, sizeof(*p));
}

void gnl_wg_device_free(struct gnl_wg_device *dev)
{
	if (!dev)
		return;
	for (size_t i = 0; i < dev->n_peers; i++)
		peer_clear(&dev->peers[i]);
	free(dev->peers);
	wipe(dev->private_key, sizeof(dev->private_key));
	free(dev);
}

int gnl_wg_device_add_peer(struct gnl_wg_device *dev, const uint8_t pub[GNL_WG_KEY_LEN],
			   struct gnl_wg_peer **out)
{
	struct gnl_wg_peer *p;

	if (dev->n_peers == dev->cap_peers) {
		size_t cap = dev->cap_peers ? dev->cap_peers * 2 : 16;
		/* not realloc: the old array may hold preshared keys to wipe */
		p = calloc(cap, sizeof(*p));
		if (!p)
			return -ENOMEM;
		if (dev->n_peers)
			memcpy(p, dev->peers, dev->n_peers * sizeof(*p));
		if (dev->peers) {
			wipe(dev->peers, dev->n_peers * sizeof(*p));
			free(dev->peers);
		}
		dev->peers = p;
		dev->cap_peers = cap;
	}
	p = &dev->peers[dev->n_peers++];
	memset(p, 0, sizeof(*p));
	memcpy(p->public_key, pub, GNL_WG_KEY_LEN);
	if (out)
		*out = p;
	return 0;
}

static inline int key_cmp(const uint8_t *a, const uint8_t *b);

struct gnl_wg_peer *gnl_wg_device_find_peer(const struct gnl_wg_device *dev,
					    const uint8_t pub[GNL_WG_KEY_LEN])
{
	/* Binary search first: on a sorted device (gnl_wg_device_sort) a hit
	 * costs O(log n).  On an unsorted one it may miss but can never
	 * return a wrong peer (it stops only on an equal key), so a miss
	 * falls back to the linear scan. */
	size_t lo = 0, hi = dev->n_peers;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = key_cmp(pub, dev->peers[mid].public_key);
		if (r == 0)
			return &dev->peers[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	for (size_t i = 0; i < dev->n_peers; i++)
		if (!memcmp(dev->peers[i].public_key, pub, GNL_WG_KEY_LEN))
			return &dev->peers[i];
	return NULL;
}

static int aip_push(struct gnl_prefix **arr, size_t *n, size_t *cap, const struct gnl_prefix *p)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 4;
		struct gnl_prefix *a = realloc(*arr, c * sizeof(*a));
		if (!a)
			return -ENOMEM;
		*arr = a;
		*cap = c;
	}
	(*arr)[(*n)++] = *p;
	return 0;
}

int gnl_wg_peer_add_allowedip(struct gnl_wg_peer *peer, const struct gnl_prefix *p)
{
	if ((p->family != AF_INET || p->cidr > 32) && (p->family != AF_INET6 || p->cidr > 128))
		return -EINVAL;
	return aip_push(&peer->allowedips, &peer->n_allowedips, &peer->cap_allowedips, p);
}

int gnl_wg_device_dup(const struct gnl_wg_device *src, struct gnl_wg_device **out)
{
	struct gnl_wg_device *d;
	int ret;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	*d = *src;
	d->peers = NULL;
	d->n_peers = d->cap_peers = 0;
	if (src->n_peers) {
		d->peers = calloc(src->n_peers, sizeof(*d->peers));
		if (!d->peers) {
			ret = -ENOMEM;
			goto out;
		}
		d->cap_peers = src->n_peers;
	}
	for (size_t i = 0; i < src->n_peers; i++) {
		struct gnl_wg_peer *p = &d->peers[i];
		*p = src->peers[i];
		p->allowedips = NULL;
		p->cap_allowedips = 0;
		d->n_peers = i + 1;
		if (p->n_allowedips) {
			p->allowedips = malloc(p->n_allowedips * sizeof(*p->allowedips));
			if (!p->allowedips) {
				p->n_allowedips = 0;
				ret = -ENOMEM;
				goto out;
			}
			memcpy(p->allowedips, src->peers[i].allowedips,
			       p->n_allowedips * sizeof(*p->allowedips));
			p->cap_allowedips = p->n_allowedips;
		}
	}
	*out = d;
	return 0;
out:
	gnl_wg_device_free(d);
	return ret;
}

/* ----------------------------------------------------------------- diff */

static int cmp_prefix_q(const void *a, const void *b)
{
	return gnl_prefix_cmp(a, b);
}

/* normalized, sorted, de-duplicated copy of a peer's allowed IPs */
static int aip_canon(const struct gnl_wg_peer *p, struct gnl_prefix **out, size_t *n)
{
	struct gnl_prefix *a;
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!p || !p->n_allowedips)
		return 0;
	a = malloc(p->n_allowedips * sizeof(*a));
	if (!a)
		return -ENOMEM;
	for (size_t i = 0; i < p->n_allowedips; i++) {
		a[k] = p->allowedips[i];
		if (gnl_prefix_normalize(&a[k]) == 0)
			k++;
		/* invalid entries cannot reach the kernel; dropped */
	}
	qsort(a, k, sizeof(*a), cmp_prefix_q);
	size_t w = 0;
	for (size_t i = 0; i < k; i++)
		if (w == 0 || gnl_prefix_cmp(&a[w - 1], &a[i]))
			a[w++] = a[i];
	*out = a;
	*n = w;
	return 0;
}

/* memcmp order of two 32-byte keys, inline: the diff's inner loop does
 * little else, and a libc call per key dominated its profile */
static inline int key_cmp(const uint8_t *a, const uint8_t *b)
{
	for (int i = 0; i < GNL_WG_KEY_LEN; i += 8) {
		uint64_t x, y;
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y) {
			x = __builtin_bswap64(x);
			y = __builtin_bswap64(y);
			return x < y ? -1 : 1;
		}
	}
	return 0;
}

static const struct gnl_wg_device *sort_dev;

static int cmp_peer_idx(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	return key_cmp(sort_dev->peers[i].public_key, sort_dev->peers[j].public_key);
}

/* Index array of dev's peers sorted by public key.  qsort has no context
 * argument in C11; the diff is not re-entrant across threads because of
 * this static, which is documented nowhere else because netlink/ handles
 * are single-threaded anyway.  (qsort_r would tie us to glibc.) */
static size_t *sorted_index(const struct gnl_wg_device *dev)
{
	size_t *idx = malloc((dev->n_peers ? dev->n_peers : 1) * sizeof(*idx));

	if (!idx)
		return NULL;
	bool sorted = true;
	for (size_t i = 0; i < dev->n_peers; i++) {
		idx[i] = i;
		if (i && sorted &&
		    key_cmp(dev->peers[i - 1].public_key, dev->peers[i].public_key) > 0)
			sorted = false;
	}
	if (sorted)
		return idx; /* gnl_wg_device_sort'ed input: the diff is one O(n) merge */
	sort_dev = dev;
	qsort(idx, dev->n_peers, sizeof(*idx), cmp_peer_idx);
	sort_dev = NULL;
	return idx;
}

static int cmp_peer(const void *a, const void *b)
{
	return key_cmp(((const struct gnl_wg_peer *)a)->public_key,
		       ((const struct gnl_wg_peer *)b)->public_key);
}

void gnl_wg_device_sort(struct gnl_wg_device *dev)
{
	if (dev->n_peers > 1)
		qsort(dev->peers, dev->n_peers, sizeof(*dev->peers), cmp_peer);
}

/* equal after normalization, without copying: family, length, then the
 * covered whole bytes and the masked partial byte */
static bool prefix_eq(const struct gnl_prefix *a, const struct gnl_prefix *b)
{
	unsigned int full, rest;

	if (a->family != b->family || a->cidr != b->cidr)
		return false;
	if ((a->family != AF_INET || a->cidr > 32) && (a->family != AF_INET6 || a->cidr > 128))
		return gnl_prefix_cmp(a, b) == 0;
	full = a->cidr / 8;
	rest = a->cidr % 8;
	for (unsigned int i = 0; i < full; i++)
		if (a->addr.b[i] != b->addr.b[i])
			return false;
	return !rest || !((a->addr.b[full] ^ b->addr.b[full]) & (uint8_t)(0xff00u >> rest));
}

/* Same set of prefixes (duplicates and host bits ignored)?  Small lists,
 * the overwhelmingly common case, are compared pairwise without any
 * allocation; -1 means "too big to tell cheaply": canonicalize. */
static int aip_same_small(const struct gnl_wg_peer *d, const struct gnl_wg_peer *c)
{
	const size_t small = 16;

	if (d->n_allowedips > small || c->n_allowedips > small)
		return -1;
	/* identical order: the usual case when current was derived from
	 * desired, or both come from the same kernel */
	if (d->n_allowedips == c->n_allowedips) {
		size_t i = 0;
		while (i < d->n_allowedips && prefix_eq(&d->allowedips[i], &c->allowedips[i]))
			i++;
		if (i == d->n_allowedips)
			return 1;
	}
	for (size_t i = 0; i < d->n_allowedips; i++) {
		bool hit = false;
		for (size_t j = 0; j < c->n_allowedips && !hit; j++)
			hit = prefix_eq(&d->allowedips[i], &c->allowedips[j]);
		if (!hit)
			return 0;
	}
	for (size_t j = 0; j < c->n_allowedips; j++) {
		bool hit = false;
		for (size_t i = 0; i < d->n_allowedips && !hit; i++)
			hit = prefix_eq(&d->allowedips[i], &c->allowedips[j]);
		if (!hit)
			return 0;
	}
	return 1;
}

static void op_clear(struct gnl_wg_peer_op *op)
{
	free(op->aip_add);
	free(op->aip_del);
	free(op->aip_all);
	wipe(op->preshared_key, sizeof(op->preshared_key));
}

void gnl_wg_ops_free(struct gnl_wg_ops *ops)
{
	if (!ops)
		return;
	for (size_t i = 0; i < ops->n_ops; i++)
		op_clear(&ops->ops[i]);
	if (ops->ops)
		wipe(ops->ops, ops->n_ops * sizeof(*ops->ops));
	free(ops->ops);
	wipe(ops->private_key, sizeof(ops->private_key));
	free(ops);
}

bool gnl_wg_ops_empty(const struct gnl_wg_ops *ops)
{
	return !ops || (!ops->dev_changed && !ops->replace_peers && ops->n_ops == 0);
}

static struct gnl_wg_peer_op *op_push(struct gnl_wg_ops *ops)
{
	if (ops->n_ops == ops->cap_ops) {
		size_t cap = ops->cap_ops ? ops->cap_ops * 2 : 16;
		struct gnl_wg_peer_op *a = calloc(cap, sizeof(*a));
		if (!a)
			return NULL;
		if (ops->n_ops)
			memcpy(a, ops->ops, ops->n_ops * sizeof(*a));
		if (ops->ops) {
			wipe(ops->ops, ops->n_ops * sizeof(*a));
			free(ops->ops);
		}
		ops->ops = a;
		ops->cap_ops = cap;
	}
	struct gnl_wg_peer_op *op = &ops->ops[ops->n_ops++];
	memset(op, 0, sizeof(*op));
	return op;
}

static const uint8_t zero_key[GNL_WG_KEY_LEN];

static const uint8_t *psk_of(const struct gnl_wg_peer *p)
{
	return p->has_preshared_key ? p->preshared_key : zero_key;
}

/* fill op as an ADD of desired peer d (aip already canonical) */
static void fill_add(struct gnl_wg_peer_op *op, const struct gnl_wg_peer *d, struct gnl_prefix *aip,
		     size_t naip)
{
	op->kind = GNL_WG_OP_ADD;
	memcpy(op->public_key, d->public_key, GNL_WG_KEY_LEN);
	op->changed = GNL_WG_CH_KEEPALIVE | GNL_WG_CH_ALLOWEDIPS;
	op->persistent_keepalive = d->persistent_keepalive;
	if (d->endpoint.sa.sa_family == AF_INET || d->endpoint.sa.sa_family == AF_INET6) {
		op->changed |= GNL_WG_CH_ENDPOINT;
		op->endpoint = d->endpoint;
	}
	if (d->has_preshared_key && memcmp(d->preshared_key, zero_key, GNL_WG_KEY_LEN)) {
		op->changed |= GNL_WG_CH_PRESHARED_KEY;
		memcpy(op->preshared_key, d->preshared_key, GNL_WG_KEY_LEN);
	}
	op->aip_add = aip;
	op->n_aip_add = naip;
}

/* compute an UPDATE of current c toward desired d; *empty when equal */
static int fill_update(struct gnl_wg_peer_op *op, const struct gnl_wg_peer *d,
		       const struct gnl_wg_peer *c, bool *empty)
{
	struct gnl_prefix *da = NULL, *ca = NULL;
	size_t dn, cn, i = 0, j = 0, cap_add = 0, cap_del = 0;
	int ret;

	memset(op, 0, sizeof(*op));
	op->kind = GNL_WG_OP_UPDATE;
	memcpy(op->public_key, d->public_key, GNL_WG_KEY_LEN);
	if ((d->endpoint.sa.sa_family == AF_INET || d->endpoint.sa.sa_family == AF_INET6) &&
	    !gnl_sockaddr_equal(&d->endpoint, &c->endpoint)) {
		op->changed |= GNL_WG_CH_ENDPOINT;
		op->endpoint = d->endpoint;
	}
	if (d->persistent_keepalive != c->persistent_keepalive) {
		op->changed |= GNL_WG_CH_KEEPALIVE;
		op->persistent_keepalive = d->persistent_keepalive;
	}
	if (memcmp(psk_of(d), psk_of(c), GNL_WG_KEY_LEN)) {
		op->changed |= GNL_WG_CH_PRESHARED_KEY;
		memcpy(op->preshared_key, psk_of(d), GNL_WG_KEY_LEN);
	}
	ret = 0;
	if (aip_same_small(d, c) == 1)
		goto out; /* allowed IPs unchanged, nothing allocated */
	ret = aip_canon(d, &da, &dn);
	if (ret)
		goto out;
	ret = aip_canon(c, &ca, &cn);
	if (ret)
		goto out;
	while (i < dn || j < cn) {
		int r = i >= dn ? 1 : j >= cn ? -1 : gnl_prefix_cmp(&da[i], &ca[j]);
		if (r < 0) {
			ret = aip_push(&op->aip_add, &op->n_aip_add, &cap_add, &da[i++]);
		} else if (r > 0) {
			ret = aip_push(&op->aip_del, &op->n_aip_del, &cap_del, &ca[j++]);
		} else {
			i++;
			j++;
		}
		if (ret)
			goto out;
	}
	if (op->n_aip_add || op->n_aip_del) {
		op->changed |= GNL_WG_CH_ALLOWEDIPS;
		op->aip_all = da;
		op->n_aip_all = dn;
		da = NULL;
	}
out:
	if (!ret)
		*empty = op->changed == 0;
	free(da);
	free(ca);
	if (ret || *empty) {
		op_clear(op);
		memset(op, 0, sizeof(*op));
	}
	return ret;
}

/* cheap "nothing to do" test; false may still turn out empty */
static bool peer_same(const struct gnl_wg_peer *d, const struct gnl_wg_peer *c)
{
	if (d->persistent_keepalive != c->persistent_keepalive)
		return false;
	if ((d->endpoint.sa.sa_family == AF_INET || d->endpoint.sa.sa_family == AF_INET6) &&
	    !gnl_sockaddr_equal(&d->endpoint, &c->endpoint))
		return false;
	if ((d->has_preshared_key || c->has_preshared_key) &&
	    memcmp(psk_of(d), psk_of(c), GNL_WG_KEY_LEN))
		return false;
	return aip_same_small(d, c) == 1;
}

int gnl_wg_diff(const struct gnl_wg_device *desired, const struct gnl_wg_device *current,
		struct gnl_wg_ops **out)
{
	static const struct gnl_wg_device empty_dev;
	struct gnl_wg_ops *ops = NULL;
	size_t *di = NULL, *ci = NULL, i, j;
	size_t *upd_d = NULL, *upd_c = NULL, *add_d = NULL, *rem_c = NULL;
	size_t nupd = 0, nadd = 0, nrem = 0;
	int ret;

	*out = NULL;
	if (!current)
		current = &empty_dev;
	ops = calloc(1, sizeof(*ops));
	di = sorted_index(desired);
	ci = sorted_index(current);
	upd_d = malloc((desired->n_peers + 1) * sizeof(size_t));
	upd_c = malloc((desired->n_peers + 1) * sizeof(size_t));
	add_d = malloc((desired->n_peers + 1) * sizeof(size_t));
	rem_c = malloc((current->n_peers + 1) * sizeof(size_t));
	if (!ops || !di || !ci || !upd_d || !upd_c || !add_d || !rem_c) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 1; i < desired->n_peers; i++)
		if (!key_cmp(desired->peers[di[i - 1]].public_key,
			     desired->peers[di[i]].public_key)) {
			ret = -EINVAL;
			goto out;
		}

	/* device fields: only those the desired device manages */
	if ((desired->flags & GNL_WG_DEV_PRIVATE_KEY) &&
	    (!(current->flags & GNL_WG_DEV_PRIVATE_KEY) ||
	     memcmp(desired->private_key, current->private_key, GNL_WG_KEY_LEN))) {
		ops->dev_changed |= GNL_WG_DEV_PRIVATE_KEY;
		memcpy(ops->private_key, desired->private_key, GNL_WG_KEY_LEN);
	}
	if ((desired->flags & GNL_WG_DEV_LISTEN_PORT) &&
	    (!(current->flags & GNL_WG_DEV_LISTEN_PORT) ||
	     desired->listen_port != current->listen_port)) {
		ops->dev_changed |= GNL_WG_DEV_LISTEN_PORT;
		ops->listen_port = desired->listen_port;
	}
	if ((desired->flags & GNL_WG_DEV_FWMARK) &&
	    (!(current->flags & GNL_WG_DEV_FWMARK) || desired->fwmark != current->fwmark)) {
		ops->dev_changed |= GNL_WG_DEV_FWMARK;
		ops->fwmark = desired->fwmark;
	}

	/* merge the two sorted peer lists */
	i = j = 0;
	while (i < desired->n_peers || j < current->n_peers) {
		int r = i >= desired->n_peers	? 1
			: j >= current->n_peers ? -1
						: key_cmp(desired->peers[di[i]].public_key,
							  current->peers[ci[j]].public_key);
		if (r < 0) {
			add_d[nadd++] = di[i++];
		} else if (r > 0) {
			rem_c[nrem++] = ci[j++];
		} else {
			upd_d[nupd] = di[i++];
			upd_c[nupd++] = ci[j++];
		}
	}
	for (size_t k = 0; k < nrem; k++) {
		struct gnl_wg_peer_op *op = op_push(ops);
		if (!op) {
			ret = -ENOMEM;
			goto out;
		}
		op->kind = GNL_WG_OP_REMOVE;
		memcpy(op->public_key, current->peers[rem_c[k]].public_key, GNL_WG_KEY_LEN);
	}
	for (size_t k = 0; k < nupd; k++) {
		struct gnl_wg_peer_op tmp;
		bool empty = false;
		if (peer_same(&desired->peers[upd_d[k]], &current->peers[upd_c[k]]))
			continue; /* the common case, decided without building an op */
		ret =
		    fill_update(&tmp, &desired->peers[upd_d[k]], &current->peers[upd_c[k]], &empty);
		if (ret)
			goto out;
		if (empty)
			continue;
		struct gnl_wg_peer_op *op = op_push(ops);
		if (!op) {
			op_clear(&tmp);
			ret = -ENOMEM;
			goto out;
		}
		*op = tmp;
		wipe(&tmp, sizeof(tmp));
	}
	for (size_t k = 0; k < nadd; k++) {
		const struct gnl_wg_peer *d = &desired->peers[add_d[k]];
		struct gnl_prefix *aip;
		size_t naip;
		ret = aip_canon(d, &aip, &naip);
		if (ret)
			goto out;
		struct gnl_wg_peer_op *op = op_push(ops);
		if (!op) {
			free(aip);
			ret = -ENOMEM;
			goto out;
		}
		fill_add(op, d, aip, naip);
	}
	*out = ops;
	ops = NULL;
	ret = 0;
out:
	gnl_wg_ops_free(ops);
	free(di);
	free(ci);
	free(upd_d);
	free(upd_c);
	free(add_d);
	free(rem_c);
	return ret;
}

/* ------------------------------------------------- ops on a model */

static int cmp_key_to_idx(const void *key, const void *elem)
{
	return key_cmp(key, sort_dev->peers[*(const size_t *)elem].public_key);
}

static int set_aips(struct gnl_wg_peer *p, const struct gnl_prefix *v, size_t n)
{
	struct gnl_prefix *a = NULL;

	if (n) {
		a = malloc(n * sizeof(*a));
		if (!a)
			return -ENOMEM;
		memcpy(a, v, n * sizeof(*a));
	}
	free(p->allowedips);
	p->allowedips = a;
	p->n_allowedips = p->cap_allowedips = n;
	return 0;
}

int gnl_wg_device_apply_ops(struct gnl_wg_device *dev, const struct gnl_wg_ops *ops)
{
	size_t *idx = NULL, n0 = dev->n_peers, w;
	bool *dead = NULL, was_sorted = false;
	int ret = 0;

	if (ops->dev_changed & GNL_WG_DEV_PRIVATE_KEY) {
		memcpy(dev->private_key, ops->private_key, GNL_WG_KEY_LEN);
		dev->flags |= GNL_WG_DEV_PRIVATE_KEY;
		dev->has_public_key = false; /* derived by the kernel; unknown here */
	}
	if (ops->dev_changed & GNL_WG_DEV_LISTEN_PORT) {
		dev->listen_port = ops->listen_port;
		dev->flags |= GNL_WG_DEV_LISTEN_PORT;
	}
	if (ops->dev_changed & GNL_WG_DEV_FWMARK) {
		dev->fwmark = ops->fwmark;
		dev->flags |= GNL_WG_DEV_FWMARK;
	}
	idx = sorted_index(dev);
	was_sorted = true;
	for (size_t i = 0; idx && i < n0; i++)
		if (idx[i] != i)
			was_sorted = false;
	dead = calloc(n0 + 1, sizeof(*dead));
	if (!idx || !dead) {
		ret = -ENOMEM;
		goto out;
	}
	if (ops->replace_peers)
		for (size_t i = 0; i < n0; i++)
			dead[i] = true;
	for (size_t k = 0; k < ops->n_ops; k++) {
		const struct gnl_wg_peer_op *op = &ops->ops[k];
		struct gnl_wg_peer *p = NULL;
		size_t *hit;

		sort_dev = dev;
		hit = bsearch(op->public_key, idx, n0, sizeof(*idx), cmp_key_to_idx);
		sort_dev = NULL;
		if (hit && dead[*hit] && op->kind != GNL_WG_OP_ADD)
			hit = NULL;
		if (op->kind == GNL_WG_OP_REMOVE) {
			if (hit)
				dead[*hit] = true;
			continue;
		}
		if (hit) {
			p = &dev->peers[*hit];
			dead[*hit] = false;
		} else if (op->kind == GNL_WG_OP_ADD) {
			/* appended after the indexed range: never found by
			 * bsearch, which is right (ops name each key once) */
			ret = gnl_wg_device_add_peer(dev, op->public_key, &p);
			if (ret)
				goto out;
		} else {
			continue; /* UPDATE_ONLY of an absent peer: nothing */
		}
		if (op->kind == GNL_WG_OP_ADD) {
			/* an ADD of an existing peer keeps its session */
			p->has_preshared_key = false;
			memset(p->preshared_key, 0, GNL_WG_KEY_LEN);
		}
		if (op->changed & GNL_WG_CH_ENDPOINT)
			p->endpoint = op->endpoint;
		if (op->changed & GNL_WG_CH_KEEPALIVE)
			p->persistent_keepalive = op->persistent_keepalive;
		if (op->changed & GNL_WG_CH_PRESHARED_KEY) {
			memcpy(p->preshared_key, op->preshared_key, GNL_WG_KEY_LEN);
			p->has_preshared_key =
			    memcmp(op->preshared_key, zero_key, GNL_WG_KEY_LEN) != 0;
		}
		if (op->kind == GNL_WG_OP_ADD) {
			ret = set_aips(p, op->aip_add,
				       (op->changed & GNL_WG_CH_ALLOWEDIPS) ? op->n_aip_add : 0);
		} else if (op->changed & GNL_WG_CH_ALLOWEDIPS) {
			ret = set_aips(p, op->aip_all, op->n_aip_all);
		}
		if (ret)
			goto out;
	}
	/* drop removed peers, keeping order */
	w = 0;
	for (size_t i = 0; i < dev->n_peers; i++) {
		if (i < n0 && dead[i]) {
			peer_clear(&dev->peers[i]);
			continue;
		}
		if (w != i)
			dev->peers[w] = dev->peers[i];
		w++;
	}
	if (w < dev->n_peers)
		memset(&dev->peers[w], 0, (dev->n_peers - w) * sizeof(*dev->peers));
	dev->n_peers = w;
	if (was_sorted && dev->n_peers > n0)
		gnl_wg_device_sort(dev); /* keep the next diff O(n) */
out:
	free(idx);
	free(dead);
	return ret;
}
