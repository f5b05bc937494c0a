/*
 * dispatch_stop.c: how a run stops and ends (dispatch_int.h): the first
 * signal drains, the second stops at once; --grace bounds every drain; the
 * rows cut short keep their budget (pending, or waiting when their request
 * had gone out); the exit code and the summary.
 */
#include <inttypes.h>
#include <string.h>

#include "base/exitcode.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/util.h"
#include "finch/finch_api.h"
#include "run/dispatch_int.h"
#include "store/store_outcome.h"
#include "store/store_report.h"

/*
 * Reacts to SIGINT/SIGTERM/SIGHUP: the first drains, the second stops at
 * once, whatever the run was draining for.
 */
static void check_signals(struct dispatcher *d)
{
	enum signals_level n = signals_level();

	if (n == SIGNALS_NONE)
		return;
	if (n == SIGNALS_STOP_NOW && d->mode != MODE_ABORT && !d->cut_short) {
		if (d->mode != MODE_RUNNING)
			log_event(LOG_WARN, "interrupted",
				  "a second signal, over a second after the first: stopping now; "
				  "the rows in flight keep their budget",
				  LOG_I("in_flight", d->inflight), LOG_END);
		if (d->mode == MODE_RUNNING || d->mode == MODE_DRAIN)
			d->mode = MODE_ABORT;
		else
			d->cut_short = 1; /* the exit keeps the reason of the first stop */
	} else if (d->mode == MODE_RUNNING) {
		log_event(LOG_WARN, "interrupted",
			  "signal received: no new requests; waiting for the answers in flight "
			  "(a second signal, over a second later, stops at once)",
			  LOG_I("in_flight", d->inflight), LOG_I("grace_ms", d->cfg->grace_ms),
			  LOG_END);
		dispatch_stop_sending(d, MODE_DRAIN);
	}
}

void dispatch_stop_sending(struct dispatcher *d, enum run_mode mode)
{
	if (d->mode == MODE_RUNNING)
		d->grace_end_mono = clock_mono_ms() + d->cfg->grace_ms;
	d->mode = mode;
}

/*
 * Stops every transfer in flight; their rows keep their budget. A request
 * that never went out (no connection yet) is "cut short", its row pending;
 * one that did may have created a session whose answer is now lost, as a
 * crash loses one: its attempt is "outcome unknown", and its row says so
 * and waits RETRY_UNKNOWN_SETTLE_MS (store_record_unsent()).
 */
static void abort_in_flight(struct dispatcher *d, const char *why)
{
	int64_t unknown = 0;

	for (size_t i = 0; i < d->nxfers; i++) {
		struct transfer *t = &d->xfers[i];
		struct store_outcome so;

		if (!t->busy)
			continue;
		dispatch_fill_outcome(d, t, OUTCOME_UNSENT, &so);
		if (transfer_sent_nothing(t)) {
			so.transport_error = xstrdup("cut short");
			so.message = xstrdup(why);
		} else {
			struct strbuf msg = STRBUF_INIT;

			strbuf_addf(&msg,
				    STORE_OUTCOME_UNKNOWN ": %s after the request went out; Finch "
							  "may have created a session",
				    why);
			so.transport_error = xstrdup(STORE_OUTCOME_UNKNOWN);
			so.message = strbuf_detach(&msg, NULL);
			unknown++;
		}
		dispatch_keep(d, &so);
		d->sum->unsent++;
		dispatch_transfer_done(d, t);
	}
	if (unknown) {
		d->sum->cut_unknown += unknown;
		log_event(
		    LOG_WARN, "cut_unknown",
		    "requests in flight cut short with their outcome unknown: Finch may still "
		    "create their sessions, so their rows wait 6 minutes before a later run "
		    "sends them again (status counts them)",
		    LOG_I("rows", unknown), LOG_END);
	}
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
	case MODE_FATAL:
		return "cut short: a fatal error";
	default:
		return "cut short: the run was interrupted";
	}
}

int dispatch_stop_due(struct dispatcher *d, int64_t now_mono)
{
	check_signals(d);
	if (d->mode == MODE_ABORT || d->cut_short) {
		abort_in_flight(d, stop_reason(d->mode));
		return 1;
	}
	if (d->mode != MODE_RUNNING && d->inflight && now_mono >= d->grace_end_mono) {
		log_event(LOG_WARN, "grace_over",
			  "grace period over: the rows still in flight keep their budget",
			  LOG_I("in_flight", d->inflight), LOG_END);
		abort_in_flight(d, stop_reason(d->mode));
		return 1;
	}
	return 0;
}

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

int dispatch_verdict(struct dispatcher *d, struct run_summary *sum)
{
	int code;

	if (d->fatal || d->db_failed) {
		sum->exit_reason = "error";
		code = EXIT_USAGE;
	} else if (d->mode == MODE_TLS) {
		error("the API could not be reached; nothing was marked failed");
		sum->exit_reason = "tls_untrusted";
		code = EXIT_UNREACHABLE;
	} else if (d->mode == MODE_STOPPED) {
		char when[32];

		format_iso8601_ms(d->stop_resume_ms, when, sizeof(when));
		error(
		    "the API's per-IP rate limit was crossed (%s) and asks for a pause of %" PRId64
		    " s, longer than --max-retry-after: stopped early, nothing was marked failed; "
		    "run again after %s",
		    d->stop_code ? d->stop_code : "429",
		    (d->stop_resume_ms - clock_now_ms() + 999) / 1000, when);
		sum->exit_reason = "stopped";
		code = EXIT_STOPPED;
	} else if (d->mode == MODE_UNREACHABLE) {
		if (d->brk.at_start)
			error("the first %d requests found no API: %s; check --base-url or "
			      "FINCH_BASE_URL (the host only, e.g. " FINCH_DEFAULT_BASE_URL ")",
			      BREAKER_THRESHOLD, d->down_reason.buf);
		else if (d->brk.failing)
			error("the API answered nothing but server errors and had not recovered "
			      "after %.0f s (--max-outage): %s",
			      (double)d->brk.give_up_ms / 1000.0, d->down_reason.buf);
		else
			error("the API stopped answering and had not come back after %.0f s: %s",
			      (double)d->brk.give_up_ms / 1000.0, d->down_reason.buf);
		error("the API could not be reached; nothing was marked failed, the next run "
		      "resumes");
		sum->exit_reason = d->brk.failing ? "server_errors" : "unreachable";
		code = EXIT_UNREACHABLE;
	} else if (d->saw_auth) {
		if (d->sandbox_refused == SANDBOX_REFUSED_SANDBOX)
			error("the API refused a sandbox session to these credentials: production "
			      "credentials cannot create sandbox connections (Finch's sandboxes "
			      "take the sandbox application's credentials); set FINCH_CLIENT_ID "
			      "and FINCH_CLIENT_SECRET (or --client-secret-file) to the sandbox "
			      "application's, from the Finch Dashboard, or leave the sandbox "
			      "column empty for production");
		else if (d->sandbox_refused == SANDBOX_REFUSED_PRODUCTION)
			error(
			    "the API refused a production session to these credentials: sandbox "
			    "credentials create sandbox connections only; set FINCH_CLIENT_ID and "
			    "FINCH_CLIENT_SECRET (or --client-secret-file) to the production "
			    "application's, or set sandbox (finch or provider) for a rehearsal");
		else
			error("the API rejected the credentials (HTTP 401); check FINCH_CLIENT_ID "
			      "and FINCH_CLIENT_SECRET (or --client-secret-file)");
		sum->exit_reason = "auth";
		code = EXIT_AUTH;
	} else if (d->mode != MODE_RUNNING) {
		sum->exit_reason = "interrupted";
		code = EXIT_INTERRUPTED;
	} else {
		code = run_exit_code_for_counts(&sum->counts);
		sum->exit_reason = run_exit_reason_for_counts(&sum->counts);
	}
	return code;
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
		fprintf(f, ", put back unsent or unanswered %" PRId64, s->unsent);
	if (s->cut_unknown)
		fprintf(f, " (outcome unknown %" PRId64 ")", s->cut_unknown);
	if (s->timed_out_unknown)
		fprintf(f,
			", timed out after they went out (outcome unknown, left for a later run) "
			"%" PRId64,
			s->timed_out_unknown);
	if (s->resent_unknown)
		fprintf(f, ", sent again after an unknown outcome %" PRId64, s->resent_unknown);
	fputc('\n', f);
	fputs("rows:", f);
	for (int i = 0; i < STATE_COUNT; i++)
		fprintf(f, " %s %" PRId64 "%s", state_name((enum row_state)i), c->by_state[i],
			i + 1 < STATE_COUNT ? "," : "");
	fprintf(f, " (total %" PRId64 ")\n", c->total);
}
