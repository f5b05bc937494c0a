/*
 * progress.h: one line on the terminal telling how a run is going:
 *
 *	1234/20000 done  412.5 sessions/s  ETA 0:41  3 waiting for retry  paused (429)
 *
 * It is redrawn in place (carriage return, clear to end of line) at most
 * ten times a second, cut to the terminal's width, from counts the run
 * keeps in memory (never a query), and only when enabled: stderr is a terminal and the
 * user did not ask for --quiet. Log lines clear it first (log.h's
 * before-write hook) and it comes back on the next refresh.
 */
#ifndef FINCH_PROGRESS_H
#define FINCH_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PROGRESS_REFRESH_MS 100

struct progress {
	int enabled;
	FILE *out;
	int64_t total;	    /* rows to send at the start */
	int64_t started_ms; /* monotonic */
	int64_t drawn_ms;   /* monotonic time of the last draw; 0: never drawn */
	int visible;	    /* a line is on the screen now */
};

/*
 * Starts a progress display on stderr for total rows at now_ms (monotonic).
 * It is enabled only if want is set and stderr is a terminal.
 */
void progress_init(struct progress *p, int want, int64_t total, int64_t now_ms);

/*
 * Redraws the line if enabled and PROGRESS_REFRESH_MS have passed since the
 * last draw: done rows finished, waiting rows in retry_wait, paused set
 * while a 429 holds new requests.
 */
void progress_update(struct progress *p, int64_t done, int64_t waiting, int paused, int64_t now_ms);

/* Erases the line if one is shown (before other output). */
void progress_clear(struct progress *p);

/* Draws the final state and ends the line with a newline, if enabled. */
void progress_finish(struct progress *p, int64_t done, int64_t waiting, int64_t now_ms);

/*
 * Cuts line (ASCII) to cols - 1 characters, so a narrow terminal never
 * wraps it into a flood of lines; cols <= 1 (unknown) leaves it whole.
 */
void progress_fit(char *line, long cols);

/*
 * The line's text, without control characters, into buf (pure, for tests):
 * elapsed_ms since the start gives the rate and the ETA.
 */
void progress_format(char *buf, size_t size, int64_t done, int64_t total, int64_t waiting,
		     int paused, int64_t elapsed_ms);

#endif
