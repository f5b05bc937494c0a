/*
 * csv_import.c: see csv_import.h.
 *
 * libcsv reports fields and row ends but not line numbers, so the input is
 * fed to it one physical line at a time: whenever a line has been fed and
 * the parser is between records, the next record starts on the next line.
 */
#include "csv_import.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "readahead.h"
#include "strbuf.h"
#include "util.h"
#include "validate.h"

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
	COL_COUNT
};

static const char *const column_names[COL_COUNT] = {
    "customer_id",	    "customer_name",	       "customer_email", "products",
    "redirect_uri",	    "minutes_to_expire",       "sandbox",	 "manual",
    "integration_provider", "integration_auth_method",
};

const struct option import_long_options[] = {
    {"products", required_argument, NULL, IMPORT_OPT_PRODUCTS},
    {"redirect-uri", required_argument, NULL, IMPORT_OPT_REDIRECT_URI},
    {"minutes-to-expire", required_argument, NULL, IMPORT_OPT_MINUTES_TO_EXPIRE},
    {"sandbox", required_argument, NULL, IMPORT_OPT_SANDBOX},
    {NULL, 0, NULL, 0},
};

const char import_options_help[] =
    "  --products LIST           products for rows whose products cell is empty\n"
    "  --redirect-uri URI        redirect_uri for rows that have none\n"
    "  --minutes-to-expire N     minutes_to_expire (1..129600) for rows that have none\n"
    "  --sandbox finch|provider  sandbox for rows that have none\n";

int import_option_apply(struct import_options *o, int c, const char *arg)
{
	struct import_defaults *d = &o->defaults;
	char why[VALIDATE_WHY_MAX];

	switch (c) {
	case IMPORT_OPT_PRODUCTS:
		if (parse_products(arg, &d->products, why, sizeof(why)) < 0 ||
		    validate_products(d->products, why, sizeof(why)) < 0)
			return error("--products '%s': %s", arg, why);
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
	}
	return 0;
}

#define PSTATE_IDLE 0 /* libcsv's ROW_NOT_BEGUN */

/* One CSV record: cell i is cells.buf[off[i]], NUL-terminated. */
struct record {
	struct strbuf cells;
	size_t *off;
	size_t ncells, alloc_cells;
	int64_t line;		    /* the line it starts on */
	struct connect_request req; /* a valid row's request, pointing into cells */
};

struct importer {
	struct store *st;
	const char *path;
	const struct import_options *o;
	struct import_stats *stats;
	int64_t now_ms;

	int64_t line;	  /* the physical line being fed, 1-based */
	int64_t rec_line; /* the line the current record started on */
	int in_header;	  /* the next record is the header */
	int failed;	  /* a fatal error was reported: stop */
	char eol;	  /* the line end: '\n', or '\r' in a classic Mac file */

	/*
	 * Valid rows wait in rec[0..nqueued) to be stored a batch at a time;
	 * the record being read goes to rec[nqueued]. Invalid rows are stored
	 * at once, after the batch: rows reach the store in file order.
	 */
	struct record rec[STORE_UPSERT_BATCH];
	struct customer_upsert queue[STORE_UPSERT_BATCH];
	size_t nqueued;

	size_t nheader;		 /* cells in the header */
	int *header_col;	 /* header cell -> enum column, or -1 */
	int col_cell[COL_COUNT]; /* column -> header cell, or -1 */

	struct strbuf reason; /* reused for every invalid row */
	struct strbuf display;
};

static void on_field(void *data, size_t len, void *ctx)
{
	struct importer *im = ctx;
	struct record *rec = &im->rec[im->nqueued];

	if (rec->ncells == rec->alloc_cells) {
		rec->alloc_cells = rec->alloc_cells ? rec->alloc_cells * 2 : 16;
		rec->off = xrealloc(rec->off, rec->alloc_cells * sizeof(*rec->off));
	}
	rec->off[rec->ncells++] = rec->cells.len;
	if (len)
		strbuf_add(&rec->cells, data, len);
	strbuf_addch(&rec->cells, '\0');
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

static void read_header(struct importer *im, const struct record *rec)
{
	im->nheader = rec->ncells;
	im->header_col = xmalloc((im->nheader ? im->nheader : 1) * sizeof(*im->header_col));
	for (int c = 0; c < COL_COUNT; c++)
		im->col_cell[c] = -1;
	for (size_t i = 0; i < im->nheader; i++) {
		struct strbuf name = STRBUF_INIT;

		im->header_col[i] = -1;
		if (utf8_count(cell(rec, i), cell_len(rec, i)) < 0) {
			fatal(im, im->rec_line, "the header is not valid UTF-8 (column %zu)",
			      i + 1);
			return;
		}
		strbuf_addstr(&name, cell(rec, i));
		strbuf_trim(&name);
		for (int c = 0; c < COL_COUNT; c++) {
			if (strcasecmp(name.buf, column_names[c]))
				continue;
			if (im->col_cell[c] >= 0) {
				fatal(im, im->rec_line,
				      "column '%s' appears twice (columns %d and %zu)",
				      column_names[c], im->col_cell[c] + 1, i + 1);
				strbuf_release(&name);
				return;
			}
			im->col_cell[c] = (int)i;
			im->header_col[i] = c;
		}
		if (im->header_col[i] < 0 && name.len && !im->o->quiet)
			warning("%s:%lld: unknown column '%s' is ignored", im->path,
				(long long)im->rec_line, name.buf);
		strbuf_release(&name);
	}
	if (im->col_cell[COL_CUSTOMER_ID] < 0)
		fatal(im, im->rec_line, "the header has no 'customer_id' column");
	else if (im->col_cell[COL_CUSTOMER_NAME] < 0)
		fatal(im, im->rec_line, "the header has no 'customer_name' column");
	else if (im->col_cell[COL_PRODUCTS] < 0 && !im->o->defaults.products)
		fatal(im, im->rec_line, "the header has no 'products' column (or give --products)");
}

/* Copies s into im->display with bytes that are not valid UTF-8 shown as '?'. */
static const char *printable(struct importer *im, const char *s)
{
	size_t len = strlen(s);

	strbuf_reset(&im->display);
	for (size_t i = 0; i < len;) {
		size_t n = 1;

		while (n < 4 && i + n < len && ((unsigned char)s[i + n] & 0xC0) == 0x80)
			n++;
		/* take the longest prefix that is one valid character */
		while (n > 1 && utf8_count(s + i, n) != 1)
			n--;
		if (utf8_count(s + i, n) == 1 && (unsigned char)s[i] >= 0x20)
			strbuf_add(&im->display, s + i, n);
		else
			strbuf_addch(&im->display, '?');
		i += n;
	}
	return im->display.buf;
}

/*
 * Stores rec as an invalid row. key is the customer_id when it can name a
 * customer, NULL when the line can only be kept as a report.
 */
static int reject(struct importer *im, const struct record *rec, const char *key,
		  const char *column, const char *why)
{
	char *display_id;
	int ret;

	strbuf_reset(&im->reason);
	strbuf_addf(&im->reason, "%s:%lld: %s: %s", im->path, (long long)rec->line, column, why);
	im->stats->invalid++;
	if (im->stats->invalid <= (int64_t)im->o->max_reasons)
		fprintf(stderr, "%s: invalid: %s\n", util_progname(), im->reason.buf);
	display_id = xstrdup(printable(im, col(im, rec, COL_CUSTOMER_ID)));
	ret = store_mark_invalid(im->st, key, display_id,
				 printable(im, col(im, rec, COL_CUSTOMER_NAME)), im->reason.buf,
				 im->path, rec->line, im->now_ms);
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

	if (validate_request(r, column, why, size) < 0) {
		/* the contract's names of the nested fields are the CSV's flat ones */
		if (!strcmp(*column, "integration.provider"))
			*column = column_names[COL_INTEGRATION_PROVIDER];
		else if (!strcmp(*column, "integration.auth_method"))
			*column = column_names[COL_INTEGRATION_AUTH_METHOD];
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

	*keyed = 1;
	if (!all_ascii(rec->cells.buf, rec->cells.len)) {
		for (size_t i = 0; i < rec->ncells; i++) {
			int c = i < im->nheader ? im->header_col[i] : -1;

			if (utf8_count(cell(rec, i), cell_len(rec, i)) >= 0)
				continue;
			*column = c >= 0 ? column_names[c] : "row";
			*keyed = c != COL_CUSTOMER_ID;
			snprintf(why, size, "is not valid UTF-8");
			return -1;
		}
	}
	if (validate_customer_field(id, strlen(id), why, size) < 0) {
		*column = column_names[COL_CUSTOMER_ID];
		*keyed = 0;
		return -1;
	}
	if (rec->ncells > im->nheader) {
		*column = "row";
		snprintf(why, size, "%zu cells, but the header has %zu", rec->ncells, im->nheader);
		return -1;
	}
	return build_request(im, rec, column, why, size);
}

/* Queues rec if it is valid (storing the batch when full), or stores it as invalid. */
static int import_row(struct importer *im, struct record *rec)
{
	const char *column = NULL;
	char why[VALIDATE_WHY_MAX + 32];
	size_t i;
	int keyed;

	for (i = 0; i < rec->ncells && !cell_len(rec, i); i++)
		;
	if (i == rec->ncells)
		return 0; /* ",,," is a blank line a spreadsheet wrote */
	im->stats->rows_read++;

	if (check_row(im, rec, &column, why, sizeof(why), &keyed) == 0) {
		im->queue[im->nqueued].req = &rec->req;
		im->queue[im->nqueued].line = rec->line;
		if (++im->nqueued == STORE_UPSERT_BATCH)
			return flush(im);
		return 0;
	}
	/* the rows before it first: whether its id is usable depends on them */
	if (flush(im) < 0)
		return -1;
	return reject(im, rec, keyed ? id_usable(im, rec) : NULL, column, why);
}

static void on_record(int term, void *ctx)
{
	struct importer *im = ctx;
	struct record *rec = &im->rec[im->nqueued];

	(void)term;
	if (im->failed)
		return;
	rec->line = im->rec_line;
	if (im->in_header) {
		im->in_header = 0;
		read_header(im, rec);
	} else if (import_row(im, rec) < 0) {
		im->failed = 1;
	}
	/* the next record goes to the slot after the queue, which may be this one */
	rec = &im->rec[im->nqueued];
	strbuf_reset(&rec->cells);
	rec->ncells = 0;
}

/* Feeds buf[0..len) to the parser one physical line at a time. */
static int feed(struct importer *im, struct csv_parser *p, const char *buf, size_t len)
{
	const char *nul = memchr(buf, '\0', len);

	if (!im->eol)
		im->eol = memchr(buf, '\n', len) || !memchr(buf, '\r', len) ? '\n' : '\r';
	if (nul) {
		int64_t line = im->line;

		for (const char *q = buf; q < nul; q++)
			line += *q == im->eol;
		return fatal(im, line, "contains a NUL byte");
	}
	while (len && !im->failed) {
		const char *nl = memchr(buf, im->eol, len);
		size_t n = nl ? (size_t)(nl - buf) + 1 : len;

		if (csv_parse(p, buf, n, on_field, on_record, im) != n) {
			if (im->failed)
				return -1;
			return fatal(im, im->line, "malformed quoted field (%s)",
				     csv_strerror(csv_error(p)));
		}
		if (nl) {
			im->line++;
			if (p->pstate == PSTATE_IDLE)
				im->rec_line = im->line;
		}
		buf += n;
		len -= n;
	}
	return im->failed ? -1 : 0;
}

/* Streams the file through the parser; its sha256 is computed on the way. */
static int parse_file(struct importer *im, int fd, char sha256_hex[65])
{
	struct readahead *ra = readahead_start(fd, im->path);
	struct csv_parser p;
	const char *data;
	int first = 1, ret = -1;
	ssize_t n;

	if (!ra)
		return -1;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		die("cannot initialise the CSV parser");
	while ((n = readahead_next(ra, &data)) > 0) {
		if (first && n >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) {
			data += 3; /* the UTF-8 BOM Excel writes */
			n -= 3;
		}
		first = 0;
		if (feed(im, &p, data, (size_t)n) < 0)
			goto out;
	}
	if (n < 0)
		goto out;
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
	ret = 0;
out:
	csv_free(&p);
	readahead_stop(ra);
	return ret;
}

int csv_import_file(struct store *st, const char *path, const struct import_options *o,
		    struct import_stats *stats)
{
	struct importer im = {0};
	char sha256_hex[65];
	int64_t import_id;
	struct stat sb;
	int fd, ret = -1;

	memset(stats, 0, sizeof(*stats));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open '%s'", path);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return error("'%s' is not a regular file", path);
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

	if (store_begin_bulk(st) < 0)
		goto out;
	if (store_forget_keyless(st, path) < 0 ||
	    store_import_start(st, path, (int64_t)sb.st_size, "", im.now_ms, &import_id) < 0 ||
	    parse_file(&im, fd, sha256_hex) < 0)
		goto out;
	/* the hash is known only at the end: record it with the figures */
	if (store_import_finish(st, import_id, stats, clock_now_ms()) < 0 ||
	    store_import_hash(st, import_id, sha256_hex) < 0 || store_commit(st) < 0)
		goto out;
	ret = 0;
out:
	if (ret)
		store_rollback(st);
	close(fd);
	for (size_t i = 0; i < STORE_UPSERT_BATCH; i++) {
		strbuf_release(&im.rec[i].cells);
		free(im.rec[i].off);
	}
	strbuf_release(&im.reason);
	strbuf_release(&im.display);
	free(im.header_col);
	return ret;
}
