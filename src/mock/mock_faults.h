/*
 * mock_faults.h: which fault finch-mock applies to a request. Pure and
 * deterministic: the same seed and the same (customer_id, attempt) always
 * give the same decision, whatever order concurrent requests arrive in.
 */
#ifndef FINCH_MOCK_FAULTS_H
#define FINCH_MOCK_FAULTS_H

#include <stdint.h>

enum retry_after_mode {
	RA_SECONDS, /* Retry-After: delta-seconds */
	RA_DATE,    /* Retry-After: an IMF-fixdate */
	RA_MS,	    /* retry-after-ms */
	RA_NONE,    /* no hint at all */
	RA_MIX,	    /* one of the four, chosen per request */
};

enum fault {
	FAULT_NONE,
	FAULT_REVOKED,	  /* 401: credentials revoked after --revoke-after */
	FAULT_RATE_LIMIT, /* 429 finch_api_ip_rl: the server-side window was crossed */
	FAULT_FAIL_FIRST, /* 503: one of the customer's first K attempts */
	FAULT_RESET,	  /* connection closed before any response */
	FAULT_HANG,	  /* no answer for hang_ms */
	FAULT_429,	  /* 429 finch_application_rl, with a Retry-After per the mode */
	FAULT_ERROR,	  /* 500, 502 or 503 */
	FAULT_MALFORMED,  /* 201 with a body that is not JSON */
	FAULT_SHORT_BODY, /* a whole 201, then the connection closes short of its Content-Length */
	FAULT_CUT_BODY,	  /* a 201 cut off half-way through its body (the session exists) */
	FAULT_COUNT
};

struct mock_faults {
	uint64_t seed;
	double p_reset, p_hang, p_429, p_error, p_malformed; /* probabilities, 0..1 */
	double p_short_body, p_cut_body;		     /* likewise, drawn last */
	int error_status;	    /* 500, 502, 503, or 0 for a mix of the three */
	double p_500, p_502, p_503; /* --fail-500/502/503: that status, each its own P */
	int html_errors;	    /* error bodies are HTML instead of JSON */
	enum retry_after_mode ra_mode;
	int64_t retry_after_ms; /* the hint sent with 429s */
	int64_t hang_ms;
	int64_t latency_ms, jitter_ms;
	int64_t revoke_after; /* 0: never; else 401 for every request after the Nth */
	int64_t fail_first;   /* 503 for each customer's first K attempts */
	int64_t rl_limit;     /* server-side limit: requests per window; 0: none */
	int64_t rl_window_ms;
	int64_t rl_penalty_ms;
};

void mock_faults_init(struct mock_faults *f);

/* A uniform number in [0, 1) from (seed, customer_id, attempt, salt). */
double mock_faults_draw(uint64_t seed, const char *customer_id, int64_t attempt, uint64_t salt);

struct fault_decision {
	enum fault fault;
	int status;		  /* the HTTP status to send (0 for a reset) */
	enum retry_after_mode ra; /* how to send the hint (429s only) */
	int64_t delay_ms;	  /* latency (plus jitter) before answering */
};

/*
 * Decides for one request. request_no counts every request the server got
 * (1-based); attempt is this customer's attempt number (1-based);
 * rate_limited says the server-side window is crossed (see mock_window).
 * Precedence: revoked, rate limit, fail-first, then one draw spread over
 * reset, hang, 429, error (p_error, then p_500, p_502, p_503),
 * malformed, short body and cut body in that order.
 */
struct fault_decision mock_faults_decide(const struct mock_faults *f, int64_t request_no,
					 const char *customer_id, int64_t attempt,
					 int rate_limited);

const char *mock_fault_name(enum fault f);

/* The server-side limit: a fixed window, and a penalty once it is crossed. */
struct mock_window {
	int64_t start_ms;
	int64_t count;
	int64_t penalty_until_ms;
};

/*
 * Counts one request at now_ms; returns 1 if it is over the limit (or in the
 * penalty). The request that crosses rl_limit within rl_window_ms starts a
 * penalty of rl_penalty_ms, during which every request is over (and not
 * counted); the first request after it starts a fresh window. With no
 * penalty, requests are over until the window ends.
 */
int mock_window_hit(struct mock_window *w, const struct mock_faults *f, int64_t now_ms);

#endif
