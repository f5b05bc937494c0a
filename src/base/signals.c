/*
 * signals.c: see signals.h.
 */
#include "base/signals.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

/* Only the handler writes these while installed (both signals masked in it). */
static volatile sig_atomic_t level;
static atomic_llong first_ms; /* lock-free on every platform we build for */
static int pipe_fd[2] = {-1, -1};
static int depth;
static struct sigaction old_int, old_term, old_hup, old_pipe;

enum signals_level signals_next_level(enum signals_level lv, int64_t first, int64_t now_ms)
{
	if (lv == SIGNALS_NONE)
		return SIGNALS_STOP;
	if (lv == SIGNALS_STOP && now_ms - first < SIGNALS_SAME_REQUEST_MS)
		return SIGNALS_STOP;
	return SIGNALS_STOP_NOW;
}

static void on_signal(int sig)
{
	int saved = errno;
	struct timespec ts;
	int64_t now;

	(void)sig;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe (POSIX signal-safety(7)) */
	now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (level == SIGNALS_NONE)
		atomic_store(&first_ms, now);
	level = signals_next_level((enum signals_level)level, atomic_load(&first_ms), now);
	if (pipe_fd[1] >= 0) {
		ssize_t w = write(pipe_fd[1], "s", 1);

		(void)w;
	}
	errno = saved;
}

int signals_install(void)
{
	struct sigaction sa;

	if (depth++)
		return 0;
	if (pipe(pipe_fd) < 0) {
		depth = 0;
		return error_errno("cannot create the signal pipe");
	}
	for (int i = 0; i < 2; i++) {
		fcntl(pipe_fd[i], F_SETFL, fcntl(pipe_fd[i], F_GETFL) | O_NONBLOCK);
		fcntl(pipe_fd[i], F_SETFD, FD_CLOEXEC);
	}
	level = SIGNALS_NONE;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGHUP);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGHUP, &sa, &old_hup);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);
	return 0;
}

void signals_ignore_file_size(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGXFSZ, &sa, NULL);
}

void signals_restore(void)
{
	if (!depth || --depth)
		return;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGHUP, &old_hup, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	for (int i = 0; i < 2; i++) {
		if (pipe_fd[i] >= 0)
			close(pipe_fd[i]);
		pipe_fd[i] = -1;
	}
}

enum signals_level signals_level(void)
{
	return (enum signals_level)level;
}

int signals_fd(void)
{
	return pipe_fd[0];
}

void signals_drain(void)
{
	char buf[64];

	while (pipe_fd[0] >= 0 && read(pipe_fd[0], buf, sizeof(buf)) > 0)
		;
}
