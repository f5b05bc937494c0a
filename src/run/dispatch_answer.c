/*
 * dispatch_answer.c: what a finished transfer means for its row
 * (dispatch_int.h): created, exists, rejected, a retry later, a run-wide
 * pause for a per-IP 429, a signal to the breaker, or a stop (401, TLS).
 */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "finch/finch_api.h"
#include "finch/retry.h"
#include "run/dispatch_int.h"
#include "store/store_outcome.h"
#include "store/store_queue.h"

enum log_level dispatch_row_level(const struct dispatcher *d)
{
	return d->cfg->quiet ? LOG_DEBUG : LOG_WARN;
}

static char *dup_or_null(const char *v)
{
	return v ? xstrdup(v) : NULL;
}

/* What the request sent (read_job() fills the default), never a constant of ours. */
static int64_t sent_minutes(const struct store_job *job)
{
	return minutes_to_expire_to_send(job->req.minutes_to_expire, job->kind == REQUEST_REAUTH);
}

/* The attempt t made, as an outcome of kind k whose other fields the caller fills. */
void dispatch_fill_outcome(struct dispatcher *d, struct transfer *t, enum outcome_kind k,
			   struct store_outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->kind = k;
	o->customer_row = t->job.id;
	o->customer_id = xstrdup(t->job.req.customer_id ? t->job.req.customer_id : "");
	o->run_id = d->sum->run_id;
	o->attempt_no = t->job.attempt_total + 1;
	o->req_kind = t->job.kind;
	o->started_ms = t->started_ms;
	o->elapsed_ms = clock_mono_ms() - t->started_mono;
	o->request_id = dup_or_null(t->request_id);
	o->minutes_to_expire = sent_minutes(&t->job);
}

/*
 * The body of a 2xx that could not be read, kept for the user and Finch's
 * support: its first UNCONFIRMED_BODY_MAX bytes (already redacted,
 * transfer_scrub_answer()), printable ASCII as is, a backslash doubled,
 * every other byte as \xNN, so a gzip'd or binary body stays one inert
 * line. A longer body ends with "...[N more bytes]". Returns a malloc'd string.
 */
#define UNCONFIRMED_BODY_MAX 2048

static char *escaped_body(const char *body, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	size_t n = len < UNCONFIRMED_BODY_MAX ? len : UNCONFIRMED_BODY_MAX;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)body[i];

		if (c == '\\')
			strbuf_addstr(&sb, "\\\\");
		else if (c >= 0x20 && c < 0x7f)
			strbuf_addch(&sb, c);
		else
			strbuf_addf(&sb, "\\x%02x", c);
	}
	if (len > n)
		strbuf_addf(&sb, "...[%zu more bytes]", len - n);
	return strbuf_detach(&sb, NULL);
}

/* The pause of the whole run after a client-wide 429 that gave no hint: doubling, capped. */
static int64_t unhinted_pause_ms(const struct dispatcher *d)
{
	const struct retry_policy *p = &d->cfg->retry;
	int64_t pause = p->base_ms;

	for (int64_t i = 1; i < d->consecutive_429 && pause < p->cap_ms; i++)
		pause *= 2;
	return min64(pause, p->cap_ms);
}

/*
 * A 429 from a per-IP limit (see finch_api_is_client_wide_limit()): every
 * request would get the same answer, so the whole run pauses for the hint,
 * or, if the hint is beyond --max-retry-after, stops (MODE_STOPPED). Other
 * 429s concern one row: its own next attempt honours the hint, and the
 * rate reacts to their share (ratelimit_tick()). Returns 1 if the run stops.
 */
static int record_client_wide_429(struct dispatcher *d, struct transfer *t,
				  const struct finch_outcome *o, int64_t hint_ms)
{
	int64_t now_mono = clock_mono_ms(), pause_ms;
	int was_paused = ratelimit_paused(&d->rl, now_mono);

	d->consecutive_429++;
	pause_ms = hint_ms >= 0 ? hint_ms : unhinted_pause_ms(d);
	if (pause_ms > d->cfg->retry.max_retry_after_ms) {
		if (d->mode == MODE_RUNNING || d->mode == MODE_DRAIN) {
			dispatch_stop_sending(d, MODE_STOPPED);
			d->stop_resume_ms = clock_now_ms() + pause_ms;
			/* a constant: o's strings are freed with it */
			d->stop_code = !strcmp(o->finch_code, "finch_auth_ip_rl")
					   ? "finch_auth_ip_rl"
					   : "finch_api_ip_rl";
		}
		return 1;
	}
	ratelimit_pause(&d->rl, now_mono, pause_ms);
	if (!was_paused)
		d->sum->pauses++;
	if (!was_paused)
		log_event(LOG_INFO, "paused",
			  "a per-IP rate limit was crossed: every request waits for its end",
			  LOG_S("finch_code", o->finch_code), LOG_I("pause_ms", pause_ms),
			  LOG_S("hinted", hint_ms >= 0 ? "yes" : "no"),
			  LOG_D("rate_per_s", d->rl.rate_per_s),
			  LOG_S("customer_id", t->job.req.customer_id), LOG_END);
	return 0;
}

/* A transient failure: another attempt later, or the row fails for good. */
static void record_transient(struct dispatcher *d, struct transfer *t, struct store_outcome *so,
			     const struct finch_outcome *o, int64_t now_ms)
{
	int64_t hint = retry_hint_ms(t->retry_after_ms, t->retry_after, now_ms);
	struct retry_decision dec;
	int carried, unknown;

	if (o->http_status == 429) {
		d->sum->throttled++;
		if (finch_api_is_client_wide_limit(o->finch_code) &&
		    record_client_wide_429(d, t, o, hint) > 0) {
			/* Not the row's fault: kept for the run after the penalty, never failed. */
			d->sum->deferred++;
			so->kind = OUTCOME_RETRY;
			so->next_attempt_ms = retry_due_ms(now_ms, d->stop_resume_ms - now_ms, 0);
			dispatch_keep(d, so);
			return;
		}
	}
	carried = retry_carry_over(t->job.first_transient_ms, now_ms, d->cfg->give_up_after_ms,
				   &so->first_transient_ms, &so->give_up_ms);
	dec = retry_decide(&d->cfg->retry, t->job.attempts + 1, hint, dispatch_random(&d->rng));
	unknown = so->transport_error && !strcmp(so->transport_error, STORE_OUTCOME_UNKNOWN);
	d->sum->timed_out_unknown += unknown;
	if (dec.action != RETRY_GIVE_UP && unknown) {
		/* timed out after it went out (timed_out_after_send()): not in this run */
		d->sum->retries++;
		log_event(dispatch_row_level(d), "row_unknown", so->message,
			  LOG_S("customer_id", t->job.req.customer_id),
			  LOG_I("attempts", t->job.attempts + 1), LOG_END);
		so->kind = OUTCOME_RETRY;
		so->next_attempt_ms = retry_due_ms(now_ms, RETRY_UNKNOWN_SETTLE_MS, so->give_up_ms);
		dispatch_keep(d, so);
		return;
	}
	if (dec.action == RETRY_GIVE_UP) {
		char until[32];

		d->sum->failed++;
		log_event(
		    LOG_WARN, "row_failed",
		    carried ? "row failed after its last attempt; the next sync tries it again"
			    : "row failed after its last attempt",
		    LOG_S("customer_id", t->job.req.customer_id),
		    LOG_I("attempts", t->job.attempts + 1), LOG_I("http_status", o->http_status),
		    LOG_S("finch_code", o->finch_code), LOG_S("reason", so->message),
		    LOG_S("retry_until",
			  carried ? format_iso8601_ms(so->give_up_ms, until, sizeof(until)) : NULL),
		    LOG_END);
		so->kind = OUTCOME_FAILED;
		dispatch_keep(d, so);
		return;
	}
	d->sum->retries++;
	if (dec.action == RETRY_DEFER) {
		d->sum->deferred++;
		log_event(LOG_INFO, "deferred",
			  "the server asked for a wait longer than --max-retry-after; the row is "
			  "left for a later run",
			  LOG_S("customer_id", t->job.req.customer_id),
			  LOG_I("retry_after_ms", dec.delay_ms), LOG_END);
	}
	so->kind = OUTCOME_RETRY;
	/*
	 * Within the run, a wait is as asked, on the due clock (a wall clock
	 * stepped back does not stretch it); a later run's is on the wall
	 * clock, capped (retry_due_ms()).
	 */
	so->next_attempt_ms = dec.action == RETRY_DEFER
				  ? retry_due_ms(now_ms, dec.delay_ms, so->give_up_ms)
				  : dispatch_due_ms(d) + dec.delay_ms;
	dispatch_note_retry_due(d, so->next_attempt_ms, dispatch_due_ms(d));
	dispatch_keep(d, so);
}

/* Transport errors that no retry can fix: the server's identity cannot be verified. */
static int is_tls_trust_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return 1;
	default:
		return 0;
	}
}

/*
 * What a finished transfer says of the API (breaker.h): nothing listening,
 * no name, a TLS handshake that fails (https to a plain-http server), or a
 * 404/405 without Finch's error body (a wrong base path) say "not there", as
 * does a proxy's refusal of the CONNECT tunnel (CURLINFO_HTTP_CONNECTCODE).
 * A timeout before a byte of the request left (a connect to a host whose
 * firewall drops the packets, a TLS handshake that never ends) is "not
 * there" too: Finch never saw it. One after the request left says nothing.
 * A 5xx, whole or cut, and a 429 whose hint is longer than this run waits
 * (but a per-IP one, which has its own stop) say "there, but failing".
 */
static enum breaker_signal breaker_signal_of(const struct dispatcher *d, struct transfer *t,
					     CURLcode rc, const struct finch_outcome *o)
{
	long proxy_status = 0;

	curl_easy_getinfo(t->easy, CURLINFO_HTTP_CONNECTCODE, &proxy_status);
	/* A proxy that refuses the tunnel (407, 403, 5xx to CONNECT): nothing gets through. */
	if (rc != CURLE_OK && proxy_status >= 300)
		return BREAKER_DOWN;
	if (o->http_status >= 500)
		return BREAKER_FAILING;
	if (o->http_status == 429 && !finch_api_is_client_wide_limit(o->finch_code) &&
	    retry_hint_ms(t->retry_after_ms, t->retry_after, clock_now_ms()) >
		d->cfg->retry.max_retry_after_ms)
		return BREAKER_FAILING;
	switch (rc) {
	case CURLE_OK:
		if ((o->http_status == 404 || o->http_status == 405) && !o->finch_code)
			return BREAKER_NOT_API;
		return BREAKER_ANSWERED;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SSL_CONNECT_ERROR:
		return BREAKER_DOWN;
	case CURLE_OPERATION_TIMEDOUT:
		return transfer_sent_nothing(t) ? BREAKER_DOWN : BREAKER_OTHER;
	default:
		return BREAKER_OTHER;
	}
}

/*
 * Feeds the breaker. Returns 1 when the row must go back to pending with
 * its budget untouched (the caller records that), else 0.
 */
static int breaker_keeps_row(struct dispatcher *d, struct transfer *t, CURLcode rc,
			     const struct finch_outcome *o)
{
	enum breaker_signal sig = breaker_signal_of(d, t, rc, o);
	enum breaker_state was = d->brk.state;
	enum breaker_verdict v = breaker_record(&d->brk, sig, clock_mono_ms());

	if (sig == BREAKER_DOWN || sig == BREAKER_NOT_API || sig == BREAKER_FAILING) {
		strbuf_reset(&d->down_reason);
		strbuf_addf(&d->down_reason, "POST %s: ",
			    t->job.kind == REQUEST_REAUTH ? d->url_reauth : d->url_sessions);
		if (o->http_status > 0)
			strbuf_addf(&d->down_reason, "HTTP %ld, ", o->http_status);
		strbuf_addstr(&d->down_reason, o->message ? o->message : "no answer");
	}
	if (d->brk.state == BREAKER_OPEN && was == BREAKER_CLOSED)
		log_event(LOG_WARN, "outage",
			  d->brk.failing
			      ? "the API answers nothing but server errors: pausing every "
				"request and probing (rows keep their attempt budget)"
			      : "the API stopped answering: pausing every request and "
				"probing (rows keep their attempt budget)",
			  LOG_S("reason", d->down_reason.buf),
			  LOG_I("give_up_after_ms", d->brk.give_up_ms), LOG_END);
	else if (d->brk.state == BREAKER_CLOSED && was != BREAKER_CLOSED && was != BREAKER_GAVE_UP)
		log_event(LOG_INFO, "outage_over", "the API answers again: resuming", LOG_END);
	if (d->brk.state == BREAKER_GAVE_UP && d->mode == MODE_RUNNING)
		dispatch_stop_sending(d, MODE_UNREACHABLE);
	return v == BREAKER_KEEP;
}

/*
 * Whether t's request went out (libcurl began sending it) and no status
 * line came back within --timeout: the server may still be at work on it,
 * and its answer would come to nobody (RETRY_UNKNOWN_SETTLE_MS). A connect
 * that timed out sent nothing; a reset says nothing of the kind.
 */
static int timed_out_after_send(const struct transfer *t, CURLcode rc, long status)
{
	return rc == CURLE_OPERATION_TIMEDOUT && status == 0 && !transfer_sent_nothing(t);
}

/* What went wrong with a transfer that did not end well, as one line. */
static void transfer_failure(struct transfer *t, CURLcode rc, struct strbuf *what)
{
	if (t->resend_refused) {
		strbuf_addstr(what, "the reused connection closed before any answer; libcurl's "
				    "silent resend on a fresh connection refused (the request may "
				    "have reached the server)");
		return;
	}
	strbuf_addstr(what, curl_easy_strerror(rc));
	if (t->errbuf[0])
		strbuf_addf(what, ": %s", t->errbuf);
}

/* Holds the answer (or the failure) of a finished transfer for the next group commit. */
static void record_outcome(struct dispatcher *d, struct transfer *t, CURLcode rc)
{
	struct finch_outcome o;
	struct store_outcome so;
	struct strbuf what = STRBUF_INIT;
	int64_t now_ms = clock_now_ms();
	long status = 0;

	memset(&o, 0, sizeof(o));
	transfer_scrub_answer(t);
	if (is_tls_trust_error(rc)) {
		/* Every row would fail the same way: a setup problem, not a row's. */
		if (d->mode != MODE_TLS)
			error("cannot trust the server at '%s': %s%s%s; for a private CA use "
			      "--cacert FILE",
			      d->cfg->base_url, curl_easy_strerror(rc), t->errbuf[0] ? ": " : "",
			      t->errbuf);
		if (d->mode != MODE_ABORT)
			dispatch_stop_sending(d, MODE_TLS);
		dispatch_fill_outcome(d, t, OUTCOME_UNSENT, &so);
		so.transport_error = xstrdup(curl_easy_strerror(rc));
		so.message = xstrdup(t->errbuf[0] ? t->errbuf : so.transport_error);
		d->sum->unsent++;
		dispatch_keep(d, &so);
		return;
	}
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc == CURLE_OK) {
		finch_api_classify(status, t->resp.buf, t->resp.len, t->should_retry, &o);
	} else {
		transfer_failure(t, rc, &what);
		if (status > 0) /* a status line came: the answer may be whole */
			finch_api_broken_answer(status, t->resp.buf, t->resp.len, what.buf, &o);
		else
			finch_api_transport_error(what.buf, &o);
	}
	transfer_scrub_outcome(t, &o);
	transfer_check_link(&d->link, &o);
	if (rc == CURLE_OK)
		ratelimit_answered(&d->rl, clock_mono_ms(), t->started_mono, o.http_status == 429);
	dispatch_fill_outcome(d, t, OUTCOME_UNSENT, &so);
	so.http_status = o.http_status;
	so.transport_error = rc == CURLE_OK ? NULL : xstrdup(what.buf);
	so.finch_code = dup_or_null(o.finch_code);
	so.message = dup_or_null(o.message);
	if (timed_out_after_send(t, rc, status)) {
		struct strbuf msg = STRBUF_INIT;

		strbuf_addf(
		    &msg,
		    STORE_OUTCOME_UNKNOWN
		    ": no answer within --timeout after the request "
		    "went out (%s); Finch may still create a session, so "
		    "no request for this row goes out before %d minutes (if the API is this "
		    "slow, raise --timeout)",
		    what.buf, (int)(RETRY_UNKNOWN_SETTLE_MS / 60000));
		free(so.transport_error);
		free(so.message);
		so.transport_error = xstrdup(STORE_OUTCOME_UNKNOWN);
		so.message = strbuf_detach(&msg, NULL);
	}
	if (breaker_keeps_row(d, t, rc, &o)) {
		d->sum->unsent++;
		d->queue_empty = 0;
		dispatch_keep(d, &so);
		goto out;
	}
	if (o.http_status != 429 || !finch_api_is_client_wide_limit(o.finch_code))
		d->consecutive_429 = 0;
	switch (o.result) {
	case FINCH_CREATED:
		d->sum->created++;
		so.kind = OUTCOME_CREATED;
		so.session_id = dup_or_null(o.session_id);
		so.connect_url = dup_or_null(o.connect_url);
		so.expires_at_ms = now_ms + sent_minutes(&t->job) * 60000;
		dispatch_keep(d, &so);
		break;
	case FINCH_EXISTS:
		d->sum->exists++;
		so.kind = OUTCOME_EXISTS;
		so.connection_id = dup_or_null(o.connection_id);
		dispatch_keep(d, &so);
		break;
	case FINCH_REJECTED:
		d->sum->failed++;
		log_event(dispatch_row_level(d), "row_failed", "row failed: the API rejected it",
			  LOG_S("customer_id", t->job.req.customer_id),
			  LOG_I("http_status", o.http_status), LOG_S("finch_code", o.finch_code),
			  LOG_S("reason", o.message), LOG_END);
		so.kind = OUTCOME_FAILED;
		dispatch_keep(d, &so);
		break;
	case FINCH_AUTH:
		if (!d->saw_auth) {
			log_event(LOG_ERROR, "auth_failed",
				  "credentials rejected: no new requests; waiting up to --grace "
				  "for the answers in flight",
				  LOG_S("customer_id", t->job.req.customer_id),
				  LOG_S("finch_code", o.finch_code), LOG_S("reason", o.message),
				  LOG_I("in_flight", d->inflight - 1),
				  LOG_I("grace_ms", d->cfg->grace_ms), LOG_END);
			if (d->mode == MODE_RUNNING || d->mode == MODE_DRAIN)
				dispatch_stop_sending(d, MODE_AUTH);
			d->saw_auth = 1;
			if (finch_api_is_sandbox_refusal(o.http_status, o.finch_code, o.message))
				d->sandbox_refused = t->job.req.sandbox
							 ? SANDBOX_REFUSED_SANDBOX
							 : SANDBOX_REFUSED_PRODUCTION;
		}
		d->sum->unsent++;
		so.kind = OUTCOME_UNSENT;
		dispatch_keep(d, &so);
		break;
	case FINCH_UNREADABLE:
		d->sum->failed++;
		log_event(dispatch_row_level(d), "row_unconfirmed",
			  "a 2xx whose body could not be read: the session may exist, so the row "
			  "is never sent again by itself (ask Finch about its request id, then "
			  "finch-onboard retry --unconfirmed to send it)",
			  LOG_S("customer_id", t->job.req.customer_id),
			  LOG_I("http_status", o.http_status), LOG_S("request_id", t->request_id),
			  LOG_S("reason", o.message), LOG_END);
		so.kind = OUTCOME_UNCONFIRMED;
		so.body = escaped_body(t->resp.buf, t->resp.len);
		dispatch_keep(d, &so);
		break;
	case FINCH_TRANSIENT:
		record_transient(d, t, &so, &o, now_ms);
		break;
	}
out:
	store_outcome_release(&so);
	finch_outcome_release(&o);
	strbuf_release(&what);
}

/* Moves finished transfers to the store. */
void dispatch_collect(struct dispatcher *d)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(d->multi, &left))) {
		struct transfer *t = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		if (!t || !t->busy)
			continue;
		record_outcome(d, t, msg->data.result);
		dispatch_transfer_done(d, t);
	}
}
