/*
 * ratelimit.c: an adaptive token bucket. See ratelimit.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ratelimit.h"
#include "util.h"

/* Slack that keeps sub-millisecond rounding from costing tokens; see refill(). */
#define RATELIMIT_SLACK_MS 50.0
/* Tolerance for "one whole token" in double arithmetic. */
#define TOKEN_EPSILON 1e-9

/*
 * A non-negative decimal ("3", "0.5") at *p; advances *p. Returns -1 if no
 * digits. Strict on purpose: strtod would take "inf", "nan" and hex.
 */
static int parse_number(const char **p, double *out)
{
	const char *s = *p;
	double v = 0, scale = 1;
	int n = 0;

	for (; *s >= '0' && *s <= '9'; s++, n++)
		v = v * 10 + (*s - '0');
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++, n++) {
			scale /= 10;
			v += (*s - '0') * scale;
		}
	}
	if (!n)
		return -1;
	*p = s;
	*out = v;
	return 0;
}

int ratelimit_parse(const char *s, double *per_s, char *why, size_t size)
{
	static const struct {
		const char *name;
		double seconds;
	} units[] = {
	    {"ms", 0.001}, {"s", 1},	   {"sec", 1},	{"second", 1}, {"m", 60},
	    {"min", 60},   {"minute", 60}, {"h", 3600}, {"hr", 3600},  {"hour", 3600},
	};
	const char *p = s;
	double count, window = 1, seconds = 0;

	if (!s || !*s)
		return set_why(why, size,
			       "rate is empty (use e.g. 3/s, 150/min or 0 for unlimited)");
	if (*p == '-')
		return set_why(why, size, "rate '%s' is negative", s);
	if (parse_number(&p, &count) < 0)
		return set_why(why, size, "rate '%s' does not start with a number", s);
	if (!*p) {
		*per_s = count;
		return 0;
	}
	if (*p != '/')
		return set_why(why, size, "rate '%s' has '%s' where '/' and a time unit belong", s,
			       p);
	p++;
	if (*p == '-')
		return set_why(why, size, "rate '%s' has a negative time window", s);
	if (*p >= '0' && *p <= '9' && parse_number(&p, &window) < 0)
		return set_why(why, size, "rate '%s' has a bad time window", s);
	if (!*p)
		return set_why(why, size, "rate '%s' lacks a time unit (s, min or h)", s);
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (!strcasecmp(p, units[i].name)) {
			seconds = units[i].seconds;
			break;
		}
	}
	if (!seconds)
		return set_why(why, size,
			       "rate '%s' has an unknown time unit '%s' (use s, min or h)", s, p);
	if (!(window > 0))
		return set_why(why, size, "rate '%s' has a zero time window", s);
	*per_s = count / (window * seconds);
	return 0;
}

void ratelimit_init(struct ratelimit *rl, double per_s, double burst, int64_t now_ms)
{
	memset(rl, 0, sizeof(*rl));
	if (!(per_s > 0))
		per_s = 0;
	if (!(burst >= 1))
		burst = 1;
	rl->limit_per_s = per_s;
	rl->rate_per_s = per_s;
	rl->burst = burst;
	rl->tokens = burst;
	rl->last_ms = now_ms;
	rl->paused_until_ms = now_ms;
}

/*
 * The tokens the bucket holds at now_ms. The bucket keeps up to
 * RATELIMIT_SLACK_MS worth of tokens beyond burst (at most half a token, or
 * one millisecond's worth if more): a caller that waits the
 * whole milliseconds ratelimit_wait_ms() asks for, or wakes a little late,
 * keeps the fraction it overshot, so the long-run rate is exactly the rate.
 */
static double tokens_at(const struct ratelimit *rl, int64_t now_ms)
{
	double t = rl->tokens, cap, slack;

	if (now_ms > rl->last_ms)
		t += (double)(now_ms - rl->last_ms) * rl->rate_per_s / 1000.0;
	/*
	 * Half a token at most, so the slack never lets an extra request
	 * through at once; but never under one millisecond's worth, which the
	 * millisecond clock needs at high rates.
	 */
	slack = rl->rate_per_s / 1000.0;
	if (slack < 0.5)
		slack = 0.5;
	if (slack > rl->rate_per_s * RATELIMIT_SLACK_MS / 1000.0)
		slack = rl->rate_per_s * RATELIMIT_SLACK_MS / 1000.0;
	cap = rl->burst + slack;
	return t > cap ? cap : t;
}

static void refill(struct ratelimit *rl, int64_t now_ms)
{
	rl->tokens = tokens_at(rl, now_ms);
	if (now_ms > rl->last_ms)
		rl->last_ms = now_ms;
}

int ratelimit_paused(const struct ratelimit *rl, int64_t now_ms)
{
	return now_ms < rl->paused_until_ms;
}

int ratelimit_take(struct ratelimit *rl, int64_t now_ms)
{
	if (ratelimit_paused(rl, now_ms))
		return 0;
	if (rl->rate_per_s <= 0)
		return 1;
	refill(rl, now_ms);
	if (rl->tokens < 1 - TOKEN_EPSILON)
		return 0;
	rl->tokens -= 1;
	return 1;
}

int64_t ratelimit_wait_ms(const struct ratelimit *rl, int64_t now_ms)
{
	int64_t from = now_ms, wait;
	double need;

	if (ratelimit_paused(rl, now_ms))
		from = rl->paused_until_ms;
	if (rl->rate_per_s <= 0)
		return from - now_ms;
	need = 1 - tokens_at(rl, from);
	if (need <= TOKEN_EPSILON)
		return from - now_ms;
	wait = (int64_t)(need * 1000.0 / rl->rate_per_s);
	/* Round up, and make sure take() agrees despite rounding. */
	while (tokens_at(rl, from + wait) < 1 - TOKEN_EPSILON)
		wait++;
	return from + wait - now_ms;
}

void ratelimit_extend_pause(struct ratelimit *rl, int64_t now_ms, int64_t pause_ms)
{
	int64_t until = now_ms + (pause_ms > 0 ? pause_ms : 0);

	if (until > rl->paused_until_ms)
		rl->paused_until_ms = until;
}

void ratelimit_throttled(struct ratelimit *rl, int64_t now_ms, int64_t pause_ms)
{
	int64_t until = now_ms + (pause_ms > 0 ? pause_ms : 0);
	int already = ratelimit_paused(rl, now_ms);
	double floor_per_s;

	if (rl->rate_per_s > 0)
		refill(rl, now_ms);
	if (until > rl->paused_until_ms)
		rl->paused_until_ms = until;
	/*
	 * The answers to requests sent before the pause arrive together; they
	 * are one congestion signal, so the rate is halved once per pause.
	 */
	if (already)
		return;
	if (rl->rate_per_s <= 0) {
		rl->rate_per_s = RATELIMIT_UNLIMITED_FALLBACK_PER_S;
	} else {
		floor_per_s = RATELIMIT_FLOOR_PER_S;
		if (rl->limit_per_s > 0 && rl->limit_per_s < floor_per_s)
			floor_per_s = rl->limit_per_s;
		rl->rate_per_s /= 2;
		if (rl->rate_per_s < floor_per_s)
			rl->rate_per_s = floor_per_s;
	}
	/* One request may go when the pause ends; the next waits for the new rate. */
	rl->tokens = 1;
	rl->last_ms = rl->paused_until_ms;
}

void ratelimit_succeeded(struct ratelimit *rl)
{
	if (rl->rate_per_s <= 0)
		return;
	if (rl->limit_per_s <= 0) {
		rl->rate_per_s += RATELIMIT_UNLIMITED_STEP_PER_S;
		if (rl->rate_per_s >= RATELIMIT_UNLIMITED_RESTORE_PER_S) {
			rl->rate_per_s = 0;
			rl->tokens = rl->burst;
		}
		return;
	}
	rl->rate_per_s += rl->limit_per_s / RATELIMIT_RECOVERY_STEPS;
	if (rl->rate_per_s > rl->limit_per_s)
		rl->rate_per_s = rl->limit_per_s;
}
