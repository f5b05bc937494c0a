/*
 * test_csv_import_cells.c: CSV edge cases imported into a real SQLite file
 * in a temp directory. Each case names its input bytes, what
 * csv_import_file() returns, the figures, the rows it leaves
 * ("id|name|state|error" in import order) and the exact messages it prints.
 */
#include "unit.h"

#include "csv/csv_text.h"
#include "testcsv.h"

struct import_case {
	const char *name;
	const char *in;
	size_t len;
	int ret;
	int64_t read, accepted, invalid;
	const char *rows;   /* dump() after the import */
	const char *stderr; /* exactly what was printed */
};

static const struct import_case cases[] = {
    {"bom and crlf",
     IN("\xEF\xBB\xBF"
	"customer_id,customer_name,products\r\n"
	"a,Acme,company\r\nb,Bee,directory\r\n"),
     0, 2, 2, 0, "a|Acme|pending|\nb|Bee|pending|\n", ""},
    {"last line without newline", IN(H "a,Acme,company"), 0, 1, 1, 0, "a|Acme|pending|\n", ""},
    {"quoted commas, quotes and newlines as Excel writes them",
     IN(H "a,\"Bee, \"\"The\"\" Inc\nSecond line\",company\nb,B,bogus\n"), 0, 2, 1, 1,
     "a|Bee, \"The\" Inc\nSecond line|pending|\n"
     "b|B|invalid|in.csv:4: products: unknown product 'bogus'\n",
     ""},
    {"classic mac line ends", IN("customer_id,customer_name,products\ra,A,company\rb,B,bogus\r"), 0,
     2, 1, 1, "a|A|pending|\nb|B|invalid|in.csv:3: products: unknown product 'bogus'\n", ""},
    {"crlf inside a quoted field", IN(H "a,\"x\r\ny\",company\r\nb,B,bogus\r\n"), 0, 2, 1, 1,
     "a|x\r\ny|pending|\nb|B|invalid|in.csv:4: products: unknown product 'bogus'\n", ""},
    /* line ends: "\r\n", "\n" and a lone "\r" end one line each, in any mix */
    {"cr-only file with a lf inside quotes: no row lost",
     IN("customer_id,customer_name,products\ra1,\"x\ny\",company\ra1,B,company\r"), 0, 2, 1, 1,
     "a1|x\ny|pending|\na1|B|invalid|in.csv:4: customer_id: duplicate of line 2\n", ""},
    {"cr inside quotes in a lf file", IN(H "a1,\"x\ry\",company\na1,B,company\n"), 0, 2, 1, 1,
     "a1|x\ry|pending|\na1|B|invalid|in.csv:4: customer_id: duplicate of line 2\n", ""},
    {"mixed crlf, lf and cr",
     IN("customer_id,customer_name,products\r\na,A,company\nb,B,company\rc,C,bogus\r\n"
	"d,D,bogus\n"),
     0, 4, 2, 2,
     "a|A|pending|\nb|B|pending|\nc|C|invalid|in.csv:4: products: unknown product 'bogus'\n"
     "d|D|invalid|in.csv:5: products: unknown product 'bogus'\n",
     ""},
    {"lf cr is two lines, cr lf one", IN(H "a,A,company\n\rb,B,bogus\r\n\r\nc,C,bogus\n"), 0, 3, 1,
     2,
     "a|A|pending|\nb|B|invalid|in.csv:4: products: unknown product 'bogus'\n"
     "c|C|invalid|in.csv:6: products: unknown product 'bogus'\n",
     ""},
    {"every line end inside one quoted field", IN(H "a,\"1\r\n2\n3\r4\n\r5\",company\nb,B,bogus\n"),
     0, 2, 1, 1,
     "a|1\r\n2\n3\r4\n\r5|pending|\nb|B|invalid|in.csv:8: products: unknown product 'bogus'\n", ""},
    {"duplicates in a cr-only file with quoted crlf",
     IN("customer_id,customer_name,products\ra,\"x\r\ny\",company\ra,B,company\ra,C,company\r"), 0,
     3, 1, 2,
     "a|x\r\ny|pending|\na|B|invalid|in.csv:4: customer_id: duplicate of line 2\n"
     "a|C|invalid|in.csv:5: customer_id: duplicate of line 2\n",
     ""},
    {"blank lines are skipped and counted as lines",
     IN("\n\r\n" H "\na,A,company\n   \n,,\nb,B,bogus\n"), 0, 2, 1, 1,
     "a|A|pending|\nb|B|invalid|in.csv:8: products: unknown product 'bogus'\n", ""},
    {"cells are trimmed, quoted or not", IN(H "  a  ,\"  A  \",\tcompany \n"), 0, 1, 1, 0,
     "a|A|pending|\n", ""},
    /* white space inside products separates them: Excel's Alt+Enter, CR, tab, NBSP */
    {"products split by any white space",
     IN(H "a1,A,\"company\ndirectory\"\na2,B,\"company\r\nssn\"\na3,C,company\tdirectory\n"
	  "a4,D,company\xC2\xA0"
	  "directory\na5,E,\"company\n\nbogus\"\n"),
     0, 5, 4, 1,
     "a1|A|pending|\na2|B|pending|\na3|C|pending|\na4|D|pending|\n"
     "a5|E|invalid|in.csv:8: products: unknown product 'bogus'\n",
     ""},
    {"quoted sep= line as LibreOffice writes it",
     IN("\"sep=;\"\r\ncustomer_id;customer_name;products\r\na;A, Inc;company\r\nb;B;bogus\r\n"), 0,
     2, 1, 1, "a|A, Inc|pending|\nb|B|invalid|in.csv:4: products: unknown product 'bogus'\n", ""},
    {"ids differing only by zero-width characters are duplicates",
     IN(H "a8,A,company\n\xE2\x80\x8B"
	  "a8\xE2\x80\x8B,B,company\n\xE2\x81\xA0\xEF\xBB\xBF"
	  "a8\xE2\x80\x8C\xE2\x80\x8D,C,company\n"),
     0, 3, 1, 2,
     "a8|A|pending|\na8|B|invalid|in.csv:3: customer_id: duplicate of line 2\n"
     "a8|C|invalid|in.csv:4: customer_id: duplicate of line 2\n",
     ""},
    {"fewer cells is an invalid row", IN(H "a,A\n"), 0, 1, 0, 1,
     "a|A|invalid|in.csv:2: row: 2 cells, but the header has 3\n", ""},
    {"more cells is an invalid row", IN(H "a,A,company,extra\n"), 0, 1, 0, 1,
     "a|A|invalid|in.csv:2: row: 4 cells, but the header has 3\n", ""},
    {"duplicate id within the file", IN(H "a,A,company\nb,B,company\na,A2,directory\n"), 0, 3, 2, 1,
     "a|A|pending|\nb|B|pending|\na|A2|invalid|in.csv:4: customer_id: duplicate of line 2\n", ""},
    {"duplicate of an invalid row", IN(H "a,A,bogus\na,A,company\n"), 0, 2, 0, 2,
     "a|A|invalid|in.csv:2: products: unknown product 'bogus'\n"
     "a|A|invalid|in.csv:3: customer_id: duplicate of line 2\n",
     ""},
    {"empty id", IN(H ",A,company\nb,B,company\n"), 0, 2, 1, 1,
     "|A|invalid|in.csv:2: customer_id: is empty\nb|B|pending|\n", ""},
    {"invalid utf-8 in a row", IN(H "a,A\xff,company\n\xff,B,company\nc,C,company\n"), 0, 3, 1, 2,
     "a|A\\xFF|invalid|in.csv:2: customer_name:" W1252 "\n"
     "\\xFF|B|invalid|in.csv:3: customer_id:" W1252 "\nc|C|pending|\n",
     ""},
    {"multibyte characters",
     IN(H "m\xC3\xBCller-1,M\xC3\xBCller GmbH \xE2\x82\xAC \xF0\x9D\x84\x9E,company\n"), 0, 1, 1, 0,
     "m\xC3\xBCller-1|M\xC3\xBCller GmbH \xE2\x82\xAC \xF0\x9D\x84\x9E|pending|\n", ""},
    {"columns in any order, any case, unknown ones warned",
     IN(" Products ,CUSTOMER_NAME,Region,customer_id\ncompany,A,EU,a\n"), 0, 1, 1, 0,
     "a|A|pending|\n", "finch-onboard: warning: in.csv:1: unknown column 'Region' is ignored\n"},
    {"header only", IN(H), 0, 0, 0, 0, "", ""},
    {"empty file", IN(""), -1, 0, 0, 0, "", FATAL(": is empty: no header line")},
    {"bom only", IN("\xEF\xBB\xBF"), -1, 0, 0, 0, "", FATAL(": is empty: no header line")},
    {"blank lines only", IN("\n\r\n\n"), -1, 0, 0, 0, "", FATAL(": is empty: no header line")},
    {"nul byte", IN(H "a,A,company\nb,B\0,company\n"), -1, 0, 0, 0, "",
     FATAL(":3: contains a NUL byte")},
    {"unterminated quote", IN(H "a,A,company\nb,\"B,company\nc,C,company\n"), -1, 0, 0, 0, "",
     FATAL(":3: unterminated quoted field")},
    {"invalid utf-8 in the header", IN("customer_id,customer_name,pro\xffucts\na,A,company\n"), -1,
     0, 0, 0, "",
     FATAL(":1: the header is not valid UTF-8 (column 3; it looks like Windows-1252: use "
	   "--encoding windows-1252)")},
    {"duplicate header names", IN("customer_id,Customer_Name , customer_name,products\n"), -1, 0, 0,
     0, "", FATAL(":1: column 'customer_name' appears twice (columns 2 and 3)")},
    {"missing customer_id", IN("customer_name,products\nA,company\n"), -1, 0, 0, 0, "",
     FATAL(":1: the header has no 'customer_id' column (read with delimiter ',')")},
    {"missing customer_name", IN("customer_id,products\na,company\n"), -1, 0, 0, 0, "",
     FATAL(":1: the header has no 'customer_name' column (read with delimiter ',')")},
    {"missing products", IN("customer_id,customer_name\na,A\n"), -1, 0, 0, 0, "",
     FATAL(
	 ":1: the header has no 'products' column (read with delimiter ','; or give --products)")},
};

static void test_csv_import_cells__edge_cases(void **state)
{
	struct fixture *f = *state;
	struct strbuf rows = STRBUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct import_case *c = &cases[i];
		int ret;

		print_message("case: %s\n", c->name);
		ret = import_bytes(f, c->in, c->len, NULL);
		assert_int_equal(ret, c->ret);
		assert_string_equal(f->err.buf, c->stderr);
		dump(f, &rows);
		assert_string_equal(rows.buf, c->rows);
		if (!ret) {
			assert_int_equal(f->stats.rows_read, c->read);
			assert_int_equal(f->stats.accepted, c->accepted);
			assert_int_equal(f->stats.invalid, c->invalid);
			assert_query_int(f->db, "SELECT count(*) FROM imports", 1);
		} else {
			/* refused: not even the import is recorded */
			assert_query_int(f->db, "SELECT count(*) FROM imports", 0);
		}
		assert_int_equal(store_in_transaction(f->st), 0);
		fresh_db(f); /* for the next case */
	}
	strbuf_release(&rows);
}

/*
 * A row alone cannot tell Windows-1252 from Mac OS Roman (Windows' “ ” – €
 * are Mac's ì î ñ Ä, Mac's “ ” – are Windows' Ò Ó Ð): no row's reason names
 * the encoding the summary does not; the summary goes by the whole file.
 */
static void test_csv_import_cells__row_encoding_never_contradicts_the_file(void **state)
{
	static const struct {
		const char *in;
		enum csv_encoding want;
	} files[] = {
	    {H "a1,\x93"
	       "Acme\x94 \x96 \x80"
	       "5,company\na2,Caf\xE9,company\na3,M\xFCller,company\n",
	     CSV_ENC_WINDOWS_1252},
	    {H "a1,\xD2"
	       "Acme\xD3 \xD0 5,company\na2,Caf\x8E,company\na3,M\x9F"
	       "ller,company\n",
	     CSV_ENC_MACINTOSH},
	};
	struct fixture *f = *state;
	struct strbuf rows = STRBUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		char want[512];

		print_message("case %zu\n", i);
		assert_int_equal(import_bytes(f, files[i].in, strlen(files[i].in), NULL), 0);
		assert_int_equal(f->stats.not_utf8, 3);
		assert_int_equal(f->stats.likely_encoding, files[i].want);
		assert_query_int(f->db,
				 "SELECT count(DISTINCT substr(error, 10)) FROM "
				 "customers",
				 1);
		dump(f, &rows);
		snprintf(want, sizeof(want), "in.csv:2: customer_name: %s\n", CSV_NOT_UTF8_WHY);
		assert_contains(rows.buf, want);
		fresh_db(f); /* for the next case */
	}
	strbuf_release(&rows);
}

/* customer_id and customer_name hold 255 characters, not bytes. */
static void test_csv_import_cells__255_vs_256_characters(void **state)
{
	struct fixture *f = *state;
	struct strbuf in = STRBUF_INIT, rows = STRBUF_INIT, expect = STRBUF_INIT;

	strbuf_addstr(&in, H "ok,");
	for (int i = 0; i < 255; i++)
		strbuf_addstr(&in, "\xC3\xA9"); /* é: 2 bytes */
	strbuf_addstr(&in, ",company\nlong,");
	for (int i = 0; i < 256; i++)
		strbuf_addstr(&in, "\xC3\xA9");
	strbuf_addstr(&in, ",company\n");
	for (int i = 0; i < 255; i++)
		strbuf_addstr(&in, "\xE2\x82\xAC"); /* €: 3 bytes, as the id */
	strbuf_addstr(&in, ",Euro,company\n");
	for (int i = 0; i < 256; i++)
		strbuf_addch(&in, 'x');
	strbuf_addstr(&in, ",X,company\n");

	assert_int_equal(import_bytes(f, in.buf, in.len, NULL), 0);
	assert_int_equal(f->stats.rows_read, 4);
	assert_int_equal(f->stats.accepted, 2);
	assert_int_equal(f->stats.invalid, 2);
	assert_query_int(f->db,
			 "SELECT length(customer_name) FROM customers "
			 "WHERE customer_id = 'ok' AND state = 'pending'",
			 255);
	assert_query_int(f->db,
			 "SELECT length(customer_id) FROM customers "
			 "WHERE customer_name = 'Euro' AND state = 'pending'",
			 255);
	dump(f, &rows);
	assert_contains(rows.buf, "|invalid|in.csv:3: customer_name: is longer than 255 "
				  "characters (256)\n");
	assert_contains(rows.buf, "|X|invalid|in.csv:5: customer_id: is longer than 255 "
				  "characters (256)\n");
	strbuf_release(&in);
	strbuf_release(&rows);
	strbuf_release(&expect);
}

/* The defaults fill empty cells only; a cell of its own wins. */
static void test_csv_import_cells__defaults_fill_empty_cells(void **state)
{
	struct fixture *f = *state;
	struct import_options o = {.max_reasons = 0};
	char why[VALIDATE_WHY_MAX];

	assert_int_equal(parse_products("directory", &o.defaults.products, why, sizeof(why)), 0);
	o.defaults.redirect_uri = "https://default.example/cb";
	o.defaults.minutes_to_expire = 30;
	o.defaults.sandbox = "provider";
	assert_int_equal(import_bytes(f,
				      IN("customer_id,customer_name,products,sandbox,"
					 "minutes_to_expire,redirect_uri\n"
					 "a,A,,,,\n"
					 "b,B,company;payment,finch,60,https://own.example/\n"),
				      &o),
			 0);
	assert_int_equal(f->stats.accepted, 2);
	assert_query_int(f->db,
			 "SELECT count(*) FROM customers WHERE customer_id = 'a' AND "
			 "products = 'directory' AND sandbox = 'provider' AND "
			 "minutes_to_expire = 30 AND "
			 "redirect_uri = 'https://default.example/cb'",
			 1);
	assert_query_int(f->db,
			 "SELECT count(*) FROM customers WHERE customer_id = 'b' AND "
			 "products = 'company payment' AND sandbox = 'finch' AND "
			 "minutes_to_expire = 60 AND redirect_uri = 'https://own.example/'",
			 1);
}

/* Every rule of validate.h reaches the row's reason under the CSV's column name. */
static void test_csv_import_cells__reasons_name_the_column(void **state)
{
	struct fixture *f = *state;
	struct strbuf rows = STRBUF_INIT;

	assert_int_equal(
	    import_bytes(f,
			 IN("customer_id,customer_name,customer_email,products,minutes_to_expire,"
			    "sandbox,manual,integration_provider,integration_auth_method\n"
			    "a,A,not-an-email,company,,,,,\n"
			    "b,B,,deduction benefits,,,,,\n"
			    "c,C,,company,200000,,,,\n"
			    "d,D,,company,,cloud,,,\n"
			    "e,E,,company,,,maybe,,\n"
			    "f,F,,company,,,,,oauth\n"
			    "g,G,hr@g.example,company|directory,60,finch,YES,gusto,credential\n"),
			 NULL),
	    0);
	assert_int_equal(f->stats.invalid, 6);
	assert_int_equal(f->stats.accepted, 1);
	dump(f, &rows);
	assert_string_equal(
	    rows.buf,
	    "a|A|invalid|in.csv:2: customer_email: is not an email address (needs exactly one "
	    "'@')\n"
	    "b|B|invalid|in.csv:3: products: cannot combine 'deduction' with 'benefits'\n"
	    "c|C|invalid|in.csv:4: minutes_to_expire: must be between 1 and 129600\n"
	    "d|D|invalid|in.csv:5: sandbox: must be 'finch' or 'provider'\n"
	    "e|E|invalid|in.csv:6: manual: must be true, false, 1, 0, yes or no\n"
	    "f|F|invalid|in.csv:7: integration_auth_method: requires an integration provider\n"
	    "g|G|pending|\n");
	strbuf_release(&rows);
}

/* Without a products column the file is refused, unless --products gives them. */
static void test_csv_import_cells__products_column_may_be_missing_with_a_default(void **state)
{
	struct fixture *f = *state;
	struct import_options o = {.max_reasons = 0};

	o.defaults.products = PRODUCT_COMPANY | PRODUCT_PAYMENT;
	assert_int_equal(import_bytes(f, IN("customer_id,customer_name\na,A\nb,B\n"), &o), 0);
	assert_string_equal(f->err.buf, "");
	assert_int_equal(f->stats.accepted, 2);
	assert_query_int(f->db,
			 "SELECT count(*) FROM customers WHERE state = 'pending' AND "
			 "products = 'company payment'",
			 2);
}

/* 255 ASCII characters fit in customer_id and customer_name; 256 do not. */
static void test_csv_import_cells__ascii_255_fits(void **state)
{
	struct fixture *f = *state;
	struct strbuf in = STRBUF_INIT, s255 = STRBUF_INIT;

	for (int i = 0; i < 255; i++)
		strbuf_addch(&s255, 'a' + i % 26);
	strbuf_addf(&in, H "%s,%s,company\nb,%sz,company\n", s255.buf, s255.buf, s255.buf);
	assert_int_equal(import_bytes(f, in.buf, in.len, NULL), 0);
	assert_int_equal(f->stats.accepted, 1);
	assert_int_equal(f->stats.invalid, 1);
	assert_query_int(f->db,
			 "SELECT length(customer_id) + length(customer_name) FROM "
			 "customers WHERE state = 'pending'",
			 510);
	assert_query_int(f->db,
			 "SELECT count(*) FROM customers WHERE customer_id = 'b' AND "
			 "error = 'in.csv:3: customer_name: is longer than 255 "
			 "characters (256)'",
			 1);
	strbuf_release(&in);
	strbuf_release(&s255);
}

/*
 * A row is checked for UTF-8 a word at a time: one bad byte is found
 * wherever it sits, in a whole word or in the bytes after the last one.
 */
static void test_csv_import_cells__one_bad_byte_anywhere_in_a_long_row(void **state)
{
	struct fixture *f = *state;
	static const char *const rows[] = {
	    /* the row's cells buffer is "id\0name\0company\0" */
	    H "a1,\xff"
	      "bcdefghijklmnopqrstuvwxyz,company\n",
	    H "a2,abcdefghijklmnopqrstuvwxy\xff,company\n",
	    H "a3,abcdefghijklmnopqrstuvwxyz,compan\xff\n",
	    H "a4,abcdefghijklmnopqrstuvwxyz,company,x\xff\n",
	};
	static const char *const want[] = {
	    "in.csv:2: customer_name: is not valid UTF-8 (looks like Windows-1252 or Mac OS Roman%",
	    "in.csv:2: customer_name: is not valid UTF-8 (looks like Windows-1252 or Mac OS Roman%",
	    "in.csv:2: products: is not valid UTF-8 (looks like Windows-1252 or Mac OS Roman%",
	    "in.csv:2: row: 4 cells, but the header has 3",
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char sql[160];

		print_message("row %zu\n", i);
		assert_int_equal(import_bytes(f, rows[i], strlen(rows[i]), NULL), 0);
		assert_int_equal(f->stats.invalid, 1);
		snprintf(
		    sql, sizeof(sql),
		    "SELECT count(*) FROM customers WHERE customer_id = 'a%zu' AND error LIKE '%s'",
		    i + 1, want[i]);
		assert_query_int(f->db, sql, 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    WITH_CSV(test_csv_import_cells__row_encoding_never_contradicts_the_file),
	    WITH_CSV(test_csv_import_cells__edge_cases),
	    WITH_CSV(test_csv_import_cells__255_vs_256_characters),
	    WITH_CSV(test_csv_import_cells__defaults_fill_empty_cells),
	    WITH_CSV(test_csv_import_cells__reasons_name_the_column),
	    WITH_CSV(test_csv_import_cells__products_column_may_be_missing_with_a_default),
	    WITH_CSV(test_csv_import_cells__ascii_255_fits),
	    WITH_CSV(test_csv_import_cells__one_bad_byte_anywhere_in_a_long_row),
	};

	util_set_progname("finch-onboard");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
