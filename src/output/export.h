/*
 * export.h: the results of a batch as CSV or JSON Lines, for the people who
 * send the connect links.
 *
 * Both formats have the same columns, by default in this order
 * (export_columns[]):
 *
 *	customer_id, customer_name, status, session_id, connect_url,
 *	connection_id, expires_at, attempts, http_status, finch_code, error,
 *	updated_at, next_attempt_at, retry_until, customer_email,
 *	changed, withdrawn, connection_status, connected_at
 *
 * --columns LIST chooses and orders them from every stored field: those,
 * the request's (products, redirect_uri, minutes_to_expire, sandbox,
 * manual, integration_provider, integration_auth_method,
 * recordkeeping_recordkeeper, recordkeeping_plan_id) and the columns an
 * import kept (--keep-column), named as the file named them. Names are
 * matched like header names (csv_header_key()), and written as given.
 *
 * next_attempt_at is when a retry_wait row is sent again. retry_until is set
 * on a row whose last failure was transient: the next sync re-queues
 * a failed row until then (retry_carry_over()); an error without it is a
 * permanent failure. changed names the request fields of a created or
 * exists row that changed since its link was made ("customer_name,products",
 * reconcile_fields_text()); the link was kept (issue 16). withdrawn is
 * "yes" (true in JSON Lines) for a row the last CSV lacked: it keeps its
 * state and link but is never sent until a CSV has it again.
 * connection_status is the last status Finch gave the row's connection
 * (connection.h: account.updated, or a connections file), empty (null) when
 * none was heard; connected_at is when it was first known connected.
 *
 * CSV follows RFC 4180: a header line, CRLF line ends, and a field is quoted
 * (with inner quotes doubled) when it holds a comma, a quote, a CR or a LF.
 * An absent value is an empty field. Times are ISO 8601 UTC with
 * milliseconds ("2026-11-28T16:20:00.000Z").
 *
 * JSON Lines has one object per row, keys in the column order, numbers for
 * attempts and http_status, null for an absent value, and the same ISO 8601
 * strings for times. Bytes that are not valid UTF-8 become U+FFFD, so every
 * line parses.
 *
 * In CSV, unless raw is set, a text cell that export_is_formula() flags is
 * neutralised against spreadsheet formula injection by a leading "'"
 * (OWASP's CSV injection guidance). JSON Lines is for programs and is never
 * altered: a customer_id there is the id, byte for byte.
 *
 * Rows are streamed from store_each_export(): memory does not grow with the
 * number of rows.
 * A terminal gets every line inert (strbuf_add_inert(): control characters,
 * C1 controls, U+2028 and U+2029 escaped, one "\n" at the end), so a name
 * or a link cannot drive the account manager's terminal; files and pipes
 * get the data as it is.
 */
#ifndef FINCH_EXPORT_H
#define FINCH_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "store/store.h"
#include "store/store_report.h"
#include "base/strbuf.h"

enum export_format { EXPORT_CSV, EXPORT_JSONL };

/* The default column names, in order, as the CSV header and the JSON keys. */
#define EXPORT_NCOLUMNS 19
extern const char *const export_columns[EXPORT_NCOLUMNS];

/* A chosen column: one of the stored fields, or a kept column (EXPORT_COL_KEPT). */
enum export_col_id {
	EXPORT_COL_CUSTOMER_ID,
	EXPORT_COL_CUSTOMER_NAME,
	EXPORT_COL_CUSTOMER_EMAIL,
	EXPORT_COL_STATUS,
	EXPORT_COL_SESSION_ID,
	EXPORT_COL_CONNECT_URL,
	EXPORT_COL_CONNECTION_ID,
	EXPORT_COL_EXPIRES_AT,
	EXPORT_COL_ATTEMPTS,
	EXPORT_COL_HTTP_STATUS,
	EXPORT_COL_FINCH_CODE,
	EXPORT_COL_ERROR,
	EXPORT_COL_UPDATED_AT,
	EXPORT_COL_NEXT_ATTEMPT_AT,
	EXPORT_COL_RETRY_UNTIL,
	EXPORT_COL_PRODUCTS,
	EXPORT_COL_REDIRECT_URI,
	EXPORT_COL_MINUTES_TO_EXPIRE,
	EXPORT_COL_SANDBOX,
	EXPORT_COL_MANUAL,
	EXPORT_COL_INTEGRATION_PROVIDER,
	EXPORT_COL_INTEGRATION_AUTH_METHOD,
	EXPORT_COL_RECORDKEEPING_RECORDKEEPER,
	EXPORT_COL_RECORDKEEPING_PLAN_ID,
	EXPORT_COL_CHANGED,
	EXPORT_COL_WITHDRAWN,
	EXPORT_COL_CONNECTION_STATUS,
	EXPORT_COL_CONNECTED_AT,
	EXPORT_COL_KEPT,
};

struct export_column {
	enum export_col_id id;
	char *name; /* the header and JSON key, as given (malloc'd) */
};

struct export_columns {
	struct export_column *c;
	size_t n;
	int any_kept;	  /* some column is a kept one */
	const char *list; /* the --columns value parsed (not owned): cli_value_origin() names a
			     config file's line and key in a later error */
};

/*
 * Reads the name at *p of a list into name, CSV-style: white space around it
 * trimmed, and in double quotes a comma is part of it ("Owner, Primary"; ""
 * is one quote). Moves *p past the comma after it; *p is NULL after the last
 * name. Returns 0, or -1 (without printing) when a quote is not closed or
 * text follows the closing one.
 */
int export_list_next(const char **p, struct strbuf *name);

/*
 * Parses --columns LIST: names separated by commas (white space around
 * them trimmed; a name in double quotes may hold a comma). A name that is not one of the stored
 * fields is a kept column. Returns 0, or -1 after reporting an empty or repeated name.
 */
int export_columns_parse(const char *list, struct export_columns *out);
void export_columns_release(struct export_columns *c);

/*
 * The stored field --columns reads name as ("Status" is status), or NULL
 * when name would be a kept column.
 */
const char *export_field_name(const char *name);

/*
 * Every kept column of cols must be one an import kept: one st has stored,
 * or one of also_kept (the headers this run's import keeps, before it has
 * stored them). Returns 0, or -1 after reporting the first unknown one with
 * "did you mean". sync calls it before anything is sent.
 */
int export_columns_check(struct store *st, const struct export_columns *cols,
			 char *const *also_kept, size_t nalso_kept);

/* "csv" or "jsonl" (also "json-lines", "ndjson"). Returns 0, or -1 without printing. */
int export_format_parse(const char *s, enum export_format *out);

/*
 * Parses the --since option: an ISO 8601 time, or a duration meaning that
 * long before now_ms ("24h", "90m"). Returns 0, or -1 after printing an
 * error that names the option.
 */
int export_parse_since(const char *arg, int64_t now_ms, int64_t *since_ms);

/*
 * Whether a CSV starts with a UTF-8 BOM (EF BB BF). Windows Excel opens a CSV
 * without one in the ANSI code page, so "Müller" shows as "MÃ¼ller"; with
 * one, as UTF-8. LibreOffice, Google Sheets, Numbers, Python's "utf-8-sig"
 * and our own import skip it. A program reading standard output usually
 * wants plain UTF-8, hence the default. JSON Lines never starts with one:
 * RFC 8259 section 8.1 forbids it.
 */
enum export_bom {
	EXPORT_BOM_AUTO,   /* a file yes, standard output no */
	EXPORT_BOM_NEVER,  /* --no-bom */
	EXPORT_BOM_ALWAYS, /* --bom */
};

/* One output stream being written. */
struct export_writer {
	FILE *out;
	const char *name; /* for messages: the path, or "standard output" */
	enum export_format format;
	int raw;			   /* 1: CSV cells as stored, no formula neutralising */
	int bom;			   /* 1: a CSV begins with a UTF-8 BOM (0 after init) */
	int64_t rows;			   /* data rows written so far */
	const struct export_columns *cols; /* NULL: export_columns[] */
	int terminal;	     /* 1: out is a terminal, control characters are shown escaped */
	struct strbuf line;  /* the line being built, reused for every row */
	struct strbuf shown; /* the line as a terminal gets it */
};

/* Sets up w to write to out; name is used in error messages only. Writes nothing. */
void export_writer_init(struct export_writer *w, FILE *out, const char *name,
			enum export_format format, int raw);
void export_writer_release(struct export_writer *w);

/* Writes the BOM if w->bom, and the CSV header line (nothing for JSON Lines). */
int export_writer_begin(struct export_writer *w);
/* Writes one row. */
int export_writer_row(struct export_writer *w, const struct export_row *row);
/* Flushes the stream and reports any write error that happened on it. */
int export_writer_finish(struct export_writer *w);

/*
 * Appends one CSV field for s (NULL: empty) to sb: neutralised unless raw,
 * then quoted if needed. Exposed for the tests.
 */
void export_csv_field(struct strbuf *sb, const char *s, int raw);
/* Appends s as a JSON string (NULL: null), exactly: never neutralised. */
void export_json_string(struct strbuf *sb, const char *s);

/*
 * 1 if a spreadsheet could run s as a formula, so CSV export neutralises it
 * (https://owasp.org/www-community/attacks/CSV_Injection): s starts with a
 * tab or a CR, or its first character after leading blanks (ASCII white
 * space, no-break, fullwidth U+3000 and the other Unicode spaces, zero-width
 * characters) is = + - @ or a fullwidth or small form of one (U+FF1D,
 * U+FF0B, U+FF0D, U+FF20, U+FE66, U+FE62, U+FE63). NULL and "" are not.
 */
int export_is_formula(const char *s);

struct export_options {
	enum export_format format;
	const char *out_path; /* a file, or "-" for standard output */
	struct export_filter filter;
	int raw;
	enum export_bom bom; /* EXPORT_BOM_ALWAYS with JSON Lines is an error */
	const char *db;	     /* NULL, or the database out_path must not name (outpath.h) */
	const char *csv;     /* NULL, or the input CSV out_path must not name */
	struct export_columns columns; /* --columns (owned); n == 0: the default */
};

/*
 * Writes every row of st that matches o->filter to o->out_path.
 *
 * outpath_check() decides first, refusing a path that names o->db, its
 * side files or o->csv. A file is written atomically: a temporary file in
 * the folder of the final target (mode 0600, since connect URLs are
 * credentials for the employer) is written, flushed and fsync'ed, then
 * renamed over the target (a symlink's target: the link stays), and the
 * folder is fsync'ed. On any error the temporary file is removed and an
 * existing target is left untouched. "-" and /dev/stdout write to standard
 * output; a FIFO or a character device is written to directly.
 * A CSV starts with a UTF-8 BOM as o->bom says (enum export_bom).
 * *rows (may be NULL) tells how many rows were written.
 */
int export_to_path(struct store *st, const struct export_options *o, int64_t *rows);

#endif
