/*
 * xalloc.h: the one out-of-memory policy (allocators that never return
 * NULL), and the program's name that every message starts with. The lowest
 * module of all: it includes nothing of ours, so strbuf.c and util.c can
 * both stand on it.
 */
#ifndef FINCH_XALLOC_H
#define FINCH_XALLOC_H

#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocators that never return NULL: they print a message and abort. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* Prints "PROG: fatal: out of memory allocating SIZE bytes" and aborts. */
_Noreturn void out_of_memory(size_t size);
/*
 * Prints "PROG: fatal: BUG: MSG" and aborts: a broken invariant of the
 * program itself (git's BUG()), never a user's mistake.
 */
_Noreturn void bug(const char *msg);

/*
 * The name printed before every message ("finch-onboard", "finch-mock").
 * Set once from main(); defaults to "finch-onboard".
 */
void util_set_progname(const char *name);
const char *util_progname(void);

#endif
