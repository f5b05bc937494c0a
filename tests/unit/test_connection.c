/*
 * test_connection.c: every connection status Finch sends, its index and its
 * group in the funnel, as a table; names that are not statuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/util.h"
#include "finch/connection.h"

static void test_connection__groups(void **state)
{
	static const struct {
		const char *status;
		int index;
		const char *group;
	} cases[] = {
	    {"pending", 0, "syncing"},
	    {"processing", 1, "syncing"},
	    {"connected", 2, "connected"},
	    {"reauth", 3, "needs_reauth"},
	    {"error_permissions", 4, "needs_reauth"},
	    {"error_no_account_setup", 5, "no_account"},
	    {"disconnected", 6, "disconnected"},
	    {NULL, -1, "unknown"},
	    {"", -1, "unknown"},
	    {"Connected", -1, "unknown"},
	    {"connected ", -1, "unknown"},
	    {"created", -1, "unknown"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int idx = connection_status_index(cases[i].status);

		assert_int_equal(idx, cases[i].index);
		if (idx >= 0)
			assert_string_equal(connection_statuses[idx], cases[i].status);
		assert_string_equal(connection_group_name(connection_group_of(cases[i].status)),
				    cases[i].group);
	}
}

static void test_connection__every_group_named(void **state)
{
	(void)state;
	for (int g = 0; g < CONNECTION_GROUP_COUNT; g++) {
		assert_non_null(connection_group_name((enum connection_group)g));
		assert_true(strlen(connection_group_meaning((enum connection_group)g)) > 0);
		for (int h = 0; h < g; h++)
			assert_string_not_equal(connection_group_name((enum connection_group)g),
						connection_group_name((enum connection_group)h));
	}
	assert_string_equal(connection_group_name(CONNECTION_GROUP_COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connection__groups),
	    cmocka_unit_test(test_connection__every_group_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
