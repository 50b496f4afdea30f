/* test_swarmroute.c - which tasks of a swarm web service the router serves, from the JSON
 * of GET /services, /tasks and /nodes: the labels that pick the service, the serving rule,
 * the node address rule, and everything malformed skipped without a crash. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/runtime.h"

#define ROOT "/var/lib/wharf"

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);

	if (!j)
		fail_msg("bad test JSON: %s", e.text);
	return j;
}

/* A service of app with port base base (labels as a swarm deploy sets them). */
static json_t *service(const char *id, const char *app, const char *process, const char *base)
{
	json_t *labels = json_pack("{s:s,s:s,s:s,s:s}", "wharf.managed", "1", "wharf.root", ROOT,
				   "wharf.app", app, "wharf.process", process);

	if (base)
		json_object_set_new(labels, "wharf.port-base", json_string(base));
	return json_pack("{s:s,s:{s:o}}", "ID", id, "Spec", "Labels", labels);
}

static json_t *task(const char *id, const char *svc, const char *node, int slot, const char *state,
		    const char *want)
{
	return json_pack("{s:s,s:s,s:s,s:i,s:{s:s},s:s}", "ID", id, "ServiceID", svc, "NodeID",
			 node, "Slot", slot, "Status", "State", state, "DesiredState", want);
}

static json_t *nodes_fixture(void)
{
	return parse("["
		     "{\"ID\":\"n1\",\"Description\":{\"Hostname\":\"h1\"},"
		     " \"Status\":{\"State\":\"ready\",\"Addr\":\"10.60.0.11\"}},"
		     "{\"ID\":\"n2\",\"Description\":{\"Hostname\":\"h2\"},"
		     " \"Status\":{\"State\":\"down\",\"Addr\":\"10.60.0.12\"}},"
		     "{\"ID\":\"m\",\"Description\":{\"Hostname\":\"mgr\"},"
		     " \"Status\":{\"State\":\"ready\",\"Addr\":\"0.0.0.0\"},"
		     " \"ManagerStatus\":{\"Addr\":\"10.60.0.1:2377\",\"Leader\":true}}"
		     "]");
}

static void port_base_from_route(void **state)
{
	json_t *t;

	(void)state;
	t = parse("[\"10.60.0.11:12341\", \"10.60.0.12:12342\"]");
	assert_int_equal(swarm_route_port_base(t), 1234);
	json_decref(t);
	t = parse("[\"10.60.0.11:19999\"]");
	assert_int_equal(swarm_route_port_base(t), 1999);
	json_decref(t);
	/* Not a swarm route: docker-local's ports, mixed bases, slot 0, garbage, empty. */
	const char *bad[] = { "[\"127.0.0.1:20001\"]",
			      "[\"10.1.2.3:12341\", \"10.1.2.3:12351\"]",
			      "[\"10.1.2.3:12340\"]",
			      "[\"10.1.2.3:10991\"]",
			      "[\"host:12341\"]",
			      "[\"10.1.2.3:\"]",
			      "[\"10.1.2.3:+12341\"]",
			      "[\"10.1.2.3:12341x\"]",
			      "[\":12341\"]",
			      "[12341]",
			      "[null]",
			      "[]",
			      "{}",
			      "\"10.1.2.3:12341\"",
			      NULL };
	for (size_t i = 0; bad[i]; i++) {
		t = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		assert_non_null(t);
		if (swarm_route_port_base(t) != 0)
			fail_msg("accepted %s", bad[i]);
		json_decref(t);
	}
	assert_int_equal(swarm_route_port_base(NULL), 0);
}

static void node_address_rule(void **state)
{
	json_t *nodes = nodes_fixture(), *n;
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(docker_node_addr(json_array_get(nodes, 0), &b), 0);
	assert_string_equal(b.buf, "10.60.0.11");
	buf_reset(&b);
	/* The manager at 0.0.0.0: the host part of its swarm address. */
	assert_int_equal(docker_node_addr(json_array_get(nodes, 2), &b), 0);
	assert_string_equal(b.buf, "10.60.0.1");
	buf_reset(&b);
	n = parse("{\"Status\":{\"Addr\":\"\"},\"ManagerStatus\":{\"Addr\":\"10.9.0.1:2377\"}}");
	assert_int_equal(docker_node_addr(n, &b), 0);
	assert_string_equal(b.buf, "10.9.0.1");
	json_decref(n);
	buf_reset(&b);
	const char *bad[] = {
		"{}",
		"{\"Status\":{\"Addr\":\"fe80::1\"}}",
		"{\"Status\":{\"Addr\":\"10.0.0.300\"}}",
		"{\"Status\":{\"Addr\":7}}",
		"{\"Status\":{\"Addr\":\"0.0.0.0\"}}",
		"{\"Status\":{\"Addr\":\"0.0.0.0\"},\"ManagerStatus\":{\"Addr\":\"x\"}}",
		"{\"Status\":{\"Addr\":\"0.0.0.0\"},\"ManagerStatus\":{\"Addr\":\":2377\"}}",
		"{\"Status\":{},\"ManagerStatus\":{\"Addr\":\"0.0.0.0:2377\"}}",
		"{\"Status\":{},\"ManagerStatus\":{\"Addr\":\"[::1]:2377\"}}",
		"{\"Status\":\"ready\"}",
		NULL
	};
	for (size_t i = 0; bad[i]; i++) {
		n = parse(bad[i]);
		if (docker_node_addr(n, &b) != -1)
			fail_msg("accepted %s as %s", bad[i], b.buf);
		json_decref(n);
	}
	buf_release(&b);
	json_decref(nodes);
}

/* The route's service only: by app, process, root and port base; tasks by the rule. */
static void tasks_of_the_routes_service(void **state)
{
	json_t *services = json_array(), *tasks = json_array(), *nodes = nodes_fixture();
	struct swarm_tasks st = SWARM_TASKS_INIT;

	(void)state;
	json_array_append_new(services, service("s-web", "shop", "web", "1234"));
	json_array_append_new(services, service("s-old", "shop", "web", "1235"));
	json_array_append_new(services, service("s-wrk", "shop", "worker", "1234"));
	json_array_append_new(services, service("s-other", "blog", "web", "1234"));
	/* Another wharf's service on the same swarm. */
	json_t *other_root = service("s-root", "shop", "web", "1234");
	json_object_set_new(json_object_get(json_object_get(other_root, "Spec"), "Labels"),
			    "wharf.root", json_string("/srv/other"));
	json_array_append_new(services, other_root);
	json_array_append_new(tasks, task("t2", "s-web", "n1", 2, "running", "running"));
	json_array_append_new(tasks, task("t1", "s-web", "m", 1, "running", "running"));
	json_array_append_new(tasks, task("t3", "s-web", "n2", 3, "running", "running"));
	json_array_append_new(tasks, task("t4", "s-web", "n1", 4, "starting", "running"));
	json_array_append_new(tasks, task("t5", "s-web", "n1", 5, "running", "shutdown"));
	json_array_append_new(tasks, task("t6", "s-old", "n1", 1, "running", "running"));
	json_array_append_new(tasks, task("t7", "s-wrk", "n1", 1, "running", "running"));
	json_array_append_new(tasks, task("t8", "s-other", "n1", 1, "running", "running"));
	json_array_append_new(tasks, task("t9", "s-root", "n1", 1, "running", "running"));
	assert_int_equal(swarm_route_tasks(&st, services, tasks, nodes, ROOT, "shop", 1234), 0);
	assert_int_equal(st.n, 5);
	/* Sorted by target. */
	assert_string_equal(st.v[0].target, "10.60.0.11:12342");
	assert_string_equal(st.v[0].id, "t2");
	assert_string_equal(st.v[0].node, "h1");
	assert_int_equal(st.v[0].slot, 2);
	assert_true(st.v[0].serves);
	assert_string_equal(st.v[1].target, "10.60.0.11:12344");
	assert_false(st.v[1].serves);
	assert_string_equal(st.v[1].why, "task starting");
	assert_string_equal(st.v[2].target, "10.60.0.11:12345");
	assert_string_equal(st.v[2].why, "desired shutdown");
	assert_string_equal(st.v[3].target, "10.60.0.12:12343");
	assert_string_equal(st.v[3].why, "node down");
	assert_string_equal(st.v[4].target, "10.60.0.1:12341");
	assert_string_equal(st.v[4].node, "mgr");
	assert_true(st.v[4].serves);
	swarm_tasks_release(&st);
	/* The other base is the old service's. */
	assert_int_equal(swarm_route_tasks(&st, services, tasks, nodes, ROOT, "shop", 1235), 0);
	assert_int_equal(st.n, 1);
	assert_string_equal(st.v[0].target, "10.60.0.11:12351");
	swarm_tasks_release(&st);
	/* No service with that base: none. */
	assert_int_equal(swarm_route_tasks(&st, services, tasks, nodes, ROOT, "shop", 1500), 0);
	assert_int_equal(st.n, 0);
	swarm_tasks_release(&st);
	json_decref(services);
	json_decref(tasks);
	json_decref(nodes);
}

/* A task restarted in place has its old, failed self beside it: the serving one first. */
static void same_target_serving_first(void **state)
{
	json_t *services = json_array(), *tasks = json_array(), *nodes = nodes_fixture();
	struct swarm_tasks st = SWARM_TASKS_INIT;

	(void)state;
	json_array_append_new(services, service("s", "shop", "web", "1100"));
	json_array_append_new(tasks, task("old", "s", "n1", 1, "failed", "shutdown"));
	json_array_append_new(tasks, task("new", "s", "n1", 1, "running", "running"));
	assert_int_equal(swarm_route_tasks(&st, services, tasks, nodes, ROOT, "shop", 1100), 0);
	assert_int_equal(st.n, 2);
	assert_string_equal(st.v[0].id, "new");
	assert_true(st.v[0].serves);
	assert_string_equal(st.v[1].why, "task failed");
	swarm_tasks_release(&st);
	json_decref(services);
	json_decref(tasks);
	json_decref(nodes);
}

/* Docker's JSON with fields missing, of the wrong type or absurd: skipped, never more. */
static void malformed_is_skipped(void **state)
{
	json_t *services = json_array(), *tasks, *nodes = nodes_fixture();
	struct swarm_tasks st = SWARM_TASKS_INIT;

	(void)state;
	json_array_append_new(services, service("s", "shop", "web", "1234"));
	json_array_append_new(services, parse("{\"ID\":\"x\",\"Spec\":{\"Labels\":7}}"));
	json_array_append_new(services, parse("{\"Spec\":{\"Labels\":{\"wharf.app\":\"shop\"}}}"));
	json_array_append_new(services, parse("\"s\""));
	json_array_append_new(services, service("s-num", "shop", "web", "01234"));
	tasks = parse("["
		      "{\"ID\":\"a\",\"ServiceID\":\"s\",\"NodeID\":\"n1\",\"Slot\":0,"
		      " \"Status\":{\"State\":\"running\"},\"DesiredState\":\"running\"},"
		      "{\"ID\":\"b\",\"ServiceID\":\"s\",\"NodeID\":\"n1\",\"Slot\":10,"
		      " \"Status\":{\"State\":\"running\"},\"DesiredState\":\"running\"},"
		      "{\"ID\":\"c\",\"ServiceID\":\"s\",\"NodeID\":\"n1\",\"Slot\":\"1\","
		      " \"Status\":{\"State\":\"running\"},\"DesiredState\":\"running\"},"
		      "{\"ID\":\"d\",\"ServiceID\":\"s\",\"NodeID\":\"nope\",\"Slot\":1,"
		      " \"Status\":{\"State\":\"running\"},\"DesiredState\":\"running\"},"
		      "{\"ID\":\"e\",\"ServiceID\":\"s\",\"Slot\":1,"
		      " \"Status\":{\"State\":\"running\"},\"DesiredState\":\"running\"},"
		      "{\"ID\":\"f\",\"ServiceID\":\"s\",\"NodeID\":\"n1\",\"Slot\":1,"
		      " \"Status\":\"running\",\"DesiredState\":\"running\"},"
		      "{\"ID\":\"g\",\"ServiceID\":\"s\",\"NodeID\":\"n1\",\"Slot\":1,"
		      " \"Status\":{\"State\":\"running\"}},"
		      "{\"ID\":7,\"ServiceID\":\"s\",\"NodeID\":\"n1\",\"Slot\":1,"
		      " \"Status\":{\"State\":\"running\"},\"DesiredState\":\"running\"},"
		      "{\"ID\":\"h\",\"ServiceID\":\"s\",\"NodeID\":\"n1\",\"Slot\":-3,"
		      " \"Status\":{\"State\":\"running\"},\"DesiredState\":\"running\"},"
		      "{\"ID\":\"i\",\"ServiceID\":\"s\",\"NodeID\":\"n1\",\"Slot\":1e3,"
		      " \"Status\":{\"State\":\"running\"},\"DesiredState\":\"running\"},"
		      "null, 3, [], \"t\","
		      "{\"ID\":\"ok\",\"ServiceID\":\"s\",\"NodeID\":\"n1\",\"Slot\":9,"
		      " \"Status\":{\"State\":\"running\"},\"DesiredState\":\"running\"}"
		      "]");
	json_array_append_new(nodes, parse("{\"ID\":\"bad\",\"Status\":{\"Addr\":\"::1\"}}"));
	json_array_append_new(nodes, parse("42"));
	assert_int_equal(swarm_route_tasks(&st, services, tasks, nodes, ROOT, "shop", 1234), 0);
	assert_int_equal(st.n, 1);
	assert_string_equal(st.v[0].target, "10.60.0.11:12349");
	assert_true(st.v[0].serves);
	swarm_tasks_release(&st);
	/* Nodes that are no list, absurd bases: refused as arguments. */
	assert_int_equal(swarm_route_tasks(&st, services, tasks, NULL, ROOT, "shop", 1234), -1);
	assert_int_equal(swarm_route_tasks(&st, services, json_object_get(tasks, "x"), nodes, ROOT,
					   "shop", 1234),
			 -1);
	assert_int_equal(swarm_route_tasks(&st, services, tasks, nodes, ROOT, "shop", 2000), -1);
	assert_int_equal(swarm_route_tasks(&st, services, tasks, nodes, ROOT, "shop", 1099), -1);
	assert_int_equal(st.n, 0);
	json_decref(services);
	json_decref(tasks);
	json_decref(nodes);
}

/* The route's health check: the first check with a path, none when web is not checked. */
static void route_health(void **state)
{
	json_t *checks = parse("[{\"uptime\": 5}, {\"path\": \"/up\"}, {\"path\": \"/b\"}]");
	json_t *web = parse("[\"web\"]"), *all = parse("[\"_all_\"]"), *wrk = parse("[\"worker\"]");
	struct route_spec rs = { 0 };

	(void)state;
	runtime_route_health(&rs, checks, NULL, NULL);
	assert_string_equal(rs.health_path, "/up");
	assert_int_equal(rs.deadline_ms, 30000);
	runtime_route_health(&rs, checks, wrk, NULL);
	assert_string_equal(rs.health_path, "/up");
	runtime_route_health(&rs, checks, web, NULL);
	assert_null(rs.health_path);
	runtime_route_health(&rs, checks, NULL, all);
	assert_null(rs.health_path);
	runtime_route_health(&rs, NULL, NULL, NULL);
	assert_null(rs.health_path);
	json_decref(checks);
	json_decref(web);
	json_decref(all);
	json_decref(wrk);
}

/* Probes: a listener accepts, a closed port and garbage do not; all within the timeout. */
static void tcp_probe(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok[4] = { 9, 9, 9, 9 };
	char up[32], closed[32];
	double t;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(up, sizeof(up), "127.0.0.1:%d", ntohs(sa.sin_port));
	/* The port of a socket bound and closed: nobody listens there. */
	{
		int c = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in cs = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(0x7f000001) };
		socklen_t cl = sizeof(cs);
		assert_int_equal(bind(c, (struct sockaddr *)&cs, sizeof(cs)), 0);
		assert_int_equal(getsockname(c, (struct sockaddr *)&cs, &cl), 0);
		snprintf(closed, sizeof(closed), "127.0.0.1:%d", ntohs(cs.sin_port));
		close(c);
	}
	const char *targets[] = { up, closed, "nonsense", "10.1.2.3:" };
	t = clock_now_s();
	assert_int_equal(runtime_tcp_probe(targets, 4, 300, ok), 0);
	assert_true(clock_now_s() - t < 1.0);
	assert_int_equal(ok[0], 1);
	assert_int_equal(ok[1], 0);
	assert_int_equal(ok[2], 0);
	assert_int_equal(ok[3], 0);
	assert_int_equal(runtime_tcp_probe(NULL, 0, 300, ok), 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(port_base_from_route),
		cmocka_unit_test(node_address_rule),
		cmocka_unit_test(tasks_of_the_routes_service),
		cmocka_unit_test(same_target_serving_first),
		cmocka_unit_test(malformed_is_skipped),
		cmocka_unit_test(route_health),
		cmocka_unit_test(tcp_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
