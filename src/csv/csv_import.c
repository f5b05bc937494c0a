/*
 * csv_import.c: see csv_import.h.
 *
 * libcsv reports fields and row ends but not line numbers, so the input is
 * fed to it one physical line at a time: whenever a line has been fed and
 * the parser is between records, the next record starts on the next line.
 */
#include "csv/csv_import.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv/csv_text.h"
#include "csv/readahead.h"
#include "base/signals.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/utf8.h"
#include "finch/validate.h"

enum column {
	COL_CUSTOMER_ID,
	COL_CUSTOMER_NAME,
	COL_CUSTOMER_EMAIL,
	COL_PRODUCTS,
	COL_REDIRECT_URI,
	COL_MINUTES_TO_EXPIRE,
	COL_SANDBOX,
	COL_MANUAL,
	COL_INTEGRATION_PROVIDER,
	COL_INTEGRATION_AUTH_METHOD,
	COL_RECORDKEEPING_RECORDKEEPER,
	COL_RECORDKEEPING_PLAN_ID,
	COL_COUNT
};

static const char *const column_names[COL_COUNT] = {
    "customer_id",
    "customer_name",
    "customer_email",
    "products",
    "redirect_uri",
    "minutes_to_expire",
    "sandbox",
    "manual",
    "integration_provider",
    "integration_auth_method",
    "recordkeeping_recordkeeper",
    "recordkeeping_plan_id",
};

const struct option import_long_options[] = {
    {"products", required_argument, NULL, IMPORT_OPT_PRODUCTS},
    {"redirect-uri", required_argument, NULL, IMPORT_OPT_REDIRECT_URI},
    {"minutes-to-expire", required_argument, NULL, IMPORT_OPT_MINUTES_TO_EXPIRE},
    {"sandbox", required_argument, NULL, IMPORT_OPT_SANDBOX},
    {"encoding", required_argument, NULL, IMPORT_OPT_ENCODING},
    {"delimiter", required_argument, NULL, IMPORT_OPT_DELIMITER},
    {"allow-product", required_argument, NULL, IMPORT_OPT_ALLOW_PRODUCT},
    {NULL, 0, NULL, 0},
};

const char import_options_help[] =
    "  --products LIST           products for rows whose products cell is empty\n"
    "  --redirect-uri URI        redirect_uri for rows that have none\n"
    "  --minutes-to-expire N     minutes_to_expire (1..129600) for rows that have none\n"
    "  --sandbox finch|provider  sandbox for rows that have none\n"
    "  --encoding ENC            auto (a BOM, else UTF-8), utf-8, utf-16, windows-1252,\n"
    "                            iso-8859-1 or macintosh\n"
    "  --delimiter D             auto (sep= line, .tsv, else the header's), ',', ';' or tab\n"
    "  --allow-product NAME      accept product NAME, newer than this build (repeatable)\n";

int import_option_apply(struct import_options *o, int c, const char *arg)
{
	struct import_defaults *d = &o->defaults;
	char why[VALIDATE_WHY_MAX];

	switch (c) {
	case IMPORT_OPT_PRODUCTS:
		/* parsed by import_options_finish(), once every --allow-product is known */
		d->products_arg = arg;
		return 1;
	case IMPORT_OPT_ALLOW_PRODUCT:
		switch (product_allow(arg, why, sizeof(why))) {
		case -1:
			return error("--allow-product '%s': %s", arg, why);
		case 1:
			warning("product '%s' is newer than this build: sent as given "
				"(--allow-product)",
				arg);
		}
		return 1;
	case IMPORT_OPT_REDIRECT_URI:
		if (!*arg)
			return error("--redirect-uri is empty");
		d->redirect_uri = arg;
		return 1;
	case IMPORT_OPT_MINUTES_TO_EXPIRE:
		if (parse_minutes_to_expire(arg, &d->minutes_to_expire, why, sizeof(why)) < 0)
			return error("--minutes-to-expire '%s': %s", arg, why);
		return 1;
	case IMPORT_OPT_SANDBOX:
		if (validate_sandbox(arg, why, sizeof(why)) < 0)
			return error("--sandbox '%s': %s", arg, why);
		d->sandbox = arg;
		return 1;
	case IMPORT_OPT_ENCODING:
		if (csv_encoding_parse(arg, &o->encoding) < 0)
			return error("--encoding '%s': must be auto, utf-8, utf-16, windows-1252, "
				     "iso-8859-1 or macintosh",
				     arg);
		return 1;
	case IMPORT_OPT_DELIMITER:
		if (csv_delimiter_parse(arg, &o->delimiter) < 0)
			return error("--delimiter '%s': must be ',', ';', tab or auto", arg);
		return 1;
	}
	return 0;
}

int import_options_finish(struct import_options *o)
{
	struct import_defaults *d = &o->defaults;
	char why[VALIDATE_WHY_MAX];

	if (!d->products_arg)
		return 0;
	if (parse_products(d->products_arg, &d->products, why, sizeof(why)) < 0 ||
	    validate_products(d->products, why, sizeof(why)) < 0)
		return error("--products '%s': %s%s", d->products_arg, why,
			     strstr(why, "unknown product") ? " (a product newer than this build "
							      "needs --allow-product NAME)"
							    : "");
	return 0;
}

/* libcsv's parser states (csv.h keeps them private) */
#define PSTATE_IDLE		      0 /* ROW_NOT_BEGUN */
#define PSTATE_FIELD		      2 /* FIELD_BEGUN */
#define PSTATE_FIELD_MIGHT_HAVE_ENDED 3

/* Stored display values of invalid rows are cut past this. */
#define DISPLAY_MAX_BYTES 1024

/*
 * One CSV record: cell i is cells.buf[off[i]], NUL-terminated. Cells past
 * the header's width are counted, not kept.
 */
struct record {
	struct strbuf cells;
	size_t *off;
	size_t ncells, alloc_cells;
	size_t nextra;		    /* cells past the header's, up to the last non-empty one */
	size_t nseen_extra;	    /* cells past the header's */
	size_t long_cell;	    /* 1 + the first cell longer than CSV_CELL_MAX_BYTES, or 0 */
	size_t long_len;	    /* its length */
	int64_t line;		    /* the line it starts on */
	struct connect_request req; /* a valid row's request, pointing into cells */
};

/* The iconv stage: the file's bytes in, UTF-8 out. */
struct decoder {
	iconv_t cd;		 /* (iconv_t)-1: the file is UTF-8 already */
	enum csv_encoding enc;	 /* what it decodes */
	char *in, *out;		 /* the carried bytes plus a chunk; its UTF-8 */
	size_t ncarry, out_size; /* in[0..ncarry): a character cut by the chunk's end */
};

struct importer {
	struct store *st;
	const char *path;
	const struct import_options *o;
	struct import_stats *stats;
	int64_t now_ms;

	int64_t line;	       /* the physical line being fed, 1-based */
	int64_t rec_line;      /* the line the current record started on */
	int64_t last_rec_line; /* of the record before it */
	int last_cr;	       /* the last byte fed was a CR: a LF now ends no new line */
	size_t rec_bytes;      /* bytes fed since the current record began */
	size_t cell_cut;       /* bytes cut from the cell being read */
	int in_header;	       /* the next record is the header */
	int failed;	       /* a fatal error was reported: stop */
	int interrupted;       /* SIGINT or SIGTERM (signals.h): stopped, nothing imported */
	char delim;	       /* the delimiter; 0 until the first line is seen */
	char header_delim;     /* the one the header line suggests */

	/*
	 * Valid rows wait in rec[0..nqueued) to be stored a batch at a time;
	 * the record being read goes to rec[nqueued]. Invalid rows are stored
	 * at once, after the batch: rows reach the store in file order.
	 */
	struct record rec[STORE_UPSERT_BATCH];
	struct customer_upsert queue[STORE_UPSERT_BATCH];
	size_t nqueued;
	size_t queued_bytes; /* held by rec[0..nqueued) */

	size_t nheader;		 /* cells in the header, up to its last non-empty one */
	int *header_col;	 /* header cell -> enum column, or -1 */
	int col_cell[COL_COUNT]; /* column -> header cell, or -1 */
	int64_t guess_votes[2];	 /* rows not UTF-8 that look Windows-1252, Mac OS Roman */

	struct strbuf reason; /* reused for every invalid row */
	struct strbuf display;
	struct strbuf key;
};

/* Appends a cell to rec (data[0..len), of which cut more bytes were dropped). */
static void add_cell(struct record *rec, const char *data, size_t len, size_t cut)
{
	if (len + cut > CSV_CELL_MAX_BYTES) {
		if (!rec->long_cell) {
			rec->long_cell = rec->ncells + 1;
			rec->long_len = len + cut;
		}
		if (len > CSV_CELL_KEEP_BYTES)
			len = CSV_CELL_KEEP_BYTES;
	}
	if (rec->ncells == rec->alloc_cells) {
		rec->alloc_cells = rec->alloc_cells ? rec->alloc_cells * 2 : 16;
		rec->off = xrealloc(rec->off, rec->alloc_cells * sizeof(*rec->off));
	}
	rec->off[rec->ncells++] = rec->cells.len;
	if (len)
		strbuf_add(&rec->cells, data, len);
	strbuf_addch(&rec->cells, '\0');
}

static void on_field(void *data, size_t len, void *ctx)
{
	struct importer *im = ctx;
	struct record *rec = &im->rec[im->nqueued];
	const char *s = data;
	size_t cut = im->cell_cut;

	im->cell_cut = 0;
	/* Unicode white space at either end (libcsv trims only unquoted ASCII) */
	if (len &&
	    ((unsigned char)s[0] - 0x21u >= 0x5Eu || (unsigned char)s[len - 1] - 0x21u >= 0x5Eu)) {
		size_t skip = utf8_space_prefix(s, len);

		s += skip;
		len -= skip;
		len -= utf8_space_suffix(s, len);
	}
	if (!im->in_header && rec->ncells >= im->nheader) {
		rec->nseen_extra++;
		if (len || cut)
			rec->nextra = rec->nseen_extra;
		return;
	}
	add_cell(rec, s, len, cut);
}

static const char *cell(const struct record *rec, size_t i)
{
	return i < rec->ncells ? rec->cells.buf + rec->off[i] : "";
}

static size_t cell_len(const struct record *rec, size_t i)
{
	size_t end = i + 1 < rec->ncells ? rec->off[i + 1] : rec->cells.len;

	return i < rec->ncells ? end - rec->off[i] - 1 : 0;
}

/* The cell of column c in rec ("" when absent or short). */
static const char *col(const struct importer *im, const struct record *rec, enum column c)
{
	return im->col_cell[c] < 0 ? "" : cell(rec, (size_t)im->col_cell[c]);
}

static int fatal(struct importer *im, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fatal(struct importer *im, int64_t line, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (line)
		error("%s:%lld: %s; nothing was imported", im->path, (long long)line, sb.buf);
	else
		error("%s: %s; nothing was imported", im->path, sb.buf);
	strbuf_release(&sb);
	im->failed = 1;
	return -1;
}

/* The known column closest to key, if it is close enough to be a typo; else NULL. */
static const char *did_you_mean(const char *key)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (int c = 0; c < COL_COUNT; c++) {
		size_t d = csv_edit_distance(key, column_names[c]);
		size_t limit = strlen(column_names[c]) / 4;

		if (d <= (limit > 2 ? limit : 2) && d < best_d) {
			best = column_names[c];
			best_d = d;
		}
	}
	return best;
}

/* Refuses a header that lacks column name, saying which delimiter split it. */
static void missing_column(struct importer *im, const char *name, const char *hint)
{
	const char *used = csv_delimiter_name(im->delim);
	const char *seen = csv_delimiter_name(im->header_delim);

	if (im->header_delim == im->delim)
		fatal(im, im->rec_line, "the header has no '%s' column (read with delimiter %s%s)",
		      name, used, hint);
	else
		fatal(im, im->rec_line,
		      "the header has no '%s' column (read with delimiter %s, but the header "
		      "looks %s-separated: try --delimiter %s%s)",
		      name, used, seen, seen, hint);
}

static void read_header(struct importer *im, const struct record *rec)
{
	im->nheader = rec->ncells;
	while (im->nheader && !cell_len(rec, im->nheader - 1))
		im->nheader--; /* a spreadsheet's empty columns at the right */
	im->header_col = xmalloc((im->nheader ? im->nheader : 1) * sizeof(*im->header_col));
	for (int c = 0; c < COL_COUNT; c++)
		im->col_cell[c] = -1;
	for (size_t i = 0; i < im->nheader; i++) {
		const char *typo;

		im->header_col[i] = -1;
		if (utf8_count(cell(rec, i), cell_len(rec, i)) < 0) {
			enum csv_encoding guess = csv_guess_8bit(cell(rec, i), cell_len(rec, i));

			fatal(im, im->rec_line,
			      "the header is not valid UTF-8 (column %zu; it looks like %s: use "
			      "--encoding %s)",
			      i + 1, csv_encoding_label(guess), csv_encoding_option(guess));
			return;
		}
		csv_header_key(cell(rec, i), cell_len(rec, i), &im->key);
		for (int c = 0; c < COL_COUNT; c++) {
			if (strcmp(im->key.buf, column_names[c]))
				continue;
			if (im->col_cell[c] >= 0) {
				fatal(im, im->rec_line,
				      "column '%s' appears twice (columns %d and %zu)",
				      column_names[c], im->col_cell[c] + 1, i + 1);
				return;
			}
			im->col_cell[c] = (int)i;
			im->header_col[i] = c;
		}
		if (im->header_col[i] >= 0 || !im->key.len || im->o->quiet)
			continue;
		strbuf_reset(&im->display);
		csv_printable(&im->display, cell(rec, i), cell_len(rec, i), 0, 256);
		typo = did_you_mean(im->key.buf);
		if (typo)
			warning("%s:%lld: unknown column '%s' is ignored (did you mean '%s'?)",
				im->path, (long long)im->rec_line, im->display.buf, typo);
		else
			warning("%s:%lld: unknown column '%s' is ignored", im->path,
				(long long)im->rec_line, im->display.buf);
	}
	for (int c = 0; c < COL_COUNT; c++) {
		if (im->col_cell[c] >= 0 || (c != COL_CUSTOMER_ID && c != COL_CUSTOMER_NAME &&
					     (c != COL_PRODUCTS || im->o->defaults.products)))
			continue;
		missing_column(im, column_names[c],
			       c == COL_PRODUCTS ? "; or give --products" : "");
		return;
	}
}

/*
 * Stores rec as an invalid row. key is the customer_id when it can name a
 * customer, NULL when the line can only be kept as a report.
 */
static int reject(struct importer *im, const struct record *rec, const char *key,
		  const char *column, const char *why)
{
	size_t ci = (size_t)im->col_cell[COL_CUSTOMER_ID],
	       cn = (size_t)im->col_cell[COL_CUSTOMER_NAME];
	char *display_id;
	int ret;

	strbuf_reset(&im->reason);
	strbuf_addf(&im->reason, "%s:%lld: %s: %s", im->path, (long long)rec->line, column, why);
	im->stats->invalid++;
	if (im->stats->invalid <= (int64_t)im->o->max_reasons)
		notice("row_invalid", "invalid: %s", im->reason.buf);
	strbuf_reset(&im->display);
	csv_printable(&im->display, cell(rec, ci), cell_len(rec, ci),
		      rec->long_cell == ci + 1 ? rec->long_len : 0, DISPLAY_MAX_BYTES);
	display_id = xstrdup(im->display.buf);
	strbuf_reset(&im->display);
	csv_printable(&im->display, cell(rec, cn), cell_len(rec, cn),
		      rec->long_cell == cn + 1 ? rec->long_len : 0, DISPLAY_MAX_BYTES);
	ret = store_mark_invalid(im->st, key, display_id, im->display.buf, im->reason.buf, im->path,
				 rec->line, im->now_ms);
	free(display_id);
	return ret;
}

/* Builds rec->req from rec, pointing into its cells (req owns nothing). */
static int build_request(struct importer *im, struct record *rec, const char **column, char *why,
			 size_t size)
{
	const struct import_defaults *d = &im->o->defaults;
	struct connect_request *r = &rec->req;
	const char *v;

	connect_request_init(r);
	r->customer_id = (char *)col(im, rec, COL_CUSTOMER_ID);
	r->customer_name = (char *)col(im, rec, COL_CUSTOMER_NAME);
	v = col(im, rec, COL_CUSTOMER_EMAIL);
	r->customer_email = *v ? (char *)v : NULL;

	v = col(im, rec, COL_PRODUCTS);
	*column = column_names[COL_PRODUCTS];
	if (*v) {
		if (parse_products(v, &r->products, why, size) < 0)
			return -1;
	} else {
		r->products = d->products;
	}
	v = col(im, rec, COL_REDIRECT_URI);
	r->redirect_uri = *v ? (char *)v : (char *)d->redirect_uri;
	v = col(im, rec, COL_MINUTES_TO_EXPIRE);
	*column = column_names[COL_MINUTES_TO_EXPIRE];
	if (*v) {
		if (parse_minutes_to_expire(v, &r->minutes_to_expire, why, size) < 0)
			return -1;
	} else {
		r->minutes_to_expire = d->minutes_to_expire;
	}
	v = col(im, rec, COL_SANDBOX);
	r->sandbox = *v ? (char *)v : (char *)d->sandbox;
	v = col(im, rec, COL_MANUAL);
	*column = column_names[COL_MANUAL];
	if (*v && parse_bool(v, &r->manual, why, size) < 0)
		return -1;
	v = col(im, rec, COL_INTEGRATION_PROVIDER);
	r->integration_provider = *v ? (char *)v : NULL;
	v = col(im, rec, COL_INTEGRATION_AUTH_METHOD);
	r->integration_auth_method = *v ? (char *)v : NULL;
	v = col(im, rec, COL_RECORDKEEPING_RECORDKEEPER);
	r->recordkeeper = *v ? (char *)v : NULL;
	v = col(im, rec, COL_RECORDKEEPING_PLAN_ID);
	r->recordkeeping_plan_id = *v ? (char *)v : NULL;

	if (validate_request(r, column, why, size) < 0) {
		/* the contract's names of the nested fields are the CSV's flat ones */
		if (!strcmp(*column, "integration.provider"))
			*column = column_names[COL_INTEGRATION_PROVIDER];
		else if (!strcmp(*column, "integration.auth_method"))
			*column = column_names[COL_INTEGRATION_AUTH_METHOD];
		else if (!strcmp(*column, "recordkeeping.recordkeeper"))
			*column = column_names[COL_RECORDKEEPING_RECORDKEEPER];
		else if (!strcmp(*column, "recordkeeping.plan_id"))
			*column = column_names[COL_RECORDKEEPING_PLAN_ID];
		else if (!strcmp(*column, "recordkeeping"))
			*column = "recordkeeping_recordkeeper, recordkeeping_plan_id";
		return -1;
	}
	return 0;
}

/*
 * rec's customer_id if it can name a customer's row: valid, and not stored
 * already by an earlier line of this import (that row must not be
 * overwritten by a later, broken one). NULL otherwise.
 */
static const char *id_usable(struct importer *im, const struct record *rec)
{
	const char *id = col(im, rec, COL_CUSTOMER_ID);
	char why[VALIDATE_WHY_MAX];
	int64_t line;

	if (validate_customer_field(id, strlen(id), why, sizeof(why)) < 0)
		return NULL;
	return store_seen_in_import(im->st, id, &line) == 0 ? id : NULL;
}

/*
 * 1 if s[0..len) has no byte >= 0x80, and so is valid UTF-8: most rows are
 * plain ASCII, and one pass a word at a time spares utf8_count() on every
 * cell (3% of a large import).
 */
static int all_ascii(const char *s, size_t len)
{
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(&w, s + i, sizeof(w));
		acc |= w;
	}
	for (; i < len; i++)
		acc |= (unsigned char)s[i];
	return !(acc & 0x8080808080808080ull);
}

/*
 * Stores the valid rows waiting in the queue, and counts what that did; a
 * customer an earlier line of this import stored already makes its row
 * invalid.
 */
static int flush(struct importer *im)
{
	size_t n = im->nqueued;
	char why[64];

	im->nqueued = 0;
	if (!n)
		return 0;
	if (store_upsert_customers(im->st, im->queue, n, im->path, im->now_ms) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		switch (im->queue[i].res) {
		case UPSERT_NEW:
			im->stats->accepted++;
			break;
		case UPSERT_UNCHANGED:
			im->stats->unchanged++;
			break;
		case UPSERT_UPDATED:
			im->stats->updated++;
			break;
		case UPSERT_DUPLICATE:
			snprintf(why, sizeof(why), "duplicate of line %lld",
				 (long long)im->queue[i].dup_line);
			if (reject(im, &im->rec[i], NULL, column_names[COL_CUSTOMER_ID], why) < 0)
				return -1;
			break;
		}
	}
	return 0;
}

/*
 * Checks rec against every rule and builds its request. Returns 0 if it is
 * valid; otherwise -1 with the column and why, and *keyed 1 if its
 * customer_id is valid and so may still name the customer's row.
 */
static int check_row(struct importer *im, struct record *rec, const char **column, char *why,
		     size_t size, int *keyed)
{
	const char *id = col(im, rec, COL_CUSTOMER_ID);
	size_t ncells = rec->ncells + rec->nextra;

	*keyed = 1;
	if (rec->long_cell) {
		int c = im->header_col[rec->long_cell - 1];

		*column = c >= 0 ? column_names[c] : "row";
		*keyed = c != COL_CUSTOMER_ID;
		snprintf(why, size, "is longer than %d bytes (%zu), the limit for a cell",
			 CSV_CELL_MAX_BYTES, rec->long_len);
		return -1;
	}
	if (!all_ascii(rec->cells.buf, rec->cells.len)) {
		for (size_t i = 0; i < rec->ncells; i++) {
			int c = im->header_col[i];
			enum csv_encoding guess;

			if (utf8_count(cell(rec, i), cell_len(rec, i)) >= 0)
				continue;
			/*
			 * One row cannot tell the two apart (Windows-1252's “ ” – € are
			 * Mac OS Roman's ì î ñ Ä): the row votes with all its cells, the
			 * summary names the file's winner, and the reason names both,
			 * so it never contradicts the summary.
			 */
			guess = csv_guess_8bit(rec->cells.buf, rec->cells.len);
			im->guess_votes[guess == CSV_ENC_MACINTOSH]++;
			im->stats->not_utf8++;
			*column = c >= 0 ? column_names[c] : "row";
			*keyed = c != COL_CUSTOMER_ID;
			snprintf(why, size, "%s", CSV_NOT_UTF8_WHY);
			return -1;
		}
	}
	if (csv_excel_number(id)) {
		*column = column_names[COL_CUSTOMER_ID];
		*keyed = 0;
		snprintf(why, size,
			 "'%s' reads like a number Excel rounded: format the column as Text "
			 "and export again",
			 id);
		return -1;
	}
	if (validate_customer_field(id, strlen(id), why, size) < 0) {
		*column = column_names[COL_CUSTOMER_ID];
		*keyed = 0;
		return -1;
	}
	if (ncells != im->nheader) {
		*column = "row";
		snprintf(why, size, "%zu cell%s, but the header has %zu", ncells,
			 ncells == 1 ? "" : "s", im->nheader);
		return -1;
	}
	if (im->col_cell[COL_PRODUCTS] >= 0 &&
	    !all_ascii(col(im, rec, COL_PRODUCTS), strlen(col(im, rec, COL_PRODUCTS))))
		utf8_space_to_ascii(rec->cells.buf + rec->off[im->col_cell[COL_PRODUCTS]],
				    strlen(col(im, rec, COL_PRODUCTS)));
	return build_request(im, rec, column, why, size);
}

/* Queues rec if it is valid (storing the batch when full), or stores it as invalid. */
static int import_row(struct importer *im, struct record *rec)
{
	const char *column = NULL;
	char why[VALIDATE_WHY_MAX + 96];
	size_t i;
	int keyed;

	for (i = 0; i < rec->ncells && !cell_len(rec, i); i++)
		;
	if (i == rec->ncells && !rec->nextra && !rec->long_cell) {
		im->stats->blank++; /* ",,," is a blank line a spreadsheet wrote */
		return 0;
	}
	im->stats->rows_read++;

	if (check_row(im, rec, &column, why, sizeof(why), &keyed) == 0) {
		im->queue[im->nqueued].req = &rec->req;
		im->queue[im->nqueued].line = rec->line;
		im->queued_bytes += rec->cells.alloc + rec->alloc_cells * sizeof(*rec->off);
		/* a batch of long rows is stored early: memory stays bounded */
		if (++im->nqueued == STORE_UPSERT_BATCH ||
		    im->queued_bytes > 4 * CSV_RECORD_MAX_BYTES)
			return flush(im);
		return 0;
	}
	/* the rows before it first: whether its id is usable depends on them */
	if (flush(im) < 0)
		return -1;
	return reject(im, rec, keyed ? id_usable(im, rec) : NULL, column, why);
}

/* Empties the record slot that the next record goes to; a slot a long record grew is shrunk. */
static void next_slot(struct importer *im)
{
	struct record *rec = &im->rec[im->nqueued];

	if (rec->cells.alloc > 64 * 1024 || rec->alloc_cells > 4096) {
		strbuf_release(&rec->cells);
		strbuf_init(&rec->cells, 512);
		free(rec->off);
		rec->off = NULL;
		rec->alloc_cells = 0;
	}
	strbuf_reset(&rec->cells);
	rec->ncells = rec->nextra = rec->nseen_extra = rec->long_cell = rec->long_len = 0;
}

static void on_record(int term, void *ctx)
{
	struct importer *im = ctx;
	struct record *rec = &im->rec[im->nqueued];

	(void)term;
	if (im->failed)
		return;
	/* the store tells a record from another by its line: never two on one */
	if (im->rec_line <= im->last_rec_line) {
		fatal(im, im->rec_line, "internal error: a second record starts on this line");
		return;
	}
	im->last_rec_line = im->rec_line;
	rec->line = im->rec_line;
	if (im->in_header) {
		im->in_header = 0;
		read_header(im, rec);
	} else if (import_row(im, rec) < 0) {
		im->failed = 1;
	}
	if (!im->nqueued)
		im->queued_bytes = 0;
	/* the next record goes to the slot after the queue, which may be this one */
	next_slot(im);
}

/*
 * After a piece of n bytes was parsed: counts the bytes of the open record
 * and stops at CSV_RECORD_MAX_BYTES; cuts the cell being read, in libcsv's
 * own buffer, past CSV_CELL_MAX_BYTES (csv.h documents the struct's
 * members; the parser reads them back on its next call).
 */
static int bound(struct importer *im, struct csv_parser *p, size_t n)
{
	if (p->pstate == PSTATE_IDLE) {
		im->rec_bytes = 0;
		return 0;
	}
	im->rec_bytes += n;
	if (im->rec_bytes > CSV_RECORD_MAX_BYTES)
		return fatal(im, im->rec_line,
			     "a record longer than %d MiB starts here (a quote that is never "
			     "closed?)",
			     CSV_RECORD_MAX_BYTES / (1024 * 1024));
	if (p->entry_pos > CSV_CELL_MAX_BYTES &&
	    (p->pstate == PSTATE_FIELD || p->pstate == PSTATE_FIELD_MIGHT_HAVE_ENDED)) {
		/* in FIELD_MIGHT_HAVE_ENDED the last byte is the quote libcsv drops */
		size_t keep = CSV_CELL_KEEP_BYTES + (p->pstate == PSTATE_FIELD_MIGHT_HAVE_ENDED);

		im->cell_cut += p->entry_pos - keep;
		p->entry_pos = keep;
		p->spaces = 0;
	}
	return 0;
}

/* The lines ended within buf[0..len): "\r\n", "\n" and a lone "\r" are one each. */
static int64_t count_lines(struct importer *im, const char *buf, size_t len)
{
	int64_t n = 0;
	int last_cr = im->last_cr;

	for (size_t i = 0; i < len; i++) {
		n += buf[i] == '\r' || (buf[i] == '\n' && !last_cr);
		last_cr = buf[i] == '\r';
	}
	return n;
}

/* Feeds buf[0..len) to the parser one physical line at a time. */
static int feed(struct importer *im, struct csv_parser *p, const char *buf, size_t len)
{
	const char *nul = memchr(buf, '\0', len);
	const char *cr = memchr(buf, '\r', len), *lf = memchr(buf, '\n', len);

	if (nul) {
		int64_t line = im->line + count_lines(im, buf, (size_t)(nul - buf));

		/* "c\0u\0" or "\0c\0u" at the start of the file */
		if (im->line == 1 && !im->last_rec_line && len >= 4 &&
		    ((!buf[1] && !buf[3]) || (!buf[0] && !buf[2])))
			return fatal(im, line,
				     "contains a NUL byte (a UTF-16 file without a byte order "
				     "mark? try --encoding utf-16)");
		return fatal(im, line, "contains a NUL byte");
	}
	while (len && !im->failed) {
		const char *end;
		size_t n;

		/* the next CR and LF, each searched for again only once passed */
		if (cr && cr < buf)
			cr = memchr(buf, '\r', len);
		if (lf && lf < buf)
			lf = memchr(buf, '\n', len);
		end = !cr ? lf : !lf ? cr : cr < lf ? cr : lf;
		n = end ? (size_t)(end - buf) + 1 : len;

		if (csv_parse(p, buf, n, on_field, on_record, im) != n) {
			if (im->failed)
				return -1;
			return fatal(im, im->line, "malformed quoted field (%s)",
				     csv_strerror(csv_error(p)));
		}
		if (im->failed || bound(im, p, n) < 0)
			return -1;
		if (end) {
			/* a LF right after a CR ends the same line (pieces end at each) */
			if (*end == '\r' || n > 1 || !im->last_cr)
				im->line++;
			im->last_cr = *end == '\r';
			if (p->pstate == PSTATE_IDLE)
				im->rec_line = im->line;
		} else {
			im->last_cr = 0;
		}
		buf += n;
		len -= n;
	}
	return im->failed ? -1 : 0;
}

/* Sets up d for enc (CSV_ENC_UTF16 resolved already). */
static int decoder_open(struct importer *im, struct decoder *d, enum csv_encoding enc)
{
	const char *name = csv_encoding_iconv_name(enc);

	d->enc = enc;
	d->cd = (iconv_t)-1;
	if (!name)
		return 0;
	d->cd = iconv_open("UTF-8", name);
	if (d->cd == (iconv_t)-1)
		return fatal(im, 0, "cannot decode %s: %s", csv_encoding_label(enc),
			     strerror(errno));
	d->in = xmalloc(READAHEAD_CHUNK_SIZE + 8);
	/* a byte of an 8-bit encoding, or half a UTF-16 unit, is at most 3 in UTF-8 */
	d->out_size = 3 * (READAHEAD_CHUNK_SIZE + 8);
	d->out = xmalloc(d->out_size);
	return 0;
}

static void decoder_close(struct decoder *d)
{
	if (d->cd != (iconv_t)-1)
		iconv_close(d->cd);
	free(d->in);
	free(d->out);
}

/*
 * Decodes data[0..len) into d->out, keeping a character the chunk cut in
 * two for the next call. *bad is set to the offending byte (0..255) when
 * the text is not valid in d's encoding (what came before it is decoded),
 * else -1. Returns the bytes in d->out.
 */
static size_t decode(struct decoder *d, const char *data, size_t len, int *bad)
{
	char *ip = d->in, *op = d->out;
	size_t il, ol = d->out_size;

	*bad = -1;
	memcpy(d->in + d->ncarry, data, len);
	il = d->ncarry + len;
	d->ncarry = 0;
	if (iconv(d->cd, &ip, &il, &op, &ol) == (size_t)-1) {
		if (errno == EINVAL && il < 8) {
			memmove(d->in, ip, il);
			d->ncarry = il;
		} else {
			*bad = (unsigned char)*ip;
		}
	}
	return (size_t)(op - d->out);
}

/* 1 if path names a tab-separated file by its extension. */
static int is_tsv(const char *path)
{
	size_t n = strlen(path);

	return n >= 4 && !strcasecmp(path + n - 4, ".tsv");
}

/*
 * Picks the delimiter from the start of the text: Excel's "sep=X" line
 * (skipped, and counted as line 1), --delimiter, a .tsv name, or else what
 * the header suggests. Returns the bytes to skip.
 */
static size_t choose_delimiter(struct importer *im, struct csv_parser *p, const char *buf,
			       size_t len)
{
	char sep = 0;
	size_t skip = csv_sep_line(buf, len, &sep);

	if (skip)
		im->line = im->rec_line = 2;
	im->header_delim = csv_delimiter_sniff(buf + skip, len - skip);
	im->delim = im->o->delimiter   ? im->o->delimiter
		    : skip	       ? sep
		    : is_tsv(im->path) ? '\t'
				       : im->header_delim;
	csv_set_delim(p, (unsigned char)im->delim);
	return skip;
}

/* The encoding of the file that starts with buf[0..len), and the BOM's length. */
static enum csv_encoding choose_encoding(struct importer *im, const char *buf, size_t len,
					 size_t *bom)
{
	enum csv_encoding want = im->o->encoding, found;

	*bom = csv_bom(buf, len, &found);
	if (*bom) {
		if (want != CSV_ENC_AUTO && want != found &&
		    !(want == CSV_ENC_UTF16 && found != CSV_ENC_UTF8))
			warning("%s: --encoding %s is ignored: the file starts with a %s byte "
				"order mark",
				im->path, csv_encoding_option(want), csv_encoding_label(found));
		return found;
	}
	if (want == CSV_ENC_AUTO)
		return CSV_ENC_UTF8;
	if (want == CSV_ENC_UTF16) /* no BOM: a NUL first is the high byte of 'c' */
		return len && buf[0] == '\0' ? CSV_ENC_UTF16BE : CSV_ENC_UTF16LE;
	return want;
}

/* Decodes and parses one chunk of the file. */
static int parse_chunk(struct importer *im, struct csv_parser *p, struct decoder *d,
		       const char *data, size_t len)
{
	size_t skip;
	int bad = -1;

	if (d->cd != (iconv_t)-1) {
		len = decode(d, data, len, &bad);
		data = d->out;
	}
	if (!im->delim && len) {
		skip = choose_delimiter(im, p, data, len);
		data += skip;
		len -= skip;
	}
	if (feed(im, p, data, len) < 0)
		return -1;
	if (bad >= 0)
		return fatal(im, im->line, "byte 0x%02X is not valid %s (see --encoding)", bad,
			     csv_encoding_label(d->enc));
	return 0;
}

/* Streams the file through the parser; its sha256 and size are computed on the way. */
static int parse_file(struct importer *im, int fd, char sha256_hex[65], int64_t *size)
{
	struct readahead *ra = readahead_start(fd, im->path);
	struct decoder d = {.cd = (iconv_t)-1};
	struct csv_parser p;
	const char *data;
	int first = 1, ret = -1;
	ssize_t n;

	if (!ra)
		return -1;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		die("cannot initialise the CSV parser");
	*size = 0;
	while ((n = readahead_next(ra, &data)) > 0) {
		if (signals_level() != SIGNALS_NONE) {
			/* a 64 KiB chunk takes well under a millisecond: the stop is prompt */
			im->interrupted = 1;
			error("%s: interrupted at line %lld: nothing was imported", im->path,
			      (long long)im->line);
			goto out;
		}
		*size += n;
		if (first) {
			size_t bom;

			first = 0;
			if (decoder_open(im, &d, choose_encoding(im, data, (size_t)n, &bom)) < 0)
				goto out;
			data += bom;
			n -= (ssize_t)bom;
		}
		if (parse_chunk(im, &p, &d, data, (size_t)n) < 0)
			goto out;
	}
	if (n < 0)
		goto out;
	if (d.ncarry) {
		fatal(im, im->line, "ends in the middle of a %s character",
		      csv_encoding_label(d.enc));
		goto out;
	}
	if (csv_fini(&p, on_field, on_record, im) != 0) {
		fatal(im, im->rec_line, "unterminated quoted field");
		goto out;
	}
	if (im->failed)
		goto out;
	if (im->in_header) {
		fatal(im, 0, "is empty: no header line");
		goto out;
	}
	if (flush(im) < 0)
		goto out;
	readahead_sha256_hex(ra, sha256_hex);
	im->stats->likely_encoding =
	    im->guess_votes[1] > im->guess_votes[0] ? CSV_ENC_MACINTOSH : CSV_ENC_WINDOWS_1252;
	ret = 0;
out:
	csv_free(&p);
	decoder_close(&d);
	readahead_stop(ra);
	return ret;
}

int csv_import_file(struct store *st, const char *path, const struct import_options *o,
		    struct import_stats *stats)
{
	struct importer im = {0};
	int stdin_fd = !strcmp(path, "-");
	char sha256_hex[65];
	int64_t import_id, size;
	struct stat sb;
	int fd, ret = -1;

	memset(stats, 0, sizeof(*stats));
	/* a pipe, /dev/stdin or <(...) streams like a file: only a directory is refused */
	fd = stdin_fd ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open '%s'", path);
	if (stdin_fd)
		path = "stdin";
	if (fstat(fd, &sb) < 0 || S_ISDIR(sb.st_mode)) {
		if (!stdin_fd)
			close(fd);
		return error("'%s' is a directory, not a CSV file", path);
	}
	im.st = st;
	im.path = path;
	im.o = o;
	im.stats = stats;
	im.now_ms = clock_now_ms();
	im.line = im.rec_line = 1;
	im.in_header = 1;
	for (size_t i = 0; i < STORE_UPSERT_BATCH; i++)
		strbuf_init(&im.rec[i].cells, 512);
	strbuf_init(&im.reason, 0);
	strbuf_init(&im.display, 0);
	strbuf_init(&im.key, 0);

	if (store_begin_bulk(st) < 0)
		goto out;
	if (store_forget_keyless(st, path) < 0 ||
	    store_import_start(st, path, S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : 0, "",
			       im.now_ms, &import_id) < 0 ||
	    parse_file(&im, fd, sha256_hex, &size) < 0)
		goto out;
	/* the hash (and a pipe's size) are known only at the end: record them with the figures */
	if (store_import_finish(st, import_id, stats, clock_now_ms()) < 0 ||
	    store_import_hash(st, import_id, sha256_hex, size) < 0 || store_commit(st) < 0)
		goto out;
	ret = 0;
out:
	if (ret)
		store_rollback(st);
	if (ret && im.interrupted)
		ret = -2;
	if (!stdin_fd)
		close(fd);
	for (size_t i = 0; i < STORE_UPSERT_BATCH; i++) {
		strbuf_release(&im.rec[i].cells);
		free(im.rec[i].off);
	}
	strbuf_release(&im.reason);
	strbuf_release(&im.display);
	strbuf_release(&im.key);
	free(im.header_col);
	return ret;
}

void csv_import_print_summary(FILE *f, const char *path, const struct import_stats *s)
{
	struct strbuf shown = STRBUF_INIT;

	/* A file name is the user's text: shown inert, like every message. */
	strbuf_add_inert(&shown, path, 1000);
	fprintf(f,
		"imported %s: %lld rows read, %lld accepted, %lld invalid, %lld unchanged, "
		"%lld updated",
		shown.buf, (long long)s->rows_read, (long long)s->accepted, (long long)s->invalid,
		(long long)s->unchanged, (long long)s->updated);
	if (s->blank)
		fprintf(f, ", %lld blank skipped", (long long)s->blank);
	fputc('\n', f);
	if (s->not_utf8)
		fprintf(f,
			"%lld row%s not valid UTF-8: the file looks like %s: use --encoding %s "
			"or save it as CSV UTF-8\n",
			(long long)s->not_utf8, s->not_utf8 == 1 ? " is" : "s are",
			csv_encoding_label((enum csv_encoding)s->likely_encoding),
			csv_encoding_option((enum csv_encoding)s->likely_encoding));
	strbuf_release(&shown);
}
