/*
 * cmd_retry.c: `finch-onboard retry`, which puts finished rows back in the
 * queue (failed ones by default) so the next run sends them again.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cmd.h"
#include "lockfile.h"
#include "store.h"
#include "util.h"

static const char retry_usage[] =
    "usage: finch-onboard retry [--db PATH] [--state LIST] [--finch-code CODE]\n"
    "                           [--http-status N] [--customer ID]...\n"
    "\n"
    "Re-queues matching rows to pending with a fresh attempt budget, keeping\n"
    "their history; the next run sends those rows. By default every failed row.\n"
    "\n"
    "  --db PATH          the database (default " DEFAULT_DB_PATH ")\n"
    "  --state LIST       rows in these states (default failed); any of failed,\n"
    "                     retry_wait, created, exists\n"
    "  --finch-code CODE  only rows whose last finch_code is CODE\n"
    "  --http-status N    only rows whose last HTTP status is N\n"
    "  --customer ID      only this customer; repeat for more. An unknown ID is\n"
    "                     an error and nothing is re-queued\n"
    "  -h, --help         show this help\n";

/* The --customer ids, sorted for lookup, with what the store says of each. */
struct wanted {
	const char *id;
	int found;
	enum row_state state;
};

struct lookup {
	struct wanted *w;
	size_t n;
};

static int cmp_wanted(const void *a, const void *b)
{
	return strcmp(((const struct wanted *)a)->id, ((const struct wanted *)b)->id);
}

static int lookup_cb(const struct export_row *row, void *data)
{
	struct lookup *lk = data;
	struct wanted key = {row->customer_id, 0, STATE_PENDING}, *hit;

	hit = bsearch(&key, lk->w, lk->n, sizeof(*lk->w), cmp_wanted);
	if (hit) {
		hit->found = 1;
		hit->state = row->state;
	}
	return 0;
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
 * Checks every --customer id against the store. An unknown id is an error
 * (returns -1, nothing is changed); a known one in another state gets a
 * warning, since the store will simply not move it.
 */
static int check_customers(struct store *st, const char *db, const char *const *ids, size_t n,
			   unsigned mask)
{
	struct lookup lk = {xcalloc(n, sizeof(struct wanted)), n};
	char states[128];
	size_t i;
	int ret = 0;

	for (i = 0; i < n; i++)
		lk.w[i].id = ids[i];
	qsort(lk.w, n, sizeof(*lk.w), cmp_wanted);
	/* A plain scan: --customer lists are short, and retry is not a hot path. */
	if (store_each_export(st, &(struct export_filter){0, 0}, lookup_cb, &lk) < 0) {
		ret = -1;
		goto out;
	}
	describe_mask(mask, states, sizeof(states));
	for (i = 0; i < n; i++) {
		if (i && !strcmp(lk.w[i].id, lk.w[i - 1].id))
			continue;
		if (!lk.w[i].found)
			ret = error("--customer: no customer '%s' in '%s'", lk.w[i].id, db);
		else if (!(mask & STATE_MASK(lk.w[i].state)))
			warning("customer '%s' is %s, not %s: left alone (see --state)", lk.w[i].id,
				state_name(lk.w[i].state), states);
	}
out:
	free(lk.w);
	return ret;
}

int cmd_retry(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"state", required_argument, NULL, 's'},
	    {"finch-code", required_argument, NULL, 'f'},
	    {"http-status", required_argument, NULL, 'H'},
	    {"customer", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct requeue_filter f = {STATE_MASK(STATE_FAILED), NULL, 0, NULL, 0};
	struct lockfile lk = LOCKFILE_INIT;
	const char **customers = NULL;
	const char *db = DEFAULT_DB_PATH;
	struct store *st = NULL;
	int64_t v, count = 0;
	int c, ret = EXIT_USAGE;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 's':
			if (state_mask_parse(optarg, &f.state_mask) < 0)
				goto out;
			if (f.state_mask & STATE_MASK(STATE_INVALID)) {
				error("--state: invalid rows cannot be re-queued; fix them in the "
				      "CSV and import it again");
				goto out;
			}
			if (f.state_mask & STATE_MASK(STATE_IN_FLIGHT)) {
				error("--state: in_flight rows cannot be re-queued; the next run "
				      "recovers them");
				goto out;
			}
			if (f.state_mask & STATE_MASK(STATE_PENDING)) {
				error("--state: pending rows are queued already");
				goto out;
			}
			break;
		case 'f':
			if (!*optarg) {
				error("--finch-code: empty code");
				goto out;
			}
			f.finch_code = optarg;
			break;
		case 'H':
			if (parse_int64(optarg, 100, 599, &v) < 0) {
				error("--http-status: '%s' is not an HTTP status (100..599)",
				      optarg);
				goto out;
			}
			f.http_status = (long)v;
			break;
		case 'c':
			if (!*optarg) {
				error("--customer: empty customer id");
				goto out;
			}
			customers = xrealloc(customers, (f.ncustomers + 1) * sizeof(*customers));
			customers[f.ncustomers++] = optarg;
			break;
		case 'h':
			fputs(retry_usage, stdout);
			ret = EXIT_OK;
			goto out;
		default:
			cli_bad_option(c, argv);
			fputs(retry_usage, stderr);
			goto out;
		}
	}
	if (optind < argc) {
		error("unexpected argument '%s'", argv[optind]);
		fputs(retry_usage, stderr);
		goto out;
	}
	f.customers = customers;
	if (!f.state_mask)
		f.state_mask = STATE_MASK(STATE_FAILED);

	/* retry changes rows: it must not create an empty database by mistake. */
	if (access(db, F_OK) < 0) {
		error_errno("cannot open database '%s'", db);
		goto out;
	}
	switch (lockfile_acquire(&lk, db, "retry")) {
	case 0:
		break;
	case -2:
		ret = EXIT_LOCKED;
		goto out;
	default:
		goto out;
	}
	if (store_open(db, &st) < 0)
		goto out;
	if (f.ncustomers && check_customers(st, db, customers, f.ncustomers, f.state_mask) < 0)
		goto out;
	if (store_requeue(st, &f, clock_now_ms(), &count) < 0)
		goto out;
	printf("re-queued %lld row%s\n", (long long)count, count == 1 ? "" : "s");
	ret = EXIT_OK;
out:
	store_close(st);
	lockfile_release(&lk);
	free(customers);
	return ret;
}
