/*
 * store_outcome.c: what a run records: the runs table, every attempt, and
 * each answer's outcome (within the dispatcher's group commits), also when
 * it is replayed from the answers journal; see store_outcome.h.
 */
#include "store/store_outcome.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_int.h"

const char *const store_outcome_sql[S_STMT_COUNT] = {
    [S_RUN_START] = "INSERT INTO runs(started_at, pid) VALUES (?1, ?2)",
    [S_RUN_FINISH] = "UPDATE runs SET ended_at = ?2, exit_reason = ?3 WHERE id = ?1",
    [S_RUN_OUTCOME] = "UPDATE runs SET exit_code = ?2, pauses = ?3, outages = ?4 WHERE id = ?1",
    [S_ATTEMPT_INSERT] = "INSERT INTO attempts(customer, run_id, attempt_no, kind, started_at, "
			 "elapsed_ms, http_status, transport_error, finch_code, request_id, "
			 "message, session_id, connection_id, minutes_to_expire) "
			 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    /* A reauthenticated employer is still connected: the row stays exists, with its new link. */
    [S_SET_CREATED] = "UPDATE customers SET state = CASE request_kind WHEN 'reauth' "
		      "THEN 'exists' ELSE 'created' END, session_id = ?2, "
		      "connect_url = ?3, expires_at = ?4, http_status = ?5, finch_code = NULL, "
		      "error = NULL, attempts = attempts + 1, attempt_total = attempt_total + 1, "
		      "next_attempt_at = NULL, first_transient_at = NULL, give_up_at = NULL, "
		      "changed_fields = 0, updated_at = ?6 WHERE id = ?1",
    [S_SET_EXISTS] = "UPDATE customers SET state = 'exists', connection_id = ?2, "
		     "http_status = ?3, finch_code = ?4, error = NULL, attempts = attempts + 1, "
		     "attempt_total = attempt_total + 1, next_attempt_at = NULL, "
		     "first_transient_at = NULL, give_up_at = NULL, changed_fields = 0, "
		     "updated_at = ?5 WHERE id = ?1",
    /* ?6, ?7: the transient streak (NULL for a permanent failure), see retry_carry_over() */
    [S_SET_FAILED] = "UPDATE customers SET state = 'failed', http_status = ?2, finch_code = ?3, "
		     "error = ?4, attempts = attempts + 1, attempt_total = attempt_total + 1, "
		     "next_attempt_at = NULL, first_transient_at = ?6, give_up_at = ?7, "
		     "updated_at = ?5 WHERE id = ?1",
    /* failed, and flagged: a 2xx that could not be read (schema/013_unconfirmed.sql) */
    [S_SET_UNCONFIRMED] =
	"UPDATE customers SET state = 'failed', http_status = ?2, "
	"finch_code = ?3, error = ?4 || coalesce('; Finch-Request-Id ' || ?8, ''), "
	"attempts = attempts + 1, attempt_total = attempt_total + 1, "
	"next_attempt_at = NULL, first_transient_at = ?6, give_up_at = ?7, "
	"updated_at = ?5, unconfirmed = 1, unconfirmed_request_id = ?8, "
	"unconfirmed_body = ?9 WHERE id = ?1",
    [S_SET_RETRY] = "UPDATE customers SET state = 'retry_wait', http_status = ?2, "
		    "finch_code = ?3, error = ?4, attempts = attempts + 1, "
		    "attempt_total = attempt_total + 1, first_transient_at = ?6, give_up_at = ?7, "
		    "next_attempt_at = ?8, updated_at = ?5 WHERE id = ?1",
    /*
     * ?4, an outcome unknown's message: the request went out, and Finch may
     * still create its session: the row waits STORE_SETTLE_SQL (SETTLING in
     * store_queue.c), its budget untouched; else it is pending again.
     */
    [S_SET_UNSENT] = "UPDATE customers SET state = CASE WHEN ?4 IS NULL THEN 'pending' "
		     "ELSE 'retry_wait' END, attempt_total = attempt_total + ?2, "
		     "next_attempt_at = CASE WHEN ?4 IS NULL THEN NULL ELSE ?3 + " STORE_SETTLE_SQL
		     " END, updated_at = ?3, error = coalesce(?4, error) WHERE id = ?1",
    [S_ROW_BY_CUSTOMER] = "SELECT id, state FROM customers WHERE customer_id = ?1 AND keyless = 0",
    [S_RUN_EXISTS] = "SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?1)",
    /* a restored backup: the row was not claimed yet when it was taken */
    [S_REPLAY_CLAIM] = "UPDATE customers SET state = 'in_flight' WHERE id = ?1 AND "
		       "state IN ('pending', 'retry_wait')",
    [S_LEDGER_ADD] = "INSERT OR IGNORE INTO journal_applied(line_id, applied_at) VALUES (?1, ?2)",
    [S_DATABASE_ID] = "SELECT database_id FROM identity WHERE id = 1",
};

int store_insert_attempt(struct store *st, const struct attempt_record *a)
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
	bind_int_or_null(s, 14, a->minutes_to_expire, 0);
	return store_exec(st, S_ATTEMPT_INSERT);
}

int store_run_start(struct store *st, int64_t now_ms, int64_t *run_id)
{
	sqlite3_bind_int64(st->stmt[S_RUN_START], 1, now_ms);
	sqlite3_bind_int64(st->stmt[S_RUN_START], 2, (int64_t)getpid());
	if (store_exec(st, S_RUN_START) < 0)
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
	return store_exec(st, S_RUN_FINISH);
}

int store_run_outcome(struct store *st, int64_t run_id, int exit_code, int64_t pauses,
		      int64_t outages)
{
	sqlite3_stmt *s = st->stmt[S_RUN_OUTCOME];

	sqlite3_bind_int64(s, 1, run_id);
	sqlite3_bind_int64(s, 2, exit_code);
	sqlite3_bind_int64(s, 3, pauses);
	sqlite3_bind_int64(s, 4, outages);
	return store_exec(st, S_RUN_OUTCOME);
}

static int64_t attempt_end(const struct attempt_record *a)
{
	return a->started_ms + a->elapsed_ms;
}

/*
 * created and exists: adds the attempt a (which carries the id Finch
 * answered with), then binds its row and answered_id to statement id's first
 * two parameters; the caller binds the rest. NULL after an error.
 */
static sqlite3_stmt *record_answer(struct store *st, enum stmt_id id,
				   const struct attempt_record *a, const char *answered_id)
{
	sqlite3_stmt *s = st->stmt[id];

	if (store_insert_attempt(st, a) < 0)
		return NULL;
	sqlite3_bind_int64(s, 1, a->customer_row);
	bind_text(s, 2, answered_id);
	return s;
}

int store_record_created(struct store *st, const struct attempt_record *a, const char *session_id,
			 const char *connect_url, int64_t expires_at_ms)
{
	struct attempt_record with_id = *a;
	sqlite3_stmt *s;

	with_id.session_id = session_id;
	if (!(s = record_answer(st, S_SET_CREATED, &with_id, session_id)))
		return -1;
	bind_text(s, 3, connect_url);
	sqlite3_bind_int64(s, 4, expires_at_ms);
	bind_int_or_null(s, 5, a->http_status, 0);
	sqlite3_bind_int64(s, 6, attempt_end(a));
	return store_exec(st, S_SET_CREATED);
}

int store_record_exists(struct store *st, const struct attempt_record *a, const char *connection_id)
{
	struct attempt_record with_id = *a;
	sqlite3_stmt *s;

	with_id.connection_id = connection_id;
	if (!(s = record_answer(st, S_SET_EXISTS, &with_id, connection_id)))
		return -1;
	bind_int_or_null(s, 3, a->http_status, 0);
	bind_text(s, 4, a->finch_code);
	sqlite3_bind_int64(s, 5, attempt_end(a));
	return store_exec(st, S_SET_EXISTS);
}

/* failed, unconfirmed and retry_wait share their first seven parameters. */
static int record_problem(struct store *st, enum stmt_id id, const struct attempt_record *a)
{
	sqlite3_stmt *s = st->stmt[id];

	if (store_insert_attempt(st, a) < 0)
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
	return store_exec(st, S_SET_FAILED);
}

int store_record_unconfirmed(struct store *st, const struct attempt_record *a, const char *body)
{
	sqlite3_stmt *s = st->stmt[S_SET_UNCONFIRMED];

	if (record_problem(st, S_SET_UNCONFIRMED, a) < 0)
		return -1;
	bind_text(s, 8, a->request_id);
	bind_text(s, 9, body);
	return store_exec(st, S_SET_UNCONFIRMED);
}

int store_record_retry(struct store *st, const struct attempt_record *a, int64_t next_attempt_ms)
{
	if (record_problem(st, S_SET_RETRY, a) < 0)
		return -1;
	sqlite3_bind_int64(st->stmt[S_SET_RETRY], 8, next_attempt_ms);
	return store_exec(st, S_SET_RETRY);
}

int store_record_unsent(struct store *st, int64_t customer_row, const struct attempt_record *a)
{
	sqlite3_stmt *s = st->stmt[S_SET_UNSENT];

	if (a && store_insert_attempt(st, a) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, customer_row);
	sqlite3_bind_int64(s, 2, a ? 1 : 0);
	sqlite3_bind_int64(s, 3, a ? attempt_end(a) : clock_now_ms());
	if (a && a->transport_error && !strcmp(a->transport_error, STORE_OUTCOME_UNKNOWN))
		bind_text(s, 4, a->message);
	else
		sqlite3_bind_null(s, 4);
	return store_exec(st, S_SET_UNSENT);
}

static const char *const outcome_names[OUTCOME_KIND_COUNT] = {
    "created", "exists", "failed", "retry", "unsent", "unconfirmed",
};

STORE_ENUM_NAMES(enum outcome_kind, outcome_names, OUTCOME_KIND_COUNT, outcome_kind_name,
		 outcome_kind_from_name)

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
	free(o->body);
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
	a->minutes_to_expire = o->minutes_to_expire;
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
	case OUTCOME_UNCONFIRMED:
		return store_record_unconfirmed(st, &a, o->body);
	case OUTCOME_KIND_COUNT:
		break;
	}
	return error("%s: unknown outcome kind %d", st->path, (int)o->kind);
}

int store_ledger_add(struct store *st, const char *line_id, int64_t now_ms, int *fresh)
{
	bind_text(st->stmt[S_LEDGER_ADD], 1, line_id);
	sqlite3_bind_int64(st->stmt[S_LEDGER_ADD], 2, now_ms);
	if (store_exec(st, S_LEDGER_ADD) < 0)
		return -1;
	*fresh = sqlite3_changes(st->db) == 1;
	return 0;
}

const char *store_database_id(struct store *st)
{
	sqlite3_stmt *s = st->stmt[S_DATABASE_ID];
	int rc;

	if (st->database_id[0])
		return st->database_id;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && strlen(column_str(s, 0)) == STORE_ID_HEX)
		memcpy(st->database_id, column_str(s, 0), STORE_ID_HEX + 1);
	else if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		error("%s: the database has no id (schema/016_journal_ledger.sql)", st->path);
	else
		store_db_error(st, "cannot read the database's id");
	sqlite3_reset(s);
	return st->database_id[0] ? st->database_id : NULL;
}

/* 1 when run_id is a row of the runs table, 0 when not, -1 on error. */
static int run_exists(struct store *st, int64_t run_id)
{
	sqlite3_stmt *s = st->stmt[S_RUN_EXISTS];
	int rc, ret;

	sqlite3_bind_int64(s, 1, run_id);
	rc = sqlite3_step(s);
	ret = rc == SQLITE_ROW ? sqlite3_column_int(s, 0)
			       : store_db_error(st, "cannot look up a journaled run");
	sqlite3_reset(s);
	return ret;
}

int store_replay_outcome(struct store *st, const struct store_outcome *o, int *applied)
{
	sqlite3_stmt *s = st->stmt[S_ROW_BY_CUSTOMER];
	struct store_outcome here = *o;
	struct attempt_record a;
	int64_t row = 0;
	int rc, in_flight = 0;

	*applied = -1;
	if (here.run_id && (rc = run_exists(st, here.run_id)) <= 0) {
		if (rc < 0)
			return -1;
		here.run_id = 0; /* recorded as no run: a restored backup lacks it */
	}
	bind_text(s, 1, o->customer_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row = sqlite3_column_int64(s, 0);
		in_flight = !strcmp(column_str(s, 1), "in_flight");
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_error(st, "cannot look up a journaled customer");
	if (rc == SQLITE_DONE)
		return 0;
	here.customer_row = row;
	if (!in_flight && (o->kind == OUTCOME_CREATED || o->kind == OUTCOME_EXISTS ||
			   o->kind == OUTCOME_UNCONFIRMED)) {
		sqlite3_bind_int64(st->stmt[S_REPLAY_CLAIM], 1, row);
		if (store_exec(st, S_REPLAY_CLAIM) < 0)
			return -1;
		in_flight = sqlite3_changes(st->db) == 1;
	}
	if (in_flight) {
		*applied = 1;
		return store_record_outcome(st, &here);
	}
	/* The row moved on: keep the answer in the history only. */
	outcome_attempt(&here, &a);
	*applied = 0;
	return store_insert_attempt(st, &a);
}
