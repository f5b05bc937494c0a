/*
 * store_outcome.h: what a run records (store_outcome.c): the run itself,
 * each attempt and the row's new state, the outcomes held for a group commit
 * or read back from the answers journal (journal.h), and the ledger of the
 * journal lines applied. Each returns 0 or -1 after reporting, as store.h
 * says, unless its comment says otherwise.
 */
#ifndef FINCH_STORE_OUTCOME_H
#define FINCH_STORE_OUTCOME_H

#include <stdint.h>

#include "store/store.h"

/*
 * Adds an answers journal line's id to the ledger (journal_applied) within
 * the caller's transaction: *fresh is 1, or 0 when a replay recorded it
 * before.
 */
int store_ledger_add(struct store *st, const char *line_id, int64_t now_ms, int *fresh);

/* Records a run's start, with this process's pid (commits), and end (commits). */
int store_run_start(struct store *st, int64_t now_ms, int64_t *run_id);
int store_run_finish(struct store *st, int64_t run_id, int64_t now_ms, const char *exit_reason);
/* Records how a run ended for monitoring: its exit code, 429 pauses and outages. */
int store_run_outcome(struct store *st, int64_t run_id, int exit_code, int64_t pauses,
		      int64_t outages);

/*
 * The transport_error of an attempt whose request may have reached Finch and
 * whose answer was lost: a crash left its row in_flight
 * (store_recover_in_flight()), or a second signal or the end of --grace cut
 * it short after it went out. Its row goes back to pending with the
 * attempt's message as its error, which starts with these words until an
 * answer replaces it: state_counts.outcome_unknown counts such rows, and a
 * claimed one is store_job.outcome_unknown.
 */
#define STORE_OUTCOME_UNKNOWN "outcome unknown"

/* One HTTP attempt, for the attempts table. */
struct attempt_record {
	int64_t customer_row; /* customers.id */
	int64_t run_id;
	int64_t attempt_no; /* 1-based over the customer's whole history */
	enum request_kind kind;
	int64_t started_ms;
	int64_t elapsed_ms;
	long http_status;	     /* 0: no answer */
	const char *transport_error; /* NULL unless no answer arrived */
	const char *finch_code;
	const char *request_id; /* Finch-Request-Id */
	const char *message;
	/* store_record_failed() and _retry(): the transient streak (retry_carry_over()); 0: none */
	int64_t first_transient_ms;
	int64_t give_up_ms;	   /* a failed row is re-queued by the next run until then */
	const char *session_id;	   /* a 201's session_id, even when the row keeps another */
	const char *connection_id; /* a connection_already_exists' connection_id */
	int64_t minutes_to_expire; /* what the request sent; 0: unknown (older journals) */
};

/*
 * The outcome writers. Each records the attempt and moves the row, within
 * the caller's transaction (the dispatcher group-commits them).
 */
int store_record_created(struct store *st, const struct attempt_record *a, const char *session_id,
			 const char *connect_url, int64_t expires_at_ms);
int store_record_exists(struct store *st, const struct attempt_record *a,
			const char *connection_id);
int store_record_failed(struct store *st, const struct attempt_record *a);
/*
 * A 2xx whose body could not be read (schema/013_unconfirmed.sql): the row
 * fails, flagged unconfirmed, with a's request_id and body (escaped and
 * bounded: dispatch's), and is sent again only by an explicit retry.
 */
int store_record_unconfirmed(struct store *st, const struct attempt_record *a, const char *body);
int store_record_retry(struct store *st, const struct attempt_record *a, int64_t next_attempt_ms);
/*
 * The attempt was cut short with no answer that counts (401 elsewhere in the
 * run, or a forced stop): the row goes back to pending, its budget untouched.
 * a may be NULL when the request never went out. When a's transport_error
 * is STORE_OUTCOME_UNKNOWN (it went out), its message becomes the row's
 * error and the row waits in retry_wait for RETRY_UNKNOWN_SETTLE_MS
 * (finch/retry.h) instead: Finch may still create its session.
 */
int store_record_unsent(struct store *st, int64_t customer_row, const struct attempt_record *a);

/* What an answer (or its absence) does to a row: which outcome writer above. */
enum outcome_kind {
	OUTCOME_CREATED,     /* store_record_created() */
	OUTCOME_EXISTS,	     /* store_record_exists() */
	OUTCOME_FAILED,	     /* store_record_failed() */
	OUTCOME_RETRY,	     /* store_record_retry() */
	OUTCOME_UNSENT,	     /* store_record_unsent() */
	OUTCOME_UNCONFIRMED, /* store_record_unconfirmed() */
	OUTCOME_KIND_COUNT
};

/*
 * "created", "exists", "failed", "retry", "unsent", "unconfirmed"; the names
 * the answers journal uses.
 */
const char *outcome_kind_name(enum outcome_kind k);
/* Returns 0 and stores the kind, or -1 (without printing) if unknown. */
int outcome_kind_from_name(const char *name, enum outcome_kind *out);

/*
 * One outcome held in memory until it is committed (or written to the
 * answers journal): an attempt_record and the row's new fields, with every
 * string owned (malloc'd or NULL). store_outcome_release() frees them.
 */
struct store_outcome {
	enum outcome_kind kind;
	int64_t customer_row; /* customers.id */
	char *customer_id;    /* checked on replay: the row must still be this customer */
	int64_t run_id;
	int64_t attempt_no;
	enum request_kind req_kind;
	int64_t started_ms, elapsed_ms;
	long http_status;
	char *transport_error, *finch_code, *request_id, *message;
	char *session_id, *connect_url; /* OUTCOME_CREATED (session_id: any 201) */
	char *connection_id;		/* OUTCOME_EXISTS */
	char *body;			/* OUTCOME_UNCONFIRMED: the 2xx's body, escaped, bounded */
	int64_t expires_at_ms;		/* OUTCOME_CREATED */
	int64_t next_attempt_ms;	/* OUTCOME_RETRY */
	int64_t first_transient_ms;	/* OUTCOME_FAILED and _RETRY: attempt_record's */
	int64_t give_up_ms;
	int64_t minutes_to_expire; /* what the request sent (attempt_record's) */
};

void store_outcome_release(struct store_outcome *o);

/* Records o with the writer its kind names, within the caller's transaction. */
int store_record_outcome(struct store *st, const struct store_outcome *o);

/*
 * Records an outcome read back from the answers journal, within the
 * caller's transaction. The row is found by customer_id. If it is still
 * in_flight (the run that got the answer could not commit it), the outcome
 * is recorded as store_record_outcome() would; so is a created, exists or
 * unconfirmed answer of a row that is pending or retry_wait (a backup
 * restored from before the run claimed it: the session exists, and must
 * not be asked for again). Otherwise (the row moved on) only the attempt
 * is added to the history, with its session_id or connection_id, and
 * *applied is 0. A customer that does not exist changes nothing, with
 * *applied -1. A run_id the runs table lacks (a restored backup) is
 * recorded as none.
 */
int store_replay_outcome(struct store *st, const struct store_outcome *o, int *applied);

#endif
