/* flow.c — the flow control every worker shares: the send and poll rate
 * limiters, the throttling pause, and the adaptive rate.
 *
 * The deciding logic is pure (ratelimit.c); this file adds the lock and the
 * clock conventions (workers think in monotonic ms, the limiters in us).
 * Without --rate the send limiter is off until the first throttling answer;
 * then it starts at half of what was being sent in the last full second and
 * grows back from there, so rabulk backs off even when not told a rate. */
#include "engine/worker.h"

int64_t flow_reserve(struct engine_shared *sh, bool poll, int64_t now_ms)
{
	int64_t now_us = now_ms * 1000, at;
	pthread_mutex_lock(&sh->flow);
	if (!poll) {
		int64_t sec = now_ms / 1000;
		if (sec != sh->sec)
			sh->last_sec = sec == sh->sec + 1 ? sh->this_sec : 0, sh->this_sec = 0,
			sh->sec = sec;
		sh->this_sec++;
	}
	at = ratelimit_reserve(poll ? &sh->polls : &sh->sends, now_us);
	pthread_mutex_unlock(&sh->flow);
	return (at + 999) / 1000;
}

/* Raises an atomic maximum; returns the old value. */
static int64_t raise_to(atomic_llong *v, int64_t want)
{
	long long old = atomic_load(v);
	while (old < want && !atomic_compare_exchange_weak(v, &old, want))
		;
	return old;
}

void flow_throttled(struct engine_shared *sh, long retry_after_ms, int64_t now_ms)
{
	atomic_fetch_add(&sh->throttled, 1);
	if (retry_after_ms > 0) {
		int64_t until = now_ms + retry_after_ms;
		int64_t old = raise_to(&sh->pause_until, until);
		if (until > old)
			atomic_fetch_add(&sh->paused_ms, until - (old > now_ms ? old : now_ms));
	}
	pthread_mutex_lock(&sh->flow);
	if (!sh->adaptive) {
		int64_t seen = sh->last_sec > sh->this_sec ? sh->last_sec : sh->this_sec;
		aimd_init(&sh->aimd, seen > 1 ? (double)seen : 1.0, now_ms * 1000);
		sh->adaptive = true;
	}
	if (aimd_throttled(&sh->aimd, now_ms * 1000))
		ratelimit_set_rate(&sh->sends, sh->aimd.rate, now_ms * 1000);
	pthread_mutex_unlock(&sh->flow);
}

void flow_clean(struct engine_shared *sh, int64_t now_ms)
{
	pthread_mutex_lock(&sh->flow);
	if (sh->adaptive && aimd_clean(&sh->aimd, now_ms * 1000))
		ratelimit_set_rate(&sh->sends, sh->aimd.rate, now_ms * 1000);
	pthread_mutex_unlock(&sh->flow);
}
