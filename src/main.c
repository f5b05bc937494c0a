/*
 * main.c: finch-onboard's entry point. It only picks the subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "base/cli.h"
#include "cmd/cmd.h"
#include "cmd/config.h"
#include "base/signals.h"
#include "base/util.h"
#include "base/version.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
    {"import", cmd_import, "validate a CSV of employers and load it into the database"},
    {"run", cmd_run, "create connect sessions for every pending row"},
    {"status", cmd_status, "show counts per state, failures and the last import and run"},
    {"export", cmd_export, "write results as CSV or JSON Lines"},
    {"retry", cmd_retry, "re-queue failed rows for the next run"},
    {"sync", cmd_sync, "import, run and export in one go: the nightly job"},
    {"config", cmd_config, "print the settings in force and where each comes from"},
    {"connections", cmd_connections, "import the app's record of who connected"},
    {"webhooks", cmd_webhooks, "receive Finch's webhooks, or verify a saved one"},
    {"prune", cmd_prune, "delete the history older than a window (retention)"},
    {"journal", cmd_journal, "show the answers a stopped run kept, or save them as CSV"},
};

/*
 * What the command wrote to standard output must have reached it: a full
 * disk or /dev/full is a failure even when the command succeeded (git's
 * run_builtin() checks the same). A command that already failed has said
 * why and keeps its code. Returns the exit code.
 */
static int check_stdout(int code)
{
	if (code != EXIT_OK && code != EXIT_ROWS)
		return code; /* reported already, perhaps after closing stdout */
	if (fflush(stdout) == 0 && !ferror(stdout))
		return code;
	error_errno("cannot write to standard output");
	return EXIT_USAGE;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: finch-onboard <command> [options]\n"
		     "       finch-onboard --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n'finch-onboard <command> --help' describes a command's options.\n"
		     "Credentials come from FINCH_CLIENT_ID and FINCH_CLIENT_SECRET.\n"
		     "Every command takes --config FILE (else $FINCH_ONBOARD_CONFIG): settings\n"
		     "from an INI file, below the environment and the command line.\n");
}

int main(int argc, char **argv)
{
	util_set_progname("finch-onboard");
	signals_ignore_file_size();
	cli_log_format_early(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return check_stdout(EXIT_OK);
	}
	if (!strcmp(argv[1], "--version")) {
		version_print(stdout, "finch-onboard", NULL);
		return check_stdout(EXIT_OK);
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return check_stdout(commands[i].fn == cmd_config
						? cmd_config(argc - 1, argv + 1)
						: config_run_command(commands[i].name,
								     commands[i].fn, argc - 1,
								     argv + 1));
	error("'%s' is not a command; see 'finch-onboard --help'", argv[1]);
	return EXIT_USAGE;
}
