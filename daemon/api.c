/*
 * daemon/api.c - the control commands (docs/control.md).
 *
 * control.c frames requests (JSON lines over a unix socket) and calls
 * gsd_on_control once per request; this file maps the command name to a
 * handler through one table.  A handler answers exactly once, now or later
 * (`leave` answers when the leave finished, `join` with wait_ms when a seed
 * answered or the wait ran out); the client reads no further request until
 * then.  Views (views.c) build the JSON, handlers only route and report
 * errors.  Unknown commands get EOPNOTSUPP.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/clients.h"
#include "daemon/daemon_int.h"
#include "daemon/log.h"

typedef void (*api_handler)(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req);

static void cmd_status(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	(void)req;
	gsd_ctl_reply_ok(c, gsd_view_status(d));
}

static void cmd_members(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	(void)req;
	gsd_ctl_reply_ok(c, gsd_view_members(d));
}

static void cmd_peers(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	json_t *arr = NULL;
	(void)req;
	int r = gsd_view_peers(d, &arr);
	if (r < 0) {
		gsd_ctl_reply_err(c, gsd_errno_name(r), "cannot read %s: %s", d->cfg.interface,
				  gnl_strerror(r));
		return;
	}
	gsd_ctl_reply_ok(c, arr);
}

static void cmd_join(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	gsd_cmd_join(d, c, req);
}

static void cmd_leave(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	(void)req;
	if (gsd_leave_add_waiter(d, c) < 0) {
		gsd_ctl_reply_err(c, "ENOMEM", "out of memory");
		return;
	}
	gsd_start_leave(d);
}

static void cmd_reload(struct gsd_daemon *d, struct gsd_ctl_client *c, json_t *req)
{
	char msg[1024];
	(void)req;
	if (gsd_reload(d, msg, sizeof(msg)) < 0)
		gsd_ctl_reply_err(c, "EINVAL", "%s", msg);
	else
		gsd_ctl_reply_ok(c, NULL);
}

static const struct {
	const char *name;
	api_handler handler;
} commands[] = {
    {"status", cmd_status},
    {"members", cmd_members},
    {"peers", cmd_peers},
    {"join", cmd_join},
    {"leave", cmd_leave},
    {"reload", cmd_reload},
    {"revoke", gsd_cmd_revoke},
    {"client_add", gsd_cmd_client_add},
    {"client_list", gsd_cmd_client_list},
    {"client_remove", gsd_cmd_client_remove},
    {"exit_node", gsd_cmd_exit_node},
};

void gsd_on_control(void *ctx, struct gsd_ctl_client *c, const char *cmd, json_t *req)
{
	struct gsd_daemon *d = ctx;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(cmd, commands[i].name)) {
			commands[i].handler(d, c, req);
			return;
		}
	gsd_ctl_reply_err(c, "EOPNOTSUPP", "unknown command \"%s\"", cmd);
}
