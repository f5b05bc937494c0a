/*
 * test_mock_faults.c: finch-mock's fault decisions. They are pure functions
 * of (seed, customer_id, attempt, request number, window state), so every
 * case here is exact or a frequency over many deterministic draws.
 */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock/mock_faults.h"
#include "base/util.h"

/* Customer ids of the shape a real batch has: "cust-00042". */
static const char *cust(int i, char buf[32])
{
	snprintf(buf, 32, "cust-%05d", i);
	return buf;
}

static void test_mock_faults__init_defaults(void **state)
{
	struct mock_faults f;

	(void)state;
	memset(&f, 0xff, sizeof(f));
	mock_faults_init(&f);
	assert_int_equal(f.seed, 0);
	assert_true(f.p_reset == 0 && f.p_hang == 0 && f.p_429 == 0 && f.p_error == 0 &&
		    f.p_malformed == 0);
	assert_int_equal(f.ra_mode, RA_SECONDS);
	assert_int_equal(f.retry_after_ms, 1000);
	assert_int_equal(f.hang_ms, 120000);
	assert_int_equal(f.revoke_after, 0);
	assert_int_equal(f.fail_first, 0);
	assert_int_equal(f.rl_limit, 0);
	assert_int_equal(f.latency_ms, 0);
	assert_int_equal(f.jitter_ms, 0);
}

static void test_mock_faults__fault_names(void **state)
{
	static const struct {
		enum fault f;
		const char *name;
	} cases[] = {
	    {FAULT_NONE, "none"},
	    {FAULT_REVOKED, "revoked"},
	    {FAULT_RATE_LIMIT, "rate_limit"},
	    {FAULT_FAIL_FIRST, "fail_first"},
	    {FAULT_RESET, "reset"},
	    {FAULT_HANG, "hang"},
	    {FAULT_429, "429"},
	    {FAULT_ERROR, "error"},
	    {FAULT_MALFORMED, "malformed"},
	    {FAULT_SHORT_BODY, "short_body"},
	    {FAULT_CUT_BODY, "cut_body"},
	    {FAULT_COUNT, "unknown"},
	    {(enum fault)99, "unknown"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_string_equal(mock_fault_name(cases[i].f), cases[i].name);
}

static void test_mock_faults__draw_is_deterministic(void **state)
{
	char buf[32];

	(void)state;
	for (int i = 0; i < 1000; i++) {
		double a = mock_faults_draw(42, cust(i, buf), i % 7 + 1, 1);
		double b = mock_faults_draw(42, cust(i, buf), i % 7 + 1, 1);

		if (a != b)
			fail_msg("draw %d: %.17g then %.17g", i, a, b);
		if (!(a >= 0 && a < 1))
			fail_msg("draw %d: %.17g is outside [0, 1)", i, a);
	}
	/* a NULL customer_id (reauthenticate without one) is a valid, fixed input */
	assert_true(mock_faults_draw(1, NULL, 1, 1) == mock_faults_draw(1, NULL, 1, 1));
	assert_true(mock_faults_draw(1, NULL, 1, 1) == mock_faults_draw(1, "", 1, 1));
}

/* Each input of the draw changes its value (with overwhelming probability). */
static void test_mock_faults__draw_inputs_matter(void **state)
{
	static const struct {
		uint64_t seed;
		const char *id;
		int64_t attempt;
		uint64_t salt;
	} base = {7, "cust-00001", 1, 1}, cases[] = {
					      {8, "cust-00001", 1, 1}, /* seed */
					      {7, "cust-00002", 1, 1}, /* customer */
					      {7, "cust-00001", 2, 1}, /* attempt */
					      {7, "cust-00001", 1, 2}, /* salt */
					      {7, "cust-00001", 1, 3}, {7, "cust-00001", 1, 4},
					      {0, "cust-00001", 1, 1}, {7, "cust-000010", 1, 1},
					  };
	double b = mock_faults_draw(base.seed, base.id, base.attempt, base.salt);

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		double v =
		    mock_faults_draw(cases[i].seed, cases[i].id, cases[i].attempt, cases[i].salt);

		if (v == b)
			fail_msg("case %zu: same draw %.17g as the base", i, v);
	}
}

/* Different salts are independent streams: they agree about half the time on "< 0.5". */
static void test_mock_faults__draw_salts_differ(void **state)
{
	char buf[32];
	int same = 0, equal = 0, n = 20000;

	(void)state;
	for (int i = 0; i < n; i++) {
		double a = mock_faults_draw(3, cust(i, buf), 1, 1);
		double b = mock_faults_draw(3, cust(i, buf), 1, 2);

		same += (a < 0.5) == (b < 0.5);
		equal += a == b;
	}
	assert_int_equal(equal, 0);
	if (abs(same - n / 2) > n / 50)
		fail_msg("salts 1 and 2 agree %d times out of %d", same, n);
}

/* Ten buckets of 100,000 draws over customers and attempts: each within 3%. */
static void test_mock_faults__draw_is_uniform(void **state)
{
	int buckets[10] = {0}, n = 100000;
	double sum = 0;
	char buf[32];

	(void)state;
	for (int i = 0; i < n; i++) {
		double u = mock_faults_draw(11, cust(i / 4, buf), i % 4 + 1, 1);

		buckets[(int)(u * 10)]++;
		sum += u;
	}
	for (int b = 0; b < 10; b++)
		if (abs(buckets[b] - n / 10) > n / 10 * 3 / 100)
			fail_msg("bucket %d has %d of %d draws", b, buckets[b], n);
	if (fabs(sum / n - 0.5) > 0.01)
		fail_msg("mean draw %.4f", sum / n);
}

static void test_mock_faults__probability_zero_is_none(void **state)
{
	struct mock_faults f;
	char buf[32];

	(void)state;
	mock_faults_init(&f);
	f.seed = 5;
	for (int i = 0; i < 5000; i++) {
		struct fault_decision d = mock_faults_decide(&f, i + 1, cust(i, buf), i % 3 + 1, 0);

		if (d.fault != FAULT_NONE || d.status != 201 || d.delay_ms != 0)
			fail_msg("request %d: fault %s, status %d, delay %lld", i,
				 mock_fault_name(d.fault), d.status, (long long)d.delay_ms);
	}
}

/* Each fault alone at probability 1: every request gets it, with its status. */
static void test_mock_faults__probability_one_table(void **state)
{
	static const struct {
		const char *what;
		double reset, hang, p429, error, malformed;
		int error_status;
		enum fault want;
		int status;
		int64_t delay_ms;
	} cases[] = {
	    {"reset", 1, 0, 0, 0, 0, 0, FAULT_RESET, 0, 0},
	    {"hang", 0, 1, 0, 0, 0, 0, FAULT_HANG, 201, 3000},
	    {"429", 0, 0, 1, 0, 0, 0, FAULT_429, 429, 0},
	    {"500", 0, 0, 0, 1, 0, 500, FAULT_ERROR, 500, 0},
	    {"502", 0, 0, 0, 1, 0, 502, FAULT_ERROR, 502, 0},
	    {"503", 0, 0, 0, 1, 0, 503, FAULT_ERROR, 503, 0},
	    {"malformed", 0, 0, 0, 0, 1, 0, FAULT_MALFORMED, 201, 0},
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mock_faults f;

		mock_faults_init(&f);
		f.seed = 99;
		f.hang_ms = 3000;
		f.p_reset = cases[i].reset;
		f.p_hang = cases[i].hang;
		f.p_429 = cases[i].p429;
		f.p_error = cases[i].error;
		f.p_malformed = cases[i].malformed;
		f.error_status = cases[i].error_status;
		for (int r = 0; r < 2000; r++) {
			struct fault_decision d =
			    mock_faults_decide(&f, r + 1, cust(r, buf), r % 5 + 1, 0);

			if (d.fault != cases[i].want || d.status != cases[i].status ||
			    d.delay_ms != cases[i].delay_ms)
				fail_msg("%s, request %d: fault %s, status %d, delay %lld",
					 cases[i].what, r, mock_fault_name(d.fault), d.status,
					 (long long)d.delay_ms);
		}
	}
}

/* The fixed Retry-After modes pass through; the mix picks all four about equally. */
static void test_mock_faults__retry_after_modes(void **state)
{
	static const enum retry_after_mode fixed[] = {RA_SECONDS, RA_DATE, RA_MS, RA_NONE};
	struct mock_faults f;
	int seen[RA_MIX + 1] = {0}, n = 8000;
	char buf[32];

	(void)state;
	mock_faults_init(&f);
	f.p_429 = 1;
	for (size_t m = 0; m < ARRAY_SIZE(fixed); m++) {
		f.ra_mode = fixed[m];
		for (int r = 0; r < 200; r++)
			assert_int_equal(mock_faults_decide(&f, r + 1, cust(r, buf), 1, 0).ra,
					 fixed[m]);
	}
	f.ra_mode = RA_MIX;
	for (int r = 0; r < n; r++) {
		struct fault_decision d =
		    mock_faults_decide(&f, r + 1, cust(r / 2, buf), r % 2 + 1, 0);

		assert_int_equal(d.fault, FAULT_429);
		assert_true(d.ra >= RA_SECONDS && d.ra <= RA_MIX);
		seen[d.ra]++;
	}
	assert_int_equal(seen[RA_MIX], 0);
	for (int m = RA_SECONDS; m <= RA_NONE; m++)
		if (abs(seen[m] - n / 4) > n / 20)
			fail_msg("mode %d picked %d times out of %d", m, seen[m], n);
}

/* --error-status mix: 500, 502 and 503 about a third each. */
static void test_mock_faults__error_status_mix(void **state)
{
	struct mock_faults f;
	int n500 = 0, n502 = 0, n503 = 0, n = 6000;
	char buf[32];

	(void)state;
	mock_faults_init(&f);
	f.p_error = 1;
	for (int r = 0; r < n; r++) {
		struct fault_decision d = mock_faults_decide(&f, r + 1, cust(r, buf), 1, 0);

		n500 += d.status == 500;
		n502 += d.status == 502;
		n503 += d.status == 503;
	}
	assert_int_equal(n500 + n502 + n503, n);
	assert_in_range(n500, n / 3 - n / 20, n / 3 + n / 20);
	assert_in_range(n502, n / 3 - n / 20, n / 3 + n / 20);
	assert_in_range(n503, n / 3 - n / 20, n / 3 + n / 20);
}

/* --fail-500/502/503: each status its own probability, shares as asked. */
static void test_mock_faults__per_status_table(void **state)
{
	static const struct {
		double p500, p502, p503;
		int want500, want502, want503; /* expected share, in percent */
	} cases[] = {
	    {1, 0, 0, 100, 0, 0},	   {0, 1, 0, 0, 100, 0},	{0, 0, 1, 0, 0, 100},
	    {0.5, 0.25, 0.25, 50, 25, 25}, {0.1, 0.2, 0.3, 10, 20, 30},
	};
	int n = 10000;
	char buf[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mock_faults f;
		int got[3] = {0};

		mock_faults_init(&f);
		f.seed = 7;
		f.p_500 = cases[i].p500;
		f.p_502 = cases[i].p502;
		f.p_503 = cases[i].p503;
		for (int r = 0; r < n; r++) {
			struct fault_decision d = mock_faults_decide(&f, r + 1, cust(r, buf), 1, 0);

			if (d.fault == FAULT_ERROR)
				got[d.status == 500 ? 0 : d.status == 502 ? 1 : 2]++;
			else if (d.fault != FAULT_NONE)
				fail_msg("case %zu: fault %s", i, mock_fault_name(d.fault));
		}
		for (int k = 0; k < 3; k++) {
			int want = n *
				   (k == 0   ? cases[i].want500
				    : k == 1 ? cases[i].want502
					     : cases[i].want503) /
				   100;

			if (abs(got[k] - want) > n / 50)
				fail_msg("case %zu, status %d: %d of %d, want about %d", i,
					 k == 0	  ? 500
					 : k == 1 ? 502
						  : 503,
					 got[k], n, want);
		}
	}
}

/* Revoked beats the rate limit beats fail-first beats every drawn fault. */
static void test_mock_faults__precedence_table(void **state)
{
	static const struct {
		int64_t revoke_after, fail_first, request_no, attempt;
		int rate_limited;
		double p_error;
		enum fault want;
		int status;
	} cases[] = {
	    {2, 3, 3, 1, 1, 1, FAULT_REVOKED, 401},	  /* everything on: revoked */
	    {2, 3, 2, 1, 1, 1, FAULT_RATE_LIMIT, 429},	  /* the 2nd request is not revoked yet */
	    {0, 3, 1000, 1, 1, 1, FAULT_RATE_LIMIT, 429}, /* 0: never revoked */
	    {2, 3, 1, 1, 0, 1, FAULT_FAIL_FIRST, 503},
	    {2, 3, 2, 3, 0, 1, FAULT_FAIL_FIRST, 503}, /* the 3rd attempt still fails */
	    {2, 3, 2, 4, 0, 1, FAULT_ERROR, 500},      /* the 4th falls through to the draw */
	    {2, 3, 2, 4, 0, 0, FAULT_NONE, 201},
	    {0, 0, 1, 1, 0, 0, FAULT_NONE, 201},
	    {1, 0, 1, 1, 0, 0, FAULT_NONE, 201},
	    {1, 0, 2, 1, 0, 0, FAULT_REVOKED, 401},
	    {1, 0, INT64_MAX / 2, 1, 0, 0, FAULT_REVOKED, 401},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mock_faults f;
		struct fault_decision d;

		mock_faults_init(&f);
		f.revoke_after = cases[i].revoke_after;
		f.fail_first = cases[i].fail_first;
		f.p_error = cases[i].p_error;
		f.error_status = 500;
		d = mock_faults_decide(&f, cases[i].request_no, "cust-00001", cases[i].attempt,
				       cases[i].rate_limited);
		if (d.fault != cases[i].want || d.status != cases[i].status)
			fail_msg("case %zu: fault %s status %d, want %s %d", i,
				 mock_fault_name(d.fault), d.status, mock_fault_name(cases[i].want),
				 cases[i].status);
	}
}

/* The server-side limit's 429 sends Retry-After in seconds whatever --retry-after-mode. */
static void test_mock_faults__rate_limit_hint_is_seconds(void **state)
{
	struct mock_faults f;
	struct fault_decision d;

	(void)state;
	mock_faults_init(&f);
	f.ra_mode = RA_NONE;
	f.p_429 = 1;
	d = mock_faults_decide(&f, 1, "cust-00001", 1, 1);
	assert_int_equal(d.fault, FAULT_RATE_LIMIT);
	assert_int_equal(d.ra, RA_SECONDS);
}

/* Probabilities stack in the order reset, hang, 429, error, malformed. */
static void test_mock_faults__frequencies(void **state)
{
	struct mock_faults f;
	int count[FAULT_COUNT] = {0}, n = 40000;
	/* each fault's probability, where f takes it, and the share it must get */
	struct {
		enum fault f;
		double *p_field;
		double p;
	} want[] = {
	    {FAULT_RESET, &f.p_reset, 0.1},
	    {FAULT_HANG, &f.p_hang, 0.05},
	    {FAULT_429, &f.p_429, 0.2},
	    {FAULT_ERROR, &f.p_error, 0.3},
	    {FAULT_MALFORMED, &f.p_malformed, 0.15},
	    {FAULT_NONE, NULL, 0.2},
	};
	char buf[32];

	(void)state;
	mock_faults_init(&f);
	f.seed = 1234;
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		if (want[i].p_field)
			*want[i].p_field = want[i].p;
	for (int r = 0; r < n; r++)
		count[mock_faults_decide(&f, r + 1, cust(r / 4, buf), r % 4 + 1, 0).fault]++;
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		double got = (double)count[want[i].f] / n;

		if (fabs(got - want[i].p) > 0.01)
			fail_msg("%s: frequency %.4f, want %.2f", mock_fault_name(want[i].f), got,
				 want[i].p);
	}
}

/* Same seed, same (customer, attempt): same decision, whatever the order. */
static void test_mock_faults__seed_reproducible(void **state)
{
	struct mock_faults a, b, c;
	int differ = 0;
	char buf[32];

	(void)state;
	mock_faults_init(&a);
	a.seed = 77;
	a.p_error = 0.5;
	a.jitter_ms = 100;
	a.latency_ms = 100;
	b = a;
	c = a;
	c.seed = 78;
	for (int r = 0; r < 2000; r++) {
		/* b walks the customers backwards: arrival order must not matter */
		int rb = 1999 - r;
		struct fault_decision da = mock_faults_decide(&a, r + 1, cust(r, buf), 1, 0);
		struct fault_decision db = mock_faults_decide(&b, rb + 1, cust(r, buf), 1, 0);
		struct fault_decision dc = mock_faults_decide(&c, r + 1, cust(r, buf), 1, 0);

		if (da.fault != db.fault || da.status != db.status || da.delay_ms != db.delay_ms)
			fail_msg("request %d: seed 77 decided twice differently", r);
		differ += da.fault != dc.fault;
	}
	/* another seed is another sequence: about half the coin flips differ */
	assert_in_range(differ, 800, 1200);
}

/* Latency plus or minus jitter stays in bounds, reaches both ends, never negative. */
static void test_mock_faults__jitter_bounds(void **state)
{
	static const struct {
		int64_t latency, jitter, lo, hi;
	} cases[] = {
	    {200, 50, 150, 250}, {200, 0, 200, 200},
	    {0, 0, 0, 0},	 {10, 50, 0, 60}, /* clamped at 0 */
	    {0, 1, 0, 1},	 {1000, 1000, 0, 2000},
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mock_faults f;
		int64_t min = INT64_MAX, max = INT64_MIN;
		int zeros = 0;

		mock_faults_init(&f);
		f.latency_ms = cases[i].latency;
		f.jitter_ms = cases[i].jitter;
		for (int r = 0; r < 20000; r++) {
			int64_t d = mock_faults_decide(&f, r + 1, cust(r, buf), 1, 0).delay_ms;

			if (d < cases[i].lo || d > cases[i].hi)
				fail_msg("case %zu: delay %lld outside [%lld, %lld]", i,
					 (long long)d, (long long)cases[i].lo,
					 (long long)cases[i].hi);
			min = d < min ? d : min;
			max = d > max ? d : max;
			zeros += d == 0;
		}
		if (min != cases[i].lo || max != cases[i].hi)
			fail_msg("case %zu: delays span [%lld, %lld], want [%lld, %lld]", i,
				 (long long)min, (long long)max, (long long)cases[i].lo,
				 (long long)cases[i].hi);
		if (cases[i].latency == 10)
			assert_in_range(zeros, 20000 * 41 / 101 - 400, 20000 * 41 / 101 + 400);
	}
}

/* A hang replaces the latency; the other faults keep it. */
static void test_mock_faults__latency_with_faults(void **state)
{
	struct mock_faults f;
	struct fault_decision d;

	(void)state;
	mock_faults_init(&f);
	f.latency_ms = 250;
	f.hang_ms = 9000;
	f.p_hang = 1;
	d = mock_faults_decide(&f, 1, "a1", 1, 0);
	assert_int_equal(d.fault, FAULT_HANG);
	assert_int_equal(d.delay_ms, 9000);
	f.p_hang = 0;
	f.p_429 = 1;
	d = mock_faults_decide(&f, 1, "a1", 1, 0);
	assert_int_equal(d.fault, FAULT_429);
	assert_int_equal(d.delay_ms, 250);
}

/* The server-side window, driven by a simulated clock: {t_ms, want} steps. */
static void test_mock_faults__window_table(void **state)
{
	struct step {
		int64_t t_ms;
		int over;
	};
	static const struct {
		const char *what;
		int64_t limit, window_ms, penalty_ms;
		struct step steps[12];
		size_t n;
	} cases[] = {
	    {"no limit", 0, 0, 0, {{0, 0}, {0, 0}, {0, 0}, {0, 0}}, 4},
	    {"3 per 10s, then a 2s penalty",
	     3,
	     10000,
	     2000,
	     {{1000, 0},
	      {1001, 0},
	      {1002, 0},
	      {1003, 1}, /* the 4th crosses: penalty until 3003 */
	      {2000, 1}, /* in the penalty */
	      {3002, 1}, /* last ms of it */
	      {3003, 0}, /* served: a fresh window from 3003 */
	      {3004, 0},
	      {3005, 0},
	      {3006, 1}}, /* crossed again */
	     10},
	    {"window resets",
	     2,
	     1000,
	     60000,
	     {{5000, 0},
	      {5500, 0},
	      {6000, 0},
	      {6999, 0},
	      {7000, 0},
	      {7001, 0},
	      {7002, 1},
	      {50000, 1}},
	     8},
	    {"penalty outlasts the window",
	     1,
	     1000,
	     5000,
	     {{100, 0}, {200, 1}, {1500, 1}, {5199, 1}, {5200, 0}, {5201, 1}},
	     6},
	    {"no penalty: over until the window ends",
	     1,
	     1000,
	     0,
	     {{0, 0}, {10, 1}, {999, 1}, {1000, 0}, {1001, 1}},
	     5},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct mock_faults f;
		struct mock_window w = {0};

		mock_faults_init(&f);
		f.rl_limit = cases[i].limit;
		f.rl_window_ms = cases[i].window_ms;
		f.rl_penalty_ms = cases[i].penalty_ms;
		for (size_t s = 0; s < cases[i].n; s++) {
			int got = mock_window_hit(&w, &f, cases[i].steps[s].t_ms);

			if (got != cases[i].steps[s].over)
				fail_msg("%s, step %zu (t=%lld): %d, want %d", cases[i].what, s,
					 (long long)cases[i].steps[s].t_ms, got,
					 cases[i].steps[s].over);
		}
	}
}

/* 1000/300s at a monotonic clock far from 0, as the server uses it. */
static void test_mock_faults__window_finch_ip_limit(void **state)
{
	struct mock_faults f;
	struct mock_window w = {0};
	int64_t t0 = 987654321;
	int over = 0;

	(void)state;
	mock_faults_init(&f);
	f.rl_limit = 1000;
	f.rl_window_ms = 300000;
	f.rl_penalty_ms = 3600000;
	for (int i = 0; i < 1000; i++)
		over += mock_window_hit(&w, &f, t0 + i * 10);
	assert_int_equal(over, 0);
	assert_int_equal(mock_window_hit(&w, &f, t0 + 10000), 1);
	assert_int_equal(mock_window_hit(&w, &f, t0 + 10000 + 3600000 - 1), 1);
	assert_int_equal(mock_window_hit(&w, &f, t0 + 10000 + 3600000), 0);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_mock_faults__init_defaults),
	       cmocka_unit_test(test_mock_faults__fault_names),
	       cmocka_unit_test(test_mock_faults__draw_is_deterministic),
	       cmocka_unit_test(test_mock_faults__draw_inputs_matter),
	       cmocka_unit_test(test_mock_faults__draw_salts_differ),
	       cmocka_unit_test(test_mock_faults__draw_is_uniform),
	       cmocka_unit_test(test_mock_faults__probability_zero_is_none),
	       cmocka_unit_test(test_mock_faults__probability_one_table),
	       cmocka_unit_test(test_mock_faults__retry_after_modes),
	       cmocka_unit_test(test_mock_faults__error_status_mix),
	       cmocka_unit_test(test_mock_faults__per_status_table),
	       cmocka_unit_test(test_mock_faults__precedence_table),
	       cmocka_unit_test(test_mock_faults__rate_limit_hint_is_seconds),
	       cmocka_unit_test(test_mock_faults__frequencies),
	       cmocka_unit_test(test_mock_faults__seed_reproducible),
	       cmocka_unit_test(test_mock_faults__jitter_bounds),
	       cmocka_unit_test(test_mock_faults__latency_with_faults),
	       cmocka_unit_test(test_mock_faults__window_table),
	       cmocka_unit_test(test_mock_faults__window_finch_ip_limit))
