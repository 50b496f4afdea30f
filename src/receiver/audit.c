/* audit.c - the audit log of everything run over ssh: time, key, command, exit. */
#include "receiver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#define AUDIT_LINE_MAX  8192
#define AUDIT_READ_MAX  (64u << 20)

static int audit_path(struct buf *out)
{
	return buf_addf(out, "%s/audit.log", wharf_root());
}

/* Appends word to out, quoted the way receiver_split_words() reads it back when
 * it holds anything but plain characters. */
static int add_word(struct buf *out, const char *w)
{
	static const char plain[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789_-.,:/=@%+*";
	const char *q;

	if (out->len && buf_addch(out, ' ') < 0)
		return -1;
	if (*w && strspn(w, plain) == strlen(w))
		return buf_addstr(out, w);
	if (buf_addch(out, '\'') < 0)
		return -1;
	for (; (q = strchr(w, '\'')); w = q + 1)
		if (buf_add(out, w, (size_t)(q - w)) < 0 || buf_addstr(out, "'\\''") < 0)
			return -1;
	return buf_addstr(out, w) < 0 || buf_addch(out, '\'') < 0 ? -1 : 0;
}

int receiver_audit_mask(struct buf *out, const char *command)
{
	char **argv = NULL;
	int argc = 0, i = 0, ret = -1;

	if (!strstr(command, "config:"))
		return buf_addstr(out, command);
	if (receiver_split_words(&argv, &argc, command) < 0) {
		/* Refused before it ran, but it may still hold a value: keep only
		 * what comes before the first '='. */
		const char *eq = strchr(command, '=');
		err_clear();
		return eq ? buf_add(out, command, (size_t)(eq - command + 1)) < 0 ? -1
			  : buf_addstr(out, "***")
			  : buf_addstr(out, command);
	}
	while (i < argc && argv[i][0] == '-')
		i += !strcmp(argv[i], "--app") ? 2 : 1;
	if (i >= argc || strncmp(argv[i], "config:", 7)) {
		ret = buf_addstr(out, command);
		goto out;
	}
	for (i = 0; i < argc; i++) {
		const char *eq = strchr(argv[i], '=');
		if (argv[i][0] != '-' && eq) {
			/* KEY=VALUE: the key is kept, the value never written. */
			argv[i][eq - argv[i] + 1] = '\0';
			if (add_word(out, argv[i]) < 0 || buf_addstr(out, "***") < 0)
				goto out;
		} else if (add_word(out, argv[i]) < 0) {
			goto out;
		}
	}
	ret = 0;
out:
	receiver_words_free(argv);
	return ret;
}

int receiver_audit_append(const char *key, const char *command, int exit_code)
{
	struct buf p = BUF_INIT, now = BUF_INIT, cut = BUF_INIT, cmd = BUF_INIT;
	json_t *rec = NULL;
	char *line = NULL;
	size_t len;
	int fd = -1, ret = -1;

	/* A command of megabytes is recorded cut, not refused: the record matters.
	 * Config values are masked (config:set app KEY=***). */
	if (buf_add(&cut, command ? command : "", command ? strnlen(command, 4096) : 0) < 0 ||
	    receiver_audit_mask(&cmd, cut.buf) < 0 || state_now(&now) < 0 || audit_path(&p) < 0)
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
	fd = open(p.buf, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		fchmod(fd, 0600);       /* a log an older wharf made 0640 */
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
	buf_release(&cut);
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
			err_clear();    /* handled: no log yet is an empty log */
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
