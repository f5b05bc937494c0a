/*
 * test_digest.c: SHA-256 against the FIPS 180-4 examples (whole and split
 * at every point of a block), and HMAC-SHA256 against RFC 4231's test cases.
 */
#include "unit.h"
#include <stdio.h>
#include <string.h>

#include "base/digest.h"

static void test_digest__sha256_fips_examples(void **state)
{
	static const struct {
		const char *in;
		size_t repeat;
		const char *hex;
	} cases[] = {
	    {"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	    {"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
	     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	    {"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sha256 h;
		char hex[65];
		size_t n = strlen(cases[i].in);

		sha256_init(&h);
		for (size_t r = 0; r < cases[i].repeat; r++)
			sha256_update(&h, cases[i].in, n);
		sha256_final_hex(&h, hex);
		assert_string_equal(hex, cases[i].hex);
		sha256_release(&h); /* harmless after final */
	}
}

static void test_digest__sha256_split_anywhere(void **state)
{
	const char *in = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	size_t len = strlen(in);

	(void)state;
	for (size_t split = 0; split <= len; split++) {
		struct sha256 h;
		char hex[65];

		sha256_init(&h);
		sha256_update(&h, in, split);
		sha256_update(&h, in + split, len - split);
		sha256_final_hex(&h, hex);
		assert_string_equal(
		    hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	}
}

static void test_digest__sha256_release_unfinished(void **state)
{
	struct sha256 h;

	(void)state;
	sha256_init(&h);
	sha256_update(&h, "abc", 3);
	sha256_release(&h); /* LeakSanitizer checks this frees */
	assert_null(h.ctx);
}

static void hex(const unsigned char *md, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* RFC 4231 section 4: test cases 1, 2, 3 and 6 (a key longer than a block). */
static void test_digest__hmac_sha256_rfc4231(void **state)
{
	unsigned char key1[20], key3[20], data3[50], key6[131];
	static const char data6[] = "Test Using Larger Than Block-Size Key - Hash Key First";
	const struct {
		const void *key;
		size_t key_len;
		const void *data;
		size_t len;
		const char *hex;
	} cases[] = {
	    {key1, sizeof(key1), "Hi There", 8,
	     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
	    {"Jefe", 4, "what do ya want for nothing?", 28,
	     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
	    {key3, sizeof(key3), data3, sizeof(data3),
	     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
	    {key6, sizeof(key6), data6, sizeof(data6) - 1,
	     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
	};

	(void)state;
	memset(key1, 0x0b, sizeof(key1));
	memset(key3, 0xaa, sizeof(key3));
	memset(data3, 0xdd, sizeof(data3));
	memset(key6, 0xaa, sizeof(key6));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned char md[SHA256_BYTES];
		char got[2 * SHA256_BYTES + 1];

		assert_int_equal(
		    hmac_sha256(cases[i].key, cases[i].key_len, cases[i].data, cases[i].len, md),
		    0);
		hex(md, sizeof(md), got);
		assert_string_equal(got, cases[i].hex);
	}
}

UNIT_TEST_MAIN(cmocka_unit_test(test_digest__sha256_fips_examples),
	       cmocka_unit_test(test_digest__sha256_split_anywhere),
	       cmocka_unit_test(test_digest__sha256_release_unfinished),
	       cmocka_unit_test(test_digest__hmac_sha256_rfc4231))
