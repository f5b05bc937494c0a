/*
 * finch_api.h: Finch's Connect session endpoints as data: request bodies
 * in, outcomes out. No I/O happens here; dispatch_loop.c moves the bytes and the
 * emulator serves them, both through these functions.
 */
#ifndef FINCH_API_H
#define FINCH_API_H

#include <stddef.h>
#include <stdint.h>

#include "finch/validate.h"

#define FINCH_API_VERSION      "2020-09-17"
#define FINCH_DEFAULT_BASE_URL "https://api.tryfinch.com"
#define FINCH_PATH_SESSIONS    "/connect/sessions"
#define FINCH_PATH_REAUTH      "/connect/sessions/reauthenticate"
/* The host of the links Finch's answers hold: https://connect.tryfinch.com/authorize?... */
#define FINCH_CONNECT_HOST_DEFAULT "connect.tryfinch.com"

/*
 * The JSON body of POST /connect/sessions for r: only the fields r has,
 * with the contract's types (products an array, minutes_to_expire a number,
 * manual a boolean, integration an object). Returns a malloc'd string; the
 * caller frees.
 */
char *finch_api_session_body(const struct connect_request *r);

/*
 * The JSON body of POST /connect/sessions/reauthenticate: connection_id, and
 * products, redirect_uri and minutes_to_expire when r has them. Malloc'd.
 */
char *finch_api_reauth_body(const char *connection_id, const struct connect_request *r);

/*
 * The emulator's side: parses and checks a POST /connect/sessions body.
 * Rejects non-JSON, a non-object, wrong JSON types, and anything
 * validate_contract() rejects. JSON null is accepted for the nullable fields
 * and means absent; unknown members are ignored. out is (re)initialized
 * first, so it may be uninitialized memory; on success the caller releases
 * it with connect_request_release(). On failure, out is left empty, *field
 * names the offending field ("products", "integration.auth_method", or
 * "body" when the body is not a JSON object) and why holds the reason;
 * returns -1.
 */
int finch_api_parse_session_body(const char *json, size_t len, struct connect_request *out,
				 const char **field, char *why, size_t size);
/*
 * Same for the reauthenticate body; *connection_id is malloc'd on success.
 * Only products, redirect_uri and minutes_to_expire of out are filled.
 */
int finch_api_parse_reauth_body(const char *json, size_t len, char **connection_id,
				struct connect_request *out, const char **field, char *why,
				size_t size);

enum finch_result {
	FINCH_CREATED,	 /* 201 with session_id and connect_url */
	FINCH_EXISTS,	 /* 400 connection_already_exists, with connection_id */
	FINCH_REJECTED,	 /* a permanent 4xx: the row fails with a reason */
	FINCH_AUTH,	 /* 401 (or a 403 refusing a sandbox): the whole run must stop */
	FINCH_TRANSIENT, /* 408, 409, 429, 5xx, transport error */
	/*
	 * A 2xx whose body cannot be read (not the documented JSON, or cut
	 * short): the API may well have created the session, and Finch has no
	 * idempotency key, so it is never sent again by itself. The row fails
	 * with this reason; `retry --http-status 201` sends it again on request.
	 */
	FINCH_UNREADABLE,
};

/*
 * What one HTTP answer means. Strings are malloc'd and owned by the struct;
 * finch_outcome_release() frees them.
 */
struct finch_outcome {
	enum finch_result result;
	long http_status;    /* 0 when no response arrived */
	char *session_id;    /* FINCH_CREATED */
	char *connect_url;   /* FINCH_CREATED */
	char *connection_id; /* FINCH_EXISTS */
	char *finch_code;    /* from an error body, when present */
	char *message;	     /* a one-line human reason, always set unless CREATED */
};

void finch_outcome_release(struct finch_outcome *o);

/*
 * Classifies a response: status, body (need not be NUL-terminated, may be
 * HTML or empty) and the x-should-retry header value (NULL if absent).
 * Bodies are parsed defensively: {"error": "..."} and non-JSON bodies give a
 * message too. A 2xx without a string session_id and connect_url is
 * FINCH_UNREADABLE ("malformed 201 body: ..."). x-should-retry "true" makes
 * a REJECTED answer TRANSIENT and "false" makes a TRANSIENT one REJECTED;
 * it never changes CREATED, EXISTS, UNREADABLE or AUTH: a 2xx is never
 * retried.
 */
void finch_api_classify(long http_status, const char *body, size_t body_len,
			const char *should_retry, struct finch_outcome *out);

/* The same for a transfer that got no HTTP answer (curl's error text). */
void finch_api_transport_error(const char *what, struct finch_outcome *out);

/*
 * 1 when an answer is Finch refusing the environment of the credentials:
 * sandbox sessions asked with production credentials, or the other way.
 * Finch's docs say "Finch Sandbox connections can only be created using the
 * sandbox client_id and client_secret [...] You cannot use production
 * credentials to create sandbox connections" (Test > Finch Sandbox,
 * https://developer.tryfinch.com/implementation-guide/Test/Finch-Sandbox),
 * and that each environment has its own credentials (Test > Environments).
 * Neither the docs (Error Types lists no such finch_code) nor the SDKs
 * (finch-api-node, finch-api-python: their errors are by HTTP status only)
 * give the body of that refusal, so it is recognised by what is known: a
 * 401 or 403 whose finch_code or message (both may be NULL) names
 * "sandbox", in any case. finch_api_classify() makes such a 403 FINCH_AUTH:
 * every request of the run would get it.
 */
int finch_api_is_sandbox_refusal(long http_status, const char *finch_code, const char *message);

/*
 * 1 when a 429's finch_code (may be NULL) is a limit on the whole client,
 * not on the request: Finch's per-IP limits finch_api_ip_rl and
 * finch_auth_ip_rl (1000 requests per 5 minutes, then a 60-minute penalty;
 * Finch docs, "Rate Limits"). Every request from this IP gets the same
 * answer until the penalty ends.
 */
int finch_api_is_client_wide_limit(const char *finch_code);

/*
 * A transfer that got a status line and then broke (what: curl's error
 * text). A complete answer is an answer: when body holds a whole 201 or
 * connection_already_exists (what finch_api_classify() makes FINCH_CREATED
 * or FINCH_EXISTS of), that is the outcome, since the API did create the
 * session. Anything else is FINCH_TRANSIENT (FINCH_UNREADABLE for a 2xx)
 * with http_status kept and a message quoting what and the start of the
 * partial body (at most 100 characters, one line), for the record.
 */
void finch_api_broken_answer(long http_status, const char *body, size_t body_len, const char *what,
			     struct finch_outcome *out);

/* Where a connect_url may lead (finch_api_link_check()). */
struct finch_link_rule {
	const char *host;	   /* https://HOST[:443]/..., any case */
	const char *emulator_port; /* NULL, or the port of a plain-http loopback --base-url */
};

/*
 * 1 when url is a link to hand to an employer: printable ASCII only (no
 * space, no control, nothing a terminal or a mail client would read
 * otherwise), "https://" then rule->host (any case) with no userinfo and
 * no port but 443, then "/", "?", "#" or the end; or, when
 * rule->emulator_port is set (--base-url names a plain-http emulator on
 * this machine), "http://" to 127.0.0.1..., [::1] or localhost on that
 * port. Anything else (javascript:, data:, another host) gives 0 and why.
 */
int finch_api_link_check(const char *url, const struct finch_link_rule *rule, char *why,
			 size_t size);

#endif
