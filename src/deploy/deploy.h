/* src/deploy/deploy.h - public interface of the deploy layer: push, redeploy,
 * rollback, scale, stop/start, restart/rebuild, image deploys, route refreshes,
 * one-off processes. The only code that drives receiver, build, app state,
 * plugins and the scheduler together, and the keeper of releases.json and of
 * image retention. Functions print only the `-----> ` progress lines of what
 * they do; the command layer prints the rest and exits. */
#ifndef WHARF_DEPLOY_H
#define WHARF_DEPLOY_H

#include "common.h"
#include "runtime/runtime.h"

/* What to deploy, why and by whom. Every pointer is borrowed. */
struct deploy_request {
	const char *app;   /* a valid, existing app (the caller checked) */
	const char *why;   /* the release's description ("restart", "scale", …);
	                             * NULL: the function's own ("deploy 1a2b3c4", …) */
	const char *by;    /* who asked; NULL: the ssh key's name, else local:<user> */
	const char *rev;   /* deploy_push, deploy_rebuild: the commit (full id) */
	long version;      /* deploy_rollback: release N */
	const char *image; /* deploy_image: a local image reference */
	/* The caller already holds the app's lock (a push over ssh: sshcmd.c took
	 * it); else each function takes it itself. */
	int locked;
	/* The caller is a deployer key (not an admin): a pushed Dockerfile's FROM
	 * images (build_check_base_owners) and a git:from-image image must be its
	 * app's own. */
	int deployer;
	/* Where the processes run; NULL: each function makes the app's scheduler. */
	struct scheduler *sched;
	/* deploy_redeploy() of a new formation (deploy_scale): the scheduler's scale op
	 * (docker-local: a deploy; swarm: the services rescaled in place). */
	int scale;
};
#define DEPLOY_REQUEST_INIT \
	{                   \
		.app = NULL \
	}

/* The scheduler an app runs on (app_scheduler(): "docker-local" or "swarm"); app
 * NULL: the global choice. */
int deploy_app_scheduler(const char *app, const char **name);
/* The scheduler of app: shared when it is that one (may be NULL) or when the app is no
 * longer there (apps:rename gives the new name's), else a new one in *owned (the caller
 * frees it). A swarm app on a host that is no cluster manager fails with what to do. */
int deploy_scheduler(const char *app, struct scheduler *shared, struct scheduler **owned,
		     struct scheduler **out);

/* A push (the pre-receive hook, ps:rebuild): export rev, build it, run the
 * release through the scheduler, record it. On failure err_msg() says the deploy
 * failed and whether the previous release keeps serving. */
int deploy_push(const struct deploy_request *req);
/* ps:rebuild: the current release's commit pushed again. */
int deploy_rebuild(const struct deploy_request *req);
/* A new release of the current one's image with the app's current config (a
 * config change, ps:restart, scale, rename…). Without a release yet it says
 * the change waits for the first deploy and returns 0. */
int deploy_redeploy(const struct deploy_request *req);
/* 0 when a redeploy of the app could run now: it has no release yet, or the
 * scheduler answers; -1 with its error otherwise, so a change that would
 * redeploy is refused before anything is saved. */
int deploy_redeploy_check(const char *app);
/* releases:rollback: release req->version's image with its config, which
 * becomes the app's again. A pruned image is refused. */
int deploy_rollback(const struct deploy_request *req);
/* git:from-image: a local image (never pulled) as a new release tagged
 * wharf/<app>:<N>, so image retention never removes the user's own name. */
int deploy_image(const struct deploy_request *req);
/* ps:restart: the pre-restart trigger, then a redeploy. */
int deploy_restart(const struct deploy_request *req);
/* ps:scale: counts is {TYPE: N} (types valid, counts checked by the caller);
 * each type must be web or one the current release runs. The formation is
 * saved under the lock, then the release is redeployed. */
int deploy_scale(const struct deploy_request *req, const json_t *counts);
/* ps:stop: every process stopped for good and the route removed; the app stays
 * stopped through deploys until deploy_start(); post-stop fires. *stopped gets
 * how many. */
int deploy_stop(const struct deploy_request *req, int *stopped);
/* ps:start: what ps:stop left is removed and the current release deployed;
 * post-start fires. */
int deploy_start(const struct deploy_request *req);
/* ps:restore for one app: its current release's stopped processes started (or
 * the release redeployed when none is left), and routed. */
int deploy_restore(const struct deploy_request *req);

/* Tells the router the app's current domains, with the targets it serves
 * (a domains change); takes the app's lock unless req->locked. With
 * from_processes, the current release's running web processes are routed
 * instead (after a restore). */
int deploy_route_refresh(const struct deploy_request *req, int from_processes);

/* checks:run: the current release's checks against each running web process. */
int deploy_checks_run(const struct deploy_request *req);

/* apps:destroy, apps:rename: every process of the app removed. With images, the
 * release images and the build cache go too (destroy). */
int deploy_remove_app(const struct deploy_request *req, int images);

/* cleanup: exited processes the router does not serve (of req->app, or of every
 * app when it is NULL; each under its lock), then dangling images wharf built
 * that no release runs. Counts go to *containers and *images. */
int deploy_cleanup(const struct deploy_request *req, int *containers, int *images);

/* `run`: cmd (NULL-terminated) in a one-off process of the current release with
 * the app's environment, storage and `run` limits. `enter`: cmd in the newest
 * running process of type (NULL: web if one runs, else any). *code gets the
 * command's exit code. */
int deploy_run(const struct deploy_request *req, const char **cmd, const struct sched_io *io,
	       long long *code);
int deploy_enter(const struct deploy_request *req, const char *type, const char **cmd,
		 const struct sched_io *io, long long *code);

/* ---- the app settings a deploy is assembled from ---------------------------- */

/* The app's router options (app.json "router", written by router:set) as a route
 * PUT carries them: *out is a new {"redirect_https": bool, "max_body_bytes":
 * n|null}, or NULL when router:set was never used on the app. */
int deploy_router_options(const json_t *appobj, json_t **out);
/* The app's certificate (apps/<app>/cert.json): *out is a new {"cert": PEM,
 * "key": PEM}, or NULL when the app has none. The caller validated app. */
int deploy_cert_load(const char *app, json_t **out);
/* Certificates (src/deploy/certs.c). _install makes cert ({"cert": PEM chain, "key":
 * PEM}) the app's: the router first (it refuses a chain and key that do not load or
 * match, changing nothing), then apps/<app>/cert.json (0600); if that cannot be written
 * the router gets the old one back. *info gets the router's answer (subject, issuer,
 * expires, names) when info is not NULL. The caller holds the app's lock. _remove takes
 * it out of the router and the state: 1 if there was one, 0 if not, -1 on error. */
int deploy_cert_install(const char *app, const json_t *cert, json_t **info);
int deploy_cert_remove(const char *app);
/* PUT /apps/<app>/<what> on the router with body: 0, with its answer in *reply when
 * reply is not NULL, or -1 with the router's message. _cert_delete: DELETE
 * /apps/<app>/cert, 1 if the router had one, 0 if not, -1 on error. */
int deploy_router_put(const char *app, const char *what, const json_t *body, json_t **reply);
int deploy_router_cert_delete(const char *app);

/* ACME certificates (src/deploy/letsencrypt.c, docs/letsencrypt.md), issued by uacme
 * (WHARF_UACME names another binary) with http-01 answered by the router.
 * _enable: a new certificate for the app's domains now, installed, redirect on.
 * _disable: the certificate removed, renewals stop, redirect off. _revoke: the
 * installed certificate revoked at the CA, then as _disable. _renew: the app's
 * certificate renewed when it expires within its grace period (force: whatever the
 * expiry; backoff: skip while a failure's backoff runs): 1 renewed, 0 not due or
 * backing off, -1 failed (the old certificate keeps serving; the failure is counted
 * in app.json and backs the next try off). Each takes the app's lock itself. */
int deploy_letsencrypt_enable(const char *app);
int deploy_letsencrypt_disable(const char *app);
int deploy_letsencrypt_revoke(const char *app);
int deploy_letsencrypt_renew(const char *app, int force, int backoff);
/* Every app with letsencrypt enabled whose certificate expires within its grace
 * period (30 days by default) and whose backoff has run out is renewed, one by one;
 * each failure is one line on stderr. For a long-running wharf process to call
 * periodically (hourly is plenty). 0 when nothing failed, else -1 (err_set: how
 * many failed). */
int deploy_certs_renew_due(void);
/* The ACME directory URL of a letsencrypt "server" setting: NULL or "production" is
 * Let's Encrypt's, "staging" its staging one, anything else itself (borrowed). */
const char *deploy_letsencrypt_url(const char *server);

/* The app's storage mounts as a NULL-terminated vector borrowed from appobj
 * (free() the vector only), or NULL when it has none. Every mount is checked
 * against root's allow-list again: one made before the list existed, or whose
 * dir has since been disallowed, stops the deploy with the way out. */
int deploy_storage_binds(const json_t *appobj, const char ***out);
/* root's allow-list of host dirs (global.json "storage_allow"): *out is a new
 * array (empty when none). */
int deploy_storage_allow_load(json_t **out);
/* May host (as given and as the kernel resolves it) be mounted, given allow? Also
 * refuses the Docker socket. 0, or -1 with a message. */
int deploy_storage_host_allowed(const char *host, const json_t *allow);
/* Bind mounts (src/deploy/mount.c). A mount is "HOSTDIR:CONTAINERDIR[:ro]": both
 * absolute, no "." or ".." component, no ',', ':' or control character inside,
 * the container dir not "/". Pure (the host dir's existence is checked by
 * storage:mount); unit-tested. */
int deploy_mount_parse(const char *spec, struct buf *host, struct buf *container, int *ro);

/* Host directories storage:mount may use (global.json "storage_allow", set by root
 * with storage:allow). Pure, unit-tested: may a mount of host dir `host` be made,
 * given the allow-list `allow` (array of absolute dirs) and WHARF_ROOT `root`?
 * Never "/", /etc, /proc, /sys, /dev, /run, /var/run, /boot, the Docker socket or
 * wharf's own state, nor a parent of one of them, even when a parent is allowed;
 * otherwise only a listed dir or one below it. 0, or -1 with a message. */
int deploy_storage_host_ok(const char *host, const json_t *allow, const char *root);
/* Refuses host when it is forbidden or below it, or a parent of it: "refused: HOST
 * would expose WHAT" (what NULL: "FORBIDDEN of the host"). */
int deploy_storage_host_near(const char *host, const char *forbidden, const char *what);

/* One `scheme:host-port:container-port` map. http maps the router's port 80,
 * https its 443 (wharf opens no other host port); the container port is
 * 1024-65535 (containers share the host's network). */
struct deploy_port_map {
	const char *scheme; /* "http" or "https" (static) */
	int host, container;
};
int deploy_port_map_parse(struct deploy_port_map *out, const char *s);
/* A decimal port of n bytes in [lo, 65535]: no sign, space or leading zero. */
int deploy_port_parse(const char *s, size_t n, int lo, int *out);
int deploy_port_map_format(struct buf *out, const struct deploy_port_map *m);
/* The container port of the app's first http map (else first map), or 0. */
int deploy_web_port(const json_t *appobj);

/* builder:set selected: *builder is "dockerfile" or "buildpacks" when one is
 * forced, NULL when pushes are detected; fails for "image" (pushes are not built)
 * and for "dockerfile" when dir has no Dockerfile. */
int deploy_builder_selected(const json_t *appobj, const char *dir, const char **builder);

/* ---- app.json: cron entries and deploy scripts (src/deploy/appjson.c) ---------- */

/* Parses a pushed app.json (pure, unit-tested, fuzzed): *cron gets a new array of
 * {"id", "schedule", "command"} (NULL when the app has none), *scripts a new
 * {"predeploy"?, "postdeploy"?} from "scripts"."dokku" (NULL: none). Refuses text
 * that is not a JSON object, a schedule cron_parse() refuses, a command that is
 * empty, longer than 4096 bytes or has a control character, more than 100 entries
 * and two equal ones; the message names the entry ("app.json cron entry 2
 * ("bin/task"): bad schedule …"). On failure both are NULL. */
int deploy_appjson_parse(const char *text, size_t len, json_t **cron, json_t **scripts);
/* An entry's id: 12 hex digits of a hash of its schedule and command, so an
 * unchanged entry keeps its id (and its last run) across pushes. */
int deploy_cron_id(struct buf *out, const char *schedule, const char *command);

/* ---- cron runs (src/deploy/cron.c) ---------------------------------------------
 * An entry of the current release runs as a one-off process of that release
 * (`run`'s environment, storage and limits, no stdin), at most one at a time per
 * entry (a flock on apps/<app>/cron/<id>.lock held for the run). Its last run is
 * kept in apps/<app>/cron.json: {"<id>": {"last_scheduled": minute (epoch s),
 * "last_started": epoch s, "last_finished": epoch s, "last_exit": code}}, read
 * and written under apps/<app>/cron.lock. */

/* The cron entries of the app's current release: *out a new array (empty when
 * none or no release). */
int deploy_cron_entries(const char *app, json_t **out);
/* The entry with this id in entries (borrowed), or NULL with err_set(). */
const json_t *deploy_cron_find(const json_t *entries, const char *app, const char *id);
/* Runs the entry now: *code gets the command's exit code. -1 with err_set()
 * when it cannot run; *busy (may be NULL) is set to 1 when the reason is that
 * a run of the entry is still going. Output goes to fds 1 and 2, between a
 * start line and an exit line. */
int deploy_cron_exec(const struct deploy_request *req, const char *id, long long *code, int *busy);
/* The app's cron.json (*out a new object, {} when none). */
int deploy_cron_state_load(const char *app, json_t **out);
/* The scheduler's claim on the run of minute (epoch seconds, a multiple of 60):
 * 1 when the entry's "last_scheduled" was older and is now minute (the caller
 * starts the run), 0 when that minute was already claimed (by a daemon that ran
 * before a restart, say), -1 on error. */
int deploy_cron_claim(const char *app, const char *id, long long minute);
/* 1 when a run of the entry is going now (its lock is held), else 0. */
int deploy_cron_running(const char *app, const char *id);
/* apps/<app>/cron/<id>.log, the entry's output (scheduled and cron:run runs
 * alike), rotated to .log.1 past 1 MiB by deploy_cron_log_open(). */
int deploy_cron_log_path(struct buf *out, const char *app, const char *id);
/* Opens the entry's log for appending (O_APPEND, 0600), rotating it first;
 * returns the fd or -1 with err_set(). */
int deploy_cron_log_open(const char *app, const char *id);
/* ---- operations: logs, metrics (src/deploy/ops.c) ---------------------------- */

/* logs:set values: max-size a size (size_parse()) of 100k to 100g; max-file a
 * count of 1 to 100. Pure, unit-tested. */
int deploy_log_max_size_parse(const char *s, long long *bytes);
int deploy_log_max_file_parse(const char *s, int *n);
/* The app's log rotation (APP_LOGS of appobj over global's): size gets the
 * max-size in bytes, files the max-file, each empty when unset (Docker's
 * defaults of docker.h apply). A stored value that no longer parses fails. */
int deploy_log_settings(const json_t *appobj, const json_t *global, struct buf *size,
			struct buf *files);
/* Where a failed deploy's output is kept (apps/<app>/deploy-failed.log; the
 * newest DEPLOY_FAILED_LOG_MAX bytes of it). */
#define DEPLOY_FAILED_LOG_MAX (1u << 20)
int deploy_failed_log_path(struct buf *out, const char *app);

/* What one running process uses, as ps:stats and the metrics page show it. */
struct deploy_usage {
	char app[64], type[64], name[128], id[72];
	char node[64]; /* a swarm task's node (hostname); "" on docker-local */
	struct docker_stats st;
	int restarts;    /* by the restart policy */
	char error[320]; /* not "": it could not be measured (st is 0), and why; name ""
	                  * when the app's processes could not even be listed */
};
/* The running processes of every app in apps (an array of names), each app's in
 * the scheduler's order or, with oldest_first, reversed; all measured at once
 * (with sample over an interval, so cpu_percent is set). s serves docker-local
 * apps; swarm apps' tasks are measured on their nodes (one swarm scheduler for all
 * of them). Those that went away meanwhile are left out; those that could not be
 * read (a node that does not answer) are kept with their error. *out is malloc'd
 * (caller frees), *n its length. */
int deploy_usage(struct scheduler *s, const json_t *apps, int sample, int oldest_first,
		 struct deploy_usage **out, size_t *n);

/* The metrics listener's page: the router's Prometheus text (GET /metrics on
 * its control socket; wharf_router_up says whether it answered) followed by the
 * wharf_container_* families of every running process of every app. */
int deploy_metrics(struct buf *out, struct scheduler *s);

/* One app's figures read back from the router's Prometheus text. */
#define DEPLOY_LAT_BUCKETS_MAX 32
struct deploy_app_stats {
	int found;       /* the router has the app */
	double requests; /* answered requests */
	double errors;   /* of them answered 5xx */
	size_t nbuckets; /* the latency histogram: cumulative counts per bound */
	double le[DEPLOY_LAT_BUCKETS_MAX], cum[DEPLOY_LAT_BUCKETS_MAX];
};
/* Pure: parses text (the router's /metrics) for app's samples. */
int deploy_router_app_stats(const char *text, size_t len, const char *app,
			    struct deploy_app_stats *out);
/* now minus before, member by member: the figures of an interval. */
void deploy_app_stats_diff(struct deploy_app_stats *now, const struct deploy_app_stats *before);
/* The q-quantile (0.5, 0.99) of the latency in seconds, as Prometheus's
 * histogram_quantile() estimates it; NAN without requests. */
double deploy_app_stats_quantile(const struct deploy_app_stats *st, double q);

/* ---- the router follows the swarm (src/deploy/swarmsync.c) -----------------------
 * `cluster:sync`: between deploys, the route of each swarm app follows the tasks of
 * the web service it names (docs/cluster.md, "How the router follows the tasks"). */

struct deploy_sync_opts {
	int once;             /* one round, then return */
	long interval_ms;     /* from the start of one round to the next; 0: 1000 */
	int probe_timeout_ms; /* a task's TCP connect; 0: 300 */
};
#define DEPLOY_SYNC_OPTS_INIT \
	{                     \
		.once = 0     \
	}
/* Every interval, for each app whose scheduler is swarm and that has a route, under
 * its lock taken without waiting (an app being deployed waits for the next round):
 * the serving tasks of the service the route names that accept a TCP connect
 * become the route's targets (PUT: the router checks the new ones, drains those
 * that left); never an empty set. One `-----> ` line per change. Runs until
 * killed; -1 only when it cannot start (with once: when the round failed). */
int deploy_swarm_sync(const struct deploy_sync_opts *o);
/* 1 when this wharf is a cluster manager (cluster:init ran), 0 when not. */
int deploy_cluster_manager(void);

#endif
