/* releases.c - releases, releases:info, releases:rollback, releases:set. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_version(const char *s, long *out)
{
	char *end;
	long v;

	if (*s == 'v')
		s++;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1)
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
	if (state_releases_load(argv[1], &rels) < 0)
		return -1;
	arr = json_object_get(rels, "releases");
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
		printf("       v%-4lld %-32s %-16s %s%s%s\n", json_int(r, "version", 0),
		       json_str(r, "description", ""), json_str(r, "by", ""),
		       json_str(r, "created_at", ""), i == n - 1 ? "  (current)" : "",
		       json_is_true(json_object_get(r, "pruned")) ? "  (image removed)" : "");
	}
	if (!n)
		say_detail("no releases yet: push to deploy");
	json_decref(rels);
	return 0;
}

int cmd_releases_info(int argc, char **argv)
{
	json_t *rels = NULL, *r, *found = NULL, *v;
	const char *k;
	size_t i;
	long version;
	int ret = -1;

	if (cli_need_app(argc, argv, 2, 1) < 0 || parse_version(argv[2], &version) < 0)
		return -1;
	if (state_releases_load(argv[1], &rels) < 0)
		return -1;
	json_array_foreach(json_object_get(rels, "releases"), i, r)
		if (json_int(r, "version", 0) == version)
			found = r;
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
	printf("       %-14s%s\n", "Description:", json_str(found, "description", ""));
	printf("       %-14s%s\n", "By:", json_str(found, "by", ""));
	printf("       %-14s%s\n", "Created at:", json_str(found, "created_at", ""));
	printf("       %-14s%s%s\n", "Image:", json_str(found, "image", ""),
	       json_is_true(json_object_get(found, "pruned")) ? " (removed)" : "");
	printf("       %-14s%s\n", "Git rev:", json_str(found, "git_rev", "-"));
	printf("       %-14s", "Formation:");
	json_object_foreach(json_object_get(found, "formation"), k, v)
		printf("%s=%lld ", k, (long long)json_integer_value(v));
	printf("\n       %-14s", "Config keys:");
	json_object_foreach(json_object_get(found, "config"), k, v)
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
		if (state_releases_load(argv[1], &rels) < 0)
			return -1;
		arr = json_object_get(rels, "releases");
		n = json_array_size(arr);
		if (n < 2) {
			json_decref(rels);
			return err_set("%s has no release before the current one", argv[1]);
		}
		version = (long)json_int(json_array_get(arr, n - 2), "version", 0);
		json_decref(rels);
	}
	return cli_rollback(argv[1], version);
}

int cmd_releases_set(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	json_t *app = NULL;
	long n;
	int ret = -1;

	if (cli_need_app(argc, argv, 2, 1) < 0)
		return -1;
	if (strcmp(argv[2], "retain"))
		return err_set("unknown releases setting '%s' (known: retain)", argv[2]);
	if (argc == 3) {
		n = 0; /* no value: back to the default */
	} else if (argc != 4 || parse_version(argv[3], &n) < 0 || n > 100) {
		return err_set("retain takes a number of releases from 1 to 100");
	}
	if (state_app_lock(&l, argv[1]) < 0 || state_app_load(argv[1], &app) < 0)
		goto out;
	if (n)
		json_object_set_new(app, "retain", json_integer(n));
	else
		json_object_del(app, "retain");
	if (state_app_save(argv[1], app) < 0)
		goto out;
	say_step(
		"Keeping the images of the last %ld releases of %s (applies after the next deploy)",
		n ? n : 5, argv[1]);
	ret = 0;
out:
	lock_release(&l);
	json_decref(app);
	return ret;
}
