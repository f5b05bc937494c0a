/*
 * cmd_journal.c: `finch-onboard journal`, which shows the answers an answers
 * journal holds (store/journal.h), or saves them as CSV, so that no answer
 * is ever only in a file the user cannot read: one left beside a database
 * it does not belong to, one moved aside. Read only: it takes no lock,
 * opens no database and never changes or removes the file.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "output/export.h"
#include "store/journal.h"

static const char journal_usage[] =
    "usage: finch-onboard journal [--db PATH] [--csv] [--config FILE]\n"
    "       finch-onboard journal FILE [--csv] [--config FILE]\n"
    "\n"
    "Shows the answers a stopped run kept in the answers journal of the\n"
    "database (PATH-answers), or in FILE, one per line: the customer, the\n"
    "outcome, the HTTP status, the session or connection and its link, the\n"
    "Finch-Request-Id. Read only: takes no lock, and never changes or removes\n"
    "the journal (the next writer of its database records it).\n"
    "\n"
    "  --db PATH   the database whose journal to read (default " DEFAULT_DB_PATH ")\n"
    "  --csv       the answers as CSV, one row per answer, with a header\n" CLI_CONFIG_HELP
	CLI_LOG_FORMAT_HELP "  -h, --help  show this help\n";

static void usage(FILE *f)
{
	fputs(journal_usage, f);
}

const struct option cmd_journal_options[] = {
    {"db", required_argument, NULL, 'd'},
    {"csv", no_argument, NULL, 'C'},
    CMD_OPTIONS_END,
};

static const char *const csv_header[] = {
    "line",	     "outcome",	   "customer_id", "http_status", "session_id",	"connect_url",
    "connection_id", "request_id", "started_at",  "run_id",	 "database_id", "error",
};

static void add_int_field(struct strbuf *sb, int64_t v)
{
	if (v)
		strbuf_addf(sb, "%lld", (long long)v);
}

/* One answer as a CSV record: neutralised against formulas, quoted as needed. */
static void csv_row(struct strbuf *sb, const struct journal_entry *e)
{
	const struct store_outcome *o = &e->o;
	char at[32];

	strbuf_addf(sb, "%lld,", (long long)e->lineno);
	export_csv_field(sb, outcome_kind_name(o->kind), 0);
	strbuf_addch(sb, ',');
	export_csv_field(sb, o->customer_id, 0);
	strbuf_addch(sb, ',');
	add_int_field(sb, o->http_status);
	strbuf_addch(sb, ',');
	export_csv_field(sb, o->session_id, 0);
	strbuf_addch(sb, ',');
	export_csv_field(sb, o->connect_url, 0);
	strbuf_addch(sb, ',');
	export_csv_field(sb, o->connection_id, 0);
	strbuf_addch(sb, ',');
	export_csv_field(sb, o->request_id, 0);
	strbuf_addf(sb, ",%s,", format_iso8601_ms(o->started_ms, at, sizeof(at)));
	add_int_field(sb, o->run_id);
	strbuf_addch(sb, ',');
	export_csv_field(sb, e->stamp.db_id[0] ? e->stamp.db_id : NULL, 0);
	strbuf_addch(sb, ',');
	export_csv_field(sb, o->message ? o->message : o->transport_error, 0);
	strbuf_addstr(sb, "\r\n");
}

/* One answer as a line for a terminal: every string the server wrote made inert. */
static void text_row(struct strbuf *sb, const struct journal_entry *e)
{
	const struct store_outcome *o = &e->o;
	const char *what = o->session_id ? o->session_id : o->connection_id;

	strbuf_addf(sb, "  %-5lld %-11s ", (long long)e->lineno, outcome_kind_name(o->kind));
	strbuf_add_inert(sb, o->customer_id, 200);
	if (o->http_status)
		strbuf_addf(sb, "  HTTP %ld", o->http_status);
	if (what) {
		strbuf_addstr(sb, o->session_id ? "  session " : "  connection ");
		strbuf_add_inert(sb, what, 200);
	}
	if (o->connect_url) {
		strbuf_addch(sb, ' ');
		strbuf_add_inert(sb, o->connect_url, 2000);
	}
	if (o->request_id) {
		strbuf_addstr(sb, "  request ");
		strbuf_add_inert(sb, o->request_id, 200);
	}
	if (!what && (o->message || o->transport_error)) {
		strbuf_addstr(sb, "  ");
		strbuf_add_inert(sb, o->message ? o->message : o->transport_error, 200);
	}
	strbuf_addch(sb, '\n');
}

/* The first line of the text form: how many, of which database, when. */
static void text_head(struct strbuf *sb, const char *path, const struct journal_entries *e)
{
	int64_t first = 0, last = 0, created = 0;
	const char *db = NULL;
	int mixed = 0;
	char a[32], b[32];

	for (size_t i = 0; i < e->n; i++) {
		const struct journal_entry *x = &e->v[i];

		if (!first || x->o.started_ms < first)
			first = x->o.started_ms;
		if (x->o.started_ms > last)
			last = x->o.started_ms;
		created += x->o.kind == OUTCOME_CREATED || x->o.kind == OUTCOME_UNCONFIRMED;
		if (x->stamp.db_id[0] && db && strcmp(db, x->stamp.db_id))
			mixed = 1;
		if (x->stamp.db_id[0] && !db)
			db = x->stamp.db_id;
	}
	strbuf_addf(sb, "%zu answers in '", e->n);
	strbuf_add_inert(sb, path, PATH_MAX);
	strbuf_addf(sb, "' (%lld created sessions), sent from %s to %s; database id %s%s\n",
		    (long long)created, format_iso8601_ms(first, a, sizeof(a)),
		    format_iso8601_ms(last, b, sizeof(b)), db ? db : "unknown (version 1 lines)",
		    mixed ? " and others" : "");
}

int cmd_journal(int argc, char **argv)
{
	struct cmd_common co = {DEFAULT_DB_PATH, usage, 1, NULL};
	struct journal_entries e = {0};
	struct strbuf out = STRBUF_INIT;
	char *path = NULL;
	int csv = 0;
	int ret, r;

	ret = cmd_read_flag_options(&co, argc, argv, cmd_journal_options, 'C', &csv);
	if (ret != CMD_OPTIONS_READ)
		return ret;
	ret = EXIT_USAGE;
	if (optind < argc - 1) {
		error("journal takes one FILE at most: '%s' is one too many; see 'finch-onboard "
		      "journal --help'",
		      argv[optind + 1]);
		goto out;
	}
	path = optind < argc ? xstrdup(argv[optind]) : journal_path_of_db(co.db);
	r = journal_load(path, &e);
	if (r < 0)
		goto out;
	if (e.torn)
		warning("%s: an incomplete last line (an append cut short by a crash, never "
			"acknowledged); left out",
			path);
	if (csv) {
		for (size_t i = 0; i < ARRAY_SIZE(csv_header); i++)
			strbuf_addf(&out, "%s%s", i ? "," : "", csv_header[i]);
		strbuf_addstr(&out, "\r\n");
	} else if (!r) {
		strbuf_addstr(&out, "no answers waiting: '");
		strbuf_add_inert(&out, path, PATH_MAX);
		strbuf_addstr(&out, "' is absent or empty\n");
	} else {
		text_head(&out, path, &e);
	}
	for (size_t i = 0; i < e.n; i++) {
		if (csv)
			csv_row(&out, &e.v[i]);
		else
			text_row(&out, &e.v[i]);
	}
	fwrite(out.buf, 1, out.len, stdout);
	ret = EXIT_OK;
out:
	journal_entries_release(&e);
	strbuf_release(&out);
	free(path);
	return ret;
}
