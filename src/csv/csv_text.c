/*
 * csv_text.c: see csv_text.h.
 */
#include "csv/csv_text.h"

#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "base/utf8.h"

static const struct {
	const char *option, *label, *iconv;
} encodings[] = {
    [CSV_ENC_AUTO] = {"auto", "UTF-8", NULL},
    [CSV_ENC_UTF8] = {"utf-8", "UTF-8", NULL},
    [CSV_ENC_UTF16] = {"utf-16", "UTF-16", "UTF-16"},
    [CSV_ENC_UTF16LE] = {"utf-16", "UTF-16LE", "UTF-16LE"},
    [CSV_ENC_UTF16BE] = {"utf-16", "UTF-16BE", "UTF-16BE"},
    [CSV_ENC_WINDOWS_1252] = {"windows-1252", "Windows-1252", "WINDOWS-1252"},
    [CSV_ENC_ISO_8859_1] = {"iso-8859-1", "ISO-8859-1", "ISO-8859-1"},
    [CSV_ENC_MACINTOSH] = {"macintosh", "Mac OS Roman", "MACINTOSH"},
};

int csv_encoding_parse(const char *name, enum csv_encoding *out)
{
	/* the spellings people also type, as iconv -l knows them */
	static const struct {
		const char *name; /* matched in any case */
		enum csv_encoding enc;
	} aliases[] = {
	    {"utf8", CSV_ENC_UTF8},	    {"cp1252", CSV_ENC_WINDOWS_1252},
	    {"latin1", CSV_ENC_ISO_8859_1}, {"iso8859-1", CSV_ENC_ISO_8859_1},
	    {"mac", CSV_ENC_MACINTOSH},	    {"macroman", CSV_ENC_MACINTOSH},
	    {"utf-16le", CSV_ENC_UTF16LE},  {"utf-16be", CSV_ENC_UTF16BE},
	};

	for (size_t i = 0; i < ARRAY_SIZE(encodings); i++) {
		if (i != CSV_ENC_UTF16LE && i != CSV_ENC_UTF16BE &&
		    !strcasecmp(name, encodings[i].option)) {
			*out = (enum csv_encoding)i;
			return 0;
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(aliases); i++) {
		if (!strcasecmp(name, aliases[i].name)) {
			*out = aliases[i].enc;
			return 0;
		}
	}
	return -1;
}

const char *csv_encoding_option(enum csv_encoding enc)
{
	return encodings[enc].option;
}

const char *csv_encoding_label(enum csv_encoding enc)
{
	return encodings[enc].label;
}

const char *csv_encoding_iconv_name(enum csv_encoding enc)
{
	return encodings[enc].iconv;
}

size_t csv_bom(const char *buf, size_t len, enum csv_encoding *enc)
{
	const unsigned char *p = (const unsigned char *)buf;

	if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
		*enc = CSV_ENC_UTF8;
		return 3;
	}
	if (len >= 2 && p[0] == 0xFF && p[1] == 0xFE) {
		*enc = CSV_ENC_UTF16LE;
		return 2;
	}
	if (len >= 2 && p[0] == 0xFE && p[1] == 0xFF) {
		*enc = CSV_ENC_UTF16BE;
		return 2;
	}
	return 0;
}

enum csv_encoding csv_guess_8bit(const char *s, size_t len)
{
	size_t low = 0, high = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* and ß Æ Ø æ ø, which Windows-1252 spends on § ® ¯ ¾ ¿ */
		low += (c >= 0x80 && c <= 0x9F) || c == 0xA7 || c == 0xAE || c == 0xAF ||
		       c == 0xBE || c == 0xBF;
		high += c >= 0xC0;
	}
	return low > high ? CSV_ENC_MACINTOSH : CSV_ENC_WINDOWS_1252;
}

int csv_delimiter_parse(const char *arg, char *out)
{
	if (!strcmp(arg, ",") || !strcmp(arg, ";"))
		*out = arg[0];
	else if (!strcasecmp(arg, "tab") || !strcmp(arg, "\t") || !strcmp(arg, "\\t"))
		*out = '\t';
	else if (!strcasecmp(arg, "auto"))
		*out = 0;
	else
		return -1;
	return 0;
}

const char *csv_delimiter_name(char delim)
{
	switch (delim) {
	case ';':
		return "';'";
	case '\t':
		return "tab";
	default:
		return "','";
	}
}

size_t csv_sep_line(const char *buf, size_t len, char *delim)
{
	size_t q = len && buf[0] == '"', n = q + 5, end;
	char d;

	if (len < n || strncasecmp(buf + q, "sep=", 4) || buf[q + 4] == '\r' || buf[q + 4] == '\n')
		return 0;
	d = buf[q + 4];
	if (q) { /* LibreOffice's "sep=;" quoted, maybe with the empty cells of its other columns */
		if (d == '"' || n >= len || buf[n] != '"')
			return 0;
		for (n++; n < len && buf[n] == d;)
			n++;
	}
	end = n;
	if (n < len && buf[n] == '\r')
		n++;
	if (n < len && buf[n] == '\n')
		n++;
	if (n < len && n == end)
		return 0; /* "sep=;x": not the line Excel writes */
	*delim = d;
	return n;
}

char csv_delimiter_sniff(const char *buf, size_t len)
{
	size_t comma = 0, semi = 0, tab = 0;
	int quoted = 0;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (c == '"')
			quoted = !quoted;
		else if (quoted)
			continue;
		else if (c == '\n' || c == '\r')
			break;
		comma += c == ',';
		semi += c == ';';
		tab += c == '\t';
	}
	if (semi > comma && semi >= tab)
		return ';';
	if (tab > comma && tab > semi)
		return '\t';
	return ',';
}

void csv_header_key(const char *s, size_t len, struct strbuf *out)
{
	size_t start = utf8_space_prefix(s, len), i;
	int gap = 0;

	strbuf_reset(out);
	len -= utf8_space_suffix(s + start, len - start);
	for (i = start; i < len;) {
		size_t n = utf8_space_at(s + i, len - i);
		char c = s[i];

		if (n || c == '-' || c == '_') {
			gap = 1;
			i += n ? n : 1;
			continue;
		}
		if (gap && out->len)
			strbuf_addch(out, '_');
		gap = 0;
		strbuf_addch(out, c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
		i++;
	}
}

size_t csv_edit_distance(const char *a, const char *b)
{
	enum { CAP = 9, MAXLEN = 64 };
	size_t la = strlen(a), lb = strlen(b), row[MAXLEN + 1];

	if (la > MAXLEN || lb > MAXLEN)
		return CAP;
	if (la > lb + CAP || lb > la + CAP)
		return CAP;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], best;

		row[0] = i;
		best = row[0];
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], v = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < v)
				v = up + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			diag = up;
			row[j] = v;
			if (v < best)
				best = v;
		}
		if (best >= CAP)
			return CAP;
	}
	return row[lb] < CAP ? row[lb] : CAP;
}

int csv_excel_number(const char *s)
{
	const char *p = s;

	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return 0;
	p++;
	if (*p == '.' || *p == ',') {
		p++;
		if (*p < '0' || *p > '9')
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p != 'E' && *p != 'e')
		return 0;
	p++;
	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\0';
}

void csv_printable(struct strbuf *out, const char *s, size_t len, size_t total_len,
		   size_t max_bytes)
{
	size_t start = out->len, i = 0;

	while (i < len && out->len - start < max_bytes) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;

		if (n > len - i || utf8_count(s + i, n) != 1 ||
		    (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7F) {
			strbuf_addf(out, "\\x%02X", c);
			i++;
			continue;
		}
		strbuf_add(out, s + i, n);
		i += n;
	}
	if (i < len || total_len > len)
		strbuf_addf(out, " [... %zu bytes in all]", total_len > len ? total_len : len);
}
