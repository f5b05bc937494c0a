/*
 * common.c: what the subcommands share when they read their options
 * (common.h).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "store/store.h"
#include "store/store_connections.h"
#include "store/store_import.h"
#include "store/store_queue.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "finch/validate.h"

int cmd_options_check_only;

int cmd_read_options(struct cmd_common *co, int argc, char **argv, const struct option *longopts,
		     int (*apply)(void *ctx, int c, const char *arg), void *ctx)
{
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, ":h", longopts)) != -1) {
		r = apply(ctx, c, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		switch (c) {
		case 'd':
			co->db = optarg;
			break;
		case CLI_OPT_LOG_FORMAT:
			if (cli_log_format(optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			co->usage(stdout);
			return EXIT_OK;
		default:
			cli_bad_option(c, argv);
			/* a JSON log stays JSON: no usage text in it */
			if (co->usage_after_refusal && log_get_format() == LOG_FORMAT_TEXT)
				co->usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (cmd_options_check_only)
		return co->check && co->check(ctx) < 0 ? EXIT_USAGE : EXIT_OK;
	return CMD_OPTIONS_READ;
}

int cmd_read_options_only(struct cmd_common *co, int argc, char **argv,
			  const struct option *longopts,
			  int (*apply)(void *ctx, int c, const char *arg), void *ctx)
{
	int ret = cmd_read_options(co, argc, argv, longopts, apply, ctx);

	if (ret != CMD_OPTIONS_READ || optind >= argc)
		return ret;
	error("unexpected argument '%s'", argv[optind]);
	if (co->usage_after_refusal && log_get_format() == LOG_FORMAT_TEXT)
		co->usage(stderr);
	return EXIT_USAGE;
}

/* The one flag of cmd_read_flag_options(). */
struct cmd_flag {
	int code; /* the option's struct option val */
	int *set;
};

static int cmd_flag_apply(void *ctx, int c, const char *arg)
{
	struct cmd_flag *f = ctx;

	(void)arg;
	return c == f->code ? cli_set_flag(f->set) : 0;
}

int cmd_read_flag_options(struct cmd_common *co, int argc, char **argv,
			  const struct option *longopts, int code, int *set)
{
	struct cmd_flag f = {code, set};

	return cmd_read_options(co, argc, argv, longopts, cmd_flag_apply, &f);
}

int cmd_read_import_options(struct cmd_common *co, int argc, char **argv,
			    const struct option *longopts,
			    int (*apply)(void *ctx, int c, const char *arg), void *ctx,
			    struct import_options *io)
{
	int ret = cmd_read_options(co, argc, argv, longopts, apply, ctx);

	if (ret == CMD_OPTIONS_READ && cmd_import_options_finish(io) < 0)
		return EXIT_USAGE;
	return ret;
}

const struct option cmd_export_long_options[] = {
    {"format", required_argument, NULL, CMD_OPT_FORMAT},
    {"out", required_argument, NULL, CMD_OPT_OUT},
    {"raw", no_argument, NULL, CMD_OPT_RAW},
    {"columns", required_argument, NULL, CMD_OPT_COLUMNS},
    {"bom", no_argument, NULL, CMD_OPT_BOM},
    {"no-bom", no_argument, NULL, CMD_OPT_NO_BOM},
    {NULL, 0, NULL, 0},
};

int cmd_export_option(struct export_options *o, int c, const char *arg)
{
	switch (c) {
	case CMD_OPT_FORMAT:
		if (export_format_parse(arg, &o->format) < 0)
			return error("--format: unknown format '%s' (csv or jsonl)", arg);
		return 1;
	case CMD_OPT_OUT:
		if (!*arg)
			return error("--out: empty file name (use '-' for standard output)");
		o->out_path = arg;
		return 1;
	case CMD_OPT_COLUMNS:
		export_columns_release(&o->columns);
		return export_columns_parse(arg, &o->columns) < 0 ? -1 : 1;
	case CMD_OPT_RAW:
		return cli_set_flag(&o->raw);
	case CMD_OPT_BOM:
		o->bom = EXPORT_BOM_ALWAYS;
		return 1;
	case CMD_OPT_NO_BOM:
		o->bom = EXPORT_BOM_NEVER;
		return 1;
	default:
		return 0;
	}
}

int cmd_db_exists(const char *db)
{
	if (store_refuse_uri(db) < 0)
		return -1;
	if (access(db, F_OK) < 0)
		return error_errno("cannot open database '%s'", db);
	return 0;
}

int cmd_reauth_scope(const char *arg, enum reauth_scope *scope)
{
	static const char *const yes[] = {"needed", "true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	if (!arg) {
		*scope = REAUTH_NEEDED;
		return 0;
	}
	if (!strcmp(arg, "all")) {
		*scope = REAUTH_ALL;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		if (!strcmp(arg, yes[i])) {
			*scope = REAUTH_NEEDED;
			return 0;
		}
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		if (!strcmp(arg, no[i])) {
			*scope = REAUTH_NONE;
			return 0;
		}
	return error("--reauthenticate='%s': 'all', or nothing for the connections whose status "
		     "is %s",
		     arg, REAUTH_NEEDED_NAMES);
}

int cmd_sandbox_warnings(struct store *st, const struct import_stats *s)
{
	struct sandbox_counts c;
	int64_t sandbox;

	if (!s->accepted && !s->updated)
		return 0;
	if (store_sandbox_counts(st, &c) < 0)
		return -1;
	sandbox = c.finch + c.provider;
	if (sandbox && c.production)
		warning("the database mixes %lld production row%s and %lld sandbox row%s: Finch "
			"makes sandbox sessions with the sandbox application's credentials only, "
			"and production ones with production credentials only, so one run "
			"cannot send both; keep them in separate databases (--db)",
			(long long)c.production, c.production == 1 ? "" : "s", (long long)sandbox,
			sandbox == 1 ? "" : "s");
	if (c.provider > FINCH_PROVIDER_SANDBOX_MAX)
		warning("%lld rows ask for sandbox=provider: Finch's provider sandbox allows at "
			"most %d active connections per application (and no assisted auth), so "
			"every employer past the %dth to connect will fail",
			(long long)c.provider, FINCH_PROVIDER_SANDBOX_MAX,
			FINCH_PROVIDER_SANDBOX_MAX);
	return 0;
}

int cmd_import_options_finish(struct import_options *o)
{
	if (import_options_finish(o) < 0)
		return -1;
	for (size_t i = 0; i < o->columns.nkeep; i++) {
		const char *field = export_field_name(o->columns.keep[i]);

		if (field)
			return error("--keep-column '%s': the export has a column '%s' of its own, "
				     "which --columns would name instead; rename the column in the "
				     "file, or do not keep it",
				     o->columns.keep[i], field);
	}
	return 0;
}

int scratch_open(struct scratch_db *sc, const char *db, struct store **out)
{
	struct store *real = NULL;
	struct stat sb;
	const char *tmp = getenv("TMPDIR");
	int ret = -1;

	snprintf(sc->dir, sizeof(sc->dir), "%s/finch-dry-run.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(sc->dir)) {
		error_errno("cannot create a folder for the dry run in '%s'", sc->dir);
		sc->dir[0] = '\0';
		goto out;
	}
	strbuf_addf(&sc->path, "%s/dry-run.db", sc->dir);
	/* The real database is only read; an empty file is like no database. */
	if (stat(db, &sb) == 0 && sb.st_size > 0) {
		if (store_open_readonly(db, &real) < 0 || store_snapshot(real, sc->path.buf) < 0)
			goto out;
		/* VACUUM INTO creates it by the umask; in a 0700 folder, but private like any */
		if (chmod(sc->path.buf, 0600) < 0) {
			error_errno("cannot make the dry run's copy '%s' private", sc->path.buf);
			goto out;
		}
	}
	ret = store_open(sc->path.buf, out);
out:
	store_close(real);
	return ret;
}

void scratch_remove(struct scratch_db *sc)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	if (sc->dir[0]) {
		for (i = 0; i < ARRAY_SIZE(suffixes); i++) {
			strbuf_reset(&sb);
			strbuf_addf(&sb, "%s%s", sc->path.buf, suffixes[i]);
			unlink(sb.buf);
		}
		rmdir(sc->dir);
	}
	strbuf_release(&sb);
	strbuf_release(&sc->path);
}
