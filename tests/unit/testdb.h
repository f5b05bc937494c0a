/*
 * testdb.h: what the unit tests of the store and of its users read back
 * from a database, through SQLite itself rather than through the store, so
 * that a test checks what was really written; the folder such a database
 * lives in; the fixture of a test that wants a fresh store (struct testdb,
 * WITH_DB()); and the customers such a test imports.
 */
#ifndef FINCH_TESTDB_H
#define FINCH_TESTDB_H

#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "finch/validate.h"
#include "store/store.h"
#include "store/store_import.h"

/*
 * A fresh folder "/tmp/NAME.XXXXXX" in dir[64], and in path[96] the name
 * of a database "t.db" in it.
 */
static inline void testdb_dir(char *dir, char *path, const char *name)
{
	snprintf(dir, 64, "/tmp/%s.XXXXXX", name);
	assert_non_null(mkdtemp(dir));
	snprintf(path, 96, "%s/t.db", dir);
}

/* Removes the folder dir and everything in it: 0, or -1. */
static inline int testdb_remove(const char *dir)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) != 0 ? -1 : 0;
}

/* Opens a store at a fresh "/tmp/NAME.XXXXXX/t.db": a fixture's setup. */
static inline struct store *testdb_open(char *dir, char *path, const char *name)
{
	struct store *st = NULL;

	testdb_dir(dir, path, name);
	assert_int_equal(store_open(path, &st), 0);
	return st;
}

/* Closes st and removes the folder dir: a fixture's teardown. 0, or -1. */
static inline int testdb_close(const char *dir, struct store *st)
{
	store_close(st);
	return testdb_remove(dir);
}

/* The first column of the first row of sql on the database at path, or -12345. */
static inline int64_t query_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t v = -12345;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/* The same as text into buf[0..size), "" when there is no row or it is NULL. */
static inline void query_text(const char *path, const char *sql, char *buf, size_t size)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	buf[0] = '\0';
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(buf, size, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/*
 * The SQL of fmt on the database at path, through a second connection: it
 * must give 1 as the first column of its first row (an UPDATE ... RETURNING
 * 1 that changed a row).
 */
static inline void testdb_exec(const char *path, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void testdb_exec(const char *path, const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	assert_in_range(n, 1, sizeof(sql) - 1);
	if (query_int(path, sql) != 1)
		fail_msg("'%s' did not give 1", sql);
}

/* Fails unless the first column of sql's first row is want (query_int()). */
static inline void assert_query_int(const char *path, const char *sql, int64_t want)
{
	int64_t got = query_int(path, sql);

	if (got != want)
		fail_msg("'%s' gave %lld, want %lld", sql, (long long)got, (long long)want);
}

/* Fails unless the first column of sql's first row is want ("": no row, or NULL). */
static inline void assert_query_text(const char *path, const char *sql, const char *want)
{
	char got[1024];

	query_text(path, sql, got, sizeof(got));
	if (strcmp(got, want))
		fail_msg("'%s' gave '%s', want '%s'", sql, got, want);
}

/* A fresh store, the state of a test that wants one (WITH_DB()). */
struct testdb {
	char dir[64];
	char path[96];
	struct store *st;
};

/* The prefix of the fixture's folder: a test program defines its name first. */
#ifndef TESTDB_NAME
#define TESTDB_NAME "testdb"
#endif

/* A fixture's setup: a struct testdb with a store at a fresh TESTDB_NAME folder. */
static inline int testdb_setup(void **state)
{
	struct testdb *f = xcalloc(1, sizeof(*f));

	f->st = testdb_open(f->dir, f->path, TESTDB_NAME);
	*state = f;
	return 0;
}

/* Its teardown: closes the store (NULL is fine) and removes the folder. */
static inline int testdb_teardown(void **state)
{
	struct testdb *f = *state;

	if (testdb_close(f->dir, f->st) < 0)
		return -1;
	free(f);
	return 0;
}

/* A test that gets a fresh database in the fixture. */
#define WITH_DB(test) cmocka_unit_test_setup_teardown(test, testdb_setup, testdb_teardown)

/* A valid request for customer id, "Acme Inc", company and directory, owned by r. */
static inline void testdb_request(struct connect_request *r, const char *id, const char *email)
{
	connect_request_init(r);
	r->customer_id = xstrdup(id);
	r->customer_name = xstrdup("Acme Inc");
	r->customer_email = email ? xstrdup(email) : NULL;
	r->products = PRODUCT_COMPANY | PRODUCT_DIRECTORY;
}

/*
 * Upserts testdb_request(id, email) as the next line of in.csv (within an
 * import, a line is one record) at time 1000, and returns what storing did.
 */
static inline enum upsert_result testdb_upsert(struct store *st, const char *id, const char *email)
{
	static int64_t line = 1;
	struct connect_request r;
	enum upsert_result res;
	int64_t dup_line = 0;

	testdb_request(&r, id, email);
	assert_int_equal(store_upsert_customer(st, &r, "in.csv", ++line, 1000, &res, &dup_line), 0);
	connect_request_release(&r);
	return res;
}

#endif
