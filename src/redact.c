/*
 * redact.c: credentials out of traces, answers and messages; see redact.h.
 */
#include "redact.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

void redact_base64(const void *data, size_t len, struct strbuf *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;

	for (size_t i = 0; i < len; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16 |
				  (i + 1 < len ? (unsigned long)p[i + 1] << 8 : 0) |
				  (i + 2 < len ? p[i + 2] : 0);

		strbuf_addch(out, tab[v >> 18 & 63]);
		strbuf_addch(out, tab[v >> 12 & 63]);
		strbuf_addch(out, i + 1 < len ? tab[v >> 6 & 63] : '=');
		strbuf_addch(out, i + 2 < len ? tab[v & 63] : '=');
	}
}

/* RFC 3986 section 2.3: unreserved characters are never percent-encoded. */
static void percent_encode(const char *s, const char *hex, struct strbuf *out)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || strchr("-._~", *p)) {
			strbuf_addch(out, *p);
		} else {
			strbuf_addch(out, '%');
			strbuf_addch(out, hex[*p >> 4]);
			strbuf_addch(out, hex[*p & 15]);
		}
	}
}

/* Adds sb as a needle unless empty or already there; sb is emptied (and wiped). */
static void add_needle(struct redact *r, struct strbuf *sb)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->len[i] == sb->len && !memcmp(r->needle[i], sb->buf, sb->len))
			break;
	if (sb->len && i == r->n && r->n < REDACT_MAX_NEEDLES) {
		r->needle[r->n] = xstrndup(sb->buf, sb->len);
		r->len[r->n++] = sb->len;
	}
	if (sb->alloc)
		memset(sb->buf, 0, sb->alloc);
	strbuf_reset(sb);
}

void redact_init(struct redact *r, const char *client_id, const char *secret)
{
	struct strbuf sb = STRBUF_INIT, cred = STRBUF_INIT;

	memset(r, 0, sizeof(*r));
	if (!secret || !*secret)
		return;
	strbuf_addf(&cred, "%s:%s", client_id ? client_id : "", secret);
	redact_base64(cred.buf, cred.len, &sb);
	add_needle(r, &sb);
	redact_base64(secret, strlen(secret), &sb);
	add_needle(r, &sb);
	percent_encode(secret, "0123456789ABCDEF", &sb);
	add_needle(r, &sb);
	percent_encode(secret, "0123456789abcdef", &sb);
	add_needle(r, &sb);
	strbuf_addstr(&sb, secret);
	add_needle(r, &sb);
	memset(cred.buf, 0, cred.len);
	strbuf_release(&cred);
	strbuf_release(&sb);
	/* Longest first: a form that contains another is replaced whole. */
	for (size_t i = 1; i < r->n; i++)
		for (size_t j = i; j > 0 && r->len[j] > r->len[j - 1]; j--) {
			char *np = r->needle[j];
			size_t nl = r->len[j];

			r->needle[j] = r->needle[j - 1];
			r->len[j] = r->len[j - 1];
			r->needle[j - 1] = np;
			r->len[j - 1] = nl;
		}
}

void redact_release(struct redact *r)
{
	for (size_t i = 0; i < r->n; i++) {
		memset(r->needle[i], 0, r->len[i]);
		free(r->needle[i]);
	}
	memset(r, 0, sizeof(*r));
}

/* find_bytes(3), which glibc declares only under _GNU_SOURCE. */
static const char *find_bytes(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	const char *p = hay, *end = hay + hlen;

	if (!nlen || nlen > hlen)
		return NULL;
	while ((p = memchr(p, needle[0], (size_t)(end - p) - nlen + 1))) {
		if (!memcmp(p, needle, nlen))
			return p;
		p++;
		if ((size_t)(end - p) < nlen)
			break;
	}
	return NULL;
}

/* Replaces every occurrence of one needle in sb; returns the count. */
static size_t replace_all(struct strbuf *sb, const char *needle, size_t nlen)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = sb->buf, *end = sb->buf + sb->len, *hit;
	size_t count = 0;

	while ((hit = find_bytes(p, (size_t)(end - p), needle, nlen))) {
		strbuf_add(&out, p, (size_t)(hit - p));
		strbuf_addstr(&out, REDACTED);
		p = hit + nlen;
		count++;
	}
	if (!count)
		return 0;
	strbuf_add(&out, p, (size_t)(end - p));
	if (sb->alloc)
		memset(sb->buf, 0, sb->len);
	strbuf_release(sb);
	*sb = out;
	return count;
}

size_t redact_strbuf(const struct redact *r, struct strbuf *sb)
{
	size_t count = 0;

	for (size_t i = 0; r && i < r->n; i++)
		count += replace_all(sb, r->needle[i], r->len[i]);
	return count;
}

size_t redact_string(const struct redact *r, char **s)
{
	struct strbuf sb = STRBUF_INIT;
	size_t count;

	if (!r || !r->n || !*s)
		return 0;
	strbuf_addstr(&sb, *s);
	count = redact_strbuf(r, &sb);
	if (count) {
		memset(*s, 0, strlen(*s));
		free(*s);
		*s = strbuf_detach(&sb, NULL);
	} else {
		strbuf_release(&sb);
	}
	return count;
}

size_t redact_buffer(const struct redact *r, char *buf, size_t size)
{
	struct strbuf sb = STRBUF_INIT;
	size_t count, n;

	if (!r || !r->n || !size)
		return 0;
	strbuf_addstr(&sb, buf);
	count = redact_strbuf(r, &sb);
	if (count) {
		n = sb.len < size ? sb.len : size - 1;
		memcpy(buf, sb.buf, n);
		buf[n] = '\0';
	}
	strbuf_release(&sb);
	return count;
}

/* Case-insensitive search for the NUL-terminated word in line[0..len). */
static const char *find_word(const char *line, size_t len, const char *word)
{
	size_t wlen = strlen(word);

	for (size_t i = 0; i + wlen <= len; i++)
		if (!strncasecmp(line + i, word, wlen))
			return line + i;
	return NULL;
}

/* Appends p[0..len) with every "://user:password@" password hidden; returns 1 if one was. */
static int add_hiding_userinfo(const char *p, size_t len, struct strbuf *out)
{
	const char *end = p + len, *s;
	int hidden = 0;

	while ((s = find_bytes(p, (size_t)(end - p), "://", 3))) {
		const char *a = s + 3, *colon = NULL, *q;

		for (q = a; q < end && !strchr("/?#@ \t'\"<>", *q); q++)
			if (*q == ':' && !colon)
				colon = q;
		if (q < end && *q == '@' && colon) {
			strbuf_add(out, p, (size_t)(colon + 1 - p));
			strbuf_addstr(out, REDACTED);
			hidden = 1;
		} else {
			strbuf_add(out, p, (size_t)(q - p));
		}
		if (q < end && *q == '@') {
			strbuf_addch(out, '@');
			q++;
		}
		p = q;
	}
	strbuf_add(out, p, (size_t)(end - p));
	return hidden;
}

int redact_trace_line(const char *line, size_t len, struct strbuf *out)
{
	const char *name = find_word(line, len, "authorization"), *v, *end = line + len, *w;
	int hidden;

	if (!name)
		return add_hiding_userinfo(line, len, out);
	add_hiding_userinfo(line, (size_t)(name - line), out);
	hidden = 1;
	strbuf_add(out, name, 13);
	strbuf_addstr(out, ": ");
	v = name + 13;
	while (v < end && (*v == ':' || *v == ' ' || *v == '\t'))
		v++;
	/* RFC 9110 section 11.4: credentials = auth-scheme [ 1*SP ... ] */
	for (w = v; w < end && isalpha((unsigned char)*w); w++)
		;
	if (w > v && w < end && *w == ' ') {
		strbuf_add(out, v, (size_t)(w - v));
		strbuf_addch(out, ' ');
	}
	strbuf_addstr(out, REDACTED);
	while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end > name + 13 && end[-1] == ']' && memchr(line, '[', (size_t)(name - line)))
		strbuf_addch(out, ']');
	return hidden;
}
