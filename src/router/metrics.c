/* metrics.c - GET /metrics: the router's counters in Prometheus text format. */
#include "internal.h"

int router__metrics(struct buf *out, struct router *r)
{
	static const char *const cls[STATUS_CLASSES] = {
		"other", "1xx", "2xx", "3xx", "4xx", "5xx"
	};
	struct app *a;
	size_t i, idle = 0, inflight = 0;

	if (buf_addstr(out, "# HELP wharf_router_requests_total Requests answered, by app and "
			    "status class.\n# TYPE wharf_router_requests_total counter\n") < 0)
		return -1;
	for (a = r->apps; a; a = a->next)
		for (i = 0; i < STATUS_CLASSES; i++)
			if (buf_addf(out,
				     "wharf_router_requests_total{app=\"%s\",code=\"%s\"} %llu\n",
				     a->spec.app, cls[i], a->requests[i]) < 0)
				return -1;
	if (buf_addstr(out, "# HELP wharf_router_request_duration_seconds Time from a request's "
			    "head to the end of its response, by app.\n"
			    "# TYPE wharf_router_request_duration_seconds histogram\n") < 0)
		return -1;
	for (a = r->apps; a; a = a->next) {
		unsigned long long cum = 0;

		for (i = 0; i < ROUTER_LAT_BUCKETS; i++) {
			cum += a->lat_bucket[i];
			if (buf_addf(out,
				     "wharf_router_request_duration_seconds_bucket{app=\"%s\","
				     "le=\"%g\"} %llu\n",
				     a->spec.app, router__lat_bounds[i], cum) < 0)
				return -1;
		}
		if (buf_addf(out,
			     "wharf_router_request_duration_seconds_bucket{app=\"%s\","
			     "le=\"+Inf\"} %llu\n"
			     "wharf_router_request_duration_seconds_sum{app=\"%s\"} %.6f\n"
			     "wharf_router_request_duration_seconds_count{app=\"%s\"} %llu\n",
			     a->spec.app, a->lat_count, a->spec.app, a->lat_sum, a->spec.app,
			     a->lat_count) < 0)
			return -1;
	}
	for (a = r->apps; a; a = a->next)
		for (i = 0; i < a->spec.ntargets; i++) {
			idle += a->targets[i]->nidle;
			inflight += a->targets[i]->inflight;
		}
	if (buf_addf(
		    out,
		    "# HELP wharf_router_unrouted_requests_total Requests for a host no "
		    "app serves, or malformed.\n# TYPE wharf_router_unrouted_requests_total "
		    "counter\nwharf_router_unrouted_requests_total %llu\n"
		    "# HELP wharf_router_client_connections Open client connections.\n"
		    "# TYPE wharf_router_client_connections gauge\n"
		    "wharf_router_client_connections %zu\n"
		    "# HELP wharf_router_upstream_idle_connections Pooled keep-alive connections.\n"
		    "# TYPE wharf_router_upstream_idle_connections gauge\n"
		    "wharf_router_upstream_idle_connections %zu\n"
		    "# HELP wharf_router_requests_in_flight Requests forwarded and not yet "
		    "answered.\n# TYPE wharf_router_requests_in_flight gauge\n"
		    "wharf_router_requests_in_flight %zu\n"
		    "# HELP wharf_router_apps Apps in the table.\n# TYPE wharf_router_apps gauge\n",
		    r->unrouted, r->nconns, idle, inflight) < 0)
		return -1;
	i = 0;
	for (a = r->apps; a; a = a->next)
		i++;
	return buf_addf(out, "wharf_router_apps %zu\n", i);
}
