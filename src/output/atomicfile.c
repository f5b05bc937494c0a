/*
 * atomicfile.c: temporary file, fsync, rename; see atomicfile.h.
 */
#include "output/atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"

/*
 * Only signals at their default action are caught: an ignored one stays
 * ignored, and a caller's own handler (a run's) is left alone.
 */
static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};

static const char *volatile tmp_in_progress;
static volatile int tmp_dirfd = -1;

static void remove_tmp_on_signal(int sig)
{
	const char *p = tmp_in_progress;

	if (p)
		unlinkat(tmp_dirfd, p, 0);
	/* SA_RESETHAND restored the default action; SA_NODEFER lets it run now. */
	raise(sig);
}

static void guard_install(struct atomic_file *af)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = remove_tmp_on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	tmp_dirfd = af->dirfd;
	tmp_in_progress = af->tmp.buf;
	for (size_t i = 0; i < ARRAY_SIZE(cleanup_signals); i++) {
		af->caught[i] = 0;
		if (sigaction(cleanup_signals[i], NULL, &af->old[i]) < 0 ||
		    af->old[i].sa_handler != SIG_DFL)
			continue;
		af->caught[i] = sigaction(cleanup_signals[i], &sa, NULL) == 0;
	}
}

static void guard_remove(struct atomic_file *af)
{
	for (size_t i = 0; i < ARRAY_SIZE(cleanup_signals); i++)
		if (af->caught[i])
			sigaction(cleanup_signals[i], &af->old[i], NULL);
	memset(af->caught, 0, sizeof(af->caught));
	tmp_in_progress = NULL;
	tmp_dirfd = -1;
}

/* Makes the rename durable: fsync the folder that holds the file. */
static int fsync_dir(const struct atomic_file *af)
{
	/* Some file systems cannot fsync a folder (EINVAL); a search-only one is O_PATH (EBADF). */
	if (fsync(af->dirfd) < 0 && errno != EINVAL && errno != EBADF)
		return error_errno("cannot fsync folder '%s'", af->dir.buf);
	return 0;
}

static void release(struct atomic_file *af)
{
	guard_remove(af);
	if (af->dirfd >= 0)
		close(af->dirfd);
	af->dirfd = -1;
	strbuf_release(&af->dir);
	strbuf_release(&af->base);
	strbuf_release(&af->tmp);
}

/* mkstemp(3) in dirfd: a fresh name, O_EXCL and O_NOFOLLOW, so nothing planted is opened. */
static int create_tmp(struct atomic_file *af)
{
	static const char chars[] =
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[6];
		int fd;

		if (random_bytes(r, sizeof(r)) < 0)
			return -1;
		strbuf_reset(&af->tmp);
		strbuf_addf(&af->tmp, ".%s.", af->base.buf);
		for (size_t i = 0; i < sizeof(r); i++)
			strbuf_addch(&af->tmp, chars[r[i] % (sizeof(chars) - 1)]);
		fd = openat(af->dirfd, af->tmp.buf,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	errno = EEXIST;
	return -1;
}

int atomic_file_begin_at(struct atomic_file *af, int dirfd, const char *dir, const char *base,
			 const char *path, mode_t mode, const char *what)
{
	const char *sep = what ? ": " : "";
	int fd;

	memset(af, 0, sizeof(*af));
	af->path = path;
	af->dirfd = -1;
	strbuf_init(&af->dir, 0);
	strbuf_init(&af->base, 0);
	strbuf_init(&af->tmp, 0);
	if (!what)
		what = "";
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..") || strchr(base, '/')) {
		error("%s%s'%s' is not a file name", what, sep, path);
		release(af);
		return -1;
	}
	strbuf_addstr(&af->dir, dir);
	strbuf_addstr(&af->base, base);
	af->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	fd = af->dirfd < 0 ? -1 : create_tmp(af);
	if (fd < 0) {
		error_errno("%s%scannot create a temporary file in '%s'", what, sep, af->dir.buf);
		strbuf_reset(&af->tmp);
		release(af);
		return -1;
	}
	guard_install(af);
	if (fchmod(fd, mode) < 0 || !(af->f = fdopen(fd, "w"))) {
		error_errno("%s%scannot open '%s'", what, sep, af->tmp.buf);
		close(fd);
		atomic_file_abort(af);
		return -1;
	}
	return 0;
}

int atomic_file_begin(struct atomic_file *af, const char *path, mode_t mode, const char *what)
{
	const char *slash = strrchr(path, '/'), *sep = what ? ": " : "";
	struct strbuf dir = STRBUF_INIT;
	int dirfd, ret;

	if (!*path || (slash && !slash[1])) {
		memset(af, 0, sizeof(*af));
		return error("%s%s'%s' is not a file name", what ? what : "", sep, path);
	}
	if (slash)
		strbuf_add(&dir, path, slash == path ? 1 : (size_t)(slash - path));
	else
		strbuf_addch(&dir, '.');
	dirfd = open(dir.buf, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		memset(af, 0, sizeof(*af));
		ret = error_errno("%s%scannot create a temporary file in '%s'", what ? what : "",
				  sep, dir.buf);
	} else {
		ret = atomic_file_begin_at(af, dirfd, dir.buf, slash ? slash + 1 : path, path, mode,
					   what);
		close(dirfd);
	}
	strbuf_release(&dir);
	return ret;
}

int atomic_file_commit(struct atomic_file *af)
{
	FILE *f = af->f;
	int ret;

	af->f = NULL;
	if (fflush(f) == EOF || fsync(fileno(f)) < 0) {
		error_errno("cannot write '%s'", af->tmp.buf);
		fclose(f);
		goto fail;
	}
	if (fclose(f) == EOF) {
		error_errno("cannot write '%s'", af->tmp.buf);
		goto fail;
	}
	if (renameat(af->dirfd, af->tmp.buf, af->dirfd, af->base.buf) < 0) {
		error_errno("cannot rename '%s' to '%s'", af->tmp.buf, af->path);
		goto fail;
	}
	ret = fsync_dir(af);
	release(af);
	return ret;
fail:
	atomic_file_abort(af);
	return -1;
}

void atomic_file_abort(struct atomic_file *af)
{
	if (af->f)
		fclose(af->f);
	af->f = NULL;
	if (af->tmp.len && af->dirfd >= 0)
		unlinkat(af->dirfd, af->tmp.buf, 0);
	release(af);
}
