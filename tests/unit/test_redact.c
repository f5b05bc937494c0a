/*
 * test_redact.c: the --verbose trace rule (every position, case and
 * protocol form of an Authorization header, proxy URLs with passwords) and
 * the echoed-credential scrub (raw, base64, percent-encoded), as tables.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/redact.h"
#include "base/util.h"

/* base64("cid:s3cr3t+/=key") and base64("s3cr3t+/=key") */
#define B64_CRED   "Y2lkOnMzY3IzdCsvPWtleQ=="
#define B64_SECRET "czNjcjN0Ky89a2V5"

static void test_redact__trace_line_table(void **state)
{
	static const struct {
		const char *in;
		const char *out;
		int hidden; /* 1: a credential was replaced */
	} cases[] = {
	    /* HTTP/1.1 header lines, any case */
	    {"Authorization: Basic " B64_CRED, "Authorization: Basic [redacted]", 1},
	    {"authorization: basic " B64_CRED, "authorization: basic [redacted]", 1},
	    {"AUTHORIZATION:Basic " B64_CRED, "AUTHORIZATION: Basic [redacted]", 1},
	    {"Authorization:   Bearer tok.en", "Authorization: Bearer [redacted]", 1},
	    {"Authorization: " B64_CRED, "Authorization: [redacted]", 1},
	    {"Authorization:", "Authorization: [redacted]", 1},
	    {"Authorization: Digest username=\"cid\", response=\"abc\"",
	     "Authorization: Digest [redacted]", 1},
	    /* proxies */
	    {"Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: Basic [redacted]", 1},
	    {"proxy-authorization: Basic dXNlcjpwYXNz", "proxy-authorization: Basic [redacted]", 1},
	    /* libcurl 7.88's HTTP/2 info line */
	    {"h2h3 [authorization: Basic " B64_CRED "]", "h2h3 [authorization: Basic [redacted]]",
	     1},
	    {"h2h3 [proxy-authorization: Basic " B64_CRED "]",
	     "h2h3 [proxy-authorization: Basic [redacted]]", 1},
	    /* libcurl 8.x's HTTP/2 and HTTP/3 info lines */
	    {"[HTTP/2] [1] [authorization: Basic " B64_CRED "]",
	     "[HTTP/2] [1] [authorization: Basic [redacted]]", 1},
	    {"[HTTP/3] [0] [Authorization: Basic " B64_CRED "]  ",
	     "[HTTP/3] [0] [Authorization: Basic [redacted]]", 1},
	    /* in the middle of any text, or as a value */
	    {"Server echoed Authorization header Basic " B64_CRED,
	     "Server echoed Authorization: header [redacted]", 1},
	    {"X-Seen: authorization=" B64_CRED, "X-Seen: authorization: [redacted]", 1},
	    /* a proxy URL with a password, as "Uses proxy env variable" prints it */
	    {"Uses proxy env variable https_proxy == 'http://bob:hunter2@proxy:3128'",
	     "Uses proxy env variable https_proxy == 'http://bob:[redacted]@proxy:3128'", 1},
	    /* whatever the password holds: the userinfo ends at the value's last '@' */
	    {"Uses proxy env variable https_proxy == 'http://bob:p/w?x#y@z@proxy:3128'",
	     "Uses proxy env variable https_proxy == 'http://bob:[redacted]@proxy:3128'", 1},
	    {"Uses proxy env variable HTTPS_PROXY == 'http://bob:it's\"q\" @ 1/2:3@p:1'",
	     "Uses proxy env variable HTTPS_PROXY == 'http://bob:[redacted]@p:1'", 1},
	    {"Uses proxy env variable ALL_PROXY == 'bob:pw#1@proxy:3128'",
	     "Uses proxy env variable ALL_PROXY == 'bob:[redacted]@proxy:3128'", 1},
	    {"Uses proxy env variable NO_PROXY == 'localhost'",
	     "Uses proxy env variable NO_PROXY == 'localhost'", 0},
	    {"ALL_PROXY == 'socks5h://u:p%40ss@[::1]:1080/'",
	     "ALL_PROXY == 'socks5h://u:[redacted]@[::1]:1080/'", 1},
	    {"a http://x:y@h and https://z:w@g",
	     "a http://x:[redacted]@h and https://z:[redacted]@g", 1},
	    /* nothing to hide */
	    {"Uses proxy env variable http_proxy == 'http://proxy:3128'",
	     "Uses proxy env variable http_proxy == 'http://proxy:3128'", 0},
	    {"http://user@host/", "http://user@host/", 0},
	    {"Connected to 127.0.0.1 (127.0.0.1) port 8080 (#0)",
	     "Connected to 127.0.0.1 (127.0.0.1) port 8080 (#0)", 0},
	    {"WWW-Authenticate: Basic realm=\"finch\"", "WWW-Authenticate: Basic realm=\"finch\"",
	     0},
	    {"Server auth using Basic with user 'cid'", "Server auth using Basic with user 'cid'",
	     0},
	    {"", "", 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf out = STRBUF_INIT;
		int hidden = redact_trace_line(cases[i].in, strlen(cases[i].in), &out);

		if (strcmp(out.buf, cases[i].out) || hidden != cases[i].hidden)
			fail_msg("case %zu: '%s' gave '%s' (%d), want '%s' (%d)", i, cases[i].in,
				 out.buf, hidden, cases[i].out, cases[i].hidden);
		strbuf_release(&out);
	}
}

static void test_redact__base64_matches_rfc4648(void **state)
{
	static const struct {
		const char *in, *out; /* bytes, and their base64 */
	} cases[] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	    {"cid:s3cr3t+/=key", B64_CRED},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf out = STRBUF_INIT;

		redact_base64(cases[i].in, strlen(cases[i].in), &out);
		assert_string_equal(out.buf, cases[i].out);
		strbuf_release(&out);
	}
}

static void test_redact__echoed_credentials_table(void **state)
{
	static const struct {
		const char *in, *out;
		size_t count; /* credentials replaced */
	} cases[] = {
	    {"you sent s3cr3t+/=key", "you sent [redacted]", 1},
	    {"Basic " B64_CRED, "Basic [redacted]", 1},
	    {"secret=" B64_SECRET "!", "secret=[redacted]!", 1},
	    {"Basic Y2lkOnMzY3IzdCsvPWtleQ", "Basic [redacted]", 1},
	    {"token=Y2lkOnMzY3IzdCsvPWtleQ;", "token=[redacted];", 1},
	    {"czNjcjN0Ky89a2V5", "[redacted]", 1},
	    /* every percent-encoding of it: any escaped set, either hex case, mixed */
	    {"q=s3cr3t%2B%2F%3Dkey&x", "q=[redacted]&x", 1},
	    {"q=s3cr3t%2b%2f%3dkey", "q=[redacted]", 1},
	    {"q=%73%33%63%72%33%74%2B%2F%3D%6B%65%79", "q=[redacted]", 1},
	    {"q=s3cr3t+%2f=key", "q=[redacted]", 1},
	    {"q=s3cr3t%2G%2F%3Dkey", "q=s3cr3t%2G%2F%3Dkey", 0},
	    {"%", "%", 0},
	    {"s3cr3t%2", "s3cr3t%2", 0},
	    {"cid:s3cr3t+/=key s3cr3t+/=key", "cid:[redacted] [redacted]", 2},
	    {"s3cr3t+/=keys3cr3t+/=key", "[redacted][redacted]", 2},
	    {"{\"message\":\"Basic " B64_CRED " (cid:s3cr3t+/=key)\"}",
	     "{\"message\":\"Basic [redacted] (cid:[redacted])\"}", 2},
	    /* cut short after 8 bytes or more: still the secret (a truncated echo) */
	    {"s3cr3t+/=ke", "[redacted]", 1},
	    {"s3cr3t+/", "[redacted]", 1},
	    {"s3cr3t+", "s3cr3t+", 0},
	    {"nothing here", "nothing here", 0},
	    {"", "", 0},
	};
	struct redact r;

	(void)state;
	redact_init(&r, "cid", "s3cr3t+/=key");
	assert_int_equal(r.n, 3); /* padded and unpadded "id:secret"; the secret needs no padding */
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct strbuf sb = STRBUF_INIT;
		char *s = xstrdup(cases[i].in), buf[16];
		size_t n;

		strbuf_addstr(&sb, cases[i].in);
		n = redact_strbuf(&r, &sb);
		if (strcmp(sb.buf, cases[i].out) || n != cases[i].count)
			fail_msg("case %zu: '%s' gave '%s' (%zu), want '%s' (%zu)", i, cases[i].in,
				 sb.buf, n, cases[i].out, cases[i].count);
		assert_int_equal(redact_string(&r, &s), cases[i].count);
		assert_string_equal(s, cases[i].out);
		/* a fixed buffer is cut to fit, never overrun */
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		redact_buffer(&r, buf, sizeof(buf));
		assert_true(strlen(buf) < sizeof(buf));
		assert_lacks(buf, "s3cr3t+/=key");
		free(s);
		strbuf_release(&sb);
	}
	redact_release(&r);
}

/* One echo cut after 1, 2, ... bytes of each form: 8 bytes of the secret or more is cut out. */
static void test_redact__cut_echoes_of_each_length(void **state)
{
	static const char secret[] = "s3cr3t+/=key-long-9", id[] = "cid";
	struct strbuf b64 = STRBUF_INIT, cred = STRBUF_INIT, b64cred = STRBUF_INIT;
	struct redact r;

	(void)state;
	redact_init(&r, id, secret);
	redact_base64(secret, strlen(secret), &b64);
	strbuf_addf(&cred, "%s:%s", id, secret);
	redact_base64(cred.buf, cred.len, &b64cred);
	for (size_t k = 1; k <= strlen(secret); k++) {
		struct strbuf raw = STRBUF_INIT, pct = STRBUF_INIT;
		int cut = k >= REDACT_MIN_SECRET_BYTES;

		strbuf_addf(&raw, "invalid secret '%.*s' given", (int)k, secret);
		strbuf_addstr(&pct, "q=");
		for (size_t i = 0; i < k; i++)
			strbuf_addf(&pct, "%%%02X", (unsigned char)secret[i]);
		strbuf_addstr(&pct, "&x=1");
		if ((redact_strbuf(&r, &raw) == 1) != cut)
			fail_msg("raw cut after %zu bytes: '%s'", k, raw.buf);
		if (cut)
			assert_string_equal(raw.buf, "invalid secret '[redacted]' given");
		if ((redact_strbuf(&r, &pct) == 1) != cut)
			fail_msg("percent-encoded cut after %zu bytes: '%s'", k, pct.buf);
		if (cut)
			assert_string_equal(pct.buf, "q=[redacted]&x=1");
		strbuf_release(&raw);
		strbuf_release(&pct);
	}
	/* base64 text cut after L characters: it spells L * 3 / 4 bytes */
	for (size_t l = 1; l <= b64cred.len; l++) {
		struct strbuf a = STRBUF_INIT, c = STRBUF_INIT;
		int cut_a = l <= b64.len && l * 3 / 4 >= REDACT_MIN_SECRET_BYTES,
		    cut_c = l * 3 / 4 >= strlen(id) + 1 + REDACT_MIN_SECRET_BYTES;

		if (l <= b64.len) {
			strbuf_addf(&a, "token %.*s;", (int)l, b64.buf);
			if ((redact_strbuf(&r, &a) == 1) != cut_a)
				fail_msg("base64 of the secret cut after %zu: '%s'", l, a.buf);
		}
		strbuf_addf(&c, "Basic %.*s;", (int)l, b64cred.buf);
		if ((redact_strbuf(&r, &c) == 1) != cut_c)
			fail_msg("base64 of id:secret cut after %zu: '%s'", l, c.buf);
		strbuf_release(&a);
		strbuf_release(&c);
	}
	strbuf_release(&b64);
	strbuf_release(&cred);
	strbuf_release(&b64cred);
	redact_release(&r);
}

static void test_redact__space_in_a_secret_matches_plus_and_percent_20(void **state)
{
	static const char *const in[] = {"a b", "a+b", "a%20b", "x a+b y"};
	struct redact r;

	(void)state;
	redact_init(&r, "cid", "a b");
	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		char *s = xstrdup(in[i]);

		assert_int_equal(redact_string(&r, &s), 1);
		assert_contains(s, REDACTED);
		free(s);
	}
	redact_release(&r);
}

/* A '%' in the secret: "%25" is its escape, and a literal '%' may sit before "25". */
static void test_redact__percent_in_a_secret(void **state)
{
	static const struct {
		const char *secret, *in, *want;
	} cases[] = {
	    {"S3cr3t+/=x%y", "q=S3cr3t%2B%2F%3Dx%25y&z", "q=[redacted]&z"},
	    {"S3cr3t+/=x%y", "q=S3cr3t%2b%2f%3dx%25y", "q=[redacted]"},
	    {"S3cr3t+/=x%y", "q=S3cr3t+/=x%y", "q=[redacted]"},
	    {"abc%def123", "abc%25def123", "[redacted]"},
	    {"abc%def123", "abc%def123", "[redacted]"},
	    {"Zz%41bcdef12", "Zz%2541bcdef12", "[redacted]"},
	    {"Zz%41bcdef12", "Zz%41bcdef12", "[redacted]"},
	    {"pass%25word", "pass%25word", "[redacted]"},   /* literal "%25" */
	    {"pass%25word", "pass%2525word", "[redacted]"}, /* its escape */
	    {"ends-with%", "x ends-with%25", "x [redacted]"},
	    {"ends-with%", "x ends-with%", "x [redacted]"},
	    {"abc%def123", "abc%2def123", "abc%2def123"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct redact r;
		char *s = xstrdup(cases[i].in);

		redact_init(&r, "cid", cases[i].secret);
		redact_string(&r, &s);
		assert_string_equal(s, cases[i].want);
		free(s);
		redact_release(&r);
	}
}

static void test_redact__base64_url_alphabet(void **state)
{
	/* base64("?>?") is "Pz4/", base64url "Pz4_" */
	struct redact r;
	char *s = xstrdup("a Pz4_ b Pz4/ c");

	(void)state;
	redact_init(&r, NULL, "?>?");
	assert_int_equal(redact_string(&r, &s), 2);
	assert_string_equal(s, "a [redacted] b [redacted] c");
	free(s);
	redact_release(&r);
}

static void test_redact__no_secret_changes_nothing(void **state)
{
	struct redact r;
	struct strbuf sb = STRBUF_INIT;
	char *s = NULL;

	(void)state;
	redact_init(&r, "cid", "");
	assert_int_equal(r.n, 0);
	assert_null(r.secret);
	strbuf_addstr(&sb, "cid: anything");
	assert_int_equal(redact_strbuf(&r, &sb), 0);
	assert_string_equal(sb.buf, "cid: anything");
	assert_int_equal(redact_string(&r, &s), 0);
	assert_int_equal(redact_strbuf(NULL, &sb), 0);
	redact_release(&r);
	strbuf_release(&sb);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_redact__trace_line_table),
	       cmocka_unit_test(test_redact__base64_matches_rfc4648),
	       cmocka_unit_test(test_redact__echoed_credentials_table),
	       cmocka_unit_test(test_redact__cut_echoes_of_each_length),
	       cmocka_unit_test(test_redact__space_in_a_secret_matches_plus_and_percent_20),
	       cmocka_unit_test(test_redact__percent_in_a_secret),
	       cmocka_unit_test(test_redact__base64_url_alphabet),
	       cmocka_unit_test(test_redact__no_secret_changes_nothing))
