/*
 * readahead.c: see readahead.h.
 *
 * A ring of READAHEAD_CHUNKS buffers. The thread fills them in order and
 * the caller takes them in order; `ready` counts the filled ones, including
 * the one the caller holds, which goes back to the thread on the caller's
 * next readahead_next(). Only the thread touches the hash; it publishes the
 * digest with the last chunk, under the lock.
 */
#include "csv/readahead.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/util.h"

struct chunk {
	char data[READAHEAD_CHUNK_SIZE];
	ssize_t
	    len; /* bytes; 0: the end of the file; -1: a read error; READAHEAD_WOKEN, _TIMEOUT */
};

struct readahead {
	int fd, wake_fd;
	int64_t timeout_ms; /* of each wait for a byte; 0: none */
	int stop_pipe[2];   /* readahead_stop() writes to [1]: a thread waiting on fd wakes */
	const char *path;
	pthread_t thread;

	pthread_mutex_t lock; /* the members below */
	pthread_cond_t changed;
	size_t ready;	/* filled chunks not yet given back by the caller */
	int held;	/* the caller holds chunk `next - 1` */
	int stop;	/* the caller wants no more */
	size_t next;	/* the chunk the caller takes next */
	int read_errno; /* of a failed read */
	char hex[65];	/* the digest, set with the end-of-file chunk */

	struct chunk chunk[READAHEAD_CHUNKS];
};

/*
 * Reads up to size bytes, retrying short reads, EINTR and EAGAIN (a FIFO
 * opened non-blocking); -1 with errno set, READAHEAD_WOKEN once wake_fd is
 * readable, READAHEAD_TIMEOUT after timeout_ms without a byte. Each read
 * waits in poll() with wake_fd beside fd: a read() itself would block on a
 * stalled pipe past any signal (SA_RESTART), and a signal may go to either
 * thread.
 */
static ssize_t read_full(const struct readahead *ra, char *buf, size_t size)
{
	struct pollfd p[3] = {{.fd = ra->fd, .events = POLLIN},
			      {.fd = ra->wake_fd, .events = POLLIN},
			      {.fd = ra->stop_pipe[0], .events = POLLIN}};
	int timeout = ra->timeout_ms <= 0	 ? -1
		      : ra->timeout_ms < INT_MAX ? (int)ra->timeout_ms
						 : INT_MAX;
	size_t got = 0;

	while (got < size) {
		ssize_t n;
		int r = poll(p, 3, timeout);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (p[1].revents || p[2].revents)
			return READAHEAD_WOKEN;
		if (r == 0)
			return READAHEAD_TIMEOUT;
		n = read(ra->fd, buf + got, size - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void *reader(void *arg)
{
	struct readahead *ra = arg;
	struct sha256 hash;
	size_t fill = 0;

	sha256_init(&hash);
	for (;;) {
		struct chunk *c = &ra->chunk[fill];
		ssize_t n;
		int err;

		pthread_mutex_lock(&ra->lock);
		while (ra->ready == READAHEAD_CHUNKS && !ra->stop)
			pthread_cond_wait(&ra->changed, &ra->lock);
		if (ra->stop) {
			pthread_mutex_unlock(&ra->lock);
			sha256_release(&hash);
			return NULL;
		}
		pthread_mutex_unlock(&ra->lock);

		/* the chunk is the thread's alone until it is counted ready */
		n = read_full(ra, c->data, sizeof(c->data));
		err = errno;
		if (n > 0)
			sha256_update(&hash, c->data, (size_t)n);

		pthread_mutex_lock(&ra->lock);
		c->len = n;
		if (n == -1)
			ra->read_errno = err;
		else if (n == 0)
			sha256_final_hex(&hash, ra->hex);
		ra->ready++;
		pthread_cond_broadcast(&ra->changed);
		pthread_mutex_unlock(&ra->lock);
		if (n <= 0) {
			sha256_release(&hash); /* already freed unless n < 0 */
			return NULL;
		}
		fill = (fill + 1) % READAHEAD_CHUNKS;
	}
}

struct readahead *readahead_start(int fd, const char *path, int wake_fd, int64_t timeout_ms)
{
	struct readahead *ra = xcalloc(1, sizeof(*ra));
	int err;

	ra->fd = fd;
	ra->wake_fd = wake_fd;
	ra->timeout_ms = timeout_ms;
	ra->path = path;
	if (pipe(ra->stop_pipe) < 0) {
		error_errno("cannot read '%s': pipe", path);
		free(ra);
		return NULL;
	}
	fcntl(ra->stop_pipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(ra->stop_pipe[1], F_SETFD, FD_CLOEXEC);
	pthread_mutex_init(&ra->lock, NULL);
	pthread_cond_init(&ra->changed, NULL);
	err = pthread_create(&ra->thread, NULL, reader, ra);
	if (err) {
		error("cannot start a thread to read '%s': %s", path, strerror(err));
		pthread_cond_destroy(&ra->changed);
		pthread_mutex_destroy(&ra->lock);
		close(ra->stop_pipe[0]);
		close(ra->stop_pipe[1]);
		free(ra);
		return NULL;
	}
	return ra;
}

ssize_t readahead_next(struct readahead *ra, const char **data)
{
	struct chunk *c;
	int err = 0;

	pthread_mutex_lock(&ra->lock);
	if (ra->held) {
		ra->held = 0;
		ra->ready--;
		pthread_cond_broadcast(&ra->changed);
	}
	while (!ra->ready)
		pthread_cond_wait(&ra->changed, &ra->lock);
	c = &ra->chunk[ra->next];
	if (c->len > 0) {
		ra->held = 1;
		ra->next = (ra->next + 1) % READAHEAD_CHUNKS;
	} else if (c->len == -1) {
		err = ra->read_errno;
	}
	pthread_mutex_unlock(&ra->lock);

	*data = c->data;
	if (c->len == READAHEAD_WOKEN || c->len == READAHEAD_TIMEOUT)
		return c->len;
	if (c->len < 0) {
		errno = err;
		return error_errno("cannot read '%s'", ra->path);
	}
	return c->len;
}

void readahead_sha256_hex(const struct readahead *ra, char hex[65])
{
	memcpy(hex, ra->hex, 65);
}

void readahead_stop(struct readahead *ra)
{
	if (!ra)
		return;
	pthread_mutex_lock(&ra->lock);
	ra->stop = 1;
	pthread_cond_broadcast(&ra->changed);
	pthread_mutex_unlock(&ra->lock);
	/* a thread waiting on a pipe that stalls wakes up (the pipe cannot be full: one byte) */
	if (write(ra->stop_pipe[1], "", 1) < 0)
		bug("readahead: cannot wake the reading thread");
	pthread_join(ra->thread, NULL);
	close(ra->stop_pipe[0]);
	close(ra->stop_pipe[1]);
	pthread_cond_destroy(&ra->changed);
	pthread_mutex_destroy(&ra->lock);
	free(ra);
}
