/* test_stats.c - what ps:stats and the metrics make of Docker's stats: the CPU %
 * as the docker CLI computes it, memory without the inactive page cache (cgroup
 * v2 and v1), I/O sums; and the router's figures of one app read back from its
 * Prometheus text (request and error counts, quantiles as histogram_quantile). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "docker/docker.h"
#include "deploy/deploy.h"

static const char *v2 =
	"{\"cpu_stats\": {\"cpu_usage\": {\"total_usage\": 3000000000}, \"system_cpu_usage\": "
	"40000000000, \"online_cpus\": 4},"
	" \"precpu_stats\": {\"cpu_usage\": {\"total_usage\": 2500000000}, \"system_cpu_usage\": "
	"36000000000, \"online_cpus\": 4},"
	" \"memory_stats\": {\"usage\": 10485760, \"limit\": 268435456, \"stats\": "
	"{\"inactive_file\": 2097152, \"active_file\": 1000}},"
	" \"networks\": {\"eth0\": {\"rx_bytes\": 100, \"tx_bytes\": 200}, \"eth1\": "
	"{\"rx_bytes\": "
	"1, \"tx_bytes\": 2}},"
	" \"blkio_stats\": {\"io_service_bytes_recursive\": [{\"major\": 8, \"op\": \"read\", "
	"\"value\": 4096}, {\"op\": \"write\", \"value\": 8192}, {\"op\": \"read\", \"value\": "
	"1}]},"
	" \"pids_stats\": {\"current\": 3}}";

static void cgroup_v2(void **state)
{
	json_t *st = json_loads(v2, 0, NULL);
	struct docker_stats s;

	(void)state;
	assert_non_null(st);
	docker_stats_summary(st, &s);
	/* (0.5e9 / 4e9) * 4 CPUs * 100 */
	assert_true(fabs(s.cpu_percent - 50.0) < 1e-9);
	assert_int_equal(s.cpu_total_ns, 3000000000ULL);
	assert_int_equal(s.mem_usage, 10485760 - 2097152);
	assert_int_equal(s.mem_limit, 268435456);
	assert_int_equal(s.net_rx, 101);
	assert_int_equal(s.net_tx, 202);
	assert_int_equal(s.blk_read, 4097);
	assert_int_equal(s.blk_write, 8192);
	assert_int_equal(s.pids, 3);
	json_decref(st);
}

static void cgroup_v1_and_percpu(void **state)
{
	json_t *st = json_loads(
		"{\"cpu_stats\": {\"cpu_usage\": {\"total_usage\": 200, \"percpu_usage\": [1, 2]}, "
		"\"system_cpu_usage\": 2000},"
		" \"precpu_stats\": {\"cpu_usage\": {\"total_usage\": 100}, \"system_cpu_usage\": "
		"1000},"
		" \"memory_stats\": {\"usage\": 5000, \"limit\": 9000, \"stats\": "
		"{\"total_inactive_file\": 1000}},"
		" \"blkio_stats\": {\"io_service_bytes_recursive\": [{\"op\": \"Read\", \"value\": "
		"7}, "
		"{\"op\": \"Write\", \"value\": 9}, {\"op\": \"Total\", \"value\": 16}]}}",
		0, NULL);
	struct docker_stats s;

	(void)state;
	assert_non_null(st);
	docker_stats_summary(st, &s);
	/* No online_cpus: the per-CPU array's length (2). */
	assert_true(fabs(s.cpu_percent - 20.0) < 1e-9);
	assert_int_equal(s.mem_usage, 4000);
	assert_int_equal(s.blk_read, 7);
	assert_int_equal(s.blk_write, 9);
	json_decref(st);
}

static void one_shot_and_odd(void **state)
{
	/* one-shot: precpu empty; counters going back; inactive above usage; garbage. */
	json_t *a =
		json_loads("{\"cpu_stats\": {\"cpu_usage\": {\"total_usage\": 5}, "
			   "\"system_cpu_usage\": 9, \"online_cpus\": 2}, \"precpu_stats\": {}, "
			   "\"memory_stats\": {\"usage\": 10, \"stats\": {\"inactive_file\": 50}}}",
			   0, NULL);
	json_t *b = json_loads("{\"cpu_stats\": \"x\", \"memory_stats\": [], \"networks\": 3, "
			       "\"blkio_stats\": {\"io_service_bytes_recursive\": null}}",
			       0, NULL);
	struct docker_stats s;

	(void)state;
	docker_stats_summary(a, &s);
	assert_true(s.cpu_percent == 0.0);
	assert_int_equal(s.mem_usage, 10);
	docker_stats_summary(b, &s);
	assert_true(s.cpu_percent == 0.0);
	assert_int_equal(s.mem_usage, 0);
	docker_stats_summary(NULL, &s);
	assert_int_equal(s.net_rx, 0);
	json_decref(a);
	json_decref(b);
}

static const char *metrics =
	"# HELP wharf_router_requests_total x\n"
	"wharf_router_requests_total{app=\"web\",code=\"2xx\"} 90\n"
	"wharf_router_requests_total{app=\"web\",code=\"5xx\"} 10\n"
	"wharf_router_requests_total{app=\"web2\",code=\"5xx\"} 1000\n"
	"wharf_router_request_duration_seconds_bucket{app=\"web\",le=\"0.01\"} 50\n"
	"wharf_router_request_duration_seconds_bucket{app=\"web\",le=\"0.1\"} 98\n"
	"wharf_router_request_duration_seconds_bucket{app=\"web\",le=\"1\"} 100\n"
	"wharf_router_request_duration_seconds_bucket{app=\"web\",le=\"+Inf\"} 100\n"
	"wharf_router_request_duration_seconds_bucket{app=\"web2\",le=\"+Inf\"} 1000\n";

static void router_figures(void **state)
{
	struct deploy_app_stats s, before;

	(void)state;
	assert_int_equal(deploy_router_app_stats(metrics, strlen(metrics), "web", &s), 0);
	assert_int_equal(s.found, 1);
	assert_true(s.requests == 100 && s.errors == 10);
	assert_int_equal(s.nbuckets, 4);
	/* rank 50 is the first bucket's end; rank 99 is half into (0.1, 1]. */
	assert_true(fabs(deploy_app_stats_quantile(&s, 0.5) - 0.01) < 1e-12);
	assert_true(fabs(deploy_app_stats_quantile(&s, 0.99) - 0.55) < 1e-12);
	before = s;
	deploy_app_stats_diff(&s, &before);
	assert_true(s.requests == 0);
	assert_true(isnan(deploy_app_stats_quantile(&s, 0.5)));
	assert_int_equal(deploy_router_app_stats(metrics, strlen(metrics), "nope", &s), 0);
	assert_int_equal(s.found, 0);
	assert_true(isnan(deploy_app_stats_quantile(&s, 0.99)));
	/* Every request in +Inf: the highest finite bound is all one can say. */
	assert_int_equal(deploy_router_app_stats(metrics, strlen(metrics), "web2", &s), 0);
	assert_true(isnan(deploy_app_stats_quantile(&s, 0.5)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cgroup_v2),
		cmocka_unit_test(cgroup_v1_and_percpu),
		cmocka_unit_test(one_shot_and_odd),
		cmocka_unit_test(router_figures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
