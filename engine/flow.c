/* flow.c — the flow control every worker shares: the send and poll rate
 * limiters, the throttling pause, and the adaptive rate.
 *
 * The deciding logic is pure (ratelimit.c); this file adds the lock and the
 * clock conventions (workers think in monotonic ms, the limiters in us).
 * Without --rate the send limiter is off until the first window in which
 * the service throttled a tenth of what it answered; the rate then starts at
 * half of what was sent in that window and grows back from there, so rabulk
 * backs off even when not told a rate. */
#include "engine/flow.h"
#include "engine/worker.h"

#define HORIZON_US 250000 /* reservations at most this far ahead */

bool flow_reserve(struct engine_shared *sh, bool poll, int64_t now_ms, int64_t *at_ms)
{
	int64_t at;
	pthread_mutex_lock(&sh->flow);
	if (!poll)
		sh->window_sends++;
	bool ok = ratelimit_reserve(poll ? &sh->polls : &sh->sends, now_ms * 1000, HORIZON_US, &at);
	if (!ok && !poll)
		sh->window_sends--;
	pthread_mutex_unlock(&sh->flow);
	*at_ms = (at + 999) / 1000;
	return ok;
}

/* Raises an atomic maximum; returns the old value. */
static int64_t raise_to(atomic_llong *v, int64_t want)
{
	long long old = atomic_load(v);
	while (old < want && !atomic_compare_exchange_weak(v, &old, want))
		;
	return old;
}

void flow_answer(struct engine_shared *sh, bool throttled, long retry_after_ms, long limit_ms,
		 int64_t now_ms)
{
	int64_t now_us = now_ms * 1000;
	if (throttled) {
		atomic_fetch_add(&sh->throttled, 1);
		/* A wait longer than the row may use fails that row instead
		 * (worker.c, retry_later): holding every other row for a wait
		 * nobody accepts would only stall the run, for years if the
		 * service says so. So the pause never outlives what the row that
		 * asked may still wait: --retry-max-time's rest, or 10 min. */
		if (retry_after_ms > 0 && retry_after_ms <= limit_ms) {
			int64_t until = now_ms + retry_after_ms;
			int64_t old = raise_to(&sh->pause_until, until);
			if (until > old)
				atomic_fetch_add(&sh->paused_ms,
						 until - (old > now_ms ? old : now_ms));
		}
	}
	pthread_mutex_lock(&sh->flow);
	if (!sh->adaptive) { /* watch windows until the service pushes back */
		if (now_us - sh->watch.window >= 1000000) {
			bool push = sh->watch.answers &&
				    sh->watch.throttled >= AIMD_CUT_SHARE * sh->watch.answers;
			if (push) {
				aimd_init(&sh->aimd, sh->window_sends > 1 ? sh->window_sends : 1,
					  now_us);
				sh->aimd.rate = sh->aimd.ceiling / 2;
				ratelimit_set_rate(&sh->sends, sh->aimd.rate);
				sh->adaptive = true;
			}
			sh->watch = (struct aimd){.window = now_us};
			sh->window_sends = 0;
		}
		sh->watch.answers++, sh->watch.throttled += throttled;
	} else if (aimd_answer(&sh->aimd, throttled, now_us)) {
		ratelimit_set_rate(&sh->sends, sh->aimd.rate);
	}
	pthread_mutex_unlock(&sh->flow);
}

long flow_quota_take(struct engine_shared *sh, enum quota_bucket b, int64_t now_ms,
		     struct quota_ticket *t)
{
	pthread_mutex_lock(&sh->flow);
	long wait = (long)quota_wait(&sh->quota, b, now_ms);
	if (wait == 0)
		*t = quota_spend(&sh->quota, b, now_ms);
	pthread_mutex_unlock(&sh->flow);
	return wait;
}

void flow_quota_answer(struct engine_shared *sh, const struct quota_ticket *t,
		       const struct quota_headers *h, int http, long retry_after_ms, int64_t now_ms)
{
	pthread_mutex_lock(&sh->flow);
	sh->quota_heard[t->bucket] |= h->remaining[t->bucket] >= 0;
	quota_answer(&sh->quota, t, http == 429 ? -1 : h->remaining[t->bucket], now_ms);
	/* a 429 of a service that never said what was left is not the
	 * bucket's (a front end's, a fault's): the pause deals with it */
	if (http == 429 && sh->quota_heard[t->bucket])
		quota_throttled(&sh->quota, t->bucket, retry_after_ms, now_ms);
	pthread_mutex_unlock(&sh->flow);
}
