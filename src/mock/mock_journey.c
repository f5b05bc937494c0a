/*
 * mock_journey.c: see mock_journey.h.
 */
#include "mock/mock_journey.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/json.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "finch/validate.h"

#define DELIVERY_TRIES	   3
#define OLD_TIMESTAMP_S	   600 /* twice the receivers' tolerance */
#define DELIVERY_TIMEOUT_S 10
/*
 * Sessions kept for /_mock/complete: the latest ones, each replacing the
 * oldest, so a load test's memory stays flat (every 201 made one, and 5,000
 * a second grew the emulator by 600 KiB a second).
 */
#define SESSIONS_MAX 65536

/* A session made by the emulator, for /_mock/complete. */
struct session {
	char *session_id;
	char *customer_id;   /* NULL for a reauthentication */
	char *connection_id; /* a reauthentication's connection */
	int64_t expires_at_ms;
};

/* A customer's connection, made by completing a session. */
struct connection {
	char *customer_id;
	char *connection_id;
};

/* One POST to the webhook URL. */
struct delivery {
	char *event_id;
	char *body;
	char timestamp[24];
	char signature[3 + WEBHOOK_SIG_B64_LEN + 1];
	int genuine; /* 1: must be answered 2xx; 0: must be refused 4xx */
	struct delivery *next;
};

struct mock_journey {
	struct mock_journey_config cfg;
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond;
	struct session *sessions;
	size_t nsessions, asessions;
	size_t oldest; /* once SESSIONS_MAX are kept: the one the next replaces */
	struct connection *conns;
	size_t nconns, aconns;
	struct delivery *head, *tail;
	int64_t queued, answered, wrong, events;
	int stopping, sending;
	pthread_t sender;
	int has_sender;
};

int mock_journey_faults_parse(const char *list, unsigned *faults)
{
	static const struct {
		const char *name;
		unsigned bit;
	} names[] = {
	    {"bad-signature", JOURNEY_FAULT_BAD_SIGNATURE},
	    {"old-timestamp", JOURNEY_FAULT_OLD_TIMESTAMP},
	    {"duplicate", JOURNEY_FAULT_DUPLICATE},
	};

	while (*list) {
		size_t n = strcspn(list, ","), i;

		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (strlen(names[i].name) == n && !strncmp(list, names[i].name, n))
				break;
		if (i == ARRAY_SIZE(names))
			return error("--webhook-fault: unknown fault '%.*s' (bad-signature, "
				     "old-timestamp or duplicate)",
				     (int)n, list);
		*faults |= names[i].bit;
		list += n;
		if (*list == ',')
			list++;
	}
	return 0;
}

static void random_hex(char *out, size_t nbytes)
{
	unsigned char b[32];

	if (nbytes > sizeof(b) || random_bytes(b, nbytes) < 0)
		die("cannot read random bytes");
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* ---- the sender ------------------------------------------------------------ */

static size_t discard(char *p, size_t size, size_t n, void *cls)
{
	(void)p;
	(void)cls;
	return size * n;
}

/* POSTs d once; the HTTP status, or 0 when the receiver could not be reached. */
static long post_once(CURL *easy, const char *url, const struct delivery *d)
{
	struct curl_slist *h = NULL;
	struct strbuf line = STRBUF_INIT;
	long status = 0;

	strbuf_addf(&line, "Finch-Event-Id: %s", d->event_id);
	h = curl_slist_append(h, line.buf);
	strbuf_reset(&line);
	strbuf_addf(&line, "Finch-Timestamp: %s", d->timestamp);
	h = curl_slist_append(h, line.buf);
	strbuf_reset(&line);
	strbuf_addf(&line, "Finch-Signature: %s", d->signature);
	h = curl_slist_append(h, line.buf);
	h = curl_slist_append(h, "Content-Type: application/json");
	if (!h)
		die("out of memory building webhook headers");
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)DELIVERY_TIMEOUT_S);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_NOPROXY, "*");
	if (curl_easy_perform(easy) == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	strbuf_release(&line);
	return status;
}

static void delivery_free(struct delivery *d)
{
	free(d->event_id);
	free(d->body);
	free(d);
}

/* Waits up to ms on the condition (a retry's pause). Under lock. */
static void pause_ms(struct mock_journey *j, int64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	pthread_cond_timedwait(&j->cond, &j->lock, &ts);
}

static void *sender_main(void *arg)
{
	struct mock_journey *j = arg;
	CURL *easy = curl_easy_init();

	if (!easy)
		die("cannot start libcurl for webhooks");
	pthread_mutex_lock(&j->lock);
	for (;;) {
		struct delivery *d = j->head;
		long status = 0;

		if (!d) {
			if (j->stopping)
				break;
			pthread_cond_wait(&j->cond, &j->lock);
			continue;
		}
		j->head = d->next;
		if (!j->head)
			j->tail = NULL;
		j->sending = 1;
		for (int t = 0; t < DELIVERY_TRIES; t++) {
			pthread_mutex_unlock(&j->lock);
			status = post_once(easy, j->cfg.webhook_url, d);
			pthread_mutex_lock(&j->lock);
			if (status && status < 500)
				break;
			if (!j->stopping)
				pause_ms(j, 100L << t);
		}
		if (d->genuine ? (status >= 200 && status < 300) : (status >= 400 && status < 500))
			j->answered++;
		else
			j->wrong++;
		j->sending = 0;
		delivery_free(d);
		pthread_cond_broadcast(&j->cond);
	}
	pthread_mutex_unlock(&j->lock);
	curl_easy_cleanup(easy);
	return NULL;
}

/* Queues d. Under lock. */
static void enqueue(struct mock_journey *j, struct delivery *d)
{
	if (j->tail)
		j->tail->next = d;
	else
		j->head = d;
	j->tail = d;
	j->queued++;
	pthread_cond_broadcast(&j->cond);
}

static struct delivery *make_delivery(struct mock_journey *j, const char *event_id,
				      const char *body, int64_t ts, int genuine)
{
	struct delivery *d = xcalloc(1, sizeof(*d));
	char sig[WEBHOOK_SIG_B64_LEN + 1];

	d->event_id = xstrdup(event_id);
	d->body = xstrdup(body);
	d->genuine = genuine;
	snprintf(d->timestamp, sizeof(d->timestamp), "%lld", (long long)ts);
	if (webhook_sign(&j->cfg.key, event_id, ts, body, strlen(body), sig) < 0)
		die("cannot sign a webhook");
	snprintf(d->signature, sizeof(d->signature), "v1,%s", sig);
	return d;
}

/* account.updated's body for connection_id, now in status. */
static char *event_body(const char *connection_id, const char *status)
{
	cJSON *o = cJSON_CreateObject(), *data;
	char company[33];

	random_hex(company, 16);
	cJSON_AddStringToObject(o, "account_id", connection_id);
	cJSON_AddStringToObject(o, "company_id", company);
	cJSON_AddStringToObject(o, "connection_id", connection_id);
	cJSON_AddStringToObject(o, "event_type", "account.updated");
	data = cJSON_AddObjectToObject(o, "data");
	cJSON_AddStringToObject(data, "status", status);
	return json_print_delete(o);
}

/*
 * Queues account.updated for connection_id, with the --webhook-fault
 * deliveries around it. Under lock.
 */
static void queue_event(struct mock_journey *j, const char *connection_id, const char *status)
{
	char id[4 + 32 + 1];
	char *body;
	int64_t now_s = clock_now_ms() / 1000;

	if (!j->cfg.webhook_url)
		return;
	memcpy(id, "msg_", 4);
	random_hex(id + 4, 16);
	body = event_body(connection_id, status);
	j->events++;
	if (j->cfg.faults & JOURNEY_FAULT_BAD_SIGNATURE) {
		/* same id, another status, a MAC that is not ours: first, so a receiver
		 * that marked the id before verifying would lose the genuine one */
		char *forged = event_body(connection_id, "disconnected");
		struct delivery *d = make_delivery(j, id, forged, now_s, 0);

		d->signature[3] = d->signature[3] == 'A' ? 'B' : 'A';
		enqueue(j, d);
		free(forged);
	}
	if (j->cfg.faults & JOURNEY_FAULT_OLD_TIMESTAMP) {
		/* a genuine signature 10 minutes old: a replay */
		char *old = event_body(connection_id, "reauth");
		char old_id[4 + 32 + 1];

		memcpy(old_id, "msg_", 4);
		random_hex(old_id + 4, 16);
		enqueue(j, make_delivery(j, old_id, old, now_s - OLD_TIMESTAMP_S, 0));
		free(old);
	}
	enqueue(j, make_delivery(j, id, body, now_s, 1));
	if (j->cfg.faults & JOURNEY_FAULT_DUPLICATE)
		enqueue(j, make_delivery(j, id, body, now_s, 1));
	free(body);
}

/* ---- state ------------------------------------------------------------------ */

int mock_journey_start(const struct mock_journey_config *c, struct mock_journey **out)
{
	struct mock_journey *j = xcalloc(1, sizeof(*j));

	j->cfg = *c;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	if (c->webhook_url) {
		if (!c->key.len) {
			free(j);
			return error("--webhook-url needs %s (the base64 webhook secret)",
				     WEBHOOK_SECRET_ENV);
		}
		if (pthread_create(&j->sender, NULL, sender_main, j) != 0) {
			free(j);
			return error("cannot start the webhook sender");
		}
		j->has_sender = 1;
	}
	*out = j;
	return 0;
}

void mock_journey_stop(struct mock_journey *j, int64_t grace_ms)
{
	int64_t deadline = clock_mono_ms() + grace_ms;

	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	while ((j->head || j->sending) && clock_mono_ms() < deadline)
		pause_ms(j, 50);
	j->stopping = 1;
	while (j->head) {
		struct delivery *d = j->head;

		j->head = d->next;
		delivery_free(d);
	}
	j->tail = NULL;
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
	if (j->has_sender)
		pthread_join(j->sender, NULL);
	for (size_t i = 0; i < j->nsessions; i++) {
		free(j->sessions[i].session_id);
		free(j->sessions[i].customer_id);
		free(j->sessions[i].connection_id);
	}
	for (size_t i = 0; i < j->nconns; i++) {
		free(j->conns[i].customer_id);
		free(j->conns[i].connection_id);
	}
	free(j->sessions);
	free(j->conns);
	OPENSSL_cleanse(j->cfg.key.key, sizeof(j->cfg.key.key));
	pthread_mutex_destroy(&j->lock);
	pthread_cond_destroy(&j->cond);
	free(j);
}

/*
 * Sets *slot to a copy of s (NULL: none) in the buffer the slot had, resized
 * in place: a session replacing the oldest reuses its strings' memory (the
 * same size for a session id), where a free and a malloc for each of its
 * 65,536 strings scattered them through the arenas between the short-lived
 * blocks of the requests around them, and the arenas grew holes.
 */
static void keep_copy(char **slot, const char *s)
{
	size_t n;

	if (!s) {
		free(*slot);
		*slot = NULL;
		return;
	}
	n = strlen(s) + 1;
	*slot = xrealloc(*slot, n);
	memcpy(*slot, s, n);
}

int64_t mock_journey_session(struct mock_journey *j, const char *session_id,
			     const char *customer_id, const char *connection_id, int64_t minutes)
{
	struct session *s;

	if (!minutes)
		minutes = connection_id ? REAUTH_MINUTES_DEFAULT : MINUTES_TO_EXPIRE_DEFAULT;
	pthread_mutex_lock(&j->lock);
	if (j->nsessions == SESSIONS_MAX) {
		s = &j->sessions[j->oldest];
		j->oldest = (j->oldest + 1) % SESSIONS_MAX;
	} else {
		if (j->nsessions == j->asessions) {
			j->asessions = j->asessions ? 2 * j->asessions : 64;
			j->sessions = xrealloc(j->sessions, j->asessions * sizeof(*j->sessions));
		}
		s = &j->sessions[j->nsessions++];
		*s = (struct session){0};
	}
	keep_copy(&s->session_id, session_id);
	keep_copy(&s->customer_id, customer_id);
	keep_copy(&s->connection_id, connection_id);
	s->expires_at_ms = clock_now_ms() + minutes * 60000;
	pthread_mutex_unlock(&j->lock);
	return minutes;
}

/* The connection of customer_id, or NULL. Under lock. */
static struct connection *find_connection(struct mock_journey *j, const char *customer_id)
{
	for (size_t i = 0; i < j->nconns; i++)
		if (!strcmp(j->conns[i].customer_id, customer_id))
			return &j->conns[i];
	return NULL;
}

int mock_journey_connection(struct mock_journey *j, const char *customer_id, char out[128])
{
	struct connection *c;

	if (!j)
		return 0;
	pthread_mutex_lock(&j->lock);
	c = find_connection(j, customer_id);
	if (c)
		snprintf(out, 128, "%s", c->connection_id);
	pthread_mutex_unlock(&j->lock);
	return c != NULL;
}

/* ---- the admin endpoints ----------------------------------------------------- */

static char *answer(int *status, int code, cJSON *o)
{
	*status = code;
	return json_print_delete(o);
}

static char *fail(int *status, int code, const char *message)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "code", code);
	cJSON_AddStringToObject(o, "message", message);
	return answer(status, code, o);
}

/* POST /_mock/complete {session_id}. Under lock. */
static char *complete(struct mock_journey *j, const cJSON *in, int *status)
{
	const cJSON *sid = cJSON_GetObjectItemCaseSensitive(in, "session_id");
	struct session *s = NULL;
	struct connection *c;
	cJSON *o;
	char conn[37];

	if (!cJSON_IsString(sid))
		return fail(status, 400, "session_id: must be a string");
	for (size_t i = 0; i < j->nsessions && !s; i++)
		if (!strcmp(j->sessions[i].session_id, sid->valuestring))
			s = &j->sessions[i];
	if (!s)
		return fail(status, 404, "no such session (the latest 65,536 are kept)");
	if (clock_now_ms() > s->expires_at_ms)
		return fail(status, 410, "the session has expired");
	o = cJSON_CreateObject();
	if (s->connection_id) {
		snprintf(conn, sizeof(conn), "%s", s->connection_id);
	} else {
		c = find_connection(j, s->customer_id);
		if (c) {
			snprintf(conn, sizeof(conn), "%s", c->connection_id);
		} else {
			random_hex(conn, 16);
			if (j->nconns == j->aconns) {
				j->aconns = j->aconns ? 2 * j->aconns : 16;
				j->conns = xrealloc(j->conns, j->aconns * sizeof(*j->conns));
			}
			j->conns[j->nconns].customer_id = xstrdup(s->customer_id);
			j->conns[j->nconns].connection_id = xstrdup(conn);
			j->nconns++;
		}
		cJSON_AddStringToObject(o, "customer_id", s->customer_id);
	}
	cJSON_AddStringToObject(o, "connection_id", conn);
	queue_event(j, conn, "connected");
	return answer(status, 200, o);
}

/* POST /_mock/status {connection_id, status}. Under lock. */
static char *set_status(struct mock_journey *j, const cJSON *in, int *status)
{
	const cJSON *cid = cJSON_GetObjectItemCaseSensitive(in, "connection_id");
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(in, "status");
	cJSON *o;

	if (!cJSON_IsString(cid) || !*cid->valuestring)
		return fail(status, 400, "connection_id: must be a string");
	if (!cJSON_IsString(st) || !webhook_status_valid(st->valuestring))
		return fail(status, 400,
			    "status: must be pending, processing, connected, reauth, "
			    "error_permissions, error_no_account_setup or disconnected");
	queue_event(j, cid->valuestring, st->valuestring);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "connection_id", cid->valuestring);
	cJSON_AddStringToObject(o, "status", st->valuestring);
	return answer(status, 200, o);
}

static char *deliveries(struct mock_journey *j, int *status)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "events", (double)j->events);
	cJSON_AddNumberToObject(o, "queued", (double)j->queued);
	cJSON_AddNumberToObject(o, "answered", (double)j->answered);
	cJSON_AddNumberToObject(o, "wrong", (double)j->wrong);
	cJSON_AddBoolToObject(o, "idle", !j->head && !j->sending);
	return answer(status, 200, o);
}

char *mock_journey_admin(struct mock_journey *j, const char *method, const char *url,
			 const char *body, size_t len, int loopback, int *status)
{
	cJSON *in = NULL;
	char *out;

	if (!loopback)
		return fail(status, 403, "admin endpoints answer loopback peers only");
	if (!strcmp(url, "/_mock/deliveries") && !strcmp(method, "GET")) {
		pthread_mutex_lock(&j->lock);
		out = deliveries(j, status);
		pthread_mutex_unlock(&j->lock);
		return out;
	}
	if (strcmp(url, "/_mock/complete") && strcmp(url, "/_mock/status"))
		return fail(status, 404, "no such admin path");
	if (strcmp(method, "POST"))
		return fail(status, 405, "method not allowed on this path");
	in = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(in)) {
		cJSON_Delete(in);
		return fail(status, 400, "the body is not a JSON object");
	}
	pthread_mutex_lock(&j->lock);
	out = !strcmp(url, "/_mock/complete") ? complete(j, in, status) : set_status(j, in, status);
	pthread_mutex_unlock(&j->lock);
	cJSON_Delete(in);
	return out;
}
