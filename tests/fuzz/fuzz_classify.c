/*
 * fuzz_classify.c: libFuzzer harness for what an HTTP answer means: the
 * status, the response headers (through transfer.c's header callback) and
 * the body go to finch_api_classify(); Retry-After and retry-after-ms go to
 * retry_hint_ms() and retry_decide().
 *
 * Input: two bytes of status (100..599), then header lines up to an empty
 * line ("Name: value\n"; a line "HTTP/..." starts a new set, as after a 100
 * Continue), then the body, passed without a terminating NUL.
 *
 * Invariants (finch_api.h, retry.h): a CREATED outcome has a session_id and
 * a connect_url, EXISTS a connection_id, every other one a message; a hint
 * is -1 or within [0, RETRY_HINT_MAX_MS]; a decision's delay is never
 * negative.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "finch/finch_api.h"
#include "finch/retry.h"
#include "run/transfer.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 2026-11-29T00:00:00Z, so dates before and after "now" both occur */
#define NOW_MS ((int64_t)1795910400000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct retry_policy policy = RETRY_POLICY_INIT;
	struct finch_outcome out;
	struct transfer t;
	const char *p, *end;
	char *body;
	long status;
	int64_t hint, date_ms;
	struct retry_decision d;

	if (size < 2)
		return 0;
	status = 100 + (long)((data[0] << 8 | data[1]) % 500);
	p = (const char *)data + 2;
	end = (const char *)data + size;

	memset(&t, 0, sizeof(t));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);

		if (len == 1 || (len == 2 && p[0] == '\r')) {
			p += len;
			break; /* the empty line: the body follows */
		}
		/* an exact-size copy, as libcurl hands over one line at a time */
		char *line = xmalloc(len);

		memcpy(line, p, len);
		transfer_capture_header(&t, line, len);
		free(line);
		p += len;
	}

	body = xmalloc((size_t)(end - p) + 1);
	memcpy(body, p, (size_t)(end - p));
	memset(&out, 0, sizeof(out));
	finch_api_classify(status, (size_t)(end - p) ? body : NULL, (size_t)(end - p),
			   t.should_retry, &out);
	if (out.result == FINCH_CREATED && (!out.session_id || !out.connect_url))
		die("CREATED without a session_id or connect_url");
	if (out.result == FINCH_EXISTS && !out.connection_id)
		die("EXISTS without a connection_id");
	if (out.result != FINCH_CREATED && !out.message)
		die("outcome %d without a message", (int)out.result);
	if (out.http_status != status)
		die("http_status %ld, want %ld", out.http_status, status);
	finch_outcome_release(&out);
	free(body);

	hint = retry_hint_ms(t.retry_after_ms, t.retry_after, NOW_MS);
	if (hint < -1 || hint > RETRY_HINT_MAX_MS)
		die("hint %lld ms", (long long)hint);
	if (t.retry_after)
		retry_parse_http_date(t.retry_after, &date_ms);
	for (int64_t attempts = 1; attempts <= policy.max_attempts; attempts++) {
		d = retry_decide(&policy, attempts, hint, (double)(data[0]) / 256.0);
		if (d.delay_ms < 0)
			die("negative delay %lld ms", (long long)d.delay_ms);
	}
	transfer_clear_captures(&t);
	return 0;
}
