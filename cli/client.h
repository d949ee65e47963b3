/*
 * cli/client.h - a client of gossamerd's control socket (docs/control.md).
 */
#ifndef GOSSAMER_CLI_CLIENT_H
#define GOSSAMER_CLI_CLIENT_H

#include <jansson.h>
#include <stddef.h>

#define GCLI_MAX_RESPONSE    (64u << 20) /* one response line, bytes */
#define GCLI_CALL_TIMEOUT_MS 15000

struct gcli_client;

/* Connect to the unix socket at path.  Errors: -ENOENT (no socket),
 * -ECONNREFUSED (socket but no daemon), -EACCES, -ENAMETOOLONG, ... */
int gcli_client_connect(const char *path, struct gcli_client **out);
void gcli_client_free(struct gcli_client *c);

/* Send {"cmd": cmd, ...args} (args may be NULL; not consumed) and read
 * one response line.  On success *result gets a new reference to the
 * response's "result".  Errors: -EREMOTEIO the daemon refused the request
 * (see gcli_client_error*), -EPROTO malformed response, -ETIMEDOUT,
 * -ECONNRESET the daemon closed the connection, -EMSGSIZE, other errno. */
int gcli_client_call(struct gcli_client *c, const char *cmd, json_t *args, int timeout_ms,
		     json_t **result);

/* After -EREMOTEIO: the daemon's "error" message and "code" (never NULL). */
const char *gcli_client_error(const struct gcli_client *c);
const char *gcli_client_error_code(const struct gcli_client *c);

/* One line (no newline) describing a failure of connect/call on path,
 * e.g. "cannot reach gossamerd at /run/x.sock: no such socket (is
 * gossamerd running?)".  c may be NULL (connect failures). */
void gcli_client_describe(const struct gcli_client *c, const char *path, const char *cmd, int err,
			  char *buf, size_t cap);

/* Connect, call once, disconnect. */
int gcli_call_once(const char *path, const char *cmd, json_t *args, json_t **result, char *errbuf,
		   size_t errcap);

#endif
