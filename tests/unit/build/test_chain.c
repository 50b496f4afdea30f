/* test_chain.c - which buildpacks a push may name: a pushed .buildpacks that
 * points at a path on the server is refused, and the refusal names it (the
 * message once carried freed memory to the pusher; ASan catches a relapse).
 * A tiny fake Docker answers what build_buildpacks() asks before that check. */
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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "build/build.h"
#include "runtime/runtime.h"

static int listen_fd = -1;

/* Every request gets 200: /_ping "OK", /version a recent API, the rest "{}"
 * (the stack image exists). Keep-alive connections are served in turn. */
static void serve(int fd)
{
	char req[8192];
	size_t have = 0;

	for (;;) {
		ssize_t n = read(fd, req + have, sizeof(req) - 1 - have);
		char *end, head[256], *body;
		int len;

		if (n <= 0)
			return;
		have += (size_t)n;
		req[have] = '\0';
		while ((end = strstr(req, "\r\n\r\n"))) {
			body = strstr(req, " /_ping") && strstr(req, " /_ping") < end ? "OK"
			       : strstr(req, "/version") && strstr(req, "/version") < end
				       ? "{\"ApiVersion\":\"1.43\",\"MinAPIVersion\":\"1.12\"}"
				       : "{}";
			len = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: "
				       "application/json\r\nContent-Length: %zu\r\n\r\n%s",
				       strlen(body), body);
			if (write(fd, head, (size_t)len) < 0)
				return;
			end += 4;
			have -= (size_t)(end - req);
			memmove(req, end, have + 1);
		}
	}
}

static void *fake_docker(void *arg)
{
	int fd;

	(void)arg;
	while ((fd = accept(listen_fd, NULL, NULL)) >= 0) {
		serve(fd);
		close(fd);
	}
	return NULL;
}

static char root[] = "/tmp/wharf-test-chain.XXXXXX";
static char host[200];

static int setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t t;
	char dir[300];

	(void)state;
	if (!mkdtemp(root))
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/d.sock", root);
	snprintf(host, sizeof(host), "unix://%s", sa.sun_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listen_fd, 8) < 0)
		return -1;
	pthread_create(&t, NULL, fake_docker, NULL);
	pthread_detach(t);
	setenv("WHARF_ROOT", root, 1);
	setenv("WHARF_BUILDPACKS_DIR", "buildpacks", 1);
	snprintf(dir, sizeof(dir), "%s/src", root);
	return mkdir(dir, 0755);
}

static int teardown(void **state)
{
	struct buf p = BUF_INIT;

	(void)state;
	buf_addstr(&p, root);
	fs_rm_rf(p.buf);
	buf_release(&p);
	return 0;
}

static void pushed_local_path_is_refused_by_name(void **state)
{
	struct build_bp_opts o = { 0 };
	struct docker *d = NULL;
	struct buf image = BUF_INIT, file = BUF_INIT, dir = BUF_INIT;
	json_t *config = json_object(), *processes = NULL;
	const char *text = "/var/lib/wharf/apps/other-app/repo.git-of-someone-else#main\n";

	(void)state;
	buf_addf(&dir, "%s/src", root);
	buf_addf(&file, "%s/.buildpacks", dir.buf);
	assert_int_equal(fs_write_atomic(file.buf, text, strlen(text), 0644), 0);
	assert_int_equal(docker_new(&d, host), 0);
	o.app = "chain";
	o.dir = dir.buf;
	o.tag = "wharf/chain:1";
	o.config = config;
	o.stack = "wharf/stack:test";
	assert_int_equal(build_buildpacks(d, &o, &image, &processes), -1);
	assert_string_equal(err_msg(), "buildpack '/var/lib/wharf/apps/other-app/"
		"repo.git-of-someone-else#main' is a path on the server: only `wharf "
		"buildpacks:add` run on the server may name one");
	docker_free(d);
	json_decref(config);
	buf_release(&image);
	buf_release(&file);
	buf_release(&dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pushed_local_path_is_refused_by_name),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
