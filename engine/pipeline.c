/* pipeline.c — passes of rows through the engine into a sink (see pipeline.h).
 *
 * Three kinds of thread: the reader runs the source; the workers (engine.c)
 * send and poll; the caller's thread runs the writer loop, the only one
 * that touches the sink. Rows move between them through two bounded
 * queues, owned by one thread at a time.
 *
 * The end of a pass, in order: the engine finishes (all rows done, or a
 * stop: requests in flight end within --timeout, a second signal abandons
 * them); what is still in the in queue is left over; the reader is woken
 * (a source waiting on a silent pipe returns) and may read on for
 * READER_GRACE_MS, its rows left over too, then stops at its next row;
 * it is joined; the out queue is drained into the sink. Nothing the reader
 * uses is freed before it has returned. */
#include "engine/pipeline.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/queue.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OUT_QUEUE 4096
#define PUMP_BATCH 4096	     /* rows put per turn of the writer loop, at most */
#define READER_GRACE_MS 2000 /* after a stop, how long the reader may read on */
#define ORDER_WINDOW 16384   /* ordered: rows handed over and not yet written, at most */

struct pipeline {
	const struct engine_job *job;
	struct engine_job pass_job; /* the job with this pass's operation */
	const struct pipeline_sink *sink;
	struct pipeline_opts o;
	enum stop_reason stopped; /* the first pass that stopped early */
	bool abandoned;		  /* a second signal was acted on */
	struct engine_stats stats;

	/* the pass under way */
	struct queue *in, *out;
	struct engine *engine;
	pipeline_source_fn source;
	void *source_arg;
	int source_rc;
	uint64_t seq;		  /* rows handed over, all passes: input order */
	atomic_ullong rows_read;  /* this pass */
	atomic_bool reader_done;  /* the source returned */
	atomic_bool abandon;	  /* the reader must stop at its next row */
	int wake[2];		  /* written when the pass stops */
	uint64_t written_before;  /* the sink's rows when the pass began */
	pthread_mutex_t lock;	  /* the ordered window: */
	pthread_cond_t cond;	  /* the reader waits while `window` rows */
	uint64_t window, pending; /* are handed over and not yet written */
	uint64_t flushed;
};

struct pipeline *pipeline_new(const struct engine_job *job, const struct pipeline_sink *sink,
			      const struct pipeline_opts *o)
{
	struct pipeline *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->job = job, p->sink = sink, p->o = *o;
	p->wake[0] = p->wake[1] = -1;
	for (int b = 0; b < QUOTA_BUCKETS; b++)
		p->stats.quota_refill[b] = -1; /* not measured */
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	return p;
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}

/* ---- the reader ------------------------------------------------------- */

/* The ordered window: the reader waits while it is full, so memory never
 * grows with the input whatever follows a slow row. */
static void wait_for_window(struct pipeline *p)
{
	pthread_mutex_lock(&p->lock);
	while (p->pending >= p->window && !atomic_load(&p->abandon))
		pthread_cond_wait(&p->cond, &p->lock);
	p->pending++;
	pthread_mutex_unlock(&p->lock);
}

static void window_freed(struct pipeline *p, uint64_t n)
{
	pthread_mutex_lock(&p->lock);
	p->pending = n > p->pending ? 0 : p->pending - n;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

int pipeline_row(struct pipeline *p, const struct pipeline_row *row)
{
	if (atomic_load(&p->abandon))
		return ERR_CLOSED;
	if (p->o.ordered)
		wait_for_window(p);
	struct item *it =
	    item_new(row->line, p->pass_job.op, row->collection, row->upn, row->extra);
	if (!it)
		return ERR_NOMEM;
	it->seq = p->seq++;
	atomic_fetch_add(&p->rows_read, 1);
	if (row->status != STATUS_COUNT) {
		item_set_error(it, row->status, row->code, row->message);
	} else {
		if (row->op_id) { /* poll it: it was sent, its result is unknown */
			it->phase = ITEM_POLL, it->resumed = true;
			snprintf(it->tracking_id, sizeof(it->tracking_id), "%s", row->op_id);
		}
		if (queue_push(p->in, it) == 0)
			return 0;
		item_left_over(it, NULL, NULL); /* the in queue closed: the run stopped */
	}
	return queue_push(p->out, it) == 0 ? 0 : (item_free(it), 0);
}

int pipeline_wake_fd(const struct pipeline *p)
{
	return p->wake[0];
}

static void *reader_main(void *arg)
{
	struct pipeline *p = arg;
	int rc = p->source(p->source_arg, p);
	p->source_rc = rc == ERR_CLOSED ? 0 : rc;
	if (p->source_rc < 0)
		engine_stop(p->engine, STOP_INTERNAL);
	queue_close(p->in);
	atomic_store(&p->reader_done, true);
	return NULL;
}

/* ---- the writer loop --------------------------------------------------- */

static void stopping(struct pipeline *p, enum stop_reason why, bool abandon)
{
	if (p->o.events.stopping)
		p->o.events.stopping(p->o.events.arg, why, abandon);
}

/* Puts one item; a halt or a broken sink stops the run. */
static void put(struct pipeline *p, struct item *it)
{
	int rc = p->sink->put(p->sink->arg, it);
	if (rc == PIPELINE_HALT && engine_stop_reason(p->engine) == STOP_NONE) {
		engine_stop(p->engine, STOP_HALT);
		stopping(p, STOP_HALT, false);
	} else if (rc < 0 && engine_stop_reason(p->engine) != STOP_INTERNAL) {
		engine_stop(p->engine, STOP_INTERNAL);
		engine_cancel(p->engine);
	}
}

/* Puts what is on the out queue; waits up to wait_ms for the first. */
static int pump(struct pipeline *p, int wait_ms)
{
	void *it;
	int n = 0;
	/* The count is tested first: an item popped and not put would be lost. */
	while (n < PUMP_BATCH && queue_pop(p->out, &it, n ? 0 : wait_ms) == 0) {
		put(p, it);
		n++;
	}
	if (p->o.ordered && n) {
		uint64_t flushed = p->sink->written(p->sink->arg) - p->written_before;
		window_freed(p, flushed - p->flushed);
		p->flushed = flushed;
	}
	if (p->sink->tick(p->sink->arg, clock_mono_ms()) < 0)
		engine_stop(p->engine, STOP_INTERNAL);
	return n;
}

static void watch_stops(struct pipeline *p)
{
	int signals = p->o.signals ? atomic_load(p->o.signals) : 0;
	if (signals > 1 && !p->abandoned) {
		p->abandoned = true;
		engine_cancel(p->engine);
		stopping(p, STOP_SIGNAL, true);
	}
	if (engine_stop_reason(p->engine) != STOP_NONE)
		return;
	if (signals) {
		engine_stop(p->engine, STOP_SIGNAL);
		stopping(p, STOP_SIGNAL, false);
	} else if (p->o.deadline_ms && clock_wall_ms() >= p->o.deadline_ms) {
		engine_stop(p->engine, STOP_DEADLINE);
		stopping(p, STOP_DEADLINE, false);
	}
}

static void progress(struct pipeline *p, int64_t t0, bool end)
{
	if (p->o.events.progress)
		p->o.events.progress(p->o.events.arg, atomic_load(&p->rows_read),
				     atomic_load(&p->reader_done), clock_mono_ms() - t0, end);
}

static void write_all(struct pipeline *p, int64_t t0)
{
	void *it;
	while (!engine_done(p->engine)) {
		watch_stops(p);
		int n = pump(p, 100);
		progress(p, t0, false);
		if (n > 0 && n < PUMP_BATCH) /* rows are flowing: let a batch gather */
			nanosleep(&(struct timespec){0, 1000000L}, NULL);
	}
	engine_join(p->engine);
	queue_close(p->in);
	while (queue_pop(p->in, &it, 0) == 0) {
		item_left_over(it, NULL, NULL);
		put(p, it);
	}
	/* The source may still be reading (the run stopped, or nothing was
	 * sent: --dry-run). Once stopped, a reader on a silent pipe is woken and
	 * ends; one with rows to read reports them left over for a while, then
	 * stops at its next row. Either way it ends before anything it uses is
	 * freed. */
	int64_t give_up = -1;
	while (!atomic_load(&p->reader_done)) {
		watch_stops(p);
		if (engine_stop_reason(p->engine) != STOP_NONE && give_up < 0) {
			give_up = clock_mono_ms() + READER_GRACE_MS;
			if (write(p->wake[1], "", 1) < 0)
				atomic_store(&p->abandon, true);
		}
		if (give_up >= 0 && clock_mono_ms() >= give_up &&
		    !atomic_exchange(&p->abandon, true))
			window_freed(p, 0); /* wakes a reader waiting for the ordered window */
		pump(p, 100);
	}
	while (pump(p, 0) > 0)
		;
	progress(p, t0, true);
}

/* ---- passes ------------------------------------------------------------ */

static void add_stats(struct engine_stats *sum, const struct engine_stats *st)
{
	sum->requests += st->requests, sum->polls += st->polls, sum->lists += st->lists;
	sum->retries += st->retries, sum->throttled += st->throttled;
	sum->paused_ms += st->paused_ms, sum->rate_now = st->rate_now;
	sum->quota_wait_ms += st->quota_wait_ms, sum->quota_seen |= st->quota_seen;
	for (int b = 0; b < QUOTA_BUCKETS; b++) {
		if (st->quota_refill[b] >= 0) /* the last pass that measured it */
			sum->quota_refill[b] = st->quota_refill[b];
		sum->quota_throttled[b] += st->quota_throttled[b];
	}
}

static int open_wake(int wake[2])
{
	if (pipe(wake) < 0)
		return ERR_IO;
	if (fcntl(wake[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(wake[1], F_SETFD, FD_CLOEXEC) < 0) {
		close(wake[0]), close(wake[1]);
		return ERR_IO;
	}
	return 0;
}

enum stop_reason pipeline_pass(struct pipeline *p, enum service_op op, const char *message,
			       pipeline_source_fn source, void *arg, char *err, size_t errlen)
{
	pthread_t reader;
	struct engine_stats st;
	int64_t t0 = clock_mono_ms();

	p->pass_job = *p->job;
	p->pass_job.op = op, p->pass_job.message = message;
	p->source = source, p->source_arg = arg, p->source_rc = 0;
	atomic_store(&p->rows_read, 0);
	atomic_store(&p->reader_done, false);
	atomic_store(&p->abandon, false);
	p->written_before = p->sink->written(p->sink->arg);
	p->pending = p->flushed = 0;
	p->window = (uint64_t)p->job->concurrency * 4 > ORDER_WINDOW
			? (uint64_t)p->job->concurrency * 4
			: ORDER_WINDOW;
	if (open_wake(p->wake) < 0) {
		snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
		return p->stopped = STOP_INTERNAL;
	}
	if (!(p->in = queue_new((size_t)p->job->concurrency * 2)) ||
	    !(p->out = queue_new(OUT_QUEUE)) ||
	    !(p->engine = engine_new(&p->pass_job, p->in, p->out, err, errlen))) {
		if (!err[0])
			snprintf(err, errlen, "out of memory");
		p->stopped = STOP_INTERNAL;
		goto out;
	}
	if (p->stopped != STOP_NONE) /* an earlier stop: every row left over */
		engine_stop(p->engine, p->stopped);
	if (!p->o.no_send && p->stopped == STOP_NONE && engine_start(p->engine) < 0) {
		snprintf(err, errlen, "cannot start the worker threads"); /* rows: left over */
		engine_stop(p->engine, STOP_INTERNAL);
	}
	if (pthread_create(&reader, NULL, reader_main, p) != 0) {
		engine_stop(p->engine, STOP_INTERNAL);
		engine_join(p->engine);
		snprintf(err, errlen, "cannot start the reader thread");
		p->stopped = STOP_INTERNAL;
		goto out;
	}
	write_all(p, t0);
	pthread_join(reader, NULL);
	engine_stats(p->engine, &st);
	add_stats(&p->stats, &st);
	if (p->stopped == STOP_NONE)
		p->stopped = engine_stop_reason(p->engine);
out:
	close(p->wake[0]);
	close(p->wake[1]);
	p->wake[0] = p->wake[1] = -1;
	engine_free(p->engine);
	queue_free(p->in);
	queue_free(p->out);
	p->engine = NULL, p->in = p->out = NULL;
	return p->stopped;
}

void pipeline_stop(struct pipeline *p, enum stop_reason why)
{
	if (p->stopped == STOP_NONE)
		p->stopped = why;
}

enum stop_reason pipeline_stopped(const struct pipeline *p)
{
	return p->stopped;
}

void pipeline_stats(const struct pipeline *p, struct engine_stats *out)
{
	*out = p->stats;
}
