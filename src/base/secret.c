/*
 * secret.c: undumpable process, locked and wiped secrets; see secret.h.
 */
#include "base/secret.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/util.h"

/* Secrets alive at once (the secret, its redaction forms): wiped at exit. */
#define MAX_LIVE 16

struct header {
	size_t map_len; /* the whole mapping, this header included */
	size_t len;	/* the bytes after it that hold the secret */
};

static char *live[MAX_LIVE];
static int atexit_done;

static void wipe_all(void)
{
	for (size_t i = 0; i < MAX_LIVE; i++) {
		if (live[i]) {
			struct header *h = (struct header *)(void *)(live[i] - sizeof(*h));

			explicit_bzero(live[i], h->len);
		}
	}
}

void secret_harden(void)
{
	struct rlimit none = {0, 0};

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &none);
}

char *secret_dup(const char *s, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t map_len = (sizeof(struct header) + len + 1 + page - 1) / page * page;
	struct header *h;
	char *p;

	h = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h == MAP_FAILED)
		die("out of memory for a secret (%zu bytes)", len);
	/* never on swap, where it would outlive the process; refused past RLIMIT_MEMLOCK */
	mlock(h, map_len);
	madvise(h, map_len, MADV_DONTDUMP);
	h->map_len = map_len;
	h->len = len + 1;
	p = (char *)(h + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	for (size_t i = 0; i < MAX_LIVE; i++) {
		if (!live[i]) {
			live[i] = p;
			break;
		}
	}
	if (!atexit_done)
		atexit_done = atexit(wipe_all) == 0;
	return p;
}

void secret_free(char *s)
{
	struct header *h;
	size_t map_len;

	if (!s)
		return;
	h = (struct header *)(void *)(s - sizeof(*h));
	for (size_t i = 0; i < MAX_LIVE; i++)
		if (live[i] == s)
			live[i] = NULL;
	explicit_bzero(s, h->len);
	map_len = h->map_len;
	munlock(h, map_len);
	munmap(h, map_len);
}
