/*
 * cmd_sync.c: `finch-onboard sync`, the nightly job: import, then run, then
 * export, in one command and under one lock.
 *
 * The export is written whenever the import succeeded, even after a run
 * that was interrupted or whose credentials were rejected, so the file always
 * shows where the batch stands; the exit code tells what happened. A file
 * that cannot be read as CSV stops everything before a request is sent.
 *
 * --dry-run works on a throw-away copy of the database: the import and the
 * queueing of --renew-expired/--reauthenticate happen there, the requests a
 * run would send are printed, and the real database and export are left as
 * they were.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cli.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "csv/csv_import.h"
#include "csv/csv_input.h"
#include "run/dispatch.h"
#include "run/night.h"
#include "run/plan.h"
#include "finch/reconcile.h"
#include "output/export.h"
#include "output/metrics.h"
#include "base/log.h"
#include "run/options.h"
#include "output/outpath.h"
#include "store/store.h"
#include "store/store_import.h"
#include "store/store_outcome.h"
#include "store/store_queue.h"
#include "store/store_report.h"
#include "base/signals.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "store/writer.h"

static const char sync_usage_head[] =
    "usage: finch-onboard sync CSV|--csv CSV --out FILE [--db PATH] [--format csv|jsonl]\n"
    "                          [--raw]\n"
    "                          [--bom|--no-bom] [--columns LIST] [--config FILE]\n"
    "                          [--renew-expired] [--reauthenticate] [--dry-run]\n"
    "                          [import options] [run options]\n"
    "\n"
    "The nightly job: imports CSV, sends every new, changed or due row, then\n"
    "exports every row to FILE (atomically, mode 0600). Rows that are done are\n"
    "left alone, so a second sync in a row sends nothing. Rows whose attempts ran\n"
    "out on transient errors in an earlier run are sent again with a fresh budget\n"
    "(until --give-up-after). The export is written\n"
    "even when the run is interrupted (exit 5) or its credentials are rejected\n"
    "(exit 3). Exit 1: some rows are invalid, failed or still waiting; exit 8:\n"
    "requests went out and none succeeded, or the CSV gave no valid row while the\n"
    "database has rows (a bad night: monitoring's last success stays).\n"
    "\n"
    "  --db PATH             the database (default " DEFAULT_DB_PATH ")\n"
    "  --csv CSV             the CSV, when no argument names it (for a config file)\n"
    "  --out FILE            the export (required); '-' for standard output\n"
    "  --format FORMAT       csv (default) or jsonl\n"
    "  --columns LIST        the export's columns, as export --columns chooses them\n"
    "  --raw                 CSV: do not neutralise formula cells (= + - @, also\n"
    "                        after blanks or fullwidth; TAB, CR)\n"
    "  --bom, --no-bom       start a CSV with a UTF-8 BOM, so Excel reads it as UTF-8\n"
    "                        (default: yes for a file, no for standard output)\n"
    "  --renew-expired       first queue created rows whose link has expired: each\n"
    "                        gets a new session, or becomes exists if connected\n"
    "  --reauthenticate[=all] first queue the exists rows whose connection needs a\n"
    "                        new link (status " REAUTH_NEEDED_NAMES ", from webhooks or\n"
    "                        connections import) for /connect/sessions/reauthenticate\n"
    "                        (with their connection_id); =all: every exists row\n"
    "  --keep-missing        rows the CSV lacks stay as they are (by default they are\n"
    "                        withdrawn: kept, with their links, but never sent)\n"
    "  --max-withdraw N|P%   refuse (exit 2, nothing sent) a CSV that would withdraw\n"
    "                        more than N rows or P% of the active ones (default\n"
    "                        " RECONCILE_MAX_WITHDRAW_DEFAULT
    ", at least one row; every row only when 100%)\n"
    "  --keep-history DURATION\n"
    "                        after the run, delete the attempts and runs older\n"
    "                        than DURATION but for what rows still need (see\n"
    "                        'prune'); default " KEEP_HISTORY_DEFAULT
    ", 0 or forever keeps everything\n"
    "\n"
    "import options (fill empty cells):\n";

static const char sync_usage_tail[] = CLI_CONFIG_HELP "  -h, --help            show this help\n";

static void usage(FILE *f)
{
	fputs(sync_usage_head, f);
	fputs(import_options_help, f);
	fputs("\nrun options:\n", f);
	fputs(run_options_help, f);
	fputs(sync_usage_tail, f);
}

/* A duration in the largest unit that divides it: "7d", "36h", "90m", "45s", "500ms". */
static void duration_text(int64_t ms, char *buf, size_t size)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ms && ms % units[i].ms == 0) {
			snprintf(buf, size, "%" PRId64 "%s", ms / units[i].ms, units[i].unit);
			return;
		}
	snprintf(buf, size, "%" PRId64 "ms", ms);
}

/* Tells one row given up (store_give_up()): a warning, so --quiet's log has it too. */
static void tell_given_up(const char *customer_id, const char *why, int64_t first_ms, void *data)
{
	const char *limit = data;
	char first[32];

	format_iso8601_ms(first_ms, first, sizeof(first));
	log_event(LOG_WARN, "given_up",
		  "gave up on a row: its transient failures began longer ago than "
		  "--give-up-after; no sync sends it again ('retry' does)",
		  LOG_S("customer_id", customer_id), LOG_S("first_transient_at", first),
		  LOG_S("give_up_after", limit), LOG_S("reason", why), LOG_END);
}

/*
 * Gives up on the rows whose transient streak outlived tonight's
 * --give-up-after, and queues those still within it (retry_carry_over()),
 * then expired links and connected employers, as asked.
 */
static int queue_renewals(struct store *st, int renew_expired, enum reauth_scope reauthenticate,
			  int resend_changed, int64_t give_up_after_ms, FILE *info)
{
	int64_t now = clock_now_ms(), n;
	char limit[32];

	/* rows marked changed on earlier nights; tonight's were re-queued by the import */
	if (resend_changed) {
		if (store_queue_changed(st, now, &n) < 0)
			return -1;
		if (info && n)
			fprintf(info,
				"resend changed: %" PRId64 " row%s marked changed on an earlier "
				"night queued for a new link\n",
				n, n == 1 ? "" : "s");
	}

	duration_text(give_up_after_ms, limit, sizeof(limit));
	if (store_give_up(st, now, give_up_after_ms, tell_given_up, limit, &n) < 0)
		return -1;
	if (info && n)
		fprintf(info,
			"given up: %" PRId64 " row%s whose transient failures outlived "
			"--give-up-after %s\n",
			n, n == 1 ? "" : "s", limit);
	if (store_requeue_transient(st, now, &n) < 0)
		return -1;
	if (n) {
		log_event(LOG_INFO, "carried_over",
			  "re-queued rows whose attempts ran out on transient errors in an earlier "
			  "run, with a fresh budget",
			  LOG_I("rows", n), LOG_END);
		if (info)
			fprintf(info,
				"carry over: %" PRId64 " row%s that failed on transient errors "
				"queued again\n",
				n, n == 1 ? "" : "s");
	}

	if (renew_expired) {
		if (store_queue_expired(st, now, &n) < 0)
			return -1;
		if (info)
			fprintf(info,
				"renew: %" PRId64 " expired link%s queued for a new session\n", n,
				n == 1 ? "" : "s");
	}
	if (reauthenticate != REAUTH_NONE) {
		if (store_queue_reauth(st, now, reauthenticate, NULL, &n) < 0)
			return -1;
		if (info && reauthenticate == REAUTH_ALL)
			fprintf(info,
				"reauthenticate: %" PRId64 " connected employer%s queued (=all: "
				"every connection, whatever its status)\n",
				n, n == 1 ? "" : "s");
		else if (info)
			fprintf(info,
				"reauthenticate: %" PRId64 " connected employer%s queued (status "
				"%s)\n",
				n, n == 1 ? "" : "s", REAUTH_NEEDED_NAMES);
	}
	return 0;
}

/* The exit code of a dry run: 1 if the store has invalid or failed rows. */
static int dry_run_exit_code(struct store *st)
{
	struct state_counts c;

	if (store_count_states(st, clock_now_ms(), &c) < 0)
		return EXIT_USAGE;
	return c.by_state[STATE_INVALID] || c.by_state[STATE_FAILED] ? EXIT_ROWS : EXIT_OK;
}

/* Below RUN_OPT_FIRST and IMPORT_OPT_FIRST, the fragments' ranges. */
enum {
	SYNC_OPT_RENEW = 0x800,
	SYNC_OPT_REAUTH,
	SYNC_OPT_CSV,
	SYNC_OPT_KEEP_MISSING,
	SYNC_OPT_MAX_WITHDRAW,
	SYNC_OPT_KEEP_HISTORY
};

/* Reasons of invalid rows printed to stderr, as `import` does. */
#define SYNC_MAX_REASONS 20

/* Prints what the import did, in `import`'s words. */
static void print_import(FILE *f, const char *csv, const struct import_stats *s, int quiet)
{
	if (s->invalid > SYNC_MAX_REASONS && !quiet)
		notice("rows_invalid",
		       "... and %" PRId64 " more invalid rows (see 'finch-onboard export "
		       "--state invalid')",
		       s->invalid - SYNC_MAX_REASONS);
	csv_import_print_summary(f, "imported", csv, s);
}

/* What sync's options fill in. */
struct sync_args {
	struct run_config *cfg;
	struct import_options *io;
	struct export_options *eo;
	int renew_expired;
	enum reauth_scope reauthenticate;
	const char *csv;	    /* --csv: the CSV when no argument names it */
	int keep_missing;	    /* --keep-missing: no row is withdrawn */
	struct withdraw_limit wl;   /* --max-withdraw */
	struct history_window keep; /* --keep-history */
};

/* sync's own options: the run, import and export options, and the renewals. */
static int sync_apply(void *ctx, int c, const char *arg)
{
	struct sync_args *a = ctx;
	int r = run_option_apply(a->cfg, c, arg);

	if (!r)
		r = import_option_apply(a->io, c, arg);
	if (!r)
		r = cmd_export_option(a->eo, c, arg);
	if (r)
		return r;
	if (c == SYNC_OPT_RENEW)
		a->renew_expired = 1;
	else if (c == SYNC_OPT_REAUTH)
		return cmd_reauth_scope(arg, &a->reauthenticate) < 0 ? -1 : 1;
	else if (c == SYNC_OPT_CSV)
		a->csv = arg;
	else if (c == SYNC_OPT_KEEP_MISSING)
		a->keep_missing = 1;
	else if (c == SYNC_OPT_MAX_WITHDRAW)
		return max_withdraw_option(arg, &a->wl) < 0 ? -1 : 1;
	else if (c == SYNC_OPT_KEEP_HISTORY)
		return history_option("keep-history", arg, 1, &a->keep) < 0 ? -1 : 1;
	else
		return 0;
	return 1;
}

/* The command's own options (cmd.h: the config file reads them too). */
const struct option cmd_sync_options[] = {
    {"db", required_argument, NULL, 'd'},
    {"renew-expired", no_argument, NULL, SYNC_OPT_RENEW},
    {"reauthenticate", optional_argument, NULL, SYNC_OPT_REAUTH},
    {"csv", required_argument, NULL, SYNC_OPT_CSV},
    {"keep-missing", no_argument, NULL, SYNC_OPT_KEEP_MISSING},
    {"max-withdraw", required_argument, NULL, SYNC_OPT_MAX_WITHDRAW},
    {"keep-history", required_argument, NULL, SYNC_OPT_KEEP_HISTORY},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int sync_check(void *ctx)
{
	return cmd_import_options_finish(((struct sync_args *)ctx)->io);
}

int cmd_sync(int argc, char **argv)
{
	struct option *longopts = cli_options_merge(cmd_sync_options, cmd_export_long_options,
						    import_long_options, run_long_options, NULL);
	struct export_options eo = {EXPORT_CSV,	     NULL, {0, 0, 0}, 0,
				    EXPORT_BOM_AUTO, NULL, NULL,      {NULL, 0, 0, NULL}};
	struct scratch_db scratch = {"", STRBUF_INIT};
	struct import_options io = {.max_reasons = SYNC_MAX_REASONS};
	struct import_stats stats;
	struct store *st = NULL;
	struct writer w = WRITER_INIT;
	struct run_config cfg;
	struct run_summary sum;
	struct cmd_common co = {DEFAULT_DB_PATH, usage, 0, sync_check};
	const char *csv;
	struct sync_args a = {&cfg, &io, &eo, 0, 0, NULL, 0, {0, 0, 0}, {0, NULL}};
	struct outpath op;
	struct csv_input in = CSV_INPUT_INIT;
	FILE *info = stdout;
	int64_t rows = 0, db_rows = 0, csv_valid = -1;
	int r, ret = EXIT_USAGE, metrics_refused = 0, summaries = 1;

	memset(&sum, 0, sizeof(sum));

	run_config_init(&cfg);
	withdraw_limit_init(&a.wl);
	a.keep.ms = KEEP_HISTORY_DEFAULT_MS;
	a.keep.text = KEEP_HISTORY_DEFAULT;
	r = cmd_read_import_options(&co, argc, argv, longopts, sync_apply, &a, &io);
	if (r != CMD_OPTIONS_READ) {
		ret = r;
		goto out;
	}
	/* the argument over --csv: the command line over the config file */
	csv = optind < argc ? argv[optind++] : a.csv;
	if (!csv) {
		error("missing the CSV file (an argument, or --csv FILE: csv = FILE in the "
		      "config file); see 'finch-onboard sync --help'");
		goto out;
	}
	if (optind < argc) {
		error("unexpected argument '%s'; see 'finch-onboard sync --help'", argv[optind]);
		goto out;
	}
	if (!eo.out_path) {
		error("--out FILE is required (the export of every row; '-' for standard output)");
		goto out;
	}
	/*
	 * Before anything is sent: --out must not name the database, its side
	 * files or the CSV, and its folder must exist (outpath.h).
	 */
	eo.db = co.db;
	eo.csv = csv;
	if (outpath_check(eo.out_path, co.db, csv, &op) < 0)
		goto out;
	/* With the export on stdout, the reports go to stderr. */
	info = op.kind != OUTPATH_STDOUT ? stdout : stderr;
	outpath_release(&op);
	if (run_config_finish(&cfg) < 0)
		goto out;
	if (cfg.metrics_file && !cfg.dry_run &&
	    metrics_check(cfg.metrics_file, co.db, csv, eo.out_path) < 0) {
		metrics_refused = 1;
		goto out;
	}

	/*
	 * SIGINT/SIGTERM, in any phase: the import rolls back, or the run drains
	 * (signals.h); either way the export still shows where things stand and
	 * the exit is 5 (but while the CSV's first bytes are awaited, before the
	 * lock, there is nothing to export). A second signal, over a second after
	 * the first, skips the export too.
	 */
	if (signals_install() < 0)
		goto out;
	/*
	 * The CSV's first bytes before the lock (csv_input.h; issue 20, item 2):
	 * a FIFO planted in the drop folder that sends nothing keeps no other
	 * writer out. Stopped while it waits, the sync exits 5 having locked,
	 * imported, sent and exported nothing (the last export still stands).
	 */
	r = csv_input_open(&in, csv, io.read_timeout_ms, io.read_timeout);
	if (r < 0) {
		ret = r == -2 ? EXIT_INTERRUPTED : EXIT_USAGE;
		goto out;
	}
	if (cfg.dry_run) {
		/* A dry run only reads the real database (a snapshot): it takes no lock. Its copy
		 * recovers, as a real sync would. */
		if (scratch_open(&scratch, co.db, &w.st) < 0 ||
		    writer_recover_copy(w.st, co.db, &w.replayed, &w.recovered) < 0)
			goto out;
	} else {
		ret = writer_open(&w, co.db, 0);
		if (ret != EXIT_OK)
			goto out;
		ret = EXIT_USAGE;
	}
	st = w.st;
	/* --columns names stored fields, or columns an import kept or this one keeps: checked
	 * before anything is imported or sent, as --out is. */
	if (export_columns_check(st, &eo.columns, io.columns.keep, io.columns.nkeep) < 0)
		goto out;

	/* An unreadable file stops everything: nothing is sent, nothing exported. */
	memset(&stats, 0, sizeof(stats));
	db_rows = night_rows(st);
	store_set_resend_changed(st, cfg.resend_changed);
	io.quiet = cfg.quiet;
	io.withdraw = a.keep_missing ? NULL : &a.wl;
	r = csv_import_input(st, &in, &io, &stats);
	if (r == -2) {
		ret = EXIT_INTERRUPTED;
		if (cfg.dry_run)
			goto out;
		goto export;
	}
	if (r < 0)
		goto out;
	/* a file without data rows is the withdraw guard's business, not a bad night's */
	csv_valid =
	    stats.rows_read ? stats.accepted + stats.unchanged + stats.updated + stats.changed : -1;
	/*
	 * Under --log-format json with the export on stdout, stderr carries
	 * JSON objects only: the text reports are left out (the run_end event
	 * has the figures). Under --quiet, as for `import`, the summary counts
	 * stay (in text logs) and the per-row and per-column lines go.
	 */
	if (cfg.log_format == LOG_FORMAT_JSON && (info == stderr || cfg.quiet))
		summaries = 0;
	if (cfg.log_format == LOG_FORMAT_JSON && info == stderr)
		cfg.quiet = 1;
	/* --dry-run --quiet prints the plan only; under --log-format json, one JSON object */
	if (cfg.dry_run && (cfg.quiet || cfg.log_format == LOG_FORMAT_JSON))
		summaries = 0;
	if (summaries)
		print_import(info, csv, &stats, cfg.quiet);
	if (cmd_sandbox_warnings(st, &stats) < 0)
		goto out;
	if (queue_renewals(st, a.renew_expired, a.reauthenticate, cfg.resend_changed,
			   cfg.give_up_after_ms, summaries && !cfg.quiet ? info : NULL) < 0)
		goto out;

	if (cfg.dry_run) {
		struct night_plan plan = {.has_import = 1,
					  .withdrawn = stats.withdrawn,
					  .returned = stats.returned,
					  .changed_kept = stats.changed,
					  .unchanged = stats.unchanged};
		int64_t count = 0;

		if (summaries && dispatch_dry_run(st, &cfg, stdout, &count) < 0)
			goto out;
		if (plan_read(&plan, st, clock_now_ms(), 0, cfg.limit, cfg.rate_per_s, cfg.rate) <
		    0)
			goto out;
		if (summaries)
			printf("dry run: %" PRId64 " request%s would be sent to %s; nothing was "
			       "sent, '%s' and '%s' are unchanged\n",
			       count, count == 1 ? "" : "s", cfg.base_url, co.db, eo.out_path);
		plan_print(stdout, &plan, cfg.log_format);
		ret = reconcile_night_exit(dry_run_exit_code(st), 0, 0, csv_valid, db_rows);
		goto out;
	}

	if (signals_level() != SIGNALS_NONE) {
		ret = EXIT_INTERRUPTED; /* between the import and the run: send nothing */
		goto export;
	}
	ret = dispatch_run(st, &cfg, &sum);
	ret = night_exit(st, &sum, ret, csv_valid, db_rows);
	sum.replayed = w.replayed;
	sum.recovered = w.recovered;
	if (summaries && sum.run_id)
		run_summary_print(info, &sum);
	/* retention, after a run that was not stopped; a broken database is exit 2 */
	if (signals_level() == SIGNALS_NONE &&
	    cmd_prune_history(st, &a.keep, summaries && !cfg.quiet ? info : NULL) < 0 &&
	    (ret == EXIT_OK || ret == EXIT_ROWS))
		ret = EXIT_USAGE;
	export :
	    /* Whatever the run's end, the file shows where the batch stands, unless told to stop
	       now. */
	    if (signals_level() == SIGNALS_STOP_NOW)
	{
		error("a second signal: stopping at once; '%s' was not written", eo.out_path);
		ret = EXIT_INTERRUPTED;
		goto out;
	}
	if (export_to_path(st, &eo, &rows) < 0) {
		if (ret == EXIT_OK || ret == EXIT_ROWS)
			ret = EXIT_USAGE;
		goto out;
	}
	if (!cfg.quiet && info == stdout)
		fprintf(info, "exported %" PRId64 " row%s to '%s'\n", rows, rows == 1 ? "" : "s",
			eo.out_path);
out:
	/* The sync's own exit code (an export that failed makes it 2) is the run's. */
	if (st && sum.run_id && !cfg.dry_run)
		store_run_outcome(st, sum.run_id, ret, sum.pauses, sum.outages);
	if (cfg.metrics_file && !cfg.dry_run && ret != EXIT_LOCKED && !metrics_refused &&
	    metrics_write(cfg.metrics_file, co.db, eo.csv, eo.out_path, st, &sum, ret,
			  cfg.metrics_job) < 0 &&
	    (ret == EXIT_OK || ret == EXIT_ROWS))
		ret = EXIT_USAGE;
	writer_close(&w);
	csv_input_close(&in);
	scratch_remove(&scratch);
	/*
	 * The handlers stay to the process's end (no signals_restore()): a
	 * second signal a few ms after the first (timeout(1), a terminal's
	 * Ctrl-C to the group) would otherwise land on the default action
	 * between here and exit(), and kill a process that has done its work,
	 * its exit code lost.
	 */
	run_config_release(&cfg);
	import_options_release(&io);
	export_columns_release(&eo.columns);
	free(longopts);
	return ret;
}
