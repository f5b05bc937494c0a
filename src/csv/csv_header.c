/*
 * csv_header.c: see csv_header.h.
 */
#include "csv/csv_header.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "base/utf8.h"
#include "base/cli.h"
#include "base/util.h"
#include "csv/csv_text.h"

const char *const csv_column_names[CSV_COL_COUNT] = {
    "customer_id",
    "customer_name",
    "customer_email",
    "products",
    "redirect_uri",
    "minutes_to_expire",
    "sandbox",
    "manual",
    "integration_provider",
    "integration_auth_method",
    "recordkeeping_recordkeeper",
    "recordkeeping_plan_id",
};

/* Safe synonyms: the key a spreadsheet writes, and the one field it can only mean. */
static const struct {
	const char *key; /* a header cell's key (csv_header_key()) */
	enum csv_column col;
} synonyms[] = {
    {"email", CSV_COL_CUSTOMER_EMAIL},	       {"e_mail", CSV_COL_CUSTOMER_EMAIL},
    {"email_address", CSV_COL_CUSTOMER_EMAIL}, {"company", CSV_COL_CUSTOMER_NAME},
    {"company_name", CSV_COL_CUSTOMER_NAME},
};

/* Headers cited in a missing column's message, at most. */
#define HINTS_MAX 5
/*
 * A header cell is quoted by its first bytes only: the file may not be a
 * CSV of ours at all (a secret planted at the CSV's path), and its first
 * line is what the messages would otherwise show.
 */
#define CELL_QUOTE_MAX 24

int csv_column_find(const char *name)
{
	return name_index(name, csv_column_names, CSV_COL_COUNT);
}

/* The name among names[0..n) closest to key, if close enough to be a typo; else NULL. */
static const char *closest(const char *key, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < n; i++) {
		size_t d = csv_edit_distance(key, names[i]);
		size_t limit = strlen(names[i]) / 4;

		if (d <= (limit > 2 ? limit : 2) && d < best_d) {
			best = names[i];
			best_d = d;
		}
	}
	return best;
}

const char *csv_column_did_you_mean(const char *key)
{
	return closest(key, csv_column_names, CSV_COL_COUNT);
}

int csv_column_synonym(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(synonyms); i++)
		if (!strcmp(key, synonyms[i].key))
			return (int)synonyms[i].col;
	return -1;
}

void csv_columns_release(struct csv_columns *c)
{
	for (int i = 0; i < CSV_COL_COUNT; i++)
		free(c->map_header[i]);
	for (size_t i = 0; i < c->nignore; i++)
		free(c->ignore[i]);
	for (size_t i = 0; i < c->nkeep; i++)
		free(c->keep[i]);
	free(c->ignore);
	free(c->keep);
	memset(c, 0, sizeof(*c));
}

int csv_columns_add_map(struct csv_columns *c, const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct strbuf field = STRBUF_INIT;
	const char *typo;
	int col, ret = -1;

	if (!eq || !eq[1]) {
		error("--column '%s': expects FIELD=HEADER, e.g. customer_id='Account ID'", arg);
		goto out;
	}
	csv_header_key(arg, (size_t)(eq - arg), &field);
	col = csv_column_find(field.buf);
	if (col < 0) {
		typo = csv_column_did_you_mean(field.buf);
		if (typo)
			error("--column '%s': unknown field '%s' (did you mean '%s'?)", arg,
			      field.buf, typo);
		else
			error("--column '%s': unknown field '%s' (one of customer_id, "
			      "customer_name, customer_email, products, redirect_uri, "
			      "minutes_to_expire, sandbox, manual, integration_provider, "
			      "integration_auth_method, recordkeeping_recordkeeper, "
			      "recordkeeping_plan_id)",
			      arg, field.buf);
		goto out;
	}
	/* "customer_id = Account ID" in a config file: the header is 'Account ID' */
	strbuf_reset(&field);
	strbuf_addstr(&field, eq + 1);
	strbuf_trim(&field);
	if (!field.len) {
		error("--column '%s': expects FIELD=HEADER, e.g. customer_id='Account ID'", arg);
		goto out;
	}
	free(c->map_header[col]);
	c->map_header[col] = strbuf_detach(&field, NULL);
	c->map_arg[col] = arg;
	ret = 0;
out:
	strbuf_release(&field);
	return ret;
}

static int add_name(char ***list, size_t *n, const char *opt, const char *header)
{
	struct strbuf name = STRBUF_INIT;

	strbuf_addstr(&name, header);
	strbuf_trim(&name);
	if (!name.len) {
		strbuf_release(&name);
		return error("--%s: empty column name", opt);
	}
	*list = xrealloc(*list, (*n + 1) * sizeof(**list));
	(*list)[(*n)++] = strbuf_detach(&name, NULL);
	return 0;
}

int csv_columns_add_ignore(struct csv_columns *c, const char *header)
{
	return add_name(&c->ignore, &c->nignore, "ignore-column", header);
}

int csv_columns_add_keep(struct csv_columns *c, const char *header)
{
	return add_name(&c->keep, &c->nkeep, "keep-column", header);
}

void csv_header_release(struct csv_header *h)
{
	free(h->cell_col);
	free(h->keep_cell);
	memset(h, 0, sizeof(*h));
}

/* Resolution state: the input, the key of every cell, the messages. */
struct resolver {
	struct csv_header *h;
	const struct csv_header_input *in;
	char **keys;	    /* of each header cell */
	int pending;	    /* a problem was reported: the last one ends the import */
	int foreign;	    /* no cell is ours: nothing of the header is quoted */
	struct strbuf last; /* that problem, printed with "; nothing was imported" */
	struct strbuf shown;
};

/* Reports a problem; the one before it is printed now (only the last says "nothing"). */
static void problem(struct resolver *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct resolver *r, const char *fmt, ...)
{
	va_list ap;

	if (r->pending)
		error("%s:%lld: %s", r->in->path, (long long)r->in->line, r->last.buf);
	strbuf_reset(&r->last);
	va_start(ap, fmt);
	strbuf_vaddf(&r->last, fmt, ap);
	va_end(ap);
	r->pending = 1;
}

/* A user's text (a header cell or an option's value) for a message: inert, cut. */
static const char *shown(struct resolver *r, const char *s, size_t len)
{
	strbuf_reset(&r->shown);
	csv_printable(&r->shown, s, len, 0, 256);
	return r->shown.buf;
}

/* Header cell i for a message: inert, cut at CELL_QUOTE_MAX bytes. */
static const char *shown_cell(struct resolver *r, size_t i)
{
	strbuf_reset(&r->shown);
	csv_printable(&r->shown, r->in->cells[i], r->in->lens[i], 0, CELL_QUOTE_MAX);
	return r->shown.buf;
}

/* The header cell whose key is header's, or -1. */
static int find_cell(struct resolver *r, const char *header)
{
	struct strbuf key = STRBUF_INIT;
	int found = -1;

	csv_header_key(header, strlen(header), &key);
	for (size_t i = 0; i < r->h->ncells && found < 0; i++)
		if (key.len && !strcmp(key.buf, r->keys[i]))
			found = (int)i;
	strbuf_release(&key);
	return found;
}

/* Appends to sb the file's header closest to name, as " (did you mean 'X'?)", if any. */
static void add_closest_header(struct resolver *r, struct strbuf *sb, const char *name)
{
	struct strbuf key = STRBUF_INIT;
	const char *best;

	csv_header_key(name, strlen(name), &key);
	best = r->foreign ? NULL : closest(key.buf, (const char *const *)r->keys, r->h->ncells);
	for (size_t i = 0; best && i < r->h->ncells; i++)
		if (r->keys[i] == best) {
			strbuf_addf(sb, " (did you mean '%s'?)", shown_cell(r, i));
			break;
		}
	strbuf_release(&key);
}

/* 1 if word is one of key's '_'-separated words. */
static int has_word(const char *key, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = key; (p = strstr(p, word)); p++)
		if ((p == key || p[-1] == '_') && (!p[n] || p[n] == '_'))
			return 1;
	return 0;
}

/* 1 if a header with this key may hold column c, for a missing column's message. */
static int may_be(const char *key, int c)
{
	size_t n = strlen(key);

	switch (c) {
	case CSV_COL_CUSTOMER_ID:
		return !strstr(key, "mail") &&
		       (has_word(key, "id") || has_word(key, "no") || has_word(key, "nr") ||
			has_word(key, "ref") || has_word(key, "key") || strstr(key, "number") ||
			strstr(key, "nummer") || strstr(key, "reference") ||
			(n > 2 && !strcmp(key + n - 2, "id")) ||
			csv_edit_distance(key, "customer_id") <= 3);
	case CSV_COL_CUSTOMER_NAME:
		return !strstr(key, "mail") &&
		       (strstr(key, "name") || has_word(key, "company") || strstr(key, "organi") ||
			has_word(key, "employer") || strstr(key, "firm"));
	case CSV_COL_CUSTOMER_EMAIL:
		return strstr(key, "mail") != NULL;
	case CSV_COL_PRODUCTS:
		return strstr(key, "product") || strstr(key, "produkt");
	}
	return 0;
}

/* Reports required column c missing, with the file's headers that may be it. */
static void missing(struct resolver *r, int c)
{
	const struct csv_header_input *in = r->in;
	const char *used = csv_delimiter_name(in->delim);
	const char *seen = csv_delimiter_name(in->header_delim);
	struct strbuf hints = STRBUF_INIT;
	size_t n = 0;

	/* a header split by the wrong delimiter has no names worth citing, a foreign one none to
	 * show */
	for (size_t i = 0; !r->foreign && in->header_delim == in->delim && i < r->h->ncells; i++) {
		if (r->h->cell_col[i] >= 0 || !may_be(r->keys[i], c) || n == HINTS_MAX)
			continue;
		strbuf_addf(&hints, "%s'%s'", n++ ? ", " : "; the file has ", shown_cell(r, i));
	}
	if (n)
		strbuf_addf(&hints, ": use --column %s=HEADER", csv_column_names[c]);
	if (c == CSV_COL_PRODUCTS)
		strbuf_addstr(&hints, "; or give --products");
	if (in->header_delim == in->delim)
		problem(r, "the header has no '%s' column (read with delimiter %s%s)",
			csv_column_names[c], used, hints.buf ? hints.buf : "");
	else
		problem(r,
			"the header has no '%s' column (read with delimiter %s, but the header "
			"looks %s-separated: try --delimiter %s%s)",
			csv_column_names[c], used, seen, seen, hints.buf ? hints.buf : "");
	strbuf_release(&hints);
}

/* Assigns cell i to column c; -1 after reporting when either is taken already. */
static int assign(struct resolver *r, size_t i, int c)
{
	struct csv_header *h = r->h;

	if (h->col_cell[c] >= 0) {
		problem(r, "column '%s' appears twice (columns %d and %zu)", csv_column_names[c],
			h->col_cell[c] + 1, i + 1);
		return -1;
	}
	h->col_cell[c] = (int)i;
	h->cell_col[i] = c;
	return 0;
}

/* --column FIELD=HEADER: each mapped header must be there, and give its field alone. */
static void apply_mappings(struct resolver *r)
{
	const struct csv_columns *cols = r->in->cols;

	for (int c = 0; cols && c < CSV_COL_COUNT; c++) {
		const char *header = cols->map_header[c];
		struct strbuf hint = STRBUF_INIT;
		int i, named;

		if (!header)
			continue;
		i = find_cell(r, header);
		if (i < 0) {
			const char *origin = cli_value_origin(cols->map_arg[c]);

			add_closest_header(r, &hint, header);
			/* a config file's mapping names its file, line and key */
			problem(r, "%s%s--column %s='%s': the header has no such column%s",
				origin ? origin : "", origin ? ": " : "", csv_column_names[c],
				shown(r, header, strlen(header)), hint.buf ? hint.buf : "");
			strbuf_release(&hint);
			continue;
		}
		if (r->h->cell_col[i] >= 0) {
			problem(r, "--column %s and --column %s both name column %d ('%s')",
				csv_column_names[r->h->cell_col[i]], csv_column_names[c], i + 1,
				shown_cell(r, i));
			continue;
		}
		named = find_cell(r, csv_column_names[c]);
		if (named >= 0 && named != i) {
			problem(r,
				"two sources for %s: its own column %d and --column %s='%s' "
				"(column %d); drop one",
				csv_column_names[c], named + 1, csv_column_names[c],
				shown(r, header, strlen(header)), i + 1);
			continue;
		}
		assign(r, (size_t)i, c);
	}
}

/* Cells named like a column, then the synonyms for the columns still missing. */
static void apply_names(struct resolver *r)
{
	struct csv_header *h = r->h;
	struct strbuf line = STRBUF_INIT;
	int by_synonym[CSV_COL_COUNT] = {0};

	for (size_t i = 0; i < h->ncells; i++) {
		int c = csv_column_find(r->keys[i]);

		if (c < 0 || h->cell_col[i] >= 0)
			continue;
		if (h->col_cell[c] >= 0 && r->in->cols && r->in->cols->map_header[c])
			continue; /* reported by apply_mappings() */
		assign(r, i, c);
	}
	for (size_t i = 0; i < h->ncells; i++) {
		int c = csv_column_synonym(r->keys[i]);
		const char *name;

		if (c < 0 || h->cell_col[i] >= 0 || (h->col_cell[c] >= 0 && !by_synonym[c]))
			continue;
		/* two synonyms for one field ("Email,E-mail") are a column twice */
		if (assign(r, i, c) < 0)
			continue;
		by_synonym[c] = 1;
		name = shown_cell(r, i);
		strbuf_reset(&line);
		strbuf_addf(
		    &line,
		    "%s:%lld: column '%s' is read as %s (a synonym; --column %s='%s' says so "
		    "explicitly)",
		    r->in->path, (long long)r->in->line, name, csv_column_names[c],
		    csv_column_names[c], name);
		/* --quiet: no line per column, an event only --log-format json shows */
		if (r->in->quiet)
			log_event(LOG_DEBUG, "synonym_column", line.buf, LOG_END);
		else
			warning("%s", line.buf);
	}
	strbuf_release(&line);
}

/* --keep-column: each must be there. */
static void apply_keeps(struct resolver *r)
{
	const struct csv_columns *cols = r->in->cols;

	if (!cols || !cols->nkeep)
		return;
	r->h->nkeep = cols->nkeep;
	r->h->keep_cell = xmalloc(cols->nkeep * sizeof(*r->h->keep_cell));
	for (size_t k = 0; k < cols->nkeep; k++) {
		struct strbuf hint = STRBUF_INIT;

		r->h->keep_cell[k] = find_cell(r, cols->keep[k]);
		if (r->h->keep_cell[k] >= 0)
			continue;
		add_closest_header(r, &hint, cols->keep[k]);
		problem(r, "--keep-column '%s': the header has no such column%s",
			shown(r, cols->keep[k], strlen(cols->keep[k])), hint.buf ? hint.buf : "");
		strbuf_release(&hint);
	}
}

/* 1 if cell i is expected: kept, or named by --ignore-column. */
static int expected(struct resolver *r, size_t i)
{
	const struct csv_columns *cols = r->in->cols;

	for (size_t k = 0; k < r->h->nkeep; k++)
		if (r->h->keep_cell[k] == (int)i)
			return 1;
	for (size_t k = 0; cols && k < cols->nignore; k++)
		if (find_cell(r, cols->ignore[k]) == (int)i)
			return 1;
	return 0;
}

/*
 * 1 when no cell of the header is ours: none is a column's name, a synonym
 * or a --column mapping's header. Such a file may be anything (a secret
 * planted at the CSV's path): none of its first line is quoted.
 */
static int is_foreign(struct resolver *r)
{
	const struct csv_columns *cols = r->in->cols;

	for (size_t i = 0; i < r->h->ncells; i++)
		if (csv_column_find(r->keys[i]) >= 0 || csv_column_synonym(r->keys[i]) >= 0)
			return 0;
	for (int c = 0; cols && c < CSV_COL_COUNT; c++)
		if (cols->map_header[c] && find_cell(r, cols->map_header[c]) >= 0)
			return 0;
	return 1;
}

/* The unknown columns left, in one line (a debug event under quiet). */
static void warn_unknown(struct resolver *r)
{
	struct strbuf list = STRBUF_INIT, line = STRBUF_INIT;
	const char *typo = NULL;
	size_t n = 0;

	for (size_t i = 0; i < r->h->ncells; i++) {
		if (r->h->cell_col[i] >= 0 || !*r->keys[i] || expected(r, i))
			continue;
		if (typo)
			strbuf_addf(&list, " (did you mean '%s'?)", typo);
		strbuf_addf(&list, "%s'%s'", n++ ? ", " : "", shown_cell(r, i));
		typo = csv_column_did_you_mean(r->keys[i]);
	}
	/* the last one's hint after the verb, as a single column's reads best */
	if (n) {
		strbuf_addf(&line, "%s:%lld: unknown column%s %s %s ignored%s%s%s", r->in->path,
			    (long long)r->in->line, n == 1 ? "" : "s", list.buf,
			    n == 1 ? "is" : "are", typo ? " (did you mean '" : "", typo ? typo : "",
			    typo ? "'?)" : "");
		/* --quiet: no line per column, an event only --log-format json shows */
		if (r->in->quiet)
			log_event(LOG_DEBUG, "unknown_column", line.buf, LOG_END);
		else
			warning("%s", line.buf);
	}
	strbuf_release(&line);
	strbuf_release(&list);
}

int csv_header_resolve(struct csv_header *h, const struct csv_header_input *in)
{
	struct resolver r = {h, in, NULL, 0, 0, STRBUF_INIT, STRBUF_INIT};
	struct strbuf key = STRBUF_INIT;
	size_t i;

	memset(h, 0, sizeof(*h));
	h->ncells = in->ncells;
	while (h->ncells && !in->lens[h->ncells - 1])
		h->ncells--; /* a spreadsheet's empty columns at the right */
	h->cell_col = xmalloc((h->ncells ? h->ncells : 1) * sizeof(*h->cell_col));
	r.keys = xcalloc(h->ncells ? h->ncells : 1, sizeof(*r.keys));
	for (int c = 0; c < CSV_COL_COUNT; c++)
		h->col_cell[c] = -1;
	for (i = 0; i < h->ncells; i++) {
		h->cell_col[i] = -1;
		if (utf8_count(in->cells[i], in->lens[i]) < 0) {
			enum csv_encoding guess = csv_guess_8bit(in->cells[i], in->lens[i]);

			problem(&r,
				"the header is not valid UTF-8 (column %zu; it looks like %s: use "
				"--encoding %s)",
				i + 1, csv_encoding_label(guess), csv_encoding_option(guess));
			goto out;
		}
		csv_header_key(in->cells[i], in->lens[i], &key);
		r.keys[i] = xstrdup(key.buf ? key.buf : "");
	}
	r.foreign = is_foreign(&r);
	apply_mappings(&r);
	apply_names(&r);
	apply_keeps(&r);
	if (r.pending)
		goto out;
	if (!r.foreign)
		warn_unknown(&r);
	/* every missing column at once, not one per attempt */
	for (int c = 0; c < CSV_COL_COUNT; c++)
		if (h->col_cell[c] < 0 && (c == CSV_COL_CUSTOMER_ID || c == CSV_COL_CUSTOMER_NAME ||
					   (c == CSV_COL_PRODUCTS && !in->products_default)))
			missing(&r, c);
out:
	if (r.pending)
		error("%s:%lld: %s; nothing was imported", in->path, (long long)in->line,
		      r.last.buf);
	for (i = 0; i < h->ncells; i++)
		free(r.keys[i]);
	free(r.keys);
	strbuf_release(&key);
	strbuf_release(&r.last);
	strbuf_release(&r.shown);
	return r.pending ? -1 : 0;
}
