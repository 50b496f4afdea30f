/* test_procfile.c - the Procfile parser: types, commands, comments, CRLF, errors
 * with line numbers; shell processes for Dockerfile apps; loading from a tree. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "build/build.h"

static json_t *parse_ok(const char *text)
{
	json_t *t = NULL;

	assert_int_equal(build_procfile_parse(text, strlen(text), &t), 0);
	assert_non_null(t);
	return t;
}

static void parse_fails(const char *text, size_t len, const char *msg)
{
	json_t *t = (json_t *)1;

	assert_int_equal(build_procfile_parse(text, len, &t), -1);
	assert_null(t);
	if (!strstr(err_msg(), msg))
		fail_msg("error '%s' does not contain '%s'", err_msg(), msg);
}

static void types_and_commands(void **state)
{
	json_t *t = parse_ok("web: node server.js\nworker:python w.py\nrelease-1_x: ./m");

	(void)state;
	assert_int_equal(json_object_size(t), 3);
	assert_string_equal(json_str(t, "web", ""), "node server.js");
	assert_string_equal(json_str(t, "worker", ""), "python w.py");
	assert_string_equal(json_str(t, "release-1_x", ""), "./m");
	json_decref(t);
}

static void comments_blanks_crlf_bom(void **state)
{
	json_t *t = parse_ok("\xEF\xBB\xBF# a comment\n\n   \n  # indented comment\r\n"
			     "web:   bundle exec puma -p $PORT  \t\r\n");

	(void)state;
	assert_int_equal(json_object_size(t), 1);
	assert_string_equal(json_str(t, "web", ""), "bundle exec puma -p $PORT");
	json_decref(t);
}

static void keeps_colons_and_later_wins(void **state)
{
	json_t *t = parse_ok("web: a\nweb: sh -c 'echo a: b'\n# web: commented\n");
	const char *k;
	json_t *v;
	int n = 0;

	(void)state;
	assert_string_equal(json_str(t, "web", ""), "sh -c 'echo a: b'");
	json_object_foreach(t, k, v)
		n++;
	assert_int_equal(n, 1);
	json_decref(t);
}

static void errors_name_the_line(void **state)
{
	(void)state;
	parse_fails("web: ok\nnot a process\n", 22, "Procfile line 2:");
	parse_fails("web:\n", 5, "Procfile line 1: process type 'web' has no command");
	parse_fails("web:   \t\n", 9, "has no command");
	parse_fails(": x\n", 4, "Procfile line 1: expected");
	parse_fails("w eb: x\n", 8, "Procfile line 1: expected");
	parse_fails("web.1: x\n", 9, "expected");
	parse_fails("web: a\0b\n", 9, "NUL byte");
	parse_fails("web: \xff\n", 7, "not valid UTF-8");
	{
		char big[100];
		memset(big, 'a', 64);
		memcpy(big + 64, ": x\n", 5);
		parse_fails(big, strlen(big), "longer than 63");
		memset(big, 'a', 63);
		memcpy(big + 63, ": x\n", 5);
		json_t *t = parse_ok(big);
		json_decref(t);
	}
}

static void caps_untrusted_input(void **state)
{
	size_t n = (64 << 10) + 1;
	char *big = malloc(n);

	(void)state;
	assert_non_null(big);
	memset(big, '\n', n);
	parse_fails(big, n, "larger than");
	memset(big, '\n', 5000);
	parse_fails(big, 5000, "more than 4096 lines");
	free(big);
}

static void crlf_and_indented_type(void **state)
{
	json_t *t = parse_ok("  web: a\r\nworker:\tb\r\n");

	(void)state;
	assert_string_equal(json_str(t, "web", ""), "a");
	assert_string_equal(json_str(t, "worker", ""), "b");
	json_decref(t);
	parse_fails("web :x\n", 7, "Procfile line 1");
}

static void shell_processes(void **state)
{
	json_t *t = parse_ok("web: node s.js\nworker: run $X\n"), *p = NULL;
	char *s;

	(void)state;
	assert_int_equal(build_procfile_shell_processes(t, &p), 0);
	s = json_dumps(p, JSON_COMPACT);
	assert_string_equal(s, "{\"web\":[\"/bin/sh\",\"-c\",\"node s.js\"],"
			       "\"worker\":[\"/bin/sh\",\"-c\",\"run $X\"]}");
	free(s);
	json_decref(p);
	json_decref(t);
	assert_int_equal(build_procfile_shell_processes(NULL, &p), 0);
	assert_null(p);
}

static void load_from_tree(void **state)
{
	char dir[] = "/tmp/wharf-procfile-XXXXXX", p[256];
	json_t *t = (json_t *)1;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(build_procfile_load(dir, &t), 0);
	assert_null(t); /* no Procfile */
	snprintf(p, sizeof(p), "%s/Procfile", dir);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	assert_int_equal(build_procfile_load(dir, &t), 0);
	assert_null(t); /* a symlink is not followed */
	unlink(p);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("web: ./start\n", f);
	fclose(f);
	assert_int_equal(build_procfile_load(dir, &t), 0);
	assert_string_equal(json_str(t, "web", ""), "./start");
	json_decref(t);
	unlink(p);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(types_and_commands),
		cmocka_unit_test(comments_blanks_crlf_bom),
		cmocka_unit_test(keeps_colons_and_later_wins),
		cmocka_unit_test(errors_name_the_line),
		cmocka_unit_test(caps_untrusted_input),
		cmocka_unit_test(crlf_and_indented_type),
		cmocka_unit_test(shell_processes),
		cmocka_unit_test(load_from_tree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
