/* root.h - the fixture of the app state tests: each group runs in a fresh temp
 * WHARF_ROOT, removed afterwards. Included by one test file each (static). */
#ifndef WHARF_TEST_APP_ROOT_H
#define WHARF_TEST_APP_ROOT_H

#include <stdio.h>
#include <stdlib.h>

#include "app/app.h"

static char root[256];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/wharf-unit-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	setenv("WHARF_ROOT", root, 1);
	say_set_quiet(1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return fs_rm_rf(root);
}

#endif
