/* worker.h — one engine thread; only engine.c uses it. */
#ifndef RABULK_WORKER_H
#define RABULK_WORKER_H

#include "engine/engine.h"
#include "engine/quota.h"
#include "engine/ratelimit.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

/* What every worker borrows from the engine. */
struct engine_shared {
	const struct engine_job *job;
	struct queue *in, *out;
	struct lookup *lookup; /* a lookup service's session lists, this pass; else NULL */
	CURLSH *share;
	atomic_int stop;    /* enum stop_reason */
	atomic_int live;    /* workers still running */
	atomic_bool cancel; /* abandon the requests in flight too */

	/* flow control, under `flow` (lock order: flow alone) */
	pthread_mutex_t flow;
	struct ratelimit sends, polls;
	struct aimd aimd;
	bool adaptive;	      /* aimd steers `sends` */
	struct aimd watch;    /* before that: the current window's answers */
	int64_t window_sends; /* operation requests in that window */
	struct quota quota;   /* the service's remaining quota (paced: it has one) */
	bool paced;
	bool quota_heard[QUOTA_BUCKETS]; /* an answer said what was left of it */
	atomic_llong pause_until;	 /* monotonic ms: nobody sends before this */
	atomic_llong paused_ms;
	atomic_ullong throttled;
};

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
