/* daemon/control.h - the control socket server (docs/control.md): JSON
 * lines over a unix stream socket, served from the libuv loop. */
#ifndef GOSSAMER_DAEMON_CONTROL_H
#define GOSSAMER_DAEMON_CONTROL_H

#include <jansson.h>
#include <uv.h>

struct gsd_control;
struct gsd_ctl_client;

/* Called once per request line; must eventually answer with exactly one of
 * gsd_ctl_reply_ok / gsd_ctl_reply_err (now or later: the client reads no
 * further request until then). */
typedef void (*gsd_ctl_handler)(void *ctx, struct gsd_ctl_client *c, const char *cmd, json_t *req);

/* Listen on path (mode 0660; parent directory created 0755 if missing).
 * A stale socket file is replaced; a live one (another daemon answers)
 * gives -EADDRINUSE. */
int gsd_control_open(uv_loop_t *loop, const char *path, gsd_ctl_handler h, void *ctx,
		     struct gsd_control **out);
/* Close the listener and every client; unlinks the socket.  NULL ok.
 * Needs loop iterations to finish (uv_close). */
void gsd_control_close(struct gsd_control *ctl);

/* result is stolen (may be NULL = {}) */
void gsd_ctl_reply_ok(struct gsd_ctl_client *c, json_t *result);
/* code: "EINVAL", "EOPNOTSUPP", ... */
void gsd_ctl_reply_err(struct gsd_ctl_client *c, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* errno value -> "EINVAL" etc. */
const char *gsd_errno_name(int err);

#endif
