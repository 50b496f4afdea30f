/* test_push.c - the progress stream of POST /images/{name}/push, parsed alone: the
 * digest comes from the final aux object, wherever the stream is split; an error in the
 * stream fails with Docker's message; a stream without a valid digest fails. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "docker/internal.h"

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* What dockerd 20.10 streams for a push of a one-layer image. */
static const char ok_stream[] =
	"{\"status\":\"The push refers to repository [10.60.0.1:5000/wharf/web]\"}\r\n"
	"{\"status\":\"Preparing\",\"progressDetail\":{},\"id\":\"5f70bf18a086\"}\r\n"
	"{\"status\":\"Pushing\",\"progressDetail\":{\"current\":512,\"total\":1024},"
	"\"progress\":\"[=====>     ]\",\"id\":\"5f70bf18a086\"}\r\n"
	"{\"status\":\"Pushed\",\"progressDetail\":{},\"id\":\"5f70bf18a086\"}\r\n"
	"{\"status\":\"3: digest: " DIGEST " size: 528\"}\r\n"
	"{\"progressDetail\":{},\"aux\":{\"Tag\":\"3\",\"Digest\":\"" DIGEST
	"\",\"Size\":528}}\r\n";

static int count_obj(const json_t *obj, void *data)
{
	(void)obj;
	++*(int *)data;
	return 0;
}

static int parse(const char *text, size_t cut, struct buf *digest, int *objects)
{
	struct docker__push p = DOCKER__PUSH_INIT;
	size_t n = strlen(text);
	int ret;

	p.fn = count_obj;
	p.data = objects;
	ret = docker__push_feed(&p, text, cut);
	if (ret == 0)
		ret = docker__push_feed(&p, text + cut, n - cut);
	if (ret == 0)
		ret = docker__push_finish(&p, digest);
	docker__push_release(&p);
	return ret;
}

static void digest_from_aux_at_every_split(void **state)
{
	size_t cut, n = strlen(ok_stream);

	(void)state;
	for (cut = 0; cut <= n; cut++) {
		struct buf d = BUF_INIT;
		int objects = 0;

		assert_int_equal(parse(ok_stream, cut, &d, &objects), 0);
		assert_string_equal(d.buf, DIGEST);
		assert_int_equal(objects, 6);
		buf_release(&d);
	}
}

static void error_in_stream_fails_with_dockers_message(void **state)
{
	static const char stream[] =
		"{\"status\":\"The push refers to repository [10.60.0.1:5000/wharf/web]\"}\n"
		"{\"status\":\"Preparing\",\"progressDetail\":{},\"id\":\"5f70bf18a086\"}\n"
		"{\"errorDetail\":{\"message\":\"no basic auth credentials\"},"
		"\"error\":\"no basic auth credentials\\n\"}\n";
	static const char detail_only[] =
		"{\"errorDetail\":{\"message\":\"unauthorized: authentication required\"}}\n"
		"{\"progressDetail\":{},\"aux\":{\"Tag\":\"3\",\"Digest\":\"" DIGEST
		"\",\"Size\":528}}\n";
	struct buf d = BUF_INIT;
	int objects = 0;

	(void)state;
	assert_int_equal(parse(stream, 10, &d, &objects), -1);
	assert_string_equal(err_msg(), "no basic auth credentials");
	assert_int_equal(d.len, 0);
	/* An error fails the push even when a digest follows it. */
	assert_int_equal(parse(detail_only, 0, &d, &objects), -1);
	assert_string_equal(err_msg(), "unauthorized: authentication required");
	assert_int_equal(d.len, 0);
	buf_release(&d);
}

static void no_valid_digest_fails(void **state)
{
	static const char *bad[] = {
		"{\"status\":\"Pushed\",\"id\":\"5f70bf18a086\"}\n",
		"{\"aux\":{\"Tag\":\"3\",\"Digest\":\"sha256:abc\",\"Size\":1}}\n",
		"{\"aux\":{\"Tag\":\"3\",\"Digest\":\"md5:0123456789abcdef0123456789abcdef\"}}\n",
		"{\"aux\":{\"Tag\":\"3\",\"Digest\":7}}\n",
		"{\"aux\":\"" DIGEST "\"}\n",
		"",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct buf d = BUF_INIT;
		int objects = 0;

		assert_int_equal(parse(bad[i], 0, &d, &objects), -1);
		assert_non_null(strstr(err_msg(), "without the registry reporting a digest"));
		buf_release(&d);
	}
}

static void garbage_fails(void **state)
{
	struct buf d = BUF_INIT;
	int objects = 0;

	(void)state;
	assert_int_equal(parse("{\"status\":\"Preparing\"}\nnot json\n", 0, &d, &objects), -1);
	assert_int_equal(parse("[1,2]\n", 0, &d, &objects), -1);
	assert_int_equal(d.len, 0);
	buf_release(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(digest_from_aux_at_every_split),
		cmocka_unit_test(error_in_stream_fails_with_dockers_message),
		cmocka_unit_test(no_valid_digest_fails),
		cmocka_unit_test(garbage_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
