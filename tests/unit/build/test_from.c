/* test_from.c - which base images a Dockerfile's FROM lines make wharf check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "build/internal.h"

/* Parses text and returns the images as "a,b,c" (static buffer). */
static const char *images_of(const char *text)
{
	static char out[1024];
	json_t *a = json_array(), *v;
	size_t i;

	out[0] = '\0';
	assert_int_equal(build__from_images(text, strlen(text), a), 0);
	json_array_foreach(a, i, v) {
		if (i)
			strcat(out, ",");
		strcat(out, json_string_value(v));
	}
	json_decref(a);
	return out;
}

static void simple_and_case_insensitive(void **state)
{
	(void)state;
	assert_string_equal(images_of("FROM debian:12\nRUN true\n"), "debian:12");
	assert_string_equal(images_of("from   debian:12   \r\n"), "debian:12");
	assert_string_equal(images_of("  From\tdebian:12"), "debian:12");
	assert_string_equal(images_of("RUN echo FROM x\nCMD [\"FROM\", \"y\"]\n"), "");
	assert_string_equal(images_of(""), "");
}

static void flags_and_stage_names(void **state)
{
	(void)state;
	assert_string_equal(images_of("FROM --platform=linux/amd64 node:20 AS build\n"
				      "RUN make\n"
				      "FROM build AS test\n"
				      "FROM BUILD\n"
				      "FROM debian:12-slim as run\n"
				      "COPY --from=build /app /app\n"),
			    "node:20,debian:12-slim");
	/* A stage name is only a stage for the FROM lines after it. */
	assert_string_equal(images_of("FROM base\nFROM debian AS base\n"), "base,debian");
}

static void skips_scratch_args_and_duplicates(void **state)
{
	(void)state;
	assert_string_equal(images_of("FROM scratch\nFROM ${BASE}\nFROM app:$TAG\n"
				      "FROM a:1\nFROM a:1\n"),
			    "a:1");
	assert_string_equal(images_of("ARG V=12\nFROM debian:${V}\n"), "");
}

static void continuations_and_comments(void **state)
{
	(void)state;
	assert_string_equal(images_of("FROM \\\n  debian:12 \\\n  AS x\nFROM x\n"), "debian:12");
	/* Comment and blank lines inside a continuation are skipped. */
	assert_string_equal(images_of("FROM \\\n# a comment\n\n   alpine:3\n"), "alpine:3");
	assert_string_equal(images_of("# FROM commented:1\n  # FROM also:1\nFROM real:1"),
			    "real:1");
	/* A continuation at the end of the file ends the instruction. */
	assert_string_equal(images_of("FROM last:1 \\"), "last:1");
	/* Backslash then blanks still continues. */
	assert_string_equal(images_of("FROM \\  \t\nspaced:1\n"), "spaced:1");
}

static void escape_directive(void **state)
{
	(void)state;
	assert_string_equal(images_of("# escape=`\nFROM `\n  win:1\n"), "win:1");
	assert_string_equal(images_of("\xEF\xBB\xBF# syntax=x\n#escape = `\nFROM `\nbom:1\n"),
			    "bom:1");
	/* Directives only count at the top: here '\' still continues. */
	assert_string_equal(images_of("FROM a:1\n# escape=`\nFROM \\\nb:1\n"), "a:1,b:1");
}

static void odd_input_is_harmless(void **state)
{
	const char bin[] = "FROM a\0b\nFROM \xff\xfe:1\nFROM\nFROM --platform=x\nFROM c AS\n";

	(void)state;
	json_t *a = json_array();
	assert_int_equal(build__from_images(bin, sizeof(bin) - 1, a), 0);
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(json_string_value(json_array_get(a, 0)), "c");
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(simple_and_case_insensitive),
		cmocka_unit_test(flags_and_stage_names),
		cmocka_unit_test(skips_scratch_args_and_duplicates),
		cmocka_unit_test(continuations_and_comments),
		cmocka_unit_test(escape_directive),
		cmocka_unit_test(odd_input_is_harmless),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
