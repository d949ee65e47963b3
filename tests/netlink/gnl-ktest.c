/*
 * tests/netlink/gnl-ktest.c - kernel checks of netlink/, run inside the
 * kernel-VM suite (tests/kernel/cases/1*-netlink-*.sh), each in a network
 * namespace its case script created.  Needs root and kernel WireGuard.
 *
 *   gnl-ktest peers            apply 1/100/1000/10000 peers, read back, compare
 *   gnl-ktest incremental      real handshakes, then one-peer changes in 10000
 *   gnl-ktest rtnl OTHERLINK   adopt / refuse / addresses / routes / lookup
 *   gnl-ktest eperm            (run without CAP_NET_ADMIN) permission errors
 *   gnl-ktest dumpintr         dumps during concurrent changes stay consistent
 *   gnl-ktest genkey           print "PRIVATE_HEX PUBLIC_HEX"
 *   gnl-ktest setup IF PRIVHEX ADDR/LEN PORT PEERPUBHEX ENDPOINT ALLOWED ROUTE
 *                              configure a tunnel end through this code only
 *   gnl-ktest route add|del IF TABLE PROTO PREFIX...
 *                              gnl_route_add/del (table 0 = main)
 *   gnl-ktest route list TABLE PROTO
 *                              gnl_route_list_proto: one "PREFIX IFINDEX" a line
 *   gnl-ktest rule add|del|count TABLE PRIORITY
 *                              our rule (both families, suppress_prefixlength 0);
 *                              count prints how many equal rules exist
 *
 * Every failure prints what differed and exits 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netlink/rtnl.h"
#include "netlink/wg.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

#define MUST(expr)                                                                                 \
	do {                                                                                       \
		int r_ = (expr);                                                                   \
		if (r_ < 0) {                                                                      \
			fprintf(stderr, "FATAL %s:%d: %s = %d (%s)\n", __FILE__, __LINE__, #expr,  \
				r_, gnl_strerror(r_));                                             \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void genkey(uint8_t priv[32], uint8_t pub[32])
{
	randombytes_buf(priv, 32);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
	if (pub && crypto_scalarmult_base(pub, priv) != 0)
		exit(1);
}

static void hex(const uint8_t *k, char out[65])
{
	sodium_bin2hex(out, 65, k, 32);
}

static int unhex(const char *s, uint8_t k[32])
{
	size_t n = 0;
	if (sodium_hex2bin(k, 32, s, strlen(s), NULL, &n, NULL) != 0 || n != 32)
		return -EINVAL;
	return 0;
}

static struct gnl_prefix pfx(const char *s)
{
	struct gnl_prefix p;
	if (gnl_prefix_parse(s, &p) < 0) {
		fprintf(stderr, "bad prefix %s\n", s);
		exit(2);
	}
	return p;
}

/* A reproducible-shape peer set: i-th peer gets 1..3 allowed IPs (v4, v6),
 * endpoint v4 or v6, keepalive on every 3rd, PSK on every 5th. */
static void fill_peers(struct gnl_wg_device *d, size_t n, uint32_t salt)
{
	for (size_t i = 0; i < n; i++) {
		struct gnl_wg_peer *p;
		uint8_t k[32];
		char s[96];
		genkey(k, NULL); /* random bytes are as good a key as any here */
		MUST(gnl_wg_device_add_peer(d, k, &p));
		if (i % 2)
			snprintf(s, sizeof(s), "10.%u.%zu.%zu:%zu", 100 + (unsigned)(i >> 16),
				 (i >> 8) & 255, i & 255, 1024 + i % 60000);
		else
			snprintf(s, sizeof(s), "[fd00:250:%x::%zx]:%zu", salt & 0xffff, i + 1,
				 2000 + i % 50000);
		MUST(gnl_sockaddr_parse(s, &p->endpoint));
		p->persistent_keepalive = i % 3 == 0 ? (uint16_t)(10 + i % 50) : 0;
		if (i % 5 == 0) {
			p->has_preshared_key = true;
			randombytes_buf(p->preshared_key, 32);
		}
		snprintf(s, sizeof(s), "10.%u.%zu.%zu/32", 16 + (unsigned)(i >> 16), (i >> 8) & 255,
			 i & 255);
		struct gnl_prefix a = pfx(s);
		MUST(gnl_wg_peer_add_allowedip(p, &a));
		if (i % 2 == 0) {
			snprintf(s, sizeof(s), "fd00:251:%x:%zx::/64", salt & 0xffff, i);
			a = pfx(s);
			MUST(gnl_wg_peer_add_allowedip(p, &a));
		}
		if (i % 7 == 0) {
			/* unique per peer: a prefix claimed twice moves to the
			 * last claimant in the kernel */
			snprintf(s, sizeof(s), "172.%u.%zu.%zu/32", 16 + (unsigned)(i >> 16) % 16,
				 (i >> 8) & 255, i & 255);
			a = pfx(s);
			MUST(gnl_wg_peer_add_allowedip(p, &a));
		}
	}
}

/* peers of a device sorted by key, for O(log n) lookups (the library's
 * gnl_wg_device_find_peer is linear: 10^8 compares for 10 000 x 10 000,
 * minutes under emulation) */
struct index {
	const struct gnl_wg_peer **v;
	size_t n;
};

static int cmp_peerp(const void *a, const void *b)
{
	return memcmp((*(const struct gnl_wg_peer *const *)a)->public_key,
		      (*(const struct gnl_wg_peer *const *)b)->public_key, 32);
}

static int cmp_keyp(const void *key, const void *elem)
{
	return memcmp(key, (*(const struct gnl_wg_peer *const *)elem)->public_key, 32);
}

static struct index index_of(const struct gnl_wg_device *d)
{
	struct index x = {.v = malloc((d->n_peers + 1) * sizeof(*x.v)), .n = d->n_peers};
	if (!x.v)
		exit(1);
	for (size_t i = 0; i < d->n_peers; i++)
		x.v[i] = &d->peers[i];
	qsort(x.v, x.n, sizeof(*x.v), cmp_peerp);
	return x;
}

static const struct gnl_wg_peer *lookup(const struct index *x, const uint8_t key[32])
{
	const struct gnl_wg_peer **p = bsearch(key, x->v, x->n, sizeof(*x->v), cmp_keyp);
	return p ? *p : NULL;
}

/* exact comparison of a read-back device with what was asked */
static void compare(const struct gnl_wg_device *want, const struct gnl_wg_device *got,
		    const char *what)
{
	struct gnl_wg_ops *ops = NULL;
	struct index gx = index_of(got);
	size_t bad = 0;

	CHECK(got->n_peers == want->n_peers, "%s: kernel has %zu peers, wanted %zu", what,
	      got->n_peers, want->n_peers);
	if (want->flags & GNL_WG_DEV_LISTEN_PORT)
		CHECK(got->listen_port == want->listen_port, "%s: port %u != %u", what,
		      got->listen_port, want->listen_port);
	if (want->flags & GNL_WG_DEV_PRIVATE_KEY)
		CHECK(!memcmp(got->private_key, want->private_key, 32), "%s: private key differs",
		      what);
	for (size_t i = 0; i < want->n_peers && bad < 5; i++) {
		const struct gnl_wg_peer *w = &want->peers[i];
		const struct gnl_wg_peer *g = lookup(&gx, w->public_key);
		char a[GNL_SOCKADDR_STRLEN], b[GNL_SOCKADDR_STRLEN];
		if (!g) {
			CHECK(g, "%s: peer %zu missing", what, i);
			bad++;
			continue;
		}
		if (w->endpoint.sa.sa_family)
			CHECK(gnl_sockaddr_equal(&w->endpoint, &g->endpoint),
			      "%s: peer %zu endpoint %s != %s", what, i,
			      gnl_sockaddr_format(&g->endpoint, a, sizeof(a)),
			      gnl_sockaddr_format(&w->endpoint, b, sizeof(b)));
		CHECK(w->persistent_keepalive == g->persistent_keepalive,
		      "%s: peer %zu keepalive %u != %u", what, i, g->persistent_keepalive,
		      w->persistent_keepalive);
		CHECK(
		    w->has_preshared_key == g->has_preshared_key &&
			(!w->has_preshared_key || !memcmp(w->preshared_key, g->preshared_key, 32)),
		    "%s: peer %zu preshared key differs", what, i);
		CHECK(w->n_allowedips == g->n_allowedips,
		      "%s: peer %zu has %zu allowed IPs, wanted %zu", what, i, g->n_allowedips,
		      w->n_allowedips);
		for (size_t j = 0; j < w->n_allowedips; j++) {
			bool found = false;
			for (size_t k = 0; k < g->n_allowedips && !found; k++)
				found = gnl_prefix_cmp(&w->allowedips[j], &g->allowedips[k]) == 0;
			char s[GNL_PREFIX_STRLEN];
			CHECK(found, "%s: peer %zu lacks allowed IP %s", what, i,
			      gnl_prefix_format(&w->allowedips[j], s, sizeof(s)));
		}
		if (failures)
			bad++;
	}
	free(gx.v);
	MUST(gnl_wg_diff(want, got, &ops));
	CHECK(gnl_wg_ops_empty(ops), "%s: diff(wanted, kernel) not empty: %zu ops", what,
	      ops->n_ops);
	gnl_wg_ops_free(ops);
}

static void print_stats(const char *what, double secs, const struct gnl_wg_apply_stats *st)
{
	printf("  %-34s %8.3f s  %4zu msgs %9zu bytes %6zu peers %6zu aips%s\n", what, secs,
	       st->messages, st->bytes, st->peers, st->allowedips,
	       st->aip_replace_fallback ? " (aip replace)" : "");
}

static struct gnl_wg *wg_open_or_die(void)
{
	struct gnl_wg *h;
	int r = gnl_wg_open(&h);
	if (r < 0) {
		fprintf(stderr, "gnl_wg_open: %s: %s\n", gnl_strerror(r), gnl_wg_errmsg(NULL));
		exit(1);
	}
	return h;
}

static struct gnl_rtnl *rt_open_or_die(void)
{
	struct gnl_rtnl *h;
	MUST(gnl_rtnl_open(&h));
	return h;
}

static uint32_t ensure_link(struct gnl_rtnl *rt, const char *name, bool *created)
{
	struct gnl_link_info li;
	int r = gnl_link_ensure_wireguard(rt, name, &li, created);
	if (r < 0) {
		fprintf(stderr, "ensure %s: %s\n", name, gnl_rtnl_errmsg(rt));
		exit(1);
	}
	return li.ifindex;
}

/* ---------------------------------------------------------------- peers */

static int cmd_peers(void)
{
	struct gnl_rtnl *rt = rt_open_or_die();
	struct gnl_wg *wg = wg_open_or_die();
	const size_t sizes[] = {1, 100, 1000, 10000};
	struct gnl_wg_device *want = NULL, *got = NULL;
	struct gnl_wg_apply_stats st;
	bool created;
	double t;

	ensure_link(rt, "gnlt0", &created);
	CHECK(created, "gnlt0 should have been created");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		char what[64];
		gnl_wg_device_free(want);
		MUST(gnl_wg_device_new("gnlt0", &want));
		want->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT | GNL_WG_DEV_FWMARK;
		genkey(want->private_key, NULL);
		want->listen_port = (uint16_t)(40000 + s);
		want->fwmark = (uint32_t)s;
		fill_peers(want, sizes[s], (uint32_t)s);
		/* from the previous set: removes all old peers, adds the new */
		t = now();
		MUST(gnl_wg_sync(wg, want, &st));
		t = now() - t;
		snprintf(what, sizeof(what), "sync to %zu new peers", sizes[s]);
		print_stats(what, t, &st);
		CHECK(st.peers >= sizes[s], "%zu peers sent for %zu", st.peers, sizes[s]);
		t = now();
		MUST(gnl_wg_get_device(wg, "gnlt0", &got));
		printf("  read back %-24zu %8.3f s\n", got->n_peers, now() - t);
		snprintf(what, sizeof(what), "%zu peers", sizes[s]);
		compare(want, got, what);
		gnl_wg_device_free(got);
		got = NULL;
		/* applying the same state again sends nothing */
		MUST(gnl_wg_sync(wg, want, &st));
		CHECK(st.messages == 0 && st.peers == 0, "re-sync of %zu peers sent %zu msgs",
		      sizes[s], st.messages);
	}

	/* replace-all path (setconf semantics) on the 10 000 set */
	t = now();
	MUST(gnl_wg_set_device(wg, want, &st));
	print_stats("set_device (replace) 10000", now() - t, &st);
	MUST(gnl_wg_get_device(wg, "gnlt0", &got));
	compare(want, got, "after set_device");
	gnl_wg_device_free(got);

	/* one peer with 2000 allowed IPs: split on the way in and out */
	{
		struct gnl_wg_device *big;
		struct gnl_wg_peer *p;
		uint8_t k[32];
		MUST(gnl_wg_device_new("gnlt0", &big));
		genkey(k, NULL);
		MUST(gnl_wg_device_add_peer(big, k, &p));
		for (int i = 0; i < 2000; i++) {
			char s[64];
			snprintf(s, sizeof(s), "fd00:252::%x:%x/128", i / 256, i % 256);
			struct gnl_prefix a = pfx(s);
			MUST(gnl_wg_peer_add_allowedip(p, &a));
		}
		gnl_wg_set_msg_limit(wg, 4096);
		MUST(gnl_wg_sync(wg, big, &st));
		print_stats("1 peer x 2000 aips, 4 KiB msgs", 0, &st);
		CHECK(st.messages > 10, "expected a split, got %zu messages", st.messages);
		MUST(gnl_wg_get_device(wg, "gnlt0", &got));
		compare(big, got, "2000 allowed IPs");
		gnl_wg_device_free(got);
		gnl_wg_set_msg_limit(wg, 32768);
		gnl_wg_device_free(big);
	}

	/* errors: not a device / not WireGuard */
	CHECK(gnl_wg_get_device(wg, "gnl-nosuch", &got) == -ENODEV, "missing device");
	printf("  missing device error: %s\n", gnl_wg_errmsg(wg));
	CHECK(gnl_wg_get_device(wg, "lo", &got) == -EOPNOTSUPP, "lo is not wireguard");
	printf("  non-WireGuard device error: %s\n", gnl_wg_errmsg(wg));

	MUST(gnl_link_delete(rt, "gnlt0"));
	gnl_wg_device_free(want);
	gnl_wg_close(wg);
	gnl_rtnl_close(rt);
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------- incremental */

#define NREAL 3

static void poke(const char *addr)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(9)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	inet_pton(AF_INET, addr, &sin.sin_addr);
	if (fd >= 0) {
		(void)sendto(fd, "x", 1, 0, (struct sockaddr *)&sin, sizeof(sin));
		close(fd);
	}
}

static int cmd_incremental(void)
{
	struct gnl_rtnl *rt = rt_open_or_die();
	struct gnl_wg *wg = wg_open_or_die();
	struct gnl_wg_device *want, *snap1 = NULL, *snap2 = NULL;
	struct gnl_wg_apply_stats st;
	uint8_t apriv[32], apub[32], bpriv[NREAL][32], bpub[NREAL][32];
	uint32_t aidx;
	size_t real_idx[NREAL];
	double t;

	genkey(apriv, apub);
	aidx = ensure_link(rt, "gnlA", NULL);
	MUST(gnl_wg_device_new("gnlA", &want));
	want->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT;
	memcpy(want->private_key, apriv, 32);
	want->listen_port = 51000;
	/* 9997 fake peers without keepalive (no traffic toward them) */
	fill_peers(want, 10000 - NREAL, 7);
	for (size_t i = 0; i < want->n_peers; i++)
		want->peers[i].persistent_keepalive = 0;
	for (int i = 0; i < NREAL; i++) {
		struct gnl_wg_device *b;
		struct gnl_wg_peer *p;
		char name[16], s[64];
		genkey(bpriv[i], bpub[i]);
		snprintf(name, sizeof(name), "gnlB%d", i);
		uint32_t bidx = ensure_link(rt, name, NULL);
		MUST(gnl_wg_device_new(name, &b));
		b->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT;
		memcpy(b->private_key, bpriv[i], 32);
		b->listen_port = (uint16_t)(51001 + i);
		MUST(gnl_wg_device_add_peer(b, apub, &p));
		struct gnl_prefix a = pfx("10.250.0.1/32");
		MUST(gnl_wg_peer_add_allowedip(p, &a));
		MUST(gnl_wg_sync(wg, b, &st));
		MUST(gnl_link_set_up(rt, bidx, true));
		gnl_wg_device_free(b);
		/* A's view of this real peer */
		MUST(gnl_wg_device_add_peer(want, bpub[i], &p));
		snprintf(s, sizeof(s), "127.0.0.1:%d", 51001 + i);
		MUST(gnl_sockaddr_parse(s, &p->endpoint));
		snprintf(s, sizeof(s), "10.250.%d.1/32", i + 1);
		a = pfx(s);
		MUST(gnl_wg_peer_add_allowedip(p, &a));
		real_idx[i] = want->n_peers - 1;
	}
	t = now();
	MUST(gnl_wg_sync(wg, want, &st));
	print_stats("apply 10000 peers", now() - t, &st);
	struct gnl_prefix addr = pfx("10.250.0.1/16");
	MUST(gnl_addr_add(rt, aidx, &addr));
	MUST(gnl_link_set_up(rt, aidx, true));

	/* real handshakes with the three real peers */
	t = now();
	bool all = false;
	for (int tries = 0; tries < 100 && !all; tries++) {
		for (int i = 0; i < NREAL; i++) {
			char s[32];
			snprintf(s, sizeof(s), "10.250.%d.1", i + 1);
			poke(s);
		}
		usleep(100000);
		gnl_wg_device_free(snap1);
		MUST(gnl_wg_get_device(wg, "gnlA", &snap1));
		all = true;
		for (int i = 0; i < NREAL; i++) {
			const struct gnl_wg_peer *p = gnl_wg_device_find_peer(snap1, bpub[i]);
			if (!p || p->last_handshake.tv_sec == 0)
				all = false;
		}
	}
	CHECK(all, "no handshake with the real peers");
	printf("  handshakes with %d real peers after %.1f s\n", NREAL, now() - t);
	compare(want, snap1, "10000 with real peers");

	/* 1) one fake peer's endpoint changes: exactly one peer is sent */
	struct gnl_wg_peer *victim = &want->peers[5000];
	MUST(gnl_sockaddr_parse("10.99.99.99:9999", &victim->endpoint));
	t = now();
	MUST(gnl_wg_sync(wg, want, &st));
	print_stats("change 1 endpoint of 10000 (sync)", now() - t, &st);
	CHECK(st.messages == 1 && st.peers == 1 && st.allowedips == 0,
	      "endpoint change sent %zu msgs, %zu peers, %zu aips", st.messages, st.peers,
	      st.allowedips);
	CHECK(st.bytes < 200, "endpoint change took %zu bytes", st.bytes);

	/* 2) one real peer gains an allowed IP: one peer, one prefix */
	struct gnl_wg_peer *rp = &want->peers[real_idx[1]];
	struct gnl_prefix extra = pfx("10.251.0.0/24");
	MUST(gnl_wg_peer_add_allowedip(rp, &extra));
	t = now();
	MUST(gnl_wg_sync(wg, want, &st));
	print_stats("add 1 allowed IP to a real peer", now() - t, &st);
	CHECK(st.messages == 1 && st.peers == 1 && st.allowedips == 1, "aip add sent %zu/%zu/%zu",
	      st.messages, st.peers, st.allowedips);

	/* 3) and loses it again: one peer (replace fallback on old kernels) */
	rp->n_allowedips--;
	t = now();
	MUST(gnl_wg_sync(wg, want, &st));
	print_stats("remove 1 allowed IP of a real peer", now() - t, &st);
	printf("  kernel allowed-IP removal flag: %s\n", gnl_wg_aip_remove_supported(wg) == 1
							     ? "supported"
							     : "not supported (replace fallback)");
	/* the first removal on a handle also sends a one-peer support probe */
	CHECK(st.messages <= 2 && st.peers == 1, "aip removal sent %zu msgs %zu peers", st.messages,
	      st.peers);

	/* 4) remove one fake peer, add one new */
	{
		uint8_t k[32];
		struct gnl_wg_peer *np;
		/* swap-remove fake peer 10, add a new one */
		struct gnl_wg_peer gone = want->peers[10];
		free(gone.allowedips);
		want->peers[10] = want->peers[want->n_peers - 1];
		want->n_peers--;
		for (int i = 0; i < NREAL; i++)
			if (real_idx[i] == want->n_peers)
				real_idx[i] = 10;
		genkey(k, NULL);
		MUST(gnl_wg_device_add_peer(want, k, &np));
		struct gnl_prefix a = pfx("10.252.0.1/32");
		MUST(gnl_wg_peer_add_allowedip(np, &a));
	}
	t = now();
	MUST(gnl_wg_sync(wg, want, &st));
	print_stats("remove 1 peer + add 1 peer", now() - t, &st);
	CHECK(st.peers == 2, "remove+add sent %zu peers", st.peers);

	/* the other peers' state is untouched: sessions and counters survive */
	t = now();
	MUST(gnl_wg_get_device(wg, "gnlA", &snap2));
	compare(want, snap2, "after incremental changes");
	printf("  read back and compared in %.3f s\n", now() - t);
	for (int i = 0; i < NREAL; i++) {
		const struct gnl_wg_peer *a = gnl_wg_device_find_peer(snap1, bpub[i]);
		const struct gnl_wg_peer *b = gnl_wg_device_find_peer(snap2, bpub[i]);
		CHECK(a && b, "real peer %d vanished", i);
		if (!a || !b)
			continue;
		CHECK(b->last_handshake.tv_sec == a->last_handshake.tv_sec &&
			  b->last_handshake.tv_nsec == a->last_handshake.tv_nsec,
		      "real peer %d: handshake changed (%ld -> %ld): session was reset", i,
		      (long)a->last_handshake.tv_sec, (long)b->last_handshake.tv_sec);
		CHECK(b->tx_bytes >= a->tx_bytes && b->rx_bytes >= a->rx_bytes && a->tx_bytes > 0,
		      "real peer %d: counters went back (tx %llu -> %llu)", i,
		      (unsigned long long)a->tx_bytes, (unsigned long long)b->tx_bytes);
		printf("  real peer %d: handshake %ld kept, rx %llu tx %llu\n", i,
		       (long)b->last_handshake.tv_sec, (unsigned long long)b->rx_bytes,
		       (unsigned long long)b->tx_bytes);
	}
	size_t moved = 0;
	struct index x2 = index_of(snap2);
	for (size_t i = 0; i < snap1->n_peers; i++) {
		const struct gnl_wg_peer *a = &snap1->peers[i];
		const struct gnl_wg_peer *b = lookup(&x2, a->public_key);
		if (b && !gnl_sockaddr_equal(&a->endpoint, &b->endpoint))
			moved++;
	}
	free(x2.v);
	CHECK(moved == 1, "%zu peers changed endpoint, expected 1", moved);

	for (int i = 0; i < NREAL; i++) {
		char name[16];
		snprintf(name, sizeof(name), "gnlB%d", i);
		MUST(gnl_link_delete(rt, name));
	}
	t = now();
	MUST(gnl_link_set_up(rt, aidx, false));
	printf("  down in %.3f s\n", now() - t);
	t = now();
	{
		struct gnl_wg_device *none;
		MUST(gnl_wg_device_new("gnlA", &none));
		MUST(gnl_wg_set_device(wg, none, &st));
		gnl_wg_device_free(none);
	}
	printf("  all peers removed in %.3f s\n", now() - t);
	t = now();
	MUST(gnl_link_delete(rt, "gnlA"));
	printf("  deleted in %.3f s\n", now() - t);
	gnl_wg_device_free(snap1);
	gnl_wg_device_free(snap2);
	gnl_wg_device_free(want);
	gnl_wg_close(wg);
	gnl_rtnl_close(rt);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------ dumpintr */

/* Dumps of 10 000 peers while another socket keeps adding and removing
 * peers: every dump returned must be a consistent snapshot (all the fixed
 * peers exactly once); inconsistent ones must have been retried.  The gap
 * between changes is three times a quiet dump's duration (at least 150
 * ms), measured first: about a third of the dumps overlap a change however
 * slow the machine (the VM emulates the CPU, and a loaded host slows it
 * further), so retries happen and a retried dump can still complete. */
struct churn {
	volatile int stop;
	int err;
	unsigned long changes;
	useconds_t gap_us;
};

static void *churn_main(void *arg)
{
	struct churn *c = arg;
	struct gnl_wg *wg = wg_open_or_die();
	uint8_t k[32];

	genkey(k, NULL);
	while (!c->stop) {
		struct gnl_wg_ops ops = {0};
		struct gnl_wg_peer_op op = {.kind = (c->changes & 1) ? GNL_WG_OP_REMOVE
								     : GNL_WG_OP_ADD};
		memcpy(op.public_key, k, 32);
		ops.ops = &op;
		ops.n_ops = ops.cap_ops = 1;
		int r = gnl_wg_apply(wg, "gnlD", &ops, NULL);
		if (r < 0) {
			c->err = r;
			break;
		}
		if (c->changes & 1)
			genkey(k, NULL); /* a new key each round: new list positions */
		c->changes++;
		usleep(c->gap_us);
	}
	gnl_wg_close(wg);
	return NULL;
}

static int cmd_dumpintr(void)
{
	struct gnl_rtnl *rt = rt_open_or_die();
	struct gnl_wg *wg = wg_open_or_die();
	struct gnl_wg_device *want, *got = NULL;
	struct gnl_wg_apply_stats st;
	struct churn c = {0};
	pthread_t th;
	int ok = 0, again = 0;

	ensure_link(rt, "gnlD", NULL);
	MUST(gnl_wg_device_new("gnlD", &want));
	fill_peers(want, 10000, 3);
	MUST(gnl_wg_sync(wg, want, &st));
	double t0 = now();
	MUST(gnl_wg_get_device(wg, "gnlD", &got)); /* a quiet dump: its duration */
	double quiet = now() - t0;
	gnl_wg_device_free(got);
	got = NULL;
	c.gap_us = (useconds_t)(quiet * 3e6 > 150000 ? quiet * 3e6 : 150000);
	printf("  quiet dump %.3f s: a change every %.3f s\n", quiet, c.gap_us / 1e6);
	if (pthread_create(&th, NULL, churn_main, &c) != 0)
		return 1;
	for (int i = 0; i < 12; i++) {
		int r = gnl_wg_get_device(wg, "gnlD", &got);
		if (r == -EAGAIN) {
			again++;
			continue;
		}
		MUST(r);
		struct index x = index_of(got);
		size_t missing = 0, dups = 0;
		for (size_t j = 1; j < x.n; j++)
			if (!memcmp(x.v[j - 1]->public_key, x.v[j]->public_key, 32))
				dups++;
		for (size_t j = 0; j < want->n_peers; j++)
			if (!lookup(&x, want->peers[j].public_key))
				missing++;
		free(x.v);
		CHECK(dups == 0 && missing == 0 && (got->n_peers == 10000 || got->n_peers == 10001),
		      "dump %d inconsistent: %zu peers, %zu duplicates, %zu missing", i,
		      got->n_peers, dups, missing);
		ok++;
		gnl_wg_device_free(got);
		got = NULL;
	}
	c.stop = 1;
	pthread_join(th, NULL);
	CHECK(c.err == 0, "churn thread: %s", gnl_strerror(c.err));
	printf("  %d consistent dumps, %d gave up (-EAGAIN), %lu interrupted dumps retried, %lu "
	       "concurrent changes\n",
	       ok, again, gnl_wg_dump_retries(wg), c.changes);
	CHECK(ok > 0, "no dump completed");
	/* clear peers before deleting (fast teardown) */
	struct gnl_wg_device *none;
	MUST(gnl_wg_device_new("gnlD", &none));
	MUST(gnl_wg_set_device(wg, none, &st));
	gnl_wg_device_free(none);
	MUST(gnl_link_delete(rt, "gnlD"));
	gnl_wg_device_free(want);
	gnl_wg_close(wg);
	gnl_rtnl_close(rt);
	return failures ? 1 : 0;
}

/* ----------------------------------------------------------------- rtnl */

static int cmd_rtnl(const char *other)
{
	struct gnl_rtnl *rt = rt_open_or_die();
	struct gnl_link_info li, li2;
	struct gnl_prefix *addrs;
	struct gnl_route *routes;
	size_t n;
	bool created;
	int r;

	MUST(gnl_link_ensure_wireguard(rt, "gnlr0", &li, &created));
	CHECK(created, "first ensure creates");
	CHECK(!strcmp(li.kind, "wireguard"), "kind %s", li.kind);
	MUST(gnl_link_ensure_wireguard(rt, "gnlr0", &li2, &created));
	CHECK(!created, "second ensure adopts");
	CHECK(li2.ifindex == li.ifindex, "ifindex changed %u -> %u: recreated", li.ifindex,
	      li2.ifindex);

	r = gnl_link_ensure_wireguard(rt, other, &li2, &created);
	CHECK(r == -EEXIST, "non-WireGuard %s: %d", other, r);
	printf("  refusing %s: %s\n", other, gnl_rtnl_errmsg(rt));
	CHECK(strstr(gnl_rtnl_errmsg(rt), "not WireGuard") != NULL, "message: %s",
	      gnl_rtnl_errmsg(rt));
	MUST(gnl_link_get(rt, other, &li2));
	CHECK(strcmp(li2.kind, "wireguard") != 0, "other link untouched (kind %s)", li2.kind);

	MUST(gnl_link_set_mtu(rt, li.ifindex, 1380));
	MUST(gnl_link_set_up(rt, li.ifindex, true));
	MUST(gnl_link_get(rt, "gnlr0", &li2));
	CHECK(li2.mtu == 1380 && li2.up, "mtu %u up %d", li2.mtu, li2.up);

	struct gnl_prefix a4 = pfx("10.250.7.1/24"), a6 = pfx("fd00:250:7::1/64");
	MUST(gnl_addr_add(rt, li.ifindex, &a4));
	MUST(gnl_addr_add(rt, li.ifindex, &a6));
	MUST(gnl_addr_add(rt, li.ifindex, &a4)); /* idempotent */
	MUST(gnl_addr_list(rt, li.ifindex, AF_UNSPEC, &addrs, &n));
	size_t found = 0;
	for (size_t i = 0; i < n; i++) {
		char s[GNL_PREFIX_STRLEN];
		gnl_prefix_format(&addrs[i], s, sizeof(s));
		if (!strcmp(s, "10.250.7.1/24") || !strcmp(s, "fd00:250:7::1/64"))
			found++;
	}
	free(addrs);
	CHECK(found == 2, "addresses listed: %zu of 2", found);
	MUST(gnl_addr_del(rt, li.ifindex, &a4));
	MUST(gnl_addr_del(rt, li.ifindex, &a4)); /* absent: fine */
	MUST(gnl_addr_list(rt, li.ifindex, AF_INET, &addrs, &n));
	CHECK(n == 0, "%zu v4 addresses left", n);
	free(addrs);

	struct gnl_route r1 = {.dst = pfx("10.250.99.0/24"), .ifindex = li.ifindex, .mtu = 1300};
	struct gnl_route r2 = {
	    .dst = pfx("fd00:250:99::/48"), .ifindex = li.ifindex, .table = 1234};
	MUST(gnl_route_add(rt, &r1));
	MUST(gnl_route_add(rt, &r1));
	MUST(gnl_route_add(rt, &r2));
	MUST(gnl_route_list(rt, li.ifindex, 0, &routes, &n));
	found = 0;
	for (size_t i = 0; i < n; i++) {
		char s[GNL_PREFIX_STRLEN];
		if (!strcmp(gnl_prefix_format(&routes[i].dst, s, sizeof(s)), "10.250.99.0/24")) {
			found++;
			CHECK(routes[i].mtu == 1300, "route mtu %u", routes[i].mtu);
		}
	}
	free(routes);
	CHECK(found == 1, "main-table route found %zu times", found);
	MUST(gnl_route_list(rt, li.ifindex, 1234, &routes, &n));
	CHECK(n == 1, "table 1234 has %zu routes", n);
	free(routes);

	union gnl_sockaddr dst;
	struct gnl_route_lookup lk;
	MUST(gnl_sockaddr_parse("10.250.99.7:0", &dst));
	MUST(gnl_route_lookup(rt, &dst, &lk));
	CHECK(lk.ifindex == li.ifindex && lk.mtu == 1300, "lookup: if %u mtu %u", lk.ifindex,
	      lk.mtu);
	MUST(gnl_sockaddr_parse("[fd00:250:7::9]:0", &dst));
	MUST(gnl_route_lookup(rt, &dst, &lk));
	CHECK(lk.ifindex == li.ifindex && lk.mtu == 1380, "lookup v6 connected: if %u mtu %u",
	      lk.ifindex, lk.mtu);
	MUST(gnl_sockaddr_parse("10.77.0.1:0", &dst));
	r = gnl_route_lookup(rt, &dst, &lk);
	CHECK(r == -ENETUNREACH || r == -EHOSTUNREACH, "no route: %d", r);
	printf("  no-route lookup: %s\n", gnl_rtnl_errmsg(rt));

	MUST(gnl_route_del(rt, &r1));
	MUST(gnl_route_del(rt, &r1));
	MUST(gnl_route_del(rt, &r2));
	MUST(gnl_route_list(rt, li.ifindex, 1234, &routes, &n));
	CHECK(n == 0, "table 1234 has %zu routes after removal", n);
	free(routes);

	/* a kernel rejection with extended ACK text */
	r = gnl_link_set_mtu(rt, li.ifindex, 0x80000000u); /* negative as int */
	CHECK(r == -EINVAL, "mtu 2^31: %d", r);
	CHECK(strstr(gnl_rtnl_errmsg(rt), "mtu") != NULL, "extack text: %s", gnl_rtnl_errmsg(rt));
	printf("  kernel rejection: %s\n", gnl_rtnl_errmsg(rt));

	MUST(gnl_link_delete(rt, "gnlr0"));
	CHECK(gnl_link_get(rt, "gnlr0", &li2) == -ENODEV, "deleted");
	gnl_rtnl_close(rt);
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- eperm */

/* run without CAP_NET_ADMIN: clear permission errors, nothing created */
static int cmd_eperm(void)
{
	struct gnl_rtnl *rt = rt_open_or_die();
	struct gnl_link_info li;
	struct gnl_wg *wg = NULL;
	struct gnl_wg_device *d = NULL;
	int r;

	r = gnl_link_ensure_wireguard(rt, "gnle0", &li, NULL);
	CHECK(r == -EPERM, "unprivileged link creation: %d", r);
	printf("  link: %s\n", gnl_rtnl_errmsg(rt));
	CHECK(strstr(gnl_rtnl_errmsg(rt), "permission denied") != NULL, "message: %s",
	      gnl_rtnl_errmsg(rt));
	r = gnl_wg_open(&wg);
	if (r == 0) {
		r = gnl_wg_get_device(wg, "lo", &d);
		CHECK(r == -EPERM, "unprivileged get: %d", r);
		printf("  wireguard: %s\n", gnl_wg_errmsg(wg));
		CHECK(strstr(gnl_wg_errmsg(wg), "CAP_NET_ADMIN") != NULL, "message: %s",
		      gnl_wg_errmsg(wg));
	} else {
		CHECK(r == -EPERM || r == -EACCES, "open: %d", r);
		printf("  wireguard: %s\n", gnl_wg_errmsg(NULL));
	}
	gnl_wg_close(wg);
	gnl_rtnl_close(rt);
	return failures ? 1 : 0;
}

/* ---------------------------------------------------------------- setup */

static int cmd_genkey(void)
{
	uint8_t priv[32], pub[32];
	char a[65], b[65];
	genkey(priv, pub);
	hex(priv, a);
	hex(pub, b);
	printf("%s %s\n", a, b);
	return 0;
}

static int cmd_setup(char **av)
{
	struct gnl_rtnl *rt = rt_open_or_die();
	struct gnl_wg *wg = wg_open_or_die();
	struct gnl_wg_device *d;
	struct gnl_wg_peer *p;
	struct gnl_wg_apply_stats st;
	uint8_t peer[32];
	uint32_t idx;

	idx = ensure_link(rt, av[0], NULL);
	MUST(gnl_wg_device_new(av[0], &d));
	d->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT;
	MUST(unhex(av[1], d->private_key));
	d->listen_port = (uint16_t)atoi(av[3]);
	MUST(unhex(av[4], peer));
	MUST(gnl_wg_device_add_peer(d, peer, &p));
	MUST(gnl_sockaddr_parse(av[5], &p->endpoint));
	struct gnl_prefix a = pfx(av[6]);
	MUST(gnl_wg_peer_add_allowedip(p, &a));
	if (gnl_wg_sync(wg, d, &st) < 0) {
		fprintf(stderr, "sync: %s\n", gnl_wg_errmsg(wg));
		return 1;
	}
	a = pfx(av[2]);
	MUST(gnl_addr_add(rt, idx, &a));
	MUST(gnl_link_set_up(rt, idx, true));
	struct gnl_route r = {.dst = pfx(av[7]), .ifindex = idx};
	MUST(gnl_route_add(rt, &r));
	gnl_wg_device_free(d);
	gnl_wg_close(wg);
	gnl_rtnl_close(rt);
	return 0;
}

/* route add|del IF TABLE PROTO PREFIX... / route list TABLE PROTO */
static int cmd_route(int argc, char **argv)
{
	struct gnl_rtnl *rt;
	MUST(gnl_rtnl_open(&rt));
	if (!strcmp(argv[0], "list") && argc >= 3) {
		struct gnl_route *v = NULL;
		size_t n = 0;
		MUST(gnl_route_list_proto(rt, (uint32_t)atol(argv[1]), (uint8_t)atoi(argv[2]), &v,
					  &n));
		for (size_t i = 0; i < n; i++) {
			char s[GNL_PREFIX_STRLEN];
			printf("%s %u\n", gnl_prefix_format(&v[i].dst, s, sizeof(s)), v[i].ifindex);
		}
		free(v);
		gnl_rtnl_close(rt);
		return 0;
	}
	if (argc < 5)
		return 2;
	struct gnl_link_info li;
	MUST(gnl_link_get(rt, argv[1], &li));
	for (int i = 4; i < argc; i++) {
		struct gnl_route r = {.dst = pfx(argv[i]),
				      .ifindex = li.ifindex,
				      .table = (uint32_t)atol(argv[2]),
				      .protocol = (uint8_t)atoi(argv[3])};
		if (!strcmp(argv[0], "add"))
			MUST(gnl_route_add(rt, &r));
		else
			MUST(gnl_route_del(rt, &r));
	}
	gnl_rtnl_close(rt);
	return 0;
}

/* rule add|del|count TABLE PRIORITY */
static int cmd_rule(char **argv)
{
	static const int fams[2] = {AF_INET, AF_INET6};
	struct gnl_rtnl *rt;
	size_t count = 0;
	MUST(gnl_rtnl_open(&rt));
	for (int i = 0; i < 2; i++) {
		struct gnl_rule r = {.family = fams[i],
				     .table = (uint32_t)atol(argv[1]),
				     .priority = (uint32_t)atol(argv[2]),
				     .suppress_prefixlen = 0,
				     .protocol = 77};
		if (!strcmp(argv[0], "add")) {
			MUST(gnl_rule_add(rt, &r));
		} else if (!strcmp(argv[0], "del")) {
			MUST(gnl_rule_del(rt, &r));
		} else {
			struct gnl_rule *v = NULL;
			size_t n = 0;
			MUST(gnl_rule_list(rt, fams[i], &v, &n));
			for (size_t k = 0; k < n; k++)
				count += gnl_rule_equal(&v[k], &r);
			free(v);
		}
	}
	if (!strcmp(argv[0], "count"))
		printf("%zu\n", count);
	gnl_rtnl_close(rt);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sodium_init() < 0)
		return 1;
	if (argc >= 2 && !strcmp(argv[1], "peers"))
		return cmd_peers();
	if (argc >= 2 && !strcmp(argv[1], "incremental"))
		return cmd_incremental();
	if (argc >= 3 && !strcmp(argv[1], "rtnl"))
		return cmd_rtnl(argv[2]);
	if (argc >= 2 && !strcmp(argv[1], "dumpintr"))
		return cmd_dumpintr();
	if (argc >= 2 && !strcmp(argv[1], "eperm"))
		return cmd_eperm();
	if (argc >= 2 && !strcmp(argv[1], "genkey"))
		return cmd_genkey();
	if (argc >= 10 && !strcmp(argv[1], "setup"))
		return cmd_setup(argv + 2);
	if (argc >= 3 && !strcmp(argv[1], "route"))
		return cmd_route(argc - 2, argv + 2);
	if (argc >= 5 && !strcmp(argv[1], "rule"))
		return cmd_rule(argv + 2);
	fprintf(stderr, "usage: see the comment at the top of gnl-ktest.c\n");
	return 2;
}
