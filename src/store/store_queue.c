/*
 * store_queue.c: the queue of rows to send: claiming the due ones
 * (pending, and retry_wait whose time has come) as in_flight, what a run
 * waits for, the rows re-queued for another run, and the recovery of the
 * rows a crashed run left in flight; see store_queue.h.
 */
#include "store/store_queue.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "finch/retry.h"
#include "store/store_int.h"
#include "store/store_outcome.h"

/* The columns a run needs to build a request, in the order read_job() reads them. */
#define JOB_COLUMNS                                                                                \
	"id, request_kind, customer_id, customer_name, customer_email, products, "                 \
	"redirect_uri, minutes_to_expire, sandbox, manual, integration_provider, "                 \
	"integration_auth_method, connection_id, attempts, attempt_total, "                        \
	"coalesce(first_transient_at, 0), next_attempt_at IS NOT NULL, "                           \
	"recordkeeping_recordkeeper, recordkeeping_plan_id, " STORE_UNKNOWN_SQL

/*
 * A retry_wait row this run leaves to a later one, however long it lasts:
 * - deferred by this run (store_defer_long_hints()): its last answer, at
 *   or after SINCE, asked for a wait longer than the cap, plus a second for
 *   the time between the answer and its recording;
 * - its last request's outcome is unknown (it timed out, or was cut short,
 *   after it went out: RETRY_UNKNOWN_SETTLE_MS in finch/retry.h) and it was
 *   not due yet when this run began: a run neither sends it again nor
 *   waits for it.
 */
#define NOT_DEFERRED(SINCE, CAP)                                                                   \
	"NOT ((updated_at >= ?" #SINCE " AND next_attempt_at - updated_at > ?" #CAP " + 1000) "    \
	"OR (next_attempt_at > ?" #SINCE " AND " STORE_UNKNOWN_SQL "))"

/*
 * A row whose last request's outcome is unknown (it timed out, or was cut
 * short, after it went out), less than RETRY_UNKNOWN_SETTLE_MS ago (Finch
 * may still create its session): a waiting one until its due time, a
 * failed one until 6 minutes after its attempt. No re-queue sends it
 * earlier: not a sync's carry-over, not retry.
 */
#define SETTLING(NOW)                                                                              \
	"(" STORE_UNKNOWN_SQL " AND "                                                              \
	"state IN ('retry_wait', 'failed') AND "                                                   \
	"coalesce(next_attempt_at, updated_at + " STORE_SETTLE_SQL ") > " NOW ")"
_Static_assert(RETRY_UNKNOWN_SETTLE_MS == 360000, "STORE_SETTLE_SQL");

const char *const store_queue_sql[S_STMT_COUNT] = {
    /* One row read at the most: no count of the table. */
    [S_HAS_ROWS] = "SELECT EXISTS (SELECT 1 FROM customers)",
    [S_IN_FLIGHT_ROWS] = "SELECT id, attempt_total, request_kind, updated_at FROM customers "
			 "WHERE state = 'in_flight'",
    [S_RECOVER_ROW] = "UPDATE customers SET state = 'pending', attempts = attempts + 1, "
		      "attempt_total = attempt_total + 1, error = ?2, next_attempt_at = NULL, "
		      "updated_at = ?3 "
		      "WHERE id = ?1",
    [S_CLAIM] = "UPDATE customers SET state = 'in_flight', updated_at = ?1 WHERE id IN ("
		"SELECT id FROM customers WHERE state = 'retry_wait' AND next_attempt_at <= ?1 "
		"AND withdrawn = 0 AND " NOT_DEFERRED(
		    3, 4) " "
			  "UNION ALL SELECT id FROM customers WHERE state = 'pending' AND "
			  "withdrawn = 0 LIMIT ?2) "
			  "RETURNING " JOB_COLUMNS,
    [S_EACH_DUE] = "SELECT " JOB_COLUMNS " FROM customers WHERE "
		   "state = 'retry_wait' AND next_attempt_at <= ?1 AND withdrawn = 0 "
		   "UNION ALL SELECT " JOB_COLUMNS " FROM customers WHERE state = 'pending' "
		   "AND withdrawn = 0",
    /*
     * The plan of a dry run: S_EACH_DUE's rows by kind (store_plan_counts()),
     * and with ?2 the linked rows marked changed that --resend-changed would
     * queue (a run's dry run queues nothing).
     */
    [S_PLAN_COUNTS] =
	"SELECT coalesce(sum(k = 0), 0), coalesce(sum(k = 1), 0), coalesce(sum(k = 2), 0), "
	"coalesce(sum(k = 3), 0), coalesce(sum(k = 4), 0) FROM (SELECT CASE "
	"WHEN request_kind = 'reauth' THEN 3 "
	"WHEN state = 'retry_wait' OR first_transient_at IS NOT NULL THEN 4 "
	"WHEN session_id IS NOT NULL AND expires_at < ?1 THEN 2 "
	"WHEN session_id IS NOT NULL THEN 1 ELSE 0 END AS k FROM customers "
	"WHERE withdrawn = 0 AND (state = 'pending' OR "
	"(state = 'retry_wait' AND next_attempt_at <= ?1)) "
	"UNION ALL SELECT CASE WHEN state = 'exists' AND connection_id IS NOT NULL THEN 3 "
	"ELSE 1 END FROM customers WHERE ?2 AND changed_fields != 0 AND withdrawn = 0 "
	"AND (state = 'created' OR state = 'exists'))",
    /*
     * --give-up-after is tonight's (issue 16): every row in a transient streak
     * gets the window from its first transient failure again (?1 the limit).
     */
    [S_GIVE_UP_WINDOW] = "UPDATE customers SET give_up_at = first_transient_at + ?1 "
			 "WHERE first_transient_at IS NOT NULL AND give_up_at IS NOT "
			 "first_transient_at + ?1 AND state IN ('failed', 'retry_wait', 'pending')",
    /* failed rows whose window is over, not told yet in this streak (schema/012_given_up.sql) */
    [S_GIVE_UP_NEW] = "UPDATE customers SET given_up_at = ?1 WHERE state = 'failed' AND "
		      "first_transient_at IS NOT NULL AND give_up_at <= ?1 AND withdrawn = 0 AND "
		      "(given_up_at IS NULL OR given_up_at < first_transient_at) "
		      "RETURNING customer_id, coalesce(error, ''), first_transient_at",
    /*
     * Transient failures of earlier runs, still within --give-up-after: a
     * fresh budget; not yet for one SETTLING.
     */
    [S_REQUEUE_TRANSIENT] = "UPDATE customers SET state = 'pending', attempts = 0, "
			    "next_attempt_at = NULL, updated_at = ?1 "
			    "WHERE state = 'failed' AND give_up_at > ?1 AND withdrawn = 0 "
			    "AND unconfirmed = 0 AND NOT " SETTLING("?1"),
    [S_NEXT_RETRY] = "SELECT min(next_attempt_at) FROM customers "
		     "WHERE state = 'retry_wait' AND next_attempt_at <= ?1 AND withdrawn = 0 "
		     "AND " NOT_DEFERRED(2, 3),
    /* What S_CLAIM would find, without claiming it. */
    [S_HAS_DUE] = "SELECT EXISTS (SELECT 1 FROM customers WHERE state = 'pending' AND "
		  "withdrawn = 0) OR "
		  "EXISTS (SELECT 1 FROM customers WHERE state = 'retry_wait' AND withdrawn = 0 "
		  "AND next_attempt_at <= ?1 AND " NOT_DEFERRED(2, 3) ")",
    [S_REQUEUE] = "UPDATE customers SET state = 'pending', attempts = 0, next_attempt_at = NULL, "
		  "first_transient_at = NULL, give_up_at = NULL, changed_fields = 0, "
		  "unconfirmed = 0, unconfirmed_request_id = NULL, unconfirmed_body = NULL, "
		  "updated_at = ?5 WHERE keyless = 0 AND withdrawn = 0 "
		  "AND state NOT IN ('invalid', 'in_flight', 'pending') "
		  "AND (?1 & " STATE_BIT_SQL ") != 0 "
		  "AND (?2 IS NULL OR finch_code = ?2) AND (?3 = 0 OR http_status = ?3) "
		  "AND (?4 IS NULL OR customer_key = ?4) AND (?6 = 0 OR changed_fields != 0) "
		  /* ?7: requeue_filter's unconfirmed (0 skip, 1 also, 2 only) */
		  "AND (?7 != 0 OR unconfirmed = 0) AND (?7 != 2 OR unconfirmed = 1) "
		  "AND NOT " SETTLING("?5"),
    /* The rows SETTLING holds back at ?1 (of customer ?2, or all), and until when. */
    [S_SETTLING] = "SELECT count(*), coalesce(max(coalesce(next_attempt_at, "
		   "updated_at + " STORE_SETTLE_SQL ")), 0) FROM customers WHERE withdrawn = 0 AND "
		   "(?2 IS NULL OR customer_key = ?2) AND " SETTLING("?1"),
    [S_QUEUE_EXPIRED] = "UPDATE customers SET state = 'pending', request_kind = 'create', "
			"attempts = 0, next_attempt_at = NULL, updated_at = ?1 "
			"WHERE state = 'created' AND expires_at < ?1 AND withdrawn = 0",
    /* ?2: every connection, else those whose status needs a new link (REAUTH_NEEDED_SQL) */
    [S_QUEUE_REAUTH] = "UPDATE customers SET state = 'pending', request_kind = 'reauth', "
		       "attempts = 0, next_attempt_at = NULL, updated_at = ?1 "
		       "WHERE state = 'exists' AND connection_id IS NOT NULL AND keyless = 0 "
		       "AND (?2 = 1 OR connection_status IN " REAUTH_NEEDED_SQL ") "
		       "AND (?3 IS NULL OR customer_key = ?3) AND withdrawn = 0",
    /* --resend-changed: a new link for the fields as they are now */
    [S_QUEUE_CHANGED] = "UPDATE customers SET request_kind = CASE WHEN state = 'exists' AND "
			"connection_id IS NOT NULL THEN 'reauth' ELSE 'create' END, "
			"state = 'pending', attempts = 0, next_attempt_at = NULL, "
			"changed_fields = 0, updated_at = ?1 "
			"WHERE changed_fields != 0 AND (state = 'created' OR state = 'exists') "
			"AND withdrawn = 0",
};

int store_has_rows(struct store *st)
{
	sqlite3_stmt *s = st->stmt[S_HAS_ROWS];
	int ret;

	if (sqlite3_step(s) == SQLITE_ROW)
		ret = sqlite3_column_int(s, 0) ? 1 : 0;
	else
		ret = store_db_error(st, "cannot tell whether the database has rows");
	sqlite3_reset(s);
	return ret;
}

int store_recover_in_flight(struct store *st, int64_t now_ms, int64_t *count)
{
	static const char lost[] =
	    STORE_OUTCOME_UNKNOWN ": the run stopped before the answer was recorded";
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
		store_db_error(st, "cannot find rows left in flight");
		goto out;
	}
	for (size_t i = 0; i < n; i += 3) {
		sqlite3_stmt *u = st->stmt[S_RECOVER_ROW];

		a.customer_row = rows[i];
		a.attempt_no = rows[i + 1] + 1;
		a.kind = (enum request_kind)rows[i + 2];
		a.started_ms = now_ms;
		a.transport_error = STORE_OUTCOME_UNKNOWN;
		a.message = lost;
		if (store_insert_attempt(st, &a) < 0)
			goto out;
		sqlite3_bind_int64(u, 1, rows[i]);
		bind_text(u, 2, lost);
		sqlite3_bind_int64(u, 3, now_ms);
		if (store_exec(st, S_RECOVER_ROW) < 0)
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

		/*
		 * Stored lists are canonical; a name this build does not know was
		 * allowed by --allow-product at import, so it is allowed again. A
		 * hand-edited bad one just sends fewer products.
		 */
		if (parse_products_stored(products, &job->req.products, why, sizeof(why)) < 0)
			job->req.products = 0;
	}
	job->req.redirect_uri = column_dup(s, 6);
	/* always sent, so the stored expiry is what Finch was asked for */
	job->req.minutes_to_expire = minutes_to_expire_to_send(
	    sqlite3_column_type(s, 7) == SQLITE_NULL ? 0 : sqlite3_column_int64(s, 7),
	    job->kind == REQUEST_REAUTH);
	job->req.sandbox = column_dup(s, 8);
	job->req.manual = sqlite3_column_type(s, 9) == SQLITE_NULL ? -1 : sqlite3_column_int(s, 9);
	job->req.integration_provider = column_dup(s, 10);
	job->req.integration_auth_method = column_dup(s, 11);
	job->connection_id = column_dup(s, 12);
	job->attempts = sqlite3_column_int64(s, 13);
	job->attempt_total = sqlite3_column_int64(s, 14);
	job->first_transient_ms = sqlite3_column_int64(s, 15);
	job->was_waiting = sqlite3_column_int(s, 16);
	job->req.recordkeeper = column_dup(s, 17);
	job->req.recordkeeping_plan_id = column_dup(s, 18);
	job->outcome_unknown = sqlite3_column_int(s, 19);
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
		store_db_error(st, "cannot claim rows");
		goto out;
	}
	if (sqlite3_reset(s) != SQLITE_OK) {
		store_db_error(st, "cannot claim rows");
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
	return store_each_end(st, s, rc, ret, "cannot list due rows");
}

int store_plan_counts(struct store *st, int64_t now_ms, int resend_changed, struct plan_counts *out)
{
	sqlite3_stmt *s = st->stmt[S_PLAN_COUNTS];

	memset(out, 0, sizeof(*out));
	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int(s, 2, resend_changed != 0);
	return store_one_row(
	    st, S_PLAN_COUNTS,
	    (int64_t *[]){&out->fresh, &out->relink, &out->renew, &out->reauth, &out->carried}, 5,
	    "cannot count the rows a run would send");
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
		ret = store_db_error(st, "cannot find the next retry");
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
		ret = store_db_error(st, "cannot look for due rows");
	sqlite3_reset(s);
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
		bind_key(s, 4, f->customers ? f->customers[i] : NULL);
		sqlite3_bind_int64(s, 5, now_ms);
		sqlite3_bind_int64(s, 6, f->changed);
		sqlite3_bind_int64(s, 7, f->unconfirmed);
		if (store_exec(st, S_REQUEUE) < 0) {
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
	if (store_exec(st, id) < 0)
		return -1;
	*count = sqlite3_changes(st->db);
	return 0;
}

int store_give_up(struct store *st, int64_t now_ms, int64_t give_up_after_ms,
		  void (*fn)(const char *customer_id, const char *why, int64_t first_ms,
			     void *data),
		  void *data, int64_t *count)
{
	sqlite3_stmt *s = st->stmt[S_GIVE_UP_NEW];
	int rc, ret = -1;

	*count = 0;
	if (store_begin(st) < 0)
		return -1;
	sqlite3_bind_int64(st->stmt[S_GIVE_UP_WINDOW], 1, give_up_after_ms);
	if (store_exec(st, S_GIVE_UP_WINDOW) < 0)
		goto out;
	sqlite3_bind_int64(s, 1, now_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		(*count)++;
		fn(column_str(s, 0), column_str(s, 1), sqlite3_column_int64(s, 2), data);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE) {
		store_db_error(st, "cannot mark the rows given up");
		goto out;
	}
	ret = store_commit(st);
out:
	if (ret < 0)
		store_rollback(st);
	return ret;
}

int store_requeue_transient(struct store *st, int64_t now_ms, int64_t *count)
{
	return queue_rows(st, S_REQUEUE_TRANSIENT, now_ms, count);
}

int store_settling(struct store *st, int64_t now_ms, const char *customer_id, int64_t *count,
		   int64_t *until_ms)
{
	sqlite3_stmt *s = st->stmt[S_SETTLING];
	int64_t *const out[] = {count, until_ms};

	sqlite3_bind_int64(s, 1, now_ms);
	bind_key(s, 2, customer_id);
	return store_one_row(st, S_SETTLING, out, 2, "cannot count the rows of unknown outcome");
}

int store_queue_expired(struct store *st, int64_t now_ms, int64_t *count)
{
	return queue_rows(st, S_QUEUE_EXPIRED, now_ms, count);
}

int store_queue_reauth(struct store *st, int64_t now_ms, enum reauth_scope scope,
		       const char *customer_id, int64_t *count)
{
	sqlite3_bind_int(st->stmt[S_QUEUE_REAUTH], 2, scope == REAUTH_ALL);
	bind_key(st->stmt[S_QUEUE_REAUTH], 3, customer_id);
	return queue_rows(st, S_QUEUE_REAUTH, now_ms, count);
}

int store_queue_changed(struct store *st, int64_t now_ms, int64_t *count)
{
	return queue_rows(st, S_QUEUE_CHANGED, now_ms, count);
}
