/*
 * strbuf.h: a growable, always NUL-terminated byte buffer (after git's).
 *
 * Invariants: sb->buf is never NULL (an empty strbuf points at a shared
 * empty string until it first grows); sb->buf[sb->len] == '\0'; the buffer
 * may hold NUL bytes of its own. Memory is released only by strbuf_release()
 * or taken over with strbuf_detach().
 */
#ifndef FINCH_STRBUF_H
#define FINCH_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	size_t alloc; /* bytes allocated; 0 while buf is the shared empty string */
	size_t len;   /* bytes used, not counting the terminating NUL */
	char *buf;
};

#define STRBUF_INIT                                                                                \
	{                                                                                          \
		0, 0, strbuf_empty                                                                 \
	}
extern char strbuf_empty[];

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_release(struct strbuf *sb);
/* Returns the malloc'd buffer (the caller frees) and resets sb to empty. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
/* Makes room for extra more bytes plus the NUL. */
void strbuf_grow(struct strbuf *sb, size_t extra);
/* Sets len to 0, keeping the allocation. */
void strbuf_reset(struct strbuf *sb);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Removes leading and trailing ASCII whitespace in place. */
void strbuf_trim(struct strbuf *sb);

/*
 * Appends s made inert for a terminal or a text log: \n, \r and \t as those
 * two characters, other C0 controls and DEL as \xNN, the C1 controls
 * (U+0080..U+009F, which some terminals obey) as \u00NN, the line and
 * paragraph separators U+2028 and U+2029 (new lines to some viewers and to
 * JavaScript) as \u2028 and \u2029; everything else as is. At most max_bytes of s are copied; a
 * longer s ends with
 * "...[N more bytes]". Returns the number of bytes of s left out.
 */
size_t strbuf_add_inert(struct strbuf *sb, const char *s, size_t max_bytes);

#endif
