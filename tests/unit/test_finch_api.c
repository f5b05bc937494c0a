/*
 * test_finch_api.c: request bodies, the emulator's body parser, and what
 * each HTTP answer means, as tables of exact expectations.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "finch/finch_api.h"
#include "base/util.h"
#include "base/utf8.h"

static void set(char **slot, const char *v)
{
	free(*slot);
	*slot = v ? xstrdup(v) : NULL;
}

static void test_finch_api__session_body_types_and_order(void **state)
{
	struct connect_request r;
	char *body;

	(void)state;
	connect_request_init(&r);
	set(&r.customer_id, "acme-1");
	set(&r.customer_name, "Acme \"Q\" Inc.");
	r.products = PRODUCT_SSN | PRODUCT_BENEFITS | PRODUCT_PAY_STATEMENT;
	body = finch_api_session_body(&r);
	assert_string_equal(body, "{\"customer_id\":\"acme-1\",\"customer_name\":\"Acme \\\"Q\\\" "
				  "Inc.\",\"products\":[\"benefits\",\"pay_statement\",\"ssn\"]}");
	free(body);

	set(&r.customer_email, "hr@acme.com");
	set(&r.redirect_uri, "https://x/cb");
	r.minutes_to_expire = 129600;
	set(&r.sandbox, "finch");
	r.manual = 0;
	set(&r.integration_provider, "gusto");
	body = finch_api_session_body(&r);
	assert_string_equal(body,
			    "{\"customer_id\":\"acme-1\",\"customer_name\":\"Acme \\\"Q\\\" Inc.\","
			    "\"customer_email\":\"hr@acme.com\",\"products\":[\"benefits\","
			    "\"pay_statement\",\"ssn\"],\"redirect_uri\":\"https://x/cb\","
			    "\"minutes_to_expire\":129600,\"sandbox\":\"finch\",\"manual\":false,"
			    "\"integration\":{\"provider\":\"gusto\"}}");
	free(body);

	r.manual = 1;
	set(&r.integration_auth_method, "api_token");
	set(&r.customer_email, NULL);
	set(&r.redirect_uri, NULL);
	set(&r.sandbox, NULL);
	r.minutes_to_expire = 1;
	body = finch_api_session_body(&r);
	assert_string_equal(body, "{\"customer_id\":\"acme-1\",\"customer_name\":\"Acme \\\"Q\\\" "
				  "Inc.\",\"products\":[\"benefits\",\"pay_statement\",\"ssn\"],"
				  "\"minutes_to_expire\":1,\"manual\":true,\"integration\":{"
				  "\"provider\":\"gusto\",\"auth_method\":\"api_token\"}}");
	free(body);
	connect_request_release(&r);
}

static void test_finch_api__reauth_body(void **state)
{
	struct connect_request r;
	char *body;

	(void)state;
	connect_request_init(&r);
	body = finch_api_reauth_body("conn-1", &r);
	assert_string_equal(body, "{\"connection_id\":\"conn-1\"}");
	free(body);
	body = finch_api_reauth_body("conn-1", NULL);
	assert_string_equal(body, "{\"connection_id\":\"conn-1\"}");
	free(body);
	set(&r.customer_id, "ignored");
	r.products = PRODUCT_DIRECTORY | PRODUCT_COMPANY;
	set(&r.redirect_uri, "https://x");
	r.minutes_to_expire = 43200;
	body = finch_api_reauth_body("conn-1", &r);
	assert_string_equal(body, "{\"connection_id\":\"conn-1\",\"products\":[\"company\","
				  "\"directory\"],\"redirect_uri\":\"https://x\","
				  "\"minutes_to_expire\":43200}");
	free(body);
	connect_request_release(&r);
}

#define ID_NAME "\"customer_id\":\"a\",\"customer_name\":\"b\""
#define GOOD	ID_NAME ",\"products\":[\"company\"]"

static void test_finch_api__parse_session_body(void **state)
{
	static const struct {
		const char *json;
		const char *field; /* NULL: accepted */
		const char *why;
		const char *canonical; /* finch_api_session_body() of the result */
	} cases[] = {
	    {"{" GOOD "}", NULL, NULL, "{" GOOD "}"},
	    {" \n{" GOOD "}\n ", NULL, NULL, "{" GOOD "}"},
	    {"{" GOOD ",\"unknown\":[1,2]}", NULL, NULL, "{" GOOD "}"},
	    {"{" ID_NAME ",\"products\":[\"ssn\",\"company\",\"ssn\"]}", NULL, NULL,
	     "{" ID_NAME ",\"products\":[\"company\",\"ssn\"]}"},
	    {"{" GOOD ",\"customer_email\":null,\"redirect_uri\":null,\"minutes_to_expire\":null,"
	     "\"sandbox\":null,\"manual\":null,\"integration\":null}",
	     NULL, NULL, "{" GOOD "}"},
	    {"{" GOOD ",\"customer_email\":\"a@b.co\",\"redirect_uri\":\"https://x\","
	     "\"minutes_to_expire\":129600,\"sandbox\":\"provider\",\"manual\":false,"
	     "\"integration\":{\"provider\":\"gusto\",\"auth_method\":\"oauth\"}}",
	     NULL, NULL,
	     "{" ID_NAME ",\"customer_email\":\"a@b.co\",\"products\":[\"company\"],"
	     "\"redirect_uri\":\"https://x\",\"minutes_to_expire\":129600,\"sandbox\":"
	     "\"provider\",\"manual\":false,\"integration\":{\"provider\":\"gusto\","
	     "\"auth_method\":\"oauth\"}}"},
	    {"{" GOOD ",\"minutes_to_expire\":1.0,\"integration\":{\"provider\":\"x\","
	     "\"auth_method\":null}}",
	     NULL, NULL, "{" GOOD ",\"minutes_to_expire\":1,\"integration\":{\"provider\":\"x\"}}"},
	    /* what the schema allows and the emulator once refused (validate_contract) */
	    {"{" ID_NAME ",\"products\":[]}", NULL, NULL, "{" ID_NAME ",\"products\":[]}"},
	    {"{" GOOD ",\"minutes_to_expire\":1.5}", NULL, NULL,
	     "{" GOOD ",\"minutes_to_expire\":2}"},
	    {"{" GOOD ",\"minutes_to_expire\":129599.5}", NULL, NULL,
	     "{" GOOD ",\"minutes_to_expire\":129600}"},
	    {"{" GOOD ",\"integration\":{\"provider\":\"\"}}", NULL, NULL,
	     "{" GOOD ",\"integration\":{\"provider\":\"\"}}"},
	    {"{" GOOD ",\"customer_email\":\"\\\"j d\\\"@[IPv6:::1]\"}", NULL, NULL,
	     "{" ID_NAME
	     ",\"customer_email\":\"\\\"j d\\\"@[IPv6:::1]\",\"products\":[\"company\"]}"},
	    {"{\"customer_id\":\"\\u00e9\",\"customer_name\":\"b\",\"products\":[\"ssn\"]}", NULL,
	     NULL, "{\"customer_id\":\"\xc3\xa9\",\"customer_name\":\"b\",\"products\":[\"ssn\"]}"},

	    {"", "body", "is not a JSON object", NULL},
	    {"not json", "body", "is not a JSON object", NULL},
	    {"[1,2]", "body", "is not a JSON object", NULL},
	    {"\"str\"", "body", "is not a JSON object", NULL},
	    {"null", "body", "is not a JSON object", NULL},
	    {"{" GOOD "} {}", "body", "is not a JSON object", NULL},
	    {"{" GOOD "", "body", "is not a JSON object", NULL},
	    {"{" ID_NAME "}", "products", "is required", NULL},
	    {"{\"customer_name\":\"b\",\"products\":[\"ssn\"]}", "customer_id", "is required",
	     NULL},
	    {"{\"customer_id\":\"a\",\"products\":[\"ssn\"]}", "customer_name", "is required",
	     NULL},
	    {"{\"customer_id\":7,\"customer_name\":\"b\",\"products\":[\"ssn\"]}", "customer_id",
	     "must be a string", NULL},
	    {"{\"customer_id\":null,\"customer_name\":\"b\",\"products\":[\"ssn\"]}", "customer_id",
	     "must be a string", NULL},
	    {"{\"customer_id\":\"\",\"customer_name\":\"b\",\"products\":[\"ssn\"]}", "customer_id",
	     "is empty", NULL},
	    {"{\"customer_id\":\"a\",\"customer_name\":true,\"products\":[\"ssn\"]}",
	     "customer_name", "must be a string", NULL},
	    {"{" ID_NAME ",\"products\":\"ssn\"}", "products", "must be an array of strings", NULL},
	    {"{" ID_NAME ",\"products\":null}", "products", "must be an array of strings", NULL},
	    {"{" ID_NAME ",\"products\":[\"ssn\",1]}", "products", "must be an array of strings",
	     NULL},
	    {"{" ID_NAME ",\"products\":[\"SSN\"]}", "products", "unknown product 'SSN'", NULL},
	    {"{" ID_NAME ",\"products\":[\"deduction\",\"benefits\"]}", "products",
	     "cannot combine 'deduction' with 'benefits'", NULL},
	    {"{" GOOD ",\"customer_email\":\"nope\"}", "customer_email",
	     "is not an email address (needs exactly one '@')", NULL},
	    {"{" GOOD ",\"customer_email\":1}", "customer_email", "must be a string", NULL},
	    {"{" GOOD ",\"redirect_uri\":{}}", "redirect_uri", "must be a string", NULL},
	    {"{" GOOD ",\"minutes_to_expire\":\"60\"}", "minutes_to_expire", "must be a number",
	     NULL},
	    {"{" GOOD ",\"minutes_to_expire\":129600.5}", "minutes_to_expire",
	     "must be between 1 and 129600", NULL},
	    {"{" GOOD ",\"customer_email\":\"a..b@x.com\"}", "customer_email",
	     "is not an email address (a dot starts or ends the local part, or follows another)",
	     NULL},
	    {"{" GOOD ",\"minutes_to_expire\":0}", "minutes_to_expire",
	     "must be between 1 and 129600", NULL},
	    {"{" GOOD ",\"minutes_to_expire\":0.5}", "minutes_to_expire",
	     "must be between 1 and 129600", NULL},
	    {"{" GOOD ",\"minutes_to_expire\":129601}", "minutes_to_expire",
	     "must be between 1 and 129600", NULL},
	    {"{" GOOD ",\"minutes_to_expire\":-5}", "minutes_to_expire",
	     "must be between 1 and 129600", NULL},
	    {"{" GOOD ",\"minutes_to_expire\":1e300}", "minutes_to_expire",
	     "must be between 1 and 129600", NULL},
	    {"{" GOOD ",\"sandbox\":\"yes\"}", "sandbox", "must be 'finch' or 'provider'", NULL},
	    {"{" GOOD ",\"sandbox\":true}", "sandbox", "must be a string", NULL},
	    {"{" GOOD ",\"manual\":\"true\"}", "manual", "must be a boolean", NULL},
	    {"{" GOOD ",\"manual\":1}", "manual", "must be a boolean", NULL},
	    {"{" GOOD ",\"integration\":\"gusto\"}", "integration", "must be an object", NULL},
	    {"{" GOOD ",\"integration\":{}}", "integration.provider", "is required", NULL},
	    {"{" GOOD ",\"integration\":{\"provider\":null}}", "integration.provider",
	     "must be a string", NULL},
	    {"{" GOOD ",\"integration\":{\"provider\":\"g\",\"auth_method\":\"sso\"}}",
	     "integration.auth_method", "must be assisted, credential, oauth or api_token", NULL},
	    {"{" GOOD ",\"integration\":{\"provider\":\"g\",\"auth_method\":3}}",
	     "integration.auth_method", "must be a string", NULL},
	    {"{\"customer_id\":\"a\",\"customer_name\":\"\xff\",\"products\":[\"ssn\"]}",
	     "customer_name", "is not valid UTF-8", NULL},
	    /* the products and the recordkeeping object of SDK 9.12.0 and 10.5.0 */
	    {"{" ID_NAME ",\"products\":[\"plans_enrollments\",\"recordkeeping\",\"plans\"],"
	     "\"recordkeeping\":{\"recordkeeper\":\"empower\",\"plan_id\":\"p-9\"}}",
	     NULL, NULL,
	     "{" ID_NAME ",\"products\":[\"recordkeeping\",\"plans\",\"plans_enrollments\"],"
	     "\"recordkeeping\":{\"recordkeeper\":\"empower\",\"plan_id\":\"p-9\"}}"},
	    {"{" ID_NAME ",\"products\":[\"recordkeeping\"],\"recordkeeping\":null}", NULL, NULL,
	     "{" ID_NAME ",\"products\":[\"recordkeeping\"]}"},
	    {"{" GOOD ",\"recordkeeping\":{\"recordkeeper\":\"voya\"}}", "recordkeeping",
	     "is sent only with the 'recordkeeping' product", NULL},
	    {"{" ID_NAME ",\"products\":[\"recordkeeping\"],\"recordkeeping\":{}}",
	     "recordkeeping.recordkeeper", "is required", NULL},
	    {"{" ID_NAME ",\"products\":[\"recordkeeping\"],\"recordkeeping\":{\"recordkeeper\":"
	     "\"vanguard\"}}",
	     "recordkeeping.recordkeeper", "must be voya, empower, fidelity or transamerica", NULL},
	    {"{" ID_NAME ",\"products\":[\"recordkeeping\"],\"recordkeeping\":[1]}",
	     "recordkeeping", "must be an object", NULL},
	    {"{" ID_NAME ",\"products\":[\"plans_futures\"]}", "products",
	     "unknown product 'plans_futures'", NULL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct connect_request r;
		char why[VALIDATE_WHY_MAX] = "";
		const char *field = "unset";
		int got = finch_api_parse_session_body(cases[i].json, strlen(cases[i].json), &r,
						       &field, why, sizeof(why));

		if (!cases[i].field) {
			char *body;

			if (got)
				fail_msg("case %zu %s: rejected: %s %s", i, cases[i].json, field,
					 why);
			body = finch_api_session_body(&r);
			if (strcmp(body, cases[i].canonical))
				fail_msg("case %zu: body %s, want %s", i, body, cases[i].canonical);
			free(body);
		} else {
			if (!got)
				fail_msg("case %zu %s: accepted", i, cases[i].json);
			if (strcmp(field, cases[i].field) || strcmp(why, cases[i].why))
				fail_msg("case %zu %s: '%s: %s', want '%s: %s'", i, cases[i].json,
					 field, why, cases[i].field, cases[i].why);
			/* Left empty, so the caller may release it or not. */
			assert_null(r.customer_id);
			assert_null(r.integration_provider);
		}
		connect_request_release(&r);
	}
}

static void test_finch_api__parse_session_body_with_length(void **state)
{
	/* The body need not be NUL-terminated: only len bytes count. */
	static const char buf[] = "{" GOOD "}garbage";
	struct connect_request r;
	const char *field;
	char why[VALIDATE_WHY_MAX];

	(void)state;
	assert_int_equal(finch_api_parse_session_body(buf, strlen(buf) - strlen("garbage"), &r,
						      &field, why, sizeof(why)),
			 0);
	assert_string_equal(r.customer_id, "a");
	connect_request_release(&r);
	assert_int_equal(
	    finch_api_parse_session_body(buf, strlen(buf), &r, &field, why, sizeof(why)), -1);
	assert_string_equal(field, "body");
}

static void test_finch_api__round_trip(void **state)
{
	struct connect_request r, back;
	const char *field;
	char why[VALIDATE_WHY_MAX];
	char *body, *again;

	(void)state;
	connect_request_init(&r);
	set(&r.customer_id, "\xe5\x8c\x97\xe4\xba\xac-7");
	set(&r.customer_name, "Caf\xc3\xa9 \"Le Nord\"\n\\ 2");
	set(&r.customer_email, "a@b.co");
	r.products = (1u << PRODUCT_KNOWN_COUNT) - 1 - PRODUCT_DEDUCTION;
	set(&r.redirect_uri, "https://x/cb?a=1&b=2");
	r.minutes_to_expire = 77;
	set(&r.sandbox, "finch");
	r.manual = 1;
	set(&r.integration_provider, "paychex_flex");
	set(&r.integration_auth_method, "assisted");
	set(&r.recordkeeper, "transamerica");
	set(&r.recordkeeping_plan_id, "401k \xe2\x82\xac");
	body = finch_api_session_body(&r);
	if (finch_api_parse_session_body(body, strlen(body), &back, &field, why, sizeof(why)))
		fail_msg("%s: %s", field, why);
	assert_string_equal(back.customer_id, r.customer_id);
	assert_string_equal(back.customer_name, r.customer_name);
	assert_int_equal(back.products, r.products);
	assert_int_equal(back.minutes_to_expire, 77);
	assert_int_equal(back.manual, 1);
	assert_string_equal(back.integration_auth_method, "assisted");
	assert_string_equal(back.recordkeeper, "transamerica");
	assert_string_equal(back.recordkeeping_plan_id, r.recordkeeping_plan_id);
	again = finch_api_session_body(&back);
	assert_string_equal(again, body);
	free(body);
	free(again);
	connect_request_release(&r);
	connect_request_release(&back);
}

static void test_finch_api__parse_reauth_body(void **state)
{
	static const struct {
		const char *json;
		const char *field; /* NULL: accepted */
		const char *why;
		unsigned products;
		int64_t minutes;
	} cases[] = {
	    {"{\"connection_id\":\"c1\"}", NULL, NULL, 0, 0},
	    {"{\"connection_id\":\"c1\",\"products\":[\"ssn\"],\"redirect_uri\":null,"
	     "\"minutes_to_expire\":43200}",
	     NULL, NULL, PRODUCT_SSN, 43200},
	    {"{\"connection_id\":\"c1\",\"products\":null}", NULL, NULL, 0, 0},
	    {"{}", "connection_id", "is required", 0, 0},
	    {"{\"connection_id\":\"\"}", "connection_id", "is empty", 0, 0},
	    {"{\"connection_id\":5}", "connection_id", "must be a string", 0, 0},
	    {"[]", "body", "is not a JSON object", 0, 0},
	    /* as for a new session: no minItems (validate_contract) */
	    {"{\"connection_id\":\"c1\",\"products\":[]}", NULL, NULL, 0, 0},
	    {"{\"connection_id\":\"c1\",\"products\":[\"x\"]}", "products", "unknown product 'x'",
	     0, 0},
	    {"{\"connection_id\":\"c1\",\"minutes_to_expire\":129601}", "minutes_to_expire",
	     "must be between 1 and 129600", 0, 0},
	    {"{\"connection_id\":\"c1\",\"redirect_uri\":1}", "redirect_uri", "must be a string", 0,
	     0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct connect_request r;
		char why[VALIDATE_WHY_MAX] = "";
		const char *field = "unset";
		char *id = (char *)"sentinel";
		int got = finch_api_parse_reauth_body(cases[i].json, strlen(cases[i].json), &id, &r,
						      &field, why, sizeof(why));

		if (!cases[i].field) {
			if (got)
				fail_msg("case %zu: rejected: %s %s", i, field, why);
			assert_string_equal(id, "c1");
			assert_int_equal(r.products, cases[i].products);
			assert_int_equal(r.minutes_to_expire, cases[i].minutes);
			free(id);
		} else {
			if (!got)
				fail_msg("case %zu %s: accepted", i, cases[i].json);
			if (strcmp(field, cases[i].field) || strcmp(why, cases[i].why))
				fail_msg("case %zu: '%s: %s', want '%s: %s'", i, field, why,
					 cases[i].field, cases[i].why);
			assert_null(id);
		}
		connect_request_release(&r);
	}
}

static void test_finch_api__classify(void **state)
{
	static const struct {
		long status;
		const char *body;
		const char *should_retry;
		enum finch_result result;
		const char *message; /* NULL: none expected */
		const char *finch_code;
		const char *id; /* session_id or connection_id */
	} cases[] = {
	    {201, "{\"session_id\":\"s1\",\"connect_url\":\"https://c/s1\"}", NULL, FINCH_CREATED,
	     NULL, NULL, "s1"},
	    {200, "{\"session_id\":\"s1\",\"connect_url\":\"https://c/s1\"}", NULL, FINCH_CREATED,
	     NULL, NULL, "s1"},
	    {201, "{\"session_id\":\"s1\",\"connect_url\":\"u\"}", "false", FINCH_CREATED, NULL,
	     NULL, "s1"},
	    {201, "{\"session_id\":\"s1\"}", NULL, FINCH_UNREADABLE,
	     "malformed 201 body: no string connect_url", NULL, NULL},
	    {201, "{\"session_id\":1,\"connect_url\":\"u\"}", NULL, FINCH_UNREADABLE,
	     "malformed 201 body: no string session_id", NULL, NULL},
	    {201, "", NULL, FINCH_UNREADABLE, "malformed 201 body: empty", NULL, NULL},
	    {201, "<html>ok</html>", NULL, FINCH_UNREADABLE,
	     "malformed 201 body: not a JSON object: <html>ok</html>", NULL, NULL},
	    /* a 2xx is never retried, whatever x-should-retry says */
	    {201, "[]", "false", FINCH_UNREADABLE, "malformed 201 body: not a JSON object: []",
	     NULL, NULL},
	    {200, "[]", "true", FINCH_UNREADABLE, "malformed 200 body: not a JSON object: []", NULL,
	     NULL},
	    {400,
	     "{\"code\":400,\"finch_code\":\"connection_already_exists\",\"message\":\"There's "
	     "an existing connection for the customer_id: c1. Please use the\\n "
	     "/connect/sessions/reauthenticate endpoint instead.\",\"name\":\"bad_request\","
	     "\"context\":{\"customer_id\":\"c1\",\"connection_id\":\"conn-9\"}}",
	     NULL, FINCH_EXISTS,
	     "There's an existing connection for the customer_id: c1. Please use the "
	     "/connect/sessions/reauthenticate endpoint instead.",
	     "connection_already_exists", "conn-9"},
	    {400,
	     "{\"finch_code\":\"connection_already_exists\",\"context\":{\"connection_id\":"
	     "\"c\"}}",
	     "true", FINCH_EXISTS, "HTTP 400 (connection_already_exists)",
	     "connection_already_exists", "c"},
	    {400, "{\"finch_code\":\"connection_already_exists\",\"message\":\"exists\"}", NULL,
	     FINCH_REJECTED, "connection_already_exists without context.connection_id: exists",
	     "connection_already_exists", NULL},
	    {400,
	     "{\"finch_code\":\"connection_already_exists\",\"message\":\"m\",\"context\":{"
	     "\"connection_id\":42}}",
	     NULL, FINCH_REJECTED, "connection_already_exists without context.connection_id: m",
	     "connection_already_exists", NULL},
	    {400, "{\"code\":400,\"finch_code\":\"invalid_request\",\"message\":\"bad products\"}",
	     NULL, FINCH_REJECTED, "bad products", "invalid_request", NULL},
	    {400, "{\"finch_code\":\"invalid_request\",\"message\":\"x\"}", "true", FINCH_TRANSIENT,
	     "x", "invalid_request", NULL},
	    {401, "{\"error\":\"Invalid client: Unable to validate credentials\"}", NULL,
	     FINCH_AUTH, "Invalid client: Unable to validate credentials", NULL, NULL},
	    {401, "{\"error\":\"x\"}", "true", FINCH_AUTH, "x", NULL, NULL},
	    {401, "", NULL, FINCH_AUTH, "HTTP 401 with an empty body", NULL, NULL},
	    {403, "{\"finch_code\":\"insufficient_account_permissions\"}", NULL, FINCH_REJECTED,
	     "HTTP 403 (insufficient_account_permissions)", "insufficient_account_permissions",
	     NULL},
	    /* a 403 refusing the credentials' environment stops the run, like a 401 */
	    {403, "{\"message\":\"Production credentials cannot create Sandbox connections\"}",
	     NULL, FINCH_AUTH, "Production credentials cannot create Sandbox connections", NULL,
	     NULL},
	    {403, "{\"finch_code\":\"sandbox_credentials_required\"}", "true", FINCH_AUTH,
	     "HTTP 403 (sandbox_credentials_required)", "sandbox_credentials_required", NULL},
	    {404, "{\"error\":{\"message\":\"not here\"}}", NULL, FINCH_REJECTED, "not here", NULL,
	     NULL},
	    {422, "{\"name\":\"unprocessable\"}", NULL, FINCH_REJECTED, "HTTP 422 (unprocessable)",
	     NULL, NULL},
	    {408, "", NULL, FINCH_TRANSIENT, "HTTP 408 with an empty body", NULL, NULL},
	    {409, "conflict", NULL, FINCH_TRANSIENT, "HTTP 409: conflict", NULL, NULL},
	    {429,
	     "{\"code\":429,\"name\":\"rate_limit_exceeded_error\",\"finch_code\":\"finch_"
	     "application_rl\",\"message\":\"Rate limit exceeded\"}",
	     NULL, FINCH_TRANSIENT, "Rate limit exceeded", "finch_application_rl", NULL},
	    {429, "{}", "false", FINCH_REJECTED, "HTTP 429", NULL, NULL},
	    {429, "{}", " TRUE ", FINCH_TRANSIENT, "HTTP 429", NULL, NULL},
	    {429, "{}", "maybe", FINCH_TRANSIENT, "HTTP 429", NULL, NULL},
	    {500, "{\"message\":\"  Internal\\r\\n\\terror  \"}", NULL, FINCH_TRANSIENT,
	     "Internal error", NULL, NULL},
	    {502, "{\"finch_code\":\"upstream_provider_error\",\"message\":\"upstream\"}", NULL,
	     FINCH_TRANSIENT, "upstream", "upstream_provider_error", NULL},
	    {503, "<html>\r\n<body>Service   Unavailable</body>\r\n</html>\r\n", NULL,
	     FINCH_TRANSIENT, "HTTP 503: <html> <body>Service Unavailable</body> </html>", NULL,
	     NULL},
	    {504, "\x01\x02\xff\xfe", NULL, FINCH_TRANSIENT, "HTTP 504: ??", NULL, NULL},
	    {599, "", "false", FINCH_REJECTED, "HTTP 599 with an empty body", NULL, NULL},
	    {302, "", NULL, FINCH_TRANSIENT, "unexpected status: HTTP 302 with an empty body", NULL,
	     NULL},
	    {100, "", NULL, FINCH_TRANSIENT, "unexpected status: HTTP 100 with an empty body", NULL,
	     NULL},
	    {418, "{\"message\":\"\"}", NULL, FINCH_REJECTED, "HTTP 418", NULL, NULL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct finch_outcome o;

		finch_api_classify(cases[i].status, cases[i].body, strlen(cases[i].body),
				   cases[i].should_retry, &o);
		if (o.result != cases[i].result)
			fail_msg("case %zu (%ld): result %d, want %d (%s)", i, cases[i].status,
				 o.result, cases[i].result, o.message ? o.message : "");
		assert_int_equal(o.http_status, cases[i].status);
		if (cases[i].message && (!o.message || strcmp(o.message, cases[i].message)))
			fail_msg("case %zu: message '%s', want '%s'", i,
				 o.message ? o.message : "(null)", cases[i].message);
		if (!cases[i].message && o.result != FINCH_CREATED)
			fail_msg("case %zu: no message expected", i);
		if (o.result != FINCH_CREATED && (!o.message || strchr(o.message, '\n')))
			fail_msg("case %zu: message must be one line", i);
		if ((cases[i].finch_code == NULL) != (o.finch_code == NULL) ||
		    (o.finch_code && strcmp(o.finch_code, cases[i].finch_code)))
			fail_msg("case %zu: finch_code '%s'", i,
				 o.finch_code ? o.finch_code : "(null)");
		if (o.result == FINCH_CREATED) {
			assert_string_equal(o.session_id, cases[i].id);
			assert_non_null(o.connect_url);
		} else if (o.result == FINCH_EXISTS) {
			assert_string_equal(o.connection_id, cases[i].id);
		} else {
			assert_null(o.session_id);
			assert_null(o.connection_id);
		}
		finch_outcome_release(&o);
		assert_null(o.message);
	}
}

/* What is known of Finch's refusal of the credentials' environment (finch_api.h). */
static void test_finch_api__sandbox_refusal(void **state)
{
	static const struct {
		long status;
		const char *finch_code, *message;
		int want;
	} cases[] = {
	    {401, NULL, "Production credentials cannot be used to create sandbox connections", 1},
	    {403, NULL, "SANDBOX connections need sandbox credentials", 1},
	    {401, "sandbox_mismatch", NULL, 1},
	    {403, "invalid_sandbox_credentials", "x", 1},
	    {401, "invalid_client", "Invalid client: Unable to validate credentials", 0},
	    {401, NULL, NULL, 0},
	    {403, "insufficient_account_permissions", "HTTP 403", 0},
	    /* a row's bad sandbox value is a 400 about the row, not the credentials */
	    {400, "invalid_request", "sandbox: must be finch or provider", 0},
	    {500, NULL, "sandbox is down", 0},
	    {401, NULL, "sandbo", 0},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (finch_api_is_sandbox_refusal(cases[i].status, cases[i].finch_code,
						 cases[i].message) != cases[i].want)
			fail_msg("case %zu: %ld %s %s", i, cases[i].status,
				 cases[i].finch_code ? cases[i].finch_code : "(null)",
				 cases[i].message ? cases[i].message : "(null)");
}

static void test_finch_api__classify_truncates_long_bodies(void **state)
{
	char body[2000];
	struct finch_outcome o;
	size_t n = 0;

	(void)state;
	/* 150 × "é" then ASCII: the quote keeps 100 characters, whole sequences only. */
	for (int i = 0; i < 150; i++) {
		body[n++] = '\xc3';
		body[n++] = '\xa9';
	}
	memset(body + n, 'x', 500);
	n += 500;
	finch_api_classify(502, body, n, NULL, &o);
	assert_int_equal(o.result, FINCH_TRANSIENT);
	assert_int_equal(strlen(o.message), strlen("HTTP 502: ") + 200 + 3);
	assert_int_equal(utf8_count(o.message, strlen(o.message)), 10 + 100 + 3);
	assert_string_equal(o.message + strlen(o.message) - 3, "...");
	finch_outcome_release(&o);

	/* A JSON message keeps up to 500 bytes. */
	memcpy(body, "{\"message\":\"", 12);
	memset(body + 12, 'm', 1000);
	memcpy(body + 1012, "\"}", 2);
	finch_api_classify(400, body, 1014, NULL, &o);
	assert_int_equal(strlen(o.message), 503);
	finch_outcome_release(&o);
}

static void test_finch_api__transport_error(void **state)
{
	static const struct {
		const char *what; /* curl's error buffer */
		const char *message;
	} cases[] = {
	    {"Couldn't connect to server", "Couldn't connect to server"},
	    {"Operation timed out after 60000 milliseconds\nwith 0 bytes",
	     "Operation timed out after 60000 milliseconds with 0 bytes"},
	    {"", "transport error"},
	    {NULL, "transport error"},
	    {" \n ", "transport error"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct finch_outcome o;

		finch_api_transport_error(cases[i].what, &o);
		assert_int_equal(o.result, FINCH_TRANSIENT);
		assert_int_equal(o.http_status, 0);
		assert_string_equal(o.message, cases[i].message);
		finch_outcome_release(&o);
	}
}

/* A complete answer is an answer, even when the transfer then broke. */
static void test_finch_api__broken_answer(void **state)
{
	static const char whole_201[] =
	    "{\"session_id\":\"s-1\",\"connect_url\":\"https://c/s-1\"}";
	static const char exists[] =
	    "{\"code\":400,\"finch_code\":\"connection_already_exists\","
	    "\"message\":\"m\",\"context\":{\"connection_id\":\"conn-1\"}}";
	static const struct {
		long status;
		const char *body;
		size_t len; /* 0: strlen */
		enum finch_result result;
		const char *message; /* a prefix, NULL for none */
	} cases[] = {
	    {201, whole_201, 0, FINCH_CREATED, NULL},
	    {400, exists, 0, FINCH_EXISTS, NULL},
	    {201, whole_201, 20, FINCH_UNREADABLE,
	     "HTTP 201 cut short (Transferred a partial file) after 20 body bytes: "
	     "{\"session_id\":\"s-1\","},
	    {201, "", 0, FINCH_UNREADABLE,
	     "HTTP 201 cut short (Transferred a partial file) after 0 body bytes"},
	    {500, "{\"code\":500}", 0, FINCH_TRANSIENT, "HTTP 500 cut short"},
	    {400, "{\"finch_code\":\"invalid_request\"}", 0, FINCH_TRANSIENT, "HTTP 400 cut short"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct finch_outcome o;
		size_t len = cases[i].len ? cases[i].len : strlen(cases[i].body);

		finch_api_broken_answer(cases[i].status, cases[i].body, len,
					"Transferred a partial file", &o);
		assert_int_equal(o.result, cases[i].result);
		assert_int_equal(o.http_status, cases[i].status);
		if (cases[i].message) {
			if (strncmp(o.message, cases[i].message, strlen(cases[i].message)))
				fail_msg("case %zu: '%s' does not start with '%s'", i, o.message,
					 cases[i].message);
		}
		if (o.result == FINCH_CREATED)
			assert_string_equal(o.session_id, "s-1");
		if (o.result == FINCH_EXISTS)
			assert_string_equal(o.connection_id, "conn-1");
		finch_outcome_release(&o);
	}
}

/* A fragment is bounded: a huge partial body keeps 100 characters of it. */
static void test_finch_api__broken_answer_fragment_is_bounded(void **state)
{
	char *body = xmalloc(200000);
	struct finch_outcome o;

	(void)state;
	memset(body, 'x', 200000);
	body[0] = '{';
	finch_api_broken_answer(201, body, 200000, "Failure writing output", &o);
	assert_int_equal(o.result, FINCH_UNREADABLE);
	assert_true(strlen(o.message) < 300);
	assert_contains(o.message, "after 200000 body bytes");
	finch_outcome_release(&o);
	free(body);
}

/* Where a connect_url may lead: Finch's host over https, or the emulator's own origin. */
static void test_finch_api__link_check(void **state)
{
	static const struct {
		const char *url, *emulator_port;
		int ok;
	} cases[] = {
	    {"https://connect.tryfinch.com/authorize?session=3f1c", NULL, 1},
	    {"HTTPS://Connect.TryFinch.com/authorize", NULL, 1},
	    {"https://connect.tryfinch.com:443/authorize", NULL, 1},
	    {"https://connect.tryfinch.com", NULL, 1},
	    {"https://connect.tryfinch.com?x", NULL, 1},
	    {"https://connect.tryfinch.com:8443/authorize", NULL, 0},
	    {"https://connect.tryfinch.com.evil.example/authorize", NULL, 0},
	    {"https://evil.example/connect.tryfinch.com", NULL, 0},
	    {"https://user@connect.tryfinch.com/authorize", NULL, 0},
	    {"https://evil.example@connect.tryfinch.com/", NULL, 0},
	    {"http://connect.tryfinch.com/authorize", NULL, 0},
	    {"javascript:alert(1)//connect.tryfinch.com", NULL, 0},
	    {"data:text/html,<script>", NULL, 0},
	    {"https://connect.tryfinch.com/a b", NULL, 0},
	    {"https://connect.tryfinch.com/\x1b[2J", NULL, 0},
	    {"https://connect.tryfinch.com/caf\xc3\xa9", NULL, 0},
	    {"", NULL, 0},
	    {"http://127.0.0.1:8080/authorize?session=1", "8080", 1},
	    {"http://localhost:8080/authorize", "8080", 1},
	    {"http://[::1]:8080/authorize", "8080", 1},
	    {"http://127.0.0.1:8081/authorize", "8080", 0},
	    {"http://127.0.0.1/authorize", "8080", 0},
	    {"http://10.0.0.1:8080/authorize", "8080", 0},
	    {"http://127.0.0.1.evil.example:8080/", "8080", 0},
	    {"http://127.0.0.1:8080/authorize", NULL, 0},
	    {"https://connect.tryfinch.com/authorize", "8080", 1},
	};
	char why[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct finch_link_rule rule = {"connect.tryfinch.com", cases[i].emulator_port};

		why[0] = '\0';
		if (finch_api_link_check(cases[i].url, &rule, why, sizeof(why)) != cases[i].ok)
			fail_msg("case %zu '%s': want %d (%s)", i, cases[i].url, cases[i].ok, why);
		if (!cases[i].ok && !why[0])
			fail_msg("case %zu '%s': no reason", i, cases[i].url);
	}
}

UNIT_TEST_MAIN(cmocka_unit_test(test_finch_api__session_body_types_and_order),
	       cmocka_unit_test(test_finch_api__reauth_body),
	       cmocka_unit_test(test_finch_api__parse_session_body),
	       cmocka_unit_test(test_finch_api__parse_session_body_with_length),
	       cmocka_unit_test(test_finch_api__round_trip),
	       cmocka_unit_test(test_finch_api__parse_reauth_body),
	       cmocka_unit_test(test_finch_api__classify),
	       cmocka_unit_test(test_finch_api__sandbox_refusal),
	       cmocka_unit_test(test_finch_api__classify_truncates_long_bodies),
	       cmocka_unit_test(test_finch_api__transport_error),
	       cmocka_unit_test(test_finch_api__broken_answer),
	       cmocka_unit_test(test_finch_api__broken_answer_fragment_is_bounded),
	       cmocka_unit_test(test_finch_api__link_check))
