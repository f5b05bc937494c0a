/*
 * validate.c: the rules of the Connect session contract. See validate.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"
#include "validate.h"

/* The products in the contract's enum order; index i is bit 1 << i. */
static const char *const product_names[PRODUCT_COUNT] = {
    "benefits",	  "company",	"deduction", "directory",     "documents",
    "employment", "individual", "payment",   "pay_statement", "ssn",
};

static const char *const auth_methods[] = {"assisted", "credential", "oauth", "api_token"};

/* Longest product name quoted back in a reason, so reasons fit VALIDATE_WHY_MAX. */
#define WHY_QUOTE_MAX 40

void connect_request_init(struct connect_request *r)
{
	memset(r, 0, sizeof(*r));
	r->manual = -1;
}

void connect_request_release(struct connect_request *r)
{
	free(r->customer_id);
	free(r->customer_name);
	free(r->customer_email);
	free(r->redirect_uri);
	free(r->sandbox);
	free(r->integration_provider);
	free(r->integration_auth_method);
	connect_request_init(r);
}

long utf8_count(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	long n = 0;

	while (i < len) {
		unsigned c = p[i];
		unsigned cp, min;
		size_t need;

		if (c < 0x80) {
			i++;
			n++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			/* 0x80..0xc1 (continuation or overlong lead) and 0xf5..0xff */
			return -1;
		}
		if (len - i <= need)
			return -1;
		for (size_t k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		i += need + 1;
		n++;
	}
	return n;
}

int validate_customer_field(const char *s, size_t len, char *why, size_t size)
{
	long n;

	if (!s || !len)
		return set_why(why, size, "is empty");
	if (memchr(s, '\0', len))
		return set_why(why, size, "contains a NUL byte");
	n = utf8_count(s, len);
	if (n < 0)
		return set_why(why, size, "is not valid UTF-8");
	if (n > CUSTOMER_FIELD_MAX_CHARS)
		return set_why(why, size, "is longer than %d characters (%ld)",
			       CUSTOMER_FIELD_MAX_CHARS, n);
	return 0;
}

int validate_email(const char *s, char *why, size_t size)
{
	const char *at, *domain, *p;
	size_t len;

	if (!s || !*s)
		return set_why(why, size, "is empty");
	len = strlen(s);
	if (len > 254)
		return set_why(why, size, "is longer than 254 bytes");
	if (utf8_count(s, len) < 0)
		return set_why(why, size, "is not valid UTF-8");
	for (p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (c <= 0x20 || c == 0x7f)
			return set_why(why, size, "contains whitespace or a control character");
	}
	at = strchr(s, '@');
	if (!at || strchr(at + 1, '@'))
		return set_why(why, size, "is not an email address (needs exactly one '@')");
	if (at == s)
		return set_why(why, size, "is not an email address (empty local part)");
	domain = at + 1;
	if (!*domain)
		return set_why(why, size, "is not an email address (empty domain)");
	if (!strchr(domain, '.'))
		return set_why(why, size, "is not an email address (no dot in the domain)");
	if (*domain == '.' || s[len - 1] == '.' || strstr(domain, ".."))
		return set_why(why, size, "is not an email address (empty label in the domain)");
	/* the limits of RFC 5321 (local part) and RFC 1035 (labels) */
	if (at - s > 64)
		return set_why(why, size,
			       "is not an email address (local part longer than 64 bytes)");
	for (p = domain; *p;) {
		size_t label = strcspn(p, ".");

		if (label > 63)
			return set_why(
			    why, size,
			    "is not an email address (a domain label longer than 63 bytes)");
		p += label + (p[label] == '.');
	}
	return 0;
}

static int is_product_separator(char c)
{
	return c == ' ' || c == '\t' || c == ',' || c == ';' || c == '|';
}

/* product_from_name(), ignoring ASCII case. */
static unsigned product_from_name_icase(const char *name, size_t len)
{
	for (size_t i = 0; i < PRODUCT_COUNT; i++) {
		const char *p = product_names[i];
		if (strlen(p) == len && !strncasecmp(p, name, len))
			return 1u << i;
	}
	return 0;
}

int parse_products(const char *s, unsigned *mask, char *why, size_t size)
{
	unsigned m = 0;

	*mask = 0;
	if (!s)
		return 0;
	while (*s) {
		size_t n;
		unsigned bit;

		if (is_product_separator(*s)) {
			s++;
			continue;
		}
		for (n = 0; s[n] && !is_product_separator(s[n]); n++)
			;
		bit = product_from_name_icase(s, n);
		if (!bit) {
			if (n > WHY_QUOTE_MAX)
				return set_why(why, size, "unknown product '%.*s...'",
					       WHY_QUOTE_MAX, s);
			return set_why(why, size, "unknown product '%.*s'", (int)n, s);
		}
		m |= bit;
		s += n;
	}
	*mask = m;
	return 0;
}

unsigned product_from_name(const char *name, size_t len)
{
	for (size_t i = 0; i < PRODUCT_COUNT; i++) {
		const char *p = product_names[i];
		if (strlen(p) == len && !memcmp(p, name, len))
			return 1u << i;
	}
	return 0;
}

const char *product_name(unsigned bit)
{
	for (size_t i = 0; i < PRODUCT_COUNT; i++)
		if (bit == 1u << i)
			return product_names[i];
	return NULL;
}

int validate_products(unsigned mask, char *why, size_t size)
{
	if (!mask)
		return set_why(why, size, "is empty");
	if (mask >> PRODUCT_COUNT)
		return set_why(why, size, "holds an unknown product");
	if ((mask & PRODUCT_DEDUCTION) && (mask & PRODUCT_BENEFITS))
		return set_why(why, size, "cannot combine 'deduction' with 'benefits'");
	return 0;
}

int parse_minutes_to_expire(const char *s, int64_t *out, char *why, size_t size)
{
	const char *p = s;
	int64_t v = 0;
	int negative = 0;

	if (!s || !*s)
		return set_why(why, size, "is empty");
	if (*p == '-') {
		negative = 1;
		p++;
	}
	if (!*p)
		return set_why(why, size, "'%.*s' is not an integer", WHY_QUOTE_MAX, s);
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			return set_why(why, size, "'%.*s' is not an integer", WHY_QUOTE_MAX, s);
		/* Saturate: anything this large is out of range anyway. */
		if (v < INT64_MAX / 10 - 10)
			v = v * 10 + (*p - '0');
	}
	if (negative)
		v = -v;
	if (validate_minutes_to_expire(v, why, size) < 0)
		return -1;
	*out = v;
	return 0;
}

int validate_minutes_to_expire(int64_t v, char *why, size_t size)
{
	if (v < MINUTES_TO_EXPIRE_MIN || v > MINUTES_TO_EXPIRE_MAX)
		return set_why(why, size, "must be between %d and %d", MINUTES_TO_EXPIRE_MIN,
			       MINUTES_TO_EXPIRE_MAX);
	return 0;
}

int validate_sandbox(const char *s, char *why, size_t size)
{
	if (s && (!strcmp(s, "finch") || !strcmp(s, "provider")))
		return 0;
	return set_why(why, size, "must be 'finch' or 'provider'");
}

int parse_bool(const char *s, int *out, char *why, size_t size)
{
	static const struct {
		const char *word;
		int value;
	} words[] = {{"true", 1}, {"false", 0}, {"1", 1}, {"0", 0}, {"yes", 1}, {"no", 0}};

	for (size_t i = 0; s && i < ARRAY_SIZE(words); i++) {
		if (!strcasecmp(s, words[i].word)) {
			*out = words[i].value;
			return 0;
		}
	}
	return set_why(why, size, "must be true, false, 1, 0, yes or no");
}

int validate_auth_method(const char *s, char *why, size_t size)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(auth_methods); i++)
		if (!strcmp(s, auth_methods[i]))
			return 0;
	return set_why(why, size, "must be assisted, credential, oauth or api_token");
}

/* A free-form string the contract only types: valid UTF-8, no NUL. */
static int validate_text(const char *s, char *why, size_t size)
{
	if (utf8_count(s, strlen(s)) < 0)
		return set_why(why, size, "is not valid UTF-8");
	return 0;
}

int validate_request(const struct connect_request *r, const char **field, char *why, size_t size)
{
	*field = "customer_id";
	if (!r->customer_id)
		return set_why(why, size, "is required");
	if (validate_customer_field(r->customer_id, strlen(r->customer_id), why, size) < 0)
		return -1;

	*field = "customer_name";
	if (!r->customer_name)
		return set_why(why, size, "is required");
	if (validate_customer_field(r->customer_name, strlen(r->customer_name), why, size) < 0)
		return -1;

	*field = "customer_email";
	if (r->customer_email && validate_email(r->customer_email, why, size) < 0)
		return -1;

	*field = "products";
	if (validate_products(r->products, why, size) < 0)
		return -1;

	*field = "redirect_uri";
	if (r->redirect_uri && validate_text(r->redirect_uri, why, size) < 0)
		return -1;

	*field = "minutes_to_expire";
	if (r->minutes_to_expire && validate_minutes_to_expire(r->minutes_to_expire, why, size) < 0)
		return -1;

	*field = "sandbox";
	if (r->sandbox && validate_sandbox(r->sandbox, why, size) < 0)
		return -1;

	*field = "manual";
	if (r->manual < -1 || r->manual > 1)
		return set_why(why, size, "must be true or false");

	*field = "integration.provider";
	if (r->integration_provider) {
		if (!*r->integration_provider)
			return set_why(why, size, "is empty");
		if (validate_text(r->integration_provider, why, size) < 0)
			return -1;
	}

	*field = "integration.auth_method";
	if (r->integration_auth_method) {
		if (validate_auth_method(r->integration_auth_method, why, size) < 0)
			return -1;
		if (!r->integration_provider)
			return set_why(why, size, "requires an integration provider");
	}

	*field = NULL;
	return 0;
}
