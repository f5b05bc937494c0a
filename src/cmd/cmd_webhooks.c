/*
 * cmd_webhooks.c: `finch-onboard webhooks serve` (a receiver of Finch's
 * account.updated, on libmicrohttpd) and `webhooks verify` (one saved
 * delivery checked offline).
 *
 * The lock rule: the receiver does not take the writer's lock (a sync holds
 * it for minutes every night, and Finch must be answered within seconds).
 * It shares the database with a running sync the way SQLite shares it: each
 * delivery is one short BEGIN IMMEDIATE transaction that waits at most
 * WEBHOOK_LOCK_WAIT_MS for the writer's current commit, and touches only
 * webhook_events and the connection_status columns, which no run writes.
 * When the database stays locked longer (an import's exclusive transaction)
 * the answer is 503 and nothing is stored: Finch retries the delivery.
 * 2xx is sent only after COMMIT returned.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "finch/webhook.h"
#include "store/store.h"
#include "store/store_connections.h"

#define WEBHOOK_LOCK_WAIT_MS 3000
#define WEBHOOK_YIELD_US     2000 /* after each commit: see store_event() */

static const char webhooks_usage[] =
    "usage: finch-onboard webhooks serve --listen ADDR:PORT [--db PATH] [--config FILE]\n"
    "       finch-onboard webhooks verify FILE [--at UNIX_SECONDS] [--config FILE]\n"
    "\n"
    "serve receives Finch's webhooks: each delivery's Finch-Signature is checked\n"
    "with the base64 secret in $" WEBHOOK_SECRET_ENV " (HMAC-SHA256 over\n"
    "'Finch-Event-Id.Finch-Timestamp.body', within 5 minutes either way); a\n"
    "verified account.updated sets the connection status of the rows with its\n"
    "connection_id, once per Finch-Event-Id, and is answered 200 once durable.\n"
    "Forged, stale, oversized (over 64 KiB) and non-JSON deliveries get a 4xx and\n"
    "are never stored. It shares the database with a running sync (no lock is\n"
    "taken; a busy database is answered 503, and Finch retries). The first line on\n"
    "stdout is 'listening on http://ADDR:PORT'; SIGINT/SIGTERM stop it.\n"
    "\n"
    "verify checks one saved delivery: header lines ('Name: value'), an empty line,\n"
    "then the raw body; exit 0 when it verifies, 1 when it does not.\n"
    "\n"
    "  --listen ADDR:PORT   IPv4 address and port to serve on (port 0: any free one)\n"
    "  --db PATH            the database (default " DEFAULT_DB_PATH ")\n"
    "  --at UNIX_SECONDS    verify: check the timestamp as if received then\n" CLI_CONFIG_HELP
	CLI_LOG_FORMAT_HELP "  -h, --help           show this help\n";

/* The secret from the environment, decoded; -1 after reporting. */
static int load_key(struct webhook_key *k)
{
	const char *secret = getenv(WEBHOOK_SECRET_ENV);
	char why[WEBHOOK_WHY_MAX];

	if (!secret || !*secret)
		return error("%s is not set: the webhook secret from Finch's dashboard, base64",
			     WEBHOOK_SECRET_ENV);
	if (webhook_key_parse(secret, k, why, sizeof(why)) < 0)
		return error("%s: %s", WEBHOOK_SECRET_ENV, why);
	return 0;
}

/* ---- the decision, shared by serve and verify -------------------------------- */

/*
 * Verifies a delivery and parses its event: returns the HTTP status of a
 * refusal (400, 401, 413) with a reason, or 0.
 */
static int check_delivery(const struct webhook_key *k, const struct webhook_headers *h,
			  const char *body, size_t len, int64_t now_s, struct webhook_event *ev,
			  char *why, size_t size)
{
	enum webhook_verdict v;
	char parse_why[WEBHOOK_WHY_MAX];

	if (len > WEBHOOK_BODY_MAX) {
		set_why(why, size, "the body is larger than %d bytes", WEBHOOK_BODY_MAX);
		return 413;
	}
	v = webhook_verify(k, h, body, len, now_s, why, size);
	if (v == WEBHOOK_MISSING_HEADER || v == WEBHOOK_BAD_TIMESTAMP)
		return 400;
	if (v != WEBHOOK_OK)
		return 401;
	if (webhook_event_parse(body, len, ev, parse_why, sizeof(parse_why)) < 0) {
		set_why(why, size, "signed by Finch's key, but %s", parse_why);
		return 400;
	}
	return 0;
}

/* ---- serve ----------------------------------------------------------------------- */

struct receiver {
	struct store *st;
	struct webhook_key key;
	int64_t stored, duplicates, refused, busy;
};

struct delivery {
	struct strbuf body;
	int too_big;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
	cJSON *o = cJSON_CreateObject();
	struct MHD_Response *r;
	enum MHD_Result ret;
	char msg[512], *text;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!o || !cJSON_AddNumberToObject(o, "status", status) ||
	    !cJSON_AddStringToObject(o, "message", msg))
		die("out of memory answering a webhook");
	text = cJSON_PrintUnformatted(o);
	if (!text)
		die("out of memory answering a webhook");
	r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	cJSON_free(text);
	cJSON_Delete(o);
	return ret;
}

/* Stores a verified event: 200, 200 for a duplicate, or 503 when not durable. */
static enum MHD_Result store_event(struct receiver *rv, struct MHD_Connection *conn,
				   const struct webhook_headers *h, const struct webhook_event *ev)
{
	struct webhook_record w = {h->event_id, ev->event_type, ev->connection_id, ev->status,
				   0,		clock_now_ms()};
	int64_t rows = 0, ts = 0;
	int dup = 0, rc;

	webhook_timestamp_parse(h->timestamp, &ts); /* verified already */
	w.event_ms = ts * 1000;
	rc = store_try_begin(rv->st, WEBHOOK_LOCK_WAIT_MS);
	if (rc == 1) {
		rv->busy++;
		return reply(conn, 503, "the database is busy; deliver again later");
	}
	if (rc < 0 || store_webhook_event(rv->st, &w, &dup, &rows) < 0)
		goto fail;
	rc = store_try_commit(rv->st);
	if (rc != 0)
		goto fail;
	/*
	 * Leave the lock free a moment before the next delivery: under a burst
	 * the receiver would hold it nearly all the time, and a running sync's
	 * commit, which waits DISPATCH_DB_SHARE_WAIT_MS at most, would starve.
	 */
	nanosleep(&(struct timespec){0, WEBHOOK_YIELD_US * 1000L}, NULL);
	if (dup) {
		rv->duplicates++;
		return reply(conn, 200, "duplicate of event '%s', already stored", h->event_id);
	}
	rv->stored++;
	return reply(conn, 200, "stored; %lld rows updated", (long long)rows);
fail:
	if (store_in_transaction(rv->st))
		store_rollback(rv->st);
	rv->busy++;
	return reply(conn, 503, "not stored; deliver again later");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	struct receiver *rv = cls;
	struct delivery *d = *con_cls;
	struct webhook_headers h = {0};
	struct webhook_event ev = {0};
	char why[WEBHOOK_WHY_MAX];
	enum MHD_Result ret;
	int status;

	(void)url;
	(void)version;
	if (!d) {
		d = xcalloc(1, sizeof(*d));
		strbuf_init(&d->body, 0);
		*con_cls = d;
		return MHD_YES;
	}
	if (*upload_size) {
		if (d->body.len + *upload_size > WEBHOOK_BODY_MAX)
			d->too_big = 1; /* counted, never kept */
		else
			strbuf_add(&d->body, upload_data, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST")) {
		rv->refused++;
		return reply(conn, 405, "webhooks are POSTed");
	}
	h.event_id = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Finch-Event-Id");
	h.timestamp = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Finch-Timestamp");
	h.signature = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Finch-Signature");
	status = check_delivery(&rv->key, &h, d->body.buf,
				d->too_big ? WEBHOOK_BODY_MAX + 1 : d->body.len,
				clock_now_ms() / 1000, &ev, why, sizeof(why));
	if (status) {
		rv->refused++;
		/* why quotes nothing the sender chose, so it is safe on a terminal */
		log_event(LOG_WARN, "webhook_refused", why, LOG_I("http_status", status), LOG_END);
		return reply(conn, (unsigned)status, "%s", why);
	}
	ret = store_event(rv, conn, &h, &ev);
	webhook_event_release(&ev);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct delivery *d = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!d)
		return;
	strbuf_release(&d->body);
	free(d);
	*con_cls = NULL;
}

/* libmicrohttpd's own complaints, in the run's log format (JSON stays JSON). */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_event(LOG_WARN, "http_error", msg, LOG_END);
}

/* "ADDR:PORT" into addr; -1 after reporting. */
static int parse_listen(const char *arg, struct sockaddr_in *addr)
{
	const char *colon = strrchr(arg, ':');
	char host[64];
	int64_t port;

	if (!colon || (size_t)(colon - arg) >= sizeof(host) ||
	    parse_int64(colon + 1, 0, 65535, &port) < 0)
		return error("--listen '%s': must be ADDR:PORT, e.g. 127.0.0.1:8080", arg);
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = '\0';
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &addr->sin_addr) != 1)
		return error("--listen '%s': '%s' is not an IPv4 address", arg, host);
	return 0;
}

static int serve(const char *listen_arg, const char *db)
{
	struct receiver rv = {0};
	struct sockaddr_in addr;
	struct MHD_Daemon *daemon = NULL;
	const union MHD_DaemonInfo *info;
	char url[64];
	sigset_t set;
	int sig, ret = EXIT_USAGE;

	if (parse_listen(listen_arg, &addr) < 0 || load_key(&rv.key) < 0)
		return EXIT_USAGE;
	/* a mistyped --db must not become a new, empty database that answers 200 */
	if (cmd_db_exists(db) < 0 || store_open(db, &rv.st) < 0)
		return EXIT_USAGE;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* one thread: the store is used by one thread only */
	daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, ntohs(addr.sin_port), NULL, NULL,
	    handle, &rv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
	    NULL, /* first: all of MHD's messages */
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, completed,
	    &rv, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)(WEBHOOK_BODY_MAX * 2), MHD_OPTION_END);
	if (!daemon) {
		error_errno("cannot listen on '%s'", listen_arg);
		goto out;
	}
	info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(url, sizeof(url), "http://%s:%u", inet_ntoa(addr.sin_addr),
		 info ? (unsigned)info->port : (unsigned)ntohs(addr.sin_port));
	/* the first line on stdout says where, in the log's format */
	if (log_get_format() == LOG_FORMAT_JSON)
		log_event_to(stdout, LOG_INFO, "listening", "listening", LOG_S("url", url),
			     LOG_END);
	else
		printf("listening on %s\n", url);
	fflush(stdout);
	sigwait(&set, &sig);
	MHD_stop_daemon(daemon);
	log_event(LOG_INFO, "webhooks_stopped", "webhooks: stopped", LOG_I("stored", rv.stored),
		  LOG_I("duplicates", rv.duplicates), LOG_I("refused", rv.refused),
		  LOG_I("busy", rv.busy), LOG_END);
	ret = EXIT_OK;
out:
	store_close(rv.st);
	return ret;
}

/* ---- verify ---------------------------------------------------------------------- */

/* Reads path whole into sb; -1 after reporting. */
static int read_file(const char *path, struct strbuf *sb)
{
	FILE *f = fopen(path, "rb");
	char buf[8192];
	size_t n;

	if (!f)
		return error_errno("cannot open '%s'", path);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		strbuf_add(sb, buf, n);
		if (sb->len > WEBHOOK_BODY_MAX + 65536) {
			fclose(f);
			return error("'%s': larger than a delivery can be", path);
		}
	}
	if (ferror(f)) {
		fclose(f);
		return error_errno("cannot read '%s'", path);
	}
	fclose(f);
	return 0;
}

static int verify(const char *path, int64_t at_s)
{
	struct strbuf file = STRBUF_INIT;
	struct webhook_headers h = {0};
	struct webhook_event ev = {0};
	struct webhook_key k;
	char why[WEBHOOK_WHY_MAX];
	char *p, *body = NULL;
	int status, ret = EXIT_USAGE, line = 0;

	if (load_key(&k) < 0 || read_file(path, &file) < 0)
		goto out;
	/* header lines up to the first empty one (CRLF or LF), then the raw body */
	for (p = file.buf; p && *p;) {
		char *end = strchr(p, '\n'), *colon;

		line++;
		if (!end)
			break;
		*end = '\0';
		if (end > p && end[-1] == '\r')
			end[-1] = '\0';
		if (!*p) {
			body = end + 1;
			break;
		}
		colon = strchr(p, ':');
		if (!colon) {
			error("%s:%d: a header line is 'Name: value'", path, line);
			goto out;
		}
		*colon++ = '\0';
		while (*colon == ' ' || *colon == '\t')
			colon++;
		webhook_headers_pick(&h, p, colon);
		p = end + 1;
	}
	if (!body) {
		error("%s: no empty line between the headers and the body", path);
		goto out;
	}
	status = check_delivery(&k, &h, body, file.len - (size_t)(body - file.buf), at_s, &ev, why,
				sizeof(why));
	if (status) {
		printf("%s: refused (HTTP %d): %s\n", path, status, why);
		ret = EXIT_ROWS;
		goto out;
	}
	printf("%s: verified: %s%s%s%s%s\n", path, ev.event_type,
	       ev.connection_id ? " connection_id=" : "", ev.connection_id ? ev.connection_id : "",
	       ev.status ? " status=" : "", ev.status ? ev.status : "");
	ret = EXIT_OK;
out:
	webhook_event_release(&ev);
	strbuf_release(&file);
	return ret;
}

/* The command's own options (cmd.h: the config file reads them too). */
const struct option cmd_webhooks_options[] = {
    {"listen", required_argument, NULL, 'l'},
    {"db", required_argument, NULL, 'd'},
    {"at", required_argument, NULL, 'a'},
    CMD_OPTIONS_END,
};

struct webhooks_args {
	const char *listen; /* --listen ADDR:PORT, or NULL */
	int64_t at_s;	    /* --at: the time verify checks a timestamp against */
};

static int webhooks_apply(void *ctx, int c, const char *arg)
{
	struct webhooks_args *a = ctx;

	switch (c) {
	case 'l':
		a->listen = arg;
		return 1;
	case 'a':
		if (parse_int64(arg, 0, INT64_MAX / 1000, &a->at_s) < 0)
			return error("--at '%s': must be Unix seconds", arg);
		return 1;
	default:
		return 0;
	}
}

static void webhooks_help(FILE *f)
{
	fputs(webhooks_usage, f);
}

int cmd_webhooks(int argc, char **argv)
{
	struct cmd_common co = {DEFAULT_DB_PATH, webhooks_help, 0, NULL};
	struct webhooks_args a = {NULL, clock_now_ms() / 1000};
	const char *sub;
	int ret;

	ret = cmd_read_options(&co, argc, argv, cmd_webhooks_options, webhooks_apply, &a);
	if (ret != CMD_OPTIONS_READ)
		return ret;
	sub = optind < argc ? argv[optind] : NULL;
	if (sub && !strcmp(sub, "serve") && optind + 1 == argc) {
		if (!a.listen) {
			error("webhooks serve needs --listen ADDR:PORT");
			return EXIT_USAGE;
		}
		return serve(a.listen, co.db);
	}
	if (sub && !strcmp(sub, "verify") && optind + 2 == argc)
		return verify(argv[optind + 1], a.at_s);
	error("webhooks needs 'serve --listen ADDR:PORT' or 'verify FILE'; see 'finch-onboard "
	      "webhooks --help'");
	return EXIT_USAGE;
}
