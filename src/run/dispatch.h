/*
 * dispatch.h: the run itself. One libcurl multi handle sends every due row
 * of the store, at most N at a time and no faster than the rate limit, and
 * records each outcome durably (the dispatcher of curl's --parallel, with
 * per-row retry state in SQLite instead of memory).
 *
 * The loop never sleeps: a row waiting for its retry goes back to the store
 * as retry_wait with next_attempt_at, holds no transfer slot, and is claimed
 * again once due. The poll timeout is the time to the next token, the next
 * due retry or the next group commit, whichever comes first.
 *
 * Durability: a row is committed in_flight before its request goes out;
 * outcomes are held in memory and written in one transaction committed at
 * most 100 ms after the first of them (and before any new claim is sent).
 * Nothing the API answered is lost: while the database is locked by another
 * process the outcomes stay held (up to DISPATCH_DB_WAIT_MS); when it
 * cannot be written (full disk, I/O error, that limit) no new request goes
 * out, the answers in flight are awaited up to --grace, and every held
 * outcome is appended to the answers journal (journal.h), fsync'd, before
 * the run stops. A 401 stops new requests the same way and records the
 * answers that arrive within --grace.
 */
#ifndef FINCH_DISPATCH_H
#define FINCH_DISPATCH_H

#include <stdint.h>
#include <stdio.h>

#include "run/options.h"
#include "store/store.h"
#include "store/store_report.h"

/* Outcomes are committed at most this long after the first uncommitted one. */
#define DISPATCH_COMMIT_MS 100

/*
 * A foreign write lock on the database (an sqlite3 shell, a backup) is
 * waited out this long: meanwhile no new request goes out, answers in flight
 * are still collected and held in memory, and the commit is retried with
 * backoff. Past it, the run stops as for a full disk: the answers held go
 * to the answers journal (journal.h).
 */
#define DISPATCH_DB_WAIT_MS 60000
/*
 * A foreign lock shorter than this is not reported: `webhooks serve` takes
 * the write lock for a few milliseconds per delivery while a sync runs, and
 * the answers are held in memory meanwhile, so nothing is at stake.
 */
#define DISPATCH_DB_QUIET_MS 1000
/*
 * Once a commit found the database locked, the next ones wait this long for
 * the lock (the loop stops that long at most): a receiver that writes a
 * delivery every few milliseconds frees the lock for a moment only, which a
 * commit that does not wait would almost never catch.
 */
#define DISPATCH_DB_SHARE_WAIT_MS 25

/* What one run did, for the summary and for `sync`. */
struct run_summary {
	int64_t run_id;
	int64_t
	    replayed; /* answers of a stopped run, from the answers journal (the caller sets it) */
	int64_t
	    recovered;	 /* in_flight rows of a crashed run, put back first (the caller sets it) */
	int64_t to_send; /* pending and retry_wait rows at the start */
	int64_t sent;	 /* requests that went out (attempts) */
	int64_t created, exists, failed; /* final outcomes in this run */
	int64_t retries;		 /* transient failures scheduled for another attempt */
	int64_t deferred;		 /* of which: hint longer than --max-retry-after */
	int64_t throttled;		 /* 429 answers */
	int64_t unsent; /* rows a 401 or a signal left unsent or unanswered, their budget kept */
	int64_t cut_unknown;	   /* of which: cut short after they went out, outcome unknown */
	int64_t timed_out_unknown; /* no answer within --timeout after they went out: left for a
				      later run (RETRY_UNKNOWN_SETTLE_MS) */
	int64_t resent_unknown;	   /* requests for rows whose last request's outcome was unknown */
	int64_t elapsed_ms;
	struct state_counts counts; /* the whole store at the end: by_state, withdrawn, total */
	int64_t outages;	    /* times the API stopped answering mid-run (breaker.h) */
	int64_t pauses;		    /* times a client-wide 429 paused every request */
	const char *exit_reason;    /* "done", "rows_failed", "auth", "unreachable", ... */
	int finished;		    /* the run reached its verdict: run_end_log() tells it */
};

/*
 * Runs every due row of st as cfg says (cfg must have been through
 * run_config_finish() with credentials). The caller holds the database
 * lock and has recovered a crashed run's rows (writer_open()). Installs SIGINT/SIGTERM handlers for
 * the duration of the run and restores the previous ones. Fills *out (may be NULL) and returns an
 * exit code of cmd.h: EXIT_OK when every row ended created or exists, EXIT_ROWS when some are
 * failed, invalid or still waiting, EXIT_AUTH after a 401, EXIT_INTERRUPTED after a signal,
 * EXIT_USAGE (2) on a fatal error such as a broken database, already reported.
 */
int dispatch_run(struct store *st, const struct run_config *cfg, struct run_summary *out);

/*
 * The --dry-run of a run: prints to f every request a run would send now
 * (method, URL, headers with Authorization shown as "Basic [redacted]",
 * body), changes nothing and sends nothing. *count tells how many. Returns
 * 0 or -1.
 */
int dispatch_dry_run(struct store *st, const struct run_config *cfg, FILE *f, int64_t *count);

/* Prints the end-of-run summary (counts per state, retries, elapsed) to f. */
void run_summary_print(FILE *f, const struct run_summary *s);

/*
 * The run_end event: what the run did and the exit code the process ends
 * with. dispatch_run() does not log it: night_exit() (night.h) does, once
 * it has the night's final code, so a JSON log never says exit 1 for a
 * process that exits 8.
 */
void run_end_log(const struct run_summary *sum, int code);

/* The exit code a finished run gets from the store's counts (EXIT_OK or EXIT_ROWS). */
int run_exit_code_for_counts(const struct state_counts *c);
/*
 * And the exit reason that says why: "done" (every row created or exists),
 * else "rows_failed" if any row failed, else "rows_invalid" if any is
 * invalid, else "rows_waiting" (rows left in retry_wait or pending). The
 * other reasons, for runs that stop early: "auth", "unreachable", "server_errors",
 * "tls_untrusted", "stopped", "interrupted", "error".
 */
const char *run_exit_reason_for_counts(const struct state_counts *c);

/*
 * Open files a run needs besides its sockets: the database, its WAL, -shm
 * and journal, the lock file, the signal pipe, libcurl's wakeup pair and
 * epoll handle, stdio, a --metrics-file, with room to spare.
 */
#define DISPATCH_FD_RESERVE 32

/*
 * The file descriptor plan of a run (pure, for tests): with RLIMIT_NOFILE
 * at soft/hard, *new_soft is the soft limit to set (concurrency +
 * DISPATCH_FD_RESERVE, at most hard; soft itself when that is enough), and
 * the result is the number of transfers that fit (concurrency, or fewer,
 * at least 1).
 */
int64_t dispatch_fd_plan(int64_t concurrency, int64_t soft, int64_t hard, int64_t *new_soft);

/* A small seeded PRNG for the jitter: splitmix64, uniform in [0, 1). Exposed for tests. */
double dispatch_random(uint64_t *state);

#endif
