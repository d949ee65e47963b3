/*
 * daemon/config_cli.c - gossamerd's command line: `--help` and argv.
 *
 * Both are generated from the key table (config_parse.h): every key has a
 * long flag (and maybe a short one), so `--help`, docs/config.md and the
 * INI file list the same names.  Parsing only records (key, value, flag)
 * triples in struct gsd_cli; gsd_config_build() applies them on top of the
 * file, and a reload re-applies the very same triples, so flags keep
 * overriding the file after a reload.
 */
#include "daemon/config_parse.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <string.h>

enum {
	OPT_BASE = 1000, /* + key index */
	OPT_CONFIG = 2000,
	OPT_HELP,
	OPT_VERSION,
	OPT_CHECK,
	OPT_GENKEY,
	OPT_NOROUTES,
};

static void usage_key(FILE *f, const struct gsd_keydef *k)
{
	char lhs[80];

	if (k->type == K_BOOL)
		snprintf(lhs, sizeof(lhs), "%c%c%s--%s[=yes|no]", k->shortopt ? '-' : ' ',
			 k->shortopt ? k->shortopt : ' ', k->shortopt ? ", " : "  ", k->flag);
	else
		snprintf(lhs, sizeof(lhs), "%c%c%s--%s %s", k->shortopt ? '-' : ' ',
			 k->shortopt ? k->shortopt : ' ', k->shortopt ? ", " : "  ", k->flag,
			 k->arg);
	fprintf(f, "  %-44s %s%s  [%s]\n", lhs, k->help,
		gsd_config_key_is_list(k) ? " (repeatable)" : "", k->key);
}

void gsd_cli_usage(FILE *f)
{
	const char *section = "";

	fprintf(f,
		"usage: gossamerd [OPTIONS]\n"
		"\n"
		"The gossamer mesh daemon.  Every option can also be set in the config\n"
		"file (docs/config.md); flags override the file.\n"
		"\n"
		"  -c, --config FILE              INI config file (default: none)\n"
		"      --check-config             validate the configuration and exit\n"
		"      --generate-cluster-key FILE  write a new cluster key ring (0600) and exit\n"
		"  -h, --help                     this text\n"
		"  -V, --version                  print the version\n");
	for (size_t i = 0; i < KI_COUNT; i++) {
		const struct gsd_keydef *k = &gsd_config_keys[i];
		if (strcmp(section, k->section)) {
			section = k->section;
			fprintf(f, "\n [%s]\n", section);
		}
		usage_key(f, k);
	}
	fprintf(f,
		"      --no-routes                                  same as --routes=no\n"
		"\nExit codes: 0 ok, 1 runtime failure, 2 bad configuration / keys / backend.\n");
}

/* getopt_long's tables from the key table: opts (KI_COUNT + 7 entries, the
 * last all zero) and the short option string. */
static void build_options(struct option *opts, char *shorts)
{
	size_t n = 0;

	strcpy(shorts, "+c:hV");
	for (size_t i = 0; i < KI_COUNT; i++) {
		const struct gsd_keydef *k = &gsd_config_keys[i];
		opts[n++] = (struct option){
		    k->flag, k->type == K_BOOL ? optional_argument : required_argument, NULL,
		    OPT_BASE + (int)i};
		if (k->shortopt) {
			size_t l = strlen(shorts);
			shorts[l] = k->shortopt;
			shorts[l + 1] = ':';
			shorts[l + 2] = 0;
		}
	}
	opts[n++] = (struct option){"config", required_argument, NULL, 'c'};
	opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	opts[n++] = (struct option){"version", no_argument, NULL, 'V'};
	opts[n++] = (struct option){"check-config", no_argument, NULL, OPT_CHECK};
	opts[n++] = (struct option){"generate-cluster-key", required_argument, NULL, OPT_GENKEY};
	opts[n++] = (struct option){"no-routes", no_argument, NULL, OPT_NOROUTES};
	opts[n] = (struct option){0};
}

/* The option getopt_long returned when it is not a key: 1 handled, 0 a
 * key, -EINVAL (msg set) for an unknown option. */
static int cli_special(struct gsd_cli *cli, int o, int argc, char **argv, char *msg, size_t msglen)
{
	switch (o) {
	case 'c':
		cli->config_file = optarg;
		return 1;
	case 'h':
		cli->help = true;
		return 1;
	case 'V':
		cli->version = true;
		return 1;
	case OPT_CHECK:
		cli->check_config = true;
		return 1;
	case OPT_GENKEY:
		cli->gen_cluster_key = optarg;
		return 1;
	case '?':
	case ':': {
		const char *a = (optind > 0 && optind <= argc) ? argv[optind - 1] : "?";
		if (optopt && optopt < 256 && isprint(optopt))
			snprintf(msg, msglen,
				 "-%c: unknown option or missing argument (see --help)", optopt);
		else
			snprintf(msg, msglen, "%s: unknown option or missing argument (see --help)",
				 a);
		return -EINVAL;
	}
	default:
		return 0;
	}
}

/* The key of a key option (long OPT_BASE + i, or its short letter). */
static const struct gsd_keydef *cli_key(int o)
{
	if (o >= OPT_BASE && o < OPT_BASE + (int)KI_COUNT)
		return &gsd_config_keys[o - OPT_BASE];
	for (size_t i = 0; i < KI_COUNT; i++)
		if (gsd_config_keys[i].shortopt == o)
			return &gsd_config_keys[i];
	return NULL;
}

static int cli_add(struct gsd_cli *cli, const char *key, const char *value, const char *flag,
		   char *msg, size_t msglen)
{
	if (cli->n >= GSD_MAX_FLAGS) {
		snprintf(msg, msglen, "too many options");
		return -EINVAL;
	}
	cli->ov[cli->n++] = (typeof(cli->ov[0])){key, value, flag};
	return 0;
}

int gsd_cli_parse(struct gsd_cli *cli, int argc, char **argv, char *msg, size_t msglen)
{
	static struct option opts[KI_COUNT + 7];
	char shorts[128];
	int r;

	memset(cli, 0, sizeof(*cli));
	build_options(opts, shorts);
	optind = 0; /* full reset (GNU) so parsing is repeatable in tests */
	opterr = 0;
	for (;;) {
		int idx = -1;
		int o = getopt_long(argc, argv, shorts, opts, &idx);
		if (o == -1)
			break;
		r = cli_special(cli, o, argc, argv, msg, msglen);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		if (o == OPT_NOROUTES) {
			r = cli_add(cli, "install_routes", "no", "no-routes", msg, msglen);
			if (r < 0)
				return r;
			continue;
		}
		const struct gsd_keydef *k = cli_key(o);
		if (!k) {
			snprintf(msg, msglen, "unknown option (see --help)");
			return -EINVAL;
		}
		const char *v = optarg;
		if (k->type == K_BOOL && !v)
			v = "yes";
		r = cli_add(cli, k->key, v, k->flag, msg, msglen);
		if (r < 0)
			return r;
	}
	if (optind < argc) {
		snprintf(msg, msglen, "%s: unexpected argument (see --help)", argv[optind]);
		return -EINVAL;
	}
	return 0;
}
