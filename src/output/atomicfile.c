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

static void remove_tmp_on_signal(int sig)
{
	const char *p = tmp_in_progress;

	if (p)
		unlink(p);
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
}

/* Makes the rename durable: fsync the folder that holds the file. */
static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return error_errno("cannot open folder '%s'", dir);
	/* Some file systems cannot fsync a folder (EINVAL); the rename stands. */
	if (fsync(fd) < 0 && errno != EINVAL)
		ret = error_errno("cannot fsync folder '%s'", dir);
	close(fd);
	return ret;
}

static void release(struct atomic_file *af)
{
	guard_remove(af);
	strbuf_release(&af->dir);
	strbuf_release(&af->tmp);
}

int atomic_file_begin(struct atomic_file *af, const char *path, mode_t mode, const char *what)
{
	const char *slash = strrchr(path, '/');
	int fd;

	memset(af, 0, sizeof(*af));
	af->path = path;
	strbuf_init(&af->dir, 0);
	strbuf_init(&af->tmp, 0);
	const char *sep = what ? ": " : "";

	if (!what)
		what = "";
	if (!*path || (slash && !slash[1]))
		return error("%s%s'%s' is not a file name", what, sep, path);
	if (slash)
		strbuf_add(&af->dir, path, slash == path ? 1 : (size_t)(slash - path));
	else
		strbuf_addch(&af->dir, '.');
	strbuf_addf(&af->tmp, "%s/.%s.XXXXXX", af->dir.buf, slash ? slash + 1 : path);
	fd = mkstemp(af->tmp.buf);
	if (fd < 0) {
		error_errno("%s%scannot create a temporary file in '%s'", what, sep, af->dir.buf);
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
	if (rename(af->tmp.buf, af->path) < 0) {
		error_errno("cannot rename '%s' to '%s'", af->tmp.buf, af->path);
		goto fail;
	}
	ret = fsync_dir(af->dir.buf);
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
	if (af->tmp.len)
		unlink(af->tmp.buf);
	release(af);
}
