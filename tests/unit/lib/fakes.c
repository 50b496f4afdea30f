/* fakes.c - the fake Docker Engine and the fake router of fakes.h. */
#include "fakes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CONTAINERS_MAX 256

struct fcont {
	char id[65];
	json_t *obj; /* Id, Names, Image, Labels, Env, State (Docker's list shape) */
	long long exit_code;
	int lfd; /* listener of a running web container, or -1 */
	pthread_t th;
	int status; /* what its listener answers */
};

static struct {
	pthread_mutex_t mu;
	struct buf log;
	struct fcont c[CONTAINERS_MAX];
	size_t nc;
	unsigned next_id;
	json_t *images; /* id -> {"refs": [..]} */
	json_t *routes; /* app -> route */
	json_t *swarm;  /* "/services", "/tasks", "/nodes" -> what GET answers */
	int refuse;
	char docker_sock[108], router_sock[108];
} F = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* ---- HTTP plumbing ------------------------------------------------------------ */

struct req {
	char method[16];
	char path[2048]; /* without the query */
	char query[4096];
	struct buf body;
};

static void reply(int fd, int status, const char *ctype, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d X\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 status, ctype, len);

	if (write(fd, head, (size_t)n) < 0 || (len && write(fd, body, len) < 0))
		return;
}

static void reply_json(int fd, int status, const char *body)
{
	reply(fd, status, "application/json", body, strlen(body));
}

static void reply_obj(int fd, int status, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);

	reply_json(fd, status, s ? s : "null");
	free(s);
	json_decref(obj);
}

static void log_line(const char *fmt, ...)
{
	va_list ap;
	char line[4096];

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&F.mu);
	buf_addf(&F.log, "%s\n", line);
	pthread_mutex_unlock(&F.mu);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* The value of key in a query string, percent-decoded, into out. */
static int query_get(const char *query, const char *key, char *out, size_t n)
{
	size_t klen = strlen(key);
	const char *p = query;

	while (p && *p) {
		if (!strncmp(p, key, klen) && p[klen] == '=') {
			size_t o = 0;
			for (p += klen + 1; *p && *p != '&' && o + 1 < n; p++) {
				if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
					out[o++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
					p += 2;
				} else {
					out[o++] = *p == '+' ? ' ' : *p;
				}
			}
			out[o] = '\0';
			return 1;
		}
		p = strchr(p, '&');
		if (p)
			p++;
	}
	return 0;
}

typedef void handler_fn(int fd, struct req *r);

/* Reads one request (head and a Content-Length or chunked body) from fd into r,
 * with what was read beyond it kept in in. 0, or -1 at the connection's end. */
static int read_request(int fd, struct buf *in, struct req *r)
{
	char chunk[8192], *end, target[6144];
	const char *cl, *q;
	size_t head, len = 0;
	ssize_t n;
	int chunked;

	while (!(end = strstr(in->buf, "\r\n\r\n"))) {
		if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
			return -1;
		buf_add(in, chunk, (size_t)n);
	}
	head = (size_t)(end - in->buf) + 4;
	if (sscanf(in->buf, "%15s %6143s", r->method, target) != 2)
		return -1;
	q = strchr(target, '?');
	snprintf(r->path, sizeof(r->path), "%.*s", q ? (int)(q - target) : (int)strlen(target),
		 target);
	snprintf(r->query, sizeof(r->query), "%s", q ? q + 1 : "");
	cl = strcasestr(in->buf, "\r\nContent-Length:");
	chunked = strcasestr(in->buf, "\r\nTransfer-Encoding: chunked") &&
		  strcasestr(in->buf, "\r\nTransfer-Encoding: chunked") < end;
	if (cl && cl < end)
		len = strtoul(cl + 17, NULL, 10);
	if (strcasestr(in->buf, "\r\nExpect: 100-continue") &&
	    strcasestr(in->buf, "\r\nExpect: 100-continue") < end &&
	    write(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
		return -1;
	buf_remove_front(in, head);
	buf_reset(&r->body);
	if (chunked) {
		for (;;) {
			char *nl;
			size_t sz;
			while (!(nl = strstr(in->buf, "\r\n"))) {
				if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
					return -1;
				buf_add(in, chunk, (size_t)n);
			}
			sz = strtoul(in->buf, NULL, 16);
			while (in->len < (size_t)(nl - in->buf) + 2 + sz + 2) {
				size_t off = (size_t)(nl - in->buf);
				if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
					return -1;
				buf_add(in, chunk, (size_t)n);
				nl = in->buf + off;
			}
			buf_add(&r->body, nl + 2, sz);
			buf_remove_front(in, (size_t)(nl - in->buf) + 2 + sz + 2);
			if (!sz)
				return 0;
		}
	}
	while (in->len < len) {
		if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
			return -1;
		buf_add(in, chunk, (size_t)n);
	}
	buf_add(&r->body, in->buf, len);
	buf_remove_front(in, len);
	return 0;
}

struct conn_arg {
	int fd;
	handler_fn *fn;
};

static void *serve_conn(void *arg)
{
	struct conn_arg a = *(struct conn_arg *)arg;
	struct buf in = BUF_INIT;
	struct req r = { .body = BUF_INIT };

	free(arg);
	while (read_request(a.fd, &in, &r) == 0)
		a.fn(a.fd, &r);
	close(a.fd);
	buf_release(&in);
	buf_release(&r.body);
	return NULL;
}

struct listener {
	int fd;
	handler_fn *fn;
};

static void *accept_loop(void *arg)
{
	struct listener *l = arg;

	for (;;) {
		pthread_t t;
		struct conn_arg *a;
		int fd = accept(l->fd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		a = malloc(sizeof(*a));
		a->fd = fd;
		a->fn = l->fn;
		pthread_create(&t, NULL, serve_conn, a);
		pthread_detach(t);
	}
}

static int serve_unix(const char *path, handler_fn *fn)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct listener *l = malloc(sizeof(*l));
	pthread_t t;

	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	l->fn = fn;
	l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l->fd < 0 || bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l->fd, 64) < 0 || pthread_create(&t, NULL, accept_loop, l) != 0)
		return -1;
	pthread_detach(t);
	return 0;
}

/* ---- a container's "app": answers every request with its status ------------------ */

struct app_arg {
	int lfd, status;
};

static void *app_loop(void *arg)
{
	struct app_arg a = *(struct app_arg *)arg;

	free(arg);
	for (;;) {
		char buf[4096], resp[128];
		int fd = accept(a.lfd, NULL, NULL), n;

		if (fd < 0)
			return NULL;
		if (read(fd, buf, sizeof(buf)) < 0) {
			close(fd);
			continue;
		}
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.1 %d X\r\nContent-Length: 2\r\n"
			     "Connection: close\r\n\r\nok",
			     a.status);
		if (write(fd, resp, (size_t)n) < 0) {
			close(fd);
			continue;
		}
		close(fd);
	}
}

static const char *env_get(const json_t *env, const char *key)
{
	size_t i, k = strlen(key);
	json_t *v;

	json_array_foreach(env, i, v) {
		const char *s = json_string_value(v);
		if (s && !strncmp(s, key, k) && s[k] == '=')
			return s + k + 1;
	}
	return NULL;
}

static int app_listen(struct fcont *c, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct app_arg *a = NULL;
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->lfd < 0 || setsockopt(c->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(c->lfd, 16) < 0 ||
	    !(a = malloc(sizeof(*a)))) {
		if (c->lfd >= 0)
			close(c->lfd);
		c->lfd = -1;
		return -1;
	}
	a->lfd = c->lfd;
	a->status = c->status;
	if (pthread_create(&c->th, NULL, app_loop, a) != 0) {
		free(a);
		close(c->lfd);
		c->lfd = -1;
		return -1;
	}
	return 0;
}

static void app_stop(struct fcont *c)
{
	if (c->lfd < 0)
		return;
	shutdown(c->lfd, SHUT_RDWR);
	pthread_join(c->th, NULL);
	close(c->lfd);
	c->lfd = -1;
}

/* ---- the fake Docker ------------------------------------------------------------- */

static struct fcont *find_container(const char *id)
{
	size_t i;

	for (i = 0; i < F.nc; i++)
		if (!strcmp(F.c[i].id, id) ||
		    !strcmp(json_string_value(
				    json_array_get(json_object_get(F.c[i].obj, "Names"), 0)) +
				    1,
			    id))
			return &F.c[i];
	return NULL;
}

static const char *state(struct fcont *c)
{
	return json_str(c->obj, "State", "");
}

static void set_state(struct fcont *c, const char *s)
{
	json_object_set_new(c->obj, "State", json_string(s));
}

/* The image id of ref (an id or one of the refs), or NULL. Caller holds F.mu. */
static const char *image_id(const char *ref)
{
	const char *id;
	json_t *img, *r;
	size_t i;

	json_object_foreach(F.images, id, img) {
		if (!strcmp(id, ref))
			return id;
		json_array_foreach(json_object_get(img, "refs"), i, r)
			if (!strcmp(json_string_value(r), ref))
				return id;
	}
	return NULL;
}

static void image_add_locked(const char *ref, const char *id)
{
	json_t *img = json_object_get(F.images, id);

	if (!img) {
		img = json_pack("{s:[]}", "refs");
		json_object_set_new(F.images, id, img);
	}
	if (ref && strcmp(ref, id))
		json_array_append_new(json_object_get(img, "refs"), json_string(ref));
}

void fakes_image_add(const char *ref, const char *id)
{
	pthread_mutex_lock(&F.mu);
	image_add_locked(ref, id);
	pthread_mutex_unlock(&F.mu);
}

int fakes_image_exists(const char *ref)
{
	int yes;

	pthread_mutex_lock(&F.mu);
	yes = image_id(ref) != NULL;
	pthread_mutex_unlock(&F.mu);
	return yes;
}

static int labels_match(const json_t *labels, const json_t *filters)
{
	size_t i;
	json_t *f;

	json_array_foreach(json_object_get(filters, "label"), i, f) {
		const char *kv = json_string_value(f), *eq = strchr(kv, '=');
		char key[256];
		if (!eq) {
			if (!json_object_get(labels, kv))
				return 0;
			continue;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
		if (strcmp(json_str(labels, key, "\x01"), eq + 1))
			return 0;
	}
	return 1;
}

static void containers_list(int fd, struct req *r)
{
	char fs[4096] = "";
	json_t *filters = NULL, *out = json_array();
	size_t i;

	if (query_get(r->query, "filters", fs, sizeof(fs)))
		filters = json_loads(fs, 0, NULL);
	pthread_mutex_lock(&F.mu);
	for (i = F.nc; i-- > 0;) /* newest first, as Docker lists them */
		if (labels_match(json_object_get(F.c[i].obj, "Labels"), filters))
			json_array_append(out, F.c[i].obj);
	json_t *copy = json_deep_copy(out);
	pthread_mutex_unlock(&F.mu);
	json_decref(out);
	json_decref(filters);
	reply_obj(fd, 200, copy);
}

static void container_create(int fd, struct req *r)
{
	char name[256] = "";
	json_t *body = json_loadb(r->body.buf, r->body.len, 0, NULL);
	struct fcont *c;

	query_get(r->query, "name", name, sizeof(name));
	pthread_mutex_lock(&F.mu);
	if (!body || F.nc == CONTAINERS_MAX || !image_id(json_str(body, "Image", ""))) {
		pthread_mutex_unlock(&F.mu);
		json_decref(body);
		reply_json(fd, 404, "{\"message\":\"No such image\"}");
		return;
	}
	c = &F.c[F.nc++];
	memset(c, 0, sizeof(*c));
	c->lfd = -1;
	snprintf(c->id, sizeof(c->id), "%08x%056x", ++F.next_id, 0);
	c->obj = json_pack(
		"{s:s,s:[s+],s:s,s:O,s:O,s:s,s:O}", "Id", c->id, "Names", "/",
		name[0] ? name : c->id, "Image", json_str(body, "Image", ""), "Labels",
		json_object_get(body, "Labels") ? json_object_get(body, "Labels") : json_object(),
		"Env", json_object_get(body, "Env") ? json_object_get(body, "Env") : json_array(),
		"State", "created", "HostConfig",
		json_object_get(body, "HostConfig") ? json_object_get(body, "HostConfig")
						    : json_object());
	/* On its app's network the fake container's address is loopback, where the
	 * fake app listens: the deploy dials ADDR:PORT as it would a real one. */
	{
		const char *mode = json_str(json_object_get(body, "HostConfig"), "NetworkMode", "");
		if (*mode && strcmp(mode, "none") && strcmp(mode, "host"))
			json_object_set_new(c->obj, "NetworkSettings",
					    json_pack("{s:{s:{s:s}}}", "Networks", mode,
						      "IPAddress", "127.0.0.1"));
	}
	pthread_mutex_unlock(&F.mu);
	log_line("docker POST /containers/create %s image=%s", name, json_str(body, "Image", ""));
	reply_obj(fd, 201, json_pack("{s:s,s:[]}", "Id", c->id, "Warnings"));
	json_decref(body);
}

static void container_inspect(int fd, struct fcont *c)
{
	json_t *net = json_object_get(c->obj, "NetworkSettings");
	json_t *o = json_pack(
		"{s:s,s:s,s:{s:s,s:b,s:I},s:i,s:{s:b,s:O,s:O,s:s},s:s}", "Id", c->id, "Name",
		json_string_value(json_array_get(json_object_get(c->obj, "Names"), 0)), "State",
		"Status", state(c), "Running", !strcmp(state(c), "running"), "ExitCode",
		(json_int_t)c->exit_code, "RestartCount", 0, "Config", "Tty", 0, "Env",
		json_object_get(c->obj, "Env"), "Labels", json_object_get(c->obj, "Labels"),
		"Image", json_str(c->obj, "Image", ""), "Image", json_str(c->obj, "Image", ""));
	if (o && net)
		json_object_set(o, "NetworkSettings", net);
	pthread_mutex_unlock(&F.mu);
	reply_obj(fd, 200, o);
}

static void container_start(int fd, struct fcont *c)
{
	const json_t *env = json_object_get(c->obj, "Env");
	const char *port = env_get(env, "PORT"), *ex = env_get(env, "FAKE_EXIT");
	const char *status = env_get(env, "FAKE_STATUS");

	if (!strcmp(state(c), "running")) {
		pthread_mutex_unlock(&F.mu);
		reply(fd, 304, "text/plain", "", 0);
		return;
	}
	if (ex) {
		c->exit_code = atoll(ex);
		set_state(c, "exited");
	} else {
		c->status = status ? atoi(status) : 200;
		set_state(c, "running");
		if (port && app_listen(c, atoi(port)) < 0) {
			c->exit_code = 98; /* EADDRINUSE, as an app would */
			set_state(c, "exited");
		}
	}
	pthread_mutex_unlock(&F.mu);
	reply(fd, 204, "text/plain", "", 0);
}

static void container_stop(int fd, struct fcont *c, int code)
{
	if (strcmp(state(c), "running")) {
		pthread_mutex_unlock(&F.mu);
		reply(fd, 304, "text/plain", "", 0);
		return;
	}
	app_stop(c);
	c->exit_code = code;
	set_state(c, "exited");
	pthread_mutex_unlock(&F.mu);
	reply(fd, 204, "text/plain", "", 0);
}

static void container_remove(int fd, struct fcont *c)
{
	size_t i = (size_t)(c - F.c);

	app_stop(c);
	json_decref(c->obj);
	memmove(&F.c[i], &F.c[i + 1], (F.nc - i - 1) * sizeof(F.c[0]));
	F.nc--;
	pthread_mutex_unlock(&F.mu);
	reply(fd, 204, "text/plain", "", 0);
}

static void container_logs(int fd, struct fcont *c)
{
	char payload[256];
	unsigned char frame[8 + 256];
	size_t n;

	n = (size_t)snprintf(payload, sizeof(payload), "fake log of %s\n", c->id);
	pthread_mutex_unlock(&F.mu);
	frame[0] = 1;
	frame[1] = frame[2] = frame[3] = 0;
	frame[4] = frame[5] = frame[6] = 0;
	frame[7] = (unsigned char)n;
	memcpy(frame + 8, payload, n);
	reply(fd, 200, "application/vnd.docker.raw-stream", (const char *)frame, n + 8);
}

/* /containers/<id>/<action>; called with F.mu held, releases it. */
static void container_route(int fd, struct req *r, const char *rest)
{
	char id[128];
	const char *slash = strchr(rest, '/'), *action = slash ? slash + 1 : "";
	struct fcont *c;

	snprintf(id, sizeof(id), "%.*s", slash ? (int)(slash - rest) : (int)strlen(rest), rest);
	if (!(c = find_container(id))) {
		pthread_mutex_unlock(&F.mu);
		reply_json(fd, 404, "{\"message\":\"No such container\"}");
		return;
	}
	if (!strcmp(r->method, "GET") && !strcmp(action, "json"))
		container_inspect(fd, c);
	else if (!strcmp(r->method, "POST") && !strcmp(action, "start"))
		container_start(fd, c);
	else if (!strcmp(r->method, "POST") && !strcmp(action, "stop"))
		container_stop(fd, c, 0);
	else if (!strcmp(r->method, "POST") && !strcmp(action, "kill"))
		container_stop(fd, c, 137);
	else if (!strcmp(r->method, "DELETE") && !*action)
		container_remove(fd, c);
	else if (!strcmp(r->method, "GET") && !strcmp(action, "logs"))
		container_logs(fd, c);
	else if (!strcmp(r->method, "POST") && !strcmp(action, "update")) {
		pthread_mutex_unlock(&F.mu);
		reply_json(fd, 200, "{\"Warnings\":[]}");
	} else if (!strcmp(r->method, "POST") && !strcmp(action, "wait")) {
		long long code = c->exit_code;
		pthread_mutex_unlock(&F.mu);
		reply_obj(fd, 200, json_pack("{s:I}", "StatusCode", (json_int_t)code));
	} else {
		pthread_mutex_unlock(&F.mu);
		reply_json(fd, 500, "{\"message\":\"fake docker: unexpected container call\"}");
	}
}

static void build(int fd, struct req *r)
{
	char tag[512] = "", id[80];
	char stream[256];
	int n;

	query_get(r->query, "t", tag, sizeof(tag));
	pthread_mutex_lock(&F.mu);
	snprintf(id, sizeof(id), "sha256:fake%04u%056x", ++F.next_id, 0);
	image_add_locked(tag[0] ? tag : NULL, id);
	pthread_mutex_unlock(&F.mu);
	log_line("docker POST /build t=%s context=%zu -> %s", tag, r->body.len, id);
	n = snprintf(stream, sizeof(stream),
		     "{\"stream\":\"Step 1/1 : FROM fake\\n\"}\n"
		     "{\"aux\":{\"ID\":\"%s\"}}\n",
		     id);
	reply(fd, 200, "application/json", stream, (size_t)n);
}

static void image_route(int fd, struct req *r, const char *rest)
{
	char ref[512];
	const char *id;
	size_t len = strlen(rest);

	if (!strcmp(r->method, "GET") && !strcmp(rest, "json")) {
		json_t *out = json_array(), *img;
		const char *k;
		pthread_mutex_lock(&F.mu);
		json_object_foreach(F.images, k, img)
			if (!json_array_size(json_object_get(img, "refs")))
				json_array_append_new(out, json_pack("{s:s}", "Id", k));
		pthread_mutex_unlock(&F.mu);
		reply_obj(fd, 200, out);
		return;
	}
	if (!strcmp(r->method, "GET") && len > 5 && !strcmp(rest + len - 5, "/json"))
		snprintf(ref, sizeof(ref), "%.*s", (int)(len - 5), rest);
	else if (!strcmp(r->method, "POST") && len > 4 && !strcmp(rest + len - 4, "/tag"))
		snprintf(ref, sizeof(ref), "%.*s", (int)(len - 4), rest);
	else
		snprintf(ref, sizeof(ref), "%s", rest);
	pthread_mutex_lock(&F.mu);
	if (!(id = image_id(ref))) {
		pthread_mutex_unlock(&F.mu);
		reply_json(fd, 404, "{\"message\":\"No such image\"}");
		return;
	}
	if (!strcmp(r->method, "GET")) {
		json_t *o = json_pack("{s:s,s:i}", "Id", id, "Size", 1048576);
		pthread_mutex_unlock(&F.mu);
		reply_obj(fd, 200, o);
	} else if (!strcmp(r->method, "POST")) {
		char repo[256] = "", tag[128] = "", full[400];
		query_get(r->query, "repo", repo, sizeof(repo));
		query_get(r->query, "tag", tag, sizeof(tag));
		snprintf(full, sizeof(full), "%s:%s", repo, tag[0] ? tag : "latest");
		image_add_locked(full, id);
		pthread_mutex_unlock(&F.mu);
		reply(fd, 201, "text/plain", "", 0);
	} else {
		json_t *img = json_object_get(F.images, id), *refs = json_object_get(img, "refs");
		size_t i;
		/* A tag goes alone; the image goes with its last tag, or by id. */
		for (i = 0; i < json_array_size(refs); i++)
			if (!strcmp(json_string_value(json_array_get(refs, i)), ref))
				json_array_remove(refs, i--);
		if (!strcmp(id, ref) || !json_array_size(refs))
			json_object_del(F.images, id);
		pthread_mutex_unlock(&F.mu);
		reply_json(fd, 200, "[]");
	}
}

/* GET /services, /tasks, /nodes: what fakes_swarm_set() gave (filters are ignored),
 * else 503 as a Docker that is no swarm manager. */
static void swarm_list(int fd, const char *what)
{
	json_t *v;

	pthread_mutex_lock(&F.mu);
	v = json_incref(json_object_get(F.swarm, what));
	pthread_mutex_unlock(&F.mu);
	if (v)
		reply_obj(fd, 200, v);
	else
		reply_json(fd, 503, "{\"message\":\"This node is not a swarm manager.\"}");
}

static void docker_handler(int fd, struct req *r)
{
	const char *p = r->path;

	if (!strcmp(p, "/_ping")) {
		reply(fd, 200, "text/plain", "OK", 2);
		return;
	}
	if (!strcmp(p, "/version")) {
		reply_json(fd, 200, "{\"ApiVersion\":\"1.41\",\"MinAPIVersion\":\"1.12\"}");
		return;
	}
	if (!strncmp(p, "/v1.", 4) && strchr(p + 1, '/'))
		p = strchr(p + 1, '/');
	if (strcmp(p, "/containers/create") && strcmp(p, "/build"))
		log_line("docker %s %s", r->method, p);
	if (!strcmp(p, "/containers/json"))
		containers_list(fd, r);
	else if (!strcmp(p, "/containers/create"))
		container_create(fd, r);
	else if (!strncmp(p, "/containers/", 12)) {
		pthread_mutex_lock(&F.mu);
		container_route(fd, r, p + 12);
	} else if (!strcmp(p, "/build"))
		build(fd, r);
	else if (!strncmp(p, "/images/", 8))
		image_route(fd, r, p + 8);
	else if (!strcmp(r->method, "GET") &&
		 (!strcmp(p, "/services") || !strcmp(p, "/tasks") || !strcmp(p, "/nodes")))
		swarm_list(fd, p);
	else if (!strcmp(p, "/networks/create"))
		reply_json(fd, 201, "{\"Id\":\"fakenet\"}");
	else if (!strncmp(p, "/networks/", 10) && !strcmp(r->method, "DELETE"))
		reply(fd, 204, "application/json", "", 0);
	else if (!strncmp(p, "/networks/", 10)) /* every app network exists */
		reply_json(fd, 200, "{\"IPAM\":{\"Config\":[{\"Gateway\":\"127.0.0.1\"}]}}");
	else
		reply_json(fd, 500, "{\"message\":\"fake docker: unexpected call\"}");
}

/* ---- the fake router ------------------------------------------------------------- */

static void router_handler(int fd, struct req *r)
{
	char app[256];
	const char *rest = r->path + 6, *slash;
	json_t *route;

	log_line("router %s %s %.*s", r->method, r->path, (int)r->body.len, r->body.buf);
	if (strncmp(r->path, "/apps/", 6)) {
		reply_json(fd, 404, "{\"error\":\"not found\"}");
		return;
	}
	slash = strchr(rest, '/');
	snprintf(app, sizeof(app), "%.*s", slash ? (int)(slash - rest) : (int)strlen(rest), rest);
	if (slash) { /* cert, options */
		reply_json(fd, 200, "{}");
		return;
	}
	pthread_mutex_lock(&F.mu);
	if (!strcmp(r->method, "PUT")) {
		json_t *body = json_loadb(r->body.buf, r->body.len, 0, NULL);
		if (F.refuse || !body) {
			pthread_mutex_unlock(&F.mu);
			json_decref(body);
			reply_json(fd, 502,
				   "{\"error\":\"the new targets failed their health check\"}");
			return;
		}
		json_object_set_new(F.routes, app, body);
		route = json_deep_copy(body);
		pthread_mutex_unlock(&F.mu);
		reply_obj(fd, 200, route);
	} else if (!strcmp(r->method, "GET") && (route = json_object_get(F.routes, app))) {
		route = json_deep_copy(route);
		pthread_mutex_unlock(&F.mu);
		reply_obj(fd, 200, route);
	} else if (!strcmp(r->method, "DELETE") && json_object_get(F.routes, app)) {
		json_object_del(F.routes, app);
		pthread_mutex_unlock(&F.mu);
		reply_json(fd, 200, "{}");
	} else {
		pthread_mutex_unlock(&F.mu);
		reply_json(fd, 404, "{\"error\":\"no such app\"}");
	}
}

/* ---- the interface ----------------------------------------------------------------- */

int fakes_start(const char *dir)
{
	char host[160];

	F.images = json_object();
	F.routes = json_object();
	F.swarm = json_object();
	snprintf(F.docker_sock, sizeof(F.docker_sock), "%s/docker.sock", dir);
	snprintf(F.router_sock, sizeof(F.router_sock), "%s/router.sock", dir);
	snprintf(host, sizeof(host), "unix://%s", F.docker_sock);
	if (serve_unix(F.docker_sock, docker_handler) < 0 ||
	    serve_unix(F.router_sock, router_handler) < 0)
		return -1;
	setenv("DOCKER_HOST", host, 1);
	setenv("WHARF_ROUTER_SOCKET", F.router_sock, 1);
	return 0;
}

void fakes_reset(void)
{
	size_t i;

	pthread_mutex_lock(&F.mu);
	for (i = 0; i < F.nc; i++) {
		app_stop(&F.c[i]);
		json_decref(F.c[i].obj);
	}
	F.nc = 0;
	json_object_clear(F.images);
	json_object_clear(F.routes);
	json_object_clear(F.swarm);
	F.refuse = 0;
	buf_reset(&F.log);
	pthread_mutex_unlock(&F.mu);
}

void fakes_log(struct buf *out)
{
	pthread_mutex_lock(&F.mu);
	buf_add(out, F.log.buf, F.log.len);
	pthread_mutex_unlock(&F.mu);
}

void fakes_log_clear(void)
{
	pthread_mutex_lock(&F.mu);
	buf_reset(&F.log);
	pthread_mutex_unlock(&F.mu);
}

long fakes_log_find(long from, ...)
{
	struct buf log = BUF_INIT;
	const char *line;
	long n = 0, found = -1;

	fakes_log(&log);
	for (line = log.buf; *line && found < 0; n++) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char *copy = strndup(line, len);
		const char *needle;
		int all = n >= from;
		va_list ap;

		va_start(ap, from);
		while (all && (needle = va_arg(ap, const char *)))
			all = strstr(copy, needle) != NULL;
		va_end(ap);
		if (all)
			found = n;
		free(copy);
		line += len + (nl ? 1 : 0);
	}
	buf_release(&log);
	return found;
}

json_t *fakes_containers(void)
{
	json_t *out = json_array();
	size_t i;

	pthread_mutex_lock(&F.mu);
	for (i = F.nc; i-- > 0;)
		json_array_append_new(out, json_deep_copy(F.c[i].obj));
	pthread_mutex_unlock(&F.mu);
	return out;
}

json_t *fakes_route(const char *app)
{
	json_t *r;

	pthread_mutex_lock(&F.mu);
	r = json_deep_copy(json_object_get(F.routes, app));
	pthread_mutex_unlock(&F.mu);
	return r;
}

void fakes_router_refuse(int refuse)
{
	pthread_mutex_lock(&F.mu);
	F.refuse = refuse;
	pthread_mutex_unlock(&F.mu);
}

void fakes_swarm_set(const char *services, const char *tasks, const char *nodes)
{
	pthread_mutex_lock(&F.mu);
	json_object_set_new(F.swarm, "/services", json_loads(services, 0, NULL));
	json_object_set_new(F.swarm, "/tasks", json_loads(tasks, 0, NULL));
	json_object_set_new(F.swarm, "/nodes", json_loads(nodes, 0, NULL));
	pthread_mutex_unlock(&F.mu);
}
