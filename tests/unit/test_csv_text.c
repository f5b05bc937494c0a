/*
 * test_csv_text.c: the importer's text rules, one table per rule.
 */
#include "unit.h"

#include <string.h>

#include "csv/csv_text.h"
#include "base/util.h"

static void test_csv_text__encoding_names(void **state)
{
	static const struct {
		const char *name;
		int ok; /* 1: a name we read, 0: refused */
		enum csv_encoding enc;
	} cases[] = {
	    {"auto", 1, CSV_ENC_AUTO},
	    {"UTF-8", 1, CSV_ENC_UTF8},
	    {"utf8", 1, CSV_ENC_UTF8},
	    {"utf-16", 1, CSV_ENC_UTF16},
	    {"windows-1252", 1, CSV_ENC_WINDOWS_1252},
	    {"CP1252", 1, CSV_ENC_WINDOWS_1252},
	    {"iso-8859-1", 1, CSV_ENC_ISO_8859_1},
	    {"latin1", 1, CSV_ENC_ISO_8859_1},
	    {"macintosh", 1, CSV_ENC_MACINTOSH},
	    {"ebcdic", 0, CSV_ENC_AUTO},
	    {"", 0, CSV_ENC_AUTO},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum csv_encoding enc = CSV_ENC_AUTO;

		print_message("%s\n", cases[i].name);
		assert_int_equal(csv_encoding_parse(cases[i].name, &enc), cases[i].ok ? 0 : -1);
		if (cases[i].ok)
			assert_int_equal(enc, cases[i].enc);
	}
	assert_string_equal(csv_encoding_iconv_name(CSV_ENC_MACINTOSH), "MACINTOSH");
	assert_null(csv_encoding_iconv_name(CSV_ENC_UTF8));
}

static void test_csv_text__byte_order_marks(void **state)
{
	static const struct {
		const char *bytes;
		size_t len, bom;
		enum csv_encoding enc;
	} cases[] = {
	    {"\xEF\xBB\xBF"
	     "a",
	     4, 3, CSV_ENC_UTF8},
	    {"\xFF\xFE"
	     "a\0",
	     4, 2, CSV_ENC_UTF16LE},
	    {"\xFE\xFF\0a", 4, 2, CSV_ENC_UTF16BE},
	    {"\xEF\xBB", 2, 0, CSV_ENC_AUTO},
	    {"abc", 3, 0, CSV_ENC_AUTO},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		enum csv_encoding enc = CSV_ENC_AUTO;

		assert_int_equal(csv_bom(cases[i].bytes, cases[i].len, &enc), cases[i].bom);
		assert_int_equal(enc, cases[i].enc);
	}
}

static void test_csv_text__likely_8bit_encoding(void **state)
{
	static const struct {
		const char *s;
		enum csv_encoding enc;
	} cases[] = {
	    {"M\xFCller GmbH", CSV_ENC_WINDOWS_1252},		    /* ü in Windows-1252 */
	    {"Soci\xE9t\xE9 G\xE9n\xE9rale", CSV_ENC_WINDOWS_1252}, /* é */
	    {"M\x9Fller GmbH", CSV_ENC_MACINTOSH},		    /* ü in Mac OS Roman */
	    {"Soci\x8Et\x8E", CSV_ENC_MACINTOSH},		    /* é */
	    {"\x93quoted\x94", CSV_ENC_MACINTOSH},		    /* ambiguous: 0x80..0x9F only */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(csv_guess_8bit(cases[i].s, strlen(cases[i].s)), cases[i].enc);
}

static void test_csv_text__delimiters(void **state)
{
	static const struct {
		const char *line;
		char want;
	} sniff[] = {
	    {"customer_id,customer_name,products\n", ','},
	    {"customer_id;customer_name;products\r\n", ';'},
	    {"customer_id\tcustomer_name\tproducts", '\t'},
	    {"\"a,b\";c;d\n", ';'},    /* commas inside quotes do not count */
	    {"a;b\na,b,c,d,e\n", ';'}, /* only the first line counts */
	    {"customer_id\n", ','},    /* nothing to go by */
	    {"a,b;c\n", ','},	       /* a tie */
	};
	static const struct {
		const char *buf;
		size_t skip;
		char delim;
	} sep[] = {
	    {"sep=;\r\ncustomer_id", 7, ';'},
	    {"sep=,\ncustomer_id", 6, ','},
	    {"SEP=\t\n", 6, '\t'},
	    {"sep=;", 5, ';'},
	    {"sep=\nx", 0, 0},
	    {"sep=;;\n", 0, 0},
	    {"customer_id", 0, 0},
	    /* LibreOffice re-saves the line quoted, with the empty cells of the other columns */
	    {"\"sep=;\"\r\ncustomer_id", 9, ';'},
	    {"\"sep=;\"\ncustomer_id", 8, ';'},
	    {"\"SEP=,\",,\ncustomer_id", 10, ','},
	    {"\"sep=;\";;\rcustomer_id", 10, ';'},
	    {"\"sep=;\"", 7, ';'},
	    {"\"sep=;\";x\n", 0, 0},
	    {"\"sep=;\",\n", 0, 0},
	    {"\"sep=;\n", 0, 0},
	    {"\"sep=\"\n", 0, 0},
	    {"\"sep=;;\"\n", 0, 0},
	};
	static const struct {
		const char *arg;
		int ok;
		char want;
	} opt[] = {
	    {",", 1, ','},  {";", 1, ';'}, {"tab", 1, '\t'}, {"TAB", 1, '\t'},
	    {"auto", 1, 0}, {"|", 0, 0},   {"", 0, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sniff); i++)
		assert_int_equal(csv_delimiter_sniff(sniff[i].line, strlen(sniff[i].line)),
				 sniff[i].want);
	for (size_t i = 0; i < ARRAY_SIZE(sep); i++) {
		char d = 0;

		print_message("sep case %zu\n", i);
		assert_int_equal(csv_sep_line(sep[i].buf, strlen(sep[i].buf), &d), sep[i].skip);
		assert_int_equal(d, sep[i].delim);
	}
	for (size_t i = 0; i < ARRAY_SIZE(opt); i++) {
		char d = 'x';

		assert_int_equal(csv_delimiter_parse(opt[i].arg, &d), opt[i].ok ? 0 : -1);
		if (opt[i].ok)
			assert_int_equal(d, opt[i].want);
	}
}

static void test_csv_text__header_keys(void **state)
{
	static const struct {
		const char *name, *key; /* a header cell, and the key it is matched by */
	} cases[] = {
	    {"customer_id", "customer_id"},
	    {"Customer ID", "customer_id"},
	    {"  customer id  ", "customer_id"},
	    {"Customer-Id", "customer_id"},
	    {"customer_id\xC2\xA0", "customer_id"},
	    {"customer\xC2\xA0id", "customer_id"},
	    {"customer - _ id", "customer_id"},
	    {"\xEF\xBB\xBF"
	     "customer_id",
	     "customer_id"},
	    {"CUSTOMER_EMAIL", "customer_email"},
	    {"Kundennummer", "kundennummer"},
	    {"", ""},
	};
	struct strbuf key = STRBUF_INIT;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		csv_header_key(cases[i].name, strlen(cases[i].name), &key);
		assert_string_equal(key.buf, cases[i].key);
	}
	strbuf_release(&key);
}

static void test_csv_text__edit_distance(void **state)
{
	static const struct {
		const char *a, *b;
		size_t d; /* the edits that make a into b */
	} cases[] = {
	    {"customer_id", "customer_id", 0},
	    {"custmer_id", "customer_id", 1},
	    {"customerid", "customer_id", 1},
	    {"cusotmer_id", "customer_id", 2},
	    {"customer_ids", "customer_id", 1},
	    {"email", "customer_email", 9},
	    {"", "abc", 3},
	    {"abc", "", 3},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(csv_edit_distance(cases[i].a, cases[i].b), cases[i].d);
}

static void test_csv_text__excel_numbers(void **state)
{
	static const struct {
		const char *s;
		int excel;
	} cases[] = {
	    {"1.23457E+11", 1}, {"1,23457E+11", 1},  {"1E+15", 1},    {"4.5e-05", 1},
	    {"-1.2E+10", 1},	{"123456789012", 0}, {"E+11", 0},     {"1.23457E", 0},
	    {"1.23457E+", 0},	{"acme-1E+5", 0},    {"1.2.3E+4", 0}, {"1.23457E+11x", 0},
	    {"12E+3", 0}, /* Excel writes one digit before the point */
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		print_message("%s\n", cases[i].s);
		assert_int_equal(csv_excel_number(cases[i].s), cases[i].excel);
	}
}

static void test_csv_text__printable(void **state)
{
	static const struct {
		const char *s;
		size_t total, max;
		const char *want;
	} cases[] = {
	    {"M\xFCller", 0, 100, "M\\xFCller"},
	    {"Caf\xC3\xA9", 0, 100, "Caf\xC3\xA9"},
	    {"a\x01"
	     "b\tc",
	     0, 100, "a\\x01b\tc"},
	    {"\xE2\x82", 0, 100, "\\xE2\\x82"}, /* a character cut short */
	    {"abcdef", 0, 3, "abc [... 6 bytes in all]"},
	    {"abc", 70000, 100, "abc [... 70000 bytes in all]"},
	    {"ab\xC3\xA9", 0, 3, "ab\xC3\xA9"}, /* the last character may pass max */
	    {"ab\xC3\xA9", 0, 2, "ab [... 4 bytes in all]"},
	};
	struct strbuf out = STRBUF_INIT;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		strbuf_reset(&out);
		csv_printable(&out, cases[i].s, strlen(cases[i].s), cases[i].total, cases[i].max);
		assert_string_equal(out.buf, cases[i].want);
	}
	strbuf_release(&out);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_csv_text__encoding_names),
	       cmocka_unit_test(test_csv_text__byte_order_marks),
	       cmocka_unit_test(test_csv_text__likely_8bit_encoding),
	       cmocka_unit_test(test_csv_text__delimiters),
	       cmocka_unit_test(test_csv_text__header_keys),
	       cmocka_unit_test(test_csv_text__edit_distance),
	       cmocka_unit_test(test_csv_text__excel_numbers),
	       cmocka_unit_test(test_csv_text__printable))
