/*
 * cmd.h: the subcommands, one cmd_<name>() each (git's builtin/ layout),
 * and the exit codes they share. main() only picks one.
 */
#ifndef FINCH_CMD_H
#define FINCH_CMD_H

/* Exit codes; the README documents them. */
enum exit_code {
	EXIT_OK = 0,	      /* all good */
	EXIT_ROWS = 1,	      /* finished, but some rows are invalid or failed */
	EXIT_USAGE = 2,	      /* usage or input error */
	EXIT_AUTH = 3,	      /* authentication rejected */
	EXIT_LOCKED = 4,      /* the database is in use by another run */
	EXIT_INTERRUPTED = 5, /* interrupted by a signal */
	EXIT_UNREACHABLE = 6, /* the API could not be reached; nothing was marked failed */
	EXIT_STOPPED = 7,     /* stopped early at the API's request; the next run resumes */
};

#define DEFAULT_DB_PATH "onboard.db"

/* Each takes argv[0] = the subcommand's name and returns an exit code. */
int cmd_import(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_retry(int argc, char **argv);
int cmd_sync(int argc, char **argv);

#endif
