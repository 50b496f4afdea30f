/* src/common/common.h - public interface of wharf's shared base: buffers, errors,
 * output, files, locks, JSON helpers and validation. Knows nothing of git, HTTP or Docker. */
#ifndef WHARF_COMMON_H
#define WHARF_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#define WHARF_VERSION "0.1.0"

#if defined(__GNUC__)
#define WHARF_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define WHARF_PRINTF(f, a)
#endif

/* ---- buffers (git's strbuf, with a cap for untrusted input) ----------------- */

/* Never NULL once initialised (buf points at a shared "" until the first
 * growth), always NUL-terminated. max == 0 means "no cap"; otherwise growing past
 * max fails with an error instead of allocating. */
struct buf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t max;
};
extern char buf_empty[];
#define BUF_INIT                                                 \
	{                                                        \
		.buf = buf_empty, .len = 0, .alloc = 0, .max = 0 \
	}

void buf_init(struct buf *b, size_t max);
int buf_grow(struct buf *b, size_t extra); /* room for len+extra+1 */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, int c);
int buf_addf(struct buf *b, const char *fmt, ...) WHARF_PRINTF(2, 3);
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
void buf_setlen(struct buf *b, size_t len);
void buf_reset(struct buf *b);                  /* len = 0, keeps memory */
void buf_remove_front(struct buf *b, size_t n); /* drop the first n bytes */
void buf_release(struct buf *b);                /* frees; back to BUF_INIT */
char *buf_detach(struct buf *b, size_t *len);   /* caller frees the result */

/* ---- errors: one thread-local message (libgit2's git_error_set) --------------
 *
 * The return convention, everywhere (STYLE.md §4):
 *   0   success;
 *  -1   failure, with the reason recorded by err_set() (or a callee's err_set(),
 *       which the caller may extend with err_prefix()); nothing is printed below
 *       src/cli/, which prints err_msg() once with " !     " and exits non-zero;
 *  > 0  only where the function's header comment documents it (a count, "1: had
 *       to wait", an exit status of a child: proc_wait(), plugins_command()).
 * Other negative values are not used for new code; the few that remain are
 * documented where they are returned (plugins_command()'s -2: "not mine").
 *
 * Cleanup that may fail and overwrite the message keeps it with err_save() /
 * err_restore() instead of copying err_msg() by hand. err_clear() is for an
 * error that was really handled (an expected "does not exist"), and says why.
 * Every err_*() may take err_msg() (or a pointer into it) as an argument. */
#define ERR_MAX 1024
struct err_saved {
	char text[ERR_MAX];
};

/* err_set() records the message and returns -1 so callers can `return err_set(…)`. */
int err_set(const char *fmt, ...) WHARF_PRINTF(1, 2);
int err_set_errno(const char *fmt, ...) WHARF_PRINTF(1, 2); /* appends ": strerror" */
/* Puts "<formatted>" in front of the current message, in place: "deploy of x
 * failed: " + what the callee said. Returns -1. */
int err_prefix(const char *fmt, ...) WHARF_PRINTF(1, 2);
const char *err_msg(void); /* never NULL */
void err_clear(void);
/* Keeps the current message across cleanup that may set another. */
void err_save(struct err_saved *s);
int err_restore(const struct err_saved *s); /* returns -1 */

/* ---- output for humans (Dokku's conventions) ---------------------------------
 * "-----> Step", "=====> Section", "       detail", " !     error" (stderr).
 * Parts below cli/ report progress through these so that a deploy streams to the
 * pusher as it happens; every call flushes. */
void say_step(const char *fmt, ...) WHARF_PRINTF(1, 2);           /* -----> */
void say_section(const char *fmt, ...) WHARF_PRINTF(1, 2);        /* =====> */
void say_detail(const char *fmt, ...) WHARF_PRINTF(1, 2);         /* 7 spaces */
void say_warn(const char *fmt, ...) WHARF_PRINTF(1, 2);           /*  !     on stderr */
void say_lines(const char *prefix, const char *text, size_t len); /* each line prefixed */
void say_set_quiet(int quiet);                                    /* hides step/section/detail */
/* With WHARF_TRACE set (`wharf --trace …`): one timestamped line on stderr per step
 * and per Docker or router API call, to see where a deploy's time goes. */
void say_trace(const char *fmt, ...) WHARF_PRINTF(1, 2);
int say_tracing(void);
void say_set_stderr(int on); /* all output to stderr: while stdout carries git's protocol */
/* While b is set (NULL: none), every line said (warnings too) is also appended to
 * it; a b with a max keeps its newest lines. Borrowed until unset. */
void say_tap(struct buf *b);

/* Monotonic seconds, for durations and deadlines (src/common/clock.c). */
double clock_now_s(void);
/* This moment as ISO-8601 UTC ("2026-01-01T00:00:00Z"), for records. Appends to out. */
int clock_utc_iso8601(struct buf *out);

/* ---- paths under WHARF_ROOT ------------------------------------------------- */

const char *wharf_root(void);          /* $WHARF_ROOT or /var/lib/wharf; borrowed */
const char *wharf_docker_host(void);   /* $DOCKER_HOST or unix:///var/run/docker.sock */
const char *wharf_router_socket(void); /* $WHARF_ROUTER_SOCKET or /run/wharf/router.sock */
/* Appends "<root>/apps/<app>[/<leaf>]" to out; app must be validated first. */
int wharf_app_path(struct buf *out, const char *app, const char *leaf);

/* ---- files ------------------------------------------------------------------ */

int fs_mkdir_p(const char *path, mode_t mode);
/* fs_mkdir_p(path, 0700), and path itself made 0700 when it is wider (roots an
 * older wharf made 0755: apps/, cache/, tmp/). */
int fs_private_dir(const char *path);
/* Writes a temp file beside path, fsyncs it, renames it over path, fsyncs the dir. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Reads a whole file into out (appending). Missing file: returns -1 with errno ENOENT. */
int fs_read_file(const char *path, struct buf *out, size_t max);
/* Like fs_read_file() for files of an untrusted tree (a push): refuses anything
 * but a regular file, never follows a symlink and never blocks on a FIFO. */
int fs_read_regular(const char *path, struct buf *out, size_t max);
int fs_rm_rf(const char *path);  /* missing path is not an error */
int fs_exists(const char *path); /* 1 if it exists, else 0 */
int fs_is_dir(const char *path);
/* Makes a fresh private directory "<parent>/<prefix>XXXXXX"; out receives its path. */
int fs_mkdtemp(struct buf *out, const char *parent, const char *prefix);

/* ---- locks ------------------------------------------------------------------ */

struct lock {
	int fd;
	int ticket_fd; /* holds a shared flock on the ticket while we live */
	char *ticket;  /* queue ticket file, for app_lock() (src/app) */
	int borrowed;  /* adopted from the process that took it (lock_adopt) */
};
#define LOCK_INIT                                                        \
	{                                                                \
		.fd = -1, .ticket_fd = -1, .ticket = NULL, .borrowed = 0 \
	}
/* Takes an exclusive flock on path (created if missing). If another process holds
 * it and waiting_msg is not NULL, says it once (a "-----> " line) before blocking.
 * Returns 1 if it had to wait, 0 if not, -1 on error. */
int lock_take(struct lock *l, const char *path, const char *waiting_msg);
/* lock_take(), or with shared a shared flock (many holders; an exclusive one waits for
 * them all, and they for it). */
int lock_take_mode(struct lock *l, const char *path, int shared, const char *waiting_msg);
/* The same without waiting: 1 when taken, 0 when another open file holds it, -1 on
 * error. */
int lock_try(struct lock *l, const char *path);
void lock_release(struct lock *l); /* safe on a lock never taken; drops a ticket */
/* Handing a held lock to one child explicitly: the child gets the lock's fd
 * (proc_opts.keep_fds) and LOCK_FD_ENV=<fd> (appended to env by lock_handover());
 * no other child gets either (proc.c closes other fds and drops the variable).
 * The child calls lock_adopt() with the lock file's path: it adopts the fd only
 * when it is that file (same device and inode), some process holds the file's
 * lock (a fresh open cannot take it) and the fd is the holder. Returns 1 when
 * adopted (l is then borrowed: lock_release() closes it without unlocking, as
 * the handing process still holds it), else 0 (the caller takes the lock as
 * usual, and waits for it). The variable is removed either way. */
#define LOCK_FD_ENV "WHARF_LOCK_FD"
int lock_handover(const struct lock *l, struct buf *env);
int lock_adopt(struct lock *l, const char *path);
/* lock_adopt() for an app's deploy lock (the one app_lock() takes). */
int lock_adopt_app(struct lock *l, const char *app);

/* ---- the caller (src/common/caller.c) -------------------------------------------
 * Who runs this process: a person at the host (local, the default) or an ssh key
 * through `wharf ssh-command`, which sets it before running anything. Decisions
 * ("over ssh a path names a file on the server") ask caller_is_remote(), never an
 * environment variable: a child (a plugin, a command a plugin runs) is local. */
enum caller_role { CALLER_LOCAL = 0, CALLER_ADMIN, CALLER_DEPLOYER };
struct caller {
	const char *key; /* the ssh key's name (borrowed); NULL when local */
	enum caller_role role;
	int remote; /* 1: came in over ssh */
};
/* key must outlive the process's use of it (argv or a static). */
void caller_set(const char *key, enum caller_role role, int remote);
const struct caller *caller_get(void); /* never NULL */
int caller_is_remote(void);

/* ---- child processes (src/common/proc.c) ---------------------------------------
 * The one way wharf runs a program: argv (never a shell), the environment given,
 * cwd, each std stream wired as asked, every other fd closed in the child except
 * keep_fds, and a timeout that ends the child's whole process group. */

enum proc_io {
	PROC_INHERIT = 0, /* the child shares ours */
	PROC_NULL,        /* /dev/null */
	PROC_CAPTURE,     /* out/err: appended to out_buf/err_buf (their max caps it) */
	PROC_LINES,       /* out/err: each line to on_line() as it comes */
	PROC_FD,          /* in_fd/out_fd/err_fd, still the caller's to close */
	PROC_DATA         /* in: in_data/in_len from a rewound temp file */
};
#define PROC_KEEP_FDS_MAX 4
#define PROC_LINE_MAX     (64u << 10) /* a longer line reaches on_line() in pieces */
#define PROC_TIMED_OUT    256         /* status of a child ended by the timeout */

/* stream: 1 for stdout, 2 for stderr; line without its '\n'. */
typedef void proc_line_fn(int stream, const char *line, size_t len, void *data);

struct proc_opts {
	const char *const *argv;      /* argv[0]: a path, or a name looked up in PATH */
	const char *cwd;              /* NULL: ours */
	int clear_env;                /* start from nothing instead of our environ */
	const char *const *env_set;   /* "K=V" added or replacing; NULL-terminated */
	const char *const *env_unset; /* names dropped from the base (set may add them) */
	enum proc_io in, out, err;
	int in_fd, out_fd, err_fd;
	const char *in_data;
	size_t in_len;
	struct buf *out_buf, *err_buf;
	proc_line_fn *on_line;
	void *data;
	int keep_fds[PROC_KEEP_FDS_MAX]; /* > 2 to keep open in the child */
	int new_group;                   /* own process group (implied by a timeout) */
	int die_with_parent;             /* SIGTERM when the thread that started it ends */
	int timeout_ms;                  /* 0: none; else SIGTERM to the group, then SIGKILL */
	int grace_ms;                    /* between that SIGTERM and SIGKILL */
};
#define PROC_OPTS_INIT                                                                   \
	{                                                                                \
		.in_fd = -1, .out_fd = -1, .err_fd = -1, .keep_fds = { -1, -1, -1, -1 }, \
		.grace_ms = 2000                                                         \
	}

struct proc {
	pid_t pid;
	int fd[2];          /* our ends of the stdout/stderr pipes */
	struct buf pend[2]; /* partial lines for PROC_LINES */
	int status;         /* after proc_wait(): as it returns */
	int timed_out;
	int truncated;  /* a capture hit its buffer's max */
	int exec_errno; /* proc_start() failed because exec did */
	double started;
	const struct proc_opts *opts; /* borrowed: must outlive the child */
};
#define PROC_INIT                                                           \
	{                                                                   \
		.pid = -1, .fd = { -1, -1 }, .pend = { BUF_INIT, BUF_INIT } \
	}

/* Starts the child. -1 with err_set() when it cannot run (fork, pipes, exec:
 * "cannot run NAME: strerror", and p->exec_errno set), else 0. */
int proc_start(struct proc *p, const struct proc_opts *o);
/* Feeds captures and line callbacks until the child has exited and closed its
 * output, or the timeout passed. Returns the status, >= 0 (documented positive
 * values): the exit code, 128+signal when a signal ended it, PROC_TIMED_OUT. */
int proc_wait(struct proc *p);
/* proc_start() then proc_wait(): -1 when it could not run, else the status. */
int proc_run(const struct proc_opts *o);
/* A new NULL-terminated "K=V" vector: base without the names in set and unset
 * (nor LOCK_FD_ENV), then set. Caller frees with proc_env_free(). */
int proc_env_build(char ***out, const char *const *base, const char *const *set,
		   const char *const *unset);
void proc_env_free(char **env);

/* ---- JSON state ------------------------------------------------------------- */

/* Loads a JSON object from path. A missing file gives an empty object when
 * missing_ok, else an error. Caller owns *out (json_decref). */
int json_load_object(json_t **out, const char *path, int missing_ok);
/* Serialises obj (sorted keys, indented) and writes it with fs_write_atomic(). */
int json_save_atomic(const char *path, const json_t *obj);
/* Borrowed string member or def when absent or not a string. */
const char *json_str(const json_t *obj, const char *key, const char *def);
/* Integer member or def. */
long long json_int(const json_t *obj, const char *key, long long def);
/* A JSON array of strings as a NULL-terminated vector borrowed from it (a member
 * that is no string is NULL too); the caller frees the vector only. NULL when
 * out of memory. */
const char **json_str_vec(const json_t *arr);
/* 1 when the array (may be NULL) has the string s. */
int json_array_has_str(const json_t *arr, const char *s);
/* Appends "k=v" to the array env (an environment in Docker's shape); 0 or -1. */
int json_env_add(json_t *env, const char *k, const char *v);

/* ---- cron schedules (src/common/cron.c; pure, unit-tested, fuzzed) -----------
 * Five fields (minute hour day-of-month month day-of-week) of '*', N, N-M and
 * lists with an optional /STEP, month (jan-dec) and day (sun-sat; 7 = sun) names,
 * or a macro (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly).
 * Times are seconds since the epoch, evaluated in UTC. When both day fields are
 * restricted a day matching either runs (Vixie cron's rule). */
struct cron_expr {
	uint64_t minute; /* bit N: minute N */
	uint32_t hour, dom;
	uint16_t month; /* bits 1-12 */
	uint8_t dow;    /* bits 0-6, Sunday 0 */
	int dom_star, dow_star;
};
/* 0, or -1 with a message naming the field at fault; rejects a schedule that
 * never fires ("0 0 30 2 *"). */
int cron_parse(struct cron_expr *out, const char *text);
/* 1 when the minute holding t is one of the schedule's. */
int cron_matches(const struct cron_expr *e, long long t);
/* The first minute strictly after the minute holding `after` that matches; -1
 * when none within 8 years. */
int cron_next(const struct cron_expr *e, long long after, long long *out);
/* ---- units (src/common/units.c; pure, unit-tested) ------------------------------ */

/* A size as users type it: digits with an optional unit b, k, m or g (powers of
 * 1024, case-insensitive, "mb" = "m"), up to a pebibyte. No sign, space, fraction
 * or hex. *bytes gets the size (0 on failure); callers check their own bounds. */
int size_parse(const char *s, long long *bytes);
/* Appends bytes for humans: "512B", "1.50MiB", "20.0GiB". */
int size_format(struct buf *out, long long bytes);
/* A duration: one or more NUMBER UNIT groups, units s, m, h, d ("90s", "1h30m"),
 * at most 100 years. *secs gets it. */
int duration_parse(const char *s, long long *secs);
/* A point in time for `--since`: seconds since 1970, a UTC date or time
 * ("2026-01-01", "2026-01-01T10:00[:00][Z]"), or a duration before now.
 * *out gets seconds since 1970. */
int time_parse_since(const char *s, long long now, long long *out);
/* A whole number as users type it: optional '-' then decimal digits only (no space,
 * '+', fraction or hex), from lo to hi. 0 with *out set, or -1 (*out untouched, no
 * err_set(): the caller says what the number is for). */
int num_parse(const char *s, long long lo, long long hi, long long *out);

/* ---- validation of names from users ------------------------------------------ */

int valid_app_name(const char *name);  /* ^[a-z0-9][a-z0-9.-]*$, max 63; err_set on no */
int valid_config_key(const char *key); /* ^[A-Za-z_][A-Za-z0-9_]*$, max 255 */
int valid_domain(const char *domain);  /* hostname labels, max 253; no scheme/port/space */
int valid_key_name(const char *name);  /* ssh key names: ^[A-Za-z0-9][A-Za-z0-9_.@-]*$, max 64 */


#endif
