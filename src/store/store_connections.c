/*
 * store_connections.c: what the program learns after the link: verified
 * webhook deliveries (webhooks serve) and the app's own record of who
 * connected (connections import); see store_connections.h.
 */
#include "store/store_connections.h"

#include <sqlite3.h>
#include <string.h>

#include "store/store_int.h"

const char *const store_connections_sql[S_STMT_COUNT] = {
    [S_WEBHOOK_INSERT] = "INSERT OR IGNORE INTO webhook_events(event_id, received_at, event_type, "
			 "connection_id, status, event_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* A status older than the one the row has (deliveries come out of order) changes nothing. */
    [S_WEBHOOK_APPLY] = "UPDATE customers SET connection_status = ?2, connection_status_at = ?3, "
			"connected_at = CASE WHEN ?2 = 'connected' THEN coalesce(connected_at, ?3) "
			"ELSE connected_at END "
			"WHERE connection_id = ?1 AND keyless = 0 "
			"AND coalesce(connection_status_at, 0) <= ?3",
    [S_WEBHOOK_ROWS] = "UPDATE webhook_events SET rows_updated = ?2 WHERE event_id = ?1",
    [S_MARK_CONNECTED] =
	"UPDATE customers SET state = CASE WHEN state IN ('created', 'pending', 'failed', "
	"'retry_wait') THEN 'exists' ELSE state END, connection_id = ?2, "
	"connection_status = CASE WHEN coalesce(connection_status_at, 0) <= ?6 THEN ?3 "
	"ELSE connection_status END, "
	"connection_status_at = nullif(max(coalesce(connection_status_at, 0), ?6), 0), "
	"connected_at = CASE WHEN ?3 = 'connected' THEN coalesce(connected_at, ?4) "
	"ELSE connected_at END, "
	"next_attempt_at = NULL, error = NULL, updated_at = ?5 "
	"WHERE customer_key = ?1 AND keyless = 0 AND state NOT IN ('in_flight', 'invalid') "
	"AND NOT (state = 'exists' AND connection_id IS ?2 AND "
	"(connection_status IS ?3 OR connection_status_at > ?6))",
    [S_CONNECTION_LOOKUP] = "SELECT state FROM customers WHERE customer_key = ?1 AND keyless = 0",
    [S_SANDBOX_COUNTS] =
	"SELECT coalesce(sum(sandbox IS NULL), 0), "
	"coalesce(sum(sandbox = 'finch'), 0), coalesce(sum(sandbox = 'provider'), 0) "
	"FROM customers WHERE state <> 'invalid' AND keyless = 0",
};

int store_webhook_event(struct store *st, const struct webhook_record *w, int *duplicate,
			int64_t *rows)
{
	sqlite3_stmt *s = st->stmt[S_WEBHOOK_INSERT];

	*duplicate = 0;
	*rows = 0;
	bind_text(s, 1, w->event_id);
	sqlite3_bind_int64(s, 2, w->received_ms);
	bind_text(s, 3, w->event_type);
	bind_text(s, 4, w->connection_id);
	bind_text(s, 5, w->status);
	sqlite3_bind_int64(s, 6, w->event_ms);
	if (store_exec(st, S_WEBHOOK_INSERT) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 0) {
		*duplicate = 1;
		return 0;
	}
	if (!w->status || !w->connection_id)
		return 0;
	s = st->stmt[S_WEBHOOK_APPLY];
	bind_text(s, 1, w->connection_id);
	bind_text(s, 2, w->status);
	sqlite3_bind_int64(s, 3, w->event_ms);
	if (store_exec(st, S_WEBHOOK_APPLY) < 0)
		return -1;
	*rows = sqlite3_changes(st->db);
	s = st->stmt[S_WEBHOOK_ROWS];
	bind_text(s, 1, w->event_id);
	sqlite3_bind_int64(s, 2, *rows);
	return store_exec(st, S_WEBHOOK_ROWS);
}

int store_mark_connected(struct store *st, const char *customer_id, const char *connection_id,
			 const char *status, int64_t at_ms, int64_t now_ms,
			 enum connection_mark *res)
{
	sqlite3_stmt *s = st->stmt[S_MARK_CONNECTED];
	int rc;

	bind_key(s, 1, customer_id);
	bind_text(s, 2, connection_id);
	bind_text(s, 3, status ? status : "connected");
	/* ?4: when it connected, at the latest; ?6: how new the status is (0: unknown) */
	sqlite3_bind_int64(s, 4, at_ms >= 0 ? at_ms : now_ms);
	sqlite3_bind_int64(s, 5, now_ms);
	sqlite3_bind_int64(s, 6, at_ms >= 0 ? at_ms : 0);
	if (store_exec(st, S_MARK_CONNECTED) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 1) {
		*res = CONNECTION_MARKED;
		return 0;
	}
	s = st->stmt[S_CONNECTION_LOOKUP];
	bind_key(s, 1, customer_id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const char *state = column_str(s, 0);

		*res = !strcmp(state, "invalid") || !strcmp(state, "in_flight")
			   ? CONNECTION_SKIPPED
			   : CONNECTION_UNCHANGED;
	} else {
		*res = CONNECTION_UNKNOWN;
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_error(st, "cannot look up a customer");
	return 0;
}

int store_sandbox_counts(struct store *st, struct sandbox_counts *c)
{
	memset(c, 0, sizeof(*c));
	return store_one_row(st, S_SANDBOX_COUNTS,
			     (int64_t *[]){&c->production, &c->finch, &c->provider}, 3,
			     "cannot count the sandbox rows");
}
