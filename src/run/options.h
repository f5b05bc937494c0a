/*
 * options.h: the options a run takes, shared by `run` and `sync`.
 *
 * They are a reusable fragment for getopt_long(): a command that accepts
 * run options merges run_long_options[] with its own table and hands every
 * option getopt_long() returns to run_option_apply() first:
 *
 *	static const struct option own[] = {
 *		{"db", required_argument, NULL, 'd'},
 *		{"out", required_argument, NULL, 'o'},
 *		{0, 0, 0, 0},
 *	};
 *	struct option *longopts = run_options_merge(own);
 *	struct run_config cfg;
 *
 *	run_config_init(&cfg);
 *	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
 *		int r = run_option_apply(&cfg, c, optarg);
 *
 *		if (r < 0)
 *			goto usage_error;	(already reported)
 *		if (r > 0)
 *			continue;		(a run option, now in cfg)
 *		switch (c) { case 'd': ... }	(the command's own)
 *	}
 *	free(longopts);
 *	if (run_config_finish(&cfg) < 0)	(environment, credentials, URL)
 *		...
 *	...
 *	run_config_release(&cfg);
 *
 * Run options have values from RUN_OPT_FIRST up, so a command's own options
 * may use any character or any value below it. run_options_help is the text
 * of their --help section.
 */
#ifndef FINCH_OPTIONS_H
#define FINCH_OPTIONS_H

#include <getopt.h>
#include <stdint.h>

#include "base/log.h"
#include "finch/retry.h"

#define RUN_CONCURRENCY_DEFAULT	       16
#define RUN_CONCURRENCY_MAX	       1024
#define RUN_TIMEOUT_MS_DEFAULT	       60000
#define RUN_CONNECT_TIMEOUT_MS_DEFAULT 10000
#define RUN_GRACE_MS_DEFAULT	       10000
#define RUN_GIVE_UP_AFTER_MS_DEFAULT   (7 * 24 * 3600 * 1000LL)

/* Every setting of a run. Strings are malloc'd and owned by the struct. */
struct run_config {
	char *base_url;		   /* no trailing slash; checked by run_config_finish() */
	char *client_id;	   /* NULL until run_config_finish() */
	char *client_secret;	   /* never printed, logged or stored; secret_dup()'d (secret.h) */
	char *secret_file;	   /* --client-secret-file, or NULL */
	char *cacert;		   /* --cacert: a CA bundle file, or NULL for the system's */
	int64_t concurrency;	   /* transfers in flight at most */
	char *rate;		   /* --rate as given, for messages ("3/s") */
	double rate_per_s;	   /* 0: unlimited */
	struct retry_policy retry; /* max_attempts, max_retry_after_ms, backoff */
	int64_t timeout_ms;	   /* per attempt */
	int64_t connect_timeout_ms;
	int64_t grace_ms;	  /* after the first signal, wait this long for answers */
	int64_t max_outage_ms;	  /* the API unreachable mid-run this long: stop (exit 6) */
	int64_t give_up_after_ms; /* transient failures are carried over this long */
	char *metrics_file;	  /* --metrics-file, or NULL */
	char *connect_host;	  /* a connect_url's expected https host (finch_api_link_check()) */
	int allow_keylog;	  /* --allow-keylog: $SSLKEYLOGFILE tolerated */
	char *metrics_job;	  /* --metrics-job, or NULL: the database's name */
	uint64_t seed;		  /* of the jitter PRNG */
	int seed_given;		  /* 0: seed from getrandom() */
	int dry_run;
	int resend_changed; /* --resend-changed: rows marked changed get a new link */
	int64_t limit;	    /* --limit: requests this run sends at most (a canary); 0: no limit */
	int quiet;	    /* no progress line, no summary, only warnings in text logs */
	int verbose;	    /* curl's request and response headers, redacted */
	enum log_format log_format;
	int need_credentials; /* run_config_finish() refuses missing ones (not for dry runs) */
};

enum {
	RUN_OPT_FIRST = 0x1000,
	RUN_OPT_BASE_URL = RUN_OPT_FIRST,
	RUN_OPT_CONCURRENCY,
	RUN_OPT_RATE,
	RUN_OPT_MAX_ATTEMPTS,
	RUN_OPT_TIMEOUT,
	RUN_OPT_CONNECT_TIMEOUT,
	RUN_OPT_GRACE,
	RUN_OPT_MAX_RETRY_AFTER,
	RUN_OPT_CACERT,
	RUN_OPT_SECRET_FILE,
	RUN_OPT_DRY_RUN,
	RUN_OPT_QUIET,
	RUN_OPT_VERBOSE,
	RUN_OPT_LOG_FORMAT,
	RUN_OPT_SEED,
	RUN_OPT_MAX_OUTAGE,
	RUN_OPT_GIVE_UP_AFTER,
	RUN_OPT_METRICS_FILE,
	RUN_OPT_CONNECT_HOST,
	RUN_OPT_ALLOW_KEYLOG,
	RUN_OPT_CLIENT_ID,
	RUN_OPT_METRICS_JOB,
	RUN_OPT_RESEND_CHANGED,
	RUN_OPT_LIMIT,
	RUN_OPT_LAST
};

/* The run options for getopt_long(), terminated by an all-zero entry. */
extern const struct option run_long_options[];
/* The --help lines describing them, each indented by two spaces. */
extern const char run_options_help[];

/* Defaults: 16 transfers, RATELIMIT_DEFAULT, 5 attempts, 60 s timeout... */
void run_config_init(struct run_config *c);
void run_config_release(struct run_config *c);

/*
 * Applies option opt (a value getopt_long() returned) with argument arg.
 * Returns 1 if opt is a run option and its value is good, 0 if opt is not a
 * run option (the caller handles it), -1 after reporting a bad value with
 * the option's name.
 */
int run_option_apply(struct run_config *c, int opt, const char *arg);

/*
 * Returns a malloc'd option table holding own's entries then the run
 * options, terminated by an all-zero entry. own ends with an all-zero entry
 * too. The caller frees it.
 */
struct option *run_options_merge(const struct option *own);

/*
 * Completes c after parsing: FINCH_BASE_URL when --base-url was not given,
 * the URL check (https, or http to a loopback host only), and credentials
 * from FINCH_CLIENT_ID and FINCH_CLIENT_SECRET or --client-secret-file (a
 * trailing newline trimmed; an empty secret refused; a file others can read
 * draws a warning). Missing credentials are an error only when
 * c->need_credentials is set and c->dry_run is not. Also sets up log.h:
 * the --log-format, and warnings only for text logs under --quiet.
 * Returns 0 or -1 after reporting the problem.
 */
int run_config_finish(struct run_config *c);

/*
 * An option holding a DURATION whose default has a unit (--give-up-after
 * 7d): "7" is refused ("7 what? say 7d, 36h or 90m", examples naming the
 * option's own), as is 0 unless allow_zero, or more than max_ms. Options
 * in SECONDS (--timeout) take a bare number. Returns 1 and stores *out, or
 * -1 after reporting, like run_option_apply().
 */
int duration_option(const char *name, const char *arg, int allow_zero, int64_t max_ms,
		    const char *examples, int64_t *out);

/*
 * 1 if url is http:// or https:// to a loopback host as libcurl parses it
 * (curl_url(3)): a literal address in 127.0.0.0/8, [::1] or
 * [::ffff:127.x.y.z], or the name localhost in any case (which transfer.c
 * pins); never "localhost." or another name. Else 0. Exposed for tests.
 */
int url_is_loopback(const char *url);

#endif
