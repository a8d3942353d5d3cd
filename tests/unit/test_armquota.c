/* test_armquota.c — the emulator's ARM quotas on made-up time: the spec,
 * the buckets, Retry-After and the penalty for coming early, the global
 * bucket shared by a subscription's principals, and the counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emulator/armquota.h"
#include "lib/err.h"

#include <stdio.h>
#include <string.h>

#define SUB "00000000-0000-0000-0000-000000000001"

static struct armquota *make(const char *spec)
{
	struct armquota_spec s;
	const char *why = NULL;
	assert_int_equal(armquota_parse(spec, &s, &why), 0);
	struct armquota *q = armquota_new(&s);
	assert_non_null(q);
	return q;
}

static int take(struct armquota *q, const char *principal, enum armquota_bucket b, int64_t now,
		struct armquota_answer *a)
{
	return armquota_take(q, SUB, principal, b, now, a);
}

static void spec_parses(void **state)
{
	struct armquota_spec s;
	assert_int_equal(armquota_parse("reads=250:25,writes=200:10,deletes=200:10", &s, NULL), 0);
	assert_true(s.principal[ARMQUOTA_READS].set && s.principal[ARMQUOTA_READS].burst == 250 &&
		    s.principal[ARMQUOTA_READS].rate == 25);
	assert_true(s.principal[ARMQUOTA_WRITES].burst == 200 &&
		    s.principal[ARMQUOTA_WRITES].rate == 10);
	assert_true(s.principal[ARMQUOTA_DELETES].set);
	assert_false(s.global[ARMQUOTA_READS].set);

	assert_int_equal(armquota_parse("Writes=5:0.5,global-writes=12000:3.33", &s, NULL), 0);
	assert_false(s.principal[ARMQUOTA_READS].set);
	assert_true(s.principal[ARMQUOTA_WRITES].rate == 0.5);
	assert_true(s.global[ARMQUOTA_WRITES].set && s.global[ARMQUOTA_WRITES].burst == 12000 &&
		    s.global[ARMQUOTA_WRITES].rate == 3.33);
	assert_false(s.principal[ARMQUOTA_DELETES].set);
}

static void spec_junk(void **state)
{
	const char *bad[] = {
	    "",
	    "reads",
	    "reads=",
	    "reads=250",
	    "reads=250:",
	    "reads=:25",
	    "reads=0:25",
	    "reads=250:0",
	    "reads=250:0.0",
	    "reads=2.5:1",
	    "reads=250:25,",
	    ",reads=250:25",
	    "reads=250:25,,writes=1:1",
	    "reads=250:25,reads=1:1",
	    "global-reads=1:1,global-reads=2:2",
	    "foo=1:1",
	    "global-=1:1",
	    "global-foo=1:1",
	    "reads=-1:5",
	    "reads=1:-5",
	    "reads=+1:5",
	    "reads=1e3:5",
	    "reads= 250:25",
	    "reads=250:25 ",
	    "reads=250:25x",
	    "reads=250:25:1",
	    "reads=1:nan",
	    "reads=1:inf",
	    "reads=1:.5",
	    "reads=1:5.",
	    "reads=1000000001:1",
	    "reads=1:1000000001",
	    "reads=99999999999999999999999999999999999:1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct armquota_spec s;
		memset(&s, 0, sizeof s);
		s.principal[0].set = true;
		const char *why = NULL;
		if (armquota_parse(bad[i], &s, &why) != ERR_INVAL)
			fail_msg("'%s' was accepted", bad[i]);
		assert_non_null(why);
		assert_true(s.principal[0].set); /* untouched */
	}
	struct armquota_spec s;
	assert_int_equal(armquota_parse(NULL, &s, NULL), ERR_INVAL);
}

static void methods(void **state)
{
	enum armquota_bucket b;
	assert_int_equal(armquota_bucket_of_method("GET", &b), 0);
	assert_int_equal(b, ARMQUOTA_READS);
	assert_int_equal(armquota_bucket_of_method("HEAD", &b), 0);
	assert_int_equal(b, ARMQUOTA_READS);
	assert_int_equal(armquota_bucket_of_method("POST", &b), 0);
	assert_int_equal(b, ARMQUOTA_WRITES);
	assert_int_equal(armquota_bucket_of_method("PATCH", &b), 0);
	assert_int_equal(b, ARMQUOTA_WRITES);
	assert_int_equal(armquota_bucket_of_method("PUT", &b), 0);
	assert_int_equal(b, ARMQUOTA_WRITES);
	assert_int_equal(armquota_bucket_of_method("DELETE", &b), 0);
	assert_int_equal(b, ARMQUOTA_DELETES);
	assert_int_equal(armquota_bucket_of_method("OPTIONS", &b), ERR_INVAL);
	assert_int_equal(armquota_bucket_of_method(NULL, &b), ERR_INVAL);
	assert_string_equal(armquota_bucket_name(ARMQUOTA_DELETES), "deletes");
	assert_string_equal(armquota_bucket_name(ARMQUOTA_BUCKETS), "?");
	assert_string_equal(armquota_header_name(ARMQUOTA_WRITES, false),
			    "x-ms-ratelimit-remaining-subscription-writes");
	assert_string_equal(armquota_header_name(ARMQUOTA_READS, true),
			    "x-ms-ratelimit-remaining-subscription-global-reads");
	assert_null(armquota_header_name(ARMQUOTA_BUCKETS, false));
}

static void burst_then_429(void **state)
{
	struct armquota *q = make("writes=200:10");
	struct armquota_answer a;
	for (int i = 0; i < 200; i++) {
		assert_int_equal(take(q, "alice", ARMQUOTA_WRITES, 0, &a), 0);
		assert_int_equal(a.remaining, 199 - i);
		assert_int_equal(a.global_remaining, 199 - i);
		assert_int_equal(a.retry_after_s, 0);
	}
	assert_int_equal(take(q, "alice", ARMQUOTA_WRITES, 0, &a), ERR_AGAIN);
	assert_int_equal(a.retry_after_s, 1); /* a token in 0.1 s: whole seconds, at least 1 */
	assert_int_equal(a.remaining, 0);
	/* once the wait is over, the refill is there: 10 tokens, one taken */
	assert_int_equal(take(q, "alice", ARMQUOTA_WRITES, 1000, &a), 0);
	assert_int_equal(a.remaining, 9);
	/* other kinds are not touched */
	assert_int_equal(take(q, "alice", ARMQUOTA_READS, 1000, &a), 0);
	assert_int_equal(a.remaining, -1); /* not limited: no header */
	assert_int_equal(a.global_remaining, -1);
	struct armquota_stats st;
	armquota_stats(q, ARMQUOTA_WRITES, &st);
	assert_int_equal(st.allowed, 201);
	assert_int_equal(st.throttled, 1);
	assert_int_equal(st.early, 0);
	armquota_stats(q, ARMQUOTA_READS, &st);
	assert_int_equal(st.allowed, 1);
	assert_int_equal(st.throttled, 0);
	armquota_free(q);
}

static void early_requests_start_the_wait_over(void **state)
{
	struct armquota *q = make("deletes=5:0.5");
	struct armquota_answer a;
	for (int i = 0; i < 5; i++)
		assert_int_equal(take(q, "bob", ARMQUOTA_DELETES, 0, &a), 0);
	assert_int_equal(take(q, "bob", ARMQUOTA_DELETES, 0, &a), ERR_AGAIN);
	assert_int_equal(a.retry_after_s, 2); /* a token in 2 s */
	/* at 1 s there is half a token; coming early earns a new full wait */
	assert_int_equal(take(q, "bob", ARMQUOTA_DELETES, 1000, &a), ERR_AGAIN);
	assert_int_equal(a.retry_after_s, 2);
	/* another principal was never told to wait, but the subscription's
	 * bucket holds half a token: refused, for a second */
	assert_int_equal(take(q, "carol", ARMQUOTA_DELETES, 1000, &a), ERR_AGAIN);
	assert_int_equal(a.remaining, 5); /* her own is full */
	assert_int_equal(a.retry_after_s, 1);
	/* at 2.5 s the bucket holds 1.25 tokens, but bob was told 3 s */
	assert_int_equal(take(q, "bob", ARMQUOTA_DELETES, 2500, &a), ERR_AGAIN);
	assert_int_equal(a.retry_after_s, 2);
	assert_int_equal(a.remaining, 1); /* what is there, untouched */
	/* waiting it out works: held until 4.5 s */
	assert_int_equal(take(q, "bob", ARMQUOTA_DELETES, 4499, &a), ERR_AGAIN);
	assert_int_equal(take(q, "bob", ARMQUOTA_DELETES, 4499 + 2000, &a), 0);
	assert_int_equal(a.remaining, 2); /* 3.25 tokens at 6.5 s, one taken */
	struct armquota_stats st;
	armquota_stats(q, ARMQUOTA_DELETES, &st);
	assert_int_equal(st.allowed, 6);
	assert_int_equal(st.throttled, 5);
	assert_int_equal(st.early, 3);
	armquota_free(q);
}

static void global_bucket_shared(void **state)
{
	/* the global bucket as large as the principal's: two principals drain
	 * it twice as fast, and the second one is refused by it */
	struct armquota *q = make("writes=10:1");
	struct armquota_answer a;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(take(q, "alice", ARMQUOTA_WRITES, 0, &a), 0);
		assert_int_equal(take(q, "bob", ARMQUOTA_WRITES, 0, &a), 0);
		assert_int_equal(a.remaining, 9 - i);
		assert_int_equal(a.global_remaining, 9 - 2 * i - 1);
	}
	assert_int_equal(take(q, "bob", ARMQUOTA_WRITES, 0, &a), ERR_AGAIN);
	assert_int_equal(a.remaining, 5);	 /* bob's own bucket is half full */
	assert_int_equal(a.global_remaining, 0); /* the subscription's is empty */
	assert_int_equal(a.retry_after_s, 1);
	/* another subscription is another world */
	assert_int_equal(armquota_take(q, "other-sub", "bob", ARMQUOTA_WRITES, 0, &a), 0);
	assert_int_equal(a.global_remaining, 9);
	armquota_free(q);

	/* a larger global bucket: alice's own runs out first */
	q = make("writes=10:1,global-writes=30:3");
	for (int i = 0; i < 10; i++)
		assert_int_equal(take(q, "alice", ARMQUOTA_WRITES, 0, &a), 0);
	assert_int_equal(a.global_remaining, 20);
	assert_int_equal(take(q, "alice", ARMQUOTA_WRITES, 0, &a), ERR_AGAIN);
	for (int i = 0; i < 10; i++)
		assert_int_equal(take(q, "bob", ARMQUOTA_WRITES, 0, &a), 0);
	assert_int_equal(a.remaining, 0);
	assert_int_equal(a.global_remaining, 10);
	armquota_free(q);

	/* only a global limit: one header, the global one */
	q = make("global-reads=3:1");
	assert_int_equal(take(q, "alice", ARMQUOTA_READS, 0, &a), 0);
	assert_int_equal(a.remaining, -1);
	assert_int_equal(a.global_remaining, 2);
	armquota_free(q);
}

static void exact_over_time(void **state)
{
	/* a client twice as fast as the refill that ignores Retry-After gets
	 * the burst and then nothing: every early request starts the wait over */
	struct armquota *q = make("writes=200:10");
	struct armquota_answer a;
	struct armquota_stats st;
	int ok = 0, refused = 0, after = 0;
	for (int64_t t = 0; t < 100000; t += 50) {
		if (take(q, "alice", ARMQUOTA_WRITES, t, &a) == 0)
			ok++, after += refused > 0;
		else
			refused++;
	}
	/* 20 s at 20/s against 10/s of refill empty the burst */
	assert_in_range(ok, 395, 401);
	assert_int_equal(after, 0);
	armquota_stats(q, ARMQUOTA_WRITES, &st);
	assert_int_equal(st.throttled, 2000 - ok);
	assert_int_equal(st.early, 2000 - ok - 1);
	/* one that honours Retry-After gets the burst and the refill */
	armquota_free(q);
	q = make("writes=200:10");
	ok = 0;
	for (int64_t t = 0; t < 100000;) {
		if (take(q, "alice", ARMQUOTA_WRITES, t, &a) == 0) {
			ok++;
			t += 50;
		} else {
			t += a.retry_after_s * 1000;
		}
	}
	assert_in_range(ok, 200 + 990, 200 + 1000);
	/* time going back (clock readings taken before the lock) adds nothing */
	int64_t before = 0;
	take(q, "bob", ARMQUOTA_WRITES, 200000, &a);
	before = a.remaining;
	take(q, "bob", ARMQUOTA_WRITES, 150000, &a);
	assert_int_equal(a.remaining, before - 1);
	armquota_free(q);
}

static void names_and_caps(void **state)
{
	struct armquota *q = make("reads=5:1");
	struct armquota_answer a;
	char longname[ARMQUOTA_NAME_MAX + 2];
	memset(longname, 'x', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	assert_int_equal(take(q, longname, ARMQUOTA_READS, 0, &a), ERR_TOOBIG);
	assert_int_equal(armquota_take(q, longname, "alice", ARMQUOTA_READS, 0, &a), ERR_TOOBIG);
	longname[ARMQUOTA_NAME_MAX] = '\0'; /* the longest kept */
	assert_int_equal(take(q, longname, ARMQUOTA_READS, 0, &a), 0);
	assert_int_equal(take(q, "", ARMQUOTA_READS, 0, &a), ERR_INVAL);
	assert_int_equal(take(q, NULL, ARMQUOTA_READS, 0, &a), ERR_INVAL);
	assert_int_equal(armquota_take(q, "", "alice", ARMQUOTA_READS, 0, &a), ERR_INVAL);
	assert_int_equal(take(q, "alice", ARMQUOTA_BUCKETS, 0, &a), ERR_INVAL);
	/* at most ARMQUOTA_KEYS_MAX entries: the global one and the principals */
	char name[32];
	int kept = 1; /* longname's */
	for (int i = 0; i < ARMQUOTA_KEYS_MAX + 10; i++) {
		snprintf(name, sizeof name, "p%d", i);
		int rc = take(q, name, ARMQUOTA_READS, 0, &a);
		if (rc == ERR_TOOBIG)
			break;
		kept++;
	}
	assert_int_equal(kept, ARMQUOTA_KEYS_MAX - 1);
	/* the ones kept still work; an unlimited kind needs no entry */
	assert_int_equal(take(q, "p0", ARMQUOTA_READS, 1000, &a), 0);
	assert_int_equal(take(q, "someone-new", ARMQUOTA_WRITES, 0, &a), 0);
	armquota_free(q);
	armquota_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(spec_parses),
	    cmocka_unit_test(spec_junk),
	    cmocka_unit_test(methods),
	    cmocka_unit_test(burst_then_429),
	    cmocka_unit_test(early_requests_start_the_wait_over),
	    cmocka_unit_test(global_bucket_shared),
	    cmocka_unit_test(exact_over_time),
	    cmocka_unit_test(names_and_caps),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
