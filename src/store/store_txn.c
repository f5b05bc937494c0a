/*
 * store_txn.c: the store's transactions: one writer's BEGIN IMMEDIATE,
 * COMMIT and ROLLBACK, the bulk import's rollback journal, the commits that
 * wait for a lock held by another process, and the snapshot; see store.h.
 * The statements are store_core_sql's (store_open.c).
 */
#include "store/store.h"

#include <sqlite3.h>

#include "base/util.h"
#include "store/store_int.h"

int store_begin(struct store *st)
{
	if (st->in_txn)
		return error("%s: transaction already open", st->path);
	if (st->wal_wanted && store_enter_wal(st) < 0)
		return -1;
	if (store_exec(st, S_BEGIN) < 0)
		return -1;
	st->in_txn = 1;
	return 0;
}

/*
 * The end of store_begin_bulk()'s transaction: foreign key checks and WAL
 * come back (a sync runs on the same connection after its import).
 */
static int end_bulk(struct store *st)
{
	int ret =
	    store_exec_script(st, "PRAGMA foreign_keys = ON", "cannot check foreign keys again");

	st->bulk = 0;
	return store_enter_wal(st) < 0 ? -1 : ret;
}

int store_begin_bulk(struct store *st)
{
	int r;

	if (st->in_txn)
		return error("%s: transaction already open", st->path);
	r = store_set_journal_mode(st, "PRAGMA journal_mode = DELETE", "delete");
	if (r < 0)
		return -1;
	if (r)
		st->wal_wanted = 0; /* WAL comes back when the transaction ends */
	/*
	 * In the rollback journal, BEGIN IMMEDIATE would let an outside reader
	 * (an sqlite3 shell) take a SHARED lock, read the state before the
	 * import, and hold the import's commit until it finishes reading (4.8 s
	 * instead of 1.4 s for 200,000 rows behind a 3 s read). EXCLUSIVE from
	 * the first statement keeps readers out: they wait for the commit (their
	 * busy timeout) or get SQLITE_BUSY, and never see the old state.
	 */
	if (r ? store_exec_script(st, "PRAGMA foreign_keys = OFF; BEGIN EXCLUSIVE",
				  "cannot start the import") < 0
	      : store_begin(st) < 0) {
		if (r)
			end_bulk(st);
		return -1;
	}
	st->in_txn = 1;
	st->bulk = r;
	return 0;
}

int store_commit(struct store *st)
{
	if (!st->in_txn)
		return error("%s: no transaction to commit", st->path);
	if (store_exec(st, S_COMMIT) < 0)
		return -1;
	st->in_txn = 0;
	if (st->bulk)
		return end_bulk(st);
	return 0;
}

void store_rollback(struct store *st)
{
	if (!st->in_txn)
		return;
	sqlite3_step(st->stmt[S_ROLLBACK]);
	sqlite3_reset(st->stmt[S_ROLLBACK]);
	st->in_txn = 0;
	if (st->bulk)
		end_bulk(st);
}

int store_in_transaction(const struct store *st)
{
	return st->in_txn;
}

const char *store_filename(struct store *st)
{
	const char *f = sqlite3_db_filename(st->db, "main");

	return f && *f ? f : st->path;
}

int store_last_error_busy(struct store *st)
{
	int rc = sqlite3_errcode(st->db) & 0xff;

	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

int store_try_begin(struct store *st, int64_t wait_ms)
{
	int rc;

	if (st->in_txn)
		return error("%s: transaction already open", st->path);
	if (st->wal_wanted && store_enter_wal(st) < 0)
		return -1;
	sqlite3_busy_timeout(st->db, wait_ms > 0 ? (int)wait_ms : 0);
	rc = sqlite3_step(st->stmt[S_BEGIN]);
	sqlite3_reset(st->stmt[S_BEGIN]);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	if (rc == SQLITE_DONE) {
		st->in_txn = 1;
		return 0;
	}
	if (store_last_error_busy(st))
		return 1;
	return store_db_error(st, "cannot start a transaction");
}

int store_try_commit(struct store *st)
{
	int rc;

	if (!st->in_txn)
		return error("%s: no transaction to commit", st->path);
	rc = sqlite3_step(st->stmt[S_COMMIT]);
	sqlite3_reset(st->stmt[S_COMMIT]);
	if (rc == SQLITE_DONE) {
		st->in_txn = 0;
		if (st->bulk)
			return end_bulk(st);
		return 0;
	}
	if ((rc & 0xff) == SQLITE_BUSY && sqlite3_get_autocommit(st->db) == 0)
		return 1;
	return store_db_error(st, "cannot commit");
}

int store_snapshot(struct store *st, const char *path)
{
	if (st->in_txn)
		return error("%s: cannot snapshot inside a transaction", st->path);
	bind_text(st->stmt[S_SNAPSHOT], 1, path);
	return store_exec(st, S_SNAPSHOT);
}
