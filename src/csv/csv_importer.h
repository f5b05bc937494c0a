/*
 * csv_importer.h: the state of one import, shared by its two halves (not
 * an interface: only src/csv/csv_import*.c include it).
 *
 * csv_import.c reads the file into records (the iconv stage, libcsv, line
 * numbers, bounds); csv_import_rows.c makes each record a row: the header
 * resolved, each row checked, queued or stored as invalid, a report's
 * footer told from a short row.
 */
#ifndef FINCH_CSV_IMPORTER_H
#define FINCH_CSV_IMPORTER_H

#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "csv/csv_header.h"
#include "finch/validate.h"
#include "store/store.h"
#include "store/store_import.h"

struct import_options; /* csv_import.h, included before this header (CSV_FOOTER_MAX) */

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
	int mid_line;	       /* the last byte fed was no CR or LF: the file ends inside a line */
	int cut_short;	       /* the record being checked is the one the file ends inside */
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

	/*
	 * Records not of the header's shape wait in held[0..nheld) for the
	 * next record of its shape (then they are rows, invalid) or the end
	 * of the file (then they are a report's footer, counted, not stored).
	 */
	struct record held[CSV_FOOTER_MAX];
	size_t nheld;
	size_t held_bytes; /* the cells of held[0..nheld) */
	size_t held_blank; /* blank records after held[0]: lines of the footer */
	int held_footer;   /* held[0] may start a footer: a line of text, or after a blank */
	int after_blank;   /* the last record was blank */
	int long_block;	   /* the block outgrew a footer: its records are rows */
	int shaped;	   /* a record of the header's shape was read: a footer may follow */
	int64_t skip_left; /* lines of --skip-lines still to skip */

	struct csv_header hdr;	/* which cell is which column */
	int64_t guess_votes[2]; /* rows not UTF-8 that look Windows-1252, Mac OS Roman */

	struct strbuf reason; /* reused for every invalid row */
	struct strbuf display;
	struct strbuf key;
};

static inline const char *cell(const struct record *rec, size_t i)
{
	return i < rec->ncells ? rec->cells.buf + rec->off[i] : "";
}

static inline size_t cell_len(const struct record *rec, size_t i)
{
	size_t end = i + 1 < rec->ncells ? rec->off[i + 1] : rec->cells.len;

	return i < rec->ncells ? end - rec->off[i] - 1 : 0;
}

/* The cell of column c in rec ("" when absent or short). */
static inline const char *col(const struct importer *im, const struct record *rec,
			      enum csv_column c)
{
	return im->hdr.col_cell[c] < 0 ? "" : cell(rec, (size_t)im->hdr.col_cell[c]);
}

/*
 * Reports a fatal problem of the file at line (0: none), "PATH:LINE: ...;
 * nothing was imported", and stops the import. Returns -1.
 */
int importer_fatal(struct importer *im, int64_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The header record: resolves it into im->hdr (csv_header.h); sets im->failed on a problem. */
void importer_header(struct importer *im, const struct record *rec);
/* A data record: queued when valid (stored a batch at a time), else stored as invalid. */
int importer_row(struct importer *im, struct record *rec);
/*
 * At the end of the file: counts the held records as a footer (but one short
 * record the file ends inside is a row cut short), stores what is queued.
 */
int importer_finish(struct importer *im);
/* Frees what the rows' half holds. */
void importer_release(struct importer *im);

#endif
