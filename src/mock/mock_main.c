/*
 * mock_main.c: finch-mock's entry point: options, start, wait for a signal, stop.
 */
#include <getopt.h>
#include <microhttpd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#include "base/secret.h"
#include "base/cli.h"
#include "mock/mock_server.h"
#include "finch/ratelimit.h"
#include "base/util.h"
#include "base/version.h"

static const char usage[] =
    "usage: finch-mock [options]\n"
    "\n"
    "A local Finch: POST /connect/sessions and /connect/sessions/reauthenticate\n"
    "as the contract says, GET /stats, and faults on demand. The first line on\n"
    "stdout is 'listening on http://ADDR:PORT'. SIGINT/SIGTERM stop it cleanly.\n"
    "\n"
    "  --port N               port to listen on; 0 picks a free one (default 0)\n"
    "  --bind ADDR            IPv4 address to listen on (default 127.0.0.1: this\n"
    "                         machine only)\n"
    "  --max-body BYTES       larger request bodies get a 413, unread (default 65536)\n"
    "  --idle-timeout D       close a connection idle this long (default 30s)\n"
    "  --max-per-client N     connections from one address (default 1024)\n"
    "  --max-connections N    connections in all (default 4096)\n"
    "  --client-id ID         accepted client id (default $FINCH_CLIENT_ID, else test-client)\n"
    "                         the secret comes from $FINCH_CLIENT_SECRET (else test-secret)\n"
    "  --connect-base URL     base of connect_url (default the server's own URL)\n"
    "  --existing FILE        customers already connected: 'customer_id[,connection_id]' lines\n"
    "  --existing-every K     customers whose id ends in a multiple of K are connected\n"
    "  --log FILE             one JSON line per request\n"
    "  --threads N            worker threads (default 2)\n"
    "  --seed N               seed of every random fault decision (default 0)\n"
    "  --echo-auth            answer every session request with a 400 that quotes\n"
    "                         its credentials (raw, base64, percent-encoded)\n"
    "  --credentials ENV      the credentials are production ones (a session request\n"
    "                         with sandbox gets a 401 naming the sandbox) or sandbox\n"
    "                         ones (a request without sandbox gets it); default: both\n"
    "\n"
    "the journey after the link (loopback peers only):\n"
    "  POST /_mock/complete {\"session_id\":S}   the employer completes session S: its\n"
    "                         customer is connected (later sessions answer\n"
    "                         connection_already_exists) and account.updated is sent\n"
    "  POST /_mock/status {\"connection_id\":C,\"status\":ST}   account.updated with ST\n"
    "  GET /_mock/deliveries  webhook deliveries queued, answered, and answered wrongly\n"
    "  --webhook-url URL      where account.updated goes, signed with the base64 secret\n"
    "                         in $FINCH_WEBHOOK_SECRET as Finch signs it\n"
    "  --webhook-fault LIST   bad-signature, old-timestamp, duplicate: with each event,\n"
    "                         a forged copy, a replay signed 10 minutes ago, or the\n"
    "                         same delivery twice\n"
    "\n"
    "faults (P is a probability from 0 to 1):\n"
    "  --rate-limit-fault P   429 finch_application_rl (alias --fail-429 P)\n"
    "  --retry-after X        the 429 hint: a duration (default 1s), or a mode:\n"
    "                         seconds, date, ms, none or mix\n"
    "  --retry-after-mode M   seconds, date, ms, none or mix (default seconds)\n"
    "  --error-rate P         a server error (status from --error-status)\n"
    "  --error-status S       500, 502, 503, or mix (default mix)\n"
    "  --fail-500 P, --fail-502 P, --fail-503 P\n"
    "                         that server error, each with its own probability\n"
    "  --html-errors          server errors have an HTML body, not JSON\n"
    "  --latency D            answer after D (e.g. 200ms)\n"
    "  --jitter D             plus or minus up to D\n"
    "  --hang-rate P          answer only after --hang-for (default 120s) (alias --hang P)\n"
    "  --hang-for D\n"
    "  --reset-rate P         close the connection without answering (alias --reset P)\n"
    "  --malformed-rate P     201 with a body that is not JSON (alias --malformed P)\n"
    "  --short-body-rate P    a whole 201 body, then the connection closes short of\n"
    "                         the Content-Length it promised\n"
    "  --cut-body-rate P      a 201 whose connection closes half-way through its body\n"
    "                         (the session was created all the same)\n"
    "  --revoke-after N       401 for every request after the Nth\n"
    "  --fail-first K         503 for each customer's first K attempts\n"
    "  --rate-limit N/WINDOW  server-side limit (e.g. 1000/300s); once crossed,\n"
    "                         429 finch_api_ip_rl for --penalty (default 60m)\n"
    "  --penalty D\n"
    "  -h, --help, --version\n";

enum {
	OPT_PORT = 0x100,
	OPT_BIND,
	OPT_CLIENT_ID,
	OPT_CONNECT_BASE,
	OPT_EXISTING,
	OPT_EXISTING_EVERY,
	OPT_LOG,
	OPT_THREADS,
	OPT_MAX_BODY,
	OPT_IDLE_TIMEOUT,
	OPT_MAX_PER_CLIENT,
	OPT_MAX_CONNECTIONS,
	OPT_SEED,
	OPT_P429,
	OPT_RETRY_AFTER,
	OPT_RETRY_AFTER_MODE,
	OPT_ERROR_RATE,
	OPT_ERROR_STATUS,
	OPT_FAIL_500,
	OPT_FAIL_502,
	OPT_FAIL_503,
	OPT_HTML_ERRORS,
	OPT_LATENCY,
	OPT_JITTER,
	OPT_HANG_RATE,
	OPT_HANG_FOR,
	OPT_RESET_RATE,
	OPT_MALFORMED_RATE,
	OPT_SHORT_BODY_RATE,
	OPT_CUT_BODY_RATE,
	OPT_REVOKE_AFTER,
	OPT_FAIL_FIRST,
	OPT_RATE_LIMIT,
	OPT_PENALTY,
	OPT_VERSION,
	OPT_ECHO_AUTH,
	OPT_CREDENTIALS,
	OPT_WEBHOOK_URL,
	OPT_WEBHOOK_FAULT,
};

static const struct option longopts[] = {
    {"port", required_argument, NULL, OPT_PORT},
    {"bind", required_argument, NULL, OPT_BIND},
    {"client-id", required_argument, NULL, OPT_CLIENT_ID},
    {"connect-base", required_argument, NULL, OPT_CONNECT_BASE},
    {"existing", required_argument, NULL, OPT_EXISTING},
    {"existing-every", required_argument, NULL, OPT_EXISTING_EVERY},
    {"log", required_argument, NULL, OPT_LOG},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"max-body", required_argument, NULL, OPT_MAX_BODY},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"max-per-client", required_argument, NULL, OPT_MAX_PER_CLIENT},
    {"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
    {"seed", required_argument, NULL, OPT_SEED},
    {"rate-limit-fault", required_argument, NULL, OPT_P429},
    {"fail-429", required_argument, NULL, OPT_P429},
    {"fail-500", required_argument, NULL, OPT_FAIL_500},
    {"fail-502", required_argument, NULL, OPT_FAIL_502},
    {"fail-503", required_argument, NULL, OPT_FAIL_503},
    {"hang", required_argument, NULL, OPT_HANG_RATE},
    {"reset", required_argument, NULL, OPT_RESET_RATE},
    {"malformed", required_argument, NULL, OPT_MALFORMED_RATE},
    {"retry-after", required_argument, NULL, OPT_RETRY_AFTER},
    {"retry-after-mode", required_argument, NULL, OPT_RETRY_AFTER_MODE},
    {"error-rate", required_argument, NULL, OPT_ERROR_RATE},
    {"error-status", required_argument, NULL, OPT_ERROR_STATUS},
    {"html-errors", no_argument, NULL, OPT_HTML_ERRORS},
    {"latency", required_argument, NULL, OPT_LATENCY},
    {"jitter", required_argument, NULL, OPT_JITTER},
    {"hang-rate", required_argument, NULL, OPT_HANG_RATE},
    {"hang-for", required_argument, NULL, OPT_HANG_FOR},
    {"reset-rate", required_argument, NULL, OPT_RESET_RATE},
    {"malformed-rate", required_argument, NULL, OPT_MALFORMED_RATE},
    {"short-body-rate", required_argument, NULL, OPT_SHORT_BODY_RATE},
    {"cut-body-rate", required_argument, NULL, OPT_CUT_BODY_RATE},
    {"revoke-after", required_argument, NULL, OPT_REVOKE_AFTER},
    {"fail-first", required_argument, NULL, OPT_FAIL_FIRST},
    {"rate-limit", required_argument, NULL, OPT_RATE_LIMIT},
    {"penalty", required_argument, NULL, OPT_PENALTY},
    {"echo-auth", no_argument, NULL, OPT_ECHO_AUTH},
    {"credentials", required_argument, NULL, OPT_CREDENTIALS},
    {"webhook-url", required_argument, NULL, OPT_WEBHOOK_URL},
    {"webhook-fault", required_argument, NULL, OPT_WEBHOOK_FAULT},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static int parse_probability(const char *opt, const char *arg, double *out)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v >= 0 && v <= 1))
		return error("--%s: '%s' is not a probability from 0 to 1", opt, arg);
	*out = v;
	return 0;
}

static int parse_ms(const char *opt, const char *arg, int64_t *out)
{
	if (parse_duration_ms(arg, out) < 0)
		return error("--%s: '%s' is not a duration (e.g. 250ms, 2s, 5m)", opt, arg);
	return 0;
}

static int parse_count(const char *opt, const char *arg, int64_t min, int64_t *out)
{
	if (parse_int64(arg, min, INT64_MAX / 2, out) < 0)
		return error("--%s: '%s' is not a whole number >= %lld", opt, arg, (long long)min);
	return 0;
}

/* A limit of the server, from min to max. */
static int parse_limit(const char *opt, const char *arg, unsigned min, unsigned max, unsigned *out)
{
	int64_t v;

	if (parse_int64(arg, min, max, &v) < 0)
		return error("--%s: '%s' is not from %u to %u", opt, arg, min, max);
	*out = (unsigned)v;
	return 0;
}

static int parse_mode(const char *arg, enum retry_after_mode *out)
{
	static const char *const names[] = {"seconds", "date", "ms", "none", "mix"};

	int i = name_index(arg, names, (int)ARRAY_SIZE(names));

	if (i < 0)
		return -1;
	*out = (enum retry_after_mode)i;
	return 0;
}

/* The server-side limit "N/WINDOW", e.g. 1000/300s or 1000/5m. */
static int parse_window(const char *arg, struct mock_faults *f)
{
	const char *slash = strchr(arg, '/');
	char count[32];

	if (!slash || (size_t)(slash - arg) >= sizeof(count))
		return error("--rate-limit: '%s' is not N/WINDOW (e.g. 1000/300s)", arg);
	memcpy(count, arg, (size_t)(slash - arg));
	count[slash - arg] = '\0';
	if (parse_int64(count, 1, INT64_MAX / 2, &f->rl_limit) < 0 ||
	    parse_duration_ms(slash + 1, &f->rl_window_ms) < 0 || f->rl_window_ms <= 0)
		return error("--rate-limit: '%s' is not N/WINDOW (e.g. 1000/300s)", arg);
	return 0;
}

/*
 * The options that set one field of struct mock_config to their value: the
 * text itself, a fault's probability (0..1; main() checks their sum), a
 * duration or a count (0 or more).
 */
enum option_value { VALUE_TEXT, VALUE_PROBABILITY, VALUE_DURATION, VALUE_COUNT };
static const struct {
	int opt;
	const char *name; /* the option, without its "--" */
	enum option_value kind;
	size_t offset; /* in struct mock_config: a const char *, a double or an int64_t */
} value_options[] = {
    {OPT_BIND, "bind", VALUE_TEXT, offsetof(struct mock_config, bind)},
    {OPT_CLIENT_ID, "client-id", VALUE_TEXT, offsetof(struct mock_config, client_id)},
    {OPT_CONNECT_BASE, "connect-base", VALUE_TEXT, offsetof(struct mock_config, connect_base)},
    {OPT_EXISTING, "existing", VALUE_TEXT, offsetof(struct mock_config, existing_file)},
    {OPT_LOG, "log", VALUE_TEXT, offsetof(struct mock_config, log_path)},
    {OPT_P429, "rate-limit-fault", VALUE_PROBABILITY, offsetof(struct mock_config, faults.p_429)},
    {OPT_ERROR_RATE, "error-rate", VALUE_PROBABILITY, offsetof(struct mock_config, faults.p_error)},
    {OPT_FAIL_500, "fail-500", VALUE_PROBABILITY, offsetof(struct mock_config, faults.p_500)},
    {OPT_FAIL_502, "fail-502", VALUE_PROBABILITY, offsetof(struct mock_config, faults.p_502)},
    {OPT_FAIL_503, "fail-503", VALUE_PROBABILITY, offsetof(struct mock_config, faults.p_503)},
    {OPT_LATENCY, "latency", VALUE_DURATION, offsetof(struct mock_config, faults.latency_ms)},
    {OPT_JITTER, "jitter", VALUE_DURATION, offsetof(struct mock_config, faults.jitter_ms)},
    {OPT_HANG_RATE, "hang-rate", VALUE_PROBABILITY, offsetof(struct mock_config, faults.p_hang)},
    {OPT_HANG_FOR, "hang-for", VALUE_DURATION, offsetof(struct mock_config, faults.hang_ms)},
    {OPT_RESET_RATE, "reset-rate", VALUE_PROBABILITY, offsetof(struct mock_config, faults.p_reset)},
    {OPT_MALFORMED_RATE, "malformed-rate", VALUE_PROBABILITY,
     offsetof(struct mock_config, faults.p_malformed)},
    {OPT_SHORT_BODY_RATE, "short-body-rate", VALUE_PROBABILITY,
     offsetof(struct mock_config, faults.p_short_body)},
    {OPT_CUT_BODY_RATE, "cut-body-rate", VALUE_PROBABILITY,
     offsetof(struct mock_config, faults.p_cut_body)},
    {OPT_REVOKE_AFTER, "revoke-after", VALUE_COUNT,
     offsetof(struct mock_config, faults.revoke_after)},
    {OPT_FAIL_FIRST, "fail-first", VALUE_COUNT, offsetof(struct mock_config, faults.fail_first)},
    {OPT_PENALTY, "penalty", VALUE_DURATION, offsetof(struct mock_config, faults.rl_penalty_ms)},
};

/* Sets value_options[i]'s field of c from arg. 0, or -1 after an error. */
static int apply_value(struct mock_config *c, size_t i, const char *arg)
{
	char *field = (char *)c + value_options[i].offset;
	const char *name = value_options[i].name;

	switch (value_options[i].kind) {
	case VALUE_TEXT:
		*(const char **)(void *)field = arg;
		return 0;
	case VALUE_PROBABILITY:
		return parse_probability(name, arg, (double *)(void *)field);
	case VALUE_DURATION:
		return parse_ms(name, arg, (int64_t *)(void *)field);
	case VALUE_COUNT:
		return parse_count(name, arg, 0, (int64_t *)(void *)field);
	}
	return error("unhandled option");
}

/* The sum of the fault probabilities of c. */
static double fault_probability_sum(const struct mock_config *c)
{
	double sum = 0;

	for (size_t i = 0; i < ARRAY_SIZE(value_options); i++)
		if (value_options[i].kind == VALUE_PROBABILITY)
			sum += *(const double *)(const void *)((const char *)c +
							       value_options[i].offset);
	return sum;
}

static int apply(struct mock_config *c, int opt, const char *arg)
{
	struct mock_faults *f = &c->faults;
	int64_t v;

	for (size_t i = 0; i < ARRAY_SIZE(value_options); i++)
		if (value_options[i].opt == opt)
			return apply_value(c, i, arg);
	switch (opt) {
	case OPT_PORT:
		if (parse_count("port", arg, 0, &v) < 0 || v > 65535)
			return error("--port: '%s' is not a port number", arg);
		c->port = (int)v;
		return 0;
	case OPT_EXISTING_EVERY:
		return parse_count("existing-every", arg, 1, &c->existing_every);
	case OPT_MAX_BODY:
		if (parse_count("max-body", arg, 1, &c->max_body) < 0)
			return -1;
		return 0;
	case OPT_IDLE_TIMEOUT:
		if (parse_ms("idle-timeout", arg, &v) < 0 || v < 1000)
			return error("--idle-timeout: '%s' is not a duration of 1s or more", arg);
		c->idle_timeout_s = v / 1000;
		return 0;
	case OPT_MAX_PER_CLIENT:
		return parse_limit("max-per-client", arg, 1, 1000000, &c->max_per_client);
	case OPT_MAX_CONNECTIONS:
		return parse_limit("max-connections", arg, 1, 1000000, &c->max_connections);
	case OPT_THREADS:
		return parse_limit("threads", arg, 1, 64, &c->threads);
	case OPT_SEED:
		if (parse_count("seed", arg, 0, &v) < 0)
			return -1;
		f->seed = (uint64_t)v;
		return 0;
	case OPT_RETRY_AFTER:
		/* a duration leaves the mode alone, whichever option came first */
		if (parse_mode(arg, &f->ra_mode) == 0)
			return 0;
		return parse_ms("retry-after", arg, &f->retry_after_ms);
	case OPT_RETRY_AFTER_MODE:
		if (parse_mode(arg, &f->ra_mode) < 0)
			return error(
			    "--retry-after-mode: '%s' is not seconds, date, ms, none or mix", arg);
		return 0;
	case OPT_ERROR_STATUS:
		if (!strcmp(arg, "mix")) {
			f->error_status = 0;
			return 0;
		}
		if (parse_int64(arg, 500, 599, &v) < 0)
			return error("--error-status: '%s' is not 500..599 or mix", arg);
		f->error_status = (int)v;
		return 0;
	case OPT_HTML_ERRORS:
		f->html_errors = 1;
		return 0;
	case OPT_ECHO_AUTH:
		c->echo_auth = 1;
		return 0;
	case OPT_CREDENTIALS:
		if (!strcmp(arg, "production"))
			c->credentials = MOCK_CREDENTIALS_PRODUCTION;
		else if (!strcmp(arg, "sandbox"))
			c->credentials = MOCK_CREDENTIALS_SANDBOX;
		else
			return error("--credentials: '%s' is neither production nor sandbox", arg);
		return 0;
	case OPT_WEBHOOK_URL:
		if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
			return error("--webhook-url '%s': must start with http:// or https://",
				     arg);
		c->journey.webhook_url = arg;
		return 0;
	case OPT_WEBHOOK_FAULT:
		return mock_journey_faults_parse(arg, &c->journey.faults);
	case OPT_RATE_LIMIT:
		return parse_window(arg, f);
	}
	return error("unhandled option");
}

int main(int argc, char **argv)
{
	struct mock_config c;
	struct mock_server *s;
	sigset_t set;
	int opt, sig;
	double sum;

	util_set_progname("finch-mock");
	mock_config_init(&c);
	secret_harden(); /* it holds the secret too: never in a core dump */
	{
		/* a connection is a descriptor: let the limits above be the ones that bind */
		struct rlimit nofile;

		if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
			nofile.rlim_cur = nofile.rlim_max;
			setrlimit(RLIMIT_NOFILE, &nofile);
		}
	}
	c.client_id = getenv("FINCH_CLIENT_ID");
	c.client_secret = getenv("FINCH_CLIENT_SECRET");
	while ((opt = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if (opt == OPT_VERSION) {
			char mhd[64];

			snprintf(mhd, sizeof(mhd), "libmicrohttpd/%s", MHD_get_version());
			version_print(stdout, "finch-mock", mhd);
			return 0;
		}
		if (opt == ':' || opt == '?') {
			cli_bad_option(opt, argv);
			return 2;
		}
		if (apply(&c, opt, optarg) < 0)
			return 2;
	}
	if (optind != argc) {
		error("unexpected argument '%s'; see 'finch-mock --help'", argv[optind]);
		return 2;
	}
	sum = fault_probability_sum(&c);
	if (sum > 1.0 + 1e-9) {
		error("the fault probabilities add up to %.3f, more than 1", sum);
		return 2;
	}
	if (getenv(WEBHOOK_SECRET_ENV) && *getenv(WEBHOOK_SECRET_ENV)) {
		char why[WEBHOOK_WHY_MAX];

		if (webhook_key_parse(getenv(WEBHOOK_SECRET_ENV), &c.journey.key, why,
				      sizeof(why)) < 0) {
			error("%s: %s", WEBHOOK_SECRET_ENV, why);
			return 2;
		}
	}
	if (!c.client_id || !*c.client_id)
		c.client_id = "test-client";
	if (!c.client_secret || !*c.client_secret)
		c.client_secret = "test-secret";

	/* signals are taken synchronously by this thread; workers never see them */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (mock_server_start(&c, &s) < 0)
		return 2;
	printf("listening on http://%s:%d\n", c.bind, mock_server_port(s));
	fflush(stdout);
	sigwait(&set, &sig);
	mock_server_stop(s, 5000);
	return 0;
}
