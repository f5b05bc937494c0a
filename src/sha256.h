/*
 * sha256.h: SHA-256 (FIPS 180-4), to fingerprint imported files.
 */
#ifndef FINCH_SHA256_H
#define FINCH_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
	uint32_t h[8];
	uint64_t bytes; /* message length so far */
	unsigned char block[64];
	size_t used; /* bytes waiting in block */
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
/* Writes the digest as 64 lowercase hex digits plus NUL into hex[65]. */
void sha256_final_hex(struct sha256 *c, char hex[65]);

/*
 * For tests: use (1) the processor's SHA extensions when it has them, which
 * is the default, or (0) the portable code. Returns 1 if the extensions are
 * now in use. Not thread-safe: call it before any hashing.
 */
int sha256_use_extensions(int use);

#endif
