/* src/build/procfile.c - parses a Procfile (`<type>: <command>` lines) into the
 * process types of a release. */
#include "build/internal.h"

#include <string.h>
#include <sys/stat.h>

/* Caps on untrusted input: a Procfile is a handful of short lines. */
#define BUILD__PROCFILE_MAX       ((size_t)64 << 10)
#define BUILD__PROCFILE_LINES_MAX 4096
#define BUILD__PROCFILE_TYPE_MAX  63

static int type_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static int blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/* Parses one line [p, p+len) (no newline, no '\r'); n is its number for messages. */
static int procfile_line(const char *p, size_t len, unsigned n, json_t *types)
{
	size_t i = 0, t0, t1, c0, c1;
	json_t *cmd;

	while (i < len && blank((unsigned char)p[i]))
		i++;
	if (i == len || p[i] == '#')
		return 0; /* blank line or comment */
	t0 = i;
	while (i < len && type_char((unsigned char)p[i]))
		i++;
	t1 = i;
	if (t1 == t0 || i >= len || p[i] != ':')
		return err_set("Procfile line %u: expected '<type>: <command>' with a type of "
			       "letters, digits, '_' or '-'",
			       n);
	if (t1 - t0 > BUILD__PROCFILE_TYPE_MAX)
		return err_set("Procfile line %u: the process type is longer than %d bytes", n,
			       BUILD__PROCFILE_TYPE_MAX);
	c0 = i + 1;
	while (c0 < len && blank((unsigned char)p[c0]))
		c0++;
	c1 = len;
	while (c1 > c0 && blank((unsigned char)p[c1 - 1]))
		c1--;
	if (c1 == c0)
		return err_set("Procfile line %u: process type '%.*s' has no command", n,
			       (int)(t1 - t0), p + t0);
	if (memchr(p + c0, '\0', c1 - c0))
		return err_set("Procfile line %u: the command contains a NUL byte", n);
	/* json_stringn() checks the command is UTF-8: it goes into JSON state. */
	if (!(cmd = json_stringn(p + c0, c1 - c0)))
		return err_set("Procfile line %u: the command is not valid UTF-8", n);
	{
		char type[BUILD__PROCFILE_TYPE_MAX + 1];
		memcpy(type, p + t0, t1 - t0);
		type[t1 - t0] = '\0';
		/* A later line for the same type wins, as with foreman and Heroku. */
		if (json_object_set_new(types, type, cmd) < 0)
			return err_set("out of memory");
	}
	return 0;
}

int build_procfile_parse(const char *text, size_t len, json_t **out)
{
	const char *cur = text, *end = text + len;
	json_t *types;
	unsigned n = 0;

	*out = NULL;
	if (len > BUILD__PROCFILE_MAX)
		return err_set("the Procfile is larger than %zu bytes", BUILD__PROCFILE_MAX);
	if (!(types = json_object()))
		return err_set("out of memory");
	if (len >= 3 && memcmp(cur, "\xEF\xBB\xBF", 3) == 0)
		cur += 3; /* a UTF-8 byte order mark */
	while (cur < end) {
		const char *nl = memchr(cur, '\n', (size_t)(end - cur));
		size_t l = (size_t)((nl ? nl : end) - cur);

		if (l && cur[l - 1] == '\r')
			l--;
		if (++n > BUILD__PROCFILE_LINES_MAX) {
			json_decref(types);
			return err_set("the Procfile has more than %d lines",
				       BUILD__PROCFILE_LINES_MAX);
		}
		if (procfile_line(cur, l, n, types) < 0) {
			json_decref(types);
			return -1;
		}
		cur = nl ? nl + 1 : end;
	}
	*out = types;
	return 0;
}

int build_procfile_load(const char *dir, json_t **out)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	struct stat st;
	int ret = -1;

	*out = NULL;
	if (buf_addf(&path, "%s/Procfile", dir) < 0)
		goto out;
	/* lstat: a symlinked Procfile could point outside the pushed tree. */
	if (lstat(path.buf, &st) < 0 || !S_ISREG(st.st_mode)) {
		ret = 0;
		goto out;
	}
	if (fs_read_regular(path.buf, &text, BUILD__PROCFILE_MAX) < 0 ||
	    build_procfile_parse(text.buf, text.len, out) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&text);
	buf_release(&path);
	return ret;
}

int build_procfile_shell_processes(const json_t *types, json_t **out)
{
	const char *type;
	json_t *cmd;

	*out = NULL;
	if (!types)
		return 0;
	if (!(*out = json_object()))
		return err_set("out of memory");
	json_object_foreach((json_t *)types, type, cmd) {
		if (json_object_set_new(*out, type,
					json_pack("[s,s,s]", "/bin/sh", "-c",
						  json_string_value(cmd))) < 0) {
			json_decref(*out);
			*out = NULL;
			return err_set("out of memory");
		}
	}
	return 0;
}
