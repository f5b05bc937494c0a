/*
 * cmd_retry.c: `finch-onboard retry`, which puts finished rows back in the
 * queue (failed ones by default) so the next run sends them again.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "finch/retry.h"
#include "output/export.h"
#include "store/store.h"
#include "store/store_queue.h"
#include "store/store_report.h"
#include "base/util.h"
#include "store/writer.h"

static const char retry_usage[] =
    "usage: finch-onboard retry [--db PATH] [--state LIST] [--finch-code CODE]\n"
    "                           [--http-status N] [--customer ID]... [--changed]\n"
    "                           [--config FILE]\n"
    "       finch-onboard retry --unconfirmed [--customer ID]... [--db PATH]\n"
    "       finch-onboard retry --reauthenticate[=all] [--customer ID]... [--db PATH]\n"
    "\n"
    "Re-queues matching rows to pending with a fresh attempt budget, keeping\n"
    "their history; the next run sends those rows. By default every failed row\n"
    "but the unconfirmed ones: a 2xx that could not be read, whose session may\n"
    "exist (ask Finch's support about its request id first; see status).\n"
    "With --reauthenticate, exists rows are queued for a new link from\n"
    "/connect/sessions/reauthenticate instead: each --customer named (whatever\n"
    "its connection status), else those whose status is " REAUTH_NEEDED_NAMES "\n"
    "(=all: every exists row with a connection).\n"
    "\n"
    "  --db PATH          the database (default " DEFAULT_DB_PATH ")\n"
    "  --state LIST       rows in these states (default failed); any of failed,\n"
    "                     retry_wait, created, exists\n"
    "  --finch-code CODE  only rows whose last finch_code is CODE\n"
    "  --http-status N    only rows whose last HTTP status is N\n"
    "  --customer ID      only this customer; repeat for more. An unknown ID is\n"
    "                     an error and nothing is re-queued. An ID as the CSV\n"
    "                     export printed it ('-001 for -001) works too\n"
    "  --unconfirmed      only the failed rows whose 2xx could not be read; rows\n"
    "                     named by --customer or --http-status 2xx are taken too\n"
    "  --changed          only rows whose CSV fields changed after they got their\n"
    "                     link (state created,exists unless --state says): a new\n"
    "                     link for the new fields\n" CLI_CONFIG_HELP CLI_LOG_FORMAT_HELP
    "  -h, --help         show this help\n";

static void usage(FILE *f)
{
	fputs(retry_usage, f);
}

/* Writes the names of the states in mask ("failed or created") into buf. */
static void describe_mask(unsigned mask, char *buf, size_t size)
{
	size_t len = 0;
	int s;

	buf[0] = '\0';
	for (s = 0; s < STATE_COUNT; s++) {
		int n;

		if (!(mask & STATE_MASK(s)))
			continue;
		n = snprintf(buf + len, size - len, "%s%s", len ? " or " : "",
			     state_name((enum row_state)s));
		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
}

/*
 * Checks every --customer id before anything changes: an unknown id is an
 * error (returns -1, nothing is re-queued). Notes in was[i] whether the
 * customer was pending already.
 */
static int check_customers(struct store *st, const char *db, const char *const *ids, size_t n,
			   int *was_pending)
{
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		enum row_state state;
		int r = store_customer_state(st, ids[i], &state);

		if (r < 0)
			return -1;
		if (!r)
			ret = error("--customer: no customer '%s' in '%s'", ids[i], db);
		was_pending[i] = r && state == STATE_PENDING;
	}
	return ret;
}

/*
 * Says how many rows (of customer_id, or all) the re-queue left alone
 * because their last request went out and its answer was lost (timed out
 * or cut short) too recently (RETRY_UNKNOWN_SETTLE_MS), and when they may
 * go. Returns how many.
 */
static int64_t settling(struct store *st, const char *customer_id)
{
	int64_t n = 0, until = 0;
	char when[32];

	if (store_settling(st, clock_now_ms(), customer_id, &n, &until) < 0 || !n)
		return 0;
	format_iso8601_ms(until, when, sizeof(when));
	if (customer_id)
		warning("customer '%s' left alone: its last request went out and its answer was "
			"lost (timed out or cut short), and Finch may still create its session; "
			"retry it after %s",
			customer_id, when);
	else
		notice("settling_left",
		       "%lld row%s left alone: the last request went out and its answer was lost "
		       "(timed out or cut short) less than %d minutes ago, and Finch may still "
		       "create the session; retry after %s",
		       (long long)n, n == 1 ? "" : "s", (int)(RETRY_UNKNOWN_SETTLE_MS / 60000),
		       when);
	return n;
}

/*
 * After the re-queue, says of every --customer that did not move why: the
 * store's answer, not a guess made before, so the warning and the count
 * always agree.
 */
static int report_left_alone(struct store *st, const struct requeue_filter *f,
			     const int *was_pending)
{
	char states[128];

	describe_mask(f->state_mask, states, sizeof(states));
	for (size_t i = 0; i < f->ncustomers; i++) {
		enum row_state state;
		int dup = 0;

		for (size_t j = 0; j < i; j++)
			dup |= !strcmp(f->customers[i], f->customers[j]);
		if (dup || store_customer_state(st, f->customers[i], &state) < 0)
			continue;
		if (was_pending[i])
			warning("customer '%s' is pending already: the next run sends it",
				f->customers[i]);
		else if (state != STATE_PENDING && !(f->state_mask & STATE_MASK(state)))
			warning("customer '%s' is %s, not %s: left alone (see --state)",
				f->customers[i], state_name(state), states);
		else if (state != STATE_PENDING && !settling(st, f->customers[i]))
			warning("customer '%s' is %s but its last answer does not match "
				"--finch-code/--http-status: left alone",
				f->customers[i], state_name(state));
	}
	return 0;
}

/* After a bare retry: the unconfirmed rows it left alone, and how to send them. */
static int report_unconfirmed(struct store *st)
{
	struct state_counts c;

	if (store_count_states(st, clock_now_ms(), &c) < 0)
		return -1;
	if (c.unconfirmed)
		notice("unconfirmed_left",
		       "%lld unconfirmed row%s left alone: a 2xx that could not be read, whose "
		       "session may exist; ask Finch's support about each request id "
		       "(finch-onboard status), then 'finch-onboard retry --unconfirmed'",
		       (long long)c.unconfirmed, c.unconfirmed == 1 ? "" : "s");
	return 0;
}

/*
 * Takes each --customer id as the CSV export printed it: an id that export
 * neutralised against formulas ("'-001" for "-001", export_is_formula())
 * stands for the stored one, unless a customer's id really is "'-001".
 */
static int unneutralise_ids(struct store *st, const char **ids, size_t n)
{
	enum row_state state;

	for (size_t i = 0; i < n; i++) {
		int r;

		if (ids[i][0] != '\'' || !export_is_formula(ids[i] + 1))
			continue;
		r = store_customer_state(st, ids[i], &state);
		if (r < 0)
			return -1;
		if (!r)
			ids[i]++;
	}
	return 0;
}

/* What retry's own options fill in. */
struct retry_args {
	struct requeue_filter *f;
	const char **customers;	  /* --customer, f->ncustomers of them; the caller frees */
	enum reauth_scope reauth; /* --reauthenticate; REAUTH_NONE: a plain re-queue */
	int filtered;		  /* --state, --finch-code or --http-status was given */
	int state_given;	  /* --state given: --changed keeps it */
	int unconfirmed;	  /* --unconfirmed */
};

/* retry's own options: the filters of the re-queue. */
static int retry_apply(void *ctx, int c, const char *arg)
{
	struct retry_args *a = ctx;
	struct requeue_filter *f = a->f;
	int64_t v;

	switch (c) {
	case 'C':
		return cli_set_flag(&f->changed);
	case 'u':
		return cli_set_flag(&a->unconfirmed);
	case 'r':
		return cmd_reauth_scope(arg, &a->reauth) < 0 ? -1 : 1;
	case 's':
		a->filtered = 1;
		a->state_given = 1;
		if (state_mask_parse(arg, &f->state_mask) < 0)
			return -1;
		if (f->state_mask & STATE_MASK(STATE_INVALID))
			return error("--state: invalid rows cannot be re-queued; fix them in the "
				     "CSV and import it again");
		if (f->state_mask & STATE_MASK(STATE_IN_FLIGHT))
			return error("--state: in_flight rows cannot be re-queued; the next run "
				     "recovers them");
		if (f->state_mask & STATE_MASK(STATE_PENDING))
			return error("--state: pending rows are queued already");
		return 1;
	case 'f':
		a->filtered = 1;
		if (!*arg)
			return error("--finch-code: empty code");
		f->finch_code = arg;
		return 1;
	case 'H':
		a->filtered = 1;
		if (parse_int64(arg, 100, 599, &v) < 0)
			return error("--http-status: '%s' is not an HTTP status (100..599)", arg);
		f->http_status = (long)v;
		return 1;
	case 'c':
		if (!*arg)
			return error("--customer: empty customer id");
		a->customers = xrealloc(a->customers, (f->ncustomers + 1) * sizeof(*a->customers));
		a->customers[f->ncustomers++] = arg;
		return 1;
	default:
		return 0;
	}
}

/* The command's own options (cmd.h: the config file reads them too). */
const struct option cmd_retry_options[] = {
    {"db", required_argument, NULL, 'd'},
    {"state", required_argument, NULL, 's'},
    {"finch-code", required_argument, NULL, 'f'},
    {"http-status", required_argument, NULL, 'H'},
    {"customer", required_argument, NULL, 'c'},
    {"reauthenticate", optional_argument, NULL, 'r'},
    {"changed", no_argument, NULL, 'C'},
    {"unconfirmed", no_argument, NULL, 'u'},
    CMD_OPTIONS_END,
};

/*
 * retry --reauthenticate: each customer of ids (whatever its connection
 * status: it was named), else the rows scope picks, queued for
 * /connect/sessions/reauthenticate. A named customer that is not an exists
 * row with a connection is said, and left alone.
 */
static int queue_reauth(struct store *st, enum reauth_scope scope, const char *const *ids, size_t n,
			int64_t *count)
{
	int64_t now = clock_now_ms(), one;
	enum row_state state;

	*count = 0;
	if (!n)
		return store_queue_reauth(st, now, scope, NULL, count);
	for (size_t i = 0; i < n; i++) {
		if (store_queue_reauth(st, now, REAUTH_ALL, ids[i], &one) < 0)
			return -1;
		*count += one;
		if (one || store_customer_state(st, ids[i], &state) <= 0)
			continue;
		if (state == STATE_EXISTS)
			warning("customer '%s' has no connection_id to reauthenticate: left alone",
				ids[i]);
		else
			warning("customer '%s' is %s, not exists (connected): nothing to "
				"reauthenticate",
				ids[i], state_name(state));
	}
	return 0;
}

int cmd_retry(int argc, char **argv)
{
	struct requeue_filter f = {STATE_MASK(STATE_FAILED), NULL, 0, NULL, 0, 0, 0};
	struct writer w = WRITER_INIT;
	struct cmd_common co = {DEFAULT_DB_PATH, usage, 1, NULL};
	struct retry_args a = {&f, NULL, REAUTH_NONE, 0, 0, 0};
	int64_t count = 0;
	int *was_pending = NULL;
	int ret;

	ret = cmd_read_options_only(&co, argc, argv, cmd_retry_options, retry_apply, &a);
	if (ret != CMD_OPTIONS_READ)
		goto out;
	ret = EXIT_USAGE;
	f.customers = a.customers;
	if (a.reauth != REAUTH_NONE && a.filtered) {
		error("--reauthenticate takes exists rows: it cannot be combined with --state, "
		      "--finch-code or --http-status");
		goto out;
	}
	if (a.unconfirmed && (a.reauth != REAUTH_NONE || f.changed)) {
		error("--unconfirmed takes failed rows: it cannot be combined with "
		      "--reauthenticate or --changed");
		goto out;
	}
	/*
	 * A 2xx that could not be read may have created a session: such a row
	 * is sent again only when the user asks for it (schema 013).
	 */
	if (a.unconfirmed)
		f.unconfirmed = REQUEUE_UNCONFIRMED_ONLY;
	else if (f.ncustomers || (f.http_status >= 200 && f.http_status < 300))
		f.unconfirmed = REQUEUE_UNCONFIRMED_ALSO;
	if (f.changed && !a.state_given)
		f.state_mask = STATE_MASK(STATE_CREATED) | STATE_MASK(STATE_EXISTS);
	if (!f.state_mask)
		f.state_mask = STATE_MASK(STATE_FAILED);

	/* retry changes rows: it must not create an empty database by mistake. */
	ret = writer_open(&w, co.db, WRITER_MUST_EXIST);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_USAGE;
	if (unneutralise_ids(w.st, a.customers, f.ncustomers) < 0)
		goto out;
	was_pending = xcalloc(f.ncustomers + 1, sizeof(*was_pending));
	if (f.ncustomers &&
	    check_customers(w.st, co.db, a.customers, f.ncustomers, was_pending) < 0)
		goto out;
	if (a.reauth != REAUTH_NONE) {
		if (queue_reauth(w.st, a.reauth, a.customers, f.ncustomers, &count) < 0)
			goto out;
		printf("queued %lld row%s for reauthentication\n", (long long)count,
		       count == 1 ? "" : "s");
		ret = EXIT_OK;
		goto out;
	}
	if (store_requeue(w.st, &f, clock_now_ms(), &count) < 0)
		goto out;
	report_left_alone(w.st, &f, was_pending);
	printf("re-queued %lld row%s\n", (long long)count, count == 1 ? "" : "s");
	if (!f.ncustomers)
		settling(w.st, NULL);
	if (f.unconfirmed == REQUEUE_UNCONFIRMED_SKIP &&
	    (f.state_mask & STATE_MASK(STATE_FAILED)) && report_unconfirmed(w.st) < 0)
		goto out;
	ret = EXIT_OK;
out:
	writer_close(&w);
	free(a.customers);
	free(was_pending);
	return ret;
}
