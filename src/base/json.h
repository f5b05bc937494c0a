/*
 * json.h: printing a cJSON tree, the one way every module does it.
 */
#ifndef FINCH_JSON_H
#define FINCH_JSON_H

#include <cjson/cJSON.h>

struct strbuf;

/*
 * Prints o unformatted and deletes it. Returns a malloc'd string the caller
 * frees with free(), whatever allocator hooks cJSON uses. Out of memory is
 * fatal (xalloc.h).
 */
char *json_print_delete(cJSON *o);

/* Appends o printed unformatted and a newline to sb (one JSON line), and deletes o. */
void json_add_line_delete(struct strbuf *sb, cJSON *o);

#endif
