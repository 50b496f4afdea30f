/* commands.c - the command table (every wharf command, its help, and who may run
 * it: the one place that says so, which ssh-command and receiver/acl.c consult),
 * global flags, privileges and dispatch. */
#include "cli.h"
#include "receiver/receiver.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cli_force;
int cli_quiet;

/* Who may run a command is its flags: CMD_LOCAL (only at the host, never over
 * ssh), CMD_DEPLOYER (over ssh by admins, and by deployers for the apps they are
 * granted: the app is the command's <app> argument or --app; as options may come
 * first, every word naming an existing app must be one of the key's), CMD_ANYONE
 * (help and version, harmless), or none of these: admins only, over ssh or at the
 * host. A new command without a flag is admin-only. */
const struct command commands[] = {
	{ "acl:add", cmd_acl_add, "<app> KEY",
	  "Let a deployer key push to and run app commands for an app", 0 },
	{ "acl:list", cmd_acl_list, "[<app>] [--format json]",
	  "List keys with a role on record and their apps (or the keys granted an app)", 0 },
	{ "acl:remove", cmd_acl_remove, "<app> KEY", "Take an app away from a deployer key", 0 },
	{ "apps:clone", cmd_apps_clone, "<old-app> <new-app> [--skip-deploy]",
	  "Copy an app's config and repository to a new app running the current image", 0 },
	{ "apps:create", cmd_apps_create, "<app>", "Create a new app", 0 },
	{ "apps:destroy", cmd_apps_destroy, "<app> [--force]",
	  "Destroy an app, its containers, images and repository", CMD_DEPLOYER },
	{ "apps:exists", cmd_apps_exists, "<app>", "Exit 0 if the app exists, 1 otherwise",
	  CMD_DEPLOYER },
	{ "apps:list", cmd_apps_list, "[--format json]", "List your apps", 0 },
	{ "apps:lock", cmd_apps_lock, "<app>", "Lock an app: pushes are refused until apps:unlock",
	  CMD_DEPLOYER },
	{ "apps:locked", cmd_apps_locked, "<app>", "Exit 0 if the app is locked, 1 otherwise",
	  CMD_DEPLOYER },
	{ "apps:rename", cmd_apps_rename, "<old-app> <new-app> [--skip-deploy]",
	  "Rename an app and deploy it under the new name", 0 },
	{ "apps:report", cmd_apps_report, "[<app>] [--format json] [--apps-KEY]",
	  "Show an app's (or every app's) settings", CMD_DEPLOYER },
	{ "apps:unlock", cmd_apps_unlock, "<app>", "Unlock an app", CMD_DEPLOYER },
	{ "builder:report", cmd_builder_report, "[<app>] [--format json] [--builder-KEY]",
	  "Show how an app's pushes are built", CMD_DEPLOYER },
	{ "builder:set", cmd_builder_set, "<app> selected [dockerfile|buildpacks|image]",
	  "Force the builder of an app's pushes (without a value: detect it)", CMD_DEPLOYER },
	{ "buildpacks:add", cmd_buildpacks_add, "[--index N] <app> BUILDPACK",
	  "Add a buildpack (bundled name or git URL[#ref]) to an app's chain", CMD_DEPLOYER },
	{ "buildpacks:clear", cmd_buildpacks_clear, "<app>",
	  "Forget an app's buildpacks (the next push detects one)", CMD_DEPLOYER },
	{ "buildpacks:list", cmd_buildpacks_list, "<app>", "List an app's buildpacks",
	  CMD_DEPLOYER },
	{ "buildpacks:remove", cmd_buildpacks_remove, "<app> BUILDPACK",
	  "Remove a buildpack from an app's chain", CMD_DEPLOYER },
	{ "certs:add", cmd_certs_add, "<app> CRT-FILE KEY-FILE",
	  "Give an app a TLS certificate (kept with the app; the router picks it by SNI)",
	  CMD_LOCAL },
	{ "certs:generate", cmd_certs_generate, "<app> [DOMAIN ...]",
	  "Give an app a new self-signed certificate (for its router domains by default)", 0 },
	{ "certs:remove", cmd_certs_remove, "<app>", "Remove an app's TLS certificate", CMD_LOCAL },
	{ "certs:report", cmd_certs_report, "<app>", "Show an app's TLS certificate",
	  CMD_DEPLOYER },
	{ "checks:disable", cmd_checks_disable, "<app> [TYPE,...]",
	  "No checks and no overlap: old containers stop before new ones start (downtime)",
	  CMD_DEPLOYER },
	{ "checks:enable", cmd_checks_enable, "<app> [TYPE,...]",
	  "Check new containers and overlap them with the old (the default)", CMD_DEPLOYER },
	{ "checks:report", cmd_checks_report, "[<app>] [--format json] [--checks-KEY]",
	  "Show which process types are checked, skipped or disabled", CMD_DEPLOYER },
	{ "checks:run", cmd_checks_run, "<app>",
	  "Run the current release's checks against its running web containers now", CMD_DEPLOYER },
	{ "checks:skip", cmd_checks_skip, "<app> [TYPE,...]",
	  "No checks, but still zero-downtime overlap", CMD_DEPLOYER },
	{ "cleanup", cmd_cleanup, "[<app>]",
	  "Remove exited wharf containers that serve nothing and dangling wharf images", 0 },
	{ "cluster:add-node", cmd_cluster_add_node,
	  "<host> [--addr IP] [--docker-host unix://SOCK [--certs-dir DIR]] [--timeout S]",
	  "Join a host to the cluster (over ssh as root; --docker-host: a lab host's dockerd)",
	  CMD_LOCAL | CMD_AS_ROOT },
	{ "cluster:gc", cmd_cluster_gc, "",
	  "Free the registry's blobs no image uses any more (read-only meanwhile; the daemon runs "
	  "it daily)",
	  CMD_LOCAL },
	{ "cluster:init", cmd_cluster_init, "<addr> [--registry-port N] [--certs-dir DIR]",
	  "Make this host the swarm manager and registry on its private address (as root)",
	  CMD_LOCAL | CMD_AS_ROOT },
	{ "cluster:leave", cmd_cluster_leave, "--force [--certs-dir DIR]",
	  "Leave the swarm, stop the registry and forget the cluster (its images too)",
	  CMD_LOCAL | CMD_AS_ROOT },
	{ "cluster:remove-node", cmd_cluster_remove_node, "<node> [--force] [--timeout S]",
	  "Drain a node, make it leave the swarm and remove it", CMD_LOCAL },
	{ "cluster:report", cmd_cluster_report, "[--format json]",
	  "Show the cluster's nodes, their state, address and tasks", 0 },
	{ "cluster:sync", cmd_cluster_sync, "[--once] [--interval MS]",
	  "Keep each swarm app's route on the tasks that serve (the daemon runs it)", CMD_LOCAL },
	{ "config:clear", cmd_config_clear, "[--global|<app>] [--no-restart]",
	  "Unset all config vars (and redeploy)", CMD_DEPLOYER },
	{ "config:export", cmd_config_export,
	  "[--global|<app>] [--merged] [--format shell|exports|envfile|docker-args|json|json-list]",
	  "Print config vars sorted by key (default format: exports)", CMD_DEPLOYER },
	{ "config:get", cmd_config_get, "[--global|<app>] [--quoted] [--merged] KEY",
	  "Print the value of a config var (exit 1 if unset)", CMD_DEPLOYER },
	{ "config:import", cmd_config_import,
	  "[--global|<app>] [--replace] [--no-restart] [FILE|-]",
	  "Set config vars from a JSON object or envfile (stdin by default)", CMD_DEPLOYER },
	{ "config:keys", cmd_config_keys, "[--global|<app>] [--merged]", "List config keys",
	  CMD_DEPLOYER },
	{ "config:set", cmd_config_set,
	  "[--global|<app>] [--encoded] [--no-restart] KEY=VALUE [KEY=VALUE ...]",
	  "Set config vars (base64 values with --encoded) and redeploy", CMD_DEPLOYER },
	{ "config:show", cmd_config_show, "[--global|<app>] [--merged]", "Show config vars",
	  CMD_DEPLOYER },
	{ "config:unset", cmd_config_unset, "[--global|<app>] [--no-restart] KEY [KEY ...]",
	  "Unset config vars and redeploy", CMD_DEPLOYER },
	{ "cron:exec", cmd_cron_exec, "<app> ID",
	  "One run of a cron entry (what the daemon and cron:run start)", CMD_HIDDEN | CMD_LOCAL },
	{ "cron:list", cmd_cron_list, "<app> [--format json]",
	  "List an app's cron entries (app.json \"cron\"): id, schedule, next and last run, last "
	  "exit, command",
	  CMD_DEPLOYER },
	{ "cron:report", cmd_cron_report, "[<app>] [--format json] [--cron-KEY]",
	  "Show an app's (or every app's) cron entries count, last run and the daemon's state",
	  CMD_DEPLOYER },
	{ "cron:run", cmd_cron_run, "<app> ID",
	  "Run a cron entry now in a one-off container; exits with its code", CMD_DEPLOYER },
	{ "daemon", cmd_daemon, "[--once] [--log FILE]",
	  "Run the wharf daemon: every app's cron entries and other timed jobs (one per "
	  "WHARF_ROOT)",
	  CMD_LOCAL },
	{ "domains:add", cmd_domains_add, "<app> DOMAIN [DOMAIN ...]", "Add domains to an app",
	  CMD_DEPLOYER },
	{ "domains:add-global", cmd_domains_add_global, "DOMAIN [DOMAIN ...]",
	  "Add global domains (apps get <app>.DOMAIN)", 0 },
	{ "domains:clear", cmd_domains_clear, "<app>", "Remove all of an app's own domains",
	  CMD_DEPLOYER },
	{ "domains:clear-global", cmd_domains_clear_global, "", "Remove all global domains", 0 },
	{ "domains:disable", cmd_domains_disable, "<app>",
	  "Stop serving an app on its default domains (<app>.GLOBAL)", CMD_DEPLOYER },
	{ "domains:enable", cmd_domains_enable, "<app>",
	  "Serve an app on its default domains again", CMD_DEPLOYER },
	{ "domains:remove", cmd_domains_remove, "<app> DOMAIN [DOMAIN ...]",
	  "Remove domains from an app", CMD_DEPLOYER },
	{ "domains:remove-global", cmd_domains_remove_global, "DOMAIN [DOMAIN ...]",
	  "Remove global domains", 0 },
	{ "domains:report", cmd_domains_report, "[<app>|--global] [--format json] [--domains-KEY]",
	  "Show an app's (or every app's, or the global) domains", CMD_DEPLOYER },
	{ "domains:reset", cmd_domains_reset, "<app>",
	  "Remove an app's own domains and enable its default ones", CMD_DEPLOYER },
	{ "domains:set", cmd_domains_set, "<app> DOMAIN [DOMAIN ...]",
	  "Replace an app's own domains", CMD_DEPLOYER },
	{ "domains:set-global", cmd_domains_set_global, "DOMAIN [DOMAIN ...]",
	  "Replace the global domains (apps get <app>.DOMAIN)", 0 },
	{ "enter", cmd_enter, "<app> [PROCESS] [CMD ...]",
	  "Run a command (default: /bin/sh) in a running container of the app (a TTY with ssh -t)",
	  0 },
	{ "git:from-image", cmd_git_from_image, "<app> IMAGE",
	  "Deploy an image from the local Docker (never pulled) as a new release", CMD_DEPLOYER },
	{ "git:report", cmd_git_report, "[<app>] [--format json] [--git-KEY]",
	  "Show how pushes to an app deploy", CMD_DEPLOYER },
	{ "git:set", cmd_git_set, "<app> deploy-branch [BRANCH]",
	  "Set (or, without BRANCH, unset) the branch whose pushes deploy; `git:set --global "
	  "max-push-size [SIZE]`: the most one push may send (default 200m)",
	  CMD_DEPLOYER },
	{ "events", cmd_events, "[-n N] [--format json]",
	  "Show the audit log of commands run over ssh (last N, default 50)", 0 },
	{ "git-hook", cmd_git_hook, "<app>", "Run by the app repository's pre-receive hook",
	  CMD_HIDDEN | CMD_LOCAL },
	{ "help", cmd_help, "", "Show this help", CMD_ANYONE },
	/* letsencrypt: a deployer may get, renew and drop a certificate for its own app's
	 * domains (it can already set them); the CA account settings (server: a URL the host
	 * fetches), revocation and every-app commands are the admins'. */
	{ "letsencrypt:auto-renew", cmd_letsencrypt_auto_renew, "[<app>]",
	  "Renew the certificates (or the app's) that expire within their grace period", 0 },
	{ "letsencrypt:cron-job", cmd_letsencrypt_cron_job, "--add|--remove",
	  "Accepted for Dokku's scripts: wharf renews by itself, no cron job is needed", 0 },
	{ "letsencrypt:disable", cmd_letsencrypt_disable, "<app>",
	  "Remove an app's Let's Encrypt certificate and stop renewing it", CMD_DEPLOYER },
	{ "letsencrypt:enable", cmd_letsencrypt_enable, "<app>",
	  "Get a Let's Encrypt certificate for an app's domains (http-01 via the router)",
	  CMD_DEPLOYER },
	{ "letsencrypt:hook", cmd_letsencrypt_hook, "METHOD TYPE IDENT TOKEN AUTH",
	  "Run by the ACME client for each challenge", CMD_HIDDEN | CMD_LOCAL },
	{ "letsencrypt:list", cmd_letsencrypt_list, "",
	  "List apps with Let's Encrypt certificates, their domains and expiry", 0 },
	{ "letsencrypt:report", cmd_letsencrypt_report, "[<app>|--global] [--format json]",
	  "Show an app's (or the global) Let's Encrypt settings and state", CMD_DEPLOYER },
	{ "letsencrypt:revoke", cmd_letsencrypt_revoke, "<app>",
	  "Revoke an app's certificate at the CA and remove it", 0 },
	{ "letsencrypt:set", cmd_letsencrypt_set,
	  "[--global|<app>] email|server|graceperiod [VALUE]",
	  "Set (or, without VALUE, unset) the ACME email, server (production, staging or a URL) "
	  "or renewal grace period in seconds",
	  0 },
	{ "logs", cmd_logs, "<app> [-t] [-n N] [-p PROCESS] [--since WHEN]",
	  "Show an app's logs (-t follows, -p one process type, `router` its access log, `cron` "
	  "its cron runs; --since 10m / 2h / a UTC time)",
	  CMD_DEPLOYER },
	{ "logs:failed", cmd_logs_failed, "<app>",
	  "Show the output of the app's last failed deploy", CMD_DEPLOYER },
	{ "logs:report", cmd_logs_report, "[<app>] [--format json] [--logs-KEY]",
	  "Show the log rotation of an app's containers", CMD_DEPLOYER },
	{ "logs:set", cmd_logs_set, "<app>|--global max-size|max-file [VALUE]",
	  "Set (or, without VALUE, unset) the log rotation of the containers of the next deploy "
	  "(max-size 20m, max-file 5; default 10m x 3)",
	  CMD_DEPLOYER },
	{ "metrics", cmd_metrics, "",
	  "Print the Prometheus metrics: the router's and each running container's", 0 },
	{ "metrics:report", cmd_metrics_report, "[--format json] [--metrics-KEY]",
	  "Show where the metrics listener serves", 0 },
	{ "metrics:serve", cmd_metrics_serve, "",
	  "Serve the metrics to Prometheus on the `listen` address (off until set)", CMD_LOCAL },
	{ "metrics:set", cmd_metrics_set, "--global listen [[IP:]PORT]",
	  "Set (or, without a value, unset: off) the metrics listener's address (a port alone: "
	  "127.0.0.1)",
	  0 },
	{ "plugin:disable", cmd_plugin_disable, "NAME",
	  "Disable a plugin: its triggers and commands are no longer run", 0 },
	{ "plugin:enable", cmd_plugin_enable, "NAME", "Enable an installed plugin", 0 },
	{ "plugin:install", cmd_plugin_install, "PATH|GIT-URL [--name NAME]",
	  "Install a plugin from a directory (copied) or a git URL (cloned), enable it and run its "
	  "install trigger",
	  0 },
	{ "plugin:installed", cmd_plugin_installed, "NAME",
	  "Exit 0 if the plugin is installed, 1 otherwise", 0 },
	{ "plugin:list", cmd_plugin_list, "[--format json]",
	  "List installed plugins, their versions and whether they are enabled", 0 },
	{ "plugin:trigger", cmd_plugin_trigger, "TRIGGER [ARGS ...]",
	  "Run a trigger in every enabled plugin (for plugin authors)", 0 },
	{ "plugin:uninstall", cmd_plugin_uninstall, "NAME",
	  "Run a plugin's uninstall trigger and remove it", 0 },
	{ "plugin:update", cmd_plugin_update, "NAME",
	  "Fetch a plugin again from where it was installed from and run its update trigger", 0 },
	{ "ports:add", cmd_ports_add, "<app> SCHEME:HOST-PORT:CONTAINER-PORT ...",
	  "Add port mappings (http:80:5000)", CMD_DEPLOYER },
	{ "ports:clear", cmd_ports_clear, "<app>", "Remove all of an app's port mappings",
	  CMD_DEPLOYER },
	{ "ports:list", cmd_ports_list, "<app>", "List an app's port mappings", CMD_DEPLOYER },
	{ "ports:remove", cmd_ports_remove, "<app> HOST-PORT|SCHEME:HOST-PORT:CONTAINER-PORT ...",
	  "Remove port mappings", CMD_DEPLOYER },
	{ "ports:report", cmd_ports_report, "[<app>] [--format json] [--ports-KEY]",
	  "Show an app's port mappings and the PORT its web container gets", CMD_DEPLOYER },
	{ "ports:set", cmd_ports_set, "<app> SCHEME:HOST-PORT:CONTAINER-PORT ...",
	  "Replace an app's port mappings", CMD_DEPLOYER },
	{ "ps:rebuild", cmd_ps_rebuild, "<app>", "Rebuild the current commit and deploy it",
	  CMD_DEPLOYER },
	{ "ps:restart", cmd_ps_restart, "<app>", "Restart the app through a zero-downtime deploy",
	  CMD_DEPLOYER },
	{ "ps:restore", cmd_ps_restore, "[<app>]",
	  "Bring apps back to their current release (run at boot)", CMD_DEPLOYER },
	{ "ps:events", cmd_ps_events, "<app> [--since WHEN] [--format json]",
	  "Show exits, OOM kills, restarts and starts of the app's containers (and node and "
	  "service "
	  "events, on the swarm; default: last 24h)",
	  CMD_DEPLOYER },
	{ "ps:report", cmd_ps_report, "[<app>] [--format json] [--ps-KEY]",
	  "Show an app's (or every app's) processes, their state (and node, on the swarm), "
	  "restarts, last exit and restart policy",
	  CMD_DEPLOYER },
	{ "ps:scale", cmd_ps_scale, "<app> [TYPE=N ...]",
	  "Show or set how many containers of each process type run (at most 9 per type on the "
	  "swarm)",
	  CMD_DEPLOYER },
	{ "ps:set", cmd_ps_set, "<app> restart-policy [always|unless-stopped|on-failure[:N]|no]",
	  "Set (or, without a value, unset) the restart policy of the next deploy", CMD_DEPLOYER },
	{ "ps:start", cmd_ps_start, "<app>", "Start a stopped app: deploy its current release",
	  CMD_DEPLOYER },
	{ "ps:stop", cmd_ps_stop, "<app>",
	  "Stop every container of the app; it stays stopped until ps:start", CMD_DEPLOYER },
	{ "ps:stats", cmd_ps_stats, "[<app>] [--format json]",
	  "Show CPU, memory, network and block I/O and restarts of each running container (and its "
	  "node, on the swarm)",
	  CMD_DEPLOYER },
	{ "ps:top", cmd_ps_top, "<app> [TYPE] [--format json]",
	  "Show the processes running in each of the app's containers (and their node, on the "
	  "swarm)",
	  CMD_DEPLOYER },
	{ "releases", cmd_releases, "<app> [--format json]", "List an app's releases, newest first",
	  CMD_DEPLOYER },
	{ "releases:info", cmd_releases_info, "<app> N [--format json]", "Show one release",
	  CMD_DEPLOYER },
	{ "releases:rollback", cmd_releases_rollback, "<app> [N]",
	  "Redeploy release N (default: the one before the current) with its config",
	  CMD_DEPLOYER },
	{ "releases:set", cmd_releases_set, "<app> retain [N]",
	  "Keep the images of the last N releases (default 5)", CMD_DEPLOYER },
	{ "report", cmd_report, "[<app>]", "Show every report of an app (or of every app)", 0 },
	{ "repo:purge-cache", cmd_repo_purge_cache, "<app>",
	  "Remove an app's build cache (npm and pip caches, fetched buildpacks)", CMD_DEPLOYER },
	{ "resource:limit", cmd_resource_limit, "<app> [--memory SIZE] [--cpu N] [--process TYPE]",
	  "Limit memory (256m, 1g) and CPUs (0.5) of an app's containers from the next deploy",
	  CMD_DEPLOYER },
	{ "resource:limit-clear", cmd_resource_limit_clear, "<app> [--process TYPE]",
	  "Remove an app's (or one process type's) limits from the next deploy", CMD_DEPLOYER },
	{ "resource:report", cmd_resource_report, "[<app>] [--format json] [--resource-KEY]",
	  "Show an app's (or every app's) resource limits", CMD_DEPLOYER },
	{ "router", cmd_router,
	  "[--listen ADDR:PORT] [--listen-https ADDR:PORT] [--access-log FILE|-] [--takeover] "
	  "[--max-header-bytes N] [--max-url-bytes N] [--head-timeout T] [--idle-timeout T] "
	  "[--body-timeout T] [--connect-timeout T] [--response-timeout T]",
	  "Run the HTTP router (the one long-running wharf process)", CMD_AS_ROOT | CMD_LOCAL },
	{ "router:report", cmd_router_report, "<app> [--format json] [--router-KEY]",
	  "Show how the router serves an app", 0 },
	{ "router:set", cmd_router_set, "<app> max-body-size|redirect-https [VALUE]",
	  "Set (or, without VALUE, reset) an app's router option, kept with the app across renames "
	  "and stop/start: max-body-size 10m (0: no limit; default 1g), redirect-https on|off",
	  0 },
	{ "router:stats", cmd_router_stats, "[<app>] [--window SECONDS] [--format json]",
	  "Show an app's requests, error rate and p50/p99 latency from the router (rates over "
	  "--window)",
	  CMD_DEPLOYER },
	{ "run", cmd_run, "<app> CMD [ARG ...]",
	  "Run a command in a one-off container of the current release; exits with its code",
	  CMD_DEPLOYER },
	{ "scheduler:report", cmd_scheduler_report, "[<app>] [--format json] [--scheduler-FLAG]",
	  "Show where an app's processes run (docker-local or swarm)", 0 },
	{ "scheduler:set", cmd_scheduler_set, "<app>|--global selected [docker-local|swarm]",
	  "Choose where an app's (or every app's) processes run: this host, or the swarm's "
	  "nodes (the next deploy moves them)",
	  0 },
	{ "ssh-command", cmd_ssh_command, "--key NAME", "The forced command of wharf's ssh keys",
	  CMD_HIDDEN | CMD_LOCAL },
	{ "ssh-keys:add", cmd_ssh_keys_add, "NAME [--role admin|deployer] < key.pub",
	  "Allow a public key (read on stdin) to push and run commands; deployers only for the "
	  "apps acl:add grants; an admin key (the default) is root on this host",
	  0 },
	{ "ssh-keys:list", cmd_ssh_keys_list, "", "List the allowed keys", 0 },
	{ "ssh-keys:remove", cmd_ssh_keys_remove, "NAME", "Remove a key", 0 },
	{ "stack:build", cmd_stack_build, "[--rebuild]",
	  "Build the buildpack stack image from Debian packages (as root, once)",
	  CMD_AS_ROOT | CMD_LOCAL },
	{ "stack:report", cmd_stack_report, "", "Show the stack image and its size", 0 },
	{ "stack:set", cmd_stack_set, "IMAGE|--unset",
	  "Build and run buildpack apps on another (local) image", CMD_LOCAL },
	{ "storage:allow", cmd_storage_allow, "DIR",
	  "Let apps mount DIR and the dirs below it (as root; never /, /etc, /run, /proc, /sys, "
	  "/dev, the Docker socket or WHARF_ROOT)",
	  CMD_AS_ROOT | CMD_LOCAL },
	{ "storage:disallow", cmd_storage_disallow, "DIR",
	  "Take DIR off the host dirs apps may mount (as root)", CMD_AS_ROOT | CMD_LOCAL },
	{ "storage:list", cmd_storage_list, "<app> [--format json]", "List an app's bind mounts",
	  0 },
	{ "storage:mount", cmd_storage_mount, "<app> HOSTDIR:CONTAINERDIR[:ro]",
	  "Bind-mount a host directory into the app's containers from the next deploy", 0 },
	{ "storage:report", cmd_storage_report, "[<app>|--global] [--format json] [--storage-KEY]",
	  "Show an app's (or every app's) bind mounts, or with --global the host dirs root allowed",
	  0 },
	{ "storage:unmount", cmd_storage_unmount, "<app> HOSTDIR:CONTAINERDIR[:ro]",
	  "Remove a bind mount from the next deploy", 0 },
	{ "url", cmd_url, "<app>", "Show the first URL an app is served on", 0 },
	{ "urls", cmd_urls, "<app>", "Show the URLs an app is served on", CMD_DEPLOYER },
	{ "version", cmd_version, "", "Print wharf's version", CMD_ANYONE },
	{ NULL, NULL, NULL, NULL, 0 }
};

const struct command *command_find(const char *name)
{
	const struct command *c;

	for (c = commands; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

enum receiver_access cli_command_access(const struct command *c)
{
	if (!c)
		return ACCESS_ADMIN; /* a plugin's command: admins only */
	if (c->flags & CMD_LOCAL)
		return ACCESS_LOCAL;
	if (c->flags & CMD_ANYONE)
		return ACCESS_ANYONE;
	return c->flags & CMD_DEPLOYER ? ACCESS_DEPLOYER : ACCESS_ADMIN;
}

int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("wharf %s\n", WHARF_VERSION);
	return 0;
}

int cmd_help(int argc, char **argv)
{
	const struct command *c;
	const char *family = argc > 1 ? argv[1] : NULL;

	if (family && !strcmp(family, "--markdown"))
		return cli_help_markdown(); /* docs/commands.md */
	if (family && !strcmp(family, "--commands"))
		return cli_help_commands(); /* bash completion */
	if (family)
		return cli_help_family(family);

	printf("Usage: wharf [--quiet|--force|--trace|--app APP] COMMAND [args]\n\n"
	       "A git-push PaaS: `git push` builds your app and serves it with zero downtime.\n\n"
	       "Commands:\n");
	for (c = commands; c->name; c++) {
		char left[160];
		if (c->flags & CMD_HIDDEN)
			continue;
		if (family && strncmp(c->name, family, strlen(family)))
			continue;
		snprintf(left, sizeof(left), "%s %s", c->name, c->args);
		printf("    %-52s %s\n", left, c->help);
	}
	return cli_help_plugins();
}

/* `wharf` run as root works as the owner of WHARF_ROOT (the `wharf` user), so
 * every file it writes stays writable by pushes, which run as that user. */
int cli_drop_to_root_owner(void)
{
	struct stat st;
	struct passwd *pw;

	if (geteuid() != 0 || stat(wharf_root(), &st) < 0 || st.st_uid == 0)
		return 0;
	pw = getpwuid(st.st_uid);
	if (initgroups(pw ? pw->pw_name : "wharf", st.st_gid) < 0 || setgid(st.st_gid) < 0 ||
	    setuid(st.st_uid) < 0)
		return err_set_errno("cannot switch to the owner of %s", wharf_root());
	if (pw)
		setenv("HOME", pw->pw_dir, 1);
	return 0;
}

int cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

int command_dispatch(int argc, char **argv)
{
	const struct command *c;
	const char *colon = strchr(argv[0], ':');
	char family[64];

	if (colon && !strcmp(colon, ":help")) {
		char *hargv[] = { "help", family, NULL };
		snprintf(family, sizeof(family), "%.*s:", (int)(colon - argv[0]), argv[0]);
		for (c = commands; c->name && strncmp(c->name, family, strlen(family)); c++)
			;
		if (!c->name)
			return cli_drop_to_root_owner() < 0 ? -1 : cli_plugin_command(argc, argv);
		return cmd_help(2, hargv);
	}
	c = command_find(argv[0]);
	if (!c && !colon)
		return cli_help_family(argv[0]); /* `wharf apps`: the family's help */
	/* A plugin's command (or "not a wharf command"), run as WHARF_ROOT's owner
	 * like every command, so what a plugin writes stays writable by pushes. */
	if (!c)
		return cli_drop_to_root_owner() < 0 ? -1 : cli_plugin_command(argc, argv);
	/* run and enter pass their words to a command of the app: its --help. */
	if (cli_wants_help(argc, argv) && strcmp(c->name, "router") &&
	    ((strcmp(c->name, "run") && strcmp(c->name, "enter")) || argc < 4)) {
		printf("Usage: wharf %s %s\n\n%s\n", c->name, c->args, c->help);
		return 0;
	}
	if (!(c->flags & CMD_AS_ROOT) && cli_drop_to_root_owner() < 0)
		return -1;
	return c->fn(argc, argv);
}

/* Parses Dokku's global flags (before the command) and runs the command.
 * --app APP becomes the command's first argument. */
int cli_run_argv(int argc, char **argv)
{
	const char *app = NULL;
	char **nargv;
	int i = 0, j, k, ret;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--quiet"))
			cli_quiet = 1;
		else if (!strcmp(argv[i], "--force"))
			cli_force = 1;
		else if (!strcmp(argv[i], "--trace"))
			setenv("WHARF_TRACE", "1", 1); /* inherited by what wharf runs */
		else if (!strcmp(argv[i], "--app") && i + 1 < argc)
			app = argv[++i];
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return cmd_help(0, NULL);
		else if (!strcmp(argv[i], "--version"))
			return cmd_version(0, NULL);
		else
			return err_set("unknown global flag '%s'; see `wharf help`", argv[i]);
		i++;
	}
	if (i >= argc)
		return cmd_help(0, NULL);
	say_set_quiet(cli_quiet);
	nargv = calloc((size_t)(argc - i + 2), sizeof(*nargv));
	if (!nargv)
		return err_set("out of memory");
	for (j = i, k = 0; j < argc; j++) {
		nargv[k++] = argv[j];
		if (j == i && app)
			nargv[k++] = (char *)app;
	}
	ret = command_dispatch(k, nargv);
	free(nargv);
	return ret;
}
