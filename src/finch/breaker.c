/*
 * breaker.c: the circuit breaker of a run; see breaker.h.
 */
#include "finch/breaker.h"

void breaker_init(struct breaker *b, int64_t give_up_ms)
{
	*b = (struct breaker){.state = BREAKER_CLOSED, .give_up_ms = give_up_ms};
}

static void open_for(struct breaker *b, int64_t delay_ms, int64_t now_ms)
{
	b->state = BREAKER_OPEN;
	b->probe_delay_ms = delay_ms < BREAKER_PROBE_MAX_MS ? delay_ms : BREAKER_PROBE_MAX_MS;
	b->probe_at_ms = now_ms + b->probe_delay_ms;
}

/* An outage begins: nothing goes out until the first probe. */
static void open_outage(struct breaker *b, int64_t now_ms)
{
	b->opened_ms = now_ms;
	b->outages++;
	open_for(b, BREAKER_PROBE_MIN_MS, now_ms);
}

/* The probe found the API still away: wait twice as long, or give up. */
static void probe_failed(struct breaker *b, int64_t now_ms)
{
	if (now_ms - b->opened_ms >= b->give_up_ms)
		b->state = BREAKER_GAVE_UP;
	else
		open_for(b, b->probe_delay_ms * 2, now_ms);
}

enum breaker_verdict breaker_record(struct breaker *b, enum breaker_signal sig, int64_t now_ms)
{
	if (sig == BREAKER_ANSWERED) {
		b->proven = 1;
		b->consecutive_down = 0;
		b->consecutive_bad = 0;
		if (b->state != BREAKER_GAVE_UP)
			b->state = BREAKER_CLOSED;
		return BREAKER_SPEND;
	}
	if (sig == BREAKER_OTHER) {
		/* A probe that got no answer: the outage goes on, but no row is kept. */
		if (b->state == BREAKER_PROBING)
			open_for(b, b->probe_delay_ms * 2, now_ms);
		return BREAKER_SPEND;
	}
	b->consecutive_bad++;
	if (b->state == BREAKER_OPEN || b->state == BREAKER_GAVE_UP)
		return BREAKER_KEEP; /* sent before it opened, or the run is stopping */
	if (b->state == BREAKER_PROBING) {
		b->failing = sig == BREAKER_FAILING;
		probe_failed(b, now_ms);
		return BREAKER_KEEP;
	}
	if (sig == BREAKER_FAILING) {
		/* The API is there: each server error spends, until a window of nothing else. */
		if (b->consecutive_bad < BREAKER_FAILING_THRESHOLD)
			return BREAKER_SPEND;
		b->failing = 1;
		open_outage(b, now_ms);
		return BREAKER_KEEP;
	}
	b->consecutive_down++;
	if (!b->proven) {
		if (b->consecutive_down >= BREAKER_THRESHOLD) {
			b->state = BREAKER_GAVE_UP;
			b->at_start = 1;
		}
		return BREAKER_KEEP;
	}
	if (b->consecutive_down < BREAKER_THRESHOLD &&
	    b->consecutive_bad < BREAKER_FAILING_THRESHOLD)
		return sig == BREAKER_NOT_API ? BREAKER_SPEND : BREAKER_KEEP;
	b->failing = 0;
	open_outage(b, now_ms);
	return BREAKER_KEEP;
}

int64_t breaker_allow(struct breaker *b, int64_t want, int64_t now_ms)
{
	switch (b->state) {
	case BREAKER_CLOSED:
		return want;
	case BREAKER_OPEN:
		if (want <= 0 || now_ms < b->probe_at_ms)
			return 0;
		b->state = BREAKER_PROBING;
		return 1;
	case BREAKER_PROBING:
	case BREAKER_GAVE_UP:
		return 0;
	}
	return 0;
}

void breaker_probe_unused(struct breaker *b, int64_t now_ms)
{
	if (b->state == BREAKER_PROBING)
		open_for(b, b->probe_delay_ms, now_ms);
}

int64_t breaker_wait_ms(const struct breaker *b, int64_t now_ms)
{
	if (b->state != BREAKER_OPEN)
		return -1;
	return b->probe_at_ms > now_ms ? b->probe_at_ms - now_ms : 0;
}
