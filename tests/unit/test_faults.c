/* test_faults.c — the emulator's injected faults: the --fault grammar,
 * what each fault does to a reply, and the throttle's bucket. */
#include "emulator/faults.h"
#include "emulator/rng.h"
#include "lib/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static void grammar(void **state)
{
	struct emu_config c = {0};
	assert_int_equal(faults_parse(&c, "429=0.05,503=0.02,reset=0.01,truncate=1"), 0);
	assert_true(c.p429 == 0.05 && c.p503 == 0.02 && c.preset == 0.01 && c.ptruncate == 1);
	assert_true(c.p500 == 0 && c.pstall == 0);
	assert_int_equal(faults_parse(&c, "429=1.5"), ERR_INVAL);
	assert_int_equal(faults_parse(&c, "404=0.1"), ERR_INVAL);
	assert_int_equal(faults_parse(&c, "stall"), ERR_INVAL);
	assert_int_equal(faults_parse(&c, "stall=x"), ERR_INVAL);
}

/* The reply one request gets under c. */
static bool pick(const struct emu_config *c, struct reply *r, int64_t *delay)
{
	struct rng rng;
	char err[128];
	rng_init(&rng, 7);
	struct faults *f = faults_new(c, &rng, err, sizeof(err));
	assert_non_null(f);
	*r = (struct reply){.status = 500};
	bool serve = faults_pick(f, r);
	*delay = faults_delay_ms(f, r);
	reply_release(r);
	faults_stop(f);
	faults_free(f);
	return serve;
}

static void what_each_fault_does(void **state)
{
	struct emu_config c = {.latency_ms = 30};
	struct reply r;
	int64_t delay;

	assert_true(pick(&c, &r, &delay)); /* none: served, after the latency */
	assert_null(r.fault);
	assert_int_equal(delay, 30);
	c.p503 = 1;
	assert_false(pick(&c, &r, &delay)); /* a status: answered, not served */
	assert_int_equal(r.status, 503);
	assert_int_equal(r.retry_after_ms, 1000);
	c.p503 = 0, c.preset = 1;
	assert_true(pick(&c, &r, &delay)); /* reset: the work is done, no answer */
	assert_true(r.close && !r.truncate);
	c.preset = 0, c.pstall = 1;
	assert_false(pick(&c, &r, &delay)); /* stall: neither, ever */
	assert_true(r.close);
	assert_int_equal(delay, -1);
	c.pstall = 0, c.ptruncate = 1;
	assert_true(pick(&c, &r, &delay)); /* truncate: served, cut short */
	assert_true(r.truncate && !r.close);
	assert_string_equal(r.fault, "truncate");
}

static void throttle(void **state)
{
	struct emu_config c = {.throttle = 2};
	struct rng rng;
	struct reply r;
	char err[128];
	rng_init(&rng, 7);
	struct faults *f = faults_new(&c, &rng, err, sizeof(err));
	for (int i = 0; i < 2; i++) { /* a second's worth at once */
		r = (struct reply){.status = 500};
		assert_true(faults_pick(f, &r));
	}
	r = (struct reply){.status = 500};
	assert_false(faults_pick(f, &r));
	assert_int_equal(r.status, 429);
	assert_string_equal(r.fault, "throttle");
	assert_in_range(r.retry_after_ms, 1, 501); /* the wait for the next token */
	reply_release(&r);
	faults_stop(f);
	faults_free(f);
	faults_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(grammar),
	    cmocka_unit_test(what_each_fault_does),
	    cmocka_unit_test(throttle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
