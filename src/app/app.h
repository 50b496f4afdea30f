/* src/app/app.h - public interface of app state: the schema of apps/<app>/app.json,
 * global.json and apps/<app>/releases.json, typed access to their settings, the
 * per-app lock (a queue) and app_update(). Knows nothing of Docker or git. */
#ifndef WHARF_APP_H
#define WHARF_APP_H

#include "common.h"

/* ---- the schema: every key of app.json, global.json and releases.json ---------
 *
 * One row per key: X(ID, "name", TYPE, int default, string default, FAMILY, FILES).
 * The int default is a BOOL's or an INT's value when the key is absent; the string
 * default a STRING's (NULL: none). FILES says where the key may appear: APP_IN_APP
 * (app.json), APP_IN_GLOBAL (global.json), APP_IN_RELEASES (releases.json),
 * APP_IN_RELEASE (one release of releases.json), APP_IN_NESTED (inside another key's object: resources' and
 * router's members). A key shared by several files is declared once.
 *
 *   app.json      {"config": {K: V}, "domains": [...], "created_at": …, …}
 *   global.json   {"domain": …, "domains": [...], "config": {K: V}, "stack": …}
 *   releases.json {"releases": [{"version": N, "image": …, …}]}
 *
 * Writers keep keys they do not know (a newer wharf's), and a BOOL at its default
 * is stored as no key at all, as the files have always been written. */
#define APP_KEYS(X)                                                                               \
	/* meta */                                                                                \
	X(CREATED_AT, "created_at", STRING, 0, "", META, APP_IN_APP | APP_IN_RELEASE)             \
	X(CLONED_FROM, "cloned_from", STRING, 0, NULL, META, APP_IN_APP)                          \
	X(LOCKED, "locked", BOOL, 0, NULL, META, APP_IN_APP)                                      \
	/* config vars (global.json's under the app's own; a release's copy) */                   \
	X(CONFIG, "config", OBJECT, 0, NULL, CONFIG, APP_IN_APP | APP_IN_GLOBAL | APP_IN_RELEASE) \
	/* domains */                                                                             \
	X(DOMAINS, "domains", ARRAY, 0, NULL, DOMAINS, APP_IN_APP | APP_IN_GLOBAL)                \
	X(DEFAULT_DOMAIN, "default_domain", BOOL, 1, NULL, DOMAINS, APP_IN_APP)                   \
	X(DOMAIN, "domain", STRING, 0, NULL, DOMAINS, APP_IN_GLOBAL)                              \
	/* git */                                                                                 \
	X(GIT_MAX_PUSH_SIZE, "git_max_push_size", INT, 0, NULL, GIT, APP_IN_GLOBAL)               \
	X(DEPLOY_BRANCH, "deploy_branch", STRING, 0, NULL, GIT, APP_IN_APP)                       \
	/* builder */                                                                             \
	X(BUILDER, "builder", STRING, 0, NULL, BUILDER, APP_IN_APP)                               \
	X(BUILDPACKS, "buildpacks", ARRAY, 0, NULL, BUILDER, APP_IN_APP)                          \
	X(STACK, "stack", STRING, 0, NULL, BUILDER, APP_IN_GLOBAL)                                \
	/* checks */                                                                              \
	X(CHECKS_DISABLED, "checks_disabled", ARRAY, 0, NULL, CHECKS, APP_IN_APP)                 \
	X(CHECKS_SKIPPED, "checks_skipped", ARRAY, 0, NULL, CHECKS, APP_IN_APP)                   \
	/* ports */                                                                               \
	X(PORTS, "ports", ARRAY, 0, NULL, PORTS, APP_IN_APP)                                      \
	/* ps: formation, restart policy, stopped */                                              \
	X(FORMATION, "formation", OBJECT, 0, NULL, PS, APP_IN_APP | APP_IN_RELEASE)               \
	X(RESTART_POLICY, "restart_policy", STRING, 0, "on-failure", PS, APP_IN_APP)              \
	X(STOPPED, "stopped", BOOL, 0, NULL, PS, APP_IN_APP)                                      \
	/* scheduler:set selected: "docker-local" or "swarm" (the app's over the global) */       \
	X(SCHEDULER, "scheduler", STRING, 0, NULL, PS, APP_IN_APP | APP_IN_GLOBAL)                \
	/* the app's two swarm web port bases [P0, P1] (src/deploy/swarm.c) */                    \
	X(SWARM_PORTS, "swarm_ports", ARRAY, 0, NULL, PS, APP_IN_APP)                             \
	/* resources: {"memory", "cpu", "process": {TYPE: {"memory", "cpu"}}} */                  \
	X(RESOURCES, "resources", OBJECT, 0, NULL, RESOURCES, APP_IN_APP)                         \
	X(RES_PROCESS, "process", OBJECT, 0, NULL, RESOURCES, APP_IN_NESTED)                      \
	X(RES_MEMORY, "memory", STRING, 0, NULL, RESOURCES, APP_IN_NESTED)                        \
	X(RES_CPU, "cpu", STRING, 0, NULL, RESOURCES, APP_IN_NESTED)                              \
	/* storage */                                                                             \
	X(STORAGE, "storage", ARRAY, 0, NULL, STORAGE, APP_IN_APP)                                \
	X(STORAGE_ALLOW, "storage_allow", ARRAY, 0, NULL, STORAGE, APP_IN_GLOBAL)                 \
	/* router options: {"redirect_https", "max_body_bytes"} */                                \
	X(ROUTER, "router", OBJECT, 0, NULL, ROUTER, APP_IN_APP)                                  \
	X(REDIRECT_HTTPS, "redirect_https", BOOL, 0, NULL, ROUTER, APP_IN_NESTED)                 \
	X(MAX_BODY_BYTES, "max_body_bytes", INT, 0, NULL, ROUTER, APP_IN_NESTED)                  \
	/* letsencrypt: {"email", "server", "graceperiod"} in both files; the app's */            \
	/* also {"enabled", "expires", "failures", "retry_at", "last_error"} */                   \
	X(LETSENCRYPT, "letsencrypt", OBJECT, 0, NULL, LETSENCRYPT, APP_IN_APP | APP_IN_GLOBAL)   \
	X(LE_ENABLED, "enabled", BOOL, 0, NULL, LETSENCRYPT, APP_IN_NESTED)                       \
	X(LE_EMAIL, "email", STRING, 0, NULL, LETSENCRYPT, APP_IN_NESTED)                         \
	X(LE_SERVER, "server", STRING, 0, NULL, LETSENCRYPT, APP_IN_NESTED)                       \
	X(LE_GRACEPERIOD, "graceperiod", INT, 2592000, NULL, LETSENCRYPT, APP_IN_NESTED)          \
	X(LE_EXPIRES, "expires", INT, 0, NULL, LETSENCRYPT, APP_IN_NESTED)                        \
	X(LE_FAILURES, "failures", INT, 0, NULL, LETSENCRYPT, APP_IN_NESTED)                      \
	X(LE_RETRY_AT, "retry_at", INT, 0, NULL, LETSENCRYPT, APP_IN_NESTED)                      \
	X(LE_LAST_ERROR, "last_error", STRING, 0, NULL, LETSENCRYPT, APP_IN_NESTED)               \
	/* logs: {"max_size": "20m", "max_file": "5"} (app's over global's); metrics listener */  \
	X(LOGS, "logs", OBJECT, 0, NULL, LOGS, APP_IN_APP | APP_IN_GLOBAL)                        \
	X(LOG_MAX_SIZE, "max_size", STRING, 0, NULL, LOGS, APP_IN_NESTED)                         \
	X(LOG_MAX_FILE, "max_file", STRING, 0, NULL, LOGS, APP_IN_NESTED)                         \
	X(METRICS_LISTEN, "metrics_listen", STRING, 0, NULL, LOGS, APP_IN_GLOBAL)                 \
	/* releases */                                                                            \
	X(RETAIN, "retain", INT, 5, NULL, RELEASES, APP_IN_APP)                                   \
	X(RELEASES, "releases", ARRAY, 0, NULL, RELEASES, APP_IN_RELEASES)                        \
	X(VERSION, "version", INT, 0, NULL, RELEASES, APP_IN_RELEASE)                             \
	X(IMAGE, "image", STRING, 0, NULL, RELEASES, APP_IN_RELEASE)                              \
	X(GIT_REV, "git_rev", STRING, 0, NULL, RELEASES, APP_IN_RELEASE)                          \
	X(DESCRIPTION, "description", STRING, 0, "", RELEASES, APP_IN_RELEASE)                    \
	X(BY, "by", STRING, 0, "", RELEASES, APP_IN_RELEASE)                                      \
	X(WHAT, "what", STRING, 0, NULL, RELEASES, APP_IN_RELEASE)                                \
	X(SOURCE_IMAGE, "source_image", STRING, 0, NULL, RELEASES, APP_IN_RELEASE)                \
	X(PROCESSES, "processes", OBJECT, 0, NULL, RELEASES, APP_IN_RELEASE)                      \
	X(CHECKS, "checks", ARRAY, 0, NULL, RELEASES, APP_IN_RELEASE)                             \
	X(PRUNED, "pruned", BOOL, 0, NULL, RELEASES, APP_IN_RELEASE)                              \
	/* the pushed app.json's "cron" entries [{"id", "schedule", "command"}] and its    \
	 * "scripts.dokku" {"predeploy", "postdeploy"} (src/deploy/appjson.c) */      \
	X(CRON, "cron", ARRAY, 0, NULL, RELEASES, APP_IN_RELEASE)                                 \
	X(SCRIPTS, "scripts", OBJECT, 0, NULL, RELEASES, APP_IN_RELEASE)

enum app_key {
#define APP__ENUM(id, name, type, defi, defs, fam, files) APP_##id,
	APP_KEYS(APP__ENUM)
#undef APP__ENUM
		APP_KEY_COUNT /* must stay last */
};

enum app_type { APP_T_STRING, APP_T_BOOL, APP_T_INT, APP_T_OBJECT, APP_T_ARRAY };

enum app_family {
	APP_FAM_META,
	APP_FAM_CONFIG,
	APP_FAM_DOMAINS,
	APP_FAM_GIT,
	APP_FAM_BUILDER,
	APP_FAM_CHECKS,
	APP_FAM_PORTS,
	APP_FAM_PS,
	APP_FAM_RESOURCES,
	APP_FAM_STORAGE,
	APP_FAM_ROUTER,
	APP_FAM_LETSENCRYPT,
	APP_FAM_LOGS,
	APP_FAM_RELEASES
};

enum {
	APP_IN_APP = 1,
	APP_IN_GLOBAL = 2,
	APP_IN_RELEASES = 4,
	APP_IN_RELEASE = 8,
	APP_IN_NESTED = 16
};

struct app_key_info {
	const char *name; /* the JSON member name */
	enum app_type type;
	long long defi;   /* BOOL/INT: value when absent */
	const char *defs; /* STRING: value when absent (NULL: none) */
	enum app_family family;
	unsigned files; /* APP_IN_* */
};

/* The row of k (a static table). */
const struct app_key_info *app_key_info(enum app_key k);
const char *app_key_name(enum app_key k);

/* ---- typed access to one object of a state file ---------------------------------
 * doc is app.json's, global.json's or one release's object, or an object nested in
 * one (the value of APP_RESOURCES, APP_ROUTER, a process type's limits). A value of
 * the wrong type reads as absent. Getters on a NULL doc give the default. */

/* Borrowed string, or the key's default (may be NULL). */
const char *app_get_str(const json_t *doc, enum app_key k);
/* Borrowed string, or def when absent (whatever the key's default). */
const char *app_get_str_or(const json_t *doc, enum app_key k, const char *def);
/* The scheduler an app's deploys use: the app's selection (app may be NULL), else
 * the global one, else "docker-local". Borrowed from the documents or a literal. */
const char *app_scheduler(const json_t *app, const json_t *global);
/* BOOL: 1 or 0, the key's default when absent. */
int app_get_bool(const json_t *doc, enum app_key k);
/* INT (and BOOL): the value or the key's default. */
long long app_get_int(const json_t *doc, enum app_key k);
/* OBJECT or ARRAY: borrowed, or NULL when absent or of another type. */
json_t *app_get(const json_t *doc, enum app_key k);
/* OBJECT or ARRAY: borrowed, made empty and stored first when absent or of another
 * type; NULL only when out of memory (err_set). */
json_t *app_ensure(json_t *doc, enum app_key k);
/* Setters return 0, or -1 (err_set) when out of memory. */
int app_set_str(json_t *doc, enum app_key k, const char *v); /* NULL removes */
int app_set_int(json_t *doc, enum app_key k, long long v);
/* Stores true or false, or removes the key when on is its default. */
int app_set_bool(json_t *doc, enum app_key k, int on);
/* Stores v (the new reference is taken: v is stolen, as json_object_set_new). */
int app_set(json_t *doc, enum app_key k, json_t *v);
void app_unset(json_t *doc, enum app_key k);

/* ---- families with more than one member --------------------------------------- */

/* Resource limits of a process type: the type's own over the app's. Strings
 * borrowed from resources (APP_RESOURCES' value, may be NULL); NULL: no limit. */
struct app_limits {
	const char *memory;
	const char *cpu;
};
void app_limits_of(const json_t *resources, const char *type, struct app_limits *out);
/* The limits object of type (APP_RESOURCES' own when type is NULL), made when
 * missing; borrowed from appdoc. NULL when out of memory. */
json_t *app_limits_ensure(json_t *appdoc, const char *type);

/* ---- apps/<app>/app.json --------------------------------------------------------
 * Callers validate app names first; writers hold the app's lock (app_update()).
 * Every function here that hands over an object through json_t **out sets *out to
 * NULL first and only fills it on success: a failure leaves nothing to free. */
int app_exists(const char *app); /* 1 or 0 */
/* Makes apps/<app>/ and its app.json; fails if it exists. */
int app_create(const char *app);
/* Loads app.json; "config" and "domains" are filled in when missing. *out is NULL
 * on failure ("app 'x' does not exist"); the caller decrefs it. */
int app_load(const char *app, json_t **out);
int app_save(const char *app, const json_t *doc);
/* Sorted array of app names. *out is NULL on failure; the caller decrefs it. */
int app_list(json_t **out);
/* [app] when app is not NULL (not checked: the caller did), else app_list(): what a
 * command for "one app, or every app" walks. *out is NULL on failure. */
int app_list_or_one(const char *app, json_t **out);

/* The app's lock: serialises deploys and changes of one app in arrival order. A
 * queue of ticket files named by arrival time, each flocked (shared) by its owner
 * for as long as it lives, so a ticket nobody holds is stale and dropped (no pid
 * guessing); the kernel drops the flocks of a killed process. Waiters are told
 * they wait. Released with lock_release().
 *
 * app_update() takes it for one change. Use app_lock() + app_load() + app_save()
 * + lock_release() only where the lock must stay held across more than one
 * change of app.json (a deploy holds it across a build and writes releases.json;
 * apps:clone holds the old app's while it copies it). */
int app_lock(struct lock *l, const char *app);
/* The app's lock without waiting, for work that may skip its turn (the router's
 * sync with the swarm): 1 when taken (released with lock_release()), 0 when a
 * deploy or change holds it or is queued for it, -1 on error. */
int app_lock_try(struct lock *l, const char *app);

/* What an app_update() callback gets: the app's name and its loaded app.json (or
 * global.json's object, app NULL, for app_global_update()) to change in place.
 * Returns 1 to save doc, 0 to leave the file as it was, -1 (err_set) on error:
 * nothing is saved. */
typedef int app_update_fn(const char *app, json_t *doc, void *data);
/* Takes the app's lock (app_lock()), loads app.json, calls fn, saves when fn
 * returns 1, releases the lock. Returns fn's 0 or 1, or -1 (err_set). fn runs
 * under the lock: what it prints comes between the waiting message and the save. */
int app_update(const char *app, app_update_fn *fn, void *data);
/* app_update() that keeps the lock: on return (success or not) it is in *l, which
 * the caller releases with lock_release(). For a change that must stay serialised
 * with what follows it (ps:stop stops the containers under it). */
int app_update_held(struct lock *l, const char *app, app_update_fn *fn, void *data);
/* app_update() of one key: stores v, or removes the key when v is NULL. Takes v's
 * reference in every case (json_object_set_new's contract). */
int app_update_key(const char *app, enum app_key k, json_t *v);

/* ---- global.json ---------------------------------------------------------------- */

int app_global_load(json_t **out); /* {} if none; NULL on failure */
int app_global_save(const json_t *doc);
/* global.json's own lock (<root>/global.lock), for app_global_update() and for
 * callers that hold it across more than one step. */
int app_global_lock(struct lock *l);
/* app_update() for global.json: fn gets app NULL. */
int app_global_update(app_update_fn *fn, void *data);
/* The global domain: global.json's, else this host's name. Appends to out. */
int app_global_domain(struct buf *out);
/* global.json's domains: its "domains" array, else its single "domain", else
 * none. *out is a new array, NULL on failure; the caller decrefs it. */
int app_global_domains(json_t **out);
/* Stores list as global.json's domains, the first also as its single "domain"
 * (for readers of the single global domain). Takes a reference of list. */
int app_global_set_domains(json_t *gdoc, json_t *list);

/* The app's domains: "<app>.<global domain>" unless the app turned the default
 * off, then the app's own. *out is a new array, NULL on failure. */
int app_domains(const char *app, const json_t *appdoc, json_t **out);
/* The environment an app's containers get from config: global.json's "config"
 * with the app's own over it (the app wins). *out is a new object, NULL on
 * failure. Fails when the app does not exist. */
int app_env(const char *app, json_t **out);

/* ---- apps/<app>/releases.json ---------------------------------------------------- */

/* {"releases": []} if none. *out is NULL on failure; the caller decrefs it. */
int app_releases_load(const char *app, json_t **out);
int app_releases_save(const char *app, const json_t *doc);
/* The releases array of a loaded releases.json (borrowed, never NULL for a doc
 * from app_releases_load()). */
json_t *app_releases(const json_t *rels);
/* The newest release object (borrowed from rels) or NULL. */
json_t *app_release_current(const json_t *rels);
/* The release with this version, the newest if several (borrowed from rels), or NULL. */
json_t *app_release_find(const json_t *rels, long long version);

/* One release, typed. Every pointer is borrowed. */
struct app_release {
	long long version;
	const char *image;
	const char *git_rev;  /* NULL: none (stored as null) */
	const json_t *config; /* the vars it runs with */
	const json_t *formation;
	const char *created_at;
	const char *description;
	const char *by;
	const json_t *processes;  /* Procfile types; NULL: not stored */
	const json_t *checks;     /* NULL: not stored */
	const char *what;         /* NULL: not stored */
	const char *source_image; /* git:from-image; NULL: not stored */
	int pruned;               /* its image was removed */
	const json_t *cron;       /* app.json cron entries; NULL: none */
	const json_t *scripts;    /* app.json scripts.dokku; NULL: none */
};
/* Appends r to rels' array as a new release object (config, formation, processes
 * and checks are shared by reference, as json_object_set does). */
int app_release_append(json_t *rels, const struct app_release *r);
/* Reads a release object; out's pointers are borrowed from rel. */
void app_release_read(const json_t *rel, struct app_release *out);

#endif
