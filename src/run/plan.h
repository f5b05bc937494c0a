/*
 * plan.h: what a night would do, by kind, before it does it (issue 16): the
 * summary that ends `sync --dry-run` and `run --dry-run`.
 *
 *	plan: 76 requests, about 26 s at 3/s
 *	  new rows                      60
 *	  changed rows, new link         0
 *	  renewals                      12
 *	  reauthentications              0
 *	  failures carried over          4
 *	  withdrawn tonight              5
 *	  back from withdrawn            0
 *	  changed rows, link kept     2935
 *	  unchanged                      0
 *
 * The last four lines come from the import, so only a sync has them. The
 * formatting is pure (tests/unit/test_plan.c); plan_read() fills the counts
 * from the store.
 */
#ifndef FINCH_PLAN_H
#define FINCH_PLAN_H

#include <stdint.h>

#include <stdio.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "store/store.h"
#include "store/store_queue.h"

struct night_plan {
	struct plan_counts due; /* the requests by kind, before --limit */
	int has_import;		/* a sync: the import's figures below are known */
	int64_t withdrawn;	/* rows the CSV lacked, withdrawn tonight */
	int64_t returned;	/* withdrawn rows the CSV has again */
	int64_t changed_kept;	/* linked rows whose fields changed: marked, link kept */
	int64_t unchanged;	/* rows the CSV has as the database has them */
	int64_t limit;		/* --limit; 0: none */
	double rate_per_s;	/* --rate; 0: no limit */
	const char *rate;	/* --rate as given ("3/s") */
};

/* The requests the night would send: every due row, at most --limit. */
int64_t plan_requests(const struct night_plan *p);

/* How long they take at the configured rate, in milliseconds (0 without a rate). */
int64_t plan_duration_ms(const struct night_plan *p);

/* Appends the plan as text lines (above), each ending in "\n". */
void plan_format_text(const struct night_plan *p, struct strbuf *sb);

/*
 * Appends the plan as one JSON object and a "\n": "requests", "due",
 * "limit" (null without), "rate", "seconds" (null without a rate), the
 * kinds ("new", "changed_new_link", "renewals", "reauthentications",
 * "carried_over") and, null without an import, "withdrawn", "returned",
 * "changed_link_kept", "unchanged".
 */
void plan_format_json(const struct night_plan *p, struct strbuf *sb);

/* Prints the plan to f: as text, or under LOG_FORMAT_JSON as one JSON object. */
void plan_print(FILE *f, const struct night_plan *p, enum log_format fmt);

/*
 * Fills p's due counts from st at now_ms (store_plan_counts()) and its
 * --limit and --rate from cfg's values. Returns 0 or -1.
 */
int plan_read(struct night_plan *p, struct store *st, int64_t now_ms, int resend_changed,
	      int64_t limit, double rate_per_s, const char *rate);

#endif
