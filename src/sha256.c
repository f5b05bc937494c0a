/*
 * sha256.c: SHA-256; see sha256.h.
 *
 * A straightforward compression function, and on x86-64 processors with
 * the SHA extensions (Intel since Goldmont and Ice Lake, AMD since Zen) one
 * built on them, chosen once at run time: hashing a large import's file
 * then costs a tenth of the time.
 */
#include "sha256.h"

#include <stdio.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHA_NI 1
#endif

static const uint32_t k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void compress_portable(uint32_t state[8], const unsigned char *p, size_t blocks);

static void (*compress_blocks)(uint32_t state[8], const unsigned char *p,
			       size_t blocks) = compress_portable;

static void compress_one(uint32_t state[8], const unsigned char *p)
{
	uint32_t w[64], a, b, cc, d, e, f, g, h;

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = state[0], b = state[1], cc = state[2], d = state[3];
	e = state[4], f = state[5], g = state[6], h = state[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 =
		    h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
		uint32_t t2 =
		    (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));

		h = g, g = f, f = e, e = d + t1;
		d = cc, cc = b, b = a, a = t1 + t2;
	}
	state[0] += a, state[1] += b, state[2] += cc, state[3] += d;
	state[4] += e, state[5] += f, state[6] += g, state[7] += h;
}

static void compress_portable(uint32_t state[8], const unsigned char *p, size_t blocks)
{
	for (; blocks; blocks--, p += 64)
		compress_one(state, p);
}

#ifdef HAVE_SHA_NI
/*
 * The same with the SHA extensions. They keep the state as ABEF and CDGH
 * and run two rounds per SHA256RNDS2; SHA256MSG1/MSG2 extend the message
 * schedule four words at a time.
 */
__attribute__((target("sha,sse4.1"))) static void
compress_sha_ni(uint32_t state[8], const unsigned char *p, size_t blocks)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i abef, cdgh, tmp, w[4];

	tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1);  /* CDAB */
	cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B); /* EFGH */
	abef = _mm_alignr_epi8(tmp, cdgh, 8);
	cdgh = _mm_blend_epi16(cdgh, tmp, 0xF0);

	for (; blocks; blocks--, p += 64) {
		__m128i abef_in = abef, cdgh_in = cdgh;

		for (int i = 0; i < 16; i++) {
			__m128i *cur = &w[i % 4];

			if (i < 4) {
				*cur = _mm_shuffle_epi8(
				    _mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
			} else {
				/* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16] */
				__m128i w7 = _mm_alignr_epi8(w[(i + 3) % 4], w[(i + 2) % 4], 4);

				*cur = _mm_sha256msg1_epu32(*cur, w[(i + 1) % 4]);
				*cur =
				    _mm_sha256msg2_epu32(_mm_add_epi32(*cur, w7), w[(i + 3) % 4]);
			}
			tmp = _mm_add_epi32(*cur, _mm_loadu_si128((const __m128i *)&k[4 * i]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, tmp);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(tmp, 0x0E));
		}
		abef = _mm_add_epi32(abef, abef_in);
		cdgh = _mm_add_epi32(cdgh, cdgh_in);
	}

	tmp = _mm_shuffle_epi32(abef, 0x1B);					  /* FEBA */
	cdgh = _mm_shuffle_epi32(cdgh, 0xB1);					  /* DCHG */
	_mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(tmp, cdgh, 0xF0)); /* DCBA */
	_mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(cdgh, tmp, 8));	  /* HGFE */
}

/* 1 if the processor has the SHA extensions and the SSSE3/SSE4.1 they need. */
static int have_sha_ni(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return 0;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}

/* Chosen before main(), so that threads never race to choose. */
__attribute__((constructor)) static void choose_compress(void)
{
	if (have_sha_ni())
		compress_blocks = compress_sha_ni;
}
#endif

int sha256_use_extensions(int use)
{
#ifdef HAVE_SHA_NI
	if (use && have_sha_ni()) {
		compress_blocks = compress_sha_ni;
		return 1;
	}
#endif
	(void)use;
	compress_blocks = compress_portable;
	return 0;
}

void sha256_init(struct sha256 *c)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
				       0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

	memcpy(c->h, iv, sizeof(iv));
	c->bytes = 0;
	c->used = 0;
}

void sha256_update(struct sha256 *c, const void *data, size_t len)
{
	const unsigned char *p = data;

	c->bytes += len;
	if (c->used) {
		size_t take = 64 - c->used < len ? 64 - c->used : len;

		memcpy(c->block + c->used, p, take);
		c->used += take;
		p += take;
		len -= take;
		if (c->used < 64)
			return;
		compress_blocks(c->h, c->block, 1);
		c->used = 0;
	}
	compress_blocks(c->h, p, len / 64);
	p += len / 64 * 64;
	len %= 64;
	memcpy(c->block, p, len);
	c->used = len;
}

void sha256_final_hex(struct sha256 *c, char hex[65])
{
	uint64_t bits = c->bytes * 8;
	unsigned char pad[72] = {0x80};
	size_t padlen = (c->used < 56 ? 56 : 120) - c->used;

	for (int i = 0; i < 8; i++)
		pad[padlen + (size_t)i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(c, pad, padlen + 8);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 8 * i, 9, "%08x", c->h[i]);
}
