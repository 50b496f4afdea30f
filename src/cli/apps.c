/* apps.c - apps:create, apps:list, apps:exists, apps:destroy. */
#include "cli.h"
#include "receiver/receiver.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <string.h>

int cmd_apps_create(int argc, char **argv)
{
	struct buf exe = BUF_INIT;
	int created, ret = -1;

	if (cli_need_app(argc, argv, 1, 0) < 0)
		return -1;
	if (state_app_exists(argv[1]))
		return err_set("app '%s' already exists", argv[1]);
	say_step("Creating %s...", argv[1]);
	if (state_app_create(argv[1]) < 0 || cli_self_exe(&exe) < 0 ||
	    receiver_repo_ensure(argv[1], exe.buf, &created) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&exe);
	return ret;
}

int cmd_apps_list(int argc, char **argv)
{
	json_t *apps = NULL, *v;
	size_t i;

	(void)argc;
	(void)argv;
	if (state_app_list(&apps) < 0)
		return -1;
	say_section("My Apps");
	json_array_foreach(apps, i, v)
		printf("%s\n", json_string_value(v));
	json_decref(apps);
	return 0;
}

int cmd_apps_exists(int argc, char **argv)
{
	if (cli_need_app(argc, argv, 1, 0) < 0)
		return -1;
	if (!state_app_exists(argv[1]))
		return err_set("App %s does not exist", argv[1]);
	return 0;
}

/* Dokku's guard: a destroy must be confirmed by typing the app's name. */
static int confirm(const char *app)
{
	char line[128];

	say_warn("WARNING: Potentially Destructive Action");
	say_warn("This command will destroy app %s.", app);
	say_warn("To proceed, type \"%s\"", app);
	if (!fgets(line, sizeof(line), stdin))
		return err_set("Confirmation did not match %s. Aborted.", app);
	line[strcspn(line, "\r\n")] = '\0';
	if (strcmp(line, app))
		return err_set("Confirmation did not match %s. Aborted.", app);
	return 0;
}

static void remove_images(struct docker *d, const char *app)
{
	json_t *rels = NULL, *r;
	size_t i;

	if (state_releases_load(app, &rels) < 0)
		return;
	json_array_foreach(json_object_get(rels, "releases"), i, r) {
		const char *img = json_str(r, "image", NULL);
		if (img && docker_image_remove(d, img, 1) < 0)
			err_clear();    /* shared by two releases, or already gone */
	}
	json_decref(rels);
}

int cmd_apps_destroy(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	struct docker *d = NULL;
	struct buf dir = BUF_INIT;
	const char *app;
	int i, force = cli_force, ret = -1;

	for (i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--force"))
			force = 1;
	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	app = argv[1];
	if (!force && confirm(app) < 0)
		return -1;
	if (docker_new(&d, NULL) < 0)
		goto out;
	if (state_app_lock(&l, app) < 0)
		goto out;
	say_step("Destroying %s", app);
	if (router_client_delete(app) < 0)
		say_warn("%s", err_msg());
	if (runtime_app_remove(d, app, 10) < 0)
		goto out;
	remove_images(d, app);
	if (wharf_app_path(&dir, app, NULL) < 0 || fs_rm_rf(dir.buf) < 0)
		goto out;
	ret = 0;
out:
	lock_release(&l);
	docker_free(d);
	buf_release(&dir);
	return ret;
}
