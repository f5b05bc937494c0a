/*
 * xalloc.c: the one out-of-memory policy, and the program's name.
 */
#include "base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *progname = "finch-onboard";

void util_set_progname(const char *name)
{
	progname = name;
}

const char *util_progname(void)
{
	return progname;
}

void out_of_memory(size_t size)
{
	fprintf(stderr, "%s: fatal: out of memory allocating %zu bytes\n", progname, size);
	abort();
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		out_of_memory(size);
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		out_of_memory(nmemb * size);
	return p;
}

void *xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		out_of_memory(size);
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void bug(const char *msg)
{
	fprintf(stderr, "%s: fatal: BUG: %s\n", progname, msg);
	abort();
}
