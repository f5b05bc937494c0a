/*
 * cmd.h: the subcommands, one cmd_<name>() each (git's builtin/ layout),
 * and the exit codes they share (base/exitcode.h). main() only picks one.
 */
#ifndef FINCH_CMD_H
#define FINCH_CMD_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "base/exitcode.h"

#define DEFAULT_DB_PATH "onboard.db"

struct withdraw_limit;
/* --max-withdraw N|P% into *l (import and sync); -1 after an error naming the option. */
int max_withdraw_option(const char *arg, struct withdraw_limit *l);

/* Retention: sync --keep-history's default, and the window of sync and prune. */
#define KEEP_HISTORY_DEFAULT	"90d"
#define KEEP_HISTORY_DEFAULT_MS (90 * 24 * 3600 * 1000LL)
struct history_window {
	int64_t ms;	  /* keep this long; 0: keep everything (forever) */
	const char *text; /* as given, for messages: "90d", "forever" */
};
/*
 * --keep-history (allow_forever: "forever" or 0 keeps everything) and
 * --older-than DURATION into *w, with its unit (duration_option()): 0, or
 * -1 after an error naming the option.
 */
int history_option(const char *name, const char *arg, int allow_forever, struct history_window *w);
struct store;
/*
 * Deletes the history older than w (store_prune()) unless w keeps
 * everything, and tells what: a line on info when something was deleted
 * (info NULL: never) and, under --log-format json, a "pruned" event each
 * time. Commits; 0, or -1 after an error.
 */
int cmd_prune_history(struct store *st, const struct history_window *w, FILE *info);

/* Each takes argv[0] = the subcommand's name and returns an exit code. */
int cmd_import(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_retry(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_webhooks(int argc, char **argv);
int cmd_connections(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_journal(int argc, char **argv);

/* Each command's own getopt_long() table, for the config file (config.h). */

extern const struct option cmd_import_options[], cmd_run_options[], cmd_status_options[],
    cmd_export_options[], cmd_retry_options[], cmd_sync_options[], cmd_connections_options[],
    cmd_webhooks_options[], cmd_prune_options[], cmd_journal_options[];

#endif
