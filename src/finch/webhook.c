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
#include "base/strbuf.h"
#include "base/util.h"

/* finch-api-node src/resources/shared.ts ConnectionStatusType (10.7) */
static const char *const statuses[] = {
    "pending",	    "processing",	 "connected",
    "reauth",	    "error_permissions", "error_no_account_setup",
    "disconnected",
};

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
	int n;

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
	if (n < 0 || (size_t)n < pad)
		return set_why(why, size, "is not base64");
	k->len = (size_t)n - pad;
	if (!k->len || k->len > WEBHOOK_KEY_MAX) {
		k->len = 0;
		return set_why(why, size, "decodes to nothing or more than %d bytes",
			       WEBHOOK_KEY_MAX);
	}
	memcpy(k->key, buf, k->len);
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
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

/* Whole Unix seconds, as the SDKs parse Finch-Timestamp; -1 if not. */
static int parse_timestamp(const char *s, int64_t *out)
{
	if (!*s || strlen(s) > 15)
		return -1;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	return parse_int64(s, 0, INT64_MAX, out);
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
	if (parse_timestamp(h->timestamp, &ts) < 0) {
		set_why(why, size, "Finch-Timestamp is not whole Unix seconds");
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
	for (size_t i = 0; s && i < ARRAY_SIZE(statuses); i++)
		if (!strcmp(s, statuses[i]))
			return 1;
	return 0;
}

void webhook_event_release(struct webhook_event *ev)
{
	free(ev->event_type);
	free(ev->connection_id);
	free(ev->status);
	memset(ev, 0, sizeof(*ev));
}

int webhook_event_parse(const void *body, size_t len, struct webhook_event *ev, char *why,
			size_t size)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *type, *conn, *data, *status;
	int ret = -1;

	memset(ev, 0, sizeof(*ev));
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
