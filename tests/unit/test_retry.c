/*
 * test_retry.c: backoff, server hints, HTTP dates and the retry decision,
 * with the random number and the clock injected.
 */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "finch/retry.h"
#include "base/util.h"

static void test_retry__backoff_table(void **state)
{
	static const struct {
		int64_t base, cap, attempt;
		double rnd;
		int64_t want;
	} cases[] = {
	    {500, 60000, 0, 0.5, 250},
	    {500, 60000, 1, 0.0, 0},
	    {500, 60000, 1, 0.5, 500},
	    {500, 60000, 1, 0.999999, 999},
	    {500, 60000, 2, 0.5, 1000},
	    {500, 60000, 3, 0.25, 1000},
	    {500, 60000, 6, 0.5, 16000}, /* 32000 */
	    {500, 60000, 7, 0.5, 30000}, /* 64000 capped at 60000 */
	    {500, 60000, 7, 0.999999, 59999},
	    {500, 60000, 62, 0.5, 30000},
	    {500, 60000, 63, 0.5, 30000},
	    {500, 60000, 64, 0.5, 30000},
	    {500, 60000, 1000, 0.5, 30000},
	    {500, 60000, INT64_MAX, 0.5, 30000},
	    {500, 60000, -3, 0.5, 250}, /* negative: as attempt 0 */
	    {500, 60000, 1, 1.0, 999},	/* rnd out of [0, 1): clamped */
	    {500, 60000, 1, -0.5, 0},
	    {500, 60000, 1, NAN, 0},
	    {1, INT64_MAX, 62, 0.5, INT64_C(1) << 61},
	    {1, INT64_MAX, 63, 0.0, 0},
	    {INT64_MAX / 2 + 1, INT64_MAX, 5, 0.0, 0},
	    {1000, 500, 0, 0.5, 250}, /* base above cap */
	    {0, 60000, 3, 0.5, 0},
	    {500, 0, 3, 0.5, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct retry_policy p = RETRY_POLICY_INIT;
		int64_t got;

		p.base_ms = cases[i].base;
		p.cap_ms = cases[i].cap;
		got = retry_backoff_ms(&p, cases[i].attempt, cases[i].rnd);
		if (got != cases[i].want)
			fail_msg("case %zu: %lld, want %lld", i, (long long)got,
				 (long long)cases[i].want);
	}
}

static void test_retry__backoff_stays_in_range(void **state)
{
	struct retry_policy p = RETRY_POLICY_INIT;

	(void)state;
	for (int64_t attempt = 0; attempt < 200; attempt++) {
		for (double rnd = 0; rnd < 1; rnd += 0.0625) {
			int64_t got = retry_backoff_ms(&p, attempt, rnd);
			int64_t ceiling = attempt >= 7 ? 60000 : 500 << attempt;

			assert_in_range(got, 0, ceiling - 1);
		}
	}
}

#define NOW	INT64_C(784111777000) /* Sun, 06 Nov 1994 08:49:37 GMT */
#define YEAR_MS RETRY_HINT_MAX_MS

static void test_retry__hint_table(void **state)
{
	static const struct {
		const char *ms;	   /* retry-after-ms (NULL: no such header) */
		const char *after; /* Retry-After */
		int64_t want;	   /* the delay in ms (-1: no hint) */
	} cases[] = {
	    {NULL, NULL, -1},
	    {"1500", NULL, 1500},
	    {"1500.5", NULL, 1501},
	    {"1500.0001", NULL, 1501},
	    {"0.2", NULL, 1},
	    {"0", NULL, 0},
	    {" 250 ", NULL, 250},
	    {"1500", "99", 1500}, /* retry-after-ms wins */
	    {"-5", "2", 2000},	  /* negative: no hint, so Retry-After */
	    {"abc", "2", 2000},
	    {"", "3", 3000},
	    {"12ms", NULL, -1},
	    {"1e3", NULL, -1},
	    {".", NULL, -1},
	    {"99999999999999999999999", NULL, YEAR_MS},
	    {NULL, "0", 0},
	    {NULL, "120", 120000},
	    {NULL, " 7\r\n", 7000},
	    {NULL, "1.5", 1500},
	    {NULL, "-1", -1},
	    {NULL, "", -1},
	    {NULL, "soon", -1},
	    {NULL, "5 s", -1},
	    {NULL, "31622400", YEAR_MS},
	    {NULL, "31622401", YEAR_MS},
	    {NULL, "99999999999999999999999999", YEAR_MS},
	    {NULL, "Sun, 06 Nov 1994 08:49:47 GMT", 10000},
	    {NULL, "Sun, 06 Nov 1994 08:49:37 GMT", 0},
	    {NULL, "Sun, 06 Nov 1994 08:49:36 GMT", 0}, /* the past */
	    {NULL, "Thu, 01 Jan 1970 00:00:00 GMT", 0},
	    {NULL, "Sunday, 06-Nov-94 08:50:37 GMT", 60000},
	    {NULL, "Sun Nov  6 09:49:37 1994", 3600000},
	    {NULL, "Fri, 31 Dec 9999 23:59:59 GMT", YEAR_MS},
	    {NULL, "Sun, 06 Nov 1994 08:49:47 UTC", -1},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t got = retry_hint_ms(cases[i].ms, cases[i].after, NOW);

		if (got != cases[i].want)
			fail_msg("case %zu ('%s', '%s'): %lld, want %lld", i,
				 cases[i].ms ? cases[i].ms : "(null)",
				 cases[i].after ? cases[i].after : "(null)", (long long)got,
				 (long long)cases[i].want);
	}
}

static void test_retry__http_date_table(void **state)
{
	static const struct {
		const char *s;
		int ok;		/* 0, or -1: not an HTTP date */
		int64_t unix_s; /* the time it names, in seconds since 1970 */
	} cases[] = {
	    {"Sun, 06 Nov 1994 08:49:37 GMT", 0, 784111777},
	    {"Sunday, 06-Nov-94 08:49:37 GMT", 0, 784111777},
	    {"Sun Nov  6 08:49:37 1994", 0, 784111777},
	    {"Wed Nov 16 08:49:37 1994", 0, 784975777},
	    {"sun, 06 nov 1994 08:49:37 GMT", 0, 784111777},
	    {"Thu, 01 Jan 1970 00:00:00 GMT", 0, 0},
	    {"Wed, 31 Dec 1969 23:59:59 GMT", 0, -1},
	    {"Thu, 29 Feb 2024 12:00:00 GMT", 0, 1709208000},
	    {"Tue, 29 Feb 2000 00:00:00 GMT", 0, 951782400},
	    {"Sat, 28 Nov 2026 17:00:00 GMT", 0, 1795885200},
	    {"Tue, 19 Jan 2038 03:14:08 GMT", 0, 2147483648},
	    {"Tuesday, 19-Jan-38 03:14:08 GMT", 0, 2147483648},
	    {"Thursday, 01-Jan-70 00:00:00 GMT", 0, 0},
	    {"Wednesday, 31-Dec-69 00:00:00 GMT", 0, 3155673600}, /* 2069 */
	    {"Sat, 30 Jun 2012 23:59:60 GMT", 0, 1341100800},	  /* leap second */
	    {"Mon, 06 Nov 1994 08:49:37 GMT", 0, 784111777},	  /* day name not checked */
	    {"Wed, 29 Feb 2023 00:00:00 GMT", -1, 0},
	    {"Wed, 29 Feb 1900 00:00:00 GMT", -1, 0},
	    {"Sun, 31 Nov 1994 08:49:37 GMT", -1, 0},
	    {"Sun, 00 Nov 1994 08:49:37 GMT", -1, 0},
	    {"Sun, 6 Nov 1994 08:49:37 GMT", -1, 0},
	    {"Sun, 06 Nov 94 08:49:37 GMT", -1, 0},
	    {"Sun, 06 Nov 1994 24:00:00 GMT", -1, 0},
	    {"Sun, 06 Nov 1994 08:60:00 GMT", -1, 0},
	    {"Sun, 06 Nov 1994 08:49:61 GMT", -1, 0},
	    {"Sun, 06 Nov 1994 8:49:37 GMT", -1, 0},
	    {"Sun, 06 Nov 1994 08:49:37", -1, 0},
	    {"Sun, 06 Nov 1994 08:49:37 GMT+1", -1, 0},
	    {"Sun, 06 Nov 1994 08:49:37 gmt", -1, 0},
	    {"Sun, 06 Foo 1994 08:49:37 GMT", -1, 0},
	    {"Xyz, 06 Nov 1994 08:49:37 GMT", -1, 0},
	    {"Sun,06 Nov 1994 08:49:37 GMT", -1, 0},
	    {"Sun, 06-Nov-94 08:49:37 GMT", -1, 0},
	    {"Sunday, 06 Nov 1994 08:49:37 GMT", -1, 0},
	    {"Sun Nov 6 08:49:37 1994", -1, 0},
	    {"Sun Nov  6 08:49:37 94", -1, 0},
	    {"1994-11-06T08:49:37Z", -1, 0},
	    {"", -1, 0},
	    {NULL, -1, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t ms = 42;
		int got = retry_parse_http_date(cases[i].s, &ms);

		if (got != cases[i].ok)
			fail_msg("'%s': got %d, want %d", cases[i].s ? cases[i].s : "(null)", got,
				 cases[i].ok);
		if (!got && ms != cases[i].unix_s * 1000)
			fail_msg("'%s': %lld, want %lld", cases[i].s, (long long)ms,
				 (long long)cases[i].unix_s * 1000);
		if (got)
			assert_int_equal(ms, 42);
	}
}

/* Every 37 hours for ~100 years: our calendar agrees with gmtime_r(). */
static void test_retry__http_date_matches_gmtime(void **state)
{
	(void)state;
	for (int64_t t = -86400 * 365; t < INT64_C(86400) * 365 * 100; t += 37 * 3600 + 1) {
		time_t tt = (time_t)t;
		struct tm tm;
		char buf[2][64];
		int64_t ms;

		gmtime_r(&tt, &tm);
		strftime(buf[0], sizeof(buf[0]), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		strftime(buf[1], sizeof(buf[1]), "%a %b %e %H:%M:%S %Y", &tm);
		for (size_t f = 0; f < ARRAY_SIZE(buf); f++) {
			if (retry_parse_http_date(buf[f], &ms) || ms != t * 1000)
				fail_msg("'%s': %lld, want %lld", buf[f], (long long)ms,
					 (long long)t * 1000);
		}
	}
}

static void test_retry__decide_table(void **state)
{
	static const struct {
		int64_t attempts_made, hint_ms;
		double rnd;
		enum retry_action action;
		int64_t delay_ms;
		int hinted;
	} cases[] = {
	    {1, -1, 0.5, RETRY_WAIT, 500, 0},
	    {2, -1, 0.5, RETRY_WAIT, 1000, 0},
	    {4, -1, 0.5, RETRY_WAIT, 4000, 0},
	    {4, -1, 0.0, RETRY_WAIT, 0, 0},
	    {5, -1, 0.5, RETRY_GIVE_UP, 0, 0},
	    {6, -1, 0.5, RETRY_GIVE_UP, 0, 0},
	    {5, 100, 0.5, RETRY_GIVE_UP, 0, 0}, /* a hint does not add attempts */
	    {1, 0, 0.5, RETRY_WAIT, 0, 1},
	    {1, 2000, 0.5, RETRY_WAIT, 2000, 1},
	    {4, 90000, 0.5, RETRY_WAIT, 90000, 1}, /* above the backoff cap: still honoured */
	    {1, 600000, 0.5, RETRY_WAIT, 600000, 1},
	    {1, 600001, 0.5, RETRY_DEFER, 600001, 1},
	    {1, 3600000, 0.5, RETRY_DEFER, 3600000, 1},
	    {4, RETRY_HINT_MAX_MS, 0.5, RETRY_DEFER, RETRY_HINT_MAX_MS, 1},
	    {1000, -1, 0.5, RETRY_GIVE_UP, 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct retry_policy p = RETRY_POLICY_INIT;
		struct retry_decision d =
		    retry_decide(&p, cases[i].attempts_made, cases[i].hint_ms, cases[i].rnd);

		if (d.action != cases[i].action || d.delay_ms != cases[i].delay_ms ||
		    d.hinted != cases[i].hinted)
			fail_msg("case %zu: {%d, %lld, %d}, want {%d, %lld, %d}", i, d.action,
				 (long long)d.delay_ms, d.hinted, cases[i].action,
				 (long long)cases[i].delay_ms, cases[i].hinted);
	}
}

static void test_retry__decide_with_large_budget_never_overflows(void **state)
{
	struct retry_policy p = {INT64_MAX, 500, 60000, 600000};

	(void)state;
	for (int64_t a = 1; a < 2000; a += 7) {
		struct retry_decision d = retry_decide(&p, a, -1, 0.999);

		assert_int_equal(d.action, RETRY_WAIT);
		assert_in_range(d.delay_ms, 0, 59999);
	}
}

static void test_retry__carry_over_table(void **state)
{
	static const int64_t day = 86400000, week = 7 * 86400000LL;
	static const struct {
		int64_t first, now, give_up_after;
		int want, want_first;
		int64_t want_until;
	} cases[] = {
	    {0, 1000, week, 1, 1000, 1000 + week},		 /* the first transient failure */
	    {1000, 1000 + day, week, 1, 1000, 1000 + week},	 /* the next night: same streak */
	    {1000, 1000 + week - 1, week, 1, 1000, 1000 + week}, /* the last moment */
	    {1000, 1000 + week, week, 0, 1000, 1000 + week},	 /* over: not re-queued */
	    {1000, 1000 + 30 * day, week, 0, 1000, 1000 + week},
	    {0, 1000, 0, 0, 1000, 0},		      /* --give-up-after 0: never */
	    {5000, 1000, week, 1, 1000, 1000 + week}, /* a clock that went back */
	    {-5, 1000, week, 1, 1000, 1000 + week},
	    {1000, 2000, INT64_MAX, 1, 1000, INT64_MAX}, /* no overflow */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t first = -1, until = -1;
		int got = retry_carry_over(cases[i].first, cases[i].now, cases[i].give_up_after,
					   &first, &until);

		if (got != cases[i].want || first != cases[i].want_first ||
		    until != cases[i].want_until)
			fail_msg("case %zu: %d, first %lld, until %lld; want %d, %d, %lld", i, got,
				 (long long)first, (long long)until, cases[i].want,
				 cases[i].want_first, (long long)cases[i].want_until);
	}
}

/* The cross-run schedule: a hint never parks a row past --give-up-after, nor past 7 days. */
static void test_retry__due_is_capped(void **state)
{
	static const int64_t day = 86400000, now = 1000 * day;
	static const struct {
		int64_t delay, until, want;
	} cases[] = {
	    {1000, 0, now + 1000},			 /* a short wait: as asked */
	    {366 * day, 0, now + 7 * day},		 /* Retry-After: 31536000, no limit */
	    {7 * day, 0, now + 7 * day},		 /* exactly the cap */
	    {366 * day, now + 2 * day, now + 2 * day},	 /* --give-up-after 2d wins */
	    {3600000, now + 2 * day, now + 3600000},	 /* within it: as asked */
	    {366 * day, now + 30 * day, now + 30 * day}, /* a longer --give-up-after */
	    {5000, now - 1, now + 5000},		 /* the window is over: as asked */
	    {366 * day, now - 1, now + 7 * day},	 /* ... but never past 7 days */
	    {-1, 0, now},				 /* no delay */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t got = retry_due_ms(now, cases[i].delay, cases[i].until);

		if (got != cases[i].want)
			fail_msg("case %zu: got %lld, want %lld", i, (long long)got,
				 (long long)cases[i].want);
	}
}

UNIT_TEST_MAIN(cmocka_unit_test(test_retry__carry_over_table),
	       cmocka_unit_test(test_retry__due_is_capped),
	       cmocka_unit_test(test_retry__backoff_table),
	       cmocka_unit_test(test_retry__backoff_stays_in_range),
	       cmocka_unit_test(test_retry__hint_table),
	       cmocka_unit_test(test_retry__http_date_table),
	       cmocka_unit_test(test_retry__http_date_matches_gmtime),
	       cmocka_unit_test(test_retry__decide_table),
	       cmocka_unit_test(test_retry__decide_with_large_budget_never_overflows))
