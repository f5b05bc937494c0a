/*
 * mock_map.h: finch-mock's string maps: a map with open addressing (the
 * existing connections, loaded once) and, on top of it, a bounded count per
 * key (each customer's attempts, seen by every request), which keeps the
 * latest keys only, so a load test of any length holds its memory flat.
 */
#ifndef FINCH_MOCK_MAP_H
#define FINCH_MOCK_MAP_H

#include <stddef.h>
#include <stdint.h>

/* FNV-1a of s: the maps' hash, and a stable id's seed. */
uint64_t mock_hash_str(const char *s);

/* A string -> value map with open addressing; no removal. */
struct map_entry {
	char *key;     /* malloc'd; NULL: a free slot */
	char *value;   /* existing: the connection_id */
	int64_t count; /* attempts: requests seen */
};

struct map {
	struct map_entry *slots;
	size_t cap, used;
};

/*
 * The entry of key, or NULL when there is none and !create. With create, a
 * new entry comes back with key NULL: the caller sets it (xstrdup) at once.
 * Pointers stay valid until the next create.
 */
struct map_entry *mock_map_find(struct map *m, const char *key, int create);
/* Frees the keys, the values and the slots; m is empty again. */
void mock_map_release(struct map *m);

/*
 * Requests seen per key, for the latest keys only: two generations of at
 * most max keys each. When the current one is full it becomes the previous
 * one (the previous is freed), so the latest max distinct keys are always
 * counted and at most 2 * max are held. A key older than that starts at 1
 * again, as a customer not seen for a long while does.
 */
struct mock_counter {
	struct map cur, prev;
	size_t max; /* keys per generation */
};

#define MOCK_COUNTER_INIT(max)                                                                     \
	{                                                                                          \
		{NULL, 0, 0}, {NULL, 0, 0}, (max)                                                  \
	}

/* Counts one more request of key; returns its count, 1 for the first. */
int64_t mock_counter_hit(struct mock_counter *c, const char *key);
/* How many keys are held (at most 2 * max), for GET /stats. */
size_t mock_counter_kept(const struct mock_counter *c);
void mock_counter_release(struct mock_counter *c);

#endif
