/*
 * store_int.h: what the files of src/store/ that hold SQL share, and
 * nothing outside src/store/ includes: struct store, the ids of the
 * prepared statements, and the helpers that bind, step and report.
 *
 * Each store_*.c file owns the SQL of its statements, in a table indexed
 * by enum stmt_id (the other files' entries left NULL); store_open()
 * prepares every one of them once.
 */
#ifndef FINCH_STORE_INT_H
#define FINCH_STORE_INT_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/utf8.h"
#include "base/util.h"
#include "finch/validate.h"
#include "store/store.h"

enum stmt_id {
	/* store_open.c: transactions and the snapshot */
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SNAPSHOT,
	/* store_import.c */
	S_IMPORT_START,
	S_IMPORT_FINISH,
	S_IMPORT_HASH,
	S_LAST_IMPORT,
	S_MARK_SEEN,
	S_FIND_CUSTOMER,
	S_INSERT_CUSTOMER,
	S_INSERT_CUSTOMERS,
	S_UPDATE_CUSTOMER,
	S_MARK_CHANGED,
	S_SEEN_LINE,
	S_INVALID_KEYED,
	S_INVALID_KEYLESS,
	S_FORGET_KEYLESS,
	S_SET_KEPT,
	S_COUNT_MISSING,
	S_WITHDRAW_MISSING,
	S_RETURN_SEEN,
	/* store_queue.c */
	S_HAS_ROWS,
	S_IN_FLIGHT_ROWS,
	S_RECOVER_ROW,
	S_CLAIM,
	S_EACH_DUE,
	S_PLAN_COUNTS,
	S_GIVE_UP_WINDOW,
	S_GIVE_UP_NEW,
	S_NEXT_RETRY,
	S_HAS_DUE,
	S_REQUEUE_TRANSIENT,
	S_SETTLING,
	S_REQUEUE,
	S_QUEUE_EXPIRED,
	S_QUEUE_REAUTH,
	S_QUEUE_CHANGED,
	/* store_outcome.c */
	S_ATTEMPT_INSERT,
	S_SET_CREATED,
	S_SET_EXISTS,
	S_SET_FAILED,
	S_SET_UNCONFIRMED,
	S_SET_RETRY,
	S_SET_UNSENT,
	S_ROW_BY_CUSTOMER,
	S_RUN_EXISTS,
	S_REPLAY_CLAIM,
	S_LEDGER_ADD,
	S_DATABASE_ID,
	S_RUN_START,
	S_RUN_FINISH,
	S_RUN_OUTCOME,
	/* store_report.c */
	S_COUNT_BY_STATE,
	S_COUNT_SUMS,
	S_COUNT_EXPIRY,
	S_COUNT_CARRY,
	S_FAILURE_GROUPS,
	S_GIVEN_UP_GROUPS,
	S_FUNNEL_COUNTS,
	S_FUNNEL_STATUSES,
	S_FUNNEL_AGES,
	S_LAST_RUN,
	S_RUN_ATTEMPTS,
	S_RUN_LATENCY_AT,
	S_METRIC_REQUESTS,
	S_METRIC_RUNS,
	S_EXPORT,
	S_KEPT_NAMES,
	S_CUSTOMER_STATE,
	/* store_connections.c */
	S_WEBHOOK_INSERT,
	S_WEBHOOK_APPLY,
	S_WEBHOOK_ROWS,
	S_MARK_CONNECTED,
	S_CONNECTION_LOOKUP,
	S_SANDBOX_COUNTS,
	/* store_prune.c */
	S_PRUNE_COUNT,
	S_PRUNE_TALLY_REQUESTS,
	S_PRUNE_ATTEMPTS,
	S_PRUNE_TALLY_RUNS,
	S_PRUNE_RUNS,
	S_PRUNE_IMPORTS,
	S_PRUNE_WEBHOOKS,
	S_STMT_COUNT
};

/* The statements of each file, indexed by id; NULL: another file's. */
/*
 * RETRY_UNKNOWN_SETTLE_MS (finch/retry.h), 6 minutes, as SQL text: how long
 * a row whose request's outcome is unknown waits (store_queue.c checks that
 * the two agree).
 */
#define STORE_SETTLE_SQL "360000"

/*
 * SQL: 1 when the row's last request's outcome is unknown (its error
 * starts with store_outcome.h's STORE_OUTCOME_UNKNOWN), else 0.
 */
#define STORE_UNKNOWN_SQL "coalesce(error LIKE '" STORE_OUTCOME_UNKNOWN "%', 0)"

extern const char *const store_core_sql[S_STMT_COUNT];
extern const char *const store_import_sql[S_STMT_COUNT];
extern const char *const store_queue_sql[S_STMT_COUNT];
extern const char *const store_outcome_sql[S_STMT_COUNT];
extern const char *const store_report_sql[S_STMT_COUNT];
extern const char *const store_connections_sql[S_STMT_COUNT];
extern const char *const store_prune_sql[S_STMT_COUNT];

/* Maps a state name to its STATE_MASK bit, for filters bound as one integer. */
#define STATE_BIT_SQL                                                                              \
	"(1 << (CASE state WHEN 'pending' THEN 0 WHEN 'in_flight' THEN 1 "                         \
	"WHEN 'retry_wait' THEN 2 WHEN 'created' THEN 3 WHEN 'exists' THEN 4 "                     \
	"WHEN 'failed' THEN 5 ELSE 6 END))"

/* Maps a connection status to its bit of export_filter's connection_mask (connection.h's order). */
#define CONNECTION_BIT_SQL                                                                         \
	"(1 << (CASE connection_status WHEN 'pending' THEN 0 WHEN 'processing' THEN 1 "            \
	"WHEN 'connected' THEN 2 WHEN 'reauth' THEN 3 WHEN 'error_permissions' THEN 4 "            \
	"WHEN 'error_no_account_setup' THEN 5 WHEN 'disconnected' THEN 6 ELSE 31 END))"

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
	int resend_changed;		    /* store_set_resend_changed() */
	char database_id[STORE_ID_HEX + 1]; /* store_database_id(), once read; "": not yet */
	/* the products column of each row of a store_upsert_customers() batch */
	char products[STORE_UPSERT_BATCH][PRODUCTS_TEXT_SIZE];
};

/* Reports the connection's last error for what, and returns -1. */
struct strbuf;
int store_db_error(struct store *st, const char *what);
/*
 * What store_open() does once st->db is connected: refuses another
 * program's database and a newer schema, sets the pragmas and WAL, applies
 * the migrations and prepares the statements. mode_path: the file whose
 * mode to warn of, or NULL. 0, or -1 after an error.
 */
int store_setup(struct store *st, const char *mode_path);
/* Appends the "file:" URI of path with immutable=1 (https://sqlite.org/uri.html) to sb. */
void store_immutable_uri(struct strbuf *sb, const char *path);
/* Steps a statement expected to return no row, then resets it and clears its bindings. */
int store_exec(struct store *st, enum stmt_id id);
/*
 * Steps statement id, bound by the caller and giving one row of counts, into
 * *out[0] .. *out[n - 1] (its first n columns), then resets it and clears its
 * bindings. 0, or -1 after reporting what (store_report.c).
 */
/*
 * Refuses, with an error naming it, a database at path (name: the file
 * SQLite will open, db_name()'s) that SQLite must not open: one with a second
 * hard link, one that is not a regular file, one another user could have
 * planted or changed, or one beside which another user's -journal, -wal or
 * -shm waits (store_trust.c). 0 when none of that holds, else -1.
 */
int store_refuse_untrusted(const char *path, const char *name);

int store_one_row(struct store *st, enum stmt_id id, int64_t *const out[], int n, const char *what);
/*
 * Ends a loop of sqlite3_step() over s, a store_each_*() walk, that stopped
 * on rc (SQLITE_ROW: its callback stopped it, with ret): reports what unless
 * the rows ran out or the callback stopped the walk, resets s and clears its
 * bindings. Returns ret, or -1 after reporting (store_report.c).
 */
int store_each_end(struct store *st, sqlite3_stmt *s, int rc, int ret, const char *what);
/* Adds one attempt to the attempts table (store_outcome.c). */
struct attempt_record;
int store_insert_attempt(struct store *st, const struct attempt_record *a);

/*
 * Binds a string, or NULL when v is NULL. SQLITE_STATIC: every caller steps
 * and resets the statement before its strings can change, so SQLite need
 * not copy them (a malloc and a memcpy per cell on the import path).
 */
static inline void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, i);
}

/*
 * Binds the key customer_id is matched on: its NFC form (customer_key,
 * schema/015), or customer_id itself when it is NULL or not UTF-8 (which
 * then matches nothing).
 */
static inline void bind_key(sqlite3_stmt *s, int i, const char *customer_id)
{
	char *key = customer_id ? utf8_nfc(customer_id) : NULL;

	if (key)
		sqlite3_bind_text(s, i, key, -1, free);
	else
		bind_text(s, i, customer_id);
}

/* Binds an integer, or NULL when v equals null_value. */
static inline void bind_int_or_null(sqlite3_stmt *s, int i, int64_t v, int64_t null_value)
{
	if (v == null_value)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

static inline char *column_dup(sqlite3_stmt *s, int i)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	return t ? xstrdup((const char *)t) : NULL;
}

static inline const char *column_str(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

/* How long SQLite waits for another connection's lock, in ms. */
#define BUSY_TIMEOUT_MS 5000

/* store_open.c's helpers that store_txn.c shares: runs a script of SQL
   (what names it in an error); sets the journal mode by sql and checks that
   SQLite answered want; WAL, as every writer keeps it. -1 after reporting. */
int store_exec_script(struct store *st, const char *sql, const char *what);
int store_set_journal_mode(struct store *st, const char *sql, const char *want);
int store_enter_wal(struct store *st);

/*
 * Defines the two functions of an enum of the store and its names (store.h's
 * state_name() and state_from_name(), store_outcome.h's outcome_kind_name()
 * and outcome_kind_from_name()): names[] holds count names in the enum's
 * order; a value past them is "unknown", a name not among them is -1.
 */
#define STORE_ENUM_NAMES(type, names, count, name_fn, from_name_fn)                                \
	const char *name_fn(type v)                                                                \
	{                                                                                          \
		return (unsigned)v < (count) ? (names)[v] : "unknown";                             \
	}                                                                                          \
	int from_name_fn(const char *name, type *out)                                              \
	{                                                                                          \
		int i = name_index(name, names, count);                                            \
                                                                                                   \
		if (i < 0)                                                                         \
			return -1;                                                                 \
		*out = (type)i;                                                                    \
		return 0;                                                                          \
	}

#endif
