/*
 * ratelimit.h: the client-side limit that keeps a batch under Finch's
 * per-IP ceiling (1000 requests per 5 minutes, with a 60-minute penalty).
 *
 * A token bucket whose rate adapts: a 429 pauses every new request until the
 * hinted time and halves the rate (multiplicative decrease); each success
 * gives back a fraction of the configured rate (additive increase) until it
 * is reached again. Pure: the clock is a parameter.
 */
#ifndef FINCH_RATELIMIT_H
#define FINCH_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/* 3 requests/s is 900 per 5 minutes: 10% under Finch's per-IP limit. */
#define RATELIMIT_DEFAULT "3/s"

/*
 * The adaptation (AIMD). A 429 halves the current rate, at most once per
 * pause, down to RATELIMIT_FLOOR_PER_S (or the configured limit if that is
 * lower). Each success adds limit / RATELIMIT_RECOVERY_STEPS, up to the
 * limit: 20 successes take a halved rate back to the limit.
 *
 * An unlimited bucket (limit 0) that gets a 429 drops to
 * RATELIMIT_UNLIMITED_FALLBACK_PER_S; each success then adds
 * RATELIMIT_UNLIMITED_STEP_PER_S, and at RATELIMIT_UNLIMITED_RESTORE_PER_S
 * it is unlimited again.
 */
#define RATELIMIT_FLOOR_PER_S		   0.1
#define RATELIMIT_RECOVERY_STEPS	   20.0
#define RATELIMIT_UNLIMITED_FALLBACK_PER_S 10.0
#define RATELIMIT_UNLIMITED_STEP_PER_S	   0.5
#define RATELIMIT_UNLIMITED_RESTORE_PER_S  50.0

struct ratelimit {
	double limit_per_s; /* configured rate; 0: unlimited */
	double rate_per_s;  /* current rate, lowered by 429s; 0: unlimited */
	double burst;	    /* bucket size in tokens (>= 1) */
	double tokens;
	int64_t last_ms;	 /* when tokens was last brought up to date */
	int64_t paused_until_ms; /* no token is handed out before this */
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
 * Takes one token if one is available at now_ms and no pause is on. Returns
 * 1 if taken, else 0. Accounting is continuous (doubles), and the bucket
 * keeps the overshoot of a late caller (up to 50 ms worth beyond burst,
 * capped at half a token or 1 ms worth), so a caller that takes whenever ratelimit_wait_ms() says
 * gets exactly rate_per_s in the long run, with no rounding drift.
 */
int ratelimit_take(struct ratelimit *rl, int64_t now_ms);

/*
 * Milliseconds from now_ms until a token will be available (0: now),
 * counting any pause. Consistent with take: if it returns w, and nothing
 * else changes the bucket, ratelimit_take() at now_ms + w succeeds.
 */
int64_t ratelimit_wait_ms(const struct ratelimit *rl, int64_t now_ms);

/*
 * A 429: pause until now_ms + pause_ms (a pause is only ever extended) and,
 * unless a pause was already on, halve the rate (see above). When the pause
 * ends, one request may go at once; the next ones follow at the new rate.
 */
void ratelimit_throttled(struct ratelimit *rl, int64_t now_ms, int64_t pause_ms);

/*
 * Another 429 from the same congestion episode (a request sent before the
 * last decrease): lengthens the pause to now_ms + pause_ms if that is later,
 * and leaves the rate alone (one decrease per round trip, as TCP does).
 */
void ratelimit_extend_pause(struct ratelimit *rl, int64_t now_ms, int64_t pause_ms);

/* A success: raise the rate additively toward the configured limit. */
void ratelimit_succeeded(struct ratelimit *rl);

/* 1 while new requests are paused by a 429. */
int ratelimit_paused(const struct ratelimit *rl, int64_t now_ms);

#endif
