/*
 * utf8.c: see utf8.h.
 */
#include "base/utf8.h"

#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

#include "base/xalloc.h"

long utf8_count(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	long n = 0;

	while (i < len) {
		unsigned c = p[i];
		unsigned cp, min;
		size_t need;
		uint64_t word;

		/* most text is ASCII: eight bytes at a time while none has its high bit */
		if (len - i >= sizeof(word)) {
			memcpy(&word, p + i, sizeof(word));
			if (!(word & 0x8080808080808080u)) {
				i += sizeof(word);
				n += (long)sizeof(word);
				continue;
			}
		}
		if (c < 0x80) {
			i++;
			n++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			/* 0x80..0xc1 (continuation or overlong lead) and 0xf5..0xff */
			return -1;
		}
		if (len - i <= need)
			return -1;
		for (size_t k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += need + 1;
		n++;
	}
	return n;
}

static size_t space_at(const unsigned char *s, size_t len)
{
	unsigned cp;

	if (s[0] < 0x80)
		return s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r');
	if (s[0] == 0xC2 && len >= 2)
		return s[1] == 0x85 || s[1] == 0xA0 ? 2 : 0;
	if ((s[0] & 0xF0) != 0xE0 || len < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
		return 0;
	cp = (unsigned)(s[0] & 0x0F) << 12 | (unsigned)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
	if (cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
	    cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF ||
	    (cp >= 0x200B && cp <= 0x200D) || cp == 0x2060) /* zero-width: invisible too */
		return 3;
	return 0;
}

size_t utf8_space_prefix(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len && (n = space_at(p + i, len - i)))
		i += n;
	return i;
}

size_t utf8_space_suffix(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t end = len;

	while (end) {
		size_t start = end - 1;

		/* back to the lead byte of the last character (at most 3 back) */
		while (start && end - start < 3 && (p[start] & 0xC0) == 0x80)
			start--;
		if (space_at(p + start, end - start) != end - start)
			break;
		end = start;
	}
	return len - end;
}

void utf8_space_to_ascii(char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		size_t n = space_at((unsigned char *)s + i, len - i);

		if (n > 1)
			memset(s + i, ' ', n);
		i += n ? n : 1;
	}
}

size_t utf8_space_at(const char *s, size_t len)
{
	return len ? space_at((const unsigned char *)s, len) : 0;
}

char *utf8_nfc(const char *s)
{
	utf8proc_uint8_t *out = NULL;
	utf8proc_ssize_t n;
	const unsigned char *p;

	/* ASCII is NFC: no call, no table, for nearly every id there is */
	for (p = (const unsigned char *)s; *p && *p < 0x80; p++)
		;
	if (!*p)
		return xstrdup(s);
	n = utf8proc_map((const utf8proc_uint8_t *)s, 0, &out,
			 UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (n == UTF8PROC_ERROR_NOMEM)
		out_of_memory(strlen(s) * 4 + 1);
	if (n < 0)
		return NULL;
	return (char *)out;
}
