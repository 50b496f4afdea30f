/* storage.c - storage:mount, storage:unmount, storage:list, storage:report: host
 * directories bind-mounted into every container of an app (app.json "storage"). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOUNTS_MAX     64

int cli_storage_binds(const json_t *appobj, const char ***out)
{
	const json_t *arr = app_get(appobj, APP_STORAGE);
	size_t i, n = json_array_size(arr);
	const char **v;

	*out = NULL;
	if (!n)
		return 0;
	v = calloc(n + 1, sizeof(*v));
	if (!v)
		return err_set("out of memory");
	for (i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(arr, i));
	*out = v;
	return 0;
}

/* The index in mounts of the one on container dir cdir, or -1. */
static long find_mount(const json_t *mounts, const char *cdir)
{
	size_t i;
	json_t *m;

	json_array_foreach(mounts, i, m) {
		struct buf h = BUF_INIT, c = BUF_INIT;
		int ro, same;
		same = cli_mount_parse(json_string_value(m), &h, &c, &ro) == 0 && !strcmp(c.buf, cdir);
		buf_release(&h);
		buf_release(&c);
		if (same)
			return (long)i;
	}
	err_clear();
	return -1;
}

/* Mount and unmount share their checks: app, one spec, parsed. */
static int mount_args(int argc, char **argv, struct buf *host, struct buf *cdir, int *ro)
{
	if (cli_need_app(argc, argv, 2, 1) < 0)
		return -1;
	if (argc != 3)
		return cli_usage(argv[0]);
	return cli_mount_parse(argv[2], host, cdir, ro);
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
		return err_set("%s already has a mount on %s; storage:unmount it first", app, mc->cdir);
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
		return err_set("%s has no mount %s; see `wharf storage:list %s`", app, mc->norm, app);
	json_array_remove(mounts, (size_t)found);
	return 1;
}

int cmd_storage_mount(int argc, char **argv)
{
	struct buf host = BUF_INIT, cdir = BUF_INIT, norm = BUF_INIT;
	int ro, ret = -1;

	if (mount_args(argc, argv, &host, &cdir, &ro) < 0)
		goto out;
	if (!fs_is_dir(host.buf)) {
		err_set("the host dir %s does not exist (or is not a directory): create it first",
			host.buf);
		goto out;
	}
	if (buf_addf(&norm, "%s:%s%s", host.buf, cdir.buf, ro ? ":ro" : "") < 0 ||
	    app_update(argv[1], add_mount, &(struct mount_change){ norm.buf, cdir.buf }) < 0)
		goto out;
	say_step("Mounting %s for %s", norm.buf, argv[1]);
	say_detail("applies from the next deploy (ps:restart %s)", argv[1]);
	ret = 0;
out:
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
			if (cli_mount_parse(json_string_value(m), &h, &c, &ro) == 0)
				json_array_append_new(out, json_pack("{s:s,s:s,s:b}", "host_path", h.buf,
								     "container_path", c.buf,
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
		if (all)
			ret = json_object_set_new(all, name, cli_report_json(rows, n));
		else
			ret = cli_report_show(title.buf, rows, n, flag, json);
	}
out:
	json_decref(app);
	buf_release(&title);
	buf_release(&list);
	return ret;
}

int cmd_storage_report(int argc, char **argv)
{
	return cli_report_family(argc, argv, "--storage-", storage_report);
}
