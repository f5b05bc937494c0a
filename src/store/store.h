/*
 * store.h: the durable state of a batch, in one SQLite database.
 *
 * Every SQL statement of the program lives in the store_*.c files beside
 * this header (and the migrations in schema/). Statements are prepared
 * once, when the store opens, and always bound, never formatted. The
 * database runs in WAL mode (but for store_begin_bulk()) with foreign keys
 * and a 5 s busy timeout. Times are milliseconds since the Unix epoch.
 *
 * Writers call store_begin()/store_commit() around batches; a function
 * documented as "commits" manages its own transaction and must be called
 * outside one. Every function returns 0 on success or -1 after reporting
 * the error with error(), unless its comment says otherwise.
 *
 * This header holds the handle, opening and closing, transactions and the
 * row states every user needs; one header per seam holds the rest, beside
 * the file whose SQL it is: store_import.h (an import's rows),
 * store_queue.h (what a run sends, re-queuing), store_outcome.h (runs,
 * attempts, outcomes), store_report.h (status, the funnel, metrics,
 * export), store_connections.h (webhooks, connections import) and
 * store_prune.h (retention).
 */
#ifndef FINCH_STORE_H
#define FINCH_STORE_H

#include <stdint.h>

/* The states of a row; the allowed transitions are in schema/001_init.sql. */
enum row_state {
	STATE_PENDING,
	STATE_IN_FLIGHT,
	STATE_RETRY_WAIT,
	STATE_CREATED,
	STATE_EXISTS,
	STATE_FAILED,
	STATE_INVALID,
	STATE_COUNT
};
#define STATE_MASK(s) (1u << (s))

/* "pending", "in_flight", ...; the names stored in the database. */
const char *state_name(enum row_state s);
/* Returns 0 and stores the state, or -1 (without printing) if unknown. */
int state_from_name(const char *name, enum row_state *out);
/*
 * Parses a comma-separated list of state names ("failed,created") into a
 * mask. Returns -1 and prints an error naming the bad word otherwise.
 */
int state_mask_parse(const char *list, unsigned *mask);

/* What a queued row asks the API for. */
enum request_kind {
	REQUEST_CREATE, /* POST /connect/sessions */
	REQUEST_REAUTH, /* POST /connect/sessions/reauthenticate with connection_id */
};

struct store;

/*
 * Opens (creating if needed) the database at path and brings its schema to
 * the newest migration this binary has, in one transaction. A database whose
 * user_version is newer than the binary's is refused, untouched, and so is
 * any SQLite file that is not ours ("'X' is not a finch-onboard database").
 * A new database is created with mode 0600 whatever the umask, so its -wal,
 * -shm and -journal are 0600 too (SQLite gives them the database's mode);
 * an existing one that others can read gets a warning naming the fix.
 *
 * path is a file name, never a URI (store_refuse_uri()); SQLite opens it
 * with SQLITE_OPEN_NOFOLLOW, a symlink at it resolved first by the
 * trusted-link rule (safepath.h: another user's link is refused, a
 * dangling one never creates its target). store_open_readonly() too.
 */
int store_open(const char *path, struct store **out);

/*
 * -1 after an error with a hint when path starts with "file:", which
 * SQLite (built with SQLITE_USE_URI, as Debian's is) reads as a URI naming
 * another file than the lock and the --out guard would take: one name,
 * one file. 0 otherwise.
 */
int store_refuse_uri(const char *path);
/*
 * Opens an existing database of ours for reading only (SQLITE_OPEN_READONLY):
 * no schema is created or migrated, the journal mode is left as it is, and
 * the file's bytes and mode stay the same (status, export, dry runs). An
 * empty file, another program's database, or a schema older or newer than
 * the binary's is refused. A WAL database in a folder this user cannot
 * write is read as an immutable file when it has no write-ahead log
 * pending; otherwise the error names what is missing. Writers fail.
 */
int store_open_readonly(const char *path, struct store **out);
/*
 * A copy of the database at path in memory, for import --check: the same
 * rows and checks as store_open() (another program's database or a newer
 * schema refused, an older one migrated in memory), and nothing written to
 * the file or beside it (no -wal, -shm or -journal is created; SQLite's
 * backup API reads it, as an immutable file when no side file shows a
 * connection). No database at path: an empty one (but a folder that is
 * not there is refused, as the import refuses it). The copy lives in
 * memory: about the size of the file.
 */
int store_open_copy(const char *path, struct store **out);
/* Finalizes every statement and closes the connection. NULL is fine. */
void store_close(struct store *st);
/* The schema version the binary carries (the number of migrations). */
int store_schema_version(void);

/*
 * The file SQLite opened: absolute, with symlinks resolved
 * (sqlite3_db_filename()); SQLite names its -wal and -journal files after
 * it, and the answers journal (journal.h) lives beside it too.
 */
const char *store_filename(struct store *st);

/*
 * Rows a full store_upsert_customers() batch (store_import.h) takes in one
 * statement; struct store holds a buffer per row.
 */
#define STORE_UPSERT_BATCH 64

/* A database id or a journal line id: 128 random bits as lowercase hex digits. */
#define STORE_ID_HEX 32

/*
 * The database's own random id (schema/016_journal_ledger.sql), given when
 * it was created or migrated: STORE_ID_HEX hex digits, owned by st. A copy
 * of the database (a backup, a dry run's snapshot) has the same. NULL after
 * reporting an error.
 */
const char *store_database_id(struct store *st);

/* Fills id with a new random id from getrandom(2). Returns 0 or -1 after reporting. */
int store_random_id(char id[STORE_ID_HEX + 1]);

int store_begin(struct store *st);
/*
 * BEGIN IMMEDIATE that waits at most wait_ms for another connection's write
 * lock (instead of the 5 s busy timeout), for a loop that must keep serving
 * the network while a foreign process (an sqlite3 shell, a backup) holds
 * the database. Returns 0 inside the transaction, 1 when the lock is still
 * held by someone else (nothing reported), -1 on any other error (reported).
 */
int store_try_begin(struct store *st, int64_t wait_ms);
/*
 * COMMIT for the same loop: 0 committed; 1 when SQLite answered SQLITE_BUSY
 * (the transaction stays open, as SQLite documents, and may be committed
 * again later); -1 on any other error (reported; the caller rolls back).
 */
int store_try_commit(struct store *st);
/*
 * 1 when the last error of the connection was SQLITE_BUSY or SQLITE_LOCKED
 * (the database is locked by someone else), else 0.
 */
int store_last_error_busy(struct store *st);
/*
 * store_begin() for a transaction that writes much of the database (an
 * import): it runs with a rollback journal instead of WAL, which writes each
 * page twice (once to the log, once back), and so spends half the time
 * writing. It holds SQLite's EXCLUSIVE lock from its first statement, so
 * readers wait for it to commit (up to their busy timeout) or are told the
 * database is locked, instead of reading the state before it and holding
 * up its commit.
 * It also runs without foreign key checks: the only key an import writes
 * is first_import, the import it has just recorded in the same
 * transaction, and the keyless rows it deletes (store_forget_keyless())
 * are never sent, so no attempt refers to them. Checking cost a cursor
 * opened and closed per row (5% of an import's instructions).
 * Leaving WAL needs the only open connection; when another one is open (a
 * status, an export) the transaction stays in WAL, slower but the same,
 * and with its checks. store_commit() or store_rollback() go back to WAL
 * and to foreign key checks.
 */
int store_begin_bulk(struct store *st);
int store_commit(struct store *st);
/* Never fails loudly: used on error paths. */
void store_rollback(struct store *st);
/* 1 inside a transaction begun by store_begin(), else 0. */
int store_in_transaction(const struct store *st);

/*
 * Writes a consistent copy of the whole database to path, which must not
 * exist (VACUUM INTO). Outside a transaction. For dry runs that must change
 * nothing: they work on the copy.
 */
int store_snapshot(struct store *st, const char *path);

#endif
