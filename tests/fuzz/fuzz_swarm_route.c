/* fuzz_swarm_route.c - the JSON of the manager's GET /services, /tasks and /nodes (and the
 * router's route) as the router's sync with the swarm reads it: the input is one JSON
 * object {"route": [...], "services": [...], "tasks": [...], "nodes": [...], "app": "…"}.
 * Nothing may crash; every task returned has a target "IPv4:P*10+slot" with its slot
 * 1..9, the list is sorted, and a task that serves has no reason not to. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime.h"

static void check(const struct swarm_tasks *st, int base)
{
	size_t i;

	for (i = 0; i < st->n; i++) {
		const struct swarm_task *t = &st->v[i];
		const char *colon = strrchr(t->target, ':');
		char host[INET_ADDRSTRLEN];
		struct in_addr a;

		if (!colon || (size_t)(colon - t->target) >= sizeof(host))
			abort();
		memcpy(host, t->target, (size_t)(colon - t->target));
		host[colon - t->target] = '\0';
		if (inet_pton(AF_INET, host, &a) != 1 || t->slot < 1 || t->slot > SWARM_SLOT_MAX ||
		    atoi(colon + 1) != base * 10 + t->slot || (t->serves && t->why[0]) ||
		    (!t->serves && !t->why[0]) || !t->id[0] || !t->node[0])
			abort();
		if (i && strcmp(st->v[i - 1].target, t->target) > 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *in = json_loadb((const char *)data, size, 0, NULL), *v;
	struct swarm_tasks st = SWARM_TASKS_INIT;
	struct buf addr = BUF_INIT;
	const char *app;
	size_t i;
	int base;

	if (!in)
		return 0;
	base = swarm_route_port_base(json_object_get(in, "route"));
	if (base && (base < SWARM_PORT_BASE_MIN || base > SWARM_PORT_BASE_MAX))
		abort();
	json_array_foreach(json_object_get(in, "nodes"), i, v) {
		buf_reset(&addr);
		if (docker_node_addr(v, &addr) == 0 &&
		    inet_pton(AF_INET, addr.buf, &(struct in_addr){ 0 }) != 1)
			abort();
	}
	app = json_str(in, "app", "shop");
	if (swarm_route_tasks(&st, json_object_get(in, "services"), json_object_get(in, "tasks"),
			      json_object_get(in, "nodes"), "/var/lib/wharf", app,
			      base ? base : 1234) == 0)
		check(&st, base ? base : 1234);
	swarm_tasks_release(&st);
	buf_release(&addr);
	json_decref(in);
	return 0;
}
