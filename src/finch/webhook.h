/*
 * webhook.h: Finch's webhook signature and the account.updated event, as
 * pure functions (the clock is a parameter).
 *
 * A delivery is a POST whose headers Finch-Event-Id, Finch-Timestamp (Unix
 * seconds) and Finch-Signature ("v1,<base64>" entries separated by spaces)
 * sign its raw body: HMAC-SHA256 under the base64-decoded webhook secret over
 * "{event_id}.{timestamp}.{body}", base64. This is what the SDKs check
 * (finch-api-node 10.7 src/resources/webhooks.ts verifySignature(),
 * finch-api-python src/finch/resources/webhooks.py): the same tolerance of 5
 * minutes either way, the same versions (entries not "v1" are skipped), and
 * the same secret: plain base64, with no "whsec_" prefix stripped (neither
 * SDK strips one, so such a secret is refused, naming the prefix).
 *
 * The receiver (webhooks serve), `webhooks verify` and the emulator's sender
 * share these, so the two sides can never disagree.
 */
#ifndef FINCH_WEBHOOK_H
#define FINCH_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_TOLERANCE_S 300	  /* 5 minutes, either way */
#define WEBHOOK_BODY_MAX    65536 /* a larger body is refused (413) unread */
#define WEBHOOK_KEY_MIN	    16	  /* bytes of a decoded secret; Finch's are 24 */
#define WEBHOOK_KEY_MAX	    256	  /* bytes of a decoded secret */
#define WEBHOOK_SIG_B64_LEN 44	  /* base64 of 32 bytes, padded */
#define WEBHOOK_ID_MAX	    255	  /* bytes of a Finch-Event-Id */
#define WEBHOOK_WHY_MAX	    160
#define WEBHOOK_SECRET_ENV  "FINCH_WEBHOOK_SECRET"

/* A decoded webhook secret. */
struct webhook_key {
	unsigned char key[WEBHOOK_KEY_MAX];
	size_t len;
};

/*
 * Decodes secret (standard base64, padded, as the SDKs take it) into *k.
 * Like finch-api-node's parseSecret(), it must encode back to itself. The
 * SDKs set no length; a key under WEBHOOK_KEY_MIN bytes ("test" is valid
 * base64) is refused all the same, since anyone could forge with it.
 * Returns 0, or -1 with a reason in why that never quotes the secret.
 */
int webhook_key_parse(const char *secret, struct webhook_key *k, char *why, size_t size);

/*
 * The three headers of a delivery; NULL when absent. The strings are not
 * owned. webhook_headers_pick() stores value when name is one of the three,
 * ignoring ASCII case (HTTP header names are case-insensitive), and returns
 * 1, or 0 for any other name.
 */
struct webhook_headers {
	const char *event_id;
	const char *timestamp;
	const char *signature;
};
int webhook_headers_pick(struct webhook_headers *h, const char *name, const char *value);

/*
 * The signature of body under k: base64 of HMAC-SHA256 over
 * "{event_id}.{timestamp_s}.{body}", into out (WEBHOOK_SIG_B64_LEN + 1
 * bytes). Returns 0, or -1 when libcrypto refuses.
 */
int webhook_sign(const struct webhook_key *k, const char *event_id, int64_t timestamp_s,
		 const void *body, size_t len, char out[WEBHOOK_SIG_B64_LEN + 1]);

/*
 * Finch-Timestamp as both SDKs read it: Unix seconds, optionally negative,
 * at most 15 digits, a fraction dropped ("1676312382.5" is signed as
 * 1676312382 by both). Anything else (spaces, exponents, letters) is
 * refused. Returns 0, or -1.
 */
int webhook_timestamp_parse(const char *s, int64_t *out);

/* Why a delivery was refused; WEBHOOK_OK (0) when it verified. */
enum webhook_verdict {
	WEBHOOK_OK = 0,
	WEBHOOK_MISSING_HEADER, /* one of the three headers is absent or empty */
	WEBHOOK_BAD_TIMESTAMP,	/* Finch-Timestamp is not seconds: webhook_timestamp_parse() */
	WEBHOOK_OLD_TIMESTAMP,	/* more than 5 minutes before now */
	WEBHOOK_NEW_TIMESTAMP,	/* more than 5 minutes after now */
	WEBHOOK_BAD_SIGNATURE,	/* no v1 entry matches */
};

/*
 * Checks a delivery received at now_s (Unix seconds): headers present, the
 * timestamp within WEBHOOK_TOLERANCE_S of now_s either way, then one "v1"
 * entry equal to webhook_sign()'s, compared in constant time
 * (CRYPTO_memcmp). Returns the verdict, with a reason in why.
 */
enum webhook_verdict webhook_verify(const struct webhook_key *k, const struct webhook_headers *h,
				    const void *body, size_t len, int64_t now_s, char *why,
				    size_t size);

/* A connection status of account.updated (connection.h). */
int webhook_status_valid(const char *s);

/*
 * The fields of a delivery this program acts on. Strings are malloc'd;
 * webhook_event_release() frees them. status is set only for account.updated.
 */
struct webhook_event {
	char *event_type;    /* "account.updated", ... ; never NULL after a parse */
	char *connection_id; /* NULL: absent (older events carry only account_id) */
	char *status;	     /* data.status of account.updated, else NULL */
};
void webhook_event_release(struct webhook_event *ev);

/*
 * Parses a verified body: a JSON object with a string event_type; an
 * account.updated also needs a string connection_id and a data.status that
 * webhook_status_valid() knows. A body with a NUL byte (raw or \u0000) is
 * refused whole, since a C string would cut it. Returns 0, or -1 with a
 * reason in why.
 */
int webhook_event_parse(const void *body, size_t len, struct webhook_event *ev, char *why,
			size_t size);

#endif
