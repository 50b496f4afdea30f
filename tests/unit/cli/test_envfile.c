/* test_envfile.c - config text: shell quoting, every export format, the import parser
 * (round trips, quotes, comments, refusals) and base64 for config:set --encoded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char *tricky = "it's \"quoted\" a=b\nsecond  line $(id) `id` \\n \\ #no comment";

static json_t *sample(void)
{
	return json_pack("{s:s,s:s,s:s,s:s}", "TRICKY", tricky, "EMPTY", "", "PLAIN", "hello world",
			 "B_2", "x");
}

static void shell_quote(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(cli_shell_quote(&b, "it's"), 0);
	assert_string_equal(b.buf, "'it'\\''s'");
	buf_reset(&b);
	assert_int_equal(cli_shell_quote(&b, ""), 0);
	assert_string_equal(b.buf, "''");
	buf_release(&b);
}

static void export_formats(void **state)
{
	json_t *env = json_pack("{s:s,s:s}", "B", "two words", "A", "it's");
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(cli_env_export(&b, env, "shell"), 0);
	assert_string_equal(b.buf, "A='it'\\''s' B='two words'\n");
	buf_reset(&b);
	assert_int_equal(cli_env_export(&b, env, "exports"), 0);
	assert_string_equal(b.buf, "export A='it'\\''s'\nexport B='two words'\n");
	buf_reset(&b);
	assert_int_equal(cli_env_export(&b, env, "envfile"), 0);
	assert_string_equal(b.buf, "A=\"it's\"\nB=\"two words\"\n");
	buf_reset(&b);
	assert_int_equal(cli_env_export(&b, env, "docker-args"), 0);
	assert_string_equal(b.buf, "--env=A='it'\\''s' --env=B='two words'\n");
	buf_reset(&b);
	assert_int_equal(cli_env_export(&b, env, "json"), 0);
	assert_string_equal(b.buf, "{\"A\":\"it's\",\"B\":\"two words\"}\n");
	buf_reset(&b);
	assert_int_equal(cli_env_export(&b, env, "json-list"), 0);
	assert_string_equal(b.buf, "[{\"name\":\"A\",\"value\":\"it's\"},"
				   "{\"name\":\"B\",\"value\":\"two words\"}]\n");
	buf_reset(&b);
	assert_int_equal(cli_env_export(&b, env, "yaml"), -1);
	assert_non_null(strstr(err_msg(), "unknown format 'yaml'"));
	json_decref(env);
	buf_release(&b);
}

static void round_trips(void **state)
{
	static const char *formats[] = { "shell", "exports", "envfile", "docker-args", "json" };
	json_t *env = sample(), *back = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct buf b = BUF_INIT;
		assert_int_equal(cli_env_export(&b, env, formats[i]), 0);
		assert_int_equal(cli_env_parse(&back, b.buf, b.len), 0);
		if (!json_equal(env, back))
			fail_msg("format %s does not round-trip:\n%s", formats[i], b.buf);
		json_decref(back);
		buf_release(&b);
	}
	json_decref(env);
}

static void parse_text(void **state)
{
	const char *text = "# a comment\n\n"
			   "export A=plain   B=\"x\\\"y\\n\"  # trailing comment\n"
			   "C='single # not a comment'\n"
			   "D=a\\ b\n"
			   "E=\n"
			   "F=\"multi\nline\"\n";
	json_t *v = NULL;

	(void)state;
	assert_int_equal(cli_env_parse(&v, text, strlen(text)), 0);
	assert_string_equal(json_str(v, "A", "?"), "plain");
	assert_string_equal(json_str(v, "B", "?"), "x\"y\n");
	assert_string_equal(json_str(v, "C", "?"), "single # not a comment");
	assert_string_equal(json_str(v, "D", "?"), "a b");
	assert_string_equal(json_str(v, "E", "?"), "");
	assert_string_equal(json_str(v, "F", "?"), "multi\nline");
	assert_int_equal(json_object_size(v), 6);
	json_decref(v);
}

static void parse_refusals(void **state)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "$(id)=1", "invalid config key" },
		{ "`id`=1", "invalid config key" },
		{ "1A=1", "invalid config key" },
		{ "A-B=1", "invalid config key" },
		{ "NOEQUALS", "line 1: expected KEY=VALUE" },
		{ "A=1\nB='open", "line 2: unterminated single quote" },
		{ "A=\"open", "line 1: unterminated double quote" },
		{ "{\"A\nB\":\"x\"}", "invalid JSON" },
		{ "{\"A\\nB\":\"x\"}", "invalid config key" },
		{ "{\"A\":1}", "the value of A is not a string" },
		{ "{\"A\":\"x\\u0000y\"}", "invalid JSON" },
		{ "{\"A\":\"1\",\"A\":\"2\"}", "invalid JSON" },
		{ "[1]", "expected KEY=VALUE" },
	};
	json_t *v = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cli_env_parse(&v, bad[i].text, strlen(bad[i].text)), -1);
		assert_null(v);
		if (!strstr(err_msg(), bad[i].msg))
			fail_msg("'%s': got '%s', want '%s'", bad[i].text, err_msg(), bad[i].msg);
	}
}

static void base64(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(cli_base64_decode(&b, "aGVsbG8gd29ybGQ="), 0);
	assert_string_equal(b.buf, "hello world");
	buf_reset(&b);
	assert_int_equal(cli_base64_decode(&b, "YQpi"), 0);
	assert_string_equal(b.buf, "a\nb");
	buf_reset(&b);
	assert_int_equal(cli_base64_decode(&b, ""), 0);
	assert_string_equal(b.buf, "");
	assert_int_equal(cli_base64_decode(&b, "not*base64"), -1);
	assert_int_equal(cli_base64_decode(&b, "YQ=x"), -1);
	assert_int_equal(cli_base64_decode(&b, "A"), -1);
	assert_int_equal(cli_base64_decode(&b, "AA=="), -1); /* a NUL byte */
	assert_non_null(strstr(err_msg(), "NUL"));
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shell_quote),    cmocka_unit_test(export_formats),
		cmocka_unit_test(round_trips),    cmocka_unit_test(parse_text),
		cmocka_unit_test(parse_refusals), cmocka_unit_test(base64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
