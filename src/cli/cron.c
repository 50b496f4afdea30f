/* cron.c - cron:list, cron:run, cron:report (an app's app.json cron entries, run
 * by `wharf daemon`), the hidden cron:exec a run is, and `daemon` itself. */
#include "cli.h"
#include "daemon/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* "2026-12-04T10:40:00Z", or "-" for 0. */
static const char *fmt_time(char *out, size_t n, long long t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!t || !gmtime_r(&tt, &tm) || !strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, n, "-");
	return out;
}

/* What cron:list and cron:report say of one entry. */
struct entry_view {
	char next[32], last[32], exit[16];
	int running;
};

static void view(struct entry_view *v, const char *app, const json_t *e, const json_t *state)
{
	const json_t *st = json_object_get(state, json_str(e, "id", ""));
	struct cron_expr ce;
	long long next = 0;

	if (cron_parse(&ce, json_str(e, "schedule", "")) < 0 ||
	    cron_next(&ce, (long long)time(NULL), &next) < 0)
		next = 0;
	fmt_time(v->next, sizeof(v->next), next);
	fmt_time(v->last, sizeof(v->last), json_int(st, "last_started", 0));
	v->running = deploy_cron_running(app, json_str(e, "id", "")) == 1;
	if (v->running)
		snprintf(v->exit, sizeof(v->exit), "running");
	else if (json_object_get(st, "last_exit"))
		snprintf(v->exit, sizeof(v->exit), "%lld", json_int(st, "last_exit", -1));
	else
		snprintf(v->exit, sizeof(v->exit), "-");
}

int cmd_cron_list(int argc, char **argv)
{
	struct cli_opts o;
	json_t *entries = NULL, *state = NULL, *out = NULL, *e;
	struct entry_view v;
	size_t i;
	int json, ret = -1;

	if (cli_opts_parse(&o, argc, argv, "--format", NULL) < 0 || cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos != 1)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0 || deploy_cron_entries(o.pos[0], &entries) < 0 ||
	    deploy_cron_state_load(o.pos[0], &state) < 0)
		goto out;
	if (json) {
		if (!(out = json_array()))
			goto oom;
		json_array_foreach(entries, i, e) {
			const json_t *st = json_object_get(state, json_str(e, "id", ""));
			view(&v, o.pos[0], e, state);
			if (json_array_append_new(
				    out,
				    json_pack("{s:O,s:O,s:O,s:s,s:O?,s:O?,s:b}", "id",
					      json_object_get(e, "id"), "schedule",
					      json_object_get(e, "schedule"), "command",
					      json_object_get(e, "command"), "next_run", v.next,
					      "last_run", json_object_get(st, "last_started"),
					      "last_exit", json_object_get(st, "last_exit"),
					      "running", v.running)) < 0)
				goto oom;
		}
		{
			char *text = json_dumps(out, JSON_INDENT(2));
			printf("%s\n", text ? text : "[]");
			free(text);
		}
		ret = 0;
		goto out;
	}
	if (!json_array_size(entries)) {
		say_detail("%s has no cron entries (app.json \"cron\" of its current release)",
			   o.pos[0]);
		ret = 0;
		goto out;
	}
	printf("%-12s  %-16s  %-20s  %-20s  %-9s  %s\n", "ID", "SCHEDULE", "NEXT RUN (UTC)",
	       "LAST RUN (UTC)", "LAST EXIT", "COMMAND");
	json_array_foreach(entries, i, e) {
		view(&v, o.pos[0], e, state);
		printf("%-12s  %-16s  %-20s  %-20s  %-9s  %s\n", json_str(e, "id", ""),
		       json_str(e, "schedule", ""), v.next, v.last, v.exit,
		       json_str(e, "command", ""));
	}
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	json_decref(entries);
	json_decref(state);
	json_decref(out);
	return ret;
}

/* cron:run's tee: each line of the run to the caller and to the entry's log. */
struct tee {
	int log_fd;
};

static void tee_line(int stream, const char *line, size_t len, void *data)
{
	struct tee *t = data;
	FILE *f = stream == 2 ? stderr : stdout;

	fwrite(line, 1, len, f);
	fputc('\n', f);
	fflush(f);
	if (t->log_fd >= 0 && (write(t->log_fd, line, len) < 0 || write(t->log_fd, "\n", 1) < 0))
		t->log_fd = -1; /* the log is best effort; the caller still sees the run */
}

int cmd_cron_run(int argc, char **argv)
{
	struct cli_opts o;
	struct proc_opts po = PROC_OPTS_INIT;
	struct buf self = BUF_INIT;
	struct tee t = { -1 };
	json_t *entries = NULL;
	const char *args[5];
	int ret = -1;

	if (cli_opts_parse(&o, argc, argv, "", NULL) < 0)
		return -1;
	if (o.npos != 2)
		return cli_usage(argv[0]);
	if (cli_opts_app(&o, 1) < 0 || deploy_cron_entries(o.pos[0], &entries) < 0 ||
	    !deploy_cron_find(entries, o.pos[0], o.pos[1]) || cli_self_exe(&self) < 0 ||
	    (t.log_fd = deploy_cron_log_open(o.pos[0], o.pos[1])) < 0)
		goto out;
	say_step("Running cron entry %s of %s", o.pos[1], o.pos[0]);
	/* The run is `wharf cron:exec` as the daemon starts it, its output copied
	 * both here and to the entry's log, where scheduled runs write theirs. */
	args[0] = self.buf;
	args[1] = "cron:exec";
	args[2] = o.pos[0];
	args[3] = o.pos[1];
	args[4] = NULL;
	po.argv = args;
	po.in = PROC_NULL;
	po.out = po.err = PROC_LINES;
	po.on_line = tee_line;
	po.data = &t;
	ret = proc_run(&po);
out:
	if (t.log_fd >= 0)
		close(t.log_fd);
	json_decref(entries);
	buf_release(&self);
	return ret;
}

int cmd_cron_exec(int argc, char **argv)
{
	struct deploy_request r = DEPLOY_REQUEST_INIT;
	long long code;
	int busy;

	if (cli_need_app(argc, argv, 2, 1) < 0)
		return -1;
	if (argc != 3)
		return cli_usage(argv[0]);
	r.app = argv[1];
	r.why = "cron";
	if (deploy_cron_exec(&r, argv[2], &code, &busy) < 0)
		return -1;
	/* Its exit code is the command's, as `run`'s. */
	return code < 0 || code > 255 ? 1 : (int)code;
}

static int cron_report(const char *app, const char *flag, int json, json_t *all)
{
	struct buf title = BUF_INIT;
	json_t *entries = NULL, *state = NULL, *e;
	struct entry_view v;
	char count[16], running[16], last[32] = "-", lastexit[16] = "-", daemon[48];
	long long newest = 0;
	long pid;
	size_t i;
	int ret = -1, nrun = 0, d;

	if (deploy_cron_entries(app, &entries) < 0 || deploy_cron_state_load(app, &state) < 0 ||
	    buf_addf(&title, "%s cron information", app) < 0 || (d = daemon_running(&pid)) < 0)
		goto out;
	json_array_foreach(entries, i, e) {
		const json_t *st = json_object_get(state, json_str(e, "id", ""));
		view(&v, app, e, state);
		nrun += v.running;
		if (json_int(st, "last_started", 0) > newest) {
			newest = json_int(st, "last_started", 0);
			snprintf(lastexit, sizeof(lastexit), "%s", v.exit);
		}
	}
	fmt_time(last, sizeof(last), newest);
	snprintf(count, sizeof(count), "%zu", json_array_size(entries));
	snprintf(running, sizeof(running), "%d", nrun);
	if (d)
		snprintf(daemon, sizeof(daemon), "running (pid %ld)", pid);
	else
		snprintf(daemon, sizeof(daemon), "not running");
	{
		struct cli_report_row rows[] = {
			{ "Cron task count", count }, { "Cron running", running },
			{ "Cron last run", last },    { "Cron last exit", lastexit },
			{ "Cron daemon", daemon },
		};
		size_t n = sizeof(rows) / sizeof(rows[0]);
		ret = cli_report_app(all, app, title.buf, rows, n, flag, json);
	}
out:
	json_decref(entries);
	json_decref(state);
	buf_release(&title);
	return ret;
}

int cmd_cron_report(int argc, char **argv)
{
	return cli_report_family(argc, argv, "--cron-", cron_report);
}

int cmd_daemon(int argc, char **argv)
{
	struct daemon_opts opts = DAEMON_OPTS_INIT;
	struct buf self = BUF_INIT;
	int i, ret;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--once"))
			opts.once = 1;
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			opts.log_path = argv[++i];
		else
			return cli_usage(argv[0]);
	}
	if (cli_self_exe(&self) < 0)
		return -1;
	opts.self_exe = self.buf;
	ret = daemon_main(&opts);
	buf_release(&self);
	return ret;
}

/* The last `tail` lines of text. */
static const char *last_lines(const char *text, size_t len, int tail)
{
	const char *p = text + len;

	if (len && p[-1] == '\n')
		p--;
	while (p > text && tail > 0)
		if (*--p == '\n' && --tail == 0)
			return p + 1;
	return text;
}

int cli_cron_logs(const char *app, const char *id, int tail)
{
	json_t *entries = NULL, *e;
	struct buf path = BUF_INIT, text = BUF_INIT;
	size_t i;
	int ret = -1, shown = 0;

	if (deploy_cron_entries(app, &entries) < 0)
		goto out;
	json_array_foreach(entries, i, e) {
		const char *eid = json_str(e, "id", "");
		if (id && strcmp(id, eid))
			continue;
		buf_reset(&path);
		buf_reset(&text);
		if (deploy_cron_log_path(&path, app, eid) < 0)
			goto out;
		if (!fs_exists(path.buf))
			continue;
		if (fs_read_regular(path.buf, &text, 4u << 20) < 0)
			goto out;
		fputs(last_lines(text.buf, text.len, tail), stdout);
		shown++;
	}
	if (!shown) {
		err_set("%s has no cron output yet (see `wharf cron:list %s`)", app, app);
		goto out;
	}
	fflush(stdout);
	ret = 0;
out:
	json_decref(entries);
	buf_release(&path);
	buf_release(&text);
	return ret;
}
