/*
 * csv_text.h: the pure rules the importer applies to a spreadsheet's text:
 * encodings and byte order marks, delimiters, header names, Unicode white
 * space, numbers Excel rounded, and values made printable. No I/O, no state:
 * tests/unit/test_csv_text.c pins each rule with a table.
 *
 * Sources: the Unicode White_Space property (PropList.txt); RFC 4180 for the
 * delimiters and quotes; Excel's "sep=" first line and its General number
 * format (11 characters, scientific notation past that); the byte order
 * marks of Unicode 15 section 23.8.
 */
#ifndef FINCH_CSV_TEXT_H
#define FINCH_CSV_TEXT_H

#include <stddef.h>

#include "base/strbuf.h"

enum csv_encoding {
	CSV_ENC_AUTO, /* a BOM, else UTF-8 */
	CSV_ENC_UTF8,
	CSV_ENC_UTF16, /* a BOM, else the byte order the first NUL suggests */
	CSV_ENC_UTF16LE,
	CSV_ENC_UTF16BE,
	CSV_ENC_WINDOWS_1252, /* Windows Excel's "CSV (Comma delimited)" */
	CSV_ENC_ISO_8859_1,
	CSV_ENC_MACINTOSH, /* Mac Excel's: Mac OS Roman */
};

/* "auto", "utf-8", "utf-16", "windows-1252", "iso-8859-1", "macintosh" (any case). */
int csv_encoding_parse(const char *name, enum csv_encoding *out);
/* The option's spelling of an encoding ("windows-1252"). */
const char *csv_encoding_option(enum csv_encoding enc);
/* The name people know it by ("Windows-1252", "Mac OS Roman"). */
const char *csv_encoding_label(enum csv_encoding enc);
/* glibc iconv's name for decoding enc, or NULL when the text is UTF-8 already. */
const char *csv_encoding_iconv_name(enum csv_encoding enc);

/*
 * The byte order mark at buf[0..len): returns its length (0 if none) and
 * sets *enc to CSV_ENC_UTF8, CSV_ENC_UTF16LE or CSV_ENC_UTF16BE.
 */
size_t csv_bom(const char *buf, size_t len, enum csv_encoding *enc);

/*
 * Which 8-bit encoding bytes that are not UTF-8 most likely are: Mac OS
 * Roman puts its accented letters at 0x80..0x9F (and ß Æ Ø æ ø at 0xA7,
 * 0xAE, 0xAF, 0xBE, 0xBF), where Windows-1252 has punctuation and
 * ISO-8859-1 nothing printable; Windows-1252 puts them at 0xC0..0xFF. Returns CSV_ENC_MACINTOSH or
 * CSV_ENC_WINDOWS_1252.
 */
enum csv_encoding csv_guess_8bit(const char *s, size_t len);

/* "," ";" "tab" "\t" or "auto" (0) into *out. -1 if none of them. */
int csv_delimiter_parse(const char *arg, char *out);
/* "','", "';'", "tab". */
const char *csv_delimiter_name(char delim);
/*
 * Excel's first line "sep=X" (X one byte, then a line end or the end), or
 * the same quoted as LibreOffice writes it back ("\"sep=;\"", maybe followed
 * by more X for its empty cells): returns the bytes to skip (the line with its line end) and sets
 * *delim, or 0 if buf does not start with one.
 */
size_t csv_sep_line(const char *buf, size_t len, char *delim);
/*
 * The delimiter a header line suggests: whichever of ',', ';' and tab occurs
 * most often outside quotes before the first line end (',' on a tie or when
 * none occurs).
 */
char csv_delimiter_sniff(const char *buf, size_t len);

/*
 * A header name as matched: Unicode white space trimmed, ASCII letters
 * lowercased, each run of white space, '-' and '_' one '_'
 * ("  Customer-ID\u00a0" -> "customer_id"). Replaces out's contents.
 */
void csv_header_key(const char *s, size_t len, struct strbuf *out);
/* Levenshtein distance between a and b, in bytes; stops counting at 9. */
size_t csv_edit_distance(const char *a, const char *b);

/*
 * 1 if s reads like a number Excel displayed in scientific notation
 * ("1.23457E+11", "1,2E+15", "4E-05"): its digits past the sixth are lost,
 * so it no longer names what it named.
 */
int csv_excel_number(const char *s);

/*
 * Appends s[0..len) to out for a person to read: bytes that are not valid
 * UTF-8 and C0 controls other than tab, CR and LF become "\xNN"; past
 * max_bytes (or when total_len, the length of the value s is the start of,
 * is more than len) the value is cut at a character boundary and marked
 * " [... N bytes in all]".
 */
void csv_printable(struct strbuf *out, const char *s, size_t len, size_t total_len,
		   size_t max_bytes);

#endif
