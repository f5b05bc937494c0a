/*
 * strbuf.c: growable strings; see strbuf.h for the invariants.
 */
#include "base/strbuf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

char strbuf_empty[1];

void strbuf_init(struct strbuf *sb, size_t hint)
{
	sb->alloc = 0;
	sb->len = 0;
	sb->buf = strbuf_empty;
	if (hint)
		strbuf_grow(sb, hint);
}

void strbuf_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	strbuf_init(sb, 0);
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *res;

	strbuf_grow(sb, 0);
	res = sb->buf;
	if (len)
		*len = sb->len;
	strbuf_init(sb, 0);
	return res;
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	size_t need = sb->len + extra + 1;
	int fresh = !sb->alloc;

	if (need < sb->len)
		out_of_memory(SIZE_MAX);
	if (need <= sb->alloc)
		return;
	size_t alloc = sb->alloc ? sb->alloc : 64;

	while (alloc < need)
		alloc = alloc < (SIZE_MAX / 3) ? alloc * 3 / 2 + 16 : need;
	sb->buf = xrealloc(fresh ? NULL : sb->buf, alloc);
	sb->alloc = alloc;
	if (fresh)
		sb->buf[sb->len] = '\0';
}

void strbuf_reset(struct strbuf *sb)
{
	sb->len = 0;
	if (sb->alloc)
		sb->buf[0] = '\0';
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, int c)
{
	strbuf_grow(sb, 1);
	sb->buf[sb->len++] = (char)c;
	sb->buf[sb->len] = '\0';
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc ? sb->alloc - sb->len : 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		bug("strbuf_vaddf: a format vsnprintf() refuses");
	if ((size_t)n >= (sb->alloc ? sb->alloc - sb->len : 0)) {
		strbuf_grow(sb, (size_t)n);
		n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	}
	sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void strbuf_trim(struct strbuf *sb)
{
	size_t start = 0;

	while (sb->len && isspace((unsigned char)sb->buf[sb->len - 1]))
		sb->len--;
	while (start < sb->len && isspace((unsigned char)sb->buf[start]))
		start++;
	if (start)
		memmove(sb->buf, sb->buf + start, sb->len - start);
	sb->len -= start;
	if (sb->alloc)
		sb->buf[sb->len] = '\0';
}

size_t strbuf_add_inert(struct strbuf *sb, const char *s, size_t max_bytes)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), cut = 0, i;

	if (len > max_bytes) {
		cut = len - max_bytes;
		len = max_bytes;
		/* never cut a UTF-8 sequence in two */
		while (len && (p[len] & 0xc0) == 0x80) {
			len--;
			cut++;
		}
	}
	for (i = 0; i < len; i++) {
		unsigned char c = p[i];

		if (c == '\n')
			strbuf_addstr(sb, "\\n");
		else if (c == '\r')
			strbuf_addstr(sb, "\\r");
		else if (c == '\t')
			strbuf_addstr(sb, "\\t");
		else if (c < 0x20 || c == 0x7f)
			strbuf_addf(sb, "\\x%02x", c);
		else if (c == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			strbuf_addf(sb, "\\u%04x", p[++i]);
		else if (c == 0xe2 && i + 2 < len && p[i + 1] == 0x80 &&
			 (p[i + 2] == 0xa8 || p[i + 2] == 0xa9)) {
			strbuf_addstr(sb, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029");
			i += 2;
		} else
			strbuf_addch(sb, c);
	}
	if (cut)
		strbuf_addf(sb, "...[%zu more bytes]", cut);
	return cut;
}
