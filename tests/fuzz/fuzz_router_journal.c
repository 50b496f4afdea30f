/* fuzz_router_journal.c - the router's journal (<state file>.journal), read from disk at
 * start: a header line, then one {"<app>": <table value> | null} record a line, replayed
 * onto a table. The first byte picks the table's generation (0..3), so the header's
 * generation matches, is one behind (a stale journal) or does not belong. */
#include <stdint.h>
#include <stdlib.h>

#include "router/internal.h"

static void free_one(const char *key, void *val, void *data)
{
	(void)key;
	(void)data;
	router__route_release(val);
	free(val);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct router_disk disk = ROUTER_DISK_INIT;
	struct router_map apps = { 0 };

	if (size < 1)
		return 0;
	disk.generation = data[0] & 3;
	if (router__journal_replay(&apps, &disk, "fuzz.journal", (const char *)data + 1,
				   size - 1) == 0 &&
	    disk.bytes > size - 1)
		abort(); /* the valid length is within the text */
	router__map_each(&apps, free_one, NULL);
	router__map_release(&apps);
	return 0;
}
