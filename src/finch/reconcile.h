/*
 * reconcile.h: what tonight's CSV means for each row of the database, as
 * pure rules (issue 16). The nightly sync treats the CSV as the desired
 * state, not as a list of rows to send:
 *
 *  - a row that has a link (created, or exists) keeps it when its request
 *    fields change, unless the user asks for a new one (--resend-changed,
 *    `retry --changed`); it is marked changed, with what changed;
 *  - rows without a link (pending, retry_wait, failed, invalid) take the
 *    change as before: back to pending with a fresh budget;
 *  - a row missing from the CSV is withdrawn (never sent, renewed or
 *    reauthenticated), and comes back, with its link and state, when a later
 *    CSV has it again; a guard refuses a CSV that would withdraw more than a
 *    share of the active rows (a truncated export);
 *  - a night that sent requests and got no success at all is not a good one.
 *
 * Everything here takes its inputs as parameters and touches no database:
 * the store applies the verdicts, tests/unit/test_reconcile.c pins them.
 */
#ifndef FINCH_RECONCILE_H
#define FINCH_RECONCILE_H

#include <stddef.h>
#include <stdint.h>

#include "finch/validate.h"

/* The request fields a change is told by; a mask of them says what changed. */
enum reconcile_field {
	RECONCILE_NAME = 1u << 0,
	RECONCILE_EMAIL = 1u << 1,
	RECONCILE_PRODUCTS = 1u << 2, /* a set: reordering is no change */
	RECONCILE_REDIRECT = 1u << 3,
	RECONCILE_EXPIRY = 1u << 4,	   /* minutes_to_expire */
	RECONCILE_SANDBOX = 1u << 5,	   /* sandbox, manual */
	RECONCILE_INTEGRATION = 1u << 6,   /* provider, auth method */
	RECONCILE_RECORDKEEPING = 1u << 7, /* recordkeeper, plan id */
	RECONCILE_FIELD_ALL = (1u << 8) - 1
};

/*
 * The fields of b that differ from a. A default an option filled in
 * (--products) is a field like any other: the caller passes the request
 * as it would be sent. Products compare as a set (they are a mask).
 */
unsigned reconcile_changed_fields(const struct connect_request *a, const struct connect_request *b);

/*
 * Writes the names of the fields in mask, separated by commas, in the
 * order of enum reconcile_field ("customer_name,products"), into buf
 * (always terminated; "" for 0). Returns buf.
 */
char *reconcile_fields_text(unsigned mask, char *buf, size_t size);

/* Parses reconcile_fields_text()'s output back into a mask; -1 on an unknown name. */
int reconcile_fields_parse(const char *text, unsigned *mask);

/* What a row of the database is, for the rules below. */
enum reconcile_row {
	RECONCILE_ROW_NONE,    /* no such customer yet */
	RECONCILE_ROW_OPEN,    /* pending, retry_wait or failed: no link to lose */
	RECONCILE_ROW_INVALID, /* invalid */
	RECONCILE_ROW_LINKED,  /* created or exists: it has a link someone may have sent */
	RECONCILE_ROW_BUSY     /* in_flight: only a run moves it (never seen by an import) */
};

/* What an import does with a valid line of the CSV for a row. */
enum reconcile_verdict {
	RECONCILE_INSERT,      /* a new customer: pending */
	RECONCILE_KEEP,	       /* nothing changed (a changed mark stays as it was) */
	RECONCILE_REQUEUE,     /* take the fields; back to pending, fresh budget */
	RECONCILE_MARK_CHANGED /* take the fields, keep state and link, mark what changed */
};

/*
 * The rule for one valid CSV line: row is what the database holds, changed
 * the fields of the line that differ from the stored ones (0: none).
 * resend_changed is --resend-changed: a linked row whose fields changed is
 * sent again. An invalid row whose line is valid again is re-queued even
 * unchanged (its stored fields are its last good ones).
 */
enum reconcile_verdict reconcile_line(enum reconcile_row row, unsigned changed, int resend_changed);

/*
 * The fields a linked row is marked changed in after a MARK_CHANGED, from
 * those it was marked in (marked) and tonight's (changed): the link was
 * made for the values before the first change, so marks add up until a new
 * link clears them (a created or exists answer, `retry --changed`).
 */
unsigned reconcile_marked_after(unsigned changed, unsigned marked);

/* --max-withdraw: at most count rows, or at most percent of the active rows. */
struct withdraw_limit {
	int64_t count;	/* -1: a share instead */
	double percent; /* 0..100, when count is -1 */
	int given;	/* 0: the default */
};

/* The default: 10% of the active rows (at least one row). */
#define RECONCILE_MAX_WITHDRAW_DEFAULT	       "10%"
#define RECONCILE_MAX_WITHDRAW_DEFAULT_PERCENT 10.0

void withdraw_limit_init(struct withdraw_limit *l);

/*
 * Parses "N" (rows) or "P%" (a share of the active rows, 0 to 100, decimals
 * allowed). Returns 0, or -1 with the reason in why.
 */
int withdraw_limit_parse(const char *arg, struct withdraw_limit *l, char *why, size_t size);

/*
 * How many rows the limit lets one sync withdraw out of active rows (not
 * withdrawn, not invalid keyless reports). A share rounds down but never
 * below one row, so a small database can lose one employer a night.
 */
int64_t withdraw_limit_rows(const struct withdraw_limit *l, int64_t active);

/*
 * The guard: 0 when a sync may withdraw missing of active rows, whose CSV
 * had csv_rows data rows, or -1 with a message naming the counts in why
 * ("the CSV has 1 row; the database has 2,998 active rows: 2,997 would be
 * withdrawn, more than --max-withdraw 10% (299): a truncated export? ...").
 * A CSV without any row never withdraws every row, whatever the limit,
 * unless the limit names them all (--max-withdraw 100%).
 */
int reconcile_withdraw_check(int64_t active, int64_t missing, int64_t csv_rows,
			     const struct withdraw_limit *l, char *why, size_t size);

/*
 * The exit code of a night (exitcode.h) from the run's: a run that ended
 * EXIT_OK or EXIT_ROWS but sent requests without a single success (no
 * created, no exists) is EXIT_NO_SUCCESS; so is an import whose CSV gave
 * no valid row while the database holds rows (csv_valid 0, db_rows > 0;
 * csv_valid -1 for a run without an import, or a file without data rows,
 * which the withdraw guard judges). Any other code stands.
 */
int reconcile_night_exit(int run_exit, int64_t sent, int64_t successes, int64_t csv_valid,
			 int64_t db_rows);

/* Thousands separated by commas, for messages that name counts ("2,998"). */
char *reconcile_count_text(int64_t n, char *buf, size_t size);

#endif
