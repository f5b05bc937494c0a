/*
 * digest.c: see digest.h.
 */
#include "base/digest.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <limits.h>

#include "base/xalloc.h"

void sha256_init(struct sha256 *c)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		bug("libcrypto cannot start a SHA-256 digest");
	c->ctx = ctx;
}

void sha256_update(struct sha256 *c, const void *data, size_t len)
{
	if (len && EVP_DigestUpdate(c->ctx, data, len) != 1)
		bug("libcrypto cannot update a SHA-256 digest");
}

void sha256_final_hex(struct sha256 *c, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(c->ctx, md, &n) != 1 || n != SHA256_BYTES)
		bug("libcrypto cannot finish a SHA-256 digest");
	for (unsigned i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * n] = '\0';
	sha256_release(c);
}

void sha256_release(struct sha256 *c)
{
	EVP_MD_CTX_free(c->ctx);
	c->ctx = NULL;
}

int hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
		unsigned char out[SHA256_BYTES])
{
	unsigned int n = 0;

	if (key_len > INT_MAX)
		return -1;
	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &n) || n != SHA256_BYTES)
		return -1;
	return 0;
}
