/*
 * bench/netlink.c - netlink/ against wireguard-tools on the same kernel.
 *
 * Run as root where kernel WireGuard exists, e.g. in the test VM:
 *   ../shared/kernel-vm/wg-vm.sh -m 1024 -- build/bench/netlink [N ...]
 * (default N = 1000 10000).  For each N, on fresh interfaces:
 *   apply      netlink/ gnl_wg_sync of N new peers  vs  `wg setconf`
 *   read back  gnl_wg_get_device                     vs  `wg showconf`
 *   change 1   one endpoint changed among N:
 *                gnl_wg_sync (dump + diff + 1-peer apply),
 *                diff against a cached device + apply (the daemon's path),
 *              vs `wg syncconf` of the whole file
 * Times are wall-clock medians of REPS runs where repeatable (read back,
 * change 1 by sync; the cached path is a mean of CACHED_REPS because the
 * VM's clock advances in 4 ms ticks); the apply is measured once per tool
 * on a fresh interface.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netlink/rtnl.h"
#include "netlink/wg.h"

#define REPS	    5
#define CACHED_REPS 50

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int r, const char *msg)
{
	fprintf(stderr, "bench/netlink: %s: %s%s%s\n", what, gnl_strerror(r),
		msg && *msg ? ": " : "", msg ? msg : "");
	exit(1);
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmpd);
	return v[n / 2];
}

static void b64(const uint8_t k[32], char out[45])
{
	sodium_bin2base64(out, 45, k, 32, sodium_base64_VARIANT_ORIGINAL);
}

static void set_endpoint(struct gnl_wg_peer *p, size_t i, unsigned int port_base)
{
	char s[64];
	snprintf(s, sizeof(s), "10.%zu.%zu.%zu:%u", 100 + (i >> 16), (i >> 8) & 255, i & 255,
		 port_base + (unsigned int)(i % 1000));
	if (gnl_sockaddr_parse(s, &p->endpoint) < 0)
		exit(1);
}

static struct gnl_wg_device *make_set(const char *ifname, size_t n)
{
	struct gnl_wg_device *d;
	if (gnl_wg_device_new(ifname, &d) < 0)
		exit(1);
	d->flags = GNL_WG_DEV_PRIVATE_KEY | GNL_WG_DEV_LISTEN_PORT;
	randombytes_buf(d->private_key, 32);
	d->private_key[0] &= 248;
	d->private_key[31] = (d->private_key[31] & 127) | 64;
	d->listen_port = 0;
	for (size_t i = 0; i < n; i++) {
		struct gnl_wg_peer *p;
		uint8_t k[32];
		char s[64];
		randombytes_buf(k, 32);
		if (gnl_wg_device_add_peer(d, k, &p) < 0)
			exit(1);
		set_endpoint(p, i, 20000);
		p->persistent_keepalive = i % 4 ? 0 : 25;
		struct gnl_prefix a;
		snprintf(s, sizeof(s), "10.%zu.%zu.%zu/32", 16 + (i >> 16), (i >> 8) & 255,
			 i & 255);
		gnl_prefix_parse(s, &a);
		gnl_wg_peer_add_allowedip(p, &a);
		snprintf(s, sizeof(s), "fd00:250:%zx::/64", i);
		gnl_prefix_parse(s, &a);
		gnl_wg_peer_add_allowedip(p, &a);
	}
	return d;
}

/* the same set as a wg(8) configuration file */
static void write_conf(const struct gnl_wg_device *d, const char *path)
{
	FILE *f = fopen(path, "w");
	char k[45], e[GNL_SOCKADDR_STRLEN], a[GNL_PREFIX_STRLEN];

	if (!f)
		exit(1);
	b64(d->private_key, k);
	fprintf(f, "[Interface]\nPrivateKey = %s\n", k);
	for (size_t i = 0; i < d->n_peers; i++) {
		const struct gnl_wg_peer *p = &d->peers[i];
		b64(p->public_key, k);
		fprintf(f, "\n[Peer]\nPublicKey = %s\nEndpoint = %s\n", k,
			gnl_sockaddr_format(&p->endpoint, e, sizeof(e)));
		if (p->persistent_keepalive)
			fprintf(f, "PersistentKeepalive = %u\n", p->persistent_keepalive);
		fprintf(f, "AllowedIPs = ");
		for (size_t j = 0; j < p->n_allowedips; j++)
			fprintf(f, "%s%s", j ? ", " : "",
				gnl_prefix_format(&p->allowedips[j], a, sizeof(a)));
		fprintf(f, "\n");
	}
	fclose(f);
}

static double run(const char *cmd)
{
	double t = now();
	int r = system(cmd);
	t = now() - t;
	if (r != 0) {
		fprintf(stderr, "bench/netlink: '%s' failed (%d)\n", cmd, r);
		return -1;
	}
	return t;
}

static void row(const char *what, double ours, const char *ours_how, double wg, const char *wg_how)
{
	if (wg > 0)
		printf("  %-10s %-38s %9.2f ms   %-18s %9.2f ms   x%.1f\n", what, ours_how,
		       ours * 1e3, wg_how, wg * 1e3, wg / ours);
	else
		printf("  %-10s %-38s %9.2f ms\n", what, ours_how, ours * 1e3);
}

static void bench_n(struct gnl_rtnl *rt, struct gnl_wg *wg, size_t n, bool have_wg)
{
	const char *ours = "gnlb-ours", *theirs = "gnlb-wg";
	struct gnl_link_info li;
	struct gnl_wg_apply_stats st;
	struct gnl_wg_device *want, *got = NULL, *cache = NULL;
	double t_apply, t_get, t_sync, t_cached, t_wset = -1, t_wshow = -1, t_wsync = -1;
	double v[REPS], w[REPS];
	char cmd[256];
	int r;

	gnl_link_delete(rt, ours);
	gnl_link_delete(rt, theirs);
	if ((r = gnl_link_ensure_wireguard(rt, ours, &li, NULL)) < 0)
		die("create link", r, gnl_rtnl_errmsg(rt));
	if ((r = gnl_link_ensure_wireguard(rt, theirs, &li, NULL)) < 0)
		die("create link", r, gnl_rtnl_errmsg(rt));
	want = make_set(ours, n);
	gnl_wg_device_sort(want); /* a daemon keeps its desired set sorted */
	printf("\n%zu peers (2 allowed IPs each):\n", n);

	/* apply */
	t_apply = now();
	if ((r = gnl_wg_sync(wg, want, &st)) < 0)
		die("apply", r, gnl_wg_errmsg(wg));
	t_apply = now() - t_apply;
	size_t apply_msgs = st.messages, apply_bytes = st.bytes;
	if (have_wg) {
		write_conf(want, "/tmp/gnlb.conf");
		snprintf(cmd, sizeof(cmd), "wg setconf %s /tmp/gnlb.conf", theirs);
		t_wset = run(cmd);
	}
	char how[64];
	snprintf(how, sizeof(how), "gnl_wg_sync (%zu msgs, %zu KiB)", apply_msgs,
		 apply_bytes / 1024);
	row("apply", t_apply, how, t_wset, "wg setconf");

	/* read back */
	for (int i = 0; i < REPS; i++) {
		gnl_wg_device_free(got);
		v[i] = now();
		if ((r = gnl_wg_get_device(wg, ours, &got)) < 0)
			die("get", r, gnl_wg_errmsg(wg));
		v[i] = now() - v[i];
		if (got->n_peers != n)
			die("get: wrong peer count", -EBADMSG, NULL);
		if (have_wg) {
			snprintf(cmd, sizeof(cmd), "wg showconf %s > /dev/null", theirs);
			w[i] = run(cmd);
		}
	}
	t_get = median(v, REPS);
	if (have_wg)
		t_wshow = median(w, REPS);
	row("read back", t_get, "gnl_wg_get_device", t_wshow, "wg showconf");

	/* change one endpoint: full sync (dump + diff + apply) */
	for (int i = 0; i < REPS; i++) {
		set_endpoint(&want->peers[n / 2], (size_t)i + 1, 30000);
		v[i] = now();
		if ((r = gnl_wg_sync(wg, want, &st)) < 0)
			die("sync", r, gnl_wg_errmsg(wg));
		v[i] = now() - v[i];
		if (st.peers != 1)
			die("sync sent more than one peer", -EBADMSG, NULL);
		if (have_wg) {
			write_conf(want, "/tmp/gnlb2.conf");
			snprintf(cmd, sizeof(cmd), "wg syncconf %s /tmp/gnlb2.conf", theirs);
			w[i] = run(cmd);
		}
	}
	t_sync = median(v, REPS);
	if (have_wg)
		t_wsync = median(w, REPS);
	row("change 1", t_sync, "gnl_wg_sync (dump+diff+1 peer)", t_wsync, "wg syncconf");

	/* change one endpoint against a cached device: diff + apply only.
	 * Mean of CACHED_REPS (the VM's clock ticks in 4 ms steps). */
	if ((r = gnl_wg_get_device(wg, ours, &cache)) < 0)
		die("get", r, gnl_wg_errmsg(wg));
	gnl_wg_device_sort(cache);
	t_cached = now();
	for (int i = 0; i < CACHED_REPS; i++) {
		struct gnl_wg_ops *ops = NULL;
		set_endpoint(&want->peers[n / 3], (size_t)i + 7, 40000);
		if ((r = gnl_wg_diff(want, cache, &ops)) < 0)
			die("diff", r, NULL);
		if ((r = gnl_wg_apply(wg, ours, ops, &st)) < 0)
			die("apply", r, gnl_wg_errmsg(wg));
		if ((r = gnl_wg_device_apply_ops(cache, ops)) < 0)
			die("apply to cache", r, NULL);
		if (st.peers != 1)
			die("cached change sent more than one peer", -EBADMSG, NULL);
		gnl_wg_ops_free(ops);
	}
	t_cached = (now() - t_cached) / CACHED_REPS;
	row("change 1", t_cached, "diff vs cache + apply (1 peer)", t_wsync, "wg syncconf");
	/* the kernel really has what the cache says */
	gnl_wg_device_free(got);
	got = NULL;
	if ((r = gnl_wg_get_device(wg, ours, &got)) < 0)
		die("get", r, gnl_wg_errmsg(wg));
	struct gnl_wg_ops *chk = NULL;
	if ((r = gnl_wg_diff(want, got, &chk)) < 0 || !gnl_wg_ops_empty(chk))
		die("kernel differs from the desired set after the cached changes", -EBADMSG, NULL);
	gnl_wg_ops_free(chk);

	gnl_wg_device_free(got);
	gnl_wg_device_free(cache);
	gnl_wg_device_free(want);
	gnl_link_delete(rt, ours);
	gnl_link_delete(rt, theirs);
}

int main(int argc, char **argv)
{
	struct gnl_rtnl *rt;
	struct gnl_wg *wg;
	bool have_wg;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sodium_init() < 0)
		return 1;
	if ((r = gnl_rtnl_open(&rt)) < 0)
		die("rtnl", r, NULL);
	if ((r = gnl_wg_open(&wg)) < 0)
		die("wireguard", r, gnl_wg_errmsg(NULL));
	have_wg = system("command -v wg >/dev/null 2>&1") == 0;
	if (getenv("GNL_BENCH_MSG_LIMIT")) /* e.g. 8192, 131072: message size trade-off */
		gnl_wg_set_msg_limit(wg, strtoul(getenv("GNL_BENCH_MSG_LIMIT"), NULL, 10));
	printf("bench/netlink: netlink/ vs wireguard-tools%s; medians of %d where repeated; last "
	       "column: wg time / ours\n",
	       have_wg ? "" : " (wg not installed: ours only)", REPS);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			bench_n(rt, wg, (size_t)strtoul(argv[i], NULL, 10), have_wg);
	} else {
		bench_n(rt, wg, 1000, have_wg);
		bench_n(rt, wg, 10000, have_wg);
	}
	gnl_wg_close(wg);
	gnl_rtnl_close(rt);
	return 0;
}
