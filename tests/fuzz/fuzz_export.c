/*
 * fuzz_export.c: libFuzzer harness for the export writer (export.h).
 *
 * Input: 22 bytes of numbers and switches (format, raw, BOM, state,
 * http_status, attempts, two times that also serve the two others), then the seven text cells
 * separated by NUL bytes; a cell that is the single byte 0x01 is absent (NULL).
 *
 * The output is read back by independent parsers: libcsv (strict, no
 * trimming) for CSV, cJSON for JSON Lines. Invariants: one header and one
 * record of 12 fields (CSV) or one object with the 12 keys (JSON); every
 * text cell comes back as written, or with the leading "'" that neutralises
 * a formula (never when raw); JSON strings are the cell when it is valid
 * UTF-8; a BOM comes only when asked, and only before a CSV.
 */
#include <csv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "output/export.h"
#include "base/util.h"
#include "base/utf8.h"
#include "finch/validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NTEXT 7
/* the columns of the text cells, in export_columns[] */
static const size_t text_column[NTEXT] = {0, 1, 3, 4, 5, 9, 10};

static int64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

struct parsed {
	struct strbuf fields[2 * EXPORT_NCOLUMNS];
	size_t nfields;
	size_t nrecords;
};

static void on_field(void *s, size_t len, void *data)
{
	struct parsed *pr = data;

	if (pr->nfields < ARRAY_SIZE(pr->fields))
		strbuf_add(&pr->fields[pr->nfields], s, len);
	pr->nfields++;
}

static void on_record(int c, void *data)
{
	(void)c;
	((struct parsed *)data)->nrecords++;
}

static int no_space(unsigned char c)
{
	(void)c;
	return 0;
}

/* got is cell, or "'" + cell when not raw */
static void check_cell(const char *got, size_t got_len, const char *cell, int raw, size_t col)
{
	size_t len = cell ? strlen(cell) : 0;

	if (got_len == len && !memcmp(got, cell ? cell : "", len))
		return;
	if (!raw && got_len == len + 1 && got[0] == '\'' && !memcmp(got + 1, cell, len))
		return;
	die("column %s: '%.*s' does not read back as '%s'", export_columns[col], (int)got_len, got,
	    cell ? cell : "(null)");
}

static void check_csv(const char *out, size_t len, const char *const *cells, int raw)
{
	struct csv_parser p;
	struct parsed pr;

	memset(&pr, 0, sizeof(pr));
	for (size_t i = 0; i < ARRAY_SIZE(pr.fields); i++)
		strbuf_init(&pr.fields[i], 0);
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		die("csv_init");
	csv_set_space_func(&p, no_space);
	if (csv_parse(&p, out, len, on_field, on_record, &pr) != len ||
	    csv_fini(&p, on_field, on_record, &pr) != 0)
		die("the CSV does not parse: %s", csv_strerror(csv_error(&p)));
	if (pr.nrecords != 2 || pr.nfields != 2 * EXPORT_NCOLUMNS)
		die("%zu records, %zu fields", pr.nrecords, pr.nfields);
	for (size_t i = 0; i < NTEXT; i++) {
		struct strbuf *f = &pr.fields[EXPORT_NCOLUMNS + text_column[i]];

		check_cell(f->buf, f->len, cells[i], raw, text_column[i]);
	}
	csv_free(&p);
	for (size_t i = 0; i < ARRAY_SIZE(pr.fields); i++)
		strbuf_release(&pr.fields[i]);
}

static void check_jsonl(const char *out, size_t len, const char *const *cells, int raw)
{
	cJSON *o;

	if (!len || out[len - 1] != '\n' || memchr(out, '\n', len - 1))
		die("not one line");
	o = cJSON_ParseWithLength(out, len);
	if (!o || cJSON_GetArraySize(o) != EXPORT_NCOLUMNS)
		die("not one object with %d keys: %s", EXPORT_NCOLUMNS, out);
	for (size_t i = 0; i < NTEXT; i++) {
		const cJSON *v =
		    cJSON_GetObjectItemCaseSensitive(o, export_columns[text_column[i]]);

		if (!cells[i]) {
			if (!cJSON_IsNull(v))
				die("column %s: absent, not null", export_columns[text_column[i]]);
			continue;
		}
		if (!cJSON_IsString(v))
			die("column %s: not a string", export_columns[text_column[i]]);
		/* invalid UTF-8 becomes U+FFFD, and a NUL cannot be in a cell */
		if (utf8_count(cells[i], strlen(cells[i])) >= 0)
			check_cell(v->valuestring, strlen(v->valuestring), cells[i], raw,
				   text_column[i]);
	}
	cJSON_Delete(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *cells[NTEXT] = {NULL};
	struct export_row row;
	struct export_writer w;
	enum export_format format;
	char *text, *out = NULL;
	size_t out_len = 0, start = 0, n = 0;
	int raw, bom;
	FILE *f;

	if (size < 22)
		return 0;
	format = data[0] & 1 ? EXPORT_JSONL : EXPORT_CSV;
	raw = data[0] >> 1 & 1;
	bom = data[0] >> 2 & 1;
	memset(&row, 0, sizeof(row));
	row.state = (enum row_state)(data[1] % 7);
	row.http_status = (long)(data[2] << 8 | data[3]);
	row.attempts = (int64_t)(data[4] << 8 | data[5]);
	row.expires_at_ms = get64(data + 6);
	row.updated_at_ms = get64(data + 14);
	/* the same eight bytes twice: what matters is the range of values */
	row.next_attempt_at_ms = row.expires_at_ms;
	row.retry_until_ms = row.updated_at_ms;

	/* the cells: NUL-separated, "\x01" for absent */
	text = xmalloc(size - 22 + 1);
	memcpy(text, data + 22, size - 22);
	text[size - 22] = '\0';
	for (size_t i = 0; i <= size - 22 && n < NTEXT; i++) {
		if (text[i] == '\0') {
			cells[n++] = strcmp(text + start, "\x01") ? text + start : NULL;
			start = i + 1;
		}
	}
	row.customer_id = cells[0];
	row.customer_name = cells[1];
	row.session_id = cells[2];
	row.connect_url = cells[3];
	row.connection_id = cells[4];
	row.finch_code = cells[5];
	row.error = cells[6];

	f = open_memstream(&out, &out_len);
	if (!f)
		die("open_memstream");
	export_writer_init(&w, f, "memory", format, raw);
	w.bom = bom;
	if (export_writer_begin(&w) < 0 || export_writer_row(&w, &row) < 0 ||
	    export_writer_finish(&w) < 0)
		die("the writer failed on a memory stream");
	export_writer_release(&w);
	fclose(f);

	if (format == EXPORT_CSV) {
		size_t skip = bom ? 3 : 0;

		if (bom && memcmp(out, "\xef\xbb\xbf", 3))
			die("no BOM");
		check_csv(out + skip, out_len - skip, cells, raw);
	} else {
		check_jsonl(out, out_len, cells, raw);
	}
	free(out);
	free(text);
	return 0;
}
