/*
 * test_strbuf.c: growth, formatting and trimming of struct strbuf.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

static void test_strbuf__starts_empty_and_terminated(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.buf, "");
	strbuf_release(&sb);
	assert_string_equal(sb.buf, "");
}

static void test_strbuf__grows_across_many_appends(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	for (int i = 0; i < 10000; i++)
		strbuf_addch(&sb, 'a' + i % 26);
	assert_int_equal(sb.len, 10000);
	assert_int_equal(sb.buf[10000], '\0');
	assert_int_equal(sb.buf[9999], 'a' + 9999 % 26);
	strbuf_release(&sb);
}

static void test_strbuf__addf_formats_long_output(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	char big[3000];

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	strbuf_addf(&sb, "%d-%s", 42, "a");
	assert_string_equal(sb.buf, "42-a");
	strbuf_addf(&sb, "[%s]", big);
	assert_int_equal(sb.len, 4 + 2 + 2999);
	assert_int_equal(sb.buf[5 + 2999], ']');
	strbuf_release(&sb);
}

static void test_strbuf__trim_and_detach(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"", ""}, {"   ", ""}, {" a ", "a"}, {"\t a b \r\n", "a b"}, {"ab", "ab"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf sb = STRBUF_INIT;
		size_t len;
		char *s;

		strbuf_addstr(&sb, cases[i].in);
		strbuf_trim(&sb);
		assert_string_equal(sb.buf, cases[i].out);
		s = strbuf_detach(&sb, &len);
		assert_int_equal(len, strlen(cases[i].out));
		assert_string_equal(s, cases[i].out);
		assert_string_equal(sb.buf, "");
		free(s);
	}
}

static void test_strbuf__holds_nul_bytes(void **state)
{
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	strbuf_add(&sb, "a\0b", 3);
	assert_int_equal(sb.len, 3);
	assert_memory_equal(sb.buf, "a\0b", 4);
	strbuf_reset(&sb);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.buf, "");
	strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strbuf__starts_empty_and_terminated),
	    cmocka_unit_test(test_strbuf__grows_across_many_appends),
	    cmocka_unit_test(test_strbuf__addf_formats_long_output),
	    cmocka_unit_test(test_strbuf__trim_and_detach),
	    cmocka_unit_test(test_strbuf__holds_nul_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
