/*
 * test_mock_map.c: finch-mock's maps. The attempts counter keeps the latest
 * keys only: its size is bounded whatever the number of customers, and a
 * key among the latest max distinct ones keeps its count.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/xalloc.h"
#include "mock/mock_map.h"

static void test_mock_map__find_and_grow(void **state)
{
	struct map m = {0};
	char key[32];

	(void)state;
	assert_null(mock_map_find(&m, "a", 0));
	for (int i = 0; i < 1000; i++) {
		struct map_entry *e;

		snprintf(key, sizeof(key), "cust-%04d", i);
		e = mock_map_find(&m, key, 1);
		assert_null(e->key);
		e->key = xstrdup(key);
		e->count = i;
	}
	assert_int_equal(m.used, 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "cust-%04d", i);
		assert_int_equal(mock_map_find(&m, key, 0)->count, i);
	}
	assert_null(mock_map_find(&m, "cust-1000", 0));
	mock_map_release(&m);
	assert_int_equal(m.cap, 0);
}

/* Each step hits key and expects its count and the keys held after it. */
static void test_mock_map__counter_table(void **state)
{
	static const struct {
		const char *key;
		int64_t count;
		size_t kept;
	} steps[] = {
	    {"a", 1, 1},
	    {"a", 2, 1},
	    {"b", 1, 2},
	    {"c", 1, 3},
	    /* the current generation holds 3: d starts a new one, a b c move back */
	    {"d", 1, 4},
	    /* a, of the previous generation, goes on from its count */
	    {"a", 3, 5},
	    {"e", 1, 6},
	    /* full again: a d e move back, a b c are forgotten */
	    {"b", 1, 4},
	    {"e", 2, 5},
	    {"c", 1, 6},
	    /* the latest 3 distinct keys (b, e and c) are always counted */
	    {"f", 1, 4},
	    {"b", 2, 5},
	    {"c", 2, 6},
	    /* e is the 4th latest now (c, b, f before it): forgotten, from 1 */
	    {"e", 1, 4},
	};
	struct mock_counter c = MOCK_COUNTER_INIT(3);

	(void)state;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		int64_t got = mock_counter_hit(&c, steps[i].key);

		if (got != steps[i].count || mock_counter_kept(&c) != steps[i].kept)
			fail_msg("step %zu (%s): count %lld kept %zu, want %lld and %zu", i,
				 steps[i].key, (long long)got, mock_counter_kept(&c),
				 (long long)steps[i].count, steps[i].kept);
	}
	mock_counter_release(&c);
	assert_int_equal(mock_counter_kept(&c), 0);
}

/* A load test's customers: a million distinct ones hold at most 2 * max. */
static void test_mock_map__counter_bounded(void **state)
{
	struct mock_counter c = MOCK_COUNTER_INIT(1000);
	size_t most = 0;
	char key[32];

	(void)state;
	for (int i = 0; i < 1000000; i++) {
		snprintf(key, sizeof(key), "cust-%07d", i);
		assert_int_equal(mock_counter_hit(&c, key), 1);
		if (mock_counter_kept(&c) > most)
			most = mock_counter_kept(&c);
		/* one among the latest 1000 is still counted */
		if (i % 997 == 0 && i) {
			snprintf(key, sizeof(key), "cust-%07d", i - 500);
			assert_int_equal(mock_counter_hit(&c, key), 2);
		}
	}
	assert_true(most <= 2000);
	assert_true(c.cur.cap + c.prev.cap <= 2 * 2048);
	mock_counter_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mock_map__find_and_grow),
	    cmocka_unit_test(test_mock_map__counter_table),
	    cmocka_unit_test(test_mock_map__counter_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
