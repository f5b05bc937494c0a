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
 */
#ifndef FINCH_STORE_H
#define FINCH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "finch/connection.h"
#include "finch/validate.h"

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

/*
 * Adds an answers journal line's id to the ledger (journal_applied) within
 * the caller's transaction: *fresh is 1, or 0 when a replay recorded it
 * before.
 */
int store_ledger_add(struct store *st, const char *line_id, int64_t now_ms, int *fresh);

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

/* ---- import ------------------------------------------------------------ */

struct import_stats {
	int64_t rows_read; /* data rows, not counting the header and blank lines */
	int64_t accepted;  /* valid rows that were new */
	int64_t invalid;
	int64_t unchanged;   /* valid rows identical to what the store had */
	int64_t updated;     /* valid rows whose request fields changed, back to pending */
	int64_t changed;     /* rows with a link whose fields changed: link kept, marked */
	int64_t withdrawn;   /* rows of the database the file lacked, withdrawn */
	int64_t returned;    /* withdrawn rows the file has again, back as they were */
	int64_t blank;	     /* records whose cells are all empty, skipped (not stored) */
	int64_t footer;	     /* records of a report's footer, skipped (not stored) */
	int64_t not_utf8;    /* invalid rows with a cell that is not UTF-8 */
	int likely_encoding; /* for those: csv_text.h's enum csv_encoding (not stored) */
};

/* Records the start of an import; *import_id identifies it. Inside a transaction. */
int store_import_start(struct store *st, const char *path, int64_t size, const char *sha256_hex,
		       int64_t started_ms, int64_t *import_id);
int store_import_finish(struct store *st, int64_t import_id, const struct import_stats *stats,
			int64_t ended_ms);
/*
 * Records the file's SHA-256 and its size in bytes, known only once the
 * whole file has been read (a pipe has no size until then).
 */
int store_import_hash(struct store *st, int64_t import_id, const char *sha256_hex, int64_t size);

enum upsert_result {
	UPSERT_NEW,
	UPSERT_UNCHANGED,
	UPSERT_UPDATED,
	UPSERT_DUPLICATE, /* this import stored the customer already: nothing changed */
	UPSERT_CHANGED,	  /* a row with a link: fields changed, state and link kept */
};

/* A valid row of an import, and what storing it did. */
struct customer_upsert {
	const struct connect_request *req; /* in */
	int64_t line;			   /* in: the CSV line its record starts on */
	enum upsert_result res;		   /* out */
	int64_t dup_line;		   /* out: the earlier line, for UPSERT_DUPLICATE */
};

/*
 * Stores the kept columns of a customer's row (a JSON object, or NULL for
 * none), for the export only: it changes neither the row's state nor its
 * updated_at. Inside the import's transaction.
 */
int store_set_kept(struct store *st, const char *customer_id, const char *kept_json);

/* Rows a full store_upsert_customers() batch takes in one statement. */
#define STORE_UPSERT_BATCH 64

/*
 * store_upsert_customer() for n <= STORE_UPSERT_BATCH rows, in order, as if
 * one at a time; a full batch of new customers is one INSERT. The strings
 * of every rows[i].req must stay valid until it returns.
 */
int store_upsert_customers(struct store *st, struct customer_upsert *rows, size_t n,
			   const char *source, int64_t now_ms);

/*
 * Inserts or updates the customer r->customer_id with a valid request.
 * Identical request fields leave the row alone (UPSERT_UNCHANGED). What
 * changed fields do is reconcile_line()'s rule: a row without a link (or
 * one that was invalid) goes back to pending with a fresh attempt budget
 * (UPSERT_UPDATED); a created or exists row keeps its state and link, takes
 * the fields and is marked changed in them (UPSERT_CHANGED), unless
 * store_set_resend_changed() asked for a new link. session_id,
 * connect_url, connection_id and the attempt history are always kept. source names FILE and line
 * the CSV line the record starts on: within one import, a line is one record, and that is how a row
 * the INSERT of a batch just stored is told from one that existed. Call it between
 * store_import_start() and store_import_finish(): the import's id is what tells a new row from an
 * updated one, and a customer this import stored already from an earlier line (UPSERT_DUPLICATE,
 * with that line in *dup_line) from an unchanged one. The database does that bookkeeping, so an
 * import's memory does not grow with the file.
 */
int store_upsert_customer(struct store *st, const struct connect_request *r, const char *source,
			  int64_t line, int64_t now_ms, enum upsert_result *res, int64_t *dup_line);

/*
 * Returns 1 and the line in *line if the current import already stored
 * customer_id (valid or invalid), 0 if not, -1 on error.
 */
int store_seen_in_import(struct store *st, const char *customer_id, int64_t *line);

/*
 * Stores a row that broke a rule, with reason "FILE:LINE: column: why".
 * If customer_id is a usable key (valid, and not a duplicate within this
 * file) the customer's row becomes invalid and keeps its history and its
 * last good request fields; a created or exists row keeps its state and
 * link too, with the reason in error and line_invalid set, until a valid
 * line comes back. Otherwise (customer_id NULL) the line is kept as
 * a keyless invalid row named by display_id (the raw id, made printable),
 * which the next import of the same source replaces.
 */
int store_mark_invalid(struct store *st, const char *customer_id, const char *display_id,
		       const char *display_name, const char *reason, const char *source,
		       int64_t line, int64_t now_ms);

/*
 * Rows missing from a CSV (schema/011_withdrawn.sql), within the import's
 * transaction, after its last row: store_count_missing() counts the active
 * rows the database had before this import (keyed, not withdrawn) and how
 * many of them the import did not have; store_withdraw_missing() withdraws
 * those; store_return_seen() brings back the withdrawn rows the import had.
 */
int store_count_missing(struct store *st, int64_t *active, int64_t *missing);
int store_withdraw_missing(struct store *st, int64_t now_ms, int64_t *count);
int store_return_seen(struct store *st, int64_t now_ms, int64_t *count);

/* Deletes the keyless invalid rows left by earlier imports of source. */
int store_forget_keyless(struct store *st, const char *source);

struct import_record {
	int64_t id;
	char path[4096];
	int64_t size;
	char sha256[65];
	struct import_stats stats;
	int64_t started_ms, ended_ms; /* ended_ms 0: never finished */
};

/* Returns 1 and fills *out with the newest import, 0 if there is none, -1 on error. */
int store_last_import(struct store *st, struct import_record *out);

/* ---- status ------------------------------------------------------------ */

struct state_counts {
	int64_t by_state[STATE_COUNT];
	int64_t total;
	int64_t expired;	  /* created rows whose expires_at is in the past */
	int64_t expiring_soon;	  /* created rows expiring within the next 7 days */
	int64_t retries;	  /* attempts beyond each row's first, over all runs */
	int64_t carried;	  /* failed rows the next sync re-queues (transient errors) */
	int64_t carried_until_ms; /* the latest of their give-up times; 0: none */
	int64_t next_retry_ms;	  /* the earliest retry_wait row's next attempt; 0: none */
	int64_t line_invalid;	  /* created or exists rows whose latest CSV line is invalid */
	int64_t changed;	  /* created or exists rows whose fields changed since their link */
	int64_t withdrawn;	  /* rows missing from the last CSV: in no by_state, in total */
	int64_t given_up;	  /* failed rows whose transient streak outlived --give-up-after */
	int64_t unconfirmed;	  /* failed rows whose 2xx could not be read (schema 013) */
	int64_t outcome_unknown;  /* pending rows whose last request's outcome is unknown */
};

int store_count_states(struct store *st, int64_t now_ms, struct state_counts *out);

/* Calls fn once per (finch_code, http_status) of failed rows, most common first. */
int store_each_failure_group(struct store *st,
			     int (*fn)(const char *finch_code, long http_status, int64_t count,
				       void *data),
			     void *data);

/*
 * The campaign's funnel (store_funnel()), over the keyed rows. A row "has a
 * link" once a session request for it (not a reauthentication) was answered
 * with a session; its link time is the first such answer. Of those rows,
 * each is connected (it has a connection_id: a connections file, a later
 * connection_already_exists, and with them the webhooks), expired (a created
 * row whose link expired unconnected) or open (waiting: the link is still
 * valid, or a renewal is queued): links = connected + expired + open.
 * already_connected rows have a connection_id and never had a link
 * (connection_already_exists at the first request, or the app's file).
 */
/* How far Finch's clock may be behind ours, in ms (see struct funnel). */
#define STORE_CLOCK_SKEW_MS  60000
#define STORE_CLOCK_SKEW_SQL "60000"

struct funnel {
	int64_t links;
	int64_t connected;
	int64_t expired;
	int64_t open;
	int64_t already_connected;
	/* the rows with a connection_id, by connection status (connection.h's
	   order); the last one counts the rows with no status heard yet */
	int64_t by_status[CONNECTION_STATUS_COUNT + 1];
	/* medians in days, -1 when no row has one: from the link to the
	   connection (connected_at; a connection time more than
	   STORE_CLOCK_SKEW_MS before the first link, as an app's file may give,
	   is left out; one less than that before it is at once, 0: a webhook's
	   Finch-Timestamp has whole seconds, from Finch's clock), and the age of
	   the open and of the expired links (since the first link) */
	double days_to_connect, open_days, expired_days;
};

/* Fills *out with the funnel at now_ms. */
int store_funnel(struct store *st, int64_t now_ms, struct funnel *out);

struct run_record {
	int64_t id;
	int64_t started_ms, ended_ms;  /* ended_ms 0: still running, or crashed */
	int64_t attempts;	       /* attempts made by this run */
	double p50_ms, p95_ms, p99_ms; /* latency of this run's answered attempts */
	char exit_reason[32];	       /* "done", "interrupted", "auth", "crashed" ... */
	int64_t pid;		       /* the process that ran it; 0: unknown */
};

/* Returns 1 and fills *out with the newest run, 0 if none, -1 on error. */
int store_last_run(struct store *st, struct run_record *out);

/* ---- run --------------------------------------------------------------- */

/* 1 if the database has a customer's row, 0 if none (never imported into), -1 on error. */
int store_has_rows(struct store *st);

/*
 * Puts every in_flight row (a run that crashed or was killed) back to
 * pending and records its lost attempt as "outcome unknown". Commits.
 * *count tells how many rows were recovered.
 */
int store_recover_in_flight(struct store *st, int64_t now_ms, int64_t *count);

/* Records a run's start, with this process's pid (commits), and end (commits). */
int store_run_start(struct store *st, int64_t now_ms, int64_t *run_id);
int store_run_finish(struct store *st, int64_t run_id, int64_t now_ms, const char *exit_reason);
/* Records how a run ended for monitoring: its exit code, 429 pauses and outages. */
int store_run_outcome(struct store *st, int64_t run_id, int exit_code, int64_t pauses,
		      int64_t outages);

/* What --metrics-file reports from the whole history of the database. */
struct store_metrics {
	int64_t requests_by_class[5]; /* attempts answered 1xx .. 5xx */
	int64_t requests_unanswered;  /* attempts without an answer (transport errors) */
	int64_t throttled;	      /* attempts answered 429 */
	int64_t runs;
	int64_t pauses;		 /* client-wide 429 pauses, over all runs */
	int64_t outages;	 /* times the API stopped answering mid-run */
	int64_t last_success_ms; /* end of the last run that exited 0 or 1; 0: none */
};

int store_metrics(struct store *st, struct store_metrics *out);

/* One row handed to the dispatcher. Strings are owned; store_job_release() frees. */
struct store_job {
	int64_t id; /* the customers row id */
	enum request_kind kind;
	struct connect_request req;
	char *connection_id;	    /* REQUEST_REAUTH: the connection to renew */
	int64_t attempts;	    /* attempts already made in this budget */
	int64_t attempt_total;	    /* attempts ever made for this customer */
	int64_t first_transient_ms; /* start of its streak of transient failures; 0: none */
	int was_waiting;     /* it was claimed from retry_wait (pending has no next_attempt_at) */
	int outcome_unknown; /* its last request's outcome is unknown: a session may exist */
};

void store_job_release(struct store_job *job);

/*
 * Claims up to max rows that are due: retry_wait rows whose
 * next_attempt_at <= now_ms first, then pending rows in import order. They
 * become in_flight. Called outside a transaction, it commits before it
 * returns; called inside one (to share a group commit with recorded
 * outcomes), the caller must commit before sending any claimed request, so
 * a crash can never lose a row. Fills jobs[0..*n).
 */
int store_claim_due(struct store *st, int64_t now_ms, size_t max, struct store_job *jobs,
		    size_t *n);

/*
 * From now on, store_claim_due(), store_next_retry_at() and store_has_due()
 * pass over the retry_wait rows a run deferred: those answered at or after
 * since_ms with a wait longer than cap_ms (--max-retry-after; a second of
 * slack for the time between an answer and its recording). Such a row is
 * left for a later run however long this one lasts (issue 10: a long hint
 * never holds the run). A store never told this defers nothing.
 */
void store_defer_long_hints(struct store *st, int64_t since_ms, int64_t cap_ms);

/*
 * Like store_claim_due() but changes nothing, visiting every row a run
 * would send now (pending, and due retry_wait); for --dry-run.
 */
int store_each_due(struct store *st, int64_t now_ms,
		   int (*fn)(const struct store_job *job, void *data), void *data);

/*
 * Earliest next_attempt_at among retry_wait rows no later than horizon_ms.
 * Returns 1 and stores it, 0 if there is none, -1 on error.
 */
int store_next_retry_at(struct store *st, int64_t horizon_ms, int64_t *when_ms);

/*
 * 1 when store_claim_due() would find a row at now_ms (a pending row, or a
 * retry_wait row that is due), 0 when not, -1 on error. Claims nothing: a
 * rate-limited run asks it rather than wait for a token to find out.
 */
int store_has_due(struct store *st, int64_t now_ms);

/* The rows a run would send now (store_each_due()'s), by kind: the plan of a dry run. */
struct plan_counts {
	int64_t fresh;	 /* never linked: new rows, or rows without a link queued again */
	int64_t relink;	 /* created rows whose fields changed: a new link (--resend-changed) */
	int64_t renew;	 /* created rows whose link expired (--renew-expired) */
	int64_t reauth;	 /* exists rows: a reauthentication */
	int64_t carried; /* rows that failed on transient errors before: tried again */
};

/*
 * Fills out with the rows due at now_ms by kind; with resend_changed, the
 * created and exists rows marked changed count too, as --resend-changed
 * would queue them (a run's dry run queues nothing). Returns 0 or -1.
 */
int store_plan_counts(struct store *st, int64_t now_ms, int resend_changed,
		      struct plan_counts *out);

/* One HTTP attempt, for the attempts table. */
/*
 * The transport_error of an attempt whose request may have reached Finch and
 * whose answer was lost: a crash left its row in_flight
 * (store_recover_in_flight()), or a second signal or the end of --grace cut
 * it short after it went out. Its row goes back to pending with the
 * attempt's message as its error, which starts with these words until an
 * answer replaces it: state_counts.outcome_unknown counts such rows, and a
 * claimed one is store_job.outcome_unknown.
 */
#define STORE_OUTCOME_UNKNOWN "outcome unknown"

struct attempt_record {
	int64_t customer_row; /* customers.id */
	int64_t run_id;
	int64_t attempt_no; /* 1-based over the customer's whole history */
	enum request_kind kind;
	int64_t started_ms;
	int64_t elapsed_ms;
	long http_status;	     /* 0: no answer */
	const char *transport_error; /* NULL unless no answer arrived */
	const char *finch_code;
	const char *request_id; /* Finch-Request-Id */
	const char *message;
	/* store_record_failed() and _retry(): the transient streak (retry_carry_over()); 0: none */
	int64_t first_transient_ms;
	int64_t give_up_ms;	   /* a failed row is re-queued by the next run until then */
	const char *session_id;	   /* a 201's session_id, even when the row keeps another */
	const char *connection_id; /* a connection_already_exists' connection_id */
	int64_t minutes_to_expire; /* what the request sent; 0: unknown (older journals) */
};

/*
 * The outcome writers. Each records the attempt and moves the row, within
 * the caller's transaction (the dispatcher group-commits them).
 */
int store_record_created(struct store *st, const struct attempt_record *a, const char *session_id,
			 const char *connect_url, int64_t expires_at_ms);
int store_record_exists(struct store *st, const struct attempt_record *a,
			const char *connection_id);
int store_record_failed(struct store *st, const struct attempt_record *a);
/*
 * A 2xx whose body could not be read (schema/013_unconfirmed.sql): the row
 * fails, flagged unconfirmed, with a's request_id and body (escaped and
 * bounded: dispatch's), and is sent again only by an explicit retry.
 */
int store_record_unconfirmed(struct store *st, const struct attempt_record *a, const char *body);
int store_record_retry(struct store *st, const struct attempt_record *a, int64_t next_attempt_ms);
/*
 * The attempt was cut short with no answer that counts (401 elsewhere in the
 * run, or a forced stop): the row goes back to pending, its budget untouched.
 * a may be NULL when the request never went out. When a's transport_error
 * is STORE_OUTCOME_UNKNOWN, its message becomes the row's error.
 */
int store_record_unsent(struct store *st, int64_t customer_row, const struct attempt_record *a);

/* What an answer (or its absence) does to a row: which outcome writer above. */
enum outcome_kind {
	OUTCOME_CREATED,     /* store_record_created() */
	OUTCOME_EXISTS,	     /* store_record_exists() */
	OUTCOME_FAILED,	     /* store_record_failed() */
	OUTCOME_RETRY,	     /* store_record_retry() */
	OUTCOME_UNSENT,	     /* store_record_unsent() */
	OUTCOME_UNCONFIRMED, /* store_record_unconfirmed() */
	OUTCOME_KIND_COUNT
};

/*
 * "created", "exists", "failed", "retry", "unsent", "unconfirmed"; the names
 * the answers journal uses.
 */
const char *outcome_kind_name(enum outcome_kind k);
/* Returns 0 and stores the kind, or -1 (without printing) if unknown. */
int outcome_kind_from_name(const char *name, enum outcome_kind *out);

/*
 * One outcome held in memory until it is committed (or written to the
 * answers journal): an attempt_record and the row's new fields, with every
 * string owned (malloc'd or NULL). store_outcome_release() frees them.
 */
struct store_outcome {
	enum outcome_kind kind;
	int64_t customer_row; /* customers.id */
	char *customer_id;    /* checked on replay: the row must still be this customer */
	int64_t run_id;
	int64_t attempt_no;
	enum request_kind req_kind;
	int64_t started_ms, elapsed_ms;
	long http_status;
	char *transport_error, *finch_code, *request_id, *message;
	char *session_id, *connect_url; /* OUTCOME_CREATED (session_id: any 201) */
	char *connection_id;		/* OUTCOME_EXISTS */
	char *body;			/* OUTCOME_UNCONFIRMED: the 2xx's body, escaped, bounded */
	int64_t expires_at_ms;		/* OUTCOME_CREATED */
	int64_t next_attempt_ms;	/* OUTCOME_RETRY */
	int64_t first_transient_ms;	/* OUTCOME_FAILED and _RETRY: attempt_record's */
	int64_t give_up_ms;
	int64_t minutes_to_expire; /* what the request sent (attempt_record's) */
};

void store_outcome_release(struct store_outcome *o);

/* Records o with the writer its kind names, within the caller's transaction. */
int store_record_outcome(struct store *st, const struct store_outcome *o);

/*
 * Records an outcome read back from the answers journal, within the
 * caller's transaction. The row is found by customer_id. If it is still
 * in_flight (the run that got the answer could not commit it), the outcome
 * is recorded as store_record_outcome() would; so is a created, exists or
 * unconfirmed answer of a row that is pending or retry_wait (a backup
 * restored from before the run claimed it: the session exists, and must
 * not be asked for again). Otherwise (the row moved on) only the attempt
 * is added to the history, with its session_id or connection_id, and
 * *applied is 0. A customer that does not exist changes nothing, with
 * *applied -1. A run_id the runs table lacks (a restored backup) is
 * recorded as none.
 */
int store_replay_outcome(struct store *st, const struct store_outcome *o, int *applied);

/* ---- connections: what follows the link (store_connections.c) ----------- */

/* A verified webhook delivery (finch/webhook.h), as stored. */
struct webhook_record {
	const char *event_id; /* Finch-Event-Id: the key of idempotence */
	const char *event_type;
	const char *connection_id; /* NULL: none */
	const char *status;	   /* account.updated's data.status, else NULL */
	int64_t event_ms;	   /* Finch-Timestamp: orders statuses that arrive late */
	int64_t received_ms;
};

/*
 * Stores a verified delivery once, within the caller's transaction. A new
 * event_id is kept, and an account.updated sets connection_status (and
 * connected_at, the first time it is "connected") of every row with its
 * connection_id, unless a newer status is there already. *duplicate is 1
 * when the event_id was stored before (nothing changes); *rows counts the
 * rows it updated. An event no row knows yet (*rows 0) is kept all the
 * same: the first row that learns its connection_id takes its status
 * (schema 009's trigger).
 */
int store_webhook_event(struct store *st, const struct webhook_record *w, int *duplicate,
			int64_t *rows);

/* What the rows (invalid ones left out) ask of Finch's sandboxes. */
struct sandbox_counts {
	int64_t production; /* no sandbox */
	int64_t finch;	    /* sandbox=finch */
	int64_t provider;   /* sandbox=provider */
};
int store_sandbox_counts(struct store *st, struct sandbox_counts *c);

/* What store_mark_connected() did with one customer. */
enum connection_mark {
	CONNECTION_MARKED,    /* now exists with that connection and status */
	CONNECTION_UNCHANGED, /* it already had them: importing again changes nothing */
	CONNECTION_UNKNOWN,   /* no such customer: reported, never created */
	CONNECTION_SKIPPED,   /* an invalid row (or one in flight): left alone */
};

/*
 * Marks customer_id connected with connection_id, within the caller's
 * transaction: a created, pending, failed or retry_wait row becomes exists
 * (so it is never renewed again), and every row takes the connection_id,
 * the status (NULL: "connected") and its time at_ms, unless a newer status
 * is there already. at_ms -1: the line gave no time; its status is then
 * older than any status with a time (a webhook's), and applies only to a
 * row that has none, and it connected at now_ms at the latest.
 */
int store_mark_connected(struct store *st, const char *customer_id, const char *connection_id,
			 const char *status, int64_t at_ms, int64_t now_ms,
			 enum connection_mark *res);

/* ---- results ------------------------------------------------------------ */

/* One line of an export. Pointers are valid only during the callback. */
struct export_row {
	const char *customer_id;
	const char *customer_name;
	enum row_state state;
	const char *session_id; /* NULL when absent, and likewise below */
	const char *connect_url;
	const char *connection_id;
	int64_t expires_at_ms; /* 0: none */
	int64_t attempts;      /* attempts ever made for the customer */
	long http_status;      /* last HTTP status; 0: none */
	const char *finch_code;
	const char *error;
	int64_t updated_at_ms;
	int64_t next_attempt_at_ms; /* retry_wait: when it is sent again; 0: none */
	int64_t retry_until_ms;	    /* the next runs re-queue a transient failure until then */
	/* the request's fields (NULL, 0 or -1 when absent) */
	const char *customer_email;
	const char *products; /* space-separated */
	const char *redirect_uri;
	int64_t minutes_to_expire;
	const char *sandbox;
	int manual; /* -1: absent */
	const char *integration_provider;
	const char *integration_auth_method;
	const char *recordkeeper; /* recordkeeping_recordkeeper */
	const char *recordkeeping_plan_id;
	const char *kept; /* --keep-column values: a JSON object {"header": "value"}, or NULL */
	unsigned changed; /* reconcile.h's mask: fields changed since the link; 0: none */
	int withdrawn;	  /* 1: missing from the last CSV, never sent */
	int unconfirmed;  /* 1: failed on a 2xx that could not be read; status "unconfirmed" */
	const char *connection_status; /* connection.h's; NULL: none heard */
	int64_t connected_at_ms;       /* first known connected; 0: never */
};

struct export_filter {
	unsigned state_mask; /* 0 with connection_mask 0: every row */
	/* rows whose connection status is one of these bits (connection.h's
	   order); a row matches either mask */
	unsigned connection_mask;
	int64_t since_ms; /* rows updated strictly after; 0: all */
};

/*
 * Parses export --state's list: row states and connection statuses,
 * separated by commas, into the masks of f; a row matches any of them. A
 * name that is both (pending) is the row state; "connection:NAME" is always
 * the connection status (connection:pending). Returns -1 and prints an
 * error naming the bad word otherwise.
 */
int export_state_parse(const char *list, struct export_filter *f);

/*
 * Streams the matching rows in import order (constant memory) to fn; stops
 * and returns fn's value if fn returns nonzero.
 */
int store_each_export(struct store *st, const struct export_filter *f,
		      int (*fn)(const struct export_row *row, void *data), void *data);

/*
 * Calls fn with every name a kept column has in some row (--keep-column),
 * once each; stops and returns fn's value if fn returns nonzero.
 */
int store_each_kept_name(struct store *st, int (*fn)(const char *name, void *data), void *data);

struct requeue_filter {
	unsigned state_mask;	      /* 0 means failed only */
	const char *finch_code;	      /* NULL: any */
	long http_status;	      /* 0: any */
	const char *const *customers; /* NULL or ncustomers ids: only those rows */
	size_t ncustomers;
	int changed; /* only rows marked changed (their marks are cleared) */
	/*
	 * The rows whose 2xx could not be read (store_record_unconfirmed()):
	 * REQUEUE_UNCONFIRMED_SKIP leaves them alone (a bare retry), _ALSO takes
	 * them with the rest (rows named by --customer or a 2xx --http-status),
	 * _ONLY takes them alone (--unconfirmed).
	 */
	int unconfirmed;
};

enum {
	REQUEUE_UNCONFIRMED_SKIP,
	REQUEUE_UNCONFIRMED_ALSO,
	REQUEUE_UNCONFIRMED_ONLY,
};

/*
 * Re-queues matching rows to pending with a fresh attempt budget, keeping
 * their history. Commits. *count tells how many rows moved.
 */
int store_requeue(struct store *st, const struct requeue_filter *f, int64_t now_ms, int64_t *count);

/*
 * --give-up-after read each night (issue 16): sets every transient streak's
 * give_up_at to its first transient failure plus give_up_after_ms, tonight's
 * limit, then marks the failed rows whose window is over and that were not
 * given up yet in this streak, calling fn for each (its customer_id, its
 * last error, when its streak began): giving up is told once per row.
 * *count is their number. One transaction; returns 0 or -1.
 */
int store_give_up(struct store *st, int64_t now_ms, int64_t give_up_after_ms,
		  void (*fn)(const char *customer_id, const char *why, int64_t first_ms,
			     void *data),
		  void *data, int64_t *count);

/* Calls fn once per last error of the rows given up (store_give_up()), most common first. */
int store_each_given_up(struct store *st, int (*fn)(const char *why, int64_t count, void *data),
			void *data);

/*
 * failed rows whose transient streak is not over (give_up_at > now_ms) go
 * back to pending with a fresh attempt budget: the carry-over of transient
 * failures to the next run. Commits.
 */
int store_requeue_transient(struct store *st, int64_t now_ms, int64_t *count);

/* created rows whose expires_at < now_ms go back to pending for a new session. Commits. */
int store_queue_expired(struct store *st, int64_t now_ms, int64_t *count);
/*
 * The connection statuses that need a new link from
 * /connect/sessions/reauthenticate: reauth (Finch's own signal, with a 401
 * reauthenticate_user on data calls) and error_permissions (the person who
 * connected lacks a permission: someone who has it signs in again).
 * disconnected is not one: a disconnected connection is gone, and needs a
 * new session, not a reauthentication.
 */
#define REAUTH_NEEDED_SQL   "('reauth', 'error_permissions')"
#define REAUTH_NEEDED_NAMES "reauth or error_permissions"

enum reauth_scope {
	REAUTH_NONE,
	REAUTH_NEEDED, /* exists rows whose connection_status is in REAUTH_NEEDED_SQL */
	REAUTH_ALL,    /* every exists row with a connection_id */
};

/*
 * exists rows with a connection_id, as scope says (and only customer_id's,
 * unless NULL), are queued as REQUEST_REAUTH. Commits.
 */
int store_queue_reauth(struct store *st, int64_t now_ms, enum reauth_scope scope,
		       const char *customer_id, int64_t *count);

/*
 * From now on the imports of st re-queue a created or exists row whose
 * fields changed, for a new link (--resend-changed), instead of marking it.
 */
void store_set_resend_changed(struct store *st, int on);

/*
 * created and exists rows marked changed go back to pending for a new link
 * (created: a new session; exists: a reauthentication with its
 * connection_id), their marks cleared: --resend-changed. Commits.
 */
int store_queue_changed(struct store *st, int64_t now_ms, int64_t *count);

/* Returns 1 and stores the state of customer_id, 0 if there is no such customer, -1 on error. */
int store_customer_state(struct store *st, const char *customer_id, enum row_state *state);

/*
 * Writes a consistent copy of the whole database to path, which must not
 * exist (VACUUM INTO). Outside a transaction. For dry runs that must change
 * nothing: they work on the copy.
 */
int store_snapshot(struct store *st, const char *path);

/* ---- retention (store_prune.c) ------------------------------------------ */

/* What a prune deleted, or would delete. */
struct prune_stats {
	int64_t attempts;
	int64_t runs;
	int64_t imports;
	int64_t webhook_events;
};

/*
 * Verified webhook deliveries are kept at least this long, whatever the
 * window: their Finch-Event-Ids make a redelivery a duplicate. Finch's
 * deliveries (Svix's format: msg_ ids, v1 signatures) are retried for about
 * 28 hours; 7 days leaves a margin for them and for replays by hand.
 */
#define STORE_WEBHOOK_KEEP_MS (7 * 24 * 3600 * 1000LL)

/*
 * Retention (schema/014_pruned.sql): deletes the attempts and the runs that
 * started before cutoff_ms, but never what the database still needs:
 *   - a row's latest attempt (its last answer, its last error);
 *   - an attempt holding a session_id or a connection_id that a row still
 *     shows (the link an account manager sent, the connection);
 *   - an unconfirmed 2xx (no session_id) while its row is unconfirmed or
 *     until a later 2xx with a session_id confirmed it;
 *   - the attempts of a row in_flight (none under the writer's lock, which
 *     recovered them: a guard all the same);
 *   - the attempts of the newest run, and the newest run itself (status
 *     shows it), and the run whose end is the last success (the metrics'
 *     finch_onboard_last_success_timestamp_seconds);
 *   - a run that a kept attempt references.
 * It also deletes the imports that started before cutoff_ms, but the latest
 * and any a row names (first_import, last_import), and the webhook
 * deliveries received before cutoff_ms and over STORE_WEBHOOK_KEEP_MS ago.
 * What it deletes is first added to the pruned tallies, so the metrics'
 * counters never go down. One transaction: commits, and returns 0 with the
 * counts in *out, or -1 with nothing deleted.
 */
int store_prune(struct store *st, int64_t cutoff_ms, struct prune_stats *out);
/*
 * What store_prune() would delete at cutoff_ms, counted and left alone (a
 * read-only store will do, for --dry-run).
 */
int store_prune_count(struct store *st, int64_t cutoff_ms, struct prune_stats *out);

#endif
