/*
 * store_prune.h: retention (store_prune.c): what a prune deletes, and what it
 * never deletes. Each returns 0 or -1 after reporting, as store.h says.
 */
#ifndef FINCH_STORE_PRUNE_H
#define FINCH_STORE_PRUNE_H

#include <stdint.h>

#include "store/store.h"

/* What a prune deleted, or would delete. */
struct prune_stats {
	int64_t attempts;
	int64_t runs;
	int64_t imports;
	int64_t webhook_events;
};

/*
 * Verified webhook deliveries are kept at least this long, whatever the
 * window: their Finch-Event-Ids make a redelivery a duplicate. Finch's
 * deliveries (Svix's format: msg_ ids, v1 signatures) are retried for about
 * 28 hours; 7 days leaves a margin for them and for replays by hand.
 */
#define STORE_WEBHOOK_KEEP_MS (7 * 24 * 3600 * 1000LL)

/*
 * Retention (schema/014_pruned.sql): deletes the attempts and the runs that
 * started before cutoff_ms, but never what the database still needs:
 *   - a row's latest attempt (its last answer, its last error);
 *   - an attempt holding a session_id or a connection_id that a row still
 *     shows (the link an account manager sent, the connection);
 *   - an unconfirmed 2xx (no session_id) while its row is unconfirmed or
 *     until a later 2xx with a session_id confirmed it;
 *   - the attempts of a row in_flight (none under the writer's lock, which
 *     recovered them: a guard all the same);
 *   - the attempts of the newest run, and the newest run itself (status
 *     shows it), and the run whose end is the last success (the metrics'
 *     finch_onboard_last_success_timestamp_seconds);
 *   - a run that a kept attempt references.
 * It also deletes the imports that started before cutoff_ms, but the latest
 * and any a row names (first_import, last_import), and the webhook
 * deliveries received before cutoff_ms and over STORE_WEBHOOK_KEEP_MS ago.
 * What it deletes is first added to the pruned tallies, so the metrics'
 * counters never go down. One transaction: commits, and returns 0 with the
 * counts in *out, or -1 with nothing deleted.
 */
int store_prune(struct store *st, int64_t cutoff_ms, struct prune_stats *out);
/*
 * What store_prune() would delete at cutoff_ms, counted and left alone (a
 * read-only store will do, for --dry-run).
 */
int store_prune_count(struct store *st, int64_t cutoff_ms, struct prune_stats *out);

#endif
