/*
 * test_sha256.c: the FIPS 180-4 examples, with the portable code and with
 * the processor's SHA extensions (when it has them), and the two against
 * each other on every length and split around the 64-byte block.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sha256.h"

static void digest(const void *data, size_t len, size_t split, char hex[65])
{
	struct sha256 h;

	sha256_init(&h);
	sha256_update(&h, data, split);
	sha256_update(&h, (const char *)data + split, len - split);
	sha256_final_hex(&h, hex);
}

static void check_examples(void)
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
	    {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
	     "klmnopqrlmnopqrsmnopqrstnopqrstu",
	     1, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
	    {"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct sha256 h;
		char hex[65];
		size_t n = strlen(cases[i].in);

		sha256_init(&h);
		for (size_t r = 0; r < cases[i].repeat; r++)
			sha256_update(&h, cases[i].in, n);
		sha256_final_hex(&h, hex);
		assert_string_equal(hex, cases[i].hex);
	}
}

static void test_sha256__examples_portable(void **state)
{
	(void)state;
	sha256_use_extensions(0);
	check_examples();
	sha256_use_extensions(1);
}

static void test_sha256__examples_extensions(void **state)
{
	(void)state;
	if (!sha256_use_extensions(1))
		skip(); /* this processor has none */
	check_examples();
}

static void test_sha256__both_agree_on_every_length_and_split(void **state)
{
	unsigned char data[300];

	(void)state;
	if (!sha256_use_extensions(1))
		skip();
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 131 + 7);
	for (size_t len = 0; len <= sizeof(data); len++) {
		for (size_t split = 0; split <= len; split += len / 7 + 1) {
			char fast[65], slow[65];

			sha256_use_extensions(1);
			digest(data, len, split, fast);
			sha256_use_extensions(0);
			digest(data, len, split, slow);
			if (strcmp(fast, slow))
				fail_msg("length %zu split %zu: %s != %s", len, split, fast, slow);
		}
	}
	sha256_use_extensions(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256__examples_portable),
	    cmocka_unit_test(test_sha256__examples_extensions),
	    cmocka_unit_test(test_sha256__both_agree_on_every_length_and_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
