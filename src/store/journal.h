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
 * A journal belongs to one database (schema/016_journal_ledger.sql): each
 * line carries the database's random id ("db") and schema version
 * ("schema"), and a random id of its own ("line_id"). Replay applies a
 * journal whole or not at all: lines of another database, or of customers
 * the database does not have, refuse it (the writer stops with exit 2,
 * naming the journal, what it holds and the ways out) and it is kept. The
 * line ids applied are committed in the same transaction as the answers
 * (the ledger, journal_applied), so a crash between that commit and the
 * removal of the file replays nothing twice.
 *
 * Name: the database's file as SQLite opened it (absolute, symlinks
 * resolved: store_filename()) plus "-answers", e.g. "/srv/onboard.db-answers",
 * beside SQLite's own "-wal" and "-journal".
 *
 * Format (version 2): JSON Lines, UTF-8, one outcome per line, each line
 * ending in "\n" and written whole by one append followed by fsync(2):
 *
 *   {"v":2,"db":"9f0c...","schema":16,"line_id":"51aa...","outcome":"created","customer_id":"acme-001","customer_row":12,
 *    "run_id":3,"attempt_no":1,"kind":"create","started_at":1764430000000,
 *    "elapsed_ms":212,"http_status":201,"transport_error":null,
 *    "finch_code":null,"request_id":"...","message":null,"session_id":"...",
 *    "connect_url":"https://...","connection_id":null,
 *    "expires_at":1772206000000,"next_attempt_at":null,
 *    "first_transient_at":null,"give_up_at":null,"minutes_to_expire":129600}
 *
 * "outcome" is created, exists, failed, retry, unsent or unconfirmed
 * (store_outcome.h's outcome_kind; an unconfirmed one adds "body", the 2xx's body
 * escaped and bounded); "kind" is create or reauth; times are milliseconds since
 * the Unix epoch; "db" and "line_id" are 32 hex digits (128 random
 * bits); absent values are null ("minutes_to_expire", what the
 * request sent, came later and is absent from older journals). Version 1
 * lines (no "db", "schema" or "line_id") are still read: they are applied
 * to whatever database replays them, their ledger key the SHA-256 of the
 * line. A last line without its "\n" is
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
#include <sys/types.h>

#include "store/store.h"
#include "store/store_outcome.h"
#include "base/strbuf.h"

#define JOURNAL_SUFFIX	"-answers"
#define JOURNAL_VERSION 2

/* Space reserved per transfer slot: a session's answer is a few hundred bytes. */
#define JOURNAL_RESERVE_PER_SLOT (16 * 1024)

/* db_file (store_filename()) + JOURNAL_SUFFIX, malloc'd; the caller frees. */
char *journal_path(const char *db_file);

/*
 * The journal of the database at db, as a writer of it would name it:
 * db's real path (symlinks resolved, as SQLite opens it) + JOURNAL_SUFFIX,
 * or db's own when it does not exist. Malloc'd; the caller frees.
 */
char *journal_path_of_db(const char *db);

/* What a line says of itself, beside its outcome. */
struct journal_stamp {
	int version;			/* 1 or 2 */
	int64_t schema;			/* the database's schema version; 0: a version 1 line */
	char db_id[STORE_ID_HEX + 1];	/* the database's id; "": a version 1 line */
	char line_id[STORE_ID_HEX + 8]; /* the ledger key: "line_id", or "sha256:..." (v1) */
};

/*
 * Appends o as one JSON line, "\n" included, to out, stamped with db_id
 * (store_database_id()), this binary's schema version and line_id (both
 * STORE_ID_HEX hex digits). Pure.
 */
void journal_encode(const struct store_outcome *o, const char *db_id, const char *line_id,
		    struct strbuf *out);

/*
 * Decodes one line (without its "\n"; need not be NUL-terminated) into *o,
 * whose strings become owned (store_outcome_release()), and *stamp.
 * Returns 0, or -1 with the reason in why (nothing printed) and *o empty.
 */
int journal_decode(const char *line, size_t len, struct store_outcome *o,
		   struct journal_stamp *stamp, char *why, size_t size);

/* One line of a journal, decoded. */
struct journal_entry {
	struct store_outcome o;
	struct journal_stamp stamp;
	int64_t lineno; /* 1-based */
};

struct journal_entries {
	struct journal_entry *v;
	size_t n;
	int torn;    /* the last line lacked its "\n" (a crash mid-append): left out */
	uid_t owner; /* the file's owner and mode, from fstat(2) on the descriptor read */
	mode_t mode;
};

/*
 * Reads and decodes every whole line of the journal at path (read only,
 * without any lock; never changes it). Returns 1 when it has lines, 0 when
 * it is absent or empty, -1 after reporting a read error or a line that
 * does not decode (naming the file and line). journal_entries_release()
 * in every case.
 */
int journal_load(const char *path, struct journal_entries *out);
void journal_entries_release(struct journal_entries *e);

/* The first database id of e's lines that is not ours, or NULL: all are ours (or version 1). */
const char *journal_entries_foreign(const struct journal_entries *e, const char *ours);

/* An open journal a run may append to. */
struct journal {
	int fd; /* -1: not open */
	char *path;
	int64_t appended;	      /* outcomes appended by this process */
	char db_id[STORE_ID_HEX + 1]; /* the database's id, stamped on every line */
};

#define JOURNAL_INIT                                                                               \
	{                                                                                          \
		-1, NULL, 0, ""                                                                    \
	}

/*
 * Opens (creating, mode 0600, never through a symlink) the journal of
 * st's database (store_filename()) for appending, its lines stamped with
 * st's id, fsyncs its folder, and reserves reserve_bytes of
 * disk for it. A file system without fallocate is not an error; a
 * reservation that fails (no space) is, reported with the free space and
 * the empty journal removed: a run must not send what it could not record.
 * Returns 0 or -1 after reporting.
 */
int journal_open(struct journal *j, struct store *st, size_t reserve_bytes);

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
/* journal_waiting() of the journal at path. */
int64_t journal_waiting_file(const char *path);

/*
 * Replays st's journal into st (store_replay_outcome() for each line not
 * in the ledger yet, the ledger updated with it), in one transaction,
 * commits, then removes the file and fsyncs the folder. Called by every
 * writer under the database lock, before anything else (before crash
 * recovery, which would take the journaled rows for lost ones). Nothing to
 * replay is 0 with *count 0. A journal of another database, or with
 * customers st does not have, is refused whole: -1 after an error naming
 * it, what it holds and the ways out. Returns 0 or -1 after reporting; on
 * -1 the journal stays, untouched.
 */
int journal_replay(struct store *st, int64_t *count);

/*
 * journal_replay() of the journal at path, which is kept unless remove:
 * a dry run replays the real database's journal into its copy.
 */
int journal_replay_path(struct store *st, const char *path, int remove, int64_t *count);

#endif
