/* checks.c - startup checks of new containers: Dokku's CHECKS file and app.json
 * "healthchecks", and the default check when an app has neither. */
#include "runtime.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define CHECK_BODY_MAX (64u << 10)

static json_t *check_new(const char *path, const char *content, long attempts, long timeout,
			 long wait, long uptime)
{
	json_t *c = json_pack("{s:I,s:I,s:I,s:I}", "attempts", (json_int_t)attempts, "timeout",
			      (json_int_t)timeout, "wait", (json_int_t)wait, "uptime",
			      (json_int_t)uptime);
	if (c && path)
		json_object_set_new(c, "path", json_string(path));
	if (c && content && *content)
		json_object_set_new(c, "content", json_string(content));
	return c;
}

static int number_in(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* A path must be an absolute URL path of printable characters: it goes into a
 * request line. */
static int valid_check_path(const char *p)
{
	if (*p != '/')
		return 0;
	for (; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return 0;
	return 1;
}

int runtime_checks_parse_file(json_t **out, const char *text, size_t len)
{
	long attempts = 5, timeout = 5, wait = 0, v;
	const char *p = text, *end = text + len;
	int lineno = 0;

	*out = json_array();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[1024], *sp;

		lineno++;
		if (n >= sizeof(line)) {
			json_decref(*out);
			*out = NULL;
			return err_set("CHECKS line %d is too long", lineno);
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + 1;
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		sp = line + strspn(line, " \t");
		if (!*sp || *sp == '#')
			continue;
		if (!strncmp(sp, "WAIT=", 5) && number_in(sp + 5, 0, 600, &v) == 0) {
			wait = v;
		} else if (!strncmp(sp, "TIMEOUT=", 8) && number_in(sp + 8, 1, 600, &v) == 0) {
			timeout = v;
		} else if (!strncmp(sp, "ATTEMPTS=", 9) && number_in(sp + 9, 1, 100, &v) == 0) {
			attempts = v;
		} else if (*sp == '/' || !strncmp(sp, "//", 2)) {
			char *content = sp + strcspn(sp, " \t");
			if (*content)
				*content++ = '\0';
			content += strspn(content, " \t");
			if (!valid_check_path(sp)) {
				json_decref(*out);
				*out = NULL;
				return err_set("CHECKS line %d: '%s' is not a URL path", lineno,
					       sp);
			}
			json_array_append_new(*out,
					      check_new(sp, content, attempts, timeout, wait, 0));
		} else {
			json_decref(*out);
			*out = NULL;
			return err_set("CHECKS line %d is not understood: '%.60s' (expected WAIT=, "
				       "TIMEOUT=, ATTEMPTS= or '/path expected content')",
				       lineno, sp);
		}
	}
	return 0;
}

static long obj_num(const json_t *o, const char *k, long def, long lo, long hi)
{
	json_t *v = json_object_get(o, k);
	long n = json_is_integer(v) ? (long)json_integer_value(v) : def;
	return n < lo ? lo : n > hi ? hi : n;
}

int runtime_checks_parse_appjson(json_t **out, const json_t *appjson)
{
	json_t *web = json_object_get(json_object_get(appjson, "healthchecks"), "web"), *c;
	size_t i;

	*out = json_array();
	json_array_foreach(web, i, c) {
		const char *type = json_str(c, "type", "startup");
		const char *path = json_str(c, "path", NULL);
		if (strcmp(type, "startup"))
			continue; /* liveness/readiness checks come with the scheduler */
		if (path && !valid_check_path(path)) {
			json_decref(*out);
			*out = NULL;
			return err_set("app.json healthchecks: '%s' is not a URL path", path);
		}
		json_array_append_new(*out, check_new(path, json_str(c, "content", NULL),
						      obj_num(c, "attempts", 5, 1, 100),
						      obj_num(c, "timeout", 5, 1, 600),
						      obj_num(c, "wait", path ? 0 : 0, 0, 600),
						      obj_num(c, "uptime", path ? 0 : 5, 0, 600)));
	}
	return 0;
}

int runtime_checks_from_dir(json_t **out, const char *dir)
{
	struct buf p = BUF_INIT, text = BUF_INIT;
	json_t *appjson = NULL;
	int ret = -1;

	*out = NULL;
	if (buf_addf(&p, "%s/app.json", dir) < 0)
		goto out;
	if (fs_exists(p.buf)) {
		json_error_t jerr;
		if (fs_read_regular(p.buf, &text, 1u << 20) < 0)
			goto out;
		appjson = json_loadb(text.buf, text.len, 0, &jerr);
		if (!appjson) {
			err_set("app.json is not valid JSON (line %d: %s)", jerr.line, jerr.text);
			goto out;
		}
		if (json_object_get(json_object_get(appjson, "healthchecks"), "web")) {
			ret = runtime_checks_parse_appjson(out, appjson);
			goto out;
		}
	}
	buf_reset(&p);
	buf_reset(&text);
	if (buf_addf(&p, "%s/CHECKS", dir) < 0)
		goto out;
	if (fs_exists(p.buf)) {
		if (fs_read_regular(p.buf, &text, 1u << 20) < 0)
			goto out;
		ret = runtime_checks_parse_file(out, text.buf, text.len);
		goto out;
	}
	ret = 0; /* neither: the default check */
out:
	json_decref(appjson);
	buf_release(&p);
	buf_release(&text);
	return ret;
}

/* One HTTP/1.0 GET to addr:port (the container's address on its app's network).
 * *status is 0 when no HTTP answer came. */
static int http_probe(const char *addr, int port, const char *path, const char *host, int timeout_s,
		      int *status, struct buf *body)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { timeout_s, 0 };
	struct buf req = BUF_INIT, resp = BUF_INIT;
	char chunk[4096], *hdr_end;
	int fd = -1, ret = -1, major, minor;

	*status = 0;
	buf_init(&resp, CHECK_BODY_MAX);
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		err_set("bad container address '%s'", addr);
		goto out;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
		err_set_errno("cannot make a socket");
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err_set_errno("connect to port %d", port);
		goto out;
	}
	buf_addf(&req,
		 "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: wharf-checks\r\n"
		 "X-Forwarded-Proto: http\r\nConnection: close\r\n\r\n",
		 path, host);
	if (write(fd, req.buf, req.len) != (ssize_t)req.len) {
		err_set_errno("send to port %d", port);
		goto out;
	}
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (resp.len)
				break; /* a timeout after some answer: judge what came */
			err_set(errno == EAGAIN ? "no answer within %d s" : "read failed",
				timeout_s);
			goto out;
		}
		if (n == 0 || buf_add(&resp, chunk, (size_t)n) < 0)
			break; /* EOF, or past the cap: enough to judge */
	}
	if (sscanf(resp.buf, "HTTP/%d.%d %d", &major, &minor, status) != 3) {
		*status = 0;
		err_set("port %d did not answer HTTP", port);
		goto out;
	}
	hdr_end = strstr(resp.buf, "\r\n\r\n");
	if (body && hdr_end)
		buf_addstr(body, hdr_end + 4);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_release(&req);
	buf_release(&resp);
	return ret;
}

static void sleep_s(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (long)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int runtime_check_running(struct docker *d, const char *id)
{
	json_t *info = NULL;
	const char *status;
	int ret;

	if (docker_container_inspect(d, id, &info) < 0)
		return -1;
	status = json_str(json_object_get(info, "State"), "Status", "");
	if (!strcmp(status, "running") && json_int(info, "RestartCount", 0) == 0)
		ret = 0;
	else
		ret = err_set("the new container is %s (exit code %lld, %lld restarts)", status,
			      json_int(json_object_get(info, "State"), "ExitCode", -1),
			      json_int(info, "RestartCount", 0));
	json_decref(info);
	return ret;
}

/* One configured check: wait, then up to `attempts` GETs until one answers 2xx/3xx
 * with the expected content; or, without a path, the container stays up. */
static int run_check(runtime_alive_fn *alive, void *data, const char *addr, int port,
		     const char *host, const json_t *c)
{
	const char *path = json_str(c, "path", NULL), *content = json_str(c, "content", NULL);
	long attempts = json_int(c, "attempts", 5), timeout = json_int(c, "timeout", 5);
	long i, wait = json_int(c, "wait", 0), uptime = json_int(c, "uptime", 0);

	if (wait > 0)
		sleep_s((double)wait);
	if (!path) {
		say_detail("check: the container stays up for %ld s", uptime);
		sleep_s((double)uptime);
		return alive(data);
	}
	for (i = 1; i <= attempts; i++) {
		struct buf body = BUF_INIT;
		int status = 0, ok;

		if (alive(data) < 0)
			return -1;
		ok = http_probe(addr, port, path, host, (int)timeout, &status, &body) == 0 &&
		     status >= 200 && status < 400 && (!content || strstr(body.buf, content));
		if (ok) {
			say_detail("check %s: %d%s (attempt %ld)", path, status,
				   content ? ", expected content found" : "", i);
			buf_release(&body);
			return 0;
		}
		if (status)
			say_detail("check %s: attempt %ld/%ld failed: status %d%s", path, i,
				   attempts, status,
				   status < 400 && content ? ", expected content missing" : "");
		else
			say_detail("check %s: attempt %ld/%ld failed: %s", path, i, attempts,
				   err_msg());
		buf_release(&body);
		if (i < attempts)
			sleep_s(1.0);
	}
	return err_set("check %s failed %ld times", path, attempts);
}

struct container_alive {
	struct docker *d;
	const char *id;
};

static int container_alive(void *data)
{
	struct container_alive *c = data;

	return runtime_check_running(c->d, c->id);
}

int runtime_run_checks(struct docker *d, const char *id, const char *addr, int port,
		       const char *host, const json_t *checks)
{
	struct container_alive c = { d, id };

	return runtime_run_checks_with(container_alive, &c, addr, port, host, checks);
}

int runtime_run_checks_with(runtime_alive_fn *alive, void *data, const char *addr, int port,
			    const char *host, const json_t *checks)
{
	json_t *c;
	size_t i;
	int status = 0;
	double t0;

	if (json_array_size(checks)) {
		json_array_foreach(checks, i, c)
			if (run_check(alive, data, addr, port, host, c) < 0)
				return -1;
		return 0;
	}
	/* The default: an app that answers HTTP (any status) passes at once; one that
	 * accepts connections but speaks no HTTP must stay up for a few seconds. */
	t0 = clock_now_s();
	if (http_probe(addr, port, "/", host, 3, &status, NULL) == 0 && status) {
		say_detail("default check: answered HTTP %d", status);
		return alive(data);
	}
	sleep_s(3.0 - (clock_now_s() - t0) > 0 ? 3.0 - (clock_now_s() - t0) : 0);
	if (alive(data) < 0)
		return -1;
	say_detail("default check: no HTTP answer, but up for 3 s");
	return 0;
}
