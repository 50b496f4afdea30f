/* swarmsync.c - `cluster:sync`: the route of each swarm app follows the tasks of the
 * web service it names between deploys (a task rescheduled after a node died, a
 * replica added by Swarm, one that stopped). The deploy switches the route from one
 * service to the next; this loop never does: it only changes which tasks of the
 * route's own service are served. */
#include "internal.h"
#include "cluster/cluster.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* A new task that failed the router's check is left out this long before it is
 * offered again (a task whose health path fails would otherwise cost every round
 * the check's deadline). */
#define SYNC_BACKOFF_MS  10000
/* The router's check of a new task and the drain of one that left: shorter than a
 * deploy's, so one app cannot hold the loop for long. */
#define SYNC_DEADLINE_MS 10000
#define SYNC_DRAIN_MS    10000
/* Apps are synced by a pool of workers, so one app's slow PUT (a check, a drain)
 * holds back neither the other apps nor the next rounds: an app still being synced
 * is left out of the rounds that come meanwhile. */
#define SYNC_WORKERS     4

struct sync {
	struct deploy_sync_opts o;
	pthread_mutex_t mu;  /* guards what follows */
	pthread_cond_t work; /* the queue has a job, or stop */
	pthread_cond_t idle; /* the queue is empty and no worker syncs */
	json_t *backoff;     /* target -> until (ms, monotonic) */
	json_t *notes;       /* app -> the last line said about it that was no change */
	json_t *queue;       /* apps waiting for a worker: [{"app"}] */
	json_t *busy;        /* app -> true while queued or synced */
	size_t active;       /* workers syncing an app */
	int stop;
	struct docker *d[SYNC_WORKERS]; /* each worker's own, kept between rounds */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "HH:MM:SS.mmm" UTC, for lines a reader times events with. */
static void stamp(char *out, size_t size)
{
	struct timeval tv;
	struct tm tm;
	char t[16];

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	strftime(t, sizeof(t), "%H:%M:%S", &tm);
	snprintf(out, size, "%.8s.%03d", t, (int)(tv.tv_usec / 1000) % 1000);
}

/* Says why an app was left as it is, once: the same line is not said again every
 * round, only when it changes. text NULL: the app is in sync (forget the note). */
static void note(struct sync *s, const char *app, const char *text)
{
	const char *last;
	char t[32];

	pthread_mutex_lock(&s->mu);
	last = json_str(s->notes, app, NULL);
	if (!text) {
		json_object_del(s->notes, app);
	} else if (!last || strcmp(last, text)) {
		json_object_set_new(s->notes, app, json_string(text));
		stamp(t, sizeof(t));
		say_warn("%s %s: %s", t, app, text);
	}
	pthread_mutex_unlock(&s->mu);
}

/* 1 when target failed the router's check lately and waits before it is offered again. */
static int backing_off(struct sync *s, const char *target)
{
	json_t *until;
	int r;

	pthread_mutex_lock(&s->mu);
	until = json_object_get(s->backoff, target);
	r = until && json_integer_value(until) > now_ms();
	pthread_mutex_unlock(&s->mu);
	return r;
}

static void back_off(struct sync *s, const char *target)
{
	pthread_mutex_lock(&s->mu);
	json_object_set_new(s->backoff, target, json_integer(now_ms() + SYNC_BACKOFF_MS));
	pthread_mutex_unlock(&s->mu);
}

static const struct swarm_task *task_at(const struct swarm_tasks *st, const char *target)
{
	size_t i;

	/* Sorted with serving tasks first among those of one target. */
	for (i = 0; i < st->n; i++)
		if (!strcmp(st->v[i].target, target))
			return &st->v[i];
	return NULL;
}

/* " ADDR:PORT (slot S on NODE[: why])" for each target of list. */
static void describe(struct buf *out, const json_t *list, const struct swarm_tasks *st,
		     const json_t *unreachable)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v) {
		const char *t = json_string_value(v);
		const struct swarm_task *k = task_at(st, t);
		buf_addf(out, "%s%s", i ? ", " : " ", t);
		if (!k)
			buf_addstr(out, " (no such task)");
		else if (k->serves && unreachable && json_array_has_str(unreachable, t))
			buf_addf(out, " (slot %d on %s: no TCP connect)", k->slot, k->node);
		else if (!k->serves)
			buf_addf(out, " (slot %d on %s: %s)", k->slot, k->node, k->why);
		else
			buf_addf(out, " (slot %d on %s)", k->slot, k->node);
	}
}

static void say_change(const char *app, const json_t *added, const json_t *removed,
		       const struct swarm_tasks *st, const json_t *unreachable)
{
	struct buf line = BUF_INIT;
	char t[32];

	stamp(t, sizeof(t));
	buf_addf(&line, "%s %s:", t, app);
	if (json_array_size(added)) {
		buf_addstr(&line, " added");
		describe(&line, added, st, NULL);
	}
	if (json_array_size(removed)) {
		buf_addf(&line, "%sremoved", json_array_size(added) ? "; " : " ");
		describe(&line, removed, st, unreachable);
	}
	say_step("%s", line.buf);
	buf_release(&line);
}

/* PUT the route with targets, keeping its domains (and, as the PUT sends none, the
 * options the router has); the app's health check path when web is checked. */
static int put_route(const char *app, const json_t *route, const json_t *targets,
		     const json_t *appdoc, const json_t *checks)
{
	struct route_spec rs = { 0 };
	const char **doms = json_str_vec(json_object_get(route, "domains"));
	const char **tv = json_str_vec(targets);
	int ret = -1;

	if (!doms || !tv) {
		err_set("out of memory");
		goto out;
	}
	rs.app = app;
	rs.domains = doms;
	rs.targets = tv;
	runtime_route_health(&rs, checks, app_get(appdoc, APP_CHECKS_SKIPPED),
			     app_get(appdoc, APP_CHECKS_DISABLED));
	rs.deadline_ms = SYNC_DEADLINE_MS;
	rs.drain_timeout_ms = SYNC_DRAIN_MS;
	ret = router_client_put(&rs);
out:
	free(doms);
	free(tv);
	return ret;
}

/* The targets of st's serving tasks that answer a TCP connect, sorted, into
 * serving; those that serve in Swarm's eyes but did not answer into unreachable.
 * A target backing off after a failed check is left out unless the route has it. */
static int probe_tasks(struct sync *s, const struct swarm_tasks *st, const json_t *cur,
		       json_t *serving, json_t *unreachable)
{
	const char **cand = calloc(st->n + 1, sizeof(*cand));
	int *ok = calloc(st->n + 1, sizeof(*ok));
	size_t i, n = 0;
	int ret = -1;

	if (!cand || !ok) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < st->n; i++) {
		const char *t = st->v[i].target;
		if (!st->v[i].serves || (n && !strcmp(cand[n - 1], t)))
			continue;
		if (!json_array_has_str(cur, t) && backing_off(s, t))
			continue;
		cand[n++] = t;
	}
	if (runtime_tcp_probe(cand, n, s->o.probe_timeout_ms, ok) < 0)
		goto out;
	for (i = 0; i < n; i++)
		json_array_append_new(ok[i] ? serving : unreachable, json_string(cand[i]));
	ret = 0;
out:
	free(cand);
	free(ok);
	return ret;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A sorted copy of an array of strings (what is not a string is left out). */
static json_t *sorted(const json_t *a)
{
	const char **v = calloc(json_array_size(a) + 1, sizeof(*v));
	json_t *out = json_array(), *x;
	size_t i, n = 0;

	json_array_foreach(a, i, x)
		if (v && json_is_string(x))
			v[n++] = json_string_value(x);
	if (v && n)
		qsort(v, n, sizeof(*v), str_cmp);
	for (i = 0; v && out && i < n; i++)
		json_array_append_new(out, json_string(v[i]));
	free(v);
	return out;
}

/* a minus b, both arrays of strings. */
static json_t *minus(const json_t *a, const json_t *b)
{
	json_t *out = json_array(), *v;
	size_t i;

	json_array_foreach(a, i, v)
		if (!json_array_has_str(b, json_string_value(v)))
			json_array_append(out, v);
	return out;
}

/* The route is cur; the tasks that answer are serving: make the route serve them.
 * What left goes first when something stays (no check: quick), then what is new
 * (checked by the router); when nothing stays, one PUT does both. */
static int apply(struct sync *s, const char *app, const json_t *route, const json_t *cur,
		 const json_t *serving, const struct swarm_tasks *st, const json_t *unreachable,
		 const json_t *appdoc, const json_t *checks)
{
	json_t *added = minus(serving, cur), *removed = minus(cur, serving);
	json_t *keep = minus(cur, removed), *none = json_array();
	size_t i;
	json_t *v;
	int ret = -1;

	if (!added || !removed || !keep || !none) {
		err_set("out of memory");
		goto out;
	}
	if (json_array_size(removed) && json_array_size(keep) && json_array_size(added)) {
		if (put_route(app, route, keep, appdoc, checks) < 0)
			goto out;
		say_change(app, none, removed, st, unreachable);
		json_array_clear(removed);
	}
	if (put_route(app, route, serving, appdoc, checks) < 0) {
		/* The router kept what it had: the new tasks wait a while. */
		json_array_foreach(added, i, v)
			back_off(s, json_string_value(v));
		goto out;
	}
	say_change(app, added, removed, st, unreachable);
	ret = 0;
out:
	json_decref(added);
	json_decref(removed);
	json_decref(keep);
	json_decref(none);
	return ret;
}

/* One app's turn, under its lock, on the worker's Docker handle *d. */
static int sync_locked(struct sync *s, struct docker **d, const char *app, const json_t *appdoc)
{
	json_t *route = NULL, *cur = NULL, *services = NULL, *tasks = NULL, *nodes = NULL;
	json_t *serving = json_array(), *unreachable = json_array(), *rels = NULL;
	struct swarm_tasks st = SWARM_TASKS_INIT;
	int base, ret = -1;

	if (!serving || !unreachable) {
		err_set("out of memory");
		goto out;
	}
	if (router_client_get(app, &route) < 0)
		goto out;
	/* No route (stopped, never deployed): the next deploy makes one. A route that
	 * names no swarm service (still docker-local's): not this loop's. */
	if (!route || !(cur = sorted(json_object_get(route, "targets"))) ||
	    !(base = swarm_route_port_base(cur))) {
		note(s, app, NULL);
		ret = 0;
		goto out;
	}
	if (!*d && docker_new(d, NULL) < 0)
		goto out;
	if (runtime_swarm_fetch(*d, app, &services, &tasks, &nodes) < 0) {
		docker_free(*d); /* the next round connects again */
		*d = NULL;
		goto out;
	}
	if (swarm_route_tasks(&st, services, tasks, nodes, wharf_root(), app, base) < 0 ||
	    probe_tasks(s, &st, cur, serving, unreachable) < 0)
		goto out;
	ret = 0;
	if (json_equal(serving, cur)) {
		note(s, app, NULL);
		goto out;
	}
	if (!json_array_size(serving)) {
		/* Nothing to move to: the router keeps what it has, and retries a failed
		 * connect on another target meanwhile. */
		note(s, app, "no task of its service answers; the route keeps its targets");
		goto out;
	}
	if (app_releases_load(app, &rels) < 0 ||
	    apply(s, app, route, cur, serving, &st, unreachable, appdoc,
		  app_get(app_release_current(rels), APP_CHECKS)) < 0) {
		ret = -1;
		goto out;
	}
	note(s, app, NULL);
out:
	swarm_tasks_release(&st);
	json_decref(route);
	json_decref(cur);
	json_decref(services);
	json_decref(tasks);
	json_decref(nodes);
	json_decref(serving);
	json_decref(unreachable);
	json_decref(rels);
	return ret;
}

static void sync_app(struct sync *s, struct docker **d, const char *app)
{
	struct lock l = LOCK_INIT;
	json_t *doc = NULL;
	int r;

	/* A deploy holds the app (or waits for it): it decides the route; this app
	 * waits for the next round. The app's settings (its checks) are read under the
	 * lock: the round queued it a while ago, maybe before a checks:skip. */
	if ((r = app_lock_try(&l, app)) < 0 || (r == 1 && app_load(app, &doc) < 0))
		note(s, app, err_msg());
	else if (r == 1 && sync_locked(s, d, app, doc) < 0)
		note(s, app, err_msg());
	lock_release(&l);
	json_decref(doc);
}

/* A worker: syncs the queue's apps, one at a time, until stop. */
static void *worker(void *arg)
{
	struct sync *s = ((void **)arg)[0];
	struct docker **d = ((void **)arg)[1];
	json_t *job;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->stop && !json_array_size(s->queue))
			pthread_cond_wait(&s->work, &s->mu);
		if (!json_array_size(s->queue))
			break;
		job = json_incref(json_array_get(s->queue, 0));
		json_array_remove(s->queue, 0);
		s->active++;
		pthread_mutex_unlock(&s->mu);
		sync_app(s, d, json_str(job, "app", ""));
		pthread_mutex_lock(&s->mu);
		json_object_del(s->busy, json_str(job, "app", ""));
		json_decref(job);
		if (!--s->active && !json_array_size(s->queue))
			pthread_cond_broadcast(&s->idle);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Queues app unless it is queued or synced already. */
static int enqueue(struct sync *s, const char *app)
{
	int ret = 0;

	pthread_mutex_lock(&s->mu);
	if (!json_object_get(s->busy, app)) {
		if (json_object_set_new(s->busy, app, json_true()) < 0 ||
		    json_array_append_new(s->queue, json_pack("{s:s}", "app", app)) < 0)
			ret = err_set("out of memory");
		else
			pthread_cond_signal(&s->work);
	}
	pthread_mutex_unlock(&s->mu);
	return ret;
}

/* One round: every swarm app not still being synced goes to the workers. */
static int sync_round(struct sync *s)
{
	json_t *apps = NULL, *global = NULL, *doc = NULL, *running, *v;
	const char *k;
	size_t i;
	int ret = -1;

	/* Backoffs that ran out are forgotten: the table holds only those that run. */
	pthread_mutex_lock(&s->mu);
	if ((running = json_object())) {
		json_object_foreach(s->backoff, k, v)
			if (json_integer_value(v) > now_ms())
				json_object_set(running, k, v);
		json_decref(s->backoff);
		s->backoff = running;
	}
	pthread_mutex_unlock(&s->mu);
	if (app_list(&apps) < 0 || app_global_load(&global) < 0)
		goto out;
	json_array_foreach(apps, i, v) {
		const char *app = json_string_value(v);
		if (app_load(app, &doc) < 0) {
			note(s, app, err_msg());
			continue;
		}
		if (!strcmp(app_scheduler(doc, global), "swarm") && enqueue(s, app) < 0)
			goto out;
		json_decref(doc);
		doc = NULL;
	}
	ret = 0;
out:
	json_decref(doc);
	json_decref(apps);
	json_decref(global);
	return ret;
}

/* Waits until the workers have synced every queued app. */
static void wait_idle(struct sync *s)
{
	pthread_mutex_lock(&s->mu);
	while (s->active || json_array_size(s->queue))
		pthread_cond_wait(&s->idle, &s->mu);
	pthread_mutex_unlock(&s->mu);
}

/* One loop per wharf: 1 when this process holds <root>/cluster/sync.lock, 0 when
 * another loop does (it says so), -1 on error. */
static int sync_singleton(struct lock *l)
{
	struct buf path = BUF_INIT;
	int ret = -1;

	if (cluster_path(&path, "sync.lock") == 0 && (ret = lock_try(l, path.buf)) == 0)
		say_step("another cluster:sync runs (it holds %s)", path.buf);
	buf_release(&path);
	return ret;
}

int deploy_swarm_sync(const struct deploy_sync_opts *o)
{
	struct lock one = LOCK_INIT;
	struct sync s = { 0 };
	pthread_t th[SYNC_WORKERS];
	void *args[SYNC_WORKERS][2];
	int r, nw = 0, ret = -1;

	if (!o->once && (r = sync_singleton(&one)) <= 0)
		return r;
	s.o = *o;
	if (s.o.interval_ms <= 0)
		s.o.interval_ms = 1000;
	if (s.o.probe_timeout_ms <= 0)
		s.o.probe_timeout_ms = 300;
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.work, NULL);
	pthread_cond_init(&s.idle, NULL);
	s.backoff = json_object();
	s.notes = json_object();
	s.queue = json_array();
	s.busy = json_object();
	if (!s.backoff || !s.notes || !s.queue || !s.busy) {
		err_set("out of memory");
		goto out;
	}
	for (nw = 0; nw < SYNC_WORKERS; nw++) {
		args[nw][0] = &s;
		args[nw][1] = &s.d[nw];
		if (pthread_create(&th[nw], NULL, worker, args[nw]) != 0)
			break; /* fewer workers share the apps */
	}
	if (!nw) {
		err_set("cannot start the sync's workers");
		goto out;
	}
	for (;;) {
		long long start = now_ms(), left;
		if (sync_round(&s) < 0) {
			if (s.o.once)
				goto out;
			say_warn("cluster:sync: %s", err_msg());
		}
		if (s.o.once) {
			wait_idle(&s);
			break;
		}
		if ((left = start + s.o.interval_ms - now_ms()) > 0)
			usleep((useconds_t)left * 1000);
	}
	ret = 0;
out:
	pthread_mutex_lock(&s.mu);
	s.stop = 1;
	json_array_clear(s.queue);
	pthread_cond_broadcast(&s.work);
	pthread_mutex_unlock(&s.mu);
	while (nw > 0)
		pthread_join(th[--nw], NULL);
	for (r = 0; r < SYNC_WORKERS; r++)
		docker_free(s.d[r]);
	json_decref(s.backoff);
	json_decref(s.notes);
	json_decref(s.queue);
	json_decref(s.busy);
	pthread_cond_destroy(&s.work);
	pthread_cond_destroy(&s.idle);
	pthread_mutex_destroy(&s.mu);
	lock_release(&one);
	return ret;
}

int deploy_cluster_manager(void)
{
	struct cluster_state st = CLUSTER_STATE_INIT;
	int r = cluster_load(&st);

	cluster_state_release(&st);
	return r;
}
