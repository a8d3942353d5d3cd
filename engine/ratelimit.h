/* ratelimit.h — a rate limiter and an adaptive rate, as pure state machines.
 *
 * Nothing here reads a clock, sleeps or locks: callers pass `now` in
 * microseconds and get times back (curl's ratelimit.h, nghttp2's
 * nghttp2_ratelim). The engine wraps them in a mutex and shares them
 * between workers. Unit tests drive them with made-up time. */
#ifndef RABULK_RATELIMIT_H
#define RABULK_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* GCRA (the Generic Cell Rate Algorithm of ATM networks; a token bucket
 * seen as a schedule). Each request reserves the next free slot: slots are
 * 1/rate apart and up to `burst` of them may be taken at once. */
struct ratelimit {
	double rate;  /* requests per second; 0 = unlimited */
	double burst; /* >= 1 */
	int64_t tat;  /* theoretical arrival time of the next request, us */
};

/* The limiter schedules this much under the rate it is given, so that
 * requests sent a few milliseconds late (a busy machine) never push a
 * one-second window over rate + burst: 0.8% absorbs 8 ms of jitter per
 * second, and the achieved rate stays within 1% of the configured one. */
#define RATELIMIT_HEADROOM 0.008

/* rate 0 means unlimited; burst below 1 counts as 1. */
void ratelimit_init(struct ratelimit *rl, double rate, double burst);
/* Changes the rate from now on, keeping the reservations already made. */
void ratelimit_set_rate(struct ratelimit *rl, double rate);
/* Reserves a slot for one request if it falls within `horizon_us` of now:
 * returns true and the send time (>= now) in *at. Otherwise reserves
 * nothing, returns false, and *at is when to ask again. Keeping
 * reservations close means a change of rate takes effect within the
 * horizon instead of after every far-off reservation has been served. */
bool ratelimit_reserve(struct ratelimit *rl, int64_t now_us, int64_t horizon_us, int64_t *at);

/* Additive increase, multiplicative decrease (TCP's congestion control),
 * judged once per one-second window so that a few stray 429s among
 * thousands of answers are noise, not a signal: a window in which at least
 * AIMD_CUT_SHARE of the answers were throttled halves the rate; a window
 * without any throttled answer grows it by a twentieth of the ceiling;
 * anything between holds it. */
#define AIMD_CUT_SHARE 0.10

struct aimd {
	double ceiling; /* --rate, or the send rate seen when throttling began */
	double floor;	/* never below this (1/s, or the ceiling if smaller) */
	double rate;	/* current effective rate */
	int64_t window; /* start of the current window, us */
	unsigned answers, throttled;
};

void aimd_init(struct aimd *a, double ceiling, int64_t now_us);
/* Counts one answer; returns true when a window closed and the rate changed. */
bool aimd_answer(struct aimd *a, bool throttled, int64_t now_us);

#endif
