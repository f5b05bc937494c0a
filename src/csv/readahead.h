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

#include <sys/types.h>

#define READAHEAD_CHUNK_SIZE 65536
#define READAHEAD_CHUNKS     4

struct readahead;

/*
 * Starts reading fd (which the caller keeps and closes afterwards); path
 * names it in messages. Returns NULL after reporting why it could not.
 */
struct readahead *readahead_start(int fd, const char *path);

/*
 * The next chunk of the file, in order: *data holds the returned number of
 * bytes and stays valid until the next call. Returns 0 at the end of the
 * file, or -1 after reporting a read error (naming the path).
 */
ssize_t readahead_next(struct readahead *ra, const char **data);

/* After readahead_next() returned 0: the SHA-256 of the whole file in hex[65]. */
void readahead_sha256_hex(const struct readahead *ra, char hex[65]);

/* Stops the thread, at the end of the file or before it, and frees ra. NULL is fine. */
void readahead_stop(struct readahead *ra);

#endif
