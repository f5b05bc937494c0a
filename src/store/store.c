/*
 * store.c: every SQL statement of finch-onboard; see store.h.
 *
 * The statements are a table, prepared once in store_open(). Each call
 * binds, steps and resets one of them; nothing here formats SQL.
 */
#include "store/store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/util.h"

extern const char *const store_migrations[];
extern const size_t store_migration_count;

static const char *const state_names[STATE_COUNT] = {
    "pending", "in_flight", "retry_wait", "created", "exists", "failed", "invalid",
};

/* The columns a run needs to build a request, in the order read_job() reads them. */
#define JOB_COLUMNS                                                                                \
	"id, request_kind, customer_id, customer_name, customer_email, products, "                 \
	"redirect_uri, minutes_to_expire, sandbox, manual, integration_provider, "                 \
	"integration_auth_method, connection_id, attempts, attempt_total, "                        \
	"coalesce(first_transient_at, 0), next_attempt_at IS NOT NULL"

/* Maps a state name to its STATE_MASK bit, for filters bound as one integer. */
#define STATE_BIT_SQL                                                                              \
	"(1 << (CASE state WHEN 'pending' THEN 0 WHEN 'in_flight' THEN 1 "                         \
	"WHEN 'retry_wait' THEN 2 WHEN 'created' THEN 3 WHEN 'exists' THEN 4 "                     \
	"WHEN 'failed' THEN 5 ELSE 6 END))"

/*
 * The columns a new customer's row is inserted with, and one row of
 * placeholders for them: bind_insert_row() binds them in this order.
 */
#define INSERT_COLUMNS                                                                             \
	"customer_id, customer_name, customer_email, products, redirect_uri, "                     \
	"minutes_to_expire, sandbox, manual, integration_provider, integration_auth_method, "      \
	"source, source_line, first_import, last_import, created_at, updated_at"
#define INSERT_ROW	  "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define INSERT_ROW_PARAMS 16
/* s repeated 64 times, comma-separated: still a string literal, not formatted SQL */
#define ROWS_2(s)  s "," s
#define ROWS_8(s)  ROWS_2(ROWS_2(ROWS_2(s)))
#define ROWS_64(s) ROWS_8(ROWS_8(s))
_Static_assert(STORE_UPSERT_BATCH == 64, "S_INSERT_CUSTOMERS has ROWS_64 rows");

/* The products column of a row: all ten names, their spaces and a NUL take 95 bytes. */
#define PRODUCTS_TEXT_MAX 128

enum stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_IMPORT_START,
	S_IMPORT_FINISH,
	S_IMPORT_HASH,
	S_LAST_IMPORT,
	S_FIND_CUSTOMER,
	S_INSERT_CUSTOMER,
	S_INSERT_CUSTOMERS,
	S_UPDATE_CUSTOMER,
	S_MARK_SEEN,
	S_SEEN_LINE,
	S_INVALID_KEYED,
	S_INVALID_KEYLESS,
	S_FORGET_KEYLESS,
	S_COUNT_STATES,
	S_COUNT_EXPIRY,
	S_COUNT_CARRY,
	S_FAILURE_GROUPS,
	S_LAST_RUN,
	S_RUN_ATTEMPTS,
	S_RUN_LATENCY_AT,
	S_RUN_START,
	S_RUN_FINISH,
	S_RUN_OUTCOME,
	S_METRIC_REQUESTS,
	S_METRIC_RUNS,
	S_IN_FLIGHT_ROWS,
	S_RECOVER_ROW,
	S_CLAIM,
	S_EACH_DUE,
	S_REQUEUE_TRANSIENT,
	S_NEXT_RETRY,
	S_HAS_DUE,
	S_ATTEMPT_INSERT,
	S_SET_CREATED,
	S_SET_EXISTS,
	S_SET_FAILED,
	S_SET_RETRY,
	S_SET_UNSENT,
	S_EXPORT,
	S_REQUEUE,
	S_QUEUE_EXPIRED,
	S_QUEUE_REAUTH,
	S_CUSTOMER_STATE,
	S_ROW_BY_CUSTOMER,
	S_SNAPSHOT,
	S_STMT_COUNT
};

/*
 * A retry_wait row this run deferred (store_defer_long_hints()): its last
 * answer, at or after SINCE, asked for a wait longer than the cap, plus a
 * second for the time between the answer and its recording. Such a row
 * waits for a later run, however long this one lasts.
 */
#define NOT_DEFERRED(SINCE, CAP)                                                                   \
	"NOT (updated_at >= ?" #SINCE " AND next_attempt_at - updated_at > ?" #CAP " + 1000)"

static const char *const stmt_sql[S_STMT_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_IMPORT_START] =
	"INSERT INTO imports(path, size, sha256, started_at) VALUES (?1, ?2, ?3, ?4)",
    [S_IMPORT_FINISH] = "UPDATE imports SET rows_read = ?2, accepted = ?3, invalid = ?4, "
			"unchanged = ?5, updated = ?6, ended_at = ?7 WHERE id = ?1",
    [S_IMPORT_HASH] = "UPDATE imports SET sha256 = ?2, size = ?3 WHERE id = ?1",
    [S_LAST_IMPORT] = "SELECT id, path, size, sha256, rows_read, accepted, invalid, unchanged, "
		      "updated, started_at, coalesce(ended_at, 0) FROM imports "
		      "ORDER BY id DESC LIMIT 1",
    /*
     * An import inserts a customer (S_INSERT_CUSTOMER[S]), or marks it seen
     * if its request is unchanged (S_MARK_SEEN), or else looks it up to
     * tell a duplicate from a change (S_FIND_CUSTOMER, S_UPDATE_CUSTOMER).
     * Not one INSERT ... ON CONFLICT DO UPDATE: an upsert on a table with
     * an UPDATE trigger needs a statement journal (a copy of every page it
     * touches) on each row, and RETURNING an ephemeral table; together they
     * doubled the time of a large import. All three number alike (see
     * bind_settle()): ?1..?10 are the request fields (IS compares NULLs as
     * values), ?11 the source, ?12 this import, ?13 the line. S_MARK_SEEN
     * records where the customer was seen, for "duplicate of line N".
     */
    [S_MARK_SEEN] = "UPDATE customers SET last_import = ?12, source = ?11, source_line = ?13, "
		    "error = CASE WHEN line_invalid THEN NULL ELSE error END, line_invalid = 0 "
		    "WHERE customer_id = ?1 AND keyless = 0 AND last_import IS NOT ?12 AND "
		    "state <> 'invalid' AND customer_name IS ?2 AND customer_email IS ?3 AND "
		    "products IS ?4 AND redirect_uri IS ?5 AND minutes_to_expire IS ?6 AND "
		    "sandbox IS ?7 AND manual IS ?8 AND integration_provider IS ?9 AND "
		    "integration_auth_method IS ?10",
    [S_FIND_CUSTOMER] = "SELECT id, last_import IS ?12, source_line, "
			"first_import IS ?12 AND source_line IS ?13 "
			"FROM customers WHERE customer_id = ?1 AND keyless = 0",
    /*
     * One row, and STORE_UPSERT_BATCH rows: a statement per row cost as
     * much again as the inserting itself (cursors opened and closed, the
     * program started and halted, for every row).
     */
    [S_INSERT_CUSTOMER] = "INSERT OR IGNORE INTO customers(" INSERT_COLUMNS ") VALUES " INSERT_ROW,
    [S_INSERT_CUSTOMERS] =
	"INSERT OR IGNORE INTO customers(" INSERT_COLUMNS ") VALUES " ROWS_64(INSERT_ROW),
    /* ?1 is the row id here, not the customer_id */
    [S_UPDATE_CUSTOMER] =
	"UPDATE customers SET customer_name = ?2, customer_email = ?3, products = ?4, "
	"redirect_uri = ?5, minutes_to_expire = ?6, sandbox = ?7, manual = ?8, "
	"integration_provider = ?9, integration_auth_method = ?10, source = ?11, "
	"last_import = ?12, source_line = ?13, state = 'pending', request_kind = 'create', "
	"attempts = 0, next_attempt_at = NULL, error = NULL, first_transient_at = NULL, "
	"give_up_at = NULL, line_invalid = 0, updated_at = ?14 WHERE id = ?15",
    [S_SEEN_LINE] = "SELECT source_line FROM customers WHERE customer_id = ?1 AND keyless = 0 "
		    "AND last_import IS ?2",
    [S_INVALID_KEYED] =
	"INSERT INTO customers(customer_id, customer_name, state, error, source, "
	"source_line, first_import, last_import, created_at, updated_at) "
	"VALUES (?1, ?2, 'invalid', ?3, ?4, ?5, ?6, ?6, ?7, ?7) "
	/* a created or exists row keeps its state and link (schema/003_line_invalid.sql) */
	"ON CONFLICT(customer_id) WHERE keyless = 0 DO UPDATE SET "
	"state = CASE WHEN customers.state = 'created' OR customers.state = 'exists' "
	"THEN customers.state ELSE 'invalid' END, "
	"line_invalid = (customers.state = 'created' OR customers.state = 'exists'), "
	"error = excluded.error, source = excluded.source, "
	"source_line = excluded.source_line, next_attempt_at = NULL, "
	"last_import = excluded.last_import, "
	"updated_at = CASE WHEN customers.error IS NOT excluded.error OR NOT ("
	"customers.state = 'invalid' OR customers.line_invalid) THEN excluded.updated_at "
	"ELSE customers.updated_at END",
    [S_INVALID_KEYLESS] =
	"INSERT INTO customers(customer_id, keyless, customer_name, state, error, source, "
	"source_line, first_import, created_at, updated_at) "
	"VALUES (?1, 1, ?2, 'invalid', ?3, ?4, ?5, ?6, ?7, ?7)",
    [S_FORGET_KEYLESS] = "DELETE FROM customers WHERE keyless = 1 AND source = ?1",
    [S_COUNT_STATES] = "SELECT state, count(*), "
		       "sum(CASE WHEN attempt_total > 1 THEN attempt_total - 1 ELSE 0 END), "
		       "sum(line_invalid) FROM customers GROUP BY state",
    [S_COUNT_EXPIRY] = "SELECT coalesce(sum(expires_at < ?1), 0), "
		       "coalesce(sum(expires_at >= ?1 AND expires_at < ?2), 0) "
		       "FROM customers WHERE state = 'created'",
    [S_COUNT_CARRY] = "SELECT coalesce(sum(state = 'failed' AND give_up_at > ?1), 0), "
		      "coalesce(min(CASE WHEN state = 'retry_wait' THEN next_attempt_at END), 0), "
		      "coalesce(max(CASE WHEN state = 'failed' AND give_up_at > ?1 "
		      "THEN give_up_at END), 0) "
		      "FROM customers WHERE state = 'failed' OR state = 'retry_wait'",
    [S_FAILURE_GROUPS] = "SELECT finch_code, coalesce(http_status, 0), count(*) FROM customers "
			 "WHERE state = 'failed' GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
    [S_LAST_RUN] = "SELECT id, started_at, coalesce(ended_at, 0), coalesce(exit_reason, ''), "
		   "coalesce(pid, 0), "
		   "(SELECT count(*) FROM attempts WHERE run_id = runs.id), "
		   "(SELECT count(*) FROM attempts WHERE run_id = runs.id "
		   "AND http_status IS NOT NULL) "
		   "FROM runs ORDER BY id DESC LIMIT 1",
    [S_RUN_ATTEMPTS] = "SELECT count(*) FROM attempts WHERE run_id = ?1",
    [S_RUN_LATENCY_AT] = "SELECT elapsed_ms FROM attempts WHERE run_id = ?1 "
			 "AND http_status IS NOT NULL ORDER BY elapsed_ms LIMIT 1 OFFSET ?2",
    [S_RUN_START] = "INSERT INTO runs(started_at, pid) VALUES (?1, ?2)",
    [S_RUN_FINISH] = "UPDATE runs SET ended_at = ?2, exit_reason = ?3 WHERE id = ?1",
    [S_RUN_OUTCOME] = "UPDATE runs SET exit_code = ?2, pauses = ?3, outages = ?4 WHERE id = ?1",
    /* Every attempt ever made, by the class of its answer; NULL: no answer. */
    [S_METRIC_REQUESTS] = "SELECT http_status / 100, count(*), "
			  "coalesce(sum(http_status = 429), 0) FROM attempts GROUP BY 1",
    [S_METRIC_RUNS] = "SELECT count(*), coalesce(sum(pauses), 0), coalesce(sum(outages), 0), "
		      "coalesce(max(CASE WHEN exit_code IN (0, 1) THEN ended_at END), 0) "
		      "FROM runs",
    [S_IN_FLIGHT_ROWS] = "SELECT id, attempt_total, request_kind, updated_at FROM customers "
			 "WHERE state = 'in_flight'",
    [S_RECOVER_ROW] = "UPDATE customers SET state = 'pending', attempts = attempts + 1, "
		      "attempt_total = attempt_total + 1, error = ?2, next_attempt_at = NULL, "
		      "updated_at = ?3 "
		      "WHERE id = ?1",
    [S_CLAIM] = "UPDATE customers SET state = 'in_flight', updated_at = ?1 WHERE id IN ("
		"SELECT id FROM customers WHERE state = 'retry_wait' AND next_attempt_at <= ?1 "
		"AND " NOT_DEFERRED(
		    3, 4) " "
			  "UNION ALL SELECT id FROM customers WHERE state = 'pending' LIMIT ?2) "
			  "RETURNING " JOB_COLUMNS,
    [S_EACH_DUE] = "SELECT " JOB_COLUMNS " FROM customers WHERE "
		   "state = 'retry_wait' AND next_attempt_at <= ?1 "
		   "UNION ALL SELECT " JOB_COLUMNS " FROM customers WHERE state = 'pending'",
    /* Transient failures of earlier runs, still within --give-up-after: a fresh budget. */
    [S_REQUEUE_TRANSIENT] = "UPDATE customers SET state = 'pending', attempts = 0, "
			    "next_attempt_at = NULL, updated_at = ?1 "
			    "WHERE state = 'failed' AND give_up_at > ?1",
    [S_NEXT_RETRY] = "SELECT min(next_attempt_at) FROM customers "
		     "WHERE state = 'retry_wait' AND next_attempt_at <= ?1 AND " NOT_DEFERRED(2, 3),
    /* What S_CLAIM would find, without claiming it. */
    [S_HAS_DUE] = "SELECT EXISTS (SELECT 1 FROM customers WHERE state = 'pending') OR "
		  "EXISTS (SELECT 1 FROM customers WHERE state = 'retry_wait' "
		  "AND next_attempt_at <= ?1 AND " NOT_DEFERRED(2, 3) ")",
    [S_ATTEMPT_INSERT] = "INSERT INTO attempts(customer, run_id, attempt_no, kind, started_at, "
			 "elapsed_ms, http_status, transport_error, finch_code, request_id, "
			 "message, session_id, connection_id) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    /* A reauthenticated employer is still connected: the row stays exists, with its new link. */
    [S_SET_CREATED] = "UPDATE customers SET state = CASE request_kind WHEN 'reauth' "
		      "THEN 'exists' ELSE 'created' END, session_id = ?2, "
		      "connect_url = ?3, expires_at = ?4, http_status = ?5, finch_code = NULL, "
		      "error = NULL, attempts = attempts + 1, attempt_total = attempt_total + 1, "
		      "next_attempt_at = NULL, first_transient_at = NULL, give_up_at = NULL, "
		      "updated_at = ?6 WHERE id = ?1",
    [S_SET_EXISTS] = "UPDATE customers SET state = 'exists', connection_id = ?2, "
		     "http_status = ?3, finch_code = ?4, error = NULL, attempts = attempts + 1, "
		     "attempt_total = attempt_total + 1, next_attempt_at = NULL, "
		     "first_transient_at = NULL, give_up_at = NULL, updated_at = ?5 WHERE id = ?1",
    /* ?6, ?7: the transient streak (NULL for a permanent failure), see retry_carry_over() */
    [S_SET_FAILED] = "UPDATE customers SET state = 'failed', http_status = ?2, finch_code = ?3, "
		     "error = ?4, attempts = attempts + 1, attempt_total = attempt_total + 1, "
		     "next_attempt_at = NULL, first_transient_at = ?6, give_up_at = ?7, "
		     "updated_at = ?5 WHERE id = ?1",
    [S_SET_RETRY] = "UPDATE customers SET state = 'retry_wait', http_status = ?2, "
		    "finch_code = ?3, error = ?4, attempts = attempts + 1, "
		    "attempt_total = attempt_total + 1, first_transient_at = ?6, give_up_at = ?7, "
		    "next_attempt_at = ?8, updated_at = ?5 WHERE id = ?1",
    [S_SET_UNSENT] = "UPDATE customers SET state = 'pending', attempt_total = attempt_total + ?2, "
		     "next_attempt_at = NULL, updated_at = ?3 WHERE id = ?1",
    [S_EXPORT] = "SELECT customer_id, customer_name, state, session_id, connect_url, "
		 "connection_id, coalesce(expires_at, 0), attempt_total, "
		 "coalesce(http_status, 0), finch_code, error, updated_at, "
		 "CASE WHEN state = 'retry_wait' THEN coalesce(next_attempt_at, 0) ELSE 0 END, "
		 "CASE WHEN state IN ('retry_wait', 'failed', 'pending') "
		 "THEN coalesce(give_up_at, 0) ELSE 0 END FROM customers "
		 "WHERE (?1 = 0 OR (?1 & " STATE_BIT_SQL ") != 0) AND updated_at > ?2 "
		 "ORDER BY id",
    [S_REQUEUE] = "UPDATE customers SET state = 'pending', attempts = 0, next_attempt_at = NULL, "
		  "first_transient_at = NULL, give_up_at = NULL, updated_at = ?5 WHERE keyless = 0 "
		  "AND state NOT IN ('invalid', 'in_flight', 'pending') "
		  "AND (?1 & " STATE_BIT_SQL ") != 0 "
		  "AND (?2 IS NULL OR finch_code = ?2) AND (?3 = 0 OR http_status = ?3) "
		  "AND (?4 IS NULL OR customer_id = ?4)",
    [S_QUEUE_EXPIRED] = "UPDATE customers SET state = 'pending', request_kind = 'create', "
			"attempts = 0, next_attempt_at = NULL, updated_at = ?1 "
			"WHERE state = 'created' AND expires_at < ?1",
    [S_QUEUE_REAUTH] = "UPDATE customers SET state = 'pending', request_kind = 'reauth', "
		       "attempts = 0, next_attempt_at = NULL, updated_at = ?1 "
		       "WHERE state = 'exists' AND connection_id IS NOT NULL",
    [S_CUSTOMER_STATE] = "SELECT state FROM customers WHERE customer_id = ?1 AND keyless = 0",
    [S_ROW_BY_CUSTOMER] = "SELECT id, state FROM customers WHERE customer_id = ?1 AND keyless = 0",
    [S_SNAPSHOT] = "VACUUM INTO ?1",
};

/* How long a statement waits for another connection's lock before it fails. */
#define BUSY_TIMEOUT_MS 5000

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[S_STMT_COUNT];
	int in_txn;		/* inside store_begin() .. store_commit() */
	int bulk;		/* store_begin_bulk() left WAL: go back at the end */
	int wal_wanted;		/* another connection kept this one out of WAL */
	int64_t import_id;	/* the import in progress, for first_import */
	int64_t defer_since_ms; /* store_defer_long_hints(); 0: none */
	int64_t defer_cap_ms;
	/* the products column of each row of a store_upsert_customers() batch */
	char products[STORE_UPSERT_BATCH][PRODUCTS_TEXT_MAX];
};

const char *state_name(enum row_state s)
{
	return (unsigned)s < STATE_COUNT ? state_names[s] : "unknown";
}

int state_from_name(const char *name, enum row_state *out)
{
	for (int i = 0; i < STATE_COUNT; i++) {
		if (!strcmp(name, state_names[i])) {
			*out = (enum row_state)i;
			return 0;
		}
	}
	return -1;
}

int state_mask_parse(const char *list, unsigned *mask)
{
	struct strbuf word = STRBUF_INIT;
	const char *p = list;
	int ret = 0;

	*mask = 0;
	for (;;) {
		size_t n = strcspn(p, ",");
		enum row_state s;

		strbuf_reset(&word);
		strbuf_add(&word, p, n);
		strbuf_trim(&word);
		if (state_from_name(word.buf, &s) < 0) {
			ret = error("'%s' is not a state (pending, in_flight, retry_wait, created, "
				    "exists, failed, invalid)",
				    word.buf);
			goto out;
		}
		*mask |= STATE_MASK(s);
		if (!p[n])
			break;
		p += n + 1;
	}
out:
	strbuf_release(&word);
	return ret;
}

/* Reports the connection's last error for what, and returns -1. */
static int db_error(struct store *st, const char *what)
{
	if (store_last_error_busy(st))
		return error("%s: %s: %s for more than %d s: another process holds a write "
			     "lock on it (a finch-onboard import until it commits, an sqlite3 "
			     "shell or a backup inside a transaction); try again when it ends",
			     st->path, what, sqlite3_errmsg(st->db), BUSY_TIMEOUT_MS / 1000);
	return error("%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
}

/* Steps a statement expected to return no row, then resets it. */
static int exec_stmt(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];
	int rc = sqlite3_step(s);

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		db_error(st, stmt_sql[id]);
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		return -1;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return 0;
}

/*
 * Binds a string, or NULL when v is NULL. SQLITE_STATIC: every caller steps
 * and resets the statement before its strings can change, so SQLite need
 * not copy them (a malloc and a memcpy per cell on the import path).
 */
static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

/* Binds an integer, or NULL when v equals null_value. */
static void bind_int_or_null(sqlite3_stmt *s, int i, int64_t v, int64_t null_value)
{
	if (v == null_value)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

static char *column_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

static const char *column_str(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

static int exec_script(struct store *st, const char *sql, const char *what)
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
		return db_error(st, "cannot read the schema version");
	if (sqlite3_step(s) == SQLITE_ROW) {
		*version = sqlite3_column_int64(s, 0);
		ret = 0;
	} else {
		db_error(st, "cannot read the schema version");
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
static int set_journal_mode(struct store *st, const char *sql, const char *want)
{
	sqlite3_stmt *s;
	int rc, ret;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return db_error(st, "cannot set the journal mode");
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = !strcmp(column_str(s, 0), want);
	else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
		ret = 0;
	else
		ret = db_error(st, "cannot set the journal mode");
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
static int enter_wal(struct store *st)
{
	int64_t version = 0;
	int r = set_journal_mode(st, "PRAGMA journal_mode = WAL", "wal");

	if (r < 0)
		return -1;
	st->wal_wanted = !r;
	return r ? read_user_version(st, &version) : 0;
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
	if (exec_script(st, "BEGIN IMMEDIATE", "cannot start the schema migration") < 0)
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
		if (exec_script(st, store_migrations[i], what) < 0 ||
		    read_user_version(st, &now_version) < 0)
			goto fail;
		if (now_version != (int64_t)i + 1) {
			error("%s: schema migration %03zu did not set user_version", st->path,
			      i + 1);
			goto fail;
		}
	}
	if (exec_script(st, "COMMIT", "cannot commit the schema migration") < 0)
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
		return db_error(st, "cannot read the schema");
	if (sqlite3_step(s) == SQLITE_ROW) {
		all = sqlite3_column_int64(s, 0);
		ours = sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	if (all < 0)
		return db_error(st, "cannot read the schema");
	*empty = all == 0 && version == 0;
	if (*empty || (version > 0 && ours == 4))
		return 0;
	return error("'%s' is not a finch-onboard database (it holds %lld other schema objects "
		     "and no finch-onboard tables); check --db",
		     st->path, (long long)all);
}

/* Prepares every statement of stmt_sql, once. */
static int prepare_all(struct store *st)
{
	for (int i = 0; i < S_STMT_COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &st->stmt[i], NULL) != SQLITE_OK) {
			error("%s: cannot prepare statement: %s (%s)", st->path,
			      sqlite3_errmsg(st->db), stmt_sql[i]);
			return -1;
		}
	}
	return 0;
}

/* Opens the connection with flags (and path as a URI when it is one); common settings. */
static int connect(struct store *st, const char *name, int flags)
{
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
 * SQLite names its write-ahead log, shared memory and journal after the
 * path it was given, not after the file: through a second hard link a
 * process sees neither the other's log nor its journal, re-sends answered
 * rows and corrupts the file (sqlite.org/howtocorrupt.html, "Multiple
 * links to the same file"). A symlink is fine: SQLite resolves it.
 */
static int refuse_hard_links(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink > 1)
		return error("database '%s' has %lu hard links; SQLite keeps its log beside the "
			     "name it is opened by, so two names for one database lose answers "
			     "and corrupt it: keep one name (a symlink is fine)",
			     path, (unsigned long)sb.st_nlink);
	return 0;
}

int store_open(const char *path, struct store **out)
{
	struct store *st = xcalloc(1, sizeof(*st));
	int64_t version = 0;
	int empty;

	/*
	 * SQLite counts every allocation under a global mutex, for
	 * sqlite3_memory_used(), which nothing here reads: a tenth of an
	 * import. It can only be turned off before SQLite initialises, which
	 * the first sqlite3_open() does; later calls fail harmlessly.
	 */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	st->path = xstrdup(path);
	if (refuse_hard_links(path) < 0 || create_private(path) < 0 ||
	    connect(st, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) < 0)
		goto fail;
	/*
	 * Another program's database, or a newer schema, must be refused
	 * before anything writes: journal_mode would already change the file,
	 * so check first.
	 */
	if (read_user_version(st, &version) < 0 || check_ours(st, version, &empty) < 0)
		goto fail;
	warn_mode(path);
	if (version > (int64_t)store_migration_count) {
		newer_schema_error(st, version);
		goto fail;
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
	if (exec_script(st,
			"PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
			"PRAGMA temp_store = MEMORY;",
			"cannot configure the database") < 0 ||
	    enter_wal(st) < 0)
		goto fail;
	if (migrate(st, version) < 0 || prepare_all(st) < 0)
		goto fail;
	*out = st;
	return 0;
fail:
	store_close(st);
	return -1;
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
static void immutable_uri(struct strbuf *sb, const char *path)
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
	struct strbuf uri = STRBUF_INIT;
	int64_t version = 0;
	int empty, rc;

	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	st->path = xstrdup(path);
	if (access(path, R_OK) < 0) {
		error_errno("cannot open database '%s'", path);
		goto fail;
	}
	if (refuse_hard_links(path) < 0)
		goto fail;
	if (connect(st, path, SQLITE_OPEN_READONLY) < 0)
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
		db_error(st, "cannot read the schema version");
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
		if (!wal_header(path)) {
			db_error(st, "cannot read the schema version");
			goto fail;
		}
		if (!no_pending_log(path)) {
			wal_readonly_error(st);
			goto fail;
		}
		sqlite3_close(st->db);
		st->db = NULL;
		strbuf_reset(&uri);
		immutable_uri(&uri, path);
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
	if (exec_script(st, "PRAGMA temp_store = MEMORY;", "cannot configure the database") < 0 ||
	    prepare_all(st) < 0)
		goto fail;
	strbuf_release(&uri);
	*out = st;
	return 0;
fail:
	strbuf_release(&uri);
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

int store_begin(struct store *st)
{
	if (st->in_txn)
		return error("%s: transaction already open", st->path);
	if (st->wal_wanted && enter_wal(st) < 0)
		return -1;
	if (exec_stmt(st, S_BEGIN) < 0)
		return -1;
	st->in_txn = 1;
	return 0;
}

int store_begin_bulk(struct store *st)
{
	int r;

	if (st->in_txn)
		return error("%s: transaction already open", st->path);
	r = set_journal_mode(st, "PRAGMA journal_mode = DELETE", "delete");
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
	if (r ? exec_script(st, "BEGIN EXCLUSIVE", "cannot start the import") < 0
	      : store_begin(st) < 0) {
		if (r)
			enter_wal(st);
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
	if (exec_stmt(st, S_COMMIT) < 0)
		return -1;
	st->in_txn = 0;
	if (st->bulk) {
		st->bulk = 0;
		return enter_wal(st);
	}
	return 0;
}

void store_rollback(struct store *st)
{
	if (!st->in_txn)
		return;
	sqlite3_step(st->stmt[S_ROLLBACK]);
	sqlite3_reset(st->stmt[S_ROLLBACK]);
	st->in_txn = 0;
	if (st->bulk) {
		st->bulk = 0;
		enter_wal(st);
	}
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
	if (st->wal_wanted && enter_wal(st) < 0)
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
	return db_error(st, "cannot start a transaction");
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
		if (st->bulk) {
			st->bulk = 0;
			return enter_wal(st);
		}
		return 0;
	}
	if ((rc & 0xff) == SQLITE_BUSY && sqlite3_get_autocommit(st->db) == 0)
		return 1;
	return db_error(st, "cannot commit");
}

/* ---- import ------------------------------------------------------------ */

int store_import_start(struct store *st, const char *path, int64_t size, const char *sha256_hex,
		       int64_t started_ms, int64_t *import_id)
{
	sqlite3_stmt *s = st->stmt[S_IMPORT_START];

	bind_text(s, 1, path);
	sqlite3_bind_int64(s, 2, size);
	bind_text(s, 3, sha256_hex);
	sqlite3_bind_int64(s, 4, started_ms);
	if (exec_stmt(st, S_IMPORT_START) < 0)
		return -1;
	st->import_id = *import_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int store_import_finish(struct store *st, int64_t import_id, const struct import_stats *stats,
			int64_t ended_ms)
{
	sqlite3_stmt *s = st->stmt[S_IMPORT_FINISH];

	sqlite3_bind_int64(s, 1, import_id);
	sqlite3_bind_int64(s, 2, stats->rows_read);
	sqlite3_bind_int64(s, 3, stats->accepted);
	sqlite3_bind_int64(s, 4, stats->invalid);
	sqlite3_bind_int64(s, 5, stats->unchanged);
	sqlite3_bind_int64(s, 6, stats->updated);
	sqlite3_bind_int64(s, 7, ended_ms);
	return exec_stmt(st, S_IMPORT_FINISH);
}

int store_import_hash(struct store *st, int64_t import_id, const char *sha256_hex, int64_t size)
{
	sqlite3_bind_int64(st->stmt[S_IMPORT_HASH], 1, import_id);
	bind_text(st->stmt[S_IMPORT_HASH], 2, sha256_hex);
	sqlite3_bind_int64(st->stmt[S_IMPORT_HASH], 3, size);
	return exec_stmt(st, S_IMPORT_HASH);
}

int store_last_import(struct store *st, struct import_record *out)
{
	sqlite3_stmt *s = st->stmt[S_LAST_IMPORT];
	int rc = sqlite3_step(s), ret = 0;

	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(s, 0);
		snprintf(out->path, sizeof(out->path), "%s", column_str(s, 1));
		out->size = sqlite3_column_int64(s, 2);
		snprintf(out->sha256, sizeof(out->sha256), "%s", column_str(s, 3));
		out->stats.rows_read = sqlite3_column_int64(s, 4);
		out->stats.accepted = sqlite3_column_int64(s, 5);
		out->stats.invalid = sqlite3_column_int64(s, 6);
		out->stats.unchanged = sqlite3_column_int64(s, 7);
		out->stats.updated = sqlite3_column_int64(s, 8);
		out->started_ms = sqlite3_column_int64(s, 9);
		out->ended_ms = sqlite3_column_int64(s, 10);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = db_error(st, "cannot read the last import");
	}
	sqlite3_reset(s);
	return ret;
}

/* Binds r's request fields to ?base+2..?base+10, in the order of the customers columns. */
static void bind_request(sqlite3_stmt *s, int base, const struct connect_request *r,
			 const char *products)
{
	bind_text(s, base + 2, r->customer_name);
	bind_text(s, base + 3, r->customer_email);
	bind_text(s, base + 4, products);
	bind_text(s, base + 5, r->redirect_uri);
	bind_int_or_null(s, base + 6, r->minutes_to_expire, 0);
	bind_text(s, base + 7, r->sandbox);
	bind_int_or_null(s, base + 8, r->manual, -1);
	bind_text(s, base + 9, r->integration_provider);
	bind_text(s, base + 10, r->integration_auth_method);
}

/* Binds one INSERT_ROW of a new customer at ?base+1..?base+INSERT_ROW_PARAMS. */
static void bind_insert_row(struct store *st, sqlite3_stmt *s, int base,
			    const struct customer_upsert *u, const char *products,
			    const char *source, int64_t now_ms)
{
	bind_text(s, base + 1, u->req->customer_id);
	bind_request(s, base, u->req, products);
	bind_text(s, base + 11, source);
	sqlite3_bind_int64(s, base + 12, u->line);
	bind_int_or_null(s, base + 13, st->import_id, 0);
	bind_int_or_null(s, base + 14, st->import_id, 0);
	sqlite3_bind_int64(s, base + 15, now_ms);
	sqlite3_bind_int64(s, base + 16, now_ms);
}

/*
 * The products column: the names of the bits set in mask, space-separated
 * in the contract's order.
 */
static void products_text(unsigned mask, char out[PRODUCTS_TEXT_MAX])
{
	size_t used = 0;

	out[0] = '\0';
	for (unsigned bit = 1; bit < (1u << PRODUCT_COUNT); bit <<= 1) {
		if (mask & bit) {
			const char *name = product_name(bit);
			size_t n = strlen(name);

			/* no snprintf: it was 4% of a large import */
			if (used)
				out[used++] = ' ';
			memcpy(out + used, name, n + 1);
			used += n;
		}
	}
}

/*
 * Settles a row that the INSERT OR IGNORE may have skipped: the customer
 * existed, or an earlier line of this import stored it. A row the INSERT
 * itself just stored is recognised by its import and line.
 */
/* Binds ?1..?13 of S_MARK_SEEN, S_FIND_CUSTOMER or S_UPDATE_CUSTOMER (some go unused). */
static void bind_settle(struct store *st, sqlite3_stmt *s, const struct customer_upsert *u,
			const char *products, const char *source)
{
	bind_text(s, 1, u->req->customer_id);
	bind_request(s, 0, u->req, products);
	bind_text(s, 11, source);
	bind_int_or_null(s, 12, st->import_id, 0);
	sqlite3_bind_int64(s, 13, u->line);
}

static int settle_upsert(struct store *st, struct customer_upsert *u, const char *products,
			 const char *source, int64_t now_ms)
{
	sqlite3_stmt *s = st->stmt[S_MARK_SEEN];
	int64_t row = 0, seen = 0, first_line = 0, inserted = 0;
	int rc;

	/* first the common case of a file imported again: unchanged, one statement */
	bind_settle(st, s, u, products, source);
	if (exec_stmt(st, S_MARK_SEEN) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 1) {
		u->res = UPSERT_UNCHANGED;
		return 0;
	}

	s = st->stmt[S_FIND_CUSTOMER];
	bind_settle(st, s, u, products, source);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row = sqlite3_column_int64(s, 0);
		seen = sqlite3_column_int64(s, 1);
		first_line = sqlite3_column_int64(s, 2);
		inserted = sqlite3_column_int64(s, 3);
	} else if (rc == SQLITE_DONE) {
		/* OR IGNORE also skips a row that breaks a CHECK: a bug upstream */
		error("cannot store customer '%s': the row breaks a constraint",
		      u->req->customer_id);
	} else {
		db_error(st, "cannot look up customer");
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW)
		return -1;

	if (inserted) {
		u->res = UPSERT_NEW;
		return 0;
	}
	if (seen) {
		u->res = UPSERT_DUPLICATE;
		u->dup_line = first_line;
		return 0;
	}
	s = st->stmt[S_UPDATE_CUSTOMER];
	bind_settle(st, s, u, products, source);
	sqlite3_bind_int64(s, 14, now_ms);
	sqlite3_bind_int64(s, 15, row);
	u->res = UPSERT_UPDATED;
	return exec_stmt(st, S_UPDATE_CUSTOMER);
}

int store_upsert_customers(struct store *st, struct customer_upsert *rows, size_t n,
			   const char *source, int64_t now_ms)
{
	size_t inserted = 0;

	if (n > STORE_UPSERT_BATCH)
		return error("%s: %zu rows in one upsert, more than %d", st->path, n,
			     STORE_UPSERT_BATCH);
	for (size_t i = 0; i < n; i++)
		products_text(rows[i].req->products, st->products[i]);
	/*
	 * New customers (the common case of a first import) are one INSERT:
	 * OR IGNORE turns the unique customer_id into "it exists", and only
	 * then are the rows looked up, compared and settled one by one.
	 */
	if (n == STORE_UPSERT_BATCH) {
		sqlite3_stmt *s = st->stmt[S_INSERT_CUSTOMERS];

		for (size_t i = 0; i < n; i++)
			bind_insert_row(st, s, (int)i * INSERT_ROW_PARAMS, &rows[i],
					st->products[i], source, now_ms);
		if (exec_stmt(st, S_INSERT_CUSTOMERS) < 0)
			return -1;
		inserted = (size_t)sqlite3_changes(st->db);
		for (size_t i = 0; i < n; i++) {
			rows[i].res = UPSERT_NEW;
			if (inserted < n &&
			    settle_upsert(st, &rows[i], st->products[i], source, now_ms) < 0)
				return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		bind_insert_row(st, st->stmt[S_INSERT_CUSTOMER], 0, &rows[i], st->products[i],
				source, now_ms);
		if (exec_stmt(st, S_INSERT_CUSTOMER) < 0)
			return -1;
		rows[i].res = UPSERT_NEW;
		if (sqlite3_changes(st->db) != 1 &&
		    settle_upsert(st, &rows[i], st->products[i], source, now_ms) < 0)
			return -1;
	}
	return 0;
}

int store_upsert_customer(struct store *st, const struct connect_request *r, const char *source,
			  int64_t line, int64_t now_ms, enum upsert_result *res, int64_t *dup_line)
{
	struct customer_upsert u = {.req = r, .line = line};

	if (store_upsert_customers(st, &u, 1, source, now_ms) < 0)
		return -1;
	*res = u.res;
	*dup_line = u.dup_line;
	return 0;
}

int store_seen_in_import(struct store *st, const char *customer_id, int64_t *line)
{
	sqlite3_stmt *s = st->stmt[S_SEEN_LINE];
	int rc, ret = 0;

	bind_text(s, 1, customer_id);
	bind_int_or_null(s, 2, st->import_id, 0);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*line = sqlite3_column_int64(s, 0);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = db_error(st, "cannot look up customer");
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int store_mark_invalid(struct store *st, const char *customer_id, const char *display_id,
		       const char *display_name, const char *reason, const char *source,
		       int64_t line, int64_t now_ms)
{
	enum stmt_id id = customer_id ? S_INVALID_KEYED : S_INVALID_KEYLESS;
	sqlite3_stmt *s = st->stmt[id];

	bind_text(s, 1, customer_id ? customer_id : display_id ? display_id : "");
	bind_text(s, 2, display_name ? display_name : "");
	bind_text(s, 3, reason);
	bind_text(s, 4, source);
	sqlite3_bind_int64(s, 5, line);
	bind_int_or_null(s, 6, st->import_id, 0);
	sqlite3_bind_int64(s, 7, now_ms);
	return exec_stmt(st, id);
}

int store_forget_keyless(struct store *st, const char *source)
{
	bind_text(st->stmt[S_FORGET_KEYLESS], 1, source);
	return exec_stmt(st, S_FORGET_KEYLESS);
}

/* ---- status ------------------------------------------------------------ */

#define DAY_MS (24 * 3600 * 1000LL)

int store_count_states(struct store *st, int64_t now_ms, struct state_counts *out)
{
	sqlite3_stmt *s = st->stmt[S_COUNT_STATES];
	int rc, ret = 0;

	memset(out, 0, sizeof(*out));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		enum row_state state;

		if (state_from_name(column_str(s, 0), &state) == 0)
			out->by_state[state] = sqlite3_column_int64(s, 1);
		out->total += sqlite3_column_int64(s, 1);
		out->retries += sqlite3_column_int64(s, 2);
		out->line_invalid += sqlite3_column_int64(s, 3);
	}
	if (rc != SQLITE_DONE)
		ret = db_error(st, "cannot count rows");
	sqlite3_reset(s);
	if (ret)
		return ret;

	s = st->stmt[S_COUNT_EXPIRY];
	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int64(s, 2, now_ms + 7 * DAY_MS);
	if (sqlite3_step(s) == SQLITE_ROW) {
		out->expired = sqlite3_column_int64(s, 0);
		out->expiring_soon = sqlite3_column_int64(s, 1);
	} else {
		ret = db_error(st, "cannot count expiring sessions");
	}
	sqlite3_reset(s);
	if (ret)
		return ret;

	s = st->stmt[S_COUNT_CARRY];
	sqlite3_bind_int64(s, 1, now_ms);
	if (sqlite3_step(s) == SQLITE_ROW) {
		out->carried = sqlite3_column_int64(s, 0);
		out->next_retry_ms = sqlite3_column_int64(s, 1);
		out->carried_until_ms = sqlite3_column_int64(s, 2);
	} else {
		ret = db_error(st, "cannot count the rows waiting for a retry");
	}
	sqlite3_reset(s);
	return ret;
}

int store_each_failure_group(struct store *st,
			     int (*fn)(const char *finch_code, long http_status, int64_t count,
				       void *data),
			     void *data)
{
	sqlite3_stmt *s = st->stmt[S_FAILURE_GROUPS];
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (fn(column_str(s, 0), (long)sqlite3_column_int64(s, 1),
		       sqlite3_column_int64(s, 2), data))
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_error(st, "cannot group failures");
	sqlite3_reset(s);
	return ret;
}

/* The elapsed_ms at percentile p (nearest rank) of the n answered attempts of run. */
static int run_percentile(struct store *st, int64_t run, int64_t n, double p, double *out)
{
	sqlite3_stmt *s = st->stmt[S_RUN_LATENCY_AT];
	int64_t rank = (int64_t)(p * (double)n + 0.999999999);
	int ret = 0;

	if (rank < 1)
		rank = 1;
	sqlite3_bind_int64(s, 1, run);
	sqlite3_bind_int64(s, 2, rank - 1);
	if (sqlite3_step(s) == SQLITE_ROW)
		*out = (double)sqlite3_column_int64(s, 0);
	else
		ret = db_error(st, "cannot compute latency");
	sqlite3_reset(s);
	return ret;
}

int store_last_run(struct store *st, struct run_record *out)
{
	sqlite3_stmt *s = st->stmt[S_LAST_RUN];
	int64_t answered = 0;
	int rc, ret = 0;

	memset(out, 0, sizeof(*out));
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(s, 0);
		out->started_ms = sqlite3_column_int64(s, 1);
		out->ended_ms = sqlite3_column_int64(s, 2);
		snprintf(out->exit_reason, sizeof(out->exit_reason), "%s", column_str(s, 3));
		out->pid = sqlite3_column_int64(s, 4);
		out->attempts = sqlite3_column_int64(s, 5);
		answered = sqlite3_column_int64(s, 6);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = db_error(st, "cannot read the last run");
	}
	sqlite3_reset(s);
	if (ret == 1 && answered > 0) {
		if (run_percentile(st, out->id, answered, 0.50, &out->p50_ms) < 0 ||
		    run_percentile(st, out->id, answered, 0.95, &out->p95_ms) < 0 ||
		    run_percentile(st, out->id, answered, 0.99, &out->p99_ms) < 0)
			return -1;
	}
	return ret;
}

/* ---- run --------------------------------------------------------------- */

static int insert_attempt(struct store *st, const struct attempt_record *a)
{
	sqlite3_stmt *s = st->stmt[S_ATTEMPT_INSERT];

	sqlite3_bind_int64(s, 1, a->customer_row);
	bind_int_or_null(s, 2, a->run_id, 0);
	sqlite3_bind_int64(s, 3, a->attempt_no);
	bind_text(s, 4, a->kind == REQUEST_REAUTH ? "reauth" : "create");
	sqlite3_bind_int64(s, 5, a->started_ms);
	sqlite3_bind_int64(s, 6, a->elapsed_ms);
	bind_int_or_null(s, 7, a->http_status, 0);
	bind_text(s, 8, a->transport_error);
	bind_text(s, 9, a->finch_code);
	bind_text(s, 10, a->request_id);
	bind_text(s, 11, a->message);
	bind_text(s, 12, a->session_id);
	bind_text(s, 13, a->connection_id);
	return exec_stmt(st, S_ATTEMPT_INSERT);
}

int store_recover_in_flight(struct store *st, int64_t now_ms, int64_t *count)
{
	static const char lost[] =
	    "outcome unknown: the run stopped before the answer was recorded";
	sqlite3_stmt *s = st->stmt[S_IN_FLIGHT_ROWS];
	struct attempt_record a = {0};
	int64_t *rows = NULL;
	size_t n = 0, alloc = 0;
	int rc, ret = -1;

	*count = 0;
	if (store_begin(st) < 0)
		return -1;
	/* Read first, write after: updating rows under a live SELECT of them is fragile. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n + 3 > alloc) {
			alloc = alloc ? alloc * 2 : 48;
			rows = xrealloc(rows, alloc * sizeof(*rows));
		}
		rows[n++] = sqlite3_column_int64(s, 0);
		rows[n++] = sqlite3_column_int64(s, 1);
		rows[n++] = !strcmp(column_str(s, 2), "reauth") ? REQUEST_REAUTH : REQUEST_CREATE;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		db_error(st, "cannot find rows left in flight");
		goto out;
	}
	for (size_t i = 0; i < n; i += 3) {
		sqlite3_stmt *u = st->stmt[S_RECOVER_ROW];

		a.customer_row = rows[i];
		a.attempt_no = rows[i + 1] + 1;
		a.kind = (enum request_kind)rows[i + 2];
		a.started_ms = now_ms;
		a.transport_error = "outcome unknown";
		a.message = lost;
		if (insert_attempt(st, &a) < 0)
			goto out;
		sqlite3_bind_int64(u, 1, rows[i]);
		bind_text(u, 2, lost);
		sqlite3_bind_int64(u, 3, now_ms);
		if (exec_stmt(st, S_RECOVER_ROW) < 0)
			goto out;
	}
	if (store_commit(st) < 0)
		goto out;
	*count = (int64_t)(n / 3);
	ret = 0;
out:
	if (ret)
		store_rollback(st);
	free(rows);
	return ret;
}

int store_run_start(struct store *st, int64_t now_ms, int64_t *run_id)
{
	sqlite3_bind_int64(st->stmt[S_RUN_START], 1, now_ms);
	sqlite3_bind_int64(st->stmt[S_RUN_START], 2, (int64_t)getpid());
	if (exec_stmt(st, S_RUN_START) < 0)
		return -1;
	*run_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int store_run_finish(struct store *st, int64_t run_id, int64_t now_ms, const char *exit_reason)
{
	sqlite3_stmt *s = st->stmt[S_RUN_FINISH];

	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_int64(s, 2, now_ms);
	bind_text(s, 3, exit_reason);
	return exec_stmt(st, S_RUN_FINISH);
}

int store_run_outcome(struct store *st, int64_t run_id, int exit_code, int64_t pauses,
		      int64_t outages)
{
	sqlite3_stmt *s = st->stmt[S_RUN_OUTCOME];

	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_int64(s, 2, exit_code);
	sqlite3_bind_int64(s, 3, pauses);
	sqlite3_bind_int64(s, 4, outages);
	return exec_stmt(st, S_RUN_OUTCOME);
}

int store_metrics(struct store *st, struct store_metrics *out)
{
	sqlite3_stmt *s = st->stmt[S_METRIC_REQUESTS];
	int rc, ret = 0;

	memset(out, 0, sizeof(*out));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(s, 1);

		if (sqlite3_column_type(s, 0) == SQLITE_NULL)
			out->requests_unanswered += n;
		else if (sqlite3_column_int64(s, 0) >= 1 && sqlite3_column_int64(s, 0) <= 5)
			out->requests_by_class[sqlite3_column_int64(s, 0) - 1] += n;
		out->throttled += sqlite3_column_int64(s, 2);
	}
	if (rc != SQLITE_DONE)
		ret = db_error(st, "cannot count requests");
	sqlite3_reset(s);
	if (ret)
		return ret;
	s = st->stmt[S_METRIC_RUNS];
	if (sqlite3_step(s) == SQLITE_ROW) {
		out->runs = sqlite3_column_int64(s, 0);
		out->pauses = sqlite3_column_int64(s, 1);
		out->outages = sqlite3_column_int64(s, 2);
		out->last_success_ms = sqlite3_column_int64(s, 3);
	} else {
		ret = db_error(st, "cannot read the runs");
	}
	sqlite3_reset(s);
	return ret;
}

void store_job_release(struct store_job *job)
{
	connect_request_release(&job->req);
	free(job->connection_id);
	memset(job, 0, sizeof(*job));
}

/* Fills job from a row of JOB_COLUMNS. */
static void read_job(sqlite3_stmt *s, struct store_job *job)
{
	const char *products = column_str(s, 5);

	memset(job, 0, sizeof(*job));
	connect_request_init(&job->req);
	job->id = sqlite3_column_int64(s, 0);
	job->kind = !strcmp(column_str(s, 1), "reauth") ? REQUEST_REAUTH : REQUEST_CREATE;
	job->req.customer_id = column_dup(s, 2);
	job->req.customer_name = column_dup(s, 3);
	job->req.customer_email = column_dup(s, 4);
	if (products) {
		char why[VALIDATE_WHY_MAX];

		/* Stored lists are canonical; a hand-edited bad one just sends fewer products. */
		if (parse_products(products, &job->req.products, why, sizeof(why)) < 0)
			job->req.products = 0;
	}
	job->req.redirect_uri = column_dup(s, 6);
	job->req.minutes_to_expire =
	    sqlite3_column_type(s, 7) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 7);
	job->req.sandbox = column_dup(s, 8);
	job->req.manual = sqlite3_column_type(s, 9) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 9);
	job->req.integration_provider = column_dup(s, 10);
	job->req.integration_auth_method = column_dup(s, 11);
	job->connection_id = column_dup(s, 12);
	job->attempts = sqlite3_column_int64(s, 13);
	job->attempt_total = sqlite3_column_int64(s, 14);
	job->first_transient_ms = sqlite3_column_int64(s, 15);
	job->was_waiting = sqlite3_column_int(s, 16);
}

void store_defer_long_hints(struct store *st, int64_t since_ms, int64_t cap_ms)
{
	st->defer_since_ms = since_ms;
	st->defer_cap_ms = cap_ms;
}

/* Binds NOT_DEFERRED's two parameters at i and i + 1. */
static void bind_deferral(struct store *st, sqlite3_stmt *s, int i)
{
	sqlite3_bind_int64(s, i, st->defer_since_ms ? st->defer_since_ms : INT64_MAX);
	sqlite3_bind_int64(s, i + 1, st->defer_cap_ms);
}

int store_claim_due(struct store *st, int64_t now_ms, size_t max, struct store_job *jobs, size_t *n)
{
	sqlite3_stmt *s = st->stmt[S_CLAIM];
	int own_txn = !st->in_txn, rc, ret = -1;

	*n = 0;
	if (!max)
		return 0;
	if (own_txn && store_begin(st) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int64(s, 2, (int64_t)max);
	bind_deferral(st, s, 3);
	while (*n < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
		read_job(s, &jobs[(*n)++]);
	if (*n < max && rc != SQLITE_DONE) {
		db_error(st, "cannot claim rows");
		goto out;
	}
	if (sqlite3_reset(s) != SQLITE_OK) {
		db_error(st, "cannot claim rows");
		goto out;
	}
	if (own_txn && store_commit(st) < 0)
		goto out;
	ret = 0;
out:
	sqlite3_clear_bindings(s);
	if (ret) {
		sqlite3_reset(s);
		for (size_t i = 0; i < *n; i++)
			store_job_release(&jobs[i]);
		*n = 0;
		if (own_txn)
			store_rollback(st);
	}
	return ret;
}

int store_each_due(struct store *st, int64_t now_ms,
		   int (*fn)(const struct store_job *job, void *data), void *data)
{
	sqlite3_stmt *s = st->stmt[S_EACH_DUE];
	struct store_job job;
	int rc, ret = 0;

	sqlite3_bind_int64(s, 1, now_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int stop;

		read_job(s, &job);
		stop = fn(&job, data);
		store_job_release(&job);
		if (stop)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_error(st, "cannot list due rows");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int store_next_retry_at(struct store *st, int64_t horizon_ms, int64_t *when_ms)
{
	sqlite3_stmt *s = st->stmt[S_NEXT_RETRY];
	int ret = 0;

	sqlite3_bind_int64(s, 1, horizon_ms);
	bind_deferral(st, s, 2);
	if (sqlite3_step(s) == SQLITE_ROW) {
		if (sqlite3_column_type(s, 0) != SQLITE_NULL) {
			*when_ms = sqlite3_column_int64(s, 0);
			ret = 1;
		}
	} else {
		ret = db_error(st, "cannot find the next retry");
	}
	sqlite3_reset(s);
	return ret;
}

int store_has_due(struct store *st, int64_t now_ms)
{
	sqlite3_stmt *s = st->stmt[S_HAS_DUE];
	int ret;

	sqlite3_bind_int64(s, 1, now_ms);
	bind_deferral(st, s, 2);
	if (sqlite3_step(s) == SQLITE_ROW)
		ret = sqlite3_column_int(s, 0) != 0;
	else
		ret = db_error(st, "cannot look for due rows");
	sqlite3_reset(s);
	return ret;
}

static int64_t attempt_end(const struct attempt_record *a)
{
	return a->started_ms + a->elapsed_ms;
}

int store_record_created(struct store *st, const struct attempt_record *a, const char *session_id,
			 const char *connect_url, int64_t expires_at_ms)
{
	sqlite3_stmt *s = st->stmt[S_SET_CREATED];
	struct attempt_record with_id = *a;

	with_id.session_id = session_id;
	if (insert_attempt(st, &with_id) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, a->customer_row);
	bind_text(s, 2, session_id);
	bind_text(s, 3, connect_url);
	sqlite3_bind_int64(s, 4, expires_at_ms);
	bind_int_or_null(s, 5, a->http_status, 0);
	sqlite3_bind_int64(s, 6, attempt_end(a));
	return exec_stmt(st, S_SET_CREATED);
}

int store_record_exists(struct store *st, const struct attempt_record *a, const char *connection_id)
{
	sqlite3_stmt *s = st->stmt[S_SET_EXISTS];
	struct attempt_record with_id = *a;

	with_id.connection_id = connection_id;
	if (insert_attempt(st, &with_id) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, a->customer_row);
	bind_text(s, 2, connection_id);
	bind_int_or_null(s, 3, a->http_status, 0);
	bind_text(s, 4, a->finch_code);
	sqlite3_bind_int64(s, 5, attempt_end(a));
	return exec_stmt(st, S_SET_EXISTS);
}

/* failed and retry_wait share their first seven parameters. */
static int record_problem(struct store *st, enum stmt_id id, const struct attempt_record *a)
{
	sqlite3_stmt *s = st->stmt[id];

	if (insert_attempt(st, a) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, a->customer_row);
	bind_int_or_null(s, 2, a->http_status, 0);
	bind_text(s, 3, a->finch_code);
	bind_text(s, 4, a->message ? a->message : a->transport_error);
	sqlite3_bind_int64(s, 5, attempt_end(a));
	bind_int_or_null(s, 6, a->first_transient_ms, 0);
	bind_int_or_null(s, 7, a->give_up_ms, 0);
	return 0;
}

int store_record_failed(struct store *st, const struct attempt_record *a)
{
	if (record_problem(st, S_SET_FAILED, a) < 0)
		return -1;
	return exec_stmt(st, S_SET_FAILED);
}

int store_record_retry(struct store *st, const struct attempt_record *a, int64_t next_attempt_ms)
{
	if (record_problem(st, S_SET_RETRY, a) < 0)
		return -1;
	sqlite3_bind_int64(st->stmt[S_SET_RETRY], 8, next_attempt_ms);
	return exec_stmt(st, S_SET_RETRY);
}

int store_record_unsent(struct store *st, int64_t customer_row, const struct attempt_record *a)
{
	sqlite3_stmt *s = st->stmt[S_SET_UNSENT];

	if (a && insert_attempt(st, a) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, customer_row);
	sqlite3_bind_int64(s, 2, a ? 1 : 0);
	sqlite3_bind_int64(s, 3, a ? attempt_end(a) : clock_now_ms());
	return exec_stmt(st, S_SET_UNSENT);
}

static const char *const outcome_names[OUTCOME_KIND_COUNT] = {
    "created", "exists", "failed", "retry", "unsent",
};

const char *outcome_kind_name(enum outcome_kind k)
{
	return (unsigned)k < OUTCOME_KIND_COUNT ? outcome_names[k] : "unknown";
}

int outcome_kind_from_name(const char *name, enum outcome_kind *out)
{
	for (int i = 0; i < OUTCOME_KIND_COUNT; i++) {
		if (!strcmp(name, outcome_names[i])) {
			*out = (enum outcome_kind)i;
			return 0;
		}
	}
	return -1;
}

void store_outcome_release(struct store_outcome *o)
{
	free(o->customer_id);
	free(o->transport_error);
	free(o->finch_code);
	free(o->request_id);
	free(o->message);
	free(o->session_id);
	free(o->connect_url);
	free(o->connection_id);
	memset(o, 0, sizeof(*o));
}

static void outcome_attempt(const struct store_outcome *o, struct attempt_record *a)
{
	memset(a, 0, sizeof(*a));
	a->customer_row = o->customer_row;
	a->run_id = o->run_id;
	a->attempt_no = o->attempt_no;
	a->kind = o->req_kind;
	a->started_ms = o->started_ms;
	a->elapsed_ms = o->elapsed_ms;
	a->http_status = o->http_status;
	a->transport_error = o->transport_error;
	a->finch_code = o->finch_code;
	a->request_id = o->request_id;
	a->message = o->message;
	a->session_id = o->session_id;
	a->connection_id = o->connection_id;
	a->first_transient_ms = o->first_transient_ms;
	a->give_up_ms = o->give_up_ms;
}

int store_record_outcome(struct store *st, const struct store_outcome *o)
{
	struct attempt_record a;

	outcome_attempt(o, &a);
	switch (o->kind) {
	case OUTCOME_CREATED:
		return store_record_created(st, &a, o->session_id, o->connect_url,
					    o->expires_at_ms);
	case OUTCOME_EXISTS:
		return store_record_exists(st, &a, o->connection_id);
	case OUTCOME_FAILED:
		return store_record_failed(st, &a);
	case OUTCOME_RETRY:
		return store_record_retry(st, &a, o->next_attempt_ms);
	case OUTCOME_UNSENT:
		return store_record_unsent(st, o->customer_row, &a);
	case OUTCOME_KIND_COUNT:
		break;
	}
	return error("%s: unknown outcome kind %d", st->path, (int)o->kind);
}

int store_replay_outcome(struct store *st, const struct store_outcome *o, int *applied)
{
	sqlite3_stmt *s = st->stmt[S_ROW_BY_CUSTOMER];
	struct store_outcome here = *o;
	struct attempt_record a;
	int64_t row = 0;
	int rc, in_flight = 0;

	*applied = -1;
	bind_text(s, 1, o->customer_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row = sqlite3_column_int64(s, 0);
		in_flight = !strcmp(column_str(s, 1), "in_flight");
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_error(st, "cannot look up a journaled customer");
	if (rc == SQLITE_DONE)
		return 0;
	here.customer_row = row;
	if (in_flight) {
		*applied = 1;
		return store_record_outcome(st, &here);
	}
	/* The row moved on: keep the answer in the history only. */
	outcome_attempt(&here, &a);
	*applied = 0;
	return insert_attempt(st, &a);
}

/* ---- results ------------------------------------------------------------ */

int store_each_export(struct store *st, const struct export_filter *f,
		      int (*fn)(const struct export_row *row, void *data), void *data)
{
	sqlite3_stmt *s = st->stmt[S_EXPORT];
	struct export_row row;
	int rc, ret = 0;

	sqlite3_bind_int64(s, 1, f->state_mask);
	sqlite3_bind_int64(s, 2, f->since_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		enum row_state state = STATE_INVALID;

		state_from_name(column_str(s, 2), &state);
		row.customer_id = column_str(s, 0);
		row.customer_name = column_str(s, 1);
		row.state = state;
		row.session_id = column_str(s, 3);
		row.connect_url = column_str(s, 4);
		row.connection_id = column_str(s, 5);
		row.expires_at_ms = sqlite3_column_int64(s, 6);
		row.attempts = sqlite3_column_int64(s, 7);
		row.http_status = (long)sqlite3_column_int64(s, 8);
		row.finch_code = column_str(s, 9);
		row.error = column_str(s, 10);
		row.updated_at_ms = sqlite3_column_int64(s, 11);
		row.next_attempt_at_ms = sqlite3_column_int64(s, 12);
		row.retry_until_ms = sqlite3_column_int64(s, 13);
		if ((ret = fn(&row, data)) != 0)
			break;
	}
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = db_error(st, "cannot read rows to export");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int store_requeue(struct store *st, const struct requeue_filter *f, int64_t now_ms, int64_t *count)
{
	sqlite3_stmt *s = st->stmt[S_REQUEUE];
	size_t rounds = f->customers ? f->ncustomers : 1;

	*count = 0;
	if (store_begin(st) < 0)
		return -1;
	for (size_t i = 0; i < rounds; i++) {
		sqlite3_bind_int64(s, 1, f->state_mask ? f->state_mask : STATE_MASK(STATE_FAILED));
		bind_text(s, 2, f->finch_code);
		sqlite3_bind_int64(s, 3, f->http_status);
		bind_text(s, 4, f->customers ? f->customers[i] : NULL);
		sqlite3_bind_int64(s, 5, now_ms);
		if (exec_stmt(st, S_REQUEUE) < 0) {
			store_rollback(st);
			return -1;
		}
		*count += sqlite3_changes(st->db);
	}
	if (store_commit(st) < 0) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

static int queue_rows(struct store *st, enum stmt_id id, int64_t now_ms, int64_t *count)
{
	*count = 0;
	sqlite3_bind_int64(st->stmt[id], 1, now_ms);
	if (exec_stmt(st, id) < 0)
		return -1;
	*count = sqlite3_changes(st->db);
	return 0;
}

int store_requeue_transient(struct store *st, int64_t now_ms, int64_t *count)
{
	return queue_rows(st, S_REQUEUE_TRANSIENT, now_ms, count);
}

int store_queue_expired(struct store *st, int64_t now_ms, int64_t *count)
{
	return queue_rows(st, S_QUEUE_EXPIRED, now_ms, count);
}

int store_queue_reauth(struct store *st, int64_t now_ms, int64_t *count)
{
	return queue_rows(st, S_QUEUE_REAUTH, now_ms, count);
}

int store_customer_state(struct store *st, const char *customer_id, enum row_state *state)
{
	sqlite3_stmt *s = st->stmt[S_CUSTOMER_STATE];
	int rc, ret = 0;

	bind_text(s, 1, customer_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = state_from_name(column_str(s, 0), state) == 0 ? 1 : 0;
	else if (rc != SQLITE_DONE)
		ret = db_error(st, "cannot look up customer");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int store_snapshot(struct store *st, const char *path)
{
	if (st->in_txn)
		return error("%s: cannot snapshot inside a transaction", st->path);
	bind_text(st->stmt[S_SNAPSHOT], 1, path);
	return exec_stmt(st, S_SNAPSHOT);
}
