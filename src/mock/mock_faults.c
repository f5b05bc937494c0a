/*
 * mock_faults.c: see mock_faults.h.
 */
#include "mock/mock_faults.h"

#include <string.h>

static const char *const fault_names[FAULT_COUNT] = {
    "none", "revoked", "rate_limit", "fail_first", "reset",    "hang",
    "429",  "error",   "malformed",  "short_body", "cut_body",
};

const char *mock_fault_name(enum fault f)
{
	return (unsigned)f < FAULT_COUNT ? fault_names[f] : "unknown";
}

void mock_faults_init(struct mock_faults *f)
{
	memset(f, 0, sizeof(*f));
	f->ra_mode = RA_SECONDS;
	f->retry_after_ms = 1000;
	f->hang_ms = 120000;
	f->rl_penalty_ms = 3600000;
}

/* splitmix64's finaliser: a good 64-bit mixer. */
static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double mock_faults_draw(uint64_t seed, const char *customer_id, int64_t attempt, uint64_t salt)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a over the id */

	for (const unsigned char *p = (const unsigned char *)customer_id; p && *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	h = mix(h ^ mix(seed + 0x9e3779b97f4a7c15ULL));
	h = mix(h ^ (uint64_t)attempt * 0x9e3779b97f4a7c15ULL);
	h = mix(h ^ salt);
	return (double)(h >> 11) * 0x1.0p-53;
}

struct fault_decision mock_faults_decide(const struct mock_faults *f, int64_t request_no,
					 const char *customer_id, int64_t attempt, int rate_limited)
{
	struct fault_decision d = {FAULT_NONE, 201, RA_NONE, 0};
	double u = mock_faults_draw(f->seed, customer_id, attempt, 1), edge = 0;

	d.delay_ms = f->latency_ms;
	if (f->jitter_ms > 0)
		d.delay_ms += (int64_t)(mock_faults_draw(f->seed, customer_id, attempt, 2) *
					(double)(2 * f->jitter_ms + 1)) -
			      f->jitter_ms;
	if (d.delay_ms < 0)
		d.delay_ms = 0;

	if (f->revoke_after && request_no > f->revoke_after) {
		d.fault = FAULT_REVOKED;
		d.status = 401;
		return d;
	}
	if (rate_limited) {
		d.fault = FAULT_RATE_LIMIT;
		d.status = 429;
		d.ra = RA_SECONDS;
		return d;
	}
	if (attempt <= f->fail_first) {
		d.fault = FAULT_FAIL_FIRST;
		d.status = 503;
		return d;
	}
	if (u < (edge += f->p_reset)) {
		d.fault = FAULT_RESET;
		d.status = 0;
	} else if (u < (edge += f->p_hang)) {
		d.fault = FAULT_HANG;
		d.delay_ms = f->hang_ms;
	} else if (u < (edge += f->p_429)) {
		d.fault = FAULT_429;
		d.status = 429;
		d.ra = f->ra_mode;
		if (d.ra == RA_MIX)
			d.ra = (enum retry_after_mode)(
			    mock_faults_draw(f->seed, customer_id, attempt, 3) * 4);
	} else if (u < (edge += f->p_error)) {
		static const int mixed[] = {500, 502, 503};

		d.fault = FAULT_ERROR;
		d.status =
		    f->error_status
			? f->error_status
			: mixed[(int)(mock_faults_draw(f->seed, customer_id, attempt, 4) * 3)];
	} else if (u < (edge += f->p_500)) {
		d.fault = FAULT_ERROR;
		d.status = 500;
	} else if (u < (edge += f->p_502)) {
		d.fault = FAULT_ERROR;
		d.status = 502;
	} else if (u < (edge += f->p_503)) {
		d.fault = FAULT_ERROR;
		d.status = 503;
	} else if (u < (edge += f->p_malformed)) {
		d.fault = FAULT_MALFORMED;
	} else if (u < (edge += f->p_short_body)) {
		d.fault = FAULT_SHORT_BODY;
	} else if (u < (edge += f->p_cut_body)) {
		d.fault = FAULT_CUT_BODY;
	}
	return d;
}

int mock_window_hit(struct mock_window *w, const struct mock_faults *f, int64_t now_ms)
{
	if (!f->rl_limit)
		return 0;
	if (now_ms < w->penalty_until_ms)
		return 1;
	/* a served penalty clears the slate, else the next request would re-earn it */
	if (w->penalty_until_ms || now_ms - w->start_ms >= f->rl_window_ms) {
		w->penalty_until_ms = 0;
		w->start_ms = now_ms;
		w->count = 0;
	}
	if (++w->count > f->rl_limit) {
		if (f->rl_penalty_ms > 0) /* else a plain window: over until it ends */
			w->penalty_until_ms = now_ms + f->rl_penalty_ms;
		return 1;
	}
	return 0;
}
