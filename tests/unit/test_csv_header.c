/*
 * test_csv_header.c: which cell of a header is which column (csv_header.h):
 * --column mappings, the safe synonyms, --ignore-column, --keep-column,
 * and every missing column at once with the file's own headers that may be
 * it. Each case is a header line, the options, the cell each of
 * customer_id, customer_name and customer_email resolves to, and the exact
 * messages.
 */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "csv/csv_header.h"

#define MAX_OPTS 4
#define W	 "finch-onboard: warning: f.csv:1: "
#define E	 "finch-onboard: error: f.csv:1: "

static const struct header_case {
	const char *name;
	const char *header; /* cells separated by '|' */
	const char *map[MAX_OPTS], *ignore[MAX_OPTS], *keep[MAX_OPTS];
	int ret;
	int cell[3]; /* of customer_id, customer_name, customer_email (-1: none), when ret is 0 */
	const char *err; /* the messages (NULL: none) */
} cases[] = {
    {"plain names", "customer_id|customer_name|products", .cell = {0, 1, -1}},
    {"a mapping, matched like a header name",
     "Account Owner|Account Name|Account ID|HR Contact Email|Finch Products",
     .map = {"customer_id=account-id", "customer_name=Account Name",
	     "customer_email=HR Contact Email", "products=Finch Products"},
     .keep = {"Account Owner"}, .cell = {2, 1, 3}},
    {"the synonyms, each said", "Customer ID|Company Name|E-mail|Products", .cell = {0, 1, 2},
     .err =
	 W "column 'Company Name' is read as customer_name (a synonym; --column "
	   "customer_name='Company Name' says so explicitly)\n" W
	   "column 'E-mail' is read as customer_email (a synonym; --column customer_email='E-mail' "
	   "says so explicitly)\n"},
    {"Email Address and Company", "id|Company|Email Address|products", .map = {"customer_id=id"},
     .cell = {0, 1, 2},
     .err =
	 W "column 'Company' is read as customer_name (a synonym; --column customer_name='Company' "
	   "says so explicitly)\n" W "column 'Email Address' is read as customer_email (a synonym; "
	   "--column customer_email='Email Address' says so explicitly)\n"},
    {"two synonyms for one field are a column twice",
     "customer_id|customer_name|Email|E-mail|products", .ret = -1,
     .err =
	 W "column 'Email' is read as customer_email (a synonym; --column customer_email='Email' "
	   "says so explicitly)\n" E "column 'customer_email' appears twice (columns 3 and 4); "
	   "nothing was imported\n"},
    {"and so is one synonym twice", "customer_id|customer_name|Email|Email|products", .ret = -1,
     .err =
	 W "column 'Email' is read as customer_email (a synonym; --column customer_email='Email' "
	   "says so explicitly)\n" E "column 'customer_email' appears twice (columns 3 and 4); "
	   "nothing was imported\n"},
    {"no synonym when the column is there",
     "customer_id|customer_name|customer_email|Email|products", .cell = {0, 1, 2},
     .err = W "unknown column 'Email' is ignored\n"},
    {"an id is never guessed", "ID|Name|products", .ret = -1,
     .err = W
     "unknown columns 'ID', 'Name' are ignored\n" E
     "the header has no 'customer_id' column (read with delimiter ','; the file has 'ID': use "
     "--column customer_id=HEADER)\n" E "the header has no 'customer_name' column (read with "
     "delimiter ','; the file has 'Name': use --column "
     "customer_name=HEADER); nothing was imported\n"},
    {"every missing column at once, with the file's headers",
     "Record ID|Account ID|Company name|Company Domain Name|Owner", .ret = -1,
     .err = W
     "column 'Company name' is read as customer_name (a synonym; --column "
     "customer_name='Company name' says so explicitly)\n" W
     "unknown columns 'Record ID', 'Account ID', 'Company Domain Name', 'Owner' are ignored\n" E
     "the header has no 'customer_id' column (read with delimiter ','; the file has 'Record "
     "ID', 'Account ID': use --column customer_id=HEADER)\n" E
     "the header has no 'products' column (read with delimiter ','; or give --products); "
     "nothing was imported\n"},
    {"expected columns are not warned of, the others in one line",
     "customer_id|customer_name|products|Notes|Region|Tier|custmer_email", .ignore = {"notes"},
     .keep = {"Region"}, .cell = {0, 1, -1},
     .err = W
     "unknown columns 'Tier', 'custmer_email' are ignored (did you mean 'customer_email'?)\n"},
    {"a mapped header that is not there", "customer_name|Acount ID|products",
     .map = {"customer_id=Account ID"}, .ret = -1,
     .err =
	 E "--column customer_id='Account ID': the header has no such column (did you mean 'Acount "
	   "ID'?); nothing was imported\n"},
    {"two sources for one field", "customer_id|customer_name|customer_email|Email|products",
     .map = {"customer_email=Email"}, .ret = -1,
     .err =
	 E "two sources for customer_email: its own column 3 and --column customer_email='Email' "
	   "(column 4); drop one; nothing was imported\n"},
    {"a mapping to its own name is no second source", "customer_id|customer_name|products",
     .map = {"customer_id=Customer ID"}, .cell = {0, 1, -1}},
    {"two fields, one header", "a|customer_name|products",
     .map = {"customer_id=a", "customer_email=a"}, .ret = -1,
     .err =
	 E "--column customer_id and --column customer_email both name column 1 ('a'); nothing was "
	   "imported\n"},
    {"a kept header that is not there", "customer_id|customer_name|products",
     .keep = {"Account Owner"}, .ret = -1,
     .err =
	 E "--keep-column 'Account Owner': the header has no such column; nothing was imported\n"},
    {"an unknown name is quoted by its first 24 bytes only",
     "customer_id|customer_name|products|xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     .cell = {0, 1, -1},
     .err = W "unknown column 'xxxxxxxxxxxxxxxxxxxxxxxx [... 40 bytes in all]' is ignored\n"},
    {"a hint quotes 24 bytes of the file's header too",
     "Customer Reference Number In The CRM|customer_name|products", .ret = -1,
     .err = W
     "unknown column 'Customer Reference Numbe [... 36 bytes in all]' is ignored\n" E
     "the header has no 'customer_id' column (read with delimiter ','; the file has 'Customer "
     "Reference Numbe [... 36 bytes in all]': use --column customer_id=HEADER); nothing was "
     "imported\n"},
    {"a file with none of our columns (a secret?) is never quoted",
     "sk-live-0123456789abcdef|Bearer", .ret = -1,
     .err = E "the header has no 'customer_id' column (read with delimiter ',')\n" E
	      "the header has no 'customer_name' column (read with delimiter ',')\n" E
	      "the header has no 'products' column (read with delimiter ','; or give --products); "
	      "nothing was imported\n"},
    {"nor is it by a mapping's hint", "sk-live-0123456789abcdef",
     .map = {"customer_id=sk-live-0123456789abcdeg"}, .ret = -1,
     .err = E "--column customer_id='sk-live-0123456789abcdeg': the header has no such column; "
	      "nothing was imported\n"},
};

/* Splits s on '|' into cells[] and lens[] (pointers into a copy the caller frees). */
static size_t split(const char *s, char **copy, const char **cells, size_t *lens)
{
	size_t n = 0;
	char *p;

	*copy = xstrdup(s);
	for (p = *copy;; p++) {
		char *bar = strchr(p, '|');

		cells[n] = p;
		lens[n] = bar ? (size_t)(bar - p) : strlen(p);
		n++;
		if (!bar)
			break;
		*bar = '\0';
		p = bar;
	}
	return n;
}

static void test_csv_header__resolution(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct header_case *c = &cases[i];
		struct csv_columns cols = {0};
		struct csv_header h;
		const char *cells[16];
		size_t lens[16];
		struct strbuf err = STRBUF_INIT;
		char *copy, buf[4096];
		FILE *tf;
		int saved, fd, ret;
		ssize_t n;

		for (int k = 0; k < MAX_OPTS; k++) {
			if (c->map[k])
				assert_int_equal(csv_columns_add_map(&cols, c->map[k]), 0);
			if (c->ignore[k])
				assert_int_equal(csv_columns_add_ignore(&cols, c->ignore[k]), 0);
			if (c->keep[k])
				assert_int_equal(csv_columns_add_keep(&cols, c->keep[k]), 0);
		}
		struct csv_header_input in = {cells, lens, 0, "f.csv", 1, &cols, 0, 0, ',', ','};
		in.ncells = split(c->header, &copy, cells, lens);
		fflush(stderr);
		saved = dup(2);
		tf = tmpfile();
		assert_true(saved >= 0 && tf);
		fd = fileno(tf);
		dup2(fd, 2);
		ret = csv_header_resolve(&h, &in);
		fflush(stderr);
		dup2(saved, 2);
		close(saved);
		lseek(fd, 0, SEEK_SET);
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			strbuf_add(&err, buf, (size_t)n);
		fclose(tf);
		if (ret != (c->ret < 0 ? -1 : 0) ||
		    strcmp(err.buf ? err.buf : "", c->err ? c->err : ""))
			fail_msg("%s: returned %d, printed\n%s\nwant\n%s", c->name, ret,
				 err.buf ? err.buf : "", c->err ? c->err : "");
		if (ret == 0 && (h.col_cell[CSV_COL_CUSTOMER_ID] != c->cell[0] ||
				 h.col_cell[CSV_COL_CUSTOMER_NAME] != c->cell[1] ||
				 h.col_cell[CSV_COL_CUSTOMER_EMAIL] != c->cell[2]))
			fail_msg("%s: id %d name %d email %d", c->name,
				 h.col_cell[CSV_COL_CUSTOMER_ID], h.col_cell[CSV_COL_CUSTOMER_NAME],
				 h.col_cell[CSV_COL_CUSTOMER_EMAIL]);
		csv_header_release(&h);
		csv_columns_release(&cols);
		strbuf_release(&err);
		free(copy);
	}
}

static void test_csv_header__synonyms_never_an_id(void **state)
{
	static const struct {
		const char *key;
		int col; /* the column it reads as (-1: none) */
	} t[] = {
	    {"email", CSV_COL_CUSTOMER_EMAIL},
	    {"e_mail", CSV_COL_CUSTOMER_EMAIL},
	    {"email_address", CSV_COL_CUSTOMER_EMAIL},
	    {"company", CSV_COL_CUSTOMER_NAME},
	    {"company_name", CSV_COL_CUSTOMER_NAME},
	    {"id", -1},
	    {"customer_number", -1},
	    {"name", -1},
	    {"account_id", -1},
	    {"record_id", -1},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		assert_int_equal(csv_column_synonym(t[i].key), t[i].col);
}

static void test_csv_header__mapping_option(void **state)
{
	struct csv_columns cols = {0};

	(void)state;
	assert_int_equal(csv_columns_add_map(&cols, "customer_id=A"), 0);
	assert_int_equal(csv_columns_add_map(&cols, "Customer ID=B"), 0); /* the later wins */
	assert_string_equal(cols.map_header[CSV_COL_CUSTOMER_ID], "B");
	assert_int_equal(csv_columns_add_map(&cols, "custmer_id=A"), -1);
	assert_int_equal(csv_columns_add_map(&cols, "customer_id"), -1);
	assert_int_equal(csv_columns_add_map(&cols, "customer_id="), -1);
	csv_columns_release(&cols);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_csv_header__resolution),
	       cmocka_unit_test(test_csv_header__synonyms_never_an_id),
	       cmocka_unit_test(test_csv_header__mapping_option))
