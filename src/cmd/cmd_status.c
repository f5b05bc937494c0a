/*
 * cmd_status.c: `finch-onboard status`, where a batch stands.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "finch/retry.h"
#include "store/journal.h"
#include "store/store.h"
#include "store/store_import.h"
#include "store/store_report.h"
#include "base/strbuf.h"
#include "base/util.h"

static const char status_usage[] =
    "usage: finch-onboard status [--db PATH] [--json] [--config FILE]\n"
    "\n"
    "Shows the rows per state, failures by finch_code and HTTP status, expired\n"
    "links and links expiring within 7 days, the campaign's funnel (links made;\n"
    "of them connected, expired unconnected and open; employers already\n"
    "connected when asked; connections by status; median days from link to\n"
    "connection), the last import and run, and the answers a stopped run left\n"
    "in the answers journal for the next writer.\n"
    "\n"
    "  --db PATH   the database (default " DEFAULT_DB_PATH ")\n"
    "  --json      print exactly one JSON object\n" CLI_CONFIG_HELP CLI_LOG_FORMAT_HELP
    "  -h, --help  show this help\n";

static void usage(FILE *f)
{
	fputs(status_usage, f);
}

struct report {
	struct state_counts counts;
	struct funnel funnel;
	struct import_record imp;
	int have_import;
	struct run_record run;
	int have_run;
	int running;			/* the last run has not ended and its process is alive */
	char *journal;			/* the answers journal's path */
	int64_t journal_answers;	/* answers waiting in it */
	char foreign[STORE_ID_HEX + 1]; /* the other database the journal was written for, or "" */
};

/*
 * A run that has not ended is running if its process is alive, else it
 * crashed or was killed. (Its pid might be reused by now; a writer refused
 * with exit 4 names the holder of the database lock, from /proc/locks.)
 */
static int run_alive(const struct run_record *run)
{
	if (run->ended_ms || run->pid <= 0)
		return 0;
	return kill((pid_t)run->pid, 0) == 0 || errno == EPERM;
}

static const char *run_state(const struct report *r)
{
	if (r->running)
		return "running";
	return r->run.exit_reason[0] ? r->run.exit_reason : "did not finish";
}

static char *iso(int64_t ms, char *buf, size_t size)
{
	return ms ? format_iso8601_ms(ms, buf, size) : NULL;
}

static int print_failure(const char *code, long status, int64_t count, void *data)
{
	if (data) {
		cJSON *item = cJSON_CreateObject();

		if (code)
			cJSON_AddStringToObject(item, "finch_code", code);
		else
			cJSON_AddNullToObject(item, "finch_code");
		if (status)
			cJSON_AddNumberToObject(item, "http_status", (double)status);
		else
			cJSON_AddNullToObject(item, "http_status");
		cJSON_AddNumberToObject(item, "count", (double)count);
		if (status >= 200 && status < 300) /* the row's session may exist */
			cJSON_AddTrueToObject(item, "created_unreadable");
		cJSON_AddItemToArray(data, item);
	} else {
		struct strbuf shown = STRBUF_INIT;
		char st[16] = "-";

		/* the code is the server's text: shown inert (strbuf_add_inert()) */
		strbuf_add_inert(&shown, code ? code : "(none)", 80);
		if (status)
			snprintf(st, sizeof(st), "%ld", status);
		printf("  %-36s %-6s %lld\n", shown.buf, st, (long long)count);
		if (status >= 200 && status < 300)
			printf(
			    "    a %ld the program could not read (or whose link it refused): the "
			    "session may exist, so these rows are never sent again by themselves; "
			    "see their error and Finch-Request-Id in the export, then "
			    "'finch-onboard retry --unconfirmed' to send them again\n",
			    status);
		strbuf_release(&shown);
	}
	return 0;
}

/* One last error of the rows given up, and how many: shown inert, as the server wrote it. */
static int print_given_up(const char *why, int64_t count, void *data)
{
	struct strbuf shown = STRBUF_INIT;

	(void)data;
	strbuf_add_inert(&shown, *why ? why : "(no error recorded)", 200);
	printf("  %6lld  %s\n", (long long)count, shown.buf);
	strbuf_release(&shown);
	return 0;
}

static void add_time(cJSON *obj, const char *key, int64_t ms)
{
	char buf[32];

	if (ms)
		cJSON_AddStringToObject(obj, key, iso(ms, buf, sizeof(buf)));
	else
		cJSON_AddNullToObject(obj, key);
}

/* A median in days, to the hundredth (-1: none, null in JSON). */
static double days2(double days)
{
	return (double)(int64_t)(days * 100 + 0.5) / 100;
}

static void add_days(cJSON *obj, const char *key, double days)
{
	if (days < 0)
		cJSON_AddNullToObject(obj, key);
	else
		cJSON_AddNumberToObject(obj, key, days2(days));
}

/* The rows with a connection_id in group g (connection.h). */
static int64_t group_count(const struct funnel *f, enum connection_group g)
{
	int64_t n = 0;

	for (int i = 0; i < CONNECTION_STATUS_COUNT; i++)
		if (connection_group_of(connection_statuses[i]) == g)
			n += f->by_status[i];
	return n + (g == CONNECTION_GROUP_UNKNOWN ? f->by_status[CONNECTION_STATUS_COUNT] : 0);
}

static void add_funnel(cJSON *root, const struct funnel *f)
{
	cJSON *fu = cJSON_AddObjectToObject(root, "funnel"), *by, *groups;

	cJSON_AddNumberToObject(fu, "links", (double)f->links);
	cJSON_AddNumberToObject(fu, "connected", (double)f->connected);
	cJSON_AddNumberToObject(fu, "expired", (double)f->expired);
	cJSON_AddNumberToObject(fu, "open", (double)f->open);
	cJSON_AddNumberToObject(fu, "already_connected", (double)f->already_connected);
	add_days(fu, "days_to_connect_median", f->days_to_connect);
	add_days(fu, "open_days_median", f->open_days);
	add_days(fu, "expired_days_median", f->expired_days);
	by = cJSON_AddObjectToObject(fu, "connection_status");
	for (int i = 0; i < CONNECTION_STATUS_COUNT; i++)
		cJSON_AddNumberToObject(by, connection_statuses[i], (double)f->by_status[i]);
	cJSON_AddNumberToObject(by, "none", (double)f->by_status[CONNECTION_STATUS_COUNT]);
	groups = cJSON_AddObjectToObject(fu, "connection_groups");
	for (int g = 0; g < CONNECTION_GROUP_COUNT; g++)
		cJSON_AddNumberToObject(groups, connection_group_name((enum connection_group)g),
					(double)group_count(f, (enum connection_group)g));
}

/* Adds an object under key and returns it if have, else a null, and returns NULL. */
static cJSON *object_or_null(cJSON *obj, const char *key, int have)
{
	if (have)
		return cJSON_AddObjectToObject(obj, key);
	cJSON_AddNullToObject(obj, key);
	return NULL;
}

static int print_json(struct store *st, const struct report *r)
{
	cJSON *root = cJSON_CreateObject(), *by = cJSON_CreateObject(), *fail, *imp, *run, *j;
	char *text;
	int ret = 0;

	cJSON_AddNumberToObject(root, "total", (double)r->counts.total);
	for (int s = 0; s < STATE_COUNT; s++)
		cJSON_AddNumberToObject(by, state_name(s), (double)r->counts.by_state[s]);
	cJSON_AddItemToObject(root, "by_state", by);
	cJSON_AddNumberToObject(root, "line_invalid", (double)r->counts.line_invalid);
	cJSON_AddNumberToObject(root, "changed", (double)r->counts.changed);
	cJSON_AddNumberToObject(root, "withdrawn", (double)r->counts.withdrawn);
	cJSON_AddNumberToObject(root, "expired", (double)r->counts.expired);
	cJSON_AddNumberToObject(root, "expiring_7d", (double)r->counts.expiring_soon);
	cJSON_AddNumberToObject(root, "retries", (double)r->counts.retries);
	add_time(root, "next_retry_at", r->counts.next_retry_ms);
	cJSON_AddNumberToObject(root, "carried_over", (double)r->counts.carried);
	cJSON_AddNumberToObject(root, "given_up", (double)r->counts.given_up);
	cJSON_AddNumberToObject(root, "unconfirmed", (double)r->counts.unconfirmed);
	cJSON_AddNumberToObject(root, "outcome_unknown", (double)r->counts.outcome_unknown);
	add_time(root, "carried_over_until", r->counts.carried_until_ms);
	add_funnel(root, &r->funnel);
	fail = cJSON_AddArrayToObject(root, "failures");
	if (store_each_failure_group(st, print_failure, fail) < 0)
		ret = -1;
	imp = object_or_null(root, "last_import", r->have_import);
	if (imp) {
		cJSON_AddStringToObject(imp, "path", r->imp.path);
		cJSON_AddNumberToObject(imp, "size", (double)r->imp.size);
		cJSON_AddStringToObject(imp, "sha256", r->imp.sha256);
		cJSON_AddNumberToObject(imp, "rows_read", (double)r->imp.stats.rows_read);
		cJSON_AddNumberToObject(imp, "accepted", (double)r->imp.stats.accepted);
		cJSON_AddNumberToObject(imp, "invalid", (double)r->imp.stats.invalid);
		cJSON_AddNumberToObject(imp, "unchanged", (double)r->imp.stats.unchanged);
		cJSON_AddNumberToObject(imp, "updated", (double)r->imp.stats.updated);
		add_time(imp, "started_at", r->imp.started_ms);
		add_time(imp, "ended_at", r->imp.ended_ms);
	}
	run = object_or_null(root, "last_run", r->have_run);
	if (run) {
		add_time(run, "started_at", r->run.started_ms);
		add_time(run, "ended_at", r->run.ended_ms);
		if (r->run.exit_reason[0])
			cJSON_AddStringToObject(run, "exit_reason", r->run.exit_reason);
		else
			cJSON_AddNullToObject(run, "exit_reason");
		cJSON_AddBoolToObject(run, "running", r->running);
		if (r->running)
			cJSON_AddNumberToObject(run, "pid", (double)r->run.pid);
		else
			cJSON_AddNullToObject(run, "pid");
		cJSON_AddNumberToObject(run, "attempts", (double)r->run.attempts);
		cJSON_AddNumberToObject(run, "p50_ms", r->run.p50_ms);
		cJSON_AddNumberToObject(run, "p95_ms", r->run.p95_ms);
		cJSON_AddNumberToObject(run, "p99_ms", r->run.p99_ms);
	}
	j = object_or_null(root, "answers_journal", r->journal_answers != 0);
	if (j) {
		cJSON_AddStringToObject(j, "path", r->journal);
		cJSON_AddNumberToObject(j, "answers", (double)r->journal_answers);
		if (r->foreign[0])
			cJSON_AddStringToObject(j, "other_database", r->foreign);
		else
			cJSON_AddNullToObject(j, "other_database");
	}
	text = cJSON_PrintUnformatted(root);
	if (!text)
		die("out of memory printing JSON");
	puts(text);
	free(text);
	cJSON_Delete(root);
	return ret;
}

/* " (median 1.25 days what)", or nothing without a median. */
static void print_median(double days, const char *what)
{
	if (days >= 0)
		printf(" (median %.2f days %s)", days2(days), what);
}

/* The funnel, once a link was made or a connection is known. */
static void print_funnel(const struct funnel *f)
{
	int64_t with_conn = f->connected + f->already_connected;

	if (!f->links && !f->already_connected)
		return;
	printf("funnel: %lld links made\n", (long long)f->links);
	printf("  %-20s %lld", "connected", (long long)f->connected);
	print_median(f->days_to_connect, "from the first link to the connection");
	printf("\n  %-20s %lld", "expired unconnected", (long long)f->expired);
	print_median(f->expired_days, "since the first link");
	printf("%s\n  %-20s %lld", f->expired ? "; sync --renew-expired sends new ones" : "",
	       "open", (long long)f->open);
	print_median(f->open_days, "since the first link");
	printf("\nalready connected when asked (no link needed): %lld\n",
	       (long long)f->already_connected);
	if (!with_conn)
		return;
	printf("connections by status (%lld rows with a connection_id):\n", (long long)with_conn);
	for (int g = 0; g < CONNECTION_GROUP_COUNT; g++) {
		int64_t n = group_count(f, (enum connection_group)g);

		if (n)
			printf("  %-14s %lld  %s\n",
			       connection_group_name((enum connection_group)g), (long long)n,
			       connection_group_meaning((enum connection_group)g));
	}
}

/* Fills foreign with the id of the database the journal at path was written for, if not st. */
static int journal_owner(struct store *st, const char *path, char foreign[STORE_ID_HEX + 1])
{
	struct journal_entries e;
	const char *ours = store_database_id(st), *theirs;
	int r;

	foreign[0] = '\0';
	if (!ours)
		return -1;
	r = journal_load(path, &e);
	theirs = r > 0 ? journal_entries_foreign(&e, ours) : NULL;
	if (theirs)
		memcpy(foreign, theirs, STORE_ID_HEX + 1);
	journal_entries_release(&e);
	return 0; /* a line that does not decode is reported, and stops the writers: not status */
}

static int print_text(struct store *st, const struct report *r)
{
	char a[32], b[32];

	if (r->journal_answers && r->foreign[0])
		printf("answers journal: %lld answers of a stopped run wait in '%s', written for "
		       "another database (id %s): every writer refuses it (exit 2) until it is put "
		       "beside its own database or moved aside; 'finch-onboard journal %s' shows "
		       "it\n",
		       (long long)r->journal_answers, r->journal, r->foreign, r->journal);
	else if (r->journal_answers)
		printf("answers journal: %lld answers of a stopped run wait in '%s'; the next run, "
		       "import, retry or sync records them first\n",
		       (long long)r->journal_answers, r->journal);
	printf("%lld rows\n", (long long)r->counts.total);
	for (int s = 0; s < STATE_COUNT; s++)
		printf("  %-11s %lld\n", state_name(s), (long long)r->counts.by_state[s]);
	if (r->counts.line_invalid)
		printf("created or exists, but the CSV line is now invalid: %lld (they keep their "
		       "links; the reason is in 'export --state created,exists')\n",
		       (long long)r->counts.line_invalid);
	if (r->counts.withdrawn)
		printf("  %-11s %lld (missing from the last CSV: kept, never sent; back when a CSV "
		       "has them again)\n",
		       "withdrawn", (long long)r->counts.withdrawn);
	if (r->counts.changed)
		printf("created or exists, but the CSV changed their fields: %lld (they keep their "
		       "links; 'changed' in the export says which fields; sync --resend-changed "
		       "or retry --changed sends them again)\n",
		       (long long)r->counts.changed);
	printf("links expired: %lld, expiring within 7 days: %lld\n", (long long)r->counts.expired,
	       (long long)r->counts.expiring_soon);
	print_funnel(&r->funnel);
	if (r->counts.next_retry_ms)
		printf("retry_wait: the next retry is due at %s\n",
		       format_iso8601_ms(r->counts.next_retry_ms, a, sizeof(a)));
	if (r->counts.carried)
		printf("failed on transient errors, sent again by the next sync: %lld (until %s at "
		       "the latest, see --give-up-after); the other failed rows are permanent\n",
		       (long long)r->counts.carried,
		       format_iso8601_ms(r->counts.carried_until_ms, a, sizeof(a)));
	if (r->counts.given_up) {
		printf(
		    "given up: %lld (transient failures for longer than --give-up-after; no sync "
		    "sends them again, 'retry' does), by last error:\n",
		    (long long)r->counts.given_up);
		if (store_each_given_up(st, print_given_up, NULL) < 0)
			return -1;
	}
	if (r->counts.unconfirmed)
		printf(
		    "unconfirmed: %lld failed on a 2xx whose body could not be read: their "
		    "sessions may exist, so no run, sync or bare retry sends them again; ask "
		    "Finch's support about each Finch-Request-Id ('export --state failed', status "
		    "unconfirmed), then 'finch-onboard retry --unconfirmed'\n",
		    (long long)r->counts.unconfirmed);
	if (r->counts.outcome_unknown)
		printf("outcome unknown: %lld rows whose last request was cut short, lost in a "
		       "crash, or timed out after it went out: Finch may have created their "
		       "sessions, and a later run or sync sends them again (one timed out or cut "
		       "short no sooner than %d minutes after), naming each in its log (event "
		       "resend_unknown); see their error in the export\n",
		       (long long)r->counts.outcome_unknown,
		       (int)(RETRY_UNKNOWN_SETTLE_MS / 60000));
	if (r->counts.by_state[STATE_FAILED]) {
		printf("failures by finch_code and HTTP status:\n");
		if (store_each_failure_group(st, print_failure, NULL) < 0)
			return -1;
	}
	if (r->have_import) {
		struct strbuf path = STRBUF_INIT;

		strbuf_add_inert(&path, r->imp.path, 1000);
		printf("last import: %s at %s: %lld rows read, %lld accepted, %lld invalid, "
		       "%lld unchanged, %lld updated\n",
		       path.buf, format_iso8601_ms(r->imp.started_ms, a, sizeof(a)),
		       (long long)r->imp.stats.rows_read, (long long)r->imp.stats.accepted,
		       (long long)r->imp.stats.invalid, (long long)r->imp.stats.unchanged,
		       (long long)r->imp.stats.updated);
		strbuf_release(&path);
	} else {
		printf("last import: none\n");
	}
	if (r->running)
		printf("last run: %s .. (running, pid %lld): %lld attempts so far\n",
		       format_iso8601_ms(r->run.started_ms, a, sizeof(a)), (long long)r->run.pid,
		       (long long)r->run.attempts);
	else if (r->have_run)
		printf("last run: %s .. %s (%s): %lld attempts, latency p50 %.0f ms, p95 %.0f ms, "
		       "p99 %.0f ms\n",
		       format_iso8601_ms(r->run.started_ms, a, sizeof(a)),
		       r->run.ended_ms ? format_iso8601_ms(r->run.ended_ms, b, sizeof(b)) : "?",
		       run_state(r), (long long)r->run.attempts, r->run.p50_ms, r->run.p95_ms,
		       r->run.p99_ms);
	else
		printf("last run: none\n");
	return 0;
}

/* The command's own options (cmd.h: the config file reads them too). */
const struct option cmd_status_options[] = {
    {"db", required_argument, NULL, 'd'},
    {"json", no_argument, NULL, 'j'},
    CMD_OPTIONS_END,
};

int cmd_status(int argc, char **argv)
{
	struct cmd_common co = {DEFAULT_DB_PATH, usage, 0, NULL};
	struct store *st = NULL;
	struct report r = {0};
	int json = 0;
	int ret, got;

	ret = cmd_read_flag_options(&co, argc, argv, cmd_status_options, 'j', &json);
	if (ret != CMD_OPTIONS_READ)
		return ret;
	if (optind != argc) {
		error("status takes no arguments; see 'finch-onboard status --help'");
		return EXIT_USAGE;
	}
	/* status only reads: never create a database by looking at one (store.h) */
	if (cmd_db_exists(co.db) < 0)
		return EXIT_USAGE;
	ret = EXIT_USAGE;
	if (store_open_readonly(co.db, &st) < 0 ||
	    store_count_states(st, clock_now_ms(), &r.counts) < 0 ||
	    store_funnel(st, clock_now_ms(), &r.funnel) < 0)
		goto out;
	if ((got = store_last_import(st, &r.imp)) < 0)
		goto out;
	r.have_import = got;
	if ((got = store_last_run(st, &r.run)) < 0)
		goto out;
	r.have_run = got;
	r.running = got && run_alive(&r.run);
	r.journal = journal_path(store_filename(st));
	r.journal_answers = journal_waiting(store_filename(st));
	if (r.journal_answers < 0)
		goto out;
	if (r.journal_answers && journal_owner(st, r.journal, r.foreign) < 0)
		goto out;
	if ((json ? print_json(st, &r) : print_text(st, &r)) < 0)
		goto out;
	ret = EXIT_OK;
out:
	free(r.journal);
	store_close(st);
	return ret;
}
