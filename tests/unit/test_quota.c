/* test_quota.c — the quota pacer on made-up time: header parsing, the
 * reserve's syntax, and simulations of an ARM token bucket (burst, refill
 * per second) answering a client that asks quota_wait(), spends, and feeds
 * back the remaining headers after a random latency each way, so that
 * requests are in flight and answers come back out of order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "emulator/armquota.h"
#include "engine/quota.h"
#include "lib/err.h"

#include <stdio.h>
#include <string.h>

static double fabs_(double x)
{
	return x < 0 ? -x : x;
}

/* ---- headers ---------------------------------------------------------- */

static int parse(const char *line, enum quota_bucket *b, bool *g, int64_t *v)
{
	return quota_header_parse(line, strlen(line), b, g, v);
}

static void header_names(void **state)
{
	enum quota_bucket b;
	bool g;
	int64_t v;
	assert_int_equal(parse("x-ms-ratelimit-remaining-subscription-reads: 249\r\n", &b, &g, &v),
			 0);
	assert_int_equal(b, QUOTA_READS);
	assert_false(g);
	assert_int_equal(v, 249);
	assert_int_equal(parse("X-MS-RateLimit-Remaining-Subscription-Writes:199\r\n", &b, &g, &v),
			 0);
	assert_int_equal(b, QUOTA_WRITES);
	assert_int_equal(v, 199);
	assert_int_equal(
	    parse("x-ms-ratelimit-remaining-subscription-global-deletes: \t0 \r\n", &b, &g, &v), 0);
	assert_int_equal(b, QUOTA_DELETES);
	assert_true(g);
	assert_int_equal(v, 0);
	assert_int_equal(
	    parse("x-ms-ratelimit-remaining-subscription-global-reads: 11999", &b, &g, &v), 0);
	assert_true(g && b == QUOTA_READS && v == 11999);
	/* others are not ours */
	assert_int_equal(
	    parse("x-ms-ratelimit-remaining-subscription-resource-requests: 5\r\n", &b, &g, &v),
	    ERR_NOENT);
	assert_int_equal(parse("x-ms-ratelimit-remaining-tenant-reads: 5\r\n", &b, &g, &v),
			 ERR_NOENT);
	assert_int_equal(parse("x-ms-ratelimit-remaining-subscription-readsx: 5\r\n", &b, &g, &v),
			 ERR_NOENT);
	assert_int_equal(parse("x-ms-ratelimit-remaining-subscription-: 5\r\n", &b, &g, &v),
			 ERR_NOENT);
	assert_int_equal(parse("X-Rate-Limit-Remaining: 9223372036854775807\r\n", &b, &g, &v),
			 ERR_NOENT);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\n", &b, &g, &v), ERR_NOENT);
	assert_int_equal(parse("\r\n", &b, &g, &v), ERR_NOENT);
}

/* What the emulator sends is what the pacer reads. */
static void emulator_headers_read_back(void **state)
{
	for (int i = 0; i < ARMQUOTA_BUCKETS; i++)
		for (int g = 0; g < 2; g++) {
			char line[128];
			enum quota_bucket b;
			bool global;
			int64_t v;
			snprintf(line, sizeof line, "%s: %d\r\n",
				 armquota_header_name((enum armquota_bucket)i, g), 100 + i);
			assert_int_equal(parse(line, &b, &global, &v), 0);
			assert_string_equal(quota_bucket_name(b),
					    armquota_bucket_name((enum armquota_bucket)i));
			assert_int_equal(global, g);
			assert_int_equal(v, 100 + i);
		}
}

static void header_junk(void **state)
{
	enum quota_bucket b = QUOTA_READS;
	bool g = false;
	int64_t v = 7;
	const char *parse_errors[] = {
	    "x-ms-ratelimit-remaining-subscription-writes:\r\n",
	    "x-ms-ratelimit-remaining-subscription-writes:   \r\n",
	    "x-ms-ratelimit-remaining-subscription-writes: 12abc\r\n",
	    "x-ms-ratelimit-remaining-subscription-writes: 1 2\r\n",
	    "x-ms-ratelimit-remaining-subscription-writes: +5\r\n",
	    "x-ms-ratelimit-remaining-subscription-writes: 0x10\r\n",
	    "x-ms-ratelimit-remaining-subscription-writes: 1.5\r\n",
	    "x-ms-ratelimit-remaining-subscription-writes: -\r\n",
	    "x-ms-ratelimit-remaining-subscription-writes: --3\r\n",
	};
	for (size_t i = 0; i < sizeof parse_errors / sizeof *parse_errors; i++)
		assert_int_equal(parse(parse_errors[i], &b, &g, &v), ERR_PARSE);
	const char *range_errors[] = {
	    "x-ms-ratelimit-remaining-subscription-writes: -1\r\n",
	    "x-ms-ratelimit-remaining-subscription-writes: 1000000001\r\n",
	    "x-ms-ratelimit-remaining-subscription-writes: 9223372036854775807\r\n",
	    "x-ms-ratelimit-remaining-subscription-writes: 99999999999999999999999999999\r\n",
	};
	for (size_t i = 0; i < sizeof range_errors / sizeof *range_errors; i++)
		assert_int_equal(parse(range_errors[i], &b, &g, &v), ERR_RANGE);
	/* nothing written on an error */
	assert_true(b == QUOTA_READS && !g && v == 7);
	assert_int_equal(parse("x-ms-ratelimit-remaining-subscription-writes: -0\r\n", &b, &g, &v),
			 0);
	assert_int_equal(v, 0);
	assert_int_equal(
	    parse("x-ms-ratelimit-remaining-subscription-writes: 1000000000\r\n", &b, &g, &v), 0);
	/* a line cut short (len) is read as cut */
	const char *l = "x-ms-ratelimit-remaining-subscription-reads: 42\r\n";
	assert_int_equal(quota_header_parse(l, strlen(l) - 3, &b, &g, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(quota_header_parse(l, 20, &b, &g, &v), ERR_NOENT);
}

static void headers_keep_the_smaller(void **state)
{
	struct quota_headers h;
	quota_headers_init(&h);
	const char *lines[] = {
	    "HTTP/1.1 200 OK\r\n",
	    "x-ms-ratelimit-remaining-subscription-writes: 180\r\n",
	    "x-ms-ratelimit-remaining-subscription-global-writes: 120\r\n",
	    "x-ms-ratelimit-remaining-subscription-reads: junk\r\n",
	    "x-ms-ratelimit-remaining-subscription-global-deletes: 50\r\n",
	    "x-ms-ratelimit-remaining-subscription-deletes: 70\r\n",
	};
	for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
		quota_headers_line(&h, lines[i], strlen(lines[i]));
	assert_int_equal(h.remaining[QUOTA_WRITES], 120);
	assert_int_equal(h.remaining[QUOTA_DELETES], 50);
	assert_int_equal(h.remaining[QUOTA_READS], -1);
}

static void bucket_names(void **state)
{
	enum quota_bucket b;
	assert_string_equal(quota_bucket_name(QUOTA_READS), "reads");
	assert_string_equal(quota_bucket_name(QUOTA_DELETES), "deletes");
	assert_string_equal(quota_bucket_name(QUOTA_BUCKETS), "?");
	assert_int_equal(quota_bucket_parse("writes", &b), 0);
	assert_int_equal(b, QUOTA_WRITES);
	assert_int_equal(quota_bucket_parse("Deletes", &b), 0);
	assert_int_equal(b, QUOTA_DELETES);
	assert_int_equal(quota_bucket_parse("write", &b), ERR_INVAL);
	assert_int_equal(quota_bucket_parse(NULL, &b), ERR_INVAL);
}

static void reserve_syntax(void **state)
{
	struct quota_reserve r;
	assert_int_equal(quota_parse_reserve("20", &r), 0);
	assert_true(r.value == 20 && !r.percent);
	assert_int_equal(quota_parse_reserve("0", &r), 0);
	assert_true(r.value == 0 && !r.percent);
	assert_int_equal(quota_parse_reserve("10%", &r), 0);
	assert_true(r.value == 10 && r.percent);
	assert_int_equal(quota_parse_reserve("2.5%", &r), 0);
	assert_true(r.value == 2.5 && r.percent);
	assert_int_equal(quota_parse_reserve("100%", &r), 0);
	assert_int_equal(quota_parse_reserve("0%", &r), 0);
	const char *bad[] = {"",   "%",	  "-1",	 "+5",	"1.5", "101%",	     "1e3", "5 ",
			     " 5", "abc", "5%%", ".5%", "5.%", "1000000001", "nan", "inf%"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(quota_parse_reserve(bad[i], &r), ERR_INVAL);
	assert_int_equal(quota_parse_reserve(NULL, &r), ERR_INVAL);
}

/* ---- the pacer, step by step ------------------------------------------ */

static void nothing_seen_no_waiting(void **state)
{
	struct quota q;
	quota_init(&q, QUOTA_RESERVE_DEFAULT);
	for (int64_t t = 0; t < 10000; t++) {
		assert_int_equal(quota_wait(&q, QUOTA_WRITES, t), 0);
		struct quota_ticket k = quota_spend(&q, QUOTA_WRITES, t);
		quota_answer(&q, &k, -1, t); /* answers without the header */
	}
	struct quota_stats s;
	quota_stats(&q, QUOTA_WRITES, 10000, &s);
	assert_false(s.seen);
	assert_int_equal(s.sent, 10000);
	assert_int_equal(s.waited_ms, 0);
}

static void buckets_independent(void **state)
{
	struct quota q;
	quota_init(&q, QUOTA_RESERVE_DEFAULT);
	struct quota_ticket k = quota_spend(&q, QUOTA_WRITES, 0);
	quota_answer(&q, &k, 199, 10);
	k = quota_spend(&q, QUOTA_WRITES, 10);
	quota_answer(&q, &k, 3, 50); /* writes are nearly gone */
	assert_true(quota_wait(&q, QUOTA_WRITES, 50) > 0);
	assert_int_equal(quota_wait(&q, QUOTA_READS, 50), 0);
	assert_int_equal(quota_wait(&q, QUOTA_DELETES, 50), 0);
	k = quota_spend(&q, QUOTA_READS, 50);
	quota_answer(&q, &k, 249, 80);
	assert_int_equal(quota_wait(&q, QUOTA_READS, 80), 0);
	assert_true(quota_wait(&q, QUOTA_WRITES, 80) > 0);
}

/* The level: the answer's value less our requests sent after it, and less
 * the earlier ones still in flight (the service may count them later). */
static void in_flight_and_stale_answers(void **state)
{
	struct quota q;
	struct quota_stats s;
	quota_init(&q, (struct quota_reserve){.value = 5});
	struct quota_ticket k[10];
	for (int i = 0; i < 10; i++)
		k[i] = quota_spend(&q, QUOTA_WRITES, 0);
	/* the service counted request 2 with 12 left; 7 went after it, and 0
	 * and 1 are still in flight */
	quota_answer(&q, &k[2], 12, 100);
	quota_stats(&q, QUOTA_WRITES, 100, &s);
	assert_true(fabs_(s.remaining - 3) < 1e-9);
	assert_true(quota_wait(&q, QUOTA_WRITES, 100) > 0); /* under the reserve */
	/* 0 and 1 come late saying more: older answers never raise the level */
	quota_answer(&q, &k[0], 14, 105);
	quota_answer(&q, &k[1], 13, 105);
	quota_stats(&q, QUOTA_WRITES, 105, &s);
	assert_true(s.remaining < 3.01);
	/* request 9's answer: the service refilled meanwhile; 3..8 in flight */
	quota_answer(&q, &k[9], 30, 120);
	quota_stats(&q, QUOTA_WRITES, 120, &s);
	assert_true(fabs_(s.remaining - 24) < 1e-9);
	assert_int_equal(quota_wait(&q, QUOTA_WRITES, 120), 0);
	/* an older answer that says less does lower it: the service counted
	 * 8 after 9, with 5 left, 3..7 still to count */
	quota_answer(&q, &k[8], 5, 130);
	quota_stats(&q, QUOTA_WRITES, 130, &s);
	assert_true(fabs_(s.remaining - (5 - 1 - 5)) < 0.01);
	assert_true(quota_wait(&q, QUOTA_WRITES, 130) > 0);
	/* a second answer to one ticket, and a ticket this pacer never gave,
	 * are ignored */
	quota_answer(&q, &k[9], 200, 140);
	struct quota_ticket bogus = {.bucket = QUOTA_WRITES, .seq = 99, .sent_ms = 0};
	quota_answer(&q, &bogus, 200, 140);
	quota_stats(&q, QUOTA_WRITES, 140, &s);
	assert_true(s.remaining < 0);
	/* the rest land: nothing in flight, the next answer is taken whole */
	for (int i = 3; i < 8; i++)
		quota_answer(&q, &k[i], -1, 150);
	struct quota_ticket n = quota_spend(&q, QUOTA_WRITES, 160);
	quota_answer(&q, &n, 40, 200);
	quota_stats(&q, QUOTA_WRITES, 200, &s);
	assert_true(fabs_(s.remaining - 40) < 1e-9);
}

/* A ticket never answered counts as in flight until QUOTA_TRACK later
 * tickets push it out. */
static void lost_tickets_are_forgotten(void **state)
{
	struct quota q;
	quota_init(&q, QUOTA_RESERVE_DEFAULT);
	for (int i = 0; i < 10; i++)
		quota_spend(&q, QUOTA_READS, 0); /* never answered */
	assert_int_equal(q.m[QUOTA_READS].in_flight, 10);
	for (int i = 0; i < QUOTA_TRACK; i++) {
		struct quota_ticket k = quota_spend(&q, QUOTA_READS, i);
		quota_answer(&q, &k, 200, i);
	}
	assert_int_equal(q.m[QUOTA_READS].in_flight, 0);
	assert_int_equal(q.m[QUOTA_READS].oldest, q.m[QUOTA_READS].sent);
	struct quota_stats s;
	quota_stats(&q, QUOTA_READS, QUOTA_TRACK, &s);
	assert_int_equal(s.sent, QUOTA_TRACK + 10);
	assert_true(fabs_(s.remaining - 200) < 1e-9);
}

static void throttled_holds_and_waits_count(void **state)
{
	struct quota q;
	quota_init(&q, (struct quota_reserve){.value = 0});
	struct quota_ticket k = quota_spend(&q, QUOTA_DELETES, 0);
	quota_answer(&q, &k, 100, 10);
	assert_int_equal(quota_wait(&q, QUOTA_DELETES, 10), 0);
	quota_spend(&q, QUOTA_DELETES, 10);
	quota_throttled(&q, QUOTA_DELETES, 3000, 20);
	/* nothing before the Retry-After is over */
	assert_int_equal(quota_wait(&q, QUOTA_DELETES, 20), 1000); /* capped: ask again */
	assert_true(quota_wait(&q, QUOTA_DELETES, 2500) > 0);
	int64_t t = 3020;
	int64_t w;
	while ((w = quota_wait(&q, QUOTA_DELETES, t)) > 0)
		t += w;
	assert_true(t >= 3020);
	struct quota_stats s;
	quota_stats(&q, QUOTA_DELETES, t, &s);
	assert_int_equal(s.waited_ms, t - 20); /* held from the 429 until now */
	assert_int_equal(s.throttled, 1);
	/* a held span still open counts up to the stats' time */
	quota_spend(&q, QUOTA_DELETES, t);
	quota_throttled(&q, QUOTA_DELETES, 500, t);
	assert_true(quota_wait(&q, QUOTA_DELETES, t) > 0);
	quota_stats(&q, QUOTA_DELETES, t + 200, &s);
	assert_int_equal(s.waited_ms, (t - 20) + 200);
}

/* ---- simulations ------------------------------------------------------- */

static uint64_t rng_state = 88172645463325252ULL;

static double rnd(void)
{
	rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

/* ARM's bucket: tokens refill continuously up to the burst; a request
 * takes one, the answer says what is left (whole requests). */
struct arm {
	double burst, rate, tokens;
	int64_t at;
	double low; /* fewest tokens left after any request */
};

static void arm_fill(struct arm *a, int64_t now)
{
	a->tokens += a->rate * (double)(now - a->at) / 1000;
	if (a->tokens > a->burst)
		a->tokens = a->burst;
	a->at = now;
}

/* -1: 429. */
static int64_t arm_take(struct arm *a, int64_t now)
{
	arm_fill(a, now);
	if (a->tokens < 1)
		return -1;
	a->tokens -= 1;
	if (a->tokens < a->low)
		a->low = a->tokens;
	return (int64_t)a->tokens; /* >= 0: whole requests */
}

struct sim {
	/* the set-up */
	int requests;
	double burst, rate;
	int64_t change_at; /* the refill changes to new_rate then (0: never) */
	double new_rate;
	int concurrency;
	int up_ms, up_jitter, down_ms, down_jitter;
	double other_rate; /* another client spending the same bucket, per second */
	int64_t other_from, other_until;
	struct quota_reserve reserve;
	bool no_headers;
	/* the outcome */
	int64_t elapsed_ms;
	int throttled, other_throttled;
	double low, largest;
	int64_t waited_ms, max_wait;
	double refill;
};

struct flight {
	bool busy, counted;
	struct quota_ticket t;
	int64_t arrive, back, remaining;
};

#define SIM_SLOTS 64

static void simulate(struct sim *s)
{
	struct quota q;
	struct arm a = {.burst = s->burst, .rate = s->rate, .tokens = s->burst, .low = s->burst};
	struct flight f[SIM_SLOTS] = {{0}};
	int todo = s->requests, done = 0;
	double other = 0;
	int64_t next_try = 0, t;
	quota_init(&q, s->reserve);
	s->throttled = s->other_throttled = 0;
	s->max_wait = 0;
	for (t = 0; done < s->requests; t++) {
		assert_true(t < 100000000); /* a stuck pacer fails, never hangs */
		if (s->change_at && t == s->change_at) {
			arm_fill(&a, t);
			a.rate = s->new_rate;
		}
		if (t >= s->other_from && (!s->other_until || t < s->other_until)) {
			other += s->other_rate / 1000;
			for (; other >= 1; other -= 1)
				s->other_throttled += arm_take(&a, t) < 0;
		}
		for (int i = 0; i < s->concurrency; i++) {
			struct flight *x = &f[i];
			if (!x->busy)
				continue;
			if (!x->counted && t >= x->arrive) {
				x->remaining = arm_take(&a, t);
				x->counted = true;
			}
			if (x->counted && t >= x->back) {
				x->busy = false;
				if (x->remaining < 0) {
					s->throttled++;
					quota_answer(&q, &x->t, -1, t);
					quota_throttled(&q, x->t.bucket, 1000, t);
					todo++;
				} else {
					quota_answer(&q, &x->t, s->no_headers ? -1 : x->remaining,
						     t);
					done++;
				}
			}
		}
		for (int i = 0; i < s->concurrency && todo > 0 && t >= next_try; i++) {
			if (f[i].busy)
				continue;
			int64_t w = quota_wait(&q, QUOTA_WRITES, t);
			if (w > s->max_wait)
				s->max_wait = w;
			if (w > 0) {
				next_try = t + w;
				break;
			}
			f[i] = (struct flight){.busy = true, .t = quota_spend(&q, QUOTA_WRITES, t)};
			f[i].arrive = t + s->up_ms + (int64_t)(rnd() * s->up_jitter);
			f[i].back = f[i].arrive + s->down_ms + (int64_t)(rnd() * s->down_jitter);
			todo--;
		}
	}
	struct quota_stats st;
	quota_stats(&q, QUOTA_WRITES, t, &st);
	s->elapsed_ms = t;
	s->low = a.low;
	s->largest = st.largest;
	s->waited_ms = st.waited_ms;
	s->refill = st.refill;
}

/* The best any client can do: spend the burst down to the reserve at once,
 * then one request per refill. */
static double ideal_s(const struct sim *s, double reserve)
{
	double net = s->rate - s->other_rate;
	return (s->requests - (s->burst - reserve)) / net;
}

static void report(const char *name, const struct sim *s, double ideal)
{
	printf("  %-26s %d requests, %d 429s (other client: %d), %.1f s (ideal %.1f s, %+.2f%%), "
	       "lowest %.2f left, waited %.1f s, refill %.2f/s\n",
	       name, s->requests, s->throttled, s->other_throttled, s->elapsed_ms / 1000.0, ideal,
	       100 * (s->elapsed_ms / 1000.0 - ideal) / ideal, s->low, s->waited_ms / 1000.0,
	       s->refill);
}

static struct sim arm_writes(void)
{
	return (struct sim){.requests = 10000,
			    .burst = 200,
			    .rate = 10,
			    .concurrency = 16,
			    .up_ms = 30,
			    .up_jitter = 60,
			    .down_ms = 30,
			    .down_jitter = 60,
			    .reserve = QUOTA_RESERVE_DEFAULT};
}

static void writes_200_at_10(void **state)
{
	struct sim s = arm_writes();
	simulate(&s);
	double reserve = 0.10 * s.largest, ideal = ideal_s(&s, reserve);
	report("writes 200:10", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_true(s.low >= reserve);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.02);
	assert_true(fabs_(s.refill - 10) < 1);
	/* the waits add up: most of the run was spent waiting for refill */
	assert_true(s.waited_ms > s.elapsed_ms * 0.9);
}

/* A bucket that refills faster than a sample's span (30 at 100/s, answers
 * in a millisecond, the emulator's loopback): it is full at every look, so
 * the refill is learnt as a lower bound, probed for at once (not after
 * QUOTA_PROBE_MS of silence): the run keeps near the refill rate. */
static void small_bucket_refilled_fast(void **state)
{
	struct sim s = arm_writes();
	s.requests = 2000, s.burst = 30, s.rate = 100, s.concurrency = 8;
	s.up_ms = s.down_ms = 0, s.up_jitter = s.down_jitter = 2;
	simulate(&s);
	double reserve = 0.10 * s.largest, ideal = ideal_s(&s, reserve);
	report("writes 30:100, 1 ms answers", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.5);
}

/* Another client (or a second shard) empties the bucket at the start,
 * before any refill is measured: the pacer must not sit on a level it can
 * only grow at QUOTA_MIN_REFILL; it looks again after a span. */
static void emptied_before_the_refill_is_known(void **state)
{
	struct sim s = arm_writes();
	s.requests = 3000, s.burst = 200, s.rate = 100;
	s.other_rate = 400, s.other_from = 0, s.other_until = 1000;
	simulate(&s);
	/* ours and the other's 400 requests, less the burst, at the refill */
	double ideal = (3000 + 400 - 200) / 100.0;
	report("emptied by another client at the start", &s, ideal);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.1);
	assert_true(s.throttled <= 30);
}

static void reads_250_at_25(void **state)
{
	struct sim s = arm_writes();
	s.burst = 250, s.rate = 25, s.concurrency = 32;
	simulate(&s);
	double reserve = 0.10 * s.largest, ideal = ideal_s(&s, reserve);
	report("reads 250:25", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_true(s.low >= reserve);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.02);
}

static void reserve_explicit_and_zero(void **state)
{
	struct sim s = arm_writes();
	s.reserve = (struct quota_reserve){.value = 50};
	simulate(&s);
	double ideal = ideal_s(&s, 50);
	report("reserve 50", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_true(s.low >= 50);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.02);

	s = arm_writes();
	s.reserve = (struct quota_reserve){.value = 0};
	simulate(&s);
	ideal = ideal_s(&s, 0);
	report("reserve 0", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_true(s.low >= 0);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.02);

	s = arm_writes();
	s.reserve = (struct quota_reserve){.value = 25, .percent = true};
	s.requests = 3000;
	simulate(&s);
	ideal = ideal_s(&s, 0.25 * s.largest);
	report("reserve 25%", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_true(s.low >= 0.25 * s.largest);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.03);

	/* a reserve larger than the bucket holds back half of it, still moving */
	s = arm_writes();
	s.reserve = (struct quota_reserve){.value = 1000};
	s.requests = 3000;
	simulate(&s);
	ideal = ideal_s(&s, QUOTA_RESERVE_MAX * s.largest);
	report("reserve 1000 (> bucket)", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_true(s.low >= QUOTA_RESERVE_MAX * s.largest);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.03);
}

static void another_client_draining(void **state)
{
	/* from the start, 4 of the 10 per second go to someone else */
	struct sim s = arm_writes();
	s.requests = 5000;
	s.other_rate = 4;
	simulate(&s);
	double ideal = ideal_s(&s, 0.10 * s.largest);
	report("other client 4/s", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_int_equal(s.other_throttled, 0);
	assert_true(s.low >= 0.10 * s.largest);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.03);
	assert_true(fabs_(s.refill - 6) < 1);

	/* one that starts mid-run at 7/s and stops later: we back off, then
	 * take the whole refill again */
	s = arm_writes();
	s.requests = 5000;
	s.other_rate = 7, s.other_from = 100000, s.other_until = 300000;
	simulate(&s);
	/* ideal: the burst and 100 s at 10/s, 200 s at 3/s, the rest at 10/s */
	double by_300 = (200 - 0.1 * s.largest) + 100 * 10 + 200 * 3;
	ideal = 300 + (s.requests - by_300) / 10;
	s.other_rate = 7;
	report("other client 7/s, 100-300 s", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_int_equal(s.other_throttled, 0);
	assert_true(s.low >= 0.10 * s.largest);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.03);
}

static void another_client_takes_nearly_all(void **state)
{
	/* 9 of the 10 per second go to someone else: we get the burst, then
	 * one a second, and neither of us is refused */
	struct sim s = arm_writes();
	s.requests = 500;
	s.other_rate = 9;
	simulate(&s);
	double ideal = ideal_s(&s, 0.10 * s.largest);
	report("other client 9/s", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_int_equal(s.other_throttled, 0);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.05);

	/* and one that takes more than the refill (12/s) for 200 s: the
	 * bucket empties whatever we do (it meets hundreds of 429s); we stop
	 * at the reserve, probe every few seconds (and meet a few), and take
	 * the whole refill again within seconds once it stops */
	s = arm_writes();
	s.requests = 300;
	s.other_rate = 12, s.other_until = 200000;
	simulate(&s);
	report("other client 12/s, 0-200 s", &s, 0);
	assert_true(s.throttled <= 15);
	assert_true(s.other_throttled > 300);
	assert_true(s.elapsed_ms < 225000);
}

static void answers_out_of_order(void **state)
{
	/* latency from 10 ms to 1.5 s each way: answers overtake each other
	 * all the time, and many requests are in flight */
	struct sim s = arm_writes();
	s.concurrency = 64;
	s.up_ms = 10, s.up_jitter = 1500, s.down_ms = 10, s.down_jitter = 1500;
	simulate(&s);
	double ideal = ideal_s(&s, 0.10 * s.largest);
	report("out of order, 64 in flight", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_true(s.low >= 0.10 * s.largest);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.03);

	s.reserve = (struct quota_reserve){.value = 0};
	simulate(&s);
	ideal = ideal_s(&s, 0);
	report("out of order, reserve 0", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.03);
}

static void limits_change_mid_run(void **state)
{
	/* the refill halves after 300 s */
	struct sim s = arm_writes();
	s.change_at = 300000, s.new_rate = 5;
	simulate(&s);
	double by_300 = (200 - 0.1 * s.largest) + 300 * 10;
	double ideal = 300 + (s.requests - by_300) / 5;
	report("refill 10/s -> 5/s at 300 s", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_true(s.low >= 0.10 * s.largest);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.02);
	assert_true(fabs_(s.refill - 5) < 0.5);

	/* and doubles: we follow it up */
	s = arm_writes();
	s.change_at = 300000, s.new_rate = 20;
	simulate(&s);
	ideal = 300 + (s.requests - by_300) / 20;
	report("refill 10/s -> 20/s at 300 s", &s, ideal);
	assert_int_equal(s.throttled, 0);
	assert_true(s.elapsed_ms / 1000.0 <= ideal * 1.02);
}

/* Two rabulk runs as two principals of one subscription, against the
 * emulator's buckets (armquota): each has its own bucket, and both draw
 * from the subscription's global one, whose header is the smaller. Each
 * pacer sees the other as another client draining the bucket. */
static void two_principals_against_the_emulator(void **state)
{
	struct armquota_spec spec;
	assert_int_equal(armquota_parse("writes=200:10", &spec, NULL), 0);
	struct armquota *arm = armquota_new(&spec);
	assert_non_null(arm);
	enum { CLIENTS = 2, EACH = 3000, SLOTS = 8 };
	struct quota q[CLIENTS];
	struct flight f[CLIENTS][SLOTS];
	int todo[CLIENTS], done = 0, throttled = 0;
	int64_t next_try[CLIENTS] = {0}, t, low = 200;
	const char *who[CLIENTS] = {"alice", "bob"};
	memset(f, 0, sizeof f);
	for (int c = 0; c < CLIENTS; c++) {
		quota_init(&q[c], QUOTA_RESERVE_DEFAULT);
		todo[c] = EACH;
	}
	for (t = 0; done < CLIENTS * EACH; t++) {
		assert_true(t < 10000000);
		for (int c = 0; c < CLIENTS; c++) {
			for (int i = 0; i < SLOTS; i++) {
				struct flight *x = &f[c][i];
				struct armquota_answer a;
				if (!x->busy)
					continue;
				if (!x->counted && t >= x->arrive) {
					int rc = armquota_take(arm, "sub", who[c], ARMQUOTA_WRITES,
							       t, &a);
					assert_true(rc == 0 || rc == ERR_AGAIN);
					x->remaining = rc ? -1
						       : a.global_remaining < a.remaining
							   ? a.global_remaining
							   : a.remaining;
					if (!rc && x->remaining < low)
						low = x->remaining;
					x->counted = true;
				}
				if (x->counted && t >= x->back) {
					x->busy = false;
					quota_answer(&q[c], &x->t, x->remaining, t);
					if (x->remaining < 0) {
						throttled++;
						quota_throttled(&q[c], QUOTA_WRITES, 1000, t);
						todo[c]++;
					} else {
						done++;
					}
				}
			}
			for (int i = 0; i < SLOTS && todo[c] > 0 && t >= next_try[c]; i++) {
				if (f[c][i].busy)
					continue;
				int64_t w = quota_wait(&q[c], QUOTA_WRITES, t);
				if (w > 0) {
					next_try[c] = t + w;
					break;
				}
				f[c][i] = (struct flight){.busy = true,
							  .t = quota_spend(&q[c], QUOTA_WRITES, t)};
				f[c][i].arrive = t + 30 + (int64_t)(rnd() * 60);
				f[c][i].back = f[c][i].arrive + 30 + (int64_t)(rnd() * 60);
				todo[c]--;
			}
		}
	}
	double ideal = (CLIENTS * EACH - (200 - 0.1 * 199)) / 10.0;
	printf("  %-26s %d requests, %d 429s, %.1f s (ideal %.1f s, %+.2f%%), lowest %ld left\n",
	       "two principals, global", CLIENTS * EACH, throttled, t / 1000.0, ideal,
	       100 * (t / 1000.0 - ideal) / ideal, (long)low);
	assert_int_equal(throttled, 0);
	assert_true(low >= 10);
	assert_true(t / 1000.0 <= ideal * 1.03);
	armquota_free(arm);
}

static void headers_absent(void **state)
{
	/* a service that says nothing: the pacer never holds a request (and
	 * the bucket pushes back with 429s, the engine's business) */
	struct sim s = arm_writes();
	s.requests = 1000, s.burst = 2000;
	s.no_headers = true;
	simulate(&s);
	assert_int_equal(s.max_wait, 0);
	assert_int_equal(s.waited_ms, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(header_names),
	    cmocka_unit_test(emulator_headers_read_back),
	    cmocka_unit_test(header_junk),
	    cmocka_unit_test(headers_keep_the_smaller),
	    cmocka_unit_test(bucket_names),
	    cmocka_unit_test(reserve_syntax),
	    cmocka_unit_test(nothing_seen_no_waiting),
	    cmocka_unit_test(buckets_independent),
	    cmocka_unit_test(in_flight_and_stale_answers),
	    cmocka_unit_test(lost_tickets_are_forgotten),
	    cmocka_unit_test(throttled_holds_and_waits_count),
	    cmocka_unit_test(writes_200_at_10),
	    cmocka_unit_test(reads_250_at_25),
	    cmocka_unit_test(small_bucket_refilled_fast),
	    cmocka_unit_test(emptied_before_the_refill_is_known),
	    cmocka_unit_test(reserve_explicit_and_zero),
	    cmocka_unit_test(another_client_draining),
	    cmocka_unit_test(another_client_takes_nearly_all),
	    cmocka_unit_test(answers_out_of_order),
	    cmocka_unit_test(limits_change_mid_run),
	    cmocka_unit_test(two_principals_against_the_emulator),
	    cmocka_unit_test(headers_absent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
