/*
 * safepath.h: a path's last component reached without trusting a symlink
 * that someone else planted, for files in shared folders (a drop folder of
 * mode 1777 or group-writable).
 *
 * The rule is the one of sudoedit, logrotate and systemd-tmpfiles: a
 * symlink is followed only when the link and the folder that holds it both
 * belong to the effective user or to root; anyone else's link is refused.
 * The walk opens each folder once and goes on from that descriptor
 * (readlinkat, fstatat), so no name is resolved twice: what was checked is
 * what gets opened (openat with O_NOFOLLOW), and a link swapped in between
 * makes the open fail instead of being followed. Only the last component's
 * links are walked; the folders above it are the caller's to choose.
 *
 * A link that the kernel resolves by magic (/proc/self/fd/N, /dev/stdin's
 * target) cannot be read as a path: when it passes the ownership rule it is
 * opened through (SAFEPATH_MAGIC).
 */
#ifndef FINCH_SAFEPATH_H
#define FINCH_SAFEPATH_H

#include <sys/stat.h>

#include "base/strbuf.h"

struct safepath {
	int dirfd;	    /* the final folder, open; -1 after release */
	struct strbuf dir;  /* its name, for messages */
	struct strbuf base; /* the last component in it */
	int exists;	    /* 1: st is the last component's lstat (its stat when magic) */
	int magic;	    /* 1: base is a trusted /proc link, opened through */
	int links;	    /* symlinks followed */
	struct stat st;
};

/*
 * Walks path (at most 40 links). opt names the option for messages
 * ("--out"; NULL: the path alone). Returns 0 and fills sp (release it),
 * or -1 after an error: a link that is not the user's or root's, or in a
 * folder that is not ("--out 'x' is a symlink owned by uid 65534 ..."), a
 * loop, a folder that cannot be opened.
 */
int safepath_walk(struct safepath *sp, const char *path, const char *opt);

/*
 * Opens sp's last component with flags (O_NOFOLLOW added unless magic) and
 * checks that it is still the file the walk saw (st_dev, st_ino) when it
 * existed. Returns the descriptor, or -1 with errno set (nothing printed).
 */
int safepath_open(const struct safepath *sp, int flags, mode_t mode);

void safepath_release(struct safepath *sp);

/*
 * -1 after an error when path (walked into sp) is a symlink to nothing:
 * creating what (e.g. "the database") would create the link's target,
 * wherever it points. 0 otherwise.
 */
int safepath_refuse_dangling(const struct safepath *sp, const char *path, const char *what);

/*
 * Opens an input file for reading by the rule above: a regular file, a FIFO
 * or a terminal (anything else is refused, before it is opened when its
 * type says so). Returns the descriptor, or -1 after an error naming path.
 */
int safepath_open_input(const char *path);

/*
 * safepath_open_input() with extra open flags: O_NONBLOCK opens a FIFO
 * without waiting for its writer, and leaves the descriptor non-blocking
 * (the caller polls it).
 */
int safepath_open_input_flags(const char *path, int flags);

/* 1 when uid may own a link, folder or device this process trusts: itself or root. */
int safepath_trusted_uid(uid_t uid);

#endif
