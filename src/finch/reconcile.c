/*
 * reconcile.c: what tonight's CSV means for each row; see reconcile.h.
 */
#include "finch/reconcile.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/exitcode.h"
#include "base/util.h"

static const char *const field_names[] = {
    "customer_name",	 "customer_email", "products",	  "redirect_uri",
    "minutes_to_expire", "sandbox",	   "integration", "recordkeeping",
};

/* Two optional strings are the same value: both absent, or equal. */
static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

unsigned reconcile_changed_fields(const struct connect_request *a, const struct connect_request *b)
{
	unsigned m = 0;

	if (!same_str(a->customer_name, b->customer_name))
		m |= RECONCILE_NAME;
	if (!same_str(a->customer_email, b->customer_email))
		m |= RECONCILE_EMAIL;
	if (a->products != b->products)
		m |= RECONCILE_PRODUCTS;
	if (!same_str(a->redirect_uri, b->redirect_uri))
		m |= RECONCILE_REDIRECT;
	if (a->minutes_to_expire != b->minutes_to_expire)
		m |= RECONCILE_EXPIRY;
	if (!same_str(a->sandbox, b->sandbox) || a->manual != b->manual)
		m |= RECONCILE_SANDBOX;
	if (!same_str(a->integration_provider, b->integration_provider) ||
	    !same_str(a->integration_auth_method, b->integration_auth_method))
		m |= RECONCILE_INTEGRATION;
	if (!same_str(a->recordkeeper, b->recordkeeper) ||
	    !same_str(a->recordkeeping_plan_id, b->recordkeeping_plan_id))
		m |= RECONCILE_RECORDKEEPING;
	return m;
}

char *reconcile_fields_text(unsigned mask, char *buf, size_t size)
{
	size_t len = 0;

	if (!size)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(field_names); i++) {
		int n;

		if (!(mask & (1u << i)))
			continue;
		n = snprintf(buf + len, size - len, "%s%s", len ? "," : "", field_names[i]);
		if (n < 0 || (size_t)n >= size - len) {
			buf[len] = '\0'; /* whole names only */
			break;
		}
		len += (size_t)n;
	}
	return buf;
}

int reconcile_fields_parse(const char *text, unsigned *mask)
{
	const char *p = text;
	unsigned m = 0;

	while (p && *p) {
		size_t n = strcspn(p, ","), i;

		for (i = 0; i < ARRAY_SIZE(field_names); i++)
			if (strlen(field_names[i]) == n && !strncmp(p, field_names[i], n))
				break;
		if (i == ARRAY_SIZE(field_names))
			return -1;
		m |= 1u << i;
		p += n;
		if (*p == ',')
			p++;
	}
	*mask = m;
	return 0;
}

enum reconcile_verdict reconcile_line(enum reconcile_row row, unsigned changed, int resend_changed)
{
	switch (row) {
	case RECONCILE_ROW_NONE:
		return RECONCILE_INSERT;
	case RECONCILE_ROW_INVALID:
		return RECONCILE_REQUEUE;
	case RECONCILE_ROW_OPEN:
		return changed ? RECONCILE_REQUEUE : RECONCILE_KEEP;
	case RECONCILE_ROW_LINKED:
		if (!changed)
			return RECONCILE_KEEP;
		return resend_changed ? RECONCILE_REQUEUE : RECONCILE_MARK_CHANGED;
	case RECONCILE_ROW_BUSY:
	default:
		return RECONCILE_KEEP;
	}
}

unsigned reconcile_marked_after(unsigned changed, unsigned marked)
{
	return (changed | marked) & RECONCILE_FIELD_ALL;
}

void withdraw_limit_init(struct withdraw_limit *l)
{
	l->count = -1;
	l->percent = RECONCILE_MAX_WITHDRAW_DEFAULT_PERCENT;
	l->given = 0;
}

int withdraw_limit_parse(const char *arg, struct withdraw_limit *l, char *why, size_t size)
{
	size_t len = strlen(arg);

	if (len && arg[len - 1] == '%') {
		char *end;
		double p = strtod(arg, &end);

		if (end != arg + len - 1 || end == arg || !(p >= 0 && p <= 100) || *arg == '-' ||
		    *arg == '+' || *arg == ' ')
			return set_why(why, size,
				       "'%s' is not a share from 0%% to 100%% (say 10%% or 2.5%%)",
				       arg);
		l->count = -1;
		l->percent = p;
	} else {
		int64_t n;

		if (parse_int64(arg, 0, INT64_MAX, &n) < 0)
			return set_why(why, size,
				       "'%s' is neither a number of rows (50) nor a share (10%%)",
				       arg);
		l->count = n;
	}
	l->given = 1;
	return 0;
}

int64_t withdraw_limit_rows(const struct withdraw_limit *l, int64_t active)
{
	int64_t n;

	if (l->count >= 0)
		return l->count;
	if (active <= 0)
		return 0;
	if (l->percent >= 100)
		return active;
	n = (int64_t)floor((double)active * l->percent / 100.0 + 1e-9);
	return n < 1 && l->percent > 0 ? 1 : n;
}

char *reconcile_count_text(int64_t n, char *buf, size_t size)
{
	char digits[32];
	size_t len, out = 0, i;
	int neg = n < 0;

	snprintf(digits, sizeof(digits), "%" PRIu64, neg ? (uint64_t)0 - (uint64_t)n : (uint64_t)n);
	len = strlen(digits);
	if (!size)
		return buf;
	if (neg && out + 1 < size)
		buf[out++] = '-';
	for (i = 0; i < len && out + 1 < size; i++) {
		if (i && (len - i) % 3 == 0) {
			buf[out++] = ',';
			if (out + 1 >= size)
				break;
		}
		buf[out++] = digits[i];
	}
	buf[out] = '\0';
	return buf;
}

static void limit_text(const struct withdraw_limit *l, char *buf, size_t size)
{
	if (l->count >= 0)
		snprintf(buf, size, "%" PRId64, l->count);
	else
		snprintf(buf, size, "%g%%", l->percent);
}

int reconcile_withdraw_check(int64_t active, int64_t missing, int64_t csv_rows,
			     const struct withdraw_limit *l, char *why, size_t size)
{
	int64_t allowed = withdraw_limit_rows(l, active);
	char c_csv[32], c_active[32], c_missing[32], c_allowed[32], lim[32];

	if (missing <= 0)
		return 0;
	/* Every row gone is a truncated or empty file until the user says otherwise. */
	if (missing >= active && !(l->given && allowed >= active))
		allowed = missing - 1;
	if (missing <= allowed)
		return 0;
	reconcile_count_text(csv_rows, c_csv, sizeof(c_csv));
	reconcile_count_text(active, c_active, sizeof(c_active));
	reconcile_count_text(missing, c_missing, sizeof(c_missing));
	reconcile_count_text(withdraw_limit_rows(l, active), c_allowed, sizeof(c_allowed));
	limit_text(l, lim, sizeof(lim));
	return set_why(why, size,
		       "the CSV has %s row%s; the database has %s active row%s: %s would be "
		       "withdrawn, more than --max-withdraw %s%s allows (%s%s): a truncated "
		       "export? Nothing was sent. Check the file; if those employers really "
		       "left, run again with --max-withdraw %s, or --keep-missing to keep them",
		       c_csv, csv_rows == 1 ? "" : "s", c_active, active == 1 ? "" : "s", c_missing,
		       lim, l->given ? "" : " (the default)", c_allowed,
		       missing >= active ? "; every row would go" : "",
		       missing >= active ? "100%" : c_missing);
}

int reconcile_night_exit(int run_exit, int64_t sent, int64_t successes, int64_t csv_valid,
			 int64_t db_rows)
{
	if (run_exit != EXIT_OK && run_exit != EXIT_ROWS)
		return run_exit;
	if (csv_valid == 0 && db_rows > 0)
		return EXIT_NO_SUCCESS;
	if (sent > 0 && successes == 0)
		return EXIT_NO_SUCCESS;
	return run_exit;
}
