/*
 * daemon/control.c - control socket server.
 *
 * JSON lines over a unix stream socket (docs/control.md).  Each connection
 * handles one request at a time: while an answer is pending (e.g. `leave`,
 * answered only once the leave intent was gossiped) reading pauses, so
 * answers always come back in request order without any queue.  A request
 * line longer than 64 KiB gets an error and the connection is closed.
 * Clients that disconnect while an answer is pending are handled by a
 * reference count: the handler may still reply, the reply is dropped.
 *
 * The socket is created with mode 0660 (group access is how operators grant
 * non-root users the CLI).  A stale socket file from a crashed daemon is
 * replaced; if another daemon still answers on it we refuse to start.
 */
#include "daemon/control.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/log.h"

#define MAX_REQUEST (64 * 1024)

struct gsd_control {
	uv_loop_t *loop;
	uv_pipe_t server;
	char path[108];
	gsd_ctl_handler handler;
	void *ctx;
	struct gsd_ctl_client *clients;
	bool closing;
};

struct gsd_ctl_client {
	uv_pipe_t pipe;
	struct gsd_control *ctl;
	struct gsd_ctl_client *next, *prev;
	char *buf;
	size_t len, cap;
	int refs; /* 1 for the connection + 1 while a reply is pending */
	bool pending;
	bool closed;
	bool close_after_write;
};

struct write_req {
	uv_write_t w;
	struct gsd_ctl_client *c;
	char *data;
};

const char *gsd_errno_name(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case EINVAL:
		return "EINVAL";
	case EOPNOTSUPP:
		return "EOPNOTSUPP";
	case ENOENT:
		return "ENOENT";
	case EAGAIN:
		return "EAGAIN";
	case EBUSY:
		return "EBUSY";
	case ENOMEM:
		return "ENOMEM";
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case EEXIST:
		return "EEXIST";
	case EMSGSIZE:
		return "EMSGSIZE";
	case ETIMEDOUT:
		return "ETIMEDOUT";
	case EHOSTUNREACH:
		return "EHOSTUNREACH";
	case ENODEV:
		return "ENODEV";
	case EIO:
		return "EIO";
	case ESHUTDOWN:
		return "ESHUTDOWN";
	case EALREADY:
		return "EALREADY";
	case EBADMSG:
		return "EBADMSG";
	case EKEYREJECTED:
		return "EKEYREJECTED";
	case ESTALE:
		return "ESTALE";
	case ENOSPC:
		return "ENOSPC";
	default:
		return "EIO";
	}
}

static void client_unref(struct gsd_ctl_client *c)
{
	if (--c->refs > 0)
		return;
	free(c->buf);
	free(c);
}

static void on_client_closed(uv_handle_t *h)
{
	client_unref(h->data);
}

static void client_close(struct gsd_ctl_client *c)
{
	if (c->closed)
		return;
	c->closed = true;
	struct gsd_control *ctl = c->ctl;
	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_read_stop((uv_stream_t *)&c->pipe);
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void on_write(uv_write_t *w, int status)
{
	struct write_req *wr = (struct write_req *)w;
	struct gsd_ctl_client *c = wr->c;
	free(wr->data);
	free(wr);
	if ((status < 0 || c->close_after_write) && !c->closed)
		client_close(c);
	client_unref(c);
}

static void process_lines(struct gsd_ctl_client *c);

static void send_json(struct gsd_ctl_client *c, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!s || c->closed) {
		free(s);
		return;
	}
	size_t l = strlen(s);
	char *line = realloc(s, l + 2);
	if (!line) {
		free(s);
		return;
	}
	line[l] = '\n';
	line[l + 1] = 0;
	struct write_req *wr = calloc(1, sizeof(*wr));
	if (!wr) {
		free(line);
		return;
	}
	wr->c = c;
	wr->data = line;
	uv_buf_t b = uv_buf_init(line, (unsigned)(l + 1));
	c->refs++;
	if (uv_write(&wr->w, (uv_stream_t *)&c->pipe, &b, 1, on_write) < 0) {
		free(line);
		free(wr);
		c->refs--;
		client_close(c);
	}
}

static void finish_reply(struct gsd_ctl_client *c)
{
	if (!c->pending)
		return;
	c->pending = false;
	if (!c->closed)
		process_lines(c); /* next buffered request, or re-arm reading */
	client_unref(c);
}

void gsd_ctl_reply_ok(struct gsd_ctl_client *c, json_t *result)
{
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_true());
	json_object_set_new(o, "result", result ? result : json_object());
	send_json(c, o);
	finish_reply(c);
}

void gsd_ctl_reply_err(struct gsd_ctl_client *c, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *o = json_object();
	json_object_set_new(o, "ok", json_false());
	json_object_set_new(o, "error", json_string(msg));
	json_object_set_new(o, "code", json_string(code));
	send_json(c, o);
	finish_reply(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	struct gsd_ctl_client *c = h->data;
	if (c->cap - c->len < 4096) {
		size_t nc = c->cap ? c->cap * 2 : 8192;
		if (nc > MAX_REQUEST * 2 + 8192)
			nc = MAX_REQUEST * 2 + 8192;
		char *nb = realloc(c->buf, nc);
		if (nb) {
			c->buf = nb;
			c->cap = nc;
		}
	}
	if (c->cap - c->len == 0) {
		*buf = uv_buf_init(NULL, 0);
		return;
	}
	*buf = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void handle_line(struct gsd_ctl_client *c, char *line)
{
	json_error_t jerr;
	json_t *req = json_loads(line, 0, &jerr);
	c->pending = true;
	c->refs++;
	if (!req || !json_is_object(req)) {
		json_decref(req);
		gsd_ctl_reply_err(c, "EINVAL", "request is not a JSON object%s%s", req ? "" : ": ",
				  req ? "" : jerr.text);
		return;
	}
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	if (!cmd) {
		json_decref(req);
		gsd_ctl_reply_err(c, "EINVAL", "request has no \"cmd\" string");
		return;
	}
	c->ctl->handler(c->ctl->ctx, c, cmd, req);
	json_decref(req);
}

static void process_lines(struct gsd_ctl_client *c)
{
	if (c->close_after_write)
		return; /* closing: read nothing more */
	while (!c->closed && !c->pending) {
		char *nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (!nl || (size_t)(nl - c->buf) > MAX_REQUEST) {
			if (c->len > MAX_REQUEST) {
				/* answer once, drop the rest, close after the write */
				c->len = 0;
				c->close_after_write = true;
				uv_read_stop((uv_stream_t *)&c->pipe);
				c->pending = true;
				c->refs++;
				gsd_ctl_reply_err(c, "EMSGSIZE", "request longer than 64 KiB");
				return;
			}
			break;
		}
		*nl = 0;
		size_t used = (size_t)(nl - c->buf) + 1;
		char *line = strndup(c->buf, used - 1);
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		if (!line) {
			client_close(c);
			return;
		}
		if (line[0] && strspn(line, " \t\r") != strlen(line))
			handle_line(c, line);
		free(line);
	}
	if (c->closed)
		return;
	if (c->pending)
		uv_read_stop((uv_stream_t *)&c->pipe);
	else
		uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct gsd_ctl_client *c = s->data;
	if (n < 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	process_lines(c);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct gsd_control *ctl = server->data;
	if (status < 0)
		return;
	struct gsd_ctl_client *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->ctl = ctl;
	c->refs = 1;
	uv_pipe_init(ctl->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
		c->closed = true;
		uv_close((uv_handle_t *)&c->pipe, on_client_closed);
		return;
	}
	c->next = ctl->clients;
	if (ctl->clients)
		ctl->clients->prev = c;
	ctl->clients = c;
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

static int mkparent(const char *path)
{
	char dir[108];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = 0;
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static bool socket_alive(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool alive = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return alive;
}

static void on_server_closed(uv_handle_t *h)
{
	free(h->data);
}

int gsd_control_open(uv_loop_t *loop, const char *path, gsd_ctl_handler h, void *ctx,
		     struct gsd_control **out)
{
	struct gsd_control *ctl = calloc(1, sizeof(*ctl));
	int r;
	if (!ctl)
		return -ENOMEM;
	if (strlen(path) >= sizeof(ctl->path)) {
		free(ctl);
		return -ENAMETOOLONG;
	}
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	ctl->loop = loop;
	ctl->handler = h;
	ctl->ctx = ctx;
	r = mkparent(path);
	if (r < 0) {
		free(ctl);
		return r;
	}
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			free(ctl);
			return -EEXIST;
		}
		if (socket_alive(path)) {
			free(ctl);
			return -EADDRINUSE;
		}
		unlink(path);
	}
	uv_pipe_init(loop, &ctl->server, 0);
	ctl->server.data = ctl;
	mode_t old = umask(0117);
	r = uv_pipe_bind(&ctl->server, path);
	umask(old);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&ctl->server, 64, on_connection);
	if (r < 0) {
		uv_close((uv_handle_t *)&ctl->server, on_server_closed);
		return r;
	}
	chmod(path, 0660);
	*out = ctl;
	return 0;
}

void gsd_control_close(struct gsd_control *ctl)
{
	if (!ctl || ctl->closing)
		return;
	ctl->closing = true;
	while (ctl->clients)
		client_close(ctl->clients);
	unlink(ctl->path);
	uv_close((uv_handle_t *)&ctl->server, on_server_closed);
}
