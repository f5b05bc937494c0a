/*
 * cli.h: what every subcommand's option parsing shares.
 */
#ifndef FINCH_CLI_H
#define FINCH_CLI_H

#include <getopt.h>

#include "base/log.h"

/*
 * Option codes (struct option's val). A command's getopt_long() table is
 * its own fragment merged with shared ones (cli_options_merge()), so a code
 * must be unique across every fragment a command merges, or getopt_long()
 * hands one option over as another (a prune code equal to
 * CLI_OPT_LOG_FORMAT read --log-format as --older-than). The ranges:
 *   letters ('d', 'h', ...)   --db, --help and a command's own options,
 *                             distinct from the fragments' letters it merges
 *   0x100-0x1ff               finch-mock's own (a program of its own)
 *   0x700-0x7ff               the export's fragment, CMD_OPT_* (cmd/common.h)
 *   0x800-0x8ff               sync's own, SYNC_OPT_* (cmd/cmd_sync.c)
 *   0x900                     CLI_OPT_LOG_FORMAT, below, in every command
 *   0xa00-0xaff               prune's own, PRUNE_OPT_* (cmd/cmd_prune.c)
 *   0x1000-0x1fff             the run fragment, RUN_OPT_* (run/options.h)
 *   0x2000-0x2fff             the import fragment, IMPORT_OPT_* (csv/csv_import.h)
 * A new command's own codes take the next free 0x100 block. test_config's
 * option_codes_unique merges every command's table (config.c) and fails on
 * a code or a name given twice.
 */

/*
 * Concatenates getopt_long() tables, each ending with a zero entry; the list
 * of tables ends with NULL. Returns a malloc'd table; the caller frees.
 */
struct option *cli_options_merge(const struct option *first, ...);

/*
 * Reports what getopt_long() (with a leading ':' in its optstring) refused:
 * c is ':' for a missing value, '?' for an unknown option.
 */
void cli_bad_option(int c, char **argv);

/*
 * An option that is a flag: sets *flag to 1, and returns 1, what a
 * command's function for its own options returns for an option it took.
 */
int cli_set_flag(int *flag);

/* After a usage error: the usage text on stderr, under text logs only (a JSON log stays JSON). */
void cli_usage_error(const char *usage);

/*
 * --log-format for the commands that take no run options (import, status,
 * export, retry): under json every message on stderr is one JSON object
 * (log.h). Put CLI_LOG_FORMAT_OPTION in the getopt table and call
 * cli_log_format() for CLI_OPT_LOG_FORMAT; it returns 0 or -1 after an error.
 */
#define CLI_OPT_LOG_FORMAT 0x900
#define CLI_LOG_FORMAT_OPTION                                                                      \
	{                                                                                          \
		"log-format", required_argument, NULL, CLI_OPT_LOG_FORMAT                          \
	}
#define CLI_LOG_FORMAT_HELP                                                                        \
	"  --log-format FORMAT  text (default) or json: one JSON object per line on stderr\n"
int cli_log_format(const char *arg);

/*
 * The value of --log-format, "text" or "json", into *out (run's options keep
 * it until the log is set up). 0, or -1 after an error naming the option.
 */
int cli_log_format_parse(const char *arg, enum log_format *out);

/*
 * Every command but config reads its settings from --config FILE (else
 * $FINCH_ONBOARD_CONFIG) before its own options (cmd/config.h); its --help
 * says so with this line, which the completions follow.
 */
#define CLI_CONFIG_HELP                                                                            \
	"  --config FILE        settings from an INI file (default $FINCH_ONBOARD_CONFIG)\n"

/*
 * Looks through argv (up to a "--") for "--log-format json" or
 * "--log-format=json" before any option is parsed, so that the messages of
 * option parsing itself (an unknown option, a bad value, a mistyped
 * command) are JSON too under cron. The command's own parsing still checks
 * the option. Called once by main().
 */
void cli_log_format_early(int argc, char **argv);

/*
 * Says that the argument arg (the very string, compared by address) came
 * from origin ("FILE:LINE: key"), as a config file's settings do: while
 * getopt_long() hands it over through cli_getopt(), every message starts
 * with origin, so an error names the file, the line and the key. origin is
 * copied; cli_arg_origins_clear() forgets them all.
 */
void cli_arg_origin(const char *arg, const char *origin);
void cli_arg_origins_clear(void);

/*
 * The origin of the argument an option's value (getopt's optarg) points
 * into, or NULL: for a check made once every option is read, whose error
 * must still name the config file's line and key (util_set_context()).
 */
const char *cli_value_origin(const char *value);

/* getopt_long() that sets the message context of cli_arg_origin() for each option. */
int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts);

#endif
