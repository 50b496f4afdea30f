/* meta.c - plugin and trigger names, and a plugin's metadata from plugin.toml
 * (a tiny parser for the three keys wharf reads) or plugin.json. */
#include "plugins.h"

#include <string.h>

#define META_MAX (64u << 10)

static int valid_word(const char *what, const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (!n)
		return err_set("a %s name is required", what);
	if (n > PLUGIN_NAME_MAX)
		return err_set("%s name is too long (%zu characters, at most %d)", what, n,
			       PLUGIN_NAME_MAX);
	for (i = 0; i < n; i++) {
		char c = s[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			 (i && (c == '-' || c == '_'));
		if (!ok)
			return err_set("invalid %s name '%s': use lowercase letters, digits, "
				       "'-' and '_', starting with a letter or digit",
				       what, s);
	}
	return 0;
}

int plugins_valid_name(const char *name)
{
	return valid_word("plugin", name);
}

int plugins_valid_trigger(const char *trigger)
{
	return valid_word("trigger", trigger);
}

/* Where a known key's value goes, or NULL for a key wharf ignores. */
static char *meta_slot(struct plugin_meta *m, const char *key, size_t klen, size_t *cap)
{
	if (klen == 4 && !memcmp(key, "name", 4)) {
		*cap = sizeof(m->name);
		return m->name;
	}
	if (klen == 7 && !memcmp(key, "version", 7)) {
		*cap = sizeof(m->version);
		return m->version;
	}
	if (klen == 11 && !memcmp(key, "description", 11)) {
		*cap = sizeof(m->description);
		return m->description;
	}
	if (klen == 17 && !memcmp(key, "deployer_commands", 17)) {
		*cap = sizeof(m->deployer_commands);
		return m->deployer_commands;
	}
	return NULL;
}

static int is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* Parses one TOML string starting at p[0] (a quote) into val; *end gets the
 * position after the closing quote. Basic strings know \" \\ \n \t \r; other
 * escapes (\uXXXX …) are refused rather than half-understood. */
static int toml_string(struct buf *val, const char *p, const char *lim, const char **end,
		       int lineno)
{
	char q = *p++;

	while (p < lim && *p != q) {
		char c = *p;
		if ((unsigned char)c < 0x20 || c == 0x7f)
			return err_set("plugin.toml line %d: control character in a string",
				       lineno);
		if (q == '"' && c == '\\') {
			if (++p >= lim)
				break;
			switch (*p) {
			case '"':
				c = '"';
				break;
			case '\\':
				c = '\\';
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'r':
				c = '\r';
				break;
			default:
				return err_set("plugin.toml line %d: unsupported escape '\\%c'",
					       lineno, *p >= 0x20 && *p < 0x7f ? *p : '?');
			}
		}
		if (buf_addch(val, c) < 0)
			return -1;
		p++;
	}
	if (p >= lim)
		return err_set("plugin.toml line %d: unterminated string", lineno);
	if (p + 2 < lim && p[1] == q && p[2] == q)
		return err_set("plugin.toml line %d: multi-line strings are not supported", lineno);
	*end = p + 1;
	return 0;
}

/* One line (without its newline): blank, comment, table header, or key = value. */
static int toml_line(struct plugin_meta *m, const char *p, const char *lim, int lineno,
		     int *in_table)
{
	struct buf val = BUF_INIT;
	const char *key, *end = lim;
	size_t klen, cap;
	char *slot;
	int ret = -1;

	while (p < lim && (*p == ' ' || *p == '\t'))
		p++;
	if (p == lim || *p == '#')
		return 0;
	if (*p == '[') {
		/* Tables are for the plugin's own use; wharf reads the top level only. */
		*in_table = 1;
		return 0;
	}
	key = p;
	while (p < lim && is_key_char(*p))
		p++;
	klen = (size_t)(p - key);
	while (p < lim && (*p == ' ' || *p == '\t'))
		p++;
	if (!klen || p == lim || *p != '=')
		return err_set("plugin.toml line %d: expected `key = \"value\"`", lineno);
	for (p++; p < lim && (*p == ' ' || *p == '\t'); p++)
		;
	slot = *in_table ? NULL : meta_slot(m, key, klen, &cap);
	if (p < lim && (*p == '"' || *p == '\'')) {
		buf_init(&val, META_MAX);
		if (toml_string(&val, p, lim, &end, lineno) < 0)
			goto out;
		for (p = end; p < lim && (*p == ' ' || *p == '\t'); p++)
			;
		if (p < lim && *p != '#') {
			err_set("plugin.toml line %d: unexpected text after the string", lineno);
			goto out;
		}
	} else if (slot) {
		err_set("plugin.toml line %d: %.*s must be a string", lineno, (int)klen, key);
		goto out;
	}
	/* Values of keys wharf ignores (numbers, arrays on one line …) are skipped. */
	if (slot) {
		if (val.len >= cap || memchr(val.buf, '\0', val.len)) {
			err_set("plugin.toml line %d: %.*s is too long (at most %zu bytes)", lineno,
				(int)klen, key, cap - 1);
			goto out;
		}
		memcpy(slot, val.buf, val.len + 1);
	}
	ret = 0;
out:
	buf_release(&val);
	return ret;
}

int plugin_toml_parse(struct plugin_meta *out, const char *text, size_t len)
{
	const char *p = text, *lim = text + len;
	int lineno = 0, in_table = 0;

	memset(out, 0, sizeof(*out));
	if (len > META_MAX)
		return err_set("plugin.toml is larger than %u bytes", META_MAX);
	while (p < lim) {
		const char *nl = memchr(p, '\n', (size_t)(lim - p));
		const char *eol = nl ? nl : lim;
		lineno++;
		if (eol > p && eol[-1] == '\r')
			eol--;
		if (toml_line(out, p, eol, lineno, &in_table) < 0)
			return -1;
		p = nl ? nl + 1 : lim;
	}
	return 0;
}

int plugin_json_parse(struct plugin_meta *out, const char *text, size_t len)
{
	static const char *const keys[] = { "name", "version", "description", "deployer_commands",
					    NULL };
	json_error_t e;
	json_t *j;
	int i, ret = -1;

	memset(out, 0, sizeof(*out));
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		return err_set("plugin.json line %d: %s", e.line, e.text);
	if (!json_is_object(j)) {
		err_set("plugin.json must hold an object");
		goto out;
	}
	for (i = 0; keys[i]; i++) {
		json_t *v = json_object_get(j, keys[i]);
		size_t cap;
		char *slot = meta_slot(out, keys[i], strlen(keys[i]), &cap);
		if (!v)
			continue;
		if (!json_is_string(v) || json_string_length(v) >= cap ||
		    strlen(json_string_value(v)) != json_string_length(v)) {
			err_set("plugin.json: %s must be a string of at most %zu bytes", keys[i],
				cap - 1);
			goto out;
		}
		memcpy(slot, json_string_value(v), json_string_length(v) + 1);
	}
	ret = 0;
out:
	json_decref(j);
	return ret;
}

int plugin_meta_load(struct plugin_meta *out, const char *dir)
{
	struct buf p = BUF_INIT, text = BUF_INIT;
	int ret = -1, toml;

	memset(out, 0, sizeof(*out));
	if (buf_addf(&p, "%s/plugin.toml", dir) < 0)
		goto out;
	toml = fs_exists(p.buf);
	if (!toml) {
		buf_reset(&p);
		if (buf_addf(&p, "%s/plugin.json", dir) < 0)
			goto out;
		if (!fs_exists(p.buf)) {
			ret = 0;
			goto out;
		}
	}
	if (fs_read_regular(p.buf, &text, META_MAX) < 0)
		goto out;
	if ((toml ? plugin_toml_parse(out, text.buf, text.len)
		  : plugin_json_parse(out, text.buf, text.len)) < 0)
		goto out;
	if (out->name[0] && plugins_valid_name(out->name) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&p);
	buf_release(&text);
	return ret;
}
