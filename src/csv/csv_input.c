/*
 * csv_input.c: see csv_input.h.
 */
#include "csv/csv_input.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "base/safepath.h"
#include "base/signals.h"
#include "base/util.h"

int csv_input_timed_out(const char *name, const char *timeout)
{
	return error("'%s' sent nothing for %s (--read-timeout): nothing was imported", name,
		     timeout ? timeout : "too long");
}

int csv_read_timeout_option(const char *arg, int64_t *ms)
{
	if (parse_duration_ms(arg, ms) < 0 || *ms < 0)
		return error("option '--read-timeout': '%s' is not a duration (30s, 5m, 0)", arg);
	return 1;
}

/*
 * Waits until in has a byte to read, or has ended: 0, -1 after an error,
 * -2 after a signal. A regular file is ready at once.
 */
static int wait_first_bytes(const struct csv_input *in, int64_t ms, const char *text)
{
	int timeout = ms <= 0 ? -1 : ms < INT_MAX ? (int)ms : INT_MAX;

	for (;;) {
		struct pollfd p[2] = {{.fd = in->fd, .events = POLLIN},
				      {.fd = signals_fd(), .events = POLLIN}};
		int r = poll(p, 2, timeout);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return error_errno("cannot read '%s'", in->name);
		if (p[1].revents || signals_level() != SIGNALS_NONE) {
			error("%s: interrupted while waiting for its first bytes: nothing was "
			      "imported",
			      in->name);
			return -2;
		}
		if (r == 0)
			return csv_input_timed_out(in->name, text);
		return 0; /* POLLIN, or POLLHUP at its end: the read tells which */
	}
}

int csv_input_open(struct csv_input *in, const char *path, int64_t timeout_ms, const char *timeout)
{
	int r;

	in->fd = -1;
	in->owned = strcmp(path, "-") != 0;
	in->name = in->owned ? path : "stdin";
	/*
	 * A pipe, /dev/stdin or <(...) streams like a file; another user's
	 * symlink, a device or a socket is refused (safepath.h). A FIFO is
	 * opened without waiting for a writer, which may never come.
	 */
	in->fd = in->owned ? safepath_open_input_flags(path, O_NONBLOCK) : STDIN_FILENO;
	if (in->fd < 0)
		return -1;
	if (fstat(in->fd, &in->st) < 0 || S_ISDIR(in->st.st_mode)) {
		csv_input_close(in);
		return error("'%s' is a directory, not a CSV file", in->name);
	}
	r = wait_first_bytes(in, timeout_ms, timeout);
	if (r < 0)
		csv_input_close(in);
	return r;
}

void csv_input_close(struct csv_input *in)
{
	if (in->owned && in->fd >= 0)
		close(in->fd);
	in->fd = -1;
}
