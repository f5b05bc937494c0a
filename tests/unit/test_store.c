/*
 * test_store.c: the store against a real SQLite file in a temp directory: opening,
 * migrations, an import's rows one at a time and in batches, the journal
 * modes of a bulk import.
 */
#include "unit.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TESTDB_NAME "test_store"
#include "store/store.h"
#include "store/store_import.h"
#include "store/store_report.h"
#include "testdb.h"

static void test_store__opens_with_current_schema(void **state)
{
	struct testdb *f = *state;

	assert_query_int(f->path, "PRAGMA user_version", store_schema_version());
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->path, &f->st), 0);
	assert_query_int(f->path, "PRAGMA journal_mode = WAL", 0);
}

/* ":memory:" is SQLite's in-memory database, not a file to create 0600 (fuzz_csv_import). */
static void test_store__memory_database_creates_no_file(void **state)
{
	struct testdb *f = *state;
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
	struct testdb *f = *state;
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
	assert_query_int(path, "PRAGMA user_version", 99);
	/* still in rollback-journal mode: opening did not switch it to WAL */
	assert_query_text(path, "PRAGMA journal_mode", "delete");
	assert_query_int(path, "SELECT count(*) FROM sqlite_master WHERE name='customers'", 0);
}

static void test_store__upsert_new_unchanged_updated(void **state)
{
	struct testdb *f = *state;
	int64_t import_id;
	struct import_stats stats = {0};

	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ab", 5, &import_id), 0);
	assert_int_equal(testdb_upsert(f->st, "c1", "a@b.co"), UPSERT_NEW);
	/* the same customer twice in one import: the later one changes nothing */
	assert_int_equal(testdb_upsert(f->st, "c1", "other@b.co"), UPSERT_DUPLICATE);
	assert_query_int(f->path, "SELECT count(*) FROM customers", 0); /* uncommitted */
	assert_int_equal(store_import_finish(f->st, import_id, &stats, 6), 0);
	assert_int_equal(store_commit(f->st), 0);

	/*
	 * a finished row whose fields change keeps its state and session, marked
	 * changed in them (reconcile_line()); with --resend-changed it goes back
	 * to pending, still keeping its session until a new one comes
	 */
	assert_query_int(f->path, "UPDATE customers SET state='in_flight' RETURNING 1", 1);
	assert_query_int(f->path,
			 "UPDATE customers SET state='created', "
			 "session_id='s1' RETURNING 1",
			 1);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ab", 7, &import_id), 0);
	assert_int_equal(testdb_upsert(f->st, "c1", "a@b.co"), UPSERT_UNCHANGED);
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ab", 8, &import_id), 0);
	assert_int_equal(testdb_upsert(f->st, "c1", "new@b.co"), UPSERT_CHANGED);
	assert_int_equal(store_commit(f->st), 0);

	assert_query_text(f->path,
			  "SELECT state || ',' || session_id || ',' || changed_fields || ',' || "
			  "customer_email FROM customers",
			  "created,s1,2,new@b.co");
	store_set_resend_changed(f->st, 1);
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ab", 9, &import_id), 0);
	assert_int_equal(testdb_upsert(f->st, "c1", "newer@b.co"), UPSERT_UPDATED);
	assert_int_equal(store_commit(f->st), 0);
	assert_query_text(
	    f->path,
	    "SELECT state || ',' || session_id || ',' || changed_fields || ',' || products "
	    "FROM customers",
	    "pending,s1,0,company directory");
}

/*
 * One employer, one id (schema/015): another Unicode spelling of an id is
 * the same customer, a duplicate within one import, and the spelling first
 * stored is the one kept (and sent).
 */
static void test_store__nfc_spellings_are_one_customer(void **state)
{
	static const char nfc[] = "m\xc3\xbcller-001", nfd[] = "mu\xcc\x88ller-001";
	struct testdb *f = *state;
	int64_t import_id;
	enum row_state st;

	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ab", 5, &import_id), 0);
	assert_int_equal(testdb_upsert(f->st, nfc, NULL), UPSERT_NEW);
	assert_int_equal(testdb_upsert(f->st, nfd, NULL), UPSERT_DUPLICATE);
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "cd", 6, &import_id), 0);
	assert_int_equal(testdb_upsert(f->st, nfd, NULL), UPSERT_UNCHANGED);
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ef", 7, &import_id), 0);
	assert_int_equal(testdb_upsert(f->st, nfd, "hr@m.example"), UPSERT_UPDATED);
	assert_query_int(f->path, "SELECT count(*) FROM customers", 1);
	assert_query_text(f->path, "SELECT hex(customer_id) FROM customers",
			  "6DC3BC6C6C65722D303031");
	/* an invalid line in the other spelling marks the stored row */
	assert_int_equal(store_mark_invalid(f->st, nfd, nfd, "M", "in.csv:3: customer_email: bad",
					    "in.csv", 3, 2000),
			 0);
	assert_query_int(f->path,
			 "SELECT count(*) FROM customers WHERE state='invalid' "
			 "AND customer_key = customer_id",
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
	struct testdb *f = *state;
	sqlite3 *db;

	store_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(
		db,
		"DROP INDEX customers_by_customer_key; "
		"ALTER TABLE customers DROP COLUMN customer_key; "
		/* and what the migrations after 015 add */
		"DROP TABLE identity; DROP TABLE journal_applied; DROP INDEX customers_withdrawn; "
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
	assert_query_text(
	    f->path,
	    "SELECT group_concat(id || ':' || (customer_key IS customer_id) || ':' || "
	    "hex(customer_key), ' ') FROM (SELECT * FROM customers ORDER BY id)",
	    "1:1:6D75CC886C6C6572 2:1:6DC3BC6C6C6572 3:0:C385 4:1:E284AB "
	    "5:1:706C61696E 6:0:");
}

static void test_store__invalid_rows(void **state)
{
	struct testdb *f = *state;

	int64_t import_id;

	assert_int_equal(store_import_start(f->st, "in.csv", 10, "ab", 5, &import_id), 0);
	assert_int_equal(testdb_upsert(f->st, "c1", NULL), UPSERT_NEW);
	assert_int_equal(store_mark_invalid(f->st, "c1", "c1", "Acme",
					    "in.csv:3: customer_email: bad", "in.csv", 3, 2000),
			 0);
	assert_int_equal(store_mark_invalid(f->st, NULL, "", "Nameless",
					    "in.csv:4: customer_id: is empty", "in.csv", 4, 2000),
			 0);
	assert_query_int(f->path, "SELECT count(*) FROM customers WHERE state='invalid'", 2);
	/* the keyed row kept its request fields */
	assert_query_int(f->path,
			 "SELECT count(*) FROM customers WHERE customer_id='c1' "
			 "AND products='company directory'",
			 1);
	assert_int_equal(store_forget_keyless(f->st, "other.csv"), 0);
	assert_query_int(f->path, "SELECT count(*) FROM customers", 2);
	assert_int_equal(store_forget_keyless(f->st, "in.csv"), 0);
	assert_query_int(f->path, "SELECT count(*) FROM customers", 1);
	/* fixed by the next import: back to pending, counted as updated */
	assert_int_equal(store_import_start(f->st, "in.csv", 10, "cd", 6, &import_id), 0);
	assert_int_equal(testdb_upsert(f->st, "c1", NULL), UPSERT_UPDATED);
	assert_query_int(f->path, "SELECT state='pending' AND error IS NULL FROM customers", 1);
}

static void test_store__illegal_transition_is_refused(void **state)
{
	struct testdb *f = *state;

	assert_int_equal(testdb_upsert(f->st, "c1", NULL), UPSERT_NEW);
	assert_query_int(f->path, "UPDATE customers SET state='created' RETURNING 1", -12345);
	assert_query_int(f->path, "SELECT state='pending' FROM customers", 1);
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
		testdb_request(&req[i], rows[i].id, rows[i].email);
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
	struct testdb *f = *state;
	struct batch_row first[STORE_UPSERT_BATCH], second[STORE_UPSERT_BATCH];
	char ids[STORE_UPSERT_BATCH][16];

	for (size_t i = 0; i < STORE_UPSERT_BATCH; i++) {
		snprintf(ids[i], sizeof(ids[i]), "c%zu", i);
		first[i] = (struct batch_row){ids[i], "a@b.co", UPSERT_NEW, 0};
	}
	import_batch(f->st, first, STORE_UPSERT_BATCH);
	assert_query_int(f->path,
			 "SELECT count(*) FROM customers "
			 "WHERE state = 'pending' AND keyless = 0",
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
	assert_query_int(f->path, "SELECT count(*) FROM customers", STORE_UPSERT_BATCH + 1);
	int64_t updated = 0;

	for (size_t i = 0; i < STORE_UPSERT_BATCH; i++)
		updated += second[i].res == UPSERT_UPDATED;
	assert_query_int(f->path,
			 "SELECT count(*) FROM customers "
			 "WHERE customer_email = 'new@b.co'",
			 updated);
}

/* A batch of fewer rows goes row by row, with the same results. */
static void test_store__short_batch(void **state)
{
	struct testdb *f = *state;
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
	struct testdb *f = *state;
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
	assert_int_equal(testdb_upsert(f->st, "a", NULL), UPSERT_NEW);
	assert_int_equal(store_commit(f->st), 0);
	journal_mode(f->path, mode);
	assert_string_equal(mode, "wal");
	assert_query_int(f->path, "SELECT count(*) FROM customers", 1);

	assert_int_equal(store_begin_bulk(f->st), 0);
	assert_int_equal(testdb_upsert(f->st, "b", NULL), UPSERT_NEW);
	store_rollback(f->st);
	journal_mode(f->path, mode);
	assert_string_equal(mode, "wal");
	assert_query_int(f->path, "SELECT count(*) FROM customers", 1);

	/* a reader's connection is open: the same transaction, in WAL */
	assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
	assert_int_equal(sqlite3_exec(other, "SELECT count(*) FROM customers", NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(store_begin_bulk(f->st), 0);
	journal_mode(f->path, mode);
	assert_string_equal(mode, "wal");
	assert_int_equal(testdb_upsert(f->st, "c", NULL), UPSERT_NEW);
	assert_int_equal(store_commit(f->st), 0);
	sqlite3_close(other);
	assert_query_int(f->path, "SELECT count(*) FROM customers", 2);
}

/*
 * Opening while another connection holds the file in a rollback journal
 * (what a status finds during a bulk import): the store works in the
 * rollback journal, and enters WAL at its next transaction.
 */
static void test_store__enters_wal_when_it_can(void **state)
{
	struct testdb *f = *state;
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
	assert_int_equal(testdb_upsert(st, "a", NULL), UPSERT_NEW);
	assert_int_equal(store_commit(st), 0);
	journal_mode(f->path, mode);
	assert_string_equal(mode, "wal");
	f->st = st;
}

/* An up-to-date database opens without a lock: a status while a run writes. */
static void test_store__opens_while_another_writes(void **state)
{
	struct testdb *f = *state;
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

UNIT_TEST_MAIN(WITH_DB(test_store__opens_with_current_schema),
	       WITH_DB(test_store__memory_database_creates_no_file),
	       WITH_DB(test_store__refuses_newer_schema_untouched),
	       WITH_DB(test_store__upsert_new_unchanged_updated), WITH_DB(test_store__invalid_rows),
	       WITH_DB(test_store__nfc_spellings_are_one_customer),
	       WITH_DB(test_store__migration_keys_colliding_ids),
	       WITH_DB(test_store__illegal_transition_is_refused),
	       WITH_DB(test_store__full_batch_settles_like_single_rows),
	       WITH_DB(test_store__short_batch), WITH_DB(test_store__opens_while_another_writes),
	       WITH_DB(test_store__bulk_transaction_journal),
	       WITH_DB(test_store__enters_wal_when_it_can))
