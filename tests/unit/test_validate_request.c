/*
 * test_validate_request.c: the rules of a whole Connect session request
 * (validate_request(), validate_contract()): a good request with one field
 * replaced, and the field and reason each answer names, as tables.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "finch/validate.h"

/* The string fields a case may set. */
enum text_field {
	T_NONE,
	T_ID,
	T_NAME,
	T_EMAIL,
	T_REDIRECT_URI,
	T_SANDBOX,
	T_PROVIDER,
	T_AUTH_METHOD,
	T_RECORDKEEPER,
	T_PLAN_ID,
};

/* The other fields a case may set. */
enum num_field { N_NONE, N_PRODUCTS, N_ADD_PRODUCTS, N_MINUTES, N_MANUAL };

/*
 * A good request with one or two fields changed (or mutate() run), and what
 * validate_request says.
 */
struct request_case {
	const char *name;
	enum text_field text_field;
	const char *text; /* the string text_field is set to; NULL: absent */
	enum num_field num_field;
	int64_t num; /* what num_field is set to (N_ADD_PRODUCTS: the products added) */
	void (*mutate)(struct connect_request *r); /* NULL: none */
	const char *field;			   /* NULL: valid */
	const char *why;
};

static void set(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? xstrdup(v) : NULL;
}

static void good_request(struct connect_request *r)
{
	connect_request_init(r);
	set(&r->customer_id, "acme-1");
	set(&r->customer_name, "Acme Inc.");
	r->products = PRODUCT_COMPANY | PRODUCT_DIRECTORY;
}

/* Makes the changes of c to the good request r. */
static void change(struct connect_request *r, const struct request_case *c)
{
	char **const text[] = {
	    [T_ID] = &r->customer_id,
	    [T_NAME] = &r->customer_name,
	    [T_EMAIL] = &r->customer_email,
	    [T_REDIRECT_URI] = &r->redirect_uri,
	    [T_SANDBOX] = &r->sandbox,
	    [T_PROVIDER] = &r->integration_provider,
	    [T_AUTH_METHOD] = &r->integration_auth_method,
	    [T_RECORDKEEPER] = &r->recordkeeper,
	    [T_PLAN_ID] = &r->recordkeeping_plan_id,
	};

	if (c->text_field != T_NONE)
		set(text[c->text_field], c->text);
	if (c->num_field == N_PRODUCTS)
		r->products = (unsigned)c->num;
	else if (c->num_field == N_ADD_PRODUCTS)
		r->products |= (unsigned)c->num;
	else if (c->num_field == N_MINUTES)
		r->minutes_to_expire = c->num;
	else if (c->num_field == N_MANUAL)
		r->manual = (int)c->num;
	if (c->mutate)
		c->mutate(r);
}

/*
 * Each case's request through validate_request(): accepted, or refused
 * naming its field and reason; released, it is empty again.
 */
static void run_request_cases(const struct request_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct connect_request r;
		char why[VALIDATE_WHY_MAX] = "";
		const char *field = "unset";
		int got;

		good_request(&r);
		change(&r, &cases[i]);
		got = validate_request(&r, &field, why, sizeof(why));
		if (!cases[i].field && got)
			fail_msg("%s: rejected: %s: %s", cases[i].name, field, why);
		if (cases[i].field) {
			if (!got)
				fail_msg("%s: accepted", cases[i].name);
			if (strcmp(field, cases[i].field) || strcmp(why, cases[i].why))
				fail_msg("%s: '%s: %s', want '%s: %s'", cases[i].name, field, why,
					 cases[i].field, cases[i].why);
		}
		connect_request_release(&r);
		assert_null(r.customer_id);
		assert_int_equal(r.manual, -1);
	}
}

static void m_all_optional(struct connect_request *r)
{
	set(&r->customer_email, "hr@acme.com");
	set(&r->redirect_uri, "https://example.com/cb");
	r->minutes_to_expire = 129600;
	set(&r->sandbox, "provider");
	r->manual = 1;
	set(&r->integration_provider, "gusto");
	set(&r->integration_auth_method, "oauth");
}

static void m_long_name(struct connect_request *r)
{
	struct strbuf sb = STRBUF_INIT;

	for (int i = 0; i < 256; i++)
		strbuf_addstr(&sb, "\xc3\xa9");
	free(r->customer_name);
	r->customer_name = strbuf_detach(&sb, NULL);
}

static void m_gusto(struct connect_request *r)
{
	set(&r->integration_provider, "gusto");
}

static void m_recordkeeping(struct connect_request *r)
{
	set(&r->recordkeeper, "fidelity");
	set(&r->recordkeeping_plan_id, "plan-401k-7");
}

/* A case that sets string field f to v, and what validate_request says. */
#define TEXT(name, f, v, field, why)                                                               \
	{                                                                                          \
		name, f, v, N_NONE, 0, NULL, field, why                                            \
	}
/* A case that sets num_field f to v. */
#define NUM(name, f, v, field, why)                                                                \
	{                                                                                          \
		name, T_NONE, NULL, f, v, NULL, field, why                                         \
	}
#define RK PRODUCT_RECORDKEEPING

/*
 * The recordkeeping object (finch-api-node 9.12.0): only with the product,
 * and the importer asks for it with the product.
 */
static void test_validate_request__recordkeeping(void **state)
{
	static const struct request_case cases[] = {
	    {"object with product", T_NONE, NULL, N_ADD_PRODUCTS, RK, m_recordkeeping, NULL, NULL},
	    {"recordkeeper alone", T_RECORDKEEPER, "voya", N_ADD_PRODUCTS, RK, NULL, NULL, NULL},
	    TEXT("no product", T_RECORDKEEPER, "voya", "recordkeeping",
		 "is sent only with the 'recordkeeping' product"),
	    TEXT("plan_id, no product", T_PLAN_ID, "p1", "recordkeeping",
		 "is sent only with the 'recordkeeping' product"),
	    {"unknown recordkeeper", T_RECORDKEEPER, "Vanguard", N_ADD_PRODUCTS, RK, NULL,
	     "recordkeeping.recordkeeper", "must be voya, empower, fidelity or transamerica"},
	    {"plan_id alone", T_PLAN_ID, "p1", N_ADD_PRODUCTS, RK, NULL, "recordkeeping.plan_id",
	     "requires a recordkeeper"},
	    NUM("product without object", N_PRODUCTS, RK, "recordkeeping.recordkeeper",
		"is required with the 'recordkeeping' product (voya, empower, fidelity or "
		"transamerica)"),
	};

	(void)state;
	run_request_cases(cases, ARRAY_SIZE(cases));
}

static void test_validate_request__request_rules(void **state)
{
	static const struct request_case cases[] = {
	    NUM("minimal", N_NONE, 0, NULL, NULL),
	    {"every optional field", T_NONE, NULL, N_NONE, 0, m_all_optional, NULL, NULL},
	    NUM("manual false", N_MANUAL, 0, NULL, NULL),
	    TEXT("provider without auth_method", T_PROVIDER, "adp_run", NULL, NULL),
	    TEXT("no customer_id", T_ID, NULL, "customer_id", "is required"),
	    TEXT("empty customer_id", T_ID, "", "customer_id", "is empty"),
	    TEXT("no customer_name", T_NAME, NULL, "customer_name", "is required"),
	    {"256 x e-acute", T_NONE, NULL, N_NONE, 0, m_long_name, "customer_name",
	     "is longer than 255 characters (256)"},
	    TEXT("surrogate in name", T_NAME, "Acme \xed\xa0\x80", "customer_name",
		 "is not valid UTF-8"),
	    TEXT("email", T_EMAIL, "hr@acme", "customer_email",
		 "is not an email address (no dot in the domain)"),
	    NUM("no products", N_PRODUCTS, 0, "products", "is empty"),
	    NUM("deduction with benefits", N_PRODUCTS, PRODUCT_DEDUCTION | PRODUCT_BENEFITS,
		"products", "cannot combine 'deduction' with 'benefits'"),
	    NUM("minutes 129601", N_MINUTES, 129601, "minutes_to_expire",
		"must be between 1 and 129600"),
	    NUM("minutes -1", N_MINUTES, -1, "minutes_to_expire", "must be between 1 and 129600"),
	    TEXT("sandbox", T_SANDBOX, "true", "sandbox", "must be 'finch' or 'provider'"),
	    NUM("manual 2", N_MANUAL, 2, "manual", "must be true or false"),
	    TEXT("auth_method without provider", T_AUTH_METHOD, "credential",
		 "integration.auth_method", "requires an integration provider"),
	    {"unknown auth_method", T_AUTH_METHOD, "magic", N_NONE, 0, m_gusto,
	     "integration.auth_method", "must be assisted, credential, oauth or api_token"},
	    TEXT("empty provider (the schema has no minLength)", T_PROVIDER, "", NULL, NULL),
	    TEXT("quoted local part, address literal", T_EMAIL, "\"hr dept\"@[192.0.2.1]", NULL,
		 NULL),
	    TEXT("redirect_uri not UTF-8", T_REDIRECT_URI, "https://x/\xc0\xaf", "redirect_uri",
		 "is not valid UTF-8"),
	};

	(void)state;
	run_request_cases(cases, ARRAY_SIZE(cases));
}

/* The emulator's rule is the schema's; the importer asks for one product more. */
static void test_validate_request__contract_and_importer_differ_only_on_products(void **state)
{
	struct connect_request r;
	char why[VALIDATE_WHY_MAX] = "";
	const char *field = "unset";

	(void)state;
	good_request(&r);
	r.products = 0;
	assert_int_equal(validate_contract(&r, &field, why, sizeof(why)), 0);
	assert_null(field);
	assert_int_equal(validate_request(&r, &field, why, sizeof(why)), -1);
	assert_string_equal(field, "products");
	assert_string_equal(why, "is empty");
	r.products = PRODUCT_DEDUCTION | PRODUCT_BENEFITS;
	assert_int_equal(validate_contract(&r, &field, why, sizeof(why)), -1);
	assert_string_equal(field, "products");
	connect_request_release(&r);
}

UNIT_TEST_MAIN(
    cmocka_unit_test(test_validate_request__recordkeeping),
    cmocka_unit_test(test_validate_request__request_rules),
    cmocka_unit_test(test_validate_request__contract_and_importer_differ_only_on_products))
