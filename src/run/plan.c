/*
 * plan.c: the summary that ends a dry run; see plan.h.
 */
#include "run/plan.h"
#include "store/store_queue.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static int64_t due_total(const struct night_plan *p)
{
	return p->due.fresh + p->due.relink + p->due.renew + p->due.reauth + p->due.carried;
}

int64_t plan_requests(const struct night_plan *p)
{
	int64_t n = due_total(p);

	return p->limit && p->limit < n ? p->limit : n;
}

int64_t plan_duration_ms(const struct night_plan *p)
{
	if (p->rate_per_s <= 0)
		return 0;
	return (int64_t)ceil((double)plan_requests(p) * 1000.0 / p->rate_per_s);
}

/* "26 s", "6 min", "1 h 40 min", "2 d 3 h": two units at most, rounded up. */
static void add_duration(struct strbuf *sb, int64_t ms)
{
	int64_t s = (ms + 999) / 1000;

	if (s < 60)
		strbuf_addf(sb, "%" PRId64 " s", s);
	else if (s < 3600)
		strbuf_addf(sb, "%" PRId64 " min", (s + 59) / 60);
	else if (s < 86400) {
		int64_t m = (s + 59) / 60;

		strbuf_addf(sb, "%" PRId64 " h", m / 60);
		if (m % 60)
			strbuf_addf(sb, " %" PRId64 " min", m % 60);
	} else {
		int64_t h = (s + 3599) / 3600;

		strbuf_addf(sb, "%" PRId64 " d", h / 24);
		if (h % 24)
			strbuf_addf(sb, " %" PRId64 " h", h % 24);
	}
}

static void add_line(struct strbuf *sb, const char *what, int64_t n)
{
	strbuf_addf(sb, "  %-26s %8" PRId64 "\n", what, n);
}

void plan_format_text(const struct night_plan *p, struct strbuf *sb)
{
	int64_t n = plan_requests(p), due = due_total(p);

	strbuf_addf(sb, "plan: %" PRId64 " request%s", n, n == 1 ? "" : "s");
	if (n < due)
		strbuf_addf(sb, " (--limit %" PRId64 "; %" PRId64 " due, the rest wait)", p->limit,
			    due);
	if (p->rate_per_s > 0 && n) {
		strbuf_addstr(sb, ", about ");
		add_duration(sb, plan_duration_ms(p));
		strbuf_addf(sb, " at %s", p->rate ? p->rate : "the configured rate");
	} else if (n) {
		strbuf_addstr(sb, ", no --rate limit");
	}
	strbuf_addch(sb, '\n');
	add_line(sb, "new rows", p->due.fresh);
	add_line(sb, "changed rows, new link", p->due.relink);
	add_line(sb, "renewals", p->due.renew);
	add_line(sb, "reauthentications", p->due.reauth);
	add_line(sb, "failures carried over", p->due.carried);
	if (!p->has_import)
		return;
	add_line(sb, "withdrawn tonight", p->withdrawn);
	add_line(sb, "back from withdrawn", p->returned);
	add_line(sb, "changed rows, link kept", p->changed_kept);
	add_line(sb, "unchanged", p->unchanged);
}

static void add_key(struct strbuf *sb, const char *key, int64_t n, int known)
{
	if (known)
		strbuf_addf(sb, ",\"%s\":%" PRId64, key, n);
	else
		strbuf_addf(sb, ",\"%s\":null", key);
}

void plan_format_json(const struct night_plan *p, struct strbuf *sb)
{
	const char *rate = p->rate ? p->rate : "";

	strbuf_addf(sb, "{\"requests\":%" PRId64, plan_requests(p));
	add_key(sb, "due", due_total(p), 1);
	add_key(sb, "limit", p->limit, p->limit != 0);
	/* --rate was checked by ratelimit_parse(): digits, a slash and a unit, nothing to escape */
	strbuf_addstr(sb, ",\"rate\":\"");
	for (; *rate; rate++)
		if (*rate != '"' && *rate != '\\' && (unsigned char)*rate >= 0x20)
			strbuf_addch(sb, *rate);
	strbuf_addch(sb, '"');
	if (p->rate_per_s > 0)
		strbuf_addf(sb, ",\"seconds\":%.3f", (double)plan_duration_ms(p) / 1000.0);
	else
		strbuf_addstr(sb, ",\"seconds\":null");
	add_key(sb, "new", p->due.fresh, 1);
	add_key(sb, "changed_new_link", p->due.relink, 1);
	add_key(sb, "renewals", p->due.renew, 1);
	add_key(sb, "reauthentications", p->due.reauth, 1);
	add_key(sb, "carried_over", p->due.carried, 1);
	add_key(sb, "withdrawn", p->withdrawn, p->has_import);
	add_key(sb, "returned", p->returned, p->has_import);
	add_key(sb, "changed_link_kept", p->changed_kept, p->has_import);
	add_key(sb, "unchanged", p->unchanged, p->has_import);
	strbuf_addstr(sb, "}\n");
}

int plan_read(struct night_plan *p, struct store *st, int64_t now_ms, int resend_changed,
	      int64_t limit, double rate_per_s, const char *rate)
{
	p->limit = limit;
	p->rate_per_s = rate_per_s;
	p->rate = rate;
	return store_plan_counts(st, now_ms, resend_changed, &p->due);
}

void plan_print(FILE *f, const struct night_plan *p, enum log_format fmt)
{
	struct strbuf sb = STRBUF_INIT;

	if (fmt == LOG_FORMAT_JSON)
		plan_format_json(p, &sb);
	else
		plan_format_text(p, &sb);
	fputs(sb.buf, f);
	strbuf_release(&sb);
}
