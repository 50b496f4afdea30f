/* fuzz_docker_tasks.c - Docker's tasks and nodes as the swarm scheduler reads them (JSON
 * from the manager, relaying what nodes report): the input is {"tasks": [...], "nodes":
 * [...]}; reading must never crash, every string it keeps is NUL-terminated within its
 * field, and a task that serves has a node address and runs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *doc = json_loadb((const char *)data, size, 0, NULL), *t;
	const json_t *nodes = json_object_get(doc, "nodes");
	struct buf addr = BUF_INIT;
	size_t i;

	json_array_foreach(json_object_get(doc, "tasks"), i, t) {
		struct docker_task dt;

		docker_task_read(t, nodes, &dt);
		if (strlen(dt.id) >= sizeof(dt.id) || strlen(dt.err) >= sizeof(dt.err) ||
		    strlen(dt.addr) >= sizeof(dt.addr) ||
		    strlen(dt.hostname) >= sizeof(dt.hostname))
			abort();
		if (dt.serves && (!dt.addr[0] || strcmp(dt.state, "running")))
			abort();
		(void)docker_task_failed(&dt);
	}
	json_array_foreach(nodes, i, t) {
		buf_reset(&addr);
		if (docker_node_addr(t, &addr) == 0 && (!addr.len || !strcmp(addr.buf, "0.0.0.0")))
			abort();
		err_clear();
	}
	buf_release(&addr);
	json_decref(doc);
	return 0;
}
