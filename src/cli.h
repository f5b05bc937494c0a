/*
 * cli.h: what every subcommand's option parsing shares.
 */
#ifndef FINCH_CLI_H
#define FINCH_CLI_H

#include <getopt.h>

/*
 * Concatenates getopt_long() tables, each ending with a zero entry; the list
 * of tables ends with NULL. Returns a malloc'd table; the caller frees.
 */
struct option *cli_options_merge(const struct option *first, ...);

/*
 * Reports what getopt_long() (with a leading ':' in its optstring) refused:
 * c is ':' for a missing value, '?' for an unknown option.
 */
void cli_bad_option(int c, char **argv);

#endif
