/*
 * store_report.h: what the database tells (store_report.c), read only:
 * the counts of status, the funnel, the last run, the metrics, and the rows
 * of an export. None of them writes; a read-only store (store_open_readonly())
 * will do. Each returns 0 or -1 after reporting, as store.h says, unless its
 * comment says otherwise.
 */
#ifndef FINCH_STORE_REPORT_H
#define FINCH_STORE_REPORT_H

#include <stdint.h>

#include "finch/connection.h"
#include "store/store.h"

struct state_counts {
	int64_t by_state[STATE_COUNT];
	int64_t total;
	int64_t expired;	  /* created rows whose expires_at is in the past */
	int64_t expiring_soon;	  /* created rows expiring within the next 7 days */
	int64_t retries;	  /* attempts beyond each row's first, over all runs */
	int64_t carried;	  /* failed rows the next sync re-queues (transient errors) */
	int64_t carried_until_ms; /* the latest of their give-up times; 0: none */
	int64_t next_retry_ms;	  /* the earliest retry_wait row's next attempt; 0: none */
	int64_t line_invalid;	  /* created or exists rows whose latest CSV line is invalid */
	int64_t changed;	  /* created or exists rows whose fields changed since their link */
	int64_t withdrawn;	  /* rows missing from the last CSV: in no by_state, in total */
	int64_t given_up;	  /* failed rows whose transient streak outlived --give-up-after */
	int64_t unconfirmed;	  /* failed rows whose 2xx could not be read (schema 013) */
	int64_t outcome_unknown;  /* rows whose last request's outcome is unknown: pending, waiting
				     or failed */
};

int store_count_states(struct store *st, int64_t now_ms, struct state_counts *out);

/*
 * The rows per state (withdrawn ones apart, in withdrawn) and the total;
 * every other field of *out 0. What a run needs at its start and end, read
 * from two indexes without reading a row (schema/018).
 */
int store_count_by_state(struct store *st, struct state_counts *out);

/* Calls fn once per (finch_code, http_status) of failed rows, most common first. */
int store_each_failure_group(struct store *st,
			     int (*fn)(const char *finch_code, long http_status, int64_t count,
				       void *data),
			     void *data);

/*
 * The campaign's funnel (store_funnel()), over the keyed rows. A row "has a
 * link" once a session request for it (not a reauthentication) was answered
 * with a session; its link time is the first such answer. Of those rows,
 * each is connected (it has a connection_id: a connections file, a later
 * connection_already_exists, and with them the webhooks), expired (a created
 * row whose link expired unconnected) or open (waiting: the link is still
 * valid, or a renewal is queued): links = connected + expired + open.
 * already_connected rows have a connection_id and never had a link
 * (connection_already_exists at the first request, or the app's file).
 */
/* How far Finch's clock may be behind ours, in ms (see struct funnel). */
#define STORE_CLOCK_SKEW_MS  60000
#define STORE_CLOCK_SKEW_SQL "60000"

struct funnel {
	int64_t links;
	int64_t connected;
	int64_t expired;
	int64_t open;
	int64_t already_connected;
	/* the rows with a connection_id, by connection status (connection.h's
	   order); the last one counts the rows with no status heard yet */
	int64_t by_status[CONNECTION_STATUS_COUNT + 1];
	/* medians in days, -1 when no row has one: from the link to the
	   connection (connected_at; a connection time more than
	   STORE_CLOCK_SKEW_MS before the first link, as an app's file may give,
	   is left out; one less than that before it is at once, 0: a webhook's
	   Finch-Timestamp has whole seconds, from Finch's clock), and the age of
	   the open and of the expired links (since the first link) */
	double days_to_connect, open_days, expired_days;
};

/* Fills *out with the funnel at now_ms. */
int store_funnel(struct store *st, int64_t now_ms, struct funnel *out);

struct run_record {
	int64_t id;
	int64_t started_ms, ended_ms;  /* ended_ms 0: still running, or crashed */
	int64_t attempts;	       /* attempts made by this run */
	double p50_ms, p95_ms, p99_ms; /* latency of this run's answered attempts */
	char exit_reason[32];	       /* "done", "interrupted", "auth", "crashed" ... */
	int64_t pid;		       /* the process that ran it; 0: unknown */
};

/* Returns 1 and fills *out with the newest run, 0 if none, -1 on error. */
int store_last_run(struct store *st, struct run_record *out);

/* What --metrics-file reports from the whole history of the database. */
struct store_metrics {
	int64_t requests_by_class[5]; /* attempts answered 1xx .. 5xx */
	int64_t requests_unanswered;  /* attempts without an answer (transport errors) */
	int64_t throttled;	      /* attempts answered 429 */
	int64_t runs;
	int64_t pauses;		 /* client-wide 429 pauses, over all runs */
	int64_t outages;	 /* times the API stopped answering mid-run */
	int64_t last_success_ms; /* end of the last run that exited 0 or 1; 0: none */
};

int store_metrics(struct store *st, struct store_metrics *out);

/* ---- results ------------------------------------------------------------ */

/* One line of an export. Pointers are valid only during the callback. */
struct export_row {
	const char *customer_id;
	const char *customer_name;
	enum row_state state;
	const char *session_id; /* NULL when absent, and likewise below */
	const char *connect_url;
	const char *connection_id;
	int64_t expires_at_ms; /* 0: none */
	int64_t attempts;      /* attempts ever made for the customer */
	long http_status;      /* last HTTP status; 0: none */
	const char *finch_code;
	const char *error;
	int64_t updated_at_ms;
	int64_t next_attempt_at_ms; /* retry_wait: when it is sent again; 0: none */
	int64_t retry_until_ms;	    /* the next runs re-queue a transient failure until then */
	/* the request's fields (NULL, 0 or -1 when absent) */
	const char *customer_email;
	const char *products; /* space-separated */
	const char *redirect_uri;
	int64_t minutes_to_expire;
	const char *sandbox;
	int manual; /* -1: absent */
	const char *integration_provider;
	const char *integration_auth_method;
	const char *recordkeeper; /* recordkeeping_recordkeeper */
	const char *recordkeeping_plan_id;
	const char *kept; /* --keep-column values: a JSON object {"header": "value"}, or NULL */
	unsigned changed; /* reconcile.h's mask: fields changed since the link; 0: none */
	int withdrawn;	  /* 1: missing from the last CSV, never sent */
	int unconfirmed;  /* 1: failed on a 2xx that could not be read; status "unconfirmed" */
	const char *connection_status; /* connection.h's; NULL: none heard */
	int64_t connected_at_ms;       /* first known connected; 0: never */
};

struct export_filter {
	unsigned state_mask; /* 0 with connection_mask 0: every row */
	/* rows whose connection status is one of these bits (connection.h's
	   order); a row matches either mask */
	unsigned connection_mask;
	int64_t since_ms; /* rows updated strictly after; 0: all */
};

/*
 * Parses export --state's list: row states and connection statuses,
 * separated by commas, into the masks of f; a row matches any of them. A
 * name that is both (pending) is the row state; "connection:NAME" is always
 * the connection status (connection:pending). Returns -1 and prints an
 * error naming the bad word otherwise.
 */
int export_state_parse(const char *list, struct export_filter *f);

/*
 * Streams the matching rows in import order (constant memory) to fn; stops
 * and returns fn's value if fn returns nonzero.
 */
int store_each_export(struct store *st, const struct export_filter *f,
		      int (*fn)(const struct export_row *row, void *data), void *data);

/*
 * Calls fn with every name a kept column has in some row (--keep-column),
 * once each; stops and returns fn's value if fn returns nonzero.
 */
int store_each_kept_name(struct store *st, int (*fn)(const char *name, void *data), void *data);

/* Calls fn once per last error of the rows given up (store_give_up()), most common first. */
int store_each_given_up(struct store *st, int (*fn)(const char *why, int64_t count, void *data),
			void *data);

/* Returns 1 and stores the state of customer_id, 0 if there is no such customer, -1 on error. */
int store_customer_state(struct store *st, const char *customer_id, enum row_state *state);

#endif
