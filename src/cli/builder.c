/* builder.c - builder:set <app> selected [dockerfile|buildpacks|image], builder:report:
 * forcing how pushes of an app are built (app.json's "builder"). */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *const selectable[] = { "dockerfile", "buildpacks", "image", NULL };

int cli_builder_selected(const json_t *appobj, const char *dir, const char **builder)
{
	const char *sel = json_str(appobj, "builder", NULL);
	struct buf path = BUF_INIT;
	struct stat st;
	int has_dockerfile;

	*builder = NULL;
	if (!sel || !*sel)
		return 0;
	if (!strcmp(sel, "image"))
		return err_set(
			"this app deploys images (builder:set selected image): use "
			"`git:from-image <app> IMAGE`, or unset the builder to build pushes");
	if (!strcmp(sel, "dockerfile")) {
		if (buf_addf(&path, "%s/Dockerfile", dir) < 0)
			return -1;
		has_dockerfile = lstat(path.buf, &st) == 0 && S_ISREG(st.st_mode);
		buf_release(&path);
		if (!has_dockerfile)
			return err_set("the dockerfile builder is selected (builder:set), but the "
				       "pushed tree has no Dockerfile at its root");
		*builder = "dockerfile";
		return 0;
	}
	if (!strcmp(sel, "buildpacks")) {
		*builder = "buildpacks"; /* a Dockerfile in the tree is ignored */
		return 0;
	}
	return err_set("unknown builder '%s' in the app's settings", sel);
}

int cmd_builder_set(int argc, char **argv)
{
	struct cli_opts o;
	struct lock l = LOCK_INIT;
	json_t *app = NULL;
	int i, ok = 0, ret = -1;

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
	if (state_app_lock(&l, o.pos[0]) < 0 || state_app_load(o.pos[0], &app) < 0)
		goto out;
	if (o.npos == 3 && *o.pos[2]) {
		json_object_set_new(app, "builder", json_string(o.pos[2]));
		say_step("Setting selected to %s", o.pos[2]);
	} else {
		json_object_del(app, "builder");
		say_step("Unsetting selected");
	}
	ret = state_app_save(o.pos[0], app);
out:
	lock_release(&l);
	json_decref(app);
	return ret;
}

static int builder_report(const char *name, const char *flag, int json, json_t *all)
{
	struct buf title = BUF_INIT;
	json_t *app = NULL;
	const char *sel;
	int ret = -1;

	if (state_app_load(name, &app) < 0 || buf_addf(&title, "%s builder information", name) < 0)
		goto out;
	sel = json_str(app, "builder", "");
	{
		struct cli_report_row rows[] = {
			{ "Builder selected", sel },
			/* Without a selection, each push is detected: buildpacks named with
			 * buildpacks:add, else a Dockerfile, else the bundled buildpacks. */
			{ "Builder computed selected", *sel ? sel : "detected on each push" },
		};
		size_t n = sizeof(rows) / sizeof(rows[0]);
		if (all)
			ret = json_object_set_new(all, name, cli_report_json(rows, n));
		else
			ret = cli_report_show(title.buf, rows, n, flag, json);
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
