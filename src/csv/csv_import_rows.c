/*
 * csv_import_rows.c: what each record of an import becomes; see
 * csv_importer.h.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/utf8.h"
#include "base/util.h"
#include "csv/csv_import.h"
#include "csv/csv_importer.h"
#include "csv/csv_text.h"
#include "store/store_import.h"

static int reject(struct importer *im, const struct record *rec, const char *key,
		  const char *column, const char *why);

void importer_header(struct importer *im, const struct record *rec)
{
	const char **cells = xmalloc((rec->ncells ? rec->ncells : 1) * sizeof(*cells));
	size_t *lens = xmalloc((rec->ncells ? rec->ncells : 1) * sizeof(*lens));
	struct csv_header_input in = {
	    .cells = cells,
	    .lens = lens,
	    .ncells = rec->ncells,
	    .path = im->path,
	    .line = im->rec_line,
	    .cols = &im->o->columns,
	    .products_default = im->o->defaults.products != 0,
	    .quiet = im->o->quiet,
	    .delim = im->delim,
	    .header_delim = im->header_delim,
	};

	for (size_t i = 0; i < rec->ncells; i++) {
		cells[i] = cell(rec, i);
		lens[i] = cell_len(rec, i);
	}
	if (csv_header_resolve(&im->hdr, &in) < 0)
		im->failed = 1;
	free(cells);
	free(lens);
}

/*
 * Stores rec as an invalid row. key is the customer_id when it can name a
 * customer, NULL when the line can only be kept as a report.
 */
static int reject(struct importer *im, const struct record *rec, const char *key,
		  const char *column, const char *why)
{
	size_t ci = (size_t)im->hdr.col_cell[CSV_COL_CUSTOMER_ID],
	       cn = (size_t)im->hdr.col_cell[CSV_COL_CUSTOMER_NAME];
	char *display_id;
	int ret;

	strbuf_reset(&im->reason);
	strbuf_addf(&im->reason, "%s:%lld: %s: %s", im->path, (long long)rec->line, column, why);
	im->stats->invalid++;
	/* --quiet means the same in import and sync: no line per row, a debug event */
	if (im->o->quiet)
		log_event(LOG_DEBUG, "row_invalid", im->reason.buf, LOG_END);
	else if (im->stats->invalid <= (int64_t)im->o->max_reasons)
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

/* The cell of column c in rec, or dflt when it is empty. */
static char *col_or(struct importer *im, struct record *rec, enum csv_column c, const char *dflt)
{
	const char *v = col(im, rec, c);

	return (char *)(*v ? v : dflt);
}

/* The cell of column c in rec, which a parser reads next: *column names c for its reason. */
static const char *col_named(struct importer *im, struct record *rec, enum csv_column c,
			     const char **column)
{
	*column = csv_column_names[c];
	return col(im, rec, c);
}

/* Builds rec->req from rec, pointing into its cells (req owns nothing). */
static int build_request(struct importer *im, struct record *rec, const char **column, char *why,
			 size_t size)
{
	const struct import_defaults *d = &im->o->defaults;
	struct connect_request *r = &rec->req;
	const char *v;

	connect_request_init(r);
	r->customer_id = (char *)col(im, rec, CSV_COL_CUSTOMER_ID);
	r->customer_name = (char *)col(im, rec, CSV_COL_CUSTOMER_NAME);
	r->customer_email = col_or(im, rec, CSV_COL_CUSTOMER_EMAIL, NULL);
	r->redirect_uri = col_or(im, rec, CSV_COL_REDIRECT_URI, d->redirect_uri);
	r->sandbox = col_or(im, rec, CSV_COL_SANDBOX, d->sandbox);
	r->integration_provider = col_or(im, rec, CSV_COL_INTEGRATION_PROVIDER, NULL);
	r->integration_auth_method = col_or(im, rec, CSV_COL_INTEGRATION_AUTH_METHOD, NULL);
	r->recordkeeper = col_or(im, rec, CSV_COL_RECORDKEEPING_RECORDKEEPER, NULL);
	r->recordkeeping_plan_id = col_or(im, rec, CSV_COL_RECORDKEEPING_PLAN_ID, NULL);

	/* the defaults, unless the row has its own (a parser sets all of it, or fails) */
	r->products = d->products;
	r->minutes_to_expire = d->minutes_to_expire;
	v = col_named(im, rec, CSV_COL_PRODUCTS, column);
	if (*v && parse_products(v, &r->products, why, size) < 0)
		return -1;
	v = col_named(im, rec, CSV_COL_MINUTES_TO_EXPIRE, column);
	if (*v && parse_minutes_to_expire(v, &r->minutes_to_expire, why, size) < 0)
		return -1;
	v = col_named(im, rec, CSV_COL_MANUAL, column);
	if (*v && parse_bool(v, &r->manual, why, size) < 0)
		return -1;

	if (validate_request(r, column, why, size) < 0) {
		/* the contract's names of the nested fields are the CSV's flat ones */
		if (!strcmp(*column, "integration.provider"))
			*column = csv_column_names[CSV_COL_INTEGRATION_PROVIDER];
		else if (!strcmp(*column, "integration.auth_method"))
			*column = csv_column_names[CSV_COL_INTEGRATION_AUTH_METHOD];
		else if (!strcmp(*column, "recordkeeping.recordkeeper"))
			*column = csv_column_names[CSV_COL_RECORDKEEPING_RECORDKEEPER];
		else if (!strcmp(*column, "recordkeeping.plan_id"))
			*column = csv_column_names[CSV_COL_RECORDKEEPING_PLAN_ID];
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
	const char *id = col(im, rec, CSV_COL_CUSTOMER_ID);
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
 * --keep-column: stores rec's kept cells with its row, a JSON object keyed
 * by the names given to the option, for the export only.
 */
static int store_kept(struct importer *im, const struct record *rec)
{
	const struct csv_columns *cols = &im->o->columns;
	cJSON *obj = cJSON_CreateObject();
	char *json;
	int ret;

	for (size_t k = 0; k < im->hdr.nkeep; k++)
		cJSON_AddItemToObject(obj, cols->keep[k],
				      cJSON_CreateString(cell(rec, (size_t)im->hdr.keep_cell[k])));
	json = cJSON_PrintUnformatted(obj);
	if (!json)
		die("out of memory");
	ret = store_set_kept(im->st, rec->req.customer_id, json);
	cJSON_free(json);
	cJSON_Delete(obj);
	return ret;
}

/*
 * Stores the valid rows waiting in the queue, and counts what that did; a
 * customer an earlier line of this import stored already makes its row
 * invalid.
 */
static int flush(struct importer *im)
{
	size_t n = im->nqueued;
	int64_t *count[] = {
	    [UPSERT_NEW] = &im->stats->accepted,
	    [UPSERT_UNCHANGED] = &im->stats->unchanged,
	    [UPSERT_UPDATED] = &im->stats->updated,
	    [UPSERT_CHANGED] = &im->stats->changed,
	};
	char why[64];

	im->nqueued = 0;
	if (!n)
		return 0;
	if (store_upsert_customers(im->st, im->queue, n, im->path, im->now_ms) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (im->queue[i].res == UPSERT_DUPLICATE) {
			snprintf(why, sizeof(why), "duplicate of line %lld",
				 (long long)im->queue[i].dup_line);
			if (reject(im, &im->rec[i], NULL, csv_column_names[CSV_COL_CUSTOMER_ID],
				   why) < 0)
				return -1;
			continue;
		}
		(*count[im->queue[i].res])++;
		if (im->hdr.nkeep && store_kept(im, &im->rec[i]) < 0)
			return -1;
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
	const char *id = col(im, rec, CSV_COL_CUSTOMER_ID);
	size_t ncells = rec->ncells + rec->nextra;

	*keyed = 1;
	if (rec->long_cell) {
		int c = im->hdr.cell_col[rec->long_cell - 1];

		*column = c >= 0 ? csv_column_names[c] : "row";
		*keyed = c != CSV_COL_CUSTOMER_ID;
		snprintf(why, size, "is longer than %d bytes (%zu), the limit for a cell",
			 CSV_CELL_MAX_BYTES, rec->long_len);
		return -1;
	}
	if (!all_ascii(rec->cells.buf, rec->cells.len)) {
		for (size_t i = 0; i < rec->ncells; i++) {
			int c = im->hdr.cell_col[i];
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
			*column = c >= 0 ? csv_column_names[c] : "row";
			*keyed = c != CSV_COL_CUSTOMER_ID;
			snprintf(why, size, "%s", CSV_NOT_UTF8_WHY);
			return -1;
		}
	}
	/* before the id's rules: a short record has no id where the header says */
	if (ncells != im->hdr.ncells) {
		*column = "row";
		*keyed = !csv_excel_number(id);
		snprintf(why, size, "%zu cell%s, but the header has %zu%s", ncells,
			 ncells == 1 ? "" : "s", im->hdr.ncells,
			 im->cut_short ? ", and the file ends inside it (cut short?)" : "");
		return -1;
	}
	if (csv_excel_number(id)) {
		*column = csv_column_names[CSV_COL_CUSTOMER_ID];
		*keyed = 0;
		snprintf(why, size,
			 "'%s' reads like a number Excel rounded: format the column as Text "
			 "and export again",
			 id);
		return -1;
	}
	if (validate_customer_field(id, strlen(id), why, size) < 0) {
		*column = csv_column_names[CSV_COL_CUSTOMER_ID];
		*keyed = 0;
		return -1;
	}
	if (im->hdr.col_cell[CSV_COL_PRODUCTS] >= 0 &&
	    !all_ascii(col(im, rec, CSV_COL_PRODUCTS), strlen(col(im, rec, CSV_COL_PRODUCTS))))
		utf8_space_to_ascii(rec->cells.buf + rec->off[im->hdr.col_cell[CSV_COL_PRODUCTS]],
				    strlen(col(im, rec, CSV_COL_PRODUCTS)));
	return build_request(im, rec, column, why, size);
}

/* Checks rec, then queues it if it is valid (storing the batch when full), or stores it as invalid.
 */
static int row(struct importer *im, struct record *rec)
{
	const char *column = NULL;
	char why[VALIDATE_WHY_MAX + 96];
	int keyed;

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

/* Keeps a copy of rec, a record not of the header's shape, in im->held. */
static void hold(struct importer *im, const struct record *rec)
{
	struct record *h = &im->held[im->nheld++];

	strbuf_reset(&h->cells);
	strbuf_add(&h->cells, rec->cells.buf, rec->cells.len);
	if (h->alloc_cells < rec->ncells) {
		h->alloc_cells = rec->ncells;
		h->off = xrealloc(h->off, h->alloc_cells * sizeof(*h->off));
	}
	if (rec->ncells)
		memcpy(h->off, rec->off, rec->ncells * sizeof(*h->off));
	h->ncells = rec->ncells;
	h->nextra = rec->nextra;
	h->nseen_extra = rec->nseen_extra;
	h->long_cell = rec->long_cell;
	h->long_len = rec->long_len;
	h->line = rec->line;
	im->held_bytes += rec->cells.len;
}

/*
 * The held records were no footer: a record of the header's shape came after
 * them, or the block did not start as a footer does. cut_short: the file ends
 * inside the last of them.
 */
static int release_held(struct importer *im, int cut_short)
{
	size_t n = im->nheld;

	im->nheld = 0;
	im->held_bytes = 0;
	im->held_blank = 0;
	for (size_t i = 0; i < n; i++) {
		im->cut_short = cut_short && i + 1 == n;
		if (row(im, &im->held[i]) < 0)
			return -1;
	}
	im->cut_short = 0;
	return 0;
}

/* Whether rec is a line of text: exactly one non-empty cell ("Grand Totals (3 records)"). */
static int text_line(const struct record *rec)
{
	size_t full = rec->nextra + (rec->long_cell ? 1 : 0);

	for (size_t i = 0; i < rec->ncells && full < 2; i++)
		full += cell_len(rec, i) != 0;
	return full == 1;
}

int importer_row(struct importer *im, struct record *rec)
{
	size_t i;

	for (i = 0; i < rec->ncells && !cell_len(rec, i); i++)
		;
	if (i == rec->ncells && !rec->nextra && !rec->long_cell) {
		im->stats->blank++; /* ",,," is a blank line a spreadsheet wrote */
		im->after_blank = 1;
		if (im->nheld && !im->held_footer)
			return release_held(im, 0); /* a footer may start after it */
		if (im->nheld)
			im->held_blank++; /* inside a footer: one of its lines */
		im->long_block = 0;
		return 0;
	}
	/*
	 * A record not of the header's shape may start a report's footer (a
	 * line of text, a total of a few cells): it waits for the end of the
	 * file (a footer) or the next record of the header's shape (then it
	 * is a row, invalid, with the shape as its reason). A block longer
	 * than a footer is rows, up to the next record of the header's shape,
	 * and so is a block with none before it: a footer ends a report. Only
	 * a block that starts with a line of text, or after a blank record, is
	 * a footer: "a2,Beta" or "a2,Beta, Inc.,hr@b.example" at the end is a
	 * row, invalid by its shape, never silently gone.
	 */
	if (rec->ncells + rec->nextra == im->hdr.ncells || rec->long_cell) {
		im->long_block = 0;
		im->shaped = 1;
	} else if (im->shaped && !im->long_block && im->nheld < CSV_FOOTER_MAX &&
		   im->held_bytes + rec->cells.len <= CSV_FOOTER_MAX_BYTES) {
		if (!im->nheld)
			im->held_footer = im->after_blank || text_line(rec);
		im->after_blank = 0;
		hold(im, rec);
		return 0;
	} else {
		im->long_block = 1;
	}
	im->after_blank = 0;
	if (release_held(im, 0) < 0)
		return -1;
	if (rec != &im->rec[im->nqueued]) {
		/* releasing stored the queue: rec must be where the next queued record goes */
		struct record tmp = im->rec[im->nqueued];

		im->rec[im->nqueued] = *rec;
		*rec = tmp;
		rec = &im->rec[im->nqueued];
	}
	return row(im, rec);
}

int importer_finish(struct importer *im)
{
	/*
	 * A block that did not start as a footer does is rows. So is one short
	 * record that the file ends inside (no line break after it): a row cut
	 * short, a truncated export, not a footer: a report's footer is several
	 * lines, and they end.
	 */
	if (im->nheld && (!im->held_footer || (im->nheld == 1 && im->mid_line))) {
		if (release_held(im, im->mid_line) < 0)
			return -1;
	}
	/* what is still held is the block at the end of the file: a footer, its blank lines too */
	im->stats->footer += (int64_t)(im->nheld + im->held_blank);
	im->stats->blank -= (int64_t)im->held_blank;
	im->nheld = 0;
	im->held_bytes = 0;
	im->held_blank = 0;
	return flush(im);
}

void importer_release(struct importer *im)
{
	for (size_t i = 0; i < CSV_FOOTER_MAX; i++) {
		strbuf_release(&im->held[i].cells);
		free(im->held[i].off);
	}
}
