/*
 * writer.h: how every command that changes the database begins (`import`,
 * `run`, `retry`, `sync`), in one place so that none can skip a step:
 *
 *   1. the lock on the database file (lockfile.h): one writer per file,
 *      whatever the path that names it;
 *   2. the store (store.h), opened and migrated;
 *   3. recovery of what a stopped or crashed writer left (writer_recover()),
 *      under the lock and before any row changes: first the answers journal
 *      (journal.h), then the rows still in flight.
 *
 * Recovery first is what keeps a crash from spreading: a row a killed run
 * left in_flight goes back to pending with its lost attempt recorded as
 * "outcome unknown" before an import can update it (which would otherwise
 * drop that attempt from its history, or trip the state trigger when the
 * new CSV makes the row invalid), and before a retry or a run selects rows.
 */
#ifndef FINCH_WRITER_H
#define FINCH_WRITER_H

#include <stdint.h>

#include "base/lockfile.h"
#include "store/store.h"

struct writer {
	struct lockfile lk;
	struct store *st;
	int64_t replayed;  /* answers a stopped run journaled, recorded by writer_open() */
	int64_t recovered; /* in_flight rows a crashed writer left, put back by writer_open() */
};

#define WRITER_INIT                                                                                \
	{                                                                                          \
		LOCKFILE_INIT, NULL, 0, 0                                                          \
	}

/* Flags of writer_open(). */
enum {
	WRITER_MUST_EXIST = 1, /* no database is an error, not a new empty one (retry) */
};

/*
 * Takes the lock on db, opens the store and recovers (writer_recover()).
 * Returns an exit code of cmd.h: EXIT_OK with w->st open, EXIT_LOCKED when
 * another process writes to db (the message names it), or EXIT_USAGE after
 * reporting any other error. Call writer_close() in every case.
 */
int writer_open(struct writer *w, const char *db, unsigned flags);

/*
 * The first thing under the lock: records the answers a stopped run left in
 * the answers journal (journal_replay(); *replayed tells how many), then puts
 * back the rows a crashed run left in_flight, recording each lost attempt as
 * "outcome unknown", and logs it (event "recovered"; *recovered tells how
 * many rows). In that order: a journaled answer's row is still in flight,
 * and must not be taken for lost. Commits. Every writer calls it through
 * writer_open(); a dry run calls it on its copy of the database.
 */
int writer_recover(struct store *st, int64_t *replayed, int64_t *recovered);

/*
 * writer_recover() of a dry run's copy of the database at db
 * (scratch_open()): the answers journal replayed is db's, which is read
 * and kept, so the dry run plans as the real command would after its own
 * replay. A journal the real command would refuse is refused.
 */
int writer_recover_copy(struct store *copy, const char *db, int64_t *replayed, int64_t *recovered);

/* Closes the store, then releases the lock (lockfile.h says why in that order). */
void writer_close(struct writer *w);

#endif
