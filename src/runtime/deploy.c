/* deploy.c - zero-downtime deploys: start the new web container beside the old,
 * let the router check and swap, then retire the old containers. */
#include "runtime.h"
#include "runtime/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PORT_MIN_DEFAULT 20000
#define PORT_MAX_DEFAULT 29999

void runtime__sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* WHARF_PORT_RANGE="MIN-MAX" lets an operator (or a test) move the range. */
static void port_range(int *lo, int *hi)
{
	const char *r = getenv("WHARF_PORT_RANGE");
	int a, b;

	*lo = PORT_MIN_DEFAULT;
	*hi = PORT_MAX_DEFAULT;
	if (r && sscanf(r, "%d-%d", &a, &b) == 2 && a >= 1024 && b <= 65535 && a < b) {
		*lo = a;
		*hi = b;
	}
}

int runtime_port_bindable(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	sa.sin_addr.s_addr = htonl(INADDR_ANY);
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int runtime_type_listed(const json_t *types, const char *type)
{
	size_t i;
	json_t *v;

	json_array_foreach(types, i, v)
		if (json_is_string(v) &&
		    (!strcmp(json_string_value(v), type) || !strcmp(json_string_value(v), "_all_")))
			return 1;
	return 0;
}


int runtime__checks_off(const struct deploy_req *req, const char *type)
{
	return runtime_type_listed(req->checks_skipped, type) ||
	       runtime_type_listed(req->checks_disabled, type);
}

static int port_in_use(const json_t *containers, int port)
{
	size_t i;
	json_t *c;

	json_array_foreach(containers, i, c) {
		const char *p = json_str(json_object_get(c, "Labels"), DOCKER_LABEL_PORT, NULL);
		if (p && atoi(p) == port)
			return 1;
	}
	return 0;
}

/* Picks a port that no wharf container on this Docker holds and nothing listens
 * on. The caller holds the ports lock until its container exists, so two deploys
 * never pick the same one. */
static int pick_port(struct docker *d, int *port)
{
	const char *labels[] = { DOCKER_LABEL_MANAGED "=1", NULL };
	json_t *all = NULL;
	int lo, hi, span, start, i, ret = -1;

	port_range(&lo, &hi);
	if (docker_container_list(d, labels, 1, &all) < 0)
		goto out;
	span = hi - lo + 1;
	start = rand() % span;
	for (i = 0; i < span; i++) {
		int p = lo + (start + i) % span;
		if (!port_in_use(all, p) && runtime_port_bindable(p)) {
			*port = p;
			ret = 0;
			goto out;
		}
	}
	err_set("no free port in %d-%d for a new container", lo, hi);
out:
	json_decref(all);
	return ret;
}

/* Does the container accept connections at addr:port (its address on the app's
 * network)? */
int runtime__port_accepts(const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	ok = inet_pton(AF_INET, addr, &sa.sin_addr) == 1 &&
	     connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

int runtime__show_log_line(int stream, const char *data, size_t len, void *unused)
{
	(void)stream;
	(void)unused;
	say_lines("       | ", data, len);
	return 0;
}

static void show_logs_tail(struct docker *d, const char *id)
{
	say_warn("last lines of the new container's log:");
	if (docker_container_logs(d, id, 0, 20, 0, runtime__show_log_line, NULL) < 0)
		say_detail("(no log: %s)", err_msg());
}

/* Waits until the container accepts connections on port, or fails if it exits
 * (or keeps restarting) first, or the deadline passes. addr gets the container's
 * address on the app's network. */
static int wait_listening(struct docker *d, const char *app, const char *id, int port, int wait_s,
			  struct buf *addr)
{
	double deadline = clock_now_s() + wait_s;
	json_t *info = NULL;
	int ret = -1;

	for (;;) {
		json_t *state;
		const char *status;

		/* The container's state first: a container that died must never pass
		 * for one that listens. */
		json_decref(info);
		if (docker_container_inspect(d, id, &info) < 0)
			break;
		state = json_object_get(info, "State");
		status = json_str(state, "Status", "");
		if (strcmp(status, "running") || json_int(info, "RestartCount", 0) > 0) {
			if (!strcmp(status, "created")) {
				runtime__sleep_ms(50); /* still starting */
				continue;
			}
			err_set("the new container exited (code %lld) before it listened on PORT "
				"%d",
				json_int(state, "ExitCode", -1), port);
			break;
		}
		buf_reset(addr);
		if (runtime_container_addr(addr, info, app) < 0)
			break;
		if (runtime__port_accepts(addr->buf, port)) {
			ret = 0;
			break;
		}
		if (clock_now_s() > deadline) {
			err_set("the new container did not listen on PORT %d within %d s "
				"(WHARF_LISTEN_TIMEOUT; apps must listen on $PORT; an app with a "
				"fixed port needs ports:set and checks:disable, see "
				"docs/checks-and-ports.md)",
				port, wait_s);
			break;
		}
		runtime__sleep_ms(50);
	}
	json_decref(info);
	return ret;
}

/* The limits of process `type`: its own values over the app's (see deploy_req). */
int runtime__type_limits(const json_t *resources, const char *type, long long *memory,
			 long long *nano_cpus)
{
	const json_t *own = json_object_get(json_object_get(resources, "process"), type);
	const char *mem = json_str(own, "memory", json_str(resources, "memory", NULL));
	const char *cpu = json_str(own, "cpu", json_str(resources, "cpu", NULL));

	*memory = *nano_cpus = 0;
	if (mem && runtime_parse_memory(mem, memory) < 0)
		return -1;
	if (cpu && runtime_parse_cpus(cpu, nano_cpus) < 0)
		return -1;
	return 0;
}

/* Creates (not starts) one container of process `type` running cmd (a JSON array,
 * or NULL for the image's CMD). port 0: not a web container, no PORT. */
static int create_container(struct docker *d, const struct deploy_req *req, const char *type,
			    const json_t *cmd, int port, const char *restart, struct buf *id)
{
	struct container_spec spec = CONTAINER_SPEC_INIT;
	struct buf name = BUF_INIT, num = BUF_INIT, network = BUF_INIT;
	json_t *env = json_array(), *labels = NULL, *v;
	const char **envv = NULL, **cmdv = NULL;
	const char *k;
	int ret = -1;

	json_object_foreach((json_t *)req->config, k, v)
		if (json_is_string(v) && json_env_add(env, k, json_string_value(v)) < 0)
			goto out;
	if (json_env_add(env, "WHARF_APP", req->app) < 0 ||
	    json_env_add(env, "WHARF_PROCESS", type) < 0 ||
	    (req->git_rev && json_env_add(env, "GIT_REV", req->git_rev) < 0))
		goto out;
	labels = json_pack("{s:s,s:s,s:s,s:s}", DOCKER_LABEL_MANAGED, "1", DOCKER_LABEL_ROOT,
			   wharf_root(), DOCKER_LABEL_APP, req->app, DOCKER_LABEL_PROCESS, type);
	if (!labels)
		goto out;
	if (port) {
		if (buf_addf(&num, "%d", port) < 0 || json_env_add(env, "PORT", num.buf) < 0)
			goto out;
		json_object_set_new(labels, DOCKER_LABEL_PORT, json_string(num.buf));
		buf_reset(&num);
	}
	if (buf_addf(&num, "%ld", req->release) < 0)
		goto out;
	json_object_set_new(labels, DOCKER_LABEL_RELEASE, json_string(num.buf));
	/* A random suffix: two wharfs on one Docker may both have release N of "web". */
	if (buf_addf(&name, "%s.%s.%ld.%04x", req->app, type, req->release,
		     (unsigned)(rand() & 0xffff)) < 0)
		goto out;
	if (runtime_app_network_name(&network, req->app) < 0)
		goto out;
	envv = json_str_vec(env);
	cmdv = json_is_array(cmd) ? json_str_vec(cmd) : NULL;
	spec.name = name.buf;
	spec.image = req->image;
	spec.env = envv;
	spec.cmd = cmdv;
	spec.labels = labels;
	spec.restart_policy = restart;
	spec.init = 1;
	spec.binds = req->binds;
	spec.network = network.buf;
	if (runtime__type_limits(req->resources, type, &spec.memory, &spec.nano_cpus) < 0)
		goto out;
	spec.extra = req->extra;
	spec.log_max_size = req->log_max_size;
	spec.log_max_file = req->log_max_file;
	if (docker_container_create(d, &spec, id) < 0)
		goto out;
	ret = 0;
out:
	free(envv);
	free(cmdv);
	json_decref(env);
	json_decref(labels);
	buf_release(&name);
	buf_release(&num);
	buf_release(&network);
	return ret;
}

/* 1 if the router's route for app has exactly these targets. */
static int router_serves(const char *app, const json_t *targets)
{
	json_t *route = NULL;
	int same = 0;

	if (router_client_get(app, &route) == 0 && route)
		same = json_equal(json_object_get(route, "targets"), (json_t *)targets);
	json_decref(route);
	return same;
}

int runtime__switch_router(const struct deploy_req *req, const json_t *targets)
{
	struct route_spec rs = { 0 };
	const char **domains = json_str_vec(req->domains), **tv = json_str_vec(targets);
	int ret = -1;

	if (!domains || !tv) {
		err_set("out of memory");
		goto out;
	}
	rs.app = req->app;
	rs.domains = domains;
	rs.targets = tv;
	/* The runtime already ran the checks; with a check path the router checks it
	 * once more itself, right before it swaps. */
	runtime_route_health(&rs, req->checks, req->checks_skipped, req->checks_disabled);
	rs.options = req->router_options;
	rs.cert = req->router_cert;
	ret = router_client_put(&rs);
	if (ret < 0 && router_serves(req->app, targets)) {
		/* The router applied the swap but could not answer (it was stopping, or
		 * the connection broke): the new containers serve and must stay. */
		say_warn("%s; but the router serves the new containers", err_msg());
		ret = 0;
	}
out:
	free(domains);
	free(tv);
	return ret;
}

int runtime_app_containers(struct docker *d, const char *app, json_t **out)
{
	struct docker_labels l = DOCKER_LABELS_INIT;
	size_t i;
	int ret = -1;

	*out = NULL;
	if (docker_labels_add(&l, DOCKER_LABEL_APP, app) == 0 &&
	    docker_labels_add(&l, DOCKER_LABEL_ROOT, wharf_root()) == 0)
		ret = docker_container_list(d, l.v, 1, out);
	docker_labels_release(&l);
	/* A swarm task of the app that runs on this host (the manager) carries the same
	 * labels: it is the swarm's, never docker-local's to retire or clean up. */
	for (i = json_array_size(*out); ret == 0 && i-- > 0;)
		if (json_str(json_object_get(json_array_get(*out, i), "Labels"),
			     "com.docker.swarm.task.id", NULL))
			json_array_remove(*out, i);
	return ret;
}

static int in_ids(const json_t *ids, const char *id)
{
	size_t i;
	json_t *v;

	json_array_foreach(ids, i, v)
		if (!strcmp(json_string_value(v), id))
			return 1;
	return 0;
}

/* Stops (SIGTERM, then SIGKILL after the grace) and removes every container of
 * the app whose id is not in keep (an array of ids; NULL keeps none). */
static int retire(struct docker *d, const char *app, const json_t *keep, int grace_s)
{
	json_t *list = NULL, *c;
	size_t i;
	int ret = 0;

	if (runtime_app_containers(d, app, &list) < 0)
		return -1;
	json_array_foreach(list, i, c) {
		const char *id = json_str(c, "Id", NULL);
		if (!id || (keep && in_ids(keep, id)))
			continue;
		if (docker_container_stop(d, id, grace_s) < 0 ||
		    docker_container_remove(d, id, 1) < 0) {
			say_warn("could not remove old container %.12s: %s", id, err_msg());
			ret = -1;
		}
	}
	json_decref(list);
	return ret;
}

int runtime_app_remove(struct docker *d, const char *app, int stop_timeout_s)
{
	int ret = retire(d, app, NULL, stop_timeout_s > 0 ? stop_timeout_s : 10);

	if (ret == 0)
		runtime_app_network_remove(d, app);
	return ret;
}

/* The release phase: a one-off container of the "release" process, whose output
 * streams to the pusher; a non-zero exit fails the deploy. */
int runtime__release_phase(struct docker *d, const struct deploy_req *req, const json_t *cmd)
{
	struct buf id = BUF_INIT;
	struct container_watchdog *wd = NULL;
	long limit = req->release_timeout_s ? req->release_timeout_s : 3600;
	json_t *info = NULL;
	long long code;
	int ret = -1, logs;

	say_step("Running the release command");
	if (create_container(d, req, "release", cmd, 0, "no", &id) < 0 ||
	    docker_container_start(d, id.buf) < 0 ||
	    container_watchdog_start(d, id.buf, limit, &wd) < 0)
		goto out;
	/* Following the logs returns when the container stops, or is killed. */
	logs = docker_container_logs(d, id.buf, 1, -1, 0, runtime__show_log_line, NULL);
	if (container_watchdog_stop(wd)) {
		err_set("the release command did not finish within %ld s (WHARF_RELEASE_TIMEOUT) "
			"and was killed",
			limit);
		goto out;
	}
	if (logs < 0 || docker_container_inspect(d, id.buf, &info) < 0)
		goto out;
	code = json_int(json_object_get(info, "State"), "ExitCode", -1);
	if (code != 0) {
		err_set("the release command failed (exit code %lld)", code);
		goto out;
	}
	ret = 0;
out:
	if (id.len)
		docker_container_remove(d, id.buf, 1);
	json_decref(info);
	buf_release(&id);
	return ret;
}

/* A new container starts without a restart policy, so one that crashes during
 * its checks stays exited with its code; once it passed, Docker may restart it
 * (on the same PORT, so the router's target stays valid) as the app's policy
 * (ps:set restart-policy) says. */
static int set_restart_policy(struct docker *d, const struct deploy_req *req, const char *id)
{
	struct buf name = BUF_INIT;
	int max_retry, ret = -1;

	if (runtime_parse_restart_policy(req->restart_policy ? req->restart_policy : "on-failure",
					 &name, &max_retry) == 0)
		ret = docker_container_set_restart(d, id, name.buf, max_retry);
	buf_release(&name);
	return ret;
}

/* Starts one web container on a fresh port and checks it. Its id goes to started
 * as soon as it exists, so a failure removes it with the others. */
static int start_web(struct docker *d, const struct deploy_req *req, const json_t *cmd,
		     json_t *started, json_t *targets, struct buf *failed_id)
{
	struct buf id = BUF_INIT, lockpath = BUF_INIT, target = BUF_INIT, addr = BUF_INIT;
	struct lock ports = LOCK_INIT;
	int port = 0, wait_s = req->listen_wait_s > 0 ? req->listen_wait_s : 60, ret = -1;
	const char *host = json_string_value(json_array_get(req->domains, 0));

	if (buf_addf(&lockpath, "%s/ports.lock", wharf_root()) < 0 ||
	    lock_take(&ports, lockpath.buf, NULL) < 0)
		goto out;
	/* The port is held from the pick until the container exists (its label). A
	 * fixed port (ports:set) is only asked for without overlap: the old container
	 * was stopped. Each container has a network namespace of its own, so nothing
	 * of the host's can hold that port there. */
	if (req->web_port && runtime_type_listed(req->checks_disabled, "web")) {
		port = req->web_port;
	} else if (pick_port(d, &port) < 0) {
		lock_release(&ports);
		goto out;
	}
	if (create_container(d, req, "web", cmd, port, "no", &id) < 0) {
		lock_release(&ports);
		goto out;
	}
	lock_release(&ports);
	json_array_append_new(started, json_string(id.buf));
	buf_addstr(failed_id, id.buf);
	say_step("Starting web container for release %ld on port %d", req->release, port);
	if (docker_container_start(d, id.buf) < 0 ||
	    wait_listening(d, req->app, id.buf, port, wait_s, &addr) < 0)
		goto out;
	if (runtime__checks_off(req, "web"))
		say_detail("checks skipped (checks:%s)",
			   runtime_type_listed(req->checks_disabled, "web") ? "disable" : "skip");
	else if (runtime_run_checks(d, id.buf, addr.buf, port, host ? host : "localhost",
				    req->checks) < 0)
		goto out;
	if ((req->check_fn && req->check_fn(req->check_data, id.buf, "web", port, addr.buf) < 0) ||
	    set_restart_policy(d, req, id.buf) < 0)
		goto out;
	if (buf_addf(&target, "%s:%d", addr.buf, port) < 0)
		goto out;
	json_array_append_new(targets, json_string(target.buf));
	buf_reset(failed_id);
	ret = 0;
out:
	buf_release(&id);
	buf_release(&lockpath);
	buf_release(&target);
	buf_release(&addr);
	return ret;
}

static int start_other(struct docker *d, const struct deploy_req *req, const char *type,
		       const json_t *cmd, json_t *started, struct buf *failed_id)
{
	struct buf id = BUF_INIT;
	int ret = -1;

	say_step("Starting %s container for release %ld", type, req->release);
	if (create_container(d, req, type, cmd, 0, "no", &id) < 0)
		goto out;
	json_array_append_new(started, json_string(id.buf));
	buf_addstr(failed_id, id.buf);
	if (docker_container_start(d, id.buf) < 0)
		goto out;
	if (runtime__checks_off(req, type))
		say_detail("checks skipped (checks:%s)",
			   runtime_type_listed(req->checks_disabled, type) ? "disable" : "skip");
	else
		runtime__sleep_ms(500); /* one that dies at once should fail the deploy */
	if ((!runtime__checks_off(req, type) && runtime_check_running(d, id.buf) < 0) ||
	    set_restart_policy(d, req, id.buf) < 0)
		goto out;
	buf_reset(failed_id);
	ret = 0;
out:
	buf_release(&id);
	return ret;
}

/* checks:disable: the old containers of `type` are stopped before the new ones
 * start (no overlap). Their ids go to stopped, so a failed deploy starts them
 * again; a successful one removes them with the other old containers. */
static int stop_old_of_type(struct docker *d, const struct deploy_req *req, const char *type,
			    const json_t *started, json_t *stopped, int grace_s)
{
	json_t *list = NULL, *c;
	size_t i;
	int ret = 0;

	if (runtime_app_containers(d, req->app, &list) < 0)
		return -1;
	json_array_foreach(list, i, c) {
		const char *id = json_str(c, "Id", NULL);
		if (!id || in_ids(started, id) ||
		    strcmp(json_str(json_object_get(c, "Labels"), DOCKER_LABEL_PROCESS, ""),
			   type) ||
		    strcmp(json_str(c, "State", ""), "running"))
			continue;
		say_step("Stopping old %s container %.12s first (checks:disable %s)", type, id,
			 type);
		if (docker_container_stop(d, id, grace_s) < 0) {
			ret = -1;
			break;
		}
		json_array_append_new(stopped, json_string(id));
	}
	json_decref(list);
	return ret;
}

long runtime__formation_count(const json_t *formation, const char *type)
{
	json_t *v = json_object_get(formation, type);
	if (json_is_integer(v))
		return (long)json_integer_value(v);
	return strcmp(type, "web") ? 0 : 1;
}

int runtime_deploy(struct docker *d, const struct deploy_req *req)
{
	json_t *started = json_array(), *targets = json_array(), *web_only = NULL, *cmd;
	json_t *stopped = json_array();
	const json_t *procs = req->processes;
	struct buf failed_id = BUF_INIT;
	const char *type;
	int grace = req->stop_timeout_s > 0 ? req->stop_timeout_s : 10;
	double t0 = clock_now_s();
	long i, n;
	int ret = -1;

	if (!procs)
		procs = web_only = json_pack("{s:n}", "web");
	/* Every container of the deploy joins the app's network (made on first use). */
	if (runtime_app_network(d, req->app, NULL, NULL) < 0)
		goto failed;
	cmd = json_object_get(procs, "release");
	if (cmd && runtime__release_phase(d, req, cmd) < 0)
		goto failed;
	json_object_foreach((json_t *)procs, type, cmd) {
		if (!strcmp(type, "release"))
			continue;
		n = runtime__formation_count(req->formation, type);
		if (runtime_type_listed(req->checks_disabled, type) &&
		    stop_old_of_type(d, req, type, started, stopped, grace) < 0)
			goto failed;
		if (n > 1 && req->web_port && !strcmp(type, "web") &&
		    runtime_type_listed(req->checks_disabled, "web")) {
			err_set("a fixed container port (ports:set) serves one web container; "
				"scale web to 1 or clear the ports map");
			goto failed;
		}
		for (i = 0; i < n; i++) {
			int r = !strcmp(type, "web")
					? start_web(d, req, cmd, started, targets, &failed_id)
					: start_other(d, req, type, cmd, started, &failed_id);
			if (r < 0)
				goto failed;
		}
	}
	say_detail("started after %.1fs", clock_now_s() - t0);
	if (json_array_size(targets)) {
		say_step("Switching the router to %s%s",
			 json_string_value(json_array_get(targets, 0)),
			 json_array_size(targets) > 1 ? " and others" : "");
		if (runtime__switch_router(req, targets) < 0)
			goto failed;
		say_detail("serving after %.1fs", clock_now_s() - t0);
	} else if (router_client_delete(req->app) < 0) {
		goto failed; /* no web process: nothing may stay routed to the old one */
	}
	say_step("Retiring old containers");
	retire(d, req->app, started, grace); /* a leftover is reported, not fatal */
	ret = 0;
	goto out;
failed : {
	/* Keep the failure message: showing logs and removing may set others. */
	struct buf why = BUF_INIT;
	size_t k;
	json_t *v;

	buf_addstr(&why, err_msg());
	if (failed_id.len)
		show_logs_tail(d, failed_id.buf);
	json_array_foreach(started, k, v)
		if (docker_container_remove(d, json_string_value(v), 1) < 0)
			say_warn("could not remove new container %.12s: %s", json_string_value(v),
				 err_msg());
	/* checks:disable stopped the old ones: they serve again. */
	json_array_foreach(stopped, k, v) {
		say_step("Starting old container %.12s again", json_string_value(v));
		if (docker_container_start(d, json_string_value(v)) < 0)
			say_warn("could not start old container %.12s again: %s",
				 json_string_value(v), err_msg());
	}
	err_set("%s", why.buf);
	buf_release(&why);
}
out:
	json_decref(started);
	json_decref(stopped);
	json_decref(targets);
	json_decref(web_only);
	buf_release(&failed_id);
	return ret;
}

int runtime_app_cleanup(struct docker *d, const char *app, long keep_release)
{
	json_t *list = NULL, *route = NULL, *keep = json_array(), *c;
	char rel[32];
	size_t i;
	int ret = -1, left = 0;

	/* Containers the router serves stay, whatever their release: an interrupted
	 * deploy may have swapped the router before it recorded its release. */
	if (router_client_get(app, &route) < 0 || runtime_app_containers(d, app, &list) < 0)
		goto out;
	snprintf(rel, sizeof(rel), "%ld", keep_release);
	json_array_foreach(list, i, c) {
		json_t *labels = json_object_get(c, "Labels"), *t;
		const char *port = json_str(labels, DOCKER_LABEL_PORT, NULL);
		size_t j;
		int served = 0;

		json_array_foreach(json_object_get(route, "targets"), j, t) {
			const char *colon = strrchr(json_string_value(t), ':');
			if (port && colon && !strcmp(colon + 1, port))
				served = 1;
		}
		if (served || !strcmp(json_str(labels, DOCKER_LABEL_RELEASE, ""), rel))
			json_array_append_new(keep, json_string(json_str(c, "Id", "")));
		else
			left++;
	}
	if (left) {
		say_step("Removing %d container%s left by an interrupted deploy", left,
			 left > 1 ? "s" : "");
		retire(d, app, keep, 1);
	}
	ret = 0;
out:
	json_decref(list);
	json_decref(route);
	json_decref(keep);
	return ret;
}
