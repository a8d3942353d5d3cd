/* test_route.c — the emulator's request parsing: segments split on the raw
 * path, then decoded once each; the query kept as sent. */
#include "emulator/route.h"
#include "lib/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static void segments_are_decoded_after_the_split(void **state)
{
	struct route_request q = {.uri = "/sub/services/remoteapp/collections/A%2FB%20C/sessions"
					 "?api-version=2014-09-01&x=%41"};
	assert_int_equal(route_parse(&q), 0);
	assert_int_equal(q.nseg, 6);
	assert_string_equal(q.seg[0], "sub");
	assert_string_equal(q.seg[4], "A/B C"); /* an encoded '/' stays in its segment */
	assert_string_equal(q.seg[5], "sessions");
	assert_string_equal(q.query, "api-version=2014-09-01&x=%41");
	assert_true(route_query_has(q.query, "api-version=2014-09-01"));
	assert_true(route_query_has(q.query, "x=%41"));
	assert_false(route_query_has(q.query, "api-version=2014-09"));
	assert_false(route_query_has(q.query, "x=A"));
	route_release(&q);
}

static void empty_and_trailing_segments(void **state)
{
	struct route_request q = {.uri = "/_emulator/state"}, r = {.uri = "/a//b/"};
	assert_int_equal(route_parse(&q), 0);
	assert_int_equal(q.nseg, 2);
	assert_string_equal(q.query, "");
	route_release(&q);
	assert_int_equal(route_parse(&r), 0);
	assert_int_equal(r.nseg, 4);
	assert_string_equal(r.seg[1], "");
	assert_string_equal(r.seg[3], "");
	route_release(&r);
}

static void too_many_segments(void **state)
{
	struct route_request q = {.uri = "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17"};
	assert_int_equal(route_parse(&q), ERR_TOOBIG);
	route_release(&q);
	q = (struct route_request){.uri = "/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16"};
	assert_int_equal(route_parse(&q), 0);
	assert_int_equal(q.nseg, ROUTE_MAX_SEGS);
	route_release(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(segments_are_decoded_after_the_split),
	    cmocka_unit_test(empty_and_trailing_segments),
	    cmocka_unit_test(too_many_segments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
