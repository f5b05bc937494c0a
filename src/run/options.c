/*
 * options.c: the options shared by `run` and `sync`; see options.h.
 */
#include "run/options.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "finch/breaker.h"
#include "base/cli.h"
#include "finch/finch_api.h"
#include "finch/ratelimit.h"
#include "base/redact.h"
#include "base/secret.h"
#include "base/strbuf.h"
#include "base/util.h"

/* The name of the secret among systemd's credentials (LoadCredential=). */
#define SECRET_CREDENTIAL "client_secret"
/* The line of finch-onboard-sync@.service that loads it (packaging/systemd/). */
#define SECRET_LOAD_CREDENTIAL                                                                     \
	"'LoadCredential=" SECRET_CREDENTIAL ":/etc/finch-onboard/%%i.secret'"

/* Refused with a pointer to the safe ways; listed so getopt does not guess a prefix. */
#define RUN_OPT_SECRET_ON_ARGV (RUN_OPT_LAST + 1)

const struct option run_long_options[] = {
    {"base-url", required_argument, NULL, RUN_OPT_BASE_URL},
    {"client-id", required_argument, NULL, RUN_OPT_CLIENT_ID},
    {"concurrency", required_argument, NULL, RUN_OPT_CONCURRENCY},
    {"rate", required_argument, NULL, RUN_OPT_RATE},
    {"max-attempts", required_argument, NULL, RUN_OPT_MAX_ATTEMPTS},
    {"timeout", required_argument, NULL, RUN_OPT_TIMEOUT},
    {"connect-timeout", required_argument, NULL, RUN_OPT_CONNECT_TIMEOUT},
    {"grace", required_argument, NULL, RUN_OPT_GRACE},
    {"max-retry-after", required_argument, NULL, RUN_OPT_MAX_RETRY_AFTER},
    {"cacert", required_argument, NULL, RUN_OPT_CACERT},
    {"client-secret-file", required_argument, NULL, RUN_OPT_SECRET_FILE},
    {"client-secret", optional_argument, NULL, RUN_OPT_SECRET_ON_ARGV},
    {"dry-run", no_argument, NULL, RUN_OPT_DRY_RUN},
    {"quiet", no_argument, NULL, RUN_OPT_QUIET},
    {"verbose", no_argument, NULL, RUN_OPT_VERBOSE},
    {"log-format", required_argument, NULL, RUN_OPT_LOG_FORMAT},
    {"seed", required_argument, NULL, RUN_OPT_SEED},
    {"max-outage", required_argument, NULL, RUN_OPT_MAX_OUTAGE},
    {"give-up-after", required_argument, NULL, RUN_OPT_GIVE_UP_AFTER},
    {"metrics-file", required_argument, NULL, RUN_OPT_METRICS_FILE},
    {"connect-host", required_argument, NULL, RUN_OPT_CONNECT_HOST},
    {"allow-keylog", no_argument, NULL, RUN_OPT_ALLOW_KEYLOG},
    {"metrics-job", required_argument, NULL, RUN_OPT_METRICS_JOB},
    {"resend-changed", no_argument, NULL, RUN_OPT_RESEND_CHANGED},
    {"limit", required_argument, NULL, RUN_OPT_LIMIT},
    {0, 0, 0, 0},
};

const char run_options_help[] =
    "  --base-url URL        the API (default $FINCH_BASE_URL, else " FINCH_DEFAULT_BASE_URL ");\n"
    "                        http:// only to 127.0.0.1, [::1] or localhost,\n"
    "                        never through a proxy; https uses $https_proxy,\n"
    "                        $ALL_PROXY and $NO_PROXY as curl does\n"
    "  --client-id ID        the application's client id (default $FINCH_CLIENT_ID;\n"
    "                        not a secret, so a config file may hold it)\n"
    "  --concurrency N       requests in flight at most, 1..1024 (default 16)\n"
    "  --rate R              requests per time: 3/s, 150/min, 1000/5m, or 0 for no\n"
    "                        limit (default " RATELIMIT_DEFAULT
    ", under Finch's 1000 per 5 minutes per IP)\n"
    "  --max-attempts N      attempts per row before it fails (default 5)\n"
    "  --timeout SECONDS     per attempt (default 60); also 500ms, 2m\n"
    "  --connect-timeout SECONDS\n"
    "                        to establish a connection (default 10)\n"
    "  --grace SECONDS       after SIGINT/SIGTERM, wait this long for answers in\n"
    "                        flight (default 10); a second signal stops at once\n"
    "  --max-retry-after DURATION\n"
    "                        a server's Retry-After longer than this leaves the row\n"
    "                        for a later run (default 10m)\n"
    "  --cacert FILE         trust the CA certificates in FILE (TLS is always verified)\n"
    "  --client-secret-file FILE\n"
    "                        read the client secret from FILE instead of\n"
    "                        $FINCH_CLIENT_SECRET (never from the command line);\n"
    "                        FILE must be yours (or root's), writable by no one\n"
    "                        else\n"
    "  --dry-run             print the requests that would be sent, secrets\n"
    "                        redacted, and send nothing\n"
    "  --quiet               no progress line, no line per invalid row, unknown\n"
    "                        column or row the API rejected (debug events under\n"
    "                        --log-format json); sync still prints its summary counts\n"
    "  --verbose             print each request's and response's headers\n"
    "                        (Authorization redacted)\n"
    "  --log-format FORMAT   text (default) or json: one JSON object per line on stderr\n"
    "  --seed N              seed the retry jitter, for reproducible tests\n"
    "  --max-outage DURATION when the API stops answering mid-run, pause and probe\n"
    "                        for this long before giving up with exit 6 (default 5m)\n"
    "  --give-up-after DURATION\n"
    "                        a row whose attempts ran out on transient errors is\n"
    "                        re-queued by the next sync until this long after its\n"
    "                        first transient failure (default 7d)\n"
    "  --metrics-file FILE   at the end, write Prometheus metrics to FILE\n"
    "                        (atomically; for node_exporter's textfile collector;\n"
    "                        never by --dry-run)\n"
    "  --connect-host HOST   the host of the connect links Finch answers with\n"
    "                        (default " FINCH_CONNECT_HOST_DEFAULT
    "); a link elsewhere fails its row\n"
    "  --allow-keylog        let $SSLKEYLOGFILE record the TLS keys (debugging only;\n"
    "                        without this option it is refused)\n"
    "  --resend-changed      created or exists rows whose CSV fields changed get a\n"
    "                        new link (otherwise they keep theirs, marked changed)\n"
    "  --metrics-job NAME    the onboard_job label of every series (default: the\n"
    "                        database's file name without its extension)\n"
    "  --limit N             send at most N requests, retries included (a canary:\n"
    "                        --limit 10 against the real API first); the rest wait\n"
    "                        for the next run\n";

void run_config_init(struct run_config *c)
{
	char why[128];

	memset(c, 0, sizeof(*c));
	c->concurrency = RUN_CONCURRENCY_DEFAULT;
	c->rate = xstrdup(RATELIMIT_DEFAULT);
	if (ratelimit_parse(RATELIMIT_DEFAULT, &c->rate_per_s, why, sizeof(why)) < 0)
		c->rate_per_s = 3.0;
	c->retry = (struct retry_policy)RETRY_POLICY_INIT;
	c->timeout_ms = RUN_TIMEOUT_MS_DEFAULT;
	c->connect_timeout_ms = RUN_CONNECT_TIMEOUT_MS_DEFAULT;
	c->grace_ms = RUN_GRACE_MS_DEFAULT;
	c->max_outage_ms = BREAKER_GIVE_UP_DEFAULT_MS;
	c->give_up_after_ms = RUN_GIVE_UP_AFTER_MS_DEFAULT;
	c->log_format = LOG_FORMAT_TEXT;
	c->need_credentials = 1;
}

void run_config_release(struct run_config *c)
{
	free(c->base_url);
	free(c->client_id);
	secret_free(c->client_secret);
	free(c->secret_file);
	free(c->connect_host);
	free(c->cacert);
	free(c->rate);
	free(c->metrics_file);
	free(c->metrics_job);
	memset(c, 0, sizeof(*c));
}

/* Sets *dst to a copy of v; 1: the option was taken. */
static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
	return 1;
}

#define DAY_MS (24 * 3600 * 1000LL)

/*
 * A duration in SECONDS (--timeout 60): a bare number is seconds, as its
 * help says. More than zero (or zero when allowed) and no more than a day.
 */
static int apply_duration(const char *name, const char *arg, int allow_zero, int64_t *out)
{
	int64_t ms;

	if (parse_duration_ms(arg, &ms) < 0 || ms < 0 || (!allow_zero && ms == 0) ||
	    ms > 24 * 3600 * 1000LL)
		return error("option '--%s' expects a duration such as 10, 1.5, 500ms or 2m, "
			     "not '%s'",
			     name, arg);
	*out = ms;
	return 1;
}

int duration_option(const char *name, const char *arg, int allow_zero, int64_t max_ms,
		    const char *examples, int64_t *out)
{
	int64_t ms;
	int r = parse_duration_unit_ms(arg, &ms);

	if (r == -2)
		return error("option '--%s': %s what? say %s", name, arg, examples);
	if (r < 0 || (!allow_zero && ms == 0) || ms > max_ms)
		return error("option '--%s' expects a duration such as %s%s, not '%s'", name,
			     examples, allow_zero ? " (or 0)" : "", arg);
	*out = ms;
	return 1;
}

int run_option_apply(struct run_config *c, int opt, const char *arg)
{
	int64_t v;
	char why[128];

	switch (opt) {
	case RUN_OPT_BASE_URL:
		return set_str(&c->base_url, arg);
	case RUN_OPT_CLIENT_ID:
		if (!*arg)
			return error("option '--client-id' expects the application's client id, "
				     "not an empty value");
		return set_str(&c->client_id, arg);
	case RUN_OPT_CONCURRENCY:
		if (parse_int64(arg, 1, RUN_CONCURRENCY_MAX, &v) < 0)
			return error(
			    "option '--concurrency' expects a number from 1 to %d, not '%s'",
			    RUN_CONCURRENCY_MAX, arg);
		c->concurrency = v;
		return 1;
	case RUN_OPT_RATE:
		if (ratelimit_parse(arg, &c->rate_per_s, why, sizeof(why)) < 0)
			return error("option '--rate': %s", why);
		return set_str(&c->rate, arg);
	case RUN_OPT_MAX_ATTEMPTS:
		if (parse_int64(arg, 1, 100, &v) < 0)
			return error(
			    "option '--max-attempts' expects a number from 1 to 100, not '%s'",
			    arg);
		c->retry.max_attempts = v;
		return 1;
	case RUN_OPT_TIMEOUT:
		return apply_duration("timeout", arg, 0, &c->timeout_ms);
	case RUN_OPT_CONNECT_TIMEOUT:
		return apply_duration("connect-timeout", arg, 0, &c->connect_timeout_ms);
	case RUN_OPT_GRACE:
		return apply_duration("grace", arg, 1, &c->grace_ms);
	case RUN_OPT_MAX_RETRY_AFTER:
		return duration_option("max-retry-after", arg, 1, DAY_MS, "10m, 90s or 2h",
				       &c->retry.max_retry_after_ms);
	case RUN_OPT_MAX_OUTAGE:
		return duration_option("max-outage", arg, 1, DAY_MS, "5m, 90s or 1h",
				       &c->max_outage_ms);
	case RUN_OPT_GIVE_UP_AFTER:
		return duration_option("give-up-after", arg, 1, 366 * DAY_MS, "7d, 36h or 90m",
				       &c->give_up_after_ms);
	case RUN_OPT_METRICS_FILE:
		if (!*arg)
			return error("option '--metrics-file': empty file name");
		return set_str(&c->metrics_file, arg);
	case RUN_OPT_RESEND_CHANGED:
		return cli_set_flag(&c->resend_changed);
	case RUN_OPT_LIMIT:
		if (parse_int64(arg, 1, INT64_MAX, &v) < 0)
			return error(
			    "option '--limit' expects a number of requests, 1 or more, not "
			    "'%s'",
			    arg);
		c->limit = v;
		return 1;
	case RUN_OPT_METRICS_JOB:
		if (!*arg || strlen(arg) > 200)
			return error("option '--metrics-job' expects a name of 1 to 200 bytes");
		return set_str(&c->metrics_job, arg);
	case RUN_OPT_CACERT:
		return set_str(&c->cacert, arg);
	case RUN_OPT_CONNECT_HOST:
		if (!*arg || strpbrk(arg, "/:@?#[] \t"))
			return error("option '--connect-host' expects a host name such as "
				     "connect.tryfinch.com, not '%s'",
				     arg);
		return set_str(&c->connect_host, arg);
	case RUN_OPT_ALLOW_KEYLOG:
		return cli_set_flag(&c->allow_keylog);
	case RUN_OPT_SECRET_FILE:
		return set_str(&c->secret_file, arg);
	case RUN_OPT_SECRET_ON_ARGV:
		return error("the client secret is never taken on the command line (other users "
			     "can read it there); set FINCH_CLIENT_SECRET or use "
			     "--client-secret-file FILE");
	case RUN_OPT_DRY_RUN:
		return cli_set_flag(&c->dry_run);
	case RUN_OPT_QUIET:
		return cli_set_flag(&c->quiet);
	case RUN_OPT_VERBOSE:
		return cli_set_flag(&c->verbose);
	case RUN_OPT_LOG_FORMAT:
		return cli_log_format_parse(arg, &c->log_format) < 0 ? -1 : 1;
	case RUN_OPT_SEED:
		if (parse_int64(arg, 0, INT64_MAX, &v) < 0)
			return error("option '--seed' expects a non-negative number, not '%s'",
				     arg);
		c->seed = (uint64_t)v;
		c->seed_given = 1;
		return 1;
	default:
		return 0;
	}
}

struct option *run_options_merge(const struct option *own)
{
	return cli_options_merge(own, run_long_options, NULL);
}

/*
 * Finds the host of an absolute URL: *host points into url, *len is its
 * length (brackets of an IPv6 literal included). -1 if there is no host.
 */
static int url_host(const char *url, const char **host, size_t *len)
{
	const char *p = strstr(url, "://"), *end, *at;

	if (!p)
		return -1;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		if (!close)
			return -1;
		end = close + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));

		if (colon)
			end = colon;
	}
	if (end == p)
		return -1;
	*host = p;
	*len = (size_t)(end - p);
	return 0;
}

int url_is_loopback(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL;
	size_t len;
	int ret = 0;

	if (!u)
		die("out of memory parsing a URL");
	/* libcurl's own parser: the host checked is the host libcurl connects to. */
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	len = strlen(host);
	/*
	 * Only names that never reach a resolver: "localhost" itself, which
	 * transfer.c pins to 127.0.0.1 and ::1 (RFC 6761 section 6.3), and
	 * literal addresses. "localhost." is an absolute DNS name that a
	 * resolver is free to answer for: refused.
	 */
	if (!strcasecmp(host, "localhost")) {
		ret = 1;
	} else if (len > 2 && host[0] == '[' && host[len - 1] == ']') {
		struct in6_addr a6;

		host[len - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a6) == 1)
			ret = IN6_IS_ADDR_LOOPBACK(&a6) ||
			      (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
	} else {
		struct in_addr a4;

		if (inet_pton(AF_INET, host, &a4) == 1)
			ret = (ntohl(a4.s_addr) >> 24) == 127;
	}
out:
	curl_free(host);
	curl_url_cleanup(u);
	return ret;
}

static int check_base_url(struct run_config *c)
{
	const char *url = c->base_url, *host, *auth = strstr(c->base_url, "://");
	size_t len, shown = strcspn(url, "?#");

	/*
	 * Userinfo and a query are where a pasted secret would sit: refused
	 * first, and never echoed (the messages below show a URL without them).
	 */
	if (c->client_secret) {
		struct redact r;
		char *copy = xstrdup(url);
		size_t found;

		redact_init(&r, c->client_id, c->client_secret);
		/* a secret too short to tell from text would match any URL (redact.h) */
		found = redact_secret_is_short(&r) ? 0 : redact_string(&r, &copy);
		redact_release(&r);
		free(copy);
		if (found)
			return error(
			    "option '--base-url' (or FINCH_BASE_URL) holds the client "
			    "secret; the secret only ever travels in FINCH_CLIENT_SECRET or "
			    "--client-secret-file");
	}
	auth = auth ? auth + 3 : url;
	if (memchr(auth, '@', strcspn(auth, "/?#")))
		return error("option '--base-url' must not carry credentials; set "
			     "FINCH_CLIENT_ID and FINCH_CLIENT_SECRET");
	if (url[shown])
		return error("option '--base-url': '%.*s' must not have a query or fragment",
			     (int)shown, url);
	if (!strncasecmp(url, "https://", 8)) {
		/* nothing to add: TLS is verified */
	} else if (!strncasecmp(url, "http://", 7)) {
		if (!url_is_loopback(url))
			return error("option '--base-url': '%s' is plain http to a host that is "
				     "not loopback; use https:// (http:// is only for a literal "
				     "loopback address such as 127.0.0.1 or [::1], or localhost)",
				     url);
	} else {
		return error("option '--base-url': '%s' is not an http:// or https:// URL", url);
	}
	if (url_host(url, &host, &len) < 0)
		return error("option '--base-url': '%s' has no host", url);
	len = strlen(url);
	while (len && url[len - 1] == '/')
		c->base_url[--len] = '\0';
	return 0;
}

/*
 * Reads a secret file into a malloc'd string, a trailing newline trimmed.
 * what names the source in messages ("option '--client-secret-file'").
 * from_manager: systemd wrote the file into a folder only the service can
 * enter, and grants it read access with an ACL, which stat shows as group
 * bits: no warning about who can read it.
 */
static int read_secret_file(const char *what, const char *path, int from_manager, char **out)
{
	struct strbuf sb = STRBUF_INIT;
	struct stat stt;
	char buf[1024];
	ssize_t n;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("%s: cannot open '%s'", what, path);
	if (fstat(fd, &stt) < 0) {
		error_errno("%s: cannot stat '%s'", what, path);
		goto out;
	}
	if (!S_ISREG(stt.st_mode)) {
		error("%s: '%s' is not a regular file", what, path);
		goto out;
	}
	/*
	 * As ssh does for its keys (OpenSSH misc.c safe_path()): a file another
	 * user owns or can write could hold a secret of their choosing, and
	 * every session would then go to their account. Root may own it.
	 */
	if (file_check_trusted(&stt, what, path) < 0)
		goto out;
	if ((stt.st_mode & (S_IRGRP | S_IROTH)) && !from_manager)
		warning("'%s' holds the client secret but others can read it (mode %04o); "
			"run 'chmod 600 %s'",
			path, (unsigned)(stt.st_mode & 07777), path);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			error_errno("%s: cannot read '%s'", what, path);
			goto out;
		}
		strbuf_add(&sb, buf, (size_t)n);
		if (sb.len > 64 * 1024) {
			error("%s: '%s' is too large for a secret", what, path);
			goto out;
		}
	}
	if (sb.len && sb.buf[sb.len - 1] == '\n')
		sb.buf[--sb.len] = '\0';
	if (sb.len && sb.buf[sb.len - 1] == '\r')
		sb.buf[--sb.len] = '\0';
	if (!sb.len) {
		error("%s: '%s' is empty", what, path);
		goto out;
	}
	if (memchr(sb.buf, '\n', sb.len) || memchr(sb.buf, '\0', sb.len)) {
		error("%s: '%s' must hold the secret on one line", what, path);
		goto out;
	}
	/* What a careless copy puts in: each would be sent as part of the secret (a 401). */
	if (sb.len >= 3 && !memcmp(sb.buf, "\xef\xbb\xbf", 3)) {
		error("%s: '%s' starts with a UTF-8 byte order mark; "
		      "save it without one",
		      what, path);
		goto out;
	}
	if (strstr(sb.buf, "FINCH_CLIENT_SECRET=") == sb.buf ||
	    strstr(sb.buf, "export FINCH_CLIENT_SECRET=") == sb.buf) {
		error("%s: '%s' is an environment file "
		      "(FINCH_CLIENT_SECRET=...); it must hold only the secret",
		      what, path);
		goto out;
	}
	*out = secret_dup(sb.buf, sb.len);
	ret = 0;
out:
	memset(buf, 0, sizeof(buf));
	if (sb.alloc)
		memset(sb.buf, 0, sb.alloc);
	strbuf_release(&sb);
	close(fd);
	return ret;
}

/*
 * The secret systemd hands the service (LoadCredential=client_secret:FILE):
 * $CREDENTIALS_DIRECTORY/client_secret, under the secret file's rules. *out
 * stays NULL when there is no such folder. A folder set means systemd
 * started the job: a credential missing from it (when need) or unreadable is
 * an error naming that file and the unit's line that should load it, not
 * the environment variables a service never uses.
 */
static int read_credential(int need, char **out)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	struct strbuf path = STRBUF_INIT;
	int ret = 0;

	if (!dir || !*dir)
		return 0;
	strbuf_addf(&path, "%s/" SECRET_CREDENTIAL, dir);
	if (access(path.buf, F_OK) < 0) {
		if (need)
			ret = error("credential '" SECRET_CREDENTIAL "': '%s' is not there "
				    "($CREDENTIALS_DIRECTORY is set: the service manager started "
				    "this job); check the unit's line " SECRET_LOAD_CREDENTIAL
				    " ('systemctl cat UNIT') and that the file it names exists",
				    path.buf);
	} else if (access(path.buf, R_OK) < 0) {
		ret =
		    error_errno("credential '" SECRET_CREDENTIAL "': cannot read '%s'; check "
				"the unit's line " SECRET_LOAD_CREDENTIAL " ('systemctl cat UNIT')",
				path.buf);
	} else {
		ret = read_secret_file("credential '" SECRET_CREDENTIAL "'", path.buf, 1, out);
	}
	strbuf_release(&path);
	return ret;
}

int run_config_finish(struct run_config *c)
{
	const char *env;
	int need = c->need_credentials && !c->dry_run;

	log_setup(c->log_format, c->log_format == LOG_FORMAT_JSON ? LOG_DEBUG
				 : c->quiet			  ? LOG_WARN
								  : LOG_INFO);
	/* before any secret is read: no core dump will ever hold it (secret.h) */
	secret_harden();
	env = getenv("SSLKEYLOGFILE");
	if (env && *env && !c->allow_keylog)
		return error("SSLKEYLOGFILE is set ('%s'): every TLS session key would be "
			     "written there; unset it, or give --allow-keylog for a debugging "
			     "session",
			     env);
	if (!c->connect_host)
		c->connect_host = xstrdup(FINCH_CONNECT_HOST_DEFAULT);

	/* --client-id (the command line, or a config file) over FINCH_CLIENT_ID */
	env = getenv("FINCH_CLIENT_ID");
	if (!c->client_id && env && *env) {
		set_str(&c->client_id, env);
	} else if (!c->client_id && need) {
		return error("FINCH_CLIENT_ID is not set; export FINCH_CLIENT_ID (or give "
			     "--client-id, or client_id in the config file) and "
			     "FINCH_CLIENT_SECRET (or use --client-secret-file)");
	}
	secret_free(c->client_secret);
	c->client_secret = NULL;
	if (c->secret_file) {
		if (read_secret_file("option '--client-secret-file'", c->secret_file, 0,
				     &c->client_secret) < 0)
			return -1;
	} else if ((env = getenv("FINCH_CLIENT_SECRET")) && *env) {
		c->client_secret = secret_dup(env, strlen(env));
	} else if (read_credential(need, &c->client_secret) < 0) {
		return -1;
	} else if (!c->client_secret && need) {
		return error("FINCH_CLIENT_SECRET is not set (or is empty); export it, "
			     "use --client-secret-file FILE, or give the service the "
			     "credential '" SECRET_CREDENTIAL "'");
	}
	/* After the credentials: a base URL that holds the secret is refused unechoed. */
	if (!c->base_url) {
		env = getenv("FINCH_BASE_URL");
		c->base_url = xstrdup(env && *env ? env : FINCH_DEFAULT_BASE_URL);
	}
	if (check_base_url(c) < 0)
		return -1;
	if (c->cacert && access(c->cacert, R_OK) < 0)
		return error_errno("option '--cacert': cannot read '%s'", c->cacert);
	return 0;
}
