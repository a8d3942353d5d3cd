/* ratelimit.h — a rate limiter and an adaptive rate, as pure state machines.
 *
 * Nothing here reads a clock, sleeps or locks: callers pass `now` in
 * microseconds and get times back (curl's ratelimit.h, nghttp2's
 * nghttp2_ratelim). The engine wraps one limiter in a mutex and shares it
 * between workers. Unit tests drive these with made-up time. */
#ifndef RABULK_RATELIMIT_H
#define RABULK_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

/* GCRA (the Generic Cell Rate Algorithm of ATM networks; a token bucket
 * seen as a schedule). Each request reserves the next free slot: slots are
 * 1/rate apart and up to `burst` of them may be taken at once. */
struct ratelimit {
	double rate;	  /* requests per second; 0 = unlimited */
	double burst;	  /* >= 1 */
	int64_t tat;	  /* theoretical arrival time of the next request, us */
};

/* rate 0 means unlimited; burst below 1 counts as 1. */
void ratelimit_init(struct ratelimit *rl, double rate, double burst);
/* Changes the rate from now on, keeping the reservations already made. */
void ratelimit_set_rate(struct ratelimit *rl, double rate, int64_t now_us);
/* Reserves a slot for one request: returns the time (>= now) at which it
 * may be sent. The slot is taken whether or not the caller waits for it. */
int64_t ratelimit_reserve(struct ratelimit *rl, int64_t now_us);

/* Additive increase, multiplicative decrease (TCP's congestion control):
 * on throttling the rate halves, at most once a second so that a burst of
 * 429s counts as one signal; after each clean second it grows back by a
 * twentieth of the ceiling, reaching it within 20 s. */
struct aimd {
	double ceiling; /* the configured --rate */
	double floor;	/* never below this (1/s) */
	double rate;	/* current effective rate */
	int64_t last_cut, last_grow; /* us */
};

void aimd_init(struct aimd *a, double ceiling, int64_t now_us);
/* A throttling answer (429, 503) arrived: returns true when the rate changed. */
bool aimd_throttled(struct aimd *a, int64_t now_us);
/* A clean answer arrived: returns true when the rate changed. */
bool aimd_clean(struct aimd *a, int64_t now_us);

#endif
