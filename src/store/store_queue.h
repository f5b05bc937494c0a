/*
 * store_queue.h: which rows a run sends (store_queue.c): claiming the due
 * rows, the retry_wait schedule, the plan of a dry run, re-queuing (retry,
 * the carry-over of transient failures, renewals, reauthentications, changed
 * rows, giving up), and recovering a crashed run's rows. Each returns 0 or
 * -1 after reporting, as store.h says, unless its comment says otherwise.
 */
#ifndef FINCH_STORE_QUEUE_H
#define FINCH_STORE_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "finch/validate.h"
#include "store/store.h"

/* 1 if the database has a customer's row, 0 if none (never imported into), -1 on error. */
int store_has_rows(struct store *st);

/*
 * Puts every in_flight row (a run that crashed or was killed) back to
 * pending and records its lost attempt as "outcome unknown". Commits.
 * *count tells how many rows were recovered.
 */
int store_recover_in_flight(struct store *st, int64_t now_ms, int64_t *count);

/* One row handed to the dispatcher. Strings are owned; store_job_release() frees. */
struct store_job {
	int64_t id; /* the customers row id */
	enum request_kind kind;
	struct connect_request req;
	char *connection_id;	    /* REQUEST_REAUTH: the connection to renew */
	int64_t attempts;	    /* attempts already made in this budget */
	int64_t attempt_total;	    /* attempts ever made for this customer */
	int64_t first_transient_ms; /* start of its streak of transient failures; 0: none */
	int was_waiting;     /* it was claimed from retry_wait (pending has no next_attempt_at) */
	int outcome_unknown; /* its last request's outcome is unknown: a session may exist */
};

void store_job_release(struct store_job *job);

/*
 * Claims up to max rows that are due: retry_wait rows whose
 * next_attempt_at <= now_ms first, then pending rows in import order. They
 * become in_flight. Called outside a transaction, it commits before it
 * returns; called inside one (to share a group commit with recorded
 * outcomes), the caller must commit before sending any claimed request, so
 * a crash can never lose a row. Fills jobs[0..*n).
 */
int store_claim_due(struct store *st, int64_t now_ms, size_t max, struct store_job *jobs,
		    size_t *n);

/*
 * From now on, store_claim_due(), store_next_retry_at() and store_has_due()
 * pass over the retry_wait rows a run deferred: those answered at or after
 * since_ms with a wait longer than cap_ms (--max-retry-after; a second of
 * slack for the time between an answer and its recording). Such a row is
 * left for a later run however long this one lasts (issue 10: a long hint
 * never holds the run). A store never told this defers nothing.
 */
void store_defer_long_hints(struct store *st, int64_t since_ms, int64_t cap_ms);

/*
 * Like store_claim_due() but changes nothing, visiting every row a run
 * would send now (pending, and due retry_wait); for --dry-run.
 */
int store_each_due(struct store *st, int64_t now_ms,
		   int (*fn)(const struct store_job *job, void *data), void *data);

/*
 * Earliest next_attempt_at among retry_wait rows no later than horizon_ms.
 * Returns 1 and stores it, 0 if there is none, -1 on error.
 */
int store_next_retry_at(struct store *st, int64_t horizon_ms, int64_t *when_ms);

/*
 * 1 when store_claim_due() would find a row at now_ms (a pending row, or a
 * retry_wait row that is due), 0 when not, -1 on error. Claims nothing: a
 * rate-limited run asks it rather than wait for a token to find out.
 */
int store_has_due(struct store *st, int64_t now_ms);

/* The rows a run would send now (store_each_due()'s), by kind: the plan of a dry run. */
struct plan_counts {
	int64_t fresh;	 /* never linked: new rows, or rows without a link queued again */
	int64_t relink;	 /* created rows whose fields changed: a new link (--resend-changed) */
	int64_t renew;	 /* created rows whose link expired (--renew-expired) */
	int64_t reauth;	 /* exists rows: a reauthentication */
	int64_t carried; /* rows that failed on transient errors before: tried again */
};

/*
 * Fills out with the rows due at now_ms by kind; with resend_changed, the
 * created and exists rows marked changed count too, as --resend-changed
 * would queue them (a run's dry run queues nothing). Returns 0 or -1.
 */
int store_plan_counts(struct store *st, int64_t now_ms, int resend_changed,
		      struct plan_counts *out);

struct requeue_filter {
	unsigned state_mask;	      /* 0 means failed only */
	const char *finch_code;	      /* NULL: any */
	long http_status;	      /* 0: any */
	const char *const *customers; /* NULL or ncustomers ids: only those rows */
	size_t ncustomers;
	int changed; /* only rows marked changed (their marks are cleared) */
	/*
	 * The rows whose 2xx could not be read (store_record_unconfirmed()):
	 * REQUEUE_UNCONFIRMED_SKIP leaves them alone (a bare retry), _ALSO takes
	 * them with the rest (rows named by --customer or a 2xx --http-status),
	 * _ONLY takes them alone (--unconfirmed).
	 */
	int unconfirmed;
};

enum {
	REQUEUE_UNCONFIRMED_SKIP,
	REQUEUE_UNCONFIRMED_ALSO,
	REQUEUE_UNCONFIRMED_ONLY,
};

/*
 * Re-queues matching rows to pending with a fresh attempt budget, keeping
 * their history, but never one still settling (store_settling()). Commits.
 * *count tells how many rows moved.
 */
int store_requeue(struct store *st, const struct requeue_filter *f, int64_t now_ms, int64_t *count);

/*
 * --give-up-after read each night (issue 16): sets every transient streak's
 * give_up_at to its first transient failure plus give_up_after_ms, tonight's
 * limit, then marks the failed rows whose window is over and that were not
 * given up yet in this streak, calling fn for each (its customer_id, its
 * last error, when its streak began): giving up is told once per row.
 * *count is their number. One transaction; returns 0 or -1.
 */
int store_give_up(struct store *st, int64_t now_ms, int64_t give_up_after_ms,
		  void (*fn)(const char *customer_id, const char *why, int64_t first_ms,
			     void *data),
		  void *data, int64_t *count);

/*
 * failed rows whose transient streak is not over (give_up_at > now_ms) go
 * back to pending with a fresh attempt budget: the carry-over of transient
 * failures to the next run; a row whose last request timed out after it
 * went out only once RETRY_UNKNOWN_SETTLE_MS (finch/retry.h) have passed
 * since. Commits.
 */
int store_requeue_transient(struct store *st, int64_t now_ms, int64_t *count);

/*
 * The rows whose last request's outcome is unknown (it timed out, or was
 * cut short, after it went out), less than RETRY_UNKNOWN_SETTLE_MS
 * (finch/retry.h) before they may be sent again:
 * neither store_requeue_transient() nor store_requeue() moves them. Stores
 * how many there are at now_ms (of customer_id, or all when NULL) and the
 * latest time one of them may go. Returns 0, or -1 on error.
 */
int store_settling(struct store *st, int64_t now_ms, const char *customer_id, int64_t *count,
		   int64_t *until_ms);

/* created rows whose expires_at < now_ms go back to pending for a new session. Commits. */
int store_queue_expired(struct store *st, int64_t now_ms, int64_t *count);
/*
 * The connection statuses that need a new link from
 * /connect/sessions/reauthenticate: reauth (Finch's own signal, with a 401
 * reauthenticate_user on data calls) and error_permissions (the person who
 * connected lacks a permission: someone who has it signs in again).
 * disconnected is not one: a disconnected connection is gone, and needs a
 * new session, not a reauthentication.
 */
#define REAUTH_NEEDED_SQL   "('reauth', 'error_permissions')"
#define REAUTH_NEEDED_NAMES "reauth or error_permissions"

enum reauth_scope {
	REAUTH_NONE,
	REAUTH_NEEDED, /* exists rows whose connection_status is in REAUTH_NEEDED_SQL */
	REAUTH_ALL,    /* every exists row with a connection_id */
};

/*
 * exists rows with a connection_id, as scope says (and only customer_id's,
 * unless NULL), are queued as REQUEST_REAUTH. Commits.
 */
int store_queue_reauth(struct store *st, int64_t now_ms, enum reauth_scope scope,
		       const char *customer_id, int64_t *count);

/*
 * created and exists rows marked changed go back to pending for a new link
 * (created: a new session; exists: a reauthentication with its
 * connection_id), their marks cleared: --resend-changed. Commits.
 */
int store_queue_changed(struct store *st, int64_t now_ms, int64_t *count);

#endif
