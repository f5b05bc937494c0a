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

struct ratelimit {
	double limit_per_s;      /* configured rate; 0: unlimited */
	double rate_per_s;       /* current rate, lowered by 429s */
	double burst;            /* bucket size in tokens (>= 1) */
	double tokens;
	int64_t last_ms;         /* when tokens was last brought up to date */
	int64_t paused_until_ms; /* no token is handed out before this */
};

/*
 * Parses "3/s", "150/min", "1000/5m", "2/h", a bare number (per second), or
 * "0" (unlimited) into requests per second. Returns 0, or -1 and writes a
 * reason into why.
 */
int ratelimit_parse(const char *s, double *per_s, char *why, size_t size);

/* A bucket at per_s (0: unlimited) holding burst tokens, full at now_ms. */
void ratelimit_init(struct ratelimit *rl, double per_s, double burst, int64_t now_ms);

/* Takes one token if one is available at now_ms. Returns 1 if taken, else 0. */
int ratelimit_take(struct ratelimit *rl, int64_t now_ms);

/* Milliseconds from now_ms until a token will be available (0: now). */
int64_t ratelimit_wait_ms(const struct ratelimit *rl, int64_t now_ms);

/* A 429: pause until now_ms + pause_ms and halve the rate (down to a floor). */
void ratelimit_throttled(struct ratelimit *rl, int64_t now_ms, int64_t pause_ms);

/* A success: raise the rate additively toward the configured limit. */
void ratelimit_succeeded(struct ratelimit *rl);

/* 1 while new requests are paused by a 429. */
int ratelimit_paused(const struct ratelimit *rl, int64_t now_ms);

#endif
