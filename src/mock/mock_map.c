/*
 * mock_map.c: finch-mock's string maps (mock_map.h).
 */
#include "mock/mock_map.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

uint64_t mock_hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

struct map_entry *mock_map_find(struct map *m, const char *key, int create)
{
	if (create && (m->used + 1) * 4 >= m->cap * 3) {
		struct map old = *m;

		m->cap = m->cap ? m->cap * 2 : 64;
		m->slots = xcalloc(m->cap, sizeof(*m->slots));
		m->used = 0;
		for (size_t i = 0; i < old.cap; i++) {
			if (old.slots[i].key) {
				struct map_entry *e = mock_map_find(m, old.slots[i].key, 1);

				*e = old.slots[i];
			}
		}
		free(old.slots);
	}
	if (!m->cap)
		return NULL;
	for (size_t i = mock_hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct map_entry *e = &m->slots[i];

		if (!e->key) {
			if (!create)
				return NULL;
			m->used++;
			return e; /* the caller sets key */
		}
		if (!strcmp(e->key, key))
			return e;
	}
}

void mock_map_release(struct map *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->slots[i].key);
		free(m->slots[i].value);
	}
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

int64_t mock_counter_hit(struct mock_counter *c, const char *key)
{
	struct map_entry *e = mock_map_find(&c->cur, key, 0), *old;
	int64_t count = 0;

	if (e)
		return ++e->count;
	if (c->cur.used >= c->max) {
		mock_map_release(&c->prev);
		c->prev = c->cur;
		memset(&c->cur, 0, sizeof(c->cur));
	}
	/* a key of the previous generation goes on from its count */
	old = mock_map_find(&c->prev, key, 0);
	if (old)
		count = old->count;
	e = mock_map_find(&c->cur, key, 1);
	e->key = xstrdup(key);
	e->count = count + 1;
	return e->count;
}

size_t mock_counter_kept(const struct mock_counter *c)
{
	return c->cur.used + c->prev.used;
}

void mock_counter_release(struct mock_counter *c)
{
	mock_map_release(&c->cur);
	mock_map_release(&c->prev);
}
