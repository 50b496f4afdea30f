/* src/docker/services.c - Docker Swarm through the manager's Engine API: services
 * (create, inspect, update, scale, remove, list by labels), their tasks, the nodes,
 * and the logs of a service or a task; plus the pure reading of a task and a node
 * that the swarm scheduler and the cluster report share. */
#include "docker/internal.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "X-Registry-Auth: <value>" as a NULL-terminated header list in hdr (hdr[0] NULL when
 * there is no value). */
static int auth_header(struct buf *line, const char *registry_auth, const char *hdr[2])
{
	hdr[0] = hdr[1] = NULL;
	if (!registry_auth || !*registry_auth)
		return 0;
	if (buf_addf(line, "X-Registry-Auth: %s", registry_auth) < 0)
		return -1;
	hdr[0] = line->buf;
	return 0;
}

/* Appends "/<kind>/<id><suffix>"; an empty id fails. */
static int swarm_path(struct buf *p, const char *kind, const char *id, const char *suffix)
{
	if (!id || !*id)
		return err_set("empty %s id", kind);
	if (buf_addf(p, "/%s/", kind) < 0 || docker_urlencode(p, id) < 0)
		return -1;
	return buf_addstr(p, suffix);
}

/* Docker answers a create or update with "Warnings" (e.g. an image it could not
 * resolve to a digest): they are worth the admin's eye, not a failure. */
static void show_warnings(const json_t *reply)
{
	size_t i;
	json_t *w;

	json_array_foreach(json_object_get(reply, "Warnings"), i, w)
		if (json_is_string(w))
			say_warn("Docker: %s", json_string_value(w));
}

int docker_service_create(struct docker *d, const json_t *spec, const char *registry_auth,
			  struct buf *id)
{
	struct buf line = BUF_INIT;
	const char *hdr[2];
	json_t *reply = NULL;
	const char *sid;
	int ret = -1;

	if (auth_header(&line, registry_auth, hdr) < 0 ||
	    docker_call_headers(d, "POST", "/services/create", hdr, spec, &reply, NULL) < 0)
		goto out;
	if (!(sid = json_str(reply, "ID", NULL))) {
		err_set("Docker created a service but sent no id");
		goto out;
	}
	show_warnings(reply);
	if (id && buf_addstr(id, sid) < 0)
		goto out;
	ret = 0;
out:
	json_decref(reply);
	buf_release(&line);
	return ret;
}

int docker_service_inspect(struct docker *d, const char *id, json_t **out)
{
	struct buf p = BUF_INIT;
	long status = 0;
	int ret = -1;

	*out = NULL;
	if (swarm_path(&p, "services", id, "") < 0)
		goto out;
	if (docker_call(d, "GET", p.buf, NULL, out, &status) < 0) {
		if (status == 404) {
			err_clear(); /* handled: no such service is *out NULL */
			ret = 0;
		}
		goto out;
	}
	ret = 0;
out:
	buf_release(&p);
	return ret;
}

int docker_service_update(struct docker *d, const char *id, long long version, const json_t *spec,
			  const char *registry_auth)
{
	struct buf p = BUF_INIT, line = BUF_INIT;
	const char *hdr[2];
	json_t *reply = NULL;
	int ret = -1;

	if (swarm_path(&p, "services", id, "/update") < 0 ||
	    buf_addf(&p, "?version=%lld", version) < 0 ||
	    /* Without registryAuthFrom=spec the daemon would take the credentials from
	     * the header, which is what we send; keep Docker from resolving again. */
	    auth_header(&line, registry_auth, hdr) < 0 ||
	    docker_call_headers(d, "POST", p.buf, hdr, spec, &reply, NULL) < 0)
		goto out;
	show_warnings(reply);
	ret = 0;
out:
	json_decref(reply);
	buf_release(&p);
	buf_release(&line);
	return ret;
}

int docker_service_scale(struct docker *d, const char *id, long replicas, const char *registry_auth)
{
	json_t *svc = NULL, *spec, *mode;
	int tries, ret = -1;

	/* An update names the version it changes; another writer in between (the
	 * swarm itself records task changes) makes it fail once: read again. */
	for (tries = 0; tries < 3 && ret < 0; tries++) {
		json_decref(svc);
		if (docker_service_inspect(d, id, &svc) < 0)
			break;
		if (!svc) {
			err_set("no such service %s", id);
			break;
		}
		spec = json_object_get(svc, "Spec");
		mode = json_object_get(json_object_get(spec, "Mode"), "Replicated");
		if (!mode) {
			err_set("service %s is not replicated", id);
			break;
		}
		if (json_object_set_new(mode, "Replicas", json_integer(replicas)) < 0) {
			err_set("out of memory");
			break;
		}
		ret = docker_service_update(d, id,
					    json_int(json_object_get(svc, "Version"), "Index", 0),
					    spec, registry_auth);
	}
	json_decref(svc);
	return ret;
}

int docker_service_remove(struct docker *d, const char *id)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	if (swarm_path(&p, "services", id, "") == 0)
		ret = docker__call_allowing(d, "DELETE", p.buf, 404, NULL);
	buf_release(&p);
	return ret;
}

/* {"label": [every "key=value" of labels]} merged into filters (a new object). */
static json_t *label_filters(const char **labels)
{
	json_t *f = json_object(), *l = docker__string_array(labels);

	if (!f || !l || json_object_set_new(f, "label", l) < 0) {
		json_decref(f);
		err_set("out of memory");
		return NULL;
	}
	return f;
}

int docker_service_list(struct docker *d, const char **labels, json_t **out)
{
	json_t *f = label_filters(labels);
	int ret;

	*out = NULL;
	if (!f)
		return -1;
	ret = docker__list(d, "/services", f, "service", out);
	json_decref(f);
	return ret;
}

int docker_task_list(struct docker *d, const json_t *filters, json_t **out)
{
	return docker__list(d, "/tasks", filters, "task", out);
}

int docker_node_list(struct docker *d, json_t **out)
{
	return docker__list(d, "/nodes", NULL, "node", out);
}

struct swarm_logs {
	struct docker__demux dm;
	docker_output_fn *fn;
	void *data;
};

static int swarm_logs_chunk(const char *data, size_t len, void *ud)
{
	struct swarm_logs *c = ud;

	return docker__demux_feed(&c->dm, data, len, c->fn, c->data);
}

int docker_swarm_logs(struct docker *d, const char *kind, const char *id, int follow, int tail,
		      long long since, docker_output_fn *fn, void *data)
{
	struct swarm_logs c = { .dm = DOCKER__DEMUX_INIT, .fn = fn, .data = data };
	struct buf p = BUF_INIT;
	int ret = -1;

	if (strcmp(kind, "services") && strcmp(kind, "tasks"))
		return err_set("no logs of '%s'", kind);
	/* Tasks have no TTY (wharf never asks for one): the stream is multiplexed. */
	if (swarm_path(&p, kind, id, "/logs?stdout=1&stderr=1") < 0 ||
	    buf_addf(&p, "&follow=%d", follow ? 1 : 0) < 0 ||
	    (tail >= 0 ? buf_addf(&p, "&tail=%d", tail) : buf_addstr(&p, "&tail=all")) < 0 ||
	    (since > 0 && buf_addf(&p, "&since=%lld", since) < 0))
		goto out;
	ret = docker__stream(d, "GET", p.buf, NULL, -1, swarm_logs_chunk, &c, NULL);
out:
	buf_release(&p);
	return ret;
}

/* ---- reading tasks and nodes (pure) ------------------------------------------- */

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

int docker_node_addr(const json_t *node, struct buf *out)
{
	const char *a = json_str(json_object_get(node, "Status"), "Addr", NULL);
	const char *m = json_str(json_object_get(node, "ManagerStatus"), "Addr", NULL);
	const char *colon;
	char host[INET_ADDRSTRLEN];
	struct in_addr in;

	/* Some Docker versions report the manager's Status.Addr as 0.0.0.0: its
	 * ManagerStatus.Addr ("ADDR:2377") says where it is. Either must be a dotted
	 * IPv4 address: it becomes a router target. */
	if (a && *a && strcmp(a, "0.0.0.0")) {
		if (inet_pton(AF_INET, a, &in) != 1)
			return err_set("node address '%.64s' is not IPv4", a);
		return buf_addstr(out, a);
	}
	if (!m || !(colon = strrchr(m, ':')) || colon == m || (size_t)(colon - m) >= sizeof(host))
		return err_set("node %.12s has no address", json_str(node, "ID", "?"));
	memcpy(host, m, (size_t)(colon - m));
	host[colon - m] = '\0';
	if (inet_pton(AF_INET, host, &in) != 1 || !strcmp(host, "0.0.0.0"))
		return err_set("node address '%.64s' is not IPv4", host);
	return buf_addstr(out, host);
}

/* The node object of id in nodes; NULL when it is not there. */
static const json_t *node_of(const json_t *nodes, const char *id)
{
	size_t i;
	json_t *n;

	json_array_foreach(nodes, i, n)
		if (id && !strcmp(json_str(n, "ID", ""), id))
			return n;
	return NULL;
}

void docker_task_read(const json_t *task, const json_t *nodes, struct docker_task *out)
{
	const json_t *st = json_object_get(task, "Status"),
		     *node = node_of(nodes, json_str(task, "NodeID", NULL));
	const json_t *cs = json_object_get(st, "ContainerStatus");
	struct buf addr = BUF_INIT;

	memset(out, 0, sizeof(*out));
	copy(out->id, sizeof(out->id), json_str(task, "ID", ""));
	copy(out->service_id, sizeof(out->service_id), json_str(task, "ServiceID", ""));
	copy(out->node_id, sizeof(out->node_id), json_str(task, "NodeID", ""));
	copy(out->state, sizeof(out->state), json_str(st, "State", ""));
	copy(out->desired, sizeof(out->desired), json_str(task, "DesiredState", ""));
	copy(out->err, sizeof(out->err), json_str(st, "Err", ""));
	copy(out->container_id, sizeof(out->container_id), json_str(cs, "ContainerID", ""));
	copy(out->created_at, sizeof(out->created_at), json_str(task, "CreatedAt", ""));
	out->exit_code = (int)json_int(cs, "ExitCode", 0);
	out->slot = (int)json_int(task, "Slot", 0);
	if (node) {
		copy(out->hostname, sizeof(out->hostname),
		     json_str(json_object_get(node, "Description"), "Hostname", ""));
		copy(out->node_state, sizeof(out->node_state),
		     json_str(json_object_get(node, "Status"), "State", ""));
		if (docker_node_addr(node, &addr) == 0)
			copy(out->addr, sizeof(out->addr), addr.buf);
		else
			err_clear(); /* handled: a node without an address gives no target */
	}
	buf_release(&addr);
	out->serves = !strcmp(out->state, "running") && !strcmp(out->desired, "running") &&
		      !strcmp(out->node_state, "ready") && out->addr[0];
}

/* States a task never leaves (Docker's api/types/swarm TaskState). */
int docker_task_failed(const struct docker_task *t)
{
	static const char *const bad[] = { "failed", "rejected", "orphaned", "remove", NULL };
	size_t i;

	for (i = 0; bad[i]; i++)
		if (!strcmp(t->state, bad[i]))
			return 1;
	/* A task that stopped on its own while it was meant to run crashed. */
	return !strcmp(t->desired, "running") &&
	       (!strcmp(t->state, "complete") || !strcmp(t->state, "shutdown"));
}
