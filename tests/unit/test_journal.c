/*
 * test_journal.c: the answers journal (journal.h): its line format, and its
 * replay into a real store in a temp directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/journal.h"
#include "store/store.h"
#include "store/store_import.h"
#include "store/store_outcome.h"
#include "store/store_queue.h"
#include "base/util.h"
#include "testdb.h"

#define DB_ID	"0123456789abcdef0123456789abcdef"
#define LINE_ID "fedcba9876543210fedcba9876543210"

/* An outcome with every string set from literals (copied: outcomes own them). */
static struct store_outcome outcome(enum outcome_kind k, const char *customer_id, long status,
				    const char *session, const char *url, const char *conn,
				    const char *message)
{
	struct store_outcome o;

	memset(&o, 0, sizeof(o));
	o.kind = k;
	o.customer_row = 7;
	o.customer_id = xstrdup(customer_id);
	o.run_id = 3;
	o.attempt_no = 2;
	o.req_kind = REQUEST_CREATE;
	o.started_ms = 1764430000123;
	o.elapsed_ms = 212;
	o.http_status = status;
	o.request_id = xstrdup("req-1");
	o.session_id = session ? xstrdup(session) : NULL;
	o.connect_url = url ? xstrdup(url) : NULL;
	o.connection_id = conn ? xstrdup(conn) : NULL;
	o.message = message ? xstrdup(message) : NULL;
	if (k == OUTCOME_CREATED)
		o.expires_at_ms = 1772206000000;
	if (k == OUTCOME_RETRY) {
		o.next_attempt_ms = 1764430009000;
		o.first_transient_ms = 1764430000000;
		o.give_up_ms = 1764516400000;
	}
	return o;
}

static void assert_str_eq_or_null(const char *a, const char *b)
{
	if (!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_outcome_equal(const struct store_outcome *a, const struct store_outcome *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->customer_row, b->customer_row);
	assert_string_equal(a->customer_id, b->customer_id);
	assert_int_equal(a->run_id, b->run_id);
	assert_int_equal(a->attempt_no, b->attempt_no);
	assert_int_equal(a->req_kind, b->req_kind);
	assert_int_equal(a->started_ms, b->started_ms);
	assert_int_equal(a->elapsed_ms, b->elapsed_ms);
	assert_int_equal(a->http_status, b->http_status);
	assert_str_eq_or_null(a->transport_error, b->transport_error);
	assert_str_eq_or_null(a->finch_code, b->finch_code);
	assert_str_eq_or_null(a->request_id, b->request_id);
	assert_str_eq_or_null(a->message, b->message);
	assert_str_eq_or_null(a->session_id, b->session_id);
	assert_str_eq_or_null(a->connect_url, b->connect_url);
	assert_str_eq_or_null(a->connection_id, b->connection_id);
	assert_str_eq_or_null(a->body, b->body);
	assert_int_equal(a->expires_at_ms, b->expires_at_ms);
	assert_int_equal(a->next_attempt_ms, b->next_attempt_ms);
	assert_int_equal(a->first_transient_ms, b->first_transient_ms);
	assert_int_equal(a->give_up_ms, b->give_up_ms);
}

static void test_journal__encode_decode_round_trip(void **state)
{
	struct store_outcome cases[] = {
	    outcome(OUTCOME_CREATED, "acme-001", 201, "5f1c-aa", "https://connect/x?s=5f1c-aa",
		    NULL, NULL),
	    outcome(OUTCOME_EXISTS, "beta \"quoted\"", 400, NULL, NULL, "conn-9",
		    "There's an existing connection"),
	    outcome(OUTCOME_FAILED, "Müller GmbH ✓", 422, NULL, NULL, NULL,
		    "two\nlines and a \t tab"),
	    outcome(OUTCOME_RETRY, "c", 0, NULL, NULL, NULL, "Couldn't connect"),
	    outcome(OUTCOME_UNSENT, "d", 401, NULL, NULL, NULL, NULL),
	    outcome(OUTCOME_UNCONFIRMED, "e", 201, NULL, NULL, NULL,
		    "HTTP 201 cut short (...) after 12 body bytes: {\"session_"),
	};

	(void)state;
	cases[1].finch_code = xstrdup("connection_already_exists");
	cases[3].transport_error = xstrdup("Couldn't connect to server");
	cases[4].req_kind = REQUEST_REAUTH;
	cases[5].body = xstrdup("{\"session_\\x1f\\x8b");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf sb = STRBUF_INIT;
		struct store_outcome back;
		char why[128] = "";

		struct journal_stamp stamp;

		journal_encode(&cases[i], DB_ID, LINE_ID, &sb);
		/* one line: the only newline is the last byte */
		assert_true(sb.len > 2);
		assert_int_equal(sb.buf[sb.len - 1], '\n');
		assert_null(memchr(sb.buf, '\n', sb.len - 1));
		assert_int_equal(
		    journal_decode(sb.buf, sb.len - 1, &back, &stamp, why, sizeof(why)), 0);
		assert_outcome_equal(&cases[i], &back);
		assert_int_equal(stamp.version, JOURNAL_VERSION);
		assert_int_equal(stamp.schema, store_schema_version());
		assert_string_equal(stamp.db_id, DB_ID);
		assert_string_equal(stamp.line_id, LINE_ID);
		store_outcome_release(&back);
		store_outcome_release(&cases[i]);
		strbuf_release(&sb);
	}
}

static void test_journal__decode_rejects(void **state)
{
	static const struct {
		const char *line;
		const char *why; /* what decoding says */
	} cases[] = {
	    {"", "not a JSON object"},
	    {"[1,2]", "not a JSON object"},
	    {"{\"v\":1,\"outcome\":\"created\"", "not a JSON object"},
	    {"{\"outcome\":\"created\"}", "v: missing"},
	    {"{\"v\":9,\"outcome\":\"created\"}", "version 9"},
	    {"{\"v\":1,\"outcome\":\"won\",\"kind\":\"create\",\"customer_id\":\"a\","
	     "\"customer_row\":1,\"attempt_no\":1,\"started_at\":1}",
	     "outcome: 'won'"},
	    {"{\"v\":1,\"outcome\":\"failed\",\"kind\":\"post\",\"customer_id\":\"a\","
	     "\"customer_row\":1,\"attempt_no\":1,\"started_at\":1}",
	     "kind: 'post'"},
	    {"{\"v\":1,\"outcome\":\"failed\",\"kind\":\"create\",\"customer_id\":\"a\","
	     "\"customer_row\":1.5,\"attempt_no\":1,\"started_at\":1}",
	     "customer_row: not an integer"},
	    {"{\"v\":1,\"outcome\":\"failed\",\"kind\":\"create\",\"customer_id\":7,"
	     "\"customer_row\":1,\"attempt_no\":1,\"started_at\":1}",
	     "customer_id: not a string"},
	    {"{\"v\":1,\"outcome\":\"failed\",\"kind\":\"create\",\"customer_id\":\"\","
	     "\"customer_row\":1,\"attempt_no\":1,\"started_at\":1}",
	     "customer_id: missing"},
	    {"{\"v\":1,\"outcome\":\"created\",\"kind\":\"create\",\"customer_id\":\"a\","
	     "\"customer_row\":1,\"attempt_no\":1,\"started_at\":1,\"session_id\":\"s\"}",
	     "without session_id and connect_url"},
	    {"{\"v\":1,\"outcome\":\"exists\",\"kind\":\"create\",\"customer_id\":\"a\","
	     "\"customer_row\":1,\"attempt_no\":1,\"started_at\":1}",
	     "without connection_id"},
	    /* version 2 lines carry their database, schema and line ids */
	    {"{\"v\":2,\"outcome\":\"failed\",\"kind\":\"create\",\"customer_id\":\"a\","
	     "\"customer_row\":1,\"attempt_no\":1,\"started_at\":1,\"schema\":14,"
	     "\"line_id\":\"" LINE_ID "\"}",
	     "db: not a database id"},
	    {"{\"v\":2,\"db\":\"" DB_ID "\",\"outcome\":\"failed\",\"kind\":\"create\","
	     "\"customer_id\":\"a\",\"customer_row\":1,\"attempt_no\":1,\"started_at\":1,"
	     "\"schema\":14,\"line_id\":\"ABC\"}",
	     "line_id: not a line id"},
	    {"{\"v\":2,\"db\":\"" DB_ID "\",\"outcome\":\"failed\",\"kind\":\"create\","
	     "\"customer_id\":\"a\",\"customer_row\":1,\"attempt_no\":1,\"started_at\":1,"
	     "\"line_id\":\"" LINE_ID "\"}",
	     "schema: missing"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct store_outcome o;
		struct journal_stamp stamp;
		char why[128] = "";

		assert_int_equal(journal_decode(cases[i].line, strlen(cases[i].line), &o, &stamp,
						why, sizeof(why)),
				 -1);
		if (!strstr(why, cases[i].why))
			fail_msg("case %zu: '%s' does not contain '%s'", i, why, cases[i].why);
		assert_null(o.customer_id);
	}
}

/* ---- replay, against a real store ------------------------------------- */

struct fixture {
	char dir[64];
	char path[96];
	struct store *st;
	int64_t run_id;
	struct store_job jobs[4];
	size_t njobs;
};

/* A store with customers c0..c3, all claimed (in_flight) by one run. */
static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));

	testdb_dir(f->dir, f->path, "test_journal");
	assert_int_equal(store_open(f->path, &f->st), 0);
	for (int i = 0; i < 4; i++) {
		struct connect_request r;
		enum upsert_result res;
		int64_t dup = 0;
		char id[8];

		snprintf(id, sizeof(id), "c%d", i);
		connect_request_init(&r);
		r.customer_id = xstrdup(id);
		r.customer_name = xstrdup("Acme");
		r.products = PRODUCT_COMPANY;
		assert_int_equal(
		    store_upsert_customer(f->st, &r, "in.csv", i + 2, 1000, &res, &dup), 0);
		connect_request_release(&r);
	}
	assert_int_equal(store_run_start(f->st, 2000, &f->run_id), 0);
	assert_int_equal(store_claim_due(f->st, 2000, 4, f->jobs, &f->njobs), 0);
	assert_int_equal(f->njobs, 4);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < f->njobs; i++)
		store_job_release(&f->jobs[i]);
	store_close(f->st);
	if (testdb_remove(f->dir) < 0)
		return -1;
	free(f);
	return 0;
}

/* The outcome of job j of the fixture, as the dispatcher would hold it. */
static struct store_outcome job_outcome(struct fixture *f, size_t j, enum outcome_kind k,
					long status, const char *id)
{
	struct store_outcome o =
	    outcome(k, f->jobs[j].req.customer_id, status, k == OUTCOME_CREATED ? id : NULL,
		    k == OUTCOME_CREATED ? "https://connect/x" : NULL,
		    k == OUTCOME_EXISTS ? id : NULL, NULL);

	o.customer_row = f->jobs[j].id;
	o.run_id = f->run_id;
	o.attempt_no = 1;
	return o;
}

static void write_journal(struct fixture *f, struct store_outcome *o, size_t n, const char *raw)
{
	struct journal j = JOURNAL_INIT;

	assert_int_equal(journal_open(&j, f->st, 65536), 0);
	assert_int_equal(journal_append(&j, o, n), 0);
	if (raw)
		assert_int_equal(write(j.fd, raw, strlen(raw)), (ssize_t)strlen(raw));
	journal_close(&j);
	for (size_t i = 0; i < n; i++)
		store_outcome_release(&o[i]);
}

static void test_journal__replay_records_every_answer(void **state)
{
	struct fixture *f = *state;
	struct store_outcome o[3];
	char *jpath = journal_path(store_filename(f->st));
	int64_t count = -1;

	o[0] = job_outcome(f, 0, OUTCOME_CREATED, 201, "sess-0");
	o[1] = job_outcome(f, 1, OUTCOME_EXISTS, 400, "conn-1");
	o[2] = job_outcome(f, 2, OUTCOME_RETRY, 503, NULL);
	/* the last append was cut short by a crash: never acknowledged, ignored */
	write_journal(f, o, 3, "{\"v\":1,\"outcome\":\"created\",\"cust");
	assert_int_equal(journal_waiting(store_filename(f->st)), 3);

	assert_int_equal(journal_replay(f->st, &count), 0);
	assert_int_equal(count, 3);
	assert_int_equal(access(jpath, F_OK), -1);
	assert_int_equal(journal_waiting(store_filename(f->st)), 0);
	assert_query_text(f->path,
			  "SELECT group_concat(state, ',') FROM (SELECT state FROM customers "
			  "ORDER BY id)",
			  "created,exists,retry_wait,in_flight");
	assert_query_text(f->path, "SELECT session_id FROM customers WHERE customer_id = 'c0'",
			  "sess-0");
	assert_query_text(f->path,
			  "SELECT group_concat(coalesce(session_id, connection_id, '-'), ',') "
			  "FROM (SELECT * FROM attempts ORDER BY id)",
			  "sess-0,conn-1,-");

	/* nothing left: a second replay is a no-op */
	assert_int_equal(journal_replay(f->st, &count), 0);
	assert_int_equal(count, 0);
	free(jpath);
}

static void test_journal__replay_keeps_history_of_a_row_that_moved_on(void **state)
{
	struct fixture *f = *state;
	struct store_outcome o[2];
	int64_t count = -1, recovered = 0;

	o[0] = job_outcome(f, 0, OUTCOME_CREATED, 201, "sess-0");
	o[1] = job_outcome(f, 1, OUTCOME_FAILED, 422, NULL);
	write_journal(f, o, 2, NULL);
	/* an older binary (or a restored backup) has the rows pending */
	assert_int_equal(store_recover_in_flight(f->st, 3000, &recovered), 0);
	assert_int_equal(recovered, 4);
	assert_int_equal(journal_replay(f->st, &count), 0);
	assert_int_equal(count, 2);
	/* a session that exists is recorded: sending the row again would make a second */
	assert_query_text(
	    f->path, "SELECT state || ' ' || session_id FROM customers WHERE customer_id = 'c0'",
	    "created sess-0");
	/* a failure created nothing: the row stays as it is, the answer in its history */
	assert_query_text(
	    f->path,
	    "SELECT state || ' ' || (SELECT count(*) FROM attempts a WHERE a.customer = "
	    "c.id AND a.http_status = 422) FROM customers c WHERE customer_id = 'c1'",
	    "pending 1");
}

/* A copy of the journal taken before the replay removed it, put back: a crash between them. */
static void test_journal__replay_twice_records_once(void **state)
{
	struct fixture *f = *state;
	struct store_outcome o[2];
	char *jpath = journal_path(store_filename(f->st));
	struct strbuf copy = STRBUF_INIT;
	int64_t count = -1;
	FILE *in, *out;
	int c;

	o[0] = job_outcome(f, 0, OUTCOME_CREATED, 201, "sess-0");
	o[1] = job_outcome(f, 1, OUTCOME_RETRY, 503, NULL);
	write_journal(f, o, 2, NULL);
	in = fopen(jpath, "r");
	assert_non_null(in);
	while ((c = fgetc(in)) != EOF)
		strbuf_addch(&copy, c);
	fclose(in);
	assert_int_equal(journal_replay(f->st, &count), 0);
	assert_int_equal(count, 2);
	out = fopen(jpath, "w");
	assert_non_null(out);
	assert_int_equal(fwrite(copy.buf, 1, copy.len, out), copy.len);
	fclose(out);
	assert_int_equal(journal_replay(f->st, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(access(jpath, F_OK), -1);
	assert_query_text(f->path, "SELECT count(*) FROM attempts", "2");
	assert_query_text(f->path, "SELECT count(*) FROM journal_applied", "2");
	strbuf_release(&copy);
	free(jpath);
}

/* Writes line (a whole JSON object) as the journal of f's database. */
static void put_journal(struct fixture *f, const char *line)
{
	char *jpath = journal_path(store_filename(f->st));
	FILE *out = fopen(jpath, "w");

	assert_non_null(out);
	fprintf(out, "%s\n", line);
	fclose(out);
	free(jpath);
}

/*
 * Replays f's journal, which must be refused: the journal stays for a person
 * to look at, no transaction is left open, and query still gives want.
 * Returns what the replay counted.
 */
static int64_t replay_refused(struct fixture *f, const char *query, const char *want)
{
	char *jpath = journal_path(store_filename(f->st));
	int64_t count = -1;

	assert_int_equal(journal_replay(f->st, &count), -1);
	assert_int_equal(access(jpath, F_OK), 0);
	assert_query_text(f->path, query, want);
	assert_false(store_in_transaction(f->st));
	free(jpath);
	return count;
}

static void test_journal__refuses_another_databases_journal(void **state)
{
	struct fixture *f = *state;

	put_journal(f, "{\"v\":2,\"db\":\"" DB_ID "\",\"schema\":14,\"line_id\":\"" LINE_ID
		       "\",\"outcome\":\"created\",\"kind\":\"create\",\"customer_id\":\"c0\","
		       "\"customer_row\":1,\"attempt_no\":1,\"started_at\":1764430000000,"
		       "\"session_id\":\"s\",\"connect_url\":\"https://connect/x\"}");
	assert_int_equal(replay_refused(f, "SELECT count(*) FROM attempts", "0"), 0);
}

static void test_journal__refuses_a_journal_of_unknown_customers(void **state)
{
	struct fixture *f = *state;
	struct store_outcome o[2];

	o[0] = job_outcome(f, 0, OUTCOME_CREATED, 201, "sess-0");
	o[1] = job_outcome(f, 1, OUTCOME_CREATED, 201, "sess-1");
	free(o[1].customer_id);
	o[1].customer_id = xstrdup("not-here");
	write_journal(f, o, 2, NULL);
	replay_refused(f, "SELECT count(*) FROM attempts", "0");
	assert_query_text(f->path, "SELECT count(*) FROM journal_applied", "0");
}

static void test_journal__run_missing_from_a_restored_backup(void **state)
{
	struct fixture *f = *state;
	struct store_outcome o[1];
	int64_t count = -1;

	o[0] = job_outcome(f, 0, OUTCOME_CREATED, 201, "sess-0");
	o[0].run_id = f->run_id + 41; /* the backup was taken before that run began */
	write_journal(f, o, 1, NULL);
	assert_int_equal(journal_replay(f->st, &count), 0);
	assert_int_equal(count, 1);
	assert_query_text(f->path,
			  "SELECT coalesce(run_id, 'none') || ' ' || session_id FROM attempts",
			  "none sess-0");
}

static void test_journal__bad_line_changes_nothing_and_stays(void **state)
{
	struct fixture *f = *state;
	struct store_outcome o[2];

	o[0] = job_outcome(f, 0, OUTCOME_CREATED, 201, "sess-0");
	write_journal(f, o, 1, "not json\n");
	o[1] = job_outcome(f, 1, OUTCOME_FAILED, 422, NULL);
	write_journal(f, o + 1, 1, NULL);
	assert_int_equal(
	    replay_refused(f, "SELECT count(*) FROM customers WHERE state = 'in_flight'", "4"), 0);
}

static void test_journal__unused_journal_is_removed(void **state)
{
	struct fixture *f = *state;
	struct journal j = JOURNAL_INIT;
	char *jpath = journal_path(store_filename(f->st));
	int64_t count = -1;
	int fd;

	assert_int_equal(journal_open(&j, f->st, 1 << 20), 0);
	assert_int_equal(access(jpath, F_OK), 0);
	journal_close(&j);
	assert_int_equal(access(jpath, F_OK), -1);
	/* a crash's leftover, empty: replay removes it */
	fd = open(jpath, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(journal_replay(f->st, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(access(jpath, F_OK), -1);
	free(jpath);
}

static void test_journal__path_is_beside_the_database(void **state)
{
	char *p = journal_path("/srv/onboard.db");

	(void)state;
	assert_string_equal(p, "/srv/onboard.db-answers");
	free(p);
}

/* A test that gets the fixture: a store whose four customers one run has claimed. */
#define WITH_CLAIMS(test) cmocka_unit_test_setup_teardown(test, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_journal__encode_decode_round_trip),
	    cmocka_unit_test(test_journal__decode_rejects),
	    cmocka_unit_test(test_journal__path_is_beside_the_database),
	    WITH_CLAIMS(test_journal__replay_records_every_answer),
	    WITH_CLAIMS(test_journal__replay_keeps_history_of_a_row_that_moved_on),
	    WITH_CLAIMS(test_journal__replay_twice_records_once),
	    WITH_CLAIMS(test_journal__refuses_another_databases_journal),
	    WITH_CLAIMS(test_journal__refuses_a_journal_of_unknown_customers),
	    WITH_CLAIMS(test_journal__run_missing_from_a_restored_backup),
	    WITH_CLAIMS(test_journal__bad_line_changes_nothing_and_stays),
	    WITH_CLAIMS(test_journal__unused_journal_is_removed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
