/*
 * transfer.h: one slot of a run: a reusable libcurl easy handle, the row it
 * carries, and what the callbacks capture of the answer (body, the few
 * headers the outcome depends on, curl's error text). It also owns the
 * --verbose trace and what is kept of the answer, both with credentials
 * redacted (redact.h), and the network rules of a plain-http base URL.
 *
 * dispatch_loop.c drives the slots; this module knows nothing of the store's
 * transactions or of the rate limit.
 */
#ifndef FINCH_TRANSFER_H
#define FINCH_TRANSFER_H

#include <curl/curl.h>
#include <stdint.h>

#include "finch/finch_api.h"
#include "run/options.h"
#include "base/redact.h"
#include "store/store.h"
#include "store/store_queue.h"
#include "base/strbuf.h"

/*
 * A connection idle longer than this is not reused (CURLOPT_MAXAGE_CONN):
 * load balancers commonly drop idle connections after 60 s, and a request
 * sent on a connection the server already closed is one that fails.
 */
#define TRANSFER_MAX_IDLE_CONN_S 50

/* A response body larger than this is cut off: no documented answer comes close. */
#define TRANSFER_MAX_BODY_BYTES (256 * 1024)

/* One slot: an easy handle and the row it carries. */
struct transfer {
	CURL *easy;
	int busy;
	struct store_job job;
	char *body; /* the request body, malloc'd while busy */
	size_t body_len;
	int sends;	      /* requests libcurl began for this body (CURLOPT_PREREQFUNCTION) */
	int resend_refused;   /* libcurl wanted to send it again: refused */
	struct strbuf resp;   /* the response body */
	char *request_id;     /* Finch-Request-Id, malloc'd or NULL */
	char *retry_after;    /* Retry-After */
	char *retry_after_ms; /* retry-after-ms */
	char *should_retry;   /* x-should-retry */
	int64_t started_ms;   /* wall clock, for the attempts table */
	int64_t started_mono;
	char errbuf[CURL_ERROR_SIZE];
	void (*before_trace)(void *data); /* --verbose: called before each trace line */
	void *trace_data;
	const struct redact *redact; /* the run's credentials to hide, or NULL; set before init */
	const struct redact
	    *proxy_redact;	    /* the proxy password (transfer_proxy_password()), or NULL */
	struct curl_slist *resolve; /* CURLOPT_RESOLVE pinning localhost, or NULL */
	struct strbuf trace_line;   /* --verbose scratch */
};

/*
 * Creates t's easy handle with every option of a run (cfg: timeouts, TLS,
 * protocols, credentials, --verbose) and the shared request headers (owned
 * by the caller, alive as long as t). t must be zeroed (but for
 * before_trace, trace_data and redact). Returns 0, or -1 after reporting
 * the error.
 *
 * A plain http:// base URL (options.c allows only a literal loopback
 * address or localhost) never goes through a proxy (CURLOPT_NOPROXY "*",
 * whatever http_proxy or ALL_PROXY say) and never through DNS: localhost is
 * pinned to 127.0.0.1 and ::1 with CURLOPT_RESOLVE. An https:// URL uses
 * libcurl's proxy variables as curl does (libcurl-env(3)).
 */
int transfer_init(struct transfer *t, const struct run_config *cfg, struct curl_slist *headers);

/* Frees the easy handle and everything t owns; t must not be busy. */
void transfer_release(struct transfer *t);

/*
 * Replaces the credentials a server echoed back (t->redact), whole or cut
 * short, in everything t captured, before anything reads it: the body and
 * the headers (Finch-Request-Id, Retry-After, x-should-retry) and curl's
 * error text. With a secret shorter than REDACT_MIN_SECRET_BYTES the body
 * is classified as it came, since a redaction could corrupt the
 * identifiers it carries; what is kept of it then goes through
 * transfer_scrub_outcome() (which runs in every case, for a secret that
 * only shows once the JSON is decoded).
 */
void transfer_scrub_answer(struct transfer *t);

/* The same for the strings of the outcome classified from t's answer. */
void transfer_scrub_outcome(const struct transfer *t, struct finch_outcome *o);

/*
 * The password of the first proxy variable libcurl could use
 * (https_proxy, HTTPS_PROXY, ALL_PROXY, all_proxy, http_proxy) that holds
 * one, as written: between "user:" and the value's last '@', whatever it
 * contains. Malloc'd, or NULL. A run cuts it from every trace line and
 * error text libcurl writes ("Uses proxy env variable", "Unsupported proxy
 * syntax in '...'").
 */
char *transfer_proxy_password(void);

/*
 * The links a run accepts (finch_api_link_check()): https on
 * cfg->connect_host, and the emulator's own origin when cfg->base_url is
 * plain http (to this machine, run_config_finish() saw to that). port
 * holds the emulator's port; rule points into it and into cfg.
 */
void transfer_link_rule(const struct run_config *cfg, struct finch_link_rule *rule, char port[8]);

/*
 * A FINCH_CREATED outcome whose connect_url rule refuses becomes a
 * malformed answer: FINCH_REJECTED, no link, and a message that holds the
 * raw value and the session_id for the record. It is never retried: the
 * session was created, and a second POST would create another.
 */
void transfer_check_link(const struct finch_link_rule *rule, struct finch_outcome *o);

/*
 * Makes body (NUL-terminated, owned by the caller until the transfer ends)
 * the request body of t's next transfer.
 *
 * libcurl sends a POST again by itself when a reused connection dies before
 * any answer byte ("Connection died, retrying a fresh connect"): the server
 * may have taken the first one, and Finch has no idempotency key. To keep
 * every request that leaves the process an attempt of ours, a
 * CURLOPT_PREREQFUNCTION counts the requests libcurl begins for the body:
 * libcurl calls it "after a connection has been established or reused" and
 * before each request is sent, so that re-send, made on a fresh connection,
 * calls it a second time, and the callback refuses it (the transfer fails
 * with CURLE_ABORTED_BY_CALLBACK before a byte of it leaves). The
 * dispatcher then records that attempt and retries it under its own policy
 * and budget. t->resend_refused tells that this happened.
 *
 * The body goes with CURLOPT_POSTFIELDS (not copied): libcurl sends a small
 * body in the same write as the headers, where a read callback cost a
 * second send(2) per request and a 64 KiB upload buffer per transfer.
 */
void transfer_set_body(struct transfer *t, char *body);

/*
 * Whether no byte of t's request can have left: libcurl never called the
 * CURLOPT_PREREQFUNCTION, which comes once the connection (and TLS) is up,
 * before the request is sent. A connect that timed out (a firewall dropping
 * the packets) or a TLS handshake that never ended leave it so.
 */
int transfer_sent_nothing(const struct transfer *t);

/* Frees what t captured of the last answer (headers); keeps the handle. */
void transfer_clear_captures(struct transfer *t);
/*
 * Captures one response header line (data[0..len), as libcurl hands it to
 * CURLOPT_HEADERFUNCTION, not NUL-terminated) into t: the callback itself,
 * exposed for tests/fuzz/fuzz_classify.c.
 */
void transfer_capture_header(struct transfer *t, const char *data, size_t len);

/* base + path as a malloc'd string; the caller frees. */
char *transfer_join_url(const char *base, const char *path);

/* The headers every request sends (Finch-API-Version, JSON); free with curl_slist_free_all(). */
struct curl_slist *transfer_request_headers(void);

#endif
