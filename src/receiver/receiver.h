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
 * pre-receive hook that runs `<wharf_exe> git-hook <app>` and a post-receive hook
 * that runs `git gc --prune=now` after a branch is deleted or rewritten, unless it
 * exists (then the hooks are rewritten). Either way receive.maxInputSize is set
 * to receiver_push_max_bytes(). *created tells which. wharf_exe must be an
 * absolute path of safe characters. */
int receiver_repo_ensure(const char *app, const char *wharf_exe, int *created);
/* The most one push may send: global.json "git_max_push_size" (bytes, set with
 * `git:set --global max-push-size SIZE`), else 200 MiB. */
#define RECEIVER_PUSH_MAX_DEFAULT (200LL << 20)
long long receiver_push_max_bytes(void);
/* Refs a repository may keep besides the deploy branch (the hook refuses more). */
#define RECEIVER_REFS_MAX 50
/* How many refs (branches and tags) repo_path holds; in *n. */
int receiver_repo_count_refs(const char *repo_path, size_t *n);

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

/* ---- access control (src/receiver/acl.c) ---------------------------------------
 * <root>/.ssh/acl.json {"keys": {"<key>": {"role": "admin"|"deployer",
 * "apps": ["app", …]}}}. A key without an entry is an admin: keys added before
 * roles existed keep what they could do. Writers hold <root>/.ssh/acl.lock. */
int receiver_acl_load(json_t **out);                   /* {"keys": {}} when none */
/* The key's role: "admin" or "deployer" (a static string). */
const char *receiver_acl_role(const json_t *acl, const char *key);
/* Records the role of key (validated names; role "admin" or "deployer"). */
int receiver_acl_set_role(const char *key, const char *role);
int receiver_acl_forget(const char *key);              /* when the key is removed */
/* Grants (or revokes) a deployer key one app; refuses admins and unknown roles. */
int receiver_acl_grant(const char *app, const char *key, int grant);
/* Who may run a command, as the command table says (src/cli/commands.c): the
 * zero value is the default of a command that says nothing. */
enum receiver_access {
	ACCESS_ADMIN = 0,   /* admins only */
	ACCESS_DEPLOYER,    /* admins, and deployers for their own apps */
	ACCESS_ANYONE,      /* any key (help, version) */
	ACCESS_LOCAL        /* never over ssh */
};
/* apps:destroy: no key keeps a grant of app (an app made later under the name is
 * not theirs). apps:rename: grants of from become grants of to. */
int receiver_acl_app_gone(const char *app);
int receiver_acl_app_renamed(const char *from, const char *to);
/* May key run argv (a wharf command as given over ssh, global flags removed;
 * argv[0] the command, app_flag the --app value or NULL), whose access the
 * command table gives? ACCESS_LOCAL: nobody. Admins: everything else. A
 * deployer: ACCESS_ANYONE commands and any `FAMILY:help`; ACCESS_DEPLOYER
 * commands when every word of argv that names an existing app names one
 * granted to it, and at least one does; --global is refused.
 * Returns 0, or -1 with "refused: …". */
int receiver_acl_check_command(const json_t *acl, const char *key, enum receiver_access access,
			       int argc, char **argv, const char *app_flag);
/* A git push or fetch of app by key: admins always, deployers for granted apps. */
int receiver_acl_check_app(const json_t *acl, const char *key, const char *app);

/* ---- audit log (src/receiver/audit.c) -------------------------------------------
 * <root>/audit.log (0600): one JSON object a line {"time", "key", "command",
 * "exit"}, appended with one write(2) per record (O_APPEND keeps records whole). */
int receiver_audit_append(const char *key, const char *command, int exit_code);
/* The command as the log records it: config commands (config:set …) with every
 * KEY=VALUE word as KEY=*** (words re-quoted); a config command that does not
 * split is cut after its first '='; anything else unchanged. Appends to out. */
int receiver_audit_mask(struct buf *out, const char *command);
/* The last n records (all when n == 0), oldest first. *out is a new array. */
int receiver_audit_read(json_t **out, size_t n);

#endif
