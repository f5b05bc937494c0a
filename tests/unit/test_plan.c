/*
 * test_plan.c: the summary that ends a dry run (issue 16), as tables: the
 * requests under --limit, their time at --rate, and the text and JSON forms.
 */
#include "unit.h"

#include <stdint.h>
#include <string.h>

#include "run/plan.h"

static struct night_plan base_plan(void)
{
	struct night_plan p;

	memset(&p, 0, sizeof(p));
	p.due = (struct plan_counts){60, 1, 12, 2, 4};
	p.rate_per_s = 3.0;
	p.rate = "3/s";
	return p;
}

static void test_plan__requests_and_time(void **state)
{
	static const struct {
		int64_t limit;
		double rate_per_s;
		int64_t requests, ms;
	} cases[] = {
	    {0, 3.0, 79, 26334},	  /* every due row, 79 / 3 s rounded up */
	    {10, 3.0, 10, 3334},	  /* --limit below the due rows */
	    {1000, 3.0, 79, 26334},	  /* --limit above them changes nothing */
	    {0, 0, 79, 0},		  /* --rate 0: no time to tell */
	    {0, 1000.0 / 300, 79, 23700}, /* 1000/5m */
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct night_plan p = base_plan();

		p.limit = cases[i].limit;
		p.rate_per_s = cases[i].rate_per_s;
		assert_int_equal(plan_requests(&p), cases[i].requests);
		assert_int_equal(plan_duration_ms(&p), cases[i].ms);
	}
}

static void test_plan__text(void **state)
{
	static const struct {
		int64_t limit;
		double rate_per_s;
		const char *rate;
		int has_import;
		const char *first_line;
	} cases[] = {
	    {0, 3.0, "3/s", 1, "plan: 79 requests, about 27 s at 3/s\n"},
	    {10, 3.0, "3/s", 0,
	     "plan: 10 requests (--limit 10; 79 due, the rest wait), about 4 s at 3/s\n"},
	    {0, 1.0 / 60, "1/min", 0, "plan: 79 requests, about 1 h 19 min at 1/min\n"},
	    {0, 1.0 / 3600, "1/h", 0, "plan: 79 requests, about 3 d 7 h at 1/h\n"},
	    {0, 0, "0", 0, "plan: 79 requests, no --rate limit\n"},
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct night_plan p = base_plan();
		struct strbuf sb = STRBUF_INIT;

		p.limit = cases[i].limit;
		p.rate_per_s = cases[i].rate_per_s;
		p.rate = cases[i].rate;
		p.has_import = cases[i].has_import;
		p.withdrawn = 5;
		p.unchanged = 2900;
		plan_format_text(&p, &sb);
		if (strncmp(sb.buf, cases[i].first_line, strlen(cases[i].first_line)))
			fail_msg("case %zu: %s", i, sb.buf);
		assert_contains(sb.buf, "\n  new rows                         60\n");
		assert_contains(sb.buf, "\n  failures carried over             4\n");
		assert_int_equal(strstr(sb.buf, "withdrawn tonight") != NULL, cases[i].has_import);
		assert_int_equal(strstr(sb.buf, "unchanged                      2900\n") != NULL,
				 cases[i].has_import);
		strbuf_release(&sb);
	}
}

static void test_plan__json(void **state)
{
	struct night_plan p = base_plan();
	struct strbuf sb = STRBUF_INIT;
	(void)state;

	p.limit = 10;
	plan_format_json(&p, &sb);
	assert_string_equal(sb.buf,
			    "{\"requests\":10,\"due\":79,\"limit\":10,\"rate\":\"3/s\","
			    "\"seconds\":3.334,\"new\":60,\"changed_new_link\":1,"
			    "\"renewals\":12,\"reauthentications\":2,\"carried_over\":4,"
			    "\"withdrawn\":null,\"returned\":null,\"changed_link_kept\":null,"
			    "\"unchanged\":null}\n");
	strbuf_reset(&sb);
	p.limit = 0;
	p.rate_per_s = 0;
	p.rate = "0";
	p.has_import = 1;
	p.returned = 3;
	plan_format_json(&p, &sb);
	assert_contains(sb.buf, "\"limit\":null,\"rate\":\"0\",\"seconds\":null,");
	assert_contains(sb.buf, "\"withdrawn\":0,\"returned\":3,");
	strbuf_release(&sb);
}

UNIT_TEST_MAIN(cmocka_unit_test(test_plan__requests_and_time), cmocka_unit_test(test_plan__text),
	       cmocka_unit_test(test_plan__json))
