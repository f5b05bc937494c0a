/*
 * test_store.c: the store against a real SQLite file in a temp directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "store/store_import.h"
#include "store/store_outcome.h"
#include "store/store_queue.h"
#include "store/store_report.h"
#include "base/util.h"
#include "testdb.h"

struct fixture {
	char dir[64];
	char path[96];
	struct store *st;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	f->st = testdb_open(f->dir, f->path, "test_store");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	if (testdb_close(f->dir, f->st) < 0)
		return -1;
	free(f);
	return 0;
}

/* Runs one SQL query on a second connection and returns its first column as an integer. */
static void make_request(struct connect_request *r, const char *id, const char *email)
{
	connect_request_init(r);
	r->customer_id = xstrdup(id);
	r->customer_name = xstrdup("Acme Inc");
	r->customer_email = email ? xstrdup(email) : NULL;
	r->products = PRODUCT_COMPANY | PRODUCT_DIRECTORY;
}

/* Upserts as the next line of in.csv: within an import, a line is one record. */
static enum upsert_result upsert(struct store *st, const char *id, const char *email)
{
	static int64_t line = 1;
	struct connect_request r;
	enum upsert_result res;
	int64_t dup_line = 0;

	make_request(&r, id, email);
	assert_int_equal(store_upsert_customer(st, &r, "in.csv", ++line, 1000, &res, &dup_line), 0);
	connect_request_release(&r);
	return res;
}

static void test_store__opens_with_current_schema(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(query_int(f->path, "PRAGMA user_version"), store_schema_version());
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->path, &f->st), 0);
	assert_int_equal(query_int(f->path, "PRAGMA journal_mode = WAL"), 0);
}

/* ":memory:" is SQLite's in-memory database, not a file to create 0600 (fuzz_csv_import). */
static void test_store__memory_database_creates_no_file(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	char cwd[4096];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(store_open(":memory:", &st), 0);
	store_close(st);
	assert_int_equal(access(":memory:", F_OK), -1);
	assert_int_equal(chdir(cwd), 0);
}

static void test_store__refuses_newer_schema_untouched(void **state)
{
	struct fixture *f = *state;
	char path[128];
	sqlite3 *db;
	struct store *st = NULL;

	snprintf(path, sizeof(path), "%s/new.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(db, "CREATE TABLE x(a); PRAGMA user_version = 99;", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(path, &st), -1);
	assert_null(st);
	assert_int_equal(query_int(path, "PRAGMA user_version"), 99);
	/* still in rollback-journal mode: opening did not switch it to WAL */
	char mode[16];

	query_text(path, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "delete");
	assert_int_equal(
	    query_int(path, "SELECT count(*) FROM sqlite_master WHERE name='customers'"), 0);
}

static void test_store__upsert_new_unchanged_updated(void **state)
{
	struct fixture *f = *state;
	int64_t import_id;
	struct import_stats stats = {0};

	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ab", 5, &import_id), 0);
	assert_int_equal(upsert(f->st, "c1", "a@b.co"), UPSERT_NEW);
	/* the same customer twice in one import: the later one changes nothing */
	assert_int_equal(upsert(f->st, "c1", "other@b.co"), UPSERT_DUPLICATE);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers"), 0); /* uncommitted */
	assert_int_equal(store_import_finish(f->st, import_id, &stats, 6), 0);
	assert_int_equal(store_commit(f->st), 0);

	/*
	 * a finished row whose fields change keeps its state and session, marked
	 * changed in them (reconcile_line()); with --resend-changed it goes back
	 * to pending, still keeping its session until a new one comes
	 */
	assert_int_equal(query_int(f->path, "UPDATE customers SET state='in_flight' RETURNING 1"),
			 1);
	assert_int_equal(query_int(f->path, "UPDATE customers SET state='created', "
					    "session_id='s1' RETURNING 1"),
			 1);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ab", 7, &import_id), 0);
	assert_int_equal(upsert(f->st, "c1", "a@b.co"), UPSERT_UNCHANGED);
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ab", 8, &import_id), 0);
	assert_int_equal(upsert(f->st, "c1", "new@b.co"), UPSERT_CHANGED);
	assert_int_equal(store_commit(f->st), 0);
	char buf[64];

	query_text(f->path,
		   "SELECT state || ',' || session_id || ',' || changed_fields || ',' || "
		   "customer_email FROM customers",
		   buf, sizeof(buf));
	assert_string_equal(buf, "created,s1,2,new@b.co");
	store_set_resend_changed(f->st, 1);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ab", 9, &import_id), 0);
	assert_int_equal(upsert(f->st, "c1", "newer@b.co"), UPSERT_UPDATED);
	assert_int_equal(store_commit(f->st), 0);
	query_text(f->path,
		   "SELECT state || ',' || session_id || ',' || changed_fields || ',' || products "
		   "FROM customers",
		   buf, sizeof(buf));
	assert_string_equal(buf, "pending,s1,0,company directory");
}

/*
 * One employer, one id (schema/015): another Unicode spelling of an id is
 * the same customer, a duplicate within one import, and the spelling first
 * stored is the one kept (and sent).
 */
static void test_store__nfc_spellings_are_one_customer(void **state)
{
	static const char nfc[] = "m\xc3\xbcller-001", nfd[] = "mu\xcc\x88ller-001";
	struct fixture *f = *state;
	int64_t import_id;
	enum row_state st;
	char buf[64];

	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ab", 5, &import_id), 0);
	assert_int_equal(upsert(f->st, nfc, NULL), UPSERT_NEW);
	assert_int_equal(upsert(f->st, nfd, NULL), UPSERT_DUPLICATE);
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "cd", 6, &import_id), 0);
	assert_int_equal(upsert(f->st, nfd, NULL), UPSERT_UNCHANGED);
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ef", 7, &import_id), 0);
	assert_int_equal(upsert(f->st, nfd, "hr@m.example"), UPSERT_UPDATED);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers"), 1);
	query_text(f->path, "SELECT hex(customer_id) FROM customers", buf, sizeof(buf));
	assert_string_equal(buf, "6DC3BC6C6C65722D303031");
	/* an invalid line in the other spelling marks the stored row */
	assert_int_equal(store_mark_invalid(f->st, nfd, nfd, "M", "in.csv:3: customer_email: bad",
					    "in.csv", 3, 2000),
			 0);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers WHERE state='invalid' "
					    "AND customer_key = customer_id"),
			 1);
	/* lookups by id (retry --customer, connections import) take either spelling */
	assert_int_equal(store_customer_state(f->st, nfd, &st), 1);
	assert_int_equal(st, STATE_INVALID);
}

/*
 * A database from before schema/015 whose ids collide in NFC: the spelling
 * already in NFC (else the older row) takes the key, the other keeps its own.
 */
static void test_store__migration_keys_colliding_ids(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;
	char buf[256];

	store_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
		db,
		"DROP INDEX customers_by_customer_key; "
		"ALTER TABLE customers DROP COLUMN customer_key; "
		/* and what the migrations after 015 add */
		"DROP TABLE identity; DROP TABLE journal_applied; "
		"INSERT INTO customers(customer_id, customer_name, created_at, updated_at) "
		"VALUES ('mu\xcc\x88ller', 'old NFD', 1, 1), ('m\xc3\xbcller', 'NFC', 2, 2), "
		"('A\xcc\x8a', 'old NFD', 3, 3), ('\xe2\x84\xab', 'newer', 4, 4), "
		"('plain', 'ASCII', 5, 5); "
		"INSERT INTO customers(customer_id, keyless, customer_name, created_at, "
		"updated_at) VALUES ('mu\xcc\x88ller', 1, 'keyless', 6, 6); "
		"PRAGMA user_version = 14;",
		NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->path, &f->st), 0);
	query_text(f->path,
		   "SELECT group_concat(id || ':' || (customer_key IS customer_id) || ':' || "
		   "hex(customer_key), ' ') FROM (SELECT * FROM customers ORDER BY id)",
		   buf, sizeof(buf));
	assert_string_equal(buf, "1:1:6D75CC886C6C6572 2:1:6DC3BC6C6C6572 3:0:C385 4:1:E284AB "
				 "5:1:706C61696E 6:0:");
}

static void test_store__invalid_rows(void **state)
{
	struct fixture *f = *state;

	int64_t import_id;

	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ab", 5, &import_id), 0);
	assert_int_equal(upsert(f->st, "c1", NULL), UPSERT_NEW);
	assert_int_equal(store_mark_invalid(f->st, "c1", "c1", "Acme",
					    "in.csv:3: customer_email: bad", "in.csv", 3, 2000),
			 0);
	assert_int_equal(store_mark_invalid(f->st, NULL, "", "Nameless",
					    "in.csv:4: customer_id: is empty", "in.csv", 4, 2000),
			 0);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers WHERE state='invalid'"),
			 2);
	/* the keyed row kept its request fields */
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers WHERE customer_id='c1' "
					    "AND products='company directory'"),
			 1);
	assert_int_equal(store_forget_keyless(f->st, "other.csv"), 0);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers"), 2);
	assert_int_equal(store_forget_keyless(f->st, "in.csv"), 0);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers"), 1);
	/* fixed by the next import: back to pending, counted as updated */
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "cd", 6, &import_id), 0);
	assert_int_equal(upsert(f->st, "c1", NULL), UPSERT_UPDATED);
	assert_int_equal(
	    query_int(f->path, "SELECT state='pending' AND error IS NULL FROM customers"), 1);
}

static void test_store__illegal_transition_is_refused(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(upsert(f->st, "c1", NULL), UPSERT_NEW);
	assert_int_equal(query_int(f->path, "UPDATE customers SET state='created' RETURNING 1"),
			 -12345);
	assert_int_equal(query_int(f->path, "SELECT state='pending' FROM customers"), 1);
}

static struct attempt_record attempt(const struct store_job *job, long status, int64_t at)
{
	struct attempt_record a = {
	    .customer_row = job->id,
	    .attempt_no = job->attempt_total + 1,
	    .kind = job->kind,
	    .started_ms = at,
	    .elapsed_ms = 10,
	    .http_status = status,
	    .request_id = "req-1",
	};
	return a;
}

static void test_store__claim_record_and_count(void **state)
{
	struct fixture *f = *state;
	struct store_job jobs[8];
	size_t n;
	struct state_counts c;
	int64_t when, run;

	for (int i = 0; i < 4; i++) {
		char id[8];

		snprintf(id, sizeof(id), "c%d", i);
		upsert(f->st, id, NULL);
	}
	assert_int_equal(store_run_start(f->st, 100, &run), 0);
	assert_int_equal(store_claim_due(f->st, 100, 3, jobs, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(jobs[0].req.customer_id, "c0");
	assert_int_equal(jobs[0].req.products, PRODUCT_COMPANY | PRODUCT_DIRECTORY);
	assert_int_equal(
	    query_int(f->path, "SELECT count(*) FROM customers WHERE state='in_flight'"), 3);

	struct attempt_record a0 = attempt(&jobs[0], 201, 200);
	struct attempt_record a1 = attempt(&jobs[1], 503, 200);
	struct attempt_record a2 = attempt(&jobs[2], 400, 200);

	a0.run_id = a1.run_id = a2.run_id = run;
	a1.message = "HTTP 503";
	a2.finch_code = "connection_already_exists";
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_record_created(f->st, &a0, "s0", "https://x/s0", 9000), 0);
	assert_int_equal(store_record_retry(f->st, &a1, 5000), 0);
	assert_int_equal(store_record_exists(f->st, &a2, "conn-2"), 0);
	assert_int_equal(store_commit(f->st), 0);
	for (size_t i = 0; i < n; i++)
		store_job_release(&jobs[i]);

	assert_int_equal(store_next_retry_at(f->st, 4999, &when), 0);
	assert_int_equal(store_next_retry_at(f->st, 6000, &when), 1);
	assert_int_equal(when, 5000);
	/* before its time only the pending row is claimed; after it, the retry too */
	assert_int_equal(store_claim_due(f->st, 4000, 8, jobs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(jobs[0].req.customer_id, "c3");
	assert_int_equal(store_record_unsent(f->st, jobs[0].id, NULL), 0);
	store_job_release(&jobs[0]);
	assert_int_equal(store_claim_due(f->st, 5000, 8, jobs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(jobs[0].req.customer_id, "c1");
	assert_int_equal(jobs[0].attempts, 1);
	struct attempt_record a3 = attempt(&jobs[0], 400, 5000);

	a3.run_id = run;
	a3.message = "customer_email: bad";
	a3.finch_code = "invalid_request";
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_record_failed(f->st, &a3), 0);
	assert_int_equal(store_commit(f->st), 0);
	store_job_release(&jobs[0]);
	store_job_release(&jobs[1]);

	/* c3 is still in flight: a crash; recovery puts it back with an "outcome unknown" */
	int64_t recovered;

	assert_int_equal(store_recover_in_flight(f->st, 6000, &recovered), 0);
	assert_int_equal(recovered, 1);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM attempts WHERE "
					    "transport_error='outcome unknown'"),
			 1);
	assert_int_equal(store_count_states(f->st, 8000, &c), 0);
	assert_int_equal(c.total, 4);
	assert_int_equal(c.by_state[STATE_CREATED], 1);
	assert_int_equal(c.by_state[STATE_EXISTS], 1);
	assert_int_equal(c.by_state[STATE_FAILED], 1);
	assert_int_equal(c.by_state[STATE_PENDING], 1);
	assert_int_equal(c.retries, 1);
	assert_int_equal(c.expired, 0);
	assert_int_equal(c.expiring_soon, 1);
	assert_int_equal(store_count_states(f->st, 9001, &c), 0);
	assert_int_equal(c.expired, 1);

	struct run_record rr;

	assert_int_equal(store_run_finish(f->st, run, 7000, "done"), 0);
	assert_int_equal(store_last_run(f->st, &rr), 1);
	assert_int_equal(rr.attempts, 4);
	assert_true(rr.p50_ms == 10.0 && rr.p99_ms == 10.0);
	assert_string_equal(rr.exit_reason, "done");
}

static int count_row(const struct export_row *row, void *data)
{
	(void)row;
	++*(int *)data;
	return 0;
}

static void test_store__requeue_export_and_queues(void **state)
{
	struct fixture *f = *state;
	struct requeue_filter rf = {0};
	struct export_filter ef = {0};
	int64_t count;
	int rows = 0;

	upsert(f->st, "a", NULL);
	upsert(f->st, "b", NULL);
	upsert(f->st, "c", NULL);
	assert_int_equal(query_int(f->path, "UPDATE customers SET state='in_flight' RETURNING 1"),
			 1);
	assert_int_equal(
	    query_int(f->path, "UPDATE customers SET state='failed', http_status=400, "
			       "finch_code='invalid_request' WHERE customer_id='a' RETURNING 1"),
	    1);
	assert_int_equal(query_int(f->path, "UPDATE customers SET state='failed', http_status=503 "
					    "WHERE customer_id='b' RETURNING 1"),
			 1);
	assert_int_equal(query_int(f->path, "UPDATE customers SET state='created', expires_at=100, "
					    "connection_id=NULL WHERE customer_id='c' RETURNING 1"),
			 1);

	rf.finch_code = "invalid_request";
	assert_int_equal(store_requeue(f->st, &rf, 3000, &count), 0);
	assert_int_equal(count, 1);
	rf.finch_code = NULL;
	rf.http_status = 404;
	assert_int_equal(store_requeue(f->st, &rf, 50, &count), 0);
	assert_int_equal(count, 0);
	const char *only[] = {"b", "zzz"};

	rf.http_status = 0;
	rf.customers = only;
	rf.ncustomers = 2;
	assert_int_equal(store_requeue(f->st, &rf, 6000, &count), 0);
	assert_int_equal(count, 1);

	ef.state_mask = STATE_MASK(STATE_PENDING);
	assert_int_equal(store_each_export(f->st, &ef, count_row, &rows), 0);
	assert_int_equal(rows, 2);
	ef.state_mask = 0;
	ef.since_ms = 5000;
	rows = 0;
	assert_int_equal(store_each_export(f->st, &ef, count_row, &rows), 0);
	assert_int_equal(rows, 1);

	assert_int_equal(store_queue_expired(f->st, 99, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(store_queue_expired(f->st, 101, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_queue_reauth(f->st, 101, REAUTH_ALL, NULL, &count), 0);
	assert_int_equal(count, 0);
}

/*
 * --reauthenticate queues the connections whose status needs a new link;
 * =all every exists row with a connection; retry --customer one of them.
 */
static void test_store__reauth_targets_connections_that_need_it(void **state)
{
	static const struct {
		const char *id, *state, *conn, *status;
	} rows[] = {
	    {"healthy", "exists", "c-1", "connected"},
	    {"unknown", "exists", "c-2", NULL},
	    {"reauth", "exists", "c-3", "reauth"},
	    {"perms", "exists", "c-4", "error_permissions"},
	    {"gone", "exists", "c-5", "disconnected"},
	    {"noconn", "exists", NULL, "reauth"},
	    {"fresh", "pending", "c-7", "reauth"},
	};
	static const struct {
		enum reauth_scope scope;
		const char *customer, *want;
	} cases[] = {
	    {REAUTH_NEEDED, NULL, "perms,reauth"},
	    {REAUTH_ALL, NULL, "gone,healthy,perms,reauth,unknown"},
	    {REAUTH_ALL, "healthy", "healthy"},
	    {REAUTH_ALL, "fresh", ""},
	    {REAUTH_NEEDED, "healthy", ""},
	};
	struct fixture *f = *state;

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		char sql[256], got[128];
		int64_t count, want = 0;

		query_int(f->path, "DELETE FROM customers RETURNING 1");
		for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
			upsert(f->st, rows[i].id, NULL);
			snprintf(sql, sizeof(sql),
				 "UPDATE customers SET state = '%s', connection_id = %s%s%s, "
				 "connection_status = %s%s%s WHERE customer_id = '%s' RETURNING 1",
				 rows[i].state, rows[i].conn ? "'" : "",
				 rows[i].conn ? rows[i].conn : "NULL", rows[i].conn ? "'" : "",
				 rows[i].status ? "'" : "",
				 rows[i].status ? rows[i].status : "NULL",
				 rows[i].status ? "'" : "", rows[i].id);
			assert_int_equal(query_int(f->path, sql), 1);
		}
		assert_int_equal(
		    store_queue_reauth(f->st, 5000, cases[c].scope, cases[c].customer, &count), 0);
		query_text(f->path,
			   "SELECT coalesce(group_concat(customer_id, ','), '') FROM (SELECT "
			   "customer_id FROM customers WHERE request_kind = 'reauth' AND state = "
			   "'pending' ORDER BY customer_id)",
			   got, sizeof(got));
		if (strcmp(got, cases[c].want))
			fail_msg("case %zu: queued '%s', want '%s'", c, got, cases[c].want);
		for (const char *p = cases[c].want; *p; p++)
			want += p == cases[c].want || *p == ',';
		assert_int_equal(count, want);
	}
}

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
		assert_int_equal(query_int(path, sql), 1);
	snprintf(sql, sizeof(sql),
		 "UPDATE customers SET state = '%s', session_id = %s, connection_id = %s, "
		 "connection_status = %s, connected_at = %lld, expires_at = %lld "
		 "WHERE customer_id = '%s' RETURNING 1",
		 state, has_session ? "'s'" : "NULL", q[0], q[1],
		 connected_day < 0 ? -1LL : (long long)(connected_day * DAY),
		 (long long)(expires_day * DAY), id);
	assert_int_equal(query_int(path, sql), 1);
	if (connected_day < 0)
		assert_int_equal(query_int(path, "UPDATE customers SET connected_at = NULL "
						 "WHERE connected_at = -1 RETURNING 1"),
				 1);
	if (!kind)
		return;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO attempts(customer, attempt_no, kind, started_at, http_status) "
		 "SELECT id, 1, '%s', %lld, 201 FROM customers WHERE customer_id = '%s' "
		 "RETURNING 1",
		 kind, (long long)(link_day * DAY), id);
	assert_int_equal(query_int(path, sql), 1);
}

/*
 * The funnel: links made, and of them connected, expired and open; the
 * employers connected without a link; connection statuses; median ages.
 */
static void test_store__funnel(void **state)
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
	struct fixture *f = *state;
	struct funnel fu;

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		upsert(f->st, rows[i].id, NULL);
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
	upsert(f->st, "skew", NULL);
	funnel_row(f->path, "skew", "exists", 1, "c-s", "connected", 2, 1, 2, "create");
	assert_int_equal(query_int(f->path, "UPDATE customers SET connected_at = connected_at - "
					    "900 WHERE customer_id = 'skew' RETURNING 1"),
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
static void test_store__export_state_parse(void **state)
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
	struct fixture *f = *state;

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

		upsert(f->st, connection_statuses[i], NULL);
		snprintf(sql, sizeof(sql),
			 "UPDATE customers SET connection_status = '%s' WHERE customer_id = '%s' "
			 "RETURNING 1",
			 connection_statuses[i], connection_statuses[i]);
		assert_int_equal(query_int(f->path, sql), 1);
	}
	upsert(f->st, "none", NULL);
	for (int i = 0; i < CONNECTION_STATUS_COUNT; i++) {
		struct export_filter ef = {0, 1u << i, 0};
		char seen[64] = "";

		assert_int_equal(store_each_export(f->st, &ef, add_status, seen), 0);
		assert_string_equal(seen, connection_statuses[i]);
	}
}

static void test_store__state_mask_parse(void **state)
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

/* What a batch of rows is, and what storing it must report for each. */
struct batch_row {
	const char *id, *email;
	enum upsert_result res;
	int64_t dup_line;
};

/* Stores rows[0..n) as one store_upsert_customers() batch at lines 2.., checks every result. */
static void upsert_batch(struct store *st, const struct batch_row *rows, size_t n)
{
	struct connect_request req[STORE_UPSERT_BATCH];
	struct customer_upsert u[STORE_UPSERT_BATCH];

	for (size_t i = 0; i < n; i++) {
		make_request(&req[i], rows[i].id, rows[i].email);
		u[i] = (struct customer_upsert){.req = &req[i], .line = (int64_t)i + 2};
	}
	assert_int_equal(store_upsert_customers(st, u, n, "in.csv", 2000), 0);
	for (size_t i = 0; i < n; i++) {
		if (u[i].res != rows[i].res ||
		    (rows[i].res == UPSERT_DUPLICATE && u[i].dup_line != rows[i].dup_line))
			fail_msg("row %zu (%s): result %d (line %lld), want %d (line %lld)", i,
				 rows[i].id, u[i].res, (long long)u[i].dup_line, rows[i].res,
				 (long long)rows[i].dup_line);
		connect_request_release(&req[i]);
	}
}

static void import_batch(struct store *st, const struct batch_row *rows, size_t n)
{
	struct import_stats stats = {0};
	int64_t import_id;

	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_import_start(st, "in.csv", 1, "", 5, &import_id), 0);
	upsert_batch(st, rows, n);
	assert_int_equal(store_import_finish(st, import_id, &stats, 6), 0);
	assert_int_equal(store_commit(st), 0);
}

/*
 * A full batch is one INSERT; when some of its customers exist, each row is
 * settled as if stored alone: new, unchanged, updated, or a duplicate of
 * the line of this import that had the customer first.
 */
static void test_store__full_batch_settles_like_single_rows(void **state)
{
	struct fixture *f = *state;
	struct batch_row first[STORE_UPSERT_BATCH], second[STORE_UPSERT_BATCH];
	char ids[STORE_UPSERT_BATCH][16];

	for (size_t i = 0; i < STORE_UPSERT_BATCH; i++) {
		snprintf(ids[i], sizeof(ids[i]), "c%zu", i);
		first[i] = (struct batch_row){ids[i], "a@b.co", UPSERT_NEW, 0};
	}
	import_batch(f->st, first, STORE_UPSERT_BATCH);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers "
					    "WHERE state = 'pending' AND keyless = 0"),
			 STORE_UPSERT_BATCH);

	/* the next file: the same customers at other lines, some changed, some twice */
	for (size_t i = 0; i < STORE_UPSERT_BATCH; i++) {
		size_t k = STORE_UPSERT_BATCH - 1 - i; /* the file in reverse order */

		second[i] = (struct batch_row){ids[k], "a@b.co", UPSERT_UNCHANGED, 0};
		if (k % 3 == 1)
			second[i] = (struct batch_row){ids[k], "new@b.co", UPSERT_UPDATED, 0};
	}
	second[10] = (struct batch_row){"fresh", NULL, UPSERT_NEW, 0};
	second[20] = (struct batch_row){"fresh", "x@b.co", UPSERT_DUPLICATE, 12};
	/* a duplicate of an unchanged row names this file's line, not the last file's */
	second[30] = (struct batch_row){second[3].id, "a@b.co", UPSERT_DUPLICATE, 5};
	second[31] = (struct batch_row){second[4].id, "z@b.co", UPSERT_DUPLICATE, 6};
	import_batch(f->st, second, STORE_UPSERT_BATCH);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers"),
			 STORE_UPSERT_BATCH + 1);
	int64_t updated = 0;

	for (size_t i = 0; i < STORE_UPSERT_BATCH; i++)
		updated += second[i].res == UPSERT_UPDATED;
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers "
					    "WHERE customer_email = 'new@b.co'"),
			 updated);
}

/* A batch of fewer rows goes row by row, with the same results. */
static void test_store__short_batch(void **state)
{
	struct fixture *f = *state;
	const struct batch_row rows[] = {
	    {"x", "a@b.co", UPSERT_NEW, 0},
	    {"y", NULL, UPSERT_NEW, 0},
	    {"x", "other@b.co", UPSERT_DUPLICATE, 2},
	};
	const struct batch_row again[] = {
	    {"y", NULL, UPSERT_UNCHANGED, 0},
	    {"x", "c@b.co", UPSERT_UPDATED, 0},
	    {"y", "d@b.co", UPSERT_DUPLICATE, 2},
	};

	import_batch(f->st, rows, 3);
	import_batch(f->st, again, 3);
}

static void journal_mode(const char *path, char mode[16])
{
	query_text(path, "PRAGMA journal_mode", mode, 16);
}

/*
 * A bulk transaction runs in a rollback journal and puts WAL back when it
 * ends, committed or not; with another connection open it stays in WAL.
 */
static void test_store__bulk_transaction_journal(void **state)
{
	struct fixture *f = *state;
	sqlite3 *other;
	char mode[16];

	journal_mode(f->path, mode);
	assert_string_equal(mode, "wal");

	assert_int_equal(store_begin_bulk(f->st), 0);
	assert_int_equal(store_in_transaction(f->st), 1);
	/* EXCLUSIVE from the first statement: an outside reader is kept out, not served the old
	 * state */
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "SELECT count(*) FROM customers", NULL, NULL, NULL) &
			     0xff,
			 SQLITE_BUSY);
	sqlite3_close(other);
	assert_int_equal(upsert(f->st, "a", NULL), UPSERT_NEW);
	assert_int_equal(store_commit(f->st), 0);
	journal_mode(f->path, mode);
	assert_string_equal(mode, "wal");
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers"), 1);

	assert_int_equal(store_begin_bulk(f->st), 0);
	assert_int_equal(upsert(f->st, "b", NULL), UPSERT_NEW);
	store_rollback(f->st);
	journal_mode(f->path, mode);
	assert_string_equal(mode, "wal");
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers"), 1);

	/* a reader's connection is open: the same transaction, in WAL */
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "SELECT count(*) FROM customers", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(store_begin_bulk(f->st), 0);
	journal_mode(f->path, mode);
	assert_string_equal(mode, "wal");
	assert_int_equal(upsert(f->st, "c", NULL), UPSERT_NEW);
	assert_int_equal(store_commit(f->st), 0);
	sqlite3_close(other);
	assert_int_equal(query_int(f->path, "SELECT count(*) FROM customers"), 2);
}

/*
 * Opening while another connection holds the file in a rollback journal
 * (what a status finds during a bulk import): the store works in the
 * rollback journal, and enters WAL at its next transaction.
 */
static void test_store__enters_wal_when_it_can(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	sqlite3 *other;
	char mode[16];

	store_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(other, "PRAGMA journal_mode = DELETE; BEGIN IMMEDIATE;", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(store_open(f->path, &st), 0);
	journal_mode(f->path, mode);
	assert_string_equal(mode, "delete");
	assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);

	assert_int_equal(store_begin(st), 0);
	assert_int_equal(upsert(st, "a", NULL), UPSERT_NEW);
	assert_int_equal(store_commit(st), 0);
	journal_mode(f->path, mode);
	assert_string_equal(mode, "wal");
	f->st = st;
}

/* An up-to-date database opens without a lock: a status while a run writes. */
static void test_store__opens_while_another_writes(void **state)
{
	struct fixture *f = *state;
	struct store *st = NULL;
	sqlite3 *other;

	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(other, "BEGIN IMMEDIATE; DELETE FROM imports;", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(store_open(f->path, &st), 0);
	store_close(st);
	assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(other);
}

/* A test that gets a fresh database in the fixture. */
#define WITH_DB(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    WITH_DB(test_store__opens_with_current_schema),
	    WITH_DB(test_store__memory_database_creates_no_file),
	    WITH_DB(test_store__refuses_newer_schema_untouched),
	    WITH_DB(test_store__upsert_new_unchanged_updated),
	    WITH_DB(test_store__invalid_rows),
	    WITH_DB(test_store__nfc_spellings_are_one_customer),
	    WITH_DB(test_store__migration_keys_colliding_ids),
	    WITH_DB(test_store__illegal_transition_is_refused),
	    WITH_DB(test_store__claim_record_and_count),
	    WITH_DB(test_store__requeue_export_and_queues),
	    WITH_DB(test_store__reauth_targets_connections_that_need_it),
	    cmocka_unit_test(test_store__state_mask_parse),
	    WITH_DB(test_store__funnel),
	    WITH_DB(test_store__export_state_parse),
	    WITH_DB(test_store__full_batch_settles_like_single_rows),
	    WITH_DB(test_store__short_batch),
	    WITH_DB(test_store__opens_while_another_writes),
	    WITH_DB(test_store__bulk_transaction_journal),
	    WITH_DB(test_store__enters_wal_when_it_can),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
