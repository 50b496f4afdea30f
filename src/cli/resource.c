/* resource.c - resource:limit, resource:limit-clear, resource:report: memory and
 * CPU limits of an app's containers (app.json "resources"), applied on the next
 * deploy as HostConfig.Memory and NanoCpus. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int valid_type(const char *t)
{
	size_t n = strlen(t);

	if (!n || n > 63 ||
	    strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
		return err_set("invalid process type '%s'", t);
	return 0;
}

struct limit_args {
	const char *app, *memory, *cpu, *process;
};

/* <app> [--memory X] [--cpu X] [--process TYPE]; --flag=X works too. with_values
 * 0 allows --process only (limit-clear). */
static int parse_limit_args(int argc, char **argv, int with_values, struct limit_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *eq = strchr(arg, '='), **slot = NULL;
		size_t n = eq ? (size_t)(eq - arg) : strlen(arg);

		if (arg[0] != '-') {
			if (a->app)
				return cli_usage(argv[0]);
			a->app = arg;
			continue;
		}
		if (with_values && n == 8 && !strncmp(arg, "--memory", n))
			slot = &a->memory;
		else if (with_values && n == 5 && !strncmp(arg, "--cpu", n))
			slot = &a->cpu;
		else if ((n == 9 && !strncmp(arg, "--process", n)) ||
			 (n == 14 && !strncmp(arg, "--process-type", n)))
			slot = &a->process;
		if (!slot)
			return err_set("unknown flag '%s' for %s; see `wharf %s --help`", arg,
				       argv[0], argv[0]);
		if (!eq && i + 1 >= argc)
			return err_set("%.*s needs a value", (int)n, arg);
		*slot = eq ? eq + 1 : argv[++i];
	}
	if (!a->app)
		return cli_usage(argv[0]);
	if (valid_app_name(a->app) < 0)
		return -1;
	if (!app_exists(a->app))
		return err_set("app '%s' does not exist", a->app);
	if (a->process && valid_type(a->process) < 0)
		return -1;
	return 0;
}

/* app_update() callback of resource:limit: the given limits into the app's or
 * the process type's. */
static int store_limits(const char *app, json_t *doc, void *data)
{
	const struct limit_args *a = data;
	json_t *target = app_limits_ensure(doc, a->process);

	(void)app;
	if (!target || (a->memory && app_set_str(target, APP_RES_MEMORY, a->memory) < 0) ||
	    (a->cpu && app_set_str(target, APP_RES_CPU, a->cpu) < 0))
		return -1;
	return 1;
}

/* app_update() callback of resource:limit-clear. */
static int clear_limits(const char *app, json_t *doc, void *data)
{
	const struct limit_args *a = data;

	(void)app;
	if (a->process)
		json_object_del(app_get(app_get(doc, APP_RESOURCES), APP_RES_PROCESS), a->process);
	else
		app_unset(doc, APP_RESOURCES);
	return 1;
}

int cmd_resource_limit(int argc, char **argv)
{
	struct limit_args a;
	long long bytes, nano;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (parse_limit_args(argc, argv, 1, &a) < 0)
		return -1;
	if (!a.memory && !a.cpu)
		return err_set("nothing to limit: give --memory and/or --cpu");
	if (a.memory && runtime_parse_memory(a.memory, &bytes) < 0)
		return -1;
	if (a.cpu && runtime_parse_cpus(a.cpu, &nano) < 0)
		return -1;
	/* Docker refuses more CPUs than the host has, at deploy time: say it now. */
	if (a.cpu && cpus > 0 && nano > (long long)cpus * 1000000000LL)
		return err_set("cpu '%s' is more than the %ld CPUs of this host", a.cpu, cpus);
	if (app_update(a.app, store_limits, &a) < 0)
		return -1;
	say_step("Setting resource limits for %s (%s)", a.app,
		 a.process ? a.process : "all processes");
	if (a.memory)
		say_detail("memory: %s", a.memory);
	if (a.cpu)
		say_detail("cpu: %s", a.cpu);
	say_detail("applies from the next deploy (ps:restart %s)", a.app);
	return 0;
}

int cmd_resource_limit_clear(int argc, char **argv)
{
	struct limit_args a;

	if (parse_limit_args(argc, argv, 0, &a) < 0 || app_update(a.app, clear_limits, &a) < 0)
		return -1;
	say_step("Clearing resource limits for %s (%s)", a.app,
		 a.process ? a.process : "all processes");
	say_detail("applies from the next deploy (ps:restart %s)", a.app);
	return 0;
}

static int resource_report(const char *name, const char *flag, int json, json_t *all)
{
	struct cli_report_row rows[2 + 2 * 32];
	struct buf title = BUF_INIT, labels = BUF_INIT;
	json_t *app = NULL, *res, *v;
	const char *type;
	size_t n = 0, k;
	char(*lab)[96] = NULL;
	int ret = -1;

	if (app_load(name, &app) < 0 || buf_addf(&title, "%s resource information", name) < 0)
		goto out;
	res = app_get(app, APP_RESOURCES);
	rows[n].label = "Resource limit memory";
	rows[n++].value = app_get_str_or(res, APP_RES_MEMORY, "");
	rows[n].label = "Resource limit cpu";
	rows[n++].value = app_get_str_or(res, APP_RES_CPU, "");
	lab = calloc(2 * 32, sizeof(*lab));
	if (!lab) {
		err_set("out of memory");
		goto out;
	}
	k = 0;
	json_object_foreach(app_get(res, APP_RES_PROCESS), type, v) {
		if (k >= 2 * 32)
			break;
		snprintf(lab[k], sizeof(lab[k]), "Resource limit %s memory", type);
		rows[n].label = lab[k++];
		rows[n++].value = app_get_str_or(v, APP_RES_MEMORY, "");
		snprintf(lab[k], sizeof(lab[k]), "Resource limit %s cpu", type);
		rows[n].label = lab[k++];
		rows[n++].value = app_get_str_or(v, APP_RES_CPU, "");
	}
	ret = cli_report_app(all, name, title.buf, rows, n, flag, json);
out:
	free(lab);
	json_decref(app);
	buf_release(&title);
	buf_release(&labels);
	return ret;
}

int cmd_resource_report(int argc, char **argv)
{
	return cli_report_family(argc, argv, "--resource-", resource_report);
}
