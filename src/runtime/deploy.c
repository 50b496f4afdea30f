/* deploy.c - zero-downtime deploys: start the new web container beside the old,
 * let the router check and swap, then retire the old containers. */
#include "runtime.h"

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

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
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

static int port_bindable(int port)
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

static int port_in_use(const json_t *containers, int port)
{
	size_t i;
	json_t *c;

	json_array_foreach(containers, i, c) {
		const char *p = json_str(json_object_get(c, "Labels"), "wharf.port", NULL);
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
	const char *labels[] = { "wharf.managed=1", NULL };
	json_t *all = NULL;
	int lo, hi, span, start, i, ret = -1;

	port_range(&lo, &hi);
	if (docker_container_list(d, labels, 1, &all) < 0)
		goto out;
	span = hi - lo + 1;
	start = (int)(now_s() * 1000) % span;
	for (i = 0; i < span; i++) {
		int p = lo + (start + i) % span;
		if (!port_in_use(all, p) && port_bindable(p)) {
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

static int port_accepts(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	if (fd < 0)
		return 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static int show_log_line(int stream, const char *data, size_t len, void *unused)
{
	(void)stream;
	(void)unused;
	say_lines("       | ", data, len);
	return 0;
}

static void show_logs_tail(struct docker *d, const char *id)
{
	say_warn("last lines of the new container's log:");
	if (docker_container_logs(d, id, 0, 20, 0, show_log_line, NULL) < 0)
		say_detail("(no log: %s)", err_msg());
}

/* Waits until the container accepts connections on port, or fails if it exits
 * (or keeps restarting) first, or the deadline passes. */
static int wait_listening(struct docker *d, const char *id, int port, int wait_s)
{
	double deadline = now_s() + wait_s;
	json_t *info = NULL;
	int ret = -1;

	for (;;) {
		json_t *state;
		const char *status;
		long long restarts;

		if (port_accepts(port)) {
			ret = 0;
			break;
		}
		json_decref(info);
		if (docker_container_inspect(d, id, &info) < 0)
			break;
		state = json_object_get(info, "State");
		status = json_str(state, "Status", "");
		restarts = json_int(info, "RestartCount", 0);
		if (!strcmp(status, "exited") || !strcmp(status, "dead") || restarts > 0) {
			err_set("the new container exited (code %lld) before it listened on PORT %d",
				json_int(state, "ExitCode", -1), port);
			break;
		}
		if (now_s() > deadline) {
			err_set("the new container did not listen on PORT %d within %d s (apps must "
				"listen on $PORT)", port, wait_s);
			break;
		}
		sleep_ms(200);
	}
	json_decref(info);
	return ret;
}

static int add_env(json_t *env_arr, const char *k, const char *v)
{
	struct buf kv = BUF_INIT;
	int ret = buf_addf(&kv, "%s=%s", k, v);

	if (ret == 0)
		json_array_append_new(env_arr, json_string(kv.buf));
	buf_release(&kv);
	return ret;
}

/* Flattens a JSON array of strings into a NULL-terminated vector borrowed from it. */
static const char **str_vec(const json_t *arr)
{
	size_t i, n = json_array_size(arr);
	const char **v = calloc(n + 1, sizeof(*v));

	for (i = 0; v && i < n; i++)
		v[i] = json_string_value(json_array_get(arr, i));
	return v;
}

static int start_container(struct docker *d, const struct deploy_req *req, int port,
			   struct buf *id)
{
	struct container_spec spec = CONTAINER_SPEC_INIT;
	struct buf name = BUF_INIT, num = BUF_INIT;
	json_t *env = json_array(), *labels = NULL, *v;
	const char **envv = NULL;
	const char *k;
	int ret = -1;

	json_object_foreach((json_t *)req->config, k, v)
		if (json_is_string(v) && add_env(env, k, json_string_value(v)) < 0)
			goto out;
	if (buf_addf(&num, "%d", port) < 0 || add_env(env, "PORT", num.buf) < 0 ||
	    add_env(env, "WHARF_APP", req->app) < 0 ||
	    (req->git_rev && add_env(env, "GIT_REV", req->git_rev) < 0))
		goto out;
	labels = json_pack("{s:s,s:s,s:s,s:s,s:s}", "wharf.managed", "1", "wharf.root", wharf_root(),
			   "wharf.app", req->app, "wharf.process", "web", "wharf.port", num.buf);
	buf_reset(&num);
	if (!labels || buf_addf(&num, "%ld", req->release) < 0)
		goto out;
	json_object_set_new(labels, "wharf.release", json_string(num.buf));
	/* A random suffix: two wharfs on one Docker may both have release N of "web". */
	if (buf_addf(&name, "%s.web.%ld.%04x", req->app, req->release,
		     (unsigned)((now_s() - (long)now_s()) * 65536)) < 0)
		goto out;
	envv = str_vec(env);
	spec.name = name.buf;
	spec.image = req->image;
	spec.env = envv;
	spec.labels = labels;
	spec.restart_policy = "on-failure";
	spec.init = 1;
	if (docker_container_create(d, &spec, id) < 0)
		goto out;
	ret = 0;
out:
	free(envv);
	json_decref(env);
	json_decref(labels);
	buf_release(&name);
	buf_release(&num);
	return ret;
}

static int switch_router(const struct deploy_req *req, int port)
{
	struct buf target = BUF_INIT;
	struct route_spec rs = { 0 };
	const char *targets[2] = { NULL, NULL };
	const char **domains = str_vec(req->domains);
	int ret = -1;

	if (!domains || buf_addf(&target, "127.0.0.1:%d", port) < 0)
		goto out;
	targets[0] = target.buf;
	rs.app = req->app;
	rs.domains = domains;
	rs.targets = targets;
	rs.health_path = req->health_path ? req->health_path : "/";
	rs.interval_ms = 500;
	rs.timeout_ms = 5000;
	rs.deadline_ms = 30000;
	rs.drain_timeout_ms = 30000;
	ret = router_client_put(&rs);
out:
	free(domains);
	buf_release(&target);
	return ret;
}

int runtime_app_containers(struct docker *d, const char *app, json_t **out)
{
	struct buf l_app = BUF_INIT, l_root = BUF_INIT;
	const char *labels[3];
	int ret = -1;

	if (buf_addf(&l_app, "wharf.app=%s", app) < 0 ||
	    buf_addf(&l_root, "wharf.root=%s", wharf_root()) < 0)
		goto out;
	labels[0] = l_app.buf;
	labels[1] = l_root.buf;
	labels[2] = NULL;
	ret = docker_container_list(d, labels, 1, out);
out:
	buf_release(&l_app);
	buf_release(&l_root);
	return ret;
}

/* Stops (SIGTERM, then SIGKILL after the grace) and removes every container of
 * the app except keep_id. */
static int retire(struct docker *d, const char *app, const char *keep_id, int grace_s)
{
	json_t *list = NULL, *c;
	size_t i;
	int ret = 0;

	if (runtime_app_containers(d, app, &list) < 0)
		return -1;
	json_array_foreach(list, i, c) {
		const char *id = json_str(c, "Id", NULL);
		if (!id || (keep_id && !strcmp(id, keep_id)))
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
	return retire(d, app, NULL, stop_timeout_s > 0 ? stop_timeout_s : 10);
}

int runtime_deploy(struct docker *d, const struct deploy_req *req)
{
	struct buf id = BUF_INIT, lockpath = BUF_INIT;
	struct lock ports = LOCK_INIT;
	int port = 0, wait_s = req->listen_wait_s > 0 ? req->listen_wait_s : 60;
	int grace = req->stop_timeout_s > 0 ? req->stop_timeout_s : 10;
	double t0 = now_s();
	int ret = -1;

	if (buf_addf(&lockpath, "%s/ports.lock", wharf_root()) < 0 ||
	    lock_take(&ports, lockpath.buf, NULL) < 0)
		goto out;
	if (pick_port(d, &port) < 0 || start_container(d, req, port, &id) < 0) {
		lock_release(&ports);
		goto out;
	}
	lock_release(&ports);
	say_step("Starting web container for release %ld on port %d", req->release, port);
	if (docker_container_start(d, id.buf) < 0)
		goto failed;
	if (wait_listening(d, id.buf, port, wait_s) < 0)
		goto failed;
	say_detail("listening after %.1fs", now_s() - t0);
	say_step("Checking and switching the router to 127.0.0.1:%d", port);
	if (switch_router(req, port) < 0)
		goto failed;
	say_detail("serving after %.1fs", now_s() - t0);
	say_step("Retiring old containers");
	retire(d, req->app, id.buf, grace);   /* a leftover is reported, not fatal */
	ret = 0;
	goto out;
failed:
	{
		/* Keep the failure message: showing logs and removing may set others. */
		struct buf why = BUF_INIT;
		buf_addstr(&why, err_msg());
		show_logs_tail(d, id.buf);
		if (docker_container_remove(d, id.buf, 1) < 0)
			say_warn("could not remove the new container %.12s: %s", id.buf, err_msg());
		err_set("%s", why.buf);
		buf_release(&why);
	}
out:
	buf_release(&id);
	buf_release(&lockpath);
	return ret;
}
