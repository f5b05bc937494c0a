/*
 * version.h: what `--version` prints, for bug reports: the program's
 * version, the commit it was built from, and the versions of the libraries
 * it runs with, the way `curl --version` does.
 */
#ifndef FINCH_VERSION_H
#define FINCH_VERSION_H

#include <stdio.h>

/*
 * The commit the build came from: `git describe --always --dirty` when CMake
 * was configured, "unknown" outside a git checkout. Static storage.
 */
const char *version_commit(void);

/*
 * Prints to out:
 *
 *	PROG VERSION (commit C) libcurl/V SQLite/V cJSON/V libcsv/V [EXTRA]
 *	libcurl: the whole curl_version() string
 *	TLS: the TLS library libcurl uses, or "none"
 *	HTTP/2: yes (nghttp2/V) or no
 *
 * Versions are the libraries' own at run time (libcsv has no such call: its
 * header's CSV_MAJOR.CSV_MINOR.CSV_RELEASE at build time). extra is more
 * "name/version" words for the first line (finch-mock's libmicrohttpd), or
 * NULL.
 */
void version_print(FILE *out, const char *prog, const char *extra);

#endif
