/* test_retry.c — backoff with full jitter and Retry-After, on made-up time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
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

static void header_lines(void **state)
{
	int64_t now = 1422788360000; /* Sun, 01 Feb 2015 10:59:20 GMT */
	struct retry_after ra;
	const char *seconds = "Retry-After: 2\r\n", *ms = "retry-after-ms: 150\r\n";

	retry_after_init(&ra);
	assert_int_equal(ra.ms, -1);
	retry_after_header(&ra, "Content-Type: text/plain\r\n", 26, now);
	assert_int_equal(ra.ms, -1);
	retry_after_header(&ra, seconds, strlen(seconds), now);
	assert_int_equal(ra.ms, 2000);
	assert_false(ra.precise);
	retry_after_header(&ra, ms, strlen(ms), now);		/* precise: wins, */
	retry_after_header(&ra, seconds, strlen(seconds), now); /* whatever the order */
	assert_int_equal(ra.ms, 150);
	assert_true(ra.precise);

	const char *date = "retry-after: Sun, 01 Feb 2015 10:59:23 GMT\r\n";
	retry_after_init(&ra);
	retry_after_header(&ra, date, strlen(date), now);
	assert_int_equal(ra.ms, 3000);
}

static void absurd_waits_are_capped(void **state)
{
	struct retry_after ra;
	const char *day = "Retry-After: 86400\r\n", *ms = "x-ms-retry-after-ms: 900000\r\n";
	retry_after_init(&ra);
	retry_after_header(&ra, day, strlen(day), 0);
	assert_int_equal(ra.ms, RETRY_AFTER_MAX_MS);
	retry_after_init(&ra);
	retry_after_header(&ra, ms, strlen(ms), 0);
	assert_int_equal(ra.ms, RETRY_AFTER_MAX_MS);
}

static void jitter_is_uniform_in_unit_interval(void **state)
{
	uint64_t s = 42;
	double sum = 0;
	for (int i = 0; i < 10000; i++) {
		double x = retry_random(&s);
		assert_true(x >= 0 && x < 1);
		sum += x;
	}
	assert_true(sum > 4800 && sum < 5200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(backoff_ceiling_doubles_to_cap),
	    cmocka_unit_test(retry_after_is_a_floor),
	    cmocka_unit_test(allowed_counts_and_time),
	    cmocka_unit_test(parse_headers),
	    cmocka_unit_test(header_lines),
	    cmocka_unit_test(absurd_waits_are_capped),
	    cmocka_unit_test(jitter_is_uniform_in_unit_interval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
