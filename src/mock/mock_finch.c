/*
 * mock_finch.c: the Finch side of finch-mock: what each request is
 * answered (contract checks, faults, existing connections), the log and the
 * counters. The HTTP plumbing and its limits are mock_http.c's; see
 * mock_server.h.
 */
#include "mock/mock_server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "finch/finch_api.h"
#include "base/redact.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "mock/mock_int.h"

/* One request, from its first byte to its completion. */
void mock_config_init(struct mock_config *c)
{
	memset(c, 0, sizeof(*c));
	c->bind = "127.0.0.1";
	c->threads = 2;
	c->max_body = 64 * 1024;
	c->idle_timeout_s = 30;
	c->max_per_client = 1024;
	c->max_connections = 4096;
	mock_faults_init(&c->faults);
}

static void uuid_from_bytes(const unsigned char b[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;

	/* by hand: snprintf's sixteen %02x cost more than the rest of a 201 */
	for (int i = 0; i < 16; i++) {
		unsigned v = b[i];

		if (i == 6)
			v = (v & 0x0f) | 0x40; /* version 4 */
		else if (i == 8)
			v = (v & 0x3f) | 0x80; /* RFC 4122 variant */
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = hex[v >> 4];
		*o++ = hex[v & 15];
	}
	*o = '\0';
}

/*
 * 64 random bits from a per-thread splitmix64 stream seeded once from
 * getrandom(): two syscalls a request (session and request ids) were a fifth
 * of the server's time. The ids need to be unique, not secret.
 */
static uint64_t thread_random(void)
{
	static _Thread_local uint64_t state;
	static _Thread_local int seeded;
	uint64_t z;

	if (!seeded) {
		if (random_bytes(&state, sizeof(state)) < 0)
			die("no randomness for a UUID");
		seeded = 1;
	}
	z = (state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void random_uuid(char out[37])
{
	unsigned char b[16];
	uint64_t hi = thread_random(), lo = thread_random();

	for (int i = 0; i < 8; i++) {
		b[i] = (unsigned char)(hi >> (8 * i));
		b[8 + i] = (unsigned char)(lo >> (8 * i));
	}
	uuid_from_bytes(b, out);
}

/* A connection_id that is the same for a customer in every run. */
static void stable_uuid(const char *customer_id, char out[37])
{
	unsigned char b[16];
	uint64_t h1 = mock_hash_str(customer_id),
		 h2 = mock_hash_str(customer_id) * 0x9e3779b97f4a7c15ULL;

	h2 ^= h2 >> 29;
	for (int i = 0; i < 8; i++) {
		b[i] = (unsigned char)(h1 >> (8 * i));
		b[8 + i] = (unsigned char)(h2 >> (8 * i));
	}
	uuid_from_bytes(b, out);
}

/* --existing-every K: the number the id ends with is a multiple of K. */
static int ends_in_multiple(const char *id, int64_t k)
{
	size_t len = strlen(id), i = len;
	int64_t v = 0, scale = 1;

	while (i > 0 && isdigit((unsigned char)id[i - 1]) && len - i < 18)
		i--;
	if (i == len)
		return 0;
	for (size_t j = len; j > i; j--, scale *= 10)
		v += (id[j - 1] - '0') * scale;
	return v % k == 0;
}

/* The connection_id of an existing customer into out, or 0 if it has none. Under lock. */
static int existing_connection(struct mock_server *s, const char *customer_id, char out[128])
{
	struct map_entry *e = mock_map_find(&s->existing, customer_id, 0);

	if (e) {
		snprintf(out, 128, "%s", e->value);
		return 1;
	}
	if (s->cfg.existing_every > 0 && ends_in_multiple(customer_id, s->cfg.existing_every)) {
		stable_uuid(customer_id, out);
		return 1;
	}
	return 0;
}

int mock_load_existing(struct mock_server *s, const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t alloc = 0;
	ssize_t n;
	long lineno = 0;

	if (!f)
		return error_errno("--existing: cannot open '%s'", path);
	while ((n = getline(&line, &alloc, f)) >= 0) {
		char *comma, conn[128];
		struct map_entry *e;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
			line[--n] = '\0';
		if (!n || line[0] == '#')
			continue;
		comma = strchr(line, ',');
		if (comma)
			*comma++ = '\0';
		if (!*line) {
			warning("%s:%ld: no customer_id; line ignored", path, lineno);
			continue;
		}
		if (comma && *comma)
			snprintf(conn, sizeof(conn), "%s", comma);
		else
			stable_uuid(line, conn);
		e = mock_map_find(&s->existing, line, 1);
		if (!e->key)
			e->key = xstrdup(line);
		free(e->value);
		e->value = xstrdup(conn);
	}
	free(line);
	fclose(f);
	return 0;
}

/* ---- responses ----------------------------------------------------------- */

static struct MHD_Response *make_response(struct mock_server *s, const char *body,
					  const char *content_type)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	char request_id[37];

	(void)s;
	random_uuid(request_id);
	MHD_add_response_header(r, "Content-Type", content_type);
	MHD_add_response_header(r, "Finch-Request-Id", request_id);
	return r;
}

/* Sends a JSON object built with cJSON; consumes obj. */
static struct MHD_Response *json_response(struct mock_server *s, cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	struct MHD_Response *r;

	if (!text)
		die("out of memory printing JSON");
	r = make_response(s, text, "application/json");
	free(text);
	cJSON_Delete(obj);
	return r;
}

/* Finch's documented error shape: code, name, finch_code, message (+ context). */
static cJSON *error_body(int status, const char *name, const char *finch_code, const char *message)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "code", status);
	cJSON_AddStringToObject(o, "name", name);
	if (finch_code)
		cJSON_AddStringToObject(o, "finch_code", finch_code);
	cJSON_AddStringToObject(o, "message", message);
	return o;
}

struct MHD_Response *mock_error_response(struct mock_server *s, int status, const char *name,
					 const char *finch_code, const char *message)
{
	return json_response(s, error_body(status, name, finch_code, message));
}

static struct MHD_Response *html_error(struct mock_server *s, int status)
{
	char body[160];

	snprintf(body, sizeof(body),
		 "<html><head><title>%d</title></head><body><h1>%d Server Error</h1>"
		 "<p>upstream unavailable</p></body></html>",
		 status, status);
	return make_response(s, body, "text/html");
}

/* ---- the log and the counters ------------------------------------------- */

struct log_fields {
	const char *path;
	const char *customer_id;
	int64_t attempt;
	int status;
	enum fault fault;
	int64_t retry_after_ms; /* -1: none */
	const char *session_id;
	const char *connection_id;
	int64_t minutes_to_expire; /* a created session's, defaults applied; 0: none */
};

static void json_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* Counts the request and writes its log line. Under lock. */
static void account(struct mock_server *s, const struct log_fields *l)
{
	if (l->status >= 0 && l->status < 600)
		s->by_status[l->status]++;
	s->by_fault[l->fault]++;
	if (l->session_id)
		s->sessions++;
	if (!s->log)
		return;
	fprintf(s->log, "{\"t_ms\":%lld,\"path\":", (long long)clock_now_ms());
	json_string(s->log, l->path);
	fputs(",\"customer_id\":", s->log);
	json_string(s->log, l->customer_id);
	if (l->attempt)
		fprintf(s->log, ",\"attempt\":%lld", (long long)l->attempt);
	else
		fputs(",\"attempt\":null", s->log);
	fprintf(s->log, ",\"status\":%d,\"fault\":\"%s\",\"retry_after_ms\":", l->status,
		mock_fault_name(l->fault));
	if (l->retry_after_ms >= 0)
		fprintf(s->log, "%lld", (long long)l->retry_after_ms);
	else
		fputs("null", s->log);
	fputs(",\"session_id\":", s->log);
	json_string(s->log, l->session_id);
	fputs(",\"connection_id\":", s->log);
	json_string(s->log, l->connection_id);
	if (l->minutes_to_expire)
		fprintf(s->log, ",\"minutes_to_expire\":%lld", (long long)l->minutes_to_expire);
	fputs("}\n", s->log);
	fflush(s->log); /* tests read the log while the server runs */
}

struct MHD_Response *mock_stats_response(struct mock_server *s)
{
	struct strbuf sb = STRBUF_INIT;
	struct MHD_Response *r;
	int first = 1;

	pthread_mutex_lock(&s->lock);
	strbuf_addf(&sb,
		    "{\"requests\":%lld,\"sessions_created\":%lld,\"attempts_kept\":%zu,"
		    "\"by_status\":{",
		    (long long)s->requests, (long long)s->sessions,
		    mock_counter_kept(&s->attempts));
	for (int i = 0; i < 600; i++) {
		if (s->by_status[i]) {
			strbuf_addf(&sb, "%s\"%d\":%lld", first ? "" : ",", i,
				    (long long)s->by_status[i]);
			first = 0;
		}
	}
	strbuf_addstr(&sb, "},\"by_fault\":{");
	for (int i = 0; i < FAULT_COUNT; i++)
		strbuf_addf(&sb, "%s\"%s\":%lld", i ? "," : "", mock_fault_name(i),
			    (long long)s->by_fault[i]);
	strbuf_addstr(&sb, "}");
	pthread_mutex_unlock(&s->lock);
#ifdef __GLIBC__
	{
		/*
		 * The heap as glibc's malloc sees it, all arenas: bytes in use, and
		 * bytes free but still held. Beside VmRSS it tells a leak (in_use
		 * grows) from memory held back by the allocator (free grows).
		 */
		struct mallinfo2 mi = mallinfo2();

		strbuf_addf(&sb,
			    ",\"heap\":{\"in_use\":%zu,\"free\":%zu,\"arena\":%zu,\"mmapped\":%zu}",
			    mi.uordblks, mi.fordblks, mi.arena, mi.hblkhd);
	}
#endif
	strbuf_addstr(&sb, "}");
	r = make_response(s, sb.buf, "application/json");
	strbuf_release(&sb);
	return r;
}

/* ---- deciding the answer ------------------------------------------------- */

static int version_ok(const char *v)
{
	static const char shape[] = "dddd-dd-dd";

	if (!v || strlen(v) != sizeof(shape) - 1)
		return 0;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)v[i]) : v[i] != '-')
			return 0;
	return 1;
}

/* Sets the Retry-After of a 429 as mode says; returns the hint in ms. */
static int64_t add_retry_after(struct MHD_Response *r, enum retry_after_mode mode, int64_t ms)
{
	char buf[64];

	switch (mode) {
	case RA_SECONDS: {
		int64_t secs = (ms + 999) / 1000;

		snprintf(buf, sizeof(buf), "%lld", (long long)secs);
		MHD_add_response_header(r, "Retry-After", buf);
		return secs * 1000;
	}
	case RA_DATE: {
		int64_t now = clock_now_ms(), at = (now + ms + 999) / 1000 + 1;
		time_t t = (time_t)at;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		MHD_add_response_header(r, "Retry-After", buf);
		return at * 1000 - now;
	}
	case RA_MS:
		snprintf(buf, sizeof(buf), "%lld", (long long)ms);
		MHD_add_response_header(r, "retry-after-ms", buf);
		return ms;
	case RA_NONE:
	case RA_MIX:
		break;
	}
	return -1;
}

/* What the request will get; the fault decides, then the contract. */
static void answer_fault(struct request *q, const struct fault_decision *d, int64_t penalty_left,
			 struct log_fields *l)
{
	struct mock_server *s = q->srv;

	switch (d->fault) {
	case FAULT_REVOKED:
		q->response = mock_error_response(s, 401, "unauthorized", "invalid_client",
						  "Invalid client: Unable to validate credentials");
		break;
	case FAULT_RATE_LIMIT:
		q->response =
		    mock_error_response(s, 429, "rate_limit_exceeded_error", "finch_api_ip_rl",
					"Too many requests from this IP address");
		l->retry_after_ms = add_retry_after(q->response, RA_SECONDS,
						    penalty_left > 0 ? penalty_left : 1000);
		break;
	case FAULT_FAIL_FIRST:
	case FAULT_ERROR:
		q->response =
		    s->cfg.faults.html_errors
			? html_error(s, d->status)
			: mock_error_response(s, d->status, "server_error",
					      d->status == 502 ? "upstream_provider_error" : NULL,
					      "The server could not complete the request");
		break;
	case FAULT_429:
		q->response = mock_error_response(s, 429, "rate_limit_exceeded_error",
						  "finch_application_rl", "Rate limit exceeded");
		l->retry_after_ms =
		    add_retry_after(q->response, d->ra, s->cfg.faults.retry_after_ms);
		break;
	case FAULT_RESET:
		q->reset = 1;
		break;
	case FAULT_MALFORMED:
		q->response = make_response(s, "{\"session_id\": \"5f1c", "application/json");
		break;
	case FAULT_SHORT_BODY: /* answer_created() breaks the 201 */
	case FAULT_CUT_BODY:
	case FAULT_HANG:
	case FAULT_NONE:
	case FAULT_COUNT:
		break;
	}
}

/*
 * --echo-auth: a misbehaving gateway that quotes the credentials back in a
 * 400, in every form a client must hide: the header as sent, the decoded
 * "id:secret", the secret percent-encoded, in the body, a header, and the
 * Finch-Request-Id; plus a header of terminal escape sequences.
 */
static void answer_echo_auth(struct request *q, const char *auth)
{
	struct mock_server *s = q->srv;
	struct strbuf msg = STRBUF_INIT, enc = STRBUF_INIT;
	const char *secret = s->cfg.client_secret ? s->cfg.client_secret : "";

	for (const unsigned char *p = (const unsigned char *)secret; *p; p++)
		if (isalnum(*p))
			strbuf_addch(&enc, *p);
		else
			strbuf_addf(&enc, "%%%02X", *p);
	strbuf_addf(&msg, "bad request: you sent Authorization: %s (%s:%s), secret=%s",
		    auth ? auth : "(none)", s->cfg.client_id, secret, enc.buf);
	q->status = 400;
	q->response = mock_error_response(s, 400, "bad_request", secret, msg.buf);
	MHD_add_response_header(q->response, "X-Echo-Authorization", auth ? auth : "");
	MHD_add_response_header(q->response, "Finch-Request-Id", secret);
	/* and a header that would drive a terminal if printed raw */
	MHD_add_response_header(q->response, "X-Echo-Note", "\x1b[2J\x1b[31mred\x1b[0m");
	strbuf_release(&msg);
	strbuf_release(&enc);
}

/* A body sent from memory that stops at avail bytes, then breaks the connection. */
struct short_body {
	char *data;
	size_t avail;
};

static ssize_t short_body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct short_body *b = cls;
	size_t n;

	if (pos >= b->avail)
		return MHD_CONTENT_READER_END_WITH_ERROR; /* libmicrohttpd closes the connection */
	n = b->avail - (size_t)pos < max ? b->avail - (size_t)pos : max;
	memcpy(buf, b->data + pos, n);
	return (ssize_t)n;
}

static void short_body_free(void *cls)
{
	struct short_body *b = cls;

	free(b->data);
	free(b);
}

/*
 * --short-body-rate and --cut-body-rate: a 201 whose connection breaks. The
 * short one sends its whole JSON body but promised 64 bytes more; the cut
 * one promises its real length and stops half-way through.
 */
static struct MHD_Response *broken_201(cJSON *obj, enum fault f)
{
	struct short_body *b = xcalloc(1, sizeof(*b));
	struct MHD_Response *r;
	char request_id[37];
	size_t len;

	b->data = cJSON_PrintUnformatted(obj);
	if (!b->data)
		die("out of memory printing JSON");
	cJSON_Delete(obj);
	len = strlen(b->data);
	b->avail = f == FAULT_CUT_BODY ? len / 2 : len;
	r = MHD_create_response_from_callback(f == FAULT_CUT_BODY ? len : len + 64, 4096,
					      short_body_read, b, short_body_free);
	random_uuid(request_id);
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Finch-Request-Id", request_id);
	return r;
}

static void answer_created(struct request *q, struct log_fields *l, char session[37])
{
	struct mock_server *s = q->srv;
	struct strbuf url = STRBUF_INIT;
	cJSON *o = cJSON_CreateObject();

	random_uuid(session);
	strbuf_addf(&url, "%s/authorize?session=%s",
		    s->cfg.connect_base ? s->cfg.connect_base : s->self_url, session);
	cJSON_AddStringToObject(o, "session_id", session);
	cJSON_AddStringToObject(o, "connect_url", url.buf);
	q->status = 201;
	if (l->fault == FAULT_SHORT_BODY || l->fault == FAULT_CUT_BODY)
		q->response = broken_201(o, l->fault);
	else
		q->response = json_response(s, o);
	l->session_id = session;
	strbuf_release(&url);
}

static void answer_exists(struct request *q, const char *customer_id, const char *conn)
{
	struct strbuf msg = STRBUF_INIT;
	cJSON *o, *ctx;

	strbuf_addf(&msg,
		    "There's an existing connection for the customer_id: %s. Please use the "
		    "/connect/sessions/reauthenticate endpoint instead.",
		    customer_id);
	o = error_body(400, "bad_request", "connection_already_exists", msg.buf);
	ctx = cJSON_AddObjectToObject(o, "context");
	cJSON_AddStringToObject(ctx, "customer_id", customer_id);
	cJSON_AddStringToObject(ctx, "connection_id", conn);
	q->status = 400;
	q->response = json_response(q->srv, o);
	strbuf_release(&msg);
}

/*
 * Decides the answer to a POST on one of the two session endpoints and
 * logs it. Returns how long to hold the answer back (latency, hang).
 */
int mock_auth_ok(struct mock_server *s, struct MHD_Connection *conn)
{
	const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");

	return auth && !strcmp(auth, s->expected_auth);
}

void mock_answer_early(struct request *q, const char *url, int status)
{
	struct mock_server *s = q->srv;
	struct log_fields l = {.path = url, .retry_after_ms = -1};

	q->decided = 1;
	q->status = status;
	if (status == 401)
		q->response = mock_error_response(s, 401, "unauthorized", "invalid_client",
						  "Invalid client: Unable to validate credentials");
	else
		q->response = mock_error_response(s, status, "payload_too_large", "invalid_request",
						  "the body is larger than the server accepts");
	/* the body is never read: the connection cannot carry another request */
	MHD_add_response_header(q->response, MHD_HTTP_HEADER_CONNECTION, "close");
	l.status = status;
	pthread_mutex_lock(&s->lock);
	s->requests++;
	account(s, &l);
	pthread_mutex_unlock(&s->lock);
}

/*
 * --credentials: a session request of the other environment is refused as a
 * 401 whose message names the sandbox. Finch documents the rule ("You
 * cannot use production credentials to create sandbox connections", Test >
 * Finch Sandbox) but not the body: this one is ours, shaped like its other
 * errors. Returns 1 when q got it.
 */
static int refuse_environment(struct request *q, const struct connect_request *cr)
{
	struct mock_server *s = q->srv;
	const char *why = NULL;

	if (s->cfg.credentials == MOCK_CREDENTIALS_PRODUCTION && cr->sandbox)
		why = "Production credentials cannot be used to create sandbox connections; use "
		      "the sandbox application's client_id and client_secret";
	else if (s->cfg.credentials == MOCK_CREDENTIALS_SANDBOX && !cr->sandbox)
		why = "Sandbox credentials can only create sandbox connections (sandbox: finch "
		      "or provider)";
	if (!why)
		return 0;
	q->status = 401;
	q->response = mock_error_response(s, 401, "authentication_error", NULL, why);
	return 1;
}

int64_t mock_decide_session(struct request *q, const char *url, int reauth)
{
	struct mock_server *s = q->srv;
	struct connect_request cr;
	struct log_fields l = {.path = url, .retry_after_ms = -1};
	struct fault_decision d = {FAULT_NONE, 0, RA_NONE, 0};
	const char *auth, *field = "body";
	char why[VALIDATE_WHY_MAX] = "", msg[VALIDATE_WHY_MAX + 64], conn[128], session[37];
	char *connection_id = NULL;
	int64_t request_no, penalty_left = 0;
	int rate_limited, exists = 0, rc;

	connect_request_init(&cr);
	pthread_mutex_lock(&s->lock);
	request_no = ++s->requests;
	pthread_mutex_unlock(&s->lock);

	auth = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Authorization");
	if (s->cfg.echo_auth) {
		answer_echo_auth(q, auth);
		goto out;
	}
	if (!auth || strcmp(auth, s->expected_auth)) {
		q->status = 401;
		q->response = mock_error_response(s, 401, "unauthorized", "invalid_client",
						  "Invalid client: Unable to validate credentials");
		goto out;
	}
	if (!version_ok(
		MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "Finch-API-Version"))) {
		q->status = 400;
		q->response = mock_error_response(
		    s, 400, "bad_request", "invalid_request",
		    "Finch-API-Version: the header must be a date YYYY-MM-DD (2020-09-17)");
		goto out;
	}
	if (q->too_big) {
		snprintf(why, sizeof(why), "is larger than %lld bytes", (long long)s->cfg.max_body);
		rc = -1;
	} else if (reauth) {
		rc = finch_api_parse_reauth_body(q->body.buf, q->body.len, &connection_id, &cr,
						 &field, why, sizeof(why));
	} else {
		rc = finch_api_parse_session_body(q->body.buf, q->body.len, &cr, &field, why,
						  sizeof(why));
	}
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", field ? field : "body", why);
		q->status = 400;
		q->response = mock_error_response(s, 400, "bad_request", "invalid_request", msg);
		goto out;
	}
	l.customer_id = reauth ? NULL : cr.customer_id;
	l.connection_id = connection_id;
	if (!reauth && refuse_environment(q, &cr))
		goto out;

	pthread_mutex_lock(&s->lock);
	{
		const char *key = reauth ? connection_id : cr.customer_id;

		l.attempt = mock_counter_hit(&s->attempts, key);
	}
	rate_limited = mock_window_hit(&s->window, &s->cfg.faults, clock_mono_ms());
	penalty_left = s->window.penalty_until_ms - clock_mono_ms();
	exists = !reauth && (existing_connection(s, cr.customer_id, conn) ||
			     mock_journey_connection(s->journey, cr.customer_id, conn));
	pthread_mutex_unlock(&s->lock);

	d = mock_faults_decide(&s->cfg.faults, request_no, reauth ? connection_id : cr.customer_id,
			       l.attempt, rate_limited);
	l.fault = d.fault;
	q->status = d.status;
	answer_fault(q, &d, penalty_left, &l);
	if (!q->response && !q->reset) {
		if (exists) {
			answer_exists(q, cr.customer_id, conn);
			l.connection_id = conn;
			if (l.fault == FAULT_SHORT_BODY || l.fault == FAULT_CUT_BODY)
				l.fault = FAULT_NONE; /* those break 201s only */
		} else {
			answer_created(q, &l, session);
			l.minutes_to_expire = mock_journey_session(
			    s->journey, session, reauth ? NULL : cr.customer_id, connection_id,
			    cr.minutes_to_expire);
		}
	}
out:
	l.status = q->reset ? 0 : q->status;
	pthread_mutex_lock(&s->lock);
	account(s, &l);
	pthread_mutex_unlock(&s->lock);
	free(connection_id);
	connect_request_release(&cr);
	return d.delay_ms;
}

/* 1 when the peer of conn is 127.0.0.0/8 or ::1. */
static int peer_is_loopback(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = ci ? ci->client_addr : NULL;

	if (sa && sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr) >>
			24) == 127;
	if (sa && sa->sa_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr);
	return 0;
}

void mock_answer_admin(struct request *q, const char *method, const char *url)
{
	char *body = mock_journey_admin(q->srv->journey, method, url, q->body.buf, q->body.len,
					peer_is_loopback(q->conn), &q->status);

	q->response = make_response(q->srv, body, "application/json");
	free(body);
}
