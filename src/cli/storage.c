/* storage.c - storage:mount, storage:unmount, storage:list, storage:report: host
 * directories bind-mounted into every container of an app (app.json "storage");
 * storage:allow, storage:disallow: the host dirs root lets apps mount. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MOUNTS_MAX 64
#define ALLOW_MAX  64

/* storage:allow DIR / storage:disallow DIR: root's list of host dirs apps may
 * mount (global.json "storage_allow"). Root only: an admin key over ssh, or the
 * wharf user, may use the list but not widen it. */
struct allow_change {
	int add;
	const char *dir; /* as resolved to add, as given to remove */
};

/* app_global_update() callback of storage:allow/disallow. */
static int change_allow_list(const char *app, json_t *doc, void *data)
{
	const struct allow_change *ac = data;
	json_t *list = app_ensure(doc, APP_STORAGE_ALLOW), *v;
	long found = -1;
	size_t i;

	(void)app;
	if (!list)
		return -1;
	json_array_foreach(list, i, v)
		if (!strcmp(json_string_value(v), ac->dir))
			found = (long)i;
	if (ac->add && found < 0 && json_array_size(list) >= ALLOW_MAX)
		return err_set("at most %d allowed dirs", ALLOW_MAX);
	if (!ac->add && found < 0)
		return err_set("%s is not an allowed dir; see `wharf storage:report --global`",
			       ac->dir);
	if (ac->add && found < 0 && json_array_append_new(list, json_string(ac->dir)) < 0)
		return err_set("out of memory");
	if (!ac->add)
		json_array_remove(list, (size_t)found);
	return 1;
}

static int change_allow(int argc, char **argv, int add)
{
	struct buf host = BUF_INIT, cdir = BUF_INIT, spec = BUF_INIT;
	json_t *none = json_array();
	char *real = NULL;
	int ro, ret = -1;

	if (argc != 2)
		return cli_usage(argv[0]);
	if (geteuid() != 0) {
		err_set("%s is for root on the host: it decides which host dirs apps may mount",
			argv[0]);
		goto out;
	}
	/* The dir is written to global.json the way mounts are written: plain and
	 * absolute; an existing dir is recorded as the kernel resolves it. */
	if (buf_addf(&spec, "%s:/x", argv[1]) < 0 ||
	    deploy_mount_parse(spec.buf, &host, &cdir, &ro) < 0)
		goto out;
	if (add) {
		if (!(real = realpath(host.buf, NULL)) || !fs_is_dir(real)) {
			err_set("%s is not a directory on this host", host.buf);
			goto out;
		}
		/* Everything but the allow-list itself: /etc stays refused. */
		json_array_append_new(none, json_string(real));
		if (deploy_storage_host_ok(real, none, wharf_root()) < 0)
			goto out;
	}
	if (cli_drop_to_root_owner() < 0 ||
	    app_global_update(change_allow_list,
			      &(struct allow_change){ add, add ? real : host.buf }) < 0)
		goto out;
	if (add)
		say_step("Allowed mounts of %s and the dirs below it", real);
	else
		say_step("Disallowed mounts of %s (apps that mount it fail their next deploy)",
			 host.buf);
	ret = 0;
out:
	json_decref(none);
	free(real);
	buf_release(&host);
	buf_release(&cdir);
	buf_release(&spec);
	return ret;
}

int cmd_storage_allow(int argc, char **argv)
{
	return change_allow(argc, argv, 1);
}

int cmd_storage_disallow(int argc, char **argv)
{
	return change_allow(argc, argv, 0);
}

/* The index in mounts of the one on container dir cdir, or -1. */
static long find_mount(const json_t *mounts, const char *cdir)
{
	size_t i;
	json_t *m;

	json_array_foreach(mounts, i, m) {
		struct buf h = BUF_INIT, c = BUF_INIT;
		int ro, same;
		same = deploy_mount_parse(json_string_value(m), &h, &c, &ro) == 0 &&
		       !strcmp(c.buf, cdir);
		buf_release(&h);
		buf_release(&c);
		if (same)
			return (long)i;
	}
	err_clear(); /* handled: -1 here means "not found", not an error */
	return -1;
}

/* Mount and unmount share their checks: app, one spec, parsed. */
static int mount_args(int argc, char **argv, struct buf *host, struct buf *cdir, int *ro)
{
	if (cli_need_app(argc, argv, 2, 1) < 0)
		return -1;
	if (argc != 3)
		return cli_usage(argv[0]);
	return deploy_mount_parse(argv[2], host, cdir, ro);
}

/* What storage:mount and storage:unmount change: the mount spec norm
 * ("HOST:DIR[:ro]") on container dir cdir. */
struct mount_change {
	const char *norm, *cdir;
};

/* app_update() callback of storage:mount. */
static int add_mount(const char *app, json_t *doc, void *data)
{
	const struct mount_change *mc = data;
	json_t *mounts = app_ensure(doc, APP_STORAGE);

	if (!mounts)
		return -1;
	if (find_mount(mounts, mc->cdir) >= 0)
		return err_set("%s already has a mount on %s; storage:unmount it first", app,
			       mc->cdir);
	if (json_array_size(mounts) >= MOUNTS_MAX)
		return err_set("%s has %d mounts, the most wharf allows", app, MOUNTS_MAX);
	return json_array_append_new(mounts, json_string(mc->norm)) < 0 ? err_set("out of memory")
									: 1;
}

/* app_update() callback of storage:unmount. */
static int remove_mount(const char *app, json_t *doc, void *data)
{
	const struct mount_change *mc = data;
	json_t *mounts = app_get(doc, APP_STORAGE), *m;
	long found = -1;
	size_t i;

	json_array_foreach(mounts, i, m)
		if (!strcmp(json_string_value(m), mc->norm))
			found = (long)i;
	if (found < 0)
		return err_set("%s has no mount %s; see `wharf storage:list %s`", app, mc->norm,
			       app);
	json_array_remove(mounts, (size_t)found);
	return 1;
}

int cmd_storage_mount(int argc, char **argv)
{
	struct buf host = BUF_INIT, cdir = BUF_INIT, norm = BUF_INIT;
	json_t *allow = NULL;
	int ro, ret = -1;

	if (mount_args(argc, argv, &host, &cdir, &ro) < 0)
		goto out;
	if (!fs_is_dir(host.buf)) {
		err_set("the host dir %s does not exist (or is not a directory): create it first",
			host.buf);
		goto out;
	}
	if (deploy_storage_allow_load(&allow) < 0 ||
	    deploy_storage_host_allowed(host.buf, allow) < 0)
		goto out;
	if (buf_addf(&norm, "%s:%s%s", host.buf, cdir.buf, ro ? ":ro" : "") < 0 ||
	    app_update(argv[1], add_mount, &(struct mount_change){ norm.buf, cdir.buf }) < 0)
		goto out;
	say_step("Mounting %s for %s", norm.buf, argv[1]);
	say_detail("applies from the next deploy (ps:restart %s)", argv[1]);
	ret = 0;
out:
	json_decref(allow);
	buf_release(&host);
	buf_release(&cdir);
	buf_release(&norm);
	return ret;
}

int cmd_storage_unmount(int argc, char **argv)
{
	struct buf host = BUF_INIT, cdir = BUF_INIT, norm = BUF_INIT;
	int ro, ret = -1;

	if (mount_args(argc, argv, &host, &cdir, &ro) < 0)
		goto out;
	if (buf_addf(&norm, "%s:%s%s", host.buf, cdir.buf, ro ? ":ro" : "") < 0 ||
	    app_update(argv[1], remove_mount, &(struct mount_change){ norm.buf, cdir.buf }) < 0)
		goto out;
	say_step("Unmounting %s for %s", norm.buf, argv[1]);
	say_detail("applies from the next deploy (ps:restart %s)", argv[1]);
	ret = 0;
out:
	buf_release(&host);
	buf_release(&cdir);
	buf_release(&norm);
	return ret;
}

int cmd_storage_list(int argc, char **argv)
{
	struct cli_opts o;
	json_t *app = NULL, *m;
	size_t i;
	int json, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--format", NULL) < 0 || cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos != 1)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0 || app_load(o.pos[0], &app) < 0)
		return -1;
	if (json) {
		json_t *out = json_array();
		json_array_foreach(app_get(app, APP_STORAGE), i, m) {
			struct buf h = BUF_INIT, c = BUF_INIT;
			int ro;
			if (deploy_mount_parse(json_string_value(m), &h, &c, &ro) == 0)
				json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "host_path",
								     h.buf, "container_path", c.buf,
								     "readonly", ro));
			buf_release(&h);
			buf_release(&c);
		}
		{
			char *s = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
			printf("%s\n", s ? s : "[]");
			free(s);
		}
		json_decref(out);
		ret = 0;
		goto out;
	}
	say_section("%s volume bind-mounts:", o.pos[0]);
	json_array_foreach(app_get(app, APP_STORAGE), i, m)
		printf("       %s\n", json_string_value(m));
	ret = 0;
out:
	json_decref(app);
	return ret;
}

static int storage_report(const char *name, const char *flag, int json, json_t *all)
{
	struct buf title = BUF_INIT, list = BUF_INIT;
	json_t *app = NULL, *m;
	size_t i;
	int ret = -1;

	if (app_load(name, &app) < 0 || buf_addf(&title, "%s storage information", name) < 0)
		goto out;
	json_array_foreach(app_get(app, APP_STORAGE), i, m)
		buf_addf(&list, "%s%s", list.len ? " " : "", json_string_value(m));
	{
		struct cli_report_row rows[] = {
			{ "Storage mounts", list.buf },
			{ "Storage mount count", NULL },
		};
		char count[32];
		size_t n = sizeof(rows) / sizeof(rows[0]);
		snprintf(count, sizeof(count), "%zu", json_array_size(app_get(app, APP_STORAGE)));
		rows[1].value = count;
		ret = cli_report_app(all, name, title.buf, rows, n, flag, json);
	}
out:
	json_decref(app);
	buf_release(&title);
	buf_release(&list);
	return ret;
}

/* storage:report --global: the host dirs root allowed. */
static int global_report(int argc, char **argv)
{
	struct cli_opts o;
	struct buf list = BUF_INIT;
	json_t *allow = NULL, *v;
	size_t i;
	int json, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--format --global", "--storage-") < 0 ||
	    cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos)
		return cli_usage(argv[0]);
	if (deploy_storage_allow_load(&allow) < 0)
		return -1;
	json_array_foreach(allow, i, v)
		buf_addf(&list, "%s%s", i ? " " : "", json_string_value(v));
	{
		struct cli_report_row rows[] = { { "Storage allowed dirs", list.buf } };
		ret = cli_report_show("Global storage information", rows, 1, o.flag, json);
	}
	json_decref(allow);
	buf_release(&list);
	return ret;
}

int cmd_storage_report(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--global"))
			return global_report(argc, argv);
	return cli_report_family(argc, argv, "--storage-", storage_report);
}
