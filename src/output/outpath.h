/*
 * outpath.h: where an --out FILE may be written, decided before anything
 * is sent, so an export never destroys what it should not.
 *
 *	-, /dev/stdout, /dev/fd/1    standard output
 *	/dev/null, /dev/stderr       written to directly
 *	a FIFO, a character device   written to directly, as a shell's '>'
 *	                             would (a FIFO's reader gets the rows),
 *	                             when this user owns it: a co-writer of a
 *	                             shared folder never gets the links
 *	anything else                replaced atomically (atomicfile.h): the
 *	                             temporary file goes in the folder of the
 *	                             final target, so a symlink is kept and
 *	                             its target replaced
 *
 * A symlink at the path is followed only when it and its folder belong to
 * this user or root (safepath.h: sudo's, logrotate's and tmpfiles' rule),
 * so another user's link in a shared drop folder never turns the export
 * into "overwrite that file". The folder reached is opened once, and the
 * file is opened or replaced relative to it (O_NOFOLLOW, O_EXCL, renameat).
 *
 * Refused (-1, after an error naming the option): the database, one of its
 * side files (-wal, -shm, -journal, -lock, and -answers, the answers
 * journal of journal.h), named after the --db given and after its resolved
 * path (a symlinked --db keeps its side files beside its target), or the
 * input CSV, whatever the path, symlink or hard link that names them (an
 * existing file is compared by st_dev and st_ino, one not there yet by its
 * resolved path; a CSV read from '-' by fstat(2) of standard input when
 * that is a regular file); a folder, a socket or a block device; a folder
 * that does not exist or cannot be written (a dangling symlink's error
 * names the link and its target's folder).
 *
 * The same rules hold for --metrics-file, which also must not name the
 * file --out writes.
 */
#ifndef FINCH_OUTPATH_H
#define FINCH_OUTPATH_H

#include "base/safepath.h"
#include "output/atomicfile.h"

enum outpath_kind {
	OUTPATH_STDOUT,	 /* write to stdout */
	OUTPATH_DIRECT,	 /* open file and write: no temporary file, no rename */
	OUTPATH_REPLACE, /* write a temporary file beside file, rename it over file */
};

struct outpath {
	enum outpath_kind kind;
	char *file;	    /* malloc'd; DIRECT: the path to open; REPLACE: the final target */
	struct safepath at; /* DIRECT, REPLACE: the final folder, open (dirfd -1: a /dev name) */
};

/*
 * Decides how to write out. db (may be NULL) and csv (may be NULL) are the
 * files the command reads or keeps, which out must not name. Returns 0 and
 * fills *op (release it with outpath_release()), or -1 after an error.
 */
int outpath_check(const char *out, const char *db, const char *csv, struct outpath *op);

/*
 * outpath_check() for the option opt (e.g. "--metrics-file"), which also
 * must not name other (may be NULL: the --out of the same command).
 */
int outpath_check_as(const char *opt, const char *out, const char *db, const char *csv,
		     const char *other, struct outpath *op);
void outpath_release(struct outpath *op);

/*
 * DIRECT: opens op's file for writing, the very one the check saw. Returns
 * the descriptor, or -1 after an error prefixed with what ("--metrics-file: ",
 * or "").
 */
int outpath_open_direct(const struct outpath *op, const char *what);

/* REPLACE: atomic_file_begin() in op's folder, opened by the check. */
int outpath_begin_replace(const struct outpath *op, struct atomic_file *af, mode_t mode,
			  const char *what);

/*
 * Resolves path the way open() would reach it: symlinks at the last
 * component followed (at most 40), then the folder made absolute with
 * realpath(3); the file itself need not exist. -1 (errno set, nothing
 * printed) when the folder does not exist or a link cannot be read.
 * Exposed for the tests.
 */
struct strbuf;
int outpath_resolve(const char *path, struct strbuf *out);

#endif
