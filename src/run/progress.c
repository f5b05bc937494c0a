/*
 * progress.c: the one-line progress display; see progress.h.
 */
#include "run/progress.h"

#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void progress_init(struct progress *p, int want, int64_t total, int64_t now_ms)
{
	p->enabled = want && isatty(STDERR_FILENO);
	p->out = stderr;
	p->total = total;
	p->started_ms = now_ms;
	p->drawn_ms = 0;
	p->visible = 0;
}

/* Appends "H:MM:SS" or "M:SS" for secs. */
static int format_eta(char *buf, size_t size, int64_t secs)
{
	if (secs >= 3600)
		return snprintf(buf, size, "%" PRId64 ":%02d:%02d", secs / 3600,
				(int)(secs / 60 % 60), (int)(secs % 60));
	return snprintf(buf, size, "%d:%02d", (int)(secs / 60), (int)(secs % 60));
}

void progress_format(char *buf, size_t size, int64_t done, int64_t total, int64_t waiting,
		     int paused, int64_t elapsed_ms)
{
	double rate = elapsed_ms > 0 ? (double)done * 1000.0 / (double)elapsed_ms : 0.0;
	char eta[32] = "?";
	size_t len;
	int n;

	if (rate > 0 && total >= done)
		format_eta(eta, sizeof(eta), (int64_t)((double)(total - done) / rate + 0.5));
	n = snprintf(buf, size, "%" PRId64 "/%" PRId64 " done  %.1f sessions/s  ETA %s", done,
		     total, rate, eta);
	len = n < 0 ? 0 : (size_t)n;
	if (waiting > 0 && len < size) {
		n = snprintf(buf + len, size - len, "  %" PRId64 " waiting for retry", waiting);
		len += n < 0 ? 0 : (size_t)n;
	}
	if (paused && len < size)
		snprintf(buf + len, size - len, "  paused (429)");
}

void progress_fit(char *line, long cols)
{
	/* The line is ASCII: a byte is a column. The last column stays free so no
	 * terminal wraps (some wrap as soon as the last column is written). */
	if (cols > 1 && strlen(line) > (size_t)(cols - 1))
		line[cols - 1] = '\0';
}

/* The terminal's width, asked at each draw (a resize needs no signal handler); 0: unknown. */
static long terminal_cols(FILE *f)
{
	struct winsize ws;

	if (ioctl(fileno(f), TIOCGWINSZ, &ws) < 0)
		return 0;
	return ws.ws_col;
}

static void draw(struct progress *p, int64_t done, int64_t waiting, int paused, int64_t now_ms)
{
	char line[256];

	progress_format(line, sizeof(line), done, p->total, waiting, paused,
			now_ms - p->started_ms);
	progress_fit(line, terminal_cols(p->out));
	fprintf(p->out, "\r%s\033[K", line);
	fflush(p->out);
	p->drawn_ms = now_ms;
	p->visible = 1;
}

void progress_update(struct progress *p, int64_t done, int64_t waiting, int paused, int64_t now_ms)
{
	if (!p->enabled)
		return;
	if (p->drawn_ms && now_ms - p->drawn_ms < PROGRESS_REFRESH_MS)
		return;
	draw(p, done, waiting, paused, now_ms);
}

void progress_clear(struct progress *p)
{
	if (!p->enabled || !p->visible)
		return;
	fputs("\r\033[K", p->out);
	fflush(p->out);
	p->visible = 0;
}

void progress_finish(struct progress *p, int64_t done, int64_t waiting, int64_t now_ms)
{
	if (!p->enabled)
		return;
	draw(p, done, waiting, 0, now_ms);
	fputc('\n', p->out);
	fflush(p->out);
	p->visible = 0;
}
