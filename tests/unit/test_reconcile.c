/*
 * test_reconcile.c: what tonight's CSV means for each row, as tables
 * (issue 16): which fields changed, the verdict for a line, the withdraw
 * guard and the exit code of a night.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "base/exitcode.h"
#include "finch/reconcile.h"

static struct connect_request base_request(void)
{
	struct connect_request r;

	memset(&r, 0, sizeof(r));
	r.customer_id = "acme";
	r.customer_name = "Acme";
	r.customer_email = "hr@acme.example";
	r.products = 0x3;
	r.manual = -1;
	return r;
}

static void test_reconcile__changed_fields(void **state)
{
	static const struct {
		const char *what;
		unsigned want; /* the RECONCILE_ flags of what changed */
	} cases[] = {
	    {"same", 0},
	    {"name", RECONCILE_NAME},
	    {"email gone", RECONCILE_EMAIL},
	    {"products (a --products default)", RECONCILE_PRODUCTS},
	    {"redirect", RECONCILE_REDIRECT},
	    {"expiry", RECONCILE_EXPIRY},
	    {"sandbox", RECONCILE_SANDBOX},
	    {"manual", RECONCILE_SANDBOX},
	    {"integration", RECONCILE_INTEGRATION},
	    {"name and products", RECONCILE_NAME | RECONCILE_PRODUCTS},
	    {"recordkeeper", RECONCILE_RECORDKEEPING},
	    {"recordkeeping plan id", RECONCILE_RECORDKEEPING},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct connect_request a = base_request(), b = base_request();
		unsigned got;

		switch (i) {
		case 1:
			b.customer_name = "Acme Inc.";
			break;
		case 2:
			b.customer_email = NULL;
			break;
		case 3:
			b.products = 0x7;
			break;
		case 4:
			b.redirect_uri = "https://x.example/";
			break;
		case 5:
			b.minutes_to_expire = 1440;
			break;
		case 6:
			b.sandbox = "finch";
			break;
		case 7:
			b.manual = 1;
			break;
		case 8:
			b.integration_provider = "gusto";
			break;
		case 9:
			b.customer_name = "Acme Inc.";
			b.products = 0x1;
			break;
		case 10:
			b.recordkeeper = "vestwell";
			break;
		case 11:
			a.recordkeeper = b.recordkeeper = "vestwell";
			b.recordkeeping_plan_id = "plan-2";
			break;
		default:
			break;
		}
		got = reconcile_changed_fields(&a, &b);
		if (got != cases[i].want)
			fail_msg("%s: 0x%x, want 0x%x", cases[i].what, got, cases[i].want);
		assert_int_equal(reconcile_changed_fields(&b, &a), got);
	}
}

static void test_reconcile__fields_text_round_trips(void **state)
{
	char buf[256];
	unsigned m;
	(void)state;

	assert_string_equal(reconcile_fields_text(0, buf, sizeof(buf)), "");
	assert_string_equal(
	    reconcile_fields_text(RECONCILE_NAME | RECONCILE_PRODUCTS, buf, sizeof(buf)),
	    "customer_name,products");
	for (m = 0; m <= RECONCILE_FIELD_ALL; m++) {
		unsigned back = ~0u;

		reconcile_fields_text(m, buf, sizeof(buf));
		assert_int_equal(reconcile_fields_parse(buf, &back), 0);
		assert_int_equal(back, m);
	}
	assert_int_equal(reconcile_fields_parse("customer_name,colour", &m), -1);
	/* a short buffer is cut, never overrun */
	assert_string_equal(reconcile_fields_text(RECONCILE_FIELD_ALL, buf, 9), "");
	assert_string_equal(reconcile_fields_text(RECONCILE_NAME | RECONCILE_EMAIL, buf, 20),
			    "customer_name");
}

static void test_reconcile__line_verdicts(void **state)
{
	static const struct {
		enum reconcile_row row;
		unsigned changed;
		int resend;
		enum reconcile_verdict want;
	} cases[] = {
	    {RECONCILE_ROW_NONE, 0, 0, RECONCILE_INSERT},
	    {RECONCILE_ROW_NONE, 0, 1, RECONCILE_INSERT},
	    /* rows without a link take changes as before */
	    {RECONCILE_ROW_OPEN, 0, 0, RECONCILE_KEEP},
	    {RECONCILE_ROW_OPEN, RECONCILE_NAME, 0, RECONCILE_REQUEUE},
	    {RECONCILE_ROW_OPEN, RECONCILE_PRODUCTS, 1, RECONCILE_REQUEUE},
	    {RECONCILE_ROW_INVALID, 0, 0, RECONCILE_REQUEUE},
	    {RECONCILE_ROW_INVALID, RECONCILE_EMAIL, 0, RECONCILE_REQUEUE},
	    /* a link is kept unless asked */
	    {RECONCILE_ROW_LINKED, 0, 0, RECONCILE_KEEP},
	    {RECONCILE_ROW_LINKED, 0, 1, RECONCILE_KEEP},
	    {RECONCILE_ROW_LINKED, RECONCILE_NAME, 0, RECONCILE_MARK_CHANGED},
	    {RECONCILE_ROW_LINKED, RECONCILE_PRODUCTS, 0, RECONCILE_MARK_CHANGED},
	    {RECONCILE_ROW_LINKED, RECONCILE_FIELD_ALL, 0, RECONCILE_MARK_CHANGED},
	    {RECONCILE_ROW_LINKED, RECONCILE_NAME, 1, RECONCILE_REQUEUE},
	    {RECONCILE_ROW_BUSY, RECONCILE_NAME, 1, RECONCILE_KEEP},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum reconcile_verdict got =
		    reconcile_line(cases[i].row, cases[i].changed, cases[i].resend);

		if (got != cases[i].want)
			fail_msg("case %zu: %d, want %d", i, got, cases[i].want);
	}
	assert_int_equal(reconcile_marked_after(RECONCILE_NAME, RECONCILE_PRODUCTS),
			 RECONCILE_NAME | RECONCILE_PRODUCTS);
	assert_int_equal(reconcile_marked_after(RECONCILE_NAME, 0), RECONCILE_NAME);
}

/* The --max-withdraw limit arg gives (NULL: the default); withdraw_limit_parse()'s result. */
static int limit_from(const char *arg, struct withdraw_limit *l, char *why, size_t size)
{
	withdraw_limit_init(l);
	return arg ? withdraw_limit_parse(arg, l, why, size) : 0;
}

static void test_reconcile__withdraw_limit_parse(void **state)
{
	static const struct {
		const char *arg;
		int ret;
		int64_t count;
		double percent;
	} cases[] = {
	    {"0", 0, 0, 0},	  {"50", 0, 50, 0}, {"10%", 0, -1, 10},	  {"2.5%", 0, -1, 2.5},
	    {"100%", 0, -1, 100}, {"0%", 0, -1, 0}, {"101%", -1, 0, 0},	  {"-1", -1, 0, 0},
	    {"-5%", -1, 0, 0},	  {"%", -1, 0, 0},  {"ten", -1, 0, 0},	  {"10 %", -1, 0, 0},
	    {"", -1, 0, 0},	  {"5x", -1, 0, 0}, {"1e2%", 0, -1, 100},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct withdraw_limit l;
		char why[128] = "";
		int r;

		r = limit_from(cases[i].arg, &l, why, sizeof(why));
		if (r != cases[i].ret)
			fail_msg("'%s': %d (%s), want %d", cases[i].arg, r, why, cases[i].ret);
		if (r < 0) {
			assert_true(strstr(why, cases[i].arg) != NULL);
			continue;
		}
		assert_int_equal(l.count, cases[i].count);
		if (l.count < 0)
			assert_true(l.percent == cases[i].percent);
		assert_int_equal(l.given, 1);
	}
}

static void test_reconcile__withdraw_guard(void **state)
{
	static const struct {
		const char *limit; /* NULL: the default */
		int64_t active, missing, csv_rows;
		int ret;
	} cases[] =
	    {
		{NULL, 2998, 0, 2998, 0},
		{NULL, 2998, 299, 2699, 0}, /* 10% of 2,998 rounds down to 299 */
		{NULL, 2998, 300, 2698, -1},
		{NULL, 2998, 2997, 1, -1}, /* the truncated export */
		{NULL, 2998, 2998, 0, -1}, /* a header-only file */
		{NULL, 5, 1, 4, 0},	   /* a small database can lose one employer */
		{NULL, 5, 2, 3, -1},
		{NULL, 1, 1, 0, -1},	    /* never every row by default, even one */
		{"100%", 2998, 2998, 0, 0}, /* unless asked */
		{"100%", 1, 1, 0, 0},
		{"2998", 2998, 2998, 0, 0},
		{"2997", 2998, 2998, 0, -1},
		{"50%", 2998, 2998, 0, -1},
		{"0", 10, 1, 9, -1},
		{"0", 10, 0, 10, 0},
		{"0%", 10, 1, 9, -1},
		{"3", 10, 3, 7, 0},
		{"3", 10, 4, 6, -1},
	    };
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct withdraw_limit l;
		char why[512] = "";
		int r;

		assert_int_equal(limit_from(cases[i].limit, &l, NULL, 0), 0);
		r = reconcile_withdraw_check(cases[i].active, cases[i].missing, cases[i].csv_rows,
					     &l, why, sizeof(why));
		if (r != cases[i].ret)
			fail_msg("case %zu: %d (%s), want %d", i, r, why, cases[i].ret);
	}
}

static void test_reconcile__withdraw_message_names_the_counts(void **state)
{
	struct withdraw_limit l;
	char why[512];
	(void)state;

	withdraw_limit_init(&l);
	assert_int_equal(reconcile_withdraw_check(2998, 2997, 1, &l, why, sizeof(why)), -1);
	assert_contains(why, "the CSV has 1 row; the database has 2,998 active rows: "
			     "2,997 would be withdrawn");
	assert_contains(why, "--max-withdraw 10% (the default) allows (299)");
	assert_contains(why, "a truncated export?");
	assert_contains(why, "--keep-missing");
}

static void test_reconcile__count_text(void **state)
{
	static const struct {
		int64_t n;
		const char *want; /* a comma every three digits */
	} cases[] = {
	    {0, "0"},
	    {1, "1"},
	    {999, "999"},
	    {1000, "1,000"},
	    {2998, "2,998"},
	    {100000, "100,000"},
	    {1234567, "1,234,567"},
	    {-2998, "-2,998"},
	};
	char buf[32];
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(reconcile_count_text(cases[i].n, buf, sizeof(buf)),
				    cases[i].want);
}

static void test_reconcile__night_exit(void **state)
{
	static const struct {
		int run_exit;
		int64_t sent, successes, csv_valid, db_rows;
		int want;
	} cases[] = {
	    {EXIT_OK, 0, 0, -1, 10, EXIT_OK}, /* nothing to send */
	    {EXIT_OK, 5, 5, 5, 5, EXIT_OK},
	    {EXIT_ROWS, 600, 0, 200, 200, EXIT_NO_SUCCESS}, /* 503 to every request */
	    {EXIT_ROWS, 600, 1, 200, 200, EXIT_ROWS},	    /* one success is a night */
	    {EXIT_ROWS, 10, 0, -1, 10, EXIT_NO_SUCCESS},    /* `run` alone too */
	    {EXIT_OK, 0, 0, 0, 3000, EXIT_NO_SUCCESS},	    /* the whole CSV turned invalid */
	    {EXIT_ROWS, 0, 0, 0, 3000, EXIT_NO_SUCCESS},
	    {EXIT_ROWS, 0, 0, 0, 0, EXIT_ROWS}, /* a first import, all invalid */
	    {EXIT_AUTH, 3, 0, 5, 5, EXIT_AUTH}, /* codes of their own stand */
	    {EXIT_UNREACHABLE, 3, 0, 5, 5, EXIT_UNREACHABLE},
	    {EXIT_INTERRUPTED, 3, 0, 5, 5, EXIT_INTERRUPTED},
	    {EXIT_STOPPED, 3, 0, 5, 5, EXIT_STOPPED},
	    {EXIT_USAGE, 0, 0, 0, 5, EXIT_USAGE},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = reconcile_night_exit(cases[i].run_exit, cases[i].sent, cases[i].successes,
					       cases[i].csv_valid, cases[i].db_rows);

		if (got != cases[i].want)
			fail_msg("case %zu: %d, want %d", i, got, cases[i].want);
	}
}

UNIT_TEST_MAIN(cmocka_unit_test(test_reconcile__changed_fields),
	       cmocka_unit_test(test_reconcile__fields_text_round_trips),
	       cmocka_unit_test(test_reconcile__line_verdicts),
	       cmocka_unit_test(test_reconcile__withdraw_limit_parse),
	       cmocka_unit_test(test_reconcile__withdraw_guard),
	       cmocka_unit_test(test_reconcile__withdraw_message_names_the_counts),
	       cmocka_unit_test(test_reconcile__count_text),
	       cmocka_unit_test(test_reconcile__night_exit))
