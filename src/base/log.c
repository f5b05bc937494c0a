/*
 * log.c: structured run events on stderr; see log.h.
 */
#include "base/log.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "base/util.h"

static enum log_format log_format = LOG_FORMAT_TEXT;
static enum log_level log_min_level = LOG_INFO;
static void (*before_write)(void *data);
static void *before_write_data;

static const char *const level_names[] = {"debug", "info", "warning", "error"};

/*
 * error(), warning() and notice() under --log-format json: each message is
 * one JSON object too, so every line on stderr parses.
 */
static void json_reporter(const char *level, const char *event, const char *msg)
{
	enum log_level l = !strcmp(level, "info")      ? LOG_INFO
			   : !strcmp(level, "warning") ? LOG_WARN
						       : LOG_ERROR;
	enum log_level saved = log_min_level;

	log_min_level = LOG_DEBUG; /* errors, warnings and notices are never filtered */
	log_event(l, event, msg, LOG_END);
	log_min_level = saved;
}

void log_setup(enum log_format fmt, enum log_level min_level)
{
	log_format = fmt;
	log_min_level = min_level;
	util_set_reporter(fmt == LOG_FORMAT_JSON ? json_reporter : NULL);
}

enum log_format log_get_format(void)
{
	return log_format;
}

void log_set_before_write(void (*fn)(void *data), void *data)
{
	before_write = fn;
	before_write_data = data;
}

static void format_json(struct strbuf *sb, enum log_level level, const char *event, const char *msg,
			va_list ap)
{
	cJSON *o = cJSON_CreateObject();
	struct log_field f;
	char ts[32];

	cJSON_AddStringToObject(o, "ts", format_iso8601_ms(clock_now_ms(), ts, sizeof(ts)));
	cJSON_AddStringToObject(o, "level", level_names[level]);
	cJSON_AddStringToObject(o, "event", event);
	cJSON_AddStringToObject(o, "msg", msg);
	while ((f = va_arg(ap, struct log_field)).type != LOG_FIELD_END) {
		switch (f.type) {
		case LOG_FIELD_STR:
			if (f.s)
				cJSON_AddStringToObject(o, f.key, f.s);
			else
				cJSON_AddNullToObject(o, f.key);
			break;
		case LOG_FIELD_INT:
			cJSON_AddNumberToObject(o, f.key, (double)f.i);
			break;
		case LOG_FIELD_DBL:
			cJSON_AddNumberToObject(o, f.key, f.d);
			break;
		case LOG_FIELD_END:
			break;
		}
	}
	json_add_line_delete(sb, o);
}

/* Quotes a text value only when it would not read as one word. */
static void add_text_value(struct strbuf *sb, const char *s)
{
	struct strbuf quoted = STRBUF_INIT;
	const char *p;

	if (!s) {
		strbuf_addstr(sb, "null");
		return;
	}
	for (p = s; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '(' || *p == ')')
			break;
	if (*s && !*p) {
		strbuf_addstr(sb, s);
		return;
	}
	/* Quotes and backslashes escaped, then made inert like the message itself. */
	for (p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			strbuf_addch(&quoted, '\\');
		strbuf_addch(&quoted, *p);
	}
	strbuf_addch(sb, '"');
	strbuf_add_inert(sb, quoted.buf ? quoted.buf : "", UTIL_MESSAGE_MAX);
	strbuf_addch(sb, '"');
	strbuf_release(&quoted);
}

static void format_text(struct strbuf *sb, enum log_level level, const char *msg, va_list ap)
{
	struct log_field f;
	int first = 1;

	strbuf_addf(sb, "%s: ", util_progname());
	if (level >= LOG_WARN)
		strbuf_addf(sb, "%s: ", level_names[level]);
	strbuf_add_inert(sb, msg, UTIL_MESSAGE_MAX);
	while ((f = va_arg(ap, struct log_field)).type != LOG_FIELD_END) {
		strbuf_addstr(sb, first ? " (" : " ");
		first = 0;
		strbuf_addf(sb, "%s=", f.key);
		switch (f.type) {
		case LOG_FIELD_STR:
			add_text_value(sb, f.s);
			break;
		case LOG_FIELD_INT:
			strbuf_addf(sb, "%" PRId64, f.i);
			break;
		case LOG_FIELD_DBL:
			strbuf_addf(sb, "%.1f", f.d);
			break;
		case LOG_FIELD_END:
			break;
		}
	}
	if (!first)
		strbuf_addch(sb, ')');
	strbuf_addch(sb, '\n');
}

static void log_vevent(FILE *f, enum log_level level, const char *event, const char *msg,
		       va_list ap)
{
	struct strbuf sb = STRBUF_INIT;

	if (level < log_min_level)
		return;
	if (log_format == LOG_FORMAT_JSON)
		format_json(&sb, level, event, msg, ap);
	else
		format_text(&sb, level, msg, ap);
	if (f == stderr && before_write)
		before_write(before_write_data);
	fwrite(sb.buf, 1, sb.len, f);
	fflush(f);
	strbuf_release(&sb);
}

void log_event(enum log_level level, const char *event, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	log_vevent(stderr, level, event, msg, ap);
	va_end(ap);
}

void log_event_to(FILE *f, enum log_level level, const char *event, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	log_vevent(f, level, event, msg, ap);
	va_end(ap);
}
