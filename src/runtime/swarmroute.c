/* swarmroute.c - which tasks of a swarm web service the router should serve, from the
 * JSON of the manager's GET /services, /tasks and /nodes (pure: no I/O). That JSON is
 * Docker's, so every field is checked before use; what does not fit skips one task. */
#include "runtime.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

void swarm_tasks_release(struct swarm_tasks *t)
{
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* "ADDR:PORT" with a dotted IPv4 address and a port 1..65535: the port, else -1. */
static int target_port(const char *s)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	char host[INET_ADDRSTRLEN];
	struct in_addr a;
	char *end;
	long port;

	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (inet_pton(AF_INET, host, &a) != 1 || !colon[1] || colon[1] == '-' || colon[1] == '+')
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	return (int)port;
}

int swarm_route_port_base(const json_t *targets)
{
	int base = 0;
	size_t i;
	json_t *t;

	if (!json_is_array(targets))
		return 0;
	json_array_foreach(targets, i, t) {
		int port = target_port(json_string_value(t)), p = port / 10;
		if (port < 0 || port % 10 < 1 || p < SWARM_PORT_BASE_MIN ||
		    p > SWARM_PORT_BASE_MAX || (base && p != base))
			return 0;
		base = p;
	}
	return base;
}

/* 1 when label key of the service (Spec.Labels) is the string want. */
static int label_is(const json_t *svc, const char *key, const char *want)
{
	const char *v =
		json_str(json_object_get(json_object_get(svc, "Spec"), "Labels"), key, NULL);

	return v && !strcmp(v, want);
}

/* 1 when the service is app's web service with port base P on this root. */
static int service_matches(const json_t *svc, const char *root, const char *app, const char *base)
{
	return json_is_object(svc) && json_str(svc, "ID", NULL) &&
	       label_is(svc, DOCKER_LABEL_MANAGED, "1") && label_is(svc, DOCKER_LABEL_ROOT, root) &&
	       label_is(svc, DOCKER_LABEL_APP, app) && label_is(svc, DOCKER_LABEL_PROCESS, "web") &&
	       label_is(svc, DOCKER_LABEL_PORT_BASE, base);
}

/* Fills t from one task of a matching service (read by docker_task_read(), which
 * takes its node's address from nodes); 0 when the task has no target. */
static int task_read(struct swarm_task *t, const json_t *task, const json_t *nodes, int base)
{
	json_t *slot = json_object_get(task, "Slot");
	struct docker_task d;

	docker_task_read(task, nodes, &d);
	/* A task not yet given a node, or with any field missing or absurd (an id too
	 * long to keep whole, a slot out of range, a node not listed or without an IPv4
	 * address), is not one the router can reach. */
	if (!d.id[0] || strlen(json_str(task, "ID", "")) >= sizeof(t->id) || !d.node_id[0] ||
	    !d.state[0] || !d.desired[0] || !json_is_integer(slot) ||
	    json_integer_value(slot) < 1 || json_integer_value(slot) > SWARM_SLOT_MAX || !d.addr[0])
		return 0;
	memset(t, 0, sizeof(*t));
	t->slot = d.slot;
	snprintf(t->target, sizeof(t->target), "%s:%d", d.addr, base * 10 + t->slot);
	snprintf(t->id, sizeof(t->id), "%s", d.id);
	snprintf(t->node, sizeof(t->node), "%.71s", d.hostname[0] ? d.hostname : d.node_id);
	if (strcmp(d.state, "running") != 0)
		snprintf(t->why, sizeof(t->why), "task %.30s", d.state);
	else if (strcmp(d.desired, "running") != 0)
		snprintf(t->why, sizeof(t->why), "desired %.30s", d.desired);
	else if (strcmp(d.node_state, "ready") != 0)
		snprintf(t->why, sizeof(t->why), "node %.30s",
			 d.node_state[0] ? d.node_state : "unknown");
	else
		t->serves = 1;
	return 1;
}

static int task_cmp(const void *a, const void *b)
{
	const struct swarm_task *x = a, *y = b;
	int c = strcmp(x->target, y->target);

	if (c)
		return c;
	if (x->serves != y->serves)
		return y->serves - x->serves;
	return strcmp(x->id, y->id);
}

/* 1 when the task belongs to one of the services ids (an array of strings). */
static int task_of(const json_t *task, const json_t *ids)
{
	const char *sid = json_str(task, "ServiceID", NULL);
	size_t i;
	json_t *v;

	json_array_foreach(ids, i, v)
		if (sid && !strcmp(sid, json_string_value(v)))
			return 1;
	return 0;
}

int swarm_route_tasks(struct swarm_tasks *out, const json_t *services, const json_t *tasks,
		      const json_t *nodes, const char *root, const char *app, int port_base)
{
	json_t *ids = NULL, *v;
	char base[16];
	size_t i;
	int ret = -1;

	out->v = NULL;
	out->n = 0;
	if (!json_is_array(services) || !json_is_array(tasks) || !json_is_array(nodes) || !root ||
	    !app || port_base < SWARM_PORT_BASE_MIN || port_base > SWARM_PORT_BASE_MAX)
		return err_set("swarm_route_tasks: bad arguments");
	snprintf(base, sizeof(base), "%d", port_base);
	if (!(ids = json_array()))
		goto oom;
	/* More than one service with the base (a deploy interrupted between creating and
	 * removing) share its ports per slot: their tasks are all candidates. */
	json_array_foreach(services, i, v)
		if (service_matches(v, root, app, base) &&
		    json_array_append_new(ids, json_string(json_str(v, "ID", ""))) < 0)
			goto oom;
	if (json_array_size(ids) && json_array_size(tasks) &&
	    !(out->v = calloc(json_array_size(tasks), sizeof(*out->v))))
		goto oom;
	json_array_foreach(tasks, i, v) {
		if (json_is_object(v) && task_of(v, ids) &&
		    task_read(&out->v[out->n], v, nodes, port_base))
			out->n++;
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), task_cmp);
	ret = 0;
	goto out;
oom:
	err_set("out of memory");
	swarm_tasks_release(out);
out:
	json_decref(ids);
	return ret;
}
