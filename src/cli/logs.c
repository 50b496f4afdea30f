/* logs.c - `logs <app> [-t] [-n N] [-p PROCESS] [--since WHEN]`: the app's
 * containers' output; logs:failed (the last failed deploy's output); logs:set and
 * logs:report (Docker's log rotation of the app's containers). */
#include "cli.h"
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int print_chunk(int stream, const char *data, size_t len, void *unused)
{
	(void)unused;
	fwrite(data, 1, len, stream == 2 ? stderr : stdout);
	fflush(stream == 2 ? stderr : stdout);
	return 0;
}

/* The router's per-app access logs (`wharf router --access-log-dir`): `make up`
 * starts it with <root>/router-logs, read here. */
#define ROUTER_LOG_READ_MAX (8u << 20) /* of each file: the newest part */

/* Appends the newest ROUTER_LOG_READ_MAX bytes of path (a missing file is empty); at
 * (may be NULL) gets the file's identity and the offset read up to, where a follower
 * goes on from. */
struct log_pos {
	dev_t dev;
	ino_t ino;
	off_t off;
};

static int read_tail(const char *path, struct buf *out, struct log_pos *at)
{
	char chunk[65536];
	struct stat st;
	off_t from, end;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return errno == ENOENT ? 0 : err_set_errno("cannot read %s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return err_set("%s is not a file", path);
	}
	from = st.st_size > (off_t)ROUTER_LOG_READ_MAX ? st.st_size - ROUTER_LOG_READ_MAX : 0;
	if (lseek(fd, from, SEEK_SET) < 0) {
		close(fd);
		return err_set_errno("cannot read %s", path);
	}
	end = from;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (buf_add(out, chunk, (size_t)n) < 0)
			break;
		end += n;
	}
	close(fd);
	if (at)
		*at = (struct log_pos){ st.st_dev, st.st_ino, end };
	/* A cut first line is dropped. */
	if (from > 0) {
		char *nl = memchr(out->buf, '\n', out->len);
		buf_remove_front(out, nl ? (size_t)(nl - out->buf) + 1 : out->len);
	}
	return 0;
}

/* Prints what is appended to path from at on, as the router flushes it (every second),
 * until the reader goes (a write fails) or the command is stopped. When the file is
 * rotated (another inode at path, or a shorter file), the new one is read from its start. */
static int follow_file(const char *path, struct log_pos at)
{
	const struct timespec pause = { 0, 500 * 1000000L };
	char chunk[65536];

	for (;;) {
		struct stat st;
		ssize_t n;
		int fd;
		struct pollfd out = { .fd = STDOUT_FILENO, .events = POLLOUT };

		/* A reader that went away (ssh closed) shows as an error on our end. */
		if (fflush(stdout) == EOF || ferror(stdout) ||
		    (poll(&out, 1, 0) > 0 && (out.revents & (POLLERR | POLLHUP | POLLNVAL))))
			return 0;
		nanosleep(&pause, NULL);
		if (stat(path, &st) < 0)
			continue; /* between rotation's rename and the router's next line */
		if (st.st_dev != at.dev || st.st_ino != at.ino || st.st_size < at.off)
			at = (struct log_pos){ st.st_dev, st.st_ino, 0 };
		if (st.st_size == at.off)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			continue;
		if (lseek(fd, at.off, SEEK_SET) == at.off)
			while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
				if (fwrite(chunk, 1, (size_t)n, stdout) != (size_t)n) {
					close(fd);
					return 0;
				}
				at.off += n;
			}
		close(fd);
	}
}

/* `logs <app> -p router`: the app's access log lines (the rotated file's, then
 * the current one's) from since (seconds since 1970; 0: all), the last tail
 * of them (< 0: all); with follow, then what the router appends. */
static int router_logs(const char *app, int tail, long long since, int follow)
{
	struct log_pos at = { 0 };
	struct buf dir = BUF_INIT, p = BUF_INIT, text = BUF_INIT;
	size_t i, start;
	int ret = -1;

	if (buf_addf(&dir, "%s/router-logs", wharf_root()) < 0)
		goto out;
	if (!fs_is_dir(dir.buf)) {
		err_set("the router keeps no per-app access logs: start it with --access-log-dir "
			"%s",
			dir.buf);
		goto out;
	}
	if (buf_addf(&p, "%s/%s.log.1", dir.buf, app) < 0 || read_tail(p.buf, &text, NULL) < 0)
		goto out;
	buf_reset(&p);
	if (buf_addf(&p, "%s/%s.log", dir.buf, app) < 0 || read_tail(p.buf, &text, &at) < 0)
		goto out;
	if (since > 0) {
		/* Lines start with their ISO-8601 UTC time: they compare as strings. */
		time_t t = (time_t)since;
		struct tm tm;
		char when[32];
		size_t keep = text.len;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		for (i = 0; i < text.len;) {
			char *nl = memchr(text.buf + i, '\n', text.len - i);
			if (strncmp(text.buf + i, when, strlen(when)) >= 0) {
				keep = i;
				break;
			}
			i = nl ? (size_t)(nl - text.buf) + 1 : text.len;
		}
		buf_remove_front(&text, keep);
	}
	/* The last tail lines: back from the end (its own newline aside) until the
	 * tail-th newline. */
	start = 0;
	if (tail >= 0) {
		size_t seen = 0;
		i = text.len && text.buf[text.len - 1] == '\n' ? text.len - 1 : text.len;
		while (i > 0 && !(text.buf[i - 1] == '\n' && ++seen == (size_t)tail))
			i--;
		start = tail == 0 ? text.len : i;
	}
	fwrite(text.buf + start, 1, text.len - start, stdout);
	ret = follow ? follow_file(p.buf, at) : 0;
out:
	buf_release(&dir);
	buf_release(&p);
	buf_release(&text);
	return ret;
}

int cmd_logs(int argc, char **argv)
{
	struct scheduler *sched = NULL;
	struct sched_procs procs = SCHED_PROCS_INIT;
	size_t i;
	const char *process = NULL, *since_arg = NULL;
	long long since = 0;
	int follow = 0, tail = 100, n, n_given = 0, ret = -1, shown = 0;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	for (n = 2; n < argc; n++) {
		if (!strcmp(argv[n], "-t") || !strcmp(argv[n], "--tail"))
			follow = 1;
		else if ((!strcmp(argv[n], "-n") || !strcmp(argv[n], "--num")) && n + 1 < argc &&
			 strspn(argv[n + 1], "0123456789") == strlen(argv[n + 1]) && *argv[n + 1] &&
			 strlen(argv[n + 1]) < 7)
			tail = atoi(argv[++n]), n_given = 1;
		else if ((!strcmp(argv[n], "-p") || !strcmp(argv[n], "--ps")) && n + 1 < argc)
			process = argv[++n];
		else if ((!strcmp(argv[n], "-s") || !strcmp(argv[n], "--since")) && n + 1 < argc)
			since_arg = argv[++n];
		else
			return cli_usage(argv[0]);
	}
	/* Durations and times become Docker's seconds since 1970 here. */
	if (since_arg && time_parse_since(since_arg, (long long)time(NULL), &since) < 0)
		return -1;
	/* --since without -n means every line since then. */
	if (since_arg && !n_given)
		tail = -1;
	/* The router's access log of the app ("router" names no process type here). */
	if (process && !strcmp(process, "router"))
		return router_logs(argv[1], tail, since, follow);
	if (process &&
	    (!*process || strlen(process) > 63 ||
	     strspn(process, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		     strlen(process)))
		return err_set("invalid process type '%s'", process);
	/* Cron runs are gone once they end: their output is kept in files (cron.c). */
	if (process && !strcmp(process, "cron"))
		return cli_cron_logs(argv[1], NULL, tail);
	if (scheduler_new(&sched, NULL) < 0 || scheduler_list(sched, argv[1], &procs) < 0)
		goto out;
	for (i = 0; i < procs.n; i++) {
		const struct sched_proc *p = &procs.v[i];
		if (strcmp(p->state, "running") || (process && strcmp(p->type, process)))
			continue;
		shown++;
		/* With several processes, follow only the newest (the list is newest first). */
		if (scheduler_logs_since(sched, p->id, follow && shown == 1, tail, since,
					 print_chunk, NULL) < 0)
			goto out;
		if (follow)
			break;
	}
	if (!shown && process) {
		err_set("%s has no running %s containers", argv[1], process);
		goto out;
	}
	if (!shown) {
		err_set("%s has no running containers; push to deploy it", argv[1]);
		goto out;
	}
	ret = 0;
out:
	sched_procs_release(&procs);
	scheduler_free(sched);
	return ret;
}

/* ---- logs:failed ------------------------------------------------------------------ */

int cmd_logs_failed(int argc, char **argv)
{
	struct buf path = BUF_INIT, text = BUF_INIT;
	int ret = -1;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	if (argc != 2)
		return cli_usage(argv[0]);
	if (deploy_failed_log_path(&path, argv[1]) < 0)
		goto out;
	if (fs_read_file(path.buf, &text, 2 * DEPLOY_FAILED_LOG_MAX) < 0) {
		if (errno == ENOENT)
			err_set("%s has no failed deploy on record", argv[1]);
		goto out;
	}
	fwrite(text.buf, 1, text.len, stdout);
	ret = 0;
out:
	buf_release(&path);
	buf_release(&text);
	return ret;
}

/* ---- logs:set, logs:report ---------------------------------------------------------- */

struct log_change {
	enum app_key key;
	const char *value; /* NULL: unset */
};

static int change_logs(const char *app, json_t *doc, void *data)
{
	const struct log_change *c = data;
	json_t *logs;

	(void)app;
	if (!(logs = app_ensure(doc, APP_LOGS)))
		return -1;
	if (app_set_str(logs, c->key, c->value) < 0)
		return -1;
	if (!json_object_size(logs))
		app_unset(doc, APP_LOGS);
	return 1;
}

int cmd_logs_set(int argc, char **argv)
{
	struct cli_opts o;
	struct log_change c = { 0 };
	const char *prop;
	long long bytes;
	int files, npos_app;

	if (cli_opts_parse(&o, argc, argv, "--global", NULL) < 0)
		return -1;
	npos_app = o.global ? 0 : 1;
	if (o.npos < npos_app + 1 || o.npos > npos_app + 2)
		return cli_usage(argv[0]);
	if (!o.global && cli_opts_app(&o, 1) < 0)
		return -1;
	prop = o.pos[npos_app];
	c.value = o.npos == npos_app + 2 ? o.pos[npos_app + 1] : NULL;
	if (!strcmp(prop, "max-size")) {
		c.key = APP_LOG_MAX_SIZE;
		if (c.value && deploy_log_max_size_parse(c.value, &bytes) < 0)
			return -1;
	} else if (!strcmp(prop, "max-file")) {
		c.key = APP_LOG_MAX_FILE;
		if (c.value && deploy_log_max_file_parse(c.value, &files) < 0)
			return -1;
	} else {
		return err_set("unknown logs property '%s': max-size or max-file", prop);
	}
	if ((o.global ? app_global_update(change_logs, &c)
		      : app_update(o.pos[0], change_logs, &c)) < 0)
		return -1;
	if (c.value)
		say_step("Setting %s to %s%s", prop, c.value, o.global ? " for every app" : "");
	else
		say_step("Unsetting %s%s", prop, o.global ? " for every app" : "");
	say_detail("applies to containers made from the next deploy (ps:restart %s)",
		   o.global ? "<app>" : o.pos[0]);
	return 0;
}

static int logs_report(const char *app, const char *flag, int json, json_t *all)
{
	struct buf title = BUF_INIT, size = BUF_INIT, files = BUF_INIT;
	json_t *doc = NULL, *global = NULL;
	const json_t *own, *g;
	struct cli_report_row rows[6];
	int ret = -1;

	if (app_load(app, &doc) < 0 || app_global_load(&global) < 0 ||
	    buf_addf(&title, "%s logs information", app) < 0 ||
	    deploy_log_settings(doc, global, &size, &files) < 0)
		goto out;
	own = app_get(doc, APP_LOGS);
	g = app_get(global, APP_LOGS);
	/* Each value three times, as Dokku's reports: the app's, the global, the one
	 * that applies. */
	rows[0] = (struct cli_report_row){ "Logs max size",
					   app_get_str_or(own, APP_LOG_MAX_SIZE, "") };
	rows[1] = (struct cli_report_row){ "Logs global max size",
					   app_get_str_or(g, APP_LOG_MAX_SIZE, "") };
	rows[2] = (struct cli_report_row){ "Logs computed max size",
					   app_get_str_or(own, APP_LOG_MAX_SIZE,
							  app_get_str_or(g, APP_LOG_MAX_SIZE,
									 DOCKER_LOG_MAX_SIZE)) };
	rows[3] = (struct cli_report_row){ "Logs max file",
					   app_get_str_or(own, APP_LOG_MAX_FILE, "") };
	rows[4] = (struct cli_report_row){ "Logs global max file",
					   app_get_str_or(g, APP_LOG_MAX_FILE, "") };
	rows[5] = (struct cli_report_row){ "Logs computed max file",
					   app_get_str_or(own, APP_LOG_MAX_FILE,
							  app_get_str_or(g, APP_LOG_MAX_FILE,
									 DOCKER_LOG_MAX_FILE)) };
	ret = cli_report_app(all, app, title.buf, rows, 6, flag, json);
out:
	json_decref(doc);
	json_decref(global);
	buf_release(&title);
	buf_release(&size);
	buf_release(&files);
	return ret;
}

int cmd_logs_report(int argc, char **argv)
{
	return cli_report_family(argc, argv, "--logs-", logs_report);
}
