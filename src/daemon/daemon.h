/* src/daemon/daemon.h - public interface of the wharf daemon (`wharf daemon`):
 * the one long-running wharf process besides the router, one per WHARF_ROOT,
 * that runs timed jobs from a table: every app's cron entries, certificate
 * renewal, and whatever a part adds. Jobs are ticks of the daemon's minute loop;
 * long work runs in a child process (daemon_spawn()), so one slow job never
 * delays another. */
#ifndef WHARF_DAEMON_H
#define WHARF_DAEMON_H

#include "common.h"

struct daemon; /* opaque: the running daemon (its log, its children) */

/* A job's tick: called in the daemon at each minute (epoch seconds, a multiple
 * of 60, UTC) its schedule matches. It must return within seconds: real work
 * goes to daemon_spawn(). < 0 (after err_set()) is logged; the daemon goes on. */
typedef int daemon_job_fn(struct daemon *d, long long minute, void *data);

/* One row of the job table. */
struct daemon_job {
	const char *name;     /* in the log and in `wharf daemon --jobs`: "cron" */
	const char *schedule; /* cron syntax (src/common/cron.c): when fn runs */
	daemon_job_fn *fn;    /* NULL: the slot is there but disabled */
	void *data;           /* given to fn */
};

/* The job table (src/daemon/jobs.c), ended by a row with name NULL. Adding a job
 * is adding a row there: see docs/cron.md, "Adding a job to the daemon". */
extern const struct daemon_job daemon_jobs[];

/* A job that runs one wharf command (data: a NULL-terminated argv without
 * "wharf", e.g. (const char *[]){ "letsencrypt:auto-renew", NULL }) through
 * daemon_spawn(), its output into the daemon's log; skipped while the previous
 * run of the same command still runs. */
daemon_job_fn daemon_job_wharf;

struct daemon_opts {
	const char *self_exe; /* the wharf binary the children run (cli_self_exe()) */
	const char *log_path; /* NULL: <root>/daemon/daemon.log */
	int once; /* run the current minute's jobs, wait for the children, exit (tests) */
};
#define DAEMON_OPTS_INIT            \
	{                           \
		.self_exe = "wharf" \
	}

/* Runs until SIGTERM or SIGINT (0), or fails to start (-1 with err_set()):
 * another daemon holds <root>/daemon/daemon.lock ("already running", with its
 * pid), or the log cannot be opened. Runs every job whose schedule matches the
 * current minute once per minute, the minute it starts in included; minutes
 * it was down for are not made up. Children it started keep running when it
 * stops (a cron run ends on its own; the next daemon does not run it twice).
 * SIGHUP reopens the log (after logrotate). */
int daemon_main(const struct daemon_opts *opts);

/* Starts `wharf argv…` (argv without "wharf") in its own session, stdin
 * /dev/null, stdout and stderr to out_fd (-1: the daemon's log). key names the
 * child: while a child with the same key runs, nothing starts and 0 is returned;
 * 1 when started. Its exit is logged with key when the daemon reaps it. */
int daemon_spawn(struct daemon *d, const char *key, const char *const *argv, int out_fd);

/* One line into the daemon's log and stderr: "<UTC time> wharf daemon: …". */
void daemon_log(struct daemon *d, const char *fmt, ...) WHARF_PRINTF(2, 3);

/* 1 in a `daemon --once` run (it waits for what its jobs start): a job that starts
 * something long-running starts one round of it instead. */
int daemon_once(const struct daemon *d);

/* 1 when a daemon runs for this WHARF_ROOT (*pid gets its pid, 0 if unknown),
 * 0 when none does, -1 on error. */
int daemon_running(long *pid);

#endif
