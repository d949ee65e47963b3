/*
 * daemon/log.c - logging.
 *
 * One line per event on stderr: "<time> <level> [<node>] message".  The node
 * name is in every line because integration tests and operators run several
 * daemons side by side and interleave their logs.  Optional syslog mirrors
 * the same lines (without our own timestamp).  Logging is synchronous and
 * unbuffered; the daemon logs little in steady state (state changes only),
 * so the cost does not matter and nothing is lost on a crash.
 */
#include "daemon/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <sys/time.h>

static int g_level = GSD_LOG_INFO;
static char g_name[64] = "gossamerd";
static bool g_syslog;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void gsd_log_set_level(int level)
{
	if (level < GSD_LOG_ERROR)
		level = GSD_LOG_ERROR;
	if (level > GSD_LOG_DEBUG)
		level = GSD_LOG_DEBUG;
	g_level = level;
}

int gsd_log_get_level(void)
{
	return g_level;
}

void gsd_log_set_name(const char *name)
{
	snprintf(g_name, sizeof(g_name), "%s", name && *name ? name : "gossamerd");
}

void gsd_log_set_syslog(bool on)
{
	if (on && !g_syslog)
		openlog("gossamerd", LOG_PID, LOG_DAEMON);
	else if (!on && g_syslog)
		closelog();
	g_syslog = on;
}

int gsd_log_parse_level(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(s, level_names[i]))
			return i;
	if (!strcmp(s, "warning"))
		return GSD_LOG_WARN;
	return -EINVAL;
}

const char *gsd_log_level_name(int level)
{
	if (level < 0 || level > 3)
		return "?";
	return level_names[level];
}

void gsd_log(int level, const char *fmt, ...)
{
	if (level > g_level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char ts[32];
	strftime(ts, sizeof(ts), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %-5s [%s] %s\n", ts, (long)(tv.tv_usec / 1000),
		level_names[level], g_name, msg);
	if (g_syslog) {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
		syslog(prio[level], "[%s] %s", g_name, msg);
	}
}
