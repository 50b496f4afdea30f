/* src/plugins/plugins.h - public interface of plugins: folders of executables
 * under $WHARF_ROOT/plugins that wharf runs at named moments (triggers) and that
 * may add commands; their metadata, installation and the trigger runner. */
#ifndef WHARF_PLUGINS_H
#define WHARF_PLUGINS_H

#include "common.h"

/* Layout (every path derived from WHARF_ROOT):
 *   plugins/available/<name>/   the plugin: plugin.toml or plugin.json, executables
 *                                named after triggers, optional `commands`
 *   plugins/enabled/<name>      symlink to ../available/<name> while enabled
 *   plugins/sources.json        {"<name>": {"source": …, "kind": "path"|"git", …}}
 *   plugins/plugins.lock        serialises install, update, enable, disable, uninstall */

#define PLUGIN_NAME_MAX          64
#define PLUGIN_TIMEOUT_DEFAULT_S 60

/* Plugin and trigger names: ^[a-z0-9][a-z0-9_-]*$, at most 64 bytes; err_set on no. */
int plugins_valid_name(const char *name);
int plugins_valid_trigger(const char *trigger);

/* ---- metadata (src/plugins/meta.c) ------------------------------------------ */

struct plugin_meta {
	char name[PLUGIN_NAME_MAX + 1];
	char version[65];
	char description[257];
	/* Space-separated commands of the plugin that deployer keys may run over
	 * ssh, as app commands (plugins_deployer_command()). */
	char deployer_commands[1025];
};

/* Parses the few keys wharf reads from plugin.toml: name, version, description
 * (top-level `key = "basic string"` or `'literal'`, `#` comments, blank lines).
 * Tables ([x]) end the top level; keys after them are ignored; other top-level
 * keys are ignored. Refuses: lines that are not a key, a table header, a comment
 * or blank; unterminated or multi-line strings; control characters; a value of
 * a known key that is not a string or is too long. At most 64 KiB. */
int plugin_toml_parse(struct plugin_meta *out, const char *text, size_t len);
/* The same from plugin.json: an object with string members. */
int plugin_json_parse(struct plugin_meta *out, const char *text, size_t len);
/* Reads dir/plugin.toml, else dir/plugin.json; neither is an error. A name
 * found must pass plugins_valid_name(). */
int plugin_meta_load(struct plugin_meta *out, const char *dir);

/* ---- installed plugins (src/plugins/install.c) -------------------------------- */

/* Appends "<root>/plugins[/<leaf>]". */
int plugins_path(struct buf *out, const char *leaf);
/* 1 when available/<name> exists (name valid), else 0. */
int plugins_installed(const char *name);
int plugins_enabled(const char *name);
/* Installed plugins in name order: [{"name", "version", "description", "enabled",
 * "source"}]. *out is a new array. */
int plugins_list(json_t **out);

/* Installs from source: a URL (https://, http://, git://, ssh://, file://, or
 * user@host:path) or a path ending in ".git" is cloned with libgit2; any other
 * path must be a directory and is copied. The name is name_opt, else the
 * metadata's, else the source's last component; it must be valid and not yet
 * installed. The tree may hold only directories and regular files (a symlink,
 * device or FIFO is refused: nothing may point outside the plugin), at most
 * 5000 entries and 64 MiB; `.git` is not copied. The plugin is enabled and its
 * `install` trigger runs; if that fails, the plugin is removed again. *name_out
 * (may be NULL) receives the name; caller frees. */
int plugins_install(const char *source, const char *name_opt, char **name_out);
/* Fetches the plugin again from where it was installed from, replaces it
 * atomically (keeping enabled or not) and runs its `update` trigger. */
int plugins_update(const char *name);
/* Runs the plugin's `uninstall` trigger (a failure aborts), then removes it. */
int plugins_uninstall(const char *name);
int plugins_enable(const char *name);  /* already enabled: 0 */
int plugins_disable(const char *name); /* already disabled: 0 */

/* ---- running triggers (src/plugins/run.c) -------------------------------------- */

struct plugins_run_opts {
	const char *app;        /* APP in the environment; NULL: empty */
	const char *stdin_data; /* NULL: /dev/null */
	size_t stdin_len;
	int timeout_s;    /* per plugin; 0: $WHARF_PLUGIN_TIMEOUT or 60 */
	const char *only; /* run only this plugin (enabled or not): install hooks */
	int keep_going;   /* run every plugin even after a failure (post-*) */
};
#define PLUGINS_RUN_OPTS_INIT                                   \
	{                                                       \
		.app = NULL, .stdin_data = NULL, .timeout_s = 0 \
	}

/* Runs `trigger` in every enabled plugin that has an executable regular file of
 * that name, in name order, each as `<plugin-dir>/<trigger> args…` (fork/exec,
 * no shell) with cwd the plugin's dir, in its own process group, fds above 2
 * closed, and this environment over wharf's own: WHARF_ROOT, APP, WHARF_TRIGGER,
 * WHARF_PLUGIN_PATH (<root>/plugins), WHARF_PLUGIN_DIR (its dir), WHARF_BIN (the
 * wharf binary), WHARF_SSH_KEY when set. A plugin that outlives its timeout is
 * killed (its whole group) and counts as failed.
 * stdout: appended to out in plugin order when out != NULL, else printed as it
 * is (through say_lines, so it follows say_set_stderr()). stderr goes to wharf's
 * stderr, except that the last line of a failing plugin becomes the message.
 * Returns 0 when every plugin exited 0 (or none has the trigger); else -1 with
 * err_set("<plugin> <trigger>: <its last stderr line, or 'exit N'>") — the first
 * failure, after stopping (default) or after running the rest (keep_going). */
int plugins_trigger(struct buf *out, const char *trigger, const char *const *args,
		    const struct plugins_run_opts *opts);
/* Fires a post-* trigger: a failure is said as a warning and does not fail the
 * caller. Returns nothing; args NULL-terminated. */
void plugins_post(const char *trigger, const char *app, const char *const *args);
/* Fires a pre-* (or check) trigger for app; -1 with the plugin's message when it
 * refuses. */
int plugins_pre(const char *trigger, const char *app, const char *const *args);

/* Plugin commands: offers argv to each enabled plugin's `commands` executable in
 * name order, with stdin, stdout and stderr passed through (no timeout: commands
 * may be long). Exit 10 means "not mine" and the next plugin is asked.
 * Returns the exit code of the plugin that took it (>= 0), or -2 when none did
 * (err_set with "not a wharf command"), or -1 on an error running one. */
int plugins_command(int argc, char **argv);
/* 1 when an enabled plugin lists cmd in its metadata's deployer_commands: over
 * ssh a deployer key may run it for its own apps (every app word must be one
 * of its apps, as for wharf's own deployer commands); the plugin gets
 * WHARF_SSH_ROLE=deployer and checks its own grants. 0 otherwise (errors
 * included: the command stays admin-only). */
int plugins_deployer_command(const char *cmd);

/* docker-args-deploy / docker-args-build: each enabled plugin's stdout must be
 * empty or one JSON object; they are merged (later plugins win per key) and
 * checked against the allow-list below. *out is NULL when no plugin said
 * anything, else a new object {"HostConfig": {…}, "Config": {…}} holding only:
 *   Config:     Env (array of "K=V"), Labels (object of strings; "wharf.*" refused),
 *               User, WorkingDir (strings)
 *   HostConfig: Memory, MemorySwap, NanoCpus, CpuShares, PidsLimit (integers >= 0),
 *               ShmSize (integer >= 0), CapDrop, Dns, ExtraHosts (arrays of
 *               strings), SecurityOpt (no-new-privileges, apparmor=PROFILE,
 *               label=TYPE:VALUE only), ReadonlyRootfs (bool),
 *               Ulimits (array of {"Name", "Soft", "Hard"}), LogConfig (object)
 * Nothing that gives a container the host: CapAdd, Privileged, Devices, Binds,
 * host namespaces and unconfined/disabled SecurityOpt are all refused. 
 * A key outside the list or of the wrong type fails with a message naming the
 * plugin and the key. args: the app, then trigger-specific words. */
int plugins_docker_args(json_t **out, const char *trigger, const char *app,
			const char *const *args);
/* Checks one object against the allow-list above (pure; exported for tests). */
int plugins_docker_args_check(const json_t *obj);

#endif
