/* daemon/uapi.h - WireGuard cross-platform userspace API (wireguard-go):
 * text serialization of the netlink/ op list, parsing of `get=1`, and a
 * small blocking client for <dir>/<ifname>.sock. */
#ifndef GOSSAMER_DAEMON_UAPI_H
#define GOSSAMER_DAEMON_UAPI_H

#include <stddef.h>

#include "netlink/wg.h"

/* Serialize ops as a complete `set=1` request (ends with "\n\n").
 * *out malloc'd (NUL-terminated), *len its length.  -ENOMEM. */
int gsd_uapi_serialize(const struct gnl_wg_ops *ops, char **out, size_t *len);

/* Parse a `get=1` response (key=value lines, ending with errno=N and an
 * empty line).  -EBADMSG on malformed input, -errno when the response
 * carries errno != 0. */
int gsd_uapi_parse_get(const char *text, size_t len, const char *ifname,
		       struct gnl_wg_device **out);

/* Parse the "errno=N\n\n" answer to a set: 0 or -N. -EBADMSG. */
int gsd_uapi_parse_errno(const char *text, size_t len);

/* Client: path of the socket. */
int gsd_uapi_sock_path(const char *dir, const char *ifname, char *buf, size_t cap);
/* -ENOENT/-ECONNREFUSED when no wireguard-go serves the interface. */
int gsd_uapi_get(const char *dir, const char *ifname, struct gnl_wg_device **out);
int gsd_uapi_apply(const char *dir, const char *ifname, const struct gnl_wg_ops *ops);

#endif
