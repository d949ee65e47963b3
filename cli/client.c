/*
 * cli/client.c - the control-socket client.
 *
 * What: connect to gossamerd's unix socket, send one JSON object per line,
 * read one JSON line back, and separate "the daemon said no" from "the
 * daemon could not be reached" from "the daemon said something we do not
 * understand".
 *
 * Why it is careful: scripts act on our exit status and output, so every
 * failure must map to exactly one error with one human line.  Reads and
 * writes are bounded in time (poll) and size (GCLI_MAX_RESPONSE), SIGPIPE
 * is avoided with MSG_NOSIGNAL, and bytes after the first newline are kept
 * for the next call, so one connection can carry many requests (`gossamer
 * wait` polls over a single connection and reconnects only when it drops).
 *
 * Trade-offs: synchronous and blocking; the CLI never has more than one
 * request in flight, so an event loop would buy nothing.
 */
#include "cli/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct gcli_client {
	int fd;
	char *buf; /* received, not yet consumed */
	size_t len, cap;
	char *error;
	char *code;
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int gcli_client_connect(const char *path, struct gcli_client **out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct gcli_client *c = NULL;
	int fd = -1, rc;
	*out = NULL;
	if (!path || !*path)
		return -EINVAL;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		rc = -ENOMEM;
		goto out;
	}
	c->fd = fd;
	fd = -1;
	*out = c;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

void gcli_client_free(struct gcli_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	free(c->error);
	free(c->code);
	free(c);
}

const char *gcli_client_error(const struct gcli_client *c)
{
	return c && c->error ? c->error : "request refused";
}

const char *gcli_client_error_code(const struct gcli_client *c)
{
	return c && c->code ? c->code : "";
}

static int wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = ev};
		int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n > 0)
			return 0;
	}
}

static int send_all(struct gcli_client *c, const char *s, size_t len, long long deadline)
{
	while (len) {
		int rc = wait_fd(c->fd, POLLOUT, deadline);
		if (rc)
			return rc;
		ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == EPIPE ? -ECONNRESET : -errno;
		}
		s += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until a '\n' is buffered; *linelen gets its length (without it). */
static int read_line(struct gcli_client *c, long long deadline, size_t *linelen)
{
	size_t scanned = 0;
	for (;;) {
		char *nl =
		    c->len > scanned ? memchr(c->buf + scanned, '\n', c->len - scanned) : NULL;
		if (nl) {
			*linelen = (size_t)(nl - c->buf);
			return 0;
		}
		scanned = c->len;
		if (c->len >= GCLI_MAX_RESPONSE)
			return -EMSGSIZE;
		if (c->cap - c->len < 4096) {
			size_t ncap = c->cap ? c->cap * 2 : 16384;
			if (ncap > GCLI_MAX_RESPONSE + 1)
				ncap = GCLI_MAX_RESPONSE + 1;
			char *n = realloc(c->buf, ncap);
			if (!n)
				return -ENOMEM;
			c->buf = n;
			c->cap = ncap;
		}
		int rc = wait_fd(c->fd, POLLIN, deadline);
		if (rc)
			return rc;
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		c->len += (size_t)n;
	}
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
}

int gcli_client_call(struct gcli_client *c, const char *cmd, json_t *args, int timeout_ms,
		     json_t **result)
{
	json_t *req = NULL, *resp = NULL;
	char *line = NULL;
	int rc;
	*result = NULL;
	if (!c || c->fd < 0 || !cmd)
		return -EINVAL;
	long long deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : GCLI_CALL_TIMEOUT_MS);

	req = args ? json_deep_copy(args) : json_object();
	if (!req || json_object_set_new(req, "cmd", json_string(cmd))) {
		rc = -ENOMEM;
		goto out;
	}
	line = json_dumps(req, JSON_COMPACT);
	if (!line) {
		rc = -ENOMEM;
		goto out;
	}
	size_t ll = strlen(line);
	rc = send_all(c, line, ll, deadline);
	if (!rc)
		rc = send_all(c, "\n", 1, deadline);
	if (rc)
		goto out;

	size_t len = 0;
	rc = read_line(c, deadline, &len);
	if (rc)
		goto out;
	json_error_t jerr;
	resp = json_loadb(c->buf, len, JSON_REJECT_DUPLICATES, &jerr);
	/* consume the line */
	memmove(c->buf, c->buf + len + 1, c->len - len - 1);
	c->len -= len + 1;
	if (!resp || !json_is_object(resp)) {
		rc = -EPROTO;
		goto out;
	}
	json_t *ok = json_object_get(resp, "ok");
	if (!json_is_boolean(ok)) {
		rc = -EPROTO;
		goto out;
	}
	if (json_is_false(ok)) {
		json_t *e = json_object_get(resp, "error"), *code = json_object_get(resp, "code");
		set_str(&c->error, json_is_string(e) ? json_string_value(e) : NULL);
		set_str(&c->code, json_is_string(code) ? json_string_value(code) : NULL);
		rc = -EREMOTEIO;
		goto out;
	}
	json_t *res = json_object_get(resp, "result");
	if (!res) {
		rc = -EPROTO;
		goto out;
	}
	*result = json_incref(res);
	rc = 0;
out:
	free(line);
	json_decref(req);
	json_decref(resp);
	return rc;
}

void gcli_client_describe(const struct gcli_client *c, const char *path, const char *cmd, int err,
			  char *buf, size_t cap)
{
	switch (err) {
	case -ENOENT:
		snprintf(buf, cap,
			 "cannot reach gossamerd at %s: no such socket (is gossamerd running?)",
			 path);
		break;
	case -ECONNREFUSED:
		snprintf(buf, cap,
			 "cannot reach gossamerd at %s: connection refused (is gossamerd running?)",
			 path);
		break;
	case -EACCES:
	case -EPERM:
		snprintf(buf, cap,
			 "cannot reach gossamerd at %s: permission denied (root or the socket's "
			 "group needed)",
			 path);
		break;
	case -ENOTDIR:
	case -ENOTSOCK:
		snprintf(buf, cap, "cannot reach gossamerd at %s: not a socket", path);
		break;
	case -ENAMETOOLONG:
		snprintf(buf, cap, "cannot reach gossamerd at %s: socket path too long", path);
		break;
	case -EREMOTEIO:
		if (*gcli_client_error_code(c))
			snprintf(buf, cap, "%s: %s (%s)", cmd, gcli_client_error(c),
				 gcli_client_error_code(c));
		else
			snprintf(buf, cap, "%s: %s", cmd, gcli_client_error(c));
		break;
	case -EPROTO:
		snprintf(buf, cap, "%s: gossamerd at %s sent a malformed response", cmd, path);
		break;
	case -ETIMEDOUT:
		snprintf(buf, cap, "%s: gossamerd at %s did not answer in time", cmd, path);
		break;
	case -ECONNRESET:
		snprintf(buf, cap, "%s: gossamerd at %s closed the connection", cmd, path);
		break;
	case -EMSGSIZE:
		snprintf(buf, cap, "%s: response from gossamerd at %s is too large", cmd, path);
		break;
	default:
		snprintf(buf, cap, "%s: gossamerd at %s: %s", cmd, path, strerror(-err));
		break;
	}
}

int gcli_call_once(const char *path, const char *cmd, json_t *args, json_t **result, char *errbuf,
		   size_t errcap)
{
	struct gcli_client *c = NULL;
	int rc = gcli_client_connect(path, &c);
	if (!rc)
		rc = gcli_client_call(c, cmd, args, 0, result);
	if (rc)
		gcli_client_describe(c, path, cmd, rc, errbuf, errcap);
	gcli_client_free(c);
	return rc;
}
