/* src/receiver/receiver.h - public interface of the receiver: the ssh entry
 * (SSH_ORIGINAL_COMMAND), the app's bare repository and its pre-receive hook,
 * and exporting a pushed commit's tree with libgit2. */
#ifndef WHARF_RECEIVER_H
#define WHARF_RECEIVER_H

#include "common.h"

/* Splits a command line the way a careful shell would, without ever running one:
 * whitespace separates words; '…' is literal; "…" is literal except \" and \\;
 * a backslash outside quotes escapes the next character. Refuses, with a message
 * naming the character, unquoted ; & | < > ( ) and any $ or ` (no expansion is
 * ever done, so they would only mislead), control characters and unterminated
 * quotes. On success *argv is a NULL-terminated array of *argc words that the
 * caller frees with receiver_words_free(). At most 256 words of 64 KiB. */
int  receiver_split_words(char ***argv, int *argc, const char *line);
void receiver_words_free(char **argv);

enum ssh_kind {
	SSH_WHARF = 0,          /* a wharf command: argv holds it */
	SSH_GIT_RECEIVE,        /* git push: app names the repo */
	SSH_GIT_UPLOAD          /* git clone/fetch: app names the repo */
};

struct ssh_request {
	enum ssh_kind kind;
	char         *app;       /* validated app name for git requests, else NULL */
	char        **argv;      /* the words of the command */
	int           argc;
};
#define SSH_REQUEST_INIT { .kind = SSH_WHARF, .app = NULL, .argv = NULL, .argc = 0 }

/* Parses SSH_ORIGINAL_COMMAND. Git requests must be exactly
 * `git-receive-pack '<path>'` or `git-upload-pack '<path>'` where path is
 * `[/]<app>[.git][/]` with a valid app name; anything else that is not a single
 * well-formed word list is refused. Whether argv[0] is a known wharf command is
 * for the caller to decide. */
int  receiver_parse_ssh(struct ssh_request *out, const char *cmdline);
void ssh_request_release(struct ssh_request *r);

/* Turns a repo path as git sends it ("/hello", "hello.git") into an app name. */
int receiver_app_from_path(struct buf *app, const char *path);

/* Creates <root>/apps/<app>/repo.git (bare, receive.fsckObjects on) with a
 * pre-receive hook that runs `<wharf_exe> git-hook <app>`, unless it exists.
 * *created tells which. wharf_exe must be an absolute path of safe characters. */
int receiver_repo_ensure(const char *app, const char *wharf_exe, int *created);

/* One line of pre-receive input: "<old-oid> <new-oid> <refname>". */
struct push_ref {
	char old_oid[41];
	char new_oid[41];
	char ref[1024];
};
/* Parses one line (without its newline). Refuses anything but two 40-hex ids and
 * a refname of printable characters without spaces. */
int receiver_parse_ref_line(struct push_ref *out, const char *line, size_t len);
int receiver_oid_is_zero(const char *oid);

/* Writes the tree of commit `rev` (40-hex) of the bare repo at repo_path into
 * dest_dir, which must exist and be empty. Objects still in git's quarantine
 * (GIT_QUARANTINE_PATH, set while pre-receive runs) are found too. Regular files
 * keep their executable bit, symlinks stay symlinks, submodules are skipped with
 * a warning; entry names ".", "..", ".git" or with '/' are refused. */
int receiver_export_tree(const char *repo_path, const char *rev, const char *dest_dir);

/* One public key as ssh-keys:add takes it: "TYPE BASE64 [COMMENT]" with a type
 * from the accepted list and a blob that starts with that type. */
struct receiver_pubkey {
	char          type[64];
	char          b64[16384];
	unsigned char fp[64];        /* SHA-256 of the blob */
};
int  receiver_pubkey_parse(struct receiver_pubkey *k, const char *line);
/* Appends "SHA256:<base64 without padding>", as ssh-keygen -l prints it. */
void receiver_pubkey_fingerprint(struct buf *out, const struct receiver_pubkey *k);

#endif
