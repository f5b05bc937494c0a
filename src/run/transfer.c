/*
 * transfer.c: one slot's easy handle and its callbacks; see transfer.h.
 */
#include "run/transfer.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "finch/finch_api.h"
#include "base/log.h"
#include "base/util.h"

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

/*
 * libcurl calls this before each request it sends for the transfer, once
 * the connection is ready: a second call is a re-send (see
 * transfer_set_body()), refused.
 */
static int on_prereq(void *userdata, char *primary_ip, char *local_ip, int primary_port,
		     int local_port)
{
	struct transfer *t = userdata;

	(void)primary_ip;
	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	if (t->sends++ == 0)
		return CURL_PREREQFUNC_OK;
	t->resend_refused = 1;
	return CURL_PREREQFUNC_ABORT;
}

int transfer_sent_nothing(const struct transfer *t)
{
	return t->sends == 0;
}

void transfer_set_body(struct transfer *t, char *body)
{
	t->body = body;
	t->body_len = strlen(body);
	t->sends = 0;
	t->resend_refused = 0;
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, t->body);
	curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)t->body_len);
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

/*
 * Writes one trace line: under --log-format json, a "trace" event (kind:
 * libcurl's curl_infotype, "text", "header_out" or "header_in"); as text,
 * curl's own prefix ("* ", "> ", "< ") and the line with its control
 * characters shown as \xNN, so a server's header cannot drive the terminal.
 */
static void write_trace_line(const char *kind, const char *prefix, const struct strbuf *line)
{
	struct strbuf out = STRBUF_INIT;

	if (log_get_format() == LOG_FORMAT_JSON) {
		log_event(LOG_INFO, "trace", line->buf, LOG_S("kind", kind), LOG_END);
		return;
	}
	strbuf_addstr(&out, prefix);
	for (size_t i = 0; i < line->len; i++) {
		unsigned char c = (unsigned char)line->buf[i];

		if (c < 0x20 || c == 0x7f)
			strbuf_addf(&out, "\\x%02x", c);
		else
			strbuf_addch(&out, c);
	}
	strbuf_addch(&out, '\n');
	fwrite(out.buf, 1, out.len, stderr);
	strbuf_release(&out);
}

/*
 * --verbose: curl's trace, line by line, with Authorization and
 * Proxy-Authorization values cut wherever they appear (libcurl prints
 * HTTP/2 request headers as info lines, not as header lines) and any echo
 * of the credentials hidden.
 */
static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *userdata)
{
	struct transfer *t = userdata;
	const char *prefix, *kind, *p = data, *end = data + size;

	(void)easy;
	switch (type) {
	case CURLINFO_TEXT:
		prefix = "* ";
		kind = "text";
		break;
	case CURLINFO_HEADER_OUT:
		prefix = "> ";
		kind = "header_out";
		break;
	case CURLINFO_HEADER_IN:
		prefix = "< ";
		kind = "header_in";
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
		if (len) {
			strbuf_reset(&t->trace_line);
			redact_trace_line(p, len, &t->trace_line);
			redact_strbuf(t->redact, &t->trace_line);
			redact_strbuf(t->proxy_redact, &t->trace_line);
			write_trace_line(kind, prefix, &t->trace_line);
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

void transfer_scrub_answer(struct transfer *t)
{
	if (!redact_secret_is_short(t->redact))
		redact_strbuf(t->redact, &t->resp);
	redact_string(t->redact, &t->retry_after);
	redact_string(t->redact, &t->retry_after_ms);
	redact_string(t->redact, &t->should_retry);
	redact_string(t->redact, &t->request_id);
	redact_buffer(t->redact, t->errbuf, sizeof(t->errbuf));
	redact_buffer(t->proxy_redact, t->errbuf, sizeof(t->errbuf));
}

char *transfer_proxy_password(void)
{
	static const char *const vars[] = {"https_proxy", "HTTPS_PROXY", "ALL_PROXY",
					   "all_proxy",	  "http_proxy",	 "HTTP_PROXY"};

	for (size_t i = 0; i < ARRAY_SIZE(vars); i++) {
		const char *v = getenv(vars[i]), *at, *s, *colon;

		if (!v || !(at = strrchr(v, '@')))
			continue;
		s = strstr(v, "://");
		s = s && s < at ? s + 3 : v;
		colon = memchr(s, ':', (size_t)(at - s));
		if (colon && colon + 1 < at)
			return xstrndup(colon + 1, (size_t)(at - colon - 1));
	}
	return NULL;
}

void transfer_scrub_outcome(const struct transfer *t, struct finch_outcome *o)
{
	if (!redact_secret_is_short(t->redact)) {
		redact_string(t->redact, &o->session_id);
		redact_string(t->redact, &o->connect_url);
		redact_string(t->redact, &o->connection_id);
	}
	redact_string(t->redact, &o->finch_code);
	redact_string(t->redact, &o->message);
}

void transfer_link_rule(const struct run_config *cfg, struct finch_link_rule *rule, char port[8])
{
	CURLU *u = curl_url();
	char *p = NULL;

	rule->host = cfg->connect_host ? cfg->connect_host : FINCH_CONNECT_HOST_DEFAULT;
	rule->emulator_port = NULL;
	if (!u)
		die("out of memory parsing the base URL");
	if (!strncasecmp(cfg->base_url, "http://", 7) &&
	    curl_url_set(u, CURLUPART_URL, cfg->base_url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK && strlen(p) < 8) {
		memcpy(port, p, strlen(p) + 1);
		rule->emulator_port = port;
	}
	curl_free(p);
	curl_url_cleanup(u);
}

/* The raw link is kept for the record this far. */
#define LINK_RECORD_BYTES 300

void transfer_check_link(const struct finch_link_rule *rule, struct finch_outcome *o)
{
	struct strbuf sb = STRBUF_INIT;
	char why[128];
	size_t len;

	if (o->result != FINCH_CREATED ||
	    finch_api_link_check(o->connect_url, rule, why, sizeof(why)))
		return;
	len = strlen(o->connect_url);
	strbuf_addf(&sb, "malformed %ld answer (session_id '%s'): connect_url '", o->http_status,
		    o->session_id);
	strbuf_add(&sb, o->connect_url, len < LINK_RECORD_BYTES ? len : LINK_RECORD_BYTES);
	strbuf_addf(&sb, "%s' %s; not kept as a link, not retried",
		    len > LINK_RECORD_BYTES ? "..." : "", why);
	free(o->message);
	o->message = strbuf_detach(&sb, NULL);
	free(o->connect_url);
	o->connect_url = NULL;
	o->result = FINCH_REJECTED;
}

char *transfer_join_url(const char *base, const char *path)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, base);
	strbuf_addstr(&sb, path);
	return strbuf_detach(&sb, NULL);
}

void transfer_capture_header(struct transfer *t, const char *data, size_t len)
{
	on_header((char *)data, 1, len, t);
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

/*
 * For a plain-http localhost URL, a CURLOPT_RESOLVE entry mapping the host
 * and port to both loopback addresses, so no resolver is ever asked.
 */
static int pin_localhost(struct transfer *t, const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	struct strbuf sb = STRBUF_INIT;
	int ret = -1;

	if (!u)
		die("out of memory parsing the base URL");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		error("option '--base-url': libcurl cannot parse '%s'", url);
		goto out;
	}
	if (!strcasecmp(host, "localhost")) {
		strbuf_addf(&sb, "localhost:%s:127.0.0.1,[::1]", port);
		t->resolve = curl_slist_append(NULL, sb.buf);
		if (!t->resolve)
			die("out of memory pinning localhost");
	}
	ret = 0;
out:
	strbuf_release(&sb);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ret;
}

void transfer_release(struct transfer *t)
{
	if (t->easy)
		curl_easy_cleanup(t->easy);
	t->easy = NULL;
	strbuf_release(&t->resp);
	strbuf_release(&t->trace_line);
	curl_slist_free_all(t->resolve);
	t->resolve = NULL;
	transfer_clear_captures(t);
}

int transfer_init(struct transfer *t, const struct run_config *cfg, struct curl_slist *headers)
{
	CURL *e = curl_easy_init();

	if (!e)
		return error("cannot create a curl handle");
	t->easy = e;
	strbuf_init(&t->resp, 0);
	strbuf_init(&t->trace_line, 0);
	curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)t);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "finch-onboard/" FINCH_ONBOARD_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(e, CURLOPT_USERNAME, cfg->client_id ? cfg->client_id : "");
	curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->client_secret ? cfg->client_secret : "");
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, t);
	curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, (long)TRANSFER_MAX_IDLE_CONN_S);
	/* RFC 9110 section 12.5.3: a gateway may compress an answer nobody asked
	 * to be; "" decodes every coding this libcurl supports, so a 2xx is read
	 * as the answer it is and never retried as a malformed body. */
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
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
	if (!strncasecmp(cfg->base_url, "https://", 8)) {
		curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	} else {
		/* Basic credentials in clear: only ever to this machine (see transfer.h). */
		curl_easy_setopt(e, CURLOPT_PROXY, "");
		curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
		if (pin_localhost(t, cfg->base_url) < 0)
			return -1;
		if (t->resolve)
			curl_easy_setopt(e, CURLOPT_RESOLVE, t->resolve);
	}
	if (cfg->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, cfg->cacert);
	if (cfg->verbose) {
		curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, on_debug);
		curl_easy_setopt(e, CURLOPT_DEBUGDATA, t);
	}
	return 0;
}
