/* heap.h — a binary min-heap of pointers by 64-bit key: the engine's rows
 * waiting for a time, the writer's rows waiting for their turn (--ordered),
 * the emulator's answers waiting for their delay. Not thread-safe. */
#ifndef RABULK_HEAP_H
#define RABULK_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct heap_entry {
	int64_t key;
	void *p;
};

struct heap {
	struct heap_entry *v;
	size_t len, cap;
};

/* Adds p (borrowed) under key, growing as needed. Returns 0 or ERR_NOMEM. */
int heap_push(struct heap *h, int64_t key, void *p);
/* Removes and returns the entry with the smallest key; len must be > 0. */
void *heap_pop(struct heap *h);
/* The smallest key; len must be > 0. */
static inline int64_t heap_top(const struct heap *h)
{
	return h->v[0].key;
}
/* Frees the array (not the pointers). */
void heap_release(struct heap *h);

#endif
