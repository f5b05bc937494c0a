/*
 * test_util.c: the option parsers of util.h as tables: a duration whose
 * default has a unit refuses a bare number (issue 16: "--give-up-after 7"
 * meant 7 seconds though the default reads 7d).
 */
#include "unit.h"

#include <stdint.h>

#include "base/util.h"

struct duration_case {
	const char *in;
	int ret;       /* of parse_duration_unit_ms() */
	int64_t ms;    /* when ret is 0 */
	int plain_ret; /* of parse_duration_ms(), which takes seconds */
};

static void test_util__duration_needs_a_unit(void **state)
{
	static const struct duration_case cases[] = {
	    {"7", -2, 0, 0},
	    {"7d", 0, 7 * 86400000LL, 0},
	    {"36h", 0, 36 * 3600000LL, 0},
	    {"90m", 0, 90 * 60000LL, 0},
	    {"90min", 0, 90 * 60000LL, 0},
	    {"1.5s", 0, 1500, 0},
	    {"500ms", 0, 500, 0},
	    {"0", 0, 0, 0},
	    {"0.0", 0, 0, 0},
	    {"1.", -2, 0, 0},
	    {"1e3", -2, 0, 0},
	    {"7 d", -1, 0, -1},
	    {"-7d", -1, 0, -1},
	    {"", -1, 0, -1},
	    {"d", -1, 0, -1},
	    {"7w", -1, 0, -1},
	    {" 7d", -1, 0, -1},
	    {"7D", -1, 0, -1},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t ms = -1, plain = -1;
		int r = parse_duration_unit_ms(cases[i].in, &ms);

		if (r != cases[i].ret || (r == 0 && ms != cases[i].ms))
			fail_msg("'%s': %d %lld, want %d %lld", cases[i].in, r, (long long)ms,
				 cases[i].ret, (long long)cases[i].ms);
		assert_int_equal(parse_duration_ms(cases[i].in, &plain), cases[i].plain_ret);
	}
}

UNIT_TEST_MAIN(cmocka_unit_test(test_util__duration_needs_a_unit))
