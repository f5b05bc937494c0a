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

/* One field of a good request replaced, and what validate_request says. */
struct request_case {
	const char *name;
	void (*mutate)(struct connect_request *r);
	const char *field; /* NULL: valid */
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
		cases[i].mutate(&r);
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

static void m_nothing(struct connect_request *r)
{
	(void)r;
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
static void m_manual_false(struct connect_request *r)
{
	r->manual = 0;
}
static void m_provider_only(struct connect_request *r)
{
	set(&r->integration_provider, "adp_run");
}
static void m_no_id(struct connect_request *r)
{
	set(&r->customer_id, NULL);
}
static void m_empty_id(struct connect_request *r)
{
	set(&r->customer_id, "");
}
static void m_long_name(struct connect_request *r)
{
	struct strbuf sb = STRBUF_INIT;

	for (int i = 0; i < 256; i++)
		strbuf_addstr(&sb, "\xc3\xa9");
	free(r->customer_name);
	r->customer_name = strbuf_detach(&sb, NULL);
}
static void m_no_name(struct connect_request *r)
{
	set(&r->customer_name, NULL);
}
static void m_bad_utf8_name(struct connect_request *r)
{
	set(&r->customer_name, "Acme \xed\xa0\x80");
}
static void m_bad_email(struct connect_request *r)
{
	set(&r->customer_email, "hr@acme");
}
static void m_no_products(struct connect_request *r)
{
	r->products = 0;
}
static void m_deduction_benefits(struct connect_request *r)
{
	r->products = PRODUCT_DEDUCTION | PRODUCT_BENEFITS;
}
static void m_minutes_high(struct connect_request *r)
{
	r->minutes_to_expire = 129601;
}
static void m_minutes_negative(struct connect_request *r)
{
	r->minutes_to_expire = -1;
}
static void m_bad_sandbox(struct connect_request *r)
{
	set(&r->sandbox, "true");
}
static void m_bad_manual(struct connect_request *r)
{
	r->manual = 2;
}
static void m_auth_without_provider(struct connect_request *r)
{
	set(&r->integration_auth_method, "credential");
}
static void m_bad_auth(struct connect_request *r)
{
	set(&r->integration_provider, "gusto");
	set(&r->integration_auth_method, "magic");
}
static void m_empty_provider(struct connect_request *r)
{
	set(&r->integration_provider, "");
}
static void m_email_quoted(struct connect_request *r)
{
	set(&r->customer_email, "\"hr dept\"@[192.0.2.1]");
}
static void m_bad_utf8_redirect(struct connect_request *r)
{
	set(&r->redirect_uri, "https://x/\xc0\xaf");
}

static void m_recordkeeping(struct connect_request *r)
{
	r->products |= PRODUCT_RECORDKEEPING;
	set(&r->recordkeeper, "fidelity");
	set(&r->recordkeeping_plan_id, "plan-401k-7");
}
static void m_recordkeeper_only(struct connect_request *r)
{
	r->products |= PRODUCT_RECORDKEEPING;
	set(&r->recordkeeper, "voya");
}
static void m_recordkeeping_without_product(struct connect_request *r)
{
	set(&r->recordkeeper, "voya");
}
static void m_plan_id_without_product(struct connect_request *r)
{
	set(&r->recordkeeping_plan_id, "p1");
}
static void m_bad_recordkeeper(struct connect_request *r)
{
	r->products |= PRODUCT_RECORDKEEPING;
	set(&r->recordkeeper, "Vanguard");
}
static void m_plan_id_without_recordkeeper(struct connect_request *r)
{
	r->products |= PRODUCT_RECORDKEEPING;
	set(&r->recordkeeping_plan_id, "p1");
}
static void m_recordkeeping_product_alone(struct connect_request *r)
{
	r->products = PRODUCT_RECORDKEEPING;
}

/*
 * The recordkeeping object (finch-api-node 9.12.0): only with the product,
 * and the importer asks for it with the product.
 */
static void test_validate_request__recordkeeping(void **state)
{
	static const struct request_case cases[] = {
	    {"object with product", m_recordkeeping, NULL, NULL},
	    {"recordkeeper alone", m_recordkeeper_only, NULL, NULL},
	    {"no product", m_recordkeeping_without_product, "recordkeeping",
	     "is sent only with the 'recordkeeping' product"},
	    {"plan_id, no product", m_plan_id_without_product, "recordkeeping",
	     "is sent only with the 'recordkeeping' product"},
	    {"unknown recordkeeper", m_bad_recordkeeper, "recordkeeping.recordkeeper",
	     "must be voya, empower, fidelity or transamerica"},
	    {"plan_id alone", m_plan_id_without_recordkeeper, "recordkeeping.plan_id",
	     "requires a recordkeeper"},
	    {"product without object", m_recordkeeping_product_alone, "recordkeeping.recordkeeper",
	     "is required with the 'recordkeeping' product (voya, empower, fidelity or "
	     "transamerica)"},
	};

	(void)state;
	run_request_cases(cases, ARRAY_SIZE(cases));
}

static void test_validate_request__request_rules(void **state)
{
	static const struct request_case cases[] = {
	    {"minimal", m_nothing, NULL, NULL},
	    {"every optional field", m_all_optional, NULL, NULL},
	    {"manual false", m_manual_false, NULL, NULL},
	    {"provider without auth_method", m_provider_only, NULL, NULL},
	    {"no customer_id", m_no_id, "customer_id", "is required"},
	    {"empty customer_id", m_empty_id, "customer_id", "is empty"},
	    {"no customer_name", m_no_name, "customer_name", "is required"},
	    {"256 x e-acute", m_long_name, "customer_name", "is longer than 255 characters (256)"},
	    {"surrogate in name", m_bad_utf8_name, "customer_name", "is not valid UTF-8"},
	    {"email", m_bad_email, "customer_email",
	     "is not an email address (no dot in the domain)"},
	    {"no products", m_no_products, "products", "is empty"},
	    {"deduction with benefits", m_deduction_benefits, "products",
	     "cannot combine 'deduction' with 'benefits'"},
	    {"minutes 129601", m_minutes_high, "minutes_to_expire", "must be between 1 and 129600"},
	    {"minutes -1", m_minutes_negative, "minutes_to_expire", "must be between 1 and 129600"},
	    {"sandbox", m_bad_sandbox, "sandbox", "must be 'finch' or 'provider'"},
	    {"manual 2", m_bad_manual, "manual", "must be true or false"},
	    {"auth_method without provider", m_auth_without_provider, "integration.auth_method",
	     "requires an integration provider"},
	    {"unknown auth_method", m_bad_auth, "integration.auth_method",
	     "must be assisted, credential, oauth or api_token"},
	    {"empty provider (the schema has no minLength)", m_empty_provider, NULL, NULL},
	    {"quoted local part, address literal", m_email_quoted, NULL, NULL},
	    {"redirect_uri not UTF-8", m_bad_utf8_redirect, "redirect_uri", "is not valid UTF-8"},
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
