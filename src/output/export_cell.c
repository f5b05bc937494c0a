/*
 * export_cell.c: one cell's text for the export, out of export.c: formula
 * neutralisation and quoting for CSV (RFC 4180), string escaping for JSON
 * Lines (RFC 8259 section 7), with bytes that are not UTF-8 replaced. See
 * export.h for the contracts.
 */
#include "output/export.h"

#include <stdint.h>
#include <string.h>

#include "base/strbuf.h"

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there
 * are not one (overlong forms, surrogates, code points above U+10FFFF).
 */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/*
 * The code point of the valid UTF-8 sequence at *p, advancing *p past it;
 * a byte that does not start one is U+FFFD, as a reader would show it.
 */
static uint32_t next_code_point(const unsigned char **p)
{
	const unsigned char *s = *p;
	size_t n = utf8_seq_len(s);
	uint32_t cp;

	if (n <= 1) {
		*p = s + 1;
		return n ? s[0] : 0xfffd;
	}
	cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	*p = s + n;
	return cp;
}

/*
 * The blanks a spreadsheet skips before it looks for a formula sign: ASCII
 * white space, Unicode's space separators (Zs), the line and paragraph
 * separators, and the invisible zero-width ones a user cannot see in a cell.
 */
static int is_blank(uint32_t cp)
{
	return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85 || cp == 0xa0 ||
	       cp == 0x1680 || cp == 0x180e || (cp >= 0x2000 && cp <= 0x200d) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x2060 || cp == 0x3000 ||
	       cp == 0xfeff;
}

/* = + - @, their fullwidth forms (U+FF1D U+FF0B U+FF0D U+FF20) and small forms. */
static int is_formula_sign(uint32_t cp)
{
	return cp == '=' || cp == '+' || cp == '-' || cp == '@' || cp == 0xff1d || cp == 0xff0b ||
	       cp == 0xff0d || cp == 0xff20 || cp == 0xfe66 || cp == 0xfe62 || cp == 0xfe63;
}

/*
 * OWASP's CSV injection guidance
 * (https://owasp.org/www-community/attacks/CSV_Injection): a cell that
 * begins with = + - @, a tab or a carriage return can be run as a formula,
 * so it gets a leading "'". Spreadsheets skip leading blanks before they
 * look for the sign, and some read the fullwidth signs as the ASCII ones,
 * so the sign is looked for after any blanks, in both widths.
 */
int export_is_formula(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	if (!s || !*s)
		return 0;
	if (*s == '\t' || *s == '\r')
		return 1;
	do
		cp = next_code_point(&p);
	while (is_blank(cp) && *p);
	return is_formula_sign(cp);
}

void export_csv_field(struct strbuf *sb, const char *s, int raw)
{
	int neutralise;

	if (!s)
		return;
	neutralise = !raw && export_is_formula(s);
	if (!strpbrk(s, ",\"\r\n")) {
		if (neutralise)
			strbuf_addch(sb, '\'');
		strbuf_addstr(sb, s);
		return;
	}
	strbuf_addch(sb, '"');
	if (neutralise)
		strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '"')
			strbuf_addch(sb, '"');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}

/* The ASCII characters JSON escapes by a short form; the other controls take the 6-byte one. */
static const char *const short_escape[0x80] = {
    ['"'] = "\\\"", ['\\'] = "\\\\", ['\n'] = "\\n", ['\r'] = "\\r", ['\t'] = "\\t",
};

void export_json_string(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		strbuf_addstr(sb, "null");
		return;
	}
	strbuf_addch(sb, '"');
	while (*p) {
		const unsigned char *run = p;
		size_t n;

		/* Plain printable ASCII, the common case, is copied a run at a time. */
		while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run) {
			strbuf_add(sb, run, (size_t)(p - run));
			continue;
		}
		if (*p < 0x80 && short_escape[*p]) {
			strbuf_addstr(sb, short_escape[*p]);
		} else if (*p < 0x20 || *p == 0x7f) {
			strbuf_addf(sb, "\\u%04x", *p);
		} else if ((n = utf8_seq_len(p))) {
			strbuf_add(sb, p, n);
			p += n;
			continue;
		} else {
			/* Not UTF-8: one replacement character per bad byte. */
			strbuf_addstr(sb, "\xef\xbf\xbd");
		}
		p++;
	}
	strbuf_addch(sb, '"');
}
