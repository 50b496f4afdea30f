/* fuzz_envfile.c - config:import reads untrusted text over ssh: the parser must
 * never crash, and every key it accepts is a valid config key whose export
 * parses back to the same value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *env = NULL, *back = NULL, *v;
	struct buf text = BUF_INIT;
	const char *k;

	if (cli_env_parse(&env, (const char *)data, size) < 0)
		return 0;
	json_object_foreach(env, k, v)
		if (valid_config_key(k) < 0 || !json_is_string(v))
			abort();
	/* Round trip through the shell format: what export writes, import reads. */
	if (cli_env_export(&text, env, "shell") == 0 &&
	    (cli_env_parse(&back, text.buf, text.len) < 0 || !json_equal(env, back)))
		abort();
	json_decref(back);
	json_decref(env);
	buf_release(&text);
	return 0;
}
