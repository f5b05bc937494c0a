/*
 * test_ratelimit.c: rate parsing, token accounting over simulated time,
 * pauses and the AIMD adaptation. The clock is a parameter: nothing sleeps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ratelimit.h"
#include "util.h"

static void test_ratelimit__parse_table(void **state)
{
	static const struct {
		const char *in;
		int ok;
		double per_s;
		const char *why;
	} cases[] = {
	    {"3/s", 0, 3, NULL},
	    {"3/sec", 0, 3, NULL},
	    {"3/second", 0, 3, NULL},
	    {"3/S", 0, 3, NULL},
	    {"150/min", 0, 2.5, NULL},
	    {"150/m", 0, 2.5, NULL},
	    {"150/minute", 0, 2.5, NULL},
	    {"1000/5m", 0, 1000.0 / 300, NULL},
	    {"1000/5min", 0, 1000.0 / 300, NULL},
	    {"1000/300s", 0, 1000.0 / 300, NULL},
	    {"900/5m", 0, 3, NULL},
	    {"7200/h", 0, 2, NULL},
	    {"2/hour", 0, 2.0 / 3600, NULL},
	    {"2/hr", 0, 2.0 / 3600, NULL},
	    {"1/500ms", 0, 2, NULL},
	    {"0.5/s", 0, 0.5, NULL},
	    {"3/0.5s", 0, 6, NULL},
	    {"5", 0, 5, NULL},
	    {"2.5", 0, 2.5, NULL},
	    {"0", 0, 0, NULL},
	    {"0/min", 0, 0, NULL},
	    {"", -1, 0, "rate is empty (use e.g. 3/s, 150/min or 0 for unlimited)"},
	    {"-1", -1, 0, "rate '-1' is negative"},
	    {"-3/s", -1, 0, "rate '-3/s' is negative"},
	    {"abc", -1, 0, "rate 'abc' does not start with a number"},
	    {"/s", -1, 0, "rate '/s' does not start with a number"},
	    {"inf", -1, 0, "rate 'inf' does not start with a number"},
	    {"nan", -1, 0, "rate 'nan' does not start with a number"},
	    {" 3/s", -1, 0, "rate ' 3/s' does not start with a number"},
	    {"3s", -1, 0, "rate '3s' has 's' where '/' and a time unit belong"},
	    {"3/s ", -1, 0, "rate '3/s ' has an unknown time unit 's ' (use s, min or h)"},
	    {"0x10", -1, 0, "rate '0x10' has 'x10' where '/' and a time unit belong"},
	    {"3/", -1, 0, "rate '3/' lacks a time unit (s, min or h)"},
	    {"1000/5", -1, 0, "rate '1000/5' lacks a time unit (s, min or h)"},
	    {"3/0s", -1, 0, "rate '3/0s' has a zero time window"},
	    {"3/0m", -1, 0, "rate '3/0m' has a zero time window"},
	    {"3/-5m", -1, 0, "rate '3/-5m' has a negative time window"},
	    {"3/day", -1, 0, "rate '3/day' has an unknown time unit 'day' (use s, min or h)"},
	    {"3/5x", -1, 0, "rate '3/5x' has an unknown time unit 'x' (use s, min or h)"},
	    {"3//s", -1, 0, "rate '3//s' has an unknown time unit '/s' (use s, min or h)"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char why[160] = "";
		double v = -1;
		int got = ratelimit_parse(cases[i].in, &v, why, sizeof(why));

		if (got != cases[i].ok)
			fail_msg("'%s': got %d (%s)", cases[i].in, got, why);
		if (!got && fabs(v - cases[i].per_s) > 1e-12)
			fail_msg("'%s': %.15g/s, want %.15g/s", cases[i].in, v, cases[i].per_s);
		if (got && strcmp(why, cases[i].why))
			fail_msg("'%s': why '%s', want '%s'", cases[i].in, why, cases[i].why);
	}
}

/* Takes as fast as the bucket allows, waking `late` ms after each wait. */
static int64_t time_of_nth_take(struct ratelimit *rl, int64_t start, int n, int jitter)
{
	int64_t now = start;
	unsigned seed = 12345;

	for (int i = 0; i < n; i++) {
		int64_t w = ratelimit_wait_ms(rl, now);

		now += w;
		if (jitter && w) {
			seed = seed * 1103515245u + 12345u;
			now += (seed >> 16) % (unsigned)jitter; /* a late wake-up */
		}
		if (!ratelimit_take(rl, now))
			fail_msg("take %d at %lld refused after waiting %lld ms", i, (long long)now,
				 (long long)w);
	}
	return now - start;
}

static void test_ratelimit__long_run_rate_is_exact(void **state)
{
	static const struct {
		double per_s;
		int n;
		int jitter_ms; /* how late the caller wakes, at most */
	} cases[] = {
	    {3, 1000, 0}, {3, 1000, 20},  {3, 1000, 45},  {1000.0 / 300, 1000, 0},
	    {7, 1000, 3}, {0.5, 200, 10}, {250, 5000, 0}, {999, 5000, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ratelimit rl;
		/* The first token is there at once; n - 1 intervals follow. */
		double ideal_ms = (cases[i].n - 1) * 1000.0 / cases[i].per_s;
		int64_t took;

		ratelimit_init(&rl, cases[i].per_s, 1, 1000000);
		took = time_of_nth_take(&rl, 1000000, cases[i].n, cases[i].jitter_ms);
		/* Within one interval plus the last wake-up's lateness: no drift. */
		if (fabs((double)took - ideal_ms) > 1000.0 / cases[i].per_s + cases[i].jitter_ms)
			fail_msg("%g/s: %d takes took %lld ms, ideal %.0f ms", cases[i].per_s,
				 cases[i].n, (long long)took, ideal_ms);
	}
}

static void test_ratelimit__polling_every_ms_counts_right(void **state)
{
	struct ratelimit rl;
	int count = 0;

	(void)state;
	/* 333,000 ms at 3/s: the first token plus 999 refills. */
	ratelimit_init(&rl, 3, 1, 0);
	for (int64_t now = 0; now < 333000; now++)
		count += ratelimit_take(&rl, now);
	assert_in_range(count, 999, 1001);

	/* Polling every 7 ms gives the same count: no token is lost to rounding. */
	ratelimit_init(&rl, 3, 1, 0);
	count = 0;
	for (int64_t now = 0; now < 333000; now += 7)
		count += ratelimit_take(&rl, now);
	assert_in_range(count, 999, 1001);
}

static void test_ratelimit__wait_agrees_with_take(void **state)
{
	static const double rates[] = {3, 7, 0.3, 1000.0 / 300, 1000, 2.0 / 3600, 1e6};

	(void)state;
	for (size_t r = 0; r < ARRAY_SIZE(rates); r++) {
		struct ratelimit rl;
		int64_t now = 5000;
		unsigned seed = 7;

		ratelimit_init(&rl, rates[r], 1, now);
		for (int i = 0; i < 300; i++) {
			int64_t w = ratelimit_wait_ms(&rl, now);

			assert_true(w >= 0);
			if (w > 0 && ratelimit_take(&rl, now + w - 1))
				fail_msg("%g/s: a token at %lld, before the %lld ms wait ended",
					 rates[r], (long long)(now + w - 1), (long long)w);
			if (!ratelimit_take(&rl, now + w))
				fail_msg("%g/s: no token after waiting %lld ms", rates[r],
					 (long long)w);
			/* Burst 1, just taken: below 1000/s the next token is >= 1 ms away. */
			if (rates[r] < 1000)
				assert_true(ratelimit_wait_ms(&rl, now + w) > 0);
			seed = seed * 1103515245u + 12345u;
			now += w + (seed >> 16) % 50;
		}
	}
}

static void test_ratelimit__burst(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 1, 3, 0);
	assert_int_equal(ratelimit_take(&rl, 0), 1);
	assert_int_equal(ratelimit_take(&rl, 0), 1);
	assert_int_equal(ratelimit_take(&rl, 0), 1);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	assert_int_equal(ratelimit_wait_ms(&rl, 0), 1000);
	/* A long idle spell refills to the burst, not beyond (give or take the slack). */
	assert_int_equal(ratelimit_take(&rl, 100000), 1);
	assert_int_equal(ratelimit_take(&rl, 100000), 1);
	assert_int_equal(ratelimit_take(&rl, 100000), 1);
	assert_int_equal(ratelimit_take(&rl, 100000), 0);

	/* A burst below 1 is taken as 1. */
	ratelimit_init(&rl, 1, 0, 0);
	assert_true(rl.burst == 1);
	assert_int_equal(ratelimit_take(&rl, 0), 1);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
}

static void test_ratelimit__unlimited(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 0, 1, 0);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(ratelimit_take(&rl, 0), 1);
	assert_int_equal(ratelimit_wait_ms(&rl, 0), 0);
	assert_int_equal(ratelimit_paused(&rl, 0), 0);
}

static void test_ratelimit__throttle_pauses_then_halves(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 3, 1, 0);
	assert_int_equal(ratelimit_take(&rl, 0), 1);
	ratelimit_throttled(&rl, 1000, 5000);
	assert_true(rl.rate_per_s == 1.5);
	assert_int_equal(ratelimit_paused(&rl, 1000), 1);
	assert_int_equal(ratelimit_paused(&rl, 5999), 1);
	assert_int_equal(ratelimit_paused(&rl, 6000), 0);
	assert_int_equal(ratelimit_wait_ms(&rl, 1000), 5000);
	assert_int_equal(ratelimit_wait_ms(&rl, 5990), 10);
	assert_int_equal(ratelimit_take(&rl, 5999), 0);
	/* One request when the pause ends, then the halved rate. */
	assert_int_equal(ratelimit_take(&rl, 6000), 1);
	assert_int_equal(ratelimit_take(&rl, 6000), 0);
	assert_int_equal(ratelimit_wait_ms(&rl, 6000), 667);
	assert_int_equal(ratelimit_take(&rl, 6666), 0);
	assert_int_equal(ratelimit_take(&rl, 6667), 1);
}

static void test_ratelimit__throttles_within_a_pause_count_once(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 4, 1, 0);
	ratelimit_throttled(&rl, 0, 10000);
	ratelimit_throttled(&rl, 10, 10000); /* the other answers of the same storm */
	ratelimit_throttled(&rl, 20, 2000);  /* a shorter hint never shortens the pause */
	assert_true(rl.rate_per_s == 2);
	assert_int_equal(rl.paused_until_ms, 10010);
	assert_int_equal(ratelimit_wait_ms(&rl, 20), 9990);
	/* A 429 after the pause is a new signal. */
	ratelimit_throttled(&rl, 10010, 0);
	assert_true(rl.rate_per_s == 1);
	assert_int_equal(ratelimit_paused(&rl, 10010), 0);
	/* A zero or negative pause does not pause. */
	ratelimit_throttled(&rl, 20000, -5);
	assert_int_equal(ratelimit_paused(&rl, 20000), 0);
	assert_true(rl.rate_per_s == 0.5);
}

static void test_ratelimit__aimd_table(void **state)
{
	/* Events: 'T' a 429 (after any pause), 'S' a success. */
	static const struct {
		double limit;
		const char *events;
		int successes;	  /* more successes after the events */
		double want_rate; /* 0: unlimited */
	} cases[] = {
	    {3, "", 0, 3},
	    {3, "S", 0, 3}, /* never above the limit */
	    {3, "T", 0, 1.5},
	    {3, "TT", 0, 0.75},
	    {3, "TS", 0, 1.65},
	    {3, "T", 9, 2.85},
	    {3, "T", 10, 3}, /* 10 × limit/20 gives back the half */
	    {3, "T", 15, 3},
	    {3, "TTTTTTTTTT", 0, 0.1}, /* the floor */
	    {3, "TTTTTTTTTTS", 0, 0.25},
	    {0.05, "TT", 0, 0.05}, /* a limit under the floor is the floor */
	    {2.0 / 3600, "T", 0, 2.0 / 3600},
	    {0, "", 0, 0},
	    {0, "S", 0, 0},
	    {0, "T", 0, 10}, /* unlimited drops to a finite rate */
	    {0, "TT", 0, 5},
	    {0, "TS", 0, 10.5},
	    {0, "TTTTTTTTTTTTTT", 0, 0.1},
	    {0, "T", 79, 49.5},
	    {0, "T", 80, 0}, /* unlimited again */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ratelimit rl;
		int64_t now = 0;

		ratelimit_init(&rl, cases[i].limit, 1, now);
		for (const char *e = cases[i].events; *e; e++) {
			if (*e == 'T') {
				ratelimit_throttled(&rl, now, 1000);
				now += 1000;
			} else {
				ratelimit_succeeded(&rl);
			}
		}
		for (int k = 0; k < cases[i].successes; k++)
			ratelimit_succeeded(&rl);
		if (fabs(rl.rate_per_s - cases[i].want_rate) > 1e-9)
			fail_msg("case %zu (%g, %s): rate %g, want %g", i, cases[i].limit,
				 cases[i].events, rl.rate_per_s, cases[i].want_rate);
		assert_true(rl.limit_per_s == cases[i].limit);
	}
}

static void test_ratelimit__unlimited_after_429_is_finite_then_recovers(void **state)
{
	struct ratelimit rl;
	int taken = 0;

	(void)state;
	ratelimit_init(&rl, 0, 1, 0);
	ratelimit_throttled(&rl, 0, 3000);
	assert_int_equal(ratelimit_take(&rl, 2999), 0);
	assert_int_equal(ratelimit_wait_ms(&rl, 0), 3000);
	/* At 10/s for one second after the pause: the first token plus 10. */
	for (int64_t now = 3000; now <= 4000; now++)
		taken += ratelimit_take(&rl, now);
	assert_in_range(taken, 10, 11);
	for (int i = 0; i < 80; i++)
		ratelimit_succeeded(&rl);
	assert_true(rl.rate_per_s == 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(ratelimit_take(&rl, 4000), 1);
}

static void test_ratelimit__extend_pause_keeps_the_rate(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 10, 1, 0);
	ratelimit_throttled(&rl, 0, 1000);
	assert_true(rl.rate_per_s == 5.0);
	ratelimit_extend_pause(&rl, 100, 500); /* ends earlier: no change */
	assert_int_equal(rl.paused_until_ms, 1000);
	ratelimit_extend_pause(&rl, 100, 2000);
	assert_int_equal(rl.paused_until_ms, 2100);
	assert_true(rl.rate_per_s == 5.0);
	assert_int_equal(ratelimit_take(&rl, 2099), 0);
	assert_int_equal(ratelimit_take(&rl, 2100), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ratelimit__extend_pause_keeps_the_rate),
	    cmocka_unit_test(test_ratelimit__parse_table),
	    cmocka_unit_test(test_ratelimit__long_run_rate_is_exact),
	    cmocka_unit_test(test_ratelimit__polling_every_ms_counts_right),
	    cmocka_unit_test(test_ratelimit__wait_agrees_with_take),
	    cmocka_unit_test(test_ratelimit__burst),
	    cmocka_unit_test(test_ratelimit__unlimited),
	    cmocka_unit_test(test_ratelimit__throttle_pauses_then_halves),
	    cmocka_unit_test(test_ratelimit__throttles_within_a_pause_count_once),
	    cmocka_unit_test(test_ratelimit__aimd_table),
	    cmocka_unit_test(test_ratelimit__unlimited_after_429_is_finite_then_recovers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
