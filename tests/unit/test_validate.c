/*
 * test_validate.c: every rule of the Connect session contract, field by
 * field, both sides of every bound, as tables of exact expectations
 * (test_validate_request.c: the rules of a whole request).
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "finch/validate.h"

/* A malloc'd string of n copies of unit. */
static char *repeat(const char *unit, size_t n)
{
	size_t len = strlen(unit);
	char *s = xmalloc(len * n + 1);

	for (size_t i = 0; i < n; i++)
		memcpy(s + i * len, unit, len);
	s[len * n] = '\0';
	return s;
}

static void test_validate__customer_field_bounds(void **state)
{
	static const struct {
		const char *unit; /* repeated n times */
		size_t n;
		int ok; /* 0, or -1: too long */
		const char *why;
	} cases[] = {
	    {"a", 1, 0, NULL},
	    {"a", 255, 0, NULL},
	    {"a", 256, -1, "is longer than 255 characters (256)"},
	    {"\xc3\xa9", 255, 0, NULL}, /* 510 bytes, 255 characters */
	    {"\xc3\xa9", 256, -1, "is longer than 255 characters (256)"},
	    {"\xf0\x9f\x90\xa6", 255, 0, NULL}, /* 1020 bytes */
	    {"\xf0\x9f\x90\xa6", 256, -1, "is longer than 255 characters (256)"},
	    {"\xe2\x82\xac", 254, 0, NULL},
	    {"a", 0, -1, "is empty"},
	    {"\xed\xa0\x80", 1, -1, "is not valid UTF-8"},
	    {"\xc0\xaf", 1, -1, "is not valid UTF-8"},
	    {"\xff", 1, -1, "is not valid UTF-8"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *s = repeat(cases[i].unit, cases[i].n);
		char why[VALIDATE_WHY_MAX] = "";
		int got = validate_customer_field(s, strlen(s), why, sizeof(why));

		if (got != cases[i].ok)
			fail_msg("case %zu: got %d, want %d (%s)", i, got, cases[i].ok, why);
		if (cases[i].why && strcmp(why, cases[i].why))
			fail_msg("case %zu: why '%s', want '%s'", i, why, cases[i].why);
		free(s);
	}
}

static void test_validate__customer_field_rejects_nul(void **state)
{
	char why[VALIDATE_WHY_MAX];

	(void)state;
	assert_int_equal(validate_customer_field("a\0b", 3, why, sizeof(why)), -1);
	assert_string_equal(why, "contains a NUL byte");
}

struct string_case {
	const char *in;
	int ok;
	const char *why; /* exact reason when !ok */
};

static void run_string_cases(const char *name, int (*fn)(const char *, char *, size_t),
			     const struct string_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char why[VALIDATE_WHY_MAX] = "";
		int got = fn(cases[i].in, why, sizeof(why));

		if (got != cases[i].ok)
			fail_msg("%s case %zu '%s': got %d, want %d (%s)", name, i,
				 cases[i].in ? cases[i].in : "(null)", got, cases[i].ok, why);
		if (cases[i].ok && strcmp(why, cases[i].why))
			fail_msg("%s case %zu '%s': why '%s', want '%s'", name, i,
				 cases[i].in ? cases[i].in : "(null)", why, cases[i].why);
	}
}

#define NOT_EMAIL "is not an email address"

static void test_validate__email(void **state)
{
	char *local64 = repeat("a", 64), *local65 = repeat("a", 65);
	char *label63 = repeat("d", 63), *label64 = repeat("d", 64);
	char *long_ok, *long_bad, *local_ok, *local_bad, *label_ok, *label_bad;
	struct string_case cases[] = {
	    /* RFC 5321 4.1.2 Dot-string: atoms of atext joined by single dots */
	    {"a@b.co", 0, NULL},
	    {"first.last+tag@example.com", 0, NULL},
	    {"payroll@sub.domain.example", 0, NULL},
	    {"o'brien@example.ie", 0, NULL},
	    {"!#$%&'*+-/=?^_`{|}~@example.com", 0, NULL},
	    {"a.b.c@x.com", 0, NULL},
	    {"a..b@x.com", -1,
	     NOT_EMAIL " (a dot starts or ends the local part, or follows another)"},
	    {".a@x.com", -1,
	     NOT_EMAIL " (a dot starts or ends the local part, or follows another)"},
	    {"a.@x.com", -1,
	     NOT_EMAIL " (a dot starts or ends the local part, or follows another)"},
	    {".@x.com", -1, NOT_EMAIL " (a dot starts or ends the local part, or follows another)"},
	    {"a(b)@x.com", -1,
	     NOT_EMAIL " ('(' is not allowed in the local part unless it is quoted)"},
	    {"a,b@x.com", -1,
	     NOT_EMAIL " (',' is not allowed in the local part unless it is quoted)"},
	    {"a\"b@x.com", -1,
	     NOT_EMAIL " ('\"' is not allowed in the local part unless it is quoted)"},
	    {"a\\b@x.com", -1,
	     NOT_EMAIL " ('\\' is not allowed in the local part unless it is quoted)"},
	    /* Quoted-string: accepted (see validate.c), qtextSMTP and quoted pairs */
	    {"\"john doe\"@example.com", 0, NULL},
	    {"\"a..b\"@x.com", 0, NULL},
	    {"\"a@b\"@x.com", 0, NULL},
	    {"\"a\\\"b\\\\c\"@x.com", 0, NULL},
	    {"\"\"@x.com", 0, NULL},
	    {"\"a\"b@x.com", -1, NOT_EMAIL " (text after the quoted local part)"},
	    {"\"a\"", -1, NOT_EMAIL " (needs exactly one '@')"},
	    {"\"abc@x.com", -1, NOT_EMAIL " (unterminated quoted local part)"},
	    {"\"abc\\\"@x.com", -1, NOT_EMAIL " (unterminated quoted local part)"},
	    {"\"a\tb\"@x.com", -1, "contains whitespace or a control character"},
	    /* Domain: sub-domain = Let-dig [Ldh-str], at least one dot (2.3.5) */
	    {"hr@acme-x.com", 0, NULL},
	    {"hr@a-b-c.x-y.com", 0, NULL},
	    {"hr@123.example", 0, NULL},
	    {"hr@xn--bcher-kva.de", 0, NULL},
	    {"hr@ACME.COM", 0, NULL},
	    {"hr@-acme.com", -1, NOT_EMAIL " (a domain label starts or ends with '-')"},
	    {"hr@acme-.com", -1, NOT_EMAIL " (a domain label starts or ends with '-')"},
	    {"hr@acme.-com", -1, NOT_EMAIL " (a domain label starts or ends with '-')"},
	    {"hr@acme_x.com", -1, NOT_EMAIL " ('_' is not allowed in a domain)"},
	    {"hr@acme x.com", -1, "contains whitespace or a control character"},
	    {"\"a b\"@acme x.com", -1, NOT_EMAIL " (' ' is not allowed in a domain)"},
	    {"hr@acme!.com", -1, NOT_EMAIL " ('!' is not allowed in a domain)"},
	    /* address literals (4.1.3): IPv4 and IPv6 yes, unregistered tags no */
	    {"hr@[192.0.2.1]", 0, NULL},
	    {"hr@[255.255.255.255]", 0, NULL},
	    {"hr@[0.0.0.0]", 0, NULL},
	    {"hr@[256.0.0.1]", -1, NOT_EMAIL " (bad IPv4 address literal)"},
	    {"hr@[1.2.3]", -1, NOT_EMAIL " (bad IPv4 address literal)"},
	    {"hr@[1.2.3.4.5]", -1, NOT_EMAIL " (bad IPv4 address literal)"},
	    {"hr@[1.2.3.1234]", -1, NOT_EMAIL " (bad IPv4 address literal)"},
	    {"hr@[]", -1, NOT_EMAIL " (bad IPv4 address literal)"},
	    {"hr@[IPv6:2001:db8:0:0:0:0:0:1]", 0, NULL},
	    {"hr@[ipv6:2001:db8::1]", 0, NULL},
	    {"hr@[IPv6:::]", 0, NULL},
	    {"hr@[IPv6:1:2:3:4:5:6::]", 0, NULL},
	    {"hr@[IPv6:1:2:3:4:5:6:7::]", -1, NOT_EMAIL " (bad IPv6 address literal)"},
	    {"hr@[IPv6:1:2:3:4:5:6:7]", -1, NOT_EMAIL " (bad IPv6 address literal)"},
	    {"hr@[IPv6:1:2:3:4:5:6:7:8:9]", -1, NOT_EMAIL " (bad IPv6 address literal)"},
	    {"hr@[IPv6:1::2::3]", -1, NOT_EMAIL " (bad IPv6 address literal)"},
	    {"hr@[IPv6:1:::3]", -1, NOT_EMAIL " (bad IPv6 address literal)"},
	    {"hr@[IPv6:12345::1]", -1, NOT_EMAIL " (bad IPv6 address literal)"},
	    {"hr@[IPv6:g::1]", -1, NOT_EMAIL " (bad IPv6 address literal)"},
	    {"hr@[IPv6:1:2:3:4:5:6:1.2.3.4]", 0, NULL},
	    {"hr@[IPv6:::ffff:1.2.3.4]", 0, NULL},
	    {"hr@[IPv6:::1.2.3.4]", 0, NULL},
	    {"hr@[IPv6:1:2:3:4::1.2.3.4]", 0, NULL},
	    {"hr@[IPv6:1:2:3:4:5::1.2.3.4]", -1, NOT_EMAIL " (bad IPv6 address literal)"},
	    {"hr@[IPv6:1:2:3:4:5:1.2.3.4]", -1, NOT_EMAIL " (bad IPv6 address literal)"},
	    {"hr@[IPv6:::1.2.3.256]", -1, NOT_EMAIL " (bad IPv6 address literal)"},
	    {"hr@[x-tag:abc]", -1,
	     NOT_EMAIL " (address literal tag 'x-tag' is not registered; only IPv6 is)"},
	    {"hr@[1.2.3.4", -1, NOT_EMAIL " (an address literal must be '[...]')"},
	    {"hr@[1.2.3.4]x", -1, NOT_EMAIL " (an address literal must be '[...]')"},
	    {"hr@[1.2.3.4].com", -1, NOT_EMAIL " (an address literal must be '[...]')"},
	    /* only ASCII: RFC 6531 addresses are "idn-email", not "email" */
	    {"j\xc3\xb6rg@example.de", -1,
	     NOT_EMAIL " (non-ASCII characters need an internationalised address; write the "
		       "domain as xn--...)"},
	    {"hr@b\xc3\xbc"
	     "cher.de",
	     -1,
	     NOT_EMAIL " (non-ASCII characters need an internationalised address; write the "
		       "domain as xn--...)"},
	    {"", -1, "is empty"},
	    {NULL, -1, "is empty"},
	    {"plainaddress", -1, NOT_EMAIL " (needs exactly one '@')"},
	    {"a@b@c.com", -1, NOT_EMAIL " (needs exactly one '@')"},
	    {"@example.com", -1, NOT_EMAIL " (empty local part)"},
	    {"a@", -1, NOT_EMAIL " (empty domain)"},
	    {"a@localhost", -1, NOT_EMAIL " (no dot in the domain)"},
	    {"a@.example.com", -1, NOT_EMAIL " (empty label in the domain)"},
	    {"a@example.com.", -1, NOT_EMAIL " (empty label in the domain)"},
	    {"a@example..com", -1, NOT_EMAIL " (empty label in the domain)"},
	    {"a b@example.com", -1, "contains whitespace or a control character"},
	    {" a@example.com", -1, "contains whitespace or a control character"},
	    {"a@example.com\t", -1, "contains whitespace or a control character"},
	    {"a@exa\nmple.com", -1, "contains whitespace or a control character"},
	    {"a@exa\x7fmple.com", -1, "contains whitespace or a control character"},
	    {"a\xff@example.com", -1, "is not valid UTF-8"},
	    /* filled below: both sides of each length limit */
	    {NULL, 0, NULL},
	    {NULL, -1, NOT_EMAIL " (local part longer than 64 bytes)"},
	    {NULL, 0, NULL},
	    {NULL, -1, NOT_EMAIL " (a domain label longer than 63 bytes)"},
	    {NULL, 0, NULL},
	    {NULL, -1, "is longer than 254 bytes"},
	};
	size_t n = ARRAY_SIZE(cases);

	(void)state;
	local_ok = xmalloc(300);
	local_bad = xmalloc(300);
	label_ok = xmalloc(300);
	label_bad = xmalloc(300);
	long_ok = xmalloc(300);
	long_bad = xmalloc(300);
	snprintf(local_ok, 300, "%s@example.com", local64);
	snprintf(local_bad, 300, "%s@example.com", local65);
	snprintf(label_ok, 300, "hr@%s.example.com", label63);
	snprintf(label_bad, 300, "hr@sub.%s.com", label64);
	/* 64 + 1 + (63 + 1 + 63 + 1 + 57 + 4) = 254 bytes, then 255 */
	snprintf(long_ok, 300, "%s@%s.%s.%.57s.com", local64, label63, label63, label63);
	snprintf(long_bad, 300, "%s@%s.%s.%.58s.com", local64, label63, label63, label63);
	assert_int_equal(strlen(long_ok), 254);
	assert_int_equal(strlen(long_bad), 255);
	cases[n - 6].in = local_ok;
	cases[n - 5].in = local_bad;
	cases[n - 4].in = label_ok;
	cases[n - 3].in = label_bad;
	cases[n - 2].in = long_ok;
	cases[n - 1].in = long_bad;
	run_string_cases("email", validate_email, cases, n);
	free(local64);
	free(local65);
	free(label63);
	free(label64);
	free(local_ok);
	free(local_bad);
	free(label_ok);
	free(label_bad);
	free(long_ok);
	free(long_bad);
}

static void test_validate__parse_products(void **state)
{
	static const struct {
		const char *in;
		int ok;
		unsigned mask;
		const char *why;
	} cases[] = {
	    {"benefits", 0, PRODUCT_BENEFITS, NULL},
	    {"company directory", 0, PRODUCT_COMPANY | PRODUCT_DIRECTORY, NULL},
	    {"company,directory", 0, PRODUCT_COMPANY | PRODUCT_DIRECTORY, NULL},
	    {"company;directory", 0, PRODUCT_COMPANY | PRODUCT_DIRECTORY, NULL},
	    {"company|directory", 0, PRODUCT_COMPANY | PRODUCT_DIRECTORY, NULL},
	    {" company , ;| directory ", 0, PRODUCT_COMPANY | PRODUCT_DIRECTORY, NULL},
	    {"COMPANY Directory", 0, PRODUCT_COMPANY | PRODUCT_DIRECTORY, NULL},
	    {"ssn ssn SSN", 0, PRODUCT_SSN, NULL},
	    {"pay_statement", 0, PRODUCT_PAY_STATEMENT, NULL},
	    {"benefits company deduction directory documents employment individual payment "
	     "pay_statement ssn recordkeeping plans plans_dependents plans_enrollments",
	     0, (1u << PRODUCT_KNOWN_COUNT) - 1, NULL}, /* list rules are validate_products' */
	    /* the products of SDK 9.12.0 and 10.5.0 */
	    {"recordkeeping", 0, PRODUCT_RECORDKEEPING, NULL},
	    {"Plans, plans_dependents; PLANS_ENROLLMENTS", 0,
	     PRODUCT_PLANS | PRODUCT_PLANS_DEPENDENTS | PRODUCT_PLANS_ENROLLMENTS, NULL},
	    {"plans_futures", -1, 0, "unknown product 'plans_futures'"},
	    {"", 0, 0, NULL},
	    {" ,;| ", 0, 0, NULL},
	    /* any Unicode white space separates: Excel's Alt+Enter, CR, tab, NBSP, U+3000 */
	    {"company\ndirectory", 0, PRODUCT_COMPANY | PRODUCT_DIRECTORY, NULL},
	    {"company\r\ndirectory", 0, PRODUCT_COMPANY | PRODUCT_DIRECTORY, NULL},
	    {"company\rdirectory", 0, PRODUCT_COMPANY | PRODUCT_DIRECTORY, NULL},
	    {"company\tdirectory\v\fssn", 0, PRODUCT_COMPANY | PRODUCT_DIRECTORY | PRODUCT_SSN,
	     NULL},
	    {"company\u00a0directory", 0, PRODUCT_COMPANY | PRODUCT_DIRECTORY, NULL},
	    {"company\u3000directory\u2028ssn", 0,
	     PRODUCT_COMPANY | PRODUCT_DIRECTORY | PRODUCT_SSN, NULL},
	    {"\u00a0\ncompany\r\n", 0, PRODUCT_COMPANY, NULL},
	    {"company foo", -1, 0, "unknown product 'foo'"},
	    {"pay statement", -1, 0, "unknown product 'pay'"},
	    {"pay-statement", -1, 0, "unknown product 'pay-statement'"},
	    {"company/directory", -1, 0, "unknown product 'company/directory'"},
	    {"benefit", -1, 0, "unknown product 'benefit'"},
	    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", -1, 0,
	     "unknown product 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...'"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char why[VALIDATE_WHY_MAX] = "";
		unsigned mask = 12345;
		int got = parse_products(cases[i].in, &mask, why, sizeof(why));

		if (got != cases[i].ok)
			fail_msg("case %zu '%s': got %d (%s)", i, cases[i].in, got, why);
		if (!got && mask != cases[i].mask)
			fail_msg("case %zu '%s': mask %#x, want %#x", i, cases[i].in, mask,
				 cases[i].mask);
		if (got && strcmp(why, cases[i].why))
			fail_msg("case %zu '%s': why '%s', want '%s'", i, cases[i].in, why,
				 cases[i].why);
	}
}

static void test_validate__product_names_are_exact(void **state)
{
	static const struct {
		const char *name;
		unsigned bit; /* the PRODUCT_ flag the name reads as */
	} cases[] = {
	    {"benefits", PRODUCT_BENEFITS},
	    {"company", PRODUCT_COMPANY},
	    {"deduction", PRODUCT_DEDUCTION},
	    {"directory", PRODUCT_DIRECTORY},
	    {"documents", PRODUCT_DOCUMENTS},
	    {"employment", PRODUCT_EMPLOYMENT},
	    {"individual", PRODUCT_INDIVIDUAL},
	    {"payment", PRODUCT_PAYMENT},
	    {"pay_statement", PRODUCT_PAY_STATEMENT},
	    {"ssn", PRODUCT_SSN},
	    {"recordkeeping", PRODUCT_RECORDKEEPING},
	    {"plans", PRODUCT_PLANS},
	    {"plans_dependents", PRODUCT_PLANS_DEPENDENTS},
	    {"plans_enrollments", PRODUCT_PLANS_ENROLLMENTS},
	    {"plan", 0},
	    {"SSN", 0},
	    {"Benefits", 0},
	    {"", 0},
	    {"ss", 0},
	    {"ssnx", 0},
	    {"pay", 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned got = product_from_name(cases[i].name, strlen(cases[i].name));

		if (got != cases[i].bit)
			fail_msg("'%s': %#x, want %#x", cases[i].name, got, cases[i].bit);
		if (cases[i].bit)
			assert_string_equal(product_name(cases[i].bit), cases[i].name);
	}
	/* A prefix of a longer buffer, as a JSON parser or CSV cell hands it over. */
	assert_int_equal(product_from_name("ssn,company", 3), PRODUCT_SSN);
	assert_null(product_name(0));
	assert_null(product_name(PRODUCT_SSN | PRODUCT_COMPANY));
	assert_null(product_name(1u << PRODUCT_COUNT));
}

/* --allow-product: a product newer than this build takes a bit of its own. */
static void test_validate__allow_product(void **state)
{
	char why[VALIDATE_WHY_MAX] = "";
	char text[PRODUCTS_TEXT_SIZE];
	unsigned mask = 0, bit;
	char name[16];

	(void)state;
	product_allow_reset();
	assert_int_equal(parse_products("company payroll_v2", &mask, why, sizeof(why)), -1);
	assert_string_equal(why, "unknown product 'payroll_v2'");
	assert_int_equal(product_allow("payroll_v2", why, sizeof(why)), 1);
	assert_int_equal(product_allow("payroll_v2", why, sizeof(why)), 0); /* warned once */
	assert_int_equal(product_allow("plans", why, sizeof(why)), 0);	    /* known */
	bit = product_from_name("payroll_v2", 10);
	assert_int_equal(bit, 1u << PRODUCT_KNOWN_COUNT);
	assert_string_equal(product_name(bit), "payroll_v2");
	assert_int_equal(parse_products("company PAYROLL_V2", &mask, why, sizeof(why)), 0);
	assert_int_equal(mask, PRODUCT_COMPANY | bit);
	assert_int_equal(validate_products(mask, why, sizeof(why)), 0);
	assert_int_equal(validate_products(bit << 1, why, sizeof(why)), -1);
	products_join(mask | PRODUCT_PLANS_ENROLLMENTS, text);
	assert_string_equal(text, "company plans_enrollments payroll_v2");

	/* names: lowercase letters, digits, '_', at most 32 bytes */
	assert_int_equal(product_allow("Payroll", why, sizeof(why)), -1);
	assert_string_equal(why, "a product name is lowercase letters, digits and '_'");
	assert_int_equal(product_allow("", why, sizeof(why)), -1);
	assert_int_equal(product_allow("a234567890123456789012345678901234", why, sizeof(why)), -1);
	assert_string_equal(why, "is longer than 32 bytes");
	for (int i = 1; i < PRODUCT_ALLOWED_MAX; i++) {
		snprintf(name, sizeof(name), "new_%d", i);
		assert_int_equal(product_allow(name, why, sizeof(why)), 1);
	}
	assert_int_equal(product_allow("one_too_many", why, sizeof(why)), -1);
	assert_string_equal(why, "more than 8 products newer than this build");

	/* a stored list names what an earlier import allowed: allowed again */
	product_allow_reset();
	assert_int_equal(parse_products_stored("company payroll_v2", &mask, why, sizeof(why)), 0);
	assert_int_equal(mask, PRODUCT_COMPANY | (1u << PRODUCT_KNOWN_COUNT));
	assert_int_equal(parse_products_stored("company Bad-Name", &mask, why, sizeof(why)), -1);
	product_allow_reset();
}

/* All fourteen names and eight allowed ones of the longest length fit the column. */
static void test_validate__products_text_fits(void **state)
{
	char why[VALIDATE_WHY_MAX], text[PRODUCTS_TEXT_SIZE], name[PRODUCT_ALLOWED_NAME_MAX + 1];

	(void)state;
	product_allow_reset();
	for (int i = 0; i < PRODUCT_ALLOWED_MAX; i++) {
		snprintf(name, sizeof(name), "%031d%d", 0, i);
		assert_int_equal(product_allow(name, why, sizeof(why)), 1);
	}
	products_join((unsigned)((1ull << PRODUCT_COUNT) - 1), text);
	assert_true(strlen(text) < PRODUCTS_TEXT_SIZE);
	product_allow_reset();
}

static void test_validate__products_list_rules(void **state)
{
	static const struct {
		unsigned mask;
		int ok;
		const char *why;
	} cases[] = {
	    {PRODUCT_BENEFITS, 0, NULL},
	    {PRODUCT_DEDUCTION, 0, NULL},
	    {PRODUCT_DEDUCTION | PRODUCT_COMPANY, 0, NULL},
	    {PRODUCT_BENEFITS | PRODUCT_COMPANY, 0, NULL},
	    {PRODUCT_DEDUCTION | PRODUCT_BENEFITS, -1,
	     "cannot combine 'deduction' with 'benefits'"},
	    {PRODUCT_DEDUCTION | PRODUCT_BENEFITS | PRODUCT_SSN, -1,
	     "cannot combine 'deduction' with 'benefits'"},
	    {0, -1, "is empty"},
	    {PRODUCT_PLANS | PRODUCT_RECORDKEEPING, 0, NULL},
	    {1u << PRODUCT_KNOWN_COUNT, -1, "holds an unknown product"},
	    {1u << PRODUCT_COUNT, -1, "holds an unknown product"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char why[VALIDATE_WHY_MAX] = "";
		int got = validate_products(cases[i].mask, why, sizeof(why));

		if (got != cases[i].ok)
			fail_msg("case %zu: got %d (%s)", i, got, why);
		if (got)
			assert_string_equal(why, cases[i].why);
	}
}

static void test_validate__minutes_to_expire(void **state)
{
	static const struct {
		const char *in;
		int ok; /* 0, or -1: refused, saying why */
		int64_t value;
		const char *why;
	} cases[] = {
	    {"1", 0, 1, NULL},
	    {"60", 0, 60, NULL},
	    {"129600", 0, 129600, NULL},
	    {"0060", 0, 60, NULL},
	    {"0", -1, 0, "must be between 1 and 129600"},
	    {"129601", -1, 0, "must be between 1 and 129600"},
	    {"-1", -1, 0, "must be between 1 and 129600"},
	    {"-0", -1, 0, "must be between 1 and 129600"},
	    {"99999999999999999999999", -1, 0, "must be between 1 and 129600"},
	    {"12a", -1, 0, "'12a' is not an integer"},
	    {"1.5", -1, 0, "'1.5' is not an integer"},
	    {"60.0", -1, 0, "'60.0' is not an integer"},
	    {"1e3", -1, 0, "'1e3' is not an integer"},
	    {" 5", -1, 0, "' 5' is not an integer"}, /* the importer trims first */
	    {"5 ", -1, 0, "'5 ' is not an integer"},
	    {"+5", -1, 0, "'+5' is not an integer"},
	    {"-", -1, 0, "'-' is not an integer"},
	    {"0x10", -1, 0, "'0x10' is not an integer"},
	    {"", -1, 0, "is empty"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char why[VALIDATE_WHY_MAX] = "";
		int64_t v = -42;
		int got = parse_minutes_to_expire(cases[i].in, &v, why, sizeof(why));

		if (got != cases[i].ok)
			fail_msg("case '%s': got %d (%s)", cases[i].in, got, why);
		if (!got && v != cases[i].value)
			fail_msg("case '%s': value %lld", cases[i].in, (long long)v);
		if (got && strcmp(why, cases[i].why))
			fail_msg("case '%s': why '%s', want '%s'", cases[i].in, why, cases[i].why);
		if (got)
			assert_int_equal(v, -42); /* untouched on failure */
	}
	for (int64_t v = -1; v <= 2; v++)
		assert_int_equal(validate_minutes_to_expire(v, NULL, 0), v >= 1 ? 0 : -1);
	assert_int_equal(validate_minutes_to_expire(129600, NULL, 0), 0);
	assert_int_equal(validate_minutes_to_expire(129601, NULL, 0), -1);
	assert_int_equal(validate_minutes_to_expire(INT64_MIN, NULL, 0), -1);
	assert_int_equal(validate_minutes_to_expire(INT64_MAX, NULL, 0), -1);
}

static void test_validate__sandbox(void **state)
{
	static const struct string_case cases[] = {
	    {"finch", 0, NULL},
	    {"provider", 0, NULL},
	    {"Finch", -1, "must be 'finch' or 'provider'"},
	    {"", -1, "must be 'finch' or 'provider'"},
	    {"sandbox", -1, "must be 'finch' or 'provider'"},
	    {NULL, -1, "must be 'finch' or 'provider'"},
	};

	(void)state;
	run_string_cases("sandbox", validate_sandbox, cases, ARRAY_SIZE(cases));
}

static void test_validate__bool_spellings(void **state)
{
	static const struct {
		const char *in;
		int ok;	   /* 0, or -1: not a boolean */
		int value; /* what it means when ok */
	} cases[] = {
	    {"true", 0, 1},  {"TRUE", 0, 1}, {"True", 0, 1},   {"false", 0, 0}, {"FALSE", 0, 0},
	    {"fAlSe", 0, 0}, {"1", 0, 1},    {"0", 0, 0},      {"yes", 0, 1},	{"YES", 0, 1},
	    {"Yes", 0, 1},   {"no", 0, 0},   {"NO", 0, 0},     {"No", 0, 0},	{"", -1, 0},
	    {"y", -1, 0},    {"n", -1, 0},   {"t", -1, 0},     {"2", -1, 0},	{"on", -1, 0},
	    {"off", -1, 0},  {"01", -1, 0},  {"true ", -1, 0}, {"yess", -1, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char why[VALIDATE_WHY_MAX] = "";
		int v = -7;
		int got = parse_bool(cases[i].in, &v, why, sizeof(why));

		if (got != cases[i].ok)
			fail_msg("'%s': got %d", cases[i].in, got);
		if (!got && v != cases[i].value)
			fail_msg("'%s': value %d, want %d", cases[i].in, v, cases[i].value);
		if (got) {
			assert_string_equal(why, "must be true, false, 1, 0, yes or no");
			assert_int_equal(v, -7);
		}
	}
}

static void test_validate__auth_method(void **state)
{
	static const char bad[] = "must be assisted, credential, oauth or api_token";
	static const struct string_case cases[] = {
	    {"assisted", 0, NULL},  {"credential", 0, NULL}, {"oauth", 0, NULL},
	    {"api_token", 0, NULL}, {"OAuth", -1, bad},	     {"api-token", -1, bad},
	    {"", -1, bad},	    {"password", -1, bad},   {NULL, -1, bad},
	};

	(void)state;
	run_string_cases("auth_method", validate_auth_method, cases, ARRAY_SIZE(cases));
}

/* "type: number", 1..129600: a fraction is the contract's, rounded up for us. */
static void test_validate__minutes_to_expire_number(void **state)
{
	static const struct {
		double v;
		int ok;
		int64_t whole;
	} cases[] = {
	    {1, 0, 1},		{1.0, 0, 1},	{1.5, 0, 2},	     {0.999, -1, 0},
	    {0, -1, 0},		{-1, -1, 0},	{129600, 0, 129600}, {129599.01, 0, 129600},
	    {129600.01, -1, 0}, {1e300, -1, 0}, {-1e300, -1, 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char why[VALIDATE_WHY_MAX] = "";
		int64_t whole = 0;
		int got = validate_minutes_to_expire_number(cases[i].v, &whole, why, sizeof(why));

		if (got != cases[i].ok)
			fail_msg("case %zu (%g): got %d (%s)", i, cases[i].v, got, why);
		if (!got && whole != cases[i].whole)
			fail_msg("case %zu (%g): %lld minutes", i, cases[i].v, (long long)whole);
		if (got)
			assert_string_equal(why, "must be between 1 and 129600");
	}
}

static void test_validate__why_fits_small_buffers(void **state)
{
	char why[8];
	unsigned mask;

	(void)state;
	assert_int_equal(parse_products("nonexistent_product", &mask, why, sizeof(why)), -1);
	assert_string_equal(why, "unknown");
	assert_int_equal(validate_sandbox("x", NULL, 0), -1);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_validate__customer_field_bounds),
	       cmocka_unit_test(test_validate__customer_field_rejects_nul),
	       cmocka_unit_test(test_validate__email),
	       cmocka_unit_test(test_validate__parse_products),
	       cmocka_unit_test(test_validate__product_names_are_exact),
	       cmocka_unit_test(test_validate__products_list_rules),
	       cmocka_unit_test(test_validate__allow_product),
	       cmocka_unit_test(test_validate__products_text_fits),
	       cmocka_unit_test(test_validate__minutes_to_expire),
	       cmocka_unit_test(test_validate__sandbox),
	       cmocka_unit_test(test_validate__bool_spellings),
	       cmocka_unit_test(test_validate__auth_method),
	       cmocka_unit_test(test_validate__minutes_to_expire_number),
	       cmocka_unit_test(test_validate__why_fits_small_buffers))
