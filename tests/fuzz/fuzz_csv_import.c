/*
 * fuzz_csv_import.c: libFuzzer harness for the CSV import with validation,
 * into an in-memory store, through csv_import.h's public API only: the input
 * is the file (a first byte 'P' also sets --products). Invariant: an import
 * that reads the file never counts more rows stored than rows read.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "csv/csv_import.h"
#include "store/store.h"
#include "store/store_import.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct import_options o;
	struct import_stats stats;
	struct store *st = NULL;
	int rc;

	/* a file in memory: a disk's ftruncate() would cost more than the import */
	if (fd < 0) {
		fd = memfd_create("fuzz.csv", 0);
		if (fd < 0)
			die("cannot create a file in memory");
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size))
		die("cannot write '%s'", path);

	memset(&o, 0, sizeof(o));
	o.quiet = 1;
	/* a first byte 'P' also fills empty products cells, as --products does */
	if (size && data[0] == 'P')
		o.defaults.products = 1u << 1;
	memset(&stats, 0, sizeof(stats));
	if (store_open(":memory:", &st) < 0)
		die("cannot open an in-memory store");
	rc = csv_import_file(st, path, &o, &stats);
	if (rc == 0 &&
	    stats.accepted + stats.invalid + stats.unchanged + stats.updated > stats.rows_read)
		die("more rows counted (%lld accepted, %lld invalid) than read (%lld)",
		    (long long)stats.accepted, (long long)stats.invalid,
		    (long long)stats.rows_read);
	store_close(st);
	return 0;
}
