/* persist.c - the router's table on disk, written off the event loop.
 *
 * A change to the table (a route, an app's options, a removal) is handed to the writer as
 * a small operation and takes effect in the running router only once a write that
 * contains it has reached the disk (temp file, fsync, rename): its caller is called back
 * then, on the loop, and applies it. The writer keeps its own copy of the table (the file's
 * content), so the loop never serialises or copies the whole table: per change it copies
 * one app's route. Writes run on libuv's thread pool, one at a time; operations that
 * arrive while one is running wait and all go into the next, so a burst of PUTs costs a
 * few writes, not one each. A write that fails puts the writer's table back as it was and
 * fails every operation it carried, which then change nothing (the file still holds the
 * last table that was written, and the next write starts from it). */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static int table_write(struct router_map *t, const char *path)
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
	    router__table_text_join(&text, pieces, c.n) < 0) {
		err_set("out of memory");
		goto out;
	}
	if (fs_write_atomic(path, text.buf, text.len, 0640) < 0)
		goto out;
	ret = 0;
out:
	buf_release(&text);
	free(pieces);
	free(c.slots);
	return ret;
}

/* On the thread pool: apply the batch and write; on failure put the table back as it
 * was (in reverse, so an app changed twice in the batch gets its first entry back). */
static void persist_work(uv_work_t *w)
{
	struct persist *p = w->data;
	struct persist_op *op, *applied = NULL, *prev;
	int ok = 0;

	for (op = p->batch; op; op = op->next) {
		if (table_apply(&p->table, op) < 0)
			break;
		applied = op;
	}
	if (!op)
		ok = table_write(&p->table, p->r->opts.state_file) == 0;
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

static int add_live(struct persist *p, struct app *a)
{
	struct slot *s = slot_get(&p->table, a->spec.app);

	struct buf text = BUF_INIT;

	if (!s)
		return -1;
	spec_free(s->spec);
	free(s->text);
	s->text = NULL;
	if (!(s->spec = spec_dup(&a->spec)) || router__table_entry_text(&text, s->spec) < 0) {
		buf_release(&text);
		return -1;
	}
	s->text = buf_detach(&text, NULL);
	return 0;
}

int router__persist_init(struct router *r)
{
	struct persist *p = r->persist;
	struct app *a;

	if (!p) {
		if (!(p = calloc(1, sizeof(*p))))
			return err_set("out of memory");
		p->r = r;
		p->queue_tail = &p->queue;
		r->persist = p;
	}
	if (p->busy || p->queue)
		return err_set("the table is being written");
	router__map_each(&p->table, free_entry, NULL);
	router__map_release(&p->table);
	for (a = r->apps; a; a = a->next)
		if (add_live(p, a) < 0)
			return -1;
	return 0;
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
	free(p);
	r->persist = NULL;
}
