/*
 * store_copy.c: a copy of the database in memory, for import --check; see
 * store_open_copy() in store.h.
 */
#include "store/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/safepath.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "store/store_int.h"

/* 1 if path + suffix exists (one of SQLite's side files). */
static int side_file_exists(const char *path, const char *suffix)
{
	struct strbuf side = STRBUF_INIT;
	int ok;

	strbuf_addf(&side, "%s%s", path, suffix);
	ok = access(side.buf, F_OK) == 0;
	strbuf_release(&side);
	return ok;
}

int store_open_copy(const char *path, struct store **out)
{
	struct store *st;
	struct strbuf uri = STRBUF_INIT;
	sqlite3 *src = NULL;
	sqlite3_backup *b;
	int rc;

	if (store_refuse_uri(path) < 0)
		return -1;
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		struct safepath sp;

		/* the import would create it: refused as that would be, when its folder is not
		 * there */
		if (safepath_walk(&sp, path, "database") < 0)
			return -1;
		safepath_release(&sp);
		return store_open(":memory:", out);
	}
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	st = xcalloc(1, sizeof(*st));
	st->path = xstrdup(path);
	/*
	 * A read-only connection to a WAL database leaves a -wal and a -shm
	 * behind when there were none. With no side file, no one has it open
	 * and nothing is pending outside the file: it is read as an immutable
	 * file, which creates nothing. With them, they are there already.
	 */
	if (side_file_exists(path, "-wal") || side_file_exists(path, "-shm") ||
	    side_file_exists(path, "-journal"))
		strbuf_addstr(&uri, path);
	else
		store_immutable_uri(&uri, path);
	rc = sqlite3_open_v2(uri.buf, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(src, 5000);
		rc = sqlite3_open_v2(":memory:", &st->db,
				     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	}
	if (rc != SQLITE_OK)
		goto copy_fail;
	sqlite3_extended_result_codes(st->db, 1);
	b = sqlite3_backup_init(st->db, "main", src, "main");
	if (!b)
		goto copy_fail;
	rc = sqlite3_backup_step(b, -1);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE)
		goto copy_fail;
	sqlite3_close(src);
	strbuf_release(&uri);
	/* another program's database or a newer schema refused, an older one migrated */
	if (store_setup(st, NULL) < 0) {
		store_close(st);
		return -1;
	}
	*out = st;
	return 0;
copy_fail:
	error("cannot copy database '%s' into memory: %s", path,
	      src ? sqlite3_errmsg(src) : "out of memory");
	sqlite3_close(src);
	strbuf_release(&uri);
	store_close(st);
	return -1;
}
