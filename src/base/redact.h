/*
 * redact.h: keeps the client secret out of everything finch-onboard prints,
 * logs or stores. Two tools, both pure:
 *
 * - redact_trace_line(): one line of libcurl's --verbose trace with the
 *   value of any Authorization header cut off, wherever the name sits and
 *   however it is spelt: "> Authorization: Basic ..." (HTTP/1.1),
 *   "* h2h3 [authorization: Basic ...]" (libcurl 7.88's HTTP/2 info line),
 *   "* [HTTP/2] [1] [authorization: ...]" (libcurl 8.x), and
 *   Proxy-Authorization likewise. The password of a URL's userinfo
 *   ("Uses proxy env variable https_proxy == 'http://u:PASS@p'", curl's
 *   url.c detect_proxy()) is hidden too.
 *
 * - struct redact: the forms in which a server could echo the credentials
 *   back (RFC 7617 section 2: the Basic header is base64 of "id:secret"):
 *   base64 of "id:secret" and of the secret alone, padded or not, in the
 *   standard or the URL alphabet (RFC 4648 sections 4 and 5); and the
 *   secret itself, each byte as is or percent-encoded in either hex case
 *   (RFC 3986 section 2.1, whichever characters the encoder chose to
 *   escape), a space also as '+'. An echo cut short counts too once it
 *   spells REDACT_MIN_SECRET_BYTES of the secret or more (a server's
 *   truncated error message), in every form. Every occurrence becomes
 *   "[redacted]" (REDACTED) before a body, header, message or curl error
 *   text is classified, stored, logged or exported.
 */
#ifndef FINCH_REDACT_H
#define FINCH_REDACT_H

#include <stddef.h>

#include "base/strbuf.h"

#define REDACTED "[redacted]"

/*
 * A secret shorter than this cannot be told apart from ordinary text: "s"
 * is in most words, and its base64 is two letters. Such a secret is still
 * cut out of every message, log line and trace, where a false match only
 * costs readability, but never out of an answer's identifiers (session_id,
 * connect_url, connection_id), where a false match would lose a session.
 */
#define REDACT_MIN_SECRET_BYTES 8

/* The credentials' echoable forms. */
#define REDACT_MAX_NEEDLES 6
struct redact {
	char *secret; /* malloc'd, wiped on release; NULL: nothing to hide */
	size_t secret_len;
	char *needle[REDACT_MAX_NEEDLES]; /* the base64 forms, longest first */
	size_t len[REDACT_MAX_NEEDLES];
	size_t min_len[REDACT_MAX_NEEDLES]; /* a cut echo this long or longer counts */
	size_t n;
	unsigned char can_start[256]; /* 1 for a byte that can begin a match */
};

/*
 * Builds r's needles from the credentials; either may be NULL or empty (no
 * secret: nothing to hide, every call below copies its input unchanged).
 */
void redact_init(struct redact *r, const char *client_id, const char *secret);
/* 1 when r's secret is shorter than REDACT_MIN_SECRET_BYTES (see above). */
int redact_secret_is_short(const struct redact *r);

/* Wipes and frees the needles. */
void redact_release(struct redact *r);

/* Replaces every needle in sb with REDACTED; returns how many were replaced. */
size_t redact_strbuf(const struct redact *r, struct strbuf *sb);

/*
 * The same for *s, a malloc'd NUL-terminated string or NULL: *s is replaced
 * by a new malloc'd string when something was redacted. Returns the count.
 */
size_t redact_string(const struct redact *r, char **s);

/*
 * The same for a fixed buffer buf of size bytes holding a NUL-terminated
 * string (curl's CURLOPT_ERRORBUFFER); the result is cut to fit.
 */
size_t redact_buffer(const struct redact *r, char *buf, size_t size);

/*
 * Appends line (len bytes, without its newline) to out with the
 * Authorization rule above: everything after the first "authorization"
 * (any case) becomes ": SCHEME [redacted]" (SCHEME kept when the value
 * starts with one, such as Basic), plus a closing "]" when the line ended
 * with one and a "[" comes before the name; and every "scheme://user:password@" before it shows
 * "scheme://user:[redacted]@". Returns 1 if anything was hidden, else 0.
 */
int redact_trace_line(const char *line, size_t len, struct strbuf *out);

/* Appends base64 (RFC 4648 section 4, with padding) of len bytes of data to out. */
void redact_base64(const void *data, size_t len, struct strbuf *out);

#endif
