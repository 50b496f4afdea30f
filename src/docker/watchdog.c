/* src/docker/watchdog.c - kills a container that outlives its time limit, from a thread, so the
 * caller can block in a streaming call (following logs, an attach) meanwhile. */
#include "docker/internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct container_watchdog {
	pthread_t       thread;
	pthread_mutex_t mu;
	pthread_cond_t  cond;
	int             stop;        /* set by container_watchdog_stop() */
	int             fired;       /* the limit passed and the kill was sent */
	struct timespec deadline;    /* CLOCK_MONOTONIC */
	char           *sock;        /* Docker's socket path */
	char           *kill_path;   /* "/v1.41/containers/<id>/kill" */
};

static void *watch(void *arg)
{
	struct container_watchdog *w = arg;
	struct http_reply reply = HTTP_REPLY_INIT;
	int fire = 0;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		if (pthread_cond_timedwait(&w->cond, &w->mu, &w->deadline) == ETIMEDOUT) {
			fire = !w->stop;
			break;
		}
	}
	w->fired = fire;
	pthread_mutex_unlock(&w->mu);
	/* Its own libcurl handle: the caller's is busy in another transfer. A failure
	 * leaves nothing to do but let the caller's wait go on. */
	if (fire)
		http_unix_request(w->sock, "POST", w->kill_path, NULL, NULL, 0, 10000, &reply);
	http_reply_release(&reply);
	return NULL;
}

static void watchdog_free(struct container_watchdog *w)
{
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->mu);
	free(w->sock);
	free(w->kill_path);
	free(w);
}

int container_watchdog_start(struct docker *d, const char *id, long timeout_s,
			     struct container_watchdog **out)
{
	struct container_watchdog *w;
	struct buf path = BUF_INIT;
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (timeout_s <= 0)
		return 0;    /* no limit */
	w = calloc(1, sizeof(*w));
	if (!w)
		return err_set("out of memory");
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);
	clock_gettime(CLOCK_MONOTONIC, &w->deadline);
	w->deadline.tv_sec += timeout_s;
	if (buf_addf(&path, "/v%s/containers/", docker_api_version(d)) < 0 ||
	    docker_pathencode(&path, id) < 0 || buf_addstr(&path, "/kill") < 0)
		goto fail;
	w->kill_path = buf_detach(&path, NULL);
	w->sock = strdup(docker__sock(d));
	if (!w->kill_path || !w->sock) {
		err_set("out of memory");
		goto fail;
	}
	rc = pthread_create(&w->thread, NULL, watch, w);
	if (rc != 0) {
		errno = rc;
		err_set_errno("cannot start a watchdog thread");
		goto fail;
	}
	*out = w;
	return 0;
fail:
	buf_release(&path);
	watchdog_free(w);
	return -1;
}

int container_watchdog_stop(struct container_watchdog *w)
{
	int fired;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	fired = w->fired;
	watchdog_free(w);
	return fired;
}
