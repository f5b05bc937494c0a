/*
 * ratelimit.c: an adaptive token bucket. See ratelimit.h.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "finch/ratelimit.h"
#include "base/util.h"

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
	    {"ms", 0.001},  {"s", 1},	 {"sec", 1},   {"second", 1},  {"m", 60},    {"min", 60},
	    {"minute", 60}, {"h", 3600}, {"hr", 3600}, {"hour", 3600}, {"d", 86400}, {"day", 86400},
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
		seconds = 1;
		goto check;
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
check:
	if (count > 0 && count / (window * seconds) < RATELIMIT_LOWEST_PER_S)
		return set_why(why, size,
			       "rate '%s' is below 1 per day (use 0 for no limit, or e.g. 1/h)", s);
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
	rl->window_ms = RATELIMIT_WINDOW_MS;
	rl->win_start_ms = now_ms;
	rl->prev_start_ms = now_ms;
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
	if (rl->rate_per_s > 0) {
		refill(rl, now_ms);
		if (rl->tokens < 1 - TOKEN_EPSILON)
			return 0;
		rl->tokens -= 1;
	}
	rl->win_sent++;
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

/* ---- the adaptation ------------------------------------------------------ */

double ratelimit_measured_per_s(const struct ratelimit *rl, int64_t now_ms, double *ok_per_s)
{
	double span_ms = (double)(now_ms - rl->prev_start_ms);

	if (span_ms < RATELIMIT_WINDOW_MS)
		span_ms = RATELIMIT_WINDOW_MS;
	if (ok_per_s)
		*ok_per_s = (double)(rl->prev_ok + rl->win_ok) * 1000.0 / span_ms;
	return (double)(rl->prev_sent + rl->win_sent) * 1000.0 / span_ms;
}

/* Changes the bucket's rate at now_ms, keeping the tokens earned so far. */
static void set_rate(struct ratelimit *rl, int64_t now_ms, double per_s)
{
	if (rl->rate_per_s > 0) {
		refill(rl, now_ms);
	} else if (per_s > 0) {
		/* Leaving unlimited: one request may go now, the next at the new rate. */
		rl->tokens = 1;
		if (now_ms > rl->last_ms)
			rl->last_ms = now_ms;
	}
	if (!(per_s > 0))
		rl->tokens = rl->burst;
	rl->rate_per_s = per_s > 0 ? per_s : 0;
}

static void roll_window(struct ratelimit *rl, int64_t now_ms)
{
	rl->prev_start_ms = rl->win_start_ms;
	rl->prev_sent = rl->win_sent;
	rl->prev_ok = rl->win_ok;
	rl->win_start_ms = now_ms;
	rl->win_sent = 0;
	rl->win_ok = 0;
	rl->win_answers = 0;
	rl->win_throttled = 0;
}

/* A decrease per ratelimit.h; cap: also cap the recovery (a per-IP crossing). */
static void decrease(struct ratelimit *rl, int64_t now_ms, int cap)
{
	double ok, sent = ratelimit_measured_per_s(rl, now_ms, &ok);
	double w_max = sent, next = RATELIMIT_BETA * sent;

	/* RFC 9438 4.7, fast convergence: it hurt below the last W_max, so aim lower. */
	if (rl->in_epoch && sent < rl->w_max_per_s)
		w_max = sent * (1 + RATELIMIT_BETA) / 2;
	if (next < ok)
		next = ok;
	if (next < RATELIMIT_MIN_PER_S)
		next = RATELIMIT_MIN_PER_S;
	if (rl->limit_per_s > 0 && next > rl->limit_per_s)
		next = rl->limit_per_s;
	if (rl->rate_per_s > 0 && next > rl->rate_per_s)
		next = rl->rate_per_s;
	if (cap) {
		double ceiling = RATELIMIT_CEILING_SHARE * ok;

		if (ceiling < RATELIMIT_MIN_PER_S)
			ceiling = RATELIMIT_MIN_PER_S;
		if (!rl->ceiling_per_s || ceiling < rl->ceiling_per_s)
			rl->ceiling_per_s = ceiling;
	}
	if (rl->ceiling_per_s && next > rl->ceiling_per_s)
		next = rl->ceiling_per_s;
	if (w_max < next)
		w_max = next;
	rl->w_max_per_s = w_max;
	rl->k_s = cbrt((w_max - next) / RATELIMIT_CUBIC_C);
	rl->epoch_ms = now_ms;
	rl->in_epoch = 1;
	rl->decreases++;
	set_rate(rl, now_ms, next);
	roll_window(rl, now_ms);
}

/* At most one decrease per window: none yet, or the last one a window ago. */
static int may_decrease(const struct ratelimit *rl, int64_t now_ms)
{
	return !rl->decreases || now_ms - rl->epoch_ms >= rl->window_ms;
}

void ratelimit_answered(struct ratelimit *rl, int64_t now_ms, int64_t sent_ms, int throttled)
{
	double rtt_ms = (double)(now_ms > sent_ms ? now_ms - sent_ms : 0);

	/* RFC 6298 2.3: SRTT <- 7/8 SRTT + 1/8 R', the first sample taken as is. */
	rl->srtt_ms = rl->srtt_ms > 0 ? rl->srtt_ms * 7 / 8 + rtt_ms / 8 : rtt_ms;
	rl->window_ms =
	    rl->srtt_ms > RATELIMIT_WINDOW_MS ? (int64_t)ceil(rl->srtt_ms) : RATELIMIT_WINDOW_MS;
	if (!throttled)
		rl->win_ok++;
	if (rl->decreases && sent_ms < rl->epoch_ms)
		return; /* it describes the rate before the last decrease */
	rl->win_answers++;
	rl->win_throttled += throttled ? 1 : 0;
}

/* Moves along the CUBIC curve (RFC 9438 4.2, eq. 1 and 2). */
static enum ratelimit_change recover(struct ratelimit *rl, int64_t now_ms)
{
	double t_s = (double)(now_ms - rl->epoch_ms) / 1000.0, w;

	w = RATELIMIT_CUBIC_C * (t_s - rl->k_s) * (t_s - rl->k_s) * (t_s - rl->k_s) +
	    rl->w_max_per_s;
	if (rl->ceiling_per_s && w > rl->ceiling_per_s)
		w = rl->ceiling_per_s;
	if (rl->limit_per_s > 0 && w >= rl->limit_per_s) {
		set_rate(rl, now_ms, rl->limit_per_s);
		rl->in_epoch = 0;
		return RATELIMIT_RECOVERED;
	}
	/*
	 * Unlimited again once past W_max and well above what is sent: a limit
	 * the sender does not reach limits nothing (botocore caps its rate at
	 * twice the measured one for the same reason).
	 */
	if (!rl->limit_per_s && !rl->ceiling_per_s && t_s >= rl->k_s &&
	    w >= RATELIMIT_UNLIMITED_SCALE * ratelimit_measured_per_s(rl, now_ms, NULL)) {
		set_rate(rl, now_ms, 0);
		rl->in_epoch = 0;
		return RATELIMIT_RECOVERED;
	}
	if (w > rl->rate_per_s)
		set_rate(rl, now_ms, w);
	return RATELIMIT_SAME;
}

enum ratelimit_change ratelimit_tick(struct ratelimit *rl, int64_t now_ms)
{
	enum ratelimit_change change = RATELIMIT_SAME;
	int64_t elapsed_ms = now_ms - rl->win_start_ms;

	if (rl->in_epoch && !ratelimit_paused(rl, now_ms))
		change = recover(rl, now_ms);
	if (elapsed_ms < rl->window_ms)
		return change;
	if (rl->win_answers < RATELIMIT_WINDOW_MIN_ANSWERS && elapsed_ms < RATELIMIT_WINDOW_MAX_MS)
		return change;
	rl->last_share = rl->win_answers ? (double)rl->win_throttled / (double)rl->win_answers : 0;
	if (rl->win_throttled && rl->last_share > RATELIMIT_TOLERATED_SHARE &&
	    may_decrease(rl, now_ms)) {
		decrease(rl, now_ms, 0);
		return RATELIMIT_DECREASED;
	}
	roll_window(rl, now_ms);
	return change;
}

int ratelimit_pause(struct ratelimit *rl, int64_t now_ms, int64_t pause_ms)
{
	int64_t until = now_ms + (pause_ms > 0 ? pause_ms : 0);
	int decreased = 0;

	if (may_decrease(rl, now_ms)) {
		decrease(rl, now_ms, 1);
		decreased = 1;
	}
	if (until > rl->paused_until_ms)
		rl->paused_until_ms = until;
	/* The recovery curve starts when sending may start again. */
	if (decreased)
		rl->epoch_ms = rl->paused_until_ms;
	return decreased;
}
