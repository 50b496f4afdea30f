/* main.c - bin/wharf-router: `wharf router` as a binary of its own, what the systemd unit
 * runs. The same code (src/cli/routerd.c, src/router/) linked with libuv, OpenSSL and
 * jansson only: loading libgit2, libcurl, libarchive and what they pull in (GnuTLS,
 * Kerberos, ICU, libxml2, libstdc++) cost the long-running router ~7 MB of idle RSS. */
#include "cli/cli.h"

#include <stdio.h>

int main(int argc, char **argv)
{
	if (cmd_router(argc, argv) < 0) {
		fprintf(stderr, " !     %s\n", err_msg());
		return 1;
	}
	return 0;
}
