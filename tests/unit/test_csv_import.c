/*
 * test_csv_import.c: the CSV import of a whole file into a real SQLite
 * file in a temp directory: imported again, refused, read in pieces, its
 * size and hash, its batches, a report's footer, a preamble
 * (test_csv_import_cells.c: what each record becomes).
 */
#include "unit.h"

#include "store/store_import.h"
#include "testcsv.h"

/* Re-importing changes nothing; a changed row goes back to pending, keeping its history. */
static void test_csv_import__reimport_unchanged_and_updated(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(import_bytes(f, IN(H "a,A,company\nb,B,company\n"), NULL), 0);
	assert_int_equal(f->stats.accepted, 2);
	assert_int_equal(import_bytes(f, IN(H "a,A,company\nb,B,company\n"), NULL), 0);
	assert_int_equal(f->stats.accepted, 0);
	assert_int_equal(f->stats.unchanged, 2);
	assert_int_equal(f->stats.updated, 0);
	assert_int_equal(import_bytes(f, IN(H "a,A,company\nb,B Renamed,company\n"), NULL), 0);
	assert_int_equal(f->stats.unchanged, 1);
	assert_int_equal(f->stats.updated, 1);
	assert_query_int(f->db, "SELECT count(*) FROM customers", 2);
	assert_query_int(f->db, "SELECT count(*) FROM imports", 3);
}

/* A fatal error after good rows rolls every one of them back. */
static void test_csv_import__refused_file_imports_nothing(void **state)
{
	struct fixture *f = *state;
	struct strbuf in = STRBUF_INIT;

	/* the NUL sits in the second 64 KiB read, far from the first rows */
	strbuf_addstr(&in, H);
	for (int i = 0; i < 3000; i++)
		strbuf_addf(&in, "id-%05d,Employer number %d with a long name,company\n", i, i);
	strbuf_add(&in, "x,\0,company\n", 12);
	assert_true(in.len > 65536 * 2);
	assert_int_equal(import_bytes(f, in.buf, in.len, NULL), -1);
	assert_string_equal(f->err.buf, FATAL(":3002: contains a NUL byte"));
	assert_query_int(f->db, "SELECT count(*) FROM customers", 0);
	assert_query_int(f->db, "SELECT count(*) FROM imports", 0);
	/* and the store is usable afterwards */
	assert_int_equal(import_bytes(f, IN(H "a,A,company\n"), NULL), 0);
	assert_query_int(f->db, "SELECT count(*) FROM customers", 1);
	strbuf_release(&in);
}

/* The record's first line is reported even when the record spans a 64 KiB read. */
static void test_csv_import__line_numbers_across_reads(void **state)
{
	struct fixture *f = *state;
	struct strbuf in = STRBUF_INIT, rows = STRBUF_INIT;

	strbuf_addstr(&in, H);
	for (int i = 0; i < 2000; i++)
		strbuf_addf(&in, "id-%05d,\"Employer %d\nBuilding B\",company\n", i, i);
	strbuf_addstr(&in, "bad,\"Bad\nEmployer\",bogus\n");
	assert_true(in.len > 65536);
	assert_int_equal(import_bytes(f, in.buf, in.len, NULL), 0);
	assert_int_equal(f->stats.accepted, 2000);
	dump(f, &rows);
	assert_contains(rows.buf, "bad|Bad\nEmployer|invalid|in.csv:4002: products: "
				  "unknown product 'bogus'\n");
	strbuf_release(&in);
	strbuf_release(&rows);
}

/* The import records the file's size and SHA-256. */
static void test_csv_import__records_size_and_sha256(void **state)
{
	struct fixture *f = *state;
	sqlite3 *db;
	sqlite3_stmt *s;

	assert_int_equal(import_bytes(f, IN(H "a,A,company\n"), NULL), 0);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT size, sha256, rows_read FROM imports", -1, &s, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(s, 0), sizeof(H "a,A,company\n") - 1);
	/* printf 'customer_id,customer_name,products\na,A,company\n' | sha256sum */
	assert_string_equal((const char *)sqlite3_column_text(s, 1),
			    "2bf842de32ce5e09f71e1a4ed69f13682e8bfb81c34646b48a2112ae0b831956");
	assert_int_equal(sqlite3_column_int64(s, 2), 1);
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* A changed row goes back to pending but keeps the session a run created for it. */
static void test_csv_import__changed_row_keeps_its_session(void **state)
{
	struct fixture *f = *state;
	struct strbuf rows = STRBUF_INIT;
	char *err = NULL;
	sqlite3 *db;

	assert_int_equal(import_bytes(f, IN(H "a,A,company\nb,B,company\n"), NULL), 0);
	/* what a run leaves: a created session with one attempt */
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	if (sqlite3_exec(db,
			 "UPDATE customers SET state = 'in_flight' WHERE customer_id = 'a';"
			 "UPDATE customers SET state = 'created', session_id = 'sess-1', "
			 "connect_url = 'https://connect.example/1', attempts = 1, "
			 "attempt_total = 1 WHERE customer_id = 'a';",
			 NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s", err);
	sqlite3_close(db);

	/* a row with a link keeps it, marked changed (reconcile_line()); b has none */
	assert_int_equal(import_bytes(f, IN(H "a,A Renamed,company\nb,B Renamed,company\n"), NULL),
			 0);
	assert_int_equal(f->stats.changed, 1);
	assert_int_equal(f->stats.updated, 1);
	assert_int_equal(f->stats.unchanged, 0);
	assert_int_equal(f->stats.accepted, 0);
	dump(f, &rows);
	assert_string_equal(rows.buf, "a|A Renamed|created|\nb|B Renamed|pending|\n");
	assert_query_int(f->db,
			 "SELECT count(*) FROM customers WHERE customer_id = 'a' AND "
			 "session_id = 'sess-1' AND "
			 "connect_url = 'https://connect.example/1' AND "
			 "attempt_total = 1 AND attempts = 1 AND changed_fields = 1",
			 1);
	strbuf_release(&rows);
}

/* A CRLF cut in two by the 64 KiB reads is still one line end, wherever the cut falls. */
static void test_csv_import__crlf_split_across_reads(void **state)
{
	struct fixture *f = *state;
	struct strbuf in = STRBUF_INIT, rows = STRBUF_INIT;

	for (size_t shift = 0; shift < 3; shift++) {
		strbuf_reset(&in);
		strbuf_addstr(&in, "customer_id,customer_name,products\r\n");
		/* rows of 63 bytes: "id-NNNN,Name...,company\r\n" */
		for (int i = 0; in.len < 65536 - 64; i++)
			strbuf_addf(&in, "id-%04d,%-45s,company\r\n", i, "Name");
		/* the last row before the cut ends so that its \r is byte 65535 - shift */
		strbuf_addf(&in, "cut-1,%-*s,company\r\n", (int)(65535 - shift - in.len - 14), "N");
		strbuf_addstr(&in, "cut-2,N,company\r\nbad,B,bogus\r\n");
		assert_int_equal(strstr(in.buf, "cut-2") - in.buf - 2, 65535 - shift);
		assert_int_equal(import_bytes(f, in.buf, in.len, NULL), 0);
		assert_int_equal(f->stats.invalid, 1);
		dump(f, &rows);
		strbuf_reset(&in);
		assert_query_int(f->db,
				 "SELECT count(*) FROM customers WHERE error LIKE "
				 "'in.csv:' || (SELECT source_line + 1 FROM customers "
				 "WHERE customer_id = 'cut-2') || ': products:%'",
				 1);
		assert_query_int(f->db,
				 "SELECT max(source_line) - min(source_line) + 1 = "
				 "count(*) FROM customers",
				 1);
	}
	strbuf_release(&in);
	strbuf_release(&rows);
}

/*
 * Valid rows are stored a batch at a time, invalid ones at once: across
 * batch boundaries, a broken row whose customer an earlier (still queued)
 * line had must not take that customer over, and duplicates name the line
 * that came first.
 */
static void test_csv_import__batches_keep_file_order(void **state)
{
	struct fixture *f = *state;
	struct strbuf in = STRBUF_INIT;
	const int rows = 3 * STORE_UPSERT_BATCH + 7;

	strbuf_addstr(&in, H);
	for (int i = 1; i <= rows; i++) {
		if (i == 100)
			strbuf_addstr(&in, "r3,Again,company\n"); /* line 101 */
		else if (i == 120)
			strbuf_addstr(&in, "r110,Broken,bogus\n"); /* line 121 */
		else
			strbuf_addf(&in, "r%d,R %d,company\n", i, i);
	}
	assert_int_equal(import_bytes(f, in.buf, in.len, NULL), 0);
	assert_int_equal(f->stats.rows_read, rows);
	assert_int_equal(f->stats.accepted, rows - 2);
	assert_int_equal(f->stats.invalid, 2);
	assert_query_int(f->db,
			 "SELECT count(*) FROM customers WHERE keyless = 0 AND "
			 "state = 'pending'",
			 rows - 2);
	assert_query_int(f->db,
			 "SELECT count(*) FROM customers WHERE keyless = 1 AND "
			 "((customer_id = 'r3' AND error = "
			 "'in.csv:101: customer_id: duplicate of line 4') OR "
			 "(customer_id = 'r110' AND error LIKE 'in.csv:121: products: %'))",
			 2);
	assert_query_int(f->db,
			 "SELECT count(*) FROM customers WHERE customer_id = 'r110' "
			 "AND keyless = 0 AND customer_name = 'R 110'",
			 1);

	/* again, unchanged: every row is settled one by one, nothing changes */
	assert_int_equal(import_bytes(f, in.buf, in.len, NULL), 0);
	assert_int_equal(f->stats.unchanged, rows - 2);
	assert_int_equal(f->stats.invalid, 2);
	assert_int_equal(f->stats.accepted + f->stats.updated, 0);
	strbuf_release(&in);
}

/* A report's footer: the trailing block of records not of the header's shape. */
static void test_csv_import__footer(void **state)
{
	static const struct {
		const char *name, *in;
		int64_t read, invalid, footer, blank;
		const char *rows;
	} t[] = {
	    {"salesforce's footer, a blank record inside",
	     "\"name\",\"customer_id\",\"products\"\r\n\"A\",\"a\",\"company\"\r\n"
	     "\"Grand Totals (1 records)\"\r\n\"\"\r\n\"Confidential Information - Do Not "
	     "Distribute\"\r\n\"Copyright (c) 2000-2026 salesforce.com, inc.\"\r\n"
	     "\"Generated By: X\"\r\n\"Acme\"\r\n",
	     1, 0, 6, 0, "a|A|pending|\n"},
	    {"a short record in the middle is a row, with the shape as its reason",
	     "name,customer_id,products\nA,a,company\nshort\nB,b,company\nfooter\n", 3, 1, 1, 0,
	     "a|A|pending|\n|short|invalid|in.csv:3: row: 1 cell, but the header has 3\n"
	     "b|B|pending|\n"},
	    {"a trailing block of several cells, wider too, after a blank record, is a footer",
	     "name,customer_id,products\nA,a,company\n,,\nTotal,1\n,,,Generated By,X\n", 1, 0, 2, 1,
	     "a|A|pending|\n"},
	    {"a short row of several cells in the middle is a row",
	     "name,customer_id,products\nA,a,company\nB,b\nC,c,company\n", 3, 1, 0, 0,
	     "a|A|pending|\nb|B|invalid|in.csv:3: row: 2 cells, but the header has 3\n"
	     "c|C|pending|\n"},
	    {"a short row after the last row of the header's shape is a row, not a footer",
	     "name,customer_id,products\nA,a,company\nB,b\n", 2, 1, 0, 0,
	     "a|A|pending|\nb|B|invalid|in.csv:3: row: 2 cells, but the header has 3\n"},
	    {"and so are two short rows at the end",
	     "name,customer_id,products\nA,a,company\nB,b\nC,c\n", 3, 2, 0, 0,
	     "a|A|pending|\nb|B|invalid|in.csv:3: row: 2 cells, but the header has 3\n"
	     "c|C|invalid|in.csv:4: row: 2 cells, but the header has 3\n"},
	    {"and a last row with an unquoted comma",
	     "name,customer_id,products\nA,a,company\nBeta, Inc.,b,company\n", 2, 1, 0, 0,
	     "a|A|pending|\nInc.|Beta|invalid|in.csv:3: row: 4 cells, but the header has 3\n"},
	    {"but a text line after them, past a blank record, is a footer",
	     "name,customer_id,products\nA,a,company\nB,b\n,,\nTotal,1\n", 2, 1, 1, 1,
	     "a|A|pending|\nb|B|invalid|in.csv:3: row: 2 cells, but the header has 3\n"},
	    {"but not when the file ends inside it: a truncated export",
	     "name,customer_id,products\nA,a,company\nB,b", 2, 1, 0, 0,
	     "a|A|pending|\nb|B|invalid|in.csv:3: row: 2 cells, but the header has 3, and the "
	     "file ends inside it (cut short?)\n"},
	    {"a footer whose last line has no line break is still a footer",
	     "name,customer_id,products\nA,a,company\nTotal\nGenerated By: X", 1, 0, 2, 0,
	     "a|A|pending|\n"},
	    {"more short records than a footer holds are rows", NULL, 1 + CSV_FOOTER_MAX + 1,
	     CSV_FOOTER_MAX + 1, 0, 0, NULL},
	    {"and so is the rest of that block, but a footer after the next row", NULL,
	     1 + CSV_FOOTER_MAX + 3, CSV_FOOTER_MAX + 2, 1, 0, NULL},
	};
	struct fixture *f = *state;
	struct strbuf rows = STRBUF_INIT, many = STRBUF_INIT, more = STRBUF_INIT;
	struct import_options o = {.max_reasons = 0, .defaults = {0}};

	/* one short record more than a footer holds; then a row, another and a footer */
	strbuf_addstr(&many, "name,customer_id,products\nA,a,company\n");
	for (int i = 0; i <= CSV_FOOTER_MAX; i++)
		strbuf_addf(&many, "line %d\n", i);
	strbuf_addf(&more, "%sline\nB,b,company\nfooter\n", many.buf);
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		const char *in = t[i].in ? t[i].in : i + 1 < ARRAY_SIZE(t) ? many.buf : more.buf;

		fresh_db(f);
		assert_int_equal(csv_columns_add_map(&o.columns, "customer_name=name"), 0);
		if (import_bytes(f, in, strlen(in), &o) != 0 || f->stats.rows_read != t[i].read ||
		    f->stats.invalid != t[i].invalid || f->stats.footer != t[i].footer ||
		    f->stats.blank != t[i].blank)
			fail_msg("%s: read %lld invalid %lld footer %lld blank %lld\n%s", t[i].name,
				 (long long)f->stats.rows_read, (long long)f->stats.invalid,
				 (long long)f->stats.footer, (long long)f->stats.blank, f->err.buf);
		dump(f, &rows);
		if (t[i].rows && strcmp(rows.buf, t[i].rows))
			fail_msg("%s: rows\n%s", t[i].name, rows.buf);
		import_options_release(&o);
	}
	strbuf_release(&rows);
	strbuf_release(&many);
	strbuf_release(&more);
}

/* --skip-lines: a preamble above the header, its lines counted in every reason. */
static void test_csv_import__skip_lines(void **state)
{
	static const char in[] =
	    "Report: Accounts\r\nAs of 2026-12-06\r\n" H "a,A,company\r\nb,B,bogus\r\n";
	struct fixture *f = *state;
	struct strbuf rows = STRBUF_INIT;
	struct import_options o = {.max_reasons = 0, .skip_lines = 2};

	assert_int_equal(import_bytes(f, in, sizeof(in) - 1, &o), 0);
	dump(f, &rows);
	assert_string_equal(rows.buf,
			    "a|A|pending|\nb|B|invalid|in.csv:5: products: unknown product "
			    "'bogus'\n");
	strbuf_release(&rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    WITH_CSV(test_csv_import__footer),
	    WITH_CSV(test_csv_import__skip_lines),
	    WITH_CSV(test_csv_import__reimport_unchanged_and_updated),
	    WITH_CSV(test_csv_import__refused_file_imports_nothing),
	    WITH_CSV(test_csv_import__line_numbers_across_reads),
	    WITH_CSV(test_csv_import__crlf_split_across_reads),
	    WITH_CSV(test_csv_import__batches_keep_file_order),
	    WITH_CSV(test_csv_import__records_size_and_sha256),
	    WITH_CSV(test_csv_import__changed_row_keeps_its_session),
	};

	util_set_progname("finch-onboard");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
