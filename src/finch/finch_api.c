/*
 * finch_api.c: Connect session bodies and the meaning of Finch's answers.
 * See finch_api.h.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "finch/finch_api.h"
#include "base/json.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "base/utf8.h"

/* Bytes of a server-provided message kept in an outcome. */
#define MESSAGE_MAX_BYTES 500
/* Characters of a non-JSON body quoted in a message. */
#define BODY_QUOTE_CHARS 100

static void check_alloc(const void *p)
{
	if (!p)
		die("out of memory building a JSON body");
}

static void add_string(cJSON *obj, const char *name, const char *value)
{
	check_alloc(cJSON_AddStringToObject(obj, name, value));
}

/*
 * The request's two objects of a required and an optional string: the
 * object's name, then its members' as *field names them ("object.member").
 */
static const char *const integration_names[] = {"integration", "integration.provider",
						"integration.auth_method"};
static const char *const recordkeeping_names[] = {"recordkeeping", "recordkeeping.recordkeeper",
						  "recordkeeping.plan_id"};

/* Adds the object names[0] holding names[1]: req and, when given, names[2]: opt. */
static void add_string_pair(cJSON *obj, const char *const names[3], const char *req,
			    const char *opt)
{
	size_t prefix = strlen(names[0]) + 1;
	cJSON *pair = cJSON_AddObjectToObject(obj, names[0]);

	check_alloc(pair);
	add_string(pair, names[1] + prefix, req);
	if (opt)
		add_string(pair, names[2] + prefix, opt);
}

static void add_products(cJSON *obj, unsigned mask)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, "products");

	check_alloc(arr);
	for (unsigned i = 0; i < PRODUCT_COUNT; i++) {
		const char *name = (mask & (1u << i)) ? product_name(1u << i) : NULL;
		cJSON *item;

		if (!name)
			continue;
		item = cJSON_CreateString(name);
		check_alloc(item);
		cJSON_AddItemToArray(arr, item);
	}
}

char *finch_api_session_body(const struct connect_request *r)
{
	cJSON *obj = cJSON_CreateObject();

	check_alloc(obj);
	if (r->customer_id)
		add_string(obj, "customer_id", r->customer_id);
	if (r->customer_name)
		add_string(obj, "customer_name", r->customer_name);
	if (r->customer_email)
		add_string(obj, "customer_email", r->customer_email);
	add_products(obj, r->products); /* required, even when empty */
	if (r->redirect_uri)
		add_string(obj, "redirect_uri", r->redirect_uri);
	if (r->minutes_to_expire)
		check_alloc(cJSON_AddNumberToObject(obj, "minutes_to_expire",
						    (double)r->minutes_to_expire));
	if (r->sandbox)
		add_string(obj, "sandbox", r->sandbox);
	if (r->manual >= 0)
		check_alloc(cJSON_AddBoolToObject(obj, "manual", r->manual));
	if (r->integration_provider)
		add_string_pair(obj, integration_names, r->integration_provider,
				r->integration_auth_method);
	/* finch-api-node 9.12.0: only with the recordkeeping product (validate.c) */
	if (r->recordkeeper)
		add_string_pair(obj, recordkeeping_names, r->recordkeeper,
				r->recordkeeping_plan_id);
	return json_print_delete(obj);
}

char *finch_api_reauth_body(const char *connection_id, const struct connect_request *r)
{
	cJSON *obj = cJSON_CreateObject();

	check_alloc(obj);
	add_string(obj, "connection_id", connection_id);
	if (r && r->products)
		add_products(obj, r->products);
	if (r && r->redirect_uri)
		add_string(obj, "redirect_uri", r->redirect_uri);
	if (r && r->minutes_to_expire)
		check_alloc(cJSON_AddNumberToObject(obj, "minutes_to_expire",
						    (double)r->minutes_to_expire));
	return json_print_delete(obj);
}

/*
 * Parses json[0..len) as exactly one JSON object (whitespace around it is
 * allowed, anything else is not). Returns NULL if it is not one.
 */
static cJSON *parse_object(const char *json, size_t len)
{
	const char *end = NULL;
	cJSON *root;

	if (!json || !len)
		return NULL;
	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!root)
		return NULL;
	while (end && end < json + len && (isspace((unsigned char)*end) || *end == '\0'))
		end++;
	if (!cJSON_IsObject(root) || (end && end < json + len)) {
		cJSON_Delete(root);
		return NULL;
	}
	return root;
}

/* A JSON null or absent member. */
static int is_absent(const cJSON *item)
{
	return !item || cJSON_IsNull(item);
}

/*
 * Reads an optional nullable string member into *out (malloc'd).
 * Returns 0, or -1 with why set.
 */
static int get_opt_string(const cJSON *obj, const char *name, char **out, char *why, size_t size)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (is_absent(item))
		return 0;
	if (!cJSON_IsString(item))
		return set_why(why, size, "must be a string");
	*out = xstrdup(item->valuestring);
	return 0;
}

static int get_req_string(const cJSON *obj, const char *name, char **out, char *why, size_t size)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	if (!item)
		return set_why(why, size, "is required");
	if (!cJSON_IsString(item))
		return set_why(why, size, "must be a string");
	*out = xstrdup(item->valuestring);
	return 0;
}

/* get_req_string() (required) or get_opt_string() of member name, which *field names. */
static int get_member(const cJSON *obj, const char *name, int required, char **out,
		      const char **field, char *why, size_t size)
{
	*field = name;
	if (required)
		return get_req_string(obj, name, out, why, size);
	return get_opt_string(obj, name, out, why, size);
}

/*
 * The nullable object names[0] of root, whose member names[1] is a required
 * string and names[2] an optional one, each named "object.member" (the
 * integration, the recordkeeping). 0, or -1 with *field and why set.
 */
static int get_string_pair(const cJSON *root, const char *const names[3], char **req, char **opt,
			   const char **field, char *why, size_t size)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, names[0]);
	size_t prefix = strlen(names[0]) + 1;

	*field = names[0];
	if (is_absent(item))
		return 0;
	if (!cJSON_IsObject(item))
		return set_why(why, size, "must be an object");
	if (get_req_string(item, names[1] + prefix, req, why, size) < 0) {
		*field = names[1];
		return -1;
	}
	*field = names[2];
	return get_opt_string(item, names[2] + prefix, opt, why, size);
}

static int get_products(const cJSON *obj, int required, unsigned *mask, char *why, size_t size)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "products");
	const cJSON *elem;

	*mask = 0;
	if (!item) {
		if (required)
			return set_why(why, size, "is required");
		return 0;
	}
	if (!required && cJSON_IsNull(item))
		return 0;
	if (!cJSON_IsArray(item))
		return set_why(why, size, "must be an array of strings");
	cJSON_ArrayForEach(elem, item)
	{
		unsigned bit;
		size_t n;

		if (!cJSON_IsString(elem))
			return set_why(why, size, "must be an array of strings");
		n = strlen(elem->valuestring);
		bit = product_from_name(elem->valuestring, n);
		if (!bit)
			return set_why(why, size, "unknown product '%.40s%s'", elem->valuestring,
				       n > 40 ? "..." : "");
		*mask |= bit;
	}
	/* [] is allowed: the schema has no minItems (see validate_contract) */
	return *mask ? validate_products(*mask, why, size) : 0;
}

static int get_minutes(const cJSON *obj, int64_t *out, char *why, size_t size)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "minutes_to_expire");

	*out = 0;
	if (is_absent(item))
		return 0;
	if (!cJSON_IsNumber(item))
		return set_why(why, size, "must be a number");
	return validate_minutes_to_expire_number(item->valuedouble, out, why, size);
}

int finch_api_parse_session_body(const char *json, size_t len, struct connect_request *out,
				 const char **field, char *why, size_t size)
{
	cJSON *root = parse_object(json, len);
	const cJSON *item;
	int ret = -1;

	connect_request_init(out);
	*field = "body";
	if (!root) {
		set_why(why, size, "is not a JSON object");
		goto out;
	}

	if (get_member(root, "customer_id", 1, &out->customer_id, field, why, size) < 0 ||
	    get_member(root, "customer_name", 1, &out->customer_name, field, why, size) < 0 ||
	    get_member(root, "customer_email", 0, &out->customer_email, field, why, size) < 0)
		goto out;
	*field = "products";
	if (get_products(root, 1, &out->products, why, size) < 0)
		goto out;
	if (get_member(root, "redirect_uri", 0, &out->redirect_uri, field, why, size) < 0)
		goto out;
	*field = "minutes_to_expire";
	if (get_minutes(root, &out->minutes_to_expire, why, size) < 0)
		goto out;
	if (get_member(root, "sandbox", 0, &out->sandbox, field, why, size) < 0)
		goto out;

	*field = "manual";
	item = cJSON_GetObjectItemCaseSensitive(root, "manual");
	if (!is_absent(item)) {
		if (!cJSON_IsBool(item)) {
			set_why(why, size, "must be a boolean");
			goto out;
		}
		out->manual = cJSON_IsTrue(item) ? 1 : 0;
	}

	if (get_string_pair(root, integration_names, &out->integration_provider,
			    &out->integration_auth_method, field, why, size) < 0 ||
	    get_string_pair(root, recordkeeping_names, &out->recordkeeper,
			    &out->recordkeeping_plan_id, field, why, size) < 0)
		goto out;

	ret = validate_contract(out, field, why, size);
out:
	if (ret < 0)
		connect_request_release(out);
	cJSON_Delete(root);
	return ret;
}

int finch_api_parse_reauth_body(const char *json, size_t len, char **connection_id,
				struct connect_request *out, const char **field, char *why,
				size_t size)
{
	cJSON *root = parse_object(json, len);
	char *id = NULL;
	int ret = -1;

	*connection_id = NULL;
	connect_request_init(out);
	*field = "body";
	if (!root) {
		set_why(why, size, "is not a JSON object");
		goto out;
	}
	if (get_member(root, "connection_id", 1, &id, field, why, size) < 0)
		goto out;
	if (!*id) {
		set_why(why, size, "is empty");
		goto out;
	}
	if (utf8_count(id, strlen(id)) < 0) {
		set_why(why, size, "is not valid UTF-8");
		goto out;
	}
	*field = "products";
	if (get_products(root, 0, &out->products, why, size) < 0)
		goto out;
	if (get_member(root, "redirect_uri", 0, &out->redirect_uri, field, why, size) < 0)
		goto out;
	if (out->redirect_uri && utf8_count(out->redirect_uri, strlen(out->redirect_uri)) < 0) {
		set_why(why, size, "is not valid UTF-8");
		goto out;
	}
	*field = "minutes_to_expire";
	if (get_minutes(root, &out->minutes_to_expire, why, size) < 0)
		goto out;
	*field = NULL;
	*connection_id = id;
	id = NULL;
	ret = 0;
out:
	if (ret < 0)
		connect_request_release(out);
	free(id);
	cJSON_Delete(root);
	return ret;
}

void finch_outcome_release(struct finch_outcome *o)
{
	free(o->session_id);
	free(o->connect_url);
	free(o->connection_id);
	free(o->finch_code);
	free(o->message);
	memset(o, 0, sizeof(*o));
}

/*
 * Appends s[0..len) to sb as one line: control characters become spaces,
 * runs of spaces fold, and at most max_chars characters (or max_bytes
 * bytes) are kept, never cutting a UTF-8 sequence; "..." marks a cut.
 */
static void add_one_line(struct strbuf *sb, const char *s, size_t len, size_t max_chars,
			 size_t max_bytes)
{
	size_t start = sb->len, chars = 0, i = 0;
	int space = 1; /* drops leading spaces */

	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		size_t n = 1;

		if (c < 0x20 || c == 0x7f || c == ' ') {
			if (!space)
				strbuf_addch(sb, ' ');
			space = 1;
			i++;
			continue;
		}
		if (c >= 0x80) {
			/* Whole sequence, or '?' for a byte that starts none. */
			size_t want = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
			if (want > len - i || utf8_count(s + i, want) != 1) {
				c = '?';
			} else {
				n = want;
			}
		}
		if (chars == max_chars || sb->len - start + n > max_bytes) {
			strbuf_addstr(sb, "...");
			return;
		}
		if (n == 1)
			strbuf_addch(sb, c);
		else
			strbuf_add(sb, s + i, n);
		space = 0;
		chars++;
		i += n;
	}
	while (sb->len > start && sb->buf[sb->len - 1] == ' ')
		sb->len--;
	sb->buf[sb->len] = '\0';
}

static char *one_line(const char *s, size_t max_chars)
{
	struct strbuf sb = STRBUF_INIT;

	add_one_line(&sb, s, strlen(s), max_chars, MESSAGE_MAX_BYTES);
	return strbuf_detach(&sb, NULL);
}

static const char *get_string(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* The message of an error answer, whether or not its body is JSON. */
static char *error_message(long status, const cJSON *root, const char *body, size_t body_len)
{
	struct strbuf sb = STRBUF_INIT;
	const char *msg = NULL;

	if (root) {
		const cJSON *err = cJSON_GetObjectItemCaseSensitive(root, "error");

		msg = get_string(root, "message");
		if (!msg && cJSON_IsString(err))
			msg = err->valuestring;
		if (!msg && cJSON_IsObject(err))
			msg = get_string(err, "message");
		if (msg && *msg) {
			add_one_line(&sb, msg, strlen(msg), MESSAGE_MAX_BYTES, MESSAGE_MAX_BYTES);
			if (sb.len)
				return strbuf_detach(&sb, NULL);
		}
		msg = get_string(root, "finch_code");
		if (!msg)
			msg = get_string(root, "name");
		strbuf_addf(&sb, "HTTP %ld", status);
		if (msg) {
			strbuf_addstr(&sb, " (");
			add_one_line(&sb, msg, strlen(msg), BODY_QUOTE_CHARS, MESSAGE_MAX_BYTES);
			strbuf_addch(&sb, ')');
		}
		return strbuf_detach(&sb, NULL);
	}
	add_one_line(&sb, body ? body : "", body ? body_len : 0, BODY_QUOTE_CHARS,
		     MESSAGE_MAX_BYTES);
	if (sb.len) {
		char *quoted = strbuf_detach(&sb, NULL);

		strbuf_addf(&sb, "HTTP %ld: %s", status, quoted);
		free(quoted);
	} else {
		strbuf_addf(&sb, "HTTP %ld with an empty body", status);
	}
	return strbuf_detach(&sb, NULL);
}

static int is_transient_status(long status)
{
	return status == 408 || status == 409 || status == 429 || status >= 500 || status < 200 ||
	       (status >= 300 && status < 400);
}

/* 1 for "true", 0 for "false", -1 for anything else (surrounding blanks ignored). */
static int parse_should_retry(const char *v)
{
	size_t n;

	if (!v)
		return -1;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strlen(v);
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	if (n == 4 && !strncasecmp(v, "true", 4))
		return 1;
	if (n == 5 && !strncasecmp(v, "false", 5))
		return 0;
	return -1;
}

void finch_api_classify(long http_status, const char *body, size_t body_len,
			const char *should_retry, struct finch_outcome *out)
{
	cJSON *root = parse_object(body, body_len);
	const char *code;
	int hint;

	memset(out, 0, sizeof(*out));
	out->http_status = http_status;
	code = root ? get_string(root, "finch_code") : NULL;
	if (code)
		out->finch_code = one_line(code, BODY_QUOTE_CHARS);

	if (http_status >= 200 && http_status < 300) {
		const char *sid = root ? get_string(root, "session_id") : NULL;
		const char *url = root ? get_string(root, "connect_url") : NULL;
		struct strbuf sb = STRBUF_INIT;

		if (sid && *sid && url && *url) {
			out->result = FINCH_CREATED;
			out->session_id = xstrdup(sid);
			out->connect_url = xstrdup(url);
			goto out;
		}
		out->result = FINCH_UNREADABLE;
		strbuf_addf(&sb, "malformed %ld body: ", http_status);
		if (!root && body_len) {
			strbuf_addstr(&sb, "not a JSON object: ");
			add_one_line(&sb, body, body_len, BODY_QUOTE_CHARS, MESSAGE_MAX_BYTES);
		} else if (!root) {
			strbuf_addstr(&sb, "empty");
		} else if (!sid || !*sid) {
			strbuf_addstr(&sb, "no string session_id");
		} else {
			strbuf_addstr(&sb, "no string connect_url");
		}
		out->message = strbuf_detach(&sb, NULL);
	} else if (http_status == 400 && code && !strcmp(code, "connection_already_exists")) {
		const cJSON *ctx = cJSON_GetObjectItemCaseSensitive(root, "context");
		const char *conn = cJSON_IsObject(ctx) ? get_string(ctx, "connection_id") : NULL;

		out->message = error_message(http_status, root, body, body_len);
		if (conn && *conn) {
			out->result = FINCH_EXISTS;
			out->connection_id = xstrdup(conn);
		} else {
			struct strbuf sb = STRBUF_INIT;

			out->result = FINCH_REJECTED;
			strbuf_addf(&sb,
				    "connection_already_exists without context.connection_id: %s",
				    out->message);
			free(out->message);
			out->message = strbuf_detach(&sb, NULL);
		}
	} else if (http_status == 401 || http_status == 403) {
		/* a 403 is one row's refusal, unless it refuses the credentials' environment */
		out->message = error_message(http_status, root, body, body_len);
		out->result = http_status == 401 || finch_api_is_sandbox_refusal(
							http_status, out->finch_code, out->message)
				  ? FINCH_AUTH
				  : FINCH_REJECTED;
	} else {
		out->result = is_transient_status(http_status) ? FINCH_TRANSIENT : FINCH_REJECTED;
		out->message = error_message(http_status, root, body, body_len);
		if ((http_status < 200 || http_status >= 600) ||
		    (http_status >= 300 && http_status < 400)) {
			struct strbuf sb = STRBUF_INIT;

			strbuf_addf(&sb, "unexpected status: %s", out->message);
			free(out->message);
			out->message = strbuf_detach(&sb, NULL);
		}
	}

	hint = parse_should_retry(should_retry);
	if (hint == 1 && out->result == FINCH_REJECTED)
		out->result = FINCH_TRANSIENT;
	else if (hint == 0 && out->result == FINCH_TRANSIENT)
		out->result = FINCH_REJECTED;
out:
	cJSON_Delete(root);
}

void finch_api_transport_error(const char *what, struct finch_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->result = FINCH_TRANSIENT;
	out->http_status = 0;
	out->message = one_line(what && *what ? what : "transport error", MESSAGE_MAX_BYTES);
	if (!*out->message) {
		free(out->message);
		out->message = xstrdup("transport error");
	}
}

/* 1 when s (may be NULL) holds "sandbox" in any case. */
static int names_sandbox(const char *s)
{
	for (; s && *s; s++)
		if (!strncasecmp(s, "sandbox", 7))
			return 1;
	return 0;
}

int finch_api_is_sandbox_refusal(long http_status, const char *finch_code, const char *message)
{
	return (http_status == 401 || http_status == 403) &&
	       (names_sandbox(finch_code) || names_sandbox(message));
}

int finch_api_is_client_wide_limit(const char *finch_code)
{
	return finch_code &&
	       (!strcmp(finch_code, "finch_api_ip_rl") || !strcmp(finch_code, "finch_auth_ip_rl"));
}

void finch_api_broken_answer(long http_status, const char *body, size_t body_len, const char *what,
			     struct finch_outcome *out)
{
	struct strbuf sb = STRBUF_INIT;

	finch_api_classify(http_status, body, body_len, NULL, out);
	if (out->result == FINCH_CREATED || out->result == FINCH_EXISTS)
		return;
	finch_outcome_release(out);
	memset(out, 0, sizeof(*out));
	out->result = http_status >= 200 && http_status < 300 ? FINCH_UNREADABLE : FINCH_TRANSIENT;
	out->http_status = http_status;
	strbuf_addf(&sb, "HTTP %ld cut short (", http_status);
	add_one_line(&sb, what && *what ? what : "transport error",
		     what && *what ? strlen(what) : 15, BODY_QUOTE_CHARS, MESSAGE_MAX_BYTES);
	strbuf_addf(&sb, ") after %zu body bytes", body_len);
	if (body_len) {
		strbuf_addstr(&sb, ": ");
		add_one_line(&sb, body, body_len, BODY_QUOTE_CHARS, MESSAGE_MAX_BYTES);
	}
	out->message = strbuf_detach(&sb, NULL);
}

/* 1 for a loopback host as it appears in a URL's authority. */
static int is_loopback_host(const char *h, size_t len)
{
	return (len == 9 && !strncasecmp(h, "localhost", 9)) ||
	       (len == 5 && !memcmp(h, "[::1]", 5)) ||
	       (len >= 7 && !memcmp(h, "127.", 4) && strspn(h, "0123456789.") >= len);
}

int finch_api_link_check(const char *url, const struct finch_link_rule *rule, char *why,
			 size_t size)
{
	const char *auth, *end, *colon, *port = NULL;
	size_t host_len;
	int https = !strncasecmp(url, "https://", 8);

	for (const char *p = url; *p; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			set_why(why, size, "holds a space, a control or a non-ASCII byte");
			return 0;
		}
	}
	if (!https && !(rule->emulator_port && !strncasecmp(url, "http://", 7))) {
		set_why(why, size, "is not an https:// link");
		return 0;
	}
	auth = url + (https ? 8 : 7);
	end = auth + strcspn(auth, "/?#");
	if (memchr(auth, '@', (size_t)(end - auth))) {
		set_why(why, size, "has a user name before its host");
		return 0;
	}
	/* the port follows the first ':' after an IPv6 literal's brackets */
	colon = memchr(auth, ']', (size_t)(end - auth));
	if (!colon)
		colon = auth;
	colon = memchr(colon, ':', (size_t)(end - colon));
	host_len = (size_t)((colon ? colon : end) - auth);
	if (colon)
		port = colon + 1;
	if (https) {
		if (host_len == strlen(rule->host) && !strncasecmp(auth, rule->host, host_len) &&
		    (!port || (end - port == 3 && !memcmp(port, "443", 3))))
			return 1;
		set_why(why, size, "is not on https://%s", rule->host);
		return 0;
	}
	if (is_loopback_host(auth, host_len) && port &&
	    (size_t)(end - port) == strlen(rule->emulator_port) &&
	    !memcmp(port, rule->emulator_port, (size_t)(end - port)))
		return 1;
	set_why(why, size, "is neither on https://%s nor the emulator's own origin", rule->host);
	return 0;
}
