/*
 * lockfile.c: see lockfile.h. flock(2) rather than a git-style O_EXCL lock
 * file, because the kernel releases it when its holder dies: a kill -9
 * must never leave the database locked.
 */
#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "strbuf.h"
#include "util.h"

/* Reads the holder's description, written by the process that has the lock. */
static void read_holder(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size - 1, 0);

	if (n <= 0) {
		snprintf(buf, size, "another process");
		return;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int lockfile_acquire(struct lockfile *lk, const char *db_path, const char *what)
{
	struct strbuf sb = STRBUF_INIT;
	char holder[256];
	int fd;

	strbuf_addf(&sb, "%s-lock", db_path);
	fd = open(sb.buf, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		error_errno("cannot open lock file '%s'", sb.buf);
		strbuf_release(&sb);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int busy = errno == EWOULDBLOCK;

		if (busy) {
			read_holder(fd, holder, sizeof(holder));
			error("database '%s' is in use by %s", db_path, holder);
		} else {
			error_errno("cannot lock '%s'", sb.buf);
		}
		close(fd);
		strbuf_release(&sb);
		return busy ? -2 : -1;
	}
	strbuf_reset(&sb);
	strbuf_addf(&sb, "pid %ld (%s %s)\n", (long)getpid(), util_progname(), what);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, sb.buf, sb.len, 0) != (ssize_t)sb.len)
		warning("cannot record the lock holder in '%s-lock'", db_path);
	strbuf_reset(&sb);
	strbuf_addf(&sb, "%s-lock", db_path);
	lk->fd = fd;
	lk->path = strbuf_detach(&sb, NULL);
	return 0;
}

void lockfile_release(struct lockfile *lk)
{
	if (lk->fd >= 0) {
		if (ftruncate(lk->fd, 0) < 0) {
			/* the next holder overwrites it anyway */
		}
		flock(lk->fd, LOCK_UN);
		close(lk->fd);
	}
	lk->fd = -1;
	free(lk->path);
	lk->path = NULL;
}
