/*
 * config.h: the config file, an INI file read by libinih, so a cron line
 * stays one line.
 *
 *	[common]                    ; every command
 *	db = /var/lib/finch-onboard/onboard.db
 *	[import]                    ; `import` only (and [run], [sync], [export]...)
 *	column = customer_id = Account ID
 *	ignore_column = Notes, Region
 *
 * A key is a long option of the command without its dashes ('_' and '-'
 * alike); a flag takes true or false; --column, --ignore-column,
 * --keep-column and retry's --customer may be repeated, and
 * ignore_column and keep_column take a comma-separated list. Precedence is
 * clig.dev's and git's: the command line, then the environment
 * (FINCH_BASE_URL), then the file: the file's settings go before the
 * command line's arguments (a later option wins), and a key whose
 * variable is set is left out. A [common] key applies to the commands that
 * take it. Errors name the file, the line and the key: an unknown key or
 * section (with "did you mean"), a key set twice, a client_secret (the
 * secret is never read from this file: client_secret_file), a file others
 * can write or another user owns.
 */
#ifndef FINCH_CONFIG_H
#define FINCH_CONFIG_H

#include <stddef.h>

struct config_entry {
	char *section; /* "common", "import"... */
	char *key;     /* the option's name: "client-secret-file" */
	char *value;   /* as written, trimmed */
	int line;
};

struct config {
	char *path; /* NULL: no config file */
	struct config_entry *e;
	size_t n;
};

/*
 * Reads path into cfg, checking every section, key and the file's owner
 * and mode. Returns 0, or -1 after reporting each problem (FILE:LINE: key).
 */
int config_load(struct config *cfg, const char *path);
void config_release(struct config *cfg);

/*
 * The config file a command line names: the last "--config FILE" or
 * "--config=FILE" before a "--" (removed from argv, *argc updated), else
 * $FINCH_ONBOARD_CONFIG, else NULL. *from says which ("command line" or
 * "env:FINCH_ONBOARD_CONFIG"). -1 after reporting a --config without a
 * value.
 */
int config_find(int *argc, char **argv, const char **path, const char **from);

/*
 * Runs fn (the command name's cmd_<name>()) with the config file's settings
 * for it put before the command line's arguments. Returns fn's exit code,
 * or EXIT_USAGE when the config file is refused.
 */
int config_run_command(const char *name, int (*fn)(int argc, char **argv), int argc, char **argv);

/*
 * Checks the values of every setting command name would use (every
 * command's when name is NULL): the settings of cfg (may be NULL) and then
 * argv[1..argc) (argv[0] is the command's name; ignored when name is
 * NULL), read by the command itself with cmd_options_check_only set, so a
 * bad value is refused exactly as the command refuses it, naming the
 * file, the line and the key. Stops at the first command that refuses
 * one. Returns EXIT_OK or the command's exit code (EXIT_USAGE).
 */
int config_check(const struct config *cfg, const char *name, int argc, char **argv);

/*
 * The arguments the entries of cfg that apply to command name stand for,
 * in order ("--db=x.db", "--quiet"), into a malloc'd array of malloc'd
 * strings (*n of them); *line gets each one's entry. Keys whose
 * environment variable is set are left out. Exposed for tests.
 */
char **config_args(const struct config *cfg, const char *name, size_t *n,
		   const struct config_entry ***entries);

/* The name of the i-th command that takes options ("import", ...), or NULL past the last. */
const char *config_command_name(size_t i);
/* Command name's getopt_long() table, merged and malloc'd (the caller frees), or NULL. */
struct option *config_command_options(const char *name);
/* 1 if option key ("keep-column") may be given more than once. */
int config_key_repeatable(const char *key);

#endif
