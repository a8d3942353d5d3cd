/* test_units.c — durations, rates and deadlines as people write them. */
#include "lib/err.h"
#include "lib/units.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void durations(void **state)
{
	long ms;
	assert_int_equal(units_duration("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(units_duration("30", &ms), 0);
	assert_int_equal(ms, 30000);
	assert_int_equal(units_duration("1.5m", &ms), 0);
	assert_int_equal(ms, 90000);
	assert_int_equal(units_duration("2h", &ms), 0);
	assert_int_equal(ms, 7200000);
	assert_int_equal(units_duration("-1s", &ms), ERR_INVAL);
	assert_int_equal(units_duration("5 weeks", &ms), ERR_INVAL);
	assert_int_equal(units_duration("", &ms), ERR_INVAL);
	assert_int_equal(units_duration("1e13", &ms), ERR_INVAL);
}

static void rates(void **state)
{
	double r;
	assert_int_equal(units_rate("200", &r), 0);
	assert_true(r == 200);
	assert_int_equal(units_rate("600/m", &r), 0);
	assert_true(r == 10);
	assert_int_equal(units_rate("3600/h", &r), 0);
	assert_true(r == 1);
	assert_int_equal(units_rate("0", &r), ERR_INVAL);
	assert_int_equal(units_rate("5/d", &r), ERR_INVAL);
}

static void deadlines(void **state)
{
	int64_t t, now = 1764000000000; /* 2025-11-24T16:00:00Z */
	assert_int_equal(units_deadline("+30m", now, &t), 0);
	assert_true(t == now + 1800000);
	assert_int_equal(units_deadline("2026-11-24T22:00:00Z", now, &t), 0);
	assert_true(t == 1795557600000);
	assert_int_equal(units_deadline("2026-11-24T22:00:00+01:00", now, &t), 0);
	assert_true(t == 1795557600000 - 3600000);
	assert_int_equal(units_deadline("25:00", now, &t), ERR_INVAL);
	assert_int_equal(units_deadline("tomorrow", now, &t), ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(durations),
	    cmocka_unit_test(rates),
	    cmocka_unit_test(deadlines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
