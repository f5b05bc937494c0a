/*
 * outpath.c: see outpath.h.
 */
#include "output/outpath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/journal.h"
#include "base/strbuf.h"
#include "base/util.h"

/* SYMLOOP_MAX on Linux: more links than this is a loop (ELOOP). */
#define MAX_LINKS 40

/* Splits path into its folder ("." when none) and its last component. */
static void split(const char *path, struct strbuf *dir, const char **base)
{
	const char *slash = strrchr(path, '/');

	strbuf_reset(dir);
	if (slash)
		strbuf_add(dir, path, slash == path ? 1 : (size_t)(slash - path));
	else
		strbuf_addch(dir, '.');
	*base = slash ? slash + 1 : path;
}

/*
 * Follows the symlinks at path's last component into cur (at most
 * MAX_LINKS). -1 (errno set) on a loop or an unreadable link.
 */
static int follow_links(const char *path, struct strbuf *cur)
{
	struct strbuf dir = STRBUF_INIT;
	char link[PATH_MAX];
	const char *base;
	int ret = -1;

	strbuf_reset(cur);
	strbuf_addstr(cur, path);
	for (int n = 0;; n++) {
		struct stat sb;
		ssize_t len;

		if (lstat(cur->buf, &sb) < 0 || !S_ISLNK(sb.st_mode))
			break;
		if (n == MAX_LINKS) {
			errno = ELOOP;
			goto out;
		}
		len = readlink(cur->buf, link, sizeof(link) - 1);
		if (len < 0)
			goto out;
		link[len] = '\0';
		/* a relative target is relative to the link's folder */
		split(cur->buf, &dir, &base);
		strbuf_reset(cur);
		if (link[0] != '/' && strcmp(dir.buf, "."))
			strbuf_addf(cur, "%s/", dir.buf);
		strbuf_addstr(cur, link);
	}
	ret = 0;
out:
	strbuf_release(&dir);
	return ret;
}

int outpath_resolve(const char *path, struct strbuf *out)
{
	struct strbuf cur = STRBUF_INIT, dir = STRBUF_INIT;
	const char *base;
	char *real = NULL;
	int ret = -1;

	if (follow_links(path, &cur) < 0)
		goto out;
	split(cur.buf, &dir, &base);
	real = realpath(dir.buf, NULL);
	if (!real)
		goto out;
	strbuf_reset(out);
	strbuf_addstr(out, real);
	if (strcmp(real, "/"))
		strbuf_addch(out, '/');
	strbuf_addstr(out, base);
	ret = 0;
out:
	free(real);
	strbuf_release(&cur);
	strbuf_release(&dir);
	return ret;
}

/* The names of standard output that must not be replaced by a rename. */
static int is_stdout_name(const char *out)
{
	return !strcmp(out, "-") || !strcmp(out, "/dev/stdout") || !strcmp(out, "/dev/fd/1") ||
	       !strcmp(out, "/proc/self/fd/1");
}

/* Devices every user may write to directly, whoever owns them. */
static int is_shared_device_name(const char *out)
{
	return !strcmp(out, "/dev/null") || !strcmp(out, "/dev/stderr");
}

/*
 * -1 after an error if out (existing: *osb, else NULL; resolved: rout)
 * names guarded, which is what (the database, its -wal...).
 */
static int refuse_if_same(const char *opt, const char *out, const struct stat *osb,
			  const char *rout, const char *guarded, const char *what)
{
	struct strbuf rg = STRBUF_INIT;
	struct stat gsb;
	int same;

	if (!strcmp(guarded, "-")) {
		/* the CSV read from stdin: its file, when it is one, is guarded */
		same = osb && fstat(STDIN_FILENO, &gsb) == 0 && S_ISREG(gsb.st_mode) &&
		       osb->st_dev == gsb.st_dev && osb->st_ino == gsb.st_ino;
		if (same)
			return error("%s '%s' is %s (standard input): refusing to overwrite it",
				     opt, out, what);
		return 0;
	}
	if (osb && stat(guarded, &gsb) == 0)
		same = osb->st_dev == gsb.st_dev && osb->st_ino == gsb.st_ino;
	else
		same = outpath_resolve(guarded, &rg) == 0 && !strcmp(rg.buf, rout);
	strbuf_release(&rg);
	if (same)
		return error("%s '%s' is %s '%s': refusing to overwrite it", opt, out, what,
			     guarded);
	return 0;
}

/*
 * -1 after an error if out names db or one of its side files, under the
 * name given or under the database's resolved name (a symlinked --db has
 * its side files beside its target).
 */
static int refuse_db(const char *opt, const char *out, const struct stat *osb, const char *rout,
		     const char *db)
{
	static const struct {
		const char *suffix, *what;
	} sides[] = {
	    {"", "the database"},
	    {"-wal", "the database's write-ahead log"},
	    {"-shm", "the database's shared-memory file"},
	    {"-journal", "the database's rollback journal"},
	    {"-lock", "the database's lock file"},
	    {JOURNAL_SUFFIX, "the database's answers journal"},
	};
	struct strbuf rdb = STRBUF_INIT, side = STRBUF_INIT;
	const char *names[2] = {db, NULL};
	int ret = -1;

	if (outpath_resolve(db, &rdb) == 0 && strcmp(rdb.buf, db))
		names[1] = rdb.buf;
	for (size_t n = 0; n < ARRAY_SIZE(names) && names[n]; n++) {
		for (size_t i = 0; i < ARRAY_SIZE(sides); i++) {
			strbuf_reset(&side);
			strbuf_addf(&side, "%s%s", names[n], sides[i].suffix);
			if (refuse_if_same(opt, out, osb, rout, side.buf, sides[i].what) < 0)
				goto out;
		}
	}
	ret = 0;
out:
	strbuf_release(&rdb);
	strbuf_release(&side);
	return ret;
}

int outpath_check(const char *out, const char *db, const char *csv, struct outpath *op)
{
	return outpath_check_as("--out", out, db, csv, NULL, op);
}

int outpath_check_as(const char *opt, const char *out, const char *db, const char *csv,
		     const char *other, struct outpath *op)
{
	struct strbuf rout = STRBUF_INIT, dir = STRBUF_INIT, cur = STRBUF_INIT;
	struct stat sb, *osb = NULL;
	const char *base;
	int ret = -1;

	op->kind = OUTPATH_STDOUT;
	op->file = NULL;
	op->at.dirfd = -1;
	strbuf_init(&op->at.dir, 0);
	strbuf_init(&op->at.base, 0);
	if (is_stdout_name(out))
		return 0;
	if (!*out)
		return error("%s: empty file name (use '-' for standard output)", opt);
	if (stat(out, &sb) == 0) {
		osb = &sb;
		if (S_ISDIR(sb.st_mode))
			return error("%s '%s' is a folder, not a file", opt, out);
		if (!S_ISREG(sb.st_mode) && !S_ISFIFO(sb.st_mode) && !S_ISCHR(sb.st_mode))
			return error("%s '%s' is neither a file, a FIFO nor a character device",
				     opt, out);
	} else if (errno != ENOENT) {
		return error_errno("%s '%s'", opt, out);
	}
	if (outpath_resolve(out, &rout) < 0) {
		int err = errno;

		if (err != ENOENT && err != ENOTDIR) {
			errno = err;
			error_errno("%s '%s'", opt, out);
		} else if (follow_links(out, &cur) == 0 && strcmp(cur.buf, out)) {
			/* a dangling symlink: name its target's missing folder */
			split(cur.buf, &dir, &base);
			error("%s '%s' is a symlink to '%s': folder '%s' does not exist", opt, out,
			      cur.buf, dir.buf);
		} else {
			split(out, &dir, &base);
			error("%s '%s': folder '%s' does not exist", opt, out, dir.buf);
		}
		goto out;
	}
	if (db && refuse_db(opt, out, osb, rout.buf, db) < 0)
		goto out;
	if (csv && refuse_if_same(opt, out, osb, rout.buf, csv, "the input CSV") < 0)
		goto out;
	if (other && !is_stdout_name(other) &&
	    refuse_if_same(opt, out, osb, rout.buf, other, "the export (--out)") < 0)
		goto out;
	if (is_shared_device_name(out)) {
		op->kind = OUTPATH_DIRECT;
		op->file = xstrdup(out);
		ret = 0;
		goto out;
	}
	/* from here on, what the walk opened is what gets written (safepath.h) */
	if (safepath_walk(&op->at, out, opt) < 0)
		goto out;
	if (op->at.exists && S_ISDIR(op->at.st.st_mode)) {
		error("%s '%s' is a folder, not a file", opt, out);
		goto out;
	}
	if (op->at.exists && (S_ISFIFO(op->at.st.st_mode) || S_ISCHR(op->at.st.st_mode))) {
		if (op->at.st.st_uid != geteuid()) {
			error("%s '%s' is a %s owned by uid %lu, not by this user (uid %lu): "
			      "refusing to write to it",
			      opt, out, S_ISFIFO(op->at.st.st_mode) ? "FIFO" : "character device",
			      (unsigned long)op->at.st.st_uid, (unsigned long)geteuid());
			goto out;
		}
		op->kind = OUTPATH_DIRECT;
		op->file = xstrdup(out);
		ret = 0;
		goto out;
	}
	if (op->at.exists && !S_ISREG(op->at.st.st_mode)) {
		error("%s '%s' is neither a file, a FIFO nor a character device", opt, out);
		goto out;
	}
	split(rout.buf, &dir, &base);
	if (!*base || !strcmp(base, ".") || !strcmp(base, "..")) {
		error("%s '%s' is not a file name", opt, out);
		goto out;
	}
	if (faccessat(op->at.dirfd, ".", W_OK | X_OK, 0) < 0) {
		error_errno("%s '%s': cannot write in folder '%s'", opt, out, dir.buf);
		goto out;
	}
	op->kind = OUTPATH_REPLACE;
	op->file = strbuf_detach(&rout, NULL);
	ret = 0;
out:
	if (ret)
		outpath_release(op);
	strbuf_release(&rout);
	strbuf_release(&dir);
	strbuf_release(&cur);
	return ret;
}

void outpath_release(struct outpath *op)
{
	free(op->file);
	op->file = NULL;
	safepath_release(&op->at);
}

int outpath_open_direct(const struct outpath *op, const char *what)
{
	int fd;

	if (op->at.dirfd < 0)
		fd = open(op->file, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	else
		fd = safepath_open(&op->at, O_WRONLY | O_NOCTTY, 0);
	if (fd < 0)
		return error_errno("%scannot open '%s'", what, op->file);
	return fd;
}

int outpath_begin_replace(const struct outpath *op, struct atomic_file *af, mode_t mode,
			  const char *what)
{
	return atomic_file_begin_at(af, op->at.dirfd, op->at.dir.buf, op->at.base.buf, op->file,
				    mode, what);
}
