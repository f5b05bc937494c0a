/*
 * test_store_counts.c: the counts of rows per state (store_count_by_state(),
 * a run's start and end) and with them the sums of status and the metrics
 * (store_count_states()), on rows written through SQLite itself.
 */
#include "unit.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"
#include "store/store_report.h"
#define TESTDB_NAME "test_store_counts"
#include "testdb.h"

struct row_case {
	const char *state;
	int withdrawn;	   /* 1: missing from the last CSV */
	int attempt_total; /* attempts ever: retries are those beyond the first */
	int line_invalid;
	int changed_fields; /* a mask; any bit counts once */
	int unconfirmed;
};

/* Six states, three of them with withdrawn rows; every sum has a row that adds to it. */
static const struct row_case rows[] = {
    {"pending", 0, 0, 0, 0, 0},	   {"pending", 0, 0, 0, 0, 0}, {"pending", 1, 0, 0, 0, 0},
    {"retry_wait", 0, 2, 0, 0, 0}, {"created", 0, 1, 1, 0, 0}, {"created", 0, 3, 0, 6, 0},
    {"created", 1, 1, 0, 1, 0},	   {"exists", 0, 1, 0, 0, 0},  {"failed", 0, 4, 0, 0, 1},
    {"failed", 1, 2, 0, 0, 0},	   {"invalid", 0, 0, 0, 0, 0},
};

struct count_case {
	enum row_state state;
	int64_t rows; /* not withdrawn */
};

static const struct count_case want[] = {
    {STATE_PENDING, 2}, {STATE_IN_FLIGHT, 0}, {STATE_RETRY_WAIT, 1}, {STATE_CREATED, 2},
    {STATE_EXISTS, 1},	{STATE_FAILED, 1},    {STATE_INVALID, 1},
};

static void load(const char *path)
{
	char sql[512];
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row_case *r = &rows[i];
		char *msg = NULL;

		snprintf(sql, sizeof(sql),
			 "INSERT INTO customers(customer_id, customer_name, state, withdrawn, "
			 "attempt_total, line_invalid, changed_fields, unconfirmed, created_at, "
			 "updated_at) VALUES ('c%zu', 'C', '%s', %d, %d, %d, %d, %d, 0, 0)",
			 i, r->state, r->withdrawn, r->attempt_total, r->line_invalid,
			 r->changed_fields, r->unconfirmed);
		if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
			fail_msg("%s: %s", sql, msg);
	}
	sqlite3_close(db);
}

/* The loaded rows by state, then the sums: retries, line_invalid, changed, unconfirmed. */
static void assert_counts(const struct state_counts *c, int64_t retries, int64_t line_invalid,
			  int64_t changed, int64_t unconfirmed)
{
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (c->by_state[want[i].state] != want[i].rows)
			fail_msg("%s: %lld rows, want %lld", state_name(want[i].state),
				 (long long)c->by_state[want[i].state], (long long)want[i].rows);
	assert_int_equal(c->withdrawn, 3);
	assert_int_equal(c->total, 11);
	assert_int_equal(c->retries, retries);
	assert_int_equal(c->line_invalid, line_invalid);
	assert_int_equal(c->changed, changed);
	assert_int_equal(c->unconfirmed, unconfirmed);
}

static void test_store_counts__by_state_withdrawn_apart(void **state)
{
	struct testdb *f = *state;
	struct state_counts c;

	load(f->path);
	memset(&c, 0x55, sizeof(c));
	assert_int_equal(store_count_by_state(f->st, &c), 0);
	assert_counts(&c, 0, 0, 0, 0); /* what it does not count stays 0 */
}

static void test_store_counts__states_and_sums(void **state)
{
	struct testdb *f = *state;
	struct state_counts c;

	load(f->path);
	assert_int_equal(store_count_states(f->st, 0, &c), 0);
	/* retries 1 + 2 + 3 + 1 of the rows, withdrawn ones included */
	assert_counts(&c, 7, 1, 2, 1);
}

static void test_store_counts__empty_database(void **state)
{
	struct testdb *f = *state;
	struct state_counts c;

	assert_int_equal(store_count_by_state(f->st, &c), 0);
	assert_int_equal(c.total, 0);
	assert_int_equal(c.withdrawn, 0);
	assert_int_equal(store_count_states(f->st, 0, &c), 0);
	assert_int_equal(c.total, 0);
	assert_int_equal(c.retries, 0);
	assert_int_equal(c.changed, 0);
}

UNIT_TEST_MAIN(WITH_DB(test_store_counts__by_state_withdrawn_apart),
	       WITH_DB(test_store_counts__states_and_sums),
	       WITH_DB(test_store_counts__empty_database))
