/*
 * readahead.h: reads a file on a second thread, hashing it as it goes.
 *
 * An import parses and stores what it reads; reading the next chunks from
 * disk and computing the file's SHA-256 (a tenth of the work) happen on the
 * other core meanwhile. The thread stays at most READAHEAD_CHUNKS chunks of
 * READAHEAD_CHUNK_SIZE bytes ahead, so memory does not grow with the file.
 */
#ifndef FINCH_READAHEAD_H
#define FINCH_READAHEAD_H

#include <stdint.h>
#include <sys/types.h>

#define READAHEAD_CHUNK_SIZE 65536
#define READAHEAD_CHUNKS     4

struct readahead;

/* What readahead_next() returns once wake_fd became readable. */
#define READAHEAD_WOKEN (-2)
/* What it returns when fd sent nothing for timeout_ms. */
#define READAHEAD_TIMEOUT (-3)

/*
 * Starts reading fd (which the caller keeps and closes afterwards); path
 * names it in messages. wake_fd (-1: none) is watched while the thread waits
 * for fd: once it is readable (the signals' self-pipe after a SIGTERM), the
 * reading ends, so a pipe that stalls (`(head; sleep 600) | import -`)
 * cannot hold the caller. wake_fd is polled, never read. timeout_ms (0:
 * none) bounds each wait for a byte of fd (a FIFO or pipe whose writer went
 * quiet). fd may be non-blocking. Returns NULL after reporting why it could
 * not.
 */
struct readahead *readahead_start(int fd, const char *path, int wake_fd, int64_t timeout_ms);

/*
 * The next chunk of the file, in order: *data holds the returned number of
 * bytes and stays valid until the next call. Returns 0 at the end of the
 * file, -1 after reporting a read error (naming the path), or, silently,
 * READAHEAD_WOKEN when wake_fd ended the reading, READAHEAD_TIMEOUT when fd
 * sent nothing for timeout_ms.
 */
ssize_t readahead_next(struct readahead *ra, const char **data);

/* After readahead_next() returned 0: the SHA-256 of the whole file in hex[65]. */
void readahead_sha256_hex(const struct readahead *ra, char hex[65]);

/*
 * Stops the thread, at the end of the file or before it (also while it
 * waits on a pipe that stalls), and frees ra. NULL is fine.
 */
void readahead_stop(struct readahead *ra);

#endif
