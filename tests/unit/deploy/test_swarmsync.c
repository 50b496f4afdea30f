/* test_swarmsync.c - one round of `cluster:sync` (deploy_swarm_sync(), once) against a
 * fake Docker that is a swarm manager and a fake router: the route follows the serving
 * tasks that accept a TCP connect (listeners on 127.0.0.1, the node's address), keeps its
 * domains, carries the release's check path, is never emptied, is left alone for an app
 * that is not on the swarm, whose route names no swarm service, or whose lock is held. */
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

#include "app/app.h"
#include "deploy/deploy.h"
#include "lib/fakes.h"

static char tmpdir[] = "/tmp/wharf-swarmsync-test-XXXXXX";
static int base;       /* the service's port base: slot S listens on base*10+S */
static int lfd[3 + 1]; /* listeners of slots 1..3 (-1: none) */

/* A listener on 127.0.0.1:port, or -1 when the port is taken. */
static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(0x7f000001) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void slot_up(int slot)
{
	if (lfd[slot] < 0)
		lfd[slot] = listen_on(base * 10 + slot);
	assert_true(lfd[slot] >= 0);
}

static void slot_down(int slot)
{
	if (lfd[slot] >= 0)
		close(lfd[slot]);
	lfd[slot] = -1;
}

static const char *target(int slot)
{
	static char t[4][32];

	snprintf(t[slot], sizeof(t[slot]), "127.0.0.1:%d", base * 10 + slot);
	return t[slot];
}

/* The swarm: app shop's web service with the port base, tasks given as "SLOT:STATE:WANT"
 * words, all on node n1 at 127.0.0.1. */
static void swarm(const char *const *tasks)
{
	char svc[1024], list[4096], one[256];
	size_t i, n = 0;

	snprintf(svc, sizeof(svc),
		 "[{\"ID\":\"s1\",\"Spec\":{\"Labels\":{\"wharf.managed\":\"1\","
		 "\"wharf.root\":\"%s\",\"wharf.app\":\"shop\",\"wharf.process\":\"web\","
		 "\"wharf.port-base\":\"%d\"}}}]",
		 getenv("WHARF_ROOT"), base);
	n = (size_t)snprintf(list, sizeof(list), "[");
	for (i = 0; tasks[i]; i++) {
		int slot;
		char state[32], want[32];
		assert_int_equal(sscanf(tasks[i], "%d:%31[a-z]:%31[a-z]", &slot, state, want), 3);
		snprintf(one, sizeof(one),
			 "%s{\"ID\":\"t%zu\",\"ServiceID\":\"s1\",\"NodeID\":\"n1\",\"Slot\":%d,"
			 "\"Status\":{\"State\":\"%s\"},\"DesiredState\":\"%s\"}",
			 i ? "," : "", i, slot, state, want);
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s", one);
	}
	snprintf(list + n, sizeof(list) - n, "]");
	fakes_swarm_set(svc, list,
			"[{\"ID\":\"n1\",\"Description\":{\"Hostname\":\"h1\"},"
			"\"Status\":{\"State\":\"ready\",\"Addr\":\"127.0.0.1\"}}]");
}

static void put_route(const char *const *targets)
{
	const char *domains[] = { "shop.example.com", NULL };
	struct route_spec rs = { 0 };

	rs.app = "shop";
	rs.domains = domains;
	rs.targets = (const char **)targets;
	rs.drain_timeout_ms = 1000;
	assert_int_equal(router_client_put(&rs), 0);
}

/* The route's targets, sorted, joined by spaces. */
static const char *route_targets(void)
{
	static char out[512];
	json_t *route = fakes_route("shop"), *v;
	const char *t[8];
	size_t i, n = 0;

	out[0] = '\0';
	json_array_foreach(json_object_get(route, "targets"), i, v)
		if (n < 8)
			t[n++] = json_string_value(v);
	for (i = 0; i + 1 < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (strcmp(t[i], t[j]) > 0) {
				const char *x = t[i];
				t[i] = t[j];
				t[j] = x;
			}
	for (i = 0; i < n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s", i ? " " : "", t[i]);
	json_decref(route);
	return out;
}

static void round_once(void)
{
	struct deploy_sync_opts o = DEPLOY_SYNC_OPTS_INIT;

	o.once = 1;
	assert_int_equal(deploy_swarm_sync(&o), 0);
}

static int setup(void **state)
{
	char root[600];
	int p, s;

	(void)state;
	assert_non_null(mkdtemp(tmpdir));
	snprintf(root, sizeof(root), "%s/root", tmpdir);
	setenv("WHARF_ROOT", root, 1);
	unsetenv("WHARF_SCHEDULER");
	if (fakes_start(tmpdir) < 0)
		return -1;
	/* A port base whose three ports are free here. */
	for (p = 1999; p >= 1100 && !base; p--) {
		int ok = 1;
		for (s = 1; s <= 3; s++) {
			int fd = listen_on(p * 10 + s);
			ok &= fd >= 0;
			if (fd >= 0)
				close(fd);
		}
		if (ok)
			base = p;
	}
	for (s = 0; s <= 3; s++)
		lfd[s] = -1;
	return base ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[600];

	(void)state;
	for (int s = 1; s <= 3; s++)
		slot_down(s);
	fakes_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void route_follows_the_tasks(void **state)
{
	char both[128];

	(void)state;
	assert_int_equal(app_create("shop"), 0);
	assert_int_equal(app_update_key("shop", APP_SCHEDULER, json_string("swarm")), 1);
	/* The release's checks: the route carries the path, the router checks new tasks. */
	json_t *rels = json_pack("{s:[{s:i,s:s,s:[{s:s}]}]}", "releases", "version", 1, "image",
				 "img", "checks", "path", "/ready");
	assert_int_equal(app_releases_save("shop", rels), 0);
	json_decref(rels);
	slot_up(1);
	slot_up(2);
	swarm((const char *[]){ "1:running:running", "2:running:running", NULL });
	put_route((const char *[]){ target(1), NULL });
	round_once();
	snprintf(both, sizeof(both), "%s %s", target(1), target(2));
	assert_string_equal(route_targets(), both);
	json_t *route = fakes_route("shop");
	assert_string_equal(json_string_value(json_array_get(json_object_get(route, "domains"), 0)),
			    "shop.example.com");
	assert_string_equal(json_str(json_object_get(route, "health"), "path", ""), "/ready");
	json_decref(route);

	/* Swarm stops slot 1 (desired shutdown): drained. */
	swarm((const char *[]){ "1:running:shutdown", "2:running:running", NULL });
	round_once();
	assert_string_equal(route_targets(), target(2));

	/* Slot 3 runs in Swarm's eyes but nothing answers there: not added. */
	swarm((const char *[]){ "2:running:running", "3:running:running", NULL });
	round_once();
	assert_string_equal(route_targets(), target(2));
	/* It answers now: added. */
	slot_up(3);
	round_once();
	snprintf(both, sizeof(both), "%s %s", target(2), target(3));
	assert_string_equal(route_targets(), both);

	/* Nothing answers: the route keeps what it has (never empty). */
	slot_down(2);
	slot_down(3);
	round_once();
	assert_string_equal(route_targets(), both);
	slot_up(2);
	slot_up(3);
}

static void left_alone(void **state)
{
	struct lock l = LOCK_INIT;

	(void)state;
	/* The deploy holds the app: this round skips it. */
	swarm((const char *[]){ "1:running:running", "2:running:running", "3:running:running",
				NULL });
	slot_up(1);
	assert_int_equal(app_lock(&l, "shop"), 0);
	put_route((const char *[]){ target(2), NULL });
	round_once();
	assert_string_equal(route_targets(), target(2));
	lock_release(&l);
	/* A route that names no swarm service (docker-local's ports). */
	put_route((const char *[]){ "127.0.0.1:20001", NULL });
	round_once();
	assert_string_equal(route_targets(), "127.0.0.1:20001");
	/* An app on docker-local. */
	put_route((const char *[]){ target(2), NULL });
	assert_int_equal(app_update_key("shop", APP_SCHEDULER, json_string("docker-local")), 1);
	round_once();
	assert_string_equal(route_targets(), target(2));
	/* Back on the swarm, free: it follows again. */
	assert_int_equal(app_update_key("shop", APP_SCHEDULER, json_string("swarm")), 1);
	slot_up(2);
	slot_up(3);
	round_once();
	char all[160];
	snprintf(all, sizeof(all), "%s %s %s", target(1), target(2), target(3));
	assert_string_equal(route_targets(), all);

	/* One leaves and one comes: the departure is PUT first (quick, nothing to check),
	 * then the arrival (the router checks it). */
	put_route((const char *[]){ target(1), target(2), NULL });
	swarm((const char *[]){ "1:failed:shutdown", "2:running:running", "3:running:running",
				NULL });
	fakes_log_clear();
	round_once();
	char only2[64], then23[128];
	snprintf(only2, sizeof(only2), "\"targets\":[\"%s\"]", target(2));
	snprintf(then23, sizeof(then23), "\"targets\":[\"%s\",\"%s\"]", target(2), target(3));
	long first = fakes_log_find(0, "router PUT /apps/shop", only2, NULL);
	assert_true(first >= 0);
	assert_true(fakes_log_find(first + 1, "router PUT /apps/shop", then23, NULL) > first);
	snprintf(all, sizeof(all), "%s %s", target(2), target(3));
	assert_string_equal(route_targets(), all);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(route_follows_the_tasks),
		cmocka_unit_test(left_alone),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
