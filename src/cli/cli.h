/* src/cli/cli.h - the command table shared by the files of src/cli/. */
#ifndef WHARF_CLI_H
#define WHARF_CLI_H

#include "common.h"
#include "deploy/deploy.h"
#include "app/app.h"
#include "runtime/runtime.h"
#include "receiver/receiver.h"

/* A command returns 0 on success, or -1 after err_set() (main prints it with
 * " !     " and exits 1), or a positive exit code it chose itself. argv[0] is the
 * command name; options specific to the command follow. */
typedef int command_fn(int argc, char **argv);

struct command {
	const char *name; /* "config:set" */
	command_fn *fn;
	const char *args; /* "<app> KEY=VALUE…" for help */
	const char *help; /* one line */
	unsigned flags;
};
/* Who may run it (see src/cli/commands.c); none of the three: admins only. */
#define CMD_LOCAL    0x1  /* never over ssh */
#define CMD_HIDDEN   0x2  /* internal: not listed in help */
#define CMD_AS_ROOT  0x4  /* keeps root: does not drop to WHARF_ROOT's owner */
#define CMD_DEPLOYER 0x8  /* deployers too, for the apps they are granted */
#define CMD_ANYONE   0x10 /* any key (help, version) */

extern const struct command commands[];
const struct command *command_find(const char *name);
/* 1 when argv (argv[0] the command) asks for --help or -h. */
int cli_wants_help(int argc, char **argv);
/* What the table says of c (NULL: a plugin's command, admins only). */
enum receiver_access cli_command_access(const struct command *c);
/* Runs argv[0] from the command table (used by main and ssh-command). */
int command_dispatch(int argc, char **argv);
/* Run as root, become the owner of WHARF_ROOT (the wharf user) so what is written
 * stays writable by pushes; a no-op otherwise. For CMD_AS_ROOT commands that
 * checked they run as root and then write state (main.c). */
int cli_drop_to_root_owner(void);
/* Parses global flags (--quiet, --force, --app) then dispatches (main, ssh). */
int cli_run_argv(int argc, char **argv);

/* Global flags parsed by main (Dokku's --quiet, --force, --app). */
extern int cli_force;
extern int cli_quiet;

int cmd_router(int argc, char **argv);    /* src/cli/router.c */
int cmd_certs_add(int argc, char **argv); /* certs.c */
int cmd_certs_remove(int argc, char **argv);
int cmd_certs_report(int argc, char **argv);
int cmd_certs_generate(int argc, char **argv);
int cmd_router_set(int argc, char **argv); /* router.c */
int cmd_router_report(int argc, char **argv);
/* PUT /apps/<app>/<what> with body (JSON): 0, with the router's answer in *reply
 * when reply is not NULL (caller decrefs), or -1 with err_set() (the router's
 * message when it refused). */
int cli_router_put(const char *app, const char *what, const json_t *body, json_t **reply);
/* Gives the router the app's certificate from its state, if it has one;
 * refused or unreachable is -1 with err_set(). */
int cli_cert_sync(const char *app);
/* Removes the app's certificate from the router (none there is fine): for
 * apps:destroy and the old name of apps:rename. */
int cli_cert_forget(const char *app);

/* Command families, one file each. */
int cmd_apps_create(int argc, char **argv); /* apps.c */
int cmd_apps_list(int argc, char **argv);
int cmd_apps_exists(int argc, char **argv);
int cmd_apps_destroy(int argc, char **argv);
int cmd_config_set(int argc, char **argv); /* config.c */
int cmd_config_get(int argc, char **argv);
int cmd_config_unset(int argc, char **argv);
int cmd_config_show(int argc, char **argv);
int cmd_domains_add(int argc, char **argv); /* domains.c */
int cmd_domains_remove(int argc, char **argv);
int cmd_domains_report(int argc, char **argv);
int cmd_domains_set_global(int argc, char **argv);
int cmd_urls(int argc, char **argv);
int cmd_logs(int argc, char **argv); /* logs.c */
int cmd_logs_failed(int argc, char **argv);
int cmd_logs_set(int argc, char **argv);
int cmd_logs_report(int argc, char **argv);
int cmd_metrics(int argc, char **argv); /* metrics.c */
int cmd_metrics_serve(int argc, char **argv);
int cmd_metrics_set(int argc, char **argv);
int cmd_metrics_report(int argc, char **argv);
int cmd_router_stats(int argc, char **argv);
/* The metrics listener's address: IPv4 "IP:PORT", "[IPv6]:PORT", or a PORT
 * alone (127.0.0.1); host gets the address without brackets. Pure, fuzzed. */
int cli_metrics_listen_parse(const char *s, struct buf *host, int *port);
/* The listener's request head (untrusted): *status 200 for GET or HEAD of
 * /metrics, 404 another path, 405 another method, 400 no HTTP/1.x request line.
 * Returns 1 for HEAD (no body), else 0. Pure, fuzzed. */
int cli_metrics_request(const char *head, size_t len, int *status);
int cmd_ssh_keys_add(int argc, char **argv); /* sshkeys.c */
int cmd_ssh_keys_list(int argc, char **argv);
int cmd_ssh_keys_remove(int argc, char **argv);
int cmd_ssh_command(int argc, char **argv); /* sshcmd.c */
int cmd_git_hook(int argc, char **argv);    /* githook.c */
int cmd_releases(int argc, char **argv);    /* releases.c */
int cmd_releases_info(int argc, char **argv);
int cmd_releases_rollback(int argc, char **argv);
int cmd_releases_set(int argc, char **argv);
int cmd_ps_scale(int argc, char **argv);       /* ps.c */
int cmd_buildpacks_add(int argc, char **argv); /* buildpacks.c */
int cmd_buildpacks_clear(int argc, char **argv);
int cmd_buildpacks_list(int argc, char **argv);
int cmd_buildpacks_remove(int argc, char **argv);
int cmd_repo_purge_cache(int argc, char **argv);
int cmd_stack_build(int argc, char **argv); /* stack.c */
int cmd_stack_report(int argc, char **argv);
int cmd_stack_set(int argc, char **argv);
int cmd_ps_restart(int argc, char **argv);
int cmd_ps_start(int argc, char **argv); /* ps.c: stop/start/report/set */
int cmd_ps_stop(int argc, char **argv);
int cmd_ps_report(int argc, char **argv);
int cmd_ps_set(int argc, char **argv);
int cmd_ps_stats(int argc, char **argv);
int cmd_ps_top(int argc, char **argv);
int cmd_ps_events(int argc, char **argv);
int cmd_storage_mount(int argc, char **argv); /* storage.c */
int cmd_storage_unmount(int argc, char **argv);
int cmd_storage_list(int argc, char **argv);
int cmd_storage_report(int argc, char **argv);
int cmd_storage_allow(int argc, char **argv);
int cmd_storage_disallow(int argc, char **argv);
int cmd_resource_limit(int argc, char **argv); /* resource.c */
int cmd_resource_limit_clear(int argc, char **argv);
int cmd_resource_report(int argc, char **argv);
int cmd_run(int argc, char **argv); /* run.c */
int cmd_enter(int argc, char **argv);
int cmd_ps_rebuild(int argc, char **argv);
int cmd_ps_restore(int argc, char **argv);
int cmd_plugin_list(int argc, char **argv); /* plugin.c */
int cmd_plugin_install(int argc, char **argv);
int cmd_plugin_update(int argc, char **argv);
int cmd_plugin_uninstall(int argc, char **argv);
int cmd_plugin_enable(int argc, char **argv);
int cmd_plugin_disable(int argc, char **argv);
int cmd_plugin_installed(int argc, char **argv);
int cmd_plugin_trigger(int argc, char **argv);
/* A command wharf lacks, offered to the plugins' `commands`: their exit code,
 * or -1 ("not a wharf command") when none takes it. */
int cli_plugin_command(int argc, char **argv);
/* Fires a post-* trigger with args FIRST SECOND REST…; failures are warnings. */
void cli_trigger_post(const char *trigger, const char *app, const char *first, const char *second,
		      int nrest, char **rest);
int cmd_acl_add(int argc, char **argv); /* acl.c */
int cmd_acl_remove(int argc, char **argv);
int cmd_acl_list(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_cron_list(int argc, char **argv); /* cron.c */
int cmd_cron_run(int argc, char **argv);
int cmd_cron_report(int argc, char **argv);
int cmd_cron_exec(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
/* `logs <app> -p cron`: the last tail lines of each cron entry's log (of entry id
 * only, unless NULL); fails when there is none yet. */
int cli_cron_logs(const char *app, const char *id, int tail);
int cmd_letsencrypt_enable(int argc, char **argv); /* letsencrypt.c */
int cmd_letsencrypt_disable(int argc, char **argv);
int cmd_letsencrypt_revoke(int argc, char **argv);
int cmd_letsencrypt_auto_renew(int argc, char **argv);
int cmd_letsencrypt_list(int argc, char **argv);
int cmd_letsencrypt_set(int argc, char **argv);
int cmd_letsencrypt_report(int argc, char **argv);
int cmd_letsencrypt_cron_job(int argc, char **argv);
int cmd_letsencrypt_hook(int argc, char **argv);
int cmd_cluster_init(int argc, char **argv); /* cluster.c */
int cmd_cluster_add_node(int argc, char **argv);
int cmd_cluster_remove_node(int argc, char **argv);
int cmd_cluster_leave(int argc, char **argv);
int cmd_cluster_report(int argc, char **argv);
int cmd_cluster_gc(int argc, char **argv);    /* the registry's garbage collection */
int cmd_cluster_sync(int argc, char **argv);  /* the router follows the swarm */
int cmd_scheduler_set(int argc, char **argv); /* scheduler.c */
int cmd_scheduler_report(int argc, char **argv);
int cmd_help(int argc, char **argv); /* main.c */
int cmd_version(int argc, char **argv);

/* Shared by the families (src/cli/util.c). */
/* Checks argc against the command's needs and that argv[1] is a valid, existing
 * app; prints usage on a short argv. */
int cli_need_app(int argc, char **argv, int min_args, int must_exist);
int cli_usage(const char *name); /* err_set("usage: wharf …") */
/* Absolute path of the running wharf binary. */
int cli_self_exe(struct buf *out);

/* Creates an app (apps:create, a first push): its state and its bare repository
 * with the deploy hook, and fires post-create. Refuses an invalid or existing
 * name, and with need_docker (a first push) a Docker that does not answer; on
 * any failure nothing of the app is left. Prints the "Creating" step. */
int cli_app_create(const char *app, int need_docker);

/* apps, config, domains, git families beyond the spine (apps.c, config.c,
 * domains.c, git.c) and help rendering (help.c). */
int cmd_apps_report(int argc, char **argv);
int cmd_apps_lock(int argc, char **argv);
int cmd_apps_unlock(int argc, char **argv);
int cmd_apps_locked(int argc, char **argv);
int cmd_apps_rename(int argc, char **argv);
int cmd_apps_clone(int argc, char **argv);
int cmd_config_keys(int argc, char **argv);
int cmd_config_clear(int argc, char **argv);
int cmd_config_export(int argc, char **argv);
int cmd_config_import(int argc, char **argv);
int cmd_domains_set(int argc, char **argv);
int cmd_domains_clear(int argc, char **argv);
int cmd_domains_reset(int argc, char **argv);
int cmd_domains_add_global(int argc, char **argv);
int cmd_domains_remove_global(int argc, char **argv);
int cmd_domains_clear_global(int argc, char **argv);
int cmd_domains_enable(int argc, char **argv);
int cmd_domains_disable(int argc, char **argv);
int cmd_git_set(int argc, char **argv);
int cmd_git_report(int argc, char **argv);
int cmd_git_from_image(int argc, char **argv);

/* checks, ports, builder families and the standard commands (checks.c, ports.c,
 * builder.c, standard.c). */
int cmd_checks_enable(int argc, char **argv);
int cmd_checks_disable(int argc, char **argv);
int cmd_checks_skip(int argc, char **argv);
int cmd_checks_run(int argc, char **argv);
int cmd_checks_report(int argc, char **argv);
int cmd_ports_list(int argc, char **argv);
int cmd_ports_add(int argc, char **argv);
int cmd_ports_set(int argc, char **argv);
int cmd_ports_remove(int argc, char **argv);
int cmd_ports_clear(int argc, char **argv);
int cmd_ports_report(int argc, char **argv);
int cmd_builder_set(int argc, char **argv);
int cmd_builder_report(int argc, char **argv);
int cmd_url(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_cleanup(int argc, char **argv);
/* A comma-separated list of process types (^[A-Za-z0-9_-]+$, max 63) or "_all_";
 * *out is a new array without duplicates. */
int cli_checks_parse_types(json_t **out, const char *list);
/* `<family>:report [<app>] [--format json] [--<prefix>KEY]`: fn reports one app,
 * into all (an object keyed by app) when all is not NULL. */
typedef int cli_report_fn(const char *app, const char *flag, int json, json_t *all);
int cli_report_family(int argc, char **argv, const char *prefix, cli_report_fn *fn);
/* The report of every app: fn's text reports one after the other, or with json one
 * object keyed by app. */
int cli_report_every_app(cli_report_fn *fn, int json);
/* Prints help for a family ("apps"), the whole table as markdown
 * (`help --markdown`) or the command names (`help --commands`). */
int cli_help_family(const char *family);
int cli_help_markdown(void);
int cli_help_commands(void);
/* The "Plugin commands:" part of `wharf help`: what every enabled plugin's
 * `help` trigger prints (docs/plugins.md). */
int cli_help_plugins(void);

/* Options of a command (src/cli/report.c): known flags may come anywhere, an
 * unknown one is an error; words not starting with '-' (and "-") are positional. */
#define CLI_OPTS_MAX 256
struct cli_opts {
	const char *name; /* argv[0] */
	char *pos[CLI_OPTS_MAX];
	int npos;
	int global, merged, encoded, quoted, no_restart, replace, force, skip_deploy;
	const char *format; /* --format X, or NULL */
	const char *flag;   /* one report flag starting with report_prefix */
};
/* allowed: space-separated flags ("--global --format"); report_prefix ("--apps-")
 * lets one report flag through, or NULL. */
int cli_opts_parse(struct cli_opts *o, int argc, char **argv, const char *allowed,
		   const char *report_prefix);
int cli_opts_format(const struct cli_opts *o, int *json); /* stdout|json */
/* pos[0] is a valid (and, with must_exist, existing) app; usage when missing. */
int cli_opts_app(const struct cli_opts *o, int must_exist);
struct cli_report_row {
	const char *label; /* "Apps locked": flag --apps-locked, JSON "apps-locked" */
	const char *value;
};
/* Prints "=====> title" and the rows, or the rows as one JSON object, or with
 * flag only the value of that row (an unknown flag is an error). */
int cli_report_show(const char *title, const struct cli_report_row *rows, size_t n,
		    const char *flag, int json);
json_t *cli_report_json(const struct cli_report_row *rows, size_t n); /* new object */
/* One app's report of a family: added to all (the every-app JSON object) under app when
 * all is not NULL, else cli_report_show(). */
int cli_report_app(json_t *all, const char *app, const char *title,
		   const struct cli_report_row *rows, size_t n, const char *flag, int json);
/* Prints v as one line of compact JSON (jansson's flags added), or empty when
 * v is NULL or cannot be dumped: "[]" for arrays, "{}" otherwise. */
void cli_print_json(const json_t *v, size_t flags);


/* ---- who runs this (src/cli/sshkeys.c) ---------------------------------------- */
/* 1 when this run serves a deployer key: caller_get()'s key (set by ssh-command,
 * and by the git hook from the push's WHARF_SSH_KEY) has the role deployer. */
int cli_caller_is_deployer(void);

/* ---- domain policy (src/cli/domainpolicy.c; pure, unit-tested) ---------------- */
/* May a deployer of app add domain (lowercase)? Never a wildcard, a global domain,
 * "<name>.<global>" for any valid app name other than app (the default domain of
 * that name, reserved even before the app exists), or a public suffix (a built-in
 * list, plus psl_file, Debian's public_suffix_list.dat, when it is not NULL and
 * exists). 0, or -1 with a message that says why. */
int cli_domain_deployer_ok(const char *domain, const char *app, const json_t *globals,
			   const char *psl_file);
/* 1 when domain is a public suffix ("com", "co.uk", "github.io"). */
int cli_domain_is_public_suffix(const char *domain, const char *psl_file);

/* Config text (src/cli/envfile.c; pure, unit-tested). */
int cli_shell_quote(struct buf *out, const char *s); /* 'it'\''s' */
/* Sorted keys of an object, borrowed from it; caller frees the array. */
const char **cli_env_sorted_keys(const json_t *env, size_t *n);
/* format: shell | exports | envfile | docker-args | json | json-list. */
int cli_env_export(struct buf *out, const json_t *env, const char *format);
/* A JSON object of strings, or envfile/exports/shell/docker-args text (KEY=VALUE words,
 * quotes, comments, `export `); keys validated. *out is a new object. */
int cli_env_parse(json_t **out, const char *text, size_t len);
int cli_base64_decode(struct buf *out, const char *in); /* appends; no NULs */

#endif
