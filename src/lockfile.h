/*
 * lockfile.h: one writer per database. A run, import, retry or sync holds
 * an flock(2) on "DB-lock" for its whole life; the file names the holder
 * ("pid 1234 (finch-onboard run)") so a refused second process can say who
 * is in the way. The kernel drops the lock when a process dies, so a crashed
 * run never blocks the next one.
 */
#ifndef FINCH_LOCKFILE_H
#define FINCH_LOCKFILE_H

struct lockfile {
	int fd;	    /* -1 when not held */
	char *path; /* malloc'd "DB-lock" */
};

#define LOCKFILE_INIT                                                                              \
	{                                                                                          \
		-1, 0                                                                              \
	}

/*
 * Takes the lock for db_path on behalf of the subcommand what ("run").
 * Returns 0 when held; -2 when another process holds it, after printing
 * "database 'DB' is in use by pid N (finch-onboard run)"; -1 on other
 * errors, after printing them.
 */
int lockfile_acquire(struct lockfile *lk, const char *db_path, const char *what);
/* Releases the lock (the file stays; it is harmless). Safe to call twice. */
void lockfile_release(struct lockfile *lk);

#endif
