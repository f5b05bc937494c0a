/*
 * export.c: streaming CSV and JSON Lines writers, and the atomic file
 * output that `export` and `sync` share. See export.h for the formats.
 */
#include "output/export.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/atomicfile.h"
#include "output/outpath.h"
#include "base/util.h"

const char *const export_columns[EXPORT_NCOLUMNS] = {
    "customer_id",   "customer_name", "status",		 "session_id",	"connect_url",
    "connection_id", "expires_at",    "attempts",	 "http_status", "finch_code",
    "error",	     "updated_at",    "next_attempt_at", "retry_until",
};

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

	if (!parse_iso8601_ms(arg, since_ms))
		return 0;
	if (!parse_duration_ms(arg, &d) && d >= 0 && d <= now_ms) {
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
	w->out = out;
	w->name = name;
	w->format = format;
	w->raw = raw;
	w->bom = 0;
	w->rows = 0;
	strbuf_init(&w->line, 512);
}

void export_writer_release(struct export_writer *w)
{
	strbuf_release(&w->line);
}

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 if the bytes there
 * are not one (overlong forms, surrogates, code points above U+10FFFF).
 */
static size_t utf8_seq_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80)
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		if (s[1] < lo || s[1] > hi || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		return 4;
	}
	return 0;
}

/*
 * The code point of the valid UTF-8 sequence at *p, advancing *p past it;
 * a byte that does not start one is U+FFFD, as a reader would show it.
 */
static uint32_t next_code_point(const unsigned char **p)
{
	const unsigned char *s = *p;
	size_t n = utf8_seq_len(s);
	uint32_t cp;

	if (n <= 1) {
		*p = s + 1;
		return n ? s[0] : 0xfffd;
	}
	cp = s[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	*p = s + n;
	return cp;
}

/*
 * The blanks a spreadsheet skips before it looks for a formula sign: ASCII
 * white space, Unicode's space separators (Zs), the line and paragraph
 * separators, and the invisible zero-width ones a user cannot see in a cell.
 */
static int is_blank(uint32_t cp)
{
	return cp == ' ' || (cp >= '\t' && cp <= '\r') || cp == 0x85 || cp == 0xa0 ||
	       cp == 0x1680 || cp == 0x180e || (cp >= 0x2000 && cp <= 0x200d) || cp == 0x2028 ||
	       cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x2060 || cp == 0x3000 ||
	       cp == 0xfeff;
}

/* = + - @, their fullwidth forms (U+FF1D U+FF0B U+FF0D U+FF20) and small forms. */
static int is_formula_sign(uint32_t cp)
{
	return cp == '=' || cp == '+' || cp == '-' || cp == '@' || cp == 0xff1d || cp == 0xff0b ||
	       cp == 0xff0d || cp == 0xff20 || cp == 0xfe66 || cp == 0xfe62 || cp == 0xfe63;
}

/*
 * OWASP's CSV injection guidance
 * (https://owasp.org/www-community/attacks/CSV_Injection): a cell that
 * begins with = + - @, a tab or a carriage return can be run as a formula,
 * so it gets a leading "'". Spreadsheets skip leading blanks before they
 * look for the sign, and some read the fullwidth signs as the ASCII ones,
 * so the sign is looked for after any blanks, in both widths.
 */
int export_is_formula(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;

	if (!s || !*s)
		return 0;
	if (*s == '\t' || *s == '\r')
		return 1;
	do
		cp = next_code_point(&p);
	while (is_blank(cp) && *p);
	return is_formula_sign(cp);
}

void export_csv_field(struct strbuf *sb, const char *s, int raw)
{
	int neutralise;

	if (!s)
		return;
	neutralise = !raw && export_is_formula(s);
	if (!strpbrk(s, ",\"\r\n")) {
		if (neutralise)
			strbuf_addch(sb, '\'');
		strbuf_addstr(sb, s);
		return;
	}
	strbuf_addch(sb, '"');
	if (neutralise)
		strbuf_addch(sb, '\'');
	for (; *s; s++) {
		if (*s == '"')
			strbuf_addch(sb, '"');
		strbuf_addch(sb, *s);
	}
	strbuf_addch(sb, '"');
}

void export_json_string(struct strbuf *sb, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		strbuf_addstr(sb, "null");
		return;
	}
	strbuf_addch(sb, '"');
	while (*p) {
		const unsigned char *run = p;
		size_t n;

		/* Plain printable ASCII, the common case, is copied a run at a time. */
		while (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run) {
			strbuf_add(sb, run, (size_t)(p - run));
			continue;
		}
		switch (*p) {
		case '"':
			strbuf_addstr(sb, "\\\"");
			break;
		case '\\':
			strbuf_addstr(sb, "\\\\");
			break;
		case '\n':
			strbuf_addstr(sb, "\\n");
			break;
		case '\r':
			strbuf_addstr(sb, "\\r");
			break;
		case '\t':
			strbuf_addstr(sb, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				strbuf_addf(sb, "\\u%04x", *p);
				break;
			}
			n = utf8_seq_len(p);
			if (!n) {
				/* Not UTF-8: one replacement character per bad byte. */
				strbuf_addstr(sb, "\xef\xbf\xbd");
				break;
			}
			strbuf_add(sb, p, n);
			p += n;
			continue;
		}
		p++;
	}
	strbuf_addch(sb, '"');
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

static void build_csv_row(struct export_writer *w, const struct export_row *r)
{
	struct strbuf *sb = &w->line;

	export_csv_field(sb, r->customer_id, w->raw);
	strbuf_addch(sb, ',');
	export_csv_field(sb, r->customer_name, w->raw);
	strbuf_addch(sb, ',');
	strbuf_addstr(sb, state_name(r->state));
	strbuf_addch(sb, ',');
	export_csv_field(sb, r->session_id, w->raw);
	strbuf_addch(sb, ',');
	export_csv_field(sb, r->connect_url, w->raw);
	strbuf_addch(sb, ',');
	export_csv_field(sb, r->connection_id, w->raw);
	strbuf_addch(sb, ',');
	add_time_csv(sb, r->expires_at_ms);
	strbuf_addf(sb, ",%" PRId64 ",", r->attempts);
	if (r->http_status)
		strbuf_addf(sb, "%ld", r->http_status);
	strbuf_addch(sb, ',');
	export_csv_field(sb, r->finch_code, w->raw);
	strbuf_addch(sb, ',');
	export_csv_field(sb, r->error, w->raw);
	strbuf_addch(sb, ',');
	add_time_csv(sb, r->updated_at_ms);
	strbuf_addch(sb, ',');
	add_time_csv(sb, r->next_attempt_at_ms);
	strbuf_addch(sb, ',');
	add_time_csv(sb, r->retry_until_ms);
	strbuf_addstr(sb, "\r\n");
}

static void build_json_row(struct export_writer *w, const struct export_row *r)
{
	struct strbuf *sb = &w->line;

	strbuf_addstr(sb, "{\"customer_id\":");
	export_json_string(sb, r->customer_id);
	strbuf_addstr(sb, ",\"customer_name\":");
	export_json_string(sb, r->customer_name);
	strbuf_addf(sb, ",\"status\":\"%s\"", state_name(r->state));
	strbuf_addstr(sb, ",\"session_id\":");
	export_json_string(sb, r->session_id);
	strbuf_addstr(sb, ",\"connect_url\":");
	export_json_string(sb, r->connect_url);
	strbuf_addstr(sb, ",\"connection_id\":");
	export_json_string(sb, r->connection_id);
	strbuf_addstr(sb, ",\"expires_at\":");
	add_time_json(sb, r->expires_at_ms);
	strbuf_addf(sb, ",\"attempts\":%" PRId64, r->attempts);
	if (r->http_status)
		strbuf_addf(sb, ",\"http_status\":%ld", r->http_status);
	else
		strbuf_addstr(sb, ",\"http_status\":null");
	strbuf_addstr(sb, ",\"finch_code\":");
	export_json_string(sb, r->finch_code);
	strbuf_addstr(sb, ",\"error\":");
	export_json_string(sb, r->error);
	strbuf_addstr(sb, ",\"updated_at\":");
	add_time_json(sb, r->updated_at_ms);
	strbuf_addstr(sb, ",\"next_attempt_at\":");
	add_time_json(sb, r->next_attempt_at_ms);
	strbuf_addstr(sb, ",\"retry_until\":");
	add_time_json(sb, r->retry_until_ms);
	strbuf_addstr(sb, "}\n");
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
	errno = 0;
	if (fwrite(w->line.buf, 1, w->line.len, w->out) != w->line.len)
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
	for (i = 0; i < EXPORT_NCOLUMNS; i++) {
		if (i)
			strbuf_addch(&w->line, ',');
		strbuf_addstr(&w->line, export_columns[i]);
	}
	strbuf_addstr(&w->line, "\r\n");
	return write_line(w);
}

int export_writer_row(struct export_writer *w, const struct export_row *row)
{
	strbuf_reset(&w->line);
	if (w->format == EXPORT_CSV)
		build_csv_row(w, row);
	else
		build_json_row(w, row);
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
static int export_direct(struct store *st, const struct export_options *o, const char *path,
			 int64_t *rows)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	FILE *f;
	int ret;

	if (fd < 0)
		return error_errno("cannot open '%s'", path);
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return error_errno("cannot open '%s'", path);
	}
	ret = export_stream(st, o, f, path, o->bom == EXPORT_BOM_ALWAYS, rows);
	if (fclose(f) == EOF && ret == 0)
		ret = error_errno("cannot write '%s'", path);
	return ret;
}

int export_to_path(struct store *st, const struct export_options *o, int64_t *rows)
{
	struct atomic_file af;
	struct outpath op;
	int ret;

	if (o->bom == EXPORT_BOM_ALWAYS && o->format != EXPORT_CSV)
		return error("--bom: JSON Lines never starts with a BOM (RFC 8259 section 8.1)");
	/* Checked again here, right before writing: the path may have changed since. */
	if (outpath_check(o->out_path, o->db, o->csv, &op) < 0)
		return -1;
	if (op.kind == OUTPATH_STDOUT)
		return export_stream(st, o, stdout, "standard output", o->bom == EXPORT_BOM_ALWAYS,
				     rows);
	if (op.kind == OUTPATH_DIRECT) {
		ret = export_direct(st, o, op.file, rows);
		outpath_release(&op);
		return ret;
	}
	/* A symlink's final target is replaced, in its own folder; the link stays. */
	ret = -1;
	if (atomic_file_begin(&af, op.file, 0600, NULL) < 0)
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
