/* src/common/common.h - public interface of wharf's shared base: buffers, errors,
 * output, files, locks, JSON helpers and validation. Knows nothing of git, HTTP or Docker. */
#ifndef WHARF_COMMON_H
#define WHARF_COMMON_H

#include <stdarg.h>
#include <stddef.h>
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
	char  *buf;
	size_t len;
	size_t alloc;
	size_t max;
};
extern char buf_empty[];
#define BUF_INIT { .buf = buf_empty, .len = 0, .alloc = 0, .max = 0 }

void  buf_init(struct buf *b, size_t max);
int   buf_grow(struct buf *b, size_t extra);            /* room for len+extra+1 */
int   buf_add(struct buf *b, const void *data, size_t len);
int   buf_addstr(struct buf *b, const char *s);
int   buf_addch(struct buf *b, int c);
int   buf_addf(struct buf *b, const char *fmt, ...) WHARF_PRINTF(2, 3);
int   buf_vaddf(struct buf *b, const char *fmt, va_list ap);
void  buf_setlen(struct buf *b, size_t len);
void  buf_reset(struct buf *b);                         /* len = 0, keeps memory */
void  buf_remove_front(struct buf *b, size_t n);        /* drop the first n bytes */
void  buf_release(struct buf *b);                       /* frees; back to BUF_INIT */
char *buf_detach(struct buf *b, size_t *len);           /* caller frees the result */

/* ---- errors: one thread-local message (libgit2's git_error_set) -------------- */

/* err_set() records the message and returns -1 so callers can `return err_set(…)`. */
int         err_set(const char *fmt, ...) WHARF_PRINTF(1, 2);
int         err_set_errno(const char *fmt, ...) WHARF_PRINTF(1, 2); /* appends ": strerror" */
const char *err_msg(void);                              /* never NULL */
void        err_clear(void);

/* ---- output for humans (Dokku's conventions) ---------------------------------
 * "-----> Step", "=====> Section", "       detail", " !     error" (stderr).
 * Parts below cli/ report progress through these so that a deploy streams to the
 * pusher as it happens; every call flushes. */
void say_step(const char *fmt, ...) WHARF_PRINTF(1, 2);      /* -----> */
void say_section(const char *fmt, ...) WHARF_PRINTF(1, 2);   /* =====> */
void say_detail(const char *fmt, ...) WHARF_PRINTF(1, 2);    /* 7 spaces */
void say_warn(const char *fmt, ...) WHARF_PRINTF(1, 2);      /*  !     on stderr */
void say_lines(const char *prefix, const char *text, size_t len); /* each line prefixed */
void say_set_quiet(int quiet);                               /* hides step/section/detail */
/* With WHARF_TRACE set (`wharf --trace …`): one timestamped line on stderr per step
 * and per Docker or router API call, to see where a deploy's time goes. */
void say_trace(const char *fmt, ...) WHARF_PRINTF(1, 2);
int  say_tracing(void);
void say_set_stderr(int on);     /* all output to stderr: while stdout carries git's protocol */

/* Monotonic seconds, for durations and deadlines (src/common/clock.c). */
double clock_now_s(void);
/* This moment as ISO-8601 UTC ("2026-01-01T00:00:00Z"), for records. Appends to out. */
int clock_utc_iso8601(struct buf *out);

/* ---- paths under WHARF_ROOT ------------------------------------------------- */

const char *wharf_root(void);            /* $WHARF_ROOT or /var/lib/wharf; borrowed */
const char *wharf_docker_host(void);     /* $DOCKER_HOST or unix:///var/run/docker.sock */
const char *wharf_router_socket(void);   /* $WHARF_ROUTER_SOCKET or /run/wharf/router.sock */
/* Appends "<root>/apps/<app>[/<leaf>]" to out; app must be validated first. */
int wharf_app_path(struct buf *out, const char *app, const char *leaf);

/* ---- files ------------------------------------------------------------------ */

int fs_mkdir_p(const char *path, mode_t mode);
/* Writes a temp file beside path, fsyncs it, renames it over path, fsyncs the dir. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Reads a whole file into out (appending). Missing file: returns -1 with errno ENOENT. */
int fs_read_file(const char *path, struct buf *out, size_t max);
/* Like fs_read_file() for files of an untrusted tree (a push): refuses anything
 * but a regular file, never follows a symlink and never blocks on a FIFO. */
int fs_read_regular(const char *path, struct buf *out, size_t max);
int fs_rm_rf(const char *path);          /* missing path is not an error */
int fs_exists(const char *path);         /* 1 if it exists, else 0 */
int fs_is_dir(const char *path);
/* Makes a fresh private directory "<parent>/<prefix>XXXXXX"; out receives its path. */
int fs_mkdtemp(struct buf *out, const char *parent, const char *prefix);

/* ---- locks ------------------------------------------------------------------ */

struct lock {
	int   fd;
	int   ticket_fd;         /* holds a shared flock on the ticket while we live */
	char *ticket;            /* queue ticket file, for app_lock() (src/app) */
};
#define LOCK_INIT { .fd = -1, .ticket_fd = -1, .ticket = NULL }
/* Takes an exclusive flock on path (created if missing). If another process holds
 * it and waiting_msg is not NULL, says it once (a "-----> " line) before blocking.
 * Returns 1 if it had to wait, 0 if not, -1 on error. */
int  lock_take(struct lock *l, const char *path, const char *waiting_msg);
void lock_release(struct lock *l);       /* safe on a lock never taken; drops a ticket */
/* Keeps a taken lock held across exec() (the fd stays open in the new program). */
int  lock_keep_on_exec(struct lock *l);

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

/* ---- validation of names from users ------------------------------------------ */

int valid_app_name(const char *name);    /* ^[a-z0-9][a-z0-9.-]*$, max 63; err_set on no */
int valid_config_key(const char *key);   /* ^[A-Za-z_][A-Za-z0-9_]*$, max 255 */
int valid_domain(const char *domain);    /* hostname labels, max 253; no scheme/port/space */
int valid_key_name(const char *name);    /* ssh key names: ^[A-Za-z0-9][A-Za-z0-9_.@-]*$, max 64 */


#endif
