/* json.c - JSON state files: load with limits, save atomically. */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAX_BYTES (64u << 20)

int json_load_object(json_t **out, const char *path, int missing_ok)
{
	struct buf raw = BUF_INIT;
	json_error_t jerr;
	json_t *obj = NULL;
	int ret = -1;

	*out = NULL;
	if (fs_read_file(path, &raw, STATE_MAX_BYTES) < 0) {
		if (errno == ENOENT && missing_ok) {
			*out = json_object();
			ret = *out ? 0 : err_set("out of memory");
		}
		goto out;
	}
	obj = json_loadb(raw.buf, raw.len, 0, &jerr);
	if (!obj) {
		err_set("'%s' is not valid JSON (line %d: %s)", path, jerr.line, jerr.text);
		goto out;
	}
	if (!json_is_object(obj)) {
		json_decref(obj);
		err_set("'%s' does not hold a JSON object", path);
		goto out;
	}
	*out = obj;
	ret = 0;
out:
	buf_release(&raw);
	return ret;
}

/* 0600: state holds config values, keys' roles and grants; only WHARF_ROOT's
 * owner (the wharf user) and root read it. */
int json_save_atomic(const char *path, const json_t *obj)
{
	char *text = json_dumps(obj, JSON_INDENT(2) | JSON_SORT_KEYS);
	struct buf b = BUF_INIT;
	int ret;

	if (!text)
		return err_set("cannot serialise state for '%s'", path);
	ret = buf_addstr(&b, text) < 0 || buf_addch(&b, '\n') < 0
		      ? -1
		      : fs_write_atomic(path, b.buf, b.len, 0600);
	free(text);
	buf_release(&b);
	return ret;
}

const char *json_str(const json_t *obj, const char *key, const char *def)
{
	json_t *v = json_object_get(obj, key);
	return json_is_string(v) ? json_string_value(v) : def;
}

long long json_int(const json_t *obj, const char *key, long long def)
{
	json_t *v = json_object_get(obj, key);
	return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

const char **json_str_vec(const json_t *arr)
{
	size_t i, n = json_array_size(arr);
	const char **v = calloc(n + 1, sizeof(*v));

	for (i = 0; v && i < n; i++)
		v[i] = json_string_value(json_array_get(arr, i));
	return v;
}

int json_env_add(json_t *env, const char *k, const char *v)
{
	struct buf kv = BUF_INIT;
	int ret = buf_addf(&kv, "%s=%s", k, v);

	if (ret == 0 && json_array_append_new(env, json_string(kv.buf)) < 0)
		ret = err_set("out of memory");
	buf_release(&kv);
	return ret;
}

int json_array_has_str(const json_t *arr, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && !strcmp(json_string_value(v), s))
			return 1;
	return 0;
}
