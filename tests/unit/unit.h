/*
 * unit.h: what every unit test includes first: cmocka with the headers it
 * needs before it, and UNIT_TEST_MAIN, the main() of a test program.
 */
#ifndef FINCH_UNIT_H
#define FINCH_UNIT_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

/*
 * Defines main(): runs the tests given (cmocka_unit_test() entries, or
 * cmocka_unit_test_setup_teardown() ones) as one group, and exits with the
 * count of those that failed.
 */
#define UNIT_TEST_MAIN(...)                                                                        \
	int main(void)                                                                             \
	{                                                                                          \
		const struct CMUnitTest tests[] = {__VA_ARGS__};                                   \
                                                                                                   \
		return cmocka_run_group_tests(tests, NULL, NULL);                                  \
	}

#endif
