/*
 * retry.h: when to try a request again, and after how long. Pure policy:
 * every input, including the clock and the random number, is a parameter,
 * so a table of cases pins the behaviour exactly.
 */
#ifndef FINCH_RETRY_H
#define FINCH_RETRY_H

#include <stdint.h>

struct retry_policy {
	int64_t max_attempts;	    /* attempts per row before it fails (>= 1) */
	int64_t base_ms;	    /* backoff base */
	int64_t cap_ms;		    /* backoff ceiling */
	int64_t max_retry_after_ms; /* longer hints defer the row to a later run */
};

#define RETRY_POLICY_INIT                                                                          \
	{                                                                                          \
		5, 500, 60000, 600000                                                              \
	}

/*
 * Full jitter: random(0, min(cap, base * 2^attempt)), where attempt is the
 * number of attempts already made (1 after the first failure) and rnd is a
 * uniform number in [0, 1). Never overflows, for any attempt.
 */
int64_t retry_backoff_ms(const struct retry_policy *p, int64_t attempt, double rnd);

/*
 * The server's hint, in ms from now_ms: retry-after-ms (a number of
 * milliseconds, possibly fractional) wins over Retry-After, which is either
 * delta-seconds or an HTTP date (IMF-fixdate, RFC 850 or asctime). A date in
 * the past gives 0. Headers are the raw values or NULL. Returns -1 when
 * there is no usable hint.
 *
 * Details: surrounding blanks are ignored; retry-after-ms may be fractional
 * ("1500.5") and is rounded up, so a retry never comes before the hint; a
 * negative or unparsable retry-after-ms is ignored in favour of Retry-After;
 * delta-seconds may also be fractional; every hint is clamped at
 * RETRY_HINT_MAX_MS (one year), so huge values never overflow.
 */
int64_t retry_hint_ms(const char *retry_after_ms, const char *retry_after, int64_t now_ms);

#define RETRY_HINT_MAX_MS (366 * 86400 * (int64_t)1000)

/*
 * Parses an HTTP date into ms since the epoch. Returns 0, or -1 if invalid.
 * The three forms of RFC 9110 are accepted exactly (month and day names in
 * any case): IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850
 * "Sunday, 06-Nov-94 08:49:37 GMT" (years 00..69 are 2000..2069) and asctime
 * "Sun Nov  6 08:49:37 1994". The day name is not checked against the date.
 * No time zone or locale is involved.
 */
int retry_parse_http_date(const char *s, int64_t *out_ms);

enum retry_action {
	RETRY_GIVE_UP, /* the budget is spent: the row fails with the last reason */
	RETRY_WAIT,    /* retry in delay_ms, within this run */
	RETRY_DEFER,   /* the hint exceeds max_retry_after: leave it to a later run */
};

struct retry_decision {
	enum retry_action action;
	int64_t delay_ms; /* until the next attempt (RETRY_WAIT and RETRY_DEFER) */
	int hinted;	  /* 1 when delay_ms comes from the server's hint */
};

/*
 * Decides what follows a transient failure. attempts_made counts the
 * attempt that just failed; hint_ms is retry_hint_ms()'s answer (-1: none).
 */
struct retry_decision retry_decide(const struct retry_policy *p, int64_t attempts_made,
				   int64_t hint_ms, double rnd);

/*
 * The carry-over of transient failures from one run to the next. A row that
 * failed on a transient error at now_ms, whose streak of transient failures
 * began at first_ms (0: this failure begins it), keeps the streak's start
 * in *first_out; when its attempts run out it is re-queued with a fresh
 * budget by every later sync until *until_out = start + give_up_after_ms.
 * give_up_after_ms 0 turns the carry-over off (*until_out = 0). A success
 * or a permanent failure ends the streak (the caller stores 0 for both).
 * Returns 1 while the row is carried over (now_ms < *until_out), else 0.
 */
int retry_carry_over(int64_t first_ms, int64_t now_ms, int64_t give_up_after_ms, int64_t *first_out,
		     int64_t *until_out);

/*
 * When a row whose transient failure at now_ms asks for delay_ms (longer
 * than a run waits: RETRY_DEFER) may be tried again: never past until_ms (the end of
 * --give-up-after, retry_carry_over()'s *until_out; 0 when off), and never
 * more than RETRY_DUE_MAX_MS ahead without one. A server hint is the
 * server's wish, not a contract: `Retry-After: 31536000` on a 503 parked a
 * row in retry_wait for 366 days, where --give-up-after never applied.
 */
int64_t retry_due_ms(int64_t now_ms, int64_t delay_ms, int64_t until_ms);

#define RETRY_DUE_MAX_MS (7 * 86400 * (int64_t)1000)

/*
 * A request that went out whole and got no status line within --timeout
 * has an unknown outcome: Finch may still be creating its session, since
 * its server side gives up only at 6 minutes (Finch's "Timeouts and server
 * errors": no idempotency key, a retried POST after a lost response can
 * create a second session). Such a row is not sent again by the run that
 * sent it (the store defers it, store_queue.h), and a later run sends it no
 * sooner than retry_due_ms(now_ms, RETRY_UNKNOWN_SETTLE_MS, until_ms): once
 * Finch has either answered it or given up on it. A reset or a refused
 * resend is not this case: nothing says the server is still at work.
 */
#define RETRY_UNKNOWN_SETTLE_MS (6 * 60 * (int64_t)1000)

#endif
