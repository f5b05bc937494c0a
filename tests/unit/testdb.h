/*
 * testdb.h: what the unit tests of the store and of its users read back
 * from a database, through SQLite itself rather than through the store, so
 * that a test checks what was really written; and the folder such a
 * database lives in.
 */
#ifndef FINCH_TESTDB_H
#define FINCH_TESTDB_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "store/store.h"

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

#endif
