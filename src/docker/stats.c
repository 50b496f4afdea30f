/* src/docker/stats.c - what a container uses: GET /containers/{id}/stats and what
 * `docker stats` makes of it (pure, unit-tested), GET /containers/{id}/top, and
 * the daemon's recent container events (GET /events). */
#include "docker/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <strings.h>

int docker_container_stats(struct docker *d, const char *id, int one_shot, json_t **out)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	*out = NULL;
	/* stream=false alone waits for a second sample, so precpu_stats is filled
	 * and the CPU % can be computed; one-shot=true answers at once with
	 * counters only (precpu empty), which is all a scrape needs. */
	if (docker__container_path(&p, id,
				   one_shot ? "/stats?stream=false&one-shot=true"
					    : "/stats?stream=false") < 0)
		goto out;
	ret = docker_call(d, "GET", p.buf, NULL, out, NULL);
	if (ret == 0 && !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		ret = err_set("Docker sent stats that are not a JSON object");
	}
out:
	buf_release(&p);
	return ret;
}

/* The work docker_containers_stats() shares among its threads: each takes the
 * next index until none is left. */
struct stats_job {
	const struct docker *proto;
	const char *const *ids;
	size_t n, next;
	int one_shot;
	json_t **outs;
	pthread_mutex_t mu;
};

static void *stats_worker(void *arg)
{
	struct stats_job *j = arg;
	struct docker *d = NULL;
	size_t i;

	if (docker__clone(j->proto, &d) < 0) {
		err_clear(); /* handled: the other threads take this one's share */
		return NULL;
	}
	for (;;) {
		pthread_mutex_lock(&j->mu);
		i = j->next++;
		pthread_mutex_unlock(&j->mu);
		if (i >= j->n)
			break;
		if (docker_container_stats(d, j->ids[i], j->one_shot, &j->outs[i]) < 0)
			err_clear(); /* handled: outs[i] stays NULL, as documented */
	}
	docker_free(d);
	return NULL;
}

int docker_containers_stats(struct docker *d, const char *const *ids, size_t n, int one_shot,
			    json_t **outs)
{
	pthread_t th[DOCKER_STATS_CONNS];
	struct stats_job j = { .proto = d, .ids = ids, .n = n, .one_shot = one_shot, .outs = outs };
	size_t k, started = 0;

	memset(outs, 0, n * sizeof(*outs));
	if (pthread_mutex_init(&j.mu, NULL))
		return err_set("cannot make a mutex");
	for (k = 0; k < n && k < DOCKER_STATS_CONNS; k++) {
		if (pthread_create(&th[k], NULL, stats_worker, &j))
			break;
		started++;
	}
	for (k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&j.mu);
	/* No thread (none could start, or every clone failed): this connection asks. */
	for (k = j.next < n ? j.next : n; k < n; k++)
		if (docker_container_stats(d, ids[k], one_shot, &outs[k]) < 0)
			err_clear(); /* handled: outs[k] stays NULL, as documented */
	return 0;
}

static unsigned long long u64(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (json_is_integer(v) && json_integer_value(v) > 0)
		return (unsigned long long)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) > 0)
		return (unsigned long long)json_real_value(v);
	return 0;
}

static const json_t *path(const json_t *obj, const char *a, const char *b)
{
	const json_t *v = json_object_get(obj, a);
	return b ? json_object_get(v, b) : v;
}

/* The CPU share as the docker CLI computes it on Linux: the container's usage
 * over the host's over the same interval, times the CPUs online, in %. */
static double cpu_percent(const json_t *st)
{
	const json_t *cpu = json_object_get(st, "cpu_stats"),
		     *pre = json_object_get(st, "precpu_stats");
	unsigned long long cu = u64(path(cpu, "cpu_usage", NULL), "total_usage"),
			   pu = u64(path(pre, "cpu_usage", NULL), "total_usage"),
			   cs = u64(cpu, "system_cpu_usage"), ps = u64(pre, "system_cpu_usage");
	unsigned long long ncpu = u64(cpu, "online_cpus");

	if (!ncpu)
		ncpu = json_array_size(path(cpu, "cpu_usage", "percpu_usage"));
	if (!ncpu)
		ncpu = 1;
	/* No previous sample (one-shot) or counters that went back: no share. */
	if (!ps || cu <= pu || cs <= ps)
		return 0.0;
	return (double)(cu - pu) / (double)(cs - ps) * (double)ncpu * 100.0;
}

void docker_stats_summary(const json_t *st, struct docker_stats *out)
{
	const json_t *mem = json_object_get(st, "memory_stats"),
		     *ms = json_object_get(mem, "stats");
	const json_t *nets = json_object_get(st, "networks"), *v;
	const json_t *io = path(st, "blkio_stats", "io_service_bytes_recursive");
	unsigned long long usage = u64(mem, "usage"), inactive;
	const char *k;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->cpu_percent = cpu_percent(st);
	out->cpu_total_ns = u64(path(st, "cpu_stats", "cpu_usage"), "total_usage");
	/* Memory as `docker stats` shows it: the page cache the kernel can drop at
	 * once does not count (cgroup v2: inactive_file; v1: total_inactive_file). */
	inactive = json_object_get(ms, "inactive_file") ? u64(ms, "inactive_file")
							: u64(ms, "total_inactive_file");
	out->mem_usage = inactive < usage ? usage - inactive : usage;
	out->mem_limit = u64(mem, "limit");
	json_object_foreach((json_t *)nets, k, v) {
		out->net_rx += u64(v, "rx_bytes");
		out->net_tx += u64(v, "tx_bytes");
	}
	json_array_foreach(io, i, v) {
		const char *op = json_str(v, "op", "");
		if (!strcasecmp(op, "read"))
			out->blk_read += u64(v, "value");
		else if (!strcasecmp(op, "write"))
			out->blk_write += u64(v, "value");
	}
	out->pids = u64(path(st, "pids_stats", NULL), "current");
}

int docker_container_top(struct docker *d, const char *id, json_t **out)
{
	struct buf p = BUF_INIT;
	int ret = -1;

	*out = NULL;
	if (docker__container_path(&p, id, "/top") < 0)
		goto out;
	ret = docker_call(d, "GET", p.buf, NULL, out, NULL);
out:
	buf_release(&p);
	return ret;
}

struct events_ctx {
	struct docker__lines lines;
	json_t *list;
	size_t max;
};

static int event_obj(const json_t *obj, void *ud)
{
	struct events_ctx *c = ud;

	/* The oldest go first when the daemon has more than we keep. */
	if (json_array_size(c->list) >= c->max)
		json_array_remove(c->list, 0);
	return json_array_append(c->list, (json_t *)obj);
}

static int event_line(const char *line, size_t len, void *ud)
{
	return docker__json_line(line, len, event_obj, ud);
}

static int events_chunk(const char *data, size_t len, void *ud)
{
	struct events_ctx *c = ud;
	return docker__lines_feed(&c->lines, data, len, event_line, c);
}

int docker_events(struct docker *d, long long since, long long until, const json_t *filters,
		  size_t max, json_t **out)
{
	struct events_ctx c = { .lines = DOCKER__LINES_INIT, .list = json_array(), .max = max };
	struct buf p = BUF_INIT;
	char *fs = NULL;
	int ret = -1;

	*out = NULL;
	if (!c.list || !until || until < since) {
		err_set("bad event window");
		goto out;
	}
	/* With until the daemon sends what it kept of the window and closes. */
	if (buf_addf(&p, "/events?since=%lld&until=%lld", since, until) < 0)
		goto out;
	if (filters && json_object_size(filters)) {
		if (!(fs = json_dumps(filters, JSON_COMPACT)) || buf_addstr(&p, "&filters=") < 0 ||
		    docker_urlencode(&p, fs) < 0) {
			err_set("cannot build the event filter");
			goto out;
		}
	}
	if (docker__stream(d, "GET", p.buf, NULL, -1, events_chunk, &c, NULL) < 0 ||
	    docker__lines_finish(&c.lines, event_line, &c) < 0)
		goto out;
	*out = c.list;
	c.list = NULL;
	ret = 0;
out:
	free(fs);
	json_decref(c.list);
	docker__lines_release(&c.lines);
	buf_release(&p);
	return ret;
}
