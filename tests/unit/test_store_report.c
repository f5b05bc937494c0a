/*
 * test_store_report.c: what the store tells (store_report.h): the funnel,
 * export --state's filter, the state lists.
 */
#include "unit.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TESTDB_NAME "test_store_report"
#include "finch/connection.h"
#include "store/store.h"
#include "store/store_report.h"
#include "testdb.h"

#define DAY (24 * 3600 * 1000LL)

/* The row customer_id: its state, link, connection and status, and a first link at link_day. */
static void funnel_row(const char *path, const char *id, const char *state, int has_session,
		       const char *conn, const char *status, int64_t connected_day,
		       int64_t expires_day, int64_t link_day, const char *kind)
{
	char sql[512], q[3][40];
	const char *v[3] = {conn, status, NULL};

	for (int i = 0; i < 2; i++)
		snprintf(q[i], sizeof(q[i]), v[i] ? "'%s'" : "NULL", v[i] ? v[i] : "");
	/* the states a run moves a row through (the trigger of schema 001) */
	snprintf(sql, sizeof(sql),
		 "UPDATE customers SET state = 'in_flight' WHERE customer_id = '%s' RETURNING 1",
		 id);
	if (strcmp(state, "pending"))
		assert_query_int(path, sql, 1);
	snprintf(sql, sizeof(sql),
		 "UPDATE customers SET state = '%s', session_id = %s, connection_id = %s, "
		 "connection_status = %s, connected_at = %lld, expires_at = %lld "
		 "WHERE customer_id = '%s' RETURNING 1",
		 state, has_session ? "'s'" : "NULL", q[0], q[1],
		 connected_day < 0 ? -1LL : (long long)(connected_day * DAY),
		 (long long)(expires_day * DAY), id);
	assert_query_int(path, sql, 1);
	if (connected_day < 0)
		assert_query_int(path,
				 "UPDATE customers SET connected_at = NULL "
				 "WHERE connected_at = -1 RETURNING 1",
				 1);
	if (!kind)
		return;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO attempts(customer, attempt_no, kind, started_at, http_status) "
		 "SELECT id, 1, '%s', %lld, 201 FROM customers WHERE customer_id = '%s' "
		 "RETURNING 1",
		 kind, (long long)(link_day * DAY), id);
	assert_query_int(path, sql, 1);
}

/*
 * The funnel: links made, and of them connected, expired and open; the
 * employers connected without a link; connection statuses; median ages.
 */
static void test_store_report__funnel(void **state)
{
	static const struct {
		const char *id, *state;
		int session;
		const char *conn, *status;
		int64_t connected_day, expires_day, link_day;
		const char *kind;
	} rows[] = {
	    {"open", "created", 1, NULL, NULL, -1, 10, 0, "create"},
	    {"expired", "created", 1, NULL, NULL, -1, 2, 1, "create"},
	    {"conn2", "exists", 1, "c-2", "connected", 2, 1, 0, "create"},
	    {"conn4", "exists", 1, "c-4", "reauth", 4, 1, 0, "create"},
	    {"before", "exists", 1, "c-b", "connected", 0, 1, 1, "create"},
	    {"asked", "exists", 0, "c-a", NULL, -1, 0, 0, NULL},
	    {"gone", "exists", 0, "c-g", "disconnected", -1, 0, 0, NULL},
	    {"reauthed", "exists", 1, "c-r", "error_no_account_setup", -1, 9, 3, "reauth"},
	    {"waiting", "pending", 0, NULL, NULL, -1, 0, 0, NULL},
	};
	struct testdb *f = *state;
	struct funnel fu;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		testdb_upsert(f->st, rows[i].id, NULL);
		funnel_row(f->path, rows[i].id, rows[i].state, rows[i].session, rows[i].conn,
			   rows[i].status, rows[i].connected_day, rows[i].expires_day,
			   rows[i].link_day, rows[i].kind);
	}
	assert_int_equal(store_funnel(f->st, 5 * DAY, &fu), 0);
	assert_int_equal(fu.links, 5);
	assert_int_equal(fu.connected, 3);
	assert_int_equal(fu.expired, 1);
	assert_int_equal(fu.open, 1);
	assert_int_equal(fu.already_connected, 3);
	assert_int_equal(fu.by_status[connection_status_index("connected")], 2);
	assert_int_equal(fu.by_status[connection_status_index("reauth")], 1);
	assert_int_equal(fu.by_status[connection_status_index("disconnected")], 1);
	assert_int_equal(fu.by_status[connection_status_index("error_no_account_setup")], 1);
	assert_int_equal(fu.by_status[connection_status_index("pending")], 0);
	assert_int_equal(fu.by_status[CONNECTION_STATUS_COUNT], 1); /* no status heard */
	/* conn2 after 2 days, conn4 after 4, before's connection predates its link: 3 */
	assert_true(fu.days_to_connect == 3.0);
	assert_true(fu.open_days == 5.0);
	assert_true(fu.expired_days == 4.0);

	/* the links expire: the open one too, by now_ms */
	assert_int_equal(store_funnel(f->st, 11 * DAY, &fu), 0);
	assert_int_equal(fu.expired, 2);
	assert_int_equal(fu.open, 0);
	assert_true(fu.open_days == -1);
	assert_true(fu.expired_days == 10.5);

	/* a webhook's time has whole seconds, and Finch's clock is not ours: a connection
	   less than STORE_CLOCK_SKEW_MS before its link is one at once (0 days), not left out */
	testdb_upsert(f->st, "skew", NULL);
	funnel_row(f->path, "skew", "exists", 1, "c-s", "connected", 2, 1, 2, "create");
	assert_query_int(f->path,
			 "UPDATE customers SET connected_at = connected_at - "
			 "900 WHERE customer_id = 'skew' RETURNING 1",
			 1);
	assert_int_equal(store_funnel(f->st, 5 * DAY, &fu), 0);
	assert_int_equal(fu.connected, 4);
	assert_true(fu.days_to_connect == 2.0); /* 0, 2 and 4 days; "before" still left out */

	/* nothing at all */
	query_int(f->path, "DELETE FROM customers RETURNING 1");
	assert_int_equal(store_funnel(f->st, 5 * DAY, &fu), 0);
	assert_int_equal(fu.links + fu.connected + fu.already_connected, 0);
	assert_true(fu.days_to_connect == -1);
}

/* Appends the row's connection status to the char[64] data. */
static int add_status(const struct export_row *row, void *data)
{
	char *seen = data;
	size_t n = strlen(seen);

	snprintf(seen + n, 64 - n, "%s%s", n ? "," : "",
		 row->connection_status ? row->connection_status : "(none)");
	return 0;
}

/* export --state: row states and connection statuses; each status selects its rows. */
static void test_store_report__export_state_parse(void **state)
{
	static const struct {
		const char *list;
		int ret;
		unsigned states, conns;
	} cases[] = {
	    {"created", 0, STATE_MASK(STATE_CREATED), 0},
	    {"connected", 0, 0, 1u << 2},
	    {"pending", 0, STATE_MASK(STATE_PENDING), 0},
	    {"connection:pending", 0, 0, 1u << 0},
	    {"exists, reauth,error_permissions", 0, STATE_MASK(STATE_EXISTS),
	     (1u << 3) | (1u << 4)},
	    {"connection:created", -1, 0, 0},
	    {"bogus", -1, 0, 0},
	    {"", -1, 0, 0},
	};
	struct testdb *f = *state;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct export_filter ef = {0};

		assert_int_equal(export_state_parse(cases[i].list, &ef), cases[i].ret);
		if (cases[i].ret == 0) {
			assert_int_equal(ef.state_mask, cases[i].states);
			assert_int_equal(ef.connection_mask, cases[i].conns);
		}
	}
	/* every status's bit selects the rows with that status, and only them */
	for (int i = 0; i < CONNECTION_STATUS_COUNT; i++) {
		char sql[160];

		testdb_upsert(f->st, connection_statuses[i], NULL);
		snprintf(sql, sizeof(sql),
			 "UPDATE customers SET connection_status = '%s' WHERE customer_id = '%s' "
			 "RETURNING 1",
			 connection_statuses[i], connection_statuses[i]);
		assert_query_int(f->path, sql, 1);
	}
	testdb_upsert(f->st, "none", NULL);
	for (int i = 0; i < CONNECTION_STATUS_COUNT; i++) {
		struct export_filter ef = {0, 1u << i, 0};
		char seen[64] = "";

		assert_int_equal(store_each_export(f->st, &ef, add_status, seen), 0);
		assert_string_equal(seen, connection_statuses[i]);
	}
}

static void test_store_report__state_mask_parse(void **state)
{
	unsigned mask;

	(void)state;
	assert_int_equal(state_mask_parse("failed", &mask), 0);
	assert_int_equal(mask, STATE_MASK(STATE_FAILED));
	assert_int_equal(state_mask_parse("created, exists", &mask), 0);
	assert_int_equal(mask, STATE_MASK(STATE_CREATED) | STATE_MASK(STATE_EXISTS));
	assert_int_equal(state_mask_parse("failed,bogus", &mask), -1);
	assert_int_equal(state_mask_parse("", &mask), -1);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_store_report__state_mask_parse),
	       WITH_DB(test_store_report__funnel), WITH_DB(test_store_report__export_state_parse))
