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

/* Whether a wait is acceptable is retry_wait_limit()'s question: the header
 * reader only saturates, and says where the wait came from. */
static void absurd_waits_saturate_and_name_their_header(void **state)
{
	struct retry_after ra;
	const char *day = "Retry-After: 86400\r\n",
		   *ms = "x-ms-retry-after-ms: 9223372036854775807\r\n";
	retry_after_init(&ra);
	assert_null(ra.header);
	retry_after_header(&ra, day, strlen(day), 0);
	assert_int_equal(ra.ms, 86400000L);
	assert_string_equal(ra.header, "Retry-After");
	retry_after_init(&ra);
	retry_after_header(&ra, ms, strlen(ms), 0);
	assert_int_equal(ra.ms, RETRY_AFTER_MAX_MS);
	assert_string_equal(ra.header, "x-ms-retry-after-ms");
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

/* Absurd waits saturate at 100 years instead of overflowing (a long of
 * milliseconds added to a clock reading was undefined behaviour). */
static void parse_saturates(void **state)
{
	const long sat = 100L * 365 * 24 * 3600 * 1000;
	assert_int_equal(RETRY_AFTER_MAX_MS, sat);
	int64_t now = 1422788360000; /* Sun, 01 Feb 2015 10:59:20 GMT */
	assert_int_equal(retry_after_parse("Retry-After", "99999999", now), 99999999000L);
	assert_int_equal(retry_after_parse("Retry-After", "99999999999999999999999", now), sat);
	assert_int_equal(retry_after_parse("retry-after-ms", "9223372036854775807", now), sat);
	assert_int_equal(retry_after_parse("x-ms-retry-after-ms", "18446744073709551616", now),
			 sat);
	assert_int_equal(retry_after_parse("Retry-After", "Fri, 01 Jan 2100 00:00:00 GMT", now),
			 4102444800000 - now);
	assert_int_equal(retry_after_parse("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT", now),
			 sat);
	assert_int_equal(retry_after_parse("Retry-After", "0", now), 0);
}

/* How long a row may wait: what --retry-max-time leaves it, else 10 min. */
static void wait_limit(void **state)
{
	struct retry_policy p = {6, 500, 60000, 10000};
	assert_int_equal(retry_wait_limit(&p, 1000, 1000), 10000);
	assert_int_equal(retry_wait_limit(&p, 1000, 4000), 7000);
	assert_int_equal(retry_wait_limit(&p, 1000, 11000), 0);
	assert_int_equal(retry_wait_limit(&p, 1000, 90000), 0);
	assert_int_equal(retry_wait_limit(&policy, 1000, 90000), 600000);
	assert_int_equal(RETRY_WAIT_MAX_MS, 600000);

	/* the decision the worker makes: refuse what is over the limit */
	int64_t now = 1422788360000;
	long absurd = retry_after_parse("Retry-After", "99999999", now);
	long year2100 = retry_after_parse("Retry-After", "Fri, 01 Jan 2100 00:00:00 GMT", now);
	long huge = retry_after_parse("retry-after-ms", "9223372036854775807", now);
	assert_true(absurd > retry_wait_limit(&p, 1000, 1000));
	assert_true(absurd > retry_wait_limit(&policy, 1000, 1000));
	assert_true(year2100 > retry_wait_limit(&policy, 1000, 1000));
	assert_true(huge > retry_wait_limit(&policy, 1000, 1000));
	assert_false(retry_after_parse("Retry-After", "600", now) >
		     retry_wait_limit(&policy, 0, 0));
	assert_true(retry_after_parse("Retry-After", "601", now) > retry_wait_limit(&policy, 0, 0));
	assert_false(retry_after_parse("Retry-After", "7", now) > retry_wait_limit(&p, 1000, 4000));
	assert_true(retry_after_parse("Retry-After", "8", now) > retry_wait_limit(&p, 1000, 4000));
	/* a delay that saturated still fits the arithmetic that follows */
	assert_false(retry_allowed(&p, 1, 1000, 4000, retry_delay_ms(&p, 1, 0.5, huge)));
}

static void wait_words(void **state)
{
	char t[64];
	const struct {
		long ms;
		const char *text;
	} cases[] = {{850, "850 ms"},
		     {42000, "42 s"},
		     {119400, "119 s"},
		     {9998, "10 s"},
		     {601000, "10 min 1 s"},
		     {1500000, "25 min"},
		     {100000000, "27 h 47 min"},
		     {7200000, "2 h"},
		     {99999999000L, "1157 days"},
		     {RETRY_AFTER_MAX_MS, "at least 36500 days"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		retry_wait_text(t, sizeof(t), cases[i].ms);
		assert_string_equal(t, cases[i].text);
	}
}

static void refusal_names_the_wait(void **state)
{
	char m[256];
	struct retry_policy p = {6, 500, 60000, 10000};
	retry_refusal(m, sizeof(m), &p, 99999999000L, 9998, "Retry-After");
	assert_string_equal(m,
			    "the service asked to wait 1157 days (Retry-After), more than the 10 s "
			    "--retry-max-time leaves this row");
	retry_refusal(m, sizeof(m), &policy, RETRY_AFTER_MAX_MS, RETRY_WAIT_MAX_MS,
		      "retry-after-ms");
	assert_string_equal(m,
			    "the service asked to wait at least 36500 days (retry-after-ms), more "
			    "than the 10 min a row may wait without --retry-max-time");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(backoff_ceiling_doubles_to_cap),
	    cmocka_unit_test(retry_after_is_a_floor),
	    cmocka_unit_test(allowed_counts_and_time),
	    cmocka_unit_test(parse_headers),
	    cmocka_unit_test(header_lines),
	    cmocka_unit_test(absurd_waits_saturate_and_name_their_header),
	    cmocka_unit_test(jitter_is_uniform_in_unit_interval),
	    cmocka_unit_test(parse_saturates),
	    cmocka_unit_test(wait_limit),
	    cmocka_unit_test(wait_words),
	    cmocka_unit_test(refusal_names_the_wait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
