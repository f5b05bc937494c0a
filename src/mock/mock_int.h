/*
 * mock_int.h: what the two halves of finch-mock share: mock_finch.c (the
 * Finch endpoints: answers, faults, the log) and mock_http.c (the
 * libmicrohttpd plumbing, timers and limits). Not for other modules.
 */
#ifndef FINCH_MOCK_INT_H
#define FINCH_MOCK_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "base/strbuf.h"
#include "mock/mock_faults.h"
#include "mock/mock_map.h"
#include "mock/mock_server.h"

/*
 * Customers (or connections) whose attempts are counted: the latest 65,536
 * at least, 131,072 at most (mock_map.h), as the journey keeps its latest
 * sessions, so a load test's memory stays flat.
 */
#define MOCK_ATTEMPTS_KEPT 65536

struct request {
	struct mock_server *srv;
	struct MHD_Connection *conn;
	struct strbuf body; /* taken whole at the announced length (body_reserve) */
	int keep_body;	    /* an answer reads the body: a session or /_mock/ path */
	int too_big;
	int decided; /* the answer below is ready */
	int reset;   /* close without answering */
	int status;
	struct MHD_Response *response;
};

/* Suspended connections waiting for their answer time. */
struct timer {
	int64_t due_ms; /* monotonic */
	struct request *req;
};

struct mock_server {
	struct mock_config cfg;
	struct MHD_Daemon *daemon;
	int port;
	char self_url[64];
	char *expected_auth; /* "Basic base64(id:secret)" */
	struct mock_journey *journey;

	pthread_mutex_t lock;	      /* everything below */
	struct mock_counter attempts; /* requests per customer, the latest only */
	struct map existing;
	struct mock_window window;
	int64_t requests;
	int64_t by_status[600];
	int64_t by_fault[FAULT_COUNT];
	int64_t sessions;
	int64_t active; /* requests not yet completed */
	FILE *log;

	pthread_mutex_t tlock; /* timers */
	pthread_cond_t tcond;
	pthread_t timer_thread;
	struct timer *timers;
	size_t ntimers, atimers;
	int stopping;

	atomic_int closing; /* stopping: no new requests, close after each answer */
};

/* Loads the existing-connection file into s->existing. */
int mock_load_existing(struct mock_server *s, const char *path);
struct MHD_Response *mock_error_response(struct mock_server *s, int status, const char *name,
					 const char *finch_code, const char *message);
/* GET /stats: the counters as JSON. */
struct MHD_Response *mock_stats_response(struct mock_server *s);
/*
 * Decides the answer to a POST on one of the two session endpoints and
 * logs it. Returns how long to hold the answer back (latency, hang).
 */
int64_t mock_decide_session(struct request *q, const char *url, int reauth);
/* The /_mock/ admin endpoints (mock_journey.h), for loopback peers only. */
void mock_answer_admin(struct request *q, const char *method, const char *url);
/* 1 when the request carries the credentials the server accepts. */
int mock_auth_ok(struct mock_server *s, struct MHD_Connection *conn);
/* Answers q with status (401, 413) before its body is read, and logs it. */
void mock_answer_early(struct request *q, const char *url, int status);

#endif
