/* test_routerctl.c - the router control client against a scripted fake router on a
 * unix socket: statuses, JSON answers, the router's error messages, an absent router. */
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

#include "runtime/runtime.h"

static char sock_path[108];
static int listen_fd = -1;
static pthread_t thread;
static char last_request[4096];     /* method, path and body of the last request */

/* Answers by path: /apps/up (200 with a route), /apps/bad (409 with the router's
 * error), /apps/text (500 that is not JSON); anything else is a 404. */
static void answer(int fd, const char *path)
{
	const char *status = "404 Not Found", *body = "{\"error\":\"no such app\"}";
	char out[512];
	int n;

	if (!strcmp(path, "/apps/up")) {
		status = "200 OK";
		body = "{\"domains\":[\"up.example.com\"],\"targets\":[\"127.0.0.1:20001\"]}";
	} else if (!strcmp(path, "/apps/bad")) {
		status = "409 Conflict";
		body = "{\"error\":\"health check failed\"}";
	} else if (!strcmp(path, "/apps/text")) {
		status = "500 Internal Server Error";
		body = "oops";
	}
	n = snprintf(out, sizeof(out), "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", status, strlen(body), body);
	if (write(fd, out, (size_t)n) < 0)
		return;
}

static void *serve(void *unused)
{
	(void)unused;
	for (;;) {
		char req[4096], method[16], path[256];
		size_t len = 0;
		const char *end = NULL, *cl;
		int fd = accept(listen_fd, NULL, NULL);

		if (fd < 0)
			return NULL;
		while (len < sizeof(req) - 1) {
			ssize_t r = read(fd, req + len, sizeof(req) - 1 - len);
			if (r <= 0)
				break;
			len += (size_t)r;
			req[len] = '\0';
			if ((end = strstr(req, "\r\n\r\n"))) {
				cl = strcasestr(req, "\r\nContent-Length:");
				if (!cl || cl > end || len >= (size_t)(end + 4 - req) + (size_t)atol(cl + 17))
					break;
			}
		}
		req[len] = '\0';
		if (sscanf(req, "%15s %255s", method, path) == 2) {
			snprintf(last_request, sizeof(last_request), "%s %s %s", method, path,
				 end ? end + 4 : "");
			answer(fd, path);
		}
		close(fd);
	}
}

static int fake_start(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)state;
	snprintf(sock_path, sizeof(sock_path), "/tmp/wharf-test-routerctl-%d.sock", (int)getpid());
	unlink(sock_path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listen_fd, 16) < 0)
		return -1;
	setenv("WHARF_ROUTER_SOCKET", sock_path, 1);
	return pthread_create(&thread, NULL, serve, NULL) == 0 ? 0 : -1;
}

static int fake_stop(void **state)
{
	(void)state;
	unlink(sock_path);
	return 0;
}

static void call_gives_status_and_json(void **state)
{
	json_t *reply = NULL, *body = json_pack("{s:b}", "redirect_https", 1);

	(void)state;
	assert_int_equal(router_client_call("GET", "/apps/up", NULL, 0, &reply), 200);
	assert_string_equal(json_string_value(json_array_get(json_object_get(reply, "targets"), 0)),
			    "127.0.0.1:20001");
	json_decref(reply);
	assert_int_equal(router_client_call("PUT", "/apps/nope/options", body, 0, &reply), 404);
	assert_string_equal(last_request, "PUT /apps/nope/options {\"redirect_https\":true}");
	assert_int_equal(router_client_error(404, reply, NULL), -1);
	assert_string_equal(err_msg(), "no such app");
	json_decref(reply);
	json_decref(body);
	assert_int_equal(router_client_call("GET", "/apps/text", NULL, 0, &reply), -1);
	assert_null(reply);
	assert_non_null(strstr(err_msg(), "invalid JSON"));
}

static void errors_carry_the_routers_message(void **state)
{
	json_t *route = NULL;

	(void)state;
	assert_int_equal(router_client_error(500, NULL, "cannot read the app's route"), -1);
	assert_string_equal(err_msg(), "cannot read the app's route: the router refused (HTTP 500)");
	assert_int_equal(router_client_error(404, NULL, NULL), -1);
	assert_string_equal(err_msg(), "not found");
	assert_int_equal(router_client_get("nope", &route), 0);
	assert_null(route);
	assert_int_equal(router_client_get("up", &route), 0);
	assert_non_null(route);
	json_decref(route);
	assert_int_equal(router_client_get("bad", &route), -1);
	assert_string_equal(err_msg(), "cannot read the app's route: health check failed");
	assert_int_equal(router_client_delete("nope"), 0);
}

/* The transport's message is kept in full before the hint is added to it (it
 * used to be passed to err_set() from the buffer err_set() writes). */
static void an_absent_router_is_explained(void **state)
{
	(void)state;
	setenv("WHARF_ROUTER_SOCKET", "/nonexistent/router.sock", 1);
	assert_int_equal(router_client_delete("up"), -1);
	assert_non_null(strstr(err_msg(), "cannot reach /nonexistent/router.sock: "));
	assert_non_null(strstr(err_msg(), " (is `wharf router` running? "
				"WHARF_ROUTER_SOCKET=/nonexistent/router.sock)"));
	setenv("WHARF_ROUTER_SOCKET", sock_path, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(call_gives_status_and_json),
		cmocka_unit_test(errors_carry_the_routers_message),
		cmocka_unit_test(an_absent_router_is_explained),
	};
	return cmocka_run_group_tests(tests, fake_start, fake_stop);
}
