/*
 * test_webhook.c: Finch's webhook signature against the SDK's known answer
 * (finch-api-python tests/api_resources/test_webhooks.py), then every way a
 * delivery is refused, as a table; the secret's parsing; account.updated.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "finch/webhook.h"

#define KAT_SECRET "5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH"
#define KAT_ID	   "msg_2Lh9KRb0pzN4LePd3XiA4v12Axj"
#define KAT_TS	   "1676312382"
#define KAT_BODY   "{\"company_id\":\"720be419-0293-4d32-a707-32179b0827ab\"}"
#define KAT_SIG	   "m7y0TV2C+hlHxU42wCieApTSTaA8/047OAplBqxIV/s="
#define KAT_NOW	   1676312382

static void kat_key(struct webhook_key *k)
{
	char why[WEBHOOK_WHY_MAX];

	assert_int_equal(webhook_key_parse(KAT_SECRET, k, why, sizeof(why)), 0);
	assert_int_equal(k->len, 24);
}

static void test_webhook__known_answer(void **state)
{
	struct webhook_key k;
	char sig[WEBHOOK_SIG_B64_LEN + 1];

	(void)state;
	kat_key(&k);
	assert_int_equal(webhook_sign(&k, KAT_ID, KAT_NOW, KAT_BODY, strlen(KAT_BODY), sig), 0);
	assert_string_equal(sig, KAT_SIG);
}

/* Fails unless h and body, received at now, get the verdict want, and a reason if refused. */
static void check_verdict(const struct webhook_key *k, const struct webhook_headers *h,
			  const char *body, int64_t now, enum webhook_verdict want, size_t i)
{
	char why[WEBHOOK_WHY_MAX] = "";
	enum webhook_verdict v = webhook_verify(k, h, body, strlen(body), now, why, sizeof(why));

	if (v != want)
		fail_msg("case %zu: verdict %d, want %d (%s)", i, v, want, why);
	if (v != WEBHOOK_OK)
		assert_true(why[0]);
}

static void test_webhook__verdicts(void **state)
{
	static const struct {
		const char *id, *ts, *sig, *body;
		int64_t now;
		enum webhook_verdict want;
	} cases[] = {
	    {KAT_ID, KAT_TS, "v1," KAT_SIG, KAT_BODY, KAT_NOW, WEBHOOK_OK},
	    /* 5 minutes either way is the edge, still accepted */
	    {KAT_ID, KAT_TS, "v1," KAT_SIG, KAT_BODY, KAT_NOW + 300, WEBHOOK_OK},
	    {KAT_ID, KAT_TS, "v1," KAT_SIG, KAT_BODY, KAT_NOW - 300, WEBHOOK_OK},
	    {KAT_ID, KAT_TS, "v1," KAT_SIG, KAT_BODY, KAT_NOW + 301, WEBHOOK_OLD_TIMESTAMP},
	    {KAT_ID, KAT_TS, "v1," KAT_SIG, KAT_BODY, KAT_NOW - 301, WEBHOOK_NEW_TIMESTAMP},
	    /* several entries: any v1 that matches; other versions are skipped */
	    {KAT_ID, KAT_TS, "v1,Zm9v v1," KAT_SIG, KAT_BODY, KAT_NOW, WEBHOOK_OK},
	    {KAT_ID, KAT_TS, "v1," KAT_SIG "  v2,x", KAT_BODY, KAT_NOW, WEBHOOK_OK},
	    {KAT_ID, KAT_TS, "v2," KAT_SIG, KAT_BODY, KAT_NOW, WEBHOOK_BAD_SIGNATURE},
	    {KAT_ID, KAT_TS, KAT_SIG, KAT_BODY, KAT_NOW, WEBHOOK_BAD_SIGNATURE},
	    {KAT_ID, KAT_TS, "v1," KAT_SIG "x", KAT_BODY, KAT_NOW, WEBHOOK_BAD_SIGNATURE},
	    {KAT_ID, KAT_TS, "v1,n7y0TV2C+hlHxU42wCieApTSTaA8/047OAplBqxIV/s=", KAT_BODY, KAT_NOW,
	     WEBHOOK_BAD_SIGNATURE},
	    /* each signed part matters: the id, the timestamp, one byte of the body */
	    {"msg_other", KAT_TS, "v1," KAT_SIG, KAT_BODY, KAT_NOW, WEBHOOK_BAD_SIGNATURE},
	    {KAT_ID, "1676312383", "v1," KAT_SIG, KAT_BODY, KAT_NOW, WEBHOOK_BAD_SIGNATURE},
	    {KAT_ID, KAT_TS, "v1," KAT_SIG, KAT_BODY " ", KAT_NOW, WEBHOOK_BAD_SIGNATURE},
	    {KAT_ID, KAT_TS, "v1," KAT_SIG, "", KAT_NOW, WEBHOOK_BAD_SIGNATURE},
	    /* headers */
	    {NULL, KAT_TS, "v1," KAT_SIG, KAT_BODY, KAT_NOW, WEBHOOK_MISSING_HEADER},
	    {"", KAT_TS, "v1," KAT_SIG, KAT_BODY, KAT_NOW, WEBHOOK_MISSING_HEADER},
	    {KAT_ID, NULL, "v1," KAT_SIG, KAT_BODY, KAT_NOW, WEBHOOK_MISSING_HEADER},
	    {KAT_ID, KAT_TS, NULL, KAT_BODY, KAT_NOW, WEBHOOK_MISSING_HEADER},
	};
	/*
	 * Finch-Timestamp as both SDKs read it: a fraction is dropped and the
	 * whole seconds are signed (python float() and floor(), node
	 * parseInt()); a negative one is merely old; what either SDK refuses
	 * ("Invalid timestamp header") is refused; the rest as in the first case
	 */
	static const struct {
		const char *ts;
		enum webhook_verdict want;
	} stamps[] = {
	    {"1676312382.5", WEBHOOK_OK},
	    {"1676312382.", WEBHOOK_OK},
	    {"-1", WEBHOOK_OLD_TIMESTAMP},
	    {"soon", WEBHOOK_BAD_TIMESTAMP},
	    {"nan", WEBHOOK_BAD_TIMESTAMP},
	    {"1676312382abc", WEBHOOK_BAD_TIMESTAMP},
	    {" 1676312382", WEBHOOK_BAD_TIMESTAMP},
	    {"+1676312382", WEBHOOK_BAD_TIMESTAMP},
	    {"1.676312382e9", WEBHOOK_BAD_TIMESTAMP},
	    {"1676312382.5.1", WEBHOOK_BAD_TIMESTAMP},
	    {".5", WEBHOOK_BAD_TIMESTAMP},
	    {"-", WEBHOOK_BAD_TIMESTAMP},
	    {"99999999999999999999", WEBHOOK_BAD_TIMESTAMP},
	};
	struct webhook_key k;

	(void)state;
	kat_key(&k);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct webhook_headers h = {cases[i].id, cases[i].ts, cases[i].sig};

		check_verdict(&k, &h, cases[i].body, cases[i].now, cases[i].want, i);
	}
	for (size_t i = 0; i < ARRAY_SIZE(stamps); i++) {
		struct webhook_headers h = {KAT_ID, stamps[i].ts, "v1," KAT_SIG};

		check_verdict(&k, &h, KAT_BODY, KAT_NOW, stamps[i].want, ARRAY_SIZE(cases) + i);
	}
}

static void test_webhook__wrong_key(void **state)
{
	struct webhook_key k;
	struct webhook_headers h = {KAT_ID, KAT_TS, "v1," KAT_SIG};
	char why[WEBHOOK_WHY_MAX];

	(void)state;
	assert_int_equal(
	    webhook_key_parse("6WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH", &k, why, sizeof(why)), 0);
	assert_int_equal(
	    webhook_verify(&k, &h, KAT_BODY, strlen(KAT_BODY), KAT_NOW, why, sizeof(why)),
	    WEBHOOK_BAD_SIGNATURE);
}

static void test_webhook__secret_parse(void **state)
{
	static const struct {
		const char *secret;
		int ok;	    /* 1: a key, 0: refused, saying why */
		size_t len; /* the key's length in bytes */
		const char *why;
	} cases[] = {
	    {KAT_SECRET, 1, 24, NULL},
	    {"AAAAAAAAAAAAAAAAAAAAAA==", 1, 16, NULL},
	    {"AAAAAAAAAAAAAAAAAAAAAAA=", 1, 17, NULL},
	    /* the SDKs take these (their tests sign with "Zm9v"); anyone could forge with them */
	    {"Zm9v", 0, 0, "3 bytes, fewer than 16"},
	    {"dGVzdA==", 0, 0, "4 bytes, fewer than 16"},
	    {"test", 0, 0, "3 bytes, fewer than 16"},
	    {"AAAAAAAAAAAAAAAAAAAA", 0, 0, "15 bytes, fewer than 16"},
	    /* node's parseSecret(): it must encode back to itself */
	    {"AAAAAAAAAAAAAAAAAAAAAB==", 0, 0, "bits that encode nothing"},
	    {"AAAAAAAAAAAAAAAAAAAAAAB=", 0, 0, "bits that encode nothing"},
	    {"", 0, 0, "is empty"},
	    {"whsec_" KAT_SECRET, 0, 0, "starts with 'whsec_'"},
	    {"YWJ", 0, 0, "not a multiple of 4"},
	    {"YW-j", 0, 0, "character 3"},
	    {"Y=Jj", 0, 0, "character 2"},
	    {"====", 0, 0, "character 1"},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct webhook_key k;
		char why[WEBHOOK_WHY_MAX] = "";
		int r = webhook_key_parse(cases[i].secret, &k, why, sizeof(why));

		if (cases[i].ok) {
			assert_int_equal(r, 0);
			assert_int_equal(k.len, cases[i].len);
		} else {
			assert_int_equal(r, -1);
			if (!strstr(why, cases[i].why))
				fail_msg("case %zu: '%s' lacks '%s'", i, why, cases[i].why);
			/* a reason never quotes the secret */
			if (*cases[i].secret)
				assert_lacks(why, "5WbX5k");
		}
	}
}

static void test_webhook__header_names_ignore_case(void **state)
{
	struct webhook_headers h = {0};

	(void)state;
	assert_int_equal(webhook_headers_pick(&h, "FINCH-EVENT-ID", "a"), 1);
	assert_int_equal(webhook_headers_pick(&h, "finch-timestamp", "b"), 1);
	assert_int_equal(webhook_headers_pick(&h, "Finch-Signature", "c"), 1);
	assert_int_equal(webhook_headers_pick(&h, "Content-Type", "d"), 0);
	assert_string_equal(h.event_id, "a");
	assert_string_equal(h.timestamp, "b");
	assert_string_equal(h.signature, "c");
}

static void test_webhook__event_parse(void **state)
{
	static const struct {
		const char *body;
		int ok;
		const char *type, *conn, *status;
	} cases[] = {
	    {"{\"event_type\":\"account.updated\",\"connection_id\":\"c1\",\"data\":{\"status\":"
	     "\"reauth\"}}",
	     1, "account.updated", "c1", "reauth"},
	    {"{\"event_type\":\"directory.created\",\"connection_id\":\"c1\"}", 1,
	     "directory.created", "c1", NULL},
	    {"{\"event_type\":\"company.updated\"}", 1, "company.updated", NULL, NULL},
	    {"{\"event_type\":\"account.updated\",\"data\":{\"status\":\"reauth\"}}", 0, NULL, NULL,
	     NULL},
	    {"{\"event_type\":\"account.updated\",\"connection_id\":\"c1\",\"data\":{\"status\":"
	     "\"asleep\"}}",
	     0, NULL, NULL, NULL},
	    {"{\"event_type\":\"account.updated\",\"connection_id\":\"c1\"}", 0, NULL, NULL, NULL},
	    {"{\"connection_id\":\"c1\"}", 0, NULL, NULL, NULL},
	    {"[1]", 0, NULL, NULL, NULL},
	    /* a NUL would cut connection_id short in a C string: refused, never cut */
	    {"{\"event_type\":\"account.updated\",\"connection_id\":\"c1\\u0000x\",\"data\":{"
	     "\"status\":\"reauth\"}}",
	     0, NULL, NULL, NULL},
	    {"{\"event_type\":\"company.updated\",\"connection_id\":\"c1\\u0000\"}", 0, NULL, NULL,
	     NULL},
	    /* an escaped backslash, then the text u0000: no NUL */
	    {"{\"event_type\":\"company.updated\",\"connection_id\":\"c1\\\\u0000\"}", 1,
	     "company.updated", "c1\\u0000", NULL},
	    {"not json", 0, NULL, NULL, NULL},
	    {"", 0, NULL, NULL, NULL},
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct webhook_event ev;
		char why[WEBHOOK_WHY_MAX] = "";
		int r = webhook_event_parse(cases[i].body, strlen(cases[i].body), &ev, why,
					    sizeof(why));

		if (!cases[i].ok) {
			if (r != -1 || !why[0])
				fail_msg("case %zu: accepted", i);
			continue;
		}
		if (r != 0)
			fail_msg("case %zu: %s", i, why);
		assert_string_equal(ev.event_type, cases[i].type);
		if (cases[i].conn)
			assert_string_equal(ev.connection_id, cases[i].conn);
		else
			assert_null(ev.connection_id);
		if (cases[i].status)
			assert_string_equal(ev.status, cases[i].status);
		else
			assert_null(ev.status);
		webhook_event_release(&ev);
	}
}

/* A raw NUL byte inside a string (not JSON, but cJSON reads it) is refused too. */
static void test_webhook__raw_nul_refused(void **state)
{
	static const char body[] =
	    "{\"event_type\":\"account.updated\",\"connection_id\":\"c1\0x\","
	    "\"data\":{\"status\":\"reauth\"}}";
	struct webhook_event ev;
	char why[WEBHOOK_WHY_MAX] = "";

	(void)state;
	assert_int_equal(webhook_event_parse(body, sizeof(body) - 1, &ev, why, sizeof(why)), -1);
	assert_contains(why, "NUL");
	assert_null(ev.connection_id);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_webhook__known_answer),
	       cmocka_unit_test(test_webhook__verdicts), cmocka_unit_test(test_webhook__wrong_key),
	       cmocka_unit_test(test_webhook__secret_parse),
	       cmocka_unit_test(test_webhook__header_names_ignore_case),
	       cmocka_unit_test(test_webhook__event_parse),
	       cmocka_unit_test(test_webhook__raw_nul_refused))
