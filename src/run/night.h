/*
 * night.h: how a nightly run ends (issue 16): a bad night is never
 * reported as a good one. The rule is reconcile_night_exit(); this applies
 * it to a run that dispatch_run() finished, and records it.
 */
#ifndef FINCH_NIGHT_H
#define FINCH_NIGHT_H

#include <stdint.h>

#include "run/dispatch.h"
#include "store/store.h"

/*
 * Returns the exit code of the night from ret, dispatch_run()'s (or the
 * sync's): EXIT_NO_SUCCESS when the run sent requests and got no created
 * or exists answer, or when the CSV gave no valid row (csv_valid 0; -1
 * when there was no import) while the database held rows in good standing
 * (db_rows). Then the run is recorded with that code and the reason
 * "no_success" (so the last-success time of the metrics stays where it
 * was), an error names why, and sum->exit_reason says it. Any other ret
 * comes back as it was. Logs the run_end event (run_end_log()) with the
 * code it returns, when the run got that far.
 */
int night_exit(struct store *st, struct run_summary *sum, int ret, int64_t csv_valid,
	       int64_t db_rows);

/* Rows of st that are customers in good standing: every row but the invalid ones. */
int64_t night_rows(struct store *st);

#endif
