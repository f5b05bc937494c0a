/*
 * atomicfile.h: writes a file so that a reader sees the old one or the new
 * one, never half of either (git's lockfile.h, STYLE.md rule 12).
 *
 * The new content goes to a hidden temporary file ".NAME.XXXXXX" in the
 * target's own folder (rename(2) works within one file system only),
 * created with O_EXCL and O_NOFOLLOW (a name someone planted is never
 * opened), gets its mode with fchmod(2) whatever the umask, is fsync(2)'d,
 * renamed over the target, and the folder is fsync'd so the rename
 * survives a power cut. Every step goes through one descriptor of the
 * folder, opened once (openat, renameat, unlinkat): no path is resolved
 * twice, so a folder swapped for a symlink midway changes nothing.
 * A SIGINT, SIGTERM or SIGHUP at its default action that ends the program
 * while the file is open removes the temporary file first.
 *
 * One atomic_file at a time per process (the signal cleanup knows one name).
 */
#ifndef FINCH_ATOMICFILE_H
#define FINCH_ATOMICFILE_H

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/strbuf.h"

struct atomic_file {
	FILE *f;	    /* write the content here, between begin and commit */
	const char *path;   /* the target, borrowed from the caller (for messages) */
	int dirfd;	    /* the target's folder, owned */
	struct strbuf dir;  /* the target's folder's name, for messages */
	struct strbuf base; /* the target's name in dirfd */
	struct strbuf tmp;  /* the temporary file's name in dirfd */
	struct sigaction old[3];
	int caught[3]; /* 1 where begin installed the cleanup handler */
};

/*
 * Creates the temporary file for path with the given mode. Returns 0, or
 * -1 after reporting the error (what names the option or file for the
 * message, e.g. "--metrics-file"; may be NULL).
 */
int atomic_file_begin(struct atomic_file *af, const char *path, mode_t mode, const char *what);

/*
 * The same in the folder dirfd (duplicated: the caller keeps its own),
 * whose name is dir, for the target base in it; path names the target in
 * messages.
 */
int atomic_file_begin_at(struct atomic_file *af, int dirfd, const char *dir, const char *base,
			 const char *path, mode_t mode, const char *what);

/*
 * Flushes, fsyncs and closes the temporary file, renames it over the
 * target and fsyncs the folder. Returns 0, or -1 after reporting the error
 * and removing the temporary file; the target is then untouched.
 */
int atomic_file_commit(struct atomic_file *af);

/* Removes the temporary file; the target is untouched. Safe after a failed commit. */
void atomic_file_abort(struct atomic_file *af);

#endif
