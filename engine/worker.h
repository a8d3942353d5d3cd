/* worker.h — one engine thread; only engine.c uses it. */
#ifndef RABULK_WORKER_H
#define RABULK_WORKER_H

#include "engine/engine.h"
#include "engine/ratelimit.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

/* What every worker borrows from the engine. */
struct engine_shared {
	const struct job *job;
	struct queue *in, *out;
	CURLSH *share;
	atomic_int stop; /* enum stop_reason */
	atomic_int live; /* workers still running */

	/* flow control, under `flow` (lock order: flow alone) */
	pthread_mutex_t flow;
	struct ratelimit sends, polls;
	struct aimd aimd;
	bool adaptive;		    /* aimd steers `sends` */
	int64_t sec, this_sec, last_sec; /* sends counted per second, for adaptivity */
	atomic_llong pause_until;   /* monotonic ms: nobody sends before this */
	atomic_llong paused_ms;
	atomic_ullong throttled;
};

/* When (monotonic ms, >= now) may the next operation request (poll false)
 * or poll (true) go? Reserves the slot. Thread-safe. */
int64_t flow_reserve(struct engine_shared *sh, bool poll, int64_t now_ms);
/* A 429 or 503 arrived, with Retry-After in ms (or -1): pauses every worker
 * and halves the send rate. Thread-safe. */
void flow_throttled(struct engine_shared *sh, long retry_after_ms, int64_t now_ms);
/* A clean 2xx arrived: lets the send rate grow back. Thread-safe. */
void flow_clean(struct engine_shared *sh, int64_t now_ms);

struct worker;

/* max_active: transfers in flight; max_items: in flight plus waiting.
 * Caller owns the result; NULL when out of memory or libcurl fails. */
struct worker *worker_new(struct engine_shared *sh, int id, int max_active, int max_items);
/* The thread body: runs until the input is done (or the run stops) and
 * every item it took is on the output queue. arg is the worker. */
void *worker_main(void *arg);
void worker_stats(const struct worker *w, struct engine_stats *sum);
void worker_free(struct worker *w);

#endif
