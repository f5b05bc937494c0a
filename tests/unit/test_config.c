/*
 * test_config.c: the config file (cmd/config.h). Each case is a file's
 * text, the command it is read for and the environment; it names the
 * arguments the file stands for (in the order they go before the command
 * line's, so a later one wins: the command line over the environment over
 * the file), or the exact errors.
 */
#include "unit.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "cmd/config.h"

#define CONF "t.ini" /* in a temporary folder of its own */

/* Writes text to CONF with mode, loads it for command, the arguments or stderr in out. */
static int load(const char *text, mode_t mode, const char *command, struct strbuf *out)
{
	struct config cfg;
	const struct config_entry **entries;
	char buf[4096];
	FILE *fp;
	size_t n;
	int saved, fd, ret;
	ssize_t r;

	unlink(CONF);
	fp = fopen(CONF, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(CONF, mode), 0);
	fflush(stderr);
	saved = dup(2);
	fd = open("t.err", O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	ret = config_load(&cfg, CONF);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	strbuf_reset(out);
	lseek(fd, 0, SEEK_SET);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(out, buf, (size_t)r);
	close(fd);
	if (ret == 0) {
		char **args = config_args(&cfg, command, &n, &entries);

		for (size_t i = 0; i < n; i++) {
			strbuf_addf(out, "%s%s@%d", i ? " " : "", args[i], entries[i]->line);
			free(args[i]);
		}
		free(args);
		free(entries);
	}
	config_release(&cfg);
	return ret;
}

static const struct {
	const char *name, *text, *command, *base_url_env;
	const char *out; /* the arguments "ARG@LINE ..." */
} cases[] = {
    {"common first, then the command's section", "[import]\ndb = b.db\n[common]\ndb = a.db\n",
     "import", NULL, "--db=a.db@4 --db=b.db@2"},
    {"a [common] key only for the commands that take it", "[common]\nout = r.csv\ndb = x.db\n",
     "status", NULL, "--db=x.db@3"},
    {"another command's section is left alone", "[run]\nrate = 5/s\n", "import", NULL, ""},
    {"underscores, flags, lists and repeats",
     "[sync]\nrenew_expired = yes\nreauthenticate = false\nignore_column = Notes, Region\n"
     "column = customer_id = Account ID\ncolumn = customer_email=HR Email\n",
     "sync", NULL,
     "--renew-expired@2 --reauthenticate=false@3 --ignore-column=Notes@4 "
     "--ignore-column=Region@4 "
     "--column=customer_id = Account ID@5 --column=customer_email=HR Email@6"},
    {"the environment wins over the file", "[run]\nbase_url = https://a.example\nrate = 1/s\n",
     "run", "https://b.example", "--rate=1/s@3"},
    {"without the environment, the file's", "[run]\nbase_url = https://a.example\n", "run", NULL,
     "--base-url=https://a.example@2"},
    {"comments", "# nightly\n; job\n[run]\nrate = 2/s ; the default is 3/s\n", "run", NULL,
     "--rate=2/s@4"},
};

/* Refused files: every error, each prefixed E (FINCH_BASE_URL unset). */
#define E "finch-onboard: error: " CONF ":"
static const struct {
	const char *name, *text, *command;
	const char *errors;
} refused[] = {
    {"the secret is refused", "[run]\nclient_secret = hunter2\n", "run",
     E "2: client_secret: the secret is never read from a config file; put it in a file of its "
       "own (mode 0600) and set client_secret_file = PATH, or use FINCH_CLIENT_SECRET\n"},
    {"an unknown key, with did you mean", "[sync]\nrenew_expird = true\n", "sync",
     E "2: unknown key 'renew_expird' in [sync] (did you mean "
       "'renew_expired'?)\n"},
    {"a key of another command", "[status]\nrate = 2/s\n", "status",
     E "2: unknown key 'rate' in [status]\n"},
    {"an unknown section", "[improt]\ndb = x\n", "import",
     E "1: unknown section [improt] (did you mean [import]?)\n"},
    {"a key outside any section", "db = x\n", "import",
     E "1: key 'db' is outside a section: put it under [common] "
       "or a command's [section]\n"},
    {"a key set twice", "[run]\nrate = 1/s\nrate = 2/s\n", "run",
     E "3: rate: set twice in [run] (line 2 first)\n"},
    {"a flag that is not a boolean", "[run]\nquiet = maybe\n", "run",
     E "2: quiet: expects true or false, not 'maybe'\n"},
    {"no value", "[run]\nrate =\n", "run", E "2: rate: no value\n"},
    {"not a setting", "[run]\nrate 5\n", "run", E "2: neither 'key = value' nor a [section]\n"},
    {"every error at once", "[run]\nrat = 1\n[sync]\nclient_secret = x\n", "run",
     E "2: unknown key 'rat' in [run] (did you mean 'rate'?)\n" E
       "4: client_secret: the secret is never read from a config "
       "file; put it in a file of its own (mode 0600) and set client_secret_file = PATH, or use "
       "FINCH_CLIENT_SECRET\n"},
};

/* Fails unless text, loaded for command with FINCH_BASE_URL env, returns want_ret and gives want.
 */
static void check_load(const char *name, const char *text, const char *command, const char *env,
		       int want_ret, const char *want, struct strbuf *out)
{
	int ret;

	if (env)
		setenv("FINCH_BASE_URL", env, 1);
	else
		unsetenv("FINCH_BASE_URL");
	ret = load(text, 0600, command, out);
	if (ret != want_ret || strcmp(out->buf ? out->buf : "", want))
		fail_msg("%s: returned %d, got\n%s\nwant\n%s", name, ret, out->buf ? out->buf : "",
			 want);
}

static void test_config__cases(void **state)
{
	struct strbuf out = STRBUF_INIT;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check_load(cases[i].name, cases[i].text, cases[i].command, cases[i].base_url_env, 0,
			   cases[i].out, &out);
	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		check_load(refused[i].name, refused[i].text, refused[i].command, NULL, -1,
			   refused[i].errors, &out);
	unsetenv("FINCH_BASE_URL");
	strbuf_release(&out);
}

static void test_config__refused_when_others_can_write_it(void **state)
{
	struct strbuf out = STRBUF_INIT;

	(void)state;
	assert_int_equal(load("[run]\nrate = 1/s\n", 0620, "run", &out), -1);
	assert_string_equal(out.buf, "finch-onboard: error: config file: others can write '" CONF
				     "' (mode 0620); run 'chmod 600 " CONF "'\n");
	assert_int_equal(load("[run]\nrate = 1/s\n", 0644, "run", &out), 0);
	assert_string_equal(out.buf, "--rate=1/s@2");
	unlink(CONF);
	strbuf_release(&out);
}

static void test_config__find_takes_the_last_and_stops_at_dashdash(void **state)
{
	char *argv[] = {"import", "--config", "a.ini", "x.csv", "--config=b.ini",
			"--",	  "--config", "c.ini", NULL};
	const char *path, *from;
	int argc = 8;

	(void)state;
	unsetenv("FINCH_ONBOARD_CONFIG");
	assert_int_equal(config_find(&argc, argv, &path, &from), 0);
	assert_string_equal(path, "b.ini");
	assert_string_equal(from, "command line");
	assert_int_equal(argc, 5);
	assert_string_equal(argv[1], "x.csv");
	assert_string_equal(argv[2], "--");
	assert_string_equal(argv[3], "--config");

	char *argv2[] = {"run", "--rate", "1/s", NULL};
	argc = 3;
	setenv("FINCH_ONBOARD_CONFIG", "env.ini", 1);
	assert_int_equal(config_find(&argc, argv2, &path, &from), 0);
	assert_string_equal(path, "env.ini");
	assert_string_equal(from, "env:FINCH_ONBOARD_CONFIG");
	assert_int_equal(argc, 3);
	unsetenv("FINCH_ONBOARD_CONFIG");
}

/*
 * Every command's merged getopt_long() table (src/base/cli.h's ranges): no
 * two options share a code or a name, or getopt_long() would hand one over
 * as the other.
 */
static void test_config__option_codes_unique(void **state)
{
	const char *name;
	size_t commands = 0;

	(void)state;
	for (size_t ci = 0; (name = config_command_name(ci)); ci++) {
		struct option *t = config_command_options(name);

		assert_non_null(t);
		for (size_t i = 0; t[i].name; i++) {
			assert_null(t[i].flag);
			for (size_t j = 0; j < i; j++) {
				if (t[i].val == t[j].val)
					fail_msg("%s: --%s and --%s share the option code 0x%x",
						 name, t[j].name, t[i].name, (unsigned)t[i].val);
				if (!strcmp(t[i].name, t[j].name))
					fail_msg("%s: --%s is listed twice", name, t[i].name);
			}
		}
		free(t);
		commands++;
	}
	assert_true(commands >= 9);
}

int main(void)
{
	char dir[] = "/tmp/test_config.XXXXXX";

	if (!mkdtemp(dir) || chdir(dir) != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config__cases),
	    cmocka_unit_test(test_config__refused_when_others_can_write_it),
	    cmocka_unit_test(test_config__find_takes_the_last_and_stops_at_dashdash),
	    cmocka_unit_test(test_config__option_codes_unique),
	};

	int ret = cmocka_run_group_tests(tests, NULL, NULL);

	unlink("t.err");
	if (chdir("/") != 0 || rmdir(dir) != 0)
		return 1;
	return ret;
}
