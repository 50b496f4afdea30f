/* fuzz_portmap.c - ports:add/set and checks:* read maps and type lists from ssh users:
 * the parsers must never crash; an accepted map formats back to itself and names
 * the router's ports; an accepted type list holds only valid type names. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cli_port_map m;
	struct buf text = BUF_INIT, s = BUF_INIT;
	json_t *types = NULL, *v;
	size_t i;

	if (size > 4096 || buf_add(&text, data, size) < 0)
		return 0;
	if (strlen(text.buf) == size && cli_port_map_parse(&m, text.buf) == 0) {
		if (cli_port_map_format(&s, &m) < 0 || strcmp(s.buf, text.buf) ||
		    m.host != (strcmp(m.scheme, "http") ? 443 : 80) || m.container < 1024 ||
		    m.container > 65535)
			abort();
	}
	if (strlen(text.buf) == size && cli_checks_parse_types(&types, text.buf) == 0) {
		json_array_foreach(types, i, v) {
			const char *t = json_string_value(v);
			if (!t || !*t || strlen(t) > 63 ||
			    strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567"
				      "89_-") != strlen(t))
				abort();
		}
	}
	json_decref(types);
	buf_release(&text);
	buf_release(&s);
	return 0;
}
