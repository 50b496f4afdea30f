/* test_checks.c - startup checks from a CHECKS file and from app.json. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "runtime/runtime.h"

static json_t *parse_file(const char *text)
{
	json_t *out = NULL;
	assert_int_equal(runtime_checks_parse_file(&out, text, strlen(text)), 0);
	return out;
}

static void checks_file(void **state)
{
	json_t *c =
		parse_file("# comment\n\nWAIT=2\r\nTIMEOUT=7\nATTEMPTS=3\n/health all good\n/\n");
	json_t *first = json_array_get(c, 0), *second = json_array_get(c, 1);

	(void)state;
	assert_int_equal(json_array_size(c), 2);
	assert_string_equal(json_str(first, "path", ""), "/health");
	assert_string_equal(json_str(first, "content", ""), "all good");
	assert_int_equal(json_int(first, "wait", 0), 2);
	assert_int_equal(json_int(first, "timeout", 0), 7);
	assert_int_equal(json_int(first, "attempts", 0), 3);
	assert_string_equal(json_str(second, "path", ""), "/");
	assert_null(json_object_get(second, "content"));
	json_decref(c);
}

static void checks_file_refusals(void **state)
{
	const char *bad[] = { "WAIT=-1\n", "TIMEOUT=0\n", "ATTEMPTS=1000\n", "WAIT=x\n",
			      "health\n",  "/pa\x01th\n", "rm -rf /\n",      NULL };
	json_t *out = (json_t *)1;
	int i;

	(void)state;
	for (i = 0; bad[i]; i++) {
		assert_int_equal(runtime_checks_parse_file(&out, bad[i], strlen(bad[i])), -1);
		assert_null(out);
		assert_non_null(strstr(err_msg(), "CHECKS line 1"));
	}
}

static void appjson_healthchecks(void **state)
{
	json_t *app = json_loads(
		"{\"healthchecks\": {\"web\": ["
		"{\"type\": \"startup\", \"path\": \"/up\", \"content\": \"ok\", \"attempts\": 2},"
		"{\"type\": \"liveness\", \"path\": \"/live\"},"
		"{\"type\": \"startup\", \"uptime\": 9},"
		"{\"path\": \"/x\", \"timeout\": 100000}]}}",
		0, NULL);
	json_t *c = NULL;

	(void)state;
	assert_non_null(app);
	assert_int_equal(runtime_checks_parse_appjson(&c, app), 0);
	assert_int_equal(json_array_size(c), 3); /* the liveness check is not a startup check */
	assert_string_equal(json_str(json_array_get(c, 0), "content", ""), "ok");
	assert_int_equal(json_int(json_array_get(c, 0), "attempts", 0), 2);
	assert_null(json_object_get(json_array_get(c, 1), "path"));
	assert_int_equal(json_int(json_array_get(c, 1), "uptime", 0), 9);
	assert_int_equal(json_int(json_array_get(c, 2), "timeout", 0), 600); /* clamped */
	json_decref(c);
	json_decref(app);
	app = json_loads("{\"healthchecks\": {\"web\": [{\"path\": \"no-slash\"}]}}", 0, NULL);
	assert_int_equal(runtime_checks_parse_appjson(&c, app), -1);
	json_decref(app);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(checks_file),
		cmocka_unit_test(checks_file_refusals),
		cmocka_unit_test(appjson_healthchecks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
