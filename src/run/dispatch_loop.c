/*
 * dispatch_loop.c: the multi loop of a run (dispatch.h), its setup and the
 * dry run.
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

#include "base/exitcode.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "finch/finch_api.h"
#include "run/dispatch_int.h"
#include "store/store_outcome.h"
#include "store/store_queue.h"
#include "store/store_report.h"

/* Without any deadline, the loop still looks around this often. */
#define MAX_POLL_MS 1000

double dispatch_random(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static void before_log(void *data)
{
	progress_clear(data);
}

/* A fatal error of the store: stop sending, but record the answers in flight. */
static void fail_fatal(struct dispatcher *d)
{
	d->fatal = 1;
	if (d->mode == MODE_RUNNING || d->mode == MODE_DRAIN)
		dispatch_stop_sending(d, MODE_FATAL);
}

/* libcurl's multi handle failed: no answer can be read any more. */
static void fail_abort(struct dispatcher *d)
{
	d->fatal = 1;
	d->mode = MODE_ABORT;
}

void dispatch_transfer_done(struct dispatcher *d, struct transfer *t)
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

static int dispatch_start_transfer(struct dispatcher *d, struct store_job *job)
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
	if (t->job.outcome_unknown) {
		/* No idempotency key: if the lost request created a session, this is a second. */
		d->sum->resent_unknown++;
		log_event(dispatch_row_level(d), "resend_unknown",
			  "sending again a row whose last request's outcome is unknown (cut "
			  "short, lost in a crash, or timed out after it went out): Finch may "
			  "already have a session for it",
			  LOG_S("customer_id", t->job.req.customer_id), LOG_END);
	}
	return 0;
}

/*
 * --limit spent: nothing more is claimed, and the rows left (pending, and
 * retry_wait after an answer of this run) wait for the next run. Logged once.
 */
static int limit_reached(struct dispatcher *d)
{
	if (!d->cfg->limit || d->sum->sent < d->cfg->limit)
		return 0;
	if (!d->limit_logged) {
		d->limit_logged = 1;
		log_event(LOG_INFO, "limit_reached",
			  "--limit reached: the rows left wait for the next run",
			  LOG_I("limit", d->cfg->limit), LOG_I("sent", d->sum->sent), LOG_END);
	}
	return 1;
}

/* Claims as many due rows as free slots and tokens allow, commits, and sends them. */
static int fill(struct dispatcher *d, int64_t now_ms, int64_t now_mono)
{
	size_t free_slots = d->nxfers - d->inflight, want = 0, n = 0;
	int probe, r;

	/* --limit: a canary sends so many requests, retries included, and no more */
	if (d->cfg->limit && (int64_t)free_slots > d->cfg->limit - d->sum->sent)
		free_slots = (size_t)(d->cfg->limit - d->sum->sent);
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
	r = dispatch_group_commit(d, now_ms, want, d->db_busy ? DISPATCH_DB_SHARE_WAIT_MS : 0, &n);
	if (r != 0) {
		/* locked: try again later; unwritable: the mode changed */
		if (probe)
			breaker_probe_unused(&d->brk, now_mono);
		return 0;
	}
	d->queue_empty = n < want;
	if (!n && probe)
		breaker_probe_unused(&d->brk, now_mono);
	if (d->queue_empty && dispatch_refresh_next_due(d, now_ms) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++)
		if (dispatch_start_transfer(d, &d->claimed[i]) < 0)
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
	/* An open breaker, or its probe out, sends nothing: its own wait, not the rate's 0. */
	if (d->mode == MODE_RUNNING && d->inflight < d->nxfers && d->brk.state == BREAKER_CLOSED &&
	    !(d->cfg->limit && d->sum->sent >= d->cfg->limit)) {
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
	if (d->mode != MODE_RUNNING && d->mode != MODE_ABORT)
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
	d->journal =
	    (struct journal)JOURNAL_INIT; /* fd -1: zero is a file an early exit would close */
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
	transfer_link_rule(cfg, &d->link, d->emulator_port);
	{
		char *pw = transfer_proxy_password();

		redact_init(&d->proxy_redact, NULL, pw);
		if (pw)
			explicit_bzero(pw, strlen(pw));
		free(pw);
	}
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
		d->xfers[i].proxy_redact = &d->proxy_redact;
		if (transfer_init(&d->xfers[i], cfg, d->headers) < 0)
			return -1;
	}
	d->due_mono0 = clock_mono_ms();
	d->due_wall0_ms = clock_now_ms();
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
			dispatch_transfer_done(d, t);
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
	redact_release(&d->proxy_redact);
	strbuf_release(&d->down_reason);
	dispatch_drop_unsaved(d);
	free(d->unsaved);
	journal_close(&d->journal);
}

static void loop(struct dispatcher *d)
{
	struct curl_waitfd extra = {signals_fd(), CURL_WAIT_POLLIN, 0};

	for (;;) {
		int64_t now_ms = dispatch_due_ms(d), now_mono = clock_mono_ms();
		int running;
		CURLMcode mc;

		size_t n;

		if (dispatch_stop_due(d, now_mono))
			break;
		adapt_rate(d, now_mono);
		if (fill(d, now_ms, now_mono) < 0) {
			fail_fatal(d);
			continue;
		}
		if (d->nunsaved && !d->db_failed &&
		    now_mono >= (d->db_busy ? d->db_retry_mono : d->commit_due_mono))
			dispatch_group_commit(d, now_ms, 0,
					      d->db_busy ? DISPATCH_DB_SHARE_WAIT_MS : 0, &n);
		if (!d->inflight) {
			if (d->mode != MODE_RUNNING || limit_reached(d))
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
					if (dispatch_refresh_next_due(d, now_ms) < 0) {
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
			fail_abort(d);
			continue;
		}
		if (extra.revents)
			signals_drain();
		mc = curl_multi_perform(d->multi, &running);
		if (mc != CURLM_OK) {
			error("curl_multi_perform: %s", curl_multi_strerror(mc));
			fail_abort(d);
			continue;
		}
		dispatch_collect(d);
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
	if (store_count_by_state(st, &start) < 0)
		goto out;
	sum->to_send = start.by_state[STATE_PENDING] + start.by_state[STATE_RETRY_WAIT];
	if (journal_open(&d.journal, st, d.nxfers * JOURNAL_RESERVE_PER_SLOT) < 0)
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
	dispatch_final_commit(&d);

	update_progress(&d, clock_mono_ms(), 1);
	log_set_before_write(NULL, NULL);
	sum->elapsed_ms = clock_mono_ms() - started_mono;
	sum->outages = d.brk.outages;
	if (store_count_by_state(st, &sum->counts) < 0)
		d.fatal = 1;
	code = dispatch_verdict(&d, sum);
	if (!d.db_failed &&
	    (store_run_finish(st, sum->run_id, clock_now_ms(), sum->exit_reason) < 0 ||
	     store_run_outcome(st, sum->run_id, code, sum->pauses, sum->outages) < 0) &&
	    !d.fatal) {
		sum->exit_reason = "error";
		code = EXIT_USAGE;
	}
	sum->finished = 1;
out:
	if (signals_set)
		signals_restore();
	dispatcher_release(&d);
	curl_global_cleanup();
	return code;
}

void run_end_log(const struct run_summary *sum, int code)
{
	log_event(LOG_INFO, "run_end", "run finished", LOG_S("exit_reason", sum->exit_reason),
		  LOG_I("exit_code", code), LOG_I("elapsed_ms", sum->elapsed_ms),
		  LOG_I("sent", sum->sent), LOG_I("created", sum->created),
		  LOG_I("exists", sum->exists), LOG_I("failed", sum->failed),
		  LOG_I("retries", sum->retries), LOG_I("throttled", sum->throttled),
		  LOG_I("cut_unknown", sum->cut_unknown),
		  LOG_I("timed_out_unknown", sum->timed_out_unknown),
		  LOG_I("resent_unknown", sum->resent_unknown),
		  LOG_I("pending", sum->counts.by_state[STATE_PENDING]),
		  LOG_I("retry_wait", sum->counts.by_state[STATE_RETRY_WAIT]),
		  LOG_I("created_total", sum->counts.by_state[STATE_CREATED]),
		  LOG_I("exists_total", sum->counts.by_state[STATE_EXISTS]),
		  LOG_I("failed_total", sum->counts.by_state[STATE_FAILED]),
		  LOG_I("invalid_total", sum->counts.by_state[STATE_INVALID]), LOG_END);
}

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
	return dr->cfg->limit && dr->count >= dr->cfg->limit; /* --limit: no more */
}

int dispatch_dry_run(struct store *st, const struct run_config *cfg, FILE *f, int64_t *count)
{
	struct dry_run dr = {cfg, f, 0};
	int ret = store_each_due(st, clock_now_ms(), print_request, &dr);

	*count = dr.count;
	return ret;
}
