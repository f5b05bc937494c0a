/*
 * cmd_prune.c: `finch-onboard prune`, retention: deletes the attempts and
 * runs older than a window, keeping what the rows still need (store_prune.h,
 * store_prune()); and what `sync --keep-history` shares with it.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "base/cli.h"
#include "base/log.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "run/options.h"
#include "store/store.h"
#include "store/store_prune.h"
#include "store/writer.h"

static const char prune_usage[] =
    "usage: finch-onboard prune --older-than DURATION [--db PATH] [--dry-run]\n"
    "                           [--config FILE]\n"
    "\n"
    "Deletes the attempts and runs that started longer ago than DURATION (90d,\n"
    "36h), in one transaction, and says how many. It never deletes a row's\n"
    "latest attempt, an attempt holding a session_id or connection_id that a\n"
    "row still shows, a run that a kept attempt references, the last run or\n"
    "the last successful one: status, export and the links stay as they were,\n"
    "and the metrics' counters go on from their totals. sync does the same\n"
    "after each night's run (its keep-history, default " KEEP_HISTORY_DEFAULT ").\n"
    "\n"
    "  --db PATH              the database (default " DEFAULT_DB_PATH ")\n"
    "  --older-than DURATION  the window to keep, with its unit: 90d, 36h, 30m\n"
    "  --dry-run              count what would be deleted; change nothing\n" CLI_CONFIG_HELP
	CLI_LOG_FORMAT_HELP "  -h, --help             show this help\n";

static void usage(FILE *f)
{
	fputs(prune_usage, f);
}

/* Longest window: 100 years, far beyond any database's life. */
#define HISTORY_MAX_MS (36500 * 24 * 3600000LL)

int history_option(const char *name, const char *arg, int allow_forever, struct history_window *w)
{
	if (allow_forever && !strcmp(arg, "forever")) {
		w->ms = 0;
		w->text = arg;
		return 0;
	}
	if (duration_option(name, arg, allow_forever, HISTORY_MAX_MS,
			    allow_forever ? "90d, 36h or forever" : "90d, 36h or 30m", &w->ms) < 0)
		return -1;
	w->text = w->ms ? arg : "forever";
	return 0;
}

/* Tells what a prune did (or, dry, would do): a line on info, a "pruned" event in JSON logs. */
static void tell_pruned(const struct prune_stats *p, const struct history_window *w,
			int64_t cutoff_ms, int dry_run, FILE *info)
{
	char cutoff[32];

	format_iso8601_ms(cutoff_ms, cutoff, sizeof(cutoff));
	if (info)
		fprintf(info,
			"%s%" PRId64 " attempt%s and %" PRId64 " run%s older than %s (started "
			"before %s), %" PRId64 " import%s and %" PRId64 " webhook deliver%s%s\n",
			dry_run ? "dry run: prune would delete " : "pruned: deleted ", p->attempts,
			p->attempts == 1 ? "" : "s", p->runs, p->runs == 1 ? "" : "s", w->text,
			cutoff, p->imports, p->imports == 1 ? "" : "s", p->webhook_events,
			p->webhook_events == 1 ? "y" : "ies",
			dry_run ? "; nothing was deleted" : "");
	if (log_get_format() == LOG_FORMAT_JSON)
		log_event(LOG_INFO, "pruned",
			  dry_run ? "counted the history older than the window; nothing was deleted"
				  : "deleted the history older than the window",
			  LOG_I("attempts", p->attempts), LOG_I("runs", p->runs),
			  LOG_I("imports", p->imports), LOG_I("webhook_events", p->webhook_events),
			  LOG_S("older_than", w->text), LOG_S("cutoff", cutoff),
			  LOG_I("dry_run", dry_run), LOG_END);
}

/* Prunes st to w; tells it on info if always, or if something was deleted. */
static int prune_window(struct store *st, const struct history_window *w, FILE *info, int always)
{
	int64_t cutoff = clock_now_ms() - w->ms;
	struct prune_stats p;

	if (!w->ms)
		return 0;
	if (store_prune(st, cutoff, &p) < 0)
		return -1;
	tell_pruned(&p, w, cutoff, 0,
		    always || p.attempts || p.runs || p.imports || p.webhook_events ? info : NULL);
	return 0;
}

int cmd_prune_history(struct store *st, const struct history_window *w, FILE *info)
{
	return prune_window(st, w, info, 0);
}

/* Above CLI_OPT_LOG_FORMAT (0x900), below RUN_OPT_FIRST and IMPORT_OPT_FIRST. */
enum { PRUNE_OPT_OLDER_THAN = 0xa00, PRUNE_OPT_DRY_RUN };

struct prune_args {
	struct history_window w;
	int given; /* --older-than was given */
	int dry_run;
};

static int prune_apply(void *ctx, int c, const char *arg)
{
	struct prune_args *a = ctx;

	switch (c) {
	case PRUNE_OPT_OLDER_THAN:
		a->given = 1;
		return history_option("older-than", arg, 0, &a->w) < 0 ? -1 : 1;
	case PRUNE_OPT_DRY_RUN:
		return cli_set_flag(&a->dry_run);
	default:
		return 0;
	}
}

/* The command's own options (cmd.h: the config file reads them too). */
const struct option cmd_prune_options[] = {
    {"db", required_argument, NULL, 'd'},
    {"older-than", required_argument, NULL, PRUNE_OPT_OLDER_THAN},
    {"dry-run", no_argument, NULL, PRUNE_OPT_DRY_RUN},
    CMD_OPTIONS_END,
};

/*
 * A dry run only reads (store_open_readonly(): no lock, the file's bytes
 * unchanged), so it may run beside a sync; a row that sync has in flight
 * is counted as kept, as the prune would keep it.
 */
static int prune_dry_run(const char *db, const struct history_window *w)
{
	struct store *st = NULL;
	struct prune_stats p;
	int64_t cutoff = clock_now_ms() - w->ms;
	int ret = EXIT_USAGE;

	if (cmd_db_exists(db) < 0 || store_open_readonly(db, &st) < 0 ||
	    store_prune_count(st, cutoff, &p) < 0)
		goto out;
	tell_pruned(&p, w, cutoff, 1, stdout);
	ret = EXIT_OK;
out:
	store_close(st);
	return ret;
}

int cmd_prune(int argc, char **argv)
{
	struct prune_args a = {{0, NULL}, 0, 0};
	struct cmd_common co = {DEFAULT_DB_PATH, usage, 1, NULL};
	struct writer w = WRITER_INIT;
	int ret;

	ret = cmd_read_options_only(&co, argc, argv, cmd_prune_options, prune_apply, &a);
	if (ret != CMD_OPTIONS_READ)
		return ret;
	if (!a.given) {
		error("--older-than DURATION is required (the history to keep, e.g. 90d); see "
		      "'finch-onboard prune --help'");
		return EXIT_USAGE;
	}
	if (a.dry_run)
		return prune_dry_run(co.db, &a.w);
	/* a writer: the lock, then the recovery of a crashed writer's rows, before any delete */
	ret = writer_open(&w, co.db, WRITER_MUST_EXIST);
	if (ret != EXIT_OK)
		goto out;
	ret = prune_window(w.st, &a.w, stdout, 1) < 0 ? EXIT_USAGE : EXIT_OK;
out:
	writer_close(&w);
	return ret;
}
