/*
 * validate.c: the rules of the Connect session contract. See validate.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"
#include "base/utf8.h"
#include "finch/validate.h"

/*
 * The products in the contract's enum order; index i is bit 1 << i. The
 * first ten are the seed page's (finch-api-node 10.7 SessionNewParams);
 * Finch added the others since, and each came with an SDK release:
 * - recordkeeping: finch-api-node 9.12.0 (June 2026), with the optional
 *   recordkeeping object {recordkeeper, plan_id?};
 * - plans, plans_dependents, plans_enrollments: finch-api-node 10.5.0
 *   (August 2026).
 * A product newer than this build is allowed by name (product_allow()) and
 * takes one of the bits after these.
 */
static const char *const known_names[PRODUCT_KNOWN_COUNT] = {
    "benefits",	     "company",	   "deduction",	       "directory",	    "documents",
    "employment",    "individual", "payment",	       "pay_statement",	    "ssn",
    "recordkeeping", "plans",	   "plans_dependents", "plans_enrollments",
};

/* --allow-product names, in the order allowed; bit PRODUCT_KNOWN_COUNT + i. */
static char allowed_names[PRODUCT_ALLOWED_MAX][PRODUCT_ALLOWED_NAME_MAX + 1];
static size_t allowed_count;

/* The recordkeeping object's recordkeeper enum (finch-api-node 9.12.0). */
static const char *const recordkeepers[] = {"voya", "empower", "fidelity", "transamerica"};

/* The name of product index i, or NULL for an allowed slot still free. */
static const char *name_at(size_t i)
{
	if (i < PRODUCT_KNOWN_COUNT)
		return known_names[i];
	if (i - PRODUCT_KNOWN_COUNT < allowed_count)
		return allowed_names[i - PRODUCT_KNOWN_COUNT];
	return NULL;
}

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
	free(r->recordkeeper);
	free(r->recordkeeping_plan_id);
	connect_request_init(r);
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

/*
 * The contract's customer_email is "format: email", which JSON Schema (2020-12,
 * section 7.3.2) defines as RFC 5321's Mailbox (section 4.1.2):
 *
 *	Mailbox      = Local-part "@" ( Domain / address-literal )
 *	Local-part   = Dot-string / Quoted-string
 *	Dot-string   = Atom *("." Atom)          Atom = 1*atext (RFC 5322 3.2.3)
 *	Quoted-string = DQUOTE *(qtextSMTP / "\" %d32-126) DQUOTE
 *	Domain       = sub-domain *("." sub-domain)
 *	sub-domain   = Let-dig [Ldh-str]          (letters, digits, inner hyphens)
 *
 * with the limits of section 4.5.3.1: a local part of at most 64 octets, a
 * domain of at most 255, a path of at most 256 including "<" and ">", so an
 * address of at most 254. Labels are at most 63 octets (RFC 1035 2.3.4).
 *
 * Decisions the grammar leaves to us, and why:
 * - Quoted local parts ("john doe"@example.com) are accepted. They are part of
 *   the Mailbox the contract names, so Finch accepts them; 4.1.2 only tells a
 *   host to avoid *defining* such mailboxes, not senders to refuse them.
 * - Address literals are accepted for IPv4 and IPv6 (4.1.3), checked to the
 *   grammar. A General-address-literal (any other "tag:") is refused: the tag
 *   must be registered with IANA, and the only registered tag is IPv6.
 * - The domain needs at least one dot: 2.3.5 permits only fully-qualified
 *   domain names in SMTP, and "hr@localhost" in an employer list is a typo.
 * - Only ASCII: non-ASCII addresses are RFC 6531's, which JSON Schema calls
 *   "idn-email", not "email". An IDN domain is written in its xn-- form.
 */
#define NOT_EMAIL "is not an email address"

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 5322 3.2.3 atext. */
static int is_atext(int c)
{
	return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* A Dot-string local part s[0..len). */
static int check_dot_string(const char *s, size_t len, char *why, size_t size)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (i == 0 || i == len - 1 || s[i + 1] == '.')
				return set_why(why, size,
					       NOT_EMAIL " (a dot starts or ends the local part, "
							 "or follows another)");
			continue;
		}
		if (!is_atext((unsigned char)s[i]))
			return set_why(why, size,
				       NOT_EMAIL
				       " ('%c' is not allowed in the local part unless it "
				       "is quoted)",
				       s[i]);
	}
	return 0;
}

/*
 * A Quoted-string local part starting at s (which is '"'): stores the length
 * including both quotes in *len.
 */
static int check_quoted_string(const char *s, size_t *len, char *why, size_t size)
{
	size_t i = 1;

	for (;;) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"') {
			*len = i + 1;
			return 0;
		}
		if (!c)
			return set_why(why, size, NOT_EMAIL " (unterminated quoted local part)");
		if (c == '\\') {
			c = (unsigned char)s[++i];
			if (!c)
				return set_why(why, size,
					       NOT_EMAIL " (unterminated quoted local part)");
		}
		/* qtextSMTP and quoted-pairSMTP are both printable ASCII and space */
		if (c < 32 || c > 126)
			return set_why(why, size, "contains a control character");
		i++;
	}
}

/* Snum "." Snum "." Snum "." Snum, Snum = 1*3DIGIT in 0..255 (4.1.3). */
static int is_ipv4_literal(const char *s, size_t len)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0;
		size_t d = 0;

		if (part && (i >= len || s[i++] != '.'))
			return 0;
		while (i < len && d < 4 && is_digit(s[i]))
			v = v * 10 + (unsigned)(s[i++] - '0'), d++;
		if (d < 1 || d > 3 || v > 255)
			return 0;
	}
	return i == len;
}

/* The number of 1*4HEXDIG groups of s[0..len) joined by single colons, or -1. */
static int ipv6_groups(const char *s, size_t len)
{
	size_t i = 0;
	int n = 0;

	if (!len)
		return 0;
	for (;;) {
		size_t d = 0;

		while (i + d < len && is_hex(s[i + d]))
			d++;
		if (d < 1 || d > 4)
			return -1;
		n++;
		i += d;
		if (i == len)
			return n;
		if (s[i] != ':' || ++i == len)
			return -1;
	}
}

/*
 * IPv6-addr of 4.1.3: IPv6-full (8 groups), IPv6-comp ("::" and at most 6
 * groups), IPv6v4-full (6 groups and an IPv4 address), IPv6v4-comp ("::", at
 * most 4 groups and an IPv4 address).
 */
static int is_ipv6_literal(const char *s, size_t len)
{
	size_t last = len, hex_len = len, dc = len;
	int v4 = 0, left, right;

	for (size_t i = 0; i < len; i++)
		if (s[i] == ':')
			last = i;
	if (last == len)
		return 0;
	if (memchr(s + last, '.', len - last)) {
		if (!is_ipv4_literal(s + last + 1, len - last - 1))
			return 0;
		v4 = 1;
		/* keep a "::" before the IPv4 part, drop a single separating ':' */
		hex_len = last && s[last - 1] == ':' ? last + 1 : last;
	}
	for (size_t i = 0; i + 1 < hex_len; i++) {
		if (s[i] == ':' && s[i + 1] == ':') {
			if (dc != len)
				return 0; /* a second "::" */
			dc = i;
			i++;
		}
	}
	if (dc == len)
		return ipv6_groups(s, hex_len) == (v4 ? 6 : 8);
	left = ipv6_groups(s, dc);
	right = ipv6_groups(s + dc + 2, hex_len - dc - 2);
	return left >= 0 && right >= 0 && left + right <= (v4 ? 4 : 6);
}

/* address-literal = "[" ( IPv4 / "IPv6:" IPv6 / General ) "]", s at '['. */
static int check_address_literal(const char *s, size_t len, char *why, size_t size)
{
	const char *in = s + 1;
	size_t n = len - 2;
	size_t tag;

	if (len < 2 || s[len - 1] != ']' || memchr(in, ']', n) || memchr(in, '[', n))
		return set_why(why, size, NOT_EMAIL " (an address literal must be '[...]')");
	if (n >= 5 && !strncasecmp(in, "IPv6:", 5)) {
		if (!is_ipv6_literal(in + 5, n - 5))
			return set_why(why, size, NOT_EMAIL " (bad IPv6 address literal)");
		return 0;
	}
	if (is_ipv4_literal(in, n))
		return 0;
	for (tag = 0; tag < n && (is_alpha(in[tag]) || is_digit(in[tag]) || in[tag] == '-'); tag++)
		;
	if (tag && tag < n && in[tag] == ':')
		return set_why(why, size,
			       NOT_EMAIL " (address literal tag '%.*s' is not registered; only "
					 "IPv6 is)",
			       (int)(tag > 20 ? 20 : tag), in);
	return set_why(why, size, NOT_EMAIL " (bad IPv4 address literal)");
}

/* Domain = sub-domain 1*("." sub-domain), each a Let-dig [Ldh-str] of <= 63. */
static int check_domain(const char *s, size_t len, char *why, size_t size)
{
	size_t labels = 0;

	for (size_t i = 0; i <= len;) {
		size_t n = 0;

		while (i + n < len && s[i + n] != '.')
			n++;
		if (!n)
			return set_why(why, size, NOT_EMAIL " (empty label in the domain)");
		if (n > 63)
			return set_why(why, size,
				       NOT_EMAIL " (a domain label longer than 63 bytes)");
		for (size_t k = 0; k < n; k++) {
			unsigned char c = (unsigned char)s[i + k];

			if (c == '@')
				return set_why(why, size, NOT_EMAIL " (needs exactly one '@')");
			if (!is_alpha(c) && !is_digit(c) && c != '-')
				return set_why(why, size,
					       NOT_EMAIL " ('%c' is not allowed in a domain)", c);
		}
		if (s[i] == '-' || s[i + n - 1] == '-')
			return set_why(why, size,
				       NOT_EMAIL " (a domain label starts or ends with '-')");
		labels++;
		i += n + 1;
	}
	if (labels < 2)
		return set_why(why, size, NOT_EMAIL " (no dot in the domain)");
	return 0;
}

int validate_email(const char *s, char *why, size_t size)
{
	const char *at;
	size_t len, local_len = 0;

	if (!s || !*s)
		return set_why(why, size, "is empty");
	len = strlen(s);
	if (len > 254)
		return set_why(why, size, "is longer than 254 bytes");
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;

		if (c >= 0x80)
			return set_why(why, size,
				       utf8_count(s, len) < 0 ? "is not valid UTF-8"
							      : NOT_EMAIL
					   " (non-ASCII characters need an "
					   "internationalised address; write the "
					   "domain as xn--...)");
		if (c < 0x20 || c == 0x7f)
			return set_why(why, size, "contains whitespace or a control character");
	}
	if (*s == '"') {
		if (check_quoted_string(s, &local_len, why, size) < 0)
			return -1;
		at = s + local_len;
		if (*at != '@')
			return set_why(why, size,
				       *at ? NOT_EMAIL " (text after the quoted local part)"
					   : NOT_EMAIL " (needs exactly one '@')");
	} else {
		if (strchr(s, ' '))
			return set_why(why, size, "contains whitespace or a control character");
		at = strchr(s, '@');
		if (!at)
			return set_why(why, size, NOT_EMAIL " (needs exactly one '@')");
		local_len = (size_t)(at - s);
		if (!local_len)
			return set_why(why, size, NOT_EMAIL " (empty local part)");
		if (check_dot_string(s, local_len, why, size) < 0)
			return -1;
	}
	if (local_len > 64)
		return set_why(why, size, NOT_EMAIL " (local part longer than 64 bytes)");
	if (!at[1])
		return set_why(why, size, NOT_EMAIL " (empty domain)");
	if (at[1] == '[')
		return check_address_literal(at + 1, strlen(at + 1), why, size);
	return check_domain(at + 1, strlen(at + 1), why, size);
}

/*
 * Bytes of the separator at s (0 if none): ',', ';', '|' or one Unicode white
 * space character (LF and CR of Excel's Alt+Enter, tab, NBSP, U+3000 ...).
 */
static size_t product_separator(const char *s)
{
	unsigned char c = (unsigned char)*s;

	if (c == ',' || c == ';' || c == '|')
		return 1;
	if (c < 0x80)
		return utf8_space_at(s, 1);
	return utf8_space_prefix(s, strnlen(s, 3)); /* whole characters only */
}

/* product_from_name(), ignoring ASCII case. */
static unsigned product_from_name_icase(const char *name, size_t len)
{
	for (size_t i = 0; i < PRODUCT_COUNT; i++) {
		const char *p = name_at(i);
		unsigned char c = (unsigned char)name[0];

		/* names are [a-z0-9_]: the first byte, folded, rules out most at once */
		if (p && (c >= 'A' && c <= 'Z' ? c | 0x20 : c) == (unsigned char)p[0] &&
		    strlen(p) == len && !strncasecmp(p, name, len))
			return 1u << i;
	}
	return 0;
}

/* A name product_allow() takes: [a-z0-9_], 1..PRODUCT_ALLOWED_NAME_MAX bytes. */
static int check_allowed_name(const char *name, size_t len, char *why, size_t size)
{
	if (!len)
		return set_why(why, size, "is empty");
	if (len > PRODUCT_ALLOWED_NAME_MAX)
		return set_why(why, size, "is longer than %d bytes", PRODUCT_ALLOWED_NAME_MAX);
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return set_why(why, size,
				       "a product name is lowercase letters, digits and '_'");
	}
	return 0;
}

static int allow_name(const char *name, size_t len, char *why, size_t size)
{
	if (product_from_name(name, len))
		return 0;
	if (check_allowed_name(name, len, why, size) < 0)
		return -1;
	if (allowed_count == PRODUCT_ALLOWED_MAX)
		return set_why(why, size, "more than %d products newer than this build",
			       PRODUCT_ALLOWED_MAX);
	memcpy(allowed_names[allowed_count], name, len);
	allowed_names[allowed_count][len] = '\0';
	allowed_count++;
	return 1;
}

int product_allow(const char *name, char *why, size_t size)
{
	return allow_name(name, strlen(name), why, size);
}

void product_allow_reset(void)
{
	memset(allowed_names, 0, sizeof(allowed_names));
	allowed_count = 0;
}

/* parse_products(), allowing unknown names when allow is set. */
static int parse_list(const char *s, unsigned *mask, int allow, char *why, size_t size)
{
	unsigned m = 0;

	*mask = 0;
	if (!s)
		return 0;
	while (*s) {
		size_t n;
		unsigned bit;

		size_t sep = product_separator(s);

		if (sep) {
			s += sep;
			continue;
		}
		/* letters, digits and '_' never separate: no call for them */
		for (n = 0; s[n]; n++) {
			unsigned char c = (unsigned char)s[n];

			if (!is_alpha(c) && !is_digit(c) && c != '_' && product_separator(s + n))
				break;
		}
		bit = product_from_name_icase(s, n);
		if (!bit && allow && allow_name(s, n, NULL, 0) >= 0)
			bit = product_from_name(s, n);
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

int parse_products(const char *s, unsigned *mask, char *why, size_t size)
{
	return parse_list(s, mask, 0, why, size);
}

int parse_products_stored(const char *s, unsigned *mask, char *why, size_t size)
{
	return parse_list(s, mask, 1, why, size);
}

unsigned product_from_name(const char *name, size_t len)
{
	for (size_t i = 0; i < PRODUCT_COUNT; i++) {
		const char *p = name_at(i);
		if (p && strlen(p) == len && !memcmp(p, name, len))
			return 1u << i;
	}
	return 0;
}

const char *product_name(unsigned bit)
{
	for (size_t i = 0; i < PRODUCT_COUNT; i++)
		if (bit == 1u << i)
			return name_at(i);
	return NULL;
}

void products_join(unsigned mask, char out[PRODUCTS_TEXT_SIZE])
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < PRODUCT_COUNT; i++) {
		const char *name = (mask & (1u << i)) ? name_at(i) : NULL;
		size_t n;

		if (!name)
			continue;
		/* no snprintf: this runs for every row of a large import */
		n = strlen(name);
		if (used)
			out[used++] = ' ';
		memcpy(out + used, name, n + 1);
		used += n;
	}
}

int validate_products(unsigned mask, char *why, size_t size)
{
	if (!mask)
		return set_why(why, size, "is empty");
	if (mask >> (PRODUCT_KNOWN_COUNT + allowed_count))
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

int64_t minutes_to_expire_to_send(int64_t row_minutes, int reauth)
{
	if (row_minutes > 0)
		return row_minutes;
	/* finch-api-node 10.7 SessionNewParams and SessionReauthenticateParams */
	return reauth ? REAUTH_MINUTES_DEFAULT : MINUTES_TO_EXPIRE_DEFAULT;
}

int validate_minutes_to_expire_number(double v, int64_t *whole, char *why, size_t size)
{
	/* NaN fails both comparisons, so the cast below is always defined */
	if (!(v >= MINUTES_TO_EXPIRE_MIN && v <= MINUTES_TO_EXPIRE_MAX))
		return validate_minutes_to_expire(v < MINUTES_TO_EXPIRE_MIN ? 0 : INT64_MAX, why,
						  size);
	*whole = (int64_t)v;
	if ((double)*whole < v)
		(*whole)++;
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

int validate_recordkeeper(const char *s, char *why, size_t size)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(recordkeepers); i++)
		if (!strcmp(s, recordkeepers[i]))
			return 0;
	return set_why(why, size, "must be " RECORDKEEPERS);
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

/*
 * An optional member that needs another (auth_method its provider, plan_id
 * its recordkeeper): absent, or valid by check and sent with needed, else
 * "requires <what>".
 */
static int validate_dependent(const char *s, int (*check)(const char *s, char *why, size_t size),
			      const char *needed, const char *what, char *why, size_t size)
{
	if (!s)
		return 0;
	if (check(s, why, size) < 0)
		return -1;
	if (!needed)
		return set_why(why, size, "requires %s", what);
	return 0;
}

/*
 * What the contract allows, decided field by field against the schema
 * (seed/connect-sessions.openapi.yaml) and shared/FINCH.md. The emulator
 * enforces exactly this, and tests/e2e/schema.sh compares its verdicts with
 * python3-jsonschema's on generated bodies.
 * - minutes_to_expire is "type: number" with minimum 1 and maximum 129600,
 *   not "type: integer": 1.5 is allowed (1.0 too). The emulator accepts a
 *   fraction (validate_minutes_to_expire_number); our importer and client
 *   only ever write whole minutes.
 * - products has no minItems: an empty array is allowed. The importer still
 *   asks for at least one (validate_request below): a session that requests
 *   nothing is a mistake in a CSV row.
 * - integration.provider is a string with no minLength: "" is allowed. A CSV
 *   cannot say "" (an empty cell means absent), so the importer never sends it.
 * - deduction with benefits: the schema says in prose that the alias "should
 *   not be combined with benefits", and FINCH.md that it is never combined.
 *   We refuse it on both sides: it is the contract's word, written as text.
 * - customer_email: "format: email", RFC 5321's Mailbox (validate_email).
 * - Nullable fields (customer_email, redirect_uri, minutes_to_expire, sandbox,
 *   manual, integration, integration.auth_method) may be JSON null, which
 *   means absent; customer_id, customer_name, products and
 *   integration.provider may not (finch_api.c parses the JSON).
 */
int validate_contract(const struct connect_request *r, const char **field, char *why, size_t size)
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
	if (r->products && validate_products(r->products, why, size) < 0)
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
	if (r->integration_provider && validate_text(r->integration_provider, why, size) < 0)
		return -1;

	*field = "integration.auth_method";
	if (validate_dependent(r->integration_auth_method, validate_auth_method,
			       r->integration_provider, "an integration provider", why, size) < 0)
		return -1;

	/*
	 * finch-api-node 9.12.0: the recordkeeping object is sent "only when the
	 * recordkeeping product is requested"; its recordkeeper is required.
	 */
	*field = "recordkeeping";
	if ((r->recordkeeper || r->recordkeeping_plan_id) && !(r->products & PRODUCT_RECORDKEEPING))
		return set_why(why, size, "is sent only with the 'recordkeeping' product");
	*field = "recordkeeping.recordkeeper";
	if (r->recordkeeper && validate_recordkeeper(r->recordkeeper, why, size) < 0)
		return -1;
	*field = "recordkeeping.plan_id";
	if (validate_dependent(r->recordkeeping_plan_id, validate_text, r->recordkeeper,
			       "a recordkeeper", why, size) < 0)
		return -1;

	*field = NULL;
	return 0;
}

int validate_request(const struct connect_request *r, const char **field, char *why, size_t size)
{
	if (validate_contract(r, field, why, size) < 0)
		return -1;
	*field = "products";
	if (!r->products)
		return set_why(why, size, "is empty");
	/* the importer's rule: the recordkeeping product names its recordkeeper */
	*field = "recordkeeping.recordkeeper";
	if ((r->products & PRODUCT_RECORDKEEPING) && !r->recordkeeper)
		return set_why(why, size,
			       "is required with the 'recordkeeping' product (" RECORDKEEPERS ")");
	*field = NULL;
	return 0;
}
