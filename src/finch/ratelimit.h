/*
 * ratelimit.h: the client-side limit that keeps a batch under what the
 * server accepts. Pure: the clock and every measurement are parameters.
 *
 * Two layers:
 *
 * 1. A token bucket at rate_per_s (0: unlimited) hands out the right to send.
 *    --rate sets its ceiling; the default 3/s is 900 requests per 5 minutes,
 *    10% under Finch's per-IP limit (1000 per 5 minutes, 60-minute penalty).
 *
 * 2. An adaptation that lowers the rate when the server says "too many",
 *    and gives it back over time. What we took, and why:
 *
 *    - Signals are measured over a window, not taken one by one (Google SRE
 *      book, "Handling Overload", Client-Side Throttling: the client keeps
 *      requests and accepts over a window and acts on their ratio). A 429
 *      is one row's answer; only the SHARE of 429s among the answers of a
 *      window (at least RATELIMIT_WINDOW_MS and one smoothed round trip, and
 *      RATELIMIT_WINDOW_MIN_ANSWERS answers) lowers the rate, when it is
 *      above RATELIMIT_TOLERATED_SHARE. A row's own Retry-After is honoured
 *      by that row alone (the caller's next_attempt_at), never by the rest.
 *      SRE's K=1.1 tolerates ~9% rejections; we tolerate 15% so that a
 *      server that throttles a steady 10% of requests at random, whatever
 *      the rate, is not answered by ever lower rates that cannot help.
 *
 *    - At most one decrease per window, and answers to requests sent before
 *      the last decrease do not count toward the next one: they describe the
 *      old rate (RFC 9438 section 4.6 and TCP's one reduction per round
 *      trip; the AWS SDKs likewise react once per throttled response batch).
 *
 *    - A decrease multiplies the MEASURED send rate, not the nominal one, by
 *      RATELIMIT_BETA = 0.7: CUBIC's beta_cubic (RFC 9438 section 4.6) and
 *      the AWS SDKs' adaptive retry mode (botocore retries/adaptive.py and
 *      throttling.py: rate_to_use = min(measured, bucket rate) * 0.7). The
 *      measured rate matters with --rate 0: an unlimited client has no
 *      nominal rate to multiply.
 *
 *    - The floor is the measured SUCCESS rate of the same window: the server
 *      just accepted that much, so going lower cannot be needed (SRE's
 *      "accepts"; the issue of AIMD halving per 429, which settled at ~9/s
 *      whatever the server took). Never below RATELIMIT_MIN_PER_S (the AWS
 *      SDKs' minimum fill rate, 0.5/s), nor above the configured limit.
 *
 *    - Recovery follows CUBIC's curve in time, not per success:
 *      W(t) = C * (t - K)^3 + W_max, K = cbrt((W_max - W_decreased) / C),
 *      with C = RATELIMIT_CUBIC_C = 0.4 (RFC 9438 sections 4.2 and 5.1;
 *      botocore's CubicCalculator uses the same on rates in requests/s):
 *      concave back up to W_max, flat near it, then probing beyond. W_max
 *      is the measured send rate at the decrease, lowered by fast
 *      convergence (RFC 9438 section 4.7: W_max = rate * (1 + beta) / 2 when
 *      a decrease comes below the previous W_max). The curve ends at the
 *      configured rate; for --rate 0 it ends, unlimited again, once it
 *      exceeds RATELIMIT_UNLIMITED_SCALE times the measured send rate
 *      (botocore caps its new rate at 2 x measured for the same reason: a
 *      limit above what is sent limits nothing).
 *
 *    - A client-wide signal (Finch's per-IP limits, finch_api_ip_rl and
 *      finch_auth_ip_rl) pauses every request until the hint, and counts as
 *      a decrease. Crossing it costs a penalty (60 minutes at Finch), so no
 *      probing past it: the recovery is capped for the rest of the run at
 *      RATELIMIT_CEILING_SHARE of the success rate measured when it was
 *      crossed. (TCP probes because a loss is cheap; this one is not.)
 */
#ifndef FINCH_RATELIMIT_H
#define FINCH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/* 3 requests/s is 900 per 5 minutes: 10% under Finch's per-IP limit. */
#define RATELIMIT_DEFAULT "3/s"
/*
 * The lowest rate ratelimit_parse() accepts: 1 per day. Below it a token's
 * interval overflows the millisecond clock (1e-16/s is 3e8 years), and no
 * batch wants one.
 */
#define RATELIMIT_LOWEST_PER_S (1.0 / 86400.0)

#define RATELIMIT_BETA		     0.7   /* RFC 9438 4.6; AWS SDK adaptive retry */
#define RATELIMIT_CUBIC_C	     0.4   /* RFC 9438 5.1, in (requests/s) per s^3 */
#define RATELIMIT_WINDOW_MS	     1000  /* shortest measuring window */
#define RATELIMIT_WINDOW_MAX_MS	     30000 /* a window decides by then, however few answers */
#define RATELIMIT_WINDOW_MIN_ANSWERS 10	   /* answers a window wants before it decides */
#define RATELIMIT_TOLERATED_SHARE    0.15  /* 429 share a window tolerates */
#define RATELIMIT_MIN_PER_S	     0.5   /* the lowest rate a decrease leaves */
#define RATELIMIT_UNLIMITED_SCALE    2.0   /* --rate 0: unlimited past 2 x measured */
#define RATELIMIT_CEILING_SHARE	     0.95  /* of the success rate that crossed a per-IP limit */

struct ratelimit {
	double limit_per_s; /* configured rate; 0: unlimited */
	double rate_per_s;  /* current rate, lowered by throttling; 0: unlimited */
	double burst;	    /* bucket size in tokens (>= 1) */
	double tokens;
	int64_t last_ms;	 /* when tokens was last brought up to date */
	int64_t paused_until_ms; /* client-wide pause: no token before this */

	/* the measuring window: sends and answers since win_start_ms */
	int64_t window_ms; /* max(RATELIMIT_WINDOW_MS, smoothed round trip) */
	int64_t win_start_ms;
	int64_t win_sent;      /* requests sent */
	int64_t win_ok;	       /* answers that were not 429s, whenever sent */
	int64_t win_answers;   /* answers to requests sent since the last decrease */
	int64_t win_throttled; /* the 429s among win_answers */
	int64_t prev_start_ms; /* the window before, for rates measured mid-window */
	int64_t prev_sent, prev_ok;
	double srtt_ms; /* smoothed round trip (RFC 6298 2.3 weights); 0: none yet */

	/* the CUBIC epoch since the last decrease */
	int in_epoch;	      /* 1 while recovering from a decrease */
	int64_t epoch_ms;     /* when the last decrease happened */
	double w_max_per_s;   /* the rate where it hurt (after fast convergence) */
	double k_s;	      /* seconds from epoch_ms back to w_max_per_s */
	double ceiling_per_s; /* after a per-IP crossing: never above; 0: none */
	int64_t decreases;    /* how many decreases so far (for logs and tests) */
	double last_share;    /* 429 share of the last window that decided */
};

/*
 * Parses "3/s", "150/min", "1000/5m", "1000/300s", "2/h", a bare number (per
 * second), or "0" (unlimited) into requests per second. Units: ms, s, sec,
 * second, m, min, minute, h, hr, hour (any case); the count and the window
 * may be decimals ("0.5/s"). Negative numbers, a zero window, an unknown
 * unit and anything else are refused. Returns 0, or -1 and writes a reason
 * that quotes s into why (nothing is printed).
 */
int ratelimit_parse(const char *s, double *per_s, char *why, size_t size);

/* A bucket at per_s (0: unlimited) holding burst tokens, full at now_ms. */
void ratelimit_init(struct ratelimit *rl, double per_s, double burst, int64_t now_ms);

/*
 * Takes one token if one is available at now_ms and no pause is on, and
 * counts a send in the window. Returns 1 if taken, else 0. Accounting is
 * continuous (doubles), and the bucket keeps the overshoot of a late caller
 * (up to 50 ms worth beyond burst, capped at half a token or 1 ms worth), so
 * a caller that takes whenever ratelimit_wait_ms() says gets exactly
 * rate_per_s in the long run, with no rounding drift.
 */
int ratelimit_take(struct ratelimit *rl, int64_t now_ms);

/*
 * Milliseconds from now_ms until a token will be available (0: now),
 * counting any pause. Consistent with take: if it returns w, and nothing
 * else changes the bucket, ratelimit_take() at now_ms + w succeeds.
 */
int64_t ratelimit_wait_ms(const struct ratelimit *rl, int64_t now_ms);

/*
 * An HTTP answer arrived at now_ms for a request sent at sent_ms:
 * throttled is 1 for a 429. Feeds the window's share and the smoothed
 * round trip. Answers to requests sent before the last decrease count for
 * the round trip only. Transport failures are not answers: do not call.
 */
void ratelimit_answered(struct ratelimit *rl, int64_t now_ms, int64_t sent_ms, int throttled);

enum ratelimit_change {
	RATELIMIT_SAME,
	RATELIMIT_DECREASED, /* the window's 429 share was too high */
	RATELIMIT_RECOVERED, /* back at the configured rate, or unlimited */
};

/*
 * Brings the adaptation up to now_ms: moves along the recovery curve, and
 * closes the window when it is due (its length passed and it has enough
 * answers, or RATELIMIT_WINDOW_MAX_MS passed), decreasing the rate if its
 * 429 share is above RATELIMIT_TOLERATED_SHARE. Call it often (each turn
 * of the event loop); it is cheap. Returns what changed.
 */
enum ratelimit_change ratelimit_tick(struct ratelimit *rl, int64_t now_ms);

/*
 * A client-wide signal (a per-IP limit crossed): no token until now_ms +
 * pause_ms (a pause is only ever extended), and, unless the rate was
 * decreased within the last window, a decrease that also caps the recovery
 * for the rest of the run (see above). Returns 1 if the rate was decreased.
 */
int ratelimit_pause(struct ratelimit *rl, int64_t now_ms, int64_t pause_ms);

/* 1 while a client-wide pause is on. */
int ratelimit_paused(const struct ratelimit *rl, int64_t now_ms);

/*
 * The send rate measured at now_ms over the current window and the one
 * before (at least RATELIMIT_WINDOW_MS long), in requests/s; likewise the
 * success (non-429 answer) rate when ok_per_s is not NULL.
 */
double ratelimit_measured_per_s(const struct ratelimit *rl, int64_t now_ms, double *ok_per_s);

#endif
