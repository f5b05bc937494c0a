/*
 * test_export_file.c: the atomic file output of an export against a real
 * store in a temporary folder: its mode, its byte order mark, an old file
 * kept when writing fails, a folder that is not there.
 */
#include "unit.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "finch/validate.h"
#include "output/export.h"
#include "store/store.h"
#include "store/store_import.h"
#define TESTDB_NAME "test_export_file"
#include "testdb.h"

#define T_UPDATED 1795881600000LL
#define BOM	  "\xef\xbb\xbf"

static void add_customer(struct store *st, const char *id, const char *name)
{
	struct connect_request r;
	enum upsert_result res;
	int64_t dup_line = 0;

	connect_request_init(&r);
	r.customer_id = xstrdup(id);
	r.customer_name = xstrdup(name);
	r.products = PRODUCT_COMPANY | PRODUCT_DIRECTORY;
	assert_int_equal(store_upsert_customer(st, &r, "test.csv", 2, T_UPDATED, &res, &dup_line),
			 0);
	connect_request_release(&r);
}

static int setup_store(void **state)
{
	struct testdb *fx;
	struct import_stats stats = {0};
	int64_t import_id;
	int i;

	testdb_setup(state);
	fx = *state;
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(
	    store_import_start(fx->st, "test.csv", 0,
			       "0000000000000000000000000000000000000000000000000000000000000000",
			       T_UPDATED, &import_id),
	    0);
	add_customer(fx->st, "acme-1", "Acme, Inc.");
	add_customer(fx->st, "beta-2", "=Beta");
	for (i = 0; i < 200; i++) {
		char id[32];

		snprintf(id, sizeof(id), "bulk-%03d", i);
		add_customer(fx->st, id, "Bulk \"employer\" with a fairly long name");
	}
	assert_int_equal(store_import_finish(fx->st, import_id, &stats, T_UPDATED), 0);
	assert_int_equal(store_commit(fx->st), 0);
	return 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Names in dir other than the database's own files and the given name. */
static int stray_files(const char *dir, const char *keep)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strncmp(de->d_name, "t.db", 4) || !strcmp(de->d_name, keep))
			continue;
		n++;
	}
	closedir(d);
	return n;
}

static void test_export_file__atomic_0600(void **state)
{
	struct testdb *fx = *state;
	struct export_options o = {EXPORT_CSV,	    NULL, {0, 0, 0}, 0,
				   EXPORT_BOM_AUTO, NULL, NULL,	     {NULL, 0, 0, NULL}};
	char out[256];
	struct stat sb;
	int64_t rows = -1;
	char *text;
	mode_t old = umask(0);

	snprintf(out, sizeof(out), "%s/results.csv", fx->dir);
	o.out_path = out;
	assert_int_equal(export_to_path(fx->st, &o, &rows), 0);
	umask(old);
	assert_int_equal(rows, 202);
	assert_int_equal(stat(out, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	text = slurp(out);
	assert_contains(text, "\r\nacme-1,\"Acme, Inc.\",pending,");
	assert_contains(text, "\r\nbeta-2,'=Beta,pending,");
	free(text);
	assert_int_equal(stray_files(fx->dir, "results.csv"), 0);

	/* A state filter that matches nothing leaves just the header. */
	o.filter.state_mask = STATE_MASK(STATE_FAILED);
	assert_int_equal(export_to_path(fx->st, &o, &rows), 0);
	assert_int_equal(rows, 0);
	text = slurp(out);
	assert_string_equal(text, BOM "customer_id,customer_name,status,session_id,connect_url,"
				      "connection_id,expires_at,attempts,http_status,finch_code,"
				      "error,updated_at,next_attempt_at,retry_until,customer_email,"
				      "changed,withdrawn,connection_status,connected_at\r\n");
	free(text);
}

/*
 * A CSV file starts with a UTF-8 BOM unless --no-bom (Excel then reads it as
 * UTF-8); JSON Lines never does, and --bom with it is refused.
 */
static void test_export_file__bom(void **state)
{
	static const struct {
		enum export_format format;
		enum export_bom bom;
		int ret;
		int has_bom;
	} cases[] = {
	    {EXPORT_CSV, EXPORT_BOM_AUTO, 0, 1},    {EXPORT_CSV, EXPORT_BOM_ALWAYS, 0, 1},
	    {EXPORT_CSV, EXPORT_BOM_NEVER, 0, 0},   {EXPORT_JSONL, EXPORT_BOM_AUTO, 0, 0},
	    {EXPORT_JSONL, EXPORT_BOM_NEVER, 0, 0}, {EXPORT_JSONL, EXPORT_BOM_ALWAYS, -1, 0},
	};
	struct testdb *fx = *state;
	char out[256];

	snprintf(out, sizeof(out), "%s/bom.out", fx->dir);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct export_options o = {cases[i].format, out,  {0, 0, 0}, 0,
					   cases[i].bom,    NULL, NULL,	     {NULL, 0, 0, NULL}};
		char *text;

		unlink(out);
		if (export_to_path(fx->st, &o, NULL) != cases[i].ret)
			fail_msg("case %zu: export_to_path did not return %d", i, cases[i].ret);
		if (cases[i].ret) {
			assert_int_equal(access(out, F_OK), -1);
			continue;
		}
		text = slurp(out);
		if ((strncmp(text, BOM, 3) == 0) != cases[i].has_bom)
			fail_msg("case %zu: starts with '%.3s'", i, text);
		/* one BOM only, before the header or the first object */
		assert_lacks(text + 3, BOM);
		assert_true(text[cases[i].has_bom ? 3 : 0] == (cases[i].format ? '{' : 'c'));
		free(text);
	}
	unlink(out);
}

/* A write that fails half way leaves the old file as it was, and no temp file. */
static void test_export_file__error_keeps_old(void **state)
{
	struct testdb *fx = *state;
	struct export_options o = {EXPORT_JSONL,    NULL, {0, 0, 0}, 0,
				   EXPORT_BOM_AUTO, NULL, NULL,	     {NULL, 0, 0, NULL}};
	char out[256];
	struct rlimit old, small;
	void (*old_xfsz)(int);
	FILE *f;
	char *text;
	int ret;

	snprintf(out, sizeof(out), "%s/results.jsonl", fx->dir);
	f = fopen(out, "w");
	assert_non_null(f);
	fputs("previous export\n", f);
	fclose(f);

	/* The file size limit makes write() fail with EFBIG after 4 KiB. */
	old_xfsz = signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_cur = 4096;
	small.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	o.out_path = out;
	ret = export_to_path(fx->st, &o, NULL);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_xfsz);

	assert_int_equal(ret, -1);
	text = slurp(out);
	assert_string_equal(text, "previous export\n");
	free(text);
	assert_int_equal(stray_files(fx->dir, "results.jsonl"), 0);
}

static void test_export_file__bad_folder(void **state)
{
	struct testdb *fx = *state;
	struct export_options o = {EXPORT_CSV,	    NULL, {0, 0, 0}, 0,
				   EXPORT_BOM_AUTO, NULL, NULL,	     {NULL, 0, 0, NULL}};
	char out[256];

	snprintf(out, sizeof(out), "%s/no/such/folder/results.csv", fx->dir);
	o.out_path = out;
	assert_int_equal(export_to_path(fx->st, &o, NULL), -1);
	snprintf(out, sizeof(out), "%s/", fx->dir);
	assert_int_equal(export_to_path(fx->st, &o, NULL), -1);
	/* A folder as the target: the rename fails and the temp file goes. */
	o.out_path = fx->dir;
	assert_int_equal(export_to_path(fx->st, &o, NULL), -1);
	assert_int_equal(stray_files(fx->dir, ""), 0);
}

UNIT_TEST_MAIN(cmocka_unit_test_setup_teardown(test_export_file__atomic_0600, setup_store,
					       testdb_teardown),
	       cmocka_unit_test_setup_teardown(test_export_file__bom, setup_store, testdb_teardown),
	       cmocka_unit_test_setup_teardown(test_export_file__error_keeps_old, setup_store,
					       testdb_teardown),
	       cmocka_unit_test_setup_teardown(test_export_file__bad_folder, setup_store,
					       testdb_teardown))
