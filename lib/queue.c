/* queue.c — bounded ring buffer under one mutex and two condition variables.
 *
 * The queues carry one pointer per row, so a mutex per operation costs far
 * less than the HTTP request behind it; a lock-free queue would buy nothing.
 * What does cost is waking threads: a producer blocked on a full queue is
 * woken only once it has drained to half (then it refills in one burst),
 * not after every pop, which would hand the CPU back and forth per row. */
#include "lib/queue.h"
#include "lib/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#define MAX_WAKERS 64

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	void **ring;
	size_t cap, head, count;
	int producers_waiting;
	bool closed;
	struct {
		queue_wake_fn fn;
		void *arg;
	} wakers[MAX_WAKERS];
	int nwakers;
};

struct queue *queue_new(size_t capacity)
{
	struct queue *q = calloc(1, sizeof(*q));
	if (!q || !(q->ring = calloc(capacity ? capacity : 1, sizeof(void *)))) {
		free(q);
		return NULL;
	}
	q->cap = capacity ? capacity : 1;
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->not_empty, NULL);
	pthread_cond_init(&q->not_full, NULL);
	return q;
}

void queue_free(struct queue *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	free(q->ring);
	free(q);
}

static void wake_all(struct queue *q, int n)
{
	for (int i = 0; i < n; i++)
		q->wakers[i].fn(q->wakers[i].arg);
}

int queue_push(struct queue *q, void *p)
{
	pthread_mutex_lock(&q->lock);
	while (q->count == q->cap && !q->closed) {
		q->producers_waiting++;
		pthread_cond_wait(&q->not_full, &q->lock);
		q->producers_waiting--;
	}
	if (q->closed) {
		pthread_mutex_unlock(&q->lock);
		return ERR_CLOSED;
	}
	q->ring[(q->head + q->count) % q->cap] = p;
	bool was_empty = q->count++ == 0;
	int n = q->nwakers;
	pthread_cond_signal(&q->not_empty);
	pthread_mutex_unlock(&q->lock);
	if (was_empty)
		wake_all(q, n);
	return 0;
}

static void deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L)
		ts->tv_sec++, ts->tv_nsec -= 1000000000L;
}

int queue_pop(struct queue *q, void **p, int timeout_ms)
{
	struct timespec ts;
	if (timeout_ms > 0)
		deadline_in(&ts, timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (q->count == 0 && !q->closed && timeout_ms != 0) {
		if (timeout_ms < 0)
			pthread_cond_wait(&q->not_empty, &q->lock);
		else if (pthread_cond_timedwait(&q->not_empty, &q->lock, &ts) == ETIMEDOUT)
			break;
	}
	if (q->count == 0) {
		int rc = q->closed ? ERR_CLOSED : ERR_AGAIN;
		pthread_mutex_unlock(&q->lock);
		return rc;
	}
	*p = q->ring[q->head];
	q->head = (q->head + 1) % q->cap;
	q->count--;
	if (q->producers_waiting && q->count <= q->cap / 2)
		pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

void queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = true;
	int n = q->nwakers;
	pthread_cond_broadcast(&q->not_empty);
	pthread_cond_broadcast(&q->not_full);
	pthread_mutex_unlock(&q->lock);
	wake_all(q, n);
}

int queue_add_waker(struct queue *q, queue_wake_fn fn, void *arg)
{
	int rc = 0;
	pthread_mutex_lock(&q->lock);
	if (q->nwakers == MAX_WAKERS) {
		rc = ERR_RANGE;
	} else {
		q->wakers[q->nwakers].fn = fn;
		q->wakers[q->nwakers].arg = arg;
		q->nwakers++;
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}
