/*
 * dispatch_int.h: what the files of the run loop share, and nothing else
 * includes (only src/run/dispatch*.c). The loop itself, setup and the dry
 * run are in dispatch_loop.c; the group commit and the answers journal hand-off
 * in dispatch_commit.c; what a finished transfer means for its row in
 * dispatch_answer.c; signals, grace and how a run ends in dispatch_stop.c.
 */
#ifndef FINCH_DISPATCH_INT_H
#define FINCH_DISPATCH_INT_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "finch/breaker.h"
#include "finch/ratelimit.h"
#include "run/dispatch.h"
#include "run/progress.h"
#include "run/transfer.h"
#include "base/redact.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "store/journal.h"

/* Without any deadline, the loop still looks around this often. */
#define MAX_POLL_MS 1000

enum run_mode {
	MODE_RUNNING, /* claiming and sending */
	/*
	 * Every mode below but MODE_ABORT drains: no new request, the answers
	 * in flight awaited up to --grace and recorded (dispatch_stop_sending()).
	 */
	MODE_DRAIN,	  /* first signal */
	MODE_AUTH,	  /* a 401 */
	MODE_DBFAIL,	  /* the database cannot be written: then the journal */
	MODE_TLS,	  /* the server's certificate cannot be trusted */
	MODE_STOPPED,	  /* a per-IP limit asks for a pause beyond --max-retry-after */
	MODE_UNREACHABLE, /* the breaker gave up: the API cannot be reached */
	MODE_FATAL,	  /* a fatal error of the store (d->fatal) */
	MODE_ABORT,	  /* second signal, or libcurl's multi handle broken: stop at once */
};

/* dispatcher.sandbox_refused: for a sandbox row, or for a production one */
enum sandbox_refusal { SANDBOX_REFUSED_NO, SANDBOX_REFUSED_SANDBOX, SANDBOX_REFUSED_PRODUCTION };

struct dispatcher {
	struct store *st;
	const struct run_config *cfg;
	struct run_summary *sum;
	CURLM *multi;
	struct curl_slist *headers;
	char *url_sessions;
	char *url_reauth;
	struct transfer *xfers;
	size_t nxfers;
	size_t inflight;
	struct store_job *claimed; /* scratch for store_claim_due(), nxfers long */
	struct ratelimit rl;
	struct redact redact;	    /* the credentials no answer may echo into a log or the store */
	struct redact proxy_redact; /* the proxy's password, out of every trace line */
	struct finch_link_rule link; /* where a connect_url may lead */
	char emulator_port[8];
	struct breaker brk;
	struct strbuf down_reason; /* why the last request found nothing there */
	uint64_t rng;
	enum run_mode mode;
	int fatal;
	int cut_short; /* a second signal during a drain: the requests in flight are cut */
	int saw_auth;  /* a 401 came: the exit is 3 */
	/* the first one refused the credentials' environment (finch_api_is_sandbox_refusal()) */
	enum sandbox_refusal sandbox_refused;
	int limit_logged;	       /* --limit reached, and said so */
	struct store_outcome *unsaved; /* outcomes not committed yet, in arrival order */
	size_t nunsaved, aunsaved;
	int64_t commit_due_mono; /* when the unsaved outcomes must be committed */
	int db_busy;		 /* the last commit found the database locked by another process */
	int db_busy_told; /* db_locked was logged (the lock outlasted DISPATCH_DB_QUIET_MS) */
	int64_t db_busy_since_mono, db_retry_mono, db_backoff_ms;
	int db_failed; /* the database cannot be written: the outcomes go to the journal */
	struct journal journal;
	int queue_empty; /* the last claim found fewer rows than asked */
	int have_next_due;
	int64_t next_due_ms; /* due clock: the earliest retry_wait row within the horizon */
	/*
	 * The due clock (dispatch_due_ms()): the wall clock at the start, moved
	 * by the monotonic clock since. Retry due times within the run and the
	 * claims that look for them use it, so a wall clock stepped back an hour
	 * (NTP, `date -s`) does not hold a retry due in 1 s for an hour with the
	 * lock held. Recorded times (attempts, expiry) use clock_now_ms().
	 */
	int64_t due_wall0_ms, due_mono0;
	int64_t grace_end_mono;
	int64_t consecutive_429; /* client-wide 429s in a row, for the unhinted pause */
	int64_t stop_resume_ms;	 /* MODE_STOPPED: wall time when the API lets us resume */
	const char *stop_code;	 /* MODE_STOPPED: the finch_code that stopped the run */
	struct progress progress;
	int64_t waiting; /* retry_wait rows, for the progress line: counted, never queried */
};

static inline int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* Now on the due clock (see due_wall0_ms): wall milliseconds that never step. */
static inline int64_t dispatch_due_ms(const struct dispatcher *d)
{
	return d->due_wall0_ms + (clock_mono_ms() - d->due_mono0);
}

/* ---- dispatch_loop.c ---------------------------------------------------- */

/* Frees t's request and answer and gives its slot back. */
void dispatch_transfer_done(struct dispatcher *d, struct transfer *t);

/* ---- dispatch_commit.c: the store side ---------------------------------- */

/*
 * Holds o (taking its strings) until the next group commit. A row going to
 * retry_wait is counted here, in memory, for the progress line.
 */
void dispatch_keep(struct dispatcher *d, struct store_outcome *o);

/* Frees the outcomes held. */
void dispatch_drop_unsaved(struct dispatcher *d);

/*
 * The group commit: records every unsaved outcome and, when want > 0,
 * claims up to want due rows into d->claimed, in one transaction that
 * waits at most wait_ms for a foreign lock. Returns 0 when committed
 * (*nclaimed rows claimed), 1 when the database is locked by someone else
 * (nothing changed: the outcomes are still held), -1 when it cannot be
 * written (reported; d->db_failed set).
 */
int dispatch_group_commit(struct dispatcher *d, int64_t now_ms, size_t want, int64_t wait_ms,
			  size_t *nclaimed);

/*
 * At the end of the run: commits what is held, waiting out a foreign lock
 * up to its limit; if the database cannot be written, appends it all to the
 * answers journal.
 */
void dispatch_final_commit(struct dispatcher *d);

/* Re-reads when the next retry_wait row within the horizon is due. Returns 0 or -1. */
int dispatch_refresh_next_due(struct dispatcher *d, int64_t now_ms);

/* A row goes to retry_wait until when_ms: wakes the loop then, if within the horizon. */
void dispatch_note_retry_due(struct dispatcher *d, int64_t when_ms, int64_t now_ms);

/* ---- dispatch_answer.c: answers ----------------------------------------- */

/* The attempt t made, as an outcome of kind k whose other fields the caller fills. */
void dispatch_fill_outcome(struct dispatcher *d, struct transfer *t, enum outcome_kind k,
			   struct store_outcome *o);

/*
 * A line per row is a warning, but a debug event under --quiet (issue 16:
 * --quiet prints the summary counts alone, in import and sync alike; status
 * and the export have every row, and --log-format json the event).
 */
enum log_level dispatch_row_level(const struct dispatcher *d);

/* Moves finished transfers to the outcomes held for the next group commit. */
void dispatch_collect(struct dispatcher *d);

/* ---- dispatch_stop.c: stopping and ending ------------------------------- */

/*
 * Stops sending for the reason mode says: no new request goes out, and the
 * answers in flight are awaited up to --grace (counted from the first stop)
 * and recorded, committed or journaled. Only a second signal cuts them
 * short; before, exit 6, exit 7 and fatal errors dropped them unread, and
 * the next run sent their rows again (11 second sessions in 60 rows).
 */
void dispatch_stop_sending(struct dispatcher *d, enum run_mode mode);

/*
 * Reacts to signals and to the end of --grace. Returns 1 when the loop must
 * end now (the rows still in flight are then put back to pending), else 0.
 */
int dispatch_stop_due(struct dispatcher *d, int64_t now_mono);

/* The exit code of a finished run, with sum->exit_reason set and the reason reported. */
int dispatch_verdict(struct dispatcher *d, struct run_summary *sum);

#endif
