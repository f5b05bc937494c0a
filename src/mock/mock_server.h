/*
 * mock_server.h: finch-mock, a local Finch that answers
 * POST /connect/sessions and /connect/sessions/reauthenticate as the
 * contract says, and misbehaves on demand (mock_faults.h). What follows a
 * link (completion, webhooks) is mock_journey.h's.
 *
 * It listens on 127.0.0.1 unless --bind says otherwise. A session request
 * without the right credentials is answered 401 before a byte of its body
 * is read, and one announcing a body over max_body 413; idle connections
 * and connections per client are bounded too (mock_config).
 *
 * It runs on libmicrohttpd's internal epoll thread pool. Latency and hangs
 * never block a worker: the connection is suspended and a timer thread
 * resumes it when its answer is due, so 256 slow requests cost nothing.
 */
#ifndef FINCH_MOCK_SERVER_H
#define FINCH_MOCK_SERVER_H

#include <stdint.h>

#include "mock/mock_faults.h"
#include "mock/mock_journey.h"

struct mock_config {
	const char *bind;	   /* address to listen on (default 127.0.0.1) */
	int port;		   /* 0: any free port */
	const char *client_id;	   /* the Basic auth the server accepts */
	const char *client_secret; /* never printed or logged */
	const char *connect_base;  /* base of connect_url; NULL: the server's own URL */
	const char *existing_file; /* lines "customer_id[,connection_id]" */
	int64_t existing_every;	   /* customers whose id ends in a multiple of K exist */
	const char *log_path;	   /* one JSON line per request, or NULL */
	unsigned threads;	   /* worker threads (default 2) */
	int echo_auth;		   /* every session request gets a 400 quoting its credentials */
	/* --credentials: the environment of the accepted credentials, which refuse
	   session requests of the other one (MOCK_CREDENTIALS_ANY: none refused) */
	enum mock_credentials {
		MOCK_CREDENTIALS_ANY,
		MOCK_CREDENTIALS_PRODUCTION,
		MOCK_CREDENTIALS_SANDBOX
	} credentials;
	/* limits, so one client cannot pin the server (defaults serve 1,000 concurrent clients) */
	int64_t max_body;	  /* body bytes (default 64 KiB): a larger one is a 413, unread */
	int64_t idle_timeout_s;	  /* a connection idle this long is closed (default 30) */
	unsigned max_per_client;  /* connections from one address (default 1024) */
	unsigned max_connections; /* in all (default 4096) */
	struct mock_faults faults;
	struct mock_journey_config journey; /* --webhook-url, --webhook-fault, the secret */
};

void mock_config_init(struct mock_config *c);

struct mock_server;

/* Loads the existing-connection file, opens the log, binds and starts serving. */
int mock_server_start(const struct mock_config *c, struct mock_server **out);
/* The port it listens on (the real one when asked for port 0). */
int mock_server_port(const struct mock_server *s);
/*
 * Stops accepting, answers what is pending (hangs included) at once, waits
 * up to grace_ms for responses in flight, stops, and flushes the log.
 */
void mock_server_stop(struct mock_server *s, int64_t grace_ms);

#endif
