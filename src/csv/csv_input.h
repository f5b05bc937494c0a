/*
 * csv_input.h: the CSV an import reads, opened and waited on before the
 * caller locks the database (issue 20, item 2: inputs in shared folders).
 *
 * Whoever can write a drop folder can plant a FIFO at the CSV's path. Opened
 * the usual way, open(2) blocks until a writer comes, past SIGTERM, and an
 * import that had taken the database's lock first held it all night. So the
 * input is opened without waiting (O_NONBLOCK), and csv_input_open() waits
 * in poll(2), beside the signals' self-pipe, for its first bytes (or its
 * end): until then no lock is taken, and a signal or --read-timeout ends the
 * wait. The lock is taken once bytes are there, not after the whole file was
 * read: an import streams files of any size in constant memory (csv_import.h),
 * so the rest is read under the lock, each wait bounded by --read-timeout and
 * ended by a signal (readahead.h).
 */
#ifndef FINCH_CSV_INPUT_H
#define FINCH_CSV_INPUT_H

#include <stdint.h>
#include <sys/stat.h>

struct csv_input {
	int fd;		  /* -1 when closed */
	int owned;	  /* 1: opened here (0: standard input, which stays open) */
	const char *name; /* for messages: the path, or "stdin" for "-" */
	struct stat st;	  /* fd's */
};

#define CSV_INPUT_INIT                                                                             \
	{                                                                                          \
		-1, 0, NULL,                                                                       \
		{                                                                                  \
			0                                                                          \
		}                                                                                  \
	}

/*
 * Opens path ("-": standard input) by safepath_open_input()'s rules (another
 * user's symlink, a device or a socket is refused) without waiting for a
 * FIFO's writer, then waits until it has bytes to read or has ended.
 * Returns 0 with in open (close it), -1 after an error naming the file
 * (also when it sent nothing for timeout_ms, 0: no limit; timeout is that
 * --read-timeout as given, for the message), or -2 when SIGINT,
 * SIGTERM or SIGHUP (signals.h, which the caller installs) came first; then
 * the message says that nothing was imported.
 */
int csv_input_open(struct csv_input *in, const char *path, int64_t timeout_ms, const char *timeout);

/* Closes in's descriptor unless it is standard input. Fine on a closed input. */
void csv_input_close(struct csv_input *in);

/*
 * Reports that the input called name sent nothing for --read-timeout (as
 * given; NULL says "too long"), nothing imported. Returns -1. The message of
 * import, sync and connections import alike.
 */
int csv_input_timed_out(const char *name, const char *timeout);

/*
 * Parses --read-timeout's value D (a duration of base/util.h's
 * parse_duration_ms(), 0 for none) into *ms: 1, or -1 after naming the
 * option. For every command that reads a FIFO, pipe or terminal.
 */
int csv_read_timeout_option(const char *arg, int64_t *ms);

#endif
