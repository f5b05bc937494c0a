/*
 * safepath.c: symlinks followed only when their owner could not have been
 * someone else; see safepath.h.
 */
#define _GNU_SOURCE /* O_PATH */
#include "base/safepath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "base/util.h"

/* SYMLOOP_MAX on Linux: more links than this is a loop (ELOOP). */
#define MAX_LINKS 40

int safepath_trusted_uid(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/* A folder to search, even one this user may search but not list (O_PATH). */
static int open_dir_at(int at, const char *dir)
{
	int fd = openat(at, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && errno == EACCES)
		fd = openat(at, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd;
}

/* Splits p into its folder ("." when none, "/" for the root) and its last component. */
static void split(const char *p, struct strbuf *dir, struct strbuf *base)
{
	const char *slash = strrchr(p, '/');

	strbuf_reset(dir);
	strbuf_reset(base);
	if (slash)
		strbuf_add(dir, p, slash == p ? 1 : (size_t)(slash - p));
	else
		strbuf_addch(dir, '.');
	strbuf_addstr(base, slash ? slash + 1 : p);
}

static int on_procfs(int fd)
{
	struct statfs f;

	return fstatfs(fd, &f) == 0 && f.f_type == PROC_SUPER_MAGIC;
}

/* Moves sp to the folder of link (read from sp's current last component). */
static int step(struct safepath *sp, const char *link, struct strbuf *dir, const char *who)
{
	int fd;

	split(link, dir, &sp->base);
	fd = open_dir_at(link[0] == '/' ? AT_FDCWD : sp->dirfd, dir->buf);
	if (fd < 0)
		return error_errno("%s: cannot open folder '%s'", who, dir->buf);
	if (link[0] == '/' || !strcmp(sp->dir.buf, ".")) {
		strbuf_reset(&sp->dir);
		strbuf_addstr(&sp->dir, dir->buf);
	} else if (strcmp(dir->buf, ".")) {
		strbuf_addf(&sp->dir, "/%s", dir->buf);
	}
	close(sp->dirfd);
	sp->dirfd = fd;
	sp->links++;
	return 0;
}

int safepath_walk(struct safepath *sp, const char *path, const char *opt)
{
	struct strbuf who = STRBUF_INIT, dir = STRBUF_INIT;
	char link[PATH_MAX];
	int ret = -1;

	memset(sp, 0, sizeof(*sp));
	strbuf_init(&sp->dir, 0);
	strbuf_init(&sp->base, 0);
	if (opt)
		strbuf_addf(&who, "%s '%s'", opt, path);
	else
		strbuf_addf(&who, "'%s'", path);
	split(path, &sp->dir, &sp->base);
	sp->dirfd = open_dir_at(AT_FDCWD, sp->dir.buf);
	if (sp->dirfd < 0) {
		error_errno("%s: cannot open folder '%s'", who.buf, sp->dir.buf);
		goto out;
	}
	for (int n = 0;; n++) {
		struct stat dsb;
		ssize_t len;

		if (fstatat(sp->dirfd, sp->base.buf, &sp->st, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno != ENOENT) {
				error_errno("%s: cannot look at '%s'", who.buf, sp->base.buf);
				goto out;
			}
			sp->exists = 0;
			break;
		}
		sp->exists = 1;
		if (!S_ISLNK(sp->st.st_mode))
			break;
		if (fstat(sp->dirfd, &dsb) < 0) {
			error_errno("%s: cannot look at folder '%s'", who.buf, sp->dir.buf);
			goto out;
		}
		if (!safepath_trusted_uid(sp->st.st_uid) || !safepath_trusted_uid(dsb.st_uid)) {
			error("%s is a symlink owned by uid %lu in folder '%s' owned by uid %lu: "
			      "refusing to follow it (a link is followed only when it and its "
			      "folder belong to uid %lu or root)",
			      who.buf, (unsigned long)sp->st.st_uid, sp->dir.buf,
			      (unsigned long)dsb.st_uid, (unsigned long)geteuid());
			goto out;
		}
		if (n == MAX_LINKS) {
			errno = ELOOP;
			error_errno("%s", who.buf);
			goto out;
		}
		if (on_procfs(sp->dirfd)) {
			/* /proc/self/fd/N: the kernel resolves it, its text is no path */
			if (fstatat(sp->dirfd, sp->base.buf, &sp->st, 0) < 0) {
				error_errno("%s", who.buf);
				goto out;
			}
			sp->magic = 1;
			break;
		}
		len = readlinkat(sp->dirfd, sp->base.buf, link, sizeof(link) - 1);
		if (len < 0) {
			error_errno("%s: cannot read the link '%s'", who.buf, sp->base.buf);
			goto out;
		}
		link[len] = '\0';
		if (step(sp, link, &dir, who.buf) < 0)
			goto out;
	}
	ret = 0;
out:
	if (ret)
		safepath_release(sp);
	strbuf_release(&who);
	strbuf_release(&dir);
	return ret;
}

int safepath_open(const struct safepath *sp, int flags, mode_t mode)
{
	struct stat sb;
	int fd =
	    openat(sp->dirfd, sp->base.buf, flags | O_CLOEXEC | (sp->magic ? 0 : O_NOFOLLOW), mode);

	if (fd < 0 || !sp->exists || (flags & O_EXCL))
		return fd;
	if (fstat(fd, &sb) < 0 || sb.st_dev != sp->st.st_dev || sb.st_ino != sp->st.st_ino) {
		close(fd);
		errno = ESTALE; /* replaced since the walk looked at it */
		return -1;
	}
	return fd;
}

int safepath_refuse_dangling(const struct safepath *sp, const char *path, const char *what)
{
	if (sp->exists || !sp->links)
		return 0;
	return error("'%s' is a symlink to '%s/%s', which does not exist: refusing to create %s "
		     "through it",
		     path, sp->dir.buf, sp->base.buf, what);
}

void safepath_release(struct safepath *sp)
{
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	sp->dirfd = -1;
	strbuf_release(&sp->dir);
	strbuf_release(&sp->base);
}

int safepath_open_input(const char *path)
{
	return safepath_open_input_flags(path, 0);
}

int safepath_open_input_flags(const char *path, int extra)
{
	struct safepath sp;
	int fd = -1, flags = O_RDONLY | O_NOCTTY | extra;

	if (safepath_walk(&sp, path, NULL) < 0)
		return -1;
	if (!sp.exists) {
		errno = ENOENT;
		error_errno("cannot open '%s'", path);
		goto out;
	}
	if (S_ISDIR(sp.st.st_mode)) {
		error("'%s' is a directory, not a CSV file", path);
		goto out;
	}
	if (!S_ISREG(sp.st.st_mode) && !S_ISFIFO(sp.st.st_mode) && !S_ISCHR(sp.st.st_mode)) {
		error("'%s' is not a regular file, a FIFO or a terminal: refusing to read it",
		      path);
		goto out;
	}
	if (S_ISCHR(sp.st.st_mode))
		flags |= O_NONBLOCK; /* a device is looked at, never waited on */
	fd = safepath_open(&sp, flags, 0);
	if (fd < 0) {
		error_errno("cannot open '%s'", path);
		goto out;
	}
	if (S_ISCHR(sp.st.st_mode)) {
		if (!isatty(fd)) {
			close(fd);
			fd = -1;
			error(
			    "'%s' is a device, not a regular file, a FIFO or a terminal: refusing "
			    "to read it",
			    path);
			goto out;
		}
		if (!(extra & O_NONBLOCK))
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	}
out:
	safepath_release(&sp);
	return fd;
}
