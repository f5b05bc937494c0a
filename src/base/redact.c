/*
 * redact.c: credentials out of traces, answers and messages; see redact.h.
 */
#include "base/redact.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/secret.h"
#include "base/util.h"

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

/* Adds sb as a needle unless empty or already there; sb is emptied (and wiped). */
static void add_needle(struct redact *r, struct strbuf *sb)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->len[i] == sb->len && !memcmp(r->needle[i], sb->buf, sb->len))
			break;
	if (sb->len && i == r->n && r->n < REDACT_MAX_NEEDLES) {
		r->needle[r->n] = secret_dup(sb->buf, sb->len);
		r->len[r->n++] = sb->len;
	}
	if (sb->alloc)
		memset(sb->buf, 0, sb->alloc);
	strbuf_reset(sb);
}

/* Adds base64 of data, padded, unpadded, and in the URL alphabet (RFC 4648 section 5). */
static void add_base64_needles(struct redact *r, const char *data)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len = strlen(data);

	redact_base64(data, len, &sb);
	add_needle(r, &sb);
	redact_base64(data, len, &sb);
	while (sb.len && sb.buf[sb.len - 1] == '=')
		sb.buf[--sb.len] = '\0';
	add_needle(r, &sb);
	redact_base64(data, len, &sb);
	while (sb.len && sb.buf[sb.len - 1] == '=')
		sb.buf[--sb.len] = '\0';
	for (size_t i = 0; i < sb.len; i++)
		if (sb.buf[i] == '+')
			sb.buf[i] = '-';
		else if (sb.buf[i] == '/')
			sb.buf[i] = '_';
	add_needle(r, &sb);
	strbuf_release(&sb);
}

void redact_init(struct redact *r, const char *client_id, const char *secret)
{
	struct strbuf cred = STRBUF_INIT;

	memset(r, 0, sizeof(*r));
	if (!secret || !*secret)
		return;
	r->secret = secret_dup(secret, strlen(secret));
	r->secret_len = strlen(secret);
	strbuf_addf(&cred, "%s:%s", client_id ? client_id : "", secret);
	add_base64_needles(r, cred.buf);
	add_base64_needles(r, secret);
	memset(cred.buf, 0, cred.len);
	strbuf_release(&cred);
	r->can_start[(unsigned char)secret[0]] = 1;
	r->can_start['%'] = 1;
	if (secret[0] == ' ')
		r->can_start['+'] = 1;
	for (size_t i = 0; i < r->n; i++)
		r->can_start[(unsigned char)r->needle[i][0]] = 1;
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

int redact_secret_is_short(const struct redact *r)
{
	return r->secret && r->secret_len < REDACT_MIN_SECRET_BYTES;
}

void redact_release(struct redact *r)
{
	for (size_t i = 0; i < r->n; i++)
		secret_free(r->needle[i]);
	secret_free(r->secret);
	memset(r, 0, sizeof(*r));
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * How many bytes of p[0..end) spell secret[i..len), each byte as itself or
 * percent-encoded in either hex case (RFC 3986 section 2.1, whatever set
 * the encoder chose to escape), a space also as '+' (HTML form encoding);
 * 0 when they do not. A '%' of the text may be the secret's own '%' or the
 * start of an escape ("%25" is both): the escape is tried first, then the
 * byte itself, so the search branches only at a '%' that could be either.
 */
static size_t match_secret_from(const struct redact *r, size_t i, const char *p, const char *end)
{
	const char *start = p;

	for (; i < r->secret_len; i++) {
		int c = (unsigned char)r->secret[i];
		int escaped = end - p >= 3 && *p == '%' && hex_value(p[1]) >= 0 &&
			      hex_value(p[2]) >= 0 && hex_value(p[1]) * 16 + hex_value(p[2]) == c;

		if (escaped && c == '%') {
			size_t rest = match_secret_from(r, i + 1, p + 3, end);

			if (rest || i + 1 == r->secret_len)
				return (size_t)(p - start) + 3 + rest;
			p++; /* not an escape after all: the secret's '%' as itself */
		} else if (escaped) {
			p += 3;
		} else if (p < end && (unsigned char)*p == c) {
			p++;
		} else if (c == ' ' && p < end && *p == '+') {
			p++;
		} else {
			return 0;
		}
	}
	return (size_t)(p - start);
}

static size_t match_secret(const struct redact *r, const char *p, const char *end)
{
	return match_secret_from(r, 0, p, end);
}

/* How many bytes at p are a form of the credentials: the longest base64 needle, or the secret. */
static size_t match_at(const struct redact *r, const char *p, const char *end)
{
	for (size_t i = 0; i < r->n; i++)
		if ((size_t)(end - p) >= r->len[i] && *p == r->needle[i][0] &&
		    !memcmp(p, r->needle[i], r->len[i]))
			return r->len[i];
	return match_secret(r, p, end);
}

size_t redact_strbuf(const struct redact *r, struct strbuf *sb)
{
	struct strbuf out = STRBUF_INIT;
	const char *p, *end, *copied;
	size_t count = 0, m;

	if (!r || !r->secret)
		return 0;
	p = copied = sb->buf;
	end = sb->buf + sb->len;
	while (p < end) {
		m = r->can_start[(unsigned char)*p] ? match_at(r, p, end) : 0;
		if (!m) {
			p++;
			continue;
		}
		strbuf_add(&out, copied, (size_t)(p - copied));
		strbuf_addstr(&out, REDACTED);
		p = copied = p + m;
		count++;
	}
	if (!count)
		return 0;
	strbuf_add(&out, copied, (size_t)(end - copied));
	if (sb->alloc)
		memset(sb->buf, 0, sb->len);
	strbuf_release(sb);
	*sb = out;
	return count;
}

/*
 * 1 when text[0..len) holds a needle: the answers redact_string() and
 * redact_buffer() scrub almost never do, and are then left without a copy.
 */
static int has_match(const struct redact *r, const char *text, size_t len)
{
	const char *end = text + len;

	for (const char *p = text; p < end; p++)
		if (r->can_start[(unsigned char)*p] && match_at(r, p, end))
			return 1;
	return 0;
}

size_t redact_string(const struct redact *r, char **s)
{
	struct strbuf sb = STRBUF_INIT;
	size_t count;

	if (!r || !r->secret || !*s || !has_match(r, *s, strlen(*s)))
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

	if (!r || !r->secret || !size || !has_match(r, buf, strlen(buf)))
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

/* memmem(3), which glibc declares only under _GNU_SOURCE. */
static const char *find_bytes(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	for (size_t i = 0; nlen && i + nlen <= hlen; i++)
		if (hay[i] == needle[0] && !memcmp(hay + i, needle, nlen))
			return hay + i;
	return NULL;
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
