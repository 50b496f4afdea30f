/* releases.c - releases, releases:info, releases:rollback, releases:set. */
#include "cli.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_version(const char *s, long *out)
{
	long long v;

	*out = 0;
	if (*s == 'v')
		s++;
	if (num_parse(s, 1, LONG_MAX, &v) < 0)
		return err_set("'%s' is not a release number (1, 2, … or v1, v2, …)", s);
	*out = v;
	return 0;
}

static int want_json(int argc, char **argv, int from)
{
	int i;

	for (i = from; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--format") && !strcmp(argv[i + 1], "json"))
			return 1;
	return 0;
}

int cmd_releases(int argc, char **argv)
{
	json_t *rels = NULL, *arr, *r;
	size_t i, n;
	int json = 0;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	json = want_json(argc, argv, 2);
	if (argc > 2 && !json)
		return cli_usage(argv[0]);
	if (app_releases_load(argv[1], &rels) < 0)
		return -1;
	arr = app_releases(rels);
	if (json) {
		char *text = json_dumps(arr, JSON_INDENT(2));
		printf("%s\n", text ? text : "[]");
		free(text);
		json_decref(rels);
		return 0;
	}
	n = json_array_size(arr);
	say_section("%s releases", argv[1]);
	/* Newest first, as Heroku prints them; the current one is marked. */
	for (i = n; i-- > 0;) {
		r = json_array_get(arr, i);
		printf("       v%-4lld %-32s %-16s %s%s%s\n", app_get_int(r, APP_VERSION),
		       app_get_str(r, APP_DESCRIPTION), app_get_str(r, APP_BY),
		       app_get_str(r, APP_CREATED_AT), i == n - 1 ? "  (current)" : "",
		       app_get_bool(r, APP_PRUNED) ? "  (image removed)" : "");
	}
	if (!n)
		say_detail("no releases yet: push to deploy");
	json_decref(rels);
	return 0;
}

int cmd_releases_info(int argc, char **argv)
{
	json_t *rels = NULL, *found, *v;
	const char *k;
	long version;
	int ret = -1;

	if (cli_need_app(argc, argv, 2, 1) < 0 || parse_version(argv[2], &version) < 0)
		return -1;
	if (app_releases_load(argv[1], &rels) < 0)
		return -1;
	found = app_release_find(rels, version);
	if (!found) {
		err_set("%s has no release v%ld", argv[1], version);
		goto out;
	}
	if (want_json(argc, argv, 3)) {
		char *text = json_dumps(found, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", text ? text : "{}");
		free(text);
		ret = 0;
		goto out;
	}
	say_section("%s v%ld", argv[1], version);
	printf("       %-14s%s\n", "Description:", app_get_str(found, APP_DESCRIPTION));
	printf("       %-14s%s\n", "By:", app_get_str(found, APP_BY));
	printf("       %-14s%s\n", "Created at:", app_get_str(found, APP_CREATED_AT));
	printf("       %-14s%s%s\n", "Image:", app_get_str_or(found, APP_IMAGE, ""),
	       app_get_bool(found, APP_PRUNED) ? " (removed)" : "");
	printf("       %-14s%s\n", "Git rev:", app_get_str_or(found, APP_GIT_REV, "-"));
	printf("       %-14s", "Formation:");
	json_object_foreach(app_get(found, APP_FORMATION), k, v)
		printf("%s=%lld ", k, (long long)json_integer_value(v));
	printf("\n       %-14s", "Config keys:");
	json_object_foreach(app_get(found, APP_CONFIG), k, v)
		printf("%s ", k);
	printf("\n");
	ret = 0;
out:
	json_decref(rels);
	return ret;
}

int cmd_releases_rollback(int argc, char **argv)
{
	json_t *rels = NULL, *arr;
	long version = 0;
	size_t n;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (argc > 3)
		return cli_usage(argv[0]);
	if (argc == 3 && parse_version(argv[2], &version) < 0)
		return -1;
	if (!version) {
		if (app_releases_load(argv[1], &rels) < 0)
			return -1;
		arr = app_releases(rels);
		n = json_array_size(arr);
		if (n < 2) {
			json_decref(rels);
			return err_set("%s has no release before the current one", argv[1]);
		}
		version = (long)app_get_int(json_array_get(arr, n - 2), APP_VERSION);
		json_decref(rels);
	}
	return deploy_rollback(&(struct deploy_request){ .app = argv[1], .version = version });
}

int cmd_releases_set(int argc, char **argv)
{
	long n;

	if (cli_need_app(argc, argv, 2, 1) < 0)
		return -1;
	if (strcmp(argv[2], app_key_name(APP_RETAIN)))
		return err_set("unknown releases setting '%s' (known: retain)", argv[2]);
	if (argc == 3) {
		n = 0; /* no value: back to the default */
	} else if (argc != 4 || parse_version(argv[3], &n) < 0 || n > 100) {
		return err_set("retain takes a number of releases from 1 to 100");
	}
	if (app_update_key(argv[1], APP_RETAIN, n ? json_integer(n) : NULL) < 0)
		return -1;
	say_step(
		"Keeping the images of the last %ld releases of %s (applies after the next deploy)",
		n ? n : (long)app_key_info(APP_RETAIN)->defi, argv[1]);
	return 0;
}
