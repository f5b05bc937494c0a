/*
 * cmd.h: the subcommands, one cmd_<name>() each (git's builtin/ layout),
 * and the exit codes they share (base/exitcode.h). main() only picks one.
 */
#ifndef FINCH_CMD_H
#define FINCH_CMD_H

#include <getopt.h>

#include "base/exitcode.h"

#define DEFAULT_DB_PATH "onboard.db"

struct withdraw_limit;
/* --max-withdraw N|P% into *l (import and sync); -1 after an error naming the option. */
int max_withdraw_option(const char *arg, struct withdraw_limit *l);

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

/* Each command's own getopt_long() table, for the config file (config.h). */

extern const struct option cmd_import_options[], cmd_run_options[], cmd_status_options[],
    cmd_export_options[], cmd_retry_options[], cmd_sync_options[], cmd_connections_options[],
    cmd_webhooks_options[];

#endif
