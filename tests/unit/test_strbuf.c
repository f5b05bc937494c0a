/*
 * test_strbuf.c: growth, formatting and trimming of struct strbuf.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xalloc.h"

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

/* Fails unless strbuf_add_inert(in, max) gives want and says it cut that many bytes. */
static void check_inert(const char *in, size_t max, const char *want, size_t want_cut, size_t i)
{
	struct strbuf sb = STRBUF_INIT;
	size_t cut = strbuf_add_inert(&sb, in, max);

	if (strcmp(sb.buf, want) || cut != want_cut)
		fail_msg("case %zu: got [%s] (cut %zu), want [%s] (cut %zu)", i, sb.buf, cut, want,
			 want_cut);
	strbuf_release(&sb);
}

/* strbuf_add_inert(): untrusted text made harmless for a terminal or a text log. */
static void test_strbuf__add_inert(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"", ""},
	    {"plain text", "plain text"},
	    {"two\nlines", "two\\nlines"},
	    {"cr\rlf\n", "cr\\rlf\\n"},
	    {"tab\there", "tab\\there"},
	    {"\x1b[2J", "\\x1b[2J"},
	    {"bell\x07 del\x7f", "bell\\x07 del\\x7f"},
	    {"\x01\x1f", "\\x01\\x1f"},
	    /* C1 controls: U+009B is a one-character CSI on some terminals */
	    {"\xc2\x9b"
	     "2J",
	     "\\u009b"
	     "2J"},
	    {"\xc2\x85", "\\u0085"},
	    {"a\xe2\x80\xa8"
	     "b\xe2\x80\xa9"
	     "c",
	     "a\\u2028b\\u2029c"},
	    {"\xe2\x80\xa6 ellipsis", "\xe2\x80\xa6 ellipsis"},
	    /* other UTF-8 stays as it is */
	    {"Z\xc3\xbcrich \xe6\x9d\xb1", "Z\xc3\xbcrich \xe6\x9d\xb1"},
	    {"\xc2\xa0nbsp", "\xc2\xa0nbsp"},
	    /* a forged JSON log line cannot start a line of its own */
	    {"x\n{\"level\":\"info\"}", "x\\n{\"level\":\"info\"}"},
	};
	/* cut at 3 bytes, with a marker, never inside a UTF-8 sequence */
	static const struct {
		const char *in, *want;
		size_t cut;
	} cuts[] = {
	    {"abcdef", "abc...[3 more bytes]", 3},
	    {"ab\xc3\xbc", "ab...[2 more bytes]", 2},
	    {"abc", "abc", 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_inert(cases[i].in, 100, cases[i].want, 0, i);
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++)
		check_inert(cuts[i].in, 3, cuts[i].want, cuts[i].cut, ARRAY_SIZE(cases) + i);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_strbuf__starts_empty_and_terminated),
	       cmocka_unit_test(test_strbuf__grows_across_many_appends),
	       cmocka_unit_test(test_strbuf__addf_formats_long_output),
	       cmocka_unit_test(test_strbuf__trim_and_detach),
	       cmocka_unit_test(test_strbuf__holds_nul_bytes),
	       cmocka_unit_test(test_strbuf__add_inert))
