/*
 * cmd_connections.c: `finch-onboard connections import FILE`, the app's own
 * record of who connected.
 *
 * Nothing at Finch lists connections; the one answer that ties our
 * customer_id to a connection_id is the app's POST /auth/token exchange at
 * its redirect. An app that logs customer_id and connection_id there (CSV
 * with a header, or JSON Lines) hands the log to this command: each customer
 * becomes an exists row with that connection (a created one is never renewed
 * again), unknown customers are reported and never created, and importing
 * the same file again changes nothing. The whole file is one transaction
 * under the writer's lock: a bad line (named FILE:LINE: field) imports
 * nothing. The file is read whole before the lock is taken, so a FIFO or a
 * terminal that is slow to write never holds the database from a nightly
 * sync (which would be refused, exit 4); --read-timeout bounds the wait.
 */
#include <csv.h>
#include <errno.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/strbuf.h"
#include "base/safepath.h"
#include "base/utf8.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "csv/csv_input.h"
#include "finch/validate.h"
#include "finch/webhook.h"
#include "store/store.h"
#include "store/store_connections.h"
#include "store/writer.h"

#define MAX_UNKNOWN_LISTED 20
#define CELLS_MAX	   16
/*
 * A line of ids, a status and a time is well under 1 KiB: a longer one is
 * not a connections log (a FIFO that never sends a newline, a binary file)
 * and is refused before it can grow without bound.
 */
#define LINE_MAX_BYTES (64 * 1024)
/*
 * The file is held in memory until it is applied: a connections log of a
 * million customers is some 100 MiB; more is not one (import it in parts).
 */
#define INPUT_MAX_BYTES (256 * 1024 * 1024)
/* --read-timeout: how long a FIFO or terminal may send nothing */
#define READ_TIMEOUT_DEFAULT "30s"

static const char connections_usage[] =
    "usage: finch-onboard connections import FILE [--db PATH] [--read-timeout D]\n"
    "                                             [--config FILE]\n"
    "\n"
    "Marks the customers of FILE connected: CSV with a header naming customer_id\n"
    "and connection_id (and optionally status and time), or JSON Lines with those\n"
    "members, as an app's /auth/token handler can log them. Each customer becomes\n"
    "an exists row with its connection_id (a created row is never renewed again);\n"
    "unknown customers are reported, not created (exit 1); importing again changes\n"
    "nothing. time is Unix seconds or ISO 8601 (none: the status is older than\n"
    "any that has a time, a webhook's); status is account.updated's (default\n"
    "connected). FILE is read whole before the\n"
    "database is locked: a FIFO may take its time without holding up a sync.\n"
    "\n"
    "  --db PATH            the database (default " DEFAULT_DB_PATH ")\n"
    "  --read-timeout D     give up (exit 2, nothing imported) when FILE sends\n"
    "                       nothing for D, e.g. a FIFO whose writer is stuck\n"
    "                       (default " READ_TIMEOUT_DEFAULT
    "; 0: wait as long as it takes)\n" CLI_CONFIG_HELP CLI_LOG_FORMAT_HELP
    "  -h, --help           show this help\n";

/* One connection of the file. Strings point into the line's storage. */
struct conn_line {
	const char *customer_id, *connection_id, *status, *time;
};

struct counts {
	int64_t lines, marked, unchanged, unknown, skipped;
};

/* ---- CSV: one physical line at a time (ids and times hold no line ends) ---- */

struct cells {
	struct strbuf buf;
	size_t off[CELLS_MAX];
	size_t n;
};

static void cell_cb(void *s, size_t len, void *data)
{
	struct cells *c = data;

	if (c->n < CELLS_MAX) {
		c->off[c->n++] = c->buf.len;
		strbuf_add(&c->buf, s, len);
		strbuf_add(&c->buf, "", 1);
	}
}

static int split_csv(const char *line, struct cells *c)
{
	struct csv_parser p;
	int ret = 0;

	strbuf_reset(&c->buf);
	c->n = 0;
	if (csv_init(&p, CSV_APPEND_NULL) != 0)
		die("out of memory starting the CSV parser");
	if (csv_parse(&p, line, strlen(line), cell_cb, NULL, c) != strlen(line) ||
	    csv_fini(&p, cell_cb, NULL, c) != 0)
		ret = -1;
	csv_free(&p);
	return ret;
}

/* ---- one connection ------------------------------------------------------------ */

/* Checks and applies one line; -1 after reporting (the caller rolls back). */
static int apply(struct store *st, const char *path, int64_t line, const struct conn_line *cl,
		 int64_t now_ms, struct counts *n)
{
	enum connection_mark res;
	int64_t at_ms = -1; /* no time: older than any status that has one */

	if (!cl->customer_id || !*cl->customer_id)
		return error("%s:%lld: customer_id is empty", path, (long long)line);
	if (utf8_count(cl->customer_id, strlen(cl->customer_id)) < 0)
		return error("%s:%lld: customer_id is not valid UTF-8", path, (long long)line);
	if (!cl->connection_id || !*cl->connection_id)
		return error("%s:%lld: connection_id is empty", path, (long long)line);
	if (utf8_count(cl->connection_id, strlen(cl->connection_id)) < 0)
		return error("%s:%lld: connection_id is not valid UTF-8", path, (long long)line);
	if (cl->status && *cl->status && !webhook_status_valid(cl->status))
		return error("%s:%lld: status: '%s' is not one of pending, processing, connected, "
			     "reauth, error_permissions, error_no_account_setup, disconnected",
			     path, (long long)line, cl->status);
	if (cl->time && *cl->time) {
		int64_t s;

		if (parse_int64(cl->time, 0, INT64_MAX / 1000, &s) == 0)
			at_ms = s * 1000;
		else if (parse_iso8601_ms(cl->time, &at_ms) < 0)
			return error("%s:%lld: time: '%s' is neither Unix seconds nor ISO 8601",
				     path, (long long)line, cl->time);
	}
	if (store_mark_connected(st, cl->customer_id, cl->connection_id,
				 cl->status && *cl->status ? cl->status : NULL, at_ms, now_ms,
				 &res) < 0)
		return -1;
	switch (res) {
	case CONNECTION_MARKED:
		n->marked++;
		break;
	case CONNECTION_UNCHANGED:
		n->unchanged++;
		break;
	case CONNECTION_SKIPPED:
		n->skipped++;
		notice("connection_skipped",
		       "%s:%lld: customer '%s' is invalid in the database; not marked", path,
		       (long long)line, cl->customer_id);
		break;
	case CONNECTION_UNKNOWN:
		if (++n->unknown <= MAX_UNKNOWN_LISTED)
			notice("connection_unknown",
			       "%s:%lld: customer '%s' is not in the database; not created", path,
			       (long long)line, cl->customer_id);
		break;
	}
	return 0;
}

static const char *json_member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/*
 * Reads the next line of f into sb, without its newline. Returns its
 * length, -1 at the end of the file (or on a read error: see ferror()), or
 * -2 when the line runs past LINE_MAX_BYTES (sb then holds that much).
 */
static ssize_t read_line(FILE *f, struct strbuf *sb)
{
	int ch = EOF;

	strbuf_reset(sb);
	while (sb->len < LINE_MAX_BYTES && (ch = getc(f)) != EOF && ch != '\n')
		strbuf_addch(sb, ch);
	if (sb->len == LINE_MAX_BYTES && ch != '\n' && (ch = getc(f)) != '\n' && ch != EOF)
		return -2;
	if (ch == EOF && !sb->len)
		return -1;
	return (ssize_t)sb->len;
}

/*
 * Reads all of path into data, before the database is locked. A FIFO is
 * opened without waiting for its writer and polled: timeout_ms (0: none)
 * bounds each wait for a byte. A line over LINE_MAX_BYTES or a file over
 * INPUT_MAX_BYTES stops the read at once. 0, or -1 after an error naming
 * path (and the line, or the timeout).
 */
static int read_input(const char *path, int64_t timeout_ms, const char *timeout_arg,
		      struct strbuf *data)
{
	/* a device, or another user's link: refused */
	int fd = safepath_open_input_flags(path, O_NONBLOCK), ret = -1;
	size_t line_start = 0;
	int64_t lineno = 1;
	char buf[64 * 1024];

	if (fd < 0)
		return -1;
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int r = poll(&p, 1,
			     timeout_ms ? (int)(timeout_ms < INT_MAX ? timeout_ms : INT_MAX) : -1);
		ssize_t got;

		if (r < 0 && errno != EINTR) {
			error_errno("cannot read '%s'", path);
			goto out;
		}
		if (r == 0) {
			csv_input_timed_out(path, timeout_arg);
			goto out;
		}
		if (r < 0)
			continue;
		got = read(fd, buf, sizeof(buf));
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got < 0) {
			error_errno("cannot read '%s'", path);
			goto out;
		}
		if (!got)
			break;
		strbuf_add(data, buf, (size_t)got);
		for (size_t i = data->len - (size_t)got; i < data->len; i++)
			if (data->buf[i] == '\n') {
				line_start = i + 1;
				lineno++;
			}
		if (data->len - line_start > LINE_MAX_BYTES) {
			error("%s:%lld: a line longer than %d bytes: not a connections file", path,
			      (long long)lineno, LINE_MAX_BYTES);
			goto out;
		}
		if (data->len > INPUT_MAX_BYTES) {
			error("'%s' is larger than %d MiB: not one connections log; import it in "
			      "parts",
			      path, INPUT_MAX_BYTES >> 20);
			goto out;
		}
	}
	ret = 0;
out:
	close(fd);
	return ret;
}

/* Reads data, the whole of path, line by line into st; -1 after reporting. */
static int import_file(struct store *st, const char *path, struct strbuf *data, struct counts *n)
{
	FILE *f = data->len ? fmemopen(data->buf, data->len, "r") : NULL;
	struct cells c = {STRBUF_INIT, {0}, 0};
	struct strbuf sb = STRBUF_INIT;
	char *line;
	ssize_t len;
	int col[4] = {-1, -1, -1, -1}, jsonl = -1, ret = -1;
	static const char *const names[4] = {"customer_id", "connection_id", "status", "time"};
	int64_t now_ms = clock_now_ms(), lineno = 0, nonblank = 0;

	if (!data->len)
		return error("'%s' is empty: no header and no connection", path);
	if (!f)
		return error_errno("cannot read '%s'", path);
	for (;;) {
		len = read_line(f, &sb);
		if (len == -1)
			break;
		lineno++;
		if (len == -2) {
			error("%s:%lld: a line longer than %d bytes: not a connections file", path,
			      (long long)lineno, LINE_MAX_BYTES);
			goto out;
		}
		struct conn_line cl = {0};
		char *p = line = sb.buf;

		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (lineno == 1 && !strncmp(p, "\xef\xbb\xbf", 3))
			p += 3;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		nonblank++;
		if (jsonl < 0)
			jsonl = *p == '{';
		if (jsonl) {
			cJSON *o = cJSON_Parse(p);

			if (!cJSON_IsObject(o)) {
				cJSON_Delete(o);
				error("%s:%lld: not a JSON object", path, (long long)lineno);
				goto out;
			}
			cl.customer_id = json_member(o, "customer_id");
			cl.connection_id = json_member(o, "connection_id");
			cl.status = json_member(o, "status");
			cl.time = json_member(o, "time");
			n->lines++;
			if (apply(st, path, lineno, &cl, now_ms, n) < 0) {
				cJSON_Delete(o);
				goto out;
			}
			cJSON_Delete(o);
			continue;
		}
		if (split_csv(p, &c) < 0) {
			error("%s:%lld: not a CSV line (an unterminated quote?)", path,
			      (long long)lineno);
			goto out;
		}
		if (col[0] < 0 && col[1] < 0) {
			for (size_t i = 0; i < c.n; i++)
				for (int k = 0; k < 4; k++)
					if (!strcasecmp(c.buf.buf + c.off[i], names[k]))
						col[k] = (int)i;
			if (col[0] < 0 || col[1] < 0) {
				error("%s:%lld: the header needs customer_id and connection_id",
				      path, (long long)lineno);
				goto out;
			}
			continue;
		}
		cl.customer_id = (size_t)col[0] < c.n ? c.buf.buf + c.off[col[0]] : NULL;
		cl.connection_id = (size_t)col[1] < c.n ? c.buf.buf + c.off[col[1]] : NULL;
		cl.status = col[2] >= 0 && (size_t)col[2] < c.n ? c.buf.buf + c.off[col[2]] : NULL;
		cl.time = col[3] >= 0 && (size_t)col[3] < c.n ? c.buf.buf + c.off[col[3]] : NULL;
		n->lines++;
		if (apply(st, path, lineno, &cl, now_ms, n) < 0)
			goto out;
	}
	if (ferror(f)) {
		error_errno("cannot read '%s'", path);
		goto out;
	}
	if (!nonblank) {
		error("'%s' is empty: no header and no connection", path);
		goto out;
	}
	ret = 0;
out:
	strbuf_release(&sb);
	strbuf_release(&c.buf);
	fclose(f);
	return ret;
}

static void connections_help(FILE *f)
{
	fputs(connections_usage, f);
}

struct connections_args {
	int64_t read_timeout_ms;
	const char *read_timeout; /* as given, for the message */
};

/* connections' own option: --read-timeout. */
static int own_option(void *ctx, int c, const char *arg)
{
	struct connections_args *a = ctx;

	if (c != 'T')
		return 0;
	if (csv_read_timeout_option(arg, &a->read_timeout_ms) < 0)
		return -1;
	a->read_timeout = arg;
	return 1;
}

/* The command's own options (cmd.h: the config file reads them too). */
const struct option cmd_connections_options[] = {
    {"db", required_argument, NULL, 'd'},
    {"read-timeout", required_argument, NULL, 'T'},
    CMD_OPTIONS_END,
};

int cmd_connections(int argc, char **argv)
{
	struct cmd_common co = {DEFAULT_DB_PATH, connections_help, 0, NULL};
	struct connections_args a = {0, READ_TIMEOUT_DEFAULT};
	struct writer w = WRITER_INIT;
	struct strbuf data = STRBUF_INIT;
	struct counts n = {0};
	const char *db, *path;
	int ret;

	parse_duration_ms(READ_TIMEOUT_DEFAULT, &a.read_timeout_ms);
	ret = cmd_read_options(&co, argc, argv, cmd_connections_options, own_option, &a);
	if (ret != CMD_OPTIONS_READ)
		return ret;
	db = co.db;
	if (optind + 2 != argc || strcmp(argv[optind], "import")) {
		error("connections needs 'import FILE'; see 'finch-onboard connections --help'");
		return EXIT_USAGE;
	}
	path = argv[optind + 1];
	/* the whole file first: the lock is never held while it takes its time */
	ret = EXIT_USAGE;
	if (read_input(path, a.read_timeout_ms, a.read_timeout, &data) < 0)
		goto out;
	ret = writer_open(&w, db, WRITER_MUST_EXIST);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_USAGE;
	if (store_begin(w.st) < 0)
		goto out;
	if (import_file(w.st, path, &data, &n) < 0) {
		store_rollback(w.st);
		goto out;
	}
	if (store_commit(w.st) < 0)
		goto out;
	printf("connections %s: %lld lines, %lld marked connected, %lld unchanged, %lld unknown "
	       "customers (not created), %lld skipped\n",
	       path, (long long)n.lines, (long long)n.marked, (long long)n.unchanged,
	       (long long)n.unknown, (long long)n.skipped);
	ret = n.unknown || n.skipped ? EXIT_ROWS : EXIT_OK;
out:
	writer_close(&w);
	strbuf_release(&data);
	return ret;
}
