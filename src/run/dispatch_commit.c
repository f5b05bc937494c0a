/*
 * dispatch_commit.c: the store side of a run (dispatch_int.h): outcomes
 * held in memory, the group commit that records them and claims the next
 * rows in one transaction, the wait for a foreign lock, and the hand-off to
 * the answers journal when the database cannot be written.
 */
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "run/dispatch_int.h"
#include "store/journal.h"
#include "store/store_outcome.h"
#include "store/store_queue.h"

/*
 * Holds o (taking its strings) until the next group commit. A row going to
 * retry_wait is counted here, in memory, for the progress line.
 */
void dispatch_keep(struct dispatcher *d, struct store_outcome *o)
{
	if (o->kind == OUTCOME_RETRY)
		d->waiting++;
	if (d->nunsaved == d->aunsaved) {
		d->aunsaved = d->aunsaved ? 2 * d->aunsaved : d->nxfers + 1;
		d->unsaved = xrealloc(d->unsaved, d->aunsaved * sizeof(*d->unsaved));
	}
	d->unsaved[d->nunsaved++] = *o;
	memset(o, 0, sizeof(*o));
	if (d->nunsaved == 1)
		d->commit_due_mono = clock_mono_ms() + DISPATCH_COMMIT_MS;
}

void dispatch_drop_unsaved(struct dispatcher *d)
{
	for (size_t i = 0; i < d->nunsaved; i++)
		store_outcome_release(&d->unsaved[i]);
	d->nunsaved = 0;
}

/* The database stays unwritable: no new requests, answers in flight wait for --grace. */
static void db_failed(struct dispatcher *d, const char *why)
{
	if (d->db_failed)
		return;
	d->db_failed = 1;
	log_event(LOG_ERROR, "db_failed",
		  "the database cannot be written: no new requests; the answers held and those "
		  "still in flight go to the answers journal",
		  LOG_S("reason", why), LOG_I("held", d->nunsaved), LOG_I("in_flight", d->inflight),
		  LOG_I("grace_ms", d->cfg->grace_ms), LOG_END);
	if (d->mode == MODE_RUNNING || d->mode == MODE_DRAIN || d->mode == MODE_AUTH)
		dispatch_stop_sending(d, MODE_DBFAIL);
}

/*
 * Another process holds the write lock: back off (25 ms, doubling to 1 s)
 * while answers are held in memory, up to DISPATCH_DB_WAIT_MS in all; said
 * once the lock has lasted DISPATCH_DB_QUIET_MS. Returns 1 to try again
 * later, -1 once the limit is past.
 */
static int db_locked(struct dispatcher *d, int64_t now_mono)
{
	if (!d->db_busy) {
		d->db_busy = 1;
		d->db_busy_told = 0;
		d->db_busy_since_mono = now_mono;
		d->db_backoff_ms = 25;
	} else if (d->db_backoff_ms < 1000) {
		d->db_backoff_ms *= 2;
	}
	if (!d->db_busy_told && now_mono - d->db_busy_since_mono >= DISPATCH_DB_QUIET_MS) {
		d->db_busy_told = 1;
		log_event(LOG_WARN, "db_locked",
			  "the database is locked by another process: no new requests until it is "
			  "released; answers are held in memory meanwhile",
			  LOG_S("db", store_filename(d->st)), LOG_I("held", d->nunsaved),
			  LOG_I("waited_ms", now_mono - d->db_busy_since_mono),
			  LOG_I("limit_ms", DISPATCH_DB_WAIT_MS), LOG_END);
	}
	if (now_mono - d->db_busy_since_mono >= DISPATCH_DB_WAIT_MS) {
		error("%s: the database stayed locked by another process (an sqlite3 shell or a "
		      "backup inside a transaction) for more than %d s",
		      store_filename(d->st), DISPATCH_DB_WAIT_MS / 1000);
		db_failed(d, "locked by another process");
		return -1;
	}
	d->db_retry_mono = now_mono + d->db_backoff_ms;
	return 1;
}

/*
 * The group commit: records every unsaved outcome and, when want > 0,
 * claims up to want due rows into d->claimed, in one transaction that
 * waits at most wait_ms for a foreign lock. Returns 0 when committed
 * (*nclaimed rows claimed), 1 when the database is locked by someone else
 * (nothing changed: the outcomes are still held), -1 when it cannot be
 * written (reported; d->db_failed set).
 */
int dispatch_group_commit(struct dispatcher *d, int64_t now_ms, size_t want, int64_t wait_ms,
			  size_t *nclaimed)
{
	size_t n = 0;
	int r;

	*nclaimed = 0;
	if (d->db_failed)
		return -1;
	r = store_try_begin(d->st, wait_ms);
	if (r == 1)
		return db_locked(d, clock_mono_ms());
	if (r < 0)
		goto broken;
	for (size_t i = 0; i < d->nunsaved; i++)
		if (store_record_outcome(d->st, &d->unsaved[i]) < 0)
			goto fail;
	if (want && store_claim_due(d->st, now_ms, want, d->claimed, &n) < 0)
		goto fail;
	/*
	 * Busy at COMMIT (a rollback-journal database with a reader) is redone
	 * from memory later, like a busy BEGIN: nothing held is lost either way.
	 */
	if (store_try_commit(d->st) != 0)
		goto fail;
	if (d->db_busy && d->db_busy_told)
		log_event(LOG_INFO, "db_unlocked", "the database is writable again",
			  LOG_I("waited_ms", clock_mono_ms() - d->db_busy_since_mono),
			  LOG_I("recorded", d->nunsaved), LOG_END);
	dispatch_drop_unsaved(d);
	d->db_busy = 0;
	*nclaimed = n;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		store_job_release(&d->claimed[i]);
	r = store_last_error_busy(d->st);
	store_rollback(d->st);
	if (r)
		return db_locked(d, clock_mono_ms());
broken:
	db_failed(d, "write error (see the message above)");
	return -1;
}

/*
 * At the end of the run: commits what is held, waiting out a foreign lock
 * up to its limit (nothing else is left to serve); if the database cannot
 * be written, appends it all to the answers journal first.
 */
void dispatch_final_commit(struct dispatcher *d)
{
	size_t n;

	if (!d->nunsaved)
		return;
	if (!d->db_failed) {
		int64_t left = DISPATCH_DB_WAIT_MS;

		if (d->db_busy)
			left -= clock_mono_ms() - d->db_busy_since_mono;
		if (dispatch_group_commit(d, clock_now_ms(), 0, left > 0 ? left : 0, &n) == 0)
			return;
		if (!d->db_failed) {
			error("%s: the database stayed locked by another process (an sqlite3 shell "
			      "or a backup inside a transaction) for more than %d s",
			      store_filename(d->st), DISPATCH_DB_WAIT_MS / 1000);
			db_failed(d, "locked by another process");
		}
	}
	if (journal_append(&d->journal, d->unsaved, d->nunsaved) < 0) {
		error("%zu answers of this run could not be recorded anywhere", d->nunsaved);
	} else {
		error("kept %zu answers in the answers journal '%s': the next finch-onboard run, "
		      "import, retry or sync records them before anything else",
		      d->nunsaved, d->journal.path);
	}
	dispatch_drop_unsaved(d);
}

/* Re-reads when the next retry_wait row within the horizon is due. */
int dispatch_refresh_next_due(struct dispatcher *d, int64_t now_ms)
{
	int r =
	    store_next_retry_at(d->st, now_ms + d->cfg->retry.max_retry_after_ms, &d->next_due_ms);

	if (r < 0)
		return -1;
	d->have_next_due = r;
	return 0;
}

void dispatch_note_retry_due(struct dispatcher *d, int64_t when_ms, int64_t now_ms)
{
	if (when_ms > now_ms + d->cfg->retry.max_retry_after_ms)
		return;
	if (!d->have_next_due || when_ms < d->next_due_ms)
		d->next_due_ms = when_ms;
	d->have_next_due = 1;
}
