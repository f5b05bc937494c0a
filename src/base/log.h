/*
 * log.h: the structured events of a run, on stderr, as text or JSON Lines.
 *
 * An event has a name ("run_start", "row_failed", "paused", "recovered",
 * "run_end"), a human message and typed fields:
 *
 *	log_event(LOG_INFO, "paused", "paused new requests after a 429",
 *		  LOG_I("pause_ms", 2000), LOG_S("customer_id", id), LOG_END);
 *
 * text:  finch-onboard: paused new requests after a 429 (pause_ms=2000 customer_id=acme)
 * json:  {"ts":"2026-11-28T16:20:00.000Z","level":"info","event":"paused",
 *         "msg":"paused new requests after a 429","pause_ms":2000,"customer_id":"acme"}
 *
 * Callers never pass the client secret; nothing here could tell it apart.
 */
#ifndef FINCH_LOG_H
#define FINCH_LOG_H

#include <stdint.h>
#include <stdio.h>

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

enum log_field_type { LOG_FIELD_END, LOG_FIELD_STR, LOG_FIELD_INT, LOG_FIELD_DBL };

struct log_field {
	enum log_field_type type;
	const char *key;
	const char *s; /* LOG_FIELD_STR; NULL prints as null */
	int64_t i;     /* LOG_FIELD_INT */
	double d;      /* LOG_FIELD_DBL */
};

#define LOG_S(k, v) ((struct log_field){LOG_FIELD_STR, (k), (v), 0, 0})
#define LOG_I(k, v) ((struct log_field){LOG_FIELD_INT, (k), NULL, (int64_t)(v), 0})
#define LOG_D(k, v) ((struct log_field){LOG_FIELD_DBL, (k), NULL, 0, (double)(v)})
#define LOG_END	    ((struct log_field){LOG_FIELD_END, NULL, NULL, 0, 0})

/*
 * Sets the format and the least level printed (text logs under --quiet
 * print warnings and errors only; JSON logs print every event from
 * LOG_INFO up unless min_level says otherwise). Defaults: text, LOG_INFO.
 */
void log_setup(enum log_format fmt, enum log_level min_level);
enum log_format log_get_format(void);

/*
 * A function called before each log line is written, so a progress line
 * on the terminal can get out of the way (NULL: none).
 */
void log_set_before_write(void (*fn)(void *data), void *data);

/* Writes one event to stderr; the variadic fields end with LOG_END. */
void log_event(enum log_level level, const char *event, const char *msg, ...);

/* The same into f, for tests. */
void log_event_to(FILE *f, enum log_level level, const char *event, const char *msg, ...);

#endif
