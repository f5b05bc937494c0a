/*
 * store_import.h: what an import writes (store_import.c): the import's
 * record, its rows upserted 64 to a statement, its invalid rows, and the
 * rows the file lacked. Every function runs within the import's transaction
 * (store_begin_bulk()) unless its comment says otherwise, and returns 0 or
 * -1 after reporting, as store.h says.
 */
#ifndef FINCH_STORE_IMPORT_H
#define FINCH_STORE_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "finch/validate.h"
#include "store/store.h"

struct import_stats {
	int64_t rows_read; /* data rows, not counting the header and blank lines */
	int64_t accepted;  /* valid rows that were new */
	int64_t invalid;
	int64_t unchanged;   /* valid rows identical to what the store had */
	int64_t updated;     /* valid rows whose request fields changed, back to pending */
	int64_t changed;     /* rows with a link whose fields changed: link kept, marked */
	int64_t withdrawn;   /* rows of the database the file lacked, withdrawn */
	int64_t returned;    /* withdrawn rows the file has again, back as they were */
	int64_t blank;	     /* records whose cells are all empty, skipped (not stored) */
	int64_t footer;	     /* records of a report's footer, skipped (not stored) */
	int64_t not_utf8;    /* invalid rows with a cell that is not UTF-8 */
	int likely_encoding; /* for those: csv_text.h's enum csv_encoding (not stored) */
};

/* Records the start of an import; *import_id identifies it. Inside a transaction. */
int store_import_start(struct store *st, const char *path, int64_t size, const char *sha256_hex,
		       int64_t started_ms, int64_t *import_id);
int store_import_finish(struct store *st, int64_t import_id, const struct import_stats *stats,
			int64_t ended_ms);
/*
 * Records the file's SHA-256 and its size in bytes, known only once the
 * whole file has been read (a pipe has no size until then).
 */
int store_import_hash(struct store *st, int64_t import_id, const char *sha256_hex, int64_t size);

enum upsert_result {
	UPSERT_NEW,
	UPSERT_UNCHANGED,
	UPSERT_UPDATED,
	UPSERT_DUPLICATE, /* this import stored the customer already: nothing changed */
	UPSERT_CHANGED,	  /* a row with a link: fields changed, state and link kept */
};

/* A valid row of an import, and what storing it did. */
struct customer_upsert {
	const struct connect_request *req; /* in */
	int64_t line;			   /* in: the CSV line its record starts on */
	enum upsert_result res;		   /* out */
	int64_t dup_line;		   /* out: the earlier line, for UPSERT_DUPLICATE */
};

/*
 * Stores the kept columns of a customer's row (a JSON object, or NULL for
 * none), for the export only: it changes neither the row's state nor its
 * updated_at. Inside the import's transaction.
 */
int store_set_kept(struct store *st, const char *customer_id, const char *kept_json);

/*
 * store_upsert_customer() for n <= STORE_UPSERT_BATCH rows, in order, as if
 * one at a time; a full batch of new customers is one INSERT. The strings
 * of every rows[i].req must stay valid until it returns.
 */
int store_upsert_customers(struct store *st, struct customer_upsert *rows, size_t n,
			   const char *source, int64_t now_ms);

/*
 * Inserts or updates the customer r->customer_id with a valid request.
 * Identical request fields leave the row alone (UPSERT_UNCHANGED). What
 * changed fields do is reconcile_line()'s rule: a row without a link (or
 * one that was invalid) goes back to pending with a fresh attempt budget
 * (UPSERT_UPDATED); a created or exists row keeps its state and link, takes
 * the fields and is marked changed in them (UPSERT_CHANGED), unless
 * store_set_resend_changed() asked for a new link. session_id,
 * connect_url, connection_id and the attempt history are always kept. source names FILE and line
 * the CSV line the record starts on: within one import, a line is one record, and that is how a row
 * the INSERT of a batch just stored is told from one that existed. Call it between
 * store_import_start() and store_import_finish(): the import's id is what tells a new row from an
 * updated one, and a customer this import stored already from an earlier line (UPSERT_DUPLICATE,
 * with that line in *dup_line) from an unchanged one. The database does that bookkeeping, so an
 * import's memory does not grow with the file.
 */
int store_upsert_customer(struct store *st, const struct connect_request *r, const char *source,
			  int64_t line, int64_t now_ms, enum upsert_result *res, int64_t *dup_line);

/*
 * Returns 1 and the line in *line if the current import already stored
 * customer_id (valid or invalid), 0 if not, -1 on error.
 */
int store_seen_in_import(struct store *st, const char *customer_id, int64_t *line);

/*
 * Stores a row that broke a rule, with reason "FILE:LINE: column: why".
 * If customer_id is a usable key (valid, and not a duplicate within this
 * file) the customer's row becomes invalid and keeps its history and its
 * last good request fields; a created or exists row keeps its state and
 * link too, with the reason in error and line_invalid set, until a valid
 * line comes back. Otherwise (customer_id NULL) the line is kept as
 * a keyless invalid row named by display_id (the raw id, made printable),
 * which the next import of the same source replaces.
 */
int store_mark_invalid(struct store *st, const char *customer_id, const char *display_id,
		       const char *display_name, const char *reason, const char *source,
		       int64_t line, int64_t now_ms);

/*
 * Rows missing from a CSV (schema/011_withdrawn.sql), within the import's
 * transaction, after its last row: store_count_missing() counts the active
 * rows the database had before this import (keyed, not withdrawn) and how
 * many of them the import did not have; store_withdraw_missing() withdraws
 * those; store_return_seen() brings back the withdrawn rows the import had.
 */
int store_count_missing(struct store *st, int64_t *active, int64_t *missing);
int store_withdraw_missing(struct store *st, int64_t now_ms, int64_t *count);
int store_return_seen(struct store *st, int64_t now_ms, int64_t *count);

/* Deletes the keyless invalid rows left by earlier imports of source. */
int store_forget_keyless(struct store *st, const char *source);

struct import_record {
	int64_t id;
	char path[4096];
	int64_t size;
	char sha256[65];
	struct import_stats stats;
	int64_t started_ms, ended_ms; /* ended_ms 0: never finished */
};

/* Returns 1 and fills *out with the newest import, 0 if there is none, -1 on error. */
int store_last_import(struct store *st, struct import_record *out);

/*
 * From now on the imports of st re-queue a created or exists row whose
 * fields changed, for a new link (--resend-changed), instead of marking it.
 */
void store_set_resend_changed(struct store *st, int on);

#endif
