/* words.c - splitting an ssh command line into words without a shell. */
#include "receiver.h"

#include <stdlib.h>
#include <string.h>

#define MAX_WORDS      256
#define MAX_WORD_BYTES (64u << 10)

void receiver_words_free(char **argv)
{
	char **p;

	if (!argv)
		return;
	for (p = argv; *p; p++)
		free(*p);
	free(argv);
}

static int refuse_char(char c)
{
	if (c == '\n' || c == '\r')
		return err_set("refused: the command contains a line break");
	if ((unsigned char)c < 0x20 || c == 0x7f)
		return err_set("refused: the command contains a control character");
	return err_set("refused: shell syntax '%c' is not accepted; wharf runs no shell "
		       "(quote the value if it is data)",
		       c);
}

static int push_word(char ***argv, int *argc, struct buf *w)
{
	char **n;

	if (*argc >= MAX_WORDS)
		return err_set("refused: more than %d words", MAX_WORDS);
	n = realloc(*argv, sizeof(*n) * (size_t)(*argc + 2));
	if (!n)
		return err_set("out of memory");
	*argv = n;
	n[(*argc)++] = buf_detach(w, NULL);
	n[*argc] = NULL;
	return 0;
}

int receiver_split_words(char ***argv_out, int *argc_out, const char *line)
{
	struct buf w = BUF_INIT;
	char **argv = NULL;
	int argc = 0, in_word = 0, ret = -1;
	const char *p = line;

	buf_init(&w, MAX_WORD_BYTES);
	*argv_out = NULL;
	*argc_out = 0;
	for (; *p; p++) {
		char c = *p;
		if (c == ' ' || c == '\t') {
			if (in_word && push_word(&argv, &argc, &w) < 0)
				goto out;
			in_word = 0;
			continue;
		}
		in_word = 1;
		if (c == '\'') {
			const char *start = p + 1, *end = strchr(start, '\''), *q;
			if (!end) {
				err_set("refused: unterminated ' quote");
				goto out;
			}
			for (q = start; q < end; q++)
				if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f) {
					refuse_char(*q);
					goto out;
				}
			if (buf_add(&w, start, (size_t)(end - start)) < 0)
				goto out;
			p = end;
			continue;
		}
		if (c == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				else if (*p == '$' || *p == '`' ||
					 ((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
					refuse_char(*p);
					goto out;
				}
				if (buf_addch(&w, *p) < 0)
					goto out;
			}
			if (!*p) {
				err_set("refused: unterminated \" quote");
				goto out;
			}
			continue;
		}
		if (c == '\\') {
			if (!p[1]) {
				err_set("refused: trailing backslash");
				goto out;
			}
			p++;
			if ((unsigned char)*p < 0x20 || *p == 0x7f) {
				refuse_char(*p);
				goto out;
			}
			if (buf_addch(&w, *p) < 0)
				goto out;
			continue;
		}
		if (strchr(";&|<>()$`", c) || (unsigned char)c < 0x20 || c == 0x7f) {
			refuse_char(c);
			goto out;
		}
		if (buf_addch(&w, c) < 0)
			goto out;
	}
	if (in_word && push_word(&argv, &argc, &w) < 0)
		goto out;
	if (argc == 0) {
		err_set("no command given");
		goto out;
	}
	*argv_out = argv;
	*argc_out = argc;
	argv = NULL;
	ret = 0;
out:
	receiver_words_free(argv);
	buf_release(&w);
	return ret;
}
