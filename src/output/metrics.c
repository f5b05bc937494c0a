/*
 * metrics.c: --metrics-file; see metrics.h.
 */
#include "output/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/atomicfile.h"
#include "output/outpath.h"
#include "base/util.h"
#include "store/store_report.h"

/* The # HELP and # TYPE lines of a metric. */
static void header(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	strbuf_addf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/*
 * Opens a sample: NAME{onboard_job="JOB"[,EXTRA]} with the value to follow.
 * extra is a label pair already in the text format (state="created") or NULL.
 */
static void series(struct strbuf *sb, const char *name, const char *job, const char *extra)
{
	strbuf_addf(sb, "%s{onboard_job=\"%s\"%s%s} ", name, job, extra ? "," : "",
		    extra ? extra : "");
}

static void sample_int(struct strbuf *sb, const char *name, const char *job, const char *extra,
		       int64_t v)
{
	series(sb, name, job, extra);
	strbuf_addf(sb, "%" PRId64 "\n", v);
}

static void sample_ms(struct strbuf *sb, const char *name, const char *job, int64_t ms)
{
	series(sb, name, job, NULL);
	strbuf_addf(sb, "%" PRId64 ".%03d\n", ms / 1000, (int)(ms % 1000));
}

/* A gauge with one sample and no label but the job's. */
static void gauge(struct strbuf *sb, const char *name, const char *help, const char *job, int64_t v)
{
	header(sb, name, "gauge", help);
	sample_int(sb, name, job, NULL, v);
}

void metrics_job_label(struct strbuf *sb, const char *job, const char *db)
{
	const char *base, *dot, *end;

	if (!job || !*job) {
		base = strrchr(db, '/');
		base = base ? base + 1 : db;
		dot = strrchr(base, '.');
		end = dot && dot != base ? dot : base + strlen(base);
		if (end == base) {
			base = "onboard";
			end = base + strlen(base);
		}
	} else {
		base = job;
		end = job + strlen(job);
	}
	/* the text format's label value escapes: backslash, double quote, line feed */
	for (const char *p = base; p < end; p++) {
		if (*p == '\\' || *p == '"')
			strbuf_addch(sb, '\\');
		if (*p == '\n')
			strbuf_addstr(sb, "\\n");
		else
			strbuf_addch(sb, *p);
	}
}

/* The campaign's funnel (store_report.h struct funnel): rows by stage and by connection status,
 * ages. */
static void funnel_metrics(struct strbuf *sb, const struct funnel *f, const char *job)
{
	const struct {
		const char *stage;
		int64_t n;
	} stages[] = {
	    {"links", f->links},
	    {"connected", f->connected},
	    {"expired", f->expired},
	    {"open", f->open},
	    {"already_connected", f->already_connected},
	};
	const struct {
		const char *age;
		double days;
	} ages[] = {
	    {"to_connect", f->days_to_connect},
	    {"open", f->open_days},
	    {"expired", f->expired_days},
	};
	char label[64];

	header(sb, "finch_onboard_funnel_rows", "gauge",
	       "The campaign: rows that got a link, and of them connected, expired unconnected "
	       "and open; rows already connected when asked.");
	for (size_t i = 0; i < ARRAY_SIZE(stages); i++) {
		snprintf(label, sizeof(label), "stage=\"%s\"", stages[i].stage);
		sample_int(sb, "finch_onboard_funnel_rows", job, label, stages[i].n);
	}
	header(sb, "finch_onboard_connections", "gauge",
	       "Rows with a connection, by the connection status Finch last sent (none: none "
	       "heard yet).");
	for (int i = 0; i <= CONNECTION_STATUS_COUNT; i++) {
		snprintf(label, sizeof(label), "status=\"%s\"",
			 i < CONNECTION_STATUS_COUNT ? connection_statuses[i] : "none");
		sample_int(sb, "finch_onboard_connections", job, label, f->by_status[i]);
	}
	for (size_t i = 0, said = 0; i < ARRAY_SIZE(ages); i++) {
		if (ages[i].days < 0)
			continue;
		if (!said++)
			header(sb, "finch_onboard_funnel_median_seconds", "gauge",
			       "Medians: from the first link to the connection (to_connect), and "
			       "the age of the open and of the expired links since the first link; "
			       "a sample is absent without such rows.");
		snprintf(label, sizeof(label), "age=\"%s\"", ages[i].age);
		series(sb, "finch_onboard_funnel_median_seconds", job, label);
		strbuf_addf(sb, "%.3f\n", ages[i].days * 86400.0);
	}
}

int metrics_format(struct strbuf *sb, struct store *st, const struct run_summary *sum,
		   int exit_code, int64_t now_ms, const char *job)
{
	static const char *const classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};
	struct state_counts c;
	struct store_metrics m;
	struct funnel fu;
	char label[64];

	if (st && (store_count_states(st, now_ms, &c) < 0 || store_metrics(st, &m) < 0 ||
		   store_funnel(st, now_ms, &fu) < 0))
		return -1;
	if (st) {
		header(sb, "finch_onboard_rows", "gauge", "Rows in the database, by state.");
		for (int s = 0; s < STATE_COUNT; s++) {
			snprintf(label, sizeof(label), "state=\"%s\"",
				 state_name((enum row_state)s));
			sample_int(sb, "finch_onboard_rows", job, label, c.by_state[s]);
		}
		gauge(sb, "finch_onboard_rows_carried_over",
		      "Failed rows the next sync sends again (transient errors, within "
		      "--give-up-after).",
		      job, c.carried);
		gauge(sb, "finch_onboard_rows_line_invalid",
		      "Created or exists rows whose CSV line turned invalid (they keep their "
		      "link).",
		      job, c.line_invalid);
		gauge(sb, "finch_onboard_rows_withdrawn",
		      "Rows missing from the last CSV: kept with their link, never sent.", job,
		      c.withdrawn);
		gauge(sb, "finch_onboard_rows_changed",
		      "Created or exists rows whose CSV fields changed since their link (kept "
		      "until --resend-changed or retry --changed).",
		      job, c.changed);
		funnel_metrics(sb, &fu, job);
		header(sb, "finch_onboard_requests_total", "counter",
		       "Requests sent to the API, by the class of their HTTP status (none: no "
		       "answer).");
		for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
			if (m.requests_by_class[i] || i == 1 || i == 3 || i == 4) {
				snprintf(label, sizeof(label), "class=\"%s\"", classes[i]);
				sample_int(sb, "finch_onboard_requests_total", job, label,
					   m.requests_by_class[i]);
			}
		sample_int(sb, "finch_onboard_requests_total", job, "class=\"none\"",
			   m.requests_unanswered);
		header(sb, "finch_onboard_throttled_requests_total", "counter",
		       "Requests answered 429 Too Many Requests.");
		sample_int(sb, "finch_onboard_throttled_requests_total", job, NULL, m.throttled);
		header(sb, "finch_onboard_pauses_total", "counter",
		       "Times a run paused every request: for a client-wide 429 (rate_limit) or "
		       "because the API stopped answering (outage).");
		sample_int(sb, "finch_onboard_pauses_total", job, "reason=\"rate_limit\"",
			   m.pauses);
		sample_int(sb, "finch_onboard_pauses_total", job, "reason=\"outage\"", m.outages);
		header(sb, "finch_onboard_runs_total", "counter", "Runs recorded in the database.");
		sample_int(sb, "finch_onboard_runs_total", job, NULL, m.runs);
		if (m.last_success_ms) {
			header(sb, "finch_onboard_last_success_timestamp_seconds", "gauge",
			       "When the last run that exited 0 or 1 ended, in Unix time.");
			sample_ms(sb, "finch_onboard_last_success_timestamp_seconds", job,
				  m.last_success_ms);
		}
	}
	if (sum && sum->run_id) {
		header(sb, "finch_onboard_last_run_duration_seconds", "gauge",
		       "How long the last run took.");
		sample_ms(sb, "finch_onboard_last_run_duration_seconds", job, sum->elapsed_ms);
		header(sb, "finch_onboard_last_run_requests", "gauge",
		       "Requests the last run sent, and of them those answered 429.");
		sample_int(sb, "finch_onboard_last_run_requests", job, "answer=\"any\"", sum->sent);
		sample_int(sb, "finch_onboard_last_run_requests", job, "answer=\"429\"",
			   sum->throttled);
		header(sb, "finch_onboard_last_run_rows", "gauge",
		       "Rows the last run finished, by outcome: created, exists (already "
		       "connected) or failed.");
		sample_int(sb, "finch_onboard_last_run_rows", job, "outcome=\"created\"",
			   sum->created);
		sample_int(sb, "finch_onboard_last_run_rows", job, "outcome=\"exists\"",
			   sum->exists);
		sample_int(sb, "finch_onboard_last_run_rows", job, "outcome=\"failed\"",
			   sum->failed);
	}
	gauge(sb, "finch_onboard_last_run_exit_code",
	      "The exit code of the last run (0 all good, 1 rows invalid or failed, 2 usage, 3 "
	      "credentials, 4 locked, 5 interrupted, 6 API unreachable, 7 stopped early, 8 no "
	      "success at all).",
	      job, exit_code);
	header(sb, "finch_onboard_last_run_timestamp_seconds", "gauge",
	       "When the last run ended (this file was written), in Unix time.");
	sample_ms(sb, "finch_onboard_last_run_timestamp_seconds", job, now_ms);
	return 0;
}

/* node_exporter's textfile collector reads every *.prom file: never half of one. */
static int write_atomically(const struct outpath *op, const char *buf, size_t len)
{
	struct atomic_file af;

	/* 0644: metrics hold counts, no links, and the collector runs as another user. */
	if (outpath_begin_replace(op, &af, 0644, "--metrics-file") < 0)
		return -1;
	if (fwrite(buf, 1, len, af.f) != len) {
		error_errno("--metrics-file: cannot write '%s'", af.tmp.buf);
		atomic_file_abort(&af);
		return -1;
	}
	return atomic_file_commit(&af);
}

/* A FIFO or a character device is written as it is: a rename would replace it (outpath.h). */
static int write_direct(const struct outpath *op, const char *buf, size_t len)
{
	const char *path = op->file;
	int fd = outpath_open_direct(op, "--metrics-file: ");
	size_t done = 0;
	int ret = 0;

	if (fd < 0)
		return -1;
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = error_errno("--metrics-file: cannot write '%s'", path);
			break;
		}
		done += (size_t)n;
	}
	if (close(fd) < 0 && !ret)
		ret = error_errno("--metrics-file: cannot write '%s'", path);
	return ret;
}

int metrics_check(const char *path, const char *db, const char *csv, const char *out)
{
	struct outpath op;

	if (outpath_check_as("--metrics-file", path, db, csv, out, &op) < 0)
		return -1;
	outpath_release(&op);
	return 0;
}

int metrics_write(const char *path, const char *db, const char *csv, const char *out,
		  struct store *st, const struct run_summary *sum, int exit_code, const char *job)
{
	struct strbuf sb = STRBUF_INIT, label = STRBUF_INIT;
	struct outpath op;
	int ret = -1;

	/* Checked again right before writing: the path may have changed since. */
	if (outpath_check_as("--metrics-file", path, db, csv, out, &op) < 0)
		return -1;
	metrics_job_label(&label, job, db);
	if (metrics_format(&sb, st, sum, exit_code, clock_now_ms(), label.buf) < 0)
		goto out;
	if (op.kind == OUTPATH_STDOUT)
		ret = fwrite(sb.buf, 1, sb.len, stdout) == sb.len && fflush(stdout) == 0
			  ? 0
			  : error_errno("--metrics-file: cannot write to standard output");
	else if (op.kind == OUTPATH_DIRECT)
		ret = write_direct(&op, sb.buf, sb.len);
	else /* a symlink's final target is replaced, in its own folder; the link stays */
		ret = write_atomically(&op, sb.buf, sb.len);
out:
	outpath_release(&op);
	strbuf_release(&sb);
	strbuf_release(&label);
	return ret;
}
