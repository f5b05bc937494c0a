/*
 * test_lockfile.c: the lock follows the database file, not its name, and the
 * holder is read from /proc/locks.
 */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/lockfile.h"
#include "base/util.h"

static void test_lockfile__parse_holder_table(void **state)
{
	static const struct {
		const char *line;
		long want; /* the holder's pid (0: not our lock's holder) */
	} cases[] = {
	    {"1: FLOCK  ADVISORY  WRITE 25159 fe:00:10953759 0 EOF\n", 25159},
	    {"12: FLOCK  ADVISORY  WRITE 7 fe:00:10953759 0 EOF\n", 7},
	    {"1: FLOCK  ADVISORY  WRITE 25159 fe:00:10953758 0 EOF\n", 0}, /* other inode */
	    {"1: FLOCK  ADVISORY  WRITE 25159 fe:01:10953759 0 EOF\n", 0}, /* other minor */
	    {"1: FLOCK  ADVISORY  WRITE 25159 08:00:10953759 0 EOF\n", 0}, /* other major */
	    {"1: FLOCK  ADVISORY  READ  25159 fe:00:10953759 0 EOF\n", 0}, /* shared */
	    {"1: POSIX  ADVISORY  WRITE 25159 fe:00:10953759 1073741824 1073742335\n", 0},
	    {"1: OFDLCK ADVISORY  WRITE -1 fe:00:10953759 0 EOF\n", 0},
	    {"1: -> FLOCK  ADVISORY  WRITE 999 fe:00:10953759 0 EOF\n", 0}, /* a waiter */
	    {"1: FLOCK  ADVISORY  WRITE 0 fe:00:10953759 0 EOF\n", 0},	    /* pid not visible */
	    {"", 0},
	    {"garbage\n", 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		long got = lockfile_parse_holder(cases[i].line, 0xfe, 0x00, 10953759UL);

		if (got != cases[i].want)
			fail_msg("case %zu (%s): %ld, want %ld", i, cases[i].line, got,
				 cases[i].want);
	}
}

/* A second open file description of the same file, through any alias, is refused. */
static void test_lockfile__aliases_share_one_lock(void **state)
{
	char dir[] = "/tmp/test_lockfile.XXXXXX", db[64], sym[64], hard[64], planted[64];
	struct lockfile a = LOCKFILE_INIT, b = LOCKFILE_INIT;
	struct stat sb;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/x.db", dir);
	snprintf(sym, sizeof(sym), "%s/link.db", dir);
	snprintf(hard, sizeof(hard), "%s/hard.db", dir);
	snprintf(planted, sizeof(planted), "%s/x.db-lock", dir);

	/* no database, no LOCKFILE_CREATE: an error, and nothing is created */
	assert_int_equal(lockfile_acquire(&a, db, 0), -1);
	assert_int_equal(a.fd, -1);
	assert_int_equal(stat(db, &sb), -1);

	assert_int_equal(lockfile_acquire(&a, db, LOCKFILE_CREATE), 0);
	assert_int_equal(stat(db, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(symlink("x.db", sym), 0);
	assert_int_equal(link(db, hard), 0);
	assert_int_equal(lockfile_acquire(&b, sym, 0), -2);
	assert_int_equal(lockfile_acquire(&b, hard, LOCKFILE_CREATE), -2);
	assert_int_equal(b.fd, -1);
	lockfile_release(&a);
	lockfile_release(&a); /* twice is fine */
	assert_int_equal(lockfile_acquire(&b, sym, 0), 0);
	lockfile_release(&b);
	/* no lock file is made beside it */
	assert_int_equal(lstat(planted, &sb), -1);

	unlink(sym);
	unlink(hard);
	unlink(db);
	rmdir(dir);
}

/* What the lock opens is never truncated, and a FIFO is refused without hanging. */
static void test_lockfile__never_truncates_nor_hangs(void **state)
{
	char dir[] = "/tmp/test_lockfile.XXXXXX", db[64], fifo[64];
	struct lockfile a = LOCKFILE_INIT;
	struct stat sb;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/x.db", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo.db", dir);
	fd = open(db, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	assert_int_equal(lockfile_acquire(&a, db, LOCKFILE_CREATE), 0);
	lockfile_release(&a);
	assert_int_equal(stat(db, &sb), 0);
	assert_int_equal(sb.st_size, 10);
	assert_int_equal(sb.st_mode & 0777, 0644);

	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(lockfile_acquire(&a, fifo, LOCKFILE_CREATE), -1);
	assert_int_equal(a.fd, -1);
	unlink(fifo);
	unlink(db);
	rmdir(dir);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_lockfile__parse_holder_table),
	       cmocka_unit_test(test_lockfile__aliases_share_one_lock),
	       cmocka_unit_test(test_lockfile__never_truncates_nor_hangs))
