/*
 * test_export.c: the CSV and JSON Lines writers, cell by cell and row by
 * row, against memory streams (test_export_file.c: the file output).
 */
#include "unit.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/export.h"
#include "store/store.h"
#include "store/store_import.h"
#include "store/store_report.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "finch/validate.h"

/* ---- cells ------------------------------------------------------------- */

struct cell_case {
	const char *in;
	int raw;
	const char *want;
};

/* Encodes each case's cell with encode(sb, in, raw) and compares with what it wants. */
static void check_cells(const struct cell_case *cases, size_t n,
			void (*encode)(struct strbuf *sb, const char *s, int raw))
{
	for (size_t i = 0; i < n; i++) {
		struct strbuf sb = STRBUF_INIT;

		encode(&sb, cases[i].in, cases[i].raw);
		if (strcmp(sb.buf, cases[i].want))
			fail_msg("case %zu: got [%s], want [%s]", i, sb.buf, cases[i].want);
		strbuf_release(&sb);
	}
}

/* export_json_string() for check_cells(): JSON has no raw form. */
static void json_string(struct strbuf *sb, const char *s, int raw)
{
	(void)raw;
	export_json_string(sb, s);
}

static void test_export__csv_field(void **state)
{
	static const struct cell_case cases[] = {
	    {NULL, 0, ""},
	    {"", 0, ""},
	    {"Acme", 0, "Acme"},
	    {"Acme, Inc.", 0, "\"Acme, Inc.\""},
	    {"The \"Best\" Co", 0, "\"The \"\"Best\"\" Co\""},
	    {"\"", 0, "\"\"\"\""},
	    {"two\nlines", 0, "\"two\nlines\""},
	    {"cr\rhere", 0, "\"cr\rhere\""},
	    {"crlf\r\nend", 0, "\"crlf\r\nend\""},
	    {" spaced ", 0, " spaced "},
	    {"Caf\xc3\xa9 Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x9a\x80", 0,
	     "Caf\xc3\xa9 Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x9a\x80"},
	    {"Caf\xc3\xa9, S.A.", 0, "\"Caf\xc3\xa9, S.A.\""},
	    /* formula cells */
	    {"=1+2", 0, "'=1+2"},
	    {"+33 1 23", 0, "'+33 1 23"},
	    {"-5", 0, "'-5"},
	    {"@SUM(A1:A9)", 0, "'@SUM(A1:A9)"},
	    {"\tindent", 0, "'\tindent"},
	    {"\rx", 0, "\"'\rx\""},
	    {"=HYPERLINK(\"http://x\",\"y\")", 0, "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""},
	    {"a=b", 0, "a=b"},
	    {"'quoted", 0, "'quoted"},
	    /* the sign after leading blanks (OWASP), and fullwidth signs */
	    {" =HYPERLINK(\"http://x\")", 0, "\"' =HYPERLINK(\"\"http://x\"\")\""},
	    {" @SUM(1,2)", 0, "\"' @SUM(1,2)\""},
	    {"\n=1+2", 0, "\"'\n=1+2\""},
	    {"\xc2\xa0+1", 0, "'\xc2\xa0+1"},
	    {"\xe3\x80\x80-1", 0, "'\xe3\x80\x80-1"},
	    {"\xef\xbc\x9d"
	     "1+2",
	     0,
	     "'\xef\xbc\x9d"
	     "1+2"},
	    {"   plain", 0, "   plain"},
	    /* --raw keeps formulas as they are */
	    {" =1", 1, " =1"},
	    {"\xef\xbc\xa0x", 1, "\xef\xbc\xa0x"},
	    {"=1+2", 1, "=1+2"},
	    {"-5", 1, "-5"},
	    {"\rx", 1, "\"\rx\""},
	    {"=HYPERLINK(\"http://x\")", 1, "\"=HYPERLINK(\"\"http://x\"\")\""},
	};

	(void)state;
	check_cells(cases, ARRAY_SIZE(cases), export_csv_field);
}

static void test_export__json_string(void **state)
{
	static const struct cell_case cases[] = {
	    {NULL, 0, "null"},
	    {"", 0, "\"\""},
	    {"Acme, Inc.", 0, "\"Acme, Inc.\""},
	    {"say \"hi\"", 0, "\"say \\\"hi\\\"\""},
	    {"back\\slash", 0, "\"back\\\\slash\""},
	    {"a\nb\rc\td", 0, "\"a\\nb\\rc\\td\""},
	    {"bell\x07", 0, "\"bell\\u0007\""},
	    {"del\x7f", 0, "\"del\\u007f\""},
	    {"Caf\xc3\xa9 \xf0\x9f\x9a\x80", 0, "\"Caf\xc3\xa9 \xf0\x9f\x9a\x80\""},
	    /* not UTF-8: a stray continuation, a truncated sequence, a surrogate */
	    {"a\x80z", 0, "\"a\xef\xbf\xbdz\""},
	    {"a\xc3", 0, "\"a\xef\xbf\xbd\""},
	    {"\xed\xa0\x80", 0, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
	    {"\xc0\xaf", 0, "\"\xef\xbf\xbd\xef\xbf\xbd\""},
	    /* never altered: JSON Lines is for programs */
	    {"=1+2", 0, "\"=1+2\""},
	    {"\tx", 0, "\"\\tx\""},
	    {"@x", 0, "\"@x\""},
	    {"-001", 0, "\"-001\""},
	};

	(void)state;
	check_cells(cases, ARRAY_SIZE(cases), json_string);
}

/* One row per rule of export_is_formula(): blanks, signs, widths. */
static void test_export__is_formula(void **state)
{
	static const struct {
		const char *in;
		int want;
	} cases[] = {
	    {NULL, 0},
	    {"", 0},
	    {"Acme", 0},
	    {"a=b", 0},
	    {"'=1", 0},
	    {"=1+2", 1},
	    {"+33", 1},
	    {"-5", 1},
	    {"@SUM(1)", 1},
	    /* OWASP: a leading tab or CR on its own */
	    {"\tx", 1},
	    {"\rx", 1},
	    {"\nx", 0},
	    /* the sign after leading blanks */
	    {" =1", 1},
	    {"  \t @x", 1},
	    {"\n=1", 1},
	    {"\r\n+1", 1},
	    {"\v\f-1", 1},
	    {"\xc2\xa0=1", 1},	   /* U+00A0 no-break space */
	    {"\xe3\x80\x80@1", 1}, /* U+3000 ideographic space */
	    {"\xe2\x80\x83=1", 1}, /* U+2003 em space */
	    {"\xe2\x80\x8b=1", 1}, /* U+200B zero-width space */
	    {"\xef\xbb\xbf=1", 1}, /* U+FEFF zero-width no-break space */
	    {"\xe2\x80\xa8=1", 1}, /* U+2028 line separator */
	    {"\xe2\x80\xaf+1", 1}, /* U+202F narrow no-break space */
	    {"   plain", 0},
	    {"   ", 0},
	    {"\xc2\xa0", 0},
	    /* fullwidth and small signs */
	    {"\xef\xbc\x9d"
	     "1",
	     1}, /* U+FF1D fullwidth = */
	    {"\xef\xbc\x8b"
	     "1",
	     1}, /* U+FF0B fullwidth + */
	    {"\xef\xbc\x8d"
	     "1",
	     1},		  /* U+FF0D fullwidth - */
	    {"\xef\xbc\xa0x", 1}, /* U+FF20 fullwidth @ */
	    {"\xe3\x80\x80\xef\xbc\x9d"
	     "1",
	     1},		  /* U+3000 then U+FF1D */
	    {"\xef\xb9\xa6x", 1}, /* U+FE66 small = */
	    {"\xef\xbc\xa1", 0},  /* U+FF21 fullwidth A */
	    /* bytes that are not UTF-8 are not blanks */
	    {"\xc2=1", 0},
	    {"\xa0=1", 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		if (export_is_formula(cases[i].in) != cases[i].want)
			fail_msg("case %zu [%s]: got %d, want %d", i,
				 cases[i].in ? cases[i].in : "(null)", !cases[i].want,
				 cases[i].want);
}

static void test_export__format_parse(void **state)
{
	enum export_format f;

	(void)state;
	assert_int_equal(export_format_parse("csv", &f), 0);
	assert_int_equal(f, EXPORT_CSV);
	assert_int_equal(export_format_parse("jsonl", &f), 0);
	assert_int_equal(f, EXPORT_JSONL);
	assert_int_equal(export_format_parse("ndjson", &f), 0);
	assert_int_equal(f, EXPORT_JSONL);
	assert_int_equal(export_format_parse("xlsx", &f), -1);
	assert_int_equal(export_format_parse("CSV ", &f), -1);
}

/* 2026-11-28T16:00:00.000Z and 2027-02-26T16:00:00.000Z */
#define T_UPDATED 1795881600000LL
#define T_EXPIRES 1803657600000LL

static void test_export__parse_since(void **state)
{
	int64_t ms = 0;

	(void)state;
	assert_int_equal(export_parse_since("2026-11-28T16:00:00Z", T_EXPIRES, &ms), 0);
	assert_int_equal(ms, T_UPDATED);
	assert_int_equal(export_parse_since("2026-11-28", T_EXPIRES, &ms), 0);
	assert_int_equal(ms, T_UPDATED - 16 * 3600 * 1000LL);
	assert_int_equal(export_parse_since("24h", T_UPDATED, &ms), 0);
	assert_int_equal(ms, T_UPDATED - 24 * 3600 * 1000LL);
	assert_int_equal(export_parse_since("90m", T_UPDATED, &ms), 0);
	assert_int_equal(ms, T_UPDATED - 90 * 60 * 1000LL);
	assert_int_equal(export_parse_since("yesterday", T_UPDATED, &ms), -1);
	assert_int_equal(export_parse_since("", T_UPDATED, &ms), -1);
}

/* ---- rows -------------------------------------------------------------- */

static const struct export_row created_row = {
    .customer_id = "acme-1",
    .customer_name = "Acme, \"Widgets\"\nInc.",
    .state = STATE_CREATED,
    .session_id = "3f1c7a52-1b2e-4c1d-9d7e-0a1b2c3d4e5f",
    .connect_url = "https://connect.tryfinch.com/authorize?session=3f1c7a52",
    .connection_id = NULL,
    .expires_at_ms = T_EXPIRES,
    .attempts = 2,
    .http_status = 201,
    .finch_code = NULL,
    .error = NULL,
    .updated_at_ms = T_UPDATED,
};

static const struct export_row failed_row = {
    .customer_id = "=cmd|' /C calc'!A0",
    .customer_name = "Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac",
    .state = STATE_FAILED,
    .attempts = 5,
    .http_status = 400,
    .finch_code = "invalid_request",
    .error = "-products: unknown product 'foo'",
    .updated_at_ms = T_UPDATED + 1,
};

static const struct export_row invalid_row = {
    .customer_id = "bad",
    .customer_name = "Bad",
    .state = STATE_INVALID,
    .attempts = 0,
    .error = "customers.csv:7: customer_email: is not an email address",
    .updated_at_ms = T_UPDATED,
};

#define BOM "\xef\xbb\xbf"

/* Writes rows through a writer into a malloc'd string; the caller frees. */
static char *write_rows(enum export_format fmt, int raw, const struct export_row *rows, size_t n)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);
	struct export_writer w;

	assert_non_null(f);
	export_writer_init(&w, f, "memory", fmt, raw);
	assert_int_equal(export_writer_begin(&w), 0);
	for (i = 0; i < n; i++)
		assert_int_equal(export_writer_row(&w, &rows[i]), 0);
	assert_int_equal(export_writer_finish(&w), 0);
	assert_int_equal(w.rows, (int64_t)n);
	export_writer_release(&w);
	fclose(f);
	return buf;
}

static void test_export__csv_rows(void **state)
{
	const struct export_row rows[] = {created_row, failed_row, invalid_row};
	char *got = write_rows(EXPORT_CSV, 0, rows, ARRAY_SIZE(rows));
	const char *want =
	    "customer_id,customer_name,status,session_id,connect_url,connection_id,"
	    "expires_at,attempts,http_status,finch_code,error,updated_at,next_attempt_at,"
	    "retry_until,customer_email,changed,withdrawn,connection_status,connected_at\r\n"
	    "acme-1,\"Acme, \"\"Widgets\"\"\nInc.\",created,"
	    "3f1c7a52-1b2e-4c1d-9d7e-0a1b2c3d4e5f,"
	    "https://connect.tryfinch.com/authorize?session=3f1c7a52,,"
	    "2027-02-26T16:00:00.000Z,2,201,,,2026-11-28T16:00:00.000Z,,,,,,,\r\n"
	    "'=cmd|' /C calc'!A0,Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac,failed,,,,,5,400,"
	    "invalid_request,'-products: unknown product 'foo',2026-11-28T16:00:00.001Z,,,,,,,\r\n"
	    "bad,Bad,invalid,,,,,0,,,customers.csv:7: customer_email: is not an email "
	    "address,2026-11-28T16:00:00.000Z,,,,,,,\r\n";

	(void)state;
	assert_string_equal(got, want);
	free(got);
}

/* connection_status and connected_at: text neutralised like any cell in CSV, exact in JSON. */
static void test_export__connection_columns(void **state)
{
	struct export_row rows[] = {created_row, created_row};
	char *csv, *jsonl;

	(void)state;
	rows[0].state = STATE_EXISTS;
	rows[0].connection_id = "conn-1";
	rows[0].connection_status = "reauth";
	rows[0].connected_at_ms = T_UPDATED;
	rows[1].connection_status = "=1+1"; /* never stored (connection.h), but never a formula */
	csv = write_rows(EXPORT_CSV, 0, rows, ARRAY_SIZE(rows));
	jsonl = write_rows(EXPORT_JSONL, 0, rows, ARRAY_SIZE(rows));
	assert_non_null(strstr(csv, ",,,,,reauth,2026-11-28T16:00:00.000Z\r\n"));
	assert_non_null(strstr(csv, ",,,,,'=1+1,\r\n"));
	assert_non_null(strstr(jsonl, "\"connection_status\":\"reauth\","
				      "\"connected_at\":\"2026-11-28T16:00:00.000Z\"}\n"));
	assert_non_null(strstr(jsonl, "\"connection_status\":\"=1+1\",\"connected_at\":null}\n"));
	free(csv);
	free(jsonl);
}

static void test_export__csv_raw(void **state)
{
	const struct export_row rows[] = {failed_row};
	char *got = write_rows(EXPORT_CSV, 1, rows, ARRAY_SIZE(rows));

	(void)state;
	assert_contains(got, "\r\n=cmd|' /C calc'!A0,");
	assert_contains(got, ",-products: unknown product 'foo',");
	assert_lacks(got, "'=");
	free(got);
}

static void test_export__writer_bom(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct export_writer w;

	(void)state;
	assert_non_null(f);
	export_writer_init(&w, f, "memory", EXPORT_CSV, 0);
	assert_int_equal(w.bom, 0);
	w.bom = 1;
	assert_int_equal(export_writer_begin(&w), 0);
	assert_int_equal(export_writer_row(&w, &created_row), 0);
	assert_int_equal(export_writer_finish(&w), 0);
	export_writer_release(&w);
	fclose(f);
	assert_memory_equal(buf, BOM "customer_id,", 15);
	assert_lacks(buf + 3, BOM);
	free(buf);
}

/* --columns: chosen and ordered, kept columns from the row's JSON, neutralised like any text. */
static void test_export__chosen_columns(void **state)
{
	struct export_row row = created_row;
	struct export_columns cols;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	struct export_writer w;

	(void)state;
	row.customer_email = "-hr@acme.example";
	row.products = "company directory";
	row.minutes_to_expire = 1440;
	row.manual = 1;
	row.kept = "{\"Account Owner\":\"@Pat, O'Brien\",\"Region\":\"EU\"}";
	row.recordkeeper = "voya";
	row.recordkeeping_plan_id = "=plan-1";
	assert_int_equal(
	    export_columns_parse(" customer_id , customer_email,products,minutes_to_expire,manual,"
				 "account owner,redirect_uri,recordkeeping_recordkeeper,"
				 "Recordkeeping Plan ID",
				 &cols),
	    0);
	assert_int_equal(cols.c[8].id, EXPORT_COL_RECORDKEEPING_PLAN_ID);
	assert_true(cols.any_kept);
	for (int fmt = EXPORT_CSV; fmt <= EXPORT_JSONL; fmt++) {
		f = open_memstream(&buf, &len);
		export_writer_init(&w, f, "memory", (enum export_format)fmt, 0);
		w.cols = &cols;
		assert_int_equal(export_writer_begin(&w), 0);
		assert_int_equal(export_writer_row(&w, &row), 0);
		assert_int_equal(export_writer_finish(&w), 0);
		export_writer_release(&w);
		fclose(f);
		assert_string_equal(
		    buf,
		    fmt == EXPORT_CSV
			? "customer_id,customer_email,products,minutes_to_expire,manual,account "
			  "owner,redirect_uri,recordkeeping_recordkeeper,Recordkeeping Plan "
			  "ID\r\nacme-1,'-hr@acme.example,company "
			  "directory,1440,true,\"'@Pat, O'Brien\",,voya,'=plan-1\r\n"
			: "{\"customer_id\":\"acme-1\",\"customer_email\":\"-hr@acme.example\","
			  "\"products\":\"company directory\",\"minutes_to_expire\":1440,"
			  "\"manual\":true,\"account owner\":\"@Pat, O'Brien\","
			  "\"redirect_uri\":null,\"recordkeeping_recordkeeper\":\"voya\","
			  "\"Recordkeeping Plan ID\":\"=plan-1\"}\n");
		free(buf);
		buf = NULL;
	}
	export_columns_release(&cols);
	assert_int_equal(export_columns_parse("customer_id,,status", &cols), -1);
	assert_int_equal(export_columns_parse("status,status", &cols), -1);
	/* a field and a kept column are named like headers: one name, two spellings */
	assert_int_equal(export_columns_parse("Status,status", &cols), -1);
	assert_int_equal(export_columns_parse("Account Owner,account-owner", &cols), -1);
}

/* --columns LIST is read CSV-style: a name in double quotes may hold a comma. */
static void test_export__columns_quoted(void **state)
{
	static const struct {
		const char *list;
		int ret;
		const char *names; /* the names read, joined by '|' */
	} t[] = {
	    {"customer_id,\"Owner, Primary\"", 0, "customer_id|Owner, Primary"},
	    {" \"Owner, Primary\" , status", 0, "Owner, Primary|status"},
	    {"\"say \"\"hi\"\"\",customer_id", 0, "say \"hi\"|customer_id"},
	    {"customer_id,Account Owner", 0, "customer_id|Account Owner"},
	    {"customer_id,\"status\"", 0, "customer_id|status"},
	    {"customer_id,\"Owner, Primary", -1, NULL},
	    {"customer_id,\"Owner\" Primary", -1, NULL},
	    {"customer_id,\"\"", -1, NULL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		struct export_columns cols;
		struct strbuf got = STRBUF_INIT;
		int r = export_columns_parse(t[i].list, &cols);

		if (r != t[i].ret)
			fail_msg("%s: returned %d", t[i].list, r);
		if (r < 0)
			continue;
		for (size_t j = 0; j < cols.n; j++)
			strbuf_addf(&got, "%s%s", j ? "|" : "", cols.c[j].name);
		if (strcmp(got.buf, t[i].names))
			fail_msg("%s: read %s", t[i].list, got.buf);
		strbuf_release(&got);
		export_columns_release(&cols);
	}
}

/* Found by fuzz_export: INT64_MIN overflowed; times clamp to years 0000..9999. */
static void test_export__extreme_times_clamp(void **state)
{
	struct export_row row = created_row;
	char *got;

	(void)state;
	row.expires_at_ms = INT64_MIN;
	row.updated_at_ms = INT64_MAX;
	got = write_rows(EXPORT_CSV, 0, &row, 1);
	assert_contains(got, ",0000-01-01T00:00:00.000Z,");
	assert_contains(got, ",9999-12-31T23:59:59.999Z,");
	free(got);
	row.expires_at_ms = -1;
	row.updated_at_ms = ISO8601_MAX_MS + 1;
	got = write_rows(EXPORT_JSONL, 0, &row, 1);
	assert_contains(got, "\"1969-12-31T23:59:59.999Z\"");
	assert_contains(got, "\"9999-12-31T23:59:59.999Z\"");
	free(got);
}

static void test_export__csv_header_only(void **state)
{
	char *got = write_rows(EXPORT_CSV, 0, NULL, 0);

	(void)state;
	assert_string_equal(got, "customer_id,customer_name,status,session_id,connect_url,"
				 "connection_id,expires_at,attempts,http_status,finch_code,"
				 "error,updated_at,next_attempt_at,retry_until,customer_email,"
				 "changed,withdrawn,connection_status,connected_at\r\n");
	free(got);
}

/* Parses one JSON line and checks the keys come in the column order. */
static cJSON *parse_line(const char *line, size_t len)
{
	cJSON *o = cJSON_ParseWithLength(line, len);
	const cJSON *it;
	size_t i = 0;

	if (!o)
		fail_msg("line does not parse: %.*s", (int)len, line);
	assert_true(cJSON_IsObject(o));
	cJSON_ArrayForEach(it, o)
	{
		assert_true(i < EXPORT_NCOLUMNS);
		assert_string_equal(it->string, export_columns[i]);
		i++;
	}
	assert_int_equal(i, EXPORT_NCOLUMNS);
	return o;
}

static const char *str_of(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void test_export__jsonl_parses(void **state)
{
	const struct export_row rows[] = {created_row, failed_row, invalid_row};
	char *got = write_rows(EXPORT_JSONL, 0, rows, ARRAY_SIZE(rows));
	cJSON *o[3];
	const char *p = got, *nl;
	size_t n = 0;

	(void)state;
	while ((nl = strchr(p, '\n'))) {
		assert_true(n < ARRAY_SIZE(o));
		o[n++] = parse_line(p, (size_t)(nl - p));
		p = nl + 1;
	}
	assert_string_equal(p, "");
	assert_int_equal(n, 3);

	assert_string_equal(str_of(o[0], "customer_name"), "Acme, \"Widgets\"\nInc.");
	assert_string_equal(str_of(o[0], "status"), "created");
	assert_string_equal(str_of(o[0], "expires_at"), "2027-02-26T16:00:00.000Z");
	assert_string_equal(str_of(o[0], "updated_at"), "2026-11-28T16:00:00.000Z");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o[0], "connection_id")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o[0], "error")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(o[0], "attempts")));
	assert_int_equal(cJSON_GetObjectItem(o[0], "attempts")->valueint, 2);
	assert_int_equal(cJSON_GetObjectItem(o[0], "http_status")->valueint, 201);

	assert_string_equal(str_of(o[1], "customer_id"), "=cmd|' /C calc'!A0");
	assert_string_equal(str_of(o[1], "customer_name"),
			    "Z\xc3\xbcrich \xe6\x9d\xb1\xe4\xba\xac");
	assert_string_equal(str_of(o[1], "finch_code"), "invalid_request");
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o[1], "expires_at")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o[1], "session_id")));

	assert_true(cJSON_IsNull(cJSON_GetObjectItem(o[2], "http_status")));
	assert_int_equal(cJSON_GetObjectItem(o[2], "attempts")->valueint, 0);
	assert_string_equal(str_of(o[2], "status"), "invalid");

	for (n = 0; n < ARRAY_SIZE(o); n++)
		cJSON_Delete(o[n]);
	free(got);
}

static void test_export__jsonl_raw(void **state)
{
	const struct export_row rows[] = {failed_row};
	char *got = write_rows(EXPORT_JSONL, 1, rows, ARRAY_SIZE(rows));
	cJSON *o = parse_line(got, strlen(got) - 1);

	(void)state;
	assert_string_equal(str_of(o, "customer_id"), "=cmd|' /C calc'!A0");
	assert_string_equal(str_of(o, "error"), "-products: unknown product 'foo'");
	cJSON_Delete(o);
	free(got);
}

/* A full stream reports the failure instead of pretending it wrote the row. */
static void test_export__write_error(void **state)
{
	char buf[64];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	struct export_writer w;
	int ret = 0, i;

	(void)state;
	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	export_writer_init(&w, f, "memory", EXPORT_CSV, 0);
	for (i = 0; i < 10 && !ret; i++)
		ret = export_writer_row(&w, &created_row);
	if (!ret)
		ret = export_writer_finish(&w);
	assert_int_equal(ret, -1);
	export_writer_release(&w);
	fclose(f);
}

UNIT_TEST_MAIN(
    cmocka_unit_test(test_export__csv_field), cmocka_unit_test(test_export__json_string),
    cmocka_unit_test(test_export__format_parse), cmocka_unit_test(test_export__parse_since),
    cmocka_unit_test(test_export__csv_rows), cmocka_unit_test(test_export__csv_raw),
    cmocka_unit_test(test_export__connection_columns), cmocka_unit_test(test_export__is_formula),
    cmocka_unit_test(test_export__csv_header_only), cmocka_unit_test(test_export__writer_bom),
    cmocka_unit_test(test_export__extreme_times_clamp),
    cmocka_unit_test(test_export__chosen_columns), cmocka_unit_test(test_export__jsonl_parses),
    cmocka_unit_test(test_export__jsonl_raw), cmocka_unit_test(test_export__write_error),
    cmocka_unit_test(test_export__columns_quoted))
