/*
 * test_strbuf.c: growth, formatting and trimming of struct strbuf.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"

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

/* strbuf_add_inert(): untrusted text made harmless for a terminal or a text log. */
static void test_strbuf__add_inert(void **state)
{
	static const struct {
		const char *in;
		size_t max;
		const char *want;
		size_t cut;
	} cases[] = {
	    {"", 100, "", 0},
	    {"plain text", 100, "plain text", 0},
	    {"two\nlines", 100, "two\\nlines", 0},
	    {"cr\rlf\n", 100, "cr\\rlf\\n", 0},
	    {"tab\there", 100, "tab\\there", 0},
	    {"\x1b[2J", 100, "\\x1b[2J", 0},
	    {"bell\x07 del\x7f", 100, "bell\\x07 del\\x7f", 0},
	    {"\x01\x1f", 100, "\\x01\\x1f", 0},
	    /* C1 controls: U+009B is a one-character CSI on some terminals */
	    {"\xc2\x9b"
	     "2J",
	     100,
	     "\\u009b"
	     "2J",
	     0},
	    {"\xc2\x85", 100, "\\u0085", 0},
	    {"a\xe2\x80\xa8"
	     "b\xe2\x80\xa9"
	     "c",
	     100, "a\\u2028b\\u2029c", 0},
	    {"\xe2\x80\xa6 ellipsis", 100, "\xe2\x80\xa6 ellipsis", 0},
	    /* other UTF-8 stays as it is */
	    {"Z\xc3\xbcrich \xe6\x9d\xb1", 100, "Z\xc3\xbcrich \xe6\x9d\xb1", 0},
	    {"\xc2\xa0nbsp", 100, "\xc2\xa0nbsp", 0},
	    /* a forged JSON log line cannot start a line of its own */
	    {"x\n{\"level\":\"info\"}", 100, "x\\n{\"level\":\"info\"}", 0},
	    /* cut with a marker, never inside a UTF-8 sequence */
	    {"abcdef", 3, "abc...[3 more bytes]", 3},
	    {"ab\xc3\xbc", 3, "ab...[2 more bytes]", 2},
	    {"abc", 3, "abc", 0},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf sb = STRBUF_INIT;
		size_t cut = strbuf_add_inert(&sb, cases[i].in, cases[i].max);

		if (strcmp(sb.buf, cases[i].want) || cut != cases[i].cut)
			fail_msg("case %zu: got [%s] (cut %zu), want [%s] (cut %zu)", i, sb.buf,
				 cut, cases[i].want, cases[i].cut);
		strbuf_release(&sb);
	}
}

UNIT_TEST_MAIN(cmocka_unit_test(test_strbuf__starts_empty_and_terminated),
	       cmocka_unit_test(test_strbuf__grows_across_many_appends),
	       cmocka_unit_test(test_strbuf__addf_formats_long_output),
	       cmocka_unit_test(test_strbuf__trim_and_detach),
	       cmocka_unit_test(test_strbuf__holds_nul_bytes),
	       cmocka_unit_test(test_strbuf__add_inert))
