/* takeover.c - handing the listening sockets from a running router to its successor
 * (`wharf router --takeover`) over a libuv IPC pipe, so an upgrade of the router itself
 * drops no connection: the sockets, and the connections queued on them, never close. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#define TAKEOVER_WAIT_MS 10000

/* ---- the running router: gives its sockets away, then stops ------------------------ */

struct giver {
	uv_pipe_t pipe;
	uv_write_t w1, w2;
	struct router *r;
	int pending;
	int failed;
	long peer_pid;  /* the successor, from SO_PEERCRED; 0: unknown */
	struct buf tls; /* "T" and the session ticket keys, sent with the HTTPS socket */
};

static void giver_closed(uv_handle_t *h)
{
	struct giver *g = h->data;

	OPENSSL_cleanse(g->tls.buf, g->tls.len);
	buf_release(&g->tls);
	free(g);
}

static void giver_done(struct giver *g)
{
	/* Under systemd the successor becomes the service's main process before
	 * this one (the main process so far) stops, so systemd neither restarts
	 * the service when this one exits nor loses track of the new one. */
	if (!g->failed && g->peer_pid > 0) {
		char msg[64];
		snprintf(msg, sizeof(msg), "MAINPID=%ld\n", g->peer_pid);
		router__sd_notify(msg);
	}
	/* The successor holds the sockets now (or failed, and then it exits and
	 * this router stops anyway: the caller asked for a replacement). */
	uv_close((uv_handle_t *)&g->pipe, giver_closed);
	router__stop(g->r);
}

static void giver_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char drop[64];

	(void)h;
	(void)suggested;
	*b = uv_buf_init(drop, sizeof(drop));
}

static void giver_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	(void)b;
	if (nread < 0)
		giver_done(s->data);
}

static void giver_written(uv_write_t *req, int status)
{
	struct giver *g = req->data;

	if (status < 0)
		g->failed = 1;
	if (--g->pending > 0)
		return;
	/* The pipe closes when the successor closes it, not before: libuv reads a
	 * hang-up after a short read as the end of the stream, and the kernel ends
	 * a read at each message carrying a socket, so a successor that read the
	 * first socket when this side had already closed lost the second (the
	 * HTTPS one) most of the time. The successor closes once it has both, or
	 * after its own timeout. */
	if (g->failed || uv_read_start((uv_stream_t *)&g->pipe, giver_alloc, giver_read) < 0)
		giver_done(g);
}

static void on_taker(uv_stream_t *server, int status)
{
	struct router *r = server->data;
	struct giver *g;
	uv_buf_t b = uv_buf_init("L", 1), bt;

	if (status < 0 || r->stopping || !(g = calloc(1, sizeof(*g))))
		return;
	g->r = r;
	uv_pipe_init(r->loop, &g->pipe, 1);
	g->pipe.data = g;
	if (uv_accept(server, (uv_stream_t *)&g->pipe) < 0) {
		uv_close((uv_handle_t *)&g->pipe, giver_closed);
		return;
	}
	{
		struct ucred cred;
		socklen_t clen = sizeof(cred);
		uv_os_fd_t fd;

		if (uv_fileno((uv_handle_t *)&g->pipe, &fd) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
			g->peer_pid = (long)cred.pid;
	}
	g->w1.data = g->w2.data = g;
	g->pending = 1;
	if (uv_write2(&g->w1, (uv_stream_t *)&g->pipe, &b, 1, (uv_stream_t *)&r->listener,
		      giver_written) < 0) {
		uv_close((uv_handle_t *)&g->pipe, giver_closed);
		return;
	}
	if (r->listener_tls.loop) {
		/* The ticket keys ride with the HTTPS socket (one message: a successor
		 * reads both at once), so tickets issued here resume there. A router
		 * from before reads the 'T' and stops at the socket. */
		buf_init(&g->tls, 0);
		if (buf_add(&g->tls, "T", 1) < 0 || router__tls_tickets_export(r, &g->tls) < 0)
			buf_setlen(&g->tls, 1);
		bt = uv_buf_init(g->tls.buf, (unsigned)g->tls.len);
		g->pending++;
		if (uv_write2(&g->w2, (uv_stream_t *)&g->pipe, &bt, 1,
			      (uv_stream_t *)&r->listener_tls, giver_written) < 0)
			g->pending--;
	}
}

int router__takeover_listen(struct router *r)
{
	struct buf path = BUF_INIT;
	int rc, ret = -1;

	if (buf_addf(&path, "%s.takeover", r->opts.control_socket) < 0)
		goto out;
	unlink(path.buf); /* only a router holding the control socket gets here */
	uv_pipe_init(r->loop, &r->takeover, 0);
	r->takeover.data = r;
	if ((rc = uv_pipe_bind(&r->takeover, path.buf)) < 0 ||
	    (rc = uv_listen((uv_stream_t *)&r->takeover, 4, on_taker)) < 0) {
		err_set("cannot listen on %s: %s", path.buf, uv_strerror(rc));
		goto out;
	}
	chmod(path.buf, 0600);
	ret = 0;
out:
	buf_release(&path);
	return ret;
}

void router__takeover_stop(struct router *r)
{
	struct buf path = BUF_INIT;

	if (!r->takeover.loop || uv_is_closing((uv_handle_t *)&r->takeover))
		return;
	uv_close((uv_handle_t *)&r->takeover, NULL);
	if (buf_addf(&path, "%s.takeover", r->opts.control_socket) == 0)
		unlink(path.buf);
	buf_release(&path);
}

/* ---- the successor: receives the sockets ------------------------------------------ */

struct taker {
	uv_pipe_t pipe;
	uv_timer_t timer;
	uv_connect_t creq;
	struct router *r;
	int got, want_tls, done, failed;
	char why[160];
};

static void taker_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	static char one[512];

	(void)h;
	(void)suggested;
	*b = uv_buf_init(one, sizeof(one));
}

static void taker_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct taker *t = s->data;
	uv_pipe_t *p = (uv_pipe_t *)s;
	ssize_t i;

	if (nread < 0) {
		if (!t->got) {
			t->failed = 1;
			snprintf(t->why, sizeof(t->why), "the running router sent no socket");
		}
		t->done = 1;
		uv_read_stop(s);
		return;
	}
	for (i = 0; i < nread; i++) {
		uv_tcp_t *l;

		/* What follows 'T' in its message: the session ticket keys. */
		if (b->base[i] == 'K' && (t->got & 2)) {
			if (router__tls_tickets_import(t->r, b->base + i, (size_t)(nread - i)) < 0)
				err_clear(); /* new keys then: tickets from before need a handshake */
			break;
		}
		if (uv_pipe_pending_count(p) <= 0)
			break;
		l = b->base[i] == 'T' ? &t->r->listener_tls : &t->r->listener;

		if (uv_pipe_pending_type(p) != UV_TCP)
			continue;
		uv_tcp_init(t->r->loop, l);
		l->data = t->r;
		if (uv_accept(s, (uv_stream_t *)l) < 0) {
			t->failed = 1;
			snprintf(t->why, sizeof(t->why), "cannot accept the handed-over socket");
		}
		t->got |= b->base[i] == 'T' ? 2 : 1;
	}
	if ((t->got & 1) && (!t->want_tls || (t->got & 2))) {
		t->done = 1;
		uv_read_stop(s);
	}
}

static void taker_connected(uv_connect_t *req, int status)
{
	struct taker *t = req->data;

	if (status < 0) {
		t->failed = t->done = 1;
		snprintf(t->why, sizeof(t->why), "no router to take over: %s", uv_strerror(status));
		return;
	}
	uv_read_start((uv_stream_t *)&t->pipe, taker_alloc, taker_read);
}

static void taker_timeout(uv_timer_t *tm)
{
	struct taker *t = tm->data;

	t->failed = t->done = 1;
	snprintf(t->why, sizeof(t->why), "no answer from the running router");
}

int router__takeover(struct router *r, int want_tls)
{
	struct buf path = BUF_INIT;
	struct taker t;
	int ret = -1;

	memset(&t, 0, sizeof(t));
	t.r = r;
	t.want_tls = want_tls;
	if (buf_addf(&path, "%s.takeover", r->opts.control_socket) < 0)
		goto out;
	uv_pipe_init(r->loop, &t.pipe, 1);
	t.pipe.data = &t;
	t.creq.data = &t;
	uv_timer_init(r->loop, &t.timer);
	t.timer.data = &t;
	uv_timer_start(&t.timer, taker_timeout, TAKEOVER_WAIT_MS, 0);
	uv_pipe_connect(&t.creq, &t.pipe, path.buf, taker_connected);
	while (!t.done)
		uv_run(r->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t.pipe, NULL);
	uv_close((uv_handle_t *)&t.timer, NULL);
	uv_run(r->loop, UV_RUN_NOWAIT);
	if (!t.done || t.failed) {
		err_set("takeover failed: %s",
			t.done ? t.why : "no answer from the running router");
		goto out;
	}
	if (want_tls && !(t.got & 2)) {
		err_set("takeover failed: the running router has no HTTPS socket");
		goto out;
	}
	ret = 0;
out:
	buf_release(&path);
	return ret;
}
