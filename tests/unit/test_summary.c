/* test_summary.c — status counts and latency percentiles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "output/summary.h"
#include <stdlib.h>

static void percentiles_within_three_percent(void **state)
{
	struct summary s;
	struct item it = {0};
	summary_init(&s);
	it.status = STATUS_SUCCEEDED;
	for (int ms = 1; ms <= 10000; ms++) {
		it.started_ms = 1000, it.finished_ms = 1000 + ms;
		summary_add(&s, &it);
	}
	int64_t p50 = summary_percentile(&s, 0.50), p99 = summary_percentile(&s, 0.99);
	assert_true(p50 >= 5000 * 0.97 && p50 <= 5000 * 1.03);
	assert_true(p99 >= 9900 * 0.97 && p99 <= 9900 * 1.03);
	assert_int_equal(s.max_ms, 10000);
	assert_int_equal(s.sum_ms, 10000ULL * 10001 / 2);
	assert_int_equal(summary_percentile(&s, 0.0), 1);
}

static void classes(void **state)
{
	struct summary s;
	struct item it = {0};
	summary_init(&s);
	enum item_status st[] = {STATUS_SUCCEEDED, STATUS_NO_SESSION,	 STATUS_FAILED,
				 STATUS_INVALID,   STATUS_NOT_ATTEMPTED, STATUS_DUPLICATE};
	for (size_t i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		it.status = st[i];
		summary_add(&s, &it);
	}
	assert_int_equal(summary_class(&s, CLASS_OK), 2);
	assert_int_equal(summary_class(&s, CLASS_FAILURE), 2);
	assert_int_equal(summary_class(&s, CLASS_PENDING), 1);
	assert_int_equal(summary_class(&s, CLASS_SKIPPED), 1);
	assert_int_equal(s.timed, 0);
	assert_int_equal(summary_percentile(&s, 0.5), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(percentiles_within_three_percent),
	    cmocka_unit_test(classes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
