/*
 * tests/attack/gsm-attack.c - command line of the attacker tool (see
 * attack.h for what it is and why).
 *
 *   gsm-attack MODE [options]
 *   member modes (--key FILE, --identity FILE or a fresh identity):
 *     forge-dead --victim HEXID --gen G --inc I --to ADDR...
 *     identities --count N --to ADDR
 *     bare-ids   --count N --to ADDR...
 *     amplify    --type advert-req|sync|digest|ping|ping-req --to ADDR
 *                [--third ADDR]
 *   keyless modes:
 *     garbage        --count N --to ADDR... [--key-id K]
 *     bitflip        --in FILE --count N --to ADDR...
 *     unknown-key-id --count N --to ADDR... [--key-id K]
 *     capture        --iface IF --port P --count N --out FILE [--timeout MS]
 *     replay         --in FILE --to ADDR...
 *   common: --window MS (listen for answers, 1000), --gap-us US (1000),
 *           --cluster NAME (gossamer)
 *
 * Output: one JSON line {"mode", "ok", "error", "sent_datagrams",
 * "sent_bytes", "recv_datagrams", "recv_bytes", "third_datagrams",
 * "third_bytes", mode-specific fields}.  Exit 0 when the mode ran, 1 when
 * it failed, 2 on a usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "tests/attack/attack.h"

struct mode {
	const char *name;
	int (*run)(struct atk *a);
	int member; /* needs the cluster key and an identity */
};

static const struct mode modes[] = {
    {"forge-dead", atk_forge_dead, 1},
    {"identities", atk_identities, 1},
    {"bare-ids", atk_bare_ids, 1},
    {"amplify", atk_amplify, 1},
    {"garbage", atk_garbage, 0},
    {"bitflip", atk_bitflip, 0},
    {"unknown-key-id", atk_unknown_key_id, 0},
    {"capture", atk_capture, 0},
    {"replay", atk_replay, 0},
};

static int usage(void)
{
	fprintf(stderr, "usage: gsm-attack MODE [options] (see tests/attack/gsm-attack.c)\n");
	return 2;
}

static int parse_hex_id(const char *s, uint8_t out[GSM_ID_LEN])
{
	size_t bin = 0;

	if (sodium_hex2bin(out, GSM_ID_LEN, s, strlen(s), NULL, &bin, NULL) != 0 ||
	    bin != GSM_ID_LEN)
		return -EINVAL;
	return 0;
}

static int parse_opt(struct atk_opts *o, int c, const char *v)
{
	switch (c) {
	case 'k':
		o->key_file = v;
		return 0;
	case 'i':
		o->identity_file = v;
		return 0;
	case 'C':
		o->cluster = v;
		return 0;
	case 't':
		if (o->n_to >= ATK_MAX_TO)
			return -EINVAL;
		return gsm_addr_parse(v, &o->to[o->n_to++]);
	case '3':
		o->has_third = 1;
		return gsm_addr_parse(v, &o->third);
	case 'v':
		o->has_victim = 1;
		return parse_hex_id(v, o->victim);
	case 'g':
		o->gen = strtoull(v, NULL, 0);
		return 0;
	case 'n':
		o->inc = strtoull(v, NULL, 0);
		return 0;
	case 'c':
		o->count = strtoul(v, NULL, 0);
		return 0;
	case 'T':
		o->type = v;
		return 0;
	case 'I':
		o->iface = v;
		return 0;
	case 'p':
		o->port = (uint16_t)strtoul(v, NULL, 0);
		return 0;
	case 'r':
		o->in = v;
		return 0;
	case 'o':
		o->out = v;
		return 0;
	case 'w':
		o->window_ms = (unsigned)strtoul(v, NULL, 0);
		return 0;
	case 'G':
		o->gap_us = (unsigned)strtoul(v, NULL, 0);
		return 0;
	case 'x':
		o->timeout_ms = (unsigned)strtoul(v, NULL, 0);
		return 0;
	case 'K':
		o->key_id = (uint16_t)strtoul(v, NULL, 0);
		return 0;
	default:
		return -EINVAL;
	}
}

static int parse_args(struct atk_opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
	    {"key", 1, 0, 'k'},	   {"identity", 1, 0, 'i'}, {"cluster", 1, 0, 'C'},
	    {"to", 1, 0, 't'},	   {"third", 1, 0, '3'},    {"victim", 1, 0, 'v'},
	    {"gen", 1, 0, 'g'},	   {"inc", 1, 0, 'n'},	    {"count", 1, 0, 'c'},
	    {"type", 1, 0, 'T'},   {"iface", 1, 0, 'I'},    {"port", 1, 0, 'p'},
	    {"in", 1, 0, 'r'},	   {"out", 1, 0, 'o'},	    {"window", 1, 0, 'w'},
	    {"gap-us", 1, 0, 'G'}, {"timeout", 1, 0, 'x'},  {"key-id", 1, 0, 'K'},
	    {0, 0, 0, 0}};
	int c;

	o->cluster = "gossamer";
	o->window_ms = 1000;
	o->gap_us = 1000;
	o->timeout_ms = 20000;
	o->key_id = 1;
	o->mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1)
		if (parse_opt(o, c, optarg) < 0)
			return -EINVAL;
	return optind == argc ? 0 : -EINVAL;
}

/* what a mode needs before it runs: keys, sockets, buffers */
static int setup(struct atk *a, const struct mode *md)
{
	int r;

	a->fd = a->third_fd = -1;
	a->msg = calloc(1, sizeof(*a->msg));
	a->rx = calloc(1, sizeof(*a->rx));
	if (!a->msg || !a->rx)
		return -ENOMEM;
	if (md->member) {
		if (!a->o.key_file)
			return -ENOKEY;
		r = gsm_keyring_load(a->o.key_file, a->o.cluster, &a->kr);
		if (r < 0)
			return r;
		r = a->o.identity_file ? gsm_identity_load(a->o.identity_file, &a->id)
				       : gsm_identity_generate(&a->id);
		if (r < 0)
			return r;
	}
	if (strcmp(md->name, "capture") != 0) {
		if (a->o.n_to == 0)
			return -EDESTADDRREQ;
		a->fd = atk_socket_for(&a->o.to[0], NULL);
		if (a->fd < 0)
			return a->fd;
	}
	if (a->o.has_third) {
		a->third_fd = atk_socket_for(&a->o.third, &a->o.third);
		if (a->third_fd < 0)
			return a->third_fd;
	}
	return 0;
}

static void teardown(struct atk *a)
{
	if (a->fd >= 0)
		close(a->fd);
	if (a->third_fd >= 0)
		close(a->third_fd);
	gsm_keyring_free(a->kr);
	gsm_identity_free(a->id);
	free(a->msg);
	free(a->rx);
}

static void report(const struct atk *a, int r)
{
	printf("{\"mode\":\"%s\",\"ok\":%s,\"error\":\"%s\",\"sent_datagrams\":%llu,"
	       "\"sent_bytes\":%llu,\"recv_datagrams\":%llu,\"recv_bytes\":%llu,"
	       "\"third_datagrams\":%llu,\"third_bytes\":%llu%s}\n",
	       a->o.mode, r == 0 ? "true" : "false", r == 0 ? "" : gsm_strerror(r),
	       (unsigned long long)a->c.sent_dgrams, (unsigned long long)a->c.sent_bytes,
	       (unsigned long long)a->c.recv_dgrams, (unsigned long long)a->c.recv_bytes,
	       (unsigned long long)a->c.third_dgrams, (unsigned long long)a->c.third_bytes,
	       a->extra);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	const struct mode *md = NULL;
	struct atk *a;
	int r;

	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(argv[1], modes[i].name))
			md = &modes[i];
	a = calloc(1, sizeof(*a));
	if (!md || !a || gsm_crypto_init() < 0 || parse_args(&a->o, argc, argv) < 0) {
		free(a);
		return usage();
	}
	r = setup(a, md);
	if (r == 0)
		r = md->run(a);
	report(a, r);
	teardown(a);
	free(a);
	return r == 0 ? 0 : 1;
}
