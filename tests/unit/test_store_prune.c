/*
 * test_store_prune.c: retention's keep rule (store_prune()), as tables: a
 * history of runs and attempts, each marked kept or deleted and why, pruned
 * at a cutoff, then read back through SQLite itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "store/store.h"
#include "store/store_prune.h"
#include "store/store_report.h"
#define TESTDB_NAME "test_store_prune"
#include "testdb.h"

#define DAY_MS	(24 * 3600 * 1000LL)
#define T0	1700000000000LL
#define AT(day) (T0 + (day)*DAY_MS)
#define CUTOFF	AT(10)

struct customer_case {
	const char *customer_id;
	const char *state;
	const char *session_id; /* what the row shows; NULL: none */
	const char *connection_id;
	int unconfirmed; /* its 2xx answer could not be read (schema 013) */
};

struct run_case {
	int day;
	int exit_code;
	int kept;
	const char *why;
};

struct attempt_case {
	int customer; /* 1-based index into the customers */
	int attempt_no;
	int day;
	int run; /* 1-based index into the runs */
	int http_status;
	const char *session_id; /* the attempt's own */
	const char *connection_id;
	int kept;
	const char *why;
};

static void exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* "'text'", or "NULL", into buf (test data has no quotes). */
static const char *lit(const char *v, char *buf, size_t size)
{
	if (!v)
		return "NULL";
	snprintf(buf, size, "'%s'", v);
	return buf;
}

/* Writes the history through a second connection, as the runs of many nights would. */
static void load(const char *path, const struct customer_case *c, size_t nc,
		 const struct run_case *r, size_t nr, const struct attempt_case *a, size_t na)
{
	char sql[1024], b1[64], b2[64];
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec(db, "PRAGMA foreign_keys = ON; BEGIN");
	for (size_t i = 0; i < nc; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO customers(id, customer_id, customer_name, state, session_id, "
			 "connection_id, unconfirmed, created_at, updated_at) VALUES (%zu, '%s', "
			 "'N', '%s', %s, %s, %d, 0, 0)",
			 i + 1, c[i].customer_id, c[i].state, lit(c[i].session_id, b1, sizeof(b1)),
			 lit(c[i].connection_id, b2, sizeof(b2)), c[i].unconfirmed);
		exec(db, sql);
	}
	for (size_t i = 0; i < nr; i++) {
		snprintf(
		    sql, sizeof(sql),
		    "INSERT INTO runs(id, started_at, ended_at, exit_reason, exit_code, pauses, "
		    "outages) VALUES (%zu, %lld, %lld, 'done', %d, 1, 2)",
		    i + 1, (long long)AT(r[i].day), (long long)AT(r[i].day) + 60000,
		    r[i].exit_code);
		exec(db, sql);
	}
	for (size_t i = 0; i < na; i++) {
		snprintf(
		    sql, sizeof(sql),
		    "INSERT INTO attempts(id, customer, run_id, attempt_no, kind, started_at, "
		    "http_status, session_id, connection_id) VALUES (%zu, %d, %d, %d, 'create', "
		    "%lld, %d, %s, %s)",
		    i + 1, a[i].customer, a[i].run, a[i].attempt_no, (long long)AT(a[i].day),
		    a[i].http_status, lit(a[i].session_id, b1, sizeof(b1)),
		    lit(a[i].connection_id, b2, sizeof(b2)));
		exec(db, sql);
	}
	exec(db, "COMMIT");
	sqlite3_close(db);
}

/* Checks each attempt and run against its mark, naming the case that fails. */
static void check_kept(const char *path, const struct run_case *r, size_t nr,
		       const struct attempt_case *a, size_t na)
{
	char sql[128];

	for (size_t i = 0; i < na; i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM attempts WHERE id = %zu", i + 1);
		if (query_int(path, sql) != a[i].kept)
			fail_msg("attempt %zu (customer %d, #%d, day %d): %s, expected %s (%s)",
				 i + 1, a[i].customer, a[i].attempt_no, a[i].day,
				 a[i].kept ? "deleted" : "kept", a[i].kept ? "kept" : "deleted",
				 a[i].why);
	}
	for (size_t i = 0; i < nr; i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM runs WHERE id = %zu", i + 1);
		if (query_int(path, sql) != r[i].kept)
			fail_msg("run %zu (day %d): %s, expected %s (%s)", i + 1, r[i].day,
				 r[i].kept ? "deleted" : "kept", r[i].kept ? "kept" : "deleted",
				 r[i].why);
	}
	assert_query_int(path, "SELECT count(*) FROM pragma_foreign_key_check", 0);
}

/* Prunes at CUTOFF: the dry count first, then the delete; both as the marks say. */
static void prune_and_check(struct testdb *f, const struct run_case *r, size_t nr,
			    const struct attempt_case *a, size_t na)
{
	int64_t want_attempts = 0, want_runs = 0;
	struct store_metrics before, after;
	struct prune_stats dry, p;

	for (size_t i = 0; i < na; i++)
		want_attempts += !a[i].kept;
	for (size_t i = 0; i < nr; i++)
		want_runs += !r[i].kept;

	assert_int_equal(store_metrics(f->st, &before), 0);
	assert_int_equal(store_prune_count(f->st, CUTOFF, &dry), 0);
	assert_int_equal(store_prune(f->st, CUTOFF, &p), 0);
	assert_int_equal(dry.attempts, want_attempts);
	assert_int_equal(dry.runs, want_runs);
	assert_int_equal(p.attempts, want_attempts);
	assert_int_equal(p.runs, want_runs);
	check_kept(f->path, r, nr, a, na);

	/* the metrics' counters and the last success are what they were */
	assert_int_equal(store_metrics(f->st, &after), 0);
	assert_memory_equal(before.requests_by_class, after.requests_by_class,
			    sizeof(before.requests_by_class));
	assert_int_equal(before.requests_unanswered, after.requests_unanswered);
	assert_int_equal(before.throttled, after.throttled);
	assert_int_equal(before.runs, after.runs);
	assert_int_equal(before.pauses, after.pauses);
	assert_int_equal(before.outages, after.outages);
	assert_int_equal(before.last_success_ms, after.last_success_ms);

	/* a second prune finds nothing more */
	assert_int_equal(store_prune(f->st, CUTOFF, &p), 0);
	assert_int_equal(p.attempts, 0);
	assert_int_equal(p.runs, 0);
}

/* A history: its rows, its runs and their attempts, each marked kept or deleted. */
struct history {
	const struct customer_case *customers;
	size_t ncustomers;
	const struct run_case *runs;
	size_t nruns;
	const struct attempt_case *attempts;
	size_t nattempts;
};

#define HISTORY(c, r, a)                                                                           \
	{                                                                                          \
		c, ARRAY_SIZE(c), r, ARRAY_SIZE(r), a, ARRAY_SIZE(a)                               \
	}

/* Loads history h into the fixture's store, then prunes and checks it (prune_and_check()). */
static void prune_history(void **state, const struct history *h)
{
	struct testdb *f = *state;

	load(f->path, h->customers, h->ncustomers, h->runs, h->nruns, h->attempts, h->nattempts);
	prune_and_check(f, h->runs, h->nruns, h->attempts, h->nattempts);
}

static const struct customer_case customers[] = {
    {"created-row", "created", "s-new", NULL, 0},
    {"exists-row", "exists", NULL, "c-1", 0},
    {"failed-row", "failed", NULL, NULL, 0},
    {"inflight-row", "in_flight", NULL, NULL, 0},
    {"moved-row", "pending", NULL, NULL, 0},
    {"holder-row", "exists", NULL, "c-2", 0}, /* from a connections import: no attempt */
};

static const struct run_case runs[] = {
    {0, 1, 0, "old, no attempt at all"},
    {1, 0, 1, "the first link of a row"},
    {2, 1, 1, "an attempt with the row's connection_id"},
    {3, 8, 0, "old, every attempt deleted"},
    {5, 0, 1, "the last success (the metrics' timestamp)"},
    {7, 8, 1, "attempts with a shown session_id and a latest one"},
    {8, 8, 1, "attempts of a row in flight, and of a connection another row shows"},
    {9, 8, 1, "a row's latest attempt"},
    {11, 8, 1, "inside the window, and the newest"},
};

static const struct attempt_case attempts[] = {
    {1, 1, 1, 2, 201, "s-old1", NULL, 1, "the row's first link (the funnel's link_at)"},
    {2, 1, 1, 2, 503, NULL, NULL, 0, "an old failure, not the latest"},
    {2, 2, 2, 3, 400, NULL, "c-1", 1, "holds the connection the row shows"},
    {1, 2, 3, 4, 201, "s-old2", NULL, 0, "a session the row no longer shows"},
    {3, 1, 3, 4, 503, NULL, NULL, 0, "an old failure, not the latest"},
    {3, 2, 5, 5, 503, NULL, NULL, 0, "an old failure, not the latest"},
    {1, 3, 7, 6, 201, "s-new", NULL, 1, "holds the session the row shows"},
    {3, 3, 7, 6, 400, NULL, NULL, 1, "the row's latest attempt (its last error)"},
    {4, 1, 8, 7, 503, NULL, NULL, 1, "its row is in flight"},
    {5, 1, 8, 7, 400, NULL, "c-2", 1, "holds a connection another row shows"},
    {2, 3, 9, 8, 503, NULL, NULL, 1, "the row's latest attempt"},
    {1, 4, 11, 9, 503, NULL, NULL, 1, "inside the window"},
    {4, 2, 11, 9, 503, NULL, NULL, 1, "inside the window"},
    {5, 2, 11, 9, 429, NULL, NULL, 1, "inside the window"},
};

static void test_store_prune__keeps_what_rows_need(void **state)
{
	static const struct history h = HISTORY(customers, runs, attempts);

	prune_history(state, &h);
}

/* The newest run keeps its attempts and itself, however old: status shows it. */
static const struct customer_case quiet_customers[] = {
    {"quiet-row", "failed", NULL, NULL, 0},
};

static const struct run_case quiet_runs[] = {
    {1, 0, 1, "the last success, whose attempt is deleted"},
    {2, 8, 1, "the newest run, long ago"},
};

static const struct attempt_case quiet_attempts[] = {
    {1, 1, 1, 1, 503, NULL, NULL, 0, "an old failure, not the latest"},
    {1, 2, 2, 2, 503, NULL, NULL, 1, "of the newest run"},
    {1, 3, 2, 2, 503, NULL, NULL, 1, "the row's latest attempt"},
};

static void test_store_prune__newest_run_and_last_success_stay(void **state)
{
	static const struct history h = HISTORY(quiet_customers, quiet_runs, quiet_attempts);

	prune_history(state, &h);
}

/*
 * An unconfirmed answer (a 2xx without a session_id) stays while its row is
 * unconfirmed, and after a retry --unconfirmed cleared the flag, until a
 * later 2xx with a session_id confirmed it.
 */
static const struct customer_case unconfirmed_customers[] = {
    {"flagged-row", "failed", NULL, NULL, 1},
    {"retried-row", "failed", NULL, NULL, 0},
    {"confirmed-row", "created", "s-c", NULL, 0},
    {"plain-row", "failed", NULL, NULL, 0},
};

static const struct run_case unconfirmed_runs[] = {
    {1, 8, 1, "unconfirmed answers"},
    {2, 8, 1, "the latest attempts, the confirming session"},
    {3, 8, 0, "old, every attempt deleted"},
    {11, 0, 1, "inside the window, and the newest"},
};

static const struct attempt_case unconfirmed_attempts[] = {
    {1, 1, 1, 1, 201, NULL, NULL, 1, "its row is unconfirmed"},
    {1, 2, 2, 2, 503, NULL, NULL, 1, "the row's latest attempt"},
    {2, 1, 1, 1, 201, NULL, NULL, 1, "retried, but no later 2xx confirmed it"},
    {2, 2, 3, 3, 503, NULL, NULL, 0, "an old failure, not the latest"},
    {2, 3, 11, 4, 503, NULL, NULL, 1, "inside the window"},
    {3, 1, 1, 1, 201, "s-a", NULL, 1, "the row's first link (the funnel's link_at)"},
    {3, 2, 2, 2, 201, NULL, NULL, 0, "confirmed by a later 2xx with a session_id"},
    {3, 3, 2, 2, 201, "s-c", NULL, 1, "holds the session the row shows"},
    {4, 1, 1, 1, 503, NULL, NULL, 0, "an old failure, not the latest"},
    {4, 2, 2, 2, 400, NULL, NULL, 1, "the row's latest attempt"},
};

static void test_store_prune__unconfirmed_answer_stays(void **state)
{
	static const struct history h =
	    HISTORY(unconfirmed_customers, unconfirmed_runs, unconfirmed_attempts);

	prune_history(state, &h);
}

/* Loads the imports (started on days[i]) and webhook deliveries (received on hook_days[i]). */
static void load_imports(const char *path, const int *days, size_t n, const int *hook_days,
			 size_t nh, const char *customers_sql)
{
	char sql[512];
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec(db, "BEGIN");
	for (size_t i = 0; i < n; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO imports(id, path, size, sha256, started_at) VALUES (%zu, "
			 "'a.csv', 1, 'x', %lld)",
			 i + 1, (long long)AT(days[i]));
		exec(db, sql);
	}
	for (size_t i = 0; i < nh; i++) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO webhook_events(event_id, received_at, event_type) VALUES "
			 "('msg_%zu', %lld, 'account.updated')",
			 i + 1, (long long)AT(hook_days[i]));
		exec(db, sql);
	}
	exec(db, customers_sql);
	exec(db, "COMMIT");
	sqlite3_close(db);
}

/*
 * Imports: those before the cutoff go, but the latest and any a row names
 * (first_import, last_import). Webhook deliveries: those before the cutoff
 * go, but never one of the last STORE_WEBHOOK_KEEP_MS (7 days), whatever
 * the window.
 */
static void test_store_prune__imports_and_webhook_deliveries(void **state)
{
	/* import 1: a row's first; 2, 3: nobody's; 4: a row's last; 5: in the window, the latest */
	static const int import_days[] = {1, 2, 3, 4, 11};
	static const int hook_days[] = {1, 9, 11};
	struct testdb *f = *state;
	struct prune_stats dry, p;

	load_imports(
	    f->path, import_days, ARRAY_SIZE(import_days), hook_days, ARRAY_SIZE(hook_days),
	    "INSERT INTO customers(customer_id, customer_name, first_import, last_import, "
	    "created_at, updated_at) VALUES ('a', 'A', 1, 4, 0, 0), ('b', 'B', 4, 4, 0, 0)");
	/* today is day 12 (main()): the 7 days' floor, day 5, comes before the cutoff, day 10 */
	assert_int_equal(store_prune_count(f->st, CUTOFF, &dry), 0);
	assert_int_equal(store_prune(f->st, CUTOFF, &p), 0);
	assert_int_equal(dry.imports, 2);
	assert_int_equal(p.imports, 2);
	assert_int_equal(dry.webhook_events, 1);
	assert_int_equal(p.webhook_events, 1);
	assert_query_text(
	    f->path, "SELECT group_concat(id) FROM (SELECT id FROM imports ORDER BY id)", "1,4,5");
	assert_query_text(f->path,
			  "SELECT group_concat(event_id) FROM (SELECT event_id FROM webhook_events "
			  "ORDER BY received_at)",
			  "msg_2,msg_3");
	assert_int_equal(store_prune(f->st, CUTOFF, &p), 0);
	assert_int_equal(p.imports + p.webhook_events, 0);
}

/* An empty database prunes nothing, and the counters read zero. */
static void test_store_prune__empty_database(void **state)
{
	struct testdb *f = *state;
	struct store_metrics m;
	struct prune_stats p;

	assert_int_equal(store_prune(f->st, CUTOFF, &p), 0);
	assert_int_equal(p.attempts + p.runs, 0);
	assert_int_equal(store_metrics(f->st, &m), 0);
	assert_int_equal(m.runs + m.requests_unanswered + m.requests_by_class[1], 0);
}

int main(void)
{
	char now[32];

	/* the test clock (clock_now_ms()), read once: day 12 */
	snprintf(now, sizeof(now), "%lld", (long long)(AT(12) / 1000));
	setenv("FINCH_ONBOARD_NOW", now, 1);
	const struct CMUnitTest tests[] = {
	    WITH_DB(test_store_prune__keeps_what_rows_need),
	    WITH_DB(test_store_prune__newest_run_and_last_success_stay),
	    WITH_DB(test_store_prune__unconfirmed_answer_stays),
	    WITH_DB(test_store_prune__imports_and_webhook_deliveries),
	    WITH_DB(test_store_prune__empty_database),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
