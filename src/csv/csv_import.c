/*
 * csv_import.c: see csv_import.h.
 *
 * libcsv reports fields and row ends but not line numbers, so the input is
 * fed to it one physical line at a time: whenever a line has been fed and
 * the parser is between records, the next record starts on the next line.
 */
#include "csv/csv_import.h"
#include "csv/csv_importer.h"

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

#include "base/cli.h"
#include "csv/csv_header.h"
#include "csv/csv_text.h"
#include "csv/readahead.h"
#include "base/signals.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/utf8.h"
#include "finch/reconcile.h"
#include "finch/validate.h"
#include "store/store_import.h"

const struct option import_long_options[] = {
    {"products", required_argument, NULL, IMPORT_OPT_PRODUCTS},
    {"redirect-uri", required_argument, NULL, IMPORT_OPT_REDIRECT_URI},
    {"minutes-to-expire", required_argument, NULL, IMPORT_OPT_MINUTES_TO_EXPIRE},
    {"sandbox", required_argument, NULL, IMPORT_OPT_SANDBOX},
    {"encoding", required_argument, NULL, IMPORT_OPT_ENCODING},
    {"delimiter", required_argument, NULL, IMPORT_OPT_DELIMITER},
    {"allow-product", required_argument, NULL, IMPORT_OPT_ALLOW_PRODUCT},
    {"column", required_argument, NULL, IMPORT_OPT_COLUMN},
    {"ignore-column", required_argument, NULL, IMPORT_OPT_IGNORE_COLUMN},
    {"keep-column", required_argument, NULL, IMPORT_OPT_KEEP_COLUMN},
    {"skip-lines", required_argument, NULL, IMPORT_OPT_SKIP_LINES},
    {"read-timeout", required_argument, NULL, IMPORT_OPT_READ_TIMEOUT},
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
    "  --allow-product NAME      accept product NAME, newer than this build (repeatable)\n"
    "  --column FIELD=HEADER     read the file's column HEADER as FIELD, e.g.\n"
    "                            --column customer_id='Account ID' (repeatable)\n"
    "  --ignore-column HEADER    a column known to be there: no warning (repeatable)\n"
    "  --keep-column HEADER      store the column's value with its row, for the\n"
    "                            export only; never sent\n"
    "                            (repeatable)\n"
    "  --skip-lines N            skip N lines above the header (a report's preamble)\n"
    "  --read-timeout D          give up (exit 2, nothing imported) when a FIFO, pipe\n"
    "                            or terminal sends nothing for D (0: none; default\n"
    "                            " IMPORT_READ_TIMEOUT_DEFAULT
    "); the database is locked only once\n"
    "                            its first bytes came\n";

void import_options_release(struct import_options *o)
{
	csv_columns_release(&o->columns);
}

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
	case IMPORT_OPT_COLUMN:
		return csv_columns_add_map(&o->columns, arg) < 0 ? -1 : 1;
	case IMPORT_OPT_IGNORE_COLUMN:
		return csv_columns_add_ignore(&o->columns, arg) < 0 ? -1 : 1;
	case IMPORT_OPT_KEEP_COLUMN:
		return csv_columns_add_keep(&o->columns, arg) < 0 ? -1 : 1;
	case IMPORT_OPT_SKIP_LINES:
		if (parse_int64(arg, 0, 1000000, &o->skip_lines) < 0)
			return error(
			    "--skip-lines '%s': expects a number of lines from 0 to 1000000", arg);
		return 1;
	case IMPORT_OPT_READ_TIMEOUT:
		if (csv_read_timeout_option(arg, &o->read_timeout_ms) < 0)
			return -1;
		o->read_timeout = arg;
		return 1;
	}
	return 0;
}

int import_options_finish(struct import_options *o)
{
	struct import_defaults *d = &o->defaults;
	char why[VALIDATE_WHY_MAX];

	if (!o->read_timeout) {
		o->read_timeout = IMPORT_READ_TIMEOUT_DEFAULT;
		parse_duration_ms(o->read_timeout, &o->read_timeout_ms);
	}
	if (!d->products_arg)
		return 0;
	if (parse_products(d->products_arg, &d->products, why, sizeof(why)) < 0 ||
	    validate_products(d->products, why, sizeof(why)) < 0) {
		/* a config file's products names its line and key, as a bad value does */
		util_set_context(cli_value_origin(d->products_arg));
		error("--products '%s': %s%s", d->products_arg, why,
		      strstr(why, "unknown product") ? " (a product newer than this build needs "
						       "--allow-product NAME)"
						     : "");
		util_set_context(NULL);
		return -1;
	}
	return 0;
}

/* libcsv's parser states (csv.h keeps them private) */
#define PSTATE_IDLE		      0 /* ROW_NOT_BEGUN */
#define PSTATE_FIELD		      2 /* FIELD_BEGUN */
#define PSTATE_FIELD_MIGHT_HAVE_ENDED 3

/* The iconv stage: the file's bytes in, UTF-8 out. */
struct decoder {
	iconv_t cd;		 /* (iconv_t)-1: the file is UTF-8 already */
	enum csv_encoding enc;	 /* what it decodes */
	char *in, *out;		 /* the carried bytes plus a chunk; its UTF-8 */
	size_t ncarry, out_size; /* in[0..ncarry): a character cut by the chunk's end */
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
	if (!im->in_header && rec->ncells >= im->hdr.ncells) {
		rec->nseen_extra++;
		if (len || cut)
			rec->nextra = rec->nseen_extra;
		return;
	}
	add_cell(rec, s, len, cut);
}

int importer_fatal(struct importer *im, int64_t line, const char *fmt, ...)
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
		importer_fatal(im, im->rec_line,
			       "internal error: a second record starts on this line");
		return;
	}
	im->last_rec_line = im->rec_line;
	rec->line = im->rec_line;
	if (im->in_header) {
		im->in_header = 0;
		importer_header(im, rec);
	} else if (importer_row(im, rec) < 0) {
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
		return importer_fatal(
		    im, im->rec_line,
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
			return importer_fatal(
			    im, line,
			    "contains a NUL byte (a UTF-16 file without a byte order "
			    "mark? try --encoding utf-16)");
		return importer_fatal(im, line, "contains a NUL byte");
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
			return importer_fatal(im, im->line, "malformed quoted field (%s)",
					      csv_strerror(csv_error(p)));
		}
		if (im->failed || bound(im, p, n) < 0)
			return -1;
		im->mid_line = !end;
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
		return importer_fatal(im, 0, "cannot decode %s: %s", csv_encoding_label(enc),
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
		im->rec_line = ++im->line;
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

/*
 * --skip-lines: skips what is left of the preamble in buf[0..len), counting
 * its lines ("\r\n", "\n" and a lone "\r" are one each). Returns the bytes
 * to skip.
 */
static size_t skip_preamble(struct importer *im, const char *buf, size_t len)
{
	size_t i = 0;

	while (i < len && im->skip_left) {
		char ch = buf[i++];

		if (ch == '\n' && im->last_cr) {
			im->last_cr = 0; /* the LF of a CRLF cut by the chunk's end */
			continue;
		}
		im->last_cr = ch == '\r';
		if (ch == '\r' || ch == '\n') {
			im->skip_left--;
			im->line++;
		}
	}
	if (!im->skip_left && im->last_cr && i < len && buf[i] == '\n') {
		i++;
		im->last_cr = 0;
	}
	im->rec_line = im->line;
	return i;
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
	if (im->skip_left) {
		skip = skip_preamble(im, data, len);
		data += skip;
		len -= skip;
	}
	if (!im->delim && len) {
		skip = choose_delimiter(im, p, data, len);
		data += skip;
		len -= skip;
	}
	if (feed(im, p, data, len) < 0)
		return -1;
	if (bad >= 0)
		return importer_fatal(im, im->line, "byte 0x%02X is not valid %s (see --encoding)",
				      bad, csv_encoding_label(d->enc));
	return 0;
}

/* Streams the file through the parser; its sha256 and size are computed on the way. */
static int parse_file(struct importer *im, const struct csv_input *in, char sha256_hex[65],
		      int64_t *size)
{
	struct readahead *ra =
	    readahead_start(in->fd, im->path, signals_fd(), im->o->read_timeout_ms);
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
	while ((n = readahead_next(ra, &data)) > 0 || n == READAHEAD_WOKEN) {
		if (n == READAHEAD_WOKEN || signals_level() != SIGNALS_NONE) {
			/*
			 * a 64 KiB chunk takes well under a millisecond, and a pipe
			 * that stalls wakes the reader (READAHEAD_WOKEN): the stop is
			 * prompt, and the transaction rolls back
			 */
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
	if (n == READAHEAD_TIMEOUT)
		csv_input_timed_out(in->name, im->o->read_timeout);
	if (n < 0)
		goto out;
	if (d.ncarry) {
		importer_fatal(im, im->line, "ends in the middle of a %s character",
			       csv_encoding_label(d.enc));
		goto out;
	}
	if (csv_fini(&p, on_field, on_record, im) != 0) {
		importer_fatal(im, im->rec_line, "unterminated quoted field");
		goto out;
	}
	if (im->failed)
		goto out;
	if (im->in_header) {
		importer_fatal(im, 0, "is empty: no header line");
		goto out;
	}
	if (importer_finish(im) < 0)
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

/*
 * After the last row: withdrawn rows the file has come back, and, when
 * asked, the rows it lacks are withdrawn, unless the guard refuses (a
 * truncated export): then the whole import is refused.
 */
static int reconcile_missing(struct importer *im)
{
	int64_t active = 0, missing = 0, now = clock_now_ms();
	char why[512];

	if (store_return_seen(im->st, now, &im->stats->returned) < 0)
		return -1;
	if (!im->o->withdraw)
		return 0;
	if (store_count_missing(im->st, &active, &missing) < 0)
		return -1;
	if (reconcile_withdraw_check(active, missing, im->stats->rows_read, im->o->withdraw, why,
				     sizeof(why)) < 0)
		return error("'%s': %s", im->path, why);
	return store_withdraw_missing(im->st, now, &im->stats->withdrawn);
}

int csv_import_file(struct store *st, const char *path, const struct import_options *o,
		    struct import_stats *stats)
{
	struct csv_input in = CSV_INPUT_INIT;
	int ret;

	memset(stats, 0, sizeof(*stats));
	ret = csv_input_open(&in, path, o->read_timeout_ms, o->read_timeout);
	if (ret < 0)
		return ret;
	ret = csv_import_input(st, &in, o, stats);
	csv_input_close(&in);
	return ret;
}

int csv_import_input(struct store *st, const struct csv_input *in, const struct import_options *o,
		     struct import_stats *stats)
{
	struct importer im = {0};
	const char *path = in->name;
	char sha256_hex[65];
	int64_t import_id, size;
	int ret = -1;

	memset(stats, 0, sizeof(*stats));
	im.st = st;
	im.path = path;
	im.o = o;
	im.stats = stats;
	im.now_ms = clock_now_ms();
	im.line = im.rec_line = 1;
	im.in_header = 1;
	for (size_t i = 0; i < STORE_UPSERT_BATCH; i++)
		strbuf_init(&im.rec[i].cells, 512);
	for (size_t i = 0; i < CSV_FOOTER_MAX; i++)
		strbuf_init(&im.held[i].cells, 0);
	im.skip_left = o->skip_lines;
	strbuf_init(&im.reason, 0);
	strbuf_init(&im.display, 0);
	strbuf_init(&im.key, 0);

	if (store_begin_bulk(st) < 0)
		goto out;
	if (store_forget_keyless(st, path) < 0 ||
	    store_import_start(st, path, S_ISREG(in->st.st_mode) ? (int64_t)in->st.st_size : 0, "",
			       im.now_ms, &import_id) < 0 ||
	    parse_file(&im, in, sha256_hex, &size) < 0)
		goto out;
	if (reconcile_missing(&im) < 0)
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
	for (size_t i = 0; i < STORE_UPSERT_BATCH; i++) {
		strbuf_release(&im.rec[i].cells);
		free(im.rec[i].off);
	}
	strbuf_release(&im.reason);
	strbuf_release(&im.display);
	strbuf_release(&im.key);
	csv_header_release(&im.hdr);
	importer_release(&im);
	return ret;
}

void csv_import_print_summary(FILE *f, const char *verb, const char *path,
			      const struct import_stats *s)
{
	struct strbuf shown = STRBUF_INIT;

	/* A file name is the user's text: shown inert, like every message. */
	strbuf_add_inert(&shown, path, 1000);
	fprintf(f,
		"%s %s: %lld rows read, %lld accepted, %lld invalid, %lld unchanged, "
		"%lld updated",
		verb, shown.buf, (long long)s->rows_read, (long long)s->accepted,
		(long long)s->invalid, (long long)s->unchanged, (long long)s->updated);
	if (s->changed)
		fprintf(f, ", %lld changed (their links kept)", (long long)s->changed);
	if (s->withdrawn)
		fprintf(f, ", %lld withdrawn (not in the file)", (long long)s->withdrawn);
	if (s->returned)
		fprintf(f, ", %lld back", (long long)s->returned);
	if (s->blank)
		fprintf(f, ", %lld blank skipped", (long long)s->blank);
	if (s->footer)
		fprintf(f, ", %lld footer line%s skipped", (long long)s->footer,
			s->footer == 1 ? "" : "s");
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
