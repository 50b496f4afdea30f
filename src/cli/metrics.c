/* metrics.c - `metrics` (the Prometheus text once), `metrics:serve` (the metrics
 * listener Prometheus scrapes: off until `metrics:set --global listen ADDR:PORT`),
 * `metrics:report`, and `router:stats` (an app's request rate, error rate and
 * latency quantiles, read from the router's metrics). */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define METRICS_HEAD_MAX   8192
#define METRICS_TIMEOUT_S  5
#define METRICS_LISTEN_DEF "127.0.0.1:9180"

static int metrics_text(struct buf *out)
{
	struct scheduler *sched = NULL;
	int ret;

	if (scheduler_new(&sched, NULL) < 0)
		return -1;
	ret = deploy_metrics(out, sched);
	scheduler_free(sched);
	return ret;
}

int cmd_metrics(int argc, char **argv)
{
	struct buf text = BUF_INIT;
	int ret;

	if (argc != 1)
		return cli_usage(argv[0]);
	ret = metrics_text(&text);
	if (ret == 0)
		fwrite(text.buf, 1, text.len, stdout);
	buf_release(&text);
	return ret;
}

/* ---- the listener ---------------------------------------------------------------------- */

int cli_metrics_listen_parse(const char *s, struct buf *host, int *port)
{
	const char *colon = s ? strrchr(s, ':') : NULL;
	const char *h = s, *hend = colon;
	struct in6_addr a6;
	struct in_addr a4;
	struct buf tmp = BUF_INIT;
	int ok;

	buf_reset(host);
	*port = 0;
	/* A port alone listens on loopback. */
	if (s && *s && strlen(s) <= 5 && strspn(s, "0123456789") == strlen(s)) {
		if (deploy_port_parse(s, strlen(s), 1, port) < 0)
			goto bad;
		return buf_addstr(host, "127.0.0.1");
	}
	if (!colon || strlen(s) > 64 ||
	    deploy_port_parse(colon + 1, strlen(colon + 1), 1, port) < 0)
		goto bad;
	if (*h == '[' && hend > h && hend[-1] == ']')
		h++, hend--;
	if (buf_add(&tmp, h, (size_t)(hend - h)) < 0)
		goto bad;
	ok = inet_pton(AF_INET, tmp.buf, &a4) == 1 || inet_pton(AF_INET6, tmp.buf, &a6) == 1;
	if (!ok || buf_addstr(host, tmp.buf) < 0)
		goto bad;
	buf_release(&tmp);
	return 0;
bad:
	buf_release(&tmp);
	buf_reset(host);
	*port = 0;
	return err_set("invalid listen address '%s': use IP:PORT (127.0.0.1:9180, [::1]:9180)",
		       s ? s : "");
}

int cli_metrics_request(const char *head, size_t len, int *status)
{
	const char *sp1, *sp2, *end = head + len;

	*status = 400;
	/* Only the request line matters: "GET /metrics HTTP/1.1". */
	if (!(sp1 = memchr(head, ' ', len)) ||
	    !(sp2 = memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1))))
		return 0;
	if ((size_t)(end - sp2) < 9 || strncmp(sp2 + 1, "HTTP/1.", 7))
		return 0;
	if (!((sp1 - head == 3 && !strncmp(head, "GET", 3)) ||
	      (sp1 - head == 4 && !strncmp(head, "HEAD", 4)))) {
		*status = 405;
		return 0;
	}
	/* A query string (Prometheus may add none) does not change the page. */
	if ((sp2 - sp1 - 1 == 8 && !strncmp(sp1 + 1, "/metrics", 8)) ||
	    (sp2 - sp1 - 1 > 8 && !strncmp(sp1 + 1, "/metrics?", 9))) {
		*status = 200;
		return sp1 - head == 4; /* 1: HEAD, no body */
	}
	*status = 404;
	return 0;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0) {
			if (w < 0 && errno == EINTR)
				continue;
			return;
		}
		p += w;
		n -= (size_t)w;
	}
}

static void answer(int fd, int status, const char *ctype, const struct buf *body, int head_only)
{
	struct buf h = BUF_INIT;
	const char *reason = status == 200   ? "OK"
			     : status == 404 ? "Not Found"
			     : status == 405 ? "Method Not Allowed"
			     : status == 503 ? "Service Unavailable"
					     : "Bad Request";

	if (buf_addf(&h,
		     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n",
		     status, reason, ctype, body->len) == 0) {
		send_all(fd, h.buf, h.len);
		if (!head_only)
			send_all(fd, body->buf, body->len);
	}
	buf_release(&h);
}

/* One connection: the request head (bounded in size and time), one answer. */
static void serve_one(int fd)
{
	struct timeval tv = { .tv_sec = METRICS_TIMEOUT_S };
	char head[METRICS_HEAD_MAX];
	struct buf body = BUF_INIT;
	size_t len = 0;
	int status, head_only;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (len < sizeof(head) - 1) {
		ssize_t r = recv(fd, head + len, sizeof(head) - 1 - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		head[len] = '\0';
		if (memmem(head, len, "\r\n\r\n", 4) || memmem(head, len, "\n\n", 2))
			break;
	}
	head_only = cli_metrics_request(head, len, &status);
	if (status != 200) {
		buf_addf(&body, "%d\n", status);
		answer(fd, status, "text/plain; charset=utf-8", &body, 0);
	} else if (metrics_text(&body) < 0) {
		buf_reset(&body);
		buf_addf(&body, "metrics unavailable: %s\n", err_msg());
		say_warn("metrics: %s", err_msg());
		err_clear(); /* handled: told to the scraper */
		answer(fd, 503, "text/plain; charset=utf-8", &body, 0);
	} else {
		answer(fd, 200, "text/plain; version=0.0.4; charset=utf-8", &body, head_only);
	}
	buf_release(&body);
}

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

int cmd_metrics_serve(int argc, char **argv)
{
	struct buf host = BUF_INIT;
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
				  .ai_socktype = SOCK_STREAM },
			*ai = NULL;
	struct sigaction sa = { .sa_handler = on_stop };
	json_t *global = NULL;
	const char *listen_at;
	char port_s[16];
	int port, one = 1, fd = -1, ret = -1;

	if (argc != 1)
		return cli_usage(argv[0]);
	if (app_global_load(&global) < 0)
		return -1;
	/* Off by default: container figures are for the operator, not the world. */
	if (!(listen_at = app_get_str(global, APP_METRICS_LISTEN))) {
		err_set("the metrics listener is off: `metrics:set --global listen %s` turns it on",
			METRICS_LISTEN_DEF);
		goto out;
	}
	if (cli_metrics_listen_parse(listen_at, &host, &port) < 0)
		goto out;
	snprintf(port_s, sizeof(port_s), "%d", port);
	if (getaddrinfo(host.buf, port_s, &hints, &ai) != 0) {
		err_set("cannot resolve %s", listen_at);
		goto out;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
		err_set_errno("cannot listen on %s", listen_at);
		goto out;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	say_step("Serving metrics on http://%s/metrics", listen_at);
	/* One scrape at a time: Prometheus scrapes every few seconds, and a page
	 * takes a Docker call per container. */
	while (!stopping) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int c = accept4(fd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			err_set_errno("accept");
			goto out;
		}
		serve_one(c);
		close(c);
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	json_decref(global);
	buf_release(&host);
	return ret;
}

static int set_listen(const char *app, json_t *doc, void *data)
{
	(void)app;
	return app_set_str(doc, APP_METRICS_LISTEN, data) < 0 ? -1 : 1;
}

int cmd_metrics_set(int argc, char **argv)
{
	struct cli_opts o;
	struct buf host = BUF_INIT, norm = BUF_INIT;
	const char *v;
	int port, ret;

	if (cli_opts_parse(&o, argc, argv, "--global", NULL) < 0)
		return -1;
	if (!o.global || o.npos < 1 || o.npos > 2 || strcmp(o.pos[0], "listen"))
		return cli_usage(argv[0]);
	v = o.npos == 2 ? o.pos[1] : NULL;
	if (v && cli_metrics_listen_parse(v, &host, &port) < 0)
		return -1;
	/* Stored as IP:PORT, so metrics:report says where it listens. */
	if (v && !strchr(v, ':')) {
		buf_addf(&norm, "127.0.0.1:%d", port);
		v = norm.buf;
	}
	ret = app_global_update(set_listen, (void *)v);
	buf_release(&host);
	if (ret < 0) {
		buf_release(&norm);
		return -1;
	}
	if (v)
		say_step("The metrics listener serves http://%s/metrics (from the next start of "
			 "metrics:serve)",
			 v);
	else
		say_step("The metrics listener is off");
	buf_release(&norm);
	return 0;
}

int cmd_metrics_report(int argc, char **argv)
{
	struct cli_opts o;
	json_t *global = NULL;
	struct cli_report_row rows[1];
	int json, ret;

	if (cli_opts_parse(&o, argc, argv, "--format --global", "--metrics-") < 0 ||
	    cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos)
		return cli_usage(argv[0]);
	if (app_global_load(&global) < 0)
		return -1;
	rows[0].label = "Metrics listen";
	rows[0].value = app_get_str_or(global, APP_METRICS_LISTEN, "off");
	ret = cli_report_show("Global metrics information", rows, 1, o.flag, json);
	json_decref(global);
	return ret;
}

/* ---- router:stats ---------------------------------------------------------------------- */

/* The figures of st: counts, error rate, quantiles; over a window of secs > 0
 * also its length and the rates. */
static json_t *figures(const struct deploy_app_stats *st, double secs)
{
	double p50 = deploy_app_stats_quantile(st, 0.5), p99 = deploy_app_stats_quantile(st, 0.99);
	json_t *o =
		json_pack("{s:f, s:f, s:f, s:o, s:o}", "requests", st->requests, "errors",
			  st->errors, "error_rate", st->requests ? st->errors / st->requests : 0.0,
			  "p50_seconds", isnan(p50) ? json_null() : json_real(p50), "p99_seconds",
			  isnan(p99) ? json_null() : json_real(p99));

	if (o && secs > 0 &&
	    (json_object_set_new(o, "seconds", json_real(secs)) < 0 ||
	     json_object_set_new(o, "requests_per_second", json_real(st->requests / secs)) < 0 ||
	     json_object_set_new(o, "errors_per_second", json_real(st->errors / secs)) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *app_figures(const char *app, const struct deploy_app_stats *total,
			   const struct deploy_app_stats *win, double window)
{
	json_t *o = figures(total, 0), *w;

	if (o && json_object_set_new(o, "app", json_string(app)) < 0) {
		json_decref(o);
		return NULL;
	}
	if (o && win && window > 0 &&
	    (!(w = figures(win, window)) || json_object_set_new(o, "window", w) < 0)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void print_ms(const char *label, const json_t *v)
{
	if (json_is_number(v))
		printf("       %-26s %.1f ms\n", label, json_number_value(v) * 1000.0);
	else
		printf("       %-26s -\n", label);
}

static void figures_print(const json_t *o)
{
	const json_t *w = json_object_get(o, "window");

	say_section("%s router stats", json_str(o, "app", ""));
	printf("       %-26s %.0f\n",
	       "Requests:", json_number_value(json_object_get(o, "requests")));
	printf("       %-26s %.0f (%.2f%%)\n",
	       "Errors (5xx):", json_number_value(json_object_get(o, "errors")),
	       100.0 * json_number_value(json_object_get(o, "error_rate")));
	print_ms("Latency p50:", json_object_get(o, "p50_seconds"));
	print_ms("Latency p99:", json_object_get(o, "p99_seconds"));
	if (!w)
		return;
	printf("       Over the last %.0f s:\n", json_number_value(json_object_get(w, "seconds")));
	printf("       %-26s %.2f/s\n",
	       "Request rate:", json_number_value(json_object_get(w, "requests_per_second")));
	printf("       %-26s %.2f/s (%.2f%%)\n",
	       "Error rate:", json_number_value(json_object_get(w, "errors_per_second")),
	       100.0 * json_number_value(json_object_get(w, "error_rate")));
	print_ms("Latency p50:", json_object_get(w, "p50_seconds"));
	print_ms("Latency p99:", json_object_get(w, "p99_seconds"));
}

int cmd_router_stats(int argc, char **argv)
{
	struct cli_opts o;
	struct buf before = BUF_INIT, after = BUF_INIT;
	json_t *apps = NULL, *out = NULL, *v;
	const char *wflag = NULL;
	long window = 0;
	size_t i;
	int json, ret = -1;

	/* --window N: sample twice, N seconds apart, for rates. */
	for (i = 1; (int)i < argc; i++)
		if (!strcmp(argv[i], "--window") && (int)i + 1 < argc) {
			wflag = argv[i + 1];
			memmove(&argv[i], &argv[i + 2],
				(size_t)(argc - (int)i - 1) * sizeof(*argv));
			argc -= 2;
			break;
		}
	if (cli_opts_parse(&o, argc, argv, "--format", NULL) < 0 || cli_opts_format(&o, &json) < 0)
		return -1;
	if (o.npos > 1 || (o.npos == 1 && cli_opts_app(&o, 1) < 0))
		return o.npos > 1 ? cli_usage(argv[0]) : -1;
	if (wflag) {
		size_t n = strlen(wflag);
		if (!n || n > 3 || strspn(wflag, "0123456789") != n || atol(wflag) > 300)
			return err_set("--window takes seconds from 0 to 300");
		window = atol(wflag);
	}
	if (app_list_or_one(o.npos ? o.pos[0] : NULL, &apps) < 0)
		goto out;
	if (!(out = json_array())) {
		err_set("out of memory");
		goto out;
	}
	if (router_client_metrics(&before) < 0)
		goto out;
	if (window > 0) {
		sleep((unsigned)window);
		if (router_client_metrics(&after) < 0)
			goto out;
	}
	json_array_foreach(apps, i, v) {
		const char *app = json_string_value(v);
		struct deploy_app_stats t0, t1, w;
		json_t *f;

		deploy_router_app_stats(before.buf, before.len, app, &t0);
		if (window > 0) {
			/* Totals at the end, and the window's own figures. */
			deploy_router_app_stats(after.buf, after.len, app, &t1);
			w = t1;
			deploy_app_stats_diff(&w, &t0);
			f = app_figures(app, &t1, &w, (double)window);
		} else {
			f = app_figures(app, &t0, NULL, 0);
		}
		if (!f || json_array_append_new(out, f) < 0) {
			err_set("out of memory");
			goto out;
		}
	}
	if (json) {
		cli_print_json(o.npos == 1 ? json_array_get(out, 0) : out, 0);
	} else {
		json_array_foreach(out, i, v)
			figures_print(v);
	}
	ret = 0;
out:
	json_decref(apps);
	json_decref(out);
	buf_release(&before);
	buf_release(&after);
	return ret;
}
