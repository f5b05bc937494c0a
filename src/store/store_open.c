/*
 * store_open.c: opening and closing the database (private mode, the schema's
 * migrations, pragmas, read-only access); its transactions are in
 * store_txn.c; see store.h.
 *
 * The statements are tables, one per file of the store (store_int.h),
 * prepared once in store_open(). Each call binds, steps and resets one of
 * them; nothing here formats SQL.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/safepath.h"
#include "base/strbuf.h"
#include "base/utf8.h"
#include "base/util.h"
#include "store/store_int.h"

extern const char *const store_migrations[];
extern const size_t store_migration_count;

const char *const store_core_sql[S_STMT_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SNAPSHOT] = "VACUUM INTO ?1",
};

/* Every file's statements; an id has its SQL in one of them. */
static const char *const *const sql_tables[] = {
    store_core_sql,   store_import_sql,	     store_queue_sql, store_outcome_sql,
    store_report_sql, store_connections_sql, store_prune_sql,
};

/* The SQL of statement id. */
static const char *stmt_sql(enum stmt_id id)
{
	for (size_t t = 0; t < sizeof(sql_tables) / sizeof(sql_tables[0]); t++)
		if (sql_tables[t][id])
			return sql_tables[t][id];
	return NULL;
}

/* Reports the connection's last error for what, and returns -1. */
int store_db_error(struct store *st, const char *what)
{
	if (store_last_error_busy(st))
		return error("%s: %s: %s for more than %d s: another process holds a write "
			     "lock on it (a finch-onboard import until it commits, an sqlite3 "
			     "shell or a backup inside a transaction); try again when it ends",
			     st->path, what, sqlite3_errmsg(st->db), BUSY_TIMEOUT_MS / 1000);
	return error("%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

/* Steps a statement expected to return no row, then resets it. */
int store_exec(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_db_error(st, stmt_sql(id));
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return -1;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return 0;
}

int store_exec_script(struct store *st, const char *sql, const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		error("%s: %s: %s", st->path, what, msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int read_user_version(struct store *st, int64_t *version)
{
	sqlite3_stmt *s;
	int ret = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return store_db_error(st, "cannot read the schema version");
	if (sqlite3_step(s) == SQLITE_ROW) {
		*version = sqlite3_column_int64(s, 0);
		ret = 0;
	} else {
		store_db_error(st, "cannot read the schema version");
	}
	sqlite3_finalize(s);
	return ret;
}

/*
 * Sets the journal mode with sql ("PRAGMA journal_mode = ..."), which
 * answers the mode the database is in afterwards. Returns 1 when that is
 * want, 0 when another connection kept the mode from changing (entering or
 * leaving WAL needs the only connection; SQLite says so at once, or after
 * the busy timeout when the other one is reading), -1 on any other error.
 */
int store_set_journal_mode(struct store *st, const char *sql, const char *want)
{
	sqlite3_stmt *s;
	int rc, ret;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_db_error(st, "cannot set the journal mode");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = !strcmp(column_str(s, 0), want);
	else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		ret = 0;
	else
		ret = store_db_error(st, "cannot set the journal mode");
	sqlite3_finalize(s);
	return ret;
}

/*
 * Puts the connection in WAL mode, or leaves st->wal_wanted set when another
 * connection keeps it out (a reader that opened during a bulk import); the
 * next store_begin() tries again. Once in WAL, a read opens the log at once:
 * until then this connection holds no lock on it, so another one closing
 * would checkpoint and delete it, and a change it made would go unnoticed
 * by this connection's page cache (rollback mode watches a change counter
 * that WAL commits do not move).
 */
int store_enter_wal(struct store *st)
{
	int64_t version = 0;
	int r = store_set_journal_mode(st, "PRAGMA journal_mode = WAL", "wal");

	if (r < 0)
		return -1;
	st->wal_wanted = !r;
	return r ? read_user_version(st, &version) : 0;
}

int store_random_id(char id[STORE_ID_HEX + 1])
{
	unsigned char raw[STORE_ID_HEX / 2];

	if (random_bytes(raw, sizeof(raw)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/*
 * Gives the database its random id (schema/016_journal_ledger.sql) if it
 * has none: a new database, or one just migrated to 014. Inside the
 * migration's transaction.
 */
static int give_identity(struct store *st)
{
	sqlite3_stmt *s = NULL;
	char id[STORE_ID_HEX + 1];
	int ret = -1;

	if (store_random_id(id) < 0)
		return -1;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO identity(id, database_id) SELECT 1, ?1 "
			       "WHERE NOT EXISTS (SELECT 1 FROM identity)",
			       -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_DONE)
		store_db_error(st, "cannot give the database its id");
	else
		ret = 0;
	sqlite3_finalize(s);
	return ret;
}

/*
 * Applies the migrations the database lacks (version is its user_version,
 * read before any lock), all in one transaction. Each migration sets PRAGMA
 * user_version itself, so the version always moves with the schema. A
 * database that is up to date is not locked at all: a status can open it
 * while a run writes.
 */
static int migrate(struct store *st, int64_t version)
{
	if (version == (int64_t)store_migration_count)
		return 0;
	if (store_exec_script(st, "BEGIN IMMEDIATE", "cannot start the schema migration") < 0)
		return -1;
	if (read_user_version(st, &version) < 0)
		goto fail;
	if (version > (int64_t)store_migration_count) {
		error("database '%s' has schema version %lld, newer than this finch-onboard knows "
		      "(%zu); use a newer finch-onboard",
		      st->path, (long long)version, store_migration_count);
		goto fail;
	}
	for (size_t i = (size_t)version; i < store_migration_count; i++) {
		char what[64];
		int64_t now_version = -1;

		snprintf(what, sizeof(what), "schema migration %03zu failed", i + 1);
		if (store_exec_script(st, store_migrations[i], what) < 0 ||
		    read_user_version(st, &now_version) < 0)
			goto fail;
		if (now_version != (int64_t)i + 1) {
			error("%s: schema migration %03zu did not set user_version", st->path,
			      i + 1);
			goto fail;
		}
	}
	if (give_identity(st) < 0 ||
	    store_exec_script(st, "COMMIT", "cannot commit the schema migration") < 0)
		goto fail;
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int store_schema_version(void)
{
	return (int)store_migration_count;
}

/*
 * Creates path with mode 0600 if it does not exist, so the database and the
 * files SQLite makes beside it (-wal, -shm, -journal take the database's
 * permissions: see findCreateFileMode() in SQLite's os_unix.c) are private
 * whatever the umask: they hold every connect link. An existing file is
 * left alone (store_warn_mode() says if others can read it).
 */
static int create_private(const char *path)
{
	int fd;

	/* SQLite's in-memory and temporary databases have no file to create */
	if (!*path || !strcmp(path, ":memory:"))
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	if (fd >= 0) {
		/* O_CREAT honours the umask, which can only take bits away; 0600 it is */
		close(fd);
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	return error_errno("cannot create database '%s'", path);
}

/* Warns when users other than the owner can read the database (ssh's rule for keys). */
static void warn_mode(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) < 0 || !S_ISREG(sb.st_mode) || !(sb.st_mode & 0044))
		return;
	warning("database '%s' can be read by other users (mode %04o), and it holds every "
		"connect link; run 'chmod 600 %s'",
		path, (unsigned)(sb.st_mode & 07777), path);
}

/*
 * Tells a database of ours from any other SQLite file, before anything
 * writes to it: ours has user_version >= 1 and the four tables of
 * schema/001_init.sql. One with no schema at all is empty: *empty is set,
 * and the caller decides (a writer creates the schema, a reader refuses).
 */
static int check_ours(struct store *st, int64_t version, int *empty)
{
	static const char sql[] =
	    "SELECT count(*), coalesce(sum(type = 'table' AND name IN "
	    "('customers', 'imports', 'runs', 'attempts')), 0) FROM sqlite_master";
	sqlite3_stmt *s;
	int64_t all = -1, ours = 0;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return store_db_error(st, "cannot read the schema");
	if (sqlite3_step(s) == SQLITE_ROW) {
		all = sqlite3_column_int64(s, 0);
		ours = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if (all < 0)
		return store_db_error(st, "cannot read the schema");
	*empty = all == 0 && version == 0;
	if (*empty || (version > 0 && ours == 4))
		return 0;
	return error("'%s' is not a finch-onboard database (it holds %lld other schema objects "
		     "and no finch-onboard tables); check --db",
		     st->path, (long long)all);
}

/* Prepares every statement of every file's table, once. */
static int prepare_all(struct store *st)
{
	for (int i = 0; i < S_STMT_COUNT; i++) {
		const char *sql = stmt_sql((enum stmt_id)i);

		if (!sql)
			die("statement %d has no SQL", i);
		if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
				       NULL) != SQLITE_OK) {
			error("%s: cannot prepare statement: %s (%s)", st->path,
			      sqlite3_errmsg(st->db), sql);
			return -1;
		}
	}
	return 0;
}

#ifndef SQLITE_OPEN_NOFOLLOW
#define SQLITE_OPEN_NOFOLLOW 0 /* SQLite before 3.31: db_name() resolved the link */
#endif

int store_refuse_uri(const char *path)
{
	if (!strncasecmp(path, "file:", 5))
		return error("database '%s' reads as a SQLite URI, and --db takes a file name; "
			     "for a file really named so, write './%s'",
			     path, path);
	return 0;
}

/*
 * The name SQLite opens for path: one name, one file. Never a URI (Debian
 * builds SQLite with SQLITE_USE_URI, so "file:o.db" would name o.db while
 * the lock and the --out guard take it as a path): a "file:" name is
 * refused with a hint. A symlink at path is resolved by the trusted-link
 * rule (safepath.h) and the target's name given to SQLite, which opens it
 * with SQLITE_OPEN_NOFOLLOW; with create, a dangling one is refused.
 * ":memory:" stays itself. 0, or -1 after an error.
 */
static int db_name(const char *path, int create, struct strbuf *name)
{
	struct safepath sp;
	int ret = -1;

	strbuf_reset(name);
	if (!*path || !strcmp(path, ":memory:")) {
		strbuf_addstr(name, path);
		return 0;
	}
	if (store_refuse_uri(path) < 0)
		return -1;
	if (safepath_walk(&sp, path, "database") < 0)
		return -1;
	if (create && safepath_refuse_dangling(&sp, path, "the database") < 0)
		goto out;
	if (!sp.links)
		strbuf_addstr(name, path);
	else if (!strcmp(sp.dir.buf, "/"))
		strbuf_addf(name, "/%s", sp.base.buf);
	else
		strbuf_addf(name, "%s/%s", sp.dir.buf, sp.base.buf);
	ret = 0;
out:
	safepath_release(&sp);
	return ret;
}

/* Opens the connection with flags (and name as a URI when flags say so); common settings. */
static int connect(struct store *st, const char *name, int flags)
{
	if (!(flags & SQLITE_OPEN_URI))
		flags |= SQLITE_OPEN_NOFOLLOW;
	if (sqlite3_open_v2(name, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		error("cannot open database '%s': %s", st->path,
		      st->db ? sqlite3_errmsg(st->db) : "out of memory");
		return -1;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	return 0;
}

static void newer_schema_error(struct store *st, int64_t version)
{
	error("database '%s' has schema version %lld, newer than this finch-onboard knows "
	      "(%zu); use a newer finch-onboard",
	      st->path, (long long)version, store_migration_count);
}

/*
 * finch_nfc(TEXT): TEXT in Unicode NFC (utf8_nfc()), the customer key of
 * schema/015; text that is not UTF-8 is returned as it is. Only the
 * migration calls it: the program binds keys it computed itself, so the
 * sqlite3 shell can still write a database it never registered this in.
 */
static void sql_nfc(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *text = (const char *)sqlite3_value_text(argv[0]);
	char *key;

	(void)argc;
	if (!text) {
		sqlite3_result_null(ctx);
		return;
	}
	key = utf8_nfc(text);
	if (key)
		sqlite3_result_text(ctx, key, -1, free);
	else
		sqlite3_result_value(ctx, argv[0]);
}

int store_setup(struct store *st, const char *mode_path)
{
	int64_t version = 0;
	int empty;

	/*
	 * Another program's database, or a newer schema, must be refused
	 * before anything writes: journal_mode would already change the file,
	 * so check first.
	 */
	if (read_user_version(st, &version) < 0 || check_ours(st, version, &empty) < 0)
		return -1;
	if (mode_path)
		warn_mode(mode_path);
	if (version > (int64_t)store_migration_count) {
		newer_schema_error(st, version);
		return -1;
	}
	/*
	 * WAL lets status and export read while a run writes. synchronous=FULL
	 * makes every commit durable against power loss too, not only crashes:
	 * the dispatcher group-commits, so it pays for few fsyncs. While an
	 * import holds the database in a rollback journal (store_begin_bulk())
	 * WAL cannot be entered; this connection then reads in the rollback
	 * journal too, waiting for the import, and enters WAL at its next
	 * transaction (store_begin()).
	 */
	if (sqlite3_create_function(st->db, "finch_nfc", 1,
				    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
				    sql_nfc, NULL, NULL) != SQLITE_OK)
		return store_db_error(st, "cannot register finch_nfc()");
	if (store_exec_script(st,
			      "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
			      "PRAGMA temp_store = MEMORY;",
			      "cannot configure the database") < 0 ||
	    store_enter_wal(st) < 0)
		return -1;
	return migrate(st, version) < 0 || prepare_all(st) < 0 ? -1 : 0;
}

int store_open(const char *path, struct store **out)
{
	struct store *st = xcalloc(1, sizeof(*st));
	struct strbuf name = STRBUF_INIT;

	/*
	 * SQLite counts every allocation under a global mutex, for
	 * sqlite3_memory_used(), which nothing here reads: a tenth of an
	 * import. It can only be turned off before SQLite initialises, which
	 * the first sqlite3_open() does; later calls fail harmlessly.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	st->path = xstrdup(path);
	if (db_name(path, 1, &name) < 0 || store_refuse_untrusted(path, name.buf) < 0 ||
	    create_private(name.buf) < 0 ||
	    connect(st, name.buf, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) < 0 ||
	    store_setup(st, path) < 0) {
		strbuf_release(&name);
		store_close(st);
		return -1;
	}
	strbuf_release(&name);
	*out = st;
	return 0;
}

/* 1 if the file at path exists and is not empty. */
static int nonempty_file(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && sb.st_size > 0;
}

/*
 * Explains why a read-only connection could not read a WAL database: it
 * needs the -shm beside it (the wal-index), which it may create but only
 * in a folder it can write (https://sqlite.org/wal.html#readonly).
 */
static int wal_readonly_error(struct store *st)
{
	struct strbuf dir = STRBUF_INIT;
	const char *slash = strrchr(st->path, '/');

	if (slash)
		strbuf_add(&dir, st->path, slash == st->path ? 1 : (size_t)(slash - st->path));
	else
		strbuf_addch(&dir, '.');
	error("cannot read database '%s': it is in WAL mode with a write-ahead log '%s-wal', "
	      "and reading it needs '%s-shm', which this user can neither open nor create "
	      "(write access to folder '%s' is missing); ask its owner to run any "
	      "finch-onboard command on it once, or grant write access to the folder",
	      st->path, st->path, st->path, dir.buf);
	strbuf_release(&dir);
	return -1;
}

/*
 * Reads user_version without reporting an error: returns SQLite's result
 * code, so the caller can tell a WAL it cannot set up from a real error.
 */
static int try_user_version(struct store *st, int64_t *version)
{
	sqlite3_stmt *s;
	int rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);

	if (rc != SQLITE_OK)
		return sqlite3_extended_errcode(st->db);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int64(s, 0);
		rc = SQLITE_OK;
	} else {
		rc = sqlite3_extended_errcode(st->db);
	}
	sqlite3_finalize(s);
	return rc;
}

/* 1 when the database's header says WAL (https://sqlite.org/fileformat2.html#database_header). */
static int wal_header(const char *path)
{
	unsigned char hdr[20];
	int fd = open(path, O_RDONLY | O_CLOEXEC), ok = 0;

	if (fd >= 0 && pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr))
		ok = hdr[18] == 2 && hdr[19] == 2;
	if (fd >= 0)
		close(fd);
	return ok;
}

/*
 * 1 when neither a write-ahead log nor a rollback journal holds anything
 * that is not in the database file yet: then it can be read as immutable.
 */
static int no_pending_log(const char *path)
{
	struct strbuf side = STRBUF_INIT;
	int ok;

	strbuf_addf(&side, "%s-wal", path);
	ok = !nonempty_file(side.buf);
	strbuf_reset(&side);
	strbuf_addf(&side, "%s-journal", path);
	ok = ok && !nonempty_file(side.buf);
	strbuf_release(&side);
	return ok;
}

/* The "file:" URI of path with immutable=1 (https://sqlite.org/uri.html). */
void store_immutable_uri(struct strbuf *sb, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";

	strbuf_addstr(sb, "file:");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#' || *p <= ' ' || *p >= 0x7f)
			strbuf_addf(sb, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
		else
			strbuf_addch(sb, (char)*p);
	}
	strbuf_addstr(sb, "?immutable=1");
}

int store_open_readonly(const char *path, struct store **out)
{
	struct store *st = xcalloc(1, sizeof(*st));
	struct strbuf uri = STRBUF_INIT, name = STRBUF_INIT;
	int64_t version = 0;
	int empty, rc;

	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	st->path = xstrdup(path);
	if (db_name(path, 0, &name) < 0)
		goto fail;
	if (access(name.buf, R_OK) < 0) {
		error_errno("cannot open database '%s'", path);
		goto fail;
	}
	if (store_refuse_untrusted(path, name.buf) < 0)
		goto fail;
	if (connect(st, name.buf, SQLITE_OPEN_READONLY) < 0)
		goto fail;
	rc = try_user_version(st, &version);
	if (rc == SQLITE_READONLY_ROLLBACK) {
		error("database '%s' has a hot journal '%s-journal' left by a write that was "
		      "interrupted, and this command only reads; any command that writes "
		      "(import, run, retry, sync) rolls it back",
		      path, path);
		goto fail;
	}
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_READONLY && (rc & 0xff) != SQLITE_CANTOPEN) {
		store_db_error(st, "cannot read the schema version");
		goto fail;
	}
	if (rc != SQLITE_OK) {
		/*
		 * A WAL database whose folder this user cannot write: SQLite
		 * can create neither the -wal nor the -shm. With no log
		 * present, nothing is pending outside the database file, so it
		 * can be read as an immutable file (no locks, no -shm).
		 * Otherwise say exactly what is missing.
		 */
		if (!wal_header(name.buf)) {
			store_db_error(st, "cannot read the schema version");
			goto fail;
		}
		if (!no_pending_log(name.buf)) {
			wal_readonly_error(st);
			goto fail;
		}
		sqlite3_close(st->db);
		st->db = NULL;
		strbuf_reset(&uri);
		store_immutable_uri(&uri, name.buf);
		if (connect(st, uri.buf, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI) < 0 ||
		    read_user_version(st, &version) < 0)
			goto fail;
	}
	if (check_ours(st, version, &empty) < 0)
		goto fail;
	warn_mode(path);
	if (empty) {
		error("'%s' is not a finch-onboard database (it is empty; 'finch-onboard import' "
		      "creates one)",
		      path);
		goto fail;
	}
	if (version > (int64_t)store_migration_count) {
		newer_schema_error(st, version);
		goto fail;
	}
	if (version < (int64_t)store_migration_count) {
		error("database '%s' has schema version %lld, older than this finch-onboard's "
		      "(%zu), and this command only reads; any command that writes (import, run, "
		      "retry, sync) upgrades it",
		      path, (long long)version, store_migration_count);
		goto fail;
	}
	if (store_exec_script(st, "PRAGMA temp_store = MEMORY;", "cannot configure the database") <
		0 ||
	    prepare_all(st) < 0)
		goto fail;
	strbuf_release(&uri);
	strbuf_release(&name);
	*out = st;
	return 0;
fail:
	strbuf_release(&uri);
	strbuf_release(&name);
	store_close(st);
	return -1;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	for (int i = 0; i < S_STMT_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db && sqlite3_close(st->db) != SQLITE_OK)
		warning("cannot close database '%s' cleanly: %s", st->path, sqlite3_errmsg(st->db));
	free(st->path);
	free(st);
}
