/* dockerargs.c - docker-args-deploy / docker-args-build: extra container options
 * from plugins as JSON, merged and held to an allow-list of Docker's
 * container-create keys so a plugin cannot, say, switch networking or mount /.
 * Nothing on the list gives a container the host: no Privileged, CapAdd, Devices,
 * Binds, Mounts, host PID/IPC/network/UTS/userns/cgroup namespaces, and
 * SecurityOpt only to tighten (no-new-privileges, a named AppArmor profile,
 * SELinux labels), never "unconfined", "disable" or a seccomp profile. */
#include "plugins.h"

#include <string.h>

enum arg_type { T_STR, T_UINT, T_BOOL, T_STRARR, T_STRMAP, T_ULIMITS, T_OBJECT, T_ENV, T_SECOPT };

static const struct allowed {
	const char   *section, *key;
	enum arg_type type;
} allowed[] = {
	{ "Config", "Env", T_ENV },
	{ "Config", "Labels", T_STRMAP },
	{ "Config", "User", T_STR },
	{ "Config", "WorkingDir", T_STR },
	{ "HostConfig", "Memory", T_UINT },
	{ "HostConfig", "MemorySwap", T_UINT },
	{ "HostConfig", "NanoCpus", T_UINT },
	{ "HostConfig", "CpuShares", T_UINT },
	{ "HostConfig", "PidsLimit", T_UINT },
	{ "HostConfig", "ShmSize", T_UINT },
	{ "HostConfig", "CapDrop", T_STRARR },
	{ "HostConfig", "Dns", T_STRARR },
	{ "HostConfig", "ExtraHosts", T_STRARR },
	{ "HostConfig", "SecurityOpt", T_SECOPT },
	{ "HostConfig", "ReadonlyRootfs", T_BOOL },
	{ "HostConfig", "Ulimits", T_ULIMITS },
	{ "HostConfig", "LogConfig", T_OBJECT },
	{ NULL, NULL, T_STR }
};

static int all_strings(const json_t *arr)
{
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return 0;
	json_array_foreach(arr, i, v)
		if (!json_is_string(v))
			return 0;
	return 1;
}

/* One SecurityOpt entry that only tightens confinement. "no-new-privileges"
 * (":true", "=true"), "apparmor=PROFILE" or "label=user:|role:|type:|level:…";
 * refused: anything "unconfined", "label=disable", "no-new-privileges:false",
 * seccomp (a profile given inline could allow every system call). */
static int secopt_ok(const char *o)
{
	static const char *const nnp[] = { "no-new-privileges", "no-new-privileges:true",
					   "no-new-privileges=true", NULL };
	static const char *const label[] = { "user:", "role:", "type:", "level:", NULL };
	int i;

	for (i = 0; nnp[i]; i++)
		if (!strcmp(o, nnp[i]))
			return 1;
	if (strstr(o, "unconfined"))
		return 0;
	if ((!strncmp(o, "apparmor=", 9) || !strncmp(o, "apparmor:", 9)) && o[9])
		return 1;
	if (!strncmp(o, "label=", 6) || !strncmp(o, "label:", 6))
		for (i = 0; label[i]; i++)
			if (!strncmp(o + 6, label[i], strlen(label[i])))
				return 1;
	return 0;
}

static int type_ok(const json_t *v, enum arg_type t, const char **why)
{
	const char *k;
	json_t *e;
	size_t i;

	switch (t) {
	case T_STR:
		*why = "a string";
		return json_is_string(v);
	case T_UINT:
		*why = "an integer >= 0";
		return json_is_integer(v) && json_integer_value(v) >= 0;
	case T_BOOL:
		*why = "true or false";
		return json_is_boolean(v);
	case T_STRARR:
		*why = "an array of strings";
		return all_strings(v);
	case T_ENV:
		*why = "an array of \"KEY=VALUE\" strings (not PORT, GIT_REV or WHARF_*)";
		if (!all_strings(v))
			return 0;
		json_array_foreach(v, i, e) {
			const char *s = json_string_value(e), *eq = strchr(s, '=');
			char key[256];
			if (!eq || (size_t)(eq - s) >= sizeof(key))
				return 0;
			memcpy(key, s, (size_t)(eq - s));
			key[eq - s] = '\0';
			if (valid_config_key(key) < 0 || !strcmp(key, "PORT") ||
			    !strcmp(key, "GIT_REV") || !strncmp(key, "WHARF_", 6))
				return 0;
		}
		return 1;
	case T_STRMAP:
		*why = "an object of strings, without wharf.* labels";
		if (!json_is_object(v))
			return 0;
		json_object_foreach((json_t *)v, k, e)
			if (!json_is_string(e) || !strncmp(k, "wharf.", 6))
				return 0;
		return 1;
	case T_ULIMITS:
		*why = "an array of {\"Name\", \"Soft\", \"Hard\"}";
		if (!json_is_array(v))
			return 0;
		json_array_foreach(v, i, e)
			if (!json_is_string(json_object_get(e, "Name")) ||
			    !json_is_integer(json_object_get(e, "Soft")) ||
			    !json_is_integer(json_object_get(e, "Hard")) || json_object_size(e) != 3)
				return 0;
		return 1;
	case T_OBJECT:
		*why = "an object";
		return json_is_object(v);
	case T_SECOPT:
		*why = "an array of options that only tighten confinement (no-new-privileges, "
		       "apparmor=PROFILE, label=TYPE:VALUE; never unconfined, disable or seccomp)";
		if (!all_strings(v))
			return 0;
		json_array_foreach(v, i, e)
			if (!secopt_ok(json_string_value(e)))
				return 0;
		return 1;
	}
	return 0;
}

int plugins_docker_args_check(const json_t *obj)
{
	const char *section, *key;
	json_t *sec, *v;
	int i;

	if (!json_is_object(obj))
		return err_set("docker args must be a JSON object");
	json_object_foreach((json_t *)obj, section, sec) {
		if (strcmp(section, "Config") && strcmp(section, "HostConfig"))
			return err_set("docker args: '%s' is not allowed (only Config and HostConfig)",
				       section);
		if (!json_is_object(sec))
			return err_set("docker args: %s must be an object", section);
		json_object_foreach(sec, key, v) {
			const char *why = "";
			for (i = 0; allowed[i].key; i++)
				if (!strcmp(allowed[i].section, section) && !strcmp(allowed[i].key, key))
					break;
			if (!allowed[i].key)
				return err_set("docker args: %s.%s is not allowed; see docs/plugins.md",
					       section, key);
			if (!type_ok(v, allowed[i].type, &why))
				return err_set("docker args: %s.%s must be %s", section, key, why);
		}
	}
	return 0;
}

/* Merges one plugin's object into acc: keys of each section, later wins; Env
 * arrays are concatenated so two plugins can both add variables. */
static void merge(json_t *acc, const json_t *obj)
{
	const char *section, *key;
	json_t *sec, *v;

	json_object_foreach((json_t *)obj, section, sec) {
		json_t *dst = json_object_get(acc, section);
		if (!dst) {
			dst = json_object();
			json_object_set_new(acc, section, dst);
		}
		json_object_foreach(sec, key, v) {
			json_t *old = json_object_get(dst, key);
			if (!strcmp(key, "Env") && json_is_array(old))
				json_array_extend(old, v);
			else
				json_object_set(dst, key, v);
		}
	}
}

int plugins_docker_args(json_t **out, const char *trigger, const char *app,
			const char *const *args)
{
	struct plugins_run_opts o = PLUGINS_RUN_OPTS_INIT;
	struct buf dir = BUF_INIT, text = BUF_INIT;
	json_t *names = NULL, *acc = NULL, *nv;
	size_t i;
	int ret = -1;

	*out = NULL;
	if (plugins_path(&dir, "enabled") < 0)
		goto out;
	if (!fs_is_dir(dir.buf)) {
		ret = 0;
		goto out;
	}
	/* One run per plugin, so a bad answer names its plugin. */
	if (plugins_list(&names) < 0)
		goto out;
	o.app = app;
	json_array_foreach(names, i, nv) {
		const char *name = json_str(nv, "name", "");
		json_error_t e;
		json_t *obj;
		if (!json_is_true(json_object_get(nv, "enabled")))
			continue;
		o.only = name;
		buf_reset(&text);
		if (plugins_trigger(&text, trigger, args, &o) < 0)
			goto out;
		if (strspn(text.buf, " \t\r\n") == text.len)
			continue;
		obj = json_loadb(text.buf, text.len, 0, &e);
		if (!obj) {
			err_set("plugin %s: %s did not print one JSON object: %s", name, trigger, e.text);
			goto out;
		}
		if (plugins_docker_args_check(obj) < 0) {
			err_prefix("plugin %s: ", name);
			json_decref(obj);
			goto out;
		}
		if (!acc)
			acc = json_object();
		merge(acc, obj);
		json_decref(obj);
	}
	*out = acc;
	acc = NULL;
	ret = 0;
out:
	json_decref(names);
	json_decref(acc);
	buf_release(&dir);
	buf_release(&text);
	return ret;
}
