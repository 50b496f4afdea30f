/* swarm.c - the "swarm" scheduler: an app's processes are Docker Swarm services of
 * the manager (this host's Docker), one per (process type, deploy), deployed
 * blue-green (docs/cluster.md, SWARM.md): the new services start beside the old,
 * their tasks are waited for and checked on their nodes, the router is switched to
 * them, then the old services go. One-off processes and the release phase run on the
 * manager's own Docker, where the release's image is. */
#include "runtime.h"
#include "runtime/internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Swarm's {{.Task.Slot}} gives each task a digit of its port: P*10 + slot. */
#define SWARM_REPLICAS_MAX SCHED_SWARM_REPLICAS_MAX

/* Another node's docker-local scheduler, opened once per command (node_scheduler()),
 * or the reason it could not be. */
struct swarm_node {
	char id[72];
	struct docker *d;
	struct scheduler *sched; /* NULL: not reached, why says why */
	char why[320];
};

struct swarm {
	struct scheduler s;            /* first: a struct scheduler * is a struct swarm * */
	struct docker *d;              /* the manager's */
	struct scheduler *local;       /* docker-local on d: one-offs, the release phase, images */
	swarm_node_open_fn *node_open; /* another node's dockerd; may be NULL */
	void *node_data;
	char self[72];            /* d's own node id; "" until asked */
	struct swarm_node *nodes; /* the other nodes reached so far */
	size_t nnodes;
};

static struct swarm *SW(struct scheduler *s)
{
	return (struct swarm *)s;
}

/* Copies src into dst of n bytes, cut when longer (names and states are short). */
static void copy(char *dst, size_t n, const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len >= n)
		len = n - 1;
	if (len)
		memcpy(dst, src, len);
	dst[len] = '\0';
}

/* ---- names, labels and specs ----------------------------------------------------- */

/* "wharf-<app with '.' as '-'>-<type>-v<N><parity>-<4 hex>", at most 63 bytes of
 * [a-zA-Z0-9-]; a longer one is cut and ends with 8 hex of a hash of the whole. */
int runtime_swarm_service_name(struct buf *out, const char *app, const char *type, long release,
			       int parity, unsigned rnd)
{
	struct buf full = BUF_INIT;
	unsigned long h = 5381;
	size_t i;
	int ret = -1;

	if (buf_addf(&full, "wharf-%s-%s-v%ld%c-%04x", app, type, release, parity ? 'b' : 'a',
		     rnd & 0xffff) < 0)
		goto out;
	for (i = 0; i < full.len; i++) {
		char c = full.buf[i];
		h = h * 33 + (unsigned char)c;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			full.buf[i] = '-';
	}
	buf_reset(out);
	if (full.len <= 63)
		ret = buf_addstr(out, full.buf);
	else
		ret = buf_add(out, full.buf, 54) < 0 ? -1
						     : buf_addf(out, "-%08lx", h & 0xffffffffUL);
out:
	buf_release(&full);
	return ret;
}

/* Swarm's restart policy of ps:set restart-policy's value. */
static json_t *restart_policy(const char *policy)
{
	struct buf name = BUF_INIT;
	int max_retry = 0;
	const char *cond;
	json_t *p = NULL;

	if (runtime_parse_restart_policy(policy ? policy : "on-failure", &name, &max_retry) < 0) {
		buf_release(&name);
		return NULL;
	}
	/* Swarm has no "unless-stopped": a stopped app is scaled to 0 instead. */
	cond = !strcmp(name.buf, "no")           ? "none"
	       : !strcmp(name.buf, "on-failure") ? "on-failure"
						 : "any";
	p = json_pack("{s:s, s:I}", "Condition", cond, "Delay", (json_int_t)1000000000);
	if (p && max_retry && json_object_set_new(p, "MaxAttempts", json_integer(max_retry)) < 0) {
		json_decref(p);
		p = NULL;
	}
	buf_release(&name);
	if (!p)
		err_set("out of memory");
	return p;
}

/* The labels of a service of type (with its port base when P > 0). */
static json_t *service_labels(const struct deploy_req *req, const char *type, int base)
{
	char rel[32], pb[16];
	json_t *l;

	snprintf(rel, sizeof(rel), "%ld", req->release);
	snprintf(pb, sizeof(pb), "%d", base);
	l = json_pack("{s:s, s:s, s:s, s:s, s:s}", DOCKER_LABEL_MANAGED, "1", DOCKER_LABEL_ROOT,
		      wharf_root(), DOCKER_LABEL_APP, req->app, DOCKER_LABEL_PROCESS, type,
		      DOCKER_LABEL_RELEASE, rel);
	if (l && base && json_object_set_new(l, DOCKER_LABEL_PORT_BASE, json_string(pb)) < 0) {
		json_decref(l);
		l = NULL;
	}
	return l;
}

/* The environment of a task: the app's config, WHARF_APP, WHARF_PROCESS, GIT_REV, and
 * for web PORT=<P>{{.Task.Slot}}, which Swarm expands per task. */
static json_t *service_env(const struct deploy_req *req, const char *type, int base)
{
	json_t *env = json_array(), *v;
	const char *k;
	char port[48];

	json_object_foreach((json_t *)req->config, k, v)
		if (json_is_string(v) && json_env_add(env, k, json_string_value(v)) < 0)
			goto fail;
	if (json_env_add(env, "WHARF_APP", req->app) < 0 ||
	    json_env_add(env, "WHARF_PROCESS", type) < 0 ||
	    (req->git_rev && json_env_add(env, "GIT_REV", req->git_rev) < 0))
		goto fail;
	snprintf(port, sizeof(port), "%d{{.Task.Slot}}", base);
	if (base && json_env_add(env, "PORT", port) < 0)
		goto fail;
	return env;
fail:
	json_decref(env);
	return NULL;
}

/* Storage mounts (storage:mount, checked by the deploy layer as for docker-local):
 * each "HOST:CONTAINER[:ro]" a bind of HOST on whichever node runs the task. */
static json_t *service_mounts(const char *const *binds)
{
	json_t *mounts = json_array();
	size_t i;

	for (i = 0; mounts && binds && binds[i]; i++) {
		const char *b = binds[i], *c1 = strchr(b, ':'),
			   *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		json_t *m;

		if (!c1) {
			err_set("mount '%s' is not HOST:CONTAINER[:ro]", b);
			json_decref(mounts);
			return NULL;
		}
		m = json_pack("{s:s, s:s%, s:s%, s:b}", "Type", "bind", "Source", b,
			      (size_t)(c1 - b), "Target", c1 + 1,
			      c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1), "ReadOnly", c2 != NULL);
		if (!m || json_array_append_new(mounts, m) < 0) {
			err_set("out of memory");
			json_decref(mounts);
			return NULL;
		}
	}
	if (!mounts)
		err_set("out of memory");
	return mounts;
}

/* docker-args-deploy (plugins_docker_args(), the allow-list of docs/plugins.md) on a
 * service: what Swarm's ContainerSpec and Resources can say, each only where wharf set
 * nothing, as docker-local's merge does (Env appended, Labels only added, resource:limit
 * over a plugin's limits). The keys wharf's own hardening sets on every container
 * (CapDrop, SecurityOpt, PidsLimit, LogConfig) are wharf's there and here. Anything else
 * is refused, naming the option: nothing a plugin asks for is dropped silently. */
static int service_extra(json_t *cs, json_t *limits, const json_t *extra)
{
	const json_t *hc = json_object_get(extra, "HostConfig");
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)json_object_get(extra, "Config"), k, v) {
		int r = 0;
		if (!strcmp(k, "Env"))
			r = json_array_extend(json_object_get(cs, "Env"), v);
		else if (!strcmp(k, "Labels"))
			r = json_object_update_missing(json_object_get(cs, "Labels"), v);
		else if (!strcmp(k, "User") || !strcmp(k, "WorkingDir"))
			r = json_object_set(cs, !strcmp(k, "User") ? "User" : "Dir", v);
		else
			return err_set("docker-args-deploy: Config.%s cannot apply to a swarm task "
				       "(Swarm's service spec has no such field)",
				       k);
		if (r < 0)
			return err_set("out of memory");
	}
	json_object_foreach((json_t *)hc, k, v) {
		const char *why = NULL;
		int r = 0;
		size_t i;
		json_t *h;

		if (!strcmp(k, "Memory") || !strcmp(k, "NanoCpus")) {
			const char *to = !strcmp(k, "Memory") ? "MemoryBytes" : "NanoCPUs";
			if (!json_object_get(limits, to) && json_integer_value(v) > 0)
				r = json_object_set(limits, to, v);
		} else if (!strcmp(k, "ReadonlyRootfs")) {
			r = json_object_set(cs, "ReadOnly", v);
		} else if (!strcmp(k, "Ulimits")) {
			r = json_object_set(cs, "Ulimits", v);
		} else if (!strcmp(k, "ExtraHosts")) {
			/* Docker's "host:IP" is Swarm's "IP host". */
			json_t *hosts = json_array();
			json_array_foreach(v, i, h) {
				const char *s = json_string_value(h),
					   *c = s ? strchr(s, ':') : NULL;
				if (!c || json_array_append_new(
						  hosts, json_sprintf("%s %.*s", c + 1,
								      (int)(c - s), s)) < 0) {
					json_decref(hosts);
					return err_set("docker-args-deploy: HostConfig.ExtraHosts: "
						       "'%s' is not HOST:IP",
						       s ? s : "");
				}
			}
			r = json_object_set_new(cs, "Hosts", hosts);
		} else if (!strcmp(k, "CapDrop") || !strcmp(k, "SecurityOpt") ||
			   !strcmp(k, "PidsLimit") || !strcmp(k, "LogConfig")) {
			continue; /* wharf's own, as on docker-local */
		} else if (!strcmp(k, "MemorySwap")) {
			why = "Swarm's service spec has no swap limit";
		} else if (!strcmp(k, "CpuShares")) {
			why = "Swarm's service spec has no CPU shares; NanoCpus or resource:limit "
			      "cpu can";
		} else if (!strcmp(k, "ShmSize")) {
			why = "Swarm's service spec has no /dev/shm size";
		} else if (!strcmp(k, "Dns")) {
			why = "tasks use their node's network and its resolver";
		} else {
			why = "Swarm's service spec has no such field";
		}
		if (why)
			return err_set("docker-args-deploy: HostConfig.%s cannot apply to a swarm "
				       "task (%s); drop it for this app, or `scheduler:set <app> "
				       "selected docker-local`",
				       k, why);
		if (r < 0)
			return err_set("out of memory");
	}
	return 0;
}

int runtime_swarm_service_spec(json_t **out, const struct deploy_req *req, const char *type,
			       const json_t *cmd, long replicas, int base, const char *name)
{
	json_t *spec = NULL, *labels = service_labels(req, type, base),
	       *env = service_env(req, type, base), *restart = restart_policy(req->restart_policy);
	json_t *cs, *tt, *limits;
	long long memory, nano_cpus;
	int grace = req->stop_timeout_s > 0 ? req->stop_timeout_s : 10, ret = -1;

	*out = NULL;
	if (!restart)
		goto out; /* restart_policy() said why */
	if (!labels || !env) {
		err_set("out of memory");
		goto out;
	}
	if (runtime__type_limits(req->resources, type, &memory, &nano_cpus) < 0)
		goto out;
	/* What docker-local gives every container, where Swarm's ContainerSpec has it
	 * (API 1.41): Init, the capabilities, the pids limit, the log rotation. Swarm
	 * 20.10 has no no-new-privileges for tasks: runtime_swarm_spec_nnp() runs them
	 * under setpriv instead. */
	cs = json_pack("{s:s, s:O, s:O, s:b, s:I, s:[s], s:[s,s,s,s,s,s,s]}", "Image", req->image,
		       "Labels", labels, "Env", env, "Init", 1, "StopGracePeriod",
		       (json_int_t)grace * 1000000000, "CapabilityDrop", "ALL", "CapabilityAdd",
		       "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
		       "CAP_SETGID", "CAP_SETUID");
	limits = json_pack("{s:I}", "Pids", (json_int_t)DOCKER_PIDS_LIMIT_DEFAULT);
	if (limits && memory)
		json_object_set_new(limits, "MemoryBytes", json_integer(memory));
	if (limits && nano_cpus)
		json_object_set_new(limits, "NanoCPUs", json_integer(nano_cpus));
	if (cs && json_is_array(cmd))
		json_object_set(cs, "Args", (json_t *)cmd); /* as a container's Cmd */
	if (!cs || !limits) {
		json_decref(cs);
		json_decref(limits);
		err_set("out of memory");
		goto out;
	}
	if ((req->binds && req->binds[0] &&
	     json_object_set_new(cs, "Mounts", service_mounts(req->binds)) < 0) ||
	    (req->extra && service_extra(cs, limits, req->extra) < 0)) {
		json_decref(cs);
		json_decref(limits);
		goto out;
	}
	tt = json_pack("{s:o, s:{s:o}, s:O, s:{s:s, s:{s:s, s:s}}, s:[{s:s}]}", "ContainerSpec", cs,
		       "Resources", "Limits", limits, "RestartPolicy", restart, "LogDriver", "Name",
		       "json-file", "Options", "max-size",
		       req->log_max_size ? req->log_max_size : DOCKER_LOG_MAX_SIZE, "max-file",
		       req->log_max_file ? req->log_max_file : DOCKER_LOG_MAX_FILE, "Networks",
		       "Target", "host");
	spec = json_pack("{s:s, s:O, s:o, s:{s:{s:I}}}", "Name", name, "Labels", labels,
			 "TaskTemplate", tt, "Mode", "Replicated", "Replicas",
			 (json_int_t)replicas);
	if (!spec) {
		err_set("out of memory");
		goto out;
	}
	*out = spec;
	ret = 0;
out:
	json_decref(labels);
	json_decref(env);
	json_decref(restart);
	return ret;
}

int runtime_swarm_spec_nnp(json_t *spec, const json_t *image_config)
{
	json_t *cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
	json_t *entry = json_object_get(image_config, "Entrypoint"),
	       *cmd = json_object_get(image_config, "Cmd");
	json_t *command = json_pack("[s,s,s]", SWARM_SETPRIV, "--no-new-privs", "--"), *v;
	size_t i;
	int ret = -1;

	if (!json_is_object(cs) || !command) {
		err_set("runtime_swarm_spec_nnp: no ContainerSpec");
		goto out;
	}
	json_array_foreach(entry, i, v)
		if (!json_is_string(v) || json_array_append(command, v) < 0)
			goto bad;
	/* An explicit Entrypoint drops the image's Cmd: Args carries it, unless the
	 * process type has its own command there already. */
	if (!json_object_get(cs, "Args")) {
		json_array_foreach(cmd, i, v)
			if (!json_is_string(v))
				goto bad;
		if (json_is_array(cmd) && json_object_set(cs, "Args", cmd) < 0)
			goto bad;
	}
	if (json_array_size(command) == 3 && !json_array_size(json_object_get(cs, "Args"))) {
		err_set("the image has no command to run (no ENTRYPOINT, no CMD)");
		goto out;
	}
	if (json_object_set(cs, "Command", command) < 0)
		goto bad;
	ret = 0;
	goto out;
bad:
	err_set("the image's Entrypoint or Cmd is not a list of strings");
out:
	json_decref(command);
	return ret;
}

/* The config (Entrypoint, Cmd) of the release's local image when it has setpriv, so
 * its tasks run with no-new-privileges; NULL with a warning when it has not. */
static int nnp_image(struct swarm *sw, const struct deploy_req *req, json_t **out)
{
	json_t *img = NULL, *labels;
	const char *image = req->local_image ? req->local_image : req->image;
	int has = 0, ret = -1;

	*out = NULL;
	labels = json_pack("{s:s, s:s, s:s}", DOCKER_LABEL_MANAGED, "1", DOCKER_LABEL_ROOT,
			   wharf_root(), DOCKER_LABEL_APP, req->app);
	if (!labels) {
		err_set("out of memory");
		goto out;
	}
	if (docker_image_has_file(sw->d, image, labels, SWARM_SETPRIV, &has) < 0 ||
	    (has && docker_image_inspect(sw->d, image, &img) < 0))
		goto out;
	if (has)
		*out = json_incref(json_object_get(img, "Config"));
	else
		say_warn("the image has no %s: its tasks run without no-new-privileges "
			 "(docs/cluster.md)",
			 SWARM_SETPRIV);
	ret = 0;
out:
	json_decref(img);
	json_decref(labels);
	return ret;
}

/* ---- what runs -------------------------------------------------------------------- */

/* The app's services on this wharf root. */
static int app_services(struct docker *d, const char *app, json_t **out)
{
	struct docker_labels l = DOCKER_LABELS_INIT;
	int ret = -1;

	*out = NULL;
	if (docker_labels_add(&l, DOCKER_LABEL_APP, app) == 0 &&
	    docker_labels_add(&l, DOCKER_LABEL_ROOT, wharf_root()) == 0)
		ret = docker_service_list(d, l.v, out);
	docker_labels_release(&l);
	return ret;
}

static const char *svc_label(const json_t *svc, const char *key, const char *def)
{
	return json_str(json_object_get(json_object_get(svc, "Spec"), "Labels"), key, def);
}

/* The tasks of the services (an array of service objects, or of ids), desired running
 * only when running_only. */
static int services_tasks(struct docker *d, const json_t *services, int running_only, json_t **out)
{
	json_t *f = json_pack("{s:[]}", "service"), *v;
	size_t i;
	int ret;

	*out = NULL;
	if (!f)
		return err_set("out of memory");
	json_array_foreach(services, i, v)
		json_array_append_new(json_object_get(f, "service"),
				      json_string(json_is_string(v) ? json_string_value(v)
								    : json_str(v, "ID", "")));
	if (!json_array_size(json_object_get(f, "service"))) {
		json_decref(f);
		*out = json_array();
		return *out ? 0 : err_set("out of memory");
	}
	if (running_only)
		json_object_set_new(f, "desired-state", json_pack("[s]", "running"));
	ret = docker_task_list(d, f, out);
	json_decref(f);
	return ret;
}

static const json_t *service_by_id(const json_t *services, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(services, i, v)
		if (!strcmp(json_str(v, "ID", ""), id))
			return v;
	return NULL;
}

static int by_created_desc(const void *a, const void *b)
{
	const struct sched_proc *x = a, *y = b;
	return y->release > x->release   ? 1
	       : y->release < x->release ? -1
					 : strcmp(x->name, y->name);
}

static int swarm_list(struct scheduler *s, const char *app, struct sched_procs *out)
{
	json_t *services = NULL, *tasks = NULL, *nodes = NULL, *t;
	size_t i;
	int ret = -1;

	out->v = NULL;
	out->n = 0;
	if (app_services(SW(s)->d, app, &services) < 0 ||
	    services_tasks(SW(s)->d, services, 1, &tasks) < 0 ||
	    docker_node_list(SW(s)->d, &nodes) < 0)
		goto out;
	if (!(out->v = calloc(json_array_size(tasks) + 1, sizeof(*out->v)))) {
		err_set("out of memory");
		goto out;
	}
	json_array_foreach(tasks, i, t) {
		struct sched_proc *p = &out->v[out->n++];
		struct docker_task dt;
		const json_t *svc;
		int base;

		docker_task_read(t, nodes, &dt);
		svc = service_by_id(services, dt.service_id);
		base = atoi(svc_label(svc, DOCKER_LABEL_PORT_BASE, "0"));
		copy(p->id, sizeof(p->id), dt.id);
		snprintf(p->name, sizeof(p->name), "%s.%d",
			 json_str(json_object_get(svc, "Spec"), "Name", "?"), dt.slot);
		copy(p->type, sizeof(p->type), svc_label(svc, DOCKER_LABEL_PROCESS, ""));
		copy(p->state, sizeof(p->state), dt.state);
		copy(p->node, sizeof(p->node), dt.hostname[0] ? dt.hostname : dt.node_id);
		p->release = atol(svc_label(svc, DOCKER_LABEL_RELEASE, "0"));
		p->port = base && dt.slot > 0 && dt.slot <= SWARM_REPLICAS_MAX ? base * 10 + dt.slot
									       : 0;
		copy(p->addr, sizeof(p->addr), dt.addr);
		if (p->port && dt.serves)
			snprintf(p->target, sizeof(p->target), "%s:%d", p->addr, p->port);
	}
	qsort(out->v, out->n, sizeof(*out->v), by_created_desc);
	ret = 0;
out:
	json_decref(services);
	json_decref(tasks);
	json_decref(nodes);
	return ret;
}

/* GET /tasks/{id}. */
static int task_get(struct docker *d, const char *id, json_t **out)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	*out = NULL;
	if (buf_addstr(&p, "/tasks/") == 0 && docker_urlencode(&p, id) == 0)
		ret = docker_call(d, "GET", p.buf, NULL, out, NULL);
	buf_release(&p);
	return ret;
}

/* ---- a deploy --------------------------------------------------------------------- */

struct alive {
	struct docker *d;
	const char *task;
};

/* runtime_alive_fn of a task: still running, and meant to. */
static int task_alive(void *data)
{
	struct alive *a = data;
	struct docker_task t;
	json_t *task = NULL;

	if (task_get(a->d, a->task, &task) < 0)
		return -1;
	docker_task_read(task, NULL, &t);
	json_decref(task);
	if (!strcmp(t.state, "running") && !strcmp(t.desired, "running"))
		return 0;
	return err_set("task %.12s is %s%s%s", t.id, t.state, t.err[0] ? ": " : "", t.err);
}

/* Shows the last log lines of a task that failed (best effort). */
static void show_task_logs(struct docker *d, const char *task)
{
	say_warn("last lines of the task's log:");
	if (docker_swarm_logs(d, "tasks", task, 0, 20, 0, runtime__show_log_line, NULL) < 0)
		say_detail("(no log: %s)", err_msg());
}

/* Waits until `want` tasks of service id run; fails on a task that failed (with its
 * Status.Err and last log lines), or at the deadline. */
static int wait_tasks(struct docker *d, const char *id, const char *type, long want,
		      double deadline, json_t **tasks_out)
{
	json_t *ids = json_pack("[s]", id), *tasks = NULL, *nodes = NULL, *t;
	struct docker_task dt;
	char last[64] = "new";
	size_t i;
	long running, meant;
	int ret = -1;

	*tasks_out = NULL;
	for (;;) {
		json_decref(tasks);
		tasks = NULL;
		if (services_tasks(d, ids, 0, &tasks) < 0)
			goto out;
		running = meant = 0;
		json_array_foreach(tasks, i, t) {
			docker_task_read(t, NULL, &dt);
			if (docker_task_failed(&dt)) {
				err_set("a %s task %s: %s%s", type, dt.state,
					dt.err[0] ? dt.err : "(no reason given)",
					strstr(dt.err, "bind source path")
						? " (a storage mount's host dir must exist on "
						  "every "
						  "node that may run the app)"
						: "");
				show_task_logs(d, dt.id);
				goto out;
			}
			if (!strcmp(dt.desired, "running")) {
				meant++;
				running += !strcmp(dt.state, "running");
				if (strcmp(dt.state, "running"))
					copy(last, sizeof(last), dt.state);
			}
		}
		/* Scaled down, the tasks beyond want are first told to stop. */
		if (running >= want && meant <= want)
			break;
		if (clock_now_s() > deadline) {
			err_set("%ld of %ld %s task%s running in time (one is %s); see "
				"`wharf cluster:report`",
				running, want, type, want > 1 ? "s" : "", last);
			goto out;
		}
		runtime__sleep_ms(250);
	}
	/* Keep the running ones with their nodes, for the checks. */
	if (docker_node_list(d, &nodes) < 0)
		goto out;
	*tasks_out = json_array();
	json_array_foreach(tasks, i, t) {
		docker_task_read(t, nodes, &dt);
		if (!strcmp(dt.state, "running") && !strcmp(dt.desired, "running"))
			json_array_append(*tasks_out, t);
	}
	ret = 0;
out:
	json_decref(ids);
	json_decref(tasks);
	json_decref(nodes);
	return ret;
}

/* Waits for one web task to listen on its port, runs the checks against it there, and
 * appends its target. */
static int check_web_task(struct docker *d, const struct deploy_req *req, const json_t *task,
			  const json_t *nodes, int base, double deadline, json_t *targets)
{
	const char *host = json_string_value(json_array_get(req->domains, 0));
	struct docker_task t;
	struct alive a = { d, NULL };
	char target[80];
	int port;

	docker_task_read(task, nodes, &t);
	a.task = t.id;
	port = base * 10 + t.slot;
	if (!t.addr[0])
		return err_set("the node of task %.12s has no address", t.id);
	say_detail("web.%d on %s (%s:%d)", t.slot, t.hostname, t.addr, port);
	while (!runtime__port_accepts(t.addr, port)) {
		if (task_alive(&a) < 0) {
			show_task_logs(d, t.id);
			return -1;
		}
		if (clock_now_s() > deadline)
			return err_set("the web task on %s did not listen on PORT %d in time "
				       "(WHARF_LISTEN_TIMEOUT; apps must listen on $PORT)",
				       t.hostname, port);
		runtime__sleep_ms(100);
	}
	if (runtime__checks_off(req, "web"))
		say_detail("checks skipped (checks:%s)",
			   runtime_type_listed(req->checks_disabled, "web") ? "disable" : "skip");
	else if (runtime_run_checks_with(task_alive, &a, t.addr, port, host ? host : "localhost",
					 req->checks) < 0) {
		show_task_logs(d, t.id);
		return -1;
	}
	if (req->check_fn && req->check_fn(req->check_data, t.id, "web", port, t.addr) < 0)
		return -1;
	snprintf(target, sizeof(target), "%s:%d", t.addr, port);
	return json_array_append_new(targets, json_string(target));
}

/* The port base of this deploy's web service: the app's one the current web services
 * do not use (each deploy alternates, so an old and a new task never want one port). */
static int pick_base(const struct deploy_req *req, const json_t *old, int *base, int *parity)
{
	size_t i;
	json_t *v;
	int used0 = 0;

	if (req->port_bases[0] < 1100 || req->port_bases[1] < 1100 ||
	    req->port_bases[0] == req->port_bases[1])
		return err_set("the app has no swarm port bases (the deploy layer allocates them)");
	json_array_foreach(old, i, v)
		if (atoi(svc_label(v, DOCKER_LABEL_PORT_BASE, "0")) == req->port_bases[0])
			used0 = 1;
	*parity = used0;
	*base = req->port_bases[used0];
	return 0;
}

/* Waits (bounded) until no node accepts connections on the ports the new web tasks
 * will take (base*10 + 1..n): a task of a service removed moments ago (the previous
 * deploy of this parity, a failed one) may still hold its port while it stops. */
static void wait_ports_free(struct docker *d, int base, long n, const int *busy, int grace_s)
{
	double deadline = clock_now_s() + grace_s + 5;
	struct buf addr = BUF_INIT;
	json_t *nodes = NULL, *node;
	size_t i;
	long slot;

	if (docker_node_list(d, &nodes) < 0) {
		err_clear(); /* handled: the tasks' own bind tells */
		return;
	}
	json_array_foreach(nodes, i, node) {
		buf_reset(&addr);
		if (docker_node_addr(node, &addr) < 0) {
			err_clear(); /* handled: no address, nothing to wait for */
			continue;
		}
		for (slot = 1; slot <= n; slot++)
			while (!(busy && busy[slot]) &&
			       runtime__port_accepts(addr.buf, (int)(base * 10 + slot)) &&
			       clock_now_s() < deadline)
				runtime__sleep_ms(100);
	}
	json_decref(nodes);
	buf_release(&addr);
}

/* Removes the services of list whose id is not in keep (ids; NULL keeps none). */
static int remove_services(struct docker *d, const json_t *list, const json_t *keep)
{
	size_t i, j;
	json_t *v, *k;
	int ret = 0;

	json_array_foreach(list, i, v) {
		const char *id = json_is_string(v) ? json_string_value(v) : json_str(v, "ID", "");
		int kept = 0;
		json_array_foreach(keep, j, k)
			kept |= !strcmp(json_string_value(k), id);
		if (kept)
			continue;
		if (docker_service_remove(d, id) < 0) {
			say_warn("could not remove service %.12s: %s", id, err_msg());
			ret = -1;
		}
	}
	return ret;
}

static int check_formation(const struct deploy_req *req, const json_t *procs)
{
	const char *type;
	json_t *cmd;

	json_object_foreach((json_t *)procs, type, cmd) {
		long n = runtime__formation_count(req->formation, type);
		if (!strcmp(type, "release"))
			continue;
		if (n > SWARM_REPLICAS_MAX)
			return err_set("%s=%ld: a swarm app runs at most %d %s processes (each "
				       "task's port ends in its slot, 1-9); scale to %d or fewer",
				       type, n, SWARM_REPLICAS_MAX, type, SWARM_REPLICAS_MAX);
	}
	/* ports:set's container side is used, on docker-local, only without overlap
	 * (checks:disable web): one container on a fixed port. A task shares its node's
	 * network and listens on PORT=<P><slot>; a fixed port there would meet the node's
	 * own services and the sync could not follow it. */
	if (req->web_port && runtime_type_listed(req->checks_disabled, "web") &&
	    runtime__formation_count(req->formation, "web") > 0 && json_object_get(procs, "web"))
		return err_set("ports:set's container port %d is not used on the swarm: each web "
			       "task listens on its own $PORT on its node's network (docs/"
			       "cluster.md); make the app listen on $PORT and `ports:clear %s` "
			       "(or `checks:enable %s web`), or `scheduler:set %s selected "
			       "docker-local`",
			       req->web_port, req->app, req->app, req->app);
	return 0;
}

/* The release phase on the manager's Docker, with the release's local image. */
static int swarm_release_phase(struct swarm *sw, const struct deploy_req *req, const json_t *cmd)
{
	struct deploy_req r = *req;

	r.image = req->local_image ? req->local_image : req->image;
	if (runtime_app_network(sw->d, req->app, NULL, NULL) < 0)
		return -1;
	return runtime__release_phase(sw->d, &r, cmd);
}

/* Creates the service of one type; its id goes to created. */
static int create_service(struct swarm *sw, const struct deploy_req *req, const char *type,
			  const json_t *cmd, long n, int base, int parity, const json_t *nnp,
			  json_t *created)
{
	struct buf name = BUF_INIT, id = BUF_INIT;
	json_t *spec = NULL;
	int ret = -1;

	if (runtime_swarm_service_name(&name, req->app, type, req->release, parity,
				       (unsigned)rand()) < 0 ||
	    runtime_swarm_service_spec(&spec, req, type, cmd, n, base, name.buf) < 0 ||
	    (nnp && runtime_swarm_spec_nnp(spec, nnp) < 0))
		goto out;
	say_step("Starting %ld %s task%s for release %ld (service %s)", n, type, n == 1 ? "" : "s",
		 req->release, name.buf);
	if (base)
		say_detail("ports %d1-%d%ld", base, base, n);
	if (docker_service_create(sw->d, spec, req->registry_auth, &id) < 0)
		goto out;
	json_array_append_new(created, json_string(id.buf));
	ret = 0;
out:
	json_decref(spec);
	buf_release(&name);
	buf_release(&id);
	return ret;
}

/* An app that ran on this host (docker-local) before scheduler:set moved it: its
 * containers that are not swarm tasks go once the swarm serves it. */
static void retire_local(struct docker *d, const char *app, int grace_s)
{
	json_t *list = NULL, *c;
	size_t i;

	if (runtime_app_containers(d, app, &list) < 0) {
		say_warn("could not list %s's containers on this host: %s", app, err_msg());
		return;
	}
	json_array_foreach(list, i, c) {
		const char *id = json_str(c, "Id", "");
		if (json_str(json_object_get(c, "Labels"), "com.docker.swarm.task.id", NULL))
			continue;
		say_detail("removing container %.12s of this host (the app runs on the swarm now)",
			   id);
		if (docker_container_stop(d, id, grace_s) < 0 ||
		    docker_container_remove(d, id, 1) < 0)
			say_warn("could not remove container %.12s: %s", id, err_msg());
	}
	json_decref(list);
}

/* Waits (bounded) until no task of service id runs any more. */
static int wait_stopped(struct docker *d, const char *id, double deadline)
{
	json_t *ids = json_pack("[s]", id), *tasks = NULL, *t;
	struct docker_task dt;
	size_t i;
	int up, ret = -1;

	if (!ids)
		return err_set("out of memory");
	for (;;) {
		json_decref(tasks);
		tasks = NULL;
		if (services_tasks(d, ids, 0, &tasks) < 0)
			break;
		up = 0;
		json_array_foreach(tasks, i, t) {
			docker_task_read(t, NULL, &dt);
			up += !strcmp(dt.state, "running") || !strcmp(dt.state, "starting");
		}
		if (!up) {
			ret = 0;
			break;
		}
		if (clock_now_s() > deadline) {
			err_set("%d task%s of service %.12s still running after the stop grace", up,
				up == 1 ? "" : "s", id);
			break;
		}
		runtime__sleep_ms(250);
	}
	json_decref(tasks);
	json_decref(ids);
	return ret;
}

/* checks:disable, as on docker-local: the old services of a disabled type are scaled
 * to 0 and their tasks stopped before the new ones start (no overlap). Each goes to
 * stopped as [id, replicas], so a failed deploy scales it back; a successful one
 * removes it with the other old services. */
static int stop_old_of_type(struct docker *d, const json_t *old, const char *type, json_t *stopped,
			    int grace_s)
{
	size_t i;
	json_t *v;

	json_array_foreach(old, i, v) {
		const char *id = json_str(v, "ID", "");
		json_int_t n = json_int(
			json_object_get(json_object_get(json_object_get(v, "Spec"), "Mode"),
					"Replicated"),
			"Replicas", 0);
		if (strcmp(svc_label(v, DOCKER_LABEL_PROCESS, ""), type) || n <= 0)
			continue;
		say_step("Stopping old %s service %s first (checks:disable %s)", type,
			 json_str(json_object_get(v, "Spec"), "Name", id), type);
		if (docker_service_scale(d, id, 0, NULL) < 0)
			return -1;
		json_array_append_new(stopped, json_pack("[s,I]", id, n));
		if (wait_stopped(d, id, clock_now_s() + grace_s + 15) < 0)
			return -1;
	}
	return 0;
}

/* A failed deploy after checks:disable stopped old services: they run again (for web,
 * on the ports the route names; cluster:sync follows a task that moved to another node). */
static void restart_stopped(struct docker *d, const json_t *stopped, const char *auth)
{
	size_t i;
	json_t *v;

	json_array_foreach(stopped, i, v) {
		const char *id = json_string_value(json_array_get(v, 0));
		say_step("Starting old service %.12s again", id);
		if (docker_service_scale(d, id, (long)json_integer_value(json_array_get(v, 1)),
					 auth) < 0)
			say_warn("could not start old service %.12s again: %s", id, err_msg());
	}
}

static int swarm_deploy(struct scheduler *s, const struct deploy_req *req)
{
	struct swarm *sw = SW(s);
	json_t *web_only = NULL, *old = NULL, *created = json_array(), *targets = json_array(),
	       *stopped = json_array(), *nnp = NULL, *cmd;
	const json_t *procs = req->processes;
	const char *type;
	int wait_s = req->listen_wait_s > 0 ? req->listen_wait_s : 60;
	int grace = req->stop_timeout_s > 0 ? req->stop_timeout_s : 10;
	int base = 0, parity = 0, ret = -1;
	double t0 = clock_now_s();
	size_t k;

	if (!procs)
		procs = web_only = json_pack("{s:n}", "web");
	if (!created || !targets || !stopped || !procs) {
		err_set("out of memory");
		goto out;
	}
	if (check_formation(req, procs) < 0 || app_services(sw->d, req->app, &old) < 0 ||
	    pick_base(req, old, &base, &parity) < 0 || nnp_image(sw, req, &nnp) < 0)
		goto out;
	cmd = json_object_get(procs, "release");
	if (cmd && swarm_release_phase(sw, req, cmd) < 0)
		goto out;
	json_object_foreach((json_t *)procs, type, cmd) {
		long n = runtime__formation_count(req->formation, type);
		if (!strcmp(type, "release"))
			continue;
		if (runtime_type_listed(req->checks_disabled, type) &&
		    stop_old_of_type(sw->d, old, type, stopped, grace) < 0)
			goto failed;
		if (n <= 0)
			continue;
		if (!strcmp(type, "web"))
			wait_ports_free(sw->d, base, n, NULL, grace);
		if (create_service(sw, req, type, cmd, n, !strcmp(type, "web") ? base : 0, parity,
				   nnp, created) < 0)
			goto failed;
	}
	/* Each type's tasks run, then each web task listens and passes its checks. */
	k = 0;
	json_object_foreach((json_t *)procs, type, cmd) {
		long n = runtime__formation_count(req->formation, type);
		json_t *tasks = NULL, *nodes = NULL, *t;
		size_t i;
		int r = 0;

		if (!strcmp(type, "release") || n <= 0)
			continue;
		if (wait_tasks(sw->d, json_string_value(json_array_get(created, k++)), type, n,
			       t0 + wait_s + 60, &tasks) < 0)
			goto failed;
		if (!strcmp(type, "web") && docker_node_list(sw->d, &nodes) == 0) {
			json_array_foreach(tasks, i, t)
				if ((r = check_web_task(sw->d, req, t, nodes, base,
							clock_now_s() + wait_s, targets)) < 0)
					break;
		} else if (!strcmp(type, "web")) {
			r = -1;
		}
		json_decref(tasks);
		json_decref(nodes);
		if (r < 0)
			goto failed;
	}
	say_detail("started after %.1fs", clock_now_s() - t0);
	if (json_array_size(targets)) {
		say_step("Switching the router to %zu task%s on the swarm",
			 json_array_size(targets), json_array_size(targets) == 1 ? "" : "s");
		if (runtime__switch_router(req, targets) < 0)
			goto failed;
		say_detail("serving after %.1fs", clock_now_s() - t0);
	} else if (router_client_delete(req->app) < 0) {
		goto failed;
	}
	say_step("Retiring old services");
	remove_services(sw->d, old, created); /* a leftover is reported, not fatal */
	retire_local(sw->d, req->app, grace);
	ret = 0;
	goto out;
failed : {
	struct err_saved why;

	err_save(&why);
	if (remove_services(sw->d, created, NULL) < 0)
		say_warn("new services may be left; the next deploy removes them");
	restart_stopped(sw->d, stopped, req->registry_auth);
	err_restore(&why);
}
out:
	json_decref(web_only);
	json_decref(nnp);
	json_decref(old);
	json_decref(created);
	json_decref(targets);
	json_decref(stopped);
	return ret;
}

/* 1 when the route's targets are on the service's ports. */
static int routed(const json_t *svc, const json_t *route)
{
	int base = atoi(svc_label(svc, DOCKER_LABEL_PORT_BASE, "0"));
	size_t i;
	json_t *t;

	json_array_foreach(json_object_get(route, "targets"), i, t) {
		const char *colon = strrchr(json_string_value(t), ':');
		if (base && colon && atoi(colon + 1) / 10 == base)
			return 1;
	}
	return 0;
}

/* ---- scale ------------------------------------------------------------------------ */

/* The service of type that serves now: for web the one the route names (by its port
 * base), for the others the newest release's. NULL when there is none. */
static const json_t *current_service(const json_t *services, const char *type, const json_t *route)
{
	const json_t *best = NULL;
	size_t i;
	json_t *v;

	json_array_foreach(services, i, v) {
		if (strcmp(svc_label(v, DOCKER_LABEL_PROCESS, ""), type))
			continue;
		if (!strcmp(type, "web")
			    ? routed(v, route)
			    : !best || atol(svc_label(v, DOCKER_LABEL_RELEASE, "0")) >
					       atol(svc_label(best, DOCKER_LABEL_RELEASE, "0")))
			best = v;
	}
	return best;
}

/* Sets a service's replicas and its release label (the release the deploy layer
 * records for the new formation); the tasks that run are left as they are. */
static int rescale(struct docker *d, const char *id, long replicas, long release, const char *auth)
{
	json_t *svc = NULL, *spec, *mode;
	char rel[32];
	int ret = -1;

	snprintf(rel, sizeof(rel), "%ld", release);
	if (docker_service_inspect(d, id, &svc) < 0)
		return -1;
	if (!svc)
		return err_set("service %.12s went away", id);
	spec = json_object_get(svc, "Spec");
	mode = json_object_get(json_object_get(spec, "Mode"), "Replicated");
	if (!mode || json_object_set_new(mode, "Replicas", json_integer(replicas)) < 0 ||
	    json_object_set_new(json_object_get(spec, "Labels"), DOCKER_LABEL_RELEASE,
				json_string(rel)) < 0) {
		err_set("service %.12s cannot be scaled", id);
		goto out;
	}
	ret = docker_service_update(d, id, json_int(json_object_get(svc, "Version"), "Index", 0),
				    spec, auth);
out:
	json_decref(svc);
	return ret;
}

/* busy[S] = 1 for each slot S (1..9) a task of service id is meant to run in. */
static int busy_slots(struct docker *d, const char *id, int *busy)
{
	json_t *ids = json_pack("[s]", id), *tasks = NULL, *t;
	struct docker_task dt;
	size_t i;
	int ret;

	memset(busy, 0, sizeof(int) * (SWARM_REPLICAS_MAX + 1));
	if (!ids)
		return err_set("out of memory");
	ret = services_tasks(d, ids, 1, &tasks);
	json_array_foreach(tasks, i, t) {
		docker_task_read(t, NULL, &dt);
		if (dt.slot >= 1 && dt.slot <= SWARM_REPLICAS_MAX)
			busy[dt.slot] = 1;
	}
	json_decref(tasks);
	json_decref(ids);
	if (ret < 0)
		err_clear(); /* handled: nothing is waited for; the tasks' own bind tells */
	return ret;
}

/* A new formation of the release that runs: each type's service gets its replicas
 * (Swarm starts or stops tasks), new web tasks are checked, and the router gets every
 * serving web task. A type without a service (0 before) is a deploy. */
static int swarm_scale(struct scheduler *s, const struct deploy_req *req)
{
	struct swarm *sw = SW(s);
	json_t *services = NULL, *route = NULL, *web_only = NULL, *targets = json_array(), *cmd;
	const json_t *procs = req->processes, *svc;
	const char *type;
	double t0 = clock_now_s();
	int wait_s = req->listen_wait_s > 0 ? req->listen_wait_s : 60, ret = -1;

	if (!procs)
		procs = web_only = json_pack("{s:n}", "web");
	if (!targets || !procs) {
		err_set("out of memory");
		goto out;
	}
	if (check_formation(req, procs) < 0 || router_client_get(req->app, &route) < 0 ||
	    app_services(sw->d, req->app, &services) < 0)
		goto out;
	/* A type that has no service yet (or a web not routed) needs a deploy. */
	json_object_foreach((json_t *)procs, type, cmd) {
		if (strcmp(type, "release") && runtime__formation_count(req->formation, type) > 0 &&
		    !current_service(services, type, route)) {
			ret = swarm_deploy(s, req);
			goto out;
		}
	}
	json_object_foreach((json_t *)procs, type, cmd) {
		long n = runtime__formation_count(req->formation, type);
		json_t *tasks = NULL, *nodes = NULL, *t;
		const json_t *old_targets = json_object_get(route, "targets");
		int base, r = 0, busy[SWARM_REPLICAS_MAX + 1];
		size_t i, j;

		if (!strcmp(type, "release") || !(svc = current_service(services, type, route)))
			continue;
		base = atoi(svc_label(svc, DOCKER_LABEL_PORT_BASE, "0"));
		say_step("Scaling %s to %ld on the swarm", type, n);
		/* New tasks take the free slots: a task of a slot scaled away moments ago
		 * may still hold that slot's port while it stops. */
		if (base && busy_slots(sw->d, json_str(svc, "ID", ""), busy) == 0)
			wait_ports_free(sw->d, base, n, busy,
					req->stop_timeout_s > 0 ? req->stop_timeout_s : 10);
		if (rescale(sw->d, json_str(svc, "ID", ""), n, req->release, req->registry_auth) <
			    0 ||
		    (n > 0 && wait_tasks(sw->d, json_str(svc, "ID", ""), type, n, t0 + wait_s + 60,
					 &tasks) < 0))
			goto out;
		if (strcmp(type, "web") || n <= 0) {
			json_decref(tasks);
			continue;
		}
		/* Tasks already routed were checked when they started; new ones now. */
		if (docker_node_list(sw->d, &nodes) < 0) {
			json_decref(tasks);
			goto out;
		}
		json_array_foreach(tasks, i, t) {
			struct docker_task dt;
			char target[80];
			int known = 0;
			json_t *o;

			docker_task_read(t, nodes, &dt);
			snprintf(target, sizeof(target), "%s:%d", dt.addr, base * 10 + dt.slot);
			json_array_foreach(old_targets, j, o)
				known |= !strcmp(json_string_value(o), target);
			if (known)
				r = json_array_append_new(targets, json_string(target));
			else
				r = check_web_task(sw->d, req, t, nodes, base,
						   clock_now_s() + wait_s, targets);
			if (r < 0)
				break;
		}
		json_decref(tasks);
		json_decref(nodes);
		if (r < 0)
			goto out;
	}
	if (json_array_size(targets)) {
		say_step("Switching the router to %zu task%s on the swarm",
			 json_array_size(targets), json_array_size(targets) == 1 ? "" : "s");
		if (runtime__switch_router(req, targets) < 0)
			goto out;
	} else if (router_client_delete(req->app) < 0) {
		goto out;
	}
	say_detail("scaled after %.1fs", clock_now_s() - t0);
	ret = 0;
out:
	json_decref(services);
	json_decref(route);
	json_decref(web_only);
	json_decref(targets);
	return ret;
}

/* ---- the other operations --------------------------------------------------------- */

static int swarm_logs(struct scheduler *s, const char *id, int follow, int tail, long long since,
		      docker_output_fn *fn, void *data)
{
	return docker_swarm_logs(SW(s)->d, "tasks", id, follow, tail, since, fn, data);
}

static int node_scheduler(struct swarm *sw, const char *node_id, struct scheduler **out);

/* One node's share of ps:stats: its tasks' containers, measured on its own Docker. */
struct node_stats {
	char node_id[72], hostname[128];
	struct scheduler *sched; /* NULL: the node was not reached: why */
	char why[320];
	const char **cids; /* container ids */
	size_t *idx;       /* their indexes in the caller's ids */
	size_t n;
	int sample;
	struct sched_stats *out; /* n */
	pthread_t th;
	int threaded;
};

static void *node_stats_run(void *arg)
{
	struct node_stats *j = arg;

	if (scheduler_stats(j->sched, j->cids, j->n, j->sample, j->out) < 0) {
		copy(j->why, sizeof(j->why), err_msg());
		j->sched = NULL;
		err_clear(); /* handled: each of its tasks says why */
	}
	return NULL;
}

/* The tasks' containers, asked on the Docker of the node running each: one node
 * opened once, the nodes side by side (each samples its second at the same time). A
 * node that cannot be reached gives its tasks ok -1 with the reason; the others are
 * measured. */
static int swarm_stats(struct scheduler *s, const char *const *ids, size_t n, int sample,
		       struct sched_stats *out)
{
	struct swarm *sw = SW(s);
	struct docker_task *dt = n ? calloc(n, sizeof(*dt)) : NULL;
	struct node_stats *jobs = n ? calloc(n, sizeof(*jobs)) : NULL;
	json_t *f = json_pack("{s:[]}", "id"), *tasks = NULL, *nodes = NULL, *t;
	size_t i, k, m, njobs = 0;
	int ret = -1;

	if (n)
		memset(out, 0, n * sizeof(*out));
	if (!n) {
		ret = 0;
		goto out;
	}
	if (!dt || !jobs || !f) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		json_array_append_new(json_object_get(f, "id"), json_string(ids[i]));
	if (docker_task_list(sw->d, f, &tasks) < 0 || docker_node_list(sw->d, &nodes) < 0)
		goto out;
	json_array_foreach(tasks, k, t) {
		struct docker_task x;

		docker_task_read(t, nodes, &x);
		for (i = 0; i < n; i++)
			if (!strcmp(x.id, ids[i]))
				dt[i] = x;
	}
	for (i = 0; i < n; i++) {
		struct node_stats *j;

		/* Gone from the manager, no longer running: it went away (ok 0). */
		if (!dt[i].id[0] || strcmp(dt[i].state, "running") || !dt[i].container_id[0])
			continue;
		for (k = 0; k < njobs && strcmp(jobs[k].node_id, dt[i].node_id); k++)
			;
		j = &jobs[k];
		if (k == njobs) {
			njobs++;
			copy(j->node_id, sizeof(j->node_id), dt[i].node_id);
			copy(j->hostname, sizeof(j->hostname),
			     dt[i].hostname[0] ? dt[i].hostname : dt[i].node_id);
			j->sample = sample;
			j->cids = calloc(n, sizeof(*j->cids));
			j->idx = calloc(n, sizeof(*j->idx));
			j->out = calloc(n, sizeof(*j->out));
			if (!j->cids || !j->idx || !j->out) {
				err_set("out of memory");
				goto out;
			}
			if (node_scheduler(sw, j->node_id, &j->sched) < 0) {
				copy(j->why, sizeof(j->why), err_msg());
				err_clear(); /* handled: each of its tasks says why */
			}
		}
		j->cids[j->n] = dt[i].container_id;
		j->idx[j->n++] = i;
	}
	/* Every node on a thread of its own when there are several (sampled at once). */
	for (k = 0; k < njobs; k++)
		if (jobs[k].sched && njobs > 1 &&
		    pthread_create(&jobs[k].th, NULL, node_stats_run, &jobs[k]) == 0)
			jobs[k].threaded = 1;
	for (k = 0; k < njobs; k++) {
		if (jobs[k].threaded)
			pthread_join(jobs[k].th, NULL);
		else if (jobs[k].sched)
			node_stats_run(&jobs[k]);
	}
	for (k = 0; k < njobs; k++)
		for (m = 0; m < jobs[k].n; m++) {
			struct sched_stats *o = &out[jobs[k].idx[m]];

			if (jobs[k].sched) {
				*o = jobs[k].out[m];
				continue;
			}
			o->ok = -1;
			snprintf(o->why, sizeof(o->why), "node %.60s: %.250s", jobs[k].hostname,
				 jobs[k].why);
		}
	ret = 0;
out:
	for (k = 0; jobs && k < njobs; k++) {
		free(jobs[k].cids);
		free(jobs[k].idx);
		free(jobs[k].out);
	}
	free(jobs);
	free(dt);
	json_decref(f);
	json_decref(tasks);
	json_decref(nodes);
	return ret;
}

/* GET /containers/{id}/top of the task's container, on its node's Docker. */
static int swarm_top(struct scheduler *s, const char *id, json_t **out)
{
	struct swarm *sw = SW(s);
	struct scheduler *ns;
	struct docker_task t;
	json_t *task = NULL;

	*out = NULL;
	if (task_get(sw->d, id, &task) < 0)
		return -1;
	docker_task_read(task, NULL, &t);
	json_decref(task);
	if (strcmp(t.state, "running") || !t.container_id[0])
		return err_set("task %.12s is %s", id, t.state);
	if (node_scheduler(sw, t.node_id, &ns) < 0)
		return -1;
	return scheduler_top(ns, t.container_id, out);
}

static int swarm_state(struct scheduler *s, const char *id, struct sched_state *out)
{
	struct docker_task t;
	json_t *task = NULL;

	memset(out, 0, sizeof(*out));
	if (task_get(SW(s)->d, id, &task) < 0)
		return -1;
	docker_task_read(task, NULL, &t);
	copy(out->status, sizeof(out->status), t.state);
	out->exit_code = t.exit_code;
	/* A task is never restarted: Swarm makes a new one, which list shows. */
	copy(out->started_at, sizeof(out->started_at),
	     json_str(json_object_get(task, "Status"), "Timestamp", ""));
	json_decref(task);
	return 0;
}

#define SWARM_EVENTS_MAX 1000

/* a and b, both oldest first, as one list oldest first (a's first at the same second);
 * takes both. */
static json_t *events_merge(json_t *a, json_t *b)
{
	json_t *m = json_array();
	size_t i = 0, j = 0, na = json_array_size(a), nb = json_array_size(b);

	while (m && (i < na || j < nb)) {
		json_t *x = json_array_get(a, i), *y = json_array_get(b, j);
		int take_a = j >= nb || (i < na && strcmp(json_str(x, "time", ""),
							  json_str(y, "time", "")) <= 0);

		if (json_array_append(m, take_a ? x : y) < 0) {
			json_decref(m);
			m = NULL;
			break;
		}
		if (take_a)
			i++;
		else
			j++;
	}
	json_decref(a);
	json_decref(b);
	if (!m)
		err_set("out of memory");
	return m;
}

/* The services' own events (create, update, remove) of the services named in names
 * ({name: process}), from the manager; service events carry no labels (Docker 20.10),
 * hence the names: the app's services now, and those its tasks' containers ran for. */
static int service_events(struct docker *d, const json_t *names, long long since, long long until,
			  json_t **out)
{
	json_t *f = json_pack("{s:[s], s:[]}", "type", "service", "service"), *list = NULL, *ev;
	const char *name;
	json_t *v;
	size_t i;
	int ret = -1;

	*out = json_array();
	if (!f || !*out) {
		err_set("out of memory");
		goto out;
	}
	json_object_foreach((json_t *)names, name, v)
		json_array_append_new(json_object_get(f, "service"), json_string(name));
	if (!json_object_size(names)) {
		ret = 0;
		goto out;
	}
	if (docker_events(d, since, until, f, SWARM_EVENTS_MAX, &list) < 0)
		goto out;
	json_array_foreach(list, i, ev) {
		const json_t *attrs = json_object_get(json_object_get(ev, "Actor"), "Attributes");
		const char *svc = json_str(attrs, "name", ""), *replicas;
		char action[48];
		json_t *e;

		if (!json_object_get(names, svc))
			continue; /* a prefix of another name (Docker matches those too) */
		if (!(e = runtime__event_entry(ev)))
			goto oom;
		snprintf(action, sizeof(action), "service-%.30s", json_str(e, "action", ""));
		json_object_set_new(e, "action", json_string(action));
		json_object_set_new(e, "name", json_string(svc));
		json_object_set(e, "process", json_object_get(names, svc));
		replicas = json_str(attrs, "replicas.new", NULL);
		if (replicas)
			json_object_set_new(e, "replicas", json_integer(atoi(replicas)));
		if (json_array_append_new(*out, e) < 0)
			goto oom;
	}
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	if (ret < 0) {
		json_decref(*out);
		*out = NULL;
	}
	json_decref(f);
	json_decref(list);
	return ret;
}

/* The app's containers' events on every node of the swarm (each node's Docker keeps
 * its own), each with its node, merged in time order with the services' events from
 * the manager. A node that cannot be reached is an {"node", "error"} entry. */
static int swarm_events(struct scheduler *s, const char *app, long long since, long long until,
			json_t **out)
{
	struct swarm *sw = SW(s);
	json_t *nodes = NULL, *services = NULL, *names = json_object(), *merged = json_array(),
	       *errors = json_array(), *list = NULL, *v, *e;
	size_t i, j;
	int ret = -1;

	*out = NULL;
	if (!names || !merged || !errors) {
		err_set("out of memory");
		goto out;
	}
	if (docker_node_list(sw->d, &nodes) < 0 || app_services(sw->d, app, &services) < 0)
		goto out;
	json_array_foreach(services, i, v)
		json_object_set_new(names, json_str(json_object_get(v, "Spec"), "Name", ""),
				    json_string(svc_label(v, DOCKER_LABEL_PROCESS, "")));
	json_array_foreach(nodes, i, v) {
		const char *id = json_str(v, "ID", ""),
			   *host = json_str(json_object_get(v, "Description"), "Hostname", id);
		struct scheduler *ns;

		if (node_scheduler(sw, id, &ns) < 0 ||
		    scheduler_events(ns, app, since, until, &list) < 0) {
			e = json_pack("{s:s, s:s}", "node", host, "error", err_msg());
			err_clear(); /* handled: the entry says it */
			if (!e || json_array_append_new(errors, e) < 0)
				goto oom;
			continue;
		}
		json_array_foreach(list, j, e) {
			/* A task's container is "<service>.<slot>.<task id>". */
			const char *name = json_str(e, "name", ""), *dot = strchr(name, '.');
			char svc[128];

			json_object_set_new(e, "node", json_string(host));
			if (dot && (size_t)(dot - name) < sizeof(svc)) {
				memcpy(svc, name, (size_t)(dot - name));
				svc[dot - name] = '\0';
				if (!strncmp(svc, "wharf-", 6) && !json_object_get(names, svc))
					json_object_set(names, svc, json_object_get(e, "process"));
			}
		}
		merged = events_merge(merged, list); /* takes both, even when it fails */
		list = NULL;
		if (!merged)
			goto out;
	}
	if (service_events(sw->d, names, since, until, &list) < 0)
		goto out;
	merged = events_merge(merged, list);
	list = NULL;
	if (!merged)
		goto out;
	/* The newest SWARM_EVENTS_MAX, as each Docker gives. */
	while (json_array_size(merged) > SWARM_EVENTS_MAX)
		json_array_remove(merged, 0);
	if (json_array_extend(errors, merged) < 0)
		goto oom;
	*out = errors;
	errors = NULL;
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
out:
	json_decref(nodes);
	json_decref(services);
	json_decref(names);
	json_decref(merged);
	json_decref(errors);
	json_decref(list);
	return ret;
}

static int swarm_run(struct scheduler *s, const struct sched_oneoff *o, const struct sched_io *io,
		     long long *code)
{
	/* One-off processes run on the manager, where the release's image is. */
	return scheduler_run(SW(s)->local, o, io, code);
}

/* The service id of a task. */
static int task_service(struct docker *d, const char *id, struct docker_task *t)
{
	json_t *task = NULL;

	if (task_get(d, id, &task) < 0)
		return -1;
	docker_task_read(task, NULL, t);
	json_decref(task);
	return 0;
}

/* This dockerd's own node id (GET /info Swarm.NodeID). */
static int own_node(struct docker *d, struct buf *out)
{
	json_t *info = NULL;
	int ret = -1;

	if (docker_call(d, "GET", "/info", NULL, &info, NULL) == 0)
		ret = buf_addstr(out, json_str(json_object_get(info, "Swarm"), "NodeID", ""));
	json_decref(info);
	return ret;
}

/* The docker-local scheduler of node_id (borrowed): the manager's own, or one on that
 * node's dockerd, opened the first time this scheduler asks (one command) and kept,
 * as is the reason it could not be: a node that does not answer costs one try. */
static int node_scheduler(struct swarm *sw, const char *node_id, struct scheduler **out)
{
	struct swarm_node *grown, *nd = NULL;
	size_t i;

	*out = NULL;
	if (!sw->self[0]) {
		struct buf self = BUF_INIT;
		int r = own_node(sw->d, &self);

		if (r == 0)
			copy(sw->self, sizeof(sw->self), self.buf);
		buf_release(&self);
		if (r < 0)
			return -1;
	}
	if (!strcmp(sw->self, node_id)) {
		*out = sw->local;
		return 0;
	}
	for (i = 0; i < sw->nnodes && !nd; i++)
		if (!strcmp(sw->nodes[i].id, node_id))
			nd = &sw->nodes[i];
	if (!nd) {
		if (!(grown = realloc(sw->nodes, (sw->nnodes + 1) * sizeof(*grown))))
			return err_set("out of memory");
		sw->nodes = grown;
		nd = &grown[sw->nnodes++];
		memset(nd, 0, sizeof(*nd));
		copy(nd->id, sizeof(nd->id), node_id);
		if (!sw->node_open)
			snprintf(nd->why, sizeof(nd->why),
				 "the task runs on node %.12s, whose Docker this host cannot reach",
				 node_id);
		else if (sw->node_open(sw->node_data, node_id, &nd->d) < 0 ||
			 scheduler_docker_local(&nd->sched, nd->d) < 0)
			copy(nd->why, sizeof(nd->why), err_msg());
	}
	if (!nd->sched)
		return err_set("%s", nd->why);
	*out = nd->sched;
	return 0;
}

static int swarm_exec(struct scheduler *s, const char *id, const char **cmd,
		      const struct sched_io *io, long long *code)
{
	struct swarm *sw = SW(s);
	struct docker_task t;
	struct scheduler *ns;

	*code = -1;
	if (task_service(sw->d, id, &t) < 0)
		return -1;
	if (!t.container_id[0])
		return err_set("task %.12s has no container yet", id);
	if (node_scheduler(sw, t.node_id, &ns) < 0)
		return -1;
	return scheduler_exec(ns, t.container_id, cmd, io, code);
}

/* ps:stop: the task's service is scaled to 0 (Swarm would replace a stopped task). The
 * other tasks of that service go with the first: one no longer there is stopped. */
static int swarm_stop(struct scheduler *s, const char *id, int grace_s)
{
	struct docker_task t;
	struct buf p = BUF_INIT;
	json_t *task = NULL;
	long status = 0;
	int ret = -1;

	(void)grace_s; /* the service's StopGracePeriod applies */
	if (buf_addstr(&p, "/tasks/") < 0 || docker_urlencode(&p, id) < 0)
		goto out;
	if (docker_call(SW(s)->d, "GET", p.buf, NULL, &task, &status) < 0) {
		if (status == 404) {
			err_clear(); /* handled: gone with its service's scale */
			ret = 0;
		}
		goto out;
	}
	docker_task_read(task, NULL, &t);
	ret = docker_service_scale(SW(s)->d, t.service_id, 0, NULL);
out:
	json_decref(task);
	buf_release(&p);
	return ret;
}

/* Swarm restarts tasks itself, and ps:start redeploys: nothing to do for one task. */
static int swarm_start(struct scheduler *s, const char *id)
{
	(void)s;
	(void)id;
	return 0;
}

static int swarm_remove(struct scheduler *s, const char *id)
{
	(void)s;
	(void)id;
	return 0; /* a task goes with its service */
}

static int swarm_check(struct scheduler *s, const struct sched_proc *p, const char *host,
		       const json_t *checks)
{
	struct alive a = { SW(s)->d, p->id };

	if (!*p->addr || !p->port)
		return err_set("task %.12s has no address and port", p->id);
	return runtime_run_checks_with(task_alive, &a, p->addr, p->port, host, checks);
}

static int swarm_cleanup(struct scheduler *s, const char *app, long keep_release)
{
	json_t *services = NULL, *route = NULL, *gone = json_array(), *v;
	size_t i;
	int ret = -1;

	/* What the router serves stays, whatever its release (see runtime_app_cleanup). */
	if (!gone || router_client_get(app, &route) < 0 ||
	    app_services(SW(s)->d, app, &services) < 0)
		goto out;
	json_array_foreach(services, i, v)
		if (atol(svc_label(v, DOCKER_LABEL_RELEASE, "0")) != keep_release &&
		    !routed(v, route))
			json_array_append_new(gone, json_string(json_str(v, "ID", "")));
	if (json_array_size(gone)) {
		say_step("Removing %zu service%s left by an interrupted deploy",
			 json_array_size(gone), json_array_size(gone) > 1 ? "s" : "");
		remove_services(SW(s)->d, gone, NULL);
	}
	ret = 0;
out:
	json_decref(services);
	json_decref(route);
	json_decref(gone);
	return ret;
}

static int swarm_remove_app(struct scheduler *s, const char *app, int grace_s)
{
	json_t *services = NULL;
	int ret;

	if (app_services(SW(s)->d, app, &services) < 0)
		return -1;
	(void)grace_s; /* each service's StopGracePeriod applies */
	ret = remove_services(SW(s)->d, services, NULL);
	json_decref(services);
	/* One-offs and release phases ran here, on the app's network (each removed its
	 * container when it ended). */
	if (ret == 0)
		runtime_app_network_remove(SW(s)->d, app);
	return ret;
}

static int swarm_image_inspect(struct scheduler *s, const char *ref, json_t **out)
{
	return scheduler_image_inspect(SW(s)->local, ref, out);
}

static int swarm_image_tag(struct scheduler *s, const char *id, const char *repo, const char *tag)
{
	return scheduler_image_tag(SW(s)->local, id, repo, tag);
}

static int swarm_image_remove(struct scheduler *s, const char *ref, int force)
{
	return scheduler_image_remove(SW(s)->local, ref, force);
}

static int swarm_images_dangling(struct scheduler *s, const char *app, json_t **out)
{
	return scheduler_images_dangling(SW(s)->local, app, out);
}

static struct docker *swarm_builder(struct scheduler *s)
{
	return SW(s)->d;
}

static void swarm_free(struct scheduler *s)
{
	struct swarm *sw = SW(s);
	size_t i;

	for (i = 0; i < sw->nnodes; i++) {
		scheduler_free(sw->nodes[i].sched);
		docker_free(sw->nodes[i].d);
	}
	free(sw->nodes);
	scheduler_free(sw->local);
	docker_free(sw->d);
	free(sw);
}

static const struct scheduler_ops swarm_ops = {
	.name = "swarm",
	.deploy = swarm_deploy,
	.scale = swarm_scale,
	.list = swarm_list,
	.logs = swarm_logs,
	.stats = swarm_stats,
	.top = swarm_top,
	.state = swarm_state,
	.events = swarm_events,
	.run = swarm_run,
	.exec = swarm_exec,
	.stop = swarm_stop,
	.start = swarm_start,
	.remove = swarm_remove,
	.check = swarm_check,
	.cleanup = swarm_cleanup,
	.remove_app = swarm_remove_app,
	.image_inspect = swarm_image_inspect,
	.image_tag = swarm_image_tag,
	.image_remove = swarm_image_remove,
	.images_dangling = swarm_images_dangling,
	.builder = swarm_builder,
	.free = swarm_free,
};

int runtime__swarm_new(struct scheduler **out)
{
	struct swarm *sw = calloc(1, sizeof(*sw));

	*out = NULL;
	if (!sw)
		return err_set("out of memory");
	sw->s.ops = &swarm_ops;
	if (docker_new(&sw->d, NULL) < 0 || scheduler_docker_local(&sw->local, sw->d) < 0) {
		swarm_free(&sw->s);
		return -1;
	}
	*out = &sw->s;
	return 0;
}

int scheduler_swarm_node_open(struct scheduler *s, swarm_node_open_fn *fn, void *data)
{
	if (strcmp(s->ops->name, "swarm"))
		return 0;
	SW(s)->node_open = fn;
	SW(s)->node_data = data;
	return 0;
}

int runtime_swarm_forget_app(struct docker *d, const char *app)
{
	json_t *services = NULL;
	int ret;

	if (app_services(d, app, &services) < 0)
		return -1;
	if (json_array_size(services))
		say_step("Removing %s's swarm services (it runs on this host now)", app);
	ret = remove_services(d, services, NULL);
	json_decref(services);
	return ret;
}
