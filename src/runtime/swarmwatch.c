/* swarmwatch.c - what the router's sync with the swarm asks the outside world: the
 * manager's services, tasks and nodes (through src/docker's swarm calls), and
 * whether a task accepts a TCP connection, asked of every task at once. */
#include "runtime.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int runtime_swarm_fetch(struct docker *d, const char *app, json_t **services, json_t **tasks,
			json_t **nodes)
{
	struct docker_labels l = DOCKER_LABELS_INIT;
	int ret = -1;

	*services = *tasks = *nodes = NULL;
	/* Only the app's services; every task and node (the tasks' filter by service
	 * would cost a call per service). */
	if (docker_labels_add(&l, DOCKER_LABEL_APP, app) < 0 ||
	    docker_service_list(d, l.v, services) < 0 || docker_task_list(d, NULL, tasks) < 0 ||
	    docker_node_list(d, nodes) < 0)
		goto out;
	if (!json_is_array(*services) || !json_is_array(*tasks) || !json_is_array(*nodes)) {
		err_set("the swarm manager answered something that is not a list");
		goto out;
	}
	ret = 0;
out:
	if (ret < 0) {
		json_decref(*services);
		json_decref(*tasks);
		json_decref(*nodes);
		*services = *tasks = *nodes = NULL;
	}
	docker_labels_release(&l);
	return ret;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A non-blocking connect to "ADDR:PORT" started: the socket, or -1 (target bad or
 * refused at once: ok stays 0); *done 1 when it connected at once. */
static int probe_start(const char *target, int *done)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	const char *colon = strrchr(target, ':');
	char host[INET_ADDRSTRLEN];
	int fd;

	*done = 0;
	if (!colon || (size_t)(colon - target) >= sizeof(host))
		return -1;
	memcpy(host, target, (size_t)(colon - target));
	host[colon - target] = '\0';
	sa.sin_port = htons((uint16_t)atoi(colon + 1));
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1 || !sa.sin_port)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		*done = 1;
	} else if (errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

int runtime_tcp_probe(const char *const *targets, size_t n, int timeout_ms, int *ok)
{
	struct pollfd *pf = calloc(n ? n : 1, sizeof(*pf));
	long long deadline = now_ms() + timeout_ms;
	size_t i, waiting = 0;

	if (!pf)
		return err_set("out of memory");
	for (i = 0; i < n; i++) {
		int done;
		ok[i] = 0;
		pf[i].fd = probe_start(targets[i], &done);
		pf[i].events = POLLOUT;
		if (pf[i].fd >= 0 && done) {
			ok[i] = 1;
			close(pf[i].fd);
			pf[i].fd = -1; /* poll() skips negative fds */
		} else if (pf[i].fd >= 0) {
			waiting++;
		}
	}
	/* All at once: one node that does not answer costs timeout_ms, not one per task. */
	while (waiting) {
		long long left = deadline - now_ms();
		int r;
		if (left <= 0)
			break;
		r = poll(pf, n, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (i = 0; i < n; i++) {
			int err = 0;
			socklen_t len = sizeof(err);
			if (pf[i].fd < 0 || !pf[i].revents)
				continue;
			ok[i] = getsockopt(pf[i].fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && !err;
			close(pf[i].fd);
			pf[i].fd = -1;
			waiting--;
		}
	}
	for (i = 0; i < n; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	free(pf);
	return 0;
}

void runtime_route_health(struct route_spec *rs, const json_t *checks, const json_t *skipped,
			  const json_t *disabled)
{
	size_t i;
	json_t *c;

	rs->health_path = NULL;
	if (!runtime_type_listed(skipped, "web") && !runtime_type_listed(disabled, "web"))
		json_array_foreach(checks, i, c)
			if ((rs->health_path = json_str(c, "path", NULL)))
				break;
	rs->interval_ms = 500;
	rs->timeout_ms = 5000;
	rs->deadline_ms = 30000;
	rs->drain_timeout_ms = 30000;
}
