/*
 * csv_import.h: a CSV of employers into the store, validated row by row.
 *
 * The file (a path, "-" for standard input, a pipe or /dev/fd/N) is streamed
 * in 64 KiB reads, read and hashed on a second thread (readahead.h),
 * decoded to UTF-8 by glibc's iconv when it is not UTF-8 already, and parsed
 * by libcsv, so memory stays the same at any size: a cell longer than
 * CSV_CELL_MAX_BYTES is cut (its row becomes invalid), and a record longer
 * than CSV_RECORD_MAX_BYTES stops the import. The whole import is one
 * transaction (store_begin_bulk()), so a file that cannot be read as CSV
 * imports nothing. Columns are found by header name (see csv_header_key():
 * case, spaces, hyphens and Unicode white space do not matter); every cell
 * is trimmed of Unicode white space. A row that breaks a rule is stored as
 * invalid with the reason "FILE:LINE: column: why" and the import goes on;
 * LINE is the physical line the record starts on, counting "\r\n", "\n" and
 * a lone "\r" each as one line end, so every record has its own line.
 */
#ifndef FINCH_CSV_IMPORT_H
#define FINCH_CSV_IMPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "csv/csv_header.h"
#include "csv/csv_input.h"
#include "csv/csv_text.h"
#include "store/store.h"
#include "store/store_import.h"

#include <getopt.h>

/* Values that fill empty cells; zero/NULL members fill nothing. */
struct import_defaults {
	unsigned products;	   /* --products, once import_options_finish() parsed it */
	const char *products_arg;  /* --products as given */
	const char *redirect_uri;  /* --redirect-uri */
	int64_t minutes_to_expire; /* --minutes-to-expire */
	const char *sandbox;	   /* --sandbox */
};

struct import_options {
	struct import_defaults defaults;
	size_t max_reasons;	    /* invalid rows whose reason is printed to stderr */
	int quiet;		    /* 1: no line per column or row (debug events) */
	enum csv_encoding encoding; /* --encoding; CSV_ENC_AUTO by default */
	char delimiter;		    /* --delimiter: ',', ';', '\t', or 0 for auto */
	struct csv_columns columns; /* --column, --ignore-column, --keep-column (owned) */
	int64_t skip_lines;	    /* --skip-lines: a preamble above the header */
	int check;		    /* import --check: validate only (cmd_import.c) */
	int64_t read_timeout_ms;    /* --read-timeout: each wait for a byte; 0: none */
	const char *read_timeout;   /* as given, for messages; NULL: not given yet */
	/*
	 * Non-NULL: rows of the database the file lacks are withdrawn, unless
	 * they are more than this lets (reconcile_withdraw_check(): the import
	 * is refused, nothing changes). NULL: none is (`import` without
	 * --withdraw-missing, `sync --keep-missing`).
	 */
	const struct withdraw_limit *withdraw;
};

/* Releases what import_option_apply() allocated. */
void import_options_release(struct import_options *o);

/* A longer cell makes its row invalid; only its first CSV_CELL_KEEP_BYTES are kept. */
#define CSV_CELL_MAX_BYTES  (64 * 1024)
#define CSV_CELL_KEEP_BYTES 1024
/* A longer record (a quote never closed, most likely) stops the import. */
#define CSV_RECORD_MAX_BYTES (1024 * 1024)
/*
 * A report's footer (a trailing block of records not of the header's
 * shape) is at most this many records, of at most this many bytes in all
 * (Salesforce writes 5 lines of text): they wait in memory until the file
 * ends. A longer block is rows.
 */
#define CSV_FOOTER_MAX	     64
#define CSV_FOOTER_MAX_BYTES (256 * 1024)

/*
 * The reason of a row that is not UTF-8. A row alone cannot tell Windows-1252
 * from Mac OS Roman, so it names both; the summary names the one the whole
 * file looks like (csv_guess_8bit() votes of every such row).
 */
#define CSV_NOT_UTF8_WHY                                                                           \
	"is not valid UTF-8 (looks like Windows-1252 or Mac OS Roman, the summary says which: "    \
	"use --encoding windows-1252 or macintosh, or save as CSV UTF-8)"

/*
 * The options that fill empty cells, as a getopt_long() fragment shared by
 * `import` and `sync` (same pattern as run_long_options in options.h):
 * values start at IMPORT_OPT_FIRST, import_option_apply() returns 1 when it
 * took the option, 0 when the option is not one of its own, -1 after
 * reporting a bad value (naming the option).
 */
enum {
	IMPORT_OPT_FIRST = 0x2000,
	IMPORT_OPT_PRODUCTS = IMPORT_OPT_FIRST,
	IMPORT_OPT_REDIRECT_URI,
	IMPORT_OPT_MINUTES_TO_EXPIRE,
	IMPORT_OPT_SANDBOX,
	IMPORT_OPT_ENCODING,
	IMPORT_OPT_DELIMITER,
	IMPORT_OPT_ALLOW_PRODUCT,
	IMPORT_OPT_COLUMN,
	IMPORT_OPT_IGNORE_COLUMN,
	IMPORT_OPT_KEEP_COLUMN,
	IMPORT_OPT_SKIP_LINES,
	IMPORT_OPT_READ_TIMEOUT,
};

/*
 * --read-timeout's default: a FIFO, pipe or terminal that sends nothing for
 * this long ends the import (exit 2, nothing imported). Generous, as a
 * report's generator may think a while before its first line; a nightly
 * job must not hang until the next night.
 */
#define IMPORT_READ_TIMEOUT_DEFAULT "5m"

extern const struct option import_long_options[]; /* ends with a zero entry */
extern const char import_options_help[];

int import_option_apply(struct import_options *o, int c, const char *arg);
/*
 * Parses --products once every option is read, so that --allow-product may
 * come after it, and sets --read-timeout's default when it was not given.
 * Returns 0, or -1 after reporting a bad list.
 */
int import_options_finish(struct import_options *o);

struct csv_input;

/*
 * Imports in (csv_input_open(), which the caller closes) into st (which
 * must not be inside a transaction), as csv_import_file() does.
 */
int csv_import_input(struct store *st, const struct csv_input *in, const struct import_options *o,
		     struct import_stats *stats);

/*
 * Imports path ("-": standard input) into st (which must not be inside a
 * transaction), opening and closing it (csv_input.h). Fills
 * *stats. Returns 0 when the file was read (some rows may be invalid: see
 * stats->invalid), or -1 after reporting why the file was refused; then
 * nothing was imported. Returns -2 when SIGINT or SIGTERM (signals.h, which
 * the caller installs) came while the file was being read: the transaction
 * was rolled back, nothing was imported, and the message says so.
 */
int csv_import_file(struct store *st, const char *path, const struct import_options *o,
		    struct import_stats *stats);

/*
 * Prints what an import did to f: "VERB PATH: N rows read, ..." (VERB is
 * "imported", or "checked" for import --check) and,
 * when rows were not valid UTF-8, which encoding the file most likely has.
 */
void csv_import_print_summary(FILE *f, const char *verb, const char *path,
			      const struct import_stats *stats);

#endif
