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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/digest.h"
#include "base/util.h"

struct chunk {
	char data[READAHEAD_CHUNK_SIZE];
	ssize_t len; /* bytes; 0 marks the end of the file, -1 a read error */
};

struct readahead {
	int fd;
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

/* Reads up to size bytes, retrying short reads and EINTR; -1 with errno set. */
static ssize_t read_full(int fd, char *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
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
		n = read_full(ra->fd, c->data, sizeof(c->data));
		err = errno;
		if (n > 0)
			sha256_update(&hash, c->data, (size_t)n);

		pthread_mutex_lock(&ra->lock);
		c->len = n;
		if (n < 0)
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

struct readahead *readahead_start(int fd, const char *path)
{
	struct readahead *ra = xcalloc(1, sizeof(*ra));
	int err;

	ra->fd = fd;
	ra->path = path;
	pthread_mutex_init(&ra->lock, NULL);
	pthread_cond_init(&ra->changed, NULL);
	err = pthread_create(&ra->thread, NULL, reader, ra);
	if (err) {
		error("cannot start a thread to read '%s': %s", path, strerror(err));
		pthread_cond_destroy(&ra->changed);
		pthread_mutex_destroy(&ra->lock);
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
	} else if (c->len < 0) {
		err = ra->read_errno;
	}
	pthread_mutex_unlock(&ra->lock);

	*data = c->data;
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
	pthread_join(ra->thread, NULL);
	pthread_cond_destroy(&ra->changed);
	pthread_mutex_destroy(&ra->lock);
	free(ra);
}
