/*
 * json.c: see json.h.
 */
#include "base/json.h"

#include <stdlib.h>

#include "base/strbuf.h"
#include "base/util.h"

/* cJSON's text of o; NULL only when out of memory, which is fatal. */
static char *print(const cJSON *o)
{
	char *text = cJSON_PrintUnformatted(o);

	if (!text)
		die("out of memory printing JSON");
	return text;
}

char *json_print_delete(cJSON *o)
{
	char *printed = print(o);
	char *out = xstrdup(printed);

	cJSON_free(printed);
	cJSON_Delete(o);
	return out;
}

void json_add_line_delete(struct strbuf *sb, cJSON *o)
{
	char *text = print(o);

	strbuf_addstr(sb, text);
	strbuf_addch(sb, '\n');
	cJSON_free(text);
	cJSON_Delete(o);
}
