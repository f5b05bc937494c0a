/*
 * test_dispatch.c: the pure parts around the run loop: run options and
 * credentials (options.c), the jitter PRNG and exit codes (dispatch_loop.c, dispatch_stop.c),
 * the progress line (progress.c), log formats (log.c) and the dry run.
 * The loop itself is driven end to end against finch-mock by tests/e2e/run.sh.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "run/dispatch.h"
#include "base/log.h"
#include "run/options.h"
#include "run/progress.h"
#include "store/store.h"
#include "store/store_import.h"
#include "store/store_report.h"
#include "base/util.h"

/* Reads a whole stream back from the start into a malloc'd string. */
static char *slurp(FILE *f)
{
	long len;
	char *buf;

	fflush(f);
	len = ftell(f);
	buf = xmalloc((size_t)len + 1);
	rewind(f);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	return buf;
}

static void test_dispatch__random_is_reproducible_and_in_range(void **state)
{
	uint64_t a = 42, b = 42, c = 43;
	int differs = 0;

	(void)state;
	for (int i = 0; i < 10000; i++) {
		double x = dispatch_random(&a), y = dispatch_random(&b), z = dispatch_random(&c);

		assert_true(x >= 0.0 && x < 1.0);
		assert_true(x == y);
		differs |= x != z;
	}
	assert_true(differs);
}

static void test_dispatch__exit_code_for_counts(void **state)
{
	static const struct {
		enum row_state state;
		int code;
	} cases[] = {
	    {STATE_CREATED, EXIT_OK},	{STATE_EXISTS, EXIT_OK},       {STATE_FAILED, EXIT_ROWS},
	    {STATE_INVALID, EXIT_ROWS}, {STATE_RETRY_WAIT, EXIT_ROWS}, {STATE_PENDING, EXIT_ROWS},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct state_counts c;

		memset(&c, 0, sizeof(c));
		c.by_state[STATE_CREATED] = 10;
		c.by_state[cases[i].state] += 1;
		assert_int_equal(run_exit_code_for_counts(&c), cases[i].code);
	}
}

static void test_dispatch__exit_reason_names_what_happened(void **state)
{
	static const struct {
		int64_t failed, invalid, waiting, pending;
		const char *want;
	} cases[] = {
	    {0, 0, 0, 0, "done"},	  {1, 0, 0, 0, "rows_failed"},
	    {1, 1, 1, 1, "rows_failed"},  {0, 1, 0, 0, "rows_invalid"},
	    {0, 1, 1, 0, "rows_invalid"}, {0, 0, 1, 0, "rows_waiting"},
	    {0, 0, 0, 1, "rows_waiting"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct state_counts c;

		memset(&c, 0, sizeof(c));
		c.by_state[STATE_CREATED] = 10;
		c.by_state[STATE_FAILED] = cases[i].failed;
		c.by_state[STATE_INVALID] = cases[i].invalid;
		c.by_state[STATE_RETRY_WAIT] = cases[i].waiting;
		c.by_state[STATE_PENDING] = cases[i].pending;
		assert_string_equal(run_exit_reason_for_counts(&c), cases[i].want);
	}
}

static void test_dispatch__fd_plan_raises_or_clamps(void **state)
{
	static const struct {
		int64_t concurrency, soft, hard, want_soft, want_n;
	} cases[] = {
	    {16, 1024, 4096, 1024, 16},	    /* enough already: leave it */
	    {1024, 1024, 4096, 1056, 1024}, /* raise the soft limit to what is needed */
	    {1024, 1024, 1024, 1024, 992},  /* the hard limit is in the way: clamp */
	    {1024, 256, 1000, 1000, 968},   /* raise as far as it goes, and clamp */
	    {200, 64, 64, 64, 32},
	    {10, 20, 20, 20, 1}, /* never below one */
	    {1, 33, 33, 33, 1},
	    {100, 132, INT64_MAX / 2, 132, 100}, /* exactly enough */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t soft = -1;
		int64_t n =
		    dispatch_fd_plan(cases[i].concurrency, cases[i].soft, cases[i].hard, &soft);

		if (n != cases[i].want_n || soft != cases[i].want_soft)
			fail_msg("case %zu: %lld transfers, soft %lld; want %lld, %lld", i,
				 (long long)n, (long long)soft, (long long)cases[i].want_n,
				 (long long)cases[i].want_soft);
	}
}

static void test_dispatch__url_is_loopback(void **state)
{
	static const struct {
		const char *url;
		int loopback; /* 1: it reaches this machine only */
	} cases[] = {
	    {"http://127.0.0.1:8080", 1},
	    {"http://127.1.2.3/", 1},
	    {"http://localhost:1", 1},
	    {"HTTP://LOCALHOST", 1},
	    {"http://[::1]:99/x", 1},
	    {"http://user@127.0.0.1:5", 1},
	    {"http://128.0.0.1", 0},
	    {"http://127.0.0.1.evil.com", 0},
	    {"http://localhost.evil.com", 0},
	    {"http://localhost.", 0},
	    {"http://localhost.:8080/", 0},
	    {"http://LocalHost.", 0},
	    {"http://localhost..", 0},
	    {"http://xlocalhost", 0},
	    {"http://127.0.0.1.", 0},
	    {"http://[0:0:0:0:0:0:0:1]:8080", 1},
	    {"http://[::ffff:127.0.0.1]:8080", 1},
	    {"http://[::ffff:10.0.0.1]", 0},
	    {"http://127.0.0.1\\@evil.com/", 0},
	    {"http://evil.com#@127.0.0.1/", 0},
	    {"http://evil.com?@127.0.0.1/", 0},
	    {"http://0x7f000001/", 1},
	    {"http://api.tryfinch.com", 0},
	    {"http://[::2]", 0},
	    {"http://", 0},
	    {"no-scheme", 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(url_is_loopback(cases[i].url), cases[i].loopback);
}

static void test_dispatch__run_options_apply(void **state)
{
	static const struct {
		int opt;
		const char *arg;
		int ret;
	} cases[] = {
	    {RUN_OPT_CONCURRENCY, "64", 1},
	    {RUN_OPT_CONCURRENCY, "0", -1},
	    {RUN_OPT_CONCURRENCY, "1025", -1},
	    {RUN_OPT_CONCURRENCY, "8x", -1},
	    {RUN_OPT_RATE, "150/min", 1},
	    {RUN_OPT_RATE, "0", 1},
	    {RUN_OPT_RATE, "fast", -1},
	    {RUN_OPT_MAX_ATTEMPTS, "5", 1},
	    {RUN_OPT_MAX_ATTEMPTS, "0", -1},
	    {RUN_OPT_TIMEOUT, "1.5", 1},
	    {RUN_OPT_TIMEOUT, "0", -1},
	    {RUN_OPT_GRACE, "0", 1},
	    {RUN_OPT_MAX_RETRY_AFTER, "10m", 1},
	    {RUN_OPT_LOG_FORMAT, "json", 1},
	    {RUN_OPT_LOG_FORMAT, "xml", -1},
	    {RUN_OPT_SEED, "7", 1},
	    {RUN_OPT_SEED, "-1", -1},
	    {'d', "x", 0},
	};
	struct run_config c;

	(void)state;
	run_config_init(&c);
	assert_int_equal(c.concurrency, RUN_CONCURRENCY_DEFAULT);
	assert_int_equal(c.retry.max_attempts, 5);
	assert_int_equal(c.timeout_ms, 60000);
	assert_int_equal(c.grace_ms, 10000);
	assert_int_equal(c.retry.max_retry_after_ms, 600000);
	assert_true(c.rate_per_s > 2.99 && c.rate_per_s < 3.01);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(run_option_apply(&c, cases[i].opt, cases[i].arg), cases[i].ret);
	assert_int_equal(c.concurrency, 64);
	assert_true(c.rate_per_s == 0.0);
	assert_int_equal(c.timeout_ms, 1500);
	assert_int_equal(c.log_format, LOG_FORMAT_JSON);
	assert_int_equal(c.seed, 7);
	run_config_release(&c);
}

static void test_dispatch__secret_is_refused_on_the_command_line(void **state)
{
	struct run_config c;
	const struct option *o;
	int found = 0;

	(void)state;
	run_config_init(&c);
	for (o = run_long_options; o->name; o++)
		if (!strcmp(o->name, "client-secret")) {
			assert_int_equal(run_option_apply(&c, o->val, "s3cret"), -1);
			found = 1;
		}
	assert_true(found);
	assert_null(c.client_secret);
	run_config_release(&c);
}

static void test_dispatch__options_merge_keeps_both_tables(void **state)
{
	static const struct option own[] = {
	    {"db", required_argument, NULL, 'd'},
	    {NULL, 0, NULL, 0},
	};
	struct option *all = run_options_merge(own);
	size_t n = 0;
	int db = 0, rate = 0;

	(void)state;
	for (; all[n].name; n++) {
		db |= !strcmp(all[n].name, "db");
		rate |= !strcmp(all[n].name, "rate") && all[n].val == RUN_OPT_RATE;
	}
	assert_true(db && rate);
	assert_true(n > 10);
	free(all);
}

static void test_dispatch__config_finish_checks_url_and_credentials(void **state)
{
	static const struct {
		const char *url, *id, *secret;
		int dry_run, ret;
		const char *final_url;
	} cases[] = {
	    {"https://api.example.com/", "id", "s", 0, 0, "https://api.example.com"},
	    {"http://127.0.0.1:9/", "id", "s", 0, 0, "http://127.0.0.1:9"},
	    {"http://api.example.com", "id", "s", 0, -1, NULL},
	    {"ftp://127.0.0.1", "id", "s", 0, -1, NULL},
	    {"https://u:p@api.example.com", "id", "s", 0, -1, NULL},
	    {"https://api.example.com", NULL, "s", 0, -1, NULL},
	    {"https://api.example.com", "id", NULL, 0, -1, NULL},
	    {"https://api.example.com", "id", "", 0, -1, NULL},
	    {"https://api.example.com", NULL, NULL, 1, 0, "https://api.example.com"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run_config c;

		run_config_init(&c);
		if (cases[i].id)
			setenv("FINCH_CLIENT_ID", cases[i].id, 1);
		else
			unsetenv("FINCH_CLIENT_ID");
		if (cases[i].secret)
			setenv("FINCH_CLIENT_SECRET", cases[i].secret, 1);
		else
			unsetenv("FINCH_CLIENT_SECRET");
		c.dry_run = cases[i].dry_run;
		assert_int_equal(run_option_apply(&c, RUN_OPT_BASE_URL, cases[i].url), 1);
		assert_int_equal(run_config_finish(&c), cases[i].ret);
		if (cases[i].final_url)
			assert_string_equal(c.base_url, cases[i].final_url);
		run_config_release(&c);
	}
	unsetenv("FINCH_CLIENT_ID");
	unsetenv("FINCH_CLIENT_SECRET");
}

static void test_dispatch__secret_file_is_trimmed_and_checked(void **state)
{
	/* ssh's rule for key files: others may not write it; reading only draws a warning */
	static const struct {
		const char *content;
		mode_t mode; /* the file's */
		int ret;
		const char *secret; /* what is read (NULL: refused) */
	} cases[] = {
	    {"abc\n", 0600, 0, "abc"}, {"abc", 0400, 0, "abc"},	  {"abc\r\n", 0600, 0, "abc"},
	    {"\n", 0600, -1, NULL},    {"", 0600, -1, NULL},	  {"a\nb\n", 0600, -1, NULL},
	    {"abc\n", 0644, 0, "abc"}, {"abc\n", 0640, 0, "abc"}, {"abc\n", 0620, -1, NULL},
	    {"abc\n", 0602, -1, NULL}, {"abc\n", 0666, -1, NULL}, {"abc\n", 0660, -1, NULL},
	};
	char path[] = "/tmp/test_dispatch_secretXXXXXX";

	(void)state;
	setenv("FINCH_CLIENT_ID", "id", 1);
	setenv("FINCH_CLIENT_SECRET", "from-env", 1);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run_config c;
		int fd = mkstemp(path);
		FILE *f;

		assert_true(fd >= 0);
		f = fdopen(fd, "w");
		fputs(cases[i].content, f);
		fclose(f);
		assert_int_equal(chmod(path, cases[i].mode), 0);
		run_config_init(&c);
		assert_int_equal(run_option_apply(&c, RUN_OPT_BASE_URL, "https://x.example"), 1);
		assert_int_equal(run_option_apply(&c, RUN_OPT_SECRET_FILE, path), 1);
		assert_int_equal(run_config_finish(&c), cases[i].ret);
		if (cases[i].secret)
			assert_string_equal(c.client_secret, cases[i].secret);
		run_config_release(&c);
		unlink(path);
		memcpy(path + strlen(path) - 6, "XXXXXX", 6);
	}
	unsetenv("FINCH_CLIENT_ID");
	unsetenv("FINCH_CLIENT_SECRET");
}

static void test_dispatch__progress_format(void **state)
{
	static const struct {
		int64_t done, total, waiting;
		int paused;
		int64_t elapsed_ms;
		const char *want;
	} cases[] = {
	    {0, 100, 0, 0, 0, "0/100 done  0.0 sessions/s  ETA ?"},
	    {50, 100, 0, 0, 10000, "50/100 done  5.0 sessions/s  ETA 0:10"},
	    {10, 4000, 3, 1, 1000,
	     "10/4000 done  10.0 sessions/s  ETA 6:39  3 waiting for retry  paused (429)"},
	    {1, 10001, 0, 0, 1000, "1/10001 done  1.0 sessions/s  ETA 2:46:40"},
	};
	char buf[200];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		progress_format(buf, sizeof(buf), cases[i].done, cases[i].total, cases[i].waiting,
				cases[i].paused, cases[i].elapsed_ms);
		assert_string_equal(buf, cases[i].want);
	}
	/* Truncation stays terminated. */
	progress_format(buf, 12, 10, 4000, 3, 1, 1000);
	assert_int_equal(strlen(buf), 11);
}

static void test_dispatch__progress_fits_the_terminal(void **state)
{
	static const struct {
		long cols; /* the terminal's width, in columns */
		const char *want;
	} cases[] = {
	    {80, "10/4000 done  10.0 sessions/s  ETA 6:39  3 waiting for retry  paused (429)"},
	    {75, "10/4000 done  10.0 sessions/s  ETA 6:39  3 waiting for retry  paused (429)"},
	    {74, "10/4000 done  10.0 sessions/s  ETA 6:39  3 waiting for retry  paused (429"},
	    {40, "10/4000 done  10.0 sessions/s  ETA 6:39"},
	    {30, "10/4000 done  10.0 sessions/s"},
	    {2, "1"},
	    {1, "10/4000 done  10.0 sessions/s  ETA 6:39  3 waiting for retry  paused (429)"},
	    {0, "10/4000 done  10.0 sessions/s  ETA 6:39  3 waiting for retry  paused (429)"},
	};
	char buf[200];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		progress_format(buf, sizeof(buf), 10, 4000, 3, 1, 1000);
		progress_fit(buf, cases[i].cols);
		assert_string_equal(buf, cases[i].want);
	}
}

static void test_dispatch__progress_is_off_without_a_terminal(void **state)
{
	struct progress p;
	FILE *f = tmpfile();
	char *out;

	(void)state;
	progress_init(&p, 1, 10, 0);
	/* ctest gives stderr a pipe or file, never a terminal. */
	assert_int_equal(p.enabled, isatty(STDERR_FILENO));
	p.enabled = 0;
	p.out = f;
	progress_update(&p, 1, 0, 0, 1000);
	progress_finish(&p, 10, 0, 2000);
	out = slurp(f);
	assert_string_equal(out, "");
	free(out);
	fclose(f);
}

static void test_dispatch__progress_refreshes_at_most_ten_times_a_second(void **state)
{
	struct progress p;
	FILE *f = tmpfile();
	char *out, *q;
	int draws = 0;

	(void)state;
	progress_init(&p, 1, 1000, 0);
	p.enabled = 1;
	p.out = f;
	for (int64_t t = 1; t <= 1000; t++)
		progress_update(&p, t, 0, 0, t);
	out = slurp(f);
	for (q = out; (q = strchr(q, '\r')); q++)
		draws++;
	assert_true(draws >= 9 && draws <= 11);
	free(out);
	fclose(f);
}

static void test_dispatch__log_formats(void **state)
{
	FILE *f = tmpfile();
	char *out;

	(void)state;
	log_setup(LOG_FORMAT_JSON, LOG_INFO);
	log_event_to(f, LOG_INFO, "paused", "paused \"now\"", LOG_I("pause_ms", 2000),
		     LOG_S("customer_id", "a b"), LOG_S("code", NULL), LOG_END);
	log_event_to(f, LOG_DEBUG, "hidden", "not shown", LOG_END);
	log_setup(LOG_FORMAT_TEXT, LOG_WARN);
	log_event_to(f, LOG_INFO, "hidden", "not shown either", LOG_END);
	log_event_to(f, LOG_WARN, "row_failed", "row failed", LOG_S("customer_id", "x=1"),
		     LOG_I("http_status", 400), LOG_END);
	out = slurp(f);
	assert_contains(out, "\"level\":\"info\",\"event\":\"paused\","
			     "\"msg\":\"paused \\\"now\\\"\",\"pause_ms\":2000,"
			     "\"customer_id\":\"a b\",\"code\":null}\n");
	assert_contains(out, "{\"ts\":\"");
	assert_lacks(out, "not shown");
	assert_contains(out, "finch-onboard: warning: row failed "
			     "(customer_id=\"x=1\" http_status=400)\n");
	free(out);
	fclose(f);
	log_setup(LOG_FORMAT_TEXT, LOG_INFO);
}

static void test_dispatch__dry_run_prints_redacted_requests(void **state)
{
	char dir[] = "/tmp/test_dispatch_dbXXXXXX", path[128];
	struct store *st;
	struct run_config c;
	FILE *f = tmpfile();
	int64_t count = -1, import_id = 0, dup_line = 0;
	char *out;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	assert_int_equal(store_open(path, &st), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_import_start(st, "t.csv", 0, "", 1000, &import_id), 0);
	for (int i = 0; i < 3; i++) {
		struct connect_request r;
		enum upsert_result res;
		char id[16];

		connect_request_init(&r);
		snprintf(id, sizeof(id), "c-%d", i);
		r.customer_id = xstrdup(id);
		r.customer_name = xstrdup("Acme");
		r.products = PRODUCT_COMPANY;
		assert_int_equal(
		    store_upsert_customer(st, &r, "t.csv", i + 2, 1000, &res, &dup_line), 0);
		connect_request_release(&r);
	}
	assert_int_equal(store_commit(st), 0);

	setenv("FINCH_CLIENT_ID", "the-id", 1);
	setenv("FINCH_CLIENT_SECRET", "dry-run-secret-value", 1);
	run_config_init(&c);
	c.dry_run = 1;
	assert_int_equal(run_option_apply(&c, RUN_OPT_BASE_URL, "http://127.0.0.1:1"), 1);
	assert_int_equal(run_config_finish(&c), 0);
	assert_int_equal(dispatch_dry_run(st, &c, f, &count), 0);
	assert_int_equal(count, 3);
	out = slurp(f);
	assert_contains(out, "POST http://127.0.0.1:1/connect/sessions\n"
			     "Authorization: Basic [redacted]\n"
			     "Finch-API-Version: 2020-09-17\n");
	assert_contains(out, "\"customer_id\":\"c-2\"");
	assert_lacks(out, "dry-run-secret-value");
	free(out);
	fclose(f);
	run_config_release(&c);
	unsetenv("FINCH_CLIENT_ID");
	unsetenv("FINCH_CLIENT_SECRET");
	/* Nothing moved: the three rows are still pending. */
	{
		struct state_counts sc;

		assert_int_equal(store_count_states(st, 1000, &sc), 0);
		assert_int_equal(sc.by_state[STATE_PENDING], 3);
	}
	store_close(st);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_dispatch__random_is_reproducible_and_in_range),
	       cmocka_unit_test(test_dispatch__exit_code_for_counts),
	       cmocka_unit_test(test_dispatch__exit_reason_names_what_happened),
	       cmocka_unit_test(test_dispatch__fd_plan_raises_or_clamps),
	       cmocka_unit_test(test_dispatch__url_is_loopback),
	       cmocka_unit_test(test_dispatch__run_options_apply),
	       cmocka_unit_test(test_dispatch__secret_is_refused_on_the_command_line),
	       cmocka_unit_test(test_dispatch__options_merge_keeps_both_tables),
	       cmocka_unit_test(test_dispatch__config_finish_checks_url_and_credentials),
	       cmocka_unit_test(test_dispatch__secret_file_is_trimmed_and_checked),
	       cmocka_unit_test(test_dispatch__progress_format),
	       cmocka_unit_test(test_dispatch__progress_fits_the_terminal),
	       cmocka_unit_test(test_dispatch__progress_is_off_without_a_terminal),
	       cmocka_unit_test(test_dispatch__progress_refreshes_at_most_ten_times_a_second),
	       cmocka_unit_test(test_dispatch__log_formats),
	       cmocka_unit_test(test_dispatch__dry_run_prints_redacted_requests))
