/* src/build/proxy.c - the build egress proxy: while a build runs on its app's
 * internal network (no route off the machine), wharf listens on the network's
 * gateway address and tunnels CONNECT requests to public addresses on ports 80
 * and 443, so npm, pip and git over https work and nothing else leaves: no
 * loopback, private, link-local or multicast destination (the host's own
 * services, other apps' containers, a cloud metadata endpoint), no other port. */
#include "build/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PROXY_CONNS_MAX  64               /* tunnels at once; more wait in the backlog */
#define PROXY_HEAD_MAX   8192             /* a CONNECT request head */
#define PROXY_IO_TIMEOUT (10 * 60 * 1000) /* a tunnel idle this long is closed (ms) */
#define PROXY_CONNECT_MS 15000

struct proxy_conn {
	struct build_proxy *p;
	pthread_t thread;
	int fd;   /* the client; -1 when the slot is free */
	int done; /* the thread ended: join it, reuse the slot */
};

struct build_proxy {
	int listen_fd;
	int stop[2]; /* a byte written to stop[1] wakes every thread */
	pthread_t acceptor;
	pthread_mutex_t lock;
	struct proxy_conn conns[PROXY_CONNS_MAX];
	char url[96]; /* "http://10.213.0.1:41234" */
};

/* a: an IPv4 address in host order. */
static int v4_allowed(uint32_t a)
{
	return !((a >> 24) == 0 || (a >> 24) == 10 || (a >> 24) == 127 ||
		 (a & 0xffc00000) == 0x64400000 || /* 100.64/10, carrier NAT */
		 (a & 0xffff0000) == 0xa9fe0000 || /* 169.254/16, metadata */
		 (a & 0xfff00000) == 0xac100000 || /* 172.16/12 */
		 (a & 0xffff0000) == 0xc0a80000 || /* 192.168/16 */
		 (a >> 28) >= 14);                 /* multicast, reserved */
}

/* A v4-mapped (or v4-compatible) v6 address is judged by its v4 part, read out
 * with memcpy: a struct sockaddr_in made here and read back through a struct
 * sockaddr pointer was an aliasing violation that -O2 compiled into a
 * sin_family of 0, refusing every mapped address. */
int build__proxy_addr_allowed(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return v4_allowed(ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr));
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a)) {
			uint32_t v4;
			memcpy(&v4, a->s6_addr + 12, 4);
			return v4_allowed(ntohl(v4));
		}
		return !(IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_LOOPBACK(a) ||
			 IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_SITELOCAL(a) ||
			 IN6_IS_ADDR_MULTICAST(a) || (a->s6_addr[0] & 0xfe) == 0xfc);
	}
	return 0;
}

int build__proxy_parse_connect(const char *head, struct buf *host, int *port)
{
	const char *p, *sp, *colon;
	long v;
	char *end;

	if (strncmp(head, "CONNECT ", 8))
		return err_set("only CONNECT is proxied");
	p = head + 8;
	sp = strchr(p, ' ');
	if (!sp || strncmp(sp, " HTTP/1.", 8))
		return err_set("bad CONNECT line");
	if (*p == '[') { /* [v6]:port */
		const char *rb = memchr(p, ']', (size_t)(sp - p));
		if (!rb || rb[1] != ':')
			return err_set("bad CONNECT target");
		if (buf_add(host, p + 1, (size_t)(rb - p - 1)) < 0)
			return -1;
		colon = rb + 1;
	} else {
		colon = memchr(p, ':', (size_t)(sp - p));
		if (!colon || memchr(colon + 1, ':', (size_t)(sp - colon - 1)))
			return err_set("bad CONNECT target");
		if (buf_add(host, p, (size_t)(colon - p)) < 0)
			return -1;
	}
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (errno || end != sp || v < 1 || v > 65535 || !host->len || host->len > 253)
		return err_set("bad CONNECT target");
	*port = (int)v;
	if (*port != 443 && *port != 80)
		return err_set("only ports 80 and 443 are proxied");
	return 0;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads the request head up to its blank line, a byte at a time (a CONNECT head is
 * short), so no byte of the tunnel that follows it is taken. */
static int read_head(int fd, int stop, struct buf *head)
{
	while (head->len < 4 || memcmp(head->buf + head->len - 4, "\r\n\r\n", 4)) {
		struct pollfd pf[2] = { { fd, POLLIN, 0 }, { stop, POLLIN, 0 } };
		char c;
		if (head->len > PROXY_HEAD_MAX || poll(pf, 2, PROXY_CONNECT_MS) <= 0 ||
		    pf[1].revents || recv(fd, &c, 1, 0) != 1 || buf_addch(head, c) < 0)
			return -1;
	}
	return 0;
}

/* Connects to the first allowed address of host:port. */
static int dial(const char *host, int port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL, *ai;
	char ps[8];
	int fd = -1, refused = 0;

	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pf;
		int err = 0;
		socklen_t el = sizeof(err);
		if (!build__proxy_addr_allowed(ai->ai_addr)) {
			refused = 1;
			continue;
		}
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)
			goto next;
		pf.fd = fd;
		pf.events = POLLOUT;
		if (poll(&pf, 1, PROXY_CONNECT_MS) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
			break;
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd >= 0 ? fd : refused ? -2 : -1;
}

/* Copies bytes both ways until either side ends, the tunnel idles, or wharf stops. */
static void relay(int a, int b, int stop)
{
	char data[16384];
	int open_a = 1, open_b = 1;

	while (open_a || open_b) {
		struct pollfd pf[3] = { { a, open_a ? POLLIN : 0, 0 },
					{ b, open_b ? POLLIN : 0, 0 },
					{ stop, POLLIN, 0 } };
		int i;
		if (poll(pf, 3, PROXY_IO_TIMEOUT) <= 0 || pf[2].revents)
			return;
		for (i = 0; i < 2; i++) {
			int from = i ? b : a, to = i ? a : b;
			ssize_t n;
			if (!pf[i].revents)
				continue;
			n = recv(from, data, sizeof(data), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				shutdown(to, SHUT_WR);
				if (i)
					open_b = 0;
				else
					open_a = 0;
				continue;
			}
			if (write_all(to, data, (size_t)n) < 0)
				return;
		}
	}
}

static void *conn_main(void *arg)
{
	struct proxy_conn *c = arg;
	struct buf head = BUF_INIT, host = BUF_INIT;
	int port = 0, up = -1;
	const char *answer;

	if (read_head(c->fd, c->p->stop[0], &head) < 0)
		goto out;
	if (build__proxy_parse_connect(head.buf, &host, &port) < 0) {
		answer = "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n";
		if (!strncmp(head.buf, "CONNECT ", 8))
			answer = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
		write_all(c->fd, answer, strlen(answer));
		goto out;
	}
	up = dial(host.buf, port);
	if (up < 0) {
		answer = up == -2 ? "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
				  : "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
		write_all(c->fd, answer, strlen(answer));
		goto out;
	}
	answer = "HTTP/1.1 200 Connection established\r\n\r\n";
	if (write_all(c->fd, answer, strlen(answer)) == 0)
		relay(c->fd, up, c->p->stop[0]);
out:
	if (up >= 0)
		close(up);
	buf_release(&head);
	buf_release(&host);
	pthread_mutex_lock(&c->p->lock);
	close(c->fd);
	c->fd = -1;
	c->done = 1;
	pthread_mutex_unlock(&c->p->lock);
	return NULL;
}

/* The index of a free slot (joining a finished thread first), or -1 when all are busy. */
static int free_slot(struct build_proxy *p)
{
	int i;

	for (i = 0; i < PROXY_CONNS_MAX; i++) {
		struct proxy_conn *c = &p->conns[i];
		int done;
		int busy;
		pthread_mutex_lock(&p->lock);
		done = c->done;
		busy = c->fd >= 0;
		pthread_mutex_unlock(&p->lock);
		if (done) {
			pthread_join(c->thread, NULL);
			c->done = 0;
		} else if (busy) {
			continue;
		}
		return i;
	}
	return -1;
}

static void *accept_main(void *arg)
{
	struct build_proxy *p = arg;

	for (;;) {
		struct pollfd pf[2] = { { p->listen_fd, POLLIN, 0 }, { p->stop[0], POLLIN, 0 } };
		struct sockaddr_storage peer;
		socklen_t peer_len;
		struct proxy_conn *c;
		int fd, slot;

		if (poll(pf, 2, 1000) < 0 && errno != EINTR)
			return NULL;
		if (pf[1].revents)
			return NULL;
		if (!pf[0].revents)
			continue;
		slot = free_slot(p);
		if (slot < 0)
			continue;
		c = &p->conns[slot];
		peer_len = sizeof(peer);
		fd = accept4(p->listen_fd, (struct sockaddr *)&peer, &peer_len, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		c->p = p;
		c->fd = fd;
		if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
			close(fd);
			c->fd = -1;
		}
	}
}

int build_proxy_start(struct build_proxy **out, const char *ip)
{
	struct build_proxy *p = calloc(1, sizeof(*p));
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	size_t i;

	*out = NULL;
	if (!p)
		return err_set("out of memory");
	p->listen_fd = p->stop[0] = p->stop[1] = -1;
	for (i = 0; i < PROXY_CONNS_MAX; i++)
		p->conns[i].fd = -1;
	pthread_mutex_init(&p->lock, NULL);
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1) {
		err_set("the build network's gateway '%s' is not an IPv4 address", ip);
		goto fail;
	}
	if (pipe2(p->stop, O_CLOEXEC) < 0 ||
	    (p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(p->listen_fd, 64) < 0 ||
	    getsockname(p->listen_fd, (struct sockaddr *)&sa, &len) < 0) {
		err_set_errno("cannot start the build proxy on %s", ip);
		goto fail;
	}
	snprintf(p->url, sizeof(p->url), "http://%s:%u", ip, (unsigned)ntohs(sa.sin_port));
	if (pthread_create(&p->acceptor, NULL, accept_main, p) != 0) {
		err_set("cannot start the build proxy's thread");
		goto fail;
	}
	*out = p;
	return 0;
fail:
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	if (p->stop[0] >= 0) {
		close(p->stop[0]);
		close(p->stop[1]);
	}
	pthread_mutex_destroy(&p->lock);
	free(p);
	return -1;
}

const char *build_proxy_url(const struct build_proxy *p)
{
	return p ? p->url : NULL;
}

void build_proxy_stop(struct build_proxy *p)
{
	size_t i;

	if (!p)
		return;
	/* One byte wakes every thread; a pipe that cannot take it is empty-handed. */
	(void)!write(p->stop[1], "x", 1);
	pthread_join(p->acceptor, NULL);
	for (i = 0; i < PROXY_CONNS_MAX; i++) {
		int started;
		pthread_mutex_lock(&p->lock);
		started = p->conns[i].fd >= 0 || p->conns[i].done;
		pthread_mutex_unlock(&p->lock);
		if (started)
			pthread_join(p->conns[i].thread, NULL);
	}
	close(p->listen_fd);
	close(p->stop[0]);
	close(p->stop[1]);
	pthread_mutex_destroy(&p->lock);
	free(p);
}
