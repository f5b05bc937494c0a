/*
 * store_import.c: what an import writes: its record in the imports table,
 * the valid rows it upserts (64 to an INSERT) and the invalid ones; see
 * store_import.h.
 */
#include "store/store_import.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "finch/reconcile.h"
#include "store/store_int.h"

/*
 * The columns a new customer's row is inserted with, and one row of
 * placeholders for them: bind_insert_row() binds them in this order.
 */
#define INSERT_COLUMNS                                                                             \
	"customer_id, customer_name, customer_email, products, redirect_uri, "                     \
	"minutes_to_expire, sandbox, manual, integration_provider, integration_auth_method, "      \
	"source, source_line, first_import, last_import, created_at, updated_at, "                 \
	"recordkeeping_recordkeeper, recordkeeping_plan_id, customer_key"
#define INSERT_ROW	  "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
#define INSERT_ROW_PARAMS 19
/* s repeated 64 times, comma-separated: still a string literal, not formatted SQL */
#define ROWS_2(s)  s "," s
#define ROWS_8(s)  ROWS_2(ROWS_2(ROWS_2(s)))
#define ROWS_64(s) ROWS_8(ROWS_8(s))
_Static_assert(STORE_UPSERT_BATCH == 64, "S_INSERT_CUSTOMERS has ROWS_64 rows");

const char *const store_import_sql[S_STMT_COUNT] = {
    [S_IMPORT_START] =
	"INSERT INTO imports(path, size, sha256, started_at) VALUES (?1, ?2, ?3, ?4)",
    [S_IMPORT_FINISH] =
	"UPDATE imports SET rows_read = ?2, accepted = ?3, invalid = ?4, "
	"unchanged = ?5, updated = ?6, ended_at = ?7, changed = ?8, withdrawn = ?9, "
	"returned = ?10 WHERE id = ?1",
    [S_IMPORT_HASH] = "UPDATE imports SET sha256 = ?2, size = ?3 WHERE id = ?1",
    [S_LAST_IMPORT] = "SELECT id, path, size, sha256, rows_read, accepted, invalid, unchanged, "
		      "updated, started_at, coalesce(ended_at, 0) FROM imports "
		      "ORDER BY id DESC LIMIT 1",
    /*
     * An import inserts a customer (S_INSERT_CUSTOMER[S]), or marks it seen
     * if its request is unchanged (S_MARK_SEEN), or else looks it up to
     * tell a duplicate from a change (S_FIND_CUSTOMER, S_UPDATE_CUSTOMER).
     * Not one INSERT ... ON CONFLICT DO UPDATE: an upsert on a table with
     * an UPDATE trigger needs a statement journal (a copy of every page it
     * touches) on each row, and RETURNING an ephemeral table; together they
     * doubled the time of a large import. All three number alike (see
     * bind_settle()): ?1 is the customer's key (its id in NFC, schema/015:
     * the stored spelling stays), ?2..?10 are the request fields (IS compares NULLs as
     * values), ?11 the source, ?12 this import, ?13 the line, and ?16, ?17
     * the recordkeeping object's two fields (schema/005). S_MARK_SEEN
     * records where the customer was seen, for "duplicate of line N".
     */
    [S_MARK_SEEN] = "UPDATE customers SET last_import = ?12, source = ?11, source_line = ?13, "
		    "error = CASE WHEN line_invalid THEN NULL ELSE error END, line_invalid = 0 "
		    "WHERE customer_key = ?1 AND keyless = 0 AND last_import IS NOT ?12 AND "
		    "state <> 'invalid' AND customer_name IS ?2 AND customer_email IS ?3 AND "
		    "products IS ?4 AND redirect_uri IS ?5 AND minutes_to_expire IS ?6 AND "
		    "sandbox IS ?7 AND manual IS ?8 AND integration_provider IS ?9 AND "
		    "integration_auth_method IS ?10 AND recordkeeping_recordkeeper IS ?16 AND "
		    "recordkeeping_plan_id IS ?17",
    /* columns 4 to 6: what changed (reconcile.h's mask), the state, the fields marked before */
    [S_FIND_CUSTOMER] = "SELECT id, last_import IS ?12, source_line, "
			"first_import IS ?12 AND source_line IS ?13, "
			/* SQLite's | and << share one precedence: each term in parentheses */
			"(customer_name IS NOT ?2) | ((customer_email IS NOT ?3) << 1) | "
			"((products IS NOT ?4) << 2) | ((redirect_uri IS NOT ?5) << 3) | "
			"((minutes_to_expire IS NOT ?6) << 4) | "
			"((sandbox IS NOT ?7 OR manual IS NOT ?8) << 5) | "
			"((integration_provider IS NOT ?9 OR integration_auth_method IS NOT ?10) "
			"<< 6) | ((recordkeeping_recordkeeper IS NOT ?16 OR "
			"recordkeeping_plan_id IS NOT ?17) << 7), "
			/* an unconfirmed 2xx may have a link: kept as one (schema 013) */
			"CASE WHEN unconfirmed AND state = 'failed' THEN 'created' ELSE state END, "
			"changed_fields "
			"FROM customers WHERE customer_key = ?1 AND keyless = 0",
    /*
     * One row, and STORE_UPSERT_BATCH rows: a statement per row cost as
     * much again as the inserting itself (cursors opened and closed, the
     * program started and halted, for every row).
     */
    [S_INSERT_CUSTOMER] = "INSERT OR IGNORE INTO customers(" INSERT_COLUMNS ") VALUES " INSERT_ROW,
    [S_INSERT_CUSTOMERS] =
	"INSERT OR IGNORE INTO customers(" INSERT_COLUMNS ") VALUES " ROWS_64(INSERT_ROW),
    /* ?1 is the row id here, not the customer_id */
    [S_UPDATE_CUSTOMER] =
	"UPDATE customers SET customer_name = ?2, customer_email = ?3, products = ?4, "
	"redirect_uri = ?5, minutes_to_expire = ?6, sandbox = ?7, manual = ?8, "
	"integration_provider = ?9, integration_auth_method = ?10, "
	"recordkeeping_recordkeeper = ?16, recordkeeping_plan_id = ?17, source = ?11, "
	"last_import = ?12, source_line = ?13, state = 'pending', request_kind = 'create', "
	"attempts = 0, next_attempt_at = NULL, error = NULL, first_transient_at = NULL, "
	"give_up_at = NULL, line_invalid = 0, changed_fields = 0, unconfirmed = 0, "
	"updated_at = ?14 WHERE id = ?15",
    /*
     * A row with a link keeps its state and link (reconcile_line()): the
     * fields change, and ?18 adds to what its link was not made for.
     */
    [S_MARK_CHANGED] =
	"UPDATE customers SET customer_name = ?2, customer_email = ?3, products = ?4, "
	"redirect_uri = ?5, minutes_to_expire = ?6, sandbox = ?7, manual = ?8, "
	"integration_provider = ?9, integration_auth_method = ?10, "
	"recordkeeping_recordkeeper = ?16, recordkeeping_plan_id = ?17, source = ?11, "
	"last_import = ?12, source_line = ?13, changed_fields = ?18, "
	"error = CASE WHEN line_invalid THEN NULL ELSE error END, line_invalid = 0, "
	"updated_at = ?14 WHERE id = ?15",
    [S_SEEN_LINE] = "SELECT source_line FROM customers WHERE customer_key = ?1 AND keyless = 0 "
		    "AND last_import IS ?2",
    [S_INVALID_KEYED] =
	"INSERT INTO customers(customer_id, customer_name, state, error, source, "
	"source_line, first_import, last_import, created_at, updated_at, customer_key) "
	"VALUES (?1, ?2, 'invalid', ?3, ?4, ?5, ?6, ?6, ?7, ?7, ?8) "
	/* a created or exists row keeps its state and link (schema/003_line_invalid.sql) */
	"ON CONFLICT(customer_key) WHERE keyless = 0 DO UPDATE SET "
	"state = CASE WHEN customers.state = 'created' OR customers.state = 'exists' "
	"OR customers.unconfirmed THEN customers.state ELSE 'invalid' END, "
	"line_invalid = (customers.state = 'created' OR customers.state = 'exists' OR "
	"customers.unconfirmed), "
	"error = excluded.error, source = excluded.source, "
	"source_line = excluded.source_line, next_attempt_at = NULL, "
	"last_import = excluded.last_import, "
	"updated_at = CASE WHEN customers.error IS NOT excluded.error OR NOT ("
	"customers.state = 'invalid' OR customers.line_invalid) THEN excluded.updated_at "
	"ELSE customers.updated_at END",
    [S_INVALID_KEYLESS] =
	"INSERT INTO customers(customer_id, keyless, customer_name, state, error, source, "
	"source_line, first_import, created_at, updated_at) "
	"VALUES (?1, 1, ?2, 'invalid', ?3, ?4, ?5, ?6, ?7, ?7)",
    [S_FORGET_KEYLESS] = "DELETE FROM customers WHERE keyless = 1 AND source = ?1",
    /* for the export only: no state, no updated_at, no request digest moves */
    [S_SET_KEPT] = "UPDATE customers SET kept = ?2 WHERE customer_key = ?1 AND keyless = 0",
    /*
     * The CSV is the desired state (schema/011_withdrawn.sql). ?1 is this
     * import: the rows it stored have last_import ?1, the ones it created
     * first_import ?1 (they were not in the database before tonight).
     */
    [S_COUNT_MISSING] = "SELECT count(*), coalesce(sum(last_import IS NOT ?1), 0) FROM customers "
			"WHERE keyless = 0 AND withdrawn = 0 AND first_import IS NOT ?1",
    [S_WITHDRAW_MISSING] = "UPDATE customers SET withdrawn = 1, updated_at = ?2 "
			   "WHERE keyless = 0 AND withdrawn = 0 AND last_import IS NOT ?1",
    [S_RETURN_SEEN] = "UPDATE customers SET withdrawn = 0, updated_at = ?2 "
		      "WHERE withdrawn = 1 AND last_import = ?1",
};

int store_import_start(struct store *st, const char *path, int64_t size, const char *sha256_hex,
		       int64_t started_ms, int64_t *import_id)
{
	sqlite3_stmt *s = st->stmt[S_IMPORT_START];

	bind_text(s, 1, path);
	sqlite3_bind_int64(s, 2, size);
	bind_text(s, 3, sha256_hex);
	sqlite3_bind_int64(s, 4, started_ms);
	if (store_exec(st, S_IMPORT_START) < 0)
		return -1;
	st->import_id = *import_id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int store_import_finish(struct store *st, int64_t import_id, const struct import_stats *stats,
			int64_t ended_ms)
{
	sqlite3_stmt *s = st->stmt[S_IMPORT_FINISH];

	sqlite3_bind_int64(s, 1, import_id);
	sqlite3_bind_int64(s, 2, stats->rows_read);
	sqlite3_bind_int64(s, 3, stats->accepted);
	sqlite3_bind_int64(s, 4, stats->invalid);
	sqlite3_bind_int64(s, 5, stats->unchanged);
	sqlite3_bind_int64(s, 6, stats->updated);
	sqlite3_bind_int64(s, 7, ended_ms);
	sqlite3_bind_int64(s, 8, stats->changed);
	sqlite3_bind_int64(s, 9, stats->withdrawn);
	sqlite3_bind_int64(s, 10, stats->returned);
	return store_exec(st, S_IMPORT_FINISH);
}

int store_import_hash(struct store *st, int64_t import_id, const char *sha256_hex, int64_t size)
{
	sqlite3_bind_int64(st->stmt[S_IMPORT_HASH], 1, import_id);
	bind_text(st->stmt[S_IMPORT_HASH], 2, sha256_hex);
	sqlite3_bind_int64(st->stmt[S_IMPORT_HASH], 3, size);
	return store_exec(st, S_IMPORT_HASH);
}

int store_last_import(struct store *st, struct import_record *out)
{
	sqlite3_stmt *s = st->stmt[S_LAST_IMPORT];
	int rc = sqlite3_step(s), ret = 0;

	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		out->id = sqlite3_column_int64(s, 0);
		snprintf(out->path, sizeof(out->path), "%s", column_str(s, 1));
		out->size = sqlite3_column_int64(s, 2);
		snprintf(out->sha256, sizeof(out->sha256), "%s", column_str(s, 3));
		out->stats.rows_read = sqlite3_column_int64(s, 4);
		out->stats.accepted = sqlite3_column_int64(s, 5);
		out->stats.invalid = sqlite3_column_int64(s, 6);
		out->stats.unchanged = sqlite3_column_int64(s, 7);
		out->stats.updated = sqlite3_column_int64(s, 8);
		out->started_ms = sqlite3_column_int64(s, 9);
		out->ended_ms = sqlite3_column_int64(s, 10);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = store_db_error(st, "cannot read the last import");
	}
	sqlite3_reset(s);
	return ret;
}

/* Binds r's request fields to ?base+2..?base+10, in the order of the customers columns. */
static void bind_request(sqlite3_stmt *s, int base, const struct connect_request *r,
			 const char *products)
{
	bind_text(s, base + 2, r->customer_name);
	bind_text(s, base + 3, r->customer_email);
	bind_text(s, base + 4, products);
	bind_text(s, base + 5, r->redirect_uri);
	bind_int_or_null(s, base + 6, r->minutes_to_expire, 0);
	bind_text(s, base + 7, r->sandbox);
	bind_int_or_null(s, base + 8, r->manual, -1);
	bind_text(s, base + 9, r->integration_provider);
	bind_text(s, base + 10, r->integration_auth_method);
}

/* Binds one INSERT_ROW of a new customer at ?base+1..?base+INSERT_ROW_PARAMS. */
static void bind_insert_row(struct store *st, sqlite3_stmt *s, int base,
			    const struct customer_upsert *u, const char *products,
			    const char *source, int64_t now_ms)
{
	bind_text(s, base + 1, u->req->customer_id);
	bind_request(s, base, u->req, products);
	bind_text(s, base + 11, source);
	sqlite3_bind_int64(s, base + 12, u->line);
	bind_int_or_null(s, base + 13, st->import_id, 0);
	bind_int_or_null(s, base + 14, st->import_id, 0);
	sqlite3_bind_int64(s, base + 15, now_ms);
	sqlite3_bind_int64(s, base + 16, now_ms);
	bind_text(s, base + 17, u->req->recordkeeper);
	bind_text(s, base + 18, u->req->recordkeeping_plan_id);
	bind_key(s, base + 19, u->req->customer_id);
}

/*
 * Settles a row that the INSERT OR IGNORE may have skipped: the customer
 * existed, or an earlier line of this import stored it. A row the INSERT
 * itself just stored is recognised by its import and line.
 */
/* Binds ?1..?13 of S_MARK_SEEN, S_FIND_CUSTOMER or S_UPDATE_CUSTOMER (some go unused). */
static void bind_settle(struct store *st, sqlite3_stmt *s, const struct customer_upsert *u,
			const char *products, const char *source)
{
	bind_key(s, 1, u->req->customer_id);
	bind_request(s, 0, u->req, products);
	bind_text(s, 11, source);
	bind_int_or_null(s, 12, st->import_id, 0);
	sqlite3_bind_int64(s, 13, u->line);
	if (sqlite3_bind_parameter_count(s) >= 17) {
		bind_text(s, 16, u->req->recordkeeper);
		bind_text(s, 17, u->req->recordkeeping_plan_id);
	}
}

/* What a row's state is for reconcile_line(). */
static enum reconcile_row row_kind(const char *state)
{
	enum row_state s;

	if (!state || state_from_name(state, &s) < 0)
		return RECONCILE_ROW_OPEN;
	switch (s) {
	case STATE_CREATED:
	case STATE_EXISTS:
		return RECONCILE_ROW_LINKED;
	case STATE_INVALID:
		return RECONCILE_ROW_INVALID;
	case STATE_IN_FLIGHT:
		return RECONCILE_ROW_BUSY;
	default:
		return RECONCILE_ROW_OPEN;
	}
}

void store_set_resend_changed(struct store *st, int on)
{
	st->resend_changed = on;
}

static int settle_upsert(struct store *st, struct customer_upsert *u, const char *products,
			 const char *source, int64_t now_ms)
{
	sqlite3_stmt *s = st->stmt[S_MARK_SEEN];
	enum stmt_id id;
	int64_t row = 0, seen = 0, first_line = 0, inserted = 0;
	unsigned changed = 0, marked = 0;
	enum reconcile_row kind = RECONCILE_ROW_OPEN;
	enum reconcile_verdict verdict;
	int rc;

	/* first the common case of a file imported again: unchanged, one statement */
	bind_settle(st, s, u, products, source);
	if (store_exec(st, S_MARK_SEEN) < 0)
		return -1;
	if (sqlite3_changes(st->db) == 1) {
		u->res = UPSERT_UNCHANGED;
		return 0;
	}

	s = st->stmt[S_FIND_CUSTOMER];
	bind_settle(st, s, u, products, source);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row = sqlite3_column_int64(s, 0);
		seen = sqlite3_column_int64(s, 1);
		first_line = sqlite3_column_int64(s, 2);
		inserted = sqlite3_column_int64(s, 3);
		changed = (unsigned)sqlite3_column_int64(s, 4);
		kind = row_kind(column_str(s, 5));
		marked = (unsigned)sqlite3_column_int64(s, 6);
	} else if (rc == SQLITE_DONE) {
		/* OR IGNORE also skips a row that breaks a CHECK: a bug upstream */
		error("cannot store customer '%s': the row breaks a constraint",
		      u->req->customer_id);
	} else {
		store_db_error(st, "cannot look up customer");
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_ROW)
		return -1;

	if (inserted) {
		u->res = UPSERT_NEW;
		return 0;
	}
	if (seen) {
		u->res = UPSERT_DUPLICATE;
		u->dup_line = first_line;
		return 0;
	}
	verdict = reconcile_line(kind, changed, st->resend_changed);
	if (verdict == RECONCILE_KEEP) {
		u->res = UPSERT_UNCHANGED;
		return 0;
	}
	id = verdict == RECONCILE_MARK_CHANGED ? S_MARK_CHANGED : S_UPDATE_CUSTOMER;
	s = st->stmt[id];
	bind_settle(st, s, u, products, source);
	sqlite3_bind_int64(s, 14, now_ms);
	sqlite3_bind_int64(s, 15, row);
	if (id == S_MARK_CHANGED)
		sqlite3_bind_int64(s, 18, reconcile_marked_after(changed, marked));
	u->res = id == S_MARK_CHANGED ? UPSERT_CHANGED : UPSERT_UPDATED;
	return store_exec(st, id);
}

int store_upsert_customers(struct store *st, struct customer_upsert *rows, size_t n,
			   const char *source, int64_t now_ms)
{
	size_t inserted = 0;

	if (n > STORE_UPSERT_BATCH)
		return error("%s: %zu rows in one upsert, more than %d", st->path, n,
			     STORE_UPSERT_BATCH);
	for (size_t i = 0; i < n; i++)
		products_join(rows[i].req->products, st->products[i]);
	/*
	 * New customers (the common case of a first import) are one INSERT:
	 * OR IGNORE turns the unique customer_key into "it exists", and only
	 * then are the rows looked up, compared and settled one by one.
	 */
	if (n == STORE_UPSERT_BATCH) {
		sqlite3_stmt *s = st->stmt[S_INSERT_CUSTOMERS];

		for (size_t i = 0; i < n; i++)
			bind_insert_row(st, s, (int)i * INSERT_ROW_PARAMS, &rows[i],
					st->products[i], source, now_ms);
		if (store_exec(st, S_INSERT_CUSTOMERS) < 0)
			return -1;
		inserted = (size_t)sqlite3_changes(st->db);
		for (size_t i = 0; i < n; i++) {
			rows[i].res = UPSERT_NEW;
			if (inserted < n &&
			    settle_upsert(st, &rows[i], st->products[i], source, now_ms) < 0)
				return -1;
		}
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		bind_insert_row(st, st->stmt[S_INSERT_CUSTOMER], 0, &rows[i], st->products[i],
				source, now_ms);
		if (store_exec(st, S_INSERT_CUSTOMER) < 0)
			return -1;
		rows[i].res = UPSERT_NEW;
		if (sqlite3_changes(st->db) != 1 &&
		    settle_upsert(st, &rows[i], st->products[i], source, now_ms) < 0)
			return -1;
	}
	return 0;
}

int store_upsert_customer(struct store *st, const struct connect_request *r, const char *source,
			  int64_t line, int64_t now_ms, enum upsert_result *res, int64_t *dup_line)
{
	struct customer_upsert u = {.req = r, .line = line};

	if (store_upsert_customers(st, &u, 1, source, now_ms) < 0)
		return -1;
	*res = u.res;
	*dup_line = u.dup_line;
	return 0;
}

int store_seen_in_import(struct store *st, const char *customer_id, int64_t *line)
{
	sqlite3_stmt *s = st->stmt[S_SEEN_LINE];
	int rc, ret = 0;

	bind_key(s, 1, customer_id);
	bind_int_or_null(s, 2, st->import_id, 0);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*line = sqlite3_column_int64(s, 0);
		ret = 1;
	} else if (rc != SQLITE_DONE) {
		ret = store_db_error(st, "cannot look up customer");
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

int store_mark_invalid(struct store *st, const char *customer_id, const char *display_id,
		       const char *display_name, const char *reason, const char *source,
		       int64_t line, int64_t now_ms)
{
	enum stmt_id id = customer_id ? S_INVALID_KEYED : S_INVALID_KEYLESS;
	sqlite3_stmt *s = st->stmt[id];

	bind_text(s, 1, customer_id ? customer_id : display_id ? display_id : "");
	bind_text(s, 2, display_name ? display_name : "");
	bind_text(s, 3, reason);
	bind_text(s, 4, source);
	sqlite3_bind_int64(s, 5, line);
	bind_int_or_null(s, 6, st->import_id, 0);
	sqlite3_bind_int64(s, 7, now_ms);
	if (customer_id)
		bind_key(s, 8, customer_id);
	return store_exec(st, id);
}

int store_forget_keyless(struct store *st, const char *source)
{
	bind_text(st->stmt[S_FORGET_KEYLESS], 1, source);
	return store_exec(st, S_FORGET_KEYLESS);
}

int store_set_kept(struct store *st, const char *customer_id, const char *kept_json)
{
	sqlite3_stmt *s = st->stmt[S_SET_KEPT];

	bind_key(s, 1, customer_id);
	bind_text(s, 2, kept_json);
	return store_exec(st, S_SET_KEPT);
}

int store_count_missing(struct store *st, int64_t *active, int64_t *missing)
{
	sqlite3_stmt *s = st->stmt[S_COUNT_MISSING];
	int ret = 0;

	sqlite3_bind_int64(s, 1, st->import_id);
	if (sqlite3_step(s) == SQLITE_ROW) {
		*active = sqlite3_column_int64(s, 0);
		*missing = sqlite3_column_int64(s, 1);
	} else {
		ret = store_db_error(st, "cannot count the rows missing from the import");
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

/* One of the import's UPDATEs of withdrawn rows: ?1 this import, ?2 the time. */
static int update_withdrawn(struct store *st, enum stmt_id id, int64_t now_ms, int64_t *count)
{
	sqlite3_bind_int64(st->stmt[id], 1, st->import_id);
	sqlite3_bind_int64(st->stmt[id], 2, now_ms);
	if (store_exec(st, id) < 0)
		return -1;
	*count = sqlite3_changes(st->db);
	return 0;
}

int store_withdraw_missing(struct store *st, int64_t now_ms, int64_t *count)
{
	return update_withdrawn(st, S_WITHDRAW_MISSING, now_ms, count);
}

int store_return_seen(struct store *st, int64_t now_ms, int64_t *count)
{
	return update_withdrawn(st, S_RETURN_SEEN, now_ms, count);
}
