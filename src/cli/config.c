/* config.c - config:set, config:get, config:unset, config:show. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Strips a leading --no-restart (Dokku accepts it before the app). */
static int take_no_restart(int *argc, char ***argv)
{
	int i, found = 0;

	for (i = 1; i < *argc; i++) {
		if (!strcmp((*argv)[i], "--no-restart")) {
			memmove(&(*argv)[i], &(*argv)[i + 1], sizeof(char *) * (size_t)(*argc - i));
			(*argc)--;
			found = 1;
			i--;
		}
	}
	return found;
}

static void print_vars(const json_t *config, const char **keys, int n)
{
	size_t width = 0;
	int i;

	for (i = 0; i < n; i++)
		if (strlen(keys[i]) > width)
			width = strlen(keys[i]);
	for (i = 0; i < n; i++) {
		const char *v = json_str(config, keys[i], "");
		printf("       %s:%*s %s\n", keys[i], (int)(width - strlen(keys[i]) + 1), "", v);
	}
}

int cmd_config_set(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	json_t *app = NULL, *config;
	const char **keys = NULL;
	int i, n = 0, no_restart = take_no_restart(&argc, &argv), ret = -1;

	if (cli_need_app(argc, argv, 2, 1) < 0)
		return -1;
	keys = calloc((size_t)argc, sizeof(*keys));
	if (!keys)
		return err_set("out of memory");
	/* Validate every pair before changing anything: a bad one loses nothing. */
	for (i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq) {
			err_set("'%s' is not KEY=VALUE", argv[i]);
			goto out;
		}
		*eq = '\0';
		if (valid_config_key(argv[i]) < 0) {
			*eq = '=';
			goto out;
		}
		*eq = '=';
	}
	if (state_app_lock(&l, argv[1]) < 0 || state_app_load(argv[1], &app) < 0)
		goto out;
	config = json_object_get(app, "config");
	for (i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		*eq = '\0';
		json_object_set_new(config, argv[i], json_string(eq + 1));
		keys[n++] = argv[i];
	}
	say_step("Setting config vars");
	print_vars(config, keys, n);
	if (state_app_save(argv[1], app) < 0)
		goto out;
	lock_release(&l);
	ret = no_restart ? 0 : cli_redeploy(argv[1], "config set");
out:
	lock_release(&l);
	json_decref(app);
	free(keys);
	return ret;
}

int cmd_config_unset(int argc, char **argv)
{
	struct lock l = LOCK_INIT;
	json_t *app = NULL, *config;
	int i, no_restart = take_no_restart(&argc, &argv), ret = -1;

	if (cli_need_app(argc, argv, 2, 1) < 0)
		return -1;
	for (i = 2; i < argc; i++)
		if (valid_config_key(argv[i]) < 0)
			return -1;
	if (state_app_lock(&l, argv[1]) < 0 || state_app_load(argv[1], &app) < 0)
		goto out;
	config = json_object_get(app, "config");
	say_step("Unsetting config vars");
	for (i = 2; i < argc; i++) {
		if (json_object_del(config, argv[i]) == 0)
			say_detail("%s", argv[i]);
		else
			say_warn("%s is not set", argv[i]);
	}
	if (state_app_save(argv[1], app) < 0)
		goto out;
	lock_release(&l);
	ret = no_restart ? 0 : cli_redeploy(argv[1], "config unset");
out:
	lock_release(&l);
	json_decref(app);
	return ret;
}

int cmd_config_get(int argc, char **argv)
{
	json_t *app = NULL;
	const char *v;
	int ret = -1;

	if (cli_need_app(argc, argv, 2, 1) < 0 || valid_config_key(argv[2]) < 0)
		return -1;
	if (state_app_load(argv[1], &app) < 0)
		return -1;
	v = json_str(json_object_get(app, "config"), argv[2], NULL);
	if (v) {
		printf("%s\n", v);
		ret = 0;
	} else {
		ret = 1;                /* Dokku: an unset key prints nothing, exits 1 */
	}
	json_decref(app);
	return ret;
}

int cmd_config_show(int argc, char **argv)
{
	json_t *app = NULL, *config, *v;
	const char **keys = NULL;
	const char *k;
	size_t n;
	int i = 0;

	if (cli_need_app(argc, argv, 1, 1) < 0 || state_app_load(argv[1], &app) < 0)
		return -1;
	config = json_object_get(app, "config");
	n = json_object_size(config);
	keys = calloc(n + 1, sizeof(*keys));
	json_object_foreach(config, k, v)
		keys[i++] = k;
	say_section("%s env vars", argv[1]);
	print_vars(config, keys, i);
	free(keys);
	json_decref(app);
	return 0;
}
