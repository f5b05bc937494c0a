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

/*
 * Adds sb as a needle unless empty or already there, matched also by its
 * first min_len bytes or more (0: only whole); sb is emptied (and wiped).
 */
static void add_needle(struct redact *r, struct strbuf *sb, size_t min_len)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->len[i] == sb->len && !memcmp(r->needle[i], sb->buf, sb->len))
			break;
	if (sb->len && i == r->n && r->n < REDACT_MAX_NEEDLES) {
		r->needle[r->n] = secret_dup(sb->buf, sb->len);
		r->min_len[r->n] = min_len && min_len < sb->len ? min_len : sb->len;
		r->len[r->n++] = sb->len;
	}
	if (sb->alloc)
		memset(sb->buf, 0, sb->alloc);
	strbuf_reset(sb);
}

/*
 * Adds base64 of data, padded, unpadded, and in the URL alphabet (RFC 4648
 * section 5); an echo cut short counts once it spells the first
 * prefix_bytes of data (0: only whole).
 */
static void add_base64_needles(struct redact *r, const char *data, size_t prefix_bytes)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len = strlen(data), min_len = (prefix_bytes * 4 + 2) / 3;

	redact_base64(data, len, &sb);
	add_needle(r, &sb, min_len);
	redact_base64(data, len, &sb);
	while (sb.len && sb.buf[sb.len - 1] == '=')
		sb.buf[--sb.len] = '\0';
	add_needle(r, &sb, min_len);
	redact_base64(data, len, &sb);
	while (sb.len && sb.buf[sb.len - 1] == '=')
		sb.buf[--sb.len] = '\0';
	for (size_t i = 0; i < sb.len; i++)
		if (sb.buf[i] == '+')
			sb.buf[i] = '-';
		else if (sb.buf[i] == '/')
			sb.buf[i] = '_';
	add_needle(r, &sb, min_len);
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
	if (r->secret_len < REDACT_MIN_SECRET_BYTES) {
		add_base64_needles(r, cred.buf, 0);
		add_base64_needles(r, secret, 0);
	} else {
		/* cut short, a form counts once it spells REDACT_MIN_SECRET_BYTES of the secret */
		add_base64_needles(r, cred.buf, cred.len - r->secret_len + REDACT_MIN_SECRET_BYTES);
		add_base64_needles(r, secret, REDACT_MIN_SECRET_BYTES);
	}
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

			size_t nm = r->min_len[j];

			r->needle[j] = r->needle[j - 1];
			r->len[j] = r->len[j - 1];
			r->min_len[j] = r->min_len[j - 1];
			r->needle[j - 1] = np;
			r->len[j - 1] = nl;
			r->min_len[j - 1] = nm;
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
 * Walks p[0..end) as secret[i..len), each byte as itself or percent-encoded
 * in either hex case (RFC 3986 section 2.1, whatever set the encoder chose
 * to escape), a space also as '+' (HTML form encoding), as far as it goes:
 * returns the text bytes walked and sets *reached to the secret's index
 * reached. A '%' of the text may be the secret's own '%' or the start of an
 * escape ("%25" is both): both are walked and the longer kept, so the
 * search branches only at a '%' that could be either.
 */
static size_t walk_secret(const struct redact *r, size_t i, const char *p, const char *end,
			  size_t *reached)
{
	const char *start = p;

	for (; i < r->secret_len; i++) {
		int c = (unsigned char)r->secret[i];
		int escaped = end - p >= 3 && *p == '%' && hex_value(p[1]) >= 0 &&
			      hex_value(p[2]) >= 0 && hex_value(p[1]) * 16 + hex_value(p[2]) == c;

		if (escaped && c == '%') {
			size_t reach_esc, reach_lit;
			size_t n_esc = walk_secret(r, i + 1, p + 3, end, &reach_esc);
			size_t n_lit = walk_secret(r, i + 1, p + 1, end, &reach_lit);

			if (reach_esc >= reach_lit) {
				*reached = reach_esc;
				return (size_t)(p - start) + 3 + n_esc;
			}
			*reached = reach_lit;
			return (size_t)(p - start) + 1 + n_lit;
		} else if (escaped) {
			p += 3;
		} else if (p < end && (unsigned char)*p == c) {
			p++;
		} else if (c == ' ' && p < end && *p == '+') {
			p++;
		} else {
			break;
		}
	}
	*reached = i;
	return (size_t)(p - start);
}

/*
 * How many bytes at p spell the secret, whole, or cut short after at least
 * REDACT_MIN_SECRET_BYTES of it (an echo truncated by the server); 0 when
 * they do not. A secret shorter than that only ever matches whole.
 */
static size_t match_secret(const struct redact *r, const char *p, const char *end)
{
	size_t reached, n = walk_secret(r, 0, p, end, &reached);

	return reached == r->secret_len || reached >= REDACT_MIN_SECRET_BYTES ? n : 0;
}

/* How many bytes at p are a form of the credentials, whole or cut short: the longest. */
static size_t match_at(const struct redact *r, const char *p, const char *end)
{
	size_t best = match_secret(r, p, end);

	for (size_t i = 0; i < r->n; i++) {
		size_t k = 0, max = (size_t)(end - p) < r->len[i] ? (size_t)(end - p) : r->len[i];

		while (k < max && p[k] == r->needle[i][k])
			k++;
		if (k >= r->min_len[i] && k > best)
			best = k;
	}
	return best;
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

/*
 * libcurl's "Uses proxy env variable X == 'VALUE'": the userinfo ends at
 * the line's last '@', whatever the password holds (/ ? # @, quotes),
 * since a host never holds one. Appends line with the password hidden and
 * returns 1, or returns 0 (nothing appended) for any other line.
 */
static int hide_env_proxy(const char *line, size_t len, struct strbuf *out)
{
	const char *end = line + len, *v = find_bytes(line, len, "== '", 4), *at = NULL, *s, *colon;

	if (!v)
		return 0;
	v += 4;
	for (const char *q = v; q < end; q++)
		if (*q == '@')
			at = q;
	if (!at)
		return 0;
	s = find_bytes(v, (size_t)(at - v), "://", 3);
	s = s ? s + 3 : v;
	colon = memchr(s, ':', (size_t)(at - s));
	if (!colon)
		return 0;
	strbuf_add(out, line, (size_t)(colon + 1 - line));
	strbuf_addstr(out, REDACTED);
	strbuf_add(out, at, (size_t)(end - at));
	return 1;
}

int redact_trace_line(const char *line, size_t len, struct strbuf *out)
{
	const char *name = find_word(line, len, "authorization"), *v, *end = line + len, *w;
	int hidden;

	if (!name)
		return hide_env_proxy(line, len, out) || add_hiding_userinfo(line, len, out);
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
