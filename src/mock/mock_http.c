/*
 * mock_http.c: finch-mock's HTTP plumbing on libmicrohttpd: the access
 * handler, suspended connections and their timers, the limits that keep a
 * client from pinning the server (credentials before any body byte, body
 * size, idle time, connections per client), start and stop. The answers
 * themselves are mock_finch.c's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/redact.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "finch/finch_api.h"
#include "mock/mock_int.h"

/* ---- timers: suspended connections waiting for their answer -------------- */

static void timer_add(struct mock_server *s, struct request *q, int64_t due_ms)
{
	pthread_mutex_lock(&s->tlock);
	if (s->stopping) {
		/* the timer thread is gone or going: answer now, never leave it suspended */
		MHD_resume_connection(q->conn);
		pthread_mutex_unlock(&s->tlock);
		return;
	}
	if (s->ntimers == s->atimers) {
		s->atimers = s->atimers ? s->atimers * 2 : 256;
		s->timers = xrealloc(s->timers, s->atimers * sizeof(*s->timers));
	}
	/* a binary heap on due_ms */
	size_t i = s->ntimers++;

	while (i > 0 && s->timers[(i - 1) / 2].due_ms > due_ms) {
		s->timers[i] = s->timers[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	s->timers[i].due_ms = due_ms;
	s->timers[i].req = q;
	pthread_cond_signal(&s->tcond);
	pthread_mutex_unlock(&s->tlock);
}

/* Removes the earliest timer. Under tlock, with ntimers > 0. */
static struct request *timer_pop(struct mock_server *s)
{
	struct request *q = s->timers[0].req;
	struct timer last = s->timers[--s->ntimers];
	size_t i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= s->ntimers)
			break;
		if (c + 1 < s->ntimers && s->timers[c + 1].due_ms < s->timers[c].due_ms)
			c++;
		if (s->timers[c].due_ms >= last.due_ms)
			break;
		s->timers[i] = s->timers[c];
		i = c;
	}
	if (s->ntimers)
		s->timers[i] = last;
	return q;
}

static void *timer_main(void *arg)
{
	struct mock_server *s = arg;

	pthread_mutex_lock(&s->tlock);
	for (;;) {
		int64_t now = clock_mono_ms();

		if (s->ntimers && (s->stopping || s->timers[0].due_ms <= now)) {
			struct request *q = timer_pop(s);

			MHD_resume_connection(q->conn);
			continue;
		}
		if (s->stopping)
			break;
		if (!s->ntimers) {
			pthread_cond_wait(&s->tcond, &s->tlock);
		} else {
			int64_t due = s->timers[0].due_ms - now;
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += due / 1000;
			ts.tv_nsec += (due % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&s->tcond, &s->tlock, &ts);
		}
	}
	pthread_mutex_unlock(&s->tlock);
	return NULL;
}

/* ---- libmicrohttpd callbacks --------------------------------------------- */

/*
 * The first body bytes of a request whose body is kept: its buffer is taken
 * whole, at the length the headers announce (at most max_body), and written
 * through once, so the memory a request holds is known when it is admitted.
 * Grown by reallocs as the bytes came, a body dribbled for minutes made the
 * emulator grow for minutes (30 such clients: 0.04 to 0.1 MiB a minute of
 * heap in use, tests/bench/slow_clients.sh).
 */
static void body_reserve(struct request *q, int64_t max_body)
{
	const char *len =
	    MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	int64_t n;

	if (!len || parse_int64(len, 1, max_body, &n) < 0)
		return; /* chunked, or over the limit: grown as it comes, up to max_body */
	q->body.buf = xmalloc((size_t)n + 1);
	q->body.alloc = (size_t)n + 1;
	memset(q->body.buf, 0, q->body.alloc);
}

/*
 * The first call for a request, headers read and no body byte yet: a
 * session request without the credentials is answered 401 here, and one
 * announcing a body over the limit 413, so neither is ever buffered.
 */
static enum MHD_Result answer_early(struct mock_server *s, struct request *q,
				    struct MHD_Connection *conn, const char *url,
				    const char *method)
{
	const char *len;
	int64_t n;

	if (strcmp(method, "POST") ||
	    (strcmp(url, FINCH_PATH_SESSIONS) && strcmp(url, FINCH_PATH_REAUTH)))
		return MHD_YES;
	if (!s->cfg.echo_auth && !mock_auth_ok(s, conn))
		mock_answer_early(q, url, 401);
	else if ((len = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length")) &&
		 parse_int64(len, 0, INT64_MAX, &n) == 0 && n > s->cfg.max_body)
		mock_answer_early(q, url, 413);
	else
		return MHD_YES;
	return MHD_queue_response(conn, (unsigned)q->status, q->response);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_size, void **con_cls)
{
	struct mock_server *s = cls;
	struct request *q = *con_cls;
	enum MHD_Result ret;

	(void)version;
	if (!q) {
		/* a request that arrives after SIGTERM is not in flight: close */
		if (atomic_load_explicit(&s->closing, memory_order_relaxed))
			return MHD_NO;
		q = xcalloc(1, sizeof(*q));
		q->srv = s;
		q->conn = conn;
		strbuf_init(&q->body, 0);
		q->keep_body = !strcmp(url, FINCH_PATH_SESSIONS) ||
			       !strcmp(url, FINCH_PATH_REAUTH) || !strncmp(url, "/_mock/", 7);
		*con_cls = q;
		pthread_mutex_lock(&s->lock);
		s->active++;
		pthread_mutex_unlock(&s->lock);
		return answer_early(s, q, conn, url, method);
	}
	if (*upload_size) {
		/*
		 * a body no answer reads, after an early answer, or past the limit
		 * is dropped as it comes
		 */
		if (q->keep_body && !q->decided) {
			if (q->body.len + *upload_size > (size_t)s->cfg.max_body) {
				q->too_big = 1;
			} else {
				if (!q->body.alloc)
					body_reserve(q, s->cfg.max_body);
				strbuf_add(&q->body, upload_data, *upload_size);
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (!q->decided) {
		int64_t delay = 0;
		int sessions = !strcmp(url, FINCH_PATH_SESSIONS),
		    reauth = !strcmp(url, FINCH_PATH_REAUTH);

		q->decided = 1;
		if ((sessions || reauth) && !strcmp(method, "POST")) {
			delay = mock_decide_session(q, url, reauth);
		} else if (!strncmp(url, "/_mock/", 7)) {
			mock_answer_admin(q, method, url);
		} else if (!strcmp(url, "/stats") && !strcmp(method, "GET")) {
			q->status = 200;
			q->response = mock_stats_response(s);
		} else if (sessions || reauth || !strcmp(url, "/stats")) {
			q->status = 405;
			q->response = mock_error_response(s, 405, "method_not_allowed", NULL,
							  "method not allowed on this path");
		} else {
			q->status = 404;
			q->response =
			    mock_error_response(s, 404, "not_found", NULL, "no such path");
		}
		if (delay > 0) {
			MHD_suspend_connection(conn);
			/* +1: the ms clock truncates, and a latency must never be short */
			timer_add(s, q, clock_mono_ms() + delay + 1);
			return MHD_YES;
		}
	}
	if (q->reset)
		return MHD_NO; /* libmicrohttpd closes the connection without a response */
	if (atomic_load_explicit(&s->closing, memory_order_relaxed))
		MHD_add_response_header(q->response, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(conn, (unsigned)q->status, q->response);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct mock_server *s = cls;
	struct request *q = *con_cls;

	(void)conn;
	(void)toe;
	if (!q)
		return;
	if (q->response)
		MHD_destroy_response(q->response);
	strbuf_release(&q->body);
	free(q);
	*con_cls = NULL;
	pthread_mutex_lock(&s->lock);
	s->active--;
	pthread_mutex_unlock(&s->lock);
}

/* ---- start and stop ----------------------------------------------------- */

/*
 * libmicrohttpd's messages on stderr, less the one it prints for every
 * connection we close on purpose (--reset, requests after SIGTERM).
 */
__attribute__((format(printf, 2, 0))) static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (strstr(msg, "Application reported internal error"))
		return;
	fprintf(stderr, "finch-mock: libmicrohttpd: %s", msg);
}

/*
 * Binds and listens on addr (port 0: any free one) and sets *port to the
 * real port, so the server's own URL is known before any request can
 * arrive. Returns the socket, or -1.
 */
static int listen_on(struct sockaddr_in *addr, const char *bind_addr, int *port)
{
	socklen_t len = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		return error_errno("cannot create a socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)addr, &len) < 0) {
		error_errno("cannot listen on %s:%d", bind_addr, ntohs(addr->sin_port));
		close(fd);
		return -1;
	}
	*port = ntohs(addr->sin_port);
	return fd;
}

int mock_server_start(const struct mock_config *c, struct mock_server **out)
{
	struct mock_server *s = xcalloc(1, sizeof(*s));
	struct sockaddr_in addr = {0};
	int fd;
	struct strbuf cred = STRBUF_INIT, hdr = STRBUF_INIT;

	s->cfg = *c;
	s->attempts.max = MOCK_ATTEMPTS_KEPT;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->tlock, NULL);
	pthread_cond_init(&s->tcond, NULL);
	strbuf_addf(&cred, "%s:%s", c->client_id, c->client_secret);
	strbuf_addstr(&hdr, "Basic ");
	redact_base64(cred.buf, cred.len, &hdr);
	s->expected_auth = strbuf_detach(&hdr, NULL);
	strbuf_release(&cred);

	if (c->existing_file && mock_load_existing(s, c->existing_file) < 0)
		goto fail;
	if (mock_journey_start(&c->journey, &s->journey) < 0)
		goto fail;
	if (c->log_path) {
		s->log = fopen(c->log_path, "a");
		if (!s->log) {
			error_errno("--log: cannot open '%s'", c->log_path);
			goto fail;
		}
	}
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)c->port);
	if (inet_pton(AF_INET, c->bind, &addr.sin_addr) != 1) {
		error("--bind: '%s' is not an IPv4 address", c->bind);
		goto fail;
	}
	fd = listen_on(&addr, c->bind, &s->port);
	if (fd < 0)
		goto fail;
	snprintf(s->self_url, sizeof(s->self_url), "http://%s:%d", c->bind, s->port);
	s->daemon = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
		MHD_USE_ERROR_LOG,
	    (uint16_t)s->port, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, c->threads ? c->threads : 2,
	    MHD_OPTION_CONNECTION_LIMIT, c->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)c->idle_timeout_s, MHD_OPTION_PER_IP_CONNECTION_LIMIT, c->max_per_client,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)16384, MHD_OPTION_NOTIFY_COMPLETED,
	    completed, s, MHD_OPTION_END);
	if (!s->daemon) {
		close(fd);
		error("cannot start serving on %s:%d", c->bind, s->port);
		goto fail;
	}
	if (pthread_create(&s->timer_thread, NULL, timer_main, s) != 0) {
		MHD_stop_daemon(s->daemon);
		s->daemon = NULL;
		error("cannot start the timer thread");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->log)
		fclose(s->log);
	mock_journey_stop(s->journey, 0);
	mock_map_release(&s->existing);
	free(s->expected_auth);
	free(s);
	return -1;
}

int mock_server_port(const struct mock_server *s)
{
	return s->port;
}

static int64_t active_requests(struct mock_server *s)
{
	int64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->active;
	pthread_mutex_unlock(&s->lock);
	return n;
}

void mock_server_stop(struct mock_server *s, int64_t grace_ms)
{
	int64_t deadline = clock_mono_ms() + grace_ms;
	struct timespec tick = {0, 10 * 1000000};
	MHD_socket listen_fd;

	atomic_store(&s->closing, 1);
	/* quiesced, the listening socket is ours to close, after MHD_stop_daemon */
	listen_fd = MHD_quiesce_daemon(s->daemon);
	/* answer every held-back request now, then let the answers go out */
	pthread_mutex_lock(&s->tlock);
	s->stopping = 1;
	pthread_cond_signal(&s->tcond);
	pthread_mutex_unlock(&s->tlock);
	pthread_join(s->timer_thread, NULL);
	while (active_requests(s) > 0 && clock_mono_ms() < deadline)
		nanosleep(&tick, NULL);
	MHD_stop_daemon(s->daemon);
	if (listen_fd != MHD_INVALID_SOCKET)
		close(listen_fd);
	/* webhooks already queued still go out, within the same grace */
	mock_journey_stop(s->journey, deadline - clock_mono_ms());
	if (s->log && fclose(s->log) != 0)
		error_errno("cannot write the log");
	mock_counter_release(&s->attempts);
	mock_map_release(&s->existing);
	free(s->timers);
	free(s->expected_auth);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->tlock);
	pthread_cond_destroy(&s->tcond);
	free(s);
}
