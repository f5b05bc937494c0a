/*
 * store_connections.h: what follows the link (store_connections.c): the
 * verified webhook deliveries, a connections file's lines, and the sandboxes
 * the rows ask for. Each returns 0 or -1 after reporting, as store.h says.
 */
#ifndef FINCH_STORE_CONNECTIONS_H
#define FINCH_STORE_CONNECTIONS_H

#include <stdint.h>

#include "store/store.h"

/* A verified webhook delivery (finch/webhook.h), as stored. */
struct webhook_record {
	const char *event_id; /* Finch-Event-Id: the key of idempotence */
	const char *event_type;
	const char *connection_id; /* NULL: none */
	const char *status;	   /* account.updated's data.status, else NULL */
	int64_t event_ms;	   /* Finch-Timestamp: orders statuses that arrive late */
	int64_t received_ms;
};

/*
 * Stores a verified delivery once, within the caller's transaction. A new
 * event_id is kept, and an account.updated sets connection_status (and
 * connected_at, the first time it is "connected") of every row with its
 * connection_id, unless a newer status is there already. *duplicate is 1
 * when the event_id was stored before (nothing changes); *rows counts the
 * rows it updated. An event no row knows yet (*rows 0) is kept all the
 * same: the first row that learns its connection_id takes its status
 * (schema 009's trigger).
 */
int store_webhook_event(struct store *st, const struct webhook_record *w, int *duplicate,
			int64_t *rows);

/* What the rows (invalid ones left out) ask of Finch's sandboxes. */
struct sandbox_counts {
	int64_t production; /* no sandbox */
	int64_t finch;	    /* sandbox=finch */
	int64_t provider;   /* sandbox=provider */
};
int store_sandbox_counts(struct store *st, struct sandbox_counts *c);

/* What store_mark_connected() did with one customer. */
enum connection_mark {
	CONNECTION_MARKED,    /* now exists with that connection and status */
	CONNECTION_UNCHANGED, /* it already had them: importing again changes nothing */
	CONNECTION_UNKNOWN,   /* no such customer: reported, never created */
	CONNECTION_SKIPPED,   /* an invalid row (or one in flight): left alone */
};

/*
 * Marks customer_id connected with connection_id, within the caller's
 * transaction: a created, pending, failed or retry_wait row becomes exists
 * (so it is never renewed again), and every row takes the connection_id,
 * the status (NULL: "connected") and its time at_ms, unless a newer status
 * is there already. at_ms -1: the line gave no time; its status is then
 * older than any status with a time (a webhook's), and applies only to a
 * row that has none, and it connected at now_ms at the latest.
 */
int store_mark_connected(struct store *st, const char *customer_id, const char *connection_id,
			 const char *status, int64_t at_ms, int64_t now_ms,
			 enum connection_mark *res);

#endif
