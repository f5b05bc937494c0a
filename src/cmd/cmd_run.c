/*
 * cmd_run.c: `finch-onboard run`, which sends every pending and due
 * retry_wait row of the database and records each outcome (dispatch.h).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "run/dispatch.h"
#include "run/night.h"
#include "run/plan.h"
#include "output/metrics.h"
#include "run/options.h"
#include "store/journal.h"
#include "store/store.h"
#include "store/store_queue.h"
#include "base/signals.h"
#include "base/util.h"
#include "store/writer.h"

static const char run_usage_head[] =
    "usage: finch-onboard run [--db PATH] [--base-url URL] [--concurrency N]\n"
    "                         [--rate R] [--max-attempts N] [--timeout SECONDS]\n"
    "                         [--grace SECONDS] [--dry-run] [--config FILE]\n"
    "                         [more options below]\n"
    "\n"
    "Creates a Finch Connect session for every pending row, and retries rows\n"
    "whose last attempt failed for a transient reason once they are due.\n"
    "Credentials come from FINCH_CLIENT_ID and FINCH_CLIENT_SECRET (or\n"
    "--client-secret-file). Exit: 0 every row created or exists, 1 some rows\n"
    "failed, invalid or still waiting, 2 usage error or a database error,\n"
    "3 credentials rejected, 4 database in use, 5 interrupted, 6 the API could\n"
    "not be reached (nothing was marked failed), 7 stopped at the API's request,\n"
    "8 requests went out and none succeeded.\n"
    "\n"
    "  --db PATH             the database (default " DEFAULT_DB_PATH ")\n";

static const char run_usage_tail[] = CLI_CONFIG_HELP "  -h, --help            show this help\n";

static void usage(FILE *f)
{
	fputs(run_usage_head, f);
	fputs(run_options_help, f);
	fputs(run_usage_tail, f);
}

/* A database without a single row was never imported into: say so. */
/*
 * The store a dry run reads: the database itself, read only (no lock, no
 * schema, no journal mode change), or, when answers wait in its journal, a
 * copy with them replayed (writer_recover_copy()): rows whose answers are
 * in the journal are not sent by the real run, so the plan does not list
 * them either.
 */
static int open_dry_run(const char *db, struct scratch_db *sc, struct store **st)
{
	char *journal = journal_path_of_db(db);
	int64_t waiting = journal_waiting_file(journal), replayed, recovered;

	free(journal);
	if (waiting < 0)
		return -1;
	if (!waiting)
		return store_open_readonly(db, st);
	if (scratch_open(sc, db, st) < 0 || writer_recover_copy(*st, db, &replayed, &recovered) < 0)
		return -1;
	return 0;
}

static int refuse_empty(struct store *st, const char *db)
{
	int has = store_has_rows(st);

	if (has < 0)
		return -1;
	if (!has)
		return error("nothing to send: import a CSV first ('%s' has no rows)", db);
	return 0;
}

/* run's own options: the run options (options.h). */
static int run_apply(void *ctx, int c, const char *arg)
{
	return run_option_apply(ctx, c, arg);
}

/* The command's own options (cmd.h: the config file reads them too). */
const struct option cmd_run_options[] = {
    {"db", required_argument, NULL, 'd'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cmd_run(int argc, char **argv)
{
	struct option *longopts = run_options_merge(cmd_run_options);
	struct writer w = WRITER_INIT;
	struct store *st = NULL; /* a dry run's read-only store, or its copy */
	struct scratch_db scratch = {"", STRBUF_INIT};
	struct run_config cfg;
	struct run_summary sum;
	struct cmd_common co = {DEFAULT_DB_PATH, usage, 0, NULL};
	int r, ret = EXIT_USAGE, metrics_refused = 0;

	memset(&sum, 0, sizeof(sum));

	run_config_init(&cfg);
	r = cmd_read_options(&co, argc, argv, longopts, run_apply, &cfg);
	if (r != CMD_OPTIONS_READ) {
		ret = r;
		goto out;
	}
	if (optind < argc) {
		error("unexpected argument '%s'; see 'finch-onboard run --help'", argv[optind]);
		goto out;
	}
	if (run_config_finish(&cfg) < 0)
		goto out;
	/* Before anything is sent: never the database or its side files (outpath.h). */
	if (cfg.metrics_file && !cfg.dry_run &&
	    metrics_check(cfg.metrics_file, co.db, NULL, NULL) < 0) {
		metrics_refused = 1;
		goto out;
	}
	/* A typo in --db must not be a silent no-op every night: create nothing. */
	if (cmd_db_exists(co.db) < 0) {
		error("nothing to send: import a CSV first ('finch-onboard import CSV --db %s')",
		      co.db);
		goto out;
	}

	if (cfg.dry_run) {
		struct night_plan plan = {0};
		/* --quiet: the plan only; --log-format json: the plan as one JSON object */
		int bodies = !cfg.quiet && cfg.log_format == LOG_FORMAT_TEXT;
		int64_t count = 0;

		if (open_dry_run(co.db, &scratch, &st) < 0 || refuse_empty(st, co.db) < 0 ||
		    (bodies && dispatch_dry_run(st, &cfg, stdout, &count) < 0) ||
		    plan_read(&plan, st, clock_now_ms(), cfg.resend_changed, cfg.limit,
			      cfg.rate_per_s, cfg.rate) < 0)
			goto out;
		if (bodies)
			printf("dry run: %" PRId64 " request%s would be sent to %s; nothing was "
			       "sent\n",
			       count, count == 1 ? "" : "s", cfg.base_url);
		plan_print(stdout, &plan, cfg.log_format);
		ret = EXIT_OK;
		goto out;
	}

	/*
	 * SIGINT/SIGTERM/SIGHUP from here to the end, not only in the loop (which
	 * nests its own install): a signal during the lock, the journal's replay,
	 * the recovery or the metrics is a stop, never the default death. One
	 * before the loop leaves every row pending, and the exit is 5. Kept to the
	 * process's end (see out:).
	 */
	if (signals_install() < 0)
		goto out;
	ret = writer_open(&w, co.db, WRITER_MUST_EXIST);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_USAGE;
	if (refuse_empty(w.st, co.db) < 0)
		goto out;
	if (cfg.resend_changed) {
		int64_t n;

		if (store_queue_changed(w.st, clock_now_ms(), &n) < 0)
			goto out;
		if (!cfg.quiet)
			printf("resend changed: %" PRId64 " row%s queued for a new link\n", n,
			       n == 1 ? "" : "s");
	}
	ret = dispatch_run(w.st, &cfg, &sum);
	ret = night_exit(w.st, &sum, ret, -1, 0);
	sum.replayed = w.replayed;
	sum.recovered = w.recovered;
	if (!cfg.quiet && sum.run_id)
		run_summary_print(stdout, &sum);
out:
	/* Also after an early failure (a typo in --db is exit 2): monitoring sees every end. */
	if (cfg.metrics_file && !cfg.dry_run && ret != EXIT_LOCKED && !metrics_refused &&
	    metrics_write(cfg.metrics_file, co.db, NULL, NULL, w.st, &sum, ret, cfg.metrics_job) <
		0 &&
	    (ret == EXIT_OK || ret == EXIT_ROWS))
		ret = EXIT_USAGE;
	store_close(st);
	scratch_remove(&scratch);
	writer_close(&w);
	/*
	 * The handlers stay to the process's end (no signals_restore()): a
	 * second signal a few ms after the first (timeout(1), a terminal's
	 * Ctrl-C to the group) would otherwise land on the default action
	 * between here and exit(), and kill a process that has done its work,
	 * its exit code lost.
	 */
	run_config_release(&cfg);
	free(longopts);
	return ret;
}
