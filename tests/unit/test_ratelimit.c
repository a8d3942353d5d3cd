/* test_ratelimit.c — GCRA reservations and windowed AIMD on made-up time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/ratelimit.h"

#define S 1000000LL /* one second in us */
#define FAR (1000 * S)

static int64_t reserve(struct ratelimit *rl, int64_t now)
{
	int64_t at;
	assert_true(ratelimit_reserve(rl, now, FAR, &at));
	return at;
}

/* One interval at this rate, as the limiter schedules it (with headroom). */
static int64_t interval(double rate)
{
	return (int64_t)(1e6 / (rate * (1 - RATELIMIT_HEADROOM)));
}

static void burst_then_steady(void **state)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 100, 5); /* 100/s, 5 at once */
	int64_t now = 10 * S, t = interval(100);
	for (int i = 0; i < 5; i++)
		assert_int_equal(reserve(&rl, now), now);
	/* the sixth waits one interval (10 ms and a little), then one each;
	 * slots are whole microseconds, so allow their rounding */
	assert_in_range(reserve(&rl, now), now + t - 10, now + t + 10);
	assert_in_range(reserve(&rl, now), now + 2 * t - 10, now + 2 * t + 10);
}

static void exact_over_ten_seconds(void **state)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 200, 1);
	int64_t last = 0;
	int sent = 0;
	while (last < 10 * S) /* clients that always want more */
		if ((last = reserve(&rl, 0)) < 10 * S)
			sent++;
	assert_true(sent >= 1980 && sent <= 2000); /* within 1%, never over */
}

static void no_window_over_rate_plus_burst(void **state)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 50, 10);
	int64_t times[2000], now = 0;
	int n = 0;
	for (int round = 0; round < 20; round++) { /* idle, then a crowd */
		now += 3 * S;
		for (int i = 0; i < 100 && n < 2000; i++)
			times[n++] = reserve(&rl, now);
	}
	for (int i = 0; i < n; i++) {
		int in_window = 0;
		for (int j = i; j < n && times[j] < times[i] + S; j++)
			in_window++;
		assert_true(in_window <= 50 + 10);
	}
}

static void horizon_keeps_reservations_close(void **state)
{
	struct ratelimit rl;
	int64_t at;
	int64_t t = interval(10), u = interval(1000);
	ratelimit_init(&rl, 10, 1); /* a slot about every 100 ms */
	assert_true(ratelimit_reserve(&rl, 0, 250000, &at) && at == 0);
	assert_true(ratelimit_reserve(&rl, 0, 250000, &at) && at == t);
	assert_true(ratelimit_reserve(&rl, 0, 250000, &at) && at == 2 * t);
	/* the next slot (~300 ms) is past the horizon: nothing taken */
	assert_false(ratelimit_reserve(&rl, 0, 250000, &at));
	assert_int_equal(at, 3 * t - 250000);
	/* a faster rate applies to the next slots at once */
	ratelimit_set_rate(&rl, 1000);
	assert_true(ratelimit_reserve(&rl, 3 * t - 250000, 250000, &at) && at == 3 * t);
	assert_false(ratelimit_reserve(&rl, 3 * t - 250000, 250000, &at)); /* past it again */
	assert_true(ratelimit_reserve(&rl, 3 * t + u - 250000, 250000, &at) && at == 3 * t + u);
}

static void unlimited(void **state)
{
	struct ratelimit rl;
	ratelimit_init(&rl, 0, 1);
	assert_int_equal(reserve(&rl, 123), 123);
	assert_int_equal(reserve(&rl, 123), 123);
}

static void window(struct aimd *a, int64_t *t, int answers, int throttled)
{
	for (int i = 0; i < answers; i++)
		aimd_answer(a, i < throttled, *t + i);
	*t += S;
}

static void aimd_judges_whole_windows(void **state)
{
	struct aimd a;
	int64_t t = 0;
	aimd_init(&a, 100, t);
	window(&a, &t, 100, 50); /* half throttled */
	aimd_answer(&a, false, t);
	assert_true(a.rate == 50);
	window(&a, &t, 100, 5); /* 5%: noise, hold */
	aimd_answer(&a, false, t);
	assert_true(a.rate == 50);
	int steps = 0;
	while (a.rate < 100) { /* clean windows grow it by 5/s each */
		window(&a, &t, 10, 0);
		aimd_answer(&a, false, t);
		steps++;
	}
	assert_int_equal(steps, 10);
	for (int i = 0; i < 20; i++) {
		window(&a, &t, 10, 10);
		aimd_answer(&a, false, t);
	}
	assert_true(a.rate == 1); /* the floor */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(burst_then_steady),
	    cmocka_unit_test(exact_over_ten_seconds),
	    cmocka_unit_test(no_window_over_rate_plus_burst),
	    cmocka_unit_test(horizon_keeps_reservations_close),
	    cmocka_unit_test(unlimited),
	    cmocka_unit_test(aimd_judges_whole_windows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
