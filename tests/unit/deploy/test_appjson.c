/* test_appjson.c - a pushed app.json's cron entries and scripts.dokku: what is
 * kept, the ids, and the messages that name a bad entry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "deploy/deploy.h"

static int parse(const char *text, json_t **cron, json_t **scripts)
{
	err_clear();
	return deploy_appjson_parse(text, strlen(text), cron, scripts);
}

static void entries_and_scripts(void **state)
{
	json_t *cron = NULL, *scripts = NULL;
	struct buf id = BUF_INIT;

	(void)state;
	assert_int_equal(parse("{\"cron\": [{\"command\": \"echo hi\", \"schedule\": \"@daily\"},"
			       " {\"command\": \"bin/task --all\", \"schedule\": \"*/5 * * * *\"}],"
			       " \"scripts\": {\"dokku\": {\"predeploy\": \"./migrate\","
			       " \"postdeploy\": \"./notify\"}, \"postdeploy\": \"ignored\"}}",
			       &cron, &scripts),
			 0);
	assert_int_equal(json_array_size(cron), 2);
	assert_string_equal(json_str(json_array_get(cron, 1), "command", ""), "bin/task --all");
	assert_string_equal(json_str(json_array_get(cron, 1), "schedule", ""), "*/5 * * * *");
	assert_int_equal(deploy_cron_id(&id, "@daily", "echo hi"), 0);
	assert_string_equal(json_str(json_array_get(cron, 0), "id", ""), id.buf);
	assert_int_equal(strlen(id.buf), 12);
	assert_string_equal(json_str(scripts, "predeploy", ""), "./migrate");
	assert_string_equal(json_str(scripts, "postdeploy", ""), "./notify");
	json_decref(cron);
	json_decref(scripts);
	buf_release(&id);
}

static void ids_are_stable_and_distinct(void **state)
{
	struct buf a = BUF_INIT, b = BUF_INIT, c = BUF_INIT;

	(void)state;
	deploy_cron_id(&a, "@daily", "echo hi");
	deploy_cron_id(&b, "@daily", "echo hi");
	deploy_cron_id(&c, "@daily", "echo ho");
	assert_string_equal(a.buf, b.buf);
	assert_string_not_equal(a.buf, c.buf);
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
}

static void nothing_to_read(void **state)
{
	json_t *cron = NULL, *scripts = NULL;

	(void)state;
	assert_int_equal(parse("{\"name\": \"x\", \"healthchecks\": {}}", &cron, &scripts), 0);
	assert_null(cron);
	assert_null(scripts);
	assert_int_equal(parse("{\"cron\": [], \"scripts\": {\"dokku\": {}}}", &cron, &scripts), 0);
	assert_int_equal(json_array_size(cron), 0);
	assert_null(scripts);
	json_decref(cron);
}

static void refused(void **state)
{
	const struct {
		const char *text, *msg;
	} bad[] = {
		{ "[]", "must be a JSON object" },
		{ "{", "not valid JSON" },
		{ "{\"cron\": {}}", "must be an array" },
		{ "{\"cron\": [1]}", "cron entry 1: not an object" },
		{ "{\"cron\": [{\"command\": \"a\"}]}",
		  "cron entry 1 (\"a\"): needs \"command\" and \"schedule\"" },
		{ "{\"cron\": [{\"command\": \"a\", \"schedule\": \"@daily\"}, {\"command\": "
		  "\"b\", "
		  "\"schedule\": \"* * * * * *\"}]}",
		  "app.json cron entry 2 (\"b\"): bad schedule \"* * * * * *\": more than 5 "
		  "fields" },
		{ "{\"cron\": [{\"command\": \"b\", \"schedule\": \"61 * * * *\"}]}",
		  "minute 61 is out of range" },
		{ "{\"cron\": [{\"command\": \"\", \"schedule\": \"@daily\"}]}",
		  "command is empty" },
		{ "{\"cron\": [{\"command\": \"a\\nb\", \"schedule\": \"@daily\"}]}",
		  "control character" },
		{ "{\"cron\": [{\"command\": \"a\", \"schedule\": \"@daily\"}, {\"command\": "
		  "\"a\", "
		  "\"schedule\": \"@daily\"}]}",
		  "entries 1 and 2 are the same" },
		{ "{\"scripts\": {\"dokku\": {\"predeploy\": 1}}}", "predeploy must be a string" },
		{ "{\"scripts\": {\"dokku\": []}}", "must be an object" },
		{ "{\"cron\": [], \"cron\": []}", "not valid JSON" },
	};
	json_t *cron = NULL, *scripts = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].text, &cron, &scripts) == 0)
			fail_msg("accepted: %s", bad[i].text);
		assert_null(cron);
		assert_null(scripts);
		if (!strstr(err_msg(), bad[i].msg))
			fail_msg("%s: '%s' does not say '%s'", bad[i].text, err_msg(), bad[i].msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(entries_and_scripts),
		cmocka_unit_test(ids_are_stable_and_distinct),
		cmocka_unit_test(nothing_to_read),
		cmocka_unit_test(refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
