/* jobs.c - the daemon's job table, and the jobs wharf ships: every app's cron
 * entries, and the slot of certificate renewal. To add a job, add a row (see
 * docs/cron.md, "Adding a job to the daemon"). */
#include "daemon/daemon.h"
#include "app/app.h"
#include "deploy/deploy.h"
#include "plugins/plugins.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int daemon_job_wharf(struct daemon *d, long long minute, void *data)
{
	const char *const *argv = data;
	struct buf key = BUF_INIT;
	size_t i;
	int r;

	(void)minute;
	for (i = 0; argv[i]; i++)
		buf_addf(&key, "%s%s", i ? " " : "wharf ", argv[i]);
	r = daemon_spawn(d, key.buf, argv, -1);
	if (r == 0)
		daemon_log(d, "%s: the previous run still runs; this one is skipped", key.buf);
	buf_release(&key);
	return r < 0 ? -1 : 0;
}

/* The app's entries due this minute: each claimed in its cron.json (so a daemon
 * restarted within the minute does not run it again) and started as `wharf
 * cron:exec APP ID`, output appended to the entry's log. */
static void cron_app(struct daemon *d, const char *app, long long minute)
{
	json_t *entries = NULL, *e;
	struct cron_expr ce;
	size_t i;

	if (deploy_cron_entries(app, &entries) < 0) {
		daemon_log(d, "cron %s: %s", app, err_msg());
		return;
	}
	json_array_foreach(entries, i, e) {
		const char *id = json_str(e, "id", ""), *sched = json_str(e, "schedule", "");
		const char *argv[] = { "cron:exec", app, id, NULL };
		struct buf key = BUF_INIT;
		int fd, r;

		/* Checked at push; a release written by hand is checked again. */
		if (cron_parse(&ce, sched) < 0 || !cron_matches(&ce, minute))
			continue;
		buf_addf(&key, "cron %s %s", app, id);
		if (deploy_cron_running(app, id)) {
			daemon_log(d, "%s: the previous run still runs; this one is skipped",
				   key.buf);
		} else if ((r = deploy_cron_claim(app, id, minute)) == 0) {
			daemon_log(d, "%s: this minute's run was already started", key.buf);
		} else if (r < 0 || (fd = deploy_cron_log_open(app, id)) < 0) {
			daemon_log(d, "%s: %s", key.buf, err_msg());
		} else {
			if (daemon_spawn(d, key.buf, argv, fd) < 0)
				daemon_log(d, "%s: %s", key.buf, err_msg());
			close(fd);
		}
		buf_release(&key);
	}
	json_decref(entries);
}

static int job_cron(struct daemon *d, long long minute, void *data)
{
	json_t *apps = NULL, *v;
	size_t i;

	(void)data;
	if (app_list(&apps) < 0)
		return -1;
	json_array_foreach(apps, i, v)
		cron_app(d, json_string_value(v), minute);
	json_decref(apps);
	return 0;
}

/* The services plugin's scheduled backups (docs/services.md): `wharf services:cron`
 * runs those due this minute; nothing when the plugin is not enabled. */
static int job_services(struct daemon *d, long long minute, void *data)
{
	(void)data;
	if (plugins_enabled("services") != 1)
		return 0;
	return daemon_job_wharf(d, minute, (void *)(const char *const[]){ "services:cron", NULL });
}

/* The router follows the swarm's tasks (docs/cluster.md): on a cluster manager, the
 * long-running `wharf cluster:sync` is started, and started again the minute after it
 * died. daemon_job_wharf()'s key, without its line: that it still runs is the normal
 * case, not a skipped run worth a line a minute. */
static int job_cluster_sync(struct daemon *d, long long minute, void *data)
{
	static const char *const loop[] = { "cluster:sync", NULL };
	static const char *const round[] = { "cluster:sync", "--once", NULL };

	(void)data;
	(void)minute;
	if (deploy_cluster_manager() != 1)
		return 0;
	/* `daemon --once` waits for its children: one round, not the loop. */
	if (daemon_spawn(d, "wharf cluster:sync", daemon_once(d) ? round : loop, -1) < 0)
		return -1;
	return 0;
}

/* The registry's garbage collection (docs/cluster.md): on a cluster manager, `wharf
 * cluster:gc` frees the blobs of the manifests retention deleted. */
static int job_cluster_gc(struct daemon *d, long long minute, void *data)
{
	if (deploy_cluster_manager() != 1)
		return 0;
	return daemon_job_wharf(d, minute, data);
}

/* ---- the job table ---------------------------------------------------------------
 * name, schedule (UTC), function (NULL: disabled), data. Rows run in this order
 * each minute their schedule matches. */
const struct daemon_job daemon_jobs[] = {
	{ "cron", "* * * * *", job_cron, NULL },
	/* Certificate renewal (docs/letsencrypt.md): `letsencrypt:auto-renew` renews
	 * what is within its grace period and past its backoff, and does nothing else,
	 * so it runs hourly; a run still going skips the next. */
	{ "certs-renew", "17 * * * *", daemon_job_wharf,
	  (void *)(const char *const[]){ "letsencrypt:auto-renew", NULL } },
	{ "services-backups", "* * * * *", job_services, NULL },
	{ "cluster-sync", "* * * * *", job_cluster_sync, NULL },
	/* Daily, at a quiet hour: the registry is read-only for a moment (pushes wait). */
	{ "cluster-gc", "41 3 * * *", job_cluster_gc,
	  (void *)(const char *const[]){ "cluster:gc", NULL } },
	{ NULL, NULL, NULL, NULL },
};
