/* test_ratelimit.c — GCRA reservations and AIMD on made-up time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/ratelimit.h"

#define S 1000000LL /* one second in us */

static void burst_then_steady(void **state)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 100, 5); /* 100/s, 5 at once */
	int64_t now = 10 * S;
	for (int i = 0; i < 5; i++)
		assert_int_equal(ratelimit_reserve(&rl, now), now);
	/* the sixth waits one interval, then they are 10 ms apart */
	assert_int_equal(ratelimit_reserve(&rl, now), now + 10000);
	assert_int_equal(ratelimit_reserve(&rl, now), now + 20000);
}

static void exact_over_ten_seconds(void **state)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 200, 1);
	int64_t now = 0, last = 0;
	int sent = 0;
	/* clients that always want more: everything reserved goes at its slot */
	while (last < 10 * S) {
		last = ratelimit_reserve(&rl, now);
		if (last < 10 * S)
			sent++;
	}
	assert_true(sent >= 1990 && sent <= 2010);
}

static void no_window_over_rate_plus_burst(void **state)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 50, 10);
	int64_t times[2000];
	int n = 0;
	int64_t now = 0;
	/* bursty arrivals: idle, then a crowd */
	for (int round = 0; round < 20; round++) {
		now += 3 * S;
		for (int i = 0; i < 100 && n < 2000; i++)
			times[n++] = ratelimit_reserve(&rl, now);
	}
	for (int i = 0; i < n; i++) {
		int in_window = 0;
		for (int j = i; j < n && times[j] < times[i] + S; j++)
			in_window++;
		assert_true(in_window <= 50 + 10);
	}
}

static void unlimited_and_rate_change(void **state)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 0, 1);
	assert_int_equal(ratelimit_reserve(&rl, 123), 123);
	ratelimit_set_rate(&rl, 10, 0);
	assert_int_equal(ratelimit_reserve(&rl, 0), 0);
	assert_int_equal(ratelimit_reserve(&rl, 0), 100000);
}

static void aimd_halves_once_a_second_and_regrows(void **state)
{
	struct aimd a;
	aimd_init(&a, 100, 0);
	assert_true(aimd_throttled(&a, 5 * S));
	assert_true(a.rate == 50);
	assert_false(aimd_throttled(&a, 5 * S + 500000)); /* same burst of 429s */
	assert_true(aimd_throttled(&a, 6 * S + 1));
	assert_true(a.rate == 25);
	assert_false(aimd_clean(&a, 6 * S + 500000)); /* not a clean second yet */
	int64_t t = 6 * S + 1;
	int steps = 0;
	while (a.rate < 100) {
		t += S;
		assert_true(aimd_clean(&a, t));
		steps++;
	}
	assert_int_equal(steps, 15); /* 25 -> 100 in steps of 5 */
	assert_false(aimd_clean(&a, t + 2 * S));
	for (int i = 0; i < 20; i++)
		aimd_throttled(&a, t + (i + 3) * 2 * S);
	assert_true(a.rate == 1); /* the floor */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_then_steady),
		cmocka_unit_test(exact_over_ten_seconds),
		cmocka_unit_test(no_window_over_rate_plus_burst),
		cmocka_unit_test(unlimited_and_rate_change),
		cmocka_unit_test(aimd_halves_once_a_second_and_regrows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
