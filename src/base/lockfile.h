/*
 * lockfile.h: one writer per database file, whatever the path that names it.
 *
 * A run, import, retry or sync holds an flock(2) exclusive lock on the
 * database file itself for its whole life. Why this lock:
 *
 * - It follows the file's identity, not its name. flock(2) locks belong to
 *   the inode: "x.db", "./x.db" from another folder, a symlink, a hard link
 *   and a bind mount all reach the same lock. A lock file named after the
 *   path ("DB-lock", as before) differs for each alias; one named after the
 *   device and inode needs a shared folder that /tmp is not (systemd's
 *   PrivateTmp gives each service its own).
 * - There is no lock file to delete, to plant a symlink at, or to truncate:
 *   a cleaner that removes stray files cannot break the lock, and the
 *   database is opened without O_TRUNC. A database that does not exist yet
 *   is created empty (mode 0600: it holds connect URLs, which are
 *   credentials), which SQLite takes as a new database.
 * - It cannot collide with SQLite's own locks. SQLite locks byte ranges of
 *   the same file with POSIX fcntl(2) locks, and on Linux "there is no
 *   interaction between the types of lock placed by flock() and fcntl(2)"
 *   (flock(2), NOTES) on a local file system. Over NFS the kernel emulates flock() with whole-file
 * fcntl() locks, which would interact; the database must be on a local file system anyway: "WAL
 * does not work over a network filesystem" (sqlite.org/wal.html).
 * - The kernel drops it when its holder dies, so a kill -9 never leaves the
 *   database locked.
 *
 * The one rule that comes with it: closing any descriptor of the database
 * drops every fcntl() lock the process holds on it, SQLite's included
 * (sqlite.org/howtocorrupt.html, section 2.2). So the descriptor is kept
 * open until lockfile_release(), which the caller does after store_close().
 *
 * A refused process names the holder from /proc/locks, which lists the pid
 * of every flock() by device and inode: "database 'x.db' is in use by pid
 * 1234 (finch-onboard run)".
 */
#ifndef FINCH_LOCKFILE_H
#define FINCH_LOCKFILE_H

#include <stddef.h>

struct lockfile {
	int fd;	    /* the database file, or -1 when not held */
	char *path; /* malloc'd: the database path as given */
};

#define LOCKFILE_INIT                                                                              \
	{                                                                                          \
		-1, 0                                                                              \
	}

/* Flags of lockfile_acquire(). */
enum {
	LOCKFILE_CREATE = 1, /* create an empty database if there is none */
};

/*
 * Takes the lock on the database file db_path (symlinks followed, as
 * SQLite follows them). Returns 0 when held; -2 when another process
 * holds it, after printing "database 'DB' is in use by pid N (COMMAND)";
 * -1 on other errors (no such database without LOCKFILE_CREATE, not a
 * regular file), after printing them.
 */
int lockfile_acquire(struct lockfile *lk, const char *db_path, unsigned flags);
/* Releases the lock and closes the file. Safe to call twice. */
void lockfile_release(struct lockfile *lk);

/*
 * Parses one line of /proc/locks ("1: FLOCK  ADVISORY  WRITE 1234
 * fe:00:10953759 0 EOF"; proc(5), /proc/locks) and returns the pid of an
 * flock() held on the file (major, minor, inode), or 0 if the line is about
 * anything else (another file, a POSIX lock, a waiter "->", a pid the
 * reader cannot see). Pure: exposed for tests.
 */
long lockfile_parse_holder(const char *line, unsigned major, unsigned minor, unsigned long inode);

#endif
