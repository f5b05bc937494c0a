/*
 * util.h: the few things every module needs: one out-of-memory policy, one
 * way to report errors, and one clock that tests can move.
 *
 * Errors are reported once, where they happen, then propagated as -1:
 *
 *	if (!f)
 *		return error_errno("cannot open '%s'", path);
 *
 * Messages are lowercase, quote their subject, and have no full stop.
 */
#ifndef FINCH_UTIL_H
#define FINCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "base/xalloc.h"

/*
 * A prefix for every message until the next call ("FILE:LINE: key", where
 * a config file's setting is being applied), or NULL for none. Not copied.
 */
void util_set_context(const char *prefix);

struct stat;
/*
 * Refuses a file that could hold someone else's words (OpenSSH's
 * safe_path()): owned by another user than us or root, or writable by its
 * group or others. what names it in the error ("option '--client-secret-file'").
 * Returns 0, or -1 after reporting.
 */
int file_check_trusted(const struct stat *st, const char *what, const char *path);

/* Print "PROG: error: MSG" to stderr and return -1. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Like error(), with ": strerror(errno)" appended. errno is preserved. */
int error_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "PROG: warning: MSG" to stderr. */
void warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Print "PROG: MSG" to stderr, for a report that is neither an error nor a
 * warning (an invalid row); event names it in a JSON log ("row_invalid").
 */
void notice(const char *event, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Messages carry text from CSV files and servers, so in text they are made
 * inert (strbuf_add_inert(): control characters escaped, cut after
 * UTIL_MESSAGE_MAX bytes). A log in JSON (log.c) takes them over instead:
 * fn gets the level ("error", "warning", "fatal", "info"), an event name
 * and the message, and every message becomes one JSON object. NULL: text.
 */
#define UTIL_MESSAGE_MAX 2000
void util_set_reporter(void (*fn)(const char *level, const char *event, const char *msg));
/* Print "PROG: fatal: MSG" and exit(2). For impossible states only. */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Wall clock in milliseconds since the Unix epoch. If the environment variable
 * FINCH_ONBOARD_NOW is set (Unix seconds, or "YYYY-MM-DDTHH:MM:SSZ"), the clock
 * starts at that instant and then advances with the monotonic clock, so tests
 * can put a run in the future without sleeping. FINCH_ONBOARD_CLOCK_STEP
 * ("AFTER_MS,STEP_MS", tests only) steps it by STEP_MS once AFTER_MS have
 * passed since its first reading, as NTP or `date -s` would. Only recorded
 * times come from here: intervals and in-run deadlines use clock_mono_ms().
 */
int64_t clock_now_ms(void);
/* Monotonic milliseconds, for measuring durations and event-loop deadlines. */
int64_t clock_mono_ms(void);

/*
 * Formats ms-since-epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (at least 25
 * bytes). Returns buf. Times before year 0000 or after 9999 are clamped to
 * the first or last millisecond of that range.
 */
#define ISO8601_MIN_MS ((int64_t)-62167219200000) /* 0000-01-01T00:00:00.000Z */
#define ISO8601_MAX_MS ((int64_t)253402300799999) /* 9999-12-31T23:59:59.999Z */
char *format_iso8601_ms(int64_t ms, char *buf, size_t size);
/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff]]Z" or "+00:00". -1 on error. */
int parse_iso8601_ms(const char *s, int64_t *out_ms);

/*
 * Strict number parsing for options and CSV cells: the whole string must be
 * a base-10 integer in [min, max]. Returns 0, or -1 without printing.
 */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/*
 * Parses a duration such as "250ms", "10s", "5m", "2h" or a bare number of
 * seconds ("1.5"). Returns 0 and stores milliseconds, or -1.
 */
int parse_duration_ms(const char *s, int64_t *out_ms);

/*
 * Like parse_duration_ms(), for a duration whose default has a unit
 * (--give-up-after 7d): a bare number other than 0 is refused, since "7"
 * could mean seconds, hours or days. Returns 0 and stores milliseconds, -1
 * if s is not a duration, -2 if it is a bare number; never prints.
 */
int parse_duration_unit_ms(const char *s, int64_t *out_ms);

/*
 * Writes a formatted reason into why[0..size) (when why is not NULL) and
 * returns -1: the one way the pure rule modules say why a value is bad.
 */
int set_why(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The index of name in names[0..n), or -1: the one lookup of an enum's
 * value by its name in the enum's table of names.
 */
int name_index(const char *name, const char *const *names, int n);

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
int64_t days_from_civil(int64_t y, int64_t m, int64_t d);

/* Fills buf with n cryptographically random bytes (getrandom). -1 on error. */
int random_bytes(void *buf, size_t n);

#endif
