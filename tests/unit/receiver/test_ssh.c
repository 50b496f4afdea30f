/* test_ssh.c - what an ssh client may ask for, and how its words are split. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "receiver/receiver.h"

static void split(const char *line, int expect_argc, const char **expect)
{
	char **argv = NULL;
	int argc = 0, i;

	assert_int_equal(receiver_split_words(&argv, &argc, line), 0);
	assert_int_equal(argc, expect_argc);
	for (i = 0; i < argc; i++)
		assert_string_equal(argv[i], expect[i]);
	assert_null(argv[argc]);
	receiver_words_free(argv);
}

static void refused(const char *line, const char *why)
{
	char **argv = NULL;
	int argc = 0;

	assert_int_equal(receiver_split_words(&argv, &argc, line), -1);
	assert_null(argv);
	assert_non_null(strstr(err_msg(), why));
}

static void words_are_split_like_a_shell_without_one(void **state)
{
	const char *e1[] = { "config:set", "app", "K=a b" };
	const char *e2[] = { "config:set", "app", "K=it's \"q\"" };
	const char *e3[] = { "x", "a;b", "$HOME", "" };
	const char *e4[] = { "a b" };

	(void)state;
	split("config:set app 'K=a b'", 3, e1);
	split("  config:set\tapp   \"K=it's \\\"q\\\"\"  ", 3, e2);
	split("x 'a;b' '$HOME' ''", 4, e3);
	split("a\\ b", 1, e4);
}

static void shell_syntax_is_refused(void **state)
{
	(void)state;
	refused("ls; id", "';'");
	refused("a && b", "'&'");
	refused("a | b", "'|'");
	refused("a > /tmp/x", "'>'");
	refused("echo $(id)", "'$'");
	refused("echo `id`", "'`'");
	refused("echo \"$HOME\"", "'$'");
	refused("a\nb", "line break");
	refused("'open", "unterminated");
	refused("\"open", "unterminated");
	refused("trail\\", "trailing");
	refused("   ", "no command");
}

static void git_requests(void **state)
{
	struct ssh_request r;

	(void)state;
	assert_int_equal(receiver_parse_ssh(&r, "git-receive-pack '/hello'"), 0);
	assert_int_equal(r.kind, SSH_GIT_RECEIVE);
	assert_string_equal(r.app, "hello");
	ssh_request_release(&r);
	assert_int_equal(receiver_parse_ssh(&r, "git-upload-pack 'my.app.git'"), 0);
	assert_int_equal(r.kind, SSH_GIT_UPLOAD);
	assert_string_equal(r.app, "my.app");
	ssh_request_release(&r);
	assert_int_equal(receiver_parse_ssh(&r, "apps:list"), 0);
	assert_int_equal(r.kind, SSH_WHARF);
	assert_null(r.app);
	assert_string_equal(r.argv[0], "apps:list");
	ssh_request_release(&r);
}

static void bad_git_requests(void **state)
{
	const char *bad[] = { "git-receive-pack '../x'",
			      "git-receive-pack '/etc/passwd'",
			      "git-receive-pack 'Hello'",
			      "git-receive-pack 'a_b'",
			      "git-receive-pack",
			      "git-receive-pack 'a' 'b'",
			      "git-upload-archive 'a'",
			      "git receive-pack 'a'",
			      "git-receive-pack '/a/b'",
			      "git-receive-pack ''",
			      NULL };
	struct ssh_request r;
	int i;

	(void)state;
	for (i = 0; bad[i]; i++) {
		assert_int_equal(receiver_parse_ssh(&r, bad[i]), -1);
		assert_null(r.argv);
		assert_non_null(strstr(err_msg(), "refused"));
	}
	assert_int_equal(receiver_parse_ssh(&r, NULL), -1);
	assert_int_equal(receiver_parse_ssh(&r, ""), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(words_are_split_like_a_shell_without_one),
		cmocka_unit_test(shell_syntax_is_refused),
		cmocka_unit_test(git_requests),
		cmocka_unit_test(bad_git_requests),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
