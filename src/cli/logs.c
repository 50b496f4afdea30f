/* logs.c - `logs <app> [-t] [-n N] [-p PROCESS]`: the app's containers' output. */
#include "cli.h"
#include "runtime/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_chunk(int stream, const char *data, size_t len, void *unused)
{
	(void)unused;
	fwrite(data, 1, len, stream == 2 ? stderr : stdout);
	fflush(stream == 2 ? stderr : stdout);
	return 0;
}

int cmd_logs(int argc, char **argv)
{
	struct scheduler *sched = NULL;
	struct sched_procs procs = SCHED_PROCS_INIT;
	size_t i;
	const char *process = NULL;
	int follow = 0, tail = 100, n, ret = -1, shown = 0;

	if (cli_need_app(argc, argv, 1, 1) < 0)
		return -1;
	for (n = 2; n < argc; n++) {
		if (!strcmp(argv[n], "-t") || !strcmp(argv[n], "--tail"))
			follow = 1;
		else if ((!strcmp(argv[n], "-n") || !strcmp(argv[n], "--num")) && n + 1 < argc &&
			 strspn(argv[n + 1], "0123456789") == strlen(argv[n + 1]) && *argv[n + 1] &&
			 strlen(argv[n + 1]) < 7)
			tail = atoi(argv[++n]);
		else if ((!strcmp(argv[n], "-p") || !strcmp(argv[n], "--ps")) && n + 1 < argc)
			process = argv[++n];
		else
			return cli_usage(argv[0]);
	}
	if (process &&
	    (!*process || strlen(process) > 63 ||
	     strspn(process, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		     strlen(process)))
		return err_set("invalid process type '%s'", process);
	/* Cron runs are gone once they end: their output is kept in files (cron.c). */
	if (process && !strcmp(process, "cron"))
		return cli_cron_logs(argv[1], NULL, tail);
	if (scheduler_new(&sched, NULL) < 0 || scheduler_list(sched, argv[1], &procs) < 0)
		goto out;
	for (i = 0; i < procs.n; i++) {
		const struct sched_proc *p = &procs.v[i];
		if (strcmp(p->state, "running") || (process && strcmp(p->type, process)))
			continue;
		shown++;
		/* With several processes, follow only the newest (the list is newest first). */
		if (scheduler_logs(sched, p->id, follow && shown == 1, tail, print_chunk, NULL) < 0)
			goto out;
		if (follow)
			break;
	}
	if (!shown && process) {
		err_set("%s has no running %s containers", argv[1], process);
		goto out;
	}
	if (!shown) {
		err_set("%s has no running containers; push to deploy it", argv[1]);
		goto out;
	}
	ret = 0;
out:
	sched_procs_release(&procs);
	scheduler_free(sched);
	return ret;
}
