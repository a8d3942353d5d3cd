/* heap.c — the textbook array heap: children of i at 2i+1 and 2i+2. */
#include "lib/heap.h"
#include "lib/array.h"
#include "lib/err.h"

#include <stdlib.h>

static void swap(struct heap_entry *v, size_t a, size_t b)
{
	struct heap_entry t = v[a];
	v[a] = v[b], v[b] = t;
}

int heap_push(struct heap *h, int64_t key, void *p)
{
	if (array_grow((void **)&h->v, &h->cap, h->len + 1, sizeof(*h->v), 256) < 0)
		return ERR_NOMEM;
	size_t i = h->len++;
	h->v[i] = (struct heap_entry){key, p};
	while (i > 0 && h->v[(i - 1) / 2].key > h->v[i].key) {
		swap(h->v, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	return 0;
}

void *heap_pop(struct heap *h)
{
	void *top = h->v[0].p;
	h->v[0] = h->v[--h->len];
	for (size_t i = 0;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->len && h->v[l].key < h->v[m].key)
			m = l;
		if (r < h->len && h->v[r].key < h->v[m].key)
			m = r;
		if (m == i)
			break;
		swap(h->v, i, m);
		i = m;
	}
	return top;
}

void heap_release(struct heap *h)
{
	free(h->v);
	h->v = NULL, h->len = h->cap = 0;
}
