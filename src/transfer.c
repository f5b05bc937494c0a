/*
 * transfer.c: one slot's easy handle and its callbacks; see transfer.h.
 */
#include "transfer.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "finch_api.h"
#include "util.h"

static void set_capture(char **dst, const char *v, size_t len)
{
	free(*dst);
	*dst = xstrndup(v, len);
}

void transfer_clear_captures(struct transfer *t)
{
	free(t->request_id);
	free(t->retry_after);
	free(t->retry_after_ms);
	free(t->should_retry);
	t->request_id = t->retry_after = t->retry_after_ms = t->should_retry = NULL;
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
	struct transfer *t = userdata;
	size_t len = size * n;

	if (t->resp.len + len > TRANSFER_MAX_BODY_BYTES)
		return 0; /* CURLE_WRITE_ERROR: a transient "no usable answer" */
	strbuf_add(&t->resp, data, len);
	return len;
}

/* Captures the few response headers the outcome depends on; names are case-insensitive. */
static size_t on_header(char *data, size_t size, size_t n, void *userdata)
{
	static const struct {
		const char *name;
		size_t off;
	} wanted[] = {
	    {"finch-request-id", offsetof(struct transfer, request_id)},
	    {"retry-after", offsetof(struct transfer, retry_after)},
	    {"retry-after-ms", offsetof(struct transfer, retry_after_ms)},
	    {"x-should-retry", offsetof(struct transfer, should_retry)},
	};
	struct transfer *t = userdata;
	size_t len = size * n, name_len;
	const char *colon, *v, *end;

	/* A new status line (after a 100 Continue, say) starts a new set of headers. */
	if (len >= 5 && !strncmp(data, "HTTP/", 5)) {
		transfer_clear_captures(t);
		return len;
	}
	colon = memchr(data, ':', len);
	if (!colon)
		return len;
	name_len = (size_t)(colon - data);
	v = colon + 1;
	end = data + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (size_t i = 0; i < ARRAY_SIZE(wanted); i++) {
		if (strlen(wanted[i].name) == name_len &&
		    !strncasecmp(data, wanted[i].name, name_len)) {
			set_capture((char **)((char *)t + wanted[i].off), v, (size_t)(end - v));
			break;
		}
	}
	return len;
}

/* --verbose: curl's trace with the Authorization header redacted. */
static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *userdata)
{
	struct transfer *t = userdata;
	const char *prefix, *p = data, *end = data + size;

	(void)easy;
	switch (type) {
	case CURLINFO_TEXT:
		prefix = "* ";
		break;
	case CURLINFO_HEADER_OUT:
		prefix = "> ";
		break;
	case CURLINFO_HEADER_IN:
		prefix = "< ";
		break;
	default:
		return 0;
	}
	if (t->before_trace)
		t->before_trace(t->trace_data);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (len && p[len - 1] == '\r')
			len--;
		if (len >= 14 && !strncasecmp(p, "authorization:", 14))
			fprintf(stderr, "%sAuthorization: Basic [redacted]\n", prefix);
		else if (len)
			fprintf(stderr, "%s%.*s\n", prefix, (int)len, p);
		p = nl ? nl + 1 : end;
	}
	return 0;
}

char *transfer_join_url(const char *base, const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, base);
	strbuf_addstr(&sb, path);
	return strbuf_detach(&sb, NULL);
}

struct curl_slist *transfer_request_headers(void)
{
	struct curl_slist *h = NULL;

	h = curl_slist_append(h, "Finch-API-Version: " FINCH_API_VERSION);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: application/json");
	/* No "Expect: 100-continue" round trip for our small bodies. */
	h = curl_slist_append(h, "Expect:");
	if (!h)
		die("out of memory building request headers");
	return h;
}

int transfer_init(struct transfer *t, const struct run_config *cfg, struct curl_slist *headers)
{
	CURL *e = curl_easy_init();

	if (!e)
		return error("cannot create a curl handle");
	t->easy = e;
	strbuf_init(&t->resp, 0);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)t);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "finch-onboard/" FINCH_ONBOARD_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(e, CURLOPT_USERNAME, cfg->client_id ? cfg->client_id : "");
	curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->client_secret ? cfg->client_secret : "");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (!strncasecmp(cfg->base_url, "https://", 8))
		curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	if (cfg->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, cfg->cacert);
	if (cfg->verbose) {
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(e, CURLOPT_DEBUGDATA, t);
	}
	return 0;
}
