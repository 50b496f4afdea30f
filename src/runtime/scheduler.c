/* scheduler.c - the scheduler interface and its first implementation,
 * "docker-local": every process is a container on this host's Docker. */
#include "runtime.h"
#include "runtime/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

void sched_procs_release(struct sched_procs *p)
{
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

int sched_target_is(const struct sched_proc *p, const char *target)
{
	const char *colon = target ? strrchr(target, ':') : NULL;

	if (!p->port || !colon)
		return 0;
	/* A route from before app networks names 127.0.0.1:PORT (host networking):
	 * the port alone tells that process apart. */
	return !strcmp(p->target, target) ||
	       (!strncmp(target, "127.0.0.1:", 10) && atoi(colon + 1) == p->port);
}

/* ---- docker-local ---------------------------------------------------------------- */

struct local {
	struct scheduler s; /* first: a struct scheduler * is a struct local * */
	struct docker *d;
	int own;                  /* d is ours to free */
	const char *session_kind; /* "containers" or "exec": what resize resizes */
	const char *session_id;
};

static struct docker *D(struct scheduler *s)
{
	return ((struct local *)s)->d;
}

static int local_deploy(struct scheduler *s, const struct deploy_req *req)
{
	return runtime_deploy(D(s), req);
}

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static int local_list(struct scheduler *s, const char *app, struct sched_procs *out)
{
	struct buf addr = BUF_INIT;
	json_t *list = NULL, *c;
	size_t i;
	int ret = -1;

	out->v = NULL;
	out->n = 0;
	if (runtime_app_containers(D(s), app, &list) < 0)
		return -1;
	out->v = calloc(json_array_size(list) + 1, sizeof(*out->v));
	if (!out->v) {
		err_set("out of memory");
		goto out;
	}
	json_array_foreach(list, i, c) {
		struct sched_proc *p = &out->v[out->n++];
		const json_t *labels = json_object_get(c, "Labels");
		const char *name =
			json_string_value(json_array_get(json_object_get(c, "Names"), 0));
		const char *port = json_str(labels, DOCKER_LABEL_PORT, NULL);

		copy(p->id, sizeof(p->id), json_str(c, "Id", ""));
		copy(p->name, sizeof(p->name), name ? name + (*name == '/') : "");
		copy(p->type, sizeof(p->type), json_str(labels, DOCKER_LABEL_PROCESS, ""));
		copy(p->state, sizeof(p->state), json_str(c, "State", ""));
		p->release = atol(json_str(labels, DOCKER_LABEL_RELEASE, "0"));
		p->port = port ? atoi(port) : 0;
		/* The router dials the container's address on the app's network. A
		 * stopped container has none: it is no target. */
		buf_reset(&addr);
		if (runtime_container_addr(&addr, c, app) == 0)
			copy(p->addr, sizeof(p->addr), addr.buf);
		else
			err_clear(); /* handled: no address, no target */
		if (p->port && *p->addr)
			snprintf(p->target, sizeof(p->target), "%s:%d", p->addr, p->port);
	}
	ret = 0;
out:
	json_decref(list);
	buf_release(&addr);
	return ret;
}

static int local_logs(struct scheduler *s, const char *id, int follow, int tail, long long since,
		      docker_output_fn *fn, void *data)
{
	return docker_container_logs_since(D(s), id, follow, tail, 0, since, fn, data);
}

static int local_stats(struct scheduler *s, const char *const *ids, size_t n, int sample,
		       struct sched_stats *out)
{
	json_t **st = n ? calloc(n, sizeof(*st)) : NULL;
	size_t i;

	if (n && !st)
		return err_set("out of memory");
	if (docker_containers_stats(D(s), ids, n, !sample, st) < 0) {
		free(st);
		return -1;
	}
	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].ok = st[i] != NULL;
		if (st[i])
			docker_stats_summary(st[i], &out[i].st);
		json_decref(st[i]);
	}
	free(st);
	return 0;
}

static int local_top(struct scheduler *s, const char *id, json_t **out)
{
	return docker_container_top(D(s), id, out);
}

/* Docker's zero time ("0001-01-01T00:00:00Z") means never. */
static void copy_time(char *dst, size_t n, const char *t)
{
	copy(dst, n, t && strncmp(t, "0001-", 5) ? t : "");
}

/* The exit code of the container's last "die" event: a restart resets inspect's
 * State.ExitCode to 0, so a process the restart policy brought back has its last
 * exit code only there. -1 when Docker no longer remembers it. */
static int last_die_code(struct docker *d, const char *id)
{
	json_t *filters = json_pack("{s:[s], s:[s], s:[s]}", "type", "container", "container", id,
				    "event", "die"),
	       *list = NULL;
	const char *code;
	int ret = -1;

	if (filters && docker_events(d, 0, (long long)time(NULL) + 1, filters, 1, &list) == 0) {
		code = json_str(json_object_get(json_object_get(json_array_get(list, 0), "Actor"),
						"Attributes"),
				"exitCode", NULL);
		if (code)
			ret = atoi(code);
	} else {
		err_clear(); /* handled: the code is unknown */
	}
	json_decref(filters);
	json_decref(list);
	return ret;
}

static int local_state(struct scheduler *s, const char *id, struct sched_state *out)
{
	json_t *info = NULL, *st;

	memset(out, 0, sizeof(*out));
	if (docker_container_inspect(D(s), id, &info) < 0)
		return -1;
	st = json_object_get(info, "State");
	copy(out->status, sizeof(out->status), json_str(st, "Status", ""));
	out->restarts = (int)json_int(info, "RestartCount", 0);
	out->exit_code = (int)json_int(st, "ExitCode", 0);
	out->oom_killed = json_is_true(json_object_get(st, "OOMKilled"));
	copy_time(out->started_at, sizeof(out->started_at), json_str(st, "StartedAt", NULL));
	copy_time(out->finished_at, sizeof(out->finished_at), json_str(st, "FinishedAt", NULL));
	if (out->finished_at[0] && json_is_true(json_object_get(st, "Running")))
		out->exit_code = last_die_code(D(s), json_str(info, "Id", id));
	json_decref(info);
	return 0;
}

#define EVENTS_MAX 1000

json_t *runtime__event_entry(const json_t *ev)
{
	const json_t *actor = json_object_get(ev, "Actor"),
		     *attrs = json_object_get(actor, "Attributes");
	struct buf when = BUF_INIT;
	time_t t = (time_t)json_int(ev, "time", 0);
	const char *action = json_str(ev, "Action", json_str(ev, "status", ""));
	const char *code = json_str(attrs, "exitCode", NULL);
	struct tm tm;
	json_t *e;

	gmtime_r(&t, &tm);
	if (buf_addf(&when, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec) < 0)
		return NULL;
	e = json_pack("{s:s, s:s, s:s, s:s, s:s}", "time", when.buf, "action", action, "id",
		      json_str(actor, "ID", json_str(ev, "id", "")), "name",
		      json_str(attrs, "name", ""), "process",
		      json_str(attrs, DOCKER_LABEL_PROCESS, ""));
	if (e && code && json_object_set_new(e, "exit_code", json_integer(atoi(code))) < 0) {
		json_decref(e);
		e = NULL;
	}
	buf_release(&when);
	return e;
}

static int local_events(struct scheduler *s, const char *app, long long since, long long until,
			json_t **out)
{
	struct buf lapp = BUF_INIT, lroot = BUF_INIT;
	json_t *filters = NULL, *list = NULL, *ev;
	size_t i;
	int ret = -1;

	*out = NULL;
	if (buf_addf(&lapp, "%s=%s", DOCKER_LABEL_APP, app) < 0 ||
	    buf_addf(&lroot, "%s=%s", DOCKER_LABEL_ROOT, wharf_root()) < 0)
		goto out;
	filters = json_pack("{s:[s], s:[s,s,s,s], s:[s,s]}", "type", "container", "event", "die",
			    "oom", "restart", "start", "label", lapp.buf, lroot.buf);
	if (!filters) {
		err_set("out of memory");
		goto out;
	}
	if (docker_events(D(s), since, until, filters, EVENTS_MAX, &list) < 0)
		goto out;
	if (!(*out = json_array()))
		goto oom;
	json_array_foreach(list, i, ev) {
		json_t *e = runtime__event_entry(ev);
		if (!e || json_array_append_new(*out, e) < 0)
			goto oom;
	}
	ret = 0;
	goto out;
oom:
	json_decref(*out);
	*out = NULL;
	err_set("out of memory");
out:
	json_decref(filters);
	json_decref(list);
	buf_release(&lapp);
	buf_release(&lroot);
	return ret;
}

static void session(struct scheduler *s, const char *kind, const char *id)
{
	((struct local *)s)->session_kind = kind;
	((struct local *)s)->session_id = id;
}

/* Gives the session's process the size of fd 1's terminal; a lost resize is
 * cosmetic. */
static void resize(struct local *l, const struct sched_io *io)
{
	struct winsize ws;

	if (io->tty && l->session_id && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col &&
	    docker_resize(l->d, l->session_kind, l->session_id, ws.ws_row, ws.ws_col) < 0)
		err_clear(); /* handled: a resize that fails leaves the old size */
}

struct pump {
	struct local *l;
	const struct sched_io *io;
};

static int pump_tick(void *data)
{
	struct pump *p = data;
	int r = p->io->tick ? p->io->tick(p->io->data) : 0;

	if (r < 0)
		return r;
	if (r > 0)
		resize(p->l, p->io);
	return 0;
}

/* After the process started: the caller's terminal goes raw, the process's
 * terminal gets its size, and the output flows until the process ends. */
static int pump(struct scheduler *s, int conn, const struct sched_io *io)
{
	struct pump p = { (struct local *)s, io };

	if (io->started)
		io->started(io->data);
	resize(p.l, io);
	return docker_pump(conn, io->no_stdin ? -1 : 0, io->tty, pump_tick, &p);
}

static int local_run(struct scheduler *s, const struct sched_oneoff *o, const struct sched_io *io,
		     long long *code)
{
	struct container_spec spec = CONTAINER_SPEC_INIT;
	struct buf id = BUF_INIT, name = BUF_INIT, net = BUF_INIT;
	json_t *labels = NULL;
	int conn = -1, ret = -1;

	/* No wharf.app label: deploys retire and clean the app's containers by it,
	 * and a one-off command must outlive a deploy. */
	labels = json_pack("{s:s,s:s,s:s}", DOCKER_LABEL_MANAGED, "1", DOCKER_LABEL_ROOT,
			   wharf_root(), DOCKER_LABEL_RUN, o->app);
	if (!labels || buf_addf(&name, "%s.run.%04x", o->app, (unsigned)(rand() & 0xffff)) < 0) {
		err_set("out of memory");
		goto out;
	}
	spec.name = name.buf;
	spec.image = o->image;
	spec.env = o->env;
	spec.cmd = o->cmd;
	spec.labels = labels;
	spec.restart_policy = "no";
	spec.binds = o->binds;
	spec.memory = o->memory;
	spec.nano_cpus = o->nano_cpus;
	spec.tty = io->tty;
	spec.open_stdin = !io->no_stdin;
	/* On the app's network, as its other containers: never the host's. */
	if (runtime_app_network(D(s), o->app, &net, NULL) < 0)
		goto out;
	spec.network = net.buf;
	if (docker_container_create(D(s), &spec, &id) < 0)
		goto out;
	session(s, "containers", id.buf);
	/* Attached before it starts, so no byte of output is missed. */
	if (docker_container_attach(D(s), id.buf, !io->no_stdin, &conn) < 0)
		goto out;
	if (docker_container_start(D(s), id.buf) < 0)
		goto out;
	if (pump(s, conn, io) < 0 || docker_container_wait(D(s), id.buf, code) < 0)
		goto out;
	ret = 0;
out:
	if (conn >= 0)
		close(conn);
	session(s, NULL, NULL);
	if (id.len) {
		/* Keep the failure's message: the removal may set another. */
		struct err_saved why;
		err_save(&why);
		if (docker_container_remove(D(s), id.buf, 1) < 0)
			say_warn("could not remove the one-off container %.12s: %s", id.buf,
				 err_msg());
		if (ret < 0)
			err_restore(&why);
	}
	json_decref(labels);
	buf_release(&id);
	buf_release(&name);
	buf_release(&net);
	return ret;
}

static int local_exec(struct scheduler *s, const char *id, const char **cmd,
		      const struct sched_io *io, long long *code)
{
	struct buf exec_id = BUF_INIT;
	int conn = -1, tries, ret = -1;

	*code = -1;
	if (docker_exec_create(D(s), id, cmd, NULL, io->tty, &exec_id) < 0)
		goto out;
	session(s, "exec", exec_id.buf);
	if (docker_exec_start(D(s), exec_id.buf, io->tty, &conn) < 0)
		goto out;
	if (pump(s, conn, io) < 0)
		goto out;
	/* The output ends as the process exits; its code shows a moment later. */
	for (tries = 0; tries < 50; tries++) {
		if (docker_exec_exit_code(D(s), exec_id.buf, code) < 0)
			goto out;
		if (*code >= 0)
			break;
		usleep(100 * 1000);
	}
	ret = 0;
out:
	if (conn >= 0)
		close(conn);
	session(s, NULL, NULL);
	buf_release(&exec_id);
	return ret;
}

/* The restart policy goes first, so neither Docker nor a reboot brings it back. */
static int local_stop(struct scheduler *s, const char *id, int grace_s)
{
	if (docker_container_set_restart(D(s), id, "no", 0) < 0)
		return -1;
	return docker_container_stop(D(s), id, grace_s);
}

static int local_start(struct scheduler *s, const char *id)
{
	return docker_container_start(D(s), id);
}

static int local_remove(struct scheduler *s, const char *id)
{
	return docker_container_remove(D(s), id, 1);
}

static int local_check(struct scheduler *s, const struct sched_proc *p, const char *host,
		       const json_t *checks)
{
	if (!*p->addr)
		return err_set("container %.12s has no address on the app's network", p->id);
	return runtime_run_checks(D(s), p->id, p->addr, p->port, host, checks);
}

static int local_cleanup(struct scheduler *s, const char *app, long keep_release)
{
	return runtime_app_cleanup(D(s), app, keep_release);
}

static int local_remove_app(struct scheduler *s, const char *app, int grace_s)
{
	return runtime_app_remove(D(s), app, grace_s);
}

static int local_image_inspect(struct scheduler *s, const char *ref, json_t **out)
{
	int exists;

	*out = NULL;
	if (docker_image_exists(D(s), ref, &exists) < 0)
		return -1;
	return exists ? docker_image_inspect(D(s), ref, out) : 0;
}

static int local_image_tag(struct scheduler *s, const char *id, const char *repo, const char *tag)
{
	return docker_image_tag(D(s), id, repo, tag);
}

static int local_image_remove(struct scheduler *s, const char *ref, int force)
{
	return docker_image_remove(D(s), ref, force);
}

static int local_images_dangling(struct scheduler *s, const char *app, json_t **out)
{
	struct buf path = BUF_INIT, lroot = BUF_INIT, lapp = BUF_INIT;
	json_t *filters = NULL, *list = NULL, *img;
	char *fs = NULL;
	size_t i;
	int ret = -1;

	*out = NULL;
	if (buf_addf(&lroot, "%s=%s", DOCKER_LABEL_ROOT, wharf_root()) < 0 ||
	    (app && buf_addf(&lapp, "%s=%s", DOCKER_LABEL_APP, app) < 0))
		goto out;
	filters = json_pack("{s:[s],s:[s]}", "dangling", "true", "label", lroot.buf);
	if (filters && app)
		json_array_append_new(json_object_get(filters, "label"), json_string(lapp.buf));
	fs = filters ? json_dumps(filters, JSON_COMPACT) : NULL;
	if (!fs || buf_addstr(&path, "/images/json?filters=") < 0 ||
	    docker_urlencode(&path, fs) < 0 ||
	    docker_call(D(s), "GET", path.buf, NULL, &list, NULL) < 0)
		goto out;
	*out = json_array();
	json_array_foreach(list, i, img)
		json_array_append_new(*out, json_string(json_str(img, "Id", "")));
	ret = 0;
out:
	free(fs);
	json_decref(filters);
	json_decref(list);
	buf_release(&path);
	buf_release(&lroot);
	buf_release(&lapp);
	return ret;
}

static struct docker *local_builder(struct scheduler *s)
{
	return D(s);
}

static void local_free(struct scheduler *s)
{
	struct local *l = (struct local *)s;

	if (l->own)
		docker_free(l->d);
	free(l);
}

static const struct scheduler_ops docker_local_ops = {
	.name = "docker-local",
	.deploy = local_deploy,
	.scale = local_deploy, /* a formation is a deploy of the same release */
	.list = local_list,
	.logs = local_logs,
	.stats = local_stats,
	.top = local_top,
	.state = local_state,
	.events = local_events,
	.run = local_run,
	.exec = local_exec,
	.stop = local_stop,
	.start = local_start,
	.remove = local_remove,
	.check = local_check,
	.cleanup = local_cleanup,
	.remove_app = local_remove_app,
	.image_inspect = local_image_inspect,
	.image_tag = local_image_tag,
	.image_remove = local_image_remove,
	.images_dangling = local_images_dangling,
	.builder = local_builder,
	.free = local_free,
};

static int local_new(struct scheduler **out, struct docker *d, int own)
{
	struct local *l = calloc(1, sizeof(*l));

	if (!l) {
		if (own)
			docker_free(d);
		return err_set("out of memory");
	}
	l->s.ops = &docker_local_ops;
	l->d = d;
	l->own = own;
	*out = &l->s;
	return 0;
}

int scheduler_docker_local(struct scheduler **out, struct docker *d)
{
	*out = NULL;
	return local_new(out, d, 0);
}

/* ---- the interface ---------------------------------------------------------------- */

int scheduler_new(struct scheduler **out, const char *name)
{
	struct docker *d = NULL;

	*out = NULL;
	if (!name)
		name = getenv("WHARF_SCHEDULER");
	if (!name || !*name)
		name = "docker-local";
	if (!strcmp(name, "swarm"))
		return runtime__swarm_new(out);
	if (strcmp(name, "docker-local"))
		return err_set("unknown scheduler '%s' (this wharf has: docker-local, swarm)",
			       name);
	if (docker_new(&d, NULL) < 0)
		return -1;
	return local_new(out, d, 1);
}

void scheduler_free(struct scheduler *s)
{
	if (s)
		s->ops->free(s);
}

int scheduler_deploy(struct scheduler *s, const struct deploy_req *req)
{
	return s->ops->deploy(s, req);
}

int scheduler_scale(struct scheduler *s, const struct deploy_req *req)
{
	return s->ops->scale(s, req);
}

int scheduler_list(struct scheduler *s, const char *app, struct sched_procs *out)
{
	return s->ops->list(s, app, out);
}

int scheduler_logs(struct scheduler *s, const char *id, int follow, int tail, docker_output_fn *fn,
		   void *data)
{
	return s->ops->logs(s, id, follow, tail, 0, fn, data);
}

int scheduler_logs_since(struct scheduler *s, const char *id, int follow, int tail, long long since,
			 docker_output_fn *fn, void *data)
{
	return s->ops->logs(s, id, follow, tail, since, fn, data);
}

int scheduler_stats(struct scheduler *s, const char *const *ids, size_t n, int sample,
		    struct sched_stats *out)
{
	return s->ops->stats(s, ids, n, sample, out);
}

int scheduler_top(struct scheduler *s, const char *id, json_t **out)
{
	return s->ops->top(s, id, out);
}

int scheduler_state(struct scheduler *s, const char *id, struct sched_state *out)
{
	return s->ops->state(s, id, out);
}

int scheduler_events(struct scheduler *s, const char *app, long long since, long long until,
		     json_t **out)
{
	return s->ops->events(s, app, since, until, out);
}

int scheduler_run(struct scheduler *s, const struct sched_oneoff *o, const struct sched_io *io,
		  long long *code)
{
	return s->ops->run(s, o, io, code);
}

int scheduler_exec(struct scheduler *s, const char *id, const char **cmd, const struct sched_io *io,
		   long long *code)
{
	return s->ops->exec(s, id, cmd, io, code);
}

int scheduler_stop(struct scheduler *s, const char *id, int grace_s)
{
	return s->ops->stop(s, id, grace_s);
}

int scheduler_start(struct scheduler *s, const char *id)
{
	return s->ops->start(s, id);
}

int scheduler_remove(struct scheduler *s, const char *id)
{
	return s->ops->remove(s, id);
}

int scheduler_check(struct scheduler *s, const struct sched_proc *p, const char *host,
		    const json_t *checks)
{
	return s->ops->check(s, p, host, checks);
}

int scheduler_cleanup(struct scheduler *s, const char *app, long keep_release)
{
	return s->ops->cleanup(s, app, keep_release);
}

int scheduler_remove_app(struct scheduler *s, const char *app, int grace_s)
{
	return s->ops->remove_app(s, app, grace_s);
}

int scheduler_image_inspect(struct scheduler *s, const char *ref, json_t **out)
{
	return s->ops->image_inspect(s, ref, out);
}

int scheduler_image_tag(struct scheduler *s, const char *id, const char *repo, const char *tag)
{
	return s->ops->image_tag(s, id, repo, tag);
}

int scheduler_image_remove(struct scheduler *s, const char *ref, int force)
{
	return s->ops->image_remove(s, ref, force);
}

int scheduler_images_dangling(struct scheduler *s, const char *app, json_t **out)
{
	return s->ops->images_dangling(s, app, out);
}

struct docker *scheduler_builder(struct scheduler *s)
{
	return s->ops->builder(s);
}
