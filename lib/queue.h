/* queue.h — a bounded, blocking FIFO of pointers between threads.
 *
 * Producers block when it is full, consumers when it is empty; close() wakes
 * everyone. A consumer that waits in something other than the queue (a
 * worker in curl_multi_poll) registers a waker, called after every push
 * into an empty queue and on close. All functions are thread-safe.
 * Lock order: the queue's own mutex only; wakers run outside it. */
#ifndef RABULK_QUEUE_H
#define RABULK_QUEUE_H

#include <stddef.h>

struct queue;
typedef void (*queue_wake_fn)(void *arg);

/* Caller owns the result; NULL when out of memory. */
struct queue *queue_new(size_t capacity);
/* Frees the queue, not the pointers still in it. queue_free(NULL) is a no-op. */
void queue_free(struct queue *q);

/* Appends p, waiting while full. Returns 0, or ERR_CLOSED (p not taken). */
int queue_push(struct queue *q, void *p);
/* Takes the oldest pointer into *p, waiting up to timeout_ms (-1: forever,
 * 0: not at all). Returns 0, ERR_AGAIN on timeout, or ERR_CLOSED when the
 * queue is closed and empty. The caller owns *p. */
int queue_pop(struct queue *q, void **p, int timeout_ms);
/* No more pushes; pops drain what is left. */
void queue_close(struct queue *q);
/* Registers fn(arg) to be called when the queue becomes non-empty or closes.
 * At most 64 wakers. Returns 0 or ERR_RANGE. */
int queue_add_waker(struct queue *q, queue_wake_fn fn, void *arg);

#endif
