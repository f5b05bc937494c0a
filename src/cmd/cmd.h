/*
 * cmd.h: the subcommands, one cmd_<name>() each (git's builtin/ layout),
 * and the exit codes they share (base/exitcode.h). main() only picks one.
 */
#ifndef FINCH_CMD_H
#define FINCH_CMD_H

#include "base/exitcode.h"

#define DEFAULT_DB_PATH "onboard.db"

/* Each takes argv[0] = the subcommand's name and returns an exit code. */
int cmd_import(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_retry(int argc, char **argv);
int cmd_sync(int argc, char **argv);

#endif
