/*
 * config.c: see config.h.
 */
#include "cmd/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "csv/csv_import.h"
#include "csv/csv_text.h"
#include "run/options.h"

/* Every command's options, as its getopt_long() tables hold them. */
static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const struct option *t[4];
} commands[] = {
    {"import", cmd_import, {cmd_import_options, import_long_options, NULL, NULL}},
    {"run", cmd_run, {cmd_run_options, run_long_options, NULL, NULL}},
    {"status", cmd_status, {cmd_status_options, NULL, NULL, NULL}},
    {"export", cmd_export, {cmd_export_options, cmd_export_long_options, NULL, NULL}},
    {"retry", cmd_retry, {cmd_retry_options, NULL, NULL, NULL}},
    {"sync",
     cmd_sync,
     {cmd_sync_options, cmd_export_long_options, import_long_options, run_long_options}},
    {"connections", cmd_connections, {cmd_connections_options, NULL, NULL, NULL}},
    {"webhooks", cmd_webhooks, {cmd_webhooks_options, NULL, NULL, NULL}},
    {"prune", cmd_prune, {cmd_prune_options, NULL, NULL, NULL}},
    {"journal", cmd_journal, {cmd_journal_options, NULL, NULL, NULL}},
};

/* Options that may be given more than once; the lists split on commas. */
static const char *const repeatable[] = {"column", "ignore-column", "keep-column", "customer",
					 "allow-product"};
static const char *const lists[] = {"ignore-column", "keep-column", "allow-product"};

/* An option whose environment variable, when set, wins over the file. */
static const struct {
	const char *key, *env;
} env_keys[] = {
    {"base-url", "FINCH_BASE_URL"},
    {"client-id", "FINCH_CLIENT_ID"},
    {"client-secret-file", "FINCH_CLIENT_SECRET"}, /* the secret itself beats a file's path */
};

/* Never a key: the secret, and what makes no sense in a file. */
#define SECRET_KEY "client-secret"

static int in_list(const char *key, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(key, list[i]))
			return 1;
	return 0;
}

static int command_index(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(name, commands[i].name))
			return (int)i;
	return -1;
}

/* Command ci's option named key, or NULL (never --help). */
static const struct option *command_option(int ci, const char *key)
{
	for (int t = 0; t < 4 && commands[ci].t[t]; t++)
		for (const struct option *o = commands[ci].t[t]; o->name; o++)
			if (!strcmp(o->name, key) && strcmp(key, "help"))
				return o;
	return NULL;
}

/* The option named key in section: its command's, or any command's for [common]. */
static const struct option *section_option(const char *section, const char *key)
{
	int ci = command_index(section);

	if (ci >= 0)
		return command_option(ci, key);
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct option *o = command_option((int)i, key);

		if (o)
			return o;
	}
	return NULL;
}

/* The key of section closest to key, in config spelling ("client_secret_file"), or NULL. */
static const char *closest_key(const char *section, const char *key, struct strbuf *out)
{
	int ci = command_index(section);
	size_t best_d = SIZE_MAX;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (ci >= 0 && (int)i != ci)
			continue;
		for (int t = 0; t < 4 && commands[i].t[t]; t++)
			for (const struct option *o = commands[i].t[t]; o->name; o++) {
				size_t d = csv_edit_distance(key, o->name);

				if (d < best_d && d <= 3 && strcmp(o->name, "help")) {
					best_d = d;
					strbuf_reset(out);
					strbuf_addstr(out, o->name);
				}
			}
	}
	for (size_t i = 0; best_d != SIZE_MAX && i < out->len; i++)
		if (out->buf[i] == '-')
			out->buf[i] = '_';
	return best_d == SIZE_MAX ? NULL : out->buf;
}

static int cfg_bool(const char *v, int *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no",
										    "off", "0"};

	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(v, yes[i]))
			return *out = 1, 0;
		if (!strcasecmp(v, no[i]))
			return *out = 0, 0;
	}
	return -1;
}

/* Parsing state: the file, its current line, the errors so far. */
struct parse {
	struct config *cfg;
	FILE *f;
	int line;
	int errors;
	int too_long; /* a line longer than inih reads */
};

#define CFG_ERROR(p, ...)                                                                          \
	do {                                                                                       \
		error(__VA_ARGS__);                                                                \
		(p)->errors++;                                                                     \
	} while (0)

/* inih's reader: fgets() that counts lines, so each setting knows its own. */
static char *reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	char *s = fgets(str, num, p->f);
	size_t len;
	int c;

	if (!s)
		return NULL;
	p->line++;
	len = strlen(s);
	if (len == (size_t)num - 1 && s[len - 1] != '\n' && !feof(p->f)) {
		CFG_ERROR(p, "%s:%d: the line is longer than %d bytes", p->cfg->path, p->line,
			  num - 2);
		while ((c = fgetc(p->f)) != EOF && c != '\n')
			;
	}
	return s;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	const char *path = p->cfg->path;
	struct strbuf key = STRBUF_INIT, hint = STRBUF_INIT;
	const struct option *o;
	int b;

	strbuf_addstr(&key, name);
	for (size_t i = 0; i < key.len; i++)
		key.buf[i] = key.buf[i] == '_' ? '-' : (char)tolower((unsigned char)key.buf[i]);
	if (!*section) {
		CFG_ERROR(p,
			  "%s:%d: key '%s' is outside a section: put it under [common] or a "
			  "command's [section]",
			  path, p->line, name);
		goto out;
	}
	if (strcmp(section, "common") && command_index(section) < 0) {
		goto out; /* reported once, at its header (see section_check()) */
	}
	if (!strcmp(key.buf, SECRET_KEY)) {
		CFG_ERROR(p,
			  "%s:%d: client_secret: the secret is never read from a config file; put "
			  "it in a file of its own (mode 0600) and set client_secret_file = PATH, "
			  "or use FINCH_CLIENT_SECRET",
			  path, p->line);
		goto out;
	}
	o = section_option(section, key.buf);
	if (!o) {
		if (closest_key(section, key.buf, &hint))
			CFG_ERROR(p, "%s:%d: unknown key '%s' in [%s] (did you mean '%s'?)", path,
				  p->line, name, section, hint.buf);
		else
			CFG_ERROR(p, "%s:%d: unknown key '%s' in [%s]", path, p->line, name,
				  section);
		goto out;
	}
	if (!*value) {
		CFG_ERROR(p, "%s:%d: %s: no value", path, p->line, name);
		goto out;
	}
	if (o->has_arg == no_argument && cfg_bool(value, &b) < 0) {
		CFG_ERROR(p, "%s:%d: %s: expects true or false, not '%s'", path, p->line, name,
			  value);
		goto out;
	}
	for (size_t i = 0; !in_list(key.buf, repeatable, ARRAY_SIZE(repeatable)) && i < p->cfg->n;
	     i++) {
		struct config_entry *e = &p->cfg->e[i];

		if (!strcmp(e->section, section) && !strcmp(e->key, key.buf)) {
			CFG_ERROR(p, "%s:%d: %s: set twice in [%s] (line %d first)", path, p->line,
				  name, section, e->line);
			goto out;
		}
	}
	p->cfg->e = xrealloc(p->cfg->e, (p->cfg->n + 1) * sizeof(*p->cfg->e));
	p->cfg->e[p->cfg->n++] = (struct config_entry){xstrdup(section), strbuf_detach(&key, NULL),
						       xstrdup(value), p->line};
out:
	strbuf_release(&key);
	strbuf_release(&hint);
	return 1;
}

/* Every [section] header of the file names a command or common. */
static void section_check(struct parse *p)
{
	static const char *const names[] = {"common",	"import", "run",    "status",
					    "export",	"retry",  "sync",   "connections",
					    "webhooks", "prune",  "journal"};
	char line[512];
	int n = 0;

	rewind(p->f);
	while (fgets(line, sizeof(line), p->f)) {
		char *s = line, *end;
		const char *best = NULL;
		size_t best_d = SIZE_MAX;

		n++;
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '[' || !(end = strchr(s, ']')))
			continue;
		*end = '\0';
		s++;
		if (in_list(s, names, ARRAY_SIZE(names)))
			continue;
		for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
			size_t d = csv_edit_distance(s, names[i]);

			if (d < best_d && d <= 2) {
				best_d = d;
				best = names[i];
			}
		}
		if (best)
			CFG_ERROR(p, "%s:%d: unknown section [%s] (did you mean [%s]?)",
				  p->cfg->path, n, s, best);
		else
			CFG_ERROR(p,
				  "%s:%d: unknown section [%s] (one of [common], [import], [run], "
				  "[sync], [export], [status], [retry], [connections], [webhooks], "
				  "[prune])",
				  p->cfg->path, n, s);
	}
}

int config_load(struct config *cfg, const char *path)
{
	struct parse p = {cfg, NULL, 0, 0, 0};
	struct stat st;
	int fd, r;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = xstrdup(path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_errno("cannot open config file '%s'", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return error("config file '%s' is not a regular file", path);
	}
	/* its settings say where sessions go and which secret file is read */
	if (file_check_trusted(&st, "config file", path) < 0) {
		close(fd);
		return -1;
	}
	p.f = fdopen(fd, "r");
	if (!p.f) {
		close(fd);
		return error_errno("cannot read config file '%s'", path);
	}
	r = ini_parse_stream(reader, &p, handler, &p);
	if (r > 0)
		CFG_ERROR(&p, "%s:%d: neither 'key = value' nor a [section]", path, r);
	else if (r < 0)
		CFG_ERROR(&p, "cannot read config file '%s'", path);
	section_check(&p);
	fclose(p.f);
	return p.errors ? -1 : 0;
}

void config_release(struct config *cfg)
{
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->e[i].section);
		free(cfg->e[i].key);
		free(cfg->e[i].value);
	}
	free(cfg->e);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

int config_find(int *argc, char **argv, const char **path, const char **from)
{
	int out = 1;

	*path = NULL;
	*from = NULL;
	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < *argc)
				argv[out++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "--config")) {
			if (i + 1 >= *argc)
				return error("option '--config' needs a value");
			*path = argv[++i];
			*from = "command line";
		} else if (!strncmp(argv[i], "--config=", 9)) {
			*path = argv[i] + 9;
			*from = "command line";
		} else {
			argv[out++] = argv[i];
		}
	}
	*argc = out;
	argv[out] = NULL;
	if (*path && !**path)
		return error("option '--config': empty file name");
	if (!*path) {
		const char *env = getenv("FINCH_ONBOARD_CONFIG");

		if (env && *env) {
			*path = env;
			*from = "env:FINCH_ONBOARD_CONFIG";
		}
	}
	return 0;
}

/* 1 if an environment variable sets key, and so wins over the file. */
static int env_overrides(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(env_keys); i++) {
		const char *v = getenv(env_keys[i].env);

		if (!strcmp(key, env_keys[i].key) && v && *v)
			return 1;
	}
	return 0;
}

static void add_arg(char ***args, const struct config_entry ***entries, size_t *n, char *arg,
		    const struct config_entry *e)
{
	*args = xrealloc(*args, (*n + 2) * sizeof(**args));
	*entries = xrealloc(*entries, (*n + 1) * sizeof(**entries));
	(*args)[*n] = arg;
	(*entries)[(*n)++] = e;
	(*args)[*n] = NULL;
}

char **config_args(const struct config *cfg, const char *name, size_t *n,
		   const struct config_entry ***entries)
{
	static const char *const sections[] = {"common", NULL};
	int ci = command_index(name);
	char **args = NULL;

	*n = 0;
	*entries = NULL;
	for (int s = 0; s < 2 && ci >= 0; s++) {
		const char *section = s == 0 ? sections[0] : name;

		for (size_t i = 0; i < cfg->n; i++) {
			const struct config_entry *e = &cfg->e[i];
			const struct option *o = command_option(ci, e->key);
			struct strbuf arg = STRBUF_INIT;
			int b = 0;

			if (strcmp(e->section, section) || !o || env_overrides(e->key))
				continue;
			if (o->has_arg == no_argument) {
				if (cfg_bool(e->value, &b) == 0 && b) {
					strbuf_addf(&arg, "--%s", e->key);
					add_arg(&args, entries, n, strbuf_detach(&arg, NULL), e);
				}
				continue;
			}
			if (!in_list(e->key, lists, ARRAY_SIZE(lists))) {
				strbuf_addf(&arg, "--%s=%s", e->key, e->value);
				add_arg(&args, entries, n, strbuf_detach(&arg, NULL), e);
				continue;
			}
			/* a header with a comma in double quotes, as --columns reads it */
			for (const char *p = e->value; p && *p;) {
				struct strbuf item = STRBUF_INIT;

				if (export_list_next(&p, &item) < 0) {
					strbuf_reset(&item);
					strbuf_addstr(&item, p);
					p = NULL;
				}
				if (item.len) {
					strbuf_addf(&arg, "--%s=%s", e->key, item.buf);
					add_arg(&args, entries, n, strbuf_detach(&arg, NULL), e);
				}
				strbuf_release(&item);
			}
		}
	}
	return args;
}

const char *config_command_name(size_t i)
{
	return i < ARRAY_SIZE(commands) ? commands[i].name : NULL;
}

struct option *config_command_options(const char *name)
{
	int ci = command_index(name);

	if (ci < 0)
		return NULL;
	return cli_options_merge(commands[ci].t[0], commands[ci].t[1], commands[ci].t[2],
				 commands[ci].t[3], NULL);
}

int config_key_repeatable(const char *key)
{
	return in_list(key, repeatable, ARRAY_SIZE(repeatable));
}

/*
 * Runs fn with the settings of cfg for command name before the arguments
 * argv[1..argc), each file setting's messages naming its line and key.
 */
static int run_with(const struct config *cfg, const char *name, int (*fn)(int argc, char **argv),
		    int argc, char **argv)
{
	const struct config_entry **entries = NULL;
	char **args, **all;
	size_t n = 0;
	int ret, nall;

	args = config_args(cfg, name, &n, &entries);
	nall = argc + (int)n;
	all = xcalloc((size_t)nall + 1, sizeof(*all));
	all[0] = argv[0];
	for (size_t i = 0; i < n; i++) {
		struct strbuf origin = STRBUF_INIT;

		all[1 + i] = args[i];
		strbuf_addf(&origin, "%s:%d: %s", cfg->path, entries[i]->line, entries[i]->key);
		for (size_t k = origin.len - strlen(entries[i]->key); k < origin.len; k++)
			origin.buf[k] = origin.buf[k] == '-' ? '_' : origin.buf[k];
		cli_arg_origin(args[i], origin.buf);
		strbuf_release(&origin);
	}
	for (int i = 1; i < argc; i++)
		all[n + (size_t)i] = argv[i];
	cli_log_format_early(nall, all);
	ret = fn(nall, all);
	cli_arg_origins_clear();
	for (size_t i = 0; i < n; i++)
		free(args[i]);
	free(args);
	free(entries);
	free(all);
	return ret;
}

int config_run_command(const char *name, int (*fn)(int argc, char **argv), int argc, char **argv)
{
	struct config cfg = {0};
	const char *path, *from;
	int ret = EXIT_USAGE;

	if (config_find(&argc, argv, &path, &from) < 0)
		return EXIT_USAGE;
	if (!path)
		return fn(argc, argv);
	if (config_load(&cfg, path) < 0)
		goto out;
	ret = run_with(&cfg, name, fn, argc, argv);
out:
	config_release(&cfg);
	return ret;
}

int config_check(const struct config *cfg, const char *name, int argc, char **argv)
{
	static char *no_args[] = {NULL, NULL};
	int ret = EXIT_OK;

	for (size_t i = 0; i < ARRAY_SIZE(commands) && ret == EXIT_OK; i++) {
		struct config none = {0};

		if (name && strcmp(name, commands[i].name))
			continue;
		no_args[0] = (char *)commands[i].name;
		cmd_options_check_only = 1;
		ret = run_with(cfg ? cfg : &none, commands[i].name, commands[i].fn, name ? argc : 1,
			       name ? argv : no_args);
		cmd_options_check_only = 0;
	}
	return ret;
}
