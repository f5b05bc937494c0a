/*
 * digest.h: SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), through
 * OpenSSL's libcrypto (EVP_DigestInit_ex(3), HMAC(3)): the fingerprint of an
 * imported file, and the signature of a Finch webhook.
 */
#ifndef FINCH_DIGEST_H
#define FINCH_DIGEST_H

#include <stddef.h>

#define SHA256_BYTES 32

/* A running SHA-256. sha256_init() allocates; final or release frees. */
struct sha256 {
	void *ctx; /* EVP_MD_CTX *, NULL once finished */
};

/* Starts a digest. Aborts (bug()) when libcrypto cannot. */
void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
/*
 * Writes the digest as 64 lowercase hex digits plus NUL into hex[65] and
 * frees the context.
 */
void sha256_final_hex(struct sha256 *c, char hex[65]);
/* Frees a digest that was never finished. Safe after sha256_final_hex(). */
void sha256_release(struct sha256 *c);

/*
 * HMAC-SHA256 of data[0..len) under key[0..key_len) into out. Returns 0, or
 * -1 when libcrypto refuses (a key longer than INT_MAX bytes).
 */
int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		unsigned char out[SHA256_BYTES]);

#endif
