/* plugin.c - the plugin family: list, install, update, uninstall, enable,
 * disable, installed, trigger; and plugin commands for names wharf lacks. */
#include "cli.h"
#include "plugins/plugins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_plugin_list(int argc, char **argv)
{
	struct cli_opts o;
	json_t *list = NULL, *p;
	size_t i;
	int json;

	if (cli_opts_parse(&o, argc, argv, "--format", NULL) < 0 || cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos)
		return cli_usage(argv[0]);
	if (plugins_list(&list) < 0)
		return -1;
	if (json) {
		char *s = json_dumps(list, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", s ? s : "[]");
		free(s);
	} else {
		json_array_foreach(list, i, p)
			printf("  %-20s %-10s %-9s %s\n", json_str(p, "name", ""),
			       *json_str(p, "version", "") ? json_str(p, "version", "") : "-",
			       json_is_true(json_object_get(p, "enabled")) ? "enabled" : "disabled",
			       json_str(p, "description", ""));
		if (!json_array_size(list))
			say_detail("No plugins installed");
	}
	json_decref(list);
	return 0;
}

int cmd_plugin_install(int argc, char **argv)
{
	const char *source = NULL, *name = NULL;
	char *installed = NULL;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else if (!strncmp(argv[i], "--name=", 7))
			name = argv[i] + 7;
		else if (argv[i][0] == '-')
			return err_set("unknown flag '%s' for %s; see `wharf %s --help`", argv[i],
				       argv[0], argv[0]);
		else if (!source)
			source = argv[i];
		else
			return cli_usage(argv[0]);
	}
	if (!source)
		return cli_usage(argv[0]);
	say_step("Installing plugin from %s", source);
	if (plugins_install(source, name, &installed) < 0)
		return -1;
	say_step("Plugin %s installed and enabled", installed);
	free(installed);
	return 0;
}

/* The commands of one plugin name: update, uninstall, enable, disable. */
static int one_plugin(int argc, char **argv, int (*fn)(const char *), const char *done)
{
	if (argc != 2)
		return cli_usage(argv[0]);
	if (fn(argv[1]) < 0)
		return -1;
	say_step("Plugin %s %s", argv[1], done);
	return 0;
}

int cmd_plugin_update(int argc, char **argv)
{
	return one_plugin(argc, argv, plugins_update, "updated");
}

int cmd_plugin_uninstall(int argc, char **argv)
{
	return one_plugin(argc, argv, plugins_uninstall, "uninstalled");
}

int cmd_plugin_enable(int argc, char **argv)
{
	return one_plugin(argc, argv, plugins_enable, "enabled");
}

int cmd_plugin_disable(int argc, char **argv)
{
	return one_plugin(argc, argv, plugins_disable, "disabled");
}

/* Dokku's plugin:installed: exit 0 when installed, 1 (silently) when not. */
int cmd_plugin_installed(int argc, char **argv)
{
	if (argc != 2)
		return cli_usage(argv[0]);
	if (plugins_valid_name(argv[1]) < 0)
		return -1;
	return plugins_installed(argv[1]) ? 0 : 1;
}

/* Fires a trigger by hand (debugging a plugin): stdout of every enabled plugin
 * in order; the first failure is the command's error. */
int cmd_plugin_trigger(int argc, char **argv)
{
	struct plugins_run_opts o = PLUGINS_RUN_OPTS_INIT;

	if (argc < 2)
		return cli_usage(argv[0]);
	o.app = getenv("APP");
	return plugins_trigger(NULL, argv[1], (const char *const *)argv + 2, &o);
}

int cli_plugin_command(int argc, char **argv)
{
	int ret = plugins_command(argc, argv);

	return ret == -2 ? -1 : ret;
}

void cli_trigger_post(const char *trigger, const char *app, const char *first,
		      const char *second, int nrest, char **rest)
{
	const char **args = calloc((size_t)nrest + 3, sizeof(*args));
	int i;

	if (!args) {
		say_warn("plugin %s: out of memory", trigger);
		return;
	}
	args[0] = first;
	args[1] = second;
	for (i = 0; i < nrest; i++)
		args[i + 2] = rest[i];
	plugins_post(trigger, app, args);
	free(args);
}

int cli_plugin_builder(const char *app, const char *dir, const char **builder)
{
	struct plugins_run_opts o = PLUGINS_RUN_OPTS_INIT;
	struct buf out = BUF_INIT;
	size_t start, end;
	int ret = -1;

	*builder = NULL;
	o.app = app;
	if (plugins_trigger(&out, "builder-detect", (const char *[]){ app, dir, NULL }, &o) < 0)
		goto out;
	/* The first plugin that names a builder decides: its first word. */
	start = strspn(out.buf, " \t\r\n");
	end = start + strcspn(out.buf + start, " \t\r\n");
	out.buf[end] = '\0';
	if (!strcmp(out.buf + start, "dockerfile"))
		*builder = "dockerfile";
	else if (!strcmp(out.buf + start, "buildpacks"))
		*builder = "buildpacks";
	else if (end > start) {
		err_set("builder-detect: unknown builder '%.64s' (dockerfile or buildpacks)",
			out.buf + start);
		goto out;
	}
	ret = 0;
out:
	buf_release(&out);
	return ret;
}

/* The container is on the app's network: plugins get its address there (ADDRESS),
 * which is where the router reaches it; PORT alone names no host port any more. */
int cli_check_deploy(void *data, const char *id, const char *type, int port)
{
	const char *app = data;
	struct docker *d = NULL;
	struct buf addr = BUF_INIT;
	json_t *info = NULL;
	char ps[16];
	int ret = -1;

	snprintf(ps, sizeof(ps), "%d", port);
	if (docker_new(&d, NULL) < 0 || docker_container_inspect(d, id, &info) < 0 ||
	    runtime_container_addr(&addr, info, app) < 0)
		goto out;
	ret = plugins_pre("check-deploy", app, (const char *[]){ app, id, type, ps, addr.buf, NULL });
out:
	json_decref(info);
	buf_release(&addr);
	docker_free(d);
	return ret;
}
