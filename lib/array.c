/* array.c — growing a heap-allocated array by doubling, so n appends cost
 * O(n) copies in all. Callers keep their own length; this only keeps the
 * capacity ahead of it. */
#include "lib/array.h"
#include "lib/err.h"

#include <stdlib.h>

int array_grow(void **v, size_t *cap, size_t need, size_t size, size_t first)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : first ? first : 1;
	while (n < need)
		n *= 2;
	void *p = realloc(*v, n * size);
	if (!p)
		return ERR_NOMEM;
	*v = p, *cap = n;
	return 0;
}
