/* test_portmap.c - the ports family's scheme:host:container maps (what each side may
 * be, refusals word for word) and the checks family's process type lists. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cli/cli.h"

static void maps_accepted(void **state)
{
	struct cli_port_map m;
	struct buf b = BUF_INIT;

	(void)state;
	assert_int_equal(cli_port_map_parse(&m, "http:80:5000"), 0);
	assert_string_equal(m.scheme, "http");
	assert_int_equal(m.host, 80);
	assert_int_equal(m.container, 5000);
	assert_int_equal(cli_port_map_format(&b, &m), 0);
	assert_string_equal(b.buf, "http:80:5000");
	assert_int_equal(cli_port_map_parse(&m, "https:443:65535"), 0);
	assert_string_equal(m.scheme, "https");
	assert_int_equal(m.container, 65535);
	assert_int_equal(cli_port_map_parse(&m, "http:80:1024"), 0);
	buf_release(&b);
}

static void maps_refused(void **state)
{
	static const char *const shape[] = { "",        "http",           "http:80",
					     "80:5000", "http:80:5000:1", NULL };
	static const char *const number[] = {
		"http:80:0",   "http:80:65536", "http:80:05000", "http:80:-1",     "http:80: 5000",
		"http:80:5e3", "http:80:",      "http::5000",    "http:80:999999", "http::",
		NULL
	};
	static const char *const scheme[] = { "tcp:80:5000",
					      "HTTP:80:5000",
					      "$(id):80:5000",
					      "`id`:80:5000",
					      "httpx:80:5000",
					      ":80:5000",
					      NULL };
	struct cli_port_map m;
	int i;

	(void)state;
	for (i = 0; shape[i]; i++) {
		assert_int_equal(cli_port_map_parse(&m, shape[i]), -1);
		assert_non_null(strstr(err_msg(), "use SCHEME:HOST-PORT:CONTAINER-PORT"));
	}
	for (i = 0; number[i]; i++) {
		assert_int_equal(cli_port_map_parse(&m, number[i]), -1);
		assert_non_null(strstr(err_msg(), "ports are numbers from 1 to 65535"));
	}
	for (i = 0; scheme[i]; i++) {
		assert_int_equal(cli_port_map_parse(&m, scheme[i]), -1);
		assert_non_null(strstr(err_msg(), "the scheme must be http or https"));
	}
	assert_int_equal(cli_port_map_parse(&m, "http:8080:5000"), -1);
	assert_string_equal(err_msg(),
			    "invalid port mapping 'http:8080:5000': the router serves "
			    "http on host port 80 only (wharf opens no other host port; apps are "
			    "told apart by domain)");
	assert_int_equal(cli_port_map_parse(&m, "https:80:5000"), -1);
	assert_non_null(strstr(err_msg(), "serves https on host port 443 only"));
	assert_int_equal(cli_port_map_parse(&m, "http:80:1023"), -1);
	assert_non_null(strstr(err_msg(), "the container port must be 1024-65535"));
	/* Long input is cut in the message, never overflows. */
	assert_int_equal(cli_port_map_parse(&m, "http:80:50000000000000000000000000000000000000"),
			 -1);
}

static void web_port(void **state)
{
	json_t *app = json_pack("{s:[s,s]}", "ports", "https:443:6000", "http:80:5000");

	(void)state;
	assert_int_equal(cli_ports_web_port(app), 5000); /* http wins */
	json_object_set_new(app, "ports", json_pack("[s]", "https:443:6000"));
	assert_int_equal(cli_ports_web_port(app), 6000);
	json_object_set_new(app, "ports", json_pack("[s,i]", "junk", 3));
	assert_int_equal(cli_ports_web_port(app), 0); /* bad state counts as none */
	json_object_del(app, "ports");
	assert_int_equal(cli_ports_web_port(app), 0);
	json_decref(app);
}

static void type_lists(void **state)
{
	static const char *const bad[] = { "",     ",",      "web,",  ",web", "web,,worker",
					   "we b", "web;id", "$(id)", "`id`", "web\nworker",
					   NULL };
	json_t *t = NULL;
	char longname[80];
	int i;

	(void)state;
	assert_int_equal(cli_checks_parse_types(&t, "web,worker,web"), 0);
	assert_int_equal(json_array_size(t), 2);
	assert_string_equal(json_string_value(json_array_get(t, 1)), "worker");
	json_decref(t);
	assert_int_equal(cli_checks_parse_types(&t, "web,_all_"), 0);
	assert_int_equal(json_array_size(t), 1);
	assert_string_equal(json_string_value(json_array_get(t, 0)), "_all_");
	assert_true(runtime_type_listed(t, "anything"));
	json_decref(t);
	for (i = 0; bad[i]; i++) {
		t = (json_t *)1;
		assert_int_equal(cli_checks_parse_types(&t, bad[i]), -1);
		assert_null(t);
		assert_non_null(strstr(err_msg(), "invalid process type list"));
	}
	memset(longname, 'a', 64);
	longname[64] = '\0';
	assert_int_equal(cli_checks_parse_types(&t, longname), -1);
	longname[63] = '\0';
	assert_int_equal(cli_checks_parse_types(&t, longname), 0);
	json_decref(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(maps_accepted),
		cmocka_unit_test(maps_refused),
		cmocka_unit_test(web_port),
		cmocka_unit_test(type_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
