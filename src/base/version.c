/*
 * version.c: `--version`; see version.h.
 */
#include "base/version.h"

#include <cjson/cJSON.h>
#include <csv.h>
#include <curl/curl.h>
#include <sqlite3.h>

#ifndef FINCH_GIT_COMMIT
#define FINCH_GIT_COMMIT "unknown"
#endif

const char *version_commit(void)
{
	return FINCH_GIT_COMMIT;
}

void version_print(FILE *out, const char *prog, const char *extra)
{
	const curl_version_info_data *cv = curl_version_info(CURLVERSION_NOW);
	int http2 = (cv->features & CURL_VERSION_HTTP2) != 0;

	fprintf(out, "%s %s (commit %s) libcurl/%s SQLite/%s cJSON/%s libcsv/%d.%d.%d%s%s\n", prog,
		FINCH_ONBOARD_VERSION, version_commit(), cv->version, sqlite3_libversion(),
		cJSON_Version(), CSV_MAJOR, CSV_MINOR, CSV_RELEASE, extra ? " " : "",
		extra ? extra : "");
	fprintf(out, "libcurl: %s\n", curl_version());
	fprintf(out, "TLS: %s\n", cv->ssl_version ? cv->ssl_version : "none");
	/* nghttp2_version exists from libcurl 7.66; the minimum is 7.74 */
	if (http2 && cv->nghttp2_version)
		fprintf(out, "HTTP/2: yes (nghttp2/%s)\n", cv->nghttp2_version);
	else
		fprintf(out, "HTTP/2: %s\n", http2 ? "yes" : "no");
}
