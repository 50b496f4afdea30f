/* builder.c - builder:set <app> selected [dockerfile|buildpacks|image], builder:report:
 * forcing how pushes of an app are built (app.json's "builder"). */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *const selectable[] = { "dockerfile", "buildpacks", "image", NULL };

int cmd_builder_set(int argc, char **argv)
{
	struct cli_opts o;
	int i, ok = 0, set;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos < 2 || o.npos > 3)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0)
		return -1;
	if (strcmp(o.pos[1], "selected"))
		return err_set("unknown builder property '%s': only selected", o.pos[1]);
	for (i = 0; o.npos == 3 && selectable[i]; i++)
		ok |= !strcmp(o.pos[2], selectable[i]);
	if (o.npos == 3 && *o.pos[2] && !ok)
		return err_set("invalid builder '%s': use dockerfile, buildpacks or image",
			       o.pos[2]);
	set = o.npos == 3 && *o.pos[2];
	if (app_update_key(o.pos[0], APP_BUILDER, set ? json_string(o.pos[2]) : NULL) < 0)
		return -1;
	if (set)
		say_step("Setting selected to %s", o.pos[2]);
	else
		say_step("Unsetting selected");
	return 0;
}

static int builder_report(const char *name, const char *flag, int json, json_t *all)
{
	struct buf title = BUF_INIT;
	json_t *app = NULL;
	const char *sel;
	int ret = -1;

	if (app_load(name, &app) < 0 || buf_addf(&title, "%s builder information", name) < 0)
		goto out;
	sel = app_get_str_or(app, APP_BUILDER, "");
	{
		struct cli_report_row rows[] = {
			{ "Builder selected", sel },
			/* Without a selection, each push is detected: buildpacks named with
			 * buildpacks:add, else a Dockerfile, else the bundled buildpacks. */
			{ "Builder computed selected", *sel ? sel : "detected on each push" },
		};
		size_t n = sizeof(rows) / sizeof(rows[0]);
		ret = cli_report_app(all, name, title.buf, rows, n, flag, json);
	}
out:
	json_decref(app);
	buf_release(&title);
	return ret;
}

int cmd_builder_report(int argc, char **argv)
{
	return cli_report_family(argc, argv, "--builder-", builder_report);
}
