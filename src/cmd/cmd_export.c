/*
 * cmd_export.c: `finch-onboard export`, the results of a batch as CSV or
 * JSON Lines, to standard output or atomically to a file.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "cmd/cmd.h"
#include "output/export.h"
#include "output/outpath.h"
#include "store/store.h"
#include "base/util.h"

static const char export_usage[] =
    "usage: finch-onboard export [--db PATH] [--format csv|jsonl] [--out FILE|-]\n"
    "                            [--state LIST] [--since TIME] [--raw] [--bom|--no-bom]\n"
    "\n"
    "Writes one line per customer: customer_id, customer_name, status, session_id,\n"
    "connect_url, connection_id, expires_at, attempts, http_status, finch_code,\n"
    "error, updated_at.\n"
    "\n"
    "  --db PATH          the database (default " DEFAULT_DB_PATH ")\n"
    "  --format FORMAT    csv (RFC 4180, the default) or jsonl (one JSON object a line)\n"
    "  --out FILE         write FILE atomically with mode 0600; '-' (the default)\n"
    "                     writes to standard output\n"
    "  --state LIST       only rows in these states, e.g. created,exists\n"
    "  --since TIME       only rows updated after TIME: an ISO 8601 time\n"
    "                     (2026-11-28T02:00:00Z) or a duration before now (24h)\n"
    "  --raw              CSV: do not neutralise formula cells (= + - @, also after\n"
    "                     leading blanks or in fullwidth; TAB, CR); JSON Lines is\n"
    "                     never altered\n"
    "  --bom, --no-bom    start a CSV with a UTF-8 BOM, so Excel reads it as UTF-8\n"
    "                     (default: yes for --out FILE, no for standard "
    "output)\n" CLI_LOG_FORMAT_HELP "  -h, --help         show this help\n";

int cmd_export(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"format", required_argument, NULL, 'f'},
	    {"out", required_argument, NULL, 'o'},
	    {"state", required_argument, NULL, 's'},
	    {"since", required_argument, NULL, 'S'},
	    {"raw", no_argument, NULL, 'r'},
	    {"bom", no_argument, NULL, 'B'},
	    {"no-bom", no_argument, NULL, 'N'},
	    CLI_LOG_FORMAT_OPTION,
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct export_options o = {EXPORT_CSV, "-", {0, 0}, 0, EXPORT_BOM_AUTO, NULL, NULL};
	const char *db = DEFAULT_DB_PATH;
	struct store *st = NULL;
	struct outpath op;
	int64_t rows = 0;
	int c, ret = EXIT_USAGE;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'f':
			if (export_format_parse(optarg, &o.format) < 0) {
				error("--format: unknown format '%s' (csv or jsonl)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'o':
			if (!*optarg) {
				error("--out: empty file name (use '-' for standard output)");
				return EXIT_USAGE;
			}
			o.out_path = optarg;
			break;
		case 's':
			if (state_mask_parse(optarg, &o.filter.state_mask) < 0)
				return EXIT_USAGE;
			break;
		case 'S':
			if (export_parse_since(optarg, clock_now_ms(), &o.filter.since_ms) < 0)
				return EXIT_USAGE;
			break;
		case 'r':
			o.raw = 1;
			break;
		case 'B':
			o.bom = EXPORT_BOM_ALWAYS;
			break;
		case 'N':
			o.bom = EXPORT_BOM_NEVER;
			break;
		case CLI_OPT_LOG_FORMAT:
			if (cli_log_format(optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			fputs(export_usage, stdout);
			return EXIT_OK;
		default:
			cli_bad_option(c, argv);
			fputs(export_usage, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		error("unexpected argument '%s'", argv[optind]);
		fputs(export_usage, stderr);
		return EXIT_USAGE;
	}
	/* Reading must not create an empty database by mistake. */
	if (access(db, F_OK) < 0) {
		error_errno("cannot open database '%s'", db);
		return EXIT_USAGE;
	}
	o.db = db;
	if (outpath_check(o.out_path, db, NULL, &op) < 0)
		return EXIT_USAGE;
	outpath_release(&op);
	if (store_open_readonly(db, &st) < 0)
		goto out;
	if (export_to_path(st, &o, &rows) < 0)
		goto out;
	if (strcmp(o.out_path, "-"))
		fprintf(stderr, "exported %lld rows to '%s'\n", (long long)rows, o.out_path);
	ret = EXIT_OK;
out:
	store_close(st);
	return ret;
}
