/*
 * util.c: error reporting, clocks and strict parsers.
 */
#include "base/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/strbuf.h"

static void (*reporter)(const char *level, const char *event, const char *msg);
static const char *context;

void util_set_context(const char *prefix)
{
	context = prefix;
}

void util_set_reporter(void (*fn)(const char *level, const char *event, const char *msg))
{
	reporter = fn;
}

/* level is "error", "warning", "fatal" or "info" (printed without a prefix). */
__attribute__((format(printf, 3, 0))) static void
report(const char *level, const char *event, const char *fmt, va_list ap, const char *suffix)
{
	struct strbuf msg = STRBUF_INIT, line = STRBUF_INIT;

	if (context)
		strbuf_addf(&msg, "%s: ", context);
	strbuf_vaddf(&msg, fmt, ap);
	if (suffix)
		strbuf_addf(&msg, ": %s", suffix);
	if (reporter) {
		reporter(level, event, msg.buf);
	} else {
		strbuf_addf(&line, "%s: ", util_progname());
		if (strcmp(level, "info"))
			strbuf_addf(&line, "%s: ", level);
		strbuf_add_inert(&line, msg.buf, UTIL_MESSAGE_MAX);
		strbuf_addch(&line, '\n');
		fwrite(line.buf, 1, line.len, stderr);
	}
	strbuf_release(&msg);
	strbuf_release(&line);
}

int file_check_trusted(const struct stat *st, const char *what, const char *path)
{
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return error("%s: '%s' is owned by another user (uid %lu); it must be yours: run "
			     "'chown %lu %s'",
			     what, path, (unsigned long)st->st_uid, (unsigned long)geteuid(), path);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return error("%s: others can write '%s' (mode %04o); run 'chmod 600 %s'", what,
			     path, (unsigned)(st->st_mode & 07777), path);
	return 0;
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("error", "error", fmt, ap, NULL);
	va_end(ap);
	return -1;
}

int error_errno(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	report("error", "error", fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
	return -1;
}

void warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("warning", "warning", fmt, ap, NULL);
	va_end(ap);
}

void notice(const char *event, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("info", event, fmt, ap, NULL);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("fatal", "fatal", fmt, ap, NULL);
	va_end(ap);
	exit(2);
}

int64_t clock_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * FINCH_ONBOARD_CLOCK_STEP="AFTER_MS,STEP_MS", for tests only: AFTER_MS
 * after its first reading the wall clock jumps by STEP_MS (negative: back),
 * as NTP or an operator's `date -s` steps it. Sets *at_mono and *step_ms.
 */
static void load_clock_step(int64_t *at_mono, int64_t *step_ms)
{
	const char *v = getenv("FINCH_ONBOARD_CLOCK_STEP");
	const char *comma = v ? strchr(v, ',') : NULL;
	char after[32];
	int64_t after_ms;

	if (!v || !*v)
		return;
	if (!comma || (size_t)(comma - v) >= sizeof(after))
		die("FINCH_ONBOARD_CLOCK_STEP: '%s' is not AFTER_MS,STEP_MS", v);
	memcpy(after, v, (size_t)(comma - v));
	after[comma - v] = '\0';
	if (parse_int64(after, 0, INT64_MAX / 4, &after_ms) < 0 ||
	    parse_int64(comma + 1, -INT64_MAX / 4, INT64_MAX / 4, step_ms) < 0)
		die("FINCH_ONBOARD_CLOCK_STEP: '%s' is not AFTER_MS,STEP_MS", v);
	*at_mono = clock_mono_ms() + after_ms;
}

int64_t clock_now_ms(void)
{
	static int loaded;
	static int64_t offset_ms; /* injected start minus the monotonic clock at load */
	static int injected;
	static int64_t step_at_mono = INT64_MAX, step_ms; /* FINCH_ONBOARD_CLOCK_STEP */
	int64_t now;

	if (!loaded) {
		const char *v = getenv("FINCH_ONBOARD_NOW");
		int64_t at;

		loaded = 1;
		load_clock_step(&step_at_mono, &step_ms);
		if (v && *v) {
			if (parse_int64(v, 0, INT64_MAX / 1000, &at) == 0)
				at *= 1000;
			else if (parse_iso8601_ms(v, &at) < 0)
				die("FINCH_ONBOARD_NOW: '%s' is neither Unix seconds nor "
				    "YYYY-MM-DDTHH:MM:SSZ",
				    v);
			offset_ms = at - clock_mono_ms();
			injected = 1;
		}
	}
	now = injected ? clock_mono_ms() + offset_ms : wall_ms();
	if (step_at_mono != INT64_MAX && clock_mono_ms() >= step_at_mono)
		now += step_ms;
	return now;
}

int name_index(const char *name, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

/* Howard Hinnant's algorithm: no table, no timegm(), no time zone. */
int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

char *format_iso8601_ms(int64_t ms, char *buf, size_t size)
{
	time_t secs;
	int frac;
	struct tm tm;

	/*
	 * ISO 8601 has four-digit years: clamp to 0000..9999, which also keeps
	 * the floor division below from overflowing (found by fuzz_export).
	 */
	if (ms < ISO8601_MIN_MS)
		ms = ISO8601_MIN_MS;
	if (ms > ISO8601_MAX_MS)
		ms = ISO8601_MAX_MS;
	secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	frac = (int)(ms - (int64_t)secs * 1000);
	if (!gmtime_r(&secs, &tm))
		memset(&tm, 0, sizeof(tm));
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	return buf;
}

/* Reads exactly n digits at *p into *out, advancing *p. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int parse_iso8601_ms(const char *s, int64_t *out_ms)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off = 0;
	const char *p = s;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return -1;
			if (*p == '.') {
				int scale = 100;

				p++;
				if (!isdigit((unsigned char)*p))
					return -1;
				for (; isdigit((unsigned char)*p); p++, scale /= 10)
					ms += (*p - '0') * scale;
			}
		}
		if (*p == 'Z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int sign = *p++ == '-' ? -1 : 1, oh, om;

			if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
				return -1;
			off = sign * (oh * 60 + om);
		} else {
			return -1;
		}
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	*out_ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi - off) * 60000 +
		  (int64_t)sec * 1000 + ms;
	return 0;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_duration_ms(const char *s, int64_t *out_ms)
{
	static const struct {
		const char *suffix;
		double ms;
	} units[] = {{"ms", 1},	     {"s", 1000},     {"m", 60000}, {"min", 60000},
		     {"h", 3600000}, {"d", 86400000}, {"", 1000}};
	char *end;
	double v;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0 || v != v)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (!strcmp(end, units[i].suffix)) {
			double ms = v * units[i].ms;

			if (ms > 9.2e15)
				return -1;
			*out_ms = (int64_t)(ms + 0.5);
			return 0;
		}
	}
	return -1;
}

int parse_duration_unit_ms(const char *s, int64_t *out_ms)
{
	size_t len = s ? strlen(s) : 0;
	int64_t ms;

	if (parse_duration_ms(s, &ms) < 0)
		return -1;
	if (ms && (isdigit((unsigned char)s[len - 1]) || s[len - 1] == '.'))
		return -2;
	*out_ms = ms;
	return 0;
}

int set_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (why && size) {
		va_start(ap, fmt);
		vsnprintf(why, size, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n) {
		ssize_t got = getrandom(p, n, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return error_errno("cannot read random bytes");
		}
		p += got;
		n -= (size_t)got;
	}
	return 0;
}
