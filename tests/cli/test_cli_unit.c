/*
 * tests/cli/test_cli_unit.c - unit tests of the gossamer CLI library:
 * table fitting and elision, argument parsing, units, sanitising, schema
 * checks, member filtering, the human views, and the socket client's
 * framing against a real unix socket served by a forked child.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/args.h"
#include "cli/cli.h"
#include "cli/client.h"
#include "cli/fmt.h"
#include "cli/table.h"

/* ---------------- helpers ---------------- */

static size_t max_line_width(const char *s, size_t *nlines)
{
	size_t maxw = 0, n = 0;
	const char *p = s;
	while (*p) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl); /* every line terminated */
		char *line = strndup(p, (size_t)(nl - p));
		size_t w = gcli_text_width(line);
		if (w > maxw)
			maxw = w;
		/* no trailing blanks */
		if (nl > p)
			assert_true(nl[-1] != ' ');
		free(line);
		n++;
		p = nl + 1;
	}
	if (nlines)
		*nlines = n;
	return maxw;
}

/* byte offset -> column of the first occurrence of needle in line i */
static long column_of(const char *s, size_t lineno, const char *needle)
{
	const char *p = s;
	for (size_t i = 0; i < lineno; i++) {
		p = strchr(p, '\n');
		if (!p)
			return -1;
		p++;
	}
	const char *nl = strchr(p, '\n');
	const char *hit = strstr(p, needle);
	if (!hit || (nl && hit > nl))
		return -1;
	char *pre = strndup(p, (size_t)(hit - p));
	long col = (long)gcli_text_width(pre);
	free(pre);
	return col;
}

static int parse(struct gcli_opts *o, char *err, size_t cap, const char *env, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	va_start(ap, env);
	argv[argc++] = (char *)"gossamer";
	for (const char *a; (a = va_arg(ap, const char *));)
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;
	return gcli_args_parse(argc, argv, env, o, err, cap);
}

/* ---------------- fmt ---------------- */

static void test_fmt_bytes(void **state)
{
	char b[32];
	assert_string_equal(gcli_fmt_bytes(0, b, sizeof(b)), "0 B");
	assert_string_equal(gcli_fmt_bytes(1023, b, sizeof(b)), "1023 B");
	assert_string_equal(gcli_fmt_bytes(1024, b, sizeof(b)), "1.00 KiB");
	assert_string_equal(gcli_fmt_bytes(1536, b, sizeof(b)), "1.50 KiB");
	assert_string_equal(gcli_fmt_bytes(10 * 1024 + 512, b, sizeof(b)), "10.5 KiB");
	assert_string_equal(gcli_fmt_bytes(300 * 1024, b, sizeof(b)), "300 KiB");
	assert_string_equal(gcli_fmt_bytes(5ull << 30, b, sizeof(b)), "5.00 GiB");
	assert_string_equal(gcli_fmt_bytes(UINT64_MAX, b, sizeof(b)), "16.0 EiB");
}

static void test_fmt_age(void **state)
{
	char b[32];
	assert_string_equal(gcli_fmt_age(-5, b, sizeof(b)), "0s");
	assert_string_equal(gcli_fmt_age(0, b, sizeof(b)), "0s");
	assert_string_equal(gcli_fmt_age(59, b, sizeof(b)), "59s");
	assert_string_equal(gcli_fmt_age(192, b, sizeof(b)), "3m12s");
	assert_string_equal(gcli_fmt_age(2 * 3600 + 5 * 60 + 9, b, sizeof(b)), "2h5m");
	assert_string_equal(gcli_fmt_age(4 * 86400 + 2 * 3600, b, sizeof(b)), "4d2h");
	assert_string_equal(gcli_fmt_age(40 * 86400, b, sizeof(b)), "40d");
}

static void test_sanitize_and_width(void **state)
{
	char *s = gcli_sanitize("ok\033[31mred\x07\x7f");
	assert_string_equal(s, "ok?[31mred??");
	free(s);
	/* valid UTF-8 kept, counted as one column per code point */
	s = gcli_sanitize("n\xc3\xa9ud");
	assert_string_equal(s, "n\xc3\xa9ud");
	assert_int_equal(gcli_text_width(s), 4);
	free(s);
	/* invalid UTF-8 (lone continuation, overlong, C1 control) -> '?' */
	s = gcli_sanitize("a\x80"
			  "b\xc0\xaf"
			  "c\xc2\x9b"
			  "d");
	assert_string_equal(s, "a?b??c?d");
	free(s);
	s = gcli_sanitize(NULL);
	assert_string_equal(s, "");
	free(s);
}

static void test_elide(void **state)
{
	char *s = gcli_elide("abcdef", 6, "~");
	assert_string_equal(s, "abcdef");
	free(s);
	s = gcli_elide("abcdef", 4, "~");
	assert_string_equal(s, "abc~");
	free(s);
	s = gcli_elide("abcdef", 4, "\xe2\x80\xa6");
	assert_string_equal(s, "abc\xe2\x80\xa6");
	assert_int_equal(gcli_text_width(s), 4);
	free(s);
	/* multi-byte text is cut on code point boundaries */
	s = gcli_elide("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 3, "~");
	assert_string_equal(s, "\xc3\xa9\xc3\xa9~");
	free(s);
	s = gcli_elide("abc", 0, "~");
	assert_string_equal(s, "");
	free(s);
	s = gcli_elide("abc", 1, "~");
	assert_string_equal(s, "~");
	free(s);
}

static void test_host_prefix_and_numbers(void **state)
{
	char b[64];
	assert_string_equal(gcli_fmt_host_prefix("10.77.0.3/32", b, sizeof(b)), "10.77.0.3");
	assert_string_equal(gcli_fmt_host_prefix("10.77.0.0/16", b, sizeof(b)), "10.77.0.0/16");
	assert_string_equal(gcli_fmt_host_prefix("fd00::3/128", b, sizeof(b)), "fd00::3");
	assert_string_equal(gcli_fmt_host_prefix("fd00::/32", b, sizeof(b)), "fd00::/32");
	uint64_t v;
	assert_true(gcli_parse_uint("42", 1, 100, &v));
	assert_int_equal(v, 42);
	assert_false(gcli_parse_uint("0", 1, 100, &v));
	assert_false(gcli_parse_uint("101", 1, 100, &v));
	assert_false(gcli_parse_uint("-1", 0, 100, &v));
	assert_false(gcli_parse_uint(" 1", 0, 100, &v));
	assert_false(gcli_parse_uint("1x", 0, 100, &v));
	double d;
	assert_true(gcli_parse_duration("2.5", &d));
	assert_true(d == 2.5);
	assert_true(gcli_parse_duration("500ms", &d));
	assert_true(d == 0.5);
	assert_true(gcli_parse_duration("2m", &d));
	assert_true(d == 120.0);
	assert_true(gcli_parse_duration("0", &d));
	assert_true(d == 0.0);
	assert_false(gcli_parse_duration("-1", &d));
	assert_false(gcli_parse_duration("inf", &d));
	assert_false(gcli_parse_duration("nan", &d));
	assert_false(gcli_parse_duration("0x10", &d));
	assert_false(gcli_parse_duration("5 s", &d));
	assert_false(gcli_parse_duration("", &d));
}

/* ---------------- table ---------------- */

static struct gcli_table *sample_table(size_t rows, size_t namelen)
{
	struct gcli_table *t = gcli_table_new(4);
	assert_non_null(t);
	assert_int_equal(gcli_table_column(t, 0, "NAME", GCLI_COL_SHRINK, 6, 0), 0);
	assert_int_equal(gcli_table_column(t, 1, "STATE", 0, 5, 0), 0);
	assert_int_equal(gcli_table_column(t, 2, "RX", GCLI_COL_RIGHT, 3, 0), 0);
	assert_int_equal(gcli_table_column(t, 3, "LABELS", GCLI_COL_SHRINK, 6, 1), 0);
	for (size_t r = 0; r < rows; r++) {
		int i = gcli_table_add_row(t);
		assert_int_equal(i, (int)r);
		char name[256], rx[16];
		memset(name, 'a' + (int)(r % 26), namelen);
		name[namelen] = '\0';
		snprintf(rx, sizeof(rx), "%zu", r * 1000);
		assert_int_equal(gcli_table_set(t, (size_t)i, 0, name, NULL), 0);
		assert_int_equal(gcli_table_set(t, (size_t)i, 1, r % 2 ? "alive" : "dead", "32"),
				 0);
		assert_int_equal(gcli_table_set(t, (size_t)i, 2, rx, NULL), 0);
		assert_int_equal(gcli_table_set(t, (size_t)i, 3, "role=db,zone=eu-west-1a", NULL),
				 0);
	}
	return t;
}

static void test_table_natural(void **state)
{
	struct gcli_table *t = sample_table(3, 5);
	struct gcli_render_opts ro = {.width = 80};
	char *s = gcli_table_render(t, &ro);
	assert_non_null(s);
	const char *want = "NAME   STATE    RX  LABELS\n"
			   "aaaaa  dead      0  role=db,zone=eu-west-1a\n"
			   "bbbbb  alive  1000  role=db,zone=eu-west-1a\n"
			   "ccccc  dead   2000  role=db,zone=eu-west-1a\n";
	assert_string_equal(s, want);
	free(s);
	gcli_table_free(t);
}

static void test_table_shrinks_to_width(void **state)
{
	struct gcli_table *t = sample_table(5, 60);
	struct gcli_render_opts ro = {.width = 80, .ellipsis = "~"};
	char *s = gcli_table_render(t, &ro);
	assert_non_null(s);
	size_t lines;
	assert_true(max_line_width(s, &lines) <= 80);
	assert_int_equal(lines, 6);
	/* names were elided visibly, not dropped */
	assert_non_null(strstr(s, "aaaa~"));
	/* columns stay aligned: STATE starts at the same column on every line */
	long c0 = column_of(s, 0, "STATE");
	assert_true(c0 > 0);
	assert_int_equal(column_of(s, 1, "dead"), c0);
	assert_int_equal(column_of(s, 2, "alive"), c0);
	/* right-aligned numbers end in the same column */
	long rx0 = column_of(s, 0, "RX") + 2;
	assert_int_equal(column_of(s, 4, "3000") + 4, rx0);
	free(s);
	/* unlimited width: nothing elided */
	ro.width = 0;
	s = gcli_table_render(t, &ro);
	assert_null(strstr(s, "~"));
	assert_true(max_line_width(s, NULL) > 80);
	free(s);
	gcli_table_free(t);
}

static void test_table_drops_optional_column(void **state)
{
	struct gcli_table *t = sample_table(2, 10);
	/* 10 + 2 + 5 + 2 + 4 = 23 without labels; labels need >= 6 + 2 */
	struct gcli_render_opts ro = {.width = 26};
	char *s = gcli_table_render(t, &ro);
	assert_non_null(s);
	assert_null(strstr(s, "LABELS"));
	assert_null(strstr(s, "role"));
	assert_non_null(strstr(s, "aaaaaaaaaa"));
	assert_true(max_line_width(s, NULL) <= 26);
	free(s);
	/* at 31 the labels column fits (shrunk) */
	ro.width = 31;
	s = gcli_table_render(t, &ro);
	assert_non_null(strstr(s, "LABELS"));
	assert_true(max_line_width(s, NULL) <= 31);
	free(s);
	gcli_table_free(t);
}

static void test_table_never_exceeds_width(void **state)
{
	struct gcli_table *t = sample_table(3, 30);
	for (size_t w = 1; w <= 100; w++) {
		struct gcli_render_opts ro = {.width = w, .ellipsis = "\xe2\x80\xa6"};
		char *s = gcli_table_render(t, &ro);
		assert_non_null(s);
		size_t lines;
		assert_true(max_line_width(s, &lines) <= w);
		assert_int_equal(lines, 4);
		free(s);
	}
	gcli_table_free(t);
}

static void test_table_color_and_sanitize(void **state)
{
	struct gcli_table *t = gcli_table_new(2);
	gcli_table_column(t, 0, "A", 0, 1, 0);
	gcli_table_column(t, 1, "B", 0, 1, 0);
	int r = gcli_table_add_row(t);
	gcli_table_set(t, (size_t)r, 0, "x\033]0;pwned\007", "31");
	gcli_table_set(t, (size_t)r, 1, "y", NULL);
	struct gcli_render_opts ro = {.width = 80, .color = false};
	char *s = gcli_table_render(t, &ro);
	/* no escape byte survives from cell text */
	assert_null(strchr(s, '\033'));
	assert_non_null(strstr(s, "x?]0;pwned?  y"));
	free(s);
	ro.color = true;
	s = gcli_table_render(t, &ro);
	assert_non_null(strstr(s, "\033[31mx?]0;pwned?\033[0m"));
	/* alignment ignores escape sequences: "y" follows after 2 blanks */
	assert_non_null(strstr(s, "\033[0m  y"));
	free(s);
	assert_int_equal(gcli_table_set(t, 5, 0, "z", NULL), -EINVAL);
	assert_int_equal(gcli_table_column(t, 2, "C", 0, 1, 0), -EINVAL);
	gcli_table_free(t);
	gcli_table_free(NULL);
}

/* ---------------- args ---------------- */

static void test_args_commands_and_globals(void **state)
{
	struct gcli_opts o;
	char err[256];
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "members", NULL), 0);
	assert_int_equal(o.cmd, GCLI_CMD_MEMBERS);
	assert_string_equal(o.socket, GCLI_DEFAULT_SOCKET);
	assert_false(o.json);
	gcli_opts_release(&o);

	/* global options before and after the command; env socket */
	assert_int_equal(parse(&o, err, sizeof(err), "/env.sock", "--json", "status", NULL), 0);
	assert_int_equal(o.cmd, GCLI_CMD_STATUS);
	assert_true(o.json);
	assert_string_equal(o.socket, "/env.sock");
	gcli_opts_release(&o);
	assert_int_equal(
	    parse(&o, err, sizeof(err), "/env.sock", "peers", "-j", "--socket", "/flag.sock", NULL),
	    0);
	assert_int_equal(o.cmd, GCLI_CMD_PEERS);
	assert_true(o.json);
	assert_string_equal(o.socket, "/flag.sock");
	gcli_opts_release(&o);
	/* an option value is not mistaken for the command */
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "--socket", "members", "status", NULL),
			 0);
	assert_int_equal(o.cmd, GCLI_CMD_STATUS);
	assert_string_equal(o.socket, "members");
	gcli_opts_release(&o);
	assert_int_equal(
	    parse(&o, err, sizeof(err), "", "-s/x.sock", "--socket=/y.sock", "status", NULL), 0);
	assert_string_equal(o.socket, "/y.sock");
	gcli_opts_release(&o);
	/* empty env falls back to the default */
	assert_int_equal(parse(&o, err, sizeof(err), "", "status", NULL), 0);
	assert_string_equal(o.socket, GCLI_DEFAULT_SOCKET);
	gcli_opts_release(&o);
	assert_int_equal(
	    parse(&o, err, sizeof(err), NULL, "--color=never", "members", "--wide", NULL), 0);
	assert_int_equal(o.color, GCLI_COLOR_NEVER);
	assert_true(o.wide);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "--version", NULL), 0);
	assert_int_equal(o.cmd, GCLI_CMD_VERSION);
	gcli_opts_release(&o);
}

static void test_args_help(void **state)
{
	struct gcli_opts o;
	char err[256];
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "--help", NULL), 0);
	assert_int_equal(o.cmd, GCLI_CMD_HELP);
	assert_int_equal(o.help_topic, GCLI_CMD_NONE);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "join", "--help", NULL), 0);
	assert_int_equal(o.cmd, GCLI_CMD_HELP);
	assert_int_equal(o.help_topic, GCLI_CMD_JOIN);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "help", "wait", NULL), 0);
	assert_int_equal(o.cmd, GCLI_CMD_HELP);
	assert_int_equal(o.help_topic, GCLI_CMD_WAIT);
	assert_non_null(strstr(gcli_usage(o.help_topic), "--converged"));
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "help", "nope", NULL), -EINVAL);
	assert_non_null(strstr(err, "nope"));
	gcli_opts_release(&o);
}

static void test_args_members_filters(void **state)
{
	struct gcli_opts o;
	char err[256];
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "members", "--state", "alive,suspect",
			       "--state=left", "-l", "role=db", "--label", "zone", NULL),
			 0);
	assert_int_equal(o.state_mask, GCLI_STATE_ALIVE | GCLI_STATE_SUSPECT | GCLI_STATE_LEFT);
	assert_int_equal(o.n_labels, 2);
	assert_string_equal(o.labels[0].key, "role");
	assert_string_equal(o.labels[0].value, "db");
	assert_string_equal(o.labels[1].key, "zone");
	assert_null(o.labels[1].value);
	gcli_opts_release(&o);
	/* value may contain '=' and be empty */
	assert_int_equal(
	    parse(&o, err, sizeof(err), NULL, "members", "--label", "k=a=b", "--label", "e=", NULL),
	    0);
	assert_string_equal(o.labels[0].value, "a=b");
	assert_string_equal(o.labels[1].value, "");
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "members", "--state", "zombie", NULL),
			 -EINVAL);
	assert_non_null(strstr(err, "zombie"));
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "members", "--state", ",", NULL),
			 -EINVAL);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "members", "--label", "=x", NULL),
			 -EINVAL);
	gcli_opts_release(&o);
	/* filters belong to members only */
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "peers", "--state", "alive", NULL),
			 -EINVAL);
	assert_non_null(strstr(err, "does not apply to 'peers'"));
	gcli_opts_release(&o);
}

static void test_args_join_wait_keys(void **state)
{
	struct gcli_opts o;
	char err[256];
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "join", "10.0.0.1:7946", "[::1]:7946",
			       "seed.example", "[fd00::1]", NULL),
			 0);
	assert_int_equal(o.n_addrs, 4);
	assert_string_equal(o.addrs[1], "[::1]:7946");
	gcli_opts_release(&o);
	static const char *const bad[] = {"host:0",  "host:65536", "host:", ":7946", "::1",
					  "[::1]:x", "[]:1",	   "a b:1", "h:1:2", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&o, err, sizeof(err), NULL, "join", bad[i], NULL), -EINVAL);
		gcli_opts_release(&o);
	}
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "join", NULL), -EINVAL);
	gcli_opts_release(&o);
	/* join waits 5 s for an answer by default, at most 60 */
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "join", "h:1", NULL), 0);
	assert_true(o.timeout == GCLI_DEFAULT_JOIN_TIMEOUT);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "join", "-t", "0", "h:1", NULL), 0);
	assert_true(o.timeout == 0.0);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "join", "--timeout", "2m", "h:1", NULL),
			 -EINVAL);
	gcli_opts_release(&o);

	assert_int_equal(
	    parse(&o, err, sizeof(err), NULL, "wait", "--members", "3", "--timeout", "2.5", NULL),
	    0);
	assert_true(o.wait_members_set);
	assert_int_equal(o.wait_members, 3);
	assert_false(o.wait_converged);
	assert_true(o.timeout == 2.5);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "wait", "--converged", NULL), 0);
	assert_true(o.timeout == GCLI_DEFAULT_WAIT_TIMEOUT);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "wait", NULL), -EINVAL);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "wait", "--members", "0", NULL),
			 -EINVAL);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "wait", "--members", NULL), -EINVAL);
	assert_non_null(strstr(err, "needs a value"));
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "wait", "-c", "--timeout", "soon", NULL),
			 -EINVAL);
	gcli_opts_release(&o);

	assert_int_equal(parse(&o, err, sizeof(err), NULL, "keygen", "cluster", "-o", "/tmp/k",
			       "--key-id", "9", "--force", NULL),
			 0);
	assert_int_equal(o.key_kind, GCLI_KEY_CLUSTER);
	assert_string_equal(o.output, "/tmp/k");
	assert_int_equal(o.key_id, 9);
	assert_true(o.force);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "pubkey", "wg", "-", NULL), 0);
	assert_int_equal(o.key_kind, GCLI_KEY_WIREGUARD);
	assert_string_equal(o.input, "-");
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "pubkey", "cluster", NULL), -EINVAL);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "keygen", NULL), -EINVAL);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "keygen", "identity", "--json", NULL),
			 -EINVAL);
	gcli_opts_release(&o);
}

/* --timeout takes the one common duration syntax: nothing strtod-only */
static void test_args_timeout_durations(void **state)
{
	struct gcli_opts o;
	char err[256];
	static const char *const bad[] = {"nan", "0x10", "1e-9", "inf", "-1", "1.5.5", " 1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    parse(&o, err, sizeof(err), NULL, "wait", "-c", "--timeout", bad[i], NULL),
		    -EINVAL);
		assert_non_null(strstr(err, "--timeout needs seconds"));
		gcli_opts_release(&o);
	}
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "wait", "-c", "--timeout", "1.5s", NULL),
			 0);
	assert_true(o.timeout == 1.5);
	gcli_opts_release(&o);
	assert_int_equal(
	    parse(&o, err, sizeof(err), NULL, "wait", "-c", "--timeout", "200ms", NULL), 0);
	assert_true(o.timeout == 0.2);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "join", "-t", "1.5s", "h:1", NULL), 0);
	assert_true(o.timeout == 1.5);
	gcli_opts_release(&o);
	double d;
	assert_false(gcli_parse_duration("1e-9", &d));
	assert_false(gcli_parse_duration("1.", &d));
	assert_true(gcli_parse_duration("1h", &d));
	assert_true(d == 3600.0);
}

static void test_args_errors(void **state)
{
	struct gcli_opts o;
	char err[256];
	assert_int_equal(parse(&o, err, sizeof(err), NULL, NULL), -EINVAL);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "frobnicate", NULL), -EINVAL);
	assert_non_null(strstr(err, "frobnicate"));
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "status", "extra", NULL), -EINVAL);
	assert_non_null(strstr(err, "extra"));
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "status", "--nope", NULL), -EINVAL);
	assert_non_null(strstr(err, "--nope"));
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "status", "--json=yes", NULL), -EINVAL);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "status", "--socket", NULL), -EINVAL);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "--color", "pink", "status", NULL),
			 -EINVAL);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "--json", NULL), -EINVAL);
	gcli_opts_release(&o);
	/* "--" ends options: the rest are operands */
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "join", "--", "h:1", NULL), 0);
	assert_int_equal(o.n_addrs, 1);
	gcli_opts_release(&o);
}

static void test_args_authority(void **state)
{
	struct gcli_opts o;
	char err[256];
	/* options before the subcommand word, values that look like words */
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "authority", "--authority", "sign",
			       "sign", "--node-key", "k", "--name", "web-1", "--prefix",
			       "10.1.0.0/24", "--prefix", "fd00::/64", "--role", "relay,gateway",
			       "--role", "exit", "-l", "env=prod", "--valid", "90d", "--overlay",
			       "10.77.0.5", "-o", "out", NULL),
			 0);
	assert_int_equal(o.cmd, GCLI_CMD_AUTHORITY);
	assert_int_equal(o.sub, GCLI_SUB_SIGN);
	assert_string_equal(o.authority_dir, "sign");
	assert_int_equal(o.n_prefixes, 2);
	assert_int_equal(o.prefixes[1].family, 6);
	assert_int_equal(o.roles, GCLI_ROLE_RELAY | GCLI_ROLE_GATEWAY | GCLI_ROLE_EXIT);
	assert_int_equal(o.valid_s, 90 * 86400);
	assert_true(o.has_overlay4);
	assert_int_equal(o.n_labels, 1);
	gcli_opts_release(&o);
	/* an option of another subcommand, a missing required option */
	assert_int_equal(
	    parse(&o, err, sizeof(err), NULL, "authority", "init", "d", "--node-key", "k", NULL),
	    -EINVAL);
	assert_non_null(strstr(err, "authority init"));
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "authority", "sign", "--authority", "d",
			       "--node-key", "k", "-o", "f", NULL),
			 -EINVAL);
	assert_non_null(strstr(err, "--name"));
	gcli_opts_release(&o);
	/* revoke: exactly one target */
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "authority", "revoke", "--authority",
			       "d", "web-1", "--cert", "c", "-o", "f", NULL),
			 -EINVAL);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "authority", "revoke", "--authority",
			       "d", "web-1", "--until", "2030-01-02T03:04:05Z", "-o", "f", NULL),
			 0);
	assert_string_equal(o.operand, "web-1");
	assert_int_equal(o.until_s, 1893553445);
	assert_false(o.until_relative);
	gcli_opts_release(&o);
	/* --json only for cert show; labels need a value */
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "cert", "show", "f", "--json", NULL), 0);
	assert_true(o.json);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "cert", "issue", "--json", NULL),
			 -EINVAL);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "cert", "issue", "--join-key", "j",
			       "--identity", "i", "--name", "n", "-l", "env", "-o", "f", NULL),
			 -EINVAL);
	assert_non_null(strstr(err, "KEY=VALUE"));
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "cert", "frob", NULL), -EINVAL);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "revoke", "r.pem", NULL), 0);
	assert_string_equal(o.operand, "r.pem");
	gcli_opts_release(&o);
}

static void test_args_lifetimes(void **state)
{
	uint64_t v;
	bool rel;
	assert_int_equal(gcli_parse_lifetime("365d", &v), 0);
	assert_int_equal(v, 365ull * 86400);
	assert_int_equal(gcli_parse_lifetime("12h", &v), 0);
	assert_int_equal(v, 43200);
	assert_int_equal(gcli_parse_lifetime("90", &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(gcli_parse_lifetime("0", &v), -EINVAL);
	assert_int_equal(gcli_parse_lifetime("d", &v), -EINVAL);
	assert_int_equal(gcli_parse_lifetime("-1d", &v), -EINVAL);
	assert_int_equal(gcli_parse_lifetime("99999999d", &v), -EINVAL);
	assert_int_equal(gcli_parse_until("+7d", &v, &rel), 0);
	assert_true(rel);
	assert_int_equal(v, 7 * 86400);
	assert_int_equal(gcli_parse_until("1700000000", &v, &rel), 0);
	assert_false(rel);
	assert_int_equal(v, 1700000000);
	assert_int_equal(gcli_parse_until("2030-01-01", &v, &rel), 0);
	assert_int_equal(v, 1893456000);
	assert_int_equal(gcli_parse_until("2030-01-01T00:00", &v, &rel), -EINVAL);
	assert_int_equal(gcli_parse_until("tomorrow", &v, &rel), -EINVAL);
}

/* ---------------- schema, filters, views ---------------- */

#define ID_A "aa00000000000000000000000000000000000000000000000000000000000001"
#define ID_B "bb00000000000000000000000000000000000000000000000000000000000002"

static json_t *member(const char *name, const char *id, const char *state, bool self,
		      const char *labels_json)
{
	json_error_t e;
	json_t *labels = json_loads(labels_json, 0, &e);
	assert_non_null(labels);
	json_t *m =
	    json_pack("{s:s, s:s, s:s, s:s, s:b, s:[s], s:[{s:s, s:b, s:n}], s:[], s:o,"
		      " s:i, s:i, s:I}",
		      "name", name, "id", id, "wg_public_key",
		      "wpaDv/2d7c2Sm3NnLeINnlZh2AeehShnYfBYPBFWshM=", "state", state, "self", self,
		      "overlay_addresses", "10.77.0.1/32", "endpoints", "address",
		      "127.0.0.1:51820", "observed", 0, "observer", "prefixes", "labels", labels,
		      "generation", 5, "version", 2, "state_changed", (json_int_t)1000);
	assert_non_null(m);
	return m;
}

static void test_schema_member(void **state)
{
	char why[256];
	json_t *m = member("a", ID_A, "alive", true, "{}");
	assert_int_equal(gcli_check_member(m, why, sizeof(why)), 0);
	/* every required field is enforced */
	static const char *const req[] = {
	    "name",	 "id",	     "wg_public_key", "state",	    "self",   "overlay_addresses",
	    "endpoints", "prefixes", "labels",	      "generation", "version"};
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		json_t *c = json_deep_copy(m);
		json_object_del(c, req[i]);
		assert_int_equal(gcli_check_member(c, why, sizeof(why)), -EPROTO);
		assert_non_null(strstr(why, req[i]));
		json_decref(c);
	}
	json_t *c = json_deep_copy(m);
	/* admission: optional "reachable" must be a bool */
	json_object_set_new(c, "reachable", json_false());
	assert_int_equal(gcli_check_member(c, why, sizeof(why)), 0);
	json_object_set_new(c, "reachable", json_string("no"));
	assert_int_equal(gcli_check_member(c, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "reachable"));
	json_object_del(c, "reachable");
	json_object_set_new(c, "state", json_string("zombie"));
	assert_int_equal(gcli_check_member(c, why, sizeof(why)), -EPROTO);
	json_object_set_new(c, "state", json_string("dead"));
	json_object_set_new(c, "id", json_string("abc"));
	assert_int_equal(gcli_check_member(c, why, sizeof(why)), -EPROTO);
	json_object_set_new(c, "id", json_string(ID_B));
	json_object_set_new(c, "generation", json_string("5"));
	assert_int_equal(gcli_check_member(c, why, sizeof(why)), -EPROTO);
	json_object_set_new(c, "generation", json_integer(5));
	json_object_set_new(c, "labels", json_pack("{s:i}", "k", 1));
	assert_int_equal(gcli_check_member(c, why, sizeof(why)), -EPROTO);
	json_object_set_new(c, "labels", json_object());
	json_object_set_new(c, "endpoints", json_pack("[{s:i}]", "address", 1));
	assert_int_equal(gcli_check_member(c, why, sizeof(why)), -EPROTO);
	json_decref(c);
	/* unknown extra fields are fine */
	json_object_set_new(m, "future_field", json_true());
	assert_int_equal(gcli_check_member(m, why, sizeof(why)), 0);
	json_t *arr = json_pack("[o, s]", json_incref(m), "x");
	assert_int_equal(gcli_check_array(arr, gcli_check_member, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "element 1"));
	assert_int_equal(gcli_check_array(m, gcli_check_member, why, sizeof(why)), -EPROTO);
	json_decref(arr);
	json_decref(m);
}

/* The smallest status object the schema accepts: `alive` alive and `dead`
 * dead members, converged. */
static json_t *minimal_status(int alive, int dead)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:{s:i, s:i, s:i, s:i, s:i}, s:b}", "name", "a",
			 "id", ID_A, "backend", "none", "interface", "gsm0", "members", "alive",
			 alive, "suspect", 0, "dead", dead, "left", 0, "total", alive + dead,
			 "converged", 1);
}

static void test_schema_status_peer(void **state)
{
	char why[256];
	json_t *s = minimal_status(2, 1);
	assert_non_null(s);
	assert_int_equal(gcli_check_status(s, why, sizeof(why)), 0);
	json_object_del(json_object_get(s, "members"), "total");
	assert_int_equal(gcli_check_status(s, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "total"));
	json_decref(s);

	json_t *p = json_pack("{s:s, s:n, s:n, s:[], s:i, s:i, s:i, s:b}", "wg_public_key", "k",
			      "name", "endpoint", "allowed_ips", "latest_handshake", 0, "rx_bytes",
			      0, "tx_bytes", 0, "relayed", 0);
	assert_non_null(p);
	assert_int_equal(gcli_check_peer(p, why, sizeof(why)), 0);
	json_object_set_new(p, "relayed", json_string("no"));
	assert_int_equal(gcli_check_peer(p, why, sizeof(why)), -EPROTO);
	json_decref(p);
}

/* gossip.rejected and cluster_keys: accepted when well-formed, refused
 * when mistyped */
static void test_schema_status_rejected_keys(void **state)
{
	char why[256];
	json_t *s = minimal_status(1, 0);
	assert_non_null(s);
	json_object_set_new(s, "gossip",
			    json_pack("{s:i, s:{s:i, s:i, s:i}}", "datagrams_bad", 7, "rejected",
				      "unknown_key_id", 5, "bad_key", 2, "future_reason", 0));
	json_object_set_new(s, "cluster_keys",
			    json_pack("{s:[i, i], s:i}", "ids", 2, 1, "primary", 2));
	assert_int_equal(gcli_check_status(s, why, sizeof(why)), 0);
	json_object_set_new(json_object_get(s, "cluster_keys"), "primary", json_null());
	assert_int_equal(gcli_check_status(s, why, sizeof(why)), 0);
	json_object_set_new(json_object_get(s, "cluster_keys"), "ids", json_pack("[s]", "2"));
	assert_int_equal(gcli_check_status(s, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "cluster_keys"));
	json_object_del(s, "cluster_keys");
	assert_int_equal(gcli_check_status(s, why, sizeof(why)), 0);
	json_object_set_new(json_object_get(json_object_get(s, "gossip"), "rejected"), "bad_key",
			    json_string("2"));
	assert_int_equal(gcli_check_status(s, why, sizeof(why)), -EPROTO);
	assert_non_null(strstr(why, "rejected"));
	json_decref(s);
}

static void test_members_select(void **state)
{
	json_t *arr = json_array();
	json_array_append_new(arr, member("zeta", ID_A, "alive", false, "{\"role\":\"db\"}"));
	json_array_append_new(arr, member("alpha", ID_B, "dead", false, "{\"role\":\"web\"}"));
	json_array_append_new(
	    arr, member("mid", ID_A, "alive", true, "{\"role\":\"db\",\"zone\":\"eu\"}"));
	struct gcli_opts o;
	char err[128];
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "members", NULL), 0);
	json_t *sel = gcli_members_select(arr, &o);
	assert_int_equal(json_array_size(sel), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(sel, 0), "name")),
			    "alpha");
	assert_string_equal(json_string_value(json_object_get(json_array_get(sel, 2), "name")),
			    "zeta");
	json_decref(sel);
	gcli_opts_release(&o);

	assert_int_equal(parse(&o, err, sizeof(err), NULL, "members", "--label", "role=db", NULL),
			 0);
	sel = gcli_members_select(arr, &o);
	assert_int_equal(json_array_size(sel), 2);
	json_decref(sel);
	gcli_opts_release(&o);
	assert_int_equal(
	    parse(&o, err, sizeof(err), NULL, "members", "--label", "role=db", "-l", "zone", NULL),
	    0);
	sel = gcli_members_select(arr, &o);
	assert_int_equal(json_array_size(sel), 1);
	assert_true(json_is_true(json_object_get(json_array_get(sel, 0), "self")));
	json_decref(sel);
	gcli_opts_release(&o);
	assert_int_equal(parse(&o, err, sizeof(err), NULL, "members", "--state", "dead", NULL), 0);
	sel = gcli_members_select(arr, &o);
	assert_int_equal(json_array_size(sel), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(sel, 0), "name")),
			    "alpha");
	json_decref(sel);
	gcli_opts_release(&o);
	json_decref(arr);
}

static char *render_with(int (*fn)(const json_t *, const struct gcli_ctx *), const json_t *v,
			 size_t width, bool color)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	struct gcli_ctx ctx = {.out = f,
			       .err = stderr,
			       .color = color,
			       .width = width,
			       .ellipsis = "~",
			       .now = 1000 + 192};
	assert_int_equal(fn(v, &ctx), 0);
	fclose(f);
	return buf;
}

static void test_show_members(void **state)
{
	json_t *arr = json_array();
	json_array_append_new(arr, member("node-a", ID_A, "alive", true, "{\"role\":\"db\"}"));
	json_array_append_new(
	    arr, member("a-very-long-node-name-that-goes-on-and-on-forever", ID_B, "suspect", false,
			"{\"zone\":\"eu-west-1a\",\"role\":\"web\",\"team\":\"infra-platform\"}"));
	json_t *dual = member("node-c", ID_B, "dead", false, "{}");
	/* node-c is reached through node-a (ID_A) */
	json_object_set_new(dual, "relayed_via", json_string(ID_A));
	json_array_append_new(json_object_get(dual, "overlay_addresses"),
			      json_string("fd37:f39:347b::c/128"));
	json_array_append_new(arr, dual);
	char *s = render_with(gcli_show_members, arr, 80, false);
	size_t lines;
	assert_true(max_line_width(s, &lines) <= 80);
	assert_int_equal(lines, 4);
	assert_non_null(strstr(s, "10.77.0.1 +1"));
	assert_non_null(strstr(s, "via node-a "));
	assert_null(strstr(s, "fd37"));
	assert_non_null(strstr(s, "* node-a"));
	assert_non_null(strstr(s, "aa000000 "));       /* short id */
	assert_non_null(strstr(s, "10.77.0.1 "));      /* host prefix shown as address */
	assert_non_null(strstr(s, "127.0.0.1:51820")); /* endpoint */
	assert_non_null(strstr(s, "3m12s"));	       /* state age */
	/* STATE column aligned */
	assert_int_equal(column_of(s, 1, "alive"), column_of(s, 0, "STATE"));
	assert_int_equal(column_of(s, 2, "suspect"), column_of(s, 0, "STATE"));
	assert_null(strchr(s, '\033'));
	free(s);
	/* wide: everything, labels sorted by key */
	s = render_with(gcli_show_members, arr, 0, false);
	assert_non_null(strstr(s, "a-very-long-node-name-that-goes-on-and-on-forever"));
	assert_non_null(strstr(s, "role=web,team=infra-platform,zone=eu-west-1a"));
	assert_non_null(strstr(s, "10.77.0.1,fd37:f39:347b::c "));
	free(s);
	/* colour: state coloured */
	s = render_with(gcli_show_members, arr, 80, true);
	assert_non_null(strstr(s, "\033[32malive\033[0m"));
	assert_non_null(strstr(s, "\033[33msuspect\033[0m"));
	free(s);
	json_decref(arr);
}

static void test_show_peers_status(void **state)
{
	json_t *peers = json_pack(
	    "[{s:s, s:s, s:s, s:s, s:[s,s], s:I, s:I, s:I, s:b, s:n},"
	    " {s:s, s:n, s:n, s:n, s:[], s:i, s:i, s:i, s:b, s:s}]",
	    "wg_public_key", "wpaDv/2d7c2Sm3NnLeINnlZh2AeehShnYfBYPBFWshM=", "name", "node-b", "id",
	    ID_B, "endpoint", "127.0.0.1:51821", "allowed_ips", "10.77.0.2/32", "fd00::2/128",
	    "latest_handshake", (json_int_t)1000 + 180, "rx_bytes", (json_int_t)1536, "tx_bytes",
	    (json_int_t)5 << 20, "relayed", 0, "relay", "wg_public_key",
	    "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=", "name", "id", "endpoint", "allowed_ips",
	    "latest_handshake", 0, "rx_bytes", 0, "tx_bytes", 0, "relayed", 1, "relay", "hub-1");
	assert_non_null(peers);
	char *s = render_with(gcli_show_peers, peers, 80, false);
	assert_true(max_line_width(s, NULL) <= 80);
	assert_non_null(strstr(s, "node-b"));
	assert_non_null(strstr(s, "12s ago"));
	assert_non_null(strstr(s, "1.50 KiB"));
	assert_non_null(strstr(s, "5.00 MiB"));
	assert_non_null(strstr(s, "127.0.0.1:51821"));
	assert_non_null(strstr(s, "10.77.0.2 +1"));
	assert_non_null(strstr(s, "via hub-1"));
	assert_non_null(strstr(s, "never"));
	/* a key without a member shows as its short key; named peers first */
	assert_non_null(strstr(s, "QUFBQUFB"));
	assert_true(strstr(s, "node-b") < strstr(s, "QUFBQUFB"));
	/* and with room, the KEY column appears */
	free(s);
	s = render_with(gcli_show_peers, peers, 0, false);
	assert_non_null(strstr(s, "KEY"));
	assert_non_null(strstr(s, "wpaDv/2d"));
	free(s);
	json_decref(peers);

	json_t *st = json_pack(
	    "{s:s, s:s, s:s, s:s, s:{s:i, s:i, s:i, s:i, s:i}, s:b, s:i, s:i,"
	    " s:[s], s:[{s:s, s:b, s:n}], s:I, s:i, s:i, s:i}",
	    "name", "node-a", "id", ID_A, "backend", "none", "interface", "gsm0", "members",
	    "alive", 2, "suspect", 1, "dead", 0, "left", 0, "total", 3, "converged", 0, "wg_port",
	    51820, "gossip_port", 7946, "overlay_addresses", "10.77.0.1/32", "endpoints", "address",
	    "127.0.0.1:51820", "observed", 0, "observer", "last_sync", (json_int_t)1000 + 190,
	    "pending_updates", 3, "uptime", 3700, "generation", 7);
	assert_non_null(st);
	s = render_with(gcli_show_status, st, 80, false);
	assert_true(max_line_width(s, NULL) <= 80);
	assert_non_null(strstr(s, "Name:       node-a\n"));
	assert_non_null(strstr(s, "Node ID:    " ID_A "\n"));
	assert_non_null(strstr(s, "Addresses:  10.77.0.1/32\n"));
	assert_non_null(strstr(s, "Backend:    none, interface gsm0\n"));
	assert_non_null(strstr(s, "Ports:      wireguard 51820/udp, gossip 7946/udp\n"));
	assert_non_null(strstr(s, "Members:    2 alive, 1 suspect, 0 dead, 0 left (3 total)\n"));
	assert_non_null(strstr(s, "Converged:  no (last sync 2s ago, 3 pending updates)\n"));
	assert_non_null(strstr(s, "Uptime:     1h1m (generation 7)\n"));
	assert_null(strstr(s, "Paths:"));
	free(s);
	json_object_set_new(st, "nat",
			    json_pack("{s:i, s:i, s:i}", "direct", 2, "trying", 0, "relayed", 1));
	s = render_with(gcli_show_status, st, 80, false);
	assert_non_null(strstr(s, "Paths:      2 direct, 0 trying, 1 relayed\n"));
	assert_null(strstr(s, "Rejected:"));
	assert_null(strstr(s, "Keys:"));
	free(s);
	/* refused datagrams by reason (zero reasons omitted), cluster key ids */
	json_object_set_new(st, "gossip",
			    json_pack("{s:i, s:i, s:{s:i, s:i, s:i}}", "datagrams_sent", 1,
				      "datagrams_received", 8, "rejected", "bad_key", 2,
				      "unknown_key_id", 5, "oversize", 0));
	json_object_set_new(st, "cluster_keys",
			    json_pack("{s:[i, i], s:i}", "ids", 2, 1, "primary", 2));
	s = render_with(gcli_show_status, st, 80, false);
	assert_non_null(strstr(s, "Rejected:   7 ("));
	assert_non_null(strstr(s, "unknown key id 5"));
	assert_non_null(strstr(s, "bad key 2"));
	assert_null(strstr(s, "oversize"));
	assert_non_null(strstr(s, "Keys:       2 (primary), 1\n"));
	free(s);
	json_decref(st);
}

/* ---------------- client framing against a real socket ---------------- */

struct srv {
	char dir[64];
	char path[128];
	pid_t pid;
};

/* Fork a server that, for each accepted connection, reads a request line
 * and answers with the next canned reply (written in `chunks` pieces). */
static void srv_start(struct srv *s, const char *const *replies, size_t n)
{
	strcpy(s->dir, "/tmp/gcli-unit-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(s->path, sizeof(s->path), "%s/ctl.sock", s->dir);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, s->path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	s->pid = fork();
	assert_true(s->pid >= 0);
	if (s->pid == 0) {
		for (size_t i = 0; i < n; i++) {
			int c = accept(lfd, NULL, NULL);
			if (c < 0)
				_exit(1);
			char buf[4096];
			size_t len = 0;
			while (!memchr(buf, '\n', len) && len < sizeof(buf)) {
				ssize_t r = read(c, buf + len, sizeof(buf) - len);
				if (r <= 0)
					break;
				len += (size_t)r;
			}
			/* send the reply in two pieces to exercise reassembly */
			size_t rl = strlen(replies[i]);
			if (write(c, replies[i], rl / 2) < 0)
				_exit(1);
			usleep(20000);
			if (write(c, replies[i] + rl / 2, rl - rl / 2) < 0)
				_exit(1);
			close(c);
		}
		_exit(0);
	}
	close(lfd);
}

static void srv_stop(struct srv *s)
{
	int st;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, &st, 0);
	unlink(s->path);
	rmdir(s->dir);
}

static void test_client_framing(void **state)
{
	static const char *const replies[] = {
	    "{\"ok\": true, \"result\": {\"contacted\": 2}}\n",
	    "{\"ok\": false, \"error\": \"bad config\", \"code\": \"EINVAL\"}\n",
	    "this is not json\n",
	    "{\"ok\": true}\n",
	    "{\"ok\": true, \"result\": [] ", /* closes without newline */
	};
	struct srv s;
	srv_start(&s, replies, 5);
	char err[512];
	json_t *res = NULL;
	assert_int_equal(gcli_call_once(s.path, "join", NULL, &res, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(res, "contacted")), 2);
	json_decref(res);
	assert_int_equal(gcli_call_once(s.path, "reload", NULL, &res, err, sizeof(err)),
			 -EREMOTEIO);
	assert_string_equal(err, "reload: bad config (EINVAL)");
	assert_int_equal(gcli_call_once(s.path, "status", NULL, &res, err, sizeof(err)), -EPROTO);
	assert_non_null(strstr(err, s.path));
	assert_int_equal(gcli_call_once(s.path, "status", NULL, &res, err, sizeof(err)), -EPROTO);
	assert_int_equal(gcli_call_once(s.path, "status", NULL, &res, err, sizeof(err)),
			 -ECONNRESET);
	srv_stop(&s);
	/* nobody listening: one line naming the socket */
	assert_int_equal(gcli_call_once(s.path, "status", NULL, &res, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, s.path));
	assert_null(strchr(err, '\n'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fmt_bytes),
	    cmocka_unit_test(test_fmt_age),
	    cmocka_unit_test(test_sanitize_and_width),
	    cmocka_unit_test(test_elide),
	    cmocka_unit_test(test_host_prefix_and_numbers),
	    cmocka_unit_test(test_table_natural),
	    cmocka_unit_test(test_table_shrinks_to_width),
	    cmocka_unit_test(test_table_drops_optional_column),
	    cmocka_unit_test(test_table_never_exceeds_width),
	    cmocka_unit_test(test_table_color_and_sanitize),
	    cmocka_unit_test(test_args_commands_and_globals),
	    cmocka_unit_test(test_args_help),
	    cmocka_unit_test(test_args_members_filters),
	    cmocka_unit_test(test_args_join_wait_keys),
	    cmocka_unit_test(test_args_timeout_durations),
	    cmocka_unit_test(test_args_errors),
	    cmocka_unit_test(test_args_authority),
	    cmocka_unit_test(test_args_lifetimes),
	    cmocka_unit_test(test_schema_member),
	    cmocka_unit_test(test_schema_status_peer),
	    cmocka_unit_test(test_schema_status_rejected_keys),
	    cmocka_unit_test(test_members_select),
	    cmocka_unit_test(test_show_members),
	    cmocka_unit_test(test_show_peers_status),
	    cmocka_unit_test(test_client_framing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
