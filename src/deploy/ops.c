/* ops.c - what operators look at after a deploy: the apps' log rotation settings
 * (logs:set), the output of the last failed deploy (logs:failed), the Prometheus
 * text of the metrics listener (the router's metrics joined by each container's)
 * and the per-app request figures read back from the router's metrics. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- log rotation ----------------------------------------------------------------- */

#define LOG_SIZE_MIN  (100LL << 10)
#define LOG_SIZE_MAX  (100LL << 30)
#define LOG_FILES_MAX 100

int deploy_log_max_size_parse(const char *s, long long *bytes)
{
	if (size_parse(s, bytes) < 0)
		return -1;
	if (*bytes < LOG_SIZE_MIN || *bytes > LOG_SIZE_MAX) {
		*bytes = 0;
		return err_set("max-size '%s' is out of range: 100k to 100g", s);
	}
	return 0;
}

int deploy_log_max_file_parse(const char *s, int *n)
{
	size_t len = s ? strlen(s) : 0;

	*n = 0;
	if (!len || len > 3 || strspn(s, "0123456789") != len || s[0] == '0' ||
	    atoi(s) > LOG_FILES_MAX)
		return err_set("invalid max-file '%s': a count of files from 1 to %d", s ? s : "",
			       LOG_FILES_MAX);
	*n = atoi(s);
	return 0;
}

int deploy_log_settings(const json_t *appobj, const json_t *global, struct buf *size,
			struct buf *files)
{
	const json_t *own = app_get(appobj, APP_LOGS), *all = app_get(global, APP_LOGS);
	const char *s = app_get_str_or(own, APP_LOG_MAX_SIZE, app_get_str(all, APP_LOG_MAX_SIZE));
	const char *f = app_get_str_or(own, APP_LOG_MAX_FILE, app_get_str(all, APP_LOG_MAX_FILE));
	long long bytes;
	int n;

	buf_reset(size);
	buf_reset(files);
	/* Checked again: a hand-edited file must not reach Docker unchecked. Docker
	 * gets plain bytes, whatever units the user typed. */
	if (s && (deploy_log_max_size_parse(s, &bytes) < 0 || buf_addf(size, "%lld", bytes) < 0))
		return -1;
	if (f && (deploy_log_max_file_parse(f, &n) < 0 || buf_addf(files, "%d", n) < 0))
		return -1;
	return 0;
}

/* ---- the last failed deploy's output ------------------------------------------------ */

int deploy_failed_log_path(struct buf *out, const char *app)
{
	return wharf_app_path(out, app, "deploy-failed.log");
}

void deploy__failed_log_save(const char *app, struct buf *output, const char *why)
{
	struct buf path = BUF_INIT;
	size_t need = strlen(why) + 16;

	/* The reason goes last, in the tap's bound: older lines make room. */
	if (output->max && output->len + need > output->max) {
		size_t drop = output->len + need - output->max;
		buf_remove_front(output, drop < output->len ? drop : output->len);
	}
	if (buf_addf(output, " !     %s\n", why) < 0)
		err_clear(); /* handled: kept without its reason */
	if (deploy_failed_log_path(&path, app) < 0 ||
	    fs_write_atomic(path.buf, output->buf, output->len, 0600) < 0)
		say_warn("could not keep the failed deploy's output: %s", err_msg());
	buf_release(&path);
}

/* ---- per-container metrics ------------------------------------------------------------ */

struct family {
	const char *name, *type, *help;
};

static const struct family families[] = {
	{ "wharf_container_cpu_seconds_total", "counter", "CPU time the container used." },
	{ "wharf_container_memory_bytes", "gauge",
	  "Memory the container uses, page cache it can drop excluded (as docker stats)." },
	{ "wharf_container_memory_limit_bytes", "gauge", "The container's memory limit." },
	{ "wharf_container_network_receive_bytes_total", "counter", "Bytes received." },
	{ "wharf_container_network_transmit_bytes_total", "counter", "Bytes sent." },
	{ "wharf_container_block_read_bytes_total", "counter", "Bytes read from block devices." },
	{ "wharf_container_block_write_bytes_total", "counter", "Bytes written to block devices." },
	{ "wharf_container_pids", "gauge", "Processes and threads in the container." },
	{ "wharf_container_restarts_total", "counter",
	  "Restarts of the container by its restart policy." },
};

static double value_of(const struct deploy_usage *x, size_t fam)
{
	switch (fam) {
	case 0:
		return (double)x->st.cpu_total_ns / 1e9;
	case 1:
		return (double)x->st.mem_usage;
	case 2:
		return (double)x->st.mem_limit;
	case 3:
		return (double)x->st.net_rx;
	case 4:
		return (double)x->st.net_tx;
	case 5:
		return (double)x->st.blk_read;
	case 6:
		return (double)x->st.blk_write;
	case 7:
		return (double)x->st.pids;
	default:
		return (double)x->restarts;
	}
}

/* Appends an entry to *v (grown as needed): zeroed, with app's name. */
static struct deploy_usage *usage_add(const char *app, struct deploy_usage **v, size_t *n)
{
	struct deploy_usage *grown = realloc(*v, (*n + 1) * sizeof(**v)), *x;

	if (!grown) {
		err_set("out of memory");
		return NULL;
	}
	*v = grown;
	x = &grown[(*n)++];
	memset(x, 0, sizeof(*x));
	snprintf(x->app, sizeof(x->app), "%s", app);
	return x;
}

/* Appends every running process of app to *v (grown as needed), unmeasured, in
 * the scheduler's order or reversed (oldest first). */
static int list_app(struct scheduler *s, const char *app, int oldest_first, struct deploy_usage **v,
		    size_t *n)
{
	struct sched_procs procs = SCHED_PROCS_INIT;
	size_t i;
	int ret = -1;

	if (scheduler_list(s, app, &procs) < 0)
		return -1;
	for (i = 0; i < procs.n; i++) {
		const struct sched_proc *p = &procs.v[oldest_first ? procs.n - 1 - i : i];
		struct deploy_usage *x;

		if (strcmp(p->state, "running"))
			continue;
		if (!(x = usage_add(app, v, n)))
			goto out;
		snprintf(x->type, sizeof(x->type), "%s", p->type);
		snprintf(x->name, sizeof(x->name), "%s", p->name);
		snprintf(x->id, sizeof(x->id), "%s", p->id);
		snprintf(x->node, sizeof(x->node), "%s", p->node);
	}
	ret = 0;
out:
	sched_procs_release(&procs);
	return ret;
}

/* Measures the processes of v that s runs (swarm: those with a node; docker-local:
 * the others) all at once (the scheduler asks side by side: a scrape of many
 * containers must not take a second each). Those that went away get an empty id
 * (dropped by the caller); those that could not be read, their error. */
static int measure(struct scheduler *s, int swarm, int sample, struct deploy_usage *v, size_t n)
{
	const char **ids = n ? calloc(n, sizeof(*ids)) : NULL;
	struct sched_stats *st = n ? calloc(n, sizeof(*st)) : NULL;
	size_t *at = n ? calloc(n, sizeof(*at)) : NULL;
	size_t i, k = 0;
	int ret = -1;

	if (n && (!ids || !st || !at)) {
		err_set("out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (v[i].name[0] && !v[i].error[0] && !!v[i].node[0] == swarm) {
			at[k] = i;
			ids[k++] = v[i].id;
		}
	if (!k) {
		ret = 0;
		goto out;
	}
	if (scheduler_stats(s, ids, k, sample, st) < 0)
		goto out;
	for (i = 0; i < k; i++) {
		struct deploy_usage *x = &v[at[i]];
		struct sched_state state;

		if (st[i].ok < 0) {
			snprintf(x->error, sizeof(x->error), "%s", st[i].why);
			continue;
		}
		if (!st[i].ok || scheduler_state(s, x->id, &state) < 0) {
			err_clear(); /* handled: it stopped meanwhile */
			x->id[0] = '\0';
			continue;
		}
		x->st = st[i].st;
		x->restarts = state.restarts;
	}
	ret = 0;
out:
	free(ids);
	free(st);
	free(at);
	return ret;
}

int deploy_usage(struct scheduler *s, const json_t *apps, int sample, int oldest_first,
		 struct deploy_usage **out, size_t *n)
{
	struct scheduler *swarm = NULL, *owned = NULL;
	const json_t *a;
	size_t i, kept = 0;
	int ret = -1;

	*out = NULL;
	*n = 0;
	json_array_foreach(apps, i, a) {
		const char *app = json_string_value(a), *name;
		struct deploy_usage *x;
		int r;

		if (deploy_app_scheduler(app, &name) < 0)
			goto out;
		if (strcmp(name, "swarm"))
			r = list_app(s, app, oldest_first, out, n);
		else
			r = (swarm || deploy_scheduler(app, NULL, &owned, &swarm) == 0)
				    ? list_app(swarm, app, oldest_first, out, n)
				    : -1;
		if (r == 0)
			continue;
		/* The other apps are still measured; this one says why it is not. */
		if (!(x = usage_add(app, out, n)))
			goto out;
		snprintf(x->error, sizeof(x->error), "%s", err_msg());
		err_clear(); /* handled: the entry says it */
	}
	if (measure(s, 0, sample, *out, *n) < 0 ||
	    (swarm && measure(swarm, 1, sample, *out, *n) < 0))
		goto out;
	for (i = 0; i < *n; i++)
		if ((*out)[i].id[0] || (*out)[i].error[0])
			(*out)[kept++] = (*out)[i];
	*n = kept;
	ret = 0;
out:
	scheduler_free(owned);
	if (ret < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return ret;
}

int deploy_metrics(struct buf *out, struct scheduler *s)
{
	struct buf text = BUF_INIT;
	struct deploy_usage *v = NULL;
	json_t *apps = NULL;
	size_t i, j, n = 0;
	int router_up, ret = -1;

	/* The router's own metrics first, as it writes them (it never calls Docker). */
	router_up = router_client_metrics(&text) == 0;
	if (!router_up)
		err_clear(); /* handled: reported as wharf_router_up 0 */
	else if (buf_add(out, text.buf, text.len) < 0 ||
		 (text.len && text.buf[text.len - 1] != '\n' && buf_addch(out, '\n') < 0))
		goto out;
	if (buf_addf(out,
		     "# HELP wharf_router_up 1 when the router answered its control socket.\n"
		     "# TYPE wharf_router_up gauge\nwharf_router_up %d\n",
		     router_up) < 0)
		goto out;
	if (app_list(&apps) < 0)
		goto out;
	if (deploy_usage(s, apps, 0, 0, &v, &n) < 0)
		goto out;
	/* One family at a time, as the text format wants its samples grouped. */
	for (j = 0; j < sizeof(families) / sizeof(*families); j++) {
		if (buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", families[j].name,
			     families[j].help, families[j].name, families[j].type) < 0)
			goto out;
		for (i = 0; i < n; i++)
			if (!v[i].error[0] &&
			    buf_addf(out, "%s{app=\"%s\",process=\"%s\",container=\"%s\"} %.17g\n",
				     families[j].name, v[i].app, v[i].type, v[i].name,
				     value_of(&v[i], j)) < 0)
				goto out;
	}
	ret = 0;
out:
	free(v);
	json_decref(apps);
	buf_release(&text);
	return ret;
}

/* ---- the router's figures of one app ---------------------------------------------- */

/* The value of `name{app="APP",LABEL="VALUE"}` lines: *label gets VALUE (NUL-ended,
 * at most lsize-1 bytes) and *value the number. 1 when line is such a sample of
 * app, 0 when not. */
static int sample_of(const char *line, size_t len, const char *name, const char *app,
		     const char *label, char *lval, size_t lsize, double *value)
{
	size_t nl = strlen(name), al = strlen(app), ll = strlen(label);
	const char *p = line, *end = line + len, *q;
	char num[64], *e;

	if (len < nl + 1 || strncmp(p, name, nl) || p[nl] != '{')
		return 0;
	p += nl + 1;
	if ((size_t)(end - p) < al + 7 || strncmp(p, "app=\"", 5) || strncmp(p + 5, app, al) ||
	    p[5 + al] != '"')
		return 0;
	p += 6 + al;
	*lval = '\0';
	if (*label) {
		if ((size_t)(end - p) < ll + 3 || *p != ',' || strncmp(p + 1, label, ll) ||
		    strncmp(p + 1 + ll, "=\"", 2))
			return 0;
		p += ll + 3;
		q = memchr(p, '"', (size_t)(end - p));
		if (!q || (size_t)(q - p) >= lsize)
			return 0;
		memcpy(lval, p, (size_t)(q - p));
		lval[q - p] = '\0';
		p = q + 1;
	}
	if (p >= end || *p != '}' || p + 1 >= end || p[1] != ' ')
		return 0;
	p += 2;
	if ((size_t)(end - p) >= sizeof(num) || end == p)
		return 0;
	memcpy(num, p, (size_t)(end - p));
	num[end - p] = '\0';
	*value = strtod(num, &e);
	return *e == '\0';
}

int deploy_router_app_stats(const char *text, size_t len, const char *app,
			    struct deploy_app_stats *out)
{
	const char *p = text, *end = text + len;
	char lval[32];
	double v;

	memset(out, 0, sizeof(*out));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (sample_of(p, n, "wharf_router_requests_total", app, "code", lval, sizeof(lval),
			      &v)) {
			out->requests += v;
			if (!strcmp(lval, "5xx"))
				out->errors += v;
			out->found = 1;
		} else if (sample_of(p, n, "wharf_router_request_duration_seconds_bucket", app,
				     "le", lval, sizeof(lval), &v) &&
			   out->nbuckets < DEPLOY_LAT_BUCKETS_MAX) {
			out->le[out->nbuckets] =
				strcmp(lval, "+Inf") ? strtod(lval, NULL) : INFINITY;
			out->cum[out->nbuckets++] = v;
		}
		p += n + 1;
	}
	return 0;
}

void deploy_app_stats_diff(struct deploy_app_stats *now, const struct deploy_app_stats *before)
{
	size_t i;

	now->requests -= before->requests;
	now->errors -= before->errors;
	for (i = 0; i < now->nbuckets && i < before->nbuckets; i++)
		now->cum[i] -= before->cum[i];
}

double deploy_app_stats_quantile(const struct deploy_app_stats *st, double q)
{
	double total, rank, lo = 0, below = 0;
	size_t i;

	if (!st->nbuckets || (total = st->cum[st->nbuckets - 1]) <= 0)
		return NAN;
	rank = q * total;
	/* Prometheus's histogram_quantile(): linear within the bucket the rank falls
	 * in; in the +Inf bucket, the highest finite bound. */
	for (i = 0; i < st->nbuckets; i++) {
		if (st->cum[i] >= rank) {
			if (isinf(st->le[i]))
				return i ? st->le[i - 1] : NAN;
			if (st->cum[i] == below)
				return st->le[i];
			return lo + (st->le[i] - lo) * (rank - below) / (st->cum[i] - below);
		}
		lo = st->le[i];
		below = st->cum[i];
	}
	return NAN;
}
