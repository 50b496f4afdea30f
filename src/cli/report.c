/* report.c - what the command families share: Dokku-style option parsing
 * (known flags anywhere, unknown ones refused) and `<family>:report` output in
 * stdout, JSON and single-flag forms. */
#include "cli.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Is word one of the space-separated names in list? */
static int listed(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while (list && (p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

int cli_opts_parse(struct cli_opts *o, int argc, char **argv, const char *allowed,
		   const char *report_prefix)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->name = argv[0];
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		char flag[64];
		const char *eq = strchr(a, '=');

		if (a[0] != '-' || !strcmp(a, "-")) {
			if (o->npos >= CLI_OPTS_MAX)
				return err_set("too many arguments");
			o->pos[o->npos++] = argv[i];
			continue;
		}
		/* --format=json is --format json. */
		snprintf(flag, sizeof(flag), "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
		if (!listed(allowed, flag)) {
			if (report_prefix && !strncmp(a, report_prefix, strlen(report_prefix)) &&
			    !eq) {
				if (o->flag)
					return err_set("only one --%s* flag at a time",
						       report_prefix + 2);
				o->flag = a;
				continue;
			}
			return err_set("unknown flag '%s' for %s; see `wharf %s --help`", a,
				       argv[0], argv[0]);
		}
		if (!strcmp(flag, "--format")) {
			if (!eq && i + 1 >= argc)
				return err_set("--format needs a value");
			o->format = eq ? eq + 1 : argv[++i];
			continue;
		}
		if (eq)
			return err_set("%s takes no value", flag);
		if (!strcmp(flag, "--global"))
			o->global = 1;
		else if (!strcmp(flag, "--merged"))
			o->merged = 1;
		else if (!strcmp(flag, "--encoded"))
			o->encoded = 1;
		else if (!strcmp(flag, "--quoted"))
			o->quoted = 1;
		else if (!strcmp(flag, "--no-restart"))
			o->no_restart = 1;
		else if (!strcmp(flag, "--replace"))
			o->replace = 1;
		else if (!strcmp(flag, "--force"))
			o->force = 1;
		else if (!strcmp(flag, "--skip-deploy"))
			o->skip_deploy = 1;
	}
	return 0;
}

int cli_opts_format(const struct cli_opts *o, int *json)
{
	*json = 0;
	if (!o->format || !strcmp(o->format, "stdout"))
		return 0;
	if (!strcmp(o->format, "json")) {
		*json = 1;
		return 0;
	}
	return err_set("unknown format '%s': use stdout or json", o->format);
}

int cli_opts_app(const struct cli_opts *o, int must_exist)
{
	if (o->npos < 1)
		return cli_usage(o->name);
	if (valid_app_name(o->pos[0]) < 0)
		return -1;
	if (must_exist && !app_exists(o->pos[0]))
		return err_set("app '%s' does not exist", o->pos[0]);
	return 0;
}

/* "Apps created at" -> "apps-created-at". */
static void label_key(char *out, size_t size, const char *label)
{
	size_t i;

	for (i = 0; label[i] && i + 1 < size; i++)
		out[i] = label[i] == ' ' ? '-' : (char)tolower((unsigned char)label[i]);
	out[i] = '\0';
}

json_t *cli_report_json(const struct cli_report_row *rows, size_t n)
{
	json_t *obj = json_object();
	char key[96];
	size_t i;

	for (i = 0; obj && i < n; i++) {
		label_key(key, sizeof(key), rows[i].label);
		json_object_set_new(obj, key, json_string(rows[i].value ? rows[i].value : ""));
	}
	return obj;
}

int cli_report_app(json_t *all, const char *app, const char *title,
		   const struct cli_report_row *rows, size_t n, const char *flag, int json)
{
	if (all)
		return json_object_set_new(all, app, cli_report_json(rows, n));
	return cli_report_show(title, rows, n, flag, json);
}

int cli_report_show(const char *title, const struct cli_report_row *rows, size_t n,
		    const char *flag, int json)
{
	char key[96];
	size_t i;

	if (flag) {
		for (i = 0; i < n; i++) {
			label_key(key, sizeof(key), rows[i].label);
			if (!strcmp(flag + 2, key)) {
				printf("%s\n", rows[i].value ? rows[i].value : "");
				return 0;
			}
		}
		return err_set("unknown flag '%s'", flag);
	}
	if (json) {
		json_t *obj = cli_report_json(rows, n);
		char *s = obj ? json_dumps(obj, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
		json_decref(obj);
		if (!s)
			return err_set("out of memory");
		printf("%s\n", s);
		free(s);
		return 0;
	}
	say_section("%s", title);
	for (i = 0; i < n; i++) {
		char label[96];
		snprintf(label, sizeof(label), "%s:", rows[i].label);
		printf("       %-31s%s\n", label, rows[i].value ? rows[i].value : "");
	}
	return 0;
}

void cli_print_json(const json_t *v, size_t flags)
{
	char *s = v ? json_dumps(v, flags | JSON_COMPACT) : NULL;

	printf("%s\n", s ? s : json_is_array(v) ? "[]" : "{}");
	free(s);
}
