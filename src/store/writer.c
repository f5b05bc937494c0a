/*
 * writer.c: see writer.h.
 */
#include "store/writer.h"

#include <stdlib.h>

#include "base/exitcode.h"
#include "store/journal.h"
#include "store/store_queue.h"
#include "base/log.h"
#include "base/util.h"

/*
 * Every recovery of a crashed writer's leftovers goes here, and only here,
 * so no writer can miss one.
 */
static int recover(struct store *st, const char *journal, int remove, int64_t *replayed,
		   int64_t *recovered)
{
	int64_t n = 0;

	if (journal_replay_path(st, journal, remove, replayed) < 0)
		return -1;
	if (store_recover_in_flight(st, clock_now_ms(), &n) < 0)
		return -1;
	if (n)
		log_event(LOG_WARN, "recovered",
			  "put back rows a crashed run left in flight; their last attempts are "
			  "recorded as outcome unknown",
			  LOG_I("rows", n), LOG_END);
	*recovered = n;
	return 0;
}

int writer_recover(struct store *st, int64_t *replayed, int64_t *recovered)
{
	char *journal = journal_path(store_filename(st));
	int ret = recover(st, journal, 1, replayed, recovered);

	free(journal);
	return ret;
}

int writer_recover_copy(struct store *copy, const char *db, int64_t *replayed, int64_t *recovered)
{
	char *journal = journal_path_of_db(db);
	int ret = recover(copy, journal, 0, replayed, recovered);

	free(journal);
	return ret;
}

int writer_open(struct writer *w, const char *db, unsigned flags)
{
	int r;

	/* before the lock, which would take "file:o.db" for a path (store.h) */
	if (store_refuse_uri(db) < 0)
		return EXIT_USAGE;
	r = lockfile_acquire(&w->lk, db, flags & WRITER_MUST_EXIST ? 0 : LOCKFILE_CREATE);

	if (r == -2)
		return EXIT_LOCKED;
	if (r < 0 || store_open(db, &w->st) < 0 ||
	    writer_recover(w->st, &w->replayed, &w->recovered) < 0)
		return EXIT_USAGE;
	return EXIT_OK;
}

void writer_close(struct writer *w)
{
	store_close(w->st);
	w->st = NULL;
	lockfile_release(&w->lk);
}
