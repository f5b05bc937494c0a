/*
 * webhook.c: Finch's webhook signature. See webhook.h.
 */
#include "finch/webhook.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/digest.h"
#include "finch/connection.h"
#include "base/strbuf.h"
#include "base/util.h"

static int is_b64(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/';
}

int webhook_key_parse(const char *secret, struct webhook_key *k, char *why, size_t size)
{
	size_t len = secret ? strlen(secret) : 0;
	size_t pad = 0;
	unsigned char buf[WEBHOOK_KEY_MAX + 3];
	char again[(WEBHOOK_KEY_MAX + 3 + 2) / 3 * 4 + 1];
	int n, ret = -1;

	k->len = 0;
	if (!len)
		return set_why(why, size, "is empty");
	if (!strncmp(secret, "whsec_", 6))
		return set_why(why, size,
			       "starts with 'whsec_': give the base64 secret alone, as the "
			       "dashboard shows it (the SDKs strip no prefix either)");
	if (len % 4)
		return set_why(why, size, "is not base64 (its length is not a multiple of 4)");
	if (len / 4 * 3 > sizeof(buf))
		return set_why(why, size, "is longer than %d bytes once decoded", WEBHOOK_KEY_MAX);
	while (pad < 2 && secret[len - 1 - pad] == '=')
		pad++;
	for (size_t i = 0; i < len - pad; i++)
		if (!is_b64((unsigned char)secret[i]))
			return set_why(why, size, "is not base64 (character %zu)", i + 1);
	n = EVP_DecodeBlock(buf, (const unsigned char *)secret, (int)len);
	if (n < 0 || (size_t)n < pad) {
		set_why(why, size, "is not base64");
		goto out;
	}
	k->len = (size_t)n - pad;
	if (k->len > WEBHOOK_KEY_MAX) {
		set_why(why, size, "is longer than %d bytes once decoded", WEBHOOK_KEY_MAX);
		goto out;
	}
	/*
	 * finch-api-node's parseSecret() refuses a secret that does not encode
	 * back to itself ("Given secret is not valid"): "YR==" decodes to the
	 * same byte as "YQ==", a sign of a mangled copy.
	 */
	EVP_EncodeBlock((unsigned char *)again, buf, (int)k->len);
	if (strcmp(again, secret)) {
		set_why(why, size,
			"is not base64 as the SDK reads it (its last character "
			"has bits that encode nothing)");
		goto out;
	}
	/*
	 * Neither SDK sets a length (their own tests sign with 3 bytes), but
	 * Finch's secrets are 24 bytes, and a placeholder such as "test" is
	 * valid base64: a key that short is refused, never used to accept
	 * deliveries anyone could forge.
	 */
	if (k->len < WEBHOOK_KEY_MIN) {
		set_why(why, size,
			"decodes to %zu bytes, fewer than %d (Finch's secrets are 24 bytes, 32 "
			"base64 characters): is it a placeholder?",
			k->len, WEBHOOK_KEY_MIN);
		goto out;
	}
	memcpy(k->key, buf, k->len);
	ret = 0;
out:
	if (ret < 0)
		k->len = 0;
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(again, sizeof(again));
	return ret;
}

int webhook_headers_pick(struct webhook_headers *h, const char *name, const char *value)
{
	if (!strcasecmp(name, "finch-event-id"))
		h->event_id = value;
	else if (!strcasecmp(name, "finch-timestamp"))
		h->timestamp = value;
	else if (!strcasecmp(name, "finch-signature"))
		h->signature = value;
	else
		return 0;
	return 1;
}

int webhook_sign(const struct webhook_key *k, const char *event_id, int64_t timestamp_s,
		 const void *body, size_t len, char out[WEBHOOK_SIG_B64_LEN + 1])
{
	struct strbuf msg = STRBUF_INIT;
	unsigned char mac[SHA256_BYTES];
	int ret = -1;

	strbuf_addf(&msg, "%s.%lld.", event_id, (long long)timestamp_s);
	strbuf_add(&msg, body, len);
	if (hmac_sha256(k->key, k->len, msg.buf, msg.len, mac) < 0)
		goto out;
	EVP_EncodeBlock((unsigned char *)out, mac, SHA256_BYTES);
	ret = 0;
out:
	strbuf_release(&msg);
	return ret;
}

/*
 * Finch-Timestamp as both SDKs read it: Unix seconds, a fraction dropped
 * (finch-api-python float() then floor(), finch-api-node parseInt(), and
 * both sign the whole seconds). What one of them refuses is refused: a
 * sign other than '-', spaces, exponents, trailing letters. Returns 0, or
 * -1 (the SDKs' "Invalid timestamp header").
 */
int webhook_timestamp_parse(const char *s, int64_t *out)
{
	const char *p = s + (*s == '-');
	size_t digits = strspn(p, "0123456789");
	char whole[24];

	if (!digits || digits > 15)
		return -1;
	if (p[digits] == '.' && p[digits + 1 + strspn(p + digits + 1, "0123456789")] == '\0')
		; /* a fraction, dropped */
	else if (p[digits])
		return -1;
	memcpy(whole, s, (size_t)(p - s) + digits);
	whole[(size_t)(p - s) + digits] = '\0';
	return parse_int64(whole, -INT64_MAX / 1000, INT64_MAX / 1000, out);
}

enum webhook_verdict webhook_verify(const struct webhook_key *k, const struct webhook_headers *h,
				    const void *body, size_t len, int64_t now_s, char *why,
				    size_t size)
{
	char expected[WEBHOOK_SIG_B64_LEN + 1];
	int64_t ts;
	const char *p;

	if (!h->event_id || !*h->event_id) {
		set_why(why, size, "the Finch-Event-Id header is missing");
		return WEBHOOK_MISSING_HEADER;
	}
	if (!h->timestamp || !*h->timestamp) {
		set_why(why, size, "the Finch-Timestamp header is missing");
		return WEBHOOK_MISSING_HEADER;
	}
	if (!h->signature || !*h->signature) {
		set_why(why, size, "the Finch-Signature header is missing");
		return WEBHOOK_MISSING_HEADER;
	}
	if (webhook_timestamp_parse(h->timestamp, &ts) < 0) {
		set_why(why, size, "Finch-Timestamp is not Unix seconds");
		return WEBHOOK_BAD_TIMESTAMP;
	}
	if (now_s - ts > WEBHOOK_TOLERANCE_S) {
		set_why(why, size, "Finch-Timestamp is %lld s old (at most %d allowed)",
			(long long)(now_s - ts), WEBHOOK_TOLERANCE_S);
		return WEBHOOK_OLD_TIMESTAMP;
	}
	if (ts - now_s > WEBHOOK_TOLERANCE_S) {
		set_why(why, size, "Finch-Timestamp is %lld s in the future (at most %d allowed)",
			(long long)(ts - now_s), WEBHOOK_TOLERANCE_S);
		return WEBHOOK_NEW_TIMESTAMP;
	}
	if (webhook_sign(k, h->event_id, ts, body, len, expected) < 0) {
		set_why(why, size, "cannot compute the signature");
		return WEBHOOK_BAD_SIGNATURE;
	}
	/* "v1,SIG v1,SIG2 ...": every v1 entry is compared, none short-circuits on content */
	for (p = h->signature; *p;) {
		size_t n = strcspn(p, " ");

		if (n == 3 + WEBHOOK_SIG_B64_LEN && !memcmp(p, "v1,", 3) &&
		    !CRYPTO_memcmp(p + 3, expected, WEBHOOK_SIG_B64_LEN))
			return WEBHOOK_OK;
		p += n;
		while (*p == ' ')
			p++;
	}
	set_why(why, size, "no v1 entry of Finch-Signature matches the body");
	return WEBHOOK_BAD_SIGNATURE;
}

int webhook_status_valid(const char *s)
{
	return connection_status_index(s) >= 0;
}

void webhook_event_release(struct webhook_event *ev)
{
	free(ev->event_type);
	free(ev->connection_id);
	free(ev->status);
	memset(ev, 0, sizeof(*ev));
}

/*
 * 1 when body holds a NUL byte, raw or as the escape \u0000: cJSON keeps
 * C strings, so "c1\u0000x" would become "c1", another connection. A
 * backslash outside a string is not JSON, so no string state is needed.
 */
static int has_nul(const char *body, size_t len)
{
	if (memchr(body, '\0', len))
		return 1;
	for (size_t i = 0; i + 1 < len; i++) {
		if (body[i] != '\\')
			continue;
		if (body[i + 1] == 'u' && i + 6 <= len && !memcmp(body + i + 2, "0000", 4))
			return 1;
		i++; /* the escaped character, so "\\u0000" is a backslash, then text */
	}
	return 0;
}

int webhook_event_parse(const void *body, size_t len, struct webhook_event *ev, char *why,
			size_t size)
{
	cJSON *root = NULL;
	const cJSON *type, *conn, *data, *status;
	int ret = -1;

	memset(ev, 0, sizeof(*ev));
	if (has_nul(body, len)) {
		set_why(why, size,
			"the body holds a NUL character (\\u0000), which would cut "
			"a connection_id short");
		goto out;
	}
	root = cJSON_ParseWithLength(body, len);
	if (!root || !cJSON_IsObject(root)) {
		set_why(why, size, "the body is not a JSON object");
		goto out;
	}
	type = cJSON_GetObjectItemCaseSensitive(root, "event_type");
	if (!cJSON_IsString(type)) {
		set_why(why, size, "event_type is missing or not a string");
		goto out;
	}
	ev->event_type = xstrdup(type->valuestring);
	conn = cJSON_GetObjectItemCaseSensitive(root, "connection_id");
	if (cJSON_IsString(conn) && *conn->valuestring)
		ev->connection_id = xstrdup(conn->valuestring);
	if (strcmp(ev->event_type, "account.updated")) {
		ret = 0;
		goto out;
	}
	if (!ev->connection_id) {
		set_why(why, size, "account.updated has no connection_id");
		goto out;
	}
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	status = cJSON_GetObjectItemCaseSensitive(data, "status");
	if (!cJSON_IsString(status) || !webhook_status_valid(status->valuestring)) {
		set_why(why, size, "account.updated's data.status is missing or unknown");
		goto out;
	}
	ev->status = xstrdup(status->valuestring);
	ret = 0;
out:
	if (ret < 0)
		webhook_event_release(ev);
	cJSON_Delete(root);
	return ret;
}
