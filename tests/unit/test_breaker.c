/*
 * test_breaker.c: the circuit breaker as tables of signals, with the clock
 * injected: what each finished request does to the state, and what becomes
 * of its row.
 */
#include "unit.h"

#include <stdio.h>

#include "finch/breaker.h"
#include "base/util.h"

/* One step: at t_ms, either a signal (sig >= 0) or an allow(want) call (sig < 0). */
struct step {
	int64_t t_ms;
	int sig; /* enum breaker_signal, or -1: breaker_allow(want) */
	int64_t want;
	int64_t expect; /* the verdict, or what allow returned */
	enum breaker_state state;
};

#define SIG(t, s, v, st)                                                                           \
	{                                                                                          \
		t, s, 0, v, st                                                                     \
	}
#define ALLOW(t, w, n, st)                                                                         \
	{                                                                                          \
		t, -1, w, n, st                                                                    \
	}
#define A     BREAKER_ANSWERED
#define D     BREAKER_DOWN
#define N     BREAKER_NOT_API
#define O     BREAKER_OTHER
#define F     BREAKER_FAILING
#define SPEND BREAKER_SPEND
#define KEEP  BREAKER_KEEP

static void run_steps(const char *name, const struct step *steps, size_t n, int64_t give_up_ms,
		      struct breaker *b)
{
	breaker_init(b, give_up_ms);
	for (size_t i = 0; i < n; i++) {
		const struct step *s = &steps[i];
		int64_t got;

		if (s->sig < 0)
			got = breaker_allow(b, s->want, s->t_ms);
		else
			got = breaker_record(b, (enum breaker_signal)s->sig, s->t_ms);
		if (got != s->expect || b->state != s->state)
			fail_msg("%s: step %zu: got %lld in state %d, want %lld in state %d", name,
				 i, (long long)got, b->state, (long long)s->expect, s->state);
	}
}

static void test_breaker__stops_when_the_first_requests_all_fail(void **state)
{
	static const struct step steps[] = {
	    ALLOW(0, 16, 16, BREAKER_CLOSED), SIG(5, D, KEEP, BREAKER_CLOSED),
	    SIG(6, D, KEEP, BREAKER_CLOSED),  SIG(7, D, KEEP, BREAKER_GAVE_UP),
	    SIG(8, D, KEEP, BREAKER_GAVE_UP), ALLOW(9, 16, 0, BREAKER_GAVE_UP),
	};
	struct breaker b;

	(void)state;
	run_steps("closed port", steps, ARRAY_SIZE(steps), 60000, &b);
	assert_true(b.at_start);
	assert_int_equal(b.outages, 0);
}

static void test_breaker__an_answer_at_start_proves_the_api(void **state)
{
	/* A timeout says nothing; a 5xx (ANSWERED) proves the API is there. */
	static const struct step steps[] = {
	    SIG(0, D, KEEP, BREAKER_CLOSED),  SIG(1, O, SPEND, BREAKER_CLOSED),
	    SIG(2, D, KEEP, BREAKER_CLOSED),  SIG(3, A, SPEND, BREAKER_CLOSED),
	    SIG(4, N, SPEND, BREAKER_CLOSED), SIG(5, N, SPEND, BREAKER_CLOSED),
	    SIG(6, A, SPEND, BREAKER_CLOSED), SIG(7, N, SPEND, BREAKER_CLOSED),
	    ALLOW(8, 4, 4, BREAKER_CLOSED),
	};
	struct breaker b;

	(void)state;
	run_steps("proven", steps, ARRAY_SIZE(steps), 60000, &b);
	assert_true(b.proven);
}

static void test_breaker__an_outage_mid_run_opens_probes_and_closes(void **state)
{
	static const struct step steps[] = {
	    SIG(0, A, SPEND, BREAKER_CLOSED),
	    SIG(100, N, SPEND, BREAKER_CLOSED), /* a bare 404 reached something: it spends */
	    SIG(110, D, KEEP, BREAKER_CLOSED),	/* a refusal never does */
	    SIG(120, D, KEEP, BREAKER_OPEN),	/* the third opens it */
	    SIG(130, D, KEEP, BREAKER_OPEN),	/* sent before it opened */
	    ALLOW(500, 8, 0, BREAKER_OPEN),	/* nothing before the probe delay */
	    ALLOW(1120, 8, 1, BREAKER_PROBING), /* one probe */
	    ALLOW(1121, 8, 0, BREAKER_PROBING),
	    SIG(1130, D, KEEP, BREAKER_OPEN), /* the probe failed: twice the delay */
	    ALLOW(3000, 8, 0, BREAKER_OPEN),
	    ALLOW(3130, 8, 1, BREAKER_PROBING),
	    SIG(3140, O, SPEND, BREAKER_OPEN), /* no answer to the probe: still out */
	    ALLOW(7140, 8, 1, BREAKER_PROBING),
	    SIG(7150, A, SPEND, BREAKER_CLOSED), /* back */
	    ALLOW(7151, 8, 8, BREAKER_CLOSED),
	    SIG(7160, N, SPEND, BREAKER_CLOSED), /* the count started again */
	};
	struct breaker b;

	(void)state;
	run_steps("outage", steps, ARRAY_SIZE(steps), 60000, &b);
	assert_int_equal(b.outages, 1);
	assert_false(b.at_start);
}

static void test_breaker__gives_up_after_the_outage_lasts(void **state)
{
	static const struct step steps[] = {
	    SIG(0, A, SPEND, BREAKER_CLOSED),	  SIG(10, D, KEEP, BREAKER_CLOSED),
	    SIG(20, N, SPEND, BREAKER_CLOSED),	  SIG(30, D, KEEP, BREAKER_OPEN),
	    ALLOW(1030, 1, 1, BREAKER_PROBING),	  SIG(1040, D, KEEP, BREAKER_OPEN),
	    ALLOW(3040, 1, 1, BREAKER_PROBING),	  SIG(3050, D, KEEP, BREAKER_OPEN),
	    ALLOW(7050, 1, 1, BREAKER_PROBING),	  SIG(7060, D, KEEP, BREAKER_GAVE_UP),
	    SIG(7070, A, SPEND, BREAKER_GAVE_UP), /* too late: the run is stopping */
	    ALLOW(8000, 1, 0, BREAKER_GAVE_UP),
	};
	struct breaker b;

	(void)state;
	run_steps("give up", steps, ARRAY_SIZE(steps), 5000, &b);
	assert_false(b.at_start);
}

static void test_breaker__probe_delay_doubles_up_to_the_cap(void **state)
{
	struct breaker b;
	int64_t t = 0, want = BREAKER_PROBE_MIN_MS;

	(void)state;
	breaker_init(&b, INT64_MAX / 4);
	breaker_record(&b, BREAKER_ANSWERED, t);
	for (int i = 0; i < BREAKER_THRESHOLD; i++)
		breaker_record(&b, BREAKER_DOWN, t);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(b.state, BREAKER_OPEN);
		assert_int_equal(breaker_wait_ms(&b, t), want);
		assert_int_equal(breaker_allow(&b, 1, t + want - 1), 0);
		t += want;
		assert_int_equal(breaker_allow(&b, 1, t), 1);
		assert_int_equal(breaker_wait_ms(&b, t), -1);
		breaker_record(&b, BREAKER_DOWN, t);
		want = want * 2 > BREAKER_PROBE_MAX_MS ? BREAKER_PROBE_MAX_MS : want * 2;
	}
}

static void test_breaker__an_unused_probe_is_not_lost(void **state)
{
	struct breaker b;

	(void)state;
	breaker_init(&b, 60000);
	breaker_record(&b, BREAKER_ANSWERED, 0);
	for (int i = 0; i < BREAKER_THRESHOLD; i++)
		breaker_record(&b, BREAKER_DOWN, 0);
	assert_int_equal(breaker_allow(&b, 1, 1000), 1);
	breaker_probe_unused(&b, 1000);
	assert_int_equal(b.state, BREAKER_OPEN);
	assert_int_equal(breaker_wait_ms(&b, 1000), 1000);
	assert_int_equal(breaker_allow(&b, 0, 5000), 0); /* nothing wanted: stays open */
	assert_int_equal(b.state, BREAKER_OPEN);
}

static void test_breaker__a_window_of_server_errors_opens_it(void **state)
{
	/* 7 server errors spend, the 8th in a row opens; in-flight ones are kept. */
	static const struct step steps[] = {
	    SIG(0, A, SPEND, BREAKER_CLOSED),	 SIG(10, F, SPEND, BREAKER_CLOSED),
	    SIG(11, F, SPEND, BREAKER_CLOSED),	 SIG(12, F, SPEND, BREAKER_CLOSED),
	    SIG(13, F, SPEND, BREAKER_CLOSED),	 SIG(14, F, SPEND, BREAKER_CLOSED),
	    SIG(15, F, SPEND, BREAKER_CLOSED),	 SIG(16, F, SPEND, BREAKER_CLOSED),
	    SIG(17, F, KEEP, BREAKER_OPEN),	 SIG(18, F, KEEP, BREAKER_OPEN),
	    ALLOW(500, 8, 0, BREAKER_OPEN),	 ALLOW(1017, 8, 1, BREAKER_PROBING),
	    SIG(1020, F, KEEP, BREAKER_OPEN), /* the probe got a 503: twice the delay */
	    ALLOW(3019, 8, 0, BREAKER_OPEN),	 ALLOW(3020, 8, 1, BREAKER_PROBING),
	    SIG(3030, A, SPEND, BREAKER_CLOSED), /* a 201: back */
	    SIG(3040, F, SPEND, BREAKER_CLOSED), /* the count started again */
	};
	struct breaker b;

	(void)state;
	run_steps("server errors", steps, ARRAY_SIZE(steps), 60000, &b);
	assert_int_equal(b.outages, 1);
	assert_true(b.failing);
}

static void test_breaker__random_server_errors_never_open_it(void **state)
{
	/* 7 in a row, an answer, 7 again: the retry policy's business alone. */
	static const struct step steps[] = {
	    SIG(0, F, SPEND, BREAKER_CLOSED),  SIG(1, F, SPEND, BREAKER_CLOSED),
	    SIG(2, F, SPEND, BREAKER_CLOSED),  SIG(3, F, SPEND, BREAKER_CLOSED),
	    SIG(4, F, SPEND, BREAKER_CLOSED),  SIG(5, F, SPEND, BREAKER_CLOSED),
	    SIG(6, F, SPEND, BREAKER_CLOSED),  SIG(7, A, SPEND, BREAKER_CLOSED),
	    SIG(8, F, SPEND, BREAKER_CLOSED),  SIG(9, F, SPEND, BREAKER_CLOSED),
	    SIG(10, O, SPEND, BREAKER_CLOSED), /* a timeout neither counts nor resets */
	    SIG(11, F, SPEND, BREAKER_CLOSED), SIG(12, F, SPEND, BREAKER_CLOSED),
	    SIG(13, F, SPEND, BREAKER_CLOSED), SIG(14, F, SPEND, BREAKER_CLOSED),
	    SIG(15, A, SPEND, BREAKER_CLOSED), ALLOW(16, 4, 4, BREAKER_CLOSED),
	};
	struct breaker b;

	(void)state;
	run_steps("random 5xx", steps, ARRAY_SIZE(steps), 60000, &b);
	assert_int_equal(b.outages, 0);
}

static void test_breaker__server_errors_from_the_start_probe_then_give_up(void **state)
{
	/*
	 * A night of 503s: the API never answered well, but it is there, so no
	 * exit at once as for a closed port: an outage, probed, given up.
	 * Refusals among them still count as "nothing there".
	 */
	static const struct step steps[] = {
	    SIG(0, F, SPEND, BREAKER_CLOSED),	SIG(1, F, SPEND, BREAKER_CLOSED),
	    SIG(2, D, KEEP, BREAKER_CLOSED),	SIG(3, F, SPEND, BREAKER_CLOSED),
	    SIG(4, F, SPEND, BREAKER_CLOSED),	SIG(5, F, SPEND, BREAKER_CLOSED),
	    SIG(6, F, SPEND, BREAKER_CLOSED),	SIG(7, F, KEEP, BREAKER_OPEN),
	    ALLOW(1007, 4, 1, BREAKER_PROBING), SIG(1010, F, KEEP, BREAKER_OPEN),
	    ALLOW(3010, 4, 1, BREAKER_PROBING), SIG(3020, F, KEEP, BREAKER_GAVE_UP),
	    ALLOW(4000, 4, 0, BREAKER_GAVE_UP),
	};
	struct breaker b;

	(void)state;
	run_steps("503 night", steps, ARRAY_SIZE(steps), 3000, &b);
	assert_false(b.at_start);
	assert_false(b.proven);
	assert_true(b.failing);
	assert_int_equal(b.outages, 1);
}

static void test_breaker__a_refused_probe_is_an_outage_of_its_own_kind(void **state)
{
	static const struct step steps[] = {
	    SIG(0, A, SPEND, BREAKER_CLOSED),	SIG(1, D, KEEP, BREAKER_CLOSED),
	    SIG(2, D, KEEP, BREAKER_CLOSED),	SIG(3, D, KEEP, BREAKER_OPEN),
	    ALLOW(1003, 1, 1, BREAKER_PROBING), SIG(1004, F, KEEP, BREAKER_OPEN),
	    ALLOW(3004, 1, 1, BREAKER_PROBING), SIG(3005, D, KEEP, BREAKER_OPEN),
	};
	struct breaker b;

	(void)state;
	run_steps("refused then 503", steps, ARRAY_SIZE(steps), 60000, &b);
	assert_false(b.failing); /* the last probe was refused */
}

UNIT_TEST_MAIN(cmocka_unit_test(test_breaker__stops_when_the_first_requests_all_fail),
	       cmocka_unit_test(test_breaker__an_answer_at_start_proves_the_api),
	       cmocka_unit_test(test_breaker__an_outage_mid_run_opens_probes_and_closes),
	       cmocka_unit_test(test_breaker__gives_up_after_the_outage_lasts),
	       cmocka_unit_test(test_breaker__probe_delay_doubles_up_to_the_cap),
	       cmocka_unit_test(test_breaker__an_unused_probe_is_not_lost),
	       cmocka_unit_test(test_breaker__a_window_of_server_errors_opens_it),
	       cmocka_unit_test(test_breaker__random_server_errors_never_open_it),
	       cmocka_unit_test(test_breaker__server_errors_from_the_start_probe_then_give_up),
	       cmocka_unit_test(test_breaker__a_refused_probe_is_an_outage_of_its_own_kind))
