/*
 * testcsv.h: the fixture of the CSV import's unit tests: a store in a fresh
 * folder that is the working directory (a reason names the file as given:
 * "in.csv"), a file imported from bytes with its messages caught, and the
 * rows it left.
 */
#ifndef FINCH_TESTCSV_H
#define FINCH_TESTCSV_H

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "csv/csv_import.h"
#include "store/store.h"
#include "testdb.h"

#define H     "customer_id,customer_name,products\n"
#define W1252 " " CSV_NOT_UTF8_WHY

struct fixture {
	char dir[64];
	char db[96];
	struct store *st;
	struct strbuf err; /* what the last import printed to stderr */
	struct import_stats stats;
};

static inline int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	testdb_dir(f->dir, f->db, "test_csv_import");
	/* reasons name the file as given: work in the directory for short, exact names */
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(store_open(f->db, &f->st), 0);
	strbuf_init(&f->err, 0);
	*state = f;
	return 0;
}

static inline int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	strbuf_release(&f->err);
	if (chdir("/") != 0 || testdb_remove(f->dir) < 0)
		return -1;
	free(f);
	return 0;
}

static inline void write_file(const char *path, const char *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Imports data[0..len) as "in.csv"; stderr lands in f->err. Returns csv_import_file()'s value. */
static inline int import_bytes(struct fixture *f, const char *data, size_t len,
			       const struct import_options *o)
{
	struct import_options quiet = {.max_reasons = 0};
	char buf[4096];
	int saved, fd, ret;
	ssize_t n;

	write_file("in.csv", data, len);
	fflush(stderr);
	saved = dup(2);
	fd = open("err.txt", O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	ret = csv_import_file(f->st, "in.csv", o ? o : &quiet, &f->stats);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	strbuf_reset(&f->err);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(&f->err, buf, (size_t)n);
	close(fd);
	return ret;
}

/* Every customers row as "id|name|state|error\n", in insertion order. */
static inline void dump(const struct fixture *f, struct strbuf *out)
{
	sqlite3 *db;
	sqlite3_stmt *s;

	strbuf_reset(out);
	assert_int_equal(sqlite3_open(f->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT customer_id, customer_name, state, "
					    "coalesce(error, '') FROM customers ORDER BY id",
					    -1, &s, NULL),
			 SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		strbuf_addf(out, "%s|%s|%s|%s\n", sqlite3_column_text(s, 0),
			    sqlite3_column_text(s, 1), sqlite3_column_text(s, 2),
			    sqlite3_column_text(s, 3));
	sqlite3_finalize(s);
	sqlite3_close(db);
}

/* Replaces the fixture's database by an empty one: a fresh start for a table's next case. */
static inline void fresh_db(struct fixture *f)
{
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(unlink(f->db), 0);
	unlink("t.db-wal");
	unlink("t.db-shm");
	assert_int_equal(store_open(f->db, &f->st), 0);
}

/* The bytes of a string literal, as import_bytes() takes them; a fatal error's message. */
#define IN(s)	    s, sizeof(s) - 1
#define FATAL(what) "finch-onboard: error: in.csv" what "; nothing was imported\n"

/* A test that gets a fresh database and working directory in the fixture. */
#define WITH_CSV(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

#endif
