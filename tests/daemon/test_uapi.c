/* tests/daemon/test_uapi.c - the wireguard-go UAPI: serialization of the
 * netlink/ op list, parsing of get=1, and the client against a local fake
 * UAPI server on a unix socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/uapi.h"

static const char *HEXA = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";
static const char *HEXB = "b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2";
static const char *HEXC = "c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3";

static struct gnl_wg_peer *peer(struct gnl_wg_device *d, uint8_t b)
{
	uint8_t k[32];
	memset(k, b, 32);
	struct gnl_wg_peer *p;
	assert_int_equal(gnl_wg_device_add_peer(d, k, &p), 0);
	return p;
}

static void aip(struct gnl_wg_peer *p, const char *s)
{
	struct gnl_prefix x;
	assert_int_equal(gnl_prefix_parse(s, &x), 0);
	assert_int_equal(gnl_wg_peer_add_allowedip(p, &x), 0);
}

static void test_serialize_diff(void **state)
{
	struct gnl_wg_device *cur, *want;
	assert_int_equal(gnl_wg_device_new("gsm0", &cur), 0);
	assert_int_equal(gnl_wg_device_new("gsm0", &want), 0);
	/* current: A (to be removed), B (allowed IPs change), C (unchanged) */
	aip(peer(cur, 0xa1), "10.0.0.1/32");
	struct gnl_wg_peer *b = peer(cur, 0xb2);
	aip(b, "10.0.0.2/32");
	gnl_sockaddr_parse("192.0.2.2:51820", &b->endpoint);
	struct gnl_wg_peer *c = peer(cur, 0xc3);
	aip(c, "10.0.0.3/32");
	/* desired: B with one more prefix, C as is, D new with endpoint+keepalive */
	b = peer(want, 0xb2);
	aip(b, "10.0.0.2/32");
	aip(b, "192.168.7.0/24");
	c = peer(want, 0xc3);
	aip(c, "10.0.0.3/32");
	struct gnl_wg_peer *dd = peer(want, 0xd4);
	aip(dd, "10.0.0.4/32");
	aip(dd, "fd00::4/128");
	gnl_sockaddr_parse("[2001:db8::4]:51000", &dd->endpoint);
	dd->persistent_keepalive = 25;
	want->flags = GNL_WG_DEV_LISTEN_PORT;
	want->listen_port = 51820;

	struct gnl_wg_ops *ops;
	assert_int_equal(gnl_wg_diff(want, cur, &ops), 0);
	char *text;
	size_t len;
	assert_int_equal(gsd_uapi_serialize(ops, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	char expect[2048];
	snprintf(expect, sizeof(expect),
		 "set=1\n"
		 "listen_port=51820\n"
		 "public_key=%s\n"
		 "remove=true\n"
		 "public_key=%s\n"
		 "update_only=true\n"
		 "replace_allowed_ips=true\n"
		 "allowed_ip=10.0.0.2/32\n"
		 "allowed_ip=192.168.7.0/24\n"
		 "public_key=d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4d4\n"
		 "endpoint=[2001:db8::4]:51000\n"
		 "persistent_keepalive_interval=25\n"
		 "replace_allowed_ips=true\n"
		 "allowed_ip=10.0.0.4/32\n"
		 "allowed_ip=fd00::4/128\n"
		 "\n",
		 HEXA, HEXB);
	if (strcmp(text, expect))
		fail_msg("got:\n%s\nwant:\n%s", text, expect);
	assert_null(strstr(text, HEXC)); /* unchanged peer not mentioned */
	free(text);
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(cur);
	gnl_wg_device_free(want);
}

static const char *GET_RESPONSE =
    "private_key=e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n"
    "listen_port=12912\n"
    "public_key=b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33\n"
    "preshared_key=188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52\n"
    "allowed_ip=192.168.4.4/32\n"
    "endpoint=[abcd:23::33%2]:51820\n"
    "public_key=58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376\n"
    "tx_bytes=38333\n"
    "rx_bytes=2224\n"
    "allowed_ip=192.168.4.6/32\n"
    "persistent_keepalive_interval=111\n"
    "endpoint=182.122.22.19:3233\n"
    "last_handshake_time_sec=1700000000\n"
    "last_handshake_time_nsec=5\n"
    "public_key=662e14fd594556f522604703340351258903b64f35553763f19426ab2a515c58\n"
    "endpoint=5.152.198.39:51820\n"
    "allowed_ip=192.168.4.10/32\n"
    "allowed_ip=192.168.4.11/32\n"
    "protocol_version=1\n"
    "errno=0\n"
    "\n";

static void test_parse_get(void **state)
{
	struct gnl_wg_device *d = NULL;
	assert_int_equal(gsd_uapi_parse_get(GET_RESPONSE, strlen(GET_RESPONSE), "wg0", &d), 0);
	assert_int_equal(d->listen_port, 12912);
	assert_int_equal(d->private_key[0], 0xe8);
	assert_int_equal(d->n_peers, 3);
	assert_int_equal(d->peers[0].public_key[0], 0xb8);
	assert_true(d->peers[0].has_preshared_key);
	assert_int_equal(d->peers[0].n_allowedips, 1);
	assert_int_equal(d->peers[0].endpoint.sa.sa_family, AF_INET6);
	assert_int_equal(d->peers[1].tx_bytes, 38333);
	assert_int_equal(d->peers[1].rx_bytes, 2224);
	assert_int_equal(d->peers[1].persistent_keepalive, 111);
	assert_int_equal(d->peers[1].last_handshake.tv_sec, 1700000000);
	assert_false(d->peers[1].has_preshared_key);
	char buf[64];
	gnl_sockaddr_format(&d->peers[1].endpoint, buf, sizeof(buf));
	assert_string_equal(buf, "182.122.22.19:3233");
	assert_int_equal(d->peers[2].n_allowedips, 2);
	assert_int_equal(d->peers[2].protocol_version, 1);
	gnl_wg_device_free(d);

	/* errors */
	const char *e1 = "errno=19\n\n";
	assert_int_equal(gsd_uapi_parse_get(e1, strlen(e1), "wg0", &d), -19);
	const char *e2 = "listen_port=1\n\n"; /* no errno line */
	assert_int_equal(gsd_uapi_parse_get(e2, strlen(e2), "wg0", &d), -EBADMSG);
	const char *e3 = "public_key=zz\nerrno=0\n\n";
	assert_int_equal(gsd_uapi_parse_get(e3, strlen(e3), "wg0", &d), -EBADMSG);
	const char *e4 = "garbage\nerrno=0\n\n";
	assert_int_equal(gsd_uapi_parse_get(e4, strlen(e4), "wg0", &d), -EBADMSG);
	assert_int_equal(gsd_uapi_parse_errno("errno=0\n\n", 9), 0);
	assert_int_equal(gsd_uapi_parse_errno("errno=22\n\n", 10), -22);
	assert_int_equal(gsd_uapi_parse_errno("\n", 1), -EBADMSG);
}

/* A fake wireguard-go: answers one get and one set on a unix socket. */
struct fake {
	char dir[128];
	int lfd;
	char got_set[4096];
};

static void *fake_thread(void *arg)
{
	struct fake *f = arg;
	for (int round = 0; round < 2; round++) {
		int c = accept(f->lfd, NULL, NULL);
		if (c < 0)
			return NULL;
		char buf[4096];
		size_t len = 0;
		while (len < sizeof(buf) - 1) {
			ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
			if (n <= 0)
				break;
			len += (size_t)n;
			buf[len] = 0;
			if (len >= 2 && buf[len - 1] == '\n' && buf[len - 2] == '\n')
				break;
		}
		if (!strncmp(buf, "get=1\n", 6)) {
			ssize_t w = write(c, GET_RESPONSE, strlen(GET_RESPONSE));
			(void)w;
		} else {
			snprintf(f->got_set, sizeof(f->got_set), "%s", buf);
			ssize_t w = write(c, "errno=0\n\n", 9);
			(void)w;
		}
		close(c);
	}
	return NULL;
}

static void test_client_against_fake_server(void **state)
{
	struct fake f = {0};
	snprintf(f.dir, sizeof(f.dir), "/tmp/gsd-uapi-test.XXXXXX");
	assert_non_null(mkdtemp(f.dir));
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	assert_int_equal(gsd_uapi_sock_path(f.dir, "wgt0", sun.sun_path, sizeof(sun.sun_path)), 0);
	f.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(f.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f.lfd, 4), 0);
	pthread_t th;
	pthread_create(&th, NULL, fake_thread, &f);

	struct gnl_wg_device *d = NULL;
	assert_int_equal(gsd_uapi_get(f.dir, "wgt0", &d), 0);
	assert_int_equal(d->n_peers, 3);
	/* remove one peer through the client */
	struct gnl_wg_device *want;
	assert_int_equal(gnl_wg_device_dup(d, &want), 0);
	want->n_peers = 2; /* drop the last peer (its allowed IPs freed by d) */
	struct gnl_wg_ops *ops;
	assert_int_equal(gnl_wg_diff(want, d, &ops), 0);
	want->n_peers = 3;
	assert_int_equal(gsd_uapi_apply(f.dir, "wgt0", ops), 0);
	pthread_join(th, NULL);
	assert_string_equal(
	    f.got_set,
	    "set=1\npublic_key="
	    "662e14fd594556f522604703340351258903b64f35553763f19426ab2a515c58\nremove=true\n\n");
	gnl_wg_ops_free(ops);
	gnl_wg_device_free(want);
	gnl_wg_device_free(d);
	close(f.lfd);
	unlink(sun.sun_path);
	rmdir(f.dir);
	/* nobody listening */
	assert_int_equal(gsd_uapi_get(f.dir, "wgt0", &d), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_serialize_diff),
	    cmocka_unit_test(test_parse_get),
	    cmocka_unit_test(test_client_against_fake_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
