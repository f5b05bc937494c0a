/*
 * signals.h: SIGINT, SIGTERM and SIGHUP, the same way in every command that
 * changes the database (import, run, sync). SIGHUP is a stop like SIGTERM,
 * as curl, git and rsync take it: a run whose ssh session drops drains its
 * answers instead of dying like kill -9 (issue 15).
 *
 * The first signal asks for a stop: a run stops sending and waits up to
 * --grace for the answers in flight, an import rolls back, a sync exports
 * where things stand; the command exits 5. Signals that arrive within
 * SIGNALS_SAME_REQUEST_MS of the first are the same request: coreutils
 * `timeout`, systemd and a terminal's Ctrl-C can deliver one signal to the
 * process and another to its group, milliseconds apart (timeout(1): "send
 * the signal to the child ... and to the process group"). A signal later
 * than that is a second request: stop at once, consistently (rows in flight
 * go back to pending, no export is written).
 *
 * The handler only stamps the time and writes a byte to a self-pipe, so a
 * poll() wakes up; everything else happens in the main loop.
 */
#ifndef FINCH_SIGNALS_H
#define FINCH_SIGNALS_H

#include <stdint.h>

/* Signals within this long of the first are one request. */
#define SIGNALS_SAME_REQUEST_MS 1000

enum signals_level {
	SIGNALS_NONE,	  /* no signal */
	SIGNALS_STOP,	  /* stop soon: finish or undo what is under way, exit 5 */
	SIGNALS_STOP_NOW, /* a second request: stop at once */
};

/*
 * What a signal arriving at now_ms means, given the level so far and when
 * the first signal came (first_ms, meaningful once level is not NONE).
 * Pure: the handler calls it; exposed for tests.
 */
enum signals_level signals_next_level(enum signals_level level, int64_t first_ms, int64_t now_ms);

/*
 * Installs the handlers for SIGINT, SIGTERM and SIGHUP (and ignores SIGPIPE, which
 * libcurl leaves to us with CURLOPT_NOSIGNAL) and resets the level. Calls
 * nest: only the outermost signals_install()/signals_restore() pair acts,
 * so `sync` installs once for all its phases and the run inside keeps the
 * level. Returns 0 or -1 after reporting.
 */
int signals_install(void);
/* Restores the previous handlers (outermost call only). */
void signals_restore(void);

/*
 * For the whole process, first thing in main(): SIGXFSZ ignored, so a file
 * size limit (ulimit -f, systemd's LimitFSIZE=) makes a write fail with EFBIG
 * (setrlimit(2), RLIMIT_FSIZE), which every writer handles as a full disk
 * (answers journaled, exit 2), instead of the default death, which is
 * kill -9's: rows left in flight, and a second session for each next night.
 */
void signals_ignore_file_size(void);

/* The current level. */
enum signals_level signals_level(void);
/* The read end of the self-pipe, readable after a signal; -1 if not installed. */
int signals_fd(void);
/* Empties the self-pipe. */
void signals_drain(void);

#endif
