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

#include <string.h>

/* Fails, showing both, unless the string s contains needle (assert_lacks: unless it does not). */
#define assert_contains(s, needle) unit_assert_strstr((s), (needle), 1, __FILE__, __LINE__)
#define assert_lacks(s, needle)	   unit_assert_strstr((s), (needle), 0, __FILE__, __LINE__)

static inline void unit_assert_strstr(const char *s, const char *needle, int want, const char *file,
				      int line)
{
	if (!s || (strstr(s, needle) != NULL) != want) {
		print_error("---\n%s\n--- %s ---\n%s\n---\n", s ? s : "(null)",
			    want ? "does not contain" : "contains", needle);
		_fail(file, line);
	}
}

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
