/* test_stream.c - the JSON-lines splitter, the log demuxer and the small pure
 * helpers of the Docker client: DOCKER_HOST, version choice, encoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "docker/internal.h"

/* ---- line splitter ------------------------------------------------------------- */

static int collect_line(const char *line, size_t len, void *data)
{
	struct buf *out = data;

	assert_int_equal(line[len], '\0');
	buf_add(out, line, len);
	buf_addch(out, '|');
	return 0;
}

static void lines_split_at_every_offset(void **state)
{
	const char *in = "{\"stream\":\"a\"}\n\r\n{\"b\":1}\r\nlast";
	size_t n = strlen(in), cut;

	(void)state;
	for (cut = 0; cut <= n; cut++) {
		struct docker__lines ls = DOCKER__LINES_INIT;
		struct buf out = BUF_INIT;

		assert_int_equal(docker__lines_feed(&ls, in, cut, collect_line, &out), 0);
		assert_int_equal(docker__lines_feed(&ls, in + cut, n - cut, collect_line, &out), 0);
		assert_int_equal(docker__lines_finish(&ls, collect_line, &out), 0);
		assert_string_equal(out.buf, "{\"stream\":\"a\"}||{\"b\":1}|last|");
		docker__lines_release(&ls);
		buf_release(&out);
	}
}

static void lines_byte_by_byte(void **state)
{
	const char *in = "one\ntwo\nthree\n";
	struct docker__lines ls = DOCKER__LINES_INIT;
	struct buf out = BUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; in[i]; i++)
		assert_int_equal(docker__lines_feed(&ls, in + i, 1, collect_line, &out), 0);
	assert_int_equal(docker__lines_finish(&ls, collect_line, &out), 0);
	assert_string_equal(out.buf, "one|two|three|");
	docker__lines_release(&ls);
	buf_release(&out);
}

static void lines_too_long_fail(void **state)
{
	struct docker__lines ls = DOCKER__LINES_INIT;
	struct buf out = BUF_INIT;

	(void)state;
	ls.max_line = 8;
	assert_int_equal(docker__lines_feed(&ls, "12345678\n", 9, collect_line, &out), 0);
	assert_int_equal(docker__lines_feed(&ls, "12345", 5, collect_line, &out), 0);
	assert_int_equal(docker__lines_feed(&ls, "6789", 4, collect_line, &out), -1);
	assert_non_null(strstr(err_msg(), "longer than 8 bytes"));
	docker__lines_release(&ls);
	buf_release(&out);
}

static int stop_at_second(const char *line, size_t len, void *data)
{
	int *count = data;

	(void)line;
	(void)len;
	return ++*count == 2 ? -7 : 0;
}

static void lines_callback_stops_feed(void **state)
{
	struct docker__lines ls = DOCKER__LINES_INIT;
	int count = 0;

	(void)state;
	assert_int_equal(docker__lines_feed(&ls, "a\nb\nc\n", 6, stop_at_second, &count), -7);
	assert_int_equal(count, 2);
	docker__lines_release(&ls);
}

static int collect_stream_field(const json_t *obj, void *data)
{
	buf_addstr(data, json_str(obj, "stream", "?"));
	return 0;
}

static void json_lines_parse_objects(void **state)
{
	struct buf out = BUF_INIT;
	const char *bad = "{\"stream\":";

	(void)state;
	assert_int_equal(docker__json_line("{\"stream\":\"x\"}", 14, collect_stream_field, &out), 0);
	assert_int_equal(docker__json_line("   ", 3, collect_stream_field, &out), 0);
	assert_string_equal(out.buf, "x");
	assert_int_equal(docker__json_line(bad, strlen(bad), collect_stream_field, &out), -1);
	assert_non_null(strstr(err_msg(), "not JSON"));
	assert_int_equal(docker__json_line("[1]", 3, collect_stream_field, &out), -1);
	assert_non_null(strstr(err_msg(), "not a JSON object"));
	buf_release(&out);
}

/* ---- log demuxer --------------------------------------------------------------- */

struct demuxed {
	struct buf out[3];
};

static int collect_frame(int stream, const char *data, size_t len, void *ud)
{
	struct demuxed *d = ud;

	assert_true(stream == 1 || stream == 2);
	assert_true(len > 0);
	buf_add(&d->out[stream], data, len);
	return 0;
}

static size_t frame(unsigned char *p, int stream, const char *payload)
{
	size_t n = strlen(payload);

	p[0] = (unsigned char)stream;
	p[1] = p[2] = p[3] = 0;
	p[4] = (unsigned char)(n >> 24);
	p[5] = (unsigned char)(n >> 16);
	p[6] = (unsigned char)(n >> 8);
	p[7] = (unsigned char)n;
	memcpy(p + 8, payload, n);
	return 8 + n;
}

static void demux_split_at_every_offset(void **state)
{
	unsigned char in[256];
	size_t n = 0, a, b;

	(void)state;
	n += frame(in + n, 1, "hello\n");
	n += frame(in + n, 2, "oops\n");
	n += frame(in + n, 1, "");
	n += frame(in + n, 0, "stdin-echo ");
	n += frame(in + n, 1, "world\n");
	/* Every split into three pieces: headers and payloads cut anywhere. */
	for (a = 0; a <= n; a++) {
		for (b = a; b <= n; b++) {
			struct docker__demux dm = DOCKER__DEMUX_INIT;
			struct demuxed d = { { BUF_INIT, BUF_INIT, BUF_INIT } };
			const char *p = (const char *)in;

			assert_int_equal(docker__demux_feed(&dm, p, a, collect_frame, &d), 0);
			assert_int_equal(docker__demux_feed(&dm, p + a, b - a, collect_frame, &d), 0);
			assert_int_equal(docker__demux_feed(&dm, p + b, n - b, collect_frame, &d), 0);
			assert_true(docker__demux_idle(&dm));
			assert_string_equal(d.out[1].buf, "hello\nstdin-echo world\n");
			assert_string_equal(d.out[2].buf, "oops\n");
			buf_release(&d.out[1]);
			buf_release(&d.out[2]);
		}
	}
}

static void demux_rejects_bad_stream_byte(void **state)
{
	struct docker__demux dm = DOCKER__DEMUX_INIT;
	struct demuxed d = { { BUF_INIT, BUF_INIT, BUF_INIT } };
	unsigned char in[32];
	size_t n = frame(in, 7, "x");

	(void)state;
	assert_int_equal(docker__demux_feed(&dm, (const char *)in, n, collect_frame, &d), -1);
	assert_non_null(strstr(err_msg(), "bad log frame"));
}

static void demux_mid_frame_is_not_idle(void **state)
{
	struct docker__demux dm = DOCKER__DEMUX_INIT;
	struct demuxed d = { { BUF_INIT, BUF_INIT, BUF_INIT } };
	unsigned char in[32];
	size_t n = frame(in, 1, "abc");

	(void)state;
	assert_int_equal(docker__demux_feed(&dm, (const char *)in, n - 1, collect_frame, &d), 0);
	assert_false(docker__demux_idle(&dm));
	assert_string_equal(d.out[1].buf, "ab");
	buf_release(&d.out[1]);
}

/* ---- DOCKER_HOST, versions, encoding ------------------------------------------- */

static void docker_host_unix_only(void **state)
{
	struct buf sock = BUF_INIT;

	(void)state;
	assert_int_equal(docker__parse_docker_host("unix:///var/run/docker.sock", &sock), 0);
	assert_string_equal(sock.buf, "/var/run/docker.sock");
	buf_reset(&sock);
	assert_int_equal(docker__parse_docker_host("tcp://127.0.0.1:2375", &sock), -1);
	assert_non_null(strstr(err_msg(), "only unix:// DOCKER_HOST is supported"));
	assert_int_equal(docker__parse_docker_host("ssh://me@host", &sock), -1);
	assert_int_equal(docker__parse_docker_host("unix://relative.sock", &sock), -1);
	assert_int_equal(docker__parse_docker_host("", &sock), -1);
	assert_int_equal(docker__parse_docker_host(NULL, &sock), -1);
	buf_release(&sock);
}

static void version_is_negotiated(void **state)
{
	struct buf v = BUF_INIT;

	(void)state;
	/* An older daemon: speak its version. */
	assert_int_equal(docker__pick_version("1.41", "1.12", "1.47", &v), 0);
	assert_string_equal(v.buf, "1.41");
	buf_reset(&v);
	/* A newer daemon that still accepts ours: speak ours. */
	assert_int_equal(docker__pick_version("1.52", "1.24", "1.47", &v), 0);
	assert_string_equal(v.buf, "1.47");
	buf_reset(&v);
	/* Minor versions compare as numbers, not strings. */
	assert_int_equal(docker__pick_version("1.100", NULL, "1.47", &v), 0);
	assert_string_equal(v.buf, "1.47");
	buf_reset(&v);
	assert_int_equal(docker__pick_version("1.9", "", "1.47", &v), -1);
	assert_non_null(strstr(err_msg(), "upgrade Docker"));
	/* Docker 29: minimum 1.52 is above what we speak. */
	assert_int_equal(docker__pick_version("1.53", "1.52", "1.47", &v), -1);
	assert_non_null(strstr(err_msg(), "requires API 1.52"));
	assert_int_equal(docker__pick_version("", "1.12", "1.47", &v), -1);
	assert_int_equal(docker__pick_version("banana", NULL, "1.47", &v), -1);
	assert_int_equal(docker__pick_version("1.41x", NULL, "1.47", &v), -1);
	buf_release(&v);
}

static void version_errors_are_recognised(void **state)
{
	(void)state;
	assert_true(docker__is_version_error("client version 1.41 is too old. Minimum "
					      "supported API version is 1.44, please upgrade"));
	assert_true(docker__is_version_error("client version 1.47 is too new. Maximum "
					      "supported API version is 1.41"));
	assert_false(docker__is_version_error("No such container: x"));
	assert_false(docker__is_version_error(NULL));
}

static void encoding_keeps_what_it_should(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(docker_urlencode(&b, "{\"label\":[\"a=b c\"]}/:~"), 0);
	assert_string_equal(b.buf, "%7B%22label%22%3A%5B%22a%3Db%20c%22%5D%7D%2F%3A~");
	buf_reset(&b);
	assert_int_equal(docker_pathencode(&b, "wharf/app:v1@sha256:ab?#"), 0);
	assert_string_equal(b.buf, "wharf/app:v1@sha256:ab%3F%23");
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_split_at_every_offset),
		cmocka_unit_test(lines_byte_by_byte),
		cmocka_unit_test(lines_too_long_fail),
		cmocka_unit_test(lines_callback_stops_feed),
		cmocka_unit_test(json_lines_parse_objects),
		cmocka_unit_test(demux_split_at_every_offset),
		cmocka_unit_test(demux_rejects_bad_stream_byte),
		cmocka_unit_test(demux_mid_frame_is_not_idle),
		cmocka_unit_test(docker_host_unix_only),
		cmocka_unit_test(version_is_negotiated),
		cmocka_unit_test(version_errors_are_recognised),
		cmocka_unit_test(encoding_keeps_what_it_should),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
