/* array.h — growing a heap-allocated array by doubling. */
#ifndef RABULK_ARRAY_H
#define RABULK_ARRAY_H

#include <stddef.h>

/* Makes *v (an array of *cap elements of size bytes each, or NULL with
 * *cap 0) hold at least need elements: doubles *cap, starting from
 * first, until it does. The new elements are not initialised. Returns 0
 * or ERR_NOMEM, leaving *v and *cap as they were. Not thread-safe. */
int array_grow(void **v, size_t *cap, size_t need, size_t size, size_t first);

#endif
