/*
 * mock_journey.h: what happens in finch-mock after a link is made, so a test
 * can play an employer's whole journey: a session is completed, the customer
 * now has a connection (later session requests answer
 * connection_already_exists), and a signed account.updated webhook goes to
 * --webhook-url, as Finch sends it (webhook.h). The latest 65,536 sessions
 * are kept (each new one replaces the oldest), so a load test runs in flat
 * memory.
 *
 * Two admin endpoints drive it, answered only to loopback peers:
 *	POST /_mock/complete {"session_id": S}
 *	POST /_mock/status   {"connection_id": C, "status": ST}
 * and GET /_mock/deliveries counts the webhook deliveries: queued, answered
 * as expected, and "wrong" (a genuine one refused, or a forged one taken).
 *
 * Deliveries are posted by one sender thread, in order, with libcurl; each
 * is tried up to 3 times while the receiver answers 5xx or cannot be
 * reached, as Finch retries.
 */
#ifndef FINCH_MOCK_JOURNEY_H
#define FINCH_MOCK_JOURNEY_H

#include <stddef.h>
#include <stdint.h>

#include "finch/webhook.h"

/* --webhook-fault: extra deliveries sent with each genuine one. */
enum {
	JOURNEY_FAULT_BAD_SIGNATURE = 1u << 0, /* a forged copy, other body, bad MAC, first */
	JOURNEY_FAULT_OLD_TIMESTAMP = 1u << 1, /* a replay signed 10 minutes ago, first */
	JOURNEY_FAULT_DUPLICATE = 1u << 2,     /* the genuine delivery twice */
};

struct mock_journey_config {
	const char *webhook_url; /* NULL: no deliveries */
	struct webhook_key key;	 /* FINCH_WEBHOOK_SECRET, decoded; len 0: none */
	unsigned faults;	 /* JOURNEY_FAULT_* */
};

/* Parses a comma-separated --webhook-fault list into *faults; -1 after reporting. */
int mock_journey_faults_parse(const char *list, unsigned *faults);

struct mock_journey;

/* Starts the sender thread when a webhook URL is given. */
int mock_journey_start(const struct mock_journey_config *c, struct mock_journey **out);
/* Sends what is queued (for at most grace_ms), stops and frees. NULL is fine. */
void mock_journey_stop(struct mock_journey *j, int64_t grace_ms);

/*
 * A session was created: for customer_id (a new one) or connection_id (a
 * reauthentication), expiring after minutes (0: the server's default,
 * 129,600 for a new session and 43,200 for a reauthentication). Returns the
 * minutes it applied.
 */
int64_t mock_journey_session(struct mock_journey *j, const char *session_id,
			     const char *customer_id, const char *connection_id, int64_t minutes);

/* The connection a customer made by completing a session: 1 and out, or 0. */
int mock_journey_connection(struct mock_journey *j, const char *customer_id, char out[128]);

/*
 * Answers an admin request (url starts with "/_mock/"): stores the HTTP
 * status in *status and returns a malloc'd JSON body. loopback is 1 when the
 * peer is 127.0.0.0/8 or ::1; any other peer gets 403.
 */
char *mock_journey_admin(struct mock_journey *j, const char *method, const char *url,
			 const char *body, size_t len, int loopback, int *status);

#endif
