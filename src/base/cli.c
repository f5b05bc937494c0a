/*
 * cli.c: see cli.h.
 */
#include "base/cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

static size_t table_len(const struct option *t)
{
	size_t n = 0;

	while (t[n].name)
		n++;
	return n;
}

struct option *cli_options_merge(const struct option *first, ...)
{
	const struct option *t;
	struct option *all;
	size_t n = 0, used = 0;
	va_list ap;

	va_start(ap, first);
	for (t = first; t; t = va_arg(ap, const struct option *))
		n += table_len(t);
	va_end(ap);
	all = xcalloc(n + 1, sizeof(*all));
	va_start(ap, first);
	for (t = first; t; t = va_arg(ap, const struct option *)) {
		size_t len = table_len(t);

		memcpy(all + used, t, len * sizeof(*all));
		used += len;
	}
	va_end(ap);
	return all;
}

int cli_set_flag(int *flag)
{
	*flag = 1;
	return 1;
}

int cli_log_format_parse(const char *arg, enum log_format *out)
{
	static const char *const names[] = {[LOG_FORMAT_TEXT] = "text", [LOG_FORMAT_JSON] = "json"};
	int i = name_index(arg, names, (int)ARRAY_SIZE(names));

	if (i < 0)
		return error("option '--log-format' expects 'text' or 'json', not '%s'", arg);
	*out = (enum log_format)i;
	return 0;
}

int cli_log_format(const char *arg)
{
	enum log_format f = LOG_FORMAT_TEXT;

	if (cli_log_format_parse(arg, &f) < 0)
		return -1;
	log_setup(f, f == LOG_FORMAT_JSON ? LOG_DEBUG : LOG_INFO);
	return 0;
}

void cli_bad_option(int c, char **argv)
{
	const char *opt = argv[optind - 1];

	if (c == ':')
		error("option '%s' needs a value", opt);
	else if (optopt && strncmp(opt, "--", 2))
		error("unknown option '-%c'", optopt);
	else
		error("unknown option '%s'", opt);
}

void cli_usage_error(const char *usage)
{
	if (log_get_format() == LOG_FORMAT_TEXT)
		fputs(usage, stderr);
}

void cli_log_format_early(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		const char *v = NULL;

		if (!strcmp(argv[i], "--log-format") && i + 1 < argc)
			v = argv[i + 1];
		else if (!strncmp(argv[i], "--log-format=", 13))
			v = argv[i] + 13;
		if (v && !strcmp(v, "json"))
			log_setup(LOG_FORMAT_JSON, LOG_DEBUG);
	}
}

static struct {
	const char *arg;
	char *origin;
} * origins;
static size_t norigins;

void cli_arg_origin(const char *arg, const char *origin)
{
	origins = xrealloc(origins, (norigins + 1) * sizeof(*origins));
	origins[norigins].arg = arg;
	origins[norigins++].origin = xstrdup(origin);
}

void cli_arg_origins_clear(void)
{
	for (size_t i = 0; i < norigins; i++)
		free(origins[i].origin);
	free(origins);
	origins = NULL;
	norigins = 0;
	util_set_context(NULL);
}

const char *cli_value_origin(const char *value)
{
	for (size_t i = 0; value && i < norigins; i++)
		if (value >= origins[i].arg && value <= origins[i].arg + strlen(origins[i].arg))
			return origins[i].origin;
	return NULL;
}

int cli_getopt(int argc, char **argv, const char *optstring, const struct option *longopts)
{
	int c = getopt_long(argc, argv, optstring, longopts, NULL);
	const char *arg = c != -1 && optind > 0 && optind <= argc ? argv[optind - 1] : NULL;
	const char *origin = NULL;

	for (size_t i = 0; arg && i < norigins && !origin; i++)
		if (origins[i].arg == arg)
			origin = origins[i].origin;
	util_set_context(origin);
	return c;
}
