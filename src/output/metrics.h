/*
 * metrics.h: --metrics-file, the state of the nightly job for Prometheus,
 * written for node_exporter's textfile collector
 * (https://github.com/prometheus/node_exporter#textfile-collector).
 *
 * The file is in the Prometheus text exposition format
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): a # HELP
 * and a # TYPE line before each metric's samples, names after the naming
 * guide (https://prometheus.io/docs/practices/naming/): the finch_onboard_
 * prefix, _total for counters, _seconds for durations and Unix times.
 * Counters are read from the database (every attempt and every run ever
 * recorded), so they only go up across runs; the last good run's time is
 * kept the same way, which is what an alert on "no good sync for 26 hours"
 * needs.
 *
 * It is written at the end of a run, atomically: a hidden temporary file in
 * the same folder (the collector reads only *.prom), fsync'ed, renamed over
 * the target. Mode 0644: the collector runs as another user, and the file
 * holds counts only, no customer data.
 */
#ifndef FINCH_METRICS_H
#define FINCH_METRICS_H

#include <stdint.h>

#include "run/dispatch.h"
#include "store/store.h"
#include "base/strbuf.h"

/*
 * Every series carries the label onboard_job, so that two databases'
 * files in one textfile folder never hold the same series (node_exporter
 * serves only one of them, "collected before", with scrape_error 0).
 * Appends to sb the label's value, escaped for the text format: job
 * (--metrics-job) when given, else the file name of db without its
 * extension ("/var/lib/x/onboard.db": "onboard").
 */
void metrics_job_label(struct strbuf *sb, const char *job, const char *db);

/*
 * Appends the metrics to sb, each series labelled onboard_job="job" (job
 * as metrics_job_label() made it). st may be NULL (the run failed before the
 * database opened): only the exit code and the time are known then. sum
 * may be NULL or describe a run that never started (run_id 0). now_ms is
 * the time of writing. Returns 0, or -1 after reporting a database error.
 */
int metrics_format(struct strbuf *sb, struct store *st, const struct run_summary *sum,
		   int exit_code, int64_t now_ms, const char *job);

/*
 * Whether path may be written as the --metrics-file, by outpath.h's rules:
 * never db or its side files, the input csv, or the --out file out (each
 * may be NULL); a FIFO or a character device is written directly, a
 * symlink's target replaced. Returns 0, or -1 after an error: call it
 * before anything is sent.
 */
int metrics_check(const char *path, const char *db, const char *csv, const char *out);

/*
 * metrics_format() into path (checked again as metrics_check() does),
 * atomically unless it is a FIFO, a character device or standard output.
 * Returns 0, or -1 after reporting the error.
 */
int metrics_write(const char *path, const char *db, const char *csv, const char *out,
		  struct store *st, const struct run_summary *sum, int exit_code, const char *job);

#endif
