/* map.c - a string-keyed hash table for the router's indexes (apps by name, apps by
 * domain, the table the writer keeps): lookups and changes cost the same with ten apps
 * or ten thousand. Keys are copied; a key may be there more than once. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

struct map_node {
	struct map_node *next;
	void *val;
	size_t hash;
	char key[];
};

static size_t hash_of(const char *s)
{
	size_t h = 14695981039346656037ULL; /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/* Doubles the bucket array; on failure the chains just stay longer. */
static void map_grow(struct router_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64, i;
	struct map_node **b = calloc(cap, sizeof(*b));

	if (!b)
		return;
	for (i = 0; i < m->cap; i++) {
		struct map_node *n = m->buckets[i], *next;

		for (; n; n = next) {
			next = n->next;
			n->next = b[n->hash & (cap - 1)];
			b[n->hash & (cap - 1)] = n;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->cap = cap;
}

int router__map_add(struct router_map *m, const char *key, void *val)
{
	size_t len = strlen(key);
	struct map_node *n = malloc(sizeof(*n) + len + 1);

	if (!n)
		return err_set("out of memory");
	memcpy(n->key, key, len + 1);
	n->val = val;
	n->hash = hash_of(key);
	if (m->count >= m->cap - m->cap / 4)
		map_grow(m);
	if (!m->cap) {
		free(n);
		return err_set("out of memory");
	}
	n->next = m->buckets[n->hash & (m->cap - 1)];
	m->buckets[n->hash & (m->cap - 1)] = n;
	m->count++;
	return 0;
}

void *router__map_get(const struct router_map *m, const char *key)
{
	return router__map_next(m, key, NULL);
}

void *router__map_next(const struct router_map *m, const char *key, const void *after)
{
	size_t h;
	struct map_node *n;
	int seen = after == NULL;

	if (!m->cap)
		return NULL;
	h = hash_of(key);
	for (n = m->buckets[h & (m->cap - 1)]; n; n = n->next) {
		if (n->hash != h || strcmp(n->key, key))
			continue;
		if (seen)
			return n->val;
		seen = n->val == after;
	}
	return NULL;
}

int router__map_del(struct router_map *m, const char *key, const void *val)
{
	struct map_node **pp, *n;
	size_t h;

	if (!m->cap)
		return 0;
	h = hash_of(key);
	for (pp = &m->buckets[h & (m->cap - 1)]; (n = *pp); pp = &n->next)
		if (n->hash == h && n->val == val && !strcmp(n->key, key)) {
			*pp = n->next;
			free(n);
			m->count--;
			return 1;
		}
	return 0;
}

void router__map_each(const struct router_map *m,
		      void (*fn)(const char *key, void *val, void *data), void *data)
{
	size_t i;
	struct map_node *n, *next;

	for (i = 0; i < m->cap; i++)
		for (n = m->buckets[i]; n; n = next) {
			next = n->next;
			fn(n->key, n->val, data);
		}
}

void router__map_release(struct router_map *m)
{
	size_t i;
	struct map_node *n, *next;

	for (i = 0; i < m->cap; i++)
		for (n = m->buckets[i]; n; n = next) {
			next = n->next;
			free(n);
		}
	free(m->buckets);
	memset(m, 0, sizeof(*m));
}
