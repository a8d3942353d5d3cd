/* test_retry.c — backoff with full jitter and Retry-After, on made-up time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/retry.h"

static const struct retry_policy policy = {6, 500, 60000, 0};

static void backoff_ceiling_doubles_to_cap(void **state)
{
	const double almost_one = 0.999999;
	assert_int_equal(retry_delay_ms(&policy, 1, almost_one, -1), 499);
	assert_int_equal(retry_delay_ms(&policy, 2, almost_one, -1), 999);
	assert_int_equal(retry_delay_ms(&policy, 3, almost_one, -1), 1999);
	assert_int_equal(retry_delay_ms(&policy, 20, almost_one, -1), 59999);
	assert_int_equal(retry_delay_ms(&policy, 3, 0.0, -1), 0);
	assert_int_equal(retry_delay_ms(&policy, 3, 0.5, -1), 1000);
}

static void retry_after_is_a_floor(void **state)
{
	assert_int_equal(retry_delay_ms(&policy, 1, 0.1, 2000), 2000);
	assert_int_equal(retry_delay_ms(&policy, 10, 0.9, 2000), 54000);
}

static void allowed_counts_and_time(void **state)
{
	struct retry_policy p = {2, 500, 60000, 10000};
	assert_true(retry_allowed(&p, 1, 0, 0, 100));
	assert_true(retry_allowed(&p, 2, 0, 0, 100));
	assert_false(retry_allowed(&p, 3, 0, 0, 100));
	assert_true(retry_allowed(&p, 1, 1000, 9000, 2000));
	assert_false(retry_allowed(&p, 1, 1000, 9000, 2001));
}

static void parse_headers(void **state)
{
	int64_t now = 1422788360000; /* Sun, 01 Feb 2015 10:59:20 GMT */
	assert_int_equal(retry_after_parse("Retry-After", "2", now), 2000);
	assert_int_equal(retry_after_parse("retry-after", "Sun, 01 Feb 2015 10:59:23 GMT", now),
			 3000);
	assert_int_equal(retry_after_parse("Retry-After", "Sun, 01 Feb 2015 10:59:00 GMT", now), 0);
	assert_int_equal(retry_after_parse("retry-after-ms", "150", now), 150);
	assert_int_equal(retry_after_parse("x-ms-retry-after-ms", "75", now), 75);
	assert_int_equal(retry_after_parse("Retry-After", "soon", now), -1);
	assert_int_equal(retry_after_parse("Retry-After", "-3", now), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(backoff_ceiling_doubles_to_cap),
	    cmocka_unit_test(retry_after_is_a_floor),
	    cmocka_unit_test(allowed_counts_and_time),
	    cmocka_unit_test(parse_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
