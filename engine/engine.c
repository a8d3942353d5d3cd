/* engine.c — starts, stops and joins the worker threads (worker.c).
 *
 * The in-flight budget (--concurrency) is split evenly over the threads;
 * each thread may also hold up to WAITING_PER_SLOT times as many items
 * waiting for a poll or a retry, which is what keeps throughput up when
 * operations take seconds to complete. The curl share object lets the
 * threads reuse each other's DNS answers and TLS sessions; its lock
 * callbacks take one mutex per data kind (lock order: any single one). */
#include "engine/engine.h"
#include "lib/err.h"
#include "engine/worker.h"
#include "engine/lookup.h"
#include "lib/clock.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#define WAITING_PER_SLOT 16
#define CONNS_PER_THREAD 256
#define THREADS_MAX 64

struct engine {
	struct engine_shared sh;
	struct worker **workers;
	pthread_t *threads;
	int nthreads, started;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
};

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *arg)
{
	struct engine *e = arg;
	pthread_mutex_lock(&e->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct engine *e = arg;
	pthread_mutex_unlock(&e->share_locks[data]);
}

static int share_new(struct engine *e)
{
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&e->share_locks[i], NULL);
	if (!(e->sh.share = curl_share_init()))
		return ERR_NOMEM;
	curl_share_setopt(e->sh.share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(e->sh.share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(e->sh.share, CURLSHOPT_USERDATA, e);
	curl_share_setopt(e->sh.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(e->sh.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return 0;
}

/* The default: one thread per CPU (at most 8), and more when each would
 * hold over CONNS_PER_THREAD connections. libcurl's cost per request grows
 * with the connections of its multi handle (it walks them to find an idle
 * one), so 4,096 in flight run a third faster on 16 threads than on 2. */
/* Each request in flight holds a descriptor; the rest of the run needs some
 * too (report, journal, inputs, the emulator, and per worker thread its
 * epoll, wake-up and curl multi descriptors). */
#define FD_RESERVE_BASE 24
#define FD_RESERVE_PER_THREAD 6

long engine_descriptor_limit(void)
{
	struct rlimit rl;
	return getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY
		   ? -1
		   : (long)rl.rlim_cur;
}

/* What fits in limit with room for the rest; threads follows the concurrency. */
static int fitting(long limit, int threads, int concurrency, int inputs, int *fit)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int t = threads ? threads : engine_default_threads((int)cpus, concurrency);
	long room = limit - FD_RESERVE_BASE - inputs - (long)FD_RESERVE_PER_THREAD * t;
	*fit = room > 1 ? (room < concurrency ? (int)room : concurrency) : 1;
	return *fit == concurrency;
}

int engine_fit_descriptors(int concurrency, int threads, int inputs)
{
	struct rlimit rl;
	int fit;
	/* Thousands of connections need thousands of descriptors: take the
	 * hard limit (as nginx and Redis do). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	long limit = engine_descriptor_limit();
	if (limit < 0 || fitting(limit, threads, concurrency, inputs, &fit))
		return concurrency;
	fitting(limit, threads, fit, inputs, &fit); /* fewer threads for fewer transfers */
	return fit;
}

const char *stop_name(enum stop_reason why)
{
	static const char *const names[] = {
#define STOP_NAME_(name, text) text,
	    STOP_MAP(STOP_NAME_)
#undef STOP_NAME_
	};
	return names[why];
}

int engine_default_threads(int cpus, int concurrency)
{
	int t = cpus < 1 ? 1 : cpus > 8 ? 8 : cpus;
	int need = (concurrency + CONNS_PER_THREAD - 1) / CONNS_PER_THREAD;
	return need > t ? (need < THREADS_MAX ? need : THREADS_MAX) : t;
}

struct engine *engine_new(const struct engine_job *job, struct queue *in, struct queue *out,
			  char *err, size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));
	int threads = job->threads > 0 ? job->threads
				       : engine_default_threads((int)sysconf(_SC_NPROCESSORS_ONLN),
								job->concurrency);
	if (threads > job->concurrency)
		threads = job->concurrency;
	if (!e || (job->service->lookup && !(e->sh.lookup = lookup_new())))
		goto fail;
	e->sh.job = job, e->sh.in = in, e->sh.out = out;
	atomic_init(&e->sh.stop, STOP_NONE);
	atomic_init(&e->sh.live, 0);
	atomic_init(&e->sh.cancel, false);
	atomic_init(&e->sh.pause_until, 0);
	atomic_init(&e->sh.paused_ms, 0);
	atomic_init(&e->sh.throttled, 0);
	pthread_mutex_init(&e->sh.flow, NULL);
	ratelimit_init(&e->sh.sends, job->rate, job->burst);
	ratelimit_init(&e->sh.polls, job->poll_rate, job->burst);
	e->sh.paced = !job->no_quota && job->service->quota_bucket;
	quota_init(&e->sh.quota, job->quota_reserve);
	if (job->rate > 0) {
		aimd_init(&e->sh.aimd, job->rate, 0);
		e->sh.adaptive = true;
	}
	e->nthreads = threads;
	if (share_new(e) < 0 || !(e->workers = calloc(threads, sizeof(*e->workers))) ||
	    !(e->threads = calloc(threads, sizeof(*e->threads))))
		goto fail;
	for (int i = 0; i < threads; i++) {
		int slots = job->concurrency / threads + (i < job->concurrency % threads);
		if (!(e->workers[i] = worker_new(&e->sh, i, slots, slots * WAITING_PER_SLOT)))
			goto fail;
	}
	return e;
fail:
	snprintf(err, errlen, "cannot start the engine: out of memory or libcurl failed");
	engine_free(e);
	return NULL;
}

int engine_start(struct engine *e)
{
	atomic_store(&e->sh.live, e->nthreads);
	for (; e->started < e->nthreads; e->started++) {
		if (pthread_create(&e->threads[e->started], NULL, worker_main,
				   e->workers[e->started]) != 0) {
			atomic_fetch_sub(&e->sh.live, e->nthreads - e->started);
			engine_stop(e, STOP_INTERNAL);
			return ERR_NOMEM;
		}
	}
	return 0;
}

bool engine_done(struct engine *e)
{
	return atomic_load(&e->sh.live) == 0;
}

void engine_join(struct engine *e)
{
	for (int i = 0; i < e->started; i++)
		pthread_join(e->threads[i], NULL);
	e->started = 0;
}

void engine_stop(struct engine *e, enum stop_reason r)
{
	int expected = STOP_NONE;
	atomic_compare_exchange_strong(&e->sh.stop, &expected, (int)r);
}

void engine_cancel(struct engine *e)
{
	atomic_store(&e->sh.cancel, true);
}

enum stop_reason engine_stop_reason(struct engine *e)
{
	return (enum stop_reason)atomic_load(&e->sh.stop);
}

void engine_stats(struct engine *e, struct engine_stats *out)
{
	*out = (struct engine_stats){0};
	for (int b = 0; b < QUOTA_BUCKETS; b++)
		out->quota_refill[b] = -1;
	for (int i = 0; i < e->nthreads; i++)
		worker_stats(e->workers[i], out);
	out->throttled = atomic_load(&e->sh.throttled);
	out->paused_ms = atomic_load(&e->sh.paused_ms);
	out->rate_now = e->sh.adaptive ? e->sh.aimd.rate : 0;
	for (int b = 0; e->sh.paced && b < QUOTA_BUCKETS; b++) {
		struct quota_stats qs;
		quota_stats(&e->sh.quota, (enum quota_bucket)b, clock_mono_ms(), &qs);
		out->quota_wait_ms += qs.waited_ms;
		out->quota_seen |= qs.seen;
		out->quota_refill[b] = qs.seen ? qs.refill : -1;
		out->quota_throttled[b] = qs.throttled;
	}
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	for (int i = 0; e->workers && i < e->nthreads; i++)
		worker_free(e->workers[i]);
	if (e->sh.share)
		curl_share_cleanup(e->sh.share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&e->share_locks[i]);
	pthread_mutex_destroy(&e->sh.flow);
	lookup_free(e->sh.lookup);
	free(e->workers);
	free(e->threads);
	free(e);
}
