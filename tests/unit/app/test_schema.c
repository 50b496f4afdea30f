/* test_schema.c - the schema of app.json/global.json/releases.json: one row per key,
 * defaults of absent keys, typed setters, and byte-for-byte round trips of the files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/root.h"

/* Every key is declared once, with a name and a default of its own type. */
static void every_key_once(void **state)
{
	int i, j;

	(void)state;
	for (i = 0; i < APP_KEY_COUNT; i++) {
		const struct app_key_info *k = app_key_info(i);
		assert_non_null(k->name);
		assert_true(k->files != 0);
		if (k->type != APP_T_STRING)
			assert_null(k->defs);
		if (k->type != APP_T_BOOL && k->type != APP_T_INT)
			assert_int_equal(k->defi, 0);
		for (j = 0; j < i; j++)
			assert_string_not_equal(app_key_name(j), k->name);
	}
	assert_string_equal(app_key_name(APP_DEPLOY_BRANCH), "deploy_branch");
	assert_string_equal(app_key_name(APP_CHECKS_DISABLED), "checks_disabled");
	assert_true(app_key_info(APP_CONFIG)->files & APP_IN_GLOBAL);
	assert_int_equal(app_key_info(APP_STACK)->files, APP_IN_GLOBAL);
}

/* Absent keys (and keys of the wrong type) read as their defaults. */
static void defaults(void **state)
{
	json_t *doc =
		json_pack("{s:i, s:s, s:{}}", "locked", 1, "formation", "web=2", "ports", "x");

	(void)state;
	assert_string_equal(app_get_str(NULL, APP_RESTART_POLICY), "on-failure");
	assert_null(app_get_str(doc, APP_DEPLOY_BRANCH));
	assert_string_equal(app_get_str_or(doc, APP_DEPLOY_BRANCH, "main"), "main");
	assert_int_equal(app_get_bool(doc, APP_DEFAULT_DOMAIN), 1);
	assert_int_equal(app_get_bool(doc, APP_LOCKED), 0); /* 1 is not true */
	assert_int_equal(app_get_bool(doc, APP_STOPPED), 0);
	assert_int_equal(app_get_int(doc, APP_RETAIN), 5);
	assert_null(app_get(doc, APP_FORMATION)); /* a string, not an object */
	assert_null(app_get(doc, APP_PORTS));     /* an object, not an array */
	assert_string_equal(app_get_str(doc, APP_CREATED_AT), "");
	json_decref(doc);
}

/* A BOOL at its default is no key at all, as the files have always been written. */
static void setters(void **state)
{
	json_t *doc = json_object(), *a, *lim;
	struct app_limits l;

	(void)state;
	assert_int_equal(app_set_bool(doc, APP_LOCKED, 1), 0);
	assert_true(json_is_true(json_object_get(doc, "locked")));
	assert_int_equal(app_set_bool(doc, APP_LOCKED, 0), 0);
	assert_null(json_object_get(doc, "locked"));
	assert_int_equal(app_set_bool(doc, APP_DEFAULT_DOMAIN, 0), 0);
	assert_true(json_is_false(json_object_get(doc, "default_domain")));
	assert_int_equal(app_set_bool(doc, APP_DEFAULT_DOMAIN, 1), 0);
	assert_null(json_object_get(doc, "default_domain"));
	assert_int_equal(app_set_str(doc, APP_BUILDER, "image"), 0);
	assert_string_equal(app_get_str(doc, APP_BUILDER), "image");
	assert_int_equal(app_set_str(doc, APP_BUILDER, NULL), 0);
	assert_null(json_object_get(doc, "builder"));
	assert_int_equal(app_set_int(doc, APP_RETAIN, 9), 0);
	assert_int_equal(app_get_int(doc, APP_RETAIN), 9);
	json_object_set_new(doc, "ports", json_string("bad"));
	a = app_ensure(doc, APP_PORTS);
	assert_true(json_is_array(a));
	assert_ptr_equal(app_ensure(doc, APP_PORTS), a);
	/* Limits: the process type's own over the app's. */
	lim = app_limits_ensure(doc, NULL);
	app_set_str(lim, APP_RES_MEMORY, "512m");
	app_set_str(lim, APP_RES_CPU, "1");
	lim = app_limits_ensure(doc, "worker");
	app_set_str(lim, APP_RES_MEMORY, "1g");
	app_limits_of(app_get(doc, APP_RESOURCES), "worker", &l);
	assert_string_equal(l.memory, "1g");
	assert_string_equal(l.cpu, "1");
	app_limits_of(app_get(doc, APP_RESOURCES), "web", &l);
	assert_string_equal(l.memory, "512m");
	app_limits_of(NULL, "web", &l);
	assert_null(l.memory);
	assert_null(l.cpu);
	assert_true(json_is_object(json_object_get(
		json_object_get(json_object_get(doc, "resources"), "process"), "worker")));
	json_decref(doc);
}

static void read_file(const char *path, struct buf *out)
{
	buf_reset(out);
	assert_int_equal(fs_read_file(path, out, 0), 0);
}

/* A file written by an older wharf (or by hand) loads and saves back to the same
 * bytes: unknown keys stay, nothing is added but what app_load() always filled. */
static void round_trip_is_byte_identical(void **state)
{
	static const char appjson[] =
		"{\n"
		"  \"buildpacks\": [\n    \"https://example.com/bp.git\"\n  ],\n"
		"  \"checks_disabled\": [\n    \"web\"\n  ],\n"
		"  \"config\": {\n    \"A\": \"1\"\n  },\n"
		"  \"created_at\": \"2026-01-01T00:00:00Z\",\n"
		"  \"default_domain\": false,\n"
		"  \"domains\": [\n    \"www.example.com\"\n  ],\n"
		"  \"formation\": {\n    \"web\": 2\n  },\n"
		"  \"future_key\": {\n    \"x\": 1\n  },\n"
		"  \"locked\": true,\n"
		"  \"resources\": {\n    \"memory\": \"512m\"\n  },\n"
		"  \"router\": {\n    \"redirect_https\": false\n  }\n"
		"}";
	struct buf p = BUF_INIT, before = BUF_INIT, after = BUF_INIT;
	json_t *doc = NULL;

	(void)state;
	assert_int_equal(app_create("rt"), 0);
	assert_int_equal(wharf_app_path(&p, "rt", "app.json"), 0);
	assert_int_equal(app_load("rt", &doc), 0);
	json_decref(doc);
	/* As an older wharf wrote it (json_dumps, 2-space indent, sorted keys, "\n"). */
	assert_int_equal(buf_addstr(&before, appjson), 0);
	assert_int_equal(buf_addch(&before, '\n'), 0);
	assert_int_equal(fs_write_atomic(p.buf, before.buf, before.len, 0644), 0);
	assert_int_equal(app_load("rt", &doc), 0);
	assert_int_equal(app_get_bool(doc, APP_LOCKED), 1);
	assert_int_equal(app_get_bool(doc, APP_DEFAULT_DOMAIN), 0);
	assert_int_equal(json_integer_value(json_object_get(app_get(doc, APP_FORMATION), "web")),
			 2);
	assert_int_equal(app_save("rt", doc), 0);
	json_decref(doc);
	read_file(p.buf, &after);
	assert_string_equal(after.buf, before.buf);
	buf_release(&p);
	buf_release(&before);
	buf_release(&after);
}

static void releases_helpers(void **state)
{
	json_t *rels = NULL;

	(void)state;
	assert_int_equal(app_create("relh"), 0);
	assert_int_equal(app_releases_load("relh", &rels), 0);
	assert_int_equal(json_array_size(app_releases(rels)), 0);
	json_array_append_new(app_releases(rels),
			      json_pack("{s:i,s:s}", "version", 1, "image", "a"));
	json_array_append_new(app_releases(rels),
			      json_pack("{s:i,s:s,s:b}", "version", 2, "image", "b", "pruned", 1));
	assert_string_equal(app_get_str(app_release_current(rels), APP_IMAGE), "b");
	assert_string_equal(app_get_str(app_release_find(rels, 1), APP_IMAGE), "a");
	assert_int_equal(app_get_bool(app_release_find(rels, 2), APP_PRUNED), 1);
	assert_null(app_release_find(rels, 3));
	assert_string_equal(app_get_str(app_release_find(rels, 1), APP_DESCRIPTION), "");
	json_decref(rels);
}

/* app_release_append() makes the object cli/deploy.c has always written. */
static void release_record_matches_the_old_one(void **state)
{
	json_t *config = json_pack("{s:s}", "A", "1"), *formation = json_pack("{s:i}", "web", 1);
	json_t *procs = json_pack("{s:s}", "web", "./run"), *rels = json_object(), *old;
	struct app_release r = { .version = 3,
				 .image = "wharf/x:3",
				 .git_rev = NULL,
				 .config = config,
				 .formation = formation,
				 .created_at = "2026-01-01T00:00:00Z",
				 .description = "deploy",
				 .by = "alice" },
			   back;

	(void)state;
	/* s? with a NULL: "git_rev" is left out, as app_release_append() does. */
	old = json_pack("{s:I,s:s,s:s?,s:O,s:O,s:s,s:s,s:s}", "version", (json_int_t)3, "image",
			"wharf/x:3", "git_rev", (const char *)NULL, "config", config, "formation",
			formation, "created_at", "2026-01-01T00:00:00Z", "description", "deploy",
			"by", "alice");
	assert_int_equal(app_release_append(rels, &r), 0);
	assert_true(json_equal(app_release_current(rels), old));
	r.git_rev = "abc";
	r.processes = procs;
	r.what = "rollback";
	r.source_image = "busybox";
	json_object_set_new(old, "git_rev", json_string("abc"));
	json_object_set(old, "processes", procs);
	json_object_set_new(old, "what", json_string("rollback"));
	json_object_set_new(old, "source_image", json_string("busybox"));
	assert_int_equal(app_release_append(rels, &r), 0);
	assert_int_equal(json_array_size(app_releases(rels)), 2);
	assert_true(json_equal(app_release_current(rels), old));
	app_release_read(app_release_current(rels), &back);
	assert_int_equal(back.version, 3);
	assert_string_equal(back.git_rev, "abc");
	assert_ptr_equal(back.processes, procs);
	assert_null(back.checks);
	assert_int_equal(back.pruned, 0);
	json_decref(old);
	json_decref(rels);
	json_decref(config);
	json_decref(formation);
	json_decref(procs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_key_once),
		cmocka_unit_test(defaults),
		cmocka_unit_test(setters),
		cmocka_unit_test(round_trip_is_byte_identical),
		cmocka_unit_test(releases_helpers),
		cmocka_unit_test(release_record_matches_the_old_one),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
