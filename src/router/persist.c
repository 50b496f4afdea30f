/* persist.c - the router's table on disk, written off the event loop.
 *
 * A change to the table (a route, an app's options, a removal) is handed to the writer as
 * a small operation and takes effect in the running router only once a write that
 * contains it has reached the disk: its caller is called back then, on the loop, and
 * applies it. The writer keeps its own copy of the table (the file's content), so the loop
 * never serialises or copies the whole table: per change it copies one app's route. Writes
 * run on libuv's thread pool, one at a time; operations that arrive while one is running
 * wait and all go into the next, so a burst of PUTs costs a few writes, not one each.
 *
 * A write appends one record per operation to the journal, <state file>.journal, and
 * fsyncs it: its cost is that of the changed apps, not of the table. When the journal
 * holds more records than max(1024, apps) (or bytes than max(1 MiB, the table)), the writer
 * compacts: the whole table with generation G+1 (temp file, fsync, rename, fsync of the
 * directory), then a fresh journal stamped G+1 the same way. Both files carry the
 * generation (the table a "generation" key, the journal its header line), and at start
 * (router__table_load()) the journal is replayed only onto the table of its generation.
 * A write that fails truncates the journal back to its previous length, puts the writer's
 * table back as it was and fails every operation it carried, which then change nothing.
 *
 * Crash windows: a crash while appending leaves a last line without its newline, never
 * acknowledged: ignored at start, and the next write compacts (so nothing is appended
 * after it). A crash between the two renames of a compaction leaves table G+1 and journal
 * G: the table was written from everything the journal held, so the journal is ignored
 * and a fresh one (G+1) is written before the next append. Any other pair of generations,
 * or a malformed line that is not the last, stops the router naming the file and line. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL_MIN_RECORDS 1024
#define JOURNAL_MIN_BYTES   (1024 * 1024)
#define JOURNAL_MAX_READ    (64 * 1024 * 1024)
#define TABLE_MAX_READ      (16 * 1024 * 1024)

/* The writer's entry for one app. Made the first time the app appears and freed only
 * between writes, so a batch that fails can be put back without allocating. */
struct slot {
	struct route_def *spec; /* NULL: removed (or not there before this batch) */
	char *text;             /* spec's piece of the file (route.c) */
};

struct persist_op {
	struct persist_op *next;
	enum router_persist_kind kind;
	struct route_def spec;  /* app always; a route: domains, targets, drain and
					 * the options given; options: the options given */
	struct slot *slot;      /* writer: the app's entry */
	struct route_def *undo; /* writer: what the entry held before (NULL: none) */
	char *undo_text;
	router_persist_fn *done;
	void *data;
};

struct persist {
	struct router *r;
	uv_work_t work;
	int busy;                               /* a write is running on the thread pool */
	struct persist_op *queue, **queue_tail; /* waiting for the next write */
	struct persist_op *batch;               /* in the running write */
	struct router_map table;                /* app -> struct slot: the file's content; the
					 * writer's while busy, the loop's otherwise */
	int status;                             /* of the last write: 0 or -1 */
	char error[512];                        /* why it failed */
	void (*on_idle)(struct router *r);
	/* The files; the writer's while busy, like the table. */
	struct buf journal;            /* <state file>.journal */
	unsigned long long generation; /* of the table on disk (and of the journal if ok) */
	size_t jrecords, jbytes;       /* in the journal */
	size_t table_bytes;            /* of the table last written or read */
	int journal_ok;                /* 0: missing or stale, write a fresh one first */
	int must_compact;              /* compact before the next append: a compaction
					* or an append failed, or a torn line was read */
};

/* ---- the writer's table (the thread pool's while a write runs) ------------------ */

static struct route_def *spec_dup(const struct route_def *src)
{
	struct route_def *d = calloc(1, sizeof(*d));

	if (!d) {
		err_set("out of memory");
		return NULL;
	}
	if (router__route_copy(d, src) < 0) {
		router__route_release(d);
		free(d);
		return NULL;
	}
	return d;
}

static void spec_free(struct route_def *d)
{
	if (!d)
		return;
	router__route_release(d);
	free(d);
}

static struct slot *slot_get(struct router_map *t, const char *app)
{
	struct slot *s = router__map_get(t, app);

	if (s)
		return s;
	if (!(s = calloc(1, sizeof(*s)))) {
		err_set("out of memory");
		return NULL;
	}
	if (router__map_add(t, app, s) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* Drops the slot of app if it holds nothing. */
static void slot_prune(struct router_map *t, const char *app)
{
	struct slot *s = router__map_get(t, app);

	if (s && !s->spec) {
		router__map_del(t, app, s);
		free(s);
	}
}

/* Applies op to the table, keeping what it replaced in op->undo. 0, or -1 (err_set)
 * with the table unchanged. */
static int table_apply(struct router_map *t, struct persist_op *op)
{
	struct slot *s = slot_get(t, op->spec.app);
	struct route_def *next = NULL;
	struct buf text = BUF_INIT;

	if (!s)
		return -1;
	if (op->kind != ROUTER_PERSIST_REMOVE) {
		struct route_def empty = ROUTE_DEF_INIT;
		const struct route_def *base = &op->spec;

		/* An options change keeps the route; a new app's entry has none. */
		if (op->kind == ROUTER_PERSIST_OPTIONS) {
			empty.app = op->spec.app;
			base = s->spec ? s->spec : &empty;
		}
		if (!(next = spec_dup(base)))
			return -1; /* a slot made for it is pruned after the batch */
		if (op->kind == ROUTER_PERSIST_OPTIONS)
			router__route_set_options(next, &op->spec);
		else
			router__route_keep_options(next, s->spec);
		if (router__table_entry_text(&text, next) < 0) {
			spec_free(next);
			buf_release(&text);
			return -1;
		}
	}
	op->slot = s;
	op->undo = s->spec;
	op->undo_text = s->text;
	s->spec = next;
	s->text = next ? buf_detach(&text, NULL) : NULL;
	return 0;
}

struct collect {
	const struct slot **slots;
	size_t n;
};

static void collect_one(const char *key, void *val, void *data)
{
	struct collect *c = data;
	const struct slot *s = val;

	(void)key;
	if (s->spec)
		c->slots[c->n++] = s;
}

static int by_app(const void *a, const void *b)
{
	const struct slot *x = *(const struct slot *const *)a, *y = *(const struct slot *const *)b;

	return strcmp(x->spec->app, y->spec->app);
}

/* Writes the table from the pieces of its apps: only a sort and a copy per write, the
 * serialising was done per app as each changed (json_dumps() of 10,000 apps took
 * 150 ms). The bytes are those json_dumps() makes (tests/unit/router/test_route.c). */
static int table_write(struct router_map *t, const char *path, unsigned long long generation,
		       size_t *written)
{
	struct collect c = { calloc(t->count + 1, sizeof(*c.slots)), 0 };
	const char **pieces = calloc(t->count + 1, sizeof(*pieces));
	struct buf text = BUF_INIT;
	size_t i;
	int ret = -1;

	if (!c.slots || !pieces) {
		err_set("out of memory");
		goto out;
	}
	router__map_each(t, collect_one, &c);
	qsort(c.slots, c.n, sizeof(*c.slots), by_app);
	for (i = 0; i < c.n; i++)
		pieces[i] = c.slots[i]->text;
	if (buf_grow(&text, 160 * c.n + 64) < 0 ||
	    router__table_text_join(&text, pieces, c.n, generation) < 0) {
		err_set("out of memory");
		goto out;
	}
	if (fs_write_atomic(path, text.buf, text.len, 0640) < 0)
		goto out;
	*written = text.len;
	ret = 0;
out:
	buf_release(&text);
	free(pieces);
	free(c.slots);
	return ret;
}

/* ---- the journal ------------------------------------------------------------------ */

static int journal_header(struct buf *out, unsigned long long generation)
{
	return buf_addf(out, "{\"generation\": %llu, \"journal\": 1}\n", generation);
}

/* Appends op's record: {"<app>": <its table value>} on one line, made from the slot's
 * piece of the table file (text, NULL: removed) by dropping its line breaks and their
 * indentation (a JSON string holds no raw line break, so every one is layout). */
static int journal_record(struct buf *out, const char *app, const char *text)
{
	const char *s = text;

	if (!text) {
		json_t *key = json_string(app);
		char *k = key ? json_dumps(key, JSON_ENCODE_ANY) : NULL;
		int rc = k ? buf_addf(out, "{%s: null}\n", k) : err_set("out of memory");

		free(k);
		json_decref(key);
		return rc;
	}
	if (buf_addch(out, '{') < 0)
		return -1;
	while (*s == ' ')
		s++;
	for (; *s; s++) {
		if (*s == '\n') {
			while (s[1] == ' ')
				s++;
			continue;
		}
		if (buf_addch(out, *s) < 0)
			return -1;
	}
	return buf_addstr(out, "}\n");
}

/* A fresh journal of p->generation, holding no record (temp file, fsync, rename, fsync
 * of the directory). 0, or -1 (err_set). */
static int journal_fresh(struct persist *p, unsigned long long generation)
{
	struct buf text = BUF_INIT;
	int ret = -1;

	if (journal_header(&text, generation) < 0 ||
	    fs_write_atomic(p->journal.buf, text.buf, text.len, 0640) < 0)
		goto out;
	p->jrecords = 0;
	p->jbytes = text.len;
	p->journal_ok = 1;
	ret = 0;
out:
	buf_release(&text);
	return ret;
}

/* The whole table with generation G+1, then a fresh journal G+1. On failure the pair on
 * disk is (G, G) or (G+1, G), both whole (see the file's head); the next write compacts
 * again, with the same G+1, before it appends. */
static int compact(struct persist *p)
{
	unsigned long long next = p->generation + 1;
	size_t written = 0;

	if (table_write(&p->table, p->r->opts.state_file, next, &written) < 0 ||
	    journal_fresh(p, next) < 0) {
		p->must_compact = 1;
		return -1;
	}
	p->generation = next;
	p->table_bytes = written;
	p->must_compact = 0;
	return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Appends records (n of them) to the journal and fsyncs it. On failure the journal is
 * truncated back to its length before (if that fails too, or it cannot be opened, the
 * next write compacts). 0, or -1 (err_set). */
static int journal_append(struct persist *p, const struct buf *records, size_t n)
{
	const char *path = p->journal.buf;
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
	struct stat st;
	int saved;

	if (fd < 0) {
		p->must_compact = 1;
		return err_set_errno("cannot open '%s'", path);
	}
	if (fstat(fd, &st) < 0) {
		saved = errno;
		close(fd);
		p->must_compact = 1;
		errno = saved;
		return err_set_errno("cannot stat '%s'", path);
	}
	if (write_all(fd, records->buf, records->len) < 0 || fsync(fd) < 0) {
		saved = errno;
		if (ftruncate(fd, st.st_size) < 0 || fsync(fd) < 0)
			p->must_compact = 1;
		close(fd);
		errno = saved;
		return err_set_errno("cannot append to '%s'", path);
	}
	if (close(fd) < 0) {
		p->must_compact = 1; /* written and synced, but say so: the batch fails */
		return err_set_errno("cannot close '%s'", path);
	}
	p->jrecords += n;
	p->jbytes = (size_t)st.st_size + records->len;
	return 0;
}

static int compaction_due(const struct persist *p)
{
	size_t records =
		p->table.count > JOURNAL_MIN_RECORDS ? p->table.count : JOURNAL_MIN_RECORDS;
	size_t bytes = p->table_bytes > JOURNAL_MIN_BYTES ? p->table_bytes : JOURNAL_MIN_BYTES;

	return p->jrecords > records || p->jbytes > bytes;
}

/* On the thread pool: make the journal fit for appending, apply the batch, append its
 * records; on failure put the table back as it was (in reverse, so an app changed twice
 * in the batch gets its first entry back). Then compact if the journal has grown enough:
 * the batch is on disk already, so a compaction that fails does not fail it. */
static void persist_work(uv_work_t *w)
{
	struct persist *p = w->data;
	struct persist_op *op, *applied = NULL, *prev;
	struct buf records = BUF_INIT;
	size_t n = 0;
	int ok = 0;

	if (!p->journal_ok && journal_fresh(p, p->generation) < 0)
		goto done;
	if (p->must_compact && compact(p) < 0)
		goto done;
	for (op = p->batch; op; op = op->next) {
		if (table_apply(&p->table, op) < 0)
			break;
		applied = op;
		if (journal_record(&records, op->spec.app, op->slot->text) < 0)
			break;
		n++;
	}
	if (!op)
		ok = journal_append(p, &records, n) == 0;
done:
	if (!ok)
		snprintf(p->error, sizeof(p->error), "%s", err_msg());
	while (applied) {
		for (prev = NULL, op = p->batch; op != applied; op = op->next)
			prev = op;
		if (ok) {
			spec_free(applied->undo);
			free(applied->undo_text);
		} else {
			spec_free(applied->slot->spec);
			free(applied->slot->text);
			applied->slot->spec = applied->undo;
			applied->slot->text = applied->undo_text;
		}
		applied->undo = NULL;
		applied->undo_text = NULL;
		applied = prev;
	}
	/* Only now: an op's slot must stay while any op of the batch may point at it. */
	for (op = p->batch; op; op = op->next)
		slot_prune(&p->table, op->spec.app);
	if (ok && compaction_due(p))
		(void)compact(p); /* retried before the next append if it failed */
	buf_release(&records);
	p->status = ok ? 0 : -1;
}

static void persist_start(struct persist *p);

/* Back on the loop: tell each operation's owner, then start the next write. */
static void persist_after(uv_work_t *w, int status)
{
	struct persist *p = w->data;
	struct persist_op *op, *next;
	char error[512];
	int rc = status < 0 || p->status < 0 ? -1 : 0;

	p->busy = 0;
	snprintf(error, sizeof(error), "%s",
		 status < 0 ? "the write was cancelled"
		 : rc < 0   ? p->error
			    : "");
	op = p->batch;
	p->batch = NULL;
	for (; op; op = next) {
		next = op->next;
		op->done(p->r, rc, error, op->data);
		router__route_release(&op->spec);
		free(op);
	}
	persist_start(p);
}

static void persist_start(struct persist *p)
{
	if (p->busy)
		return;
	if (!p->queue) {
		if (p->on_idle) {
			void (*fn)(struct router *) = p->on_idle;

			p->on_idle = NULL;
			fn(p->r);
		}
		return;
	}
	p->batch = p->queue;
	p->queue = NULL;
	p->queue_tail = &p->queue;
	p->work.data = p;
	p->busy = 1;
	if (uv_queue_work(p->r->loop, &p->work, persist_work, persist_after) < 0)
		persist_after(&p->work, UV_ECANCELED); /* not with a live loop */
}

/* ---- the loop's side -------------------------------------------------------------- */

static void free_entry(const char *key, void *val, void *data)
{
	struct slot *s = val;

	(void)key;
	(void)data;
	spec_free(s->spec);
	free(s->text);
	free(s);
}

static int add_spec(struct persist *p, const struct route_def *spec)
{
	struct slot *s = slot_get(&p->table, spec->app);
	struct buf text = BUF_INIT;

	if (!s)
		return -1;
	spec_free(s->spec);
	free(s->text);
	s->text = NULL;
	if (!(s->spec = spec_dup(spec)) || router__table_entry_text(&text, s->spec) < 0) {
		buf_release(&text);
		return -1;
	}
	p->table_bytes += text.len + 2;
	s->text = buf_detach(&text, NULL);
	return 0;
}

int router__persist_init(struct router *r, const struct route_def *specs, size_t n,
			 const struct router_disk *disk)
{
	struct persist *p = r->persist;
	size_t i;

	if (!p) {
		if (!(p = calloc(1, sizeof(*p))))
			return err_set("out of memory");
		p->r = r;
		p->queue_tail = &p->queue;
		buf_init(&p->journal, 0);
		r->persist = p;
	}
	if (p->busy || p->queue)
		return err_set("the table is being written");
	router__map_each(&p->table, free_entry, NULL);
	router__map_release(&p->table);
	p->table_bytes = 0;
	for (i = 0; i < n; i++)
		if (add_spec(p, &specs[i]) < 0)
			return -1;
	buf_reset(&p->journal);
	if (r->opts.state_file && router__journal_path(&p->journal, r->opts.state_file) < 0)
		return -1;
	p->generation = disk->generation;
	p->jrecords = disk->records;
	p->jbytes = disk->bytes;
	p->journal_ok = disk->journal_ok;
	p->must_compact = disk->torn;
	return 0;
}

/* ---- reading the table and its journal at start ------------------------------------ */

int router__journal_path(struct buf *out, const char *state_file)
{
	return buf_addf(out, "%s.journal", state_file);
}

static void free_spec_entry(const char *key, void *val, void *data)
{
	(void)key;
	(void)data;
	spec_free(val);
}

/* Sets app to spec (NULL: removes it) in apps (app -> struct route_def *), taking spec. */
static int apps_set(struct router_map *apps, const char *app, struct route_def *spec)
{
	struct route_def *old = router__map_get(apps, app);

	if (old) {
		router__map_del(apps, app, old);
		spec_free(old);
	}
	if (spec && router__map_add(apps, spec->app, spec) < 0) {
		spec_free(spec);
		return -1;
	}
	return 0;
}

/* One record line (without its newline): {"<app>": <table value> | null}. */
static int journal_line(struct router_map *apps, const char *line, size_t len)
{
	struct route_def *spec = NULL;
	json_error_t jerr;
	json_t *root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *v;
	const char *app;
	int ret = -1;

	if (!root)
		return err_set("invalid JSON: %s", jerr.text);
	if (!json_is_object(root) || json_object_size(root) != 1) {
		err_set("expected an object with one app");
		goto out;
	}
	json_object_foreach(root, app, v) {
		if (json_is_null(v)) {
			if (valid_app_name(app) < 0) {
				err_prefix("app '%s': ", app);
				goto out;
			}
			ret = apps_set(apps, app, NULL);
			goto out;
		}
		if (!(spec = calloc(1, sizeof(*spec)))) {
			err_set("out of memory");
			goto out;
		}
		if (router__table_entry_parse(spec, app, v) < 0) {
			spec_free(spec);
			goto out;
		}
		ret = apps_set(apps, app, spec);
	}
out:
	json_decref(root);
	return ret;
}

static int journal_head(unsigned long long *generation, const char *line, size_t len)
{
	json_t *root = json_loadb(line, len, 0, NULL), *gen;
	int ok;

	gen = json_object_get(root, "generation");
	ok = json_is_object(root) && json_object_size(root) == 2 && json_is_integer(gen) &&
	     json_integer_value(gen) >= 0 &&
	     json_integer_value(json_object_get(root, "journal")) == 1;
	if (ok)
		*generation = (unsigned long long)json_integer_value(gen);
	json_decref(root);
	return ok ? 0 : err_set("expected the header {\"generation\": G, \"journal\": 1}");
}

int router__journal_replay(struct router_map *apps, struct router_disk *disk, const char *path,
			   const char *text, size_t len)
{
	const char *line = text, *end = text + len, *nl;
	unsigned long long generation = 0;
	size_t lineno = 1;

	disk->records = 0;
	disk->bytes = 0;
	disk->torn = 0;
	disk->journal_ok = 0;
	/* Written whole (temp file and rename), so a header without its newline is no
	 * journal: as if there were none. */
	if (!(nl = memchr(line, '\n', len)))
		return 0;
	if (journal_head(&generation, line, (size_t)(nl - line)) < 0)
		return err_set("invalid router journal %s line 1: %s", path, err_msg());
	if (generation + 1 == disk->generation) {
		/* A crash between a compaction's two renames: the table (G+1) was written
		 * from everything this journal (G) held. Ignored; the next write makes a
		 * fresh journal G+1 before it appends. */
		return 0;
	}
	if (generation != disk->generation)
		return err_set("router journal %s has generation %llu but the table %llu: they do "
			       "not belong together (restore the pair, or remove the journal to "
			       "lose its changes)",
			       path, generation, disk->generation);
	disk->journal_ok = 1;
	for (line = nl + 1; line < end; line = nl + 1) {
		lineno++;
		if (!(nl = memchr(line, '\n', (size_t)(end - line)))) {
			/* The last write, cut short by a crash: never acknowledged. */
			disk->torn = 1;
			break;
		}
		if (journal_line(apps, line, (size_t)(nl - line)) < 0)
			return err_set("invalid router journal %s line %zu: %s", path, lineno,
				       err_msg());
		disk->records++;
	}
	disk->bytes = (size_t)(line - text); /* up to the last whole line */
	return 0;
}

struct collect_specs {
	struct route_def *specs;
	size_t n;
};

static void take_spec(const char *key, void *val, void *data)
{
	struct collect_specs *c = data;
	struct route_def *spec = val;

	(void)key;
	c->specs[c->n++] = *spec; /* moved: the struct is freed, not its members */
	free(spec);
}

int router__table_load(struct route_def **out, size_t *n, struct router_disk *disk,
		       const char *state_file)
{
	struct router_disk empty = ROUTER_DISK_INIT;
	struct router_map apps = { 0 };
	struct buf text = BUF_INIT, journal = BUF_INIT;
	struct route_def *specs = NULL;
	struct collect_specs c = { NULL, 0 };
	size_t i, count = 0;
	int ret = -1;

	*out = NULL;
	*n = 0;
	*disk = empty;
	if (fs_read_file(state_file, &text, TABLE_MAX_READ) < 0) {
		if (errno != ENOENT)
			goto out;
		err_clear(); /* no state file yet is an empty table, generation 0 */
	} else if (router__table_parse(&specs, &count, &disk->generation, text.buf, text.len) < 0) {
		err_set("invalid router state file %s: %s (fix or remove it)", state_file,
			err_msg());
		goto out;
	}
	for (i = 0; i < count; i++) {
		struct route_def *one = calloc(1, sizeof(*one));

		if (!one) {
			err_set("out of memory");
			goto out;
		}
		*one = specs[i];
		memset(&specs[i], 0, sizeof(specs[i]));
		if (apps_set(&apps, one->app, one) < 0)
			goto out;
	}
	if (router__journal_path(&journal, state_file) < 0)
		goto out;
	buf_reset(&text);
	if (fs_read_file(journal.buf, &text, JOURNAL_MAX_READ) < 0) {
		if (errno != ENOENT)
			goto out;
		err_clear(); /* none yet: the next write makes one */
	} else if (router__journal_replay(&apps, disk, journal.buf, text.buf, text.len) < 0) {
		goto out;
	}
	if (!(c.specs = calloc(apps.count + 1, sizeof(*c.specs)))) {
		err_set("out of memory");
		goto out;
	}
	router__map_each(&apps, take_spec, &c);
	router__map_release(&apps);
	*out = c.specs;
	*n = c.n;
	c.specs = NULL;
	ret = 0;
out:
	router__map_each(&apps, free_spec_entry, NULL);
	router__map_release(&apps);
	if (specs) {
		for (i = 0; i < count; i++)
			router__route_release(&specs[i]);
		free(specs);
	}
	buf_release(&journal);
	buf_release(&text);
	return ret;
}

int router__persist_submit(struct router *r, enum router_persist_kind kind,
			   const struct route_def *spec, router_persist_fn *done, void *data)
{
	struct persist *p = r->persist;
	struct persist_op *op;

	if (!r->opts.state_file || !p) {
		done(r, 0, "", data); /* nothing to write: the change applies at once */
		return 0;
	}
	if (!(op = calloc(1, sizeof(*op))))
		return err_set("out of memory");
	op->kind = kind;
	op->done = done;
	op->data = data;
	if (router__route_copy(&op->spec, spec) < 0) {
		router__route_release(&op->spec);
		free(op);
		return -1;
	}
	*p->queue_tail = op;
	p->queue_tail = &op->next;
	persist_start(p);
	return 0;
}

/* The newest operation for app in q (a list), or the one before. */
static const struct persist_op *newest_in(const struct persist_op *q, const char *app,
					  const struct persist_op *found)
{
	for (; q; q = q->next)
		if (!strcmp(q->spec.app, app))
			found = q;
	return found;
}

int router__persist_pending(struct router *r, const char *app)
{
	const struct persist *p = r->persist;
	const struct persist_op *op;

	if (!p)
		return -1;
	op = newest_in(p->queue, app, newest_in(p->batch, app, NULL));
	return op ? (int)op->kind : -1;
}

static const char *owner_in(const struct persist_op *q, const struct route_def *spec,
			    const char **domain)
{
	size_t i, j;

	for (; q; q = q->next) {
		if (q->kind != ROUTER_PERSIST_ROUTE || !strcmp(q->spec.app, spec->app))
			continue;
		for (i = 0; i < spec->ndomains; i++)
			for (j = 0; j < q->spec.ndomains; j++)
				if (!strcmp(spec->domains[i], q->spec.domains[j])) {
					*domain = spec->domains[i];
					return q->spec.app;
				}
	}
	return NULL;
}

const char *router__persist_domain_owner(struct router *r, const struct route_def *spec,
					 const char **domain)
{
	const struct persist *p = r->persist;
	const char *owner;

	if (!p)
		return NULL;
	if ((owner = owner_in(p->batch, spec, domain)))
		return owner;
	return owner_in(p->queue, spec, domain);
}

void router__persist_when_idle(struct router *r, void (*fn)(struct router *r))
{
	struct persist *p = r->persist;

	if (!p || (!p->busy && !p->queue)) {
		fn(r);
		return;
	}
	p->on_idle = fn;
}

void router__persist_free(struct router *r)
{
	struct persist *p = r->persist;

	if (!p)
		return;
	router__map_each(&p->table, free_entry, NULL);
	router__map_release(&p->table);
	buf_release(&p->journal);
	free(p);
	r->persist = NULL;
}
