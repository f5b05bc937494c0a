/*
 * common.h: what the subcommands share when they read their options: the
 * options every command reads the same way (--db, --log-format, --help and
 * what getopt_long() refused), the export's options that `export` and `sync`
 * both take, and the check that a command which only reads a database does
 * not create one.
 *
 * A command hands its getopt_long() table and a function for its own
 * options to cmd_read_options(), which takes the common ones itself:
 *
 *	struct cmd_common co = {DEFAULT_DB_PATH, usage, 0, NULL};
 *
 *	ret = cmd_read_options(&co, argc, argv, longopts, apply, &my_options);
 *	if (ret != CMD_OPTIONS_READ)
 *		return ret;	(EXIT_OK after --help, else EXIT_USAGE)
 *	... argv[optind] is the first operand, co.db the database
 */
#ifndef FINCH_CMD_COMMON_H
#define FINCH_CMD_COMMON_H

#include <getopt.h>
#include <stdio.h>

#include "base/cli.h"
#include "base/strbuf.h"

#include "csv/csv_import.h"
#include "output/export.h"
#include "store/store.h"
#include "store/store_import.h"
#include "store/store_queue.h"

struct cmd_common {
	const char *db;		 /* --db PATH; the default until given */
	void (*usage)(FILE *f);	 /* prints the command's help */
	int usage_after_refusal; /* 1: a refused option also prints the help on stderr */
	/*
	 * NULL, or what checks the options once all are read (--products
	 * after every --allow-product): 0, or -1 after reporting. Called by
	 * cmd_read_options() under cmd_options_check_only only; the command
	 * calls it itself otherwise.
	 */
	int (*check)(void *ctx);
};

/* What cmd_read_options() returns when every option was read. */
#define CMD_OPTIONS_READ (-1)

/*
 * Set by `finch-onboard config` (config_check()): cmd_read_options() reads
 * and checks every option (and co->check), then returns EXIT_OK (or
 * EXIT_USAGE) instead of CMD_OPTIONS_READ, so the command stops before it
 * opens, reads or sends anything.
 */
extern int cmd_options_check_only;

/*
 * The end of a command's option table: --log-format and --help, which
 * cmd_read_options() reads itself, and the terminator.
 */
// clang-format off
#define CMD_OPTIONS_END \
	CLI_LOG_FORMAT_OPTION, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}
// clang-format on

/*
 * Reads the options of argv (getopt_long() with ":h", from argv[1]). Each
 * goes first to apply(ctx, c, arg), which returns 1 if it took option c,
 * 0 if c is not one of its own, or -1 after an error (reported); then to
 * what every command reads the same way: 'd' (--db, into co->db),
 * CLI_OPT_LOG_FORMAT, 'h' (--help: the usage on stdout), and an option
 * getopt_long() refused (reported, with the usage on stderr if
 * usage_after_refusal). Returns CMD_OPTIONS_READ when all are read (optind
 * is at the first operand), EXIT_OK after --help, or EXIT_USAGE after an
 * error.
 */
int cmd_read_options(struct cmd_common *co, int argc, char **argv, const struct option *longopts,
		     int (*apply)(void *ctx, int c, const char *arg), void *ctx);

/*
 * cmd_read_options() for a command whose one option of its own is a flag
 * (status's --json, journal's --csv): *set becomes 1 when the option whose
 * struct option val is code is given.
 */
int cmd_read_flag_options(struct cmd_common *co, int argc, char **argv,
			  const struct option *longopts, int code, int *set);

/*
 * import_options_finish(), and then: a --keep-column named like a column of
 * the export's own ("Status" is status) is refused, as --columns could never
 * reach it. Returns 0, or -1 after reporting.
 */
int cmd_import_options_finish(struct import_options *o);

/*
 * cmd_read_options() for a command that takes no operand: one after the
 * options is an error naming it (with the usage on stderr if
 * usage_after_refusal), and EXIT_USAGE.
 */
int cmd_read_options_only(struct cmd_common *co, int argc, char **argv,
			  const struct option *longopts,
			  int (*apply)(void *ctx, int c, const char *arg), void *ctx);

/*
 * cmd_read_options() for a command that imports (import, sync), then
 * cmd_import_options_finish(io): EXIT_USAGE when the import's options do
 * not hold together.
 */
int cmd_read_import_options(struct cmd_common *co, int argc, char **argv,
			    const struct option *longopts,
			    int (*apply)(void *ctx, int c, const char *arg), void *ctx,
			    struct import_options *io);

/*
 * The export's options, for `export` and `sync`: --format, --out, --raw,
 * --bom, --no-bom and --columns (into o->columns: the command releases it), a getopt_long() table
 * fragment (cli_options_merge()) ending with a zero entry. cmd_export_option() applies option c to
 * o: returns 1 if c was one of them, 0 if not, -1 after an error (reported).
 */
enum {
	CMD_OPT_FORMAT = 0x700, /* below RUN_OPT_FIRST and IMPORT_OPT_FIRST */
	CMD_OPT_OUT,
	CMD_OPT_RAW,
	CMD_OPT_BOM,
	CMD_OPT_NO_BOM,
	CMD_OPT_COLUMNS,
};
extern const struct option cmd_export_long_options[];
int cmd_export_option(struct export_options *o, int c, const char *arg);

/*
 * 0 if the database file db exists; else -1 after an error naming it.
 * Looking at a database must not create an empty one by mistake.
 */
int cmd_db_exists(const char *db);

/*
 * --reauthenticate[=WHICH] of sync and retry: REAUTH_NEEDED (arg NULL or
 * "needed": the connections whose status needs a new link), REAUTH_ALL
 * ("all"), or a config file's true or false. Returns 0, or -1 after an error naming the option.
 */
int cmd_reauth_scope(const char *arg, enum reauth_scope *scope);

/*
 * After an import that added or changed rows (s): warns when the database
 * mixes sandbox and production rows (one set of credentials cannot serve
 * both), and when more rows ask for sandbox=provider than Finch's provider
 * sandbox allows connections (FINCH_PROVIDER_SANDBOX_MAX). An import that
 * changed nothing says nothing again. Returns -1 only when the database
 * fails.
 */
int cmd_sandbox_warnings(struct store *st, const struct import_stats *s);

/* A throw-away copy of a database, for --dry-run. */
struct scratch_db {
	char dir[64]; /* "" when not created */
	struct strbuf path;
};

/*
 * Opens a copy of db (or an empty database if db does not exist) in a new
 * temporary folder. The copy is SQLite's own (VACUUM INTO), one read
 * transaction, so it is consistent whatever a writer does meanwhile; the
 * real database is opened read-only (store_open_readonly()), so its bytes,
 * mode and journal mode stay as they were, and an empty file stays empty.
 * A dry run then recovers it as the real command would
 * (writer_recover_copy(): the real database's answers journal included).
 */
int scratch_open(struct scratch_db *sc, const char *db, struct store **out);
/* Removes the copy and its folder. */
void scratch_remove(struct scratch_db *sc);

#endif
