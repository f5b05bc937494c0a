/*
 * journal.h: the answers journal, where a run keeps the answers it could
 * not commit, so that nothing the API answered is ever lost.
 *
 * Finch has no idempotency key (FINCH.md): a session the API created but we
 * did not record is gone for good, and the next run creates a second one.
 * When the database stays unwritable (a full disk, an I/O error, a foreign
 * write lock held past DISPATCH_DB_WAIT_MS), the run appends every outcome
 * it holds in memory to this file, fsyncs it, and only then stops. The
 * next writer of the database replays it before anything else
 * (journal_replay()), in one transaction, and then removes it.
 *
 * Name: the database's file as SQLite opened it (absolute, symlinks
 * resolved: store_filename()) plus "-answers", e.g. "/srv/onboard.db-answers",
 * beside SQLite's own "-wal" and "-journal".
 *
 * Format (version 1): JSON Lines, UTF-8, one outcome per line, each line
 * ending in "\n" and written whole by one append followed by fsync(2):
 *
 *   {"v":1,"outcome":"created","customer_id":"acme-001","customer_row":12,
 *    "run_id":3,"attempt_no":1,"kind":"create","started_at":1764430000000,
 *    "elapsed_ms":212,"http_status":201,"transport_error":null,
 *    "finch_code":null,"request_id":"...","message":null,"session_id":"...",
 *    "connect_url":"https://...","connection_id":null,
 *    "expires_at":1772206000000,"next_attempt_at":null,
 *    "first_transient_at":null,"give_up_at":null,"minutes_to_expire":129600}
 *
 * "outcome" is created, exists, failed, retry, unsent or unconfirmed
 * (store.h's outcome_kind; an unconfirmed one adds "body", the 2xx's body
 * escaped and bounded); "kind" is create or reauth; times are milliseconds since
 * the Unix epoch; absent values are null ("minutes_to_expire", what the
 * request sent, came later and is absent from older journals). A last line without its "\n" is
 * an append a crash cut short, never acknowledged: replay ignores it with a
 * warning. Any other line that does not decode stops the replay and the
 * writer, naming the file and line, with the file left in place.
 *
 * A full disk must not keep the journal from being written: journal_open()
 * reserves its space up front (fallocate(2) with FALLOC_FL_KEEP_SIZE, so
 * the file still reads as empty), and a run opens it before its first
 * request.
 */
#ifndef FINCH_JOURNAL_H
#define FINCH_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "base/strbuf.h"

#define JOURNAL_SUFFIX	"-answers"
#define JOURNAL_VERSION 1

/* Space reserved per transfer slot: a session's answer is a few hundred bytes. */
#define JOURNAL_RESERVE_PER_SLOT (16 * 1024)

/* db_file (store_filename()) + JOURNAL_SUFFIX, malloc'd; the caller frees. */
char *journal_path(const char *db_file);

/* Appends o as one JSON line, "\n" included, to out. Pure. */
void journal_encode(const struct store_outcome *o, struct strbuf *out);

/*
 * Decodes one line (without its "\n"; need not be NUL-terminated) into *o,
 * whose strings become owned (store_outcome_release()). Returns 0, or -1
 * with the reason in why (nothing printed) and *o empty.
 */
int journal_decode(const char *line, size_t len, struct store_outcome *o, char *why, size_t size);

/* An open journal a run may append to. */
struct journal {
	int fd; /* -1: not open */
	char *path;
	int64_t appended; /* outcomes appended by this process */
};

#define JOURNAL_INIT                                                                               \
	{                                                                                          \
		-1, NULL, 0                                                                        \
	}

/*
 * Opens (creating, mode 0600, never through a symlink) the journal of
 * db_file for appending, fsyncs its folder, and reserves reserve_bytes of
 * disk for it. A file system without fallocate is not an error; a
 * reservation that fails (no space) is, reported with the free space and
 * the empty journal removed: a run must not send what it could not record.
 * Returns 0 or -1 after reporting.
 */
int journal_open(struct journal *j, const char *db_file, size_t reserve_bytes);

/*
 * Appends the n outcomes as one write and fsyncs. Returns 0, or -1 after
 * reporting (the file then holds whole lines only, or a torn last one).
 */
int journal_append(struct journal *j, const struct store_outcome *o, size_t n);

/*
 * Closes j. A journal this process appended nothing to, and that holds
 * nothing, is removed (a crash may leave an empty one: harmless).
 */
void journal_close(struct journal *j);

/*
 * Counts the whole lines waiting in db_file's journal: 0 when there is
 * none (or it is empty), -1 after reporting a read error. For `status`.
 */
int64_t journal_waiting(const char *db_file);

/*
 * Replays db_file's journal into st (store_replay_outcome() for each line),
 * in one transaction, commits, then removes the file and fsyncs the folder.
 * Called by every writer under the database lock, before anything else
 * (before crash recovery, which would take the journaled rows for lost
 * ones). Nothing to replay is 0 with *count 0. Returns 0 or -1 after
 * reporting; on -1 the journal stays for the next try.
 */
int journal_replay(struct store *st, int64_t *count);

#endif
