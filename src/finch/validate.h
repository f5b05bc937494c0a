/*
 * validate.h: the rules of the Connect session contract
 * (shared/seed/connect-sessions.openapi.yaml), as pure functions.
 *
 * One definition serves the importer (cells of a CSV row), the client and the
 * emulator (fields of a JSON body), so the two sides can never disagree.
 *
 * Every rule returns 0 when the value is acceptable, or -1 after writing a
 * short reason into why[0..size) such as "is longer than 255 characters" or
 * "unknown product 'foo'". Reasons are lowercase, name no field (the caller
 * knows which field it asked about) and fit in VALIDATE_WHY_MAX bytes.
 */
#ifndef FINCH_VALIDATE_H
#define FINCH_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#define VALIDATE_WHY_MAX	  160
#define CUSTOMER_FIELD_MAX_CHARS  255
#define MINUTES_TO_EXPIRE_MIN	  1
#define MINUTES_TO_EXPIRE_MAX	  129600
#define MINUTES_TO_EXPIRE_DEFAULT 129600
#define REAUTH_MINUTES_DEFAULT	  43200

/*
 * Products as bits; the order is the enum's order in the contract, then the
 * products the SDKs added since (validate.c cites the version of each).
 */
enum product {
	PRODUCT_BENEFITS = 1u << 0,
	PRODUCT_COMPANY = 1u << 1,
	PRODUCT_DEDUCTION = 1u << 2,
	PRODUCT_DIRECTORY = 1u << 3,
	PRODUCT_DOCUMENTS = 1u << 4,
	PRODUCT_EMPLOYMENT = 1u << 5,
	PRODUCT_INDIVIDUAL = 1u << 6,
	PRODUCT_PAYMENT = 1u << 7,
	PRODUCT_PAY_STATEMENT = 1u << 8,
	PRODUCT_SSN = 1u << 9,
	PRODUCT_RECORDKEEPING = 1u << 10,
	PRODUCT_PLANS = 1u << 11,
	PRODUCT_PLANS_DEPENDENTS = 1u << 12,
	PRODUCT_PLANS_ENROLLMENTS = 1u << 13,
};
#define PRODUCT_KNOWN_COUNT 14
/*
 * Bits PRODUCT_KNOWN_COUNT.. are products newer than this build, each
 * accepted by name with product_allow() (--allow-product): at most
 * PRODUCT_ALLOWED_MAX of them, of at most PRODUCT_ALLOWED_NAME_MAX bytes.
 */
#define PRODUCT_ALLOWED_MAX	 8
#define PRODUCT_ALLOWED_NAME_MAX 32
#define PRODUCT_COUNT		 (PRODUCT_KNOWN_COUNT + PRODUCT_ALLOWED_MAX)
/* The products column of a row: every name, a space after each, and a NUL. */
#define PRODUCTS_TEXT_SIZE 512

/* The recordkeepers of the recordkeeping object (SDK 9.12.0). */
#define RECORDKEEPERS "voya, empower, fidelity or transamerica"

/*
 * The request fields of one employer. Strings are owned by the struct
 * (connect_request_release frees them); NULL means "absent", which is
 * different from "" for the required strings.
 */
struct connect_request {
	char *customer_id;
	char *customer_name;
	char *customer_email;	       /* NULL: absent */
	unsigned products;	       /* mask of enum product; 0: none given */
	char *redirect_uri;	       /* NULL: absent */
	int64_t minutes_to_expire;     /* 0: absent (the server's default applies) */
	char *sandbox;		       /* NULL, "finch" or "provider" */
	int manual;		       /* -1: absent, 0: false, 1: true */
	char *integration_provider;    /* NULL: no integration object */
	char *integration_auth_method; /* NULL, or one of the four methods */
	char *recordkeeper;	       /* NULL: no recordkeeping object */
	char *recordkeeping_plan_id;   /* NULL: absent; needs recordkeeper */
};

void connect_request_init(struct connect_request *r);
void connect_request_release(struct connect_request *r);

/* customer_id and customer_name: valid UTF-8, 1..255 characters. */
int validate_customer_field(const char *s, size_t len, char *why, size_t size);
/*
 * RFC 5321's Mailbox (section 4.1.2) with the limits of 4.5.3.1: a Dot-string
 * or Quoted-string local part of at most 64 bytes, then a domain with at least
 * one dot whose labels are letters, digits and inner hyphens (at most 63
 * bytes each), or an IPv4 or IPv6 address literal; at most 254 bytes in all,
 * ASCII only. validate.c says why for each choice the RFC leaves open.
 */
int validate_email(const char *s, char *why, size_t size);
/*
 * Parses a product list separated by commas, semicolons, pipes or any
 * Unicode white space (utf8_space_prefix(): a line end from Excel's Alt+Enter,
 * a tab, a no-break space; README "Cells") (case-insensitive, duplicates folded) into *mask. Does
 * not apply the list-level rules; see validate_products().
 */
int parse_products(const char *s, unsigned *mask, char *why, size_t size);
/* A product name to its bit, case-sensitive as the API is; 0 if unknown. */
unsigned product_from_name(const char *name, size_t len);
/* The contract's name of one product bit, or NULL. */
const char *product_name(unsigned bit);
/*
 * Accepts name as a product although this build does not know it (Finch
 * added it after this release): from now on parse_products() and
 * product_from_name() give it a bit of its own. The name is lowercase
 * letters, digits and '_', 1..PRODUCT_ALLOWED_NAME_MAX bytes. Returns 1 when
 * it is new (the caller warns once), 0 when known or allowed already, -1
 * with a reason (a bad name, or PRODUCT_ALLOWED_MAX allowed already). The
 * registry is process-wide: options fill it before any row is read.
 */
int product_allow(const char *name, char *why, size_t size);
/* Forgets every allowed product (tests). */
void product_allow_reset(void);
/*
 * The names of mask's bits, space-separated in the contract's order, into
 * out[PRODUCTS_TEXT_SIZE] (the store's products column).
 */
void products_join(unsigned mask, char out[PRODUCTS_TEXT_SIZE]);
/*
 * parse_products() of a list this program stored itself: a name it does not
 * know was allowed when the row was imported, so it is allowed again
 * (product_allow()) instead of refused.
 */
int parse_products_stored(const char *s, unsigned *mask, char *why, size_t size);
/* "voya", "empower", "fidelity" or "transamerica". */
int validate_recordkeeper(const char *s, char *why, size_t size);
/* Non-empty, and never deduction together with benefits. */
int validate_products(unsigned mask, char *why, size_t size);
/* An integer in [1, 129600], from a cell such as "60". */
int parse_minutes_to_expire(const char *s, int64_t *out, char *why, size_t size);
int validate_minutes_to_expire(int64_t v, char *why, size_t size);
/*
 * What a session request sends as minutes_to_expire: the row's value, or
 * else the default we assume (MINUTES_TO_EXPIRE_DEFAULT for a new session,
 * REAUTH_MINUTES_DEFAULT for a reauthentication). Always sent, because
 * Finch's own default moved four times (10,080, 20,160, 43,200, 129,600)
 * and its answer carries no expiry: the expiry we store is what we sent.
 */
int64_t minutes_to_expire_to_send(int64_t row_minutes, int reauth);
/*
 * The contract's own rule for a JSON number, which may have a fraction
 * ("type: number", 1..129600). Stores it rounded up to whole minutes.
 */
int validate_minutes_to_expire_number(double v, int64_t *whole, char *why, size_t size);
/*
 * Finch's provider sandbox: at most this many active connections per
 * application, and no assisted auth (developer.tryfinch.com, "Provider
 * Sandboxes"). A rehearsal past it fails at the sixth conversion.
 */
#define FINCH_PROVIDER_SANDBOX_MAX 5

/* "finch" or "provider". */
int validate_sandbox(const char *s, char *why, size_t size);
/* true/false/1/0/yes/no in any case, into *out (1 or 0). */
int parse_bool(const char *s, int *out, char *why, size_t size);
/* assisted, credential, oauth or api_token. */
int validate_auth_method(const char *s, char *why, size_t size);

/*
 * Checks a whole request against the contract: every field above, plus the
 * cross-field rules (auth_method needs a provider, never deduction with
 * benefits, the recordkeeping object only with the recordkeeping product). An empty products mask
 * passes (the schema has no minItems). The emulator's rule. On failure stores the failing field's
 * contract name
 * ("customer_email", "integration.auth_method", ...) in *field and returns -1.
 */
int validate_contract(const struct connect_request *r, const char **field, char *why, size_t size);
/*
 * validate_contract(), plus what the importer asks beyond the contract: at
 * least one product, and a recordkeeper with the recordkeeping product.
 */
int validate_request(const struct connect_request *r, const char **field, char *why, size_t size);

#endif
