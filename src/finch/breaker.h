/*
 * breaker.h: whether the API can be reached at all, as a circuit breaker
 * (Nygard, "Release It!"; the closed/open/half-open states of Envoy's
 * outlier detection and resilience4j). Pure: the clock is a parameter.
 *
 * A run learns about its setup from its first answers. Until one request
 * has been answered by something that looks like the API (any HTTP answer
 * but a 404 or 405 without a finch_code), failures that say "nothing is
 * there" (connection refused, DNS, a TLS handshake that fails, a connect
 * that times out before the request left, a 404/405 on the endpoint) are
 * counted; BREAKER_THRESHOLD of them in a row and the
 * run stops at once, like a 401: a closed port, a wrong FINCH_BASE_URL or
 * https to a plain-http server must not burn every row. Such failures
 * never spend a row's attempt budget: the row goes back to pending.
 *
 * A request that never left (refused, no name, a failed TLS handshake, a
 * proxy that refuses the tunnel) never spends a row's budget either, at any
 * time: Finch did not see it, and a row must not fail because the API was
 * away (two refusals of one row's retries between other rows' answers used
 * to fail it under --max-attempts 2). A 404/405 that is not Finch's did
 * reach something: once the API has answered, it spends like any failure
 * until the breaker opens.
 *
 * Once the API has answered, the same BREAKER_THRESHOLD failures in a row
 * (an outage mid-run) open the breaker: no new request goes out, then one
 * probe after BREAKER_PROBE_MIN_MS, doubling up to BREAKER_PROBE_MAX_MS.
 * The first answer closes it again and the run goes on; a failed probe
 * after give_up_ms of outage stops the run (exit 6). Rows whose requests
 * fail while it is open go back to pending without spending their budget,
 * instead of each spending all of it alone.
 *
 * Server errors (5xx, and a 429 whose hint is longer than the run waits)
 * say the API is there but not working. One of them is the retry policy's
 * business (retry.h), and the row spends an attempt on it; but when
 * BREAKER_FAILING_THRESHOLD requests in a row get nothing else (a night of
 * 503s, a maintenance window), they open the breaker as an outage does:
 * no new request, probes, rows kept, and exit 6 after give_up_ms. Without
 * it, 200 rows at --max-attempts 3 sent 600 requests to a server that
 * answered 503 to all of them, and every row ended failed.
 *
 * Other failures (timeouts, resets) say nothing of the API; they are the
 * retry policy's business and leave the breaker as it is.
 */
#ifndef FINCH_BREAKER_H
#define FINCH_BREAKER_H

#include <stdint.h>

#define BREAKER_THRESHOLD 3
/* Server errors in a row that open the breaker: a random 5xx at 25% does it once in 65,000. */
#define BREAKER_FAILING_THRESHOLD  8
#define BREAKER_PROBE_MIN_MS	   1000
#define BREAKER_PROBE_MAX_MS	   30000
#define BREAKER_GIVE_UP_DEFAULT_MS (5 * 60 * 1000)

/* What one finished request says about the API. */
enum breaker_signal {
	BREAKER_ANSWERED, /* the API answered (any status but a bare 404/405) */
	BREAKER_DOWN, /* never left: refused, DNS, TLS handshake, proxy refusal, connect timeout */
	BREAKER_NOT_API, /* reached something, but a 404/405 that is not Finch's */
	BREAKER_FAILING, /* the API answered a 5xx, or a 429 with a hint too long to wait */
	BREAKER_OTHER,	 /* timeout, reset, ...: says nothing about reachability */
};

enum breaker_state {
	BREAKER_CLOSED,	 /* sending */
	BREAKER_OPEN,	 /* an outage: nothing goes out until probe_at_ms */
	BREAKER_PROBING, /* one probe request is out */
	BREAKER_GAVE_UP, /* the run must stop: exit 6 */
};

struct breaker {
	enum breaker_state state;
	int proven;		  /* the API answered at least once in this run */
	int64_t consecutive_down; /* DOWN and NOT_API signals since the last answer */
	int64_t consecutive_bad;  /* DOWN, NOT_API and FAILING signals since the last answer */
	int failing;		  /* the last signal that kept it open was FAILING */
	int64_t give_up_ms;	  /* outage length after which a failed probe gives up */
	int64_t opened_ms;	  /* when the current outage began */
	int64_t probe_at_ms;	  /* BREAKER_OPEN: when the next probe may go out */
	int64_t probe_delay_ms;	  /* the current delay between probes */
	int64_t outages;	  /* how many times it opened (for the metrics) */
	int at_start;		  /* BREAKER_GAVE_UP before the API ever answered */
};

/* A closed breaker that gives up after give_up_ms of outage. */
void breaker_init(struct breaker *b, int64_t give_up_ms);

/* What to do with the row whose request gave a signal. */
enum breaker_verdict {
	BREAKER_SPEND, /* the retry policy decides, as for any failure or answer */
	BREAKER_KEEP,  /* back to pending, its attempt recorded, its budget untouched */
};

/*
 * Records the signal of a request that finished at now_ms (monotonic).
 * Moves the state (CLOSED -> OPEN -> PROBING -> CLOSED or GAVE_UP) and says
 * what becomes of the row.
 */
enum breaker_verdict breaker_record(struct breaker *b, enum breaker_signal sig, int64_t now_ms);

/*
 * How many new requests may go out at now_ms, at most want: want when
 * closed, 1 for the probe when an open breaker's delay is over (it is then
 * PROBING), else 0.
 */
int64_t breaker_allow(struct breaker *b, int64_t want, int64_t now_ms);

/* The probe breaker_allow() allowed did not go out (no row was due): open again. */
void breaker_probe_unused(struct breaker *b, int64_t now_ms);

/* Milliseconds until breaker_allow() may allow something again; -1: no wait of its own. */
int64_t breaker_wait_ms(const struct breaker *b, int64_t now_ms);

#endif
