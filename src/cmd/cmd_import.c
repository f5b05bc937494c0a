/*
 * cmd_import.c: `finch-onboard import`, a CSV of employers into the database.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "cmd/common.h"
#include "csv/csv_import.h"
#include "csv/csv_input.h"
#include "finch/reconcile.h"
#include "base/cli.h"
#include "store/store.h"
#include "store/store_import.h"
#include "base/signals.h"
#include "base/util.h"
#include "store/writer.h"

static const char import_usage_head[] =
    "usage: finch-onboard import CSV [--db PATH] [--products LIST] [--redirect-uri URI]\n"
    "                            [--minutes-to-expire N] [--sandbox finch|provider]\n"
    "                            [--encoding ENC] [--delimiter D] [--column FIELD=HEADER]\n"
    "                            [--ignore-column HEADER] [--keep-column HEADER]\n"
    "                            [--skip-lines N] [--read-timeout D] [--check]\n"
    "                            [--allow-product NAME]...\n"
    "                            [--withdraw-missing [--max-withdraw N|P%]]\n"
    "                            [--config FILE] [--quiet]\n"
    "\n"
    "Validates every row of CSV ('-' for standard input) against the Connect\n"
    "session contract and loads it into the database. Invalid rows are kept with\n"
    "their reason; a file that cannot be read as CSV imports nothing (exit 2).\n"
    "\n"
    "  --db PATH                 the database (default " DEFAULT_DB_PATH ")\n";
static const char import_usage_tail[] =
    "  --check                   validate only: the same report and exit code, and\n"
    "                            nothing written (no database, no side file)\n"
    "  --withdraw-missing        withdraw the rows of the database the file lacks\n"
    "                            (as sync does): kept, never sent, back when a file\n"
    "                            has them again\n"
    "  --max-withdraw N|P%       refuse the file (exit 2) if it would withdraw more\n"
    "                            (default " RECONCILE_MAX_WITHDRAW_DEFAULT ")\n"
    "  --quiet                   the summary counts only: no line per unknown column\n"
    "                            or invalid row (they are debug events under\n"
    "                            --log-format json)\n" CLI_CONFIG_HELP CLI_LOG_FORMAT_HELP
    "  -h, --help                show this help\n";

static void usage(FILE *f)
{
	fputs(import_usage_head, f);
	fputs(import_options_help, f);
	fputs(import_usage_tail, f);
}

#define MAX_REASONS 20

int max_withdraw_option(const char *arg, struct withdraw_limit *l)
{
	char why[128];

	if (withdraw_limit_parse(arg, l, why, sizeof(why)) < 0)
		return error("option '--max-withdraw': %s", why);
	return 0;
}

/* What import's own options fill in. */
struct import_args {
	struct import_options *o;
	struct withdraw_limit wl; /* --max-withdraw; o->withdraw points here when asked */
};

/* import's own options: --quiet, --check, the withdrawals and the import options (csv_import.h). */
static int import_apply(void *ctx, int c, const char *arg)
{
	struct import_args *a = ctx;
	struct import_options *o = a->o;

	switch (c) {
	case 'c':
		return cli_set_flag(&o->check);
	case 'q':
		return cli_set_flag(&o->quiet);
	case 'W':
		o->withdraw = &a->wl;
		return 1;
	case 'M':
		return max_withdraw_option(arg, &a->wl) < 0 ? -1 : 1;
	default:
		return import_option_apply(o, c, arg);
	}
}

static int import_check(void *ctx)
{
	return cmd_import_options_finish(((struct import_args *)ctx)->o);
}

/* The command's own options (cmd.h: the config file reads them too). */
const struct option cmd_import_options[] = {
    {"db", required_argument, NULL, 'd'},
    {"quiet", no_argument, NULL, 'q'},
    {"check", no_argument, NULL, 'c'},
    {"withdraw-missing", no_argument, NULL, 'W'},
    {"max-withdraw", required_argument, NULL, 'M'},
    CMD_OPTIONS_END,
};

int cmd_import(int argc, char **argv)
{
	struct option *longopts = cli_options_merge(cmd_import_options, import_long_options, NULL);
	struct import_options o = {.max_reasons = MAX_REASONS};
	struct writer w = WRITER_INIT;
	struct import_stats stats;
	struct cmd_common co = {DEFAULT_DB_PATH, usage, 0, import_check};
	struct store *check_st = NULL;
	struct import_args a = {&o, {0, 0, 0}};
	struct csv_input in = CSV_INPUT_INIT;
	int r, ret = EXIT_USAGE, signals_set = 0;

	withdraw_limit_init(&a.wl);
	r = cmd_read_import_options(&co, argc, argv, longopts, import_apply, &a, &o);
	if (r != CMD_OPTIONS_READ) {
		ret = r;
		goto out;
	}
	if (optind != argc - 1) {
		error(optind == argc
			  ? "import needs a CSV file; see 'finch-onboard import --help'"
			  : "import takes one CSV file; see 'finch-onboard import --help'");
		goto out;
	}
	/* SIGINT/SIGTERM roll the import back: exit 5, the database as it was */
	if (signals_install() < 0)
		goto out;
	signals_set = 1;
	/*
	 * The file's first bytes before the lock (csv_input.h; issue 20, item
	 * 2): a FIFO planted in the drop folder that sends nothing must not
	 * keep every other writer out
	 */
	r = csv_input_open(&in, argv[optind], o.read_timeout_ms, o.read_timeout);
	if (r < 0) {
		ret = r == -2 ? EXIT_INTERRUPTED : EXIT_USAGE;
		goto out;
	}
	if (o.check) {
		/*
		 * validated into a copy of --db in memory, so each row counts as
		 * the import would count it: no lock, nothing written, nothing beside
		 */
		if (store_open_copy(co.db, &check_st) < 0)
			goto out;
	} else {
		ret = writer_open(&w, co.db, 0);
		if (ret != EXIT_OK)
			goto out;
	}
	r = csv_import_input(o.check ? check_st : w.st, &in, &o, &stats);
	ret = r == -2 ? EXIT_INTERRUPTED : EXIT_USAGE;
	if (r < 0)
		goto out;
	if (stats.invalid > (int64_t)o.max_reasons && !o.quiet)
		notice("rows_invalid",
		       "... and %lld more invalid rows (see 'finch-onboard export --state "
		       "invalid')",
		       (long long)(stats.invalid - (int64_t)o.max_reasons));
	csv_import_print_summary(stdout, o.check ? "checked" : "imported", argv[optind], &stats);
	if (cmd_sandbox_warnings(o.check ? check_st : w.st, &stats) < 0)
		goto out;
	ret = stats.invalid ? EXIT_ROWS : EXIT_OK;
out:
	store_close(check_st);
	writer_close(&w);
	csv_input_close(&in);
	if (signals_set)
		signals_restore();
	import_options_release(&o);
	free(longopts);
	return ret;
}
