/*
 * store_report.c: what the store tells without changing it: the names of
 * the states, the counts of status and --metrics-file, the last run, the
 * export's rows; see store_report.h.
 */
#include "store/store_report.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "base/strbuf.h"
#include "store/store_int.h"
#include "store/store_outcome.h"

/* A row given up in its current transient streak (store_give_up()). */
#define GIVEN_UP                                                                                   \
	"state = 'failed' AND given_up_at IS NOT NULL AND first_transient_at IS NOT NULL AND "     \
	"given_up_at >= first_transient_at"

/*
 * The keyed rows for the funnel, with link_at: the first session request
 * (not a reauthentication) answered with a session, for a row that has one.
 */
#define FUNNEL_ROWS                                                                                \
	"WITH f AS (SELECT c.state, c.expires_at, c.connection_id, c.connected_at, "               \
	"(SELECT min(a.started_at) FROM attempts a WHERE a.customer = c.id AND a.kind = 'create' " \
	"AND a.http_status BETWEEN 200 AND 299 AND c.session_id IS NOT NULL) AS link_at "          \
	"FROM customers c WHERE c.keyless = 0) "
/* A created row whose link expired before ?1. */
#define LINK_EXPIRED "(state = 'created' AND expires_at < ?1)"

const char *const store_report_sql[S_STMT_COUNT] = {
    /*
     * Rows per state (0) and of them the withdrawn ones (1), counted apart
     * (schema/011_withdrawn.sql): two indexes read, no row (schema/018).
     */
    [S_COUNT_BY_STATE] = "SELECT state, 0, count(*) FROM customers GROUP BY state "
			 "UNION ALL SELECT state, 1, count(*) FROM customers WHERE withdrawn = 1 "
			 "GROUP BY state",
    /* no GROUP BY: one pass over the rows, without a sorter */
    [S_COUNT_SUMS] =
	"SELECT coalesce(sum(CASE WHEN attempt_total > 1 "
	"THEN attempt_total - 1 ELSE 0 END), 0), "
	"coalesce(sum(line_invalid), 0), coalesce(sum(changed_fields != 0), 0), "
	"coalesce(sum(unconfirmed), 0), "
	"coalesce(sum(state IN ('pending', 'retry_wait', 'failed') AND " STORE_UNKNOWN_SQL "), 0) "
	"FROM customers",
    [S_COUNT_EXPIRY] = "SELECT coalesce(sum(expires_at < ?1), 0), "
		       "coalesce(sum(expires_at >= ?1 AND expires_at < ?2), 0) "
		       "FROM customers WHERE state = 'created'",
    [S_GIVEN_UP_GROUPS] = "SELECT coalesce(error, ''), count(*) FROM customers WHERE " GIVEN_UP
			  " GROUP BY 1 ORDER BY 2 DESC, 1",
    [S_COUNT_CARRY] = "SELECT coalesce(sum(state = 'failed' AND give_up_at > ?1), 0), "
		      "coalesce(min(CASE WHEN state = 'retry_wait' THEN next_attempt_at END), 0), "
		      "coalesce(max(CASE WHEN state = 'failed' AND give_up_at > ?1 "
		      "THEN give_up_at END), 0), "
		      "coalesce(sum(" GIVEN_UP "), 0) "
		      "FROM customers WHERE state = 'failed' OR state = 'retry_wait'",
    /* the funnel (store_report.h struct funnel): ?1 now */
    [S_FUNNEL_COUNTS] = FUNNEL_ROWS
    "SELECT coalesce(sum(link_at IS NOT NULL), 0), "
    "coalesce(sum(link_at IS NOT NULL AND connection_id IS NOT NULL), 0), "
    "coalesce(sum(link_at IS NOT NULL AND connection_id IS NULL AND " LINK_EXPIRED "), 0), "
    "coalesce(sum(link_at IS NULL AND connection_id IS NOT NULL), 0) FROM f",
    [S_FUNNEL_STATUSES] = "SELECT connection_status, count(*) FROM customers "
			  "WHERE keyless = 0 AND connection_id IS NOT NULL GROUP BY 1",
    /* the median of each kind of age: the middle one, or the mean of the two middle ones */
    [S_FUNNEL_AGES] =
	FUNNEL_ROWS ", ages(k, age) AS ("
		    "SELECT 0, max(connected_at - link_at, 0) FROM f WHERE connection_id IS NOT "
		    "NULL AND connected_at >= link_at - " STORE_CLOCK_SKEW_SQL " "
		    "UNION ALL SELECT 1, ?1 - link_at FROM f WHERE link_at IS NOT NULL "
		    "AND connection_id IS NULL AND NOT " LINK_EXPIRED " "
		    "UNION ALL SELECT 2, ?1 - link_at FROM f WHERE link_at IS NOT NULL "
		    "AND connection_id IS NULL AND " LINK_EXPIRED "), "
		    "r AS (SELECT k, age, row_number() OVER (PARTITION BY k ORDER BY age) AS i, "
		    "count(*) OVER (PARTITION BY k) AS n FROM ages) "
		    "SELECT k, avg(age) FROM r WHERE i IN ((n + 1) / 2, (n + 2) / 2) GROUP BY k",
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
    /* Every attempt ever made, by the class of its answer; NULL: no answer. Pruned ones
       count too (schema/014_pruned.sql): a counter never goes down. */
    [S_METRIC_REQUESTS] = "SELECT nullif(c, 0), sum(n), sum(t) FROM ("
			  "SELECT coalesce(http_status / 100, 0) AS c, count(*) AS n, "
			  "coalesce(sum(http_status = 429), 0) AS t FROM attempts GROUP BY 1 "
			  "UNION ALL SELECT class, requests, throttled FROM pruned_requests) "
			  "GROUP BY 1",
    [S_METRIC_RUNS] = "SELECT count(*) + coalesce((SELECT runs FROM pruned_runs), 0), "
		      "coalesce(sum(pauses), 0) + coalesce((SELECT pauses FROM pruned_runs), 0), "
		      "coalesce(sum(outages), 0) + coalesce((SELECT outages FROM pruned_runs), 0), "
		      "coalesce(max(CASE WHEN exit_code IN (0, 1) THEN ended_at END), 0) "
		      "FROM runs",
    [S_EXPORT] =
	"SELECT customer_id, customer_name, state, session_id, connect_url, "
	"connection_id, coalesce(expires_at, 0), attempt_total, "
	"coalesce(http_status, 0), finch_code, error, updated_at, "
	"CASE WHEN state = 'retry_wait' THEN coalesce(next_attempt_at, 0) ELSE 0 END, "
	"CASE WHEN state IN ('retry_wait', 'failed', 'pending') "
	"THEN coalesce(give_up_at, 0) ELSE 0 END, customer_email, products, redirect_uri, "
	"coalesce(minutes_to_expire, 0), sandbox, coalesce(manual, -1), "
	"integration_provider, integration_auth_method, kept, recordkeeping_recordkeeper, "
	"recordkeeping_plan_id, changed_fields, withdrawn, unconfirmed, connection_status, "
	"coalesce(connected_at, 0) FROM customers "
	"WHERE ((?1 = 0 AND ?3 = 0) OR (?1 & " STATE_BIT_SQL ") != 0 "
	"OR (?3 & " CONNECTION_BIT_SQL ") != 0) AND updated_at > ?2 "
	"ORDER BY id",
    [S_KEPT_NAMES] = "SELECT DISTINCT j.key FROM customers, json_each(customers.kept) AS j "
		     "WHERE customers.kept IS NOT NULL",
    [S_CUSTOMER_STATE] = "SELECT state FROM customers WHERE customer_key = ?1 AND keyless = 0",
};

static const char *const state_names[STATE_COUNT] = {
    "pending", "in_flight", "retry_wait", "created", "exists", "failed", "invalid",
};

STORE_ENUM_NAMES(enum row_state, state_names, STATE_COUNT, state_name, state_from_name)

/* Calls fn with each word of a comma-separated list, trimmed; stops at fn's -1. */
static int each_word(const char *list, int (*fn)(const char *word, void *data), void *data)
{
	struct strbuf word = STRBUF_INIT;
	const char *p = list;
	int ret = 0;

	for (;;) {
		size_t n = strcspn(p, ",");

		strbuf_reset(&word);
		strbuf_add(&word, p, n);
		strbuf_trim(&word);
		if ((ret = fn(word.buf, data)) < 0 || !p[n])
			break;
		p += n + 1;
	}
	strbuf_release(&word);
	return ret;
}

static int add_state(const char *word, void *data)
{
	enum row_state s;

	if (state_from_name(word, &s) < 0)
		return error(
		    "'%s' is not a state (pending, in_flight, retry_wait, created, exists, "
		    "failed, invalid)",
		    word);
	*(unsigned *)data |= STATE_MASK(s);
	return 0;
}

int state_mask_parse(const char *list, unsigned *mask)
{
	*mask = 0;
	return each_word(list, add_state, mask);
}

static int add_state_or_connection(const char *word, void *data)
{
	struct export_filter *f = data;
	const char *name = word;
	enum row_state s;
	int c;

	if (!strncmp(name, "connection:", 11))
		name += 11;
	else if (state_from_name(name, &s) == 0) {
		f->state_mask |= STATE_MASK(s);
		return 0;
	}
	if ((c = connection_status_index(name)) < 0)
		return error("--state: '%s' is neither a state (pending, in_flight, retry_wait, "
			     "created, exists, failed, invalid) nor a connection status "
			     "(connection:pending, processing, connected, reauth, "
			     "error_permissions, error_no_account_setup, disconnected)",
			     word);
	f->connection_mask |= 1u << c;
	return 0;
}

int export_state_parse(const char *list, struct export_filter *f)
{
	f->state_mask = f->connection_mask = 0;
	return each_word(list, add_state_or_connection, f);
}

/* ---- status ------------------------------------------------------------ */

#define DAY_MS (24 * 3600 * 1000LL)

int store_count_by_state(struct store *st, struct state_counts *out)
{
	sqlite3_stmt *s = st->stmt[S_COUNT_BY_STATE];
	int rc, ret = 0;

	memset(out, 0, sizeof(*out));
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t n = sqlite3_column_int64(s, 2);
		int withdrawn = sqlite3_column_int(s, 1);
		enum row_state state;

		if (state_from_name(column_str(s, 0), &state) == 0)
			out->by_state[state] += withdrawn ? -n : n;
		if (withdrawn)
			out->withdrawn += n;
		else
			out->total += n;
	}
	if (rc != SQLITE_DONE)
		ret = store_db_error(st, "cannot count rows");
	sqlite3_reset(s);
	return ret;
}

int store_count_states(struct store *st, int64_t now_ms, struct state_counts *out)
{
	sqlite3_stmt *s = st->stmt[S_COUNT_EXPIRY];

	if (store_count_by_state(st, out) < 0 ||
	    store_one_row(st, S_COUNT_SUMS,
			  (int64_t *[]){&out->retries, &out->line_invalid, &out->changed,
					&out->unconfirmed, &out->outcome_unknown},
			  5, "cannot count rows") < 0)
		return -1;
	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int64(s, 2, now_ms + 7 * DAY_MS);
	if (store_one_row(st, S_COUNT_EXPIRY, (int64_t *[]){&out->expired, &out->expiring_soon}, 2,
			  "cannot count expiring sessions") < 0)
		return -1;
	sqlite3_bind_int64(st->stmt[S_COUNT_CARRY], 1, now_ms);
	return store_one_row(st, S_COUNT_CARRY,
			     (int64_t *[]){&out->carried, &out->next_retry_ms,
					   &out->carried_until_ms, &out->given_up},
			     4, "cannot count the rows waiting for a retry");
}

int store_one_row(struct store *st, enum stmt_id id, int64_t *const out[], int n, const char *what)
{
	sqlite3_stmt *s = st->stmt[id];
	int ret = 0;

	if (sqlite3_step(s) == SQLITE_ROW)
		for (int i = 0; i < n; i++)
			*out[i] = sqlite3_column_int64(s, i);
	else
		ret = store_db_error(st, what);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int store_each_end(struct store *st, sqlite3_stmt *s, int rc, int ret, const char *what)
{
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_db_error(st, what);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int store_funnel(struct store *st, int64_t now_ms, struct funnel *out)
{
	sqlite3_stmt *s = st->stmt[S_FUNNEL_STATUSES];
	double *medians[] = {&out->days_to_connect, &out->open_days, &out->expired_days};
	int rc, ret = 0;

	memset(out, 0, sizeof(*out));
	sqlite3_bind_int64(st->stmt[S_FUNNEL_COUNTS], 1, now_ms);
	if (store_one_row(
		st, S_FUNNEL_COUNTS,
		(int64_t *[]){&out->links, &out->connected, &out->expired, &out->already_connected},
		4, "cannot count the funnel") < 0)
		return -1;
	out->open = out->links - out->connected - out->expired;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int i = connection_status_index(column_str(s, 0));

		out->by_status[i < 0 ? CONNECTION_STATUS_COUNT : i] += sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE)
		ret = store_db_error(st, "cannot count the connection statuses");
	sqlite3_reset(s);
	if (ret)
		return ret;
	for (size_t i = 0; i < ARRAY_SIZE(medians); i++)
		*medians[i] = -1;
	s = st->stmt[S_FUNNEL_AGES];
	sqlite3_bind_int64(s, 1, now_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t k = sqlite3_column_int64(s, 0);

		if (k >= 0 && (size_t)k < ARRAY_SIZE(medians))
			*medians[k] = sqlite3_column_double(s, 1) / (double)DAY_MS;
	}
	if (rc != SQLITE_DONE)
		ret = store_db_error(st, "cannot compute the funnel's ages");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int store_each_given_up(struct store *st, int (*fn)(const char *why, int64_t count, void *data),
			void *data)
{
	sqlite3_stmt *s = st->stmt[S_GIVEN_UP_GROUPS];
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if (fn(column_str(s, 0), sqlite3_column_int64(s, 1), data) < 0) {
			ret = -1;
			break;
		}
	if (!ret && rc != SQLITE_DONE)
		ret = store_db_error(st, "cannot group the rows given up");
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
		ret = store_db_error(st, "cannot group failures");
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
		ret = store_db_error(st, "cannot compute latency");
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
		ret = store_db_error(st, "cannot read the last run");
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
		ret = store_db_error(st, "cannot count requests");
	sqlite3_reset(s);
	if (ret)
		return ret;
	return store_one_row(
	    st, S_METRIC_RUNS,
	    (int64_t *[]){&out->runs, &out->pauses, &out->outages, &out->last_success_ms}, 4,
	    "cannot read the runs");
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
	sqlite3_bind_int64(s, 3, f->connection_mask);
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
		row.customer_email = column_str(s, 14);
		row.products = column_str(s, 15);
		row.redirect_uri = column_str(s, 16);
		row.minutes_to_expire = sqlite3_column_int64(s, 17);
		row.sandbox = column_str(s, 18);
		row.manual = (int)sqlite3_column_int64(s, 19);
		row.integration_provider = column_str(s, 20);
		row.integration_auth_method = column_str(s, 21);
		row.kept = column_str(s, 22);
		row.recordkeeper = column_str(s, 23);
		row.recordkeeping_plan_id = column_str(s, 24);
		row.changed = (unsigned)sqlite3_column_int64(s, 25);
		row.withdrawn = (int)sqlite3_column_int64(s, 26);
		row.unconfirmed = (int)sqlite3_column_int64(s, 27);
		row.connection_status = column_str(s, 28);
		row.connected_at_ms = sqlite3_column_int64(s, 29);
		if ((ret = fn(&row, data)) != 0)
			break;
	}
	return store_each_end(st, s, rc, ret, "cannot read rows to export");
}

int store_each_kept_name(struct store *st, int (*fn)(const char *name, void *data), void *data)
{
	sqlite3_stmt *s = st->stmt[S_KEPT_NAMES];
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		if ((ret = fn(column_str(s, 0), data)) != 0)
			break;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_db_error(st, "cannot read the kept columns");
	sqlite3_reset(s);
	return ret;
}

int store_customer_state(struct store *st, const char *customer_id, enum row_state *state)
{
	sqlite3_stmt *s = st->stmt[S_CUSTOMER_STATE];
	int rc, ret = 0;

	bind_key(s, 1, customer_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = state_from_name(column_str(s, 0), state) == 0 ? 1 : 0;
	else if (rc != SQLITE_DONE)
		ret = store_db_error(st, "cannot look up customer");
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}
