/* acl.c - acl:add, acl:remove, acl:list (which apps a deployer key may use) and
 * `events` (the audit log of commands run over ssh). */
#include "cli.h"
#include "receiver/receiver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int acl_change(int argc, char **argv, int grant)
{
	if (argc != 3)
		return cli_usage(argv[0]);
	if (valid_app_name(argv[1]) < 0 || valid_key_name(argv[2]) < 0)
		return -1;
	if (grant && !app_exists(argv[1]))
		return err_set("app '%s' does not exist", argv[1]);
	if (receiver_acl_grant(argv[1], argv[2], grant) < 0)
		return -1;
	say_step(grant ? "Granted %s access to %s" : "Removed the access of %s to %s", argv[2],
		 argv[1]);
	return 0;
}

int cmd_acl_add(int argc, char **argv)
{
	return acl_change(argc, argv, 1);
}

int cmd_acl_remove(int argc, char **argv)
{
	return acl_change(argc, argv, 0);
}

/* One line per key with a role on record: "NAME ROLE APPS" (with an app: only
 * the deployers granted it). Keys without a record are admins. */
int cmd_acl_list(int argc, char **argv)
{
	struct cli_opts o;
	json_t *acl = NULL, *k, *apps, *v;
	const char *name, *app;
	size_t i;
	int json, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--format", NULL) < 0 || cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos > 1)
		return cli_usage(argv[0]);
	app = o.npos ? o.pos[0] : NULL;
	if (app && cli_opts_app(&o, 1) < 0)
		return -1;
	if (receiver_acl_load(&acl) < 0)
		return -1;
	if (json) {
		char *s = json_dumps(json_object_get(acl, "keys"), JSON_COMPACT | JSON_SORT_KEYS);
		printf("%s\n", s ? s : "{}");
		free(s);
		ret = 0;
		goto out;
	}
	if (app)
		say_section("%s access (admins may use every app)", app);
	json_object_foreach(json_object_get(acl, "keys"), name, k) {
		struct buf line = BUF_INIT;
		int has = 0;
		apps = json_object_get(k, "apps");
		json_array_foreach(apps, i, v) {
			buf_addf(&line, "%s%s", line.len ? " " : "", json_string_value(v));
			has |= app && !strcmp(json_string_value(v), app);
		}
		if (!app)
			printf("%-20s %-9s %s\n", name, receiver_acl_role(acl, name), line.buf);
		else if (has)
			say_detail("%s", name);
		buf_release(&line);
	}
	ret = 0;
out:
	json_decref(acl);
	return ret;
}

int cmd_events(int argc, char **argv)
{
	json_t *recs = NULL, *r;
	const char *format = NULL;
	long long n = 50;
	size_t i;
	int a;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-n") && a + 1 < argc) {
			if (num_parse(argv[++a], 1, 100000, &n) < 0)
				return err_set("-n needs a number of events from 1 to 100000");
		} else if (!strcmp(argv[a], "--format") && a + 1 < argc) {
			format = argv[++a];
		} else {
			return cli_usage(argv[0]);
		}
	}
	if (format && strcmp(format, "json") && strcmp(format, "stdout"))
		return err_set("unknown format '%s': use stdout or json", format);
	if (receiver_audit_read(&recs, (size_t)n) < 0)
		return -1;
	if (format && !strcmp(format, "json")) {
		char *s = json_dumps(recs, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "[]");
		free(s);
	} else {
		json_array_foreach(recs, i, r)
			printf("%s %-16s exit=%-3lld %s\n", json_str(r, "time", ""),
			       json_str(r, "key", ""), json_int(r, "exit", 0),
			       json_str(r, "command", ""));
	}
	json_decref(recs);
	return 0;
}
