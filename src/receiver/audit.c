/* audit.c - the audit log of everything run over ssh: time, key, command, exit. */
#include "receiver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AUDIT_LINE_MAX  8192
#define AUDIT_READ_MAX  (64u << 20)

static int audit_path(struct buf *out)
{
	return buf_addf(out, "%s/audit.log", wharf_root());
}

int receiver_audit_append(const char *key, const char *command, int exit_code)
{
	struct buf p = BUF_INIT, now = BUF_INIT, cmd = BUF_INIT;
	json_t *rec = NULL;
	char *line = NULL;
	size_t len;
	int fd = -1, ret = -1;

	/* A command of megabytes is recorded cut, not refused: the record matters. */
	if (buf_add(&cmd, command ? command : "", command ? strnlen(command, 4096) : 0) < 0 ||
	    clock_utc_iso8601(&now) < 0 || audit_path(&p) < 0)
		goto out;
	rec = json_pack("{s:s,s:s,s:s%,s:i}", "time", now.buf, "key", key ? key : "",
			"command", cmd.buf, cmd.len, "exit", exit_code);
	line = rec ? json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII) : NULL;
	if (!line) {
		err_set("cannot encode an audit record");
		goto out;
	}
	len = strlen(line);
	line[len++] = '\n';   /* json_dumps' NUL becomes the newline: one write */
	fd = open(p.buf, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, line, len) != (ssize_t)len) {
		err_set_errno("cannot append to %s", p.buf);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(line);
	json_decref(rec);
	buf_release(&p);
	buf_release(&now);
	buf_release(&cmd);
	return ret;
}

int receiver_audit_read(json_t **out, size_t n)
{
	struct buf p = BUF_INIT, text = BUF_INIT;
	char *cur, *next;
	int ret = -1;

	*out = json_array();
	if (audit_path(&p) < 0)
		goto out;
	if (fs_read_file(p.buf, &text, AUDIT_READ_MAX) < 0) {
		if (errno == ENOENT) {
			err_clear();
			ret = 0;
		}
		goto out;
	}
	for (cur = text.buf; *cur; cur = next) {
		json_t *rec;
		next = strchr(cur, '\n');
		if (next)
			*next++ = '\0';
		else
			next = cur + strlen(cur);
		rec = json_loads(cur, 0, NULL);
		if (json_is_object(rec))
			json_array_append(*out, rec);
		json_decref(rec);
		if (n && json_array_size(*out) > n)
			json_array_remove(*out, 0);
	}
	ret = 0;
out:
	buf_release(&p);
	buf_release(&text);
	return ret;
}
