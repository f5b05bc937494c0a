/*
 * exitcode.h: the process exit codes every command shares. The README's
 * exit-code table and finch-onboard(1) document them; a low layer that
 * decides a run's outcome (the store's writer, the run loop) returns one.
 */
#ifndef FINCH_EXITCODE_H
#define FINCH_EXITCODE_H

enum exit_code {
	EXIT_OK = 0,	      /* all good */
	EXIT_ROWS = 1,	      /* finished, but some rows are invalid or failed */
	EXIT_USAGE = 2,	      /* usage or input error */
	EXIT_AUTH = 3,	      /* authentication rejected */
	EXIT_LOCKED = 4,      /* the database is in use by another run */
	EXIT_INTERRUPTED = 5, /* interrupted by a signal */
	EXIT_UNREACHABLE = 6, /* the API could not be reached; nothing was marked failed */
	EXIT_STOPPED = 7,     /* stopped early at the API's request; the next run resumes */
	/*
	 * a bad night: requests went out and none succeeded (no created, no
	 * exists), or the CSV gave no valid row while the database has rows;
	 * it never counts as a success for monitoring
	 */
	EXIT_NO_SUCCESS = 8,
};

#endif
