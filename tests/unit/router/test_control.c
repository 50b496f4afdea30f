/* test_control.c - the control socket's framing and the action endpoints' bodies, as the
 * pure functions control.c answers from. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "router/internal.h"

#define S(x) x, strlen(x)

static int frame(struct control_frame *f, const char *in, size_t len, int *status)
{
	memset(f, 0, sizeof(*f));
	return router__control_frame(f, in, len, status);
}

static void test_frame(void **state)
{
	static const char put[] =
		"PUT /apps/web HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
	struct control_frame f;
	int status = 0;
	size_t i;
	(void)state;

	/* Every prefix is incomplete; the whole request is complete with its body. */
	for (i = 0; i < sizeof(put) - 1; i++)
		assert_int_equal(frame(&f, put, i, &status), 0);
	assert_int_equal(frame(&f, put, sizeof(put) - 1, &status), 1);
	assert_int_equal(f.body_len, 2);
	assert_memory_equal(put + f.head.head_len, "{}", 2);
	/* Fed as reads arrive: the head first, then the body. */
	memset(&f, 0, sizeof(f));
	assert_int_equal(router__control_frame(&f, put, sizeof(put) - 3, &status), 0);
	assert_int_equal(router__control_frame(&f, put, sizeof(put) - 1, &status), 1);
	assert_int_equal(f.head.method, HTTP_PUT);

	assert_int_equal(frame(&f, S("GET /apps HTTP/1.1\r\nHost: x\r\n\r\n"), &status), 1);
	assert_int_equal(f.body_len, 0);
	assert_int_equal(frame(&f, S("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
			       &status),
			 -1);
	assert_int_equal(status, 411);
	assert_string_equal(err_msg(), "send the body with Content-Length");
	assert_int_equal(frame(&f, S("PUT /x HTTP/1.1\r\nContent-Length: 65537\r\n\r\n"), &status),
			 -1);
	assert_int_equal(status, 413);
	assert_int_equal(frame(&f, S("PUT /x HTTP/1.1\r\nContent-Length: 65536\r\n\r\n"), &status),
			 0);
	assert_int_equal(frame(&f, S("NOTAMETHOD /x HTTP/1.1\r\n\r\n"), &status), -1);
	assert_int_equal(status, 400);
}

static void test_path(void **state)
{
	char path[256], *app, *action, big[300];
	int status;
	(void)state;

	assert_int_equal(router__control_path(path, sizeof(path), "/metrics?x", 10, &app, &action,
					      &status),
			 0);
	assert_string_equal(path, "/metrics");
	assert_null(app);
	assert_int_equal(
		router__control_path(path, sizeof(path), "/apps/", 6, &app, &action, &status), 0);
	assert_null(app);
	assert_int_equal(router__control_path(path, sizeof(path), "/apps/web/pause?y=1", 19, &app,
					      &action, &status),
			 0);
	assert_string_equal(app, "web");
	assert_string_equal(action, "pause");
	assert_int_equal(router__control_path(path, sizeof(path), "/apps/web", 9, &app, &action,
					      &status),
			 0);
	assert_string_equal(app, "web");
	assert_null(action);
	assert_int_equal(
		router__control_path(path, sizeof(path), "/other", 6, &app, &action, &status), -1);
	assert_int_equal(status, 404);
	assert_int_equal(router__control_path(path, sizeof(path), "/apps/Web/x", 11, &app, &action,
					      &status),
			 -1);
	assert_int_equal(status, 400);
	memset(big, 'a', sizeof(big));
	memcpy(big, "/apps/", 6);
	assert_int_equal(router__control_path(path, sizeof(path), big, sizeof(big), &app, &action,
					      &status),
			 -1);
	assert_int_equal(status, 404);
}

static void test_action_bodies(void **state)
{
	unsigned max = 0;
	int enabled;
	char *msg, *crt, *key, *big;
	struct route_def spec = ROUTE_DEF_INIT;
	(void)state;

	assert_int_equal(router__pause_parse(S(""), 0, &max), 0);
	assert_int_equal(max, 30000);
	assert_int_equal(router__pause_parse(S("{\"max_ms\": 0}"), 0, &max), 0);
	assert_int_equal(max, 0);
	assert_int_equal(router__pause_parse(S("{\"max_ms\": 3600001}"), 0, &max), -1);
	assert_string_equal(err_msg(), "max_ms must be an integer in 0..3600000");
	assert_int_equal(router__pause_parse(S("{\"max_ms\": 5}"), 1, &max), -1);
	assert_string_equal(err_msg(), "unknown key 'max_ms'");
	assert_int_equal(router__pause_parse(S("[]"), 0, &max), -1);
	assert_string_equal(err_msg(), "the body must be a JSON object");
	assert_int_equal(router__pause_parse(S("{\"max_ms\": 1, \"max_ms\": 2}"), 0, &max), -1);
	assert_non_null(strstr(err_msg(), "the body must be a JSON object: "));

	enabled = 1;
	assert_int_equal(
		router__maintenance_parse(S("{\"message\": \"back soon\"}"), &enabled, &msg), 0);
	assert_int_equal(enabled, 1);
	assert_string_equal(msg, "back soon");
	free(msg);
	assert_int_equal(router__maintenance_parse(S("{\"enabled\": false, \"message\": \"x\"}"),
						   &enabled, &msg),
			 0);
	assert_int_equal(enabled, 0);
	assert_null(msg);
	big = malloc(4200);
	assert_non_null(big);
	memset(big, 'x', 4200);
	memcpy(big, "{\"message\": \"", 13);
	memcpy(big + 4200 - 3, "\"}", 3);
	assert_int_equal(router__maintenance_parse(big, strlen(big), &enabled, &msg), -1);
	assert_string_equal(err_msg(), "message must be a string of at most 4096 bytes");
	assert_null(msg);
	free(big);
	/* jansson refuses a NUL inside a string before the length check sees it. */
	assert_int_equal(
		router__maintenance_parse(S("{\"message\": \"a\\u0000b\"}"), &enabled, &msg), -1);
	assert_null(msg);
	assert_int_equal(router__maintenance_parse(S("{\"enabled\": 1}"), &enabled, &msg), -1);
	assert_string_equal(err_msg(), "enabled must be true or false");

	assert_int_equal(router__cert_parse(S("{\"cert\": \"C\", \"key\": \"K\"}"), &crt, &key), 0);
	assert_string_equal(crt, "C");
	assert_string_equal(key, "K");
	free(crt);
	free(key);
	assert_int_equal(router__cert_parse(S("{\"cert\": \"C\"}"), &crt, &key), -1);
	assert_string_equal(err_msg(), "give \"cert\" and \"key\" as PEM strings");
	assert_null(crt);
	assert_null(key);

	assert_int_equal(router__options_parse(&spec, S("{\"redirect_https\": true}")), 0);
	assert_true(spec.redirect_set && spec.redirect_https);
	assert_int_equal(router__options_parse(&spec, S("{\"other\": 1}")), -1);
	assert_string_equal(err_msg(), "unknown key 'other'");
	router__route_release(&spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_action_bodies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
