/* src/docker/exec.c - hijacked connections: attach, exec and the pump
 * that copies stdin and output across them. */
#include "docker/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- hijacked connections ---------------------------------------------------- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Sends one upgraded POST on a fresh unix-socket connection and reads the answer's
 * headers byte by byte (so no byte of the stream after them is consumed). A 101 or
 * 200 leaves the connection carrying the stream; anything else fails with the
 * daemon's message. libcurl is not used: after the upgrade the socket is no
 * longer HTTP, and a raw socket keeps both directions in our hands. */
static int hijack(struct docker *d, const char *path, const json_t *body, int *conn)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct buf req = BUF_INIT, head = BUF_INIT, msg = BUF_INIT, vpath = BUF_INIT;
	char *text = NULL;
	long status = 0;
	int fd = -1, ret = -1;

	*conn = -1;
	if (body && !(text = json_dumps(body, JSON_COMPACT))) {
		err_set("cannot serialise a request to Docker");
		goto out;
	}
	if (docker__versioned(&vpath, d, path) < 0 ||
	    buf_addf(&req, "POST %s HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\n"
		     "Upgrade: tcp\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		     vpath.buf, text ? strlen(text) : 0, text ? text : "") < 0)
		goto out;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		docker__unreachable(d, CURLE_COULDNT_CONNECT, errno);
		goto out;
	}
	if (write_all(fd, req.buf, req.len) < 0) {
		err_set_errno("lost the connection to Docker at %s", d->host);
		goto out;
	}
	while (head.len < 4 || memcmp(head.buf + head.len - 4, "\r\n\r\n", 4)) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || head.len > 16384) {
			err_set("Docker at %s closed the connection before it answered %s", d->host, path);
			goto out;
		}
		buf_addch(&head, c);
	}
	if (sscanf(head.buf, "HTTP/1.%*c %ld", &status) != 1) {
		err_set("Docker sent a bad answer to %s", path);
		goto out;
	}
	if (status != 101 && status != 200) {
		/* The error body follows the headers; it is short. */
		struct buf eb = BUF_INIT;
		char chunk[4096];
		const char *cl = strcasestr(head.buf, "\r\nContent-Length:");
		long want = cl ? atol(cl + 17) : 65536;
		ssize_t r;
		struct timeval tv = { 2, 0 };
		/* The daemon keeps the connection open: read the announced length,
		 * or what comes within a short wait. */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		while ((long)eb.len < want && want <= 65536 &&
		       (r = read(fd, chunk, sizeof(chunk))) > 0)
			buf_add(&eb, chunk, (size_t)r);
		docker__reply_message(&eb, status, &msg);
		err_set("%s", msg.buf);
		buf_release(&eb);
		goto out;
	}
	*conn = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(text);
	buf_release(&req);
	buf_release(&head);
	buf_release(&msg);
	buf_release(&vpath);
	return ret;
}

int docker_container_attach(struct docker *d, const char *id, int with_stdin, int *conn)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (docker__container_path(&p, id, "/attach?stream=1&stdout=1&stderr=1") < 0 ||
	    (with_stdin && buf_addstr(&p, "&stdin=1") < 0))
		goto out;
	ret = hijack(d, p.buf, NULL, conn);
out:
	buf_release(&p);
	return ret;
}

int docker_exec_create(struct docker *d, const char *id, const char **cmd,
		       const char **env, int tty, struct buf *exec_id)
{
	struct buf p = BUF_INIT;
	json_t *body, *reply = NULL;
	int ret = -1;

	buf_reset(exec_id);
	body = json_pack("{s:b,s:b,s:b,s:b,s:o}", "AttachStdin", 1, "AttachStdout", 1,
			 "AttachStderr", 1, "Tty", tty, "Cmd", docker__string_array(cmd));
	if (!body || (env && json_object_set_new(body, "Env", docker__string_array(env)) < 0)) {
		err_set("cannot build the exec request");
		goto out;
	}
	if (docker__container_path(&p, id, "/exec") < 0 ||
	    docker_call(d, "POST", p.buf, body, &reply, NULL) < 0)
		goto out;
	if (!json_str(reply, "Id", NULL)) {
		err_set("Docker created an exec but sent no id");
		goto out;
	}
	ret = buf_addstr(exec_id, json_str(reply, "Id", ""));
out:
	json_decref(body);
	json_decref(reply);
	buf_release(&p);
	return ret;
}

int docker_exec_start(struct docker *d, const char *exec_id, int tty, int *conn)
{
	struct buf p = BUF_INIT;
	json_t *body = json_pack("{s:b,s:b}", "Detach", 0, "Tty", tty);
	int ret = -1;

	if (buf_addstr(&p, "/exec/") < 0 || docker_urlencode(&p, exec_id) < 0 ||
	    buf_addstr(&p, "/start") < 0)
		goto out;
	ret = hijack(d, p.buf, body, conn);
out:
	json_decref(body);
	buf_release(&p);
	return ret;
}

int docker_exec_exit_code(struct docker *d, const char *exec_id, long long *code)
{
	struct buf p = BUF_INIT;
	json_t *reply = NULL;
	int ret = -1;

	*code = -1;
	if (buf_addstr(&p, "/exec/") < 0 || docker_urlencode(&p, exec_id) < 0 ||
	    buf_addstr(&p, "/json") < 0 || docker_call(d, "GET", p.buf, NULL, &reply, NULL) < 0)
		goto out;
	if (!json_is_true(json_object_get(reply, "Running")))
		*code = json_int(reply, "ExitCode", -1);
	ret = 0;
out:
	json_decref(reply);
	buf_release(&p);
	return ret;
}

static int pump_out(int stream, const char *data, size_t len, void *unused)
{
	(void)unused;
	if (write_all(stream == 2 ? 2 : 1, data, len) < 0)
		return err_set_errno("cannot write the output");
	return 0;
}

int docker_pump(int conn, int in_fd, int tty, docker_tick_fn *tick, void *data)
{
	struct docker__demux dm = DOCKER__DEMUX_INIT;
	char b[16384];

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = conn, .events = POLLIN },
			{ .fd = in_fd, .events = POLLIN },
			/* No events asked: poll still reports POLLERR/POLLHUP when the
			 * reader of our stdout (sshd) went away. */
			{ .fd = 1, .events = 0 },
		};
		int n = poll(p, 3, 1000), r;
		ssize_t got;

		if (n < 0 && errno != EINTR)
			return err_set_errno("poll");
		if (tick && (r = tick(data)) < 0)
			return r;
		if (n <= 0)
			continue;
		if (p[2].revents & (POLLERR | POLLHUP))
			return err_set("the client went away");
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			got = read(in_fd, b, sizeof(b));
			if (got < 0 && errno == EINTR)
				continue;
			/* A process that stopped reading (it exited, or closed its
			 * stdin) ends the copy, not the session: its output and exit
			 * code still come. */
			if (got > 0 && write_all(conn, b, (size_t)got) < 0)
				got = 0;
			if (got <= 0) {
				/* stdin ended: close the process's stdin, keep reading. */
				shutdown(conn, SHUT_WR);
				in_fd = -1;
			}
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			got = read(conn, b, sizeof(b));
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0)
				return err_set_errno("lost the connection to Docker");
			if (got == 0)
				return 0;
			r = tty ? pump_out(1, b, (size_t)got, NULL)
				: docker__demux_feed(&dm, b, (size_t)got, pump_out, NULL);
			if (r < 0)
				return -1;
		}
	}
}
