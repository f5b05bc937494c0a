/*
 * cmd_export.c: `finch-onboard export`, the results of a batch as CSV or
 * JSON Lines, to standard output or atomically to a file.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "base/cli.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "output/export.h"
#include "output/outpath.h"
#include "store/store.h"
#include "store/store_report.h"
#include "base/util.h"

static const char export_usage[] =
    "usage: finch-onboard export [--db PATH] [--format csv|jsonl] [--out FILE|-]\n"
    "                            [--state LIST] [--since TIME] [--raw] [--bom|--no-bom]\n"
    "                            [--columns LIST] [--config FILE]\n"
    "\n"
    "Writes one line per customer: customer_id, customer_name, status, session_id,\n"
    "connect_url, connection_id, expires_at, attempts, http_status, finch_code,\n"
    "error, updated_at, next_attempt_at, retry_until, customer_email, changed,\n"
    "withdrawn, connection_status, connected_at.\n"
    "\n"
    "  --db PATH          the database (default " DEFAULT_DB_PATH ")\n"
    "  --format FORMAT    csv (RFC 4180, the default) or jsonl (one JSON object a line)\n"
    "  --out FILE         write FILE atomically with mode 0600; '-' (the default)\n"
    "                     writes to standard output\n"
    "  --state LIST       only rows in these states or connection statuses, e.g.\n"
    "                     created,exists or reauth,disconnected (connection:pending:\n"
    "                     the connection status; pending alone is the state)\n"
    "  --since TIME       only rows updated after TIME: an ISO 8601 time\n"
    "                     (2026-11-28T02:00:00Z) or a duration before now (24h)\n"
    "  --columns LIST     choose and order the columns: any of the above, products,\n"
    "                     redirect_uri, minutes_to_expire, sandbox, manual,\n"
    "                     integration_provider, integration_auth_method, and the\n"
    "                     columns an import kept, e.g.\n"
    "                     customer_id,customer_email,connect_url,'Account Owner'\n"
    "                     (a name with a comma in double quotes, as in a CSV:\n"
    "                     'customer_id,\"Owner, Primary\"'; in the config file\n"
    "                     without the shell's quotes: columns = a,Account Owner)\n"
    "  --raw              CSV: do not neutralise formula cells (= + - @, also after\n"
    "                     leading blanks or in fullwidth; TAB, CR); JSON Lines is\n"
    "                     never altered\n"
    "  --bom, --no-bom    start a CSV with a UTF-8 BOM, so Excel reads it as UTF-8\n"
    "                     (default: yes for --out FILE, no for standard "
    "output)\n" CLI_CONFIG_HELP CLI_LOG_FORMAT_HELP "  -h, --help         show this help\n";

static void usage(FILE *f)
{
	fputs(export_usage, f);
}

/* export's own options: --state, --since and the export's (common.h). */
static int export_apply(void *ctx, int c, const char *arg)
{
	struct export_options *o = ctx;

	switch (c) {
	case 's':
		return export_state_parse(arg, &o->filter) < 0 ? -1 : 1;
	case 'S':
		return export_parse_since(arg, clock_now_ms(), &o->filter.since_ms) < 0 ? -1 : 1;
	default:
		return cmd_export_option(o, c, arg);
	}
}

/* The command's own options (cmd.h: the config file reads them too). */
const struct option cmd_export_options[] = {
    {"db", required_argument, NULL, 'd'},
    {"state", required_argument, NULL, 's'},
    {"since", required_argument, NULL, 'S'}, /* and the export's: common.h */
    CMD_OPTIONS_END,
};

int cmd_export(int argc, char **argv)
{
	struct option *longopts =
	    cli_options_merge(cmd_export_options, cmd_export_long_options, NULL);
	struct export_options o = {EXPORT_CSV,	    "-",  {0, 0, 0}, 0,
				   EXPORT_BOM_AUTO, NULL, NULL,	     {NULL, 0, 0, NULL}};
	struct cmd_common co = {DEFAULT_DB_PATH, usage, 1, NULL};
	struct store *st = NULL;
	struct outpath op;
	int64_t rows = 0;
	int ret;

	ret = cmd_read_options_only(&co, argc, argv, longopts, export_apply, &o);
	if (ret != CMD_OPTIONS_READ)
		goto out;
	ret = EXIT_USAGE;
	if (cmd_db_exists(co.db) < 0)
		goto out;
	o.db = co.db;
	if (outpath_check(o.out_path, co.db, NULL, &op) < 0)
		goto out;
	outpath_release(&op);
	if (store_open_readonly(co.db, &st) < 0)
		goto out;
	if (export_to_path(st, &o, &rows) < 0)
		goto out;
	if (strcmp(o.out_path, "-"))
		notice("export_done", "exported %lld rows to '%s'", (long long)rows, o.out_path);
	ret = EXIT_OK;
out:
	export_columns_release(&o.columns);
	store_close(st);
	free(longopts);
	return ret;
}
