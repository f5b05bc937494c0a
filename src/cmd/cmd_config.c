/*
 * cmd_config.c: `finch-onboard config`, the settings in force and where
 * each comes from, as `git config --show-origin` shows them.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/config.h"
#include "csv/csv_text.h"

static const char config_usage[] =
    "usage: finch-onboard config [--config FILE] [COMMAND [OPTIONS...]]\n"
    "\n"
    "Prints the settings in force and where each comes from: 'file:PATH:LINE',\n"
    "'env:NAME' or 'command line', one a line (ORIGIN, a tab, key=value), secrets\n"
    "redacted. With COMMAND (import, run, sync, export, status, retry,\n"
    "connections, webhooks, prune) and its options, the settings that command would\n"
    "use, the command line over the environment over the config file; without,\n"
    "every setting of the file. Every value is first read as the command reads\n"
    "it: a bad one is exit 2, naming the file, the line and the key.\n"
    "The file is --config FILE, else $FINCH_ONBOARD_CONFIG.\n"
    "\n"
    "  -h, --help  show this help\n";

/* One setting and where it comes from. */
struct setting {
	char *origin, *key, *value;
	int repeatable;
};

static void add(struct setting **s, size_t *n, const char *origin, const char *key,
		const char *value, int repeatable)
{
	struct strbuf k = STRBUF_INIT;

	strbuf_addstr(&k, key);
	for (size_t i = 0; i < k.len; i++)
		k.buf[i] = k.buf[i] == '-' ? '_' : k.buf[i];
	*s = xrealloc(*s, (*n + 1) * sizeof(**s));
	(*s)[(*n)++] = (struct setting){xstrdup(origin), strbuf_detach(&k, NULL),
					xstrdup(value ? value : "true"), repeatable};
}

/* The settings the command line after COMMAND gives, parsed with its own table. */
static int add_command_line(struct setting **s, size_t *n, int argc, char **argv,
			    const struct option *longopts)
{
	int c, idx;

	optind = 0;
	opterr = 0;
	while ((idx = -1, c = getopt_long(argc, argv, ":", longopts, &idx)) != -1) {
		if (c == '?' || c == ':') {
			cli_bad_option(c, argv);
			return -1;
		}
		if (idx >= 0)
			add(s, n, "command line", longopts[idx].name, optarg,
			    config_key_repeatable(longopts[idx].name));
	}
	return 0;
}

/* The field a column setting maps ("customer_id = Account ID" -> "customer_id"), in key. */
static void column_field(const char *value, struct strbuf *key)
{
	const char *eq = strchr(value, '=');

	csv_header_key(value, eq ? (size_t)(eq - value) : strlen(value), key);
}

/*
 * 1 if a later setting of the same key overrides s[i]: for column, a later
 * mapping of the same field (csv_columns_add_map()); for FINCH_CLIENT_SECRET,
 * a later client_secret_file (the command line's).
 */
static int overridden(const struct setting *s, size_t n, size_t i)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	int over = 0;

	if (!strcmp(s[i].key, "column")) {
		column_field(s[i].value, &a);
		for (size_t j = i + 1; j < n && !over; j++) {
			if (strcmp(s[j].key, "column"))
				continue;
			column_field(s[j].value, &b);
			over = !strcmp(a.buf ? a.buf : "", b.buf ? b.buf : "");
		}
		strbuf_release(&a);
		strbuf_release(&b);
		return over;
	}
	for (size_t j = i + 1; j < n && !s[i].repeatable; j++)
		if (!strcmp(s[j].key, s[i].key) ||
		    (!strcmp(s[i].key, "client_secret") && !strcmp(s[j].key, "client_secret_file")))
			return 1;
	return 0;
}

int cmd_config(int argc, char **argv)
{
	struct setting *s = NULL;
	struct config cfg = {0};
	struct option *longopts = NULL;
	const char *path, *from, *command = NULL, *env;
	size_t n = 0;
	int ret = EXIT_USAGE;

	if (config_find(&argc, argv, &path, &from) < 0)
		return EXIT_USAGE;
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(config_usage, stdout);
		return EXIT_OK;
	}
	if (argc > 1) {
		command = argv[1];
		longopts = config_command_options(command);
		if (!longopts) {
			error("'%s' is not a command that takes settings; see 'finch-onboard "
			      "config --help'",
			      command);
			return EXIT_USAGE;
		}
	}
	if (path) {
		add(&s, &n, from, "config", path, 0);
		if (config_load(&cfg, path) < 0)
			goto out;
	}
	/* every value as the command would read it: a bad one is exit 2, naming its line */
	if (command ? config_check(&cfg, command, argc - 1, argv + 1) != EXIT_OK
		    : config_check(&cfg, NULL, 0, NULL) != EXIT_OK)
		goto out;
	if (command) {
		const struct config_entry **entries;
		size_t nargs;
		char **args = config_args(&cfg, command, &nargs, &entries);

		for (size_t i = 0; i < nargs; i++) {
			struct strbuf origin = STRBUF_INIT;
			const char *eq = strchr(args[i], '=');

			strbuf_addf(&origin, "file:%s:%d", cfg.path, entries[i]->line);
			add(&s, &n, origin.buf, entries[i]->key, eq ? eq + 1 : NULL,
			    config_key_repeatable(entries[i]->key));
			strbuf_release(&origin);
			free(args[i]);
		}
		free(args);
		free(entries);
	} else {
		for (size_t i = 0; i < cfg.n; i++) {
			struct strbuf origin = STRBUF_INIT, key = STRBUF_INIT;

			strbuf_addf(&origin, "file:%s:%d", cfg.path, cfg.e[i].line);
			strbuf_addf(&key, "%s.%s", cfg.e[i].section, cfg.e[i].key);
			add(&s, &n, origin.buf, key.buf, cfg.e[i].value, 1);
			strbuf_release(&origin);
			strbuf_release(&key);
		}
	}
	if ((env = getenv("FINCH_BASE_URL")) && *env)
		add(&s, &n, "env:FINCH_BASE_URL", "base-url", env, 0);
	if ((env = getenv("FINCH_CLIENT_ID")) && *env)
		add(&s, &n, "env:FINCH_CLIENT_ID", "client-id", env, 0);
	if ((env = getenv("FINCH_CLIENT_SECRET")) && *env)
		add(&s, &n, "env:FINCH_CLIENT_SECRET", "client-secret", "[redacted]", 0);
	if (command && add_command_line(&s, &n, argc - 1, argv + 1, longopts) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct strbuf line = STRBUF_INIT;

		if (overridden(s, n, i))
			continue;
		strbuf_addf(&line, "%s\t%s=", s[i].origin, s[i].key);
		strbuf_add_inert(&line, s[i].value, 4096);
		puts(line.buf);
		strbuf_release(&line);
	}
	ret = EXIT_OK;
out:
	for (size_t i = 0; i < n; i++) {
		free(s[i].origin);
		free(s[i].key);
		free(s[i].value);
	}
	free(s);
	free(longopts);
	config_release(&cfg);
	return ret;
}
