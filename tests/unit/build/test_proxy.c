/* test_proxy.c - the build egress proxy (src/build/proxy.c) refuses what
 * docs/security.md says it refuses: every loopback, private, carrier-NAT,
 * link-local (cloud metadata), multicast or reserved destination, v4-mapped v6
 * included, and every port but 80 and 443. The attacks are also made for real
 * against a running proxy on 127.0.0.1: a CONNECT to the host's loopback, to a
 * name that resolves to it, to the metadata address or to another port is
 * answered 403 (a destination the proxy let through but could not reach would
 * get 502), anything but CONNECT 405. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "build/build.h"
#include "build/internal.h"

static int allowed(const char *ip)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };

	if (inet_pton(AF_INET, ip, &v4.sin_addr) == 1)
		return build__proxy_addr_allowed((struct sockaddr *)&v4);
	assert_int_equal(inet_pton(AF_INET6, ip, &v6.sin6_addr), 1);
	return build__proxy_addr_allowed((struct sockaddr *)&v6);
}

static void addresses(void **state)
{
	static const char *const refused[] = { "0.0.0.0",
					       "10.0.0.1",
					       "10.213.0.1",
					       "127.0.0.1",
					       "127.1.2.3",
					       "100.64.0.1",
					       "100.127.255.255",
					       "169.254.169.254",
					       "172.16.0.1",
					       "172.31.255.255",
					       "192.168.1.1",
					       "224.0.0.1",
					       "239.255.255.250",
					       "240.0.0.1",
					       "255.255.255.255",
					       "::",
					       "::1",
					       "fe80::1",
					       "fc00::1",
					       "fd12:3456::1",
					       "ff02::1",
					       "fec0::1",
					       "::ffff:127.0.0.1",
					       "::ffff:169.254.169.254",
					       "::ffff:10.1.2.3",
					       "::127.0.0.1",
					       NULL };
	static const char *const ok[] = { "1.1.1.1",
					  "8.8.8.8",
					  "100.63.255.255",
					  "100.128.0.1",
					  "172.15.255.255",
					  "172.32.0.1",
					  "192.167.1.1",
					  "203.0.113.80",
					  "2001:4860:4860::8888",
					  "::ffff:8.8.8.8",
					  NULL };
	int i;

	(void)state;
	for (i = 0; refused[i]; i++)
		if (allowed(refused[i]))
			fail_msg("%s is allowed", refused[i]);
	for (i = 0; ok[i]; i++)
		if (!allowed(ok[i]))
			fail_msg("%s is refused", ok[i]);
}

static void connect_lines(void **state)
{
	static const char *const bad[] = { "GET http://example.com/ HTTP/1.1\r\n\r\n",
					   "CONNECT example.com:22 HTTP/1.1\r\n\r\n",
					   "CONNECT example.com:8443 HTTP/1.1\r\n\r\n",
					   "CONNECT example.com:0 HTTP/1.1\r\n\r\n",
					   "CONNECT example.com:65536 HTTP/1.1\r\n\r\n",
					   "CONNECT example.com:443x HTTP/1.1\r\n\r\n",
					   "CONNECT example.com HTTP/1.1\r\n\r\n",
					   "CONNECT a:b:443 HTTP/1.1\r\n\r\n",
					   "CONNECT :443 HTTP/1.1\r\n\r\n",
					   "CONNECT [::1:443 HTTP/1.1\r\n\r\n",
					   "CONNECT example.com:443 HTTP/2\r\n\r\n",
					   "CONNECT example.com:443\r\n\r\n",
					   NULL };
	struct buf host = BUF_INIT;
	int i, port = 0;

	(void)state;
	assert_int_equal(build__proxy_parse_connect(
				 "CONNECT registry.npmjs.org:443 HTTP/1.1\r\n\r\n", &host, &port),
			 0);
	assert_string_equal(host.buf, "registry.npmjs.org");
	assert_int_equal(port, 443);
	buf_reset(&host);
	assert_int_equal(build__proxy_parse_connect("CONNECT [2001:db8::1]:80 HTTP/1.0\r\n\r\n",
						    &host, &port),
			 0);
	assert_string_equal(host.buf, "2001:db8::1");
	assert_int_equal(port, 80);
	for (i = 0; bad[i]; i++) {
		buf_reset(&host);
		if (build__proxy_parse_connect(bad[i], &host, &port) == 0)
			fail_msg("accepted: %s", bad[i]);
	}
	buf_release(&host);
}

/* ask(url, request): the first line of the running proxy's answer to request. */
static void ask(const char *url, const char *request, char *line, size_t cap)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned port = 0;
	size_t have = 0;
	ssize_t n;
	int fd;

	assert_int_equal(sscanf(url, "http://127.0.0.1:%u", &port), 1);
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
	while (have < cap - 1 && (n = read(fd, line + have, cap - 1 - have)) > 0)
		have += (size_t)n;
	close(fd);
	line[have] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
}

static void attacks_on_a_running_proxy(void **state)
{
	static const struct {
		const char *request, *answer;
	} cases[] = {
		{ "CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n",
		  "HTTP/1.1 403 Forbidden" },
		{ "CONNECT localhost:80 HTTP/1.1\r\n\r\n", "HTTP/1.1 403 Forbidden" },
		{ "CONNECT 169.254.169.254:80 HTTP/1.1\r\n\r\n", "HTTP/1.1 403 Forbidden" },
		{ "CONNECT 10.213.0.5:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 403 Forbidden" },
		{ "CONNECT [::ffff:127.0.0.1]:443 HTTP/1.1\r\n\r\n", "HTTP/1.1 403 Forbidden" },
		{ "CONNECT 127.0.0.1:2375 HTTP/1.1\r\n\r\n", "HTTP/1.1 403 Forbidden" },
		{ "CONNECT 8.8.8.8:22 HTTP/1.1\r\n\r\n", "HTTP/1.1 403 Forbidden" },
		{ "GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		  "HTTP/1.1 405 Method Not Allowed" },
	};
	struct build_proxy *p = NULL;
	char line[256];
	size_t i;

	(void)state;
	assert_int_equal(build_proxy_start(&p, "127.0.0.1"), 0);
	assert_non_null(build_proxy_url(p));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ask(build_proxy_url(p), cases[i].request, line, sizeof(line));
		if (strcmp(line, cases[i].answer))
			fail_msg("%s -> '%s', want '%s'", cases[i].request, line, cases[i].answer);
	}
	build_proxy_stop(p);
	assert_int_equal(build_proxy_start(&p, "not-an-ip"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(addresses),
		cmocka_unit_test(connect_lines),
		cmocka_unit_test(attacks_on_a_running_proxy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
