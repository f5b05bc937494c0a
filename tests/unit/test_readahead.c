/*
 * test_readahead.c: every byte comes back once and in order, whatever the
 * file's size against the chunk size and the ring; the digest is SHA-256's;
 * stopping early and read errors neither hang nor leak. (test_digest.c
 * checks the digests themselves.)
 */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv/readahead.h"
#include "base/digest.h"

#define CHUNK READAHEAD_CHUNK_SIZE
#define RING  (READAHEAD_CHUNKS * READAHEAD_CHUNK_SIZE)

/* An unlinked temporary file holding size bytes of a pattern, open for reading. */
static int temp_file(const unsigned char *data, size_t size)
{
	char path[] = "/tmp/test_readahead.XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, data, size), (ssize_t)size);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static unsigned char *pattern(size_t size)
{
	unsigned char *p = malloc(size ? size : 1);

	assert_non_null(p);
	for (size_t i = 0; i < size; i++)
		p[i] = (unsigned char)(i * 7 + i / 251);
	return p;
}

static void test_readahead__every_byte_in_order(void **state)
{
	static const size_t sizes[] = {
	    0, 1, CHUNK - 1, CHUNK, CHUNK + 1, RING - 1, RING, RING + 1, 3 * RING + 12345,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t size = sizes[i], got = 0;
		unsigned char *want = pattern(size);
		int fd = temp_file(want, size);
		struct readahead *ra = readahead_start(fd, "pattern", -1, 0);
		char hex[65], want_hex[65];
		struct sha256 h;
		const char *data;
		ssize_t n;

		assert_non_null(ra);
		while ((n = readahead_next(ra, &data)) > 0) {
			assert_true(n <= CHUNK);
			assert_true(got + (size_t)n <= size);
			if (memcmp(data, want + got, (size_t)n))
				fail_msg("size %zu: bytes %zu.. differ", size, got);
			got += (size_t)n;
		}
		assert_int_equal(n, 0);
		assert_int_equal(got, size);
		/* the end stays the end */
		assert_int_equal(readahead_next(ra, &data), 0);

		sha256_init(&h);
		sha256_update(&h, want, size);
		sha256_final_hex(&h, want_hex);
		readahead_sha256_hex(ra, hex);
		assert_string_equal(hex, want_hex);
		readahead_stop(ra);
		close(fd);
		free(want);
	}
}

/* A caller that stops after one chunk, with the thread blocked on a full ring. */
static void test_readahead__stops_before_the_end(void **state)
{
	size_t size = 10 * RING;
	unsigned char *p = pattern(size);
	int fd = temp_file(p, size);
	struct readahead *ra = readahead_start(fd, "big", -1, 0);
	const char *data;

	(void)state;
	assert_int_equal(readahead_next(ra, &data), CHUNK);
	readahead_stop(ra);
	readahead_stop(NULL);
	close(fd);
	free(p);
}

static void test_readahead__read_error_is_reported(void **state)
{
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	struct readahead *ra;
	const char *data;

	(void)state;
	assert_true(fd >= 0);
	ra = readahead_start(fd, "/tmp", -1, 0);
	assert_int_equal(readahead_next(ra, &data), -1); /* EISDIR */
	assert_int_equal(readahead_next(ra, &data), -1);
	readahead_stop(ra);
	close(fd);
}

/*
 * A pipe that stalls (`(head; sleep 600) | import -`): the wake descriptor
 * (the signals' self-pipe) ends the wait, and so does readahead_stop().
 * Without them both calls block until the writer sends 64 KiB more; the
 * alarm fails the test instead.
 */
static void test_readahead__wakes_on_a_stalled_pipe(void **state)
{
	int data[2], wake[2];
	struct readahead *ra;
	const char *got;

	(void)state;
	assert_int_equal(pipe(data), 0);
	assert_int_equal(pipe(wake), 0);
	alarm(60);
	assert_int_equal(write(data[1], "customer_id\n", 12), 12);
	ra = readahead_start(data[0], "stdin", wake[0], 0);
	assert_int_equal(write(wake[1], "s", 1), 1);
	assert_int_equal(readahead_next(ra, &got), READAHEAD_WOKEN);
	readahead_stop(ra);

	/* stopped while it waits, with nothing to wake it but the stop itself */
	ra = readahead_start(data[0], "stdin", -1, 0);
	readahead_stop(ra);
	alarm(0);
	for (int i = 0; i < 2; i++) {
		close(data[i]);
		close(wake[i]);
	}
}

/*
 * A pipe that stalls with a timeout (import --read-timeout): READAHEAD_TIMEOUT
 * once it sent nothing for that long, on a descriptor made non-blocking as
 * a FIFO opened without waiting for its writer is (EAGAIN is no error).
 * Without the timeout the call blocks; the alarm fails the test instead.
 */
static void test_readahead__times_out_on_a_stalled_pipe(void **state)
{
	int data[2];
	struct readahead *ra;
	const char *got;

	(void)state;
	assert_int_equal(pipe(data), 0);
	assert_int_equal(fcntl(data[0], F_SETFL, O_NONBLOCK), 0);
	alarm(60);
	assert_int_equal(write(data[1], "customer_id\n", 12), 12);
	ra = readahead_start(data[0], "stdin", -1, 50);
	assert_int_equal(readahead_next(ra, &got), READAHEAD_TIMEOUT);
	assert_int_equal(readahead_next(ra, &got), READAHEAD_TIMEOUT);
	readahead_stop(ra);
	alarm(0);
	close(data[0]);
	close(data[1]);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_readahead__every_byte_in_order),
	       cmocka_unit_test(test_readahead__stops_before_the_end),
	       cmocka_unit_test(test_readahead__read_error_is_reported),
	       cmocka_unit_test(test_readahead__wakes_on_a_stalled_pipe),
	       cmocka_unit_test(test_readahead__times_out_on_a_stalled_pipe))
