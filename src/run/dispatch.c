/*
 * dispatch.c: the multi loop of a run; see dispatch.h.
 *
 * Shape (curl's tool_operate.c parallel mode, with the retry queue in the
 * store): a fixed pool of easy handles, one per slot; a loop that records
 * finished transfers, claims due rows for the free slots as far as the rate
 * limit allows, commits, starts them, and polls until the next deadline.
 */
#include "run/dispatch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "finch/breaker.h"
#include "base/exitcode.h"
#include "finch/finch_api.h"
#include "store/journal.h"
#include "base/log.h"
#include "run/progress.h"
#include "finch/ratelimit.h"
#include "finch/retry.h"
#include "base/signals.h"
#include "base/strbuf.h"
#include "run/transfer.h"
#include "base/util.h"

/* Without any deadline, the loop still looks around this often. */
#define MAX_POLL_MS 1000

enum run_mode {
	MODE_RUNNING,	  /* claiming and sending */
	MODE_DRAIN,	  /* first signal: no new requests, wait for answers up to --grace */
	MODE_AUTH,	  /* a 401: no new requests, wait for answers up to --grace */
	MODE_DBFAIL,	  /* the database cannot be written: the same, then the journal */
	MODE_TLS,	  /* the server's certificate cannot be trusted: stop at once */
	MODE_STOPPED,	  /* a per-IP limit asks for a pause beyond --max-retry-after */
	MODE_UNREACHABLE, /* the breaker gave up: the API cannot be reached */
	MODE_ABORT,	  /* second signal, or a fatal error */
};

struct dispatcher {
	struct store *st;
	const struct run_config *cfg;
	struct run_summary *sum;
	CURLM *multi;
	struct curl_slist *headers;
	char *url_sessions;
	char *url_reauth;
	struct transfer *xfers;
	size_t nxfers;
	size_t inflight;
	struct store_job *claimed; /* scratch for store_claim_due(), nxfers long */
	struct ratelimit rl;
	struct redact redact; /* the credentials no answer may echo into a log or the store */
	struct breaker brk;
	struct strbuf down_reason; /* why the last request found nothing there */
	uint64_t rng;
	enum run_mode mode;
	int fatal;
	int saw_auth;		       /* a 401 came: the exit is 3 */
	struct store_outcome *unsaved; /* outcomes not committed yet, in arrival order */
	size_t nunsaved, aunsaved;
	int64_t commit_due_mono; /* when the unsaved outcomes must be committed */
	int db_busy;		 /* the last commit found the database locked by another process */
	int64_t db_busy_since_mono, db_retry_mono, db_backoff_ms;
	int db_failed; /* the database cannot be written: the outcomes go to the journal */
	struct journal journal;
	int queue_empty; /* the last claim found fewer rows than asked */
	int have_next_due;
	int64_t next_due_ms; /* wall: the earliest retry_wait row within the horizon */
	int64_t grace_end_mono;
	int64_t consecutive_429; /* client-wide 429s in a row, for the unhinted pause */
	int64_t stop_resume_ms;	 /* MODE_STOPPED: wall time when the API lets us resume */
	const char *stop_code;	 /* MODE_STOPPED: the finch_code that stopped the run */
	struct progress progress;
	int64_t waiting; /* retry_wait rows, for the progress line: counted, never queried */
};

/* ---- small helpers ------------------------------------------------------ */

double dispatch_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static void before_log(void *data)
{
	progress_clear(data);
}

/* ---- the store side ----------------------------------------------------- */

static char *dup_or_null(const char *v)
{
	return v ? xstrdup(v) : NULL;
}

/*
 * Holds o (taking its strings) until the next group commit. A row going to
 * retry_wait is counted here, in memory, for the progress line.
 */
static void keep(struct dispatcher *d, struct store_outcome *o)
{
	if (o->kind == OUTCOME_RETRY)
		d->waiting++;
	if (d->nunsaved == d->aunsaved) {
		d->aunsaved = d->aunsaved ? 2 * d->aunsaved : d->nxfers + 1;
		d->unsaved = xrealloc(d->unsaved, d->aunsaved * sizeof(*d->unsaved));
	}
	d->unsaved[d->nunsaved++] = *o;
	memset(o, 0, sizeof(*o));
	if (d->nunsaved == 1)
		d->commit_due_mono = clock_mono_ms() + DISPATCH_COMMIT_MS;
}

static void drop_unsaved(struct dispatcher *d)
{
	for (size_t i = 0; i < d->nunsaved; i++)
		store_outcome_release(&d->unsaved[i]);
	d->nunsaved = 0;
}

/* The database stays unwritable: no new requests, answers in flight wait for --grace. */
static void db_failed(struct dispatcher *d, const char *why)
{
	if (d->db_failed)
		return;
	d->db_failed = 1;
	log_event(LOG_ERROR, "db_failed",
		  "the database cannot be written: no new requests; the answers held and those "
		  "still in flight go to the answers journal",
		  LOG_S("reason", why), LOG_I("held", d->nunsaved), LOG_I("in_flight", d->inflight),
		  LOG_I("grace_ms", d->cfg->grace_ms), LOG_END);
	if (d->mode == MODE_RUNNING || d->mode == MODE_DRAIN || d->mode == MODE_AUTH) {
		if (d->mode == MODE_RUNNING)
			d->grace_end_mono = clock_mono_ms() + d->cfg->grace_ms;
		d->mode = MODE_DBFAIL;
	}
}

/*
 * Another process holds the write lock: back off (25 ms, doubling to 1 s)
 * while answers are held in memory, up to DISPATCH_DB_WAIT_MS in all.
 * Returns 1 to try again later, -1 once the limit is past.
 */
static int db_locked(struct dispatcher *d, int64_t now_mono)
{
	if (!d->db_busy) {
		d->db_busy = 1;
		d->db_busy_since_mono = now_mono;
		d->db_backoff_ms = 25;
		log_event(LOG_WARN, "db_locked",
			  "the database is locked by another process: no new requests until it is "
			  "released; answers are held in memory meanwhile",
			  LOG_S("db", store_filename(d->st)), LOG_I("held", d->nunsaved),
			  LOG_I("limit_ms", DISPATCH_DB_WAIT_MS), LOG_END);
	} else if (d->db_backoff_ms < 1000) {
		d->db_backoff_ms *= 2;
	}
	if (now_mono - d->db_busy_since_mono >= DISPATCH_DB_WAIT_MS) {
		error("%s: the database stayed locked by another process (an sqlite3 shell or a "
		      "backup inside a transaction) for more than %d s",
		      store_filename(d->st), DISPATCH_DB_WAIT_MS / 1000);
		db_failed(d, "locked by another process");
		return -1;
	}
	d->db_retry_mono = now_mono + d->db_backoff_ms;
	return 1;
}

/*
 * The group commit: records every unsaved outcome and, when want > 0,
 * claims up to want due rows into d->claimed, in one transaction that
 * waits at most wait_ms for a foreign lock. Returns 0 when committed
 * (*nclaimed rows claimed), 1 when the database is locked by someone else
 * (nothing changed: the outcomes are still held), -1 when it cannot be
 * written (reported; d->db_failed set).
 */
static int group_commit(struct dispatcher *d, int64_t now_ms, size_t want, int64_t wait_ms,
			size_t *nclaimed)
{
	size_t n = 0;
	int r;

	*nclaimed = 0;
	if (d->db_failed)
		return -1;
	r = store_try_begin(d->st, wait_ms);
	if (r == 1)
		return db_locked(d, clock_mono_ms());
	if (r < 0)
		goto broken;
	for (size_t i = 0; i < d->nunsaved; i++)
		if (store_record_outcome(d->st, &d->unsaved[i]) < 0)
			goto fail;
	if (want && store_claim_due(d->st, now_ms, want, d->claimed, &n) < 0)
		goto fail;
	/*
	 * Busy at COMMIT (a rollback-journal database with a reader) is redone
	 * from memory later, like a busy BEGIN: nothing held is lost either way.
	 */
	if (store_try_commit(d->st) != 0)
		goto fail;
	if (d->db_busy)
		log_event(LOG_INFO, "db_unlocked", "the database is writable again",
			  LOG_I("waited_ms", clock_mono_ms() - d->db_busy_since_mono),
			  LOG_I("recorded", d->nunsaved), LOG_END);
	drop_unsaved(d);
	d->db_busy = 0;
	*nclaimed = n;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		store_job_release(&d->claimed[i]);
	r = store_last_error_busy(d->st);
	store_rollback(d->st);
	if (r)
		return db_locked(d, clock_mono_ms());
broken:
	db_failed(d, "write error (see the message above)");
	return -1;
}

/*
 * At the end of the run: commits what is held, waiting out a foreign lock
 * up to its limit (nothing else is left to serve); if the database cannot
 * be written, appends it all to the answers journal first.
 */
static void final_commit(struct dispatcher *d)
{
	size_t n;

	if (!d->nunsaved)
		return;
	if (!d->db_failed) {
		int64_t left = DISPATCH_DB_WAIT_MS;

		if (d->db_busy)
			left -= clock_mono_ms() - d->db_busy_since_mono;
		if (group_commit(d, clock_now_ms(), 0, left > 0 ? left : 0, &n) == 0)
			return;
		if (!d->db_failed) {
			error("%s: the database stayed locked by another process (an sqlite3 shell "
			      "or a backup inside a transaction) for more than %d s",
			      store_filename(d->st), DISPATCH_DB_WAIT_MS / 1000);
			db_failed(d, "locked by another process");
		}
	}
	if (journal_append(&d->journal, d->unsaved, d->nunsaved) < 0) {
		error("%zu answers of this run could not be recorded anywhere", d->nunsaved);
	} else {
		error("kept %zu answers in the answers journal '%s': the next finch-onboard run, "
		      "import, retry or sync records them before anything else",
		      d->nunsaved, d->journal.path);
	}
	drop_unsaved(d);
}

static void fail_fatal(struct dispatcher *d)
{
	d->fatal = 1;
	d->mode = MODE_ABORT;
}

/* Re-reads when the next retry_wait row within the horizon is due. */
static int refresh_next_due(struct dispatcher *d, int64_t now_ms)
{
	int r =
	    store_next_retry_at(d->st, now_ms + d->cfg->retry.max_retry_after_ms, &d->next_due_ms);

	if (r < 0)
		return -1;
	d->have_next_due = r;
	return 0;
}

static void note_retry_due(struct dispatcher *d, int64_t when_ms, int64_t now_ms)
{
	if (when_ms > now_ms + d->cfg->retry.max_retry_after_ms)
		return;
	if (!d->have_next_due || when_ms < d->next_due_ms)
		d->next_due_ms = when_ms;
	d->have_next_due = 1;
}

/* ---- transfers ---------------------------------------------------------- */

static int64_t default_minutes(const struct store_job *job)
{
	if (job->req.minutes_to_expire > 0)
		return job->req.minutes_to_expire;
	return job->kind == REQUEST_REAUTH ? REAUTH_MINUTES_DEFAULT : MINUTES_TO_EXPIRE_DEFAULT;
}

static void transfer_done(struct dispatcher *d, struct transfer *t)
{
	curl_multi_remove_handle(d->multi, t->easy);
	free(t->body);
	t->body = NULL;
	store_job_release(&t->job);
	strbuf_reset(&t->resp);
	transfer_clear_captures(t);
	t->busy = 0;
	d->inflight--;
}

static int start_transfer(struct dispatcher *d, struct store_job *job)
{
	struct transfer *t = NULL;
	CURLMcode mc;

	for (size_t i = 0; i < d->nxfers; i++)
		if (!d->xfers[i].busy) {
			t = &d->xfers[i];
			break;
		}
	if (!t)
		die("no free transfer slot for a claimed row");
	t->job = *job;
	if (t->job.was_waiting && d->waiting > 0)
		d->waiting--;
	memset(job, 0, sizeof(*job));
	if (t->job.kind == REQUEST_REAUTH)
		t->body = finch_api_reauth_body(t->job.connection_id ? t->job.connection_id : "",
						&t->job.req);
	else
		t->body = finch_api_session_body(&t->job.req);
	strbuf_reset(&t->resp);
	transfer_clear_captures(t);
	t->errbuf[0] = '\0';
	curl_easy_setopt(t->easy, CURLOPT_URL,
			 t->job.kind == REQUEST_REAUTH ? d->url_reauth : d->url_sessions);
	transfer_set_body(t, t->body);
	t->started_ms = clock_now_ms();
	t->started_mono = clock_mono_ms();
	t->busy = 1;
	d->inflight++;
	mc = curl_multi_add_handle(d->multi, t->easy);
	if (mc != CURLM_OK) {
		error("cannot start a transfer: %s", curl_multi_strerror(mc));
		return -1;
	}
	d->sum->sent++;
	return 0;
}

/* The attempt t made, as an outcome of kind k whose other fields the caller fills. */
static void fill_outcome(struct dispatcher *d, struct transfer *t, enum outcome_kind k,
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
			d->mode = MODE_STOPPED;
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
	int carried;

	if (o->http_status == 429) {
		d->sum->throttled++;
		if (finch_api_is_client_wide_limit(o->finch_code) &&
		    record_client_wide_429(d, t, o, hint) > 0) {
			/* Not the row's fault: kept for the run after the penalty, never failed. */
			d->sum->deferred++;
			so->kind = OUTCOME_RETRY;
			so->next_attempt_ms = d->stop_resume_ms;
			keep(d, so);
			return;
		}
	}
	carried = retry_carry_over(t->job.first_transient_ms, now_ms, d->cfg->give_up_after_ms,
				   &so->first_transient_ms, &so->give_up_ms);
	dec = retry_decide(&d->cfg->retry, t->job.attempts + 1, hint, dispatch_random(&d->rng));
	if (dec.action == RETRY_GIVE_UP) {
		char until[32];

		d->sum->failed++;
		log_event(
		    LOG_WARN, "row_failed",
		    carried ? "row failed after its last attempt; the next sync tries it again"
			    : "row failed after its last attempt",
		    LOG_S("customer_id", t->job.req.customer_id),
		    LOG_I("attempts", t->job.attempts + 1), LOG_I("http_status", o->http_status),
		    LOG_S("finch_code", o->finch_code), LOG_S("reason", o->message),
		    LOG_S("retry_until",
			  carried ? format_iso8601_ms(so->give_up_ms, until, sizeof(until)) : NULL),
		    LOG_END);
		so->kind = OUTCOME_FAILED;
		keep(d, so);
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
	note_retry_due(d, now_ms + dec.delay_ms, now_ms);
	so->kind = OUTCOME_RETRY;
	so->next_attempt_ms = now_ms + dec.delay_ms;
	keep(d, so);
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
 */
static enum breaker_signal breaker_signal_of(CURLcode rc, const struct finch_outcome *o,
					     long proxy_status)
{
	/* A proxy that refuses the tunnel (407, 403, 5xx to CONNECT): nothing gets through. */
	if (rc != CURLE_OK && proxy_status >= 300)
		return BREAKER_DOWN;
	switch (rc) {
	case CURLE_OK:
		if ((o->http_status == 404 || o->http_status == 405) && !o->finch_code)
			return BREAKER_DOWN;
		return BREAKER_ANSWERED;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_SSL_CONNECT_ERROR:
		return BREAKER_DOWN;
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
	long proxy_status = 0;
	enum breaker_signal sig;
	enum breaker_state was = d->brk.state;
	enum breaker_verdict v;

	curl_easy_getinfo(t->easy, CURLINFO_HTTP_CONNECTCODE, &proxy_status);
	sig = breaker_signal_of(rc, o, proxy_status);
	v = breaker_record(&d->brk, sig, clock_mono_ms());

	if (sig == BREAKER_DOWN) {
		strbuf_reset(&d->down_reason);
		strbuf_addf(&d->down_reason, "POST %s: ",
			    t->job.kind == REQUEST_REAUTH ? d->url_reauth : d->url_sessions);
		if (rc == CURLE_OK)
			strbuf_addf(&d->down_reason, "HTTP %ld, ", o->http_status);
		strbuf_addstr(&d->down_reason, o->message ? o->message : "no answer");
	}
	if (d->brk.state == BREAKER_OPEN && was == BREAKER_CLOSED)
		log_event(LOG_WARN, "outage",
			  "the API stopped answering: pausing every request and probing "
			  "(rows keep their attempt budget)",
			  LOG_S("reason", d->down_reason.buf),
			  LOG_I("give_up_after_ms", d->brk.give_up_ms), LOG_END);
	else if (d->brk.state == BREAKER_CLOSED && was != BREAKER_CLOSED && was != BREAKER_GAVE_UP)
		log_event(LOG_INFO, "outage_over", "the API answers again: resuming", LOG_END);
	if (d->brk.state == BREAKER_GAVE_UP && d->mode == MODE_RUNNING)
		d->mode = MODE_UNREACHABLE;
	return v == BREAKER_KEEP;
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
		d->mode = MODE_TLS;
		fill_outcome(d, t, OUTCOME_UNSENT, &so);
		so.transport_error = xstrdup(curl_easy_strerror(rc));
		so.message = xstrdup(t->errbuf[0] ? t->errbuf : so.transport_error);
		d->sum->unsent++;
		keep(d, &so);
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
	if (rc == CURLE_OK)
		ratelimit_answered(&d->rl, clock_mono_ms(), t->started_mono, o.http_status == 429);
	fill_outcome(d, t, OUTCOME_UNSENT, &so);
	so.http_status = o.http_status;
	so.transport_error = rc == CURLE_OK ? NULL : xstrdup(what.buf);
	so.finch_code = dup_or_null(o.finch_code);
	so.message = dup_or_null(o.message);
	if (breaker_keeps_row(d, t, rc, &o)) {
		d->sum->unsent++;
		d->queue_empty = 0;
		keep(d, &so);
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
		so.expires_at_ms = now_ms + default_minutes(&t->job) * 60000;
		keep(d, &so);
		break;
	case FINCH_EXISTS:
		d->sum->exists++;
		so.kind = OUTCOME_EXISTS;
		so.connection_id = dup_or_null(o.connection_id);
		keep(d, &so);
		break;
	case FINCH_REJECTED:
		d->sum->failed++;
		log_event(LOG_WARN, "row_failed", "row failed: the API rejected it",
			  LOG_S("customer_id", t->job.req.customer_id),
			  LOG_I("http_status", o.http_status), LOG_S("finch_code", o.finch_code),
			  LOG_S("reason", o.message), LOG_END);
		so.kind = OUTCOME_FAILED;
		keep(d, &so);
		break;
	case FINCH_AUTH:
		if (!d->saw_auth) {
			log_event(
			    LOG_ERROR, "auth_failed",
			    "credentials rejected (401): no new requests; waiting up to --grace "
			    "for the answers in flight",
			    LOG_S("customer_id", t->job.req.customer_id),
			    LOG_S("finch_code", o.finch_code), LOG_S("reason", o.message),
			    LOG_I("in_flight", d->inflight - 1),
			    LOG_I("grace_ms", d->cfg->grace_ms), LOG_END);
			if (d->mode == MODE_RUNNING)
				d->grace_end_mono = clock_mono_ms() + d->cfg->grace_ms;
			if (d->mode == MODE_RUNNING || d->mode == MODE_DRAIN)
				d->mode = MODE_AUTH;
			d->saw_auth = 1;
		}
		d->sum->unsent++;
		so.kind = OUTCOME_UNSENT;
		keep(d, &so);
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

/* Stops every transfer in flight; their rows go back to pending, the attempts cut short. */
static void abort_in_flight(struct dispatcher *d, const char *why)
{
	for (size_t i = 0; i < d->nxfers; i++) {
		struct transfer *t = &d->xfers[i];
		struct store_outcome so;

		if (!t->busy)
			continue;
		fill_outcome(d, t, OUTCOME_UNSENT, &so);
		so.transport_error = xstrdup("cut short");
		so.message = xstrdup(why);
		keep(d, &so);
		d->sum->unsent++;
		transfer_done(d, t);
	}
}

/* Moves finished transfers to the store. */
static void collect(struct dispatcher *d)
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
		transfer_done(d, t);
	}
}

/* Claims as many due rows as free slots and tokens allow, commits, and sends them. */
static int fill(struct dispatcher *d, int64_t now_ms, int64_t now_mono)
{
	size_t free_slots = d->nxfers - d->inflight, want = 0, n = 0;
	int probe, r;

	if (d->mode != MODE_RUNNING || !free_slots)
		return 0;
	if (d->db_busy && now_mono < d->db_retry_mono)
		return 0;
	if (d->queue_empty && (!d->have_next_due || d->next_due_ms > now_ms))
		return 0;
	/* An open breaker lets one probe out once its delay is over, and nothing else. */
	probe = d->brk.state == BREAKER_OPEN;
	free_slots = (size_t)breaker_allow(&d->brk, (int64_t)free_slots, now_mono);
	probe = probe && d->brk.state == BREAKER_PROBING;
	while (want < free_slots && ratelimit_take(&d->rl, now_mono))
		want++;
	if (!want) {
		if (probe)
			breaker_probe_unused(&d->brk, now_mono);
		return 0;
	}
	/*
	 * One transaction records the outcomes held and claims the rows, and is
	 * committed before any request goes out: a crash never loses a row.
	 * (Claiming ahead of free slots would save commits, but a crash would
	 * then count attempts that never went out.)
	 */
	r = group_commit(d, now_ms, want, 0, &n);
	if (r != 0) {
		/* locked: try again later; unwritable: the mode changed */
		if (probe)
			breaker_probe_unused(&d->brk, now_mono);
		return 0;
	}
	d->queue_empty = n < want;
	if (!n && probe)
		breaker_probe_unused(&d->brk, now_mono);
	if (d->queue_empty && refresh_next_due(d, now_ms) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (start_transfer(d, &d->claimed[i]) < 0)
			goto fail;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		store_job_release(&d->claimed[i]);
	return -1;
}

/* How long the loop may wait for network activity before something is due. */
static long poll_timeout_ms(struct dispatcher *d, int64_t now_ms, int64_t now_mono)
{
	int64_t t = MAX_POLL_MS;

	if (d->nunsaved && !d->db_failed)
		t = min64(t, (d->db_busy ? d->db_retry_mono : d->commit_due_mono) - now_mono);
	if (d->mode == MODE_RUNNING && d->inflight < d->nxfers) {
		if (d->db_busy)
			t = min64(t, d->db_retry_mono - now_mono);
		else if (!d->queue_empty)
			t = min64(t, ratelimit_wait_ms(&d->rl, now_mono));
		else if (d->have_next_due)
			t = min64(t, d->next_due_ms - now_ms > ratelimit_wait_ms(&d->rl, now_mono)
					 ? d->next_due_ms - now_ms
					 : ratelimit_wait_ms(&d->rl, now_mono));
	}
	if (d->mode == MODE_RUNNING && breaker_wait_ms(&d->brk, now_mono) >= 0)
		t = min64(t, breaker_wait_ms(&d->brk, now_mono));
	if (d->mode == MODE_DRAIN || d->mode == MODE_AUTH || d->mode == MODE_DBFAIL)
		t = min64(t, d->grace_end_mono - now_mono);
	if (d->progress.enabled)
		t = min64(t, PROGRESS_REFRESH_MS);
	return t < 0 ? 0 : (long)t;
}

/*
 * Redraws the progress line from counts kept in memory: a query of the
 * store here (a full-table count) cost a quarter to half of the throughput
 * on a million rows.
 */
static void update_progress(struct dispatcher *d, int64_t now_mono, int final)
{
	int64_t done = d->sum->created + d->sum->exists + d->sum->failed;

	if (!d->progress.enabled)
		return;
	if (final)
		progress_finish(&d->progress, done, d->waiting, now_mono);
	else
		progress_update(&d->progress, done, d->waiting, ratelimit_paused(&d->rl, now_mono),
				now_mono);
}

/* Lets the rate follow the share of 429s and recover over time; logs the changes. */
static void adapt_rate(struct dispatcher *d, int64_t now_mono)
{
	switch (ratelimit_tick(&d->rl, now_mono)) {
	case RATELIMIT_DECREASED:
		log_event(LOG_INFO, "slowed",
			  "too many 429s in the last window: sending slower for a while",
			  LOG_D("share_429", d->rl.last_share),
			  LOG_D("rate_per_s", d->rl.rate_per_s),
			  LOG_D("was_per_s", d->rl.w_max_per_s), LOG_END);
		break;
	case RATELIMIT_RECOVERED:
		log_event(LOG_INFO, "rate_recovered", "back at the configured rate",
			  LOG_S("rate", d->cfg->rate), LOG_END);
		break;
	case RATELIMIT_SAME:
		break;
	}
}

/* Reacts to SIGINT/SIGTERM: the first drains, the second stops at once. */
static void check_signals(struct dispatcher *d, int64_t now_mono)
{
	enum signals_level n = signals_level();

	if (n == SIGNALS_NONE)
		return;
	if (n == SIGNALS_STOP_NOW && d->mode != MODE_ABORT && d->mode != MODE_AUTH &&
	    d->mode != MODE_TLS && d->mode != MODE_STOPPED && d->mode != MODE_UNREACHABLE) {
		if (d->mode == MODE_DRAIN)
			log_event(LOG_WARN, "interrupted",
				  "a second signal, over a second after the first: stopping now; "
				  "rows in flight "
				  "go back to pending",
				  LOG_I("in_flight", d->inflight), LOG_END);
		d->mode = MODE_ABORT;
	} else if (d->mode == MODE_RUNNING) {
		log_event(LOG_WARN, "interrupted",
			  "signal received: no new requests; waiting for the answers in flight "
			  "(a second signal, over a second later, stops at once)",
			  LOG_I("in_flight", d->inflight), LOG_I("grace_ms", d->cfg->grace_ms),
			  LOG_END);
		d->mode = MODE_DRAIN;
		d->grace_end_mono = now_mono + d->cfg->grace_ms;
	}
}

/* ---- setup -------------------------------------------------------------- */

int64_t dispatch_fd_plan(int64_t concurrency, int64_t soft, int64_t hard, int64_t *new_soft)
{
	int64_t need = concurrency + DISPATCH_FD_RESERVE;

	*new_soft = soft;
	if (soft >= need)
		return concurrency;
	*new_soft = hard < need ? hard : need;
	if (*new_soft >= need)
		return concurrency;
	return *new_soft - DISPATCH_FD_RESERVE >= 1 ? *new_soft - DISPATCH_FD_RESERVE : 1;
}

/*
 * Each transfer holds a socket: raises the soft RLIMIT_NOFILE to what
 * --concurrency needs (up to the hard limit), or else returns fewer
 * transfers, with a warning, so no socket ever fails with EMFILE.
 */
static int64_t fd_budget(int64_t concurrency)
{
	struct rlimit rl;
	int64_t soft, hard, new_soft, n;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return concurrency;
	soft = rl.rlim_cur == RLIM_INFINITY ? INT64_MAX / 2 : (int64_t)rl.rlim_cur;
	hard = rl.rlim_max == RLIM_INFINITY ? INT64_MAX / 2 : (int64_t)rl.rlim_max;
	n = dispatch_fd_plan(concurrency, soft, hard, &new_soft);
	if (new_soft != soft) {
		rl.rlim_cur = (rlim_t)new_soft;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			new_soft = soft;
			n = dispatch_fd_plan(concurrency, soft, soft, &new_soft);
		}
	}
	if (n < concurrency)
		warning("--concurrency %" PRId64 " needs %" PRId64 " open files but the limit is "
			"%" PRId64 " (ulimit -n): running %" PRId64 " at a time",
			concurrency, concurrency + DISPATCH_FD_RESERVE, new_soft, n);
	return n;
}

static int dispatcher_init(struct dispatcher *d, struct store *st, const struct run_config *cfg,
			   struct run_summary *sum)
{
	memset(d, 0, sizeof(*d));
	d->st = st;
	d->cfg = cfg;
	d->sum = sum;
	strbuf_init(&d->down_reason, 0);
	d->nxfers = (size_t)fd_budget(cfg->concurrency);
	d->headers = transfer_request_headers();
	d->url_sessions = transfer_join_url(cfg->base_url, FINCH_PATH_SESSIONS);
	d->url_reauth = transfer_join_url(cfg->base_url, FINCH_PATH_REAUTH);
	d->xfers = xcalloc(d->nxfers, sizeof(*d->xfers));
	d->claimed = xcalloc(d->nxfers, sizeof(*d->claimed));
	redact_init(&d->redact, cfg->client_id, cfg->client_secret);
	d->multi = curl_multi_init();
	if (!d->multi)
		return error("cannot create a curl multi handle");
	curl_multi_setopt(d->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)d->nxfers);
	curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, (long)d->nxfers);
	curl_multi_setopt(d->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	for (size_t i = 0; i < d->nxfers; i++) {
		d->xfers[i].before_trace = before_log;
		d->xfers[i].trace_data = &d->progress;
		d->xfers[i].redact = &d->redact;
		if (transfer_init(&d->xfers[i], cfg, d->headers) < 0)
			return -1;
	}
	ratelimit_init(&d->rl, cfg->rate_per_s, 1.0, clock_mono_ms());
	breaker_init(&d->brk, cfg->max_outage_ms);
	if (cfg->seed_given)
		d->rng = cfg->seed;
	else if (random_bytes(&d->rng, sizeof(d->rng)) < 0)
		d->rng = (uint64_t)clock_now_ms() ^ ((uint64_t)getpid() << 32);
	return 0;
}

static void dispatcher_release(struct dispatcher *d)
{
	for (size_t i = 0; d->xfers && i < d->nxfers; i++) {
		struct transfer *t = &d->xfers[i];

		if (t->busy)
			transfer_done(d, t);
		transfer_release(t);
	}
	if (d->multi)
		curl_multi_cleanup(d->multi);
	curl_slist_free_all(d->headers);
	free(d->xfers);
	free(d->claimed);
	free(d->url_sessions);
	free(d->url_reauth);
	redact_release(&d->redact);
	strbuf_release(&d->down_reason);
	drop_unsaved(d);
	free(d->unsaved);
	journal_close(&d->journal);
}

/* ---- the run ------------------------------------------------------------ */

int run_exit_code_for_counts(const struct state_counts *c)
{
	if (c->by_state[STATE_FAILED] || c->by_state[STATE_INVALID] ||
	    c->by_state[STATE_RETRY_WAIT] || c->by_state[STATE_PENDING] ||
	    c->by_state[STATE_IN_FLIGHT])
		return EXIT_ROWS;
	return EXIT_OK;
}

const char *run_exit_reason_for_counts(const struct state_counts *c)
{
	if (c->by_state[STATE_FAILED])
		return "rows_failed";
	if (c->by_state[STATE_INVALID])
		return "rows_invalid";
	if (c->by_state[STATE_RETRY_WAIT] || c->by_state[STATE_PENDING] ||
	    c->by_state[STATE_IN_FLIGHT])
		return "rows_waiting";
	return "done";
}

/* The message of an attempt a stop cut short. */
static const char *stop_reason(enum run_mode mode)
{
	switch (mode) {
	case MODE_AUTH:
		return "cut short: the API rejected the credentials";
	case MODE_TLS:
		return "cut short: the server's certificate was not trusted";
	case MODE_STOPPED:
		return "cut short: the API's per-IP rate limit asks for a long pause";
	case MODE_UNREACHABLE:
		return "cut short: the API could not be reached";
	case MODE_DBFAIL:
		return "cut short: the database could not be written";
	default:
		return "cut short: the run was interrupted";
	}
}

static void loop(struct dispatcher *d)
{
	struct curl_waitfd extra = {signals_fd(), CURL_WAIT_POLLIN, 0};

	for (;;) {
		int64_t now_ms = clock_now_ms(), now_mono = clock_mono_ms();
		int running;
		CURLMcode mc;

		size_t n;

		check_signals(d, now_mono);
		if ((d->mode == MODE_DRAIN || d->mode == MODE_AUTH || d->mode == MODE_DBFAIL) &&
		    d->inflight && now_mono >= d->grace_end_mono) {
			log_event(LOG_WARN, "grace_over",
				  "grace period over: rows still in flight go back to pending",
				  LOG_I("in_flight", d->inflight), LOG_END);
			abort_in_flight(d, stop_reason(d->mode));
			break;
		}
		if (d->mode == MODE_ABORT || d->mode == MODE_TLS || d->mode == MODE_STOPPED ||
		    d->mode == MODE_UNREACHABLE) {
			abort_in_flight(d, stop_reason(d->mode));
			break;
		}
		adapt_rate(d, now_mono);
		if (fill(d, now_ms, now_mono) < 0) {
			fail_fatal(d);
			continue;
		}
		if (d->nunsaved && !d->db_failed &&
		    now_mono >= (d->db_busy ? d->db_retry_mono : d->commit_due_mono))
			group_commit(d, now_ms, 0, 0, &n);
		if (!d->inflight) {
			if (d->mode != MODE_RUNNING)
				break;
			/*
			 * Nothing in flight and no token yet: ask the store whether a
			 * row is left, rather than wait a whole --rate interval (a day
			 * at 1/day, holding the lock) to find out at the next claim.
			 * Only once every answer is committed: before that the store
			 * still shows answered rows in flight.
			 */
			if (!d->queue_empty && !d->nunsaved) {
				int due = store_has_due(d->st, now_ms);

				if (due < 0) {
					fail_fatal(d);
					continue;
				}
				if (!due) {
					d->queue_empty = 1;
					if (refresh_next_due(d, now_ms) < 0) {
						fail_fatal(d);
						continue;
					}
				}
			}
			if (d->queue_empty && !d->have_next_due)
				break;
		}
		update_progress(d, now_mono, 0);
		extra.revents = 0;
		mc = curl_multi_poll(d->multi, &extra, 1, (int)poll_timeout_ms(d, now_ms, now_mono),
				     NULL);
		if (mc != CURLM_OK) {
			error("curl_multi_poll: %s", curl_multi_strerror(mc));
			fail_fatal(d);
			continue;
		}
		if (extra.revents)
			signals_drain();
		mc = curl_multi_perform(d->multi, &running);
		if (mc != CURLM_OK) {
			error("curl_multi_perform: %s", curl_multi_strerror(mc));
			fail_fatal(d);
			continue;
		}
		collect(d);
	}
}

int dispatch_run(struct store *st, const struct run_config *cfg, struct run_summary *out)
{
	struct run_summary local;
	struct run_summary *sum = out ? out : &local;
	struct dispatcher d;
	struct state_counts start;
	int64_t started_mono = clock_mono_ms();
	int code = EXIT_USAGE, signals_set = 0;

	memset(sum, 0, sizeof(*sum));
	sum->exit_reason = "error";
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		error("cannot initialise libcurl");
		return EXIT_USAGE;
	}
	if (dispatcher_init(&d, st, cfg, sum) < 0)
		goto out;
	if (store_count_states(st, clock_now_ms(), &start) < 0)
		goto out;
	sum->to_send = start.by_state[STATE_PENDING] + start.by_state[STATE_RETRY_WAIT];
	if (journal_open(&d.journal, store_filename(st), d.nxfers * JOURNAL_RESERVE_PER_SLOT) < 0)
		goto out;
	if (store_run_start(st, clock_now_ms(), &sum->run_id) < 0)
		goto out;
	/* A row that asks for more than --max-retry-after waits for a later run. */
	store_defer_long_hints(st, clock_now_ms(), cfg->retry.max_retry_after_ms);
	log_event(LOG_INFO, "run_start", "run started", LOG_I("run_id", sum->run_id),
		  LOG_I("to_send", sum->to_send), LOG_I("pending", start.by_state[STATE_PENDING]),
		  LOG_I("retry_wait", start.by_state[STATE_RETRY_WAIT]),
		  LOG_I("concurrency", cfg->concurrency), LOG_S("rate", cfg->rate),
		  LOG_S("base_url", cfg->base_url), LOG_END);
	if (signals_install() < 0)
		goto out;
	signals_set = 1;
	progress_init(&d.progress, !cfg->quiet, sum->to_send, clock_mono_ms());
	d.waiting = start.by_state[STATE_RETRY_WAIT];
	log_set_before_write(before_log, &d.progress);

	loop(&d);
	final_commit(&d);

	update_progress(&d, clock_mono_ms(), 1);
	log_set_before_write(NULL, NULL);
	sum->elapsed_ms = clock_mono_ms() - started_mono;
	sum->outages = d.brk.outages;
	if (store_count_states(st, clock_now_ms(), &sum->counts) < 0)
		d.fatal = 1;
	if (d.fatal || d.db_failed) {
		sum->exit_reason = "error";
		code = EXIT_USAGE;
	} else if (d.mode == MODE_TLS) {
		error("the API could not be reached; nothing was marked failed");
		sum->exit_reason = "tls_untrusted";
		code = EXIT_UNREACHABLE;
	} else if (d.mode == MODE_STOPPED) {
		char when[32];

		format_iso8601_ms(d.stop_resume_ms, when, sizeof(when));
		error(
		    "the API's per-IP rate limit was crossed (%s) and asks for a pause of %" PRId64
		    " s, longer than --max-retry-after: stopped early, nothing was marked failed; "
		    "run again after %s",
		    d.stop_code ? d.stop_code : "429",
		    (d.stop_resume_ms - clock_now_ms() + 999) / 1000, when);
		sum->exit_reason = "stopped";
		code = EXIT_STOPPED;
	} else if (d.mode == MODE_UNREACHABLE) {
		if (d.brk.at_start)
			error("the first %d requests found no API: %s; check --base-url or "
			      "FINCH_BASE_URL (the host only, e.g. " FINCH_DEFAULT_BASE_URL ")",
			      BREAKER_THRESHOLD, d.down_reason.buf);
		else
			error("the API stopped answering and had not come back after %.0f s: %s",
			      (double)d.brk.give_up_ms / 1000.0, d.down_reason.buf);
		error("the API could not be reached; nothing was marked failed, the next run "
		      "resumes");
		sum->exit_reason = "unreachable";
		code = EXIT_UNREACHABLE;
	} else if (d.saw_auth) {
		error("the API rejected the credentials (HTTP 401); check FINCH_CLIENT_ID and "
		      "FINCH_CLIENT_SECRET (or --client-secret-file)");
		sum->exit_reason = "auth";
		code = EXIT_AUTH;
	} else if (d.mode != MODE_RUNNING) {
		sum->exit_reason = "interrupted";
		code = EXIT_INTERRUPTED;
	} else {
		code = run_exit_code_for_counts(&sum->counts);
		sum->exit_reason = run_exit_reason_for_counts(&sum->counts);
	}
	if (!d.db_failed &&
	    (store_run_finish(st, sum->run_id, clock_now_ms(), sum->exit_reason) < 0 ||
	     store_run_outcome(st, sum->run_id, code, sum->pauses, sum->outages) < 0) &&
	    !d.fatal) {
		sum->exit_reason = "error";
		code = EXIT_USAGE;
	}
	log_event(LOG_INFO, "run_end", "run finished", LOG_S("exit_reason", sum->exit_reason),
		  LOG_I("exit_code", code), LOG_I("elapsed_ms", sum->elapsed_ms),
		  LOG_I("sent", sum->sent), LOG_I("created", sum->created),
		  LOG_I("exists", sum->exists), LOG_I("failed", sum->failed),
		  LOG_I("retries", sum->retries), LOG_I("throttled", sum->throttled),
		  LOG_I("pending", sum->counts.by_state[STATE_PENDING]),
		  LOG_I("retry_wait", sum->counts.by_state[STATE_RETRY_WAIT]),
		  LOG_I("created_total", sum->counts.by_state[STATE_CREATED]),
		  LOG_I("exists_total", sum->counts.by_state[STATE_EXISTS]),
		  LOG_I("failed_total", sum->counts.by_state[STATE_FAILED]),
		  LOG_I("invalid_total", sum->counts.by_state[STATE_INVALID]), LOG_END);
out:
	if (signals_set)
		signals_restore();
	dispatcher_release(&d);
	curl_global_cleanup();
	return code;
}

/* ---- dry run and summary -------------------------------------------------- */

struct dry_run {
	const struct run_config *cfg;
	FILE *f;
	int64_t count;
};

static int print_request(const struct store_job *job, void *data)
{
	struct dry_run *dr = data;
	char *body;

	if (job->kind == REQUEST_REAUTH)
		body =
		    finch_api_reauth_body(job->connection_id ? job->connection_id : "", &job->req);
	else
		body = finch_api_session_body(&job->req);
	fprintf(dr->f,
		"POST %s%s\n"
		"Authorization: Basic [redacted]\n"
		"Finch-API-Version: " FINCH_API_VERSION "\n"
		"Content-Type: application/json\n"
		"Accept: application/json\n"
		"User-Agent: finch-onboard/" FINCH_ONBOARD_VERSION "\n"
		"\n%s\n\n",
		dr->cfg->base_url,
		job->kind == REQUEST_REAUTH ? FINCH_PATH_REAUTH : FINCH_PATH_SESSIONS, body);
	free(body);
	dr->count++;
	return 0;
}

int dispatch_dry_run(struct store *st, const struct run_config *cfg, FILE *f, int64_t *count)
{
	struct dry_run dr = {cfg, f, 0};
	int ret = store_each_due(st, clock_now_ms(), print_request, &dr);

	*count = dr.count;
	return ret;
}

void run_summary_print(FILE *f, const struct run_summary *s)
{
	const struct state_counts *c = &s->counts;

	fprintf(f,
		"run %s in %.1f s: sent %" PRId64 ", created %" PRId64 ", exists %" PRId64
		", failed %" PRId64 ", retries %" PRId64,
		s->exit_reason, (double)s->elapsed_ms / 1000.0, s->sent, s->created, s->exists,
		s->failed, s->retries);
	if (s->throttled)
		fprintf(f, ", throttled (429) %" PRId64, s->throttled);
	if (s->recovered)
		fprintf(f, ", recovered after a crash %" PRId64, s->recovered);
	if (s->outages)
		fprintf(f, ", outages %" PRId64, s->outages);
	if (s->unsent)
		fprintf(f, ", put back to pending %" PRId64, s->unsent);
	fputc('\n', f);
	fputs("rows:", f);
	for (int i = 0; i < STATE_COUNT; i++)
		fprintf(f, " %s %" PRId64 "%s", state_name((enum row_state)i), c->by_state[i],
			i + 1 < STATE_COUNT ? "," : "");
	fprintf(f, " (total %" PRId64 ")\n", c->total);
}
