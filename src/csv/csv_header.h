/*
 * csv_header.h: which cell of a CSV's header is which of our columns.
 *
 * A header cell names a column by its key (csv_header_key(): case, spaces,
 * hyphens and Unicode white space do not matter). The user may map one of
 * the file's own headers to a field (--column customer_id='Account ID'),
 * keep a column's value with its row for the export (--keep-column), and
 * say which unknown columns are expected (--ignore-column). A few safe
 * synonyms (Email, Company Name...) are applied when the header has no
 * column of that name, each with a warning naming it; ids are never
 * guessed. Every missing required column is reported at once, each with
 * the file's headers that may be it.
 */
#ifndef FINCH_CSV_HEADER_H
#define FINCH_CSV_HEADER_H

#include <stddef.h>
#include <stdint.h>

enum csv_column {
	CSV_COL_CUSTOMER_ID,
	CSV_COL_CUSTOMER_NAME,
	CSV_COL_CUSTOMER_EMAIL,
	CSV_COL_PRODUCTS,
	CSV_COL_REDIRECT_URI,
	CSV_COL_MINUTES_TO_EXPIRE,
	CSV_COL_SANDBOX,
	CSV_COL_MANUAL,
	CSV_COL_INTEGRATION_PROVIDER,
	CSV_COL_INTEGRATION_AUTH_METHOD,
	CSV_COL_RECORDKEEPING_RECORDKEEPER,
	CSV_COL_RECORDKEEPING_PLAN_ID,
	CSV_COL_COUNT
};

extern const char *const csv_column_names[CSV_COL_COUNT];

/* The column named name exactly ("customer_id"), or -1. */
int csv_column_find(const char *name);
/* The known column closest to key, if it is close enough to be a typo; else NULL. */
const char *csv_column_did_you_mean(const char *key);

/*
 * The field a header key stands for as a safe synonym ("email", "e_mail",
 * "email_address" -> customer_email; "company", "company_name" ->
 * customer_name), or -1. Never an id.
 */
int csv_column_synonym(const char *key);

/* What the user says about the file's columns. Strings are malloc'd and owned. */
struct csv_columns {
	char *map_header[CSV_COL_COUNT];    /* --column FIELD=HEADER: HEADER per field, or NULL */
	const char *map_arg[CSV_COL_COUNT]; /* its FIELD=HEADER as given (not owned): the
					       config file's line in cli_value_origin() */
	char **ignore;			    /* --ignore-column */
	size_t nignore;
	char **keep; /* --keep-column, in the order given */
	size_t nkeep;
};

void csv_columns_release(struct csv_columns *c);

/*
 * --column FIELD=HEADER. FIELD is one of csv_column_names (an unknown one is
 * refused with "did you mean"); a later mapping of the same field replaces
 * the earlier one, so the command line wins over a config file. Returns 0,
 * or -1 after reporting the problem.
 */
int csv_columns_add_map(struct csv_columns *c, const char *arg);
/* --ignore-column and --keep-column: HEADER, or -1 after reporting an empty one. */
int csv_columns_add_ignore(struct csv_columns *c, const char *header);
int csv_columns_add_keep(struct csv_columns *c, const char *header);

/* The header as read: the cell of each column, and the column of each cell. */
struct csv_header {
	size_t ncells;		     /* up to its last non-empty one */
	int *cell_col;		     /* header cell -> enum csv_column, or -1 */
	int col_cell[CSV_COL_COUNT]; /* column -> header cell, or -1 */
	int *keep_cell;		     /* csv_columns' keep[k] -> header cell */
	size_t nkeep;
};

struct csv_header_input {
	const char *const *cells; /* the header record's cells, trimmed */
	const size_t *lens;
	size_t ncells;
	const char *path; /* for messages: "PATH:LINE: ..." */
	int64_t line;
	const struct csv_columns *cols; /* may be NULL */
	int products_default;		/* --products given: no products column needed */
	int quiet;			/* unknown columns: a debug event, no warning */
	char delim, header_delim;	/* the delimiter used, and the one the header suggests */
};

/*
 * Resolves in's header into h: a mapped header first, then a cell named
 * like a column, then a synonym. Warns once, on one line, of the unknown
 * columns left (a debug event under quiet), and once per synonym applied
 * (even when quiet). Returns 0, or -1 after reporting every problem (invalid UTF-8,
 * a column twice, two sources for one field, a mapped or kept header that
 * is not there, each missing required column); the last message ends with
 * "; nothing was imported". h is to be released either way.
 */
int csv_header_resolve(struct csv_header *h, const struct csv_header_input *in);
void csv_header_release(struct csv_header *h);

#endif
