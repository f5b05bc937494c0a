/*
 * night.c: how a nightly run ends; see night.h.
 */
#include "run/night.h"

#include <inttypes.h>

#include "base/exitcode.h"
#include "base/util.h"
#include "finch/reconcile.h"
#include "store/store_outcome.h"
#include "store/store_report.h"

/* The night is a bad one (code): says why, and records it so. */
static int record_no_success(struct store *st, struct run_summary *sum, int code, int64_t db_rows)
{
	if (sum->sent && !(sum->created + sum->exists))
		error("no request of this run succeeded: %" PRId64 " sent, none created or "
		      "exists (exit %d); the last success stays where it was",
		      sum->sent, code);
	else
		error("the CSV gave no valid row while the database has %" PRId64
		      " (exit %d); see 'finch-onboard status' for the reasons",
		      db_rows, code);
	sum->exit_reason = "no_success";
	if (st && sum->run_id &&
	    (store_run_finish(st, sum->run_id, clock_now_ms(), sum->exit_reason) < 0 ||
	     store_run_outcome(st, sum->run_id, code, sum->pauses, sum->outages) < 0))
		return EXIT_USAGE;
	return code;
}

int night_exit(struct store *st, struct run_summary *sum, int ret, int64_t csv_valid,
	       int64_t db_rows)
{
	int64_t successes = sum->created + sum->exists;
	int code = reconcile_night_exit(ret, sum->sent, successes, csv_valid, db_rows);

	if (code != ret)
		code = record_no_success(st, sum, code, db_rows);
	if (sum->finished)
		run_end_log(sum, code);
	return code;
}

int64_t night_rows(struct store *st)
{
	struct state_counts c;

	if (store_count_states(st, clock_now_ms(), &c) < 0)
		return 0;
	return c.total - c.by_state[STATE_INVALID];
}
