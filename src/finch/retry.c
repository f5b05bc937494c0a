/*
 * retry.c: retry policy: full-jitter backoff and the server's hints.
 * See retry.h.
 */
#include <string.h>
#include <strings.h>

#include "finch/retry.h"

#include "base/util.h"

#define MS_PER_DAY (86400 * (int64_t)1000)

int64_t retry_backoff_ms(const struct retry_policy *p, int64_t attempt, double rnd)
{
	int64_t ceiling = p->base_ms;

	if (p->base_ms <= 0 || p->cap_ms <= 0)
		return 0;
	if (attempt < 0)
		attempt = 0;
	/* Double until the cap: at most 63 steps, and never past INT64_MAX. */
	for (int64_t i = 0; i < attempt && ceiling < p->cap_ms; i++) {
		if (ceiling > INT64_MAX / 2) {
			ceiling = p->cap_ms;
			break;
		}
		ceiling *= 2;
	}
	if (ceiling > p->cap_ms)
		ceiling = p->cap_ms;
	if (!(rnd > 0)) /* also catches NaN */
		rnd = 0;
	if (rnd >= 1)
		return ceiling > 0 ? ceiling - 1 : 0;
	return (int64_t)(rnd * (double)ceiling);
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Trims s to [*start, *end). */
static void trim(const char *s, const char **start, const char **end)
{
	const char *e = s + strlen(s);

	while (is_blank(*s))
		s++;
	while (e > s && is_blank(e[-1]))
		e--;
	*start = s;
	*end = e;
}

/*
 * Parses a non-negative decimal "123" or "123.45" spanning [s, e) into
 * milliseconds, given the unit in ms (1 or 1000), rounding up so a hint is
 * never undercut, and clamping at RETRY_HINT_MAX_MS. Returns -1 if invalid.
 */
static int64_t parse_decimal_ms(const char *s, const char *e, int64_t unit_ms)
{
	int64_t whole = 0, frac_num = 0, frac_den = 1;
	int digits = 0, clamped = 0;

	for (; s < e && *s >= '0' && *s <= '9'; s++, digits++) {
		if (whole > RETRY_HINT_MAX_MS)
			clamped = 1;
		else
			whole = whole * 10 + (*s - '0');
	}
	if (s < e && *s == '.') {
		s++;
		for (; s < e && *s >= '0' && *s <= '9'; s++, digits++) {
			/* Sub-microsecond digits cannot change the rounded result much. */
			if (frac_den < 1000000) {
				frac_num = frac_num * 10 + (*s - '0');
				frac_den *= 10;
			}
		}
	}
	if (!digits || s != e)
		return -1;
	if (clamped || whole > RETRY_HINT_MAX_MS / unit_ms)
		return RETRY_HINT_MAX_MS;
	whole *= unit_ms;
	whole += (frac_num * unit_ms + frac_den - 1) / frac_den;
	return whole > RETRY_HINT_MAX_MS ? RETRY_HINT_MAX_MS : whole;
}

int64_t retry_hint_ms(const char *retry_after_ms, const char *retry_after, int64_t now_ms)
{
	const char *s, *e;
	int64_t v, when;

	if (retry_after_ms) {
		trim(retry_after_ms, &s, &e);
		v = parse_decimal_ms(s, e, 1);
		if (v >= 0)
			return v;
	}
	if (!retry_after)
		return -1;
	trim(retry_after, &s, &e);
	if (s < e && *s >= '0' && *s <= '9')
		return parse_decimal_ms(s, e, 1000);
	if (s == e || (size_t)(e - s) > 64)
		return -1;
	{
		char date[65];

		memcpy(date, s, (size_t)(e - s));
		date[e - s] = '\0';
		if (retry_parse_http_date(date, &when) < 0)
			return -1;
	}
	if (when <= now_ms)
		return 0;
	if (when - now_ms > RETRY_HINT_MAX_MS)
		return RETRY_HINT_MAX_MS;
	return when - now_ms;
}

static int days_in_month(int64_t y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* Consumes exactly n digits at *p into *out. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int literal(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n))
		return -1;
	*p += n;
	return 0;
}

/* A three-letter month name (case-insensitive) to 1..12. */
static int month(const char **p, int *out)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int i = 0; i < 12; i++) {
		if (!strncasecmp(*p, names + 3 * i, 3)) {
			*p += 3;
			*out = i + 1;
			return 0;
		}
	}
	return -1;
}

/* A day name, short ("Sun") or long ("Sunday") as asked, case-insensitive. */
static int weekday(const char **p, int long_form)
{
	static const char *const names[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
					    "Friday", "Saturday", "Sunday"};

	for (int i = 0; i < 7; i++) {
		size_t n = long_form ? strlen(names[i]) : 3;
		if (!strncasecmp(*p, names[i], n)) {
			*p += n;
			return 0;
		}
	}
	return -1;
}

/* "HH:MM:SS" */
static int clock_time(const char **p, int *h, int *m, int *s)
{
	if (digits(p, 2, h) < 0 || literal(p, ":") < 0 || digits(p, 2, m) < 0 ||
	    literal(p, ":") < 0 || digits(p, 2, s) < 0)
		return -1;
	return 0;
}

/*
 * What follows the weekday and its comma in an IMF-fixdate (sep " ", a
 * year of 4 digits) or an RFC 850 date (sep "-", 2 digits):
 * " DD<sep>Mon<sep>YEAR HH:MM:SS GMT". 0, or -1 if *p is not that.
 */
static int day_month_year_time(const char **p, const char *sep, int year_digits, int *day, int *mon,
			       int *year, int *h, int *mi, int *sec)
{
	if (literal(p, ",") < 0 || literal(p, " ") < 0 || digits(p, 2, day) < 0 ||
	    literal(p, sep) < 0 || month(p, mon) < 0 || literal(p, sep) < 0 ||
	    digits(p, year_digits, year) < 0 || literal(p, " ") < 0 ||
	    clock_time(p, h, mi, sec) < 0 || literal(p, " GMT") < 0)
		return -1;
	return 0;
}

int retry_parse_http_date(const char *s, int64_t *out_ms)
{
	const char *p = s;
	int day, mon, year, h, mi, sec;

	if (!s)
		return -1;
	if (!weekday(&p, 0) && *p == ',') {
		/* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
		if (day_month_year_time(&p, " ", 4, &day, &mon, &year, &h, &mi, &sec) < 0)
			return -1;
	} else if (p = s, !weekday(&p, 1) && *p == ',') {
		/*
		 * RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT". Two-digit years
		 * below 70 are 20xx (the Unix epoch's usual pivot).
		 */
		if (day_month_year_time(&p, "-", 2, &day, &mon, &year, &h, &mi, &sec) < 0)
			return -1;
		year += year < 70 ? 2000 : 1900;
	} else if (p = s, !weekday(&p, 0) && *p == ' ') {
		/* asctime: "Sun Nov  6 08:49:37 1994" */
		p++;
		if (month(&p, &mon) < 0 || literal(&p, " ") < 0)
			return -1;
		if (*p == ' ') {
			p++;
			if (digits(&p, 1, &day) < 0)
				return -1;
		} else if (digits(&p, 2, &day) < 0) {
			return -1;
		}
		if (literal(&p, " ") < 0 || clock_time(&p, &h, &mi, &sec) < 0 ||
		    literal(&p, " ") < 0 || digits(&p, 4, &year) < 0)
			return -1;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	/* Seconds may be 60: a leap second. */
	if (day < 1 || day > days_in_month(year, mon) || h > 23 || mi > 59 || sec > 60)
		return -1;
	*out_ms = days_from_civil(year, mon, day) * MS_PER_DAY +
		  ((int64_t)h * 3600 + mi * 60 + sec) * 1000;
	return 0;
}

struct retry_decision retry_decide(const struct retry_policy *p, int64_t attempts_made,
				   int64_t hint_ms, double rnd)
{
	struct retry_decision d = {RETRY_GIVE_UP, 0, 0};

	if (attempts_made >= p->max_attempts)
		return d;
	if (hint_ms >= 0) {
		d.action = hint_ms > p->max_retry_after_ms ? RETRY_DEFER : RETRY_WAIT;
		d.delay_ms = hint_ms;
		d.hinted = 1;
		return d;
	}
	d.action = RETRY_WAIT;
	d.delay_ms = retry_backoff_ms(p, attempts_made, rnd);
	return d;
}

int retry_carry_over(int64_t first_ms, int64_t now_ms, int64_t give_up_after_ms, int64_t *first_out,
		     int64_t *until_out)
{
	/* A streak "beginning" in the future is a clock that went back: begin it now. */
	int64_t first = first_ms > 0 && first_ms <= now_ms ? first_ms : now_ms;

	*first_out = first;
	if (give_up_after_ms <= 0) {
		*until_out = 0;
		return 0;
	}
	*until_out = give_up_after_ms > INT64_MAX - first ? INT64_MAX : first + give_up_after_ms;
	return now_ms < *until_out;
}

int64_t retry_due_ms(int64_t now_ms, int64_t delay_ms, int64_t until_ms)
{
	/* A window already over: the row fails at its next failure; only the 7 days apply. */
	int64_t cap = until_ms > now_ms ? until_ms : now_ms + RETRY_DUE_MAX_MS;
	int64_t due = delay_ms > 0 ? now_ms + delay_ms : now_ms;

	return due < cap ? due : cap;
}
