/* fuzz_ops_input.c - what operators and scrapers send the ops commands: the metrics
 * listener's request head (from the network) and its listen address, sizes, durations and
 * --since times (from ssh users), and the router's Prometheus text as router:stats reads
 * it. Never a crash; what is accepted keeps its promises. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf text = BUF_INIT, host = BUF_INIT;
	struct deploy_app_stats st;
	long long v;
	int status, port, head;

	if (size > 65536 || buf_add(&text, data, size) < 0)
		return 0;
	head = cli_metrics_request(text.buf, text.len, &status);
	if ((head && status != 200) ||
	    (status != 200 && status != 400 && status != 404 && status != 405))
		abort();
	if (strlen(text.buf) == size) {
		if (cli_metrics_listen_parse(text.buf, &host, &port) == 0 &&
		    (port < 1 || port > 65535 || !host.len))
			abort();
		if (size_parse(text.buf, &v) == 0 && (v < 0 || v > (1LL << 50)))
			abort();
		if (duration_parse(text.buf, &v) == 0 && (v < 0 || v > 100LL * 365 * 86400))
			abort();
		if (time_parse_since(text.buf, 1700000000, &v) == 0 && v < 0)
			abort();
	}
	deploy_router_app_stats(text.buf, text.len, "web", &st);
	if (st.nbuckets > DEPLOY_LAT_BUCKETS_MAX)
		abort();
	(void)deploy_app_stats_quantile(&st, 0.99);
	buf_release(&text);
	buf_release(&host);
	return 0;
}
