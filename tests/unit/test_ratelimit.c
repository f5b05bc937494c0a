/*
 * test_ratelimit.c: rate parsing, token accounting over simulated time,
 * the share-driven decrease, the CUBIC recovery, client-wide pauses, and a
 * closed loop against a simulated server. The clock is a parameter: nothing sleeps.
 */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "finch/ratelimit.h"
#include "base/util.h"

static void test_ratelimit__parse_table(void **state)
{
	static const struct {
		const char *in;
		int ok; /* 0, or -1: refused */
		double per_s;
		const char *why; /* the message when refused */
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
	    {"3/day", 0, 3.0 / 86400, NULL},
	    {"1/d", 0, 1.0 / 86400, NULL},
	    {"0.99/day", -1, 0,
	     "rate '0.99/day' is below 1 per day (use 0 for no limit, or e.g. 1/h)"},
	    {"1/2d", -1, 0, "rate '1/2d' is below 1 per day (use 0 for no limit, or e.g. 1/h)"},
	    {"0.0000000000000001", -1, 0,
	     "rate '0.0000000000000001' is below 1 per day (use 0 for no limit, or e.g. 1/h)"},
	    {"1/100000000000000000s", -1, 0,
	     "rate '1/100000000000000000s' is below 1 per day (use 0 for no limit, or e.g. 1/h)"},
	    {"0.0001", 0, 0.0001, NULL}, /* 8.64 a day */
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

/* Feeds n answers at now_ms to requests sent at sent_ms, the first throttled ones 429s. */
static void answers(struct ratelimit *rl, int64_t now_ms, int64_t sent_ms, int n, int throttled)
{
	for (int i = 0; i < n; i++)
		ratelimit_answered(rl, now_ms, sent_ms, i < throttled);
}

/* Sends n requests spread over [from_ms, from_ms + 1000) on an unlimited bucket. */
static void sends(struct ratelimit *rl, int64_t from_ms, int n)
{
	for (int i = 0; i < n; i++)
		assert_int_equal(ratelimit_take(rl, from_ms + (i * 1000 + n - 1) / n), 1);
}

/*
 * Starts rl (limit_per_s, burst) at 0 ms and has its first window decide a
 * decrease: 100 sends in the first second, throttled of their 100 answers
 * 429s at 900 ms, the window closed at 1000 ms.
 */
static void decrease_once(struct ratelimit *rl, double limit_per_s, double burst, int throttled)
{
	ratelimit_init(rl, limit_per_s, burst, 0);
	sends(rl, 0, 100);
	answers(rl, 900, 0, 100, throttled);
	assert_int_equal(ratelimit_tick(rl, 1000), RATELIMIT_DECREASED);
}

static void test_ratelimit__share_table(void **state)
{
	static const struct {
		const char *what;
		int answers, throttled;
		int64_t at_ms; /* when the window is asked to decide */
		enum ratelimit_change want;
	} cases[] = {
	    {"no 429", 100, 0, 1000, RATELIMIT_SAME},
	    {"a single 429 among 100", 100, 1, 1000, RATELIMIT_SAME},
	    {"10% of 429s, at random", 100, 10, 1000, RATELIMIT_SAME},
	    {"15% is still tolerated", 100, 15, 1000, RATELIMIT_SAME},
	    {"16% is not", 100, 16, 1000, RATELIMIT_DECREASED},
	    {"half", 100, 50, 1000, RATELIMIT_DECREASED},
	    {"window not over yet", 100, 50, 999, RATELIMIT_SAME},
	    {"1 of 3: too few answers to judge", 3, 1, 1000, RATELIMIT_SAME},
	    {"1 of 3 after the longest window", 3, 1, RATELIMIT_WINDOW_MAX_MS, RATELIMIT_DECREASED},
	    {"all 429s, 10 answers", 10, 10, 1000, RATELIMIT_DECREASED},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ratelimit rl;
		enum ratelimit_change got;

		ratelimit_init(&rl, 0, 1, 0);
		sends(&rl, 0, cases[i].answers);
		answers(&rl, 500, 0, cases[i].answers, cases[i].throttled);
		got = ratelimit_tick(&rl, cases[i].at_ms);
		if (got != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].what, got, cases[i].want);
		/* A 429 never pauses anything by itself. */
		assert_int_equal(ratelimit_paused(&rl, cases[i].at_ms), 0);
	}
}

static void test_ratelimit__decrease_table(void **state)
{
	static const struct {
		const char *what;
		double limit_per_s;
		int sent, answers, throttled; /* in the first second */
		double want_per_s;
	} cases[] = {
	    /* beta * measured send rate, when above the success rate */
	    {"unlimited, half 429s", 0, 100, 100, 50, 70},
	    {"unlimited, all 429s", 0, 100, 100, 100, 70},
	    /* the success rate is the floor */
	    {"unlimited, 20% 429s", 0, 100, 100, 20, 80},
	    {"limit 50, 20% 429s", 50, 50, 50, 10, 40},
	    /* never below the absolute floor */
	    {"unlimited, 10 sent, all 429s", 0, 10, 10, 10, 7},
	    {"unlimited, 1 sent", 0, 0, 10, 10, RATELIMIT_MIN_PER_S},
	    /* never above the configured limit, even when it sent faster (burst) */
	    {"limit 3, all 429s", 3, 3, 10, 10, 2.1},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ratelimit rl;

		ratelimit_init(&rl, cases[i].limit_per_s, cases[i].sent + 1, 0);
		if (cases[i].sent)
			sends(&rl, 0, cases[i].sent);
		answers(&rl, 900, 0, cases[i].answers, cases[i].throttled);
		if (ratelimit_tick(&rl, 1000) != RATELIMIT_DECREASED)
			fail_msg("%s: no decrease", cases[i].what);
		if (fabs(rl.rate_per_s - cases[i].want_per_s) > 1e-9)
			fail_msg("%s: %.6g/s, want %.6g/s", cases[i].what, rl.rate_per_s,
				 cases[i].want_per_s);
	}
}

static void test_ratelimit__one_decrease_per_window(void **state)
{
	struct ratelimit rl;
	double after_first;

	(void)state;
	decrease_once(&rl, 0, 1, 60);
	after_first = rl.rate_per_s;
	/* The 429s of requests sent before the decrease describe the old rate. */
	answers(&rl, 1100, 950, 100, 100);
	assert_int_equal(ratelimit_tick(&rl, 1500), RATELIMIT_SAME);
	assert_true(rl.rate_per_s >= after_first);
	/* Fresh ones count, once the window (a second from the decrease) is over. */
	answers(&rl, 1600, 1500, 10, 10);
	assert_int_equal(ratelimit_tick(&rl, 1999), RATELIMIT_SAME);
	assert_int_equal(ratelimit_tick(&rl, 2000), RATELIMIT_DECREASED);
	assert_int_equal(rl.decreases, 2);
}

static void test_ratelimit__window_follows_the_round_trip(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 0, 1, 0);
	sends(&rl, 0, 20);
	/* A 3 s round trip: the window is 3 s, so a decision waits for it. */
	answers(&rl, 3000, 0, 20, 20);
	assert_int_equal(rl.window_ms, 3000);
	assert_int_equal(ratelimit_tick(&rl, 2999), RATELIMIT_SAME);
	assert_int_equal(ratelimit_tick(&rl, 3000), RATELIMIT_DECREASED);
}

/* The rate t_ms after a decrease at 1000 from 100/s (W_max 100, to 70, K = cbrt(75)). */
static void test_ratelimit__recovers_over_time_on_a_cubic(void **state)
{
	static const struct {
		double limit_per_s;
		int64_t t_ms;
		double want_per_s;
	} cases[] = {
	    /* clang-format off */
	    {0, 0, 70},
	    {0, 1000, 86.681},	/* 0.4 * (1 - 4.2172)^3 + 100 */
	    {0, 4217, 100},	/* K: back at W_max, flat there */
	    {0, 5217, 100.4},	/* then probing, slowly at first */
	    {0, 7217, 110.8},
	    {150, 9217, 150},	/* the configured limit ends the curve */
	    {120, 8217, 120},
	    /* clang-format on */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ratelimit rl;
		double got;

		decrease_once(&rl, cases[i].limit_per_s, 1000, 100);
		/* Successes do not raise the rate: only time does. */
		answers(&rl, 1000, 1000, 1000, 0);
		assert_true(fabs(rl.rate_per_s - 70) < 1e-9);
		/* Keep sending at the rate, so --rate 0 stays limited while probing. */
		for (int64_t t = 1000; t <= 1000 + cases[i].t_ms; t += 10) {
			while (ratelimit_take(&rl, t))
				;
			ratelimit_tick(&rl, t);
		}
		ratelimit_tick(&rl, 1000 + cases[i].t_ms);
		got = rl.rate_per_s;
		if (fabs(got - cases[i].want_per_s) > 0.05 * cases[i].want_per_s / 100 + 0.01)
			fail_msg("limit %g, %lld ms after: %.4g/s, want %.4g/s",
				 cases[i].limit_per_s, (long long)cases[i].t_ms, got,
				 cases[i].want_per_s);
	}
}

static void test_ratelimit__unlimited_again_when_the_limit_limits_nothing(void **state)
{
	struct ratelimit rl;
	int64_t t;

	(void)state;
	decrease_once(&rl, 0, 1, 100);
	/* The sender only wants 20/s now: past K the limit is lifted. */
	for (t = 1000; t < 60000 && rl.rate_per_s > 0; t += 50) {
		ratelimit_take(&rl, t); /* 20/s */
		ratelimit_tick(&rl, t);
	}
	assert_true(rl.rate_per_s == 0);
	assert_true(t - 1000 >= 4217); /* not before K */
	assert_true(t - 1000 < 6000);
}

static void test_ratelimit__fast_convergence(void **state)
{
	struct ratelimit rl;

	(void)state;
	decrease_once(&rl, 0, 1000, 100);
	assert_true(fabs(rl.w_max_per_s - 100) < 1e-9);
	/* Hurt again at a lower rate: W_max = rate * (1 + beta) / 2 (RFC 9438 4.7). */
	sends(&rl, 1000, 70);
	answers(&rl, 1900, 1000, 70, 70);
	assert_int_equal(ratelimit_tick(&rl, 2000), RATELIMIT_DECREASED);
	/* measured over both windows: (100 + 70) / 2 s = 85/s */
	assert_true(fabs(rl.w_max_per_s - 85 * 0.85) < 1e-9);
	assert_true(fabs(rl.rate_per_s - 70 * RATELIMIT_BETA * 85 / 70) < 1e-9);
}

static void test_ratelimit__client_wide_pause(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 0, 1, 0);
	sends(&rl, 0, 60);
	answers(&rl, 500, 0, 50, 0);
	/* A per-IP limit: everything waits, and the rate drops once. */
	assert_int_equal(ratelimit_pause(&rl, 600, 1000), 1);
	assert_int_equal(ratelimit_pause(&rl, 700, 2000), 0);
	assert_int_equal(ratelimit_paused(&rl, 2699), 1);
	assert_int_equal(ratelimit_take(&rl, 2699), 0);
	assert_int_equal(ratelimit_wait_ms(&rl, 600), 2100);
	assert_int_equal(ratelimit_paused(&rl, 2700), 0);
	assert_int_equal(ratelimit_take(&rl, 2700), 1);
	/* max(0.7 * 60/s, 50/s), capped at 95% of the 50/s that got through */
	assert_true(fabs(rl.rate_per_s - 47.5) < 1e-9);
	/* and never probed past, however long the run */
	for (int64_t t = 2700; t < 600000; t += 100) {
		while (ratelimit_take(&rl, t))
			;
		ratelimit_tick(&rl, t);
		assert_true(rl.rate_per_s > 0 && rl.rate_per_s <= 47.5 + 1e-9);
	}
}

/*
 * A closed loop: a sender that always has work (up to `slots` in flight,
 * answers after 100 ms) against a server that accepts cap_per_s per fixed
 * second and 429s the rest, plus random_share of 429s whatever the rate.
 * Returns the success rate over the last 60 of 120 s, and the 429 share.
 */
static double simulate(double limit_per_s, int slots, int cap_per_s, double random_share,
		       double *share)
{
	enum { LATENCY_MS = 100, RING = 4096 };
	struct ratelimit rl;
	int64_t due[RING], sent_at[RING];
	int thr[RING], head = 0, tail = 0, inflight = 0, in_window = 0;
	int64_t ok = 0, all = 0, throttled = 0;
	unsigned seed = 99;

	ratelimit_init(&rl, limit_per_s, 1, 0);
	for (int64_t t = 0; t < 120000; t++) {
		if (t % 1000 == 0)
			in_window = 0;
		while (inflight && due[head] <= t) {
			ratelimit_answered(&rl, t, sent_at[head], thr[head]);
			if (t >= 60000) {
				all++;
				throttled += thr[head];
				ok += !thr[head];
			}
			head = (head + 1) % RING;
			inflight--;
		}
		ratelimit_tick(&rl, t);
		while (inflight < slots && ratelimit_take(&rl, t)) {
			seed = seed * 1103515245u + 12345u;
			thr[tail] = ++in_window > cap_per_s ||
				    (double)((seed >> 8) & 0xffff) / 65536.0 < random_share;
			due[tail] = t + LATENCY_MS;
			sent_at[tail] = t;
			tail = (tail + 1) % RING;
			inflight++;
		}
	}
	*share = all ? (double)throttled / (double)all : 0;
	return (double)ok / 60.0;
}

static void test_ratelimit__closed_loop_table(void **state)
{
	static const struct {
		const char *what;
		double limit_per_s;
		int slots, cap_per_s;
		double random_share;
		double min_ok_per_s, max_share;
	} cases[] = {
	    /* 160/s of capacity (16 slots, 100 ms), 10% of 429s at random: no collapse */
	    {"unlimited, 10% random 429s", 0, 16, 100000, 0.10, 0.85 * 160 * 0.9, 0.12},
	    {"--rate 100/s, 10% random 429s", 100, 16, 100000, 0.10, 0.85 * 100 * 0.9, 0.12},
	    /* a server capped at 50/s: close to the cap, few 429s */
	    {"unlimited, server capped at 50/s", 0, 16, 50, 0, 45, 0.16},
	    {"--rate 3/s, server capped at 50/s", 3, 16, 50, 0, 2.95, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		double share,
		    ok_per_s = simulate(cases[i].limit_per_s, cases[i].slots, cases[i].cap_per_s,
					cases[i].random_share, &share);

		if (ok_per_s < cases[i].min_ok_per_s || share > cases[i].max_share)
			fail_msg(
			    "%s: %.1f successes/s (want >= %.1f), %.1f%% 429s (want <= %.0f%%)",
			    cases[i].what, ok_per_s, cases[i].min_ok_per_s, share * 100,
			    cases[i].max_share * 100);
	}
}

UNIT_TEST_MAIN(cmocka_unit_test(test_ratelimit__parse_table),
	       cmocka_unit_test(test_ratelimit__long_run_rate_is_exact),
	       cmocka_unit_test(test_ratelimit__polling_every_ms_counts_right),
	       cmocka_unit_test(test_ratelimit__wait_agrees_with_take),
	       cmocka_unit_test(test_ratelimit__burst), cmocka_unit_test(test_ratelimit__unlimited),
	       cmocka_unit_test(test_ratelimit__share_table),
	       cmocka_unit_test(test_ratelimit__decrease_table),
	       cmocka_unit_test(test_ratelimit__one_decrease_per_window),
	       cmocka_unit_test(test_ratelimit__window_follows_the_round_trip),
	       cmocka_unit_test(test_ratelimit__recovers_over_time_on_a_cubic),
	       cmocka_unit_test(test_ratelimit__unlimited_again_when_the_limit_limits_nothing),
	       cmocka_unit_test(test_ratelimit__fast_convergence),
	       cmocka_unit_test(test_ratelimit__client_wide_pause),
	       cmocka_unit_test(test_ratelimit__closed_loop_table))
