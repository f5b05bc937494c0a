/*
 * export.c: streaming CSV and JSON Lines writers, and the atomic file
 * output that `export` and `sync` share. See export.h for the formats.
 */
#include "output/export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "csv/csv_header.h"
#include "csv/csv_text.h"
#include "finch/reconcile.h"
#include "output/atomicfile.h"
#include "output/outpath.h"
#include "base/cli.h"
#include "base/util.h"
#include "store/store_report.h"

/* The inputs' fields are exported in csv_column_names' order, by its names. */
_Static_assert(EXPORT_COL_CUSTOMER_EMAIL - EXPORT_COL_CUSTOMER_ID ==
		   CSV_COL_CUSTOMER_EMAIL - CSV_COL_CUSTOMER_ID,
	       "export's first columns are the CSV's first columns");
_Static_assert(EXPORT_COL_RECORDKEEPING_PLAN_ID - EXPORT_COL_PRODUCTS ==
		   CSV_COL_RECORDKEEPING_PLAN_ID - CSV_COL_PRODUCTS,
	       "export's products..recordkeeping_plan_id are the CSV's");

/*
 * A stored field's export name (c < EXPORT_COL_KEPT): the CSV column's name
 * for a field an import reads, else the name of the export's own.
 */
static const char *col_name(int c)
{
	static const char *const own[EXPORT_COL_KEPT] = {
	    [EXPORT_COL_STATUS] = "status",
	    [EXPORT_COL_SESSION_ID] = "session_id",
	    [EXPORT_COL_CONNECT_URL] = "connect_url",
	    [EXPORT_COL_CONNECTION_ID] = "connection_id",
	    [EXPORT_COL_EXPIRES_AT] = "expires_at",
	    [EXPORT_COL_ATTEMPTS] = "attempts",
	    [EXPORT_COL_HTTP_STATUS] = "http_status",
	    [EXPORT_COL_FINCH_CODE] = "finch_code",
	    [EXPORT_COL_ERROR] = "error",
	    [EXPORT_COL_UPDATED_AT] = "updated_at",
	    [EXPORT_COL_NEXT_ATTEMPT_AT] = "next_attempt_at",
	    [EXPORT_COL_RETRY_UNTIL] = "retry_until",
	    [EXPORT_COL_CHANGED] = "changed",
	    [EXPORT_COL_WITHDRAWN] = "withdrawn",
	    [EXPORT_COL_CONNECTION_STATUS] = "connection_status",
	    [EXPORT_COL_CONNECTED_AT] = "connected_at",
	};

	if (c <= EXPORT_COL_CUSTOMER_EMAIL)
		return csv_column_names[CSV_COL_CUSTOMER_ID + (c - EXPORT_COL_CUSTOMER_ID)];
	if (c >= EXPORT_COL_PRODUCTS && c <= EXPORT_COL_RECORDKEEPING_PLAN_ID)
		return csv_column_names[CSV_COL_PRODUCTS + (c - EXPORT_COL_PRODUCTS)];
	return own[c];
}

const char *const export_columns[EXPORT_NCOLUMNS] = {
    "customer_id",     "customer_name",	    "status",	      "session_id",
    "connect_url",     "connection_id",	    "expires_at",     "attempts",
    "http_status",     "finch_code",	    "error",	      "updated_at",
    "next_attempt_at", "retry_until",	    "customer_email", "changed",
    "withdrawn",       "connection_status", "connected_at",
};

/* The default columns: export_columns[], as columns. */
static struct export_column default_cols[EXPORT_NCOLUMNS];
static const struct export_columns default_columns = {default_cols, EXPORT_NCOLUMNS, 0, NULL};

static const struct export_columns *columns_of(const struct export_writer *w)
{
	if (w->cols)
		return w->cols;
	if (!default_cols[0].name)
		for (size_t i = 0; i < EXPORT_NCOLUMNS; i++)
			for (int c = 0; c < EXPORT_COL_KEPT; c++)
				if (!strcmp(export_columns[i], col_name(c)))
					default_cols[i] = (struct export_column){
					    (enum export_col_id)c, (char *)export_columns[i]};
	return &default_columns;
}

/* 1 if column c is the field id, or (a kept one) the column whose header key is key. */
static int column_key_equal(const struct export_column *c, enum export_col_id id, const char *key)
{
	struct strbuf k = STRBUF_INIT;
	int same;

	if (c->id != id)
		return 0;
	if (id != EXPORT_COL_KEPT)
		return 1;
	csv_header_key(c->name, strlen(c->name), &k);
	same = !strcmp(k.buf ? k.buf : "", key);
	strbuf_release(&k);
	return same;
}

int export_list_next(const char **p, struct strbuf *name)
{
	const char *s = *p;

	strbuf_reset(name);
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '"') {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);

		strbuf_add(name, s, len);
		strbuf_trim(name);
		*p = comma ? comma + 1 : NULL;
		return 0;
	}
	for (s++;; s++) {
		if (!*s)
			return -1;
		if (*s == '"' && s[1] != '"')
			break;
		strbuf_add(name, s, 1);
		s += *s == '"';
	}
	for (s++; *s == ' ' || *s == '\t'; s++)
		;
	if (*s && *s != ',')
		return -1;
	*p = *s ? s + 1 : NULL;
	return 0;
}

int export_columns_parse(const char *list, struct export_columns *out)
{
	const char *p = list;

	memset(out, 0, sizeof(*out));
	out->list = list;
	while (p) {
		struct strbuf name = STRBUF_INIT, key = STRBUF_INIT;
		struct export_column c = {EXPORT_COL_KEPT, NULL};

		if (export_list_next(&p, &name) < 0) {
			strbuf_release(&name);
			export_columns_release(out);
			return error("--columns '%s': a quoted name must end with '\"' before the "
				     "next comma (\"Owner, Primary\")",
				     list);
		}
		if (!name.len) {
			strbuf_release(&name);
			export_columns_release(out);
			return error("--columns '%s': an empty column name", list);
		}
		/* "Customer Email" is customer_email, as in an import's header */
		csv_header_key(name.buf, name.len, &key);
		for (int i = 0; i < EXPORT_COL_KEPT; i++)
			if (!strcmp(key.buf ? key.buf : "", col_name(i)))
				c.id = (enum export_col_id)i;
		for (size_t i = 0; i < out->n; i++)
			if (column_key_equal(&out->c[i], c.id, key.buf ? key.buf : "")) {
				error("--columns: '%s' is named twice", name.buf);
				strbuf_release(&name);
				strbuf_release(&key);
				export_columns_release(out);
				return -1;
			}
		strbuf_release(&key);
		c.name = strbuf_detach(&name, NULL);
		out->any_kept |= c.id == EXPORT_COL_KEPT;
		out->c = xrealloc(out->c, (out->n + 1) * sizeof(*out->c));
		out->c[out->n++] = c;
	}
	return 0;
}

const char *export_field_name(const char *name)
{
	struct strbuf key = STRBUF_INIT;
	const char *field = NULL;

	csv_header_key(name, strlen(name), &key);
	for (int i = 0; i < EXPORT_COL_KEPT && !field; i++)
		if (!strcmp(key.buf ? key.buf : "", col_name(i)))
			field = col_name(i);
	strbuf_release(&key);
	return field;
}

void export_columns_release(struct export_columns *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->c[i].name);
	free(c->c);
	memset(c, 0, sizeof(*c));
}

int export_format_parse(const char *s, enum export_format *out)
{
	if (!strcmp(s, "csv")) {
		*out = EXPORT_CSV;
		return 0;
	}
	if (!strcmp(s, "jsonl") || !strcmp(s, "json-lines") || !strcmp(s, "ndjson")) {
		*out = EXPORT_JSONL;
		return 0;
	}
	return -1;
}

int export_parse_since(const char *arg, int64_t now_ms, int64_t *since_ms)
{
	int64_t d;
	int r;

	if (!parse_iso8601_ms(arg, since_ms))
		return 0;
	r = parse_duration_unit_ms(arg, &d);
	if (r == -2)
		return error("--since: %s what? say %sh, %sd or %sm", arg, arg, arg, arg);
	if (!r && d >= 0 && d <= now_ms) {
		*since_ms = now_ms - d;
		return 0;
	}
	return error("--since: '%s' is neither an ISO 8601 time (2026-11-28T02:00:00Z) "
		     "nor a duration (24h)",
		     arg);
}

void export_writer_init(struct export_writer *w, FILE *out, const char *name,
			enum export_format format, int raw)
{
	*w = (struct export_writer){
	    .out = out,
	    .name = name,
	    .format = format,
	    .raw = raw,
	    /* a FILE of fmemopen(3) has no descriptor (-1): not a terminal */
	    .terminal = fileno(out) >= 0 && isatty(fileno(out)),
	};
	strbuf_init(&w->line, 512);
	strbuf_init(&w->shown, 0);
}

void export_writer_release(struct export_writer *w)
{
	strbuf_release(&w->line);
	strbuf_release(&w->shown);
}

static void add_time_csv(struct strbuf *sb, int64_t ms)
{
	char buf[32];

	if (ms)
		strbuf_addstr(sb, format_iso8601_ms(ms, buf, sizeof(buf)));
}

static void add_time_json(struct strbuf *sb, int64_t ms)
{
	char buf[32];

	if (!ms) {
		strbuf_addstr(sb, "null");
		return;
	}
	/* A time never needs escaping nor neutralising. */
	strbuf_addf(sb, "\"%s\"", format_iso8601_ms(ms, buf, sizeof(buf)));
}

/* A kept column's value in a row's kept object (keys matched like header names), or NULL. */
static const char *kept_value(const cJSON *kept, const char *name)
{
	struct strbuf want = STRBUF_INIT, key = STRBUF_INIT;
	const cJSON *it;
	const char *v = NULL;

	csv_header_key(name, strlen(name), &want);
	cJSON_ArrayForEach(it, kept)
	{
		csv_header_key(it->string, strlen(it->string), &key);
		if (cJSON_IsString(it) &&
		    !strcmp(key.buf ? key.buf : "", want.buf ? want.buf : "")) {
			v = it->valuestring;
			break;
		}
	}
	strbuf_release(&want);
	strbuf_release(&key);
	return v;
}

/*
 * The columns that are one field of struct export_row as stored: text, a
 * time or a number (an int64_t) at offset. add_cell() writes the others
 * (CELL_NONE here) case by case.
 */
enum cell_kind { CELL_NONE, CELL_TEXT, CELL_TIME, CELL_NUM };
#define ROW_FIELD(kind, field)                                                                     \
	{                                                                                          \
		kind, offsetof(struct export_row, field)                                           \
	}
static const struct {
	enum cell_kind kind;
	size_t offset;
} field_cells[EXPORT_COL_KEPT] = {
    [EXPORT_COL_CUSTOMER_ID] = ROW_FIELD(CELL_TEXT, customer_id),
    [EXPORT_COL_CUSTOMER_NAME] = ROW_FIELD(CELL_TEXT, customer_name),
    [EXPORT_COL_CUSTOMER_EMAIL] = ROW_FIELD(CELL_TEXT, customer_email),
    [EXPORT_COL_SESSION_ID] = ROW_FIELD(CELL_TEXT, session_id),
    [EXPORT_COL_CONNECT_URL] = ROW_FIELD(CELL_TEXT, connect_url),
    [EXPORT_COL_CONNECTION_ID] = ROW_FIELD(CELL_TEXT, connection_id),
    [EXPORT_COL_EXPIRES_AT] = ROW_FIELD(CELL_TIME, expires_at_ms),
    [EXPORT_COL_FINCH_CODE] = ROW_FIELD(CELL_TEXT, finch_code),
    [EXPORT_COL_ERROR] = ROW_FIELD(CELL_TEXT, error),
    [EXPORT_COL_UPDATED_AT] = ROW_FIELD(CELL_TIME, updated_at_ms),
    [EXPORT_COL_NEXT_ATTEMPT_AT] = ROW_FIELD(CELL_TIME, next_attempt_at_ms),
    [EXPORT_COL_RETRY_UNTIL] = ROW_FIELD(CELL_TIME, retry_until_ms),
    [EXPORT_COL_PRODUCTS] = ROW_FIELD(CELL_TEXT, products),
    [EXPORT_COL_REDIRECT_URI] = ROW_FIELD(CELL_TEXT, redirect_uri),
    [EXPORT_COL_MINUTES_TO_EXPIRE] = ROW_FIELD(CELL_NUM, minutes_to_expire),
    [EXPORT_COL_SANDBOX] = ROW_FIELD(CELL_TEXT, sandbox),
    [EXPORT_COL_INTEGRATION_PROVIDER] = ROW_FIELD(CELL_TEXT, integration_provider),
    [EXPORT_COL_INTEGRATION_AUTH_METHOD] = ROW_FIELD(CELL_TEXT, integration_auth_method),
    [EXPORT_COL_RECORDKEEPING_RECORDKEEPER] = ROW_FIELD(CELL_TEXT, recordkeeper),
    [EXPORT_COL_RECORDKEEPING_PLAN_ID] = ROW_FIELD(CELL_TEXT, recordkeeping_plan_id),
    [EXPORT_COL_CONNECTION_STATUS] = ROW_FIELD(CELL_TEXT, connection_status),
    [EXPORT_COL_CONNECTED_AT] = ROW_FIELD(CELL_TIME, connected_at_ms),
};

/* One cell of r: text (neutralised in CSV unless raw), a number, a time or a boolean. */
static void add_cell(struct export_writer *w, const struct export_row *r,
		     const struct export_column *c, const cJSON *kept)
{
	struct strbuf *sb = &w->line;
	int json = w->format == EXPORT_JSONL;
	char changed[128];
	const char *text = NULL;
	const void *field;
	int64_t num = 0, time = 0;
	int is_num = 0, is_time = 0;

	switch (c->id) {
	case EXPORT_COL_STATUS:
		/* a failed row whose 2xx could not be read: flagged (schema 013) */
		text = r->unconfirmed ? "unconfirmed" : state_name(r->state);
		break;
	case EXPORT_COL_ATTEMPTS:
		/* always a number, 0 included */
		strbuf_addf(sb, "%" PRId64, r->attempts);
		return;
	case EXPORT_COL_HTTP_STATUS:
		num = r->http_status;
		is_num = 1;
		break;
	case EXPORT_COL_MANUAL:
		text = r->manual < 0 ? NULL : r->manual ? "true" : "false";
		if (json) {
			strbuf_addstr(sb, text ? text : "null");
			return;
		}
		break;
	case EXPORT_COL_CHANGED:
		/* which fields changed since the link was made; none: empty, or null */
		text =
		    r->changed ? reconcile_fields_text(r->changed, changed, sizeof(changed)) : NULL;
		break;
	case EXPORT_COL_WITHDRAWN:
		/* missing from the last CSV: "yes" or empty, true or false in JSON */
		if (json) {
			strbuf_addstr(sb, r->withdrawn ? "true" : "false");
			return;
		}
		text = r->withdrawn ? "yes" : NULL;
		break;
	case EXPORT_COL_KEPT:
		text = kept_value(kept, c->name);
		break;
	default:
		/* a field as stored */
		field = (const char *)r + field_cells[c->id].offset;
		is_time = field_cells[c->id].kind == CELL_TIME;
		is_num = field_cells[c->id].kind == CELL_NUM;
		if (field_cells[c->id].kind == CELL_TEXT)
			text = *(const char *const *)field;
		else if (is_time)
			time = *(const int64_t *)field;
		else if (is_num)
			num = *(const int64_t *)field;
		break;
	}
	if (is_time) {
		if (json)
			add_time_json(sb, time);
		else
			add_time_csv(sb, time);
	} else if (is_num) {
		if (num)
			strbuf_addf(sb, "%" PRId64, num);
		else if (json)
			strbuf_addstr(sb, "null");
	} else if (json) {
		export_json_string(sb, text);
	} else {
		export_csv_field(sb, text, w->raw);
	}
}

static void build_row(struct export_writer *w, const struct export_row *r)
{
	const struct export_columns *cols = columns_of(w);
	cJSON *kept = cols->any_kept && r->kept ? cJSON_Parse(r->kept) : NULL;
	struct strbuf *sb = &w->line;

	if (w->format == EXPORT_JSONL)
		strbuf_addch(sb, '{');
	for (size_t i = 0; i < cols->n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		if (w->format == EXPORT_JSONL) {
			export_json_string(sb, cols->c[i].name);
			strbuf_addch(sb, ':');
		}
		add_cell(w, r, &cols->c[i], kept);
	}
	strbuf_addstr(sb, w->format == EXPORT_JSONL ? "}\n" : "\r\n");
	cJSON_Delete(kept);
}

/* Reports a failed write, with the reason when the C library gave one. */
static int write_error(const struct export_writer *w)
{
	if (errno)
		return error_errno("cannot write '%s'", w->name);
	return error("cannot write '%s'", w->name);
}

static int write_line(struct export_writer *w)
{
	const struct strbuf *line = &w->line;

	if (w->terminal) {
		/* names, ids and links from a CSV or a server never drive the terminal */
		size_t len = line->len;

		while (len && (line->buf[len - 1] == '\n' || line->buf[len - 1] == '\r'))
			len--;
		strbuf_reset(&w->shown);
		line->buf[len] = '\0'; /* the line is rebuilt for every row */
		strbuf_add_inert(&w->shown, line->buf, SIZE_MAX);
		strbuf_addch(&w->shown, '\n');
		line = &w->shown;
	}
	errno = 0;
	if (fwrite(line->buf, 1, line->len, w->out) != line->len)
		return write_error(w);
	return 0;
}

int export_writer_begin(struct export_writer *w)
{
	size_t i;

	if (w->format != EXPORT_CSV)
		return 0;
	strbuf_reset(&w->line);
	if (w->bom)
		strbuf_addstr(&w->line, "\xef\xbb\xbf");
	for (i = 0; i < columns_of(w)->n; i++) {
		if (i)
			strbuf_addch(&w->line, ',');
		/* a kept column's name is the user's text, neutralised like any cell */
		export_csv_field(&w->line, columns_of(w)->c[i].name, w->raw);
	}
	strbuf_addstr(&w->line, "\r\n");
	return write_line(w);
}

int export_writer_row(struct export_writer *w, const struct export_row *row)
{
	strbuf_reset(&w->line);
	build_row(w, row);
	if (write_line(w) < 0)
		return -1;
	w->rows++;
	return 0;
}

int export_writer_finish(struct export_writer *w)
{
	errno = 0;
	if (fflush(w->out) == EOF || ferror(w->out))
		return write_error(w);
	return 0;
}

struct stream_ctx {
	struct export_writer *w;
	int failed; /* a write failed and was reported */
};

static int row_cb(const struct export_row *row, void *data)
{
	struct stream_ctx *ctx = data;

	if (export_writer_row(ctx->w, row) < 0) {
		ctx->failed = 1;
		return -1;
	}
	return 0;
}

/* Streams the rows into an open stream; the caller owns out. */
static int export_stream(struct store *st, const struct export_options *o, FILE *out,
			 const char *name, int bom, int64_t *rows)
{
	struct export_writer w;
	struct stream_ctx ctx = {&w, 0};
	int ret = -1;

	export_writer_init(&w, out, name, o->format, o->raw);
	w.bom = bom;
	w.cols = o->columns.n ? &o->columns : NULL;
	if (export_writer_begin(&w) < 0)
		goto out;
	/* A write error stops the walk; it was reported where it happened. */
	if (store_each_export(st, &o->filter, row_cb, &ctx) < 0 || ctx.failed)
		goto out;
	if (export_writer_finish(&w) < 0)
		goto out;
	if (rows)
		*rows = w.rows;
	ret = 0;
out:
	export_writer_release(&w);
	return ret;
}

/*
 * Writes to a FIFO or a character device as it is: no temporary file, no
 * rename, which would put a regular file in its place (outpath.h).
 */
static int export_direct(struct store *st, const struct export_options *o, const struct outpath *op,
			 int64_t *rows)
{
	int fd = outpath_open_direct(op, "");
	FILE *f;
	int ret;

	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return error_errno("cannot open '%s'", op->file);
	}
	ret = export_stream(st, o, f, op->file, o->bom == EXPORT_BOM_ALWAYS, rows);
	if (fclose(f) == EOF && ret == 0)
		ret = error_errno("cannot write '%s'", op->file);
	return ret;
}

struct kept_check {
	const char *want; /* its header key */
	const char *closest;
	size_t closest_d;
	int found;
	struct strbuf key, best;
};

static int kept_name_cb(const char *name, void *data)
{
	struct kept_check *k = data;
	size_t d;

	csv_header_key(name, strlen(name), &k->key);
	if (!strcmp(k->key.buf ? k->key.buf : "", k->want)) {
		k->found = 1;
		return 1;
	}
	d = csv_edit_distance(k->want, k->key.buf ? k->key.buf : "");
	if (d < k->closest_d && d <= 3) {
		k->closest_d = d;
		strbuf_reset(&k->best);
		strbuf_addstr(&k->best, name);
	}
	return 0;
}

int export_columns_check(struct store *st, const struct export_columns *cols,
			 char *const *also_kept, size_t nalso_kept)
{
	int ret = 0;

	for (size_t i = 0; cols && i < cols->n && !ret; i++) {
		struct strbuf want = STRBUF_INIT;
		struct kept_check k = {NULL, NULL, SIZE_MAX, 0, STRBUF_INIT, STRBUF_INIT};
		const char *field = NULL;

		if (cols->c[i].id != EXPORT_COL_KEPT)
			continue;
		csv_header_key(cols->c[i].name, strlen(cols->c[i].name), &want);
		k.want = want.buf ? want.buf : "";
		for (size_t j = 0; j < nalso_kept && !k.found; j++)
			kept_name_cb(also_kept[j], &k);
		if (!k.found && store_each_kept_name(st, kept_name_cb, &k) < 0) {
			ret = -1;
		} else if (!k.found) {
			for (int c = 0; c < EXPORT_COL_KEPT && !field; c++)
				if (csv_edit_distance(k.want, col_name(c)) <= 2)
					field = col_name(c);
			if (!field && k.best.len)
				field = k.best.buf;
			/* [export] columns = ... names the config file's line and key */
			util_set_context(cli_value_origin(cols->list));
			if (field)
				ret = error("--columns: no column '%s' (did you mean '%s'?)",
					    cols->c[i].name, field);
			else
				ret = error(
				    "--columns: no column '%s': it is not a stored field, and "
				    "no import kept it (import --keep-column '%s')",
				    cols->c[i].name, cols->c[i].name);
			util_set_context(NULL);
		}
		strbuf_release(&want);
		strbuf_release(&k.key);
		strbuf_release(&k.best);
	}
	return ret;
}

int export_to_path(struct store *st, const struct export_options *o, int64_t *rows)
{
	struct atomic_file af;
	struct outpath op;
	int ret;

	if (o->bom == EXPORT_BOM_ALWAYS && o->format != EXPORT_CSV)
		return error("--bom: JSON Lines never starts with a BOM (RFC 8259 section 8.1)");
	if (export_columns_check(st, &o->columns, NULL, 0) < 0)
		return -1;
	/* Checked again here, right before writing: the path may have changed since. */
	if (outpath_check(o->out_path, o->db, o->csv, &op) < 0)
		return -1;
	if (op.kind == OUTPATH_STDOUT)
		return export_stream(st, o, stdout, "standard output", o->bom == EXPORT_BOM_ALWAYS,
				     rows);
	if (op.kind == OUTPATH_DIRECT) {
		ret = export_direct(st, o, &op, rows);
		outpath_release(&op);
		return ret;
	}
	/* A symlink's final target is replaced, in its own folder; the link stays. */
	ret = -1;
	if (outpath_begin_replace(&op, &af, 0600, NULL) < 0)
		goto out;
	if (export_stream(st, o, af.f, op.file, o->bom != EXPORT_BOM_NEVER, rows) < 0) {
		atomic_file_abort(&af);
		goto out;
	}
	ret = atomic_file_commit(&af);
out:
	outpath_release(&op);
	return ret;
}
