/*
 * test_store_transitions.c: the customers table's state machine, as the
 * trigger customers_state_transition enforces it (schema/017): every pair
 * of states, allowed or refused, on a database the store created.
 */
#include "unit.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/util.h"
#include "store/store.h"
#include "testdb.h"

static const char *const states[] = {"pending", "in_flight", "retry_wait", "created",
				     "exists",	"failed",    "invalid"};
#define NSTATES (sizeof(states) / sizeof(states[0]))

struct transition_case {
	const char *from;
	const char *to; /* the states "from" may become; any other is refused */
};

/* schema/007_connections.sql's rule, which 017 keeps */
static const struct transition_case allowed[] = {
    {"pending", " in_flight invalid exists "},
    {"in_flight", " created exists failed retry_wait pending "},
    {"retry_wait", " in_flight pending invalid exists "},
    {"created", " pending invalid exists "},
    {"exists", " pending invalid "},
    {"failed", " pending invalid exists "},
    {"invalid", " pending "},
};

static int is_allowed(const char *from, const char *to)
{
	char word[32];

	if (!strcmp(from, to))
		return 1; /* not a transition */
	snprintf(word, sizeof(word), " %s ", to);
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (!strcmp(allowed[i].from, from))
			return strstr(allowed[i].to, word) != NULL;
	fail_msg("no case for state '%s'", from);
	return 0;
}

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static void test_store_transitions__every_pair(void **state)
{
	char dir[64], path[96], sql[256];
	struct store *st = testdb_open(dir, path, "test_store_transitions");
	sqlite3 *db;
	int refused = 0;

	(void)state;
	store_close(st);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (size_t i = 0; i < NSTATES; i++) {
		for (size_t j = 0; j < NSTATES; j++) {
			int want = is_allowed(states[i], states[j]), rc;

			/* a row inserted in the state "from": an INSERT is not a transition */
			snprintf(sql, sizeof(sql),
				 "DELETE FROM customers; INSERT INTO customers(id, customer_id, "
				 "customer_name, state, created_at, updated_at) "
				 "VALUES (1, 'c1', 'C', '%s', 0, 0)",
				 states[i]);
			exec(db, sql);
			snprintf(sql, sizeof(sql), "UPDATE customers SET state = '%s' WHERE id = 1",
				 states[j]);
			rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
			if (rc != (want ? SQLITE_OK : SQLITE_CONSTRAINT))
				fail_msg("%s -> %s: %s, want %s", states[i], states[j],
					 sqlite3_errmsg(db), want ? "allowed" : "refused");
			if (!want) {
				assert_contains(sqlite3_errmsg(db),
						"illegal customer state transition");
				refused++;
			}
		}
	}
	/* 49 pairs: 7 unchanged, 21 allowed, 21 refused */
	assert_int_equal(refused, 21);
	sqlite3_close(db);
	assert_int_equal(testdb_remove(dir), 0);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_store_transitions__every_pair))
