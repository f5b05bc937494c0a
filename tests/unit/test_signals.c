/*
 * test_signals.c: signals within a second of the first are one request; a
 * later one stops at once. The decision is a pure function of the times.
 */
#include "unit.h"

#include <signal.h>
#include <unistd.h>

#include "base/signals.h"
#include "base/util.h"

static void test_signals__next_level_table(void **state)
{
	static const struct {
		enum signals_level level;
		int64_t first_ms, now_ms;
		enum signals_level want;
	} cases[] = {
	    {SIGNALS_NONE, 0, 5000, SIGNALS_STOP},	      /* the first */
	    {SIGNALS_STOP, 5000, 5000, SIGNALS_STOP},	      /* the same instant */
	    {SIGNALS_STOP, 5000, 5005, SIGNALS_STOP},	      /* timeout(1): child, then group */
	    {SIGNALS_STOP, 5000, 5999, SIGNALS_STOP},	      /* still the same request */
	    {SIGNALS_STOP, 5000, 6000, SIGNALS_STOP_NOW},     /* a second later: stop now */
	    {SIGNALS_STOP, 5000, 60000, SIGNALS_STOP_NOW},    /* much later */
	    {SIGNALS_STOP_NOW, 5000, 5001, SIGNALS_STOP_NOW}, /* never goes back */
	    {SIGNALS_STOP, 5000, 4000, SIGNALS_STOP},	      /* a clock before the first: same */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum signals_level got =
		    signals_next_level(cases[i].level, cases[i].first_ms, cases[i].now_ms);

		if (got != cases[i].want)
			fail_msg("case %zu: %d, want %d", i, (int)got, (int)cases[i].want);
	}
}

/* Two real signals at once are one request; the pipe wakes a poller; nesting keeps the level. */
static void test_signals__two_at_once_are_one_request(void **state)
{
	char c;

	(void)state;
	assert_int_equal(signals_install(), 0);
	assert_int_equal(signals_level(), SIGNALS_NONE);
	assert_int_equal(raise(SIGTERM), 0);
	assert_int_equal(raise(SIGINT), 0);
	assert_int_equal(signals_level(), SIGNALS_STOP);
	assert_true(read(signals_fd(), &c, 1) == 1);
	signals_drain();
	assert_int_equal(signals_install(), 0); /* nested: the level stays */
	assert_int_equal(signals_level(), SIGNALS_STOP);
	signals_restore();
	assert_true(signals_fd() >= 0);
	signals_restore();
	assert_int_equal(signals_fd(), -1);
	assert_int_equal(signals_install(), 0); /* a new install starts afresh */
	assert_int_equal(signals_level(), SIGNALS_NONE);
	signals_restore();
}

UNIT_TEST_MAIN(cmocka_unit_test(test_signals__next_level_table),
	       cmocka_unit_test(test_signals__two_at_once_are_one_request))
