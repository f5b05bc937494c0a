/*
 * test_utf8.c: the UTF-8 facts of base/utf8.c: character counts of valid and
 * invalid byte strings, which characters count as white space, and the NFC
 * form customer ids are compared in.
 */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "base/utf8.h"

static void test_utf8__count(void **state)
{
	static const struct {
		const char *s;
		size_t len; /* bytes of s read */
		long want;  /* characters, or -1: not UTF-8 */
	} cases[] = {
	    {"", 0, 0},
	    {"abc", 3, 3},
	    {"\xc3\xa9", 2, 1},		/* é */
	    {"\xe2\x82\xac", 3, 1},	/* € */
	    {"\xf0\x9f\x90\xa6", 4, 1}, /* 🐦 */
	    {"a\xc3\xa9z", 4, 3},
	    {"\xf4\x8f\xbf\xbf", 4, 1},	 /* U+10FFFF, the last code point */
	    {"\xed\x9f\xbf", 3, 1},	 /* U+D7FF, just below the surrogates */
	    {"\xee\x80\x80", 3, 1},	 /* U+E000, just above them */
	    {"a\0b", 3, 3},		 /* NUL is a character here */
	    {"\xc3", 1, -1},		 /* truncated */
	    {"\xe2\x82", 2, -1},	 /* truncated */
	    {"\xc3\xa9\xc3", 3, -1},	 /* truncated at the end */
	    {"\x80", 1, -1},		 /* lone continuation */
	    {"\xc0\xaf", 2, -1},	 /* overlong '/' */
	    {"\xc1\xbf", 2, -1},	 /* overlong */
	    {"\xe0\x80\xaf", 3, -1},	 /* overlong, 3 bytes */
	    {"\xf0\x80\x80\xaf", 4, -1}, /* overlong, 4 bytes */
	    {"\xed\xa0\x80", 3, -1},	 /* U+D800, a surrogate */
	    {"\xed\xbf\xbf", 3, -1},	 /* U+DFFF */
	    {"\xf4\x90\x80\x80", 4, -1}, /* U+110000 */
	    {"\xf5\x80\x80\x80", 4, -1}, /* lead byte above F4 */
	    {"\xff", 1, -1},
	    {"\xc3\x28", 2, -1}, /* bad continuation */
	    {"\xe2\x28\xa1", 3, -1},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		long got = utf8_count(cases[i].s, cases[i].len);
		if (got != cases[i].want)
			fail_msg("case %zu: utf8_count = %ld, want %ld", i, got, cases[i].want);
	}
}

static void test_utf8__space_prefix_suffix(void **state)
{
	static const struct {
		const char *s;
		size_t prefix, suffix;
	} cases[] = {
	    {"abc", 0, 0},
	    {" \tabc\r\n", 2, 2},
	    {"\xC2\xA0"
	     "abc\xC2\xA0",
	     2, 2}, /* U+00A0 no-break space */
	    {"\xE2\x80\xAF"
	     "abc\xE3\x80\x80",
	     3, 3}, /* U+202F, U+3000 */
	    {"\xEF\xBB\xBF"
	     "abc",
	     3, 0},		   /* a stray BOM */
	    {"caf\xC3\xA9", 0, 0}, /* é is no space */
	    {"\xC2\xA3"
	     "5",
	     0, 0}, /* nor is £ */
	    /* zero-width characters are trimmed too: U+200B U+200C U+200D U+2060 U+FEFF */
	    {"\xE2\x80\x8B"
	     "a8\xE2\x80\x8B",
	     3, 3},
	    {"\xE2\x80\x8C\xE2\x80\x8D"
	     "a\xE2\x81\xA0\xEF\xBB\xBF",
	     6, 6},
	    {"\xE2\x80\x8E"
	     "a\xE2\x80\x8A",
	     0, 3}, /* U+200E is a mark, not space; U+200A hair space is */
	    {"\xE2\x81\xA1"
	     "a",
	     0, 0},			 /* U+2061 function application is not */
	    {"\xC2\xA0 \xC2\xA0", 5, 5}, /* all space */
	    {"\xA0"
	     "abc\xA0",
	     0, 0}, /* not UTF-8: left alone */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		size_t len = strlen(cases[i].s);

		print_message("case %zu\n", i);
		assert_int_equal(utf8_space_prefix(cases[i].s, len), cases[i].prefix);
		assert_int_equal(utf8_space_suffix(cases[i].s, len), cases[i].suffix);
	}
}

static void test_utf8__space_to_ascii(void **state)
{
	char s[] = "company\xC2\xA0"
		   "directory\xE2\x80\xAF"
		   "payment";

	(void)state;
	utf8_space_to_ascii(s, strlen(s));
	assert_string_equal(s, "company  directory   payment");
}

/* Unicode NFC (UAX #15) of the spellings one id takes in exports, and what is not UTF-8. */
static void test_utf8__nfc(void **state)
{
	static const struct {
		const char *in, *want; /* want NULL: not UTF-8 */
	} cases[] = {
	    {"acme-001", "acme-001"},
	    {"", ""},
	    /* u + U+0308 COMBINING DIAERESIS (macOS, a PDF) is U+00FC (Windows, a web form) */
	    {"mu\xcc\x88ller-001", "m\xc3\xbcller-001"},
	    {"m\xc3\xbcller-001", "m\xc3\xbcller-001"},
	    /* U+212B ANGSTROM SIGN is a singleton: always U+00C5 */
	    {"\xe2\x84\xab-7", "\xc3\x85-7"},
	    {"A\xcc\x8a-7", "\xc3\x85-7"},
	    /* combining marks reordered (cedilla class 202 before acute 230), then composed */
	    {"c\xcc\x81\xcc\xa7", "\xe1\xb8\x89"},
	    /* Hangul jamo L V T compose to one syllable, U+D55C */
	    {"\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", "\xed\x95\x9c"},
	    /* compatibility characters stay: NFC is not NFKC (U+FB01 LATIN SMALL LIGATURE FI) */
	    {"\xef\xac\x81rm", "\xef\xac\x81rm"},
	    /* composition exclusions stay decomposed: U+0958 is U+0915 U+093C in NFC */
	    {"\xe0\xa5\x98", "\xe0\xa4\x95\xe0\xa4\xbc"},
	    {"m\xfcller", NULL},
	    {"\xed\xa0\x80", NULL},
	    {"a\xc0\xaf", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = utf8_nfc(cases[i].in);

		if (!cases[i].want && got)
			fail_msg("case %zu: utf8_nfc = '%s', want NULL", i, got);
		if (cases[i].want && (!got || strcmp(got, cases[i].want) != 0))
			fail_msg("case %zu: utf8_nfc = '%s', want '%s'", i, got ? got : "(null)",
				 cases[i].want);
		free(got);
	}
}

UNIT_TEST_MAIN(cmocka_unit_test(test_utf8__count), cmocka_unit_test(test_utf8__space_prefix_suffix),
	       cmocka_unit_test(test_utf8__space_to_ascii), cmocka_unit_test(test_utf8__nfc))
