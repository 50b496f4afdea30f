/* envfile.c - config values in and out of text: shell quoting, the formats of
 * config:export, the parser behind config:import, base64 for config:set --encoded.
 * Pure functions (no state, no output), so unit tests link them alone. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define ENV_TEXT_MAX (4u << 20) /* an import larger than 4 MiB is refused */

int cli_shell_quote(struct buf *out, const char *s)
{
	if (buf_addch(out, '\'') < 0)
		return -1;
	for (; *s; s++) {
		/* The only character a single-quoted word cannot hold: close, escape, reopen. */
		if (*s == '\'' ? buf_addstr(out, "'\\''") < 0 : buf_addch(out, *s) < 0)
			return -1;
	}
	return buf_addch(out, '\'');
}

/* Double-quoted envfile value: \ " $ ` and newlines escaped, the rest as is. */
static int dq_quote(struct buf *out, const char *s)
{
	if (buf_addch(out, '"') < 0)
		return -1;
	for (; *s; s++) {
		int r;
		if (*s == '\n')
			r = buf_addstr(out, "\\n");
		else if (*s == '\r')
			r = buf_addstr(out, "\\r");
		else if (strchr("\\\"$`", *s))
			r = buf_addf(out, "\\%c", *s);
		else
			r = buf_addch(out, *s);
		if (r < 0)
			return -1;
	}
	return buf_addch(out, '"');
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **cli_env_sorted_keys(const json_t *env, size_t *n)
{
	const char **keys, *k;
	json_t *v;
	size_t i = 0;

	*n = json_object_size(env);
	keys = calloc(*n + 1, sizeof(*keys));
	if (!keys)
		return NULL;
	json_object_foreach((json_t *)env, k, v)
		keys[i++] = k;
	qsort(keys, *n, sizeof(*keys), cmp_key);
	return keys;
}

int cli_env_export(struct buf *out, const json_t *env, const char *format)
{
	const char **keys = NULL;
	json_t *list = NULL;
	char *dump = NULL;
	size_t i, n;
	int ret = -1, is_json = !strcmp(format, "json"), is_list = !strcmp(format, "json-list");

	if (!is_json && !is_list && strcmp(format, "shell") && strcmp(format, "exports") &&
	    strcmp(format, "envfile") && strcmp(format, "docker-args"))
		return err_set("unknown format '%s': use shell, exports, envfile, docker-args, "
			       "json or json-list",
			       format);
	keys = cli_env_sorted_keys(env, &n);
	if (!keys)
		return err_set("out of memory");
	if (is_list && !(list = json_array()))
		goto oom;
	for (i = 0; i < n; i++) {
		const char *v = json_str(env, keys[i], "");
		int r = 0;
		if (is_list) {
			r = json_array_append_new(list, json_pack("{s:s,s:s}", "name", keys[i],
								  "value", v));
		} else if (!strcmp(format, "shell") || !strcmp(format, "docker-args")) {
			r = buf_addf(out, "%s%s%s=", i ? " " : "", format[0] == 'd' ? "--env=" : "",
				     keys[i]);
			r = r < 0 ? r : cli_shell_quote(out, v);
		} else if (!strcmp(format, "exports")) {
			r = buf_addf(out, "export %s=", keys[i]);
			r = r < 0 ? r : cli_shell_quote(out, v);
			r = r < 0 ? r : buf_addch(out, '\n');
		} else if (!strcmp(format, "envfile")) {
			r = buf_addf(out, "%s=", keys[i]);
			r = r < 0 ? r : dq_quote(out, v);
			r = r < 0 ? r : buf_addch(out, '\n');
		}
		if (r < 0)
			goto oom;
	}
	if (is_json || is_list) {
		dump = json_dumps(is_json ? env : list, JSON_SORT_KEYS | JSON_COMPACT);
		if (!dump || buf_addf(out, "%s\n", dump) < 0)
			goto oom;
	} else if ((!strcmp(format, "shell") || !strcmp(format, "docker-args")) && n &&
		   buf_addch(out, '\n') < 0) {
		goto oom;
	}
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	free(dump);
	json_decref(list);
	free(keys);
	return ret;
}

/* One value: quoted and bare segments up to unquoted whitespace, as a shell
 * word (single quotes literal; double quotes with \n \r \" \\ \$ \` escapes, the
 * dotenv way; a backslash outside quotes takes the next character, and
 * backslash-newline continues the line). Never expands anything. */
static int parse_value(struct buf *val, const char **pp, const char *end, int line)
{
	const char *p = *pp;

	while (p < end && !strchr(" \t\r\n", *p)) {
		int r = 0;
		if (*p == '\'') {
			const char *q = memchr(p + 1, '\'', (size_t)(end - p - 1));
			if (!q)
				return err_set("line %d: unterminated single quote", line);
			r = buf_add(val, p + 1, (size_t)(q - p - 1));
			p = q + 1;
		} else if (*p == '"') {
			for (p++; p < end && *p != '"' && r == 0; p++) {
				if (*p != '\\' || p + 1 >= end) {
					r = buf_addch(val, *p);
					continue;
				}
				p++;
				if (*p == 'n')
					r = buf_addch(val, '\n');
				else if (*p == 'r')
					r = buf_addch(val, '\r');
				else if (strchr("\"\\$`", *p))
					r = buf_addch(val, *p);
				else if (*p == '\n')
					; /* line continuation */
				else
					r = buf_addf(val, "\\%c", *p);
			}
			if (p >= end)
				return err_set("line %d: unterminated double quote", line);
			p++;
		} else if (*p == '\\' && p + 1 < end) {
			if (p[1] != '\n')
				r = buf_addch(val, p[1]);
			p += 2;
		} else {
			r = buf_addch(val, *p++);
		}
		if (r < 0)
			return -1;
	}
	*pp = p;
	return 0;
}

static int line_of(const char *start, const char *p)
{
	int n = 1;
	for (; start < p; start++)
		n += *start == '\n';
	return n;
}

static int parse_envfile(json_t *vars, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	struct buf key = BUF_INIT, val = BUF_INIT;
	int ret = -1;

	for (;;) {
		const char *k;
		while (p < end && strchr(" \t\r\n", *p))
			p++;
		if (p >= end)
			break;
		if (*p == '#') {
			while (p < end && *p != '\n')
				p++;
			continue;
		}
		if (end - p > 7 && !strncmp(p, "export", 6) && (p[6] == ' ' || p[6] == '\t'))
			for (p += 6; p < end && (*p == ' ' || *p == '\t');)
				p++;
		if (end - p > 6 && !strncmp(p, "--env=", 6))
			p += 6; /* docker-args */
		for (k = p; p < end && *p != '=' && !strchr(" \t\r\n", *p);)
			p++;
		buf_reset(&key);
		buf_reset(&val);
		if (buf_add(&key, k, (size_t)(p - k)) < 0)
			goto out;
		if (p >= end || *p != '=') {
			err_set("line %d: expected KEY=VALUE", line_of(text, k));
			goto out;
		}
		if (memchr(key.buf, '\0', key.len) || valid_config_key(key.buf) < 0)
			goto out;
		p++;
		if (parse_value(&val, &p, end, line_of(text, k)) < 0)
			goto out;
		if (strlen(val.buf) != val.len) {
			err_set("line %d: the value of %s holds a NUL byte", line_of(text, k),
				key.buf);
			goto out;
		}
		json_object_set_new(vars, key.buf, json_string(val.buf));
	}
	ret = 0;
out:
	buf_release(&key);
	buf_release(&val);
	return ret;
}

int cli_env_parse(json_t **out, const char *text, size_t len)
{
	json_error_t jerr;
	json_t *v;
	const char *k, *p = text;
	int ret = -1;

	*out = NULL;
	if (len > ENV_TEXT_MAX)
		return err_set("the input is larger than %u bytes", ENV_TEXT_MAX);
	while (p < text + len && strchr(" \t\r\n", *p))
		p++;
	if (p < text + len && *p == '{') {
		*out = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
		if (!json_is_object(*out)) {
			err_set("invalid JSON at line %d: %s", jerr.line,
				*out ? "not an object" : jerr.text);
			goto out;
		}
		json_object_foreach(*out, k, v) {
			if (valid_config_key(k) < 0)
				goto out;
			if (!json_is_string(v) ||
			    strlen(json_string_value(v)) != json_string_length(v)) {
				err_set("the value of %s is not a string", k);
				goto out;
			}
		}
		return 0;
	}
	*out = json_object();
	if (!*out)
		return err_set("out of memory");
	if (parse_envfile(*out, text, len) < 0)
		goto out;
	ret = 0;
out:
	if (ret < 0) {
		json_decref(*out);
		*out = NULL;
	}
	return ret;
}

static int b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int cli_base64_decode(struct buf *out, const char *in)
{
	unsigned acc = 0;
	size_t start = out->len;
	int bits = 0, pad = 0;

	for (; *in; in++) {
		int v;
		if (*in == '=') {
			pad++;
			continue;
		}
		v = b64_val((unsigned char)*in);
		if (v < 0 || pad)
			goto bad;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (buf_addch(out, (int)((acc >> bits) & 0xff)) < 0)
				return -1;
		}
	}
	if (bits >= 6 || pad > 2)
		goto bad;
	if (memchr(out->buf + start, '\0', out->len - start))
		return err_set("a base64 value decodes to a NUL byte");
	return 0;
bad:
	buf_setlen(out, start);
	return err_set("invalid base64 value");
}
