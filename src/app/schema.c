/* schema.c - the table of app.json, global.json and releases.json keys, and typed
 * access to them. */
#include "app.h"

#include <string.h>

static const struct app_key_info keys[APP_KEY_COUNT] = {
#define APP__ROW(id, name, type, defi, defs, fam, files) \
	[APP_##id] = { name, APP_T_##type, defi, defs, APP_FAM_##fam, files },
	APP_KEYS(APP__ROW)
#undef APP__ROW
};

const struct app_key_info *app_key_info(enum app_key k)
{
	return &keys[k];
}

const char *app_key_name(enum app_key k)
{
	return keys[k].name;
}

const char *app_get_str(const json_t *doc, enum app_key k)
{
	const json_t *v = json_object_get(doc, keys[k].name);
	return json_is_string(v) ? json_string_value(v) : keys[k].defs;
}

const char *app_get_str_or(const json_t *doc, enum app_key k, const char *def)
{
	const json_t *v = json_object_get(doc, keys[k].name);
	return json_is_string(v) ? json_string_value(v) : def;
}

const char *app_scheduler(const json_t *app, const json_t *global)
{
	const char *s = app ? app_get_str_or(app, APP_SCHEDULER, "") : "";

	if (!*s)
		s = app_get_str_or(global, APP_SCHEDULER, "");
	return *s ? s : "docker-local";
}

int app_get_bool(const json_t *doc, enum app_key k)
{
	const json_t *v = json_object_get(doc, keys[k].name);
	return json_is_boolean(v) ? json_is_true(v) : (int)keys[k].defi;
}

long long app_get_int(const json_t *doc, enum app_key k)
{
	const json_t *v = json_object_get(doc, keys[k].name);

	if (keys[k].type == APP_T_BOOL)
		return app_get_bool(doc, k);
	return json_is_integer(v) ? json_integer_value(v) : keys[k].defi;
}

static int type_ok(const json_t *v, enum app_key k)
{
	return keys[k].type == APP_T_OBJECT ? json_is_object(v) : json_is_array(v);
}

json_t *app_get(const json_t *doc, enum app_key k)
{
	json_t *v = json_object_get(doc, keys[k].name);
	return type_ok(v, k) ? v : NULL;
}

json_t *app_ensure(json_t *doc, enum app_key k)
{
	json_t *v = app_get(doc, k);

	if (v)
		return v;
	v = keys[k].type == APP_T_OBJECT ? json_object() : json_array();
	if (app_set(doc, k, v) < 0)
		return NULL;
	return v;
}

int app_set(json_t *doc, enum app_key k, json_t *v)
{
	if (!v || json_object_set_new(doc, keys[k].name, v) < 0)
		return err_set("out of memory");
	return 0;
}

int app_set_str(json_t *doc, enum app_key k, const char *v)
{
	if (!v) {
		app_unset(doc, k);
		return 0;
	}
	return app_set(doc, k, json_string(v));
}

int app_set_int(json_t *doc, enum app_key k, long long v)
{
	return app_set(doc, k, json_integer((json_int_t)v));
}

int app_set_bool(json_t *doc, enum app_key k, int on)
{
	if (!on == !keys[k].defi) {
		app_unset(doc, k);
		return 0;
	}
	return app_set(doc, k, json_boolean(on));
}

void app_unset(json_t *doc, enum app_key k)
{
	json_object_del(doc, keys[k].name);
}

void app_limits_of(const json_t *resources, const char *type, struct app_limits *out)
{
	const json_t *own =
		type ? json_object_get(app_get(resources, APP_RES_PROCESS), type) : NULL;

	out->memory = app_get_str(own, APP_RES_MEMORY);
	if (!out->memory)
		out->memory = app_get_str(resources, APP_RES_MEMORY);
	out->cpu = app_get_str(own, APP_RES_CPU);
	if (!out->cpu)
		out->cpu = app_get_str(resources, APP_RES_CPU);
}

json_t *app_limits_ensure(json_t *appdoc, const char *type)
{
	json_t *res = app_ensure(appdoc, APP_RESOURCES), *procs, *own;

	if (!res || !type)
		return res;
	if (!(procs = app_ensure(res, APP_RES_PROCESS)))
		return NULL;
	own = json_object_get(procs, type);
	if (json_is_object(own))
		return own;
	own = json_object();
	if (!own || json_object_set_new(procs, type, own) < 0) {
		err_set("out of memory");
		return NULL;
	}
	return own;
}
