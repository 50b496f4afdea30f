/* replay_main.c - a plain driver that feeds files to a libFuzzer target without libFuzzer:
 * every test run replays each corpus (and past crashes) through its target, so a regression
 * fails `make test` even where clang's libFuzzer is not installed.
 *
 * Usage: replay_fuzz_X PATH...   (a directory argument means every regular file inside it,
 * in name order; subdirectories are not entered). Prints "replayed N inputs"; exits 0 unless a
 * path cannot be read, or the target crashes or returns non-zero (libFuzzer's "reject" value
 * -1 is allowed: it only tells libFuzzer not to add the input to the corpus). */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

#define REPLAY_MAX_INPUT (64u << 20) /* corpus files are small; refuse a runaway one */

static int read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	long size;
	int ret = -1;

	if (!f) {
		fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		fprintf(stderr, "replay: cannot size %s: %s\n", path, strerror(errno));
		goto out;
	}
	if ((unsigned long)size > REPLAY_MAX_INPUT) {
		fprintf(stderr, "replay: %s is larger than %u bytes\n", path, REPLAY_MAX_INPUT);
		goto out;
	}
	/* One spare byte so an empty file still gets a valid, unique pointer (ASan then
	 * catches a read of data[0]). */
	data = malloc((size_t)size + 1);
	if (!data) {
		fprintf(stderr, "replay: out of memory for %s\n", path);
		goto out;
	}
	if (size > 0 && fread(data, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "replay: cannot read %s\n", path);
		goto out;
	}
	*out = data;
	*len = (size_t)size;
	data = NULL;
	ret = 0;
out:
	free(data);
	fclose(f);
	return ret;
}

static int replay_one(const char *path, unsigned long *count)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if (read_file(path, &data, &len) < 0)
		return -1;
	rc = LLVMFuzzerTestOneInput(data, len);
	free(data);
	if (rc != 0 && rc != -1) {
		fprintf(stderr, "replay: %s: target returned %d\n", path, rc);
		return -1;
	}
	(*count)++;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir, unsigned long *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	int ret = 0;

	if (!d) {
		fprintf(stderr, "replay: cannot open directory %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		char *path;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (asprintf(&path, "%s/%s", dir, e->d_name) < 0) {
			ret = -1;
			break;
		}
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			char **grown = realloc(names, ncap * sizeof(*names));
			if (!grown) {
				free(path);
				ret = -1;
				break;
			}
			names = grown;
			cap = ncap;
		}
		names[n++] = path;
	}
	closedir(d);
	/* Name order makes a failing run reproducible and its log comparable. */
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if (ret == 0 && replay_one(names[i], count) < 0)
			ret = -1;
		free(names[i]);
	}
	free(names);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int failed = 0;
	int i;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			failed = 1;
			continue;
		}
		if (S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) < 0
					: replay_one(argv[i], &count) < 0)
			failed = 1;
	}
	printf("replayed %lu inputs\n", count);
	return failed ? 1 : 0;
}
