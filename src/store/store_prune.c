/*
 * store_prune.c: retention, the history a prune deletes and what it keeps
 * (schema/014_pruned.sql); see store_prune.h.
 *
 * The keep rule is one SQL condition per table, shared by the count of a
 * dry run, the tallies and the deletes, so the three can never disagree.
 */
#include "store/store_prune.h"

#include <sqlite3.h>
#include <string.h>

#include "base/util.h"
#include "store/store_int.h"

/*
 * An attempt that started before ?1 and that nothing needs: not its row's
 * latest (attempt_no is 1-based over the row's whole history, and
 * attempts_by_customer serves the max), not of the newest run, not of a row
 * in flight, and holding no session_id or connection_id that a row shows.
 * Nor an unconfirmed answer (schema/013_unconfirmed.sql: a 2xx without a
 * session_id, its Finch-Request-Id the only trace of a session that may
 * exist) while its row is unconfirmed or no later 2xx with a session_id
 * confirmed it: a `retry --unconfirmed` clears the row's flag, and the
 * attempts it adds would otherwise leave the answer unprotected. Nor a
 * row's first 2xx create: the funnel's link_at (store_report.c), the day
 * its first link was made.
 * The IN lists are computed once per statement, not per attempt; neither
 * holds a NULL, so the condition is never NULL.
 */
#define PRUNABLE_ATTEMPT                                                                           \
	"(attempts.started_at < ?1 "                                                               \
	"AND attempts.run_id IS NOT (SELECT max(id) FROM runs) "                                   \
	"AND attempts.attempt_no < (SELECT max(b.attempt_no) FROM attempts AS b "                  \
	"WHERE b.customer = attempts.customer) "                                                   \
	"AND attempts.customer NOT IN (SELECT id FROM customers WHERE state = 'in_flight') "       \
	"AND (attempts.session_id IS NULL OR attempts.session_id NOT IN "                          \
	"(SELECT session_id FROM customers WHERE session_id IS NOT NULL)) "                        \
	"AND (attempts.connection_id IS NULL OR attempts.connection_id NOT IN "                    \
	"(SELECT connection_id FROM customers WHERE connection_id IS NOT NULL)) "                  \
	"AND NOT (coalesce(attempts.http_status, 0) BETWEEN 200 AND 299 "                          \
	"AND attempts.session_id IS NULL "                                                         \
	"AND (attempts.customer IN (SELECT id FROM customers WHERE unconfirmed = 1) "              \
	"OR NOT EXISTS (SELECT 1 FROM attempts AS c WHERE c.customer = attempts.customer "         \
	"AND c.attempt_no > attempts.attempt_no AND c.http_status BETWEEN 200 AND 299 "            \
	"AND c.session_id IS NOT NULL))) "                                                         \
	"AND NOT (attempts.kind = 'create' AND coalesce(attempts.http_status, 0) BETWEEN 200 "     \
	"AND 299 AND attempts.started_at = (SELECT min(d.started_at) FROM attempts AS d "          \
	"WHERE d.customer = attempts.customer AND d.kind = 'create' "                              \
	"AND d.http_status BETWEEN 200 AND 299)))"

/*
 * A run that started before ?1, neither the newest nor the last success,
 * and that no kept attempt references (attempts_by_run serves the lookup).
 * Once the prunable attempts are gone every attempt left is a kept one;
 * before (a dry run's count) the condition says the same.
 */
#define PRUNABLE_RUN                                                                               \
	"(runs.started_at < ?1 AND runs.id IS NOT (SELECT max(id) FROM runs) "                     \
	"AND runs.id IS NOT (SELECT id FROM runs WHERE exit_code IN (0, 1) "                       \
	"ORDER BY ended_at DESC, id DESC LIMIT 1) "                                                \
	"AND NOT EXISTS (SELECT 1 FROM attempts WHERE attempts.run_id = runs.id "                  \
	"AND NOT " PRUNABLE_ATTEMPT "))"

/*
 * An import that started before ?1, not the latest (S_LAST_IMPORT: status
 * and the metrics read it), and that no row names as its first_import or
 * last_import.
 */
#define PRUNABLE_IMPORT                                                                            \
	"(imports.started_at < ?1 AND imports.id IS NOT (SELECT max(id) FROM imports) "            \
	"AND imports.id NOT IN (SELECT first_import FROM customers "                               \
	"WHERE first_import IS NOT NULL) "                                                         \
	"AND imports.id NOT IN (SELECT last_import FROM customers WHERE last_import IS NOT NULL))"

/*
 * A webhook delivery received before ?2: the caller's cutoff, but never
 * later than STORE_WEBHOOK_KEEP_MS ago (the Finch-Event-Id idempotency).
 */
#define PRUNABLE_WEBHOOK "(webhook_events.received_at < ?2)"

const char *const store_prune_sql[S_STMT_COUNT] = {
    [S_PRUNE_COUNT] = "SELECT (SELECT count(*) FROM attempts WHERE " PRUNABLE_ATTEMPT "), "
		      "(SELECT count(*) FROM runs WHERE " PRUNABLE_RUN "), "
		      "(SELECT count(*) FROM imports WHERE " PRUNABLE_IMPORT "), "
		      "(SELECT count(*) FROM webhook_events WHERE " PRUNABLE_WEBHOOK ")",
    /* WHERE before ON CONFLICT: SQLite's upsert needs it after a SELECT */
    [S_PRUNE_TALLY_REQUESTS] =
	"INSERT INTO pruned_requests(class, requests, throttled) "
	"SELECT coalesce(http_status / 100, 0), count(*), coalesce(sum(http_status = 429), 0) "
	"FROM attempts WHERE " PRUNABLE_ATTEMPT " GROUP BY 1 "
	"ON CONFLICT(class) DO UPDATE SET requests = requests + excluded.requests, "
	"throttled = throttled + excluded.throttled",
    [S_PRUNE_ATTEMPTS] = "DELETE FROM attempts WHERE " PRUNABLE_ATTEMPT,
    [S_PRUNE_TALLY_RUNS] =
	"INSERT INTO pruned_runs(id, runs, pauses, outages) "
	"SELECT 1, count(*), coalesce(sum(pauses), 0), coalesce(sum(outages), 0) "
	"FROM runs WHERE " PRUNABLE_RUN " "
	"ON CONFLICT(id) DO UPDATE SET runs = runs + excluded.runs, "
	"pauses = pauses + excluded.pauses, outages = outages + excluded.outages",
    [S_PRUNE_RUNS] = "DELETE FROM runs WHERE " PRUNABLE_RUN,
    [S_PRUNE_IMPORTS] = "DELETE FROM imports WHERE " PRUNABLE_IMPORT,
    [S_PRUNE_WEBHOOKS] = "DELETE FROM webhook_events WHERE " PRUNABLE_WEBHOOK,
};

/* The webhook deliveries' cutoff: cutoff_ms, or STORE_WEBHOOK_KEEP_MS ago if earlier. */
static int64_t webhook_cutoff(int64_t cutoff_ms)
{
	int64_t floor_ms = clock_now_ms() - STORE_WEBHOOK_KEEP_MS;

	return cutoff_ms < floor_ms ? cutoff_ms : floor_ms;
}

/* Binds the cutoff to statement id and runs it; *changes: the rows it changed. */
static int exec_cutoff(struct store *st, enum stmt_id id, int64_t cutoff_ms, int64_t *changes)
{
	sqlite3_bind_int64(st->stmt[id], 1, cutoff_ms);
	if (id == S_PRUNE_WEBHOOKS)
		sqlite3_bind_int64(st->stmt[id], 2, webhook_cutoff(cutoff_ms));
	if (store_exec(st, id) < 0)
		return -1;
	if (changes)
		*changes = sqlite3_changes64(st->db);
	return 0;
}

int store_prune(struct store *st, int64_t cutoff_ms, struct prune_stats *out)
{
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (store_begin(st) < 0)
		return -1;
	/* the tallies first: each reads what its delete removes */
	if (exec_cutoff(st, S_PRUNE_TALLY_REQUESTS, cutoff_ms, NULL) < 0 ||
	    exec_cutoff(st, S_PRUNE_ATTEMPTS, cutoff_ms, &out->attempts) < 0 ||
	    exec_cutoff(st, S_PRUNE_TALLY_RUNS, cutoff_ms, NULL) < 0 ||
	    exec_cutoff(st, S_PRUNE_RUNS, cutoff_ms, &out->runs) < 0 ||
	    exec_cutoff(st, S_PRUNE_IMPORTS, cutoff_ms, &out->imports) < 0 ||
	    exec_cutoff(st, S_PRUNE_WEBHOOKS, cutoff_ms, &out->webhook_events) < 0)
		goto out;
	ret = store_commit(st);
out:
	if (ret < 0) {
		store_rollback(st);
		memset(out, 0, sizeof(*out));
	}
	return ret;
}

int store_prune_count(struct store *st, int64_t cutoff_ms, struct prune_stats *out)
{
	sqlite3_stmt *s = st->stmt[S_PRUNE_COUNT];

	memset(out, 0, sizeof(*out));
	sqlite3_bind_int64(s, 1, cutoff_ms);
	sqlite3_bind_int64(s, 2, webhook_cutoff(cutoff_ms));
	return store_one_row(
	    st, S_PRUNE_COUNT,
	    (int64_t *[]){&out->attempts, &out->runs, &out->imports, &out->webhook_events}, 4,
	    "cannot count the history to prune");
}
