/* test_services.c - what the swarm scheduler reads of Docker's tasks and nodes: a
 * task's state, slot, error and node (hostname, state, address), whether it serves,
 * which end states fail a deploy, and a node's address when the manager reports
 * 0.0.0.0 (SWARM.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "docker/docker.h"

static const char *nodes_json =
	"[{\"ID\": \"n1\", \"Description\": {\"Hostname\": \"h1\"},"
	"  \"Status\": {\"State\": \"ready\", \"Addr\": \"10.61.0.11\"}},"
	" {\"ID\": \"m\", \"Description\": {\"Hostname\": \"wharf\"},"
	"  \"Status\": {\"State\": \"ready\", \"Addr\": \"0.0.0.0\"},"
	"  \"ManagerStatus\": {\"Leader\": true, \"Addr\": \"10.61.0.1:2377\"}},"
	" {\"ID\": \"n2\", \"Description\": {\"Hostname\": \"h2\"},"
	"  \"Status\": {\"State\": \"down\", \"Addr\": \"10.61.0.12\"}}]";

static json_t *task(const char *node, const char *state, const char *desired, int slot)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:s, s:{s:s, s:s, s:{s:s, s:i}}}", "ID", "t1",
			 "ServiceID", "s1", "NodeID", node, "Slot", slot, "DesiredState", desired,
			 "Status", "State", state, "Err", "", "ContainerStatus", "ContainerID",
			 "c1", "ExitCode", 0);
}

static void reads_task_and_node(void **state)
{
	json_t *nodes = json_loads(nodes_json, 0, NULL), *t = task("n1", "running", "running", 3);
	struct docker_task dt;

	(void)state;
	docker_task_read(t, nodes, &dt);
	assert_string_equal(dt.id, "t1");
	assert_string_equal(dt.service_id, "s1");
	assert_string_equal(dt.container_id, "c1");
	assert_string_equal(dt.hostname, "h1");
	assert_string_equal(dt.addr, "10.61.0.11");
	assert_int_equal(dt.slot, 3);
	assert_true(dt.serves);
	assert_false(docker_task_failed(&dt));
	json_decref(t);

	/* The manager's 0.0.0.0 is replaced by the host part of ManagerStatus.Addr. */
	t = task("m", "running", "running", 1);
	docker_task_read(t, nodes, &dt);
	assert_string_equal(dt.addr, "10.61.0.1");
	assert_true(dt.serves);
	json_decref(t);

	/* On a node that is down, a running task serves no longer. */
	t = task("n2", "running", "running", 2);
	docker_task_read(t, nodes, &dt);
	assert_string_equal(dt.node_state, "down");
	assert_false(dt.serves);
	json_decref(t);

	/* An unknown node: no address, no target. */
	t = task("gone", "running", "running", 2);
	docker_task_read(t, nodes, &dt);
	assert_string_equal(dt.addr, "");
	assert_false(dt.serves);
	json_decref(t);
	json_decref(nodes);
}

static void end_states(void **state)
{
	static const struct {
		const char *state, *desired;
		int failed;
	} cases[] = {
		{ "failed", "shutdown", 1 },   { "rejected", "shutdown", 1 },
		{ "orphaned", "shutdown", 1 }, { "complete", "running", 1 },
		{ "shutdown", "running", 1 },  { "shutdown", "shutdown", 0 },
		{ "complete", "shutdown", 0 }, { "preparing", "running", 0 },
		{ "running", "running", 0 },   { "pending", "running", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *t = task("n1", cases[i].state, cases[i].desired, 1);
		struct docker_task dt;

		docker_task_read(t, NULL, &dt);
		assert_int_equal(docker_task_failed(&dt), cases[i].failed);
		assert_false(dt.serves); /* without the nodes, no address */
		json_decref(t);
	}
}

static void hostile_and_missing(void **state)
{
	struct docker_task dt;
	struct buf b = BUF_INIT;
	char longname[600];
	json_t *t, *n;

	(void)state;
	/* Missing members read as empty; nothing serves. */
	t = json_object();
	docker_task_read(t, NULL, &dt);
	assert_string_equal(dt.state, "");
	assert_int_equal(dt.slot, 0);
	assert_false(dt.serves);
	json_decref(t);
	/* Long strings are cut, never overflow. */
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	t = json_pack("{s:s, s:s, s:{s:s, s:s}}", "ID", longname, "DesiredState", longname,
		      "Status", "State", longname, "Err", longname);
	docker_task_read(t, NULL, &dt);
	assert_int_equal(strlen(dt.id), sizeof(dt.id) - 1);
	assert_int_equal(strlen(dt.err), sizeof(dt.err) - 1);
	json_decref(t);
	/* A node with neither address fails; a ManagerStatus.Addr without a port too. */
	n = json_pack("{s:s, s:{s:s}}", "ID", "n9", "Status", "Addr", "0.0.0.0");
	assert_int_equal(docker_node_addr(n, &b), -1);
	json_decref(n);
	n = json_pack("{s:{s:s}}", "ManagerStatus", "Addr", "10.0.0.1");
	assert_int_equal(docker_node_addr(n, &b), -1);
	json_decref(n);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_task_and_node),
		cmocka_unit_test(end_states),
		cmocka_unit_test(hostile_and_missing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
