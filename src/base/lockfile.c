/*
 * lockfile.c: see lockfile.h. flock(2) on the database file itself, rather
 * than a git-style O_EXCL lock file, because the kernel releases it when its
 * holder dies and because it follows the file, not the name.
 */
#include "base/lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/safepath.h"
#include "base/util.h"

long lockfile_parse_holder(const char *line, unsigned major, unsigned minor, unsigned long inode)
{
	char kind[16], mode[16];
	unsigned maj, min;
	unsigned long ino;
	long pid;

	/* "ID: FLOCK ADVISORY WRITE PID MAJ:MIN:INODE START END"; a waiter has "->" after ID: */
	if (sscanf(line, "%*[0-9]: %15s %*s %15s %ld %x:%x:%lu", kind, mode, &pid, &maj, &min,
		   &ino) != 6)
		return 0;
	if (strcmp(kind, "FLOCK") || strcmp(mode, "WRITE"))
		return 0;
	if (maj != major || min != minor || ino != inode || pid <= 0)
		return 0;
	return pid;
}

/*
 * The pid holding an flock() on (dev, ino), from /proc/locks; 0 if unknown.
 * The file is a seq_file read in pieces: a line can be missed when other
 * locks come and go between two reads (seen under a loaded parallel test
 * run), so an unsuccessful scan is tried again, three times in all.
 */
static long find_holder(dev_t dev, ino_t ino)
{
	char line[256];
	long pid = 0;

	for (int tries = 0; !pid && tries < 3; tries++) {
		FILE *f = fopen("/proc/locks", "re");

		if (!f)
			return 0;
		while (!pid && fgets(line, sizeof(line), f))
			pid =
			    lockfile_parse_holder(line, major(dev), minor(dev), (unsigned long)ino);
		fclose(f);
	}
	return pid;
}

/*
 * Describes pid as "pid N (finch-onboard run)": the base name of its argv[0]
 * and its argv[1], from /proc/N/cmdline, when readable.
 */
static void describe_pid(long pid, char *buf, size_t size)
{
	char path[64], cmd[256];
	const char *argv0, *base;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, cmd, sizeof(cmd) - 2);
		close(fd);
	}
	if (n <= 0) {
		snprintf(buf, size, "pid %ld", pid);
		return;
	}
	cmd[n] = cmd[n + 1] = '\0';
	argv0 = cmd;
	base = strrchr(argv0, '/');
	base = base ? base + 1 : argv0;
	if ((size_t)n > strlen(argv0) + 1)
		snprintf(buf, size, "pid %ld (%s %s)", pid, base, argv0 + strlen(argv0) + 1);
	else
		snprintf(buf, size, "pid %ld (%s)", pid, base);
}

int lockfile_acquire(struct lockfile *lk, const char *db_path, unsigned flags)
{
	int oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct safepath sp;
	char holder[320];
	struct stat sb;
	int fd;

	/* O_NONBLOCK: a FIFO planted at the path must not hang the open; no O_TRUNC, ever */
	if (flags & LOCKFILE_CREATE)
		oflags |= O_CREAT;
	/* another user's symlink is not followed; nothing is created through a dangling one */
	if (safepath_walk(&sp, db_path, "database") < 0)
		return -1;
	if ((flags & LOCKFILE_CREATE) &&
	    safepath_refuse_dangling(&sp, db_path, "the database") < 0) {
		safepath_release(&sp);
		return -1;
	}
	fd = safepath_open(&sp, oflags, 0600);
	safepath_release(&sp);
	if (fd < 0)
		return error_errno("cannot open database '%s'", db_path);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		return error("database '%s' is not a regular file", db_path);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int busy = errno == EWOULDBLOCK;
		long pid;

		if (busy) {
			pid = find_holder(sb.st_dev, sb.st_ino);
			if (pid)
				describe_pid(pid, holder, sizeof(holder));
			else
				snprintf(holder, sizeof(holder), "another process");
			error("database '%s' is in use by %s", db_path, holder);
		} else {
			error_errno("cannot lock database '%s'", db_path);
		}
		close(fd);
		return busy ? -2 : -1;
	}
	lk->fd = fd;
	lk->path = xstrdup(db_path);
	return 0;
}

void lockfile_release(struct lockfile *lk)
{
	if (lk->fd >= 0)
		close(lk->fd); /* drops the flock(); SQLite has closed the database by now */
	lk->fd = -1;
	free(lk->path);
	lk->path = NULL;
}
