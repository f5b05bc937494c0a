/*
 * test_store_queue.c: what a run sends (store_queue.h) and records
 * (store_outcome.h): claiming, outcomes, re-queuing, reauthentications.
 */
#include "unit.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TESTDB_NAME "test_store_queue"
#include "finch/retry.h"
#include "store/store.h"
#include "store/store_outcome.h"
#include "store/store_queue.h"
#include "store/store_report.h"
#include "testdb.h"

static struct attempt_record attempt(const struct store_job *job, long status, int64_t at)
{
	struct attempt_record a = {
	    .customer_row = job->id,
	    .attempt_no = job->attempt_total + 1,
	    .kind = job->kind,
	    .started_ms = at,
	    .elapsed_ms = 10,
	    .http_status = status,
	    .request_id = "req-1",
	};
	return a;
}

static void test_store_queue__claim_record_and_count(void **state)
{
	struct testdb *f = *state;
	struct store_job jobs[8];
	size_t n;
	struct state_counts c;
	int64_t when, run;

	for (int i = 0; i < 4; i++) {
		char id[8];

		snprintf(id, sizeof(id), "c%d", i);
		testdb_upsert(f->st, id, NULL);
	}
	assert_int_equal(store_run_start(f->st, 100, &run), 0);
	assert_int_equal(store_claim_due(f->st, 100, 3, jobs, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(jobs[0].req.customer_id, "c0");
	assert_int_equal(jobs[0].req.products, PRODUCT_COMPANY | PRODUCT_DIRECTORY);
	assert_query_int(f->path, "SELECT count(*) FROM customers WHERE state='in_flight'", 3);

	struct attempt_record a0 = attempt(&jobs[0], 201, 200);
	struct attempt_record a1 = attempt(&jobs[1], 503, 200);
	struct attempt_record a2 = attempt(&jobs[2], 400, 200);

	a0.run_id = a1.run_id = a2.run_id = run;
	a1.message = "HTTP 503";
	a2.finch_code = "connection_already_exists";
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_record_created(f->st, &a0, "s0", "https://x/s0", 9000), 0);
	assert_int_equal(store_record_retry(f->st, &a1, 5000), 0);
	assert_int_equal(store_record_exists(f->st, &a2, "conn-2"), 0);
	assert_int_equal(store_commit(f->st), 0);
	for (size_t i = 0; i < n; i++)
		store_job_release(&jobs[i]);

	assert_int_equal(store_next_retry_at(f->st, 4999, &when), 0);
	assert_int_equal(store_next_retry_at(f->st, 6000, &when), 1);
	assert_int_equal(when, 5000);
	/* before its time only the pending row is claimed; after it, the retry too */
	assert_int_equal(store_claim_due(f->st, 4000, 8, jobs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(jobs[0].req.customer_id, "c3");
	assert_int_equal(store_record_unsent(f->st, jobs[0].id, NULL), 0);
	store_job_release(&jobs[0]);
	assert_int_equal(store_claim_due(f->st, 5000, 8, jobs, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(jobs[0].req.customer_id, "c1");
	assert_int_equal(jobs[0].attempts, 1);
	struct attempt_record a3 = attempt(&jobs[0], 400, 5000);

	a3.run_id = run;
	a3.message = "customer_email: bad";
	a3.finch_code = "invalid_request";
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_record_failed(f->st, &a3), 0);
	assert_int_equal(store_commit(f->st), 0);
	store_job_release(&jobs[0]);
	store_job_release(&jobs[1]);

	/* c3 is still in flight: a crash; recovery puts it back with an "outcome unknown" */
	int64_t recovered;

	assert_int_equal(store_recover_in_flight(f->st, 6000, &recovered), 0);
	assert_int_equal(recovered, 1);
	assert_query_int(f->path,
			 "SELECT count(*) FROM attempts WHERE "
			 "transport_error='outcome unknown'",
			 1);
	assert_int_equal(store_count_states(f->st, 8000, &c), 0);
	assert_int_equal(c.total, 4);
	assert_int_equal(c.by_state[STATE_CREATED], 1);
	assert_int_equal(c.by_state[STATE_EXISTS], 1);
	assert_int_equal(c.by_state[STATE_FAILED], 1);
	assert_int_equal(c.by_state[STATE_PENDING], 1);
	assert_int_equal(c.retries, 1);
	assert_int_equal(c.expired, 0);
	assert_int_equal(c.expiring_soon, 1);
	assert_int_equal(store_count_states(f->st, 9001, &c), 0);
	assert_int_equal(c.expired, 1);

	struct run_record rr;

	assert_int_equal(store_run_finish(f->st, run, 7000, "done"), 0);
	assert_int_equal(store_last_run(f->st, &rr), 1);
	assert_int_equal(rr.attempts, 4);
	assert_true(rr.p50_ms == 10.0 && rr.p99_ms == 10.0);
	assert_string_equal(rr.exit_reason, "done");
}

static int count_row(const struct export_row *row, void *data)
{
	(void)row;
	++*(int *)data;
	return 0;
}

static void test_store_queue__requeue_export_and_queues(void **state)
{
	struct testdb *f = *state;
	struct requeue_filter rf = {0};
	struct export_filter ef = {0};
	int64_t count;
	int rows = 0;

	testdb_upsert(f->st, "a", NULL);
	testdb_upsert(f->st, "b", NULL);
	testdb_upsert(f->st, "c", NULL);
	assert_query_int(f->path, "UPDATE customers SET state='in_flight' RETURNING 1", 1);
	assert_query_int(f->path,
			 "UPDATE customers SET state='failed', http_status=400, "
			 "finch_code='invalid_request' WHERE customer_id='a' RETURNING 1",
			 1);
	assert_query_int(f->path,
			 "UPDATE customers SET state='failed', http_status=503 "
			 "WHERE customer_id='b' RETURNING 1",
			 1);
	assert_query_int(f->path,
			 "UPDATE customers SET state='created', expires_at=100, "
			 "connection_id=NULL WHERE customer_id='c' RETURNING 1",
			 1);

	rf.finch_code = "invalid_request";
	assert_int_equal(store_requeue(f->st, &rf, 3000, &count), 0);
	assert_int_equal(count, 1);
	rf.finch_code = NULL;
	rf.http_status = 404;
	assert_int_equal(store_requeue(f->st, &rf, 50, &count), 0);
	assert_int_equal(count, 0);
	const char *only[] = {"b", "zzz"};

	rf.http_status = 0;
	rf.customers = only;
	rf.ncustomers = 2;
	assert_int_equal(store_requeue(f->st, &rf, 6000, &count), 0);
	assert_int_equal(count, 1);

	ef.state_mask = STATE_MASK(STATE_PENDING);
	assert_int_equal(store_each_export(f->st, &ef, count_row, &rows), 0);
	assert_int_equal(rows, 2);
	ef.state_mask = 0;
	ef.since_ms = 5000;
	rows = 0;
	assert_int_equal(store_each_export(f->st, &ef, count_row, &rows), 0);
	assert_int_equal(rows, 1);

	assert_int_equal(store_queue_expired(f->st, 99, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(store_queue_expired(f->st, 101, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_queue_reauth(f->st, 101, REAUTH_ALL, NULL, &count), 0);
	assert_int_equal(count, 0);
}

/*
 * --reauthenticate queues the connections whose status needs a new link;
 * =all every exists row with a connection; retry --customer one of them.
 */
static void test_store_queue__reauth_targets_connections_that_need_it(void **state)
{
	static const struct {
		const char *id, *state, *conn, *status;
	} rows[] = {
	    {"healthy", "exists", "c-1", "connected"},
	    {"unknown", "exists", "c-2", NULL},
	    {"reauth", "exists", "c-3", "reauth"},
	    {"perms", "exists", "c-4", "error_permissions"},
	    {"gone", "exists", "c-5", "disconnected"},
	    {"noconn", "exists", NULL, "reauth"},
	    {"fresh", "pending", "c-7", "reauth"},
	};
	static const struct {
		enum reauth_scope scope;
		const char *customer, *want;
	} cases[] = {
	    {REAUTH_NEEDED, NULL, "perms,reauth"},
	    {REAUTH_ALL, NULL, "gone,healthy,perms,reauth,unknown"},
	    {REAUTH_ALL, "healthy", "healthy"},
	    {REAUTH_ALL, "fresh", ""},
	    {REAUTH_NEEDED, "healthy", ""},
	};
	struct testdb *f = *state;

	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		char sql[256], got[128];
		int64_t count, want = 0;

		query_int(f->path, "DELETE FROM customers RETURNING 1");
		for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
			testdb_upsert(f->st, rows[i].id, NULL);
			snprintf(sql, sizeof(sql),
				 "UPDATE customers SET state = '%s', connection_id = %s%s%s, "
				 "connection_status = %s%s%s WHERE customer_id = '%s' RETURNING 1",
				 rows[i].state, rows[i].conn ? "'" : "",
				 rows[i].conn ? rows[i].conn : "NULL", rows[i].conn ? "'" : "",
				 rows[i].status ? "'" : "",
				 rows[i].status ? rows[i].status : "NULL",
				 rows[i].status ? "'" : "", rows[i].id);
			assert_query_int(f->path, sql, 1);
		}
		assert_int_equal(
		    store_queue_reauth(f->st, 5000, cases[c].scope, cases[c].customer, &count), 0);
		query_text(f->path,
			   "SELECT coalesce(group_concat(customer_id, ','), '') FROM (SELECT "
			   "customer_id FROM customers WHERE request_kind = 'reauth' AND state = "
			   "'pending' ORDER BY customer_id)",
			   got, sizeof(got));
		if (strcmp(got, cases[c].want))
			fail_msg("case %zu: queued '%s', want '%s'", c, got, cases[c].want);
		for (const char *p = cases[c].want; *p; p++)
			want += p == cases[c].want || *p == ',';
		assert_int_equal(count, want);
	}
}

/* The customer ids store_claim_due() claims at now_ms, comma-separated; puts them back. */
static void claim_ids(struct testdb *f, int64_t now_ms, char *out, size_t len)
{
	struct store_job jobs[8];
	size_t n;

	out[0] = '\0';
	assert_int_equal(store_claim_due(f->st, now_ms, 8, jobs, &n), 0);
	for (size_t i = 0; i < n; i++) {
		snprintf(out + strlen(out), len - strlen(out), "%s%s%s", i ? "," : "",
			 jobs[i].req.customer_id, jobs[i].outcome_unknown ? "?" : "");
		assert_int_equal(store_record_unsent(f->st, jobs[i].id, NULL), 0);
		store_job_release(&jobs[i]);
	}
}

/*
 * A request that timed out after it went out (an outcome unknown,
 * RETRY_UNKNOWN_SETTLE_MS): its row is never claimed again by the run that
 * sent it, nor by a run that began before it was due; a run that begins
 * after that claims it, flagged. A plain retry of the same run comes back.
 */
static void test_store_queue__timed_out_row_waits_for_a_later_run(void **state)
{
	struct testdb *f = *state;
	struct store_job jobs[3];
	struct state_counts c;
	char got[64];
	size_t n;
	int64_t run, when;

	testdb_upsert(f->st, "u", NULL);
	testdb_upsert(f->st, "r", NULL);
	assert_int_equal(store_run_start(f->st, 100, &run), 0);
	store_defer_long_hints(f->st, 100, 600000);
	assert_int_equal(store_claim_due(f->st, 100, 2, jobs, &n), 0);
	assert_int_equal(n, 2);

	struct attempt_record au = attempt(&jobs[0], 0, 200);
	struct attempt_record ar = attempt(&jobs[1], 0, 200);

	au.run_id = ar.run_id = run;
	au.transport_error = STORE_OUTCOME_UNKNOWN;
	au.message =
	    STORE_OUTCOME_UNKNOWN ": no answer within --timeout after the request went out";
	ar.transport_error = "Connection reset by peer";
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_record_retry(f->st, &au, 210 + RETRY_UNKNOWN_SETTLE_MS), 0);
	assert_int_equal(store_record_retry(f->st, &ar, 5000), 0);
	assert_int_equal(store_commit(f->st), 0);
	store_job_release(&jobs[0]);
	store_job_release(&jobs[1]);
	assert_int_equal(store_count_states(f->st, 1000, &c), 0);
	assert_int_equal(c.outcome_unknown, 1);

	/* the same run, long after both are due: only the plain retry */
	assert_int_equal(store_next_retry_at(f->st, INT64_MAX, &when), 1);
	assert_int_equal(when, 5000);
	claim_ids(f, 2 * RETRY_UNKNOWN_SETTLE_MS, got, sizeof(got));
	assert_string_equal(got, "r");
	/* a run that began before it was due: not even once it is */
	store_defer_long_hints(f->st, 1000, 600000);
	claim_ids(f, 2 * RETRY_UNKNOWN_SETTLE_MS, got, sizeof(got));
	assert_string_equal(got, "r");
	assert_int_equal(store_next_retry_at(f->st, INT64_MAX, &when), 0);
	/* a run that begins once it is due: sent again, flagged */
	store_defer_long_hints(f->st, 210 + RETRY_UNKNOWN_SETTLE_MS, 600000);
	claim_ids(f, 210 + RETRY_UNKNOWN_SETTLE_MS, got, sizeof(got));
	assert_string_equal(got, "u?,r");

	/* its last attempt spent, it fails; a sync gives it a fresh budget only once it settled */
	int64_t requeued, t = 1000000;

	assert_int_equal(store_claim_due(f->st, t, 1, jobs, &n), 0);
	assert_int_equal(n, 1);
	au = attempt(&jobs[0], 0, t);
	au.run_id = run;
	au.transport_error = STORE_OUTCOME_UNKNOWN;
	au.message =
	    STORE_OUTCOME_UNKNOWN ": no answer within --timeout after the request went out";
	au.first_transient_ms = t;
	au.give_up_ms = t + 86400000;
	assert_int_equal(store_begin(f->st), 0);
	assert_int_equal(store_record_failed(f->st, &au), 0);
	assert_int_equal(store_commit(f->st), 0);
	store_job_release(&jobs[0]);
	assert_int_equal(store_requeue_transient(f->st, t + 60000, &requeued), 0);
	assert_int_equal(requeued, 0);
	assert_int_equal(
	    store_requeue_transient(f->st, t + 10 + RETRY_UNKNOWN_SETTLE_MS, &requeued), 0);
	assert_int_equal(requeued, 1);
}

UNIT_TEST_MAIN(WITH_DB(test_store_queue__claim_record_and_count),
	       WITH_DB(test_store_queue__requeue_export_and_queues),
	       WITH_DB(test_store_queue__reauth_targets_connections_that_need_it),
	       WITH_DB(test_store_queue__timed_out_row_waits_for_a_later_run))
