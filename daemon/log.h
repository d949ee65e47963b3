/* daemon/log.h - leveled logging to stderr (and optionally syslog); every
 * line is tagged with the node name. */
#ifndef GOSSAMER_DAEMON_LOG_H
#define GOSSAMER_DAEMON_LOG_H

#include <stdbool.h>

enum gsd_log_level {
	GSD_LOG_ERROR = 0,
	GSD_LOG_WARN = 1,
	GSD_LOG_INFO = 2,
	GSD_LOG_DEBUG = 3,
};

void gsd_log_set_level(int level);
int gsd_log_get_level(void);
void gsd_log_set_name(const char *name);
void gsd_log_set_syslog(bool on);
/* "error", "warn", "info", "debug" -> level; -EINVAL otherwise */
int gsd_log_parse_level(const char *s);
const char *gsd_log_level_name(int level);

void gsd_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define gsd_err(...)  gsd_log(GSD_LOG_ERROR, __VA_ARGS__)
#define gsd_warn(...) gsd_log(GSD_LOG_WARN, __VA_ARGS__)
#define gsd_info(...) gsd_log(GSD_LOG_INFO, __VA_ARGS__)
#define gsd_debug(...)                                                                             \
	do {                                                                                       \
		if (gsd_log_get_level() >= GSD_LOG_DEBUG)                                          \
			gsd_log(GSD_LOG_DEBUG, __VA_ARGS__);                                       \
	} while (0)

#endif
