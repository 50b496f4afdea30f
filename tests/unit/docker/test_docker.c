/* test_docker.c - the Docker client against a scripted fake daemon on a unix socket:
 * negotiation, re-negotiation, error messages, builds, pushes, logs, 304/404 handling. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker/internal.h"

/* ---- the fake daemon --------------------------------------------------------------- */

struct fake {
	pthread_mutex_t mu;
	char api[16], min[16]; /* what /version reports */
	struct buf log;        /* "METHOD PATH\n" per request */
	int listen_fd;
	char sock[108];
	char host[128];
};

static struct fake F;

/* Writes a whole reply. status_line like "200 OK". */
static void reply(int fd, const char *status_line, const char *ctype, const char *body, size_t len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 status_line, ctype, len);

	if (write(fd, head, (size_t)n) < 0 || (len && write(fd, body, len) < 0))
		return;
}

static void reply_json(int fd, const char *status_line, const char *body)
{
	reply(fd, status_line, "application/json", body, strlen(body));
}

static void frame(struct buf *b, int stream, const char *payload)
{
	size_t n = strlen(payload);
	unsigned char h[8] = { (unsigned char)stream,
			       0,
			       0,
			       0,
			       (unsigned char)(n >> 24),
			       (unsigned char)(n >> 16),
			       (unsigned char)(n >> 8),
			       (unsigned char)n };

	buf_add(b, h, 8);
	buf_add(b, payload, n);
}

/* Answers one request; the routes are what the tests below need. */
static void route(int fd, const char *method, const char *path)
{
	char vprefix[32];
	const char *p = path;

	pthread_mutex_lock(&F.mu);
	buf_addf(&F.log, "%s %s\n", method, path);
	snprintf(vprefix, sizeof(vprefix), "/v%s/", F.api);
	pthread_mutex_unlock(&F.mu);

	if (!strcmp(path, "/_ping")) {
		reply(fd, "200 OK", "text/plain", "OK", 2);
		return;
	}
	if (!strcmp(path, "/version")) {
		char body[128];
		snprintf(body, sizeof(body), "{\"ApiVersion\":\"%s\",\"MinAPIVersion\":\"%s\"}",
			 F.api, F.min);
		reply_json(fd, "200 OK", body);
		return;
	}
	if (strncmp(path, "/v1.", 4) != 0) {
		reply_json(fd, "404 Not Found", "{\"message\":\"page not found\"}");
		return;
	}
	if (strncmp(path, vprefix, strlen(vprefix)) != 0) {
		char body[160];
		snprintf(body, sizeof(body),
			 "{\"message\":\"client version %.*s is too new. "
			 "Maximum supported API version is %s\"}",
			 (int)(strchr(path + 1, '/') - path - 2), path + 2, F.api);
		reply_json(fd, "400 Bad Request", body);
		return;
	}
	p = path + strlen(vprefix) - 1;
	if (!strcmp(p, "/containers/c1/json")) {
		reply_json(fd, "200 OK", "{\"Id\":\"c1\",\"Config\":{\"Tty\":false}}");
	} else if (!strcmp(p, "/containers/tty/json")) {
		reply_json(fd, "200 OK", "{\"Id\":\"tty\",\"Config\":{\"Tty\":true}}");
	} else if (!strncmp(p, "/containers/c1/logs", 19)) {
		struct buf b = BUF_INIT;
		frame(&b, 1, "out line\n");
		frame(&b, 2, "err line\n");
		reply(fd, "200 OK", "application/vnd.docker.raw-stream", b.buf, b.len);
		buf_release(&b);
	} else if (!strncmp(p, "/containers/tty/logs", 20)) {
		reply(fd, "200 OK", "application/vnd.docker.raw-stream", "raw\x01tty", 7);
	} else if (!strcmp(p, "/containers/c1/start") || !strncmp(p, "/containers/c1/stop", 19)) {
		reply(fd, "304 Not Modified", "text/plain", "", 0);
	} else if (!strncmp(p, "/containers/gone", 16) || !strncmp(p, "/images/gone", 12)) {
		reply_json(fd, "404 Not Found", "{\"message\":\"No such container: gone\"}");
	} else if (!strncmp(p, "/containers/create", 18)) {
		if (strstr(p, "name=taken"))
			reply_json(fd, "409 Conflict",
				   "{\"message\":\"Conflict. The container name "
				   "\\\"/taken\\\" is already in use\"}");
		else
			reply_json(fd, "201 Created", "{\"Id\":\"new1\",\"Warnings\":[]}");
	} else if (!strncmp(p, "/build", 6)) {
		const char *ok = "{\"stream\":\"Step 1/1 : FROM x\\n\"}\r\n"
				 "{\"aux\":{\"ID\":\"sha256:abc\"}}\n"
				 "{\"stream\":\"Successfully built abc\\n\"}\n";
		const char *bad =
			"{\"stream\":\"Step 1/1 : RUN false\\n\"}\n"
			"{\"errorDetail\":{\"code\":1,\"message\":\"The command failed\"},"
			"\"error\":\"The command failed\"}\n";
		const char *s = strstr(p, "t=bad") ? bad : ok;
		reply(fd, "200 OK", "application/json", s, strlen(s));
	} else if (!strncmp(p, "/images/reg:5000/wharf/app/push?tag=", 36)) {
		const char *ok =
			"{\"status\":\"The push refers to repository [reg:5000/wharf/app]\"}\r\n"
			"{\"status\":\"Pushed\",\"progressDetail\":{},\"id\":\"5f70bf18a086\"}\r\n"
			"{\"progressDetail\":{},\"aux\":{\"Tag\":\"3\",\"Digest\":\"sha256:"
			"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
			"\"Size\":528}}\r\n";
		const char *bad = "{\"status\":\"Preparing\"}\n"
				  "{\"errorDetail\":{\"message\":\"no basic auth credentials\"},"
				  "\"error\":\"no basic auth credentials\"}\n";
		const char *s = strstr(p, "tag=bad") ? bad : ok;
		reply(fd, "200 OK", "application/json", s, strlen(s));
	} else if (!strncmp(p, "/containers/json?", 17) || !strncmp(p, "/images/json?", 13) ||
		   !strcmp(p, "/images/json")) {
		reply_json(fd, "200 OK", "[{\"Id\":\"x1\"}]");
	} else if (!strncmp(p, "/images/sha256:abc/tag?", 23)) {
		reply(fd, "201 Created", "text/plain", "", 0);
	} else if (!strncmp(p, "/images/json-garbage", 20)) {
		reply(fd, "200 OK", "application/json", "{nope", 5);
	} else {
		reply_json(fd, "500 Internal Server Error", "{\"message\":\"unexpected\"}");
	}
}

/* Serves one connection: keep-alive requests until the client closes. */
static void *serve_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct buf in = BUF_INIT;
	char chunk[4096];

	for (;;) {
		char *end, method[16], path[1024];
		size_t head, body = 0;
		const char *cl;
		ssize_t n;

		while (!(end = strstr(in.buf, "\r\n\r\n"))) {
			n = read(fd, chunk, sizeof(chunk));
			if (n <= 0)
				goto done;
			buf_add(&in, chunk, (size_t)n);
		}
		head = (size_t)(end - in.buf) + 4;
		if (sscanf(in.buf, "%15s %1023s", method, path) != 2)
			goto done;
		if ((cl = strcasestr(in.buf, "Content-Length:")) && cl < end)
			body = strtoul(cl + 15, NULL, 10);
		while (in.len < head + body) {
			n = read(fd, chunk, sizeof(chunk));
			if (n <= 0)
				goto done;
			buf_add(&in, chunk, (size_t)n);
		}
		{
			/* A push's credentials: logged so the tests see they arrived. */
			const char *auth = strcasestr(in.buf, "\r\nX-Registry-Auth: ");
			if (auth && auth < end) {
				auth += 19;
				pthread_mutex_lock(&F.mu);
				buf_addf(&F.log, "auth %.*s\n", (int)strcspn(auth, "\r"), auth);
				pthread_mutex_unlock(&F.mu);
			}
		}
		buf_remove_front(&in, head + body);
		route(fd, method, path);
	}
done:
	close(fd);
	buf_release(&in);
	return NULL;
}

static void *accept_loop(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_t t;
		int fd = accept(F.listen_fd, NULL, NULL);
		if (fd < 0)
			return NULL;
		pthread_create(&t, NULL, serve_conn, (void *)(intptr_t)fd);
		pthread_detach(t);
	}
}

static int fake_start(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t t;

	(void)state;
	pthread_mutex_init(&F.mu, NULL);
	snprintf(F.sock, sizeof(F.sock), "/tmp/wharf-fake-docker-%d.sock", (int)getpid());
	snprintf(F.host, sizeof(F.host), "unix://%s", F.sock);
	strcpy(F.api, "1.41");
	strcpy(F.min, "1.12");
	unlink(F.sock);
	F.listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(sa.sun_path, F.sock, strlen(F.sock) + 1);
	if (F.listen_fd < 0 || bind(F.listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(F.listen_fd, 16) < 0)
		return -1;
	return pthread_create(&t, NULL, accept_loop, NULL) == 0 ? 0 : -1;
}

static int fake_stop(void **state)
{
	(void)state;
	unlink(F.sock);
	return 0;
}

static void set_api(const char *api, const char *min)
{
	pthread_mutex_lock(&F.mu);
	strcpy(F.api, api);
	strcpy(F.min, min);
	buf_reset(&F.log);
	pthread_mutex_unlock(&F.mu);
}

static struct docker *connect_fake(void)
{
	struct docker *d = NULL;

	if (docker_new(&d, F.host) < 0)
		fail_msg("docker_new: %s", err_msg());
	return d;
}

/* ---- tests ----------------------------------------------------------------------- */

static void negotiates_the_daemons_version(void **state)
{
	struct docker *d;

	(void)state;
	set_api("1.41", "1.12");
	d = connect_fake();
	assert_string_equal(docker_api_version(d), "1.41");
	docker_free(d);
	set_api("1.52", "1.44");
	d = connect_fake();
	assert_string_equal(docker_api_version(d), "1.47");
	docker_free(d);
}

static void refuses_a_daemon_that_is_too_new(void **state)
{
	struct docker *d = NULL;

	(void)state;
	set_api("1.53", "1.52");
	assert_int_equal(docker_new(&d, F.host), -1);
	assert_null(d);
	assert_non_null(strstr(err_msg(), "requires API 1.52"));
}

static void unreachable_daemon_is_explained(void **state)
{
	struct docker *d = NULL;

	(void)state;
	assert_int_equal(docker_new(&d, "unix:///nonexistent/docker.sock"), -1);
	assert_string_equal(err_msg(), "cannot reach Docker at unix:///nonexistent/docker.sock: "
				       "is dockerd running?");
	assert_int_equal(docker_new(&d, "tcp://127.0.0.1:2375"), -1);
	assert_non_null(strstr(err_msg(), "only unix:// DOCKER_HOST is supported"));
}

static void renegotiates_once_when_refused(void **state)
{
	struct docker *d;
	json_t *info = NULL;

	(void)state;
	set_api("1.52", "1.12");
	d = connect_fake();
	assert_string_equal(docker_api_version(d), "1.47");
	/* The daemon is downgraded under us: the next call gets "too new". */
	set_api("1.41", "1.12");
	assert_int_equal(docker_container_inspect(d, "c1", &info), 0);
	assert_string_equal(json_str(info, "Id", ""), "c1");
	assert_string_equal(docker_api_version(d), "1.41");
	assert_non_null(strstr(F.log.buf, "GET /v1.47/containers/c1/json\n"));
	assert_non_null(strstr(F.log.buf, "GET /v1.41/containers/c1/json\n"));
	json_decref(info);
	docker_free(d);
}

static void errors_carry_the_daemons_message(void **state)
{
	struct docker *d;
	json_t *out = NULL;
	long status = 0;

	(void)state;
	set_api("1.41", "1.12");
	d = connect_fake();
	assert_int_equal(docker_call(d, "GET", "/containers/gone/json", NULL, &out, &status), -1);
	assert_int_equal(status, 404);
	assert_string_equal(err_msg(), "No such container: gone");
	assert_null(out);
	assert_int_equal(docker_call(d, "GET", "/images/json-garbage", NULL, &out, &status), -1);
	assert_non_null(strstr(err_msg(), "invalid JSON"));
	docker_free(d);
}

static void lifecycle_tolerates_304_and_404(void **state)
{
	struct docker *d;
	int exists = 1;

	(void)state;
	set_api("1.41", "1.12");
	d = connect_fake();
	assert_int_equal(docker_container_start(d, "c1"), 0);
	assert_int_equal(docker_container_stop(d, "c1", 10), 0);
	assert_non_null(strstr(F.log.buf, "POST /v1.41/containers/c1/stop?t=10\n"));
	assert_int_equal(docker_container_remove(d, "gone", 1), 0);
	assert_non_null(strstr(F.log.buf, "DELETE /v1.41/containers/gone?force=1&v=1\n"));
	assert_int_equal(docker_image_exists(d, "gone", &exists), 0);
	assert_int_equal(exists, 0);
	assert_int_equal(docker_image_remove(d, "gone", 0), 0);
	docker_free(d);
}

static void lists_filter_by_labels_and_tags_encode(void **state)
{
	struct docker_labels l = DOCKER_LABELS_INIT;
	struct docker *d;
	json_t *list = NULL;

	(void)state;
	set_api("1.41", "1.12");
	d = connect_fake();
	assert_int_equal(docker_labels_add(&l, DOCKER_LABEL_APP, "web app"), 0);
	assert_int_equal(docker_labels_add(&l, DOCKER_LABEL_ROOT, "/r"), 0);
	assert_string_equal(l.v[0], "wharf.app=web app");
	assert_null(l.v[2]);
	assert_int_equal(docker_container_list(d, l.v, 1, &list), 0);
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
	assert_non_null(strstr(F.log.buf, "GET /v1.41/containers/json?all=1&filters="
					  "%7B%22label%22%3A%5B%22wharf.app%3Dweb%20app%22%2C"
					  "%22wharf.root%3D%2Fr%22%5D%7D\n"));
	assert_int_equal(docker_image_list(d, l.v, 1, &list), 0);
	json_decref(list);
	assert_non_null(strstr(F.log.buf,
			       "GET /v1.41/images/json?filters="
			       "%7B%22dangling%22%3A%5B%22true%22%5D%2C%22label%22%3A%5B"));
	assert_int_equal(docker_image_list(d, NULL, 0, &list), 0);
	json_decref(list);
	assert_non_null(strstr(F.log.buf, "GET /v1.41/images/json\n"));
	assert_int_equal(docker_image_tag(d, "sha256:abc", "wharf/app", "3"), 0);
	assert_non_null(
		strstr(F.log.buf, "POST /v1.41/images/sha256:abc/tag?repo=wharf%2Fapp&tag=3\n"));
	docker_labels_release(&l);
	assert_null(l.v[0]);
	for (int i = 0; i < DOCKER_LABELS_MAX; i++)
		assert_int_equal(docker_labels_add(&l, "k", "v"), 0);
	assert_int_equal(docker_labels_add(&l, "k", "v"), -1);
	docker_labels_release(&l);
	docker_free(d);
}

static void create_sends_name_and_reports_conflicts(void **state)
{
	struct container_spec spec = CONTAINER_SPEC_INIT;
	struct docker *d;
	struct buf id = BUF_INIT;

	(void)state;
	set_api("1.41", "1.12");
	d = connect_fake();
	spec.image = "app:1";
	spec.name = "app.web.1";
	assert_int_equal(docker_container_create(d, &spec, &id), 0);
	assert_string_equal(id.buf, "new1");
	assert_non_null(strstr(F.log.buf, "POST /v1.41/containers/create?name=app.web.1\n"));
	spec.name = "taken";
	assert_int_equal(docker_container_create(d, &spec, &id), -1);
	assert_non_null(strstr(err_msg(), "already in use"));
	assert_string_equal(id.buf, "");
	spec.image = NULL;
	assert_int_equal(docker_container_create(d, &spec, &id), -1);
	buf_release(&id);
	docker_free(d);
}

static int count_objects(const json_t *obj, void *data)
{
	(void)obj;
	++*(int *)data;
	return 0;
}

static int context_fd(void)
{
	char path[] = "/tmp/wharf-test-ctx-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "not really a tar", 16), 16);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void build_stream_decides_success(void **state)
{
	struct docker *d;
	struct buf id = BUF_INIT;
	int objects = 0, fd;

	(void)state;
	set_api("1.41", "1.12");
	d = connect_fake();
	fd = context_fd();
	assert_int_equal(docker_build(d, fd, "t=good&networkmode=wharf-a", 60, count_objects,
				      &objects, &id),
			 0);
	assert_string_equal(id.buf, "sha256:abc");
	assert_int_equal(objects, 3);
	/* Never the host's network: the caller names the app's (or none). */
	assert_non_null(strstr(F.log.buf, "POST /v1.41/build?rm=1&forcerm=1"
					  "&pull=0&version=1&t=good&networkmode=wharf-a\n"));
	assert_null(strstr(F.log.buf, "networkmode=host"));
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(docker_build(d, fd, "t=bad", 0, NULL, NULL, &id), -1);
	assert_string_equal(err_msg(), "The command failed");
	assert_string_equal(id.buf, "");
	close(fd);
	buf_release(&id);
	docker_free(d);
}

static void push_sends_credentials_and_returns_the_digest(void **state)
{
	struct docker *d;
	struct buf digest = BUF_INIT;
	int objects = 0;

	(void)state;
	set_api("1.41", "1.12");
	d = connect_fake();
	assert_int_equal(docker_image_push(d, "reg:5000/wharf/app", "3", "eyJ1c2VyIjoid-_",
					   count_objects, &objects, &digest),
			 0);
	assert_string_equal(digest.buf, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef"
					"0123456789abcdef");
	assert_int_equal(objects, 3);
	assert_non_null(strstr(F.log.buf, "auth eyJ1c2VyIjoid-_\n"
					  "POST /v1.41/images/reg:5000/wharf/app/push?tag=3\n"));
	/* Docker's message from the stream fails the push (the reply itself is a 200). */
	assert_int_equal(
		docker_image_push(d, "reg:5000/wharf/app", "bad", NULL, NULL, NULL, &digest), -1);
	assert_string_equal(err_msg(), "no basic auth credentials");
	assert_string_equal(digest.buf, "");
	/* A header value cannot smuggle in another header. */
	buf_reset(&F.log);
	assert_int_equal(docker_image_push(d, "reg:5000/wharf/app", "3", "x\r\nX-Other: 1", NULL,
					   NULL, &digest),
			 -1);
	assert_non_null(strstr(err_msg(), "line break"));
	assert_null(strstr(F.log.buf, "push"));
	buf_release(&digest);
	docker_free(d);
}

static int collect_output(int stream, const char *data, size_t len, void *ud)
{
	struct buf *b = ud;

	buf_addf(b, "%d:", stream);
	buf_add(b, data, len);
	return 0;
}

static void logs_are_demultiplexed_unless_tty(void **state)
{
	struct docker *d;
	struct buf out = BUF_INIT;

	(void)state;
	set_api("1.41", "1.12");
	d = connect_fake();
	assert_int_equal(docker_container_logs(d, "c1", 0, 100, 1, collect_output, &out), 0);
	assert_string_equal(out.buf, "1:out line\n2:err line\n");
	assert_non_null(strstr(F.log.buf, "/containers/c1/logs?stdout=1&stderr=1&follow=0"
					  "&timestamps=1&tail=100\n"));
	buf_reset(&out);
	assert_int_equal(docker_container_logs(d, "tty", 1, -1, 0, collect_output, &out), 0);
	assert_string_equal(out.buf, "1:raw\x01tty");
	assert_non_null(strstr(F.log.buf, "follow=1&timestamps=0&tail=all\n"));
	buf_release(&out);
	docker_free(d);
}

static void http_unix_request_is_generic(void **state)
{
	struct http_reply r = HTTP_REPLY_INIT;

	(void)state;
	assert_int_equal(http_unix_request(F.sock, "GET", "/_ping", NULL, NULL, 0, 2000, &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body.buf, "OK");
	assert_int_equal(http_unix_request(F.sock, "PUT", "/nothing", "application/json", "{}", 2,
					   2000, &r),
			 0);
	assert_int_equal(r.status, 404);
	http_reply_release(&r);
	assert_int_equal(
		http_unix_request("/nonexistent.sock", "GET", "/", NULL, NULL, 0, 2000, &r), -1);
	assert_non_null(strstr(err_msg(), "cannot reach /nonexistent.sock: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(negotiates_the_daemons_version),
		cmocka_unit_test(refuses_a_daemon_that_is_too_new),
		cmocka_unit_test(unreachable_daemon_is_explained),
		cmocka_unit_test(renegotiates_once_when_refused),
		cmocka_unit_test(errors_carry_the_daemons_message),
		cmocka_unit_test(lifecycle_tolerates_304_and_404),
		cmocka_unit_test(lists_filter_by_labels_and_tags_encode),
		cmocka_unit_test(create_sends_name_and_reports_conflicts),
		cmocka_unit_test(build_stream_decides_success),
		cmocka_unit_test(push_sends_credentials_and_returns_the_digest),
		cmocka_unit_test(logs_are_demultiplexed_unless_tty),
		cmocka_unit_test(http_unix_request_is_generic),
	};
	return cmocka_run_group_tests(tests, fake_start, fake_stop);
}
